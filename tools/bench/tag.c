/*
 * tag.c -- `newsfeed-bench tag`: speed of the multi-pattern matcher and of
 * the end-to-end tagger on realistic terms and texts, with Hyperscan side
 * by side when the build found it (NF_HAVE_HS).
 *
 * Terms (deterministic; every list of N terms is a prefix-like subset of
 * the next larger one):
 *   - seeds: the terms of the default rules (conf/rules.yaml, terms and
 *     excludes) and the names of the symbol dictionary (conf/symbols.yaml),
 *     folded and deduplicated, both from the copies built into libnftag;
 *   - N <= rule terms: a fixed-seed sample of the rule terms; up to rule
 *     terms + names: all rule terms and a sample of the names;
 *   - beyond: every seed, then generated terms until N: Chinese words of
 *     2-4 characters drawn from the characters of the corpus (weighted by
 *     the square root of their frequency), Chinese company names (a stem
 *     and 科技/集团/银行...), English words (not the 100 most frequent) and
 *     bigrams (seen in the corpus, or two corpus words), English company
 *     names (a corpus word or made-up name + Inc/Holdings/...), cashtags,
 *     tickers and A-share/Hong Kong codes.
 *
 * Texts: items built from the labelled corpus (tests/corpus/labelled.jsonl,
 * built in; --corpus FILE for another): 90% flashes of 100-300 bytes (a
 * corpus flash, topped up with other titles of its language) and 10%
 * articles of 2-20 KB (a corpus article's title and body, continued with
 * paragraphs of other bodies of its language), until >= 32 MiB, fixed
 * seed.  The texts are folded once as the tagger folds them; the matcher
 * and Hyperscan scan the folded title and body of each item separately, as
 * the tagger does.  Folding is timed on its own, and the tagger end to end
 * (nf_tag_item with the default rules, on the raw items).
 *
 * Timing: one untimed pass, then R runs (--runs, default 5).  A run scans
 * all flashes repeatedly for >= S/2 seconds and all articles for >= S/2
 * (--seconds S, default 2), giving MB/s and mean us per item without
 * per-item clocks; then the items in corpus order, each timed (clock cost
 * subtracted), for >= S/2 seconds, giving p50/p99 per kind.  Reported
 * figures are medians over the runs; compile times are medians of R
 * compiles.  Wall-clock time is the measure; the thread's CPU time is
 * recorded too, so that a run on a shared machine shows how much of the
 * time it actually ran (CPU share) and what it did per second of CPU.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tag/fold.h"
#include "tag/matcher.h"
#include "tag/tagger.h"
#include "toolutil.h"
#include "util/yaml_tree.h"

#ifndef NF_HAVE_HS
#define NF_HAVE_HS 0
#endif
#if NF_HAVE_HS
#include <hs.h>
#endif

/* Built into libnftag (conf/rules.yaml, conf/symbols.yaml) and into this program (the corpus). */
extern const char nf_default_rules[];
extern const size_t nf_default_rules_len;
extern const char nf_default_symbols[];
extern const size_t nf_default_symbols_len;
extern const char nf_bench_corpus[];
extern const size_t nf_bench_corpus_len;

#define PROG BENCH_PROG " tag"
#define FOLD_FLAGS (NF_FOLD_WIDTH | NF_FOLD_CASE)
#define CORPUS_MIN ((size_t)32 << 20)
#define SEED 0x6E65777366656564ull /* "newsfeed" */
#define MAX_N 16

enum { K_FLASH = 0, K_ARTICLE = 1, NKINDS = 2 };
static const char *const kind_names[NKINDS] = {"flash", "article"};

typedef struct opts {
  size_t terms[MAX_N];
  size_t n_terms;
  double seconds;
  int runs;
  const char *corpus;
  bool json, no_hs, print_terms;
} opts;

static void usage(FILE *f) {
  fprintf(f,
          "usage: newsfeed-bench tag [OPTIONS]\n"
          "\n"
          "Speed of the tag matcher (and of Hyperscan on the same terms and texts, when\n"
          "built with libhs) for N terms, and of the whole tagger with the default rules,\n"
          "on >= 32 MiB of generated news items (90%% flashes of 100-300 B, 10%% articles\n"
          "of 2-20 KB) made from the labelled corpus.  Deterministic terms and texts.\n"
          "\n"
          "Options:\n"
          "      --terms N      number of terms; repeat for several (default 1000, 10000,\n"
          "                     100000)\n"
          "      --seconds S    minimum scanning time of each run (default 2)\n"
          "      --runs R       runs per measurement; medians are reported (default 5)\n"
          "      --corpus FILE  JSON Lines corpus to build texts and vocabulary from\n"
          "                     (default: the built-in tests/corpus/labelled.jsonl)\n"
          "      --no-hyperscan skip the Hyperscan comparison\n"
          "      --json         one JSON object per line: one per N, then the tagger\n"
          "      --print-terms  print the terms of each N, one per line, and exit\n"
          "  -h, --help         show this help\n");
}

/* ---- growable bytes -------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t more) {
  if (b->n + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->n + more) cap *= 2;
  b->p = bench_xrealloc(b->p, cap);
  b->cap = cap;
}

static void sb_add(sbuf *b, const void *s, size_t n) {
  sb_reserve(b, n + 1);
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Cuts the text that starts at START down to at most MAX bytes, on a UTF-8
 * character boundary. */
static void sb_cut(sbuf *b, size_t start, size_t max) {
  if (b->n - start <= max) return;
  size_t k = start + max;
  while (k > start && ((unsigned char)b->p[k] & 0xC0) == 0x80) k--;
  b->n = k;
  b->p[k] = 0;
}

/* ---- term sets: folded, deduplicated strings ------------------------------ */

typedef struct termset {
  sbuf bytes;    /* each entry NUL-terminated */
  uint32_t *off; /* entry i at bytes.p + off[i] */
  uint8_t *len;
  uint32_t *count; /* times put */
  size_t n, cap;
  uint32_t *slot; /* hash table: entry + 1, 0 = empty */
  size_t mask;
} termset;

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

static const char *ts_str(const termset *ts, size_t i) { return ts->bytes.p + ts->off[i]; }

static void ts_rehash(termset *ts) {
  size_t size = ts->slot ? (ts->mask + 1) * 2 : 1024;
  free(ts->slot);
  ts->slot = bench_xcalloc(size, sizeof *ts->slot);
  ts->mask = size - 1;
  for (size_t i = 0; i < ts->n; i++) {
    size_t h = (size_t)hash_bytes(ts_str(ts, i), ts->len[i]) & ts->mask;
    while (ts->slot[h]) h = (h + 1) & ts->mask;
    ts->slot[h] = (uint32_t)i + 1;
  }
}

/* Puts S (trimmed of blanks, folded as the rules fold terms); returns its
 * entry, or -1 when it is empty or longer than 255 bytes.  *ADDED tells
 * whether it is new. */
static long ts_put(termset *ts, const char *s, size_t n, bool *added) {
  char f[256];
  *added = false;
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0 || n > 255) return -1;
  size_t fl = nf_fold(s, n, f, FOLD_FLAGS);
  if (!ts->slot || (ts->n + 1) * 2 > ts->mask + 1) ts_rehash(ts);
  size_t h = (size_t)hash_bytes(f, fl) & ts->mask;
  while (ts->slot[h]) {
    size_t i = ts->slot[h] - 1;
    if (ts->len[i] == fl && !memcmp(ts_str(ts, i), f, fl)) {
      ts->count[i]++;
      return (long)i;
    }
    h = (h + 1) & ts->mask;
  }
  if (ts->n == ts->cap) {
    ts->cap = ts->cap ? ts->cap * 2 : 1024;
    ts->off = bench_xrealloc(ts->off, ts->cap * sizeof *ts->off);
    ts->len = bench_xrealloc(ts->len, ts->cap * sizeof *ts->len);
    ts->count = bench_xrealloc(ts->count, ts->cap * sizeof *ts->count);
  }
  ts->off[ts->n] = (uint32_t)ts->bytes.n;
  ts->len[ts->n] = (uint8_t)fl;
  ts->count[ts->n] = 1;
  sb_add(&ts->bytes, f, fl);
  sb_reserve(&ts->bytes, 1);
  ts->bytes.n++; /* keep the NUL */
  ts->slot[h] = (uint32_t)ts->n + 1;
  *added = true;
  return (long)ts->n++;
}

