/*
 * test-group.c: group commit seen from the socket, with raw frames so that
 * the daemon receives several user changes at once (change.c, "group
 * commit"; server.c, held replies).
 *
 *   - SIGTERM while pipelined user changes are still waiting to be served:
 *     every change the daemon committed was answered as done, and none it
 *     answered as done is missing after a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
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

static TestDaemon d;

static int teardown(void **state) {
        if (d.dir[0])
                test_daemon_cleanup(&d);
        memset(&d, 0, sizeof(d));
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

static int raw_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = 10 };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        memcpy(sa.sun_path, d.socket, strlen(d.socket));
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        return fd;
}

static void raw_write(int fd, const void *p, size_t n) {
        const uint8_t *b = p;
        while (n > 0) {
                ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        fail_msg("send: %s", strerror(errno));
                b += k;
                n -= (size_t) k;
        }
}

static int read_exact(int fd, void *p, size_t n) {
        uint8_t *b = p;
        while (n > 0) {
                ssize_t k = recv(fd, b, n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ECONNRESET;
                b += k;
                n -= (size_t) k;
        }
        return 0;
}

/* One reply's header (the payload is skipped); <0 at EOF. */
static int read_reply_header(int fd, struct cr_header *h) {
        uint8_t hdr[CR_HEADER_SIZE], *payload;
        int r = read_exact(fd, hdr, sizeof(hdr));
        if (r < 0)
                return r;
        assert_int_equal(cr_header_decode(hdr, sizeof(hdr), CR_REPLY_MAX, h), 0);
        payload = malloc(h->length ? h->length : 1);
        assert_non_null(payload);
        r = read_exact(fd, payload, h->length);
        free(payload);
        return r;
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
        c = client();
        {
                callrole_record *p = NULL;
                assert_int_equal(callrole_record_new(&p), 0);
                callrole_record_add(p, "role", "st-role");
                callrole_record_add(p, "rank", "10");
                callrole_record_add(p, "grants", "login");
                assert_int_equal(callrole_call(c, "role.add", p, NULL), 0);
                callrole_record_free(p);
        }
        callrole_free(c);

        fd = raw_connect();
        cr_buf_init(&all, 1u << 20);
        for (uint32_t i = 0; i < PIPELINED; i++) {
                snprintf(name, sizeof(name), "st-%u", i);
                put_user_add(&all, i + 1, name, "st-role");
        }
        /* Accepted before the daemon stops: a status round trip. */
        {
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_sigterm_pipelined_user_changes, teardown),
        };
        return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
