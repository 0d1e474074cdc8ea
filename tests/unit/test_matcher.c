/*
 * test_matcher.c -- unit tests for src/tag/matcher.c.
 *
 * Hand-written cases pin down the matching rules; a randomized cross-check
 * (fixed seed) compares the automaton against a naive reference over a
 * small alphabet that mixes ASCII letters, digits, separators, UTF-8 bytes
 * and NUL, once with the default dense budget and once with budgets small
 * enough to push most states into the sparse tier.
 *
 * The matcher has two engines (the automaton, and the prefilter of
 * matcher_pre.c that big term sets get); every test runs once with each
 * forced, and the prefilter's own edges (probe lengths, word probes,
 * 64-byte blocks, the byte classes of its SSE2 pass, the queue overflow
 * fallback) have tests of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "matcher.h"
#include "matcher_impl.h"

/* The engine every matcher of the running group gets. */
static int engine = NF__ENGINE_AC;

static nf_matcher *fresh(void) {
  nf_matcher *m = nf_matcher_new();
  if (m) assert_int_equal(nf__matcher_set_engine(m, engine), 0);
  return m;
}

typedef struct hit {
  uint32_t value;
  size_t start, end;
} hit;

typedef struct hits {
  hit *v;
  size_t n, cap;
  size_t stop_after; /* 0 = never stop */
} hits;

static int collect(void *ctx, uint32_t value, size_t start, size_t end) {
  hits *h = ctx;
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 16;
    h->v = realloc(h->v, h->cap * sizeof(hit));
    assert_non_null(h->v);
  }
  h->v[h->n++] = (hit){value, start, end};
  return h->stop_after && h->n >= h->stop_after;
}

/* Scans TEXT (LEN bytes, copied to an exact-size buffer) and returns the
 * hits; the caller frees h.v. */
static hits scan_n(const nf_matcher *m, const char *text, size_t len) {
  hits h = {0};
  char *buf = malloc(len ? len : 1);
  assert_non_null(buf);
  memcpy(buf, text, len);
  nf_matcher_scan(m, buf, len, collect, &h);
  free(buf);
  return h;
}

static nf_matcher *make(const char *const *terms, size_t dense_limit) {
  nf_matcher *m = fresh();
  assert_non_null(m);
  if (dense_limit != (size_t)-1) assert_int_equal(nf_matcher_set_dense_limit(m, dense_limit), 0);
  for (uint32_t i = 0; terms[i]; i++)
    assert_int_equal(nf_matcher_add(m, terms[i], strlen(terms[i]), i + 1), 0);
  assert_int_equal(nf_matcher_compile(m), 0);
  return m;
}

/* Expected hits as (value, start, end) triples, in report order. */
static void expect_hits(const nf_matcher *m, const char *text, const hit *want, size_t nwant) {
  hits h = scan_n(m, text, strlen(text));
  if (h.n != nwant) {
    for (size_t k = 0; k < h.n; k++)
      print_error("hit v=%u [%zu,%zu)\n", h.v[k].value, h.v[k].start, h.v[k].end);
    fail_msg("\"%s\": %zu hits, want %zu", text, h.n, nwant);
  }
  for (size_t k = 0; k < nwant; k++) {
    if (h.v[k].value != want[k].value || h.v[k].start != want[k].start || h.v[k].end != want[k].end)
      fail_msg("\"%s\": hit %zu is v=%u [%zu,%zu), want v=%u [%zu,%zu)", text, k, h.v[k].value,
               h.v[k].start, h.v[k].end, want[k].value, want[k].start, want[k].end);
  }
  free(h.v);
}

#define HITS(m, text, ...)                                                                         \
  do {                                                                                             \
    static const hit want_[] = {__VA_ARGS__};                                                      \
    expect_hits(m, text, want_, sizeof(want_) / sizeof(hit));                                      \
  } while (0)
#define NOHITS(m, text) expect_hits(m, text, NULL, 0)

/* Every fixed test runs with the default budget and with a budget so
 * small that only the root row is dense. */
static const size_t limits[] = {(size_t)-1, 0, 64};
#define NLIMITS (sizeof(limits) / sizeof(limits[0]))

static void test_basic(void **state) {
  (void)state;
  static const char *terms[] = {"apple", "中国", "bank", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms, limits[l]);
    assert_int_equal(nf_matcher_terms(m), 3);
    HITS(m, "i like apple in 中国 bank", {1, 7, 12}, {2, 16, 22}, {3, 23, 27});
    NOHITS(m, "i like apples");
    NOHITS(m, "nothing here");
    NOHITS(m, "");
    nf_matcher_free(m);
  }
}

