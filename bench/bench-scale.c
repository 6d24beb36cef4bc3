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
 * measured in the same run: the target is that the ratio stays ≤ 1.3.
 *
 * BENCH_QUICK=1: 1k, 10k and 100k users, fewer checks.
 * BENCH_SCALE_SIZES="1000 1000000" overrides the sizes.
 */
#include <errno.h>
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
        unsigned allowed, n;
        double structural_ms, user_change_ms;   /* medians of CHANGES calls */
} SizeResult;

enum { CHANGES = 3 };

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

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
        qsort(structural, CHANGES, sizeof(double), cmp_double);
        qsort(user, CHANGES, sizeof(double), cmp_double);
        ret->structural_ms = structural[CHANGES / 2];
        ret->user_change_ms = user[CHANGES / 2];
        return 0;
}

static int measure_size(unsigned users, size_t n_checks, SizeResult *ret) {
        GenShape shape = { .users = users, .accounts = 1000 };
        TestDaemon d;
        callrole *c = NULL;
        double t0, *lat;
        uint64_t rng = 0x9e3779b97f4a7c15ull;
        int r;

        r = test_daemon_start(&d, NULL);
        if (r < 0)
                return r;
        work_cleanup_register(&d);
        (void) test_daemon_stop(&d);
        fprintf(stderr, "bench-scale: generating %u users in %u accounts...\n", users, shape.accounts);
        r = gen_policy(d.db, &shape);
        if (r < 0)
                goto out;

        t0 = bench_now_us();
        r = test_daemon_restart(&d, NULL);
        if (r < 0)
                goto out;
        r = callrole_new(&c);
        if (r < 0)
                goto out;
        (void) callrole_set_socket(c, d.socket);
        (void) callrole_set_timeout(c, 60ull * 1000 * 1000);
        {
                char name[16];
                gen_user_name(1, name);
                r = callrole_check(c, name, "login", NULL, NULL, 0, NULL);
                if (r < 0) {
                        fprintf(stderr, "bench-scale: first check failed: %s\n", callrole_strerror(r));
                        goto out;
                }
        }
        ret->start_s = (bench_now_us() - t0) / 1e6;
        bench_proc_memory(d.pid, &ret->rss_mb, &ret->hwm_mb);
        {
                int cpus[1];
                if (work_cpus(cpus, 1) < 1 || (r = work_pin(0, cpus[0])) < 0 || (r = work_pin(d.pid, cpus[0])) < 0) {
                        fprintf(stderr, "bench-scale: cannot pin to one CPU\n");
                        r = r < 0 ? r : -EINVAL;
                        goto out;
                }
        }
        ret->users = users;

        lat = calloc(n_checks, sizeof(double));
        if (!lat) {
                r = -ENOMEM;
                goto out;
        }
        ret->allowed = 0;
        for (size_t i = 0; i < n_checks + n_checks / 10; i++) {
                unsigned u = 1 + (unsigned) (bench_rand(&rng) % users);
                char name[16], account[16], group[8], ivr[8];
                callrole_attr attrs[3];
                double t;

                gen_user_name(u, name);
                gen_account_name(gen_user_account(&shape, u), account);
                snprintf(group, sizeof(group), "g%02u", (unsigned) (bench_rand(&rng) % 50));
                snprintf(ivr, sizeof(ivr), "ivr%02u", (unsigned) (bench_rand(&rng) % 20));
                attrs[0] = (callrole_attr) { "group", group };
                attrs[1] = (callrole_attr) { "ivr", ivr };
                attrs[2] = (callrole_attr) { "assignee", name };
                t = bench_now_us();
                r = callrole_check(c, name, check_perms[bench_rand(&rng) % ELEMENTSOF(check_perms)], account, attrs, 3,
                                   NULL);
                t = bench_now_us() - t;
                if (r < 0) {
                        fprintf(stderr, "bench-scale: check failed: %s\n", callrole_strerror(r));
                        free(lat);
                        goto out;
                }
                /* the first tenth warms up */
                if (i >= n_checks / 10) {
                        lat[i - n_checks / 10] = t;
                        ret->allowed += (unsigned) r;
                }
        }
        ret->n = (unsigned) n_checks;
        ret->check = bench_stats(lat, n_checks, 0);
        free(lat);
        r = measure_changes(c, ret);
        if (r < 0)
                fprintf(stderr, "bench-scale: a change failed: %s (%s)\n", callrole_strerror(r),
                        callrole_last_error(c) ? callrole_last_error(c) : "");
out:
        callrole_free(c);
        test_daemon_cleanup(&d);
        work_cleanup_forget(&d);
        return r;
}

int main(void) {
        unsigned sizes[8] = { 1000, 100000, 1000000 };
        size_t n_sizes = 3, n_checks = bench_quick() ? 5000 : 40000;
        SizeResult res[8] = {};
        const char *env = getenv("BENCH_SCALE_SIZES");
        int fails = 0;

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
        for (size_t i = 0; i < n_sizes; i++) {
                int r = measure_size(sizes[i], n_checks, &res[i]);
                if (r < 0) {
                        fprintf(stderr, "bench-scale: %u users: %s\n", sizes[i], strerror(-r));
                        return 1;
                }
                fprintf(stderr, "bench-scale: %u users: start %.2f s, rss %.0f MB, p50 %.1f µs (%u of %u allowed)\n",
                        sizes[i], res[i].start_s, res[i].rss_mb, res[i].check.p50, res[i].allowed, res[i].n);
        }
        for (size_t i = 0; i < n_sizes; i++) {
                char what[64];
                bench_human_count(res[i].users, what, sizeof(what));
                printf("| 5 scale | start and load, %s users | %.2f s | — | — | %s |\n", what, res[i].start_s,
                       res[i].users >= 1000000 ? "≤ 2 s" : "—");
                printf("| 5 scale | resident memory, %s users (peak) | %.0f MB (%.0f MB) | — | — | %s |\n", what,
                       res[i].rss_mb, res[i].hwm_mb, res[i].users >= 1000000 ? "≤ 400 MB" : "—");
                printf("| 5 scale | check p50 / p99, %s users | %.1f / %.1f µs | %.1f / %.1f µs (%s) | %.2f / %.2f | %s |\n",
                       what, res[i].check.p50, res[i].check.p99, res[0].check.p50, res[0].check.p99,
                       i == 0 ? "itself" : "smallest size", res[i].check.p50 / res[0].check.p50,
                       res[i].check.p99 / res[0].check.p99, i ? "p50 ≤ 1.3" : "—");
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
                fails += bench_target(res[i].check.p50 <= 1.3 * res[0].check.p50, "flat check latency",
                                      "p50 at %s users ÷ p50 at %u: %.2f ≤ 1.3", what, res[0].users,
                                      res[i].check.p50 / res[0].check.p50);
        }
        return 0;
}
