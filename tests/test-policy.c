/*
 * test-policy.c: unit tests of the policy engine (daemon/policy.c).
 *
 * One fixture model, shaped after the profiles callrole reproduces, is
 * compiled once: a single-company account `default` (No Access, Call Agent,
 * direction-limited viewers, Supervisor with groups/IVRs/ACGs, Call Manager,
 * Administrator, Owner), an agency `acme` with plan `pro` that hides
 * calls.export from its sub-accounts `sub1` (inherits the plan, customer
 * billing) and `sub2` (plan `basic`), and two CloudTalk-like accounts `ct`
 * (with an Admin Partner, so the admin's billing rights are off) and `ct2`
 * (without).  Each test asks the engine and checks the whole answer: the
 * decision and its reason, role, account and detail; the error and its
 * message; and, for every refusal, that the output was left untouched.
 * Validation tests build small variants of the model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callrole-wire.h"
#include "helper-model.h"
#include "macro.h"
#include "model.h"
#include "policy.h"
#include "snapshot.h"

/* ---- building models ---------------------------------------------------- */

static void add_permission(Model *m, const char *name) {
        ModelPermission *p = TEST_GROW(m->permissions, m->n_permissions);
        p->name = test_strdup(name);
        p->description = test_strdup("a permission");
        p->builtin = true;
}

static ModelAccount *add_account(Model *m, const char *name, const char *parent, const char *plan, int64_t seats,
                                 const char *hidden, const char *attrs) {
        ModelAccount *a = TEST_GROW(m->accounts, m->n_accounts);
        a->name = test_strdup(name);
        a->parent = test_strdup(parent);
        a->plan = test_strdup(plan);
        a->seats = seats;
        a->hidden = test_strv_split(hidden);
        a->attrs = test_strv_split(attrs);
        return a;
}

static void add_plan(Model *m, const char *name, const char *features) {
        ModelPlan *p = TEST_GROW(m->plans, m->n_plans);
        p->name = test_strdup(name);
        p->features = test_strv_split(features);
}

static void add_role(Model *m, const char *account, const char *id, const char *title, int64_t rank,
                     const char *grants) {
        ModelRole *r = TEST_GROW(m->roles, m->n_roles);
        _cleanup_strv_free_ char **l = test_strv_split(grants);

        r->account = test_strdup(account);
        r->id = test_strdup(id);
        r->title = test_strdup(title);
        r->rank = rank;
        for (char **g = l; g && *g; g++) {
                ModelGrant *mg = TEST_GROW(r->grants, r->n_grants);
                _cleanup_free_ char *err = NULL;
                assert_int_equal(grant_parse(*g, mg, &err), 0);
        }
}

static void add_rule(Model *m, const char *account, const char *if_pattern, const char *requires_pattern) {
        ModelRule *r = TEST_GROW(m->rules, m->n_rules);
        r->account = test_strdup(account);
        r->if_pattern = test_strdup(if_pattern);
        r->requires_pattern = test_strdup(requires_pattern);
}

static ModelUser *add_user(Model *m, const char *name, const char *display_name, bool enabled) {
        ModelUser *u = TEST_GROW(m->users, m->n_users);
        u->name = test_strdup(name);
        u->display_name = test_strdup(display_name);
        u->enabled = enabled;
        return u;
}

static ModelMembership *add_membership(ModelUser *u, const char *account, const char *role_account,
                                       const char *role) {
        ModelMembership *mm = TEST_GROW(u->memberships, u->n_memberships);
        mm->account = test_strdup(account);
        mm->role_account = test_strdup(role_account);
        mm->role = test_strdup(role);
        return mm;
}

static const char *const catalogue[] = {
        "login", "softphone.use", "calls.view", "calls.listen", "calls.export", "texts.view", "texts.send",
        "reports.view_tab", "reports.missed_opportunities.view", "reports.edit", "numbers.view",
        "numbers.purchase", "numbers.request", "numbers.port", "users.view", "users.create", "users.edit",
        "users.delete", "billing.invoices.view", "billing.payment.edit", "recordings.configure",
        "integrations.edit", "settings.edit", "agency.settings.edit", "agency.accounts.create", "agency.cancel",
        "call_monitor.join", "campaigns.manage", "contacts.edit", "analytics.view",
};

#define USERS_ALL "users.view,users.create,users.edit,users.delete"

static Model *fixture_model(void) {
        Model *m = model_new();
        ModelUser *u;
        ModelMembership *mm;

        assert_non_null(m);
        for (size_t i = 0; i < ELEMENTSOF(catalogue); i++)
                add_permission(m, catalogue[i]);

        add_plan(m, "pro", "login,softphone.use,calls.*,users.*,billing.*,reports.*,texts.*,agency.*,numbers.*");
        add_plan(m, "basic", "login,calls.*,users.*,billing.*");

        add_account(m, "default", NULL, NULL, -1, NULL, NULL);
        add_account(m, "acme", NULL, "pro", -1, "calls.export,agency.cancel", "billing=agency");
        add_account(m, "sub1", "acme", NULL, -1, NULL, "billing=customer");
        add_account(m, "sub2", "acme", "basic", -1, NULL, NULL);
        add_account(m, "ct", NULL, NULL, 3, NULL, NULL);
        add_account(m, "ct2", NULL, NULL, -1, NULL, NULL);

        add_role(m, "default", "no-access", "No Access", 0, NULL);
        add_role(m, "default", "call-agent", "Call Agent", 10,
                 "login,softphone.use,calls.view@assigned,texts.view@assigned");
        add_role(m, "default", "inbound", "View Inbound Calls Only", 15, "login,calls.view@direction=inbound");
        add_role(m, "default", "outbound", "View Outbound Calls Only", 15, "login,calls.view@direction=outbound");
        add_role(m, "default", "supervisor", "Supervisor", 30,
                 "login,calls.view@groups+ivrs,calls.listen@acg,users.view");
        add_role(m, "default", "call-manager", "Call Manager", 40, "login,calls.view,calls.view@assigned,users.view");
        add_role(m, "default", "admin", "Administrator", 70,
                 "login,softphone.use,calls.view,calls.export,analytics.view,reports.view_tab,"
                 "reports.missed_opportunities.view," USERS_ALL);
        add_role(m, "default", "owner", "Owner", 90, "login," USERS_ALL);
        add_role(m, "acme", "agency-admin", "Agency Administrator", 100,
                 "login,softphone.use,calls.view,calls.export,analytics.view," USERS_ALL
                 ",billing.payment.edit/account.billing=customer");
        add_role(m, "acme", "admin", "Administrator", 70,
                 "login,softphone.use,calls.view,calls.export,agency.cancel," USERS_ALL
                 ",billing.payment.edit/account.billing=customer");
        add_role(m, "acme", "call-agent", "Call Agent", 10, "login,calls.view@assigned");
        add_role(m, "ct", "admin", "Admin", 70,
                 "login,billing.invoices.view/no-role=admin-partner,"
                 "calls.view/no-role=admin-partner,calls.view@assigned");
        add_role(m, "ct", "admin-partner", "Admin Partner", 80, "login");
        add_role(m, "ct2", "admin", "Admin", 70, "login,billing.invoices.view/no-role=admin-partner");
        add_role(m, "ct2", "admin-partner", "Admin Partner", 80, "login");

        add_membership(add_user(m, "alice", "Alice A.", true), "default", NULL, "admin");
        add_membership(add_user(m, "bob", NULL, true), "default", NULL, "admin");
        add_membership(add_user(m, "carol", NULL, true), "default", NULL, "call-agent");
        mm = add_membership(add_user(m, "dave", NULL, true), "default", NULL, "supervisor");
        mm->groups = test_strv_split("g1,g2");
        mm->ivrs = test_strv_split("i1");
        mm->acg = test_strv_split("a1");
        add_membership(add_user(m, "sam", NULL, true), "default", NULL, "supervisor");
        add_membership(add_user(m, "erin", NULL, false), "default", NULL, "call-agent");
        u = add_user(m, "frank", NULL, true);
        add_membership(u, "default", NULL, "call-agent");
        add_membership(u, "sub1", "acme", "call-agent");
        add_membership(add_user(m, "gina", NULL, true), "acme", "acme", "agency-admin");
        add_user(m, "hank", NULL, true);
        add_membership(add_user(m, "ivan", NULL, true), "default", NULL, "call-manager");
        add_membership(add_user(m, "judy", NULL, true), "default", NULL, "no-access");
        add_membership(add_user(m, "ken", NULL, true), "sub1", "acme", "admin");
        add_membership(add_user(m, "kim", NULL, true), "sub2", "acme", "admin");
        mm = add_membership(add_user(m, "lara", NULL, true), "sub1", "acme", "call-agent");
        mm->only = test_strv_split("login");
        u = add_user(m, "mia", NULL, true);
        add_membership(u, "acme", "acme", "call-agent");
        add_membership(u, "sub1", "acme", "admin");
        add_membership(add_user(m, "olga", NULL, true), "default", NULL, "inbound");
        add_membership(add_user(m, "oscar", NULL, true), "default", NULL, "outbound");
        add_membership(add_user(m, "owen", NULL, true), "default", NULL, "owner");
        add_membership(add_user(m, "pat", NULL, true), "ct", NULL, "admin");
        add_membership(add_user(m, "quinn", NULL, true), "ct", NULL, "admin-partner");
        add_membership(add_user(m, "rita", NULL, true), "ct2", NULL, "admin");
        return m;
}

/*
 * Tenants: three unrelated accounts and users who belong to several, as in
 * the security review.  padmin administers default and acctB; xadmin, an
 * equal, only default; madmin administers acctB and acctC; yboss is Agency
 * Administrator (rank 100) in default and a mere Call Agent in acctB; mgr a
 * Call Manager (40, users.view/edit) in default and administrator of
 * acctB; beth is only in acctB, walt only in default, zed in both.
 */
static Model *tenant_model(void) {
        Model *m = model_new();
        ModelUser *u;

        assert_non_null(m);
        for (size_t i = 0; i < ELEMENTSOF(catalogue); i++)
                add_permission(m, catalogue[i]);
        add_account(m, "default", NULL, NULL, -1, NULL, NULL);
        add_account(m, "acctB", NULL, NULL, -1, NULL, NULL);
        add_account(m, "acctC", NULL, NULL, -1, NULL, NULL);
        add_role(m, "default", "call-agent", "Call Agent", 10, "login,calls.view@assigned");
        add_role(m, "default", "call-manager", "Call Manager", 40, "login,calls.view,users.view,users.edit");
        add_role(m, "default", "admin", "Administrator", 70, "login,calls.view,calls.export," USERS_ALL);
        add_role(m, "default", "agency-administrator", "Agency Administrator", 100,
                 "login,calls.view,calls.export," USERS_ALL);
        for (size_t i = 0; i < 2; i++) {
                const char *a = i == 0 ? "acctB" : "acctC";
                add_role(m, a, "call-agent", "Call Agent", 10, "login,calls.view@assigned");
                add_role(m, a, "admin", "Administrator", 70, "login,calls.view," USERS_ALL);
        }
        u = add_user(m, "padmin", NULL, true);
        add_membership(u, "default", NULL, "admin");
        add_membership(u, "acctB", "acctB", "admin");
        add_membership(add_user(m, "xadmin", NULL, true), "default", NULL, "admin");
        u = add_user(m, "madmin", NULL, true);
        add_membership(u, "acctB", "acctB", "admin");
        add_membership(u, "acctC", "acctC", "admin");
        u = add_user(m, "yboss", NULL, true);
        add_membership(u, "default", NULL, "agency-administrator");
        add_membership(u, "acctB", "acctB", "call-agent");
        u = add_user(m, "mgr", NULL, true);
        add_membership(u, "default", NULL, "call-manager");
        add_membership(u, "acctB", "acctB", "admin");
        add_membership(add_user(m, "beth", NULL, true), "acctB", "acctB", "call-agent");
        add_membership(add_user(m, "walt", NULL, true), "default", NULL, "call-agent");
        u = add_user(m, "zed", NULL, true);
        add_membership(u, "default", NULL, "call-agent");
        add_membership(u, "acctB", "acctB", "call-agent");
        return m;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Model *, model_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Snapshot *, snapshot_free);

