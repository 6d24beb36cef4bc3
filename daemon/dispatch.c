/*
 * dispatch.c: turns one request frame into one reply frame.
 *
 * Requests are dispatched through a table of {type, required privilege,
 * handler}.  The privilege is checked here, from the peer's SO_PEERCRED
 * identity, before any handler runs; a handler only ever sees a decoded,
 * fully consumed payload.  Who the peer is never comes from the request:
 * the only identity a request may name is --as, and only an administrator
 * may use it.
 */
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "manager.h"

typedef enum Privilege {
        PRIV_ANY,     /* any peer; the handler filters by what the peer may see */
        PRIV_ADMIN,   /* root or --admin-uid (not while acting --as) */
        PRIV_CHANGE,  /* a change: authorised step by step by the change pipeline */
} Privilege;

/* req is the handlers' to read; only handle_change() writes to it (reply_held). */
typedef int (*Handler)(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                       struct cr_buf *out, char **ret_error);

int dispatch_error_reply(struct cr_buf *out, uint32_t id, int error, const char *message) {
        if (error >= 0 || error < -4095)
                error = -EIO;
        cr_frame_begin(out, CR_MSG_ERROR, id);
        cr_put_i32(out, error);
        cr_put_str(out, message ? message : strerror(-error));
        return cr_frame_end(out);
}

/* Strings travel as at most CR_STR_MAX bytes (docs/protocol.md).  A value
 * longer than that, such as a role with thousands of grants described in a
 * change's effect or in the audit, is cut on a UTF-8 boundary and marked,
 * in place (the mark is shorter than what it replaces), rather than failing
 * the whole reply; the database keeps it whole. */
#define CUT_MARK " ... (cut at the protocol's 4096-byte string limit)"

static void records_cut_long_values(struct cr_records *l) {
        for (size_t i = 0; i < l->n; i++)
                for (size_t f = 0; f < l->items[i].n_fields; f++)
                        for (size_t v = 0; v < l->items[i].fields[f].n_values; v++) {
                                char *s = l->items[i].fields[f].values[v];
                                size_t n;

                                if (strnlen(s, CR_STR_MAX + 1) <= CR_STR_MAX)
                                        continue;
                                n = CR_STR_MAX - strlen(CUT_MARK);
                                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                                        n--;
                                memcpy(s + n, CUT_MARK, strlen(CUT_MARK) + 1);
                        }
}

