/*
 * helper-daemon.c: see helper-daemon.h.  Real processes, real sockets: the
 * integration tests talk to the same callroled that ships, through the same
 * libcallrole and callrolectl.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper-daemon.h"

const char *test_build_dir(void) {
        const char *b = getenv("CALLROLE_BUILD");
        return b && *b ? b : "build";
}

const char *test_source_dir(void) {
        const char *s = getenv("CALLROLE_SOURCE");
        return s && *s ? s : ".";
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

void test_rm_rf(const char *path) {
        if (path && *path)
                (void) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int test_tmpfs_mount(const char *size, char *dir, size_t n) {
        char opts[64], tmpl[] = "/tmp/callrole-tmpfs.XXXXXX";

        if (geteuid() != 0)
                return -EPERM;
        if (strlen(tmpl) >= n)
                return -ENAMETOOLONG;
        if (!mkdtemp(tmpl))
                return -errno;
        snprintf(opts, sizeof(opts), "size=%s,mode=0755", size);
        if (mount("tmpfs", tmpl, "tmpfs", 0, opts) < 0) {
                int e = -errno;
                rmdir(tmpl);
                return e;
        }
        memcpy(dir, tmpl, sizeof(tmpl));
        return 0;
}

void test_tmpfs_unmount(char *dir) {
        if (!dir[0])
                return;
        (void) umount2(dir, MNT_DETACH);
        (void) rmdir(dir);
        dir[0] = 0;
}

static bool socket_answers(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok;
        if (fd < 0)
                return false;
        if (strlen(path) >= sizeof(sa.sun_path)) {
                close(fd);
                return false;
        }
        memcpy(sa.sun_path, path, strlen(path));
        ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        close(fd);
        return ok;
}

static char *wrapper_copy;

static int spawn(TestDaemon *d, const char *const *extra) {
        char exe[512], uid[32], profiles[512];
        const char *argv[64];
        size_t n = 0;
        pid_t pid;

        snprintf(exe, sizeof(exe), "%s/callroled", test_build_dir());
        snprintf(uid, sizeof(uid), "%u", (unsigned) getuid());
        snprintf(profiles, sizeof(profiles), "%s/profiles", test_source_dir());
        /* $CALLROLE_DAEMON_WRAPPER runs the daemon under a tool, e.g.
         * "valgrind -q --leak-check=full --errors-for-leak-kinds=definite";
         * with -q any line valgrind writes to the log fails the test. */
        if (wrapper_copy) {
                free(wrapper_copy);
                wrapper_copy = NULL;
        }
        if (getenv("CALLROLE_DAEMON_WRAPPER") && *getenv("CALLROLE_DAEMON_WRAPPER")) {
                char *save = NULL;
                wrapper_copy = strdup(getenv("CALLROLE_DAEMON_WRAPPER"));
                for (char *t = wrapper_copy ? strtok_r(wrapper_copy, " ", &save) : NULL; t && n < 16;
                     t = strtok_r(NULL, " ", &save))
                        argv[n++] = t;
        }
        argv[n++] = exe;
        argv[n++] = "--foreground";
        argv[n++] = "--socket";
        argv[n++] = d->socket;
        argv[n++] = "--db";
        argv[n++] = d->db;
        argv[n++] = "--admin-uid";
        argv[n++] = uid;
        argv[n++] = "--profile-dir";
        argv[n++] = profiles;
        for (size_t i = 0; extra && extra[i] && n < 62; i++)
                argv[n++] = extra[i];
        argv[n] = NULL;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                /* A test program that dies must not leave its daemon behind. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (fd >= 0) {
                        dup2(fd, STDERR_FILENO);
                        dup2(fd, STDOUT_FILENO);
                }
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                unsetenv("NOTIFY_SOCKET");
                execvp(argv[0], (char *const *) argv);
                _exit(127);
        }
        d->pid = pid;
        for (int i = 0; i < 3000; i++) {
                int status;
                if (socket_answers(d->socket))
                        return 0;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        d->pid = 0;
                        return -ECHILD;
                }
                usleep(10000);
        }
        return -ETIMEDOUT;
}

int test_daemon_start(TestDaemon *d, const char *const *extra) {
        char tmpl[] = "/tmp/callrole-test.XXXXXX";

        memset(d, 0, sizeof(*d));
        if (!mkdtemp(tmpl))
                return -errno;
        snprintf(d->dir, sizeof(d->dir), "%s", tmpl);
        snprintf(d->socket, sizeof(d->socket), "%s/socket", d->dir);
        snprintf(d->db, sizeof(d->db), "%s/roles.db", d->dir);
        snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
        return spawn(d, extra);
}

int test_daemon_restart(TestDaemon *d, const char *const *extra) {
        if (d->pid > 0)
                (void) test_daemon_stop(d);
        return spawn(d, extra);
}

void test_daemon_kill(TestDaemon *d, int sig) {
        if (d->pid > 0)
                kill(d->pid, sig);
}

int test_daemon_stop(TestDaemon *d) {
        /* Under valgrind a daemon takes far longer to write its report and
         * exit; killing it early would lose the report. */
        int status = 0, tries = getenv("CALLROLE_DAEMON_WRAPPER") ? 6000 : 500;

        if (d->pid <= 0)
                return 0;
        kill(d->pid, SIGTERM);
        for (int i = 0; i < tries; i++) {
                if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                        d->pid = 0;
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                }
                usleep(10000);
        }
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &status, 0);
        d->pid = 0;
        return -1;
}

