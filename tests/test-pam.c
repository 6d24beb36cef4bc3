/*
 * test-pam.c: pam_callrole.so driven through the real libpam against a real
 * callroled.
 *
 * The "pam-daemon" group starts $CALLROLE_BUILD/callroled (default build/)
 * with tests/helper-daemon.c, on a socket and database in a fresh temporary
 * folder, with this process's uid as an administrator, and loads a small
 * role model through libcallrole: Call Agent (login, softphone.use), Billing
 * Manager (login, billing), No Access (nothing), a disabled agent and a user
 * with two accounts.  Each test writes PAM service files into a folder of
 * its own and runs whole transactions with pam_start_confdir(), so libpam
 * parses the service file, loads the module by absolute path, applies the
 * control values and runs the conversation exactly as login or sshd would.
 *
 * PAM_IGNORE cannot be seen from outside a stack: libpam turns a stack in
 * which every module ignored into PAM_PERM_DENIED.  So the tests that want
 * the module's own code use
 *     account [success=done ignore=ignore default=die] MODULE ARGS
 *     account [default=die] pam_debug.so acct=try_again
 * where every code of the module comes back unchanged, except PAM_IGNORE,
 * which lets the pam_debug sentinel answer PAM_TRY_AGAIN (with a
 * conversation message "acct=try_again"); run() turns exactly that back
 * into PAM_IGNORE.  Other tests use the stacks of pam_callrole(8) as they
 * are written there.
 *
 * The "pam-offline" group needs no daemon: a socket path with nothing
 * behind it, a stale socket file (connect is refused), and a "silent
 * daemon": a listening socket on which the kernel completes connections
 * and that nobody ever reads, for the timeout tests.
 *
 * The "pam-args" group tests the argument parser (pam_module/args.c,
 * compiled into this file, as the module itself has it) and the module's
 * exported symbols.
 */
#include <dirent.h>
#include <grp.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "callrole.h"
#include "callrole-wire.h"
#include "helper-daemon.h"
#include "macro.h"

/* The parser under test, compiled in: the module links the same file. */
#include "../pam_module/args.c"

DEFINE_TRIVIAL_CLEANUP_FUNC(callrole *, callrole_free);

#define MSG_MAX 8
#define TEXT 512

/* What the conversation function saw. */
typedef struct transcript {
        int n;
        int style[MSG_MAX];
        char text[MSG_MAX][TEXT];
} transcript;

static struct {
        char module[PATH_MAX];      /* absolute path of pam_callrole.so */
        char dir[PATH_MAX];         /* temporary folder, removed at the end */
        char confdir[PATH_MAX];     /* PAM service files */
        char socket[PATH_MAX];      /* the real callroled's */
        char missing[PATH_MAX];     /* no file at all */
        char stale[PATH_MAX];       /* socket file, nobody listening */
        char silent[PATH_MAX];      /* listening, never read */
        int silent_fd;
        TestDaemon daemon;          /* tests/helper-daemon.h */
        unsigned counter;           /* service file names */
} T = { .silent_fd = -1 };

/* DIR/NAME into buf; -1 if it does not fit (a cut path would name
 * something else). */
