/*
 * bench.h -- newsfeed-bench: subcommands and the helpers they share.
 *
 * Each subcommand is one function taking its own argv (argv[0] is the
 * subcommand's name) and returning the exit status; main.c only dispatches.
 * To add one, write it in its own file and add a line to the table in
 * main.c.
 */
#ifndef NF_TOOLS_BENCH_H
#define NF_TOOLS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_PROG "newsfeed-bench"

/* Subcommands. */
int nf_bench_tag(int argc, char **argv);

/* Monotonic clock in seconds. */
double bench_now(void);
/* CPU time of the calling thread in seconds: compared with bench_now() it
 * shows how much of a measurement the thread was actually running. */
double bench_cpu_now(void);
/* Median cost of one bench_now() call, in seconds (subtracted from
 * per-item timings). */
double bench_clock_overhead(void);

/* Deterministic pseudo-random numbers (splitmix64): same seed, same stream. */
uint64_t bench_rand(uint64_t *state);
/* Uniform in [0, n); n > 0. */
uint32_t bench_below(uint64_t *state, uint32_t n);

/* Median of N values (N > 0); V is left unchanged. */
double bench_median(const double *v, size_t n);
/* The P-quantile (0..1, nearest rank) of N floats; sorts V in place.
 * Returns 0 for N == 0. */
double bench_quantile(float *v, size_t n, double p);

/* Growable array of floats (per-item samples). */
typedef struct bench_samples {
  float *v;
  size_t n, cap;
} bench_samples;
void bench_samples_push(bench_samples *s, float x);
void bench_samples_free(bench_samples *s);

/* Allocation that exits on failure: a benchmark has no use for OOM paths. */
void *bench_xmalloc(size_t n);
void *bench_xcalloc(size_t n, size_t size);
void *bench_xrealloc(void *p, size_t n);

/* The machine, for reports. */
typedef struct bench_machine {
  char cpu[128]; /* model name from /proc/cpuinfo, or "unknown" */
  long nproc;    /* online CPUs */
  double ram_gib;
} bench_machine;
void bench_machine_get(bench_machine *m);

/* JSON output helpers: a string with escapes, a number (null when not
 * finite). */
void bench_json_string(FILE *f, const char *s);
void bench_json_number(FILE *f, double v);

#endif
