/*
 * sub.c -- the subscriber that never misses (newsfeed/sub.h).
 *
 * The problem
 * -----------
 * nng PUB never blocks: when a subscriber's queue is full, the daemon (or
 * nng inside the subscriber) silently drops the *oldest* queued message.
 * A subscriber that was slow, stopped or not yet connected sees a jump in
 * a topic's seq.  Every item is numbered per topic (1, 2, 3 ... within an
 * epoch) and the daemon keeps recent items per topic behind its query API
 * (`history`), so a jump can be filled: ask for the items after the last
 * one delivered, deliver them, then the live one.
 *
 * Data flow
 * ---------
 *
 *   nng SUB socket --decode--> IN queue --judge--> OUT queue --> caller
 *                                            |
 *                                 history (REQ) on a gap
 *
 * IN holds live items not yet judged (a batch message decodes into
 * several).  Judging an item (process_in) asks the per-topic state
 * machine (nf__track_*, tested alone in tests/unit/test_sub.c):
 *
 *   seq <= last        a duplicate (delivered already, e.g. by a replay)
 *   seq == last + 1    deliver
 *   seq >  last + 1    a gap: fetch last+1 .. seq-1 from history (asking
 *                      for just those, 1000 a page), queue them, then it
 *   other epoch        report it; the topic restarts from seq 0, so the
 *                      new epoch's first items are filled if missed
 *
 * OUT holds items in the order they are handed out, with the events (gap
 * filled, gap lost, epoch changed) in their place; nf_sub_next pops one
 * entry at a time.  `last` runs ahead of what the caller has taken, so a
 * topic also keeps `done`, the last item handed out: the state file saves
 * that, so an item queued but never taken is not lost across a restart.
 *
 * Where a topic starts
 * --------------------
 * nf_sub_start dials SUB first and waits for its pipe, then asks the
 * daemon for every topic (`topics`) and gives each matching one a
 * baseline `last`: its seq now (plain live: "from now on"; items published
 * between the connection and the answer still arrive live, and the first
 * live item moves the baseline back to itself: nf__track.from_now), minus N
 * (--last), SEQ (--since), or the state file's seq; then it replays from
 * there.  Live messages are received all along: between history pages
 * they are moved from nng into IN (pump, up to MAX_IN items; beyond, nng
 * drops the oldest and those become gaps like any other).  Replayed items
 * advance `last`, so live copies of them are dropped and whatever the
 * replay did not reach is a gap, filled.  Hence no gap and no duplicate
 * without any timing assumption.  A topic that appears later starts from
 * 0 (everything in it is news), or from SEQ for --since.  When resuming,
 * a topic that matches a pattern the previous run had (the state file
 * names them) yet is not in the state appeared while we were away: from
 * 0 too.  Without a query API, each topic starts at its first item.
 *
 * The end of a topic
 * ------------------
 * A loss shows when a later item of the same topic arrives.  Nothing
 * reveals the loss of a topic's *last* items (the messages that follow
 * are of other topics).  So once per sweep period, when caught up (IN
 * empty, nothing waiting in nng), nf_sub asks `topics` again; an item the
 * *previous* answer listed -- published a whole period ago -- that has
 * still not arrived is lost and is filled.  Items in flight are never
 * taken for lost.  A failed sweep is reported once and retried.
 *
 * Failures
 * --------
 * What history cannot fill (first_seq moved past it, or the topic
 * restarted meanwhile) is reported as NF_SUB_GAP_LOST; the items history
 * still holds are delivered, in order.  A failed query leaves the live
 * item at the head of IN: the next nf_sub_next retries the fill, and
 * nf_sub_skip_gap gives up on that gap instead.
 *
 * Costs: a hash lookup per item; per gap one request per 1000 missing
 * items, held in memory until taken; one `topics` request per sweep.
 * Single-threaded: everything runs in the caller's nf_sub_next, except
 * nng_close, which can hang in nng 1.5.2 and so runs on a helper thread.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <newsfeed/sub.h>

#include "core/internal.h"
#include "core/sub_track.h"

#define PAGE 1000     /* items per history request (the daemon's cap) */
#define MAX_IN 100000 /* live items waiting to be judged */
#define SWEEP_MS 1000 /* default period of the end-of-topic check */

/* Deadlines and periods: a clock that does not jump. */
static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the per-topic state machine ---------------------------------------- */

nf__verdict nf__track_live(nf__track *t, uint64_t epoch, uint64_t seq, uint64_t *old_epoch) {
  *old_epoch = 0;
  if (!t->based) return NF__DELIVER;
  if (t->from_now) { /* see sub_track.h */
    t->from_now = false;
    if ((!t->epoch || epoch == t->epoch) && seq && seq <= t->last) t->last = seq - 1;
  }
  if (t->epoch && epoch != t->epoch) {
    *old_epoch = t->epoch;
    t->last = 0;
  }
  t->epoch = epoch;
  if (seq <= t->last) return NF__DROP;
  return seq == t->last + 1 ? NF__DELIVER : NF__FILL;
}