static int path_join(char *buf, size_t size, const char *dir, const char *name) {
        int n = snprintf(buf, size, "%s/%s", dir, name);

        return n < 0 || (size_t) n >= size ? -1 : 0;
}

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int conversation(int n, const struct pam_message **msg, struct pam_response **resp, void *userdata) {
        transcript *t = userdata;
        struct pam_response *r;

        r = calloc((size_t) n, sizeof(*r));
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                if (t && t->n < MSG_MAX) {
                        t->style[t->n] = msg[i]->msg_style;
                        snprintf(t->text[t->n], TEXT, "%s", msg[i]->msg ? msg[i]->msg : "");
                        t->n++;
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

/* Write service file NAME in the confdir. */
_printf_(2, 3) static void write_service(const char *name, const char *format, ...) {
        char path[PATH_MAX];
        va_list ap;
        FILE *f;

        assert_int_equal(path_join(path, sizeof path, T.confdir, name), 0);
        f = fopen(path, "we");
        assert_non_null(f);
        va_start(ap, format);
        vfprintf(f, format, ap);
        va_end(ap);
        assert_int_equal(fclose(f), 0);
}

enum op { OP_ACCOUNT, OP_SESSION, OP_AUTH, OP_SETCRED, OP_CHAUTHTOK };

typedef struct result {
        int code;
        double seconds;             /* the PAM call alone */
        transcript t;
        char role[TEXT], account[TEXT];  /* CALLROLE_* after a session, or "" */
        int env_role_set, env_account_set;
} result;

/* Run one PAM function of SERVICE for USER, in a transaction of its own. */
static void run_service(const char *service, const char *user, enum op op, int flags, result *ret) {
        pam_handle_t *h = NULL;
        struct pam_conv conv = { conversation, &ret->t };
        const char *v;
        double t0;
        int r;

        memset(ret, 0, sizeof *ret);
        r = pam_start_confdir(service, user, &conv, T.confdir, &h);
        assert_int_equal(r, PAM_SUCCESS);

        t0 = now_sec();
        switch (op) {
        case OP_ACCOUNT:
                r = pam_acct_mgmt(h, flags);
                break;
        case OP_SESSION:
                r = pam_open_session(h, flags);
                break;
        case OP_AUTH:
                r = pam_authenticate(h, flags);
                break;
        case OP_SETCRED:
                r = pam_setcred(h, flags | PAM_ESTABLISH_CRED);
                break;
        case OP_CHAUTHTOK:
                r = pam_chauthtok(h, flags);
                break;
        }
        ret->seconds = now_sec() - t0;
        ret->code = r;

        v = pam_getenv(h, "CALLROLE_ROLE");
        if (v) {
                ret->env_role_set = 1;
                snprintf(ret->role, sizeof ret->role, "%s", v);
        }
        v = pam_getenv(h, "CALLROLE_ACCOUNT");
        if (v) {
                ret->env_account_set = 1;
                snprintf(ret->account, sizeof ret->account, "%s", v);
        }
        if (op == OP_SESSION && r == PAM_SUCCESS)
                assert_int_equal(pam_close_session(h, 0), PAM_SUCCESS);
        pam_end(h, r);
}

static const char *type_of(enum op op) {
        switch (op) {
        case OP_ACCOUNT:
                return "account";
        case OP_SESSION:
                return "session";
        case OP_AUTH:
        case OP_SETCRED:
                return "auth";
        case OP_CHAUTHTOK:
        default:
                return "password";
        }
}

static const char *sentinel_of(enum op op) {
        switch (op) {
        case OP_ACCOUNT:
                return "acct=try_again";
        case OP_SESSION:
                return "open_session=try_again";
        case OP_AUTH:
                return "auth=try_again";
        case OP_SETCRED:
                return "cred=try_again";
        case OP_CHAUTHTOK:
        default:
                return "prechauthtok=try_again chauthtok=try_again";
        }
}

/* A service whose result is the module's own code for OP (see the top
 * comment), with ARGS; its name goes to service. */
static void write_probe(char *service, size_t size, enum op op, const char *args) {
        snprintf(service, size, "t%u", ++T.counter);
        write_service(service,
                      "%1$s [success=done ignore=ignore default=die] %2$s %3$s\n"
                      "%1$s [default=die] pam_debug.so %4$s\n",
                      type_of(op), T.module, args, sentinel_of(op));
}

/* Undo the sentinel's translation of PAM_IGNORE. */
static void untranslate(result *ret) {
        if (ret->code == PAM_TRY_AGAIN) {
                /* Only the sentinel says this, and only after the module ignored. */
                assert_true(ret->t.n >= 1);
                assert_non_null(strstr(ret->t.text[ret->t.n - 1], "try_again"));
                ret->t.n--;
                ret->code = PAM_IGNORE;
        }
}

/* The module's own return code for OP with ARGS. */
_printf_(5, 6) static void run(enum op op, const char *user, int flags, result *ret, const char *format, ...) {
        char args[1024], service[64];
        va_list ap;

        va_start(ap, format);
        vsnprintf(args, sizeof args, format, ap);
        va_end(ap);

        write_probe(service, sizeof service, op, args);
        run_service(service, user, op, flags, ret);
        untranslate(ret);
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        assert_non_null(d);
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;   /* the directory's own descriptor */
}

/* ---- the daemon ---------------------------------------------------------- */

static void print_daemon_log(void) {
        char line[1024];
        FILE *f = fopen(T.daemon.log, "re");

        if (!f)
                return;
        fprintf(stderr, "---- callroled log ----\n");
        while (fgets(line, sizeof line, f))
                fputs(line, stderr);
        fclose(f);
}

static int start_daemon(void) {
        int r;

        r = test_daemon_start(&T.daemon, NULL);
        if (r < 0) {
                fprintf(stderr, "test-pam: cannot start %s/callroled: %s (build it first)\n", test_build_dir(),
                        strerror(-r));
                print_daemon_log();
                return -1;
        }
        snprintf(T.socket, sizeof T.socket, "%s", T.daemon.socket);
        return 0;
}

/* The role model of the tests; see the top comment. */
static int populate(void) {
        _cleanup_(callrole_freep) callrole *c = NULL;
        int r;

        if (callrole_new(&c) < 0 || callrole_set_socket(c, T.socket) < 0)
                return -1;

        r = test_daemon_call(c, "account.add", "name", "default", NULL);
        if (r < 0 && r != -EEXIST)
                return -1;
        if (test_daemon_call(c, "account.add", "name", "acme", NULL) < 0)
                return -1;

        if (test_daemon_call(c, "role.add", "role", "agent", "rank", "10", "title", "Call Agent", "grants", "login",
                             "grants", "softphone.use", NULL) < 0 ||
            test_daemon_call(c, "role.add", "role", "billing-manager", "rank", "30", "title", "Billing Manager",
                             "grants", "login", "grants", "billing.invoices.view", NULL) < 0 ||
            test_daemon_call(c, "role.add", "role", "no-access", "rank", "0", "title", "No Access", "grants", NULL,
                             NULL) < 0 ||
            test_daemon_call(c, "role.add", "role", "agent", "rank", "10", "title", "Call Agent", "account", "acme",
                             "grants", "login", "grants", "softphone.use", NULL) < 0)
                return -1;

        if (test_daemon_call(c, "user.add", "name", "alice", "role", "agent", "display-name", "Alice", NULL) < 0 ||
            test_daemon_call(c, "user.add", "name", "bob", "role", "billing-manager", NULL) < 0 ||
            test_daemon_call(c, "user.add", "name", "nora", "role", "no-access", NULL) < 0 ||
            test_daemon_call(c, "user.add", "name", "dave", "role", "agent", "enabled", "no", NULL) < 0 ||
            test_daemon_call(c, "user.add", "name", "erin", "role", "agent", "account", "default", NULL) < 0 ||
            test_daemon_call(c, "user.add", "name", "erin", "role", "agent", "account", "acme", NULL) < 0)
                return -1;
        return 0;
}

static int make_socket(const char *path, bool keep_listening) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
                close(fd);
                return -1;
        }
        if (!keep_listening) {
                /* The file stays; connect() on it is refused. */
                close(fd);
                return 0;
        }
        return fd;
}

static int find_module(void) {
        char path[PATH_MAX];

        if (path_join(path, sizeof path, test_build_dir(), "pam_callrole.so") < 0 || !realpath(path, T.module)) {
                fprintf(stderr, "test-pam: %s: %m (build it first)\n", path);
                return -1;
        }
        return 0;
}

