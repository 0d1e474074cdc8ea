/*
 * test_sub.c -- unit tests for the subscriber that never misses
 * (src/core/sub.c, newsfeed/sub.h).
 *
 * First the per-topic ordering rules on their own (nf__track_*: feed
 * (epoch, seq), get deliver / drop / fill / lost).  Then the whole nf_sub
 * against a fake daemon in this process: an nng PUB socket the test
 * publishes on, and a REP socket on a thread that answers `history` and
 * `topics` from an item store the test controls (SPEC 8), both over
 * inproc://.  The fake holds per topic the items the test put there;
 * first_seq and last_seq are the lowest and highest it holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>

#include <newsfeed/newsfeed.h>
#include "core/internal.h"
#include "core/sub_track.h"

/* ---- the ordering rules ---------------------------------------------------- */

static void test_track_first_item_and_duplicates(void **st) {
  (void)st;
  nf__track t = {0};
  uint64_t old;
  /* no baseline: the first item goes, whatever its seq (no backfill) */
  assert_int_equal(nf__track_live(&t, 7, 41, &old), NF__DELIVER);
  assert_int_equal(old, 0);
  nf__track_take(&t, 7, 41);
  assert_int_equal(nf__track_live(&t, 7, 42, &old), NF__DELIVER);
  nf__track_take(&t, 7, 42);
  assert_int_equal(nf__track_live(&t, 7, 42, &old), NF__DROP);
  assert_int_equal(nf__track_live(&t, 7, 1, &old), NF__DROP);
  assert_int_equal(t.last, 42);
}

/* "From now on": the baseline is the seq when the subscriber asked, but
 * items published between its connection and that answer arrive live and
 * are news (the CI race: the first item was dropped as a duplicate). */
static void test_track_from_now(void **st) {
  (void)st;
  uint64_t old;
  nf__track t = {.epoch = 7, .last = 3, .based = true, .from_now = true};
  assert_int_equal(nf__track_live(&t, 7, 2, &old), NF__DELIVER); /* 2, 3 were after connecting */
  nf__track_take(&t, 7, 2);
  assert_int_equal(nf__track_live(&t, 7, 3, &old), NF__DELIVER);
  nf__track_take(&t, 7, 3);
  assert_int_equal(nf__track_live(&t, 7, 3, &old), NF__DROP); /* only the first moves it */
  assert_int_equal(nf__track_live(&t, 7, 5, &old), NF__FILL);
  /* first live item after the baseline: a normal gap */
  nf__track u = {.epoch = 7, .last = 3, .based = true, .from_now = true};
  assert_int_equal(nf__track_live(&u, 7, 6, &old), NF__FILL);
  assert_int_equal(u.last, 3);
  /* once something was taken (e.g. a sweep's fill), the baseline holds */
  nf__track v = {.epoch = 7, .last = 3, .based = true, .from_now = true};
  nf__track_take(&v, 7, 4);
  assert_int_equal(nf__track_live(&v, 7, 4, &old), NF__DROP);
  /* another epoch restarts the topic as before */
  nf__track w = {.epoch = 7, .last = 3, .based = true, .from_now = true};
  assert_int_equal(nf__track_live(&w, 8, 1, &old), NF__DELIVER);
  assert_int_equal(old, 7);
}

static void test_track_gap(void **st) {
  (void)st;
  nf__track t = {.epoch = 7, .last = 2, .based = true};
  uint64_t old;
  assert_int_equal(nf__track_live(&t, 7, 5, &old), NF__FILL);
  assert_int_equal(t.last, 2); /* nothing taken yet */
  /* history answers 3, 4 (and 5, 6 which the live item covers) */
  assert_int_equal(nf__track_history(&t, 7, 2, 5), NF__DROP);
  assert_int_equal(nf__track_history(&t, 7, 3, 5), NF__DELIVER);
  nf__track_take(&t, 7, 3);
  assert_int_equal(nf__track_history(&t, 7, 4, 5), NF__DELIVER);
  nf__track_take(&t, 7, 4);
  assert_int_equal(nf__track_history(&t, 7, 5, 5), NF__DROP);
  assert_int_equal(nf__track_history(&t, 7, 6, 5), NF__DROP);
  assert_int_equal(nf__track_live(&t, 7, 5, &old), NF__DELIVER);
  nf__track_take(&t, 7, 5);
  assert_int_equal(nf__track_live(&t, 7, 4, &old), NF__DROP);
}

