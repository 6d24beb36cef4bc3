/*
 * callrole-wire.h: the wire format spoken on callroled's Unix socket, shared
 * by the daemon and libcallrole (both link lib/wire.c).  docs/protocol.md is
 * the prose description; this header is its executable form.
 *
 * A frame is a 12-byte header followed by a payload:
 *
 *   offset size field
 *   0      2    magic  'C' 'R'
 *   2      1    version (CR_WIRE_VERSION)
 *   3      1    type    (enum cr_msg_type)
 *   4      4    id      request id chosen by the client, echoed in the reply
 *   8      4    length  payload bytes that follow (≤ CR_FRAME_MAX)
 *
 * All integers are big-endian.  Payloads are read only through struct
 * cr_cursor, which checks every length against what is left (by subtraction,
 * so it cannot overflow) before it consumes anything.  Strings are a u16
 * length and bytes; embedded NULs are refused.  A decoder that finishes with
 * bytes left over refuses the frame: nothing is silently ignored.
 *
 * Not installed: host software uses callrole.h, never the wire.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_WIRE_MAGIC0 'C'
#define CR_WIRE_MAGIC1 'R'
#define CR_WIRE_VERSION 1
#define CR_HEADER_SIZE 12u

/* Hard caps.  A request is small (a batch of checks or one change); a reply
 * can carry a page of users or audit records.  A peer announcing more is
 * refused before any payload byte is read. */
#define CR_REQUEST_MAX (256u * 1024u)
#define CR_REPLY_MAX (4u * 1024u * 1024u)
#define CR_STR_MAX 4096u     /* one string on the wire */
#define CR_NAME_MAX 64u      /* user, role, account, permission names */
#define CR_ATTRS_MAX 16u     /* resource attributes in one check */
#define CR_BATCH_MAX 1024u   /* checks in one batch */
#define CR_FIELDS_MAX 64u    /* fields in one record */
#define CR_VALUES_MAX 4096u  /* values in one field */
#define CR_RECORDS_MAX 100000u /* records in one reply */
#define CR_PAGE_DEFAULT 1000u  /* records per page when the client says nothing */

enum cr_msg_type {
        /* Replies */
        CR_MSG_ERROR = 0x01,   /* i32 negative errno, str message */
        CR_MSG_DECISION = 0x02,/* one check result */
        CR_MSG_DECISIONS = 0x03,/* u16 n, n check results */
        CR_MSG_RECORDS = 0x04, /* u32 n, n records */

        /* Requests: reads */
        CR_MSG_STATUS = 0x10,
        CR_MSG_CHECK = 0x11,
        CR_MSG_CHECK_BATCH = 0x12,
        CR_MSG_SCOPE = 0x13,
        CR_MSG_USER_GET = 0x14,
        CR_MSG_USER_LIST = 0x15,
        CR_MSG_ROLE_LIST = 0x16,
        CR_MSG_ROLE_GET = 0x17,
        CR_MSG_PERMISSION_LIST = 0x18,
        CR_MSG_ACCOUNT_LIST = 0x19,
        CR_MSG_PROFILE_LIST = 0x1a,
        CR_MSG_AUDIT = 0x1b,
        CR_MSG_EXPORT = 0x1c,

        /* Requests: changes (each accepts CR_FLAG_DRY_RUN) */
        CR_MSG_PERMISSION_ADD = 0x30,
        CR_MSG_ACCOUNT_ADD = 0x31,
        CR_MSG_ACCOUNT_SET = 0x32,
        CR_MSG_PLAN_SET = 0x33,
        CR_MSG_ROLE_ADD = 0x34,
        CR_MSG_ROLE_DELETE = 0x35,
        CR_MSG_RULE_ADD = 0x36,
        CR_MSG_USER_ADD = 0x37,
        CR_MSG_USER_SET = 0x38,
        CR_MSG_USER_DELETE = 0x39,
        CR_MSG_IMPORT = 0x3a,
        CR_MSG_PROFILE_LOAD = 0x3b,
};

