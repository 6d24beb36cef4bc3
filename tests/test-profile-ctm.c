/*
 * test-profile-ctm.c: conformance of profiles/ctm.profile to the
 * CallTrackingMetrics help pages (seeds: ctm-user-roles.txt and
 * ctm-user-roles-2015.txt), against a real callroled.
 *
 * The world the tests run in (set up once):
 *   ag      an agency (kind=agency, billing=agency, plan growth) with the
 *           profile loaded: its roles are usable in its sub-accounts;
 *   sub1    a sub-account on customer billing (billing=customer);
 *   sub2    a sub-account on agency-shared billing (inherits billing=agency);
 *   solo    a stand-alone account (plan starter, billing=customer) with the
 *           profile loaded too.
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

static const struct {
        const char *user, *role, *account, *acg;
} people[] = {
        { "aa", "agency-administrator", "ag", NULL },
        { "abm", "agency-billing-manager", "ag", NULL },
        { "mm", "marketing-manager", "ag", NULL },
        { "rm-ag", "report-manager", "ag", NULL },
        { "agent-ag", "call-agent", "ag", NULL },
        { "admin1", "administrator", "sub1", NULL },
        { "agent1", "call-agent", "sub1", "east" },
        { "cm1", "call-manager", "sub1", "east" },
        { "rm1", "report-manager", "sub1", "east" },
        { "bm1", "billing-manager", "sub1", NULL },
        { "admin2", "administrator", "sub2", NULL },
        { "cm2", "call-manager", "sub2", NULL },
        { "sagent", "call-agent", "solo", NULL },
        { "srm", "report-manager", "solo", NULL },
        { "sadmin", "administrator", "solo", NULL },
};

static int setup(void **state) {
        admin = pt_start_admin();
        if (!admin ||
            test_daemon_call(admin, "account.add", "name", "ag", "attrs", "kind=agency", "attrs", "billing=agency",
                             NULL) < 0 ||
            test_daemon_call(admin, "profile.load", "name", "ctm", "account", "ag", NULL) < 0 ||
            test_daemon_call(admin, "account.set", "name", "ag", "plan", "growth", NULL) < 0 ||
            test_daemon_call(admin, "account.add", "name", "sub1", "parent", "ag", "attrs", "billing=customer",
                             NULL) < 0 ||
            test_daemon_call(admin, "account.add", "name", "sub2", "parent", "ag", NULL) < 0 ||
            test_daemon_call(admin, "account.add", "name", "solo", "attrs", "billing=customer", NULL) < 0 ||
            test_daemon_call(admin, "profile.load", "name", "ctm", "account", "solo", NULL) < 0 ||
            test_daemon_call(admin, "account.set", "name", "solo", "plan", "starter", NULL) < 0)
                return -1;
        for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++)
                if ((people[i].acg ? test_daemon_call(admin, "user.add", "name", people[i].user, "role", people[i].role,
                                                      "account", people[i].account, "acg", people[i].acg, NULL)
                                   : test_daemon_call(admin, "user.add", "name", people[i].user, "role", people[i].role,
                                                      "account", people[i].account, NULL)) < 0)
                        return -1;
        return 0;
}

static int teardown(void **state) {
        return pt_stop_admin(&admin);
}

static void test_role_ids(void **state) {
        static const PtRole roles[] = {
                { "call-agent", "Call Agent", "10", "no" },
                { "billing-manager", "Billing Manager", "15", "no" },
                { "call-manager", "Call Manager", "20", "no" },
                { "agency-billing-manager", "Agency Billing Manager", "25", "yes" },
                { "report-manager", "Report Manager", "30", "no" },
                { "marketing-manager", "Marketing Manager", "35", "yes" },
                { "administrator", "Administrator", "70", "no" },
                { "agency-administrator", "Agency Administrator", "90", "yes" },
        };

        ASSERT_ROLES(admin, "ag", roles);
}

/* "Call agents can view activities (calls, texts, forms, and chats)
 * assigned to them"; "What they can not see: ... anything in the Numbers
 * tab, anything in the Reporting tab". */
