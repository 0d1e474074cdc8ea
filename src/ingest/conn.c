/*
 * conn.c -- one producer connection.
 *
 * Life of a read: libuv hands us bytes; the framer cuts them into lines or
 * frames; each is decoded into a job (or an error answer); the pipeline
 * runs the jobs of this read together; their answers are encoded in the
 * connection's framing and written with one uv_write.  Processing is
 * synchronous, so when the read callback returns, every item it brought
 * has been published and answered (the answer may still be in flight).
 *
 * Answers wait for the journal: the answers of one read are queued with
 * the journal position of that read's records and written, in order, once
 * the journal says that position is durable (nfd_ingest_durable).  With
 * journal.fsync: never, or no journal, that is at once.
 *
 * Back-pressure: a producer that does not read its answers stops being
 * read once its unwritten answers exceed ingest.max_pending_bytes, and is
 * read again when they drain below half of it.  Memory per connection is
 * thus bounded by the read buffer, one partial item (at most
 * max_item_bytes), and the pending answers.
 *
 * Lingering close: a connection we close while the producer is still
 * sending (shutdown, idle, failed auth) is not closed outright, because
 * closing a socket with unread input makes the kernel send RST, and an RST
 * can destroy answers still in flight to the producer -- acks it would
 * then never see.  So, once its answers are written, we send FIN
 * (uv_shutdown), read and discard until the producer closes its side, and
 * close then, or after LINGER_MS at most.
 *
 * Invariants: a connection is in the ingest list from start until its
 * close callback; `closing` is set once and then no item is read.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

/* Items of one read go through the pipeline at most this many at a time,
 * so a read full of tiny items cannot make the job array (about 1 KiB an
 * item) grow past a few hundred KiB. */
#define MAX_BATCH 256

/* How long a closing connection waits for the producer's EOF (see above). */
#define LINGER_MS 2000

typedef struct ack { /* answers waiting for the journal */
  struct ack *next;
  uint64_t lsn;
  nf_buf buf;
} ack;

struct nfd_conn {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_stream_t stream;
    uv_handle_t handle;
  } h;
  struct nfd_ingest *ing;
  nfd_conn *prev, *next;
  nf_framer fr;
  uint64_t items;   /* items seen on this connection */
  uint64_t frames;  /* lines or frames seen, items and auth alike */
  bool authed;      /* may send items (always, when no tokens are set) */
  bool close_after; /* close once this read's answers are written */
  char producer[65];
  char peer[80];
  char addr[64];        /* peer address without port, for per-peer limits */
  uint64_t last_active; /* loop time of the last read, ms */
  double tokens;        /* rate limit bucket */
  uint64_t tokens_at;
  size_t pending;        /* answer bytes written but not yet completed */
  ack *acks, *acks_tail; /* waiting for the journal, oldest first */
  size_t queued;         /* bytes in ACKS */
  bool paused, closing, closed_handle;
  bool peer_eof;          /* the producer closed its side: nothing to linger for */
  uint64_t linger_until;  /* loop time; 0 while not lingering */
  uv_shutdown_t shutdown; /* our FIN, sent when lingering starts */
  nfd_job *jobs;
  size_t n_jobs, cap_jobs;
};

typedef struct wreq {
  uv_write_t req;
  nfd_conn *c;
  nf_buf buf;
} wreq;

static void conn_resume(nfd_conn *c);
static void conn_drain(nfd_conn *c);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);

static void free_handle(uv_handle_t *h) {
  free(h);
}

static void on_closed(uv_handle_t *h) {
  nfd_conn *c = h->data;
  struct nfd_ingest *ing = c->ing;
  if (c->prev) c->prev->next = c->next;
  else ing->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  ing->n_conns--;
  if (c->linger_until) ing->n_lingering--;
  atomic_fetch_sub(&ing->d->m.connections_open, 1);
  nfd_log(ing->d, NFD_DEBUG, "ingest: %s closed after %llu items", c->peer,
          (unsigned long long)c->items);
  nf_framer_free(&c->fr);
  while (c->acks) {
    ack *a = c->acks;
    c->acks = a->next;
    nf_buf_free(&a->buf);
    free(a);
  }
  free(c->jobs);
  free(c);
  nfd_ingest_conn_gone(ing);
}

