/*
 * test_rules.c -- unit tests for topic rules and tagging (src/tag/rules.c,
 * tagger.c): small rule sets compiled from strings, hand-made items, the
 * explanations, compile errors at FILE:LINE:COL, and the shipped default
 * rules on a few realistic items written for this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tag/tagger.h"

/* ---- helpers ------------------------------------------------------------ */

static nf_tagger *compile_rules(const char *yaml) {
  nf_rules *r = NULL;
  char err[512];
  if (nf_rules_compile(yaml, strlen(yaml), "rules.yaml", &r, err, sizeof err) != 0)
    fail_msg("rules do not compile: %s", err);
  nf_tagger *t = nf_tagger_new(r);
  assert_non_null(t);
  return t;
}

typedef struct spec {
  nf_kind kind;
  const char *title, *summary, *body, *source;
  const char *symbols[4];
} spec;

static const char *arena_dup(nf_item *it, const char *s) {
  return s ? nf_item_strdup(it, s, strlen(s)) : NULL;
}

static void make_item(nf_item *it, const spec *s) {
  nf_item_init(it);
  it->kind = s->kind;
  it->title = arena_dup(it, s->title);
  it->summary = arena_dup(it, s->summary);
  it->body = arena_dup(it, s->body);
  it->source = arena_dup(it, s->source);
  size_t n = 0;
  while (n < 4 && s->symbols[n]) n++;
  if (n) {
    it->symbols = nf_item_alloc(it, n * sizeof *it->symbols);
    for (size_t i = 0; i < n; i++) it->symbols[i] = arena_dup(it, s->symbols[i]);
    it->n_symbols = n;
  }
}

/* Tags an item made from S; fails the test on a tagging error. */
static void tag(nf_tagger *t, nf_item *it, const spec *s, nf_explain *ex) {
  make_item(it, s);
  nf_error e = {{0}};
  if (nf_tag_item(t, it, ex, &e) != 0) fail_msg("tagging failed: %s: %s", e.field, e.msg);
}

static bool has_topic(const nf_item *it, const char *topic) {
  for (size_t i = 0; i < it->n_topics; i++)
    if (!strcmp(it->topics[i], topic)) return true;
  return false;
}

static void dump_topics(const nf_item *it, char *out, size_t n) {
  out[0] = 0;
  for (size_t i = 0; i < it->n_topics; i++) {
    size_t l = strlen(out);
    snprintf(out + l, n - l, "%s%s", i ? "," : "", it->topics[i]);
  }
}

/* Does an item made from S get TOPIC?  Checks it equals WANT. */
static void expect_topic(nf_tagger *t, const spec *s, const char *topic, bool want) {
  nf_item it;
  tag(t, &it, s, NULL);
  if (has_topic(&it, topic) != want) {
    char got[512];
    dump_topics(&it, got, sizeof got);
    fail_msg("'%s' / '%s': %s %s; topics: %s", s->title ? s->title : "", s->body ? s->body : "",
             want ? "missing" : "unexpected", topic, got);
  }
  nf_item_clear(&it);
}

static spec title_only(const char *title) {
  spec s = {.kind = NF_KIND_ARTICLE, .title = title};
  return s;
}

static void expect_title(nf_tagger *t, const char *title, const char *topic, bool want) {
  spec s = title_only(title);
  expect_topic(t, &s, topic, want);
}

static void expect_body(nf_tagger *t, const char *body, const char *topic, bool want) {
  spec s = {.kind = NF_KIND_ARTICLE, .title = "x", .body = body};
  expect_topic(t, &s, topic, want);
}

static const nf_reason *find_reason(const nf_explain *ex, const char *topic, const char *what,
                                    const char *detail) {
  for (size_t i = 0; i < ex->n; i++) {
    const nf_reason *r = &ex->r[i];
    if (!strcmp(r->topic, topic) && !strcmp(r->what, what) &&
        (!detail || (r->detail && !strcmp(r->detail, detail))))
      return r;
  }
  return NULL;
}

/* ---- terms --------------------------------------------------------------- */

static const char ai_rules[] = "version: 1\n"
                               "topics:\n"
                               "  tech.ai:\n"
                               "    terms:\n"
                               "      - weight: 1\n"
                               "        match: [AI, 芯片]\n";

