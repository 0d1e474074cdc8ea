/*
 * tag.c -- `newsfeed-bench tag`: speed of the multi-pattern matcher and of
 * the end-to-end tagger on realistic terms and texts, with Hyperscan side
 * by side when the build found it (NF_HAVE_HS).
 *
 * Terms (deterministic; every list of N terms is a prefix-like subset of
 * the next larger one):
 *   - seeds: the terms of the default rules (conf/rules.yaml, terms and
 *     excludes) and the names of the symbol dictionary (conf/symbols.yaml),
 *     folded and deduplicated, both from the copies built into libnftag;
 *   - N <= rule terms: a fixed-seed sample of the rule terms; up to rule
 *     terms + names: all rule terms and a sample of the names;
 *   - beyond: every seed, then generated terms until N: Chinese words of
 *     2-4 characters drawn from the characters of the corpus (weighted by
 *     the square root of their frequency), Chinese company names (a stem
 *     and 科技/集团/银行...), English words (not the 100 most frequent) and
 *     bigrams (seen in the corpus, or two corpus words), English company
 *     names (a corpus word or made-up name + Inc/Holdings/...), cashtags,
 *     tickers and A-share/Hong Kong codes.
 *
 * Texts: items built from the labelled corpus (tests/corpus/labelled.jsonl,
 * built in; --corpus FILE for another): 90% flashes of 100-300 bytes (a
 * corpus flash, topped up with other titles of its language) and 10%
 * articles of 2-20 KB (a corpus article's title and body, continued with
 * paragraphs of other bodies of its language), until >= 32 MiB, fixed
 * seed.  The texts are folded once as the tagger folds them; the matcher
 * and Hyperscan scan the folded title and body of each item separately, as
 * the tagger does.  Folding is timed on its own, and the tagger end to end
 * (nf_tag_item with the default rules, on the raw items).
 *
 * Timing (hot runs, and cold-cache runs with --cold): see tag_measure.c.
 * Compile times are medians of R compiles (--runs).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tag_corpus.h"
#include "tag_measure.h"
#include "tag/fold.h"
#include "tag/matcher.h"
#include "tag/tagger.h"
#include "toolutil.h"
#include "util/yaml_tree.h"

#ifndef NF_HAVE_HS
#define NF_HAVE_HS 0
#endif
#if NF_HAVE_HS
#include <hs.h>
#endif

#define PROG BENCH_PROG " tag"
#define MAX_N 16

static const char *const kind_names[NKINDS] = {"flash", "article"};

typedef struct opts {
  size_t terms[MAX_N];
  size_t n_terms;
  tm_plan plan;     /* --seconds, --runs, --cold; the clock cost */
  size_t dense_kib; /* 0: the matcher's default dense budget */
  const char *corpus;
  bool json, no_hs, print_terms;
} opts;

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeed-bench tag [OPTIONS]\n"
             "\n"
             "Speed of the tag matcher (and of Hyperscan on the same terms and texts, when\n"
             "built with libhs) for N terms, and of the whole tagger with the default rules,\n"
             "on >= 32 MiB of generated news items (90%% flashes of 100-300 B, 10%% articles\n"
             "of 2-20 KB) made from the labelled corpus.  Deterministic terms and texts.\n"
             "\n"
             "Options:\n"
             "      --terms N      number of terms; repeat for several (default 1000, 10000,\n"
             "                     100000)\n"
             "      --seconds S    minimum scanning time of each run (default 2)\n"
             "      --runs R       runs per measurement; medians are reported (default 5)\n"
             "      --dense KiB    dense budget of the matcher (nf_matcher_set_dense_limit)\n"
             "      --cold[=MiB]   also time scans with cold caches: before each item, write\n"
             "                     a buffer of MiB (default 8) to evict the automaton\n"
             "      --corpus FILE  JSON Lines corpus to build texts and vocabulary from\n"
             "                     (default: the built-in tests/corpus/labelled.jsonl)\n"
             "      --no-hyperscan skip the Hyperscan comparison\n"
             "      --json         one JSON object per line: one per N, then the tagger\n"
             "      --print-terms  print the terms of each N, one per line, and exit\n"
             "  -h, --help         show this help\n");
}

/* ---- workloads ------------------------------------------------------------ */

typedef struct fold_work {
  char *out;
} fold_work;

