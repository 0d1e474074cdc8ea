/*
 * test_codec_reject.c -- unit tests for what the item codecs refuse
 * (src/core/codec_json.c, codec_msgpack.c, fields.c, util.c): invalid
 * UTF-8 and NUL, meta too deep, too large or not a map of strings, items
 * over the size limits, malformed JSON and msgpack, duplicate keys, JSON
 * reals, and the msgpack pre-check (nf__mp_check) that bounds every
 * declared length before msgpack-c allocates.  Every input is copied into
 * an exactly-sized heap buffer before decoding (codec_testutil.h).
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
#include <jansson.h>
#include <msgpack.h>

#include <newsfeed/newsfeed.h>
#include "codec_testutil.h"
#include "core/internal.h"

/* ---- rejections: encodings ----------------------------------------------- */

static const struct {
  const char *bytes;
  const char *what;
} bad_utf8[] = {
    {"a\xC0\x80z", "overlong C0 80"},
    {"a\xE0\x80\xAFz", "overlong E0 80 AF"},
    {"a\xED\xA0\x80z", "surrogate ED A0 80"},
    {"a\xE4\xB8", "truncated E4 B8"},
    {"a\xE4\xB8z", "truncated E4 B8 then ASCII"},
    {"a\xF5\x80\x80\x80z", "F5 lead byte"},
    {"a\xF4\x90\x80\x80z", "above U+10FFFF"},
    {"a\xFFz", "FF byte"},
    {"a\x80z", "lone continuation"},
};

static void test_reject_invalid_utf8_msgpack(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
    const char *s = bad_utf8[i].bytes;
    mpb b;
    mpb_title_map(&b, s, strlen(s), 0);
    sb_rejects(&b, "title", bad_utf8[i].what);
    mpb_title_map(&b, "ok", 2, 1);
    mpb_cstr(&b, "body");
    mpb_str(&b, s, strlen(s));
    sb_rejects(&b, "body", bad_utf8[i].what);
    mpb_title_map(&b, "ok", 2, 1);
    mpb_cstr(&b, "symbols");
    msgpack_pack_array(&b.pk, 1);
    mpb_str(&b, s, strlen(s));
    sb_rejects(&b, "symbols", bad_utf8[i].what);
  }
}

static void test_reject_invalid_utf8_json(void **state) {
  (void)state;
  /* jansson refuses the whole document before any field is seen, so the
   * error is about the JSON text (field ""), not about "title". */
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
    char json[64];
    snprintf(json, sizeof json, "{\"title\":\"%s\"}", bad_utf8[i].bytes);
    json_rejects(json, "");
  }
}

static void test_valid_utf8_edges_accepted(void **state) {
  (void)state;
  /* U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF, U+E000 */
  static const char s[] = "\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF"
                          "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\xEE\x80\x80";
  assert_true(nf__utf8_valid(s, sizeof s - 1));
  assert_true(nf__utf8_valid("", 0));
  for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++)
    assert_false(nf__utf8_valid(bad_utf8[i].bytes, strlen(bad_utf8[i].bytes)));
  mpb b;
  mpb_title_map(&b, s, sizeof s - 1, 0);
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  assert_int_equal(dec_mp(&it, b.sb.data, b.sb.size, &e), 0);
  assert_string_equal(it.title, s);
  nf_item_clear(&it);
  msgpack_sbuffer_destroy(&b.sb);
}

static void test_reject_nul_in_string_msgpack(void **state) {
  (void)state;
  mpb b;
  mpb_title_map(&b, "a\0b", 3, 0);
  sb_rejects(&b, "title", "NUL in title");
  mpb_title_map(&b, "ok", 2, 1);
  mpb_cstr(&b, "source");
  mpb_str(&b, "\0", 1);
  sb_rejects(&b, "source", "NUL in source");
  mpb_title_map(&b, "ok", 2, 1);
  mpb_cstr(&b, "id");
  mpb_str(&b, "id\0x", 4);
  sb_rejects(&b, "id", "NUL in id");
}

