/*
 * test-client.c: unit tests of libcallrole (lib/client.c, lib/record.c)
 * against a fake callroled that runs in a thread of the test process.
 *
 * The fake listens on a Unix socket in a fresh temporary folder, serves one
 * connection at a time, decodes every request with the real wire codec (so
 * the tests check what the library put on the wire, not just what it got
 * back) and answers as the current test's script says: a normal answer, an
 * error, a malformed or truncated frame, silence, or a dropped connection.
 * The daemon's own integration tests (the real callroled) live elsewhere;
 * these pin down the client's side of the contract: decoding, error
 * reporting, timeouts, the reconnect rule, argument validation without I/O.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "callrole-wire.h"
#include "callrole.h"
#include "macro.h"

/* ---- the fake daemon ----------------------------------------------------- */

/* cmocka's assertions jump back into the test runner and must not be used
 * on the fake's thread; a broken fake is a broken test run. */
#define FAKE_CHECK(x)                                                                  \
        do {                                                                           \
                if (!(x)) {                                                            \
                        fprintf(stderr, "%s:%d: fake daemon: %s failed\n", __FILE__,  \
                                __LINE__, #x);                                         \
                        abort();                                                       \
                }                                                                      \
        } while (0)

typedef enum {
        ACT_SEND,        /* write the reply, keep serving the connection */
        ACT_SEND_CLOSE,  /* write the reply, then close the connection */
        ACT_CLOSE,       /* close without a reply */
        ACT_HANG,        /* write the reply (if any), then wait until the client goes */
        ACT_DELAY_SEND,  /* wait delay_ms, then write the reply */
} fake_act;

/* One decoded request, as the fake saw it. */
struct request {
        struct cr_header h;
        bool decoded;            /* the payload decoded and was consumed exactly */
        uint32_t flags;
        char *as_user;
        struct cr_check check;   /* CHECK */
        struct cr_check *batch;  /* CHECK_BATCH */
        size_t n_batch;
        struct cr_record params; /* every other request */
};

struct fake;
typedef fake_act (*fake_script)(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                struct cr_buf *out);

struct fake {
        char dir[64];
        char path[sizeof(((struct sockaddr_un *) NULL)->sun_path)];
        int listen_fd;
        int stop[2];
        pthread_t thread;
        bool running;
        _Atomic(fake_script) script;
        atomic_uint delay_ms;
        atomic_size_t close_if_longer;    /* close after a header announcing more */

        atomic_uint n_conns, n_requests;
        atomic_uint n_type[256];

        pthread_mutex_t lock;            /* guards last */
        struct request last;             /* copy of the newest request's fields */
};

static void request_clear(struct request *rq) {
        free(rq->as_user);
        cr_check_clear(&rq->check);
        for (size_t i = 0; i < rq->n_batch; i++)
                cr_check_clear(&rq->batch[i]);
        free(rq->batch);
        cr_record_clear(&rq->params);
        *rq = (struct request) {};
}

static void request_decode(struct request *rq, const uint8_t *p, size_t len) {
        struct cr_cursor cur;

        cr_cursor_init(&cur, p, len);
        if (cr_get_prefix(&cur, &rq->flags, &rq->as_user) < 0)
                return;
        if (rq->h.type == CR_MSG_CHECK) {
                if (cr_get_check(&cur, &rq->check) < 0)
                        return;
        } else if (rq->h.type == CR_MSG_CHECK_BATCH) {
                uint16_t n;
                if (cr_get_u16(&cur, &n) < 0)
                        return;
                rq->batch = calloc(n ? n : 1, sizeof(*rq->batch));
                if (!rq->batch)
                        return;
                for (; rq->n_batch < n; rq->n_batch++)
                        if (cr_get_check(&cur, &rq->batch[rq->n_batch]) < 0)
                                return;
        } else if (cr_get_record(&cur, &rq->params) < 0)
                return;
        rq->decoded = cr_cursor_end(&cur) == 0;
}

/* Wait for fd to be readable or the fake to be stopped; false on stop. */
static bool fake_wait(struct fake *f, int fd) {
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = f->stop[0], .events = POLLIN } };
        for (;;) {
                int k = poll(p, 2, -1);
                if (k < 0 && errno == EINTR)
                        continue;
                return k > 0 && !(p[1].revents & POLLIN);
        }
}

/* 1 read, 0 EOF or stopped, -1 error. */
static int fake_read(struct fake *f, int fd, uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k;
                if (!fake_wait(f, fd))
                        return 0;
                k = recv(fd, p, n, MSG_DONTWAIT);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k <= 0)
                        return k == 0 ? 0 : -1;
                p += k;
                n -= (size_t) k;
        }
        return 1;
}

static void fake_write(int fd, const struct cr_buf *out) {
        size_t off = 0;
        while (off < out->len) {
                ssize_t k = send(fd, out->data + off, out->len - off, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;   /* the client went away: nothing to do */
                off += (size_t) k;
        }
}

static void fake_serve(struct fake *f, int fd, unsigned conn) {
        for (unsigned req = 0;; req++) {
                uint8_t hdr[CR_HEADER_SIZE];
                struct request rq = {};
                struct cr_buf out;
                uint8_t *payload;
                fake_act act;
                size_t limit;

                if (fake_read(f, fd, hdr, sizeof(hdr)) <= 0)
                        return;
                if (cr_header_decode(hdr, sizeof(hdr), CR_REQUEST_MAX, &rq.h) < 0)
                        return;
                limit = atomic_load(&f->close_if_longer);
                if (limit > 0 && rq.h.length > limit)
                        return;
                payload = malloc(rq.h.length + 1);
                if (!payload)
                        return;
                if (fake_read(f, fd, payload, rq.h.length) <= 0) {
                        free(payload);
                        return;
                }
                request_decode(&rq, payload, rq.h.length);
                free(payload);

                atomic_fetch_add(&f->n_requests, 1);
                atomic_fetch_add(&f->n_type[rq.h.type], 1);

                cr_buf_init(&out, CR_HEADER_SIZE + CR_REPLY_MAX + 64);
                act = atomic_load(&f->script)(f, conn, req, &rq, &out);

                /* Publish the request before answering, so the client sees
                 * it once it has its reply. */
                pthread_mutex_lock(&f->lock);
                request_clear(&f->last);
                f->last = rq;
                pthread_mutex_unlock(&f->lock);

                if (act == ACT_DELAY_SEND) {
                        struct timespec ts = { .tv_sec = atomic_load(&f->delay_ms) / 1000,
                                               .tv_nsec = (long) (atomic_load(&f->delay_ms) % 1000) * 1000000L };
                        nanosleep(&ts, NULL);
                }
                if (act != ACT_CLOSE)
                        fake_write(fd, &out);
                cr_buf_done(&out);

                if (act == ACT_CLOSE || act == ACT_SEND_CLOSE)
                        return;
                if (act == ACT_HANG) {
                        (void) fake_wait(f, fd);   /* until the client closes or we stop */
                        return;
                }
        }
}

static void *fake_main(void *arg) {
        struct fake *f = arg;

        for (unsigned conn = 0;; conn++) {
                int fd;
                if (!fake_wait(f, f->listen_fd))
                        return NULL;
                fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        conn--;
                        continue;
                }
                atomic_fetch_add(&f->n_conns, 1);
                fake_serve(f, fd, conn);
                close(fd);
        }
}

/* ---- replies the scripts send ----------------------------------------------- */

static void reply_decision(struct cr_buf *out, uint32_t id, bool allowed, uint8_t reason, const char *role,
                           const char *account, const char *detail) {
        struct cr_decision d = { .allowed = allowed, .reason = reason, .role = (char *) role,
                                 .account = (char *) account, .detail = (char *) detail };
        cr_frame_begin(out, CR_MSG_DECISION, id);
        cr_put_decision(out, &d);
        FAKE_CHECK(cr_frame_end(out) == 0);
}

static void reply_error(struct cr_buf *out, uint32_t id, int32_t e, const char *msg) {
        cr_frame_begin(out, CR_MSG_ERROR, id);
        cr_put_i32(out, e);
        cr_put_str(out, msg);
        FAKE_CHECK(cr_frame_end(out) == 0);
}

static void reply_raw_header(struct cr_buf *out, uint8_t type, uint32_t id, uint32_t length) {
        uint8_t h[CR_HEADER_SIZE];
        cr_header_encode(h, type, id, length);
        out->len = 0;
        cr_put_bytes(out, h, sizeof(h));
}

/* The policy of the fake: calls.view on inbound calls (or with no direction
 * given) is allowed for alice; everything else is "not granted". */
