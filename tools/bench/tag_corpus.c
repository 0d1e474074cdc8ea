/*
 * tag_corpus.c -- see tag_corpus.h.  Deterministic (fixed seed), so every
 * run measures the same terms over the same texts.
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
#include "tag_corpus.h"
#include "tag/fold.h"
#include "tag/matcher.h"
#include "tag/tagger.h"
#include "toolutil.h"
#include "util/yaml_tree.h"

#define PROG BENCH_PROG " tag"

/* ---- growable bytes -------------------------------------------------------- */

static void sb_reserve(sbuf *b, size_t more) {
  if (b->n + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->n + more) cap *= 2;
  b->p = bench_xrealloc(b->p, cap);
  b->cap = cap;
}

void tc_sb_add(sbuf *b, const void *s, size_t n) {
  sb_reserve(b, n + 1);
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

void tc_sb_str(sbuf *b, const char *s) {
  tc_sb_add(b, s, strlen(s));
}

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

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

const char *tc_ts_str(const termset *ts, size_t i) {
  return ts->bytes.p + ts->off[i];
}

static void ts_rehash(termset *ts) {
  size_t size = ts->slot ? (ts->mask + 1) * 2 : 1024;
  free(ts->slot);
  ts->slot = bench_xcalloc(size, sizeof *ts->slot);
  ts->mask = size - 1;
  for (size_t i = 0; i < ts->n; i++) {
    size_t h = (size_t)hash_bytes(tc_ts_str(ts, i), ts->len[i]) & ts->mask;
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
    if (ts->len[i] == fl && !memcmp(tc_ts_str(ts, i), f, fl)) {
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
  tc_sb_add(&ts->bytes, f, fl);
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

void tc_ts_free(termset *ts) {
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
size_t tc_load_seeds(termset *ts) {
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

void tc_load_source(source *s, const char *path) {
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
    src_item it = {.title = dup_field(o, "title"),
                   .body = dup_field(o, "body"),
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

void tc_free_source(source *s) {
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

static const termset *cmp_words_ts;
static int cmp_words(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const termset *ts = cmp_words_ts;
  if (ts->count[x] != ts->count[y]) return ts->count[x] > ts->count[y] ? -1 : 1;
  return strcmp(tc_ts_str(ts, x), tc_ts_str(ts, y));
}

static bool is_alpha(unsigned char c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

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

void tc_build_vocab(vocab *v, const source *s) {
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

void tc_free_vocab(vocab *v) {
  free(v->cjk);
  free(v->cjk_cum);
  free(v->by_freq);
  tc_ts_free(&v->words);
  tc_ts_free(&v->bigrams);
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
    "科技",   "股份",   "集团", "控股", "银行", "证券", "医药", "生物", "能源",
    "电子",   "材料",   "智能", "汽车", "地产", "实业", "传媒", "电气", "环保",
    "新能源", "半导体", "药业", "重工", "化工", "食品", "物流", "国际", "光电",
    "通信",   "软件",   "网络", "基金", "保险", "信托", "矿业", "航空", "机器人"};
static const char *const en_suffix[] = {"inc",
                                        "corp",
                                        "group",
                                        "holdings",
                                        "technologies",
                                        "therapeutics",
                                        "capital",
                                        "energy",
                                        "bank",
                                        "pharmaceuticals",
                                        "systems",
                                        "partners",
                                        "industries",
                                        "motors",
                                        "labs",
                                        "networks",
                                        "resources",
                                        "financial",
                                        "semiconductor",
                                        "biosciences",
                                        "ltd",
                                        "plc",
                                        "ag",
                                        "sa"};
static const char *const syllables[] = {
    "al",  "an",  "ar",    "be",  "ca",  "co",   "da",  "de",  "el",  "en",   "fi",
    "ga",  "in",  "ka",    "la",  "lo",  "ma",   "mi",  "na",  "ne",  "no",   "or",
    "pa",  "ra",  "re",    "ri",  "sa",  "se",   "ta",  "te",  "ti",  "to",   "va",
    "ve",  "vi",  "xa",    "zo",  "ly",  "tron", "tex", "gen", "bio", "nova", "sys",
    "dyn", "tek", "quant", "cor", "vox", "lux",  "mar", "sol", "ter", "zen"};
static const char *const code_prefix[] = {"600", "601", "603", "605", "688", "000",
                                          "001", "002", "003", "300", "301"};

/* An English word from the vocabulary; RARE skips the 100 most frequent. */
static const char *draw_word(const vocab *v, uint64_t *rng, bool rare) {
  size_t skip = rare && v->words.n > 200 ? 100 : 0;
  uint32_t e = v->by_freq[skip + bench_below(rng, (uint32_t)(v->words.n - skip))];
  return tc_ts_str(&v->words, e);
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
        return (size_t)sprintf(o, "%s",
                               tc_ts_str(&v->bigrams, bench_below(rng, (uint32_t)v->bigrams.n)));
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

/* The N terms (see the top comment).  PERM_R and PERM_D are fixed
 * permutations of the rule terms and of the names. */
void tc_make_terms(termlist *tl, size_t n, const termset *seeds, size_t n_rules,
                   const uint32_t *perm_r, const uint32_t *perm_d, const vocab *v) {
  *tl = (termlist){0};
  size_t n_dict = seeds->n - n_rules;
  for (size_t i = 0; i < n_rules && tl->ts.n < n; i++) {
    size_t e = perm_r[i];
    ts_add(&tl->ts, tc_ts_str(seeds, e), seeds->len[e]);
  }
  tl->from_rules = tl->ts.n;
  for (size_t i = 0; i < n_dict && tl->ts.n < n; i++) {
    size_t e = n_rules + perm_d[i];
    ts_add(&tl->ts, tc_ts_str(seeds, e), seeds->len[e]);
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

uint32_t *tc_permutation(size_t n, uint64_t seed) {
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

static void add_title(sbuf *b, const source *s, bool zh, uint64_t *rng) {
  uint32_t i = s->items[zh][bench_below(rng, (uint32_t)s->n_items[zh])];
  tc_sb_str(b, s->it[i].title);
}

static void make_flash(corpus *c, const source *s, uint64_t *rng, bitem *it) {
  size_t len = 100 + bench_below(rng, 201);
  const src_item *si = &s->it[it->src = s->flashes[bench_below(rng, (uint32_t)s->n_flashes)]];
  it->kind = K_FLASH;
  it->rt = (uint32_t)c->raw.n;
  tc_sb_str(&c->raw, si->title);
  if (si->body) {
    tc_sb_str(&c->raw, " ");
    tc_sb_str(&c->raw, si->body);
  }
  while (c->raw.n - it->rt < len) {
    tc_sb_str(&c->raw, si->zh ? "。" : ". ");
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
  tc_sb_str(&c->raw, si->title);
  it->rtl = (uint32_t)(c->raw.n - it->rt);
  sb_reserve(&c->raw, 1);
  c->raw.n++;
  size_t want = len > it->rtl + 64 ? len - it->rtl : 64;
  it->rb = (uint32_t)c->raw.n;
  if (si->body) tc_sb_str(&c->raw, si->body);
  while (c->raw.n - it->rb < want) {
    if (c->raw.n > it->rb) tc_sb_str(&c->raw, "\n\n");
    if (s->n_paras[si->zh]) {
      const span *p = &s->paras[si->zh][bench_below(rng, (uint32_t)s->n_paras[si->zh])];
      tc_sb_add(&c->raw, p->p, p->n);
    } else {
      add_title(&c->raw, s, si->zh, rng);
    }
  }
  sb_cut(&c->raw, it->rb, want);
  it->rbl = (uint32_t)(c->raw.n - it->rb);
  sb_reserve(&c->raw, 1);
  c->raw.n++;
}

void tc_build_corpus(corpus *c, const source *s) {
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

void tc_free_corpus(corpus *c) {
  free(c->raw.p);
  free(c->fold);
  free(c->items);
  for (int k = 0; k < NKINDS; k++) free(c->by_kind[k]);
}