static void test_reject_json_escaped_nul(void **state) {
  (void)state;
  /* jansson refuses \u0000 unless asked to allow it; either an error on
   * the document ("") or on the field is acceptable, never acceptance. */
  const char *cases[] = {"{\"title\":\"a\\u0000b\"}", "{\"title\":\"x\",\"body\":\"\\u0000\"}"};
  for (size_t i = 0; i < 2; i++) {
    nf_item it;
    nf_item_init(&it);
    nf_error e = {{0}};
    assert_int_equal(dec_json(&it, cases[i], &e), -1);
    assert_true(e.msg[0]);
    assert_true(!strcmp(e.field, "") || !strcmp(e.field, "title") || !strcmp(e.field, "body"));
    nf_item_clear(&it);
  }
}

/* ---- rejections: meta ---------------------------------------------------- */

/* {"title":"x","meta": N nested maps {"a":{"a":...1}}} */
static char *nested_meta_json(int maps) {
  nf_buf b = {0};
  append_str(&b, "{\"title\":\"x\",\"meta\":");
  for (int i = 1; i < maps; i++) append_str(&b, "{\"a\":");
  append_str(&b, "{\"a\":1}");
  for (int i = 1; i < maps; i++) nf_buf_append(&b, "}", 1);
  nf_buf_append(&b, "}", 2);
  return b.data;
}

static void test_meta_depth_limit(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  /* meta itself is level 1; a leaf value sits one level below its map. */
  char *ok = nested_meta_json((int)lim.max_meta_depth - 1);
  both_accept(ok);
  free(ok);
  char *deep = nested_meta_json((int)lim.max_meta_depth);
  both_reject(deep, "meta");
  free(deep);
  deep = nested_meta_json(12);
  json_rejects(deep, "meta");
  free(deep);
}

static void test_meta_far_too_deep_names_meta_msgpack(void **state) {
  (void)state;
  /* Regression test for a fixed bug: src/core/codec_msgpack.c:322 (nf_item_from_msgpack) runs the
   * structure check with max_depth = max_meta_depth + 2, so a valid
   * msgpack item whose meta is nested 12 deep is refused as "invalid
   * msgpack" with field "" instead of "meta: nested deeper than 8" with
   * field "meta" (JSON names meta for the same item). */
  char *deep = nested_meta_json(12);
  msgpack_sbuffer sb;
  json_to_mp(deep, &sb);
  mp_rejects(sb.data, sb.size, "meta", deep);
  msgpack_sbuffer_destroy(&sb);
  free(deep);
}

/* {"title":"x","meta":{"a":[0,1,...,N-1]}} */
static char *meta_list_json(size_t n) {
  nf_buf b = {0};
  append_str(&b, "{\"title\":\"x\",\"meta\":{\"a\":[");
  for (size_t i = 0; i < n; i++) {
    char num[24];
    int k = snprintf(num, sizeof num, i ? ",%zu" : "%zu", i);
    nf_buf_append(&b, num, (size_t)k);
  }
  nf_buf_append(&b, "]}}", 4);
  return b.data;
}

static void test_meta_item_count_limit(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  /* one key + N elements = N + 1 values */
  char *ok = meta_list_json(lim.max_meta_items - 1);
  both_accept(ok);
  free(ok);
  char *big = meta_list_json(lim.max_meta_items);
  both_reject(big, "meta");
  free(big);
}

static void test_meta_non_string_key_msgpack(void **state) {
  (void)state;
  mpb b;
  mpb_title_map(&b, "x", 1, 1);
  mpb_cstr(&b, "meta");
  msgpack_pack_map(&b.pk, 1);
  msgpack_pack_int(&b.pk, 1);
  mpb_cstr(&b, "v");
  sb_rejects(&b, "meta", "int key in meta");
  mpb_title_map(&b, "x", 1, 1);
  mpb_cstr(&b, "meta");
  msgpack_pack_map(&b.pk, 1);
  mpb_cstr(&b, "inner");
  msgpack_pack_map(&b.pk, 1);
  msgpack_pack_nil(&b.pk);
  msgpack_pack_true(&b.pk);
  sb_rejects(&b, "meta", "nil key in nested meta map");
}