static bool ts_add(termset *ts, const char *s, size_t n) {
  bool added;
  ts_put(ts, s, n, &added);
  return added;
}

static void ts_free(termset *ts) {
  free(ts->bytes.p);
  free(ts->off);
  free(ts->len);
  free(ts->count);
  free(ts->slot);
  *ts = (termset){0};
}

/* ---- seed terms: the default rules and symbol dictionary ------------------ */

static void parse_yaml(const char *buf, size_t len, const char *name, nf_ydocs *docs) {
  char err[512];
  if (nf_yaml_parse(buf, len, name, docs, err, sizeof err) < 0) nf_die(PROG, 1, "%s", err);
  if (docs->n != 1 || docs->docs[0]->type != NF_Y_MAP) nf_die(PROG, 1, "%s: not one map", name);
}

static void add_scalars(termset *ts, const nf_ynode *seq) {
  if (!seq || seq->type != NF_Y_SEQ) return;
  for (size_t i = 0; i < seq->n; i++)
    if (seq->kids[i]->type == NF_Y_SCALAR) ts_add(ts, seq->kids[i]->str, seq->kids[i]->len);
}

/* Every term of every topic (terms and exclude groups) of the default rules,
 * then every name of the dictionary; returns the number of rule terms. */
static size_t load_seeds(termset *ts) {
  nf_ydocs docs;
  parse_yaml(nf_default_rules, nf_default_rules_len, "<built-in rules.yaml>", &docs);
  const nf_ynode *topics = nf_ymap_get(docs.docs[0], "topics");
  for (size_t i = 1; topics && topics->type == NF_Y_MAP && i < topics->n; i += 2) {
    const nf_ynode *t = topics->kids[i];
    if (t->type != NF_Y_MAP) continue;
    static const char *const keys[] = {"terms", "exclude"};
    for (size_t k = 0; k < 2; k++) {
      const nf_ynode *groups = nf_ymap_get(t, keys[k]);
      for (size_t g = 0; groups && groups->type == NF_Y_SEQ && g < groups->n; g++) {
        const nf_ynode *grp = groups->kids[g];
        if (grp->type == NF_Y_SCALAR) ts_add(ts, grp->str, grp->len);
        else if (grp->type == NF_Y_MAP) add_scalars(ts, nf_ymap_get(grp, "match"));
      }
    }
  }
  nf_yaml_free(&docs);
  size_t n_rules = ts->n;
  parse_yaml(nf_default_symbols, nf_default_symbols_len, "<built-in symbols.yaml>", &docs);
  const nf_ynode *syms = nf_ymap_get(docs.docs[0], "symbols");
  for (size_t i = 1; syms && syms->type == NF_Y_MAP && i < syms->n; i += 2)
    add_scalars(ts, syms->kids[i]);
  nf_yaml_free(&docs);
  return n_rules;
}

/* ---- the source corpus ---------------------------------------------------- */

typedef struct src_item {
  char *title, *body, *source; /* body and source may be NULL */
  bool zh;
  int kind; /* K_FLASH / K_ARTICLE */
} src_item;

typedef struct span {
  const char *p;
  size_t n;
} span;

typedef struct source {
  src_item *it;
  size_t n;
  /* per language (0 en, 1 zh): item indexes and body paragraphs */
  uint32_t *items[2];
  size_t n_items[2];
  uint32_t *flashes, *articles;
  size_t n_flashes, n_articles;
  span *paras[2];
  size_t n_paras[2];
} source;

static bool has_cjk(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p >= 0xE3 && *p <= 0xE9) return true;
  return false;
}

static char *dup_field(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  if (!s || !*s) return NULL;
  size_t n = strlen(s);
  char *d = bench_xmalloc(n + 1);
  memcpy(d, s, n + 1);
  return d;
}

static void push_u32(uint32_t **v, size_t *n, uint32_t x) {
  if ((*n & (*n - 1)) == 0) *v = bench_xrealloc(*v, (*n ? *n * 2 : 1) * sizeof **v);
  (*v)[(*n)++] = x;
}

static void load_source(source *s, const char *path) {
  nf_buf file = {0};
  const char *buf = nf_bench_corpus;
  size_t len = nf_bench_corpus_len;
  if (path) {
    if (nf_read_all(path, &file) < 0) nf_die(PROG, 1, "%s: %s", path, strerror(errno));
    buf = file.data ? file.data : "";
    len = file.len;
  }
  size_t cap = 0;
  for (size_t pos = 0, line = 1; pos < len; line++) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len;
    size_t start = pos;
    pos = end + 1;
    while (start < end && (buf[start] == ' ' || buf[start] == '\r')) start++;
    if (start == end) continue;
    json_error_t jerr;
    json_t *root = json_loadb(buf + start, end - start, 0, &jerr);
    if (!root) nf_die(PROG, 1, "%s:%zu: %s", path ? path : "<built-in corpus>", line, jerr.text);
    json_t *o = json_object_get(root, "item");
    if (!json_is_object(o)) o = root;
    src_item it = {.title = dup_field(o, "title"), .body = dup_field(o, "body"),
                   .source = dup_field(o, "source")};
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *lang = json_string_value(json_object_get(o, "lang"));
    it.kind = kind && (!strcmp(kind, "flash") || !strcmp(kind, "ticker")) ? K_FLASH : K_ARTICLE;
    it.zh = lang ? !strncmp(lang, "zh", 2) : has_cjk(it.title ? it.title : "");
    json_decref(root);
    if (!it.title) {
      free(it.body);
      free(it.source);
      continue;
    }
    if (s->n == cap) {
      cap = cap ? cap * 2 : 512;
      s->it = bench_xrealloc(s->it, cap * sizeof *s->it);
    }
    s->it[s->n++] = it;
  }
  nf_buf_free(&file);
  if (s->n == 0) nf_die(PROG, 1, "%s: no items with a title", path ? path : "<built-in corpus>");
  for (size_t i = 0; i < s->n; i++) {
    src_item *it = &s->it[i];
    push_u32(&s->items[it->zh], &s->n_items[it->zh], (uint32_t)i);
    if (it->kind == K_FLASH) push_u32(&s->flashes, &s->n_flashes, (uint32_t)i);
    else push_u32(&s->articles, &s->n_articles, (uint32_t)i);
    /* paragraphs: the body's non-blank lines */
    for (const char *p = it->body; p && *p;) {
      size_t n = strcspn(p, "\n");
      size_t a = 0;
      while (a < n && (p[a] == ' ' || p[a] == '\r')) a++;
      if (n - a >= 16) {
        size_t k = s->n_paras[it->zh];
        if ((k & (k - 1)) == 0)
          s->paras[it->zh] = bench_xrealloc(s->paras[it->zh], (k ? k * 2 : 1) * sizeof(span));
        s->paras[it->zh][k] = (span){p + a, n - a};
        s->n_paras[it->zh]++;
      }
      p += n;
      while (*p == '\n') p++;
    }
  }
  if (s->n_articles == 0) { /* a corpus of flashes only: articles from any item */
    s->articles = bench_xmalloc(s->n * sizeof *s->articles);
    for (size_t i = 0; i < s->n; i++) s->articles[i] = (uint32_t)i;
    s->n_articles = s->n;
  }
  if (s->n_flashes == 0) {
    s->flashes = bench_xmalloc(s->n * sizeof *s->flashes);
    for (size_t i = 0; i < s->n; i++) s->flashes[i] = (uint32_t)i;
    s->n_flashes = s->n;
  }
}

static void free_source(source *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->it[i].title);
    free(s->it[i].body);
    free(s->it[i].source);
  }
  free(s->it);
  for (int l = 0; l < 2; l++) {
    free(s->items[l]);
    free(s->paras[l]);
  }
  free(s->flashes);
  free(s->articles);
}

/* ---- vocabulary of the corpus, for generated terms ------------------------ */

