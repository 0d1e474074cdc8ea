/*
 * matcher.c -- Aho-Corasick multi-pattern matcher over bytes.
 *
 * Overview
 * --------
 * Terms are collected by nf_matcher_add and compiled once into an
 * Aho-Corasick automaton.  Scanning then costs one table step per text
 * byte whatever the number of terms, plus the work of reporting matches.
 *
 * States are numbered in breadth-first order (root = 0), so shallow states,
 * the ones the scan visits nearly all the time, have the smallest ids.  The
 * automaton has two tiers:
 *
 *   - Dense states, ids [0, K): a full DFA row per state, with failure
 *     transitions already resolved at compile time.  A row has one uint32
 *     per byte class (see below), so a step is a single load:
 *         v = dense[v + cls[byte]]
 *     K is as large as the dense budget allows (nf_matcher_set_dense_limit,
 *     default DENSE_DEFAULT bytes), so small and medium term sets are
 *     entirely dense, and big ones keep their hot upper levels dense.
 *   - Sparse states, ids [K, N): classic goto/fail form.  Children of a
 *     state are contiguous in BFS numbering, so a state needs just the id
 *     of its first child (the next state's first child ends the range), the
 *     children's labels (sorted, searched in place) and one failure link.
 *     A missing edge follows failure links until a dense state is reached,
 *     whose row then answers in one load.
 *
 * Byte classes: only bytes that occur in some term need their own column;
 * every other byte maps to class 0, which always leads back to the root.
 * Columns follow byte order, so e.g. the UTF-8 lead bytes of CJK text sit
 * next to each other and a state's likely next columns share cache lines.
 *
 * Transition values ("encoded states") carry the next state and two flags:
 *     OUT_BIT     the state reports at least one term (own or inherited)
 *     SPARSE_BIT  the state is sparse; the low bits are its id
 * Otherwise the low bits are the state's row offset (id * classes), which
 * saves a multiply on the scan's critical path.  The inner loop runs over
 * dense states until a flag shows up, so the common step is load + test.
 *
 * Outputs: every term's (value, length, boundary flags) sits in one flat
 * array, grouped by final state; a state owns the range
 * [out_start[s], out_start[s+1]).  Terms that end at s via a suffix are
 * reached through out_link[s], the nearest state on the failure chain that
 * owns outputs (0 = none; the root owns none since terms are non-empty).
 * This keeps memory linear, at the price of walking the chain on a match.
 *
 * Word boundaries are checked when a match is reported: start = end - len,
 * and an end of the term that is an ASCII letter/digit needs a text byte
 * outside it that is not one (or the edge of the text).
 *
 * Compilation never recurses: terms are sorted, the trie is built from the
 * sorted list with one path stack, renumbered breadth-first with an
 * explicit queue, and rows and failure links are filled in BFS order (a
 * failure target is always shallower, so it is complete by then).
 *
 * Invariants
 *   - Every state id < 2^30 and every row offset < 2^30 (checked).
 *   - The root is dense and never has OUT_BIT.
 *   - Children of a sparse state are sparse (BFS: children come later).
 *   - scan() reads only TEXT[0, LEN) and never writes to the matcher, so
 *     concurrent scans are safe.
 */
#include "matcher.h"

#include <stdlib.h>
#include <string.h>

#define TERM_MAX 255
#define OUT_BIT 0x80000000u
#define SPARSE_BIT 0x40000000u
#define ID_MASK 0x3FFFFFFFu
#define DENSE_DEFAULT ((size_t)16 << 20)
#ifndef LANES
#define LANES 8
#endif
#if LANES == 4
#define FOR_LANES(X) X(0) X(1) X(2) X(3)
#elif LANES == 6
#define FOR_LANES(X) X(0) X(1) X(2) X(3) X(4) X(5)
#elif LANES == 8
#define FOR_LANES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#elif LANES == 12
#define FOR_LANES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#endif
#define LANE_BUF 128
#ifndef LANE_SLICE
#define LANE_SLICE 4096
#endif

enum { START_ALNUM = 1, END_ALNUM = 2 };

/* A term waiting for compile: bytes at arena[off], LEN bytes. */
typedef struct pending {
  uint32_t off;
  uint32_t len;
  uint32_t value;
} pending;

