/*
 * test-ctl.c: end-to-end tests of callrolectl.  The real command line runs
 * as a child process (tests/helper-daemon.c: test_ctl, test_ctl_as_uid)
 * against a real callroled on a temporary socket and database, and each
 * test checks what a person or a script relies on: the exit status (0 ok or
 * allowed, 1 denied, 2 usage error, 3 daemon unreachable, 4 other error),
 * the lines printed, the JSON of --json (parsed with json-c), and that a
 * refused or dry-run change left the database as it was.
 *
 * One daemon serves the whole group; the calltracks profile is loaded into
 * the default account by the group setup, through callrolectl itself.
 * Every test creates the users it needs under its own name prefix, so the
 * tests pass in any order.  Usage errors are run against a socket path
 * that does not exist: exit status 2 there (and not 3) proves the command
 * line refused them before trying to reach the daemon.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "callrole.h"
#include "helper-daemon.h"

#define NOBODY_UID ((uid_t) 65534)

static TestDaemon ctl_daemon;
static TestDaemon *d = &ctl_daemon;

/* ---- helpers ------------------------------------------------------------ */

/* Runs callrolectl; the output strings are kept until the next run. */
typedef struct Run {
        int rc;
        char *out, *err;
} Run;

static Run last;

static void run_reset(void) {
        free(last.out);
        free(last.err);
        last = (Run) {};
}

#define CTL(...)                                                                   \
        ({                                                                         \
                run_reset();                                                       \
                last.rc = test_ctl(d, &last.out, &last.err, __VA_ARGS__, NULL);    \
                assert_non_null(last.out);                                         \
                assert_non_null(last.err);                                         \
                last.rc;                                                           \
        })

/* The same against another daemon description (a socket that is not
 * there). */
#define CTL_AT(dd, ...)                                                            \
        ({                                                                         \
                run_reset();                                                       \
                last.rc = test_ctl((dd), &last.out, &last.err, __VA_ARGS__, NULL); \
                assert_non_null(last.out);                                         \
                assert_non_null(last.err);                                         \
                last.rc;                                                           \
        })

#define CTL_AS_UID(uid, ...)                                                                  \
        ({                                                                                    \
                run_reset();                                                                  \
                last.rc = test_ctl_as_uid(d, (uid), &last.out, &last.err, __VA_ARGS__, NULL); \
                assert_non_null(last.out);                                                    \
                assert_non_null(last.err);                                                    \
                last.rc;                                                                      \
        })

static void show_last(const char *what) {
        print_error("%s: exit %d\n--- stdout ---\n%s--- stderr ---\n%s", what, last.rc, last.out, last.err);
}

/* The last run exited with rc. */
#define EXPECT_RC(rc_)                                                 \
        do {                                                           \
                if (last.rc != (rc_)) {                                \
                        show_last("unexpected exit status");           \
                        fail_msg("expected exit %d, got %d", (rc_), last.rc); \
                }                                                      \
        } while (0)

static void expect_in(const char *text, const char *what, const char *needle) {
        if (!strstr(text, needle)) {
                show_last("missing text");
                fail_msg("%s does not contain '%s'", what, needle);
        }
}

static void expect_not_in(const char *text, const char *what, const char *needle) {
        if (strstr(text, needle)) {
                show_last("unexpected text");
                fail_msg("%s contains '%s'", what, needle);
        }
}

#define OUT_HAS(s) expect_in(last.out, "stdout", (s))
#define ERR_HAS(s) expect_in(last.err, "stderr", (s))
#define OUT_LACKS(s) expect_not_in(last.out, "stdout", (s))

/* A line of stdout that starts with prefix (after leading blanks are not
 * skipped: tables start at column 0), or NULL. Static copy. */
static const char *out_line_starting(const char *prefix) {
        static char line[4096];
        const char *p = last.out;

        while (p && *p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen(p);
                if (strncmp(p, prefix, strlen(prefix)) == 0) {
                        snprintf(line, sizeof(line), "%.*s", (int) n, p);
                        return line;
                }
                p = nl ? nl + 1 : NULL;
        }
        return NULL;
}

/* The value of "key:  value" in a block printed by status or role show. */
static const char *block_value(const char *key) {
        static char value[4096];
        char prefix[128];
        const char *line, *v;

        snprintf(prefix, sizeof(prefix), "%s:", key);
        line = out_line_starting(prefix);
        if (!line) {
                show_last("missing key");
                fail_msg("no line '%s' in the output", prefix);
        }
        v = line + strlen(prefix);
        while (*v == ' ')
                v++;
        snprintf(value, sizeof(value), "%s", v);
        return value;
}

/* Whitespace-separated words of a table row. */
static size_t split_words(const char *line, char words[][256], size_t max) {
        size_t n = 0;
        while (*line && n < max) {
                size_t len = 0;
                while (*line == ' ')
                        line++;
                if (!*line)
                        break;
                while (line[len] && line[len] != ' ')
                        len++;
                snprintf(words[n++], 256, "%.*s", (int) len, line);
                line += len;
        }
        return n;
}

static json_object *parse_json_out(void) {
        json_tokener *tok = json_tokener_new();
        json_object *o;
        size_t len = strlen(last.out);

        assert_non_null(tok);
        o = json_tokener_parse_ex(tok, last.out, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success) {
                show_last("not JSON");
                fail_msg("--json output does not parse: %s", json_tokener_error_desc(json_tokener_get_error(tok)));
        }
        /* Only white space after the value. */
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (last.out[i] != '\n' && last.out[i] != ' ')
                        fail_msg("text after the JSON value: '%s'", last.out + i);
        json_tokener_free(tok);
        return o;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, key, &v))
                fail_msg("JSON object lacks '%s': %s", key, json_object_to_json_string(o));
        if (!json_object_is_type(v, json_type_string))
                fail_msg("JSON '%s' is not a string: %s", key, json_object_to_json_string(v));
        return json_object_get_string(v);
}

/* The element of a JSON array whose key is value, or NULL. */
static json_object *jfind(json_object *arr, const char *key, const char *value) {
        assert_true(json_object_is_type(arr, json_type_array));
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                json_object *e = json_object_array_get_idx(arr, i), *v = NULL;
                if (json_object_object_get_ex(e, key, &v) && json_object_is_type(v, json_type_string) &&
                    strcmp(json_object_get_string(v), value) == 0)
                        return e;
        }
        return NULL;
}

/* The values of a JSON array of strings, joined with ','. Static. */
static const char *jlist(json_object *o, const char *key) {
        static char buf[1024];
        json_object *v = NULL;
        size_t len = 0;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
                fail_msg("JSON '%s' is not an array in %s", key, json_object_to_json_string(o));
        buf[0] = 0;
        for (size_t i = 0; i < json_object_array_length(v); i++)
                len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "",
                                         json_object_get_string(json_object_array_get_idx(v, i)));
        return buf;
}

/* A scalar or list field: a string as is, null as "", an array joined with
 * ','. Static. */
