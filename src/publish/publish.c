/*
 * publish.c -- numbers items per topic and publishes them on nng PUB.
 *
 * Wire format (SPEC section 6, docs/protocol.md): each message is TOPIC,
 * 0x00, then one msgpack map -- or, when several items for one topic are
 * published from the same pipeline run and publish.batch is on, a msgpack
 * array of maps in seq order.  Batches are only ever made of items that
 * are already here; nothing waits for a batch to fill.
 *
 * Each item's fields are packed once (twice if some topic is compact and
 * the item has a body); a message is then a map header, the per-message
 * fields v/topic/seq/epoch, and those bytes copied in.
 *
 * Numbering: every topic has a seq that goes 1, 2, 3 ... with no gap, and
 * an epoch that names the numbering.  Without a journal the numbering
 * cannot outlive the process, so the epoch is the daemon's start time in
 * milliseconds: a restart changes it, which tells subscribers that seq
 * started again.
 *
 * One PUB socket listens on every publish URL, so a message is queued once
 * per subscriber by nng whatever the transports.  nng PUB never blocks: a
 * subscriber whose queue (publish.send_buffer) is full loses its oldest
 * message; the seq gap shows it.
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"

typedef struct entry {
  nfd_topic *t; /* equal topics, equal pointers */
  uint32_t job;
  uint64_t seq;
} entry;

struct nfd_pub {
  nng_socket sock;
  nng_aio *aio; /* reused for every send */
  bool open;
  nf_buf msg;
  entry *entries;
  size_t cap_entries;
};

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
  (void)p;
  nfd *d = arg;
  if (ev == NNG_PIPE_EV_ADD_POST) atomic_fetch_add(&d->m.subscribers, 1);
  else if (ev == NNG_PIPE_EV_REM_POST) atomic_fetch_sub(&d->m.subscribers, 1);
}

int nfd_pub_start(nfd *d, char *err, size_t errsz) {
  struct nfd_pub *p = calloc(1, sizeof *p);
  if (!p) return snprintf(err, errsz, "out of memory"), -1;
  d->pub = p;
  int rv = nng_pub0_open(&p->sock);
  if (rv) return snprintf(err, errsz, "nng pub: %s", nng_strerror(rv)), -1;
  p->open = true;
  if ((rv = nng_aio_alloc(&p->aio, NULL, NULL)))
    return snprintf(err, errsz, "nng aio: %s", nng_strerror(rv)), -1;
  nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, (int)d->cfg.send_buffer);
  nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST, on_pipe, d);
  nng_pipe_notify(p->sock, NNG_PIPE_EV_REM_POST, on_pipe, d);
  for (size_t i = 0; i < d->cfg.publish_listen.n; i++) {
    const char *url = d->cfg.publish_listen.v[i];
    if (nfd_nng_listen(d, p->sock, url, "publish.listen", err, errsz) < 0) return -1;
    nfd_log(d, NFD_INFO, "publishing on %s", url);
  }
  return 0;
}

void nfd_pub_rules_changed(nfd *d) {
  nf_strmap *m = &d->topics;
  const nf_rules *r = nf_tagger_rules(d->tagger);
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) {
      nfd_topic *t = m->slots[i].value;
      t->compact = nf_rules_compact(r, t->name);
    }
}

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int nfd_pub_put_map(nf_buf *b, const nfd_topic *t, uint64_t seq, const uint8_t *fields,
                    size_t compact_len, size_t len, uint32_t n_compact, bool has_body) {
  bool body = has_body && !t->compact;
  int rc = nf__mp_map(b, n_compact + body + 4);
  rc |= nf__mp_cstr(b, "v") || nf__mp_uint(b, NF_SCHEMA_VERSION);
  rc |= nf__mp_cstr(b, "topic") || nf__mp_cstr(b, t->name);
  rc |= nf__mp_cstr(b, "seq") || nf__mp_uint(b, seq);
  rc |= nf__mp_cstr(b, "epoch") || nf__mp_uint(b, t->epoch);
  rc |= nf_buf_append(b, fields, body ? len : compact_len);
  return rc;
}

