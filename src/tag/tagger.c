/*
 * tagger.c -- evaluates a compiled rule set against one item.
 *
 * Per item: fold each text field once (width, then case: see
 * collect_symbols), scan it once with
 * the shared matcher, and accumulate per-topic scores from the term hits
 * (weight x field weight, each term counted once per field).  Then walk
 * the topics in their precomputed order, so that a topic's `from` sources
 * and impliers are decided before it:
 *
 *   matched(T) = kind filter passes && no exclude hit &&
 *                (all || score >= threshold || source listed ||
 *                 (symbols && item has symbols) || any `from` matched ||
 *                 any implier matched)
 *
 * Symbols come first (producer symbols normalised, then those found in the
 * text) because `symbols: true` topics depend on them, and every symbol
 * adds a sym.<SYMBOL> topic.
 *
 * The scratch arrays (scores, per-term stamps) belong to the tagger, so a
 * tagger is used by one thread at a time; the rules it points to are never
 * modified after compilation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tag/fold.h"
#include "tag/rules_impl.h"
#include "tag/symbols.h"

#define MAX_SYMBOLS 64

struct nf_tagger {
  nf_rules *r;
  nf_symbol syms[MAX_SYMBOLS]; /* the item's symbols, gathered before topics */
  size_t n_syms;
  uint32_t *stamp; /* per term and field: generation that last counted it */
  uint32_t gen;
  int *score;
  uint8_t *veto, *matched;
  /* each text field width-folded, kept from symbol extraction to the
   * scan, which case-folds it in place */
  char *fold[NF_NFIELDS];
  size_t fold_len[NF_NFIELDS], fold_cap[NF_NFIELDS];
  /* state of the scan in progress */
  unsigned field;
  nf_explain *ex;
  int oom;
};

static const char *field_names[NF_NFIELDS] = {"title", "summary", "body"};

nf_tagger *nf_tagger_new(nf_rules *r) {
  nf_tagger *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  size_t nt = r->n_topics ? r->n_topics : 1;
  t->r = r;
  t->stamp = calloc(r->n_terms * NF_NFIELDS + 1, sizeof *t->stamp);
  t->score = calloc(nt, sizeof *t->score);
  t->veto = calloc(nt, 1);
  t->matched = calloc(nt, 1);
  if (!t->stamp || !t->score || !t->veto || !t->matched) {
    nf_tagger_free(t);
    return NULL;
  }
  return t;
}

void nf_tagger_free(nf_tagger *t) {
  if (!t) return;
  nf_rules_free(t->r);
  free(t->stamp);
  free(t->score);
  free(t->veto);
  free(t->matched);
  for (size_t f = 0; f < NF_NFIELDS; f++) free(t->fold[f]);
  free(t);
}

const nf_rules *nf_tagger_rules(const nf_tagger *t) {
  return t->r;
}

void nf_explain_free(nf_explain *e) {
  free(e->r);
  memset(e, 0, sizeof *e);
}

static void explain(nf_tagger *t, const char *topic, const char *what, const char *detail,
                    const char *field, int score) {
  nf_explain *e = t->ex;
  if (!e) return;
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 32;
    nf_reason *r = realloc(e->r, cap * sizeof *r);
    if (!r) {
      t->oom = 1;
      return;
    }
    e->r = r;
    e->cap = cap;
  }
  e->r[e->n++] = (nf_reason){topic, what, detail, field, score};
}

static void add_symbol(nf_tagger *t, const char *sym) {
  for (size_t i = 0; i < t->n_syms; i++)
    if (!strcmp(t->syms[i].s, sym)) return;
  if (t->n_syms < MAX_SYMBOLS) snprintf(t->syms[t->n_syms++].s, NF_SYMBOL_MAX, "%s", sym);
}

