/*
 * tagger.h -- topic rules and the tagging of items (SPEC section 5).
 *
 * nf_rules is a compiled, immutable rule set: topics, their term groups,
 * filters and signals, and one matcher holding every term of every topic.
 * nf_tagger pairs a rule set with the scratch memory one thread needs to
 * tag items with it; the daemon swaps whole taggers on reload, so an item
 * is always tagged by exactly one rule set.
 *
 * Rule file format: docs/rules.md.
 */
#ifndef NF_TAG_TAGGER_H
#define NF_TAG_TAGGER_H

#include <newsfeed/newsfeed.h>

typedef struct nf_rules nf_rules;
typedef struct nf_tagger nf_tagger;

/* Compiles rules from YAML text; FILE names it in errors, which are
 * written as "FILE:LINE:COL: message". */
int nf_rules_compile(const char *buf, size_t len, const char *file, nf_rules **out, char *err,
                     size_t errsz);
int nf_rules_load_file(const char *path, nf_rules **out, char *err, size_t errsz);
/* The default rules built into the binary (conf/rules.yaml). */
int nf_rules_load_builtin(nf_rules **out, char *err, size_t errsz);
void nf_rules_free(nf_rules *r);
size_t nf_rules_topics(const nf_rules *r);
size_t nf_rules_terms(const nf_rules *r);
/* Is TOPIC compact (published without body)? */
bool nf_rules_compact(const nf_rules *r, const char *topic);

/* Takes ownership of R. */
nf_tagger *nf_tagger_new(nf_rules *r);
void nf_tagger_free(nf_tagger *t);
const nf_rules *nf_tagger_rules(const nf_tagger *t);

/* One reason a topic was given, for explanations. */
typedef struct nf_reason {
  const char *topic;
  const char *what;   /* "term", "exclude", "source", "kind", "from",
                         "symbols", "all", "implied", "symbol" */
  const char *detail; /* the term, source, topic or symbol */
  const char *field;  /* "title", "summary", "body" for terms, else NULL */
  int score;          /* contribution of a term hit */
} nf_reason;

typedef struct nf_explain {
  nf_reason *r;
  size_t n, cap;
} nf_explain;
void nf_explain_free(nf_explain *e);
/* The explanation as a msgpack map {ok, topics, symbols, reasons} (the
 * query API's answer to op "tag"); IT must have been tagged with EX. */
int nf_explain_pack(const nf_item *it, const nf_explain *ex, nf_buf *b);

/* Tags IT: normalises the producer's symbols, extracts more from the text,
 * and sets it->topics and it->symbols (in the item's arena).  With EX, also
 * records why each topic was given (and which near-misses were vetoed).
 * Fails only on an invalid producer symbol (field "symbols") or OOM. */
int nf_tag_item(nf_tagger *t, nf_item *it, nf_explain *ex, nf_error *err);

#endif
