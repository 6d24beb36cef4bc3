/*
 * client.c: libcallrole's connection handle and requests (callrole.h).
 *
 * Host software links this into processes that must never hang or die
 * because of callrole: login paths (the PAM module runs inside sshd, login,
 * su), softphone hosts, recording agents.  So every call is bounded by one
 * deadline on CLOCK_MONOTONIC that covers connecting, sending, reading and
 * a possible reconnect; the socket is non-blocking and every wait is a
 * poll() for the time left; send() uses MSG_NOSIGNAL so a daemon going away
 * never raises SIGPIPE in the host; every descriptor is close-on-exec; the
 * library installs no signal handler, keeps no global mutable state (only
 * callrole_strerror's thread-local buffer), never logs and never aborts.
 *
 * Connection state invariants (struct callrole):
 *   1. fd is -1, or a connected socket on which every request sent so far
 *      has had its reply read completely.  Any failure that may leave bytes
 *      of an old exchange in flight (timeout, short read, malformed or
 *      mismatched reply) closes fd, so a late reply can never be taken for
 *      the answer to a later request.
 *   2. An fd that is open when a call starts has carried at least one whole
 *      exchange; only such a connection may be retried after it breaks,
 *      because only then can the break mean "the daemon restarted since".
 *   3. Request ids increase per handle and skip 0, which the daemon uses in
 *      an ERROR reply to a frame whose id it could not read.
 *   4. Without keep-alive, every request is sent flagged CR_FLAG_LAST
 *      (unless the daemon refused the flag, see last_flag_refused()) and fd
 *      is closed when the call ends, whatever the outcome: the daemon
 *      closes its end after the reply, so the connection is of no further
 *      use, and no call ever starts on one that carried a LAST request.
 *
 * Threads: a handle is used by one thread at a time (callrole.h).  A handle
 * must not be used on both sides of fork(): parent and child would share
 * one connection and read each other's replies.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "callrole.h"
#include "client.h"
#include "macro.h"

typedef uint64_t usec_t;

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)
#define TIMEOUT_DEFAULT (5 * USEC_PER_SEC)
/* While a listening socket's backlog is full, a non-blocking AF_UNIX
 * connect() fails with EAGAIN instead of queueing; retry this often. */
#define CONNECT_RETRY_USEC (10 * USEC_PER_MSEC)

struct callrole {
        char *socket_path;
        bool socket_from_env;   /* for messages: where the path came from */
        usec_t timeout;
        char *as_user;          /* NULL: act as the peer */
        bool dry_run;
        bool keep_alive;        /* false: every request is flagged LAST (invariant 4) */
        bool last_unsupported;  /* this socket's daemon refused CR_FLAG_LAST: do not send it */
        int fd;
        uint32_t next_id;
        char *last_error;
};

struct callrole_decision {
        struct cr_decision d;
};

/* A whole reply frame, read and checked against the request. */
struct reply {
        uint8_t type;
        uint8_t *payload;
        size_t len;
};

static void reply_done(struct reply *r) {
        free(r->payload);
        *r = (struct reply) {};
}

static void buf_donep(struct cr_buf *b) {
        cr_buf_done(b);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_decision *, callrole_decision_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_reply *, callrole_reply_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(callrole_record *, callrole_record_free);

/* ---- time -------------------------------------------------------------- */

static usec_t now_usec(void) {
        struct timespec ts;

        /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static usec_t deadline_after(usec_t timeout) {
        usec_t n = now_usec();
        return timeout > UINT64_MAX - n ? UINT64_MAX : n + timeout;
}

/* Milliseconds left for poll(), rounded up so we never wake early and spin;
 * -ETIMEDOUT once the deadline has passed. */
static int remaining_msec(usec_t deadline, int *ret) {
        usec_t n = now_usec(), left;

        if (n >= deadline)
                return -ETIMEDOUT;
        left = (deadline - n + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
        *ret = left > INT_MAX ? INT_MAX : (int) left;
        return 0;
}

/* ---- messages ---------------------------------------------------------- */

static void clear_error(callrole *c) {
        free(c->last_error);
        c->last_error = NULL;
}

static void set_error(callrole *c, const char *fmt, ...) _printf_(2, 3);
static void set_error(callrole *c, const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        free(c->last_error);
        /* Out of memory: no message, the error code still says what failed. */
        c->last_error = k < 0 ? NULL : s;
}

static const char *path_origin(const callrole *c) {
        return c->socket_from_env ? " (from $" CALLROLE_SOCKET_ENV ")" : "";
}

/* ---- connection -------------------------------------------------------- */

static void connection_close(callrole *c) {
        if (c->fd >= 0)
                (void) close(c->fd);
        c->fd = -1;
}

/* Invariant 1 says nothing is due on an idle connection, so anything
 * readable (bytes, EOF, an error) means it is no use any more: most often
 * the daemon restarted and closed it.  Dropping it before sending is safe
 * for every request, changes included, since nothing has been sent yet. */
static bool connection_is_stale(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int k;

        do
                k = poll(&p, 1, 0);
        while (k < 0 && errno == EINTR);
        return k != 0;
}

static int wait_fd(int fd, short events, usec_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                int ms, k;

                k = remaining_msec(deadline, &ms);
                if (k < 0)
                        return k;
                k = poll(&p, 1, ms);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k > 0)
                        return 0;   /* ready, or an error the next call reports */
        }
}

static int connect_socket(callrole *c, usec_t deadline) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t l = strlen(c->socket_path);
        int k;

        if (l == 0 || l >= sizeof(sa.sun_path)) {
                set_error(c, "cannot connect to callroled: socket path '%s'%s is longer than %zu bytes",
                          c->socket_path, path_origin(c), sizeof(sa.sun_path) - 1);
                return -ENAMETOOLONG;
        }
        memcpy(sa.sun_path, c->socket_path, l);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                k = negative_errno();
                set_error(c, "cannot create a socket to reach callroled: %s", strerror(-k));
                return k;
        }

        for (;;) {
                socklen_t sl;
                int soerr = 0;

                if (connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l + 1)) == 0)
                        break;
                k = negative_errno();
                if (k == -EAGAIN) {
                        int ms;
                        /* Backlog full: no connection is pending, try anew. */
                        if (remaining_msec(deadline, &ms) < 0) {
                                k = -ETIMEDOUT;
                                goto fail;
                        }
                        (void) poll(NULL, 0, ms < 10 ? ms : (int) (CONNECT_RETRY_USEC / USEC_PER_MSEC));
                        continue;
                }
                if (k != -EINPROGRESS && k != -EINTR)
                        goto fail;
                k = wait_fd(fd, POLLOUT, deadline);
                if (k < 0)
                        goto fail;
                sl = sizeof(soerr);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
                        k = negative_errno();
                        goto fail;
                }
                if (soerr != 0) {
                        k = -soerr;
                        goto fail;
                }
                break;
        }
        c->fd = TAKE_FD(fd);
        return 0;

