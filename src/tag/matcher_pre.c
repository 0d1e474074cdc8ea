/*
 * matcher_pre.c -- the matcher's second engine, for big term sets: a
 * prefilter on the first bytes of the terms, then exact verification of
 * the few positions that pass it.  matcher.c picks it when the automaton
 * has a sparse tier (nf_matcher_compile); the reports are the automaton's,
 * in the same order.
 *
 * Why
 * ---
 * The Aho-Corasick automaton costs one dependent load per text byte.  At
 * 10,000 terms it is ~35 MiB, far beyond the caches, so nearly every byte
 * waits for memory, and with cold caches (the daemon) the wait is longer.
 * Here the structure touched at every position is a bitmap of 32 bits per
 * term (64 KiB at 10,000 terms), the loads of different positions do not
 * depend on each other, and most positions are not looked at at all.
 *
 * Start positions
 * ---------------
 * A term can start at text position i only if t[i] is the first byte of
 * some term, and, if that byte is an ASCII letter or digit, only at a
 * word start (i == 0 or t[i-1] not alphanumeric: the word-boundary rule
 * of matcher.h).  So inside words, at UTF-8 continuation bytes, spaces
 * and most punctuation nothing is done.  The text is taken in blocks of
 * 64 bytes, each giving two bit masks, alphanumerics and possible starts.
 * With SSE2 the start mask is a superset computed per byte class (every
 * alphanumeric, UTF-8 lead bytes, continuation bytes, up to PUNCT_MAX
 * given ASCII bytes or all other ASCII), each class only if some term
 * starts with a byte of it; positions that start no term then find no
 * probe to make.  Without SSE2, and for the last partial block, a table
 * gives both masks exactly.
 *
 * Probes
 * ------
 * Each distinct term is filed under one probe key, hashed by one
 * multiplication; the top bits of the hash pick a bit of the filter and,
 * fewer of them, a bucket.  Probe ids:
 *   - A term starting with an alphanumeric starts with a word of w
 *     alphanumerics (capped at WORD_TAGS = 9), and the text must hold
 *     exactly that word at i (a term's non-alphanumeric byte, or its end
 *     with the boundary rule, ends the text's word too).  If the term is
 *     that word, or the word and one byte ("inc."), the key is the word
 *     (its first 8 bytes), id word_probe(w); if it goes on, the key takes
 *     the two bytes after the word as well ("of t" for "of the", so that
 *     not every "of" in a text passes), id word_ext_probe(w).  A word
 *     start makes both probes.
 *   - Any other term: its first p bytes, p the largest of PROBE_LEN (1, 2,
 *     3, 4, 6, 8) not above its length (2-character CJK words under 6
 *     bytes, longer ones under 8, "$k" under 2); ids 0..PROBES-1.  tab[]
 *     has, per first byte, the probe lengths of the terms starting with
 *     it: a CJK lead byte typically makes 2 probes; bytes with more than
 *     two (cashtags) always pass to the second pass, which makes the rest.
 *
 * Two passes per block: the first makes every position's two probes with
 * no branch (ids and masks from small tables) and keeps the positions
 * where one passed; the second redoes those probes and verifies.  Before
 * that split, the branches of the per-position work cost more than the
 * work.
 *
 * Verification
 * ------------
 * Terms are deduplicated (a term added several times has one entry and
 * its values in add order).  Each entry of a bucket holds its first 16
 * bytes as two words: a probe that passed compares the text with every
 * entry of its bucket in one masked test, then the bytes past 16, then
 * the end boundary (a term ending in an alphanumeric must not be followed
 * by one).
 *
 * Report order
 * ------------
 * Positions are visited in increasing order, but matches must be reported
 * as the automaton does: by end offset, longer first at equal ends, the
 * values of one term in add order.  Found matches wait in a small queue
 * sorted by (end, start); every match found later starts at or after the
 * current position i, so it ends after i, and the queued matches ending
 * at or before i can be reported.  If the queue overflows (pathological
 * terms and text: hundreds of overlapping matches in flight), everything
 * ending by i has been reported and the automaton scans the text again,
 * reporting only what ends after i: the same reports, in the same order.
 * Offsets in the queue are 32-bit: longer texts go to the automaton.
 *
 * Invariants
 *   - Every distinct term is in exactly one bucket, under the key of its
 *     probe; that key's filter bit is set, and tab[first byte] has
 *     PRE_START and (for a non-alphanumeric) the probe's bit.
 *   - Every position where a term may match is probed with that term's
 *     probe id and the same key bytes (text words are zero-padded past
 *     the end, and a term never extends past it).
 *   - The bucket index is a prefix of the filter index (fewer top bits).
 *   - scan reads only TEXT[0, LEN) and writes nothing shared.
 */