static int reply_records(struct cr_buf *out, uint32_t id, struct cr_records *l) {
        records_cut_long_values(l);
        cr_frame_begin(out, CR_MSG_RECORDS, id);
        cr_put_records(out, l);
        return cr_frame_end(out);
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

static int handle_status(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                         struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        struct cr_record *r = cr_records_append(&l);
        int k;

        if (!r)
                return -ENOMEM;
        if ((k = cr_record_add(r, "version", CALLROLE_VERSION)) < 0 ||
            (k = cr_record_addf(r, "generation", "%llu", (unsigned long long) snapshot_generation(m->snapshot))) < 0 ||
            (k = cr_record_addf(r, "users", "%zu", snapshot_n_users(m->snapshot))) < 0 ||
            (k = cr_record_addf(r, "roles", "%zu", snapshot_n_roles(m->snapshot))) < 0 ||
            (k = cr_record_addf(r, "accounts", "%zu", snapshot_n_accounts(m->snapshot))) < 0 ||
            (k = cr_record_addf(r, "permissions", "%zu", snapshot_n_permissions(m->snapshot))) < 0 ||
            (k = cr_record_addf(r, "requests", "%llu", (unsigned long long) m->requests)) < 0 ||
            (k = cr_record_addf(r, "changes", "%llu", (unsigned long long) m->changes)) < 0 ||
            (k = cr_record_addf(r, "connections", "%u", m->n_connections)) < 0 ||
            (k = cr_record_addf(r, "uptime", "%llu",
                                (unsigned long long) ((monotonic_usec() - m->started_usec) / 1000000ULL))) < 0 ||
            (k = cr_record_add(r, "database", peer->admin ? m->config.db_path : "")) < 0 ||
            (k = cr_record_addf(r, "peer-uid", "%u", (unsigned) peer->uid)) < 0 ||
            (k = cr_record_add(r, "peer-user", peer->user ? peer->user : "")) < 0 ||
            (k = cr_record_add(r, "peer-admin", peer->admin ? "yes" : "no")) < 0) {
                cr_records_clear(&l);
                return k;
        }
        k = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return k;
}

static int check_one(Manager *m, const Peer *peer, const struct cr_check *c, struct cr_decision *d,
                     char **ret_error) {
        int r;

        /* Who may ask about whom, and in which account, is policy_check()'s
         * to decide: -EPERM with its message. */
        r = policy_check(m->snapshot, peer, c->user, c->permission, c->account, (const char *const *) c->attr_keys,
                         (const char *const *) c->attr_values, c->n_attrs, d, ret_error);
        if (r < 0)
                return r;
        log_decision(d->allowed ? LOG_DEBUG : LOG_INFO, (unsigned) peer->uid, c->user, c->permission, d->account,
                     d->allowed, cr_reason_to_string(d->reason), d->detail);
        return 0;
}

static int handle_check(Manager *m, const Request *req, const Peer *peer, struct cr_cursor *cur, struct cr_buf *out,
                        char **ret_error) {
        struct cr_check c = {};
        struct cr_decision d = {};
        int r;

        r = cr_get_check(cur, &c);
        if (r >= 0 && cr_cursor_end(cur) < 0)
                r = -EBADMSG;
        if (r < 0) {
                cr_check_clear(&c);
                error_setf(ret_error, 0, "malformed check request");
                return r;
        }
        r = check_one(m, peer, &c, &d, ret_error);
        if (r >= 0) {
                cr_frame_begin(out, CR_MSG_DECISION, req->id);
                cr_put_decision(out, &d);
                r = cr_frame_end(out);
        }
        cr_check_clear(&c);
        cr_decision_clear(&d);
        return r;
}

static int handle_check_batch(Manager *m, const Request *req, const Peer *peer, struct cr_cursor *cur,
                              struct cr_buf *out, char **ret_error) {
        uint16_t n;
        int r = 0;

        if (cr_get_u16(cur, &n) < 0 || n > CR_BATCH_MAX) {
                error_setf(ret_error, 0, "malformed batch: more than %u checks or no count", CR_BATCH_MAX);
                return -EBADMSG;
        }
        /* Decode everything first: a malformed item must not leave half a
         * reply behind. */
        char *storage = NULL;   /* freed by hand: see manager_group_flush() */
        struct cr_check *items = calloc(n ? n : 1, sizeof(struct cr_check));
        if (!items)
                return -ENOMEM;
        r = cr_get_checks(cur, n, items, &storage);
        if (r >= 0 && cr_cursor_end(cur) < 0)
                r = -EBADMSG;
        if (r < 0)
                error_setf(ret_error, 0, "malformed check in batch");
        if (r >= 0) {
                const char *users[CR_BATCH_MAX];
                for (uint16_t i = 0; i < n; i++)
                        users[i] = items[i].user;
                policy_prefetch_users(m->snapshot, users, n);
                cr_frame_begin(out, CR_MSG_DECISIONS, req->id);
                cr_put_u16(out, n);
                for (uint16_t i = 0; i < n && r >= 0; i++) {
                        /* A batch answers allowed and reason only (docs/protocol.md):
                         * the role, account and detail stay empty, so none are
                         * formatted; a single check gives the why. */
                        const struct cr_check *c = &items[i];
                        struct cr_decision d = { .role = (char *) "", .account = (char *) "", .detail = (char *) "" };
                        r = policy_check_lean(m->snapshot, peer, c->user, c->permission, c->account,
                                              (const char *const *) c->attr_keys,
                                              (const char *const *) c->attr_values, c->n_attrs, &d.allowed,
                                              &d.reason, ret_error);
                        if (r < 0) {
                                if (ret_error && *ret_error) {
                                        _cleanup_free_ char *inner = TAKE_PTR(*ret_error);
                                        error_setf(ret_error, 0, "check %u of the batch: %s", (unsigned) i + 1, inner);
                                }
                                break;
                        }
                        log_decision(d.allowed ? LOG_DEBUG : LOG_INFO, (unsigned) peer->uid, c->user, c->permission,
                                     c->account, d.allowed, cr_reason_to_string(d.reason), NULL);
                        cr_put_decision(out, &d);
                }
                if (r >= 0)
                        r = cr_frame_end(out);
        }
        for (uint16_t i = 0; i < n; i++)
                cr_check_clear(&items[i]);
        free(items);
        free(storage);
        return r;
}

static int handle_scope(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                        struct cr_buf *out, char **ret_error) {
        const char *user = cr_record_get(params, "user"), *perm = cr_record_get(params, "permission");
        struct cr_records l = {};
        int r;

        if (isempty(user) || isempty(perm)) {
                error_setf(ret_error, 0, "scope needs 'user' and 'permission'");
                return -EINVAL;
        }
        r = policy_scope(m->snapshot, peer, user, perm, cr_record_get(params, "account"), &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static size_t parse_limit(const struct cr_record *params) {
        const char *s = cr_record_get(params, "limit");
        char *end;
        unsigned long v;

        if (isempty(s))
                return CR_PAGE_DEFAULT;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v == 0)
                return CR_PAGE_DEFAULT;
        return v > 10 * CR_PAGE_DEFAULT ? 10 * CR_PAGE_DEFAULT : v;
}

static int handle_user_get(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                           struct cr_buf *out, char **ret_error) {
        const char *name = cr_record_get(params, "name");
        struct cr_records l = {};
        int r;

        if (isempty(name)) {
                error_setf(ret_error, 0, "user.get needs 'name'");
                return -EINVAL;
        }
        r = policy_user_records(m->snapshot, peer, name, &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int handle_user_list(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                            struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        int r = policy_user_list(m->snapshot, peer, cr_record_get(params, "role"), cr_record_get(params, "account"),
                                 cr_record_get(params, "after"), parse_limit(params), &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int handle_role_list(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                            struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        const char *role = req->type == CR_MSG_ROLE_GET ? cr_record_get(params, "role") : NULL;
        int r;

        if (req->type == CR_MSG_ROLE_GET && isempty(role)) {
                error_setf(ret_error, 0, "role.get needs 'role'");
                return -EINVAL;
        }
        /* role.list profile=NAME: the roles a profile file defines. */
        if (req->type == CR_MSG_ROLE_LIST && !isempty(cr_record_get(params, "profile")))
                r = profile_role_records(m->config.profile_dir, cr_record_get(params, "profile"), &l, ret_error);
        else
                r = policy_role_records(m->snapshot, peer, cr_record_get(params, "account"), role, &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int handle_permission_list(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                                  struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        int r = policy_permission_records(m->snapshot, &l);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int handle_account_list(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                               struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        int r = policy_account_records(m->snapshot, peer, &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int handle_profile_list(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                               struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        int r = profile_list(m->config.profile_dir, &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int parse_i64(const char *s, int64_t *ret) {
        char *end;
        long long v;
        if (isempty(s)) {
                *ret = 0;
                return 0;
        }
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end || v < 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int handle_audit(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                        struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        int64_t since, after;
        int r;

        if (parse_i64(cr_record_get(params, "since"), &since) < 0 ||
            parse_i64(cr_record_get(params, "after"), &after) < 0) {
                error_setf(ret_error, 0, "audit: 'since' and 'after' must be non-negative integers");
                return -EINVAL;
        }
        r = store_audit_read(m->store, since, after, parse_limit(params), &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int handle_export(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                         struct cr_buf *out, char **ret_error) {
        struct cr_records l = {};
        int r = policy_export_records(m->snapshot, cr_record_get(params, "account"), &l, ret_error);
        if (r >= 0)
                r = reply_records(out, req->id, &l);
        cr_records_clear(&l);
        return r;
}

static int handle_change(Manager *m, Request *req, const Peer *peer, const struct cr_record *params,
                         struct cr_buf *out, char **ret_error) {
        struct cr_records effect = {};
        int r = manager_apply_change(m, peer, req->type, params, req->flags & CR_FLAG_DRY_RUN, req->connection,
                                     &req->reply_held, &effect, ret_error);
        if (r >= 0) {
                r = reply_records(out, req->id, &effect);
                if (!req->reply_held)
                        manager_notify_status(m);
        }
        cr_records_clear(&effect);
        return r;
}

static const struct {
        uint8_t type;
        Privilege privilege;
        Handler handler;
} handlers[] = {
        { CR_MSG_STATUS, PRIV_ANY, handle_status },
        { CR_MSG_CHECK, PRIV_ANY, NULL },          /* positional payload: handle_check */
        { CR_MSG_CHECK_BATCH, PRIV_ANY, NULL },    /* positional payload: handle_check_batch */
        { CR_MSG_SCOPE, PRIV_ANY, handle_scope },
        { CR_MSG_USER_GET, PRIV_ANY, handle_user_get },
        { CR_MSG_USER_LIST, PRIV_ANY, handle_user_list },
        { CR_MSG_ROLE_LIST, PRIV_ANY, handle_role_list },
        { CR_MSG_ROLE_GET, PRIV_ANY, handle_role_list },
        { CR_MSG_PERMISSION_LIST, PRIV_ANY, handle_permission_list },
        { CR_MSG_ACCOUNT_LIST, PRIV_ANY, handle_account_list },
        { CR_MSG_PROFILE_LIST, PRIV_ANY, handle_profile_list },
        { CR_MSG_AUDIT, PRIV_ADMIN, handle_audit },
        { CR_MSG_EXPORT, PRIV_ADMIN, handle_export },
        { CR_MSG_PERMISSION_ADD, PRIV_CHANGE, handle_change },
        { CR_MSG_ACCOUNT_ADD, PRIV_CHANGE, handle_change },
        { CR_MSG_ACCOUNT_SET, PRIV_CHANGE, handle_change },
        { CR_MSG_PLAN_SET, PRIV_CHANGE, handle_change },
        { CR_MSG_ROLE_ADD, PRIV_CHANGE, handle_change },
        { CR_MSG_ROLE_DELETE, PRIV_CHANGE, handle_change },
        { CR_MSG_RULE_ADD, PRIV_CHANGE, handle_change },
        { CR_MSG_USER_ADD, PRIV_CHANGE, handle_change },
        { CR_MSG_USER_SET, PRIV_CHANGE, handle_change },
        { CR_MSG_USER_DELETE, PRIV_CHANGE, handle_change },
        { CR_MSG_IMPORT, PRIV_CHANGE, handle_change },
        { CR_MSG_PROFILE_LOAD, PRIV_CHANGE, handle_change },
};

bool dispatch_type_known(uint8_t type) {
        for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
                if (handlers[i].type == type)
                        return true;
        return false;
}

static int reply_failure(Manager *m, const Request *req, const Peer *peer, struct cr_buf *out, int r,
                         const char *message) {
        const char *method = cr_msg_type_to_string(req->type);
        /* Refusals are part of normal operation; a store that cannot write
         * is not, and the administrator must hear of it. */
        int level = r == -EROFS || r == -ENOSPC || r == -EIO || r == -ENOMEM ? LOG_ERR : LOG_INFO;
        log_full_errno(level, r, "%s from uid %u refused: %s", method ? method : "request", (unsigned) req->uid,
                       message ? message : strerror(-r));
        out->len = 0;
        out->error = 0;
        return dispatch_error_reply(out, req->id, r, message);
}

static bool joins_group(const Request *req) {
        return !(req->flags & CR_FLAG_DRY_RUN) &&
               (req->type == CR_MSG_USER_ADD || req->type == CR_MSG_USER_SET || req->type == CR_MSG_USER_DELETE ||
                req->type == CR_MSG_IMPORT);
}

int dispatch_request(Manager *m, Request *req, struct cr_buf *out) {
        _cleanup_free_ char *error = NULL;
        struct cr_record params = {};
        size_t idx = SIZE_MAX;
        Peer peer = {
                .uid = req->uid,
                .unix_name = req->unix_name,
                .user = req->unix_name,
                .admin = manager_uid_is_admin(m, req->uid),
                .query = req->query_member,
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
                if (handlers[i].type == req->type)
                        idx = i;
        if (idx == SIZE_MAX) {
                dispatch_error_reply(out, req->id, -EOPNOTSUPP, "unknown request type");
                return -EOPNOTSUPP;   /* the peer speaks something else: close */
        }

        r = cr_get_prefix(&req->payload, &req->flags, &req->as_user);
        if (r < 0) {
                dispatch_error_reply(out, req->id, -EBADMSG, "malformed request prefix (flags, as-user)");
                return -EBADMSG;
        }
        /* Group commit (change.c, invariant 1): anything but a user change
         * is answered from committed state, so the open group goes first;
         * so is whether the user to act as exists. */
        if (!joins_group(req) || !isempty(req->as_user))
                manager_group_flush(m);

        if (!isempty(req->as_user)) {
                if (!peer.admin)
                        return reply_failure(m, req, &peer, out, -EPERM,
                                             "only callrole administrators may act as another user (--as)");
                if (!policy_user_exists(m->snapshot, req->as_user)) {
                        _cleanup_free_ char *msg = NULL;
                        if (asprintf(&msg, "no callrole user '%s' to act as (--as)", req->as_user) < 0)
                                msg = NULL;
                        return reply_failure(m, req, &peer, out, -ENOENT, msg);
                }
                peer.user = req->as_user;
                peer.as_user = req->as_user;
                peer.admin = false;
                peer.query = false;
        }

        if (handlers[idx].privilege == PRIV_ADMIN && !peer.admin)
                return reply_failure(m, req, &peer, out, -EPERM,
                                     peer.as_user ? "this request needs a callrole administrator, and --as drops that"
                                                  : "this request needs a callrole administrator (root or --admin-uid)");

        if (req->type == CR_MSG_CHECK)
                r = handle_check(m, req, &peer, &req->payload, out, &error);
        else if (req->type == CR_MSG_CHECK_BATCH)
                r = handle_check_batch(m, req, &peer, &req->payload, out, &error);
        else {
                r = cr_get_record(&req->payload, &params);
                if (r >= 0 && cr_cursor_end(&req->payload) < 0)
                        r = -EBADMSG;
                if (r < 0) {
                        dispatch_error_reply(out, req->id, r == -ENOMEM ? -ENOMEM : -EBADMSG,
                                             "malformed request record");
                        return r == -ENOMEM ? 0 : -EBADMSG;
                }
                r = handlers[idx].handler(m, req, &peer, &params, out, &error);
                cr_record_clear(&params);
        }
        if (r == -EBADMSG) {
                dispatch_error_reply(out, req->id, r, error ? error : "malformed request");
                return r;
        }
        if (r < 0)
                return reply_failure(m, req, &peer, out, r, error);
        return 0;
}
