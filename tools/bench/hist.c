/*
 * hist.c -- what `newsfeed-bench load` and `newsfeed-bench peer` share, so
 * both measure and report alike (bench.h):
 *
 *  - the latency histogram: log-linear in microseconds, 1 us buckets below
 *    2 ms (2 * H_SUB), then H_SUB buckets per power of two (relative error
 *    <= 1/1024) up to 10 s; the maximum is kept exactly;
 *  - one run's result and its JSON and text forms (the keys of
 *    `load --json`, which scripts read for both subcommands);
 *  - the --max search: doubling from a start rate until a step fails, then
 *    bisecting until the first failing rate is within 8% of the highest
 *    passing one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define H_SUB 1024 /* sub-buckets per power of two above 2*H_SUB us */
#define H_MAXUS 10000000ull
#define H_LEVELS 14 /* 2048 us << 13 > 10 s */
#define H_N (2 * H_SUB + H_LEVELS * H_SUB)

void bench_hist_init(bench_hist *h) {
  *h = (bench_hist){.b = bench_xcalloc(H_N, sizeof(uint64_t))};
}

void bench_hist_free(bench_hist *h) {
  free(h->b);
  h->b = NULL;
}

void bench_hist_reset(bench_hist *h) {
  memset(h->b, 0, H_N * sizeof(uint64_t));
  h->n = h->over = h->max_us = 0;
}

static size_t hist_index(uint64_t us) {
  if (us < 2 * H_SUB) return (size_t)us;
  int msb = 63 - __builtin_clzll(us);
  int shift = msb - 10; /* keep 11 bits: 1024..2047 */
  size_t i = 2 * H_SUB + (size_t)(msb - 11) * H_SUB + (size_t)((us >> shift) - H_SUB);
  return i < H_N ? i : H_N - 1;
}

static uint64_t hist_value(size_t i) { /* upper bound of bucket I */
  if (i < 2 * H_SUB) return i;
  size_t lvl = (i - 2 * H_SUB) / H_SUB, sub = (i - 2 * H_SUB) % H_SUB;
  int shift = (int)lvl + 1;
  return (((uint64_t)(H_SUB + sub) + 1) << shift) - 1;
}

void bench_hist_add(bench_hist *h, uint64_t us) {
  if (us > h->max_us) h->max_us = us;
  if (us > H_MAXUS) h->over++;
  h->b[hist_index(us > H_MAXUS ? H_MAXUS : us)]++;
  h->n++;
}

void bench_hist_merge(bench_hist *d, const bench_hist *s) {
  for (size_t i = 0; i < H_N; i++) d->b[i] += s->b[i];
  d->n += s->n;
  d->over += s->over;
  if (s->max_us > d->max_us) d->max_us = s->max_us;
}

double bench_hist_q(const bench_hist *h, double q) {
  if (!h->n) return NAN;
  uint64_t rank = (uint64_t)ceil(q * (double)h->n);
  if (rank < 1) rank = 1;
  uint64_t c = 0;
  for (size_t i = 0; i < H_N; i++) {
    c += h->b[i];
    if (c >= rank) {
      uint64_t v = hist_value(i);
      return (double)(v < h->max_us ? v : h->max_us);
    }
  }
  return (double)h->max_us;
}

/* ---- results ----------------------------------------------------------------- */

void bench_result_init(bench_result *R, int n_sub) {
  memset(R, 0, sizeof *R);
  bench_hist_init(&R->h);
  R->n_sub = n_sub;
  R->sub = bench_xcalloc((size_t)n_sub, sizeof *R->sub);
}

void bench_result_free(bench_result *R) {
  bench_hist_free(&R->h);
  free(R->sub);
  R->sub = NULL;
}

static void json_kv(FILE *f, const char *k, double v, bool comma) {
  fprintf(f, "\"%s\":", k);
  bench_json_number(f, v);
  if (comma) fputc(',', f);
}

