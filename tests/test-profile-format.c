/*
 * test-profile-format.c: what the shipped profiles need beyond the core
 * model, tested below the profiles themselves:
 *   - the profile directives "role ... agency-only" and "notification NAME
 *     requires PERMISSION" (daemon/profile.c), and that every shipped
 *     profile parses;
 *   - schema migration 2 of the store (daemon/store.c): a version-1
 *     database with data is moved forward, its data kept, and the new
 *     features work on it;
 *   - notification definitions per account (account.set notifications),
 *     inherited by sub-accounts, validated, persistent across a restart.
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

#include "helper-model.h"
#include "helper-profile.h"
#include "macro.h"
#include "manager.h"
#include "model.h"
#include "snapshot-layout.h"
#include "store.h"

/* ---- the parser ------------------------------------------------------- */

static Profile *parse_ok(const char *text) {
        Profile *p = NULL;
        char *err = NULL;
        int r = profile_parse("t", text, strlen(text), "acct", &p, &err);

        if (r < 0)
                fail_msg("profile did not parse: %s", err ? err : strerror(-r));
        free(err);
        return p;
}

static void parse_fails(const char *text, const char *needle) {
        Profile *p = NULL;
        char *err = NULL;
        int r = profile_parse("t", text, strlen(text), "acct", &p, &err);

        assert_int_equal(r, -EINVAL);
        assert_null(p);
        if (!err || !strstr(err, needle))
                fail_msg("error '%s' does not say '%s'", err ? err : "(none)", needle);
        free(err);
}

static void test_parse_agency_only(void **state) {
        Profile *p = parse_ok("profile t \"T\"\nrole boss 90 \"Boss\" agency-only\ngrant login\nrole plain 1 \"P\"\n");

        assert_int_equal(p->n_roles, 2);
        assert_int_equal(p->changes[0].type, CR_MSG_ROLE_ADD);
        assert_string_equal(cr_record_get(&p->changes[0].params, "agency-only"), "yes");
        assert_string_equal(cr_record_get(&p->changes[0].params, "account"), "acct");
        assert_null(cr_record_field(&p->changes[1].params, "agency-only"));
        profile_free(p);

        parse_fails("profile t \"T\"\nrole boss 90 \"Boss\" agency\n", "use: role ID RANK \"Title\" [agency-only]");
        parse_fails("profile t \"T\"\nrole boss 90 \"Boss\" agency-only extra\n", "[agency-only]");
}

static void test_parse_notification(void **state) {
        Profile *p;
        const struct cr_field *f;

        /* A notification line ends the role above it, like permission and
         * rule lines do. */
        parse_fails("profile t \"T\"\nrole r 1 \"R\"\nnotification daily requires login\ngrant login\n",
                    "'grant' must follow a 'role' line");

        p = parse_ok("profile t \"T\"\nnotification weekly requires reports.x.view\n");
        assert_int_equal(p->n_changes, 1);
        assert_int_equal(p->changes[0].type, CR_MSG_ACCOUNT_SET);
        assert_string_equal(cr_record_get(&p->changes[0].params, "name"), "acct");
        f = cr_record_field(&p->changes[0].params, "notifications");
        assert_non_null(f);
        assert_int_equal(f->n_values, 1);
        assert_string_equal(f->values[0], "weekly=reports.x.view");
        profile_free(p);

        parse_fails("profile t \"T\"\nnotification weekly needs login\n", "use: notification NAME requires PERMISSION");
        parse_fails("profile t \"T\"\nnotification weekly requires\n", "use: notification");
        parse_fails("profile t \"T\"\nnotification we/ekly requires login\n", "invalid notification name");
        parse_fails("profile t \"T\"\nnotification weekly requires log=in\n", "invalid permission name");
        parse_fails("profile t \"T\"\nnotifications weekly requires login\n", "unknown directive 'notifications'");
}

