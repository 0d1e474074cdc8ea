/*
 * matcher_scan.c -- the scanning half of the matcher: single steps,
 * reporting, lanes.  See the top comment of matcher.c for the design.
 */
#include "matcher_impl.h"

#include <string.h>

/* Lockstep scanning: most lanes, slice size bounds, per-lane queue,
 * matches of one extension (at most two per step of at most TERM_MAX). */
#define LANES 8
#define FOR_LANES8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define FOR_LANES4(X) X(0) X(1) X(2) X(3)
#define FOR_LANES2(X) X(0) X(1)
#define SLICE_MIN 32
#define SLICE_MAX 8192
#define LANE_BUF 128
#define EXT_BUF (2 * TERM_MAX + 2)

/* ---------------------------------------------------------------------- */
/* Scanning: single steps and reporting                                   */
/* ---------------------------------------------------------------------- */

static unsigned state_flags(const nf_matcher *m, uint32_t v) {
  if (v & SPARSE_BIT) return m->sp[(v & ID_MASK) - m->ndense].of;
  return m->dense[v + m->nclass + X_FLAGS] & 0xFFu;
}

/* Length of the path from the root to the state of lane value V. */
static size_t state_depth(const nf_matcher *m, uint32_t v) {
  if (v & SPARSE_BIT) return m->sp[(v & ID_MASK) - m->ndense].depth;
  return m->dense[v + m->nclass + X_FLAGS] >> DEPTH_SHIFT;
}

/* Lane value after dense entry E was read on byte C.  An escape names the
 * row of the dense state whose child on C is the (sparse) next state. */
static uint32_t resolve(const nf_matcher *m, uint32_t e, uint8_t c) {
  if (!(e & D_ESC)) return e & D_OFF;
  const uint32_t *row = m->dense + (e & D_OFF) + m->nclass;
  for (uint32_t k = row[X_FR_LO]; k < row[X_FR_HI]; k++)
    if (m->fr_label[k] == c) return m->fr_val[k];
  return 0; /* unreachable: the escape exists because that child does */
}

static uint32_t dense_step(const nf_matcher *m, uint32_t v, uint8_t c) {
  return resolve(m, m->dense[v + m->cls[c]], c);
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
      if (l == c) return SPARSE_BIT | k;
      if (l > c) break;
    }
    uint32_t f = sp[q - K].fail;
    if (!(f & SPARSE_BIT)) return dense_step(m, f, c);
    q = f & ID_MASK;
  }
}

static uint32_t step(const nf_matcher *m, uint32_t v, uint8_t c) {
  if (v & SPARSE_BIT) return sparse_step(m, v & ID_MASK, c);
  return dense_step(m, v, c);
}

/* A queued match: the terms of state V ending at END. */
typedef struct pend {
  uint32_t v;
  size_t end;
} pend;

/* The matches an extension found: terms starting before LIMIT (see
 * extend()), reported from buf[next] on. */
typedef struct ext {
  size_t limit;
  uint32_t n, next;
  pend buf[EXT_BUF];
} ext;

/* One scan: the text, the callback, and the extensions: ex[cur ^ 1] is
 * the last one made, waiting to be merged into the reports of the lane
 * after it; ex[cur] is the next one to fill. */
typedef struct scan {
  const nf_matcher *m;
  const uint8_t *t;
  size_t len;
  nf_match_cb cb;
  void *ctx;
  int cur;
  ext ex[2];
} scan;

/* Reports every term ending at END in state V and starting before LIMIT,
 * longest first.  Returns non-zero when the callback asked to stop. */
static int report(const scan *sc, uint32_t v, size_t end, size_t limit) {
  const nf_matcher *m = sc->m;
  const uint8_t *t = sc->t;
  uint32_t s = (v & SPARSE_BIT) ? (v & ID_MASK) : m->dense[v + m->nclass + X_ID];
  int end_ok = end >= sc->len || !is_alnum(t[end]);
  do {
    for (uint32_t k = m->out_start[s]; k < m->out_start[s + 1]; k++) {
      const output *o = &m->outs[k];
      size_t start = end - o->len;
      if (start >= limit) continue;
      if ((o->flags & END_ALNUM) && !end_ok) continue;
      if ((o->flags & START_ALNUM) && start > 0 && is_alnum(t[start - 1])) continue;
      if (sc->cb(sc->ctx, o->value, start, end)) return 1;
    }
    s = m->out_link[s];
  } while (s != 0);
  return 0;
}