static void print_latency_json(FILE *f, const bench_hist *h) {
  fprintf(f, "\"latency_us\":{");
  json_kv(f, "count", (double)h->n, true);
  json_kv(f, "p50", bench_hist_q(h, 0.50), true);
  json_kv(f, "p90", bench_hist_q(h, 0.90), true);
  json_kv(f, "p99", bench_hist_q(h, 0.99), true);
  json_kv(f, "p999", bench_hist_q(h, 0.999), true);
  json_kv(f, "max", h->n ? (double)h->max_us : NAN, false);
  fprintf(f, "}");
}

static void print_subs_json(FILE *f, const bench_result *R) {
  fprintf(f, ",\"per_subscriber\":[");
  for (int k = 0; k < R->n_sub; k++) {
    const bench_sub_result *s = &R->sub[k];
    fprintf(f, "%s{", k ? "," : "");
    json_kv(f, "items", (double)s->items, true);
    json_kv(f, "messages", (double)s->msgs, true);
    json_kv(f, "items_per_s", s->items_s, true);
    json_kv(f, "msgs_per_s", s->msgs_s, true);
    json_kv(f, "lost", (double)s->lost, true);
    json_kv(f, "recovered", (double)s->recovered, true);
    json_kv(f, "lost_after_fill", (double)(s->lost - s->recovered), false);
    if (R->extra) R->extra(f, R, k, R->extra_ctx);
    fprintf(f, "}");
  }
  fprintf(f, "]");
}

void bench_print_result_json(FILE *f, const bench_result *R) {
  fprintf(f, "{");
  json_kv(f, "target_rate", R->target_rate, true);
  json_kv(f, "items", (double)R->items, true);
  json_kv(f, "sent", (double)R->sent, true);
  json_kv(f, "acked", (double)R->acked, true);
  json_kv(f, "rejected", (double)R->rejected, true);
  json_kv(f, "ingest_seconds", R->ingest_s, true);
  json_kv(f, "ingest_items_per_s", R->ingest_rate, true);
  json_kv(f, "first_send_to_last_receive_ms", R->burst_s * 1000, true);
  json_kv(f, "first_send_to_gap_filled_ms", R->filled_s * 1000, true);
  json_kv(f, "lost", (double)R->lost_total, true);
  json_kv(f, "lost_after_fill", (double)R->lost_after_fill_total, true);
  fprintf(f, "\"all_delivered_after_fill\":%s,", R->all_delivered ? "true" : "false");
  print_latency_json(f, &R->h);
  print_subs_json(f, R);
  if (R->extra) R->extra(f, R, -1, R->extra_ctx);
  if (R->err[0]) {
    fprintf(f, ",\"error\":");
    bench_json_string(f, R->err);
  }
  fprintf(f, "}");
}

void bench_print_result_text(FILE *f, const bench_result *R, const char *verb) {
  if (R->target_rate > 0) fprintf(f, "rate %.0f items/s: ", R->target_rate);
  else fprintf(f, "burst of %llu items: ", (unsigned long long)R->items);
  fprintf(f, "%llu sent, %llu acked (%llu rejected) in %.3f s = %.0f items/s %s\n",
          (unsigned long long)R->sent, (unsigned long long)R->acked,
          (unsigned long long)R->rejected, R->ingest_s, R->ingest_rate, verb);
  fprintf(f,
          "  first send -> last receive at every subscriber: %.1f ms; gap fill done at %.1f ms\n",
          R->burst_s * 1000, R->filled_s * 1000);
  for (int k = 0; k < R->n_sub; k++)
    fprintf(f,
            "  sub %d: %llu items in %llu msgs (%.0f items/s, %.0f msgs/s), lost %llu, recovered "
            "%llu, lost after fill %llu\n",
            k, (unsigned long long)R->sub[k].items, (unsigned long long)R->sub[k].msgs,
            R->sub[k].items_s, R->sub[k].msgs_s, (unsigned long long)R->sub[k].lost,
            (unsigned long long)R->sub[k].recovered,
            (unsigned long long)(R->sub[k].lost - R->sub[k].recovered));
  const bench_hist *h = &R->h;
  fprintf(f, "  latency us (%llu samples): p50 %.0f  p90 %.0f  p99 %.0f  p99.9 %.0f  max %llu\n",
          (unsigned long long)h->n, bench_hist_q(h, 0.5), bench_hist_q(h, 0.9),
          bench_hist_q(h, 0.99), bench_hist_q(h, 0.999), (unsigned long long)h->max_us);
  fprintf(f, "  all delivered after gap fill: %s\n", R->all_delivered ? "yes" : "no");
  if (R->err[0]) fprintf(f, "  error: %s\n", R->err);
}

