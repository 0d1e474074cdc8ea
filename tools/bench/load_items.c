/*
 * load_items.c -- the items `newsfeed-bench load` sends, and their meta.
 *
 * The pool is built once per run from the built-in corpus
 * (tests/corpus/labelled.jsonl, embedded): a flash is a corpus flash topped
 * up with other titles of its language to the wanted size, an article a
 * corpus title and body continued with paragraphs of its language.  The
 * meta map is written and read by hand (a fixed shape, no allocation) so
 * that timing it costs nothing measurable on either side.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "load_items.h"
#include "toolutil.h"

#define PROG "newsfeed-bench load"

extern const char nf_bench_corpus[];
extern const size_t nf_bench_corpus_len;

typedef struct citem {
  char *title, *body, *source;
  bool zh, flash;
} citem;

static char *xstrdup(const char *s) {
  size_t n = strlen(s);
  char *d = bench_xmalloc(n + 1);
  memcpy(d, s, n + 1);
  return d;
}

static bool has_cjk(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p >= 0xE3 && *p <= 0xE9) return true;
  return false;
}

typedef struct tbuf {
  char *p;
  size_t n, cap;
} tbuf;

static void sb_add(tbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = bench_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void sb_str(tbuf *b, const char *s) {
  sb_add(b, s, strlen(s));
}

/* Cuts B to at most N bytes on a UTF-8 character boundary; control
 * characters become spaces (newlines too unless KEEP_NL). */
static void sb_cut(tbuf *b, size_t n, bool keep_nl) {
  if (b->n > n) {
    while (n > 0 && ((unsigned char)b->p[n] & 0xC0) == 0x80) n--;
    b->n = n;
    b->p[n] = 0;
  }
  for (size_t i = 0; i < b->n; i++) {
    unsigned char c = (unsigned char)b->p[i];
    if (c < 0x20 && !(keep_nl && c == '\n')) b->p[i] = ' ';
  }
  while (b->n && b->p[b->n - 1] == ' ') b->p[--b->n] = 0;
}

void load_pool_build(load_pool *pl, bool flash_only, int size, uint64_t seed, int items) {
  citem *ci = NULL;
  size_t n = 0, cap = 0;
  const char *buf = nf_bench_corpus;
  size_t len = nf_bench_corpus_len;
  for (size_t pos = 0; pos < len;) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len, start = pos;
    pos = end + 1;
    if (end == start) continue;
    json_t *root = json_loadb(buf + start, end - start, 0, NULL);
    if (!root) continue;
    json_t *it = json_object_get(root, "item");
    if (!json_is_object(it)) it = root;
    const char *t = json_string_value(json_object_get(it, "title"));
    if (t && *t) {
      const char *b = json_string_value(json_object_get(it, "body"));
      const char *s = json_string_value(json_object_get(it, "source"));
      const char *k = json_string_value(json_object_get(it, "kind"));
      const char *lang = json_string_value(json_object_get(it, "lang"));
      if (n == cap) ci = bench_xrealloc(ci, (cap = cap ? cap * 2 : 512) * sizeof *ci);
      ci[n++] = (citem){.title = xstrdup(t),
                        .body = b && *b ? xstrdup(b) : NULL,
                        .source = s && *s ? xstrdup(s) : NULL,
                        .zh = lang ? !strncmp(lang, "zh", 2) : has_cjk(t),
                        .flash = k && (!strcmp(k, "flash") || !strcmp(k, "ticker"))};
    }
    json_decref(root);
  }
  if (!n) nf_die(PROG, 1, "built-in corpus has no items");
  /* per language: items, flashes, articles (with a body) */
  size_t *by[2][3], nby[2][3] = {{0}};
  for (int l = 0; l < 2; l++)
    for (int k = 0; k < 3; k++) by[l][k] = bench_xmalloc(n * sizeof(size_t));
  for (size_t i = 0; i < n; i++) {
    int l = ci[i].zh;
    by[l][0][nby[l][0]++] = i;
    if (ci[i].flash) by[l][1][nby[l][1]++] = i;
    if (!ci[i].flash && ci[i].body) by[l][2][nby[l][2]++] = i;
  }
  uint64_t rng = seed;
  pl->n = (size_t)items;
  pl->it = bench_xcalloc(pl->n, sizeof *pl->it);
  for (size_t i = 0; i < pl->n; i++) {
    load_item *p = &pl->it[i];
    int l = bench_below(&rng, 100) < 60; /* 60% Chinese */
    if (!nby[l][0]) l = !l;
    bool flash = flash_only || bench_below(&rng, 10) != 0;
    size_t *list = by[l][flash ? 1 : 2];
    size_t nl = nby[l][flash ? 1 : 2];
    if (!nl) list = by[l][0], nl = nby[l][0];
    const citem *src = &ci[list[bench_below(&rng, (uint32_t)nl)]];
    p->flash = flash;
    p->source = src->source;
    p->lang = l ? "zh" : "en";
    tbuf t = {0};
    if (flash) {
      size_t want = size > 0 ? (size_t)size : 150 + bench_below(&rng, 251);
      sb_str(&t, src->title);
      while (t.n < want) {
        sb_str(&t, l ? "。" : ". ");
        sb_str(&t, ci[by[l][0][bench_below(&rng, (uint32_t)nby[l][0])]].title);
      }
      sb_cut(&t, want, false);
      p->title = t.p;
      pl->bytes += t.n;
    } else {
      size_t want = 2048 + bench_below(&rng, 20480 - 2048 + 1);
      sb_str(&t, src->title);
      sb_cut(&t, 400, false);
      p->title = t.p;
      tbuf b = {0};
      if (src->body) sb_str(&b, src->body);
      while (b.n < want) {
        const citem *o2 = &ci[by[l][0][bench_below(&rng, (uint32_t)nby[l][0])]];
        sb_str(&b, "\n\n");
        sb_str(&b, o2->body ? o2->body : o2->title);
      }
      sb_cut(&b, want, true);
      p->body = b.p;
      pl->bytes += t.n + b.n;
    }
  }
  for (int l = 0; l < 2; l++)
    for (int k = 0; k < 3; k++) free(by[l][k]);
  /* sources are kept (pool items point at them); titles and bodies not */
  for (size_t i = 0; i < n; i++) {
    free(ci[i].title);
    free(ci[i].body);
  }
  free(ci);
}