static void test_overlapping(void **state) {
  (void)state;
  static const char *terms[] = {"he", "she", "hers", "his", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms, limits[l]);
    /* Inside one ASCII word the boundary rule leaves only whole words. */
    NOHITS(m, "ushers");
    HITS(m, "she", {2, 0, 3});
    HITS(m, "hers his", {3, 0, 4}, {4, 5, 8});
    /* Next to CJK every ASCII end is on a boundary. */
    HITS(m, "她she们", {2, 3, 6});
    nf_matcher_free(m);
  }
  /* The classic overlaps, with ends that are not letters. */
  static const char *terms2[] = {"she-", "-he", "-hers", "he", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms2, limits[l]);
    HITS(m, "she-hers", {1, 0, 4}, {3, 3, 8});
    HITS(m, "she-he", {1, 0, 4}, {2, 3, 6}, {4, 4, 6});
    nf_matcher_free(m);
  }
}

static void test_overlapping_cjk(void **state) {
  (void)state;
  /* CJK terms are plain substrings: every overlap is reported. */
  static const char *terms[] = {"他", "她", "她们", "们的", "他们的", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms, limits[l]);
    HITS(m, "她们的他们的", {2, 0, 3}, {3, 0, 6}, {4, 3, 9}, {1, 9, 12}, {5, 9, 18}, {4, 12, 18});
    nf_matcher_free(m);
  }
}

static void test_cjk_substrings(void **state) {
  (void)state;
  static const char *terms[] = {"中国", "国人", "中国人民", "人民银行", "银", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms, limits[l]);
    HITS(m, "中国人民银行", {1, 0, 6}, {2, 3, 9}, {3, 0, 12}, {5, 12, 15}, {4, 6, 18});
    NOHITS(m, "中人国");
    nf_matcher_free(m);
  }
}

static void test_word_boundaries(void **state) {
  (void)state;
  static const char *terms[] = {"ai", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms, limits[l]);
    NOHITS(m, "said");
    NOHITS(m, "maintain");
    NOHITS(m, "aim");
    NOHITS(m, "2ai");
    NOHITS(m, "ai9");
    HITS(m, "ai", {1, 0, 2});
    HITS(m, "ai-driven", {1, 0, 2});
    HITS(m, "use ai.", {1, 4, 6});
    HITS(m, "(ai)", {1, 1, 3});
    HITS(m, "ai芯片", {1, 0, 2});
    HITS(m, "中国ai", {1, 6, 8});
    HITS(m, "ai ai", {1, 0, 2}, {1, 3, 5});
    HITS(m, "aai ai", {1, 4, 6});
    nf_matcher_free(m);
  }
}

static void test_latin_then_cjk(void **state) {
  (void)state;
  static const char *terms[] = {"a股", "股a", "5g手机", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms, limits[l]);
    HITS(m, "港a股", {1, 3, 7});
    HITS(m, "a股", {1, 0, 4});
    HITS(m, "a股x", {1, 0, 4}); /* the CJK end needs no boundary */
    NOHITS(m, "ba股");
    NOHITS(m, "1a股");
    HITS(m, "股a,", {2, 0, 4});
    NOHITS(m, "股ab");
    HITS(m, "港a股a", {1, 3, 7}, {2, 4, 8});
    HITS(m, "新5g手机", {3, 3, 11});
    NOHITS(m, "x5g手机");
    nf_matcher_free(m);
  }
}

static void test_duplicates(void **state) {
  (void)state;
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = fresh();
    assert_non_null(m);
    if (limits[l] != (size_t)-1) nf_matcher_set_dense_limit(m, limits[l]);
    assert_int_equal(nf_matcher_add(m, "foo", 3, 7), 0);
    assert_int_equal(nf_matcher_add(m, "bar", 3, 8), 0);
    assert_int_equal(nf_matcher_add(m, "foo", 3, 9), 0);
    assert_int_equal(nf_matcher_add(m, "foo", 3, 7), 0);
    assert_int_equal(nf_matcher_terms(m), 4);
    assert_int_equal(nf_matcher_compile(m), 0);
    HITS(m, "foo bar", {7, 0, 3}, {9, 0, 3}, {7, 0, 3}, {8, 4, 7});
    nf_matcher_free(m);
  }
}

static void test_one_byte_terms(void **state) {
  (void)state;
  static const char *terms[] = {"a", ",", "\xE4", NULL};
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = make(terms, limits[l]);
    HITS(m, "a b ab,a", {1, 0, 1}, {2, 6, 7}, {1, 7, 8});
    HITS(m, "中,", {3, 0, 1}, {2, 3, 4});
    nf_matcher_free(m);
  }
}

