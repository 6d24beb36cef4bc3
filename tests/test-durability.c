/*
 * test-durability.c: nothing acknowledged is ever lost.
 *
 *   - SIGKILL in the middle of a burst of changes from several clients:
 *     after a restart every change that was acknowledged is there, and the
 *     database passes PRAGMA integrity_check;
 *   - a full disk (a small tmpfs): changes are refused with a clear error,
 *     checks go on being answered, nothing acknowledged is lost;
 *   - a database made read-only under the daemon (the immutable flag):
 *     the same, and changes work again once it is writable.
 * The last two need root (mount, chattr); they skip otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "callrole.h"
#include "helper-daemon.h"

#define WRITERS 4

static callrole *client(const TestDaemon *d) {
        callrole *c = NULL;
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, d->socket), 0);
        assert_int_equal(callrole_set_timeout(c, 5 * 1000000ULL), 0);
        return c;
}

static int call2(callrole *c, const char *method, const char *k1, const char *v1, const char *k2, const char *v2,
                 const char *k3, const char *v3) {
        callrole_record *p = NULL;
        int r;
        if (callrole_record_new(&p) < 0)
                return -ENOMEM;
        if (k1)
                callrole_record_add(p, k1, v1);
        if (k2)
                callrole_record_add(p, k2, v2);
        if (k3)
                callrole_record_add(p, k3, v3);
        r = callrole_call(c, method, p, NULL);
        callrole_record_free(p);
        return r;
}

static void add_role(const TestDaemon *d) {
        callrole *c = client(d);
        assert_int_equal(call2(c, "role.add", "role", "d-role", "rank", "10", "grants", "login"), 0);
        callrole_free(c);
}

static bool user_exists(callrole *c, const char *name) {
        callrole_reply *rep = NULL;
        int r = callrole_user_get(c, name, &rep);
        callrole_reply_free(rep);
        return r >= 0;
}

static int integrity_ok(const char *db) {
        sqlite3 *h;
        sqlite3_stmt *st;
        int ok = 0;
        if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
                return 0;
        /* As the daemon does: no -shm file, which a full disk could not
         * hold anyway. */
        sqlite3_exec(h, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL);
        if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                ok = strcmp((const char *) sqlite3_column_text(st, 0), "ok") == 0;
        sqlite3_finalize(st);
        sqlite3_close(h);
        return ok;
}

/* A writer adds users w<k>-<n> as fast as it can and writes the name of
 * each acknowledged one to fd, until the daemon goes away. */
static void writer(const TestDaemon *d, int k, int fd) {
        callrole *c = NULL;
        char name[32];

        /* A child: no cmocka assertions here, they would jump back into
         * the test runner inside the child. */
        if (callrole_new(&c) < 0 || callrole_set_socket(c, d->socket) < 0 ||
            callrole_set_timeout(c, 5 * 1000000ULL) < 0)
                _exit(2);
        for (int n = 0;; n++) {
                snprintf(name, sizeof(name), "w%d-%d", k, n);
                if (call2(c, "user.add", "name", name, "role", "d-role", NULL, NULL) < 0)
                        break;
                dprintf(fd, "%s\n", name);
        }
        callrole_free(c);
        _exit(0);
}

static TestDaemon d;            /* the test's daemon, cleaned up by teardown */
static char mnt[300];           /* a tmpfs mounted by the test, or "" */
static char immutable[2][400];  /* files made immutable by the test */

static int teardown(void **state) {
        char cmd[1024];
        for (int i = 0; i < 2; i++)
                if (immutable[i][0]) {
                        snprintf(cmd, sizeof(cmd), "chattr -i '%s' 2>/dev/null", immutable[i]);
                        (void) !system(cmd);
                        immutable[i][0] = 0;
                }
        if (d.dir[0])
                test_daemon_cleanup(&d);
        memset(&d, 0, sizeof(d));
        test_tmpfs_unmount(mnt);
        return 0;
}

