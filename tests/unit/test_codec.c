/*
 * test_codec.c -- unit tests for the item model and its codecs
 * (src/core/item.c, fields.c, codec_json.c, codec_msgpack.c, util.c):
 * round trips, the title, field types and limits.  Rejections of bad
 * encodings, meta, sizes and malformed documents, JSON reals and the
 * msgpack pre-check are in test_codec_reject.c; ids, topics, subscription
 * prefixes and published messages in test_wire_format.c.
 *
 * Every input is copied into an exactly-sized heap buffer before decoding,
 * so valgrind flags any read past its end.  msgpack inputs are built by an
 * independent JSON -> msgpack converter written here with msgpack-c's
 * packer (not with the code under test), or byte by byte for what JSON
 * cannot express (NUL, invalid UTF-8, bin, ext, non-string keys).
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

/* ---- round trips -------------------------------------------------------- */

static const char full_item[] =
    "{\"id\":\"nf-01J1ABCDEF\",\"kind\":\"ticker\","
    "\"title\":\"格隆汇7月4日丨汇景控股(09968.HK)公告 ＡＩ芯片 🚀\","
    "\"body\":\"第一段：全角ＡＢＣ１２３。\\n第二段\\tEmoji 😀 and English.\","
    "\"summary\":\"摘要 summary\",\"source\":\"格隆汇\",\"author\":\"张三 Zhang\","
    "\"url\":\"https://example.com/news/1?a=1&b=中\",\"lang\":\"zh-CN\","
    "\"symbols\":[\"09968.HK\",\"600519.SH\"],\"priority\":2,"
    "\"published\":1751600000123,"
    "\"meta\":{\"nested\":{\"list\":[1,-2,3.25,true,false,null,\"文字\"],"
    "\"map\":{\"k\":\"v\"}},\"big\":9007199254740993,"
    "\"min\":-9223372036854775808,\"empty_map\":{},\"empty_list\":[],"
    "\"emoji\":\"🎉\",\"全角\":\"ＡＢＣ\"}}";

static void assert_full_item(const nf_item *it) {
  assert_string_equal(it->id, "nf-01J1ABCDEF");
  assert_int_equal(it->kind, NF_KIND_FLASH);
  assert_string_equal(it->title, "格隆汇7月4日丨汇景控股(09968.HK)公告 ＡＩ芯片 🚀");
  assert_string_equal(it->body, "第一段：全角ＡＢＣ１２３。\n第二段\tEmoji 😀 and English.");
  assert_string_equal(it->summary, "摘要 summary");
  assert_string_equal(it->source, "格隆汇");
  assert_string_equal(it->author, "张三 Zhang");
  assert_string_equal(it->url, "https://example.com/news/1?a=1&b=中");
  assert_string_equal(it->lang, "zh-CN");
  assert_int_equal(it->n_symbols, 2);
  assert_string_equal(it->symbols[0], "09968.HK");
  assert_string_equal(it->symbols[1], "600519.SH");
  assert_int_equal(it->priority, 2);
  assert_true(it->has_priority);
  assert_int_equal(it->published, 1751600000123LL);
  assert_non_null(it->meta);
}

/* The original document with "ticker" replaced by its canonical "flash". */
static json_t *expected_full_json(void) {
  json_t *j = json_loads(full_item, 0, NULL);
  assert_non_null(j);
  json_object_set_new(j, "kind", json_string("flash"));
  return j;
}

static void assert_json_equals(const nf_buf *b, const json_t *want) {
  json_error_t je;
  json_t *got = json_loadb(b->data, b->len, 0, &je);
  if (!got) fail_msg("encoder wrote invalid JSON: %.*s", (int)b->len, b->data);
  if (!json_equal(got, (json_t *)want)) {
    char *w = json_dumps(want, JSON_COMPACT);
    fail_msg("JSON differs:\n got  %.*s\n want %s", (int)b->len, b->data, w);
  }
  json_decref(got);
}