/* A sparse state.  Sparse states are numbered depth-first, so a state's
 * first child is the next record and its subtree ends at END, where its
 * next sibling starts: a single-child chain (the tail of a long term) is a
 * run of consecutive records, read sequentially by the scan. */
typedef struct srec {
  uint32_t fail; /* encoded failure target */
  uint32_t end;  /* id just past this state's subtree */
  uint8_t label; /* byte on the edge into this state */
  uint8_t out;   /* the state reports terms */
} srec;

/* A term as reported. */
typedef struct output {
  uint32_t value;
  uint8_t len;
  uint8_t flags;
} output;

struct nf_matcher {
  /* Before compile. */
  char *arena;
  size_t arena_len, arena_cap;
  pending *terms;
  size_t nterms, terms_cap;
  size_t dense_limit;
  int compiled;

  /* After compile. */
  uint8_t cls[256];
  uint32_t nclass;    /* row width */
  uint32_t ndense;    /* K */
  uint32_t nstates;   /* N */
  uint32_t maxlen;    /* longest term: the automaton's memory */
  uint32_t *dense;    /* K * nclass encoded states */
  srec *sp;           /* [q-K]: sparse state q */
  uint32_t *out_start; /* N + 1 */
  uint32_t *out_link;  /* N */
  output *outs;        /* nterms */
  size_t bytes;        /* memory held by the compiled automaton */
};

static int is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

/* All terms that end in one state end with the same byte, the label of
 * the edge into it, which is also the text byte just read.  So when that
 * byte and the next are both alphanumeric, no term can end at END: a
 * quick test that saves walking the outputs in the middle of words. */
static int end_blocked(const uint8_t *t, size_t len, size_t end) {
  return end < len && is_alnum(t[end]) && is_alnum(t[end - 1]);
}

/* ---------------------------------------------------------------------- */
/* Building terms                                                         */
/* ---------------------------------------------------------------------- */

nf_matcher *nf_matcher_new(void) {
  nf_matcher *m = calloc(1, sizeof(*m));
  if (m) m->dense_limit = DENSE_DEFAULT;
  return m;
}

int nf_matcher_set_dense_limit(nf_matcher *m, size_t bytes) {
  if (!m || m->compiled) return -1;
  m->dense_limit = bytes;
  return 0;
}

/* Grows *P (elements of SIZE bytes) so that it holds at least NEED. */
static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 64;
  while (ncap < need) ncap *= 2;
  if (ncap > SIZE_MAX / size) return -1;
  void *np = realloc(*p, ncap * size);
  if (!np) return -1;
  *p = np;
  *cap = ncap;
  return 0;
}

int nf_matcher_add(nf_matcher *m, const char *term, size_t len,
                   uint32_t value) {
  if (!m || m->compiled || !term || len == 0 || len > TERM_MAX) return -1;
  /* Offsets and ids are 32-bit; states are bounded by total term bytes. */
  if (m->arena_len + len >= ID_MASK || m->nterms >= ID_MASK) return -1;
  if (grow((void **)&m->arena, &m->arena_cap, m->arena_len + len, 1) ||
      grow((void **)&m->terms, &m->terms_cap, m->nterms + 1,
           sizeof(pending)))
    return -1;
  memcpy(m->arena + m->arena_len, term, len);
  m->terms[m->nterms].off = (uint32_t)m->arena_len;
  m->terms[m->nterms].len = (uint32_t)len;
  m->terms[m->nterms].value = value;
  m->arena_len += len;
  m->nterms++;
  return 0;
}

size_t nf_matcher_terms(const nf_matcher *m) { return m ? m->nterms : 0; }

size_t nf_matcher_memory(const nf_matcher *m) {
  if (!m) return 0;
  if (m->compiled) return m->bytes;
  return sizeof(*m) + m->arena_cap + m->terms_cap * sizeof(pending);
}

/* ---------------------------------------------------------------------- */
/* Compile, step 1: sorted trie                                           */
/* ---------------------------------------------------------------------- */

/* Scratch state of one compile; everything here is freed at the end. */
typedef struct build {
  /* Trie in creation order: first child, next sibling, last child. */
  uint32_t *t_first, *t_next, *t_last;
  uint8_t *t_label;
  size_t t_n, t_cap;
  uint32_t *term_node; /* per term, in add order */
  /* BFS numbering. */
  uint32_t n;
  uint32_t *first; /* n + 1: first child of each state */
  uint8_t *label;  /* label of the edge into each state */
  uint32_t *fail;  /* failure state id */
  uint32_t *enc;   /* encoded state */
} build;