/* Every request payload starts with this prefix. */
#define CR_FLAG_DRY_RUN 0x1u     /* validate and describe, do not commit */
#define CR_FLAG_LAST 0x2u        /* nothing follows: the daemon closes the connection after this reply */
#define CR_FLAGS_KNOWN (CR_FLAG_DRY_RUN | CR_FLAG_LAST)
/*   u32 flags
 *   str as_user   ("" = act as the peer; else an administrator acts with
 *                  this user's authority) */

enum cr_reason {
        CR_REASON_NONE = 0,         /* allowed */
        CR_REASON_NO_SUCH_USER = 1,
        CR_REASON_DISABLED = 2,
        CR_REASON_NO_MEMBERSHIP = 3,
        CR_REASON_NOT_GRANTED = 4,
        CR_REASON_HIDDEN_BY_AGENCY = 5,
        CR_REASON_NOT_IN_PLAN = 6,
        CR_REASON_OUT_OF_SCOPE = 7,
        CR_REASON_CONDITION_FAILED = 8,
        _CR_REASON_MAX,
};

const char *cr_reason_to_string(int reason);    /* "out-of-scope", NULL if unknown */
const char *cr_msg_type_to_string(int type);    /* "user.add", NULL if unknown */
int cr_msg_type_from_string(const char *s);     /* type or -EINVAL */

struct cr_header {
        uint8_t version;
        uint8_t type;
        uint32_t id;
        uint32_t length;
};

/* Decode a frame header.  Returns 0, -EBADMSG on bad magic, -EPROTONOSUPPORT
 * on an unknown version, -EMSGSIZE if length exceeds max_payload. */
int cr_header_decode(const uint8_t *buf, size_t len, size_t max_payload, struct cr_header *ret);
void cr_header_encode(uint8_t out[CR_HEADER_SIZE], uint8_t type, uint32_t id, uint32_t length);

/* Reading cursor over an untrusted payload. */
struct cr_cursor {
        const uint8_t *p;
        size_t left;
};

static inline void cr_cursor_init(struct cr_cursor *c, const void *p, size_t len) {
        c->p = p;
        c->left = len;
}

/* Each returns 0 and consumes, or -EBADMSG and consumes nothing. */
int cr_get_u8(struct cr_cursor *c, uint8_t *ret);
int cr_get_u16(struct cr_cursor *c, uint16_t *ret);
int cr_get_u32(struct cr_cursor *c, uint32_t *ret);
int cr_get_i32(struct cr_cursor *c, int32_t *ret);
int cr_get_u64(struct cr_cursor *c, uint64_t *ret);
/* A string: u16 length (≤ max) and bytes without NUL.  *ret points into a
 * freshly malloc'ed NUL-terminated copy; -ENOMEM on allocation failure. */
int cr_get_str(struct cr_cursor *c, size_t max, char **ret);
/* 0 if the cursor is exhausted, -EBADMSG if bytes are left over. */
int cr_cursor_end(const struct cr_cursor *c);

/* Growable output buffer.  On allocation failure it remembers -ENOMEM and
 * every later put is a no-op; check cr_buf_error() once at the end. */
struct cr_buf {
        uint8_t *data;
        size_t len, cap;
        size_t max;   /* hard cap: exceeding it sets -EMSGSIZE */
        int error;
};

void cr_buf_init(struct cr_buf *b, size_t max);
void cr_buf_done(struct cr_buf *b);
void cr_put_u8(struct cr_buf *b, uint8_t v);
void cr_put_u16(struct cr_buf *b, uint16_t v);
void cr_put_u32(struct cr_buf *b, uint32_t v);
void cr_put_i32(struct cr_buf *b, int32_t v);
void cr_put_u64(struct cr_buf *b, uint64_t v);
void cr_put_str(struct cr_buf *b, const char *s); /* NULL is "" */
void cr_put_bytes(struct cr_buf *b, const void *p, size_t n);
static inline int cr_buf_error(const struct cr_buf *b) {
        return b->error;
}
/* Start a frame: writes a header with length 0, patched by cr_frame_end(). */
void cr_frame_begin(struct cr_buf *b, uint8_t type, uint32_t id);
int cr_frame_end(struct cr_buf *b);  /* 0, or the buffer's error */