static void close_now(nfd_conn *c) {
  if (c->closed_handle) return;
  c->closed_handle = c->closing = true;
  uv_read_stop(&c->h.stream);
  uv_close(&c->h.handle, on_closed);
}

static void on_linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf; /* what a closing connection still sends is discarded */
  if (nread < 0) close_now(s->data);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  nfd_conn *c = req->handle->data;
  if (status == UV_ECANCELED || c->closed_handle) return;
  if (status < 0 || uv_read_start(&c->h.stream, on_alloc, on_linger_read) < 0) close_now(c);
}

/* Every answer is written: close, lingering if the producer may still be
 * sending. */
static void conn_done(nfd_conn *c) {
  if (c->closed_handle || c->linger_until) return;
  if (c->peer_eof || uv_shutdown(&c->shutdown, &c->h.stream, on_shutdown) < 0) {
    close_now(c);
    return;
  }
  c->linger_until = uv_now(&c->ing->d->loop) + LINGER_MS;
  c->ing->n_lingering++;
  nfd_ingest_linger_start(c->ing);
}

void nfd_ingest_linger_expire(struct nfd_ingest *ing) {
  uint64_t now = uv_now(&ing->d->loop);
  for (nfd_conn *c = ing->conns, *next; c; c = next) {
    next = c->next;
    if (c->linger_until && now >= c->linger_until) close_now(c);
  }
}

static void conn_drain(nfd_conn *c) {
  c->closing = true;
  uv_read_stop(&c->h.stream);
  if (c->pending == 0 && !c->acks) conn_done(c);
}

void nfd_ingest_drain_all(struct nfd_ingest *ing) {
  for (nfd_conn *c = ing->conns, *next; c; c = next) {
    next = c->next;
    conn_drain(c);
  }
}

void nfd_ingest_sweep_idle(struct nfd_ingest *ing) {
  nfd *d = ing->d;
  uint64_t now = uv_now(&d->loop), idle = (uint64_t)d->cfg.idle_timeout_seconds * 1000;
  for (nfd_conn *c = ing->conns, *next; c; c = next) {
    next = c->next;
    if (c->closing || c->pending || c->acks || now - c->last_active < idle) continue;
    nfd_log(d, NFD_INFO, "ingest: %s idle for %llds: closing", c->peer,
            d->cfg.idle_timeout_seconds);
    atomic_fetch_add(&d->m.connections_idle_closed, 1);
    conn_drain(c);
  }
}

void nfd_ingest_abort_all(struct nfd_ingest *ing) {
  for (nfd_conn *c = ing->conns, *next; c; c = next) {
    next = c->next;
    close_now(c);
  }
}

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  nfd_conn *c = w->c;
  c->pending -= w->buf.len;
  nf_buf_free(&w->buf);
  free(w);
  if (status < 0 && status != UV_ECANCELED) {
    nfd_log(c->ing->d, NFD_DEBUG, "ingest: %s: write: %s", c->peer, uv_strerror(status));
    close_now(c);
    return;
  }
  if (c->closing) {
    if (c->pending == 0 && !c->acks) conn_done(c);
    return;
  }
  size_t max = (size_t)c->ing->d->cfg.max_pending_bytes;
  if (c->paused && c->pending + c->queued < max / 2) {
    c->paused = false;
    conn_resume(c);
  }
}

/* Writes BUF (taking it over). */
static void send_buf(nfd_conn *c, nf_buf *buf) {
  if (!buf->len || c->closed_handle) {
    nf_buf_free(buf);
    return;
  }
  wreq *w = malloc(sizeof *w);
  if (!w) {
    nf_buf_free(buf);
    close_now(c);
    return;
  }
  w->c = c;
  w->buf = *buf;
  memset(buf, 0, sizeof *buf);
  uv_buf_t b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
  int rc = uv_write(&w->req, &c->h.stream, &b, 1, on_written);
  if (rc < 0) {
    nf_buf_free(&w->buf);
    free(w);
    close_now(c);
    return;
  }
  c->pending += w->buf.len;
  if (!c->paused && c->pending + c->queued > (size_t)c->ing->d->cfg.max_pending_bytes) {
    c->paused = true;
    uv_read_stop(&c->h.stream);
  }
}