static int put_job(nf_buf *b, nfd_job *j, const entry *e) {
  /* enc and enc_body are contiguous in the message, not in memory */
  bool body = j->enc_body.len && !e->t->compact;
  int rc = nfd_pub_put_map(b, e->t, e->seq, (const uint8_t *)j->enc.data, j->enc.len, j->enc.len,
                           j->n_enc, body);
  if (body) rc |= nf_buf_append(b, j->enc_body.data, j->enc_body.len);
  return rc;
}

static void send_msg(nfd *d, const nf_buf *b) {
  nng_msg *msg;
  if (nng_msg_alloc(&msg, 0) || nng_msg_append(msg, b->data, b->len)) {
    atomic_fetch_add(&d->m.publish_errors, 1);
    return;
  }
  /* nng_sendmsg() allocates (and seeds, with a getrandom syscall) an aio
   * for every message; one aio of our own, reused, does not.  PUB never
   * blocks, so the wait returns as soon as the message is queued. */
  nng_aio *aio = d->pub->aio;
  nng_aio_set_msg(aio, msg);
  nng_send_aio(d->pub->sock, aio);
  nng_aio_wait(aio);
  int rv = nng_aio_result(aio);
  if (rv) {
    nng_msg_free(msg);
    atomic_fetch_add(&d->m.publish_errors, 1);
    nfd_log(d, NFD_WARN, "publish: %s", nng_strerror(rv));
    return;
  }
  atomic_fetch_add(&d->m.messages_published, 1);
  atomic_fetch_add(&d->m.bytes_published, b->len);
}

/* Sends the entries E[0..n), all of one topic, as messages. */
static void publish_run(nfd *d, nfd_job *jobs, const entry *e, size_t n) {
  nf_buf *b = &d->pub->msg;
  size_t tlen = strlen(e->t->name);
  bool batch = d->cfg.publish_batch && n > 1;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || !batch) {
      b->len = 0;
      nf_buf_append(b, e->t->name, tlen + 1); /* topic and its 0x00 */
      if (batch) nf__mp_array(b, (uint32_t)n);
    }
    put_job(b, &jobs[e[i].job], &e[i]);
    if (!batch || i == n - 1) send_msg(d, b);
  }
}

void nfd_pub_jobs(nfd *d, nfd_job *jobs, size_t n) {
  struct nfd_pub *p = d->pub;
  size_t ne = 0;
  for (size_t i = 0; i < n; i++) {
    nfd_job *j = &jobs[i];
    if (!j->valid) continue;
    for (size_t k = 0; k < j->item.n_topics; k++) {
      if (ne == p->cap_entries) {
        size_t cap = p->cap_entries ? p->cap_entries * 2 : 64;
        entry *es = realloc(p->entries, cap * sizeof *es);
        if (!es) {
          atomic_fetch_add(&d->m.publish_errors, 1);
          continue;
        }
        p->entries = es;
        p->cap_entries = cap;
      }
      p->entries[ne++] = (entry){.t = j->tps[k], .job = (uint32_t)i, .seq = j->seqs[k]};
    }
  }
  if (ne) qsort(p->entries, ne, sizeof *p->entries, cmp_entry);
  for (size_t i = 0, run; i < ne; i += run) {
    for (run = 1; i + run < ne && p->entries[i + run].t == p->entries[i].t; run++) {
    }
    publish_run(d, jobs, &p->entries[i], run);
  }
}

void nfd_pub_stop(nfd *d) {
  struct nfd_pub *p = d->pub;
  if (!p) return;
  if (p->open) nfd_nng_close(d, p->sock, "publish");
  if (p->aio) nng_aio_free(p->aio);
  nf_buf_free(&p->msg);
  free(p->entries);
  free(p);
  d->pub = NULL;
}
