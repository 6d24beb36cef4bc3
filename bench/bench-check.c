/*
 * bench-check.c: how fast callroled answers, against baselines measured in
 * the same run on the same machine (the machines are shared and noisy, so
 * only ratios mean something).
 *
 *   baseline A: a 64-byte request/response over a Unix stream socket to an
 *               echo thread in this process: the floor for any round trip;
 *   baseline B: one SQLite autocommit INSERT in WAL with synchronous=FULL:
 *               the floor for a durable change;
 *   measured:   callrole_check (one round trip), callrole_check_batch of 64,
 *               and a durable change (user.set) with the model at N users.
 *
 * Usage: bench-check [N_USERS]   (default 10000)
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "callrole.h"
#include "helper-daemon.h"

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

typedef struct Stats {
        double p50, p99, per_sec;
} Stats;

static Stats summarize(double *v, size_t n, double total_us) {
        qsort(v, n, sizeof(double), cmp_double);
        return (Stats) { v[n / 2], v[n * 99 / 100], n / (total_us / 1e6) };
}

static void *echo_thread(void *p) {
        int fd = *(int *) p;
        char buf[64];
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                if (write(fd, buf, (size_t) n) != n)
                        break;
        }
        close(fd);
        return NULL;
}

static Stats baseline_socket(size_t iters) {
        int sv[2];
        pthread_t t;
        char buf[64] = { 0 };
        double *lat = calloc(iters, sizeof(double)), start;
        Stats s;

        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                abort();
        pthread_create(&t, NULL, echo_thread, &sv[1]);
        start = now_us();
        for (size_t i = 0; i < iters; i++) {
                double t0 = now_us();
                if (write(sv[0], buf, sizeof(buf)) != sizeof(buf) || read(sv[0], buf, sizeof(buf)) != sizeof(buf))
                        abort();
                lat[i] = now_us() - t0;
        }
        s = summarize(lat, iters, now_us() - start);
        close(sv[0]);
        pthread_join(t, NULL);
        free(lat);
        return s;
}

static Stats baseline_sqlite(const char *dir, size_t iters) {
        char path[512];
        sqlite3 *db;
        sqlite3_stmt *st;
        double *lat = calloc(iters, sizeof(double)), start;
        Stats s;

        snprintf(path, sizeof(path), "%s/baseline.db", dir);
        if (sqlite3_open(path, &db) != SQLITE_OK)
                abort();
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);",
                     NULL, NULL, NULL);
        sqlite3_prepare_v2(db, "INSERT INTO t(v) VALUES ('x')", -1, &st, NULL);
        start = now_us();
        for (size_t i = 0; i < iters; i++) {
                double t0 = now_us();
                if (sqlite3_step(st) != SQLITE_DONE)
                        abort();
                sqlite3_reset(st);
                lat[i] = now_us() - t0;
        }
        s = summarize(lat, iters, now_us() - start);
        sqlite3_finalize(st);
        sqlite3_close(db);
        free(lat);
        return s;
}

static void must(int r, callrole *c, const char *what) {
        if (r < 0) {
                fprintf(stderr, "bench: %s: %s (%s)\n", what, callrole_strerror(r),
                        c && callrole_last_error(c) ? callrole_last_error(c) : "");
                exit(1);
        }
}

static void populate(callrole *c, size_t n_users) {
        callrole_record *p = NULL;
        char name[32];
        const size_t batch = 1000;

        must(callrole_record_new(&p), NULL, "record");
        callrole_record_add(p, "name", "ctm");
        must(callrole_call(c, "profile.load", p, NULL), c, "profile.load ctm");
        callrole_record_free(p);
        for (size_t i = 0; i < n_users; i += batch) {
                must(callrole_record_new(&p), NULL, "record");
                for (size_t j = i; j < i + batch && j < n_users; j++) {
                        snprintf(name, sizeof(name), "user%06zu", j);
                        callrole_record_add(p, "name", name);
                        callrole_record_add(p, "role", j % 10 == 0 ? "call-manager" : "call-agent");
                        callrole_record_add(p, "account", "default");
                        callrole_record_add(p, "display-name", name);
                        callrole_record_add(p, "groups", "");
                }
                must(callrole_call(c, "import", p, NULL), c, "import");
                callrole_record_free(p);
        }
}

int main(int argc, char **argv) {
        size_t n_users = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
        const size_t iters = 20000, batches = 2000, changes = 200;
        TestDaemon d;
        callrole *c = NULL;
        double *lat = calloc(iters, sizeof(double)), start;
        Stats sock, sql, chk, bat, chg;
        char name[32];
        callrole_attr attrs[1] = { { "assignee", "user000001" } };
        int r;

        if (n_users == 0)
                n_users = 1;
        r = test_daemon_start(&d, NULL);
        if (r < 0) {
                fprintf(stderr, "bench: cannot start callroled from %s: %s\n", test_build_dir(), strerror(-r));
                return 1;
        }
        must(callrole_new(&c), NULL, "callrole_new");
        must(callrole_set_socket(c, d.socket), c, "socket");
        populate(c, n_users);

        sock = baseline_socket(iters);
        sql = baseline_sqlite(d.dir, changes);

        /* One check per round trip, users spread over the whole table. */
        start = now_us();
        for (size_t i = 0; i < iters; i++) {
                double t0 = now_us();
                snprintf(name, sizeof(name), "user%06zu", (i * 7919) % n_users);
                r = callrole_check(c, name, "calls.view", NULL, attrs, 1, NULL);
                must(r, c, "check");
                lat[i] = now_us() - t0;
        }
        chk = summarize(lat, iters, now_us() - start);

        /* Batches of 64. */
        callrole_check_item items[64];
        char names[64][32];
        int allowed[64];
        start = now_us();
        for (size_t b = 0; b < batches; b++) {
                double t0 = now_us();
                for (size_t i = 0; i < 64; i++) {
                        snprintf(names[i], sizeof(names[i]), "user%06zu", (b * 64 + i) % n_users);
                        items[i] = (callrole_check_item) { names[i], "calls.view", NULL, attrs, 1 };
                }
                must(callrole_check_batch(c, items, 64, allowed, NULL), c, "batch");
                lat[b] = now_us() - t0;
        }
        bat = summarize(lat, batches, now_us() - start);
        bat.per_sec *= 64;

        /* Durable changes: flip a user's display name. */
        start = now_us();
        for (size_t i = 0; i < changes; i++) {
                callrole_record *p = NULL;
                double t0 = now_us();
                callrole_record_new(&p);
                callrole_record_add(p, "name", "user000002");
                callrole_record_add(p, "display-name", i % 2 ? "Two" : "Second");
                must(callrole_call(c, "user.set", p, NULL), c, "user.set");
                callrole_record_free(p);
                lat[i] = now_us() - t0;
        }
        chg = summarize(lat, changes, now_us() - start);

        printf("callrole benchmark, %zu users (profile ctm), all figures from this run\n\n", n_users);
        printf("%-44s %10s %10s %12s\n", "", "p50 us", "p99 us", "per second");
        printf("%-44s %10.1f %10.1f %12.0f\n", "baseline A: 64-byte socket round trip", sock.p50, sock.p99, sock.per_sec);
        printf("%-44s %10.1f %10.1f %12.0f\n", "callrole_check (one round trip)", chk.p50, chk.p99, chk.per_sec);
        printf("%-44s %10.1f %10.1f %12.0f\n", "callrole_check_batch x64 (per batch; checks/s)", bat.p50, bat.p99,
               bat.per_sec);
        printf("%-44s %10.1f %10.1f %12.0f\n", "baseline B: SQLite WAL FULL autocommit insert", sql.p50, sql.p99,
               sql.per_sec);
        printf("%-44s %10.1f %10.1f %12.0f\n", "durable change (user.set)", chg.p50, chg.p99, chg.per_sec);
        printf("\nratios: check p50 / socket p50 = %.2f; batch checks/s / single checks/s = %.1f;\n"
               "        change p50 / SQLite insert p50 = %.2f\n",
               chk.p50 / sock.p50, bat.per_sec / chk.per_sec, chg.p50 / sql.p50);

        callrole_free(c);
        test_daemon_cleanup(&d);
        free(lat);
        return 0;
}