fail:
        if (k == -ETIMEDOUT)
                set_error(c, "cannot connect to %s%s: callroled did not accept the connection within %" PRIu64 " ms; is it overloaded?",
                          c->socket_path, path_origin(c), c->timeout / USEC_PER_MSEC);
        else if (k == -ENOENT || k == -ENOTDIR || k == -ECONNREFUSED)
                set_error(c, "cannot connect to %s%s: %s; is callroled running?",
                          c->socket_path, path_origin(c), strerror(-k));
        else if (k == -EACCES || k == -EPERM)
                set_error(c, "cannot connect to %s%s: %s; is this user allowed to use callrole's socket (its query group)?",
                          c->socket_path, path_origin(c), strerror(-k));
        else
                set_error(c, "cannot connect to %s%s: %s", c->socket_path, path_origin(c), strerror(-k));

        /* A missing socket file means the daemon is not there, exactly like a
         * refused connection; reporting it as -ENOENT would read as the
         * daemon's "no such user/role" answer, and a caller (the PAM module's
         * ignore_unknown_user) could mistake an absent daemon for an unknown
         * user.  The message above keeps the precise cause. */
        if (k == -ENOENT || k == -ENOTDIR)
                k = -ECONNREFUSED;
        return k;
}

/* After a send() or recv() on the non-blocking socket failed (errno):
 * 0 to try again, now that the call was only interrupted or fd became
 * ready for events within the deadline, or -errno. */
static int io_retry(int fd, short events, usec_t deadline) {
        if (errno == EINTR)
                return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
                return negative_errno();
        return wait_fd(fd, events, deadline);
}

/* One send loop per request: the whole frame, however many send() calls the
 * socket buffer needs, within the deadline. */
