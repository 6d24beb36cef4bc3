/*
 * fuzz-request.c: the daemon's side of the wire.  Feeds arbitrary bytes to
 * the header decoder and then, as dispatch.c does, to the request prefix
 * and whichever payload decoder the type selects.  Every decoder must
 * refuse or accept without reading out of bounds or leaking.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callrole-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct cr_header h;
        struct cr_cursor c;
        uint32_t flags;
        char *as = NULL;

        if (cr_header_decode(data, size, CR_REQUEST_MAX, &h) < 0)
                return 0;
        cr_cursor_init(&c, data + CR_HEADER_SIZE, size - CR_HEADER_SIZE < h.length ? size - CR_HEADER_SIZE : h.length);
        if (cr_get_prefix(&c, &flags, &as) < 0)
                return 0;
        free(as);
        if (h.type == CR_MSG_CHECK) {
                struct cr_check k = {};
                if (cr_get_check(&c, &k) >= 0)
                        (void) cr_cursor_end(&c);
                cr_check_clear(&k);
        } else if (h.type == CR_MSG_CHECK_BATCH) {
                /* As the daemon decodes a batch: all at once into one
                 * allocation; then the strings are read whole, so the
                 * sanitizer sees any that ran past it. */
                uint16_t n;
                if (cr_get_u16(&c, &n) >= 0 && n <= CR_BATCH_MAX) {
                        struct cr_check *k = calloc(n ? n : 1, sizeof(*k));
                        char *storage = NULL;
                        size_t total = 0;
                        if (k && cr_get_checks(&c, n, k, &storage) >= 0) {
                                for (uint16_t i = 0; i < n; i++) {
                                        total += strlen(k[i].user) + strlen(k[i].permission) + strlen(k[i].account);
                                        for (size_t j = 0; j < k[i].n_attrs; j++)
                                                total += strlen(k[i].attr_keys[j]) + strlen(k[i].attr_values[j]);
                                }
                                if (total > CR_REQUEST_MAX)
                                        __builtin_trap();   /* more string than request */
                                (void) cr_cursor_end(&c);
                        }
                        free(storage);
                        free(k);
                }
        } else {
                struct cr_record r = {};
                if (cr_get_record(&c, &r) >= 0)
                        (void) cr_cursor_end(&c);
                cr_record_clear(&r);
        }
        return 0;
}
