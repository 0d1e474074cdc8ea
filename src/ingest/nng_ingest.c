/*
 * nng_ingest.c -- ingest over nng REQ/REP (ingest.nng_listen), for
 * producers on other machines: with a tls+tcp:// endpoint their items and
 * tokens never cross the network in clear text.
 *
 * A request is one msgpack item map -- answered with one answer map, as in
 * the msgpack framing -- or a msgpack array of item maps, answered with an
 * array of answers in the same order.  With producer tokens, the first
 * request of a pipe (connection) must be {"auth": TOKEN}; the pipe is
 * remembered as authenticated until it closes.
 *
 * Threads: nng completes receives on its threads; each of CTXS contexts
 * hands its request to the loop (uv_async) and waits.  The loop runs the
 * pipeline, and replies at once or, when the journal has yet to make the
 * records durable, when nfd_nng_ingest_durable says so -- the same rule as
 * for stream connections: no answer before its records are safe.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"

#define CTXS 16

typedef struct rctx {
  struct nfd_ningest *ni;
  nng_ctx ctx;
  nng_aio *aio;
  enum { R_RECV, R_LOOP, R_WAIT, R_SEND } state;
  struct rctx *next_ready;
  nng_msg *msg; /* the request, then the reply */
  uint64_t lsn; /* R_WAIT: journal position the reply waits for */
} rctx;

struct nfd_ningest {
  nfd *d;
  nng_socket sock;
  bool open;
  rctx ctx[CTXS];
  uv_async_t wake;
  pthread_mutex_t mu;
  rctx *ready;      /* received, for the loop (under mu) */
  nf_strmap authed; /* pipe id -> producer name (loop only) */
  uint32_t *closed; /* pipes gone, for the loop (under mu) */
  size_t n_closed, cap_closed;
};

static void on_aio(void *arg) {
  rctx *r = arg;
  struct nfd_ningest *ni = r->ni;
  int rv = nng_aio_result(r->aio);
  if (r->state == R_SEND) {
    if (rv) nng_msg_free(nng_aio_get_msg(r->aio));
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    r->state = R_RECV;
    nng_ctx_recv(r->ctx, r->aio);
    return;
  }
  if (rv) {
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    nng_ctx_recv(r->ctx, r->aio);
    return;
  }
  r->msg = nng_aio_get_msg(r->aio);
  r->state = R_LOOP;
  pthread_mutex_lock(&ni->mu);
  r->next_ready = ni->ready;
  ni->ready = r;
  pthread_mutex_unlock(&ni->mu);
  uv_async_send(&ni->wake);
}

static void on_pipe_gone(nng_pipe p, nng_pipe_ev ev, void *arg) {
  struct nfd_ningest *ni = arg;
  (void)ev;
  pthread_mutex_lock(&ni->mu);
  if (ni->n_closed == ni->cap_closed) {
    size_t cap = ni->cap_closed ? ni->cap_closed * 2 : 16;
    uint32_t *v = realloc(ni->closed, cap * sizeof *v);
    if (v) ni->closed = v, ni->cap_closed = cap;
  }
  if (ni->n_closed < ni->cap_closed) ni->closed[ni->n_closed++] = nng_pipe_id(p);
  pthread_mutex_unlock(&ni->mu);
  uv_async_send(&ni->wake);
}

static void send_reply(rctx *r) {
  r->state = R_SEND;
  nng_aio_set_msg(r->aio, r->msg);
  r->msg = NULL;
  nng_ctx_send(r->ctx, r->aio);
}

/* Handles {"auth": TOKEN}; returns true if the request was one. */
static bool try_auth(struct nfd_ningest *ni, const char *p, size_t n, const char *pipe,
                     nf_answer *a) {
  char token[300];
  if (!nfd_auth_frame(false, p, n, token, sizeof token)) return false;
  nfd *d = ni->d;
  const char *name = d->tokens.n ? nfd_tokens_check(&d->tokens, token, strlen(token)) : "";
  explicit_bzero(token, sizeof token);
  if (!name) {
    nf_answer_set_error(a, 0, "auth", "authentication failed");
    return true;
  }
  a->ok = true;
  snprintf(a->auth, sizeof a->auth, "%s", name);
  char *copy = strdup(name);
  if (copy && !nf_strmap_put(&ni->authed, pipe, strlen(pipe), copy)) free(copy);
  return true;
}