static bool fake_decide(const struct cr_check *k) {
        if (!streq_ptr(k->user, "alice") || !streq_ptr(k->permission, "calls.view"))
                return false;
        for (size_t i = 0; i < k->n_attrs; i++)
                if (streq_ptr(k->attr_keys[i], "direction") && !streq_ptr(k->attr_values[i], "inbound"))
                        return false;
        return true;
}

static void put_fake_decision(struct cr_buf *out, const struct cr_check *k) {
        bool ok = fake_decide(k);
        struct cr_decision d = {
                .allowed = ok,
                .reason = ok ? CR_REASON_NONE : CR_REASON_NOT_GRANTED,
                .role = (char *) "call-agent",
                .account = (char *) (isempty(k->account) ? "default" : k->account),
                .detail = (char *) (ok ? "" : "call-agent does not hold this permission"),
        };
        cr_put_decision(out, &d);
}

/* The normal answer: decisions for checks; for everything else one record
 * echoing the parameters plus one naming the method, except that scope
 * answers "nothing visible" (no records) for permission calls.none. */
static fake_act answer(struct fake *f, unsigned conn, unsigned req, const struct request *rq, struct cr_buf *out) {
        if (!rq->decoded) {
                reply_error(out, rq->h.id, -EBADMSG, "fake: request did not decode");
                return ACT_SEND;
        }
        if (rq->h.type == CR_MSG_CHECK) {
                cr_frame_begin(out, CR_MSG_DECISION, rq->h.id);
                put_fake_decision(out, &rq->check);
        } else if (rq->h.type == CR_MSG_CHECK_BATCH) {
                cr_frame_begin(out, CR_MSG_DECISIONS, rq->h.id);
                cr_put_u16(out, (uint16_t) rq->n_batch);
                for (size_t i = 0; i < rq->n_batch; i++)
                        put_fake_decision(out, &rq->batch[i]);
        } else {
                struct cr_records l = {};
                struct cr_record *r;

                if (!(rq->h.type == CR_MSG_SCOPE && streq_ptr(cr_record_get(&rq->params, "permission"), "calls.none"))) {
                        r = cr_records_append(&l);
                        FAKE_CHECK(r);
                        for (size_t i = 0; i < rq->params.n_fields; i++) {
                                const struct cr_field *fl = &rq->params.fields[i];
                                FAKE_CHECK(cr_record_add_empty(r, fl->key) == 0);
                                for (size_t j = 0; j < fl->n_values; j++)
                                        FAKE_CHECK(cr_record_add(r, fl->key, fl->values[j]) == 0);
                        }
                        r = cr_records_append(&l);
                        FAKE_CHECK(r);
                        FAKE_CHECK(cr_record_add(r, "method", cr_msg_type_to_string(rq->h.type)) == 0);
                }
                cr_frame_begin(out, CR_MSG_RECORDS, rq->h.id);
                cr_put_records(out, &l);
                cr_records_clear(&l);
        }
        FAKE_CHECK(cr_frame_end(out) == 0);
        return ACT_SEND;
}

static void fake_start(struct fake *f) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memset(f, 0, sizeof(*f));
        atomic_init(&f->script, answer);
        pthread_mutex_init(&f->lock, NULL);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-client-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_true((size_t) snprintf(f->path, sizeof(f->path), "%s/socket", f->dir) < sizeof(f->path));
        memcpy(sa.sun_path, f->path, strlen(f->path) + 1);

        f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(f->listen_fd >= 0);
        assert_int_equal(bind(f->listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(f->listen_fd, 16), 0);
        assert_int_equal(pipe2(f->stop, O_CLOEXEC), 0);
        assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
        f->running = true;
}

static void fake_stop(struct fake *f) {
        if (!f->running)
                return;
        assert_int_equal(write(f->stop[1], "x", 1), 1);
        pthread_join(f->thread, NULL);
        close(f->stop[0]);
        close(f->stop[1]);
        close(f->listen_fd);
        unlink(f->path);
        rmdir(f->dir);
        request_clear(&f->last);
        pthread_mutex_destroy(&f->lock);
        f->running = false;
}

/* The newest request's check (copied out under the lock). */
static void last_check_user_perm(struct fake *f, char *user, char *perm, char *account, size_t *n_attrs,
                                 uint32_t *flags, char *as_user) {
        pthread_mutex_lock(&f->lock);
        snprintf(user, 80, "%s", f->last.check.user ? f->last.check.user : "(null)");
        snprintf(perm, 80, "%s", f->last.check.permission ? f->last.check.permission : "(null)");
        snprintf(account, 80, "%s", f->last.check.account ? f->last.check.account : "(null)");
        *n_attrs = f->last.check.n_attrs;
        *flags = f->last.flags;
        snprintf(as_user, 80, "%s", f->last.as_user ? f->last.as_user : "(null)");
        pthread_mutex_unlock(&f->lock);
}

/* ---- fixture ------------------------------------------------------------------ */

struct fixture {
        struct fake f;
        callrole *c;
};

static int setup(void **state) {
        struct fixture *fx = calloc(1, sizeof(*fx));
        assert_non_null(fx);
        fake_start(&fx->f);
        assert_int_equal(callrole_new(&fx->c), 0);
        assert_int_equal(callrole_set_socket(fx->c, fx->f.path), 0);
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        struct fixture *fx = *state;
        callrole_free(fx->c);
        fake_stop(&fx->f);
        free(fx);
        return 0;
}

static uint64_t now_msec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void assert_contains(const char *haystack, const char *needle) {
        if (!haystack || !strstr(haystack, needle))
                fail_msg("expected \"%s\" in \"%s\"", needle, haystack ? haystack : "(null)");
}

/* ---- checks ------------------------------------------------------------------- */

static void test_check_allow_deny(void **state) {
        struct fixture *fx = *state;
        callrole_attr in[] = { { "direction", "inbound" }, { "assignee", "alice" } };
        callrole_attr out[] = { { "direction", "outbound" } };
        callrole_decision *d = NULL;
        char user[80], perm[80], account[80], as_user[80];
        uint32_t flags;
        size_t n;

        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, in, 2, &d), 1);
        assert_non_null(d);
        assert_int_equal(callrole_decision_allowed(d), 1);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_NONE);
        assert_string_equal(callrole_decision_role(d), "call-agent");
        assert_string_equal(callrole_decision_account(d), "default");
        assert_string_equal(callrole_decision_detail(d), "");
        d = callrole_decision_free(d);
        assert_null(d);
        assert_null(callrole_last_error(fx->c));

        /* What went over the wire. */
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_string_equal(user, "alice");
        assert_string_equal(perm, "calls.view");
        assert_string_equal(account, "");
        assert_int_equal(n, 2);
        assert_int_equal(flags, 0);
        assert_string_equal(as_user, "");

        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", "acme", out, 1, &d), 0);
        assert_int_equal(callrole_decision_allowed(d), 0);
        assert_int_equal(callrole_decision_reason(d), CALLROLE_REASON_NOT_GRANTED);
        assert_string_equal(callrole_decision_account(d), "acme");
        assert_string_equal(callrole_decision_detail(d), "call-agent does not hold this permission");
        callrole_decision_free(d);

        /* Without ret_decision, and for another user. */
        assert_int_equal(callrole_check(fx->c, "bob", "calls.view", NULL, NULL, 0, NULL), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);

        /* The prefix carries dry-run and as-user. */
        assert_int_equal(callrole_set_dry_run(fx->c, 7), 0);
        assert_int_equal(callrole_set_as_user(fx->c, "boss"), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_int_equal(flags, CR_FLAG_DRY_RUN);
        assert_string_equal(as_user, "boss");
        assert_int_equal(callrole_set_dry_run(fx->c, 0), 0);
        assert_int_equal(callrole_set_as_user(fx->c, NULL), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_int_equal(flags, 0);
        assert_string_equal(as_user, "");

        /* One connection served all of it; ids kept increasing. */
        assert_int_equal(atomic_load(&fx->f.n_conns), 1);
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_CHECK]), 6);
}

/* Keep-alive off: every request is flagged LAST and goes on a connection of
 * its own; on again, one connection carries the calls. */