static void test_meta_bin_and_ext_msgpack(void **state) {
  (void)state;
  mpb b;
  mpb_title_map(&b, "x", 1, 1);
  mpb_cstr(&b, "meta");
  msgpack_pack_map(&b.pk, 1);
  mpb_cstr(&b, "blob");
  msgpack_pack_bin(&b.pk, 3);
  msgpack_pack_bin_body(&b.pk, "\x01\x02\x03", 3);
  sb_rejects(&b, "meta", "bin in meta");
  mpb_title_map(&b, "x", 1, 1);
  mpb_cstr(&b, "meta");
  msgpack_pack_map(&b.pk, 1);
  mpb_cstr(&b, "list");
  msgpack_pack_array(&b.pk, 1);
  msgpack_pack_ext(&b.pk, 4, 5);
  msgpack_pack_ext_body(&b.pk, "abcd", 4);
  sb_rejects(&b, "meta", "ext in meta");
}

static void test_meta_invalid_utf8_msgpack(void **state) {
  (void)state;
  mpb b;
  mpb_title_map(&b, "x", 1, 1);
  mpb_cstr(&b, "meta");
  msgpack_pack_map(&b.pk, 1);
  mpb_cstr(&b, "k");
  mpb_str(&b, "\xED\xA0\x80", 3);
  sb_rejects(&b, "meta", "surrogate in meta value");
  mpb_title_map(&b, "x", 1, 1);
  mpb_cstr(&b, "meta");
  msgpack_pack_map(&b.pk, 1);
  mpb_str(&b, "\xC0\x80", 2);
  msgpack_pack_int(&b.pk, 1);
  sb_rejects(&b, "meta", "overlong in meta key");
}

/* ---- rejections: size ---------------------------------------------------- */

static void test_reject_item_over_max_item_bytes(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  lim.max_item_bytes = 300;
  char *body = repeat('b', 300);
  size_t n = 400;
  char *json = malloc(n);
  assert_non_null(json);
  snprintf(json, n, "{\"title\":\"x\",\"body\":\"%s\"}", body);
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  expect_error(dec_json_lim(&it, json, strlen(json), &lim, NF_FROM_PRODUCER, &e), &e, "",
               "JSON over max_item_bytes");
  nf_item_clear(&it);
  msgpack_sbuffer sb;
  json_to_mp(json, &sb);
  expect_error(dec_mp_lim(&it, sb.data, sb.size, &lim, NF_FROM_PRODUCER, &e), &e, "",
               "msgpack over max_item_bytes");
  nf_item_clear(&it);
  msgpack_sbuffer_destroy(&sb);
  free(body);
  free(json);
}

static void test_reject_item_over_default_1mib(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  assert_int_equal(lim.max_item_bytes, 1u << 20);
  char *body = repeat('b', lim.max_item_bytes);
  size_t n = lim.max_item_bytes + 64;
  char *json = malloc(n);
  assert_non_null(json);
  snprintf(json, n, "{\"title\":\"x\",\"body\":\"%s\"}", body);
  json_rejects(json, "");
  msgpack_sbuffer sb;
  json_to_mp(json, &sb);
  mp_rejects(sb.data, sb.size, "", "1 MiB msgpack");
  msgpack_sbuffer_destroy(&sb);
  free(body);
  free(json);
}

/* ---- rejections: malformed documents ------------------------------------- */

