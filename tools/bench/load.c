/*
 * load.c -- `newsfeed-bench load`: drives a RUNNING newsfeedd with P
 * producers and K subscribers and measures ingest rate, delivery, loss and
 * one-way latency.
 *
 * Producers: P threads, each one nf_conn in msgpack framing, pipelined (at
 * most --window items unanswered).  Items come from a pool (load_items.c) built from the
 * labelled corpus (tests/corpus/labelled.jsonl, built in) with a fixed
 * seed: 90% flashes of 150-400 bytes (a corpus flash topped up with other
 * titles of its language) and 10% articles of 2-20 KB (a corpus title and
 * body continued with paragraphs of its language); --flash-only and --size
 * N make every item a flash of N bytes.  Each item's meta is
 * {"run": RUN, "t": CLOCK_REALTIME ns at send, "w": warm-up?}.
 *
 * Subscribers: K threads, each an nng SUB socket (NNG_OPT_RECVBUF 8192)
 * subscribed to one topic (default headline).  At receive, latency =
 * CLOCK_REALTIME now - meta.t (one machine, one clock), into a log-linear
 * histogram (1 us resolution below 2 ms, 1/1024 relative above, up to
 * 10 s).  Loss = the seqs acked on the topic to the producers that a
 * subscriber did not receive; then those seqs are fetched from the query
 * API's history and what came back counts as recovered.
 *
 * Readiness: the query API's stats must show >= K subscribers, then a
 * warm-up item is sent (again every 20 ms) until every subscriber has
 * received one; no fixed sleeps.  The end of a run: every subscriber has
 * received every acked seq, or none received anything for --idle-ms.
 *
 * Modes: --rate N --seconds S (fixed rate spread over the producers, each
 * on an absolute schedule), --burst N (as fast as the window allows;
 * reports first send -> last receive at every subscriber), --max (short
 * runs, doubling the rate until a run loses items before gap fill or
 * cannot sustain the rate, then bisecting).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "load_items.h"
#include "toolutil.h"

#define PROG "newsfeed-bench load"

/* ---- options ------------------------------------------------------------- */

typedef enum { M_RATE, M_BURST, M_MAX } lmode;

typedef struct opts {
  const char *ingest, *pub, *query, *topic;
  int producers, subscribers, window, idle_ms;
  lmode mode;
  double rate, seconds;
  long long burst;
  bool flash_only, json;
  int size; /* flash size with --flash-only (0: 150-400) */
  uint64_t seed;
  int pool;
} opts;

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeed-bench load [OPTIONS]\n\n"
             "Drives a running newsfeedd: P producers (msgpack framing, pipelined) and\n"
             "K subscribers (nng SUB on one topic); reports ingest rate, delivery, loss\n"
             "(before and after filling gaps from history) and one-way latency.\n\n"
             "  -s, --ingest URL    ingest endpoint (default " NF_DEFAULT_INGEST ")\n"
             "      --pub URL       publish endpoint (default " NF_DEFAULT_PUBLISH ")\n"
             "  -q, --query URL     query endpoint (default " NF_DEFAULT_QUERY ")\n"
             "  -P, --producers N   producer connections (default 2)\n"
             "  -K, --subscribers N subscribers (default 1)\n"
             "  -t, --topic T       topic the subscribers take (default headline)\n"
             "      --rate N        items/s over all producers, for --seconds (default mode,\n"
             "                      1000/s)\n"
             "      --seconds S     duration of a --rate run (default 5; --max: 2 per step)\n"
             "      --burst N       N items as fast as possible\n"
             "      --max           highest rate without loss before gap fill\n"
             "      --flash-only    only flashes\n"
             "      --size N        flash size in bytes (default 150-400)\n"
             "      --window N      unanswered items per producer (default 256)\n"
             "      --idle-ms N     end a run when nothing arrived for N ms (default 2000)\n"
             "      --seed N        item pool seed (default 1)\n"
             "      --json          one JSON object on stdout\n"
             "  -h, --help          show this help\n");
}

/* ---- clocks -------------------------------------------------------------- */

static uint64_t rt_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- shared run state -------------------------------------------------------- */

