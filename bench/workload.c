/*
 * workload.c: see workload.h.
 *
 * Cleanup is kept in this process's own registry rather than left to
 * test_daemon_cleanup() alone because the driver ends an overrunning
 * program with SIGTERM, and a benchmark must not leave a daemon or a
 * folder of a million users behind (the daemon itself also dies with us:
 * helper-daemon.c sets PR_SET_PDEATHSIG).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "macro.h"
#include "workload.h"

const char *const work_perms[] = { "login", "softphone.use", "calls.view", "calls.listen", "users.view",
                                   "billing.invoices.view", "reports.edit", "settings.edit" };
const size_t work_n_perms = ELEMENTSOF(work_perms);

/* ---- cleanup ------------------------------------------------------------ */

#define CLEANUP_MAX 8
static TestDaemon *cleanup_list[CLEANUP_MAX];
static pid_t cleanup_owner;

static void cleanup_all(void) {
        if (getpid() != cleanup_owner)
                return;
        for (size_t i = 0; i < CLEANUP_MAX; i++) {
                TestDaemon *d = cleanup_list[i];
                if (!d)
                        continue;
                cleanup_list[i] = NULL;
                if (d->pid > 0) {
                        (void) kill(d->pid, SIGKILL);
                        (void) waitpid(d->pid, NULL, 0);
                        d->pid = 0;
                }
                test_rm_rf(d->dir);
        }
}

static void cleanup_signal(int sig) {
        /* Not async-signal-safe (nftw), but the process ends here anyway
         * and a leftover folder is the worse outcome. */
        cleanup_all();
        signal(sig, SIG_DFL);
        raise(sig);
}

void work_cleanup_register(TestDaemon *d) {
        if (cleanup_owner != getpid()) {
                memset(cleanup_list, 0, sizeof(cleanup_list));
                if (cleanup_owner == 0) {
                        (void) atexit(cleanup_all);
                        signal(SIGINT, cleanup_signal);
                        signal(SIGTERM, cleanup_signal);
                        signal(SIGHUP, cleanup_signal);
                }
                cleanup_owner = getpid();
        }
        for (size_t i = 0; i < CLEANUP_MAX; i++)
                if (!cleanup_list[i]) {
                        cleanup_list[i] = d;
                        return;
                }
}

void work_cleanup_forget(TestDaemon *d) {
        for (size_t i = 0; i < CLEANUP_MAX; i++)
                if (cleanup_list[i] == d)
                        cleanup_list[i] = NULL;
}

_Noreturn void work_die(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program_invocation_short_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(EXIT_FAILURE);
}

/* ---- the policy and the daemon ----------------------------------------- */

int work_daemon_start(TestDaemon *d, const GenShape *shape, const char *copy_name, double *ret_gen_s) {
        double t;
        int r;

        r = test_daemon_start(d, NULL);
        if (r < 0)
                return r;
        work_cleanup_register(d);
        (void) test_daemon_stop(d);
        fprintf(stderr, "%s: generating %u users in %u accounts...\n", program_invocation_short_name, shape->users,
                shape->accounts);
        t = bench_now_us();
        r = gen_policy(d->db, shape);
        if (r < 0)
                return r;
        t = bench_now_us() - t;
        if (copy_name) {
                char to[sizeof(d->dir) + 64];
                snprintf(to, sizeof(to), "%s/%s", d->dir, copy_name);
                r = work_copy_file(d->db, to);
                if (r < 0)
                        return r;
        }
        r = test_daemon_restart(d, NULL);
        if (r < 0)
                return r;
        if (ret_gen_s)
                *ret_gen_s = t / 1e6;
        return 0;
}

void work_daemon_cleanup(TestDaemon *d) {
        test_daemon_cleanup(d);
        work_cleanup_forget(d);
}

int work_copy_file(const char *from, const char *to) {
        _cleanup_close_ int in = -1, out = -1;
        char buf[1 << 16];

        in = open(from, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                if (work_write_all(out, buf, (size_t) n) < 0)
                        return -errno;
        }
}

