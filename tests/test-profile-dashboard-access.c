/*
 * test-profile-dashboard-access.c: conformance of
 * profiles/dashboard-access.profile to the "Dashboard access" page (seed:
 * dashboard-access-roles.txt), against a real callroled with the profile
 * loaded into the account "da".
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

#include "helper-profile.h"

static callrole *admin;

/* The Superadministrator's permissions: the whole dashboard. */
static const char *const everything[] = {
        "login",          "activity.view",    "logs.view",         "analytics.view",   "campaigns.manage",
        "tasks.manage",   "billing.credits.add", "billing.invoices.view", "users.view", "users.create",
        "users.edit",     "users.delete",     "numbers.view",      "numbers.purchase", "numbers.edit",
        "ivrs.edit",      "conferences.manage", "groups.view",     "groups.create",    "groups.edit",
        "groups.delete",  "call_tags.view",   "call_tags.create",  "call_tags.edit",   "call_tags.delete",
        "snoozes.edit",   "blocked_numbers.edit", "contacts.view", "contacts.edit",    "developer.access",
        "integrations.edit", "action_logs.view", "brands.edit",    "settings.edit",    NULL,
};

static int setup(void **state) {
        admin = pt_start_admin();
        if (!admin ||
            test_daemon_call(admin, "account.add", "name", "da", NULL) < 0 ||
            test_daemon_call(admin, "profile.load", "name", "dashboard-access", "account", "da", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "sa", "role", "superadministrator", "account", "da",
                             NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "a1", "role", "admin", "account", "da", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "a2", "role", "admin", "account", "da", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "sv", "role", "supervisor", "account", "da", "groups", "sales",
                             "groups", "support", "ivrs", "main", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "sv2", "role", "supervisor", "account", "da", "groups", "sales",
                             "ivrs", "main", "only", "login", "only", "activity.view", "only", "logs.view", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "acc", "role", "accountant", "account", "da", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "tech", "role", "technical", "account", "da", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "nr", "role", "no-rights", "account", "da", NULL) < 0)
                return -1;
        return 0;
}

static int teardown(void **state) {
        return pt_stop_admin(&admin);
}

static void test_role_ids(void **state) {
        static const PtRole roles[] = {
                { "no-rights", "No rights", "0" },     { "accountant", "Accountant", "30" },
                { "supervisor", "Supervisor", "30" },  { "technical", "Technical", "30" },
                { "admin", "Admin", "50" },            { "superadministrator", "Superadministrator", "100" },
        };

        ASSERT_ROLES(admin, "da", roles);
}

/* "Admin ... full access to the Dashboard with no restrictions." */
static void test_admin_full_access(void **state) {
        EXPECT_EXACTLY(admin, "sa", "da", everything);
        EXPECT_EXACTLY(admin, "a1", "da", everything);
        ALLOW(admin, "a1", "activity.view", "da", "group=anything;ivr=anything");
}

/* "Only the superadministrator can grant this role access to another user.
 * ... an administrator cannot modify the access of another administrator;
 * it must be done by the superadministrator." */
static void test_admin_hierarchy(void **state) {
        callrole *a1 = pt_client("a1"), *sa = pt_client("sa"), *tech = pt_client("tech");
        char *v;

        REFUSED(a1, -EPERM, "may not give da-new the role 'Admin'", "user.add", "name", "da-new", "role", "admin",
                "account", "da", NULL);
        assert_false(pt_user_visible(admin, "da-new"));
        REFUSED(a1, -EPERM, "Admin", "user.set", "name", "sv", "role", "admin", NULL);
        REFUSED(tech, -EPERM, "the role 'Admin' (rank 50): only roles ranked below yours", "user.set", "name", "nr",
                "role", "admin", NULL);
        v = pt_user_field(admin, "sv", "da", "role");
        assert_string_equal(v, "supervisor");
        free(v);
        /* Another Admin's access is the Superadministrator's to change. */
        REFUSED(a1, -EPERM, "only users ranked below you", "user.set", "name", "a2", "role", "supervisor", NULL);
        REFUSED(a1, -EPERM, "only users ranked below you", "user.set", "name", "a2", "enabled", "no", NULL);
        REFUSED(a1, -EPERM, "only users ranked below you", "user.delete", "name", "a2", NULL);
        v = pt_user_field(admin, "a2", "da", "role");
        assert_string_equal(v, "admin");
        free(v);
        /* The Superadministrator grants Admin and changes Admins. */
        MUST(sa, "user.add", "name", "da-new", "role", "admin", "account", "da", NULL);
        MUST(sa, "user.set", "name", "da-new", "role", "supervisor", "groups", "sales", NULL);
        /* An Admin changes the roles below. */
        MUST(a1, "user.set", "name", "da-new", "role", "accountant", NULL);
        MUST(a1, "user.delete", "name", "da-new", NULL);
        callrole_free(a1);
        callrole_free(sa);
        callrole_free(tech);
}

