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

#include <stdbool.h>
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

/* ---- shared by `load` and `peer` (hist.c) ---------------------------------- */

/* Latency histogram, log-linear in microseconds: 1 us resolution below
 * 2 ms, relative error <= 1/1024 above, up to 10 s; the maximum is kept
 * exactly. */
typedef struct bench_hist {
  uint64_t *b;
  uint64_t n, over, max_us;
} bench_hist;
void bench_hist_init(bench_hist *h);
void bench_hist_free(bench_hist *h);
void bench_hist_reset(bench_hist *h);
void bench_hist_add(bench_hist *h, uint64_t us);
void bench_hist_merge(bench_hist *d, const bench_hist *s);
/* The Q-quantile (0..1) in microseconds; NAN when empty. */
double bench_hist_q(const bench_hist *h, double q);

/* One run of a load measurement, as `load --json` prints it. */
typedef struct bench_sub_result {
  uint64_t items, msgs, lost, recovered;
  double items_s, msgs_s;
} bench_sub_result;

typedef struct bench_result bench_result;
struct bench_result {
  double target_rate; /* 0 for burst */
  uint64_t items, sent, acked, rejected;
  double ingest_s, ingest_rate;
  double burst_s;  /* first send -> last receive at every subscriber */
  double filled_s; /* first send -> gap fill done */
  uint64_t lost_total, lost_after_fill_total;
  bool all_delivered; /* after gap fill */
  bench_hist h;       /* all subscribers */
  int n_sub;
  bench_sub_result *sub;
  char err[700];
  /* Optional: prints extra `,"key":value` pairs into the result object
   * (K == -1) or into subscriber K's object. */
  void (*extra)(FILE *f, const bench_result *R, int k, void *ctx);
  void *extra_ctx;
};
void bench_result_init(bench_result *R, int n_sub);
void bench_result_free(bench_result *R);
void bench_print_result_json(FILE *f, const bench_result *R);
/* VERB names what the producers' rate measures ("ingested", "published"). */
void bench_print_result_text(FILE *f, const bench_result *R, const char *verb);

/* The --max search: 2-second (step_seconds) runs, doubling from
 * START_RATE until a step fails, then bisecting to within 8%.  STEP runs
 * one step into R and says whether it passed.  Prints the steps and the
 * outcome (JSON: `"steps":[...],"max_lossless_rate":...,"result":...`
 * without the enclosing braces); returns whether any step passed. */
typedef struct bench_max_cfg {
  double start_rate, step_seconds;
  bool json;
  FILE *out;
  const char *verb; /* as for bench_print_result_text */
  bool (*step)(void *ctx, double rate, bench_result *R);
  void *ctx;
} bench_max_cfg;
bool bench_max_search(const bench_max_cfg *c);

#endif