static void test_track_unfillable_gap(void **st) {
  (void)st;
  nf__track t = {.epoch = 7, .last = 2, .based = true};
  uint64_t old;
  assert_int_equal(nf__track_live(&t, 7, 10, &old), NF__FILL);
  /* history starts at 7: 3..6 are gone, 7.. still deliverable */
  assert_int_equal(nf__track_history(&t, 7, 7, 10), NF__LOST);
  nf__track_take(&t, 7, 7);
  assert_int_equal(nf__track_history(&t, 7, 8, 10), NF__DELIVER);
  /* a hole in the middle is reported the same way */
  assert_int_equal(nf__track_history(&t, 7, 9, 0), NF__LOST);
  /* items of another epoch never fill a gap */
  assert_int_equal(nf__track_history(&t, 8, 8, 10), NF__DROP);
}

static void test_track_epoch_change(void **st) {
  (void)st;
  nf__track t = {.epoch = 7, .last = 500, .based = true};
  uint64_t old;
  assert_int_equal(nf__track_live(&t, 9, 1, &old), NF__DELIVER);
  assert_int_equal(old, 7);
  assert_int_equal(t.epoch, 9);
  assert_int_equal(t.last, 0);
  nf__track_take(&t, 9, 1);
  /* a later item of the new epoch: ordinary rules, no second report */
  assert_int_equal(nf__track_live(&t, 9, 4, &old), NF__FILL);
  assert_int_equal(old, 0);
  /* a restart seen first at seq 3: fill 1..2 of the new epoch */
  nf__track u = {.epoch = 7, .last = 3, .based = true};
  assert_int_equal(nf__track_live(&u, 8, 3, &old), NF__FILL);
  assert_int_equal(old, 7);
  assert_int_equal(u.last, 0);
}

static void test_track_replay_overlap(void **st) {
  (void)st;
  /* --since 0 on a topic with 1..5 while live 3..7 queue up */
  nf__track t = {.last = 0, .based = true}; /* epoch not known yet */
  for (uint64_t seq = 1; seq <= 5; seq++) {
    assert_int_equal(nf__track_history(&t, 7, seq, 0), NF__DELIVER);
    nf__track_take(&t, 7, seq);
  }
  uint64_t old;
  for (uint64_t seq = 3; seq <= 5; seq++)
    assert_int_equal(nf__track_live(&t, 7, seq, &old), NF__DROP);
  assert_int_equal(nf__track_live(&t, 7, 6, &old), NF__DELIVER);
  nf__track_take(&t, 7, 6);
  assert_int_equal(nf__track_live(&t, 7, 8, &old), NF__FILL);
  /* a baseline without an epoch takes the first one silently */
  nf__track u = {.last = 10, .based = true};
  assert_int_equal(nf__track_live(&u, 5, 11, &old), NF__DELIVER);
  assert_int_equal(old, 0);
  assert_int_equal(u.epoch, 5);
}

/* ---- a fake daemon ----------------------------------------------------------- */

#define MAX_HELD 4096

typedef struct held {
  char topic[32];
  uint64_t seq, epoch;
} held;

typedef struct fake {
  nng_socket pub, rep;
  pthread_t th;
  pthread_mutex_t mu;
  held items[MAX_HELD]; /* in seq order per topic */
  size_t n;
  bool fail; /* answer history with ok:false */
  atomic_int pub_pipes;
  atomic_bool stop;
  char pub_url[64], query_url[64];
} fake;

