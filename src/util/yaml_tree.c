/*
 * yaml_tree.c -- builds nf_ynode trees from libyaml's event stream.
 *
 * The event parser (not libyaml's document loader) is used so that aliases
 * can be refused and nesting bounded before anything is built.  Nodes are
 * allocated individually and freed recursively; documents are small.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/internal.h"
#include "util/yaml_tree.h"

#define MAX_DEPTH 64

int nf_yerr(const nf_ynode *at, char *err, size_t errsz, const char *fmt, ...) {
  int n = snprintf(err, errsz, "%s:%d:%d: ", at && at->file ? at->file : "?", at ? at->line : 0,
                   at ? at->col : 0);
  if (n < 0 || (size_t)n >= errsz) return -1;
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
  va_end(ap);
  if (m >= 0 && (size_t)n + (size_t)m >= errsz) /* cut: never mid-character */
    nf__utf8_trim(err, errsz - 1);
  return -1;
}

static void node_free(nf_ynode *n) {
  if (!n) return;
  for (size_t i = 0; i < n->n; i++) node_free(n->kids[i]);
  free(n->kids);
  free(n->str);
  free(n);
}

void nf_yaml_free(nf_ydocs *d) {
  for (size_t i = 0; i < d->n; i++) node_free(d->docs[i]);
  free(d->docs);
  d->docs = NULL;
  d->n = 0;
}

static nf_ynode *node_new(nf_ytype t, const yaml_mark_t *m, const char *file) {
  nf_ynode *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->type = t;
  n->line = (int)m->line + 1;
  n->col = (int)m->column + 1;
  n->file = file;
  return n;
}

static int add_kid(nf_ynode *parent, nf_ynode *kid) {
  if ((parent->n & (parent->n - 1)) == 0) { /* grow at powers of two */
    size_t cap = parent->n ? parent->n * 2 : 4;
    nf_ynode **k = realloc(parent->kids, cap * sizeof *k);
    if (!k) return -1;
    parent->kids = k;
  }
  parent->kids[parent->n++] = kid;
  return 0;
}

static int add_doc(nf_ydocs *out, nf_ynode *n) {
  nf_ynode **d = realloc(out->docs, (out->n + 1) * sizeof n);
  if (!d) return -1;
  out->docs = d;
  out->docs[out->n++] = n;
  return 0;
}

/* Map keys must be scalars and unique: a repeated key would silently
 * override the first, which is a setting the author believes in but
 * does not have. */
static int check_keys(const nf_ynode *map, char *err, size_t errsz) {
  for (size_t i = 0; i + 1 < map->n; i += 2) {
    const nf_ynode *k = map->kids[i];
    if (k->type != NF_Y_SCALAR) return nf_yerr(k, err, errsz, "keys must be plain names");
    for (size_t j = 0; j < i; j += 2)
      if (!strcmp(map->kids[j]->str, k->str))
        return nf_yerr(k, err, errsz, "duplicate key '%s' (first at line %d)", k->str,
                       map->kids[j]->line);
  }
  return 0;
}

static int perr(yaml_parser_t *p, const char *file, char *err, size_t errsz) {
  const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
  snprintf(err, errsz, "%s:%d:%d: %s%s%s", file, (int)m->line + 1, (int)m->column + 1,
           p->problem ? p->problem : "YAML error", p->context ? " " : "",
           p->context ? p->context : "");
  return -1;
}

