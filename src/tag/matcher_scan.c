/*
 * matcher_scan.c -- the scanning half of the matcher: single steps,
 * reporting, lanes.  See the top comment of matcher.c for the design.
 */
#include "matcher_impl.h"

#include <string.h>

/* Lockstep scanning: lane count, slice size bounds, per-lane queue. */
#define LANES 8
#define FOR_LANES(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define SLICE_MIN 256
#define SLICE_MAX 8192
#define LANE_BUF 128

/* ---------------------------------------------------------------------- */
/* Scanning: single steps and reporting                                   */
/* ---------------------------------------------------------------------- */

static unsigned state_flags(const nf_matcher *m, uint32_t v) {
  if (v & SPARSE_BIT) return m->sp[(v & ID_MASK) - m->ndense].of;
  return m->dense[v + m->nclass + X_FLAGS];
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

/* Reports every term ending at END in state V, longest first.  Returns
 * non-zero when the callback asked to stop. */
static int report(const nf_matcher *m, uint32_t v, const uint8_t *t, size_t len, size_t end,
                  nf_match_cb cb, void *ctx) {
  uint32_t s = (v & SPARSE_BIT) ? (v & ID_MASK) : m->dense[v + m->nclass + X_ID];
  int end_ok = end >= len || !is_alnum(t[end]);
  do {
    for (uint32_t k = m->out_start[s]; k < m->out_start[s + 1]; k++) {
      const output *o = &m->outs[k];
      size_t start = end - o->len;
      if ((o->flags & END_ALNUM) && !end_ok) continue;
      if ((o->flags & START_ALNUM) && start > 0 && is_alnum(t[start - 1])) continue;
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

/* A lane reads T[pos, end) from state V and reports matches ending after
 * FROM; the bytes before FROM only rebuild the state (warm-up).  A lane
 * that must not report yet queues its matches in BUF. */
typedef struct lane {
  size_t pos, end, from;
  uint32_t v, n;
  int direct;
  pend buf[LANE_BUF];
} lane;

/* Reports, or queues, the match of state V ending at END. */
static int emit(const nf_matcher *m, const uint8_t *t, size_t len, lane *l, uint32_t v, size_t end,
                nf_match_cb cb, void *ctx) {
  if (end <= l->from) return 0;
  if (l->direct) return report(m, v, t, len, end, cb, ctx);
  l->buf[l->n].v = v;
  l->buf[l->n].end = end;
  l->n++;
  return 0;
}

/* The careful step of lane L over T[I], from state *V: a LATER state
 * reports before a non-alphanumeric byte, a NOW state when entered.  May
 * queue two matches.  Returns non-zero when the callback asked to stop. */
static int lane_step(const nf_matcher *m, const uint8_t *t, size_t len, lane *l, uint32_t *v,
                     size_t i, nf_match_cb cb, void *ctx) {
  uint32_t prev = *v, next = step(m, prev, t[i]);
  *v = next;
  if ((state_flags(m, prev) & OF_LATER) && !is_alnum(t[i]) && emit(m, t, len, l, prev, i, cb, ctx))
    return 1;
  if ((state_flags(m, next) & OF_NOW) && emit(m, t, len, l, next, i + 1, cb, ctx)) return 1;
  return 0;
}

/* Runs lane L alone to its end, reporting directly, then settles a LATER
 * state at the end by looking at the byte that follows. */
static int run_single(const nf_matcher *m, const uint8_t *t, size_t len, lane *l, nf_match_cb cb,
                      void *ctx) {
  const uint32_t *dense = m->dense;
  const uint8_t *cls = m->cls;
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
    if (lane_step(m, t, len, l, &v, i, cb, ctx)) return 1;
    i++;
  }
  l->v = v; /* the next window starts from here */
  l->pos = i;
  if ((state_flags(m, v) & OF_LATER) && (i == len || !is_alnum(t[i])))
    return emit(m, t, len, l, v, i, cb, ctx);
  return 0;
}

#define LANE_LOAD(k)                                                                               \
  uint32_t v##k = v[k];                                                                            \
  const uint8_t *p##k = p[k];
#define LANE_NEXT(k) uint32_t n##k = dense[v##k + cls[p##k[s]]];
#define LANE_OR(k) n##k |
#define LANE_COMMIT(k) v##k = n##k;
#define LANE_STORE(k) v[k] = v##k;

/* The hot loop of the lanes: all of them in dense states, lane k reading
 * P[k][0], P[k][1], ..., one byte each per round, until a round needs
 * attention (a report, a sparse state) or STEPS rounds are done.  That
 * round is left undone for the careful path.  Lane states live in
 * registers; their loads are independent, so the CPU overlaps their
 * latencies.  Returns the number of rounds done. */
static size_t lockstep(const nf_matcher *m, const uint8_t *const *p, uint32_t *v, size_t steps) {
  const uint32_t *dense = m->dense;
  const uint8_t *cls = m->cls;
  size_t s = 0;
  FOR_LANES(LANE_LOAD)
  while (s < steps) {
    FOR_LANES(LANE_NEXT)
    if ((FOR_LANES(LANE_OR) 0) & (D_ATTN | D_ESC)) break;
    FOR_LANES(LANE_COMMIT)
    s++;
  }
  FOR_LANES(LANE_STORE)
  return s;
}

/* The careful round after lockstep stopped: lanes with a plain dense step
 * take it, the others step carefully, and a lane that went sparse runs on
 * alone until it is dense again (deep states are rare and each lane has
 * its own position).  Returns 1 to stop (callback), 2 when a queue may
 * not hold another round, else 0. */
static int careful_round(const nf_matcher *m, const uint8_t *t, size_t len, lane *ln, uint32_t *v,
                         nf_match_cb cb, void *ctx) {
  int full = 0;
  for (int k = 0; k < LANES; k++) {
    lane *l = &ln[k];
    if (l->pos == l->end) continue;
    if (!(v[k] & SPARSE_BIT)) {
      uint32_t e = m->dense[v[k] + m->cls[t[l->pos]]];
      if (!(e & (D_ATTN | D_ESC))) {
        v[k] = e;
        l->pos++;
        continue;
      }
    }
    do {
      if (lane_step(m, t, len, l, &v[k], l->pos, cb, ctx)) return 1;
      l->pos++;
    } while ((v[k] & SPARSE_BIT) && l->pos < l->end && l->n + 2 <= LANE_BUF);
    full |= l->n + 2 > LANE_BUF || (v[k] & SPARSE_BIT);
  }
  return full ? 2 : 0;
}

/* Advances the lanes of a window together while all of them have bytes
 * left and room in their queues.  Lane 0 reports at once, the others
 * queue.  A lane stopped in a sparse state also ends the lockstep. */
static int run_lanes(const nf_matcher *m, const uint8_t *t, size_t len, lane *ln, nf_match_cb cb,
                     void *ctx) {
  const uint8_t *p[LANES];
  uint32_t v[LANES], sparse = 0;
  for (int k = 0; k < LANES; k++) {
    v[k] = ln[k].v;
    sparse |= v[k] & SPARSE_BIT;
  }
  /* Lane 0 may start sparse, carried over from the previous window. */
  int rc = sparse ? careful_round(m, t, len, ln, v, cb, ctx) : 0;
  if (rc == 1) return 1;
  while (rc == 0) {
    size_t steps = SIZE_MAX;
    for (int k = 0; k < LANES; k++) {
      p[k] = t + ln[k].pos;
      if (ln[k].end - ln[k].pos < steps) steps = ln[k].end - ln[k].pos;
    }
    if (steps == 0) break;
    size_t done = lockstep(m, p, v, steps);
    for (int k = 0; k < LANES; k++) ln[k].pos += done;
    if (done == steps) continue;
    rc = careful_round(m, t, len, ln, v, cb, ctx);
    if (rc == 1) return 1;
  }
  for (int k = 0; k < LANES; k++) ln[k].v = v[k];
  return 0;
}

/* Scans one window of LANES slices of R bytes each.  Lane 0 starts at
 * BASE in state *V, carried over from the previous window; lane k > 0
 * starts maxlen bytes before its slice, at the root.  On return *V is the
 * state at the end of the window. */
static int run_window(const nf_matcher *m, const uint8_t *t, size_t len, size_t base, size_t r,
                      uint32_t *v, nf_match_cb cb, void *ctx) {
  size_t warm = m->maxlen, d = r - warm;
  lane ln[LANES];
  for (int k = 0; k < LANES; k++) {
    ln[k].from = k == 0 ? base : base + r + (size_t)(k - 1) * d;
    ln[k].pos = k == 0 ? base : ln[k].from - warm;
    ln[k].end = ln[k].pos + r;
    ln[k].v = k == 0 ? *v : 0;
    ln[k].n = 0;
    ln[k].direct = k == 0;
  }
  if (run_lanes(m, t, len, ln, cb, ctx)) return 1;
  for (int k = 0; k < LANES; k++) {
    for (uint32_t q = 0; q < ln[k].n; q++)
      if (report(m, ln[k].buf[q].v, t, len, ln[k].buf[q].end, cb, ctx)) return 1;
    if (run_single(m, t, len, &ln[k], cb, ctx)) return 1;
  }
  *v = ln[LANES - 1].v;
  return 0;
}

void nf_matcher_scan(const nf_matcher *m, const char *text, size_t len, nf_match_cb cb, void *ctx) {
  if (!m || !m->compiled || !text || !cb) return;
  const uint8_t *t = (const uint8_t *)text;
  size_t warm = m->maxlen, base = 0;
  uint32_t v = 0;
  /* A window of slices of R bytes spans R + (LANES-1) * (R - warm) bytes.
   * Slices of at least 4 * warm keep warm-up cheap; texts too short for
   * that run as one lane. */
  size_t rmin = SLICE_MIN > 4 * warm ? SLICE_MIN : 4 * warm;
  size_t rmax = SLICE_MAX > rmin ? SLICE_MAX : rmin;
  if (len >= rmin + (LANES - 1) * (rmin - warm)) {
    /* As few windows as rmax allows, stretched to tile the text. */
    size_t nwin = len / (rmax + (LANES - 1) * (rmax - warm)) + 1;
    size_t r = (len / nwin + (LANES - 1) * warm) / LANES;
    if (r < rmin) r = rmin;
    size_t span = r + (LANES - 1) * (r - warm);
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