/* Every shipped profile parses, with the fixed number of roles. */
static void test_shipped_profiles_parse(void **state) {
        static const struct {
                const char *name;
                size_t roles;
        } shipped[] = { { "calltracks", 11 }, { "ctm", 8 }, { "cloudtalk", 5 }, { "dashboard-access", 6 } };
        char dir[1024];

        snprintf(dir, sizeof(dir), "%s/profiles", test_source_dir());
        for (size_t i = 0; i < ELEMENTSOF(shipped); i++) {
                struct cr_records l = {};
                Profile *p = NULL;
                char *err = NULL;

                if (profile_load_file(dir, shipped[i].name, "default", &p, &err) < 0)
                        fail_msg("%s: %s", shipped[i].name, err);
                assert_int_equal(p->n_roles, shipped[i].roles);
                profile_free(p);

                /* The records role matrix --profile draws. */
                assert_int_equal(profile_role_records(dir, shipped[i].name, &l, &err), 0);
                assert_int_equal(l.n, shipped[i].roles);
                for (size_t j = 0; j < l.n; j++) {
                        assert_string_equal(cr_record_get(&l.items[j], "profile"), shipped[i].name);
                        assert_string_equal(cr_record_get(&l.items[j], "account"), "");
                        assert_non_null(cr_record_get(&l.items[j], "rank"));
                        assert_non_null(cr_record_field(&l.items[j], "grants"));
                        assert_non_null(cr_record_get(&l.items[j], "agency-only"));
                }
                cr_records_clear(&l);
        }
        {
                struct cr_records l = {};
                char *err = NULL;
                assert_int_equal(profile_role_records(dir, "no-such-profile", &l, &err), -ENOENT);
                assert_non_null(strstr(err, "no profile 'no-such-profile'"));
                assert_int_equal(l.n, 0);
                free(err);
        }
}

/* ---- migration 2 ------------------------------------------------------- */

static void apply(Store *s, int type, const char *const *kv) {
        struct cr_record rec = {};
        char *err = NULL;

        for (size_t i = 0; kv[i]; i += 2)
                assert_int_equal(kv[i + 1] ? cr_record_add(&rec, kv[i], kv[i + 1]) : cr_record_add_empty(&rec, kv[i]),
                                 0);
        if (store_apply(s, type, &rec, &err) < 0)
                fail_msg("store_apply: %s", err);
        cr_record_clear(&rec);
}

static const ModelRole *model_role(const Model *m, const char *id) {
        for (size_t i = 0; i < m->n_roles; i++)
                if (strcmp(m->roles[i].id, id) == 0)
                        return &m->roles[i];
        return NULL;
}

/* The scratch folder of the store tests, removed by scratch_teardown() even
 * when an assertion cuts a test short. */
static char scratch_dir[64];

static const char *scratch_make(const char *template) {
        snprintf(scratch_dir, sizeof(scratch_dir), "%s", template);
        if (!mkdtemp(scratch_dir)) {
                scratch_dir[0] = 0;
                fail_msg("mkdtemp(%s): %s", template, strerror(errno));
        }
        return scratch_dir;
}

static int scratch_teardown(void **state) {
        if (scratch_dir[0])
                test_rm_rf(scratch_dir);
        scratch_dir[0] = 0;
        return 0;
}