static void test_roundtrip_json_msgpack_json_every_field(void **state) {
  (void)state;
  nf_item a, b;
  nf_item_init(&a);
  nf_item_init(&b);
  nf_error e = {{0}};
  assert_int_equal(dec_json(&a, full_item, &e), 0);
  assert_full_item(&a);
  nf_buf mp = {0}, j1 = {0}, j2 = {0};
  assert_int_equal(nf_item_to_msgpack(&a, 0, &mp), 0);
  assert_int_equal(dec_mp(&b, mp.data, mp.len, &e), 0);
  assert_full_item(&b);
  assert_int_equal(b.meta_len, a.meta_len);
  assert_memory_equal(b.meta, a.meta, a.meta_len);
  assert_int_equal(nf_item_to_json(&a, 0, &j1), 0);
  assert_int_equal(nf_item_to_json(&b, 0, &j2), 0);
  assert_int_equal(j1.len, j2.len);
  assert_memory_equal(j1.data, j2.data, j1.len);
  json_t *want = expected_full_json();
  assert_json_equals(&j2, want);
  json_decref(want);
  nf_buf_free(&mp);
  nf_buf_free(&j1);
  nf_buf_free(&j2);
  nf_item_clear(&a);
  nf_item_clear(&b);
}

static void test_roundtrip_msgpack_from_producer_msgpack(void **state) {
  (void)state;
  msgpack_sbuffer sb;
  json_to_mp(full_item, &sb);
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  assert_int_equal(dec_mp(&it, sb.data, sb.size, &e), 0);
  assert_full_item(&it);
  nf_buf j = {0};
  assert_int_equal(nf_item_to_json(&it, 0, &j), 0);
  json_t *want = expected_full_json();
  assert_json_equals(&j, want);
  json_decref(want);
  nf_buf_free(&j);
  nf_item_clear(&it);
  msgpack_sbuffer_destroy(&sb);
}

static void test_roundtrip_minimal_item_has_defaults(void **state) {
  (void)state;
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  assert_int_equal(dec_json(&it, "{\"title\":\"只有标题\"}", &e), 0);
  assert_int_equal(it.kind, NF_KIND_ARTICLE);
  assert_int_equal(it.priority, NF_PRIORITY_DEFAULT);
  assert_false(it.has_priority);
  assert_null(it.id);
  assert_null(it.body);
  assert_null(it.meta);
  assert_int_equal(it.n_symbols, 0);
  assert_int_equal(it.published, 0);
  nf_buf j = {0};
  assert_int_equal(nf_item_to_json(&it, 0, &j), 0);
  json_t *want = json_pack("{s:s,s:s}", "kind", "article", "title", "只有标题");
  assert_json_equals(&j, want);
  json_decref(want);
  nf_buf_free(&j);
  nf_item_clear(&it);
}

static void fill_published_fields(nf_item *it) {
  it->topic = nf_item_strdup(it, "finance.flash", 13);
  it->seq = 42;
  it->epoch = 7;
  it->received = 1751600000999LL;
  it->topics = nf_item_alloc(it, 2 * sizeof *it->topics);
  it->topics[0] = "headline";
  it->topics[1] = "finance.flash";
  it->n_topics = 2;
}

static void test_roundtrip_published_message_fields(void **state) {
  (void)state;
  nf_item a, b;
  nf_item_init(&a);
  nf_item_init(&b);
  nf_error e = {{0}};
  assert_int_equal(dec_json(&a, full_item, &e), 0);
  fill_published_fields(&a);
  nf_buf mp = {0};
  assert_int_equal(nf_item_to_msgpack(&a, NF_ENC_MESSAGE | NF_ENC_DAEMON, &mp), 0);
  nf_limits lim = nf_limits_default();
  assert_int_equal(dec_mp_lim(&b, mp.data, mp.len, &lim, NF_FROM_PUBLISHED, &e), 0);
  assert_full_item(&b);
  assert_string_equal(b.topic, "finance.flash");
  assert_int_equal(b.seq, 42);
  assert_int_equal(b.epoch, 7);
  assert_int_equal(b.received, 1751600000999LL);
  assert_int_equal(b.n_topics, 2);
  assert_string_equal(b.topics[0], "headline");
  assert_string_equal(b.topics[1], "finance.flash");
  /* A producer may not send that same map. */
  nf_item_clear(&b);
  assert_int_equal(dec_mp(&b, mp.data, mp.len, &e), -1);
  assert_true(e.msg[0]);
  nf_buf_free(&mp);
  nf_item_clear(&a);
  nf_item_clear(&b);
}

