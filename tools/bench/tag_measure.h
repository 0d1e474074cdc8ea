/*
 * tag_measure.h -- the timing machinery of `newsfeed-bench tag` (hot runs,
 * cold-cache runs, one counting pass), kept apart from the workloads and
 * the report in tag.c.  See tag_measure.c for what is measured and how.
 */
#ifndef NF_BENCH_TAG_MEASURE_H
#define NF_BENCH_TAG_MEASURE_H

#include <stdbool.h>
#include <stddef.h>

#include "tag_corpus.h"

/* One unit of work: whatever is timed, applied to one item. */
typedef void (*tm_work_fn)(void *ctx, const corpus *c, const bitem *it);

/* How to measure: the --seconds, --runs and --cold options, and the cost
 * of one clock read (subtracted from per-item times). */
typedef struct tm_plan {
  double seconds;
  int runs;
  size_t cold_mib; /* 0: no cold-cache runs */
  double clock_cost;
} tm_plan;

typedef struct kind_result {
  double mbs, us_mean, us_p50, us_p99;
} kind_result;

typedef struct result {
  double mbs, mbs_lo, mbs_hi, us_mean;
  double mbs_cpu;   /* bytes per second of the thread's CPU time */
  double cpu_share; /* lowest over the runs: thread CPU time / wall time */
  kind_result k[NKINDS];
  bool cold;             /* cold-cache figures below */
  kind_result c[NKINDS]; /* cold: mbs from summed scan times */
} result;

/* The hot runs; FOLDED: count folded bytes (what a matcher scans) rather
 * than raw bytes.  Sets all of OUT but the cold figures. */
void tm_measure(const corpus *c, const tm_plan *p, bool folded, tm_work_fn fn, void *ctx,
                result *out);
/* The cold-cache runs; fills OUT->c and sets OUT->cold. */
void tm_measure_cold(const corpus *c, const tm_plan *p, tm_work_fn fn, void *ctx, result *out);
/* One pass over every item in corpus order (for match counts). */
void tm_one_pass(const corpus *c, tm_work_fn fn, void *ctx);

#endif