static void test_migration_2(void **state) {
        const char *dir = scratch_make("/tmp/callrole-mig.XXXXXX");
        char path[512];
        Store *s = NULL;
        Model *m = NULL;
        char *err = NULL;

        snprintf(path, sizeof(path), "%s/roles.db", dir);

        /* A database with data... */
        assert_int_equal(store_open(path, &s, &err), 0);
        assert_int_equal(store_begin(s, NULL), 0);
        apply(s, CR_MSG_ROLE_ADD,
              (const char *const[]) { "role", "agent", "rank", "10", "grants", "login", NULL });
        apply(s, CR_MSG_USER_ADD, (const char *const[]) { "name", "alice", "role", "agent", "groups", "g1", NULL });
        assert_int_equal(store_commit(s, NULL), 0);
        s = store_free(s);
        assert_int_equal(test_sql_int(path, "PRAGMA user_version"), 2);

        /* ... taken back to what schema 1 was: no agency_only column, no
         * notification tables, version 1. */
        test_sql_exec(path, "DROP TABLE membership_notifications; DROP TABLE account_notifications;"
                       "ALTER TABLE roles DROP COLUMN agency_only; PRAGMA user_version = 1;");
        assert_int_equal(
                test_sql_int(path, "SELECT count(*) FROM pragma_table_info('roles') WHERE name = 'agency_only'"), 0);

        /* Opening migrates it forward and keeps the data. */
        assert_int_equal(store_open(path, &s, &err), 0);
        assert_int_equal(store_load(s, &m, &err), 0);
        assert_non_null(model_role(m, "agent"));
        assert_false(model_role(m, "agent")->agency_only);
        assert_int_equal(m->n_users, 1);
        assert_string_equal(m->users[0].name, "alice");
        assert_int_equal(m->users[0].n_memberships, 1);
        assert_string_equal(m->users[0].memberships[0].groups[0], "g1");
        assert_int_equal(strv_length(m->users[0].memberships[0].notify), 0);
        m = model_free(m);

        /* The new features work on it. */
        assert_int_equal(store_begin(s, NULL), 0);
        apply(s, CR_MSG_ROLE_ADD,
              (const char *const[]) { "role", "boss", "rank", "90", "agency-only", "yes", "grants", "login", NULL });
        apply(s, CR_MSG_ACCOUNT_SET, (const char *const[]) { "name", "default", "notifications", "daily=login", NULL });
        apply(s, CR_MSG_USER_SET, (const char *const[]) { "name", "alice", "notify", "daily=on", NULL });
        assert_int_equal(store_commit(s, NULL), 0);
        assert_int_equal(store_load(s, &m, &err), 0);
        assert_true(model_role(m, "boss")->agency_only);
        assert_string_equal(m->accounts[0].notifications[0], "daily=login");
        assert_string_equal(m->users[0].memberships[0].notify[0], "daily");
        m = model_free(m);

        /* A membership's settings go with it. */
        assert_int_equal(store_begin(s, NULL), 0);
        apply(s, CR_MSG_USER_DELETE, (const char *const[]) { "name", "alice", NULL });
        assert_int_equal(store_commit(s, NULL), 0);
        s = store_free(s);
        assert_int_equal(test_sql_int(path, "PRAGMA user_version"), 2);
        assert_int_equal(
                test_sql_int(path, "SELECT count(*) FROM pragma_table_info('roles') WHERE name = 'agency_only'"), 1);
        assert_int_equal(test_sql_int(path, "SELECT count(*) FROM membership_notifications"), 0);
        assert_int_equal(test_sql_int(path, "SELECT count(*) FROM account_notifications"), 1);
        test_rm_rf(dir);
        scratch_dir[0] = 0;
}

/* Refusals of the store for the new fields, each leaving the transaction
 * as it was. */