/* "this user will only have access to the 'Activity', 'Logs', 'Campaigns'
 * and 'Analytics' pages" (and Task management among the page options);
 * "only have access to data for groups/IVRs authorised by the
 * administrator". */
static void test_supervisor(void **state) {
        static const char *const pages[] = { "activity.view", "logs.view", "analytics.view", "campaigns.manage",
                                             "tasks.manage" };
        callrole_reply *rep = NULL;
        const callrole_record *r;

        for (size_t i = 0; i < 5; i++) {
                ALLOW_LIMITED(admin, "sv", pages[i], "da", "group=sales;ivr=main", "groups sales, support and IVRs main");
                ALLOW(admin, "sv", pages[i], "da", "group=support");
                DENY(admin, "sv", pages[i], "da", "group=marketing", CALLROLE_REASON_OUT_OF_SCOPE,
                     "is limited to groups sales, support and IVRs main");
                DENY(admin, "sv", pages[i], "da", "group=sales;ivr=other", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        }
        DENY(admin, "sv", "billing.invoices.view", "da", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "sv", "users.view", "da", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "sv", "settings.edit", "da", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "sv", "developer.access", "da", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);

        /* What the dashboard filters by. */
        assert_int_equal(callrole_scope(admin, "sv", "logs.view", "da", &rep), 1);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        r = callrole_reply_record(rep, 0);
        assert_int_equal(callrole_record_n_fields(r), 2);
        for (size_t f = 0; f < 2; f++) {
                const char *k = callrole_record_key(r, f);
                if (strcmp(k, "group") == 0) {
                        assert_int_equal(callrole_record_n_values(r, f), 2);
                        assert_string_equal(callrole_record_value(r, f, 0), "sales");
                        assert_string_equal(callrole_record_value(r, f, 1), "support");
                } else {
                        assert_string_equal(k, "ivr");
                        assert_int_equal(callrole_record_n_values(r, f), 1);
                        assert_string_equal(callrole_record_value(r, f, 0), "main");
                }
        }
        callrole_reply_free(rep);

        /* The administrator authorises another group. */
        MUST(admin, "user.set", "name", "sv", "groups", "sales", "groups", "support", "groups", "marketing", NULL);
        ALLOW(admin, "sv", "activity.view", "da", "group=marketing");
        MUST(admin, "user.set", "name", "sv", "groups", "sales", "groups", "support", NULL);
        DENY(admin, "sv", "activity.view", "da", "group=marketing", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        /* A supervisor authorised for no IVR sees no IVR's data. */
        MUST(admin, "user.add", "name", "da-sv3", "role", "supervisor", "account", "da", "groups", "sales", NULL);
        DENY(admin, "da-sv3", "activity.view", "da", "group=sales;ivr=main", CALLROLE_REASON_OUT_OF_SCOPE,
             "(user 'da-sv3' has none)");
        ALLOW(admin, "da-sv3", "activity.view", "da", "group=sales");
        MUST(admin, "user.delete", "name", "da-sv3", NULL);
}

/* "Supervisor access rights pages options": a membership narrows the role
 * to some of its pages. */
static void test_page_options(void **state) {
        char *v = pt_user_field(admin, "sv2", "da", "only");

        assert_string_equal(v, "activity.view,login,logs.view"); /* sorted */
        free(v);
        ALLOW(admin, "sv2", "activity.view", "da", "group=sales");
        ALLOW(admin, "sv2", "logs.view", "da", "group=sales");
        DENY(admin, "sv2", "activity.view", "da", "group=support", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        DENY(admin, "sv2", "analytics.view", "da", NULL, CALLROLE_REASON_NOT_GRANTED,
             "role 'Supervisor' grants analytics.view, but user 'sv2' is limited to activity.view, login, logs.view");
        DENY(admin, "sv2", "campaigns.manage", "da", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "sv2", "tasks.manage", "da", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        /* A page the role lacks stays out of reach. */
        MUST(admin, "user.set", "name", "sv2", "only", "login", "only", "activity.view", "only", "billing.*", NULL);
        DENY(admin, "sv2", "billing.invoices.view", "da", NULL, CALLROLE_REASON_NOT_GRANTED,
             "does not grant billing.invoices.view");
        /* Technical's page options alike. */
        MUST(admin, "user.add", "name", "da-tech2", "role", "technical", "account", "da", "only", "login", "only",
             "ivrs.edit", "only", "numbers.*", NULL);
        ALLOW(admin, "da-tech2", "ivrs.edit", "da", NULL);
        ALLOW(admin, "da-tech2", "numbers.purchase", "da", NULL);
        DENY(admin, "da-tech2", "developer.access", "da", NULL, CALLROLE_REASON_NOT_GRANTED, "limited to");
        MUST(admin, "user.delete", "name", "da-tech2", NULL);
        MUST(admin, "user.set", "name", "sv2", "only", "login", "only", "activity.view", "only", "logs.view", NULL);
}

/* "only have access to the 'Credits and billing' page to add credits and
 * download invoices". */
static void test_accountant(void **state) {
        static const char *const acc[] = { "login", "billing.credits.add", "billing.invoices.view", NULL };
        EXPECT_EXACTLY(admin, "acc", "da", acc);
}

/* "only have access to the 'Configuration,' 'Developer,' and 'Integrations'
 * pages, allowing them to create IVRs, users, groups, and numbers". */
static void test_technical(void **state) {
        static const char *const tech[] = {
                "login",          "users.view",       "users.create",     "users.edit",       "users.delete",
                "numbers.view",   "numbers.purchase", "numbers.edit",     "ivrs.edit",        "conferences.manage",
                "groups.view",    "groups.create",    "groups.edit",      "groups.delete",    "call_tags.view",
                "call_tags.create", "call_tags.edit", "call_tags.delete", "snoozes.edit",     "blocked_numbers.edit",
                "contacts.view",  "contacts.edit",    "developer.access", "integrations.edit", "action_logs.view",
                "brands.edit",    "settings.edit",    NULL,
        };
        callrole *t = pt_client("tech");

        EXPECT_EXACTLY(admin, "tech", "da", tech);
        /* Creating users: without dashboard rights; granting a dashboard
         * role is the Admin's. */
        MUST(t, "user.add", "name", "da-made", "role", "no-rights", "account", "da", NULL);
        REFUSED(t, -EPERM, "only roles ranked below yours", "user.add", "name", "da-made2", "role", "supervisor",
                "account", "da", NULL);
        REFUSED(t, -EPERM, "the role 'Accountant' (rank 30): only roles ranked below yours", "user.set", "name",
                "da-made", "role", "accountant", NULL);
        MUST(t, "user.delete", "name", "da-made", NULL);
        callrole_free(t);
}

/* "you can opt not to grant any rights": the user exists but is denied
 * login. */
static void test_no_rights(void **state) {
        char *v = pt_user_field(admin, "nr", "da", "role");
        char *out = NULL, *err = NULL;

        assert_string_equal(v, "no-rights");
        free(v);
        DENY(admin, "nr", "login", "da", NULL, CALLROLE_REASON_NOT_GRANTED, "role 'No rights' does not grant login");
        EXPECT_EXACTLY(admin, "nr", "da", (const char *const[]) { NULL });
        assert_int_equal(pt_ctl(&out, &err, "check", "nr", "login", NULL), 1);
        assert_string_equal(out, "deny: not-granted (role 'No rights' does not grant login)\n");
        free(out);
        free(err);
}

static void test_ctl_matrix(void **state) {
        char *out = NULL, *err = NULL;

        assert_int_equal(pt_ctl(&out, &err, "role", "matrix", "--profile", "dashboard-access", NULL), 0);
        assert_non_null(strstr(out, "superadministrator"));
        assert_non_null(strstr(out, "grp+ivr"));
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "role", "list", "--profile", "dashboard-access", NULL), 0);
        assert_non_null(strstr(out, "no-rights"));
        assert_non_null(strstr(out, "Superadministrator"));
        free(out);
        free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_role_ids),
                cmocka_unit_test(test_admin_full_access),
                cmocka_unit_test(test_admin_hierarchy),
                cmocka_unit_test(test_supervisor),
                cmocka_unit_test(test_page_options),
                cmocka_unit_test(test_accountant),
                cmocka_unit_test(test_technical),
                cmocka_unit_test(test_no_rights),
                cmocka_unit_test(test_ctl_matrix),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
