/*
 * rules_impl.h -- the compiled form of a rule set, shared by rules.c (which
 * builds it) and tagger.c (which evaluates it).  Nothing else sees it.
 */
#ifndef NF_TAG_RULES_IMPL_H
#define NF_TAG_RULES_IMPL_H

#include "tag/matcher.h"
#include "tag/tagger.h"

enum { NF_FIELD_TITLE = 0, NF_FIELD_SUMMARY = 1, NF_FIELD_BODY = 2, NF_NFIELDS = 3 };
#define NF_FIELDS_ALL 7u

typedef struct nf_term {
  uint32_t topic;
  uint16_t weight;
  uint8_t fields;   /* bit per NF_FIELD_* */
  uint8_t exclude;  /* a hit vetoes the topic */
  const char *text; /* as written in the rules, for explanations */
} nf_term;

typedef struct nf_topic_rule {
  char *name;
  int threshold;
  int priority; /* 1..9: items tagged here get at most this priority; 0 = none */
  bool all, compact, symbols;
  unsigned kinds; /* bit per nf_kind; 0 = any */
  char **sources; /* folded, lower case */
  size_t n_sources;
  uint32_t *from; /* topic indexes */
  size_t n_from;
  uint32_t *implies;
  size_t n_implies;
} nf_topic_rule;

/* Matcher values with this bit name a dictionary entry (index into
 * dict_symbol), not a term. */
#define NF_DICT_BIT 0x80000000u

typedef struct nf_dict_entry {
  const char *name;   /* as written, for explanations */
  const char *symbol; /* normalised CODE.EXCHANGE */
} nf_dict_entry;

struct nf_rules {
  nf_topic_rule *topics;
  size_t n_topics;
  uint32_t *order;       /* evaluation order: sources of `from` and impliers first */
  uint32_t **implied_by; /* per topic: topics that imply it */
  size_t *n_implied_by;
  nf_term *terms;
  size_t n_terms;
  char **strings; /* term texts, owned */
  size_t n_strings;
  int field_weight[NF_NFIELDS];
  nf_dict_entry *dict; /* company names -> symbols (dictionary: FILE) */
  size_t n_dict;
  nf_matcher *matcher;
};

#endif
