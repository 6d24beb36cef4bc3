/*
 * wire.c: the one codec of callrole's wire format (callrole-wire.h,
 * docs/protocol.md), linked into both callroled and libcallrole so the two
 * sides cannot drift apart.
 *
 * Reading is done only through struct cr_cursor.  Every getter checks that
 * the bytes it needs are there by comparing against what is left, never by
 * adding to a pointer, so a hostile length cannot overflow; and it consumes
 * nothing when it fails, so a caller can report exactly where a frame broke.
 * Writing goes to struct cr_buf, which carries its first error to the end,
 * so encoders need no error check per field.
 */
#include <stdarg.h>
#include <stdio.h>

#include "callrole-wire.h"
#include "macro.h"

static const char *const reason_names[_CR_REASON_MAX] = {
        [CR_REASON_NONE] = "none",
        [CR_REASON_NO_SUCH_USER] = "no-such-user",
        [CR_REASON_DISABLED] = "disabled",
        [CR_REASON_NO_MEMBERSHIP] = "no-membership",
        [CR_REASON_NOT_GRANTED] = "not-granted",
        [CR_REASON_HIDDEN_BY_AGENCY] = "hidden-by-agency",
        [CR_REASON_NOT_IN_PLAN] = "not-in-plan",
        [CR_REASON_OUT_OF_SCOPE] = "out-of-scope",
        [CR_REASON_CONDITION_FAILED] = "condition-failed",
};

const char *cr_reason_to_string(int reason) {
        if (reason < 0 || reason >= _CR_REASON_MAX)
                return NULL;
        return reason_names[reason];
}

static const struct {
        int type;
        const char *name;
} msg_names[] = {
        { CR_MSG_ERROR, "error" },
        { CR_MSG_DECISION, "decision" },
        { CR_MSG_DECISIONS, "decisions" },
        { CR_MSG_RECORDS, "records" },
        { CR_MSG_STATUS, "status" },
        { CR_MSG_CHECK, "check" },
        { CR_MSG_CHECK_BATCH, "check.batch" },
        { CR_MSG_SCOPE, "scope" },
        { CR_MSG_USER_GET, "user.get" },
        { CR_MSG_USER_LIST, "user.list" },
        { CR_MSG_ROLE_LIST, "role.list" },
        { CR_MSG_ROLE_GET, "role.get" },
        { CR_MSG_PERMISSION_LIST, "permission.list" },
        { CR_MSG_ACCOUNT_LIST, "account.list" },
        { CR_MSG_PROFILE_LIST, "profile.list" },
        { CR_MSG_AUDIT, "audit" },
        { CR_MSG_EXPORT, "export" },
        { CR_MSG_PERMISSION_ADD, "permission.add" },
        { CR_MSG_ACCOUNT_ADD, "account.add" },
        { CR_MSG_ACCOUNT_SET, "account.set" },
        { CR_MSG_PLAN_SET, "plan.set" },
        { CR_MSG_ROLE_ADD, "role.add" },
        { CR_MSG_ROLE_DELETE, "role.delete" },
        { CR_MSG_RULE_ADD, "rule.add" },
        { CR_MSG_USER_ADD, "user.add" },
        { CR_MSG_USER_SET, "user.set" },
        { CR_MSG_USER_DELETE, "user.delete" },
        { CR_MSG_IMPORT, "import" },
        { CR_MSG_PROFILE_LOAD, "profile.load" },
};

const char *cr_msg_type_to_string(int type) {
        for (size_t i = 0; i < ELEMENTSOF(msg_names); i++)
                if (msg_names[i].type == type)
                        return msg_names[i].name;
        return NULL;
}

int cr_msg_type_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(msg_names); i++)
                if (strcmp(msg_names[i].name, s) == 0)
                        return msg_names[i].type;
        return -EINVAL;
}

/* ---- frame header ------------------------------------------------------ */

static uint32_t load_be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void store_be32(uint8_t *p, uint32_t v) {
        p[0] = v >> 24;
        p[1] = v >> 16;
        p[2] = v >> 8;
        p[3] = v;
}

