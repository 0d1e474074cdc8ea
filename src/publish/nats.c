/*
 * nats.c -- the NATS bridge (SPEC section 10): every message published on
 * nng also goes to the NATS subject <outputs.nats.subject_prefix>.<topic>,
 * its payload the same msgpack map (a batch on nng is split back into its
 * maps, one NATS message each), so that any NATS client anywhere in a
 * NATS cluster can subscribe with NATS wildcards (news.finance.>).
 *
 * The bridge never blocks the loop.  Everything NATS -- connecting, DNS,
 * publishing, reconnecting -- happens on one thread of its own, with
 * libnats (Debian's libnats-dev) doing the protocol.  The loop only copies
 * each map into a loop-private buffer while it publishes (nfd_nats_put),
 * and hands that buffer over once per loop iteration (nfd_nats_commit,
 * util/handoff.h): one mutex, and a wake-up only when the thread sleeps.
 *
 * Bounds, so that a NATS that is away or slow costs memory only up to
 * outputs.nats.buffer_bytes, a few times over (the loop's buffer, the
 * hand-over queue, the thread's buffer, libnats' buffer):
 *   - the hand-over queue: when what waits for the thread would pass the
 *     bound, the loop drops the new messages (and counts them);
 *   - libnats' reconnect buffer, of the same size: while NATS is away (or
 *     has never been reached: the first connect is retried like a
 *     reconnect) libnats keeps what is published; once it is full each
 *     publish fails and is counted as dropped.
 * Buffers a burst grew are given back once emptied (util/handoff.h).
 * A NATS server that accepts the connection but stops reading makes a
 * publish fail after a write deadline (2 s) instead of blocking forever.
 * Dropped messages are counted in newsfeed_nats_dropped_total and logged
 * once per episode; NATS offers no replay here, so a NATS subscriber that
 * must not miss anything fills gaps from the query API like an nng one
 * (seq and epoch are in every map).
 *
 * Invariants: the loop touches only `local`, `local_n`, `loop_dropping`
 * and (under its mutex) the queue; the thread owns the connection.  A
 * record names its topic by pointer (util/handoff.h), as the publishing
 * thread's do: topics are freed only after both threads have stopped, and
 * their names never change.  Messages leave in the order
 * they were published on nng.  Shutdown (nfd_nats_stop, after the last
 * nng publish) lets the thread publish what is queued and flush for at
 * most outputs.nats.flush_ms before the connection is closed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"
#include "nf_config.h"
#include "util/handoff.h"

#if NF_HAVE_NATS
#include <nats/nats.h>

#define WRITE_DEADLINE_MS 2000

struct nfd_nats {
  nfd *d;
  pthread_t thr;
  bool started;
  /* loop side: this iteration's messages, not yet handed over */
  nf_buf local;
  size_t local_n;
  nf_handoff q; /* util/handoff.h */
  /* thread side */
  natsConnection *nc;
  bool dropping;       /* a drop was logged; log again after the next success */
  bool loop_dropping;  /* the same, for drops on the loop side */
  atomic_bool closing; /* shutting down: callbacks do nothing */
  char url[1024];      /* for callbacks, which may outlive the configuration */
};

/* ---- the bridge thread ---- */

/* libnats calls these on threads of its own.  Once closing is set they
 * touch nothing: if libnats outlives our shutdown (see nfd_nats_stop), the
 * daemon's context is gone by then, only N (leaked on purpose) remains. */
static void on_disconnected(natsConnection *nc, void *arg) {
  (void)nc;
  struct nfd_nats *n = arg;
  if (atomic_load(&n->closing)) return;
  atomic_store(&n->d->m.nats_connected, 0);
  nfd_log(n->d, NFD_WARN, "NATS: disconnected from %s; reconnecting, buffering up to %lld bytes",
          n->url, n->d->cfg.nats_buffer_bytes);
}

