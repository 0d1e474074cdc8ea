/*
 * fuzz-yaml-items: the YAML tree parser (src/util/yaml_tree.h) that the
 * config, the rules and newsfeed-push's YAML items all go through.  Walks
 * every tree it builds, checking the node invariants consumers rely on
 * (maps hold key/value pairs with scalar, unique keys; scalars are
 * NUL-terminated at their length; positions are 1-based), and calls the
 * scalar helpers on every scalar.  Then does what `newsfeed-push
 * items.yaml` does with each document (tools/newsfeed-push.c push_yaml):
 * nf_yaml_to_json, json_dumps, nf_item_from_json, with the checks of
 * fuzz_common.h on the item or the error.
 */
#include <jansson.h>

#include "fuzz_common.h"
#include "toolutil.h"
#include "util/yaml_tree.h"

static void push_doc(const nf_ynode *doc) {
  if (nf_yis_null(doc)) return;
  json_t *j = nf_yaml_to_json(doc);
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  FZ_CHECK(s != NULL, "a YAML document that jansson cannot write (newsfeed-push dies)");
  nf_limits lim = nf_limits_default();
  nf_item it;
  nf_error err;
  nf_item_init(&it);
  if (nf_item_from_json(&it, s, strlen(s), &lim, NF_FROM_PRODUCER, &err) == 0)
    fz_roundtrip(&it, NF_FROM_PRODUCER);
  else fz_check_error(&err);
  nf_item_clear(&it);
  free(s);
}

static size_t walk(const nf_ynode *n, int depth) {
  FZ_CHECK(n != NULL, "NULL node");
  FZ_CHECK(depth <= 65, "tree deeper than the parser's limit");
  FZ_CHECK(n->line >= 1 && n->col >= 1, "position %d:%d", n->line, n->col);
  FZ_CHECK(n->file && !strcmp(n->file, "fuzz.yaml"), "file name lost");
  size_t count = 1;
  switch (n->type) {
  case NF_Y_SCALAR: {
    FZ_CHECK(n->str != NULL && n->str[n->len] == 0, "scalar not NUL-terminated at len");
    FZ_CHECK(n->n == 0, "scalar with children");
    long long v;
    bool b;
    (void)nf_yint(n, &v);
    (void)nf_ybool(n, &b);
    (void)nf_yis_null(n);
    break;
  }
  case NF_Y_MAP:
    FZ_CHECK(n->n % 2 == 0, "map with %zu children", n->n);
    for (size_t i = 0; i < n->n; i += 2) {
      const nf_ynode *k = n->kids[i];
      FZ_CHECK(k->type == NF_Y_SCALAR, "map key not a scalar");
      for (size_t j = 0; j < i; j += 2)
        FZ_CHECK(strcmp(n->kids[j]->str, k->str) != 0, "duplicate key '%s'", k->str);
      FZ_CHECK(nf_ymap_get(n, k->str) != NULL, "nf_ymap_get misses key '%s'", k->str);
    }
    /* fall through */
  case NF_Y_SEQ:
    FZ_CHECK(n->str == NULL, "collection with a string");
    FZ_CHECK(n->n == 0 || n->kids, "children missing");
    for (size_t i = 0; i < n->n; i++) count += walk(n->kids[i], depth + 1);
    break;
  default:
    FZ_CHECK(0, "node type %d", n->type);
  }
  return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nf_ydocs docs;
  char err[512];
  err[0] = 0;
  if (nf_yaml_parse((const char *)data, size, "fuzz.yaml", &docs, err, sizeof err) == 0) {
    for (size_t i = 0; i < docs.n; i++) walk(docs.docs[i], 1);
    for (size_t i = 0; i < docs.n; i++) push_doc(docs.docs[i]);
    nf_yaml_free(&docs);
    FZ_CHECK(docs.n == 0 && docs.docs == NULL, "nf_yaml_free left documents");
  } else {
    FZ_CHECK(err[0], "nf_yaml_parse failed without a message");
    FZ_CHECK(strnlen(err, sizeof err) < sizeof err, "error not NUL-terminated");
    FZ_CHECK(docs.n == 0 && docs.docs == NULL, "documents left after an error");
  }
  return 0;
}
