/*
 * test-group.c: group commit seen from the socket, with raw frames so that
 * the daemon receives several user changes at once (change.c, "group
 * commit"; server.c, held replies).
 *
 *   - SIGTERM while pipelined user changes are still waiting to be served:
 *     every change the daemon committed was answered as done, and none it
 *     answered as done is missing after a restart;
 *   - a user change refused because of another change of the same group
 *     (not yet committed) is not answered before that group commits: when
 *     the COMMIT fails (a full disk), the refusal would have described a
 *     state that never existed;
 *   - likewise the check that acts --as a user whose deletion is in the
 *     group.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "callrole-wire.h"
#include "callrole.h"
#include "helper-daemon.h"
#include "helper-raw.h"

static TestDaemon d;
static char mnt[300];           /* a tmpfs mounted by the test, or "" */

static int teardown(void **state) {
        if (d.dir[0])
                test_daemon_cleanup(&d);
        memset(&d, 0, sizeof(d));
        test_tmpfs_unmount(mnt);
        return 0;
}

static callrole *client(void) {
        callrole *c = NULL;
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, d.socket), 0);
        assert_int_equal(callrole_set_timeout(c, 5 * 1000000ULL), 0);
        return c;
}

static bool user_exists(callrole *c, const char *name) {
        callrole_reply *rep = NULL;
        int r = callrole_user_get(c, name, &rep);
        callrole_reply_free(rep);
        return r >= 0;
}