/* ---- --max ----------------------------------------------------------------------- */

static void print_step(const bench_max_cfg *c, int steps, double rate, bool ok,
                       const bench_result *R) {
  FILE *out = c->out;
  if (c->json) {
    fprintf(out, "%s{\"rate\":%.0f,\"ok\":%s,\"ingest_items_per_s\":", steps ? "," : "", rate,
            ok ? "true" : "false");
    bench_json_number(out, R->ingest_rate);
    fprintf(out, ",\"lost\":%llu,\"lost_after_fill\":%llu,\"p99_us\":",
            (unsigned long long)R->lost_total, (unsigned long long)R->lost_after_fill_total);
    bench_json_number(out, bench_hist_q(&R->h, 0.99));
    fprintf(out, "}");
  } else {
    fprintf(out, "step %d: rate %.0f: %s (%s %.0f/s, lost %llu, after fill %llu, p99 %.0f us)\n",
            steps + 1, rate, ok ? "ok" : "FAIL", c->verb, R->ingest_rate,
            (unsigned long long)R->lost_total, (unsigned long long)R->lost_after_fill_total,
            bench_hist_q(&R->h, 0.99));
    fflush(out);
  }
}

static void print_outcome(const bench_max_cfg *c, double lo, double hi, const bench_result *best) {
  FILE *out = c->out;
  if (c->json) {
    fprintf(out, "],\"max_lossless_rate\":");
    bench_json_number(out, lo);
    fprintf(out, ",\"first_failing_rate\":");
    bench_json_number(out, hi > 0 ? hi : NAN);
    fprintf(out, ",\"step_seconds\":");
    bench_json_number(out, c->step_seconds);
    fprintf(out, ",\"result\":");
    if (best) bench_print_result_json(out, best);
    else fprintf(out, "null");
  } else {
    fprintf(out, "highest lossless rate: %.0f items/s (first failing: %.0f)\n", lo, hi);
    if (best) bench_print_result_text(out, best, c->verb);
  }
}

bool bench_max_search(const bench_max_cfg *c) {
  double rate = c->start_rate, lo = 0, hi = 0;
  bench_result best;
  bool have_best = false;
  int steps = 0;
  if (c->json) fprintf(c->out, "\"steps\":[");
  for (;;) {
    bench_result R;
    bool ok = c->step(c->ctx, rate, &R);
    print_step(c, steps, rate, ok, &R);
    steps++;
    if (ok) {
      if (have_best) bench_result_free(&best);
      best = R, have_best = true;
      lo = rate;
    } else {
      bench_result_free(&R);
      hi = rate;
    }
    if (hi == 0) rate *= 2;
    else if (lo == 0) rate = hi / 2;
    else rate = (lo + hi) / 2;
    if (hi > 0 && (lo > 0 ? hi / lo <= 1.08 : rate < 250)) break;
    if (steps >= 16) break;
  }
  print_outcome(c, lo, hi, have_best ? &best : NULL);
  if (have_best) bench_result_free(&best);
  return have_best;
}