#include "matcher_impl.h"

#include <stdlib.h>
#include <string.h>

#define HASH_MUL 0x9E3779B97F4A7C15ull
#define QUEUE_MAX 256
#define FILTER_BITS 32  /* per distinct term, at least */
#define BUCKET_SPREAD 4 /* buckets per distinct term, at least */
#define WORD_TAGS 9     /* word probes: lengths 1..8, and longer */

const uint8_t nf__probe_len[PROBES] = {1, 2, 3, 4, 6, 8};

/* The first min(N, 8) bytes at P as a little-endian word, zero-padded,
 * the same on any host (the compiler makes it one load where it can). */
static uint64_t load_word(const uint8_t *p, size_t n) {
  uint64_t x = 0;
  if (n >= 8) {
    memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
  }
  for (size_t k = n; k-- > 0;) x = x << 8 | p[k];
  return x;
}

static uint64_t probe_mask(unsigned j) {
  unsigned p = nf__probe_len[j];
  return p >= 8 ? ~0ull : (1ull << (8 * p)) - 1;
}

/* Probe ids of a word of W alphanumerics (lengths above 8 share one):
 * the word alone, and the word with the two bytes after it. */
static unsigned word_probe(size_t w) {
  return PROBES + (unsigned)(w < WORD_TAGS ? w : WORD_TAGS) - 1;
}

static unsigned word_ext_probe(size_t w) {
  return word_probe(w) + WORD_TAGS;
}

/* Hash of probe J over word X (already masked). */
static uint64_t probe_hash(unsigned j, uint64_t x) {
  return (x ^ ((uint64_t)(j + 1) << 59)) * HASH_MUL;
}

static unsigned probe_of(size_t len) {
  unsigned j = 0;
  while (j + 1 < PROBES && nf__probe_len[j + 1] <= len) j++;
  return j;
}

/* Mask of the first N bytes of a word (N <= 8). */
static uint64_t bytes_mask(size_t n) {
  return n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
}

/* The probe of a term: id (see the top comment) and key bytes. */
static unsigned term_probe(const uint8_t *p, size_t len, size_t *key) {
  if (!is_alnum(p[0])) {
    unsigned j = probe_of(len);
    *key = nf__probe_len[j];
    return j;
  }
  size_t w = 1;
  while (w < len && is_alnum(p[w])) w++;
  size_t t = w < WORD_TAGS ? w : WORD_TAGS;
  if (len >= w + 2) {
    *key = t + 2 < 8 ? t + 2 : 8;
    return word_ext_probe(w);
  }
  *key = t < 8 ? t : 8;
  return word_probe(w);
}

static unsigned log2_at_least(size_t n, unsigned min) {
  unsigned b = min;
  while (((size_t)1 << b) < n) b++;
  return b;
}

/* ---------------------------------------------------------------------- */
/* Building                                                               */
/* ---------------------------------------------------------------------- */

