/*
 * server.c: callroled's socket and its connections.
 *
 * The listening socket comes from systemd when it passed one
 * (sd_listen_fds), else we bind our own.  Each accepted connection is
 * non-blocking and served from the one sd-event loop; no client can make us
 * wait, because every read and write is a non-blocking call made only when
 * epoll said it would not block, and every connection has a deadline.
 *
 * Connection life cycle:
 *
 *        accept4()
 *            |            limits exceeded: closed at once, logged (rate-limited)
 *            v
 *   +---> READING --------- complete frame ----> dispatch_request()
 *   |     |     |                                      |
 *   |     |     +-- unsent output ≥ high water: stop   | reply appended to out
 *   |     |         reading and dispatching until it   |
 *   |     |         drains                             v
 *   |     |                   malformed, or flagged LAST? --yes--> CLOSING
 *   |     |                                  | no                    |
 *   +-----|----------------------------------+                       |
 *         |                                         out flushed (a held reply
 *      EOF/error/idle or I/O timeout                released first), or I/O
 *         |                                         timeout          |
 *         +---------------------> freed <----------------------------+
 *
 * Fairness: a connection is served at most MANAGER_FRAMES_PER_TURN frames
 * per turn; frames left over wait on a defer source, behind every other
 * connection's turn.  Administrators' connections (root, hence PAM) and
 * the listening socket run at a higher priority.
 *
 * Invariants:
 *   1. in[0..in_len) holds complete frames not yet served and at most one
 *      partial frame; a header is validated as soon as its 12 bytes are in,
 *      so in_len never exceeds CR_HEADER_SIZE + CR_REQUEST_MAX.
 *   2. Replies are appended to out in request order; out_pos ≤ out.len, and
 *      a frame is dispatched only while out.len - out_pos is below
 *      MANAGER_OUTPUT_HIGH_WATER, so a peer that never reads holds at most
 *      that plus one reply.
 *   3. Deadlines are absolute: a partial frame, or unsent output, must
 *      finish within io_timeout of when it began.
 *   4. A connection in CLOSING reads nothing more and is freed when out is
 *      flushed.
 *   5. A connection has its event sources (io, timer, defer) from the first
 *      connection_update() on, or none at all: an administrator's
 *      connection is served at accept, and one whose first frame was
 *      flagged LAST is answered and closed there, without ever being added
 *      to epoll.  That is PAM's whole conversation: accept4, SO_PEERCRED,
 *      recv, send, close.
 */
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "manager.h"

typedef enum ConnectionState {
        CONNECTION_READING,
        CONNECTION_CLOSING,
} ConnectionState;

struct Connection {
        Manager *manager;
        Connection *prev, *next;
        int fd;
        sd_event_source *io_source, *timer_source, *defer_source;
        ConnectionState state;
        uint64_t in_since, out_since;   /* when the partial frame / unsent output began; 0: none */
        bool input_eof;

        uid_t uid;
        gid_t gid;
        pid_t pid;
        bool identified;        /* peer_identity() ran: unix_name and query_member are known */
        char *unix_name;
        bool query_member;

        uint8_t *in;
        size_t in_len, in_cap;

        struct cr_buf out;
        size_t out_pos;
        /* A user change's reply waits for its group's COMMIT (change.c):
         * out[held_at..) is not sent, and nothing more is dispatched, until
         * server_release_reply(). */
        bool held;
        size_t held_at;
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

bool manager_uid_is_admin(const Manager *m, uid_t uid) {
        if (uid == 0)
                return true;
        for (size_t i = 0; i < m->config.n_admin_uids; i++)
                if (m->config.admin_uids[i] == uid)
                        return true;
        return false;
}

static void connection_free(Connection *c) {
        Manager *m;

        if (!c)
                return;
        m = c->manager;
        if (c->prev)
                c->prev->next = c->next;
        else
                m->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        m->n_connections--;
        if (c->held)
                manager_group_forget(m, c);
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer_source);
        sd_event_source_disable_unref(c->defer_source);
        closep(&c->fd);
        free(c->unix_name);
        free(c->in);
        cr_buf_done(&c->out);
        free(c);
}

