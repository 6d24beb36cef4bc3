/*
 * client.h: what lib/client.c and lib/record.c share inside libcallrole.
 *
 * The public types callrole_record and callrole_reply are opaque to host
 * software; here they are thin wrappers over the wire codec's struct
 * cr_record, so a request's parameters go to the wire without copying and a
 * reply's records come off it without reshaping.  Internal functions carry
 * the crl_ prefix: the library's version script exports only callrole_*, and
 * the prefix keeps them clear of daemon symbols when unit tests link the
 * daemon and client archives together.  Not installed.
 */
#pragma once

#include <stddef.h>
#include <string.h>

#include "callrole-wire.h"
#include "callrole.h"

struct callrole_record {
        struct cr_record r;
};

/* Invariant: items holds n records, each owned by the reply. */
struct callrole_reply {
        struct callrole_record *items;
        size_t n;
};

/* Decode the body of a RECORDS reply (u32 n, n records) at the cursor into a
 * new reply.  Does not require the cursor to be exhausted afterwards; the
 * caller checks cr_cursor_end().  Returns 0, -EBADMSG or -ENOMEM. */
int crl_reply_decode(struct cr_cursor *cur, callrole_reply **ret);

/* Validate a string bound for the wire: ≤ max bytes.  NULL is refused. */
static inline int crl_string_fits(const char *s, size_t max) {
        return s && strnlen(s, max + 1) <= max;
}