nf__verdict nf__track_history(const nf__track *t, uint64_t epoch, uint64_t seq, uint64_t upto) {
  if ((t->epoch && epoch != t->epoch) || seq <= t->last || (upto && seq >= upto)) return NF__DROP;
  return seq == t->last + 1 ? NF__DELIVER : NF__LOST;
}

void nf__track_take(nf__track *t, uint64_t epoch, uint64_t seq) {
  t->epoch = epoch;
  t->last = seq;
  t->based = true;
  t->from_now = false;
}

/* ---- topics, queues ------------------------------------------------------ */

typedef struct topic {
  char name[NF_TOPIC_MAX + 1];
  nf__track tr;
  uint64_t done, done_epoch;     /* the last item handed out */
  uint64_t listed, listed_epoch; /* in the topics answer at start */
  uint64_t seen, seen_epoch;     /* last seq, epoch in the previous sweep */
  bool keep;                     /* saved in the state file */
  bool loaded;                   /* came from the state file */
  bool replay;                   /* nf_sub_start replays it */
} topic;

typedef struct qnode {
  struct qnode *next;
  topic *t;
  bool is_event;
  nf_item item;
  nf_sub_event ev;
} qnode;

typedef struct queue {
  qnode *head, *tail;
  size_t n;
} queue;

typedef struct pat {
  char text[NF_TOPIC_MAX + 3]; /* as given: a.b, a.> or > */
  char prefix[NF_TOPIC_MAX + 2];
  size_t len;
} pat;

enum mode { REPLAY_NONE, REPLAY_LAST, REPLAY_SINCE };
enum fill_mode { FILL_GAP, FILL_REPLAY, FILL_LAST };

struct nf_sub {
  nng_socket sub, req;
  nng_aio *aio;
  atomic_int sub_pipes, req_pipes; /* connections up */
  int64_t next_sweep;
  int sweep_ms; /* 0: no sweeps */
  bool sweep_ok;
  char *pub_url, *query_url; /* query_url NULL: no history */
  int timeout_ms;
  enum mode mode;
  uint64_t mode_n;
  bool dialed, started, fill_failed, skip_gap;
  pat *pats, *old_pats; /* ours; the previous run's (state file) */
  size_t n_pats, n_old;
  bool implicit; /* no replay asked: REPLAY_LAST 0, "from now on" */
  topic **tab;
  size_t tab_cap, n_topics, n_loaded;
  queue in, out;
  nf_limits lim;
  unsigned long bad_msgs; /* undecodable live messages, not yet reported */
  nf_error bad_err;
};

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
  return h;
}

static topic **slot(const nf_sub *s, const char *name) {
  size_t m = s->tab_cap - 1, i = hash(name) & m;
  while (s->tab[i] && strcmp(s->tab[i]->name, name)) i = (i + 1) & m;
  return &s->tab[i];
}

static int grow(nf_sub *s) {
  topic **old = s->tab;
  size_t ocap = s->tab_cap, cap = ocap ? ocap * 2 : 64;
  if (!(s->tab = calloc(cap, sizeof *s->tab))) {
    s->tab = old;
    return -1;
  }
  s->tab_cap = cap;
  for (size_t i = 0; i < ocap; i++)
    if (old[i]) *slot(s, old[i]->name) = old[i];
  free(old);
  return 0;
}

/* Finds NAME, creating it if CREATE.  After the start, a new topic gets
 * the baseline of the replay asked for (see the top of the file). */
static topic *topic_get(nf_sub *s, const char *name, bool create) {
  topic *t = s->tab_cap ? *slot(s, name) : NULL;
  if (t || !create) return t;
  if ((s->n_topics + 1) * 2 > s->tab_cap && grow(s) < 0) return NULL;
  if (!(t = calloc(1, sizeof *t))) return NULL;
  snprintf(t->name, sizeof t->name, "%s", name);
  *slot(s, name) = t;
  s->n_topics++;
  if (s->started && s->mode != REPLAY_NONE) {
    t->tr.based = t->keep = true;
    t->tr.last = t->done = s->mode == REPLAY_SINCE ? s->mode_n : 0;
  }
  return t;
}

static bool matches(const pat *v, size_t nv, const char *name) {
  size_t n = strlen(name) + 1; /* the NUL stands for the 0x00 separator */
  for (size_t i = 0; i < nv; i++)
    if (v[i].len <= n && !memcmp(v[i].prefix, name, v[i].len)) return true;
  return false;
}

