/*
 * rules.c -- compiles a YAML rule file (docs/rules.md) into nf_rules.
 *
 * Compilation happens once per load, off the hot path, and either yields a
 * complete rule set or an error at FILE:LINE:COL; a half-built set is
 * never returned, which is what lets the daemon swap rules atomically.
 *
 * Every term of every topic goes into one matcher, its value an index into
 * the term table, so tagging scans each text field once whatever the
 * number of topics and terms.  Topics are evaluated in a topological
 * order of their `from` and `implies` edges, computed here; a cycle is a
 * compile error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tag/fold.h"
#include "tag/rules_impl.h"
#include "tag/symbols.h"
#include "util/yaml_tree.h"

extern const char nf_default_rules[];
extern const size_t nf_default_rules_len;
extern const char nf_default_symbols[];
extern const size_t nf_default_symbols_len;

typedef struct build {
  nf_rules *r;
  const nf_ynode *root, *topics_node;
  size_t cap_terms, cap_strings, cap_dict;
  const char *file; /* the rules file; NULL for the built-in rules */
  char *err;
  size_t errsz;
} build;

static void *grow(void *p, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return p;
  size_t c = *cap ? *cap * 2 : 16;
  void *q = realloc(p, c * size);
  if (q) *cap = c;
  return q;
}

static int oom(build *b) {
  snprintf(b->err, b->errsz, "out of memory compiling rules");
  return -1;
}

static int topic_index(const nf_rules *r, const char *name) {
  for (size_t i = 0; i < r->n_topics; i++)
    if (!strcmp(r->topics[i].name, name)) return (int)i;
  return -1;
}

static int want(build *b, const nf_ynode *n, nf_ytype t, const char *what) {
  if (n->type == t) return 0;
  return nf_yerr(n, b->err, b->errsz, "%s must be a %s", what,
                 t == NF_Y_MAP   ? "map"
                 : t == NF_Y_SEQ ? "list"
                                 : "scalar");
}

static int int_in(build *b, const nf_ynode *n, const char *what, long long lo, long long hi,
                  int *out) {
  long long v;
  if (nf_yint(n, &v) < 0 || v < lo || v > hi)
    return nf_yerr(n, b->err, b->errsz, "%s must be an integer %lld..%lld", what, lo, hi);
  *out = (int)v;
  return 0;
}

static int bool_of(build *b, const nf_ynode *n, const char *what, bool *out) {
  if (nf_ybool(n, out) < 0) return nf_yerr(n, b->err, b->errsz, "%s must be true or false", what);
  return 0;
}

static const char *keep_string(build *b, const char *s) {
  char **v = grow(b->r->strings, b->r->n_strings, &b->cap_strings, sizeof *v);
  if (!v) return NULL;
  b->r->strings = v;
  char *copy = strdup(s);
  if (copy) v[b->r->n_strings++] = copy;
  return copy;
}

static int add_term(build *b, uint32_t topic, const nf_ynode *t, int weight, unsigned fields,
                    bool exclude) {
  if (t->type != NF_Y_SCALAR) return nf_yerr(t, b->err, b->errsz, "a term must be a string");
  char folded[256];
  const char *s = t->str;
  size_t len = t->len;
  while (len && (*s == ' ' || *s == '\t')) s++, len--;
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
  if (len == 0 || len > 255) return nf_yerr(t, b->err, b->errsz, "a term must be 1..255 bytes");
  size_t flen = nf_fold(s, len, folded, NF_FOLD_WIDTH | NF_FOLD_CASE);
  nf_rules *r = b->r;
  nf_term *terms = grow(r->terms, r->n_terms, &b->cap_terms, sizeof *terms);
  if (!terms) return oom(b);
  r->terms = terms;
  const char *text = keep_string(b, t->str);
  if (!text) return oom(b);
  nf_term *nt = &terms[r->n_terms];
  *nt = (nf_term){.topic = topic,
                  .weight = (uint16_t)weight,
                  .fields = (uint8_t)fields,
                  .exclude = exclude,
                  .text = text};
  if (nf_matcher_add(r->matcher, folded, flen, (uint32_t)r->n_terms) < 0)
    return nf_yerr(t, b->err, b->errsz, "term rejected by the matcher");
  r->n_terms++;
  return 0;
}

