/*
 * helper-profile.h: what the profile conformance tests
 * (tests/test-profile-*.c) share: one real callroled per test program
 * (helper-daemon.h), clients acting as the administrator or --as a user,
 * checks stated as ALLOW/DENY lines, the role table and the permissions of
 * a role checked whole, and refusals that must name what is wrong and leave
 * everything as it was.
 *
 * Every assertion reports the caller's file and line, so a failing line of
 * a long table of checks is found at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "callrole.h"
#include "helper-daemon.h"

extern TestDaemon pt_daemon;

/* Starts pt_daemon (group setup); 0 or -1.  pt_stop() stops it and
 * removes its folder. */
int pt_start(void);
void pt_stop(void);
/* The same for a group whose tests act through one administrator's client
 * (pt_client(NULL)): pt_start_admin() returns it, or NULL if the daemon did
 * not start; pt_stop_admin() frees *admin, sets it to NULL and returns 0, so
 * it can end a group teardown. */
callrole *pt_start_admin(void);
int pt_stop_admin(callrole **admin);

/* A client of pt_daemon: the administrator (as_user NULL) or acting with
 * as_user's authority (--as). */
callrole *pt_client(const char *as_user);

/* callrole_call() with a record of KEY, VALUE pairs ending with a NULL key;
 * a key given several times is a list, a NULL value an empty list. */
int pt_call(callrole *c, callrole_reply **ret, const char *method, ...) __attribute__((sentinel));
/* The same; the call must succeed (the reply is dropped). */
void pt_must_at(const char *file, int line, callrole *c, const char *method, ...) __attribute__((sentinel));
#define MUST(c, ...) pt_must_at(__FILE__, __LINE__, (c), __VA_ARGS__)

/* A check: attrs is "key=value;key=value" or NULL.  want_reason and
 * detail_has (a substring of the decision's detail, or NULL) matter for
 * denials; for an allow detail_has may still name the scope it is limited
 * to. */
void pt_check_at(const char *file, int line, callrole *c, const char *user, const char *perm, const char *account,
                 const char *attrs, bool want_allowed, callrole_reason want_reason, const char *detail_has);
#define ALLOW(c, user, perm, account, attrs) \
        pt_check_at(__FILE__, __LINE__, (c), (user), (perm), (account), (attrs), true, CALLROLE_REASON_NONE, NULL)
#define ALLOW_LIMITED(c, user, perm, account, attrs, detail) \
        pt_check_at(__FILE__, __LINE__, (c), (user), (perm), (account), (attrs), true, CALLROLE_REASON_NONE, (detail))
#define DENY(c, user, perm, account, attrs, reason, detail) \
        pt_check_at(__FILE__, __LINE__, (c), (user), (perm), (account), (attrs), false, (reason), (detail))

/* What a refused change must leave as it was: the snapshot generation and
 * the audit. */
typedef struct PtState {
        char generation[32];
        size_t n_audit;
        char last_audit_id[32];
} PtState;
PtState pt_state(void);
void pt_assert_unchanged_at(const char *file, int line, const PtState *before);
#define ASSERT_UNCHANGED(s) pt_assert_unchanged_at(__FILE__, __LINE__, (s))

/* The change must fail with -error, its message must contain needle, and
 * nothing may have changed (generation and audit as before). */
void pt_refused_at(const char *file, int line, callrole *c, int error, const char *needle, const char *method, ...)
        __attribute__((sentinel));
#define REFUSED(c, error, needle, ...) pt_refused_at(__FILE__, __LINE__, (c), (error), (needle), __VA_ARGS__)

/* user.get through c: true if the user is visible, false on ENOENT (any
 * other error fails). */
bool pt_user_visible(callrole *c, const char *user);
/* user.list through c names user. */
bool pt_user_listed(callrole *c, const char *user);
/* Field key of user's membership in account (NULL: the first record), list
 * values joined with ','; malloc'ed; NULL if there is no such membership. */
char *pt_user_field(callrole *c, const char *user, const char *account, const char *key);

/* A role as a profile defines it: id, title, rank and agency-only ("yes" or
 * "no"; NULL: not checked). */
typedef struct PtRole {
        const char *id, *title, *rank, *agency_only;
} PtRole;
/* role.list of account through c lists exactly the n roles of want, each
 * with its title, rank and agency-only. */
void pt_assert_roles_at(const char *file, int line, callrole *c, const char *account, const PtRole *want, size_t n);
#define ASSERT_ROLES(c, account, want) \
        pt_assert_roles_at(__FILE__, __LINE__, (c), (account), (want), sizeof(want) / sizeof((want)[0]))

/* Every permission of the catalogue (permission.list through c) is ALLOWed
 * to user in account (NULL: the user's only one) exactly when it is in the
 * NULL-terminated list expected, and DENYed as not granted otherwise; no
 * resource attributes.  Every expected permission must be in the
 * catalogue.  Returns the size of the catalogue. */
size_t pt_expect_exactly_at(const char *file, int line, callrole *c, const char *user, const char *account,
                            const char *const *expected);
#define EXPECT_EXACTLY(c, user, account, expected) \
        pt_expect_exactly_at(__FILE__, __LINE__, (c), (user), (account), (expected))

/* callrolectl against pt_daemon; stdout/stderr malloc'ed (may be NULL). */
int pt_ctl(char **ret_out, char **ret_err, const char *arg, ...) __attribute__((sentinel));
