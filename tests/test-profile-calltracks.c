/*
 * test-profile-calltracks.c: conformance of profiles/calltracks.profile to
 * the Calltracks help page (seed: calltracks-user-roles.txt), against a
 * real callroled with the profile loaded into the default account.
 *
 * Each test states one documented behaviour, allowed and denied, with the
 * reasons and details a person would read; refusals are checked for their
 * error, for naming what is wrong, and for changing nothing.
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
#include <unistd.h>

#include "helper-profile.h"

static const struct {
        const char *user, *role;
} people[] = {
        { "na", "no-access" },
        { "co", "calls-only" },
        { "vin", "view-inbound-calls-only" },
        { "vout", "view-outbound-calls-only" },
        { "rec", "receptionist" },
        { "rep", "reporting-only" },
        { "ro", "read-only" },
        { "rw", "read-write" },
        { "lm", "local-manager" },
        { "cla", "customer-local-admin" },
        { "csa", "customer-super-admin" },
};

static callrole *admin;

static int setup(void **state) {
        admin = pt_start_admin();
        if (!admin || test_daemon_call(admin, "profile.load", "name", "calltracks", NULL) < 0)
                return -1;
        for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++)
                if (test_daemon_call(admin, "user.add", "name", people[i].user, "role", people[i].role, NULL) < 0)
                        return -1;
        return 0;
}

static int teardown(void **state) {
        return pt_stop_admin(&admin);
}

/* The role ids are fixed: scripts rely on them. */
static void test_role_ids(void **state) {
        static const PtRole roles[] = {
                { "calls-only", "Calls Only", "10", "no" },
                { "view-inbound-calls-only", "View Inbound Calls Only", "10", "no" },
                { "view-outbound-calls-only", "View Outbound Calls Only", "10", "no" },
                { "receptionist", "Receptionist", "10", "no" },
                { "reporting-only", "Reporting Only", "10", "no" },
                { "read-only", "Read Only", "20", "no" },
                { "read-write", "Read/Write", "30", "no" },
                { "local-manager", "Local Manager", "40", "no" },
                { "customer-local-admin", "Customer Local Admin", "50", "no" },
                { "customer-super-admin", "Customer Super Admin", "60", "no" },
                { "no-access", "No Access", "0", "no" },
        };

        ASSERT_ROLES(admin, "default", roles);
}

/* "NO ACCESS to the Calltracks web interface ... A user MUST exist before
 * they can use this facility": the user exists and can be referred to, but
 * is denied login and everything else. */