static void test_keep_alive(void **state) {
        struct fixture *fx = *state;
        char user[80], perm[80], account[80], as_user[80];
        uint32_t flags;
        size_t n;

        assert_int_equal(callrole_set_keep_alive(NULL, 0), -EINVAL);
        assert_int_equal(callrole_set_keep_alive(fx->c, 0), 0);
        for (unsigned i = 1; i <= 3; i++) {
                assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
                last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
                assert_int_equal(flags, CR_FLAG_LAST);
                assert_int_equal(atomic_load(&fx->f.n_conns), i);
        }
        /* With the other prefix flag. */
        assert_int_equal(callrole_set_dry_run(fx->c, 1), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_int_equal(flags, CR_FLAG_DRY_RUN | CR_FLAG_LAST);
        assert_int_equal(atomic_load(&fx->f.n_conns), 4);
        assert_int_equal(callrole_set_dry_run(fx->c, 0), 0);

        /* Back on: the next call connects once more, and stays. */
        assert_int_equal(callrole_set_keep_alive(fx->c, 1), 0);
        for (unsigned i = 0; i < 2; i++) {
                assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
                last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
                assert_int_equal(flags, 0);
                assert_int_equal(atomic_load(&fx->f.n_conns), 5);
        }
        /* Off while a connection is open: it is not reused for a LAST
         * request. */
        assert_int_equal(callrole_set_keep_alive(fx->c, 0), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_int_equal(flags, CR_FLAG_LAST);
        assert_int_equal(atomic_load(&fx->f.n_conns), 6);
}

/* A daemon from before CR_FLAG_LAST: the flag is an unknown bit, refused
 * as a malformed prefix, and the connection closed; nothing is done. */
static fake_act script_no_last(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                               struct cr_buf *out) {
        if (rq->flags & CR_FLAG_LAST) {
                reply_error(out, rq->h.id, -EBADMSG, "malformed request prefix (flags, as-user)");
                return ACT_SEND_CLOSE;
        }
        return answer(f, conn, req, rq, out);
}

/* Keep-alive off against such a daemon: a call is refused, sent again
 * without the flag within the same call, and succeeds; later calls to that
 * socket are not flagged, until the socket is set again. */
static void test_keep_alive_old_daemon(void **state) {
        struct fixture *fx = *state;
        char user[80], perm[80], account[80], as_user[80];
        callrole_reply *rep = NULL;
        uint32_t flags;
        size_t n;

        atomic_store(&fx->f.script, script_no_last);
        assert_int_equal(callrole_set_keep_alive(fx->c, 0), 0);

        /* A change first: refused at the prefix, where nothing is done, so
         * it is sent again, once. */
        assert_int_equal(callrole_call(fx->c, "user.add", NULL, &rep), 0);
        callrole_reply_free(rep);
        assert_null(callrole_last_error(fx->c));
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_USER_ADD]), 2);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_int_equal(flags, 0);   /* the last request the fake saw: the resent one */

        /* Later calls go unflagged at once, still one connection each. */
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_int_equal(flags, 0);
        assert_int_equal(atomic_load(&fx->f.n_requests), 3);
        assert_int_equal(atomic_load(&fx->f.n_conns), 3);

        /* The socket set again may be a newer daemon: flag, be refused,
         * fall back. */
        assert_int_equal(callrole_set_socket(fx->c, fx->f.path), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_null(callrole_last_error(fx->c));
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_CHECK]), 3);
        assert_int_equal(atomic_load(&fx->f.n_conns), 5);
}

/* A refusal that is not about the flag is the answer: nothing is sent
 * twice, and the next request is flagged as before. */
static fake_act script_bad_request(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                   struct cr_buf *out) {
        if (rq->h.type == CR_MSG_USER_ADD || streq_ptr(rq->check.user, "mallory")) {
                reply_error(out, rq->h.id, -EBADMSG, rq->h.type == CR_MSG_USER_ADD ? "malformed request record"
                                                                                   : "malformed check request");
                return ACT_SEND_CLOSE;
        }
        return answer(f, conn, req, rq, out);
}

static void test_keep_alive_refusal_not_resent(void **state) {
        struct fixture *fx = *state;
        char user[80], perm[80], account[80], as_user[80];
        callrole_reply *rep = NULL;
        uint32_t flags;
        size_t n;

        atomic_store(&fx->f.script, script_bad_request);
        assert_int_equal(callrole_set_keep_alive(fx->c, 0), 0);
        assert_int_equal(callrole_call(fx->c, "user.add", NULL, &rep), -EBADMSG);
        assert_null(rep);
        assert_string_equal(callrole_last_error(fx->c), "malformed request record");
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_USER_ADD]), 1);
        /* A read too. */
        assert_int_equal(callrole_check(fx->c, "mallory", "calls.view", NULL, NULL, 0, NULL), -EBADMSG);
        assert_string_equal(callrole_last_error(fx->c), "malformed check request");
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_CHECK]), 1);
        /* And the flag is still sent. */
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        last_check_user_perm(&fx->f, user, perm, account, &n, &flags, as_user);
        assert_int_equal(flags, CR_FLAG_LAST);
        assert_int_equal(atomic_load(&fx->f.n_requests), 3);
}

static fake_act script_error(struct fake *f, unsigned conn, unsigned req, const struct request *rq, struct cr_buf *out) {
        if (req == 0 || req == 2) {
                reply_error(out, rq->h.id, -EPERM, "user.add needs users.create in account 'default'");
                return ACT_SEND;
        }
        if (req == 1) {
                reply_error(out, rq->h.id, -ENOTUNIQ, "");
                return ACT_SEND;
        }
        return answer(f, conn, req, rq, out);
}

static void test_error_reply(void **state) {
        struct fixture *fx = *state;
        callrole_decision *d = (callrole_decision *) 0x1;
        callrole_reply *rep = (callrole_reply *) 0x1;

        atomic_store(&fx->f.script, script_error);
        assert_int_equal(callrole_call(fx->c, "user.add", NULL, &rep), -EPERM);
        assert_ptr_equal(rep, (callrole_reply *) 0x1);
        assert_string_equal(callrole_last_error(fx->c), "user.add needs users.create in account 'default'");

        /* An empty message leaves no message (the code says it all). */
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, &d), -ENOTUNIQ);
        assert_ptr_equal(d, (callrole_decision *) 0x1);
        assert_null(callrole_last_error(fx->c));

        /* An ordinary error keeps the connection; success clears the message. */
        assert_int_equal(callrole_call(fx->c, "user.add", NULL, &rep), -EPERM);
        assert_non_null(callrole_last_error(fx->c));
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_null(callrole_last_error(fx->c));
        assert_int_equal(atomic_load(&fx->f.n_conns), 1);
}

/* ERROR replies with errnos no kernel has, or that read as success. */
static fake_act script_error_range(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                   struct cr_buf *out) {
        static const int32_t bad[] = { -5000, 13, 0, INT32_MIN, -4096 };
        if (req < ELEMENTSOF(bad)) {
                reply_error(out, rq->h.id, bad[req], "strange");
                return ACT_SEND;
        }
        if (req == ELEMENTSOF(bad)) {
                reply_error(out, rq->h.id, -4095, "edge of the range");
                return ACT_SEND;
        }
        return answer(f, conn, req, rq, out);
}

static fake_act script_error_range_conn(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                        struct cr_buf *out) {
        if (req > 0)
                return answer(f, conn, req, rq, out);
        return script_error_range(f, conn, conn, rq, out);
}

static void test_error_reply_range_edges(void **state) {
        struct fixture *fx = *state;

        /* Each refused reply drops the connection, so the script counts
         * connections. */
        atomic_store(&fx->f.script, script_error_range_conn);
        for (unsigned i = 0; i < 5; i++) {
                assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -EBADMSG);
                assert_contains(callrole_last_error(fx->c), "malformed error reply");
        }
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -4095);
        assert_string_equal(callrole_last_error(fx->c), "edge of the range");
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
}

static fake_act script_bad_id(struct fake *f, unsigned conn, unsigned req, const struct request *rq, struct cr_buf *out) {
        if (conn == 0) {
                reply_decision(out, rq->h.id + 1, true, CR_REASON_NONE, "admin", "default", "");
                return ACT_SEND;
        }
        return answer(f, conn, req, rq, out);
}

static void test_id_mismatch(void **state) {
        struct fixture *fx = *state;
        callrole_decision *d = NULL;

        atomic_store(&fx->f.script, script_bad_id);
        assert_int_equal(callrole_check(fx->c, "bob", "calls.view", NULL, NULL, 0, &d), -EBADMSG);
        assert_null(d);
        assert_contains(callrole_last_error(fx->c), "was asked");
        /* The connection was dropped: the next call gets a fresh one and its
         * own answer (deny for bob), not the stray "allow". */
        assert_int_equal(callrole_check(fx->c, "bob", "calls.view", NULL, NULL, 0, NULL), 0);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
}

static fake_act script_error_id0(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                 struct cr_buf *out) {
        if (conn == 0) {
                reply_error(out, 0, -EMSGSIZE, "frame larger than 262144 bytes");
                return ACT_SEND;
        }
        return answer(f, conn, req, rq, out);
}