/* Appends PATTERN to *V; -1 when it is not one. */
static int pat_add(pat **v, size_t *n, const char *pattern) {
  pat p;
  int len = nf_sub_prefix(pattern, p.prefix, sizeof p.prefix);
  pat *nv = len < 0 ? NULL : realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv) return -1;
  p.len = (size_t)len;
  snprintf(p.text, sizeof p.text, "%s", pattern);
  *v = nv;
  nv[(*n)++] = p;
  return 0;
}

static void qpush(queue *q, qnode *n) {
  n->next = NULL;
  if (q->tail) q->tail->next = n;
  else q->head = n;
  q->tail = n;
  q->n++;
}

static qnode *qpop(queue *q) {
  qnode *n = q->head;
  if (!n) return NULL;
  if (!(q->head = n->next)) q->tail = NULL;
  q->n--;
  return n;
}

static void qfree(queue *q) {
  qnode *n;
  while ((n = qpop(q))) {
    nf_item_clear(&n->item);
    free(n);
  }
}

/* Queues an event for T on OUT; NULL when out of memory. */
static qnode *push_event(nf_sub *s, topic *t, nf_sub_event_type type, uint64_t first, uint64_t last,
                         uint64_t old_epoch) {
  qnode *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->t = t;
  n->is_event = true;
  n->ev = (nf_sub_event){
      .type = type, .first = first, .last = last, .old_epoch = old_epoch, .epoch = t->tr.epoch};
  snprintf(n->ev.topic, sizeof n->ev.topic, "%s", t->name);
  qpush(&s->out, n);
  return n;
}

/* Moves node N (holding an item of T) to OUT and advances T. */
static void deliver(nf_sub *s, topic *t, qnode *n) {
  n->t = t;
  nf__track_take(&t->tr, n->item.epoch, n->item.seq);
  qpush(&s->out, n);
}

/* ---- live messages ------------------------------------------------------- */

static int on_live(void *ctx, nf_item *it) {
  nf_sub *s = ctx;
  qnode *n = calloc(1, sizeof *n);
  if (!n) return 1;
  n->item = *it; /* the item owns its arena: moving the struct moves it */
  nf_item_init(it);
  qpush(&s->in, n);
  return 0;
}

/* Decodes live message M into IN; nf_sub_next reports undecodable ones. */
static void take_msg(nf_sub *s, nng_msg *m) {
  if (nf_message_decode(nng_msg_body(m), nng_msg_len(m), &s->lim, on_live, s, &s->bad_err))
    s->bad_msgs++;
  nng_msg_free(m);
}

/* Moves what nng has received into IN, without waiting. */
static void pump(nf_sub *s) {
  nng_msg *m;
  while (s->in.n < MAX_IN && nng_recvmsg(s->sub, &m, NNG_FLAG_NONBLOCK) == 0) take_msg(s, m);
}

/* ---- the query API ------------------------------------------------------- */

typedef struct reply {
  void *buf;
  size_t len;
  msgpack_unpacked up;
} reply;

static void reply_free(reply *r) {
  msgpack_unpacked_destroy(&r->up);
  nng_free(r->buf, r->len);
}

static const msgpack_object *get(const msgpack_object *m, const char *key) {
  size_t kl = strlen(key);
  if (m->type != MSGPACK_OBJECT_MAP) return NULL;
  for (uint32_t i = 0; i < m->via.map.size; i++) {
    const msgpack_object *k = &m->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kl && !memcmp(k->via.str.ptr, key, kl))
      return &m->via.map.ptr[i].val;
  }
  return NULL;
}

static uint64_t get_u(const msgpack_object *m, const char *key) {
  const msgpack_object *v = get(m, key);
  return v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? v->via.u64 : 0;
}

/* Sends REQ (freed here), receives an ok answer into R.  Only called
 * with a query endpoint. */
static int query(nf_sub *s, nf_buf *req, reply *r, nf_error *err) {
  int rv = nng_send(s->req, req->data, req->len, 0);
  nf_buf_free(req);
  if (!rv) rv = nng_recv(s->req, &r->buf, &r->len, NNG_FLAG_ALLOC);
  if (rv) return nf_fail(err, "", "query %s: %s", s->query_url, nng_strerror(rv));
  if (nf__mp_unpack_one(&r->up, r->buf, r->len, 64, err) < 0) {
    nng_free(r->buf, r->len);
    return -1;
  }
  const msgpack_object *ok = get(&r->up.data, "ok"), *e = get(&r->up.data, "error");
  if (ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean) return 0;
  bool has = e && e->type == MSGPACK_OBJECT_STR;
  nf_fail(err, "", "query %s: %.*s", s->query_url, has ? (int)e->via.str.size : 14,
          has ? e->via.str.ptr : "invalid answer");
  reply_free(r);
  return -1;
}

