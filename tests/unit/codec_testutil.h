/*
 * codec_testutil.h -- helpers shared by test_codec.c, test_codec_reject.c
 * and test_wire_format.c: exact-size heap copies, decoding with limits, an
 * independent JSON -> msgpack converter (msgpack-c's packer, not the code
 * under test), a msgpack builder for what JSON cannot express, and the
 * accept/reject checks.  Included after <cmocka.h>; static inline, so each
 * test program has its own copy and unused ones cost nothing.
 */
#ifndef NF_TEST_CODEC_TESTUTIL_H
#define NF_TEST_CODEC_TESTUTIL_H

#include <jansson.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <newsfeed/newsfeed.h>

#include "core/internal.h"

/* An exactly-sized heap copy: valgrind and ASan flag a read past its end. */
static inline void *heap_copy(const void *p, size_t n) {
  void *q = malloc(n ? n : 1);
  assert_non_null(q);
  if (n) memcpy(q, p, n);
  return q;
}

/* RC is the failure of a decode whose error names FIELD. */
static inline void expect_error(int rc, const nf_error *e, const char *field, const char *what) {
  if (rc != -1) fail_msg("%s: accepted, expected an error on '%s'", what, field);
  if (strcmp(e->field, field))
    fail_msg("%s: error on field '%s' (%s), expected '%s'", what, e->field, e->msg, field);
  if (!e->msg[0]) fail_msg("%s: empty error message", what);
}

/* N copies of C, NUL-terminated; the caller frees. */
static inline char *repeat(char c, size_t n) {
  char *s = malloc(n + 1);
  assert_non_null(s);
  memset(s, c, n);
  s[n] = 0;
  return s;
}

static inline int dec_json_lim(nf_item *it, const char *s, size_t n, const nf_limits *lim,
                               nf_origin origin, nf_error *e) {
  char *copy = heap_copy(s, n);
  int rc = nf_item_from_json(it, copy, n, lim, origin, e);
  free(copy);
  return rc;
}

static inline int dec_mp_lim(nf_item *it, const void *p, size_t n, const nf_limits *lim,
                             nf_origin origin, nf_error *e) {
  void *copy = heap_copy(p, n);
  int rc = nf_item_from_msgpack(it, copy, n, lim, origin, e);
  free(copy);
  return rc;
}

static inline int dec_json(nf_item *it, const char *s, nf_error *e) {
  nf_limits lim = nf_limits_default();
  return dec_json_lim(it, s, strlen(s), &lim, NF_FROM_PRODUCER, e);
}

static inline int dec_mp(nf_item *it, const void *p, size_t n, nf_error *e) {
  nf_limits lim = nf_limits_default();
  return dec_mp_lim(it, p, n, &lim, NF_FROM_PRODUCER, e);
}

/* Independent JSON -> msgpack: integers as ints, reals as float64. */
static inline void pack_json(msgpack_packer *pk, const json_t *j) {
  const char *k;
  size_t klen, i;
  json_t *v;
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    msgpack_pack_map(pk, json_object_size(j));
    json_object_keylen_foreach((json_t *)j, k, klen, v) {
      msgpack_pack_str(pk, klen);
      msgpack_pack_str_body(pk, k, klen);
      pack_json(pk, v);
    }
    break;
  case JSON_ARRAY:
    msgpack_pack_array(pk, json_array_size(j));
    json_array_foreach(j, i, v) pack_json(pk, v);
    break;
  case JSON_STRING:
    msgpack_pack_str(pk, json_string_length(j));
    msgpack_pack_str_body(pk, json_string_value(j), json_string_length(j));
    break;
  case JSON_INTEGER:
    msgpack_pack_int64(pk, json_integer_value(j));
    break;
  case JSON_REAL:
    msgpack_pack_double(pk, json_real_value(j));
    break;
  case JSON_TRUE:
    msgpack_pack_true(pk);
    break;
  case JSON_FALSE:
    msgpack_pack_false(pk);
    break;
  case JSON_NULL:
    msgpack_pack_nil(pk);
    break;
  }
}

/* Converts JSON text to msgpack in SB (caller destroys SB). */
static inline void json_to_mp(const char *json, msgpack_sbuffer *sb) {
  json_error_t je;
  json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  if (!j) fail_msg("test input is not JSON: %s (%s)", json, je.text);
  msgpack_sbuffer_init(sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  pack_json(&pk, j);
  json_decref(j);
}

/* A packer onto a fresh sbuffer, for hand-built msgpack. */
typedef struct mpb {
  msgpack_sbuffer sb;
  msgpack_packer pk;
} mpb;

static inline void mpb_init(mpb *b) {
  msgpack_sbuffer_init(&b->sb);
  msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static inline void mpb_str(mpb *b, const char *s, size_t n) {
  msgpack_pack_str(&b->pk, n);
  msgpack_pack_str_body(&b->pk, s, n);
}

static inline void mpb_cstr(mpb *b, const char *s) {
  mpb_str(b, s, strlen(s));
}

/* A map {"title": T (N bytes)} plus EXTRA more pairs the caller packs. */
static inline void mpb_title_map(mpb *b, const char *t, size_t n, uint32_t extra) {
  mpb_init(b);
  msgpack_pack_map(&b->pk, 1 + extra);
  mpb_cstr(b, "title");
  mpb_str(b, t, n);
}

static inline void json_rejects(const char *json, const char *field) {
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  expect_error(dec_json(&it, json, &e), &e, field, json);
  nf_item_clear(&it);
}

static inline void mp_rejects(const void *p, size_t n, const char *field, const char *what) {
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  expect_error(dec_mp(&it, p, n, &e), &e, field, what);
  nf_item_clear(&it);
}

static inline void sb_rejects(mpb *b, const char *field, const char *what) {
  mp_rejects(b->sb.data, b->sb.size, field, what);
  msgpack_sbuffer_destroy(&b->sb);
}

/* JSON as text, and the same document converted to msgpack. */
static inline void both_reject(const char *json, const char *field) {
  json_rejects(json, field);
  msgpack_sbuffer sb;
  json_to_mp(json, &sb);
  mp_rejects(sb.data, sb.size, field, json);
  msgpack_sbuffer_destroy(&sb);
}

static inline void both_accept(const char *json) {
  nf_item it;
  nf_item_init(&it);
  nf_error e = {{0}};
  if (dec_json(&it, json, &e) != 0) fail_msg("JSON rejected: %s: %s: %s", json, e.field, e.msg);
  nf_item_clear(&it);
  msgpack_sbuffer sb;
  json_to_mp(json, &sb);
  if (dec_mp(&it, sb.data, sb.size, &e) != 0)
    fail_msg("msgpack rejected: %s: %s: %s", json, e.field, e.msg);
  nf_item_clear(&it);
  msgpack_sbuffer_destroy(&sb);
}

static inline void append_str(nf_buf *b, const char *s) {
  assert_int_equal(nf_buf_append(b, s, strlen(s)), 0);
}

#endif