/* Counts distinct terms in the sorted KEYS (equal terms are adjacent). */
static size_t count_unique(const nf__sort_key *keys, size_t n, size_t *bytes) {
  size_t u = 0;
  *bytes = 0;
  for (size_t k = 0; k < n; k++) {
    if (k && keys[k].len == keys[k - 1].len && !memcmp(keys[k].p, keys[k - 1].p, keys[k].len))
      continue;
    u++;
    *bytes += keys[k].len;
  }
  return u;
}

static int pre_alloc(nf__pre *pr, size_t nu, size_t nterms, size_t pool) {
  pr->fbits = log2_at_least(nu * FILTER_BITS, 12);
  pr->bbits = log2_at_least(nu * BUCKET_SPREAD, 4);
  size_t nf = (size_t)1 << pr->fbits, nb = (size_t)1 << pr->bbits;
  pr->filter = calloc(nf / 64, sizeof(uint64_t));
  pr->bstart = calloc(nb + 1, sizeof(uint32_t));
  pr->ent = malloc((nu ? nu : 1) * sizeof(nf__pre_term));
  pr->vals = malloc((nterms ? nterms : 1) * sizeof(uint32_t));
  pr->pool = malloc(pool ? pool : 1);
  if (!pr->filter || !pr->bstart || !pr->ent || !pr->vals || !pr->pool) return -1;
  pr->bytes = nf / 8 + (nb + 1) * sizeof(uint32_t) + nu * sizeof(nf__pre_term) +
              nterms * sizeof(uint32_t) + pool;
  return 0;
}

/* Bucket of a term: its probe's hash, top bbits bits; *J gets the probe. */
static size_t term_bucket(const nf__pre *pr, const uint8_t *p, size_t len, uint64_t *h,
                          unsigned *j) {
  size_t key;
  *j = term_probe(p, len, &key);
  *h = probe_hash(*j, load_word(p, len) & bytes_mask(key));
  return (size_t)(*h >> (64 - pr->bbits));
}

/* The byte classes block_masks tests with SSE2 (see there). */
static void sse_classes(nf__pre *pr) {
#if defined(__SSE2__)
  int lead = 0, cont = 0;
  unsigned np = 0;
  uint8_t punct[256];
  for (int c = 0; c < 256; c++) {
    if (!(pr->tab[c] & PRE_START) || is_alnum((uint8_t)c)) continue;
    if (c >= 0xC0) lead = 1;
    else if (c >= 0x80) cont = 1;
    else punct[np++] = (uint8_t)c;
  }
  pr->sse_lead = _mm_set1_epi8((char)(lead ? 0xFF : 0));
  pr->sse_cont = _mm_set1_epi8((char)(cont ? 0xFF : 0));
  pr->sse_punct_all = _mm_set1_epi8((char)(np > PUNCT_MAX ? 0xFF : 0));
  pr->npunct = np > PUNCT_MAX ? 0 : np;
  memcpy(pr->punct, punct, pr->npunct);
#else
  (void)pr;
#endif
}

/* Files the distinct terms of KEYS into their buckets (counting sort on
 * the bucket index) with their values, and sets filter bits and tab. */