static const msgpack_object *mget(const msgpack_object *m, const char *key) {
  for (uint32_t i = 0; m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++) {
    const msgpack_object *k = &m->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
        !memcmp(k->via.str.ptr, key, k->via.str.size))
      return &m->via.map.ptr[i].val;
  }
  return NULL;
}

static void pack_item(nf_buf *b, const char *topic, uint64_t seq, uint64_t epoch) {
  char title[64], id[64];
  nf_item it;
  nf_item_init(&it);
  snprintf(title, sizeof title, "%s #%llu", topic, (unsigned long long)seq);
  snprintf(id, sizeof id, "id-%s-%llu", topic, (unsigned long long)seq);
  it.title = title;
  it.id = id;
  it.topic = topic;
  it.seq = seq;
  it.epoch = epoch;
  it.received = 1;
  assert_int_equal(nf_item_to_msgpack(&it, NF_ENC_MESSAGE | NF_ENC_DAEMON, b), 0);
}

static void kv_u(nf_buf *b, const char *k, uint64_t v) {
  nf__mp_cstr(b, k);
  nf__mp_uint(b, v);
}

static void answer_history(fake *f, const msgpack_object *req, nf_buf *b) {
  const msgpack_object *t = mget(req, "topic");
  char topic[32] = "";
  uint64_t since = mget(req, "since")->via.u64, limit = mget(req, "limit")->via.u64;
  uint64_t first = 0, last = 0, epoch = 0, n = 0;
  memcpy(topic, t->via.str.ptr, t->via.str.size < 31 ? t->via.str.size : 31);
  for (size_t i = 0; i < f->n; i++) {
    if (strcmp(f->items[i].topic, topic)) continue;
    if (!first) first = f->items[i].seq;
    last = f->items[i].seq, epoch = f->items[i].epoch;
    n += f->items[i].seq > since && n < limit;
  }
  nf__mp_map(b, 5);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
  kv_u(b, "epoch", epoch);
  kv_u(b, "first_seq", first);
  kv_u(b, "last_seq", last);
  nf__mp_cstr(b, "items");
  nf__mp_array(b, (uint32_t)n);
  for (size_t i = 0; i < f->n && n; i++)
    if (!strcmp(f->items[i].topic, topic) && f->items[i].seq > since) {
      pack_item(b, topic, f->items[i].seq, f->items[i].epoch);
      n--;
    }
}

static void answer_topics(fake *f, nf_buf *b) {
  uint32_t n = 0;
  for (size_t i = 0; i < f->n; i++) /* the last item of each topic */
    n += i + 1 == f->n || strcmp(f->items[i].topic, f->items[i + 1].topic);
  nf__mp_map(b, 2);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
  nf__mp_cstr(b, "topics");
  nf__mp_map(b, n);
  for (size_t i = 0; i < f->n; i++)
    if (i + 1 == f->n || strcmp(f->items[i].topic, f->items[i + 1].topic)) {
      nf__mp_cstr(b, f->items[i].topic);
      nf__mp_map(b, 2);
      kv_u(b, "seq", f->items[i].seq);
      kv_u(b, "epoch", f->items[i].epoch);
    }
}

static void *serve(void *arg) {
  fake *f = arg;
  while (!atomic_load(&f->stop)) {
    char *req;
    size_t len;
    int rv = nng_recv(f->rep, &req, &len, NNG_FLAG_ALLOC);
    if (rv == NNG_ETIMEDOUT) continue;
    if (rv) break;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, req, len, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *op = mget(&up.data, "op");
    nf_buf b = {0};
    pthread_mutex_lock(&f->mu);
    if (op->via.str.size == 7 && !memcmp(op->via.str.ptr, "history", 7) && !f->fail)
      answer_history(f, &up.data, &b);
    else if (op->via.str.size == 6 && !memcmp(op->via.str.ptr, "topics", 6)) answer_topics(f, &b);
    else
      nf__mp_map(&b, 2), nf__mp_cstr(&b, "ok"), nf__mp_bool(&b, false), nf__mp_cstr(&b, "error"),
          nf__mp_cstr(&b, "history is down");
    pthread_mutex_unlock(&f->mu);
    msgpack_unpacked_destroy(&up);
    nng_free(req, len);
    nng_send(f->rep, b.data, b.len, 0);
    nf_buf_free(&b);
  }
  return NULL;
}