/*
 * Records: the generic shape of every request and reply except checks.
 * A record is a list of fields; a field is a key and a list of string
 * values (a scalar is one value).  On the wire:
 *
 *   record := u16 nfields, nfields × field
 *   field  := str key, u16 nvalues, nvalues × str value
 *   records:= u32 nrecords, nrecords × record
 *
 * Keys are unique within a record; a duplicate key is refused.
 */
struct cr_field {
        char *key;
        char **values;   /* NULL-terminated */
        size_t n_values;
};

struct cr_record {
        struct cr_field *fields;
        size_t n_fields;
};

struct cr_records {
        struct cr_record *items;
        size_t n;
};

struct cr_record *cr_record_new(void);
struct cr_record *cr_record_free(struct cr_record *r);
void cr_record_clear(struct cr_record *r);
/* Append value to key's field (created on first use). */
int cr_record_add(struct cr_record *r, const char *key, const char *value);
int cr_record_addf(struct cr_record *r, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Create key with no values (an explicitly empty list). */
int cr_record_add_empty(struct cr_record *r, const char *key);
const struct cr_field *cr_record_field(const struct cr_record *r, const char *key);
/* First value of key, or NULL when the key is absent or empty. */
const char *cr_record_get(const struct cr_record *r, const char *key);

void cr_records_clear(struct cr_records *l);
struct cr_record *cr_records_append(struct cr_records *l);  /* NULL on ENOMEM */

void cr_put_record(struct cr_buf *b, const struct cr_record *r);
void cr_put_records(struct cr_buf *b, const struct cr_records *l);
/* Decoders fill *ret (cleared first) and return 0, -EBADMSG or -ENOMEM.
 * On error *ret is left empty. */
int cr_get_record(struct cr_cursor *c, struct cr_record *ret);
int cr_get_records(struct cr_cursor *c, struct cr_records *ret);

/* A check on the wire.
 *   request  := prefix, str user, str permission, str account, u8 nattrs,
 *               nattrs × (str key, str value)
 *   batch    := prefix, u16 n, n × (str user, str permission, str account,
 *               u8 nattrs, attrs)
 *   decision := u8 allowed, u8 reason, str role, str account, str detail
 *   decisions:= u16 n, n × decision */
struct cr_check {
        char *user, *permission, *account;
        char *attr_keys[CR_ATTRS_MAX], *attr_values[CR_ATTRS_MAX];
        size_t n_attrs;
        char *storage;          /* all of the strings above, in one allocation */
};

struct cr_decision {
        bool allowed;
        uint8_t reason;
        char *role, *account, *detail;
};

void cr_check_clear(struct cr_check *c);
void cr_decision_clear(struct cr_decision *d);
void cr_put_check(struct cr_buf *b, const char *user, const char *perm, const char *account,
                  const char *const *keys, const char *const *values, size_t n);
int cr_get_check(struct cr_cursor *c, struct cr_check *ret);
/* n checks at once, all their strings in *ret_storage (one allocation the
 * caller frees after the items, whose own storage stays NULL). */
int cr_get_checks(struct cr_cursor *c, size_t n, struct cr_check *items, char **ret_storage);
void cr_put_decision(struct cr_buf *b, const struct cr_decision *d);
int cr_get_decision(struct cr_cursor *c, struct cr_decision *ret);

/* Request prefix. */
void cr_put_prefix(struct cr_buf *b, uint32_t flags, const char *as_user);
int cr_get_prefix(struct cr_cursor *c, uint32_t *ret_flags, char **ret_as_user);