#define CJK_LO 0x4E00u
#define CJK_HI 0x9FFFu

typedef struct vocab {
  uint32_t *cjk; /* characters seen, code point order */
  double *cjk_cum; /* cumulative sqrt(frequency) */
  size_t n_cjk;
  termset words;    /* English words, folded */
  uint32_t *by_freq; /* word entries, most frequent first */
  termset bigrams;   /* "word word" seen in the corpus */
} vocab;

static const termset *cmp_words_ts;
static int cmp_words(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const termset *ts = cmp_words_ts;
  if (ts->count[x] != ts->count[y]) return ts->count[x] > ts->count[y] ? -1 : 1;
  return strcmp(ts_str(ts, x), ts_str(ts, y));
}

static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static void scan_vocab(vocab *v, uint32_t *freq, const char *text) {
  const unsigned char *p = (const unsigned char *)text;
  const unsigned char *prev = NULL; /* previous word, if only one space since */
  size_t prev_n = 0;
  while (*p) {
    if (is_alpha(*p)) {
      const unsigned char *w = p;
      while (is_alpha(*p)) p++;
      size_t n = (size_t)(p - w);
      if (n >= 2 && n <= 24) {
        ts_add(&v->words, (const char *)w, n);
        if (prev && w == prev + prev_n + 1 && prev[prev_n] == ' ')
          ts_add(&v->bigrams, (const char *)prev, prev_n + 1 + n);
        prev = w;
        prev_n = n;
      } else {
        prev = NULL;
      }
      continue;
    }
    if (*p == ' ' && prev && p == prev + prev_n) {
      p++;
      continue;
    }
    if (*p >= 0xE0 && *p <= 0xEF && p[1] && p[2]) {
      uint32_t cp = ((uint32_t)(*p & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
      if (cp >= CJK_LO && cp <= CJK_HI) freq[cp - CJK_LO]++;
      p += 3;
    } else {
      p++;
    }
    prev = NULL;
  }
}

static void build_vocab(vocab *v, const source *s) {
  uint32_t *freq = bench_xcalloc(CJK_HI - CJK_LO + 1, sizeof *freq);
  for (size_t i = 0; i < s->n; i++) {
    scan_vocab(v, freq, s->it[i].title);
    if (s->it[i].body) scan_vocab(v, freq, s->it[i].body);
  }
  for (uint32_t c = 0; c <= CJK_HI - CJK_LO; c++)
    if (freq[c]) v->n_cjk++;
  v->cjk = bench_xmalloc(v->n_cjk * sizeof *v->cjk);
  v->cjk_cum = bench_xmalloc(v->n_cjk * sizeof *v->cjk_cum);
  double acc = 0;
  size_t k = 0;
  for (uint32_t c = 0; c <= CJK_HI - CJK_LO; c++) {
    if (!freq[c]) continue;
    v->cjk[k] = CJK_LO + c;
    v->cjk_cum[k++] = acc += sqrt((double)freq[c]);
  }
  free(freq);
  v->by_freq = bench_xmalloc(v->words.n * sizeof *v->by_freq);
  for (size_t i = 0; i < v->words.n; i++) v->by_freq[i] = (uint32_t)i;
  cmp_words_ts = &v->words;
  qsort(v->by_freq, v->words.n, sizeof *v->by_freq, cmp_words);
}

static void free_vocab(vocab *v) {
  free(v->cjk);
  free(v->cjk_cum);
  free(v->by_freq);
  ts_free(&v->words);
  ts_free(&v->bigrams);
}

/* ---- generated terms ------------------------------------------------------ */

static size_t put_cjk(char *o, uint32_t cp) {
  o[0] = (char)(0xE0 | (cp >> 12));
  o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[2] = (char)(0x80 | (cp & 0x3F));
  return 3;
}

static uint32_t draw_cjk(const vocab *v, uint64_t *rng) {
  double x = (double)(bench_rand(rng) >> 11) * 0x1p-53 * v->cjk_cum[v->n_cjk - 1];
  size_t lo = 0, hi = v->n_cjk - 1;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (v->cjk_cum[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return v->cjk[lo];
}

static const char *pick(const char *const *list, size_t n, uint64_t *rng) {
  return list[bench_below(rng, (uint32_t)n)];
}
#define PICK(list, rng) pick(list, sizeof list / sizeof list[0], rng)

static const char *const cn_suffix[] = {
    "科技", "股份", "集团", "控股", "银行", "证券", "医药", "生物", "能源", "电子", "材料",
    "智能", "汽车", "地产", "实业", "传媒", "电气", "环保", "新能源", "半导体", "药业", "重工",
    "化工", "食品", "物流", "国际", "光电", "通信", "软件", "网络", "基金", "保险", "信托",
    "矿业", "航空", "机器人"};
static const char *const en_suffix[] = {
    "inc", "corp", "group", "holdings", "technologies", "therapeutics", "capital", "energy",
    "bank", "pharmaceuticals", "systems", "partners", "industries", "motors", "labs", "networks",
    "resources", "financial", "semiconductor", "biosciences", "ltd", "plc", "ag", "sa"};
static const char *const syllables[] = {
    "al", "an", "ar", "be", "ca", "co", "da", "de", "el", "en", "fi", "ga", "in", "ka", "la",
    "lo", "ma", "mi", "na", "ne", "no", "or", "pa", "ra", "re", "ri", "sa", "se", "ta", "te",
    "ti", "to", "va", "ve", "vi", "xa", "zo", "ly", "tron", "tex", "gen", "bio", "nova", "sys",
    "dyn", "tek", "quant", "cor", "vox", "lux", "mar", "sol", "ter", "zen"};
static const char *const code_prefix[] = {"600", "601", "603", "605", "688", "000",
                                          "001", "002", "003", "300", "301"};

/* An English word from the vocabulary; RARE skips the 100 most frequent. */
static const char *draw_word(const vocab *v, uint64_t *rng, bool rare) {
  size_t skip = rare && v->words.n > 200 ? 100 : 0;
  uint32_t e = v->by_freq[skip + bench_below(rng, (uint32_t)(v->words.n - skip))];
  return ts_str(&v->words, e);
}

static size_t made_up_name(char *o, uint64_t *rng) {
  size_t n = 0, parts = 2 + bench_below(rng, 2);
  for (size_t i = 0; i < parts; i++) n += (size_t)sprintf(o + n, "%s", PICK(syllables, rng));
  return n;
}

/* One generated term into O (< 200 bytes); returns its length. */
static size_t gen_term(const vocab *v, uint64_t *rng, char *o) {
  bool cjk = v->n_cjk > 0, en = v->words.n > 0;
  for (;;) {
    uint32_t r = bench_below(rng, 100);
    size_t n = 0;
    if (r < 40 && cjk) { /* Chinese word of 2-4 characters */
      uint32_t w = bench_below(rng, 100);
      size_t chars = w < 35 ? 2 : w < 70 ? 3 : 4;
      for (size_t i = 0; i < chars; i++) n += put_cjk(o + n, draw_cjk(v, rng));
      return n;
    }
    if (r < 60 && cjk) { /* Chinese company name */
      size_t chars = 2 + bench_below(rng, 2);
      for (size_t i = 0; i < chars; i++) n += put_cjk(o + n, draw_cjk(v, rng));
      return n + (size_t)sprintf(o + n, "%s", PICK(cn_suffix, rng));
    }
    if (r < 65 && en) /* English word */
      return (size_t)sprintf(o, "%s", draw_word(v, rng, true));
    if (r < 78 && en) { /* English bigram: seen, or two corpus words */
      if (v->bigrams.n && bench_below(rng, 2))
        return (size_t)sprintf(o, "%s", ts_str(&v->bigrams, bench_below(rng, (uint32_t)v->bigrams.n)));
      n = (size_t)sprintf(o, "%s ", draw_word(v, rng, true));
      return n + (size_t)sprintf(o + n, "%s", draw_word(v, rng, false));
    }
    if (r < 90) { /* English company name */
      if (en && bench_below(rng, 10) < 6) {
        const char *w = draw_word(v, rng, true);
        if (strlen(w) < 4) continue;
        n = (size_t)sprintf(o, "%s ", w);
      } else {
        n = made_up_name(o, rng);
        o[n++] = ' ';
      }
      if (bench_below(rng, 5) == 0) {
        n += made_up_name(o + n, rng);
        o[n++] = ' ';
      }
      return n + (size_t)sprintf(o + n, "%s", PICK(en_suffix, rng));
    }
    if (r < 100) { /* tickers and codes */
      uint32_t w = bench_below(rng, 100);
      if (w < 30) { /* cashtag */
        o[n++] = '$';
        for (size_t i = 0, k = 1 + bench_below(rng, 5); i < k; i++)
          o[n++] = (char)('a' + bench_below(rng, 26));
        return n;
      }
      if (w < 55) { /* bare ticker */
        for (size_t i = 0, k = 3 + bench_below(rng, 3); i < k; i++)
          o[n++] = (char)('a' + bench_below(rng, 26));
        return n;
      }
      if (w < 80) /* A-share code */
        return (size_t)sprintf(o, "%s%03u", PICK(code_prefix, rng), bench_below(rng, 1000));
      return (size_t)sprintf(o, "%05u.hk", bench_below(rng, 10000)); /* Hong Kong */
    }
  }
}

typedef struct termlist {
  termset ts;
  size_t from_rules, from_dict, generated;
} termlist;

/* The N terms (see the top comment).  PERM_R and PERM_D are fixed
 * permutations of the rule terms and of the names. */
static void make_terms(termlist *tl, size_t n, const termset *seeds, size_t n_rules,
                       const uint32_t *perm_r, const uint32_t *perm_d, const vocab *v) {
  *tl = (termlist){0};
  size_t n_dict = seeds->n - n_rules;
  for (size_t i = 0; i < n_rules && tl->ts.n < n; i++) {
    size_t e = perm_r[i];
    ts_add(&tl->ts, ts_str(seeds, e), seeds->len[e]);
  }
  tl->from_rules = tl->ts.n;
  for (size_t i = 0; i < n_dict && tl->ts.n < n; i++) {
    size_t e = n_rules + perm_d[i];
    ts_add(&tl->ts, ts_str(seeds, e), seeds->len[e]);
  }
  tl->from_dict = tl->ts.n - tl->from_rules;
  uint64_t rng = SEED ^ 0x7465726D73ull;
  char buf[256];
  for (size_t tries = 0; tl->ts.n < n; tries++) {
    if (tries > 1000 * (n + 1000)) nf_die(PROG, 1, "cannot generate %zu distinct terms", n);
    size_t len = gen_term(v, &rng, buf);
    ts_add(&tl->ts, buf, len);
  }
  tl->generated = tl->ts.n - tl->from_rules - tl->from_dict;
}

static uint32_t *permutation(size_t n, uint64_t seed) {
  uint32_t *p = bench_xmalloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = (uint32_t)i;
  uint64_t rng = seed;
  for (size_t i = n; i > 1; i--) {
    size_t j = bench_below(&rng, (uint32_t)i);
    uint32_t t = p[i - 1];
    p[i - 1] = p[j];
    p[j] = t;
  }
  return p;
}

/* ---- the benchmark corpus ------------------------------------------------- */

typedef struct bitem {
  uint32_t src;           /* source item: source name, language */
  uint8_t kind;           /* K_FLASH / K_ARTICLE */
  uint32_t rt, rtl, rb, rbl; /* raw title and body (NUL-terminated) in raw */
  uint32_t ft, ftl, fb, fbl; /* folded title and body in fold */
} bitem;

typedef struct corpus {
  sbuf raw;
  char *fold;
  bitem *items;
  size_t n;
  uint32_t *by_kind[NKINDS];
  size_t n_kind[NKINDS];
  size_t raw_bytes[NKINDS], fold_bytes[NKINDS]; /* text bytes, no NULs */
  size_t max_field, zh_items;
} corpus;

static void add_title(sbuf *b, const source *s, bool zh, uint64_t *rng) {
  uint32_t i = s->items[zh][bench_below(rng, (uint32_t)s->n_items[zh])];
  sb_str(b, s->it[i].title);
}

static void make_flash(corpus *c, const source *s, uint64_t *rng, bitem *it) {
  size_t len = 100 + bench_below(rng, 201);
  const src_item *si = &s->it[it->src = s->flashes[bench_below(rng, (uint32_t)s->n_flashes)]];
  it->kind = K_FLASH;
  it->rt = (uint32_t)c->raw.n;
  sb_str(&c->raw, si->title);
  if (si->body) {
    sb_str(&c->raw, " ");
    sb_str(&c->raw, si->body);
  }
  while (c->raw.n - it->rt < len) {
    sb_str(&c->raw, si->zh ? "。" : ". ");
    add_title(&c->raw, s, si->zh, rng);
  }
  sb_cut(&c->raw, it->rt, len);
  for (char *p = c->raw.p + it->rt; *p; p++)
    if (*p == '\n') *p = ' '; /* a flash is one line */
  it->rtl = (uint32_t)(c->raw.n - it->rt);
  sb_reserve(&c->raw, 1);
  c->raw.n++; /* NUL */
  it->rb = it->rbl = 0;
}

static void make_article(corpus *c, const source *s, uint64_t *rng, bitem *it) {
  size_t len = 2048 + bench_below(rng, 20480 - 2048 + 1);
  const src_item *si = &s->it[it->src = s->articles[bench_below(rng, (uint32_t)s->n_articles)]];
  it->kind = K_ARTICLE;
  it->rt = (uint32_t)c->raw.n;
  sb_str(&c->raw, si->title);
  it->rtl = (uint32_t)(c->raw.n - it->rt);
  sb_reserve(&c->raw, 1);
  c->raw.n++;
  size_t want = len > it->rtl + 64 ? len - it->rtl : 64;
  it->rb = (uint32_t)c->raw.n;
  if (si->body) sb_str(&c->raw, si->body);
  while (c->raw.n - it->rb < want) {
    if (c->raw.n > it->rb) sb_str(&c->raw, "\n\n");
    if (s->n_paras[si->zh]) {
      const span *p = &s->paras[si->zh][bench_below(rng, (uint32_t)s->n_paras[si->zh])];
      sb_add(&c->raw, p->p, p->n);
    } else {
      add_title(&c->raw, s, si->zh, rng);
    }
  }
  sb_cut(&c->raw, it->rb, want);
  it->rbl = (uint32_t)(c->raw.n - it->rb);
  sb_reserve(&c->raw, 1);
  c->raw.n++;
}

static void build_corpus(corpus *c, const source *s) {
  uint64_t rng = SEED;
  size_t cap = 0, text = 0;
  while (text < CORPUS_MIN) {
    if (c->n == cap) {
      cap = cap ? cap * 2 : 4096;
      c->items = bench_xrealloc(c->items, cap * sizeof *c->items);
    }
    bitem *it = &c->items[c->n++];
    *it = (bitem){0};
    if (bench_below(&rng, 10) == 0) make_article(c, s, &rng, it);
    else make_flash(c, s, &rng, it);
    text += it->rtl + it->rbl;
  }
  c->fold = bench_xmalloc(c->raw.n + 1);
  size_t fo = 0;
  for (size_t i = 0; i < c->n; i++) {
    bitem *it = &c->items[i];
    it->ft = (uint32_t)fo;
    fo += it->ftl = (uint32_t)nf_fold(c->raw.p + it->rt, it->rtl, c->fold + fo, FOLD_FLAGS);
    it->fb = (uint32_t)fo;
    fo += it->fbl = (uint32_t)nf_fold(c->raw.p + it->rb, it->rbl, c->fold + fo, FOLD_FLAGS);
    push_u32(&c->by_kind[it->kind], &c->n_kind[it->kind], (uint32_t)i);
    c->raw_bytes[it->kind] += it->rtl + it->rbl;
    c->fold_bytes[it->kind] += it->ftl + it->fbl;
    if (it->rtl > c->max_field) c->max_field = it->rtl;
    if (it->rbl > c->max_field) c->max_field = it->rbl;
    c->zh_items += s->it[it->src].zh;
  }
}

static void free_corpus(corpus *c) {
  free(c->raw.p);
  free(c->fold);
  free(c->items);
  for (int k = 0; k < NKINDS; k++) free(c->by_kind[k]);
}

/* ---- measurement ---------------------------------------------------------- */

typedef void (*work_fn)(void *ctx, const corpus *c, const bitem *it);

typedef struct kind_result {
  double mbs, us_mean, us_p50, us_p99;
} kind_result;

typedef struct result {
  double mbs, mbs_lo, mbs_hi, us_mean;
  double mbs_cpu;   /* bytes per second of the thread's CPU time */
  double cpu_share; /* lowest over the runs: thread CPU time / wall time */
  kind_result k[NKINDS];
} result;

static double clock_cost;

/* Runs FN over the corpus as described at the top; FOLDED: count folded
 * bytes (what a matcher scans) rather than raw bytes. */
static void measure(const corpus *c, const opts *o, bool folded, work_fn fn, void *ctx,
                    result *out) {
  size_t R = (size_t)o->runs;
  double *run_mbs = bench_xcalloc(R, sizeof(double)), *run_us = bench_xcalloc(R, sizeof(double));
  double *run_cpu = bench_xcalloc(R, sizeof(double));
  double *k_mbs[NKINDS], *k_us[NKINDS], *k_p50[NKINDS], *k_p99[NKINDS];
  bench_samples lat[NKINDS] = {{0}};
  for (int k = 0; k < NKINDS; k++) {
    k_mbs[k] = bench_xcalloc(R, sizeof(double));
    k_us[k] = bench_xcalloc(R, sizeof(double));
    k_p50[k] = bench_xcalloc(R, sizeof(double));
    k_p99[k] = bench_xcalloc(R, sizeof(double));
  }
  const size_t *bytes = folded ? c->fold_bytes : c->raw_bytes;
  for (size_t i = 0; i < c->n; i++) fn(ctx, c, &c->items[i]); /* warm-up, untimed */
  out->cpu_share = 1;
  for (size_t r = 0; r < R; r++) {
    double per_pass[NKINDS], wall = 0, cpu = 0;
    for (int k = 0; k < NKINDS; k++) {
      per_pass[k] = 0;
      if (!c->n_kind[k]) continue;
      size_t passes = 0;
      double t0 = bench_now(), c0 = bench_cpu_now(), el;
      do {
        for (size_t i = 0; i < c->n_kind[k]; i++) fn(ctx, c, &c->items[c->by_kind[k][i]]);
        passes++;
        el = bench_now() - t0;
      } while (el < o->seconds / 2);
      cpu += bench_cpu_now() - c0;
      wall += el;
      per_pass[k] = el / (double)passes;
      k_mbs[k][r] = (double)bytes[k] / per_pass[k] / 1e6;
      k_us[k][r] = per_pass[k] / (double)c->n_kind[k] * 1e6;
    }
    double share = wall > 0 && cpu > 0 ? cpu / wall : 1;
    if (share < out->cpu_share) out->cpu_share = share;
    run_mbs[r] = (double)(bytes[0] + bytes[1]) / (per_pass[0] + per_pass[1]) / 1e6;
    run_cpu[r] = run_mbs[r] / share;
    run_us[r] = (per_pass[0] + per_pass[1]) / (double)c->n * 1e6;
    for (int k = 0; k < NKINDS; k++) lat[k].n = 0;
    double t0 = bench_now();
    do {
      for (size_t i = 0; i < c->n; i++) {
        double a = bench_now();
        fn(ctx, c, &c->items[i]);
        double d = bench_now() - a - clock_cost;
        bench_samples_push(&lat[c->items[i].kind], (float)(d > 0 ? d * 1e6 : 0));
      }
    } while (bench_now() - t0 < o->seconds / 2);
    for (int k = 0; k < NKINDS; k++) {
      k_p50[k][r] = bench_quantile(lat[k].v, lat[k].n, 0.50);
      k_p99[k][r] = bench_quantile(lat[k].v, lat[k].n, 0.99);
    }
  }
  out->mbs = bench_median(run_mbs, R);
  out->us_mean = bench_median(run_us, R);
  out->mbs_cpu = bench_median(run_cpu, R);
  out->mbs_lo = out->mbs_hi = run_mbs[0];
  for (size_t r = 1; r < R; r++) {
    if (run_mbs[r] < out->mbs_lo) out->mbs_lo = run_mbs[r];
    if (run_mbs[r] > out->mbs_hi) out->mbs_hi = run_mbs[r];
  }
  for (int k = 0; k < NKINDS; k++) {
    out->k[k] = (kind_result){bench_median(k_mbs[k], R), bench_median(k_us[k], R),
                              bench_median(k_p50[k], R), bench_median(k_p99[k], R)};
    free(k_mbs[k]);
    free(k_us[k]);
    free(k_p50[k]);
    free(k_p99[k]);
    bench_samples_free(&lat[k]);
  }
  free(run_mbs);
  free(run_us);
  free(run_cpu);
}

/* One pass over every item in corpus order (for match counts). */
static void one_pass(const corpus *c, work_fn fn, void *ctx) {
  for (size_t i = 0; i < c->n; i++) fn(ctx, c, &c->items[i]);
}

/* ---- workloads ------------------------------------------------------------ */

typedef struct fold_work {
  char *out;
} fold_work;

static void work_fold(void *ctx, const corpus *c, const bitem *it) {
  fold_work *w = ctx;
  nf_fold(c->raw.p + it->rt, it->rtl, w->out, FOLD_FLAGS);
  if (it->rbl) nf_fold(c->raw.p + it->rb, it->rbl, w->out, FOLD_FLAGS);
}

typedef struct nf_work {
  const nf_matcher *m;
  size_t matches;
} nf_work;

static int count_nf(void *ctx, uint32_t value, size_t start, size_t end) {
  (void)value;
  (void)start;
  (void)end;
  (*(size_t *)ctx)++;
  return 0;
}

static void work_nf(void *ctx, const corpus *c, const bitem *it) {
  nf_work *w = ctx;
  nf_matcher_scan(w->m, c->fold + it->ft, it->ftl, count_nf, &w->matches);
  if (it->fbl) nf_matcher_scan(w->m, c->fold + it->fb, it->fbl, count_nf, &w->matches);
}

typedef struct tag_work {
  nf_tagger *t;
  const source *src;
  size_t topics, failed;
} tag_work;

static void work_tag(void *ctx, const corpus *c, const bitem *it) {
  tag_work *w = ctx;
  const src_item *si = &w->src->it[it->src];
  nf_item item;
  nf_item_init(&item);
  item.kind = it->kind == K_FLASH ? NF_KIND_FLASH : NF_KIND_ARTICLE;
  item.title = c->raw.p + it->rt;
  item.body = it->rbl ? c->raw.p + it->rb : NULL;
  item.source = si->source;
  item.lang = si->zh ? "zh" : "en";
  nf_error err;
  if (nf_tag_item(w->t, &item, NULL, &err) < 0) w->failed++;
  else w->topics += item.n_topics;
  nf_item_clear(&item);
}

#if NF_HAVE_HS
typedef struct hs_work {
  hs_database_t *db;
  hs_scratch_t *scratch;
  size_t matches;
} hs_work;

static int count_hs(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx) {
  (void)id;
  (void)from;
  (void)to;
  (void)flags;
  (*(size_t *)ctx)++;
  return 0;
}

static void work_hs(void *ctx, const corpus *c, const bitem *it) {
  hs_work *w = ctx;
  hs_scan(w->db, c->fold + it->ft, it->ftl, 0, w->scratch, count_hs, &w->matches);
  if (it->fbl) hs_scan(w->db, c->fold + it->fb, it->fbl, 0, w->scratch, count_hs, &w->matches);
}

/* The terms as literal patterns, HS_MODE_BLOCK; *SECS gets the compile
 * time.  NULL (with a message) on failure. */
static hs_database_t *hs_build(const termset *ts, double *secs) {
  unsigned *ids = bench_xmalloc(ts->n * sizeof *ids), *flags = bench_xcalloc(ts->n, sizeof *flags);
  for (size_t i = 0; i < ts->n; i++) ids[i] = (unsigned)i;
  hs_database_t *db = NULL;
  hs_compile_error_t *err = NULL;
  hs_error_t rc;
#if HS_MAJOR > 5 || (HS_MAJOR == 5 && HS_MINOR >= 2)
  const char **ex = bench_xmalloc(ts->n * sizeof *ex);
  size_t *lens = bench_xmalloc(ts->n * sizeof *lens);
  for (size_t i = 0; i < ts->n; i++) {
    ex[i] = ts_str(ts, i);
    lens[i] = ts->len[i];
  }
  double t0 = bench_now();
  rc = hs_compile_lit_multi(ex, flags, ids, lens, (unsigned)ts->n, HS_MODE_BLOCK, NULL, &db, &err);
  *secs = bench_now() - t0;
  free(lens);
#else /* no literal API: every byte as \xHH */
  char **ex = bench_xmalloc(ts->n * sizeof *ex);
  for (size_t i = 0; i < ts->n; i++) {
    ex[i] = bench_xmalloc((size_t)ts->len[i] * 4 + 1);
    for (size_t j = 0; j < ts->len[i]; j++)
      sprintf(ex[i] + 4 * j, "\\x%02x", (unsigned char)ts_str(ts, i)[j]);
  }
  double t0 = bench_now();
  rc = hs_compile_multi((const char *const *)ex, flags, ids, (unsigned)ts->n, HS_MODE_BLOCK, NULL,
                        &db, &err);
  *secs = bench_now() - t0;
  for (size_t i = 0; i < ts->n; i++) free(ex[i]);
#endif
  free(ex);
  free(ids);
  free(flags);
  if (rc != HS_SUCCESS) {
    fprintf(stderr, "%s: hyperscan compile failed: %s\n", PROG,
            err && err->message ? err->message : "unknown error");
    hs_free_compile_error(err);
    return NULL;
  }
  return db;
}
#endif

/* ---- the whole rules path: a rules file holding the N terms --------------- */

static void rules_yaml(const termset *ts, sbuf *b) {
  size_t topics = ts->n < 10 ? ts->n : 10;
  sb_str(b, "version: 1\ntopics:\n");
  for (size_t t = 0; t < topics; t++) {
    char head[96];
    snprintf(head, sizeof head, "  bench.t%zu:\n    terms:\n      - match:\n", t);
    sb_str(b, head);
    for (size_t i = t; i < ts->n; i += topics) {
      sb_str(b, "          - \"");
      for (const char *p = ts_str(ts, i); *p; p++) {
        if (*p == '"' || *p == '\\') sb_add(b, "\\", 1);
        sb_add(b, p, 1);
      }
      sb_str(b, "\"\n");
    }
  }
}

/* ---- one N ---------------------------------------------------------------- */

typedef struct n_result {
  size_t n, from_rules, from_dict, generated;
  double add_ms, compile_ms, rules_ms;
  size_t memory, matches;
  result scan;
  bool hs;
  double hs_compile_ms;
  size_t hs_db, hs_scratch, hs_matches;
  result hs_scan;
} n_result;

static double ms_median(double *v, size_t n) { return bench_median(v, n) * 1e3; }

static void bench_n(const opts *o, const corpus *c, const termlist *tl, n_result *nr) {
  const termset *ts = &tl->ts;
  size_t R = (size_t)o->runs;
  double *add = bench_xcalloc(R, sizeof(double)), *comp = bench_xcalloc(R, sizeof(double));
  *nr = (n_result){.n = ts->n, .from_rules = tl->from_rules, .from_dict = tl->from_dict,
                   .generated = tl->generated, .rules_ms = NAN, .hs_compile_ms = NAN};
  nf_matcher *m = NULL;
  for (size_t r = 0; r < R; r++) {
    nf_matcher_free(m);
    double t0 = bench_now();
    m = nf_matcher_new();
    if (!m) nf_die(PROG, 1, "out of memory");
    for (size_t i = 0; i < ts->n; i++)
      if (nf_matcher_add(m, ts_str(ts, i), ts->len[i], (uint32_t)i) < 0)
        nf_die(PROG, 1, "matcher refused term %zu", i);
    double t1 = bench_now();
    if (nf_matcher_compile(m) < 0) nf_die(PROG, 1, "matcher compile failed (out of memory)");
    add[r] = t1 - t0;
    comp[r] = bench_now() - t1;
  }
  nr->add_ms = ms_median(add, R);
  nr->compile_ms = ms_median(comp, R);
  nr->memory = nf_matcher_memory(m);

  sbuf yaml = {0};
  rules_yaml(ts, &yaml);
  for (size_t r = 0; r < R; r++) {
    nf_rules *rules = NULL;
    char err[512];
    double t0 = bench_now();
    int rc = nf_rules_compile(yaml.p, yaml.n, "<bench rules>", &rules, err, sizeof err);
    comp[r] = bench_now() - t0;
    if (rc < 0) {
      fprintf(stderr, "%s: generated rules rejected: %s\n", PROG, err);
      break;
    }
    nf_rules_free(rules);
    if (r + 1 == R) nr->rules_ms = ms_median(comp, R);
  }
  free(yaml.p);

  nf_work w = {.m = m};
  measure(c, o, true, work_nf, &w, &nr->scan);
  w.matches = 0;
  one_pass(c, work_nf, &w);
  nr->matches = w.matches;
  nf_matcher_free(m);

#if NF_HAVE_HS
  if (!o->no_hs) {
    hs_work h = {0};
    for (size_t r = 0; r < R && !(r && !h.db); r++) {
      hs_free_database(h.db);
      h.db = hs_build(ts, &comp[r]);
    }
    if (h.db && hs_alloc_scratch(h.db, &h.scratch) == HS_SUCCESS) {
      nr->hs = true;
      nr->hs_compile_ms = ms_median(comp, R);
      hs_database_size(h.db, &nr->hs_db);
      hs_scratch_size(h.scratch, &nr->hs_scratch);
      measure(c, o, true, work_hs, &h, &nr->hs_scan);
      h.matches = 0;
      one_pass(c, work_hs, &h);
      nr->hs_matches = h.matches;
    }
    hs_free_scratch(h.scratch);
    hs_free_database(h.db);
  }
#endif
  free(add);
  free(comp);
}

/* ---- output --------------------------------------------------------------- */

static const char *hs_note =
    "hyperscan matches raw literals (no word boundaries: it also reports 'ai' inside "
    "'said'), newsfeed applies its ASCII word-boundary rule; both scan the same folded "
    "texts, HS_MODE_BLOCK, counting matches in the callback";

static double mib(size_t b) { return (double)b / (1024.0 * 1024.0); }

/* Prints LABEL padded to WIDTH columns (UTF-8 aware). */
static void label(const char *s, int width) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) cols += (*p & 0xC0) != 0x80;
  fputs(s, stdout);
  for (; cols < width; cols++) putchar(' ');
}

static void row(const char *name, const char *nf, const char *hs, double ratio) {
  label(name, 28);
  printf("%16s %16s", nf, hs);
  if (isfinite(ratio)) printf(" %12.2f", ratio);
  putchar('\n');
}

static char *fmt(char *b, const char *f, double v) {
  if (!isfinite(v)) return strcpy(b, "-");
  snprintf(b, 32, f, v);
  return b;
}

static const char *us_fmt(double v) { return v < 10 ? "%.3f" : v < 100 ? "%.2f" : "%.1f"; }

static void print_text(const n_result *r) {
  char a[32], b[32], c2[32], d[32];
  printf("\n== %zu terms: %zu from the rules, %zu dictionary names, %zu generated ==\n", r->n,
         r->from_rules, r->from_dict, r->generated);
  bool hs = r->hs;
  printf("%-28s %16s %16s %12s\n", "", "newsfeed", hs ? "hyperscan" : "(no hyperscan)",
         hs ? "nf/hs" : "");
  row("compile, ms", fmt(a, "%.1f", r->compile_ms), hs ? fmt(b, "%.1f", r->hs_compile_ms) : "",
      hs ? r->compile_ms / r->hs_compile_ms : NAN);
  row("  + adding the terms, ms", fmt(a, "%.1f", r->add_ms), "", NAN);
  row("  nf_rules_compile, ms", fmt(a, "%.1f", r->rules_ms), "", NAN);
  row("memory, MiB", fmt(a, "%.2f", mib(r->memory)),
      hs ? fmt(b, "%.2f", mib(r->hs_db + r->hs_scratch)) : "",
      hs ? (double)r->memory / (double)(r->hs_db + r->hs_scratch) : NAN);
  if (hs) {
    snprintf(b, sizeof b, "%.2f + %.2f", mib(r->hs_db), mib(r->hs_scratch));
    row("  (database + scratch)", "", b, NAN);
  }
  row("scan, MB/s", fmt(a, "%.0f", r->scan.mbs), hs ? fmt(b, "%.0f", r->hs_scan.mbs) : "",
      hs ? r->scan.mbs / r->hs_scan.mbs : NAN);
  row("  per second of CPU time", fmt(a, "%.0f", r->scan.mbs_cpu),
      hs ? fmt(b, "%.0f", r->hs_scan.mbs_cpu) : "", hs ? r->scan.mbs_cpu / r->hs_scan.mbs_cpu : NAN);
  snprintf(a, sizeof a, "%.0f-%.0f", r->scan.mbs_lo, r->scan.mbs_hi);
  if (hs) snprintf(b, sizeof b, "%.0f-%.0f", r->hs_scan.mbs_lo, r->hs_scan.mbs_hi);
  row("  range over runs", a, hs ? b : "", NAN);
  row("µs per item, all", fmt(a, us_fmt(r->scan.us_mean), r->scan.us_mean),
      hs ? fmt(b, us_fmt(r->hs_scan.us_mean), r->hs_scan.us_mean) : "",
      hs ? r->scan.us_mean / r->hs_scan.us_mean : NAN);
  for (int k = 0; k < NKINDS; k++) {
    const kind_result *x = &r->scan.k[k], *y = &r->hs_scan.k[k];
    char name[64];
    snprintf(name, sizeof name, "%s: MB/s", kind_names[k]);
    row(name, fmt(a, "%.0f", x->mbs), hs ? fmt(b, "%.0f", y->mbs) : "", hs ? x->mbs / y->mbs : NAN);
    snprintf(name, sizeof name, "%s: µs mean", kind_names[k]);
    row(name, fmt(a, us_fmt(x->us_mean), x->us_mean), hs ? fmt(b, us_fmt(y->us_mean), y->us_mean) : "",
        hs ? x->us_mean / y->us_mean : NAN);
    snprintf(name, sizeof name, "%s: µs p50 / p99", kind_names[k]);
    char p[40], q[40];
    snprintf(p, sizeof p, "%s / %s", fmt(a, us_fmt(x->us_p50), x->us_p50),
             fmt(b, us_fmt(x->us_p99), x->us_p99));
    if (hs)
      snprintf(q, sizeof q, "%s / %s", fmt(c2, us_fmt(y->us_p50), y->us_p50),
               fmt(d, us_fmt(y->us_p99), y->us_p99));
    row(name, p, hs ? q : "", NAN);
  }
  snprintf(a, sizeof a, "%zu", r->matches);
  snprintf(b, sizeof b, "%zu", r->hs_matches);
  row("matches per corpus pass", a, hs ? b : "", NAN);
  snprintf(a, sizeof a, "%.2f", r->scan.cpu_share);
  snprintf(b, sizeof b, "%.2f", r->hs_scan.cpu_share);
  row("CPU time / wall time, min", a, hs ? b : "", NAN);
  if (r->scan.cpu_share < 0.95 || (hs && r->hs_scan.cpu_share < 0.95))
    printf("WARNING: the benchmark did not have a CPU to itself (other load): figures are low\n");
  if (hs) printf("(%s)\n", hs_note);
  if (r->n == 10000)
    printf("target: scan >= 500 MB/s at 10,000 terms: %.0f MB/s, %s (%+.0f%%)\n", r->scan.mbs,
           r->scan.mbs >= 500 ? "met" : "NOT met", (r->scan.mbs / 500 - 1) * 100);
  if (r->n == 100000) {
    printf("target: compile of 100,000 terms < 1 s: %.0f ms (%.0f ms with adding), %s\n",
           r->compile_ms, r->compile_ms + r->add_ms,
           r->compile_ms + r->add_ms < 1000 ? "met" : "NOT met");
    printf("target: automaton of 100,000 terms < 64 MiB: %.2f MiB, %s\n", mib(r->memory),
           mib(r->memory) < 64 ? "met" : "NOT met");
  }
}

static void json_kinds(const result *s) {
  for (int k = 0; k < NKINDS; k++) {
    printf(",\"%s\":{\"mb_s\":", kind_names[k]);
    bench_json_number(stdout, s->k[k].mbs);
    printf(",\"us_mean\":");
    bench_json_number(stdout, s->k[k].us_mean);
    printf(",\"us_p50\":");
    bench_json_number(stdout, s->k[k].us_p50);
    printf(",\"us_p99\":");
    bench_json_number(stdout, s->k[k].us_p99);
    printf("}");
  }
}

static void json_scan(const result *s) {
  printf("\"mb_s\":");
  bench_json_number(stdout, s->mbs);
  printf(",\"mb_s_min\":");
  bench_json_number(stdout, s->mbs_lo);
  printf(",\"mb_s_max\":");
  bench_json_number(stdout, s->mbs_hi);
  printf(",\"us_mean\":");
  bench_json_number(stdout, s->us_mean);
  printf(",\"mb_s_cpu\":");
  bench_json_number(stdout, s->mbs_cpu);
  printf(",\"cpu_share\":");
  bench_json_number(stdout, s->cpu_share);
  json_kinds(s);
}

static void print_json(const n_result *r, const opts *o, const corpus *c) {
  printf("{\"what\":\"matcher\",\"terms\":%zu,\"terms_from_rules\":%zu,\"terms_from_dictionary\":%zu,"
         "\"terms_generated\":%zu,\"runs\":%d,\"seconds\":",
         r->n, r->from_rules, r->from_dict, r->generated, o->runs);
  bench_json_number(stdout, o->seconds);
  printf(",\"corpus_bytes\":%zu,\"items\":%zu,\"compile_ms\":", c->fold_bytes[0] + c->fold_bytes[1],
         c->n);
  bench_json_number(stdout, r->compile_ms);
  printf(",\"add_ms\":");
  bench_json_number(stdout, r->add_ms);
  printf(",\"rules_compile_ms\":");
  bench_json_number(stdout, r->rules_ms);
  printf(",\"memory_bytes\":%zu,\"matches\":%zu,", r->memory, r->matches);
  json_scan(&r->scan);
  printf(",\"hyperscan\":");
  if (!r->hs) {
    printf("null");
  } else {
#if NF_HAVE_HS
    printf("{\"version\":");
    bench_json_string(stdout, hs_version());
#else
    printf("{\"version\":null");
#endif
    printf(",\"compile_ms\":");
    bench_json_number(stdout, r->hs_compile_ms);
    printf(",\"database_bytes\":%zu,\"scratch_bytes\":%zu,\"matches\":%zu,", r->hs_db,
           r->hs_scratch, r->hs_matches);
    json_scan(&r->hs_scan);
    printf(",\"ratio_mb_s\":");
    bench_json_number(stdout, r->scan.mbs / r->hs_scan.mbs);
    printf(",\"note\":");
    bench_json_string(stdout, hs_note);
    printf("}");
  }
  printf("}\n");
}

/* ---- the subcommand ------------------------------------------------------- */

static void parse_opts(opts *o, int argc, char **argv) {
  enum { O_TERMS = 256, O_SECONDS, O_RUNS, O_CORPUS, O_JSON, O_NO_HS, O_PRINT };
  static const struct option lo[] = {
      {"terms", required_argument, 0, O_TERMS},   {"seconds", required_argument, 0, O_SECONDS},
      {"runs", required_argument, 0, O_RUNS},     {"corpus", required_argument, 0, O_CORPUS},
      {"json", no_argument, 0, O_JSON},           {"no-hyperscan", no_argument, 0, O_NO_HS},
      {"print-terms", no_argument, 0, O_PRINT},   {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  *o = (opts){.seconds = 2, .runs = 5};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
    switch (c) {
    case O_TERMS: {
      long long n = nf_parse_count(PROG, "--terms", optarg);
      if (n < 1 || n > 10000000) nf_die(PROG, 2, "--terms: expected 1..10000000, not '%s'", optarg);
      if (o->n_terms == MAX_N) nf_die(PROG, 2, "at most %d --terms", MAX_N);
      o->terms[o->n_terms++] = (size_t)n;
      break;
    }
    case O_SECONDS: {
      char *end;
      o->seconds = strtod(optarg, &end);
      if (!*optarg || *end || !(o->seconds > 0) || o->seconds > 3600)
        nf_die(PROG, 2, "--seconds: expected a number of seconds > 0, not '%s'", optarg);
      break;
    }
    case O_RUNS: {
      long long n = nf_parse_count(PROG, "--runs", optarg);
      if (n < 1 || n > 1000) nf_die(PROG, 2, "--runs: expected 1..1000, not '%s'", optarg);
      o->runs = (int)n;
      break;
    }
    case O_CORPUS: o->corpus = optarg; break;
    case O_JSON: o->json = true; break;
    case O_NO_HS: o->no_hs = true; break;
    case O_PRINT: o->print_terms = true; break;
    case 'h': usage(stdout); exit(0);
    case ':': nf_die(PROG, 2, "%s needs a value", argv[optind - 1]);
    default: nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind < argc) nf_die(PROG, 2, "unexpected argument '%s' (see --help)", argv[optind]);
  if (o->n_terms == 0) {
    o->terms[0] = 1000;
    o->terms[1] = 10000;
    o->terms[2] = 100000;
    o->n_terms = 3;
  }
}

int nf_bench_tag(int argc, char **argv) {
  opts o;
  parse_opts(&o, argc, argv);
  setvbuf(stdout, NULL, _IOLBF, 0);
  clock_cost = bench_clock_overhead();

  source src = {0};
  load_source(&src, o.corpus);
  vocab voc = {0};
  build_vocab(&voc, &src);
  termset seeds = {0};
  size_t n_rules = load_seeds(&seeds);
  uint32_t *perm_r = permutation(n_rules, SEED ^ 1), *perm_d = permutation(seeds.n - n_rules, SEED ^ 2);
  if (o.print_terms) {
    for (size_t i = 0; i < o.n_terms; i++) {
      termlist tl;
      make_terms(&tl, o.terms[i], &seeds, n_rules, perm_r, perm_d, &voc);
      for (size_t k = 0; k < tl.ts.n; k++) puts(ts_str(&tl.ts, k));
      ts_free(&tl.ts);
    }
    free(perm_r);
    free(perm_d);
    ts_free(&seeds);
    free_vocab(&voc);
    free_source(&src);
    return 0;
  }
  corpus c = {0};
  build_corpus(&c, &src);

  /* folding, as the tagger does it before matching */
  fold_work fw = {bench_xmalloc(c.max_field + 1)};
  result fold;
  measure(&c, &o, false, work_fold, &fw, &fold);
  free(fw.out);

  bench_machine mach;
  bench_machine_get(&mach);
  size_t raw = c.raw_bytes[0] + c.raw_bytes[1];
  if (!o.json) {
    printf("newsfeed-bench tag: %zu items, %.1f MB (%zu flashes of 100-300 B, %.1f MB; %zu "
           "articles of 2-20 KB, %.1f MB); %.0f%% Chinese items\n",
           c.n, (double)raw / 1e6, c.n_kind[K_FLASH], (double)c.raw_bytes[K_FLASH] / 1e6,
           c.n_kind[K_ARTICLE], (double)c.raw_bytes[K_ARTICLE] / 1e6,
           100.0 * (double)c.zh_items / (double)c.n);
    printf("seed terms: %zu from the default rules, %zu dictionary names; corpus vocabulary: %zu "
           "CJK characters, %zu English words\n",
           n_rules, seeds.n - n_rules, voc.n_cjk, voc.words.n);
    printf("machine: %s, %ld CPUs, %.1f GiB RAM; medians of %d runs of >= %g s each; "
           "clock cost %.0f ns (subtracted from per-item times)\n",
           mach.cpu, mach.nproc, mach.ram_gib, o.runs, o.seconds, clock_cost * 1e9);
    printf("fold (width + case), raw text: %.0f MB/s (%.0f per second of CPU time); flash %.3f "
           "µs, article %.2f µs\n",
           fold.mbs, fold.mbs_cpu, fold.k[K_FLASH].us_mean, fold.k[K_ARTICLE].us_mean);
#if NF_HAVE_HS
    if (!o.no_hs) printf("hyperscan %s\n", hs_version());
#else
    printf("hyperscan: not built in (install libhyperscan-dev and reconfigure)\n");
#endif
  }

  for (size_t i = 0; i < o.n_terms; i++) {
    termlist tl;
    make_terms(&tl, o.terms[i], &seeds, n_rules, perm_r, perm_d, &voc);
    n_result nr;
    bench_n(&o, &c, &tl, &nr);
    if (o.json) print_json(&nr, &o, &c);
    else print_text(&nr);
    ts_free(&tl.ts);
  }

  /* the tagger end to end, default rules */
  nf_rules *rules;
  char err[512];
  double t0 = bench_now();
  if (nf_rules_load_builtin(&rules, err, sizeof err) < 0) nf_die(PROG, 1, "%s", err);
  double rules_ms = (bench_now() - t0) * 1e3;
  size_t topics = nf_rules_topics(rules), terms = nf_rules_terms(rules);
  tag_work tw = {.t = nf_tagger_new(rules), .src = &src};
  if (!tw.t) nf_die(PROG, 1, "out of memory");
  result tag;
  measure(&c, &o, false, work_tag, &tw, &tag);
  tw.topics = tw.failed = 0;
  one_pass(&c, work_tag, &tw);
  if (tw.failed) fprintf(stderr, "%s: %zu items failed to tag\n", PROG, tw.failed);
  double topics_per_item = (double)tw.topics / (double)c.n;
  nf_tagger_free(tw.t);

  if (o.json) {
    printf("{\"what\":\"tagger\",\"rules\":\"default\",\"topics\":%zu,\"rule_terms\":%zu,"
           "\"rules_load_ms\":",
           topics, terms);
    bench_json_number(stdout, rules_ms);
    printf(",\"corpus_bytes\":%zu,\"items\":%zu,\"topics_per_item\":", raw, c.n);
    bench_json_number(stdout, topics_per_item);
    printf(",");
    json_scan(&tag);
    printf(",\"fold\":{");
    json_scan(&fold);
    printf("},\"machine\":{\"cpu\":");
    bench_json_string(stdout, mach.cpu);
    printf(",\"nproc\":%ld,\"ram_gib\":", mach.nproc);
    bench_json_number(stdout, mach.ram_gib);
    printf("}}\n");
  } else {
    printf("\n== tagger end to end: nf_tag_item, default rules (%zu topics, %zu terms, and "
           "the dictionary; built in %.0f ms) ==\n",
           topics, terms, rules_ms);
    printf("%-10s %10s %10s %10s %10s\n", "", "MB/s", "µs mean", "µs p50", "µs p99");
    for (int k = 0; k < NKINDS; k++)
      printf("%-10s %10.0f %10.2f %10.2f %10.2f\n", kind_names[k], tag.k[k].mbs,
             tag.k[k].us_mean, tag.k[k].us_p50, tag.k[k].us_p99);
    printf("%-10s %10.0f %10.2f\n", "all", tag.mbs, tag.us_mean);
    printf("(raw text bytes; %.2f topics per item; %.0f MB per second of CPU time, CPU share "
           "%.2f)\n",
           topics_per_item, tag.mbs_cpu, tag.cpu_share);
  }

  free_corpus(&c);
  free(perm_r);
  free(perm_d);
  ts_free(&seeds);
  free_vocab(&voc);
  free_source(&src);
  return 0;
}