static int parse_fields(build *b, const nf_ynode *n, unsigned *out) {
  static const char *names[NF_NFIELDS] = {"title", "summary", "body"};
  if (want(b, n, NF_Y_SEQ, "fields") < 0) return -1;
  *out = 0;
  for (size_t i = 0; i < n->n; i++) {
    const nf_ynode *f = n->kids[i];
    unsigned bit = 0;
    for (unsigned k = 0; k < NF_NFIELDS; k++)
      if (f->type == NF_Y_SCALAR && !strcmp(f->str, names[k])) bit = 1u << k;
    if (!bit) return nf_yerr(f, b->err, b->errsz, "fields: expected title, summary or body");
    *out |= bit;
  }
  return 0;
}

/* One term group: {weight, fields, match: [...]}, or a bare string. */
static int parse_group(build *b, uint32_t topic, const nf_ynode *g, bool exclude) {
  if (g->type == NF_Y_SCALAR) return add_term(b, topic, g, 1, NF_FIELDS_ALL, exclude);
  if (want(b, g, NF_Y_MAP, "a term group") < 0) return -1;
  int weight = 1;
  unsigned fields = NF_FIELDS_ALL;
  const nf_ynode *match = NULL;
  for (size_t i = 0; i + 1 < g->n; i += 2) {
    const nf_ynode *k = g->kids[i], *v = g->kids[i + 1];
    if (!strcmp(k->str, "weight") && !exclude) {
      if (int_in(b, v, "weight", 1, 100, &weight) < 0) return -1;
    } else if (!strcmp(k->str, "fields")) {
      if (parse_fields(b, v, &fields) < 0) return -1;
    } else if (!strcmp(k->str, "match")) {
      if (want(b, v, NF_Y_SEQ, "match") < 0) return -1;
      match = v;
    } else {
      return nf_yerr(k, b->err, b->errsz, "unknown key '%s' in a term group%s", k->str,
                     exclude ? " of exclude (keys: fields, match)"
                             : " (keys: weight, fields, match)");
    }
  }
  if (!match) return nf_yerr(g, b->err, b->errsz, "term group without match");
  for (size_t i = 0; i < match->n; i++)
    if (add_term(b, topic, match->kids[i], weight, fields, exclude) < 0) return -1;
  return 0;
}

static int parse_groups(build *b, uint32_t topic, const nf_ynode *n, bool exclude) {
  if (want(b, n, NF_Y_SEQ, exclude ? "exclude" : "terms") < 0) return -1;
  for (size_t i = 0; i < n->n; i++)
    if (parse_group(b, topic, n->kids[i], exclude) < 0) return -1;
  return 0;
}

/* A list of topic names (from, implies) -> indexes. */
static int parse_refs(build *b, const nf_ynode *n, const char *what, uint32_t **out, size_t *nout) {
  if (want(b, n, NF_Y_SEQ, what) < 0) return -1;
  *out = calloc(n->n ? n->n : 1, sizeof **out);
  if (!*out) return oom(b);
  for (size_t i = 0; i < n->n; i++) {
    const nf_ynode *t = n->kids[i];
    int idx = t->type == NF_Y_SCALAR ? topic_index(b->r, t->str) : -1;
    if (idx < 0)
      return nf_yerr(t, b->err, b->errsz, "%s: no topic named '%s'", what,
                     t->type == NF_Y_SCALAR ? t->str : "?");
    (*out)[(*nout)++] = (uint32_t)idx;
  }
  return 0;
}