static void test_ai_term_respects_word_boundaries(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(ai_rules);
  expect_title(t, "He said officials will maintain the plan", "tech.ai", false);
  expect_title(t, "AIDS research funding rises", "tech.ai", false);
  expect_title(t, "OpenAI and Baidu sign deal", "tech.ai", false);
  expect_title(t, "New AI chips unveiled", "tech.ai", true);
  expect_title(t, "Why ai matters", "tech.ai", true);
  expect_title(t, "(AI) and more", "tech.ai", true);
  nf_tagger_free(t);
}

static void test_full_width_ai_matches(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(ai_rules);
  expect_title(t, "ＡＩ芯片需求旺盛", "tech.ai", true);
  expect_title(t, "国产ＡＩ大模型", "tech.ai", true);
  expect_title(t, "ＳＡＩＤ", "tech.ai", false);
  nf_tagger_free(t);
}

static void test_cjk_terms_match_as_substrings(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(ai_rules);
  expect_title(t, "国产芯片设计企业融资", "tech.ai", true);
  expect_title(t, "半导体设备订单增长", "tech.ai", false);
  nf_tagger_free(t);
}

static const char score_rules[] = "topics:\n"
                                  "  t:\n"
                                  "    threshold: 2\n"
                                  "    terms:\n"
                                  "      - weight: 1\n"
                                  "        match: [alpha, beta, 阿尔法]\n";

static void test_one_body_hit_below_threshold(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(score_rules);
  expect_body(t, "only alpha here", "t", false);
  expect_body(t, "只有阿尔法", "t", false);
  nf_tagger_free(t);
}

static void test_one_title_hit_tags(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(score_rules);
  expect_title(t, "alpha release", "t", true);
  spec s = {.kind = NF_KIND_ARTICLE, .title = "x", .summary = "alpha"};
  expect_topic(t, &s, "t", true); /* summary weight 2 */
  nf_tagger_free(t);
}

static void test_two_distinct_body_terms_tag(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(score_rules);
  expect_body(t, "alpha and beta", "t", true);
  expect_body(t, "alpha 和 阿尔法", "t", true);
  nf_tagger_free(t);
}

static void test_same_term_twice_in_body_counts_once(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(score_rules);
  expect_body(t, "alpha alpha alpha ALPHA", "t", false);
  expect_body(t, "阿尔法阿尔法", "t", false);
  /* counted once per field, and per item: the next item starts afresh */
  expect_body(t, "alpha beta", "t", true);
  expect_body(t, "beta", "t", false);
  nf_tagger_free(t);
}

static void test_field_weights_configurable(void **state) {
  (void)state;
  nf_tagger *t = compile_rules("weights: {title: 1, summary: 0, body: 2}\n"
                               "topics:\n  t:\n    terms: [alpha]\n");
  expect_title(t, "alpha", "t", false);
  spec s = {.kind = NF_KIND_ARTICLE, .title = "x", .summary = "alpha"};
  expect_topic(t, &s, "t", false);
  expect_body(t, "alpha", "t", true);
  nf_tagger_free(t);
}

static void test_fields_title_group_ignores_body(void **state) {
  (void)state;
  nf_tagger *t = compile_rules("topics:\n"
                               "  t:\n"
                               "    terms:\n"
                               "      - weight: 5\n"
                               "        fields: [title]\n"
                               "        match: [alpha]\n"
                               "      - fields: [body]\n"
                               "        match: [gamma]\n");
  expect_body(t, "alpha alpha", "t", false);
  expect_title(t, "alpha", "t", true);
  expect_title(t, "gamma", "t", false);
  expect_body(t, "gamma", "t", false); /* weight 1 x body 1 < 2 */
  nf_tagger_free(t);
}

/* ---- filters and signals ------------------------------------------------- */

static const char sports_rules[] = "topics:\n"
                                   "  sports:\n"
                                   "    terms:\n"
                                   "      - weight: 2\n"
                                   "        match: [冠军, football]\n"
                                   "    exclude:\n"
                                   "      - match: [销量冠军, boxing day]\n";

static void test_exclude_vetoes(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(sports_rules);
  expect_title(t, "女排夺得冠军", "sports", true);
  expect_title(t, "某品牌手机再获销量冠军", "sports", false);
  expect_title(t, "football fans", "sports", true);
  spec s = {.kind = NF_KIND_ARTICLE, .title = "Football results", .body = "Boxing Day sales"};
  expect_topic(t, &s, "sports", false); /* a body exclude vetoes a title hit */
  nf_tagger_free(t);
}

static const char source_rules[] = "topics:\n"
                                   "  finance.flash:\n"
                                   "    sources: [格隆汇, Reuters, \"ＡＡＳＴＯＣＫＳ\"]\n";

