/*
 * test-profile-cloudtalk.c: conformance of profiles/cloudtalk.profile to
 * CloudTalk's user-types page (seed: cloudtalk-user-roles.txt), against a
 * real callroled.
 *
 * The page's matrix lost its tick marks; the table below is the matrix as
 * the profile decides it (see the comment at the top of the profile), and
 * every cell is checked both ways.  Two companies: co has no Admin Partner,
 * cp has one.
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

static int setup(void **state) {
        admin = pt_start_admin();
        if (!admin ||
            test_daemon_call(admin, "account.add", "name", "co", NULL) < 0 ||
            test_daemon_call(admin, "profile.load", "name", "cloudtalk", "account", "co", NULL) < 0 ||
            test_daemon_call(admin, "account.add", "name", "cp", NULL) < 0 ||
            test_daemon_call(admin, "profile.load", "name", "cloudtalk", "account", "cp", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "ag", "role", "agent", "account", "co", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "an", "role", "analyst", "account", "co", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "su", "role", "supervisor", "account", "co", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "ad", "role", "admin", "account", "co", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "ad-p", "role", "admin", "account", "cp", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "pa", "role", "admin-partner", "account", "cp", NULL) < 0 ||
            test_daemon_call(admin, "user.add", "name", "ag-p", "role", "agent", "account", "cp", NULL) < 0)
                return -1;
        return 0;
}

static int teardown(void **state) {
        return pt_stop_admin(&admin);
}

static void test_role_ids(void **state) {
        static const PtRole roles[] = {
                { "agent", "Agent", "10" },        { "analyst", "Analyst", "20" }, { "supervisor", "Supervisor", "30" },
                { "admin", "Admin", "50" },        { "admin-partner", "Admin Partner", "60" },
        };

        ASSERT_ROLES(admin, "co", roles);
}

/* Cells: Y granted; A granted within the user's own (assigned) campaigns;
 * C granted where the company has no Admin Partner; - not granted. */
static const struct {
        const char *perm;
        char agent, analyst, supervisor, admin, partner;
} matrix[] = {
        { "login", 'Y', 'Y', 'Y', 'Y', 'Y' },
        /* Dashboard */
        { "dashboard.statistics.view", 'Y', 'Y', 'Y', 'Y', '-' },
        { "dashboard.call_history.view", 'Y', 'Y', 'Y', 'Y', '-' },
        /* Analytics and statistics (legacy) */
        { "analytics.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.call_history.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.inbound.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.outbound.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.agents.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.happiness.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.tags.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.wallboards.view", '-', 'Y', 'Y', 'Y', '-' },
        { "statistics.realtime.view", '-', 'Y', 'Y', 'Y', '-' },
        /* Users */
        { "users.view", '-', '-', 'Y', 'Y', '-' },
        { "users.create", '-', '-', '-', 'Y', '-' },
        { "users.edit", '-', '-', '-', 'Y', '-' },
        { "users.delete", '-', '-', '-', 'Y', '-' },
        /* Groups */
        { "groups.view", '-', '-', 'Y', 'Y', '-' },
        { "groups.create", '-', '-', '-', 'Y', '-' },
        { "groups.edit", '-', '-', '-', 'Y', '-' },
        { "groups.delete", '-', '-', '-', 'Y', '-' },
        /* Numbers */
        { "numbers.view", '-', '-', '-', 'Y', 'Y' },
        { "numbers.request", '-', '-', '-', 'C', 'Y' },
        { "numbers.port", '-', '-', '-', 'C', 'Y' },
        { "numbers.edit", '-', '-', '-', 'Y', '-' },
        /* Dialer */
        { "dialer.scripts.read", 'A', '-', 'Y', 'Y', '-' },
        { "dialer.scripts.manage", '-', '-', 'Y', 'Y', '-' },
        { "campaigns.manage", '-', '-', 'Y', 'Y', '-' },
        { "dialer.power_dialer.use", 'A', '-', 'A', 'A', '-' },
        { "dialer.surveys.manage", '-', '-', 'Y', 'Y', '-' },
        { "dialer.surveys.fill", 'A', '-', 'A', 'A', '-' },
        /* Contacts */
        { "contacts.view", 'Y', '-', 'Y', 'Y', '-' },
        { "contacts.create", 'Y', '-', 'Y', 'Y', '-' },
        { "contacts.edit", 'Y', '-', 'Y', 'Y', '-' },
        { "contacts.delete", 'Y', '-', 'Y', 'Y', '-' },
        { "contacts.bulk_delete", '-', '-', 'Y', 'Y', '-' },
        /* Contact tags */
        { "contact_tags.create", '-', '-', 'Y', 'Y', '-' },
        { "contact_tags.assign", 'Y', '-', 'Y', 'Y', '-' },
        { "contact_tags.edit", '-', '-', '-', 'Y', '-' },
        { "contact_tags.delete", '-', '-', '-', 'Y', '-' },
        /* Contact notes */
        { "contact_notes.add", 'Y', '-', 'Y', 'Y', '-' },
        { "contact_notes.edit", 'Y', '-', 'Y', 'Y', '-' },
        { "contact_notes.delete", 'Y', '-', 'Y', 'Y', '-' },
        /* Call monitor */
        { "call_monitor.join", '-', '-', 'Y', 'Y', '-' },
        /* Account */
        { "billing.invoices.view", '-', '-', '-', 'C', 'Y' },
        { "billing.payment.edit", '-', '-', '-', 'C', 'Y' },
        { "conferences.manage", '-', '-', '-', 'Y', '-' },
        { "integrations.edit", '-', '-', '-', 'Y', '-' },
        { "settings.edit", '-', '-', '-', 'Y', '-' },
        { "workflows.manage", '-', '-', '-', 'Y', '-' },
        /* Call tags */
        { "call_tags.view", 'Y', 'Y', 'Y', 'Y', '-' },
        { "call_tags.create", '-', '-', '-', 'Y', '-' },
        { "call_tags.edit", '-', '-', '-', 'Y', '-' },
        { "call_tags.delete", '-', '-', '-', 'Y', '-' },
};

