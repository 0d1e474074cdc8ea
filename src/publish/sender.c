/*
 * sender.c -- sends the published maps to nng, on a thread of its own.
 *
 * Why a thread: every nng message costs a write() on every subscriber's
 * pipe and wake-ups of nng's task threads -- a fixed cost per message, not
 * per byte (docs/performance.md).  Done on the loop, that cost delays the
 * next read; done here, it overlaps it.  And while this thread is busy
 * sending, the maps of the following loop iterations pile up in the
 * hand-over queue (util/handoff.h); it then takes them all at once and
 * publishes each topic's maps as one batch.  So batches grow exactly when
 * the daemon is busy, and only out of what is already waiting: nothing
 * ever waits for a batch to fill, and an idle daemon sends a lone item at
 * once.
 *
 * Records, as the loop writes them in place (nfd_sender_map_begin/_end,
 * util/handoff.h): the topic (a pointer: topics are never freed before the
 * sender has stopped, and their names never change), the map's length,
 * the map.  A take is grouped by topic,
 * topics in the order they first appear and maps in the order they came
 * -- that is seq order, since the loop numbers and hands over in order.
 *
 * A message is TOPIC, 0x00, and either one map or (publish.batch) a
 * msgpack array of maps, cut at BATCH_MAX_BYTES: a subscriber that bounds
 * what it receives (NNG_OPT_RECVMAXSZ, as hardened clients do; a larger
 * message closes its connection) must not be cut off by a batch, and one
 * topic's burst should not hold every pipe for long.
 *
 * Invariants: the loop sends itself only when the thread waits with
 * nothing queued (nf_handoff_idle), so the two never send at once and no
 * map overtakes an earlier one; each has its own aio and buffers (a
 * batcher).  The thread reads topic names, which never change, and the
 * configuration, which does not change after start.  Stop
 * (nfd_sender_stop) returns after everything given has been sent.
 */
#include <nng/nng.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"
#include "publish/sender.h"
#include "util/handoff.h"

/* Batches stop growing here; a single map larger than this goes alone. */
#define BATCH_MAX_BYTES ((size_t)256 << 10)
/* An iteration with at most this many maps, when the thread has nothing
 * pending, is sent by the loop itself (a steady trickle: latency); more go
 * to the thread (a burst: the loop goes on reading while they are sent). */
#define INLINE_MAX_MAPS 32
/* What may wait for the thread; past it the loop waits for the thread
 * (back-pressure: ingest slows down as when the loop did the sends). */
#define QUEUE_MAX_BYTES ((size_t)8 << 20)

typedef struct rec { /* a map in the taken buffer */
  const nfd_topic *t;
  size_t off, len;
  uint32_t next; /* the topic's next record, index + 1 (0: the last) */
} rec;

typedef struct group {
  const nfd_topic *t;
  uint32_t first, last, n; /* record indexes + 1 */
} group;

/* What sending a buffer of records takes: one for the thread, one for
 * the loop when it sends itself. */
typedef struct batcher {
  nng_aio *aio; /* reused for every send */
  nf_buf msg;
  rec *recs;
  size_t cap_recs;
  group *groups;     /* open addressing by topic pointer */
  uint32_t *order;   /* group slots in order of first appearance */
  size_t cap_groups; /* power of two, > 2 x records */
} batcher;

struct nfd_sender {
  nfd *d;
  nng_socket sock;
  pthread_t thr;
  bool started;
  nf_buf local; /* loop: this iteration's records */
  size_t local_n, open_at;
  nf_handoff q;
  batcher on_loop, on_thread;
  nf_buf taken; /* thread: what it took */
};

static void send_msg(struct nfd_sender *s, batcher *bt, const nf_buf *b) {
  nfd *d = s->d;
  nng_msg *msg; /* allocated at its size: appending would grow it by copies */
  if (nng_msg_alloc(&msg, b->len)) {
    atomic_fetch_add(&d->m.publish_errors, 1);
    return;
  }
  memcpy(nng_msg_body(msg), b->data, b->len);
  /* nng_sendmsg() allocates (and seeds, with a getrandom syscall) an aio
   * for every message; one aio of our own, reused, does not.  PUB never
   * blocks, so the wait returns as soon as the message is queued. */
  nng_aio_set_msg(bt->aio, msg);
  nng_send_aio(s->sock, bt->aio);
  nng_aio_wait(bt->aio);
  int rv = nng_aio_result(bt->aio);
  if (rv) {
    nng_msg_free(msg);
    atomic_fetch_add(&d->m.publish_errors, 1);
    nfd_log(d, NFD_WARN, "publish: %s", nng_strerror(rv));
    return;
  }
  atomic_fetch_add(&d->m.messages_published, 1);
  atomic_fetch_add(&d->m.bytes_published, b->len);
}

