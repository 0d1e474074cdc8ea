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

typedef struct pub_topic {
  const char *name; /* the topics map's copy of the key */
  uint64_t seq, epoch;
  bool compact;
} pub_topic;

typedef struct entry {
  const char *topic;
  pub_topic *t; /* equal topics, equal pointers */
  uint32_t job;
  uint64_t seq;
} entry;

struct nfd_pub {
  nng_socket sock;
  bool open;
  nf_strmap topics;
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

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  nf_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) nf_buf_append(&b, chunk, n);
  fclose(f);
  nf_buf_append(&b, "", 1);
  return b.data;
}

static int listen_tls(nfd *d, const char *url, char *err, size_t errsz) {
  nng_listener l;
  nng_tls_config *tls = NULL;
  char *cert = slurp(d->cfg.tls_cert.value), *key = slurp(d->cfg.tls_key.value);
  int rv = NNG_ENOMEM;
  if (!cert || !key) {
    snprintf(err, errsz, "tls: cannot read %s", !cert ? d->cfg.tls_cert.value : d->cfg.tls_key.value);
    goto out;
  }
  if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) ||
      (rv = nng_tls_config_own_cert(tls, cert, key, NULL))) {
    snprintf(err, errsz, "tls.cert/tls.key: %s", nng_strerror(rv));
    goto out;
  }
  if ((rv = nng_listener_create(&l, d->pub->sock, url)) ||
      (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) ||
      (rv = nng_listener_start(l, 0)))
    snprintf(err, errsz, "publish.listen: %s: %s", url, nng_strerror(rv));
out:
  if (tls) nng_tls_config_free(tls); /* the listener holds its own reference */
  free(cert);
  free(key);
  return rv ? -1 : 0;
}

int nfd_pub_start(nfd *d, char *err, size_t errsz) {
  struct nfd_pub *p = calloc(1, sizeof *p);
  if (!p) return snprintf(err, errsz, "out of memory"), -1;
  d->pub = p;
  int rv = nng_pub0_open(&p->sock);
  if (rv) return snprintf(err, errsz, "nng pub: %s", nng_strerror(rv)), -1;
  p->open = true;
  nng_socket_set_int(p->sock, NNG_OPT_SENDBUF, (int)d->cfg.send_buffer);
  nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST, on_pipe, d);
  nng_pipe_notify(p->sock, NNG_PIPE_EV_REM_POST, on_pipe, d);
  for (size_t i = 0; i < d->cfg.publish_listen.n; i++) {
    const char *url = d->cfg.publish_listen.v[i];
    if (!strncmp(url, "tls+tcp://", 10) || !strncmp(url, "wss://", 6)) {
      if (listen_tls(d, url, err, errsz) < 0) return -1;
    } else if ((rv = nng_listen(p->sock, url, NULL, 0))) {
      return snprintf(err, errsz, "publish.listen: %s: %s", url, nng_strerror(rv)), -1;
    }
    nfd_log(d, NFD_INFO, "publishing on %s", url);
  }
  return 0;
}

static pub_topic *topic_get(nfd *d, const char *name) {
  size_t len = strlen(name);
  nf_strmap *m = &d->pub->topics;
  pub_topic *t = nf_strmap_get(m, name, len);
  if (t) return t;
  if (!(t = calloc(1, sizeof *t))) return NULL;
  t->epoch = (uint64_t)d->start_ms;
  t->compact = nf_rules_compact(nf_tagger_rules(d->tagger), name);
  nf_strmap_slot *slot = nf_strmap_put(m, name, len, t);
  if (!slot) {
    free(t);
    return NULL;
  }
  t->name = slot->key;
  return t;
}

void nfd_pub_rules_changed(nfd *d) {
  nf_strmap *m = &d->pub->topics;
  const nf_rules *r = nf_tagger_rules(d->tagger);
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) {
      pub_topic *t = m->slots[i].value;
      t->compact = nf_rules_compact(r, t->name);
    }
}

size_t nfd_pub_topic_count(const nfd *d) {
  return d->pub ? d->pub->topics.n : 0;
}