/* A daemon built with SANITIZE=1 reports leaks and undefined behaviour in
 * its log, not to the test: make such a report fail the test program. */
static void check_daemon_log(const TestDaemon *d) {
        char line[1024];
        bool bad = false;
        FILE *f = fopen(d->log, "re");

        if (!f)
                return;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, "Sanitizer") || strstr(line, "runtime error:") ||
                    /* valgrind -q prints only when it found something */
                    (line[0] == '=' && line[1] == '=' && line[2] >= '0' && line[2] <= '9'))
                        bad = true;
        if (bad) {
                rewind(f);
                fprintf(stderr, "callroled reported a sanitizer or valgrind error; its log %s:\n", d->log);
                while (fgets(line, sizeof(line), f))
                        fputs(line, stderr);
        }
        fclose(f);
        if (bad)
                exit(EXIT_FAILURE);
}

void test_daemon_cleanup(TestDaemon *d) {
        int r = test_daemon_stop(d);

        check_daemon_log(d);
        /* SIGTERM must end the daemon cleanly: exit 0.  A test that killed
         * it on purpose reaped it already (pid 0, r 0), or killed it with
         * SIGKILL. */
        if (r != 0 && r != 128 + SIGKILL) {
                fprintf(stderr, "callroled did not stop cleanly (%s %d); its log %s follows\n",
                        r < 0 ? "had to be killed after a timeout" : "exit status", r, d->log);
                {
                        char line[1024];
                        FILE *f = fopen(d->log, "re");
                        while (f && fgets(line, sizeof(line), f))
                                fputs(line, stderr);
                        if (f)
                                fclose(f);
                }
                exit(EXIT_FAILURE);
        }
        if (getenv("CALLROLE_KEEP_TEST_DIRS"))
                fprintf(stderr, "kept %s\n", d->dir);
        else
                test_rm_rf(d->dir);
}

/* Reads both pipes until both close, so neither side can fill up and
 * stall the child. */