static void test_call_agent(void **state) {
        callrole_reply *rep = NULL;

        ALLOW_LIMITED(admin, "agent1", "calls.view", "sub1", "assignee=agent1", "assigned calls");
        DENY(admin, "agent1", "calls.view", "sub1", "assignee=cm1", CALLROLE_REASON_OUT_OF_SCOPE,
             "calls.view is limited to assigned calls");
        ALLOW(admin, "agent1", "texts.view", "sub1", "assignee=agent1");
        DENY(admin, "agent1", "texts.view", "sub1", "assignee=someone", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        ALLOW(admin, "agent1", "ctm.forms.view", "sub1", "assignee=agent1");
        DENY(admin, "agent1", "ctm.chats.view", "sub1", "assignee=someone", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        DENY(admin, "agent1", "numbers.view", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, "Call Agent");
        DENY(admin, "agent1", "reports.view_tab", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "agent1", "texts.send", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);

        /* The filter a call log applies: the agent's calls, in their ACG. */
        assert_int_equal(callrole_scope(admin, "agent1", "calls.view", "sub1", &rep), 1);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 0), "assignee"), "agent1");
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 0), "acg"), "east");
        callrole_reply_free(rep);
}

/* "view all activities ... text log ... edit the blocked callers list, the
 * do-not-call list, and the call scoring options ... send single or bulk
 * text messages"; no Numbers, no Reporting. */
