/*
 * test_answer.c -- unit tests for src/core/answer.c: the per-item answers
 * of SPEC section 7 in both framings (a JSON line, a msgpack frame).
 *
 * Every answer is encoded, its framing checked (one "\n" / a 4-byte
 * big-endian length equal to the body), then the unframed body is copied
 * into an exactly-sized heap buffer and decoded again, so valgrind sees
 * any read past its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <newsfeed/newsfeed.h>

/* ---- helpers ------------------------------------------------------------ */

static void *heap_copy(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  assert_non_null(q);
  if (n) memcpy(q, p, n);
  return q;
}

/* Encodes A as a JSON line, checks the framing, decodes into OUT. */
static void json_roundtrip(const nf_answer *a, nf_answer *out) {
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(a, &b), 0);
  assert_true(b.len >= 2);
  assert_int_equal(b.data[b.len - 1], '\n');
  assert_null(memchr(b.data, '\n', b.len - 1)); /* exactly one newline */
  char *body = heap_copy(b.data, b.len - 1);
  nf_error e = {{0}};
  if (nf_answer_from_json(out, body, b.len - 1, &e) != 0)
    fail_msg("decode of %.*s failed: %s", (int)b.len, b.data, e.msg);
  free(body);
  nf_buf_free(&b);
}

static uint32_t be32(const char *p) {
  const uint8_t *u = (const uint8_t *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Encodes A as a msgpack frame, checks the length, decodes into OUT. */
static void mp_roundtrip(const nf_answer *a, nf_answer *out) {
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_msgpack(a, &b), 0);
  assert_true(b.len > 4);
  assert_int_equal(be32(b.data), b.len - 4);
  char *body = heap_copy(b.data + 4, b.len - 4);
  nf_error e = {{0}};
  if (nf_answer_from_msgpack(out, body, b.len - 4, &e) != 0)
    fail_msg("msgpack decode failed: %s", e.msg);
  free(body);
  nf_buf_free(&b);
}

static void assert_answers_equal(const nf_answer *x, const nf_answer *y) {
  assert_int_equal(x->ok, y->ok);
  assert_int_equal(x->duplicate, y->duplicate);
  assert_int_equal(x->item, y->item);
  assert_string_equal(x->id, y->id);
  assert_string_equal(x->field, y->field);
  assert_string_equal(x->error, y->error);
  assert_string_equal(x->auth, y->auth);
  assert_int_equal(x->n_topics, y->n_topics);
  for (size_t i = 0; i < x->n_topics; i++) {
    assert_string_equal(x->topics[i].name, y->topics[i].name);
    assert_int_equal(x->topics[i].seq, y->topics[i].seq);
  }
}

/* Round trips A through both framings and compares. */
static void check_both(const nf_answer *a) {
  nf_answer j, m;
  memset(&j, 0, sizeof j);
  memset(&m, 0, sizeof m);
  json_roundtrip(a, &j);
  assert_answers_equal(a, &j);
  mp_roundtrip(a, &m);
  assert_answers_equal(a, &m);
  nf_answer_clear(&j);
  nf_answer_clear(&m);
}

static void make_ok(nf_answer *a, bool duplicate) {
  memset(a, 0, sizeof *a);
  a->ok = true;
  a->duplicate = duplicate;
  a->item = 3;
  snprintf(a->id, sizeof a->id, "%s", "01J1Z3K5M7N9P1Q3R5S7T9V1W3");
  assert_int_equal(nf_answer_add_topic(a, "headline", 12), 0);
  assert_int_equal(nf_answer_add_topic(a, "finance.flash", 7), 0);
  assert_int_equal(nf_answer_add_topic(a, "sym.09968.HK", 1), 0);
  assert_int_equal(nf_answer_add_topic(a, "tech.ai", UINT64_C(1) << 53), 0);
}

static json_t *parse_line(const nf_buf *b) {
  json_error_t je;
  json_t *j = json_loadb(b->data, b->len, 0, &je);
  if (!j) fail_msg("not JSON: %.*s", (int)b->len, b->data);
  return j;
}

/* ---- round trips -------------------------------------------------------- */

static void test_ok_answer_roundtrip(void **state) {
  (void)state;
  nf_answer a;
  make_ok(&a, false);
  check_both(&a);
  nf_answer_clear(&a);
}

static void test_ok_duplicate_answer_roundtrip(void **state) {
  (void)state;
  nf_answer a;
  make_ok(&a, true);
  check_both(&a);
  nf_answer_clear(&a);
}

static void test_ok_answer_json_shape(void **state) {
  (void)state;
  nf_answer a;
  make_ok(&a, true);
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(&a, &b), 0);
  json_t *j = parse_line(&b);
  assert_true(json_is_true(json_object_get(j, "ok")));
  assert_int_equal(json_integer_value(json_object_get(j, "item")), 3);
  assert_string_equal(json_string_value(json_object_get(j, "id")), a.id);
  json_t *topics = json_object_get(j, "topics");
  assert_int_equal(json_array_size(topics), 4);
  assert_string_equal(json_string_value(json_array_get(topics, 1)), "finance.flash");
  json_t *seq = json_object_get(j, "seq");
  assert_int_equal(json_integer_value(json_object_get(seq, "headline")), 12);
  assert_int_equal(json_integer_value(json_object_get(seq, "sym.09968.HK")), 1);
  assert_true(json_is_true(json_object_get(j, "duplicate")));
  assert_null(json_object_get(j, "error"));
  json_decref(j);
  nf_buf_free(&b);
  nf_answer_clear(&a);
}

