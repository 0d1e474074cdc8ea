/*
 * test_wire_format.c -- unit tests for libnewsfeed's wire helpers other
 * than the item codecs (test_codec.c): generated ids (nf_id_generate:
 * shape, order, the clock going back, the encoding against a bit-by-bit
 * reference), topic names and subscription prefixes (nf_topic_valid,
 * nf_sub_prefix), and the decoder of published messages, single maps and
 * batches (nf_message_decode).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <msgpack.h>

#include <newsfeed/newsfeed.h>
#include "codec_testutil.h"
#include "core/internal.h"

/* ---- ids ------------------------------------------------------------------ */

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void assert_id_shape(const char *id) {
  assert_int_equal(strlen(id), 26);
  for (int i = 0; i < 26; i++)
    if (!strchr(crockford, id[i]) || !id[i]) fail_msg("bad id char in %s", id);
}

/* The first 10 digits hold the 48-bit millisecond time. */
static uint64_t id_time(const char *id) {
  uint64_t v = 0;
  for (int i = 0; i < 10; i++) v = v * 32 + (uint64_t)(strchr(crockford, id[i]) - crockford);
  return v;
}

static void test_id_same_ms_strictly_increasing(void **state) {
  (void)state;
  nf_idgen g;
  memset(&g, 0, sizeof g);
  const int64_t ms = 1751600000123LL;
  char prev[27], cur[27];
  nf_id_generate(&g, ms, prev);
  assert_id_shape(prev);
  for (int i = 1; i < 10000; i++) {
    nf_id_generate(&g, ms, cur);
    assert_id_shape(cur);
    if (strcmp(prev, cur) >= 0) fail_msg("id %d: %s !> %s", i, cur, prev);
    memcpy(prev, cur, sizeof cur);
  }
  assert_int_equal(id_time(cur), (uint64_t)ms);
}

static void test_id_sorts_by_time(void **state) {
  (void)state;
  nf_idgen g;
  memset(&g, 0, sizeof g);
  char prev[27], cur[27];
  int64_t ms = 1751600000000LL;
  nf_id_generate(&g, ms, prev);
  for (int i = 0; i < 2000; i++) {
    ms += 1 + i % 7;
    nf_id_generate(&g, ms, cur);
    assert_int_equal(id_time(cur), (uint64_t)ms);
    if (strcmp(prev, cur) >= 0) fail_msg("%s !> %s", cur, prev);
    memcpy(prev, cur, sizeof cur);
  }
  /* ids of two generators sort by time, whatever their random parts */
  nf_idgen g2;
  memset(&g2, 0, sizeof g2);
  char later[27];
  nf_id_generate(&g2, ms + 1, later);
  assert_true(strcmp(later, cur) > 0);
}

static void test_id_clock_going_back_still_increases(void **state) {
  (void)state;
  nf_idgen g;
  memset(&g, 0, sizeof g);
  char prev[27], cur[27];
  nf_id_generate(&g, 1751600005000LL, prev);
  const int64_t back[] = {1751600004999LL, 1751600000000LL, 1751600005000LL, 1000LL,
                          1751600004000LL};
  for (size_t i = 0; i < sizeof back / sizeof back[0]; i++) {
    nf_id_generate(&g, back[i], cur);
    assert_id_shape(cur);
    if (strcmp(prev, cur) >= 0) fail_msg("%s !> %s", cur, prev);
    assert_int_equal(id_time(cur), 1751600005000ULL);
    memcpy(prev, cur, sizeof cur);
  }
  nf_id_generate(&g, 1751600005001LL, cur);
  assert_true(strcmp(cur, prev) > 0);
  assert_int_equal(id_time(cur), 1751600005001ULL);
}

/* The encoding, bit by bit: the 128 bits of (48-bit ms, 80-bit random)
 * behind two zero bits, five bits per digit. */