static void test_encode_no_body_drops_only_body(void **state) {
  (void)state;
  nf_item a, b;
  nf_item_init(&a);
  nf_item_init(&b);
  nf_error e = {{0}};
  assert_int_equal(dec_json(&a, full_item, &e), 0);
  nf_buf mp = {0}, j = {0};
  assert_int_equal(nf_item_to_msgpack(&a, NF_ENC_NO_BODY, &mp), 0);
  assert_int_equal(dec_mp(&b, mp.data, mp.len, &e), 0);
  assert_null(b.body);
  assert_string_equal(b.summary, a.summary);
  assert_string_equal(b.title, a.title);
  assert_int_equal(nf_item_to_json(&a, NF_ENC_NO_BODY, &j), 0);
  assert_null(memmem(j.data, j.len, "\"body\"", 6));
  nf_buf_free(&mp);
  nf_buf_free(&j);
  nf_item_clear(&a);
  nf_item_clear(&b);
}

static void test_kind_names_and_parse(void **state) {
  (void)state;
  nf_kind k;
  assert_int_equal(nf_kind_parse("ticker", &k), 0);
  assert_int_equal(k, NF_KIND_FLASH);
  assert_int_equal(nf_kind_parse("flash", &k), 0);
  assert_int_equal(k, NF_KIND_FLASH);
  assert_int_equal(nf_kind_parse("article", &k), 0);
  assert_int_equal(k, NF_KIND_ARTICLE);
  assert_int_equal(nf_kind_parse("Flash", &k), -1);
  assert_int_equal(nf_kind_parse("", &k), -1);
  assert_string_equal(nf_kind_name(NF_KIND_FLASH), "flash");
  assert_string_equal(nf_kind_name(NF_KIND_ARTICLE), "article");
}

/* ---- rejections: the title ----------------------------------------------- */

static void test_reject_missing_title(void **state) {
  (void)state;
  both_reject("{\"kind\":\"flash\",\"body\":\"正文\"}", "title");
  both_reject("{}", "title");
}

static void test_reject_empty_or_blank_title(void **state) {
  (void)state;
  both_reject("{\"title\":\"\"}", "title");
  both_reject("{\"title\":\"   \"}", "title");
  both_reject("{\"title\":\" \\t \"}", "title");
}

static void test_reject_ideographic_space_title(void **state) {
  (void)state;
  /* Regression test for a fixed bug: src/core/fields.c:219 (nf_item_validate) strips only ' ' and
   * '\t' when checking for an empty title, so a title made of U+3000 IDEOGRAPHIC SPACE (the usual
   * blank in Chinese text, which the tagger's folder itself treats as a space) or U+00A0 is
   * accepted as non-empty. */
  both_reject("{\"title\":\"\u3000\u3000\"}", "title");
  both_reject("{\"title\":\"\\u00a0\"}", "title");
}

static void test_reject_title_control_chars(void **state) {
  (void)state;
  both_reject("{\"title\":\"a\\u0001b\"}", "title");
  both_reject("{\"title\":\"line\\nbreak\"}", "title");
  both_reject("{\"title\":\"tab\\there\"}", "title");
  both_reject("{\"title\":\"del\\u007f\"}", "title");
  both_reject("{\"title\":\"esc\\u001b[0m\"}", "title");
}

/* The control check reads eight bytes at a time: a control byte at any
 * position of a long title, after ASCII or CJK, is still found. */