typedef struct u64v {
  uint64_t *v;
  size_t n, cap;
} u64v;

static void u64v_push(u64v *a, uint64_t x) {
  if (a->n == a->cap)
    a->v = bench_xrealloc(a->v, (a->cap = a->cap ? a->cap * 2 : 4096) * sizeof *a->v);
  a->v[a->n++] = x;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

typedef struct subst {
  pthread_t th;
  int idx;
  nng_socket sock;
  pthread_mutex_t mu;
  /* per run, under mu */
  uint64_t run;
  bool warm;
  u64v seqs;
  bench_hist h;
  uint64_t msgs, items, other;
  double first_recv, last_recv; /* monotonic */
  /* results */
  uint64_t lost, recovered;
} subst;

typedef struct global {
  opts o;
  load_pool pl;
  subst *subs;
  atomic_int stop;
  char prefix[NF_TOPIC_MAX + 2];
  int prefix_len;
} global;

static global G;

typedef struct dctx {
  subst *s;
  double now;
  uint64_t now_rt;
  bool counted;
} dctx;

static int on_item(void *ctx, nf_item *it) {
  dctx *d = ctx;
  subst *s = d->s;
  uint64_t run, t;
  bool warm;
  if (!load_meta_decode(it->meta, it->meta_len, &run, &t, &warm) || run != s->run) {
    s->other++;
    return 0;
  }
  if (strcmp(it->topic, G.o.topic) != 0) return 0;
  if (warm) {
    s->warm = true;
    return 0;
  }
  u64v_push(&s->seqs, it->seq);
  bench_hist_add(&s->h, d->now_rt > t ? (d->now_rt - t + 500) / 1000 : 0);
  s->items++;
  if (!d->counted) {
    d->counted = true;
    s->msgs++;
    if (s->first_recv == 0) s->first_recv = d->now;
    s->last_recv = d->now;
  }
  return 0;
}

static void *sub_main(void *arg) {
  subst *s = arg;
  nf_limits lim = nf_limits_default();
  while (!atomic_load(&G.stop)) {
    void *buf;
    size_t n;
    int rv = nng_recv(s->sock, &buf, &n, NNG_FLAG_ALLOC);
    if (rv == NNG_ETIMEDOUT) continue;
    if (rv) break;
    dctx d = {.s = s, .now = bench_now(), .now_rt = rt_ns()};
    pthread_mutex_lock(&s->mu);
    nf_error err;
    nf_message_decode(buf, n, &lim, on_item, &d, &err);
    pthread_mutex_unlock(&s->mu);
    nng_free(buf, n);
  }
  return NULL;
}

static void subs_start(void) {
  int K = G.o.subscribers;
  G.subs = bench_xcalloc((size_t)K, sizeof *G.subs);
  G.prefix_len = nf_sub_prefix(G.o.topic, G.prefix, sizeof G.prefix);
  if (G.prefix_len < 0) nf_die(PROG, 2, "invalid topic '%s'", G.o.topic);
  for (int k = 0; k < K; k++) {
    subst *s = &G.subs[k];
    s->idx = k;
    pthread_mutex_init(&s->mu, NULL);
    bench_hist_init(&s->h);
    int rv = nng_sub0_open(&s->sock);
    if (!rv) rv = nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, 8192);
    if (!rv) rv = nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, G.prefix, (size_t)G.prefix_len);
    if (!rv) rv = nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, 100);
    if (!rv) rv = nng_dial(s->sock, G.o.pub, NULL, NNG_FLAG_NONBLOCK);
    if (rv) nf_die(PROG, 1, "subscriber %d: %s: %s", k, G.o.pub, nng_strerror(rv));
    pthread_create(&s->th, NULL, sub_main, s);
  }
}

static void sub_reset(subst *s, uint64_t run) {
  pthread_mutex_lock(&s->mu);
  s->run = run;
  s->warm = false;
  s->seqs.n = 0;
  bench_hist_reset(&s->h);
  s->msgs = s->items = s->other = 0;
  s->first_recv = s->last_recv = 0;
  s->lost = s->recovered = 0;
  pthread_mutex_unlock(&s->mu);
}

/* ---- query API ---------------------------------------------------------------- */

static nng_socket qsock;