static int parse_sources(build *b, nf_topic_rule *t, const nf_ynode *n) {
  if (want(b, n, NF_Y_SEQ, "sources") < 0) return -1;
  t->sources = calloc(n->n ? n->n : 1, sizeof *t->sources);
  if (!t->sources) return oom(b);
  for (size_t i = 0; i < n->n; i++) {
    const nf_ynode *s = n->kids[i];
    if (want(b, s, NF_Y_SCALAR, "a source") < 0) return -1;
    char *f = malloc(s->len + 1);
    if (!f) return oom(b);
    f[nf_fold(s->str, s->len, f, NF_FOLD_WIDTH | NF_FOLD_CASE)] = 0;
    t->sources[t->n_sources++] = f;
  }
  return 0;
}

static int parse_kinds(build *b, nf_topic_rule *t, const nf_ynode *n) {
  if (want(b, n, NF_Y_SEQ, "kinds") < 0) return -1;
  for (size_t i = 0; i < n->n; i++) {
    nf_kind k;
    if (n->kids[i]->type != NF_Y_SCALAR || nf_kind_parse(n->kids[i]->str, &k) < 0)
      return nf_yerr(n->kids[i], b->err, b->errsz, "kinds: expected article or flash");
    t->kinds |= 1u << k;
  }
  return 0;
}

/* Second pass over one topic: everything but its name. */
static int parse_topic(build *b, uint32_t idx, const nf_ynode *def) {
  nf_topic_rule *t = &b->r->topics[idx];
  t->threshold = 2;
  t->compact = !strcmp(t->name, "headline"); /* SPEC 6: never a body there */
  if (nf_yis_null(def)) return 0;
  if (want(b, def, NF_Y_MAP, "a topic") < 0) return -1;
  for (size_t i = 0; i + 1 < def->n; i += 2) {
    const nf_ynode *k = def->kids[i], *v = def->kids[i + 1];
    const char *key = k->type == NF_Y_SCALAR ? k->str : "";
    int rc;
    if (!strcmp(key, "description")) rc = want(b, v, NF_Y_SCALAR, "description");
    else if (!strcmp(key, "threshold")) rc = int_in(b, v, "threshold", 1, 100000, &t->threshold);
    else if (!strcmp(key, "terms")) rc = parse_groups(b, idx, v, false);
    else if (!strcmp(key, "exclude")) rc = parse_groups(b, idx, v, true);
    else if (!strcmp(key, "sources")) rc = parse_sources(b, t, v);
    else if (!strcmp(key, "kinds")) rc = parse_kinds(b, t, v);
    else if (!strcmp(key, "from")) rc = parse_refs(b, v, "from", &t->from, &t->n_from);
    else if (!strcmp(key, "implies")) rc = parse_refs(b, v, "implies", &t->implies, &t->n_implies);
    else if (!strcmp(key, "symbols")) rc = bool_of(b, v, "symbols", &t->symbols);
    else if (!strcmp(key, "priority")) rc = int_in(b, v, "priority", 1, 9, &t->priority);
    else if (!strcmp(key, "all")) rc = bool_of(b, v, "all", &t->all);
    else if (!strcmp(key, "compact")) {
      bool c = false; /* unset when bool_of fails */
      rc = bool_of(b, v, "compact", &c);
      t->compact = t->compact || c;
    } else
      rc = nf_yerr(k, b->err, b->errsz, "unknown key '%s' in topic '%s' (see docs/rules.md)", key,
                   t->name);
    if (rc < 0) return -1;
  }
  return 0;
}

static int parse_weights(build *b, const nf_ynode *n) {
  static const char *names[NF_NFIELDS] = {"title", "summary", "body"};
  if (want(b, n, NF_Y_MAP, "weights") < 0) return -1;
  for (size_t i = 0; i + 1 < n->n; i += 2) {
    const nf_ynode *k = n->kids[i];
    int f = -1;
    for (int j = 0; j < NF_NFIELDS; j++)
      if (k->type == NF_Y_SCALAR && !strcmp(k->str, names[j])) f = j;
    if (f < 0) return nf_yerr(k, b->err, b->errsz, "weights: expected title, summary or body");
    if (int_in(b, n->kids[i + 1], "a field weight", 0, 100, &b->r->field_weight[f]) < 0) return -1;
  }
  return 0;
}