static nfd_job *new_job(nfd_conn *c) {
  if (c->n_jobs == c->cap_jobs) {
    size_t cap = c->cap_jobs ? c->cap_jobs * 2 : 16;
    nfd_job *j = realloc(c->jobs, cap * sizeof *j);
    if (!j) return NULL;
    c->jobs = j;
    c->cap_jobs = cap;
  }
  nfd_job *j = &c->jobs[c->n_jobs++];
  memset(j, 0, sizeof *j);
  nf_item_init(&j->item);
  j->answer.item = ++c->items;
  return j;
}

/* {"auth": TOKEN} as the first frame.  Returns non-zero to stop reading
 * (failed authentication closes the connection). */
static int on_auth(nfd_conn *c, nfd_job *j, const char *token) {
  nfd *d = c->ing->d;
  c->items--; /* not an item */
  j->answer.item = 0;
  j->control = true;
  if (!d->tokens.n) { /* none configured: anyone may push */
    c->authed = j->answer.ok = true;
    return 0;
  }
  const char *name = nfd_tokens_check(&d->tokens, token, strlen(token));
  if (!name) {
    nf_answer_set_error(&j->answer, 0, "auth", "authentication failed");
    nfd_log(d, NFD_WARN, "ingest: %s: authentication failed; closing", c->peer);
    c->close_after = true;
    return 1;
  }
  c->authed = j->answer.ok = true;
  snprintf(c->producer, sizeof c->producer, "%s", name);
  snprintf(j->answer.auth, sizeof j->answer.auth, "%s", name);
  nfd_log(d, NFD_INFO, "ingest: %s authenticated as %s", c->peer, name);
  return 0;
}

/* Token bucket: false when the connection is over its items per second. */
static bool take_token(nfd_conn *c) {
  nfd *d = c->ing->d;
  double rate = (double)d->cfg.max_items_per_second;
  if (rate <= 0) return true;
  double burst = d->cfg.burst_items > 0 ? (double)d->cfg.burst_items : rate;
  uint64_t now = uv_now(&d->loop);
  c->tokens += (double)(now - c->tokens_at) * rate / 1000.0;
  if (c->tokens > burst) c->tokens = burst;
  c->tokens_at = now;
  if (c->tokens < 1) return false;
  c->tokens -= 1;
  return true;
}

static void finish_read(nfd_conn *c);

static int on_frame(void *ctx, nf_fevent ev, const char *p, size_t n) {
  nfd_conn *c = ctx;
  nfd *d = c->ing->d;
  if (c->n_jobs == MAX_BATCH) finish_read(c);
  nfd_job *j = new_job(c);
  if (!j) return 1;
  if (c->frames++ == 0 && ev == NF_FRAME_OK) {
    char token[300];
    if (nfd_auth_frame(c->fr.mode == NF_FM_JSON, p, n, token, sizeof token)) {
      int rc = on_auth(c, j, token);
      explicit_bzero(token, sizeof token);
      return rc;
    }
  }
  if (!c->authed) {
    c->items--;
    j->answer.item = 0;
    j->control = true;
    nf_answer_set_error(&j->answer, 0, "auth",
                        "authentication required: send {\"auth\": TOKEN} first");
    nfd_log(d, NFD_INFO, "ingest: %s sent an item without authenticating; closing", c->peer);
    c->close_after = true;
    return 1;
  }
  atomic_fetch_add(&d->m.items_received, 1);
  nf_error err = {{0}, {0}};
  if (!take_token(c)) {
    snprintf(err.msg, sizeof err.msg, "rate limit: at most %lld items per second",
             d->cfg.max_items_per_second);
  } else if (ev == NF_FRAME_TOO_LONG) {
    snprintf(err.msg, sizeof err.msg, "item too large: %zu bytes, at most %lld", n,
             d->cfg.max_item_bytes);
  } else {
    int rc = c->fr.mode == NF_FM_JSON
                 ? nf_item_from_json(&j->item, p, n, &d->limits, NF_FROM_PRODUCER, &err)
                 : nf_item_from_msgpack(&j->item, p, n, &d->limits, NF_FROM_PRODUCER, &err);
    if (rc == 0) {
      j->valid = true;
      if (c->producer[0]) /* who sent it, as authenticated (a daemon-set field) */
        j->item.producer = nf_item_strdup(&j->item, c->producer, strlen(c->producer));
      return 0;
    }
  }
  nf_answer_set_error(&j->answer, j->answer.item, err.field, err.msg);
  nfd_log(d, NFD_DEBUG, "ingest: %s: item %llu rejected: %s%s%s", c->peer,
          (unsigned long long)j->answer.item, err.field, err.field[0] ? ": " : "", err.msg);
  return 0;
}