static size_t topic_hash(const nfd_topic *t, size_t cap) {
  return (size_t)(((uintptr_t)t >> 4) * 0x9e3779b97f4a7c15u >> 32) & (cap - 1);
}

/* Doubles the table of topics (kept at most half full) and rehashes the
 * N_GROUPS in use. */
static bool groups_grow(batcher *b, size_t n_groups) {
  size_t c = b->cap_groups ? 2 * b->cap_groups : 64;
  group *g = calloc(c, sizeof *g);
  uint32_t *o = g ? realloc(b->order, c * sizeof *o) : NULL;
  if (!o) return free(g), false;
  b->order = o;
  for (size_t i = 0; i < n_groups; i++) {
    size_t h = topic_hash(b->groups[o[i]].t, c);
    while (g[h].t) h = (h + 1) & (c - 1);
    g[h] = b->groups[o[i]];
    o[i] = (uint32_t)h;
  }
  free(b->groups);
  b->groups = g;
  b->cap_groups = c;
  return true;
}

/* Splits BUF's N records into chains per topic; returns the number of
 * topics (their slots in b->order), or 0 when out of memory.  The table's
 * used slots are cleared again by send_records. */
static size_t group_records(batcher *b, const nf_buf *buf, size_t n) {
  if (nf__grow((void **)&b->recs, &b->cap_recs, n, sizeof *b->recs)) return 0;
  size_t n_groups = 0, off = 0;
  for (uint32_t i = 0; i < n; i++) {
    rec *r = &b->recs[i];
    const void *key, *map;
    if (!nf_handoff_rec_next(buf, &off, &key, &map, &r->len)) return 0; /* cannot happen */
    r->t = key;
    r->off = (size_t)((const char *)map - buf->data);
    r->next = 0;
    if (2 * (n_groups + 1) > b->cap_groups && !groups_grow(b, n_groups)) return 0;
    size_t cap = b->cap_groups, h = topic_hash(r->t, cap);
    while (b->groups[h].t && b->groups[h].t != r->t) h = (h + 1) & (cap - 1);
    group *g = &b->groups[h];
    if (!g->t) *g = (group){.t = r->t, .first = i + 1}, b->order[n_groups++] = (uint32_t)h;
    else b->recs[g->last - 1].next = i + 1;
    g->last = i + 1;
    g->n++;
  }
  return n_groups;
}

/* Sends one topic's maps: batches of at most BATCH_MAX_BYTES, or one
 * message per map with publish.batch off. */
static void send_group(struct nfd_sender *s, batcher *bt, const nf_buf *buf, const group *g) {
  nf_buf *b = &bt->msg;
  const rec *r = bt->recs;
  const char *name = g->t->name;
  size_t tlen = strlen(name) + 1; /* the topic and its 0x00 */
  bool batch = s->d->cfg.publish_batch;
  uint32_t k = g->first;
  while (k) {
    uint32_t end = k, n = 0;     /* this message: records k .. before end */
    size_t bytes = tlen + 5 + 1; /* topic, 0x00, array header, ... */
    do {
      bytes += r[end - 1].len;
      end = r[end - 1].next;
      n++;
    } while (batch && end && bytes + r[end - 1].len <= BATCH_MAX_BYTES);
    b->len = 0;
    int rc = nf_buf_append(b, name, tlen);
    if (n > 1) rc |= nf__mp_array(b, n);
    for (; k != end; k = r[k - 1].next)
      rc |= nf_buf_append(b, buf->data + r[k - 1].off, r[k - 1].len);
    if (rc) atomic_fetch_add(&s->d->m.publish_errors, n); /* out of memory: never half a batch */
    else send_msg(s, bt, b);
  }
}

