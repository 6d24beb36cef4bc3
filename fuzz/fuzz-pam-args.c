/*
 * fuzz-pam-args.c: pam_callrole's argument parser.  The input is split at
 * NUL bytes into an argv, as a PAM stack line would give it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *argv[64];
        char *copy = malloc(size + 1);
        int argc = 0;
        callrole_pam_args a;

        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = 0;
        for (size_t i = 0; i <= size && argc < 64;) {
                argv[argc++] = copy + i;
                i += strlen(copy + i) + 1;
        }
        (void) callrole_pam_args_parse(&a, argc, argv, NULL, NULL);
        free(copy);
        return 0;
}
