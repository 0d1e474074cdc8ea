/*
 * matcher.c -- Aho-Corasick multi-pattern matcher over bytes.
 *
 * Overview
 * --------
 * Terms are collected by nf_matcher_add and compiled once into an
 * Aho-Corasick automaton.  Scanning costs one automaton step per text byte
 * whatever the number of terms, plus the work of reporting matches.  The
 * design follows the memory hierarchy: a step is a dependent load, so the
 * states the scan visits all the time must stay in cache, several loads
 * must be in flight at once, and the inner loop must rarely be left.
 *
 * States are first numbered breadth-first (root = 0): shallow states, the
 * ones the scan visits nearly all the time, come first.  Two tiers:
 *
 *   - Dense states, ids [0, K): a full DFA row each, failure transitions
 *     resolved at compile time, one 32-bit entry per byte class.  An entry
 *     holds the next state's row offset (id * row width), so a step is
 *         v = dense[v + cls[byte]]
 *     with no multiply.  D_ESC marks an edge into a sparse state: the
 *     offset is then that of the dense state that owns it as a child, and
 *     a short search of that state's sparse children (the "frontier")
 *     finds it.  D_ATTN marks a step that must report (see below).  After
 *     the byte classes, each row has a few side columns (flags, id,
 *     frontier range) that only the slow paths read; the flags column
 *     also holds the state's depth.  K is bounded by a byte budget
 *     (nf_matcher_set_dense_limit, default DENSE_DEFAULT = 32 MiB, chosen
 *     by measurement with `newsfeed-bench tag --dense`: a step in the
 *     sparse tier costs several dependent loads, so at 10,000 terms a
 *     budget of 32 MiB scanned about 1.7 times as fast as 8 MiB, and
 *     budgets of 2 MiB or less were slower with cold caches too): small
 *     and medium term sets are all dense, big ones keep their hot upper
 *     levels dense.  Big tables ask for transparent huge pages: the scan
 *     jumps around them, and TLB misses cost as much as cache misses on
 *     virtual machines.
 *   - Sparse states, ids [K, N): goto/failure form, one 12-byte record
 *     each, renumbered depth-first.  A state's first child is the next
 *     record and its subtree ends at rec.end, where its next sibling
 *     starts, so the tail of a long term is a run of consecutive records.
 *     A missing edge follows failure links until a dense state answers.
 *
 * Byte classes: only bytes that occur in some term get a column of their
 * own, in byte order, so a state's likely next columns share cache lines
 * (the UTF-8 lead bytes of CJK text, for instance, are adjacent).  The
 * other bytes share one class for alphanumerics and one for the rest;
 * both lead back to the root.
 *
 * Reporting without leaving the loop: all terms ending in a state end with
 * the same byte, the label of the edge into it.  If that byte is not
 * alphanumeric (NOW state) the state reports when entered.  If it is
 * (LATER state), every term there needs a non-alphanumeric byte after it,
 * so the report waits for the next byte: the transitions out of a LATER
 * state on non-alphanumeric classes carry D_ATTN, and a scan that stays
 * inside a word does not stop at all.  At the end of the text a LATER
 * state reports by itself (at the end of a slice, the lane's extension
 * takes the next step).  Start boundaries are checked per term when
 * reporting (start = end - len).
 *
 * A scan's current state ("lane value", uint32) is a dense row offset, or
 * SPARSE_BIT | id.
 *
 * Lanes: one chain of dependent loads leaves the CPU waiting, and with
 * cold caches (in the daemon, other work between two items evicts the
 * table) every load of the chain is a miss.  So texts are cut into 2, 4
 * or 8 slices of at least max(SLICE_MIN = 32, longest term) bytes (up to
 * SLICE_MAX each; longer texts in several windows), scanned in lockstep:
 * a 300-byte flash runs as 4 or 8 short chains whose misses overlap.
 * Every slice starts at the root, so a lane finds exactly the terms that
 * start in its slice or after.  The terms that start in a slice and end
 * past it are found by that slice's lane going on past its end (an
 * "extension") while its state is deeper than the bytes read since the
 * end: once it is not, the next lane is in the same state.  An extension
 * ends within the next slice (slices are at least maxlen long); its
 * matches, filtered to those starting before the boundary, are merged by
 * end offset into the next lane's reports (at equal ends they come first:
 * they are longer).  Lanes after the first queue their matches (state,
 * end) in a small buffer and report them after the lanes before them,
 * which keeps reports in end order; a full buffer just ends the lockstep
 * early and the rest of the window runs one lane at a time.  The lockstep
 * loop keeps the lanes in registers and stops only when a step needs
 * attention; the careful path then advances just the lanes concerned, and
 * a lane that went sparse runs on alone until it is back in a dense state.
 *
 * Outputs: each term's (value, length, boundary flags) sits in one flat
 * array, grouped by final state: state s owns [out_start[s],
 * out_start[s+1]).  Shorter terms ending at the same place are reached via
 * out_link[s], the nearest state on the failure chain that owns outputs
 * (0 = none; the root owns none since terms are non-empty).  Memory stays
 * linear; a match walks the chain.
 *
 * Compilation never recurses: terms are sorted, the trie is built from the
 * sorted list with one path stack, renumbered with an explicit queue (BFS)
 * and stack (DFS), and rows and failure links are filled in BFS order (a
 * failure target is shallower, so its row is complete by then).
 *
 * Two engines: from PRE_MIN_TERMS terms, or once the automaton has a
 * sparse tier (an explicit, small dense budget), the prefilter of
 * matcher_pre.c scans instead (built from the same sorted terms; the
 * automaton stays as its fallback, with a small dense budget unless one
 * was set).  Measured with `newsfeed-bench tag`: at 10,000 terms it scans
 * about 1.7 times as fast hot and 2-2.5 times as fast with cold caches; at
 * the default rules' 3,165 terms as fast hot (358-421 against 372-380
 * MB/s) and 3 times as fast cold (flash 1.6 against 4.2-5.2 us), in 0.7
 * MiB instead of 10.2.  Below 2,000 terms the automaton, all in dense rows,
 * stays (at 1,000 terms it is faster hot).  nf__matcher_set_engine forces
 * one (tests).
 *
 * Files: matcher.c compiles, matcher_scan.c scans, matcher_pre.c is the
 * prefilter engine, matcher_impl.h holds the compiled form they share.
 *
 * Invariants
 *   - N < 2^30 (add() bounds the total term bytes); K * width < 2^30.
 *   - The root is dense and never reports.
 *   - Children of a sparse state are sparse; parents of dense states are
 *     dense (K is a prefix of the BFS order).
 *   - scan() reads only TEXT[0, LEN) and never writes to the matcher, so
 *     concurrent scans are safe.
 */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise */
