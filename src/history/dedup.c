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
 * Memory is what limits the window (1M ids by default), so an entry is one
 * allocation: a header, the seqs, 4-byte topic references (nfd_topic.index)
 * and the id's bytes -- about 110 bytes for a flash with 5 topics, against
 * ~250 when it was a map entry, a key copy and a record of pointers.  The
 * table is open addressing over entry pointers (linear probing, at most 3/4
 * full, deletion by shifting the rest of the probe run back: no
 * tombstones); each entry keeps its hash.  Entries also sit in a FIFO in
 * arrival order, so expiry and the count limit only look at its front.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/nfd.h"
#include "util/strmap.h"

typedef struct dentry {
  int64_t received;
  uint32_t hash;  /* of the id (low 32 bits of nf_strhash) */
  uint16_t n;     /* topics */
  uint8_t id_len; /* ids are at most NF_ID_MAX (128) bytes */
  /* then: uint64_t seq[n], uint32_t topic[n], char id[id_len] */
  uint64_t data[];
} dentry;

static uint64_t *d_seqs(dentry *e) {
  return e->data;
}
static uint32_t *d_topics(dentry *e) {
  return (uint32_t *)(e->data + e->n);
}
static char *d_id(dentry *e) {
  return (char *)(d_topics(e) + e->n);
}

struct nfd_dedup {
  dentry **slots; /* open addressing; NULL = empty */
  size_t cap, used;
  dentry **fifo; /* arrival order: a ring of n from head */
  size_t fcap, head, n;
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

static bool same(dentry *e, uint32_t h, const char *id, size_t len) {
  return e->hash == h && e->id_len == len && !memcmp(d_id(e), id, len);
}

/* The slot holding ID, or the empty slot where it would go. */
static size_t find(const struct nfd_dedup *x, uint32_t h, const char *id, size_t len) {
  size_t i = h & (x->cap - 1);
  while (x->slots[i] && !same(x->slots[i], h, id, len)) i = (i + 1) & (x->cap - 1);
  return i;
}

static bool grow(struct nfd_dedup *x) {
  size_t cap = x->cap ? 2 * x->cap : 1024;
  dentry **slots = calloc(cap, sizeof *slots);
  if (!slots) return false;
  for (size_t i = 0; i < x->cap; i++) {
    dentry *e = x->slots[i];
    if (!e) continue;
    size_t k = e->hash & (cap - 1);
    while (slots[k]) k = (k + 1) & (cap - 1);
    slots[k] = e;
  }
  free(x->slots);
  x->slots = slots;
  x->cap = cap;
  return true;
}

/* Removes E from the table: the entries after it in its probe run move
 * back into the hole when their home slot allows. */
static void unlink_entry(struct nfd_dedup *x, dentry *e) {
  size_t i = find(x, e->hash, d_id(e), e->id_len), mask = x->cap - 1;
  if (x->slots[i] != e) return;
  x->slots[i] = NULL;
  x->used--;
  for (size_t j = (i + 1) & mask; x->slots[j]; j = (j + 1) & mask) {
    size_t home = x->slots[j]->hash & mask;
    /* move j back to i unless its home lies cyclically in (i, j] */
    if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
      x->slots[i] = x->slots[j];
      x->slots[j] = NULL;
      i = j;
    }
  }
}

static void pop_front(struct nfd_dedup *x) {
  dentry *e = x->fifo[x->head];
  x->head = (x->head + 1) % x->fcap;
  x->n--;
  unlink_entry(x, e);
  free(e);
}

static void expire(struct nfd_dedup *x, int64_t now) {
  while (x->n && (x->n > x->max_ids || x->fifo[x->head]->received < now - x->window_ms))
    pop_front(x);
}

bool nfd_dedup_lookup(nfd *d, const char *id, nf_answer *a) {
  struct nfd_dedup *x = d->dedup;
  if (!x || !x->max_ids || !x->cap) return false;
  expire(x, nf_now_ms());
  size_t len = strlen(id);
  dentry *e = x->slots[find(x, (uint32_t)nf_strhash(id, len), id, len)];
  if (!e) return false;
  for (uint32_t i = 0; i < e->n; i++)
    nf_answer_add_topic(a, d->topic_list[d_topics(e)[i]]->name, d_seqs(e)[i]);
  return true;
}

static bool fifo_reserve(struct nfd_dedup *x) {
  if (x->n < x->fcap) return true;
  size_t cap = x->fcap ? x->fcap * 2 : 1024;
  dentry **f = malloc(cap * sizeof *f);
  if (!f) return false;
  for (size_t i = 0; i < x->n; i++) f[i] = x->fifo[(x->head + i) % x->fcap];
  free(x->fifo);
  x->fifo = f;
  x->fcap = cap;
  x->head = 0;
  return true;
}

void nfd_dedup_add(nfd *d, const char *id, int64_t received, nfd_topic **tps, const uint64_t *seqs,
                   size_t n) {
  struct nfd_dedup *x = d->dedup;
  size_t len = strlen(id);
  if (!x || !x->max_ids || len > NF_ID_MAX || n > UINT16_MAX) return;
  if ((x->used + 1) * 4 > x->cap * 3 && !grow(x)) return;
  if (!fifo_reserve(x)) return;
  uint32_t h = (uint32_t)nf_strhash(id, len);
  size_t slot = find(x, h, id, len);
  if (x->slots[slot]) return; /* already remembered (the journal replays each id once) */
  dentry *e = malloc(sizeof *e + n * (sizeof(uint64_t) + sizeof(uint32_t)) + len);
  if (!e) return;
  *e = (dentry){.received = received, .hash = h, .n = (uint16_t)n, .id_len = (uint8_t)len};
  for (size_t i = 0; i < n; i++) d_seqs(e)[i] = seqs[i], d_topics(e)[i] = tps[i]->index;
  memcpy(d_id(e), id, len);
  x->slots[slot] = e;
  x->used++;
  x->fifo[(x->head + x->n++) % x->fcap] = e;
  expire(x, received);
}

void nfd_dedup_free(nfd *d) {
  struct nfd_dedup *x = d->dedup;
  if (!x) return;
  while (x->n) pop_front(x);
  free(x->slots);
  free(x->fifo);
  free(x);
  d->dedup = NULL;
}
