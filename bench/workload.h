/*
 * workload.h: what sections 1, 2, 3 and 6 of the benchmark suite share on
 * top of bench-util.h: a daemon started on a generated policy, the random
 * checks every section asks (the same mix as bench-scale.c: a random user
 * with its own account, a permission from a fixed list, and the group, IVR
 * and assignee attributes of a call), those checks encoded as wire frames
 * for raw pipelined sockets, client processes started together on a
 * barrier, and cleanup of daemons and folders when a program fails or is
 * killed by the driver's timeout.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "callrole-wire.h"
#include "callrole.h"
#include "gen-policy.h"
#include "helper-daemon.h"

/* The permissions checks ask about (granted by some roles, not others). */
extern const char *const work_perms[];
extern const size_t work_n_perms;

typedef struct WorkCheck {
        char user[16], account[16], group[8], ivr[8];
        const char *perm;
        unsigned user_index;
        callrole_attr attrs[3];   /* point into this struct: never copy one */
} WorkCheck;

/* n random checks over the users of shape. */
int work_checks_new(const GenShape *shape, size_t n, uint64_t *rng, WorkCheck **ret);

/* Appends one whole frame to out (which may already hold frames): a check,
 * or a batch of n checks. */
int work_put_check_frame(struct cr_buf *out, const WorkCheck *w, uint32_t id);
int work_put_batch_frame(struct cr_buf *out, const WorkCheck *w, size_t n, uint32_t id);

/* Generates the policy of shape into a fresh daemon's database and starts
 * the daemon on it; ret_gen_s (may be NULL) receives the generation time.
 * copy_name (may be NULL) names a copy of the generated database made in
 * d->dir before the daemon opens it (and takes its exclusive lock).  The
 * daemon is registered for cleanup at exit and on SIGINT/SIGTERM. */
int work_daemon_start(TestDaemon *d, const GenShape *shape, const char *copy_name, double *ret_gen_s);
/* test_daemon_cleanup() and forget it. */
void work_daemon_cleanup(TestDaemon *d);
/* Copies a database file (after gen_policy it is whole: the WAL was
 * checkpointed and truncated). */
int work_copy_file(const char *from, const char *to);
/* A handle on d's socket with a generous timeout. */
int work_handle(const TestDaemon *d, callrole **ret);
/* A connected raw socket. */
int work_connect(const char *path);
/* A listening socket bound at path (for the baselines' echo servers). */
int work_listen(const char *path);

/* Reads whatever arrived on fd into r and counts the whole reply frames in
 * it; *ret_frames and *ret_checks are incremented (a DECISION counts one
 * check, a DECISIONS its n).  An ERROR frame, a broken stream or EOF is an
 * error. */
typedef struct WorkReader {
        uint8_t *buf;
        size_t len, cap;
} WorkReader;
int work_read_replies(int fd, WorkReader *r, size_t *ret_frames, uint64_t *ret_checks);
void work_reader_done(WorkReader *r);
int work_write_all(int fd, const void *p, size_t n);
/* Exactly n bytes: 0, -ECONNRESET at EOF, or -errno. */
int work_read_exact(int fd, void *p, size_t n);

/*
 * Client processes: work_clients_run() forks n children, each of which
 * runs fn(index, arg) once every child is ready (each calls
 * work_client_ready() when set up) until the window closes
 * (work_client_deadline()), and returns a count.  The parent returns the
 * sum of the counts, and how long the window really lasted (from release
 * to the last child's finish).  A child that fails fails the run.
 */
typedef int64_t (*WorkClientFn)(unsigned index, void *arg);
int work_clients_run(unsigned n, double window_s, WorkClientFn fn, void *arg, uint64_t *ret_sum,
                     double *ret_elapsed_s);
/* Inside a client: announce readiness and wait for the start signal;
 * returns the absolute deadline (bench_now_us() scale). */
double work_client_start(void);

/* Registers a folder (and the daemon in it, if any) for removal at exit
 * and on SIGINT/SIGTERM in this process (never in its children). */
void work_cleanup_register(TestDaemon *d);
void work_cleanup_forget(TestDaemon *d);

/* Up to max CPUs this process may run on, into cpus; returns how many
 * (≤ 0 on error). */
int work_cpus(int *cpus, int max);
/* Pins every thread of pid (0: this process) to one CPU. */
int work_pin(pid_t pid, int cpu);

/* Prints to stderr and exits 1 (cleanup runs). */
_Noreturn void work_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