#endif

#include "core/internal.h"
#include "matcher_impl.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define DENSE_DEFAULT ((size_t)32 << 20)
/* From this many terms the prefilter scans (see "Two engines" above); the
 * automaton is then only its fallback and keeps this dense budget. */
#define PRE_MIN_TERMS 2000
#define FALLBACK_DENSE ((size_t)64 << 10)
#define HUGE_PAGE ((size_t)2 << 20)

/* Allocates a table the scan will jump around in.  From 1 MiB up, align
 * it to huge pages and ask for them; *HELD gets the bytes reserved. */
static void *table_alloc(size_t size, size_t *held) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (size >= HUGE_PAGE / 2) {
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
  if (m) m->dense_limit = DENSE_DEFAULT, m->dense_auto = 1;
  return m;
}

int nf__matcher_set_engine(nf_matcher *m, int engine) {
  if (!m || m->compiled) return -1;
  m->engine = engine;
  return 0;
}

int nf_matcher_set_dense_limit(nf_matcher *m, size_t bytes) {
  if (!m || m->compiled) return -1;
  m->dense_limit = bytes;
  m->dense_auto = 0;
  return 0;
}

int nf_matcher_add(nf_matcher *m, const char *term, size_t len, uint32_t value) {
  if (!m || m->compiled || !term || len == 0 || len > TERM_MAX) return -1;
  /* Ids are 30-bit and states never outnumber term bytes + 1. */
  if (m->arena_len + len >= ID_MASK || m->nterms >= ID_MASK) return -1;
  if (nf__grow((void **)&m->arena, &m->arena_cap, m->arena_len + len, 1) ||
      nf__grow((void **)&m->terms, &m->terms_cap, m->nterms + 1, sizeof(pending)))
    return -1;
  memcpy(m->arena + m->arena_len, term, len);
  m->terms[m->nterms].off = (uint32_t)m->arena_len;
  m->terms[m->nterms].len = (uint32_t)len;
  m->terms[m->nterms].value = value;
  m->arena_len += len;
  m->nterms++;
  return 0;
}

size_t nf_matcher_terms(const nf_matcher *m) {
  return m ? m->nterms : 0;
}

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
  uint8_t *of;     /* OF_* flags */
  uint8_t *depth;  /* length of the path from the root */
  uint8_t class_alnum[256];
  nf__sort_key *keys; /* the terms, sorted */
} build;

