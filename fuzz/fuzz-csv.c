/*
 * fuzz-csv.c: callrolectl's CSV import parser (tools/ctl-csv.c), which
 * reads files administrators are handed by others.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ctl-csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        CsvImport *imp = NULL;
        char *err = NULL;

        if (csv_import_parse((const char *) data, size, &imp, &err) >= 0)
                csv_import_free(imp);
        free(err);
        return 0;
}