static void test_sigkill_mid_burst(void **state) {
        char path[300], line[64];
        pid_t kids[WRITERS];
        unsigned acked = 0, found = 0;
        callrole *c;
        FILE *f;
        int fd;

        assert_int_equal(test_daemon_start(&d, NULL), 0);
        add_role(&d);
        snprintf(path, sizeof(path), "%s/acked", d.dir);
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        for (int k = 0; k < WRITERS; k++) {
                kids[k] = fork();
                assert_true(kids[k] >= 0);
                if (kids[k] == 0)
                        writer(&d, k, fd);
        }
        usleep(700 * 1000);
        test_daemon_kill(&d, SIGKILL);
        for (int k = 0; k < WRITERS; k++)
                waitpid(kids[k], NULL, 0);
        close(fd);
        /* Reap the killed daemon before starting the next one. */
        waitpid(d.pid, NULL, 0);
        d.pid = 0;

        /* The restarted daemon itself must recover the killed one's log;
         * the integrity check comes after it, not before (opening the file
         * here would do the recovery for it). */
        assert_int_equal(test_daemon_restart(&d, NULL), 0);
        c = client(&d);
        f = fopen(path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                acked++;
                if (user_exists(c, line))
                        found++;
                else
                        print_error("acknowledged but lost: %s\n", line);
        }
        fclose(f);
        callrole_free(c);
        print_message("killed mid-burst: %u changes acknowledged by %d writers, %u found after restart\n", acked,
                      WRITERS, found);
        assert_true(acked > 0);
        assert_int_equal(found, acked);
        assert_int_equal(test_daemon_stop(&d), 0);
        assert_true(integrity_ok(d.db));
}

/* A daemon whose database lives on a tmpfs of its own. */
static char db_arg[320];

static bool small_start(const char *size) {
        const char *extra[] = { "--db", db_arg, NULL };

        if (test_tmpfs_mount(size, mnt, sizeof(mnt)) < 0)
                return false;
        snprintf(db_arg, sizeof(db_arg), "%s/roles.db", mnt);
        assert_int_equal(test_daemon_start(&d, extra), 0);
        add_role(&d);
        return true;
}

static void test_disk_full(void **state) {
        callrole *c;
        char name[32];
        int r = 0, n, acked;

        if (!small_start("1m"))
                skip();
        c = client(&d);
        for (n = 0; n < 100000; n++) {
                snprintf(name, sizeof(name), "full-%d", n);
                r = call2(c, "user.add", "name", name, "role", "d-role", "display-name",
                          "a display name long enough to fill a small disk quickly........................");
                if (r < 0)
                        break;
        }
        acked = n;
        print_message("disk full after %d users: %s\n", acked, callrole_last_error(c));
        assert_true(acked > 0);
        /* SQLite reports a full disk as SQLITE_FULL (ENOSPC), or, when the
         * write that fails is the log's, as an I/O error (EIO). */
        assert_true(r == -ENOSPC || r == -EIO);
        /* The error names the database and says what happened. */
        assert_non_null(strstr(callrole_last_error(c), db_arg));
        /* Checks are still answered, from what was committed. */
        assert_int_equal(callrole_check(c, "full-0", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(c, name, "login", NULL, NULL, 0, NULL), 0);
        callrole_free(c);

        /* Every acknowledged user is there after a restart. */
        assert_int_equal(test_daemon_restart(&d, (const char *[]) { "--db", db_arg, NULL }), 0);
        c = client(&d);
        for (int i = 0; i < acked; i++) {
                snprintf(name, sizeof(name), "full-%d", i);
                assert_true(user_exists(c, name));
        }
        callrole_free(c);
        assert_int_equal(test_daemon_stop(&d), 0);
        assert_true(integrity_ok(db_arg));
}

/* A writer of test_disk_full_grouped(): adds users until refused, writing
 * "ok NAME" for each acknowledged one and "failed NAME ERRNO MESSAGE" for
 * the one refused. */
static _Noreturn void full_writer(const TestDaemon *dd, int k, int fd) {
        callrole *c = NULL;
        char name[32];

        if (callrole_new(&c) < 0 || callrole_set_socket(c, dd->socket) < 0 ||
            callrole_set_timeout(c, 10 * 1000000ULL) < 0)
                _exit(2);
        for (int n = 0; n < 100000; n++) {
                int r;
                snprintf(name, sizeof(name), "g%d-%d", k, n);
                r = call2(c, "user.add", "name", name, "role", "d-role", "display-name",
                          "a display name long enough to fill a small disk quickly........................");
                if (r < 0) {
                        const char *msg = callrole_last_error(c);
                        dprintf(fd, "failed %s %d %s\n", name, -r, msg ? msg : "");
                        break;
                }
                dprintf(fd, "ok %s\n", name);
        }
        callrole_free(c);
        _exit(0);
}

/* The disk fills while several writers' changes are committed in groups:
 * whatever is acknowledged is there, before and after a restart; whatever
 * was refused (alone, or with its whole group when the COMMIT failed) is
 * not, in memory or on disk. */
static void test_disk_full_grouped(void **state) {
        char path[300], line[1024];
        pid_t kids[WRITERS];
        char failed[WRITERS][32];
        unsigned n_ok = 0, n_failed = 0;
        callrole *c;
        FILE *f;
        int fd;

        if (!small_start("1m"))
                skip();
        snprintf(path, sizeof(path), "%s/results", d.dir);
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        for (int k = 0; k < WRITERS; k++) {
                kids[k] = fork();
                assert_true(kids[k] >= 0);
                if (kids[k] == 0)
                        full_writer(&d, k, fd);
        }
        for (int k = 0; k < WRITERS; k++) {
                int status;
                assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        close(fd);

        c = client(&d);
        f = fopen(path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                char name[32];
                int err;
                if (sscanf(line, "ok %31s", name) == 1) {
                        if (!user_exists(c, name))
                                fail_msg("acknowledged but not there: %s", name);
                        n_ok++;
                } else if (sscanf(line, "failed %31s %d", name, &err) == 2) {
                        /* ENOSPC, or EIO when the write that fails is the
                         * log's; the message names the database. */
                        if (err != ENOSPC && err != EIO)
                                fail_msg("%s refused with %s: %s", name, strerror(err), line);
                        if (!strstr(line, db_arg))
                                fail_msg("the refusal does not name %s: %s", db_arg, line);
                        if (user_exists(c, name))
                                fail_msg("refused but there: %s", name);
                        snprintf(failed[n_failed++], sizeof(failed[0]), "%s", name);
                }
        }
        fclose(f);
        callrole_free(c);
        print_message("disk full, %d writers grouped: %u acknowledged, %u refused\n", WRITERS, n_ok, n_failed);
        assert_true(n_ok > 0);
        assert_int_equal(n_failed, WRITERS);

        /* The same after a restart, from the file alone. */
        assert_int_equal(test_daemon_restart(&d, (const char *[]) { "--db", db_arg, NULL }), 0);
        c = client(&d);
        for (unsigned i = 0; i < n_failed; i++)
                if (user_exists(c, failed[i]))
                        fail_msg("refused but on disk: %s", failed[i]);
        f = fopen(path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                char name[32];
                if (sscanf(line, "ok %31s", name) == 1 && !user_exists(c, name))
                        fail_msg("acknowledged but lost: %s", name);
        }
        fclose(f);
        callrole_free(c);
        assert_int_equal(test_daemon_stop(&d), 0);
        assert_true(integrity_ok(db_arg));
}

static int chattr(const char *flag, const char *path) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "chattr %s '%s' 2>/dev/null", flag, path);
        return system(cmd);
}

