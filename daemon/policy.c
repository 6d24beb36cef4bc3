/*
 * policy.c: the policy engine.  Every question the daemon answers about the
 * role model (may USER do PERMISSION here?  what may USER list?  may this
 * peer see or change that user?  is the model as a whole valid?) is answered
 * here, from a compiled Snapshot only: no SQL, no sockets, no logging.
 *
 * How a check resolves (the numbers are those of the decision reasons):
 *   - the user's role in an account is the membership in that account, else
 *     in its nearest agency: a role held at agency level applies in every
 *     sub-account, and a direct membership wins over an inherited one;
 *   - the role must grant the permission and the membership's `only`
 *     patterns must not exclude it (not-granted);
 *   - no agency above the account may hide it (hidden-by-agency), which
 *     binds administrators too;
 *   - the account's plan in force must include it (not-in-plan);
 *   - each grant of the permission is an alternative that passes when its
 *     account condition holds and every scope bit holds for the resource's
 *     attributes; an attribute the caller does not give does not constrain.
 *
 * Hierarchy: a peer sees a user through a membership of that user in an
 * account where the peer (directly or through an agency) holds users.view
 * with a rank ≥ the user's rank there, and may add, change or delete only
 * users whose current and new rank are strictly below its own in every
 * account the change touches.  A user the peer may not see is reported
 * exactly as a user that does not exist, so names cannot be probed.
 *
 * Visibility is per membership.  For a peer that is not an administrator,
 * not in the query group and not asking about itself:
 *   1. What it is told about a user (check, scope, user.get, user.list,
 *      the account a change is about, the refusal of a change) comes from
 *      the memberships it sees only.  A membership it does not see is, to
 *      it, no membership; a change that would reach one is refused with a
 *      message naming neither its account nor its role.
 *   2. A check or scope answers about a membership it sees (the one that
 *      applies in the account asked, or the only one it sees), else with
 *      the one -EPERM that an invisible or missing user gets.
 *   3. It reads (account.list, role.list/get, the filters of user.list)
 *      the accounts it is a member of and their sub-accounts, and the roles
 *      usable where one of its memberships applies, ranked no higher than
 *      that membership; others are unknown to it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "model.h"
#include "policy.h"
#include "snapshot-layout.h"

/* ---- messages ----------------------------------------------------------- */

/* Details and messages travel as one wire string (≤ CR_STR_MAX); a user in
 * hundreds of groups or accounts must not make the reply unsendable. */
#define TEXT_MAX 1024u

static void text_truncate(char *m) {
        size_t n;

        if (!m || strnlen(m, TEXT_MAX + 1) <= TEXT_MAX)
                return;
        n = TEXT_MAX - 3;
        while (n > 0 && ((unsigned char) m[n] & 0xc0) == 0x80) /* not inside a UTF-8 sequence */
                n--;
        memcpy(m + n, "...", 4);
}

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *m = NULL;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        text_truncate(m);
        *ret_error = m;
        return r;
}

/* A growing string; remembers an allocation failure so callers check once. */
typedef struct Str {
        char *p;
        size_t len, cap;
        bool oom;
} Str;

static void str_addf(Str *s, const char *fmt, ...) _printf_(2, 3);
static void str_addf(Str *s, const char *fmt, ...) {
        va_list ap;
        int n;

        if (s->oom)
                return;
        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                s->oom = true;
                return;
        }
        if (s->len + (size_t) n + 1 > s->cap) {
                size_t cap = s->cap ? s->cap : 64;
                char *p;
                while (cap < s->len + (size_t) n + 1)
                        cap *= 2;
                p = realloc(s->p, cap);
                if (!p) {
                        s->oom = true;
                        return;
                }
                s->p = p;
                s->cap = cap;
        }
        va_start(ap, fmt);
        (void) vsnprintf(s->p + s->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        s->len += (size_t) n;
}

static void str_done(Str *s) {
        free(s->p);
        *s = (Str) {};
}

/* The string (never NULL unless out of memory); s is left empty. */
static char *str_take(Str *s) {
        char *p;
        if (s->oom) {
                str_done(s);
                return NULL;
        }
        p = s->p ? s->p : strdup("");
        *s = (Str) {};
        return p;
}

static void str_list(Str *o, const Snapshot *s, uint32_t list, const char *sep) {
        for (uint32_t i = 0; i < snap_list_n(s, list); i++)
                str_addf(o, "%s%s", i ? sep : "", snap_list_str(s, list, i));
}

static bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

/* ---- lookups ------------------------------------------------------------ */

static const char *account_name(const Snapshot *s, uint32_t a) {
        return snap_name(s, snap_accounts(s, a)->name);
}

static const char *user_name(const Snapshot *s, uint32_t u) {
        return snap_name(s, snap_users(s, u)->name);
}

static const char *role_id(const Snapshot *s, uint32_t r) {
        return snap_name(s, snap_roles(s, r)->id);
}

static const char *role_title(const Snapshot *s, uint32_t r) {
        return snap_name(s, snap_roles(s, r)->title);
}

static const char *permission_name(const Snapshot *s, uint32_t p) {
        return snap_name(s, snap_permissions(s, p)->name);
}

/* Is a the account anc or one of its sub-accounts (at any depth)? */
static bool account_is_under(const Snapshot *s, uint32_t a, uint32_t anc) {
        for (; a != SNAP_NONE; a = snap_accounts(s, a)->parent)
                if (a == anc)
                        return true;
        return false;
}

/* The role id in account a or, failing that, in its nearest agency. */
static uint32_t role_in_chain(const Snapshot *s, uint32_t a, const char *id) {
        for (; a != SNAP_NONE; a = snap_accounts(s, a)->parent) {
                uint32_t r = snap_find_role(s, a, id);
                if (r != SNAP_NONE)
                        return r;
        }
        return SNAP_NONE;
}

static uint32_t membership_direct(const Snapshot *s, uint32_t u, uint32_t a) {
        const SnapUser *su = snap_users(s, u);
        for (uint32_t i = 0; i < su->n_memberships; i++)
                if (snap_memberships(s, su->first_membership + i)->account == a)
                        return su->first_membership + i;
        return SNAP_NONE;
}

/* The membership that applies to user u in account a: its own there, else
 * the one in the nearest agency. */
static uint32_t membership_applying(const Snapshot *s, uint32_t u, uint32_t a) {
        if (snap_users(s, u)->n_memberships == 0)
                return SNAP_NONE;
        for (; a != SNAP_NONE; a = snap_accounts(s, a)->parent) {
                uint32_t m = membership_direct(s, u, a);
                if (m != SNAP_NONE)
                        return m;
        }
        return SNAP_NONE;
}

static int64_t membership_rank(const Snapshot *s, uint32_t m) {
        return snap_roles(s, snap_memberships(s, m)->role)->rank;
}

/* Role holds p and the membership's `only` patterns let it through. */
static bool membership_grants(const Snapshot *s, uint32_t m, uint32_t p) {
        const SnapMembership *sm = snap_memberships(s, m);
        return snap_bit(s, snap_roles(s, sm->role)->bits, p) &&
               (sm->only_bits == SNAP_NONE || snap_bit(s, sm->only_bits, p));
}

/* The value of attribute key of account a, or of its nearest agency that
 * sets it; NULL if none does. */
static const char *account_attr(const Snapshot *s, uint32_t a, const char *key) {
        size_t klen = strlen(key);
        for (; a != SNAP_NONE; a = snap_accounts(s, a)->parent) {
                uint32_t attrs = snap_accounts(s, a)->attrs;
                for (uint32_t i = 0; i < snap_list_n(s, attrs); i++) {
                        const char *kv = snap_list_str(s, attrs, i);
                        if (strncmp(kv, key, klen) == 0 && kv[klen] == '=')
                                return kv + klen + 1;
                }
        }
        return NULL;
}

static bool cond_holds(const Snapshot *s, const SnapGrant *g, uint32_t a) {
        switch (g->cond) {
        case COND_NONE:
                return true;
        case COND_NO_ROLE: {
                /* A role held at agency level applies in every sub-account,
                 * so an agency's members count too.  (A member of the agency
                 * who has a role of their own in this account is counted
                 * anyway: the condition then fails, which is the safe way.) */
                const char *id = snap_name(s, g->cond_key);
                for (; a != SNAP_NONE; a = snap_accounts(s, a)->parent) {
                        uint32_t held = snap_accounts(s, a)->held_roles;
                        for (uint32_t i = 0; i < snap_list_n(s, held); i++)
                                if (snap_list_item(s, held, 2 * i + 1) > 0 &&
                                    strcmp(role_id(s, snap_list_item(s, held, 2 * i)), id) == 0)
                                        return false;
                }
                return true;
        }
        case COND_ACCOUNT_ATTR: {
                /* Key and value are required strings for this kind
                 * (snapshot-layout.h, invariant 6). */
                const char *v = account_attr(s, a, snap_name(s, g->cond_key));
                return v && strcmp(v, snap_name(s, g->cond_value)) == 0;
        }
        default:
                return false;
        }
}

/* p usable by membership m in account a, whatever the resource: granted,
 * not hidden, in plan, and some grant's condition holds.  What hierarchy
 * and visibility decisions ask (users.view, users.edit, ...). */
static bool membership_holds(const Snapshot *s, uint32_t m, uint32_t a, uint32_t p) {
        const SnapAccount *sa = snap_accounts(s, a);
        const SnapRole *r;

        if (m == SNAP_NONE || p == SNAP_NONE || !membership_grants(s, m, p) || snap_bit(s, sa->hidden_bits, p) ||
            !snap_bit(s, sa->plan_bits, p))
                return false;
        r = snap_roles(s, snap_memberships(s, m)->role);
        for (uint32_t i = 0; i < r->n_grants; i++) {
                const SnapGrant *g = snap_grants(s, r->first_grant + i);
                if (g->permission == p && cond_holds(s, g, a))
                        return true;
        }
        return false;
}

/* The agency above a whose hidden list matches p (for the message). */
static uint32_t hiding_agency(const Snapshot *s, uint32_t a, uint32_t p) {
        const char *name = permission_name(s, p);
        for (a = snap_accounts(s, a)->parent; a != SNAP_NONE; a = snap_accounts(s, a)->parent) {
                uint32_t hidden = snap_accounts(s, a)->hidden;
                for (uint32_t i = 0; i < snap_list_n(s, hidden); i++)
                        if (fnmatch(snap_list_str(s, hidden, i), name, 0) == 0)
                                return a;
        }
        return SNAP_NONE;
}

/* The notification called name in account a: a's own definition, else the
 * nearest agency's; SNAP_NONE if none. */
static uint32_t notification_find(const Snapshot *s, uint32_t a, const char *name) {
        for (; a != SNAP_NONE; a = snap_accounts(s, a)->parent) {
                const SnapAccount *sa = snap_accounts(s, a);
                for (uint32_t i = 0; i < sa->n_notifications; i++)
                        if (streq(snap_name(s, snap_notifications(s, sa->first_notification + i)->name), name))
                                return sa->first_notification + i;
        }
        return SNAP_NONE;
}

/* Why membership m cannot use p in account a (membership_holds() said no),
 * as a clause for messages: "role 'Calls Only' does not grant it". */
static void why_not_held(Str *o, const Snapshot *s, uint32_t m, uint32_t a, uint32_t p) {
        const SnapMembership *sm = snap_memberships(s, m);
        const SnapAccount *sa = snap_accounts(s, a);

        if (!snap_bit(s, snap_roles(s, sm->role)->bits, p))
                str_addf(o, "role '%s' does not grant it", role_title(s, sm->role));
        else if (!membership_grants(s, m, p)) {
                str_addf(o, "the user is limited to ");
                str_list(o, s, sm->only, ", ");
        } else if (snap_bit(s, sa->hidden_bits, p)) {
                uint32_t agency = hiding_agency(s, a, p);
                str_addf(o, "agency '%s' hides it", agency == SNAP_NONE ? "?" : account_name(s, agency));
        } else if (!snap_bit(s, sa->plan_bits, p))
                str_addf(o, "plan '%s' does not include it", snap_str_or_empty(s, sa->eff_plan));
        else
                str_addf(o, "no grant of it in role '%s' holds its condition there", role_title(s, sm->role));
}