static void on_connected(natsConnection *nc, void *arg) {
  struct nfd_nats *n = arg;
  if (atomic_load(&n->closing)) return;
  char url[256] = "";
  natsConnection_GetConnectedUrl(nc, url, sizeof url);
  atomic_store(&n->d->m.nats_connected, 1);
  nfd_log(n->d, NFD_INFO, "NATS: connected to %s", url[0] ? url : n->url);
}

static void on_reconnected(natsConnection *nc, void *arg) {
  struct nfd_nats *n = arg;
  if (atomic_load(&n->closing)) return;
  atomic_fetch_add(&n->d->m.nats_reconnects, 1);
  on_connected(nc, arg);
}

static natsStatus connect_nats(struct nfd_nats *n) {
  nfd *d = n->d;
  natsOptions *o = NULL;
  natsStatus s = natsOptions_Create(&o);
  if (s == NATS_OK) s = natsOptions_SetURL(o, d->cfg.nats_url);
  if (s == NATS_OK) s = natsOptions_SetName(o, "newsfeedd");
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1); /* forever */
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, d->cfg.nats_reconnect_ms);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, (int)d->cfg.nats_buffer_bytes);
  if (s == NATS_OK) s = natsOptions_SetWriteDeadline(o, WRITE_DEADLINE_MS);
  if (s == NATS_OK) s = natsOptions_SetNoEcho(o, true);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o, on_disconnected, n);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o, on_reconnected, n);
  /* a NATS that is not up yet is retried in the background like a lost one */
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, n);
  if (s == NATS_OK) s = natsConnection_Connect(&n->nc, o);
  if (s == NATS_OK) on_connected(n->nc, n);
  else if (s == NATS_NOT_YET_CONNECTED) {
    nfd_log(d, NFD_WARN, "NATS: %s not reachable yet; retrying every %lld ms", d->cfg.nats_url,
            d->cfg.nats_reconnect_ms);
    s = NATS_OK;
  }
  natsOptions_Destroy(o);
  return s;
}

static void publish_all(struct nfd_nats *n, const nf_buf *q) {
  nfd *d = n->d;
  const char *prefix = d->cfg.nats_subject_prefix;
  size_t plen = strlen(prefix);
  char subj[512]; /* prefix (checked <= 256) + '.' + topic (<= 128) */
  memcpy(subj, prefix, plen);
  subj[plen] = '.';
  size_t off = 0, mlen;
  const void *key, *map;
  while (nf_handoff_rec_next(q, &off, &key, &map, &mlen)) { /* records: util/handoff.h */
    const char *topic = ((const nfd_topic *)key)->name;
    size_t tlen = strlen(topic);
    bool fits = plen + 1 + tlen < sizeof subj; /* topics are <= 128 bytes: always */
    if (fits) memcpy(subj + plen + 1, topic, tlen + 1);
    natsStatus s = !fits   ? NATS_INVALID_SUBJECT
                   : n->nc ? natsConnection_Publish(n->nc, subj, map, (int)mlen)
                           : NATS_NOT_INITIALIZED;
    if (s == NATS_OK) {
      atomic_fetch_add(&d->m.nats_published, 1);
      n->dropping = false;
      continue;
    }
    atomic_fetch_add(&d->m.nats_dropped, 1);
    if (!n->dropping)
      nfd_log(d, NFD_WARN, "NATS: dropping messages (%s): see newsfeed_nats_dropped_total",
              natsStatus_GetText(s));
    n->dropping = true;
  }
}

static void *bridge_main(void *arg) {
  struct nfd_nats *n = arg;
  nfd *d = n->d;
  pthread_setname_np(pthread_self(), "nf:nats"); /* for top -H and /proc */
  natsStatus s = connect_nats(n);
  if (s != NATS_OK)
    nfd_log(d, NFD_ERROR, "NATS: %s: %s; the bridge drops every message", d->cfg.nats_url,
            natsStatus_GetText(s));
  nf_buf batch = {0};
  while (nf_handoff_take(&n->q, &batch)) publish_all(n, &batch);
  nf_buf_free(&batch);
  if (n->nc) {
    if (d->cfg.nats_flush_ms > 0 && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED &&
        natsConnection_FlushTimeout(n->nc, d->cfg.nats_flush_ms) != NATS_OK)
      nfd_log(d, NFD_WARN, "NATS: not everything was flushed within %lld ms at shutdown",
              d->cfg.nats_flush_ms);
    atomic_store(&n->closing, true);
    natsConnection_Destroy(n->nc);
    n->nc = NULL;
  }
  atomic_store(&d->m.nats_connected, 0);
  return NULL;
}

