/*
 * peer_nng.c -- raw nng PUB/SUB for `newsfeed-bench peer` (peer.h).
 *
 * The PUB socket is bound inside the bench process at the URL; each
 * subscriber is its own SUB socket dialling it, subscribed to everything
 * (the payload carries no topic prefix, so nng's subscriber-side filter
 * costs nothing here).  NNG_OPT_SENDBUF on PUB and NNG_OPT_RECVBUF on the
 * SUBs are --nng-buf (default 8192, the daemon's publish.send_buffer).
 * Publishing reuses one aio, as the daemon does (nng_send() would allocate
 * an aio per message).  PUB never blocks: a full queue drops the oldest
 * message silently, which peer.c sees as missing sequence numbers.
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "peer.h"

typedef struct npub {
  nng_socket sock;
  nng_aio *aio;
  uint64_t sent;
} npub;

static void *raw_pub_open(const peer_cfg *c, char *err, size_t errlen) {
  npub *p = bench_xcalloc(1, sizeof *p);
  int rv = nng_pub0_open(&p->sock);
  if (!rv) rv = nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, c->nng_buf);
  if (!rv) rv = nng_listen(p->sock, c->url, NULL, 0);
  if (!rv) rv = nng_aio_alloc(&p->aio, NULL, NULL);
  if (rv) {
    snprintf(err, errlen, "nng PUB at %s: %s", c->url, nng_strerror(rv));
    return NULL;
  }
  return p;
}

static int raw_publish(void *pub, const void *buf, size_t len, char *err, size_t errlen) {
  npub *p = pub;
  nng_msg *m;
  int rv = nng_msg_alloc(&m, len);
  if (rv) goto fail;
  memcpy(nng_msg_body(m), buf, len);
  nng_aio_set_msg(p->aio, m);
  nng_send_aio(p->sock, p->aio);
  nng_aio_wait(p->aio);
  rv = nng_aio_result(p->aio);
  if (rv) {
    nng_msg_free(m);
    goto fail;
  }
  p->sent++;
  return 0;
fail:
  snprintf(err, errlen, "nng send: %s", nng_strerror(rv));
  return -1;
}

static uint64_t raw_flush(void *pub, int timeout_ms) {
  (void)timeout_ms; /* PUB hands messages to its pipes' queues at once */
  return ((npub *)pub)->sent;
}

static void *raw_sub_open(const peer_cfg *c, int idx, char *err, size_t errlen) {
  nng_socket *s = bench_xcalloc(1, sizeof *s);
  int rv = nng_sub0_open(s);
  if (!rv) rv = nng_socket_set_int(*s, NNG_OPT_RECVBUF, c->nng_buf);
  if (!rv) rv = nng_socket_set(*s, NNG_OPT_SUB_SUBSCRIBE, "", 0);
  if (!rv) rv = nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, 100); /* sub_poll's timeout */
  if (!rv) rv = nng_dial(*s, c->url, NULL, NNG_FLAG_NONBLOCK);
  if (rv) {
    snprintf(err, errlen, "nng SUB %d to %s: %s", idx, c->url, nng_strerror(rv));
    return NULL;
  }
  return s;
}

static int raw_sub_poll(void *sub, int timeout_ms, peer_recv_fn fn, void *ctx) {
  nng_socket *s = sub;
  (void)timeout_ms; /* NNG_OPT_RECVTIMEO, set once */
  void *buf;
  size_t n;
  int rv = nng_recv(*s, &buf, &n, NNG_FLAG_ALLOC);
  if (rv == NNG_ETIMEDOUT) return 0;
  if (rv) return -1;
  fn(ctx, buf, n);
  nng_free(buf, n);
  return 0;
}

const peer_transport peer_nng_transport = {
    .name = "nng",
    .pub_open = raw_pub_open,
    .publish = raw_publish,
    .flush = raw_flush,
    .sub_open = raw_sub_open,
    .sub_poll = raw_sub_poll,
    .sub_stats = NULL,
};