static void work_fold(void *ctx, const corpus *c, const bitem *it) {
  fold_work *w = ctx;
  nf_fold(c->raw.p + it->rt, it->rtl, w->out, FOLD_FLAGS);
  if (it->rbl) nf_fold(c->raw.p + it->rb, it->rbl, w->out, FOLD_FLAGS);
}

typedef struct nf_work {
  const nf_matcher *m;
  size_t matches;
} nf_work;

static int count_nf(void *ctx, uint32_t value, size_t start, size_t end) {
  (void)value;
  (void)start;
  (void)end;
  (*(size_t *)ctx)++;
  return 0;
}

static void work_nf(void *ctx, const corpus *c, const bitem *it) {
  nf_work *w = ctx;
  nf_matcher_scan(w->m, c->fold + it->ft, it->ftl, count_nf, &w->matches);
  if (it->fbl) nf_matcher_scan(w->m, c->fold + it->fb, it->fbl, count_nf, &w->matches);
}

typedef struct tag_work {
  nf_tagger *t;
  const source *src;
  size_t topics, failed;
} tag_work;

static void work_tag(void *ctx, const corpus *c, const bitem *it) {
  tag_work *w = ctx;
  const src_item *si = &w->src->it[it->src];
  nf_item item;
  nf_item_init(&item);
  item.kind = it->kind == K_FLASH ? NF_KIND_FLASH : NF_KIND_ARTICLE;
  item.title = c->raw.p + it->rt;
  item.body = it->rbl ? c->raw.p + it->rb : NULL;
  item.source = si->source;
  item.lang = si->zh ? "zh" : "en";
  nf_error err;
  if (nf_tag_item(w->t, &item, NULL, &err) < 0) w->failed++;
  else w->topics += item.n_topics;
  nf_item_clear(&item);
}

#if NF_HAVE_HS
typedef struct hs_work {
  hs_database_t *db;
  hs_scratch_t *scratch;
  size_t matches;
} hs_work;

static int count_hs(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx) {
  (void)id;
  (void)from;
  (void)to;
  (void)flags;
  (*(size_t *)ctx)++;
  return 0;
}

static void work_hs(void *ctx, const corpus *c, const bitem *it) {
  hs_work *w = ctx;
  hs_scan(w->db, c->fold + it->ft, it->ftl, 0, w->scratch, count_hs, &w->matches);
  if (it->fbl) hs_scan(w->db, c->fold + it->fb, it->fbl, 0, w->scratch, count_hs, &w->matches);
}

/* The terms as literal patterns, HS_MODE_BLOCK; *SECS gets the compile
 * time.  NULL (with a message) on failure. */
static hs_database_t *hs_build(const termset *ts, double *secs) {
  unsigned *ids = bench_xmalloc(ts->n * sizeof *ids), *flags = bench_xcalloc(ts->n, sizeof *flags);
  for (size_t i = 0; i < ts->n; i++) ids[i] = (unsigned)i;
  hs_database_t *db = NULL;
  hs_compile_error_t *err = NULL;
  hs_error_t rc;
#if HS_MAJOR > 5 || (HS_MAJOR == 5 && HS_MINOR >= 2)
  const char **ex = bench_xmalloc(ts->n * sizeof *ex);
  size_t *lens = bench_xmalloc(ts->n * sizeof *lens);
  for (size_t i = 0; i < ts->n; i++) {
    ex[i] = tc_ts_str(ts, i);
    lens[i] = ts->len[i];
  }
  double t0 = bench_now();
  rc = hs_compile_lit_multi(ex, flags, ids, lens, (unsigned)ts->n, HS_MODE_BLOCK, NULL, &db, &err);
  *secs = bench_now() - t0;
  free(lens);
#else /* no literal API: every byte as \xHH */
  char **ex = bench_xmalloc(ts->n * sizeof *ex);
  for (size_t i = 0; i < ts->n; i++) {
    ex[i] = bench_xmalloc((size_t)ts->len[i] * 4 + 1);
    for (size_t j = 0; j < ts->len[i]; j++)
      sprintf(ex[i] + 4 * j, "\\x%02x", (unsigned char)tc_ts_str(ts, i)[j]);
  }
  double t0 = bench_now();
  rc = hs_compile_multi((const char *const *)ex, flags, ids, (unsigned)ts->n, HS_MODE_BLOCK, NULL,
                        &db, &err);
  *secs = bench_now() - t0;
  for (size_t i = 0; i < ts->n; i++) free(ex[i]);
#endif
  free(ex);
  free(ids);
  free(flags);
  if (rc != HS_SUCCESS) {
    fprintf(stderr, "%s: hyperscan compile failed: %s\n", PROG,
            err && err->message ? err->message : "unknown error");
    hs_free_compile_error(err);
    return NULL;
  }
  return db;
}
#endif