static int ask_history(nf_sub *s, const char *topic_name, uint64_t since, uint64_t limit, reply *r,
                       nf_error *err) {
  nf_buf b = {0};
  if (nf__mp_map(&b, 4) || nf__mp_cstr(&b, "op") || nf__mp_cstr(&b, "history") ||
      nf__mp_cstr(&b, "topic") || nf__mp_cstr(&b, topic_name) || nf__mp_cstr(&b, "since") ||
      nf__mp_uint(&b, since) || nf__mp_cstr(&b, "limit") || nf__mp_uint(&b, limit)) {
    nf_buf_free(&b);
    return nf_fail(err, "", "out of memory");
  }
  return query(s, &b, r, err);
}

/* ---- filling from history ------------------------------------------------ */

/* One item from history: queues it (with the events before it) or drops
 * it.  *RUN is the GAP_FILLED event of the run being queued. */
static int take_old(nf_sub *s, topic *t, nf_item *it, uint64_t upto, enum fill_mode mode,
                    qnode **run) {
  nf__verdict v = nf__track_history(&t->tr, it->epoch, it->seq, upto);
  if (v == NF__DROP) return 0;
  if (v == NF__LOST) {
    *run = NULL;
    if (mode != FILL_LAST && !push_event(s, t, NF_SUB_GAP_LOST, t->tr.last + 1, it->seq - 1, 0))
      return -1;
  }
  if (mode == FILL_GAP && !*run &&
      !(*run = push_event(s, t, NF_SUB_GAP_FILLED, it->seq, it->seq, 0)))
    return -1;
  if (*run) (*run)->ev.last = it->seq;
  qnode *n = calloc(1, sizeof *n);
  if (!n) return -1;
  n->item = *it;
  nf_item_init(it);
  deliver(s, t, n);
  return 0;
}

/* One history answer A: 1 ask for the next page, 0 done, -1 error. */
static int take_page(nf_sub *s, topic *t, const msgpack_object *a, uint64_t upto,
                     enum fill_mode mode, qnode **run, nf_error *err) {
  uint64_t epoch = get_u(a, "epoch"), last_seq = get_u(a, "last_seq"), before = t->tr.last;
  const msgpack_object *items = get(a, "items");
  if (!items || items->type != MSGPACK_OBJECT_ARRAY)
    return nf_fail(err, "", "history answer without items");
  if (!epoch) return 0; /* the daemon does not know the topic */
  if (t->tr.epoch && epoch != t->tr.epoch) {
    if (mode == FILL_GAP) return 0; /* restarted meanwhile: the rest is lost */
    uint64_t old = t->tr.epoch;     /* resuming across a restart: from 0 */
    t->tr = (nf__track){.epoch = epoch, .based = true};
    return !push_event(s, t, NF_SUB_EPOCH_CHANGED, 0, 0, old) ? nf_fail(err, "", "out of memory")
                                                              : 1;
  }
  t->tr.epoch = epoch;
  for (uint32_t i = 0; i < items->via.array.size; i++) {
    nf_item it;
    nf_item_init(&it);
    int rc = nf__item_from_object(&it, &items->via.array.ptr[i], &s->lim, NF_FROM_PUBLISHED, err);
    if (!rc && strcmp(it.topic, t->name))
      rc = nf_fail(err, "topic", "history of %s answered with an item of %s", t->name, it.topic);
    if (!rc && take_old(s, t, &it, upto, mode, run) < 0) rc = nf_fail(err, "", "out of memory");
    nf_item_clear(&it);
    if (rc) return -1;
  }
  if (t->tr.last == before) return 0; /* nothing new: done */
  return (upto ? t->tr.last + 1 < upto : t->tr.last < last_seq) ? 1 : 0;
}

/* Queues T's items after T->tr.last from history, up to UPTO (0: all).
 * A gap asks for just its own items: small gaps are the common case. */
static int fill(nf_sub *s, topic *t, uint64_t upto, enum fill_mode mode, nf_error *err) {
  qnode *run = NULL;
  int rc;
  do {
    reply r;
    uint64_t want = upto ? upto - 1 - t->tr.last : PAGE;
    if (ask_history(s, t->name, t->tr.last, want < PAGE ? want : PAGE, &r, err) < 0) return -1;
    rc = take_page(s, t, &r.up.data, upto, mode, &run, err);
    reply_free(&r);
    pump(s);
  } while (rc > 0);
  if (rc < 0) return -1;
  if (mode == FILL_GAP && t->tr.last + 1 < upto &&
      !push_event(s, t, NF_SUB_GAP_LOST, t->tr.last + 1, upto - 1, 0))
    return nf_fail(err, "", "out of memory");
  return 0;
}

/* Judges the live item at the head of IN.  On a failed fill the item
 * stays there for the next try. */
