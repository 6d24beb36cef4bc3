/*
 * bench-scale.c: section 5 of `make bench`: does callroled stay flat as the
 * policy grows?
 *
 * For each size (1k, 100k and 1M users over 1k accounts and 10k roles,
 * every membership scoped by a group and an IVR; see gen-policy.h) it
 * generates the database, then measures
 *   - start and load: from exec of callroled to its first answered check;
 *   - resident memory (VmRSS and the peak VmHWM) once loaded;
 *   - check latency p50/p99 over one connection, random users and
 *     permissions with their resource attributes, with the client and the
 *     daemon pinned to one CPU (bench-latency.c says why placement must be
 *     the same for figures to compare);
 *   - how long a structural change (role.add) takes to be answered, against
 *     a user change (user.set): the daemon rebuilds its compiled policy for
 *     the first and serves nobody meanwhile (reported, not judged).
 * The baseline of each latency is the same check at the smallest size,
 * whose daemon stays up for the whole run: blocks of checks alternate
 * between it and the size measured, so the shared machine's noise hits
 * both alike (measured one size after the other, minutes apart, the ratio
 * swung between 1.0 and 1.36).  The target is that the ratio stays ≤ 1.3.
 * Start and load is timed with the daemon free to use every CPU; the
 * latency with the client and both daemons pinned to one.
 *
 * BENCH_QUICK=1: 1k, 10k and 100k users, fewer checks.
 * BENCH_SCALE_SIZES="1000 1000000" overrides the sizes.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "callrole.h"
#include "workload.h"
#include "gen-policy.h"
#include "helper-daemon.h"
#include "macro.h"

static const char *const check_perms[] = { "login", "softphone.use", "calls.view", "calls.listen", "users.view",
                                           "billing.invoices.view", "reports.edit", "settings.edit" };

typedef struct SizeResult {
        unsigned users;
        double start_s, rss_mb, hwm_mb;
        BenchStats check;
        BenchStats base;        /* the smallest size, measured interleaved with this one */
        unsigned allowed, n;
        double structural_ms, user_change_ms;   /* medians of CHANGES calls */
} SizeResult;

enum { CHANGES = 3 };

/* How long a change keeps its client waiting, and with it every check
 * behind it on the daemon's one thread: a structural one (role.add, which
 * rebuilds the compiled policy) against a user change (user.set, patched
 * in).  Medians of CHANGES calls, in ms.  Reported, not judged. */
static int measure_changes(callrole *c, SizeResult *ret) {
        double structural[CHANGES], user[CHANGES];
        char name[16];
        int r;

        gen_user_name(1, name);
        for (int i = 0; i < CHANGES; i++) {
                char role[32], display[32];
                double t;

                snprintf(role, sizeof role, "bench-new-%d", i);
                t = bench_now_us();
                r = test_daemon_call(c, "role.add", "role", role, "account", "agency", "rank", "10", "grants", "login",
                                     NULL);
                structural[i] = (bench_now_us() - t) / 1e3;
                if (r < 0)
                        return r;
                snprintf(display, sizeof display, "Bench %d", i);
                t = bench_now_us();
                r = test_daemon_call(c, "user.set", "name", name, "display-name", display, NULL);
                user[i] = (bench_now_us() - t) / 1e3;
                if (r < 0)
                        return r;
        }
        ret->structural_ms = bench_stats(structural, CHANGES, 0).p50;
        ret->user_change_ms = bench_stats(user, CHANGES, 0).p50;
        return 0;
}

/* A running daemon on a generated policy, and a connection to it. */
typedef struct Server {
        TestDaemon d;
        GenShape shape;
        callrole *c;
        bool up;
} Server;

static void server_down(Server *sv) {
        if (!sv->up)
                return;
        sv->c = callrole_free(sv->c);
        test_daemon_cleanup(&sv->d);
        work_cleanup_forget(&sv->d);
        sv->up = false;
}

/* The CPUs this process was given, for starting daemons unpinned. */
static cpu_set_t all_cpus;

/* Generates the policy, starts callroled on it and times start and load:
 * from exec to the first answered check, with the daemon free to use
 * every CPU as it would be at boot.  Then pins it, and this process, to
 * cpu for the latency figures. */
