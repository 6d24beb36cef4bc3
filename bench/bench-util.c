/*
 * bench-util.c: shared helpers of the benchmark programs (bench-util.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"

double bench_now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

BenchStats bench_stats(double *v, size_t n, double total_us) {
        BenchStats s = {};
        double sum = 0;

        if (n == 0)
                return s;
        qsort(v, n, sizeof(double), cmp_double);
        for (size_t i = 0; i < n; i++)
                sum += v[i];
        s.p50 = v[n / 2];
        s.p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
        s.mean = sum / (double) n;
        if (total_us > 0)
                s.per_sec = (double) n / (total_us / 1e6);
        return s;
}

bool bench_quick(void) {
        const char *e = getenv("BENCH_QUICK");
        return e && *e && strcmp(e, "0") != 0;
}

uint64_t bench_rand(uint64_t *state) {
        uint64_t x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        return x * 0x2545F4914F6CDD1Dull;
}

void bench_proc_memory(pid_t pid, double *ret_rss_mb, double *ret_hwm_mb) {
        char path[64], line[256];
        FILE *f;

        *ret_rss_mb = *ret_hwm_mb = 0;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                unsigned long kb;
                if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
                        *ret_rss_mb = (double) kb / 1024.0;
                else if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
                        *ret_hwm_mb = (double) kb / 1024.0;
        }
        fclose(f);
}

void bench_human_count(unsigned n, char *buf, size_t size) {
        if (n >= 1000000 && n % 1000000 == 0)
                snprintf(buf, size, "%uM", n / 1000000);
        else if (n >= 1000 && n % 1000 == 0)
                snprintf(buf, size, "%uk", n / 1000);
        else
                snprintf(buf, size, "%u", n);
}

int bench_target(bool pass, const char *name, const char *fmt, ...) {
        va_list ap;

        printf("TARGET %s %s: ", pass ? "PASS" : "FAIL", name);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
        return pass ? 0 : 1;
}
