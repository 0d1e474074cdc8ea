/*
 * matcher.c -- Aho-Corasick multi-pattern matcher over bytes.
 *
 * Overview
 * --------
 * Terms are collected by nf_matcher_add and compiled once into an
 * Aho-Corasick automaton.  Scanning costs one automaton step per text byte
 * whatever the number of terms, plus the work of reporting matches.  The
 * design is driven by the memory hierarchy: a step is one dependent load,
 * so what matters is that the states the scan visits all the time stay in
 * cache, and that several loads are in flight at once.
 *
 * States are first numbered breadth-first (root = 0): shallow states, the
 * ones the scan visits nearly all the time, come first.  Two tiers:
 *
 *   - Dense states, ids [0, K): a full DFA row each, failure transitions
 *     resolved at compile time, one 16-bit entry per byte class:
 *         entry = dense[id * classes + cls[byte]]
 *     An entry holds the next state's id (14 bits) plus two flags, D_OUT
 *     (the state reports terms) and D_ESC (the next state is sparse; the
 *     14 bits index esc[], which holds its full 32-bit value).  16-bit
 *     entries halve the cache footprint of the hot rows; the price is
 *     K <= 16384 and at most 16384 sparse children of dense states, which
 *     covers the hot upper levels of term sets far beyond 10,000 terms.
 *     K is also bounded by a byte budget (nf_matcher_set_dense_limit).
 *     Big tables are backed by transparent huge pages where available:
 *     the scan jumps around the table and TLB misses are as costly as
 *     cache misses on virtual machines.
 *   - Sparse states, ids [K, N): goto/failure form, one 12-byte record
 *     each, renumbered depth-first.  A state's first child is the next
 *     record and its subtree ends at rec.end, where its next sibling
 *     starts, so the tail of a long term is a run of consecutive records.
 *     A missing edge follows failure links until a dense state answers.
 *
 * Byte classes: only bytes that occur in some term get a column; all other
 * bytes share class 0, which always leads back to the root.  Columns follow
 * byte order, so the likely next columns of a state share cache lines (the
 * UTF-8 lead bytes of CJK text, for instance, are adjacent).
 *
 * A scan's current state ("lane value", uint32) is either a dense entry
 * without D_ESC, or SPARSE_BIT | id with OUT_BIT for "reports terms".
 *
 * Lanes: one chain of dependent loads leaves the CPU idle while it waits.
 * Long texts are cut into windows of LANES slices that are scanned in
 * lockstep, so LANES independent loads overlap.  A slice other than the
 * first starts maxlen bytes early from the root: the automaton state
 * depends only on the last maxlen bytes (no state is deeper), so it is
 * exact by the time the slice proper begins.  Slices after the first
 * queue their matches (state, end) in a small buffer and report them once
 * the slices before them are done, which keeps reports in end order; a
 * full buffer just stops the lockstep and the rest of the window runs one
 * slice at a time.
 *
 * Outputs: each term's (value, length, boundary flags) sits in one flat
 * array, grouped by final state: state s owns [out_start[s],
 * out_start[s+1]).  Shorter terms ending at the same place are reached via
 * out_link[s], the nearest state on the failure chain that owns outputs
 * (0 = none; the root owns none since terms are non-empty).  Memory stays
 * linear; a match walks the chain.
 *
 * Word boundaries are checked when a match is reported: start = end - len,
 * and an end of the term that is an ASCII letter/digit needs the text byte
 * outside it not to be one.  All terms ending in one state end with the
 * same byte (the one just read), so "inside a word" is rejected before
 * looking at any output.
 *
 * Compilation never recurses: terms are sorted, the trie is built from the
 * sorted list with one path stack, renumbered with an explicit queue (BFS)
 * and stack (DFS), and rows and failure links are filled in BFS order (a
 * failure target is shallower, so its row is complete by then).
 *
 * Invariants
 *   - N < 2^30 (add() bounds the total term bytes); K <= 16384 and the
 *     sparse children of dense states number at most 16384.
 *   - The root is dense and never reports.
 *   - Children of a sparse state are sparse; parents of dense states dense.
 *   - scan() reads only TEXT[0, LEN) and never writes to the matcher, so
 *     concurrent scans are safe.
 */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise */
#endif

#include "matcher.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define TERM_MAX 255

/* Dense entries (16 bits). */
#define D_OUT 0x8000u
#define D_ESC 0x4000u
#define D_IDX 0x3FFFu
#define DENSE_MAX 16384u

/* Sparse lane values (32 bits). */
#define OUT_BIT 0x80000000u
#define SPARSE_BIT 0x40000000u
#define ID_MASK 0x3FFFFFFFu

