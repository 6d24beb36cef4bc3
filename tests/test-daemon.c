/*
 * test-daemon.c: integration tests of callroled.  Every test talks to the
 * real daemon binary, started by tests/helper-daemon.c on a socket and
 * database in a fresh temporary folder, either through raw sockets (frames
 * built by hand with the wire codec, to play a hostile or clumsy client) or
 * through libcallrole, as host software does.
 *
 * Groups, each with one daemon of its own (group setup/teardown):
 *   - start:   first start, status, restart, databases that cannot be used
 *              (these tests start and stop daemons of their own);
 *   - wire:    malformed, oversized, truncated, pipelined and trickled frames;
 *   - library: checks with every reason, batch, scope, reads, dry run,
 *              refusals, reconnect, audit;
 *   - peers:   a peer of another uid (nobody, 65534), first unknown to
 *              callrole, then mapped to a callrole user of rank 50, last
 *              with a second account (root only; skipped otherwise).
 *
 * Tests of one group share its daemon but never each other's objects: each
 * test names what it creates with its own prefix, so they pass in any order.
 * Every refusal is checked twice: the error (and the message naming the
 * object), and that nothing changed (the snapshot generation, the audit,
 * and a read-back of the object concerned).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "callrole-wire.h"
#include "callrole.h"
#include "helper-daemon.h"
#include "helper-raw.h"

#define NOBODY_UID ((uid_t) 65534)
#define IO_TIMEOUT_SEC 5

/* ---- small utilities ---------------------------------------------------- */

static uint64_t now_msec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0, cap = 0;

        if (!f)
                return NULL;
        for (;;) {
                size_t n;
                if (cap - len < 4096) {
                        char *nb = realloc(buf, cap + 65536);
                        assert_non_null(nb);
                        buf = nb;
                        cap += 65536;
                }
                n = fread(buf + len, 1, cap - len - 1, f);
                len += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        return buf;
}

static void write_file(const char *path, const void *p, size_t n) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
}

/* The daemon is still running (not exited, not a zombie). */
static void assert_daemon_alive(TestDaemon *d) {
        int status;
        assert_true(d->pid > 0);
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                d->pid = 0;
                fail_msg("callroled exited (status 0x%x); see %s", status, d->log);
        }
}

static const char *my_user_name(void) {
        static char name[256];
        struct passwd *pw = getpwuid(getuid());
        assert_non_null(pw);
        snprintf(name, sizeof(name), "%s", pw->pw_name);
        return name;
}

/* ---- library helpers ---------------------------------------------------- */

static callrole *client_new(const TestDaemon *d) {
        callrole *c = NULL;
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, d->socket), 0);
        assert_int_equal(callrole_set_timeout(c, IO_TIMEOUT_SEC * 1000000ULL), 0);
        return c;
}

/* callrole_call() with a record of KEY, VALUE pairs ending with a NULL key.
 * A key given several times is a list; a NULL value makes an explicitly
 * empty list. */
static int vcall(callrole *c, callrole_reply **ret, const char *method, va_list ap) {
        callrole_record *p = NULL;
        const char *key;
        int r;

        assert_int_equal(callrole_record_new(&p), 0);
        while ((key = va_arg(ap, const char *))) {
                const char *value = va_arg(ap, const char *);
                assert_int_equal(callrole_record_add(p, key, value), 0);
        }
        r = callrole_call(c, method, p, ret);
        callrole_record_free(p);
        return r;
}

static int call(callrole *c, callrole_reply **ret, const char *method, ...) __attribute__((sentinel));
static int call(callrole *c, callrole_reply **ret, const char *method, ...) {
        va_list ap;
        int r;
        va_start(ap, method);
        r = vcall(c, ret, method, ap);
        va_end(ap);
        return r;
}

/* The same, and the call must succeed. */
static callrole_reply *must_call(callrole *c, const char *method, ...) __attribute__((sentinel));
static callrole_reply *must_call(callrole *c, const char *method, ...) {
        callrole_reply *rep = NULL;
        va_list ap;
        int r;
        va_start(ap, method);
        r = vcall(c, &rep, method, ap);
        va_end(ap);
        if (r < 0)
                fail_msg("%s failed: %s (%s)", method, strerror(-r), callrole_last_error(c) ?: "no message");
        assert_non_null(rep);
        return rep;
}

#define MUST(c, method, ...) callrole_reply_free(must_call((c), (method), __VA_ARGS__))

static const callrole_record *rec_at(const callrole_reply *rep, size_t i) {
        const callrole_record *r = callrole_reply_record(rep, i);
        assert_non_null(r);
        return r;
}

static const char *rget(const callrole_reply *rep, size_t i, const char *key) {
        return callrole_record_get(rec_at(rep, i), key);
}

static bool rec_field(const callrole_record *r, const char *key, size_t *ret_index) {
        for (size_t i = 0; i < callrole_record_n_fields(r); i++)
                if (strcmp(callrole_record_key(r, i), key) == 0) {
                        *ret_index = i;
                        return true;
                }
        return false;
}

/* The values of key joined with ',' ("" for an empty list); NULL when the
 * key is absent.  Static buffer: one use per statement. */
static const char *rjoin(const callrole_record *r, const char *key) {
        static char buf[4][1024];
        static unsigned slot;
        char *b = buf[slot++ % 4];
        size_t i, len = 0;

        if (!rec_field(r, key, &i))
                return NULL;
        b[0] = 0;
        for (size_t j = 0; j < callrole_record_n_values(r, i); j++) {
                int n = snprintf(b + len, sizeof(buf[0]) - len, "%s%s", j ? "," : "", callrole_record_value(r, i, j));
                assert_true(n >= 0 && (size_t) n < sizeof(buf[0]) - len);
                len += (size_t) n;
        }
        return b;
}

/* Field key of record i of rep, lists joined with ','; "" for an empty
 * list (how a missing before/after travels); the field must be there. */
static const char *rv(const callrole_reply *rep, size_t i, const char *key) {
        const char *v = rjoin(rec_at(rep, i), key);
        if (!v)
                fail_msg("record %zu lacks the field '%s'", i, key);
        return v;
}

/* The record whose key has value, or NULL. */
static const callrole_record *find_rec(const callrole_reply *rep, const char *key, const char *value) {
        for (size_t i = 0; i < callrole_reply_n_records(rep); i++) {
                const char *v = rget(rep, i, key);
                if (v && strcmp(v, value) == 0)
                        return rec_at(rep, i);
        }
        return NULL;
}

static int compare_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The values of key, sorted, joined with ','. Static buffer. */
static const char *sorted_values(const callrole_record *r, const char *key) {
        static char buf[2048];
        const char *v[256];
        size_t i = 0, n, len = 0;

        if (!rec_field(r, key, &i))
                fail_msg("no field '%s'", key);
        n = callrole_record_n_values(r, i);
        assert_true(n <= 256);
        for (size_t j = 0; j < n; j++)
                v[j] = callrole_record_value(r, i, j);
        qsort(v, n, sizeof(v[0]), compare_str);
        buf[0] = 0;
        for (size_t j = 0; j < n; j++)
                len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s", j ? "," : "", v[j]);
        assert_true(len < sizeof(buf));
        return buf;
}

static void assert_error_names(const callrole *c, const char *what) {
        const char *m = callrole_last_error(c);
        if (!m || !strstr(m, what))
                fail_msg("the error message '%s' does not name '%s'", m ? m : "(none)", what);
}

static bool user_exists(callrole *c, const char *name) {
        callrole_reply *rep = NULL;
        int r = callrole_user_get(c, name, &rep);
        if (r == -ENOENT)
                return false;
        if (r < 0)
                fail_msg("user.get %s: %s (%s)", name, strerror(-r), callrole_last_error(c) ?: "");
        assert_true(callrole_reply_n_records(rep) >= 1);
        callrole_reply_free(rep);
        return true;
}

/* What a refused change must leave as it was. */
typedef struct Fingerprint {
        char generation[32];
        char users[32], roles[32], accounts[32], permissions[32];
        size_t n_audit;
        char last_audit_id[32];
} Fingerprint;

static Fingerprint fingerprint(const TestDaemon *d) {
        callrole *c = client_new(d);
        callrole_reply *st = NULL, *au;
        Fingerprint f = {};
        size_t n;

        assert_int_equal(callrole_status(c, &st), 0);
        assert_int_equal(callrole_reply_n_records(st), 1);
        snprintf(f.generation, sizeof(f.generation), "%s", rget(st, 0, "generation"));
        snprintf(f.users, sizeof(f.users), "%s", rget(st, 0, "users"));
        snprintf(f.roles, sizeof(f.roles), "%s", rget(st, 0, "roles"));
        snprintf(f.accounts, sizeof(f.accounts), "%s", rget(st, 0, "accounts"));
        snprintf(f.permissions, sizeof(f.permissions), "%s", rget(st, 0, "permissions"));
        callrole_reply_free(st);
        au = must_call(c, "audit", "limit", "10000", NULL);
        n = callrole_reply_n_records(au);
        f.n_audit = n;
        snprintf(f.last_audit_id, sizeof(f.last_audit_id), "%s", n ? rget(au, n - 1, "id") : "0");
        callrole_reply_free(au);
        callrole_free(c);
        return f;
}

static void assert_unchanged(const TestDaemon *d, const Fingerprint *before) {
        Fingerprint now = fingerprint(d);
        assert_string_equal(now.generation, before->generation);
        assert_string_equal(now.users, before->users);
        assert_string_equal(now.roles, before->roles);
        assert_string_equal(now.accounts, before->accounts);
        assert_string_equal(now.permissions, before->permissions);
        assert_int_equal(now.n_audit, before->n_audit);
        assert_string_equal(now.last_audit_id, before->last_audit_id);
}

/* Audit records after id `after` (as a string), oldest first. */
static callrole_reply *audit_after(callrole *c, const char *after) {
        return must_call(c, "audit", "after", after, "limit", "10000", NULL);
}

/* ---- raw socket helpers ------------------------------------------------- */

typedef struct Frame {
        struct cr_header h;
        uint8_t *payload;
} Frame;

static void frame_done(Frame *f) {
        free(f->payload);
        f->payload = NULL;
}

