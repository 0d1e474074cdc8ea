/*
 * bench_matcher.c -- micro-benchmark for src/tag/matcher.c (not a test).
 *
 *   bench_matcher N [zipf] [dense_limit_bytes]
 *
 * Builds N random-ish terms (half ASCII words of 2-12 letters, half CJK
 * words of 2-4 characters drawn from a pool of 3500 ideographs), compiles
 * them, and scans 16 MB of folded mixed text: runs of CJK characters from
 * the same pool, English words, digits, punctuation, with some of the
 * terms planted in it.  Prints compile time, memory, scan throughput (best
 * of several runs; the whole text at once, and as 2 KiB / 8 KiB items)
 * and the number of matches.
 *
 * By default text words are random letter strings and CJK characters
 * nearly uniform: a harsh case, since every short letter sequence is then
 * a prefix of some term and the automaton wanders deep all the time.  With
 * "zipf", text words come from a 5000-word vocabulary and characters from
 * the pool, both with Zipf frequencies, like real text (term characters
 * stay uniform).
 *
 * Build: cc -std=c11 -O2 -Isrc/tag src/tag/matcher.c
 *           tests/unit/bench_matcher.c -o bench_matcher
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "matcher.h"

#define TEXT_BYTES ((size_t)16 << 20)
#define CJK_POOL 3500

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Writes the UTF-8 of a pool character; pool entries are spread over the
 * CJK block so that lead and continuation bytes vary like real text.
 * Lower indices are more frequent (roughly Zipf-like). */
static size_t put_cjk(char *o, uint32_t idx) {
  uint32_t cp = 0x4E00 + (idx * 5u) % 0x51A0;
  o[0] = (char)(0xE0 | (cp >> 12));
  o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[2] = (char)(0x80 | (cp & 0x3F));
  return 3;
}

/* Zipf sampling: cumulative weights 1/rank, searched by bisection. */
typedef struct zipf {
  double *cum;
  size_t n;
} zipf;

static int zipf_init(zipf *z, size_t n) {
  z->cum = malloc(n * sizeof(double));
  z->n = n;
  if (!z->cum) return -1;
  double acc = 0;
  for (size_t i = 0; i < n; i++) z->cum[i] = acc += 1.0 / (double)(i + 1);
  return 0;
}