/* Runs the pipeline on the jobs of this read and writes their answers. */
/* Sends BUF now if the journal allows, else queues it behind earlier
 * answers until LSN is durable. */
static void answer(nfd_conn *c, nf_buf *buf, uint64_t lsn) {
  nfd *d = c->ing->d;
  if (!c->acks && (lsn == 0 || lsn <= nfd_journal_durable(d))) {
    send_buf(c, buf);
    return;
  }
  ack *a = malloc(sizeof *a);
  if (!a) {
    nf_buf_free(buf);
    close_now(c);
    return;
  }
  *a = (ack){.lsn = lsn, .buf = *buf};
  memset(buf, 0, sizeof *buf);
  if (c->acks_tail) c->acks_tail->next = a;
  else c->acks = a;
  c->acks_tail = a;
  c->queued += a->buf.len;
  if (!c->paused && c->pending + c->queued > (size_t)d->cfg.max_pending_bytes) {
    c->paused = true;
    uv_read_stop(&c->h.stream);
  }
}

void nfd_ingest_durable(nfd *d, uint64_t lsn, bool failed) {
  nfd_nng_ingest_durable(d, lsn, failed);
  if (!d->ingest) return;
  for (nfd_conn *c = d->ingest->conns, *next; c; c = next) {
    next = c->next;
    bool dropped = false;
    while (c->acks && c->acks->lsn <= lsn) {
      ack *a = c->acks;
      c->acks = a->next;
      if (!c->acks) c->acks_tail = NULL;
      c->queued -= a->buf.len;
      if (failed) nf_buf_free(&a->buf), dropped = true; /* never a false ack */
      else send_buf(c, &a->buf);
      free(a);
    }
    if (dropped && !c->closed_handle) close_now(c); /* the producer will retry */
    else if (c->closing && c->pending == 0 && !c->acks) conn_done(c);
  }
}

static void finish_read(nfd_conn *c) {
  if (!c->n_jobs) return;
  nfd *d = c->ing->d;
  uint64_t lsn = nfd_pipeline_run(d, c->jobs, c->n_jobs);
  nf_buf out = {0};
  for (size_t i = 0; i < c->n_jobs; i++) {
    nfd_job *j = &c->jobs[i];
    if (c->fr.mode == NF_FM_JSON) nf_answer_to_json(&j->answer, &out);
    else nf_answer_to_msgpack(&j->answer, &out);
    nfd_job_clear(j);
  }
  c->n_jobs = 0;
  if (c->cap_jobs > 16) { /* give a burst's memory back */
    free(c->jobs);
    c->jobs = NULL;
    c->cap_jobs = 0;
  }
  answer(c, &out, lsn);
}

static void refuse_framing(nfd_conn *c) {
  nf_answer a = {0};
  nf_answer_set_error(&a, 0, "",
                      "unknown framing: send JSON Lines (first byte '{') or msgpack "
                      "frames (4-byte big-endian length, then a map)");
  nf_buf out = {0};
  nf_answer_to_json(&a, &out);
  send_buf(c, &out);
  nfd_log(c->ing->d, NFD_INFO, "ingest: %s: unknown framing, closing", c->peer);
  conn_drain(c);
}