static Snapshot *fx; /* the compiled fixture, shared read-only by all tests */
static Snapshot *tx; /* the compiled tenants */

static int setup(void **state) {
        _cleanup_(model_freep) Model *m = fixture_model(), *t = tenant_model();
        if (snapshot_compile(m, 1, &fx) < 0 || snapshot_compile(t, 1, &tx) < 0)
                return -1;
        return policy_validate(tx, NULL) < 0 ? -1 : 0;
}

static int teardown(void **state) {
        fx = snapshot_free(fx);
        tx = snapshot_free(tx);
        return 0;
}

/* ---- asking ------------------------------------------------------------- */

/* Who asks, where a test is not about who asks: root, who sees everything. */
static const Peer root_peer = { .uid = 0, .unix_name = "root", .admin = true };

/* attrs: "key=value;key=value" or NULL */
typedef struct AttrList {
        char *buf;
        const char *keys[CR_ATTRS_MAX + 2], *values[CR_ATTRS_MAX + 2];
        size_t n;
} AttrList;

static void attrs_parse(AttrList *l, const char *attrs) {
        char *save = NULL;

        *l = (AttrList) {};
        if (!attrs)
                return;
        l->buf = test_strdup(attrs);
        for (char *t = strtok_r(l->buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(t, '=');
                assert_non_null(eq);
                assert_true(l->n < ELEMENTSOF(l->keys));
                *eq = 0;
                l->keys[l->n] = t;
                l->values[l->n++] = eq + 1;
        }
}

/* policy_check() with attrs written "key=value;key=value" (NULL: none). */
static int check_with_attrs(const Snapshot *snap, const Peer *peer, const char *user, const char *perm,
                            const char *account, const char *attrs, struct cr_decision *d, char **err) {
        AttrList l;
        int r;

        attrs_parse(&l, attrs);
        r = policy_check(snap, peer, user, perm, account, l.keys, l.values, l.n, d, err);
        free(l.buf);
        return r;
}

static void check_at(int line, const Snapshot *snap, const Peer *peer, const char *user, const char *perm,
                     const char *account, const char *attrs, bool allowed, int reason, const char *role,
                     const char *acct, const char *detail) {
        struct cr_decision d = {};
        _cleanup_free_ char *err = NULL;
        int r;

        r = check_with_attrs(snap, peer, user, perm, account, attrs, &d, &err);
        if (r < 0)
                print_error("policy_check(%s, %s) failed: %d %s\n", user, perm, r, err ? err : "");
        _assert_int_equal(r, 0, __FILE__, line);
        if (detail && !streq_ptr(d.detail, detail))
                print_error("detail: '%s'\n", d.detail);
        _assert_int_equal(d.allowed, allowed, __FILE__, line);
        _assert_int_equal(d.reason, reason, __FILE__, line);
        _assert_string_equal(d.role, role, __FILE__, line);
        _assert_string_equal(d.account, acct, __FILE__, line);
        if (detail)
                _assert_string_equal(d.detail, detail, __FILE__, line);
        cr_decision_clear(&d);
}
#define ALLOW(user, perm, account, attrs, role, acct, detail) \
        check_at(__LINE__, fx, &root_peer, user, perm, account, attrs, true, CR_REASON_NONE, role, acct, detail)
#define DENY(user, perm, account, attrs, reason, role, acct, detail) \
        check_at(__LINE__, fx, &root_peer, user, perm, account, attrs, false, reason, role, acct, detail)
/* The same, asked by peer of snapshot snap. */
#define ALLOW_IN(snap, peer, user, perm, account, attrs, role, acct, detail) \
        check_at(__LINE__, snap, peer, user, perm, account, attrs, true, CR_REASON_NONE, role, acct, detail)
#define DENY_IN(snap, peer, user, perm, account, attrs, reason, role, acct, detail) \
        check_at(__LINE__, snap, peer, user, perm, account, attrs, false, reason, role, acct, detail)

/* An error: the decision is left exactly as it was. */
static void check_error_at(int line, const Snapshot *snap, const Peer *peer, const char *user, const char *perm,
                           const char *account, const char *attrs, int error, const char *message) {
        struct cr_decision d = { .allowed = true, .reason = 77 };
        _cleanup_free_ char *err = NULL;
        int r;

        r = check_with_attrs(snap, peer, user, perm, account, attrs, &d, &err);
        if (r != error)
                print_error("policy_check(%s, %s): %d %s\n", user, perm, r, err ? err : "");
        _assert_int_equal(r, error, __FILE__, line);
        _assert_true(d.allowed && d.reason == 77 && !d.role && !d.account && !d.detail, "decision untouched", __FILE__,
                     line);
        if (message) {
                _assert_true(err != NULL, "message", __FILE__, line);
                _assert_string_equal(err, message, __FILE__, line);
        }
}
#define CHECK_ERROR(user, perm, account, attrs, error, message) \
        check_error_at(__LINE__, fx, &root_peer, user, perm, account, attrs, error, message)
#define CHECK_ERROR_IN(snap, peer, user, perm, account, attrs, error, message) \
        check_error_at(__LINE__, snap, peer, user, perm, account, attrs, error, message)

static Peer admin_peer(void) {
        return (Peer) { .uid = 0, .unix_name = "root", .admin = true };
}

static Peer user_peer(const char *user) {
        return (Peer) { .uid = 1000, .unix_name = user, .user = user };
}

/* A record from "key=v1,v2;key2=v;empty=" */
static void record_parse(struct cr_record *rec, const char *fields) {
        _cleanup_free_ char *buf = NULL;
        char *save = NULL;

        *rec = (struct cr_record) {};
        if (!fields)
                return;
        buf = test_strdup(fields);
        for (char *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(t, '='), *save2 = NULL;
                assert_non_null(eq);
                *eq = 0;
                assert_int_equal(cr_record_add_empty(rec, t), 0);
                for (char *v = strtok_r(eq + 1, ",", &save2); v; v = strtok_r(NULL, ",", &save2))
                        assert_int_equal(cr_record_add(rec, t, v), 0);
        }
}

static void authorize_at(int line, const Snapshot *snap, const Peer *peer, int type, const char *fields, int expect,
                         const char *message) {
        struct cr_record rec;
        _cleanup_free_ char *err = NULL;
        int r;

        record_parse(&rec, fields);
        r = policy_authorize(snap, peer, type, &rec, &err);
        cr_record_clear(&rec);
        if (r != expect)
                print_error("authorize: %d %s\n", r, err ? err : "(no message)");
        _assert_int_equal(r, expect, __FILE__, line);
        if (expect < 0)
                _assert_true(err != NULL, "an error comes with a message", __FILE__, line);
        if (message)
                _assert_string_equal(err, message, __FILE__, line);
}
#define AUTHORIZE(peer, type, fields, expect, message) authorize_at(__LINE__, fx, peer, type, fields, expect, message)
#define AUTHORIZE_IN(snap, peer, type, fields, expect, message) \
        authorize_at(__LINE__, snap, peer, type, fields, expect, message)

/* "value,value" of one field, "-" if absent */
static char *field_joined(const struct cr_record *rec, const char *key) {
        const struct cr_field *f = cr_record_field(rec, key);
        char *s = test_strdup(f ? "" : "-");
        for (size_t i = 0; f && i < f->n_values; i++) {
                char *n;
                assert_true(asprintf(&n, "%s%s%s", s, i ? "," : "", f->values[i]) >= 0);
                free(s);
                s = n;
        }
        return s;
}

/* "name,name,..." of the records' `key` fields, in order */
static char *records_joined(const struct cr_records *l, const char *key) {
        char *s = test_strdup("");
        for (size_t i = 0; i < l->n; i++) {
                char *n;
                assert_true(asprintf(&n, "%s%s%s", s, i ? "," : "", cr_record_get(&l->items[i], key)) >= 0);
                free(s);
                s = n;
        }
        return s;
}

/* ---- checks: errors before any decision --------------------------------- */

static void test_check_arguments(void **state) {
        struct cr_decision d = {};
        char *err = NULL;

        CHECK_ERROR("alice", "nope.view", NULL, NULL, -ENOENT,
                    "unknown permission 'nope.view': see 'callrolectl permission list'");
        CHECK_ERROR("alice", "login", "nowhere", NULL, -ENOENT,
                    "unknown account 'nowhere': see 'callrolectl account list'");
        CHECK_ERROR("alice", "calls.view", NULL, "colour=blue", -EINVAL,
                    "unknown attribute 'colour': use direction, assignee, group, ivr or acg");
        CHECK_ERROR("alice", "calls.view", NULL, "group=g1;group=g2", -EINVAL,
                    "attribute 'group' is given twice; give it once");
        CHECK_ERROR("alice", "calls.view", NULL, "direction=sideways", -EINVAL,
                    "direction must be inbound or outbound, not 'sideways'");
        /* Errors come before "no such user". */
        CHECK_ERROR("nobody", "nope", NULL, NULL, -ENOENT, NULL);
        CHECK_ERROR("frank", "login", NULL, NULL, -ENOTUNIQ,
                    "user 'frank' belongs to accounts default, sub1: say which with --account");

        assert_int_equal(policy_check(NULL, &root_peer, "a", "login", NULL, NULL, NULL, 0, &d, &err), -EINVAL);
        assert_int_equal(policy_check(fx, NULL, "a", "login", NULL, NULL, NULL, 0, &d, &err), -EINVAL);
        assert_int_equal(policy_check(fx, &root_peer, NULL, "login", NULL, NULL, NULL, 0, &d, &err), -EINVAL);
        assert_int_equal(policy_check(fx, &root_peer, "a", NULL, NULL, NULL, NULL, 0, &d, &err), -EINVAL);
        assert_int_equal(policy_check(fx, &root_peer, "a", "login", NULL, NULL, NULL, 0, NULL, &err), -EINVAL);
        assert_int_equal(policy_check(fx, &root_peer, "a", "login", NULL, NULL, NULL, 1, &d, &err), -EINVAL);
        assert_null(d.role);
        assert_null(err);
        /* NULL ret_error is fine. */
        assert_int_equal(policy_check(fx, &root_peer, "alice", "nope", NULL, NULL, NULL, 0, &d, NULL), -ENOENT);
}

/* ---- checks: each reason ------------------------------------------------ */

static void test_check_reasons(void **state) {
        ALLOW("alice", "login", NULL, NULL, "admin", "default", "");
        ALLOW("alice", "login", "default", NULL, "admin", "default", "");
        DENY("nobody", "login", NULL, NULL, CR_REASON_NO_SUCH_USER, "", "", "no callrole user 'nobody'");
        DENY("nobody", "login", "sub1", NULL, CR_REASON_NO_SUCH_USER, "", "sub1", "no callrole user 'nobody'");
        DENY("erin", "login", NULL, NULL, CR_REASON_DISABLED, "", "", "user 'erin' is disabled");
        /* No membership at all: the default account is meant. */
        DENY("hank", "login", NULL, NULL, CR_REASON_NO_MEMBERSHIP, "", "default",
             "user 'hank' has no role in account 'default'");
        DENY("carol", "login", "sub1", NULL, CR_REASON_NO_MEMBERSHIP, "", "sub1",
             "user 'carol' has no role in account 'sub1'");
        /* The "No Access" user exists but cannot log in. */
        DENY("judy", "login", NULL, NULL, CR_REASON_NOT_GRANTED, "no-access", "default",
             "role 'No Access' does not grant login");
        DENY("carol", "users.view", NULL, NULL, CR_REASON_NOT_GRANTED, "call-agent", "default",
             "role 'Call Agent' does not grant users.view");
        /* A membership's `only` patterns narrow the role. */
        ALLOW("lara", "login", NULL, NULL, "call-agent", "sub1", "");
        DENY("lara", "calls.view", NULL, NULL, CR_REASON_NOT_GRANTED, "call-agent", "sub1",
             "role 'Call Agent' grants calls.view, but user 'lara' is limited to login in account 'sub1'");
        /* Hidden by the agency, even from an administrator of the sub-account
         * and from the agency's own administrator working there. */
        DENY("ken", "calls.export", NULL, NULL, CR_REASON_HIDDEN_BY_AGENCY, "admin", "sub1",
             "calls.export is hidden by agency 'acme'");
        DENY("gina", "calls.export", "sub1", NULL, CR_REASON_HIDDEN_BY_AGENCY, "agency-admin", "sub1",
             "calls.export is hidden by agency 'acme'");
        /* The agency itself is not hidden from. */
        ALLOW("gina", "calls.export", "acme", NULL, "agency-admin", "acme", "");
        ALLOW("alice", "calls.export", NULL, NULL, "admin", "default", "");
        /* Plan: sub2 has basic (no softphone), sub1 inherits pro. */
        DENY("kim", "softphone.use", NULL, NULL, CR_REASON_NOT_IN_PLAN, "admin", "sub2",
             "softphone.use is not in plan 'basic' of account 'sub2'");
        ALLOW("ken", "softphone.use", NULL, NULL, "admin", "sub1", "");
        DENY("gina", "analytics.view", "sub1", NULL, CR_REASON_NOT_IN_PLAN, "agency-admin", "sub1",
             "analytics.view is not in plan 'pro' of account 'sub1'");
        DENY("gina", "analytics.view", "acme", NULL, CR_REASON_NOT_IN_PLAN, "agency-admin", "acme",
             "analytics.view is not in plan 'pro' of account 'acme'");
        /* No plan anywhere: everything. */
        ALLOW("alice", "analytics.view", NULL, NULL, "admin", "default", "");
}

/* The order of the steps: disabled before membership, membership before
 * grant, grant before hidden, hidden before plan. */
static void test_check_order(void **state) {
        DENY("erin", "login", "sub1", NULL, CR_REASON_DISABLED, "", "sub1", "user 'erin' is disabled");
        DENY("hank", "calls.export", "sub1", NULL, CR_REASON_NO_MEMBERSHIP, "", "sub1", NULL);
        DENY("frank", "calls.export", "sub1", NULL, CR_REASON_NOT_GRANTED, "call-agent", "sub1",
             "role 'Call Agent' does not grant calls.export");
        /* agency.cancel is both hidden by acme and outside plan basic. */
        DENY("kim", "agency.cancel", NULL, NULL, CR_REASON_HIDDEN_BY_AGENCY, "admin", "sub2",
             "agency.cancel is hidden by agency 'acme'");
        /* A disabled user with several accounts: disabled, not ambiguous. */
        DENY("erin", "login", NULL, NULL, CR_REASON_DISABLED, "", "", NULL);
}

/* ---- checks: scopes ----------------------------------------------------- */

static void test_check_scopes(void **state) {
        /* assigned */
        ALLOW("carol", "calls.view", NULL, NULL, "call-agent", "default", "limited to assigned calls");
        ALLOW("carol", "calls.view", NULL, "assignee=carol", "call-agent", "default", "limited to assigned calls");
        DENY("carol", "calls.view", NULL, "assignee=bob", CR_REASON_OUT_OF_SCOPE, "call-agent", "default",
             "calls.view is limited to assigned calls");
        ALLOW("carol", "texts.view", NULL, "assignee=carol;direction=outbound", "call-agent", "default",
              "limited to assigned texts");
        /* Attributes a scope does not mention do not matter. */
        ALLOW("carol", "calls.view", NULL, "assignee=carol;group=zz;ivr=zz;acg=zz;direction=inbound", "call-agent",
              "default", NULL);
        /* direction */
        ALLOW("olga", "calls.view", NULL, "direction=inbound", "inbound", "default", "limited to inbound calls");
        DENY("olga", "calls.view", NULL, "direction=outbound", CR_REASON_OUT_OF_SCOPE, "inbound", "default",
             "calls.view is limited to inbound calls");
        ALLOW("olga", "calls.view", NULL, NULL, "inbound", "default", "limited to inbound calls");
        ALLOW("oscar", "calls.view", NULL, "direction=outbound", "outbound", "default", "limited to outbound calls");
        DENY("oscar", "calls.view", NULL, "direction=inbound;assignee=oscar", CR_REASON_OUT_OF_SCOPE, "outbound",
             "default", "calls.view is limited to outbound calls");
        /* groups and IVRs (both bits on one grant: both must hold) */
        ALLOW("dave", "calls.view", NULL, "group=g2", "supervisor", "default", "limited to groups g1, g2 and IVRs i1");
        ALLOW("dave", "calls.view", NULL, "group=g1;ivr=i1", "supervisor", "default", NULL);
        DENY("dave", "calls.view", NULL, "group=g3", CR_REASON_OUT_OF_SCOPE, "supervisor", "default",
             "calls.view is limited to groups g1, g2 and IVRs i1");
        DENY("dave", "calls.view", NULL, "group=g1;ivr=i9", CR_REASON_OUT_OF_SCOPE, "supervisor", "default", NULL);
        ALLOW("dave", "calls.view", NULL, NULL, "supervisor", "default", NULL);
        /* An empty group list lets nothing through once a group is given. */
        DENY("sam", "calls.view", NULL, "group=g1", CR_REASON_OUT_OF_SCOPE, "supervisor", "default",
             "calls.view is limited to groups (user 'sam' has none) and IVRs (user 'sam' has none)");
        ALLOW("sam", "calls.view", NULL, "assignee=sam", "supervisor", "default", NULL);
        /* acg narrows only when the membership lists some */
        ALLOW("dave", "calls.listen", NULL, "acg=a1", "supervisor", "default",
              "limited to access-control groups a1");
        DENY("dave", "calls.listen", NULL, "acg=a2", CR_REASON_OUT_OF_SCOPE, "supervisor", "default",
             "calls.listen is limited to access-control groups a1");
        ALLOW("sam", "calls.listen", NULL, "acg=anything", "supervisor", "default", "");
        /* Two grants are alternatives; the unrestricted one is preferred. */
        ALLOW("ivan", "calls.view", NULL, "assignee=bob", "call-manager", "default", "");
        ALLOW("ivan", "calls.view", NULL, NULL, "call-manager", "default", "");
}

/* ---- checks: conditions ------------------------------------------------- */

static void test_check_conditions(void **state) {
        /* no-role=: ct has an admin partner, ct2 does not. */
        DENY("pat", "billing.invoices.view", NULL, NULL, CR_REASON_CONDITION_FAILED, "admin", "ct",
             "billing.invoices.view needs no 'admin-partner' in account 'ct'");
        ALLOW("rita", "billing.invoices.view", NULL, NULL, "admin", "ct2", "");
        /* account attribute, inherited from the agency: sub1 bills the
         * customer, sub2 has the agency's billing=agency. */
        ALLOW("ken", "billing.payment.edit", NULL, NULL, "admin", "sub1", "");
        DENY("kim", "billing.payment.edit", NULL, NULL, CR_REASON_CONDITION_FAILED, "admin", "sub2",
             "billing.payment.edit needs account attribute billing=customer in account 'sub2'");
        DENY("gina", "billing.payment.edit", "acme", NULL, CR_REASON_CONDITION_FAILED, "agency-admin", "acme",
             "billing.payment.edit needs account attribute billing=customer in account 'acme'");
        ALLOW("gina", "billing.payment.edit", "sub1", NULL, "agency-admin", "sub1", "");
        /* One grant fails its condition, the other its scope: out of scope,
         * naming the scope. */
        DENY("pat", "calls.view", NULL, "assignee=someone", CR_REASON_OUT_OF_SCOPE, "admin", "ct",
             "calls.view is limited to assigned calls");
        ALLOW("pat", "calls.view", NULL, "assignee=pat", "admin", "ct", "limited to assigned calls");
}

/* ---- checks: agencies --------------------------------------------------- */

static void test_check_agency(void **state) {
        /* A role held at agency level applies in every sub-account. */
        ALLOW("gina", "login", "sub1", NULL, "agency-admin", "sub1", "");
        ALLOW("gina", "login", "sub2", NULL, "agency-admin", "sub2", "");
        ALLOW("gina", "login", NULL, NULL, "agency-admin", "acme", "");
        DENY("gina", "login", "default", NULL, CR_REASON_NO_MEMBERSHIP, "", "default",
             "user 'gina' has no role in account 'default'");
        /* A direct membership wins over the inherited one. */
        ALLOW("mia", "users.edit", "sub1", NULL, "admin", "sub1", "");
        DENY("mia", "users.edit", "sub2", NULL, CR_REASON_NOT_GRANTED, "call-agent", "sub2",
             "role 'Call Agent' does not grant users.edit");
        DENY("mia", "users.edit", "acme", NULL, CR_REASON_NOT_GRANTED, "call-agent", "acme", NULL);
        /* But not upwards: ken's sub1 role does not apply in acme. */
        DENY("ken", "login", "acme", NULL, CR_REASON_NO_MEMBERSHIP, "", "acme", NULL);
        /* frank has two accounts: say which. */
        ALLOW("frank", "login", "sub1", NULL, "call-agent", "sub1", "");
        ALLOW("frank", "softphone.use", "default", NULL, "call-agent", "default", "");
        DENY("frank", "softphone.use", "sub1", NULL, CR_REASON_NOT_GRANTED, "call-agent", "sub1", NULL);
}

/* ---- scope records ------------------------------------------------------ */

/* One record per line "field=v,v field2=" (fields sorted as emitted), records
 * separated by " | "; "" for none. */
static char *scope_string(const struct cr_records *l) {
        char *s = test_strdup("");
        for (size_t i = 0; i < l->n; i++) {
                const struct cr_record *rec = &l->items[i];
                char *n;
                assert_true(asprintf(&n, "%s%s{", s, i ? " | " : "") >= 0);
                free(s);
                s = n;
                for (size_t j = 0; j < rec->n_fields; j++) {
                        _cleanup_free_ char *v = field_joined(rec, rec->fields[j].key);
                        assert_true(asprintf(&n, "%s%s%s=%s", s, j ? " " : "", rec->fields[j].key, v) >= 0);
                        free(s);
                        s = n;
                }
                assert_true(asprintf(&n, "%s}", s) >= 0);
                free(s);
                s = n;
        }
        return s;
}

static void scope_at(int line, const Snapshot *snap, const Peer *peer, const char *user, const char *perm,
                     const char *account, int expect, const char *records) {
        struct cr_records l = {};
        _cleanup_free_ char *err = NULL, *got = NULL;
        int r = policy_scope(snap, peer, user, perm, account, &l, &err);

        if (r != expect)
                print_error("scope: %d %s\n", r, err ? err : "");
        _assert_int_equal(r, expect, __FILE__, line);
        got = scope_string(&l);
        _assert_string_equal(got, records, __FILE__, line);
        cr_records_clear(&l);
}
#define SCOPE(user, perm, account, expect, records) \
        scope_at(__LINE__, fx, &root_peer, user, perm, account, expect, records)
#define SCOPE_IN(snap, peer, user, perm, account, expect, records) \
        scope_at(__LINE__, snap, peer, user, perm, account, expect, records)

static void test_scope(void **state) {
        struct cr_records l = {};
        char *err = NULL;

        SCOPE("alice", "calls.view", NULL, 1, "{}");
        SCOPE("carol", "calls.view", NULL, 1, "{assignee=carol}");
        SCOPE("olga", "calls.view", NULL, 1, "{direction=inbound}");
        SCOPE("oscar", "calls.view", NULL, 1, "{direction=outbound}");
        SCOPE("dave", "calls.view", NULL, 1, "{group=g1,g2 ivr=i1}");
        SCOPE("dave", "calls.listen", NULL, 1, "{acg=a1}");
        /* sam has no groups: the field is there, empty, and lets nothing
         * through; no acg: unrestricted. */
        SCOPE("sam", "calls.view", NULL, 1, "{group= ivr=}");
        SCOPE("sam", "calls.listen", NULL, 1, "{}");
        SCOPE("ivan", "calls.view", NULL, 1, "{} | {assignee=ivan}");
        /* Grants whose condition fails give no record. */
        SCOPE("pat", "calls.view", NULL, 1, "{assignee=pat}");
        SCOPE("pat", "billing.invoices.view", NULL, 0, "");
        SCOPE("rita", "billing.invoices.view", NULL, 1, "{}");
        /* Denials give nothing. */
        SCOPE("carol", "users.view", NULL, 0, "");
        SCOPE("nobody", "calls.view", NULL, 0, "");
        SCOPE("erin", "calls.view", NULL, 0, "");
        SCOPE("hank", "calls.view", NULL, 0, "");
        SCOPE("ken", "calls.export", NULL, 0, "");
        SCOPE("kim", "softphone.use", NULL, 0, "");
        SCOPE("lara", "calls.view", NULL, 0, "");
        SCOPE("gina", "calls.view", "sub2", 1, "{}");
        SCOPE("frank", "calls.view", "sub1", 1, "{assignee=frank}");

        /* Errors leave the list as it was. */
        assert_int_equal(policy_scope(fx, &root_peer, "alice", "nope", NULL, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown permission 'nope': see 'callrolectl permission list'");
        free(err);
        err = NULL;
        assert_int_equal(policy_scope(fx, &root_peer, "frank", "calls.view", NULL, &l, &err), -ENOTUNIQ);
        assert_non_null(err);
        free(err);
        err = NULL;
        assert_int_equal(policy_scope(fx, &root_peer, "alice", "calls.view", "nowhere", &l, &err), -ENOENT);
        free(err);
        assert_int_equal(l.n, 0);
        assert_null(l.items);

        /* Appends to what is there. */
        assert_non_null(cr_records_append(&l));
        assert_int_equal(policy_scope(fx, &root_peer, "ivan", "calls.view", NULL, &l, NULL), 1);
        assert_int_equal(l.n, 3);
        assert_int_equal(l.items[0].n_fields, 0);
        assert_string_equal(cr_record_get(&l.items[2], "assignee"), "ivan");
        cr_records_clear(&l);
}

/* ---- visibility --------------------------------------------------------- */

static void test_may_read_user(void **state) {
        Peer admin = admin_peer(), query = { .uid = 1234, .query = true }, nobody = { .uid = 4242 };
        Peer alice = user_peer("alice"), carol = user_peer("carol"), gina = user_peer("gina"), ken = user_peer("ken");
        Peer erin = user_peer("erin"), ghost = user_peer("ghost"), dave = user_peer("dave");

        assert_true(policy_may_read_user(fx, &admin, "owen"));
        assert_true(policy_may_read_user(fx, &admin, "ghost"));
        assert_true(policy_may_read_user(fx, &query, "gina"));
        assert_false(policy_may_read_user(fx, &nobody, "carol"));
        assert_false(policy_may_read_user(fx, &ghost, "carol"));
        /* Anyone about themselves. */
        assert_true(policy_may_read_user(fx, &carol, "carol"));
        assert_true(policy_may_read_user(fx, &alice, "alice"));
        /* No users.view: nobody else. */
        assert_false(policy_may_read_user(fx, &carol, "judy"));
        /* Rank ≤ own: equal is visible, higher is not. */
        assert_true(policy_may_read_user(fx, &alice, "bob"));
        assert_true(policy_may_read_user(fx, &alice, "judy"));
        assert_false(policy_may_read_user(fx, &alice, "owen"));
        /* Only where the peer has a role. */
        assert_false(policy_may_read_user(fx, &alice, "ken"));
        assert_false(policy_may_read_user(fx, &alice, "hank"));
        assert_false(policy_may_read_user(fx, &alice, "ghost"));
        /* The agency administrator sees into sub-accounts... */
        assert_true(policy_may_read_user(fx, &gina, "ken"));
        assert_true(policy_may_read_user(fx, &gina, "kim"));
        /* ...and is invisible from them. */
        assert_false(policy_may_read_user(fx, &ken, "gina"));
        assert_true(policy_may_read_user(fx, &ken, "mia"));
        assert_false(policy_may_read_user(fx, &ken, "kim"));
        /* A disabled user keeps only itself. */
        assert_true(policy_may_read_user(fx, &erin, "erin"));
        /* ...and stays visible to those above it. */
        assert_true(policy_may_read_user(fx, &dave, "erin"));
        assert_false(policy_may_read_user(fx, NULL, "carol"));
        assert_false(policy_may_read_user(fx, &alice, NULL));
}

static void list_at(int line, const Peer *peer, const char *role, const char *account, const char *after, size_t limit,
                    const char *names) {
        struct cr_records l = {};
        _cleanup_free_ char *err = NULL, *got = NULL;
        int r = policy_user_list(fx, peer, role, account, after, limit, &l, &err);

        if (r < 0)
                print_error("user_list: %d %s\n", r, err ? err : "");
        _assert_int_equal(r, 0, __FILE__, line);
        got = records_joined(&l, "name");
        _assert_string_equal(got, names, __FILE__, line);
        cr_records_clear(&l);
}
#define LIST(peer, role, account, after, limit, names) list_at(__LINE__, peer, role, account, after, limit, names)

static void test_user_list(void **state) {
        Peer admin = admin_peer(), query = { .uid = 1234, .query = true }, nobody = { .uid = 4242 };
        Peer alice = user_peer("alice"), carol = user_peer("carol"), dave = user_peer("dave"), gina = user_peer("gina"),
             ken = user_peer("ken");
        struct cr_records l = {};
        char *err = NULL;

        LIST(&admin, NULL, NULL, NULL, 0,
             "alice,bob,carol,dave,erin,frank,frank,gina,hank,ivan,judy,ken,kim,lara,mia,mia,olga,oscar,owen,pat,quinn,"
             "rita,sam");
        LIST(&query, NULL, NULL, "pat", 0, "quinn,rita,sam");
        /* Paging: limit counts users, `after` is the last name seen. */
        LIST(&admin, NULL, NULL, NULL, 2, "alice,bob");
        LIST(&admin, NULL, NULL, "bob", 3, "carol,dave,erin");
        LIST(&admin, NULL, NULL, "e", 2, "erin,frank,frank");
        LIST(&admin, NULL, NULL, "sam", 0, "");
        /* Filters */
        LIST(&admin, "admin", NULL, NULL, 0, "alice,bob,ken,kim,mia,pat,rita");
        LIST(&admin, NULL, "sub1", NULL, 0, "frank,ken,lara,mia");
        LIST(&admin, "call-agent", "sub1", NULL, 0, "frank,lara");
        /* What each peer may see. */
        LIST(&alice, NULL, NULL, NULL, 0, "alice,bob,carol,dave,erin,frank,ivan,judy,olga,oscar,sam");
        LIST(&dave, NULL, NULL, NULL, 0, "carol,dave,erin,frank,judy,olga,oscar,sam");
        LIST(&carol, NULL, NULL, NULL, 0, "carol");
        LIST(&nobody, NULL, NULL, NULL, 0, "");
        LIST(&gina, NULL, NULL, NULL, 0, "frank,gina,ken,kim,lara,mia,mia");
        LIST(&ken, NULL, NULL, NULL, 0, "frank,ken,lara,mia");

        /* Only the memberships the peer may see: frank's sub1 role is not
         * alice's business. */
        assert_int_equal(policy_user_list(fx, &alice, NULL, NULL, "erin", 1, &l, &err), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(cr_record_get(&l.items[0], "name"), "frank");
        assert_string_equal(cr_record_get(&l.items[0], "account"), "default");
        cr_records_clear(&l);

        assert_int_equal(policy_user_list(fx, &admin, NULL, "nowhere", NULL, 0, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown account 'nowhere': see 'callrolectl account list'");
        free(err);
        err = NULL;
        assert_int_equal(policy_user_list(fx, &admin, "ghost", NULL, NULL, 0, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown role 'ghost': see 'callrolectl role list'");
        free(err);
        err = NULL;
        assert_int_equal(policy_user_list(fx, &admin, "owner", "sub1", NULL, 0, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown role 'owner' in account 'sub1' or its agencies: see 'callrolectl role list'");
        free(err);
        err = NULL;
        assert_int_equal(l.n, 0);

        /* Filters by what the peer may not see are filters by what does not
         * exist: a role ranked above it, an account it is not in. */
        assert_int_equal(policy_user_list(fx, &alice, "owner", NULL, NULL, 0, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown role 'owner': see 'callrolectl role list'");
        free(err);
        err = NULL;
        assert_int_equal(policy_user_list(fx, &alice, NULL, "sub1", NULL, 0, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown account 'sub1': see 'callrolectl account list'");
        free(err);
        err = NULL;
        assert_int_equal(policy_user_list(fx, &ken, "agency-admin", "sub1", NULL, 0, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown role 'agency-admin' in account 'sub1' or its agencies: see 'callrolectl "
                                 "role list'");
        free(err);
        err = NULL;
        assert_int_equal(policy_user_list(fx, &nobody, "call-agent", NULL, NULL, 0, &l, &err), -ENOENT);
        free(err);
        err = NULL;
        assert_int_equal(l.n, 0);
        /* Within what it sees, the filters work as for everyone. */
        LIST(&alice, "admin", NULL, NULL, 0, "alice,bob");
        LIST(&gina, NULL, "sub2", NULL, 0, "kim");
        LIST(&ken, "admin", "sub1", NULL, 0, "ken,mia");
}

static void expect_field(const struct cr_record *rec, const char *key, const char *joined) {
        _cleanup_free_ char *v = field_joined(rec, key);
        assert_string_equal(v, joined);
}

static void test_user_records(void **state) {
        Peer admin = admin_peer(), alice = user_peer("alice"), hank = user_peer("hank"), ivan = user_peer("ivan");
        struct cr_records l = {};
        _cleanup_free_ char *err1 = NULL, *err2 = NULL;

        assert_int_equal(policy_user_records(fx, &admin, "dave", &l, NULL), 0);
        assert_int_equal(l.n, 1);
        expect_field(&l.items[0], "name", "dave");
        expect_field(&l.items[0], "display-name", "");
        expect_field(&l.items[0], "enabled", "yes");
        expect_field(&l.items[0], "account", "default");
        expect_field(&l.items[0], "role", "supervisor");
        expect_field(&l.items[0], "role-title", "Supervisor");
        expect_field(&l.items[0], "rank", "30");
        expect_field(&l.items[0], "groups", "g1,g2");
        expect_field(&l.items[0], "ivrs", "i1");
        expect_field(&l.items[0], "acg", "a1");
        expect_field(&l.items[0], "only", "");
        expect_field(&l.items[0], "notify", "");
        assert_int_equal(l.items[0].n_fields, 12);
        cr_records_clear(&l);

        assert_int_equal(policy_user_records(fx, &admin, "alice", &l, NULL), 0);
        expect_field(&l.items[0], "display-name", "Alice A.");
        cr_records_clear(&l);

        assert_int_equal(policy_user_records(fx, &admin, "frank", &l, NULL), 0);
        assert_int_equal(l.n, 2);
        expect_field(&l.items[1], "account", "sub1");
        expect_field(&l.items[1], "role-title", "Call Agent");
        cr_records_clear(&l);
        /* alice sees only frank's default membership. */
        assert_int_equal(policy_user_records(fx, &alice, "frank", &l, NULL), 0);
        assert_int_equal(l.n, 1);
        expect_field(&l.items[0], "account", "default");
        cr_records_clear(&l);

        /* A user without any role, by themselves. */
        assert_int_equal(policy_user_records(fx, &hank, "hank", &l, NULL), 0);
        assert_int_equal(l.n, 1);
        expect_field(&l.items[0], "account", "");
        expect_field(&l.items[0], "role", "");
        expect_field(&l.items[0], "groups", "");
        cr_records_clear(&l);
        assert_int_equal(policy_user_records(fx, &admin, "erin", &l, NULL), 0);
        expect_field(&l.items[0], "enabled", "no");
        cr_records_clear(&l);

        /* Someone ranked above looks exactly like nobody at all. */
        assert_int_equal(policy_user_records(fx, &alice, "owen", &l, &err1), -ENOENT);
        assert_int_equal(policy_user_records(fx, &alice, "owex", &l, &err2), -ENOENT);
        assert_string_equal(err1, "unknown user 'owen'");
        assert_string_equal(err2, "unknown user 'owex'");
        assert_int_equal(l.n, 0);
        assert_int_equal(policy_user_records(fx, &ivan, "alice", &l, NULL), -ENOENT);
        assert_int_equal(policy_user_records(fx, &ivan, "judy", &l, NULL), 0);
        assert_int_equal(l.n, 1);
        cr_records_clear(&l);
        assert_int_equal(policy_user_records(fx, &admin, "", &l, NULL), -EINVAL);
        assert_int_equal(l.n, 0);
}

/* ---- authorising changes ------------------------------------------------ */

static void test_authorize_hierarchy(void **state) {
        Peer alice = user_peer("alice"), owen = user_peer("owen"), ivan = user_peer("ivan"), gina = user_peer("gina"),
             ken = user_peer("ken");

        /* Changes only below one's own rank, to roles below one's own. */
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=carol;role=inbound", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=carol;groups=g1,g2;display-name=Carol C.", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=bob;role=call-agent", -EPERM,
                  "alice (Administrator, rank 70) may not change bob (Administrator, rank 70): only users ranked "
                  "below you");
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=bob;enabled=no", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=alice;display-name=Me", -EPERM,
                  "alice (Administrator, rank 70) may not change alice (Administrator, rank 70): only users ranked "
                  "below you");
        /* Only a higher role can grant the administrator role. */
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=carol;role=admin", -EPERM,
                  "alice (Administrator, rank 70) may not give carol the role 'Administrator' (rank 70): only roles "
                  "ranked below yours");
        AUTHORIZE(&owen, CR_MSG_USER_SET, "name=carol;role=admin", 0, NULL);
        AUTHORIZE(&owen, CR_MSG_USER_SET, "name=bob;enabled=no", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_ADD, "name=newbie;role=call-agent;groups=g1", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_ADD, "name=newbie;role=admin", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_ADD, "name=newbie;role=owner", -EPERM,
                  "alice (Administrator, rank 70) may not give newbie the role 'Owner' (rank 90): only roles ranked "
                  "below yours");
        AUTHORIZE(&owen, CR_MSG_USER_ADD, "name=newbie;role=admin", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_DELETE, "name=carol", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_DELETE, "name=bob", -EPERM,
                  "alice (Administrator, rank 70) may not delete bob (Administrator, rank 70): only users ranked "
                  "below you");
        /* Users above are invisible: unknown, exactly as a missing one. */
        AUTHORIZE(&alice, CR_MSG_USER_DELETE, "name=owen", -ENOENT, "unknown user 'owen'");
        AUTHORIZE(&alice, CR_MSG_USER_DELETE, "name=ghost", -ENOENT, "unknown user 'ghost'");
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=owen;enabled=no", -ENOENT, "unknown user 'owen'");
        AUTHORIZE(&alice, CR_MSG_USER_ADD, "name=owen;role=call-agent", -EEXIST, "user 'owen' already exists");
        AUTHORIZE(&alice, CR_MSG_USER_ADD, "name=carol;role=call-agent", -EEXIST,
                  "user 'carol' already has a role in account 'default': change it with 'callrolectl user set'");
        /* The permission to manage users, in that account. */
        AUTHORIZE(&ivan, CR_MSG_USER_SET, "name=carol;role=inbound", -EPERM,
                  "ivan (Call Manager, rank 40) may not change users in account 'default': the role does not grant "
                  "users.edit there");
        AUTHORIZE(&ivan, CR_MSG_USER_ADD, "name=newbie;role=no-access", -EPERM,
                  "ivan (Call Manager, rank 40) may not add users in account 'default': the role does not grant "
                  "users.create there");
        AUTHORIZE(&alice, CR_MSG_USER_ADD, "name=newbie;role=call-agent;account=sub1", -EPERM,
                  "user 'alice' has no role in account 'sub1' and may not add users there");
        /* A change to the whole user needs authority wherever the user is;
         * where alice may not see frank (sub1), the refusal does not say
         * where, nor with which role. */
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=frank;enabled=no", -EPERM,
                  "user 'alice' may not change user 'frank': only users ranked below you in every account they "
                  "belong to");
        AUTHORIZE(&alice, CR_MSG_USER_DELETE, "name=frank", -EPERM,
                  "user 'alice' may not delete user 'frank': only users ranked below you in every account they "
                  "belong to");
        AUTHORIZE(&alice, CR_MSG_USER_DELETE, "name=frank;account=default", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=frank;account=default;groups=g1", 0, NULL);
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=frank;groups=g1", -ENOTUNIQ,
                  "user 'frank' belongs to more than one account (those you may see: default): say which with "
                  "--account");
        /* frank's role in sub1, which alice may not see, is no role to her:
         * she is told what she would be told of carol, who has none. */
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=frank;account=sub1;groups=g1", -ENOENT,
                  "user 'frank' has no role in account 'sub1': give one with --role");
        AUTHORIZE(&alice, CR_MSG_USER_SET, "name=carol;account=sub1;groups=g1", -ENOENT,
                  "user 'carol' has no role in account 'sub1': give one with --role");
        AUTHORIZE(&alice, CR_MSG_USER_DELETE, "name=frank;account=sub1", -ENOENT,
                  "user 'frank' has no role in account 'sub1'");
        /* The agency administrator manages sub-accounts through its agency
         * role; a sub-account administrator cannot touch its equals. */
        AUTHORIZE(&gina, CR_MSG_USER_SET, "name=ken;role=call-agent", 0, NULL);
        AUTHORIZE(&gina, CR_MSG_USER_ADD, "name=newbie;account=sub1;role=admin", 0, NULL);
        AUTHORIZE(&gina, CR_MSG_USER_ADD, "name=newbie;account=sub1;role=agency-admin", -EPERM, NULL);
        /* gina sees frank through sub1, but disabling him reaches default. */
        AUTHORIZE(&gina, CR_MSG_USER_SET, "name=frank;enabled=no", -EPERM,
                  "user 'gina' may not change user 'frank': only users ranked below you in every account they belong "
                  "to");
        AUTHORIZE(&gina, CR_MSG_USER_SET, "name=frank;account=sub1;role=admin", 0, NULL);
        AUTHORIZE(&ken, CR_MSG_USER_ADD, "name=newbie;account=sub1;role=call-agent", 0, NULL);
        AUTHORIZE(&ken, CR_MSG_USER_ADD, "name=newbie;account=sub1;role=admin", -EPERM, NULL);
        AUTHORIZE(&ken, CR_MSG_USER_SET, "name=mia;account=sub1;role=call-agent", -EPERM,
                  "ken (Administrator, rank 70) may not change mia (Administrator, rank 70): only users ranked below "
                  "you");
        AUTHORIZE(&ken, CR_MSG_USER_SET, "name=gina;role=call-agent", -ENOENT, "unknown user 'gina'");
        AUTHORIZE(&ken, CR_MSG_USER_SET, "name=lara;only=login,calls.*", 0, NULL);
        /* Adding a role for an existing user elsewhere: the user must rank
         * below the peer where the role applies. */
        AUTHORIZE(&gina, CR_MSG_USER_ADD, "name=ken;account=sub2;role=call-agent", 0, NULL);
        AUTHORIZE(&gina, CR_MSG_USER_ADD, "name=mia;account=sub2;role=call-agent", 0, NULL);
}

static void test_authorize_peers(void **state) {
        Peer nobody = { .uid = 4242 }, ghost = user_peer("ghost"), erin = user_peer("erin"), alice = user_peer("alice");
        Peer admin = admin_peer();

        AUTHORIZE(&nobody, CR_MSG_USER_SET, "name=carol;role=inbound", -EPERM,
                  "uid 4242 is not a callrole administrator and maps to no callrole user");
        ghost.uid = 4243;
        AUTHORIZE(&ghost, CR_MSG_USER_DELETE, "name=carol", -EPERM,
                  "uid 4243 is not a callrole administrator and maps to no callrole user");
        AUTHORIZE(&nobody, CR_MSG_PERMISSION_ADD, "name=x.y", -EPERM, NULL);
        AUTHORIZE(&erin, CR_MSG_USER_SET, "name=carol;role=inbound", -EPERM,
                  "callrole user 'erin' is disabled and may not change anything");
        /* Everything but user.* needs an administrator. */
        AUTHORIZE(&alice, CR_MSG_PERMISSION_ADD, "name=x.y", -EPERM,
                  "only callrole administrators may do permission.add; uid 1000 is not one (acting as 'alice')");
        AUTHORIZE(&alice, CR_MSG_ACCOUNT_ADD, "name=newacct", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_ACCOUNT_SET, "name=default;seats=3", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_PLAN_SET, "name=basic;features=login", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_ROLE_ADD, "role=x;rank=1;grants=login", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_ROLE_DELETE, "role=no-access", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_RULE_ADD, "if=a;requires=b", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_IMPORT, "name=x;role=call-agent", -EPERM, NULL);
        AUTHORIZE(&alice, CR_MSG_PROFILE_LOAD, "name=ctm", -EPERM, NULL);
        AUTHORIZE(&admin, CR_MSG_IMPORT, "name=x;role=call-agent", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_PROFILE_LOAD, "name=ctm", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_CHECK, "user=x", -EINVAL, NULL);
        assert_int_equal(policy_authorize(NULL, &admin, CR_MSG_USER_ADD, NULL, NULL), -EINVAL);
        assert_int_equal(policy_authorize(fx, NULL, CR_MSG_USER_ADD, NULL, NULL), -EINVAL);
        /* No parameters at all: refused as incomplete, not a crash. */
        assert_int_equal(policy_authorize(fx, &admin, CR_MSG_USER_ADD, NULL, NULL), -EINVAL);
}

/* An administrator may do anything, but references are still checked so
 * the error names the object before the store is touched. */
static void test_authorize_admin(void **state) {
        Peer admin = admin_peer();

        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=newbie;role=ghost", -ENOENT,
                  "unknown role 'ghost' in account 'default' or its agencies");
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=newbie;role=admin;account=nowhere", -ENOENT,
                  "unknown account 'nowhere': see 'callrolectl account list'");
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=newbie;role=agency-admin;account=sub1", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=newbie;role=agency-admin", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=new bie;role=admin", -EINVAL, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=newbie", -EINVAL, "user.add: give the role ('role')");
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=newbie;role=admin;enabled=maybe", -EINVAL,
                  "user.add: enabled must be yes or no, not 'maybe'");
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=owen;role=owner", -EEXIST, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=owen;role=call-agent;account=ct2", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=owen;role=admin;account=ct2", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_ADD, "name=hank;role=call-agent", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=ghost;role=admin", -ENOENT, "unknown user 'ghost'");
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=owen;role=admin", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=owen;role=ghost", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=hank;groups=g1", -ENOENT,
                  "user 'hank' has no role in account 'default': give one with --role");
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=hank;role=call-agent", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=owen", -EINVAL, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=frank;role=call-agent", -ENOTUNIQ,
                  "user 'frank' belongs to accounts default, sub1: say which with --account");
        AUTHORIZE(&admin, CR_MSG_USER_SET, "name=frank;enabled=no", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_DELETE, "name=ghost", -ENOENT, "unknown user 'ghost'");
        AUTHORIZE(&admin, CR_MSG_USER_DELETE, "name=carol;account=sub1", -ENOENT,
                  "user 'carol' has no role in account 'sub1'");
        AUTHORIZE(&admin, CR_MSG_USER_DELETE, "name=carol;account=nowhere", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_DELETE, "name=frank;account=sub1", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_USER_DELETE, "name=owen", 0, NULL);

        AUTHORIZE(&admin, CR_MSG_ACCOUNT_ADD, "name=acme", -EEXIST, "account 'acme' already exists");
        AUTHORIZE(&admin, CR_MSG_ACCOUNT_ADD, "name=sub3;parent=ghost", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_ACCOUNT_ADD, "name=sub3;parent=acme;plan=basic", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_ACCOUNT_SET, "name=ghost;seats=3", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_ACCOUNT_SET, "name=acme;hide=texts.*", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_PERMISSION_ADD, "name=login", -EEXIST, "permission 'login' already exists");
        AUTHORIZE(&admin, CR_MSG_PERMISSION_ADD, "name=tags.edit", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_PLAN_SET, "name=gold;features=*", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=admin;rank=5;grants=login", -EEXIST,
                  "role 'admin' already exists in account 'default'");
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=admin;rank=5;grants=login;account=sub1", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=viewer;rank=5;grants=login,calls.view@assigned+direction=inbound", 0,
                  NULL);
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=viewer;rank=5;grants=login,nope.x", -ENOENT,
                  "unknown permission 'nope.x' in grant 'nope.x': add it with 'callrolectl permission add nope.x'");
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=viewer;rank=5;grants=calls.view@sideways", -EINVAL, NULL);
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=viewer;rank=high;grants=login", -EINVAL,
                  "role.add: rank 'high' is not an integer");
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=viewer;grants=login", -EINVAL, NULL);
        AUTHORIZE(&admin, CR_MSG_ROLE_ADD, "role=viewer;rank=1;account=nowhere", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_ROLE_DELETE, "role=admin", -EBUSY,
                  "role 'admin' in account 'default' is held by 2 user(s), 'alice' among them: give them another "
                  "role first");
        AUTHORIZE(&admin, CR_MSG_ROLE_DELETE, "role=ghost", -ENOENT, "unknown role 'ghost' in account 'default'");
        AUTHORIZE(&admin, CR_MSG_ROLE_DELETE, "role=admin;account=sub1", -ENOENT, NULL);
        AUTHORIZE(&admin, CR_MSG_ROLE_DELETE, "role=admin-partner;account=ct2", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_RULE_ADD, "if=reports.view_tab;requires=reports.*.view", 0, NULL);
        AUTHORIZE(&admin, CR_MSG_RULE_ADD, "if=reports.view_tab", -EINVAL, NULL);
        AUTHORIZE(&admin, CR_MSG_RULE_ADD, "if=a;requires=b;account=ghost", -ENOENT, NULL);
}