/* ---- the whole rules path: a rules file holding the N terms --------------- */

static void rules_yaml(const termset *ts, sbuf *b) {
  size_t topics = ts->n < 10 ? ts->n : 10;
  tc_sb_str(b, "version: 1\ntopics:\n");
  for (size_t t = 0; t < topics; t++) {
    char head[96];
    snprintf(head, sizeof head, "  bench.t%zu:\n    terms:\n      - match:\n", t);
    tc_sb_str(b, head);
    for (size_t i = t; i < ts->n; i += topics) {
      tc_sb_str(b, "          - \"");
      for (const char *p = tc_ts_str(ts, i); *p; p++) {
        if (*p == '"' || *p == '\\') tc_sb_add(b, "\\", 1);
        tc_sb_add(b, p, 1);
      }
      tc_sb_str(b, "\"\n");
    }
  }
}

/* ---- one N ---------------------------------------------------------------- */

typedef struct n_result {
  size_t n, from_rules, from_dict, generated;
  double add_ms, compile_ms, rules_ms;
  size_t memory, matches;
  result scan;
  bool hs;
  double hs_compile_ms;
  size_t hs_db, hs_scratch, hs_matches;
  result hs_scan;
} n_result;

static double ms_median(double *v, size_t n) {
  return bench_median(v, n) * 1e3;
}

static void bench_n(const opts *o, const corpus *c, const termlist *tl, n_result *nr) {
  const termset *ts = &tl->ts;
  size_t R = (size_t)o->plan.runs;
  double *add = bench_xcalloc(R, sizeof(double)), *comp = bench_xcalloc(R, sizeof(double));
  *nr = (n_result){.n = ts->n,
                   .from_rules = tl->from_rules,
                   .from_dict = tl->from_dict,
                   .generated = tl->generated,
                   .rules_ms = NAN,
                   .hs_compile_ms = NAN};
  nf_matcher *m = NULL;
  for (size_t r = 0; r < R; r++) {
    nf_matcher_free(m);
    double t0 = bench_now();
    m = nf_matcher_new();
    if (!m) nf_die(PROG, 1, "out of memory");
    if (o->dense_kib) nf_matcher_set_dense_limit(m, o->dense_kib << 10);
    for (size_t i = 0; i < ts->n; i++)
      if (nf_matcher_add(m, tc_ts_str(ts, i), ts->len[i], (uint32_t)i) < 0)
        nf_die(PROG, 1, "matcher refused term %zu", i);
    double t1 = bench_now();
    if (nf_matcher_compile(m) < 0) nf_die(PROG, 1, "matcher compile failed (out of memory)");
    add[r] = t1 - t0;
    comp[r] = bench_now() - t1;
  }
  nr->add_ms = ms_median(add, R);
  nr->compile_ms = ms_median(comp, R);
  nr->memory = nf_matcher_memory(m);

  sbuf yaml = {0};
  rules_yaml(ts, &yaml);
  for (size_t r = 0; r < R; r++) {
    nf_rules *rules = NULL;
    char err[512];
    double t0 = bench_now();
    int rc = nf_rules_compile(yaml.p, yaml.n, "<bench rules>", &rules, err, sizeof err);
    comp[r] = bench_now() - t0;
    if (rc < 0) {
      fprintf(stderr, "%s: generated rules rejected: %s\n", PROG, err);
      break;
    }
    nf_rules_free(rules);
    if (r + 1 == R) nr->rules_ms = ms_median(comp, R);
  }
  free(yaml.p);

  nf_work w = {.m = m};
  tm_measure(c, &o->plan, true, work_nf, &w, &nr->scan);
  if (o->plan.cold_mib) tm_measure_cold(c, &o->plan, work_nf, &w, &nr->scan);
  w.matches = 0;
  tm_one_pass(c, work_nf, &w);
  nr->matches = w.matches;
  nf_matcher_free(m);

#if NF_HAVE_HS
  if (!o->no_hs) {
    hs_work h = {0};
    for (size_t r = 0; r < R && !(r && !h.db); r++) {
      hs_free_database(h.db);
      h.db = hs_build(ts, &comp[r]);
    }
    if (h.db && hs_alloc_scratch(h.db, &h.scratch) == HS_SUCCESS) {
      nr->hs = true;
      nr->hs_compile_ms = ms_median(comp, R);
      hs_database_size(h.db, &nr->hs_db);
      hs_scratch_size(h.scratch, &nr->hs_scratch);
      tm_measure(c, &o->plan, true, work_hs, &h, &nr->hs_scan);
      if (o->plan.cold_mib) tm_measure_cold(c, &o->plan, work_hs, &h, &nr->hs_scan);
      h.matches = 0;
      tm_one_pass(c, work_hs, &h);
      nr->hs_matches = h.matches;
    }
    hs_free_scratch(h.scratch);
    hs_free_database(h.db);
  }
#endif
  free(add);
  free(comp);
}

