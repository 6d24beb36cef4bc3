/*
 * bench-changes.c: section 6 of `make bench`: how many durable changes a
 * second callroled takes, and whether a check right after an acknowledged
 * change sees it.
 *
 * Changes: 1 and then 8 client processes, started together, each changing
 * its own users' display names (user.set through callrole_call(), as root,
 * an administrator) one request at a time, waiting for each reply, for a
 * fixed window, on a generated policy of 10k users (quick: 1k).  The
 * baseline, measured right before each, is the floor of one durable write
 * on the same file system: a SQLite autocommit INSERT with WAL and
 * synchronous=FULL, one at a time.  Target: 5,000 changes a second from 8
 * clients, which one fsync per change cannot reach: it takes group commit.
 *
 * Visibility: a user whose role grants "login" is given a role that does
 * not (r0), and back again, through one connection; as soon as each change
 * is acknowledged another connection checks "login" for that user.  The
 * check must already give the new answer, every time; the program reports
 * how often it did, the time of change plus check, and the time from the
 * acknowledgement to the first check that saw the change (a check that did
 * not see it is retried for up to a second).
 *
 * Counts of trials are capped by a time budget (at least 5 are made) so
 * that a slow change path still ends the run in time.
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

typedef struct Run {
        const TestDaemon *d;
        const GenShape *shape;
        unsigned procs;
} Run;

static int user_set(callrole *c, const char *const *kv) {
        callrole_record *p = NULL;
        int r;

        r = callrole_record_new(&p);
        for (size_t i = 0; r >= 0 && kv[i]; i += 2)
                r = callrole_record_add(p, kv[i], kv[i + 1]);
        if (r >= 0)
                r = callrole_call(c, "user.set", p, NULL);
        callrole_record_free(p);
        return r;
}

/* One client: changes the display names of users index+1, index+1+procs,
 * ... in turn, each value new, until the window closes. */
static int64_t change_client(unsigned index, void *arg) {
        const Run *run = arg;
        unsigned per = run->shape->users / run->procs;
        callrole *c = NULL;
        int64_t count = 0;
        double deadline;
        int r;

        r = work_handle(run->d, &c);
        if (r < 0)
                return r;
        r = callrole_status(c, NULL);   /* connected before the start */
        deadline = work_client_start();
        while (r >= 0 && bench_now_us() < deadline) {
                char name[16], value[48];
                gen_user_name(1 + index + run->procs * (unsigned) (count % per), name);
                snprintf(value, sizeof(value), "Bench %u-%lld", index, (long long) count);
                r = user_set(c, (const char *const[]) { "name", name, "display-name", value, NULL });
                if (r >= 0)
                        count++;
        }
        if (r < 0)
                fprintf(stderr, "bench-changes: user.set: %s: %s\n", callrole_strerror(r),
                        callrole_last_error(c) ? callrole_last_error(c) : "");
        callrole_free(c);
        return r < 0 ? r : count;
}

/* The floor: autocommit INSERTs, WAL, synchronous=FULL, for the window.
 * Returns inserts per second; *ret_stats gets the latency of each. */
static double insert_baseline(const char *dir, double window_s, BenchStats *ret_stats) {
        char path[400];
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char *err = NULL;
        size_t n = 0, cap = 1 << 16;
        double *lat = calloc(cap, sizeof(double)), t0, end;

        if (!lat)
                work_die("out of memory");
        snprintf(path, sizeof(path), "%s/baseline.db", dir);
        if (sqlite3_open(path, &db) != SQLITE_OK)
                work_die("cannot open %s: %s", path, sqlite3_errmsg(db));
        if (sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                         "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value TEXT);",
                         NULL, NULL, &err) != SQLITE_OK)
                work_die("baseline: %s", err ? err : "?");
        if (sqlite3_prepare_v2(db, "INSERT INTO t (name, value) VALUES ('u0000001', 'Bench 0-0')", -1, &st, NULL) !=
            SQLITE_OK)
                work_die("baseline: %s", sqlite3_errmsg(db));
        t0 = bench_now_us();
        end = t0 + window_s * 1e6;
        for (double now = t0; now < end && n < cap; n++) {
                double t = now;
                if (sqlite3_step(st) != SQLITE_DONE)
                        work_die("baseline insert: %s", sqlite3_errmsg(db));
                sqlite3_reset(st);
                now = bench_now_us();
                lat[n] = now - t;
        }
        t0 = bench_now_us() - t0;
        sqlite3_finalize(st);
        sqlite3_close(db);
        *ret_stats = bench_stats(lat, n, t0);
        free(lat);
        return ret_stats->per_sec;
}