static void query_open(void) {
  int rv = nng_req0_open(&qsock);
  if (!rv) rv = nng_socket_set_ms(qsock, NNG_OPT_RECVTIMEO, 10000);
  /* a REQ send waits for a connection: bounded, so an absent daemon is
   * reported (readiness below) instead of waited for forever */
  if (!rv) rv = nng_socket_set_ms(qsock, NNG_OPT_SENDTIMEO, 1000);
  if (!rv) rv = nng_dial(qsock, G.o.query, NULL, NNG_FLAG_NONBLOCK);
  if (rv) nf_die(PROG, 1, "query %s: %s", G.o.query, nng_strerror(rv));
}

/* Sends a packed request, unpacks the reply into UP (strings point into
 * the reply: release both with query_done). */
static void *qbuf;
static size_t qlen;

static int query_call(msgpack_sbuffer *req, msgpack_unpacked *up) {
  int rv = nng_send(qsock, req->data, req->size, 0);
  if (!rv) rv = nng_recv(qsock, &qbuf, &qlen, NNG_FLAG_ALLOC);
  if (rv) return -1;
  msgpack_unpacked_init(up);
  size_t off = 0;
  int r = msgpack_unpack_next(up, qbuf, qlen, &off);
  if (r != MSGPACK_UNPACK_SUCCESS || up->data.type != MSGPACK_OBJECT_MAP) {
    msgpack_unpacked_destroy(up);
    nng_free(qbuf, qlen);
    return -1;
  }
  return 0;
}

static void query_done(msgpack_unpacked *up) {
  msgpack_unpacked_destroy(up);
  nng_free(qbuf, qlen);
}

static const msgpack_object *mp_get(const msgpack_object *m, const char *key) {
  if (!m || m->type != MSGPACK_OBJECT_MAP) return NULL;
  size_t kl = strlen(key);
  for (uint32_t i = 0; i < m->via.map.size; i++) {
    const msgpack_object_kv *kv = &m->via.map.ptr[i];
    if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == kl &&
        !memcmp(kv->key.via.str.ptr, key, kl))
      return &kv->val;
  }
  return NULL;
}

static uint64_t mp_u64(const msgpack_object *o) {
  if (!o) return 0;
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return o->via.u64;
  return 0;
}

static void pack_str(msgpack_packer *pk, const char *s) {
  msgpack_pack_str(pk, strlen(s));
  msgpack_pack_str_body(pk, s, strlen(s));
}

static long query_subscribers(void) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 1);
  pack_str(&pk, "op");
  pack_str(&pk, "stats");
  msgpack_unpacked up;
  long r = -1;
  if (query_call(&sb, &up) == 0) {
    r = (long)mp_u64(mp_get(mp_get(&up.data, "stats"), "subscribers"));
    query_done(&up);
  }
  msgpack_sbuffer_destroy(&sb);
  return r;
}

/* Fills AVAIL (sorted) with the seqs of MISSING (sorted, unique) that the
 * topic's history still holds with this run's meta. */
static void history_fetch(const u64v *missing, uint64_t run, u64v *avail) {
  size_t i = 0;
  while (i < missing->n) {
    uint64_t since = missing->v[i] - 1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "op");
    pack_str(&pk, "history");
    pack_str(&pk, "topic");
    pack_str(&pk, G.o.topic);
    pack_str(&pk, "since");
    msgpack_pack_uint64(&pk, since);
    pack_str(&pk, "limit");
    msgpack_pack_uint64(&pk, 1000);
    msgpack_unpacked up;
    int rc = query_call(&sb, &up);
    msgpack_sbuffer_destroy(&sb);
    if (rc) {
      fprintf(stderr, "%s: history query failed\n", PROG);
      return;
    }
    const msgpack_object *items = mp_get(&up.data, "items");
    uint64_t first = mp_u64(mp_get(&up.data, "first_seq"));
    uint64_t last_got = 0;
    if (items && items->type == MSGPACK_OBJECT_ARRAY) {
      for (uint32_t k = 0; k < items->via.array.size; k++) {
        const msgpack_object *m = &items->via.array.ptr[k];
        uint64_t seq = mp_u64(mp_get(m, "seq"));
        last_got = seq;
        const msgpack_object *meta = mp_get(m, "meta");
        const msgpack_object *r = mp_get(meta, "run");
        if (r && mp_u64(r) == run) u64v_push(avail, seq);
      }
    }
    query_done(&up);
    if (last_got == 0) { /* nothing after since: the rest is not held */
      if (first > missing->v[i]) {
        while (i < missing->n && missing->v[i] < first) i++;
        continue;
      }
      break;
    }
    while (i < missing->n && missing->v[i] <= last_got) i++;
  }
}

