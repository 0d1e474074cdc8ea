/*
 * ingest.h -- what listener.c and conn.c share.
 *
 * listener.c owns the listening sockets and the list of connections;
 * conn.c owns one connection's life: read, frame, decode, run the
 * pipeline, answer, apply back-pressure, close.
 */
#ifndef NF_INGEST_INGEST_H
#define NF_INGEST_INGEST_H

#include "daemon/nfd.h"
#include "ingest/framing.h"

typedef struct nfd_conn nfd_conn;

typedef struct nfd_listener {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } h;
  struct nfd_ingest *ing;
  bool is_pipe;
  char url[256];
  char path[108]; /* ipc: unlinked at stop */
} nfd_listener;

struct nfd_ingest {
  nfd *d;
  nfd_listener *ls;
  size_t n_ls;
  nfd_conn *conns; /* doubly linked */
  size_t n_conns;
  bool stopping;
  void (*on_stopped)(nfd *d);
  uv_timer_t deadline;
  uv_timer_t sweep;  /* idle connections */
  uv_timer_t linger; /* runs while n_lingering > 0 (listener.c) */
  size_t n_lingering;
  char rbuf[64 * 1024]; /* the read buffer of every connection (conn.c) */
};

/* Takes an accepted client (already uv_accept'ed into a fresh handle). */
void nfd_conn_start(struct nfd_ingest *ing, uv_stream_t *client, bool is_pipe);
/* Accepts and refuses at once (too many connections). */
void nfd_conn_refuse(uv_stream_t *server, bool is_pipe);
/* Every connection: stop reading, close once its answers are written. */
void nfd_ingest_drain_all(struct nfd_ingest *ing);
/* Closes connections idle for ingest.idle_timeout_seconds. */
void nfd_ingest_sweep_idle(struct nfd_ingest *ing);
/* Every connection: close now, dropping unwritten answers. */
void nfd_ingest_abort_all(struct nfd_ingest *ing);
/* conn.c: a connection starts lingering (its count is already raised). */
void nfd_ingest_linger_start(struct nfd_ingest *ing);
/* Closes the lingering connections whose time is up. */
void nfd_ingest_linger_expire(struct nfd_ingest *ing);
/* Called by conn.c when a connection has fully closed. */
void nfd_ingest_conn_gone(struct nfd_ingest *ing);

#endif