static void test_error_id_zero(void **state) {
        struct fixture *fx = *state;

        /* The daemon's answer to a frame whose id it could not read. */
        atomic_store(&fx->f.script, script_error_id0);
        assert_int_equal(callrole_status(fx->c, NULL), -EMSGSIZE);
        assert_string_equal(callrole_last_error(fx->c), "frame larger than 262144 bytes");
        assert_int_equal(callrole_status(fx->c, NULL), 0);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
}

static fake_act script_huge(struct fake *f, unsigned conn, unsigned req, const struct request *rq, struct cr_buf *out) {
        reply_raw_header(out, CR_MSG_DECISION, rq->h.id, CR_REPLY_MAX + 1);
        return ACT_HANG;
}

static void test_reply_too_large(void **state) {
        struct fixture *fx = *state;
        uint64_t t0, elapsed;

        atomic_store(&fx->f.script, script_huge);
        /* Refused from the header alone: no wait for (or allocation of) the
         * announced payload, which never comes. */
        assert_int_equal(callrole_set_timeout(fx->c, 2000 * 1000), 0);
        t0 = now_msec();
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -EMSGSIZE);
        elapsed = now_msec() - t0;
        assert_true(elapsed < 1000);
        assert_contains(callrole_last_error(fx->c), "more than the limit");
}

static fake_act script_malformed(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                 struct cr_buf *out) {
        switch (conn) {
        case 0: /* a DECISION with a trailing byte */
                reply_decision(out, rq->h.id, true, CR_REASON_NONE, "admin", "default", "");
                cr_put_u8(out, 0);
                /* patch the length to include the extra byte */
                cr_header_encode(out->data, CR_MSG_DECISION, rq->h.id, (uint32_t) (out->len - CR_HEADER_SIZE));
                return ACT_SEND;
        case 1: /* RECORDS in answer to a CHECK */
                cr_frame_begin(out, CR_MSG_RECORDS, rq->h.id);
                cr_put_u32(out, 0);
                cr_frame_end(out);
                return ACT_SEND;
        case 2: /* bad magic */
                reply_raw_header(out, CR_MSG_DECISION, rq->h.id, 0);
                out->data[0] = 'X';
                return ACT_SEND;
        case 3: /* another protocol version */
                reply_raw_header(out, CR_MSG_DECISION, rq->h.id, 0);
                out->data[2] = CR_WIRE_VERSION + 1;
                return ACT_SEND;
        case 4: /* allowed with a reason: contradictory */
                reply_decision(out, rq->h.id, true, CR_REASON_DISABLED, "admin", "default", "");
                return ACT_SEND;
        case 5: /* RECORDS announcing 50000 records (within CR_RECORDS_MAX) in 8 bytes */
                cr_frame_begin(out, CR_MSG_RECORDS, rq->h.id);
                cr_put_u32(out, 50000);
                cr_put_u32(out, 0);
                cr_frame_end(out);
                return ACT_SEND;
        case 6: /* an ERROR whose message runs past the payload */
                cr_frame_begin(out, CR_MSG_ERROR, rq->h.id);
                cr_put_i32(out, -EPERM);
                cr_put_u16(out, 50);
                cr_put_bytes(out, "short", 5);
                cr_frame_end(out);
                return ACT_SEND;
        default:
                return answer(f, conn, req, rq, out);
        }
}

static void test_malformed_replies(void **state) {
        struct fixture *fx = *state;
        callrole_reply *rep = NULL;

        atomic_store(&fx->f.script, script_malformed);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -EBADMSG);
        assert_contains(callrole_last_error(fx->c), "malformed decision");
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -EBADMSG);
        assert_contains(callrole_last_error(fx->c), "type 0x04");
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -EBADMSG);
        assert_contains(callrole_last_error(fx->c), "not callroled");
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -EPROTONOSUPPORT);
        assert_contains(callrole_last_error(fx->c), "version 2");
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -EBADMSG);
        assert_int_equal(callrole_status(fx->c, &rep), -EBADMSG);
        assert_null(rep);
        assert_contains(callrole_last_error(fx->c), "malformed list of records");
        assert_int_equal(callrole_status(fx->c, &rep), -EBADMSG);
        assert_contains(callrole_last_error(fx->c), "malformed error reply");
        /* Every refusal dropped its connection; the next one works. */
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(atomic_load(&fx->f.n_conns), 8);
}

/* Connection 0: answer the first request; the second gets a reply cut short. */
static fake_act script_truncated(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                 struct cr_buf *out) {
        if (conn == 0 && req == 1) {
                reply_raw_header(out, CR_MSG_DECISION, rq->h.id, 100);
                cr_put_bytes(out, "0123456789", 10);
                return ACT_SEND_CLOSE;
        }
        return answer(f, conn, req, rq, out);
}

static void test_truncated_reply(void **state) {
        struct fixture *fx = *state;

        atomic_store(&fx->f.script, script_truncated);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -ECONNRESET);
        assert_contains(callrole_last_error(fx->c), "in the middle of its reply");
        /* Part of the reply had come: not retried, even for a read. */
        assert_int_equal(atomic_load(&fx->f.n_requests), 2);
        assert_int_equal(atomic_load(&fx->f.n_conns), 1);
}

static fake_act script_hang(struct fake *f, unsigned conn, unsigned req, const struct request *rq, struct cr_buf *out) {
        out->len = 0;
        return ACT_HANG;
}

static void test_timeout(void **state) {
        struct fixture *fx = *state;
        uint64_t t0, elapsed;

        atomic_store(&fx->f.script, script_hang);
        assert_int_equal(callrole_set_timeout(fx->c, 200 * 1000), 0);
        t0 = now_msec();
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -ETIMEDOUT);
        elapsed = now_msec() - t0;
        assert_true(elapsed >= 200);
        /* The bound is loose so a loaded CI host does not fail it, yet it
         * still tells the set 200 ms deadline from the 5 s default (and
         * from no deadline at all, which would hang). */
        assert_true(elapsed < 1500);
        assert_contains(callrole_last_error(fx->c), "did not answer within 200 ms");
        /* Not retried. */
        assert_int_equal(atomic_load(&fx->f.n_requests), 1);

        /* A change that timed out says it may have been applied. */
        t0 = now_msec();
        assert_int_equal(callrole_call(fx->c, "user.delete", NULL, NULL), -ETIMEDOUT);
        assert_true(now_msec() - t0 < 1500);   /* 200 ms set, 5 s default: see above */
        assert_contains(callrole_last_error(fx->c), "may or may not have been applied");
}

/* Connection 0 answers late; later connections answer at once. */
static fake_act script_late(struct fake *f, unsigned conn, unsigned req, const struct request *rq, struct cr_buf *out) {
        fake_act a = answer(f, conn, req, rq, out);
        return conn == 0 ? ACT_DELAY_SEND : a;
}

static void test_late_reply_not_mistaken(void **state) {
        struct fixture *fx = *state;

        atomic_store(&fx->f.script, script_late);
        atomic_store(&fx->f.delay_ms, 400);
        assert_int_equal(callrole_set_timeout(fx->c, 200 * 1000), 0);
        /* "allow" arrives after the deadline ... */
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), -ETIMEDOUT);
        /* ... and must not be read as the answer to this "deny". */
        assert_int_equal(callrole_set_timeout(fx->c, 3000 * 1000), 0);
        assert_int_equal(callrole_check(fx->c, "bob", "calls.view", NULL, NULL, 0, NULL), 0);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
        /* 0 restores the default (5 s), which is ample here. */
        assert_int_equal(callrole_set_timeout(fx->c, 0), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
}

/* test_no_server()'s scratch folder, removed by its teardown even when an
 * assertion cuts the test short. */
static char no_server_dir[32];

static int no_server_teardown(void **state) {
        char path[64];

        if (no_server_dir[0]) {
                /* The test creates no other entry than its "dead" socket. */
                snprintf(path, sizeof(path), "%s/dead", no_server_dir);
                (void) unlink(path);
                (void) rmdir(no_server_dir);
        }
        no_server_dir[0] = 0;
        return 0;
}