/* The folder, the service "other" and the sockets without a daemon. */
static int offline_setup(void **state) {
        snprintf(T.dir, sizeof T.dir, "/tmp/test-pam-XXXXXX");
        if (find_module() < 0 || !mkdtemp(T.dir))
                return -1;
        if (path_join(T.confdir, sizeof T.confdir, T.dir, "pam.d") < 0 ||
            path_join(T.missing, sizeof T.missing, T.dir, "missing") < 0 ||
            path_join(T.stale, sizeof T.stale, T.dir, "stale") < 0 ||
            path_join(T.silent, sizeof T.silent, T.dir, "silent") < 0)
                return -1;
        if (mkdir(T.confdir, 0700) < 0)
                return -1;

        /* Whatever is not written here is refused, never the host's own
         * configuration. */
        write_service("other", "auth required pam_deny.so\naccount required pam_deny.so\n"
                               "password required pam_deny.so\nsession required pam_deny.so\n");

        if (make_socket(T.stale, false) < 0)
                return -1;
        T.silent_fd = make_socket(T.silent, true);
        if (T.silent_fd < 0)
                return -1;
        return 0;
}

static int daemon_setup(void **state) {
        if (offline_setup(state) < 0 || start_daemon() < 0)
                return -1;
        if (populate() < 0) {
                print_daemon_log();
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        if (T.daemon.pid > 0 || T.daemon.dir[0])
                test_daemon_cleanup(&T.daemon);
        memset(&T.daemon, 0, sizeof T.daemon);
        T.socket[0] = '\0';
        if (T.silent_fd >= 0)
                close(T.silent_fd);
        T.silent_fd = -1;
        test_rm_rf(T.dir);
        return 0;
}

/* ---- account ------------------------------------------------------------- */

static void test_allow(void **state) {
        result res;

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_int_equal(res.t.n, 0);

        /* Explicit permission=login and account= are the same question. */
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s permission=login account=default debug", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_int_equal(res.t.n, 0);
}

static void test_no_access_denied(void **state) {
        result res;

        run(OP_ACCOUNT, "nora", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 1);
        assert_int_equal(res.t.style[0], PAM_ERROR_MSG);
        assert_string_equal(res.t.text[0], "callrole: role 'No Access' does not allow login");
}

static void test_billing_manager_softphone(void **state) {
        result res;

        run(OP_ACCOUNT, "bob", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);

        run(OP_ACCOUNT, "bob", 0, &res, "socket=%s permission=softphone.use", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 1);
        assert_string_equal(res.t.text[0], "callrole: role 'Billing Manager' does not allow softphone.use");

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s permission=softphone.use", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_int_equal(res.t.n, 0);
}

static void test_disabled(void **state) {
        result res;

        run(OP_ACCOUNT, "dave", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 1);
        assert_string_equal(res.t.text[0], "callrole: user 'dave' is disabled");
}

static void test_unknown_user(void **state) {
        result res;

        run(OP_ACCOUNT, "zed", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_USER_UNKNOWN);
        assert_int_equal(res.t.n, 0);   /* says nothing about who exists */

        run(OP_ACCOUNT, "zed", 0, &res, "socket=%s ignore_unknown_user", T.socket);
        assert_int_equal(res.code, PAM_IGNORE);
        assert_int_equal(res.t.n, 0);

        /* ignore_unknown_user does not soften a known user's denial. */
        run(OP_ACCOUNT, "nora", 0, &res, "socket=%s ignore_unknown_user", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
}

/* Names callrole cannot hold are unknown without asking: the silent socket
 * would make asking take the whole timeout. */
static void test_invalid_user_names(void **state) {
        result res;

        run(OP_ACCOUNT, "root@example.com", 0, &res, "socket=%s timeout=2000", T.silent);
        assert_int_equal(res.code, PAM_USER_UNKNOWN);
        assert_true(res.seconds < 0.5);
        run(OP_ACCOUNT, "x y", 0, &res, "socket=%s ignore_unknown_user", T.silent);
        assert_int_equal(res.code, PAM_IGNORE);
        run(OP_ACCOUNT, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, &res,
            "socket=%s", T.silent);
        assert_int_equal(res.code, PAM_USER_UNKNOWN);
        run(OP_ACCOUNT, "evil\nuser", 0, &res, "socket=%s", T.silent);
        assert_int_equal(res.code, PAM_USER_UNKNOWN);
        run(OP_SESSION, "root@example.com", 0, &res, "socket=%s", T.silent);
        assert_int_equal(res.code, PAM_USER_UNKNOWN);
        assert_true(res.seconds < 0.5);
}

static void test_stopped_daemon(void **state) {
        result res;

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s", T.missing);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
        assert_int_equal(res.t.n, 0);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s", T.stale);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s ignore_unavailable", T.missing);
        assert_int_equal(res.code, PAM_IGNORE);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s ignore_unavailable", T.stale);
        assert_int_equal(res.code, PAM_IGNORE);

        /* An absent daemon is not an unknown user. */
        run(OP_ACCOUNT, "zed", 0, &res, "socket=%s ignore_unknown_user", T.missing);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
}

static void test_silent_daemon(void **state) {
        result res;

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s timeout=300", T.silent);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
        assert_true(res.seconds >= 0.25);   /* it did wait for an answer... */
        assert_true(res.seconds < 1.5);     /* ...and no longer than asked */

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s timeout=300 ignore_unavailable", T.silent);
        assert_int_equal(res.code, PAM_IGNORE);
        assert_true(res.seconds < 1.5);
}

static void test_bad_timeout_still_works(void **state) {
        result res;

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s timeout=abc", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        run(OP_ACCOUNT, "nora", 0, &res, "socket=%s timeout=-1", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
}

static void test_bad_timeout_uses_default(void **state) {
        result res;

        /* The default of 2000 ms is what bounds the wait. */
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s timeout=abc", T.silent);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
        assert_true(res.seconds >= 1.9);
        assert_true(res.seconds < 3.0);

        /* A bad value after a good one leaves the good one in force. */
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s timeout=300 timeout=0", T.silent);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
        assert_true(res.seconds < 1.5);
}

static void test_quiet(void **state) {
        result res;

        run(OP_ACCOUNT, "nora", 0, &res, "socket=%s quiet", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 0);

        /* The application's PAM_SILENT does the same. */
        run(OP_ACCOUNT, "nora", PAM_SILENT, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 0);

        run(OP_ACCOUNT, "bob", 0, &res, "socket=%s permission=softphone.use quiet", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 0);
}

static void test_unknown_option_ignored(void **state) {
        result res;

        run(OP_ACCOUNT, "alice", 0, &res, "frobnicate socket=%s use_first_pass", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        run(OP_ACCOUNT, "nora", 0, &res, "frobnicate socket=%s", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 1);
}

static void test_configuration_errors(void **state) {
        result res;

        /* Names the daemon does not know. */
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s permission=no.such", T.socket);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        assert_int_equal(res.t.n, 0);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s account=nowhere", T.socket);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        run(OP_SESSION, "alice", 0, &res, "socket=%s permission=no.such", T.socket);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        assert_false(res.env_role_set);
}

static void test_refused_arguments(void **state) {
        result res;

        /* Values the module cannot use: refused at once, without asking
         * (the silent socket would take the whole timeout), and never
         * replaced by the default permission. */
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s permission=", T.silent);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        /* 1 s leaves room for a loaded CI host, and still tells "refused
         * without asking" from asking the silent socket, which would take
         * the whole default timeout (CALLROLE_PAM_TIMEOUT_DEFAULT_MS, 2 s). */
        assert_true(res.seconds < 1.0);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s permission=soft/phone", T.silent);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s account=", T.silent);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=relative/socket");
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        /* ...even with ignore flags: they are about users and daemons. */
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s permission= ignore_unavailable ignore_unknown_user", T.silent);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        run(OP_SESSION, "alice", 0, &res, "socket=%s account=a,b", T.silent);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        assert_true(res.seconds < 1.0);   /* vs the 2 s default timeout: see above */
}