#define DENSE_DEFAULT ((size_t)8 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

/* Lockstep scanning: lane count, slice size floor, per-lane queue. */
#define LANES 8
#define FOR_LANES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#ifndef SLICE_MIN
#define SLICE_MIN 512
#endif
#define LANE_BUF 128

enum { START_ALNUM = 1, END_ALNUM = 2 };

/* A term waiting for compile: LEN bytes at arena[off]. */
typedef struct pending {
  uint32_t off;
  uint32_t len;
  uint32_t value;
} pending;

/* A sparse state (see the top comment). */
typedef struct srec {
  uint32_t fail; /* lane value of the failure target */
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
  uint32_t nclass;  /* row width */
  uint32_t ndense;  /* K */
  uint32_t nesc;    /* sparse children of dense states */
  uint32_t nstates; /* N */
  uint32_t maxlen;  /* longest term: how far back a state depends */
  uint16_t *dense;  /* K rows of nclass entries */
  uint32_t *esc;    /* lane values of states K .. K+nesc-1 */
  srec *sp;         /* [id - K] */
  uint32_t *out_start; /* N + 1 */
  uint32_t *out_link;  /* N */
  output *outs;        /* nterms */
  size_t bytes;        /* memory held once compiled */
};

static int is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

/* All terms ending in one state end with the byte just read, T[END-1].
 * When it and T[END] are both alphanumeric no term can end here. */
static int end_blocked(const uint8_t *t, size_t len, size_t end) {
  return end < len && is_alnum(t[end]) && is_alnum(t[end - 1]);
}

/* Allocates a table the scan will jump around in.  From 1 MiB up, align
 * it to huge pages and ask for them; *HELD gets the bytes reserved. */
static void *table_alloc(size_t size, size_t *held) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (size >= HUGE_PAGE / 2 && !getenv("NOHUGE")) {
    size_t r = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, r);
    if (p) {
      (void)madvise(p, r, MADV_HUGEPAGE); /* a hint; failure is harmless */
      *held = r;
      return p;
    }
  }
#endif
  *held = size;
  return malloc(size ? size : 1);
}

/* ---------------------------------------------------------------------- */
/* Collecting terms                                                       */
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

/* Grows *P (elements of SIZE bytes) to hold at least NEED elements. */
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
  /* Ids are 30-bit and states never outnumber term bytes + 1. */
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
/* Compile, step 1: sorted trie, breadth-first numbering                  */
/* ---------------------------------------------------------------------- */

/* Scratch state of one compile; all of it is freed at the end. */
typedef struct build {
  /* Trie in creation order: first child, next sibling, last child. */
  uint32_t *t_first, *t_next, *t_last;
  uint8_t *t_label;
  size_t t_n, t_cap;
  uint32_t *term_node; /* per term, in add order */
  /* Breadth-first numbering. */
  uint32_t n;
  uint32_t *first; /* n + 1: first child of each state */
  uint8_t *label;  /* label of the edge into each state */
  uint32_t *fail;  /* failure state */
  uint32_t *val;   /* lane value (sparse ids still breadth-first) */
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
/* Compile, step 2: classes, outputs, tiers                               */
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

/* How many states get a dense row: within the byte budget, addressable
 * with 14 bits, with at least the root, and with few enough sparse
 * children of dense states (ids K .. first[K]-1) to index esc[]. */
static void choose_dense(nf_matcher *m, const build *b) {
  size_t k = m->dense_limit / ((size_t)m->nclass * sizeof(uint16_t));
  if (k > DENSE_MAX) k = DENSE_MAX;
  if (k > b->n) k = b->n;
  if (k < 1) k = 1;
  while (k > 1 && b->first[k] - k > DENSE_MAX) k--;
  m->ndense = (uint32_t)k;
  m->nesc = b->first[k] - (uint32_t)k;
}

/* Groups the outputs by final state, in add order within a state (so the
 * values of a repeated term come out in add order).  out_start first holds
 * counts, then serves as the fill cursor, then is shifted back. */
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
    o->flags = (uint8_t)((is_alnum(p[0]) ? START_ALNUM : 0) |
                         (is_alnum(p[t->len - 1]) ? END_ALNUM : 0));
    if (t->len > m->maxlen) m->maxlen = t->len;
  }
  for (uint32_t s = n; s > 0; s--) m->out_start[s] = m->out_start[s - 1];
  m->out_start[0] = 0;
  return 0;
}

static int owns_outputs(const nf_matcher *m, uint32_t s) {
  return m->out_start[s + 1] != m->out_start[s];
}