/* Decodes the request into jobs: a map is one item, an array several. */
static size_t decode(nfd *d, const msgpack_object *o, nfd_job *jobs, size_t max,
                     const char *producer) {
  size_t n = o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 1;
  if (n > max) n = max;
  for (size_t i = 0; i < n; i++) {
    const msgpack_object *m = o->type == MSGPACK_OBJECT_ARRAY ? &o->via.array.ptr[i] : o;
    nfd_job *j = &jobs[i];
    nf_error err;
    memset(j, 0, sizeof *j);
    nf_item_init(&j->item);
    j->answer.item = i + 1;
    atomic_fetch_add(&d->m.items_received, 1);
    if (nf__item_from_object(&j->item, m, &d->limits, NF_FROM_PRODUCER, &err) == 0) {
      j->valid = true;
      if (producer && *producer)
        j->item.producer = nf_item_strdup(&j->item, producer, strlen(producer));
    } else {
      nf_answer_set_error(&j->answer, i + 1, err.field, err.msg);
    }
  }
  return n;
}

/* Runs one request through the pipeline; fills R->msg with the reply. */
static void handle(struct nfd_ningest *ni, rctx *r) {
  nfd *d = ni->d;
  char pipe[16];
  snprintf(pipe, sizeof pipe, "%u", nng_pipe_id(nng_msg_get_pipe(r->msg)));
  const char *p = nng_msg_body(r->msg);
  size_t n = nng_msg_len(r->msg);
  nf_buf out = {0};
  nf_answer a = {0};
  msgpack_unpacked up;
  nf_error err;
  r->lsn = 0;
  if (try_auth(ni, p, n, pipe, &a)) {
    nf_answer_to_msgpack(&a, &out);
  } else if (d->tokens.n && !nf_strmap_get(&ni->authed, pipe, strlen(pipe))) {
    nf_answer_set_error(&a, 0, "auth", "authentication required: send {\"auth\": TOKEN} first");
    nf_answer_to_msgpack(&a, &out);
  } else if (n > (size_t)d->cfg.max_item_bytes * 64 || nf__mp_unpack_one(&up, p, n, 64, &err) < 0) {
    nf_answer_set_error(&a, 1, "",
                        n > (size_t)d->cfg.max_item_bytes * 64 ? "request too large" : err.msg);
    nf_answer_to_msgpack(&a, &out);
  } else {
    static const size_t max = 4096;
    nfd_job *jobs = calloc(max, sizeof *jobs);
    size_t k =
        jobs ? decode(d, &up.data, jobs, max, nf_strmap_get(&ni->authed, pipe, strlen(pipe))) : 0;
    r->lsn = k ? nfd_pipeline_run(d, jobs, k) : 0;
    bool arr = up.data.type == MSGPACK_OBJECT_ARRAY;
    if (arr) nf__mp_array(&out, (uint32_t)k);
    for (size_t i = 0; i < k; i++) {
      size_t at = out.len;
      nf_answer_to_msgpack(&jobs[i].answer, &out);
      memmove(out.data + at, out.data + at + 4, out.len - at - 4); /* no length prefix */
      out.len -= 4;
      nfd_job_clear(&jobs[i]);
    }
    free(jobs);
    msgpack_unpacked_destroy(&up);
    goto reply;
  }
  memmove(out.data, out.data + 4, out.len - 4);
  out.len -= 4;
reply:
  nf_answer_clear(&a);
  nng_msg_clear(r->msg);
  if (nng_msg_append(r->msg, out.data, out.len) != 0) nng_msg_clear(r->msg);
  nf_buf_free(&out);
}