static void test_term_lengths(void **state) {
  (void)state;
  char t255[256], t256[257], text[300];
  memset(t255, 'x', 255);
  t255[254] = '!';
  memset(t256, 'y', 256);
  nf_matcher *m = fresh();
  assert_non_null(m);
  assert_int_equal(nf_matcher_add(m, t255, 255, 1), 0);
  assert_int_equal(nf_matcher_add(m, t256, 256, 2), -1);
  assert_int_equal(nf_matcher_add(m, "x", 0, 3), -1);
  assert_int_equal(nf_matcher_add(m, NULL, 1, 4), -1);
  assert_int_equal(nf_matcher_add(NULL, "x", 1, 4), -1);
  assert_int_equal(nf_matcher_terms(m), 1);
  assert_int_equal(nf_matcher_compile(m), 0);
  text[0] = ' ';
  memcpy(text + 1, t255, 255);
  text[256] = ' ';
  hits h = scan_n(m, text, 257);
  assert_int_equal(h.n, 1);
  assert_int_equal(h.v[0].start, 1);
  assert_int_equal(h.v[0].end, 256);
  free(h.v);
  h = scan_n(m, text + 1, 254); /* one byte short */
  assert_int_equal(h.n, 0);
  free(h.v);
  nf_matcher_free(m);
}

static void test_lifecycle(void **state) {
  (void)state;
  nf_matcher *m = fresh();
  assert_non_null(m);
  assert_int_equal(nf_matcher_add(m, "abc", 3, 1), 0);
  assert_int_equal(nf_matcher_compile(m), 0);
  assert_int_equal(nf_matcher_compile(m), 0); /* idempotent */
  assert_int_equal(nf_matcher_add(m, "def", 3, 2), -1);
  assert_int_equal(nf_matcher_set_dense_limit(m, 0), -1);
  assert_int_equal(nf_matcher_terms(m), 1);
  assert_true(nf_matcher_memory(m) > 0);
  NOHITS(m, "def");
  HITS(m, "abc", {1, 0, 3});
  nf_matcher_scan(m, NULL, 0, collect, NULL); /* no text: no call */
  nf_matcher_free(m);
  nf_matcher_free(NULL);

  /* No terms at all. */
  m = fresh();
  assert_non_null(m);
  assert_int_equal(nf_matcher_compile(m), 0);
  assert_int_equal(nf_matcher_terms(m), 0);
  NOHITS(m, "anything");
  NOHITS(m, "");
  nf_matcher_free(m);

  /* Scan before compile finds nothing rather than crashing. */
  m = fresh();
  assert_non_null(m);
  assert_int_equal(nf_matcher_add(m, "abc", 3, 1), 0);
  NOHITS(m, "abc");
  nf_matcher_free(m);
}

static void test_invalid_utf8_and_nul(void **state) {
  (void)state;
  nf_matcher *m = fresh();
  assert_non_null(m);
  assert_int_equal(nf_matcher_add(m, "ai", 2, 1), 0);
  assert_int_equal(nf_matcher_add(m, "\0x", 2, 2), 0);
  assert_int_equal(nf_matcher_add(m, "\xFF\xFE", 2, 3), 0);
  assert_int_equal(nf_matcher_add(m, "中", 3, 4), 0);
  assert_int_equal(nf_matcher_compile(m), 0);
  hits h = scan_n(m, "\0ai\0x\xFF\xFE\xE4\xB8", 9);
  assert_int_equal(h.n, 3);
  assert_int_equal(h.v[0].value, 1);
  assert_int_equal(h.v[1].value, 2);
  assert_int_equal(h.v[1].start, 3);
  assert_int_equal(h.v[2].value, 3);
  free(h.v);
  /* Truncated sequence right before a whole one. */
  h = scan_n(m, "\xE4\xB8\xE4\xB8\xAD", 5);
  assert_int_equal(h.n, 1);
  assert_int_equal(h.v[0].value, 4);
  assert_int_equal(h.v[0].start, 2);
  free(h.v);
  nf_matcher_free(m);
}

static void test_stop(void **state) {
  (void)state;
  static const char *terms[] = {"x", NULL};
  nf_matcher *m = make(terms, (size_t)-1);
  hits h = {0};
  h.stop_after = 2;
  nf_matcher_scan(m, "x x x x", 7, collect, &h);
  assert_int_equal(h.n, 2);
  free(h.v);
  nf_matcher_free(m);
}

/* ---------------------------------------------------------------------- */
/* Randomized cross-check                                                 */
/* ---------------------------------------------------------------------- */

static const char ALPHABET[] = {'a', 'b', 'c', '1', ' ', '-', '\xE4', '\xB8', '\0'};
#define NALPHA sizeof(ALPHABET)

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static int alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

typedef struct term {
  char s[48];
  size_t len;
} term;