static void test_control_chars_at_every_position(void **state) {
  (void)state;
  static const unsigned bad[] = {0x01, 0x08, 0x1b, 0x1f, 0x7f}, good[] = {0x20, 0x21, 0x7e};
  for (int cjk = 0; cjk < 2; cjk++)
    for (size_t pos = 0; pos < 40; pos++)
      for (size_t k = 0; k < sizeof bad / sizeof bad[0] + sizeof good / sizeof good[0]; k++) {
        bool is_bad = k < sizeof bad / sizeof bad[0];
        unsigned c = is_bad ? bad[k] : good[k - sizeof bad / sizeof bad[0]];
        char json[512];
        size_t o = (size_t)snprintf(json, sizeof json, "{\"title\":\"");
        for (size_t i = 0; i < 40; i++) {
          if (i == pos) o += (size_t)snprintf(json + o, sizeof json - o, "\\u%04x", c);
          else o += (size_t)snprintf(json + o, sizeof json - o, "%s", cjk ? "\xE6\xB2\xAA" : "x");
        }
        snprintf(json + o, sizeof json - o, "\"}");
        if (c == 0x21 && pos == 0) continue; /* "!..." is fine but not what this tests */
        if (is_bad) both_reject(json, "title");
        else both_accept(json);
      }
}