/* ---- output --------------------------------------------------------------- */

static const char *hs_note =
    "hyperscan matches raw literals (no word boundaries: it also reports 'ai' inside "
    "'said'), newsfeed applies its ASCII word-boundary rule; both scan the same folded "
    "texts, HS_MODE_BLOCK, counting matches in the callback";

static double mib(size_t b) {
  return (double)b / (1024.0 * 1024.0);
}

/* Prints LABEL padded to WIDTH columns (UTF-8 aware). */
static void label(const char *s, int width) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) cols += (*p & 0xC0) != 0x80;
  fputs(s, stdout);
  for (; cols < width; cols++) putchar(' ');
}

static void row(const char *name, const char *nf, const char *hs, double ratio) {
  label(name, 28);
  printf("%16s %16s", nf, hs);
  if (isfinite(ratio)) printf(" %12.2f", ratio);
  putchar('\n');
}

static char *fmt(char *b, const char *f, double v) {
  if (!isfinite(v)) return strcpy(b, "-");
  snprintf(b, 32, f, v);
  return b;
}

static const char *us_fmt(double v) {
  return v < 10 ? "%.3f" : v < 100 ? "%.2f" : "%.1f";
}

/* The rows of one kind: MB/s, mean, p50 / p99; PREFIX names the mode. */
static void kind_rows(const char *prefix, const char *kind, const kind_result *x,
                      const kind_result *y, bool hs) {
  char a[32], b[32], c2[32], d[32], name[64], p[40], q[40];
  snprintf(name, sizeof name, "%s%s: MB/s", prefix, kind);
  row(name, fmt(a, "%.0f", x->mbs), hs ? fmt(b, "%.0f", y->mbs) : "", hs ? x->mbs / y->mbs : NAN);
  snprintf(name, sizeof name, "%s%s: µs mean", prefix, kind);
  row(name, fmt(a, us_fmt(x->us_mean), x->us_mean),
      hs ? fmt(b, us_fmt(y->us_mean), y->us_mean) : "", hs ? x->us_mean / y->us_mean : NAN);
  snprintf(name, sizeof name, "%s%s: µs p50 / p99", prefix, kind);
  snprintf(p, sizeof p, "%s / %s", fmt(a, us_fmt(x->us_p50), x->us_p50),
           fmt(b, us_fmt(x->us_p99), x->us_p99));
  if (hs)
    snprintf(q, sizeof q, "%s / %s", fmt(c2, us_fmt(y->us_p50), y->us_p50),
             fmt(d, us_fmt(y->us_p99), y->us_p99));
  row(name, p, hs ? q : "", NAN);
}