static void on_pub_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
  (void)p, (void)ev;
  atomic_fetch_add(&((fake *)arg)->pub_pipes, 1);
}

static fake *fake_start(void) {
  static int counter;
  fake *f = calloc(1, sizeof *f);
  counter++;
  snprintf(f->pub_url, sizeof f->pub_url, "inproc://test-sub-pub-%d", counter);
  snprintf(f->query_url, sizeof f->query_url, "inproc://test-sub-query-%d", counter);
  pthread_mutex_init(&f->mu, NULL);
  assert_int_equal(nng_pub0_open(&f->pub), 0);
  assert_int_equal(nng_rep0_open(&f->rep), 0);
  nng_socket_set_int(f->pub, NNG_OPT_SENDBUF, 8192);
  nng_socket_set_ms(f->rep, NNG_OPT_RECVTIMEO, 20);
  nng_pipe_notify(f->pub, NNG_PIPE_EV_ADD_POST, on_pub_pipe, f);
  assert_int_equal(nng_listen(f->pub, f->pub_url, NULL, 0), 0);
  assert_int_equal(nng_listen(f->rep, f->query_url, NULL, 0), 0);
  assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
  return f;
}

static void fake_stop(fake *f) {
  atomic_store(&f->stop, true);
  pthread_join(f->th, NULL);
  nng_close(f->rep);
  nng_close(f->pub);
  pthread_mutex_destroy(&f->mu);
  free(f);
}

/* Holds FROM..TO of TOPIC in EPOCH (appended: add each topic's items in
 * one block, in seq order). */
static void fake_hold(fake *f, const char *topic, uint64_t from, uint64_t to, uint64_t epoch) {
  pthread_mutex_lock(&f->mu);
  for (uint64_t s = from; s <= to; s++) {
    assert_true(f->n < MAX_HELD);
    held *h = &f->items[f->n++];
    snprintf(h->topic, sizeof h->topic, "%s", topic);
    h->seq = s, h->epoch = epoch;
  }
  pthread_mutex_unlock(&f->mu);
}

/* Forgets every item of TOPIC below FIRST (all of them for FIRST 0). */
static void fake_trim(fake *f, const char *topic, uint64_t first) {
  pthread_mutex_lock(&f->mu);
  size_t o = 0;
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->items[i].topic, topic) || (first && f->items[i].seq >= first))
      f->items[o++] = f->items[i];
  f->n = o;
  pthread_mutex_unlock(&f->mu);
}

/* Publishes seq FROM..TO of TOPIC live, as one batch message if BATCH. */
static void publish(fake *f, const char *topic, uint64_t from, uint64_t to, uint64_t epoch,
                    bool batch) {
  for (uint64_t s = from; s <= to; s++) {
    nf_buf b = {0};
    nf_buf_append(&b, topic, strlen(topic) + 1);
    if (batch) nf__mp_array(&b, (uint32_t)(to - from + 1));
    for (uint64_t k = s; k <= (batch ? to : s); k++) pack_item(&b, topic, k, epoch);
    assert_int_equal(nng_send(f->pub, b.data, b.len, 0), 0);
    nf_buf_free(&b);
    if (batch) break;
  }
}

static void wait_pub_pipe(fake *f) {
  for (int i = 0; i < 2000 && !atomic_load(&f->pub_pipes); i++) usleep(1000);
  assert_true(atomic_load(&f->pub_pipes) > 0);
}