/* One reply's header (the payload is skipped); <0 at EOF. */
static int read_reply_header(int fd, struct cr_header *h) {
        uint8_t hdr[CR_HEADER_SIZE], *payload;
        int r = raw_read_exact(fd, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        assert_int_equal(cr_header_decode(hdr, sizeof(hdr), CR_REPLY_MAX, h), 0);
        payload = malloc(h->length ? h->length : 1);
        assert_non_null(payload);
        r = raw_read_exact(fd, payload, h->length);
        free(payload);
        return r;
}

static void status_round_trip(int fd) {
        struct cr_header h;
        struct cr_buf b;

        cr_buf_init(&b, 4096);
        cr_frame_begin(&b, CR_MSG_STATUS, 1000);
        cr_put_prefix(&b, 0, "");
        cr_put_record(&b, &(struct cr_record) {});
        assert_int_equal(cr_frame_end(&b), 0);
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        assert_int_equal(read_reply_header(fd, &h), 0);
        assert_int_equal(h.id, 1000);
}

static void add_role(const char *role) {
        callrole *c = client();
        callrole_record *p = NULL;

        assert_int_equal(callrole_record_new(&p), 0);
        callrole_record_add(p, "role", role);
        callrole_record_add(p, "rank", "10");
        callrole_record_add(p, "grants", "login");
        assert_int_equal(callrole_call(c, "role.add", p, NULL), 0);
        callrole_record_free(p);
        callrole_free(c);
}

static void put_user_add(struct cr_buf *all, uint32_t id, const char *name, const char *role) {
        struct cr_record rec = {};
        struct cr_buf b;

        assert_int_equal(cr_record_add(&rec, "name", name), 0);
        assert_int_equal(cr_record_add(&rec, "role", role), 0);
        cr_buf_init(&b, CR_HEADER_SIZE + CR_REQUEST_MAX);
        cr_frame_begin(&b, CR_MSG_USER_ADD, id);
        cr_put_prefix(&b, 0, "");
        cr_put_record(&b, &rec);
        assert_int_equal(cr_frame_end(&b), 0);
        cr_put_bytes(all, b.data, b.len);
        assert_int_equal(cr_buf_error(all), 0);
        cr_buf_done(&b);
        cr_record_clear(&rec);
}

#define PIPELINED 32

/* The daemon is stopped while a connection's user changes arrive with the
 * SIGTERM, so it reads them all, serves the first and is then told to
 * stop.  "Answering what was already received" must hold for user changes
 * too: a change committed at exit without its reply is one the client was
 * told nothing about. */
static void test_sigterm_pipelined_user_changes(void **state) {
        bool replied[PIPELINED] = {};
        unsigned n_replied = 0, n_present = 0;
        struct cr_buf all;
        struct cr_header h;
        char name[32];
        callrole *c;
        int fd, status;

        assert_int_equal(test_daemon_start(&d, NULL), 0);
        add_role("st-role");

        fd = raw_connect(d.socket, 10);
        cr_buf_init(&all, 1u << 20);
        for (uint32_t i = 0; i < PIPELINED; i++) {
                snprintf(name, sizeof(name), "st-%u", i);
                put_user_add(&all, i + 1, name, "st-role");
        }
        /* Accepted before the daemon stops. */
        status_round_trip(fd);
        assert_int_equal(kill(d.pid, SIGSTOP), 0);
        raw_write(fd, all.data, all.len);
        cr_buf_done(&all);
        usleep(100 * 1000);
        assert_int_equal(kill(d.pid, SIGTERM), 0);
        assert_int_equal(kill(d.pid, SIGCONT), 0);

        while (read_reply_header(fd, &h) == 0) {
                assert_true(h.id >= 1 && h.id <= PIPELINED);
                if (h.type == CR_MSG_RECORDS) {
                        replied[h.id - 1] = true;
                        n_replied++;
                }
        }
        close(fd);
        assert_int_equal(waitpid(d.pid, &status, 0), d.pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        d.pid = 0;

        assert_int_equal(test_daemon_restart(&d, NULL), 0);
        c = client();
        for (unsigned i = 0; i < PIPELINED; i++) {
                bool present;
                snprintf(name, sizeof(name), "st-%u", i);
                present = user_exists(c, name);
                n_present += present;
                if (present && !replied[i])
                        fail_msg("%s was committed at exit but its reply never came", name);
                if (!present && replied[i])
                        fail_msg("%s was acknowledged but is not there", name);
        }
        callrole_free(c);
        print_message("SIGTERM with %d pipelined user changes: %u answered, %u present\n", PIPELINED, n_replied,
                      n_present);
        /* What was read before the SIGTERM is answered, all of it. */
        assert_int_equal(n_replied, PIPELINED);
}

/* The error a reply frame carries, 0 for a RECORDS reply. */
static int read_reply_error(int fd, char *msg, size_t msg_size) {
        uint8_t hdr[CR_HEADER_SIZE], *payload;
        struct cr_cursor cur;
        struct cr_header h;
        char *m = NULL;
        int32_t e = 0;

        assert_int_equal(raw_read_exact(fd, hdr, sizeof(hdr)), 0);
        assert_int_equal(cr_header_decode(hdr, sizeof(hdr), CR_REPLY_MAX, &h), 0);
        payload = malloc(h.length ? h.length : 1);
        assert_non_null(payload);
        assert_int_equal(raw_read_exact(fd, payload, h.length), 0);
        snprintf(msg, msg_size, "%s", "");
        if (h.type == CR_MSG_ERROR) {
                cr_cursor_init(&cur, payload, h.length);
                assert_int_equal(cr_get_i32(&cur, &e), 0);
                assert_int_equal(cr_get_str(&cur, CR_STR_MAX, &m), 0);
                snprintf(msg, msg_size, "%s", m);
                free(m);
        } else
                assert_true(h.type == CR_MSG_RECORDS || h.type == CR_MSG_DECISION);
        free(payload);
        return e;
}

/* Starts a daemon whose database is on a small tmpfs of its own, with
 * role rf-role and users; false where that cannot be (not root). */
static bool full_disk_start(const char *const *users) {
        static char db[400];
        const char *extra[] = { "--db", db, NULL };

        if (test_tmpfs_mount("1m", mnt, sizeof(mnt)) < 0)
                return false;
        snprintf(db, sizeof(db), "%s/roles.db", mnt);
        assert_int_equal(test_daemon_start(&d, extra), 0);
        add_role("rf-role");
        for (; users && *users; users++) {
                callrole *c = client();
                callrole_record *p = NULL;
                assert_int_equal(callrole_record_new(&p), 0);
                callrole_record_add(p, "name", *users);
                callrole_record_add(p, "role", "rf-role");
                assert_int_equal(callrole_call(c, "user.add", p, NULL), 0);
                callrole_record_free(p);
                callrole_free(c);
        }
        return true;
}

/* frames[i] goes to connection i, both arriving while the daemon is
 * stopped and the disk full, so they are served in one round of its loop
 * and the group's COMMIT, the first write to the log since, cannot be
 * written.  The connections are returned in fd[]; the disk is freed again
 * once the reply on fd[change] (a user change's: sent after the COMMIT)
 * is there. */
static void full_disk_round(struct cr_buf frames[2], int fd[2], int change) {
        char filler[400];
        FILE *f;

        for (int i = 0; i < 2; i++) {
                fd[i] = raw_connect(d.socket, 10);
                status_round_trip(fd[i]);
        }
        assert_int_equal(kill(d.pid, SIGSTOP), 0);
        snprintf(filler, sizeof(filler), "%s/filler", mnt);
        f = fopen(filler, "we");
        assert_non_null(f);
        {
                static char block[4096];
                while (fwrite(block, 1, sizeof(block), f) == sizeof(block) && fflush(f) == 0)
                        ;
        }
        (void) fclose(f);
        for (int i = 0; i < 2; i++) {
                raw_write(fd[i], frames[i].data, frames[i].len);
                cr_buf_done(&frames[i]);
                usleep(20 * 1000);
        }
        usleep(100 * 1000);
        assert_int_equal(kill(d.pid, SIGCONT), 0);
        {
                struct pollfd p = { .fd = fd[change], .events = POLLIN };
                assert_int_equal(poll(&p, 1, 10000), 1);
        }
        assert_int_equal(unlink(filler), 0);
}

static bool is_commit_error(int e) {
        return e == -ENOSPC || e == -EIO;
}

/* Two connections add the same user in one round, so both changes meet in
 * one group whose COMMIT fails.  The second is refused because of the
 * first, which was never committed: that refusal must not be sent as it
 * stands. */
static void test_refusal_waits_for_commit(void **state) {
        struct cr_buf frames[2];
        char msg[2][1024];
        int fd[2], e[2];
        callrole *c;

        if (!full_disk_start(NULL))
                skip();
        for (int i = 0; i < 2; i++) {
                cr_buf_init(&frames[i], 1u << 16);
                put_user_add(&frames[i], 7, "rf-x", "rf-role");
        }
        full_disk_round(frames, fd, 0);
        for (int i = 0; i < 2; i++) {
                e[i] = read_reply_error(fd[i], msg[i], sizeof(msg[i]));
                close(fd[i]);
        }
        c = client();
        /* Neither change was made... */
        assert_false(user_exists(c, "rf-x"));
        callrole_free(c);
        /* ...so neither reply may say otherwise, nor that rf-x was there. */
        for (int i = 0; i < 2; i++)
                if (!is_commit_error(e[i]))
                        fail_msg("connection %d: expected the failed COMMIT (ENOSPC or EIO), got %d (%s): %s", i, e[i],
                                 strerror(-e[i]), msg[i]);
}

/* One connection deletes a user, another asks a check --as that user in
 * the same round; the deletion's COMMIT fails.  Whether the user to act as
 * exists is a question about committed state too.  Which of two
 * connections ready at once the loop serves first is its business: both
 * orders are tried (the user is still there after the first). */
static void test_as_user_waits_for_commit(void **state) {
        if (!full_disk_start((const char *[]) { "rf-y", NULL }))
                skip();
        for (int del = 0; del < 2; del++) {
                struct cr_buf frames[2];
                struct cr_record rec = {};
                int chk = !del, fd[2], e;
                char msg[1024];
                callrole *c;

                cr_buf_init(&frames[del], 1u << 16);
                assert_int_equal(cr_record_add(&rec, "name", "rf-y"), 0);
                cr_frame_begin(&frames[del], CR_MSG_USER_DELETE, 8);
                cr_put_prefix(&frames[del], 0, "");
                cr_put_record(&frames[del], &rec);
                assert_int_equal(cr_frame_end(&frames[del]), 0);
                cr_record_clear(&rec);
                cr_buf_init(&frames[chk], 1u << 16);
                cr_frame_begin(&frames[chk], CR_MSG_CHECK, 9);
                cr_put_prefix(&frames[chk], 0, "rf-y");
                cr_put_check(&frames[chk], "rf-y", "login", "", NULL, NULL, 0);
                assert_int_equal(cr_frame_end(&frames[chk]), 0);
                full_disk_round(frames, fd, del);

                e = read_reply_error(fd[del], msg, sizeof(msg));
                if (!is_commit_error(e))
                        fail_msg("the deletion: expected the failed COMMIT (ENOSPC or EIO), got %d (%s): %s", e,
                                 strerror(-e), msg);
                c = client();
                assert_true(user_exists(c, "rf-y"));
                callrole_free(c);
                /* rf-y is still there: the check is answered as rf-y. */
                e = read_reply_error(fd[chk], msg, sizeof(msg));
                if (e != 0)
                        fail_msg("the check --as rf-y: expected a decision, got %d (%s): %s", e, strerror(-e), msg);
                close(fd[0]);
                close(fd[1]);
        }
}

/* CPU time the daemon used, in clock ticks. */
static unsigned long long daemon_cpu(void) {
        char path[64], buf[1024], *p;
        unsigned long long utime = 0, stime = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) d.pid);
        f = fopen(path, "re");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        /* After the command name in parentheses: state is field 3, utime
         * and stime fields 14 and 15. */
        p = strrchr(buf, ')');
        assert_non_null(p);
        assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime), 2);
        return utime + stime;
}