/* Where what may be sent ends. */
static size_t connection_out_end(const Connection *c) {
        return c->held ? c->held_at : c->out.len;
}

static bool connection_out_pending(const Connection *c) {
        return c->out_pos < connection_out_end(c);
}

static bool connection_mid_frame(const Connection *c) {
        return c->in_len > 0 || connection_out_pending(c);
}

static bool connection_may_dispatch(const Connection *c) {
        return c->state == CONNECTION_READING && !c->held && c->out.len - c->out_pos < MANAGER_OUTPUT_HIGH_WATER;
}

static bool connection_frame_ready(const Connection *c) {
        struct cr_header h;
        return c->in_len >= CR_HEADER_SIZE &&
               (cr_header_decode(c->in, c->in_len, CR_REQUEST_MAX, &h) < 0 || c->in_len - CR_HEADER_SIZE >= h.length);
}

static int on_connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static int on_connection_defer(sd_event_source *s, void *userdata);
static int on_connection_timeout(sd_event_source *s, uint64_t usec, void *userdata);

/* Give the connection its event sources, once (invariant 5). */
static int connection_attach(Connection *c) {
        Manager *m = c->manager;
        int r;

        if (c->io_source)
                return 0;
        r = sd_event_add_io(m->event, &c->io_source, c->fd, EPOLLIN, on_connection_io, c);
        if (r >= 0)
                r = sd_event_add_time(m->event, &c->timer_source, CLOCK_MONOTONIC, UINT64_MAX, 0,
                                      on_connection_timeout, c);
        if (r >= 0)
                r = sd_event_add_defer(m->event, &c->defer_source, on_connection_defer, c);
        if (r < 0) {
                /* All or nothing: io_source set means all three exist. */
                c->io_source = sd_event_source_disable_unref(c->io_source);
                c->timer_source = sd_event_source_disable_unref(c->timer_source);
                c->defer_source = sd_event_source_disable_unref(c->defer_source);
                return r;
        }
        /* Administrators, root among them (PAM runs as root in login
         * paths), are served ahead of everyone else, so a flood from an
         * ordinary uid cannot hold up logins. */
        if (manager_uid_is_admin(m, c->uid)) {
                (void) sd_event_source_set_priority(c->io_source, SD_EVENT_PRIORITY_IMPORTANT);
                (void) sd_event_source_set_priority(c->defer_source, SD_EVENT_PRIORITY_IMPORTANT);
        }
        return 0;
}

/* A connection that has nothing more to do: it is closing, or its peer
 * hung up, and nothing is left to send or to serve. */
static bool connection_finished(const Connection *c) {
        return !connection_out_pending(c) && !c->held &&
               (c->state == CONNECTION_CLOSING || (c->input_eof && !connection_frame_ready(c)));
}

/* Re-arm the deadline, the epoll mask and the "more frames waiting" source
 * after any change of state.  Deadlines are absolute: a frame must arrive
 * whole, and output must drain, within io_timeout of its start, however
 * slowly the peer trickles bytes. */
static int connection_update(Connection *c) {
        const Config *cfg = &c->manager->config;
        uint32_t events = 0;
        uint64_t now = now_usec(), deadline;
        int r;

        r = connection_attach(c);
        if (r < 0)
                return r;

        if (c->in_len == 0)
                c->in_since = 0;
        else if (c->in_since == 0)
                c->in_since = now;
        if (!connection_out_pending(c))
                c->out_since = 0;
        else if (c->out_since == 0)
                c->out_since = now;

        if (connection_may_dispatch(c) && !c->input_eof)
                events |= EPOLLIN;
        if (connection_out_pending(c))
                events |= EPOLLOUT;
        r = sd_event_source_set_io_events(c->io_source, events);
        if (r < 0)
                return r;
        /* While a reply is held the socket is not watched at all: epoll
         * reports a peer's hang-up whatever events were asked for, and a
         * source ready on every turn would keep the loop from ever reaching
         * the group's commit (and SIGTERM).  Earlier replies not yet sent
         * wait for the release too. */
        r = sd_event_source_set_enabled(c->io_source, c->held ? SD_EVENT_OFF : SD_EVENT_ON);
        if (r < 0)
                return r;

        if (c->in_since || c->out_since || c->state == CONNECTION_CLOSING) {
                uint64_t since = c->in_since && c->out_since ? (c->in_since < c->out_since ? c->in_since : c->out_since)
                                                             : c->in_since ? c->in_since : c->out_since ? c->out_since : now;
                deadline = since + cfg->io_timeout_usec;
        } else
                deadline = now + cfg->idle_timeout_usec;
        r = sd_event_source_set_time(c->timer_source, deadline);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;
        /* Complete frames left over after this connection's turn: come back
         * after everyone else had theirs.  So does a connection that is
         * finished outside its own turn (a held last reply released by the
         * group's commit), to be freed; its peer is waiting, not hanging up,
         * so epoll would not wake it. */
        return sd_event_source_set_enabled(c->defer_source,
                                           connection_finished(c) ||
                                                           (connection_may_dispatch(c) && connection_frame_ready(c))
                                                   ? SD_EVENT_ONESHOT
                                                   : SD_EVENT_OFF);
}