static void expect_source(nf_tagger *t, const char *source, bool want) {
  spec s = {.kind = NF_KIND_FLASH, .title = "x", .source = source};
  expect_topic(t, &s, "finance.flash", want);
}

static void test_sources_case_and_width_insensitive(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(source_rules);
  expect_source(t, "格隆汇", true);
  expect_source(t, "reuters", true);
  expect_source(t, "REUTERS", true);
  expect_source(t, "ＲＥＵＴＥＲＳ", true);
  expect_source(t, "ｒｅｕｔｅｒｓ", true);
  expect_source(t, "aastocks", true);
  expect_source(t, "Reuters Breakingviews", false);
  expect_source(t, "格隆汇 ", false);
  expect_source(t, NULL, false);
  nf_tagger_free(t);
}

/* Sources of one and two bytes, and ones that share their first bytes:
 * the comparison looks at two bytes before calling strcmp. */
static void test_sources_short_and_shared_prefix(void **state) {
  (void)state;
  nf_tagger *t = compile_rules("topics:\n"
                               "  finance.flash:\n"
                               "    sources: [a, ab, 格隆汇, 格隆]\n");
  expect_source(t, "a", true);
  expect_source(t, "ab", true);
  expect_source(t, "A", true);
  expect_source(t, "格隆", true);
  expect_source(t, "格隆汇", true);
  expect_source(t, "abc", false);
  expect_source(t, "b", false);
  expect_source(t, "格", false);
  expect_source(t, "格隆汇汇", false);
  expect_source(t, "", false);
  nf_tagger_free(t);
}

static const char kind_rules[] = "topics:\n"
                                 "  flashes:\n"
                                 "    kinds: [flash]\n"
                                 "    all: true\n"
                                 "  articles:\n"
                                 "    kinds: [article]\n"
                                 "    terms: [alpha]\n"
                                 "  tickers:\n"
                                 "    kinds: [ticker]\n"
                                 "    sources: [wire]\n";

static void test_kinds_filter(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(kind_rules);
  spec flash = {.kind = NF_KIND_FLASH, .title = "alpha", .source = "wire"};
  spec article = {.kind = NF_KIND_ARTICLE, .title = "alpha", .source = "wire"};
  expect_topic(t, &flash, "flashes", true);
  expect_topic(t, &flash, "articles", false);
  expect_topic(t, &flash, "tickers", true);
  expect_topic(t, &article, "flashes", false);
  expect_topic(t, &article, "articles", true);
  expect_topic(t, &article, "tickers", false);
  nf_tagger_free(t);
}

static const char from_rules[] = "topics:\n"
                                 "  finance.flash:\n"
                                 "    kinds: [flash]\n"
                                 "    from: [finance.market]\n"
                                 "  finance.market:\n"
                                 "    terms: [股市, stocks]\n";

static void test_from_follows_other_topic(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(from_rules); /* `from` may refer forward */
  spec flash = {.kind = NF_KIND_FLASH, .title = "A股股市午盘"};
  spec article = {.kind = NF_KIND_ARTICLE, .title = "A股股市午盘"};
  spec other = {.kind = NF_KIND_FLASH, .title = "天气晴"};
  expect_topic(t, &flash, "finance.market", true);
  expect_topic(t, &flash, "finance.flash", true);
  expect_topic(t, &article, "finance.market", true);
  expect_topic(t, &article, "finance.flash", false);
  expect_topic(t, &other, "finance.flash", false);
  nf_tagger_free(t);
}

static const char symbol_rules[] = "topics:\n"
                                   "  quotes:\n"
                                   "    symbols: true\n"
                                   "  quiet:\n"
                                   "    symbols: false\n";

static void test_symbols_true_topic(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(symbol_rules);
  spec with = {.kind = NF_KIND_FLASH, .title = "美新科技(301588)报收于18.48元"};
  spec producer = {.kind = NF_KIND_FLASH, .title = "无代码", .symbols = {"AAPL"}};
  spec without = {.kind = NF_KIND_FLASH, .title = "2025年7月4日收盘报18.48元"};
  expect_topic(t, &with, "quotes", true);
  expect_topic(t, &producer, "quotes", true);
  expect_topic(t, &without, "quotes", false);
  expect_topic(t, &with, "quiet", false);
  nf_tagger_free(t);
}

static const char implies_rules[] = "topics:\n"
                                    "  tech:\n"
                                    "    kinds: [article]\n"
                                    "    terms: [software]\n"
                                    "    exclude: [softball]\n"
                                    "  tech.ai:\n"
                                    "    implies: [tech]\n"
                                    "    terms:\n"
                                    "      - weight: 3\n"
                                    "        match: [AI]\n";

