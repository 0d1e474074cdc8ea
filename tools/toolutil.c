/*
 * toolutil.c -- see toolutil.h.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "toolutil.h"
#include "util/yaml_tree.h"

void nf_die(const char *prog, int code, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(code);
}

long long nf_parse_count(const char *prog, const char *flag, const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < 0)
    nf_die(prog, 2, "%s: expected a non-negative integer, not '%s'", flag, s);
  return v;
}

int nf_read_all(const char *path, nf_buf *b) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return -1;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (nf_buf_append(b, chunk, n) < 0) {
      errno = ENOMEM;
      return -1;
    }
  int bad = ferror(f);
  if (f != stdin) fclose(f);
  if (bad) errno = EIO;
  return bad ? -1 : 0;
}

bool nf_has_suffix(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* YAML scalars typed by the core schema, so `priority: 1` is a number and
 * `title: "2025"` stays a string. */
json_t *nf_yaml_to_json(const nf_ynode *n) {
  if (n->type == NF_Y_SEQ) {
    json_t *a = json_array();
    for (size_t i = 0; i < n->n; i++) json_array_append_new(a, nf_yaml_to_json(n->kids[i]));
    return a;
  }
  if (n->type == NF_Y_MAP) {
    json_t *o = json_object();
    for (size_t i = 0; i + 1 < n->n; i += 2)
      json_object_set_new(o, n->kids[i]->str, nf_yaml_to_json(n->kids[i + 1]));
    return o;
  }
  long long iv;
  bool bv;
  if (nf_yis_null(n)) return json_null();
  if (nf_yint(n, &iv) == 0) return json_integer(iv);
  if (nf_ybool(n, &bv) == 0) return json_boolean(bv);
  return json_stringn(n->str, n->len);
}