/* ---- hiding what a peer may not see (security review) -------------------- */

/* The one refusal of a check or scope the peer may not make. */
static const char *refused_query(unsigned uid, const char *user) {
        static char buf[512];
        snprintf(buf, sizeof(buf),
                 "uid %u may not query user '%s': only administrators, the query group, the user themselves and users "
                 "allowed to see that user's role there may",
                 uid, user);
        return buf;
}

/* Finding 1: user.add of a user who exists gives them a further account,
 * which changes the user everywhere (every check without --account turns
 * ambiguous, and PAM fails the login).  It needs what disabling the user
 * needs: a higher rank in every account the user belongs to. */
static void test_authorize_add_existing_user(void **state) {
        Peer padmin = user_peer("padmin"), madmin = user_peer("madmin"), admin = admin_peer();
        static const char equal[] = "padmin (Administrator, rank 70) may not change xadmin (Administrator, rank 70): "
                                    "only users ranked below you";

        AUTHORIZE_IN(tx, &padmin, CR_MSG_USER_SET, "name=xadmin;enabled=no", -EPERM, equal);
        AUTHORIZE_IN(tx, &padmin, CR_MSG_USER_ADD, "name=xadmin;role=call-agent;account=acctB", -EPERM, equal);
        AUTHORIZE_IN(tx, &padmin, CR_MSG_USER_ADD, "name=xadmin;role=call-agent;account=acctB;display-name=X", -EPERM,
                     equal);
        /* The model is as it was: xadmin's checks need no --account. */
        ALLOW_IN(tx, &root_peer, "xadmin", "login", NULL, NULL, "admin", "default", "");
        /* A user ranked below the peer everywhere may get a further role. */
        AUTHORIZE_IN(tx, &padmin, CR_MSG_USER_ADD, "name=walt;role=call-agent;account=acctB", 0, NULL);
        AUTHORIZE_IN(tx, &padmin, CR_MSG_USER_ADD, "name=walt;role=call-agent;account=acctB;enabled=no;display-name=W",
                     0, NULL);
        AUTHORIZE_IN(tx, &admin, CR_MSG_USER_ADD, "name=xadmin;role=call-agent;account=acctB", 0, NULL);
        /* A user the peer may not see: the name is taken, and no more, be
         * it an equal, someone above or someone below. */
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_ADD, "name=walt;role=call-agent;account=acctB", -EEXIST,
                     "user 'walt' already exists");
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_ADD, "name=xadmin;role=call-agent;account=acctB", -EEXIST,
                     "user 'xadmin' already exists");
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_ADD, "name=xadmin;role=call-agent;account=acctC", -EEXIST,
                     "user 'xadmin' already exists");
        /* A user it sees, with a role elsewhere it may not see: refused,
         * naming neither that account nor that role. */
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_ADD, "name=yboss;role=call-agent;account=acctC", -EPERM,
                     "user 'madmin' may not change user 'yboss': only users ranked below you in every account they "
                     "belong to");
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_ADD, "name=beth;role=call-agent;account=acctC", 0, NULL);
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_ADD, "name=yboss;role=call-agent;account=acctB", -EEXIST,
                     "user 'yboss' already has a role in account 'acctB': change it with 'callrolectl user set'");
}