static int send_all(int fd, const uint8_t *p, size_t n, usec_t deadline) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        int r = io_retry(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Read at least min and at most max bytes into p; the number read goes to
 * *ret_n.  *got counts the bytes of the reply received so far across calls,
 * so the caller knows whether anything of it had arrived.  EOF is
 * -ECONNRESET. */
static int read_at_least(int fd, uint8_t *p, size_t min, size_t max, usec_t deadline, size_t *got, size_t *ret_n) {
        size_t n = 0;

        while (n < min) {
                ssize_t k = recv(fd, p + n, max - n, MSG_DONTWAIT);
                if (k < 0) {
                        int r = io_retry(fd, POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k == 0)
                        return -ECONNRESET;
                n += (size_t) k;
                *got += (size_t) k;
        }
        *ret_n = n;
        return 0;
}

static int read_full(int fd, uint8_t *p, size_t n, usec_t deadline, size_t *got) {
        size_t done;

        return read_at_least(fd, p, n, n, deadline, got, &done);
}

static uint32_t take_id(callrole *c) {
        uint32_t id = c->next_id++;
        if (c->next_id == 0)
                c->next_id = 1;
        return id;
}

/* Replies up to this size (decisions, errors, short lists) arrive with
 * their header in one recv(). */
#define REPLY_INLINE_MAX 512u

/* Read one reply frame for request id.  Frames whose header is bad, whose id
 * is not ours, or whose type is neither ERROR nor the one expected, are
 * refused with a message, before any payload is allocated.
 *
 * Right after a request has gone out its reply is not there yet (the daemon
 * has to run first), so we wait before the first recv() instead of paying
 * for one that fails with EAGAIN; and the header and a small payload come
 * in together.  Bytes beyond the frame answer nothing we asked: the reply
 * stands, and the connection is dropped (invariant 1) just as the next
 * call's staleness check would have dropped it. */
static int read_reply(callrole *c, uint32_t id, uint8_t expect, usec_t deadline, size_t *got,
                      struct reply *ret) {
        uint8_t buf[CR_HEADER_SIZE + REPLY_INLINE_MAX], *hdr = buf;
        _cleanup_free_ uint8_t *payload = NULL;
        struct cr_header h;
        size_t have, inline_len;
        int k;

        k = wait_fd(c->fd, POLLIN, deadline);
        if (k < 0)
                return k;
        k = read_at_least(c->fd, buf, CR_HEADER_SIZE, sizeof(buf), deadline, got, &have);
        if (k < 0)
                return k;

        k = cr_header_decode(hdr, CR_HEADER_SIZE, CR_REPLY_MAX, &h);
        if (k == -EMSGSIZE) {
                uint32_t n = (uint32_t) hdr[8] << 24 | (uint32_t) hdr[9] << 16 | (uint32_t) hdr[10] << 8 | hdr[11];
                set_error(c, "callroled at %s announced a reply of %" PRIu32 " bytes, more than the limit of %u; refused",
                          c->socket_path, n, CR_REPLY_MAX);
                return k;
        }
        if (k == -EPROTONOSUPPORT) {
                set_error(c, "callroled at %s speaks wire protocol version %u, this library version %u; upgrade the older side",
                          c->socket_path, hdr[2], CR_WIRE_VERSION);
                return k;
        }
        if (k < 0) {
                set_error(c, "the peer at %s is not callroled: its reply has no valid header", c->socket_path);
                return -EBADMSG;
        }
        /* Id 0 is never ours (invariant 3): it is the daemon's ERROR for a
         * frame it could not read, which concerns this connection. */
        if (h.id != id && !(h.type == CR_MSG_ERROR && h.id == 0)) {
                set_error(c, "callroled at %s answered request %" PRIu32 " when %" PRIu32 " was asked; connection dropped",
                          c->socket_path, h.id, id);
                return -EBADMSG;
        }
        if (h.type != CR_MSG_ERROR && h.type != expect) {
                set_error(c, "callroled at %s sent a reply of type 0x%02x where 0x%02x was expected",
                          c->socket_path, h.type, expect);
                return -EBADMSG;
        }

        /* h.length ≤ CR_REPLY_MAX, checked by cr_header_decode(). */
        payload = malloc(h.length > 0 ? h.length : 1);
        if (!payload) {
                set_error(c, "out of memory reading a reply of %" PRIu32 " bytes from callroled", h.length);
                return -ENOMEM;
        }
        inline_len = have - CR_HEADER_SIZE;
        if (inline_len > h.length) {
                inline_len = h.length;
                connection_close(c);
        }
        memcpy(payload, buf + CR_HEADER_SIZE, inline_len);
        if (inline_len < h.length) {
                k = read_full(c->fd, payload + inline_len, h.length - inline_len, deadline, got);
                if (k < 0)
                        return k;
        }

        *ret = (struct reply) { .type = h.type, .payload = TAKE_PTR(payload), .len = h.length };
        return 0;
}

/* Reads have no effect, and a dry run commits nothing, so sending them twice
 * is harmless. */
static bool request_is_idempotent(const callrole *c, uint8_t type) {
        return type < CR_MSG_PERMISSION_ADD || c->dry_run;
}

static bool error_is_broken_connection(int k) {
        return k == -EPIPE || k == -ECONNRESET || k == -ENOTCONN;
}

static void set_io_error(callrole *c, int k, bool sending, bool partial, uint8_t type) {
        const char *change = request_is_idempotent(c, type) ? ""
                : "; the change may or may not have been applied: look before trying again";

        if (k == -ETIMEDOUT)
                set_error(c, "callroled at %s did not answer within %" PRIu64 " ms%s",
                          c->socket_path, c->timeout / USEC_PER_MSEC, change);
        else if (k == -ECONNRESET && !sending)
                set_error(c, "callroled at %s closed the connection %s%s", c->socket_path,
                          partial ? "in the middle of its reply" : "without answering", change);
        else
                set_error(c, "lost the connection to callroled at %s while %s: %s%s", c->socket_path,
                          sending ? "sending a request" : "reading its reply", strerror(-k), change);
}

/* An ERROR reply: negative errno and the daemon's message. */
static int handle_error_reply(callrole *c, const struct reply *rep) {
        struct cr_cursor cur;
        _cleanup_free_ char *msg = NULL;
        int32_t e;
        int k;

        cr_cursor_init(&cur, rep->payload, rep->len);
        if (cr_get_i32(&cur, &e) < 0)
                goto bad;
        k = cr_get_str(&cur, CR_STR_MAX, &msg);
        if (k == -ENOMEM)
                return k;
        if (k < 0 || cr_cursor_end(&cur) < 0)
                goto bad;
        /* The errno travels as data from the peer: anything outside the
         * kernel's errno range is a malformed reply, not an error code a
         * caller could mistake for success or for something else. */
        if (e < -4095 || e > -1)
                goto bad;

        free(c->last_error);
        c->last_error = isempty(msg) ? NULL : TAKE_PTR(msg);
        /* The daemon closes the connection after refusing a frame as such;
         * do the same so the next call starts on a fresh one. */
        if (e == -EBADMSG || e == -EMSGSIZE || e == -EPROTONOSUPPORT || e == -EOPNOTSUPP)
                connection_close(c);
        return e;

bad:
        connection_close(c);
        set_error(c, "callroled at %s sent a malformed error reply", c->socket_path);
        return -EBADMSG;
}

/* The prefix's flags are the payload's first four bytes, big-endian, in
 * every request (include/callrole-wire.h). */
static bool request_flagged_last(const struct cr_buf *b) {
        return b->len >= CR_HEADER_SIZE + 4 && (b->data[CR_HEADER_SIZE + 3] & CR_FLAG_LAST);
}

/* A daemon from before CR_FLAG_LAST refuses the flag in an ERROR reply,
 * "malformed request prefix (flags, as-user)", and closes the connection,
 * having done nothing; that happens while the library is upgraded before
 * the daemon is restarted, and must not fail a login.  So a request
 * flagged LAST and refused so is sent once more without the flag, within
 * the same deadline if any of it is left, and requests to that socket are
 * not flagged again.  The refusal is recognised by its words, for reads as
 * for changes: any other EBADMSG is an answer, and a change must never be
 * sent twice. */
#define PREFIX_REFUSAL "malformed request prefix"

static bool last_flag_refused(const callrole *c, const struct cr_buf *b, int k) {
        return k == -EBADMSG && request_flagged_last(b) && c->last_error &&
               strncmp(c->last_error, PREFIX_REFUSAL, strlen(PREFIX_REFUSAL)) == 0;
}

/*
 * Send the request frame in b and read its reply of type expect (or ERROR).
 *
 * Retry rule.  A connection that has served a request before may have been
 * closed by a daemon restart without our noticing; the staleness check
 * catches most such cases before anything is sent, but the daemon can also
 * go away between that check and our request.  Then the call reconnects and
 * sends once more, but only when the request cannot have taken effect twice:
 *   - the failure happened while sending: the daemon acts only on a whole
 *     frame, and a send() that fails has not delivered the whole frame, so
 *     any request may be resent; or
 *   - nothing of the reply had arrived (EOF or reset before the first byte)
 *     and the request is a read or a dry run: the daemon may have executed
 *     it, but executing a read twice is harmless.
 * A change whose reply never came is not resent: the daemon may have
 * committed it before going away, and applying "user.add" or "import" twice
 * is not harmless; the caller gets -ECONNRESET with a message saying the
 * change may have been applied.  A timeout is never retried (the daemon is
 * alive but slow; a second try would only double the wait), and neither is
 * a reply that arrived in part.  The retry shares the call's one deadline.
 * exchange() below adds the one other resend, of a request flagged LAST to
 * a daemon that does not know the flag (last_flag_refused()).
 */
static int exchange_until(callrole *c, struct cr_buf *b, uint8_t type, uint8_t expect, usec_t deadline,
                          struct reply *ret) {
        struct reply rep = {};
        bool retried = false;
        int k;

        k = cr_frame_end(b);
        if (k >= 0 && b->len - CR_HEADER_SIZE > CR_REQUEST_MAX)
                k = -EMSGSIZE;
        if (k == -EMSGSIZE || k == -E2BIG) {
                set_error(c, "request is larger than callrole's limit of %u bytes; send fewer items at once",
                          CR_REQUEST_MAX);
                return -EMSGSIZE;
        }
        if (k < 0) {
                set_error(c, "cannot build the request: %s", strerror(-k));
                return k;
        }

        for (;;) {
                bool reused;
                size_t got = 0;
                uint32_t id;

                if (c->fd >= 0 && connection_is_stale(c->fd))
                        connection_close(c);
                reused = c->fd >= 0;
                if (!reused) {
                        k = connect_socket(c, deadline);
                        if (k < 0)
                                return k;
                }

                id = take_id(c);
                cr_header_encode(b->data, type, id, (uint32_t) (b->len - CR_HEADER_SIZE));

                k = send_all(c->fd, b->data, b->len, deadline);
                if (k < 0) {
                        connection_close(c);
                        if (reused && !retried && error_is_broken_connection(k)) {
                                retried = true;
                                continue;
                        }
                        set_io_error(c, k, true, false, type);
                        return k;
                }

                k = read_reply(c, id, expect, deadline, &got, &rep);
                if (k < 0) {
                        connection_close(c);
                        if (reused && !retried && got == 0 && error_is_broken_connection(k) &&
                            request_is_idempotent(c, type)) {
                                retried = true;
                                continue;
                        }
                        /* read_reply() wrote its own message for what it refused. */
                        if (k != -EMSGSIZE && k != -EBADMSG && k != -EPROTONOSUPPORT && k != -ENOMEM)
                                set_io_error(c, k, false, got > 0, type);
                        return k;
                }
                break;
        }
        if (!c->keep_alive)
                connection_close(c);

        if (rep.type == CR_MSG_ERROR) {
                k = handle_error_reply(c, &rep);
                reply_done(&rep);
                return k;
        }
        *ret = rep;
        return 0;
}

/* exchange_until() within the handle's timeout, sending once more without
 * CR_FLAG_LAST to a daemon that refused it. */
static int exchange(callrole *c, struct cr_buf *b, uint8_t type, uint8_t expect, struct reply *ret) {
        usec_t deadline = deadline_after(c->timeout);
        int k, ms;

        k = exchange_until(c, b, type, expect, deadline, ret);
        /* No time left: the refusal stands, rather than a resend that could
         * only time out (and leave a change's fate unknown). */
        if (last_flag_refused(c, b, k) && remaining_msec(deadline, &ms) >= 0) {
                c->last_unsupported = true;
                b->data[CR_HEADER_SIZE + 3] &= (uint8_t) ~CR_FLAG_LAST;
                connection_close(c);
                clear_error(c);
                k = exchange_until(c, b, type, expect, deadline, ret);
        }
        return k;
}

/* A reply frame that was whole but whose payload does not decode: the
 * daemon misbehaves; start the next call on a fresh connection. */
static int bad_payload(callrole *c, int k, const char *what) {
        connection_close(c);
        if (k == -ENOMEM) {
                set_error(c, "out of memory decoding %s from callroled", what);
                return k;
        }
        set_error(c, "callroled at %s sent a malformed %s", c->socket_path, what);
        return -EBADMSG;
}

/* ---- handle ------------------------------------------------------------ */

static int resolve_socket(callrole *c, const char *path) {
        const char *p = path;
        bool from_env = false;
        char *s;

        if (!p) {
                /* secure_getenv: in a set-uid program (su, sudo running the
                 * PAM module) the environment belongs to the caller, who
                 * must not be able to point the check at a daemon of their
                 * own that says "allow". */
                p = secure_getenv(CALLROLE_SOCKET_ENV);
                from_env = !isempty(p);
                if (!from_env)
                        p = CALLROLE_SOCKET_DEFAULT;
        }
        s = strdup(p);
        if (!s)
                return -ENOMEM;
        free(c->socket_path);
        c->socket_path = s;
        c->socket_from_env = from_env;
        return 0;
}

int callrole_new(callrole **ret) {
        callrole *c;
        int k;

        if (!ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->timeout = TIMEOUT_DEFAULT;
        c->keep_alive = true;
        c->next_id = 1;
        k = resolve_socket(c, NULL);
        if (k < 0) {
                free(c);
                return k;
        }
        *ret = c;
        return 0;
}

callrole *callrole_free(callrole *c) {
        if (!c)
                return NULL;
        connection_close(c);
        free(c->socket_path);
        free(c->as_user);
        free(c->last_error);
        free(c);
        return NULL;
}

/* NULL goes back to $CALLROLE_SOCKET or the default. */
int callrole_set_socket(callrole *c, const char *path) {
        int k;

        if (!c)
                return -EINVAL;
        if (path && (isempty(path) || strlen(path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)))
                return -EINVAL;
        k = resolve_socket(c, path);
        if (k < 0)
                return k;
        /* The next call must go to the new daemon, which may well know
         * CR_FLAG_LAST. */
        connection_close(c);
        c->last_unsupported = false;
        return 0;
}

int callrole_set_timeout(callrole *c, uint64_t usec) {
        if (!c)
                return -EINVAL;
        c->timeout = usec == 0 ? TIMEOUT_DEFAULT : usec;
        return 0;
}

/* NULL or "" acts as the peer again. */
int callrole_set_as_user(callrole *c, const char *user) {
        char *s = NULL;

        if (!c)
                return -EINVAL;
        if (!isempty(user)) {
                if (!crl_string_fits(user, CR_NAME_MAX))
                        return -EINVAL;
                s = strdup(user);
                if (!s)
                        return -ENOMEM;
        }
        free(c->as_user);
        c->as_user = s;
        return 0;
}

int callrole_set_dry_run(callrole *c, int dry_run) {
        if (!c)
                return -EINVAL;
        c->dry_run = dry_run != 0;
        return 0;
}

int callrole_set_keep_alive(callrole *c, int keep_alive) {
        if (!c)
                return -EINVAL;
        c->keep_alive = keep_alive != 0;
        /* An open connection would carry a request not flagged LAST
         * (invariant 4): start the next call on a fresh one.  Turning
         * keep-alive on needs nothing, as no connection is open then. */
        if (!c->keep_alive)
                connection_close(c);
        return 0;
}

const char *callrole_last_error(const callrole *c) {
        return c ? c->last_error : NULL;
}

/* ---- errors ------------------------------------------------------------ */

const char *callrole_strerror(int error) {
        static _Thread_local char buf[128];
        static const struct {
                int error;
                const char *text;
        } table[] = {
                { EPERM, "not allowed by callrole's role rules" },
                { ENOENT, "no such user, role, account, permission or profile" },
                { EEXIST, "already exists in callrole" },
                { EBUSY, "still in use (a role held by users)" },
                { EINVAL, "invalid argument or value (or a role that breaks a validation rule)" },
                { ENOTUNIQ, "user has several accounts: name one" },
                { EDQUOT, "the account has no free seat" },
                { EROFS, "callrole's database is read-only; nothing was changed" },
                { ENOSPC, "callrole's database is out of space; nothing was changed" },
                { EIO, "callrole's database cannot be written; nothing was changed" },
                { EBADMSG, "malformed message between libcallrole and callroled" },
                { EMSGSIZE, "message larger than callrole's frame limit" },
                { EPROTONOSUPPORT, "callroled and libcallrole speak different protocol versions" },
                { EOPNOTSUPP, "callroled does not know this request (older daemon?)" },
                { ECONNREFUSED, "callroled is not running (cannot connect to its socket)" },
                { ETIMEDOUT, "callroled did not answer in time" },
                { ECONNRESET, "connection to callroled lost before its answer" },
                { EPIPE, "connection to callroled lost while sending" },
                { EACCES, "not allowed to connect to callroled's socket" },
                { ENAMETOOLONG, "callrole socket path too long" },
                { E2BIG, "too many fields or values in a callrole record" },
        };
        int e;

        /* -INT_MIN does not exist; it is no errno anyway. */
        if (error == INT_MIN)
                e = INT_MAX;
        else
                e = error < 0 ? -error : error;

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].error == e)
                        return table[i].text;
        /* GNU strerror_r returns either a static string or buf, both safe to
         * hand out: buf is this thread's own. */
        return strerror_r(e, buf, sizeof(buf));
}

const char *callrole_reason_to_string(callrole_reason reason) {
        const char *s = cr_reason_to_string((int) reason);
        return s ? s : "unknown";
}

/* ---- checks ------------------------------------------------------------ */

static int check_name(callrole *c, const char *what, const char *s, bool required) {
        if (!s) {
                if (!required)
                        return 0;
                set_error(c, "%s is missing", what);
                return -EINVAL;
        }
        if (required && !*s) {
                set_error(c, "%s is empty", what);
                return -EINVAL;
        }
        if (!crl_string_fits(s, CR_NAME_MAX)) {
                set_error(c, "%s is longer than %u bytes", what, CR_NAME_MAX);
                return -EINVAL;
        }
        return 0;
}

static int check_args(callrole *c, const char *user, const char *permission, const char *account,
                      const callrole_attr *attrs, size_t n_attrs) {
        int k;

        if ((k = check_name(c, "user name", user, true)) < 0 ||
            (k = check_name(c, "permission", permission, true)) < 0 ||
            (k = check_name(c, "account", account, false)) < 0)
                return k;
        if (n_attrs > CR_ATTRS_MAX) {
                set_error(c, "a check takes at most %u attributes, %zu were given", CR_ATTRS_MAX, n_attrs);
                return -EINVAL;
        }
        if (n_attrs > 0 && !attrs) {
                set_error(c, "%zu attributes announced but none given", n_attrs);
                return -EINVAL;
        }
        for (size_t i = 0; i < n_attrs; i++) {
                if ((k = check_name(c, "attribute name", attrs[i].key, true)) < 0)
                        return k;
                if (!crl_string_fits(attrs[i].value, CR_STR_MAX)) {
                        if (attrs[i].value)
                                set_error(c, "attribute '%s' has a value longer than %u bytes", attrs[i].key, CR_STR_MAX);
                        else
                                set_error(c, "attribute '%s' has no value", attrs[i].key);
                        return -EINVAL;
                }
        }
        return 0;
}

static void put_check(struct cr_buf *b, const char *user, const char *permission, const char *account,
                      const callrole_attr *attrs, size_t n_attrs) {
        const char *keys[CR_ATTRS_MAX], *values[CR_ATTRS_MAX];

        /* n_attrs ≤ CR_ATTRS_MAX: check_args() ran first. */
        for (size_t i = 0; i < n_attrs; i++) {
                keys[i] = attrs[i].key;
                values[i] = attrs[i].value;
        }
        cr_put_check(b, user, permission, account, keys, values, n_attrs);
}

static void request_begin(callrole *c, struct cr_buf *b, uint8_t type) {
        cr_buf_init(b, CR_HEADER_SIZE + CR_REQUEST_MAX);
        cr_frame_begin(b, type, 0);   /* exchange() writes the id */
        cr_put_prefix(b, (c->dry_run ? CR_FLAG_DRY_RUN : 0) | (c->keep_alive || c->last_unsupported ? 0 : CR_FLAG_LAST),
                      c->as_user);
}

int callrole_check(callrole *c, const char *user, const char *permission, const char *account,
                   const callrole_attr *attrs, size_t n_attrs, callrole_decision **ret_decision) {
        _cleanup_(buf_donep) struct cr_buf b = {};
        _cleanup_(callrole_decision_freep) callrole_decision *d = NULL;
        struct reply rep = {};
        struct cr_cursor cur;
        int k, allowed;

        if (!c)
                return -EINVAL;
        clear_error(c);
        k = check_args(c, user, permission, account, attrs, n_attrs);
        if (k < 0)
                return k;

        request_begin(c, &b, CR_MSG_CHECK);
        put_check(&b, user, permission, account, attrs, n_attrs);
        k = exchange(c, &b, CR_MSG_CHECK, CR_MSG_DECISION, &rep);
        if (k < 0)
                return k;

        d = calloc(1, sizeof(*d));
        if (!d) {
                reply_done(&rep);
                return -ENOMEM;
        }
        cr_cursor_init(&cur, rep.payload, rep.len);
        k = cr_get_decision(&cur, &d->d);
        if (k >= 0)
                k = cr_cursor_end(&cur);
        reply_done(&rep);
        if (k < 0)
                return bad_payload(c, k, "decision");

        allowed = d->d.allowed ? 1 : 0;
        if (ret_decision)
                *ret_decision = TAKE_PTR(d);
        return allowed;
}

callrole_decision *callrole_decision_free(callrole_decision *d) {
        if (!d)
                return NULL;
        cr_decision_clear(&d->d);
        free(d);
        return NULL;
}

int callrole_decision_allowed(const callrole_decision *d) {
        if (!d)
                return -EINVAL;
        return d->d.allowed ? 1 : 0;
}

callrole_reason callrole_decision_reason(const callrole_decision *d) {
        /* No decision is no permission: report it as not granted rather than
         * as CALLROLE_REASON_NONE, which reads as "allowed". */
        if (!d)
                return CALLROLE_REASON_NOT_GRANTED;
        return (callrole_reason) d->d.reason;
}

static const char *str_or_empty(const char *s) {
        return s ? s : "";
}

const char *callrole_decision_role(const callrole_decision *d) {
        return d ? str_or_empty(d->d.role) : NULL;
}

const char *callrole_decision_account(const callrole_decision *d) {
        return d ? str_or_empty(d->d.account) : NULL;
}

const char *callrole_decision_detail(const callrole_decision *d) {
        return d ? str_or_empty(d->d.detail) : NULL;
}

int callrole_check_batch(callrole *c, const callrole_check_item *items, size_t n,
                         int *ret_allowed, callrole_reason *ret_reasons) {
        _cleanup_(buf_donep) struct cr_buf b = {};
        _cleanup_free_ int *allowed = NULL;
        _cleanup_free_ callrole_reason *reasons = NULL;
        struct reply rep = {};
        struct cr_cursor cur;
        uint16_t count;
        int k;

        if (!c)
                return -EINVAL;
        clear_error(c);
        if (n == 0)
                return 0;
        if (n > CR_BATCH_MAX) {
                set_error(c, "a batch takes at most %u checks, %zu were given", CR_BATCH_MAX, n);
                return -EINVAL;
        }
        if (!items || !ret_allowed) {
                set_error(c, "a batch needs its items and an array for the answers");
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                k = check_args(c, items[i].user, items[i].permission, items[i].account,
                               items[i].attrs, items[i].n_attrs);
                if (k < 0) {
                        /* Name the item, keeping what check_args() said. */
                        if (c->last_error) {
                                char *m = c->last_error;
                                c->last_error = NULL;
                                set_error(c, "check %zu of the batch: %s", i, m);
                                free(m);
                        }
                        return k;
                }
        }

        request_begin(c, &b, CR_MSG_CHECK_BATCH);
        cr_put_u16(&b, (uint16_t) n);
        for (size_t i = 0; i < n; i++)
                put_check(&b, items[i].user, items[i].permission, items[i].account,
                          items[i].attrs, items[i].n_attrs);
        k = exchange(c, &b, CR_MSG_CHECK_BATCH, CR_MSG_DECISIONS, &rep);
        if (k < 0)
                return k;

        /* Decode into our own arrays first: the caller's are written only
         * once the whole reply has proven good. */
        allowed = calloc(n, sizeof(*allowed));
        reasons = calloc(n, sizeof(*reasons));
        if (!allowed || !reasons) {
                reply_done(&rep);
                return -ENOMEM;
        }
        cr_cursor_init(&cur, rep.payload, rep.len);
        k = cr_get_u16(&cur, &count);
        if (k >= 0 && count != n)
                k = -EBADMSG;
        for (size_t i = 0; k >= 0 && i < n; i++) {
                struct cr_decision d = {};
                k = cr_get_decision(&cur, &d);
                if (k < 0)
                        break;
                allowed[i] = d.allowed ? 1 : 0;
                reasons[i] = (callrole_reason) d.reason;
                cr_decision_clear(&d);
        }
        if (k >= 0)
                k = cr_cursor_end(&cur);
        reply_done(&rep);
        if (k < 0)
                return bad_payload(c, k, "batch of decisions");

        memcpy(ret_allowed, allowed, n * sizeof(*allowed));
        if (ret_reasons)
                memcpy(ret_reasons, reasons, n * sizeof(*reasons));
        return 0;
}

/* ---- records ----------------------------------------------------------- */

int callrole_call(callrole *c, const char *method, const callrole_record *params, callrole_reply **ret) {
        _cleanup_(buf_donep) struct cr_buf b = {};
        _cleanup_(callrole_reply_freep) callrole_reply *reply = NULL;
        struct reply rep = {};
        struct cr_cursor cur;
        int type, k;

        if (!c)
                return -EINVAL;
        clear_error(c);
        if (!method) {
                set_error(c, "no method given");
                return -EINVAL;
        }
        type = cr_msg_type_from_string(method);
        /* Only the record-shaped requests: checks have their own functions
         * and reply types are no requests. */
        if (type < CR_MSG_STATUS || type == CR_MSG_CHECK || type == CR_MSG_CHECK_BATCH) {
                if (type == CR_MSG_CHECK || type == CR_MSG_CHECK_BATCH)
                        set_error(c, "method '%s' is not record-shaped; use callrole_check() or callrole_check_batch()",
                                  method);
                else
                        set_error(c, "unknown callrole method '%s'; see callrole.h(3) for the list", method);
                return -EINVAL;
        }

        request_begin(c, &b, (uint8_t) type);
        cr_put_record(&b, params ? &params->r : NULL);
        k = exchange(c, &b, (uint8_t) type, CR_MSG_RECORDS, &rep);
        if (k < 0)
                return k;

        cr_cursor_init(&cur, rep.payload, rep.len);
        k = crl_reply_decode(&cur, &reply);
        if (k >= 0)
                k = cr_cursor_end(&cur);
        reply_done(&rep);
        if (k < 0)
                return bad_payload(c, k, "list of records");

        if (ret)
                *ret = TAKE_PTR(reply);
        return 0;
}

int callrole_status(callrole *c, callrole_reply **ret) {
        return callrole_call(c, "status", NULL, ret);
}

/* Build a parameter record from key/value pairs, skipping NULL values (an
 * optional parameter left out).  Sets the handle's message on failure. */
static int params_build(callrole *c, callrole_record **ret, const char *const *kv, size_t n) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        int k;

        k = callrole_record_new(&p);
        if (k < 0)
                return k;
        for (size_t i = 0; i + 1 < n; i += 2) {
                if (!kv[i + 1])
                        continue;
                k = callrole_record_add(p, kv[i], kv[i + 1]);
                if (k < 0) {
                        set_error(c, "invalid value for '%s': %s", kv[i], callrole_strerror(k));
                        return k;
                }
        }
        *ret = TAKE_PTR(p);
        return 0;
}