/* The rule from matcher.h, checked the slow and obvious way. */
static void naive(const term *terms, size_t nt, const char *t, size_t len, hits *h) {
  const unsigned char *u = (const unsigned char *)t;
  for (size_t end = 1; end <= len; end++) {
    for (size_t k = 0; k < nt; k++) {
      size_t tl = terms[k].len;
      if (tl > end || memcmp(t + end - tl, terms[k].s, tl) != 0) continue;
      size_t start = end - tl;
      const unsigned char *ts = (const unsigned char *)terms[k].s;
      if (alnum(ts[0]) && start > 0 && alnum(u[start - 1])) continue;
      if (alnum(ts[tl - 1]) && end < len && alnum(u[end])) continue;
      collect(h, (uint32_t)k, start, end);
    }
  }
}

static int hit_cmp(const void *a, const void *b) {
  const hit *x = a, *y = b;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->value < y->value ? -1 : x->value > y->value;
}

static void cross_check_round(uint64_t *seed, size_t nterms, size_t ntexts) {
  term *terms = malloc(nterms * sizeof(term));
  assert_non_null(terms);
  for (size_t k = 0; k < nterms; k++) {
    terms[k].len = 1 + rnd(seed) % 6;
    for (size_t i = 0; i < terms[k].len; i++) terms[k].s[i] = ALPHABET[rnd(seed) % NALPHA];
  }
  nf_matcher *ms[NLIMITS];
  for (size_t l = 0; l < NLIMITS; l++) {
    ms[l] = fresh();
    assert_non_null(ms[l]);
    if (limits[l] != (size_t)-1) nf_matcher_set_dense_limit(ms[l], limits[l]);
    for (size_t k = 0; k < nterms; k++)
      assert_int_equal(nf_matcher_add(ms[l], terms[k].s, terms[k].len, (uint32_t)k), 0);
    assert_int_equal(nf_matcher_compile(ms[l]), 0);
  }
  for (size_t r = 0; r < ntexts; r++) {
    char text[200];
    size_t len = rnd(seed) % sizeof(text);
    for (size_t i = 0; i < len; i++) text[i] = ALPHABET[rnd(seed) % NALPHA];
    hits want = {0};
    naive(terms, nterms, text, len, &want);
    if (want.n) qsort(want.v, want.n, sizeof(hit), hit_cmp);
    for (size_t l = 0; l < NLIMITS; l++) {
      hits got = scan_n(ms[l], text, len);
      for (size_t k = 1; k < got.n; k++) assert_true(got.v[k - 1].end <= got.v[k].end);
      if (got.n) qsort(got.v, got.n, sizeof(hit), hit_cmp);
      assert_int_equal(got.n, want.n);
      for (size_t k = 0; k < want.n; k++) assert_int_equal(hit_cmp(&got.v[k], &want.v[k]), 0);
      free(got.v);
    }
    free(want.v);
  }
  for (size_t l = 0; l < NLIMITS; l++) nf_matcher_free(ms[l]);
  free(terms);
}

static void test_random_cross_check(void **state) {
  (void)state;
  uint64_t seed = 20250704;
  cross_check_round(&seed, 10, 300);
  cross_check_round(&seed, 200, 200);
  cross_check_round(&seed, 3000, 60);
}

/* Long texts go through the multi-lane scan (windows of slices scanned in
 * lockstep, later slices queueing their matches).  Compare it with the
 * naive reference, in order, for dense and sparse automata, with term
 * sets giving many matches (queues fill up) and few (they do not). */
static void long_text_round(uint64_t *seed, size_t nterms, size_t maxlen, size_t len,
                            const char *alphabet, size_t na) {
  term *terms = malloc(nterms * sizeof(term));
  char *text = malloc(len);
  assert_non_null(terms);
  assert_non_null(text);
  for (size_t k = 0; k < nterms; k++) {
    terms[k].len = 1 + rnd(seed) % maxlen;
    for (size_t i = 0; i < terms[k].len; i++) terms[k].s[i] = alphabet[rnd(seed) % na];
  }
  for (size_t i = 0; i < len; i++) text[i] = alphabet[rnd(seed) % na];
  hits want = {0};
  naive(terms, nterms, text, len, &want);
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = fresh();
    assert_non_null(m);
    if (limits[l] != (size_t)-1) nf_matcher_set_dense_limit(m, limits[l]);
    for (size_t k = 0; k < nterms; k++)
      assert_int_equal(nf_matcher_add(m, terms[k].s, terms[k].len, (uint32_t)k), 0);
    assert_int_equal(nf_matcher_compile(m), 0);
    hits got = scan_n(m, text, len);
    /* Same multiset, and ends never go backwards. */
    for (size_t k = 1; k < got.n; k++) assert_true(got.v[k - 1].end <= got.v[k].end);
    assert_int_equal(got.n, want.n);
    hit *sorted = malloc((got.n ? got.n : 1) * sizeof(hit));
    assert_non_null(sorted);
    if (got.n) memcpy(sorted, got.v, got.n * sizeof(hit));
    if (got.n) qsort(sorted, got.n, sizeof(hit), hit_cmp);
    hit *w = malloc((want.n ? want.n : 1) * sizeof(hit));
    assert_non_null(w);
    if (want.n) memcpy(w, want.v, want.n * sizeof(hit));
    if (want.n) qsort(w, want.n, sizeof(hit), hit_cmp);
    for (size_t k = 0; k < want.n; k++) assert_int_equal(hit_cmp(&sorted[k], &w[k]), 0);
    /* Stopping half way gives exactly the first hits of a full scan. */
    if (got.n > 2) {
      hits part = {0};
      part.stop_after = got.n / 2;
      nf_matcher_scan(m, text, len, collect, &part);
      assert_int_equal(part.n, got.n / 2);
      for (size_t k = 0; k < part.n; k++) /* fields, not padding */
        assert_int_equal(hit_cmp(&part.v[k], &got.v[k]), 0);
      free(part.v);
    }
    free(sorted);
    free(w);
    free(got.v);
    nf_matcher_free(m);
  }
  free(want.v);
  free(terms);
  free(text);
}