/* Finding 2: a check or scope answers only about a membership the peer may
 * see; anything else is the refusal an invisible user gets. */
static void test_check_hidden_memberships(void **state) {
        Peer madmin = user_peer("madmin"), mgr = user_peer("mgr"), padmin = user_peer("padmin"),
             yboss = user_peer("yboss"), query = { .uid = 1234, .query = true }, nobody = { .uid = 4242 };
        struct cr_records l = {};
        _cleanup_free_ char *err = NULL;

        /* madmin sees yboss only as a Call Agent of acctB. */
        CHECK_ERROR_IN(tx, &madmin, "yboss", "calls.export", "default", NULL, -EPERM, refused_query(1000, "yboss"));
        /* ...exactly as a user it may not see, one that does not exist, a
         * user without a role there, or an account that does not exist. */
        CHECK_ERROR_IN(tx, &madmin, "xadmin", "calls.export", "default", NULL, -EPERM, refused_query(1000, "xadmin"));
        CHECK_ERROR_IN(tx, &madmin, "ghost", "login", NULL, NULL, -EPERM, refused_query(1000, "ghost"));
        CHECK_ERROR_IN(tx, &madmin, "beth", "login", "default", NULL, -EPERM, refused_query(1000, "beth"));
        CHECK_ERROR_IN(tx, &madmin, "beth", "login", "nowhere", NULL, -EPERM, refused_query(1000, "beth"));
        CHECK_ERROR_IN(tx, &nobody, "beth", "login", NULL, NULL, -EPERM, refused_query(4242, "beth"));
        /* Without --account: the one membership it sees, not "ambiguous". */
        ALLOW_IN(tx, &madmin, "yboss", "login", NULL, NULL, "call-agent", "acctB", "");
        DENY_IN(tx, &madmin, "yboss", "calls.export", NULL, NULL, CR_REASON_NOT_GRANTED, "call-agent", "acctB",
                "role 'Call Agent' does not grant calls.export");
        ALLOW_IN(tx, &madmin, "yboss", "calls.view", "acctB", "assignee=yboss", "call-agent", "acctB",
                 "limited to assigned calls");
        /* Hidden by rank in an account the peer is in. */
        CHECK_ERROR_IN(tx, &mgr, "yboss", "login", "default", NULL, -EPERM, refused_query(1000, "yboss"));
        ALLOW_IN(tx, &mgr, "yboss", "login", NULL, NULL, "call-agent", "acctB", "");
        ALLOW_IN(tx, &mgr, "walt", "login", "default", NULL, "call-agent", "default", "");
        /* Several it sees: ambiguous, listing them. */
        CHECK_ERROR_IN(tx, &padmin, "zed", "login", NULL, NULL, -ENOTUNIQ,
                       "user 'zed' belongs to accounts default, acctB: say which with --account");
        /* Administrators, the query group and the user itself: everything,
         * as before. */
        CHECK_ERROR_IN(tx, &root_peer, "yboss", "login", NULL, NULL, -ENOTUNIQ,
                       "user 'yboss' belongs to accounts default, acctB: say which with --account");
        CHECK_ERROR_IN(tx, &yboss, "yboss", "login", NULL, NULL, -ENOTUNIQ,
                       "user 'yboss' belongs to accounts default, acctB: say which with --account");
        ALLOW_IN(tx, &root_peer, "yboss", "calls.export", "default", NULL, "agency-administrator", "default", "");
        ALLOW_IN(tx, &query, "yboss", "calls.export", "default", NULL, "agency-administrator", "default", "");
        ALLOW_IN(tx, &yboss, "yboss", "calls.export", "default", NULL, "agency-administrator", "default", "");
        CHECK_ERROR_IN(tx, &root_peer, "beth", "login", "nowhere", NULL, -ENOENT,
                       "unknown account 'nowhere': see 'callrolectl account list'");
        DENY_IN(tx, &root_peer, "ghost", "login", NULL, NULL, CR_REASON_NO_SUCH_USER, "", "",
                "no callrole user 'ghost'");

        /* Scopes alike, with the same refusal. */
        SCOPE_IN(tx, &madmin, "yboss", "calls.view", NULL, 1, "{assignee=yboss}");
        SCOPE_IN(tx, &madmin, "yboss", "calls.export", "default", -EPERM, "");
        SCOPE_IN(tx, &mgr, "yboss", "calls.view", "default", -EPERM, "");
        SCOPE_IN(tx, &root_peer, "yboss", "calls.export", "default", 1, "{}");
        SCOPE_IN(tx, &padmin, "zed", "calls.view", NULL, -ENOTUNIQ, "");
        assert_int_equal(policy_scope(tx, &madmin, "yboss", "calls.export", "default", &l, &err), -EPERM);
        assert_string_equal(err, refused_query(1000, "yboss"));
        assert_int_equal(l.n, 0);
        assert_int_equal(policy_scope(tx, NULL, "yboss", "login", NULL, &l, NULL), -EINVAL);
}