/* ---- visibility --------------------------------------------------------- */

/* May peer user pu see target membership tm?  Through pu's role in tm's
 * account (its own there or an agency's): users.view and rank ≥. */
static bool membership_visible(const Snapshot *s, uint32_t pu, uint32_t tm, uint32_t users_view) {
        uint32_t a = snap_memberships(s, tm)->account, pm;

        if (pu == SNAP_NONE || users_view == SNAP_NONE)
                return false;
        pm = membership_applying(s, pu, a);
        return pm != SNAP_NONE && membership_holds(s, pm, a, users_view) &&
               membership_rank(s, pm) >= membership_rank(s, tm);
}

/* Who the peer is for visibility: sees everything (administrator, query
 * group, or, from viewer_about(), the very user asked about), or what its
 * callrole user may see (SNAP_NONE: no user, or a disabled one, seeing
 * nothing). */
typedef struct Viewer {
        bool all;
        uint32_t user;
        uint32_t users_view;
} Viewer;

static Viewer viewer_of(const Snapshot *s, const Peer *peer) {
        Viewer v = { .user = SNAP_NONE, .users_view = s->users_view };

        if (peer->admin || peer->query) {
                v.all = true;
                return v;
        }
        if (peer->user) {
                v.user = snap_find_user(s, peer->user);
                /* A disabled user's authority is void. */
                if (v.user != SNAP_NONE && !snap_users(s, v.user)->enabled)
                        v.user = SNAP_NONE;
        }
        return v;
}

/* The viewer for questions about one user: anyone sees all of themselves. */
static Viewer viewer_about(const Snapshot *s, const Peer *peer, const char *user) {
        Viewer v = viewer_of(s, peer);

        if (peer->user && user && streq(peer->user, user))
                v.all = true;
        return v;
}

/* Sees every membership of u (administrator, query group, or u itself). */
static bool viewer_sees_all_of(const Snapshot *s, const Viewer *v, const Peer *peer, uint32_t u) {
        return v->all || (peer->user && streq(peer->user, user_name(s, u)));
}

/* Membership m as the viewer sees it.  Everything the engine says about
 * another user's membership to a peer that does not see everything goes
 * through this: a membership it may not see is, for it, no membership. */
static bool shown(const Snapshot *s, const Viewer *v, uint32_t m) {
        return v->all || membership_visible(s, v->user, m, v->users_view);
}

static bool viewer_sees(const Snapshot *s, const Viewer *v, const Peer *peer, uint32_t u) {
        const SnapUser *su = snap_users(s, u);

        if (viewer_sees_all_of(s, v, peer, u))
                return true;
        for (uint32_t i = 0; i < su->n_memberships; i++)
                if (membership_visible(s, v->user, su->first_membership + i, v->users_view))
                        return true;
        return false;
}

bool policy_may_read_user(const Snapshot *s, const Peer *peer, const char *user) {
        Viewer v;
        uint32_t u;

        if (!s || !peer || !user)
                return false;
        if (peer->admin || peer->query || (peer->user && streq(peer->user, user)))
                return true;
        u = snap_find_user(s, user);
        if (u == SNAP_NONE)
                return false;
        v = viewer_of(s, peer);
        return viewer_sees(s, &v, peer, u);
}

/* Accounts a callrole user sees: those it is a member of, and their
 * sub-accounts (where an agency role applies). */
static bool account_visible(const Snapshot *s, const Viewer *v, uint32_t a) {
        const SnapUser *su;

        if (v->all)
                return true;
        if (v->user == SNAP_NONE || a == SNAP_NONE)
                return false;
        su = snap_users(s, v->user);
        for (uint32_t i = 0; i < su->n_memberships; i++)
                if (account_is_under(s, a, snap_memberships(s, su->first_membership + i)->account))
                        return true;
        return false;
}

/* Roles a callrole user sees: those usable where one of its memberships
 * applies, ranked no higher than that membership.  A role of account ra is
 * usable in ra and below; a membership of the viewer applies in its own
 * account and below.  So either the viewer is a member at or under ra, or
 * the membership that applies to it in ra itself comes from an agency
 * above. */
static bool role_visible(const Snapshot *s, const Viewer *v, uint32_t r) {
        const SnapRole *sr = snap_roles(s, r);
        const SnapUser *su;
        uint32_t m;

        if (v->all)
                return true;
        if (v->user == SNAP_NONE)
                return false;
        m = membership_applying(s, v->user, sr->account);
        if (m != SNAP_NONE && membership_rank(s, m) >= sr->rank)
                return true;
        su = snap_users(s, v->user);
        for (uint32_t i = 0; i < su->n_memberships; i++) {
                m = su->first_membership + i;
                if (account_is_under(s, snap_memberships(s, m)->account, sr->account) &&
                    membership_rank(s, m) >= sr->rank)
                        return true;
        }
        return false;
}

/* Read requests about the role model itself (roles, accounts) are for
 * administrators, the query group and callrole users, each seeing its part;
 * a peer that is none of these is refused, so it learns nothing about who
 * is ranked how. */
static int need_reader(const Snapshot *s, const Peer *peer, const char *what, Viewer *ret, char **ret_error) {
        Viewer v = viewer_of(s, peer);

        if (!v.all && v.user == SNAP_NONE)
                return fail(ret_error, -EPERM,
                            "uid %u may not list %s: it is not a callrole administrator, not in the query group and "
                            "maps to no enabled callrole user",
                            (unsigned) peer->uid, what);
        *ret = v;
        return 0;
}

/*
 * Checks and scopes about another user, for a peer that does not see
 * everything, answer only about a membership the peer may see: the one
 * that applies in the account asked, or, with the account left out, one of
 * those it sees.  Anything else (no such user, a user it may not see, an
 * unknown account, no membership there or one it may not see) gets the
 * same refusal, so that it cannot tell them apart.
 */
static int refuse_query(const Peer *peer, const char *user, char **ret_error) {
        return fail(ret_error, -EPERM,
                    "uid %u may not query user '%s': only administrators, the query group, the user themselves and "
                    "users allowed to see that user's role there may",
                    (unsigned) peer->uid, user);
}

static int gate_query(const Snapshot *s, const Viewer *v, const Peer *peer, const char *user, const char *account,
                      char **ret_error) {
        uint32_t u, a, m;

        if (v->all)
                return 0;
        u = snap_find_user(s, user);
        if (u == SNAP_NONE)
                return refuse_query(peer, user, ret_error);
        if (!isempty(account)) {
                a = snap_find_account(s, account);
                m = a == SNAP_NONE ? SNAP_NONE : membership_applying(s, u, a);
                if (m != SNAP_NONE && shown(s, v, m))
                        return 0;
        } else if (viewer_sees(s, v, peer, u))
                return 0;
        return refuse_query(peer, user, ret_error);
}

/* ---- check and scope ---------------------------------------------------- */

typedef struct Attrs {
        const char *direction, *assignee, *group, *ivr, *acg;
} Attrs;

static int parse_attrs(const char *const *keys, const char *const *values, size_t n, Attrs *ret,
                       char **ret_error) {
        Attrs at = {};

        if (n > CR_ATTRS_MAX)
                return fail(ret_error, -EINVAL, "%zu attributes given; at most %u are allowed", n, CR_ATTRS_MAX);
        for (size_t i = 0; i < n; i++) {
                const char **slot;

                if (!keys[i] || !values[i])
                        return fail(ret_error, -EINVAL, "attribute %zu has no key or no value", i + 1);
                if (streq(keys[i], "direction"))
                        slot = &at.direction;
                else if (streq(keys[i], "assignee"))
                        slot = &at.assignee;
                else if (streq(keys[i], "group"))
                        slot = &at.group;
                else if (streq(keys[i], "ivr"))
                        slot = &at.ivr;
                else if (streq(keys[i], "acg"))
                        slot = &at.acg;
                else
                        return fail(ret_error, -EINVAL,
                                    "unknown attribute '%s': use direction, assignee, group, ivr or acg", keys[i]);
                if (*slot)
                        return fail(ret_error, -EINVAL, "attribute '%s' is given twice; give it once", keys[i]);
                *slot = values[i];
        }
        if (at.direction && !streq(at.direction, "inbound") && !streq(at.direction, "outbound"))
                return fail(ret_error, -EINVAL, "direction must be inbound or outbound, not '%s'", at.direction);
        *ret = at;
        return 0;
}

/* Where resolution got to.  reason is CR_REASON_NONE when steps 2-8 all
 * passed and the grants decide; otherwise detail says why. */
typedef struct Resolved {
        uint32_t user, permission, account, membership, role;
        const char *account_name;      /* the account the answer is about */
        int reason;
        char *detail;
        bool lean;                     /* the reason is enough: no detail is written */
} Resolved;

static void resolved_done(Resolved *r) {
        free(r->detail);
        r->detail = NULL;
}

static int deny(Resolved *r, int reason, const char *fmt, ...) _printf_(3, 4);
static int deny(Resolved *r, int reason, const char *fmt, ...) {
        va_list ap;
        char *m;
        int k;

        r->reason = reason;
        if (r->lean)
                return 0;
        va_start(ap, fmt);
        k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        r->reason = reason;
        r->detail = m;
        return 0;
}

/* v: whose view; for a viewer that does not see everything, gate_query()
 * has made sure there is a membership it sees where the answer is about. */
static int resolve(const Snapshot *s, const Viewer *v, const char *user, uint32_t permission, const char *account,
                   uint32_t account_index, bool lean, Resolved *r, char **ret_error) {
        const SnapUser *su;
        const char *pname;

        *r = (Resolved) {
                .user = SNAP_NONE, .permission = permission, .account = SNAP_NONE, .membership = SNAP_NONE,
                .role = SNAP_NONE, .account_name = isempty(account) ? "" : account, .lean = lean,
        };

        /* 2. */
        r->user = snap_find_user(s, user);
        if (r->user == SNAP_NONE)
                return deny(r, CR_REASON_NO_SUCH_USER, "no callrole user '%s'", user);
        su = snap_users(s, r->user);
        /* 3. */
        if (!su->enabled)
                return deny(r, CR_REASON_DISABLED, "user '%s' is disabled", user);
        /* 4. Among the memberships the viewer sees: a membership it may not
         * see neither makes the account ambiguous nor shows in the list. */
        if (isempty(account)) {
                uint32_t n = 0, only = SNAP_NONE;
                for (uint32_t i = 0; i < su->n_memberships; i++)
                        if (shown(s, v, su->first_membership + i)) {
                                only = su->first_membership + i;
                                n++;
                        }
                if (n == 1) {
                        r->account = snap_memberships(s, only)->account;
                        r->account_name = account_name(s, r->account);
                } else if (n > 1) {
                        Str o = {};
                        _cleanup_free_ char *list = NULL;
                        for (uint32_t i = 0, k = 0; i < su->n_memberships; i++) {
                                uint32_t m = su->first_membership + i;
                                if (shown(s, v, m))
                                        str_addf(&o, "%s%s", k++ ? ", " : "",
                                                 account_name(s, snap_memberships(s, m)->account));
                        }
                        list = str_take(&o);
                        if (!list)
                                return -ENOMEM;
                        return fail(ret_error, -ENOTUNIQ, "user '%s' belongs to accounts %s: say which with --account",
                                    user, list);
                } else {
                        /* No membership at all (a viewer that does not see
                         * everything never gets here: see gate_query()). */
                        r->account_name = "default";
                        r->account = snap_find_account(s, "default");
                }
        } else
                r->account = account_index;   /* found by resolve_arguments() */

        /* 5. */
        if (r->account != SNAP_NONE)
                r->membership = membership_applying(s, r->user, r->account);
        if (r->membership == SNAP_NONE)
                return deny(r, CR_REASON_NO_MEMBERSHIP, "user '%s' has no role in account '%s'", user,
                            r->account_name);
        r->role = snap_memberships(s, r->membership)->role;

        /* 6. */
        pname = permission_name(s, r->permission);
        if (!snap_bit(s, snap_roles(s, r->role)->bits, r->permission))
                return deny(r, CR_REASON_NOT_GRANTED, "role '%s' does not grant %s", role_title(s, r->role), pname);
        if (!membership_grants(s, r->membership, r->permission)) {
                const SnapMembership *m = snap_memberships(s, r->membership);
                Str o = {};
                _cleanup_free_ char *only = NULL;
                if (lean)
                        return deny(r, CR_REASON_NOT_GRANTED, "-");
                str_list(&o, s, m->only, ", ");
                only = str_take(&o);
                if (!only)
                        return -ENOMEM;
                return deny(r, CR_REASON_NOT_GRANTED,
                            "role '%s' grants %s, but user '%s' is limited to %s in account '%s'",
                            role_title(s, r->role), pname, user, only, account_name(s, m->account));
        }
        /* 7. */
        if (snap_bit(s, snap_accounts(s, r->account)->hidden_bits, r->permission)) {
                uint32_t agency = lean ? SNAP_NONE : hiding_agency(s, r->account, r->permission);
                return deny(r, CR_REASON_HIDDEN_BY_AGENCY, "%s is hidden by agency '%s'", pname,
                            agency == SNAP_NONE ? "?" : account_name(s, agency));
        }
        /* 8. */
        if (!snap_bit(s, snap_accounts(s, r->account)->plan_bits, r->permission))
                return deny(r, CR_REASON_NOT_IN_PLAN, "%s is not in plan '%s' of account '%s'", pname,
                            snap_str_or_empty(s, snap_accounts(s, r->account)->eff_plan), r->account_name);
        r->reason = CR_REASON_NONE;
        return 0;
}