static void expect_cell(const char *file, int line, const char *user, const char *account, const char *perm,
                        char cell) {
        char self[80];

        snprintf(self, sizeof(self), "assignee=%s", user);
        switch (cell) {
        case 'Y':
                pt_check_at(file, line, admin, user, perm, account, NULL, true, CALLROLE_REASON_NONE, NULL);
                break;
        case 'A':
                pt_check_at(file, line, admin, user, perm, account, self, true, CALLROLE_REASON_NONE,
                            "limited to assigned");
                pt_check_at(file, line, admin, user, perm, account, "assignee=someone-else", false,
                            CALLROLE_REASON_OUT_OF_SCOPE, "assigned");
                break;
        case 'C':
                /* co has no Admin Partner */
                pt_check_at(file, line, admin, user, perm, account, NULL, true, CALLROLE_REASON_NONE, NULL);
                break;
        default:
                pt_check_at(file, line, admin, user, perm, account, NULL, false, CALLROLE_REASON_NOT_GRANTED, NULL);
        }
}

static void test_matrix(void **state) {
        for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
                expect_cell(__FILE__, __LINE__, "ag", "co", matrix[i].perm, matrix[i].agent);
                expect_cell(__FILE__, __LINE__, "an", "co", matrix[i].perm, matrix[i].analyst);
                expect_cell(__FILE__, __LINE__, "su", "co", matrix[i].perm, matrix[i].supervisor);
                expect_cell(__FILE__, __LINE__, "ad", "co", matrix[i].perm, matrix[i].admin);
                expect_cell(__FILE__, __LINE__, "pa", "cp", matrix[i].perm, matrix[i].partner);
                /* The Admin of the company with an Admin Partner: C cells
                 * fail their condition, the rest as in co. */
                if (matrix[i].admin == 'C')
                        DENY(admin, "ad-p", matrix[i].perm, "cp", NULL, CALLROLE_REASON_CONDITION_FAILED,
                             "needs no 'admin-partner' in account 'cp'");
                else
                        expect_cell(__FILE__, __LINE__, "ad-p", "cp", matrix[i].perm, matrix[i].admin);
                expect_cell(__FILE__, __LINE__, "ag-p", "cp", matrix[i].perm, matrix[i].agent);
        }
}

/* The table covers the profile: every permission a CloudTalk role grants is
 * a row (so nothing granted escapes the checks above). */
static void test_matrix_is_complete(void **state) {
        callrole_reply *rep = NULL;
        size_t grants = 0;

        assert_int_equal(pt_call(admin, &rep, "role.list", "account", "co", NULL), 0);
        for (size_t i = 0; i < callrole_reply_n_records(rep); i++) {
                const callrole_record *r = callrole_reply_record(rep, i);
                for (size_t f = 0; f < callrole_record_n_fields(r); f++) {
                        if (strcmp(callrole_record_key(r, f), "grants") != 0)
                                continue;
                        for (size_t j = 0; j < callrole_record_n_values(r, f); j++) {
                                const char *g = callrole_record_value(r, f, j);
                                size_t n = strcspn(g, "@/");
                                bool found = false;
                                for (size_t k = 0; k < sizeof(matrix) / sizeof(matrix[0]) && !found; k++)
                                        found = strlen(matrix[k].perm) == n && strncmp(matrix[k].perm, g, n) == 0;
                                /* The one conditional on the account's
                                 * Conversation Intelligence is tested apart. */
                                if (!found && strncmp(g, "analytics.ai.view/", 18) != 0)
                                        fail_msg("grant %s of role %s is not in the test's matrix", g,
                                                 callrole_record_get(r, "role"));
                                grants++;
                        }
                }
        }
        assert_true(grants > 100);
        callrole_reply_free(rep);
}