static double measure_changes(const TestDaemon *d, const GenShape *shape, unsigned procs, double window_s) {
        Run run = { d, shape, procs };
        uint64_t sum;
        double elapsed;
        int r;

        r = work_clients_run(procs, window_s, change_client, &run, &sum, &elapsed);
        if (r < 0)
                work_die("changes from %u processes failed: %s", procs, strerror(-r));
        return (double) sum / window_s;
}

typedef struct Visibility {
        unsigned trials, seen_first;
        BenchStats total, after_ack;
} Visibility;

/* Up to `trials` trials, fewer (at least 5) if they overrun budget_s. */
static Visibility measure_visibility(const TestDaemon *d, const GenShape *shape, unsigned trials, double budget_s) {
        _cleanup_free_ double *total = calloc(2 * trials, sizeof(double)), *after = calloc(2 * trials, sizeof(double));
        callrole *admin = NULL, *host = NULL;
        Visibility v = {};
        double end = bench_now_us() + budget_s * 1e6;
        size_t n = 0;
        int r;

        if (!total || !after)
                work_die("out of memory");
        r = work_handle(d, &admin);
        if (r >= 0)
                r = work_handle(d, &host);
        if (r < 0)
                work_die("%s", strerror(-r));
        for (unsigned t = 0, u = 1; t < trials && (t < 5 || bench_now_us() < end);
             t++, u = 1 + (u + 7919 - 1) % shape->users) {
                char name[16], account[16], role[8];

                /* A user whose role grants login: r1..r9. */
                while (gen_user_role(u) == 0)
                        u = 1 + u % shape->users;
                gen_user_name(u, name);
                gen_account_name(gen_user_account(shape, u), account);
                snprintf(role, sizeof(role), "r%u", gen_user_role(u));
                for (int step = 0; step < 2; step++) {
                        const int want = step;   /* to r0: denied; back: allowed */
                        double t0, ack, seen;
                        int got;

                        t0 = bench_now_us();
                        r = user_set(admin, (const char *const[]) { "name", name, "account", account, "role",
                                                                    step ? role : "r0", NULL });
                        if (r < 0)
                                work_die("user.set %s role: %s: %s", name, callrole_strerror(r),
                                         callrole_last_error(admin) ? callrole_last_error(admin) : "");
                        ack = bench_now_us();
                        got = callrole_check(host, name, "login", account, NULL, 0, NULL);
                        if (got == want)
                                v.seen_first++;
                        /* Not seen yet: how long until it is? */
                        while (got >= 0 && got != want && bench_now_us() - ack < 1e6)
                                got = callrole_check(host, name, "login", account, NULL, 0, NULL);
                        seen = bench_now_us();
                        if (got < 0)
                                work_die("check: %s", callrole_strerror(got));
                        if (got != want)
                                work_die("a change to %s's role was still not visible a second after its acknowledgement",
                                         name);
                        v.trials++;
                        total[n] = seen - t0;
                        after[n] = seen - ack;
                        n++;
                }
        }
        v.total = bench_stats(total, n, 0);
        v.after_ack = bench_stats(after, n, 0);
        callrole_free(admin);
        callrole_free(host);
        return v;
}