static void print_text(const n_result *r) {
  char a[32], b[32];
  printf("\n== %zu terms: %zu from the rules, %zu dictionary names, %zu generated ==\n", r->n,
         r->from_rules, r->from_dict, r->generated);
  bool hs = r->hs;
  printf("%-28s %16s %16s %12s\n", "", "newsfeed", hs ? "hyperscan" : "(no hyperscan)",
         hs ? "nf/hs" : "");
  row("compile, ms", fmt(a, "%.1f", r->compile_ms), hs ? fmt(b, "%.1f", r->hs_compile_ms) : "",
      hs ? r->compile_ms / r->hs_compile_ms : NAN);
  row("  + adding the terms, ms", fmt(a, "%.1f", r->add_ms), "", NAN);
  row("  nf_rules_compile, ms", fmt(a, "%.1f", r->rules_ms), "", NAN);
  row("memory, MiB", fmt(a, "%.2f", mib(r->memory)),
      hs ? fmt(b, "%.2f", mib(r->hs_db + r->hs_scratch)) : "",
      hs ? (double)r->memory / (double)(r->hs_db + r->hs_scratch) : NAN);
  if (hs) {
    snprintf(b, sizeof b, "%.2f + %.2f", mib(r->hs_db), mib(r->hs_scratch));
    row("  (database + scratch)", "", b, NAN);
  }
  row("scan, MB/s", fmt(a, "%.0f", r->scan.mbs), hs ? fmt(b, "%.0f", r->hs_scan.mbs) : "",
      hs ? r->scan.mbs / r->hs_scan.mbs : NAN);
  row("  per second of CPU time", fmt(a, "%.0f", r->scan.mbs_cpu),
      hs ? fmt(b, "%.0f", r->hs_scan.mbs_cpu) : "",
      hs ? r->scan.mbs_cpu / r->hs_scan.mbs_cpu : NAN);
  snprintf(a, sizeof a, "%.0f-%.0f", r->scan.mbs_lo, r->scan.mbs_hi);
  if (hs) snprintf(b, sizeof b, "%.0f-%.0f", r->hs_scan.mbs_lo, r->hs_scan.mbs_hi);
  row("  range over runs", a, hs ? b : "", NAN);
  row("µs per item, all", fmt(a, us_fmt(r->scan.us_mean), r->scan.us_mean),
      hs ? fmt(b, us_fmt(r->hs_scan.us_mean), r->hs_scan.us_mean) : "",
      hs ? r->scan.us_mean / r->hs_scan.us_mean : NAN);
  for (int k = 0; k < NKINDS; k++)
    kind_rows("", kind_names[k], &r->scan.k[k], &r->hs_scan.k[k], hs);
  if (r->scan.cold)
    for (int k = 0; k < NKINDS; k++)
      kind_rows("cold ", kind_names[k], &r->scan.c[k], &r->hs_scan.c[k], hs);
  snprintf(a, sizeof a, "%zu", r->matches);
  snprintf(b, sizeof b, "%zu", r->hs_matches);
  row("matches per corpus pass", a, hs ? b : "", NAN);
  snprintf(a, sizeof a, "%.2f", r->scan.cpu_share);
  snprintf(b, sizeof b, "%.2f", r->hs_scan.cpu_share);
  row("CPU time / wall time, min", a, hs ? b : "", NAN);
  if (r->scan.cpu_share < 0.95 || (hs && r->hs_scan.cpu_share < 0.95))
    printf("WARNING: the benchmark did not have a CPU to itself (other load): figures are low\n");
  if (hs) printf("(%s)\n", hs_note);
  if (r->n == 10000)
    printf("target: scan >= 500 MB/s at 10,000 terms: %.0f MB/s, %s (%+.0f%%)\n", r->scan.mbs,
           r->scan.mbs >= 500 ? "met" : "NOT met", (r->scan.mbs / 500 - 1) * 100);
  if (r->n == 100000) {
    printf("target: compile of 100,000 terms < 1 s: %.0f ms (%.0f ms with adding), %s\n",
           r->compile_ms, r->compile_ms + r->add_ms,
           r->compile_ms + r->add_ms < 1000 ? "met" : "NOT met");
    printf("target: automaton of 100,000 terms < 64 MiB: %.2f MiB, %s\n", mib(r->memory),
           mib(r->memory) < 64 ? "met" : "NOT met");
  }
}

static void json_kinds(const result *s) {
  for (int k = 0; k < NKINDS; k++) {
    printf(",\"%s\":{\"mb_s\":", kind_names[k]);
    bench_json_number(stdout, s->k[k].mbs);
    printf(",\"us_mean\":");
    bench_json_number(stdout, s->k[k].us_mean);
    printf(",\"us_p50\":");
    bench_json_number(stdout, s->k[k].us_p50);
    printf(",\"us_p99\":");
    bench_json_number(stdout, s->k[k].us_p99);
    printf("}");
  }
}