int cr_header_decode(const uint8_t *buf, size_t len, size_t max_payload, struct cr_header *ret) {
        struct cr_header h;

        if (!buf || !ret || len < CR_HEADER_SIZE)
                return -EBADMSG;
        if (buf[0] != CR_WIRE_MAGIC0 || buf[1] != CR_WIRE_MAGIC1)
                return -EBADMSG;
        h.version = buf[2];
        h.type = buf[3];
        h.id = load_be32(buf + 4);
        h.length = load_be32(buf + 8);
        if (h.version != CR_WIRE_VERSION)
                return -EPROTONOSUPPORT;
        if (h.length > max_payload)
                return -EMSGSIZE;
        *ret = h;
        return 0;
}

void cr_header_encode(uint8_t out[CR_HEADER_SIZE], uint8_t type, uint32_t id, uint32_t length) {
        out[0] = CR_WIRE_MAGIC0;
        out[1] = CR_WIRE_MAGIC1;
        out[2] = CR_WIRE_VERSION;
        out[3] = type;
        store_be32(out + 4, id);
        store_be32(out + 8, length);
}

/* ---- reading ----------------------------------------------------------- */

static int cursor_take(struct cr_cursor *c, size_t n, const uint8_t **ret) {
        if (!c || c->left < n)
                return -EBADMSG;
        *ret = c->p;
        c->p += n;
        c->left -= n;
        return 0;
}

int cr_get_u8(struct cr_cursor *c, uint8_t *ret) {
        const uint8_t *p;
        if (cursor_take(c, 1, &p) < 0)
                return -EBADMSG;
        *ret = p[0];
        return 0;
}

int cr_get_u16(struct cr_cursor *c, uint16_t *ret) {
        const uint8_t *p;
        if (cursor_take(c, 2, &p) < 0)
                return -EBADMSG;
        *ret = (uint16_t) (p[0] << 8 | p[1]);
        return 0;
}

int cr_get_u32(struct cr_cursor *c, uint32_t *ret) {
        const uint8_t *p;
        if (cursor_take(c, 4, &p) < 0)
                return -EBADMSG;
        *ret = load_be32(p);
        return 0;
}

int cr_get_i32(struct cr_cursor *c, int32_t *ret) {
        uint32_t u;
        int r = cr_get_u32(c, &u);
        if (r < 0)
                return r;
        *ret = (int32_t) u;
        return 0;
}

int cr_get_u64(struct cr_cursor *c, uint64_t *ret) {
        const uint8_t *p;
        if (cursor_take(c, 8, &p) < 0)
                return -EBADMSG;
        *ret = (uint64_t) load_be32(p) << 32 | load_be32(p + 4);
        return 0;
}

/* A string's bytes, checked and consumed: at most max (and CR_STR_MAX)
 * bytes, all there, no NUL.  On failure the cursor has not moved. */
static int str_view(struct cr_cursor *c, size_t max, const uint8_t **ret_p, uint16_t *ret_n) {
        struct cr_cursor saved;
        uint16_t n;

        if (!c)
                return -EBADMSG;
        saved = *c;
        if (cr_get_u16(c, &n) < 0)
                return -EBADMSG;
        if (n > max || n > CR_STR_MAX || c->left < n || memchr(c->p, 0, n)) {
                *c = saved;
                return -EBADMSG;
        }
        (void) cursor_take(c, n, ret_p);
        *ret_n = n;
        return 0;
}

int cr_get_str(struct cr_cursor *c, size_t max, char **ret) {
        struct cr_cursor saved;
        const uint8_t *p;
        uint16_t n;
        char *s;

        if (!c || !ret)
                return -EBADMSG;
        saved = *c;
        if (str_view(c, max, &p, &n) < 0)
                return -EBADMSG;
        s = malloc((size_t) n + 1);
        if (!s) {
                *c = saved;
                return -ENOMEM;
        }
        memcpy(s, p, n);
        s[n] = 0;
        *ret = s;
        return 0;
}

int cr_cursor_end(const struct cr_cursor *c) {
        return c && c->left == 0 ? 0 : -EBADMSG;
}