static void test_ok_answer_without_duplicate_has_no_key(void **state) {
  (void)state;
  nf_answer a;
  make_ok(&a, false);
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(&a, &b), 0);
  json_t *j = parse_line(&b);
  assert_null(json_object_get(j, "duplicate"));
  json_decref(j);
  nf_buf_free(&b);
  nf_answer_clear(&a);
}

static void test_ok_answer_no_topics(void **state) {
  (void)state;
  nf_answer a;
  memset(&a, 0, sizeof a);
  a.ok = true;
  a.item = 1;
  snprintf(a.id, sizeof a.id, "%s", "x");
  check_both(&a);
}

static void test_error_answer_with_field_roundtrip(void **state) {
  (void)state;
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_answer_set_error(&a, 2, "title", "missing required field");
  assert_false(a.ok);
  assert_int_equal(a.item, 2);
  check_both(&a);
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(&a, &b), 0);
  json_t *j = parse_line(&b);
  assert_true(json_is_false(json_object_get(j, "ok")));
  assert_string_equal(json_string_value(json_object_get(j, "field")), "title");
  assert_string_equal(json_string_value(json_object_get(j, "error")), "missing required field");
  assert_null(json_object_get(j, "topics"));
  json_decref(j);
  nf_buf_free(&b);
}

static void test_error_answer_without_field_roundtrip(void **state) {
  (void)state;
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_answer_set_error(&a, 9, NULL, "invalid JSON at column 3: unexpected token");
  assert_string_equal(a.field, "");
  check_both(&a);
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(&a, &b), 0);
  json_t *j = parse_line(&b);
  assert_null(json_object_get(j, "field"));
  json_decref(j);
  nf_buf_free(&b);
}

static void test_error_answer_unicode_and_newline_message(void **state) {
  (void)state;
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_answer_set_error(&a, 4, "kind", "必须是 article 或 flash\nsecond line \"quoted\"");
  check_both(&a); /* json_roundtrip checks the newline was escaped */
}

static void test_error_answer_truncated_long_message_stays_utf8(void **state) {
  (void)state;
  /* Regression test for a fixed bug: src/core/answer.c:37 (nf_answer_set_error) truncates the
   * message to 255 bytes in the middle of a UTF-8 character; json_string() then refuses it and
   * nf_answer_to_json (answer.c:61) silently drops the "error" key, so the producer gets
   * {"ok":false,...} with no reason. (The msgpack encoder sends the invalid UTF-8 as it is.) */
  /* 1 + 3k bytes: the 255-byte cut lands inside a character */
  char msg[400];
  msg[0] = 'x';
  size_t n = 1;
  while (n + 3 < sizeof msg) memcpy(msg + n, "错", 3), n += 3;
  msg[n] = 0;
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_answer_set_error(&a, 1, "title", msg);
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(&a, &b), 0);
  json_t *j = parse_line(&b);
  const char *got = json_string_value(json_object_get(j, "error"));
  assert_non_null(got);
  assert_true(strlen(got) > 200);
  json_decref(j);
  nf_buf_free(&b);
}

static void test_auth_ok_roundtrip(void **state) {
  (void)state;
  nf_answer a;
  memset(&a, 0, sizeof a);
  a.ok = true;
  snprintf(a.auth, sizeof a.auth, "%s", "scraper-gelonghui");
  check_both(&a);
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(&a, &b), 0);
  json_t *j = parse_line(&b);
  assert_string_equal(json_string_value(json_object_get(j, "auth")), "scraper-gelonghui");
  assert_null(json_object_get(j, "item"));
  assert_null(json_object_get(j, "topics"));
  json_decref(j);
  nf_buf_free(&b);
}

static void test_auth_error_roundtrip(void **state) {
  (void)state;
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_answer_set_error(&a, 0, "auth", "invalid token");
  check_both(&a);
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_json(&a, &b), 0);
  json_t *j = parse_line(&b);
  assert_true(json_is_false(json_object_get(j, "ok")));
  assert_null(json_object_get(j, "item"));
  json_decref(j);
  nf_buf_free(&b);
}

