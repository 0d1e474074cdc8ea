/*
 * publish.c -- numbers items per topic and publishes them on nng PUB.
 *
 * Wire format (SPEC section 6, docs/protocol.md): each message is TOPIC,
 * 0x00, then one msgpack map -- or, when several items for one topic are
 * ready at once and publish.batch is on, a msgpack array of maps in seq
 * order.
 *
 * Batches: the pipeline hands over its items (nfd_pub_jobs), which are
 * staged -- their packed fields moved here, not copied -- and, when the
 * loop has run every I/O callback of this iteration (a uv_check handle),
 * turned into one map per item and topic and handed to the sender thread
 * (sender.c), which makes the nng messages.  So the items of all the reads
 * that were ready, from every connection, share messages -- and, while
 * the sender is busy with earlier messages, so do the items of the
 * iterations that follow.  That is the "one socket read brought many" of
 * the SPEC, widened to what is waiting: batches are only ever made of
 * items that are already here, and nothing waits for a batch to fill (no
 * timer; an idle daemon publishes a lone item in the iteration that read
 * it).  The cost of publishing is per nng message, not per byte -- every
 * message is a send on every subscriber's pipe -- so fewer, larger
 * messages are what makes publishing cheap.  With publish.batch off, each
 * run is handed over at once and sent as one message per item and topic.
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
 *
 * With outputs.nats.url set, each map also goes to the NATS bridge
 * (nats.c), one NATS message per item and topic, in the same order.
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"
#include "publish/sender.h"

/* Staged items' packed fields stay below this; past it, publish at once. */
#define STAGE_MAX_BYTES ((size_t)8 << 20)

typedef struct entry {
  uint32_t item; /* index in staged */
  uint32_t next; /* the topic's next entry, index + 1 (0: the last) */
  uint64_t seq;
} entry;

typedef struct staged { /* an item's packed fields, taken from its job */
  nf_buf enc, enc_body;
  uint32_t n_enc;
} staged;

struct nfd_pub {
  nng_socket sock;
  bool open;
  struct nfd_sender *sender; /* sender.c: the nng sends, on their thread */
  entry *entries;            /* one per staged item and topic */
  size_t n_entries, cap_entries;
  staged *items;
  size_t n_items, cap_items, staged_bytes;
  nfd_topic **touched; /* topics with staged entries, each once */
  size_t n_touched, cap_touched;
  uv_check_t check; /* publishes what the iteration staged */
};

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
  (void)p;
  nfd *d = arg;
  if (ev == NNG_PIPE_EV_ADD_POST) atomic_fetch_add(&d->m.subscribers, 1);
  else if (ev == NNG_PIPE_EV_REM_POST) atomic_fetch_sub(&d->m.subscribers, 1);
}

static void on_check(uv_check_t *h) {
  nfd_pub_flush(h->data);
}

