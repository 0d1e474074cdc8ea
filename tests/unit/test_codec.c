/*
 * test_codec.c -- unit tests for the item model and its codecs
 * (src/core/item.c, fields.c, codec_json.c, codec_msgpack.c, util.c) and
 * the subscriber helpers nf_sub_prefix / nf_message_decode (client.c).
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
#include "core/internal.h"

/* ---- helpers ------------------------------------------------------------ */

static void *heap_copy(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  assert_non_null(q);
  if (n) memcpy(q, p, n);
  return q;
}

static int dec_json_lim(nf_item *it, const char *s, size_t n, const nf_limits *lim,
                        nf_origin origin, nf_error *e) {
  char *copy = heap_copy(s, n);
  int rc = nf_item_from_json(it, copy, n, lim, origin, e);
  free(copy);
  return rc;
}

static int dec_mp_lim(nf_item *it, const void *p, size_t n, const nf_limits *lim, nf_origin origin,
                      nf_error *e) {
  void *copy = heap_copy(p, n);
  int rc = nf_item_from_msgpack(it, copy, n, lim, origin, e);
  free(copy);
  return rc;
}

static int dec_json(nf_item *it, const char *s, nf_error *e) {
  nf_limits lim = nf_limits_default();
  return dec_json_lim(it, s, strlen(s), &lim, NF_FROM_PRODUCER, e);
}

static int dec_mp(nf_item *it, const void *p, size_t n, nf_error *e) {
  nf_limits lim = nf_limits_default();
  return dec_mp_lim(it, p, n, &lim, NF_FROM_PRODUCER, e);
}

/* Independent JSON -> msgpack: integers as ints, reals as float64. */
static void pack_json(msgpack_packer *pk, const json_t *j) {
  const char *k;
  size_t klen, i;
  json_t *v;
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    msgpack_pack_map(pk, json_object_size(j));
    json_object_keylen_foreach((json_t *)j, k, klen, v) {
      msgpack_pack_str(pk, klen);
      msgpack_pack_str_body(pk, k, klen);
      pack_json(pk, v);
    }
    break;
  case JSON_ARRAY:
    msgpack_pack_array(pk, json_array_size(j));
    json_array_foreach(j, i, v) pack_json(pk, v);
    break;
  case JSON_STRING:
    msgpack_pack_str(pk, json_string_length(j));
    msgpack_pack_str_body(pk, json_string_value(j), json_string_length(j));
    break;
  case JSON_INTEGER:
    msgpack_pack_int64(pk, json_integer_value(j));
    break;
  case JSON_REAL:
    msgpack_pack_double(pk, json_real_value(j));
    break;
  case JSON_TRUE:
    msgpack_pack_true(pk);
    break;
  case JSON_FALSE:
    msgpack_pack_false(pk);
    break;
  case JSON_NULL:
    msgpack_pack_nil(pk);
    break;
  }
}

/* Converts JSON text to msgpack in SB (caller destroys SB). */
static void json_to_mp(const char *json, msgpack_sbuffer *sb) {
  json_error_t je;
  json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  if (!j) fail_msg("test input is not JSON: %s (%s)", json, je.text);
  msgpack_sbuffer_init(sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  pack_json(&pk, j);
  json_decref(j);
}

/* A packer onto a fresh sbuffer, for hand-built msgpack. */
typedef struct mpb {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} mpb;

static void mpb_init(mpb *b) {
  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void mpb_str(mpb *b, const char *s, size_t n) {
  msgpack_pack_str(&b->pk, n);
  msgpack_pack_str_body(&b->pk, s, n);
}

static void mpb_cstr(mpb *b, const char *s) {
  mpb_str(b, s, strlen(s));
}

/* A map {"title": T (N bytes)} plus EXTRA more pairs the caller packs. */
static void mpb_title_map(mpb *b, const char *t, size_t n, uint32_t extra) {
  mpb_init(b);
  msgpack_pack_map(&b->pk, 1 + extra);
  mpb_cstr(b, "title");
  mpb_str(b, t, n);
}

static void expect_error(int rc, const nf_error *e, const char *field, const char *what) {
  if (rc != -1) fail_msg("%s: accepted, expected an error on '%s'", what, field);
  if (strcmp(e->field, field))
    fail_msg("%s: error on field '%s' (%s), expected '%s'", what, e->field, e->msg, field);
  if (!e->msg[0]) fail_msg("%s: empty error message", what);
}

static void json_rejects(const char *json, const char *field) {
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  expect_error(dec_json(&it, json, &e), &e, field, json);
  nf_item_clear(&it);
}

static void mp_rejects(const void *p, size_t n, const char *field, const char *what) {
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  expect_error(dec_mp(&it, p, n, &e), &e, field, what);
  nf_item_clear(&it);
}

static void sb_rejects(mpb *b, const char *field, const char *what) {
  mp_rejects(b->sb.data, b->sb.size, field, what);
  msgpack_sbuffer_destroy(&b->sb);
}

/* JSON as text, and the same document converted to msgpack. */
static void both_reject(const char *json, const char *field) {
  json_rejects(json, field);
  msgpack_sbuffer sb;
  json_to_mp(json, &sb);
  mp_rejects(sb.data, sb.size, field, json);
  msgpack_sbuffer_destroy(&sb);
}

static void both_accept(const char *json) {
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  if (dec_json(&it, json, &e) != 0) fail_msg("JSON rejected: %s: %s: %s", json, e.field, e.msg);
  nf_item_clear(&it);
  msgpack_sbuffer sb;
  json_to_mp(json, &sb);
  if (dec_mp(&it, sb.data, sb.size, &e) != 0)
    fail_msg("msgpack rejected: %s: %s: %s", json, e.field, e.msg);
  nf_item_clear(&it);
  msgpack_sbuffer_destroy(&sb);
}

static void append_str(nf_buf *b, const char *s) {
  assert_int_equal(nf_buf_append(b, s, strlen(s)), 0);
}

static char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  assert_non_null(s);
  memset(s, c, n);
  s[n] = 0;
  return s;
}

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
