/*
 * record.c: callrole_record and callrole_reply, the public face of the wire
 * codec's records (callrole.h).  A record is the parameter list of a request
 * and one row of a reply: fields, each a key with zero or more values.
 *
 * The accessors are total: a NULL handle or an index out of range gives
 * NULL or 0, never a crash, because host software walks replies with loops
 * whose bounds come from these same functions.  callrole_record_add checks
 * the limits the daemon's decoder enforces (key ≤ CR_NAME_MAX bytes, value
 * ≤ CR_STR_MAX, ≤ CR_FIELDS_MAX fields, ≤ CR_VALUES_MAX values per field), so
 * a request that would be refused as malformed is refused here, with -EINVAL
 * or -E2BIG, before any I/O.
 */
#include <errno.h>
#include <stdlib.h>

#include "client.h"
#include "macro.h"

int callrole_record_new(callrole_record **ret) {
        callrole_record *r;

        if (!ret)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

callrole_record *callrole_record_free(callrole_record *r) {
        if (!r)
                return NULL;
        cr_record_clear(&r->r);
        free(r);
        return NULL;
}

/* value NULL creates the key as an explicitly empty list (or leaves an
 * existing key as it is): some methods distinguish "clear this list" from
 * "leave it unchanged". */
int callrole_record_add(callrole_record *r, const char *key, const char *value) {
        const struct cr_field *f;

        if (!r || isempty(key) || !crl_string_fits(key, CR_NAME_MAX))
                return -EINVAL;
        if (value && !crl_string_fits(value, CR_STR_MAX))
                return -EINVAL;

        f = cr_record_field(&r->r, key);
        if (!f && r->r.n_fields >= CR_FIELDS_MAX)
                return -E2BIG;
        if (!value)
                return cr_record_add_empty(&r->r, key);
        if (f && f->n_values >= CR_VALUES_MAX)
                return -E2BIG;
        return cr_record_add(&r->r, key, value);
}

size_t callrole_record_n_fields(const callrole_record *r) {
        return r ? r->r.n_fields : 0;
}

const char *callrole_record_key(const callrole_record *r, size_t i) {
        if (!r || i >= r->r.n_fields)
                return NULL;
        return r->r.fields[i].key;
}

size_t callrole_record_n_values(const callrole_record *r, size_t i) {
        if (!r || i >= r->r.n_fields)
                return 0;
        return r->r.fields[i].n_values;
}

const char *callrole_record_value(const callrole_record *r, size_t i, size_t j) {
        if (!r || i >= r->r.n_fields || j >= r->r.fields[i].n_values)
                return NULL;
        return r->r.fields[i].values[j];
}

const char *callrole_record_get(const callrole_record *r, const char *key) {
        if (!r || !key)
                return NULL;
        return cr_record_get(&r->r, key);
}

size_t callrole_reply_n_records(const callrole_reply *rep) {
        return rep ? rep->n : 0;
}

const callrole_record *callrole_reply_record(const callrole_reply *rep, size_t i) {
        if (!rep || i >= rep->n)
                return NULL;
        return &rep->items[i];
}

callrole_reply *callrole_reply_free(callrole_reply *rep) {
        if (!rep)
                return NULL;
        for (size_t i = 0; i < rep->n; i++)
                cr_record_clear(&rep->items[i].r);
        free(rep->items);
        free(rep);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_reply *, callrole_reply_free);

int crl_reply_decode(struct cr_cursor *cur, callrole_reply **ret) {
        _cleanup_(callrole_reply_freep) callrole_reply *rep = NULL;
        uint32_t n;
        int r;

        if (!cur || !ret)
                return -EINVAL;
        if (cr_get_u32(cur, &n) < 0)
                return -EBADMSG;
        /* The smallest record is its two-byte field count, so a count the
         * remaining bytes cannot hold is refused before it sizes an
         * allocation: a hostile reply cannot make us allocate more than a
         * small multiple of what it actually sent. */
        if (n > CR_RECORDS_MAX || n > cur->left / 2)
                return -EBADMSG;

        rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -ENOMEM;
        if (n > 0) {
                rep->items = calloc(n, sizeof(*rep->items));
                if (!rep->items)
                        return -ENOMEM;
        }
        /* Invariant: rep->n counts the decoded items, so the cleanup frees
         * exactly those (the rest are still zeroed). */
        for (uint32_t i = 0; i < n; i++) {
                r = cr_get_record(cur, &rep->items[i].r);
                if (r < 0)
                        return r;
                rep->n++;
        }
        *ret = TAKE_PTR(rep);
        return 0;
}
