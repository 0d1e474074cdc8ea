/*
 * config.c -- loads newsfeedd's configuration.
 *
 * One table (keys[]) names every key, its type and where it lands in
 * nfd_config.  The embedded defaults and the operator's file go through
 * the same code, so the defaults are exactly conf/newsfeedd.yaml and an
 * operator's file needs to name only what differs.  An unknown key or a
 * value of the wrong type is an error at its FILE:LINE:COL; nothing is
 * silently ignored, since a misspelt key that is ignored is a setting the
 * operator believes in but does not have.
 */
#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/url.h"
#include "nf_config.h"
#include "daemon/config.h"
#include "util/yaml_tree.h"

extern const char nf_default_config[];
extern const size_t nf_default_config_len;

typedef enum { K_STR, K_LIST, K_INT, K_BOOL, K_PATH, K_LEVEL, K_OCTAL } ktype;

typedef struct key {
  const char *path;
  ktype type;
  size_t off;
  long long min, max;
} key;

#define OFF(f) offsetof(nfd_config, f)
static const key keys[] = {
    {"ingest.listen", K_LIST, OFF(ingest_listen), 0, 0},
    {"ingest.nng_listen", K_LIST, OFF(ingest_nng_listen), 0, 0},
    {"ingest.max_item_bytes", K_INT, OFF(max_item_bytes), 256, 64ll << 20},
    {"ingest.max_pending_bytes", K_INT, OFF(max_pending_bytes), 4096, 1ll << 30},
    {"ingest.max_connections", K_INT, OFF(max_connections), 1, 1000000},
    {"ingest.max_connections_per_peer", K_INT, OFF(max_connections_per_peer), 1, 1000000},
    {"ingest.idle_timeout_seconds", K_INT, OFF(idle_timeout_seconds), 0, 86400 * 365},
    {"ingest.max_items_per_second", K_INT, OFF(max_items_per_second), 0, 100000000},
    {"ingest.burst_items", K_INT, OFF(burst_items), 0, 100000000},
    {"ingest.ipc_mode", K_OCTAL, OFF(ipc_mode), 0, 0777},
    {"ingest.tokens_file", K_PATH, OFF(tokens_file), 0, 0},
    {"publish.listen", K_LIST, OFF(publish_listen), 0, 0},
    {"publish.batch", K_BOOL, OFF(publish_batch), 0, 0},
    {"publish.send_buffer", K_INT, OFF(send_buffer), 1, 8192},
    {"metrics.listen", K_STR, OFF(metrics_listen), 0, 0},
    {"query.listen", K_STR, OFF(query_listen), 0, 0},
    {"tls.cert", K_PATH, OFF(tls_cert), 0, 0},
    {"tls.key", K_PATH, OFF(tls_key), 0, 0},
    {"tagging.rules", K_PATH, OFF(rules), 0, 0},
    {"log.level", K_LEVEL, OFF(log_level), 0, 0},
    {"data_dir", K_PATH, OFF(data_dir), 0, 0},
    {"journal.fsync", K_STR, OFF(journal_fsync), 0, 0},
    {"journal.batch_ms", K_INT, OFF(journal_batch_ms), 0, 1000},
    {"journal.segment_bytes", K_INT, OFF(journal_segment_bytes), 1 << 16, 1ll << 32},
    {"journal.max_bytes", K_INT, OFF(journal_max_bytes), 1 << 20, 1ll << 50},
    {"journal.retention_hours", K_INT, OFF(journal_retention_hours), 1, 1000000},
    {"history.max_items", K_INT, OFF(history_max_items), 0, 100000000},
    {"history.max_bytes", K_INT, OFF(history_max_bytes), 0, 1ll << 40},
    {"dedup.window_seconds", K_INT, OFF(dedup_window_seconds), 0, 365ll * 86400},
    {"dedup.max_ids", K_INT, OFF(dedup_max_ids), 0, 100000000},
    {"outputs.nats.url", K_STR, OFF(nats_url), 0, 0},
    {"outputs.nats.subject_prefix", K_STR, OFF(nats_subject_prefix), 0, 0},
    {"outputs.nats.buffer_bytes", K_INT, OFF(nats_buffer_bytes), 65536, 1ll << 30},
    {"outputs.nats.reconnect_ms", K_INT, OFF(nats_reconnect_ms), 10, 600000},
    {"outputs.nats.flush_ms", K_INT, OFF(nats_flush_ms), 0, 10000},
};