/* ---- the loop side ---- */

int nfd_nats_start(nfd *d, char *err, size_t errsz) {
  if (!d->cfg.nats_url[0]) return 0;
  struct nfd_nats *n = calloc(1, sizeof *n);
  if (!n) return snprintf(err, errsz, "out of memory"), -1;
  n->d = d;
  d->nats = n;
  snprintf(n->url, sizeof n->url, "%s", d->cfg.nats_url);
  nf_handoff_init(&n->q, (size_t)d->cfg.nats_buffer_bytes);
  int rv = pthread_create(&n->thr, NULL, bridge_main, n);
  if (rv) return snprintf(err, errsz, "NATS bridge thread: %s", strerror(rv)), -1;
  n->started = true;
  nfd_log(d, NFD_INFO, "NATS bridge: %s, subjects %s.<topic>", d->cfg.nats_url,
          d->cfg.nats_subject_prefix);
  return 0;
}

/* Loop side of the drop accounting: counted always, logged once per
 * episode (the thread logs its own). */
static void loop_dropped(struct nfd_nats *n, size_t count) {
  atomic_fetch_add(&n->d->m.nats_dropped, count);
  if (!n->loop_dropping)
    nfd_log(n->d, NFD_WARN,
            "NATS: dropping messages (the bridge is behind by outputs.nats.buffer_bytes): "
            "see newsfeed_nats_dropped_total");
  n->loop_dropping = true;
}

void nfd_nats_put(nfd *d, const nfd_topic *t, const void *map, size_t len) {
  struct nfd_nats *n = d->nats;
  nf_buf *b = &n->local;
  if (b->len + len > (size_t)d->cfg.nats_buffer_bytes || !nf_handoff_rec_put(b, t, map, len)) {
    loop_dropped(n, 1);
    return;
  }
  n->local_n++;
}

void nfd_nats_commit(nfd *d) {
  struct nfd_nats *n = d->nats;
  if (!n || !n->local_n) return;
  if (!nf_handoff_give(&n->q, &n->local, n->local_n, false)) loop_dropped(n, n->local_n);
  else n->loop_dropping = false;
  n->local_n = 0;
}

void nfd_nats_stop(nfd *d) {
  struct nfd_nats *n = d->nats;
  if (!n) return;
  nfd_nats_commit(d);
  d->nats = NULL;
  if (!n->started) { /* libnats was never used */
    nf_handoff_free(&n->q);
    free(n);
    return;
  }
  nf_handoff_stop(&n->q);
  pthread_join(n->thr, NULL);
  /* libnats runs connection callbacks (whose closure is N) on threads of
   * its own, possibly after natsConnection_Destroy returned: N may go only
   * once every libnats thread has ended. */
  if (nats_CloseAndWait(d->cfg.nats_flush_ms + 1000) != NATS_OK) {
    nfd_log(d, NFD_WARN, "NATS: the client library did not stop in time");
    return; /* leave N to the process's exit rather than free it under a callback */
  }
  nf_handoff_free(&n->q);
  nf_buf_free(&n->local);
  free(n);
}

#else /* built without libnats: the config check refuses outputs.nats.url */

int nfd_nats_start(nfd *d, char *err, size_t errsz) {
  if (!d->cfg.nats_url[0]) return 0;
  return snprintf(err, errsz, "outputs.nats.url: this newsfeedd was built without libnats"), -1;
}

void nfd_nats_put(nfd *d, const nfd_topic *t, const void *map, size_t len) {
  (void)d, (void)t, (void)map, (void)len;
}

void nfd_nats_commit(nfd *d) {
  (void)d;
}

void nfd_nats_stop(nfd *d) {
  (void)d;
}

#endif