static void test_accounts(void **state) {
        result res;

        /* erin is in two accounts: the service must say which. */
        run(OP_ACCOUNT, "erin", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_SERVICE_ERR);
        run(OP_ACCOUNT, "erin", 0, &res, "socket=%s account=acme", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);

        /* alice has no role in acme. */
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s account=acme", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 1);
        assert_string_equal(res.t.text[0], "callrole: user 'alice' has no role in account 'acme'");
}

/* The modes of the folders on the way to the daemon's socket and the
 * service files. */
static void set_folder_modes(mode_t mode) {
        assert_int_equal(chmod(T.daemon.dir, mode), 0);
        assert_int_equal(chmod(T.dir, mode), 0);
        assert_int_equal(chmod(T.confdir, mode), 0);
}

static int transact(const char *service, const char *user, transcript *t);

/* A peer that is neither administrator nor query group nor the user asked
 * about is refused by the daemon: a system error, not a verdict. */
static void test_peer_not_allowed(void **state) {
        char args[PATH_MAX + 16], service[64];
        int pipefd[2], status, code = -1;
        ssize_t n;
        pid_t pid, waited;

        if (geteuid() != 0)
                skip();   /* needs to switch to another uid */

        snprintf(args, sizeof args, "socket=%s", T.socket);
        write_probe(service, sizeof service, OP_ACCOUNT, args);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        /* The socket and the service files must be reachable by the other uid. */
        set_folder_modes(0755);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* No cmocka asserts here: a failing one would jump back into
                 * the runner and run the remaining tests in this child.  The
                 * result goes through the pipe, failures through the exit
                 * code. */
                transcript t = {};
                int r;

                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(1);
                r = transact(service, "alice", &t);
                /* The probe's sentinel turns the module's PAM_IGNORE into
                 * PAM_TRY_AGAIN (see untranslate()). */
                if (r == PAM_TRY_AGAIN)
                        r = PAM_IGNORE;
                if (write(pipefd[1], &r, sizeof r) != (ssize_t) sizeof r)
                        _exit(2);
                _exit(0);
        }
        close(pipefd[1]);
        n = read(pipefd[0], &code, sizeof code);
        close(pipefd[0]);
        waited = waitpid(pid, &status, 0);
        /* Modes back before any assertion, so later tests see them. */
        set_folder_modes(0700);
        assert_int_equal(n, (ssize_t) sizeof code);
        assert_int_equal(waited, pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(code, PAM_SYSTEM_ERR);
}

/* ---- session and the rest ------------------------------------------------ */