static void test_implies_parent_topic(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(implies_rules);
  spec article = {.kind = NF_KIND_ARTICLE, .title = "AI chips"};
  expect_topic(t, &article, "tech.ai", true);
  expect_topic(t, &article, "tech", true);
  spec plain = {.kind = NF_KIND_ARTICLE, .title = "Cloud news"};
  expect_topic(t, &plain, "tech", false);
  nf_tagger_free(t);
}

static void test_implied_topic_obeys_its_filters(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(implies_rules);
  spec flash = {.kind = NF_KIND_FLASH, .title = "AI chips"};
  expect_topic(t, &flash, "tech.ai", true);
  expect_topic(t, &flash, "tech", false); /* tech is for articles only */
  spec vetoed = {.kind = NF_KIND_ARTICLE, .title = "AI referee for softball"};
  expect_topic(t, &vetoed, "tech.ai", true);
  expect_topic(t, &vetoed, "tech", false); /* tech's own exclude */
  nf_tagger_free(t);
}

static void test_all_true_tags_every_item(void **state) {
  (void)state;
  nf_tagger *t = compile_rules("topics:\n  headline:\n    all: true\n  other:\n    terms: [zzz]\n");
  spec a = {.kind = NF_KIND_ARTICLE, .title = "x"};
  spec b = {.kind = NF_KIND_FLASH, .title = "快讯", .body = "正文"};
  expect_topic(t, &a, "headline", true);
  expect_topic(t, &b, "headline", true);
  expect_topic(t, &b, "other", false);
  nf_tagger_free(t);
}

static void test_headline_is_compact(void **state) {
  (void)state;
  nf_tagger *t =
      compile_rules("topics:\n  headline: {all: true}\n  brief: {compact: true, all: true}\n"
                    "  full: {compact: false, all: true}\n");
  const nf_rules *r = nf_tagger_rules(t);
  assert_true(nf_rules_compact(r, "headline"));
  assert_true(nf_rules_compact(r, "brief"));
  assert_false(nf_rules_compact(r, "full"));
  assert_false(nf_rules_compact(r, "nope"));
  assert_int_equal(nf_rules_topics(r), 3);
  nf_tagger_free(t);
  t = compile_rules("topics:\n  headline: {all: true, compact: false}\n");
  assert_true(nf_rules_compact(nf_tagger_rules(t), "headline")); /* SPEC 6 */
  nf_tagger_free(t);
}

/* ---- symbols ------------------------------------------------------------- */

static void assert_symbols(const nf_item *it, const char *const *want, size_t n) {
  if (it->n_symbols != n) {
    char got[256] = "";
    for (size_t i = 0; i < it->n_symbols; i++)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s ", it->symbols[i]);
    fail_msg("%zu symbols (%s), expected %zu", it->n_symbols, got, n);
  }
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(it->symbols[i], want[i]);
    char topic[64];
    snprintf(topic, sizeof topic, "sym.%s", want[i]);
    if (!has_topic(it, topic)) fail_msg("missing topic %s", topic);
  }
}

static void test_symbols_from_text(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(symbol_rules);
  nf_item it;
  spec s = {.kind = NF_KIND_FLASH,
            .title = "证券之星消息,截至2025年7月4日收盘,美新科技(301588)报收于18.48元,下跌1.39%"};
  tag(t, &it, &s, NULL);
  static const char *const want[] = {"301588.SZ"};
  assert_symbols(&it, want, 1);
  for (size_t i = 0; i < it.n_topics; i++)
    if (strstr(it.topics[i], "18") || strstr(it.topics[i], "2025"))
      fail_msg("number taken for a symbol: %s", it.topics[i]);
  nf_item_clear(&it);
  spec hk = {.kind = NF_KIND_FLASH, .title = "格隆汇7月4日丨汇景控股(09968.HK)公告"};
  tag(t, &it, &hk, NULL);
  static const char *const want_hk[] = {"09968.HK"};
  assert_symbols(&it, want_hk, 1);
  nf_item_clear(&it);
  nf_tagger_free(t);
}

static void test_producer_symbols_normalised(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(symbol_rules);
  nf_item it;
  spec s = {.kind = NF_KIND_FLASH,
            .title = "贵州茅台(600519)盘中走高",
            .symbols = {"sh600519", "0700.HK", "$aapl"}};
  tag(t, &it, &s, NULL);
  /* producer symbols first, then text; the text's 600519 is a duplicate */
  static const char *const want[] = {"600519.SH", "00700.HK", "AAPL.US"};
  assert_symbols(&it, want, 3);
  nf_item_clear(&it);
  nf_tagger_free(t);
}