/* Finding 2, changes: the account a change is about and every refusal
 * speak only of memberships the peer may see. */
static void test_authorize_hidden_memberships(void **state) {
        Peer madmin = user_peer("madmin"), mgr = user_peer("mgr"), padmin = user_peer("padmin"), admin = admin_peer();

        /* Account left out: the memberships it may not see make it
         * ambiguous without being named. */
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_SET, "name=yboss;groups=g1", -ENOTUNIQ,
                     "user 'yboss' belongs to more than one account (those you may see: acctB): say which with "
                     "--account");
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_SET, "name=yboss;account=acctB;groups=g1", 0, NULL);
        AUTHORIZE_IN(tx, &padmin, CR_MSG_USER_SET, "name=zed;groups=g1", -ENOTUNIQ,
                     "user 'zed' belongs to accounts default, acctB: say which with --account");
        AUTHORIZE_IN(tx, &admin, CR_MSG_USER_SET, "name=yboss;groups=g1", -ENOTUNIQ,
                     "user 'yboss' belongs to accounts default, acctB: say which with --account");
        /* A change to the whole user reaching a membership it may not see. */
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_SET, "name=yboss;enabled=no", -EPERM,
                     "user 'madmin' may not change user 'yboss': only users ranked below you in every account they "
                     "belong to");
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_DELETE, "name=yboss", -EPERM,
                     "user 'madmin' may not delete user 'yboss': only users ranked below you in every account they "
                     "belong to");
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_DELETE, "name=yboss;account=acctB", 0, NULL);
        /* mgr is in default but may not see yboss's role there: to mgr it
         * is no role, word for word what beth, who has none, gets. */
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_SET, "name=yboss;account=default;groups=g1", -ENOENT,
                     "user 'yboss' has no role in account 'default': give one with --role");
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_SET, "name=beth;account=default;groups=g1", -ENOENT,
                     "user 'beth' has no role in account 'default': give one with --role");
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_SET, "name=yboss;account=default;role=call-agent", -ENOENT,
                     "user 'yboss' has no role in account 'default': add one with 'callrolectl user add yboss --role "
                     "ROLE --account default'");
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_SET, "name=beth;account=default;role=call-agent", -ENOENT,
                     "user 'beth' has no role in account 'default': add one with 'callrolectl user add beth --role "
                     "ROLE --account default'");
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_DELETE, "name=yboss;account=default", -ENOENT,
                     "user 'yboss' has no role in account 'default'");
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_DELETE, "name=beth;account=default", -ENOENT,
                     "user 'beth' has no role in account 'default'");
        /* Where mgr sees the role, it is named as before. */
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_SET, "name=walt;account=default;groups=g1", 0, NULL);
        AUTHORIZE_IN(tx, &mgr, CR_MSG_USER_SET, "name=zed;account=default;role=call-manager", -EPERM,
                     "mgr (Call Manager, rank 40) may not give zed the role 'Call Manager' (rank 40): only roles "
                     "ranked below yours");
        /* An account madmin is not in: yboss's role there is no role to it. */
        AUTHORIZE_IN(tx, &madmin, CR_MSG_USER_SET, "name=yboss;account=default;groups=g1", -ENOENT,
                     "user 'yboss' has no role in account 'default': give one with --role");
}