static void test_reject_malformed_json(void **state) {
  (void)state;
  json_rejects("[{\"title\":\"x\"}]", "");
  json_rejects("\"title\"", "");
  json_rejects("42", "");
  json_rejects("null", "");
  json_rejects("{\"title\":\"x\"", "");
  json_rejects("{\"title\":\"x", "");
  json_rejects("{\"title\":\"x\"} garbage", "");
  json_rejects("{\"title\":\"x\"}{\"title\":\"y\"}", "");
  json_rejects("{\"title\":\"x\",\"title\":\"y\"}", "");
  json_rejects("{title:\"x\"}", "");
  json_rejects("", "");
}

static void test_reject_malformed_msgpack(void **state) {
  (void)state;
  mpb b;
  mpb_init(&b);
  msgpack_pack_array(&b.pk, 1);
  msgpack_pack_map(&b.pk, 1);
  mpb_cstr(&b, "title");
  mpb_cstr(&b, "x");
  sb_rejects(&b, "", "array of maps");
  mpb_init(&b);
  mpb_cstr(&b, "title");
  sb_rejects(&b, "", "a string");
  mpb_init(&b);
  msgpack_pack_map(&b.pk, 1);
  msgpack_pack_int(&b.pk, 7);
  mpb_cstr(&b, "x");
  sb_rejects(&b, "", "integer key");
  mpb_title_map(&b, "标题", 6, 0);
  for (size_t cut = 0; cut < b.sb.size; cut++) mp_rejects(b.sb.data, cut, "", "truncated map");
  msgpack_pack_nil(&b.pk);
  sb_rejects(&b, "", "trailing byte");
  static const uint8_t reserved[] = {0x81, 0xa5, 't', 'i', 't', 'l', 'e', 0xc1};
  mp_rejects(reserved, sizeof reserved, "", "reserved 0xc1");
  static const uint8_t only_c1[] = {0xc1};
  mp_rejects(only_c1, 1, "", "0xc1 alone");
}

static void test_msgpack_duplicate_keys_rejected_like_json(void **state) {
  (void)state;
  /* Regression test for a fixed bug: src/core/codec_msgpack.c:296 (nf__item_from_object) accepts a
   * map with the same key twice (the last value wins), while the JSON
   * decoder refuses duplicate keys (JSON_REJECT_DUPLICATES): the same item
   * is valid in one framing and invalid in the other. */
  mpb b;
  mpb_title_map(&b, "first", 5, 1);
  mpb_cstr(&b, "title");
  mpb_cstr(&b, "second");
  sb_rejects(&b, "title", "duplicate title");
}

/* ---- JSON reals ---------------------------------------------------------- */

static void test_json_whole_reals_accepted_for_integers(void **state) {
  (void)state;
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  assert_int_equal(dec_json(&it, "{\"title\":\"x\",\"published\":1.7e12}", &e), 0);
  assert_int_equal(it.published, 1700000000000LL);
  nf_item_clear(&it);
  assert_int_equal(
      dec_json(&it, "{\"title\":\"x\",\"published\":1751600000123.0,\"priority\":3.0}", &e), 0);
  assert_int_equal(it.published, 1751600000123LL);
  assert_int_equal(it.priority, 3);
  nf_item_clear(&it);
}

static void test_json_fractional_reals_rejected(void **state) {
  (void)state;
  json_rejects("{\"title\":\"x\",\"published\":1751600000123.5}", "published");
  json_rejects("{\"title\":\"x\",\"published\":1.5}", "published");
  json_rejects("{\"title\":\"x\",\"priority\":2.5}", "priority");
  json_rejects("{\"title\":\"x\",\"published\":1e300}", "published");
  json_rejects("{\"title\":\"x\",\"published\":-1.7e12}", "published");
}

