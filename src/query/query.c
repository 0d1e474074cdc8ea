/*
 * query.c -- the query API: nng REP at query.listen, msgpack both ways
 * (SPEC section 8, docs/protocol.md).
 *
 *   {op:"stats"}               counters of the running daemon
 *   {op:"topics"}              every topic's last seq and epoch
 *   {op:"tag", item:{...}}     how the current rules tag an item, with the
 *                              reasons (nothing is published)
 *   {op:"reload"}              recompile the rules, as SIGHUP does
 *   {op:"history", topic, since, limit}
 *                              the topic's items with seq > since, in seq
 *                              order, at most limit (<= 1000): clients page
 * Every answer is a map with ok: true/false; errors carry `error`.
 *
 * Threads: nng completes receives on its own threads, but requests touch
 * loop state (topics, tagger).  So the aio callback only queues the
 * request and wakes the loop with uv_async; the loop builds the reply and
 * hands it back with nng_ctx_send.  One context serves requests one at a
 * time, which keeps the hand-off a simple two-state machine; queries are
 * rare next to ingest.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"

struct nfd_query {
  nfd *d;
  nng_socket sock;
  nng_ctx ctx;
  nng_aio *aio;
  bool open, sending;
  uv_async_t wake;
  pthread_mutex_t mu;
  nng_msg *pending; /* received, waiting for the loop */
};

static void on_aio(void *arg) {
  struct nfd_query *q = arg;
  if (nng_aio_result(q->aio) != 0) {
    if (q->sending) nng_msg_free(nng_aio_get_msg(q->aio));
    if (nng_aio_result(q->aio) == NNG_ECLOSED || nng_aio_result(q->aio) == NNG_ECANCELED) return;
    q->sending = false;
    nng_ctx_recv(q->ctx, q->aio);
    return;
  }
  if (q->sending) { /* reply went out: wait for the next request */
    q->sending = false;
    nng_ctx_recv(q->ctx, q->aio);
    return;
  }
  pthread_mutex_lock(&q->mu);
  q->pending = nng_aio_get_msg(q->aio);
  pthread_mutex_unlock(&q->mu);
  uv_async_send(&q->wake);
}

/* ---- replies ------------------------------------------------------------ */

static void kv_u(nf_buf *b, const char *k, uint64_t v) {
  nf__mp_cstr(b, k);
  nf__mp_uint(b, v);
}

static void reply_error(nf_buf *b, const char *msg) {
  nf__mp_map(b, 2);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, false);
  nf__mp_cstr(b, "error");
  nf__mp_cstr(b, msg);
}

static void op_stats(nfd *d, nf_buf *b) {
  nfd_metrics *m = &d->m;
  const nf_rules *r = nf_tagger_rules(d->tagger);
  nf__mp_map(b, 2);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
  nf__mp_cstr(b, "stats");
  nf__mp_map(b, 17);
  kv_u(b, "items_received", atomic_load(&m->items_received));
  kv_u(b, "items_accepted", atomic_load(&m->items_accepted));
  kv_u(b, "items_rejected", atomic_load(&m->items_rejected));
  kv_u(b, "messages_published", atomic_load(&m->messages_published));
  kv_u(b, "bytes_published", atomic_load(&m->bytes_published));
  kv_u(b, "publish_errors", atomic_load(&m->publish_errors));
  kv_u(b, "connections_open", (uint64_t)atomic_load(&m->connections_open));
  kv_u(b, "subscribers", (uint64_t)atomic_load(&m->subscribers));
  kv_u(b, "nats_published", atomic_load(&m->nats_published));
  kv_u(b, "nats_dropped", atomic_load(&m->nats_dropped));
  kv_u(b, "nats_connected", (uint64_t)atomic_load(&m->nats_connected));
  kv_u(b, "topics", d->topics.n);
  kv_u(b, "rule_topics", nf_rules_topics(r));
  kv_u(b, "rule_terms", nf_rules_terms(r));
  kv_u(b, "reloads", atomic_load(&m->reloads));
  kv_u(b, "start_ms", (uint64_t)d->start_ms);
  kv_u(b, "uptime_ms", (uint64_t)(nf_now_ms() - d->start_ms));
}

static void op_tag(nfd *d, const msgpack_object *item, nf_buf *b) {
  if (!item) {
    reply_error(b, "tag needs an item map");
    return;
  }
  nf_item it;
  nf_error err;
  nf_explain ex = {0};
  nf_item_init(&it);
  if (nf__item_from_object(&it, item, &d->limits, NF_FROM_PRODUCER, &err) < 0 ||
      nf_tag_item(d->tagger, &it, &ex, &err) < 0) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s%s%s", err.field, err.field[0] ? ": " : "", err.msg);
    reply_error(b, msg);
  } else {
    nf_explain_pack(&it, &ex, b);
  }
  nf_explain_free(&ex);
  nf_item_clear(&it);
}