/* The database made read-only under the running daemon: the immutable
 * flag refuses writes even to root and even through descriptors already
 * open, as a read-only medium would. */
static void test_read_only_database(void **state) {
        callrole *c;

        assert_int_equal(test_daemon_start(&d, NULL), 0);
        add_role(&d);
        c = client(&d);
        assert_int_equal(call2(c, "user.add", "name", "ro-before", "role", "d-role", NULL, NULL), 0);
        snprintf(immutable[0], sizeof(immutable[0]), "%s", d.db);
        snprintf(immutable[1], sizeof(immutable[1]), "%s-wal", d.db);
        if (geteuid() != 0 || chattr("+i", immutable[0]) != 0) {
                immutable[0][0] = immutable[1][0] = 0;
                callrole_free(c);
                skip();
        }
        (void) chattr("+i", immutable[1]);

        assert_int_equal(call2(c, "user.add", "name", "ro-during", "role", "d-role", NULL, NULL), -EROFS);
        assert_non_null(strstr(callrole_last_error(c), d.db));
        assert_non_null(strstr(callrole_last_error(c), "nothing was changed"));
        assert_int_equal(callrole_check(c, "ro-before", "login", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(c, "ro-during", "login", NULL, NULL, 0, NULL), 0);
        assert_false(user_exists(c, "ro-during"));

        assert_int_equal(chattr("-i", immutable[0]), 0);
        (void) chattr("-i", immutable[1]);
        immutable[0][0] = immutable[1][0] = 0;
        assert_int_equal(call2(c, "user.add", "name", "ro-after", "role", "d-role", NULL, NULL), 0);
        callrole_free(c);

        assert_int_equal(test_daemon_restart(&d, NULL), 0);
        c = client(&d);
        assert_true(user_exists(c, "ro-before"));
        assert_false(user_exists(c, "ro-during"));
        assert_true(user_exists(c, "ro-after"));
        callrole_free(c);
        assert_int_equal(test_daemon_stop(&d), 0);
        assert_true(integrity_ok(d.db));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_sigkill_mid_burst, teardown),
                cmocka_unit_test_teardown(test_disk_full, teardown),
                cmocka_unit_test_teardown(test_disk_full_grouped, teardown),
                cmocka_unit_test_teardown(test_read_only_database, teardown),
        };
        return cmocka_run_group_tests_name("durability", tests, NULL, NULL);
}