/* "Admin are authorized to request new and ported numbers only in companies
 * where there is no admin partner user", and the billing page likewise. */
static void test_admin_partner_condition(void **state) {
        ALLOW(admin, "ad", "numbers.request", "co", NULL);
        DENY(admin, "ad-p", "numbers.port", "cp", NULL, CALLROLE_REASON_CONDITION_FAILED,
             "numbers.port needs no 'admin-partner' in account 'cp'");
        ALLOW(admin, "pa", "billing.payment.edit", "cp", NULL);
        /* An Admin Partner joining co takes the Admin's number requests and
         * billing there; leaving gives them back. */
        MUST(admin, "user.add", "name", "ct-pa2", "role", "admin-partner", "account", "co", NULL);
        DENY(admin, "ad", "numbers.request", "co", NULL, CALLROLE_REASON_CONDITION_FAILED, NULL);
        DENY(admin, "ad", "billing.invoices.view", "co", NULL, CALLROLE_REASON_CONDITION_FAILED, NULL);
        ALLOW(admin, "ad", "numbers.edit", "co", NULL);
        MUST(admin, "user.delete", "name", "ct-pa2", NULL);
        ALLOW(admin, "ad", "numbers.request", "co", NULL);
        ALLOW(admin, "ad", "billing.invoices.view", "co", NULL);
        /* The Admin Partner has nothing else. */
        DENY(admin, "pa", "users.view", "cp", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "pa", "contacts.view", "cp", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "Admin cannot add users of the admin partner type. They also cannot see
 * existing admin partners in the list of users." */
static void test_admin_and_partners(void **state) {
        callrole *adp = pt_client("ad-p");

        assert_true(pt_user_listed(adp, "ag-p"));
        assert_false(pt_user_listed(adp, "pa"));
        assert_false(pt_user_visible(adp, "pa"));
        REFUSED(adp, -EPERM, "Admin Partner", "user.add", "name", "ct-pa3", "role", "admin-partner", "account", "cp",
                NULL);
        assert_false(pt_user_visible(admin, "ct-pa3"));
        REFUSED(adp, -ENOENT, "unknown user 'pa'", "user.delete", "name", "pa", NULL);
        assert_true(pt_user_visible(admin, "pa"));
        /* Admins add the other types. */
        MUST(adp, "user.add", "name", "ct-su2", "role", "supervisor", "account", "cp", NULL);
        MUST(adp, "user.delete", "name", "ct-su2", NULL);
        callrole_free(adp);
}

/* "If there is an admin partner in the company and no available seats, the
 * button to add new users will be disabled": accounts have seats, and
 * adding a user to a full account is refused. */
static void test_seats(void **state) {
        callrole_reply *rep = NULL;
        char *out = NULL, *err = NULL;
        PtState before;

        MUST(admin, "account.add", "name", "cs", "seats", "3", NULL);
        MUST(admin, "profile.load", "name", "cloudtalk", "account", "cs", NULL);
        MUST(admin, "user.add", "name", "cs-ad", "role", "admin", "account", "cs", NULL);
        MUST(admin, "user.add", "name", "cs-pa", "role", "admin-partner", "account", "cs", NULL);
        MUST(admin, "user.add", "name", "cs-ag1", "role", "agent", "account", "cs", NULL);
        REFUSED(admin, -EDQUOT, "account 'cs' has no free seat (3 of 3 used)", "user.add", "name", "cs-ag2", "role",
                "agent", "account", "cs", NULL);
        assert_false(pt_user_visible(admin, "cs-ag2"));
        /* An existing user's further membership takes a seat too. */
        REFUSED(admin, -EDQUOT, "no free seat", "user.add", "name", "ag", "role", "agent", "account", "cs", NULL);
        /* The Admin, acting for themselves, is refused alike. */
        {
                callrole *csad = pt_client("cs-ad");
                REFUSED(csad, -EDQUOT, "no free seat", "user.add", "name", "cs-ag3", "role", "agent", "account", "cs",
                        NULL);
                callrole_free(csad);
        }
        /* Someone who may not add users there learns nothing of its seats. */
        {
                callrole *ag1 = pt_client("cs-ag1"), *other = pt_client("ag");
                REFUSED(ag1, -EPERM, "users.create", "user.add", "name", "cs-ag3", "role", "agent", "account", "cs",
                        NULL);
                REFUSED(other, -EPERM, "no role in account 'cs'", "user.add", "name", "cs-ag3", "role", "agent",
                        "account", "cs", NULL);
                callrole_free(ag1);
                callrole_free(other);
        }
        /* A dry run says the same. */
        assert_int_equal(callrole_set_dry_run(admin, 1), 0);
        REFUSED(admin, -EDQUOT, "no free seat", "user.add", "name", "cs-ag2", "role", "agent", "account", "cs", NULL);
        assert_int_equal(callrole_set_dry_run(admin, 0), 0);
        /* callrolectl: an error (exit 4) with the message. */
        before = pt_state();
        assert_int_equal(pt_ctl(&out, &err, "user", "add", "cs-ag2", "--role", "agent", "--account", "cs", NULL), 4);
        assert_non_null(strstr(err, "no free seat (3 of 3 used)"));
        free(out);
        free(err);
        ASSERT_UNCHANGED(&before);
        /* Several at once (an import) are refused whole. */
        MUST(admin, "account.set", "name", "cs", "seats", "4", NULL);
        REFUSED(admin, -EDQUOT, "account 'cs' has 4 seats and 5 users", "import", "name", "cs-ag4", "name", "cs-ag5",
                "role", "agent", "role", "agent", "account", "cs", "account", "cs", NULL);
        assert_false(pt_user_visible(admin, "cs-ag4"));
        /* Nor can the seats drop below the users. */
        REFUSED(admin, -EDQUOT, "seats", "account.set", "name", "cs", "seats", "2", NULL);
        /* A freed seat can be taken. */
        MUST(admin, "user.add", "name", "cs-ag4", "role", "agent", "account", "cs", NULL);
        MUST(admin, "user.delete", "name", "cs-ag1", NULL);
        MUST(admin, "user.add", "name", "cs-ag5", "role", "agent", "account", "cs", NULL);
        assert_int_equal(pt_call(admin, &rep, "account.list", NULL), 0);
        for (size_t i = 0; i < callrole_reply_n_records(rep); i++) {
                const callrole_record *r = callrole_reply_record(rep, i);
                if (strcmp(callrole_record_get(r, "name"), "cs") == 0) {
                        assert_string_equal(callrole_record_get(r, "seats"), "4");
                        assert_string_equal(callrole_record_get(r, "users"), "4");
                }
        }
        callrole_reply_free(rep);
}

/* "Our AI Analytics report is only available to customers with
 * Conversation Intelligence enabled." */
static void test_ai_analytics(void **state) {
        DENY(admin, "an", "analytics.ai.view", "co", NULL, CALLROLE_REASON_CONDITION_FAILED,
             "conversation-intelligence=on");
        MUST(admin, "account.set", "name", "co", "attrs", "conversation-intelligence=on", NULL);
        ALLOW(admin, "an", "analytics.ai.view", "co", NULL);
        ALLOW(admin, "su", "analytics.ai.view", "co", NULL);
        ALLOW(admin, "ad", "analytics.ai.view", "co", NULL);
        DENY(admin, "ag", "analytics.ai.view", "co", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        MUST(admin, "account.set", "name", "co", "attrs", "conversation-intelligence=", NULL);
        DENY(admin, "ad", "analytics.ai.view", "co", NULL, CALLROLE_REASON_CONDITION_FAILED, NULL);
}

/* The matrix as the page draws it, from the profile file. */
static void test_ctl_matrix(void **state) {
        char *out = NULL, *err = NULL;

        assert_int_equal(pt_ctl(&out, &err, "role", "matrix", "--profile", "cloudtalk", NULL), 0);
        assert_non_null(strstr(out, "admin-partner"));
        assert_non_null(strstr(out, "dialer.power_dialer.use"));
        assert_non_null(strstr(out, "own"));   /* assigned campaigns */
        assert_non_null(strstr(out, "✓*"));    /* admin's numbers: conditional */
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "--json", "role", "matrix", "--profile", "cloudtalk", NULL), 0);
        assert_non_null(strstr(out, "numbers.request/no-role=admin-partner"));
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "role", "matrix", "--profile", "no-such-profile", NULL), 4);
        assert_non_null(strstr(err, "no-such-profile"));
        free(out);
        free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_role_ids),
                cmocka_unit_test(test_matrix),
                cmocka_unit_test(test_matrix_is_complete),
                cmocka_unit_test(test_admin_partner_condition),
                cmocka_unit_test(test_admin_and_partners),
                cmocka_unit_test(test_seats),
                cmocka_unit_test(test_ai_analytics),
                cmocka_unit_test(test_ctl_matrix),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
