/*
 * fuzz-profile.c: the profile loader (daemon/profile.c) and, for every
 * grant it accepts, the grant grammar (daemon/model.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Profile *p = NULL;
        char *err = NULL;

        if (profile_parse("fuzz", (const char *) data, size, "default", &p, &err) >= 0) {
                for (size_t i = 0; i < p->n_changes; i++) {
                        const struct cr_field *g = cr_record_field(&p->changes[i].params, "grants");
                        for (size_t j = 0; g && j < g->n_values; j++) {
                                ModelGrant gr = {};
                                char *e2 = NULL;
                                if (grant_parse(g->values[j], &gr, &e2) >= 0) {
                                        char *back = grant_format(&gr);
                                        free(back);
                                        grant_done(&gr);
                                }
                                free(e2);
                        }
                }
                profile_free(p);
        }
        free(err);
        return 0;
}