/* Step 1: what the caller got wrong, as errors rather than denials.
 * *ret_account: the account named, or SNAP_NONE when none is. */
static int resolve_arguments(const Snapshot *s, const char *permission, const char *account, uint32_t *ret_perm,
                             uint32_t *ret_account, char **ret_error) {
        uint32_t p = snap_find_permission(s, permission), a = SNAP_NONE;

        if (p == SNAP_NONE)
                return fail(ret_error, -ENOENT, "unknown permission '%s': see 'callrolectl permission list'",
                            permission);
        if (!isempty(account) && (a = snap_find_account(s, account)) == SNAP_NONE)
                return fail(ret_error, -ENOENT, "unknown account '%s': see 'callrolectl account list'", account);
        *ret_perm = p;
        *ret_account = a;
        return 0;
}

/* Scope bits that narrow for this membership: acg narrows only when the
 * membership lists access-control groups. */
static uint32_t effective_scopes(const Snapshot *s, const SnapGrant *g, uint32_t m) {
        uint32_t sc = g->scopes;
        if ((sc & SCOPE_ACG) && snap_list_n(s, snap_memberships(s, m)->acg) == 0)
                sc &= ~(uint32_t) SCOPE_ACG;
        return sc;
}

static bool scope_holds(const Snapshot *s, const SnapGrant *g, uint32_t m, const char *user, const Attrs *at) {
        const SnapMembership *sm = snap_memberships(s, m);
        uint32_t sc = effective_scopes(s, g, m);

        if ((sc & SCOPE_ASSIGNED) && at->assignee && !streq(at->assignee, user))
                return false;
        if ((sc & SCOPE_INBOUND) && at->direction && !streq(at->direction, "inbound"))
                return false;
        if ((sc & SCOPE_OUTBOUND) && at->direction && !streq(at->direction, "outbound"))
                return false;
        if ((sc & SCOPE_GROUPS) && at->group && !snap_list_contains(s, sm->groups, at->group))
                return false;
        if ((sc & SCOPE_IVRS) && at->ivr && !snap_list_contains(s, sm->ivrs, at->ivr))
                return false;
        if ((sc & SCOPE_ACG) && at->acg && !snap_list_contains(s, sm->acg, at->acg))
                return false;
        return true;
}

/* "assigned inbound calls and groups sales, support": what a grant limits
 * the user to.  The noun is the permission's area ("calls" of calls.view). */
/* "groups g1, g2" (or "(user 'x' has none)") for a strict set scope;
 * returns true, so the next phrase is joined with "and". */
static bool set_phrase(Str *o, const Snapshot *s, const char *label, uint32_t list, const char *user, bool any) {
        str_addf(o, "%s%s ", any ? " and " : "", label);
        if (snap_list_n(s, list) == 0)
                str_addf(o, "(user '%s' has none)", user);
        str_list(o, s, list, ", ");
        return true;
}

static void scope_phrase(Str *o, const Snapshot *s, const SnapGrant *g, uint32_t m, const char *user) {
        const SnapMembership *sm = snap_memberships(s, m);
        const char *perm = permission_name(s, g->permission), *dot = strchr(perm, '.');
        uint32_t sc = effective_scopes(s, g, m);
        bool any = false;

        if (sc & (SCOPE_ASSIGNED | SCOPE_INBOUND | SCOPE_OUTBOUND)) {
                str_addf(o, "%s%s%s%.*s", sc & SCOPE_ASSIGNED ? "assigned " : "",
                         sc & SCOPE_INBOUND ? "inbound " : "", sc & SCOPE_OUTBOUND ? "outbound " : "",
                         dot ? (int) (dot - perm) : (int) strlen("resources"), dot ? perm : "resources");
                any = true;
        }
        if (sc & SCOPE_GROUPS)
                any = set_phrase(o, s, "groups", sm->groups, user, any);
        if (sc & SCOPE_IVRS)
                any = set_phrase(o, s, "IVRs", sm->ivrs, user, any);
        if (sc & SCOPE_ACG) {
                str_addf(o, "%saccess-control groups ", any ? " and " : "");
                str_list(o, s, sm->acg, ", ");
        }
}

static void cond_phrase(Str *o, const Snapshot *s, const SnapGrant *g, const char *account) {
        if (g->cond == COND_NO_ROLE)
                str_addf(o, "no '%s' in account '%s'", snap_name(s, g->cond_key), account);
        else if (g->cond == COND_ACCOUNT_ATTR)
                str_addf(o, "account attribute %s=%s in account '%s'", snap_name(s, g->cond_key),
                         snap_name(s, g->cond_value), account);
}

static int decision_make(struct cr_decision *ret, bool allowed, int reason, const char *role, const char *account,
                         char *detail) {
        struct cr_decision d = {
                .allowed = allowed,
                .reason = (uint8_t) reason,
                .role = strdup(role ? role : ""),
                .account = strdup(account ? account : ""),
                .detail = detail,
        };
        if (!d.role || !d.account || !d.detail) {
                cr_decision_clear(&d);
                return -ENOMEM;
        }
        text_truncate(d.detail);
        *ret = d;
        return 0;
}

/* What check and scope do first: who is asking about whom (and may they),
 * and the permission and account the question names. */
static int query_begin(const Snapshot *s, const Peer *peer, const char *user, const char *permission,
                       const char *account, Viewer *ret_v, uint32_t *ret_perm, uint32_t *ret_account,
                       char **ret_error) {
        Viewer v = viewer_about(s, peer, user);
        int k = gate_query(s, &v, peer, user, account, ret_error);
        if (k < 0)
                return k;
        k = resolve_arguments(s, permission, account, ret_perm, ret_account, ret_error);
        if (k < 0)
                return k;
        *ret_v = v;
        return 0;
}

/* A check; lean: only allowed and reason are wanted (*ret_lean, no
 * strings), so no detail is ever formatted.  Batches are answered so. */
static int check(const Snapshot *s, const Peer *peer, const char *user, const char *permission, const char *account,
                 const char *const *keys, const char *const *values, size_t n_attrs, bool lean,
                 struct cr_decision *ret, struct cr_decision *ret_lean, char **ret_error) {
        Resolved r = {};
        Attrs at = {};
        const SnapRole *role;
        uint32_t chosen = SNAP_NONE, perm, acc;
        bool scope_failed = false;
        Viewer v;
        Str o = {};
        int k;

        k = query_begin(s, peer, user, permission, account, &v, &perm, &acc, ret_error);
        if (k < 0)
                return k;
        k = parse_attrs(keys, values, n_attrs, &at, ret_error);
        if (k < 0)
                return k;
        k = resolve(s, &v, user, perm, account, acc, lean, &r, ret_error);
        if (k < 0)
                goto finish;
        if (r.reason != CR_REASON_NONE) {
                if (lean) {
                        *ret_lean = (struct cr_decision) { .reason = (uint8_t) r.reason };
                        goto finish;
                }
                k = decision_make(ret, false, r.reason, r.role == SNAP_NONE ? "" : role_id(s, r.role),
                                  r.account_name, TAKE_PTR(r.detail));
                goto finish;
        }

        /* 9. Grants are alternatives.  Prefer one that does not narrow, so
         * the answer carries no needless "limited to". */
        role = snap_roles(s, r.role);
        for (uint32_t i = 0; i < role->n_grants; i++) {
                const SnapGrant *g = snap_grants(s, role->first_grant + i);
                if (g->permission != perm || !cond_holds(s, g, r.account))
                        continue;
                if (!scope_holds(s, g, r.membership, user, &at)) {
                        scope_failed = true;
                        continue;
                }
                if (chosen == SNAP_NONE || effective_scopes(s, g, r.membership) == 0)
                        chosen = role->first_grant + i;
                if (effective_scopes(s, g, r.membership) == 0)
                        break;
        }
        if (lean) {
                *ret_lean = (struct cr_decision) {
                        .allowed = chosen != SNAP_NONE,
                        .reason = chosen != SNAP_NONE ? CR_REASON_NONE
                                  : scope_failed      ? CR_REASON_OUT_OF_SCOPE
                                                      : CR_REASON_CONDITION_FAILED,
                };
                goto finish;
        }
        if (chosen != SNAP_NONE) {
                const SnapGrant *g = snap_grants(s, chosen);
                if (effective_scopes(s, g, r.membership) != 0) {
                        str_addf(&o, "limited to ");
                        scope_phrase(&o, s, g, r.membership, user);
                }
                k = decision_make(ret, true, CR_REASON_NONE, role_id(s, r.role), r.account_name, str_take(&o));
                goto finish;
        }

        /* Denied: out of scope if some grant's condition held (its scope
         * is what failed), else every grant failed its condition. */
        str_addf(&o, "%s %s ", permission, scope_failed ? "is limited to" : "needs");
        for (uint32_t i = 0, n = 0; i < role->n_grants; i++) {
                const SnapGrant *g = snap_grants(s, role->first_grant + i);
                bool held;
                if (g->permission != perm)
                        continue;
                held = cond_holds(s, g, r.account);
                if (scope_failed != held)
                        continue;
                str_addf(&o, "%s", n++ ? " or " : "");
                if (scope_failed)
                        scope_phrase(&o, s, g, r.membership, user);
                else
                        cond_phrase(&o, s, g, r.account_name);
        }
        k = decision_make(ret, false, scope_failed ? CR_REASON_OUT_OF_SCOPE : CR_REASON_CONDITION_FAILED,
                          role_id(s, r.role), r.account_name, str_take(&o));
finish:
        str_done(&o);
        resolved_done(&r);
        return k;
}