static void test_long_texts(void **state) {
  (void)state;
  uint64_t seed = 99;
  /* Dense matches: every lane queue overflows. */
  long_text_round(&seed, 60, 4, 20000, ALPHABET, NALPHA);
  /* Sparse matches over a wider alphabet. */
  static const char wide[] = "abcdefghijklmnop 12-.\xE4\xB8\xAD";
  long_text_round(&seed, 300, 6, 50000, wide, sizeof(wide) - 1);
  /* Longer terms, so slices start well before their range. */
  long_text_round(&seed, 40, 7, 30001, wide, 3);
  /* Lengths around the first window size. */
  for (size_t len = 1500; len < 2600; len += 97)
    long_text_round(&seed, 30, 3, len, wide, sizeof(wide) - 1);
}

/* Texts from 64 bytes up are cut into 2, 4 or 8 slices of at least
 * max(32, longest term) bytes, scanned in lockstep, each lane from the
 * root; a lane goes on past its slice while a term that started in it may
 * still end there, and those matches are merged into the next lane's.
 * Check the exact report order (by end, longest first, then add order)
 * against the naive reference at every length across the thresholds, and
 * that stopping gives a prefix of it. */
static void exact_round(uint64_t *seed, size_t nterms, size_t maxlen, size_t len,
                        const char *alphabet, size_t na) {
  term *terms = malloc(nterms * sizeof(term));
  char *text = malloc(len + 1);
  assert_non_null(terms);
  assert_non_null(text);
  for (size_t k = 0; k < nterms; k++) {
    terms[k].len = 1 + rnd(seed) % maxlen;
    for (size_t i = 0; i < terms[k].len; i++) terms[k].s[i] = alphabet[rnd(seed) % na];
  }
  for (size_t i = 0; i < len; i++) text[i] = alphabet[rnd(seed) % na];
  hits want = {0};
  naive(terms, nterms, text, len, &want);
  if (want.n) qsort(want.v, want.n, sizeof(hit), hit_cmp);
  for (size_t l = 0; l < NLIMITS; l++) {
    nf_matcher *m = fresh();
    assert_non_null(m);
    if (limits[l] != (size_t)-1) nf_matcher_set_dense_limit(m, limits[l]);
    for (size_t k = 0; k < nterms; k++)
      assert_int_equal(nf_matcher_add(m, terms[k].s, terms[k].len, (uint32_t)k), 0);
    assert_int_equal(nf_matcher_compile(m), 0);
    hits got = scan_n(m, text, len);
    if (got.n != want.n) fail_msg("len %zu limit %zu: %zu hits, want %zu", len, l, got.n, want.n);
    for (size_t k = 0; k < want.n; k++)
      if (hit_cmp(&got.v[k], &want.v[k]))
        fail_msg("len %zu limit %zu: hit %zu is v=%u [%zu,%zu), want v=%u [%zu,%zu)", len, l, k,
                 got.v[k].value, got.v[k].start, got.v[k].end, want.v[k].value, want.v[k].start,
                 want.v[k].end);
    if (got.n > 1) {
      hits part = {0};
      part.stop_after = 1 + rnd(seed) % (got.n - 1);
      nf_matcher_scan(m, text, len, collect, &part);
      assert_int_equal(part.n, part.stop_after);
      for (size_t k = 0; k < part.n; k++) assert_int_equal(hit_cmp(&part.v[k], &got.v[k]), 0);
      free(part.v);
    }
    free(got.v);
    nf_matcher_free(m);
  }
  free(want.v);
  free(terms);
  free(text);
}