/* ---- read renderers ----------------------------------------------------- */

static void test_role_records(void **state) {
        struct cr_records l = {};
        _cleanup_free_ char *names = NULL;
        char *err = NULL;

        assert_int_equal(policy_role_records(fx, &root_peer, NULL, NULL, &l, NULL), 0);
        assert_int_equal(l.n, 15);
        cr_records_clear(&l);
        /* Roles usable in sub1: acme's. */
        assert_int_equal(policy_role_records(fx, &root_peer, "sub1", NULL, &l, NULL), 0);
        names = records_joined(&l, "role");
        assert_string_equal(names, "agency-admin,admin,call-agent");
        expect_field(&l.items[1], "account", "acme");
        cr_records_clear(&l);

        assert_int_equal(policy_role_records(fx, &root_peer, NULL, "supervisor", &l, NULL), 0);
        assert_int_equal(l.n, 1);
        expect_field(&l.items[0], "account", "default");
        expect_field(&l.items[0], "role", "supervisor");
        expect_field(&l.items[0], "title", "Supervisor");
        expect_field(&l.items[0], "rank", "30");
        expect_field(&l.items[0], "grants", "login,calls.view@groups+ivrs,calls.listen@acg,users.view");
        cr_records_clear(&l);
        assert_int_equal(policy_role_records(fx, &root_peer, "sub1", "admin", &l, NULL), 0);
        expect_field(&l.items[0], "account", "acme");
        expect_field(&l.items[0], "rank", "70");
        cr_records_clear(&l);
        assert_int_equal(policy_role_records(fx, &root_peer, "ct2", "admin", &l, NULL), 0);
        expect_field(&l.items[0], "grants", "login,billing.invoices.view/no-role=admin-partner");
        cr_records_clear(&l);

        assert_int_equal(policy_role_records(fx, &root_peer, NULL, "admin", &l, &err), -ENOTUNIQ);
        assert_string_equal(err, "role 'admin' exists in accounts default, acme, ct, ct2: say which with --account");
        free(err);
        err = NULL;
        assert_int_equal(policy_role_records(fx, &root_peer, NULL, "ghost", &l, &err), -ENOENT);
        free(err);
        err = NULL;
        assert_int_equal(policy_role_records(fx, &root_peer, "sub1", "owner", &l, &err), -ENOENT);
        assert_string_equal(err, "unknown role 'owner' in account 'sub1' or its agencies");
        free(err);
        err = NULL;
        assert_int_equal(policy_role_records(fx, &root_peer, "nowhere", NULL, &l, &err), -ENOENT);
        free(err);
        assert_int_equal(l.n, 0);
}

