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

enum { START_ALNUM = 1, END_ALNUM = 2 };

/* A term waiting for compile: bytes at arena[off], LEN bytes. */
typedef struct pending {
  uint32_t off;
  uint32_t len;
  uint32_t value;
} pending;

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
  uint32_t *dense;    /* K * nclass encoded states */
  uint32_t *sp_first; /* [q-K], q in [K, N]: first child of q */
  uint32_t *sp_fail;  /* [q-K]: encoded failure target */
  uint8_t *sp_label;  /* [s-K]: label of the edge into s */
  uint32_t *out_start; /* N + 1 */
  uint32_t *out_link;  /* N */
  output *outs;        /* nterms */
  size_t bytes;        /* memory held by the compiled automaton */
};

static int is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
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

/* Keeps only what sparse states need at scan time. */
static int pack_sparse(nf_matcher *m, const build *b) {
  uint32_t K = m->ndense, nsp = b->n - K;
  m->sp_first = malloc(((size_t)nsp + 1) * sizeof(uint32_t));
  m->sp_fail = malloc((nsp ? nsp : 1) * sizeof(uint32_t));
  m->sp_label = malloc(nsp ? nsp : 1);
  if (!m->sp_first || !m->sp_fail || !m->sp_label) return -1;
  for (uint32_t q = 0; q < nsp; q++) {
    m->sp_first[q] = b->first[K + q];
    m->sp_fail[q] = b->enc[b->fail[K + q]];
    m->sp_label[q] = b->label[K + q];
  }
  m->sp_first[nsp] = b->first[b->n];
  return 0;
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
  free(m->sp_first);
  free(m->sp_fail);
  free(m->sp_label);
  free(m->out_start);
  free(m->out_link);
  free(m->outs);
  m->dense = m->sp_first = m->sp_fail = m->out_start = m->out_link = NULL;
  m->sp_label = NULL;
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
             (nsp + 1) * sizeof(uint32_t) + nsp * sizeof(uint32_t) + nsp +
             (n + 1) * sizeof(uint32_t) + n * sizeof(uint32_t) +
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
/* Scanning                                                               */
/* ---------------------------------------------------------------------- */

/* One step from sparse state Q on byte C.  Labels are sorted, so the
 * search stops at the first larger label. */
static uint32_t sparse_step(const nf_matcher *m, uint32_t q, uint8_t c) {
  const uint32_t K = m->ndense;
  for (;;) {
    uint32_t lo = m->sp_first[q - K], hi = m->sp_first[q - K + 1];
    for (uint32_t k = lo; k < hi; k++) {
      uint8_t l = m->sp_label[k - K];
      if (l < c) continue;
      if (l > c) break;
      int out = m->out_start[k + 1] != m->out_start[k] || m->out_link[k];
      return SPARSE_BIT | k | (out ? OUT_BIT : 0);
    }
    uint32_t f = m->sp_fail[q - K];
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

void nf_matcher_scan(const nf_matcher *m, const char *text, size_t len,
                     nf_match_cb cb, void *ctx) {
  if (!m || !m->compiled || !text || !cb) return;
  const uint8_t *t = (const uint8_t *)text;
  const uint32_t *dense = m->dense;
  const uint8_t *cls = m->cls;
  uint32_t v = 0;
  size_t i = 0;
  while (i < len) {
    if (v & SPARSE_BIT) {
      v = sparse_step(m, v & ID_MASK, t[i++]);
    } else {
      /* Hot loop: dense states with nothing to report. */
      do
        v = dense[v + cls[t[i++]]];
      while (!(v & (OUT_BIT | SPARSE_BIT)) && i < len);
    }
    if (v & OUT_BIT) {
      if (report(m, v, t, len, i, cb, ctx)) return;
      v &= ~OUT_BIT;
    }
  }
}
