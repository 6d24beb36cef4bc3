/*
 * callrole.h: the client API of libcallrole.
 *
 * Host software (softphone hosts, recording agents, dashboards) asks callroled
 * whether a user may do something, and what data the user may see.
 * Administrators' tools use the same handle for changes.
 *
 *   callrole *c = NULL;
 *   if (callrole_new(&c) < 0) ...;
 *   int r = callrole_check(c, "alice", "calls.view", NULL, attrs, n, NULL);
 *   // r == 1 allow, r == 0 deny, r < 0 error (-errno; callrole_strerror())
 *   callrole_free(c);
 *
 * Conventions: every function returns ≥0 on success and a negative errno on
 * failure; output parameters are named ret_* and written only on success;
 * functions never abort the caller, invalid arguments give -EINVAL.
 *
 * Threads: a handle is not thread-safe; use one handle per thread (they are
 * cheap: one socket each).  Different handles may be used concurrently.
 *
 * Every call is bounded by the handle's timeout (default 5 s).  A call that
 * finds the connection broken (daemon restarted) reconnects once and retries
 * before it reports an error.
 */
#ifndef CALLROLE_H
#define CALLROLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CALLROLE_SOCKET_DEFAULT "/run/callrole/socket"
#define CALLROLE_SOCKET_ENV "CALLROLE_SOCKET"

typedef struct callrole callrole;
typedef struct callrole_decision callrole_decision;
typedef struct callrole_record callrole_record;
typedef struct callrole_reply callrole_reply;

/* Why a check was denied (CALLROLE_REASON_NONE when allowed). */
typedef enum callrole_reason {
        CALLROLE_REASON_NONE = 0,
        CALLROLE_REASON_NO_SUCH_USER = 1,
        CALLROLE_REASON_DISABLED = 2,
        CALLROLE_REASON_NO_MEMBERSHIP = 3,
        CALLROLE_REASON_NOT_GRANTED = 4,
        CALLROLE_REASON_HIDDEN_BY_AGENCY = 5,
        CALLROLE_REASON_NOT_IN_PLAN = 6,
        CALLROLE_REASON_OUT_OF_SCOPE = 7,
        CALLROLE_REASON_CONDITION_FAILED = 8,
} callrole_reason;

typedef struct callrole_attr {
        const char *key;     /* "direction", "assignee", "group", "ivr", "acg" */
        const char *value;
} callrole_attr;

/* Handle.  The socket is taken from callrole_set_socket(), else
 * $CALLROLE_SOCKET, else CALLROLE_SOCKET_DEFAULT.  The connection is opened
 * lazily by the first call. */
int callrole_new(callrole **ret);
callrole *callrole_free(callrole *c);   /* accepts NULL; returns NULL */
int callrole_set_socket(callrole *c, const char *path);
int callrole_set_timeout(callrole *c, uint64_t usec);   /* 0 = default */
/* Administrators only: act with another user's authority (NULL: yourself). */
int callrole_set_as_user(callrole *c, const char *user);
/* Changes are validated and described but not committed (bool). */
int callrole_set_dry_run(callrole *c, int dry_run);
/* Whether the connection stays open between calls (bool; default yes).  A
 * program that makes one call and exits, such as the PAM module, sets no:
 * each request then tells the daemon it is the last, the daemon closes the
 * connection as soon as the reply is out, and the next call, if any,
 * connects again. */
int callrole_set_keep_alive(callrole *c, int keep_alive);

const char *callrole_strerror(int error);
/* The daemon's message for the handle's last failed call ("unknown role
 * 'x' in account 'default'"), or NULL.  Valid until the next call. */
const char *callrole_last_error(const callrole *c);
const char *callrole_reason_to_string(callrole_reason reason); /* "out-of-scope" */

/* May USER do PERMISSION in ACCOUNT (NULL: the user's only account) on a
 * resource with these attributes?  Returns 1 allow, 0 deny, <0 error.
 * ret_decision (may be NULL) receives the details. */
int callrole_check(callrole *c, const char *user, const char *permission, const char *account,
                   const callrole_attr *attrs, size_t n_attrs, callrole_decision **ret_decision);
callrole_decision *callrole_decision_free(callrole_decision *d);
int callrole_decision_allowed(const callrole_decision *d);
callrole_reason callrole_decision_reason(const callrole_decision *d);
const char *callrole_decision_role(const callrole_decision *d);     /* role id or "" */
const char *callrole_decision_account(const callrole_decision *d);
const char *callrole_decision_detail(const callrole_decision *d);   /* human-readable why */

/* Many checks in one round trip.  ret_allowed[i] is 1 or 0, ret_reasons[i]
 * (may be NULL) the reason.  Up to 1024 items. */
typedef struct callrole_check_item {
        const char *user, *permission, *account;
        const callrole_attr *attrs;
        size_t n_attrs;
} callrole_check_item;
int callrole_check_batch(callrole *c, const callrole_check_item *items, size_t n,
                         int *ret_allowed, callrole_reason *ret_reasons);

/*
 * Records: the generic result of everything but checks.  A record is a list
 * of fields, each a key with zero or more string values.
 */
int callrole_record_new(callrole_record **ret);
callrole_record *callrole_record_free(callrole_record *r);
int callrole_record_add(callrole_record *r, const char *key, const char *value);
size_t callrole_record_n_fields(const callrole_record *r);
const char *callrole_record_key(const callrole_record *r, size_t i);
size_t callrole_record_n_values(const callrole_record *r, size_t i);
const char *callrole_record_value(const callrole_record *r, size_t i, size_t j);
/* First value of KEY, or NULL. */
const char *callrole_record_get(const callrole_record *r, const char *key);

size_t callrole_reply_n_records(const callrole_reply *rep);
const callrole_record *callrole_reply_record(const callrole_reply *rep, size_t i);
callrole_reply *callrole_reply_free(callrole_reply *rep);

/* Any request by its method name ("user.add", "role.list", ...; see
 * callrole.h(3) and docs/protocol.md for each method's parameters).  params
 * may be NULL. */
int callrole_call(callrole *c, const char *method, const callrole_record *params, callrole_reply **ret);

/* Conveniences over callrole_call(). */
int callrole_status(callrole *c, callrole_reply **ret);
int callrole_user_get(callrole *c, const char *user, callrole_reply **ret);
int callrole_user_list(callrole *c, const char *role, const char *account, callrole_reply **ret);
/* The constraints a host must apply when listing data for USER under
 * PERMISSION: one record per alternative; each field of a record is a
 * constraint (key "assignee", "direction", "group", "ivr" or "acg", values
 * the allowed ones), all of which must hold.  A record with no fields means
 * unrestricted; no records means nothing is visible.  Returns 1 if anything
 * is visible, 0 if nothing. */
int callrole_scope(callrole *c, const char *user, const char *permission, const char *account,
                   callrole_reply **ret);

#ifdef __cplusplus
}
#endif
#endif