/* ---- producers ---------------------------------------------------------------- */

typedef struct prod {
  pthread_t th;
  int idx;
  uint64_t run, n_target;
  double rate;  /* items/s for this producer; 0 = as fast as possible */
  double start; /* monotonic: first scheduled send */
  /* results */
  uint64_t sent, acked, rejected;
  u64v seqs; /* seqs on the topic of acked items */
  double first_send, last_ack;
  char err[600];
} prod;

static void take_answer(prod *p, nf_answer *a) {
  if (a->ok) {
    p->acked++;
    for (size_t i = 0; i < a->n_topics; i++)
      if (!strcmp(a->topics[i].name, G.o.topic)) u64v_push(&p->seqs, a->topics[i].seq);
  } else {
    if (p->rejected++ == 0) snprintf(p->err, sizeof p->err, "rejected: %s: %s", a->field, a->error);
  }
  p->last_ack = bench_now();
  nf_answer_clear(a);
}

static void *prod_main(void *arg) {
  prod *p = arg;
  nf_conn *c;
  nf_error err;
  if (nf_conn_open(&c, G.o.ingest, NF_FRAMING_MSGPACK, 5000, &err) < 0) {
    snprintf(p->err, sizeof p->err, "%s: %s", G.o.ingest, err.msg);
    return NULL;
  }
  uint64_t rng = G.o.seed * 7919 + (uint64_t)p->idx + 1;
  uint64_t inflight = 0;
  int fd = nf_conn_fd(c);
  uint8_t meta[64];
  nf_answer a = {0};
  double interval = p->rate > 0 ? 1.0 / p->rate : 0;
  while (p->sent < p->n_target) {
    double now = bench_now();
    double due = p->start + (double)p->sent * interval;
    if (interval > 0 && now < due) {
      /* answers in the meantime, or sleep until due */
      int rc;
      while ((rc = nf_conn_recv_answer(c, &a, 0, &err)) == 0) take_answer(p, &a), inflight--;
      if (rc == -1) goto fail;
      double wait = due - bench_now();
      if (wait > 0) {
        struct pollfd pf = {.fd = fd, .events = POLLIN | (nf_conn_pending(c) ? POLLOUT : 0)};
        struct timespec ts = {.tv_sec = (time_t)wait,
                              .tv_nsec = (long)((wait - floor(wait)) * 1e9)};
        ppoll(&pf, 1, &ts, NULL);
      }
      continue;
    }
    if (inflight >= (uint64_t)G.o.window) {
      int rc = nf_conn_recv_answer(c, &a, 10000, &err);
      if (rc == 0) take_answer(p, &a), inflight--;
      else if (rc == NF_ETIMEDOUT) {
        snprintf(p->err, sizeof p->err, "no answer for 10 s");
        break;
      } else goto fail;
      continue;
    }
    const load_item *pi = &G.pl.it[bench_below(&rng, (uint32_t)G.pl.n)];
    nf_item it;
    nf_item_init(&it);
    it.kind = pi->flash ? NF_KIND_FLASH : NF_KIND_ARTICLE;
    it.title = pi->title;
    it.body = pi->body;
    it.source = pi->source;
    it.lang = pi->lang;
    it.meta = meta;
    it.meta_len = load_meta_encode(meta, p->run, rt_ns(), false);
    if (p->sent == 0) p->first_send = bench_now();
    if (nf_conn_send_item(c, &it, &err) < 0) goto fail;
    p->sent++;
    inflight++;
    int rc;
    while ((rc = nf_conn_recv_answer(c, &a, 0, &err)) == 0) take_answer(p, &a), inflight--;
    if (rc == -1) goto fail;
  }
  while (inflight > 0) {
    int rc = nf_conn_recv_answer(c, &a, 10000, &err);
    if (rc == 0) take_answer(p, &a), inflight--;
    else if (rc == NF_ETIMEDOUT) {
      snprintf(p->err, sizeof p->err, "%llu answers missing after 10 s",
               (unsigned long long)inflight);
      break;
    } else goto fail;
  }
  nf_conn_close(c);
  return NULL;
fail:
  snprintf(p->err, sizeof p->err, "%s", err.msg);
  nf_conn_close(c);
  return NULL;
}