static void pre_fill(nf__pre *pr, const nf__sort_key *keys, size_t n, const pending *terms) {
  uint64_t h;
  unsigned j;
  for (size_t k = 0; k < n; k++)
    if (!k || keys[k].len != keys[k - 1].len || memcmp(keys[k].p, keys[k - 1].p, keys[k].len))
      pr->bstart[term_bucket(pr, keys[k].p, keys[k].len, &h, &j) + 1]++;
  size_t nb = (size_t)1 << pr->bbits;
  for (size_t b = 0; b < nb; b++) pr->bstart[b + 1] += pr->bstart[b];
  uint32_t pool = 0, nv = 0;
  nf__pre_term *e = NULL;
  for (size_t k = 0; k < n; k++) {
    const nf__sort_key *key = &keys[k];
    if (!k || key->len != keys[k - 1].len || memcmp(key->p, keys[k - 1].p, key->len)) {
      size_t b = term_bucket(pr, key->p, key->len, &h, &j);
      e = &pr->ent[pr->bstart[b]++];
      e->head = load_word(key->p, key->len);
      e->head2 = key->len > 8 ? load_word(key->p + 8, key->len - 8u) : 0;
      e->off = pool;
      e->out = nv;
      e->nout = 0;
      e->len = (uint8_t)key->len;
      e->probe = (uint8_t)j;
      e->flags = (uint8_t)((is_alnum(key->p[0]) ? START_ALNUM : 0) |
                           (is_alnum(key->p[key->len - 1]) ? END_ALNUM : 0));
      memcpy(pr->pool + pool, key->p, key->len);
      pool += key->len;
      size_t f = (size_t)(h >> (64 - pr->fbits));
      pr->filter[f / 64] |= 1ull << (f % 64);
      pr->tab[key->p[0]] |= (uint8_t)(PRE_START | (j < PROBES ? 1u << j : 0));
    }
    pr->vals[nv++] = terms[key->idx].value;
    e->nout++;
  }
  /* The fill cursors ran to the next bucket's start: shift back. */
  for (size_t b = nb; b > 0; b--) pr->bstart[b] = pr->bstart[b - 1];
  pr->bstart[0] = 0;
}

/* The small tables of the scan, once tab has every term's first byte. */
static void pre_tables(nf__pre *pr) {
  for (int c = 0; c < 256; c++)
    if (is_alnum((uint8_t)c)) pr->tab[c] |= PRE_ALNUM;
  for (unsigned p = 0; p < PROBES; p++) pr->keymask[p] = probe_mask(p);
  pr->fshift = 64 - pr->fbits;
  for (unsigned w = 1; w <= WORD_TAGS; w++)
    pr->wordinfo[w] = word_probe(w) | word_ext_probe(w) << 8 | 3u << 16;
  for (int c = 0; c < 256; c++) {
    unsigned pm = pr->tab[c] & ((1u << PROBES) - 1), rest = pm & (pm - 1);
    unsigned j1 = (unsigned)__builtin_ctz(pm | 1u << PROBES);
    unsigned j2 = (unsigned)__builtin_ctz(rest | 1u << PROBES);
    unsigned gate = (pm != 0) | (rest != 0) << 1 | ((rest & (rest - 1)) != 0) << 2;
    pr->byteinfo[c] = j1 | j2 << 8 | gate << 16;
  }
  sse_classes(pr);
  for (size_t l = 0; l <= TERM_MAX; l++) {
    pr->mask1[l] = bytes_mask(l);
    pr->mask2[l] = l > 8 ? bytes_mask(l - 8) : 0;
  }
  for (unsigned w = 1; w <= WORD_TAGS; w++) {
    pr->keymask[word_probe(w)] = bytes_mask(w);
    pr->keymask[word_ext_probe(w)] = bytes_mask(w + 2);
  }
}

int nf__pre_build(nf_matcher *m, const nf__sort_key *keys, size_t n) {
  nf__pre *pr = calloc(1, sizeof(*pr));
  if (!pr) return -1;
  size_t pool;
  size_t nu = count_unique(keys, n, &pool);
  if (pre_alloc(pr, nu, n, pool)) {
    nf__pre_free(pr);
    return -1;
  }
  pre_fill(pr, keys, n, m->terms);
  pre_tables(pr);
  pr->bytes += sizeof(*pr);
  m->pre = pr;
  return 0;
}

void nf__pre_free(nf__pre *pr) {
  if (!pr) return;
  free(pr->filter);
  free(pr->bstart);
  free(pr->ent);
  free(pr->vals);
  free(pr->pool);
  free(pr);
}

/* ---------------------------------------------------------------------- */
/* Scanning                                                               */
/* ---------------------------------------------------------------------- */

/* A match waiting to be reported: term E over [start, end). */
typedef struct qent {
  uint32_t start, end;
  const nf__pre_term *e;
} qent;