static nf_sub *sub_open(fake *f, const char *pattern) {
  nf_sub *s;
  nf_error err;
  assert_int_equal(nf_sub_open(&s, f->pub_url, f->query_url, &err), 0);
  assert_int_equal(nf_sub_add(s, pattern, &err), 0);
  nf_sub_set_timeout(s, 2000);
  nf_sub_set_sweep(s, 0); /* the fake holds items never published on purpose */
  return s;
}

static void sub_start(fake *f, nf_sub *s) {
  nf_error err = {{0}};
  if (nf_sub_start(s, &err) < 0) fail_msg("nf_sub_start: %s", err.msg);
  wait_pub_pipe(f);
}

/* Takes the next item; checks its topic and seq. */
static void expect_item(nf_sub *s, const char *topic, uint64_t seq) {
  nf_item it;
  nf_sub_event ev;
  nf_error err = {{0}};
  nf_item_init(&it);
  int rc = nf_sub_next(s, &it, &ev, 3000, &err);
  if (rc == NF_SUB_EVENT)
    fail_msg("wanted %s #%llu, got event %d %s %llu..%llu", topic, (unsigned long long)seq, ev.type,
             ev.topic, (unsigned long long)ev.first, (unsigned long long)ev.last);
  if (rc != NF_SUB_ITEM)
    fail_msg("wanted %s #%llu, got %d (%s)", topic, (unsigned long long)seq, rc, err.msg);
  assert_string_equal(it.topic, topic);
  assert_int_equal(it.seq, seq);
  nf_item_clear(&it);
}

static void expect_items(nf_sub *s, const char *topic, uint64_t from, uint64_t to) {
  for (uint64_t seq = from; seq <= to; seq++) expect_item(s, topic, seq);
}

static void expect_event(nf_sub *s, nf_sub_event_type type, const char *topic, uint64_t a,
                         uint64_t b) {
  nf_item it;
  nf_sub_event ev;
  nf_error err = {{0}};
  nf_item_init(&it);
  int rc = nf_sub_next(s, &it, &ev, 3000, &err);
  if (rc == NF_SUB_ITEM)
    fail_msg("wanted event %d, got item %s #%llu", type, it.topic, (unsigned long long)it.seq);
  assert_int_equal(rc, NF_SUB_EVENT);
  assert_int_equal(ev.type, type);
  assert_string_equal(ev.topic, topic);
  if (type == NF_SUB_EPOCH_CHANGED) {
    assert_int_equal(ev.old_epoch, a);
    assert_int_equal(ev.epoch, b);
  } else {
    assert_int_equal(ev.first, a);
    assert_int_equal(ev.last, b);
  }
}

static void expect_quiet(nf_sub *s) {
  nf_item it;
  nf_sub_event ev;
  nf_error err;
  nf_item_init(&it);
  assert_int_equal(nf_sub_next(s, &it, &ev, 100, &err), NF_ETIMEDOUT);
}

