/*
 * bench_matcher.c -- micro-benchmark for src/tag/matcher.c (not a test).
 *
 *   bench_matcher N [dense_limit_bytes]
 *
 * Builds N random-ish terms (half ASCII words of 2-12 letters, half CJK
 * words of 2-4 characters drawn from a pool of common-range ideographs),
 * compiles them, and scans 16 MB of folded mixed text: runs of CJK
 * characters from the same pool, English words, digits, punctuation, with
 * some of the terms planted in it.  Prints compile time, memory, scan
 * throughput (best of several runs) and the number of matches.
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

static uint32_t skewed_char(void) {
  uint32_t a = rnd() % CJK_POOL, b = rnd() % CJK_POOL;
  return a < b ? a : b; /* favours small indices */
}

static size_t make_term(char *o) {
  if (rnd() % 2) {
    size_t len = 2 + rnd() % 11;
    for (size_t i = 0; i < len; i++) o[i] = (char)('a' + rnd() % 26);
    return len;
  }
  size_t chars = 2 + rnd() % 3, n = 0;
  for (size_t i = 0; i < chars; i++) n += put_cjk(o + n, skewed_char());
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
      for (size_t i = 0; i < chars; i++) n += put_cjk(t + n, skewed_char());
    } else if (kind < 85) { /* English word */
      size_t len = 1 + rnd() % 9;
      for (size_t i = 0; i < len; i++) t[n++] = (char)('a' + rnd() % 26);
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
    fprintf(stderr, "usage: %s N [dense_limit_bytes]\n", argv[0]);
    return 2;
  }
  size_t nterms = strtoul(argv[1], NULL, 10);
  termset ts = {malloc(nterms * sizeof(*ts.s) + 1),
                malloc(nterms * sizeof(size_t) + 1), nterms};
  if (!ts.s || !ts.len) return 1;
  for (size_t k = 0; k < nterms; k++) ts.len[k] = make_term(ts.s[k]);
  char *text = make_text(&ts);
  nf_matcher *m = nf_matcher_new();
  if (!text || !m) return 1;
  if (argc > 2) nf_matcher_set_dense_limit(m, strtoul(argv[2], NULL, 10));
  for (size_t k = 0; k < nterms; k++)
    nf_matcher_add(m, ts.s[k], ts.len[k], (uint32_t)k);

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
  printf("terms=%zu compile=%.1f ms memory=%.2f MiB scan=%.0f MB/s "
         "(16 MiB in %.1f ms) matches=%zu\n",
         nterms, compile * 1e3, nf_matcher_memory(m) / 1048576.0,
         TEXT_BYTES / best / 1e6, best * 1e3, matches);
  nf_matcher_free(m);
  free(text);
  free(ts.s);
  free(ts.len);
  return 0;
}