/* One read buffer serves every connection: a read is processed completely
 * inside on_read, before libuv asks for a buffer again, so an idle
 * connection costs no buffer at all. */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  nfd_conn *c = h->data;
  *buf = uv_buf_init(c->ing->rbuf, sizeof c->ing->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  nfd_conn *c = s->data;
  if (nread < 0) {
    c->peer_eof = true;
    if (nread != UV_EOF)
      nfd_log(c->ing->d, NFD_DEBUG, "ingest: %s: read: %s", c->peer, uv_strerror((int)nread));
    else if (nf_framer_buffered(&c->fr))
      nfd_log(c->ing->d, NFD_INFO, "ingest: %s: closed mid-item (%zu bytes dropped)", c->peer,
              nf_framer_buffered(&c->fr));
    conn_drain(c); /* answers already queued still go out */
    return;
  }
  if (nread == 0 || c->closing) return;
  c->last_active = uv_now(&c->ing->d->loop);
  int rc = nf_framer_feed(&c->fr, buf->base, (size_t)nread, on_frame, c);
  finish_read(c);
  if (rc < 0) refuse_framing(c);
  else if (c->close_after) conn_drain(c);
}

static void conn_resume(nfd_conn *c) {
  if (!c->closing) uv_read_start(&c->h.stream, on_alloc, on_read);
}

static void peer_name(nfd_conn *c, bool is_pipe) {
  if (is_pipe) {
    snprintf(c->peer, sizeof c->peer, "unix");
    snprintf(c->addr, sizeof c->addr, "unix");
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  char ip[64] = "?";
  int port = 0;
  if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
      uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
      port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
  }
  snprintf(c->peer, sizeof c->peer, is_pipe ? "unix" : "%s:%d", ip, port);
  snprintf(c->addr, sizeof c->addr, "%s", ip);
}

static nfd_conn *conn_new(struct nfd_ingest *ing, uv_stream_t *server, bool is_pipe) {
  nfd_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  int rc =
      is_pipe ? uv_pipe_init(server->loop, &c->h.pipe, 0) : uv_tcp_init(server->loop, &c->h.tcp);
  if (rc < 0) {
    free(c);
    return NULL;
  }
  c->h.handle.data = c;
  c->ing = ing;
  if (uv_accept(server, &c->h.stream) < 0) {
    c->closed_handle = true;
    uv_close(&c->h.handle, free_handle);
    return NULL;
  }
  return c;
}

void nfd_conn_start(struct nfd_ingest *ing, uv_stream_t *server, bool is_pipe) {
  nfd_conn *c = conn_new(ing, server, is_pipe);
  if (!c) return;
  nfd *d = ing->d;
  nf_framer_init(&c->fr, (size_t)d->cfg.max_item_bytes);
  c->authed = d->tokens.n == 0;
  peer_name(c, is_pipe);
  c->last_active = c->tokens_at = uv_now(&d->loop);
  c->tokens =
      d->cfg.burst_items > 0 ? (double)d->cfg.burst_items : (double)d->cfg.max_items_per_second;
  size_t same = 0;
  for (nfd_conn *o = ing->conns; o; o = o->next)
    same += !o->linger_until && !strcmp(o->addr, c->addr);
  if (same >= (size_t)d->cfg.max_connections_per_peer) {
    atomic_fetch_add(&d->m.connections_refused, 1);
    nfd_log(d, NFD_WARN, "ingest: refusing %s: ingest.max_connections_per_peer (%lld) reached",
            c->peer, d->cfg.max_connections_per_peer);
    nf_framer_free(&c->fr);
    c->closed_handle = true;
    uv_close(&c->h.handle, free_handle);
    return;
  }
  if (!is_pipe) uv_tcp_nodelay(&c->h.tcp, 1);
  c->next = ing->conns;
  if (ing->conns) ing->conns->prev = c;
  ing->conns = c;
  ing->n_conns++;
  atomic_fetch_add(&d->m.connections_open, 1);
  atomic_fetch_add(&d->m.connections_accepted, 1);
  nfd_log(d, NFD_DEBUG, "ingest: %s connected", c->peer);
  uv_read_start(&c->h.stream, on_alloc, on_read);
}

void nfd_conn_refuse(uv_stream_t *server, bool is_pipe) {
  uv_stream_t *s = malloc(is_pipe ? sizeof(uv_pipe_t) : sizeof(uv_tcp_t));
  if (!s) return;
  if ((is_pipe ? uv_pipe_init(server->loop, (uv_pipe_t *)s, 0)
               : uv_tcp_init(server->loop, (uv_tcp_t *)s)) < 0) {
    free(s);
    return;
  }
  uv_accept(server, s);
  uv_close((uv_handle_t *)s, free_handle);
}