/* Goto-with-failure from state F on byte C, during compile, in BFS ids.
 * The rows of all states before the current one are complete, so the
 * walk ends at the first dense state on the failure chain. */
static uint32_t delta_id(const nf_matcher *m, const build *b, uint32_t f,
                         uint8_t c) {
  while (f >= m->ndense) {
    for (uint32_t k = b->first[f]; k < b->first[f + 1]; k++)
      if (b->label[k] == c) return k;
    f = b->fail[f];
  }
  uint16_t e = m->dense[(size_t)f * m->nclass + m->cls[c]];
  return (e & D_ESC) ? m->ndense + (e & D_IDX) : (e & D_IDX);
}

/* Fills the row of dense state S: its failure state's row (complete, as
 * failure states are shallower) overlaid with S's own edges. */
static void fill_row(nf_matcher *m, const build *b, uint32_t s) {
  size_t w = m->nclass;
  uint16_t *row = m->dense + (size_t)s * w;
  if (s == 0)
    memset(row, 0, w * sizeof(uint16_t));
  else
    memcpy(row, m->dense + (size_t)b->fail[s] * w, w * sizeof(uint16_t));
  for (uint32_t k = b->first[s]; k < b->first[s + 1]; k++)
    row[m->cls[b->label[k]]] =
        (uint16_t)(k < m->ndense ? b->val[k] : (D_ESC | (k - m->ndense)));
}

/* Failure links, output links, lane values and dense rows in one BFS
 * pass: a state's children are finished before its row is filled. */
