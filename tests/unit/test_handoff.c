/*
 * test_handoff.c -- unit tests for the loop-to-thread hand-over
 * (src/util/handoff.c): records arrive once, in order, with their counts;
 * a give to an empty queue swaps buffers; the bound refuses whole gives;
 * idle means "waiting with nothing queued"; stop lets the worker drain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/handoff.h"

typedef struct worker {
  nf_handoff *h;
  uint32_t next;  /* the value expected next */
  size_t records; /* counted by take */
  bool bad_order;
} worker;

/* Each record is a uint32_t counter; the worker checks they come in order. */
static void *work(void *arg) {
  worker *w = arg;
  nf_buf b = {0};
  size_t n;
  while ((n = nf_handoff_take(w->h, &b))) {
    if (b.len != n * sizeof(uint32_t)) w->bad_order = true;
    for (size_t i = 0; i < n; i++) {
      uint32_t v;
      memcpy(&v, b.data + i * sizeof v, sizeof v);
      if (v != w->next++) w->bad_order = true;
    }
    w->records += n;
  }
  nf_buf_free(&b);
  return NULL;
}

static void test_every_record_once_in_order(void **state) {
  (void)state;
  nf_handoff h;
  nf_handoff_init(&h, 1 << 20);
  worker w = {.h = &h};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, work, &w), 0);
  nf_buf local = {0};
  uint32_t v = 0;
  for (int round = 0; round < 20000; round++) {
    size_t n = (size_t)(round % 7) + 1;
    for (size_t i = 0; i < n; i++, v++) nf_buf_append(&local, &v, sizeof v);
    assert_true(nf_handoff_give(&h, &local, n, false));
    assert_int_equal(local.len, 0);
  }
  nf_handoff_stop(&h);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_false(w.bad_order);
  assert_int_equal(w.records, v);
  assert_int_equal(w.next, v);
  nf_buf_free(&local);
  nf_handoff_free(&h);
}

static void test_bound_refuses_whole_gives(void **state) {
  (void)state;
  nf_handoff h;
  nf_handoff_init(&h, 100); /* no worker: nothing is taken */
  nf_buf local = {0};
  char bytes[60] = {0};
  nf_buf_append(&local, bytes, 60);
  assert_true(nf_handoff_give(&h, &local, 6, false));
  nf_buf_append(&local, bytes, 40);
  assert_true(nf_handoff_give(&h, &local, 4, false)); /* exactly at the bound */
  nf_buf_append(&local, "x", 1);
  assert_false(nf_handoff_give(&h, &local, 1, false)); /* one byte past it */
  assert_int_equal(local.len, 0);                      /* dropped, not kept */
  nf_handoff_stop(&h);
  nf_buf out = {0};
  assert_int_equal(nf_handoff_take(&h, &out), 10); /* stopped, still drained */
  assert_int_equal(out.len, 100);
  assert_int_equal(nf_handoff_take(&h, &out), 0);
  assert_int_equal(out.len, 0);
  nf_buf_free(&out);
  nf_buf_free(&local);
  nf_handoff_free(&h);
}

static void test_give_to_empty_queue_swaps(void **state) {
  (void)state;
  nf_handoff h;
  nf_handoff_init(&h, 1 << 20);
  nf_buf local = {0};
  nf_buf_append(&local, "abcd", 4);
  char *mine = local.data;
  assert_true(nf_handoff_give(&h, &local, 1, false));
  assert_ptr_equal(h.queue.data, mine); /* not copied */
  nf_buf out = {0};
  assert_int_equal(nf_handoff_take(&h, &out), 1);
  assert_ptr_equal(out.data, mine);
  assert_memory_equal(out.data, "abcd", 4);
  nf_buf_free(&out);
  nf_buf_free(&local);
  nf_handoff_free(&h);
}

static void *take_once(void *arg) {
  nf_buf b = {0};
  size_t n = nf_handoff_take(arg, &b);
  nf_buf_free(&b);
  return (void *)(uintptr_t)n;
}

static void test_idle_means_waiting_and_empty(void **state) {
  (void)state;
  nf_handoff h;
  nf_handoff_init(&h, 1 << 20);
  assert_false(nf_handoff_idle(&h)); /* no worker waiting yet */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, take_once, &h), 0);
  for (int i = 0; i < 5000 && !nf_handoff_idle(&h); i++) usleep(1000); /* poll, 5 s deadline */
  assert_true(nf_handoff_idle(&h));
  nf_buf local = {0};
  nf_buf_append(&local, "r", 1);
  assert_true(nf_handoff_give(&h, &local, 1, false));
  void *n;
  assert_int_equal(pthread_join(t, &n), 0);
  assert_int_equal((uintptr_t)n, 1);
  assert_false(nf_handoff_idle(&h)); /* nobody waits now */
  nf_buf_free(&local);
  nf_handoff_free(&h);
}

typedef struct blocked_giver {
  nf_handoff *h;
  bool ok;
} blocked_giver;

static void *give_40(void *arg) {
  blocked_giver *g = arg;
  nf_buf local = {0};
  char bytes[40];
  memset(bytes, 'b', sizeof bytes);
  nf_buf_append(&local, bytes, sizeof bytes);
  g->ok = nf_handoff_give(g->h, &local, 1, true); /* past the bound: waits */
  nf_buf_free(&local);
  return NULL;
}

/* Back-pressure: a blocking give past the bound is not refused, and does
 * not join the queue before it has been taken. */
static void test_blocking_give_waits_for_take(void **state) {
  (void)state;
  nf_handoff h;
  nf_handoff_init(&h, 100);
  nf_buf local = {0}, out = {0};
  char bytes[80];
  memset(bytes, 'a', sizeof bytes);
  nf_buf_append(&local, bytes, sizeof bytes);
  assert_true(nf_handoff_give(&h, &local, 1, true));
  blocked_giver g = {.h = &h};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, give_40, &g), 0);
  assert_int_equal(nf_handoff_take(&h, &out), 1);
  assert_int_equal(out.len, 80); /* never 120: the second give waited */
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_true(g.ok);
  assert_int_equal(nf_handoff_take(&h, &out), 1);
  assert_int_equal(out.len, 40);
  assert_int_equal(out.data[0], 'b');
  nf_buf_free(&out);
  nf_buf_free(&local);
  nf_handoff_free(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_record_once_in_order),
      cmocka_unit_test(test_bound_refuses_whole_gives),
      cmocka_unit_test(test_give_to_empty_queue_swaps),
      cmocka_unit_test(test_idle_means_waiting_and_empty),
      cmocka_unit_test(test_blocking_give_waits_for_take),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