static int server_up(Server *sv, unsigned users, int cpu, double *ret_start_s) {
        char name[16];
        double t0;
        int r;

        /* The daemon inherits our affinity: none while it starts. */
        if (sched_setaffinity(0, sizeof all_cpus, &all_cpus) < 0)
                return -errno;

        *sv = (Server) { .shape = { .users = users, .accounts = 1000 } };
        r = test_daemon_start(&sv->d, NULL);
        if (r < 0)
                return r;
        sv->up = true;
        work_cleanup_register(&sv->d);
        (void) test_daemon_stop(&sv->d);
        fprintf(stderr, "bench-scale: generating %u users in %u accounts...\n", users, sv->shape.accounts);
        r = gen_policy(sv->d.db, &sv->shape);
        if (r < 0)
                return r;

        t0 = bench_now_us();
        r = test_daemon_restart(&sv->d, NULL);
        if (r < 0)
                return r;
        r = callrole_new(&sv->c);
        if (r < 0)
                return r;
        (void) callrole_set_socket(sv->c, sv->d.socket);
        (void) callrole_set_timeout(sv->c, 60ull * 1000 * 1000);
        gen_user_name(1, name);
        r = callrole_check(sv->c, name, "login", NULL, NULL, 0, NULL);
        if (r < 0) {
                fprintf(stderr, "bench-scale: first check failed: %s\n", callrole_strerror(r));
                return r;
        }
        *ret_start_s = (bench_now_us() - t0) / 1e6;
        r = work_pin(sv->d.pid, cpu);
        return r < 0 ? r : work_pin(0, cpu);
}

/* One check of a random user of sv's policy, with the attributes of a
 * call; its time in µs. */
static int check_once(Server *sv, uint64_t *rng, double *ret_us, int *ret_allowed) {
        unsigned u = 1 + (unsigned) (bench_rand(rng) % sv->shape.users);
        char name[16], account[16], group[8], ivr[8];
        callrole_attr attrs[3];
        double t;
        int r;

        gen_user_name(u, name);
        gen_account_name(gen_user_account(&sv->shape, u), account);
        snprintf(group, sizeof(group), "g%02u", (unsigned) (bench_rand(rng) % 50));
        snprintf(ivr, sizeof(ivr), "ivr%02u", (unsigned) (bench_rand(rng) % 20));
        attrs[0] = (callrole_attr) { "group", group };
        attrs[1] = (callrole_attr) { "ivr", ivr };
        attrs[2] = (callrole_attr) { "assignee", name };
        t = bench_now_us();
        r = callrole_check(sv->c, name, check_perms[bench_rand(rng) % ELEMENTSOF(check_perms)], account, attrs, 3,
                           NULL);
        *ret_us = bench_now_us() - t;
        if (r < 0) {
                fprintf(stderr, "bench-scale: check failed: %s\n", callrole_strerror(r));
                return r;
        }
        *ret_allowed = r;
        return 0;
}

/* Check latency of sv, and of base (the smallest size) in the same
 * window: blocks of BLOCK checks alternate between the two daemons, so
 * that what the shared machine does meanwhile hits both alike; the first
 * tenth of each warms up.  base may be sv itself. */
#define BLOCK 200u
static int measure_latency(Server *sv, Server *base, size_t n_checks, SizeResult *ret) {
        size_t warm = n_checks / 10, total = n_checks + warm, done = 0;
        double *lat = calloc(n_checks, sizeof(double)), *blat = calloc(n_checks, sizeof(double));
        uint64_t rng = 0x9e3779b97f4a7c15ull, brng = 0x2545f4914f6cdd1dull;
        int r = 0;

        if (!lat || !blat) {
                r = -ENOMEM;
                goto out;
        }
        ret->allowed = 0;
        while (done < total && r >= 0) {
                size_t end = done + BLOCK < total ? done + BLOCK : total;
                for (int side = 0; side < (base == sv ? 1 : 2) && r >= 0; side++)
                        for (size_t i = done; i < end && r >= 0; i++) {
                                double t;
                                int allowed;
                                r = side == 0 ? check_once(sv, &rng, &t, &allowed)
                                              : check_once(base, &brng, &t, &allowed);
                                if (r < 0 || i < warm)
                                        continue;
                                if (side == 0) {
                                        lat[i - warm] = t;
                                        ret->allowed += (unsigned) allowed;
                                } else
                                        blat[i - warm] = t;
                        }
                done = end;
        }
        if (r < 0)
                goto out;
        ret->n = (unsigned) n_checks;
        ret->check = bench_stats(lat, n_checks, 0);
        ret->base = base == sv ? ret->check : bench_stats(blat, n_checks, 0);
out:
        free(lat);
        free(blat);
        return r;
}