static void test_store_refusals(void **state) {
        const char *dir = scratch_make("/tmp/callrole-st2.XXXXXX");
        char path[512];
        struct {
                int type;
                const char *kv[12];
                int error;
                const char *needle;
        } bad[] = {
                { CR_MSG_ROLE_ADD, { "role", "x", "rank", "1", "agency-only", "maybe", NULL }, -EINVAL, "yes' or 'no" },
                { CR_MSG_ACCOUNT_SET, { "name", "default", "notifications", "daily", NULL }, -EINVAL, "KEY=VALUE" },
                { CR_MSG_ACCOUNT_SET, { "name", "default", "notifications", "daily=no.such", NULL }, -ENOENT,
                  "unknown permission 'no.such'" },
                { CR_MSG_ACCOUNT_SET, { "name", "default", "notifications", "never=", NULL }, -ENOENT,
                  "defines no notification 'never'" },
                { CR_MSG_USER_SET, { "name", "alice", "notify", "daily=sometimes", NULL }, -EINVAL, "on or off" },
                { CR_MSG_USER_SET, { "name", "alice", "notify", "=on", NULL }, -EINVAL, "NAME=on" },
                { CR_MSG_USER_ADD, { "name", "bob", "role", "agent", "notify", "da/ily", NULL }, -EINVAL,
                  "invalid notification name" },
        };
        Store *s = NULL;
        Model *m = NULL;

        snprintf(path, sizeof(path), "%s/roles.db", dir);
        assert_int_equal(store_open(path, &s, NULL), 0);
        assert_int_equal(store_begin(s, NULL), 0);
        apply(s, CR_MSG_ROLE_ADD, (const char *const[]) { "role", "agent", "rank", "10", "grants", "login", NULL });
        apply(s, CR_MSG_USER_ADD, (const char *const[]) { "name", "alice", "role", "agent", NULL });
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct cr_record rec = {};
                char *err = NULL;
                for (size_t k = 0; bad[i].kv[k]; k += 2)
                        assert_int_equal(cr_record_add(&rec, bad[i].kv[k], bad[i].kv[k + 1]), 0);
                assert_int_equal(store_apply(s, bad[i].type, &rec, &err), bad[i].error);
                if (!err || !strstr(err, bad[i].needle))
                        fail_msg("case %zu: '%s' does not say '%s'", i, err ? err : "(none)", bad[i].needle);
                free(err);
                cr_record_clear(&rec);
        }
        assert_int_equal(store_load(s, &m, NULL), 0);
        assert_int_equal(m->n_roles, 1);
        assert_int_equal(m->n_users, 1);
        assert_string_equal(m->users[0].name, "alice");
        assert_int_equal(strv_length(m->accounts[0].notifications), 0);
        /* The two refused user.set calls left alice's settings alone. */
        assert_int_equal(m->users[0].n_memberships, 1);
        assert_int_equal(strv_length(m->users[0].memberships[0].notify), 0);
        m = model_free(m);
        assert_int_equal(store_rollback(s), 0);
        s = store_free(s);
        test_rm_rf(dir);
        scratch_dir[0] = 0;
}

/* ---- the compiled form -------------------------------------------------- */

static char **strv_of(const char *a, const char *b) {
        char **l = NULL;
        if (a)
                assert_int_equal(strv_extend(&l, a), 0);
        if (b)
                assert_int_equal(strv_extend(&l, b), 0);
        if (!l)
                l = calloc(1, sizeof(char *));
        assert_non_null(l);
        return l;
}

/* Two permissions, an agency "ag" with a sub-account "sub", and a stand-alone
 * "solo" marked kind=agency; ag defines the notifications given. */
static Model *small_model(const char *n1, const char *n2) {
        Model *m = model_new();

        assert_non_null(m);
        m->permissions = calloc(2, sizeof(ModelPermission));
        m->n_permissions = 2;
        m->permissions[0].name = strdup("calls.view");
        m->permissions[1].name = strdup("login");
        m->accounts = calloc(3, sizeof(ModelAccount));
        m->n_accounts = 3;
        m->accounts[0] = (ModelAccount) { .name = strdup("ag"), .seats = -1, .notifications = strv_of(n1, n2),
                                          .attrs = strv_of(NULL, NULL), .hidden = strv_of(NULL, NULL) };
        m->accounts[1] = (ModelAccount) { .name = strdup("solo"), .seats = -1, .attrs = strv_of("kind=agency", NULL),
                                          .notifications = strv_of(NULL, NULL), .hidden = strv_of(NULL, NULL) };
        m->accounts[2] = (ModelAccount) { .name = strdup("sub"), .parent = strdup("ag"), .seats = -1,
                                          .attrs = strv_of("kind=agency-not", NULL),
                                          .notifications = strv_of(NULL, NULL), .hidden = strv_of(NULL, NULL) };
        return m;
}