static void json_cold(const result *s) {
  printf(",\"cold\":");
  if (!s->cold) {
    printf("null");
    return;
  }
  for (int k = 0; k < NKINDS; k++) {
    printf("%s\"%s\":{\"mb_s\":", k ? "," : "{", kind_names[k]);
    bench_json_number(stdout, s->c[k].mbs);
    printf(",\"us_mean\":");
    bench_json_number(stdout, s->c[k].us_mean);
    printf(",\"us_p50\":");
    bench_json_number(stdout, s->c[k].us_p50);
    printf(",\"us_p99\":");
    bench_json_number(stdout, s->c[k].us_p99);
    printf("}");
  }
  printf("}");
}

static void json_scan(const result *s) {
  printf("\"mb_s\":");
  bench_json_number(stdout, s->mbs);
  printf(",\"mb_s_min\":");
  bench_json_number(stdout, s->mbs_lo);
  printf(",\"mb_s_max\":");
  bench_json_number(stdout, s->mbs_hi);
  printf(",\"us_mean\":");
  bench_json_number(stdout, s->us_mean);
  printf(",\"mb_s_cpu\":");
  bench_json_number(stdout, s->mbs_cpu);
  printf(",\"cpu_share\":");
  bench_json_number(stdout, s->cpu_share);
  json_kinds(s);
  json_cold(s);
}

static void print_json(const n_result *r, const opts *o, const corpus *c) {
  printf(
      "{\"what\":\"matcher\",\"terms\":%zu,\"terms_from_rules\":%zu,\"terms_from_dictionary\":%zu,"
      "\"terms_generated\":%zu,\"runs\":%d,\"seconds\":",
      r->n, r->from_rules, r->from_dict, r->generated, o->plan.runs);
  bench_json_number(stdout, o->plan.seconds);
  printf(",\"corpus_bytes\":%zu,\"items\":%zu,\"compile_ms\":", c->fold_bytes[0] + c->fold_bytes[1],
         c->n);
  bench_json_number(stdout, r->compile_ms);
  printf(",\"add_ms\":");
  bench_json_number(stdout, r->add_ms);
  printf(",\"rules_compile_ms\":");
  bench_json_number(stdout, r->rules_ms);
  printf(",\"memory_bytes\":%zu,\"matches\":%zu,", r->memory, r->matches);
  json_scan(&r->scan);
  printf(",\"hyperscan\":");
  if (!r->hs) {
    printf("null");
  } else {
#if NF_HAVE_HS
    printf("{\"version\":");
    bench_json_string(stdout, hs_version());
#else
    printf("{\"version\":null");
#endif
    printf(",\"compile_ms\":");
    bench_json_number(stdout, r->hs_compile_ms);
    printf(",\"database_bytes\":%zu,\"scratch_bytes\":%zu,\"matches\":%zu,", r->hs_db,
           r->hs_scratch, r->hs_matches);
    json_scan(&r->hs_scan);
    printf(",\"ratio_mb_s\":");
    bench_json_number(stdout, r->scan.mbs / r->hs_scan.mbs);
    printf(",\"note\":");
    bench_json_string(stdout, hs_note);
    printf("}");
  }
  printf("}\n");
}

/* ---- the subcommand ------------------------------------------------------- */

