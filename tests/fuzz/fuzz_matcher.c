/*
 * fuzz-matcher: the matcher's two engines (src/tag/matcher.h) against each
 * other.  The input is terms, one per line, then a line "--", then the
 * text (without "--", every line is a term and the input itself is the
 * text too).  The same terms are compiled twice, the automaton forced in
 * one matcher and the prefilter in the other, and scanning the text must
 * give the same hits -- value, start, end -- in the same order.  Also
 * checked: every hit lies inside the text and spells its term.
 *
 * Terms are capped (64 of at most 32 bytes) so that runs stay fast; short
 * random terms, repeated terms and terms that are prefixes of others are
 * what the prefilter's probes and queue find hardest.
 */
#include "fuzz_common.h"
#include "tag/matcher.h"
#include "tag/matcher_impl.h"

#define MAX_TERMS 64
#define MAX_TERM_LEN 32
#define MAX_HITS 4096

typedef struct hit {
  uint32_t value;
  size_t start, end;
} hit;

typedef struct hits {
  hit v[MAX_HITS];
  size_t n;
  bool overflow;
} hits;

static int collect(void *arg, uint32_t value, size_t start, size_t end) {
  hits *h = arg;
  if (h->n == MAX_HITS) return h->overflow = true, 1; /* stop the scan */
  h->v[h->n++] = (hit){value, start, end};
  return 0;
}

static nf_matcher *compile(int engine, const uint8_t *terms[], const size_t lens[], size_t n) {
  nf_matcher *m = nf_matcher_new();
  if (!m) return NULL;
  FZ_CHECK(nf__matcher_set_engine(m, engine) == 0, "set_engine");
  for (size_t i = 0; i < n; i++)
    if (nf_matcher_add(m, (const char *)terms[i], lens[i], (uint32_t)i + 1) < 0) break;
  if (nf_matcher_compile(m) < 0) {
    nf_matcher_free(m);
    return NULL;
  }
  return m;
}

static hits h_ac, h_pre; /* large: static */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *terms[MAX_TERMS];
  size_t lens[MAX_TERMS], n = 0;
  const uint8_t *p = data, *end = data + size, *text = data;
  size_t text_len = size;
  while (p < end && n < MAX_TERMS) {
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (len == 2 && p[0] == '-' && p[1] == '-') {
      text = nl ? nl + 1 : end;
      text_len = (size_t)(end - text);
      break;
    }
    if (len > 0 && len <= MAX_TERM_LEN) terms[n] = p, lens[n++] = len;
    p = nl ? nl + 1 : end;
  }
  nf_matcher *ac = compile(NF__ENGINE_AC, terms, lens, n);
  nf_matcher *pre = compile(NF__ENGINE_PRE, terms, lens, n);
  FZ_CHECK((ac == NULL) == (pre == NULL), "one engine compiled, the other did not");
  if (ac) {
    h_ac.n = h_pre.n = 0;
    h_ac.overflow = h_pre.overflow = false;
    nf_matcher_scan(ac, (const char *)text, text_len, collect, &h_ac);
    nf_matcher_scan(pre, (const char *)text, text_len, collect, &h_pre);
    FZ_CHECK(h_ac.n == h_pre.n, "automaton %zu hits, prefilter %zu", h_ac.n, h_pre.n);
    for (size_t i = 0; i < h_ac.n; i++) {
      const hit *a = &h_ac.v[i], *b = &h_pre.v[i];
      FZ_CHECK(a->value == b->value && a->start == b->start && a->end == b->end,
               "hit %zu: automaton v=%u [%zu,%zu), prefilter v=%u [%zu,%zu)", i, a->value, a->start,
               a->end, b->value, b->start, b->end);
      FZ_CHECK(a->value >= 1 && a->value <= n && a->end <= text_len && a->start < a->end,
               "hit %zu out of range", i);
      size_t t = a->value - 1;
      FZ_CHECK(a->end - a->start == lens[t] && !memcmp(text + a->start, terms[t], lens[t]),
               "hit %zu does not spell term %zu", i, t);
    }
  }
  nf_matcher_free(ac);
  nf_matcher_free(pre);
  return 0;
}