typedef struct sort_key {
  const uint8_t *p;
  uint32_t len;
  uint32_t idx;
} sort_key;

static int key_cmp(const void *a, const void *b) {
  const sort_key *x = a, *y = b;
  uint32_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Appends a node labelled C as the last child of PARENT. */
static int trie_child(build *b, uint32_t parent, uint8_t c, uint32_t *out) {
  if (b->t_n >= b->t_cap) {
    size_t cap = b->t_cap * 2;
    uint32_t *f = realloc(b->t_first, cap * sizeof(uint32_t));
    if (f) b->t_first = f;
    uint32_t *nx = realloc(b->t_next, cap * sizeof(uint32_t));
    if (nx) b->t_next = nx;
    uint32_t *l = realloc(b->t_last, cap * sizeof(uint32_t));
    if (l) b->t_last = l;
    uint8_t *lb = realloc(b->t_label, cap);
    if (lb) b->t_label = lb;
    if (!f || !nx || !l || !lb) return -1;
    b->t_cap = cap;
  }
  uint32_t id = (uint32_t)b->t_n++;
  b->t_first[id] = b->t_next[id] = b->t_last[id] = 0;
  b->t_label[id] = c;
  if (b->t_first[parent] == 0)
    b->t_first[parent] = id;
  else
    b->t_next[b->t_last[parent]] = id;
  b->t_last[parent] = id;
  *out = id;
  return 0;
}

/* Builds the trie from the terms in sorted order.  Sorting makes every new
 * edge the last child of its parent (so siblings come out in byte order)
 * and lets one path stack replace any lookup: a term shares exactly the
 * longest common prefix with its predecessor. */
static int build_trie(const nf_matcher *m, build *b, sort_key *keys) {
  uint32_t path[TERM_MAX + 1];
  size_t cap = 1024;
  b->t_first = malloc(cap * sizeof(uint32_t));
  b->t_next = malloc(cap * sizeof(uint32_t));
  b->t_last = malloc(cap * sizeof(uint32_t));
  b->t_label = malloc(cap);
  if (!b->t_first || !b->t_next || !b->t_last || !b->t_label) return -1;
  b->t_cap = cap;
  b->t_n = 1;
  b->t_first[0] = b->t_next[0] = b->t_last[0] = 0;
  b->t_label[0] = 0;
  path[0] = 0;
  for (size_t k = 0; k < m->nterms; k++) {
    const sort_key *cur = &keys[k];
    uint32_t lcp = 0;
    if (k > 0) {
      const sort_key *prev = &keys[k - 1];
      uint32_t n = cur->len < prev->len ? cur->len : prev->len;
      while (lcp < n && cur->p[lcp] == prev->p[lcp]) lcp++;
    }
    for (uint32_t d = lcp; d < cur->len; d++)
      if (trie_child(b, path[d], cur->p[d], &path[d + 1])) return -1;
    b->term_node[cur->idx] = path[cur->len];
  }
  return 0;
}

/* Renumbers the trie breadth-first.  The queue is the new numbering itself:
 * order[new id] = old id.  Children of one state get consecutive ids. */
static int number_bfs(build *b, size_t nterms) {
  size_t n = b->t_n;
  uint32_t *order = malloc(n * sizeof(uint32_t));
  uint32_t *newid = malloc(n * sizeof(uint32_t));
  b->first = malloc((n + 1) * sizeof(uint32_t));
  b->label = malloc(n);
  if (!order || !newid || !b->first || !b->label) {
    free(order);
    free(newid);
    return -1;
  }
  size_t tail = 1;
  order[0] = 0;
  newid[0] = 0;
  for (size_t h = 0; h < n; h++) {
    uint32_t old = order[h];
    b->first[h] = (uint32_t)tail;
    b->label[h] = b->t_label[old];
    for (uint32_t c = b->t_first[old]; c; c = b->t_next[c]) {
      newid[c] = (uint32_t)tail;
      order[tail++] = c;
    }
  }
  b->first[n] = (uint32_t)n;
  b->n = (uint32_t)n;
  for (size_t k = 0; k < nterms; k++) b->term_node[k] = newid[b->term_node[k]];
  free(order);
  free(newid);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Compile, step 2: classes, outputs, failure links, rows                 */
/* ---------------------------------------------------------------------- */

/* One class per byte that labels some edge, in byte order; class 0 is
 * "no term contains this byte". */
static void make_classes(nf_matcher *m, const build *b) {
  uint8_t used[256] = {0};
  for (uint32_t s = 1; s < b->n; s++) used[b->label[s]] = 1;
  uint32_t k = 0;
  for (int c = 0; c < 256; c++) m->cls[c] = used[c] ? (uint8_t)++k : 0;
  m->nclass = k + 1;
}

/* Groups the outputs by final state, in add order within a state (so
 * duplicates of one term report their values in add order).  out_start
 * first holds counts, then serves as the fill cursor, then is shifted
 * back into range starts: no extra array. */
static int make_outputs(nf_matcher *m, const build *b) {
  uint32_t n = b->n;
  m->out_start = calloc((size_t)n + 1, sizeof(uint32_t));
  m->outs = malloc((m->nterms ? m->nterms : 1) * sizeof(output));
  if (!m->out_start || !m->outs) return -1;
  for (size_t i = 0; i < m->nterms; i++) m->out_start[b->term_node[i] + 1]++;
  for (uint32_t s = 0; s < n; s++) m->out_start[s + 1] += m->out_start[s];
  for (size_t i = 0; i < m->nterms; i++) {
    const pending *t = &m->terms[i];
    const uint8_t *p = (const uint8_t *)m->arena + t->off;
    output *o = &m->outs[m->out_start[b->term_node[i]]++];
    o->value = t->value;
    o->len = (uint8_t)t->len;
    if (t->len > m->maxlen) m->maxlen = t->len;
    o->flags = (uint8_t)((is_alnum(p[0]) ? START_ALNUM : 0) |
                         (is_alnum(p[t->len - 1]) ? END_ALNUM : 0));
  }
  for (uint32_t s = n; s > 0; s--) m->out_start[s] = m->out_start[s - 1];
  m->out_start[0] = 0;
  return 0;
}

static int owns_outputs(const nf_matcher *m, uint32_t s) {
  return m->out_start[s + 1] != m->out_start[s];
}

/* State id of an encoded state (compile time only: it divides). */
static uint32_t decode(const nf_matcher *m, uint32_t v) {
  return (v & SPARSE_BIT) ? (v & ID_MASK) : (v & ~OUT_BIT) / m->nclass;
}

/* Goto-with-failure from state F on byte C, during compile.  Dense rows
 * of states before the current one are complete, so the walk ends at the
 * first dense state on the failure chain. */
static uint32_t delta_id(const nf_matcher *m, const build *b, uint32_t f,
                         uint8_t c) {
  while (f >= m->ndense) {
    for (uint32_t k = b->first[f]; k < b->first[f + 1]; k++)
      if (b->label[k] == c) return k;
    f = b->fail[f];
  }
  return decode(m, m->dense[(size_t)f * m->nclass + m->cls[c]]);
}

/* Fills the DFA row of dense state S: its failure state's row (complete,
 * since failure states are shallower) overlaid with S's own edges. */
static void fill_row(nf_matcher *m, const build *b, uint32_t s) {
  size_t w = m->nclass;
  uint32_t *row = m->dense + (size_t)s * w;
  if (s == 0)
    memset(row, 0, w * sizeof(uint32_t));
  else
    memcpy(row, m->dense + (size_t)b->fail[s] * w, w * sizeof(uint32_t));
  for (uint32_t k = b->first[s]; k < b->first[s + 1]; k++)
    row[m->cls[b->label[k]]] = b->enc[k];
}

/* Failure links, output links, encoded states and dense rows, all in one
 * BFS pass: a state's children are finished before its row is filled. */
static int make_automaton(nf_matcher *m, build *b) {
  uint32_t n = b->n, K = m->ndense;
  m->dense = malloc((size_t)K * m->nclass * sizeof(uint32_t));
  m->out_link = malloc((size_t)n * sizeof(uint32_t));
  b->fail = malloc((size_t)n * sizeof(uint32_t));
  b->enc = malloc((size_t)n * sizeof(uint32_t));
  if (!m->dense || !m->out_link || !b->fail || !b->enc) return -1;
  b->fail[0] = m->out_link[0] = b->enc[0] = 0;
  for (uint32_t s = 0; s < n; s++) {
    for (uint32_t c = b->first[s]; c < b->first[s + 1]; c++) {
      uint32_t f = s == 0 ? 0 : delta_id(m, b, b->fail[s], b->label[c]);
      b->fail[c] = f;
      m->out_link[c] = owns_outputs(m, f) ? f : m->out_link[f];
      int out = owns_outputs(m, c) || m->out_link[c] != 0;
      b->enc[c] = (c < K ? c * m->nclass : (SPARSE_BIT | c)) |
                  (out ? OUT_BIT : 0);
    }
    if (s < K) fill_row(m, b, s);
  }
  return 0;
}

/* Encoded state V with its sparse id renumbered through PERM. */
static uint32_t remap(uint32_t v, const uint32_t *perm) {
  if (!(v & SPARSE_BIT)) return v;
  return (v & (OUT_BIT | SPARSE_BIT)) | perm[v & ID_MASK];
}

/* Depth-first order for the sparse states: PERM maps BFS ids to new ids
 * (dense ids are kept), SIZE gets subtree sizes.  Every sparse subtree
 * hangs off a dense state; an explicit stack replaces recursion. */
static int order_sparse(const nf_matcher *m, const build *b, uint32_t *perm,
                        uint32_t *size) {
  uint32_t n = b->n, K = m->ndense, next = K;
  for (uint32_t q = n; q-- > 0;) {
    size[q] = 1;
    for (uint32_t c = b->first[q]; c < b->first[q + 1]; c++) size[q] += size[c];
  }
  uint32_t *stack = malloc(((size_t)n - K + 1) * sizeof(uint32_t));
  if (!stack) return -1;
  for (uint32_t q = 0; q < K; q++) perm[q] = q;
  for (uint32_t q = 0; q < K; q++) {
    for (uint32_t c = b->first[q]; c < b->first[q + 1]; c++) {
      if (c < K) continue;
      size_t top = 0;
      stack[top++] = c;
      while (top) {
        uint32_t x = stack[--top];
        perm[x] = next++;
        for (uint32_t y = b->first[x + 1]; y-- > b->first[x];) stack[top++] = y;
      }
    }
  }
  free(stack);
  return 0;
}

/* Re-groups the outputs and output links under the new ids. */
static int renumber_outputs(nf_matcher *m, const uint32_t *perm, uint32_t n) {
  uint32_t *inv = malloc((size_t)n * sizeof(uint32_t));
  uint32_t *start = malloc(((size_t)n + 1) * sizeof(uint32_t));
  uint32_t *link = malloc((size_t)n * sizeof(uint32_t));
  output *outs = malloc((m->nterms ? m->nterms : 1) * sizeof(output));
  if (!inv || !start || !link || !outs) {
    free(inv), free(start), free(link), free(outs);
    return -1;
  }
  for (uint32_t q = 0; q < n; q++) inv[perm[q]] = q;
  uint32_t o = 0;
  for (uint32_t id = 0; id < n; id++) {
    uint32_t old = inv[id];
    start[id] = o;
    for (uint32_t k = m->out_start[old]; k < m->out_start[old + 1]; k++)
      outs[o++] = m->outs[k];
    link[id] = perm[m->out_link[old]];
  }
  start[n] = o;
  free(inv);
  free(m->out_start), free(m->out_link), free(m->outs);
  m->out_start = start;
  m->out_link = link;
  m->outs = outs;
  return 0;
}

/* Lays the sparse states out depth-first as records and rewrites every
 * reference to them (dense rows, failure links, output links). */
static int pack_sparse(nf_matcher *m, const build *b) {
  uint32_t n = b->n, K = m->ndense, nsp = n - K;
  uint32_t *perm = malloc((size_t)n * sizeof(uint32_t));
  uint32_t *size = malloc((size_t)n * sizeof(uint32_t));
  m->sp = malloc((nsp ? nsp : 1) * sizeof(srec));
  int rc = (!perm || !size || !m->sp) ? -1 : order_sparse(m, b, perm, size);
  if (rc == 0) {
    size_t cells = (size_t)K * m->nclass;
    for (size_t i = 0; i < cells; i++) m->dense[i] = remap(m->dense[i], perm);
    for (uint32_t q = K; q < n; q++) {
      srec *r = &m->sp[perm[q] - K];
      r->fail = remap(b->enc[b->fail[q]], perm);
      r->end = perm[q] + size[q];
      r->label = b->label[q];
      r->out = (b->enc[q] & OUT_BIT) != 0;
    }
    rc = renumber_outputs(m, perm, n);
  }
  free(perm);
  free(size);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Compile driver                                                         */
/* ---------------------------------------------------------------------- */

static void free_build(build *b) {
  free(b->t_first);
  free(b->t_next);
  free(b->t_last);
  free(b->t_label);
  free(b->term_node);
  free(b->first);
  free(b->label);
  free(b->fail);
  free(b->enc);
}

static void free_compiled(nf_matcher *m) {
  free(m->dense);
  free(m->sp);
  free(m->out_start);
  free(m->out_link);
  free(m->outs);
  m->dense = m->out_start = m->out_link = NULL;
  m->sp = NULL;
  m->outs = NULL;
}

/* Sorted trie, renumbered breadth-first; the creation-order arrays are
 * released as soon as the BFS numbering exists. */
static int compile_trie(nf_matcher *m, build *b) {
  size_t nt = m->nterms ? m->nterms : 1;
  sort_key *keys = malloc(nt * sizeof(sort_key));
  b->term_node = malloc(nt * sizeof(uint32_t));
  if (!keys || !b->term_node) {
    free(keys);
    return -1;
  }
  for (size_t i = 0; i < m->nterms; i++) {
    keys[i].p = (const uint8_t *)m->arena + m->terms[i].off;
    keys[i].len = m->terms[i].len;
    keys[i].idx = (uint32_t)i;
  }
  qsort(keys, m->nterms, sizeof(sort_key), key_cmp);
  int rc = build_trie(m, b, keys);
  free(keys);
  if (rc == 0) rc = number_bfs(b, m->nterms);
  free(b->t_first);
  free(b->t_next);
  free(b->t_last);
  free(b->t_label);
  b->t_first = b->t_next = b->t_last = NULL;
  b->t_label = NULL;
  return rc;
}

/* How many states get a dense row: as many as the budget allows, at
 * least the root, and few enough that row offsets fit in 30 bits. */
static uint32_t dense_count(const nf_matcher *m, uint32_t n) {
  size_t k = m->dense_limit / ((size_t)m->nclass * sizeof(uint32_t));
  if (k > ID_MASK / m->nclass) k = ID_MASK / m->nclass;
  if (k < 1) k = 1;
  return k < n ? (uint32_t)k : n;
}

int nf_matcher_compile(nf_matcher *m) {
  if (!m) return -1;
  if (m->compiled) return 0;
  build b;
  memset(&b, 0, sizeof(b));
  int rc = compile_trie(m, &b);
  if (rc == 0) {
    make_classes(m, &b);
    m->ndense = dense_count(m, b.n);
    m->nstates = b.n;
    rc = make_outputs(m, &b);
  }
  if (rc == 0) rc = make_automaton(m, &b);
  if (rc == 0) rc = pack_sparse(m, &b);
  free_build(&b);
  if (rc != 0) {
    free_compiled(m);
    return -1;
  }
  size_t n = m->nstates, nsp = n - m->ndense;
  m->bytes = sizeof(*m) +
             (size_t)m->ndense * m->nclass * sizeof(uint32_t) +
             nsp * sizeof(srec) + (n + 1) * sizeof(uint32_t) +
             n * sizeof(uint32_t) + m->nterms * sizeof(output);
  free(m->arena);
  free(m->terms);
  m->arena = NULL;
  m->terms = NULL;
  m->arena_len = m->arena_cap = m->terms_cap = 0;
  m->compiled = 1;
  return 0;
}

void nf_matcher_free(nf_matcher *m) {
  if (!m) return;
  free_compiled(m);
  free(m->arena);
  free(m->terms);
  free(m);
}

/* ---------------------------------------------------------------------- */
/* Scanning                                                               */
/* ---------------------------------------------------------------------- */

/* One step from sparse state Q on byte C.  Children are visited in
 * label order (first child right after Q, each next one at the end of
 * the previous one's subtree); a miss follows failure links until a dense
 * state answers from its row. */
static uint32_t sparse_step(const nf_matcher *m, uint32_t q, uint8_t c) {
  const uint32_t K = m->ndense;
  const srec *sp = m->sp;
  for (;;) {
    uint32_t end = sp[q - K].end;
    for (uint32_t k = q + 1; k < end; k = sp[k - K].end) {
      uint8_t l = sp[k - K].label;
      if (l == c) return SPARSE_BIT | k | (sp[k - K].out ? OUT_BIT : 0);
      if (l > c) break;
    }
    uint32_t f = sp[q - K].fail;
    if (!(f & SPARSE_BIT)) return m->dense[(f & ~OUT_BIT) + m->cls[c]];
    q = f & ID_MASK;
  }
}

/* Reports every term ending at END in state V, longest first.  Returns
 * non-zero when the callback asked to stop. */
static int report(const nf_matcher *m, uint32_t v, const uint8_t *t,
                  size_t len, size_t end, nf_match_cb cb, void *ctx) {
  uint32_t s = (v & SPARSE_BIT) ? (v & ID_MASK)
                                : (v & ~OUT_BIT) / m->nclass;
  int end_ok = end >= len || !is_alnum(t[end]);
  do {
    for (uint32_t k = m->out_start[s]; k < m->out_start[s + 1]; k++) {
      const output *o = &m->outs[k];
      size_t start = end - o->len;
      if ((o->flags & END_ALNUM) && !end_ok) continue;
      if ((o->flags & START_ALNUM) && start > 0 && is_alnum(t[start - 1]))
        continue;
      if (cb(ctx, o->value, start, end)) return 1;
    }
    s = m->out_link[s];
  } while (s != 0);
  return 0;
}

/* A lane scans one slice of the text.  It reads from POS to END and
 * reports matches ending after FROM; bytes before FROM only rebuild the
 * automaton state (warm-up).  Lanes other than the first buffer their
 * matches as (state, end) pairs until the lanes before them are done. */
typedef struct pend {
  uint32_t v;
  size_t end;
} pend;

typedef struct lane {
  size_t pos, end, from;
  uint32_t v, n;
  pend buf[LANE_BUF];
} lane;

/* One step of any state on byte C. */
static uint32_t step(const nf_matcher *m, uint32_t v, uint8_t c) {
  if (v & SPARSE_BIT) return sparse_step(m, v & ID_MASK, c);
  return m->dense[v + m->cls[c]];
}

/* Runs lane L alone to its end, reporting directly. */
static int run_single(const nf_matcher *m, const uint8_t *t, size_t len,
                      lane *l, nf_match_cb cb, void *ctx) {
  const uint32_t *dense = m->dense;
  const uint8_t *cls = m->cls;
  uint32_t v = l->v;
  size_t i = l->pos, stop = l->end;
  while (i < stop) {
    if (v & SPARSE_BIT) {
      v = sparse_step(m, v & ID_MASK, t[i++]);
    } else {
      /* Hot loop: dense states with nothing to report. */
      do
        v = dense[v + cls[t[i++]]];
      while (!(v & (OUT_BIT | SPARSE_BIT)) && i < stop);
    }
    if (v & OUT_BIT) {
      if (i > l->from && !end_blocked(t, len, i) &&
          report(m, v, t, len, i, cb, ctx))
        return 1;
      v &= ~OUT_BIT;
    }
  }
  l->v = v; /* the next window starts from here */
  l->pos = i;
  return 0;
}

/* Queues lane L's match (state *V ending at END) if it is past warm-up.
 * Returns non-zero when the buffer is full. */
static int queue(lane *l, uint32_t *v, const uint8_t *t, size_t len,
                 size_t end) {
  if (*v & OUT_BIT) {
    if (end > l->from && !end_blocked(t, len, end)) {
      l->buf[l->n].v = *v;
      l->buf[l->n].end = end;
      l->n++;
    }
    *v &= ~OUT_BIT;
  }
  return l->n == LANE_BUF;
}

#define LANE_LOAD(k)          \
  uint32_t v##k = v[k];         \
  const uint8_t *p##k = p[k];
#define LANE_STEP(k) v##k = dense[v##k + cls[p##k[s]]];
#define LANE_OR(k) v##k |
#define LANE_STORE(k) v[k] = v##k;

/* The hot loop: all lanes in dense states, one byte each per round, until
 * a lane needs attention (a match or a sparse state) or STEPS is reached.
 * Lane states live in registers; the loads of the lanes are independent,
 * so the CPU overlaps their latencies.  Returns the new step count. */
static size_t lockstep(const nf_matcher *m, const uint8_t *const *p,
                       uint32_t *v, size_t s, size_t steps) {
  const uint32_t *dense = m->dense;
  const uint8_t *cls = m->cls;
  FOR_LANES(LANE_LOAD)
  while (s < steps) {
    FOR_LANES(LANE_STEP)
    s++;
    if ((FOR_LANES(LANE_OR) 0) & (OUT_BIT | SPARSE_BIT)) break;
  }
  FOR_LANES(LANE_STORE)
  return s;
}

/* Advances all lanes together: LANES independent chains of loads keep
 * the memory system busy instead of waiting on one.  Stops when the lanes
 * reach their (common) length or a buffer fills. */
static int run_lanes(const nf_matcher *m, const uint8_t *t, size_t len,
                     lane *ln, nf_match_cb cb, void *ctx) {
  const uint8_t *p[LANES];
  uint32_t v[LANES], any = 0;
  size_t steps = ln[0].end - ln[0].pos, s = 0;
  for (int k = 0; k < LANES; k++) {
    p[k] = t + ln[k].pos;
    v[k] = ln[k].v;
    any |= v[k];
  }
  int full = 0;
  while (s < steps && !full) {
    if (any & SPARSE_BIT) {
      for (int k = 0; k < LANES; k++) v[k] = step(m, v[k], p[k][s]);
      s++;
    } else {
      s = lockstep(m, p, v, s, steps);
    }
    any = 0;
    for (int k = 0; k < LANES; k++) any |= v[k];
    if (any & OUT_BIT) {
      size_t e0 = ln[0].pos + s;
      if ((v[0] & OUT_BIT) && !end_blocked(t, len, e0) &&
          report(m, v[0], t, len, e0, cb, ctx))
        return 1;
      v[0] &= ~OUT_BIT;
      for (int k = 1; k < LANES; k++)
        full |= queue(&ln[k], &v[k], t, len, ln[k].pos + s);
      any &= ~OUT_BIT;
    }
  }
  for (int k = 0; k < LANES; k++) {
    ln[k].v = v[k];
    ln[k].pos += s;
  }
  return 0;
}

/* Scans one window of LANES slices, all reading R bytes in lockstep.
 * Lane 0 starts at BASE in state *V (the state carried over from the
 * previous window); lane k > 0 starts WARM bytes before its slice, in the
 * root state.  On return *V is the state at the end of the window. */
static int run_window(const nf_matcher *m, const uint8_t *t, size_t len,
                      size_t base, size_t r, uint32_t *v, nf_match_cb cb,
                      void *ctx) {
  size_t warm = m->maxlen, d = r - warm;
  lane ln[LANES];
  for (int k = 0; k < LANES; k++) {
    ln[k].from = k == 0 ? base : base + r + (size_t)(k - 1) * d;
    ln[k].pos = k == 0 ? base : ln[k].from - warm;
    ln[k].end = ln[k].pos + r;
    ln[k].v = k == 0 ? *v : 0;
    ln[k].n = 0;
  }
  if (run_lanes(m, t, len, ln, cb, ctx)) return 1;
  for (int k = 0; k < LANES; k++) {
    for (uint32_t q = 0; q < ln[k].n; q++)
      if (report(m, ln[k].buf[q].v, t, len, ln[k].buf[q].end, cb, ctx))
        return 1;
    if (run_single(m, t, len, &ln[k], cb, ctx)) return 1;
  }
  *v = ln[LANES - 1].v;
  return 0;
}

void nf_matcher_scan(const nf_matcher *m, const char *text, size_t len,
                     nf_match_cb cb, void *ctx) {
  if (!m || !m->compiled || !text || !cb) return;
  const uint8_t *t = (const uint8_t *)text;
  size_t warm = m->maxlen;
  size_t r = LANE_SLICE > 8 * warm ? LANE_SLICE : 8 * warm;
  size_t window = r + (LANES - 1) * (r - warm);
  size_t base = 0;
  uint32_t v = 0;
  for (; LANES > 1 && len - base >= window; base += window)
    if (run_window(m, t, len, base, r, &v, cb, ctx)) return;
  lane rest = {base, len, base, v, 0, {{0, 0}}};
  run_single(m, t, len, &rest, cb, ctx);
}