static void test_no_server(void **state) {
        char *dir, path[256];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        callrole *c = NULL;
        int fd;

        snprintf(no_server_dir, sizeof(no_server_dir), "/tmp/test-client-XXXXXX");
        dir = mkdtemp(no_server_dir);
        if (!dir)
                no_server_dir[0] = 0;
        assert_non_null(dir);
        snprintf(path, sizeof(path), "%s/missing", dir);
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, path), 0);

        /* No socket file. */
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, NULL, 0, NULL), -ECONNREFUSED);
        assert_contains(callrole_last_error(c), path);
        assert_contains(callrole_last_error(c), "No such file or directory");
        assert_contains(callrole_last_error(c), "is callroled running?");
        assert_int_equal(callrole_status(c, NULL), -ECONNREFUSED);

        /* A socket file nobody listens on (the daemon died). */
        snprintf(path, sizeof(path), "%s/dead", dir);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
        assert_int_equal(callrole_set_socket(c, path), 0);
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, NULL, 0, NULL), -ECONNREFUSED);
        assert_contains(callrole_last_error(c), "Connection refused");
        assert_contains(callrole_last_error(c), "is callroled running?");

        callrole_free(c);
        unlink(path);
        assert_int_equal(rmdir(dir), 0);
        no_server_dir[0] = 0;
}

static fake_act script_close_after_first(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                         struct cr_buf *out) {
        fake_act a = answer(f, conn, req, rq, out);
        return conn == 0 ? ACT_SEND_CLOSE : a;
}

static void test_reconnect_between_calls(void **state) {
        struct fixture *fx = *state;

        /* The daemon closes the connection after each answer on the first
         * connection (as a restart would). */
        atomic_store(&fx->f.script, script_close_after_first);
        assert_int_equal(callrole_status(fx->c, NULL), 0);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
        assert_null(callrole_last_error(fx->c));
}

/* Connection 0 answers its first request and drops the second unanswered:
 * a daemon dying while it works on a request. */
static fake_act script_drop_second(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                   struct cr_buf *out) {
        fake_act a = answer(f, conn, req, rq, out);
        return conn == 0 && req == 1 ? ACT_CLOSE : a;
}

static void test_retry_read_after_eof(void **state) {
        struct fixture *fx = *state;

        atomic_store(&fx->f.script, script_drop_second);
        assert_int_equal(callrole_status(fx->c, NULL), 0);
        /* A read is resent once on a new connection. */
        assert_int_equal(callrole_check(fx->c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_CHECK]), 2);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
}

static void test_no_retry_change_after_eof(void **state) {
        struct fixture *fx = *state;
        callrole_record *p = NULL;
        callrole_reply *rep = NULL;

        atomic_store(&fx->f.script, script_drop_second);
        assert_int_equal(callrole_record_new(&p), 0);
        assert_int_equal(callrole_record_add(p, "name", "carol"), 0);
        assert_int_equal(callrole_record_add(p, "role", "call-agent"), 0);

        assert_int_equal(callrole_status(fx->c, NULL), 0);
        /* The daemon may have committed it: not resent. */
        assert_int_equal(callrole_call(fx->c, "user.add", p, &rep), -ECONNRESET);
        assert_null(rep);
        assert_contains(callrole_last_error(fx->c), "without answering");
        assert_contains(callrole_last_error(fx->c), "may or may not have been applied");
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_USER_ADD]), 1);
        assert_int_equal(atomic_load(&fx->f.n_conns), 1);

        /* Next call: a fresh connection that works. */
        assert_int_equal(callrole_status(fx->c, NULL), 0);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
        callrole_record_free(p);
}

static void test_retry_dry_run_change_after_eof(void **state) {
        struct fixture *fx = *state;
        callrole_reply *rep = NULL;

        atomic_store(&fx->f.script, script_drop_second);
        assert_int_equal(callrole_set_dry_run(fx->c, 1), 0);
        assert_int_equal(callrole_status(fx->c, NULL), 0);
        /* A dry run commits nothing, so it is as safe to resend as a read. */
        assert_int_equal(callrole_call(fx->c, "user.delete", NULL, &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 2);
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 1), "method"), "user.delete");
        callrole_reply_free(rep);
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_USER_DELETE]), 2);
}

static fake_act script_drop_first(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                  struct cr_buf *out) {
        fake_act a = answer(f, conn, req, rq, out);
        return conn == 0 ? ACT_CLOSE : a;
}

/* Connection 0 follows its first answer with a frame nobody asked for (a
 * duplicate "allow"). */
static fake_act script_unsolicited(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                   struct cr_buf *out) {
        fake_act a = answer(f, conn, req, rq, out);
        if (conn == 0 && req == 0) {
                struct cr_buf extra;
                cr_buf_init(&extra, 4096);
                reply_decision(&extra, rq->h.id + 1, true, CR_REASON_NONE, "admin", "default", "");
                cr_put_bytes(out, extra.data, extra.len);
                cr_buf_done(&extra);
        }
        return a;
}

static void test_unsolicited_bytes_drop_connection(void **state) {
        struct fixture *fx = *state;

        /* Whatever is readable on an idle connection is no answer to the
         * next request: the connection is dropped before sending, so even a
         * change goes out on a fresh one, and the stray "allow" is never
         * read as the next request's answer. */
        atomic_store(&fx->f.script, script_unsolicited);
        assert_int_equal(callrole_check(fx->c, "bob", "calls.view", NULL, NULL, 0, NULL), 0);
        assert_int_equal(callrole_check(fx->c, "bob", "calls.view", NULL, NULL, 0, NULL), 0);
        assert_int_equal(callrole_call(fx->c, "user.add", NULL, NULL), 0);
        assert_int_equal(atomic_load(&fx->f.n_conns), 2);
        assert_int_equal(atomic_load(&fx->f.n_requests), 3);
}

static void test_no_retry_fresh_connection(void **state) {
        struct fixture *fx = *state;

        /* A brand-new connection that breaks says nothing of a restart. */
        atomic_store(&fx->f.script, script_drop_first);
        assert_int_equal(callrole_status(fx->c, NULL), -ECONNRESET);
        assert_int_equal(atomic_load(&fx->f.n_requests), 1);
        assert_int_equal(callrole_status(fx->c, NULL), 0);
}

static void test_no_sigpipe(void **state) {
        struct fixture *fx = *state;
        callrole_record *p = NULL;
        char value[4001];
        int r;

        /* SIGPIPE's default action kills the process: if the library ever
         * wrote to a broken connection without MSG_NOSIGNAL we would die. */
        assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
        memset(value, 'v', sizeof(value) - 1);
        value[sizeof(value) - 1] = 0;
        assert_int_equal(callrole_record_new(&p), 0);
        for (int i = 0; i < 60; i++)
                assert_int_equal(callrole_record_add(p, "name", value), 0);

        /* Larger than a socket buffer, so the fake hangs up mid-send. */
        atomic_store(&fx->f.close_if_longer, 1024);
        r = callrole_call(fx->c, "user.add", p, NULL);
        assert_true(r == -EPIPE || r == -ECONNRESET);
        assert_non_null(callrole_last_error(fx->c));
        assert_int_equal(atomic_load(&fx->f.n_requests), 0);

        /* Too large for the protocol: refused before any I/O. */
        for (int i = 0; i < 10; i++)
                assert_int_equal(callrole_record_add(p, "name", value), 0);
        assert_int_equal(callrole_call(fx->c, "user.add", p, NULL), -EMSGSIZE);
        assert_contains(callrole_last_error(fx->c), "larger than callrole's limit");
        assert_int_equal(atomic_load(&fx->f.n_conns), 1);
        callrole_record_free(p);
}

/* ---- argument validation --------------------------------------------------- */