/* Reports the matches of the last extension that end at or before UPTO:
 * they come before a lane's own matches at the same end (they are
 * longer). */
static int flush(scan *sc, size_t upto) {
  ext *e = &sc->ex[sc->cur ^ 1];
  for (; e->next < e->n && e->buf[e->next].end <= upto; e->next++)
    if (report(sc, e->buf[e->next].v, e->buf[e->next].end, e->limit)) return 1;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Scanning: lanes                                                        */
/* ---------------------------------------------------------------------- */

/* A lane reads T[pos, end) from state V, starting at the root at the
 * start of its slice.  Lane 0 of a window reports at once (DIRECT); the
 * others queue their matches in BUF until the lanes before them are
 * done. */
typedef struct lane {
  size_t pos, end;
  uint32_t v, n;
  int direct;
  pend buf[LANE_BUF];
} lane;

/* Reports, or queues, the match of state V ending at END. */
static int emit(scan *sc, lane *l, uint32_t v, size_t end) {
  if (l->direct) return flush(sc, end) || report(sc, v, end, SIZE_MAX);
  l->buf[l->n].v = v;
  l->buf[l->n].end = end;
  l->n++;
  return 0;
}

/* The careful step over T[I] from state *V: a LATER state reports before
 * a non-alphanumeric byte, a NOW state when entered.  The matches go to
 * emit(), or with L NULL to the extension being filled, if they may
 * start before its limit.  Returns non-zero when the callback asked to
 * stop. */
static int careful_step(scan *sc, lane *l, uint32_t *v, size_t i) {
  const nf_matcher *m = sc->m;
  uint32_t prev = *v, next = step(m, prev, sc->t[i]);
  int later = (state_flags(m, prev) & OF_LATER) && !is_alnum(sc->t[i]);
  int now = state_flags(m, next) & OF_NOW;
  *v = next;
  if (!l) {
    ext *e = &sc->ex[sc->cur];
    if (later) e->buf[e->n++] = (pend){prev, i};
    if (now && state_depth(m, next) > i + 1 - e->limit) e->buf[e->n++] = (pend){next, i + 1};
    return 0;
  }
  if (later && emit(sc, l, prev, i)) return 1;
  if (now && emit(sc, l, next, i + 1)) return 1;
  return 0;
}

/* Runs lane L alone to its end, reporting directly; at the end of the
 * text a LATER state reports. */
static int run_single(scan *sc, lane *l) {
  const uint32_t *dense = sc->m->dense;
  const uint8_t *cls = sc->m->cls, *t = sc->t;
  uint32_t v = l->v;
  size_t i = l->pos, stop = l->end;
  l->direct = 1;
  while (i < stop) {
    if (!(v & SPARSE_BIT)) {
      for (; i < stop; i++) { /* the hot loop */
        uint32_t e = dense[v + cls[t[i]]];
        if (e & (D_ATTN | D_ESC)) break;
        v = e;
      }
      if (i == stop) break;
    }
    if (careful_step(sc, l, &v, i)) return 1;
    i++;
  }
  l->v = v;
  l->pos = i;
  if (i == sc->len && (state_flags(sc->m, v) & OF_LATER)) return emit(sc, l, v, i);
  return 0;
}

/* Continues lane L past the end B of its slice while its state is deeper
 * than the bytes read since B: only then can it hold a term that starts
 * before B and so was missed by the next lane, which started at the root
 * at B.  Once the depth is within them, the next lane is in the same
 * state.  The matches (those starting before B) go to ex[cur], which then
 * becomes the extension to merge into the next lane's reports.  Slices
 * are at least maxlen long, so an extension ends within the next slice. */
static void extend(scan *sc, const lane *l) {
  ext *e = &sc->ex[sc->cur];
  size_t b = l->end, i = b;
  uint32_t v = l->v;
  e->limit = b;
  e->n = e->next = 0;
  while (i < sc->len && state_depth(sc->m, v) > i - b) careful_step(sc, NULL, &v, i++);
  if (i == sc->len && (state_flags(sc->m, v) & OF_LATER) && state_depth(sc->m, v) > i - b)
    e->buf[e->n++] = (pend){v, i};
  sc->cur ^= 1;
}

#define LANE_LOAD(k)                                                                               \
  uint32_t v##k = v[k];                                                                            \
  const uint8_t *p##k = p[k];
#define LANE_NEXT(k) uint32_t n##k = dense[v##k + cls[p##k[s]]];
#define LANE_OR(k) n##k |
#define LANE_COMMIT(k) v##k = n##k;
#define LANE_STORE(k) v[k] = v##k;

/* The hot loop of NAME's lanes (FOR_LANES: the lane numbers): all of them
 * in dense states, lane k reading P[k][0], P[k][1], ..., one byte each per
 * round, until a round needs attention (a report, a sparse state) or
 * STEPS rounds are done.  That round is left undone for the careful path.
 * Lane states live in registers; their loads are independent, so the CPU
 * overlaps their latencies.  Returns the number of rounds done. */
#define LOCKSTEP(NAME, FOR_LANES)                                                                  \
  static size_t NAME(const nf_matcher *m, const uint8_t *const *p, uint32_t *v, size_t steps) {    \
    const uint32_t *dense = m->dense;                                                              \
    const uint8_t *cls = m->cls;                                                                   \
    size_t s = 0;                                                                                  \
    FOR_LANES(LANE_LOAD)                                                                           \
    while (s < steps) {                                                                            \
      FOR_LANES(LANE_NEXT)                                                                         \
      if ((FOR_LANES(LANE_OR) 0) & (D_ATTN | D_ESC)) break;                                        \
      FOR_LANES(LANE_COMMIT)                                                                       \
      s++;                                                                                         \
    }                                                                                              \
    FOR_LANES(LANE_STORE)                                                                          \
    return s;                                                                                      \
  }
LOCKSTEP(lockstep8, FOR_LANES8)
LOCKSTEP(lockstep4, FOR_LANES4)
LOCKSTEP(lockstep2, FOR_LANES2)

static size_t lockstep(const nf_matcher *m, int nl, const uint8_t *const *p, uint32_t *v,
                       size_t steps) {
  if (nl == 8) return lockstep8(m, p, v, steps);
  if (nl == 4) return lockstep4(m, p, v, steps);
  return lockstep2(m, p, v, steps);
}

/* The careful round after lockstep stopped: lanes with a plain dense step
 * take it, the others step carefully, and a lane that went sparse runs on
 * alone until it is dense again (deep states are rare and each lane has
 * its own position).  Returns 1 to stop (callback), 2 when a queue may
 * not hold another round, else 0. */
static int careful_round(scan *sc, lane *ln, int nl, uint32_t *v) {
  const nf_matcher *m = sc->m;
  int full = 0;
  for (int k = 0; k < nl; k++) {
    lane *l = &ln[k];
    if (l->pos == l->end) continue;
    if (!(v[k] & SPARSE_BIT)) {
      uint32_t e = m->dense[v[k] + m->cls[sc->t[l->pos]]];
      if (!(e & (D_ATTN | D_ESC))) {
        v[k] = e;
        l->pos++;
        continue;
      }
    }
    do {
      if (careful_step(sc, l, &v[k], l->pos)) return 1;
      l->pos++;
    } while ((v[k] & SPARSE_BIT) && l->pos < l->end && l->n + 2 <= LANE_BUF);
    full |= l->n + 2 > LANE_BUF || (v[k] & SPARSE_BIT);
  }
  return full ? 2 : 0;
}

/* Advances the NL lanes of a window together while all of them have
 * bytes left and room in their queues.  Lane 0 reports at once, the
 * others queue. */
static int run_lanes(scan *sc, lane *ln, int nl) {
  const uint8_t *p[LANES];
  uint32_t v[LANES];
  for (int k = 0; k < nl; k++) v[k] = ln[k].v;
  int rc = 0;
  while (rc == 0) {
    size_t steps = SIZE_MAX;
    for (int k = 0; k < nl; k++) {
      p[k] = sc->t + ln[k].pos;
      if (ln[k].end - ln[k].pos < steps) steps = ln[k].end - ln[k].pos;
    }
    if (steps == 0) break;
    size_t done = lockstep(sc->m, nl, p, v, steps);
    for (int k = 0; k < nl; k++) ln[k].pos += done;
    if (done == steps) continue;
    rc = careful_round(sc, ln, nl, v);
    if (rc == 1) return 1;
  }
  for (int k = 0; k < nl; k++) ln[k].v = v[k];
  return 0;
}

/* Finishes lane L after the lockstep: its queued matches, merged with
 * those of the extension of the lane before it, then the rest of its
 * slice, then its own extension. */
static int finish_lane(scan *sc, lane *l) {
  for (uint32_t q = 0; q < l->n; q++)
    if (flush(sc, l->buf[q].end) || report(sc, l->buf[q].v, l->buf[q].end, SIZE_MAX)) return 1;
  if (run_single(sc, l) || flush(sc, SIZE_MAX)) return 1;
  if (l->end < sc->len) extend(sc, l);
  return 0;
}

/* Scans T[base, base + span) as NL slices (1, 2, 4 or 8), each at least
 * maxlen long, in lockstep; every lane starts at the root. */
static int run_window(scan *sc, size_t base, size_t span, int nl) {
  size_t r = span / (size_t)nl;
  lane ln[LANES];
  for (int k = 0; k < nl; k++) {
    ln[k].pos = base + (size_t)k * r;
    ln[k].end = k == nl - 1 ? base + span : ln[k].pos + r;
    ln[k].v = 0;
    ln[k].n = 0;
    ln[k].direct = k == 0;
  }
  if (nl > 1 && run_lanes(sc, ln, nl)) return 1;
  for (int k = 0; k < nl; k++)
    if (finish_lane(sc, &ln[k])) return 1;
  return 0;
}

/* Lanes for a window of REST bytes, slices of at least RMIN. */
static int lanes_for(size_t rest, size_t rmin) {
  return rest >= 8 * rmin ? 8 : rest >= 4 * rmin ? 4 : rest >= 2 * rmin ? 2 : 1;
}

void nf_matcher_scan(const nf_matcher *m, const char *text, size_t len, nf_match_cb cb, void *ctx) {
  if (!m || !m->compiled || !text || !cb) return;
  /* The prefilter keeps offsets in 32 bits. */
  if (m->pre && len <= UINT32_MAX) nf__pre_scan(m, (const uint8_t *)text, len, cb, ctx);
  else nf__ac_scan(m, (const uint8_t *)text, len, cb, ctx);
}

void nf__ac_scan(const nf_matcher *m, const uint8_t *text, size_t len, nf_match_cb cb, void *ctx) {
  scan sc;
  sc.m = m;
  sc.t = text;
  sc.len = len;
  sc.cb = cb;
  sc.ctx = ctx;
  sc.cur = 0;
  sc.ex[0].n = sc.ex[0].next = sc.ex[1].n = sc.ex[1].next = 0;
  /* Slices of at least maxlen keep extensions within the next slice. */
  size_t rmin = m->maxlen > SLICE_MIN ? m->maxlen : SLICE_MIN, base = 0;
  while (base < len) {
    size_t rest = len - base, span = rest;
    int nl = lanes_for(rest, rmin);
    /* Long texts: windows of at most LANES * SLICE_MAX, stretched to tile
     * the text. */
    if (rest > LANES * SLICE_MAX) span = rest / (rest / (LANES * SLICE_MAX) + 1);
    if (run_window(&sc, base, span, nl)) return;
    base += span;
  }
}