/* ---- writing ----------------------------------------------------------- */

void cr_buf_init(struct cr_buf *b, size_t max) {
        *b = (struct cr_buf) { .max = max };
}

void cr_buf_done(struct cr_buf *b) {
        free(b->data);
        *b = (struct cr_buf) {};
}

void cr_put_bytes(struct cr_buf *b, const void *p, size_t n) {
        if (b->error)
                return;
        if (n > b->max || b->len > b->max - n) {
                b->error = -EMSGSIZE;
                return;
        }
        if (b->cap - b->len < n) {
                size_t want = b->cap ? b->cap : 256;
                uint8_t *d;
                while (want - b->len < n)
                        want = want > b->max / 2 ? b->max : want * 2;
                d = realloc(b->data, want);
                if (!d) {
                        b->error = -ENOMEM;
                        return;
                }
                b->data = d;
                b->cap = want;
        }
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
}

void cr_put_u8(struct cr_buf *b, uint8_t v) {
        cr_put_bytes(b, &v, 1);
}

void cr_put_u16(struct cr_buf *b, uint16_t v) {
        uint8_t p[2] = { v >> 8, v };
        cr_put_bytes(b, p, 2);
}

void cr_put_u32(struct cr_buf *b, uint32_t v) {
        uint8_t p[4];
        store_be32(p, v);
        cr_put_bytes(b, p, 4);
}

void cr_put_i32(struct cr_buf *b, int32_t v) {
        cr_put_u32(b, (uint32_t) v);
}

void cr_put_u64(struct cr_buf *b, uint64_t v) {
        cr_put_u32(b, (uint32_t) (v >> 32));
        cr_put_u32(b, (uint32_t) v);
}

void cr_put_str(struct cr_buf *b, const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n > CR_STR_MAX) {
                if (!b->error)
                        b->error = -E2BIG;
                return;
        }
        cr_put_u16(b, (uint16_t) n);
        cr_put_bytes(b, s, n);
}

/* Invariant: between cr_frame_begin() and cr_frame_end() the buffer holds
 * exactly one frame, header first; the header's length is patched last. */
void cr_frame_begin(struct cr_buf *b, uint8_t type, uint32_t id) {
        uint8_t h[CR_HEADER_SIZE];
        b->len = 0;
        b->error = 0;
        cr_header_encode(h, type, id, 0);
        cr_put_bytes(b, h, sizeof(h));
}

int cr_frame_end(struct cr_buf *b) {
        if (b->error)
                return b->error;
        if (b->len < CR_HEADER_SIZE)
                return -EINVAL;
        store_be32(b->data + 8, (uint32_t) (b->len - CR_HEADER_SIZE));
        return 0;
}

/* ---- records ----------------------------------------------------------- */

struct cr_record *cr_record_new(void) {
        return calloc(1, sizeof(struct cr_record));
}

void cr_record_clear(struct cr_record *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_fields; i++) {
                free(r->fields[i].key);
                strv_free(r->fields[i].values);
        }
        free(r->fields);
        r->fields = NULL;
        r->n_fields = 0;
}

struct cr_record *cr_record_free(struct cr_record *r) {
        cr_record_clear(r);
        free(r);
        return NULL;
}

const struct cr_field *cr_record_field(const struct cr_record *r, const char *key) {
        if (!r || !key)
                return NULL;
        for (size_t i = 0; i < r->n_fields; i++)
                if (strcmp(r->fields[i].key, key) == 0)
                        return &r->fields[i];
        return NULL;
}

const char *cr_record_get(const struct cr_record *r, const char *key) {
        const struct cr_field *f = cr_record_field(r, key);
        return f && f->n_values > 0 ? f->values[0] : NULL;
}