int callrole_user_get(callrole *c, const char *user, callrole_reply **ret) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        int k;

        if (!c)
                return -EINVAL;
        clear_error(c);
        k = check_name(c, "user name", user, true);
        if (k < 0)
                return k;
        k = params_build(c, &p, (const char *const[]) { "name", user }, 2);
        if (k < 0)
                return k;
        return callrole_call(c, "user.get", p, ret);
}

int callrole_user_list(callrole *c, const char *role, const char *account, callrole_reply **ret) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        int k;

        if (!c)
                return -EINVAL;
        clear_error(c);
        if ((k = check_name(c, "role", role, false)) < 0 ||
            (k = check_name(c, "account", account, false)) < 0)
                return k;
        k = params_build(c, &p, (const char *const[]) { "role", isempty(role) ? NULL : role,
                                                        "account", isempty(account) ? NULL : account }, 4);
        if (k < 0)
                return k;
        return callrole_call(c, "user.list", p, ret);
}

int callrole_scope(callrole *c, const char *user, const char *permission, const char *account,
                   callrole_reply **ret) {
        _cleanup_(callrole_record_freep) callrole_record *p = NULL;
        _cleanup_(callrole_reply_freep) callrole_reply *reply = NULL;
        int k, visible;

        if (!c)
                return -EINVAL;
        clear_error(c);
        if ((k = check_name(c, "user name", user, true)) < 0 ||
            (k = check_name(c, "permission", permission, true)) < 0 ||
            (k = check_name(c, "account", account, false)) < 0)
                return k;
        k = params_build(c, &p, (const char *const[]) { "user", user, "permission", permission,
                                                        "account", isempty(account) ? NULL : account }, 6);
        if (k < 0)
                return k;
        k = callrole_call(c, "scope", p, &reply);
        if (k < 0)
                return k;
        visible = callrole_reply_n_records(reply) > 0 ? 1 : 0;
        if (ret)
                *ret = TAKE_PTR(reply);
        return visible;
}