typedef struct pscan {
  const nf_matcher *m;
  const uint8_t *t;
  size_t len;
  nf_match_cb cb;
  void *ctx;
  uint32_t head, n; /* queue: q[head, head + n) */
  qent q[QUEUE_MAX];
} pscan;

/* Reports the queued matches ending at or before UPTO.  Returns non-zero
 * when the callback asked to stop. */
static int drain(pscan *s, size_t upto) {
  const uint32_t *vals = s->m->pre->vals;
  while (s->n && s->q[s->head].end <= upto) {
    const qent *x = &s->q[s->head];
    for (uint32_t k = 0; k < x->e->nout; k++)
      if (s->cb(s->ctx, vals[x->e->out + k], x->start, x->end)) return 1;
    s->head++;
    s->n--;
  }
  if (s->n == 0) s->head = 0;
  return 0;
}

/* Queues a match in (end, start) order: its start is the largest yet, so
 * it goes after every match ending at or before its end.  Returns -1 if
 * the queue is full. */
static int enqueue(pscan *s, size_t start, const nf__pre_term *e) {
  if (s->head + s->n == QUEUE_MAX) {
    if (s->n == QUEUE_MAX) return -1;
    memmove(s->q, s->q + s->head, s->n * sizeof(qent));
    s->head = 0;
  }
  uint32_t end = (uint32_t)(start + e->len), k = s->head + s->n;
  while (k > s->head && s->q[k - 1].end > end) {
    s->q[k] = s->q[k - 1];
    k--;
  }
  s->q[k] = (qent){(uint32_t)start, end, e};
  s->n++;
  return 0;
}

/* The terms of bucket B (probe J) that occur at I, word X being the text
 * from I; queued.  Returns -1 if the queue is full. */
static int verify(pscan *s, size_t i, uint64_t x, unsigned j, size_t b) {
  const nf__pre *pr = s->m->pre;
  size_t rest = s->len - i;
  uint64_t x2 = rest > 8 ? load_word(s->t + i + 8, rest - 8) : 0;
  for (uint32_t k = pr->bstart[b]; k < pr->bstart[b + 1]; k++) {
    const nf__pre_term *e = &pr->ent[k];
    /* One test for the usual case, a miss on the first 16 bytes. */
    uint64_t diff = ((x ^ e->head) & pr->mask1[e->len]) | ((x2 ^ e->head2) & pr->mask2[e->len]);
    if (!((e->probe == j) & (e->len <= rest) & (diff == 0))) continue;
    if (e->len > 16 && memcmp(s->t + i + 16, pr->pool + e->off + 16, e->len - 16u)) continue;
    if ((e->flags & END_ALNUM) && e->len < rest && is_alnum(s->t[i + e->len])) continue;
    if (enqueue(s, i, e)) return -1;
  }
  return 0;
}

/* Bit k of *A: T[k] is alphanumeric; of *ST: T[k] starts some term; for
 * the N <= 64 bytes at T. */
static void block_masks_exact(const uint8_t *tab, const uint8_t *t, size_t n, uint64_t *a,
                              uint64_t *st) {
  uint64_t x = 0, y = 0;
  for (size_t k = 0; k < n; k++) {
    unsigned v = tab[t[k]];
    x |= (uint64_t)(v >> 7) << k;
    y |= (uint64_t)(v >> 6 & 1) << k;
  }
  *a = x;
  *st = y;
}

#if defined(__SSE2__)
/* The same for a full block with SSE2, *ST a superset (see the top
 * comment): every alphanumeric, and the classes of other bytes that
 * start some term (UTF-8 lead bytes, continuation bytes, up to
 * PUNCT_MAX ASCII bytes or else all of them). */
