/*
 * test_dedup.c -- unit tests for the deduplication window
 * (src/history/dedup.c): what a repeat is answered, the count limit and
 * the time window, and the hash table under heavy churn (growth, and
 * deletions that shift probe runs back, wrapping round the table), checked
 * against a plain array of what must still be remembered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "daemon/nfd.h"

static nfd *new_daemon(long long max_ids, long long window_s) {
  static nfd d; /* zeroed per test: no global state survives a test */
  memset(&d, 0, sizeof d);
  d.cfg.dedup_max_ids = max_ids;
  d.cfg.dedup_window_seconds = window_s;
  assert_int_equal(nfd_dedup_init(&d), 0);
  return &d;
}

static void free_daemon(nfd *d) {
  nfd_dedup_free(d);
  nfd_topics_free(d);
}

static void test_repeat_gets_the_original_answer(void **state) {
  (void)state;
  nfd *d = new_daemon(1000, 86400);
  nfd_topic *tps[3] = {nfd_topic_get(d, "headline"), nfd_topic_get(d, "finance.flash"),
                       nfd_topic_get(d, "sym.600519.SH")};
  uint64_t seqs[3] = {41, 7, UINT64_C(1) << 40};
  int64_t now = nf_now_ms();
  nfd_dedup_add(d, "a-1", now, tps, seqs, 3);
  nf_answer a = {0};
  assert_false(nfd_dedup_lookup(d, "a-2", &a));
  assert_false(nfd_dedup_lookup(d, "a-", &a)); /* a prefix is another id */
  assert_true(nfd_dedup_lookup(d, "a-1", &a));
  assert_int_equal(a.n_topics, 3);
  assert_string_equal(a.topics[0].name, "headline");
  assert_int_equal(a.topics[0].seq, 41);
  assert_string_equal(a.topics[2].name, "sym.600519.SH");
  assert_int_equal(a.topics[2].seq, UINT64_C(1) << 40);
  nf_answer_clear(&a);
  free_daemon(d);
}

static void test_window_expires(void **state) {
  (void)state;
  nfd *d = new_daemon(1000, 60);
  nfd_topic *t = nfd_topic_get(d, "headline");
  uint64_t seq = 1;
  int64_t now = nf_now_ms();
  nfd_dedup_add(d, "old", now - 61 * 1000, &t, &seq, 1); /* already out of the window */
  nfd_dedup_add(d, "new", now, &t, &seq, 1);
  nf_answer a = {0};
  assert_false(nfd_dedup_lookup(d, "old", &a));
  assert_true(nfd_dedup_lookup(d, "new", &a));
  nf_answer_clear(&a);
  free_daemon(d);
}

static void test_no_topics_and_long_ids(void **state) {
  (void)state;
  nfd *d = new_daemon(10, 86400);
  char id[NF_ID_MAX + 2];
  memset(id, 'x', sizeof id - 1);
  id[NF_ID_MAX] = 0; /* the longest id */
  nfd_dedup_add(d, id, nf_now_ms(), NULL, NULL, 0);
  nf_answer a = {0};
  assert_true(nfd_dedup_lookup(d, id, &a));
  assert_int_equal(a.n_topics, 0);
  nf_answer_clear(&a);
  free_daemon(d);
}

/* 30,000 ids through a window of 777: after every add, the last 777 are
 * found with their own seq and the one just pushed out is not. */
static void test_churn_against_reference(void **state) {
  (void)state;
  enum { MAX = 777, N = 30000 };
  nfd *d = new_daemon(MAX, 86400);
  nfd_topic *tps[2] = {nfd_topic_get(d, "headline"), NULL};
  char id[32];
  int64_t now = nf_now_ms();
  uint64_t x = 88172645463325252ull;
  for (uint64_t i = 0; i < N; i++) {
    char topic[32];
    snprintf(topic, sizeof topic, "sym.%llu.US", (unsigned long long)(i % 50));
    tps[1] = nfd_topic_get(d, topic);
    uint64_t seqs[2] = {i + 1, i * 3};
    snprintf(id, sizeof id, "id-%llu", (unsigned long long)(i * 2654435761u));
    nfd_dedup_add(d, id, now, tps, seqs, 2);
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint64_t k = i - (i < MAX ? x % (i + 1) : x % MAX); /* one of the remembered */
    snprintf(id, sizeof id, "id-%llu", (unsigned long long)(k * 2654435761u));
    nf_answer a = {0};
    if (!nfd_dedup_lookup(d, id, &a))
      fail_msg("id %llu lost at %llu", (unsigned long long)k, (unsigned long long)i);
    assert_int_equal(a.n_topics, 2);
    assert_int_equal(a.topics[0].seq, k + 1);
    assert_int_equal(a.topics[1].seq, k * 3);
    nf_answer_clear(&a);
    if (i >= MAX) { /* the one pushed out by this add */
      snprintf(id, sizeof id, "id-%llu", (unsigned long long)((i - MAX) * 2654435761u));
      if (nfd_dedup_lookup(d, id, &a))
        fail_msg("id %llu kept at %llu", (unsigned long long)(i - MAX), (unsigned long long)i);
    }
  }
  free_daemon(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_repeat_gets_the_original_answer),
      cmocka_unit_test(test_window_expires),
      cmocka_unit_test(test_no_topics_and_long_ids),
      cmocka_unit_test(test_churn_against_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
