/*
 * peer_mqtt.c -- MQTT 3.1.1 through libmosquitto for `newsfeed-bench peer`
 * (peer.h).
 *
 * One client for the publisher and one per subscriber, all with
 * MOSQ_OPT_TCP_NODELAY (Nagle costs 3-16 ms of latency otherwise) and a
 * clean session.  The publisher runs libmosquitto's own network thread
 * (mosquitto_loop_start) and publishes from the caller's thread at --qos;
 * its in-flight window for QoS 1 is raised from 20 to 1000.  on_publish
 * counts what is written (QoS 0) or PUBACKed (QoS 1); flush() waits until
 * that count reaches what was published.
 *
 * A subscriber has no thread of its own here: peer.c's subscriber thread
 * calls mosquitto_loop(), which runs the callbacks.  It subscribes in
 * on_connect, so a reconnect (counted as a disconnect) subscribes again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "peer.h"

typedef struct mq {
  struct mosquitto *m;
  const char *topic;
  int qos;
  bool is_sub;
  atomic_int connected;
  atomic_ullong acked, disconnects;
  uint64_t sent;
  peer_recv_fn fn; /* subscribers, during sub_poll */
  void *ctx;
} mq;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void) {
  mosquitto_lib_init();
}

static void on_connect(struct mosquitto *m, void *obj, int rc) {
  mq *q = obj;
  if (rc != 0) return;
  atomic_store(&q->connected, 1);
  if (q->is_sub) mosquitto_subscribe(m, NULL, q->topic, q->qos);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc) {
  (void)m, (void)rc;
  mq *q = obj;
  atomic_store(&q->connected, 0);
  atomic_fetch_add(&q->disconnects, 1);
}

static void on_publish(struct mosquitto *m, void *obj, int mid) {
  (void)m, (void)mid;
  atomic_fetch_add(&((mq *)obj)->acked, 1);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg) {
  (void)m;
  mq *q = obj;
  if (q->fn) q->fn(q->ctx, msg->payload, (size_t)msg->payloadlen);
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL); /* polling interval */
}

/* A client connected (TCP) to the URL; subscribers pass SUB = true. */
static mq *mq_new(const peer_cfg *c, const char *id, bool sub, char *err, size_t errlen) {
  pthread_once(&lib_once, lib_init);
  char host[256];
  int port;
  if (peer_parse_hostport(c->url, host, sizeof host, &port) < 0) {
    snprintf(err, errlen, "bad MQTT URL '%s' (want mqtt://HOST:PORT)", c->url);
    return NULL;
  }
  mq *q = bench_xcalloc(1, sizeof *q);
  q->topic = c->topic, q->qos = c->qos, q->is_sub = sub;
  q->m = mosquitto_new(id, true, q);
  if (!q->m) return snprintf(err, errlen, "mosquitto_new failed"), NULL;
  mosquitto_int_option(q->m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(q->m, on_connect);
  mosquitto_disconnect_callback_set(q->m, on_disconnect);
  mosquitto_publish_callback_set(q->m, on_publish);
  mosquitto_message_callback_set(q->m, on_message);
  if (!sub) mosquitto_max_inflight_messages_set(q->m, 1000);
  int rc = mosquitto_connect(q->m, host, port, 60);
  if (rc != MOSQ_ERR_SUCCESS) {
    snprintf(err, errlen, "MQTT %s: %s", c->url, mosquitto_strerror(rc));
    return NULL;
  }
  return q;
}

static void *mqtt_pub_open(const peer_cfg *c, char *err, size_t errlen) {
  char id[64];
  snprintf(id, sizeof id, "nfbench-pub-%ld", (long)getpid());
  mq *q = mq_new(c, id, false, err, errlen);
  if (!q) return NULL;
  int rc = mosquitto_loop_start(q->m);
  if (rc != MOSQ_ERR_SUCCESS) {
    snprintf(err, errlen, "mosquitto_loop_start: %s", mosquitto_strerror(rc));
    return NULL;
  }
  double deadline = bench_now() + 10;
  while (!atomic_load(&q->connected)) {
    if (bench_now() > deadline) return snprintf(err, errlen, "MQTT: no CONNACK in 10 s"), NULL;
    pause_ms(1);
  }
  return q;
}

static int mqtt_publish(void *pub, const void *buf, size_t len, char *err, size_t errlen) {
  mq *q = pub;
  int rc = mosquitto_publish(q->m, NULL, q->topic, (int)len, buf, q->qos, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    snprintf(err, errlen, "MQTT publish: %s", mosquitto_strerror(rc));
    return -1;
  }
  q->sent++;
  return 0;
}

static uint64_t mqtt_flush(void *pub, int timeout_ms) {
  mq *q = pub;
  double deadline = bench_now() + timeout_ms / 1000.0;
  while (atomic_load(&q->acked) < q->sent && bench_now() < deadline) pause_ms(1);
  return atomic_load(&q->acked);
}

static void *mqtt_sub_open(const peer_cfg *c, int idx, char *err, size_t errlen) {
  char id[64];
  snprintf(id, sizeof id, "nfbench-sub-%ld-%d", (long)getpid(), idx);
  return mq_new(c, id, true, err, errlen);
}

static int mqtt_sub_poll(void *sub, int timeout_ms, peer_recv_fn fn, void *ctx) {
  mq *q = sub;
  q->fn = fn, q->ctx = ctx;
  int rc = mosquitto_loop(q->m, timeout_ms, 1);
  if (rc == MOSQ_ERR_SUCCESS) return 0;
  if (mosquitto_reconnect(q->m) != MOSQ_ERR_SUCCESS) pause_ms(10);
  return 0;
}

static void mqtt_sub_stats(void *sub, uint64_t *dropped, uint64_t *disconnects) {
  mq *q = sub;
  *dropped = 0;
  *disconnects = atomic_load(&q->disconnects);
}

const peer_transport peer_mqtt_transport = {
    .name = "mqtt",
    .pub_open = mqtt_pub_open,
    .publish = mqtt_publish,
    .flush = mqtt_flush,
    .sub_open = mqtt_sub_open,
    .sub_poll = mqtt_sub_poll,
    .sub_stats = mqtt_sub_stats,
};