static void test_invalid_producer_symbol_fails_on_symbols(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(symbol_rules);
  const char *bad[] = {"NOT A SYMBOL", "123", "000001.SH", "600519.XX"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    spec s = {.kind = NF_KIND_FLASH, .title = "x", .symbols = {bad[i]}};
    nf_item it;
    make_item(&it, &s);
    nf_error e = {{0}};
    if (nf_tag_item(t, &it, NULL, &e) != -1) fail_msg("'%s' accepted", bad[i]);
    assert_string_equal(e.field, "symbols");
    assert_non_null(strstr(e.msg, bad[i]));
    nf_item_clear(&it);
  }
  nf_tagger_free(t);
}

/* ---- explanations -------------------------------------------------------- */

static void test_explain_lists_term_field_and_score(void **state) {
  (void)state;
  nf_tagger *t = compile_rules(score_rules);
  nf_explain ex = {0};
  nf_item it;
  spec s = {.kind = NF_KIND_ARTICLE, .title = "Alpha release", .body = "beta, and 阿尔法"};
  tag(t, &it, &s, &ex);
  const nf_reason *r = find_reason(&ex, "t", "term", "alpha");
  assert_non_null(r);
  assert_string_equal(r->field, "title");
  assert_int_equal(r->score, 3);
  r = find_reason(&ex, "t", "term", "beta");
  assert_non_null(r);
  assert_string_equal(r->field, "body");
  assert_int_equal(r->score, 1);
  r = find_reason(&ex, "t", "term", "阿尔法");
  assert_non_null(r);
  assert_string_equal(r->field, "body");
  nf_item_clear(&it);
  nf_explain_free(&ex);
  nf_tagger_free(t);
}

static void test_explain_other_reasons(void **state) {
  (void)state;
  nf_tagger *t = compile_rules("topics:\n"
                               "  sports:\n    terms: [football]\n    exclude: [boxing day]\n"
                               "  wire:\n    sources: [Reuters]\n    implies: [parent]\n"
                               "  parent: {}\n"
                               "  quotes:\n    symbols: true\n"
                               "  headline:\n    all: true\n");
  nf_explain ex = {0};
  nf_item it;
  spec s = {.kind = NF_KIND_FLASH,
            .title = "Football on Boxing Day",
            .source = "reuters",
            .symbols = {"AAPL"}};
  tag(t, &it, &s, &ex);
  const nf_reason *r = find_reason(&ex, "sports", "exclude", "boxing day");
  assert_non_null(r);
  assert_string_equal(r->field, "title");
  assert_false(has_topic(&it, "sports"));
  assert_non_null(find_reason(&ex, "wire", "source", NULL));
  assert_non_null(find_reason(&ex, "parent", "implied", "wire"));
  assert_non_null(find_reason(&ex, "quotes", "symbols", "AAPL.US"));
  assert_non_null(find_reason(&ex, "headline", "all", NULL));
  assert_non_null(find_reason(&ex, "sym.AAPL.US", "symbol", "AAPL.US"));
  nf_item_clear(&it);
  nf_explain_free(&ex);
  nf_tagger_free(t);
}

/* ---- compile errors ------------------------------------------------------ */

static void expect_compile_error(const char *yaml, int line, int col, const char *want) {
  nf_rules *r = NULL;
  char err[512], prefix[64];
  if (nf_rules_compile(yaml, strlen(yaml), "rules.yaml", &r, err, sizeof err) != -1) {
    nf_rules_free(r);
    fail_msg("compiled: %s", yaml);
  }
  snprintf(prefix, sizeof prefix, "rules.yaml:%d:%d: ", line, col);
  if (strncmp(err, prefix, strlen(prefix)))
    fail_msg("error '%s' does not start with '%s'", err, prefix);
  if (!strstr(err, want)) fail_msg("error '%s' does not mention '%s'", err, want);
}

static void test_error_unknown_topic_key(void **state) {
  (void)state;
  expect_compile_error("version: 1\ntopics:\n  t:\n    thresold: 2\n", 4, 5, "'thresold'");
}

static void test_error_unknown_group_key(void **state) {
  (void)state;
  expect_compile_error("topics:\n  t:\n    terms:\n      - wieght: 2\n        match: [a]\n", 4, 9,
                       "'wieght'");
  expect_compile_error("topics:\n  t:\n    exclude:\n      - weight: 2\n        match: [a]\n", 4, 9,
                       "'weight'");
}