static int raw_read_frame(int fd, Frame *f) {
        uint8_t hdr[CR_HEADER_SIZE];
        int r;

        *f = (Frame) {};
        r = raw_read_exact(fd, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        r = cr_header_decode(hdr, sizeof(hdr), CR_REPLY_MAX, &f->h);
        if (r < 0)
                return r;
        f->payload = malloc(f->h.length ? f->h.length : 1);
        assert_non_null(f->payload);
        r = raw_read_exact(fd, f->payload, f->h.length);
        if (r < 0)
                frame_done(f);
        return r;
}

static void must_read_frame(int fd, Frame *f) {
        int r = raw_read_frame(fd, f);
        if (r < 0)
                fail_msg("reading a reply frame: %s", strerror(-r));
}

/* Reads an ERROR reply: id (unless check_id is false), errno, a message. */
static void expect_error_frame(int fd, bool check_id, uint32_t id, int error) {
        struct cr_cursor cur;
        char *msg = NULL;
        int32_t e;
        Frame f;

        must_read_frame(fd, &f);
        assert_int_equal(f.h.type, CR_MSG_ERROR);
        if (check_id)
                assert_int_equal(f.h.id, id);
        cr_cursor_init(&cur, f.payload, f.h.length);
        assert_int_equal(cr_get_i32(&cur, &e), 0);
        assert_int_equal(cr_get_str(&cur, CR_STR_MAX, &msg), 0);
        assert_int_equal(cr_cursor_end(&cur), 0);
        if (e != -error)
                fail_msg("expected error %d (%s), got %d (%s): %s", -error, strerror(error), e, strerror(-e), msg);
        assert_true(strlen(msg) > 0);
        free(msg);
        frame_done(&f);
}

/* The daemon closed the connection: EOF (or a reset), not a timeout and no
 * further bytes. */
static void expect_closed(int fd) {
        uint8_t b;
        ssize_t k;
        do
                k = recv(fd, &b, 1, 0);
        while (k < 0 && errno == EINTR);
        if (k > 0)
                fail_msg("the daemon sent more after the error reply instead of closing");
        if (k < 0 && errno != ECONNRESET)
                fail_msg("the daemon did not close the connection: %s", strerror(errno));
}

/* Appends to all one CHECK frame. */
static void put_check_frame(struct cr_buf *all, uint32_t id, uint32_t flags, const char *user, const char *perm,
                            const char *account) {
        struct cr_buf b;
        cr_buf_init(&b, CR_HEADER_SIZE + CR_REQUEST_MAX);
        cr_frame_begin(&b, CR_MSG_CHECK, id);
        cr_put_prefix(&b, flags, "");
        cr_put_check(&b, user, perm, account, NULL, NULL, 0);
        assert_int_equal(cr_frame_end(&b), 0);
        cr_put_bytes(all, b.data, b.len);
        cr_buf_done(&b);
        assert_int_equal(cr_buf_error(all), 0);
}

static void expect_decision_frame(int fd, uint32_t id, bool allowed, int reason) {
        struct cr_decision d = {};
        struct cr_cursor cur;
        Frame f;

        must_read_frame(fd, &f);
        if (f.h.type == CR_MSG_ERROR) {
                int32_t e = 0;
                cr_cursor_init(&cur, f.payload, f.h.length);
                (void) cr_get_i32(&cur, &e);
                fail_msg("request %u: expected a decision, got error %d (%s)", id, e, strerror(-e));
        }
        if (f.h.type != CR_MSG_DECISION)
                fail_msg("request %u: expected a decision, got a frame of type %u for request %u", id, f.h.type, f.h.id);
        assert_int_equal(f.h.type, CR_MSG_DECISION);
        assert_int_equal(f.h.id, id);
        cr_cursor_init(&cur, f.payload, f.h.length);
        assert_int_equal(cr_get_decision(&cur, &d), 0);
        assert_int_equal(cr_cursor_end(&cur), 0);
        assert_int_equal(d.allowed, allowed);
        assert_int_equal(d.reason, reason);
        cr_decision_clear(&d);
        frame_done(&f);
}

/* ======================================================================== */
/* start: first start, status, restart, databases that cannot be used       */
/* ======================================================================== */

static const char *const builtin_permissions[] = {
        "login", "softphone.use", "calls.view", "calls.listen", "calls.export", "texts.view", "texts.send",
        "reports.view_tab", "reports.missed_opportunities.view", "reports.edit", "numbers.view", "numbers.purchase",
        "numbers.request", "numbers.port", "users.view", "users.create", "users.edit", "users.delete",
        "billing.invoices.view", "billing.payment.edit", "recordings.configure", "integrations.edit", "settings.edit",
        "agency.settings.edit", "agency.accounts.create", "agency.cancel", "call_monitor.join", "campaigns.manage",
        "contacts.edit", "analytics.view",
};

/* Each start test has a daemon of its own, stopped and removed by the
 * teardown even when the test fails half-way. */
static int own_daemon_setup(void **state) {
        TestDaemon *d = calloc(1, sizeof(TestDaemon));
        if (!d)
                return -1;
        if (test_daemon_start(d, NULL) < 0) {
                test_daemon_cleanup(d);
                free(d);
                return -1;
        }
        *state = d;
        return 0;
}

static int own_daemon_teardown(void **state) {
        TestDaemon *d = *state;
        if (d) {
                test_daemon_cleanup(d);
                free(d);
        }
        return 0;
}

static void test_start_creates_database(void **state) {
        TestDaemon *d = *state;
        char head[16];
        callrole *c;
        callrole_reply *rep = NULL;
        struct stat st;
        FILE *f;

        assert_int_equal(stat(d->db, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_true(st.st_size > 0);
        f = fopen(d->db, "re");
        assert_non_null(f);
        assert_int_equal(fread(head, 1, sizeof(head), f), sizeof(head));
        fclose(f);
        assert_memory_equal(head, "SQLite format 3", 16);

        /* A fresh database holds the built-in catalogue and the default
         * account, and nothing else. */
        c = client_new(d);
        rep = must_call(c, "permission.list", NULL);
        assert_int_equal(callrole_reply_n_records(rep), sizeof(builtin_permissions) / sizeof(builtin_permissions[0]));
        for (size_t i = 0; i < sizeof(builtin_permissions) / sizeof(builtin_permissions[0]); i++) {
                const callrole_record *p = find_rec(rep, "name", builtin_permissions[i]);
                if (!p)
                        fail_msg("built-in permission %s missing from a fresh database", builtin_permissions[i]);
                assert_string_equal(callrole_record_get(p, "builtin"), "yes");
        }
        callrole_reply_free(rep);
        rep = must_call(c, "account.list", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "name"), "default");
        assert_string_equal(rget(rep, 0, "parent"), "");
        callrole_reply_free(rep);
        rep = must_call(c, "user.list", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 0);
        callrole_reply_free(rep);
        rep = must_call(c, "audit", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 0);
        callrole_reply_free(rep);
        callrole_free(c);
        assert_int_equal(test_daemon_stop(d), 0);
}

static void assert_uint_string(const char *s) {
        char *end;
        assert_non_null(s);
        assert_true(*s != 0);
        errno = 0;
        (void) strtoull(s, &end, 10);
        assert_int_equal(errno, 0);
        assert_true(*end == 0);
}

static void test_status_fields(void **state) {
        static const char *const fields[] = { "version", "generation", "users", "roles", "accounts", "permissions",
                                              "requests", "connections", "uptime", "database", "peer-uid",
                                              "peer-user", "peer-admin" };
        TestDaemon *d = *state;
        callrole *c;
        callrole_reply *rep = NULL, *perms, *accts;
        char uid[32], n[32];
        const callrole_record *r;

        c = client_new(d);
        assert_int_equal(callrole_status(c, &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        r = rec_at(rep, 0);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if (!callrole_record_get(r, fields[i]))
                        fail_msg("status lacks the field '%s'", fields[i]);
        assert_string_equal(callrole_record_get(r, "version"), CALLROLE_VERSION);
        assert_string_equal(callrole_record_get(r, "database"), d->db);
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        assert_string_equal(callrole_record_get(r, "peer-uid"), uid);
        assert_string_equal(callrole_record_get(r, "peer-user"), my_user_name());
        assert_string_equal(callrole_record_get(r, "peer-admin"), "yes");
        assert_string_equal(callrole_record_get(r, "users"), "0");
        assert_string_equal(callrole_record_get(r, "roles"), "0");
        assert_uint_string(callrole_record_get(r, "generation"));
        assert_uint_string(callrole_record_get(r, "requests"));
        assert_uint_string(callrole_record_get(r, "connections"));
        assert_uint_string(callrole_record_get(r, "uptime"));
        assert_true(strtoull(callrole_record_get(r, "requests"), NULL, 10) >= 1);
        assert_true(strtoull(callrole_record_get(r, "connections"), NULL, 10) >= 1);

        /* The counts agree with the lists. */
        perms = must_call(c, "permission.list", NULL);
        snprintf(n, sizeof(n), "%zu", callrole_reply_n_records(perms));
        assert_string_equal(callrole_record_get(r, "permissions"), n);
        accts = must_call(c, "account.list", NULL);
        snprintf(n, sizeof(n), "%zu", callrole_reply_n_records(accts));
        assert_string_equal(callrole_record_get(r, "accounts"), n);
        callrole_reply_free(perms);
        callrole_reply_free(accts);
        callrole_reply_free(rep);

        /* A change moves the generation and the counts. */
        {
                callrole_reply *st = NULL;
                unsigned long long g0, g1;
                assert_int_equal(callrole_status(c, &st), 0);
                g0 = strtoull(rget(st, 0, "generation"), NULL, 10);
                callrole_reply_free(st);
                MUST(c, "role.add", "role", "st-role", "rank", "10", "grants", "login", NULL);
                MUST(c, "user.add", "name", "st-user", "role", "st-role", NULL);
                assert_int_equal(callrole_status(c, &st), 0);
                g1 = strtoull(rget(st, 0, "generation"), NULL, 10);
                assert_true(g1 >= g0 + 2);
                assert_string_equal(rget(st, 0, "users"), "1");
                assert_string_equal(rget(st, 0, "roles"), "1");
                callrole_reply_free(st);
        }
        callrole_free(c);
}

static void test_restart_keeps_data(void **state) {
        TestDaemon *d = *state;
        callrole *c;
        callrole_reply *rep = NULL;

        c = client_new(d);
        MUST(c, "role.add", "role", "rs-role", "rank", "10", "title", "Restart Role", "grants", "login", "grants",
             "calls.view@assigned", NULL);
        rep = must_call(c, "user.add", "name", "rs-alice", "role", "rs-role", "groups", "g1", "display-name",
                        "Restart Alice", NULL);
        /* Acknowledged: now it must survive a stop. */
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "dry-run"), "no");
        callrole_reply_free(rep);
        callrole_free(c);

        assert_int_equal(test_daemon_stop(d), 0);
        assert_int_equal(test_daemon_restart(d, NULL), 0);

        c = client_new(d);
        assert_int_equal(callrole_user_get(c, "rs-alice", &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "role"), "rs-role");
        assert_string_equal(rget(rep, 0, "display-name"), "Restart Alice");
        assert_string_equal(rjoin(rec_at(rep, 0), "groups"), "g1");
        callrole_reply_free(rep);
        assert_int_equal(callrole_check(c, "rs-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(c, "rs-alice", "calls.view", NULL,
                                        (callrole_attr[]) { { "assignee", "someone-else" } }, 1, NULL),
                         0);
        rep = must_call(c, "role.get", "role", "rs-role", NULL);
        assert_string_equal(rget(rep, 0, "title"), "Restart Role");
        assert_string_equal(sorted_values(rec_at(rep, 0), "grants"), "calls.view@assigned,login");
        callrole_reply_free(rep);
        /* And so does the audit. */
        rep = must_call(c, "audit", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 2);
        assert_string_equal(rget(rep, 0, "action"), "role.add");
        assert_string_equal(rget(rep, 1, "action"), "user.add");
        assert_string_equal(rget(rep, 1, "target"), "user rs-alice");
        callrole_reply_free(rep);
        callrole_free(c);

        /* A crash (SIGKILL) after the acknowledgement loses nothing either. */
        c = client_new(d);
        MUST(c, "user.add", "name", "rs-bob", "role", "rs-role", NULL);
        callrole_free(c);
        test_daemon_kill(d, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
        assert_int_equal(test_daemon_restart(d, NULL), 0);
        c = client_new(d);
        assert_true(user_exists(c, "rs-bob"));
        assert_true(user_exists(c, "rs-alice"));
        callrole_free(c);
}

/* Runs callroled to completion (it is expected to refuse to start) with its
 * output appended to log; as uid drop_uid when that is not (uid_t) -1.
 * Returns its exit status (128+signal if killed), failing the test if it
 * does not exit within 10 s. */
static int run_daemon_to_exit(const char *socket, const char *db, const char *log, uid_t drop_uid) {
        char exe[512], profiles[512];
        int status = 0;
        pid_t pid;

        snprintf(exe, sizeof(exe), "%s/callroled", test_build_dir());
        snprintf(profiles, sizeof(profiles), "%s/profiles", test_source_dir());
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd < 0)
                        _exit(125);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                unsetenv("NOTIFY_SOCKET");
                if (drop_uid != (uid_t) -1 &&
                    (setgroups(0, NULL) < 0 || setresgid(drop_uid, drop_uid, drop_uid) < 0 ||
                     setresuid(drop_uid, drop_uid, drop_uid) < 0))
                        _exit(126);
                execl(exe, exe, "--foreground", "--socket", socket, "--db", db, "--profile-dir", profiles,
                      (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 1000; i++) {
                if (waitpid(pid, &status, WNOHANG) == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                usleep(10000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("callroled kept running on %s instead of refusing to start", db);
        return -1;
}

static bool socket_connects(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok;
        assert_true(fd >= 0);
        memcpy(sa.sun_path, path, strlen(path));
        ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        close(fd);
        return ok;
}

static void assert_log_names(const char *log, const char *what) {
        char *text = read_file(log, NULL);
        assert_non_null(text);
        if (!strstr(text, what))
                fail_msg("the daemon's log does not name %s:\n%s", what, text);
        free(text);
}

/* A value longer than the protocol's 4096-byte strings (a role granted 400
 * permissions describes itself at about 5 KB) is cut and marked in the
 * reply, in a change's effect and in the audit; the change is made whole,
 * and the reply says so instead of failing (it used to be refused as E2BIG
 * after the profile had been loaded). */
static void test_long_values_cut(void **state) {
        enum { N = 400 };
        char dir[] = "/tmp/test-daemon-profiles-XXXXXX", path[256], perm[64];
        const char *extra[] = { "--profile-dir", dir, NULL };
        const callrole_record *role_rec = NULL;
        callrole_reply *rep = NULL;
        TestDaemon d = {};
        callrole *c;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/wide.profile", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "profile wide \"Wide\"\n");
        for (int i = 0; i < N; i++)
                fprintf(f, "permission wide.permission%03d \"Permission %d\"\n", i, i);
        fprintf(f, "role wide-role 10 \"Wide Role\"\n");
        for (int i = 0; i < N; i++)
                fprintf(f, "%swide.permission%03d%s", i % 200 == 0 ? "grant " : "", i, i % 200 == 199 ? "\n" : " ");
        assert_int_equal(fclose(f), 0);
        assert_int_equal(test_daemon_start(&d, extra), 0);
        c = client_new(&d);

        rep = must_call(c, "profile.load", "name", "wide", NULL);
        assert_int_equal(callrole_reply_n_records(rep), N + 1);
        for (size_t i = 0; i < callrole_reply_n_records(rep); i++) {
                const callrole_record *r = callrole_reply_record(rep, i);
                for (size_t k = 0; k < callrole_record_n_fields(r); k++)
                        for (size_t v = 0; v < callrole_record_n_values(r, k); v++)
                                assert_true(strlen(callrole_record_value(r, k, v)) <= CR_STR_MAX);
                if (callrole_record_get(r, "action") && strcmp(callrole_record_get(r, "action"), "role.add") == 0)
                        role_rec = r;
        }
        assert_non_null(role_rec);
        assert_true(strlen(callrole_record_get(role_rec, "after")) > CR_STR_MAX - 100);
        assert_non_null(strstr(callrole_record_get(role_rec, "after"), "(cut at the protocol's 4096-byte string limit)"));
        callrole_reply_free(rep);

        /* Made whole: the last grant is there. */
        MUST(c, "user.add", "name", "wide-user", "role", "wide-role", NULL);
        snprintf(perm, sizeof perm, "wide.permission%03d", N - 1);
        assert_int_equal(callrole_check(c, "wide-user", perm, NULL, NULL, 0, NULL), 1);

        /* The audit can be read, with the same cut. */
        rep = must_call(c, "audit", "limit", "10000", NULL);
        role_rec = find_rec(rep, "target", "role default/wide-role");
        assert_non_null(role_rec);
        assert_true(strlen(callrole_record_get(role_rec, "after")) <= CR_STR_MAX);
        assert_non_null(strstr(callrole_record_get(role_rec, "after"), "(cut at the protocol's 4096-byte string limit)"));
        callrole_reply_free(rep);

        callrole_free(c);
        test_daemon_cleanup(&d);
        test_rm_rf(dir);
}

/* A database moved away or replaced (a backup restored with mv) while the
 * daemon has it open: changes would go to a file nobody will see again, so
 * they are refused, with the reason, and checks go on being answered. */
static void test_replaced_database(void **state) {
        TestDaemon *d = *state;
        char copy[400], cmd[2048];
        callrole *c;
        Fingerprint before;
        int r;

        c = client_new(d);
        MUST(c, "role.add", "role", "rp-role", "rank", "10", "grants", "login", NULL);
        MUST(c, "user.add", "name", "rp-alice", "role", "rp-role", NULL);
        snprintf(copy, sizeof(copy), "%s.copy", d->db);
        snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && mv '%s' '%s'", d->db, copy, copy, d->db);
        assert_int_equal(system(cmd), 0);
        before = fingerprint(d);

        r = call(c, NULL, "user.add", "name", "rp-bob", "role", "rp-role", NULL);
        assert_int_equal(r, -EROFS);
        assert_non_null(strstr(callrole_last_error(c), "replaced"));
        assert_non_null(strstr(callrole_last_error(c), "restart"));
        assert_int_equal(callrole_check(c, "rp-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(c, "rp-bob", "login", NULL, NULL, 0, NULL), 0);
        assert_unchanged(d, &before);
        callrole_free(c);
}

static void test_garbage_database(void **state) {
        TestDaemon *d = *state;
        char garbage[8192], *after;
        size_t len;
        int status;

        /* The helper makes the folder; the daemon it started is stopped
         * again and its database replaced by garbage. */
        assert_int_equal(test_daemon_stop(d), 0);
        for (size_t i = 0; i < sizeof(garbage); i++)
                garbage[i] = "this is not a database, just text\n"[i % 34];
        unlink(d->db);
        {
                char p[400];
                snprintf(p, sizeof(p), "%s-wal", d->db);
                unlink(p);
                snprintf(p, sizeof(p), "%s-shm", d->db);
                unlink(p);
        }
        write_file(d->db, garbage, sizeof(garbage));
        assert_int_equal(truncate(d->log, 0), 0);

        status = run_daemon_to_exit(d->socket, d->db, d->log, (uid_t) -1);
        assert_true(status != 0);
        assert_log_names(d->log, d->db);
        assert_false(socket_connects(d->socket));
        /* The file it refused is left exactly as it was. */
        after = read_file(d->db, &len);
        assert_non_null(after);
        assert_int_equal(len, sizeof(garbage));
        assert_memory_equal(after, garbage, sizeof(garbage));
        free(after);

        /* Through the helper too: the daemon never answers. */
        assert_int_equal(test_daemon_restart(d, NULL), -ECHILD);
}

static void test_database_in_missing_folder(void **state) {
        TestDaemon *d = *state;
        char db[400];
        int status;

        assert_int_equal(test_daemon_stop(d), 0);
        snprintf(db, sizeof(db), "%s/no-such-folder/deeper/roles.db", d->dir);
        assert_int_equal(truncate(d->log, 0), 0);
        status = run_daemon_to_exit(d->socket, db, d->log, (uid_t) -1);
        assert_true(status != 0);
        assert_log_names(d->log, db);
        assert_false(socket_connects(d->socket));
}

static void test_database_in_unwritable_folder(void **state) {
        TestDaemon *d = *state;
        char ro[400], db[512];
        uid_t drop = (uid_t) -1;
        struct stat st;
        int status;

        assert_int_equal(test_daemon_stop(d), 0);
        snprintf(ro, sizeof(ro), "%s/read-only", d->dir);
        snprintf(db, sizeof(db), "%s/roles.db", ro);
        assert_int_equal(mkdir(ro, 0555), 0);
        assert_int_equal(chmod(ro, 0555), 0);
        if (getuid() == 0) {
                /* Root writes anywhere: run the daemon as nobody, for whom
                 * the folder (root's, 0555) is read-only. */
                drop = NOBODY_UID;
                assert_int_equal(chmod(d->dir, 0755), 0);
                assert_int_equal(chmod(d->log, 0666), 0);
        }
        assert_int_equal(truncate(d->log, 0), 0);
        status = run_daemon_to_exit(d->socket, db, d->log, drop);
        assert_true(status != 0 && status != 125 && status != 126 && status != 127);
        assert_log_names(d->log, db);
        assert_true(stat(db, &st) < 0 && errno == ENOENT);
        assert_false(socket_connects(d->socket));
}

/* ======================================================================== */
/* wire: hostile and clumsy clients on raw sockets                          */
/* ======================================================================== */

static TestDaemon wire_daemon;

static int wire_setup(void **state) {
        callrole *c;

        if (test_daemon_start(&wire_daemon, NULL) < 0)
                return -1;
        c = client_new(&wire_daemon);
        MUST(c, "role.add", "role", "wire-role", "rank", "10", "grants", "login", "grants", "calls.view", NULL);
        MUST(c, "user.add", "name", "wire-alice", "role", "wire-role", NULL);
        MUST(c, "user.add", "name", "wire-bob", "role", "wire-role", "enabled", "no", NULL);
        callrole_free(c);
        return 0;
}

static int wire_teardown(void **state) {
        test_daemon_cleanup(&wire_daemon);
        return 0;
}

/* After every hostile client: the daemon lives and a well-behaved client,
 * on a new connection, gets correct answers. */
static void assert_daemon_serves(TestDaemon *d) {
        callrole *c;
        callrole_decision *dec = NULL;

        assert_daemon_alive(d);
        c = client_new(d);
        assert_int_equal(callrole_check(c, "wire-alice", "calls.view", NULL, NULL, 0, &dec), 1);
        assert_string_equal(callrole_decision_role(dec), "wire-role");
        assert_string_equal(callrole_decision_account(dec), "default");
        callrole_decision_free(dec);
        assert_int_equal(callrole_check(c, "wire-bob", "calls.view", NULL, NULL, 0, &dec), 0);
        assert_int_equal(callrole_decision_reason(dec), CALLROLE_REASON_DISABLED);
        callrole_decision_free(dec);
        callrole_free(c);
}

static void test_wire_valid_frames(void **state) {
        struct cr_buf b;
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        Frame f;

        /* A hand-built check, then a status on the same connection: the
         * connection stays open between requests. */
        cr_buf_init(&b, 1 << 20);
        put_check_frame(&b, 0x01020304, 0, "wire-alice", "calls.view", "");
        raw_write(fd, b.data, b.len);
        expect_decision_frame(fd, 0x01020304, true, CR_REASON_NONE);
        b.len = 0;
        put_check_frame(&b, 0xfffffffe, 0, "wire-nosuch", "calls.view", "");
        raw_write(fd, b.data, b.len);
        expect_decision_frame(fd, 0xfffffffe, false, CR_REASON_NO_SUCH_USER);
        cr_buf_done(&b);

        cr_buf_init(&b, 1 << 20);
        cr_frame_begin(&b, CR_MSG_STATUS, 9);
        cr_put_prefix(&b, 0, "");
        cr_put_u16(&b, 0);   /* an empty record */
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        must_read_frame(fd, &f);
        assert_int_equal(f.h.type, CR_MSG_RECORDS);
        assert_int_equal(f.h.id, 9);
        {
                struct cr_records l = {};
                struct cr_cursor cur;
                cr_cursor_init(&cur, f.payload, f.h.length);
                assert_int_equal(cr_get_records(&cur, &l), 0);
                assert_int_equal(cr_cursor_end(&cur), 0);
                assert_int_equal(l.n, 1);
                assert_non_null(cr_record_get(&l.items[0], "generation"));
                cr_records_clear(&l);
        }
        frame_done(&f);
        cr_buf_done(&b);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void send_header(int fd, uint8_t m0, uint8_t m1, uint8_t version, uint8_t type, uint32_t id, uint32_t len) {
        uint8_t h[CR_HEADER_SIZE];
        cr_header_encode(h, type, id, len);
        h[0] = m0;
        h[1] = m1;
        h[2] = version;
        raw_write(fd, h, sizeof(h));
}

static void test_wire_bad_magic(void **state) {
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'X', 'Y', CR_WIRE_VERSION, CR_MSG_STATUS, 11, 0);
        expect_error_frame(fd, false, 0, EBADMSG);
        expect_closed(fd);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_bad_version(void **state) {
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'C', 'R', CR_WIRE_VERSION + 1, CR_MSG_STATUS, 12, 0);
        expect_error_frame(fd, true, 12, EPROTONOSUPPORT);
        expect_closed(fd);
        close(fd);
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'C', 'R', 0, CR_MSG_CHECK, 13, 4);
        expect_error_frame(fd, true, 13, EPROTONOSUPPORT);
        expect_closed(fd);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_oversized(void **state) {
        int fd;
        uint8_t junk[65536];

        /* 4 GiB announced: refused from the header alone, without waiting
         * for (or making room for) a byte of payload. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'C', 'R', CR_WIRE_VERSION, CR_MSG_CHECK, 21, 0xFFFFFFFFu);
        expect_error_frame(fd, true, 21, EMSGSIZE);
        expect_closed(fd);
        close(fd);

        /* The same, with payload bytes following the header. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        memset(junk, 0xab, sizeof(junk));
        send_header(fd, 'C', 'R', CR_WIRE_VERSION, CR_MSG_USER_ADD, 22, 0xFFFFFFFFu);
        (void) send(fd, junk, sizeof(junk), MSG_NOSIGNAL | MSG_DONTWAIT);
        expect_error_frame(fd, true, 22, EMSGSIZE);
        expect_closed(fd);
        close(fd);

        /* One byte over the limit. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'C', 'R', CR_WIRE_VERSION, CR_MSG_CHECK, 23, CR_REQUEST_MAX + 1);
        expect_error_frame(fd, true, 23, EMSGSIZE);
        expect_closed(fd);
        close(fd);

        /* Exactly the limit is a frame the daemon reads: 256 KiB of zeros is
         * a check with empty strings and a quarter megabyte of trailing
         * bytes, so malformed, not oversized. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        {
                uint8_t *big = calloc(1, CR_REQUEST_MAX);
                assert_non_null(big);
                send_header(fd, 'C', 'R', CR_WIRE_VERSION, CR_MSG_CHECK, 24, CR_REQUEST_MAX);
                raw_write(fd, big, CR_REQUEST_MAX);
                free(big);
        }
        expect_error_frame(fd, true, 24, EBADMSG);
        expect_closed(fd);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_unknown_type(void **state) {
        static const uint8_t types[] = { 0x7f, 0x00, 0xff, CR_MSG_DECISION, CR_MSG_ERROR, CR_MSG_RECORDS, 0x3c };

        for (size_t i = 0; i < sizeof(types); i++) {
                int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
                struct cr_buf b;

                /* A well-formed prefix and empty record, so only the type
                 * is wrong. */
                cr_buf_init(&b, 4096);
                cr_frame_begin(&b, types[i], 30 + (uint32_t) i);
                cr_put_prefix(&b, 0, "");
                cr_put_u16(&b, 0);
                assert_int_equal(cr_frame_end(&b), 0);
                raw_write(fd, b.data, b.len);
                cr_buf_done(&b);
                expect_error_frame(fd, true, 30 + (uint32_t) i, EOPNOTSUPP);
                expect_closed(fd);
                close(fd);
        }

        /* The type is in the header, so (like a bad magic or version) it is
         * refused from the header: the daemon does not wait for, nor buffer,
         * a payload it will throw away. */
        {
                int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
                uint64_t t0 = now_msec();
                send_header(fd, 'C', 'R', CR_WIRE_VERSION, 0x7f, 39, 1000);
                expect_error_frame(fd, true, 39, EOPNOTSUPP);
                expect_closed(fd);
                assert_true(now_msec() - t0 < 2000);
                close(fd);
        }
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_truncated_payload(void **state) {
        uint8_t ten[10] = { 0 };
        int fd, fd2;
        uint64_t t0;

        /* Announce 100, send 10, hang up. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'C', 'R', CR_WIRE_VERSION, CR_MSG_CHECK, 40, 100);
        raw_write(fd, ten, sizeof(ten));
        close(fd);
        assert_daemon_serves(&wire_daemon);

        /* Announce 100, send 10, and stay: others are served meanwhile,
         * promptly. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'C', 'R', CR_WIRE_VERSION, CR_MSG_CHECK, 41, 100);
        raw_write(fd, ten, sizeof(ten));
        t0 = now_msec();
        for (int i = 0; i < 5; i++)
                assert_daemon_serves(&wire_daemon);
        assert_true(now_msec() - t0 < 2000);
        /* Half a header, too. */
        fd2 = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        raw_write(fd2, "CR\x01", 3);
        assert_daemon_serves(&wire_daemon);
        close(fd2);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_trailing_bytes(void **state) {
        struct cr_buf b;
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);

        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_CHECK, 50);
        cr_put_prefix(&b, 0, "");
        cr_put_check(&b, "wire-alice", "calls.view", "", NULL, NULL, 0);
        cr_put_u8(&b, 0);   /* one byte too many */
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 50, EBADMSG);
        expect_closed(fd);
        close(fd);

        /* The same for a record-shaped request. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_STATUS, 51);
        cr_put_prefix(&b, 0, "");
        cr_put_u16(&b, 0);
        cr_put_u32(&b, 0xdeadbeef);
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 51, EBADMSG);
        expect_closed(fd);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_embedded_nul(void **state) {
        static const char user[] = "wire-alice\0x";
        struct cr_buf b;
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);

        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_CHECK, 60);
        cr_put_prefix(&b, 0, "");
        cr_put_u16(&b, (uint16_t) (sizeof(user) - 1));
        cr_put_bytes(&b, user, sizeof(user) - 1);
        cr_put_str(&b, "calls.view");
        cr_put_str(&b, "");
        cr_put_u8(&b, 0);
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 60, EBADMSG);
        expect_closed(fd);
        close(fd);

        /* In a record value of a change: refused, and nothing is added. */
        {
                Fingerprint fp = fingerprint(&wire_daemon);
                static const char name[] = "wire-n\0ul";
                callrole *c;

                fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
                cr_buf_init(&b, 4096);
                cr_frame_begin(&b, CR_MSG_USER_ADD, 61);
                cr_put_prefix(&b, 0, "");
                cr_put_u16(&b, 2);
                cr_put_str(&b, "name");
                cr_put_u16(&b, 1);
                cr_put_u16(&b, (uint16_t) (sizeof(name) - 1));
                cr_put_bytes(&b, name, sizeof(name) - 1);
                cr_put_str(&b, "role");
                cr_put_u16(&b, 1);
                cr_put_str(&b, "wire-role");
                assert_int_equal(cr_frame_end(&b), 0);
                raw_write(fd, b.data, b.len);
                cr_buf_done(&b);
                expect_error_frame(fd, true, 61, EBADMSG);
                expect_closed(fd);
                close(fd);
                assert_unchanged(&wire_daemon, &fp);
                c = client_new(&wire_daemon);
                assert_false(user_exists(c, "wire-n"));
                callrole_free(c);
        }
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_malformed_prefix_and_record(void **state) {
        struct cr_buf b;
        int fd;

        /* Unknown flag bits. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 4096);
        put_check_frame(&b, 70, 0x80, "wire-alice", "calls.view", "");
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 70, EBADMSG);
        expect_closed(fd);
        close(fd);

        /* A record announcing a field that is not there. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_USER_GET, 71);
        cr_put_prefix(&b, 0, "");
        cr_put_u16(&b, 1);
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 71, EBADMSG);
        expect_closed(fd);
        close(fd);

        /* A string length running past the end of the frame. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_CHECK, 72);
        cr_put_prefix(&b, 0, "");
        cr_put_u16(&b, 4000);
        cr_put_bytes(&b, "wire", 4);
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 72, EBADMSG);
        expect_closed(fd);
        close(fd);

        /* An empty payload where the prefix is due. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        send_header(fd, 'C', 'R', CR_WIRE_VERSION, CR_MSG_STATUS, 73, 0);
        expect_error_frame(fd, true, 73, EBADMSG);
        expect_closed(fd);
        close(fd);

        /* A batch announcing more checks than the limit. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_CHECK_BATCH, 74);
        cr_put_prefix(&b, 0, "");
        cr_put_u16(&b, CR_BATCH_MAX + 1);
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 74, EBADMSG);
        expect_closed(fd);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_byte_at_a_time(void **state) {
        struct cr_buf b;
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);

        cr_buf_init(&b, 4096);
        put_check_frame(&b, 80, 0, "wire-alice", "calls.view", "");
        put_check_frame(&b, 81, 0, "wire-bob", "calls.view", "");
        for (size_t i = 0; i < b.len; i++) {
                raw_write(fd, b.data + i, 1);
                usleep(1000);
        }
        cr_buf_done(&b);
        expect_decision_frame(fd, 80, true, CR_REASON_NONE);
        expect_decision_frame(fd, 81, false, CR_REASON_DISABLED);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_pipelining(void **state) {
        enum { N = 50 };
        struct cr_buf b;
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);

        cr_buf_init(&b, 1 << 20);
        for (uint32_t i = 0; i < N; i++)
                put_check_frame(&b, 5000 + i * 7, 0, i % 3 == 0 ? "wire-alice" : i % 3 == 1 ? "wire-bob" : "wire-none",
                                i % 2 ? "calls.view" : "login", "");
        /* All in one write. */
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        for (uint32_t i = 0; i < N; i++)
                expect_decision_frame(fd, 5000 + i * 7, i % 3 == 0,
                                      i % 3 == 0 ? CR_REASON_NONE
                                      : i % 3 == 1 ? CR_REASON_DISABLED
                                                   : CR_REASON_NO_SUCH_USER);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

/* A malformed frame in the middle of a pipeline: the ones before it are
 * answered, it gets its error, and the connection closes without answering
 * what followed it. */
static void test_wire_pipeline_with_bad_frame(void **state) {
        struct cr_buf b, bad;
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);

        cr_buf_init(&b, 1 << 20);
        for (uint32_t i = 0; i < 5; i++)
                put_check_frame(&b, 100 + i, 0, "wire-alice", "login", "");
        cr_buf_init(&bad, 4096);
        cr_frame_begin(&bad, CR_MSG_CHECK, 105);
        cr_put_prefix(&bad, 0, "");
        cr_put_check(&bad, "wire-alice", "login", "", NULL, NULL, 0);
        cr_put_u8(&bad, 1);
        assert_int_equal(cr_frame_end(&bad), 0);
        cr_put_bytes(&b, bad.data, bad.len);
        cr_buf_done(&bad);
        for (uint32_t i = 6; i < 10; i++)
                put_check_frame(&b, 100 + i, 0, "wire-alice", "login", "");
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        for (uint32_t i = 0; i < 5; i++)
                expect_decision_frame(fd, 100 + i, true, CR_REASON_NONE);
        expect_error_frame(fd, true, 105, EBADMSG);
        expect_closed(fd);
        close(fd);
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_disconnect_after_send(void **state) {
        struct cr_buf b;
        int fd;

        /* One request, gone before the answer. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 1 << 20);
        put_check_frame(&b, 90, 0, "wire-alice", "calls.view", "");
        raw_write(fd, b.data, b.len);
        close(fd);
        assert_daemon_serves(&wire_daemon);

        /* Many, with a reset instead of an orderly close. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        b.len = 0;
        for (uint32_t i = 0; i < 200; i++)
                put_check_frame(&b, 1000 + i, 0, "wire-alice", "calls.view", "");
        raw_write(fd, b.data, b.len);
        {
                struct linger l = { .l_onoff = 1, .l_linger = 0 };
                assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
        }
        close(fd);
        cr_buf_done(&b);
        assert_daemon_serves(&wire_daemon);

        /* A change, gone before the answer: it is applied whole or not at
         * all, and the daemon carries on. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_USER_ADD, 92);
        cr_put_prefix(&b, 0, "");
        cr_put_u16(&b, 2);
        cr_put_str(&b, "name");
        cr_put_u16(&b, 1);
        cr_put_str(&b, "wire-gone");
        cr_put_str(&b, "role");
        cr_put_u16(&b, 1);
        cr_put_str(&b, "wire-role");
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        close(fd);
        assert_daemon_serves(&wire_daemon);
        {
                callrole *c = client_new(&wire_daemon);
                callrole_reply *rep = NULL;
                /* Whole or not at all: the user and its audit record come
                 * and go together. */
                rep = must_call(c, "audit", "limit", "10000", NULL);
                if (user_exists(c, "wire-gone"))
                        assert_non_null(find_rec(rep, "target", "user wire-gone"));
                else
                        assert_null(find_rec(rep, "target", "user wire-gone"));
                callrole_reply_free(rep);
                callrole_free(c);
        }
}

/* Connections open at the daemon, not counting the one that asks, which
 * is flagged LAST: the daemon closes it before it serves anyone else, so
 * asking again never counts it. */
static unsigned long long open_connections(const TestDaemon *d) {
        callrole *c = client_new(d);
        callrole_reply *rep = NULL;
        unsigned long long n;

        assert_int_equal(callrole_set_keep_alive(c, 0), 0);
        assert_int_equal(callrole_status(c, &rep), 0);
        n = strtoull(rget(rep, 0, "connections"), NULL, 10);
        callrole_reply_free(rep);
        callrole_free(c);
        assert_true(n >= 1);
        return n - 1;
}

/* Connections open at the daemon, not counting the asker's, once they
 * settle: a connection whose last reply was held for a group commit is
 * freed one turn of the daemon's loop after that reply went out. */
static unsigned long long settled_connections(const TestDaemon *d, unsigned long long want) {
        unsigned long long n = open_connections(d);

        for (int i = 0; i < 500 && n != want; i++) {
                usleep(10 * 1000);
                n = open_connections(d);
        }
        return n;
}

/* Appends to all a user.add frame for NAME in wire-role. */
static void put_user_add_frame(struct cr_buf *all, uint32_t id, uint32_t flags, const char *name) {
        struct cr_buf b;

        cr_buf_init(&b, CR_HEADER_SIZE + CR_REQUEST_MAX);
        cr_frame_begin(&b, CR_MSG_USER_ADD, id);
        cr_put_prefix(&b, flags, "");
        cr_put_u16(&b, 2);
        cr_put_str(&b, "name");
        cr_put_u16(&b, 1);
        cr_put_str(&b, name);
        cr_put_str(&b, "role");
        cr_put_u16(&b, 1);
        cr_put_str(&b, "wire-role");
        assert_int_equal(cr_frame_end(&b), 0);
        cr_put_bytes(all, b.data, b.len);
        cr_buf_done(&b);
        assert_int_equal(cr_buf_error(all), 0);
}

/* CR_FLAG_LAST: the reply to the flagged request is the connection's last
 * word; the daemon closes it at once, answers nothing sent after it, and
 * keeps no connection open for it. */
static void test_wire_last_request(void **state) {
        struct cr_buf b;
        int fd;

        /* Earlier tests' connections go away in their own time. */
        assert_int_equal(settled_connections(&wire_daemon, 0), 0);

        /* Alone: answered, then closed (not left to the idle timeout, which
         * is far longer than IO_TIMEOUT_SEC). */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        cr_buf_init(&b, 1 << 20);
        put_check_frame(&b, 31, CR_FLAG_LAST, "wire-alice", "calls.view", "");
        raw_write(fd, b.data, b.len);
        expect_decision_frame(fd, 31, true, CR_REASON_NONE);
        expect_closed(fd);
        /* Gone at the daemon before our end is closed. */
        assert_int_equal(open_connections(&wire_daemon), 0);
        close(fd);

        /* Sent only once the daemon has accepted and is waiting on the
         * connection (not served at accept, but through its event loop). */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        assert_int_equal(settled_connections(&wire_daemon, 1), 1);
        b.len = 0;
        put_check_frame(&b, 32, CR_FLAG_LAST, "wire-alice", "login", "");
        raw_write(fd, b.data, b.len);
        expect_decision_frame(fd, 32, true, CR_REASON_NONE);
        expect_closed(fd);
        assert_int_equal(open_connections(&wire_daemon), 0);
        close(fd);

        /* In a pipeline: what came before it is answered, it is answered,
         * what came after it is not. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        b.len = 0;
        put_check_frame(&b, 41, 0, "wire-alice", "login", "");
        put_check_frame(&b, 42, CR_FLAG_LAST, "wire-bob", "login", "");
        put_check_frame(&b, 43, 0, "wire-alice", "login", "");
        raw_write(fd, b.data, b.len);
        expect_decision_frame(fd, 41, true, CR_REASON_NONE);
        expect_decision_frame(fd, 42, false, CR_REASON_DISABLED);
        expect_closed(fd);
        assert_int_equal(open_connections(&wire_daemon), 0);
        close(fd);

        /* A refusal is a reply like any other: the error, then the close. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        b.len = 0;
        put_check_frame(&b, 51, CR_FLAG_LAST, "wire-alice", "no.such.permission", "");
        raw_write(fd, b.data, b.len);
        expect_error_frame(fd, true, 51, ENOENT);
        expect_closed(fd);
        close(fd);

        /* A user change waits for its group's commit: the reply comes when
         * the change is on disk, and only then the close. */
        fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        b.len = 0;
        put_user_add_frame(&b, 61, CR_FLAG_LAST, "wire-last");
        raw_write(fd, b.data, b.len);
        {
                Frame f;
                must_read_frame(fd, &f);
                assert_int_equal(f.h.type, CR_MSG_RECORDS);
                assert_int_equal(f.h.id, 61);
                frame_done(&f);
        }
        expect_closed(fd);
        assert_int_equal(open_connections(&wire_daemon), 0);
        close(fd);
        cr_buf_done(&b);
        {
                callrole *c = client_new(&wire_daemon);
                assert_true(user_exists(c, "wire-last"));
                callrole_free(c);
        }
        assert_daemon_serves(&wire_daemon);
}

/* A client that half-closes after its requests (shutdown(SHUT_WR), as
 * `socat` or a shell pipe does) still gets every reply, over several of
 * the daemon's turns (more than MANAGER_FRAMES_PER_TURN frames) and a user
 * change's after its group commit, and then the close: not the idle
 * timeout, which is far longer than IO_TIMEOUT_SEC. */
static void test_wire_half_close(void **state) {
        enum { BEFORE = 40 };
        struct cr_buf b;
        int fd;

        cr_buf_init(&b, 1 << 20);
        for (int held = 0; held < 2; held++) {
                fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
                b.len = 0;
                for (uint32_t i = 0; i < BEFORE; i++)
                        put_check_frame(&b, 81 + 1000 * i, 0, "wire-alice", "login", "");
                if (held)
                        put_user_add_frame(&b, 82, 0, "wire-halfclosed");
                put_check_frame(&b, 83, 0, held ? "wire-halfclosed" : "wire-bob", "login", "");
                raw_write(fd, b.data, b.len);
                assert_int_equal(shutdown(fd, SHUT_WR), 0);
                for (uint32_t i = 0; i < BEFORE; i++)
                        expect_decision_frame(fd, 81 + 1000 * i, true, CR_REASON_NONE);
                if (held) {
                        Frame f;
                        must_read_frame(fd, &f);
                        assert_int_equal(f.h.type, CR_MSG_RECORDS);
                        assert_int_equal(f.h.id, 82);
                        frame_done(&f);
                }
                /* Served after the change: it sees the new user. */
                expect_decision_frame(fd, 83, held, held ? CR_REASON_NONE : CR_REASON_DISABLED);
                expect_closed(fd);
                close(fd);
        }
        cr_buf_done(&b);
        assert_daemon_serves(&wire_daemon);
}

/* Flags the daemon does not know are refused, LAST among them or not, and
 * refusing one changes nothing. */
static void test_wire_unknown_flag(void **state) {
        struct cr_buf b;
        int fd = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);

        cr_buf_init(&b, 4096);
        put_user_add_frame(&b, 71, CR_FLAG_LAST | 0x4u, "wire-flagged");
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        expect_error_frame(fd, true, 71, EBADMSG);
        expect_closed(fd);
        close(fd);
        {
                callrole *c = client_new(&wire_daemon);
                assert_false(user_exists(c, "wire-flagged"));
                callrole_free(c);
        }
        assert_daemon_serves(&wire_daemon);
}

static void test_wire_many_idle_connections(void **state) {
        enum { N = 40 };
        int fds[N];

        /* Idle connections cost the others nothing. */
        for (int i = 0; i < N; i++)
                fds[i] = raw_connect(wire_daemon.socket, IO_TIMEOUT_SEC);
        assert_daemon_serves(&wire_daemon);
        /* And each of them still gets served. */
        for (int i = 0; i < N; i++) {
                struct cr_buf b;
                cr_buf_init(&b, 4096);
                put_check_frame(&b, (uint32_t) i, 0, "wire-alice", "login", "");
                raw_write(fds[i], b.data, b.len);
                cr_buf_done(&b);
        }
        for (int i = N - 1; i >= 0; i--) {
                expect_decision_frame(fds[i], (uint32_t) i, true, CR_REASON_NONE);
                close(fds[i]);
        }
        assert_daemon_serves(&wire_daemon);
}

/* ======================================================================== */
/* library: libcallrole against the real daemon                             */
/* ======================================================================== */

static TestDaemon lib_daemon;

static int lib_setup(void **state) {
        callrole *c;

        if (test_daemon_start(&lib_daemon, NULL) < 0)
                return -1;
        c = client_new(&lib_daemon);
        MUST(c, "permission.add", "name", "itest.widget", "description", "A permission of the integration test", NULL);
        MUST(c, "plan.set", "name", "lib-basic", "features", "login", "features", "calls.*", NULL);
        MUST(c, "account.add", "name", "lib-agency", NULL);
        MUST(c, "account.add", "name", "lib-sub", "parent", "lib-agency", "plan", "lib-basic", NULL);
        MUST(c, "account.set", "name", "lib-agency", "hide", "texts.send", NULL);
        MUST(c, "account.add", "name", "lib-cond", NULL);
        MUST(c, "role.add", "role", "lib-agent", "rank", "10", "title", "Lib Agent", "grants", "login", "grants",
             "calls.view@assigned", "grants", "calls.listen@direction=inbound", "grants", "texts.view@groups",
             "grants", "numbers.view@ivrs", "grants", "contacts.edit@acg", "grants", "itest.widget", NULL);
        MUST(c, "role.add", "role", "lib-sub-agent", "rank", "10", "account", "lib-sub", "grants", "login", "grants",
             "calls.view", "grants", "texts.send", "grants", "numbers.purchase", NULL);
        MUST(c, "role.add", "role", "lib-cond-role", "rank", "10", "account", "lib-cond", "grants", "login", "grants",
             "billing.invoices.view/account.billing=customer", NULL);
        MUST(c, "role.add", "role", "lib-spare", "rank", "5", "grants", "login", NULL);
        MUST(c, "user.add", "name", "lib-alice", "role", "lib-agent", "groups", "g1", "groups", "g2", "ivrs", "i1",
             "acg", "a1", "display-name", "Alice Lib", NULL);
        MUST(c, "user.add", "name", "lib-bob", "role", "lib-agent", "enabled", "no", NULL);
        MUST(c, "user.add", "name", "lib-carol", "role", "lib-sub-agent", "account", "lib-sub", NULL);
        MUST(c, "user.add", "name", "lib-dave", "role", "lib-cond-role", "account", "lib-cond", NULL);
        callrole_free(c);
        return 0;
}

static int lib_teardown(void **state) {
        test_daemon_cleanup(&lib_daemon);
        return 0;
}

typedef struct CheckCase {
        const char *user, *permission, *account;
        callrole_attr attrs[2];
        size_t n_attrs;
        int allowed;
        callrole_reason reason;
        const char *detail_has;   /* NULL: not checked */
} CheckCase;

static const CheckCase check_cases[] = {
        { "lib-alice", "login", NULL, {}, 0, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-alice", "itest.widget", "default", {}, 0, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-nosuch", "login", NULL, {}, 0, 0, CALLROLE_REASON_NO_SUCH_USER, "lib-nosuch" },
        { "lib-bob", "login", NULL, {}, 0, 0, CALLROLE_REASON_DISABLED, "lib-bob" },
        { "lib-carol", "login", "default", {}, 0, 0, CALLROLE_REASON_NO_MEMBERSHIP, "default" },
        { "lib-alice", "users.delete", NULL, {}, 0, 0, CALLROLE_REASON_NOT_GRANTED, "users.delete" },
        { "lib-carol", "calls.view", NULL, {}, 0, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-carol", "texts.send", "lib-sub", {}, 0, 0, CALLROLE_REASON_HIDDEN_BY_AGENCY, "lib-agency" },
        { "lib-carol", "numbers.purchase", NULL, {}, 0, 0, CALLROLE_REASON_NOT_IN_PLAN, "lib-basic" },
        { "lib-alice", "calls.view", NULL, { { "assignee", "lib-alice" } }, 1, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-alice", "calls.view", NULL, { { "assignee", "lib-bob" } }, 1, 0, CALLROLE_REASON_OUT_OF_SCOPE,
          "assigned" },
        { "lib-alice", "calls.listen", NULL, { { "direction", "inbound" } }, 1, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-alice", "calls.listen", NULL, { { "direction", "outbound" } }, 1, 0, CALLROLE_REASON_OUT_OF_SCOPE,
          "inbound" },
        { "lib-alice", "texts.view", NULL, { { "group", "g2" } }, 1, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-alice", "texts.view", NULL, { { "group", "g3" } }, 1, 0, CALLROLE_REASON_OUT_OF_SCOPE, "g1" },
        { "lib-alice", "numbers.view", NULL, { { "ivr", "i1" } }, 1, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-alice", "numbers.view", NULL, { { "ivr", "i9" } }, 1, 0, CALLROLE_REASON_OUT_OF_SCOPE, "i1" },
        { "lib-alice", "contacts.edit", NULL, { { "acg", "a1" } }, 1, 1, CALLROLE_REASON_NONE, NULL },
        { "lib-alice", "contacts.edit", NULL, { { "acg", "a2" } }, 1, 0, CALLROLE_REASON_OUT_OF_SCOPE, "a1" },
        { "lib-alice", "calls.view", NULL, { { "assignee", "lib-alice" }, { "direction", "outbound" } }, 2, 1,
          CALLROLE_REASON_NONE, NULL },
        { "lib-dave", "billing.invoices.view", NULL, {}, 0, 0, CALLROLE_REASON_CONDITION_FAILED, "billing" },
};

static void test_lib_check_reasons(void **state) {
        callrole *c = client_new(&lib_daemon);

        for (size_t i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
                const CheckCase *k = &check_cases[i];
                callrole_decision *d = NULL;
                int r = callrole_check(c, k->user, k->permission, k->account, k->n_attrs ? k->attrs : NULL,
                                       k->n_attrs, &d);
                if (r != k->allowed)
                        fail_msg("case %zu: %s %s: expected %d, got %d (%s)", i, k->user, k->permission, k->allowed,
                                 r, r < 0 ? callrole_last_error(c) : callrole_decision_detail(d));
                assert_non_null(d);
                assert_int_equal(callrole_decision_allowed(d), k->allowed);
                if (callrole_decision_reason(d) != k->reason)
                        fail_msg("case %zu: %s %s: expected reason %s, got %s (%s)", i, k->user, k->permission,
                                 callrole_reason_to_string(k->reason),
                                 callrole_reason_to_string(callrole_decision_reason(d)), callrole_decision_detail(d));
                if (k->detail_has && !strstr(callrole_decision_detail(d), k->detail_has))
                        fail_msg("case %zu: the detail '%s' does not mention '%s'", i, callrole_decision_detail(d),
                                 k->detail_has);
                if (!k->allowed)
                        assert_true(strlen(callrole_decision_detail(d)) > 0);
                callrole_decision_free(d);
        }

        /* The decision names the role and the account the answer is about. */
        {
                callrole_decision *d = NULL;
                assert_int_equal(callrole_check(c, "lib-carol", "calls.view", NULL, NULL, 0, &d), 1);
                assert_string_equal(callrole_decision_role(d), "lib-sub-agent");
                assert_string_equal(callrole_decision_account(d), "lib-sub");
                callrole_decision_free(d);
                assert_int_equal(callrole_check(c, "lib-alice", "calls.view", NULL,
                                                (callrole_attr[]) { { "assignee", "lib-bob" } }, 1, &d),
                                 0);
                assert_string_equal(callrole_decision_role(d), "lib-agent");
                assert_string_equal(callrole_decision_account(d), "default");
                callrole_decision_free(d);
        }
        callrole_free(c);
}

/* A grant's account condition follows the account's attributes. */
static void test_lib_check_condition(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_decision *d = NULL;

        assert_int_equal(callrole_check(c, "lib-dave", "billing.invoices.view", NULL, NULL, 0, &d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_CONDITION_FAILED);
        callrole_decision_free(d);
        MUST(c, "account.set", "name", "lib-cond", "attrs", "billing=customer", NULL);
        assert_int_equal(callrole_check(c, "lib-dave", "billing.invoices.view", NULL, NULL, 0, &d), 1);
        callrole_decision_free(d);
        MUST(c, "account.set", "name", "lib-cond", "attrs", "billing=agency", NULL);
        assert_int_equal(callrole_check(c, "lib-dave", "billing.invoices.view", NULL, NULL, 0, &d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_CONDITION_FAILED);
        callrole_decision_free(d);
        MUST(c, "account.set", "name", "lib-cond", "attrs", "billing=", NULL);
        assert_int_equal(callrole_check(c, "lib-dave", "billing.invoices.view", NULL, NULL, 0, NULL), 0);
        callrole_free(c);
}

/* A change is visible to the very next check, on any connection. */
static void test_lib_change_visible_at_once(void **state) {
        callrole *c = client_new(&lib_daemon), *other = client_new(&lib_daemon);
        callrole_decision *d = NULL;

        MUST(c, "user.add", "name", "lib-vis", "role", "lib-spare", NULL);
        assert_int_equal(callrole_check(other, "lib-vis", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(other, "lib-vis", "calls.view", NULL, NULL, 0, &d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_NOT_GRANTED);
        callrole_decision_free(d);
        /* A second membership: the account must now be named. */
        MUST(c, "user.add", "name", "lib-vis", "role", "lib-sub-agent", "account", "lib-sub", NULL);
        assert_int_equal(callrole_check(other, "lib-vis", "calls.view", "lib-sub", NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(other, "lib-vis", "calls.view", NULL, NULL, 0, NULL), -ENOTUNIQ);
        assert_error_names(other, "lib-sub");
        MUST(c, "user.set", "name", "lib-vis", "account", "default", "role", "lib-agent", NULL);
        assert_int_equal(callrole_check(other, "lib-vis", "calls.view", "default", NULL, 0, NULL), 1);
        MUST(c, "user.delete", "name", "lib-vis", "account", "lib-sub", NULL);
        assert_int_equal(callrole_check(other, "lib-vis", "calls.view", "lib-sub", NULL, 0, &d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_NO_MEMBERSHIP);
        callrole_decision_free(d);
        MUST(c, "user.set", "name", "lib-vis", "enabled", "no", NULL);
        assert_int_equal(callrole_check(other, "lib-vis", "login", "default", NULL, 0, &d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_DISABLED);
        callrole_decision_free(d);
        MUST(c, "user.delete", "name", "lib-vis", NULL);
        assert_int_equal(callrole_check(other, "lib-vis", "login", NULL, NULL, 0, &d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_NO_SUCH_USER);
        callrole_decision_free(d);
        callrole_free(other);
        callrole_free(c);
}

static void test_lib_check_batch(void **state) {
        enum { N = sizeof(check_cases) / sizeof(check_cases[0]) };
        callrole *c = client_new(&lib_daemon);
        callrole_check_item items[N];
        int allowed[N];
        callrole_reason reasons[N];

        for (size_t i = 0; i < N; i++) {
                items[i] = (callrole_check_item) {
                        .user = check_cases[i].user,
                        .permission = check_cases[i].permission,
                        .account = check_cases[i].account,
                        .attrs = check_cases[i].n_attrs ? check_cases[i].attrs : NULL,
                        .n_attrs = check_cases[i].n_attrs,
                };
                allowed[i] = -1;
                reasons[i] = (callrole_reason) 99;
        }
        assert_int_equal(callrole_check_batch(c, items, N, allowed, reasons), 0);
        for (size_t i = 0; i < N; i++) {
                if (allowed[i] != check_cases[i].allowed || reasons[i] != check_cases[i].reason)
                        fail_msg("batch item %zu (%s %s): got %d/%s, expected %d/%s", i, check_cases[i].user,
                                 check_cases[i].permission, allowed[i], callrole_reason_to_string(reasons[i]),
                                 check_cases[i].allowed, callrole_reason_to_string(check_cases[i].reason));
        }

        /* The largest batch the protocol allows. */
        {
                callrole_check_item *big = calloc(CR_BATCH_MAX, sizeof(*big));
                int *ok = calloc(CR_BATCH_MAX, sizeof(int));
                assert_non_null(big);
                assert_non_null(ok);
                for (size_t i = 0; i < CR_BATCH_MAX; i++)
                        big[i] = (callrole_check_item) { .user = i % 2 ? "lib-alice" : "lib-bob", .permission = "login" };
                assert_int_equal(callrole_check_batch(c, big, CR_BATCH_MAX, ok, NULL), 0);
                for (size_t i = 0; i < CR_BATCH_MAX; i++)
                        assert_int_equal(ok[i], i % 2 ? 1 : 0);
                free(big);
                free(ok);
        }

        /* One item the daemon refuses (unknown permission) fails the batch,
         * with a message saying which item. */
        items[3].permission = "itest.nope";
        for (size_t i = 0; i < N; i++)
                allowed[i] = -7;
        assert_int_equal(callrole_check_batch(c, items, N, allowed, reasons), -ENOENT);
        assert_error_names(c, "itest.nope");
        for (size_t i = 0; i < N; i++)
                assert_int_equal(allowed[i], -7);
        callrole_free(c);
}

/* One scope record: its fields as "key=v1,v2;key2=..." in record order. */
static void assert_scope(callrole *c, const char *user, const char *perm, int visible, const char *expect) {
        callrole_reply *rep = NULL;
        char buf[1024] = "";
        size_t len = 0;
        int r = callrole_scope(c, user, perm, NULL, &rep);

        if (r != visible)
                fail_msg("scope %s %s: expected %d, got %d (%s)", user, perm, visible, r,
                         r < 0 ? callrole_last_error(c) : "");
        if (!visible) {
                assert_int_equal(callrole_reply_n_records(rep), 0);
                callrole_reply_free(rep);
                return;
        }
        assert_int_equal(callrole_reply_n_records(rep), 1);
        {
                const callrole_record *rec = rec_at(rep, 0);
                for (size_t i = 0; i < callrole_record_n_fields(rec); i++)
                        len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%s=%s", i ? ";" : "",
                                                 callrole_record_key(rec, i), rjoin(rec, callrole_record_key(rec, i)));
        }
        assert_string_equal(buf, expect);
        callrole_reply_free(rep);
}

static void test_lib_scope(void **state) {
        callrole *c = client_new(&lib_daemon);

        assert_scope(c, "lib-alice", "calls.view", 1, "assignee=lib-alice");
        assert_scope(c, "lib-alice", "calls.listen", 1, "direction=inbound");
        assert_scope(c, "lib-alice", "texts.view", 1, "group=g1,g2");
        assert_scope(c, "lib-alice", "numbers.view", 1, "ivr=i1");
        assert_scope(c, "lib-alice", "contacts.edit", 1, "acg=a1");
        assert_scope(c, "lib-alice", "itest.widget", 1, "");     /* unrestricted */
        assert_scope(c, "lib-alice", "users.delete", 0, NULL);   /* not granted */
        assert_scope(c, "lib-bob", "calls.view", 0, NULL);       /* disabled */
        assert_scope(c, "lib-nosuch", "calls.view", 0, NULL);
        assert_scope(c, "lib-carol", "texts.send", 0, NULL);     /* hidden by the agency */
        assert_scope(c, "lib-carol", "calls.view", 1, "");

        /* Unknown permission: an error naming it, not "nothing visible". */
        assert_int_equal(callrole_scope(c, "lib-alice", "itest.nope", NULL, NULL), -ENOENT);
        assert_error_names(c, "itest.nope");
        callrole_free(c);
}

static void test_lib_user_get_and_list(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_reply *rep = NULL;
        const callrole_record *r;

        assert_int_equal(callrole_user_get(c, "lib-alice", &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        r = rec_at(rep, 0);
        assert_string_equal(callrole_record_get(r, "name"), "lib-alice");
        assert_string_equal(callrole_record_get(r, "display-name"), "Alice Lib");
        assert_string_equal(callrole_record_get(r, "enabled"), "yes");
        assert_string_equal(callrole_record_get(r, "account"), "default");
        assert_string_equal(callrole_record_get(r, "role"), "lib-agent");
        assert_string_equal(callrole_record_get(r, "role-title"), "Lib Agent");
        assert_string_equal(callrole_record_get(r, "rank"), "10");
        assert_string_equal(rjoin(r, "groups"), "g1,g2");
        assert_string_equal(rjoin(r, "ivrs"), "i1");
        assert_string_equal(rjoin(r, "acg"), "a1");
        assert_string_equal(rjoin(r, "only"), "");
        callrole_reply_free(rep);

        assert_int_equal(callrole_user_get(c, "lib-bob", &rep), 0);
        assert_string_equal(rget(rep, 0, "enabled"), "no");
        assert_string_equal(rjoin(rec_at(rep, 0), "groups"), "");
        callrole_reply_free(rep);

        assert_int_equal(callrole_user_get(c, "lib-nosuch", &rep), -ENOENT);
        assert_error_names(c, "lib-nosuch");

        /* The list: sorted by name, the fixtures in it. */
        assert_int_equal(callrole_user_list(c, NULL, NULL, &rep), 0);
        assert_true(callrole_reply_n_records(rep) >= 4);
        for (size_t i = 1; i < callrole_reply_n_records(rep); i++)
                assert_true(strcmp(rget(rep, i - 1, "name"), rget(rep, i, "name")) <= 0);
        assert_non_null(find_rec(rep, "name", "lib-alice"));
        assert_non_null(find_rec(rep, "name", "lib-bob"));
        assert_non_null(find_rec(rep, "name", "lib-carol"));
        assert_non_null(find_rec(rep, "name", "lib-dave"));
        callrole_reply_free(rep);

        /* Filters. */
        assert_int_equal(callrole_user_list(c, "lib-sub-agent", NULL, &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "name"), "lib-carol");
        callrole_reply_free(rep);
        assert_int_equal(callrole_user_list(c, NULL, "lib-cond", &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "name"), "lib-dave");
        assert_string_equal(rget(rep, 0, "account"), "lib-cond");
        callrole_reply_free(rep);
        assert_int_equal(callrole_user_list(c, "lib-no-role", NULL, &rep), -ENOENT);
        assert_error_names(c, "lib-no-role");
        assert_int_equal(callrole_user_list(c, NULL, "lib-no-acct", &rep), -ENOENT);
        assert_error_names(c, "lib-no-acct");

        /* Paging: limit and after. */
        rep = must_call(c, "user.list", "limit", "1", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        {
                char first[128];
                callrole_reply *next;
                snprintf(first, sizeof(first), "%s", rget(rep, 0, "name"));
                next = must_call(c, "user.list", "limit", "1", "after", first, NULL);
                assert_int_equal(callrole_reply_n_records(next), 1);
                assert_true(strcmp(rget(next, 0, "name"), first) > 0);
                callrole_reply_free(next);
        }
        callrole_reply_free(rep);

        /* role.get / role.list. */
        rep = must_call(c, "role.get", "role", "lib-agent", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "title"), "Lib Agent");
        assert_string_equal(rget(rep, 0, "rank"), "10");
        assert_string_equal(rget(rep, 0, "account"), "default");
        /* The grants as given (in whatever order the daemon keeps them). */
        assert_string_equal(sorted_values(rec_at(rep, 0), "grants"),
                            "calls.listen@direction=inbound,calls.view@assigned,contacts.edit@acg,itest.widget,login,"
                            "numbers.view@ivrs,texts.view@groups");
        callrole_reply_free(rep);
        rep = must_call(c, "role.list", "account", "lib-sub", NULL);
        assert_non_null(find_rec(rep, "role", "lib-sub-agent"));
        assert_null(find_rec(rep, "role", "lib-cond-role"));
        callrole_reply_free(rep);
        callrole_free(c);
}

static void test_lib_dry_run(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_reply *rep = NULL;
        Fingerprint fp = fingerprint(&lib_daemon);

        assert_int_equal(callrole_set_dry_run(c, 1), 0);
        rep = must_call(c, "user.add", "name", "lib-dry", "role", "lib-agent", "groups", "g7", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "action"), "user.add");
        assert_string_equal(rget(rep, 0, "target"), "user lib-dry");
        assert_string_equal(rget(rep, 0, "dry-run"), "yes");
        assert_string_equal(rv(rep, 0, "before"), "");
        assert_non_null(strstr(rv(rep, 0, "after"), "lib-dry"));
        assert_non_null(strstr(rv(rep, 0, "after"), "lib-agent"));
        callrole_reply_free(rep);

        /* A dry run of a change to an existing user shows before and after. */
        rep = must_call(c, "user.set", "name", "lib-alice", "role", "lib-spare", NULL);
        assert_string_equal(rget(rep, 0, "dry-run"), "yes");
        assert_non_null(strstr(rv(rep, 0, "before"), "lib-agent"));
        assert_non_null(strstr(rv(rep, 0, "after"), "lib-spare"));
        callrole_reply_free(rep);

        /* A dry run is still refused for what a real change would be. */
        assert_int_equal(call(c, NULL, "user.add", "name", "lib-dry2", "role", "lib-no-role", NULL), -ENOENT);
        assert_error_names(c, "lib-no-role");

        assert_int_equal(callrole_set_dry_run(c, 0), 0);
        assert_unchanged(&lib_daemon, &fp);
        assert_false(user_exists(c, "lib-dry"));
        assert_int_equal(callrole_user_get(c, "lib-alice", &rep), 0);
        assert_string_equal(rget(rep, 0, "role"), "lib-agent");
        callrole_reply_free(rep);
        assert_int_equal(callrole_check(c, "lib-dry", "login", NULL, NULL, 0, NULL), 0);
        callrole_free(c);
}

/* A refused change: its error, the message naming name, and nothing
 * changed. */
#define REFUSED(c, error, name, method, ...)                                                   \
        do {                                                                                    \
                Fingerprint fp_ = fingerprint(&lib_daemon);                                     \
                int r_ = call((c), NULL, (method), __VA_ARGS__);                                \
                if (r_ != (error))                                                              \
                        fail_msg("%s: expected %s, got %d (%s)", (method), strerror(-(error)), r_, \
                                 callrole_last_error(c) ?: "");                                 \
                assert_error_names((c), (name));                                                \
                assert_unchanged(&lib_daemon, &fp_);                                            \
        } while (0)

static void test_lib_unknown_objects(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_decision *d = NULL;
        callrole_reply *rep = NULL;

        REFUSED(c, -ENOENT, "lib-no-role", "user.add", "name", "lib-x1", "role", "lib-no-role", NULL);
        REFUSED(c, -ENOENT, "lib-no-acct", "user.add", "name", "lib-x1", "role", "lib-agent", "account", "lib-no-acct",
                NULL);
        REFUSED(c, -ENOENT, "itest.no-perm", "role.add", "role", "lib-x2", "rank", "10", "grants", "login", "grants",
                "itest.no-perm", NULL);
        REFUSED(c, -ENOENT, "lib-no-user", "user.set", "name", "lib-no-user", "role", "lib-agent", NULL);
        REFUSED(c, -ENOENT, "lib-no-user", "user.delete", "name", "lib-no-user", NULL);
        REFUSED(c, -ENOENT, "lib-no-role", "user.set", "name", "lib-alice", "role", "lib-no-role", NULL);
        REFUSED(c, -ENOENT, "lib-no-role", "role.delete", "role", "lib-no-role", NULL);
        REFUSED(c, -ENOENT, "lib-no-acct", "account.set", "name", "lib-no-acct", "plan", "lib-basic", NULL);
        REFUSED(c, -ENOENT, "lib-no-acct", "account.add", "name", "lib-x3", "parent", "lib-no-acct", NULL);
        REFUSED(c, -ENOENT, "lib-no-plan", "account.add", "name", "lib-x4", "plan", "lib-no-plan", NULL);
        REFUSED(c, -ENOENT, "lib-no-profile", "profile.load", "name", "lib-no-profile", NULL);
        /* Already there. */
        REFUSED(c, -EEXIST, "lib-alice", "user.add", "name", "lib-alice", "role", "lib-spare", NULL);
        REFUSED(c, -EEXIST, "lib-agent", "role.add", "role", "lib-agent", "rank", "3", "grants", "login", NULL);
        REFUSED(c, -EEXIST, "itest.widget", "permission.add", "name", "itest.widget", NULL);

        /* Checks name the permission or account they do not know. */
        assert_int_equal(callrole_check(c, "lib-alice", "itest.no-perm", NULL, NULL, 0, &d), -ENOENT);
        assert_null(d);
        assert_error_names(c, "itest.no-perm");
        assert_int_equal(callrole_check(c, "lib-alice", "login", "lib-no-acct", NULL, 0, &d), -ENOENT);
        assert_null(d);
        assert_error_names(c, "lib-no-acct");
        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL,
                                        (callrole_attr[]) { { "colour", "blue" } }, 1, &d),
                         -EINVAL);
        assert_error_names(c, "colour");

        /* And none of the objects exists afterwards. */
        assert_false(user_exists(c, "lib-x1"));
        assert_false(user_exists(c, "lib-no-user"));
        assert_int_equal(call(c, &rep, "role.get", "role", "lib-x2", NULL), -ENOENT);
        assert_int_equal(callrole_user_get(c, "lib-alice", &rep), 0);
        assert_string_equal(rget(rep, 0, "role"), "lib-agent");
        callrole_reply_free(rep);
        rep = must_call(c, "account.list", NULL);
        assert_null(find_rec(rep, "name", "lib-x3"));
        assert_null(find_rec(rep, "name", "lib-x4"));
        callrole_reply_free(rep);
        callrole_free(c);
}

static void test_lib_rule_violation(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_reply *rep = NULL;

        MUST(c, "account.add", "name", "lib-ct", NULL);
        MUST(c, "profile.load", "name", "calltracks", "account", "lib-ct", NULL);
        rep = must_call(c, "role.get", "role", "receptionist", "account", "lib-ct", NULL);
        assert_string_equal(rget(rep, 0, "title"), "Receptionist");
        callrole_reply_free(rep);

        /* The reports tab without a report. */
        REFUSED(c, -EINVAL, "reports.view_tab", "role.add", "role", "lib-badrep", "rank", "10", "account", "lib-ct",
                "grants", "login", "grants", "reports.view_tab", NULL);
        assert_error_names(c, "reports.*.view");
        assert_int_equal(call(c, NULL, "role.get", "role", "lib-badrep", "account", "lib-ct", NULL), -ENOENT);
        /* A report without the tab (the rule the other way). */
        REFUSED(c, -EINVAL, "reports.view_tab", "role.add", "role", "lib-badrep2", "rank", "10", "account", "lib-ct",
                "grants", "login", "grants", "reports.summary.view", NULL);
        assert_int_equal(call(c, NULL, "role.get", "role", "lib-badrep2", "account", "lib-ct", NULL), -ENOENT);
        /* Through a dry run too. */
        assert_int_equal(callrole_set_dry_run(c, 1), 0);
        REFUSED(c, -EINVAL, "reports.view_tab", "role.add", "role", "lib-badrep3", "rank", "10", "account", "lib-ct",
                "grants", "reports.view_tab", NULL);
        assert_int_equal(callrole_set_dry_run(c, 0), 0);

        /* Both: valid. */
        MUST(c, "role.add", "role", "lib-goodrep", "rank", "10", "account", "lib-ct", "grants", "login", "grants",
             "reports.view_tab", "grants", "reports.summary.view", NULL);
        /* The rules are the account's: in another account the same role is
         * fine. */
        MUST(c, "role.add", "role", "lib-tabonly", "rank", "10", "account", "lib-cond", "grants", "reports.view_tab",
             NULL);
        callrole_free(c);
}

static void test_lib_role_delete_in_use(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_reply *rep = NULL;

        REFUSED(c, -EBUSY, "lib-agent", "role.delete", "role", "lib-agent", NULL);
        rep = must_call(c, "role.get", "role", "lib-agent", NULL);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        callrole_reply_free(rep);
        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL), 1);

        /* Unused, it goes. */
        MUST(c, "role.add", "role", "lib-unused", "rank", "3", "grants", "login", NULL);
        rep = must_call(c, "role.delete", "role", "lib-unused", NULL);
        assert_string_equal(rget(rep, 0, "action"), "role.delete");
        assert_string_equal(rv(rep, 0, "after"), "");
        callrole_reply_free(rep);
        assert_int_equal(call(c, NULL, "role.get", "role", "lib-unused", NULL), -ENOENT);
        callrole_free(c);
}

static void test_lib_reconnect(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_reply *rep = NULL;

        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(test_daemon_restart(&lib_daemon, NULL), 0);
        /* Same handle, the old connection is dead: the call reconnects. */
        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(test_daemon_restart(&lib_daemon, NULL), 0);
        /* A change, too: nothing had been sent on the dead connection. */
        rep = must_call(c, "user.add", "name", "lib-reconn", "role", "lib-spare", NULL);
        callrole_reply_free(rep);
        assert_true(user_exists(c, "lib-reconn"));
        assert_int_equal(test_daemon_restart(&lib_daemon, NULL), 0);
        assert_int_equal(callrole_status(c, &rep), 0);
        callrole_reply_free(rep);
        callrole_free(c);
}

/* Keep-alive off: every call has a connection of its own, which the daemon
 * has closed by the time the call returns; the handle reconnects for the
 * next call whatever the previous one was. */
static void test_lib_keep_alive(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_decision *dec = NULL;
        callrole_reply *rep = NULL;
        callrole_check_item items[2] = {
                { .user = "lib-alice", .permission = "login" },
                { .user = "lib-nobody", .permission = "login" },
        };
        int allowed[2] = { -1, -1 };

        assert_int_equal(callrole_set_keep_alive(NULL, 0), -EINVAL);
        assert_int_equal(settled_connections(&lib_daemon, 0), 0);

        assert_int_equal(callrole_set_keep_alive(c, 0), 0);
        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, &dec), 1);
        assert_string_equal(callrole_decision_role(dec), "lib-agent");
        callrole_decision_free(dec);
        assert_int_equal(open_connections(&lib_daemon), 0);
        assert_int_equal(callrole_check(c, "lib-nobody", "login", NULL, NULL, 0, &dec), 0);
        assert_int_equal(callrole_decision_reason(dec), CALLROLE_REASON_NO_SUCH_USER);
        callrole_decision_free(dec);
        assert_int_equal(open_connections(&lib_daemon), 0);
        assert_int_equal(callrole_check_batch(c, items, 2, allowed, NULL), 0);
        assert_int_equal(allowed[0], 1);
        assert_int_equal(allowed[1], 0);
        assert_int_equal(open_connections(&lib_daemon), 0);
        /* A refusal, then a change, then a read: each on a new connection. */
        assert_int_equal(callrole_check(c, "lib-alice", "no.such.permission", NULL, NULL, 0, &dec), -ENOENT);
        assert_int_equal(open_connections(&lib_daemon), 0);
        rep = must_call(c, "user.add", "name", "lib-oneshot", "role", "lib-spare", NULL);
        callrole_reply_free(rep);
        assert_int_equal(settled_connections(&lib_daemon, 0), 0);
        assert_true(user_exists(c, "lib-oneshot"));
        assert_int_equal(callrole_status(c, &rep), 0);
        callrole_reply_free(rep);
        assert_int_equal(open_connections(&lib_daemon), 0);

        /* Back on: the connection stays for the next call. */
        assert_int_equal(callrole_set_keep_alive(c, 1), 0);
        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(open_connections(&lib_daemon), 1);
        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(open_connections(&lib_daemon), 1);
        /* Off again: the open connection is dropped rather than reused. */
        assert_int_equal(callrole_set_keep_alive(c, 0), 0);
        assert_int_equal(settled_connections(&lib_daemon, 0), 0);
        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(open_connections(&lib_daemon), 0);
        callrole_free(c);
}

static void test_lib_daemon_stopped(void **state) {
        callrole *c = client_new(&lib_daemon);
        uint64_t t0;
        int r;

        assert_int_equal(callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(test_daemon_stop(&lib_daemon), 0);
        t0 = now_msec();
        r = callrole_check(c, "lib-alice", "login", NULL, NULL, 0, NULL);
        assert_true(r == -ECONNREFUSED || r == -ENOENT);
        assert_true(now_msec() - t0 < 1000);
        assert_error_names(c, lib_daemon.socket);
        /* A fresh handle as well. */
        callrole_free(c);
        c = client_new(&lib_daemon);
        t0 = now_msec();
        r = call(c, NULL, "user.add", "name", "lib-stopped", "role", "lib-spare", NULL);
        assert_true(r == -ECONNREFUSED || r == -ENOENT);
        assert_true(now_msec() - t0 < 1000);
        assert_int_equal(test_daemon_restart(&lib_daemon, NULL), 0);
        assert_false(user_exists(c, "lib-stopped"));
        callrole_free(c);
}

static void test_lib_audit(void **state) {
        callrole *c = client_new(&lib_daemon);
        callrole_reply *rep;
        char last[32], uid[32];
        const callrole_record *r;

        rep = must_call(c, "audit", "limit", "10000", NULL);
        snprintf(last, sizeof(last), "%s",
                 callrole_reply_n_records(rep) ? rget(rep, callrole_reply_n_records(rep) - 1, "id") : "0");
        callrole_reply_free(rep);
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());

        MUST(c, "role.add", "role", "lib-audrole", "rank", "4", "title", "Audit Role", "grants", "login", NULL);
        MUST(c, "user.add", "name", "lib-aud1", "role", "lib-spare", "display-name", "Aud One", NULL);
        MUST(c, "user.set", "name", "lib-aud1", "role", "lib-audrole", NULL);
        MUST(c, "user.delete", "name", "lib-aud1", NULL);
        MUST(c, "role.delete", "role", "lib-audrole", NULL);
        /* A refused change leaves no audit record. */
        assert_int_equal(call(c, NULL, "user.set", "name", "lib-aud1", "role", "lib-spare", NULL), -ENOENT);

        rep = audit_after(c, last);
        assert_int_equal(callrole_reply_n_records(rep), 5);
        for (size_t i = 0; i < 5; i++) {
                r = rec_at(rep, i);
                assert_string_equal(callrole_record_get(r, "peer-uid"), uid);
                assert_string_equal(callrole_record_get(r, "peer-user"), my_user_name());
                assert_string_equal(rv(rep, i, "as-user"), "");
                assert_true(strlen(rv(rep, i, "time")) >= 19);   /* ISO 8601 */
                if (i > 0)
                        assert_true(strtoull(callrole_record_get(r, "id"), NULL, 10) >
                                    strtoull(rget(rep, i - 1, "id"), NULL, 10));
        }
        assert_string_equal(rget(rep, 0, "action"), "role.add");
        assert_string_equal(rget(rep, 0, "target"), "role default/lib-audrole");
        assert_string_equal(rv(rep, 0, "before"), "");
        assert_non_null(strstr(rv(rep, 0, "after"), "lib-audrole"));
        assert_non_null(strstr(rv(rep, 0, "after"), "rank 4"));

        assert_string_equal(rget(rep, 1, "action"), "user.add");
        assert_string_equal(rget(rep, 1, "target"), "user lib-aud1");
        assert_string_equal(rv(rep, 1, "before"), "");
        assert_non_null(strstr(rv(rep, 1, "after"), "Aud One"));
        assert_non_null(strstr(rv(rep, 1, "after"), "lib-spare"));

        assert_string_equal(rget(rep, 2, "action"), "user.set");
        assert_string_equal(rget(rep, 2, "target"), "user lib-aud1");
        assert_non_null(strstr(rv(rep, 2, "before"), "lib-spare"));
        assert_null(strstr(rv(rep, 2, "before"), "lib-audrole"));
        assert_non_null(strstr(rv(rep, 2, "after"), "lib-audrole"));

        assert_string_equal(rget(rep, 3, "action"), "user.delete");
        assert_non_null(strstr(rv(rep, 3, "before"), "lib-audrole"));
        assert_string_equal(rv(rep, 3, "after"), "");

        assert_string_equal(rget(rep, 4, "action"), "role.delete");
        assert_non_null(strstr(rv(rep, 4, "before"), "lib-audrole"));
        assert_string_equal(rv(rep, 4, "after"), "");
        callrole_reply_free(rep);

        /* since: nothing from the future. */
        {
                char future[32];
                snprintf(future, sizeof(future), "%lld", (long long) time(NULL) + 3600);
                rep = must_call(c, "audit", "since", future, NULL);
                assert_int_equal(callrole_reply_n_records(rep), 0);
                callrole_reply_free(rep);
        }
        callrole_free(c);
}

/* --as with the library: the authority of the user acted as, and both
 * identities in the audit. */
static void test_lib_as_user(void **state) {
        callrole *c = client_new(&lib_daemon), *as = client_new(&lib_daemon);
        callrole_reply *rep = NULL;
        char last[32];

        MUST(c, "role.add", "role", "lib-as-mgr", "rank", "50", "grants", "login", "grants", "users.view", "grants",
             "users.create", "grants", "users.edit", NULL);
        MUST(c, "role.add", "role", "lib-as-boss", "rank", "70", "grants", "login", NULL);
        MUST(c, "user.add", "name", "lib-as-m", "role", "lib-as-mgr", NULL);
        rep = must_call(c, "audit", "limit", "10000", NULL);
        snprintf(last, sizeof(last), "%s", rget(rep, callrole_reply_n_records(rep) - 1, "id"));
        callrole_reply_free(rep);

        assert_int_equal(callrole_set_as_user(as, "lib-as-m"), 0);
        {
                Fingerprint fp = fingerprint(&lib_daemon);
                assert_int_equal(call(as, NULL, "user.add", "name", "lib-as-new70", "role", "lib-as-boss", NULL),
                                 -EPERM);
                assert_unchanged(&lib_daemon, &fp);
        }
        assert_false(user_exists(c, "lib-as-new70"));
        rep = must_call(as, "user.add", "name", "lib-as-new5", "role", "lib-spare", NULL);
        callrole_reply_free(rep);
        /* Acting as someone drops administrator rights; the refusals
         * change nothing. */
        {
                Fingerprint fp = fingerprint(&lib_daemon);
                assert_int_equal(call(as, NULL, "audit", NULL), -EPERM);
                assert_int_equal(
                        call(as, NULL, "role.add", "role", "lib-as-x", "rank", "1", "grants", "login", NULL),
                        -EPERM);
                assert_unchanged(&lib_daemon, &fp);
        }
        assert_int_equal(call(c, NULL, "role.get", "role", "lib-as-x", NULL), -ENOENT);

        rep = audit_after(c, last);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "target"), "user lib-as-new5");
        assert_string_equal(rv(rep, 0, "as-user"), "lib-as-m");
        {
                char uid[32];
                snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
                assert_string_equal(rget(rep, 0, "peer-uid"), uid);
        }
        /* Both identities: the peer's own (its uid and the user it maps
         * to) and the one it acted as. */
        assert_string_equal(rv(rep, 0, "peer-user"), my_user_name());
        callrole_reply_free(rep);
        callrole_free(as);
        callrole_free(c);
}

/* ======================================================================== */
/* peers: another uid (nobody) on the socket                                */
/* ======================================================================== */

typedef struct ChildResult {
        int ok;              /* 1 when the child dropped to the uid and ran */
        uid_t uid;           /* its uid afterwards */
        int n;
        int codes[16];
        char msgs[16][512];
} ChildResult;

typedef void (*ChildFn)(callrole *c, ChildResult *res);

static void child_note(ChildResult *res, int code, const char *msg) {
        if (res->n >= 16)
                return;
        res->codes[res->n] = code;
        snprintf(res->msgs[res->n], sizeof(res->msgs[0]), "%s", msg ? msg : "");
        res->n++;
}

static void child_note_call(ChildResult *res, callrole *c, int code) {
        child_note(res, code, callrole_last_error(c));
}

/* Runs fn in a child process with uid and gid dropped to uid (supplementary
 * groups cleared), with a libcallrole handle of its own; the results come
 * back through a pipe. */
static void run_as_uid(const TestDaemon *d, uid_t uid, ChildFn fn, ChildResult *ret) {
        int p[2];
        pid_t pid;
        int status;
        size_t got = 0;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                ChildResult res = {};
                callrole *c = NULL;
                close(p[0]);
                if (setgroups(0, NULL) == 0 && setresgid(uid, uid, uid) == 0 && setresuid(uid, uid, uid) == 0 &&
                    callrole_new(&c) == 0 && callrole_set_socket(c, d->socket) == 0) {
                        res.ok = 1;
                        res.uid = getuid();
                        fn(c, &res);
                }
                callrole_free(c);
                (void) !write(p[1], &res, sizeof(res));
                _exit(0);
        }
        close(p[1]);
        while (got < sizeof(*ret)) {
                ssize_t k = read(p[0], (char *) ret + got, sizeof(*ret) - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                got += (size_t) k;
        }
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(got, sizeof(*ret));
        assert_int_equal(ret->ok, 1);
        assert_int_equal(ret->uid, uid);
}

static void expect_child(const ChildResult *res, int i, int code, const char *msg_has) {
        assert_true(i < res->n);
        if (res->codes[i] != code)
                fail_msg("step %d as uid %u: expected %d (%s), got %d (%s): %s", i, (unsigned) res->uid, code,
                         code < 0 ? strerror(-code) : "ok", res->codes[i],
                         res->codes[i] < 0 ? strerror(-res->codes[i]) : "ok", res->msgs[i]);
        if (msg_has && !strstr(res->msgs[i], msg_has))
                fail_msg("step %d as uid %u: message '%s' does not mention '%s'", i, (unsigned) res->uid,
                         res->msgs[i], msg_has);
}

static bool can_switch_uid(void) {
        return geteuid() == 0;
}

#define NEED_ROOT()                                                                                     \
        do {                                                                                            \
                if (!can_switch_uid()) {                                                                \
                        print_message("skipped: peers of another uid need root to drop to uid 65534\n"); \
                        skip();                                                                         \
                }                                                                                       \
        } while (0)

/* -- nobody, unknown to callrole ------------------------------------------ */

static TestDaemon peer_daemon;

static int peer_start(TestDaemon *d) {
        if (test_daemon_start(d, NULL) < 0)
                return -1;
        /* mkdtemp made the folder 0700: let uid 65534 reach the socket. */
        if (chmod(d->dir, 0755) < 0)
                return -1;
        return 0;
}

/* An ordinary uid's connection is not served at accept but through the
 * event loop; a request flagged LAST closes it there too.  In a child
 * dropped to uid 65534 on a raw socket: the reply (a decision or a
 * refusal: either is a reply), then end of file, well before the idle
 * timeout.  Exit status 0, or the step that failed. */
static int last_request_as_nobody(const char *socket_path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };
        uint8_t hdr[CR_HEADER_SIZE], byte;
        struct cr_header h;
        struct cr_buf b;
        size_t got = 0;
        int fd, ok;

        if (setgroups(0, NULL) < 0 || setresgid(NOBODY_UID, NOBODY_UID, NOBODY_UID) < 0 ||
            setresuid(NOBODY_UID, NOBODY_UID, NOBODY_UID) < 0)
                return 2;
        if (strlen(socket_path) >= sizeof sa.sun_path)
                return 3;
        memcpy(sa.sun_path, socket_path, strlen(socket_path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
                return 3;
        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_CHECK, 7);
        cr_put_prefix(&b, CR_FLAG_LAST, "");
        cr_put_check(&b, "pu-target", "login", "", NULL, NULL, 0);
        ok = cr_frame_end(&b) == 0 && send(fd, b.data, b.len, MSG_NOSIGNAL) == (ssize_t) b.len;
        cr_buf_done(&b);
        if (!ok)
                return 4;
        while (got < sizeof hdr) {
                ssize_t k = recv(fd, hdr + got, sizeof hdr - got, 0);
                if (k <= 0)
                        return 5;
                got += (size_t) k;
        }
        if (cr_header_decode(hdr, sizeof hdr, CR_REPLY_MAX, &h) < 0 || h.id != 7 ||
            (h.type != CR_MSG_DECISION && h.type != CR_MSG_ERROR))
                return 6;
        for (got = 0; got < h.length; got++)
                if (recv(fd, &byte, 1, 0) != 1)
                        return 7;
        if (recv(fd, &byte, 1, 0) != 0)
                return 8;   /* more bytes, or a timeout: not closed */
        close(fd);
        return 0;
}

static void test_peer_last_request(void **state) {
        int status;
        pid_t pid;

        NEED_ROOT();
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(last_request_as_nobody(peer_daemon.socket));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
                fail_msg("as uid %u, a request flagged LAST: failed at step %d", (unsigned) NOBODY_UID,
                         WEXITSTATUS(status));
        assert_daemon_alive(&peer_daemon);
}

static int unmapped_setup(void **state) {
        callrole *c;
        if (peer_start(&peer_daemon) < 0)
                return -1;
        c = client_new(&peer_daemon);
        MUST(c, "role.add", "role", "pu-role", "rank", "10", "grants", "login", "grants", "users.view", "grants",
             "users.create", NULL);
        MUST(c, "user.add", "name", "pu-target", "role", "pu-role", NULL);
        callrole_free(c);
        return 0;
}

static int peer_teardown(void **state) {
        test_daemon_cleanup(&peer_daemon);
        return 0;
}

static void child_unmapped(callrole *c, ChildResult *res) {
        callrole_record *p = NULL;
        callrole_reply *rep = NULL;
        int r;

        /* 0: add a user */
        callrole_record_new(&p);
        callrole_record_add(p, "name", "pu-new");
        callrole_record_add(p, "role", "pu-role");
        child_note_call(res, c, callrole_call(c, "user.add", p, NULL));
        callrole_record_free(p);
        /* 1: check another user */
        child_note_call(res, c, callrole_check(c, "pu-target", "login", NULL, NULL, 0, NULL));
        /* 2: check itself (a peer may always ask about itself) */
        r = callrole_check(c, "nobody", "login", NULL, NULL, 0, NULL);
        child_note_call(res, c, r);
        /* 3: audit */
        child_note_call(res, c, callrole_call(c, "audit", NULL, NULL));
        /* 4: --as */
        callrole_set_as_user(c, "pu-target");
        child_note_call(res, c, callrole_status(c, NULL));
        callrole_set_as_user(c, NULL);
        /* 5: status, as itself */
        r = callrole_status(c, &rep);
        if (r >= 0) {
                const callrole_record *s = callrole_reply_record(rep, 0);
                char buf[256];
                snprintf(buf, sizeof(buf), "%s|%s|%s|%s", callrole_record_get(s, "peer-uid"),
                         callrole_record_get(s, "peer-user"), callrole_record_get(s, "peer-admin"),
                         callrole_record_get(s, "database"));
                child_note(res, r, buf);
        } else
                child_note_call(res, c, r);
        callrole_reply_free(rep);
        /* 6: user.get of a user it may not see */
        child_note_call(res, c, callrole_user_get(c, "pu-target", NULL));
        /* 7: export */
        child_note_call(res, c, callrole_call(c, "export", NULL, NULL));
        /* 8: role.add */
        callrole_record_new(&p);
        callrole_record_add(p, "role", "pu-evil");
        callrole_record_add(p, "rank", "1000");
        callrole_record_add(p, "grants", "login");
        child_note_call(res, c, callrole_call(c, "role.add", p, NULL));
        callrole_record_free(p);
        /* 9: user.list shows nothing */
        rep = NULL;
        r = callrole_user_list(c, NULL, NULL, &rep);
        if (r >= 0)
                r = (int) callrole_reply_n_records(rep);
        child_note_call(res, c, r);
        callrole_reply_free(rep);
        /* 10: profile.load */
        callrole_record_new(&p);
        callrole_record_add(p, "name", "ctm");
        child_note_call(res, c, callrole_call(c, "profile.load", p, NULL));
        callrole_record_free(p);
}

static void test_peer_unmapped(void **state) {
        ChildResult res;
        Fingerprint fp;
        callrole *c;

        NEED_ROOT();
        fp = fingerprint(&peer_daemon);
        run_as_uid(&peer_daemon, NOBODY_UID, child_unmapped, &res);
        assert_int_equal(res.n, 11);
        expect_child(&res, 0, -EPERM, NULL);
        expect_child(&res, 1, -EPERM, "pu-target");
        expect_child(&res, 2, 0, NULL);
        expect_child(&res, 3, -EPERM, NULL);
        expect_child(&res, 4, -EPERM, NULL);
        expect_child(&res, 5, 0, "65534|nobody|no|");
        assert_string_equal(res.msgs[5], "65534|nobody|no|");   /* the database path is not shown */
        expect_child(&res, 6, -ENOENT, "pu-target");
        expect_child(&res, 7, -EPERM, NULL);
        expect_child(&res, 8, -EPERM, NULL);
        expect_child(&res, 9, 0, NULL);
        expect_child(&res, 10, -EPERM, NULL);
        assert_unchanged(&peer_daemon, &fp);
        c = client_new(&peer_daemon);
        assert_false(user_exists(c, "pu-new"));
        assert_int_equal(call(c, NULL, "role.get", "role", "pu-evil", NULL), -ENOENT);
        callrole_free(c);
}

/* A call with KEY, VALUE pairs (NULL-terminated) from a child: no cmocka
 * there.  The reply, when asked for, is the caller's to free. */
static int child_call(callrole *c, callrole_reply **ret, const char *method, ...) __attribute__((sentinel));
static int child_call(callrole *c, callrole_reply **ret, const char *method, ...) {
        callrole_record *p = NULL;
        const char *key;
        va_list ap;
        int r;

        if (callrole_record_new(&p) < 0)
                return -ENOMEM;
        va_start(ap, method);
        while ((key = va_arg(ap, const char *)))
                (void) callrole_record_add(p, key, va_arg(ap, const char *));
        va_end(ap);
        r = callrole_call(c, method, p, ret);
        callrole_record_free(p);
        return r;
}

/* Notes a read: on success the values of key of every record, joined with
 * ',' (so what the peer saw can be compared), else the error message. */
static void child_note_read(ChildResult *res, callrole *c, int r, callrole_reply *rep, const char *key) {
        char buf[512] = "";
        size_t len = 0;

        if (r < 0) {
                child_note_call(res, c, r);
                return;
        }
        for (size_t i = 0; i < callrole_reply_n_records(rep) && len < sizeof(buf); i++) {
                const char *v = callrole_record_get(callrole_reply_record(rep, i), key);
                int n = snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", v ? v : "?");
                if (n < 0)
                        break;
                len += (size_t) n;
        }
        child_note(res, r, buf);
}

/* Roles and accounts tell who is ranked how: not for a peer callrole does
 * not know.  The permission catalogue and the profiles describe the
 * product, and stay open. */
static void child_unmapped_reads(callrole *c, ChildResult *res) {
        callrole_reply *rep = NULL;
        int r;

        /* 0-2: role.list, role.get, account.list */
        child_note_call(res, c, child_call(c, NULL, "role.list", NULL));
        child_note_call(res, c, child_call(c, NULL, "role.get", "role", "pu-role", NULL));
        child_note_call(res, c, child_call(c, NULL, "account.list", NULL));
        /* 3: permission.list */
        r = child_call(c, &rep, "permission.list", NULL);
        child_note_read(res, c, r, rep, "name");
        callrole_reply_free(rep);
        rep = NULL;
        /* 4: profile.list */
        r = child_call(c, &rep, "profile.list", NULL);
        child_note_read(res, c, r, rep, "name");
        callrole_reply_free(rep);
        /* 5-6: scope and check of another user, with the account named */
        child_note_call(res, c, callrole_scope(c, "pu-target", "login", "default", NULL));
        child_note_call(res, c, callrole_check(c, "pu-target", "login", "default", NULL, 0, NULL));
}

static void test_peer_unmapped_reads(void **state) {
        ChildResult res;
        Fingerprint fp;
        callrole *c;

        NEED_ROOT();
        fp = fingerprint(&peer_daemon);
        run_as_uid(&peer_daemon, NOBODY_UID, child_unmapped_reads, &res);
        assert_int_equal(res.n, 7);
        expect_child(&res, 0, -EPERM, "may not list roles");
        expect_child(&res, 1, -EPERM, "may not list roles");
        expect_child(&res, 2, -EPERM, "may not list accounts");
        expect_child(&res, 3, 0, "login");
        expect_child(&res, 4, 0, NULL);
        expect_child(&res, 5, -EPERM, "pu-target");
        expect_child(&res, 6, -EPERM, "pu-target");
        /* Nothing of the refused reads leaked into the messages. */
        for (int i = 0; i < 3; i++)
                assert_null(strstr(res.msgs[i], "pu-role"));
        assert_unchanged(&peer_daemon, &fp);
        /* The same reads by root work. */
        c = client_new(&peer_daemon);
        MUST(c, "role.get", "role", "pu-role", NULL);
        MUST(c, "account.list", NULL);
        callrole_free(c);
}

/* -- nobody mapped to a callrole user of rank 50 --------------------------- */

static TestDaemon mapped_daemon;

static int mapped_setup(void **state) {
        callrole *c;
        if (peer_start(&mapped_daemon) < 0)
                return -1;
        c = client_new(&mapped_daemon);
        MUST(c, "role.add", "role", "pm-low", "rank", "10", "grants", "login", NULL);
        MUST(c, "role.add", "role", "pm-mid", "rank", "50", "grants", "login", NULL);
        MUST(c, "role.add", "role", "pm-high", "rank", "70", "grants", "login", "grants", "users.view", "grants",
             "users.create", "grants", "users.edit", "grants", "users.delete", NULL);
        MUST(c, "role.add", "role", "pm-mgr", "rank", "50", "grants", "login", "grants", "users.view", "grants",
             "users.create", "grants", "users.edit", NULL);
        /* The callrole user "nobody" (no Unix account of its own is
         * needed: uid 65534's passwd name maps to it). */
        MUST(c, "user.add", "name", "nobody", "role", "pm-mgr", NULL);
        MUST(c, "user.add", "name", "pm-low1", "role", "pm-low", NULL);
        MUST(c, "user.add", "name", "pm-mid1", "role", "pm-mid", NULL);
        MUST(c, "user.add", "name", "pm-boss", "role", "pm-high", NULL);
        callrole_free(c);
        return 0;
}

static int mapped_teardown(void **state) {
        test_daemon_cleanup(&mapped_daemon);
        return 0;
}

static int child_user_add(callrole *c, const char *name, const char *role) {
        callrole_record *p = NULL;
        callrole_reply *rep = NULL;
        int r;
        callrole_record_new(&p);
        callrole_record_add(p, "name", name);
        callrole_record_add(p, "role", role);
        r = callrole_call(c, "user.add", p, &rep);
        callrole_record_free(p);
        callrole_reply_free(rep);
        return r;
}

static void child_mapped_add(callrole *c, ChildResult *res) {
        child_note_call(res, c, child_user_add(c, "pm-new10", "pm-low"));
        child_note_call(res, c, child_user_add(c, "pm-new50", "pm-mid"));
        child_note_call(res, c, child_user_add(c, "pm-new70", "pm-high"));
        child_note_call(res, c, child_user_add(c, "pm-new50b", "pm-mgr"));
}

static void test_peer_mapped_add(void **state) {
        ChildResult res;
        callrole *c;
        callrole_reply *rep;
        Fingerprint fp;
        char last[32];

        NEED_ROOT();
        c = client_new(&mapped_daemon);
        fp = fingerprint(&mapped_daemon);
        snprintf(last, sizeof(last), "%s", fp.last_audit_id);
        run_as_uid(&mapped_daemon, NOBODY_UID, child_mapped_add, &res);
        assert_int_equal(res.n, 4);
        expect_child(&res, 0, 0, NULL);
        expect_child(&res, 1, -EPERM, "pm-new50");
        expect_child(&res, 2, -EPERM, "pm-new70");
        expect_child(&res, 3, -EPERM, "pm-new50b");

        assert_true(user_exists(c, "pm-new10"));
        assert_false(user_exists(c, "pm-new50"));
        assert_false(user_exists(c, "pm-new70"));
        assert_false(user_exists(c, "pm-new50b"));
        /* Exactly one change, audited with the peer's identity. */
        rep = audit_after(c, last);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "action"), "user.add");
        assert_string_equal(rget(rep, 0, "target"), "user pm-new10");
        assert_string_equal(rget(rep, 0, "peer-uid"), "65534");
        assert_string_equal(rget(rep, 0, "peer-user"), "nobody");
        assert_string_equal(rv(rep, 0, "as-user"), "");
        assert_string_equal(rv(rep, 0, "before"), "");
        assert_non_null(strstr(rv(rep, 0, "after"), "pm-low"));
        callrole_reply_free(rep);
        {
                Fingerprint now = fingerprint(&mapped_daemon);
                assert_int_equal(now.n_audit, fp.n_audit + 1);
                assert_int_equal(strtoul(now.users, NULL, 10), strtoul(fp.users, NULL, 10) + 1);
        }
        callrole_free(c);
}

static void child_mapped_reads(callrole *c, ChildResult *res) {
        callrole_reply *rep = NULL;
        int r;

        /* 0: the list, names joined */
        r = callrole_user_list(c, NULL, NULL, &rep);
        if (r >= 0) {
                char buf[512] = "";
                size_t len = 0;
                for (size_t i = 0; i < callrole_reply_n_records(rep); i++)
                        len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s,",
                                                 callrole_record_get(callrole_reply_record(rep, i), "name"));
                child_note(res, r, buf);
        } else
                child_note_call(res, c, r);
        callrole_reply_free(rep);
        rep = NULL;
        /* 1: a user ranked above: as if it did not exist */
        child_note_call(res, c, callrole_user_get(c, "pm-boss", NULL));
        /* 2: a user that does not exist */
        child_note_call(res, c, callrole_user_get(c, "pm-ghost", NULL));
        /* 3: a user below: visible */
        r = callrole_user_get(c, "pm-low1", &rep);
        child_note(res, r, r >= 0 ? callrole_record_get(callrole_reply_record(rep, 0), "role") : callrole_last_error(c));
        callrole_reply_free(rep);
        /* 4: check of a user below */
        child_note_call(res, c, callrole_check(c, "pm-low1", "login", NULL, NULL, 0, NULL));
        /* 5: check of a user above */
        child_note_call(res, c, callrole_check(c, "pm-boss", "login", NULL, NULL, 0, NULL));
        /* 6: change a user above: as if it did not exist */
        {
                callrole_record *p = NULL;
                callrole_record_new(&p);
                callrole_record_add(p, "name", "pm-boss");
                callrole_record_add(p, "enabled", "no");
                child_note_call(res, c, callrole_call(c, "user.set", p, NULL));
                callrole_record_free(p);
        }
        /* 7: change a user of the same rank */
        {
                callrole_record *p = NULL;
                callrole_record_new(&p);
                callrole_record_add(p, "name", "pm-mid1");
                callrole_record_add(p, "display-name", "Changed");
                child_note_call(res, c, callrole_call(c, "user.set", p, NULL));
                callrole_record_free(p);
        }
        /* 8: delete a user below without users.delete */
        {
                callrole_record *p = NULL;
                callrole_record_new(&p);
                callrole_record_add(p, "name", "pm-low1");
                child_note_call(res, c, callrole_call(c, "user.delete", p, NULL));
                callrole_record_free(p);
        }
        /* 9: promote a user below to its own rank */
        {
                callrole_record *p = NULL;
                callrole_record_new(&p);
                callrole_record_add(p, "name", "pm-low1");
                callrole_record_add(p, "role", "pm-mid");
                child_note_call(res, c, callrole_call(c, "user.set", p, NULL));
                callrole_record_free(p);
        }
        /* 10: --as is for administrators, mapped or not */
        callrole_set_as_user(c, "pm-low1");
        child_note_call(res, c, callrole_status(c, NULL));
        callrole_set_as_user(c, NULL);
        /* 11: audit */
        child_note_call(res, c, callrole_call(c, "audit", NULL, NULL));
        /* 12: change itself (same rank) */
        {
                callrole_record *p = NULL;
                callrole_record_new(&p);
                callrole_record_add(p, "name", "nobody");
                callrole_record_add(p, "role", "pm-high");
                child_note_call(res, c, callrole_call(c, "user.set", p, NULL));
                callrole_record_free(p);
        }
}

static void test_peer_mapped_hierarchy(void **state) {
        ChildResult res;
        Fingerprint fp;
        callrole *c;
        callrole_reply *rep = NULL;
        char expect[512];

        NEED_ROOT();
        fp = fingerprint(&mapped_daemon);
        run_as_uid(&mapped_daemon, NOBODY_UID, child_mapped_reads, &res);
        assert_int_equal(res.n, 13);

        expect_child(&res, 0, 0, NULL);
        assert_non_null(strstr(res.msgs[0], "pm-low1,"));
        assert_non_null(strstr(res.msgs[0], "pm-mid1,"));
        assert_non_null(strstr(res.msgs[0], "nobody,"));
        assert_null(strstr(res.msgs[0], "pm-boss"));

        expect_child(&res, 1, -ENOENT, "pm-boss");
        expect_child(&res, 2, -ENOENT, "pm-ghost");
        /* Indistinguishable from a user that does not exist. */
        snprintf(expect, sizeof(expect), "%s", res.msgs[2]);
        {
                char *at = strstr(expect, "pm-ghost");
                char fixed[512];
                assert_non_null(at);
                snprintf(fixed, sizeof(fixed), "%.*spm-boss%s", (int) (at - expect), expect, at + strlen("pm-ghost"));
                assert_string_equal(res.msgs[1], fixed);
        }
        expect_child(&res, 3, 0, "pm-low");
        expect_child(&res, 4, 1, NULL);
        expect_child(&res, 5, -EPERM, NULL);
        expect_child(&res, 6, -ENOENT, "pm-boss");
        expect_child(&res, 7, -EPERM, "pm-mid1");
        expect_child(&res, 8, -EPERM, "users.delete");
        expect_child(&res, 9, -EPERM, NULL);
        expect_child(&res, 10, -EPERM, NULL);
        expect_child(&res, 11, -EPERM, NULL);
        expect_child(&res, 12, -EPERM, NULL);

        assert_unchanged(&mapped_daemon, &fp);
        c = client_new(&mapped_daemon);
        assert_int_equal(callrole_user_get(c, "pm-boss", &rep), 0);
        assert_string_equal(rget(rep, 0, "enabled"), "yes");
        callrole_reply_free(rep);
        assert_int_equal(callrole_user_get(c, "pm-mid1", &rep), 0);
        assert_string_equal(rget(rep, 0, "display-name"), "");
        callrole_reply_free(rep);
        assert_int_equal(callrole_user_get(c, "pm-low1", &rep), 0);
        assert_string_equal(rget(rep, 0, "role"), "pm-low");
        callrole_reply_free(rep);
        assert_int_equal(callrole_user_get(c, "nobody", &rep), 0);
        assert_string_equal(rget(rep, 0, "role"), "pm-mgr");
        callrole_reply_free(rep);
        callrole_free(c);
}

/* A disabled callrole user's authority is void. */
static void child_mapped_add_one(callrole *c, ChildResult *res) {
        child_note_call(res, c, child_user_add(c, "pm-while-disabled", "pm-low"));
}

/* test_peer_mapped_disabled() disables nobody; the later mapped tests need
 * it enabled, so this puts it back even when an assertion cut the test
 * short (no asserts here: a teardown reports by its return value). */
static int enable_nobody_teardown(void **state) {
        callrole *c = NULL;
        callrole_reply *rep = NULL;
        const callrole_record *rec;
        const char *enabled = NULL;
        int r = -1;

        if (callrole_new(&c) < 0 || callrole_set_socket(c, mapped_daemon.socket) < 0)
                goto out;
        if (callrole_user_get(c, "nobody", &rep) < 0 || callrole_reply_n_records(rep) < 1)
                goto out;
        rec = callrole_reply_record(rep, 0);
        if (rec)
                enabled = callrole_record_get(rec, "enabled");
        if (enabled && strcmp(enabled, "yes") == 0)
                r = 0;
        else if (call(c, NULL, "user.set", "name", "nobody", "enabled", "yes", NULL) >= 0)
                r = 0;
out:
        if (r < 0)
                fprintf(stderr, "could not enable nobody again on %s; later tests will fail\n",
                        mapped_daemon.socket);
        callrole_reply_free(rep);
        callrole_free(c);
        return r;
}

static void test_peer_mapped_disabled(void **state) {
        ChildResult res;
        Fingerprint fp;
        callrole *c;

        NEED_ROOT();
        c = client_new(&mapped_daemon);
        MUST(c, "user.set", "name", "nobody", "enabled", "no", NULL);
        fp = fingerprint(&mapped_daemon);
        run_as_uid(&mapped_daemon, NOBODY_UID, child_mapped_add_one, &res);
        MUST(c, "user.set", "name", "nobody", "enabled", "yes", NULL);
        assert_int_equal(res.n, 1);
        expect_child(&res, 0, -EPERM, NULL);
        assert_false(user_exists(c, "pm-while-disabled"));
        {
                Fingerprint now = fingerprint(&mapped_daemon);
                /* Only the re-enabling happened since. */
                assert_int_equal(now.n_audit, fp.n_audit + 1);
                assert_string_equal(now.users, fp.users);
        }
        callrole_free(c);
}

/* -- nobody with roles in two accounts ------------------------------------ */

/* nobody (pm-mgr, rank 50, in default) is also a manager of pa-b; pa-y is a
 * mere agent in pa-b but ranked above nobody (pm-high) in default; pa-c is
 * an account nobody is not in.  Removed again afterwards: the other mapped
 * tests know nobody with one account. */
static int pa_setup(void **state) {
        callrole *c = client_new(&mapped_daemon);
        MUST(c, "account.add", "name", "pa-b", NULL);
        MUST(c, "account.add", "name", "pa-c", NULL);
        MUST(c, "role.add", "role", "pa-agent", "rank", "10", "account", "pa-b", "grants", "login", NULL);
        MUST(c, "role.add", "role", "pa-mgr", "rank", "50", "account", "pa-b", "grants", "login", "grants",
             "users.view", "grants", "users.create", "grants", "users.edit", NULL);
        MUST(c, "user.add", "name", "nobody", "role", "pa-mgr", "account", "pa-b", NULL);
        MUST(c, "user.add", "name", "pa-y", "role", "pa-agent", "account", "pa-b", NULL);
        MUST(c, "user.add", "name", "pa-y", "role", "pm-high", NULL);
        callrole_free(c);
        return 0;
}

static int pa_teardown(void **state) {
        callrole *c = client_new(&mapped_daemon);
        int r = call(c, NULL, "user.delete", "name", "nobody", "account", "pa-b", NULL);
        if (r >= 0)
                r = call(c, NULL, "user.delete", "name", "pa-y", NULL);
        callrole_free(c);
        return r < 0 ? -1 : 0;
}

static void child_mapped_accounts(callrole *c, ChildResult *res) {
        callrole_decision *d = NULL;
        callrole_reply *rep = NULL;
        int r;

        /* 0: another role, in pa-b, for pm-mid1, nobody's equal in default:
         * a second account would make pm-mid1's checks ambiguous. */
        r = child_call(c, NULL, "user.add", "name", "pm-mid1", "role", "pa-agent", "account", "pa-b", NULL);
        child_note_call(res, c, r);
        /* 1: as disabling pm-mid1 is refused */
        child_note_call(res, c, child_call(c, NULL, "user.set", "name", "pm-mid1", "enabled", "no", NULL));
        /* 2-3: pa-y in default, where nobody may not see pa-y's role; and a
         * user that does not exist */
        child_note_call(res, c, callrole_check(c, "pa-y", "login", "default", NULL, 0, NULL));
        child_note_call(res, c, callrole_check(c, "pm-ghost", "login", "default", NULL, 0, NULL));
        /* 4: pa-y without an account: the one membership nobody sees */
        r = callrole_check(c, "pa-y", "login", NULL, NULL, 0, &d);
        if (r >= 0) {
                char buf[128];
                snprintf(buf, sizeof(buf), "%s/%s", callrole_decision_account(d), callrole_decision_role(d));
                child_note(res, r, buf);
        } else
                child_note_call(res, c, r);
        callrole_decision_free(d);
        /* 5: scope of pa-y in default */
        child_note_call(res, c, callrole_scope(c, "pa-y", "login", "default", NULL));
        /* 6-7: changes to pa-y that reach default */
        child_note_call(res, c, child_call(c, NULL, "user.set", "name", "pa-y", "enabled", "no", NULL));
        child_note_call(res, c, child_call(c, NULL, "user.set", "name", "pa-y", "groups", "g1", NULL));
        /* 8-10: roles: up to rank 50 where nobody has a role */
        r = child_call(c, &rep, "role.list", NULL);
        child_note_read(res, c, r, rep, "role");
        callrole_reply_free(rep);
        rep = NULL;
        child_note_call(res, c, child_call(c, NULL, "role.get", "role", "pm-high", NULL));
        child_note_call(res, c, child_call(c, NULL, "role.get", "role", "pm-nosuch", NULL));
        /* 11: accounts: those nobody is in */
        r = child_call(c, &rep, "account.list", NULL);
        child_note_read(res, c, r, rep, "name");
        callrole_reply_free(rep);
}

/* The same message with one name put for another. */
static void assert_same_but_name(const char *got, const char *name, const char *model, const char *model_name) {
        const char *at = strstr(model, model_name);
        char fixed[512];

        assert_non_null(at);
        snprintf(fixed, sizeof(fixed), "%.*s%s%s", (int) (at - model), model, name, at + strlen(model_name));
        assert_string_equal(got, fixed);
}

static void test_peer_mapped_accounts(void **state) {
        ChildResult res;
        Fingerprint fp;
        callrole *c;
        callrole_reply *rep = NULL;

        NEED_ROOT();
        fp = fingerprint(&mapped_daemon);
        run_as_uid(&mapped_daemon, NOBODY_UID, child_mapped_accounts, &res);
        assert_int_equal(res.n, 12);

        expect_child(&res, 0, -EPERM, "pm-mid1");
        expect_child(&res, 1, -EPERM, "pm-mid1");
        expect_child(&res, 2, -EPERM, "pa-y");
        expect_child(&res, 3, -EPERM, "pm-ghost");
        assert_same_but_name(res.msgs[2], "pa-y", res.msgs[3], "pm-ghost");
        expect_child(&res, 4, 1, NULL);
        assert_string_equal(res.msgs[4], "pa-b/pa-agent");
        expect_child(&res, 5, -EPERM, "pa-y");
        expect_child(&res, 6, -EPERM, "pa-y");
        expect_child(&res, 7, -ENOTUNIQ, "pa-b");
        /* Neither where pa-y is ranked above nobody, nor as what. */
        for (int i = 2; i <= 7; i++) {
                assert_null(strstr(res.msgs[i], "default"));
                assert_null(strstr(res.msgs[i], "pm-high"));
                assert_null(strstr(res.msgs[i], "70"));
        }
        expect_child(&res, 8, 0, "pa-agent");
        assert_non_null(strstr(res.msgs[8], "pm-low"));
        assert_non_null(strstr(res.msgs[8], "pm-mgr"));
        assert_non_null(strstr(res.msgs[8], "pa-mgr"));
        assert_null(strstr(res.msgs[8], "pm-high"));
        expect_child(&res, 9, -ENOENT, "pm-high");
        expect_child(&res, 10, -ENOENT, "pm-nosuch");
        assert_same_but_name(res.msgs[9], "pm-high", res.msgs[10], "pm-nosuch");
        expect_child(&res, 11, 0, NULL);
        assert_string_equal(res.msgs[11], "default,pa-b");

        /* Nothing changed: pm-mid1 has its one account, so its checks need
         * none named; pa-y is enabled. */
        assert_unchanged(&mapped_daemon, &fp);
        c = client_new(&mapped_daemon);
        assert_int_equal(callrole_user_get(c, "pm-mid1", &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 1);
        assert_string_equal(rget(rep, 0, "account"), "default");
        assert_string_equal(rget(rep, 0, "enabled"), "yes");
        callrole_reply_free(rep);
        assert_int_equal(callrole_check(c, "pm-mid1", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_user_get(c, "pa-y", &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 2);
        assert_string_equal(rget(rep, 0, "enabled"), "yes");
        callrole_reply_free(rep);
        callrole_free(c);
}

int main(void) {
        const struct CMUnitTest start_tests[] = {
                cmocka_unit_test_setup_teardown(test_start_creates_database, own_daemon_setup, own_daemon_teardown),
                cmocka_unit_test_setup_teardown(test_status_fields, own_daemon_setup, own_daemon_teardown),
                cmocka_unit_test_setup_teardown(test_restart_keeps_data, own_daemon_setup, own_daemon_teardown),
                cmocka_unit_test_setup_teardown(test_garbage_database, own_daemon_setup, own_daemon_teardown),
                cmocka_unit_test_setup_teardown(test_replaced_database, own_daemon_setup, own_daemon_teardown),
                cmocka_unit_test_setup_teardown(test_database_in_missing_folder, own_daemon_setup, own_daemon_teardown),
                cmocka_unit_test_setup_teardown(test_database_in_unwritable_folder, own_daemon_setup, own_daemon_teardown),
                cmocka_unit_test(test_long_values_cut),
        };
        const struct CMUnitTest wire_tests[] = {
                cmocka_unit_test(test_wire_valid_frames),
                cmocka_unit_test(test_wire_bad_magic),
                cmocka_unit_test(test_wire_bad_version),
                cmocka_unit_test(test_wire_oversized),
                cmocka_unit_test(test_wire_unknown_type),
                cmocka_unit_test(test_wire_truncated_payload),
                cmocka_unit_test(test_wire_trailing_bytes),
                cmocka_unit_test(test_wire_embedded_nul),
                cmocka_unit_test(test_wire_malformed_prefix_and_record),
                cmocka_unit_test(test_wire_byte_at_a_time),
                cmocka_unit_test(test_wire_pipelining),
                cmocka_unit_test(test_wire_pipeline_with_bad_frame),
                cmocka_unit_test(test_wire_disconnect_after_send),
                cmocka_unit_test(test_wire_many_idle_connections),
                cmocka_unit_test(test_wire_last_request),
                cmocka_unit_test(test_wire_half_close),
                cmocka_unit_test(test_wire_unknown_flag),
        };
        const struct CMUnitTest lib_tests[] = {
                cmocka_unit_test(test_lib_check_reasons),
                cmocka_unit_test(test_lib_check_condition),
                cmocka_unit_test(test_lib_change_visible_at_once),
                cmocka_unit_test(test_lib_check_batch),
                cmocka_unit_test(test_lib_scope),
                cmocka_unit_test(test_lib_user_get_and_list),
                cmocka_unit_test(test_lib_dry_run),
                cmocka_unit_test(test_lib_unknown_objects),
                cmocka_unit_test(test_lib_rule_violation),
                cmocka_unit_test(test_lib_role_delete_in_use),
                cmocka_unit_test(test_lib_audit),
                cmocka_unit_test(test_lib_as_user),
                cmocka_unit_test(test_lib_reconnect),
                cmocka_unit_test(test_lib_keep_alive),
                cmocka_unit_test(test_lib_daemon_stopped),
        };
        const struct CMUnitTest unmapped_tests[] = {
                cmocka_unit_test(test_peer_unmapped),
                cmocka_unit_test(test_peer_unmapped_reads),
                cmocka_unit_test(test_peer_last_request),
        };
        const struct CMUnitTest mapped_tests[] = {
                cmocka_unit_test(test_peer_mapped_add),
                cmocka_unit_test(test_peer_mapped_hierarchy),
                cmocka_unit_test_teardown(test_peer_mapped_disabled, enable_nobody_teardown),
                cmocka_unit_test_setup_teardown(test_peer_mapped_accounts, pa_setup, pa_teardown),
        };
        int failed = 0;

        (void) signal(SIGPIPE, SIG_IGN);
        failed += cmocka_run_group_tests_name("start", start_tests, NULL, NULL);
        failed += cmocka_run_group_tests_name("wire", wire_tests, wire_setup, wire_teardown);
        failed += cmocka_run_group_tests_name("library", lib_tests, lib_setup, lib_teardown);
        failed += cmocka_run_group_tests_name("peers-unmapped", unmapped_tests, unmapped_setup, peer_teardown);
        failed += cmocka_run_group_tests_name("peers-mapped", mapped_tests, mapped_setup, mapped_teardown);
        return failed ? 1 : 0;
}