static int record_field_ensure(struct cr_record *r, const char *key, struct cr_field **ret) {
        struct cr_field *f = (struct cr_field *) cr_record_field(r, key), *nf;

        if (f) {
                *ret = f;
                return 0;
        }
        if (r->n_fields >= CR_FIELDS_MAX)
                return -E2BIG;
        nf = realloc(r->fields, (r->n_fields + 1) * sizeof(struct cr_field));
        if (!nf)
                return -ENOMEM;
        r->fields = nf;
        f = &nf[r->n_fields];
        *f = (struct cr_field) { .key = strdup(key), .values = calloc(1, sizeof(char *)) };
        if (!f->key || !f->values) {
                free(f->key);
                free(f->values);
                return -ENOMEM;
        }
        r->n_fields++;
        *ret = f;
        return 0;
}

int cr_record_add_empty(struct cr_record *r, const char *key) {
        struct cr_field *f;
        if (!r || !key)
                return -EINVAL;
        return record_field_ensure(r, key, &f);
}

int cr_record_add(struct cr_record *r, const char *key, const char *value) {
        struct cr_field *f;
        int k;

        if (!r || !key || !value)
                return -EINVAL;
        k = record_field_ensure(r, key, &f);
        if (k < 0)
                return k;
        if (f->n_values >= CR_VALUES_MAX)
                return -E2BIG;
        k = strv_extend(&f->values, value);
        if (k < 0)
                return k;
        f->n_values++;
        return 0;
}

int cr_record_addf(struct cr_record *r, const char *key, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0) {
                s = NULL;
                return -ENOMEM;
        }
        return cr_record_add(r, key, s);
}