static void test_snapshot_notifications(void **state) {
        Model *m = small_model("calls=calls.view", "hello=login");
        Snapshot *s = NULL;
        const SnapAccount *ag, *sub, *solo;

        assert_int_equal(snapshot_compile(m, 1, &s), 0);
        assert_int_equal(s->version, SNAPSHOT_VERSION);
        assert_int_equal(s->n_notifications, 2);
        ag = snap_accounts(s, snap_find_account(s, "ag"));
        sub = snap_accounts(s, snap_find_account(s, "sub"));
        solo = snap_accounts(s, snap_find_account(s, "solo"));
        assert_int_equal(ag->n_notifications, 2);
        assert_int_equal(sub->n_notifications, 0);
        assert_string_equal(snap_str(s, snap_notifications(s, ag->first_notification)->name), "calls");
        assert_int_equal(snap_notifications(s, ag->first_notification)->permission,
                         snap_find_permission(s, "calls.view"));
        assert_int_equal(snap_notifications(s, ag->first_notification + 1)->permission,
                         snap_find_permission(s, "login"));
        /* Agencies: sub-accounts, or kind=agency of one's own. */
        assert_true(ag->flags & SNAP_ACCOUNT_AGENCY);
        assert_true(solo->flags & SNAP_ACCOUNT_AGENCY);
        assert_false(sub->flags & SNAP_ACCOUNT_AGENCY);
        s = snapshot_free(s);
        model_free(m);

        /* What the store never holds is refused: a duplicate name, an
         * unknown permission, no '='. */
        m = small_model("calls=calls.view", "calls=login");
        assert_int_equal(snapshot_compile(m, 1, &s), -EINVAL);
        model_free(m);
        m = small_model("calls=no.such", NULL);
        assert_int_equal(snapshot_compile(m, 1, &s), -EINVAL);
        model_free(m);
        m = small_model("calls", NULL);
        assert_int_equal(snapshot_compile(m, 1, &s), -EINVAL);
        model_free(m);
        assert_null(s);
}

/* ---- notifications through the daemon --------------------------------- */

static int daemon_setup(void **state) {
        return pt_start() < 0 ? -1 : 0;
}

static int daemon_teardown(void **state) {
        pt_stop();
        return 0;
}

static void test_notification_definitions(void **state) {
        callrole *c = pt_client(NULL);
        callrole_reply *rep = NULL;
        char *v;

        MUST(c, "account.add", "name", "nf-ag", NULL);
        MUST(c, "account.add", "name", "nf-sub", "parent", "nf-ag", NULL);
        MUST(c, "role.add", "role", "viewer", "rank", "10", "account", "nf-ag", "grants", "login", "grants",
             "calls.view", NULL);
        MUST(c, "role.add", "role", "lister", "rank", "10", "account", "nf-ag", "grants", "login", "grants",
             "users.view", NULL);
        MUST(c, "account.set", "name", "nf-ag", "notifications", "calls=calls.view", NULL);
        /* Defined in the agency, usable in the sub-account. */
        MUST(c, "user.add", "name", "nf-v", "role", "viewer", "account", "nf-sub", "notify", "calls", NULL);
        REFUSED(c, -EINVAL, "needs calls.view", "user.add", "name", "nf-l", "role", "lister", "account", "nf-sub",
                "notify", "calls=on", NULL);
        /* Not outside the agency. */
        MUST(c, "role.add", "role", "viewer", "rank", "10", "grants", "login", "grants", "calls.view", NULL);
        REFUSED(c, -ENOENT, "no notification 'calls' in account 'default'", "user.add", "name", "nf-d", "role",
                "viewer", "notify", "calls", NULL);
        /* A sub-account's own definition wins over the agency's. */
        MUST(c, "account.add", "name", "nf-sub2", "parent", "nf-ag", "attrs", "x=y", NULL);
        MUST(c, "account.set", "name", "nf-sub2", "notifications", "calls=users.view", NULL);
        MUST(c, "user.add", "name", "nf-l2", "role", "lister", "account", "nf-sub2", "notify", "calls", NULL);
        REFUSED(c, -EINVAL, "needs users.view", "user.add", "name", "nf-v2", "role", "viewer", "account", "nf-sub2",
                "notify", "calls", NULL);
        /* Changing a definition under an enabled setting is refused. */
        REFUSED(c, -EINVAL, "users.view", "account.set", "name", "nf-ag", "notifications", "calls=users.view", NULL);
        /* Removing a definition in use: the setting would dangle. */
        REFUSED(c, -ENOENT, "no notification 'calls'", "account.set", "name", "nf-ag", "notifications", "calls=",
                NULL);
        /* Hiding the feature from the sub-account under the setting too. */
        REFUSED(c, -EINVAL, "agency 'nf-ag' hides it", "account.set", "name", "nf-ag", "hide", "calls.*", NULL);

        /* Seen in account.list and user.get; persistent across a restart. */
        assert_int_equal(test_daemon_restart(&pt_daemon, NULL), 0);
        callrole_free(c);
        c = pt_client(NULL);
        assert_int_equal(pt_call(c, &rep, "account.list", NULL), 0);
        for (size_t i = 0; i < callrole_reply_n_records(rep); i++) {
                const callrole_record *r = callrole_reply_record(rep, i);
                if (strcmp(callrole_record_get(r, "name"), "nf-ag") == 0) {
                        assert_string_equal(callrole_record_get(r, "notifications"), "calls=calls.view");
                        assert_string_equal(callrole_record_get(r, "agency"), "yes");
                }
                if (strcmp(callrole_record_get(r, "name"), "nf-sub") == 0)
                        assert_string_equal(callrole_record_get(r, "agency"), "no");
        }
        callrole_reply_free(rep);
        v = pt_user_field(c, "nf-v", "nf-sub", "notify");
        assert_string_equal(v, "calls");
        free(v);
        /* The audit shows the setting. */
        assert_int_equal(pt_call(c, &rep, "audit", "limit", "100000", NULL), 0);
        {
                bool seen = false;
                for (size_t i = 0; i < callrole_reply_n_records(rep); i++) {
                        const char *after = callrole_record_get(callrole_reply_record(rep, i), "after");
                        if (after && strstr(after, "nf-v") && strstr(after, "notify=calls"))
                                seen = true;
                }
                assert_true(seen);
        }
        callrole_reply_free(rep);
        callrole_free(c);
}