int policy_check(const Snapshot *s, const Peer *peer, const char *user, const char *permission,
                 const char *account, const char *const *keys, const char *const *values, size_t n_attrs,
                 struct cr_decision *ret, char **ret_error) {
        if (!s || !peer || !user || !permission || !ret || (n_attrs > 0 && (!keys || !values)))
                return -EINVAL;
        return check(s, peer, user, permission, account, keys, values, n_attrs, false, ret, NULL, ret_error);
}

/* A batch's users are found in three sweeps, each starting the memory
 * loads the next one needs for every user at once (__builtin_prefetch):
 * the hash slots, then the users the slots name, then their names and
 * first memberships.  With a large policy each of those is a cache miss;
 * looked up one check after another they are waited for one by one, here
 * they overlap.  Only a hint: nothing is decided from what is read. */
void policy_prefetch_users(const Snapshot *s, const char *const *users, size_t n) {
        enum { CHUNK = 64 };
        uint32_t slot[CHUNK];

        if (!s || !users)
                return;
        for (size_t base = 0; base < n; base += CHUNK) {
                size_t m = n - base < CHUNK ? n - base : CHUNK;
                const uint32_t *slots = snap_u32(s, s->user_hash);
                uint32_t mask = s->user_hash_size - 1;

                for (size_t i = 0; i < m; i++) {
                        slot[i] = users[base + i] ? snap_hash_str(users[base + i]) & mask : SNAP_NONE;
                        if (slot[i] != SNAP_NONE)
                                __builtin_prefetch(&slots[slot[i]]);
                }
                for (size_t i = 0; i < m; i++) {
                        uint32_t u = slot[i] == SNAP_NONE ? SNAP_NONE : slots[slot[i]];
                        slot[i] = u == SNAP_TOMB ? SNAP_NONE : u;
                        if (slot[i] != SNAP_NONE)
                                __builtin_prefetch(snap_users(s, slot[i]));
                }
                for (size_t i = 0; i < m; i++)
                        if (slot[i] != SNAP_NONE) {
                                const SnapUser *su = snap_users(s, slot[i]);
                                __builtin_prefetch(snap_name(s, su->name));
                                if (su->n_memberships > 0)
                                        __builtin_prefetch(snap_memberships(s, su->first_membership));
                        }
        }
}

int policy_check_lean(const Snapshot *s, const Peer *peer, const char *user, const char *permission,
                      const char *account, const char *const *keys, const char *const *values, size_t n_attrs,
                      bool *ret_allowed, uint8_t *ret_reason, char **ret_error) {
        struct cr_decision d = {};
        int k;

        if (!s || !peer || !user || !permission || !ret_allowed || !ret_reason || (n_attrs > 0 && (!keys || !values)))
                return -EINVAL;
        k = check(s, peer, user, permission, account, keys, values, n_attrs, true, NULL, &d, ret_error);
        if (k < 0)
                return k;
        *ret_allowed = d.allowed;
        *ret_reason = d.reason;
        return 0;
}

static int record_add_list(struct cr_record *rec, const char *key, const Snapshot *s, uint32_t list) {
        int k = cr_record_add_empty(rec, key);
        for (uint32_t i = 0; k >= 0 && i < snap_list_n(s, list); i++)
                k = cr_record_add(rec, key, snap_list_str(s, list, i));
        return k;
}

static struct cr_record *records_append(struct cr_records *l) {
        return l->n >= CR_RECORDS_MAX ? NULL : cr_records_append(l);
}

static int records_append_error(const struct cr_records *l) {
        return l->n >= CR_RECORDS_MAX ? -E2BIG : -ENOMEM;
}

int policy_scope(const Snapshot *s, const Peer *peer, const char *user, const char *permission,
                 const char *account, struct cr_records *ret, char **ret_error) {
        struct cr_records out = {};
        Resolved r = {};
        const SnapRole *role;
        uint32_t perm, acc;
        Viewer v;
        int k;

        if (!s || !peer || !user || !permission || !ret)
                return -EINVAL;
        k = query_begin(s, peer, user, permission, account, &v, &perm, &acc, ret_error);
        if (k < 0)
                return k;
        k = resolve(s, &v, user, perm, account, acc, false, &r, ret_error);
        resolved_done(&r);
        if (k < 0)
                return k;
        if (r.reason != CR_REASON_NONE)
                return 0;

        /* One record per grant whose condition holds; each scope bit becomes
         * a field listing the values the resource may have. */
        role = snap_roles(s, r.role);
        for (uint32_t i = 0; i < role->n_grants; i++) {
                const SnapGrant *g = snap_grants(s, role->first_grant + i);
                const SnapMembership *m = snap_memberships(s, r.membership);
                uint32_t sc = effective_scopes(s, g, r.membership);
                struct cr_record *rec;

                if (g->permission != perm || !cond_holds(s, g, r.account))
                        continue;
                rec = records_append(&out);
                if (!rec) {
                        k = records_append_error(&out);
                        goto fail;
                }
                k = 0;
                if (sc & SCOPE_ASSIGNED)
                        k = cr_record_add(rec, "assignee", user);
                if (k >= 0 && (sc & (SCOPE_INBOUND | SCOPE_OUTBOUND))) {
                        /* Both bits can never hold at once: an empty list. */
                        k = cr_record_add_empty(rec, "direction");
                        if (k >= 0 && (sc & (SCOPE_INBOUND | SCOPE_OUTBOUND)) != (SCOPE_INBOUND | SCOPE_OUTBOUND))
                                k = cr_record_add(rec, "direction", sc & SCOPE_INBOUND ? "inbound" : "outbound");
                }
                if (k >= 0 && (sc & SCOPE_GROUPS))
                        k = record_add_list(rec, "group", s, m->groups);
                if (k >= 0 && (sc & SCOPE_IVRS))
                        k = record_add_list(rec, "ivr", s, m->ivrs);
                if (k >= 0 && (sc & SCOPE_ACG))
                        k = record_add_list(rec, "acg", s, m->acg);
                if (k < 0)
                        goto fail;
        }
        for (size_t i = 0; i < out.n; i++) {
                struct cr_record *rec = records_append(ret);
                if (!rec) {
                        k = records_append_error(ret);
                        goto fail;
                }
                *rec = out.items[i];
                out.items[i] = (struct cr_record) {};
        }
        k = out.n > 0;
fail:
        cr_records_clear(&out);
        return k;
}

/* ---- records ------------------------------------------------------------ */

/* user.get / user.list record: m is a membership or SNAP_NONE for a user
 * with none (account and role empty). */
static int add_user_record(const Snapshot *s, struct cr_records *ret, uint32_t u, uint32_t m) {
        const SnapUser *su = snap_users(s, u);
        struct cr_record *rec = records_append(ret);
        int k;

        if (!rec)
                return records_append_error(ret);
        if ((k = cr_record_add(rec, "name", user_name(s, u))) < 0 ||
            (k = cr_record_add(rec, "display-name", snap_str_or_empty(s, su->display_name))) < 0 ||
            (k = cr_record_add(rec, "enabled", su->enabled ? "yes" : "no")) < 0)
                return k;
        if (m == SNAP_NONE) {
                static const char *const empty_scalar[] = { "account", "role", "role-title", "rank" };
                static const char *const empty_list[] = { "groups", "ivrs", "acg", "only", "notify" };
                for (size_t i = 0; i < ELEMENTSOF(empty_scalar); i++)
                        if ((k = cr_record_add(rec, empty_scalar[i], "")) < 0)
                                return k;
                for (size_t i = 0; i < ELEMENTSOF(empty_list); i++)
                        if ((k = cr_record_add_empty(rec, empty_list[i])) < 0)
                                return k;
                return 0;
        } else {
                const SnapMembership *sm = snap_memberships(s, m);
                if ((k = cr_record_add(rec, "account", account_name(s, sm->account))) < 0 ||
                    (k = cr_record_add(rec, "role", role_id(s, sm->role))) < 0 ||
                    (k = cr_record_add(rec, "role-title", role_title(s, sm->role))) < 0 ||
                    (k = cr_record_addf(rec, "rank", "%" PRId64, snap_roles(s, sm->role)->rank)) < 0 ||
                    (k = record_add_list(rec, "groups", s, sm->groups)) < 0 ||
                    (k = record_add_list(rec, "ivrs", s, sm->ivrs)) < 0 ||
                    (k = record_add_list(rec, "acg", s, sm->acg)) < 0 ||
                    (k = record_add_list(rec, "only", s, sm->only)) < 0 ||
                    (k = record_add_list(rec, "notify", s, sm->notify)) < 0)
                        return k;
        }
        return 0;
}

