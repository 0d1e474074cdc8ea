/*
 * tag_corpus.h -- the material of `newsfeed-bench tag`: term sets (the
 * default rules, the symbol dictionary, plausible generated terms) and the
 * benchmark corpus (flashes and articles built from the labelled test
 * corpus), kept apart from the measuring in tag.c.
 */
#ifndef NF_BENCH_TAG_CORPUS_H
#define NF_BENCH_TAG_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#define FOLD_FLAGS (NF_FOLD_WIDTH | NF_FOLD_CASE)
#define CORPUS_MIN ((size_t)32 << 20)
#define SEED 0x6E65777366656564ull /* "newsfeed" */

enum { K_FLASH = 0, K_ARTICLE = 1, NKINDS = 2 };

extern const char nf_default_rules[];
extern const size_t nf_default_rules_len;
extern const char nf_default_symbols[];
extern const size_t nf_default_symbols_len;
extern const char nf_bench_corpus[];
extern const size_t nf_bench_corpus_len;

typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

typedef struct termset {
  sbuf bytes;    /* each entry NUL-terminated */
  uint32_t *off; /* entry i at bytes.p + off[i] */
  uint8_t *len;
  uint32_t *count; /* times put */
  size_t n, cap;
  uint32_t *slot; /* hash table: entry + 1, 0 = empty */
  size_t mask;
} termset;

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

typedef struct vocab {
  uint32_t *cjk;   /* characters seen, code point order */
  double *cjk_cum; /* cumulative sqrt(frequency) */
  size_t n_cjk;
  termset words;     /* English words, folded */
  uint32_t *by_freq; /* word entries, most frequent first */
  termset bigrams;   /* "word word" seen in the corpus */
} vocab;

typedef struct termlist {
  termset ts;
  size_t from_rules, from_dict, generated;
} termlist;

typedef struct bitem {
  uint32_t src;              /* source item: source name, language */
  uint8_t kind;              /* K_FLASH / K_ARTICLE */
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

void tc_build_corpus(corpus *c, const source *s);
void tc_build_vocab(vocab *v, const source *s);
void tc_free_corpus(corpus *c);
void tc_free_source(source *s);
void tc_free_vocab(vocab *v);
size_t tc_load_seeds(termset *ts);
void tc_load_source(source *s, const char *path);
void tc_make_terms(termlist *tl, size_t n, const termset *seeds, size_t n_rules,
                   const uint32_t *perm_r, const uint32_t *perm_d, const vocab *v);
void tc_sb_add(sbuf *b, const void *s, size_t n);
void tc_sb_str(sbuf *b, const char *s);
void tc_ts_free(termset *ts);
uint32_t *tc_permutation(size_t n, uint64_t seed);
const char *tc_ts_str(const termset *ts, size_t i);

#endif
