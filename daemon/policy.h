/*
 * policy.h: the policy engine.  Answers checks and scopes, decides what a
 * peer may see and change, and validates a whole model against its rules.
 * It works only on a Snapshot: no SQL, no sockets, no logging.
 *
 * Errors that reach a person come with a malloc'ed message in *ret_error
 * that names the object and the rule ("role 'call-agent' in account
 * 'default' holds reports.view_tab but no permission matching
 * reports.*.view (rule of account 'default')").
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "callrole-wire.h"
#include "snapshot.h"

/* Who is asking.  Filled by the daemon from SO_PEERCRED, never from the
 * request. */
typedef struct Peer {
        uid_t uid;
        const char *unix_name;   /* from getpwuid_r, or NULL */
        const char *user;        /* callrole user acting: the peer's own, or --as; NULL if none.
                                  * May name a user the snapshot lacks: then the peer has no
                                  * callrole user. */
        const char *as_user;     /* the --as user when an administrator acts as someone, else NULL */
        bool admin;              /* root or --admin-uid, and not acting --as */
        bool query;              /* member of the query group: may read everything */
} Peer;

/* May user do permission in account ("" or NULL: the user's only account,
 * else "default") on a resource with these attributes?  Fills *ret (owned
 * strings; role and account "" when unknown) and returns 0; or -ENOENT for
 * an unknown permission or account, -ENOTUNIQ when the account is left out
 * and the user has several, -EINVAL for an unknown attribute key; with a
 * message.
 *
 * peer is who asks.  Administrators, the query group and the user
 * themselves get the whole answer.  Anyone else gets an answer only about a
 * membership of user it may see (policy_may_read_user(), per membership):
 * the one applying in account, or, with account left out, the only one it
 * sees (-ENOTUNIQ, listing only those, if it sees several).  Otherwise (no
 * such user, one it may not see, an unknown account, no membership there
 * or one it may not see) -EPERM, always with the same message. */
int policy_check(const Snapshot *s, const Peer *peer, const char *user, const char *permission,
                 const char *account, const char *const *keys, const char *const *values, size_t n_attrs,
                 struct cr_decision *ret, char **ret_error);
/* Starts loading what checks on these users will read (a batch). */
void policy_prefetch_users(const Snapshot *s, const char *const *users, size_t n);
/* The same decision without its strings (role, account, detail): what a
 * batch answers, at a fraction of the cost.  Errors are policy_check()'s. */
int policy_check_lean(const Snapshot *s, const Peer *peer, const char *user, const char *permission,
                      const char *account, const char *const *keys, const char *const *values, size_t n_attrs,
                      bool *ret_allowed, uint8_t *ret_reason, char **ret_error);

/* The constraints for listing data: one record per alternative (see
 * docs/protocol.md, "scope").  Returns 1 if anything is visible, 0 if not
 * (then *ret is empty), or the errors of policy_check(), peer included. */
int policy_scope(const Snapshot *s, const Peer *peer, const char *user, const char *permission,
                 const char *account, struct cr_records *ret, char **ret_error);

/* May peer read about user (user.get; check and scope ask more, see
 * policy_check())?  Administrators and the query group may read everything;
 * anyone may read about themselves; else the peer needs users.view in an
 * account the user is a member of (directly or through an agency) with
 * rank ≥ the user's rank there. */
bool policy_may_read_user(const Snapshot *s, const Peer *peer, const char *user);

/*
 * Authorises a change request before it is applied: type is a CR_MSG_*
 * change, params its record.  Administrators may do anything.  Others:
 * user.add/user.set/user.delete need users.create/users.edit/users.delete
 * in the account, and the peer's rank there must be strictly higher than
 * the target user's current rank and than the new role's rank; a change to
 * the user as a whole (enabled, display-name, deleting the user, and adding
 * a role to a user who exists) needs users.edit (users.delete) and a higher
 * rank in every account the user belongs to.  A membership of the target
 * the peer may not see is, to it, no membership; where the change reaches
 * one, the refusal names neither its account nor its role.  Every other
 * change needs an administrator.  user.add to an account without a free
 * seat is refused with -EDQUOT, for administrators too.  Also refuses, with
 * -ENOENT and the name, references to a user, role, account or permission
 * the snapshot lacks where the change needs them to exist, and -EEXIST
 * where it must not.  Returns 0 or a negative errno with a message.
 */
int policy_authorize(const Snapshot *s, const Peer *peer, int type, const struct cr_record *params,
                     char **ret_error);

/* Is there a callrole user of this name? */
bool policy_user_exists(const Snapshot *s, const char *user);

/* Validates the whole model: every role satisfies the rules of its account
 * and the account's ancestors; every grant's permission exists; every
 * account's users fit its seats; every membership's role belongs to the
 * account or an ancestor; an agency-only role is held only in an agency
 * (sub-accounts, or its own attribute kind=agency); every notification a
 * membership has switched on is defined there (or in an agency above) and
 * its permission is usable by the membership there.  0, or
 * -EINVAL/-ENOENT/-EDQUOT with a message naming the first problem and, for
 * a rule or a notification, the missing permission. */
int policy_validate(const Snapshot *s, char **ret_error);
/* After a patch of users (NULL-terminated names): checks only their
 * memberships and the seats of their accounts, unless held_changed
 * (snapshot_patch_user()), when everything is checked. */
int policy_validate_users(const Snapshot *s, char *const *users, bool held_changed, char **ret_error);

/* Renderers for read requests (fields as in docs/protocol.md).  Each
 * appends to *ret only what peer may see, and treats an account or role
 * filter the peer may not see as unknown.  Return 0 or
 * -ENOMEM/-ENOENT/-ENOTUNIQ, or -EPERM (roles, accounts) for a peer that is
 * neither an administrator, nor in the query group, nor an enabled callrole
 * user.  A callrole user sees the accounts it is a member of and their
 * sub-accounts, and the roles usable where one of its memberships applies
 * ranked no higher than that membership.  The permission catalogue is
 * open to all: it describes the product, not the people. */
int policy_user_records(const Snapshot *s, const Peer *peer, const char *user, struct cr_records *ret,
                        char **ret_error);                         /* user.get */
int policy_user_list(const Snapshot *s, const Peer *peer, const char *role, const char *account,
                     const char *after, size_t limit, struct cr_records *ret, char **ret_error);
int policy_role_records(const Snapshot *s, const Peer *peer, const char *account, const char *role,
                        struct cr_records *ret, char **ret_error); /* role.list / role.get (role non-NULL) */
int policy_permission_records(const Snapshot *s, struct cr_records *ret);
int policy_account_records(const Snapshot *s, const Peer *peer, struct cr_records *ret, char **ret_error);
int policy_export_records(const Snapshot *s, const char *account, struct cr_records *ret, char **ret_error);

/* One line describing a user or role for the audit's before/after, or NULL
 * if it does not exist ("alice (Alice A.) enabled; default: call-agent
 * groups=g1"). malloc'ed. */
char *policy_describe_user(const Snapshot *s, const char *user);
char *policy_describe_role(const Snapshot *s, const char *account, const char *role);