static void id_reference(uint64_t ms, const uint8_t rnd[10], char out[27]) {
  uint8_t v[16];
  for (int i = 0; i < 6; i++) v[i] = (uint8_t)(ms >> (40 - 8 * i));
  memcpy(v + 6, rnd, 10);
  for (int i = 0; i < 26; i++) {
    unsigned d = 0;
    for (int k = 0; k < 5; k++) {
      int b = i * 5 - 2 + k;
      d = d << 1 | (b >= 0 ? (v[b / 8] >> (7 - b % 8)) & 1u : 0u);
    }
    out[i] = crockford[d];
  }
  out[26] = 0;
}

static void test_id_encoding_matches_reference(void **state) {
  (void)state;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int n = 0; n < 20000; n++) {
    nf_idgen g;
    memset(&g, 0, sizeof g);
    g.started = true;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    g.last_ms = x >> 16; /* any 48-bit time */
    for (int i = 0; i < 10; i++) g.rnd[i] = (uint8_t)(x >> (i * 6));
    if (n % 3 == 0) memset(g.rnd, 0xFF, 9); /* long carries, extreme digits */
    g.rnd[9] = (uint8_t)(n & 0xFF) == 0xFF ? 0xFE : g.rnd[9];
    char got[27], want[27];
    nf_id_generate(&g, (int64_t)g.last_ms, got); /* same ms: rnd + 1 */
    id_reference(g.last_ms, g.rnd, want);
    assert_string_equal(got, want);
  }
}

static void test_id_random_part_overflow_borrows_next_ms(void **state) {
  (void)state;
  nf_idgen g;
  memset(&g, 0, sizeof g);
  char prev[27], cur[27];
  nf_id_generate(&g, 5000, prev);
  memset(g.rnd, 0xff, sizeof g.rnd); /* force the 80-bit carry */
  nf_id_generate(&g, 5000, prev);
  nf_id_generate(&g, 5000, cur);
  assert_true(strcmp(cur, prev) > 0);
  assert_int_equal(id_time(cur), 5001);
}

static void test_id_generators_differ(void **state) {
  (void)state;
  nf_idgen a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  char x[27], y[27];
  nf_id_generate(&a, 1751600000000LL, x);
  nf_id_generate(&b, 1751600000000LL, y);
  assert_string_not_equal(x, y);
}

static void test_id_at_time_zero_increasing(void **state) {
  (void)state;
  /* Regression test for a fixed bug: src/core/item.c:119 (nf_id_generate) treats last_ms == 0 as
   * "no id yet", so a clock reading 0 (or negative, which is clamped to 0) re-randomises on every
   * call and ids stop increasing.  Low impact. */
  nf_idgen g;
  memset(&g, 0, sizeof g);
  char prev[27], cur[27];
  nf_id_generate(&g, 0, prev);
  for (int i = 0; i < 100; i++) {
    nf_id_generate(&g, i % 2 ? -5 : 0, cur);
    assert_true(strcmp(cur, prev) > 0);
    memcpy(prev, cur, sizeof cur);
  }
}

/* ---- topics and subscription prefixes ------------------------------------- */