static void list_free(nfd_strlist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static int list_add(nfd_strlist *l, const char *s) {
  char **v = realloc(l->v, (l->n + 1) * sizeof *v);
  if (!v) return -1;
  l->v = v;
  if (!(v[l->n] = strdup(s))) return -1;
  l->n++;
  return 0;
}

int nfd_strlist_flag(nfd_strlist *l, bool *replaced, const char *v) {
  if (!*replaced) list_free(l), *replaced = true;
  return list_add(l, v);
}

/* Resolves V against the directory of FILE (NULL: built-in). */
static int set_path(nfd_path *p, const char *v, const char *file) {
  free(p->value);
  p->builtin = file == NULL;
  if (!file || v[0] == '/' || v[0] == 0) return (p->value = strdup(v)) ? 0 : -1;
  char *dup = strdup(file);
  if (!dup) return -1;
  const char *dir = dirname(dup);
  size_t n = strlen(dir) + strlen(v) + 2;
  p->value = malloc(n);
  if (p->value) snprintf(p->value, n, "%s/%s", dir, v);
  free(dup);
  return p->value ? 0 : -1;
}

static int set_value(nfd_config *c, const key *k, const nf_ynode *v, const char *file, char *err,
                     size_t errsz) {
  void *dst = (char *)c + k->off;
  long long iv;
  bool bv;
  if (k->type == K_LIST) {
    nfd_strlist *l = dst;
    list_free(l);
    if (v->type == NF_Y_SCALAR) return list_add(l, v->str);
    if (v->type != NF_Y_SEQ) return nf_yerr(v, err, errsz, "%s: expected a list of URLs", k->path);
    for (size_t i = 0; i < v->n; i++) {
      if (v->kids[i]->type != NF_Y_SCALAR)
        return nf_yerr(v->kids[i], err, errsz, "%s: expected a URL", k->path);
      if (list_add(l, v->kids[i]->str) < 0) return -1;
    }
    return 0;
  }
  if (v->type != NF_Y_SCALAR) return nf_yerr(v, err, errsz, "%s: expected a single value", k->path);
  switch (k->type) {
  case K_STR:
    free(*(char **)dst);
    return (*(char **)dst = strdup(v->str)) ? 0 : -1;
  case K_PATH:
    return set_path(dst, v->str, file);
  case K_INT:
    if (nf_yint(v, &iv) < 0 || iv < k->min || iv > k->max)
      return nf_yerr(v, err, errsz, "%s: expected an integer %lld..%lld", k->path, k->min, k->max);
    *(long long *)dst = iv;
    return 0;
  case K_OCTAL: {
    char *end;
    iv = strtoll(v->str, &end, 8);
    if (!v->len || *end || iv < k->min || iv > k->max)
      return nf_yerr(v, err, errsz, "%s: expected an octal mode such as \"0660\"", k->path);
    *(long long *)dst = iv;
    return 0;
  }
  case K_BOOL:
    if (nf_ybool(v, &bv) < 0) return nf_yerr(v, err, errsz, "%s: expected true or false", k->path);
    *(bool *)dst = bv;
    return 0;
  case K_LEVEL:
    if (nfd_level_parse(v->str, dst) < 0)
      return nf_yerr(v, err, errsz, "%s: expected error, warn, info or debug", k->path);
    return 0;
  case K_LIST:
    break;
  }
  return -1;
}

/* Walks a map; PREFIX is the dotted path so far. */
static int apply(nfd_config *c, const nf_ynode *map, const char *prefix, const char *file,
                 char *err, size_t errsz) {
  if (map->type != NF_Y_MAP)
    return nf_yerr(map, err, errsz, "%s: expected a map", *prefix ? prefix : "configuration");
  for (size_t i = 0; i + 1 < map->n; i += 2) {
    const nf_ynode *kn = map->kids[i], *v = map->kids[i + 1];
    if (kn->type != NF_Y_SCALAR) return nf_yerr(kn, err, errsz, "keys must be plain names");
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", kn->str);
    const key *k = NULL;
    bool is_section = false;
    size_t plen = strlen(path);
    for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++) {
      if (!strcmp(keys[j].path, path)) k = &keys[j];
      else if (!strncmp(keys[j].path, path, plen) && keys[j].path[plen] == '.') is_section = true;
    }
    int rc;
    if (k) rc = set_value(c, k, v, file, err, errsz);
    else if (is_section) rc = apply(c, v, path, file, err, errsz);
    else rc = nf_yerr(kn, err, errsz, "unknown key '%s'", path);
    if (rc < 0) {
      if (!err[0]) snprintf(err, errsz, "%s: out of memory", file ? file : "config");
      return -1;
    }
  }
  return 0;
}

static int load_text(nfd_config *c, const char *buf, size_t len, const char *name, const char *file,
                     char *err, size_t errsz) {
  nf_ydocs docs;
  if (nf_yaml_parse(buf, len, name, &docs, err, errsz) < 0) return -1;
  int rc = 0;
  if (docs.n > 1) {
    rc = nf_yerr(docs.docs[1], err, errsz, "expected one YAML document");
  } else if (docs.n == 1 && !nf_yis_null(docs.docs[0])) {
    rc = apply(c, docs.docs[0], "", file, err, errsz);
  }
  nf_yaml_free(&docs);
  return rc;
}

int nfd_config_load(nfd_config *c, const char *file, char *err, size_t errsz) {
  memset(c, 0, sizeof *c);
  err[0] = 0;
  if (load_text(c, nf_default_config, nf_default_config_len, "<built-in newsfeedd.yaml>", NULL, err,
                errsz) < 0)
    return -1;
  if (!file) return 0;
  if (!(c->file = strdup(file))) return -1;
  FILE *f = fopen(file, "rb");
  if (!f) return snprintf(err, errsz, "%s: %s", file, strerror(errno)), -1;
  nf_buf buf = {0};
  char chunk[16384];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) nf_buf_append(&buf, chunk, n);
  fclose(f);
  int rc = load_text(c, buf.data ? buf.data : "", buf.len, file, file, err, errsz);
  nf_buf_free(&buf);
  return rc;
}