int main(void) {
        unsigned sizes[8] = { 1000, 100000, 1000000 };
        size_t n_sizes = 3, n_checks = bench_quick() ? 5000 : 40000;
        SizeResult res[8] = {};
        const char *env = getenv("BENCH_SCALE_SIZES");
        Server base = {}, sv = {};
        int cpus[1], fails = 0, r;

        if (bench_quick()) {
                sizes[1] = 10000;
                sizes[2] = 100000;
        }
        if (env && *env) {
                char *copy = strdup(env), *save = NULL;
                n_sizes = 0;
                for (char *t = strtok_r(copy, " ,", &save); t && n_sizes < 8; t = strtok_r(NULL, " ,", &save))
                        sizes[n_sizes++] = (unsigned) strtoul(t, NULL, 10);
                free(copy);
        }
        if (sched_getaffinity(0, sizeof all_cpus, &all_cpus) < 0 || work_cpus(cpus, 1) < 1) {
                fprintf(stderr, "bench-scale: cannot read this process's CPUs: %m\n");
                return 1;
        }
        /* The smallest size stays up as every later size's baseline. */
        for (size_t i = 0; i < n_sizes; i++) {
                Server *cur = i == 0 ? &base : &sv;

                res[i].users = sizes[i];
                r = server_up(cur, sizes[i], cpus[0], &res[i].start_s);
                if (r >= 0) {
                        bench_proc_memory(cur->d.pid, &res[i].rss_mb, &res[i].hwm_mb);
                        r = measure_latency(cur, &base, n_checks, &res[i]);
                }
                if (r >= 0) {
                        r = measure_changes(cur->c, &res[i]);
                        if (r < 0)
                                fprintf(stderr, "bench-scale: a change failed: %s (%s)\n", callrole_strerror(r),
                                        callrole_last_error(cur->c) ? callrole_last_error(cur->c) : "");
                }
                if (i > 0)
                        server_down(&sv);
                if (r < 0) {
                        fprintf(stderr, "bench-scale: %u users: %s\n", sizes[i], strerror(-r));
                        server_down(&base);
                        return 1;
                }
                fprintf(stderr, "bench-scale: %u users: start %.2f s, rss %.0f MB, p50 %.1f µs (%u of %u allowed)\n",
                        sizes[i], res[i].start_s, res[i].rss_mb, res[i].check.p50, res[i].allowed, res[i].n);
        }
        server_down(&base);
        for (size_t i = 0; i < n_sizes; i++) {
                char what[64];
                bench_human_count(res[i].users, what, sizeof(what));
                printf("| 5 scale | start and load, %s users | %.2f s | — | — | %s |\n", what, res[i].start_s,
                       res[i].users >= 1000000 ? "≤ 2 s" : "—");
                printf("| 5 scale | resident memory, %s users (peak) | %.0f MB (%.0f MB) | — | — | %s |\n", what,
                       res[i].rss_mb, res[i].hwm_mb, res[i].users >= 1000000 ? "≤ 400 MB" : "—");
                printf("| 5 scale | check p50 / p99, %s users | %.1f / %.1f µs | %.1f / %.1f µs (%s) | %.2f / %.2f | %s |\n",
                       what, res[i].check.p50, res[i].check.p99, res[i].base.p50, res[i].base.p99,
                       i == 0 ? "itself" : "smallest size, interleaved", res[i].check.p50 / res[i].base.p50,
                       res[i].check.p99 / res[i].base.p99, i ? "p50 ≤ 1.3" : "—");
                printf("| 5 scale | structural change (role.add) answered, %s users, median of %d | %.1f ms | %.1f ms "
                       "(user.set) | %.0f | — |\n",
                       what, CHANGES, res[i].structural_ms, res[i].user_change_ms,
                       res[i].structural_ms / res[i].user_change_ms);
        }
        for (size_t i = 0; i < n_sizes; i++) {
                char what[64];
                if (res[i].users < 1000000 && !(bench_quick() && i == n_sizes - 1))
                        continue;
                bench_human_count(res[i].users, what, sizeof(what));
                fails += bench_target(res[i].start_s <= 2.0, "start and load", "%s users: %.2f s ≤ 2 s", what,
                                      res[i].start_s);
                fails += bench_target(res[i].rss_mb <= 400, "resident memory", "%s users: %.0f MB ≤ 400 MB", what,
                                      res[i].rss_mb);
                fails += bench_target(res[i].check.p50 <= 1.3 * res[i].base.p50, "flat check latency",
                                      "p50 at %s users ÷ p50 at %u: %.2f ≤ 1.3", what, res[0].users,
                                      res[i].check.p50 / res[i].base.p50);
        }
        return 0;
}