static void test_topic_valid_examples(void **state) {
  (void)state;
  const char *good[] = {"finance.flash", "sym.09968.HK", "tech",    "a",
                        "a-b_c.D9",      "sym.BRK.B.US", "headline"};
  const char *bad[] = {"",     "a..b",      ".a",  "a.", ".",    "a b",
                       "中文", "finance.>", "a/b", "a*", "tab\t"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (!nf_topic_valid(good[i], strlen(good[i]))) fail_msg("'%s' refused", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (nf_topic_valid(bad[i], strlen(bad[i]))) fail_msg("'%s' accepted", bad[i]);
  char *t = repeat('t', 129);
  assert_false(nf_topic_valid(t, 129));
  assert_true(nf_topic_valid(t, 128));
  t[64] = '.';
  assert_true(nf_topic_valid(t, 128));
  free(t);
  assert_false(nf_topic_valid("a\0b", 3));
}

static void check_prefix(const char *pattern, const char *want, int want_len) {
  char out[NF_TOPIC_MAX + 2];
  memset(out, 'X', sizeof out);
  int n = nf_sub_prefix(pattern, out, sizeof out);
  if (n != want_len) fail_msg("'%s': length %d, expected %d", pattern, n, want_len);
  if (want_len > 0) assert_memory_equal(out, want, (size_t)want_len);
}

static void test_sub_prefix(void **state) {
  (void)state;
  check_prefix("finance.flash", "finance.flash\0", 14);
  check_prefix("finance.>", "finance.", 8);
  check_prefix("finance.flash.>", "finance.flash.", 14);
  check_prefix(">", "", 0);
  check_prefix("sym.09968.HK", "sym.09968.HK\0", 13);
  const char *bad[] = {"",    "a..b",      ".>",   "finance.>.x", ">x", "fin>",
                       "a b", "finance.*", "中文", "finance.",    ">>", "a.>>"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) check_prefix(bad[i], NULL, -1);
}

static void test_sub_prefix_respects_out_size(void **state) {
  (void)state;
  char out[14];
  assert_int_equal(nf_sub_prefix("finance.flash", out, 14), 14);
  assert_int_equal(nf_sub_prefix("finance.flash", out, 13), -1);
  assert_int_equal(nf_sub_prefix(">", out, 0), -1);
}

/* ---- published messages --------------------------------------------------- */

typedef struct seen {
  int calls;
  int stop_after;
  uint64_t seqs[8];
  char titles[8][64];
} seen;

static int on_item(void *ctx, nf_item *it) {
  seen *s = ctx;
  if (s->calls < 8) {
    s->seqs[s->calls] = it->seq;
    snprintf(s->titles[s->calls], sizeof s->titles[0], "%s", it->title);
  }
  s->calls++;
  return s->stop_after && s->calls >= s->stop_after;
}

/* Appends one message map for an item with TITLE on TOPIC with SEQ. */
static void add_message_map(nf_buf *out, const char *topic, const char *title, uint64_t seq) {
  nf_item it;
  nf_item_init(&it);
  it.title = nf_item_strdup(&it, title, strlen(title));
  it.id = nf_item_strdup(&it, "id-1", 4);
  it.kind = NF_KIND_FLASH;
  it.topic = nf_item_strdup(&it, topic, strlen(topic));
  it.seq = seq;
  it.epoch = 3;
  it.received = 1751600000000LL;
  it.topics = nf_item_alloc(&it, sizeof *it.topics);
  it.topics[0] = it.topic;
  it.n_topics = 1;
  assert_int_equal(nf_item_to_msgpack(&it, NF_ENC_MESSAGE | NF_ENC_DAEMON, out), 0);
  nf_item_clear(&it);
}

static int decode_msg(const nf_buf *m, seen *s, nf_error *e) {
  nf_limits lim = nf_limits_default();
  void *copy = heap_copy(m->data, m->len);
  int rc = nf_message_decode(copy, m->len, &lim, on_item, s, e);
  free(copy);
  return rc;
}

static void test_message_decode_single_map(void **state) {
  (void)state;
  nf_buf m = {0};
  nf_buf_append(&m, "finance.flash", 14);
  add_message_map(&m, "finance.flash", "格隆汇快讯", 17);
  seen s = {0};
  nf_error e = {{0}};
  assert_int_equal(decode_msg(&m, &s, &e), 0);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.seqs[0], 17);
  assert_string_equal(s.titles[0], "格隆汇快讯");
  nf_buf_free(&m);
}

static void build_batch(nf_buf *m, const char *prefix, const char *topic) {
  nf_buf_append(m, prefix, strlen(prefix) + 1);
  nf__mp_array(m, 3);
  add_message_map(m, topic, "one", 1);
  add_message_map(m, topic, "two", 2);
  add_message_map(m, topic, "three", 3);
}

static void test_message_decode_batch_in_order(void **state) {
  (void)state;
  nf_buf m = {0};
  build_batch(&m, "tech.ai", "tech.ai");
  seen s = {0};
  nf_error e = {{0}};
  assert_int_equal(decode_msg(&m, &s, &e), 0);
  assert_int_equal(s.calls, 3);
  for (int i = 0; i < 3; i++) assert_int_equal(s.seqs[i], (uint64_t)i + 1);
  assert_string_equal(s.titles[0], "one");
  assert_string_equal(s.titles[2], "three");
  nf_buf_free(&m);
}

static void test_message_decode_callback_stops(void **state) {
  (void)state;
  nf_buf m = {0};
  build_batch(&m, "tech.ai", "tech.ai");
  seen s = {.stop_after = 1};
  nf_error e = {{0}};
  assert_int_equal(decode_msg(&m, &s, &e), 0);
  assert_int_equal(s.calls, 1);
  nf_buf_free(&m);
}

static void test_message_decode_topic_mismatch(void **state) {
  (void)state;
  nf_buf m = {0};
  nf_buf_append(&m, "finance.market", 15);
  add_message_map(&m, "finance.flash", "x", 1);
  seen s = {0};
  nf_error e = {{0}};
  expect_error(decode_msg(&m, &s, &e), &e, "topic", "topic mismatch");
  assert_int_equal(s.calls, 0);
  nf_buf_free(&m);
  /* a prefix of the map's topic is no match either */
  build_batch(&m, "tech", "tech.ai");
  expect_error(decode_msg(&m, &s, &e), &e, "topic", "prefix of topic");
  nf_buf_free(&m);
}

static void test_message_decode_missing_separator(void **state) {
  (void)state;
  nf_buf m = {0};
  nf_buf_append(&m, "finance.flash", 13); /* no 0x00 */
  add_message_map(&m, "finance.flash", "x", 5);
  seen s = {0};
  nf_error e = {{0}};
  assert_int_equal(decode_msg(&m, &s, &e), -1);
  assert_true(e.msg[0]);
  assert_int_equal(s.calls, 0);
  nf_buf_free(&m);
  nf_buf_append(&m, "finance.flash", 13);
  assert_int_equal(decode_msg(&m, &s, &e), -1);
  nf_buf_free(&m);
  char *long_topic = repeat('t', 200);
  nf_buf_append(&m, long_topic, 201);
  assert_int_equal(decode_msg(&m, &s, &e), -1);
  assert_int_equal(s.calls, 0);
  free(long_topic);
  nf_buf_free(&m);
}

static void test_message_decode_rejects_bad_bodies(void **state) {
  (void)state;
  seen s = {0};
  nf_error e = {{0}};
  nf_buf m = {0};
  nf_buf_append(&m, "tech", 5);
  nf_buf_append(&m, "\xc1", 1);
  assert_int_equal(decode_msg(&m, &s, &e), -1);
  nf_buf_free(&m);
  nf_buf_append(&m, "tech", 5); /* empty body */
  assert_int_equal(decode_msg(&m, &s, &e), -1);
  nf_buf_free(&m);
  static const uint8_t lying[] = {'t', 'e', 'c', 'h', 0, 0xdd, 0xff, 0xff, 0xff, 0xff};
  nf_buf_append(&m, lying, sizeof lying);
  assert_int_equal(decode_msg(&m, &s, &e), -1);
  assert_int_equal(s.calls, 0);
  nf_buf_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_id_same_ms_strictly_increasing),
      cmocka_unit_test(test_id_sorts_by_time),
      cmocka_unit_test(test_id_encoding_matches_reference),
      cmocka_unit_test(test_id_clock_going_back_still_increases),
      cmocka_unit_test(test_id_random_part_overflow_borrows_next_ms),
      cmocka_unit_test(test_id_generators_differ),
      cmocka_unit_test(test_id_at_time_zero_increasing),
      cmocka_unit_test(test_topic_valid_examples),
      cmocka_unit_test(test_sub_prefix),
      cmocka_unit_test(test_sub_prefix_respects_out_size),
      cmocka_unit_test(test_message_decode_single_map),
      cmocka_unit_test(test_message_decode_batch_in_order),
      cmocka_unit_test(test_message_decode_callback_stops),
      cmocka_unit_test(test_message_decode_topic_mismatch),
      cmocka_unit_test(test_message_decode_missing_separator),
      cmocka_unit_test(test_message_decode_rejects_bad_bodies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