static void test_other_records(void **state) {
        struct cr_records l = {};
        const struct cr_record *sub1 = NULL, *acme = NULL, *ct = NULL;
        char *err = NULL;

        assert_int_equal(policy_permission_records(fx, &l), 0);
        assert_int_equal(l.n, ELEMENTSOF(catalogue));
        expect_field(&l.items[0], "name", "login");
        expect_field(&l.items[0], "description", "a permission");
        expect_field(&l.items[0], "builtin", "yes");
        cr_records_clear(&l);

        assert_int_equal(policy_account_records(fx, &root_peer, &l, NULL), 0);
        assert_int_equal(l.n, 6);
        for (size_t i = 0; i < l.n; i++) {
                const char *n = cr_record_get(&l.items[i], "name");
                if (streq_ptr(n, "sub1"))
                        sub1 = &l.items[i];
                else if (streq_ptr(n, "acme"))
                        acme = &l.items[i];
                else if (streq_ptr(n, "ct"))
                        ct = &l.items[i];
        }
        assert_non_null(sub1);
        assert_non_null(acme);
        assert_non_null(ct);
        expect_field(sub1, "parent", "acme");
        expect_field(sub1, "plan", "");
        expect_field(sub1, "seats", "-1");
        expect_field(sub1, "users", "4");
        expect_field(sub1, "attrs", "billing=customer");
        expect_field(sub1, "hidden", "");
        expect_field(acme, "parent", "");
        expect_field(acme, "plan", "pro");
        expect_field(acme, "hidden", "calls.export,agency.cancel");
        expect_field(ct, "seats", "3");
        expect_field(ct, "users", "2");
        cr_records_clear(&l);

        assert_int_equal(policy_export_records(fx, NULL, &l, NULL), 0);
        assert_int_equal(l.n, 22 + 1); /* memberships, and hank without any */
        expect_field(&l.items[3], "name", "dave");
        expect_field(&l.items[3], "groups", "g1,g2");
        expect_field(&l.items[3], "ivrs", "i1");
        expect_field(&l.items[3], "acg", "a1");
        expect_field(&l.items[3], "role", "supervisor");
        expect_field(&l.items[3], "enabled", "yes");
        cr_records_clear(&l);
        assert_int_equal(policy_export_records(fx, "sub1", &l, NULL), 0);
        {
                _cleanup_free_ char *names = records_joined(&l, "name");
                assert_string_equal(names, "frank,ken,lara,mia");
        }
        cr_records_clear(&l);
        assert_int_equal(policy_export_records(fx, "nowhere", &l, &err), -ENOENT);
        assert_int_equal(l.n, 0);
        free(err);
}

/* Finding 3: roles and accounts are read by administrators, the query group
 * and callrole users, each seeing its part; the permission catalogue stays
 * open (test_other_records). */
static void roles_at(int line, const Peer *peer, const char *account, const char *expect) {
        struct cr_records l = {};
        _cleanup_free_ char *err = NULL, *got = NULL, *accounts = NULL;
        int r = policy_role_records(fx, peer, account, NULL, &l, &err);

        if (r < 0)
                print_error("role records: %d %s\n", r, err ? err : "");
        _assert_int_equal(r, 0, __FILE__, line);
        got = records_joined(&l, "role");
        accounts = records_joined(&l, "account");
        if (!streq_ptr(got, expect))
                print_error("roles of %s: %s\n", accounts, got);
        _assert_string_equal(got, expect, __FILE__, line);
        cr_records_clear(&l);
}
#define ROLES(peer, account, expect) roles_at(__LINE__, peer, account, expect)

static void accounts_at(int line, const Peer *peer, const char *expect) {
        struct cr_records l = {};
        _cleanup_free_ char *err = NULL, *got = NULL;
        int r = policy_account_records(fx, peer, &l, &err);

        if (r < 0)
                print_error("account records: %d %s\n", r, err ? err : "");
        _assert_int_equal(r, 0, __FILE__, line);
        got = records_joined(&l, "name");
        _assert_string_equal(got, expect, __FILE__, line);
        cr_records_clear(&l);
}
#define ACCOUNTS(peer, expect) accounts_at(__LINE__, peer, expect)

/* role.get as peer: 0 and the role's account, or the error and message. */
static void role_get_at(int line, const Peer *peer, const char *account, const char *role, int expect,
                        const char *account_or_message) {
        struct cr_records l = {};
        _cleanup_free_ char *err = NULL;
        int r = policy_role_records(fx, peer, account, role, &l, &err);

        if (r != expect)
                print_error("role.get %s: %d %s\n", role, r, err ? err : "");
        _assert_int_equal(r, expect, __FILE__, line);
        if (r == 0) {
                _assert_int_equal(l.n, 1, __FILE__, line);
                _assert_string_equal(cr_record_get(&l.items[0], "account"), account_or_message, __FILE__, line);
        } else {
                _assert_int_equal(l.n, 0, __FILE__, line);
                _assert_string_equal(err, account_or_message, __FILE__, line);
        }
        cr_records_clear(&l);
}
#define ROLE_GET(peer, account, role, expect, account_or_message) \
        role_get_at(__LINE__, peer, account, role, expect, account_or_message)

static void test_reads_by_peer(void **state) {
        Peer nobody = { .uid = 4242 }, ghost = user_peer("ghost"), erin = user_peer("erin"), alice = user_peer("alice"),
             gina = user_peer("gina"), ken = user_peer("ken"), mia = user_peer("mia"), pat = user_peer("pat"),
             query = { .uid = 1234, .query = true };
        static const char no_roles[] = "uid 4242 may not list roles: it is not a callrole administrator, not in the "
                                       "query group and maps to no enabled callrole user";
        struct cr_records l = {};
        char *err = NULL;

        /* Nobody in callrole: nothing about roles or accounts. */
        assert_int_equal(policy_role_records(fx, &nobody, NULL, NULL, &l, &err), -EPERM);
        assert_string_equal(err, no_roles);
        free(err);
        err = NULL;
        ROLE_GET(&nobody, "default", "call-agent", -EPERM, no_roles);
        ROLE_GET(&nobody, NULL, "call-agent", -EPERM, no_roles);
        assert_int_equal(policy_account_records(fx, &nobody, &l, &err), -EPERM);
        assert_string_equal(err, "uid 4242 may not list accounts: it is not a callrole administrator, not in the "
                                 "query group and maps to no enabled callrole user");
        free(err);
        err = NULL;
        /* A name that maps to no callrole user, a disabled user: the same. */
        assert_int_equal(policy_account_records(fx, &ghost, &l, NULL), -EPERM);
        assert_int_equal(policy_account_records(fx, &erin, &l, NULL), -EPERM);
        assert_int_equal(policy_role_records(fx, &erin, NULL, NULL, &l, NULL), -EPERM);
        assert_int_equal(l.n, 0);
        assert_int_equal(policy_role_records(fx, NULL, NULL, NULL, &l, NULL), -EINVAL);
        assert_int_equal(policy_account_records(fx, NULL, &l, NULL), -EINVAL);

        /* Everything for administrators and the query group. */
        ROLES(&query, NULL,
              "no-access,call-agent,inbound,outbound,supervisor,call-manager,admin,owner,agency-admin,admin,call-agent,"
              "admin,admin-partner,admin,admin-partner");
        ACCOUNTS(&query, "default,acme,sub1,sub2,ct,ct2");
        ACCOUNTS(&root_peer, "default,acme,sub1,sub2,ct,ct2");
        ROLE_GET(&query, NULL, "owner", 0, "default");

        /* A callrole user: the roles usable where it has a role, up to its
         * rank there; the accounts it is in and their sub-accounts. */
        ROLES(&alice, NULL, "no-access,call-agent,inbound,outbound,supervisor,call-manager,admin");
        ROLES(&alice, "default", "no-access,call-agent,inbound,outbound,supervisor,call-manager,admin");
        ACCOUNTS(&alice, "default");
        ROLES(&gina, NULL, "agency-admin,admin,call-agent");
        ROLES(&gina, "sub2", "agency-admin,admin,call-agent");
        ACCOUNTS(&gina, "acme,sub1,sub2");
        /* ken administers sub1: acme's roles that apply there, up to 70. */
        ROLES(&ken, NULL, "admin,call-agent");
        ROLES(&ken, "sub1", "admin,call-agent");
        ACCOUNTS(&ken, "sub1");
        /* mia: a Call Agent of acme, an Administrator of sub1. */
        ROLES(&mia, NULL, "admin,call-agent");
        ACCOUNTS(&mia, "acme,sub1,sub2");
        /* pat (ct, Admin 70) does not see ct's Admin Partner (80). */
        ROLES(&pat, NULL, "admin");

        /* What it may not see is unknown, word for word as what does not
         * exist. */
        ROLE_GET(&alice, NULL, "owner", -ENOENT, "unknown role 'owner': see 'callrolectl role list'");
        ROLE_GET(&alice, NULL, "ghost", -ENOENT, "unknown role 'ghost': see 'callrolectl role list'");
        ROLE_GET(&alice, "default", "owner", -ENOENT, "unknown role 'owner' in account 'default' or its agencies");
        ROLE_GET(&alice, "default", "ghost", -ENOENT, "unknown role 'ghost' in account 'default' or its agencies");
        ROLE_GET(&ken, "sub1", "agency-admin", -ENOENT,
                 "unknown role 'agency-admin' in account 'sub1' or its agencies");
        ROLE_GET(&pat, "ct", "admin-partner", -ENOENT, "unknown role 'admin-partner' in account 'ct' or its agencies");
        ROLE_GET(&alice, "sub1", "admin", -ENOENT, "unknown account 'sub1': see 'callrolectl account list'");
        ROLE_GET(&alice, "nowhere", "admin", -ENOENT, "unknown account 'nowhere': see 'callrolectl account list'");
        assert_int_equal(policy_role_records(fx, &ken, "default", NULL, &l, &err), -ENOENT);
        assert_string_equal(err, "unknown account 'default': see 'callrolectl account list'");
        free(err);
        err = NULL;
        assert_int_equal(l.n, 0);
        /* "admin" exists in four accounts; alice sees one, gina another. */
        ROLE_GET(&alice, NULL, "admin", 0, "default");
        ROLE_GET(&gina, NULL, "admin", 0, "acme");
        ROLE_GET(&ken, "sub1", "admin", 0, "acme");
        ROLE_GET(&root_peer, NULL, "admin", -ENOTUNIQ,
                 "role 'admin' exists in accounts default, acme, ct, ct2: say which with --account");
}