static void parse_opts(opts *o, int argc, char **argv) {
  enum { O_TERMS = 256, O_SECONDS, O_RUNS, O_COLD, O_DENSE, O_CORPUS, O_JSON, O_NO_HS, O_PRINT };
  static const struct option lo[] = {{"terms", required_argument, 0, O_TERMS},
                                     {"seconds", required_argument, 0, O_SECONDS},
                                     {"runs", required_argument, 0, O_RUNS},
                                     {"cold", optional_argument, 0, O_COLD},
                                     {"dense", required_argument, 0, O_DENSE},
                                     {"corpus", required_argument, 0, O_CORPUS},
                                     {"json", no_argument, 0, O_JSON},
                                     {"no-hyperscan", no_argument, 0, O_NO_HS},
                                     {"print-terms", no_argument, 0, O_PRINT},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};
  *o = (opts){.plan = {.seconds = 2, .runs = 5}};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
    switch (c) {
    case O_TERMS: {
      long long n = nf_parse_count(PROG, "--terms", optarg);
      if (n < 1 || n > 10000000) nf_die(PROG, 2, "--terms: expected 1..10000000, not '%s'", optarg);
      if (o->n_terms == MAX_N) nf_die(PROG, 2, "at most %d --terms", MAX_N);
      o->terms[o->n_terms++] = (size_t)n;
      break;
    }
    case O_SECONDS: {
      char *end;
      o->plan.seconds = strtod(optarg, &end);
      if (!*optarg || *end || !(o->plan.seconds > 0) || o->plan.seconds > 3600)
        nf_die(PROG, 2, "--seconds: expected a number of seconds > 0, not '%s'", optarg);
      break;
    }
    case O_RUNS: {
      long long n = nf_parse_count(PROG, "--runs", optarg);
      if (n < 1 || n > 1000) nf_die(PROG, 2, "--runs: expected 1..1000, not '%s'", optarg);
      o->plan.runs = (int)n;
      break;
    }
    case O_COLD: {
      long long n = optarg ? nf_parse_count(PROG, "--cold", optarg) : 8;
      if (n < 1 || n > 4096) nf_die(PROG, 2, "--cold: expected 1..4096 MiB, not '%s'", optarg);
      o->plan.cold_mib = (size_t)n;
      break;
    }
    case O_DENSE: {
      long long n = nf_parse_count(PROG, "--dense", optarg);
      if (n < 1 || n > (1 << 20))
        nf_die(PROG, 2, "--dense: expected 1..1048576 KiB, not '%s'", optarg);
      o->dense_kib = (size_t)n;
      break;
    }
    case O_CORPUS:
      o->corpus = optarg;
      break;
    case O_JSON:
      o->json = true;
      break;
    case O_NO_HS:
      o->no_hs = true;
      break;
    case O_PRINT:
      o->print_terms = true;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case ':':
      nf_die(PROG, 2, "%s needs a value", argv[optind - 1]);
    default:
      nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind < argc) nf_die(PROG, 2, "unexpected argument '%s' (see --help)", argv[optind]);
  if (o->n_terms == 0) {
    o->terms[0] = 1000;
    o->terms[1] = 10000;
    o->terms[2] = 100000;
    o->n_terms = 3;
  }
}