/* ---- one run ---------------------------------------------------------------- */

static uint64_t new_run_id(void) {
  static uint64_t ctr;
  return (rt_ns() ^ ((uint64_t)getpid() << 40)) + ++ctr;
}

static int warm_up(uint64_t run) {
  nf_conn *c;
  nf_error err;
  if (nf_conn_open(&c, G.o.ingest, NF_FRAMING_MSGPACK, 5000, &err) < 0)
    nf_die(PROG, 1, "%s: %s", G.o.ingest, err.msg);
  double deadline = bench_now() + 20;
  double next = 0;
  uint64_t n = 0;
  uint8_t meta[64];
  nf_answer a = {0};
  for (;;) {
    bool all = true;
    for (int k = 0; k < G.o.subscribers; k++) {
      pthread_mutex_lock(&G.subs[k].mu);
      all &= G.subs[k].warm;
      pthread_mutex_unlock(&G.subs[k].mu);
    }
    if (all) break;
    double now = bench_now();
    if (now > deadline) nf_die(PROG, 1, "warm-up: subscribers got nothing for 20 s");
    if (now >= next) {
      const load_item *pi = &G.pl.it[n % G.pl.n];
      nf_item it;
      nf_item_init(&it);
      it.kind = NF_KIND_FLASH;
      it.title = pi->title;
      it.meta = meta;
      it.meta_len = load_meta_encode(meta, run, rt_ns(), true);
      if (nf_conn_send_item(c, &it, &err) < 0) nf_die(PROG, 1, "warm-up: %s", err.msg);
      n++;
      next = now + 0.02;
    }
    while (nf_conn_recv_answer(c, &a, 0, &err) == 0) nf_answer_clear(&a);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL); /* polling interval, not a wait for a server */
  }
  for (;;) { /* collect the remaining answers (the last is item N) */
    int rc = nf_conn_recv_answer(c, &a, 5000, &err);
    if (rc != 0) break;
    uint64_t item = a.item;
    nf_answer_clear(&a);
    if (item >= n) break;
  }
  nf_conn_close(c);
  return 0;
}