static int connection_flush(Connection *c) {
        while (connection_out_pending(c)) {
                ssize_t n = send(c->fd, c->out.data + c->out_pos, connection_out_end(c) - c->out_pos,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                c->out_pos += (size_t) n;
        }
        /* Everything written: reuse the buffer from its start. */
        if (!c->held) {
                c->out.len = 0;
                c->out_pos = 0;
        }
        return 0;
}

/* Append one reply frame produced into a scratch buffer to the output,
 * first moving what is still unsent to the front so the buffer never grows
 * by what was already written. */
static void connection_queue(Connection *c, const struct cr_buf *frame) {
        if (c->out_pos > 0) {
                memmove(c->out.data, c->out.data + c->out_pos, c->out.len - c->out_pos);
                c->out.len -= c->out_pos;
                if (c->held)
                        c->held_at -= c->out_pos;
                c->out_pos = 0;
        }
        cr_put_bytes(&c->out, frame->data, frame->len);
}

void server_release_reply(Connection *c, int error, const char *message) {
        if (!c || !c->held)
                return;
        if (error < 0) {
                /* The reply said the change was made; it was not.  The
                 * frame's request id is right after the magic, version and
                 * type (include/callrole-wire.h). */
                struct cr_buf reply;
                const uint8_t *h = c->out.data + c->held_at;
                uint32_t id = (uint32_t) h[4] << 24 | (uint32_t) h[5] << 16 | (uint32_t) h[6] << 8 | h[7];

                c->out.len = c->held_at;
                c->held = false;
                cr_buf_init(&reply, 4096);
                dispatch_error_reply(&reply, id, error, message ? message : "the change was not saved");
                connection_queue(c, &reply);
                cr_buf_done(&reply);
        }
        c->held = false;
        if (connection_flush(c) < 0 || connection_update(c) < 0) {
                /* The peer is gone: the next turn of the loop frees it. */
                (void) sd_event_source_set_enabled(c->io_source, SD_EVENT_ON);
                (void) sd_event_source_set_io_events(c->io_source, EPOLLIN | EPOLLOUT);
        }
}

static void peer_identify(Connection *c, uint8_t type);

static int connection_handle_frame(Connection *c, const struct cr_header *h, const uint8_t *payload) {
        Manager *m = c->manager;
        struct cr_buf reply;
        size_t reply_len;
        int r;

        peer_identify(c, h->type);
        Request req = {
                .type = h->type,
                .id = h->id,
                .uid = c->uid,
                .gid = c->gid,
                .unix_name = c->unix_name,
                .query_member = c->query_member,
        };

        cr_buf_init(&reply, CR_HEADER_SIZE + CR_REPLY_MAX);
        cr_cursor_init(&req.payload, payload, h->length);
        req.connection = c;
        m->requests++;
        r = dispatch_request(m, &req, &reply);
        free(req.as_user);
        if (cr_buf_error(&reply) < 0) {
                /* The handler's reply did not fit or memory ran out: say so
                 * instead of sending half a frame. */
                int e = cr_buf_error(&reply);
                cr_buf_done(&reply);
                cr_buf_init(&reply, CR_HEADER_SIZE + CR_REPLY_MAX);
                dispatch_error_reply(&reply, h->id, e == -EMSGSIZE ? -E2BIG : e,
                                     e == -EMSGSIZE ? "reply too large: ask for fewer records (limit)"
                                                    : "out of memory building the reply");
        }
        reply_len = reply.len;
        connection_queue(c, &reply);
        cr_buf_done(&reply);
        if (cr_buf_error(&c->out) < 0) {
                /* Closing without the reply: the group must not keep a
                 * pointer to this connection, which is not marked held. */
                if (req.reply_held)
                        manager_group_forget(m, c);
                return -ENOBUFS;
        }
        /* The client said nothing follows (CR_FLAG_LAST): its reply is the
         * connection's last word, and closing as soon as it is out spares
         * both sides a wakeup for the hang-up. */
        if (req.flags & CR_FLAG_LAST)
                c->state = CONNECTION_CLOSING;
        if (req.reply_held) {
                c->held = true;
                c->held_at = c->out.len - reply_len;
                if (m->n_group >= MANAGER_GROUP_MAX)
                        manager_group_flush(m);
        }
        return r;
}

/* Consume complete frames from in[].  Returns <0 when the connection must
 * go to CLOSING (an error reply has been queued where one could be). */
static int connection_process_input(Connection *c, unsigned budget) {
        size_t off = 0;
        unsigned served = 0;
        int r = 0;

        while (connection_may_dispatch(c) && served < budget) {
                struct cr_header h;
                size_t avail = c->in_len - off;

                if (avail < CR_HEADER_SIZE)
                        break;
                r = cr_header_decode(c->in + off, avail, CR_REQUEST_MAX, &h);
                if (r >= 0 && !dispatch_type_known(h.type))
                        r = -EOPNOTSUPP;
                if (r < 0) {
                        struct cr_buf reply;
                        uint32_t id = avail >= 8 ? (uint32_t) c->in[off + 4] << 24 | (uint32_t) c->in[off + 5] << 16 |
                                                           (uint32_t) c->in[off + 6] << 8 | c->in[off + 7]
                                                 : 0;
                        cr_buf_init(&reply, 4096);
                        dispatch_error_reply(&reply, id, r,
                                             r == -EMSGSIZE ? "frame larger than the 256 KiB request limit"
                                             : r == -EPROTONOSUPPORT ? "unsupported protocol version"
                                             : r == -EOPNOTSUPP    ? "unknown request type"
                                                                   : "not a callrole frame (bad magic)");
                        connection_queue(c, &reply);
                        cr_buf_done(&reply);
                        log_debug("uid %u: closing connection: bad frame header (%s)", (unsigned) c->uid,
                                  strerror(-r));
                        c->state = CONNECTION_CLOSING;
                        break;
                }
                if (avail - CR_HEADER_SIZE < h.length)
                        break;
                r = connection_handle_frame(c, &h, c->in + off + CR_HEADER_SIZE);
                off += CR_HEADER_SIZE + h.length;
                served++;
                if (r < 0) {
                        c->state = CONNECTION_CLOSING;
                        break;
                }
        }
        if (off > 0) {
                memmove(c->in, c->in + off, c->in_len - off);
                c->in_len -= off;
        }
        return c->state == CONNECTION_CLOSING ? -EBADMSG : 0;
}

static int connection_read(Connection *c) {
        for (;;) {
                ssize_t n;

                /* Grow the buffer only as far as the frame in progress
                 * needs, and never past one maximal frame (invariant 1). */
                if (c->in_cap - c->in_len < 4096 && c->in_cap < CR_HEADER_SIZE + CR_REQUEST_MAX) {
                        size_t want = c->in_cap ? c->in_cap * 2 : 8192;
                        uint8_t *p;
                        if (want > CR_HEADER_SIZE + CR_REQUEST_MAX)
                                want = CR_HEADER_SIZE + CR_REQUEST_MAX;
                        p = realloc(c->in, want);
                        if (!p)
                                return -ENOMEM;
                        c->in = p;
                        c->in_cap = want;
                }
                if (c->in_len == c->in_cap)
                        return 0;   /* full: process_input() makes room */
                n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                if (n == 0) {
                        c->input_eof = true;
                        return 0;
                }
                c->in_len += (size_t) n;
                if (c->in_len >= CR_HEADER_SIZE)
                        return 0;
        }
}

/* One turn of a connection: read what arrived (if readable), serve a few
 * frames, write what can be written. */
static void connection_service(Connection *c, bool readable) {
        int r;

        if (readable && c->state == CONNECTION_READING && !c->input_eof) {
                r = connection_read(c);
                if (r < 0) {
                        log_debug("uid %u: connection error: %s", (unsigned) c->uid, strerror(-r));
                        connection_free(c);
                        return;
                }
        }
        /* Two halves of a turn, with a write between them, so replies
         * start flowing while pipelined requests are still being served. */
        for (int pass = 0; pass < 2; pass++) {
                if (c->state == CONNECTION_READING)
                        (void) connection_process_input(c, MANAGER_FRAMES_PER_TURN / 2);
                r = connection_flush(c);
                if (r < 0) {
                        log_debug("uid %u: peer went away mid-reply: %s", (unsigned) c->uid, strerror(-r));
                        connection_free(c);
                        return;
                }
        }
        /* Nothing left to write: a closing connection is done, and after
         * EOF a partial frame can never complete (complete ones are served
         * first, through the defer source). */
        if (connection_finished(c)) {
                connection_free(c);
                return;
        }
        r = connection_update(c);
        if (r < 0) {
                log_error_errno(r, "uid %u: cannot watch the connection, closing it: %m", (unsigned) c->uid);
                connection_free(c);
        }
}

static int on_connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        connection_service(userdata, revents & (EPOLLIN | EPOLLHUP | EPOLLERR));
        return 0;
}