static int make_automaton(nf_matcher *m, build *b) {
  uint32_t n = b->n, K = m->ndense;
  size_t cells = (size_t)K * m->nclass;
  size_t held;
  m->dense = table_alloc(cells * sizeof(uint16_t), &held);
  m->bytes += held;
  m->out_link = malloc((size_t)n * sizeof(uint32_t));
  b->fail = malloc((size_t)n * sizeof(uint32_t));
  b->val = malloc((size_t)n * sizeof(uint32_t));
  if (!m->dense || !m->out_link || !b->fail || !b->val) return -1;
  b->fail[0] = m->out_link[0] = b->val[0] = 0;
  for (uint32_t s = 0; s < n; s++) {
    for (uint32_t c = b->first[s]; c < b->first[s + 1]; c++) {
      uint32_t f = s == 0 ? 0 : delta_id(m, b, b->fail[s], b->label[c]);
      b->fail[c] = f;
      m->out_link[c] = owns_outputs(m, f) ? f : m->out_link[f];
      int out = owns_outputs(m, c) || m->out_link[c] != 0;
      b->val[c] = c < K ? (c | (out ? D_OUT : 0))
                        : (SPARSE_BIT | c | (out ? OUT_BIT : 0));
    }
    if (s < K) fill_row(m, b, s);
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Compile, step 3: depth-first sparse records                            */
/* ---------------------------------------------------------------------- */

/* Lane value V with a sparse id renumbered through PERM. */
static uint32_t remap(uint32_t v, const uint32_t *perm) {
  if (!(v & SPARSE_BIT)) return v;
  return (v & (OUT_BIT | SPARSE_BIT)) | perm[v & ID_MASK];
}

/* Depth-first order for the sparse states: PERM maps BFS ids to final ids
 * (dense ids stay), SIZE gets subtree sizes.  Every sparse subtree hangs
 * off a dense state; an explicit stack replaces recursion. */
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
  for (uint32_t r = K; r < K + m->nesc; r++) { /* subtree roots */
    size_t top = 0;
    stack[top++] = r;
    while (top) {
      uint32_t x = stack[--top];
      perm[x] = next++;
      for (uint32_t y = b->first[x + 1]; y-- > b->first[x];) stack[top++] = y;
    }
  }
  free(stack);
  return 0;
}

/* Re-groups outputs and output links under the final ids. */
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

/* Lays the sparse states out depth-first and fills esc[].  Dense rows
 * need no change: their D_ESC indices go through esc[]. */
static int pack_sparse(nf_matcher *m, const build *b) {
  uint32_t n = b->n, K = m->ndense, nsp = n - K;
  size_t held;
  uint32_t *perm = malloc((size_t)n * sizeof(uint32_t));
  uint32_t *size = malloc((size_t)n * sizeof(uint32_t));
  m->esc = malloc((m->nesc ? m->nesc : 1) * sizeof(uint32_t));
  m->sp = table_alloc((size_t)nsp * sizeof(srec), &held);
  m->bytes += held + m->nesc * sizeof(uint32_t);
  int rc = (!perm || !size || !m->esc || !m->sp) ? -1
                                                 : order_sparse(m, b, perm, size);
  if (rc == 0) {
    for (uint32_t i = 0; i < m->nesc; i++) m->esc[i] = remap(b->val[K + i], perm);
    for (uint32_t q = K; q < n; q++) {
      srec *r = &m->sp[perm[q] - K];
      r->fail = remap(b->val[b->fail[q]], perm);
      r->end = perm[q] + size[q];
      r->label = b->label[q];
      r->out = (b->val[q] & OUT_BIT) != 0;
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
  free(b->val);
}

static void free_compiled(nf_matcher *m) {
  free(m->dense);
  free(m->esc);
  free(m->sp);
  free(m->out_start);
  free(m->out_link);
  free(m->outs);
  m->dense = NULL;
  m->esc = m->out_start = m->out_link = NULL;
  m->sp = NULL;
  m->outs = NULL;
  m->bytes = 0;
}

/* Sorted trie, renumbered breadth-first; the creation-order arrays go as
 * soon as the numbering exists. */
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

int nf_matcher_compile(nf_matcher *m) {
  if (!m) return -1;
  if (m->compiled) return 0;
  build b;
  memset(&b, 0, sizeof(b));
  m->bytes = 0;
  int rc = compile_trie(m, &b);
  if (rc == 0) {
    make_classes(m, &b);
    choose_dense(m, &b);
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
  m->bytes += sizeof(*m) + ((size_t)m->nstates + 1) * sizeof(uint32_t) +
              (size_t)m->nstates * sizeof(uint32_t) +
              m->nterms * sizeof(output);
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
/* Scanning: single steps and reporting                                   */
/* ---------------------------------------------------------------------- */

/* Lane value of a dense entry. */
static uint32_t resolve(const nf_matcher *m, uint32_t e) {
  return (e & D_ESC) ? m->esc[e & D_IDX] : e;
}

static int has_out(uint32_t v) {
  return (v & SPARSE_BIT) ? (v & OUT_BIT) != 0 : (v & D_OUT) != 0;
}

static uint32_t without_out(uint32_t v) {
  return (v & SPARSE_BIT) ? (v & ~OUT_BIT) : (v & ~D_OUT);
}

/* Raw entry for dense lane value V on byte C. */
static uint32_t dense_step(const nf_matcher *m, uint32_t v, uint8_t c) {
  return m->dense[(size_t)(v & D_IDX) * m->nclass + m->cls[c]];
}

/* One step from sparse state Q on byte C.  Children are visited in label
 * order (the first right after Q, each next one where the previous one's
 * subtree ends); a miss follows failure links to a dense state. */
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
    if (!(f & SPARSE_BIT)) return resolve(m, dense_step(m, f, c));
    q = f & ID_MASK;
  }
}

/* One step of any lane value. */
static uint32_t step(const nf_matcher *m, uint32_t v, uint8_t c) {
  if (v & SPARSE_BIT) return sparse_step(m, v & ID_MASK, c);
  return resolve(m, dense_step(m, v, c));
}

/* Reports every term ending at END in state V, longest first.  Returns
 * non-zero when the callback asked to stop. */
static int report(const nf_matcher *m, uint32_t v, const uint8_t *t,
                  size_t len, size_t end, nf_match_cb cb, void *ctx) {
  uint32_t s = (v & SPARSE_BIT) ? (v & ID_MASK) : (v & D_IDX);
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

/* ---------------------------------------------------------------------- */
/* Scanning: lanes                                                        */
/* ---------------------------------------------------------------------- */

/* A queued match of a lane that may not report yet. */
typedef struct pend {
  uint32_t v;
  size_t end;
} pend;

/* A lane reads T[pos, end) and reports matches ending after FROM; the
 * bytes before FROM only rebuild the state (warm-up). */
typedef struct lane {
  size_t pos, end, from;
  uint32_t v, n;
  pend buf[LANE_BUF];
} lane;

/* Runs lane L alone to its end, reporting directly. */
static int run_single(const nf_matcher *m, const uint8_t *t, size_t len,
                      lane *l, nf_match_cb cb, void *ctx) {
  const uint16_t *dense = m->dense;
  const uint8_t *cls = m->cls;
  const size_t w = m->nclass;
  uint32_t v = l->v;
  size_t i = l->pos, stop = l->end;
  while (i < stop) {
    if (v & SPARSE_BIT) {
      v = sparse_step(m, v & ID_MASK, t[i++]);
    } else {
      do /* the hot loop: dense states with nothing to report */
        v = dense[(v & D_IDX) * w + cls[t[i++]]];
      while (!(v & (D_OUT | D_ESC)) && i < stop);
      v = resolve(m, v);
    }
    if (has_out(v)) {
      if (i > l->from && !end_blocked(t, len, i) &&
          report(m, v, t, len, i, cb, ctx))
        return 1;
      v = without_out(v);
    }
  }
  l->v = v; /* the next window starts from here */
  l->pos = i;
  return 0;
}

#define LANE_LOAD(k)  \
  uint32_t v##k = v[k]; \
  const uint8_t *p##k = p[k];
#define LANE_STEP(k) v##k = dense[(v##k & D_IDX) * w + cls[p##k[s]]];
#define LANE_OR(k) v##k |
#define LANE_STORE(k) v[k] = resolve(m, v##k);

/* The hot loop of the lanes: all of them in dense states, one byte each
 * per round, until one needs attention (a match, a sparse state) or STEPS
 * is reached.  Lane states live in registers; their loads are independent,
 * so the CPU overlaps the latencies.  Returns the new step count. */
static size_t lockstep(const nf_matcher *m, const uint8_t *const *p,
                       uint32_t *v, size_t s, size_t steps) {
  const uint16_t *dense = m->dense;
  const uint8_t *cls = m->cls;
  const size_t w = m->nclass;
  FOR_LANES(LANE_LOAD)
  while (s < steps) {
    FOR_LANES(LANE_STEP)
    s++;
    if ((FOR_LANES(LANE_OR) 0) & (D_OUT | D_ESC)) break;
  }
  FOR_LANES(LANE_STORE)
  return s;
}

/* Queues lane L's match in state V ending at END, unless it is warm-up or
 * inside a word.  Returns non-zero when the queue is full. */
static int queue(lane *l, uint32_t v, const uint8_t *t, size_t len,
                 size_t end) {
  if (end > l->from && !end_blocked(t, len, end)) {
    l->buf[l->n].v = v;
    l->buf[l->n].end = end;
    l->n++;
  }
  return l->n == LANE_BUF;
}

/* Advances all lanes of a window together until they reach their common
 * length or a queue fills.  Lane 0 reports at once, the others queue. */
static int run_lanes(const nf_matcher *m, const uint8_t *t, size_t len,
                     lane *ln, nf_match_cb cb, void *ctx) {
  const uint8_t *p[LANES];
  uint32_t v[LANES], sparse = 0;
  size_t steps = ln[0].end - ln[0].pos, s = 0;
  int full = 0;
  for (int k = 0; k < LANES; k++) {
    p[k] = t + ln[k].pos;
    v[k] = ln[k].v;
    sparse |= v[k] & SPARSE_BIT;
  }
  while (s < steps && !full) {
    if (sparse) {
      for (int k = 0; k < LANES; k++) v[k] = step(m, v[k], p[k][s]);
      s++;
    } else {
      s = lockstep(m, p, v, s, steps);
    }
    sparse = 0;
    for (int k = 0; k < LANES; k++) {
      if (has_out(v[k])) {
        size_t end = ln[k].pos + s;
        if (k > 0)
          full |= queue(&ln[k], v[k], t, len, end);
        else if (!end_blocked(t, len, end) &&
                 report(m, v[k], t, len, end, cb, ctx))
          return 1;
        v[k] = without_out(v[k]);
      }
      sparse |= v[k] & SPARSE_BIT;
    }
  }
  for (int k = 0; k < LANES; k++) {
    ln[k].v = v[k];
    ln[k].pos += s;
  }
  return 0;
}

/* Scans one window of LANES slices of R bytes each.  Lane 0 starts at
 * BASE in state *V, carried over from the previous window; lane k > 0
 * starts maxlen bytes before its slice, at the root.  On return *V is the
 * state at the end of the window. */
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
  /* A window is r + (LANES-1) * (r - warm) bytes; warm-up stays <= 1/8. */
  size_t r = SLICE_MIN > 8 * warm ? SLICE_MIN : 8 * warm;
  size_t span = r + (LANES - 1) * (r - warm), base = 0;
  uint32_t v = 0;
  if (len >= span) {
    /* Stretch the slices so the windows tile the text: no long tail. */
    size_t nwin = len / span;
    r = (len / nwin + (LANES - 1) * warm) / LANES;
    span = r + (LANES - 1) * (r - warm);
    for (; len - base >= span; base += span)
      if (run_window(m, t, len, base, r, &v, cb, ctx)) return;
  }
  lane rest;
  rest.pos = rest.from = base;
  rest.end = len;
  rest.v = v;
  rest.n = 0;
  run_single(m, t, len, &rest, cb, ctx);
}
