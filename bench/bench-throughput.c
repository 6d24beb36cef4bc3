/*
 * bench-throughput.c: sections 2 and 3 of `make bench`: how many checks a
 * second callroled answers, and what one check costs next to the query a
 * host program would run on its own database instead.
 *
 * Section 2, at 100k users: checks per second over a fixed window, from 1,
 * 4 and 16 client processes started together, each on its own connection:
 *   (a) single:          callrole_check(), one at a time;
 *   (b) pipelined:       check frames written straight on a raw socket
 *                        (the wire codec), 64 in flight, the pipe kept full;
 *   (c) batch:           callrole_check_batch() of 64, one at a time;
 *   (d) batch pipelined: batches of 64 on a raw socket, 8 in flight.
 * The ratio column of (b), (c) and (d) is their gain over (a) with as many
 * processes.  Target: the better of (c) and (d) from one process reaches a
 * million checks a second.
 *
 * Section 3, at every size (1k, 100k, 1M users; quick: 1k, 100k): the
 * baseline is a prepared SQLite query on a copy of the very database the
 * daemon loaded, joining user → membership → role → grant for a user name,
 * an account name and a permission name (whether a grant row exists), the
 * connection in locking_mode=EXCLUSIVE set before journal_mode=WAL, its
 * fastest setting.  The query ignores scopes and attributes, so it does
 * less than a callrole check.  Measured: the per-check cost of batched
 * callrole from one process, 1 / (best of (c) and (d) in checks/s).  The
 * two alternate over a few rounds and each keeps its best.  Target: ≤ 1/5
 * of the query at every size.
 *
 * BENCH_THROUGHPUT_SIZES="1000 100000" overrides the sizes.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"
#include "macro.h"
#include "workload.h"

#define POOL 4096u
#define BATCH 64u
#define PIPE_CHECKS 64u     /* (b): single checks in flight */
#define PIPE_BATCHES 8u     /* (d): batches in flight */
#define MATRIX_USERS 100000u

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

typedef enum Mode {
        MODE_SINGLE,
        MODE_PIPELINED,
        MODE_BATCH,
        MODE_BATCH_PIPELINED,
        _MODE_MAX,
} Mode;

static const char *const mode_name[_MODE_MAX] = {
        [MODE_SINGLE] = "single checks",
        [MODE_PIPELINED] = "pipelined single checks (64 in flight)",
        [MODE_BATCH] = "batch of 64",
        [MODE_BATCH_PIPELINED] = "batch of 64, pipelined (8 in flight)",
};

typedef struct Run {
        const TestDaemon *d;
        const GenShape *shape;
        Mode mode;
} Run;

/* Frames laid end to end in one buffer, so a run of them is one write. */
typedef struct Frames {
        struct cr_buf buf;
        size_t *off;    /* n + 1 offsets */
        size_t n;
} Frames;

static int frames_build(Frames *f, const WorkCheck *pool, bool batch) {
        f->n = batch ? POOL / BATCH : POOL;
        f->off = calloc(f->n + 1, sizeof(size_t));
        if (!f->off)
                return -ENOMEM;
        cr_buf_init(&f->buf, SIZE_MAX);
        for (size_t i = 0; i < f->n; i++) {
                int r;
                f->off[i] = f->buf.len;
                r = batch ? work_put_batch_frame(&f->buf, &pool[i * BATCH], BATCH, (uint32_t) i + 1)
                          : work_put_check_frame(&f->buf, &pool[i], (uint32_t) i + 1);
                if (r < 0)
                        return r;
        }
        f->off[f->n] = f->buf.len;
        return 0;
}

/* Writes frames [*next, *next + m) of the ring. */
static int frames_send(int fd, const Frames *f, size_t *next, size_t m) {
        while (m > 0) {
                size_t k = MIN(m, f->n - *next);
                int r = work_write_all(fd, f->buf.data + f->off[*next], f->off[*next + k] - f->off[*next]);
                if (r < 0)
                        return r;
                *next = (*next + k) % f->n;
                m -= k;
        }
        return 0;
}

/* (b) and (d): keep `depth` frames in flight; count the checks answered
 * before the deadline, then drain what is still in flight. */
