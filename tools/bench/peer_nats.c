/*
 * peer_nats.c -- core NATS through libnats for `newsfeed-bench peer`
 * (peer.h).
 *
 * One connection for the publisher and one per subscriber, as newsfeedd's
 * subscribers each have their own socket.  The publisher uses the
 * library's buffered writes (a flusher thread sends within ~1 ms) unless
 * --nats-send-asap; flush() is natsConnection_FlushTimeout, a PING/PONG
 * round trip, so the server has every message published before it.
 *
 * Subscribers are synchronous subscriptions read by peer.c's threads with
 * natsSubscription_NextMsg.  Their pending limits are raised far above the
 * library default (64k messages / 64 MB) so the library does not drop in a
 * run; what it drops anyway is reported by natsSubscription_GetDropped,
 * and a connection the server cut (slow consumer on its side) counts as a
 * disconnect.  Either shows up as missing sequence numbers in peer.c.
 */
#include <nats/nats.h>
#include <stdatomic.h>
#include <stdio.h>

#include "bench.h"
#include "peer.h"

typedef struct nconn {
  natsConnection *nc;
  natsSubscription *sub;
  const char *subject;
  atomic_ullong disconnects;
  uint64_t sent;
} nconn;

static void on_disconnected(natsConnection *nc, void *closure) {
  (void)nc;
  atomic_fetch_add(&((nconn *)closure)->disconnects, 1);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *cl) {
  (void)nc, (void)sub, (void)s, (void)cl; /* counted by GetDropped; keeps libnats quiet */
}

static nconn *nats_connect(const peer_cfg *c, bool asap, char *err, size_t errlen) {
  nconn *n = bench_xcalloc(1, sizeof *n);
  n->subject = c->topic;
  natsOptions *o = NULL;
  natsStatus s = natsOptions_Create(&o);
  if (s == NATS_OK) s = natsOptions_SetURL(o, c->url);
  if (s == NATS_OK) s = natsOptions_SetSendAsap(o, asap);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o, on_disconnected, n);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, on_async_error, n);
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, 5000);
  if (s == NATS_OK) s = natsConnection_Connect(&n->nc, o);
  natsOptions_Destroy(o);
  if (s != NATS_OK) {
    snprintf(err, errlen, "NATS %s: %s", c->url, natsStatus_GetText(s));
    return NULL;
  }
  return n;
}

static void *nats_pub_open(const peer_cfg *c, char *err, size_t errlen) {
  return nats_connect(c, c->send_asap, err, errlen);
}

static int nats_publish(void *pub, const void *buf, size_t len, char *err, size_t errlen) {
  nconn *n = pub;
  natsStatus s = natsConnection_Publish(n->nc, n->subject, buf, (int)len);
  if (s != NATS_OK) {
    snprintf(err, errlen, "NATS publish: %s", natsStatus_GetText(s));
    return -1;
  }
  n->sent++;
  return 0;
}

static uint64_t nats_flush(void *pub, int timeout_ms) {
  nconn *n = pub;
  natsConnection_FlushTimeout(n->nc, timeout_ms);
  return n->sent;
}

static void *nats_sub_open(const peer_cfg *c, int idx, char *err, size_t errlen) {
  nconn *n = nats_connect(c, false, err, errlen);
  if (!n) return NULL;
  natsStatus s = natsConnection_SubscribeSync(&n->sub, n->nc, c->topic);
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(n->sub, 10000000, 1 << 30);
  if (s == NATS_OK) s = natsConnection_FlushTimeout(n->nc, 5000); /* the server has it */
  if (s != NATS_OK) {
    snprintf(err, errlen, "NATS subscriber %d: %s", idx, natsStatus_GetText(s));
    return NULL;
  }
  return n;
}

static int nats_sub_poll(void *sub, int timeout_ms, peer_recv_fn fn, void *ctx) {
  nconn *n = sub;
  natsMsg *m = NULL;
  natsStatus s = natsSubscription_NextMsg(&m, n->sub, timeout_ms);
  if (s == NATS_TIMEOUT || s == NATS_SLOW_CONSUMER) return 0; /* drops: GetDropped */
  if (s != NATS_OK) return natsConnection_IsClosed(n->nc) ? -1 : 0;
  fn(ctx, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
  natsMsg_Destroy(m);
  return 0;
}

static void nats_sub_stats(void *sub, uint64_t *dropped, uint64_t *disconnects) {
  nconn *n = sub;
  int64_t d = 0;
  natsSubscription_GetDropped(n->sub, &d);
  *dropped = (uint64_t)d;
  *disconnects = atomic_load(&n->disconnects);
}

const peer_transport peer_nats_transport = {
    .name = "nats",
    .pub_open = nats_pub_open,
    .publish = nats_publish,
    .flush = nats_flush,
    .sub_open = nats_sub_open,
    .sub_poll = nats_sub_poll,
    .sub_stats = nats_sub_stats,
};