static void test_longest_names_roundtrip(void **state) {
  (void)state;
  nf_answer a;
  memset(&a, 0, sizeof a);
  a.ok = true;
  a.item = UINT64_C(1) << 40;
  memset(a.id, 'I', NF_ID_MAX);
  char topic[NF_TOPIC_MAX + 1];
  memset(topic, 't', NF_TOPIC_MAX);
  topic[NF_TOPIC_MAX] = 0;
  assert_int_equal(nf_answer_add_topic(&a, topic, 99), 0);
  check_both(&a);
  nf_answer_clear(&a);
}

/* ---- framing of several answers in one buffer ---------------------------- */

static void test_encoders_append(void **state) {
  (void)state;
  nf_answer ok, err;
  make_ok(&ok, false);
  memset(&err, 0, sizeof err);
  nf_answer_set_error(&err, 4, "priority", "must be 1..9");
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_msgpack(&ok, &b), 0);
  size_t first = b.len;
  assert_int_equal(nf_answer_to_msgpack(&err, &b), 0);
  assert_int_equal(be32(b.data), first - 4);
  assert_int_equal(be32(b.data + first), b.len - first - 4);
  nf_answer d;
  memset(&d, 0, sizeof d);
  nf_error e = {{0}};
  assert_int_equal(nf_answer_from_msgpack(&d, b.data + first + 4, b.len - first - 4, &e), 0);
  assert_answers_equal(&err, &d);
  nf_answer_clear(&d);
  nf_buf_free(&b);
  assert_int_equal(nf_answer_to_json(&ok, &b), 0);
  assert_int_equal(nf_answer_to_json(&err, &b), 0);
  size_t lines = 0;
  for (size_t i = 0; i < b.len; i++) lines += b.data[i] == '\n';
  assert_int_equal(lines, 2);
  assert_int_equal(b.data[b.len - 1], '\n');
  nf_buf_free(&b);
  nf_answer_clear(&ok);
}

static void test_decode_replaces_previous_answer(void **state) {
  (void)state;
  nf_answer a, d;
  make_ok(&a, false);
  make_ok(&d, true); /* topics must be freed, flags reset */
  nf_answer err;
  memset(&err, 0, sizeof err);
  nf_answer_set_error(&err, 5, "url", "too long");
  nf_buf b = {0};
  assert_int_equal(nf_answer_to_msgpack(&err, &b), 0);
  nf_error e = {{0}};
  assert_int_equal(nf_answer_from_msgpack(&d, b.data + 4, b.len - 4, &e), 0);
  assert_answers_equal(&err, &d);
  nf_buf_free(&b);
  make_ok(&d, true);
  assert_int_equal(nf_answer_to_json(&err, &b), 0);
  assert_int_equal(nf_answer_from_json(&d, b.data, b.len - 1, &e), 0);
  assert_answers_equal(&err, &d);
  nf_buf_free(&b);
  nf_answer_clear(&a);
  nf_answer_clear(&d);
}

static void test_decoders_ignore_unknown_keys(void **state) {
  (void)state;
  const char *line = "{\"ok\":true,\"item\":1,\"id\":\"abc\",\"future\":[1,{}],"
                     "\"topics\":[\"tech\"],\"seq\":{\"tech\":5,\"other\":1}}";
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_error e = {{0}};
  char *copy = heap_copy(line, strlen(line));
  assert_int_equal(nf_answer_from_json(&a, copy, strlen(line), &e), 0);
  free(copy);
  assert_true(a.ok);
  assert_string_equal(a.id, "abc");
  assert_int_equal(a.n_topics, 1);
  assert_int_equal(a.topics[0].seq, 5);
  nf_answer_clear(&a);
}

/* ---- garbage ------------------------------------------------------------- */

static void json_garbage(const char *s, size_t n) {
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_error e = {{0}};
  char *copy = malloc(n + 1); /* NUL-terminated: see the regression test below */
  assert_non_null(copy);
  memcpy(copy, s, n);
  copy[n] = 0;
  assert_int_equal(nf_answer_from_json(&a, copy, n, &e), -1);
  assert_true(e.msg[0]);
  assert_int_equal(a.n_topics, 0);
  nf_answer_clear(&a);
  free(copy);
}