static int64_t run_pipelined(const Run *run, const WorkCheck *pool, bool batch) {
        size_t depth = batch ? PIPE_BATCHES : PIPE_CHECKS, next = 0, in_flight;
        _cleanup_close_ int fd = -1;
        WorkReader rd = {};
        Frames f = {};
        uint64_t counted = 0;
        double deadline;
        int r;

        r = frames_build(&f, pool, batch);
        if (r < 0)
                return r;
        fd = work_connect(run->d->socket);
        if (fd < 0)
                return fd;
        deadline = work_client_start();
        r = frames_send(fd, &f, &next, depth);
        in_flight = depth;
        while (r >= 0 && in_flight > 0) {
                size_t frames = 0;
                uint64_t checks = 0;
                bool open;

                r = work_read_replies(fd, &rd, &frames, &checks);
                if (r < 0)
                        break;
                in_flight -= frames;
                open = bench_now_us() < deadline;
                if (open) {
                        counted += checks;
                        r = frames_send(fd, &f, &next, frames);
                        in_flight += frames;
                }
        }
        work_reader_done(&rd);
        cr_buf_done(&f.buf);
        free(f.off);
        if (r < 0) {
                fprintf(stderr, "bench-throughput: %s: %s\n", mode_name[run->mode], strerror(-r));
                return r;
        }
        return (int64_t) counted;
}

static int64_t run_library(const Run *run, const WorkCheck *pool, bool batch) {
        _cleanup_free_ callrole_check_item *items = NULL;
        callrole *c = NULL;
        int64_t count = 0;
        double deadline;
        int r, allowed[BATCH];

        r = work_handle(run->d, &c);
        if (r < 0)
                return r;
        items = calloc(POOL, sizeof(callrole_check_item));
        if (!items) {
                callrole_free(c);
                return -ENOMEM;
        }
        for (size_t i = 0; i < POOL; i++)
                items[i] = (callrole_check_item) { pool[i].user, pool[i].perm, pool[i].account, pool[i].attrs, 3 };
        /* The connection opens with the first call, before the start. */
        r = callrole_check(c, pool[0].user, pool[0].perm, pool[0].account, pool[0].attrs, 3, NULL);
        deadline = work_client_start();
        for (size_t i = 0; r >= 0 && bench_now_us() < deadline; i++) {
                if (batch) {
                        r = callrole_check_batch(c, &items[(i * BATCH) % POOL], BATCH, allowed, NULL);
                        count += BATCH;
                } else {
                        const WorkCheck *w = &pool[i % POOL];
                        r = callrole_check(c, w->user, w->perm, w->account, w->attrs, 3, NULL);
                        count++;
                }
        }
        if (r < 0)
                fprintf(stderr, "bench-throughput: %s: %s: %s\n", mode_name[run->mode], callrole_strerror(r),
                        callrole_last_error(c) ? callrole_last_error(c) : "");
        callrole_free(c);
        return r < 0 ? r : count;
}

static int64_t client(unsigned index, void *arg) {
        const Run *run = arg;
        _cleanup_free_ WorkCheck *pool = NULL;
        uint64_t rng = 0x9e3779b97f4a7c15ull * (index + 1);
        int r;

        r = work_checks_new(run->shape, POOL, &rng, &pool);
        if (r < 0)
                return r;
        switch (run->mode) {
        case MODE_SINGLE:
                return run_library(run, pool, false);
        case MODE_BATCH:
                return run_library(run, pool, true);
        case MODE_PIPELINED:
                return run_pipelined(run, pool, false);
        default:
                return run_pipelined(run, pool, true);
        }
}

static double measure(const TestDaemon *d, const GenShape *shape, Mode mode, unsigned procs, double window_s) {
        Run run = { d, shape, mode };
        uint64_t sum;
        double elapsed;
        int r;

        r = work_clients_run(procs, window_s, client, &run, &sum, &elapsed);
        if (r < 0)
                work_die("%s from %u processes failed: %s", mode_name[mode], procs, strerror(-r));
        return (double) sum / window_s;
}

/* ---- section 3: the host program's own query ---------------------------- */

static const char direct_sql[] =
        "SELECT EXISTS (SELECT 1 FROM users u"
        " JOIN memberships m ON m.user = u.id"
        " JOIN accounts a ON a.id = m.account"
        " JOIN roles r ON r.id = m.role"
        " JOIN grants g ON g.role = r.id"
        " WHERE u.name = ?1 AND a.name = ?2 AND g.permission = ?3)";

typedef struct Direct {
        sqlite3 *db;
        sqlite3_stmt *st;
        WorkCheck *pool;
} Direct;