int main(void) {
        const bool quick = bench_quick();
        GenShape shape = { .users = quick ? 1000 : 10000, .accounts = 1000 };
        const double window = quick ? 0.6 : 3.0, base_window = quick ? 0.3 : 1.5;
        const unsigned trials = quick ? 50 : 300;
        BenchStats base1, base8, one;
        double ins1, ins8, chg1, chg8;
        Visibility vis;
        char what[16];
        TestDaemon d;
        int r;

        r = work_daemon_start(&d, &shape, NULL, NULL);
        if (r < 0)
                work_die("cannot start callroled on the generated policy: %s", strerror(-r));

        /* One client: also time each change on a handle of our own for the
         * latency row, next to the inserts'. */
        ins1 = insert_baseline(d.dir, base_window, &base1);
        chg1 = measure_changes(&d, &shape, 1, window);
        {
                callrole *c = NULL;
                size_t n = quick ? 50 : 300;
                double end = bench_now_us() + (quick ? 0.5 : 5) * 1e6;
                _cleanup_free_ double *lat = calloc(n, sizeof(double));
                if (!lat || work_handle(&d, &c) < 0)
                        work_die("out of memory");
                for (size_t i = 0; i < n; i++) {
                        if (i >= 5 && bench_now_us() > end) {
                                n = i;
                                break;
                        }
                        char value[32];
                        double t = bench_now_us();
                        snprintf(value, sizeof(value), "Latency %zu", i);
                        r = user_set(c, (const char *const[]) { "name", "u0000001", "display-name", value, NULL });
                        if (r < 0)
                                work_die("user.set: %s", callrole_strerror(r));
                        lat[i] = bench_now_us() - t;
                }
                one = bench_stats(lat, n, 0);
                callrole_free(c);
        }
        ins8 = insert_baseline(d.dir, base_window, &base8);
        chg8 = measure_changes(&d, &shape, 8, window);
        vis = measure_visibility(&d, &shape, trials, quick ? 1.0 : 10.0);
        work_daemon_cleanup(&d);

        fprintf(stderr, "bench-changes: 1 client %.0f/s (inserts %.0f/s), 8 clients %.0f/s (inserts %.0f/s); visible at once %u of %u\n",
                chg1, ins1, chg8, ins8, vis.seen_first, vis.trials);
        bench_human_count(shape.users, what, sizeof(what));
        printf("| 6 changes | durable changes/s, 1 client, %s users | %.0f/s | %.0f/s (SQLite autocommit INSERT, WAL, synchronous=FULL) | %.2f | — |\n",
               what, chg1, ins1, chg1 / ins1);
        printf("| 6 changes | durable changes/s, 8 clients, %s users | %.0f/s | %.0f/s (same, one at a time) | %.2f | ≥ 5,000/s |\n",
               what, chg8, ins8, chg8 / ins8);
        printf("| 6 changes | change p50 / p99, 1 client, %s users | %.2f / %.2f ms | %.2f / %.2f ms (one INSERT) | %.1f / %.1f | — |\n",
               what, one.p50 / 1e3, one.p99 / 1e3, base1.p50 / 1e3, base1.p99 / 1e3, one.p50 / base1.p50,
               one.p99 / base1.p99);
        printf("| 6 changes | change seen by the next check (same round trip) | %s (%u of %u) | — | — | every time |\n",
               vis.seen_first == vis.trials ? "yes" : "no", vis.seen_first, vis.trials);
        printf("| 6 changes | role change + next check, p50 / p99 | %.2f / %.2f ms | — | — | — |\n", vis.total.p50 / 1e3,
               vis.total.p99 / 1e3);
        printf("| 6 changes | acknowledgement → a check sees it, p50 / p99 | %.1f / %.1f µs | — | — | — |\n",
               vis.after_ack.p50, vis.after_ack.p99);
        (void) bench_target(chg8 >= 5000, "durable changes from 8 clients", "%.0f/s ≥ 5,000/s", chg8);
        (void) bench_target(vis.seen_first == vis.trials, "change visible to the next check", "%u of %u",
                            vis.seen_first, vis.trials);
        return 0;
}