static int slurp_two(int fd1, int fd2, char **ret1, char **ret2) {
        int fds[2] = { fd1, fd2 };
        char *buf[2] = { NULL, NULL };
        size_t len[2] = { 0, 0 }, cap[2] = { 0, 0 };
        int open_fds = 2;

        while (open_fds > 0) {
                struct pollfd p[2];
                int np = 0, idx[2];
                for (int i = 0; i < 2; i++)
                        if (fds[i] >= 0) {
                                p[np] = (struct pollfd) { .fd = fds[i], .events = POLLIN };
                                idx[np++] = i;
                        }
                if (poll(p, (nfds_t) np, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int k = 0; k < np; k++) {
                        int i = idx[k];
                        ssize_t n;
                        if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        if (cap[i] - len[i] < 4097) {
                                char *nb = realloc(buf[i], cap[i] ? cap[i] * 2 : 8192);
                                if (!nb)
                                        return -ENOMEM;
                                buf[i] = nb;
                                cap[i] = cap[i] ? cap[i] * 2 : 8192;
                        }
                        n = read(fds[i], buf[i] + len[i], cap[i] - len[i] - 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                fds[i] = -1;
                                open_fds--;
                                continue;
                        }
                        len[i] += (size_t) n;
                }
        }
        for (int i = 0; i < 2; i++) {
                if (!buf[i])
                        buf[i] = calloc(1, 1);
                else
                        buf[i][len[i]] = 0;
        }
        *ret1 = buf[0];
        *ret2 = buf[1];
        return 0;
}

static int run_ctl(const TestDaemon *d, bool drop, uid_t uid, char **ret_out, char **ret_err, const char *first,
                   va_list ap) {
        char exe[512];
        const char *argv[64];
        size_t n = 0;
        int outp[2], errp[2], status;
        char *out, *err;
        pid_t pid;

        snprintf(exe, sizeof(exe), "%s/callrolectl", test_build_dir());
        argv[n++] = exe;
        argv[n++] = "--socket";
        argv[n++] = d->socket;
        for (const char *a = first; a && n < 63; a = va_arg(ap, const char *))
                argv[n++] = a;
        argv[n] = NULL;
        if (pipe2(outp, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(errp, O_CLOEXEC) < 0) {
                close(outp[0]);
                close(outp[1]);
                return -errno;
        }
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(outp[1], STDOUT_FILENO);
                dup2(errp[1], STDERR_FILENO);
                if (drop && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
                        _exit(126);
                execv(exe, (char *const *) argv);
                _exit(127);
        }
        close(outp[1]);
        close(errp[1]);
        out = err = NULL;
        (void) slurp_two(outp[0], errp[0], &out, &err);
        close(outp[0]);
        close(errp[0]);
        waitpid(pid, &status, 0);
        if (ret_out)
                *ret_out = out;
        else
                free(out);
        if (ret_err)
                *ret_err = err;
        else
                free(err);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int test_ctl(const TestDaemon *d, char **ret_out, char **ret_err, const char *arg, ...) {
        va_list ap;
        int r;
        va_start(ap, arg);
        r = run_ctl(d, false, 0, ret_out, ret_err, arg, ap);
        va_end(ap);
        return r;
}

int test_ctl_as_uid(const TestDaemon *d, uid_t uid, char **ret_out, char **ret_err, const char *arg, ...) {
        va_list ap;
        int r;
        va_start(ap, arg);
        r = run_ctl(d, true, uid, ret_out, ret_err, arg, ap);
        va_end(ap);
        return r;
}

int test_daemon_call(callrole *c, const char *method, ...) {
        callrole_record *p = NULL;
        callrole_reply *rep = NULL;
        const char *k;
        va_list ap;
        int r;

        r = callrole_record_new(&p);
        if (r < 0)
                return r;
        va_start(ap, method);
        while ((k = va_arg(ap, const char *))) {
                r = callrole_record_add(p, k, va_arg(ap, const char *));
                if (r < 0)
                        break;
        }
        va_end(ap);
        if (r >= 0) {
                r = callrole_call(c, method, p, &rep);
                if (r < 0)
                        fprintf(stderr, "%s: %s failed: %s: %s\n", program_invocation_short_name, method,
                                callrole_strerror(r), callrole_last_error(c) ? callrole_last_error(c) : "");
        }
        callrole_reply_free(rep);
        callrole_record_free(p);
        return r;
}