void cr_records_clear(struct cr_records *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                cr_record_clear(&l->items[i]);
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

struct cr_record *cr_records_append(struct cr_records *l) {
        struct cr_record *n;
        if (l->n >= CR_RECORDS_MAX)
                return NULL;
        n = realloc(l->items, (l->n + 1) * sizeof(struct cr_record));
        if (!n)
                return NULL;
        l->items = n;
        n[l->n] = (struct cr_record) {};
        return &n[l->n++];
}

void cr_put_record(struct cr_buf *b, const struct cr_record *r) {
        size_t n = r ? r->n_fields : 0;
        cr_put_u16(b, (uint16_t) n);
        for (size_t i = 0; i < n; i++) {
                const struct cr_field *f = &r->fields[i];
                cr_put_str(b, f->key);
                cr_put_u16(b, (uint16_t) f->n_values);
                for (size_t j = 0; j < f->n_values; j++)
                        cr_put_str(b, f->values[j]);
        }
}

void cr_put_records(struct cr_buf *b, const struct cr_records *l) {
        cr_put_u32(b, (uint32_t) l->n);
        for (size_t i = 0; i < l->n; i++)
                cr_put_record(b, &l->items[i]);
}

int cr_get_record(struct cr_cursor *c, struct cr_record *ret) {
        struct cr_record r = {};
        uint16_t nf;
        int k;

        if (cr_get_u16(c, &nf) < 0)
                return -EBADMSG;
        if (nf > CR_FIELDS_MAX)
                return -EBADMSG;
        for (uint16_t i = 0; i < nf; i++) {
                _cleanup_free_ char *key = NULL;
                uint16_t nv;

                k = cr_get_str(c, CR_NAME_MAX, &key);
                if (k < 0)
                        goto fail;
                if (isempty(key) || cr_record_field(&r, key)) {
                        k = -EBADMSG;   /* keys are unique and non-empty */
                        goto fail;
                }
                k = cr_get_u16(c, &nv);
                if (k < 0)
                        goto fail;
                /* Each value takes at least its two length bytes, so a count
                 * the remaining bytes cannot hold is refused before any
                 * allocation sized by it. */
                if (nv > CR_VALUES_MAX || nv > c->left / 2) {
                        k = -EBADMSG;
                        goto fail;
                }
                k = cr_record_add_empty(&r, key);
                if (k < 0)
                        goto fail;
                for (uint16_t j = 0; j < nv; j++) {
                        _cleanup_free_ char *v = NULL;
                        k = cr_get_str(c, CR_STR_MAX, &v);
                        if (k < 0)
                                goto fail;
                        k = cr_record_add(&r, key, v);
                        if (k < 0)
                                goto fail;
                }
        }
        cr_record_clear(ret);
        *ret = r;
        return 0;
fail:
        cr_record_clear(&r);
        return k == -ENOMEM ? -ENOMEM : -EBADMSG;
}

int cr_get_records(struct cr_cursor *c, struct cr_records *ret) {
        struct cr_records l = {};
        uint32_t n;
        int k;

        if (cr_get_u32(c, &n) < 0)
                return -EBADMSG;
        /* An empty record is two bytes; same argument as above. */
        if (n > CR_RECORDS_MAX || n > c->left / 2)
                return -EBADMSG;
        for (uint32_t i = 0; i < n; i++) {
                struct cr_record *r = cr_records_append(&l);
                if (!r) {
                        cr_records_clear(&l);
                        return -ENOMEM;
                }
                k = cr_get_record(c, r);
                if (k < 0) {
                        cr_records_clear(&l);
                        return k;
                }
        }
        cr_records_clear(ret);
        *ret = l;
        return 0;
}

/* ---- checks ------------------------------------------------------------ */

void cr_check_clear(struct cr_check *c) {
        free(c->storage);
        *c = (struct cr_check) {};
}

void cr_decision_clear(struct cr_decision *d) {
        free(d->role);
        free(d->account);
        free(d->detail);
        *d = (struct cr_decision) {};
}

void cr_put_check(struct cr_buf *b, const char *user, const char *perm, const char *account,
                  const char *const *keys, const char *const *values, size_t n) {
        if (n > CR_ATTRS_MAX) {
                if (!b->error)
                        b->error = -E2BIG;
                return;
        }
        cr_put_str(b, user);
        cr_put_str(b, perm);
        cr_put_str(b, account);
        cr_put_u8(b, (uint8_t) n);
        for (size_t i = 0; i < n; i++) {
                cr_put_str(b, keys[i]);
                cr_put_str(b, values[i]);
        }
}

/* One check's strings, validated (nothing consumed on failure) and
 * located: p[i], len[i] for user, permission, account, then each
 * attribute's key and value. */
enum { CHECK_STRINGS_MAX = 3 + 2 * CR_ATTRS_MAX };

static int check_scan(struct cr_cursor *c, const uint8_t **p, uint16_t *len, size_t *ret_n, uint8_t *ret_attrs,
                      size_t *ret_need) {
        struct cr_cursor scan = *c;
        size_t n_str = 0, need = 0;
        uint8_t n_attrs;

        for (; n_str < 3; n_str++)
                if (str_view(&scan, CR_NAME_MAX, &p[n_str], &len[n_str]) < 0)
                        return -EBADMSG;
        if (cr_get_u8(&scan, &n_attrs) < 0 || n_attrs > CR_ATTRS_MAX)
                return -EBADMSG;
        for (uint8_t i = 0; i < n_attrs; i++, n_str += 2)
                if (str_view(&scan, CR_NAME_MAX, &p[n_str], &len[n_str]) < 0 ||
                    str_view(&scan, CR_STR_MAX, &p[n_str + 1], &len[n_str + 1]) < 0)
                        return -EBADMSG;
        for (size_t i = 0; i < n_str; i++)
                need += (size_t) len[i] + 1;
        *c = scan;
        *ret_n = n_str;
        *ret_attrs = n_attrs;
        *ret_need = need;
        return 0;
}

/* Copies the located strings into out (need bytes) and points k at them. */
static void check_fill(struct cr_check *k, const uint8_t *const *p, const uint16_t *len, size_t n_str,
                       uint8_t n_attrs, char *out) {
        char **slot[CHECK_STRINGS_MAX] = { &k->user, &k->permission, &k->account };

        for (size_t i = 0; i < n_attrs; i++) {
                slot[3 + 2 * i] = &k->attr_keys[i];
                slot[4 + 2 * i] = &k->attr_values[i];
        }
        for (size_t i = 0; i < n_str; i++) {
                memcpy(out, p[i], len[i]);
                out[len[i]] = 0;
                *slot[i] = out;
                out += len[i] + 1;
        }
        k->n_attrs = n_attrs;
}

/* Checks come by the thousand in batches: the strings of one are
 * validated in a first pass and then copied into one allocation, which
 * cr_check_clear() frees. */
int cr_get_check(struct cr_cursor *c, struct cr_check *ret) {
        const uint8_t *p[CHECK_STRINGS_MAX];
        uint16_t len[CHECK_STRINGS_MAX];
        struct cr_cursor scan;
        struct cr_check k = {};
        size_t n_str, need;
        uint8_t n_attrs;

        if (!c || !ret)
                return -EBADMSG;
        scan = *c;
        if (check_scan(&scan, p, len, &n_str, &n_attrs, &need) < 0)
                return -EBADMSG;
        k.storage = malloc(need);
        if (!k.storage)
                return -ENOMEM;
        check_fill(&k, p, len, n_str, n_attrs, k.storage);
        *c = scan;
        cr_check_clear(ret);
        *ret = k;
        return 0;
}

/* n checks, their strings in one allocation for them all (*ret_storage,
 * the caller frees it; the items' own storage stays NULL).  A string takes
 * its bytes plus a NUL in place of its 2-byte length, so the rest of the
 * payload bounds the space.  All or nothing: on failure nothing is
 * consumed and nothing is left allocated. */
int cr_get_checks(struct cr_cursor *c, size_t n, struct cr_check *items, char **ret_storage) {
        struct cr_cursor scan;
        char *storage, *out;

        if (!c || (n > 0 && !items) || !ret_storage)
                return -EBADMSG;
        scan = *c;
        out = storage = malloc(c->left + 1);
        if (!storage)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const uint8_t *p[CHECK_STRINGS_MAX];
                uint16_t len[CHECK_STRINGS_MAX];
                size_t n_str, need;
                uint8_t n_attrs;

                if (check_scan(&scan, p, len, &n_str, &n_attrs, &need) < 0) {
                        free(storage);
                        return -EBADMSG;
                }
                items[i] = (struct cr_check) {};
                check_fill(&items[i], p, len, n_str, n_attrs, out);
                out += need;
        }
        *c = scan;
        *ret_storage = storage;
        return 0;
}