static const char *jany(json_object *o, const char *key) {
        static char buf[2048];
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v))
                fail_msg("JSON object lacks '%s': %s", key, json_object_to_json_string(o));
        if (!v)
                return "";
        if (json_object_is_type(v, json_type_string)) {
                snprintf(buf, sizeof(buf), "%s", json_object_get_string(v));
                return buf;
        }
        return jlist(o, key);
}

static const char *my_user_name(void) {
        static char name[256];
        struct passwd *pw = getpwuid(getuid());
        assert_non_null(pw);
        snprintf(name, sizeof(name), "%s", pw->pw_name);
        return name;
}

/* What must not move when a change is refused: the generation and counts
 * of status, and the number of audit records. */
typedef struct Fingerprint {
        char generation[64], users[64], roles[64];
        size_t n_audit;
} Fingerprint;

static Fingerprint fingerprint(void) {
        Fingerprint f = {};
        json_object *o;

        CTL("status");
        EXPECT_RC(0);
        snprintf(f.generation, sizeof(f.generation), "%s", block_value("generation"));
        snprintf(f.users, sizeof(f.users), "%s", block_value("users"));
        snprintf(f.roles, sizeof(f.roles), "%s", block_value("roles"));
        CTL("--json", "audit");
        EXPECT_RC(0);
        o = parse_json_out();
        f.n_audit = json_object_array_length(o);
        json_object_put(o);
        return f;
}

static void assert_unchanged(const Fingerprint *before) {
        Fingerprint now = fingerprint();
        assert_string_equal(now.generation, before->generation);
        assert_string_equal(now.users, before->users);
        assert_string_equal(now.roles, before->roles);
        assert_int_equal(now.n_audit, before->n_audit);
}

static bool user_exists(const char *name) {
        int rc = CTL("user", "show", name);
        if (rc == 0)
                return true;
        EXPECT_RC(4);
        ERR_HAS(name);
        return false;
}

/* A TestDaemon whose socket is not there (nothing is ever started). */
static TestDaemon nowhere;

/* A second, empty daemon a test may start for itself (the round trip of
 * test_import_export); the group teardown stops it if the test failed
 * before it could. */
static TestDaemon fresh_daemon;

static void fresh_daemon_cleanup(void) {
        if (fresh_daemon.dir[0])
                test_daemon_cleanup(&fresh_daemon);
        fresh_daemon = (TestDaemon) {};
}

/* ---- group ------------------------------------------------------------- */

static int group_setup(void **state) {
        if (test_daemon_start(&ctl_daemon, NULL) < 0)
                return -1;
        /* mkdtemp made the folder 0700: let uid 65534 reach the socket. */
        if (chmod(ctl_daemon.dir, 0755) < 0)
                return -1;
        if (CTL("profile", "load", "calltracks") != 0) {
                show_last("profile load calltracks");
                return -1;
        }
        snprintf(nowhere.socket, sizeof(nowhere.socket), "%s/no-such-folder/socket", ctl_daemon.dir);
        return 0;
}