/* Sends BUF's N records, each topic's as batches. */
static void send_records(struct nfd_sender *s, batcher *bt, const nf_buf *buf, size_t n) {
  size_t n_groups = group_records(bt, buf, n);
  if (!n_groups) { /* out of memory: these maps are lost, gaps will show */
    atomic_fetch_add(&s->d->m.publish_errors, n);
    return;
  }
  for (size_t i = 0; i < n_groups; i++) send_group(s, bt, buf, &bt->groups[bt->order[i]]);
  for (size_t i = 0; i < n_groups; i++) bt->groups[bt->order[i]].t = NULL;
  nf_handoff_shrink(&bt->msg);
  if (bt->cap_recs > NF_HANDOFF_KEEP_BYTES / sizeof *bt->recs) { /* after a burst */
    free(bt->recs);
    bt->recs = NULL;
    bt->cap_recs = 0;
  }
}

static void *sender_main(void *arg) {
  struct nfd_sender *s = arg;
  pthread_setname_np(pthread_self(), "nf:publish"); /* for top -H and /proc */
  size_t n;
  while ((n = nf_handoff_take(&s->q, &s->taken))) send_records(s, &s->on_thread, &s->taken, n);
  return NULL;
}

static void batcher_free(batcher *bt) {
  if (bt->aio) nng_aio_free(bt->aio);
  nf_buf_free(&bt->msg);
  free(bt->recs);
  free(bt->groups);
  free(bt->order);
}

struct nfd_sender *nfd_sender_start(nfd *d, nng_socket sock, char *err, size_t errsz) {
  struct nfd_sender *s = calloc(1, sizeof *s);
  if (!s) return snprintf(err, errsz, "out of memory"), NULL;
  s->d = d;
  s->sock = sock;
  nf_handoff_init(&s->q, QUEUE_MAX_BYTES);
  int rv = nng_aio_alloc(&s->on_loop.aio, NULL, NULL);
  if (!rv) rv = nng_aio_alloc(&s->on_thread.aio, NULL, NULL);
  if (rv) {
    snprintf(err, errsz, "nng aio: %s", nng_strerror(rv));
  } else if ((rv = pthread_create(&s->thr, NULL, sender_main, s))) {
    snprintf(err, errsz, "publish thread: %s", strerror(rv));
  } else {
    s->started = true;
    return s;
  }
  nfd_sender_stop(s);
  return NULL;
}

nf_buf *nfd_sender_map_begin(struct nfd_sender *s, const nfd_topic *t) {
  s->open_at = nf_handoff_rec_open(&s->local, t);
  return s->open_at == (size_t)-1 ? NULL : &s->local;
}

bool nfd_sender_map_end(struct nfd_sender *s, bool ok, const void **map, size_t *len) {
  if (ok && s->open_at != (size_t)-1 && nf_handoff_rec_close(&s->local, s->open_at, map, len)) {
    s->local_n++;
    return true;
  }
  if (s->open_at != (size_t)-1) s->local.len = s->open_at; /* not half a record */
  atomic_fetch_add(&s->d->m.publish_errors, 1);
  return false;
}

void nfd_sender_commit(struct nfd_sender *s) {
  if (!s->local_n) return;
  if (s->local_n <= INLINE_MAX_MAPS && nf_handoff_idle(&s->q)) {
    /* A few maps and nothing pending: sending them now, on the loop,
     * overtakes nothing and spares them a thread wake-up, which on a busy
     * machine can cost more than the sends. */
    send_records(s, &s->on_loop, &s->local, s->local_n);
    s->local.len = 0;
    nf_handoff_shrink(&s->local);
  } else if (!nf_handoff_give(&s->q, &s->local, s->local_n, true)) { /* out of memory */
    atomic_fetch_add(&s->d->m.publish_errors, s->local_n);
    nfd_log(s->d, NFD_WARN, "publish: %zu maps dropped: out of memory", s->local_n);
  }
  s->local_n = 0;
}

void nfd_sender_stop(struct nfd_sender *s) {
  if (!s) return;
  nfd_sender_commit(s);
  nf_handoff_stop(&s->q);
  if (s->started) pthread_join(s->thr, NULL);
  batcher_free(&s->on_loop);
  batcher_free(&s->on_thread);
  nf_handoff_free(&s->q);
  nf_buf_free(&s->local);
  nf_buf_free(&s->taken);
  free(s);
}