/* role add --agency-only and what role show and account list say. */
static void test_ctl_agency_only(void **state) {
        char *out = NULL, *err = NULL;

        assert_int_equal(pt_ctl(&out, &err, "role", "add", "fx-boss", "--rank", "90", "--agency-only", "--grant",
                                "login", NULL),
                         0);
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "role", "show", "fx-boss", "--account", "default", NULL), 0);
        {
                const char *l = strstr(out, "agency-only:");
                assert_non_null(l);
                assert_true(strncmp(l + strlen("agency-only:") + strspn(l + strlen("agency-only:"), " "), "yes\n", 4) ==
                            0);
        }
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "user", "add", "fx-u", "--role", "fx-boss", NULL), 4);
        assert_non_null(strstr(err, "exists only in agencies"));
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "account", "set", "default", "--notification", "fx=login", NULL), 0);
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "account", "list", NULL), 0);
        assert_non_null(strstr(out, "NOTIFICATIONS"));
        assert_non_null(strstr(out, "fx=login"));
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "account", "set", "default", "--notification", "fx", NULL), 2);
        free(out);
        free(err);
        assert_int_equal(pt_ctl(&out, &err, "account", "set", "default", "--notification", "fx=", NULL), 0);
        free(out);
        free(err);
}

int main(void) {
        const struct CMUnitTest unit[] = {
                cmocka_unit_test(test_parse_agency_only),
                cmocka_unit_test(test_parse_notification),
                cmocka_unit_test(test_shipped_profiles_parse),
                cmocka_unit_test_teardown(test_migration_2, scratch_teardown),
                cmocka_unit_test_teardown(test_store_refusals, scratch_teardown),
                cmocka_unit_test(test_snapshot_notifications),
        };
        const struct CMUnitTest with_daemon[] = {
                cmocka_unit_test(test_notification_definitions),
                cmocka_unit_test(test_ctl_agency_only),
        };
        int r = cmocka_run_group_tests_name("profile-format", unit, NULL, NULL);
        return r | cmocka_run_group_tests_name("profile-format-daemon", with_daemon, daemon_setup, daemon_teardown);
}