static void block_masks(const nf__pre *pr, const uint8_t *t, size_t n, uint64_t *a, uint64_t *st) {
  if (n < 64) {
    block_masks_exact(pr->tab, t, n, a, st);
    return;
  }
  const __m128i c0 = _mm_set1_epi8('0' - 1), c9 = _mm_set1_epi8('9' + 1);
  const __m128i ca = _mm_set1_epi8('a' - 1), cz = _mm_set1_epi8('z' + 1);
  const __m128i lower = _mm_set1_epi8(0x20), lead = _mm_set1_epi8((char)0xC0);
  const __m128i zero = _mm_setzero_si128();
  uint64_t x = 0, y = 0;
  for (int q = 0; q < 4; q++) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + 16 * q));
    __m128i l = _mm_or_si128(v, lower);
    __m128i al = _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(v, c0), _mm_cmplt_epi8(v, c9)),
                              _mm_and_si128(_mm_cmpgt_epi8(l, ca), _mm_cmplt_epi8(l, cz)));
    __m128i hi = _mm_cmplt_epi8(v, zero);   /* >= 0x80 */
    __m128i cont = _mm_cmpgt_epi8(lead, v); /* 0x80-0xBF: below 0xC0 (-64) */
    __m128i m = _mm_or_si128(al, _mm_and_si128(hi, _mm_andnot_si128(cont, pr->sse_lead)));
    m = _mm_or_si128(m, _mm_and_si128(cont, pr->sse_cont));
    __m128i pm = pr->sse_punct_all;
    for (unsigned k = 0; k < pr->npunct; k++)
      pm = _mm_or_si128(pm, _mm_cmpeq_epi8(v, _mm_set1_epi8((char)pr->punct[k])));
    m = _mm_or_si128(m, _mm_andnot_si128(_mm_or_si128(al, hi), pm));
    x |= (uint64_t)(unsigned)_mm_movemask_epi8(al) << (16 * q);
    y |= (uint64_t)(unsigned)_mm_movemask_epi8(m) << (16 * q);
  }
  *a = x;
  *st = y;
}
#else
static void block_masks(const nf__pre *pr, const uint8_t *t, size_t n, uint64_t *a, uint64_t *st) {
  block_masks_exact(pr->tab, t, n, a, st);
}
#endif

/* Probes that passed at a position: bit 0 and 1 for its first two
 * probes, bit 2 for "more probes than two" (tested in the second pass). */
typedef struct cand {
  uint8_t k, hit, j1, j2;
} cand;

/* The first pass over position K of the block at T (text word X; A and
 * NA the alphanumeric masks of this block and the next), without
 * branches: a word start takes its two word probes, another byte its two
 * lowest probes (a superset position with none passes nothing).  Fills
 * C; returns whether anything passed. */
static unsigned first_pass(const nf__pre *pr, const uint8_t *t, unsigned k, uint64_t a, uint64_t na,
                           uint64_t x, cand *c) {
  unsigned w = (unsigned)(a >> k) & 1u;
  uint64_t r = (a >> k) | (na << 1 << (63 - k));
  unsigned run = (unsigned)__builtin_ctzll(~r | 1ull << WORD_TAGS);
  unsigned info = w ? pr->wordinfo[run] : pr->byteinfo[t[k]];
  unsigned j1 = info & 0xFF, j2 = info >> 8 & 0xFF;
  uint64_t h1 = probe_hash(j1, x & pr->keymask[j1]), h2 = probe_hash(j2, x & pr->keymask[j2]);
  size_t f1 = (size_t)(h1 >> pr->fshift), f2 = (size_t)(h2 >> pr->fshift);
  unsigned b1 = (unsigned)(pr->filter[f1 / 64] >> (f1 % 64)) & 1u;
  unsigned b2 = (unsigned)(pr->filter[f2 / 64] >> (f2 % 64)) & 1u;
  c->k = (uint8_t)k;
  c->hit = (uint8_t)((b1 | b2 << 1 | 4u) & info >> 16);
  c->j1 = (uint8_t)j1;
  c->j2 = (uint8_t)j2;
  return c->hit != 0;
}