/* A client sends a user change and closes its end at once (a script
 * killed, a caller that does not wait).  The peer's close is a hang-up
 * that epoll reports whatever the events asked for, so while the reply is
 * held the connection is ready on every turn of the loop: the group must
 * still be committed, the daemon must not spin, and SIGTERM must stop it. */
static void test_peer_gone_while_held(void **state) {
        unsigned long long before, after;
        struct cr_buf b;
        callrole *c;
        int fd;

        assert_int_equal(test_daemon_start(&d, NULL), 0);
        add_role("hg-role");
        fd = raw_connect(d.socket, 10);
        status_round_trip(fd);
        cr_buf_init(&b, 1u << 16);
        put_user_add(&b, 5, "hg-x", "hg-role");
        raw_write(fd, b.data, b.len);
        cr_buf_done(&b);
        close(fd);

        usleep(200 * 1000);
        before = daemon_cpu();
        usleep(500 * 1000);
        after = daemon_cpu();
        /* Idle, it uses next to nothing; spinning, about 50 ticks. */
        if (after - before > 10)
                fail_msg("callroled used %llu clock ticks in 0.5 s with nothing to do", after - before);
        assert_int_equal(test_daemon_stop(&d), 0);
        assert_int_equal(test_daemon_restart(&d, NULL), 0);
        c = client();
        assert_true(user_exists(c, "hg-x"));
        callrole_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_sigterm_pipelined_user_changes, teardown),
                cmocka_unit_test_teardown(test_peer_gone_while_held, teardown),
                cmocka_unit_test_teardown(test_refusal_waits_for_commit, teardown),
                cmocka_unit_test_teardown(test_as_user_waits_for_commit, teardown),
        };
        return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