int work_handle(const TestDaemon *d, callrole **ret) {
        callrole *c = NULL;
        int r;

        r = callrole_new(&c);
        if (r < 0)
                return r;
        r = callrole_set_socket(c, d->socket);
        if (r >= 0)
                r = callrole_set_timeout(c, 120ull * 1000 * 1000);
        if (r < 0) {
                callrole_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* A stream socket and the address of path; -errno. */
static int socket_for(const char *path, struct sockaddr_un *sa) {
        int fd;

        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        memcpy(sa->sun_path, path, strlen(path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd < 0 ? -errno : fd;
}

int work_connect(const char *path) {
        struct sockaddr_un sa;
        int fd = socket_for(path, &sa);

        if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

int work_listen(const char *path) {
        struct sockaddr_un sa;
        int fd = socket_for(path, &sa);

        if (fd >= 0 && (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0)) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

int work_cpus(int *cpus, int max) {
        cpu_set_t set;
        int n = 0;

        if (sched_getaffinity(0, sizeof(set), &set) < 0)
                return -errno;
        for (int i = 0; i < CPU_SETSIZE && n < max; i++)
                if (CPU_ISSET(i, &set))
                        cpus[n++] = i;
        return n;
}

int work_pin(pid_t pid, int cpu) {
        char path[64];
        cpu_set_t set;
        DIR *dir;
        struct dirent *de;
        int r = 0;

        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (pid == 0)
                return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
        /* Every thread: a daemon may have more than one. */
        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        dir = opendir(path);
        if (!dir)
                return -errno;
        while ((de = readdir(dir))) {
                char *end;
                long tid;
                if (de->d_name[0] == '.')
                        continue;
                errno = 0;
                tid = strtol(de->d_name, &end, 10);
                if (errno || *end || tid <= 0 || tid > INT_MAX)
                        continue;   /* not a thread id: nothing to pin */
                if (sched_setaffinity((pid_t) tid, sizeof(set), &set) < 0)
                        r = -errno;
        }
        closedir(dir);
        return r;
}

/* ---- checks ------------------------------------------------------------- */

int work_checks_new(const GenShape *shape, size_t n, uint64_t *rng, WorkCheck **ret) {
        WorkCheck *v = calloc(n, sizeof(WorkCheck));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                WorkCheck *w = &v[i];
                unsigned u = 1 + (unsigned) (bench_rand(rng) % shape->users);

                w->user_index = u;
                gen_user_name(u, w->user);
                gen_account_name(gen_user_account(shape, u), w->account);
                snprintf(w->group, sizeof(w->group), "g%02u", (unsigned) (bench_rand(rng) % 50));
                snprintf(w->ivr, sizeof(w->ivr), "ivr%02u", (unsigned) (bench_rand(rng) % 20));
                w->perm = work_perms[bench_rand(rng) % work_n_perms];
                w->attrs[0] = (callrole_attr) { "group", w->group };
                w->attrs[1] = (callrole_attr) { "ivr", w->ivr };
                w->attrs[2] = (callrole_attr) { "assignee", w->user };
        }
        *ret = v;
        return 0;
}

static void put_one(struct cr_buf *b, const WorkCheck *w) {
        const char *keys[3], *values[3];

        for (size_t i = 0; i < 3; i++) {
                keys[i] = w->attrs[i].key;
                values[i] = w->attrs[i].value;
        }
        cr_put_check(b, w->user, w->perm, w->account, keys, values, 3);
}

/* The same bytes libcallrole sends: a frame, the request prefix (no flags,
 * acting as the peer), then the check(s). */
static int put_frame(struct cr_buf *out, uint8_t type, const WorkCheck *w, size_t n, uint32_t id) {
        struct cr_buf b;
        int r;

        cr_buf_init(&b, CR_HEADER_SIZE + CR_REQUEST_MAX);
        cr_frame_begin(&b, type, id);
        cr_put_prefix(&b, 0, NULL);
        if (type == CR_MSG_CHECK_BATCH)
                cr_put_u16(&b, (uint16_t) n);
        for (size_t i = 0; i < n; i++)
                put_one(&b, &w[i]);
        r = cr_frame_end(&b);
        if (r >= 0) {
                cr_put_bytes(out, b.data, b.len);
                r = cr_buf_error(out);
        }
        cr_buf_done(&b);
        return r;
}

int work_put_check_frame(struct cr_buf *out, const WorkCheck *w, uint32_t id) {
        return put_frame(out, CR_MSG_CHECK, w, 1, id);
}

int work_put_batch_frame(struct cr_buf *out, const WorkCheck *w, size_t n, uint32_t id) {
        if (n == 0 || n > CR_BATCH_MAX)
                return -EINVAL;
        return put_frame(out, CR_MSG_CHECK_BATCH, w, n, id);
}

/* ---- raw replies -------------------------------------------------------- */

int work_write_all(int fd, const void *p, size_t n) {
        const uint8_t *q = p;

        while (n > 0) {
                ssize_t k = write(fd, q, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                q += k;
                n -= (size_t) k;
        }
        return 0;
}

int work_read_exact(int fd, void *p, size_t n) {
        uint8_t *q = p;

        while (n > 0) {
                ssize_t k = read(fd, q, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ECONNRESET;
                q += k;
                n -= (size_t) k;
        }
        return 0;
}

int work_read_replies(int fd, WorkReader *r, size_t *ret_frames, uint64_t *ret_checks) {
        size_t off = 0, frames = 0;
        uint64_t checks = 0;
        ssize_t n;

        if (r->cap - r->len < 65536) {
                size_t cap = r->cap ? r->cap * 2 : 262144;
                uint8_t *b = realloc(r->buf, cap);
                if (!b)
                        return -ENOMEM;
                r->buf = b;
                r->cap = cap;
        }
        do
                n = read(fd, r->buf + r->len, r->cap - r->len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;
        r->len += (size_t) n;

        while (r->len - off >= CR_HEADER_SIZE) {
                struct cr_header h;
                int k = cr_header_decode(r->buf + off, r->len - off, CR_REPLY_MAX, &h);
                if (k < 0)
                        return k;
                if (r->len - off - CR_HEADER_SIZE < h.length)
                        break;
                if (h.type == CR_MSG_DECISION)
                        checks++;
                else if (h.type == CR_MSG_DECISIONS && h.length >= 2)
                        checks += (uint64_t) r->buf[off + CR_HEADER_SIZE] << 8 | r->buf[off + CR_HEADER_SIZE + 1];
                else {
                        fprintf(stderr, "%s: unexpected reply of type %u (%u bytes)\n", program_invocation_short_name,
                                h.type, h.length);
                        return -EPROTO;
                }
                frames++;
                off += CR_HEADER_SIZE + h.length;
        }
        if (off > 0) {
                memmove(r->buf, r->buf + off, r->len - off);
                r->len -= off;
        }
        *ret_frames += frames;
        *ret_checks += checks;
        return 0;
}

void work_reader_done(WorkReader *r) {
        free(r->buf);
        *r = (WorkReader) {};
}

/* ---- client processes --------------------------------------------------- */

static int client_ready_fd = -1, client_go_fd = -1;
static double client_window_us;
static bool client_started;

double work_client_start(void) {
        char c = 1;

        client_started = true;
        if (write(client_ready_fd, &c, 1) != 1)
                _exit(3);
        /* EOF on the go pipe: the parent released everyone at once. */
        while (read(client_go_fd, &c, 1) < 0 && errno == EINTR)
                ;
        return bench_now_us() + client_window_us;
}

typedef struct ClientResult {
        int64_t count;
} ClientResult;

int work_clients_run(unsigned n, double window_s, WorkClientFn fn, void *arg, uint64_t *ret_sum,
                     double *ret_elapsed_s) {
        int ready[2], go[2], res[2];
        pid_t pids[256];
        uint64_t sum = 0;
        double t0;
        int r = 0;

        if (n == 0 || n > ELEMENTSOF(pids))
                return -EINVAL;
        if (pipe2(ready, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
                return -errno;
        fflush(stdout);
        fflush(stderr);
        for (unsigned i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        r = -errno;
                        n = i;
                        break;
                }
                if (pid == 0) {
                        ClientResult cr;
                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        signal(SIGINT, SIG_DFL);
                        signal(SIGTERM, SIG_DFL);
                        signal(SIGHUP, SIG_DFL);
                        close(ready[0]);
                        close(go[1]);
                        close(res[0]);
                        client_ready_fd = ready[1];
                        client_go_fd = go[0];
                        client_window_us = window_s * 1e6;
                        cr.count = fn(i, arg);
                        if (cr.count < 0) {
                                char zero = 0;
                                if (!client_started)
                                        if (write(ready[1], &zero, 1) < 0)
                                                _exit(2);
                                _exit(2);
                        }
                        if (write(res[1], &cr, sizeof(cr)) != sizeof(cr))
                                _exit(3);
                        _exit(0);
                }
                pids[i] = pid;
        }
        close(ready[1]);
        close(go[0]);
        close(res[1]);
        /* Everyone ready: each child writes 1 when set up, 0 when it
         * failed before; one that crashed is found by polling. */
        for (unsigned got = 0; r >= 0 && got < n;) {
                struct pollfd p = { .fd = ready[0], .events = POLLIN };
                char buf[256];
                ssize_t k;

                if (poll(&p, 1, 1000) == 0) {
                        for (unsigned i = 0; i < n; i++)
                                if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
                                        pids[i] = 0;
                                        r = -ECHILD;
                                }
                        continue;
                }
                k = read(ready[0], buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 || memchr(buf, 0, (size_t) k)) {
                        r = -ECHILD;
                        break;
                }
                got += (unsigned) k;
        }
        t0 = bench_now_us();
        close(go[1]);
        for (unsigned got = 0; r >= 0 && got < n;) {
                ClientResult cr;
                ssize_t k = read(res[0], &cr, sizeof(cr));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k != sizeof(cr)) {
                        r = -ECHILD;
                        break;
                }
                sum += (uint64_t) cr.count;
                got++;
        }
        if (ret_elapsed_s)
                *ret_elapsed_s = (bench_now_us() - t0) / 1e6;
        close(ready[0]);
        close(res[0]);
        for (unsigned i = 0; i < n; i++) {
                int status;
                if (pids[i] <= 0)
                        continue;
                if (r < 0)
                        (void) kill(pids[i], SIGKILL);
                if (waitpid(pids[i], &status, 0) == pids[i] && (!WIFEXITED(status) || WEXITSTATUS(status) != 0) &&
                    r >= 0)
                        r = -ECHILD;
        }
        if (r < 0)
                return r;
        *ret_sum = sum;
        return 0;
}