static void test_short_text_lanes(void **state) {
  (void)state;
  uint64_t seed = 31337;
  static const char wide[] = "ab1 .\xE4\xB8";
  /* Short terms (slices of 32 bytes): every length up to 8 slices + 1. */
  for (size_t len = 0; len < 300; len++) exact_round(&seed, 40, 5, len, ALPHABET, NALPHA);
  /* Long terms over few letters: deep states at the slice ends, so the
   * extensions run long; the longest term sets the slice size. */
  for (size_t len = 60; len < 700; len += 7) exact_round(&seed, 60, 40, len, wide, 3);
  for (size_t len = 60; len < 700; len += 11) exact_round(&seed, 200, 12, len, wide, 7);
  /* Duplicates and nesting: "aaaa..." hits every term at every end. */
  for (size_t len = 60; len < 400; len += 13) exact_round(&seed, 12, 9, len, "a", 1);
}

/* Memory is reported, grows with the term set, and the dense budget
 * bounds the DFA part. */
static void test_memory(void **state) {
  (void)state;
  uint64_t seed = 7;
  nf_matcher *big = fresh(), *small = fresh();
  assert_non_null(big);
  assert_non_null(small);
  nf_matcher_set_dense_limit(small, 4096);
  for (uint32_t k = 0; k < 20000; k++) {
    char t[12];
    size_t len = 2 + rnd(&seed) % 10;
    for (size_t i = 0; i < len; i++) t[i] = (char)('a' + rnd(&seed) % 26);
    assert_int_equal(nf_matcher_add(big, t, len, k), 0);
    assert_int_equal(nf_matcher_add(small, t, len, k), 0);
  }
  assert_int_equal(nf_matcher_compile(big), 0);
  assert_int_equal(nf_matcher_compile(small), 0);
  size_t mb = nf_matcher_memory(big), ms = nf_matcher_memory(small);
  assert_true(ms < mb);
  assert_true(ms > 20000 * 8); /* at least the outputs */
  assert_true(mb < ((size_t)40 << 20));
  const char *text = "zz qwerty abc xyz hello world";
  hits a = scan_n(big, text, strlen(text)), b = scan_n(small, text, strlen(text));
  assert_int_equal(a.n, b.n);
  for (size_t k = 0; k < a.n; k++) assert_int_equal(hit_cmp(&a.v[k], &b.v[k]), 0);
  free(a.v);
  free(b.v);
  nf_matcher_free(big);
  nf_matcher_free(small);
}

/* ---------------------------------------------------------------------- */
/* The prefilter's edges                                                  */
/* ---------------------------------------------------------------------- */

/* Scans TEXT with a matcher of TERMS (current engine, default budget) and
 * checks the exact report order against the naive reference, and that
 * stopping after a few hits gives a prefix of it. */
static void expect_naive(const term *terms, size_t nt, const char *text, size_t len) {
  nf_matcher *m = fresh();
  assert_non_null(m);
  for (size_t k = 0; k < nt; k++)
    assert_int_equal(nf_matcher_add(m, terms[k].s, terms[k].len, (uint32_t)k), 0);
  assert_int_equal(nf_matcher_compile(m), 0);
  hits want = {0};
  naive(terms, nt, text, len, &want);
  if (want.n) qsort(want.v, want.n, sizeof(hit), hit_cmp);
  hits got = scan_n(m, text, len);
  if (got.n != want.n) fail_msg("len %zu: %zu hits, want %zu", len, got.n, want.n);
  for (size_t k = 0; k < want.n; k++)
    if (hit_cmp(&got.v[k], &want.v[k]))
      fail_msg("len %zu: hit %zu is v=%u [%zu,%zu), want v=%u [%zu,%zu)", len, k, got.v[k].value,
               got.v[k].start, got.v[k].end, want.v[k].value, want.v[k].start, want.v[k].end);
  for (size_t stop = 1; stop < got.n; stop = stop * 3 + 1) {
    hits part = {0};
    part.stop_after = stop;
    nf_matcher_scan(m, text, len, collect, &part);
    assert_int_equal(part.n, stop);
    for (size_t k = 0; k < part.n; k++) assert_int_equal(hit_cmp(&part.v[k], &got.v[k]), 0);
    free(part.v);
  }
  free(got.v);
  free(want.v);
  nf_matcher_free(m);
}

static void set_term(term *t, const char *s, size_t len) {
  memcpy(t->s, s, len);
  t->len = len;
}

/* Texts made of NT terms and separators, SEPS, at random, up to MAXLEN
 * bytes: every term occurs, at the start, at the end, next to others. */
static void mixed_texts(uint64_t *seed, const term *terms, size_t nt, const char *seps,
                        size_t maxlen, size_t rounds) {
  char text[1200];
  assert_true(maxlen + 48 <= sizeof(text));
  for (size_t r = 0; r < rounds; r++) {
    size_t len = 0, want = rnd(seed) % maxlen;
    while (len < want) {
      if (rnd(seed) % 3) {
        const term *t = &terms[rnd(seed) % nt];
        memcpy(text + len, t->s, t->len);
        len += t->len;
      } else {
        text[len++] = seps[rnd(seed) % strlen(seps)];
      }
    }
    expect_naive(terms, nt, text, len);
  }
}