static int group_teardown(void **state) {
        run_reset();
        fresh_daemon_cleanup();
        test_daemon_cleanup(&ctl_daemon);
        return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_status(void **state) {
        char uid[32];
        json_object *o, *r;

        CTL("status");
        EXPECT_RC(0);
        assert_string_equal(block_value("version"), CALLROLE_VERSION);
        assert_string_equal(block_value("database"), d->db);
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        assert_string_equal(block_value("peer-uid"), uid);
        assert_string_equal(block_value("peer-user"), my_user_name());
        assert_string_equal(block_value("peer-admin"), "yes");
        (void) block_value("generation");
        (void) block_value("uptime");

        CTL("--json", "status");
        EXPECT_RC(0);
        o = parse_json_out();
        assert_true(json_object_is_type(o, json_type_array));
        assert_int_equal(json_object_array_length(o), 1);
        r = json_object_array_get_idx(o, 0);
        assert_string_equal(jstr(r, "version"), CALLROLE_VERSION);
        assert_string_equal(jstr(r, "peer-uid"), uid);
        assert_string_equal(jstr(r, "peer-admin"), "yes");
        json_object_put(o);
}

static void test_profile_list(void **state) {
        const char *line;
        char w[8][256];

        CTL("profile", "list");
        EXPECT_RC(0);
        line = out_line_starting("calltracks ");
        assert_non_null(line);
        assert_int_equal(split_words(line, w, 8), 3);
        assert_string_equal(w[1], "Calltracks");
        assert_string_equal(w[2], "11");
        line = out_line_starting("ctm ");
        assert_non_null(line);
        OUT_HAS("CallTrackingMetrics");

        CTL("--json", "profile", "list");
        EXPECT_RC(0);
        {
                json_object *o = parse_json_out(), *p;
                p = jfind(o, "name", "ctm");
                assert_non_null(p);
                assert_string_equal(jstr(p, "title"), "CallTrackingMetrics");
                assert_string_equal(jstr(p, "roles"), "8");
                assert_non_null(jfind(o, "name", "calltracks"));
                json_object_put(o);
        }
}

static void test_profile_load(void **state) {
        Fingerprint fp;
        const char *line;

        /* ctm into an account of its own (calltracks is in default already,
         * from the group setup; loading it elsewhere too would make its role
         * ids ambiguous for the other tests). */
        CTL("account", "add", "ctl-pl");
        EXPECT_RC(0);
        CTL("profile", "load", "ctm", "--account", "ctl-pl");
        EXPECT_RC(0);
        OUT_HAS("role.add role ctl-pl/call-agent");
        OUT_HAS("role.add role ctl-pl/agency-administrator");
        OUT_HAS("permission.add permission ctm.blocked_callers.edit");
        OUT_LACKS("dry run");
        CTL("role", "list", "--account", "ctl-pl");
        EXPECT_RC(0);
        OUT_HAS("marketing-manager");
        line = out_line_starting("ctl-pl ");
        assert_non_null(line);
        {
                char w[8][256];
                const char *cm = strstr(last.out, "ctl-pl   call-manager");
                if (!cm)
                        cm = strstr(last.out, "ctl-pl  call-manager");
                assert_non_null(cm);
                assert_true(split_words(cm, w, 8) >= 5);
                assert_string_equal(w[1], "call-manager");
                assert_string_equal(w[2], "Call");
                assert_string_equal(w[3], "Manager");
                assert_string_equal(w[4], "20");
        }
        /* The default account's roles are not in ctl-pl. */
        OUT_LACKS("receptionist");

        /* Loading it again there: refused whole, nothing changed. */
        fp = fingerprint();
        CTL("profile", "load", "ctm", "--account", "ctl-pl");
        EXPECT_RC(4);
        ERR_HAS("ctl-pl");
        assert_unchanged(&fp);

        /* A profile that does not exist. */
        CTL("profile", "load", "ctl-no-such-profile");
        EXPECT_RC(4);
        ERR_HAS("ctl-no-such-profile");
        assert_unchanged(&fp);
}

static void test_role_list_show(void **state) {
        char w[8][256];
        const char *line;

        CTL("role", "list");
        EXPECT_RC(0);
        line = out_line_starting("default  receptionist ");
        assert_non_null(line);
        assert_int_equal(split_words(line, w, 8), 5);
        assert_string_equal(w[2], "Receptionist");
        assert_string_equal(w[3], "10");
        assert_string_equal(w[4], "3");   /* grants */
        OUT_HAS("customer-super-admin");

        CTL("role", "show", "receptionist");
        EXPECT_RC(0);
        assert_string_equal(block_value("role"), "receptionist");
        assert_string_equal(block_value("title"), "Receptionist");
        assert_string_equal(block_value("rank"), "10");
        OUT_HAS("reports.view_tab");
        OUT_HAS("reports.missed_opportunities.view");
        OUT_HAS("login");

        CTL("--json", "role", "show", "view-inbound-calls-only");
        EXPECT_RC(0);
        {
                json_object *o = parse_json_out(), *r;
                assert_int_equal(json_object_array_length(o), 1);
                r = json_object_array_get_idx(o, 0);
                assert_string_equal(jstr(r, "rank"), "10");
                assert_non_null(strstr(jlist(r, "grants"), "calls.view@direction=inbound"));
                json_object_put(o);
        }

        CTL("role", "show", "ctl-no-such-role");
        EXPECT_RC(4);
        ERR_HAS("ctl-no-such-role");
}

static void test_user_lifecycle(void **state) {
        const char *line;
        char w[16][256];

        CTL("user", "add", "ctl-u1", "--role", "receptionist", "--display-name", "Ctl One", "--groups", "g1,g2");
        EXPECT_RC(0);
        OUT_HAS("user.add user ctl-u1");
        OUT_LACKS("dry run");

        CTL("user", "show", "ctl-u1");
        EXPECT_RC(0);
        OUT_HAS("ctl-u1 (Ctl One), enabled");
        line = out_line_starting("default ");
        assert_non_null(line);
        assert_true(split_words(line, w, 16) >= 5);
        assert_string_equal(w[1], "receptionist");
        assert_string_equal(w[2], "Receptionist");
        assert_string_equal(w[3], "10");
        assert_string_equal(w[4], "g1,g2");

        CTL("check", "ctl-u1", "reports.view_tab");
        EXPECT_RC(0);

        CTL("user", "set", "ctl-u1", "--role", "read-only");
        EXPECT_RC(0);
        OUT_HAS("user.set user ctl-u1");
        OUT_HAS("receptionist");   /* before */
        OUT_HAS("read-only");      /* after */
        CTL("user", "show", "ctl-u1");
        EXPECT_RC(0);
        OUT_HAS("read-only");
        OUT_LACKS("receptionist");
        CTL("check", "ctl-u1", "calls.view");
        EXPECT_RC(0);

        CTL("user", "add", "ctl-u2", "--role", "calls-only");
        EXPECT_RC(0);
        CTL("user", "list");
        EXPECT_RC(0);
        assert_non_null(out_line_starting("ctl-u1 "));
        assert_non_null(out_line_starting("ctl-u2 "));
        CTL("user", "list", "--role", "read-only");
        EXPECT_RC(0);
        assert_non_null(out_line_starting("ctl-u1 "));
        assert_null(out_line_starting("ctl-u2 "));
        CTL("--json", "user", "list", "--role", "calls-only");
        EXPECT_RC(0);
        {
                json_object *o = parse_json_out(), *u = jfind(o, "name", "ctl-u2");
                assert_non_null(u);
                assert_null(jfind(o, "name", "ctl-u1"));
                assert_string_equal(jstr(u, "role"), "calls-only");
                assert_string_equal(jstr(u, "enabled"), "yes");
                assert_string_equal(jlist(u, "groups"), "");
                json_object_put(o);
        }

        CTL("user", "set", "ctl-u1", "--disable");
        EXPECT_RC(0);
        CTL("check", "ctl-u1", "login");
        EXPECT_RC(1);
        OUT_HAS("deny: disabled");
        CTL("user", "show", "ctl-u1");
        EXPECT_RC(0);
        OUT_HAS("ctl-u1 (Ctl One), disabled");
        CTL("user", "set", "ctl-u1", "--enable");
        EXPECT_RC(0);
        CTL("check", "ctl-u1", "login");
        EXPECT_RC(0);

        CTL("user", "del", "ctl-u1");
        EXPECT_RC(0);
        OUT_HAS("user.delete user ctl-u1");
        assert_false(user_exists("ctl-u1"));
        CTL("check", "ctl-u1", "login");
        EXPECT_RC(1);
        OUT_HAS("deny: no-such-user");
        assert_true(user_exists("ctl-u2"));
        CTL("user", "delete", "ctl-u2");
        EXPECT_RC(0);
        assert_false(user_exists("ctl-u2"));

        /* Deleting again: an error naming the user. */
        CTL("user", "del", "ctl-u2");
        EXPECT_RC(4);
        ERR_HAS("ctl-u2");
}

static void test_check(void **state) {
        const char *nl;

        CTL("user", "add", "ctl-chk", "--role", "view-inbound-calls-only");
        EXPECT_RC(0);

        CTL("check", "ctl-chk", "calls.view");
        EXPECT_RC(0);
        assert_string_equal(last.out, "allow\n");

        /* deny: REASON (detail), one line. */
        CTL("check", "ctl-chk", "reports.view_tab");
        EXPECT_RC(1);
        assert_true(strncmp(last.out, "deny: not-granted (", 19) == 0);
        nl = strchr(last.out, '\n');
        assert_non_null(nl);
        assert_true(nl[1] == 0);
        assert_true(nl[-1] == ')');
        OUT_HAS("reports.view_tab");

        CTL("check", "ctl-chk", "calls.view", "--attr", "direction=outbound");
        EXPECT_RC(1);
        assert_true(strncmp(last.out, "deny: out-of-scope (", 20) == 0);
        OUT_HAS("inbound");
        CTL("check", "ctl-chk", "calls.view", "--attr", "direction=inbound");
        EXPECT_RC(0);
        assert_string_equal(last.out, "allow\n");
        CTL("check", "ctl-chk", "calls.listen", "--account", "default", "--attr", "direction=inbound", "--attr",
            "assignee=someone");
        EXPECT_RC(0);

        /* Unknown user: a denial, not an error. */
        CTL("check", "ctl-nobody-such", "login");
        EXPECT_RC(1);
        assert_true(strncmp(last.out, "deny: no-such-user", 18) == 0);

        /* An account the user is not in (not under default, where the
         * user's role is held). */
        CTL("account", "add", "ctl-chk-acct");
        EXPECT_RC(0);
        CTL("account", "add", "ctl-chk-sub", "--parent", "default");
        EXPECT_RC(0);
        CTL("check", "ctl-chk", "login", "--account", "ctl-chk-acct");
        EXPECT_RC(1);
        assert_true(strncmp(last.out, "deny: no-membership", 19) == 0);

        /* Unknown permission or account: an error (4) naming it. */
        CTL("check", "ctl-chk", "ctl.no-such-perm");
        EXPECT_RC(4);
        ERR_HAS("ctl.no-such-perm");
        assert_string_equal(last.out, "");
        CTL("check", "ctl-chk", "login", "--account", "ctl-no-acct");
        EXPECT_RC(4);
        ERR_HAS("ctl-no-acct");

        /* --json. */
        CTL("--json", "check", "ctl-chk", "reports.view_tab");
        EXPECT_RC(1);
        {
                json_object *o = parse_json_out(), *v = NULL;
                assert_true(json_object_is_type(o, json_type_object));
                assert_true(json_object_object_get_ex(o, "allowed", &v));
                assert_true(json_object_is_type(v, json_type_boolean));
                assert_false(json_object_get_boolean(v));
                assert_string_equal(jstr(o, "reason"), "not-granted");
                assert_string_equal(jstr(o, "role"), "view-inbound-calls-only");
                assert_string_equal(jstr(o, "account"), "default");
                assert_non_null(strstr(jstr(o, "detail"), "reports.view_tab"));
                json_object_put(o);
        }
        CTL("check", "--json", "ctl-chk", "calls.view");
        EXPECT_RC(0);
        {
                json_object *o = parse_json_out(), *v = NULL;
                assert_true(json_object_object_get_ex(o, "allowed", &v));
                assert_true(json_object_get_boolean(v));
                assert_string_equal(jstr(o, "reason"), "none");
                json_object_put(o);
        }
        /* A role held in default applies in its sub-account. */
        CTL("check", "ctl-chk", "calls.view", "--account", "ctl-chk-sub");
        EXPECT_RC(0);
        /* A user in two accounts must say which. */
        CTL("user", "add", "ctl-chk", "--role", "calls-only", "--account", "ctl-chk-sub");
        EXPECT_RC(0);
        CTL("check", "ctl-chk", "login");
        EXPECT_RC(4);
        ERR_HAS("--account");
        CTL("check", "ctl-chk", "calls.view", "--account", "ctl-chk-sub", "--attr", "direction=outbound");
        EXPECT_RC(0);
        CTL("check", "ctl-chk", "calls.view", "--account", "default", "--attr", "direction=outbound");
        EXPECT_RC(1);
}

static void test_usage_errors(void **state) {
        const char *const *const cases[] = {
                (const char *const[]) { NULL },
                (const char *const[]) { "frobnicate", NULL },
                (const char *const[]) { "user", "frobnicate", "x", NULL },
                (const char *const[]) { "check", NULL },
                (const char *const[]) { "check", "alice", NULL },
                (const char *const[]) { "check", "alice", "login", "extra", NULL },
                (const char *const[]) { "check", "alice", "login", "--attr", "direction", NULL },
                (const char *const[]) { "check", "alice", "login", "--attr", "=inbound", NULL },
                (const char *const[]) { "check", "alice", "login", "--no-such-option", NULL },
                (const char *const[]) { "role", "add", "r1", "--rank", "abc", NULL },
                (const char *const[]) { "role", "add", "r1", "--rank", "10x", NULL },
                (const char *const[]) { "role", "add", "r1", NULL },
                (const char *const[]) { "user", "add", "bob", NULL },
                (const char *const[]) { "user", "add", "bad name", "--role", "x", NULL },
                (const char *const[]) { "user", "set", "bob", NULL },
                (const char *const[]) { "user", "set", "bob", "--enable", "--disable", NULL },
                (const char *const[]) { "user", "show", NULL },
                (const char *const[]) { "audit", "--since", "yesterday-ish", NULL },
                (const char *const[]) { "import", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *const *a = cases[i];
                const char *args[8] = {};
                size_t n = 0;
                char what[256] = "callrolectl";
                size_t len = strlen(what);

                while (a[n] && n < 7) {
                        args[n] = a[n];
                        len += (size_t) snprintf(what + len, sizeof(what) - len, " %s", a[n]);
                        n++;
                }
                run_reset();
                last.rc = test_ctl(&nowhere, &last.out, &last.err, args[0], args[1], args[2], args[3], args[4],
                                   args[5], args[6], NULL);
                if (last.rc != 2) {
                        show_last(what);
                        fail_msg("'%s' should be a usage error (exit 2), got %d", what, last.rc);
                }
                if (strlen(last.err) == 0)
                        fail_msg("'%s': no message on stderr", what);
        }

        /* The same arguments, well formed, do try the daemon: exit 3 there,
         * which is what the usage errors above did not get. */
        CTL_AT(&nowhere, "check", "alice", "login", "--attr", "direction=inbound");
        EXPECT_RC(3);
        CTL_AT(&nowhere, "role", "add", "r1", "--rank", "10", "--grant", "login");
        EXPECT_RC(3);
}

static void test_unreachable(void **state) {
        TestDaemon stale = {};
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        CTL_AT(&nowhere, "status");
        EXPECT_RC(3);
        ERR_HAS(nowhere.socket);
        CTL_AT(&nowhere, "check", "someone", "login");
        EXPECT_RC(3);
        assert_string_equal(last.out, "");
        CTL_AT(&nowhere, "user", "add", "someone", "--role", "x");
        EXPECT_RC(3);

        /* A socket file nobody listens on. */
        assert_true((size_t) snprintf(stale.socket, sizeof(stale.socket), "%s/stale-socket", d->dir) <
                    sizeof(stale.socket));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        memcpy(sa.sun_path, stale.socket, strlen(stale.socket));
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
        CTL_AT(&stale, "check", "someone", "login");
        EXPECT_RC(3);
        unlink(stale.socket);
}

static void test_refused_change(void **state) {
        Fingerprint fp = fingerprint();

        CTL("user", "add", "ctl-ref", "--role", "ctl-no-such-role");
        EXPECT_RC(4);
        ERR_HAS("ctl-no-such-role");
        assert_string_equal(last.out, "");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-ref"));

        /* Each refusal below leaves everything as it was. */
        CTL("user", "add", "ctl-ref", "--role", "receptionist", "--account", "ctl-no-such-acct");
        EXPECT_RC(4);
        ERR_HAS("ctl-no-such-acct");
        assert_string_equal(last.out, "");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-ref"));
        CTL("role", "add", "ctl-ref-role", "--rank", "10", "--grant", "ctl.no-such-perm");
        EXPECT_RC(4);
        ERR_HAS("ctl.no-such-perm");
        assert_string_equal(last.out, "");
        assert_unchanged(&fp);
        CTL("user", "set", "ctl-no-such-user", "--role", "receptionist");
        EXPECT_RC(4);
        ERR_HAS("ctl-no-such-user");
        assert_string_equal(last.out, "");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-no-such-user"));
        /* A role that breaks the profile's rule names what is missing. */
        CTL("role", "add", "ctl-badrep", "--rank", "10", "--grant", "login", "--grant", "reports.view_tab");
        EXPECT_RC(4);
        ERR_HAS("reports.view_tab");
        ERR_HAS("reports.*.view");
        assert_string_equal(last.out, "");
        assert_unchanged(&fp);
        /* A role still held. */
        CTL("user", "add", "ctl-ref-holder", "--role", "calls-only");
        EXPECT_RC(0);
        fp = fingerprint();
        CTL("role", "delete", "calls-only");
        EXPECT_RC(4);
        ERR_HAS("calls-only");
        assert_unchanged(&fp);
        CTL("role", "show", "calls-only");
        EXPECT_RC(0);
        CTL("role", "show", "ctl-badrep");
        EXPECT_RC(4);
        CTL("role", "show", "ctl-ref-role");
        EXPECT_RC(4);
}

static void test_json_change(void **state) {
        json_object *o, *e;

        CTL("--json", "user", "add", "ctl-js", "--role", "receptionist", "--groups", "g1");
        EXPECT_RC(0);
        o = parse_json_out();
        assert_int_equal(json_object_array_length(o), 1);
        e = json_object_array_get_idx(o, 0);
        assert_string_equal(jstr(e, "action"), "user.add");
        assert_string_equal(jstr(e, "target"), "user ctl-js");
        assert_string_equal(jstr(e, "dry-run"), "no");
        assert_non_null(strstr(jany(e, "after"), "ctl-js"));
        json_object_put(o);

        CTL("--json", "user", "show", "ctl-js");
        EXPECT_RC(0);
        o = parse_json_out();
        assert_int_equal(json_object_array_length(o), 1);
        e = json_object_array_get_idx(o, 0);
        assert_string_equal(jstr(e, "name"), "ctl-js");
        assert_string_equal(jstr(e, "role"), "receptionist");
        assert_string_equal(jstr(e, "rank"), "10");
        assert_string_equal(jlist(e, "groups"), "g1");
        json_object_put(o);
}

static void test_dry_run(void **state) {
        Fingerprint fp = fingerprint();

        CTL("--dry-run", "user", "add", "ctl-dry", "--role", "receptionist");
        EXPECT_RC(0);
        OUT_HAS("user.add user ctl-dry");
        OUT_HAS("dry run: nothing was changed");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-dry"));

        /* Also after the command, and for a change to an existing user. */
        CTL("user", "add", "ctl-dry2", "--role", "receptionist");
        EXPECT_RC(0);
        fp = fingerprint();
        CTL("user", "set", "ctl-dry2", "--role", "read-only", "--dry-run");
        EXPECT_RC(0);
        OUT_HAS("dry run: nothing was changed");
        OUT_HAS("read-only");
        assert_unchanged(&fp);
        CTL("user", "show", "ctl-dry2");
        EXPECT_RC(0);
        OUT_HAS("receptionist");
        OUT_LACKS("read-only");

        /* A dry run is refused for what would be refused. */
        CTL("--dry-run", "user", "add", "ctl-dry3", "--role", "ctl-no-such-role");
        EXPECT_RC(4);
        ERR_HAS("ctl-no-such-role");
        assert_unchanged(&fp);

        /* --json: the effect says dry-run yes. */
        CTL("--json", "--dry-run", "user", "del", "ctl-dry2");
        EXPECT_RC(0);
        {
                json_object *o = parse_json_out(), *e;
                assert_int_equal(json_object_array_length(o), 1);
                e = json_object_array_get_idx(o, 0);
                assert_string_equal(jstr(e, "dry-run"), "yes");
                assert_string_equal(jstr(e, "action"), "user.delete");
                json_object_put(o);
        }
        assert_true(user_exists("ctl-dry2"));
        assert_unchanged(&fp);
}

static void test_as_user(void **state) {
        Fingerprint fp;
        json_object *o, *e;
        char uid[32];

        /* customer-local-admin: rank 50 with users.create; customer-super-admin
         * is 60. */
        CTL("user", "add", "ctl-mgr", "--role", "customer-local-admin");
        EXPECT_RC(0);

        fp = fingerprint();
        CTL("--as", "ctl-mgr", "user", "add", "ctl-as60", "--role", "customer-super-admin");
        EXPECT_RC(4);
        ERR_HAS("ctl-as60");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-as60"));
        /* Not even its own rank. */
        CTL("--as", "ctl-mgr", "user", "add", "ctl-as50", "--role", "customer-local-admin");
        EXPECT_RC(4);
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-as50"));
        /* --as drops administrator rights. */
        CTL("--as", "ctl-mgr", "role", "add", "ctl-as-role", "--rank", "1", "--grant", "login");
        EXPECT_RC(4);
        assert_unchanged(&fp);

        CTL("--as", "ctl-mgr", "user", "add", "ctl-as10", "--role", "receptionist");
        EXPECT_RC(0);
        assert_true(user_exists("ctl-as10"));

        /* The audit has both identities. */
        CTL("--json", "audit");
        EXPECT_RC(0);
        o = parse_json_out();
        e = jfind(o, "target", "user ctl-as10");
        assert_non_null(e);
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        assert_string_equal(jstr(e, "peer-uid"), uid);
        assert_string_equal(jany(e, "as-user"), "ctl-mgr");
        assert_string_equal(jstr(e, "peer-user"), my_user_name());
        json_object_put(o);
        CTL("audit");
        EXPECT_RC(0);
        {
                char by[300];
                const char *p = strstr(last.out, "user ctl-as10");
                const char *bol;
                assert_non_null(p);
                for (bol = p; bol > last.out && bol[-1] != '\n'; bol--)
                        ;
                snprintf(by, sizeof(by), "%s as ctl-mgr", my_user_name());
                if (!strstr(bol, by) || strstr(bol, by) > p)
                        fail_msg("the audit line of ctl-as10 does not show '%s':\n%.*s", by,
                                 (int) (strchr(p, '\n') ? strchr(p, '\n') - bol : (long) strlen(bol)), bol);
        }

        /* As a user below, the higher one is invisible. */
        CTL("--as", "ctl-as10", "user", "show", "ctl-mgr");
        EXPECT_RC(4);
}

/* Splits one CSV record (no line end inside) into fields, undoing RFC 4180
 * quotes.  Returns the number of fields. */
static size_t csv_split(const char *line, char fields[][256], size_t max) {
        size_t n = 0;

        for (;;) {
                size_t len = 0;
                assert_true(n < max);
                if (*line == '"') {
                        line++;
                        for (;;) {
                                assert_true(*line != 0);
                                if (line[0] == '"' && line[1] == '"') {
                                        fields[n][len++] = '"';
                                        line += 2;
                                } else if (line[0] == '"') {
                                        line++;
                                        break;
                                } else
                                        fields[n][len++] = *line++;
                                assert_true(len < 255);
                        }
                } else
                        while (*line && *line != ',') {
                                fields[n][len++] = *line++;
                                assert_true(len < 255);
                        }
                fields[n++][len] = 0;
                if (*line != ',')
                        break;
                line++;
        }
        return n;
}

/* The lines of the last stdout that start with prefix, in order, joined
 * with '\n'.  malloc'ed. */
static char *out_lines_starting(const char *prefix) {
        char *res = calloc(1, strlen(last.out) + 1);
        const char *p = last.out;
        size_t len = 0;

        assert_non_null(res);
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen(p);
                if (strncmp(p, prefix, strlen(prefix)) == 0) {
                        memcpy(res + len, p, n);
                        len += n;
                        res[len++] = '\n';
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        res[len] = 0;
        return res;
}

typedef struct ImpUser {
        const char *name, *role, *display, *groups, *enabled, *ivrs, *acg, *notify, *only;
} ImpUser;

/* Every user of want appears in the last export with these values, under
 * the columns its header names. */
static void expect_exported(const ImpUser *want, size_t n) {
        char header[16][256], fields[16][256];
        size_t nh;
        const char *nl = strchr(last.out, '\n');
        char *hline;

        assert_non_null(nl);
        hline = strndup(last.out, (size_t) (nl - last.out));
        assert_non_null(hline);
        nh = csv_split(hline, header, 16);
        free(hline);
        /* Every column import reads is there: the round trip carries every
         * per-membership setting. */
        for (const char *const *k = (const char *const[]) { "name", "role", "account", "display-name", "groups",
                                                            "enabled", "ivrs", "acg", "notify", "only", NULL };
             *k; k++) {
                bool found = false;
                for (size_t i = 0; i < nh; i++)
                        found = found || strcmp(header[i], *k) == 0;
                if (!found)
                        fail_msg("the export has no column '%s'", *k);
        }
        for (size_t u = 0; u < n; u++) {
                char prefix[64], *line;
                size_t nf;
                snprintf(prefix, sizeof(prefix), "%s,", want[u].name);
                line = out_lines_starting(prefix);
                if (strchr(line, '\n') != line + strlen(line) - 1) {
                        show_last("export");
                        fail_msg("user %s is not exactly once in the export", want[u].name);
                }
                line[strlen(line) - 1] = 0;
                nf = csv_split(line, fields, 16);
                assert_int_equal(nf, nh);
                for (size_t i = 0; i < nh; i++) {
                        const char *expect = strcmp(header[i], "name") == 0           ? want[u].name
                                             : strcmp(header[i], "role") == 0         ? want[u].role
                                             : strcmp(header[i], "account") == 0      ? "default"
                                             : strcmp(header[i], "display-name") == 0 ? want[u].display
                                             : strcmp(header[i], "groups") == 0       ? want[u].groups
                                             : strcmp(header[i], "enabled") == 0      ? want[u].enabled
                                             : strcmp(header[i], "ivrs") == 0         ? want[u].ivrs
                                             : strcmp(header[i], "acg") == 0          ? want[u].acg
                                             : strcmp(header[i], "notify") == 0       ? want[u].notify
                                             : strcmp(header[i], "only") == 0         ? want[u].only
                                                                                      : NULL;
                        if (expect && strcmp(fields[i], expect) != 0)
                                fail_msg("export of %s: column %s is '%s', expected '%s'", want[u].name, header[i],
                                         fields[i], expect);
                }
                free(line);
        }
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* The first membership record of the user, from user show --json; the
 * caller json_object_put()s *ret_all. */
static json_object *shown_membership(const char *user, json_object **ret_all) {
        json_object *o;

        CTL("--json", "user", "show", user);
        EXPECT_RC(0);
        o = parse_json_out();
        assert_true(json_object_is_type(o, json_type_array));
        assert_int_equal(json_object_array_length(o), 1);
        *ret_all = o;
        return json_object_array_get_idx(o, 0);
}

static void test_import_export(void **state) {
        /* Every per-membership setting, in the order the export writes
         * lists (sorted): notifications switched on and only patterns
         * included, and a disabled user with IVRs and ACGs. */
        static const ImpUser users[4] = {
                { "ctl-imp1", "receptionist", "Imp One", "g1,g2", "yes", "", "", "missed-opportunities", "" },
                { "ctl-imp2", "calls-only", "Imp Two", "", "yes", "", "", "call-alerts", "calls.*,login" },
                { "ctl-imp3", "read-only", "Imp, \"Three\"", "g3", "yes", "", "",
                  "call-alerts,missed-opportunities", "calls.view,login,reports.*" },
                { "ctl-impd", "read-write", "", "", "no", "ivr-1,ivr-2", "west", "", "" },
        };
        char path[400], path2[400], *expected_export = NULL;
        char *rows1, *header1;
        json_object *all, *m;
        Fingerprint fp;

        assert_true((size_t) snprintf(path, sizeof(path), "%s/users.csv", d->dir) < sizeof(path));
        /* Lists in any order and with blanks: the export writes them
         * normalised and sorted. */
        write_file(path, "name,role,account,display-name,groups,enabled,ivrs,acg,notify,only\n"
                         "ctl-imp1,receptionist,default,Imp One,\"g1,g2\",,,,missed-opportunities,\n"
                         "ctl-imp2,calls-only,default,Imp Two,,,,,call-alerts,\"login,calls.*\"\n"
                         "ctl-imp3,read-only,default,\"Imp, \"\"Three\"\"\",g3,,,,\" missed-opportunities , "
                         "call-alerts \",\"reports.*, login, calls.view\"\n"
                         "ctl-impd,read-write,default,,,no,\"ivr-2,ivr-1\",west,,\n");

        CTL("import", path);
        EXPECT_RC(0);
        ERR_HAS("4/4");
        CTL("user", "show", "ctl-imp1");
        EXPECT_RC(0);
        OUT_HAS("ctl-imp1 (Imp One), enabled");
        OUT_HAS("g1,g2");
        CTL("user", "show", "ctl-imp3");
        EXPECT_RC(0);
        OUT_HAS("(Imp, \"Three\")");
        CTL("check", "ctl-imp2", "calls.view");
        EXPECT_RC(0);
        /* The notifications and only patterns reached the daemon, and only
         * narrows: read-only grants calls.listen, ctl-imp3's only does not
         * list it. */
        m = shown_membership("ctl-imp3", &all);
        assert_string_equal(jany(m, "notify"), "call-alerts,missed-opportunities");
        assert_string_equal(jany(m, "only"), "calls.view,login,reports.*");
        json_object_put(all);
        m = shown_membership("ctl-imp1", &all);
        assert_string_equal(jany(m, "notify"), "missed-opportunities");
        assert_string_equal(jany(m, "only"), "");
        json_object_put(all);
        CTL("check", "ctl-imp3", "calls.listen");
        EXPECT_RC(1);
        CTL("check", "ctl-imp3", "reports.summary.view");
        EXPECT_RC(0);
        CTL("user", "show", "ctl-impd");
        EXPECT_RC(0);
        OUT_HAS("ctl-impd, disabled");

        /* The export has what was imported. */
        CTL("export");
        EXPECT_RC(0);
        expect_exported(users, 4);
        rows1 = out_lines_starting("ctl-imp");
        header1 = strndup(last.out, (size_t) (strchr(last.out, '\n') - last.out));
        assert_non_null(header1);
        assert_string_equal(header1, "name,role,account,display-name,groups,enabled,ivrs,acg,notify,only");

        /* Round trip: delete them, import the export's own rows, and the
         * export is the same again. */
        assert_true((size_t) snprintf(path2, sizeof(path2), "%s/exported.csv", d->dir) < sizeof(path2));
        assert_true(asprintf(&expected_export, "%s\n%s", header1, rows1) > 0);
        write_file(path2, expected_export);
        for (int i = 0; i < 4; i++) {
                CTL("user", "del", users[i].name);
                EXPECT_RC(0);
        }
        assert_false(user_exists("ctl-imp1"));
        CTL("import", path2);
        EXPECT_RC(0);
        ERR_HAS("4/4");
        CTL("export");
        EXPECT_RC(0);
        expect_exported(users, 4);
        {
                char *rows2 = out_lines_starting("ctl-imp");
                assert_string_equal(rows2, rows1);
                free(rows2);
        }

        /* The same file into a fresh daemon with the same profile: its
         * whole export is, byte for byte, the file it was given. */
        assert_int_equal(test_daemon_start(&fresh_daemon, NULL), 0);
        CTL_AT(&fresh_daemon, "profile", "load", "calltracks");
        EXPECT_RC(0);
        CTL_AT(&fresh_daemon, "import", path2);
        EXPECT_RC(0);
        ERR_HAS("4/4");
        CTL_AT(&fresh_daemon, "export");
        EXPECT_RC(0);
        assert_string_equal(last.out, expected_export);
        CTL_AT(&fresh_daemon, "check", "ctl-imp3", "calls.listen");
        EXPECT_RC(1);
        fresh_daemon_cleanup();
        free(expected_export);
        free(rows1);
        free(header1);

        /* A file with an unknown role on its second row: nothing of it is
         * imported, and the message names the row. */
        write_file(path, "name,role\nctl-imp4,receptionist\nctl-imp5,ctl-no-such-role\nctl-imp6,receptionist\n");
        fp = fingerprint();
        CTL("import", path);
        EXPECT_RC(4);
        ERR_HAS("ctl-imp5");
        ERR_HAS("ctl-no-such-role");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-imp4"));
        assert_false(user_exists("ctl-imp6"));

        /* Notifications the membership may not have: the daemon refuses
         * the batch, naming the row and the permission, and nothing of it
         * is imported.  Calls Only cannot see the missed-opportunities
         * report; Read Only can, but not once only leaves it out. */
        {
                static const char *const files[] = {
                        "name,role,notify\nctl-imp4,read-only,missed-opportunities\n"
                        "ctl-imp5,calls-only,\"call-alerts,missed-opportunities\"\n",
                        "name,role,notify,only\nctl-imp4,read-only,call-alerts,\n"
                        "ctl-imp5,read-only,missed-opportunities,\"login,calls.*\"\n",
                };
                for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                        write_file(path, files[i]);
                        CTL("import", path);
                        EXPECT_RC(4);
                        ERR_HAS("line 3 (user 'ctl-imp5') was refused");
                        ERR_HAS("reports.missed_opportunities.view");
                        ERR_HAS("nothing was imported");
                        assert_unchanged(&fp);
                        assert_false(user_exists("ctl-imp4"));
                        assert_false(user_exists("ctl-imp5"));
                }
        }
        /* A notification nobody defined. */
        write_file(path, "name,role,notify\nctl-imp4,read-only,ctl-no-such-notification\n");
        CTL("import", path);
        EXPECT_RC(4);
        ERR_HAS("ctl-no-such-notification");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-imp4"));

        /* A malformed file: refused before the daemon is asked (2 or 4, not
         * 3, even with no daemon). */
        write_file(path, "name,role,colour\nctl-imp7,receptionist,blue\n");
        CTL_AT(&nowhere, "import", path);
        assert_true(last.rc == 2 || last.rc == 4);
        ERR_HAS("colour");
        /* So are a switch in the notify column and a bad only pattern,
         * each named with its line. */
        write_file(path, "name,role,notify\nctl-imp7,read-only,\nctl-imp8,read-only,call-alerts=on\n");
        CTL_AT(&nowhere, "import", path);
        assert_true(last.rc == 2 || last.rc == 4);
        ERR_HAS("line 3");
        ERR_HAS("'call-alerts=on' in the notify list");
        write_file(path, "name,role,only\nctl-imp7,read-only,\"login,calls/view\"\n");
        CTL_AT(&nowhere, "import", path);
        assert_true(last.rc == 2 || last.rc == 4);
        ERR_HAS("line 2");
        ERR_HAS("'calls/view' is not a valid permission pattern");
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-imp7"));
}

/* Rows with long fields: 100 display names of 4000 bytes are more than one
 * request may carry, so callrolectl sends them in smaller batches and all
 * of them arrive (a batch of 100 would be refused for its size after the
 * file was accepted). */
static void test_import_long_rows(void **state) {
        char path[400], *buf = NULL, long_name[4001];
        size_t size = 0;
        FILE *f;

        memset(long_name, 'x', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        assert_true((size_t) snprintf(path, sizeof(path), "%s/long.csv", d->dir) < sizeof(path));
        f = open_memstream(&buf, &size);
        assert_non_null(f);
        fputs("name,role,display-name,notify\n", f);
        for (int i = 0; i < 100; i++)
                fprintf(f, "ctl-long%03d,read-only,%s,missed-opportunities\n", i, long_name);
        assert_int_equal(fclose(f), 0);
        write_file(path, buf);
        free(buf);

        CTL("import", path);
        EXPECT_RC(0);
        ERR_HAS("imported 100/100 users");
        assert_true(user_exists("ctl-long000"));
        assert_true(user_exists("ctl-long099"));
        CTL("export");
        EXPECT_RC(0);
        {
                char *rows = out_lines_starting("ctl-long");
                size_t n = 0;
                for (const char *c = rows; (c = strchr(c, '\n')); c++)
                        n++;
                assert_int_equal(n, 100);
                free(rows);
        }
}

/* The import method itself, as a client other than callrolectl may send
 * it: notify and only are parallel lists like groups (one value per user,
 * comma-separated inside), lists of another length and unknown fields are
 * refused whole. */
static callrole_record *import_params(const char *const *kv) {
        callrole_record *p = NULL;

        assert_int_equal(callrole_record_new(&p), 0);
        for (; kv[0]; kv += 2)
                assert_int_equal(callrole_record_add(p, kv[0], kv[1]), 0);
        return p;
}

static void test_import_method(void **state) {
        static const struct {
                const char *const kv[16];
                const char *words[2];
        } refused[] = {
                { { "name", "ctl-im1", "name", "ctl-im2", "role", "read-only", "role", "read-only", "notify",
                    "call-alerts", NULL },
                  { "field 'notify' has 1 values but 'name' has 2", "one per user" } },
                { { "name", "ctl-im1", "name", "ctl-im2", "role", "read-only", "role", "read-only", "only", "login",
                    "only", "login", "only", "calls.*", NULL },
                  { "field 'only' has 3 values but 'name' has 2", "one per user" } },
                { { "name", "ctl-im1", "role", "read-only", "notifications", "call-alerts", NULL },
                  { "unknown field 'notifications'", "acg, notify and only" } },
                /* What the store refuses of a notify value still comes
                 * through, with the entry named. */
                { { "name", "ctl-im1", "role", "read-only", "notify", "call-alerts=maybe", NULL },
                  { "import entry 1 (user 'ctl-im1')", "maybe" } },
                { { "name", "ctl-im1", "role", "read-only", "only", "login,calls/view", NULL },
                  { "import entry 1 (user 'ctl-im1')", "calls/view" } },
        };
        static const char *const good[] = {
                "name", "ctl-im1", "name", "ctl-im2", "role", "read-only", "role", "calls-only",
                "notify", "missed-opportunities,call-alerts", "notify", "",
                "only", "", "only", "login,calls.view",
                NULL,
        };
        callrole *c = NULL;
        callrole_record *p;
        callrole_reply *rep = NULL;
        Fingerprint fp = fingerprint();
        json_object *all, *m;

        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, d->socket), 0);
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                const char *msg;
                int r;

                p = import_params(refused[i].kv);
                r = callrole_call(c, "import", p, &rep);
                callrole_record_free(p);
                if (r != -EINVAL)
                        fail_msg("case %zu: import gave %d, expected -EINVAL", i, r);
                assert_null(rep);
                msg = callrole_last_error(c);
                assert_non_null(msg);
                for (size_t k = 0; k < 2; k++)
                        if (!strstr(msg, refused[i].words[k]))
                                fail_msg("case %zu: message '%s' lacks '%s'", i, msg, refused[i].words[k]);
        }
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-im1"));

        /* Split per user; an empty value leaves the field out. */
        p = import_params(good);
        assert_int_equal(callrole_call(c, "import", p, &rep), 0);
        callrole_record_free(p);
        assert_int_equal(callrole_reply_n_records(rep), 2);
        rep = callrole_reply_free(rep);
        callrole_free(c);
        m = shown_membership("ctl-im1", &all);
        assert_string_equal(jany(m, "notify"), "call-alerts,missed-opportunities");
        assert_string_equal(jany(m, "only"), "");
        json_object_put(all);
        m = shown_membership("ctl-im2", &all);
        assert_string_equal(jany(m, "notify"), "");
        assert_string_equal(jany(m, "only"), "calls.view,login");
        json_object_put(all);
        CTL("user", "del", "ctl-im1");
        EXPECT_RC(0);
        CTL("user", "del", "ctl-im2");
        EXPECT_RC(0);
}

static void test_audit(void **state) {
        json_object *o, *e;
        char uid[32];

        CTL("user", "add", "ctl-aud1", "--role", "receptionist");
        EXPECT_RC(0);
        CTL("user", "set", "ctl-aud1", "--role", "calls-only");
        EXPECT_RC(0);
        CTL("user", "del", "ctl-aud1");
        EXPECT_RC(0);

        CTL("audit");
        EXPECT_RC(0);
        assert_non_null(out_line_starting("ID "));
        OUT_HAS("user ctl-aud1");
        OUT_HAS("user.delete");

        CTL("--json", "audit");
        EXPECT_RC(0);
        o = parse_json_out();
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        {
                const char *actions[3] = { "user.add", "user.set", "user.delete" };
                size_t k = 0;
                for (size_t i = 0; i < json_object_array_length(o) && k < 3; i++) {
                        e = json_object_array_get_idx(o, i);
                        if (strcmp(jstr(e, "target"), "user ctl-aud1") != 0)
                                continue;
                        assert_string_equal(jstr(e, "action"), actions[k]);
                        assert_string_equal(jstr(e, "peer-uid"), uid);
                        assert_string_equal(jstr(e, "peer-user"), my_user_name());
                        (void) jstr(e, "id");
                        (void) jstr(e, "time");
                        if (k == 1) {
                                assert_non_null(strstr(jany(e, "before"), "receptionist"));
                                assert_non_null(strstr(jany(e, "after"), "calls-only"));
                        }
                        k++;
                }
                assert_int_equal(k, 3);
        }
        json_object_put(o);

        /* --since in the future: nothing. */
        CTL("audit", "--since", "4000000000");
        EXPECT_RC(0);
        OUT_LACKS("ctl-aud1");
}

/* callrolectl run by another uid: what nobody may and may not do. */
static void test_other_uid(void **state) {
        Fingerprint fp;

        if (geteuid() != 0) {
                print_message("skipped: running callrolectl as another uid needs root\n");
                skip();
        }
        CTL("user", "add", "ctl-ou-target", "--role", "receptionist");
        EXPECT_RC(0);
        fp = fingerprint();

        CTL_AS_UID(NOBODY_UID, "status");
        EXPECT_RC(0);
        assert_string_equal(block_value("peer-uid"), "65534");
        assert_string_equal(block_value("peer-admin"), "no");

        CTL_AS_UID(NOBODY_UID, "user", "add", "ctl-ou-new", "--role", "receptionist");
        EXPECT_RC(4);
        CTL_AS_UID(NOBODY_UID, "check", "ctl-ou-target", "login");
        EXPECT_RC(4);
        ERR_HAS("ctl-ou-target");
        CTL_AS_UID(NOBODY_UID, "--as", "ctl-ou-target", "status");
        EXPECT_RC(4);
        CTL_AS_UID(NOBODY_UID, "audit");
        EXPECT_RC(4);
        CTL_AS_UID(NOBODY_UID, "profile", "load", "ctm");
        EXPECT_RC(4);
        assert_unchanged(&fp);
        assert_false(user_exists("ctl-ou-new"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_profile_list),
                cmocka_unit_test(test_profile_load),
                cmocka_unit_test(test_role_list_show),
                cmocka_unit_test(test_user_lifecycle),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_usage_errors),
                cmocka_unit_test(test_unreachable),
                cmocka_unit_test(test_refused_change),
                cmocka_unit_test(test_json_change),
                cmocka_unit_test(test_dry_run),
                cmocka_unit_test(test_as_user),
                cmocka_unit_test(test_import_export),
                cmocka_unit_test(test_import_method),
                cmocka_unit_test(test_import_long_rows),
                cmocka_unit_test(test_audit),
                cmocka_unit_test(test_other_uid),
        };

        (void) signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests_name("callrolectl", tests, group_setup, group_teardown);
}
