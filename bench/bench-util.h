/*
 * bench-util.h: what every benchmark program shares: the clock, sample
 * statistics, a seeded PRNG, the quick-mode switch, reading a process's
 * memory, and printing targets in the form bench/run-bench.sh collects
 * (see bench/README.md, "Output").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct BenchStats {
        double p50, p99, mean;   /* of the samples */
        double per_sec;          /* samples per second of total_us, if given */
} BenchStats;

double bench_now_us(void);
/* Sorts v in place.  total_us > 0 also fills per_sec. */
BenchStats bench_stats(double *v, size_t n, double total_us);
bool bench_quick(void);                  /* BENCH_QUICK=1 */
uint64_t bench_rand(uint64_t *state);    /* xorshift64*, never 0 state */
/* VmRSS and VmHWM of pid, in MB (0 when unreadable). */
void bench_proc_memory(pid_t pid, double *ret_rss_mb, double *ret_hwm_mb);
/* "1k", "100k", "1M". */
void bench_human_count(unsigned n, char *buf, size_t size);
/* Prints "TARGET PASS|FAIL name: detail" on stdout; returns 1 on FAIL. */
int bench_target(bool pass, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