static void test_error_weight_out_of_range(void **state) {
  (void)state;
  expect_compile_error("topics:\n  t:\n    terms:\n      - weight: 0\n        match: [a]\n", 4, 17,
                       "weight");
  expect_compile_error("topics:\n  t:\n    terms:\n      - weight: 101\n        match: [a]\n", 4,
                       17, "weight");
  expect_compile_error("topics:\n  t:\n    terms:\n      - weight: heavy\n        match: [a]\n", 4,
                       17, "weight");
}

static void test_error_from_unknown_topic(void **state) {
  (void)state;
  expect_compile_error("topics:\n  t:\n    from: [tech, nope]\n  tech: {}\n", 3, 18,
                       "no topic named 'nope'");
  expect_compile_error("topics:\n  t:\n    implies: [nope]\n", 3, 15, "'nope'");
}

static void test_error_cycle(void **state) {
  (void)state;
  expect_compile_error("topics:\n  a:\n    from: [b]\n  b:\n    from: [a]\n", 2, 3, "cycle");
  expect_compile_error("topics:\n  a:\n    implies: [b]\n  b:\n    implies: [a]\n", 2, 3, "cycle");
  expect_compile_error("topics:\n  a:\n    from: [b]\n    implies: [b]\n  b: {}\n", 2, 3, "cycle");
  expect_compile_error("topics:\n  a:\n    from: [a]\n", 2, 3, "cycle");
  /* b -> a (from), a -> c (implies), c -> b (from) */
  expect_compile_error("topics:\n  a: {from: [b], implies: [c]}\n  b: {from: [c]}\n  c: {}\n", 2, 3,
                       "cycle");
  /* a diamond is not a cycle */
  nf_tagger_free(
      compile_rules("topics:\n  a: {from: [b]}\n  b: {from: [c]}\n  c: {implies: [a]}\n"));
}

static void test_error_duplicate_topic(void **state) {
  (void)state;
  expect_compile_error("topics:\n  t: {all: true}\n  u: {}\n  t: {}\n", 4, 3, "duplicate key 't'");
}

static void test_error_invalid_topic_name(void **state) {
  (void)state;
  expect_compile_error("topics:\n  bad name: {}\n", 2, 3, "invalid topic name");
  expect_compile_error("topics:\n  a..b: {}\n", 2, 3, "invalid topic name");
  expect_compile_error("topics:\n  中文: {}\n", 2, 3, "invalid topic name");
  expect_compile_error("topics:\n  finance.>: {}\n", 2, 3, "invalid topic name");
}

static void test_error_sym_topic(void **state) {
  (void)state;
  expect_compile_error("topics:\n  ok: {}\n  sym.AAPL.US: {all: true}\n", 3, 3, "sym.");
}

static void test_error_term_too_long(void **state) {
  (void)state;
  char yaml[600], term[257];
  memset(term, 'x', 256);
  term[256] = 0;
  snprintf(yaml, sizeof yaml, "topics:\n  t:\n    terms: [ok, %s]\n", term);
  expect_compile_error(yaml, 3, 17, "1..255 bytes");
  term[255] = 0; /* 255 bytes is fine */
  snprintf(yaml, sizeof yaml, "topics:\n  t:\n    terms: [ok, %s]\n", term);
  nf_tagger_free(compile_rules(yaml));
  expect_compile_error("topics:\n  t:\n    terms: [\"  \"]\n", 3, 13, "1..255 bytes");
}

static void test_error_version_2(void **state) {
  (void)state;
  expect_compile_error("version: 2\ntopics:\n  t: {}\n", 1, 10, "version");
  /* a bad boolean for compact was read uninitialised before (fuzz-rules) */
  expect_compile_error("topics:\n  t: {compact: 64}\n", 2, 16, "compact must be true or false");
}

static void test_error_no_topics(void **state) {
  (void)state;
  expect_compile_error("version: 1\n", 1, 1, "no topics");
  expect_compile_error("version: 1\ntopics: {}\n", 1, 1, "no topics");
}

static void test_error_other_structure(void **state) {
  (void)state;
  expect_compile_error("verison: 1\ntopics:\n  t: {}\n", 1, 1, "'verison'");
  expect_compile_error("topics:\n  t:\n    kinds: [video]\n", 3, 13, "kinds");
  expect_compile_error("topics:\n  t:\n    terms:\n      - fields: [head]\n        match: [a]\n", 4,
                       18, "fields");
  expect_compile_error("weights: {titel: 3}\ntopics:\n  t: {}\n", 1, 11, "weights");
  expect_compile_error("topics:\n  t: {}\n---\ntopics:\n  u: {}\n", 1, 1, "one YAML document");
  expect_compile_error("topics:\n  t:\n    terms: &x [a]\n  u:\n    terms: *x\n", 3, 12, "anchors");
}