void cr_put_decision(struct cr_buf *b, const struct cr_decision *d) {
        cr_put_u8(b, d->allowed ? 1 : 0);
        cr_put_u8(b, d->reason);
        cr_put_str(b, d->role);
        cr_put_str(b, d->account);
        cr_put_str(b, d->detail);
}

int cr_get_decision(struct cr_cursor *c, struct cr_decision *ret) {
        struct cr_decision d = {};
        uint8_t allowed, reason;
        int r;

        if (cr_get_u8(c, &allowed) < 0 || cr_get_u8(c, &reason) < 0)
                return -EBADMSG;
        if (allowed > 1 || reason >= _CR_REASON_MAX || (allowed == 1) != (reason == CR_REASON_NONE))
                return -EBADMSG;
        d.allowed = allowed;
        d.reason = reason;
        if ((r = cr_get_str(c, CR_NAME_MAX, &d.role)) < 0 ||
            (r = cr_get_str(c, CR_NAME_MAX, &d.account)) < 0 ||
            (r = cr_get_str(c, CR_STR_MAX, &d.detail)) < 0) {
                cr_decision_clear(&d);
                return r == -ENOMEM ? -ENOMEM : -EBADMSG;
        }
        cr_decision_clear(ret);
        *ret = d;
        return 0;
}

void cr_put_prefix(struct cr_buf *b, uint32_t flags, const char *as_user) {
        cr_put_u32(b, flags);
        cr_put_str(b, as_user);
}

int cr_get_prefix(struct cr_cursor *c, uint32_t *ret_flags, char **ret_as_user) {
        struct cr_cursor saved = *c;
        uint32_t flags;
        char *as = NULL;
        int r;

        if (cr_get_u32(c, &flags) < 0)
                return -EBADMSG;
        if (flags & ~CR_FLAGS_KNOWN) {
                *c = saved;
                return -EBADMSG;
        }
        r = cr_get_str(c, CR_NAME_MAX, &as);
        if (r < 0) {
                *c = saved;
                return r;
        }
        *ret_flags = flags;
        *ret_as_user = as;
        return 0;
}
