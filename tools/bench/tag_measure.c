/*
 * tag_measure.c -- how `newsfeed-bench tag` times its workloads (the
 * matcher, Hyperscan, folding, the tagger); see tag_measure.h.  The
 * workloads and the report stay in tag.c.
 *
 * Timing: one untimed pass, then R runs (--runs, default 5).  A run scans
 * all flashes repeatedly for >= S/2 seconds and all articles for >= S/2
 * (--seconds S, default 2), giving MB/s and mean us per item without
 * per-item clocks; then the items in corpus order, each timed (clock cost
 * subtracted), for >= S/2 seconds, giving p50/p99 per kind.  Reported
 * figures are medians over the runs.  Wall-clock time is the measure; the
 * thread's CPU time is recorded too, so that a run on a shared machine
 * shows how much of the time it actually ran (CPU share) and what it did
 * per second of CPU.
 *
 * Cold cache (--cold[=MiB], default 8): as in a daemon, where the other
 * work between two items evicts the automaton from the caches.  After the
 * hot runs, each run takes items in corpus order (continuing where the
 * previous run stopped) for >= S/2 seconds; before each item it writes
 * one byte per cache line of a MiB-sized buffer and reads the item's
 * folded text (the daemon has just folded it), then times the scan alone
 * (clock cost subtracted).  Reported: per kind, mean / p50 / p99 us and
 * MB/s (bytes over summed scan times), medians over the runs.
 */
#define _POSIX_C_SOURCE 200809L
#include "tag_measure.h"

#include <math.h>
#include <stdlib.h>

#include "bench.h"

/* Runs FN over the corpus as described at the top; FOLDED: count folded
 * bytes (what a matcher scans) rather than raw bytes.  Sets all of OUT (no
 * cold figures: tm_measure_cold adds them). */
void tm_measure(const corpus *c, const tm_plan *o, bool folded, tm_work_fn fn, void *ctx,
                result *out) {
  *out = (result){0};
  size_t R = (size_t)o->runs;
  double *run_mbs = bench_xcalloc(R, sizeof(double)), *run_us = bench_xcalloc(R, sizeof(double));
  double *run_cpu = bench_xcalloc(R, sizeof(double));
  double *k_mbs[NKINDS], *k_us[NKINDS], *k_p50[NKINDS], *k_p99[NKINDS];
  bench_samples lat[NKINDS] = {{0}};
  for (int k = 0; k < NKINDS; k++) {
    k_mbs[k] = bench_xcalloc(R, sizeof(double));
    k_us[k] = bench_xcalloc(R, sizeof(double));
    k_p50[k] = bench_xcalloc(R, sizeof(double));
    k_p99[k] = bench_xcalloc(R, sizeof(double));
  }
  const size_t *bytes = folded ? c->fold_bytes : c->raw_bytes;
  for (size_t i = 0; i < c->n; i++) fn(ctx, c, &c->items[i]); /* warm-up, untimed */
  out->cpu_share = 1;
  for (size_t r = 0; r < R; r++) {
    double per_pass[NKINDS], wall = 0, cpu = 0;
    for (int k = 0; k < NKINDS; k++) {
      per_pass[k] = 0;
      if (!c->n_kind[k]) continue;
      size_t passes = 0;
      double t0 = bench_now(), c0 = bench_cpu_now(), el;
      do {
        for (size_t i = 0; i < c->n_kind[k]; i++) fn(ctx, c, &c->items[c->by_kind[k][i]]);
        passes++;
        el = bench_now() - t0;
      } while (el < o->seconds / 2);
      cpu += bench_cpu_now() - c0;
      wall += el;
      per_pass[k] = el / (double)passes;
      k_mbs[k][r] = (double)bytes[k] / per_pass[k] / 1e6;
      k_us[k][r] = per_pass[k] / (double)c->n_kind[k] * 1e6;
    }
    double share = wall > 0 && cpu > 0 ? cpu / wall : 1;
    if (share < out->cpu_share) out->cpu_share = share;
    run_mbs[r] = (double)(bytes[0] + bytes[1]) / (per_pass[0] + per_pass[1]) / 1e6;
    run_cpu[r] = run_mbs[r] / share;
    run_us[r] = (per_pass[0] + per_pass[1]) / (double)c->n * 1e6;
    for (int k = 0; k < NKINDS; k++) lat[k].n = 0;
    double t0 = bench_now();
    do {
      for (size_t i = 0; i < c->n; i++) {
        double a = bench_now();
        fn(ctx, c, &c->items[i]);
        double d = bench_now() - a - o->clock_cost;
        bench_samples_push(&lat[c->items[i].kind], (float)(d > 0 ? d * 1e6 : 0));
      }
    } while (bench_now() - t0 < o->seconds / 2);
    for (int k = 0; k < NKINDS; k++) {
      k_p50[k][r] = bench_quantile(lat[k].v, lat[k].n, 0.50);
      k_p99[k][r] = bench_quantile(lat[k].v, lat[k].n, 0.99);
    }
  }
  out->mbs = bench_median(run_mbs, R);
  out->us_mean = bench_median(run_us, R);
  out->mbs_cpu = bench_median(run_cpu, R);
  out->mbs_lo = out->mbs_hi = run_mbs[0];
  for (size_t r = 1; r < R; r++) {
    if (run_mbs[r] < out->mbs_lo) out->mbs_lo = run_mbs[r];
    if (run_mbs[r] > out->mbs_hi) out->mbs_hi = run_mbs[r];
  }
  for (int k = 0; k < NKINDS; k++) {
    out->k[k] = (kind_result){bench_median(k_mbs[k], R), bench_median(k_us[k], R),
                              bench_median(k_p50[k], R), bench_median(k_p99[k], R)};
    free(k_mbs[k]);
    free(k_us[k]);
    free(k_p50[k]);
    free(k_p99[k]);
    bench_samples_free(&lat[k]);
  }
  free(run_mbs);
  free(run_us);
  free(run_cpu);
}