/* The validator as it was, one byte at a time: the reference. */
static bool utf8_reference(const unsigned char *s, size_t len) {
  for (size_t i = 0; i < len;) {
    unsigned c = s[i], n, cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07;
    else return false;
    if (len - i <= n) return false;
    for (unsigned k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

static void test_utf8_matches_reference(void **state) {
  (void)state;
  static const char *pieces[] = {
      "a",    "abcdefgh", "0123456789 ",  "\xC3\xA9", "\xE6\xB2\xAA",     "\xF0\x9F\x98\x80",
      "\x80", "\xE6\xB2", "\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80", "\xFF"};
  uint64_t x = 0x2545F4914F6CDD1Dull;
  unsigned char buf[96];
  for (int n = 0; n < 200000; n++) {
    size_t len = 0;
    while (len < 64) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* mostly valid pieces, now and then a broken one */
      size_t k = x % 100 < 97 ? x % 6 : 6 + x % 6;
      size_t m = strlen(pieces[k]);
      memcpy(buf + len, pieces[k], m);
      len += m;
      if (x % 7 == 0) break;
    }
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t cut = len ? x % (len + 1) : 0; /* also a cut mid-sequence */
    if (nf__utf8_valid((const char *)buf, cut) != utf8_reference(buf, cut))
      fail_msg("case %d: validator disagrees with the reference on %zu bytes", n, cut);
  }
}

static void test_body_allows_newlines_not_controls(void **state) {
  (void)state;
  both_accept("{\"title\":\"t\",\"body\":\"a\\nb\\r\\nc\\td\"}");
  both_reject("{\"title\":\"t\",\"body\":\"a\\u0002b\"}", "body");
  both_reject("{\"title\":\"t\",\"summary\":\"a\\u007fb\"}", "summary");
}

static void test_reject_title_over_max_title_bytes(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  char *t = repeat('x', lim.max_title_bytes);
  size_t n = lim.max_title_bytes + 32;
  char *json = malloc(n);
  assert_non_null(json);
  snprintf(json, n, "{\"title\":\"%s\"}", t);
  both_accept(json);
  free(t);
  t = repeat('x', lim.max_title_bytes + 1);
  snprintf(json, n, "{\"title\":\"%s\"}", t);
  both_reject(json, "title");
  free(t);
  free(json);
}

static void test_title_limit_is_configurable(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  lim.max_title_bytes = 6; /* two CJK characters */
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  const char *ok = "{\"title\":\"中文\"}", *bad = "{\"title\":\"中文字\"}";
  assert_int_equal(dec_json_lim(&it, ok, strlen(ok), &lim, NF_FROM_PRODUCER, &e), 0);
  nf_item_clear(&it);
  expect_error(dec_json_lim(&it, bad, strlen(bad), &lim, NF_FROM_PRODUCER, &e), &e, "title", bad);
  nf_item_clear(&it);
}

/* ---- rejections: types --------------------------------------------------- */

static void test_reject_wrong_types(void **state) {
  (void)state;
  both_reject("{\"title\":5}", "title");
  both_reject("{\"title\":[\"x\"]}", "title");
  both_reject("{\"title\":null}", "title");
  both_reject("{\"title\":\"x\",\"body\":true}", "body");
  both_reject("{\"title\":\"x\",\"kind\":1}", "kind");
  both_reject("{\"title\":\"x\",\"priority\":\"5\"}", "priority");
  both_reject("{\"title\":\"x\",\"symbols\":\"AAPL\"}", "symbols");
  both_reject("{\"title\":\"x\",\"symbols\":{\"a\":\"AAPL\"}}", "symbols");
  both_reject("{\"title\":\"x\",\"symbols\":[\"AAPL\",5]}", "symbols");
  both_reject("{\"title\":\"x\",\"symbols\":[null]}", "symbols");
  both_reject("{\"title\":\"x\",\"meta\":[1,2]}", "meta");
  both_reject("{\"title\":\"x\",\"meta\":\"k=v\"}", "meta");
  both_reject("{\"title\":\"x\",\"meta\":null}", "meta");
  both_reject("{\"title\":\"x\",\"published\":-1}", "published");
  both_reject("{\"title\":\"x\",\"published\":\"2025-07-04\"}", "published");
  both_reject("{\"title\":\"x\",\"published\":253402300800000}", "published");
  both_reject("{\"title\":\"x\",\"id\":12345}", "id");
}

static void test_reject_unknown_kind(void **state) {
  (void)state;
  both_reject("{\"title\":\"x\",\"kind\":\"video\"}", "kind");
  both_reject("{\"title\":\"x\",\"kind\":\"\"}", "kind");
  both_reject("{\"title\":\"x\",\"kind\":\"a-very-long-kind-name\"}", "kind");
}

static void test_priority_range(void **state) {
  (void)state;
  both_reject("{\"title\":\"x\",\"priority\":0}", "priority");
  both_reject("{\"title\":\"x\",\"priority\":10}", "priority");
  both_reject("{\"title\":\"x\",\"priority\":-1}", "priority");
  both_accept("{\"title\":\"x\",\"priority\":1}");
  both_accept("{\"title\":\"x\",\"priority\":9}");
}

static void test_reject_unknown_field_echoes_name(void **state) {
  (void)state;
  both_reject("{\"title\":\"x\",\"titel\":\"y\"}", "titel");
  both_reject("{\"titel\":\"y\"}", "titel");
  both_reject("{\"title\":\"x\",\"标签\":\"y\"}", "标签");
}

static void test_unknown_long_cjk_field_echoed(void **state) {
  (void)state;
  /* 16 CJK characters = 48 bytes, over the 40 bytes echoed */
  const char *json = "{\"title\":\"x\",\"未知字段未知字段未知字段未知字段\":1}";
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  assert_int_equal(dec_json(&it, json, &e), -1);
  nf_item_clear(&it);
  /* Regression test for a fixed bug: src/core/fields.c:51-54 (nf__field_find) cuts the key at 40
   * bytes, which splits a UTF-8 character, then finds the cut invalid and echoes
   * "?" instead of the field name; it should cut at a character boundary
   * ("未知字段未知字段未知字段未" ...). */
  assert_true(strlen(e.field) >= 36);
  assert_memory_equal(e.field, "未知字段未知字段未知字段", 36);
}

static void test_reject_daemon_only_fields(void **state) {
  (void)state;
  both_reject("{\"title\":\"x\",\"topics\":[\"tech\"]}", "topics");
  both_reject("{\"title\":\"x\",\"seq\":1}", "seq");
  both_reject("{\"title\":\"x\",\"epoch\":1}", "epoch");
  both_reject("{\"title\":\"x\",\"received\":1751600000000}", "received");
  both_reject("{\"title\":\"x\",\"v\":1}", "v");
  both_reject("{\"title\":\"x\",\"topic\":\"tech\"}", "topic");
}

static void test_reject_bad_ids(void **state) {
  (void)state;
  both_reject("{\"title\":\"x\",\"id\":\"a b\"}", "id");
  both_reject("{\"title\":\"x\",\"id\":\"\"}", "id");
  both_reject("{\"title\":\"x\",\"id\":\"编号\"}", "id");
  char *id = repeat('i', NF_ID_MAX);
  size_t n = NF_ID_MAX + 64;
  char *json = malloc(n);
  assert_non_null(json);
  snprintf(json, n, "{\"title\":\"x\",\"id\":\"%s\"}", id);
  both_accept(json);
  free(id);
  id = repeat('i', NF_ID_MAX + 1);
  snprintf(json, n, "{\"title\":\"x\",\"id\":\"%s\"}", id);
  both_reject(json, "id");
  free(id);
  free(json);
}

static void test_reject_bad_lang(void **state) {
  (void)state;
  both_reject("{\"title\":\"x\",\"lang\":\"zh CN\"}", "lang");
  both_reject("{\"title\":\"x\",\"lang\":\"\"}", "lang");
  both_reject("{\"title\":\"x\",\"lang\":\"zh_CN\"}", "lang");
  both_reject("{\"title\":\"x\",\"lang\":\"中文\"}", "lang");
  both_accept("{\"title\":\"x\",\"lang\":\"zh-Hans-CN\"}");
}

static void test_reject_short_fields_over_limits(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  char *v = repeat('s', lim.max_field_bytes + 1);
  size_t n = lim.max_field_bytes + 64;
  char *json = malloc(n);
  assert_non_null(json);
  snprintf(json, n, "{\"title\":\"x\",\"source\":\"%s\"}", v);
  both_reject(json, "source");
  snprintf(json, n, "{\"title\":\"x\",\"author\":\"%s\"}", v);
  both_reject(json, "author");
  free(v);
  free(json);
  both_reject("{\"title\":\"x\",\"symbols\":[\"\"]}", "symbols");
  both_reject("{\"title\":\"x\",\"symbols\":[\"A APL\"]}", "symbols");
}

static void test_reject_too_many_symbols(void **state) {
  (void)state;
  nf_limits lim = nf_limits_default();
  nf_buf b = {0};
  append_str(&b, "{\"title\":\"x\",\"symbols\":[");
  for (size_t i = 0; i <= lim.max_symbols; i++) append_str(&b, i ? ",\"AAPL\"" : "\"AAPL\"");
  nf_buf_append(&b, "]}", 3); /* with the NUL */
  both_reject(b.data, "symbols");
  nf_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_json_msgpack_json_every_field),
      cmocka_unit_test(test_roundtrip_msgpack_from_producer_msgpack),
      cmocka_unit_test(test_roundtrip_minimal_item_has_defaults),
      cmocka_unit_test(test_roundtrip_published_message_fields),
      cmocka_unit_test(test_encode_no_body_drops_only_body),
      cmocka_unit_test(test_kind_names_and_parse),
      cmocka_unit_test(test_reject_missing_title),
      cmocka_unit_test(test_reject_empty_or_blank_title),
      cmocka_unit_test(test_reject_ideographic_space_title),
      cmocka_unit_test(test_reject_title_control_chars),
      cmocka_unit_test(test_body_allows_newlines_not_controls),
      cmocka_unit_test(test_control_chars_at_every_position),
      cmocka_unit_test(test_utf8_matches_reference),
      cmocka_unit_test(test_reject_title_over_max_title_bytes),
      cmocka_unit_test(test_title_limit_is_configurable),
      cmocka_unit_test(test_reject_wrong_types),
      cmocka_unit_test(test_reject_unknown_kind),
      cmocka_unit_test(test_priority_range),
      cmocka_unit_test(test_reject_unknown_field_echoes_name),
      cmocka_unit_test(test_unknown_long_cjk_field_echoed),
      cmocka_unit_test(test_reject_daemon_only_fields),
      cmocka_unit_test(test_reject_bad_ids),
      cmocka_unit_test(test_reject_bad_lang),
      cmocka_unit_test(test_reject_short_fields_over_limits),
      cmocka_unit_test(test_reject_too_many_symbols),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