static void test_msgpack_whole_float_published_like_json(void **state) {
  (void)state;
  /* Regression test for a fixed bug: src/core/codec_msgpack.c:202 (int_of) accepts only msgpack
   * ints, while the JSON decoder accepts whole-number reals ("1.7e12 from a JavaScript producer");
   * JavaScript msgpack encoders write such numbers as float64, so the same producer's item fails in
   * msgpack framing. */
  mpb b;
  mpb_title_map(&b, "x", 1, 1);
  mpb_cstr(&b, "published");
  msgpack_pack_double(&b.pk, 1.7e12);
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  assert_int_equal(dec_mp(&it, b.sb.data, b.sb.size, &e), 0);
  assert_int_equal(it.published, 1700000000000LL);
  nf_item_clear(&it);
  msgpack_sbuffer_destroy(&b.sb);
}

/* ---- nf__mp_check --------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_mp_check_lying_array32_header(void **state) {
  (void)state;
  static const uint8_t a32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
  double t0 = now_s();
  assert_int_equal(nf__mp_check(a32, sizeof a32, 64), 0);
  assert_true(now_s() - t0 < 0.05);
  /* and through the item decoder, which must not allocate 4G slots */
  t0 = now_s();
  mp_rejects(a32, sizeof a32, "", "array32 of 2^32-1");
  assert_true(now_s() - t0 < 0.5);
}

static void test_mp_check_lying_map32_header(void **state) {
  (void)state;
  uint8_t m32[4096] = {0xdf, 0x80, 0x00, 0x00, 0x00};
  double t0 = now_s();
  assert_int_equal(nf__mp_check(m32, 5, 64), 0);
  /* even followed by plenty of (too few) valid one-byte objects */
  assert_int_equal(nf__mp_check(m32, sizeof m32, 64), 0);
  assert_true(now_s() - t0 < 0.05);
  mp_rejects(m32, sizeof m32, "", "map32 of 2^31 pairs");
}