static void run_once(double rate, uint64_t count, double seconds, bench_result *R) {
  const opts *o = &G.o;
  int P = o->producers, K = o->subscribers;
  bench_result_init(R, K);
  R->target_rate = rate;
  uint64_t run = new_run_id();
  for (int k = 0; k < K; k++) sub_reset(&G.subs[k], run);
  warm_up(run);

  if (rate > 0) count = (uint64_t)llround(rate * seconds);
  if (count < (uint64_t)P) count = (uint64_t)P;
  R->items = count;
  prod *pr = bench_xcalloc((size_t)P, sizeof *pr);
  double t0 = bench_now() + 0.002;
  for (int i = 0; i < P; i++) {
    prod *p = &pr[i];
    p->idx = i;
    p->run = run;
    p->n_target = count / (uint64_t)P + ((uint64_t)i < count % (uint64_t)P);
    p->rate = rate > 0 ? rate / P : 0;
    p->start = t0 + (rate > 0 ? (double)i / rate : 0); /* interleaved schedules */
  }
  for (int i = 0; i < P; i++) pthread_create(&pr[i].th, NULL, prod_main, &pr[i]);
  for (int i = 0; i < P; i++) pthread_join(pr[i].th, NULL);

  /* expected seqs on the topic */
  u64v exp = {0};
  double first_send = INFINITY, last_ack = 0;
  for (int i = 0; i < P; i++) {
    prod *p = &pr[i];
    R->sent += p->sent, R->acked += p->acked, R->rejected += p->rejected;
    for (size_t j = 0; j < p->seqs.n; j++) u64v_push(&exp, p->seqs.v[j]);
    if (p->sent && p->first_send < first_send) first_send = p->first_send;
    if (p->last_ack > last_ack) last_ack = p->last_ack;
    if (p->err[0] && !R->err[0]) snprintf(R->err, sizeof R->err, "producer %d: %s", i, p->err);
    free(p->seqs.v);
  }
  free(pr);
  if (exp.n) qsort(exp.v, exp.n, sizeof *exp.v, cmp_u64);
  R->ingest_s = last_ack - first_send;
  R->ingest_rate = R->ingest_s > 0 ? (double)R->acked / R->ingest_s : 0;

  /* wait for delivery: all expected at every subscriber, or idle */
  uint64_t last_total = UINT64_MAX;
  double last_change = bench_now();
  for (;;) {
    uint64_t total = 0;
    bool all = true;
    for (int k = 0; k < K; k++) {
      pthread_mutex_lock(&G.subs[k].mu);
      total += G.subs[k].items;
      all &= G.subs[k].items >= exp.n;
      pthread_mutex_unlock(&G.subs[k].mu);
    }
    double now = bench_now();
    if (all) break;
    if (total != last_total) last_total = total, last_change = now;
    else if ((now - last_change) * 1000 >= o->idle_ms) break;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL); /* polling interval */
  }

  /* loss per subscriber; union of missing seqs */
  u64v miss_all = {0};
  u64v *miss = bench_xcalloc((size_t)K, sizeof *miss);
  double last_recv = 0;
  for (int k = 0; k < K; k++) {
    subst *s = &G.subs[k];
    pthread_mutex_lock(&s->mu);
    s->run = 0; /* stop recording */
    if (s->seqs.n) qsort(s->seqs.v, s->seqs.n, sizeof *s->seqs.v, cmp_u64);
    size_t j = 0;
    for (size_t i = 0; i < exp.n; i++) {
      while (j < s->seqs.n && s->seqs.v[j] < exp.v[i]) j++;
      if (j < s->seqs.n && s->seqs.v[j] == exp.v[i]) continue;
      u64v_push(&miss[k], exp.v[i]);
      u64v_push(&miss_all, exp.v[i]);
    }
    R->sub[k].items = s->items;
    R->sub[k].msgs = s->msgs;
    R->sub[k].lost = miss[k].n;
    double span = s->last_recv - first_send;
    R->sub[k].items_s = span > 0 ? (double)s->items / span : 0;
    R->sub[k].msgs_s = span > 0 ? (double)s->msgs / span : 0;
    if (s->last_recv > last_recv) last_recv = s->last_recv;
    bench_hist_merge(&R->h, &s->h);
    pthread_mutex_unlock(&s->mu);
    R->lost_total += miss[k].n;
  }
  R->burst_s = last_recv > 0 ? last_recv - first_send : NAN;

  /* gap fill from history */
  if (miss_all.n) qsort(miss_all.v, miss_all.n, sizeof *miss_all.v, cmp_u64);
  size_t u = 0;
  for (size_t i = 0; i < miss_all.n; i++)
    if (!u || miss_all.v[u - 1] != miss_all.v[i]) miss_all.v[u++] = miss_all.v[i];
  miss_all.n = u;
  u64v avail = {0};
  if (miss_all.n) history_fetch(&miss_all, run, &avail);
  R->filled_s = bench_now() - first_send;
  if (!miss_all.n) R->filled_s = R->burst_s;
  R->all_delivered = true;
  for (int k = 0; k < K; k++) {
    size_t j = 0;
    uint64_t rec = 0;
    for (size_t i = 0; i < miss[k].n; i++) {
      while (j < avail.n && avail.v[j] < miss[k].v[i]) j++;
      if (j < avail.n && avail.v[j] == miss[k].v[i]) rec++;
    }
    R->sub[k].recovered = rec;
    R->lost_after_fill_total += miss[k].n - rec;
    if (miss[k].n - rec) R->all_delivered = false;
    free(miss[k].v);
  }
  if (R->acked < R->items) R->all_delivered = false;
  free(miss);
  free(miss_all.v);
  free(avail.v);
  free(exp.v);
}