/* Every probe length (1, 2, 3, 4, 6, 8 bytes) and the lengths between
 * and past them, for terms starting with an alphanumeric, with other
 * ASCII and with a CJK character; the 8- and 16-byte words of the
 * verification. */
static void test_probe_lengths(void **state) {
  (void)state;
  static const char *src[] = {"-ab-cdefg-hijklmnop-qrstu", "ab-cd-efghijk-lmnopqr-stuv",
                              "中国人民银行股份有限公司"};
  term terms[64];
  size_t nt = 0;
  for (size_t k = 0; k < 3; k++) {
    size_t n = strlen(src[k]);
    for (size_t l = 1; l <= 20 && l <= n; l++) set_term(&terms[nt++], src[k], l);
  }
  uint64_t seed = 4242;
  mixed_texts(&seed, terms, nt, " -x1中", 300, 400);
}

/* Words of 1 to 10 letters (probes are capped at 8 bytes and word
 * lengths at 9), alone, with one byte after them ("inc.") and with more
 * (the extended word probe); words that are one letter longer or shorter
 * than a term must not match. */
static void test_word_probes(void **state) {
  (void)state;
  static const char *words[] = {
      "a",    "ab",      "abc",   "abcd", "abcdefg",     "abcdefgh", "abcdefghi",   "abcdefghij",
      "inc.", "ab c",    "ab-cd", "a b",  "abcdefgh ij", "x9 y",     "abcdefghi-j", "5g",
      "g7.",  "s&p 500", "$k",    "$bc",  "$csl",        "$parh",    "abcdefg-",    "abc de"};
  term terms[32];
  size_t nt = sizeof(words) / sizeof(words[0]);
  for (size_t k = 0; k < nt; k++) set_term(&terms[k], words[k], strlen(words[k]));
  uint64_t seed = 777;
  mixed_texts(&seed, terms, nt, " -.x$中", 400, 400);
  static const char *texts[] = {"abcdefgh", "abcdefghi", "abcdefghijk", "abcdefgh ij",
                                "xabc",     "abcx",      "inc.x",       "s&p 5000"};
  for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
    expect_naive(terms, nt, texts[k], strlen(texts[k]));
}

/* The scan works in blocks of 64 bytes: a term, or the word it starts,
 * at every offset around the first block boundaries, and texts ending
 * there. */
static void test_blocks(void **state) {
  (void)state;
  static const char *words[] = {"abcdefghij", "abc", "ab cd", "中国人", "-x-", "q"};
  term terms[6];
  for (size_t k = 0; k < 6; k++) set_term(&terms[k], words[k], strlen(words[k]));
  char text[300];
  for (size_t w = 0; w < 6; w++)
    for (size_t off = 50; off < 140; off++) {
      for (size_t fill = 0; fill < 2; fill++) {
        memset(text, fill ? 'z' : ' ', sizeof(text));
        memcpy(text + off, words[w], terms[w].len);
        expect_naive(terms, 6, text, off + terms[w].len);
        expect_naive(terms, 6, text, off + terms[w].len + 5);
      }
    }
}

/* First bytes of every class the SSE2 pass tells apart: UTF-8 lead and
 * continuation bytes, NUL, 0xFF, a few ASCII punctuation bytes and more
 * of them than it tests one by one. */
static void test_byte_classes(void **state) {
  (void)state;
  static const char alpha[] = "a1 .,;:!?\x80\xBF\xE4\xB8\xAD\xFF";
  (void)alpha;
  static const char al[] = {'a', '1',    ' ',    '.',    ',',    ';',    ':',    '!',
                            '?', '\x80', '\xBF', '\xE4', '\xB8', '\xAD', '\xFF', '\0'};
  uint64_t seed = 1234;
  for (size_t few = 0; few < 2; few++) {
    term terms[40];
    size_t nt = few ? 12 : 40;
    for (size_t k = 0; k < nt; k++) {
      terms[k].len = 1 + rnd(&seed) % 6;
      for (size_t i = 0; i < terms[k].len; i++)
        terms[k].s[i] = al[rnd(&seed) % (few ? 4 : sizeof(al))];
    }
    for (size_t r = 0; r < 60; r++) {
      char text[400];
      size_t len = rnd(&seed) % sizeof(text);
      for (size_t i = 0; i < len; i++) text[i] = al[rnd(&seed) % sizeof(al)];
      expect_naive(terms, nt, text, len);
    }
  }
}

/* Terms that start with UTF-8 continuation bytes only (0x80 and 0xBF,
 * the ends of that class), or lead bytes only, in texts of both. */