/* Kahn's algorithm over edges from->topic and topic->implied. */
static int order_topics(build *b) {
  nf_rules *r = b->r;
  size_t n = r->n_topics;
  unsigned *indeg = calloc(n ? n : 1, sizeof *indeg);
  r->order = calloc(n ? n : 1, sizeof *r->order);
  r->implied_by = calloc(n ? n : 1, sizeof *r->implied_by);
  r->n_implied_by = calloc(n ? n : 1, sizeof *r->n_implied_by);
  if (!indeg || !r->order || !r->implied_by || !r->n_implied_by) {
    free(indeg);
    return oom(b);
  }
  for (size_t i = 0; i < n; i++) {
    indeg[i] += (unsigned)r->topics[i].n_from;
    for (size_t j = 0; j < r->topics[i].n_implies; j++) {
      uint32_t t = r->topics[i].implies[j];
      indeg[t]++;
      uint32_t *v = realloc(r->implied_by[t], (r->n_implied_by[t] + 1) * sizeof *v);
      if (!v) {
        free(indeg);
        return oom(b);
      }
      r->implied_by[t] = v;
      v[r->n_implied_by[t]++] = (uint32_t)i;
    }
  }
  size_t done = 0;
  for (size_t pass = 0; pass < n && done < n; pass++) {
    for (size_t i = 0; i < n; i++) {
      if (indeg[i] != 0) continue;
      indeg[i] = ~0u; /* emitted */
      r->order[done++] = (uint32_t)i;
      for (size_t k = 0; k < n; k++) /* release dependants */
        for (size_t j = 0; j < r->topics[k].n_from; j++)
          if (r->topics[k].from[j] == i) indeg[k]--;
      for (size_t j = 0; j < r->topics[i].n_implies; j++) indeg[r->topics[i].implies[j]]--;
    }
  }
  free(indeg);
  if (done < n)
    return nf_yerr(b->topics_node, b->err, b->errsz, "topics: 'from'/'implies' form a cycle");
  return 0;
}

/* ---- symbol dictionary --------------------------------------------------- */

static int add_name(build *b, const nf_ynode *name, const char *symbol) {
  if (name->type != NF_Y_SCALAR || name->len < 2 || name->len > 80)
    return nf_yerr(name, b->err, b->errsz, "a company name must be 2..80 bytes");
  nf_rules *r = b->r;
  nf_dict_entry *d = grow(r->dict, r->n_dict, &b->cap_dict, sizeof *d);
  if (!d) return oom(b);
  r->dict = d;
  const char *n = keep_string(b, name->str);
  if (!n) return oom(b);
  char folded[256];
  size_t flen = nf_fold(name->str, name->len, folded, NF_FOLD_WIDTH | NF_FOLD_CASE);
  d[r->n_dict] = (nf_dict_entry){.name = n, .symbol = symbol};
  if (nf_matcher_add(r->matcher, folded, flen, NF_DICT_BIT | (uint32_t)r->n_dict) < 0)
    return nf_yerr(name, b->err, b->errsz, "name rejected by the matcher");
  r->n_dict++;
  return 0;
}

static int parse_dictionary(build *b, const nf_ynode *root) {
  const nf_ynode *syms = nf_ymap_get(root, "symbols");
  for (size_t i = 0; i + 1 < root->n; i += 2)
    if (strcmp(root->kids[i]->str, "version") && strcmp(root->kids[i]->str, "symbols"))
      return nf_yerr(root->kids[i], b->err, b->errsz,
                     "unknown key '%s' (expected version, symbols)", root->kids[i]->str);
  if (!syms || want(b, syms, NF_Y_MAP, "symbols") < 0)
    return syms ? -1 : nf_yerr(root, b->err, b->errsz, "dictionary needs 'symbols'");
  for (size_t i = 0; i + 1 < syms->n; i += 2) {
    const nf_ynode *k = syms->kids[i], *names = syms->kids[i + 1];
    char norm[NF_SYMBOL_MAX];
    if (nf_symbol_normalize(k->str, k->len, norm) < 0 || strcmp(norm, k->str))
      return nf_yerr(k, b->err, b->errsz,
                     "'%s' is not a normalised symbol (CODE.EXCHANGE, e.g. 600519.SH, "
                     "00700.HK, AAPL.US)",
                     k->str);
    const char *sym = keep_string(b, k->str);
    if (!sym) return oom(b);
    if (want(b, names, NF_Y_SEQ, "the names of a symbol") < 0) return -1;
    for (size_t j = 0; j < names->n; j++)
      if (add_name(b, names->kids[j], sym) < 0) return -1;
  }
  return 0;
}