static void test_describe(void **state) {
        static const struct {
                const char *user, *text;
        } users[] = {
                { "alice", "alice (Alice A.) enabled; default: admin" },
                { "dave", "dave enabled; default: supervisor groups=g1,g2 ivrs=i1 acg=a1" },
                { "frank", "frank enabled; default: call-agent; sub1: acme/call-agent" },
                { "lara", "lara enabled; sub1: acme/call-agent only=login" },
                { "erin", "erin disabled; default: call-agent" },
                { "hank", "hank enabled" },
        };
        char *d;

        for (size_t i = 0; i < ELEMENTSOF(users); i++) {
                d = policy_describe_user(fx, users[i].user);
                assert_non_null(d);
                assert_string_equal(d, users[i].text);
                free(d);
        }
        assert_null(policy_describe_user(fx, "ghost"));
        assert_null(policy_describe_user(fx, NULL));

        d = policy_describe_role(fx, "default", "call-agent");
        assert_string_equal(d, "call-agent (Call Agent) rank 10: login, softphone.use, calls.view@assigned, "
                               "texts.view@assigned");
        free(d);
        d = policy_describe_role(fx, NULL, "no-access");
        assert_string_equal(d, "no-access (No Access) rank 0:");
        free(d);
        d = policy_describe_role(fx, "acme", "admin");
        assert_non_null(d);
        free(d);
        /* Exactly that account's role: sub1 has none of its own. */
        assert_null(policy_describe_role(fx, "sub1", "admin"));
        assert_null(policy_describe_role(fx, "default", "ghost"));
        assert_null(policy_describe_role(fx, "nowhere", "admin"));
}

/* ---- validation --------------------------------------------------------- */

static void validate_at(int line, Model *m, int expect, const char *message) {
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        _assert_int_equal(snapshot_compile(m, 1, &s), 0, __FILE__, line);
        r = policy_validate(s, &err);
        if (r != expect)
                print_error("validate: %d %s\n", r, err ? err : "");
        _assert_int_equal(r, expect, __FILE__, line);
        if (message)
                _assert_string_equal(err, message, __FILE__, line);
        else if (expect == 0)
                _assert_true(err == NULL, "no message on success", __FILE__, line);
        model_free(m);
}
#define VALIDATE(m, expect, message) validate_at(__LINE__, m, expect, message)

static void test_validate_rules(void **state) {
        Model *m;
        char *err = NULL;

        assert_int_equal(policy_validate(fx, &err), 0);
        assert_null(err);
        assert_int_equal(policy_validate(NULL, &err), -EINVAL);

        /* The administrator holds both sides. */
        m = fixture_model();
        add_rule(m, "default", "reports.view_tab", "reports.*.view");
        VALIDATE(m, 0, NULL);

        m = fixture_model();
        add_rule(m, "default", "reports.view_tab", "reports.*.view");
        add_role(m, "default", "reporter", "Reporter", 5, "login,reports.view_tab");
        VALIDATE(m, -EINVAL,
                 "role 'reporter' in account 'default' holds reports.view_tab but none of reports.*.view: add one "
                 "(rule of account 'default')");

        m = fixture_model();
        add_rule(m, "default", "reports.view_tab", "reports.*.view");
        add_role(m, "default", "reporter", "Reporter", 5, "login,reports.view_tab,reports.missed_opportunities.view");
        VALIDATE(m, 0, NULL);

        /* Both directions at once work. */
        m = fixture_model();
        add_rule(m, "default", "reports.view_tab", "reports.*.view");
        add_rule(m, "default", "reports.*.view", "reports.view_tab");
        add_role(m, "default", "reporter", "Reporter", 5, "reports.view_tab,reports.missed_opportunities.view");
        VALIDATE(m, 0, NULL);

        m = fixture_model();
        add_rule(m, "default", "reports.view_tab", "reports.*.view");
        add_rule(m, "default", "reports.*.view", "reports.view_tab");
        add_role(m, "default", "receptionist", "Receptionist", 5, "login,reports.missed_opportunities.view");
        VALIDATE(m, -EINVAL,
                 "role 'receptionist' in account 'default' holds reports.missed_opportunities.view but none of "
                 "reports.view_tab: add one (rule of account 'default')");

        /* A permission does not satisfy the rule it triggers. */
        m = fixture_model();
        add_rule(m, "default", "reports.view_tab", "reports.*");
        add_role(m, "default", "tab-only", "Tab Only", 5, "login,reports.view_tab");
        VALIDATE(m, -EINVAL,
                 "role 'tab-only' in account 'default' holds reports.view_tab but no other permission matching "
                 "reports.*: add one (rule of account 'default')");
        m = fixture_model();
        add_rule(m, "default", "reports.view_tab", "reports.*");
        add_role(m, "default", "tab-edit", "Tab Edit", 5, "login,reports.view_tab,reports.edit");
        VALIDATE(m, 0, NULL);

        /* A rule reaches the account's sub-accounts, not other accounts. */
        m = fixture_model();
        add_rule(m, "acme", "calls.export", "calls.listen");
        VALIDATE(m, -EINVAL,
                 "role 'agency-admin' in account 'acme' holds calls.export but none of calls.listen: add one (rule "
                 "of account 'acme')");
        m = fixture_model();
        add_rule(m, "sub1", "calls.export", "calls.listen");
        add_role(m, "sub1", "exporter", "Exporter", 5, "calls.export");
        add_role(m, "default", "exporter", "Exporter", 5, "calls.export");
        VALIDATE(m, -EINVAL,
                 "role 'exporter' in account 'sub1' holds calls.export but none of calls.listen: add one (rule of "
                 "account 'sub1')");
        m = fixture_model();
        add_rule(m, "sub2", "calls.export", "calls.listen");
        add_role(m, "sub1", "exporter", "Exporter", 5, "calls.export");
        VALIDATE(m, 0, NULL);
}

static void test_validate_seats_and_memberships(void **state) {
        Model *m;

        m = fixture_model();
        m->accounts[4].seats = 1; /* ct: pat and quinn */
        VALIDATE(m, -EDQUOT,
                 "account 'ct' has 1 seats and 2 users: remove users or raise the seats with 'callrolectl account "
                 "set'");
        m = fixture_model();
        m->accounts[4].seats = 2;
        VALIDATE(m, 0, NULL);
        m = fixture_model();
        m->accounts[4].seats = 0;
        VALIDATE(m, -EDQUOT, NULL);
        /* Seats count direct members only: gina at acme does not take a
         * seat of sub1. */
        m = fixture_model();
        m->accounts[2].seats = 4;
        VALIDATE(m, 0, NULL);

        /* A role from an account that is not this one or an agency above. */
        m = fixture_model();
        add_membership(add_user(m, "zed", NULL, true), "default", "acme", "admin");
        VALIDATE(m, -EINVAL,
                 "user 'zed' has role 'admin' of account 'acme' in account 'default', which is neither that account "
                 "nor one of its sub-accounts: use a role of 'default' or of its agencies");
}

/* A supervisor in 400 groups: the detail naming them stays one sendable
 * wire string. */
static void test_long_detail(void **state) {
        _cleanup_(model_freep) Model *m = fixture_model();
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        struct cr_decision d = {};
        ModelMembership *mm = add_membership(add_user(m, "busy", NULL, true), "default", NULL, "supervisor");
        char g[32];

        for (int i = 0; i < 400; i++) {
                snprintf(g, sizeof(g), "group-number-%03d", i);
                assert_int_equal(strv_extend(&mm->groups, g), 0);
        }
        assert_int_equal(snapshot_compile(m, 1, &s), 0);
        assert_int_equal(policy_check(s, &root_peer, "busy", "calls.view", NULL, (const char *const[]) { "group" },
                                      (const char *const[]) { "elsewhere" }, 1, &d, NULL),
                         0);
        assert_false(d.allowed);
        assert_int_equal(d.reason, CR_REASON_OUT_OF_SCOPE);
        assert_true(strlen(d.detail) <= 1024);
        assert_true(strncmp(d.detail, "calls.view is limited to groups group-number-000, ", 50) == 0);
        assert_string_equal(d.detail + strlen(d.detail) - 3, "...");
        cr_decision_clear(&d);
        assert_int_equal(policy_check(s, &root_peer, "busy", "calls.view", NULL, (const char *const[]) { "group" },
                                      (const char *const[]) { "group-number-399" }, 1, &d, NULL),
                         0);
        assert_true(d.allowed);
        cr_decision_clear(&d);
}

/* Many answers in a row, alternating allow and deny: no state is carried
 * from one check to the next. */
static void test_many_checks(void **state) {
        struct cr_decision d = {};
        for (int i = 0; i < 100000; i++) {
                assert_int_equal(policy_check(fx, &root_peer, "carol", "calls.view", NULL,
                                              (const char *const[]) { "assignee" },
                                              (const char *const[]) { i % 2 ? "carol" : "bob" }, 1, &d, NULL),
                                 0);
                assert_int_equal(d.allowed, i % 2);
                cr_decision_clear(&d);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check_arguments),
                cmocka_unit_test(test_check_reasons),
                cmocka_unit_test(test_check_order),
                cmocka_unit_test(test_check_scopes),
                cmocka_unit_test(test_check_conditions),
                cmocka_unit_test(test_check_agency),
                cmocka_unit_test(test_scope),
                cmocka_unit_test(test_may_read_user),
                cmocka_unit_test(test_user_list),
                cmocka_unit_test(test_user_records),
                cmocka_unit_test(test_authorize_hierarchy),
                cmocka_unit_test(test_authorize_peers),
                cmocka_unit_test(test_authorize_admin),
                cmocka_unit_test(test_authorize_add_existing_user),
                cmocka_unit_test(test_check_hidden_memberships),
                cmocka_unit_test(test_authorize_hidden_memberships),
                cmocka_unit_test(test_role_records),
                cmocka_unit_test(test_other_records),
                cmocka_unit_test(test_reads_by_peer),
                cmocka_unit_test(test_describe),
                cmocka_unit_test(test_validate_rules),
                cmocka_unit_test(test_validate_seats_and_memberships),
                cmocka_unit_test(test_long_detail),
                cmocka_unit_test(test_many_checks),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
