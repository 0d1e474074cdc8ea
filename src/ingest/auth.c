/*
 * auth.c -- producer authentication by token.
 *
 * The tokens file holds NAME:TOKEN lines (# comments, blank lines allowed).
 * Because a token is a password, the file is refused when its mode lets
 * "others" read it.  A token is compared with every entry, each comparison
 * running over a fixed 256 bytes without early exit, so the time taken
 * says nothing about how much of a token was right or which entry matched.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "ingest/auth.h"

#define TOKEN_MAX 256
#define TOKEN_MIN 16

static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

static int parse_line(nfd_tokens *t, const char *path, int lineno, char *line, char *err,
                      size_t errsz) {
  char *colon = strchr(line, ':');
  size_t nlen = colon ? (size_t)(colon - line) : 0;
  if (!colon || nlen == 0 || nlen > 64)
    return snprintf(err, errsz, "%s:%d:1: expected NAME:TOKEN (NAME 1-64 of [A-Za-z0-9._-])", path,
                    lineno),
           -1;
  for (size_t i = 0; i < nlen; i++)
    if (!name_char(line[i]))
      return snprintf(err, errsz, "%s:%d:%zu: invalid character in producer name", path, lineno,
                      i + 1),
             -1;
  const char *tok = colon + 1;
  size_t tlen = strlen(tok);
  if (tlen < TOKEN_MIN || tlen > TOKEN_MAX)
    return snprintf(err, errsz, "%s:%d:%zu: token must be %d-%d characters", path, lineno, nlen + 2,
                    TOKEN_MIN, TOKEN_MAX),
           -1;
  for (size_t i = 0; i < t->n; i++)
    if (!strncmp(t->v[i].name, line, nlen) && !t->v[i].name[nlen])
      return snprintf(err, errsz, "%s:%d:1: producer name listed twice", path, lineno), -1;
  nfd_token *v = realloc(t->v, (t->n + 1) * sizeof *v);
  if (!v) return snprintf(err, errsz, "out of memory"), -1;
  t->v = v;
  nfd_token *e = &v[t->n];
  memcpy(e->name, line, nlen);
  e->name[nlen] = 0;
  e->len = tlen;
  if (!(e->secret = calloc(1, TOKEN_MAX + 1))) return snprintf(err, errsz, "out of memory"), -1;
  memcpy(e->secret, tok, tlen);
  t->n++;
  return 0;
}

int nfd_tokens_load(const char *path, nfd_tokens *out, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) return snprintf(err, errsz, "ingest.tokens_file: %s: %s", path, strerror(errno)), -1;
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH)) {
    fclose(f);
    return snprintf(err, errsz, "ingest.tokens_file: %s is readable by others; chmod o-r it", path),
           -1;
  }
  char line[512];
  int lineno = 0, rc = 0;
  while (rc == 0 && fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#') continue;
    rc = parse_line(out, path, lineno, line, err, errsz);
  }
  fclose(f);
  if (rc == 0 && out->n == 0) {
    snprintf(err, errsz, "ingest.tokens_file: %s: no tokens", path);
    rc = -1;
  }
  if (rc < 0) nfd_tokens_free(out);
  return rc;
}

void nfd_tokens_free(nfd_tokens *t) {
  for (size_t i = 0; i < t->n; i++) {
    explicit_bzero(t->v[i].secret, TOKEN_MAX);
    free(t->v[i].secret);
  }
  free(t->v);
  memset(t, 0, sizeof *t);
}

const char *nfd_tokens_check(const nfd_tokens *t, const char *token, size_t len) {
  char given[TOKEN_MAX + 1] = {0};
  unsigned too_long = len > TOKEN_MAX;
  memcpy(given, token, too_long ? TOKEN_MAX : len);
  const char *found = NULL;
  for (size_t i = 0; i < t->n; i++) {
    volatile unsigned diff = too_long | (unsigned)(t->v[i].len ^ len);
    for (size_t k = 0; k < TOKEN_MAX; k++) diff |= (unsigned char)(given[k] ^ t->v[i].secret[k]);
    if (diff == 0) found = t->v[i].name; /* keep looping: no early exit */
  }
  explicit_bzero(given, sizeof given);
  return found;
}

bool nfd_auth_frame(bool json, const char *p, size_t n, char *tok, size_t cap) {
  bool is = false;
  if (json) {
    json_t *o = json_loadb(p, n, 0, NULL);
    json_t *a = json_object_get(o, "auth");
    if (json_is_object(o) && json_object_size(o) == 1 && json_is_string(a) &&
        json_string_length(a) < cap) {
      memcpy(tok, json_string_value(a), json_string_length(a) + 1);
      is = true;
    }
    json_decref(o);
    return is;
  }
  msgpack_unpacked up;
  if (nf__mp_unpack_one(&up, p, n, 4, NULL) < 0) return false;
  const msgpack_object *o = &up.data;
  if (o->type == MSGPACK_OBJECT_MAP && o->via.map.size == 1) {
    const msgpack_object *k = &o->via.map.ptr[0].key, *v = &o->via.map.ptr[0].val;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 4 &&
        !memcmp(k->via.str.ptr, "auth", 4) && v->type == MSGPACK_OBJECT_STR &&
        v->via.str.size < cap && !memchr(v->via.str.ptr, 0, v->via.str.size)) {
      memcpy(tok, v->via.str.ptr, v->via.str.size);
      tok[v->via.str.size] = 0;
      is = true;
    }
  }
  msgpack_unpacked_destroy(&up);
  return is;
}