static int on_connection_defer(sd_event_source *s, void *userdata) {
        connection_service(userdata, false);
        return 0;
}

static int on_connection_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Connection *c = userdata;
        log_debug("uid %u: closing %s connection", (unsigned) c->uid,
                  connection_mid_frame(c) ? "stalled" : "idle");
        connection_free(c);
        return 0;
}

static unsigned count_uid(const Manager *m, uid_t uid) {
        unsigned n = 0;
        for (const Connection *c = m->connections; c; c = c->next)
                if (c->uid == uid)
                        n++;
        return n;
}

static void peer_identity(Connection *c) {
        char buf[4096];
        struct passwd pw, *res = NULL;
        gid_t groups[256];
        socklen_t len = sizeof(groups);
        gid_t qg = c->manager->config.query_gid;

        c->identified = true;
        if (getpwuid_r(c->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
                c->unix_name = strdup(res->pw_name);
        if (qg == (gid_t) -1)
                return;
        if (c->gid == qg) {
                c->query_member = true;
                return;
        }
        /* The groups the peer process really holds, not what the group
         * database says today. */
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
                for (size_t i = 0; i < len / sizeof(gid_t); i++)
                        if (groups[i] == qg)
                                c->query_member = true;
}

/* peer_identity() once per connection, at the first frame that needs it
 * rather than at accept.  An administrator's checks are answered in full
 * whoever it is (policy.h), so they need neither its name nor its groups;
 * and those are what PAM sends, as root, one per connection.  The lookup
 * was the largest part of the daemon's work per connection (NSS "files"
 * opens, reads and parses /etc/passwd: six system calls), and a login no
 * longer pays for it.  Whether the uid is an administrator is asked per
 * frame, as dispatch_request() does, so a reload that changes the
 * administrators is followed. */
static void peer_identify(Connection *c, uint8_t type) {
        if (c->identified)
                return;
        if ((type == CR_MSG_CHECK || type == CR_MSG_CHECK_BATCH) && manager_uid_is_admin(c->manager, c->uid))
                return;
        peer_identity(c);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        _cleanup_close_ int cfd = -1;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        bool admin, total;
        Connection *c;
        uint64_t now;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The listening socket stays readable: without a pause
                         * the loop would spin.  Let connections wait in the
                         * backlog for a moment. */
                        int e = errno;
                        (void) sd_event_source_set_enabled(m->listen_source, SD_EVENT_OFF);
                        (void) sd_event_source_set_time_relative(m->accept_retry_source, 100 * 1000);
                        (void) sd_event_source_set_enabled(m->accept_retry_source, SD_EVENT_ONESHOT);
                        now = now_usec();
                        if (now - m->last_limit_log_usec > 10ULL * 1000000ULL) {
                                m->last_limit_log_usec = now;
                                log_warning_errno(e, "cannot accept connections (%m, %u open); pausing accept for "
                                                  "100 ms", m->n_connections);
                        }
                } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(errno, "accept failed: %m");
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                log_warning_errno(errno, "cannot read the peer's credentials, dropping connection: %m");
                return 0;
        }
        admin = manager_uid_is_admin(m, cred.uid);
        /* Administrators, root among them, have slots of their own beyond
         * the total, so that logins (PAM runs as root) still get through
         * when ordinary clients have taken every other one. */
        total = m->n_connections >= m->config.max_connections + (admin ? MANAGER_ADMIN_RESERVED_CONNECTIONS : 0);
        if (total || (!admin && count_uid(m, cred.uid) >= m->config.max_connections_per_uid)) {
                /* Each limit is logged at most every 10 s, separately, so a
                 * flood from one uid does not hide the total being hit. */
                uint64_t *last = total ? &m->last_limit_log_usec : &m->last_uid_limit_log_usec;

                m->refused_connections++;
                now = now_usec();
                if (now - *last > 10ULL * 1000000ULL) {
                        *last = now;
                        log_warning("refusing connection from uid %u: %s (%u open; limits %u in total, %u per uid); "
                                    "%llu refused so far",
                                    (unsigned) cred.uid,
                                    total ? "too many connections" : "too many connections from this uid",
                                    m->n_connections, m->config.max_connections, m->config.max_connections_per_uid,
                                    (unsigned long long) m->refused_connections);
                }
                return 0;
        }

        c = calloc(1, sizeof(*c));
        if (!c) {
                log_error("out of memory accepting a connection");
                return 0;
        }
        *c = (Connection) { .manager = m, .fd = TAKE_FD(cfd), .uid = cred.uid, .gid = cred.gid, .pid = cred.pid };
        /* Room for one maximal reply beyond the high-water mark. */
        cr_buf_init(&c->out, MANAGER_OUTPUT_HIGH_WATER + CR_HEADER_SIZE + CR_REPLY_MAX);
        c->next = m->connections;
        if (m->connections)
                m->connections->prev = c;
        m->connections = c;
        m->n_connections++;

        /* An administrator's request is usually there already (PAM
         * connects, sends and waits): serve it now rather than after one
         * more trip through epoll.  When that request was the last
         * (CR_FLAG_LAST) the connection is closed within this call and never
         * meets epoll at all (invariant 5).  Others wait their turn, so that
         * new connections from a flood are not served ahead of everyone. */
        if (admin) {
                connection_service(c, true);
                return 0;
        }
        r = connection_update(c);
        if (r < 0) {
                log_error_errno(r, "cannot watch a new connection: %m");
                connection_free(c);
        }
        return 0;
}