int nfd_pub_start(nfd *d, char *err, size_t errsz) {
  struct nfd_pub *p = calloc(1, sizeof *p);
  if (!p) return snprintf(err, errsz, "out of memory"), -1;
  d->pub = p;
  uv_check_init(&d->loop, &p->check);
  p->check.data = d;
  uv_check_start(&p->check, on_check);
  uv_unref((uv_handle_t *)&p->check); /* does not keep the loop alive */
  int rv = nng_pub0_open(&p->sock);
  if (rv) return snprintf(err, errsz, "nng pub: %s", nng_strerror(rv)), -1;
  p->open = true;
  if (!(p->sender = nfd_sender_start(d, p->sock, err, errsz))) return -1;
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

static int put_item(nf_buf *b, const staged *it, const nfd_topic *t, uint64_t seq) {
  /* enc and enc_body are contiguous in the message, not in memory */
  bool body = it->enc_body.len && !t->compact;
  int rc = nfd_pub_put_map(b, t, seq, (const uint8_t *)it->enc.data, it->enc.len, it->enc.len,
                           it->n_enc, body);
  if (body) rc |= nf_buf_append(b, it->enc_body.data, it->enc_body.len);
  return rc;
}

/* Hands topic T's staged entries, in seq order, to the sender (and the
 * NATS bridge), one map each. */
static void publish_topic(nfd *d, nfd_topic *t) {
  struct nfd_pub *p = d->pub;
  for (uint32_t k = t->pub_first; k; k = p->entries[k - 1].next) {
    const entry *e = &p->entries[k - 1];
    nf_buf *b = nfd_sender_map_begin(p->sender, t); /* the map is written in place */
    const void *map;
    size_t len;
    bool ok = b && !put_item(b, &p->items[e->item], t, e->seq);
    if (nfd_sender_map_end(p->sender, ok, &map, &len) && d->nats) nfd_nats_put(d, t, map, len);
  }
  t->pub_first = t->pub_last = t->pub_n = 0;
}

/* Moves job J's packed fields into the stage, with an entry per topic. */
static bool stage(struct nfd_pub *p, nfd_job *j) {
  size_t nt = j->item.n_topics;
  if (nf__grow((void **)&p->items, &p->cap_items, p->n_items + 1, sizeof *p->items) ||
      nf__grow((void **)&p->entries, &p->cap_entries, p->n_entries + nt, sizeof *p->entries) ||
      nf__grow((void **)&p->touched, &p->cap_touched, p->n_touched + nt, sizeof *p->touched))
    return false;
  uint32_t idx = (uint32_t)p->n_items++;
  staged *it = &p->items[idx];
  *it = (staged){.enc = j->enc, .enc_body = j->enc_body, .n_enc = j->n_enc};
  memset(&j->enc, 0, sizeof j->enc);
  memset(&j->enc_body, 0, sizeof j->enc_body);
  p->staged_bytes += it->enc.len + it->enc_body.len;
  for (size_t k = 0; k < nt; k++) { /* seqs grow in staging order: chains stay sorted */
    nfd_topic *t = j->tps[k];
    uint32_t e = (uint32_t)p->n_entries++;
    p->entries[e] = (entry){.item = idx, .seq = j->seqs[k]};
    if (t->pub_last) p->entries[t->pub_last - 1].next = e + 1;
    else p->touched[p->n_touched++] = t, t->pub_first = e + 1;
    t->pub_last = e + 1;
    t->pub_n++;
  }
  return true;
}

void nfd_pub_jobs(nfd *d, nfd_job *jobs, size_t n) {
  struct nfd_pub *p = d->pub;
  for (size_t i = 0; i < n; i++) {
    nfd_job *j = &jobs[i];
    if (!j->valid) continue;
    if (!stage(p, j)) { /* out of memory: publish what is staged, retry */
      nfd_pub_flush(d);
      if (!stage(p, j)) atomic_fetch_add(&d->m.publish_errors, j->item.n_topics);
    }
  }
  if (!d->cfg.publish_batch || p->staged_bytes > STAGE_MAX_BYTES) nfd_pub_flush(d);
}

void nfd_pub_flush(nfd *d) {
  struct nfd_pub *p = d->pub;
  if (!p || !p->n_entries) return;
  for (size_t i = 0; i < p->n_touched; i++) publish_topic(d, p->touched[i]);
  p->n_touched = 0;
  nfd_sender_commit(p->sender);
  nfd_nats_commit(d);
  for (size_t i = 0; i < p->n_items; i++) {
    nf_buf_free(&p->items[i].enc);
    nf_buf_free(&p->items[i].enc_body);
  }
  p->n_items = p->n_entries = p->staged_bytes = 0;
}

void nfd_pub_stop(nfd *d) {
  struct nfd_pub *p = d->pub;
  if (!p) return;
  nfd_pub_flush(d);
  if (!uv_is_closing((uv_handle_t *)&p->check)) uv_close((uv_handle_t *)&p->check, NULL);
  nfd_sender_stop(p->sender); /* everything handed over is sent */
  if (p->open) nfd_nng_close(d, p->sock, "publish");
  free(p->entries);
  free(p->items);
  free(p->touched);
  free(p);
  d->pub = NULL;
}