/* Loads the dictionary named by the rules (`dictionary: FILE`, relative to
 * the rules file), or the built-in one for the built-in rules. */
static int load_dictionary(build *b, const nf_ynode *ref) {
  nf_buf text = {0};
  char path[4096];
  const char *name;
  if (!b->file) {
    name = "<built-in symbols.yaml>";
    nf_buf_append(&text, nf_default_symbols, nf_default_symbols_len);
  } else {
    if (ref->str[0] == '/') snprintf(path, sizeof path, "%s", ref->str);
    else {
      const char *slash = strrchr(b->file, '/');
      int dirlen = slash ? (int)(slash - b->file) : 1;
      snprintf(path, sizeof path, "%.*s/%s", dirlen, slash ? b->file : ".", ref->str);
    }
    name = path;
    FILE *f = fopen(path, "rb");
    if (!f) return nf_yerr(ref, b->err, b->errsz, "dictionary %s: %s", path, strerror(errno));
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) nf_buf_append(&text, chunk, n);
    fclose(f);
  }
  nf_ydocs docs;
  int rc = nf_yaml_parse(text.data ? text.data : "", text.len, name, &docs, b->err, b->errsz);
  nf_buf_free(&text);
  if (rc < 0) return -1;
  if (docs.n != 1 || docs.docs[0]->type != NF_Y_MAP) {
    nf_ynode at = {.file = name, .line = 1, .col = 1};
    rc = nf_yerr(&at, b->err, b->errsz, "a dictionary is one map with 'symbols'");
  } else {
    rc = parse_dictionary(b, docs.docs[0]);
  }
  /* node names point into DOCS: keep_string copied what we keep */
  nf_yaml_free(&docs);
  return rc;
}

static int compile(build *b) {
  const nf_ynode *root = b->root;
  if (!root || root->type != NF_Y_MAP)
    return nf_yerr(root, b->err, b->errsz, "rules must be a map with 'topics'");
  nf_rules *r = b->r;
  r->field_weight[NF_FIELD_TITLE] = 3;
  r->field_weight[NF_FIELD_SUMMARY] = 2;
  r->field_weight[NF_FIELD_BODY] = 1;
  for (size_t i = 0; i + 1 < root->n; i += 2) {
    const nf_ynode *k = root->kids[i], *v = root->kids[i + 1];
    int ver;
    if (!strcmp(k->str, "version")) {
      if (int_in(b, v, "version", 1, 1, &ver) < 0) return -1;
    } else if (!strcmp(k->str, "weights")) {
      if (parse_weights(b, v) < 0) return -1;
    } else if (!strcmp(k->str, "topics")) {
      if (want(b, v, NF_Y_MAP, "topics") < 0) return -1;
      b->topics_node = v;
    } else if (!strcmp(k->str, "dictionary")) {
      if (want(b, v, NF_Y_SCALAR, "dictionary") < 0 || load_dictionary(b, v) < 0) return -1;
    } else {
      return nf_yerr(k, b->err, b->errsz,
                     "unknown key '%s' (expected version, weights, dictionary, topics)", k->str);
    }
  }
  const nf_ynode *tn = b->topics_node;
  if (!tn || tn->n == 0) return nf_yerr(root, b->err, b->errsz, "no topics defined");
  /* First pass: names, so that from/implies can refer forward. */
  r->topics = calloc(tn->n / 2, sizeof *r->topics);
  if (!r->topics) return oom(b);
  for (size_t i = 0; i + 1 < tn->n; i += 2) {
    const nf_ynode *k = tn->kids[i];
    if (k->type != NF_Y_SCALAR || !nf_topic_valid(k->str, k->len))
      return nf_yerr(k, b->err, b->errsz,
                     "invalid topic name (1-128 of [A-Za-z0-9._-], dot-separated)");
    if (!strncmp(k->str, "sym.", 4))
      return nf_yerr(k, b->err, b->errsz, "topics sym.* are given by symbols, not rules");
    if (topic_index(r, k->str) >= 0)
      return nf_yerr(k, b->err, b->errsz, "topic '%s' defined twice", k->str);
    if (!(r->topics[r->n_topics].name = strdup(k->str))) return oom(b);
    r->n_topics++;
  }
  for (size_t i = 0; i + 1 < tn->n; i += 2)
    if (parse_topic(b, (uint32_t)(i / 2), tn->kids[i + 1]) < 0) return -1;
  if (order_topics(b) < 0) return -1;
  if (nf_matcher_compile(r->matcher) < 0) return oom(b);
  return 0;
}