int policy_user_records(const Snapshot *s, const Peer *peer, const char *user, struct cr_records *ret,
                        char **ret_error) {
        Viewer v;
        const SnapUser *su;
        uint32_t u;
        bool all;
        int k;

        if (!s || !peer || !ret || isempty(user))
                return -EINVAL;
        u = snap_find_user(s, user);
        v = viewer_of(s, peer);
        /* A user the peer may not see is exactly like one that does not
         * exist: same error, same message. */
        if (u == SNAP_NONE || !viewer_sees(s, &v, peer, u))
                return fail(ret_error, -ENOENT, "unknown user '%s'", user);
        su = snap_users(s, u);
        if (su->n_memberships == 0)
                return add_user_record(s, ret, u, SNAP_NONE);
        all = viewer_sees_all_of(s, &v, peer, u);
        for (uint32_t i = 0; i < su->n_memberships; i++) {
                uint32_t m = su->first_membership + i;
                if (!all && !membership_visible(s, v.user, m, v.users_view))
                        continue;
                k = add_user_record(s, ret, u, m);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Users in name order.  The compiled table is sorted; users patches added
 * since (snapshot-layout.h, "Patches") are sorted here and merged in, and
 * users patches deleted are skipped. */
typedef struct UserOrder {
        uint32_t table;                 /* next index in the compiled table */
        uint32_t *extra;                /* the added users, sorted */
        uint32_t n_extra, next_extra;
} UserOrder;

static int extra_cmp(const void *a, const void *b, void *userdata) {
        const Snapshot *s = userdata;
        return strcmp(user_name(s, *(const uint32_t *) a), user_name(s, *(const uint32_t *) b));
}

/* First index in [lo, hi) of a name-sorted sequence whose name sorts after
 * `after`. */
static uint32_t first_after(const Snapshot *s, const uint32_t *order, uint32_t lo, uint32_t hi, const char *after) {
        while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (strcmp(user_name(s, order ? order[mid] : mid), after) <= 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static int user_order_begin(const Snapshot *s, const char *after, UserOrder *ret) {
        UserOrder o = {};

        if (s->n_extra_users > 0) {
                o.extra = malloc(s->n_extra_users * sizeof(uint32_t));
                if (!o.extra)
                        return -ENOMEM;
                for (uint32_t i = 0; i < s->n_extra_users; i++) {
                        uint32_t u = snap_u32(s, s->extra_users)[i];
                        if (!(snap_users(s, u)->flags & SNAP_USER_DELETED))
                                o.extra[o.n_extra++] = u;
                }
                qsort_r(o.extra, o.n_extra, sizeof(uint32_t), extra_cmp, (void *) s);
        }
        if (!isempty(after)) {
                o.table = first_after(s, NULL, 0, s->n_users, after);
                o.next_extra = first_after(s, o.extra, 0, o.n_extra, after);
        }
        *ret = o;
        return 0;
}

static uint32_t user_order_next(const Snapshot *s, UserOrder *o) {
        while (o->table < s->n_users && (snap_users(s, o->table)->flags & SNAP_USER_DELETED))
                o->table++;
        if (o->table < s->n_users &&
            (o->next_extra >= o->n_extra ||
             strcmp(user_name(s, o->table), user_name(s, o->extra[o->next_extra])) < 0))
                return o->table++;
        if (o->next_extra < o->n_extra)
                return o->extra[o->next_extra++];
        return SNAP_NONE;
}

static void user_order_done(UserOrder *o) {
        free(o->extra);
        *o = (UserOrder) {};
}

/* Is there a role of that id the viewer sees (usable in account, if given)? */
static bool role_id_exists(const Snapshot *s, const Viewer *v, const char *id, uint32_t account) {
        for (uint32_t r = 0; r < s->n_roles; r++)
                if (streq(role_id(s, r), id) &&
                    (account == SNAP_NONE || account_is_under(s, account, snap_roles(s, r)->account)) &&
                    role_visible(s, v, r))
                        return true;
        return false;
}

int policy_user_list(const Snapshot *s, const Peer *peer, const char *role, const char *account,
                     const char *after, size_t limit, struct cr_records *ret, char **ret_error) {
        uint32_t a = SNAP_NONE;
        size_t users = 0;
        Viewer v;

        if (!s || !peer || !ret)
                return -EINVAL;
        v = viewer_of(s, peer);
        /* Accounts and roles the peer may not see are unknown to it. */
        if (!isempty(account)) {
                a = snap_find_account(s, account);
                if (a == SNAP_NONE || !account_visible(s, &v, a))
                        return fail(ret_error, -ENOENT, "unknown account '%s': see 'callrolectl account list'",
                                    account);
        }
        if (!isempty(role) && !role_id_exists(s, &v, role, a))
                return fail(ret_error, -ENOENT, "unknown role '%s'%s%s%s: see 'callrolectl role list'", role,
                            a != SNAP_NONE ? " in account '" : "", a != SNAP_NONE ? account : "",
                            a != SNAP_NONE ? "' or its agencies" : "");
        if (limit == 0)
                limit = CR_PAGE_DEFAULT;

        _cleanup_(user_order_done) UserOrder order = {};
        int r = user_order_begin(s, after, &order);
        if (r < 0)
                return r;
        for (uint32_t u; users < limit && (u = user_order_next(s, &order)) != SNAP_NONE;) {
                const SnapUser *su = snap_users(s, u);
                bool all = viewer_sees_all_of(s, &v, peer, u), listed = false;

                if (su->n_memberships == 0) {
                        if (all && isempty(role) && a == SNAP_NONE) {
                                int k = add_user_record(s, ret, u, SNAP_NONE);
                                if (k < 0)
                                        return k;
                                users++;
                        }
                        continue;
                }
                for (uint32_t i = 0; i < su->n_memberships; i++) {
                        uint32_t m = su->first_membership + i;
                        const SnapMembership *sm = snap_memberships(s, m);
                        int k;

                        if (a != SNAP_NONE && sm->account != a)
                                continue;
                        if (!isempty(role) && !streq(role_id(s, sm->role), role))
                                continue;
                        if (!all && !membership_visible(s, v.user, m, v.users_view))
                                continue;
                        k = add_user_record(s, ret, u, m);
                        if (k < 0)
                                return k;
                        listed = true;
                }
                users += listed;
        }
        return 0;
}

static int add_role_record(const Snapshot *s, struct cr_records *ret, uint32_t r) {
        const SnapRole *sr = snap_roles(s, r);
        struct cr_record *rec = records_append(ret);
        int k;

        if (!rec)
                return records_append_error(ret);
        if ((k = cr_record_add(rec, "account", account_name(s, sr->account))) < 0 ||
            (k = cr_record_add(rec, "role", role_id(s, r))) < 0 ||
            (k = cr_record_add(rec, "title", role_title(s, r))) < 0 ||
            (k = cr_record_addf(rec, "rank", "%" PRId64, sr->rank)) < 0 ||
            (k = cr_record_add(rec, "agency-only", sr->flags & SNAP_ROLE_AGENCY_ONLY ? "yes" : "no")) < 0 ||
            (k = cr_record_add_empty(rec, "grants")) < 0)
                return k;
        for (uint32_t i = 0; i < sr->n_grants; i++)
                if ((k = cr_record_add(rec, "grants", snap_name(s, snap_grants(s, sr->first_grant + i)->text))) < 0)
                        return k;
        return 0;
}

/* role.get without an account: the one role of that id the viewer sees,
 * wherever it is. */
static int find_role_anywhere(const Snapshot *s, const Viewer *v, const char *id, uint32_t *ret, char **ret_error) {
        uint32_t found = SNAP_NONE, n = 0;
        Str o = {};
        _cleanup_free_ char *list = NULL;

        for (uint32_t r = 0; r < s->n_roles; r++)
                if (streq(role_id(s, r), id) && role_visible(s, v, r)) {
                        str_addf(&o, "%s%s", n++ ? ", " : "", account_name(s, snap_roles(s, r)->account));
                        found = r;
                }
        list = str_take(&o);
        if (!list)
                return -ENOMEM;
        if (n == 0)
                return fail(ret_error, -ENOENT, "unknown role '%s': see 'callrolectl role list'", id);
        if (n > 1)
                return fail(ret_error, -ENOTUNIQ, "role '%s' exists in accounts %s: say which with --account", id,
                            list);
        *ret = found;
        return 0;
}

int policy_role_records(const Snapshot *s, const Peer *peer, const char *account, const char *role,
                        struct cr_records *ret, char **ret_error) {
        uint32_t a = SNAP_NONE, r = SNAP_NONE;
        Viewer v;
        int k;

        if (!s || !peer || !ret)
                return -EINVAL;
        k = need_reader(s, peer, "roles", &v, ret_error);
        if (k < 0)
                return k;
        /* What the peer may not see is unknown to it, with the very words
         * used for what does not exist. */
        if (!isempty(account)) {
                a = snap_find_account(s, account);
                if (a == SNAP_NONE || !account_visible(s, &v, a))
                        return fail(ret_error, -ENOENT, "unknown account '%s': see 'callrolectl account list'",
                                    account);
        }
        if (role) {
                if (a != SNAP_NONE) {
                        r = role_in_chain(s, a, role);
                        if (r == SNAP_NONE || !role_visible(s, &v, r))
                                return fail(ret_error, -ENOENT, "unknown role '%s' in account '%s' or its agencies",
                                            role, account);
                } else {
                        k = find_role_anywhere(s, &v, role, &r, ret_error);
                        if (k < 0)
                                return k;
                }
                return add_role_record(s, ret, r);
        }
        /* The roles usable in the account: its own and its agencies'. */
        for (r = 0; r < s->n_roles; r++) {
                if (a != SNAP_NONE && !account_is_under(s, a, snap_roles(s, r)->account))
                        continue;
                if (!role_visible(s, &v, r))
                        continue;
                k = add_role_record(s, ret, r);
                if (k < 0)
                        return k;
        }
        return 0;
}

int policy_permission_records(const Snapshot *s, struct cr_records *ret) {
        if (!s || !ret)
                return -EINVAL;
        for (uint32_t p = 0; p < s->n_permissions; p++) {
                const SnapPermission *sp = snap_permissions(s, p);
                struct cr_record *rec = records_append(ret);
                int k;

                if (!rec)
                        return records_append_error(ret);
                if ((k = cr_record_add(rec, "name", permission_name(s, p))) < 0 ||
                    (k = cr_record_add(rec, "description", snap_str_or_empty(s, sp->description))) < 0 ||
                    (k = cr_record_add(rec, "builtin", sp->builtin ? "yes" : "no")) < 0)
                        return k;
        }
        return 0;
}

int policy_account_records(const Snapshot *s, const Peer *peer, struct cr_records *ret, char **ret_error) {
        Viewer v;
        int k;

        if (!s || !peer || !ret)
                return -EINVAL;
        k = need_reader(s, peer, "accounts", &v, ret_error);
        if (k < 0)
                return k;
        for (uint32_t a = 0; a < s->n_accounts; a++) {
                const SnapAccount *sa = snap_accounts(s, a);
                struct cr_record *rec;

                if (!account_visible(s, &v, a))
                        continue;
                rec = records_append(ret);
                if (!rec)
                        return records_append_error(ret);
                if ((k = cr_record_add(rec, "name", account_name(s, a))) < 0 ||
                    (k = cr_record_add(rec, "parent", sa->parent == SNAP_NONE ? "" : account_name(s, sa->parent))) < 0 ||
                    (k = cr_record_add(rec, "plan", snap_str_or_empty(s, sa->plan))) < 0 ||
                    (k = cr_record_addf(rec, "seats", "%" PRId64, sa->seats)) < 0 ||
                    (k = cr_record_addf(rec, "users", "%" PRIu32, sa->n_members)) < 0 ||
                    (k = record_add_list(rec, "hidden", s, sa->hidden)) < 0 ||
                    (k = record_add_list(rec, "attrs", s, sa->attrs)) < 0 ||
                    (k = cr_record_add(rec, "agency", sa->flags & SNAP_ACCOUNT_AGENCY ? "yes" : "no")) < 0 ||
                    (k = cr_record_add_empty(rec, "notifications")) < 0)
                        return k;
                for (uint32_t i = 0; i < sa->n_notifications; i++) {
                        const SnapNotification *sn = snap_notifications(s, sa->first_notification + i);
                        if ((k = cr_record_addf(rec, "notifications", "%s=%s", snap_name(s, sn->name),
                                                permission_name(s, sn->permission))) < 0)
                                return k;
                }
        }
        return 0;
}

/* One row of an export: every field import takes back, so export | import
 * loses nothing.  notify lists the notifications switched on by name, which
 * is what user.add reads as "switch on"; only lists the patterns.  Every
 * list comes sorted from the store, so two exports of one model are the
 * same bytes, whatever order the lists were first given in. */
static int add_export_record(const Snapshot *s, struct cr_records *ret, uint32_t u, uint32_t m) {
        const SnapUser *su = snap_users(s, u);
        const SnapMembership *sm = m == SNAP_NONE ? NULL : snap_memberships(s, m);
        struct cr_record *rec = records_append(ret);
        int k;

        if (!rec)
                return records_append_error(ret);
        if ((k = cr_record_add(rec, "name", user_name(s, u))) < 0 ||
            (k = cr_record_add(rec, "display-name", snap_str_or_empty(s, su->display_name))) < 0 ||
            (k = cr_record_add(rec, "enabled", su->enabled ? "yes" : "no")) < 0 ||
            (k = cr_record_add(rec, "account", sm ? account_name(s, sm->account) : "")) < 0 ||
            (k = cr_record_add(rec, "role", sm ? role_id(s, sm->role) : "")) < 0 ||
            (k = record_add_list(rec, "groups", s, sm ? sm->groups : s->empty_list)) < 0 ||
            (k = record_add_list(rec, "ivrs", s, sm ? sm->ivrs : s->empty_list)) < 0 ||
            (k = record_add_list(rec, "acg", s, sm ? sm->acg : s->empty_list)) < 0 ||
            (k = record_add_list(rec, "notify", s, sm ? sm->notify : s->empty_list)) < 0 ||
            (k = record_add_list(rec, "only", s, sm ? sm->only : s->empty_list)) < 0)
                return k;
        return 0;
}

int policy_export_records(const Snapshot *s, const char *account, struct cr_records *ret, char **ret_error) {
        uint32_t a = SNAP_NONE;

        if (!s || !ret)
                return -EINVAL;
        if (!isempty(account)) {
                a = snap_find_account(s, account);
                if (a == SNAP_NONE)
                        return fail(ret_error, -ENOENT, "unknown account '%s': see 'callrolectl account list'",
                                    account);
        }
        _cleanup_(user_order_done) UserOrder order = {};
        int r = user_order_begin(s, NULL, &order);
        if (r < 0)
                return r;
        for (uint32_t u; (u = user_order_next(s, &order)) != SNAP_NONE;) {
                const SnapUser *su = snap_users(s, u);
                int k;

                if (su->n_memberships == 0 && a == SNAP_NONE) {
                        k = add_export_record(s, ret, u, SNAP_NONE);
                        if (k < 0)
                                return k;
                }
                for (uint32_t i = 0; i < su->n_memberships; i++) {
                        uint32_t m = su->first_membership + i;
                        if (a != SNAP_NONE && snap_memberships(s, m)->account != a)
                                continue;
                        k = add_export_record(s, ret, u, m);
                        if (k < 0)
                                return k;
                }
        }
        return 0;
}

/* ---- authorising changes ------------------------------------------------ */

static const char *param(const struct cr_record *p, const char *key) {
        return cr_record_get(p, key);
}

static bool has_param(const struct cr_record *p, const char *key) {
        return cr_record_field(p, key) != NULL;
}

static int need_admin(const Peer *peer, int type, char **ret_error) {
        const char *what = cr_msg_type_to_string(type);

        if (peer->admin)
                return 0;
        return fail(ret_error, -EPERM, "only callrole administrators may do %s; uid %u is not one%s%s%s",
                    what ? what : "this", (unsigned) peer->uid, peer->user ? " (acting as '" : "",
                    peer->user ? peer->user : "", peer->user ? "')" : "");
}

static int need_name(const struct cr_record *p, const char *key, const char *what, const char **ret,
                     char **ret_error) {
        const char *v = param(p, key);

        if (isempty(v))
                return fail(ret_error, -EINVAL, "%s: give the %s ('%s')", what, key, key);
        if (name_is_valid(v) < 0)
                return fail(ret_error, -EINVAL, "%s: '%s' is not a valid name (printable ASCII without spaces or "
                            "punctuation, at most %u bytes)", what, v, CR_NAME_MAX);
        *ret = v;
        return 0;
}

static int find_account_param(const Snapshot *s, const char *account, uint32_t *ret, char **ret_error) {
        uint32_t a = snap_find_account(s, account);
        if (a == SNAP_NONE)
                return fail(ret_error, -ENOENT, "unknown account '%s': see 'callrolectl account list'", account);
        *ret = a;
        return 0;
}

static int find_role_param(const Snapshot *s, uint32_t a, const char *role, uint32_t *ret, char **ret_error) {
        uint32_t r = role_in_chain(s, a, role);
        if (r == SNAP_NONE)
                return fail(ret_error, -ENOENT, "unknown role '%s' in account '%s' or its agencies", role,
                            account_name(s, a));
        *ret = r;
        return 0;
}

/* The acting peer, as "alice (Administrator, rank 70)". */
static char *describe_holder(const Snapshot *s, uint32_t u, uint32_t m) {
        char *d;
        if (asprintf(&d, "%s (%s, rank %" PRId64 ")", user_name(s, u), role_title(s, snap_memberships(s, m)->role),
                     membership_rank(s, m)) < 0)
                return NULL;
        return d;
}

/* The peer's role in account a, which must grant perm there (scopes do not
 * matter: managing users is not about a resource). */
static int peer_authority(const Snapshot *s, uint32_t pu, uint32_t a, const char *perm, const char *verb,
                          uint32_t *ret_m, char **ret_error) {
        uint32_t m = membership_applying(s, pu, a);
        _cleanup_free_ char *who = NULL;

        if (m == SNAP_NONE)
                return fail(ret_error, -EPERM, "user '%s' has no role in account '%s' and may not %s users there",
                            user_name(s, pu), account_name(s, a), verb);
        if (membership_holds(s, m, a, snap_find_permission(s, perm))) {
                *ret_m = m;
                return 0;
        }
        who = describe_holder(s, pu, m);
        if (!who)
                return -ENOMEM;
        return fail(ret_error, -EPERM, "%s may not %s users in account '%s': the role does not grant %s there", who,
                    verb, account_name(s, a), perm);
}

/* The refusal for a change that reaches a membership the peer may not
 * see: it names neither that membership's account nor its role. */
static int refuse_hidden(const Snapshot *s, uint32_t pu, uint32_t tu, const char *verb, char **ret_error) {
        return fail(ret_error, -EPERM,
                    "user '%s' may not %s user '%s': only users ranked below you in every account they belong to",
                    user_name(s, pu), verb, user_name(s, tu));
}

/* The peer (membership pm) must outrank target user tu's membership tm
 * (SNAP_NONE: none, nothing to outrank).  tv is the peer's view of tu. */
static int peer_outranks_user(const Snapshot *s, const Viewer *tv, uint32_t pu, uint32_t pm, uint32_t tu, uint32_t tm,
                              const char *verb, char **ret_error) {
        _cleanup_free_ char *who = NULL, *whom = NULL;

        if (tm == SNAP_NONE || membership_rank(s, tm) < membership_rank(s, pm))
                return 0;
        if (!shown(s, tv, tm))
                return refuse_hidden(s, pu, tu, verb, ret_error);
        who = describe_holder(s, pu, pm);
        whom = describe_holder(s, tu, tm);
        if (!who || !whom)
                return -ENOMEM;
        return fail(ret_error, -EPERM, "%s may not %s %s: only users ranked below you", who, verb, whom);
}

/* The role given must rank below the peer's (membership pm).  The refusal
 * names the role's title and rank even when role.get would hide that role
 * from the peer: the peer named it itself, and the products' documented
 * refusals name it (tests/test-profile-*.c: "may not give ... 'Customer
 * Local Admin'"). */
static int peer_outranks_role(const Snapshot *s, uint32_t pu, uint32_t pm, const char *target, uint32_t r,
                              char **ret_error) {
        _cleanup_free_ char *who = NULL;

        if (snap_roles(s, r)->rank < membership_rank(s, pm))
                return 0;
        who = describe_holder(s, pu, pm);
        if (!who)
                return -ENOMEM;
        return fail(ret_error, -EPERM,
                    "%s may not give %s the role '%s' (rank %" PRId64 "): only roles ranked below yours", who, target,
                    role_title(s, r), snap_roles(s, r)->rank);
}

/* A change to the user as a whole (enabled, display name, deletion, a
 * further membership) touches every account the user is in: the peer needs
 * perm and must outrank the user in each, and so must see each.  The
 * memberships it sees are checked first, with messages naming them; one it
 * may not see is refused last and without a name. */
static int peer_may_touch_everywhere(const Snapshot *s, const Viewer *tv, uint32_t pu, uint32_t tu, const char *perm,
                                     const char *verb, char **ret_error) {
        const SnapUser *su = snap_users(s, tu);
        bool hidden = false;

        if (su->n_memberships == 0)
                return fail(ret_error, -EPERM, "user '%s' has no role in any account; only administrators may %s it",
                            user_name(s, tu), verb);
        for (uint32_t i = 0; i < su->n_memberships; i++) {
                uint32_t tm = su->first_membership + i, pm;
                int k;

                if (!shown(s, tv, tm)) {
                        hidden = true;
                        continue;
                }
                k = peer_authority(s, pu, snap_memberships(s, tm)->account, perm, verb, &pm, ret_error);
                if (k < 0)
                        return k;
                k = peer_outranks_user(s, tv, pu, pm, tu, tm, verb, ret_error);
                if (k < 0)
                        return k;
        }
        return hidden ? refuse_hidden(s, pu, tu, verb, ret_error) : 0;
}

static int check_enabled_param(const struct cr_record *p, const char *what, char **ret_error) {
        const char *v = param(p, "enabled");
        if (has_param(p, "enabled") && !streq_ptr(v, "yes") && !streq_ptr(v, "no"))
                return fail(ret_error, -EINVAL, "%s: enabled must be yes or no, not '%s'", what, v ? v : "");
        return 0;
}

/* Seats bind administrators too: they are what the tenant pays for.  This
 * is the friendly refusal of one user.add before anything is applied;
 * policy_validate() catches several additions at once (an import). */
static int seat_free(const Snapshot *s, uint32_t a, char **ret_error) {
        const SnapAccount *sa = snap_accounts(s, a);

        if (sa->seats < 0 || (int64_t) sa->n_members < sa->seats)
                return 0;
        return fail(ret_error, -EDQUOT,
                    "account '%s' has no free seat (%" PRIu32 " of %" PRId64 " used): remove a user from it or raise "
                    "its seats with 'callrolectl account set %s --seats N'",
                    account_name(s, a), sa->n_members, sa->seats, account_name(s, a));
}

/*
 * user.add.  For a peer that is not an administrator, adding a role to a
 * user who exists already changes that user everywhere (a second account
 * makes checks without --account ambiguous, for PAM too), so it needs
 * peer_may_touch_everywhere() on top of the right to add users here.  An
 * existing user the peer may not see only gets "already exists", and a
 * membership of a visible user it may not see is not named.
 */
static int authorize_user_add(const Snapshot *s, const Peer *peer, uint32_t pu, const struct cr_record *p,
                              char **ret_error) {
        const char *name, *role, *account = param(p, "account");
        Viewer tv;
        uint32_t a, r, tu, tm = SNAP_NONE, pm;
        int k;

        if ((k = need_name(p, "name", "user.add", &name, ret_error)) < 0 ||
            (k = need_name(p, "role", "user.add", &role, ret_error)) < 0 ||
            (k = check_enabled_param(p, "user.add", ret_error)) < 0)
                return k;
        if (isempty(account))
                account = "default";
        if ((k = find_account_param(s, account, &a, ret_error)) < 0 ||
            (k = find_role_param(s, a, role, &r, ret_error)) < 0)
                return k;
        tu = snap_find_user(s, name);
        tv = viewer_about(s, peer, name);
        if (tu != SNAP_NONE && !viewer_sees(s, &tv, peer, tu))
                /* Say no more than that the name is taken. */
                return fail(ret_error, -EEXIST, "user '%s' already exists", name);
        if (tu != SNAP_NONE)
                tm = membership_direct(s, tu, a);
        if (tm != SNAP_NONE && shown(s, &tv, tm))
                return fail(ret_error, -EEXIST,
                            "user '%s' already has a role in account '%s': change it with 'callrolectl user set'", name,
                            account);
        if (peer->admin)
                return seat_free(s, a, ret_error);

        k = peer_authority(s, pu, a, "users.create", "add", &pm, ret_error);
        if (k < 0)
                return k;
        k = peer_outranks_role(s, pu, pm, name, r, ret_error);
        if (k < 0)
                return k;
        if (tu != SNAP_NONE) {
                k = peer_may_touch_everywhere(s, &tv, pu, tu, "users.edit", "change", ret_error);
                if (k < 0)
                        return k;
        }
        /* Last, so that only those who may add users to the account learn
         * how full it is. */
        return seat_free(s, a, ret_error);
}

/* The account a membership change is about: the given one, else the user's
 * only one, else default.  tv: the peer's view of the user (all of it, if
 * it is the peer itself).  Accounts it may not see are not listed, but
 * still make the user's account ambiguous: the store resolves a left-out
 * account again, from every membership, and would name them. */
static int user_account(const Snapshot *s, const Viewer *tv, uint32_t tu, const char *account, uint32_t *ret,
                        char **ret_error) {
        const SnapUser *su = snap_users(s, tu);
        uint32_t n_shown = 0;
        Str o = {};
        _cleanup_free_ char *list = NULL;

        if (!isempty(account))
                return find_account_param(s, account, ret, ret_error);
        if (su->n_memberships == 0)
                return find_account_param(s, "default", ret, ret_error);
        for (uint32_t i = 0; i < su->n_memberships; i++) {
                uint32_t m = su->first_membership + i;
                if (!shown(s, tv, m))
                        continue;
                str_addf(&o, "%s%s", n_shown++ ? ", " : "", account_name(s, snap_memberships(s, m)->account));
        }
        list = str_take(&o);
        if (!list)
                return -ENOMEM;
        if (su->n_memberships == 1 && n_shown == 1) {
                *ret = snap_memberships(s, su->first_membership)->account;
                return 0;
        }
        if (n_shown == su->n_memberships)
                return fail(ret_error, -ENOTUNIQ, "user '%s' belongs to accounts %s: say which with --account",
                            user_name(s, tu), list);
        return fail(ret_error, -ENOTUNIQ,
                    "user '%s' belongs to more than one account (those you may see: %s): say which with --account",
                    user_name(s, tu), list);
}

/* The target of user.set/user.delete; one the peer may not see does not
 * exist for it. */
static int find_target_user(const Snapshot *s, const Peer *peer, const char *name, uint32_t *ret, char **ret_error) {
        uint32_t tu = snap_find_user(s, name);
        Viewer tv = viewer_about(s, peer, name);
        if (tu == SNAP_NONE || !viewer_sees(s, &tv, peer, tu))
                return fail(ret_error, -ENOENT, "unknown user '%s'", name);
        *ret = tu;
        return 0;
}

/* The user's own membership in account a as the peer sees it: one it may
 * not see is no membership, so the refusals that follow are those for a
 * user without a role there. */
static uint32_t membership_seen(const Snapshot *s, const Viewer *tv, uint32_t tu, uint32_t a) {
        uint32_t tm = membership_direct(s, tu, a);
        return tm != SNAP_NONE && shown(s, tv, tm) ? tm : SNAP_NONE;
}

static int authorize_user_set(const Snapshot *s, const Peer *peer, uint32_t pu, const struct cr_record *p,
                              char **ret_error) {
        static const char *const membership_keys[] = { "role", "groups", "ivrs", "acg", "only", "notify" };
        const char *name, *role = param(p, "role");
        bool membership_change = false, user_change = has_param(p, "enabled") || has_param(p, "display-name");
        Viewer tv;
        uint32_t tu = SNAP_NONE, a = SNAP_NONE, r = SNAP_NONE, tm = SNAP_NONE, pm = SNAP_NONE;
        int k;

        if ((k = need_name(p, "name", "user.set", &name, ret_error)) < 0 ||
            (k = check_enabled_param(p, "user.set", ret_error)) < 0 ||
            (k = find_target_user(s, peer, name, &tu, ret_error)) < 0)
                return k;
        tv = viewer_about(s, peer, name);
        for (size_t i = 0; i < ELEMENTSOF(membership_keys); i++)
                membership_change = membership_change || has_param(p, membership_keys[i]);
        if (!membership_change && !user_change)
                return fail(ret_error, -EINVAL,
                            "user.set: nothing to change for '%s'; give a role, groups, ivrs, acg, only, notify, "
                            "enabled or display-name", name);
        if (membership_change) {
                if ((k = user_account(s, &tv, tu, param(p, "account"), &a, ret_error)) < 0)
                        return k;
                tm = membership_seen(s, &tv, tu, a);
                if (has_param(p, "role")) {
                        if (isempty(role) || name_is_valid(role) < 0)
                                return fail(ret_error, -EINVAL, "user.set: '%s' is not a valid role name",
                                            role ? role : "");
                        if ((k = find_role_param(s, a, role, &r, ret_error)) < 0)
                                return k;
                } else if (tm == SNAP_NONE)
                        return fail(ret_error, -ENOENT, "user '%s' has no role in account '%s': give one with --role",
                                    name, account_name(s, a));
        } else if (!isempty(param(p, "account")) && (k = find_account_param(s, param(p, "account"), &a, ret_error)) < 0)
                return k;
        if (peer->admin)
                return 0;

        if (membership_change) {
                /* user.set changes a membership, never adds one. */
                if (tm == SNAP_NONE)
                        return fail(ret_error, -ENOENT,
                                    "user '%s' has no role in account '%s': add one with 'callrolectl user add %s "
                                    "--role ROLE --account %s'",
                                    name, account_name(s, a), name, account_name(s, a));
                k = peer_authority(s, pu, a, "users.edit", "change", &pm, ret_error);
                if (k < 0)
                        return k;
                k = peer_outranks_user(s, &tv, pu, pm, tu, tm, "change", ret_error);
                if (k < 0)
                        return k;
                if (r != SNAP_NONE && (k = peer_outranks_role(s, pu, pm, name, r, ret_error)) < 0)
                        return k;
        }
        if (user_change)
                return peer_may_touch_everywhere(s, &tv, pu, tu, "users.edit", "change", ret_error);
        return 0;
}

static int authorize_user_delete(const Snapshot *s, const Peer *peer, uint32_t pu, const struct cr_record *p,
                                 char **ret_error) {
        const char *name, *account = param(p, "account");
        uint32_t tu = SNAP_NONE, a = SNAP_NONE, tm, pm = SNAP_NONE;
        Viewer tv;
        int k;

        if ((k = need_name(p, "name", "user.delete", &name, ret_error)) < 0 ||
            (k = find_target_user(s, peer, name, &tu, ret_error)) < 0)
                return k;
        tv = viewer_about(s, peer, name);
        if (isempty(account))
                /* The whole user goes. */
                return peer->admin ? 0 : peer_may_touch_everywhere(s, &tv, pu, tu, "users.delete", "delete", ret_error);
        if ((k = find_account_param(s, account, &a, ret_error)) < 0)
                return k;
        tm = membership_seen(s, &tv, tu, a);
        if (tm == SNAP_NONE)
                return fail(ret_error, -ENOENT, "user '%s' has no role in account '%s'", name, account);
        if (peer->admin)
                return 0;
        k = peer_authority(s, pu, a, "users.delete", "delete", &pm, ret_error);
        if (k < 0)
                return k;
        return peer_outranks_user(s, &tv, pu, pm, tu, tm, "delete", ret_error);
}

static int authorize_role_add(const Snapshot *s, const struct cr_record *p, char **ret_error) {
        const char *role, *account = param(p, "account"), *rank = param(p, "rank");
        const struct cr_field *grants = cr_record_field(p, "grants");
        uint32_t a;
        char *end = NULL;
        long long v;
        int k;

        if ((k = need_name(p, "role", "role.add", &role, ret_error)) < 0)
                return k;
        if (isempty(account))
                account = "default";
        if ((k = find_account_param(s, account, &a, ret_error)) < 0)
                return k;
        if (snap_find_role(s, a, role) != SNAP_NONE)
                return fail(ret_error, -EEXIST, "role '%s' already exists in account '%s'", role, account);
        if (isempty(rank))
                return fail(ret_error, -EINVAL, "role.add: give the role's rank (an integer; higher outranks lower)");
        errno = 0;
        v = strtoll(rank, &end, 10);
        if (errno != 0 || !end || *end || end == rank)
                return fail(ret_error, -EINVAL, "role.add: rank '%s' is not an integer", rank);
        (void) v;
        if (has_param(p, "agency-only") && !streq_ptr(param(p, "agency-only"), "yes") &&
            !streq_ptr(param(p, "agency-only"), "no"))
                return fail(ret_error, -EINVAL, "role.add: agency-only must be yes or no, not '%s'",
                            param(p, "agency-only") ? param(p, "agency-only") : "");
        for (size_t i = 0; grants && i < grants->n_values; i++) {
                _cleanup_free_ char *err = NULL;
                ModelGrant g = {};
                bool known;

                k = grant_parse(grants->values[i], &g, &err);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        return fail(ret_error, k, "%s", err ? err : "invalid grant");
                known = snap_find_permission(s, g.permission) != SNAP_NONE;
                if (!known)
                        k = fail(ret_error, -ENOENT,
                                 "unknown permission '%s' in grant '%s': add it with 'callrolectl permission add %s'",
                                 g.permission, grants->values[i], g.permission);
                grant_done(&g);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int authorize_role_delete(const Snapshot *s, const struct cr_record *p, char **ret_error) {
        const char *role, *account = param(p, "account");
        uint32_t a, r, held = 0, example = SNAP_NONE;
        int k;

        if ((k = need_name(p, "role", "role.delete", &role, ret_error)) < 0)
                return k;
        if (isempty(account))
                account = "default";
        if ((k = find_account_param(s, account, &a, ret_error)) < 0)
                return k;
        r = snap_find_role(s, a, role);
        if (r == SNAP_NONE)
                return fail(ret_error, -ENOENT, "unknown role '%s' in account '%s'", role, account);
        SNAP_FOREACH_MEMBERSHIP(s, m, pos, i)
                if (snap_memberships(s, m)->role == r) {
                        if (held++ == 0)
                                example = snap_memberships(s, m)->user;
                }
        if (held > 0)
                return fail(ret_error, -EBUSY,
                            "role '%s' in account '%s' is held by %" PRIu32 " user(s), '%s' among them: give them "
                            "another role first", role, account, held, user_name(s, example));
        return 0;
}

int policy_authorize(const Snapshot *s, const Peer *peer, int type, const struct cr_record *params,
                     char **ret_error) {
        uint32_t pu = SNAP_NONE, a;
        const char *name;
        int k;

        if (!s || !peer)
                return -EINVAL;
        if (!peer->admin) {
                if (peer->user)
                        pu = snap_find_user(s, peer->user);
                if (pu == SNAP_NONE)
                        return fail(ret_error, -EPERM,
                                    "uid %u is not a callrole administrator and maps to no callrole user",
                                    (unsigned) peer->uid);
                if (!snap_users(s, pu)->enabled)
                        return fail(ret_error, -EPERM, "callrole user '%s' is disabled and may not change anything",
                                    peer->user);
        }

        switch (type) {
        case CR_MSG_USER_ADD:
                return authorize_user_add(s, peer, pu, params, ret_error);
        case CR_MSG_USER_SET:
                return authorize_user_set(s, peer, pu, params, ret_error);
        case CR_MSG_USER_DELETE:
                return authorize_user_delete(s, peer, pu, params, ret_error);
        case CR_MSG_PERMISSION_ADD:
                if ((k = need_admin(peer, type, ret_error)) < 0 ||
                    (k = need_name(params, "name", "permission.add", &name, ret_error)) < 0)
                        return k;
                if (snap_find_permission(s, name) != SNAP_NONE)
                        return fail(ret_error, -EEXIST, "permission '%s' already exists", name);
                return 0;
        case CR_MSG_ACCOUNT_ADD:
                if ((k = need_admin(peer, type, ret_error)) < 0 ||
                    (k = need_name(params, "name", "account.add", &name, ret_error)) < 0)
                        return k;
                if (snap_find_account(s, name) != SNAP_NONE)
                        return fail(ret_error, -EEXIST, "account '%s' already exists", name);
                if (!isempty(param(params, "parent")) &&
                    (k = find_account_param(s, param(params, "parent"), &a, ret_error)) < 0)
                        return k;
                return 0;
        case CR_MSG_ACCOUNT_SET:
                if ((k = need_admin(peer, type, ret_error)) < 0 ||
                    (k = need_name(params, "name", "account.set", &name, ret_error)) < 0)
                        return k;
                return find_account_param(s, name, &a, ret_error);
        case CR_MSG_PLAN_SET:
                if ((k = need_admin(peer, type, ret_error)) < 0)
                        return k;
                return need_name(params, "name", "plan.set", &name, ret_error);
        case CR_MSG_ROLE_ADD:
                if ((k = need_admin(peer, type, ret_error)) < 0)
                        return k;
                return authorize_role_add(s, params, ret_error);
        case CR_MSG_ROLE_DELETE:
                if ((k = need_admin(peer, type, ret_error)) < 0)
                        return k;
                return authorize_role_delete(s, params, ret_error);
        case CR_MSG_RULE_ADD: {
                const char *account = param(params, "account");
                if ((k = need_admin(peer, type, ret_error)) < 0)
                        return k;
                if (isempty(param(params, "if")) || isempty(param(params, "requires")))
                        return fail(ret_error, -EINVAL, "rule.add: give both 'if' and 'requires' patterns");
                return find_account_param(s, isempty(account) ? "default" : account, &a, ret_error);
        }
        case CR_MSG_IMPORT:
        case CR_MSG_PROFILE_LOAD:
                return need_admin(peer, type, ret_error);
        default:
                return fail(ret_error, -EINVAL, "message type 0x%02x is not a change", (unsigned) type);
        }
}

/* ---- validation --------------------------------------------------------- */

static void bits_matching(const Snapshot *s, uint64_t *bits, const char *pattern) {
        memset(bits, 0, (size_t) s->n_words * sizeof(uint64_t));
        for (uint32_t p = 0; p < s->n_permissions; p++)
                if (fnmatch(pattern, permission_name(s, p), 0) == 0)
                        bits[p / 64] |= UINT64_C(1) << (p % 64);
}

/*
 * Rule "holding a permission matching IF requires holding one matching
 * REQUIRES": a permission never satisfies the rule it triggers, so a role
 * triggered by p needs some q ≠ p.  That makes "reports.view_tab requires
 * reports.*" mean something (view_tab alone is not enough), while the pair
 * "reports.view_tab requires reports.*.view" / "reports.*.view requires
 * reports.view_tab" is satisfied by a role holding both kinds.
 *
 * Returns the first permission of the role that breaks the rule, or
 * SNAP_NONE.
 */
static uint32_t rule_breach(const Snapshot *s, const uint64_t *if_bits, const uint64_t *req_bits, uint32_t r) {
        const uint64_t *held = snap_bits(s, snap_roles(s, r)->bits);
        uint32_t first_trigger = SNAP_NONE, n_req = 0, req = SNAP_NONE;

        for (uint32_t p = 0; p < s->n_permissions; p++) {
                uint64_t bit = UINT64_C(1) << (p % 64);
                if (!(held[p / 64] & bit))
                        continue;
                if ((if_bits[p / 64] & bit) && first_trigger == SNAP_NONE)
                        first_trigger = p;
                if (req_bits[p / 64] & bit) {
                        n_req++;
                        req = p;
                }
        }
        if (first_trigger == SNAP_NONE || n_req >= 2)
                return SNAP_NONE;
        if (n_req == 0)
                return first_trigger;
        /* One candidate: it fails only the trigger that is itself. */
        return (if_bits[req / 64] >> (req % 64)) & 1 ? req : SNAP_NONE;
}

static int validate_rules(const Snapshot *s, char **ret_error) {
        _cleanup_free_ uint64_t *if_bits = NULL, *req_bits = NULL;

        if (s->n_rules == 0)
                return 0;
        if_bits = calloc(s->n_words, sizeof(uint64_t));
        req_bits = calloc(s->n_words, sizeof(uint64_t));
        if (!if_bits || !req_bits)
                return -ENOMEM;
        for (uint32_t i = 0; i < s->n_rules; i++) {
                const SnapRule *rule = snap_rules(s, i);
                const char *ifp = snap_name(s, rule->if_pattern), *reqp = snap_name(s, rule->requires_pattern);

                bits_matching(s, if_bits, ifp);
                bits_matching(s, req_bits, reqp);
                for (uint32_t r = 0; r < s->n_roles; r++) {
                        const SnapRole *sr = snap_roles(s, r);
                        uint32_t p;
                        bool self;

                        if (!account_is_under(s, sr->account, rule->account))
                                continue;
                        p = rule_breach(s, if_bits, req_bits, r);
                        if (p == SNAP_NONE)
                                continue;
                        self = (req_bits[p / 64] >> (p % 64)) & 1;
                        return fail(ret_error, -EINVAL,
                                    "role '%s' in account '%s' holds %s but %s %s: add one (rule of account '%s')",
                                    role_id(s, r), account_name(s, sr->account), permission_name(s, p),
                                    self ? "no other permission matching" : "none of", reqp,
                                    account_name(s, rule->account));
                }
        }
        return 0;
}

/* A membership's role must be of its account or an agency above. */
static int validate_role_account(const Snapshot *s, uint32_t m, char **ret_error) {
        const SnapMembership *sm = snap_memberships(s, m);
        uint32_t ra = snap_roles(s, sm->role)->account;

        if (account_is_under(s, sm->account, ra))
                return 0;
        return fail(ret_error, -EINVAL,
                    "user '%s' has role '%s' of account '%s' in account '%s', which is neither that account nor one "
                    "of its sub-accounts: use a role of '%s' or of its agencies",
                    user_name(s, sm->user), role_id(s, sm->role), account_name(s, ra), account_name(s, sm->account),
                    account_name(s, sm->account));
}

/* An agency-only role is held only in agencies; held there, it applies in
 * every sub-account. */
static int validate_agency_only(const Snapshot *s, uint32_t m, char **ret_error) {
        const SnapMembership *sm = snap_memberships(s, m);

        if (!(snap_roles(s, sm->role)->flags & SNAP_ROLE_AGENCY_ONLY) ||
            (snap_accounts(s, sm->account)->flags & SNAP_ACCOUNT_AGENCY))
                return 0;
        return fail(ret_error, -EINVAL,
                    "role '%s' (%s) exists only in agencies, and account '%s' of user '%s' is not one (it has "
                    "no sub-accounts and no attribute kind=agency): give the role in the agency, where it "
                    "applies to every sub-account, or mark the account with 'callrolectl account set %s "
                    "--attr kind=agency'",
                    role_id(s, sm->role), role_title(s, sm->role), account_name(s, sm->account),
                    user_name(s, sm->user), account_name(s, sm->account));
}

/* A notification switched on must exist where the membership is and its
 * permission must be usable there by the membership: granted, not narrowed
 * away by `only`, not hidden by an agency, in the plan, its condition
 * holding.  So a change that would leave a user with a notification about
 * what they cannot see (a role change, a narrower `only`, an agency hiding
 * the feature) is refused, naming the permission. */
static int validate_notifications(const Snapshot *s, uint32_t m, char **ret_error) {
        const SnapMembership *sm = snap_memberships(s, m);

        for (uint32_t i = 0; i < snap_list_n(s, sm->notify); i++) {
                const char *name = snap_list_str(s, sm->notify, i);
                uint32_t n = notification_find(s, sm->account, name), p;
                _cleanup_free_ char *why = NULL;
                Str o = {};

                if (n == SNAP_NONE)
                        return fail(ret_error, -ENOENT,
                                    "there is no notification '%s' in account '%s' (user '%s'): see the "
                                    "notifications of 'callrolectl account list'",
                                    name, account_name(s, sm->account), user_name(s, sm->user));
                p = snap_notifications(s, n)->permission;
                if (membership_holds(s, m, sm->account, p))
                        continue;
                why_not_held(&o, s, m, sm->account, p);
                why = str_take(&o);
                if (!why)
                        return -ENOMEM;
                return fail(ret_error, -EINVAL,
                            "notification '%s' needs %s, which user '%s' does not have in account '%s' (%s): "
                            "switch it off (--notify %s=off) or give a role that grants %s",
                            name, permission_name(s, p), user_name(s, sm->user), account_name(s, sm->account),
                            why, name, permission_name(s, p));
        }
        return 0;
}

static int validate_membership(const Snapshot *s, uint32_t m, char **ret_error) {
        int k = validate_role_account(s, m, ret_error);
        if (k >= 0)
                k = validate_agency_only(s, m, ret_error);
        if (k >= 0)
                k = validate_notifications(s, m, ret_error);
        return k;
}

static int validate_seats(const Snapshot *s, uint32_t a, char **ret_error) {
        const SnapAccount *sa = snap_accounts(s, a);

        if (sa->seats < 0 || (int64_t) sa->n_members <= sa->seats)
                return 0;
        return fail(ret_error, -EDQUOT,
                    "account '%s' has %" PRId64 " seats and %" PRIu32 " users: remove users or raise the seats with "
                    "'callrolectl account set'",
                    account_name(s, a), sa->seats, sa->n_members);
}

int policy_validate(const Snapshot *s, char **ret_error) {
        int k;

        if (!s)
                return -EINVAL;
        SNAP_FOREACH_MEMBERSHIP(s, m, pos, i) {
                k = validate_role_account(s, m, ret_error);
                if (k < 0)
                        return k;
        }
        k = validate_rules(s, ret_error);
        if (k < 0)
                return k;
        SNAP_FOREACH_MEMBERSHIP(s, m, pos, i) {
                k = validate_agency_only(s, m, ret_error);
                if (k < 0)
                        return k;
        }
        SNAP_FOREACH_MEMBERSHIP(s, m, pos, i) {
                k = validate_notifications(s, m, ret_error);
                if (k < 0)
                        return k;
        }
        for (uint32_t a = 0; a < s->n_accounts; a++) {
                k = validate_seats(s, a, ret_error);
                if (k < 0)
                        return k;
        }
        return 0;
}

int policy_validate_users(const Snapshot *s, char *const *users, bool held_changed, char **ret_error) {
        int k;

        if (!s)
                return -EINVAL;
        /* A role gained or lost its last holder in some account: no-role=
         * conditions may now grant or withhold something from anyone
         * there, whose notifications then need checking again. */
        if (held_changed)
                return policy_validate(s, ret_error);
        for (char *const *name = users; name && *name; name++) {
                uint32_t u = snap_find_user(s, *name);
                const SnapUser *su;
                if (u == SNAP_NONE)
                        continue;
                su = snap_users(s, u);
                for (uint32_t i = 0; i < su->n_memberships; i++) {
                        uint32_t m = su->first_membership + i;
                        if ((k = validate_membership(s, m, ret_error)) < 0 ||
                            (k = validate_seats(s, snap_memberships(s, m)->account, ret_error)) < 0)
                                return k;
                }
        }
        return 0;
}

/* ---- audit descriptions ------------------------------------------------- */

char *policy_describe_user(const Snapshot *s, const char *user) {
        const SnapUser *su;
        uint32_t u;
        Str o = {};

        if (!s || !user)
                return NULL;
        u = snap_find_user(s, user);
        if (u == SNAP_NONE)
                return NULL;
        su = snap_users(s, u);
        str_addf(&o, "%s", user);
        if (su->display_name != SNAP_NONE)
                str_addf(&o, " (%s)", snap_str(s, su->display_name));
        str_addf(&o, " %s", su->enabled ? "enabled" : "disabled");
        for (uint32_t i = 0; i < su->n_memberships; i++) {
                const SnapMembership *sm = snap_memberships(s, su->first_membership + i);
                static const char *const names[] = { "groups", "ivrs", "acg", "only", "notify" };
                uint32_t lists[] = { sm->groups, sm->ivrs, sm->acg, sm->only, sm->notify };
                uint32_t ra = snap_roles(s, sm->role)->account;

                str_addf(&o, "; %s: ", account_name(s, sm->account));
                if (ra != sm->account)
                        str_addf(&o, "%s/", account_name(s, ra));
                str_addf(&o, "%s", role_id(s, sm->role));
                for (size_t j = 0; j < ELEMENTSOF(names); j++) {
                        if (snap_list_n(s, lists[j]) == 0)
                                continue;
                        str_addf(&o, " %s=", names[j]);
                        str_list(&o, s, lists[j], ",");
                }
        }
        return str_take(&o);
}

char *policy_describe_role(const Snapshot *s, const char *account, const char *role) {
        const SnapRole *sr;
        uint32_t a, r;
        Str o = {};

        if (!s || !role)
                return NULL;
        a = snap_find_account(s, isempty(account) ? "default" : account);
        r = snap_find_role(s, a, role);
        if (r == SNAP_NONE)
                return NULL;
        sr = snap_roles(s, r);
        str_addf(&o, "%s (%s) rank %" PRId64 "%s:", role, role_title(s, r), sr->rank,
                 sr->flags & SNAP_ROLE_AGENCY_ONLY ? " agency-only" : "");
        for (uint32_t i = 0; i < sr->n_grants; i++)
                str_addf(&o, "%s%s", i ? ", " : " ", snap_name(s, snap_grants(s, sr->first_grant + i)->text));
        return str_take(&o);
}

bool policy_user_exists(const Snapshot *s, const char *user) {
        return s && user && snap_find_user(s, user) != SNAP_NONE;
}