static void test_json_garbage_fails_cleanly(void **state) {
  (void)state;
  const char *bad[] = {
      "",         "not json",       "[1,2,3]",      "\"ok\"",
      "{\"ok\":", "{\"ok\":true}x", "\x01\x02\xff", "{\"ok\":true,\"id\":\"\xC0\x80\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) json_garbage(bad[i], strlen(bad[i]));
  char big[300];
  memset(big, '!', sizeof big);
  json_garbage(big, sizeof big);
}

static void test_json_garbage_unterminated_buffer(void **state) {
  (void)state;
  /* Regression test for a fixed bug: src/core/answer.c:87 (nf_answer_from_json) formats the failing
   * input with "%.60s", which reads BUF as a C string: for input that is
   * not NUL-terminated and shorter than 60 bytes (a socket read) it reads
   * past the end of the buffer (valgrind: invalid read). */
  char *p = heap_copy("garbage", 7);
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_error e = {{0}};
  assert_int_equal(nf_answer_from_json(&a, p, 7, &e), -1);
  free(p);
}

static void mp_garbage(const void *p, size_t n) {
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_error e = {{0}};
  void *copy = heap_copy(p, n);
  assert_int_equal(nf_answer_from_msgpack(&a, copy, n, &e), -1);
  assert_true(e.msg[0]);
  nf_answer_clear(&a);
  free(copy);
}

static void test_msgpack_garbage_fails_cleanly(void **state) {
  (void)state;
  static const uint8_t c1[] = {0xc1}, arr[] = {0x92, 0x01, 0x02}, str[] = {0xa2, 'o', 'k'},
                       cut[] = {0x82, 0xa2, 'o', 'k', 0xc3},
                       trailing[] = {0x81, 0xa2, 'o', 'k', 0xc3, 0x00},
                       lying[] = {0xdf, 0xff, 0xff, 0xff, 0xff},
                       deep[] = {0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x90};
  mp_garbage(c1, sizeof c1);
  mp_garbage(arr, sizeof arr);
  mp_garbage(str, sizeof str);
  mp_garbage(cut, sizeof cut);
  mp_garbage(trailing, sizeof trailing);
  mp_garbage(lying, sizeof lying);
  mp_garbage(deep, sizeof deep);
  mp_garbage(c1, 0);
}

static void test_msgpack_wrong_value_types_ignored(void **state) {
  (void)state;
  /* {"ok":"yes","item":-1,"id":5} -> not ok, no item, no id */
  static const uint8_t m[] = {0x83, 0xa2, 'o', 'k', 0xa3, 'y',  'e', 's', 0xa4,
                              'i',  't',  'e', 'm', 0xff, 0xa2, 'i', 'd', 0x05};
  nf_answer a;
  memset(&a, 0, sizeof a);
  nf_error e = {{0}};
  assert_int_equal(nf_answer_from_msgpack(&a, m, sizeof m, &e), 0);
  assert_false(a.ok);
  assert_int_equal(a.item, 0);
  assert_string_equal(a.id, "");
  nf_answer_clear(&a);
}

/* The topics array grows in steps (4, 8, 16 ...): every entry survives. */
static void test_many_topics(void **state) {
  (void)state;
  nf_answer a = {0};
  char name[32];
  for (unsigned i = 0; i < 37; i++) {
    snprintf(name, sizeof name, "sym.%u.US", i);
    assert_int_equal(nf_answer_add_topic(&a, name, 1000 + i), 0);
  }
  assert_int_equal(a.n_topics, 37);
  for (unsigned i = 0; i < 37; i++) {
    snprintf(name, sizeof name, "sym.%u.US", i);
    assert_string_equal(a.topics[i].name, name);
    assert_int_equal(a.topics[i].seq, 1000 + i);
  }
  nf_answer_clear(&a);
  assert_int_equal(nf_answer_add_topic(&a, "headline", 1), 0); /* usable after clear */
  assert_int_equal(a.n_topics, 1);
  nf_answer_clear(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok_answer_roundtrip),
      cmocka_unit_test(test_many_topics),
      cmocka_unit_test(test_ok_duplicate_answer_roundtrip),
      cmocka_unit_test(test_ok_answer_json_shape),
      cmocka_unit_test(test_ok_answer_without_duplicate_has_no_key),
      cmocka_unit_test(test_ok_answer_no_topics),
      cmocka_unit_test(test_error_answer_with_field_roundtrip),
      cmocka_unit_test(test_error_answer_without_field_roundtrip),
      cmocka_unit_test(test_error_answer_unicode_and_newline_message),
      cmocka_unit_test(test_error_answer_truncated_long_message_stays_utf8),
      cmocka_unit_test(test_auth_ok_roundtrip),
      cmocka_unit_test(test_auth_error_roundtrip),
      cmocka_unit_test(test_longest_names_roundtrip),
      cmocka_unit_test(test_encoders_append),
      cmocka_unit_test(test_decode_replaces_previous_answer),
      cmocka_unit_test(test_decoders_ignore_unknown_keys),
      cmocka_unit_test(test_json_garbage_fails_cleanly),
      cmocka_unit_test(test_json_garbage_unterminated_buffer),
      cmocka_unit_test(test_msgpack_garbage_fails_cleanly),
      cmocka_unit_test(test_msgpack_wrong_value_types_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