static int process_in(nf_sub *s, nf_error *err) {
  qnode *n = s->in.head;
  topic *t = topic_get(s, n->item.topic, true);
  uint64_t old;
  if (!t) return nf_fail(err, "", "out of memory");
  nf__verdict v = nf__track_live(&t->tr, n->item.epoch, n->item.seq, &old);
  if (old && !push_event(s, t, NF_SUB_EPOCH_CHANGED, 0, 0, old))
    return nf_fail(err, "", "out of memory");
  if (v == NF__FILL && (s->skip_gap || !s->query_url)) {
    if (!push_event(s, t, NF_SUB_GAP_LOST, t->tr.last + 1, n->item.seq - 1, 0))
      return nf_fail(err, "", "out of memory");
  } else if (v == NF__FILL && fill(s, t, n->item.seq, FILL_GAP, err) < 0) {
    s->fill_failed = true;
    return -1;
  }
  s->fill_failed = s->skip_gap = false;
  qpop(&s->in);
  if (v == NF__DROP) {
    nf_item_clear(&n->item);
    free(n);
  } else {
    deliver(s, t, n);
  }
  return 0;
}

/* ---- the start: replay --------------------------------------------------- */

typedef int (*topic_fn)(nf_sub *s, const char *name, uint64_t seq, uint64_t epoch, nf_error *err);

/* Asks for every topic; calls FN for each one the patterns match. */
static int each_topic(nf_sub *s, topic_fn fn, nf_error *err) {
  nf_buf b = {0};
  reply r;
  if (nf__mp_map(&b, 1) || nf__mp_cstr(&b, "op") || nf__mp_cstr(&b, "topics")) {
    nf_buf_free(&b);
    return nf_fail(err, "", "out of memory");
  }
  if (query(s, &b, &r, err) < 0) return -1;
  const msgpack_object *m = get(&r.up.data, "topics");
  int rc =
      m && m->type == MSGPACK_OBJECT_MAP ? 0 : nf_fail(err, "", "topics answer without topics");
  for (uint32_t i = 0; !rc && i < m->via.map.size; i++) {
    const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
    char name[NF_TOPIC_MAX + 1];
    if (k->type != MSGPACK_OBJECT_STR || !nf_topic_valid(k->via.str.ptr, k->via.str.size)) continue;
    memcpy(name, k->via.str.ptr, k->via.str.size);
    name[k->via.str.size] = 0;
    if (matches(s->pats, s->n_pats, name))
      rc = fn(s, name, get_u(v, "seq"), get_u(v, "epoch"), err);
  }
  reply_free(&r);
  return rc;
}

static int mark_replay(nf_sub *s, const char *name, uint64_t seq, uint64_t epoch, nf_error *err) {
  topic *t = topic_get(s, name, true);
  if (!t) return nf_fail(err, "", "out of memory");
  t->listed = seq;
  t->listed_epoch = epoch;
  t->replay = true;
  return 0;
}

/* One topic of a sweep.  An item the previous answer listed -- published
 * a sweep period ago at least -- that has still not arrived while we are
 * caught up was lost at the end of the topic: fill it now. */
static int sweep_topic(nf_sub *s, const char *name, uint64_t seq, uint64_t epoch, nf_error *err) {
  topic *t = topic_get(s, name, s->mode != REPLAY_NONE);
  if (!t || !t->tr.based || !epoch) return 0;
  uint64_t seen = t->seen_epoch == epoch ? t->seen : 0, old = t->tr.epoch;
  t->seen = seq;
  t->seen_epoch = epoch;
  if (!seen || (old == epoch && seen <= t->tr.last)) return 0;
  if (old != epoch) { /* a restart no live item has shown yet */
    t->tr = (nf__track){.epoch = epoch, .last = old ? 0 : t->tr.last, .based = true};
    if (old && !push_event(s, t, NF_SUB_EPOCH_CHANGED, 0, 0, old))
      return nf_fail(err, "", "out of memory");
  }
  return seen > t->tr.last ? fill(s, t, seen + 1, FILL_GAP, err) : 0;
}

/* Sweeps when caught up, once per sweep period.  A failure is reported once
 * (until a sweep succeeds again); without a query connection there is no
 * sweep and no wait. */
static int maybe_sweep(nf_sub *s, nf_error *err) {
  s->next_sweep = mono_ms() + s->sweep_ms;
  if (!atomic_load(&s->req_pipes)) return 0;
  int rc = each_topic(s, sweep_topic, err);
  bool report = rc < 0 && s->sweep_ok;
  s->sweep_ok = rc == 0;
  return report ? -1 : 0;
}

/* Sets T's starting point; returns how to fill from it, or -1: skip. */
static int baseline(nf_sub *s, topic *t) {
  if (t->loaded) return FILL_REPLAY;
  if (s->mode == REPLAY_NONE) return -1;
  /* resuming: a topic the previous run would have tracked but did not
   * save appeared while we were away -- all of it is news */
  bool away = s->implicit && matches(s->old_pats, s->n_old, t->name);
  uint64_t n = s->mode_n;
  t->tr = (nf__track){.epoch = away ? 0 : t->listed_epoch, .based = true};
  t->tr.last = away ? 0 : s->mode == REPLAY_SINCE ? n : t->listed > n ? t->listed - n : 0;
  t->tr.from_now = s->mode == REPLAY_LAST && n == 0 && !away;
  t->done = t->tr.last;
  t->keep = true;
  return s->mode == REPLAY_LAST && !away ? FILL_LAST : FILL_REPLAY;
}