static int key_cmp(const void *a, const void *b) {
  const nf__sort_key *x = a, *y = b;
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
  if (b->t_first[parent] == 0) b->t_first[parent] = id;
  else b->t_next[b->t_last[parent]] = id;
  b->t_last[parent] = id;
  *out = id;
  return 0;
}

/* Builds the trie from the terms in sorted order.  Sorting makes every new
 * edge the last child of its parent (so siblings come out in byte order)
 * and lets one path stack replace any lookup: a term shares exactly the
 * longest common prefix with its predecessor. */
static int build_trie(const nf_matcher *m, build *b, nf__sort_key *keys) {
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
    const nf__sort_key *cur = &keys[k];
    uint32_t lcp = 0;
    if (k > 0) {
      const nf__sort_key *prev = &keys[k - 1];
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
/* Compile, step 2: classes, outputs, dense rows                          */
/* ---------------------------------------------------------------------- */

/* One class per byte that labels some edge, in byte order, then one for
 * the other non-alphanumeric bytes and one for the other alphanumeric
 * bytes (each only if there is such a byte): at most 256 classes. */
static void make_classes(nf_matcher *m, build *b) {
  uint8_t used[256] = {0};
  int other = 0, other_alnum = 0;
  for (uint32_t s = 1; s < b->n; s++) used[b->label[s]] = 1;
  uint32_t k = 0;
  for (int c = 0; c < 256; c++) {
    if (used[c]) {
      b->class_alnum[k] = (uint8_t)is_alnum((uint8_t)c);
      m->cls[c] = (uint8_t)k++;
    } else if (is_alnum((uint8_t)c)) {
      other_alnum = 1;
    } else {
      other = 1;
    }
  }
  uint32_t k_other = k, k_alnum = k + (uint32_t)other;
  for (int c = 0; c < 256; c++)
    if (!used[c]) m->cls[c] = (uint8_t)(is_alnum((uint8_t)c) ? k_alnum : k_other);
  if (other) b->class_alnum[k_other] = 0;
  if (other_alnum) b->class_alnum[k_alnum] = 1;
  m->nclass = k + (uint32_t)other + (uint32_t)other_alnum;
  m->width = m->nclass + X_COLS;
}

/* Dense rows for the first K states: within the byte budget, at least
 * the root, and row offsets must fit in 30 bits. */
static void choose_dense(nf_matcher *m, const build *b) {
  size_t k = m->dense_limit / ((size_t)m->width * sizeof(uint32_t));
  if (k > D_OFF / m->width) k = D_OFF / m->width;
  if (k > b->n) k = b->n;
  if (k < 1) k = 1;
  m->ndense = (uint32_t)k;
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
    o->flags =
        (uint8_t)((is_alnum(p[0]) ? START_ALNUM : 0) | (is_alnum(p[t->len - 1]) ? END_ALNUM : 0));
    if (t->len > m->maxlen) m->maxlen = t->len;
  }
  for (uint32_t s = n; s > 0; s--) m->out_start[s] = m->out_start[s - 1];
  m->out_start[0] = 0;
  return 0;
}

static int owns_outputs(const nf_matcher *m, uint32_t s) {
  return m->out_start[s + 1] != m->out_start[s];
}

/* Child of S labelled C in BFS ids, or 0. */
static uint32_t child_of(const build *b, uint32_t s, uint8_t c) {
  for (uint32_t k = b->first[s]; k < b->first[s + 1]; k++)
    if (b->label[k] == c) return k;
  return 0;
}

/* Goto-with-failure from state F on byte C, during compile, in BFS ids.
 * Rows of all states before the current one are complete, so the walk
 * ends at the first dense state on the failure chain. */
static uint32_t delta_id(const nf_matcher *m, const build *b, uint32_t f, uint8_t c) {
  while (f >= m->ndense) {
    uint32_t k = child_of(b, f, c);
    if (k) return k;
    f = b->fail[f];
  }
  uint32_t e = m->dense[(size_t)f * m->width + m->cls[c]];
  uint32_t s = (e & D_OFF) / m->width; /* that row may not be filled yet */
  return (e & D_ESC) ? child_of(b, s, c) : s;
}

/* Fills the row of dense state S: its failure state's row (complete, as
 * failure states are shallower) overlaid with S's own edges.  Entries into
 * NOW states carry D_ATTN; this travels with the copies, as it should.
 * An edge to a sparse child is an escape naming S's own row. */
static void fill_row(nf_matcher *m, const build *b, uint32_t s) {
  size_t w = m->width, n = m->nclass;
  uint32_t *row = m->dense + (size_t)s * w;
  if (s == 0) memset(row, 0, n * sizeof(uint32_t));
  else memcpy(row, m->dense + (size_t)b->fail[s] * w, n * sizeof(uint32_t));
  for (uint32_t k = b->first[s]; k < b->first[s + 1]; k++) {
    uint32_t e = k < m->ndense ? (k * (uint32_t)w) | ((b->of[k] & OF_NOW) ? D_ATTN : 0)
                               : (D_ESC | (s * (uint32_t)w));
    row[m->cls[b->label[k]]] = e;
  }
  /* Frontier index = BFS id - K; children below K are dense. */
  uint32_t lo = b->first[s], hi = b->first[s + 1], K = m->ndense;
  row[n + X_FLAGS] = b->of[s] | (uint32_t)b->depth[s] << DEPTH_SHIFT;
  row[n + X_ID] = s;
  row[n + X_FR_LO] = (lo > K ? lo : K) - K;
  row[n + X_FR_HI] = (hi > K ? hi : K) - K;
}

/* Once all rows exist: the exits of LATER states on non-alphanumeric
 * classes must stop the scan to report. */
static void mark_later_exits(nf_matcher *m, const build *b) {
  for (uint32_t s = 0; s < m->ndense; s++) {
    if (!(b->of[s] & OF_LATER)) continue;
    uint32_t *row = m->dense + (size_t)s * m->width;
    for (size_t x = 0; x < m->nclass; x++)
      if (!b->class_alnum[x]) row[x] |= D_ATTN;
  }
}

/* Carves the scan-time arrays out of one block. */
static int alloc_blob(nf_matcher *m, uint32_t n, uint32_t nfr) {
  uint32_t K = m->ndense;
  size_t o_sp = ((size_t)K * m->width * sizeof(uint32_t) + 63) & ~(size_t)63;
  size_t o_val = o_sp + (size_t)(n - K) * sizeof(srec);
  size_t o_label = o_val + (size_t)nfr * sizeof(uint32_t);
  size_t held;
  char *p = table_alloc(o_label + nfr, &held);
  if (!p) return -1;
  m->blob = p;
  m->bytes += held;
  m->dense = (uint32_t *)(void *)p;
  m->sp = (srec *)(void *)(p + o_sp);
  m->fr_val = (uint32_t *)(void *)(p + o_val);
  m->fr_label = (uint8_t *)(p + o_label);
  return 0;
}

/* Failure links, output links, report flags and dense rows in one BFS
 * pass: a state's children are finished before its row is filled. */
static int make_automaton(nf_matcher *m, build *b) {
  uint32_t n = b->n, K = m->ndense;
  if (alloc_blob(m, n, b->first[K] - K)) return -1;
  m->out_link = malloc((size_t)n * sizeof(uint32_t));
  b->fail = malloc((size_t)n * sizeof(uint32_t));
  b->of = malloc(n);
  b->depth = malloc(n);
  if (!m->out_link || !b->fail || !b->of || !b->depth) return -1;
  b->fail[0] = m->out_link[0] = b->of[0] = b->depth[0] = 0;
  for (uint32_t s = 0; s < n; s++) {
    for (uint32_t c = b->first[s]; c < b->first[s + 1]; c++) {
      b->depth[c] = (uint8_t)(b->depth[s] + 1);
      uint32_t f = s == 0 ? 0 : delta_id(m, b, b->fail[s], b->label[c]);
      b->fail[c] = f;
      m->out_link[c] = owns_outputs(m, f) ? f : m->out_link[f];
      int out = owns_outputs(m, c) || m->out_link[c] != 0;
      b->of[c] = !out ? 0 : is_alnum(b->label[c]) ? OF_LATER : OF_NOW;
    }
    if (s < K) fill_row(m, b, s);
  }
  mark_later_exits(m, b);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Compile, step 3: depth-first sparse records                            */
/* ---------------------------------------------------------------------- */

/* Depth-first order for the sparse states: PERM maps BFS ids to final ids
 * (dense ids stay), SIZE gets subtree sizes.  Every sparse subtree hangs
 * off a dense state (its root is one of ids K .. first[K]-1); an explicit
 * stack replaces recursion. */
static int order_sparse(const nf_matcher *m, const build *b, uint32_t *perm, uint32_t *size) {
  uint32_t n = b->n, K = m->ndense, next = K;
  for (uint32_t q = n; q-- > 0;) {
    size[q] = 1;
    for (uint32_t c = b->first[q]; c < b->first[q + 1]; c++) size[q] += size[c];
  }
  uint32_t *stack = malloc(((size_t)n - K + 1) * sizeof(uint32_t));
  if (!stack) return -1;
  for (uint32_t q = 0; q < K; q++) perm[q] = q;
  for (uint32_t r = K; r < b->first[K]; r++) {
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
    for (uint32_t k = m->out_start[old]; k < m->out_start[old + 1]; k++) outs[o++] = m->outs[k];
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

/* Lane value of BFS state Q: a row offset, or a sparse id. */
static uint32_t lane_value(const nf_matcher *m, const uint32_t *perm, uint32_t q) {
  return q < m->ndense ? q * m->width : (SPARSE_BIT | perm[q]);
}

/* The sparse records and the frontier, in final ids. */
static void pack_tiers(nf_matcher *m, const build *b, const uint32_t *perm, const uint32_t *size) {
  uint32_t n = b->n, K = m->ndense;
  for (uint32_t i = 0; i < b->first[K] - K; i++) {
    m->fr_label[i] = b->label[K + i];
    m->fr_val[i] = lane_value(m, perm, K + i);
  }
  for (uint32_t q = K; q < n; q++) {
    srec *r = &m->sp[perm[q] - K];
    r->fail = lane_value(m, perm, b->fail[q]);
    r->end = perm[q] + size[q];
    r->label = b->label[q];
    r->of = b->of[q];
    r->depth = b->depth[q];
  }
}

static int pack_sparse(nf_matcher *m, const build *b) {
  uint32_t *perm = malloc((size_t)b->n * sizeof(uint32_t));
  uint32_t *size = malloc((size_t)b->n * sizeof(uint32_t));
  int rc = (!perm || !size) ? -1 : order_sparse(m, b, perm, size);
  if (rc == 0) {
    pack_tiers(m, b, perm, size);
    rc = renumber_outputs(m, perm, b->n);
  }
  free(perm);
  free(size);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Compile driver                                                         */
/* ---------------------------------------------------------------------- */

static void free_build(build *b) {
  free(b->keys);
  free(b->t_first);
  free(b->t_next);
  free(b->t_last);
  free(b->t_label);
  free(b->term_node);
  free(b->first);
  free(b->label);
  free(b->fail);
  free(b->of);
  free(b->depth);
}

static void free_compiled(nf_matcher *m) {
  free(m->blob);
  free(m->out_start);
  free(m->out_link);
  free(m->outs);
  nf__pre_free(m->pre);
  m->pre = NULL;
  m->blob = NULL;
  m->dense = m->fr_val = m->out_start = m->out_link = NULL;
  m->fr_label = NULL;
  m->sp = NULL;
  m->outs = NULL;
  m->bytes = 0;
}

/* Sorted trie, renumbered breadth-first; the creation-order arrays go as
 * soon as the numbering exists. */
static int compile_trie(nf_matcher *m, build *b) {
  size_t nt = m->nterms ? m->nterms : 1;
  nf__sort_key *keys = malloc(nt * sizeof(nf__sort_key));
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
  qsort(keys, m->nterms, sizeof(nf__sort_key), key_cmp);
  int rc = build_trie(m, b, keys);
  b->keys = keys; /* the prefilter may want them: freed with the build */
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
  m->maxlen = 0;
  int rc = compile_trie(m, &b);
  if (m->engine == NF__ENGINE_AUTO && m->nterms >= PRE_MIN_TERMS) {
    m->engine = NF__ENGINE_PRE;
    if (m->dense_auto) m->dense_limit = FALLBACK_DENSE;
  }
  if (rc == 0) {
    make_classes(m, &b);
    choose_dense(m, &b);
    m->nstates = b.n;
    rc = make_outputs(m, &b);
  }
  /* The prefilter scans once the automaton has a sparse tier: it is then
   * far larger than the caches (see matcher_pre.c). */
  if (m->engine == NF__ENGINE_AUTO)
    m->engine = m->ndense < m->nstates ? NF__ENGINE_PRE : NF__ENGINE_AC;
  if (rc == 0 && m->engine == NF__ENGINE_PRE) rc = nf__pre_build(m, b.keys, m->nterms);
  if (rc == 0) rc = make_automaton(m, &b);
  if (rc == 0) rc = pack_sparse(m, &b);
  free_build(&b);
  if (rc != 0) {
    free_compiled(m);
    return -1;
  }
  if (m->pre) m->bytes += m->pre->bytes;
  m->bytes += sizeof(*m) + ((size_t)m->nstates + 1) * sizeof(uint32_t) +
              (size_t)m->nstates * sizeof(uint32_t) + m->nterms * sizeof(output);
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