static bool has_scheme(const char *u, const char *s) {
  return !strncmp(u, s, strlen(s));
}

static int check_nats(const nfd_config *c, char *err, size_t errsz) {
  const char *u = c->nats_url;
  if (!u[0]) return 0;
  for (const char *s = u;; s++) { /* a comma-separated list of servers */
    const char *e = strchr(s, ',');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n <= strlen("nats://") || !has_scheme(s, "nats://") || memchr(s, ' ', n))
      return snprintf(err, errsz, "outputs.nats.url: '%s': expected nats://HOST:PORT[,...]", u), -1;
    if (!e) break;
    s = e;
  }
  const char *pre = c->nats_subject_prefix; /* NATS subject tokens: no wildcard, no space */
  if (!nf__dotted_name_valid(pre, strlen(pre), 256))
    return snprintf(err, errsz,
                    "outputs.nats.subject_prefix: '%s': expected NATS subject tokens "
                    "([A-Za-z0-9_-]) joined by dots, at most 256 bytes",
                    c->nats_subject_prefix),
           -1;
#if !NF_HAVE_NATS
  return snprintf(err, errsz, "outputs.nats.url: this newsfeedd was built without libnats"), -1;
#endif
  return 0;
}

int nfd_config_check(const nfd_config *c, char *err, size_t errsz) {
  nf_error e;
  if (c->ingest_listen.n == 0)
    return snprintf(err, errsz, "ingest.listen: at least one endpoint is needed"), -1;
  for (size_t i = 0; i < c->ingest_listen.n; i++) {
    nf_url u;
    if (nf_url_parse(c->ingest_listen.v[i], &u, &e) < 0)
      return snprintf(err, errsz, "ingest.listen: %s", e.msg), -1;
  }
  bool tls = false;
  for (size_t i = 0; i < c->ingest_nng_listen.n; i++) {
    const char *u = c->ingest_nng_listen.v[i];
    if (!has_scheme(u, "tcp://") && !has_scheme(u, "ipc://") && !has_scheme(u, "ws://") &&
        !has_scheme(u, "tls+tcp://") && !has_scheme(u, "wss://"))
      return snprintf(
                 err, errsz,
                 "ingest.nng_listen: '%s': expected tls+tcp://, tcp://, ipc://, ws:// or wss://",
                 u),
             -1;
    tls |= has_scheme(u, "tls+tcp://") || has_scheme(u, "wss://");
  }
  for (size_t i = 0; i < c->publish_listen.n; i++) {
    const char *u = c->publish_listen.v[i];
    if (!has_scheme(u, "tcp://") && !has_scheme(u, "ipc://") && !has_scheme(u, "ws://") &&
        !has_scheme(u, "tls+tcp://") && !has_scheme(u, "wss://") && !has_scheme(u, "inproc://"))
      return snprintf(err, errsz,
                      "publish.listen: '%s': expected tcp://, ipc://, ws://, wss:// or tls+tcp://",
                      u),
             -1;
    tls |= has_scheme(u, "tls+tcp://") || has_scheme(u, "wss://");
  }
  if (tls && (!c->tls_cert.value[0] || !c->tls_key.value[0]))
    return snprintf(err, errsz, "tls+tcp:// and wss:// endpoints need tls.cert and tls.key"), -1;
  const char *fs = c->journal_fsync;
  if (strcmp(fs, "always") && strcmp(fs, "batch") && strcmp(fs, "never"))
    return snprintf(err, errsz, "journal.fsync: '%s': expected always, batch or never", fs), -1;
  const char *q = c->query_listen;
  if (strcmp(q, "off") && !has_scheme(q, "tcp://") && !has_scheme(q, "ipc://") &&
      !has_scheme(q, "ws://") && !has_scheme(q, "inproc://"))
    return snprintf(err, errsz, "query.listen: '%s': expected tcp://, ipc://, ws:// or off", q), -1;
  if (check_nats(c, err, errsz) < 0) return -1;
  if (strcmp(c->metrics_listen, "off") && !has_scheme(c->metrics_listen, "http://"))
    return snprintf(err, errsz, "metrics.listen: '%s': expected http://HOST:PORT/PATH or off",
                    c->metrics_listen),
           -1;
  return 0;
}

void nfd_config_free(nfd_config *c) {
  free(c->file);
  list_free(&c->ingest_listen);
  list_free(&c->ingest_nng_listen);
  list_free(&c->publish_listen);
  free(c->metrics_listen);
  free(c->query_listen);
  free(c->tokens_file.value);
  free(c->tls_cert.value);
  free(c->tls_key.value);
  free(c->rules.value);
  free(c->data_dir.value);
  free(c->journal_fsync);
  free(c->nats_url);
  free(c->nats_subject_prefix);
  memset(c, 0, sizeof *c);
}