static void test_no_access(void **state) {
        callrole_reply *rep = NULL;
        char *role = pt_user_field(admin, "na", "default", "role");

        assert_string_equal(role, "no-access");
        free(role);
        DENY(admin, "na", "login", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, "role 'No Access' does not grant login");
        DENY(admin, "na", "calls.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, "does not grant calls.view");
        DENY(admin, "na", "reports.missed_opportunities.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        /* Nothing to list either. */
        assert_int_equal(callrole_scope(admin, "na", "calls.view", NULL, &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 0);
        callrole_reply_free(rep);
        /* A user unknown to callrole is a different answer. */
        DENY(admin, "nobody-here", "login", NULL, NULL, CALLROLE_REASON_NO_SUCH_USER, NULL);
}

/* "see the individual calls, and listen to any recordings, but can't
 * perform any reporting". */
static void test_calls_only(void **state) {
        callrole_reply *rep = NULL;

        ALLOW(admin, "co", "login", NULL, NULL);
        ALLOW(admin, "co", "calls.view", NULL, NULL);
        ALLOW(admin, "co", "calls.view", NULL, "direction=outbound");
        ALLOW(admin, "co", "calls.listen", NULL, "direction=inbound");
        DENY(admin, "co", "reports.view_tab", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, "reports.view_tab");
        DENY(admin, "co", "reports.missed_opportunities.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "co", "reports.summary.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "co", "calls.export", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "co", "users.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        /* Unrestricted: one alternative with no constraint. */
        assert_int_equal(callrole_scope(admin, "co", "calls.view", NULL, &rep), 1);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_int_equal(callrole_record_n_fields(callrole_reply_record(rep, 0)), 0);
        callrole_reply_free(rep);
}

/* "Like Calls Only, but restricted to inbound" (and outbound). */
static void test_direction_roles(void **state) {
        callrole_reply *rep = NULL;
        const callrole_record *r;

        ALLOW_LIMITED(admin, "vin", "calls.view", NULL, "direction=inbound", "limited to inbound calls");
        ALLOW_LIMITED(admin, "vin", "calls.listen", NULL, "direction=inbound", "inbound");
        DENY(admin, "vin", "calls.view", NULL, "direction=outbound", CALLROLE_REASON_OUT_OF_SCOPE,
             "calls.view is limited to inbound calls");
        DENY(admin, "vin", "calls.listen", NULL, "direction=outbound", CALLROLE_REASON_OUT_OF_SCOPE, "inbound");
        ALLOW(admin, "vout", "calls.view", NULL, "direction=outbound");
        DENY(admin, "vout", "calls.view", NULL, "direction=inbound", CALLROLE_REASON_OUT_OF_SCOPE,
             "calls.view is limited to outbound calls");
        DENY(admin, "vout", "calls.listen", NULL, "direction=inbound", CALLROLE_REASON_OUT_OF_SCOPE, NULL);
        DENY(admin, "vin", "reports.view_tab", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "vout", "reports.missed_opportunities.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);

        /* What a host filters its call list by. */
        assert_int_equal(callrole_scope(admin, "vin", "calls.view", NULL, &rep), 1);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        r = callrole_reply_record(rep, 0);
        assert_int_equal(callrole_record_n_fields(r), 1);
        assert_string_equal(callrole_record_key(r, 0), "direction");
        assert_int_equal(callrole_record_n_values(r, 0), 1);
        assert_string_equal(callrole_record_value(r, 0, 0), "inbound");
        callrole_reply_free(rep);
        assert_int_equal(callrole_scope(admin, "vout", "calls.listen", NULL, &rep), 1);
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 0), "direction"), "outbound");
        callrole_reply_free(rep);
}

/* "the Missed Opportunity Report ONLY". */
static void test_receptionist(void **state) {
        ALLOW(admin, "rec", "login", NULL, NULL);
        ALLOW(admin, "rec", "reports.view_tab", NULL, NULL);
        ALLOW(admin, "rec", "reports.missed_opportunities.view", NULL, NULL);
        DENY(admin, "rec", "reports.summary.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "rec", "reports.adverts.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "rec", "calls.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, "Receptionist");
        DENY(admin, "rec", "calls.listen", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "can see the reports, but cannot see any other part of the system, like
 * individual calls or listen to the recordings". */
static void test_reporting_only(void **state) {
        ALLOW(admin, "rep", "reports.view_tab", NULL, NULL);
        ALLOW(admin, "rep", "reports.summary.view", NULL, NULL);
        ALLOW(admin, "rep", "reports.adverts.view", NULL, NULL);
        ALLOW(admin, "rep", "reports.missed_opportunities.view", NULL, NULL);
        DENY(admin, "rep", "calls.view", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, "Reporting Only");
        DENY(admin, "rep", "calls.listen", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "rep", "reports.edit", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
}

/* "see individual calls as well as run reports. They cannot make any
 * changes." */
static void test_read_only(void **state) {
        static const char *const ro[] = { "login", "calls.view", "calls.listen", "reports.view_tab",
                                          "reports.summary.view", "reports.adverts.view",
                                          "reports.missed_opportunities.view", NULL };
        assert_true(EXPECT_EXACTLY(admin, "ro", NULL, ro) > 30);
}

/* "create Calltracks adverts to obtain a new phone number, create and
 * upload prospect lists and all access of a Read Only user". */
static void test_read_write(void **state) {
        static const char *const rw[] = { "login", "calls.view", "calls.listen", "reports.view_tab",
                                          "reports.summary.view", "reports.adverts.view",
                                          "reports.missed_opportunities.view", "adverts.edit", "prospects.edit",
                                          "numbers.request", NULL };
        assert_true(EXPECT_EXACTLY(admin, "rw", NULL, rw) > 30);
}

/* The admin roles create users, ranked Local Manager < Customer Local Admin
 * < Customer Super Admin: each adds and changes only users ranked below. */
static void test_admin_ranks(void **state) {
        callrole *lm = pt_client("lm"), *cla = pt_client("cla"), *csa = pt_client("csa");
        char *role;

        ALLOW(admin, "lm", "users.create", NULL, NULL);
        ALLOW(admin, "lm", "pins.edit", NULL, NULL);
        ALLOW(admin, "lm", "calls.listen", NULL, NULL);
        DENY(admin, "lm", "users.delete", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        ALLOW(admin, "cla", "users.create", NULL, NULL);
        ALLOW(admin, "cla", "users.delete", NULL, NULL);
        ALLOW(admin, "csa", "users.create", NULL, NULL);
        ALLOW(admin, "csa", "settings.edit", NULL, NULL);
        DENY(admin, "cla", "settings.edit", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);
        DENY(admin, "rw", "users.create", NULL, NULL, CALLROLE_REASON_NOT_GRANTED, NULL);

        /* Local Manager: below itself only. */
        MUST(lm, "user.add", "name", "ct-lm-made", "role", "read-write", NULL);
        REFUSED(lm, -EPERM, "Customer Local Admin", "user.add", "name", "ct-lm-cla", "role", "customer-local-admin",
                NULL);
        assert_false(pt_user_visible(admin, "ct-lm-cla"));
        REFUSED(lm, -EPERM, "only roles ranked below yours", "user.add", "name", "ct-lm-lm", "role", "local-manager",
                NULL);
        REFUSED(lm, -EPERM, "the role 'Local Manager' (rank 40): only roles ranked below yours", "user.set", "name",
                "ro", "role", "local-manager", NULL);
        /* Cannot touch a higher user, who does not even exist for it. */
        REFUSED(lm, -ENOENT, "unknown user 'cla'", "user.set", "name", "cla", "role", "read-only", NULL);
        role = pt_user_field(admin, "cla", "default", "role");
        assert_string_equal(role, "customer-local-admin");
        free(role);
        /* No users.delete. */
        REFUSED(lm, -EPERM, "users.delete", "user.delete", "name", "ct-lm-made", NULL);

        /* Customer Local Admin: "more than a standard Read/Write user". */
        MUST(cla, "user.add", "name", "ct-cla-lm", "role", "local-manager", NULL);
        REFUSED(cla, -EPERM, "the role 'Customer Local Admin' (rank 50): only roles ranked below yours", "user.add",
                "name", "ct-cla-cla", "role", "customer-local-admin", NULL);
        MUST(cla, "user.delete", "name", "ct-lm-made", NULL);
        assert_false(pt_user_visible(admin, "ct-lm-made"));

        /* Customer Super Admin makes Customer Local Admins. */
        MUST(csa, "user.add", "name", "ct-csa-cla", "role", "customer-local-admin", NULL);
        REFUSED(csa, -EPERM, "the role 'Customer Super Admin' (rank 60): only roles ranked below yours", "user.add",
                "name", "ct-csa-csa", "role", "customer-super-admin", NULL);
        /* An equal is seen but not changed. */
        REFUSED(cla, -EPERM, "only users ranked below you", "user.set", "name", "ct-csa-cla", "enabled", "no", NULL);

        /* Who sees whom: ranks at most one's own. */
        assert_true(pt_user_visible(lm, "ro"));
        assert_true(pt_user_listed(lm, "ro"));
        assert_false(pt_user_visible(lm, "cla"));
        assert_false(pt_user_listed(lm, "cla"));
        assert_false(pt_user_listed(lm, "csa"));
        assert_true(pt_user_listed(cla, "lm"));
        assert_false(pt_user_listed(cla, "csa"));
        assert_true(pt_user_listed(csa, "cla"));

        MUST(admin, "user.delete", "name", "ct-cla-lm", NULL);
        MUST(admin, "user.delete", "name", "ct-csa-cla", NULL);
        callrole_free(lm);
        callrole_free(cla);
        callrole_free(csa);
}

/* The same through callrolectl --as, as an administrator would try it. */
static void test_ctl_as(void **state) {
        char *out = NULL, *err = NULL;
        PtState before = pt_state();

        assert_int_equal(pt_ctl(&out, &err, "--as", "lm", "user", "add", "ct-as1", "--role", "customer-local-admin",
                                NULL), 4);
        assert_non_null(strstr(err, "only roles ranked below yours"));
        free(out);
        free(err);
        ASSERT_UNCHANGED(&before);
        assert_false(pt_user_visible(admin, "ct-as1"));

        /* What would lm see? */
        assert_int_equal(pt_ctl(&out, &err, "--as", "lm", "user", "list", NULL), 0);
        assert_non_null(strstr(out, "ro "));
        assert_null(strstr(out, "csa"));
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "--as", "lm", "user", "show", "csa", NULL), 4);
        assert_non_null(strstr(err, "unknown user 'csa'"));
        free(out);
        free(err);
        /* And a dry run of what lm may do: shown, not done. */
        assert_int_equal(pt_ctl(&out, &err, "--as", "lm", "--dry-run", "user", "add", "ct-as2", "--role", "read-only",
                                NULL), 0);
        assert_non_null(strstr(out, "dry run: nothing was changed"));
        assert_non_null(strstr(out, "ct-as2"));
        free(out);
        free(err);
        ASSERT_UNCHANGED(&before);
        assert_false(pt_user_visible(admin, "ct-as2"));
}

/* "A new role as a minimum must contain 'view tab' and at least one 'view'
 * subsection": a custom role that breaks the rule is refused, naming what
 * is missing; nothing is created. */
static void test_reports_rule(void **state) {
        callrole_reply *rep = NULL;

        REFUSED(admin, -EINVAL, "reports.*.view", "role.add", "role", "ct-tab-only", "rank", "10", "grants", "login",
                "grants", "reports.view_tab", NULL);
        assert_int_equal(pt_call(admin, NULL, "role.get", "role", "ct-tab-only", "account", "default", NULL), -ENOENT);
        REFUSED(admin, -EINVAL, "reports.view_tab", "role.add", "role", "ct-report-only", "rank", "10", "grants",
                "login", "grants", "reports.summary.view", NULL);
        assert_int_equal(pt_call(admin, NULL, "role.get", "role", "ct-report-only", "account", "default", NULL),
                         -ENOENT);
        /* A dry run is refused alike. */
        assert_int_equal(callrole_set_dry_run(admin, 1), 0);
        REFUSED(admin, -EINVAL, "reports.*.view", "role.add", "role", "ct-tab-dry", "rank", "10", "grants",
                "reports.view_tab", NULL);
        /* ... and a valid one is shown, not created. */
        assert_int_equal(pt_call(admin, &rep, "role.add", "role", "ct-tab-dry", "rank", "10", "grants",
                                 "reports.view_tab", "grants", "reports.missed_opportunities.view", NULL),
                         0);
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 0), "dry-run"), "yes");
        callrole_reply_free(rep);
        assert_int_equal(callrole_set_dry_run(admin, 0), 0);
        assert_int_equal(pt_call(admin, NULL, "role.get", "role", "ct-tab-dry", "account", "default", NULL), -ENOENT);

        /* The tab with the missed-opportunities report: valid. */
        MUST(admin, "role.add", "role", "ct-custom", "rank", "10", "title", "Custom", "grants", "login", "grants",
             "reports.view_tab", "grants", "reports.missed_opportunities.view", NULL);
        MUST(admin, "role.delete", "role", "ct-custom", NULL);
}

/* Missed-opportunity e-mails only for users whose role can see that
 * report: never Calls Only, never No Access. */
static void test_notifications(void **state) {
        char *v;

        /* Refused for a role without the report, naming the permission. */
        REFUSED(admin, -EINVAL, "reports.missed_opportunities.view", "user.add", "name", "ct-n-co", "role",
                "calls-only", "notify", "missed-opportunities", NULL);
        assert_false(pt_user_visible(admin, "ct-n-co"));
        REFUSED(admin, -EINVAL, "role 'No Access' does not grant it", "user.set", "name", "na", "notify",
                "missed-opportunities=on", NULL);
        REFUSED(admin, -EINVAL, "reports.missed_opportunities.view", "user.set", "name", "co", "notify",
                "missed-opportunities", NULL);
        v = pt_user_field(admin, "co", "default", "notify");
        assert_string_equal(v, "");
        free(v);

        /* Read Only "can still get the missed opportunity emails". */
        MUST(admin, "user.add", "name", "ct-n-ro", "role", "read-only", "notify", "missed-opportunities=on", NULL);
        v = pt_user_field(admin, "ct-n-ro", "default", "notify");
        assert_string_equal(v, "missed-opportunities");
        free(v);
        /* The Receptionist too. */
        MUST(admin, "user.set", "name", "rec", "notify", "missed-opportunities", NULL);
        v = pt_user_field(admin, "rec", "default", "notify");
        assert_string_equal(v, "missed-opportunities");
        free(v);
        /* but not the e-mail about calls, which it cannot see. */
        REFUSED(admin, -EINVAL, "calls.view", "user.set", "name", "rec", "notify", "call-alerts", NULL);

        /* A role change that would leave the e-mail without its report is
         * refused; nothing changes. */
        REFUSED(admin, -EINVAL, "reports.missed_opportunities.view", "user.set", "name", "rec", "role", "calls-only",
                NULL);
        v = pt_user_field(admin, "rec", "default", "role");
        assert_string_equal(v, "receptionist");
        free(v);
        /* So does narrowing the membership away from the report. */
        REFUSED(admin, -EINVAL, "limited to", "user.set", "name", "rec", "only", "login", NULL);
        /* Switching it off with the change is fine. */
        MUST(admin, "user.set", "name", "ct-n-ro", "role", "calls-only", "notify", "missed-opportunities=off", NULL);
        v = pt_user_field(admin, "ct-n-ro", "default", "notify");
        assert_string_equal(v, "");
        free(v);
        MUST(admin, "user.set", "name", "ct-n-ro", "notify", "call-alerts", NULL);
        /* An unknown notification, and a malformed switch. */
        REFUSED(admin, -ENOENT, "no notification 'weekly-digest'", "user.set", "name", "ro", "notify",
                "weekly-digest", NULL);
        REFUSED(admin, -EINVAL, "on or off", "user.set", "name", "ro", "notify", "missed-opportunities=maybe", NULL);

        /* An empty list switches everything off. */
        MUST(admin, "user.set", "name", "rec", "notify", NULL, NULL);
        v = pt_user_field(admin, "rec", "default", "notify");
        assert_string_equal(v, "");
        free(v);
        MUST(admin, "user.delete", "name", "ct-n-ro", NULL);
}

/* The same through callrolectl: --notify, and user show's NOTIFY. */
static void test_ctl_notify(void **state) {
        char *out = NULL, *err = NULL;
        PtState before = pt_state();

        assert_int_equal(pt_ctl(&out, &err, "user", "set", "co", "--notify", "missed-opportunities", NULL), 4);
        assert_non_null(strstr(err, "reports.missed_opportunities.view"));
        free(out);
        free(err);
        ASSERT_UNCHANGED(&before);
        assert_int_equal(pt_ctl(&out, &err, "user", "set", "co", "--notify", "sometimes=perhaps", NULL), 2);
        free(out);
        free(err);

        assert_int_equal(pt_ctl(&out, &err, "user", "add", "ct-n-cli", "--role", "reporting-only", "--notify",
                                "missed-opportunities=on", NULL),
                         0);
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "user", "show", "ct-n-cli", NULL), 0);
        assert_non_null(strstr(out, "NOTIFY"));
        assert_non_null(strstr(out, "missed-opportunities"));
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "user", "set", "ct-n-cli", "--notify", "", NULL), 0);
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "user", "show", "ct-n-cli", NULL), 0);
        assert_null(strstr(out, "missed-opportunities"));
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "user", "del", "ct-n-cli", NULL), 0);
        free(out);
        free(err);
}