/* Builds documents from events; STACK holds the open collections. */
static int build(yaml_parser_t *p, const char *file, nf_ydocs *out, char *err, size_t errsz,
                 nf_ynode **stack, int *depthp) {
#define depth (*depthp)
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(p, &ev)) return perr(p, file, err, errsz);
    nf_ynode *n = NULL;
    int rc = 0;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      yaml_event_delete(&ev);
      return 0;
    case YAML_ALIAS_EVENT: {
      nf_ynode at = {
          .line = (int)ev.start_mark.line + 1, .col = (int)ev.start_mark.column + 1, .file = file};
      yaml_event_delete(&ev);
      return nf_yerr(&at, err, errsz, "aliases are not supported");
    }
    case YAML_SCALAR_EVENT:
      n = node_new(NF_Y_SCALAR, &ev.start_mark, file);
      if (n && !(n->str = malloc(ev.data.scalar.length + 1))) rc = -1;
      if (n && n->str) {
        memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
        n->str[ev.data.scalar.length] = 0;
        n->len = ev.data.scalar.length;
        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
      }
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      n = node_new(ev.type == YAML_SEQUENCE_START_EVENT ? NF_Y_SEQ : NF_Y_MAP, &ev.start_mark,
                   file);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      n = stack[--depth];
      if (n->type == NF_Y_MAP && check_keys(n, err, errsz) < 0) {
        node_free(n);
        yaml_event_delete(&ev);
        return -1;
      }
      rc = depth > 0 ? add_kid(stack[depth - 1], n) : add_doc(out, n);
      if (rc) node_free(n);
      yaml_event_delete(&ev);
      if (rc) return snprintf(err, errsz, "%s: out of memory", file), -1;
      continue;
    default:
      yaml_event_delete(&ev);
      continue;
    }
    if (!n || rc) {
      node_free(n);
      yaml_event_delete(&ev);
      return snprintf(err, errsz, "%s: out of memory", file), -1;
    }
    bool anchored = (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.anchor) ||
                    (ev.type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.anchor) ||
                    (ev.type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.anchor);
    bool collection = ev.type != YAML_SCALAR_EVENT;
    yaml_event_delete(&ev);
    if (anchored) {
      nf_yerr(n, err, errsz, "anchors are not supported");
      node_free(n);
      return -1;
    }
    if (collection) {
      if (depth == MAX_DEPTH) {
        nf_yerr(n, err, errsz, "nested deeper than %d levels", MAX_DEPTH);
        node_free(n);
        return -1;
      }
      stack[depth++] = n;
    } else if (depth > 0) {
      if (add_kid(stack[depth - 1], n) < 0) {
        node_free(n);
        return snprintf(err, errsz, "%s: out of memory", file), -1;
      }
    } else if (add_doc(out, n) < 0) {
      node_free(n);
      return snprintf(err, errsz, "%s: out of memory", file), -1;
    }
  }
#undef depth
}

int nf_yaml_parse(const char *buf, size_t len, const char *file, nf_ydocs *out, char *err,
                  size_t errsz) {
  yaml_parser_t p;
  memset(out, 0, sizeof *out);
  if (!yaml_parser_initialize(&p)) return snprintf(err, errsz, "%s: out of memory", file), -1;
  yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
  nf_ynode *stack[MAX_DEPTH];
  int depth = 0;
  int rc = build(&p, file, out, err, errsz, stack, &depth);
  yaml_parser_delete(&p);
  if (rc < 0) {
    /* open collections are not linked to their parents until closed */
    while (depth > 0) node_free(stack[--depth]);
    nf_yaml_free(out);
  }
  return rc;
}

const nf_ynode *nf_ymap_get(const nf_ynode *map, const char *key) {
  if (!map || map->type != NF_Y_MAP) return NULL;
  for (size_t i = 0; i + 1 < map->n; i += 2)
    if (map->kids[i]->type == NF_Y_SCALAR && !strcmp(map->kids[i]->str, key))
      return map->kids[i + 1];
  return NULL;
}

bool nf_yis_null(const nf_ynode *n) {
  return n->type == NF_Y_SCALAR && n->plain &&
         (n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
          !strcmp(n->str, "Null") || !strcmp(n->str, "NULL"));
}

int nf_yint(const nf_ynode *n, long long *out) {
  if (n->type != NF_Y_SCALAR || !n->plain || !n->len) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(n->str, &end, 10);
  if (*end || errno) return -1;
  *out = v;
  return 0;
}

int nf_ybool(const nf_ynode *n, bool *out) {
  static const char *t[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On"};
  static const char *f[] = {"false", "False", "FALSE", "no", "No", "off", "Off"};
  if (n->type != NF_Y_SCALAR || !n->plain) return -1;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (!strcmp(n->str, t[i])) return *out = true, 0;
    if (!strcmp(n->str, f[i])) return *out = false, 0;
  }
  return -1;
}