/* A socket file left by a daemon that crashed refuses connections; one that
 * a running daemon owns accepts them.  Only the first may be replaced. */
static int remove_stale_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        memcpy(sa.sun_path, path, strlen(path));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                return -EADDRINUSE;
        if (errno != ECONNREFUSED)
                return -errno;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int server_open_socket(Manager *m) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = m->config.socket_path;
        _cleanup_close_ int fd = -1;
        mode_t old;
        int n, r;

        n = sd_listen_fds(1);
        if (n < 0)
                return log_error_errno(n, "cannot read the sockets passed by systemd: %m");
        if (n > 1)
                return log_error_errno(EINVAL, "systemd passed %d sockets; callrole.socket should pass one", n);
        if (n == 1) {
                r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
                if (r <= 0)
                        return log_error_errno(r < 0 ? r : EINVAL,
                                               "the socket passed by systemd is not a listening Unix stream socket");
                m->listen_fd = SD_LISTEN_FDS_START;
                m->listen_fd_from_systemd = true;
                (void) fcntl(m->listen_fd, F_SETFL, fcntl(m->listen_fd, F_GETFL) | O_NONBLOCK);
                return 0;
        }

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "socket path %s is longer than %zu bytes; choose a shorter --socket",
                                       path, sizeof(sa.sun_path) - 1);
        memcpy(sa.sun_path, path, strlen(path));
        r = remove_stale_socket(path);
        if (r == -EADDRINUSE)
                return log_error_errno(r, "another callroled is already answering on %s; stop it first", path);
        if (r == -EEXIST)
                return log_error_errno(r, "%s exists and is not a socket; remove it or choose another --socket", path);
        if (r < 0)
                return log_error_errno(r, "cannot check for a stale socket at %s: %m", path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "cannot create a socket: %m");
        /* Anyone may connect: who they are comes from SO_PEERCRED and what
         * they may do is decided per request. */
        old = umask(0111);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return log_error_errno(errno, "cannot bind %s: %m; does its folder exist and is it writable?", path);
        m->listen_fd_bound_here = true;
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "cannot listen on %s: %m", path);
        m->listen_fd = TAKE_FD(fd);
        return 0;
}