static void op_reload(nfd *d, nf_buf *b) {
  char err[1024];
  if (nfd_reload_rules(d, err, sizeof err) < 0) {
    reply_error(b, err);
    return;
  }
  const nf_rules *r = nf_tagger_rules(d->tagger);
  nf__mp_map(b, 3);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
  kv_u(b, "topics", nf_rules_topics(r));
  kv_u(b, "terms", nf_rules_terms(r));
}

static bool uint_arg(const msgpack_object *o, const char *key, uint64_t dflt, uint64_t *out) {
  const msgpack_object *v = nf__mp_get(o, key);
  if (!v) return *out = dflt, true;
  if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return false;
  *out = v->via.u64;
  return true;
}

static void op_history(nfd *d, const msgpack_object *o, nf_buf *b) {
  const msgpack_object *t = nf__mp_get(o, "topic");
  uint64_t since, limit;
  char topic[NF_TOPIC_MAX + 1];
  if (!t || t->type != MSGPACK_OBJECT_STR || !nf_topic_valid(t->via.str.ptr, t->via.str.size)) {
    reply_error(b, "history needs topic (a topic name)");
    return;
  }
  if (!uint_arg(o, "since", 0, &since) || !uint_arg(o, "limit", 100, &limit)) {
    reply_error(b, "since and limit must be non-negative integers");
    return;
  }
  memcpy(topic, t->via.str.ptr, t->via.str.size);
  topic[t->via.str.size] = 0;
  nfd_history_pack(d, topic, since, limit > 1000 ? 1000 : limit, b);
}

static bool op_is(const msgpack_object *op, const char *name) {
  return op->via.str.size == strlen(name) && !memcmp(op->via.str.ptr, name, op->via.str.size);
}

void nfd_query_handle(nfd *d, const void *req, size_t len, nf_buf *b) {
  msgpack_unpacked up;
  nf_error err;
  if (nf__mp_unpack_one(&up, req, len, 32, &err) < 0) {
    reply_error(b, "request must be one msgpack map");
    return;
  }
  const msgpack_object *o = &up.data, *op = NULL;
  if (o->type == MSGPACK_OBJECT_MAP) op = nf__mp_get(o, "op");
  if (!op || op->type != MSGPACK_OBJECT_STR) reply_error(b, "request needs op (a string)");
  else if (op_is(op, "stats")) op_stats(d, b);
  else if (op_is(op, "topics")) nfd_topics_pack(d, b);
  else if (op_is(op, "tag")) {
    const msgpack_object *item = nf__mp_get(o, "item");
    op_tag(d, item && item->type == MSGPACK_OBJECT_MAP ? item : NULL, b);
  } else if (op_is(op, "reload")) op_reload(d, b);
  else if (op_is(op, "history")) op_history(d, o, b);
  else reply_error(b, "unknown op (expected stats, topics, tag, reload, history)");
  msgpack_unpacked_destroy(&up);
}

static void on_wake(uv_async_t *a) {
  struct nfd_query *q = a->data;
  pthread_mutex_lock(&q->mu);
  nng_msg *req = q->pending;
  q->pending = NULL;
  pthread_mutex_unlock(&q->mu);
  if (!req) return;
  nf_buf b = {0};
  nfd_query_handle(q->d, nng_msg_body(req), nng_msg_len(req), &b);
  nng_msg_clear(req);
  if (nng_msg_append(req, b.data, b.len) != 0) {
    nng_msg_free(req);
    nf_buf_free(&b);
    nng_ctx_recv(q->ctx, q->aio);
    return;
  }
  nf_buf_free(&b);
  q->sending = true;
  nng_aio_set_msg(q->aio, req);
  nng_ctx_send(q->ctx, q->aio);
}

int nfd_query_start(nfd *d, const char *url, char *err, size_t errsz) {
  struct nfd_query *q = calloc(1, sizeof *q);
  if (!q) return snprintf(err, errsz, "out of memory"), -1;
  d->query = q;
  q->d = d;
  pthread_mutex_init(&q->mu, NULL);
  uv_async_init(&d->loop, &q->wake, on_wake);
  q->wake.data = q;
  int rv = nng_rep0_open(&q->sock);
  if (rv) return snprintf(err, errsz, "query: %s", nng_strerror(rv)), -1;
  q->open = true;
  if ((rv = nng_ctx_open(&q->ctx, q->sock)) || (rv = nng_aio_alloc(&q->aio, on_aio, q)))
    return snprintf(err, errsz, "query.listen: %s: %s", url, nng_strerror(rv)), -1;
  if (nfd_nng_listen(d, q->sock, url, "query.listen", err, errsz) < 0) return -1;
  nng_ctx_recv(q->ctx, q->aio);
  nfd_log(d, NFD_INFO, "query API on %s", url);
  return 0;
}

void nfd_query_stop(nfd *d) {
  struct nfd_query *q = d->query;
  if (!q) return;
  if (q->aio) nng_aio_stop(q->aio); /* waits for a running callback */
  if (q->open) nfd_nng_close(d, q->sock, "query");
  if (q->aio) nng_aio_free(q->aio);
  if (q->pending) nng_msg_free(q->pending);
  pthread_mutex_destroy(&q->mu);
  free(q);
  d->query = NULL;
}