int nf_bench_tag(int argc, char **argv) {
  opts o;
  parse_opts(&o, argc, argv);
  setvbuf(stdout, NULL, _IOLBF, 0);
  o.plan.clock_cost = bench_clock_overhead();

  source src = {0};
  tc_load_source(&src, o.corpus);
  vocab voc = {0};
  tc_build_vocab(&voc, &src);
  termset seeds = {0};
  size_t n_rules = tc_load_seeds(&seeds);
  uint32_t *perm_r = tc_permutation(n_rules, SEED ^ 1),
           *perm_d = tc_permutation(seeds.n - n_rules, SEED ^ 2);
  if (o.print_terms) {
    for (size_t i = 0; i < o.n_terms; i++) {
      termlist tl;
      tc_make_terms(&tl, o.terms[i], &seeds, n_rules, perm_r, perm_d, &voc);
      for (size_t k = 0; k < tl.ts.n; k++) puts(tc_ts_str(&tl.ts, k));
      tc_ts_free(&tl.ts);
    }
    free(perm_r);
    free(perm_d);
    tc_ts_free(&seeds);
    tc_free_vocab(&voc);
    tc_free_source(&src);
    return 0;
  }
  corpus c = {0};
  tc_build_corpus(&c, &src);

  /* folding, as the tagger does it before matching */
  fold_work fw = {bench_xmalloc(c.max_field + 1)};
  result fold;
  tm_measure(&c, &o.plan, false, work_fold, &fw, &fold);
  free(fw.out);

  bench_machine mach;
  bench_machine_get(&mach);
  size_t raw = c.raw_bytes[0] + c.raw_bytes[1];
  if (!o.json) {
    printf("newsfeed-bench tag: %zu items, %.1f MB (%zu flashes of 100-300 B, %.1f MB; %zu "
           "articles of 2-20 KB, %.1f MB); %.0f%% Chinese items\n",
           c.n, (double)raw / 1e6, c.n_kind[K_FLASH], (double)c.raw_bytes[K_FLASH] / 1e6,
           c.n_kind[K_ARTICLE], (double)c.raw_bytes[K_ARTICLE] / 1e6,
           100.0 * (double)c.zh_items / (double)c.n);
    printf("seed terms: %zu from the default rules, %zu dictionary names; corpus vocabulary: %zu "
           "CJK characters, %zu English words\n",
           n_rules, seeds.n - n_rules, voc.n_cjk, voc.words.n);
    printf("machine: %s, %ld CPUs, %.1f GiB RAM; medians of %d runs of >= %g s each; "
           "clock cost %.0f ns (subtracted from per-item times)\n",
           mach.cpu, mach.nproc, mach.ram_gib, o.plan.runs, o.plan.seconds,
           o.plan.clock_cost * 1e9);
    printf("fold (width + case), raw text: %.0f MB/s (%.0f per second of CPU time); flash %.3f "
           "µs, article %.2f µs\n",
           fold.mbs, fold.mbs_cpu, fold.k[K_FLASH].us_mean, fold.k[K_ARTICLE].us_mean);
#if NF_HAVE_HS
    if (!o.no_hs) printf("hyperscan %s\n", hs_version());
#else
    printf("hyperscan: not built in (install libhyperscan-dev and reconfigure)\n");
#endif
  }

  for (size_t i = 0; i < o.n_terms; i++) {
    termlist tl;
    tc_make_terms(&tl, o.terms[i], &seeds, n_rules, perm_r, perm_d, &voc);
    n_result nr;
    bench_n(&o, &c, &tl, &nr);
    if (o.json) print_json(&nr, &o, &c);
    else print_text(&nr);
    tc_ts_free(&tl.ts);
  }

  /* the tagger end to end, default rules */
  nf_rules *rules;
  char err[512];
  double t0 = bench_now();
  if (nf_rules_load_builtin(&rules, err, sizeof err) < 0) nf_die(PROG, 1, "%s", err);
  double rules_ms = (bench_now() - t0) * 1e3;
  size_t topics = nf_rules_topics(rules), terms = nf_rules_terms(rules);
  tag_work tw = {.t = nf_tagger_new(rules), .src = &src};
  if (!tw.t) nf_die(PROG, 1, "out of memory");
  result tag;
  tm_measure(&c, &o.plan, false, work_tag, &tw, &tag);
  tw.topics = tw.failed = 0;
  tm_one_pass(&c, work_tag, &tw);
  if (tw.failed) fprintf(stderr, "%s: %zu items failed to tag\n", PROG, tw.failed);
  double topics_per_item = (double)tw.topics / (double)c.n;
  nf_tagger_free(tw.t);

  if (o.json) {
    printf("{\"what\":\"tagger\",\"rules\":\"default\",\"topics\":%zu,\"rule_terms\":%zu,"
           "\"rules_load_ms\":",
           topics, terms);
    bench_json_number(stdout, rules_ms);
    printf(",\"corpus_bytes\":%zu,\"items\":%zu,\"topics_per_item\":", raw, c.n);
    bench_json_number(stdout, topics_per_item);
    printf(",");
    json_scan(&tag);
    printf(",\"fold\":{");
    json_scan(&fold);
    printf("},\"machine\":{\"cpu\":");
    bench_json_string(stdout, mach.cpu);
    printf(",\"nproc\":%ld,\"ram_gib\":", mach.nproc);
    bench_json_number(stdout, mach.ram_gib);
    printf("}}\n");
  } else {
    printf("\n== tagger end to end: nf_tag_item, default rules (%zu topics, %zu terms, and "
           "the dictionary; built in %.0f ms) ==\n",
           topics, terms, rules_ms);
    printf("%-10s %10s %10s %10s %10s\n", "", "MB/s", "µs mean", "µs p50", "µs p99");
    for (int k = 0; k < NKINDS; k++)
      printf("%-10s %10.0f %10.2f %10.2f %10.2f\n", kind_names[k], tag.k[k].mbs, tag.k[k].us_mean,
             tag.k[k].us_p50, tag.k[k].us_p99);
    printf("%-10s %10.0f %10.2f\n", "all", tag.mbs, tag.us_mean);
    printf("(raw text bytes; %.2f topics per item; %.0f MB per second of CPU time, CPU share "
           "%.2f)\n",
           topics_per_item, tag.mbs_cpu, tag.cpu_share);
  }

  tc_free_corpus(&c);
  free(perm_r);
  free(perm_d);
  tc_ts_free(&seeds);
  tc_free_vocab(&voc);
  tc_free_source(&src);
  return 0;
}