static void on_wake(uv_async_t *w) {
  struct nfd_ningest *ni = w->data;
  pthread_mutex_lock(&ni->mu);
  rctx *list = ni->ready;
  ni->ready = NULL;
  uint32_t closed[64];
  size_t nc = ni->n_closed < 64 ? ni->n_closed : 64;
  if (nc) {
    memcpy(closed, ni->closed, nc * sizeof *closed);
    memmove(ni->closed, ni->closed + nc, (ni->n_closed - nc) * sizeof *closed);
    ni->n_closed -= nc;
  }
  bool more = ni->n_closed > 0;
  pthread_mutex_unlock(&ni->mu);
  for (size_t i = 0; i < nc; i++) {
    char pipe[16];
    snprintf(pipe, sizeof pipe, "%u", closed[i]);
    free(nf_strmap_del(&ni->authed, pipe, strlen(pipe)));
  }
  for (rctx *r = list, *next; r; r = next) {
    next = r->next_ready;
    handle(ni, r);
    if (r->lsn && r->lsn > nfd_journal_durable(ni->d)) r->state = R_WAIT;
    else send_reply(r);
  }
  if (more) uv_async_send(&ni->wake);
}

void nfd_nng_ingest_durable(nfd *d, uint64_t lsn, bool failed) {
  struct nfd_ningest *ni = d->ningest;
  for (size_t i = 0; ni && i < CTXS; i++) {
    rctx *r = &ni->ctx[i];
    if (r->state != R_WAIT || r->lsn > lsn) continue;
    if (failed) { /* never a false ack: answer with the error instead */
      nf_answer a = {0};
      nf_buf out = {0};
      nf_answer_set_error(&a, 0, "", "journal sync failed; item may not be stored");
      nf_answer_to_msgpack(&a, &out);
      nng_msg_clear(r->msg);
      nng_msg_append(r->msg, out.data + 4, out.len - 4);
      nf_buf_free(&out);
    }
    send_reply(r);
  }
}

int nfd_nng_ingest_start(nfd *d, char *err, size_t errsz) {
  if (d->cfg.ingest_nng_listen.n == 0) return 0;
  struct nfd_ningest *ni = calloc(1, sizeof *ni);
  if (!ni) return snprintf(err, errsz, "out of memory"), -1;
  d->ningest = ni;
  ni->d = d;
  pthread_mutex_init(&ni->mu, NULL);
  uv_async_init(&d->loop, &ni->wake, on_wake);
  ni->wake.data = ni;
  int rv = nng_rep0_open(&ni->sock);
  if (rv) return snprintf(err, errsz, "ingest.nng_listen: %s", nng_strerror(rv)), -1;
  ni->open = true;
  nng_socket_set_size(ni->sock, NNG_OPT_RECVMAXSZ, (size_t)d->cfg.max_item_bytes * 64);
  nng_pipe_notify(ni->sock, NNG_PIPE_EV_REM_POST, on_pipe_gone, ni);
  for (size_t i = 0; i < CTXS; i++) {
    rctx *r = &ni->ctx[i];
    r->ni = ni;
    if ((rv = nng_ctx_open(&r->ctx, ni->sock)) || (rv = nng_aio_alloc(&r->aio, on_aio, r)))
      return snprintf(err, errsz, "ingest.nng_listen: %s", nng_strerror(rv)), -1;
  }
  for (size_t i = 0; i < d->cfg.ingest_nng_listen.n; i++) {
    const char *url = d->cfg.ingest_nng_listen.v[i];
    if (nfd_nng_listen(d, ni->sock, url, "ingest.nng_listen", err, errsz) < 0) return -1;
    nfd_log(d, NFD_INFO, "ingest (nng REQ/REP) listening on %s", url);
  }
  for (size_t i = 0; i < CTXS; i++) nng_ctx_recv(ni->ctx[i].ctx, ni->ctx[i].aio);
  return 0;
}

void nfd_nng_ingest_stop(nfd *d) {
  struct nfd_ningest *ni = d->ningest;
  if (!ni) return;
  for (size_t i = 0; i < CTXS; i++)
    if (ni->ctx[i].aio) nng_aio_stop(ni->ctx[i].aio);
  if (ni->open) nfd_nng_close(d, ni->sock, "ingest.nng_listen");
  for (size_t i = 0; i < CTXS; i++) {
    if (ni->ctx[i].aio) nng_aio_free(ni->ctx[i].aio);
    if (ni->ctx[i].msg) nng_msg_free(ni->ctx[i].msg);
  }
  nf_strmap_free(&ni->authed, free);
  free(ni->closed);
  pthread_mutex_destroy(&ni->mu);
  free(ni);
  d->ningest = NULL;
}
