/*
 * history.c -- recent items per topic, in memory (SPEC section 8).
 *
 * An accepted item is stored once, as the packed fields it was published
 * with (every field but body, then the body's key/value pair), in a
 * record shared by the rings of all its topics.  A ring is a circular
 * array of (seq, record) in seq order, bounded by history.max_items; all
 * records together are bounded by history.max_bytes, oldest first.
 *
 * Invariants:
 *   - records are on the age list in the order they were added, and a
 *     record's refs count the rings holding it; at zero it leaves the
 *     list and is freed;
 *   - the oldest record on the list is at the front of every ring that
 *     still holds it (rings and the list are both in arrival order), so
 *     evicting by bytes only ever pops ring fronts.
 * The journal rebuilds all of this at start by replaying its records.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"

typedef struct hrec {
  struct hrec *prev, *next; /* age list, oldest first */
  uint32_t refs, n_compact, n_topics;
  bool has_body;
  size_t compact_len, fields_len; /* packed fields: compact part, all */
  size_t size;                    /* bytes held, for history.max_bytes */
  nfd_topic **tps;                /* points into data, after the fields */
  uint8_t data[];
} hrec;

typedef struct rentry {
  uint64_t seq;
  hrec *r;
} rentry;

struct nfd_ring {
  rentry *v;
  size_t cap, head, n;
};

struct nfd_history {
  hrec *oldest, *newest;
  size_t bytes, items, max_items, max_bytes;
};

int nfd_history_init(nfd *d) {
  struct nfd_history *h = calloc(1, sizeof *h);
  if (!h) return -1;
  h->max_items = (size_t)d->cfg.history_max_items;
  h->max_bytes = (size_t)d->cfg.history_max_bytes;
  d->history = h;
  return 0;
}

static void unref(nfd *d, hrec *r) {
  struct nfd_history *h = d->history;
  if (--r->refs) return;
  if (r->prev) r->prev->next = r->next;
  else h->oldest = r->next;
  if (r->next) r->next->prev = r->prev;
  else h->newest = r->prev;
  h->bytes -= r->size;
  h->items--;
  free(r);
}

static rentry *ring_at(struct nfd_ring *g, size_t i) {
  return &g->v[(g->head + i) % g->cap];
}

static void ring_pop(nfd *d, struct nfd_ring *g) {
  hrec *r = ring_at(g, 0)->r;
  g->head = (g->head + 1) % g->cap;
  g->n--;
  unref(d, r);
}

/* Grows a ring up to max_items slots; false when out of memory. */
static bool ring_reserve(struct nfd_ring *g, size_t max) {
  if (g->n < g->cap) return true;
  size_t cap = g->cap ? g->cap * 2 : 16;
  if (cap > max) cap = max;
  if (cap <= g->cap) return true; /* full at max: the caller pops */
  rentry *v = malloc(cap * sizeof *v);
  if (!v) return false;
  for (size_t i = 0; i < g->n; i++) v[i] = *ring_at(g, i);
  free(g->v);
  g->v = v;
  g->cap = cap;
  g->head = 0;
  return true;
}

static void evict_bytes(nfd *d) {
  struct nfd_history *h = d->history;
  while (h->bytes > h->max_bytes && h->oldest) {
    hrec *r = h->oldest;
    r->refs++; /* keep it alive while popping it from its rings */
    for (uint32_t i = 0; i < r->n_topics; i++) {
      struct nfd_ring *g = r->tps[i]->ring;
      if (g && g->n && ring_at(g, 0)->r == r) ring_pop(d, g);
    }
    unref(d, r);
  }
}

void nfd_history_add(nfd *d, const void *compact, size_t compact_len, uint32_t n_compact,
                     const void *body_kv, size_t body_len, nfd_topic **tps, const uint64_t *seqs,
                     size_t n_topics) {
  struct nfd_history *h = d->history;
  if (!h || !h->max_items) return;
  size_t len = compact_len + body_len;
  bool has_body = body_len > 0;
  size_t size = sizeof(hrec) + len + n_topics * sizeof(nfd_topic *) + sizeof(void *);
  hrec *r = malloc(size); /* every byte is written below: no calloc */
  if (!r) return;
  memset(r, 0, sizeof *r);
  memcpy(r->data, compact, compact_len);
  if (body_len) memcpy(r->data + compact_len, body_kv, body_len);
  r->tps = (nfd_topic **)(((uintptr_t)(r->data + len) + sizeof(void *) - 1) &
                          ~(uintptr_t)(sizeof(void *) - 1));
  memcpy(r->tps, tps, n_topics * sizeof *tps);
  r->n_topics = (uint32_t)n_topics;
  r->n_compact = n_compact;
  r->has_body = has_body;
  r->compact_len = compact_len;
  r->fields_len = len;
  r->size = size;
  r->refs = 1; /* ours until the rings have it */
  r->prev = h->newest;
  if (h->newest) h->newest->next = r;
  else h->oldest = r;
  h->newest = r;
  h->bytes += size;
  h->items++;
  for (size_t i = 0; i < n_topics; i++) {
    nfd_topic *t = tps[i];
    if (!t->ring && !(t->ring = calloc(1, sizeof *t->ring))) continue;
    struct nfd_ring *g = t->ring;
    if (!ring_reserve(g, h->max_items)) continue;
    if (g->n == g->cap) ring_pop(d, g);
    *ring_at(g, g->n++) = (rentry){seqs[i], r};
    r->refs++;
  }
  unref(d, r); /* drop ours: freed now if no ring took it */
  evict_bytes(d);
  atomic_store(&d->m.history_items, h->items);
  atomic_store(&d->m.history_bytes, h->bytes);
}

/* First index in G whose seq is > SINCE. */
static size_t ring_search(struct nfd_ring *g, uint64_t since) {
  size_t lo = 0, hi = g->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ring_at(g, mid)->seq <= since) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

void nfd_history_pack(nfd *d, const char *topic, uint64_t since, uint64_t limit, nf_buf *b) {
  nfd_topic *t = nfd_topic_find(d, topic);
  struct nfd_ring *g = t ? t->ring : NULL;
  size_t from = g ? ring_search(g, since) : 0;
  size_t n = g && g->n > from ? g->n - from : 0;
  if (n > limit) n = (size_t)limit;
  nf__mp_map(b, 5);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
  nf__mp_cstr(b, "epoch");
  nf__mp_uint(b, t && t->seq ? t->epoch : 0);
  nf__mp_cstr(b, "first_seq");
  nf__mp_uint(b, g && g->n ? ring_at(g, 0)->seq : 0);
  nf__mp_cstr(b, "last_seq");
  nf__mp_uint(b, t ? t->seq : 0);
  nf__mp_cstr(b, "items");
  nf__mp_array(b, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    const rentry *e = ring_at(g, from + i);
    nfd_pub_put_map(b, t, e->seq, e->r->data, e->r->compact_len, e->r->fields_len, e->r->n_compact,
                    e->r->has_body);
  }
}

void nfd_history_free(nfd *d) {
  struct nfd_history *h = d->history;
  if (!h) return;
  nf_strmap *m = &d->topics;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key) continue;
    nfd_topic *t = m->slots[i].value;
    if (!t->ring) continue;
    free(t->ring->v);
    free(t->ring);
    t->ring = NULL;
  }
  for (hrec *r = h->oldest, *next; r; r = next) {
    next = r->next;
    free(r);
  }
  free(h);
  d->history = NULL;
}