void nfd_pub_pack_topics(const nfd *d, nf_buf *b) {
  const nf_strmap *m = &d->pub->topics;
  nf__mp_map(b, 2);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
  nf__mp_cstr(b, "topics");
  nf__mp_map(b, (uint32_t)m->n);
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key) continue;
    const pub_topic *t = m->slots[i].value;
    nf__mp_cstr(b, t->name);
    nf__mp_map(b, 2);
    nf__mp_cstr(b, "seq");
    nf__mp_uint(b, t->seq);
    nf__mp_cstr(b, "epoch");
    nf__mp_uint(b, t->epoch);
  }
}

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends one item's map for topic E to the message being built. */
static int put_map(nfd_job *j, const entry *e, nf_buf *b) {
  bool compact = e->t->compact && j->item.body;
  const nf_buf *f = compact ? &j->enc_compact : &j->enc_full;
  uint32_t n = compact ? j->n_compact : j->n_full;
  int rc = nf__mp_map(b, n + 4);
  rc |= nf__mp_cstr(b, "v") | nf__mp_uint(b, NF_SCHEMA_VERSION);
  rc |= nf__mp_cstr(b, "topic") | nf__mp_cstr(b, e->topic);
  rc |= nf__mp_cstr(b, "seq") | nf__mp_uint(b, e->seq);
  rc |= nf__mp_cstr(b, "epoch") | nf__mp_uint(b, e->t->epoch);
  rc |= nf_buf_append(b, f->data, f->len);
  return rc;
}

static void send_msg(nfd *d, const nf_buf *b) {
  nng_msg *msg;
  if (nng_msg_alloc(&msg, 0) || nng_msg_append(msg, b->data, b->len)) {
    atomic_fetch_add(&d->m.publish_errors, 1);
    return;
  }
  int rv = nng_sendmsg(d->pub->sock, msg, NNG_FLAG_NONBLOCK);
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
  size_t tlen = strlen(e->topic);
  bool batch = d->cfg.publish_batch && n > 1;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || !batch) {
      b->len = 0;
      nf_buf_append(b, e->topic, tlen + 1); /* topic and its 0x00 */
      if (batch) nf__mp_array(b, (uint32_t)n);
    }
    put_map(&jobs[e[i].job], &e[i], b);
    if (!batch || i == n - 1) send_msg(d, b);
  }
}

static int encode_job(nfd_job *j) {
  if (nf__pack_fields(&j->item, NF_ENC_DAEMON, &j->enc_full, &j->n_full) < 0) return -1;
  if (j->item.body &&
      nf__pack_fields(&j->item, NF_ENC_DAEMON | NF_ENC_NO_BODY, &j->enc_compact,
                      &j->n_compact) < 0)
    return -1;
  return 0;
}

void nfd_pub_jobs(nfd *d, nfd_job *jobs, size_t n) {
  struct nfd_pub *p = d->pub;
  size_t ne = 0;
  for (size_t i = 0; i < n; i++) {
    nfd_job *j = &jobs[i];
    if (!j->valid) continue;
    if (encode_job(j) < 0) {
      j->valid = false;
      nf_answer_set_error(&j->answer, j->answer.item, "", "out of memory");
      continue;
    }
    for (size_t k = 0; k < j->item.n_topics; k++) {
      entry *es = p->entries;
      if (ne == p->cap_entries) {
        size_t cap = p->cap_entries ? p->cap_entries * 2 : 64;
        if (!(es = realloc(p->entries, cap * sizeof *es))) break;
        p->entries = es;
        p->cap_entries = cap;
      }
      entry *e = &es[ne];
      if (!(e->t = topic_get(d, j->item.topics[k]))) break;
      e->topic = e->t->name;
      e->job = (uint32_t)i;
      e->seq = ++e->t->seq;
      nf_answer_add_topic(&j->answer, e->topic, e->seq);
      ne++;
    }
  }
  qsort(p->entries, ne, sizeof *p->entries, cmp_entry);
  for (size_t i = 0, run; i < ne; i += run) {
    for (run = 1; i + run < ne && p->entries[i + run].t == p->entries[i].t; run++) {}
    publish_run(d, jobs, &p->entries[i], run);
  }
}

void nfd_pub_stop(nfd *d) {
  struct nfd_pub *p = d->pub;
  if (!p) return;
  if (p->open) nfd_nng_close(d, p->sock, "publish");
  nf_strmap_free(&p->topics, free);
  nf_buf_free(&p->msg);
  free(p->entries);
  free(p);
  d->pub = NULL;
}