static int on_hit(void *ctx, uint32_t value, size_t start, size_t end) {
  (void)start, (void)end;
  nf_tagger *t = ctx;
  if (value & NF_DICT_BIT) { /* a company name from the dictionary */
    const nf_dict_entry *e = &t->r->dict[value & ~NF_DICT_BIT];
    size_t before = t->n_syms;
    add_symbol(t, e->symbol);
    if (t->n_syms > before) explain(t, e->symbol, "dictionary", e->name, field_names[t->field], 0);
    return 0;
  }
  const nf_term *term = &t->r->terms[value];
  if (!(term->fields & (1u << t->field))) return 0;
  const char *topic = t->r->topics[term->topic].name;
  if (term->exclude) {
    if (!t->veto[term->topic]) explain(t, topic, "exclude", term->text, field_names[t->field], 0);
    t->veto[term->topic] = 1;
    return 0;
  }
  uint32_t *st = &t->stamp[(size_t)value * NF_NFIELDS + t->field];
  if (*st == t->gen) return 0;
  *st = t->gen;
  int s = term->weight * t->r->field_weight[t->field];
  t->score[term->topic] += s;
  explain(t, topic, "term", term->text, field_names[t->field], s);
  return 0;
}

/* FIELD was width-folded by collect_symbols; case-folding that equals
 * folding the original text with both flags (width folding only ever
 * writes ASCII, case folding only touches ASCII). */
static void scan_field(nf_tagger *t, unsigned field, const char *text) {
  if (!text) return;
  size_t n = nf_fold(t->fold[field], t->fold_len[field], t->fold[field], NF_FOLD_CASE);
  t->field = field;
  nf_matcher_scan(t->r->matcher, t->fold[field], n, on_hit, t);
}

/* Producer symbols, normalised, then codes found in the text; company
 * names are added while scanning (on_hit). */
static int collect_symbols(nf_tagger *t, nf_item *it, nf_error *err) {
  t->n_syms = 0;
  for (size_t i = 0; i < it->n_symbols; i++) {
    nf_symbol s;
    if (nf_symbol_normalize(it->symbols[i], strlen(it->symbols[i]), s.s) < 0)
      return nf_fail(err, "symbols",
                     "'%s' is not a recognisable symbol (use CODE.EXCHANGE, e.g. 600519.SH, "
                     "00700.HK, AAPL.US)",
                     it->symbols[i]);
    add_symbol(t, s.s);
  }
  const char *fields[NF_NFIELDS] = {
      [NF_FIELD_TITLE] = it->title, [NF_FIELD_SUMMARY] = it->summary, [NF_FIELD_BODY] = it->body};
  for (size_t f = 0; f < NF_NFIELDS; f++) {
    if (!fields[f]) continue;
    size_t len = strlen(fields[f]);
    if (len > t->fold_cap[f]) {
      char *p = realloc(t->fold[f], len);
      if (!p) return nf_fail(err, "", "out of memory");
      t->fold[f] = p;
      t->fold_cap[f] = len;
    }
    t->fold_len[f] = nf_fold(fields[f], len, t->fold[f], NF_FOLD_WIDTH);
    nf_symbols_extract(t->fold[f], t->fold_len[f], t->syms, &t->n_syms, MAX_SYMBOLS);
  }
  return 0;
}

static int store_symbols(nf_tagger *t, nf_item *it) {
  const char **arr = nf_item_alloc(it, (t->n_syms ? t->n_syms : 1) * sizeof *arr);
  if (!arr) return -1;
  for (size_t i = 0; i < t->n_syms; i++)
    if (!(arr[i] = nf_item_strdup(it, t->syms[i].s, strlen(t->syms[i].s)))) return -1;
  it->symbols = arr;
  it->n_symbols = t->n_syms;
  return 0;
}

/* strcmp(A, B) == 0, the first two bytes inline: an item's source is
 * compared with every listed source of every topic, and they nearly all
 * differ there, so the call into libc was most of the cost. */
static bool same_str(const char *a, const char *b) {
  return a[0] == b[0] && (!a[0] || (a[1] == b[1] && (!a[1] || !strcmp(a + 2, b + 2))));
}

static bool source_listed(const nf_topic_rule *tr, const char *folded) {
  for (size_t i = 0; folded && i < tr->n_sources; i++)
    if (same_str(tr->sources[i], folded)) return true;
  return false;
}