/* The second pass at position I: reports what ends before I, then
 * verifies the buckets of the probes that passed (with bit 2, the
 * probes past the first two).  Returns 1 to stop (callback), -1 if the
 * queue is full, else 0. */
static int second_pass(pscan *s, size_t i, const cand *c) {
  const nf__pre *pr = s->m->pre;
  if (s->n && s->q[s->head].end <= i && drain(s, i)) return 1;
  uint64_t x = load_word(s->t + i, s->len - i);
  unsigned js[PROBES + 1], nj = 0;
  if (c->hit & 1) js[nj++] = c->j1;
  if (c->hit & 2) js[nj++] = c->j2;
  if (c->hit & 4) {
    unsigned pm = pr->tab[s->t[i]] & ((1u << PROBES) - 1);
    for (pm &= pm - 1, pm &= pm - 1; pm; pm &= pm - 1) js[nj++] = (unsigned)__builtin_ctz(pm);
  }
  for (unsigned q = 0; q < nj; q++) {
    uint64_t h = probe_hash(js[q], x & pr->keymask[js[q]]);
    size_t f = (size_t)(h >> (64 - pr->fbits));
    if (!(pr->filter[f / 64] >> (f % 64) & 1)) continue;
    if (verify(s, i, x, js[q], (size_t)(h >> (64 - pr->bbits)))) return -1;
  }
  return 0;
}

/* The positions of the text, 64 at a time: bytes that may start a term,
 * but alphanumerics only at a word start.  The first pass keeps the
 * positions whose probes pass the filter, the second verifies them.
 * Returns as second_pass; when the queue is full, *AT gets the
 * position. */
static int scan_all(pscan *s, size_t *at) {
  const nf__pre *pr = s->m->pre;
  const uint8_t *t = s->t;
  size_t len = s->len;
  uint64_t a, st, na = 0, nst = 0, carry = 0;
  cand cs[64];
  block_masks(pr, t, len < 64 ? len : 64, &a, &st);
  for (size_t base = 0; base < len; base += 64) {
    size_t left = len - base;
    if (left > 64) block_masks(pr, t + base + 64, left - 64 < 64 ? left - 64 : 64, &na, &nst);
    else na = nst = 0;
    uint64_t pos = st & ~(a & (a << 1 | carry));
    unsigned nc = 0;
    for (; pos; pos &= pos - 1) {
      unsigned k = (unsigned)__builtin_ctzll(pos);
      nc += first_pass(pr, t + base, k, a, na, load_word(t + base + k, left - k), &cs[nc]);
    }
    for (unsigned c = 0; c < nc; c++) {
      int rc = second_pass(s, base + cs[c].k, &cs[c]);
      if (rc) {
        *at = base + cs[c].k;
        return rc;
      }
    }
    carry = a >> 63;
    a = na;
    st = nst;
  }
  return 0;
}

/* Passes the automaton's matches that end after FROM. */
typedef struct after {
  size_t from;
  nf_match_cb cb;
  void *ctx;
} after;

static int cb_after(void *ctx, uint32_t value, size_t start, size_t end) {
  after *a = ctx;
  return end > a->from ? a->cb(a->ctx, value, start, end) : 0;
}

void nf__pre_scan(const nf_matcher *m, const uint8_t *t, size_t len, nf_match_cb cb, void *ctx) {
  pscan s;
  s.m = m;
  s.t = t;
  s.len = len;
  s.cb = cb;
  s.ctx = ctx;
  s.head = s.n = 0;
  size_t at = 0;
  int rc = scan_all(&s, &at);
  if (rc == 1) return;
  if (rc == 0) {
    drain(&s, SIZE_MAX);
    return;
  }
  /* Queue full at AT, right after reporting every match that ends by AT:
   * the automaton does the rest. */
  after a = {at, cb, ctx};
  nf__ac_scan(m, t, len, cb_after, &a);
}