static void test_mp_check_lying_string_lengths(void **state) {
  (void)state;
  static const uint8_t s32[] = {0xdb, 0xff, 0xff, 0xff, 0xf0, 'a', 'b'};
  static const uint8_t b32[] = {0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00};
  static const uint8_t e32[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
  static const uint8_t s8[] = {0xd9, 0x05, 'a', 'b'};
  static const uint8_t hdr_cut[] = {0xdc, 0x00};
  assert_int_equal(nf__mp_check(s32, sizeof s32, 8), 0);
  assert_int_equal(nf__mp_check(b32, sizeof b32, 8), 0);
  assert_int_equal(nf__mp_check(e32, sizeof e32, 8), 0);
  assert_int_equal(nf__mp_check(s8, sizeof s8, 8), 0);
  assert_int_equal(nf__mp_check(hdr_cut, sizeof hdr_cut, 8), 0);
  assert_int_equal(nf__mp_check(s8, 0, 8), 0);
}

static void test_mp_check_deep_nesting_rejected(void **state) {
  (void)state;
  uint8_t deep[100];
  memset(deep, 0x91, sizeof deep);
  deep[99] = 0x90;
  double t0 = now_s();
  assert_int_equal(nf__mp_check(deep, sizeof deep, 64), 0);
  assert_int_equal(nf__mp_check(deep, sizeof deep, 1000), 0);
  assert_true(now_s() - t0 < 0.05);
  /* k nested non-empty arrays need exactly max_depth k */
  uint8_t three[] = {0x91, 0x91, 0x91, 0x01};
  assert_int_equal(nf__mp_check(three, sizeof three, 3), sizeof three);
  assert_int_equal(nf__mp_check(three, sizeof three, 2), 0);
  /* 99 nested arrays ending in an empty one: too deep for the cap of 64 */
  mp_rejects(deep, sizeof deep, "", "100 nested fixarrays");
}

static void test_mp_check_exact_byte_count(void **state) {
  (void)state;
  mpb b;
  mpb_init(&b);
  msgpack_pack_map(&b.pk, 3);
  mpb_cstr(&b, "a");
  msgpack_pack_array(&b.pk, 4);
  msgpack_pack_int(&b.pk, -70000);
  mpb_cstr(&b, "中文字符串");
  msgpack_pack_map(&b.pk, 1);
  mpb_cstr(&b, "b");
  msgpack_pack_nil(&b.pk);
  msgpack_pack_bin(&b.pk, 2);
  msgpack_pack_bin_body(&b.pk, "\x00\xff", 2);
  mpb_cstr(&b, "c");
  msgpack_pack_double(&b.pk, 3.5);
  mpb_cstr(&b, "d");
  msgpack_pack_ext(&b.pk, 16, 1);
  msgpack_pack_ext_body(&b.pk, "0123456789abcdef", 16);
  size_t n = b.sb.size;
  msgpack_pack_int(&b.pk, 1); /* trailing object, not counted */
  msgpack_pack_int(&b.pk, 2);
  uint8_t *p = heap_copy(b.sb.data, b.sb.size);
  assert_int_equal(nf__mp_check(p, b.sb.size, 8), n);
  assert_int_equal(nf__mp_check(p, n, 8), n);
  for (size_t cut = 0; cut < n; cut++) assert_int_equal(nf__mp_check(p, cut, 8), 0);
  assert_int_equal(nf__mp_check(p, n, 3), n); /* map > array > map */
  assert_int_equal(nf__mp_check(p, n, 2), 0);
  free(p);
  msgpack_sbuffer_destroy(&b.sb);
}

static void test_mp_check_scalars(void **state) {
  (void)state;
  static const uint8_t one[] = {0x05}, nil[] = {0xc0}, neg[] = {0xe0},
                       f64[] = {0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, c1[] = {0xc1};
  assert_int_equal(nf__mp_check(one, 1, 0), 1);
  assert_int_equal(nf__mp_check(nil, 1, 0), 1);
  assert_int_equal(nf__mp_check(neg, 1, 0), 1);
  assert_int_equal(nf__mp_check(f64, sizeof f64, 0), sizeof f64);
  assert_int_equal(nf__mp_check(f64, sizeof f64 - 1, 0), 0);
  assert_int_equal(nf__mp_check(c1, 1, 8), 0);
  static const uint8_t empty_map[] = {0x80};
  assert_int_equal(nf__mp_check(empty_map, 1, 0), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reject_invalid_utf8_msgpack),
      cmocka_unit_test(test_reject_invalid_utf8_json),
      cmocka_unit_test(test_valid_utf8_edges_accepted),
      cmocka_unit_test(test_reject_nul_in_string_msgpack),
      cmocka_unit_test(test_reject_json_escaped_nul),
      cmocka_unit_test(test_meta_depth_limit),
      cmocka_unit_test(test_meta_far_too_deep_names_meta_msgpack),
      cmocka_unit_test(test_meta_item_count_limit),
      cmocka_unit_test(test_meta_non_string_key_msgpack),
      cmocka_unit_test(test_meta_bin_and_ext_msgpack),
      cmocka_unit_test(test_meta_invalid_utf8_msgpack),
      cmocka_unit_test(test_reject_item_over_max_item_bytes),
      cmocka_unit_test(test_reject_item_over_default_1mib),
      cmocka_unit_test(test_reject_malformed_json),
      cmocka_unit_test(test_reject_malformed_msgpack),
      cmocka_unit_test(test_msgpack_duplicate_keys_rejected_like_json),
      cmocka_unit_test(test_json_whole_reals_accepted_for_integers),
      cmocka_unit_test(test_json_fractional_reals_rejected),
      cmocka_unit_test(test_msgpack_whole_float_published_like_json),
      cmocka_unit_test(test_mp_check_lying_array32_header),
      cmocka_unit_test(test_mp_check_lying_map32_header),
      cmocka_unit_test(test_mp_check_lying_string_lengths),
      cmocka_unit_test(test_mp_check_deep_nesting_rejected),
      cmocka_unit_test(test_mp_check_exact_byte_count),
      cmocka_unit_test(test_mp_check_scalars),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
