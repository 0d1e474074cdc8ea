/*
 * peer.h -- the transports of `newsfeed-bench peer` (peer.c).
 *
 * A transport is a small vtable over one client library: open the one
 * publisher, publish a buffer, push out what the library buffered; open
 * subscriber K and receive for a while, calling back per message.  peer.c
 * owns the threads (one per subscriber, each calling sub_poll in a loop;
 * the publisher is the main thread), the message header, the schedule and
 * the measuring, so every transport is measured by the same code.
 *
 * The NATS and MQTT transports are compiled only when libnats and
 * libmosquitto are installed (NF_HAVE_NATS, NF_HAVE_MOSQUITTO).
 */
#ifndef NF_TOOLS_BENCH_PEER_H
#define NF_TOOLS_BENCH_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct peer_cfg {
  const char *url;
  const char *topic; /* NATS subject, MQTT topic; nng subscribes to everything */
  int qos;           /* MQTT: 0 or 1 */
  int nng_buf;       /* nng: NNG_OPT_SENDBUF on PUB and NNG_OPT_RECVBUF on SUBs */
  bool send_asap;    /* NATS: natsOptions_SetSendAsap on the publisher */
} peer_cfg;

typedef void (*peer_recv_fn)(void *ctx, const void *buf, size_t len);

typedef struct peer_transport {
  const char *name;
  /* The publisher, or NULL with a message in ERR. */
  void *(*pub_open)(const peer_cfg *c, char *err, size_t errlen);
  /* Hands one message to the library: 0, or -1 with a message in ERR. */
  int (*publish)(void *pub, const void *buf, size_t len, char *err, size_t errlen);
  /* Pushes out what the library buffered and waits, at most TIMEOUT_MS,
   * until the broker has it (NATS: PING/PONG; MQTT: every publish written,
   * and acked at QoS 1).  Returns how many publishes are confirmed so far:
   * accepted by the library (nng, NATS), written or acked (MQTT). */
  uint64_t (*flush)(void *pub, int timeout_ms);
  /* Subscriber IDX, subscribed when this returns or soon after. */
  void *(*sub_open)(const peer_cfg *c, int idx, char *err, size_t errlen);
  /* Receives for at most TIMEOUT_MS, calling FN per message; -1 when the
   * subscriber cannot go on. */
  int (*sub_poll)(void *sub, int timeout_ms, peer_recv_fn fn, void *ctx);
  /* Messages the client library dropped (NATS: slow consumer) and the times
   * the connection was lost; NULL when the transport has neither. */
  void (*sub_stats)(void *sub, uint64_t *dropped, uint64_t *disconnects);
} peer_transport;

extern const peer_transport peer_nng_transport;
#if NF_HAVE_NATS
extern const peer_transport peer_nats_transport;
#endif
#if NF_HAVE_MOSQUITTO
extern const peer_transport peer_mqtt_transport;
#endif

/* Parses "scheme://host:port" (host may be empty: 127.0.0.1). */
int peer_parse_hostport(const char *url, char *host, size_t hostlen, int *port);

#endif
