/*
 * dedup.c -- the deduplication window (SPEC section 7).
 *
 * A producer that got no answer retries with the same id; the daemon must
 * not publish it twice.  Every accepted id is remembered with the topics
 * and seqs it was given, for dedup.window_seconds or until
 * dedup.max_ids newer ids have pushed it out, whichever comes first.  A
 * repeat inside the window is answered ok, "duplicate": true, with the
 * original's topics and seqs, and is not published.  The journal rebuilds
 * the window at start, so retries across a restart are caught too.
 *
 * Entries sit in a hash map (id -> entry) and in a FIFO in arrival order,
 * so expiry and the count limit only ever look at the FIFO's front.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/nfd.h"

typedef struct dentry {
  const char *id; /* the map's key copy */
  int64_t received;
  uint32_t n;
  struct {
    nfd_topic *t;
    uint64_t seq;
  } v[];
} dentry;

struct nfd_dedup {
  nf_strmap ids;
  dentry **fifo;
  size_t cap, head, n;
  int64_t window_ms;
  size_t max_ids;
};

int nfd_dedup_init(nfd *d) {
  struct nfd_dedup *x = calloc(1, sizeof *x);
  if (!x) return -1;
  x->window_ms = d->cfg.dedup_window_seconds * 1000;
  x->max_ids = (size_t)d->cfg.dedup_max_ids;
  d->dedup = x;
  return 0;
}

static void pop_front(struct nfd_dedup *x) {
  dentry *e = x->fifo[x->head];
  x->head = (x->head + 1) % x->cap;
  x->n--;
  nf_strmap_del(&x->ids, e->id, strlen(e->id));
  free(e);
}

static void expire(struct nfd_dedup *x, int64_t now) {
  while (x->n && (x->n > x->max_ids || x->fifo[x->head]->received < now - x->window_ms))
    pop_front(x);
}

bool nfd_dedup_lookup(nfd *d, const char *id, nf_answer *a) {
  struct nfd_dedup *x = d->dedup;
  if (!x || !x->max_ids) return false;
  expire(x, nf_now_ms());
  dentry *e = nf_strmap_get(&x->ids, id, strlen(id));
  if (!e) return false;
  for (uint32_t i = 0; i < e->n; i++) nf_answer_add_topic(a, e->v[i].t->name, e->v[i].seq);
  return true;
}

void nfd_dedup_add(nfd *d, const char *id, int64_t received, nfd_topic **tps, const uint64_t *seqs,
                   size_t n) {
  struct nfd_dedup *x = d->dedup;
  if (!x || !x->max_ids) return;
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 1024;
    dentry **f = malloc(cap * sizeof *f);
    if (!f) return;
    for (size_t i = 0; i < x->n; i++) f[i] = x->fifo[(x->head + i) % x->cap];
    free(x->fifo);
    x->fifo = f;
    x->cap = cap;
    x->head = 0;
  }
  dentry *e = malloc(sizeof *e + n * sizeof e->v[0]);
  if (!e) return;
  e->received = received;
  e->n = (uint32_t)n;
  for (size_t i = 0; i < n; i++) e->v[i].t = tps[i], e->v[i].seq = seqs[i];
  nf_strmap_slot *s = nf_strmap_put(&x->ids, id, strlen(id), e);
  if (!s) {
    free(e);
    return;
  }
  e->id = s->key;
  x->fifo[(x->head + x->n++) % x->cap] = e;
  expire(x, received);
}

void nfd_dedup_free(nfd *d) {
  struct nfd_dedup *x = d->dedup;
  if (!x) return;
  while (x->n) pop_front(x);
  nf_strmap_free(&x->ids, NULL);
  free(x->fifo);
  free(x);
  d->dedup = NULL;
}