/* callrolectl check prints the reason and what decided it. */
static void test_ctl_check(void **state) {
        char *out = NULL, *err = NULL;

        assert_int_equal(pt_ctl(&out, &err, "check", "vin", "calls.view", "--attr", "direction=outbound", NULL), 1);
        assert_string_equal(out, "deny: out-of-scope (calls.view is limited to inbound calls)\n");
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "check", "na", "login", NULL), 1);
        assert_string_equal(out, "deny: not-granted (role 'No Access' does not grant login)\n");
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "check", "co", "calls.listen", NULL), 0);
        assert_string_equal(out, "allow\n");
        free(out);
        free(err);
}

/* The matrix the product page draws, from the profile file and from the
 * loaded roles. */
static void test_ctl_matrix(void **state) {
        char *out = NULL, *err = NULL, path[512], buf[65536];
        FILE *f;
        size_t n;

        assert_int_equal(pt_ctl(&out, &err, "role", "matrix", "--profile", "calltracks", NULL), 0);
        assert_non_null(strstr(out, "PERMISSION"));
        assert_non_null(strstr(out, "receptionist"));
        assert_non_null(strstr(out, "in"));   /* the inbound scope's abbreviation */
        assert_non_null(strstr(out, "reports.missed_opportunities.view"));
        assert_non_null(strstr(out, "pins.edit"));
        free(out);
        free(err);

        snprintf(path, sizeof(path), "%s/matrix.html", pt_daemon.dir);
        assert_int_equal(pt_ctl(&out, &err, "role", "matrix", "--account", "default", "--html", path, NULL), 0);
        free(out);
        free(err);
        f = fopen(path, "re");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        assert_non_null(strstr(buf, "<!DOCTYPE html>"));
        assert_non_null(strstr(buf, "<table>"));
        assert_non_null(strstr(buf, "Customer Super Admin"));
        assert_non_null(strstr(buf, "reports.view_tab"));
        unlink(path);

        assert_int_equal(pt_ctl(&out, &err, "role", "matrix", "--profile", "calltracks", "--account", "default", NULL),
                         2);
        free(out);
        free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_role_ids),
                cmocka_unit_test(test_no_access),
                cmocka_unit_test(test_calls_only),
                cmocka_unit_test(test_direction_roles),
                cmocka_unit_test(test_receptionist),
                cmocka_unit_test(test_reporting_only),
                cmocka_unit_test(test_read_only),
                cmocka_unit_test(test_read_write),
                cmocka_unit_test(test_admin_ranks),
                cmocka_unit_test(test_ctl_as),
                cmocka_unit_test(test_reports_rule),
                cmocka_unit_test(test_notifications),
                cmocka_unit_test(test_ctl_notify),
                cmocka_unit_test(test_ctl_check),
                cmocka_unit_test(test_ctl_matrix),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
