/*
 * fuzz-rules: the topic rule compiler (nf_rules_compile, docs/rules.md) and
 * the tagger built from what it compiles.
 *
 * The rules are compiled as DIR/fuzz.yaml, where DIR is a temporary folder
 * holding a small company-name dictionary, so that `dictionary:
 * symbols.yaml` loads (other names fail to open, which is an error path
 * too).  A rule set that compiles tags a few fixed items, with and without
 * explanations; every topic given must be a valid, unique topic name, and
 * the explanation (the query API's answer to op "tag") must be one msgpack
 * map.  A compile error must be valid UTF-8: the query API's op "reload"
 * sends it to the client as a msgpack string.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "tag/tagger.h"

static char dir[64], file[96], dict[96];

static void cleanup(void) {
  unlink(dict);
  rmdir(dir);
}

static const char dictionary[] = "version: 1\n"
                                 "symbols:\n"
                                 "  \"600519.SH\": [贵州茅台, Kweichow Moutai]\n"
                                 "  \"00700.HK\": [腾讯控股, Tencent Holdings]\n"
                                 "  \"AAPL.US\": [Apple Inc, 苹果公司]\n"
                                 "  \"BRK.B.US\": [Berkshire Hathaway]\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  snprintf(dir, sizeof dir, "/tmp/nf-fuzz-rules.XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    abort();
  }
  snprintf(file, sizeof file, "%s/fuzz.yaml", dir);
  snprintf(dict, sizeof dict, "%s/symbols.yaml", dir);
  FILE *f = fopen(dict, "w");
  if (!f || fwrite(dictionary, 1, sizeof dictionary - 1, f) != sizeof dictionary - 1) abort();
  fclose(f);
  atexit(cleanup);
  return 0;
}

typedef struct spec {
  nf_kind kind;
  const char *title, *summary, *body, *source;
  const char *symbols[2];
} spec;

static const spec items[] = {
    {NF_KIND_FLASH,
     "格隆汇7月4日丨汇景控股(09968.HK)公告，拟以每股0.82港元配售最多1.2亿股新股",
     NULL,
     NULL,
     "格隆汇",
     {"sh600519", NULL}},
    {NF_KIND_ARTICLE,
     "Fed holds rates steady, signals two cuts still possible this year",
     "Stocks rose; the Nasdaq gained.",
     "The Federal Reserve left rates unchanged. Apple Inc "
     "and Kweichow Moutai shares rose. AI chips, $NVDA, NASDAQ: AAPL.",
     "Reuters",
     {NULL}},
    {NF_KIND_ARTICLE,
     "英超第10轮：曼城2比1逆转阿森纳 哈兰德梅开二度",
     NULL,
     "北京时间周日晚，贵州茅台(600519)与腾讯控股公告……ＡＩ　芯片",
     "新华社",
     {"0700.HK", "BRK.B"}},
    {NF_KIND_FLASH,
     "ｆｏｏ BAR baz 人工智能 football election 地震",
     "summary",
     "body text",
     "ＳＯＵＲＣＥ",
     {NULL}},
};

static const char *item_dup(nf_item *it, const char *s) {
  return s ? nf_item_strdup(it, s, strlen(s)) : NULL;
}

static void tag_one(nf_tagger *t, const spec *s, bool explain) {
  nf_item it;
  nf_item_init(&it);
  it.kind = s->kind;
  it.title = item_dup(&it, s->title);
  it.summary = item_dup(&it, s->summary);
  it.body = item_dup(&it, s->body);
  it.source = item_dup(&it, s->source);
  size_t n = 0;
  while (n < 2 && s->symbols[n]) n++;
  if (n) {
    it.symbols = nf_item_alloc(&it, n * sizeof *it.symbols);
    for (size_t i = 0; i < n; i++) it.symbols[i] = item_dup(&it, s->symbols[i]);
    it.n_symbols = n;
  }
  nf_explain ex = {0};
  nf_error err;
  int rc = nf_tag_item(t, &it, explain ? &ex : NULL, &err);
  FZ_CHECK(rc == 0, "tagging a fixed item failed: %s: %s", err.field, err.msg);
  for (size_t i = 0; i < it.n_topics; i++) {
    const char *tp = it.topics[i];
    FZ_CHECK(tp && nf_topic_valid(tp, strlen(tp)), "invalid topic '%s'", tp ? tp : "(null)");
    for (size_t j = 0; j < i; j++)
      FZ_CHECK(strcmp(it.topics[j], tp) != 0, "topic '%s' given twice", tp);
  }
  FZ_CHECK(it.priority >= 1 && it.priority <= 9, "priority %d", it.priority);
  if (explain) {
    nf_buf b = {0};
    FZ_CHECK(nf_explain_pack(&it, &ex, &b) == 0, "nf_explain_pack failed");
    msgpack_unpacked up;
    FZ_CHECK(nf__mp_unpack_one(&up, b.data, b.len, 32, &err) == 0,
             "explanation is not one msgpack object: %s", err.msg);
    FZ_CHECK(up.data.type == MSGPACK_OBJECT_MAP, "explanation is not a map");
    msgpack_unpacked_destroy(&up);
    nf_buf_free(&b);
  }
  nf_explain_free(&ex);
  nf_item_clear(&it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nf_rules *r = NULL;
  char err[1024];
  err[0] = 0;
  if (nf_rules_compile((const char *)data, size, file, &r, err, sizeof err) < 0) {
    FZ_CHECK(err[0], "nf_rules_compile failed without a message");
    FZ_CHECK(fz_cstr_ok(err, sizeof err), "error is not NUL-terminated UTF-8: '%.1024s'", err);
    FZ_CHECK(r == NULL, "rules returned with an error");
    return 0;
  }
  FZ_CHECK(r != NULL && nf_rules_topics(r) > 0, "compiled rules without topics");
  nf_tagger *t = nf_tagger_new(r);
  FZ_CHECK(t != NULL, "nf_tagger_new failed");
  for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
    tag_one(t, &items[i], false);
    tag_one(t, &items[i], true);
  }
  nf_tagger_free(t);
  return 0;
}