static int compile_text(const char *buf, size_t len, const char *file, bool builtin, nf_rules **out,
                        char *err, size_t errsz) {
  nf_ydocs docs;
  if (nf_yaml_parse(buf, len, file, &docs, err, errsz) < 0) return -1;
  build b = {.err = err, .errsz = errsz, .file = builtin ? NULL : file};
  b.r = calloc(1, sizeof *b.r);
  int rc = -1;
  if (b.r && (b.r->matcher = nf_matcher_new())) {
    if (docs.n != 1) {
      nf_ynode at = {.file = file, .line = 1, .col = 1};
      rc = nf_yerr(&at, err, errsz, "expected exactly one YAML document");
    } else {
      b.root = docs.docs[0];
      rc = compile(&b);
    }
  } else {
    rc = oom(&b);
  }
  nf_yaml_free(&docs);
  if (rc < 0) {
    nf_rules_free(b.r);
    return -1;
  }
  *out = b.r;
  return 0;
}

int nf_rules_compile(const char *buf, size_t len, const char *file, nf_rules **out, char *err,
                     size_t errsz) {
  return compile_text(buf, len, file, false, out, err, errsz);
}

int nf_rules_load_file(const char *path, nf_rules **out, char *err, size_t errsz) {
  FILE *f = fopen(path, "rb");
  if (!f) return snprintf(err, errsz, "%s: %s", path, strerror(errno)), -1;
  nf_buf buf = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (nf_buf_append(&buf, chunk, n) < 0) break;
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    nf_buf_free(&buf);
    return snprintf(err, errsz, "%s: read error", path), -1;
  }
  int rc = nf_rules_compile(buf.data ? buf.data : "", buf.len, path, out, err, errsz);
  nf_buf_free(&buf);
  return rc;
}

int nf_rules_load_builtin(nf_rules **out, char *err, size_t errsz) {
  return compile_text(nf_default_rules, nf_default_rules_len, "<built-in rules.yaml>", true, out,
                      err, errsz);
}

void nf_rules_free(nf_rules *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_topics; i++) {
    nf_topic_rule *t = &r->topics[i];
    free(t->name);
    for (size_t j = 0; j < t->n_sources; j++) free(t->sources[j]);
    free(t->sources);
    free(t->from);
    free(t->implies);
    if (r->implied_by) free(r->implied_by[i]);
  }
  free(r->topics);
  free(r->order);
  free(r->implied_by);
  free(r->n_implied_by);
  for (size_t i = 0; i < r->n_strings; i++) free(r->strings[i]);
  free(r->strings);
  free(r->terms);
  free(r->dict);
  if (r->matcher) nf_matcher_free(r->matcher);
  free(r);
}

size_t nf_rules_topics(const nf_rules *r) {
  return r->n_topics;
}

size_t nf_rules_terms(const nf_rules *r) {
  return r->n_terms;
}

bool nf_rules_compact(const nf_rules *r, const char *topic) {
  int i = topic_index(r, topic);
  return i >= 0 ? r->topics[i].compact : false;
}