static void test_call_manager(void **state) {
        ALLOW(admin, "cm2", "calls.view", "sub2", "assignee=anyone");
        ALLOW(admin, "cm2", "texts.view", "sub2", NULL);
        ALLOW(admin, "cm2", "texts.send", "sub2", NULL);
        ALLOW(admin, "cm2", "ctm.blocked_callers.edit", "sub2", NULL);
        ALLOW(admin, "cm2", "ctm.do_not_call.edit", "sub2", NULL);
        ALLOW(admin, "cm2", "ctm.call_scoring.edit", "sub2", NULL);
        ALLOW(admin, "cm2", "ctm.activities.exclude", "sub2", NULL);
        DENY(admin, "cm2", "numbers.view", "sub2", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "cm2", "reports.view_tab", "sub2", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "cm2", "calls.export", "sub2", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "cm2", "users.create", "sub2", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "Report managers ... can view the account's reporting section ... export
 * the call log, view and schedule call reports ... the real-time agents
 * dashboard (for plans that allow creating sub-accounts)". */
static void test_report_manager(void **state) {
        ALLOW(admin, "rm1", "reports.view_tab", "sub1", NULL);
        ALLOW(admin, "rm1", "reports.edit", "sub1", NULL);
        ALLOW(admin, "rm1", "ctm.reports.schedule", "sub1", NULL);
        ALLOW(admin, "rm1", "calls.export", "sub1", "acg=east");
        ALLOW(admin, "rm1", "ctm.flows.view", "sub1", NULL);
        ALLOW(admin, "rm1", "ctm.realtime_agents.view", "sub1", NULL);
        DENY(admin, "srm", "ctm.realtime_agents.view", "solo", NULL, CALLROLE_REASON_CONDITION_FAILED,
             "kind=agency");
        DENY(admin, "rm1", "numbers.view", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "rm1", "users.create", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        /* What a call manager lacks. */
        DENY(admin, "cm1", "ctm.reports.schedule", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "Billing Managers can view invoices for past payments, but cannot view
 * or edit payment options or any other account settings." */
static void test_billing_manager(void **state) {
        ALLOW(admin, "bm1", "login", "sub1", NULL);
        ALLOW(admin, "bm1", "billing.invoices.view", "sub1", NULL);
        DENY(admin, "bm1", "billing.payment.edit", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "bm1", "settings.edit", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "bm1", "calls.view", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "bm1", "softphone.use", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "Agency Billing Managers can see invoices and edit payment methods for
 * Agency Billing, but not for sub-accounts on customer billing." */
static void test_agency_billing_manager(void **state) {
        ALLOW(admin, "abm", "billing.payment.edit", "ag", NULL);
        ALLOW(admin, "abm", "billing.payment.edit", "sub2", NULL);
        ALLOW(admin, "abm", "billing.invoices.view", "sub2", NULL);
        DENY(admin, "abm", "billing.payment.edit", "sub1", NULL, CALLROLE_REASON_CONDITION_FAILED,
             "billing=agency in account 'sub1'");
        DENY(admin, "abm", "billing.invoices.view", "sub1", NULL, CALLROLE_REASON_CONDITION_FAILED, NULL);
        DENY(admin, "abm", "softphone.use", "ag", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "abm", "settings.edit", "sub2", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "Marketing Managers cannot make or receive calls. Marketing Managers are
 * only available in accounts that can create sub-accounts and will have
 * access to all sub-accounts within an agency." */
static void test_marketing_manager(void **state) {
        char *v;

        DENY(admin, "mm", "softphone.use", "ag", NULL, CALLROLE_REASON_NOT_GRANTED,
             "role 'Marketing Manager' does not grant softphone.use");
        DENY(admin, "mm", "softphone.use", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        /* Across all sub-accounts, without a membership there. */
        ALLOW(admin, "mm", "calls.view", "sub1", NULL);
        ALLOW(admin, "mm", "calls.view", "sub2", NULL);
        ALLOW(admin, "mm", "numbers.view", "sub2", NULL);
        ALLOW(admin, "mm", "reports.edit", "sub1", NULL);
        ALLOW(admin, "mm", "ctm.triggers.edit", "sub1", NULL);
        ALLOW(admin, "mm", "ctm.marketing_integrations.edit", "sub1", NULL);
        DENY(admin, "mm", "numbers.purchase", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "mm", "integrations.edit", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);

        /* Only in agencies: not in a sub-account, not in a stand-alone
         * account. */
        REFUSED(admin, -EINVAL, "exists only in agencies", "user.add", "name", "ctm-mm2", "role",
                "marketing-manager", "account", "sub1", NULL);
        assert_false(pt_user_visible(admin, "ctm-mm2"));
        REFUSED(admin, -EINVAL, "account 'solo' of user 'ctm-mm3' is not one", "user.add", "name", "ctm-mm3", "role",
                "marketing-manager", "account", "solo", NULL);
        assert_false(pt_user_visible(admin, "ctm-mm3"));
        /* Nor by changing a role there. */
        REFUSED(admin, -EINVAL, "exists only in agencies", "user.set", "name", "sagent", "role", "marketing-manager",
                NULL);
        v = pt_user_field(admin, "sagent", "solo", "role");
        assert_string_equal(v, "call-agent");
        free(v);
        /* The other agency-only roles alike. */
        REFUSED(admin, -EINVAL, "Agency Administrator", "user.add", "name", "ctm-aa2", "role", "agency-administrator",
                "account", "sub2", NULL);
        REFUSED(admin, -EINVAL, "Agency Billing Manager", "user.add", "name", "ctm-abm2", "role",
                "agency-billing-manager", "account", "solo", NULL);
        /* An account marked as an agency may hold them. */
        MUST(admin, "account.add", "name", "ctm-ent", "attrs", "kind=agency", NULL);
        MUST(admin, "profile.load", "name", "ctm", "account", "ctm-ent", NULL);
        MUST(admin, "user.add", "name", "ctm-mm4", "role", "marketing-manager", "account", "ctm-ent", NULL);
        /* ... and then cannot stop being one while it does. */
        REFUSED(admin, -EINVAL, "exists only in agencies", "account.set", "name", "ctm-ent", "attrs", "kind=", NULL);
        MUST(admin, "user.delete", "name", "ctm-mm4", NULL);
}

/* "Administrators are the only users who can view, purchase, and edit
 * tracking numbers or enable/disable call recordings ... integration
 * settings, add users, or view and edit payment information"; payment only
 * where the sub-account uses customer billing; no agency settings or
 * sub-accounts. */
static void test_administrator(void **state) {
        static const char *const sub_admins[][2] = { { "admin1", "sub1" }, { "admin2", "sub2" }, { "sadmin", "solo" } };

        for (size_t i = 0; i < 3; i++) {
                const char *u = sub_admins[i][0], *a = sub_admins[i][1];
                ALLOW(admin, u, "numbers.view", a, NULL);
                ALLOW(admin, u, "numbers.purchase", a, NULL);
                ALLOW(admin, u, "numbers.edit", a, NULL);
                ALLOW(admin, u, "recordings.configure", a, NULL);
                ALLOW(admin, u, "integrations.edit", a, NULL);
                ALLOW(admin, u, "users.create", a, NULL);
                ALLOW(admin, u, "settings.edit", a, NULL);
                DENY(admin, u, "agency.settings.edit", a, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
                DENY(admin, u, "agency.accounts.create", a, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
                DENY(admin, u, "agency.cancel", a, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        }
        /* Payment: customer billing only. */
        ALLOW(admin, "admin1", "billing.payment.edit", "sub1", NULL);
        ALLOW(admin, "admin1", "billing.invoices.view", "sub1", NULL);
        ALLOW(admin, "sadmin", "billing.payment.edit", "solo", NULL);
        DENY(admin, "admin2", "billing.payment.edit", "sub2", NULL, CALLROLE_REASON_CONDITION_FAILED,
             "billing.payment.edit needs account attribute billing=customer in account 'sub2'");
        DENY(admin, "admin2", "billing.invoices.view", "sub2", NULL, CALLROLE_REASON_CONDITION_FAILED, NULL);
        /* "administrators will receive billing notifications" on customer
         * billing only. */
        MUST(admin, "user.set", "name", "admin1", "notify", "billing", NULL);
        REFUSED(admin, -EINVAL, "billing.invoices.view", "user.set", "name", "admin2", "notify", "billing", NULL);
        MUST(admin, "user.set", "name", "admin1", "notify", "billing=off", NULL);
        /* Numbers and recordings are the administrators' alone. */
        DENY(admin, "rm1", "recordings.configure", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "cm1", "integrations.edit", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "Agency administrators are the only users who can edit agency settings
 * ... Only this user role can cancel an agency"; they add sub-accounts and
 * see all of them. */
static void test_agency_administrator(void **state) {
        static const char *const agency_perms[] = { "agency.settings.edit", "agency.accounts.create",
                                                    "agency.cancel" };

        for (size_t p = 0; p < 3; p++) {
                ALLOW(admin, "aa", agency_perms[p], "ag", NULL);
                for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++) {
                        if (strcmp(people[i].role, "agency-administrator") == 0)
                                continue;
                        DENY(admin, people[i].user, agency_perms[p], people[i].account, NULL,
                             CALLROLE_REASON_NOT_GRANTED, NULL);
                }
        }
        /* Every sub-account, with no membership of its own there. */
        ALLOW(admin, "aa", "calls.view", "sub1", NULL);
        ALLOW(admin, "aa", "billing.payment.edit", "sub1", NULL);
        ALLOW(admin, "aa", "billing.payment.edit", "sub2", NULL);
        ALLOW(admin, "aa", "users.create", "sub2", NULL);
        ALLOW(admin, "aa", "softphone.use", "sub2", NULL);
        /* Not in an account outside the agency. */
        DENY(admin, "aa", "calls.view", "solo", NULL, CALLROLE_REASON_NO_MEMBERSHIP, NULL);
}

/* "Agency administrators are hidden in the user list for all lower access
 * levels." */
static void test_agency_administrator_invisible(void **state) {
        callrole *admin1 = pt_client("admin1"), *rmag = pt_client("rm-ag"), *aa = pt_client("aa");

        /* A sub-account administrator. */
        assert_false(pt_user_listed(admin1, "aa"));
        assert_false(pt_user_visible(admin1, "aa"));
        assert_true(pt_user_listed(admin1, "agent1"));
        /* A lower role of the agency itself, who may see users. */
        ALLOW(admin, "rm-ag", "users.view", "ag", NULL);
        assert_true(pt_user_listed(rmag, "agent-ag"));
        assert_false(pt_user_listed(rmag, "aa"));
        assert_false(pt_user_visible(rmag, "aa"));
        assert_false(pt_user_listed(rmag, "mm")); /* ranked above a report manager too */
        /* Not to be found by changing it either. */
        REFUSED(admin1, -ENOENT, "unknown user 'aa'", "user.set", "name", "aa", "enabled", "no", NULL);
        /* The agency administrator sees them all. */
        assert_true(pt_user_listed(aa, "admin1"));
        assert_true(pt_user_listed(aa, "mm"));
        assert_true(pt_user_visible(aa, "rm-ag"));
        callrole_free(admin1);
        callrole_free(rmag);
        callrole_free(aa);
}

/* "You can only update roles that are lower than your own user role." */
static void test_hierarchy(void **state) {
        callrole *admin1 = pt_client("admin1"), *aa = pt_client("aa"), *cm1 = pt_client("cm1");
        char *v;

        MUST(admin1, "user.add", "name", "ctm-h-rm", "role", "report-manager", "account", "sub1", NULL);
        MUST(admin1, "user.set", "name", "ctm-h-rm", "role", "call-manager", NULL);
        REFUSED(admin1, -EPERM, "only roles ranked below yours", "user.add", "name", "ctm-h-ad", "role",
                "administrator", "account", "sub1", NULL);
        REFUSED(admin1, -EPERM, "only roles ranked below yours", "user.set", "name", "ctm-h-rm", "role",
                "administrator", NULL);
        v = pt_user_field(admin, "ctm-h-rm", "sub1", "role");
        assert_string_equal(v, "call-manager");
        free(v);
        /* Not in another sub-account. */
        REFUSED(admin1, -EPERM, "no role in account 'sub2'", "user.add", "name", "ctm-h-x", "role", "call-agent",
                "account", "sub2", NULL);
        /* A call manager manages nobody. */
        REFUSED(cm1, -EPERM, "users.create", "user.add", "name", "ctm-h-y", "role", "call-agent", "account", "sub1",
                NULL);
        /* The agency administrator makes administrators anywhere below. */
        MUST(aa, "user.add", "name", "ctm-h-ad2", "role", "administrator", "account", "sub2", NULL);
        REFUSED(aa, -EPERM, "the role 'Agency Administrator' (rank 90): only roles ranked below yours", "user.add",
                "name", "ctm-h-aa", "role", "agency-administrator", "account", "ag", NULL);
        MUST(admin, "user.delete", "name", "ctm-h-rm", NULL);
        MUST(admin, "user.delete", "name", "ctm-h-ad2", NULL);
        callrole_free(admin1);
        callrole_free(aa);
        callrole_free(cm1);
}

/* "Call Agents, Call Managers, and Report Managers can all be put into
 * access control groups to further restrict access." */
static void test_access_control_groups(void **state) {
        callrole_reply *rep = NULL;

        ALLOW_LIMITED(admin, "cm1", "calls.view", "sub1", "acg=east", "access-control groups east");
        DENY(admin, "cm1", "calls.view", "sub1", "acg=west", CALLROLE_REASON_OUT_OF_SCOPE,
             "calls.view is limited to access-control groups east");
        DENY(admin, "cm1", "texts.view", "sub1", "acg=west", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        DENY(admin, "rm1", "calls.export", "sub1", "acg=west", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        DENY(admin, "agent1", "calls.view", "sub1", "assignee=agent1;acg=west", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        ALLOW(admin, "agent1", "calls.view", "sub1", "assignee=agent1;acg=east");
        /* Without any group a manager is not narrowed. */
        ALLOW(admin, "cm2", "calls.view", "sub2", "acg=west");
        /* Administrators are never narrowed by groups. */
        MUST(admin, "user.set", "name", "admin1", "acg", "east", NULL);
        ALLOW(admin, "admin1", "calls.view", "sub1", "acg=west");
        MUST(admin, "user.set", "name", "admin1", "acg", NULL, NULL);

        assert_int_equal(callrole_scope(admin, "cm1", "calls.view", "sub1", &rep), 1);
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 0), "acg"), "east");
        callrole_reply_free(rep);
        /* Widening: the manager's groups are changed by an administrator. */
        MUST(admin, "user.set", "name", "cm1", "acg", "east", "acg", "west", NULL);
        ALLOW(admin, "cm1", "calls.view", "sub1", "acg=west");
        MUST(admin, "user.set", "name", "cm1", "acg", "east", NULL);
}

/* "feature access where you can ... hide features in the call log and menu
 * from even the admins of the account." */
static void test_agency_hides(void **state) {
        ALLOW(admin, "admin1", "texts.view", "sub1", NULL);
        MUST(admin, "account.set", "name", "ag", "hide", "texts.*", NULL);
        DENY(admin, "admin1", "texts.view", "sub1", NULL, CALLROLE_REASON_HIDDEN_BY_AGENCY,
             "texts.view is hidden by agency 'ag'");
        DENY(admin, "admin2", "texts.send", "sub2", NULL, CALLROLE_REASON_HIDDEN_BY_AGENCY, NULL);
        DENY(admin, "cm1", "texts.view", "sub1", "acg=east", CALLROLE_REASON_HIDDEN_BY_AGENCY, NULL);
        DENY(admin, "aa", "texts.view", "sub1", NULL, CALLROLE_REASON_HIDDEN_BY_AGENCY, NULL);
        /* The agency's own account is not a sub-account. */
        ALLOW(admin, "aa", "texts.view", "ag", NULL);
        /* Outside the agency nothing is hidden. */
        ALLOW(admin, "sadmin", "texts.view", "solo", NULL);
        MUST(admin, "account.set", "name", "ag", "unhide", "texts.*", NULL);
        ALLOW(admin, "admin1", "texts.view", "sub1", NULL);
}

/* "In Growth, Connect, Sales Engage, and Enterprise plans, all account
 * users except for Marketing Manager, Agency Billing Manager, and Billing
 * Manager will have access to the CTM softphone." */
static void test_softphone_plans(void **state) {
        static const char *const with_softphone[] = { "growth", "connect", "sales-engage", "enterprise" };

        DENY(admin, "sagent", "softphone.use", "solo", NULL, CALLROLE_REASON_NOT_IN_PLAN,
             "softphone.use is not in plan 'starter'");
        DENY(admin, "sadmin", "softphone.use", "solo", NULL, CALLROLE_REASON_NOT_IN_PLAN, NULL);
        ALLOW(admin, "sagent", "calls.view", "solo", "assignee=sagent");
        for (size_t i = 0; i < 4; i++) {
                MUST(admin, "account.set", "name", "solo", "plan", with_softphone[i], NULL);
                ALLOW(admin, "sagent", "softphone.use", "solo", NULL);
                ALLOW(admin, "srm", "softphone.use", "solo", NULL);
        }
        MUST(admin, "account.set", "name", "solo", "plan", "starter", NULL);
        /* Growth through the agency. */
        ALLOW(admin, "agent1", "softphone.use", "sub1", NULL);
        ALLOW(admin, "cm2", "softphone.use", "sub2", NULL);
        ALLOW(admin, "admin2", "softphone.use", "sub2", NULL);
        DENY(admin, "bm1", "softphone.use", "sub1", NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_role_ids),
                cmocka_unit_test(test_call_agent),
                cmocka_unit_test(test_call_manager),
                cmocka_unit_test(test_report_manager),
                cmocka_unit_test(test_billing_manager),
                cmocka_unit_test(test_agency_billing_manager),
                cmocka_unit_test(test_marketing_manager),
                cmocka_unit_test(test_administrator),
                cmocka_unit_test(test_agency_administrator),
                cmocka_unit_test(test_agency_administrator_invisible),
                cmocka_unit_test(test_hierarchy),
                cmocka_unit_test(test_access_control_groups),
                cmocka_unit_test(test_agency_hides),
                cmocka_unit_test(test_softphone_plans),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