/* ---- meta: {"run": R, "t": NS, "w": bool} ----------------------------------- */

size_t load_meta_encode(uint8_t *out, uint64_t run, uint64_t t, bool warm) {
  uint8_t *p = out;
  *p++ = 0x83;
  *p++ = 0xa3, memcpy(p, "run", 3), p += 3;
  *p++ = 0xcf;
  for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(run >> (i * 8));
  *p++ = 0xa1, *p++ = 't';
  *p++ = 0xcf;
  for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(t >> (i * 8));
  *p++ = 0xa1, *p++ = 'w';
  *p++ = warm ? 0xc3 : 0xc2;
  return (size_t)(p - out);
}

/* Tolerant reader of that map (any integer encoding). */
typedef struct rd {
  const uint8_t *p, *e;
} rd;

static bool rd_uint(rd *r, uint64_t *v) {
  if (r->p >= r->e) return false;
  uint8_t c = *r->p++;
  int n = 0;
  if (c <= 0x7f) return *v = c, true;
  if (c == 0xc2 || c == 0xc3) return *v = c == 0xc3, true;
  if (c == 0xcc || c == 0xd0) n = 1;
  else if (c == 0xcd || c == 0xd1) n = 2;
  else if (c == 0xce || c == 0xd2) n = 4;
  else if (c == 0xcf || c == 0xd3) n = 8;
  else return false;
  if (r->e - r->p < n) return false;
  uint64_t x = 0;
  for (int i = 0; i < n; i++) x = x << 8 | *r->p++;
  *v = x;
  return true;
}

static bool rd_str(rd *r, const char **s, size_t *n) {
  if (r->p >= r->e) return false;
  uint8_t c = *r->p++;
  size_t l;
  if ((c & 0xe0) == 0xa0) l = c & 0x1f;
  else if (c == 0xd9 && r->p < r->e) l = *r->p++;
  else return false;
  if ((size_t)(r->e - r->p) < l) return false;
  *s = (const char *)r->p, *n = l;
  r->p += l;
  return true;
}

bool load_meta_decode(const uint8_t *m, size_t len, uint64_t *run, uint64_t *t, bool *warm) {
  if (!m || !len) return false;
  rd r = {m, m + len};
  uint8_t c = *r.p++;
  size_t n;
  if ((c & 0xf0) == 0x80) n = c & 0x0f;
  else return false;
  bool got_run = false;
  *t = 0, *warm = false;
  for (size_t i = 0; i < n; i++) {
    const char *k;
    size_t kl;
    uint64_t v;
    if (!rd_str(&r, &k, &kl) || !rd_uint(&r, &v)) return false;
    if (kl == 3 && !memcmp(k, "run", 3)) *run = v, got_run = true;
    else if (kl == 1 && k[0] == 't') *t = v;
    else if (kl == 1 && k[0] == 'w') *warm = v != 0;
  }
  return got_run;
}