/* Decides one topic; reasons go to the explanation. */
static bool decide(nf_tagger *t, uint32_t i, const nf_item *it, const char *src) {
  const nf_rules *r = t->r;
  const nf_topic_rule *tr = &r->topics[i];
  if (tr->kinds && !(tr->kinds & (1u << it->kind))) return false;
  if (t->veto[i]) return false;
  bool m = false;
  if (tr->all) m = true, explain(t, tr->name, "all", NULL, NULL, 0);
  if (t->score[i] >= tr->threshold) m = true;
  if (source_listed(tr, src)) m = true, explain(t, tr->name, "source", it->source, NULL, 0);
  if (tr->symbols && it->n_symbols)
    m = true, explain(t, tr->name, "symbols", it->symbols[0], NULL, 0);
  for (size_t j = 0; j < tr->n_from; j++)
    if (t->matched[tr->from[j]])
      m = true, explain(t, tr->name, "from", r->topics[tr->from[j]].name, NULL, 0);
  for (size_t j = 0; j < r->n_implied_by[i]; j++)
    if (t->matched[r->implied_by[i][j]])
      m = true, explain(t, tr->name, "implied", r->topics[r->implied_by[i][j]].name, NULL, 0);
  return m;
}

/* Priority rules: a topic with `priority: N` makes its items at least that
 * urgent, unless the producer chose a priority itself. */
static void apply_priority(nf_tagger *t, nf_item *it) {
  if (it->has_priority) return;
  for (size_t i = 0; i < t->r->n_topics; i++) {
    int p = t->r->topics[i].priority;
    if (t->matched[i] && p && p < it->priority) {
      it->priority = p;
      explain(t, t->r->topics[i].name, "priority", NULL, NULL, p);
    }
  }
}

static int set_topics(nf_tagger *t, nf_item *it) {
  const nf_rules *r = t->r;
  size_t n = 0;
  for (size_t i = 0; i < r->n_topics; i++) n += t->matched[i];
  const char **arr = nf_item_alloc(it, (n + it->n_symbols + 1) * sizeof *arr);
  if (!arr) return -1;
  n = 0;
  for (size_t i = 0; i < r->n_topics; i++)
    if (t->matched[i]) arr[n++] = r->topics[i].name;
  for (size_t i = 0; i < it->n_symbols; i++) {
    size_t len = strlen(it->symbols[i]);
    char *s = nf_item_alloc(it, len + 5);
    if (!s) return -1;
    memcpy(s, "sym.", 4);
    memcpy(s + 4, it->symbols[i], len + 1);
    arr[n++] = s;
    explain(t, s, "symbol", it->symbols[i], NULL, 0);
    for (size_t k = 0; t->ex && k < t->ex->n; k++) /* name the topic, not the symbol */
      if (!strcmp(t->ex->r[k].what, "dictionary") && !strcmp(t->ex->r[k].topic, it->symbols[i]))
        t->ex->r[k].topic = s;
  }
  it->topics = arr;
  it->n_topics = n;
  return 0;
}

int nf_tag_item(nf_tagger *t, nf_item *it, nf_explain *ex, nf_error *err) {
  const nf_rules *r = t->r;
  t->ex = ex;
  t->oom = 0;
  if (++t->gen == 0) { /* stamps wrapped: forget them all */
    memset(t->stamp, 0, r->n_terms * NF_NFIELDS * sizeof *t->stamp);
    t->gen = 1;
  }
  memset(t->score, 0, r->n_topics * sizeof *t->score);
  memset(t->veto, 0, r->n_topics);
  memset(t->matched, 0, r->n_topics);
  if (collect_symbols(t, it, err) < 0) return -1;
  scan_field(t, NF_FIELD_TITLE, it->title);
  scan_field(t, NF_FIELD_SUMMARY, it->summary);
  scan_field(t, NF_FIELD_BODY, it->body);
  if (store_symbols(t, it) < 0) return nf_fail(err, "", "out of memory");
  char src[1025];
  const char *folded_src = NULL;
  if (it->source) {
    size_t len = strlen(it->source);
    if (len < sizeof src) {
      src[nf_fold(it->source, len, src, NF_FOLD_WIDTH | NF_FOLD_CASE)] = 0;
      folded_src = src;
    }
  }
  for (size_t k = 0; k < r->n_topics; k++) {
    uint32_t i = r->order[k];
    t->matched[i] = decide(t, i, it, folded_src);
  }
  apply_priority(t, it);
  if (set_topics(t, it) < 0 || t->oom) return nf_fail(err, "", "out of memory");
  t->ex = NULL;
  return 0;
}