/* Writes one byte per cache line of a buffer of MIB MiB, evicting what
 * the caches held (the automaton, the text). */
static void evict(size_t mib) {
  static unsigned char *buf;
  static size_t size;
  if (size != mib << 20) {
    free(buf);
    size = mib << 20;
    buf = bench_xcalloc(size, 1);
  }
  for (size_t i = 0; i < size; i += 64) buf[i]++;
  __asm__ volatile("" : : "r"(buf) : "memory"); /* keep the writes */
}

/* Reads the N bytes at P: the daemon has just folded the text it scans,
 * so the text itself is in cache. */
static void touch(const char *p, size_t n) {
  unsigned sum = 0;
  for (size_t i = 0; i < n; i += 64) sum += (unsigned char)p[i];
  __asm__ volatile("" : : "r"(sum));
}

/* The cold-cache runs described at the top; fills OUT->c. */
void tm_measure_cold(const corpus *c, const tm_plan *o, tm_work_fn fn, void *ctx, result *out) {
  size_t R = (size_t)o->runs, next = 0;
  double *v[NKINDS][4];
  bench_samples lat[NKINDS] = {{0}};
  for (int k = 0; k < NKINDS; k++)
    for (int j = 0; j < 4; j++) v[k][j] = bench_xcalloc(R, sizeof(double));
  for (size_t r = 0; r < R; r++) {
    double secs[NKINDS] = {0}, bytes[NKINDS] = {0};
    for (int k = 0; k < NKINDS; k++) lat[k].n = 0;
    double t0 = bench_now();
    do {
      const bitem *it = &c->items[next];
      next = (next + 1) % c->n;
      evict(o->cold_mib);
      touch(c->fold + it->ft, it->ftl);
      touch(c->fold + it->fb, it->fbl);
      double a = bench_now();
      fn(ctx, c, it);
      double d = bench_now() - a - o->clock_cost;
      d = d > 0 ? d : 0;
      secs[it->kind] += d;
      bytes[it->kind] += (double)it->ftl + it->fbl;
      bench_samples_push(&lat[it->kind], (float)(d * 1e6));
    } while (bench_now() - t0 < o->seconds / 2);
    for (int k = 0; k < NKINDS; k++) {
      size_t n = lat[k].n;
      v[k][0][r] = secs[k] > 0 ? bytes[k] / secs[k] / 1e6 : NAN;
      v[k][1][r] = n ? secs[k] / (double)n * 1e6 : NAN;
      v[k][2][r] = n ? bench_quantile(lat[k].v, n, 0.50) : NAN;
      v[k][3][r] = n ? bench_quantile(lat[k].v, n, 0.99) : NAN;
    }
  }
  out->cold = true;
  for (int k = 0; k < NKINDS; k++) {
    out->c[k] = (kind_result){bench_median(v[k][0], R), bench_median(v[k][1], R),
                              bench_median(v[k][2], R), bench_median(v[k][3], R)};
    for (int j = 0; j < 4; j++) free(v[k][j]);
    bench_samples_free(&lat[k]);
  }
}

/* One pass over every item in corpus order (for match counts). */
void tm_one_pass(const corpus *c, tm_work_fn fn, void *ctx) {
  for (size_t i = 0; i < c->n; i++) fn(ctx, c, &c->items[i]);
}