static void test_error_non_scalar_keys(void **state) {
  (void)state;
  /* Was a bug: a non-scalar key crashed the compiler.  The YAML tree now
   * refuses such keys for every consumer, at the key's position. */
  expect_compile_error("topics:\n  ? [x]\n  : {}\n", 2, 5, "keys must be plain names");
  expect_compile_error("weights:\n  ? [k]\n  : 1\ntopics:\n  t: {}\n", 2, 5, "keys must be plain");
  expect_compile_error("? [a]\n: 1\ntopics:\n  t: {}\n", 1, 3, "key");
  expect_compile_error("topics:\n  t:\n    terms:\n      - {[x]: 1, match: [a]}\n", 4, 10, "key");
}

/* ---- the shipped rules --------------------------------------------------- */

static nf_tagger *builtin(void) {
  nf_rules *r = NULL;
  char err[512];
  if (nf_rules_load_builtin(&r, err, sizeof err) != 0) fail_msg("%s", err);
  assert_true(nf_rules_topics(r) >= 10);
  assert_true(nf_rules_terms(r) > 500);
  assert_true(nf_rules_compact(r, "headline"));
  nf_tagger *t = nf_tagger_new(r);
  assert_non_null(t);
  return t;
}

static void expect_topics(nf_tagger *t, const spec *s, const char *const *want,
                          const char *const *absent) {
  for (; *want; want++) expect_topic(t, s, *want, true);
  for (; absent && *absent; absent++) expect_topic(t, s, *absent, false);
}

static void test_builtin_hk_flash(void **state) {
  (void)state;
  nf_tagger *t = builtin();
  spec s = {.kind = NF_KIND_FLASH,
            .source = "格隆汇",
            .title = "格隆汇7月8日丨中国旭阳集团(01907.HK)公告，拟以先旧后新方式配售股份，"
                     "预计募资净额约3.2亿港元"};
  static const char *const want[] = {"headline", "finance.flash", "sym.01907.HK", NULL};
  static const char *const absent[] = {"sports", "society", NULL};
  expect_topics(t, &s, want, absent);
  nf_tagger_free(t);
}

static void test_builtin_nba_recap(void **state) {
  (void)state;
  nf_tagger *t = builtin();
  spec s = {.kind = NF_KIND_ARTICLE,
            .source = "Associated Press",
            .title = "Celtics rally past Knicks 118-109 behind Tatum's 38 points",
            .body = "Jayson Tatum scored 38 points, Jaylen Brown added 24 and the Boston "
                    "Celtics rallied in the fourth quarter to beat the New York Knicks "
                    "118-109 on Saturday night. The Celtics improved to 3-1 in the series "
                    "and can close it out at home. Jalen Brunson led New York with 31 points "
                    "and the head coach said the team would regroup before Game 5 of the NBA "
                    "playoffs."};
  static const char *const want[] = {"headline", "sports", NULL};
  static const char *const absent[] = {"finance.flash", "tech", "society", NULL};
  expect_topics(t, &s, want, absent);
  nf_tagger_free(t);
}

static void test_builtin_typhoon_warning(void **state) {
  (void)state;
  nf_tagger *t = builtin();
  spec s = {.kind = NF_KIND_ARTICLE, .title = "Typhoon warning issued for Guangdong"};
  static const char *const want[] = {"headline", "society", NULL};
  static const char *const absent[] = {"sports", "finance.flash", NULL};
  expect_topics(t, &s, want, absent);
  spec zh = {.kind = NF_KIND_FLASH, .title = "广东省气象台发布台风橙色预警，多地停课"};
  static const char *const want_zh[] = {"society", NULL};
  expect_topics(t, &zh, want_zh, NULL);
  nf_tagger_free(t);
}