static int on_accept_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        (void) sd_event_source_set_enabled(m->listen_source, SD_EVENT_ON);
        return 0;
}

/* Each connection costs one descriptor: take the hard limit (we use
 * epoll, never select) and keep the connection cap below it, with room for
 * the database and the journal. */
static void fit_descriptor_limit(Manager *m) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return;
        if (rl.rlim_cur < rl.rlim_max) {
                rlim_t want = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
                if (want > rl.rlim_cur) {
                        rl.rlim_cur = want;
                        (void) setrlimit(RLIMIT_NOFILE, &rl);
                        (void) getrlimit(RLIMIT_NOFILE, &rl);
                }
        }
        if (rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < (rlim_t) m->config.max_connections + MANAGER_ADMIN_RESERVED_CONNECTIONS + 64) {
                unsigned cap = rl.rlim_cur > 256 ? (unsigned) rl.rlim_cur - MANAGER_ADMIN_RESERVED_CONNECTIONS - 64 : 64;
                log_warning("only %llu file descriptors allowed: serving at most %u connections instead of %u",
                            (unsigned long long) rl.rlim_cur, cap, m->config.max_connections);
                m->config.max_connections = cap;
        }
}

int manager_start(Manager *m) {
        int r = server_open_socket(m);
        if (r < 0)
                return r;
        fit_descriptor_limit(m);
        r = sd_event_add_io(m->event, &m->listen_source, m->listen_fd, EPOLLIN, on_accept, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch the listening socket: %m");
        /* New connections before more work on old ones. */
        (void) sd_event_source_set_priority(m->listen_source, SD_EVENT_PRIORITY_IMPORTANT);
        r = sd_event_add_time(m->event, &m->accept_retry_source, CLOCK_MONOTONIC, UINT64_MAX, 0, on_accept_retry, m);
        if (r < 0)
                return log_error_errno(r, "cannot add a timer: %m");
        (void) sd_event_source_set_enabled(m->accept_retry_source, SD_EVENT_OFF);
        return 0;
}

/* At shutdown: answer what was already read, then drop everyone. */
void server_close_all(Manager *m) {
        bool progress;

        /* A user change's reply is held until its group commits, and its
         * connection is served no further until then: commit after each
         * pass, and pass again while any frame was served. */
        do {
                progress = false;
                for (Connection *c = m->connections; c; c = c->next)
                        if (c->state == CONNECTION_READING) {
                                size_t before = c->in_len;
                                (void) connection_process_input(c, UINT_MAX);
                                progress = progress || c->in_len != before;
                        }
                manager_group_flush(m);
        } while (progress);
        for (Connection *c = m->connections; c; c = c->next) {
                /* Best effort, bounded: a peer that does not read loses its
                 * reply, it cannot hold up the shutdown. */
                (void) connection_flush(c);
        }
        while (m->connections)
                connection_free(m->connections);
        m->listen_source = sd_event_source_disable_unref(m->listen_source);
        m->accept_retry_source = sd_event_source_disable_unref(m->accept_retry_source);
        if (!m->listen_fd_from_systemd) {
                closep(&m->listen_fd);
                m->listen_fd = -1;
                if (m->listen_fd_bound_here)
                        (void) unlink(m->config.socket_path);
        }
}