static char *temp_path(void) {
  char *p = strdup("/tmp/test_sub_XXXXXX");
  int fd = mkstemp(p);
  assert_true(fd >= 0);
  close(fd);
  unlink(p);
  return p;
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static char *read_text(const char *path) {
  static char buf[4096];
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = 0;
  fclose(fp);
  return buf;
}

/* ---- nf_sub against the fake ------------------------------------------------- */

static void test_sub_last_then_gaps_filled(void **st) {
  (void)st;
  fake *f = fake_start();
  fake_hold(f, "t.a", 1, 10, 7);
  nf_sub *s = sub_open(f, "t.a");
  nf_sub_replay_last(s, 2);
  sub_start(f, s);
  expect_items(s, "t.a", 9, 10);
  fake_hold(f, "t.a", 11, 21, 7);
  publish(f, "t.a", 11, 12, 7, true); /* one batch message */
  publish(f, "t.a", 15, 15, 7, false);
  publish(f, "t.a", 20, 20, 7, false);
  publish(f, "t.a", 12, 12, 7, false); /* a duplicate */
  publish(f, "t.a", 21, 21, 7, false);
  expect_items(s, "t.a", 11, 12);
  expect_event(s, NF_SUB_GAP_FILLED, "t.a", 13, 14);
  expect_items(s, "t.a", 13, 15);
  expect_event(s, NF_SUB_GAP_FILLED, "t.a", 16, 19);
  expect_items(s, "t.a", 16, 21);
  expect_quiet(s);
  /* the state file names what was handed out */
  char *path = temp_path();
  nf_error err;
  assert_int_equal(nf_sub_save_state(s, path, &err), 0);
  assert_string_equal(read_text(path),
                      "{\"patterns\":[\"t.a\"],\"topics\":{\"t.a\":{\"seq\":21,\"epoch\":7}}}\n");
  unlink(path);
  free(path);
  nf_sub_close(s);
  fake_stop(f);
}

static void test_sub_state_resume_and_lost_gaps(void **st) {
  (void)st;
  fake *f = fake_start();
  char *path = temp_path();
  nf_error err;
  write_file(path, "{\"topics\":{\"t.a\":{\"seq\":12,\"epoch\":7}}}");
  fake_hold(f, "t.a", 15, 30, 7); /* 13, 14 are gone */
  nf_sub *s = sub_open(f, "t.a");
  assert_int_equal(nf_sub_load_state(s, path, &err), 0);
  sub_start(f, s);
  expect_event(s, NF_SUB_GAP_LOST, "t.a", 13, 14);
  expect_items(s, "t.a", 15, 30);
  /* live 33 arrives; history by now holds only 32.. */
  fake_trim(f, "t.a", 0);
  fake_hold(f, "t.a", 32, 33, 7);
  publish(f, "t.a", 33, 33, 7, false);
  expect_event(s, NF_SUB_GAP_LOST, "t.a", 31, 31);
  expect_event(s, NF_SUB_GAP_FILLED, "t.a", 32, 32);
  expect_items(s, "t.a", 32, 33);
  /* a gap history knows nothing of at all */
  fake_trim(f, "t.a", 0);
  publish(f, "t.a", 36, 36, 7, false);
  expect_event(s, NF_SUB_GAP_LOST, "t.a", 34, 35);
  expect_item(s, "t.a", 36);
  assert_int_equal(nf_sub_save_state(s, path, &err), 0);
  nf_sub_close(s);
  /* a second run resumes after 36 */
  fake_hold(f, "t.a", 30, 38, 7);
  s = sub_open(f, "t.a");
  assert_int_equal(nf_sub_load_state(s, path, &err), 0);
  sub_start(f, s);
  expect_items(s, "t.a", 37, 38);
  expect_quiet(s);
  nf_sub_close(s);
  unlink(path);
  free(path);
  fake_stop(f);
}

static void test_sub_epoch_changes(void **st) {
  (void)st;
  fake *f = fake_start();
  char *path = temp_path();
  nf_error err;
  write_file(path, "{\"topics\":{\"t.a\":{\"seq\":50,\"epoch\":6}}}");
  fake_hold(f, "t.a", 1, 3, 7);
  nf_sub *s = sub_open(f, "t.a");
  assert_int_equal(nf_sub_load_state(s, path, &err), 0);
  sub_start(f, s);
  expect_event(s, NF_SUB_EPOCH_CHANGED, "t.a", 6, 7);
  expect_items(s, "t.a", 1, 3);
  /* the daemon restarts again: seq 2 of epoch 8 shows it, 1 is filled */
  fake_trim(f, "t.a", 0);
  fake_hold(f, "t.a", 1, 2, 8);
  publish(f, "t.a", 2, 2, 8, false);
  expect_event(s, NF_SUB_EPOCH_CHANGED, "t.a", 7, 8);
  expect_event(s, NF_SUB_GAP_FILLED, "t.a", 1, 1);
  expect_items(s, "t.a", 1, 2);
  expect_quiet(s);
  nf_sub_close(s);
  unlink(path);
  free(path);
  fake_stop(f);
}

static void test_sub_subtree_since(void **st) {
  (void)st;
  fake *f = fake_start();
  fake_hold(f, "s.x", 1, 3, 7);
  fake_hold(f, "s.y", 1, 2, 7);
  fake_hold(f, "other", 1, 5, 7);
  nf_sub *s = sub_open(f, "s.>");
  nf_sub_replay_since(s, 1);
  sub_start(f, s);
  /* topics come in any order, each in seq order */
  uint64_t x = 1, y = 1;
  for (int i = 0; i < 3; i++) {
    nf_item it;
    nf_sub_event ev;
    nf_error err;
    nf_item_init(&it);
    assert_int_equal(nf_sub_next(s, &it, &ev, 3000, &err), NF_SUB_ITEM);
    if (!strcmp(it.topic, "s.x")) assert_int_equal(it.seq, ++x);
    else if (!strcmp(it.topic, "s.y")) assert_int_equal(it.seq, ++y);
    else fail_msg("unexpected topic %s", it.topic);
    nf_item_clear(&it);
  }
  assert_int_equal(x, 3);
  assert_int_equal(y, 2);
  /* a topic that appears later starts after SEQ too */
  fake_hold(f, "s.z", 1, 3, 7);
  publish(f, "s.z", 3, 3, 7, false);
  publish(f, "other", 6, 6, 7, false); /* not subscribed */
  expect_event(s, NF_SUB_GAP_FILLED, "s.z", 2, 2);
  expect_items(s, "s.z", 2, 3);
  expect_quiet(s);
  nf_sub_close(s);
  fake_stop(f);
}

static void test_sub_live_and_query_failure(void **st) {
  (void)st;
  fake *f = fake_start();
  fake_hold(f, "t.a", 1, 3, 7);
  nf_sub *s = sub_open(f, "t.a");
  nf_error err;
  sub_start(f, s); /* no replay: from now on, so 1..3 are old news */
  expect_quiet(s);
  fake_hold(f, "t.a", 4, 8, 7);
  publish(f, "t.a", 5, 5, 7, false);
  expect_event(s, NF_SUB_GAP_FILLED, "t.a", 4, 4);
  expect_items(s, "t.a", 4, 5);
  pthread_mutex_lock(&f->mu);
  f->fail = true;
  pthread_mutex_unlock(&f->mu);
  publish(f, "t.a", 8, 8, 7, false);
  nf_item it;
  nf_sub_event ev;
  nf_item_init(&it);
  assert_int_equal(nf_sub_next(s, &it, &ev, 3000, &err), -1);
  assert_non_null(strstr(err.msg, "history is down"));
  assert_int_equal(nf_sub_next(s, &it, &ev, 3000, &err), -1); /* retried */
  nf_sub_skip_gap(s);
  expect_event(s, NF_SUB_GAP_LOST, "t.a", 6, 7);
  expect_item(s, "t.a", 8);
  /* history back: the next gap is filled again */
  pthread_mutex_lock(&f->mu);
  f->fail = false;
  pthread_mutex_unlock(&f->mu);
  fake_hold(f, "t.a", 9, 10, 7);
  publish(f, "t.a", 10, 10, 7, false);
  expect_event(s, NF_SUB_GAP_FILLED, "t.a", 9, 9);
  expect_items(s, "t.a", 9, 10);
  nf_sub_close(s);
  fake_stop(f);
}

static void test_sub_without_query(void **st) {
  (void)st;
  fake *f = fake_start();
  nf_sub *s;
  nf_error err;
  assert_int_equal(nf_sub_open(&s, f->pub_url, NULL, &err), 0);
  assert_int_equal(nf_sub_add(s, "t.>", &err), 0);
  sub_start(f, s); /* without history: each topic starts at its first item */
  publish(f, "t.a", 5, 5, 7, false);
  publish(f, "t.a", 7, 7, 7, false);
  expect_item(s, "t.a", 5);
  expect_event(s, NF_SUB_GAP_LOST, "t.a", 6, 6);
  expect_item(s, "t.a", 7);
  nf_sub_close(s);
  fake_stop(f);
}

static void test_sub_sweep_fills_lost_tail(void **st) {
  (void)st;
  fake *f = fake_start();
  fake_hold(f, "t.a", 1, 2, 7);
  fake_hold(f, "t.b", 1, 2, 7);
  nf_sub *s = sub_open(f, "t.>");
  nf_sub_replay_last(s, 0); /* from now on */
  nf_sub_set_sweep(s, 30);
  sub_start(f, s);
  expect_quiet(s);
  /* t.a 3..4 are published, and lost; nothing later on t.a shows it */
  pthread_mutex_lock(&f->mu);
  f->n = 0;
  pthread_mutex_unlock(&f->mu);
  fake_hold(f, "t.a", 1, 4, 7);
  fake_hold(f, "t.b", 1, 3, 7);
  publish(f, "t.b", 3, 3, 7, false);
  expect_item(s, "t.b", 3);
  expect_event(s, NF_SUB_GAP_FILLED, "t.a", 3, 4);
  expect_items(s, "t.a", 3, 4);
  /* a topic that appears later, all of whose items were lost */
  fake_hold(f, "t.c", 1, 2, 7);
  expect_event(s, NF_SUB_GAP_FILLED, "t.c", 1, 2);
  expect_items(s, "t.c", 1, 2);
  /* no news: nothing more */
  expect_quiet(s);
  nf_sub_close(s);
  fake_stop(f);
}

static void test_sub_api_errors(void **st) {
  (void)st;
  nf_sub *s;
  nf_error err;
  assert_int_equal(nf_sub_open(&s, "inproc://nowhere", NULL, &err), 0);
  assert_int_equal(nf_sub_add(s, "bad topic!", &err), -1);
  assert_non_null(strstr(err.msg, "not a topic"));
  assert_int_equal(nf_sub_start(s, &err), -1); /* no topic */
  assert_int_equal(nf_sub_add(s, "a.>", &err), 0);
  nf_sub_replay_last(s, 5);
  assert_int_equal(nf_sub_start(s, &err), -1);
  assert_non_null(strstr(err.msg, "query endpoint"));
  char *path = temp_path();
  assert_int_equal(nf_sub_load_state(s, path, &err), 0); /* missing: fresh start */
  write_file(path, "{\"topics\":{\"a.b\":{\"seq\":\"x\"}}}");
  assert_int_equal(nf_sub_load_state(s, path, &err), -1);
  assert_non_null(strstr(err.msg, "a.b"));
  write_file(path, "{\"topics\":");
  assert_int_equal(nf_sub_load_state(s, path, &err), -1);
  assert_non_null(strstr(err.msg, path));
  unlink(path);
  free(path);
  nf_sub_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_track_first_item_and_duplicates),
      cmocka_unit_test(test_track_from_now),
      cmocka_unit_test(test_track_gap),
      cmocka_unit_test(test_track_unfillable_gap),
      cmocka_unit_test(test_track_epoch_change),
      cmocka_unit_test(test_track_replay_overlap),
      cmocka_unit_test(test_sub_last_then_gaps_filled),
      cmocka_unit_test(test_sub_state_resume_and_lost_gaps),
      cmocka_unit_test(test_sub_epoch_changes),
      cmocka_unit_test(test_sub_subtree_since),
      cmocka_unit_test(test_sub_live_and_query_failure),
      cmocka_unit_test(test_sub_without_query),
      cmocka_unit_test(test_sub_sweep_fills_lost_tail),
      cmocka_unit_test(test_sub_api_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