static size_t zipf_draw(const zipf *z) {
  double x = rnd() / 4294967296.0 * z->cum[z->n - 1];
  size_t lo = 0, hi = z->n - 1;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (z->cum[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static int zipf_mode;
static zipf zchars, zwords;
static char vocab[5000][10];
static size_t vocab_len[5000];

/* A character for the text, or (TERM) for a term.  In zipf mode terms use
 * the pool uniformly: names and keywords are not made of the most common
 * characters of running text. */
static uint32_t skewed_char(int term) {
  if (zipf_mode) return term ? rnd() % CJK_POOL : (uint32_t)zipf_draw(&zchars);
  uint32_t a = rnd() % CJK_POOL, b = rnd() % CJK_POOL;
  return a < b ? a : b; /* favours small indices, mildly */
}

static size_t make_term(char *o) {
  if (rnd() % 2) {
    size_t len = 2 + rnd() % 11;
    for (size_t i = 0; i < len; i++) o[i] = (char)('a' + rnd() % 26);
    return len;
  }
  size_t chars = 2 + rnd() % 3, n = 0;
  for (size_t i = 0; i < chars; i++) n += put_cjk(o + n, skewed_char(1));
  return n;
}

typedef struct termset {
  char (*s)[16];
  size_t *len;
  size_t n;
} termset;

static char *make_text(const termset *ts) {
  char *t = malloc(TEXT_BYTES + 64);
  if (!t) return NULL;
  size_t n = 0;
  while (n < TEXT_BYTES) {
    uint32_t kind = rnd() % 100;
    if (kind < 2 && ts->n) { /* a planted term */
      size_t k = rnd() % ts->n;
      memcpy(t + n, ts->s[k], ts->len[k]);
      n += ts->len[k];
    } else if (kind < 60) { /* CJK run */
      size_t chars = 1 + rnd() % 12;
      for (size_t i = 0; i < chars; i++) n += put_cjk(t + n, skewed_char(0));
    } else if (kind < 85) { /* English word */
      if (zipf_mode) {
        size_t w = zipf_draw(&zwords);
        memcpy(t + n, vocab[w], vocab_len[w]);
        n += vocab_len[w];
      } else {
        size_t len = 1 + rnd() % 9;
        for (size_t i = 0; i < len; i++) t[n++] = (char)('a' + rnd() % 26);
      }
      t[n++] = ' ';
    } else if (kind < 92) { /* number */
      size_t len = 1 + rnd() % 6;
      for (size_t i = 0; i < len; i++) t[n++] = (char)('0' + rnd() % 10);
    } else { /* punctuation, ASCII after folding */
      t[n++] = ",.;:()!? "[rnd() % 9];
    }
  }
  return t;
}

static int count(void *ctx, uint32_t value, size_t start, size_t end) {
  (void)value;
  (void)start;
  (void)end;
  (*(size_t *)ctx)++;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s N [zipf] [dense_limit_bytes]\n", argv[0]);
    return 2;
  }
  size_t nterms = strtoul(argv[1], NULL, 10);
  int arg = 2;
  if (argc > arg && strcmp(argv[arg], "zipf") == 0) {
    zipf_mode = 1;
    arg++;
  }
  if (zipf_init(&zchars, CJK_POOL) || zipf_init(&zwords, 5000)) return 1;
  for (size_t w = 0; w < 5000; w++) {
    vocab_len[w] = 1 + rnd() % 9;
    for (size_t i = 0; i < vocab_len[w]; i++) vocab[w][i] = (char)('a' + rnd() % 26);
  }
  termset ts = {malloc(nterms * sizeof(*ts.s) + 1), malloc(nterms * sizeof(size_t) + 1), nterms};
  if (!ts.s || !ts.len) return 1;
  for (size_t k = 0; k < nterms; k++) ts.len[k] = make_term(ts.s[k]);
  char *text = make_text(&ts);
  nf_matcher *m = nf_matcher_new();
  if (!text || !m) return 1;
  if (argc > arg) nf_matcher_set_dense_limit(m, strtoul(argv[arg], NULL, 10));
  for (size_t k = 0; k < nterms; k++) nf_matcher_add(m, ts.s[k], ts.len[k], (uint32_t)k);

  double t0 = now();
  if (nf_matcher_compile(m) != 0) {
    fprintf(stderr, "compile failed\n");
    return 1;
  }
  double compile = now() - t0;

  double best = 1e9;
  size_t matches = 0;
  for (int run = 0; run < 10; run++) {
    size_t c = 0;
    t0 = now();
    nf_matcher_scan(m, text, TEXT_BYTES, count, &c);
    double dt = now() - t0;
    if (dt < best) best = dt;
    matches = c;
  }
  /* The daemon scans one news item at a time: the same text as items. */
  double best_items[2] = {1e9, 1e9};
  static const size_t item_sizes[2] = {2048, 8192};
  for (int s = 0; s < 2; s++) {
    for (int run = 0; run < 5; run++) {
      size_t c = 0;
      t0 = now();
      for (size_t off = 0; off < TEXT_BYTES; off += item_sizes[s])
        nf_matcher_scan(m, text + off, item_sizes[s], count, &c);
      double dt = now() - t0;
      if (dt < best_items[s]) best_items[s] = dt;
    }
  }
  printf("%s terms=%zu compile=%.1f ms memory=%.2f MiB scan=%.0f MB/s "
         "(16 MiB in %.1f ms; as 2 KiB items %.0f MB/s, 8 KiB items "
         "%.0f MB/s) matches=%zu\n",
         zipf_mode ? "zipf" : "harsh", nterms, compile * 1e3, nf_matcher_memory(m) / 1048576.0,
         TEXT_BYTES / best / 1e6, best * 1e3, TEXT_BYTES / best_items[0] / 1e6,
         TEXT_BYTES / best_items[1] / 1e6, matches);
  nf_matcher_free(m);
  free(text);
  free(ts.s);
  free(ts.len);
  free(zchars.cum);
  free(zwords.cum);
  return 0;
}