static void test_builtin_ai_chip_article(void **state) {
  (void)state;
  nf_tagger *t = builtin();
  spec s = {.kind = NF_KIND_ARTICLE,
            .source = "TechWire",
            .title = "Startup unveils AI chips to rival Nvidia in data centers",
            .body = "The company said its new accelerator runs large language models at "
                    "half the power of current GPUs, and will ship to cloud providers next "
                    "year."};
  static const char *const want[] = {"headline", "tech.ai", "tech", NULL};
  static const char *const absent[] = {"sports", "finance.flash", NULL};
  expect_topics(t, &s, want, absent);
  spec zh = {.kind = NF_KIND_ARTICLE, .title = "国产ＡＩ芯片厂商发布新一代大模型训练平台"};
  static const char *const want_zh[] = {"tech.ai", "tech", NULL};
  expect_topics(t, &zh, want_zh, NULL);
  nf_tagger_free(t);
}

static void test_builtin_said_is_not_ai(void **state) {
  (void)state;
  nf_tagger *t = builtin();
  spec s = {.kind = NF_KIND_ARTICLE,
            .title = "Mayor said the bridge will remain open",
            .body = "Officials said they would maintain the schedule."};
  expect_topic(t, &s, "tech.ai", false);
  nf_tagger_free(t);
}

/* "Fed holds rates steady" is how wires write it; the verb "fed" is not
 * the Fed. */
static void test_builtin_fed_headlines(void **state) {
  (void)state;
  nf_tagger *t = builtin();
  static const char *const fed[] = {"Fed holds rates steady, signals two cuts this year",
                                    "Fed's Waller says more cuts are likely",
                                    "Bank of Canada keeps rates on hold", NULL};
  static const char *const want[] = {"finance.macro", "finance.flash", NULL};
  for (const char *const *title = fed; *title; title++) {
    spec s = {.kind = NF_KIND_FLASH, .title = *title};
    expect_topics(t, &s, want, NULL);
  }
  static const char *const verb[] = {"Farmers fed up with low grain prices",
                                     "Stray cats fed by volunteers through the winter", NULL};
  for (const char *const *title = verb; *title; title++) {
    spec s = {.kind = NF_KIND_FLASH, .title = *title};
    expect_topic(t, &s, "finance.macro", false);
  }
  nf_tagger_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ai_term_respects_word_boundaries),
      cmocka_unit_test(test_full_width_ai_matches),
      cmocka_unit_test(test_cjk_terms_match_as_substrings),
      cmocka_unit_test(test_one_body_hit_below_threshold),
      cmocka_unit_test(test_one_title_hit_tags),
      cmocka_unit_test(test_two_distinct_body_terms_tag),
      cmocka_unit_test(test_same_term_twice_in_body_counts_once),
      cmocka_unit_test(test_field_weights_configurable),
      cmocka_unit_test(test_fields_title_group_ignores_body),
      cmocka_unit_test(test_exclude_vetoes),
      cmocka_unit_test(test_sources_case_and_width_insensitive),
      cmocka_unit_test(test_sources_short_and_shared_prefix),
      cmocka_unit_test(test_kinds_filter),
      cmocka_unit_test(test_from_follows_other_topic),
      cmocka_unit_test(test_symbols_true_topic),
      cmocka_unit_test(test_implies_parent_topic),
      cmocka_unit_test(test_implied_topic_obeys_its_filters),
      cmocka_unit_test(test_all_true_tags_every_item),
      cmocka_unit_test(test_headline_is_compact),
      cmocka_unit_test(test_symbols_from_text),
      cmocka_unit_test(test_producer_symbols_normalised),
      cmocka_unit_test(test_invalid_producer_symbol_fails_on_symbols),
      cmocka_unit_test(test_explain_lists_term_field_and_score),
      cmocka_unit_test(test_explain_other_reasons),
      cmocka_unit_test(test_error_unknown_topic_key),
      cmocka_unit_test(test_error_unknown_group_key),
      cmocka_unit_test(test_error_weight_out_of_range),
      cmocka_unit_test(test_error_from_unknown_topic),
      cmocka_unit_test(test_error_cycle),
      cmocka_unit_test(test_error_duplicate_topic),
      cmocka_unit_test(test_error_invalid_topic_name),
      cmocka_unit_test(test_error_sym_topic),
      cmocka_unit_test(test_error_term_too_long),
      cmocka_unit_test(test_error_version_2),
      cmocka_unit_test(test_error_no_topics),
      cmocka_unit_test(test_error_other_structure),
      cmocka_unit_test(test_error_non_scalar_keys),
      cmocka_unit_test(test_builtin_hk_flash),
      cmocka_unit_test(test_builtin_nba_recap),
      cmocka_unit_test(test_builtin_typhoon_warning),
      cmocka_unit_test(test_builtin_ai_chip_article),
      cmocka_unit_test(test_builtin_said_is_not_ai),
      cmocka_unit_test(test_builtin_fed_headlines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