static void test_invalid_args(void **state) {
        struct fixture *fx = *state;
        callrole *c = fx->c;
        char long_name[CR_NAME_MAX + 2], long_value[CR_STR_MAX + 2];
        callrole_attr attrs[CR_ATTRS_MAX + 1];
        callrole_decision *d = (callrole_decision *) 0x1;
        callrole_reply *rep = (callrole_reply *) 0x1;
        callrole_check_item items[2] = { { "alice", "calls.view", NULL, NULL, 0 }, { "bob", NULL, NULL, NULL, 0 } };
        int allowed[2] = { 7, 7 };
        callrole_reason reasons[2] = { 7, 7 };

        memset(long_name, 'n', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        memset(long_value, 'v', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = 0;
        for (size_t i = 0; i < ELEMENTSOF(attrs); i++)
                attrs[i] = (callrole_attr) { "group", "g1" };

        assert_int_equal(callrole_new(NULL), -EINVAL);
        assert_int_equal(callrole_set_socket(NULL, "/x"), -EINVAL);
        assert_int_equal(callrole_set_socket(c, ""), -EINVAL);
        {
                char p[200];
                memset(p, 'p', sizeof(p) - 1);
                p[0] = '/';
                p[sizeof(p) - 1] = 0;
                assert_int_equal(callrole_set_socket(c, p), -EINVAL);
        }
        assert_int_equal(callrole_set_timeout(NULL, 1), -EINVAL);
        assert_int_equal(callrole_set_as_user(NULL, "x"), -EINVAL);
        assert_int_equal(callrole_set_as_user(c, long_name), -EINVAL);
        assert_int_equal(callrole_set_dry_run(NULL, 1), -EINVAL);
        assert_null(callrole_last_error(NULL));

        assert_int_equal(callrole_check(NULL, "alice", "calls.view", NULL, NULL, 0, &d), -EINVAL);
        assert_int_equal(callrole_check(c, NULL, "calls.view", NULL, NULL, 0, &d), -EINVAL);
        assert_contains(callrole_last_error(c), "user name is missing");
        assert_int_equal(callrole_check(c, "", "calls.view", NULL, NULL, 0, &d), -EINVAL);
        assert_int_equal(callrole_check(c, "alice", NULL, NULL, NULL, 0, &d), -EINVAL);
        assert_contains(callrole_last_error(c), "permission is missing");
        assert_int_equal(callrole_check(c, long_name, "calls.view", NULL, NULL, 0, &d), -EINVAL);
        assert_contains(callrole_last_error(c), "longer than 64 bytes");
        assert_int_equal(callrole_check(c, "alice", long_name, NULL, NULL, 0, &d), -EINVAL);
        assert_int_equal(callrole_check(c, "alice", "calls.view", long_name, NULL, 0, &d), -EINVAL);
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, attrs, CR_ATTRS_MAX + 1, &d), -EINVAL);
        assert_contains(callrole_last_error(c), "at most 16 attributes");
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, NULL, 1, &d), -EINVAL);
        attrs[3].key = NULL;
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, attrs, 4, &d), -EINVAL);
        attrs[3] = (callrole_attr) { "group", NULL };
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, attrs, 4, &d), -EINVAL);
        assert_contains(callrole_last_error(c), "attribute 'group' has no value");
        attrs[3] = (callrole_attr) { "group", long_value };
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, attrs, 4, &d), -EINVAL);
        attrs[3] = (callrole_attr) { long_name, "x" };
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, attrs, 4, &d), -EINVAL);
        assert_ptr_equal(d, (callrole_decision *) 0x1);

        assert_int_equal(callrole_check_batch(NULL, items, 1, allowed, reasons), -EINVAL);
        assert_int_equal(callrole_check_batch(c, items, 0, allowed, reasons), 0);
        assert_int_equal(callrole_check_batch(c, NULL, 0, NULL, NULL), 0);
        assert_int_equal(callrole_check_batch(c, items, CR_BATCH_MAX + 1, allowed, reasons), -EINVAL);
        assert_int_equal(callrole_check_batch(c, NULL, 1, allowed, reasons), -EINVAL);
        assert_int_equal(callrole_check_batch(c, items, 1, NULL, reasons), -EINVAL);
        assert_int_equal(callrole_check_batch(c, items, 2, allowed, reasons), -EINVAL);
        assert_contains(callrole_last_error(c), "check 1 of the batch: permission is missing");
        assert_int_equal(allowed[0], 7);
        assert_int_equal(reasons[0], 7);

        assert_int_equal(callrole_call(NULL, "status", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_call(c, NULL, NULL, &rep), -EINVAL);
        assert_int_equal(callrole_call(c, "no.such.method", NULL, &rep), -EINVAL);
        assert_contains(callrole_last_error(c), "unknown callrole method 'no.such.method'");
        assert_int_equal(callrole_call(c, "check", NULL, &rep), -EINVAL);
        assert_contains(callrole_last_error(c), "callrole_check()");
        assert_int_equal(callrole_call(c, "check.batch", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_call(c, "decision", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_call(c, "error", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_call(c, "records", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_call(c, "", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_status(NULL, &rep), -EINVAL);
        assert_int_equal(callrole_user_get(NULL, "alice", &rep), -EINVAL);
        assert_int_equal(callrole_user_get(c, NULL, &rep), -EINVAL);
        assert_int_equal(callrole_user_get(c, long_name, &rep), -EINVAL);
        assert_int_equal(callrole_user_list(NULL, NULL, NULL, &rep), -EINVAL);
        assert_int_equal(callrole_user_list(c, long_name, NULL, &rep), -EINVAL);
        assert_int_equal(callrole_scope(NULL, "alice", "calls.view", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_scope(c, NULL, "calls.view", NULL, &rep), -EINVAL);
        assert_int_equal(callrole_scope(c, "alice", NULL, NULL, &rep), -EINVAL);
        assert_int_equal(callrole_scope(c, "alice", "calls.view", long_name, &rep), -EINVAL);
        assert_ptr_equal(rep, (callrole_reply *) 0x1);

        /* None of it reached the daemon. */
        assert_int_equal(atomic_load(&fx->f.n_conns), 0);
        assert_int_equal(atomic_load(&fx->f.n_requests), 0);

        /* And the handle still works. */
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);
}

static void test_free_null(void **state) {
        assert_null(callrole_free(NULL));
        assert_null(callrole_decision_free(NULL));
        assert_null(callrole_record_free(NULL));
        assert_null(callrole_reply_free(NULL));
        assert_int_equal(callrole_decision_allowed(NULL), -EINVAL);
        assert_int_equal(callrole_decision_reason(NULL), CALLROLE_REASON_NOT_GRANTED);
        assert_null(callrole_decision_role(NULL));
        assert_null(callrole_decision_account(NULL));
        assert_null(callrole_decision_detail(NULL));
}

/* ---- batches ------------------------------------------------------------------ */

static void test_batch(void **state) {
        struct fixture *fx = *state;
        callrole_attr out[] = { { "direction", "outbound" } };
        callrole_check_item items[] = {
                { "alice", "calls.view", NULL, NULL, 0 },
                { "alice", "calls.view", "acme", out, 1 },
                { "bob", "calls.view", NULL, NULL, 0 },
                { "alice", "calls.export", NULL, NULL, 0 },
        };
        int allowed[4] = { -1, -1, -1, -1 };
        callrole_reason reasons[4] = { 99, 99, 99, 99 };

        assert_int_equal(callrole_check_batch(fx->c, items, 4, allowed, reasons), 0);
        assert_int_equal(allowed[0], 1);
        assert_int_equal(allowed[1], 0);
        assert_int_equal(allowed[2], 0);
        assert_int_equal(allowed[3], 0);
        assert_int_equal(reasons[0], CALLROLE_REASON_NONE);
        assert_int_equal(reasons[1], CALLROLE_REASON_NOT_GRANTED);

        /* ret_reasons is optional. */
        memset(allowed, 0, sizeof(allowed));
        assert_int_equal(callrole_check_batch(fx->c, items, 1, allowed, NULL), 0);
        assert_int_equal(allowed[0], 1);

        /* One request per batch. */
        assert_int_equal(atomic_load(&fx->f.n_type[CR_MSG_CHECK_BATCH]), 2);
        pthread_mutex_lock(&fx->f.lock);
        assert_int_equal(fx->f.last.n_batch, 1);
        pthread_mutex_unlock(&fx->f.lock);
}

static void test_batch_max(void **state) {
        struct fixture *fx = *state;
        static callrole_check_item items[CR_BATCH_MAX];
        static int allowed[CR_BATCH_MAX];

        for (size_t i = 0; i < CR_BATCH_MAX; i++)
                items[i] = (callrole_check_item) { i % 2 ? "bob" : "alice", "calls.view", NULL, NULL, 0 };
        assert_int_equal(callrole_check_batch(fx->c, items, CR_BATCH_MAX, allowed, NULL), 0);
        for (size_t i = 0; i < CR_BATCH_MAX; i++)
                assert_int_equal(allowed[i], i % 2 ? 0 : 1);
}

/* Answers a batch of n wrongly: connection 0 with n-1 decisions, connection
 * 1 with n decisions but a count of n+1, connection 2 with n+1 decisions. */
static fake_act script_bad_batch(struct fake *f, unsigned conn, unsigned req, const struct request *rq,
                                 struct cr_buf *out) {
        size_t count = conn == 0 ? rq->n_batch - 1 : rq->n_batch + 1;
        size_t sent = conn == 1 ? rq->n_batch : count;

        if (conn > 2)
                return answer(f, conn, req, rq, out);
        cr_frame_begin(out, CR_MSG_DECISIONS, rq->h.id);
        cr_put_u16(out, (uint16_t) count);
        for (size_t i = 0; i < sent; i++)
                put_fake_decision(out, &rq->batch[i % rq->n_batch]);
        FAKE_CHECK(cr_frame_end(out) == 0);
        return ACT_SEND;
}

static void test_batch_count_mismatch(void **state) {
        struct fixture *fx = *state;
        callrole_check_item items[] = {
                { "alice", "calls.view", NULL, NULL, 0 },
                { "bob", "calls.view", NULL, NULL, 0 },
        };
        int allowed[2] = { 7, 7 };
        callrole_reason reasons[2] = { 7, 7 };

        atomic_store(&fx->f.script, script_bad_batch);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(callrole_check_batch(fx->c, items, 2, allowed, reasons), -EBADMSG);
                assert_contains(callrole_last_error(fx->c), "malformed batch of decisions");
                assert_int_equal(allowed[0], 7);
                assert_int_equal(allowed[1], 7);
                assert_int_equal(reasons[0], 7);
        }
        assert_int_equal(callrole_check_batch(fx->c, items, 2, allowed, reasons), 0);
        assert_int_equal(allowed[0], 1);
        assert_int_equal(allowed[1], 0);
}

/* ---- records and record-shaped methods ------------------------------------- */

static void test_call_records(void **state) {
        struct fixture *fx = *state;
        callrole_record *p = NULL;
        callrole_reply *rep = NULL;
        const callrole_record *r;

        assert_int_equal(callrole_record_new(&p), 0);
        assert_int_equal(callrole_record_add(p, "name", "dave"), 0);
        assert_int_equal(callrole_record_add(p, "groups", "sales"), 0);
        assert_int_equal(callrole_record_add(p, "groups", "support"), 0);
        assert_int_equal(callrole_record_add(p, "ivrs", NULL), 0);

        assert_int_equal(callrole_call(fx->c, "user.set", p, &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 2);
        r = callrole_reply_record(rep, 0);
        assert_non_null(r);
        assert_int_equal(callrole_record_n_fields(r), 3);
        assert_string_equal(callrole_record_key(r, 0), "name");
        assert_string_equal(callrole_record_get(r, "name"), "dave");
        assert_string_equal(callrole_record_key(r, 1), "groups");
        assert_int_equal(callrole_record_n_values(r, 1), 2);
        assert_string_equal(callrole_record_value(r, 1, 0), "sales");
        assert_string_equal(callrole_record_value(r, 1, 1), "support");
        assert_null(callrole_record_value(r, 1, 2));
        assert_string_equal(callrole_record_key(r, 2), "ivrs");
        assert_int_equal(callrole_record_n_values(r, 2), 0);
        assert_null(callrole_record_get(r, "ivrs"));
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 1), "method"), "user.set");
        assert_null(callrole_reply_record(rep, 2));
        rep = callrole_reply_free(rep);

        /* params NULL is an empty record; ret NULL discards the reply. */
        assert_int_equal(callrole_call(fx->c, "role.list", NULL, &rep), 0);
        assert_int_equal(callrole_record_n_fields(callrole_reply_record(rep, 0)), 0);
        rep = callrole_reply_free(rep);
        assert_int_equal(callrole_call(fx->c, "audit", NULL, NULL), 0);

        assert_int_equal(callrole_status(fx->c, &rep), 0);
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 1), "method"), "status");
        rep = callrole_reply_free(rep);

        assert_int_equal(callrole_user_get(fx->c, "erin", &rep), 0);
        r = callrole_reply_record(rep, 0);
        assert_int_equal(callrole_record_n_fields(r), 1);
        assert_string_equal(callrole_record_get(r, "name"), "erin");
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 1), "method"), "user.get");
        rep = callrole_reply_free(rep);

        assert_int_equal(callrole_user_list(fx->c, "call-agent", NULL, &rep), 0);
        r = callrole_reply_record(rep, 0);
        assert_int_equal(callrole_record_n_fields(r), 1);
        assert_string_equal(callrole_record_get(r, "role"), "call-agent");
        assert_null(callrole_record_get(r, "account"));
        rep = callrole_reply_free(rep);
        assert_int_equal(callrole_user_list(fx->c, NULL, "", &rep), 0);
        assert_int_equal(callrole_record_n_fields(callrole_reply_record(rep, 0)), 0);
        assert_string_equal(callrole_record_get(callrole_reply_record(rep, 1), "method"), "user.list");
        rep = callrole_reply_free(rep);

        assert_int_equal(callrole_scope(fx->c, "alice", "calls.view", "acme", &rep), 1);
        r = callrole_reply_record(rep, 0);
        assert_string_equal(callrole_record_get(r, "user"), "alice");
        assert_string_equal(callrole_record_get(r, "permission"), "calls.view");
        assert_string_equal(callrole_record_get(r, "account"), "acme");
        rep = callrole_reply_free(rep);
        assert_int_equal(callrole_scope(fx->c, "alice", "calls.none", NULL, &rep), 0);
        assert_int_equal(callrole_reply_n_records(rep), 0);
        assert_null(callrole_reply_record(rep, 0));
        rep = callrole_reply_free(rep);
        assert_int_equal(callrole_scope(fx->c, "alice", "calls.view", NULL, NULL), 1);

        assert_int_equal(atomic_load(&fx->f.n_conns), 1);
        callrole_record_free(p);
}