static int replay_all(nf_sub *s, nf_error *err) {
  if (s->mode != REPLAY_NONE && each_topic(s, mark_replay, err) < 0) return -1;
  for (size_t i = 0; i < s->n_pats; i++) { /* exact topics, even unlisted */
    const pat *p = &s->pats[i];
    topic *t = p->len && !p->prefix[p->len - 1] ? topic_get(s, p->prefix, true) : NULL;
    if (t) t->replay = true;
  }
  for (size_t i = 0; i < s->tab_cap; i++) {
    topic *t = s->tab[i];
    if (!t || !(t->replay || t->loaded) || !matches(s->pats, s->n_pats, t->name)) continue;
    int mode = baseline(s, t);
    if (mode == FILL_LAST && !s->mode_n) continue; /* from now: the live feed has it all */
    if (mode >= 0 && fill(s, t, 0, (enum fill_mode)mode, err) < 0) return -1;
  }
  return 0;
}

/* Counts a socket's connections (ARG is its counter). */
static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
  (void)p;
  atomic_fetch_add((atomic_int *)arg, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

/* Waits up to the query timeout for the SUB (and REQ) connections. */
static bool wait_pipes(nf_sub *s, bool req) {
  int64_t end = mono_ms() + s->timeout_ms;
  for (;;) {
    bool up = atomic_load(&s->sub_pipes) > 0 && (!req || atomic_load(&s->req_pipes) > 0);
    if (up || mono_ms() >= end) return up;
    nng_msleep(2);
  }
}

int nf_sub_start(nf_sub *s, nf_error *err) {
  bool replay = s->n_loaded || s->mode != REPLAY_NONE;
  int rv;
  if (s->dialed) return nf_fail(err, "", "already started");
  if (!s->n_pats) return nf_fail(err, "", "no topic to subscribe to");
  if (replay && !s->query_url) return nf_fail(err, "", "replay needs the query endpoint");
  if (s->mode == REPLAY_NONE && s->query_url) { /* see the top of the file */
    nf_sub_replay_last(s, 0);
    s->implicit = true;
  }
  s->dialed = true; /* non-blocking dials: they retry in the background */
  if ((rv = nng_dial(s->sub, s->pub_url, NULL, NNG_FLAG_NONBLOCK)))
    return nf_fail(err, "", "%s: %s", s->pub_url, nng_strerror(rv));
  if (s->query_url && (rv = nng_dial(s->req, s->query_url, NULL, NNG_FLAG_NONBLOCK)))
    return nf_fail(err, "", "%s: %s", s->query_url, nng_strerror(rv));
  if (replay) {
    if (!wait_pipes(s, false))
      return nf_fail(err, "", "%s: not connected after %d ms", s->pub_url, s->timeout_ms);
    if (replay_all(s, err) < 0) return -1;
  } else if (s->query_url && (!wait_pipes(s, true) || replay_all(s, NULL) < 0)) {
    s->mode = REPLAY_NONE; /* no history: each topic starts at its first item */
  }
  s->started = s->sweep_ok = true;
  s->next_sweep = mono_ms() + s->sweep_ms;
  return 0;
}

/* ---- the public API ------------------------------------------------------ */

int nf_sub_open(nf_sub **out, const char *pub_url, const char *query_url, nf_error *err) {
  nf_sub *s = calloc(1, sizeof *s);
  int rv;
  if (!s || !(s->pub_url = strdup(pub_url)) || (query_url && !(s->query_url = strdup(query_url)))) {
    nf_sub_close(s);
    return nf_fail(err, "", "out of memory");
  }
  s->timeout_ms = 5000;
  s->sweep_ms = SWEEP_MS;
  s->lim = nf_limits_default();
  s->lim.max_item_bytes = SIZE_MAX;
  if ((rv = nng_sub0_open(&s->sub)) || (rv = nng_aio_alloc(&s->aio, NULL, NULL)) ||
      (query_url && (rv = nng_req0_open(&s->req)))) {
    nf_sub_close(s);
    return nf_fail(err, "", "nng: %s", nng_strerror(rv));
  }
  nng_socket_set_int(s->sub, NNG_OPT_RECVBUF, 8192);
  nng_pipe_notify(s->sub, NNG_PIPE_EV_ADD_POST, on_pipe, &s->sub_pipes);
  if (query_url) {
    nng_pipe_notify(s->req, NNG_PIPE_EV_ADD_POST, on_pipe, &s->req_pipes);
    nng_pipe_notify(s->req, NNG_PIPE_EV_REM_POST, on_pipe, &s->req_pipes);
  }
  nf_sub_set_timeout(s, s->timeout_ms);
  *out = s;
  return 0;
}

int nf_sub_add(nf_sub *s, const char *pattern, nf_error *err) {
  if (pat_add(&s->pats, &s->n_pats, pattern) < 0)
    return nf_fail(err, "", "'%.140s': not a topic (use a.b, a.> or >)", pattern);
  const pat *p = &s->pats[s->n_pats - 1];
  int rv = nng_socket_set(s->sub, NNG_OPT_SUB_SUBSCRIBE, p->prefix, p->len);
  return rv ? nf_fail(err, "", "subscribe: %s", nng_strerror(rv)) : 0;
}

void nf_sub_replay_last(nf_sub *s, uint64_t n) {
  s->mode = REPLAY_LAST;
  s->mode_n = n;
}

void nf_sub_replay_since(nf_sub *s, uint64_t seq) {
  s->mode = REPLAY_SINCE;
  s->mode_n = seq;
}

void nf_sub_set_sweep(nf_sub *s, int ms) {
  s->sweep_ms = ms > 0 ? ms : 0;
}

void nf_sub_set_timeout(nf_sub *s, int ms) {
  s->timeout_ms = ms > 0 ? ms : 5000;
  if (s->query_url) {
    nng_socket_set_ms(s->req, NNG_OPT_SENDTIMEO, s->timeout_ms);
    nng_socket_set_ms(s->req, NNG_OPT_RECVTIMEO, s->timeout_ms);
  }
}

/* Waits up to TIMEOUT_MS for one live message and decodes it into IN. */
static int recv_live(nf_sub *s, int timeout_ms, nf_error *err) {
  nng_aio_set_timeout(s->aio, timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
  nng_recv_aio(s->sub, s->aio);
  nng_aio_wait(s->aio);
  int rv = nng_aio_result(s->aio);
  if (rv == NNG_ETIMEDOUT) return NF_ETIMEDOUT;
  if (rv) return nf_fail(err, "", "receive: %s", nng_strerror(rv));
  take_msg(s, nng_aio_get_msg(s->aio));
  return 0;
}

static int pop_out(nf_sub *s, nf_item *out, nf_sub_event *ev) {
  qnode *n = qpop(&s->out);
  int rc = n->is_event ? NF_SUB_EVENT : NF_SUB_ITEM;
  if (n->is_event) {
    *ev = n->ev;
  } else {
    *out = n->item;
    n->t->done = out->seq;
    n->t->done_epoch = out->epoch;
    n->t->keep = true;
  }
  free(n);
  return rc;
}

int nf_sub_next(nf_sub *s, nf_item *out, nf_sub_event *ev, int timeout_ms, nf_error *err) {
  int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
  if (!s->started) return nf_fail(err, "", "nf_sub_start first");
  for (;;) {
    if (s->out.head) return pop_out(s, out, ev);
    if (s->bad_msgs) {
      unsigned long n = s->bad_msgs;
      s->bad_msgs = 0;
      return nf_fail(err, s->bad_err.field, "%lu bad message(s) skipped, the last: %.200s", n,
                     s->bad_err.msg);
    }
    if (s->in.head) {
      if (process_in(s, err) < 0) return -1;
      continue;
    }
    if (s->query_url && s->sweep_ms && mono_ms() >= s->next_sweep) {
      pump(s); /* sweep only when caught up */
      if (!s->in.head && maybe_sweep(s, err) < 0) return -1;
      continue;
    }
    int64_t now = mono_ms(), left = deadline < 0 ? INT32_MAX : deadline - now, wait = left;
    if (s->query_url && s->sweep_ms && s->next_sweep - now < wait) wait = s->next_sweep - now;
    int rc = recv_live(s, wait < 0 ? 0 : deadline < 0 && wait == left ? -1 : (int)wait, err);
    if (rc == NF_ETIMEDOUT && wait < left) continue; /* time to sweep */
    if (rc) return rc;
  }
}

void nf_sub_skip_gap(nf_sub *s) {
  if (s->fill_failed) s->skip_gap = true;
}

/* ---- the state file ------------------------------------------------------ */

static int load_topic(nf_sub *s, const char *path, const char *name, json_t *v, nf_error *err) {
  json_t *seq = json_object_get(v, "seq"), *ep = json_object_get(v, "epoch");
  if (!nf_topic_valid(name, strlen(name)) || !json_is_integer(seq) || !json_is_integer(ep) ||
      json_integer_value(seq) < 0 || json_integer_value(ep) < 0)
    return nf_fail(err, "", "%s: topic '%.128s': expected {\"seq\": N, \"epoch\": E}", path, name);
  topic *t = topic_get(s, name, true);
  if (!t) return nf_fail(err, "", "out of memory");
  t->tr = (nf__track){.epoch = (uint64_t)json_integer_value(ep),
                      .last = (uint64_t)json_integer_value(seq),
                      .based = true};
  t->done = t->tr.last;
  t->done_epoch = t->tr.epoch;
  t->loaded = t->keep = true;
  s->n_loaded++;
  return 0;
}

int nf_sub_load_state(nf_sub *s, const char *path, nf_error *err) {
  json_error_t je;
  const char *name;
  json_t *v;
  FILE *f = fopen(path, "r");
  if (!f) return errno == ENOENT ? 0 : nf_fail(err, "", "%s: %s", path, strerror(errno));
  json_t *root = json_loadf(f, 0, &je);
  fclose(f);
  if (!root) return nf_fail(err, "", "%s:%d:%d: %s", path, je.line, je.column, je.text);
  json_t *topics = json_object_get(root, "topics"), *pats = json_object_get(root, "patterns");
  int rc = json_is_object(topics) ? 0 : nf_fail(err, "", "%s: expected {\"topics\": {...}}", path);
  json_object_foreach(topics, name, v) {
    if (rc || (rc = load_topic(s, path, name, v, err))) break;
  }
  size_t i;
  json_array_foreach(pats, i, v) { /* optional: the previous run's patterns */
    if (!rc && (!json_is_string(v) || pat_add(&s->old_pats, &s->n_old, json_string_value(v))))
      rc = nf_fail(err, "", "%s: patterns: expected topic patterns", path);
  }
  json_decref(root);
  return rc;
}

int nf_sub_save_state(nf_sub *s, const char *path, nf_error *err) {
  char tmp[PATH_MAX];
  const char *sep = "";
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return nf_fail(err, "", "%s: path too long", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return nf_fail(err, "", "%s: %s", tmp, strerror(errno));
  fputs("{\"patterns\":[", f);
  for (size_t i = 0; i < s->n_pats; i++) /* patterns and names need no escaping */
    fprintf(f, "%s\"%s\"", i ? "," : "", s->pats[i].text);
  fputs("],\"topics\":{", f);
  for (size_t i = 0; i < s->tab_cap; i++) {
    const topic *t = s->tab[i];
    if (!t || !t->keep) continue;
    fprintf(f, "%s\"%s\":{\"seq\":%llu,\"epoch\":%llu}", sep, t->name, (unsigned long long)t->done,
            (unsigned long long)t->done_epoch);
    sep = ",";
  }
  int rc = fputs("}}\n", f) < 0 || fflush(f) || fsync(fileno(f)) ? -1 : 0;
  if (fclose(f) || rc || rename(tmp, path)) {
    int e = errno;
    unlink(tmp);
    return nf_fail(err, "", "%s: %s", path, strerror(e));
  }
  return 0;
}

/* ---- closing ------------------------------------------------------------- */

typedef struct closer {
  nng_socket sub, req;
  sem_t done;
} closer;

static void *close_thread(void *arg) {
  closer *c = arg;
  nng_close(c->sub);
  nng_close(c->req); /* NNG_ECLOSED when never opened: harmless */
  sem_post(&c->done);
  return NULL;
}

/* nng_close() on a helper thread, waited for at most 1 s.  When it is
 * stuck, C stays allocated (the thread still needs it). */
static void close_sockets(nng_socket sub, nng_socket req) {
  closer *c = malloc(sizeof *c);
  pthread_t th;
  struct timespec ts;
  if (!c) return; /* left to process exit */
  c->sub = sub, c->req = req;
  sem_init(&c->done, 0, 0);
  if (pthread_create(&th, NULL, close_thread, c)) {
    sem_destroy(&c->done);
    free(c);
    return;
  }
  pthread_detach(th);
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 1;
  int rc;
  while ((rc = sem_timedwait(&c->done, &ts)) < 0 && errno == EINTR) {
  }
  if (rc == 0) {
    sem_destroy(&c->done);
    free(c);
  }
}

void nf_sub_close(nf_sub *s) {
  if (!s) return;
  if (nng_socket_id(s->sub) > 0) { /* S goes away: no more callbacks into it */
    nng_pipe_notify(s->sub, NNG_PIPE_EV_ADD_POST, NULL, NULL);
    if (nng_socket_id(s->req) > 0) {
      nng_pipe_notify(s->req, NNG_PIPE_EV_ADD_POST, NULL, NULL);
      nng_pipe_notify(s->req, NNG_PIPE_EV_REM_POST, NULL, NULL);
    }
    close_sockets(s->sub, s->req);
  }
  if (s->aio) nng_aio_free(s->aio);
  qfree(&s->in);
  qfree(&s->out);
  for (size_t i = 0; i < s->tab_cap; i++) free(s->tab[i]);
  free(s->tab);
  free(s->pats);
  free(s->old_pats);
  free(s->pub_url);
  free(s->query_url);
  free(s);
}