static void test_high_bytes(void **state) {
  (void)state;
  static const char *sets[][3] = {{"\x80\xE4", "\xBF", "\xBF\xBF"},
                                  {"\xC0\x80", "\xFF", "\xE4\xB8\xAD"}};
  static const char al[] = {'\x80', '\xBF', '\xC0', '\xE4', '\xB8', '\xAD', '\xFF', 'a', ' '};
  uint64_t seed = 555;
  for (size_t k = 0; k < 2; k++) {
    term terms[3];
    for (size_t j = 0; j < 3; j++) set_term(&terms[j], sets[k][j], strlen(sets[k][j]));
    for (size_t r = 0; r < 80; r++) {
      char text[300];
      size_t len = rnd(&seed) % sizeof(text);
      for (size_t i = 0; i < len; i++) text[i] = al[rnd(&seed) % sizeof(al)];
      expect_naive(terms, 3, text, len);
    }
  }
}

/* Many overlapping matches in flight overflow the prefilter's queue; the
 * automaton then finishes the scan, and the reports stay the same. */
static void test_queue_overflow(void **state) {
  (void)state;
  term terms[40];
  for (size_t k = 0; k < 40; k++) {
    memset(terms[k].s, '-', k + 1);
    terms[k].len = k + 1;
  }
  char text[700];
  memset(text, '-', sizeof(text));
  expect_naive(terms, 40, text, sizeof(text));
  memcpy(text + 300, "中ab", 5);
  expect_naive(terms, 40, text, sizeof(text));
}

/* Without a forced engine, small term sets (an automaton all in dense
 * rows) keep the automaton, and the prefilter takes over once it has a
 * sparse tier. */
static void test_engine_choice(void **state) {
  (void)state;
  for (size_t limit = 0; limit < 2; limit++) {
    nf_matcher *m = nf_matcher_new();
    assert_non_null(m);
    if (limit) nf_matcher_set_dense_limit(m, 64);
    assert_int_equal(nf_matcher_add(m, "abcdef", 6, 1), 0);
    assert_int_equal(nf_matcher_add(m, "中国", 6, 2), 0);
    assert_int_equal(nf_matcher_compile(m), 0);
    assert_true((m->pre != NULL) == (limit == 1));
    HITS(m, "x abcdef 中国", {1, 2, 8}, {2, 9, 15});
    nf_matcher_free(m);
  }
  /* From 2,000 terms the prefilter scans, whatever the automaton's size,
   * and the fallback automaton keeps a small dense tier. */
  for (size_t n = 1999; n <= 2000; n++) {
    nf_matcher *m = nf_matcher_new();
    assert_non_null(m);
    char name[16];
    for (size_t i = 0; i < n; i++) {
      int len = snprintf(name, sizeof name, "t%zu", i);
      assert_int_equal(nf_matcher_add(m, name, (size_t)len, (uint32_t)i + 1), 0);
    }
    assert_int_equal(nf_matcher_compile(m), 0);
    assert_true((m->pre != NULL) == (n == 2000));
    if (n == 2000) assert_true(nf_matcher_memory(m) < ((size_t)2 << 20));
    HITS(m, "x t1234 t5", {1235, 2, 7}, {6, 8, 10});
    nf_matcher_free(m);
  }
}

static int use_automaton(void **state) {
  (void)state;
  engine = NF__ENGINE_AC;
  return 0;
}

static int use_prefilter(void **state) {
  (void)state;
  engine = NF__ENGINE_PRE;
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic),
      cmocka_unit_test(test_overlapping),
      cmocka_unit_test(test_overlapping_cjk),
      cmocka_unit_test(test_cjk_substrings),
      cmocka_unit_test(test_word_boundaries),
      cmocka_unit_test(test_latin_then_cjk),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_one_byte_terms),
      cmocka_unit_test(test_term_lengths),
      cmocka_unit_test(test_lifecycle),
      cmocka_unit_test(test_invalid_utf8_and_nul),
      cmocka_unit_test(test_stop),
      cmocka_unit_test(test_random_cross_check),
      cmocka_unit_test(test_long_texts),
      cmocka_unit_test(test_short_text_lanes),
      cmocka_unit_test(test_memory),
      cmocka_unit_test(test_probe_lengths),
      cmocka_unit_test(test_word_probes),
      cmocka_unit_test(test_blocks),
      cmocka_unit_test(test_byte_classes),
      cmocka_unit_test(test_high_bytes),
      cmocka_unit_test(test_queue_overflow),
      cmocka_unit_test(test_engine_choice),
  };
  int rc = cmocka_run_group_tests_name("automaton", tests, use_automaton, NULL);
  return rc | cmocka_run_group_tests_name("prefilter", tests, use_prefilter, NULL);
}