static void direct_open(Direct *x, const char *path, const GenShape *shape) {
        uint64_t rng = 0x853c49e6748fea9bull;
        char *err = NULL;
        int r;

        if (sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
                work_die("cannot open %s: %s", path, sqlite3_errmsg(x->db));
        /* The lock is taken once and kept: set before WAL, the WAL index
         * lives in the heap and no statement touches file locks again. */
        if (sqlite3_exec(x->db, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;", NULL, NULL, &err) !=
            SQLITE_OK)
                work_die("pragmas on %s: %s", path, err ? err : "?");
        if (sqlite3_prepare_v3(x->db, direct_sql, -1, SQLITE_PREPARE_PERSISTENT, &x->st, NULL) != SQLITE_OK)
                work_die("cannot prepare the query: %s", sqlite3_errmsg(x->db));
        r = work_checks_new(shape, POOL, &rng, &x->pool);
        if (r < 0)
                work_die("%s", strerror(-r));
}

static void direct_close(Direct *x) {
        sqlite3_finalize(x->st);
        sqlite3_close(x->db);
        free(x->pool);
}

/* Queries per second over the window; *ret_found counts grant rows seen. */
static double direct_measure(Direct *x, double window_s, uint64_t *ret_found) {
        double t0 = bench_now_us(), end = t0 + window_s * 1e6, now = t0;
        uint64_t n = 0, found = 0;

        while (now < end) {
                for (unsigned k = 0; k < 64; k++, n++) {
                        const WorkCheck *w = &x->pool[n % POOL];
                        sqlite3_bind_text(x->st, 1, w->user, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x->st, 2, w->account, -1, SQLITE_STATIC);
                        sqlite3_bind_text(x->st, 3, w->perm, -1, SQLITE_STATIC);
                        if (sqlite3_step(x->st) != SQLITE_ROW)
                                work_die("query: %s", sqlite3_errmsg(x->db));
                        found += (uint64_t) sqlite3_column_int(x->st, 0);
                        sqlite3_reset(x->st);
                }
                now = bench_now_us();
        }
        *ret_found = found;
        return (double) n / ((now - t0) / 1e6);
}

/* ---- output ------------------------------------------------------------- */

static void fmt_rate(double v, char *buf, size_t size) {
        unsigned long long n = (unsigned long long) (v + 0.5);
        char digits[32], out[48];
        size_t len, o = 0;

        len = (size_t) snprintf(digits, sizeof(digits), "%llu", n);
        for (size_t i = 0; i < len; i++) {
                if (i > 0 && (len - i) % 3 == 0)
                        out[o++] = ',';
                out[o++] = digits[i];
        }
        out[o] = 0;
        snprintf(buf, size, "%s", out);
}

typedef struct SizeResult {
        unsigned users;
        double direct_qps, batch_cps[2];   /* (c), (d) from one process, best of the rounds */
        uint64_t found;
} SizeResult;

int main(void) {
        const bool quick = bench_quick();
        const double window = quick ? 0.15 : 1.0;
        const unsigned rounds = quick ? 2 : 3, procs[3] = { 1, 4, 16 };
        unsigned sizes[8] = { 1000, 100000, 1000000 };
        size_t n_sizes = quick ? 2 : 3;
        SizeResult res[8] = {};
        double matrix[_MODE_MAX][3] = {};
        unsigned matrix_users = 0;
        const char *env = getenv("BENCH_THROUGHPUT_SIZES");
        char what[16], a[48], b[48];

        if (env && *env) {
                char *copy = strdup(env), *save = NULL;
                n_sizes = 0;
                for (char *t = strtok_r(copy, " ,", &save); t && n_sizes < ELEMENTSOF(sizes);
                     t = strtok_r(NULL, " ,", &save))
                        sizes[n_sizes++] = (unsigned) strtoul(t, NULL, 10);
                free(copy);
        }
        /* The matrix runs once, at 100k users or the largest size below. */
        for (size_t i = 0; i < n_sizes; i++)
                if (sizes[i] <= MATRIX_USERS && sizes[i] > matrix_users)
                        matrix_users = sizes[i];
        if (matrix_users == 0)
                matrix_users = sizes[0];

        for (size_t s = 0; s < n_sizes; s++) {
                GenShape shape = { .users = sizes[s], .accounts = 1000 };
                char copy[400];
                Direct x = {};
                TestDaemon d;
                int r;

                r = work_daemon_start(&d, &shape, "direct.db", NULL);
                if (r < 0)
                        work_die("cannot start callroled on %u users: %s", sizes[s], strerror(-r));
                snprintf(copy, sizeof(copy), "%s/direct.db", d.dir);
                direct_open(&x, copy, &shape);
                res[s].users = sizes[s];
                /* Warm both: the daemon's first touches and SQLite's cache. */
                (void) measure(&d, &shape, MODE_BATCH_PIPELINED, 1, window / 2);
                (void) direct_measure(&x, window / 2, &res[s].found);
                for (unsigned k = 0; k < rounds; k++) {
                        double v;
                        uint64_t found;

                        v = direct_measure(&x, window, &found);
                        /* A query that never finds a grant would be
                         * measuring the wrong thing. */
                        if (found == 0)
                                work_die("the SQLite query found no grant at %u users", sizes[s]);
                        if (v > res[s].direct_qps) {
                                res[s].direct_qps = v;
                                res[s].found = found;
                        }
                        for (int m = 0; m < 2; m++) {
                                v = measure(&d, &shape, m ? MODE_BATCH_PIPELINED : MODE_BATCH, 1, window);
                                res[s].batch_cps[m] = MAX(res[s].batch_cps[m], v);
                        }
                }
                direct_close(&x);
                fprintf(stderr, "bench-throughput: %u users: SQLite %.2f µs per query (%.0f%% found a grant), batch %.0f/s, batch pipelined %.0f/s\n",
                        sizes[s], 1e6 / res[s].direct_qps,
                        100.0 * (double) res[s].found / (res[s].direct_qps * window), res[s].batch_cps[0],
                        res[s].batch_cps[1]);

                if (sizes[s] == matrix_users)
                        for (Mode m = 0; m < _MODE_MAX; m++)
                                for (size_t p = 0; p < 3; p++) {
                                        matrix[m][p] = measure(&d, &shape, m, procs[p], window);
                                        fprintf(stderr, "bench-throughput: %s, %u processes: %.0f checks/s\n",
                                                mode_name[m], procs[p], matrix[m][p]);
                                }
                work_daemon_cleanup(&d);
        }

        bench_human_count(matrix_users, what, sizeof(what));
        for (Mode m = 0; m < _MODE_MAX; m++)
                for (size_t p = 0; p < 3; p++) {
                        fmt_rate(matrix[m][p], a, sizeof(a));
                        fmt_rate(matrix[MODE_SINGLE][p], b, sizeof(b));
                        if (m == MODE_SINGLE)
                                printf("| 2 throughput | (a) %s, %u process%s, %s users | %s checks/s | — | — | — |\n",
                                       mode_name[m], procs[p], procs[p] > 1 ? "es" : "", what, a);
                        else
                                printf("| 2 throughput | (%c) %s, %u process%s, %s users | %s checks/s | %s checks/s (single checks) | %.1f | — |\n",
                                       'a' + m, mode_name[m], procs[p], procs[p] > 1 ? "es" : "", what, a, b,
                                       matrix[m][p] / matrix[MODE_SINGLE][p]);
                }
        {
                /* The best one-process figure at the matrix size: its own
                 * rounds of section 3 count too. */
                double c1 = matrix[MODE_BATCH][0], d1 = matrix[MODE_BATCH_PIPELINED][0];
                for (size_t s = 0; s < n_sizes; s++)
                        if (res[s].users == matrix_users) {
                                c1 = MAX(c1, res[s].batch_cps[0]);
                                d1 = MAX(d1, res[s].batch_cps[1]);
                        }
                bool pipelined = d1 > c1;
                double best = MAX(c1, d1);

                fmt_rate(best, a, sizeof(a));
                printf("| 2 throughput | batched, best of (c) and (d) and of the rounds, 1 process, %s users | %s checks/s (%s) | — | — | ≥ 1,000,000 |\n",
                       what, a, pipelined ? "(d) pipelined" : "(c) one at a time");
                (void) bench_target(best >= 1e6, "batched throughput from one process", "%s checks/s (%s) ≥ 1,000,000",
                                    a, pipelined ? "batches pipelined" : "batches one at a time");
        }
        for (size_t s = 0; s < n_sizes; s++) {
                double best = MAX(res[s].batch_cps[0], res[s].batch_cps[1]);
                double per_check = 1e6 / best, per_query = 1e6 / res[s].direct_qps;

                bench_human_count(res[s].users, what, sizeof(what));
                printf("| 3 vs SQLite | per check, batched callrole, 1 process, %s users | %.2f µs (%s) | %.2f µs (prepared SQLite join, exclusive WAL) | %.2f | ≤ 0.2 |\n",
                       what, per_check, res[s].batch_cps[1] > res[s].batch_cps[0] ? "(d) pipelined" : "(c) one at a time",
                       per_query, per_check / per_query);
                (void) bench_target(per_check <= per_query / 5, "batched check vs direct SQLite query",
                                    "%s users: %.2f ≤ 0.2", what, per_check / per_query);
        }
        return 0;
}