static void test_record_accessors(void **state) {
        callrole_record *r = NULL;
        char key[16], long_name[CR_NAME_MAX + 2], long_value[CR_STR_MAX + 2];

        memset(long_name, 'k', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = 0;
        memset(long_value, 'v', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = 0;

        assert_int_equal(callrole_record_new(NULL), -EINVAL);
        assert_int_equal(callrole_record_new(&r), 0);
        assert_int_equal(callrole_record_n_fields(r), 0);
        assert_null(callrole_record_key(r, 0));
        assert_int_equal(callrole_record_n_values(r, 0), 0);
        assert_null(callrole_record_value(r, 0, 0));
        assert_null(callrole_record_get(r, "x"));

        assert_int_equal(callrole_record_add(NULL, "k", "v"), -EINVAL);
        assert_int_equal(callrole_record_add(r, NULL, "v"), -EINVAL);
        assert_int_equal(callrole_record_add(r, "", "v"), -EINVAL);
        assert_int_equal(callrole_record_add(r, long_name, "v"), -EINVAL);
        assert_int_equal(callrole_record_add(r, "k", long_value), -EINVAL);
        assert_int_equal(callrole_record_n_fields(r), 0);

        long_value[CR_STR_MAX] = 0;   /* exactly the limit */
        long_name[CR_NAME_MAX] = 0;
        assert_int_equal(callrole_record_add(r, long_name, long_value), 0);
        assert_int_equal(callrole_record_add(r, "k", "v1"), 0);
        assert_int_equal(callrole_record_add(r, "k", "v2"), 0);
        assert_int_equal(callrole_record_add(r, "empty", NULL), 0);
        assert_int_equal(callrole_record_add(r, "k", NULL), 0);   /* existing key: unchanged */
        assert_int_equal(callrole_record_n_fields(r), 3);
        assert_string_equal(callrole_record_key(r, 0), long_name);
        assert_int_equal(strlen(callrole_record_value(r, 0, 0)), CR_STR_MAX);
        assert_int_equal(callrole_record_n_values(r, 1), 2);
        assert_string_equal(callrole_record_get(r, "k"), "v1");
        assert_string_equal(callrole_record_value(r, 1, 1), "v2");
        assert_null(callrole_record_value(r, 1, 2));
        assert_null(callrole_record_value(r, 3, 0));
        assert_int_equal(callrole_record_n_values(r, 2), 0);
        assert_null(callrole_record_get(r, "empty"));
        assert_null(callrole_record_get(r, NULL));
        assert_null(callrole_record_key(NULL, 0));
        assert_int_equal(callrole_record_n_fields(NULL), 0);
        assert_int_equal(callrole_record_n_values(NULL, 0), 0);
        assert_null(callrole_record_value(NULL, 0, 0));
        assert_null(callrole_record_get(NULL, "k"));
        assert_int_equal(callrole_reply_n_records(NULL), 0);
        assert_null(callrole_reply_record(NULL, 0));

        /* The limits of the daemon's decoder are enforced here. */
        for (unsigned i = 3; i < CR_FIELDS_MAX; i++) {
                snprintf(key, sizeof(key), "f%u", i);
                assert_int_equal(callrole_record_add(r, key, "x"), 0);
        }
        assert_int_equal(callrole_record_n_fields(r), CR_FIELDS_MAX);
        assert_int_equal(callrole_record_add(r, "one-too-many", "x"), -E2BIG);
        assert_int_equal(callrole_record_add(r, "one-too-many", NULL), -E2BIG);
        assert_int_equal(callrole_record_n_fields(r), CR_FIELDS_MAX);
        for (unsigned i = 2; i < CR_VALUES_MAX; i++)
                assert_int_equal(callrole_record_add(r, "k", "v"), 0);
        assert_int_equal(callrole_record_n_values(r, 1), CR_VALUES_MAX);
        assert_int_equal(callrole_record_add(r, "k", "v"), -E2BIG);
        assert_int_equal(callrole_record_n_values(r, 1), CR_VALUES_MAX);

        assert_null(callrole_record_free(r));
}

/* ---- environment, descriptors ------------------------------------------------ */

static void test_env_socket(void **state) {
        struct fake f;
        callrole *c = NULL;

        fake_start(&f);
        assert_int_equal(setenv(CALLROLE_SOCKET_ENV, f.path, 1), 0);
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_status(c, NULL), 0);
        assert_int_equal(atomic_load(&f.n_conns), 1);

        /* An explicit socket wins; NULL goes back to the environment. */
        assert_int_equal(callrole_set_socket(c, "/nonexistent/callrole/socket"), 0);
        assert_int_equal(callrole_status(c, NULL), -ECONNREFUSED);
        assert_contains(callrole_last_error(c), "/nonexistent/callrole/socket");
        assert_int_equal(callrole_set_socket(c, NULL), 0);
        assert_int_equal(callrole_status(c, NULL), 0);
        assert_int_equal(atomic_load(&f.n_conns), 2);
        callrole_free(c);

        /* Unset (or empty): the default path. */
        assert_int_equal(setenv(CALLROLE_SOCKET_ENV, "", 1), 0);
        assert_int_equal(callrole_new(&c), 0);
        if (access(CALLROLE_SOCKET_DEFAULT, F_OK) < 0) {
                assert_true(callrole_status(c, NULL) < 0);
                assert_contains(callrole_last_error(c), CALLROLE_SOCKET_DEFAULT);
        }
        callrole_free(c);
        assert_int_equal(unsetenv(CALLROLE_SOCKET_ENV), 0);
        fake_stop(&f);
}

/* Mark the open descriptors below 1024 in open[]; returns how many, not
 * counting the one reading /proc/self/fd. */
static int list_fds(bool open_fds[1024]) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        memset(open_fds, 0, 1024 * sizeof(bool));
        while ((de = readdir(d))) {
                char *end = NULL;
                long fd = strtol(de->d_name, &end, 10);
                if (de->d_name[0] == '.' || !end || *end || fd == dirfd(d))
                        continue;
                if (fd >= 0 && fd < 1024)
                        open_fds[fd] = true;
                n++;
        }
        closedir(d);
        return n;
}