/* One --max step: passes when nothing was lost before gap fill, every item
 * was acked, and the acked rate reached 95% of the target. */
static bool max_step(void *ctx, double rate, bench_result *R) {
  (void)ctx;
  run_once(rate, 0, G.o.seconds, R);
  return R->lost_total == 0 && R->acked == R->items && !R->err[0] && R->ingest_rate >= 0.95 * rate;
}

int nf_bench_load(int argc, char **argv);

/* ---- main --------------------------------------------------------------------- */

static double parse_num(const char *flag, const char *s) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0)) nf_die(PROG, 2, "%s: not a number: '%s'", flag, s);
  return v;
}

int nf_bench_load(int argc, char **argv) {
  opts *o = &G.o;
  *o = (opts){.ingest = NF_DEFAULT_INGEST,
              .pub = NF_DEFAULT_PUBLISH,
              .query = NF_DEFAULT_QUERY,
              .topic = "headline",
              .producers = 2,
              .subscribers = 1,
              .window = 256,
              .idle_ms = 2000,
              .mode = M_RATE,
              .rate = 1000,
              .seconds = -1,
              .seed = 1,
              .pool = 4096};
  enum {
    O_PUB = 256,
    O_RATE,
    O_SECONDS,
    O_BURST,
    O_MAX,
    O_FLASH,
    O_SIZE,
    O_WINDOW,
    O_IDLE,
    O_SEED,
    O_JSON
  };
  static const struct option longopts[] = {{"ingest", required_argument, 0, 's'},
                                           {"pub", required_argument, 0, O_PUB},
                                           {"query", required_argument, 0, 'q'},
                                           {"producers", required_argument, 0, 'P'},
                                           {"subscribers", required_argument, 0, 'K'},
                                           {"topic", required_argument, 0, 't'},
                                           {"rate", required_argument, 0, O_RATE},
                                           {"seconds", required_argument, 0, O_SECONDS},
                                           {"burst", required_argument, 0, O_BURST},
                                           {"max", no_argument, 0, O_MAX},
                                           {"flash-only", no_argument, 0, O_FLASH},
                                           {"size", required_argument, 0, O_SIZE},
                                           {"window", required_argument, 0, O_WINDOW},
                                           {"idle-ms", required_argument, 0, O_IDLE},
                                           {"seed", required_argument, 0, O_SEED},
                                           {"json", no_argument, 0, O_JSON},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  opterr = 0;
  optind = 1;
  int ch;
  bool rate_given = false;
  while ((ch = getopt_long(argc, argv, ":s:q:P:K:t:h", longopts, NULL)) != -1) {
    switch (ch) {
    case 's':
      o->ingest = optarg;
      break;
    case O_PUB:
      o->pub = optarg;
      break;
    case 'q':
      o->query = optarg;
      break;
    case 'P':
      o->producers = (int)nf_parse_count(PROG, "-P", optarg);
      break;
    case 'K':
      o->subscribers = (int)nf_parse_count(PROG, "-K", optarg);
      break;
    case 't':
      o->topic = optarg;
      break;
    case O_RATE:
      o->rate = parse_num("--rate", optarg), rate_given = true;
      break;
    case O_SECONDS:
      o->seconds = parse_num("--seconds", optarg);
      break;
    case O_BURST:
      o->mode = M_BURST, o->burst = nf_parse_count(PROG, "--burst", optarg);
      break;
    case O_MAX:
      o->mode = M_MAX;
      break;
    case O_FLASH:
      o->flash_only = true;
      break;
    case O_SIZE:
      o->size = (int)nf_parse_count(PROG, "--size", optarg);
      break;
    case O_WINDOW:
      o->window = (int)nf_parse_count(PROG, "--window", optarg);
      break;
    case O_IDLE:
      o->idle_ms = (int)nf_parse_count(PROG, "--idle-ms", optarg);
      break;
    case O_SEED:
      o->seed = (uint64_t)nf_parse_count(PROG, "--seed", optarg);
      break;
    case O_JSON:
      o->json = true;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      nf_die(PROG, 2, "option '%s' needs a value", argv[optind - 1]);
    default:
      nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind < argc) nf_die(PROG, 2, "unexpected argument '%s'", argv[optind]);
  if (o->producers < 1 || o->subscribers < 1 || o->window < 1)
    nf_die(PROG, 2, "-P, -K and --window must be at least 1");
  if (o->size && (o->size < 16 || o->size > 4096)) nf_die(PROG, 2, "--size must be 16..4096");
  if (o->mode == M_RATE && !(o->rate > 0)) nf_die(PROG, 2, "--rate must be > 0");
  if (o->mode == M_BURST && o->burst < 1) nf_die(PROG, 2, "--burst must be >= 1");
  if (o->seconds < 0) o->seconds = o->mode == M_MAX ? 2 : 5;

  load_pool_build(&G.pl, o->flash_only, o->size, o->seed, o->pool);
  query_open();
  subs_start();
  /* readiness: the daemon counts our subscribers (then warm-up items per run) */
  double deadline = bench_now() + 20;
  long ns;
  while ((ns = query_subscribers()) < o->subscribers) {
    if (bench_now() > deadline && ns < 0)
      nf_die(PROG, 1, "no answer from the query API at %s for 20 s: is newsfeedd running?",
             o->query);
    if (bench_now() > deadline)
      nf_die(PROG, 1, "the daemon at %s shows %ld subscribers after 20 s, want %d", o->query, ns,
             o->subscribers);
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL); /* polling interval */
  }

  bench_machine m;
  bench_machine_get(&m);
  FILE *out = stdout;
  int status = 0;
  if (o->json) {
    fprintf(out, "{\"what\":\"load\",\"mode\":\"%s\",",
            o->mode == M_RATE    ? "rate"
            : o->mode == M_BURST ? "burst"
                                 : "max");
    fprintf(out, "\"topic\":");
    bench_json_string(out, o->topic);
    fprintf(out,
            ",\"producers\":%d,\"subscribers\":%d,\"window\":%d,\"flash_only\":%s,\"size\":%d,",
            o->producers, o->subscribers, o->window, o->flash_only ? "true" : "false", o->size);
    fprintf(out, "\"pool_items\":%zu,\"pool_mean_bytes\":", G.pl.n);
    bench_json_number(out, (double)G.pl.bytes / (double)G.pl.n);
    fprintf(out, ",\"machine\":{\"cpu\":");
    bench_json_string(out, m.cpu);
    fprintf(out, ",\"nproc\":%ld,\"ram_gib\":", m.nproc);
    bench_json_number(out, m.ram_gib);
    fprintf(out, "},");
  } else {
    printf("newsfeed-bench load: %d producers, %d subscribers on %s, pool %zu items (mean %.0f "
           "bytes)%s\n",
           o->producers, o->subscribers, o->topic, G.pl.n, (double)G.pl.bytes / (double)G.pl.n,
           o->flash_only ? ", flashes only" : "");
  }
  if (o->mode == M_RATE || o->mode == M_BURST) {
    bench_result R;
    if (o->mode == M_RATE) run_once(o->rate, 0, o->seconds, &R);
    else run_once(0, (uint64_t)o->burst, 0, &R);
    if (o->json) {
      fprintf(out, "\"result\":");
      bench_print_result_json(out, &R);
      fprintf(out, "}\n");
    } else {
      bench_print_result_text(out, &R, "ingested");
    }
    if (R.err[0] || R.acked == 0) status = 1;
    bench_result_free(&R);
  } else {
    /* doubling, then bisecting over short runs */
    bench_max_cfg mc = {.start_rate = rate_given ? o->rate : 2000,
                        .step_seconds = o->seconds,
                        .json = o->json,
                        .out = out,
                        .verb = "ingested",
                        .step = max_step};
    bool have_best = bench_max_search(&mc);
    if (o->json) fprintf(out, "}\n");
    if (!have_best) status = 1;
  }
  fflush(out);
  atomic_store(&G.stop, 1);
  for (int k = 0; k < o->subscribers; k++) pthread_join(G.subs[k].th, NULL);
  /* the SUB sockets are left to process exit: nng_close() can hang in 1.5.2 */
  return status;
}
