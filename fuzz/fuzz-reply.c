/*
 * fuzz-reply.c: the library's side of the wire: reply frames from a
 * daemon that may be hostile or broken (ERROR, DECISION, DECISIONS,
 * RECORDS).
 */
#include <stdint.h>
#include <stdlib.h>

#include "callrole-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct cr_header h;
        struct cr_cursor c;

        if (cr_header_decode(data, size, CR_REPLY_MAX, &h) < 0)
                return 0;
        cr_cursor_init(&c, data + CR_HEADER_SIZE, size - CR_HEADER_SIZE < h.length ? size - CR_HEADER_SIZE : h.length);
        switch (h.type) {
        case CR_MSG_ERROR: {
                int32_t e;
                char *msg = NULL;
                if (cr_get_i32(&c, &e) >= 0 && cr_get_str(&c, CR_STR_MAX, &msg) >= 0)
                        (void) cr_cursor_end(&c);
                free(msg);
                break;
        }
        case CR_MSG_DECISION: {
                struct cr_decision d = {};
                (void) cr_get_decision(&c, &d);
                cr_decision_clear(&d);
                break;
        }
        case CR_MSG_DECISIONS: {
                uint16_t n;
                if (cr_get_u16(&c, &n) < 0)
                        break;
                for (uint16_t i = 0; i < n; i++) {
                        struct cr_decision d = {};
                        int r = cr_get_decision(&c, &d);
                        cr_decision_clear(&d);
                        if (r < 0)
                                break;
                }
                break;
        }
        default: {
                struct cr_records l = {};
                (void) cr_get_records(&c, &l);
                cr_records_clear(&l);
        }
        }
        return 0;
}