/* Every descriptor the library opens is close-on-exec, and none leaks,
 * whichever way a call ends. */
static void test_fds(void **state) {
        struct fake f;
        callrole *c = NULL;
        static bool before[1024], now[1024];
        int n_before = list_fds(before), n_cloexec_checked = 0;

        fake_start(&f);
        assert_int_equal(callrole_new(&c), 0);
        assert_int_equal(callrole_set_socket(c, f.path), 0);
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, NULL, 0, NULL), 1);

        /* The new ones: the fake's listening socket, stop pipe and accepted
         * connection (all opened close-on-exec), and the library's socket. */
        (void) list_fds(now);
        for (int fd = 0; fd < 1024; fd++) {
                if (!now[fd] || before[fd])
                        continue;
                assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
                n_cloexec_checked++;
        }
        assert_int_equal(n_cloexec_checked, 5);

        atomic_store(&f.script, script_bad_id);   /* a failure that drops the connection */
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, NULL, 0, NULL), -EBADMSG);
        assert_int_equal(callrole_set_socket(c, "/nonexistent/socket"), 0);
        assert_int_equal(callrole_check(c, "alice", "calls.view", NULL, NULL, 0, NULL), -ECONNREFUSED);
        callrole_free(c);
        fake_stop(&f);
        assert_int_equal(list_fds(now), n_before);
}

/* ---- strings ------------------------------------------------------------------- */

static void test_strerror(void **state) {
        /* Every errno docs/protocol.md lists, plus the connection ones. */
        static const int listed[] = { EBADMSG, EMSGSIZE, EPROTONOSUPPORT, EOPNOTSUPP, EPERM, ENOENT, EEXIST,
                                      EBUSY, EINVAL, ENOTUNIQ, EDQUOT, EROFS, ENOSPC, EIO, ECONNREFUSED,
                                      ETIMEDOUT, ECONNRESET, EPIPE, EACCES };
        char unknown[64];

        for (size_t i = 0; i < ELEMENTSOF(listed); i++) {
                const char *s = callrole_strerror(listed[i]);
                assert_non_null(s);
                assert_true(strlen(s) > 5);
                /* Positive and negative name the same error. */
                assert_string_equal(s, callrole_strerror(-listed[i]));
                /* callrole's own words, not libc's. */
                assert_true(strcmp(s, strerror(listed[i])) != 0);
        }
        assert_string_equal(callrole_strerror(-EPERM), "not allowed by callrole's role rules");
        assert_string_equal(callrole_strerror(-ENOTUNIQ), "user has several accounts: name one");
        assert_contains(callrole_strerror(-ECONNREFUSED), "callroled is not running");
        assert_contains(callrole_strerror(ENOENT), "no such user");

        /* Others come from libc. */
        assert_string_equal(callrole_strerror(-ENOMEM), strerror(ENOMEM));
        snprintf(unknown, sizeof(unknown), "Unknown error %d", 12345);
        assert_string_equal(callrole_strerror(-12345), unknown);
        assert_non_null(callrole_strerror(INT_MIN));
        assert_non_null(callrole_strerror(0));
}

static void *strerror_worker(void *arg) {
        int e = (int) (intptr_t) arg;
        char want[64];
        long bad = 0;

        snprintf(want, sizeof(want), "Unknown error %d", e);
        for (int i = 0; i < 20000; i++) {
                const char *s = callrole_strerror(-e);
                if (strcmp(s, want) != 0)
                        bad++;
        }
        return (void *) (intptr_t) bad;
}

static void test_strerror_threads(void **state) {
        pthread_t t[4];
        void *bad;

        for (int i = 0; i < 4; i++)
                assert_int_equal(pthread_create(&t[i], NULL, strerror_worker, (void *) (intptr_t) (20000 + i)), 0);
        for (int i = 0; i < 4; i++) {
                assert_int_equal(pthread_join(t[i], &bad), 0);
                assert_int_equal((intptr_t) bad, 0);
        }
}

static void test_reason_to_string(void **state) {
        static const char *const names[] = { "none", "no-such-user", "disabled", "no-membership", "not-granted",
                                             "hidden-by-agency", "not-in-plan", "out-of-scope", "condition-failed" };

        for (int i = 0; i < (int) ELEMENTSOF(names); i++)
                assert_string_equal(callrole_reason_to_string((callrole_reason) i), names[i]);
        assert_string_equal(callrole_reason_to_string((callrole_reason) 9), "unknown");
        assert_string_equal(callrole_reason_to_string((callrole_reason) -1), "unknown");
        assert_string_equal(callrole_reason_to_string((callrole_reason) 255), "unknown");
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        const struct CMUnitTest tests[] = {
                T(test_check_allow_deny),
                T(test_keep_alive),
                T(test_keep_alive_old_daemon),
                T(test_keep_alive_refusal_not_resent),
                T(test_error_reply),
                T(test_error_reply_range_edges),
                T(test_id_mismatch),
                T(test_error_id_zero),
                T(test_reply_too_large),
                T(test_malformed_replies),
                T(test_truncated_reply),
                T(test_timeout),
                T(test_late_reply_not_mistaken),
                cmocka_unit_test_teardown(test_no_server, no_server_teardown),
                T(test_reconnect_between_calls),
                T(test_retry_read_after_eof),
                T(test_no_retry_change_after_eof),
                T(test_retry_dry_run_change_after_eof),
                T(test_no_retry_fresh_connection),
                T(test_unsolicited_bytes_drop_connection),
                T(test_no_sigpipe),
                T(test_invalid_args),
                cmocka_unit_test(test_free_null),
                T(test_batch),
                T(test_batch_max),
                T(test_batch_count_mismatch),
                T(test_call_records),
                cmocka_unit_test(test_record_accessors),
                cmocka_unit_test(test_env_socket),
                cmocka_unit_test(test_fds),
                cmocka_unit_test(test_strerror),
                cmocka_unit_test(test_strerror_threads),
                cmocka_unit_test(test_reason_to_string),
        };
#undef T
        /* Whatever the environment says, the tests choose their sockets. */
        unsetenv(CALLROLE_SOCKET_ENV);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