static void test_session(void **state) {
        result res;

        run(OP_SESSION, "alice", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_true(res.env_role_set);
        assert_string_equal(res.role, "agent");
        assert_true(res.env_account_set);
        assert_string_equal(res.account, "default");

        run(OP_SESSION, "erin", 0, &res, "socket=%s account=acme", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_string_equal(res.role, "agent");
        assert_string_equal(res.account, "acme");

        /* The session phase informs, it does not gate. */
        run(OP_SESSION, "bob", 0, &res, "socket=%s permission=softphone.use", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_string_equal(res.role, "billing-manager");

        run(OP_SESSION, "zed", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_USER_UNKNOWN);
        assert_false(res.env_role_set);
        run(OP_SESSION, "zed", 0, &res, "socket=%s ignore_unknown_user", T.socket);
        assert_int_equal(res.code, PAM_IGNORE);
        assert_false(res.env_role_set);
}

static void test_session_unavailable(void **state) {
        result res;

        run(OP_SESSION, "alice", 0, &res, "socket=%s", T.missing);
        assert_int_equal(res.code, PAM_SESSION_ERR);
        assert_false(res.env_role_set);
        run(OP_SESSION, "alice", 0, &res, "socket=%s ignore_unavailable", T.missing);
        assert_int_equal(res.code, PAM_IGNORE);
        run(OP_SESSION, "alice", 0, &res, "socket=%s timeout=300", T.silent);
        assert_int_equal(res.code, PAM_SESSION_ERR);
        assert_true(res.seconds < 1.5);
}

static void test_other_functions_ignore(void **state) {
        result res;

        run(OP_AUTH, "alice", 0, &res, "socket=%s", T.missing);
        assert_int_equal(res.code, PAM_IGNORE);
        run(OP_SETCRED, "alice", 0, &res, "socket=%s", T.missing);
        assert_int_equal(res.code, PAM_IGNORE);
        run(OP_CHAUTHTOK, "alice", 0, &res, "socket=%s", T.missing);
        assert_int_equal(res.code, PAM_IGNORE);
        /* They do not ask the daemon: no wait on the silent one. */
        run(OP_AUTH, "alice", 0, &res, "socket=%s", T.silent);
        assert_int_equal(res.code, PAM_IGNORE);
        /* Loose for loaded CI hosts, yet below the 2 s default timeout a
         * question to the silent socket would take. */
        assert_true(res.seconds < 1.0);
}

/* ---- the stacks of pam_callrole(8) ---------------------------------------- */

/* The login/sshd stack of pam_callrole(8), with UNIX (pam_permit, or
 * pam_deny) standing in for pam_unix, which would need real accounts. */
static void write_login_stack(const char *name, const char *unix_module, const char *socket, const char *extra) {
        write_service(name,
                      "account required %s\n"
                      "account [success=1 default=ignore] pam_succeed_if.so quiet uid < 1000\n"
                      "account [user_unknown=ignore success=ok default=bad] %s socket=%s %s\n"
                      "session optional %s socket=%s\n",
                      unix_module, T.module, socket, extra, T.module, socket);
}

static void test_stack_login(void **state) {
        result res;

        write_login_stack("login", "pam_permit.so", T.socket, "");
        run_service("login", "alice", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        run_service("login", "nora", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 1);
        assert_string_equal(res.t.text[0], "callrole: role 'No Access' does not allow login");
        /* Unknown to callrole: pam_unix decides. */
        run_service("login", "zed", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        /* System accounts skip callrole (pam_succeed_if). */
        run_service("login", "root", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_int_equal(res.t.n, 0);
        /* The session line of the same file. */
        run_service("login", "alice", OP_SESSION, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_string_equal(res.role, "agent");

        /* ...and pam_unix does decide: when it refuses, zed is refused. */
        write_login_stack("login-deny", "pam_deny.so", T.socket, "");
        run_service("login-deny", "zed", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_AUTH_ERR);     /* pam_deny's own code */
        run_service("login-deny", "alice", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_AUTH_ERR);
}

static void test_stack_login_daemon_down(void **state) {
        result res;

        /* A stopped daemon keeps callrole's users out (default=bad)... */
        write_login_stack("login-down", "pam_permit.so", T.missing, "");
        run_service("login-down", "alice", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
        /* ...but not root, who can come and repair it. */
        run_service("login-down", "root", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);

        /* A daemon that accepts and never answers counts as stopped, once
         * the timeout has passed. */
        write_login_stack("login-slow", "pam_permit.so", T.silent, "timeout=200");
        run_service("login-slow", "alice", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
        assert_true(res.seconds < 1.5);

        /* The fail-open line of the man page lets everybody in. */
        write_service("login-open", "account required pam_permit.so\n"
                                    "account [user_unknown=ignore success=ok ignore=ignore default=bad] %s "
                                    "socket=%s ignore_unavailable\n", T.module, T.missing);
        run_service("login-open", "alice", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        run_service("login-open", "zed", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
}

static void test_stack_softphone(void **state) {
        result res;

        write_service("softphone", "account required %s permission=softphone.use socket=%s\n", T.module, T.socket);
        run_service("softphone", "alice", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        run_service("softphone", "bob", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_int_equal(res.t.n, 1);
        assert_string_equal(res.t.text[0], "callrole: role 'Billing Manager' does not allow softphone.use");
        run_service("softphone", "nora", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        assert_string_equal(res.t.text[0], "callrole: role 'No Access' does not allow softphone.use");
        run_service("softphone", "zed", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_USER_UNKNOWN);

        /* The pitfall the man page warns of: alone in a stack, a module that
         * ignores leaves libpam nothing to allow with. */
        write_service("softphone-alone", "account required %s socket=%s ignore_unknown_user\n", T.module, T.socket);
        run_service("softphone-alone", "zed", OP_ACCOUNT, 0, &res);
        assert_int_equal(res.code, PAM_PERM_DENIED);
}

static void test_stack_session(void **state) {
        result res;

        write_service("login-session", "session optional %s socket=%s\n"
                                        "session required pam_permit.so\n", T.module, T.socket);
        run_service("login-session", "alice", OP_SESSION, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_string_equal(res.role, "agent");
        assert_string_equal(res.account, "default");
        run_service("login-session", "zed", OP_SESSION, 0, &res);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_false(res.env_role_set);
}

/* ---- robustness ---------------------------------------------------------- */

static void test_no_descriptor_leak(void **state) {
        result res;
        int before = count_fds();

        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        run(OP_ACCOUNT, "nora", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_PERM_DENIED);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s timeout=100", T.silent);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);
        run(OP_SESSION, "alice", 0, &res, "socket=%s", T.socket);
        assert_int_equal(res.code, PAM_SUCCESS);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s", T.stale);
        assert_int_equal(res.code, PAM_AUTHINFO_UNAVAIL);

        assert_int_equal(count_fds(), before);
}

/* A one-shot stand-in for callroled that records what the module sends:
 * it accepts one connection, reads one request, keeps its prefix flags and
 * answers "allowed".  No cmocka asserts: it runs on a thread of its own. */
typedef struct fake_once {
        int listen_fd;
        uint32_t flags;
        bool answered;
} fake_once;

static void *fake_once_run(void *p) {
        fake_once *f = p;
        struct timeval tv = { .tv_sec = 5 };
        uint8_t buf[4096];
        struct cr_header h;
        size_t n = 0;
        int fd;

        fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return NULL;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        for (;;) {
                ssize_t k;

                if (n >= CR_HEADER_SIZE) {
                        if (cr_header_decode(buf, n, sizeof buf - CR_HEADER_SIZE, &h) < 0)
                                goto out;
                        if (n - CR_HEADER_SIZE >= h.length)
                                break;
                }
                k = recv(fd, buf + n, sizeof buf - n, 0);
                if (k <= 0)
                        goto out;
                n += (size_t) k;
        }
        {
                struct cr_decision d = { .allowed = true, .role = (char *) "agent", .account = (char *) "default",
                                         .detail = (char *) "" };
                struct cr_cursor cur;
                struct cr_buf out;
                char *as = NULL;

                cr_cursor_init(&cur, buf + CR_HEADER_SIZE, h.length);
                if (h.type != CR_MSG_CHECK || cr_get_prefix(&cur, &f->flags, &as) < 0)
                        goto out;
                free(as);
                cr_buf_init(&out, 4096);
                cr_frame_begin(&out, CR_MSG_DECISION, h.id);
                cr_put_decision(&out, &d);
                if (cr_frame_end(&out) == 0 && send(fd, out.data, out.len, MSG_NOSIGNAL) == (ssize_t) out.len)
                        f->answered = true;
                cr_buf_done(&out);
        }
out:
        close(fd);
        return NULL;
}

/* The module makes one call per PAM call, so it tells the daemon so
 * (CR_FLAG_LAST): the daemon closes the connection as soon as it has
 * answered instead of both sides paying for the module's hang-up. */
static void test_asks_with_last(void **state) {
        char path[PATH_MAX];
        fake_once f = {};
        pthread_t t;
        result res;

        assert_int_equal(path_join(path, sizeof path, T.dir, "fake.sock"), 0);
        f.listen_fd = make_socket(path, true);
        assert_true(f.listen_fd >= 0);
        assert_int_equal(pthread_create(&t, NULL, fake_once_run, &f), 0);
        run(OP_ACCOUNT, "alice", 0, &res, "socket=%s", path);
        assert_int_equal(pthread_join(t, NULL), 0);
        close(f.listen_fd);
        (void) unlink(path);
        assert_int_equal(res.code, PAM_SUCCESS);
        assert_true(f.answered);
        assert_int_equal(f.flags, CR_FLAG_LAST);
}

/* One transaction without cmocka asserts (for threads and children). */
static int transact(const char *service, const char *user, transcript *t) {
        pam_handle_t *h = NULL;
        struct pam_conv conv = { conversation, t };
        int r;

        r = pam_start_confdir(service, user, &conv, T.confdir, &h);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_acct_mgmt(h, 0);
        pam_end(h, r);
        return r;
}

#define THREADS 4
#define ROUNDS 25

typedef struct worker {
        int index, failures;
} worker;

static void *worker_run(void *p) {
        worker *w = p;

        for (int i = 0; i < ROUNDS; i++) {
                transcript t = {};
                bool deny = (i + w->index) % 2;
                int r;

                r = transact("threads", deny ? "nora" : "alice", &t);
                if (r != (deny ? PAM_PERM_DENIED : PAM_SUCCESS) || t.n != (deny ? 1 : 0))
                        w->failures++;
        }
        return NULL;
}

/* Concurrent transactions in one process do not meet (no global state). */
static void test_threads(void **state) {
        pthread_t th[THREADS];
        worker w[THREADS];

        write_service("threads", "account required %s socket=%s\n", T.module, T.socket);
        for (int i = 0; i < THREADS; i++) {
                w[i] = (worker) { .index = i };
                assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
        }
        for (int i = 0; i < THREADS; i++) {
                assert_int_equal(pthread_join(th[i], NULL), 0);
                assert_int_equal(w[i].failures, 0);
        }
}

/* ---- what goes to syslog ------------------------------------------------- */

#define LOG_LINES 32

typedef struct syslog_capture {
        int n;
        char line[LOG_LINES][1024];
} syslog_capture;

/* Run the transactions of SERVICES (pairs of service, user) in a child
 * whose /dev is a folder of ours with a datagram socket "log", so what the
 * module sends to syslog(3) lands here.  The child gets a mount namespace
 * of its own (and a user namespace when not root); returns -1 if the
 * system allows neither. */
static int capture_syslog(const char *const *services, size_t n, syslog_capture *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dev[PATH_MAX];
        int fd, status, pipefd[2], started = 0;
        pid_t pid;

        memset(ret, 0, sizeof *ret);
        assert_int_equal(path_join(dev, sizeof dev, T.dir, "dev"), 0);
        (void) mkdir(dev, 0755);
        assert_int_equal(path_join(sa.sun_path, sizeof sa.sun_path, dev, "log"), 0);
        (void) unlink(sa.sun_path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int ok = 1;
                if (unshare(CLONE_NEWNS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                        _exit(2);
                if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount(dev, "/dev", "none", MS_BIND, NULL) < 0)
                        _exit(2);
                (void) !write(pipefd[1], &ok, sizeof ok);
                for (size_t i = 0; i + 1 < n; i += 2)
                        (void) transact(services[i], services[i + 1], NULL);
                _exit(0);
        }
        close(pipefd[1]);
        if (read(pipefd[0], &started, sizeof started) != (ssize_t) sizeof started)
                started = 0;
        close(pipefd[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!started) {
                close(fd);
                return -1;
        }
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        while (ret->n < LOG_LINES) {
                ssize_t k = recv(fd, ret->line[ret->n], sizeof ret->line[0] - 1, MSG_DONTWAIT);
                if (k < 0)
                        break;
                ret->line[ret->n][k] = '\0';
                ret->n++;
        }
        close(fd);
        return 0;
}

/* The index of the first captured line containing every one of the
 * NULL-terminated needles, or -1. */
static int find_line(const syslog_capture *c, ...) {
        for (int i = 0; i < c->n; i++) {
                const char *needle;
                bool all = true;
                va_list ap;

                va_start(ap, c);
                while ((needle = va_arg(ap, const char *)))
                        if (!strstr(c->line[i], needle))
                                all = false;
                va_end(ap);
                if (all)
                        return i;
        }
        return -1;
}

static void test_syslog(void **state) {
        static const char *const runs[] = {
                "log-plain", "nora",
                "log-plain", "alice",
                "log-plain", "zed",
                "log-debug", "alice",
                "log-args", "alice",
                "log-down", "alice",
                "log-softphone", "bob",
        };
        syslog_capture c;

        write_service("log-plain", "account required %s socket=%s\n", T.module, T.socket);
        write_service("log-debug", "account required %s socket=%s debug\n", T.module, T.socket);
        write_service("log-args", "account required %s socket=%s frobnicate timeout=abc\n", T.module, T.socket);
        write_service("log-down", "account required %s socket=%s\n", T.module, T.missing);
        write_service("log-softphone", "account required %s socket=%s permission=softphone.use\n", T.module,
                      T.socket);
        if (capture_syslog(runs, ELEMENTSOF(runs), &c) < 0)
                skip();   /* no mount namespace here */
        for (int i = 0; i < c.n; i++)
                fprintf(stderr, "syslog: %s\n", c.line[i]);

        /* Denials, with who, where, what, which role and why. */
        assert_true(find_line(&c, "pam_callrole(log-plain:account)", "deny user=nora service=log-plain "
                              "permission=login account=default role=no-access reason=not-granted", NULL) >= 0);
        assert_true(find_line(&c, "deny user=bob service=log-softphone permission=softphone.use account=default "
                              "role=billing-manager reason=not-granted", NULL) >= 0);
        /* Allowed logins too. */
        assert_true(find_line(&c, "allow user=alice service=log-plain permission=login account=default role=agent "
                              "reason=none", NULL) >= 0);
        assert_true(find_line(&c, "unknown user=zed service=log-plain", NULL) >= 0);
        /* debug adds the detail and how it was asked; without it, not. */
        assert_true(find_line(&c, "allow user=alice service=log-debug", "socket=", "timeout=2000ms", "elapsed=",
                              NULL) >= 0);
        assert_true(find_line(&c, "allow user=alice service=log-plain", "socket=", NULL) < 0);
        /* Arguments: unknown ones and bad values are reported, then ignored. */
        assert_true(find_line(&c, "pam_callrole(log-args:account)", "unknown option: frobnicate", NULL) >= 0);
        assert_true(find_line(&c, "pam_callrole(log-args:account)", "timeout=abc", "2000 ms", NULL) >= 0);
        assert_true(find_line(&c, "allow user=alice service=log-args", NULL) >= 0);
        /* An unreachable daemon says where it was looked for. */
        assert_true(find_line(&c, "unavailable user=alice service=log-down", T.missing, NULL) >= 0);
}

/* ---- arguments (no daemon) ----------------------------------------------- */

typedef struct complaints {
        int n;
        char last[TEXT];
} complaints;

_printf_(2, 3) static void complain(void *userdata, const char *format, ...) {
        complaints *c = userdata;
        va_list ap;

        va_start(ap, format);
        vsnprintf(c->last, sizeof c->last, format, ap);
        va_end(ap);
        c->n++;
}

static int parse(callrole_pam_args *a, complaints *c, int argc, const char **argv) {
        memset(c, 0, sizeof *c);
        return callrole_pam_args_parse(a, argc, argv, complain, c);
}

static void test_args_defaults(void **state) {
        callrole_pam_args a;
        complaints c;

        assert_int_equal(parse(&a, &c, 0, NULL), 0);
        assert_int_equal(c.n, 0);
        assert_string_equal(a.permission, "login");
        assert_null(a.account);
        assert_null(a.socket);
        assert_int_equal(a.timeout_ms, 2000);
        assert_false(a.ignore_unknown_user || a.ignore_unavailable || a.debug || a.quiet);

        assert_int_equal(callrole_pam_args_parse(NULL, 0, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(callrole_pam_args_parse(&a, 1, NULL, NULL, NULL), -EINVAL);
        assert_int_equal(callrole_pam_args_parse(&a, -1, NULL, NULL, NULL), -EINVAL);
}

static void test_args_all(void **state) {
        const char *argv[] = { "permission=softphone.use", "account=acme", "socket=/run/x/socket", "timeout=350",
                               "ignore_unknown_user", "ignore_unavailable", "debug", "quiet", NULL };
        callrole_pam_args a;
        complaints c;

        /* The trailing NULL entry is skipped. */
        assert_int_equal(parse(&a, &c, (int) ELEMENTSOF(argv), argv), 0);
        assert_int_equal(c.n, 0);
        assert_string_equal(a.permission, "softphone.use");
        assert_string_equal(a.account, "acme");
        assert_string_equal(a.socket, "/run/x/socket");
        assert_int_equal(a.timeout_ms, 350);
        assert_true(a.ignore_unknown_user && a.ignore_unavailable && a.debug && a.quiet);
}

static void test_args_timeout(void **state) {
        static const char *const bad[] = {
                "timeout=abc", "timeout=", "timeout=0", "timeout=-5", "timeout=+5", "timeout= 5",
                "timeout=5x", "timeout=0x10", "timeout=60001", "timeout=99999999999999999999999",
        };
        const char *argv[2];
        callrole_pam_args a;
        complaints c;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                argv[0] = bad[i];
                assert_int_equal(parse(&a, &c, 1, argv), 0);
                assert_int_equal(a.timeout_ms, 2000);
                assert_int_equal(c.n, 1);
                assert_non_null(strstr(c.last, bad[i]));
        }

        argv[0] = "timeout=1";
        assert_int_equal(parse(&a, &c, 1, argv), 0);
        assert_int_equal(a.timeout_ms, 1);
        argv[0] = "timeout=60000";
        assert_int_equal(parse(&a, &c, 1, argv), 0);
        assert_int_equal(a.timeout_ms, 60000);
        assert_int_equal(c.n, 0);

        /* A bad value keeps the value in force before it. */
        argv[0] = "timeout=300";
        argv[1] = "timeout=abc";
        assert_int_equal(parse(&a, &c, 2, argv), 0);
        assert_int_equal(a.timeout_ms, 300);
        assert_int_equal(c.n, 1);
        /* Later arguments win. */
        argv[0] = "timeout=300";
        argv[1] = "timeout=400";
        assert_int_equal(parse(&a, &c, 2, argv), 0);
        assert_int_equal(a.timeout_ms, 400);
}

static void test_args_unknown(void **state) {
        const char *argv[] = { "frobnicate", "debug", "Debug", "permissions=x", "quiet=yes" };
        callrole_pam_args a;
        complaints c;

        assert_int_equal(parse(&a, &c, (int) ELEMENTSOF(argv), argv), 0);
        assert_int_equal(c.n, 4);
        assert_string_equal(c.last, "unknown option: quiet=yes");
        assert_true(a.debug);
        assert_false(a.quiet);
        assert_string_equal(a.permission, "login");

        /* A NULL log function is allowed (the fuzz harness uses it). */
        assert_int_equal(callrole_pam_args_parse(&a, 1, argv, NULL, NULL), 0);
}

/* A value that decides who gets in is never replaced by a default. */
static void test_args_refused(void **state) {
        char long_socket[200];
        const char *bad[] = {
                "permission=", "permission=a b", "permission=soft/phone", "permission=-login",
                "account=", "account=a,b", "socket=", "socket=relative", long_socket,
                "permission=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        };
        const char *argv[2];
        callrole_pam_args a;
        complaints c;

        memset(long_socket, 'x', sizeof long_socket - 1);
        long_socket[sizeof long_socket - 1] = '\0';
        memcpy(long_socket, "socket=/", 8);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                argv[0] = bad[i];
                argv[1] = "quiet";
                assert_int_equal(parse(&a, &c, 2, argv), -EINVAL);
                assert_int_equal(c.n, 1);
                /* The rest is still parsed, so quiet and debug hold. */
                assert_true(a.quiet);
                assert_string_equal(a.permission, "login");
                assert_null(a.account);
                assert_null(a.socket);
        }

        /* 64 bytes is the longest name. */
        argv[0] = "permission=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_int_equal(parse(&a, &c, 1, argv), 0);
        assert_int_equal(strlen(a.permission), 64);
}

/* libpam needs the pam_sm_* functions; nothing else may leak into a host
 * process (the statically linked client library least of all). */
static void test_exports(void **state) {
        char cmd[PATH_MAX + 64], line[512];
        int n = 0, pam_sm = 0;
        void *h;
        FILE *f;

        assert_int_equal(find_module(), 0);

        snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", T.module);
        f = popen(cmd, "re");
        assert_non_null(f);
        while (fgets(line, sizeof line, f)) {
                char addr[64], type[8], name[256];
                if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3)
                        continue;
                n++;
                if (strncmp(name, "pam_sm_", 7) == 0)
                        pam_sm++;
                else
                        fprintf(stderr, "test-pam: unexpected export: %s", line);
        }
        assert_int_equal(pclose(f), 0);
        assert_int_equal(pam_sm, 6);
        assert_int_equal(n, 6);

        h = dlopen(T.module, RTLD_NOW | RTLD_LOCAL);
        assert_non_null(h);
        assert_non_null(dlsym(h, "pam_sm_acct_mgmt"));
        assert_non_null(dlsym(h, "pam_sm_open_session"));
        assert_null(dlsym(h, "callrole_check"));
        assert_null(dlsym(h, "callrole_pam_args_parse"));
        assert_null(dlsym(h, "name_is_valid"));
        dlclose(h);
}

int main(void) {
        const struct CMUnitTest args_tests[] = {
                cmocka_unit_test(test_args_defaults),
                cmocka_unit_test(test_args_all),
                cmocka_unit_test(test_args_timeout),
                cmocka_unit_test(test_args_unknown),
                cmocka_unit_test(test_args_refused),
                cmocka_unit_test(test_exports),
        };
        /* The module with no daemon behind it: sockets made by the test. */
        const struct CMUnitTest offline_tests[] = {
                cmocka_unit_test(test_invalid_user_names),
                cmocka_unit_test(test_stopped_daemon),
                cmocka_unit_test(test_silent_daemon),
                cmocka_unit_test(test_bad_timeout_uses_default),
                cmocka_unit_test(test_refused_arguments),
                cmocka_unit_test(test_session_unavailable),
                cmocka_unit_test(test_other_functions_ignore),
                cmocka_unit_test(test_stack_login_daemon_down),
                cmocka_unit_test(test_asks_with_last),
        };
        const struct CMUnitTest daemon_tests[] = {
                cmocka_unit_test(test_allow),
                cmocka_unit_test(test_no_access_denied),
                cmocka_unit_test(test_billing_manager_softphone),
                cmocka_unit_test(test_disabled),
                cmocka_unit_test(test_unknown_user),
                cmocka_unit_test(test_bad_timeout_still_works),
                cmocka_unit_test(test_quiet),
                cmocka_unit_test(test_unknown_option_ignored),
                cmocka_unit_test(test_configuration_errors),
                cmocka_unit_test(test_accounts),
                cmocka_unit_test(test_peer_not_allowed),
                cmocka_unit_test(test_session),
                cmocka_unit_test(test_stack_login),
                cmocka_unit_test(test_stack_softphone),
                cmocka_unit_test(test_stack_session),
                cmocka_unit_test(test_no_descriptor_leak),
                cmocka_unit_test(test_threads),
                cmocka_unit_test(test_syslog),
        };
        int failed = 0;

        failed += cmocka_run_group_tests_name("pam-args", args_tests, NULL, NULL);
        failed += cmocka_run_group_tests_name("pam-offline", offline_tests, offline_setup, teardown);
        failed += cmocka_run_group_tests_name("pam-daemon", daemon_tests, daemon_setup, teardown);
        return failed == 0 ? 0 : 1;
}
