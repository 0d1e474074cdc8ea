/*
 * answer.c -- the per-item answers of SPEC section 7, in both framings.
 *
 * The same logical map is written as a JSON line or a msgpack frame:
 *   ok:    {ok, item, id, topics[], seq{topic: n}, duplicate?}
 *   error: {ok:false, item, field, error}
 *   auth:  {ok, auth: NAME} or {ok:false, error}
 * Decoders are lenient about key order and unknown keys, so that a newer
 * daemon can add keys without breaking older clients.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

void nf_answer_clear(nf_answer *a) {
  free(a->topics);
  memset(a, 0, sizeof *a);
}

int nf_answer_add_topic(nf_answer *a, const char *name, uint64_t seq) {
  /* Room for 4, then doubling: the array grows when N is 0 or a power of
   * two >= 4 (every ok answer gets several topics; no realloc each). */
  size_t n = a->n_topics;
  if (n == 0 || (n >= 4 && !(n & (n - 1)))) {
    nf_answer_topic *t = realloc(a->topics, (n ? 2 * n : 4) * sizeof *t);
    if (!t) return -1;
    a->topics = t;
  }
  nf_answer_topic *t = a->topics + a->n_topics++;
  nf__copy_utf8(t->name, sizeof t->name, name, strlen(name));
  t->seq = seq;
  return 0;
}

void nf_answer_set_error(nf_answer *a, uint64_t item, const char *field, const char *msg) {
  a->ok = false;
  a->item = item;
  nf__copy_utf8(a->field, sizeof a->field, field ? field : "", field ? strlen(field) : 0);
  nf__copy_utf8(a->error, sizeof a->error, msg, strlen(msg));
  nf__utf8_scrub(a->field); /* answers are JSON strings: always valid UTF-8 */
  nf__utf8_scrub(a->error);
}

/* ---- JSON --------------------------------------------------------------- */

int nf_answer_to_json(const nf_answer *a, nf_buf *out) {
  json_t *o = json_object();
  json_object_set_new(o, "ok", json_boolean(a->ok));
  if (a->item) json_object_set_new(o, "item", json_integer((json_int_t)a->item));
  if (a->auth[0]) json_object_set_new(o, "auth", json_string(a->auth));
  if (a->ok && a->id[0]) {
    json_object_set_new(o, "id", json_string(a->id));
    json_t *topics = json_array(), *seq = json_object();
    for (size_t i = 0; i < a->n_topics; i++) {
      json_array_append_new(topics, json_string(a->topics[i].name));
      json_object_set_new(seq, a->topics[i].name, json_integer((json_int_t)a->topics[i].seq));
    }
    json_object_set_new(o, "topics", topics);
    json_object_set_new(o, "seq", seq);
    if (a->duplicate) json_object_set_new(o, "duplicate", json_true());
  }
  if (!a->ok) {
    if (a->field[0]) json_object_set_new(o, "field", json_string(a->field));
    json_object_set_new(o, "error", json_string(a->error));
  }
  size_t need = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
  int rc = -1;
  if (need && nf_buf_reserve(out, need + 1) == 0) {
    json_dumpb(o, out->data + out->len, need, JSON_COMPACT | JSON_PRESERVE_ORDER);
    out->len += need;
    out->data[out->len++] = '\n';
    rc = 0;
  }
  json_decref(o);
  return rc;
}

static void copy_str(char *dst, size_t n, const char *s, size_t len) {
  nf__copy_utf8(dst, n, s, len);
}

int nf_answer_from_json(nf_answer *a, const char *buf, size_t len, nf_error *err) {
  json_error_t je;
  json_t *o = json_loadb(buf, len, 0, &je);
  if (!o || !json_is_object(o)) {
    json_decref(o);
    return nf_fail(err, "", "invalid answer from the daemon: %.*s", (int)(len < 60 ? len : 60),
                   buf);
  }
  nf_answer_clear(a);
  a->ok = json_is_true(json_object_get(o, "ok"));
  a->duplicate = json_is_true(json_object_get(o, "duplicate"));
  json_t *v;
  if ((v = json_object_get(o, "item")) && json_is_integer(v))
    a->item = (uint64_t)json_integer_value(v);
  if ((v = json_object_get(o, "id")) && json_is_string(v))
    copy_str(a->id, sizeof a->id, json_string_value(v), json_string_length(v));
  if ((v = json_object_get(o, "auth")) && json_is_string(v))
    copy_str(a->auth, sizeof a->auth, json_string_value(v), json_string_length(v));
  if ((v = json_object_get(o, "field")) && json_is_string(v))
    copy_str(a->field, sizeof a->field, json_string_value(v), json_string_length(v));
  if ((v = json_object_get(o, "error")) && json_is_string(v))
    copy_str(a->error, sizeof a->error, json_string_value(v), json_string_length(v));
  json_t *topics = json_object_get(o, "topics"), *seq = json_object_get(o, "seq");
  for (size_t i = 0; json_is_array(topics) && i < json_array_size(topics); i++) {
    const char *t = json_string_value(json_array_get(topics, i));
    if (!t) continue;
    json_t *s = json_object_get(seq, t);
    nf_answer_add_topic(a, t, json_is_integer(s) ? (uint64_t)json_integer_value(s) : 0);
  }
  json_decref(o);
  return 0;
}

/* ---- msgpack ------------------------------------------------------------ */

int nf_answer_to_msgpack(const nf_answer *a, nf_buf *out) {
  size_t start = out->len;
  if (nf_buf_append(out, "\0\0\0\0", 4) < 0) return -1;
  uint32_t n = 1 + (a->item != 0) + (a->auth[0] != 0);
  bool ok_item = a->ok && a->id[0];
  if (ok_item) n += 3 + a->duplicate;
  if (!a->ok) n += 1 + (a->field[0] != 0);
  int rc = nf__mp_map(out, n);
  rc |= nf__mp_cstr(out, "ok") || nf__mp_bool(out, a->ok);
  if (a->item) rc |= nf__mp_cstr(out, "item") || nf__mp_uint(out, a->item);
  if (a->auth[0]) rc |= nf__mp_cstr(out, "auth") || nf__mp_cstr(out, a->auth);
  if (ok_item) {
    rc |= nf__mp_cstr(out, "id") || nf__mp_cstr(out, a->id);
    rc |= nf__mp_cstr(out, "topics") || nf__mp_array(out, (uint32_t)a->n_topics);
    for (size_t i = 0; i < a->n_topics; i++) rc |= nf__mp_cstr(out, a->topics[i].name);
    rc |= nf__mp_cstr(out, "seq") || nf__mp_map(out, (uint32_t)a->n_topics);
    for (size_t i = 0; i < a->n_topics; i++)
      rc |= nf__mp_cstr(out, a->topics[i].name) || nf__mp_uint(out, a->topics[i].seq);
    if (a->duplicate) rc |= nf__mp_cstr(out, "duplicate") || nf__mp_bool(out, true);
  }
  if (!a->ok) {
    if (a->field[0]) rc |= nf__mp_cstr(out, "field") || nf__mp_cstr(out, a->field);
    rc |= nf__mp_cstr(out, "error") || nf__mp_cstr(out, a->error);
  }
  if (rc) return -1;
  uint32_t body = (uint32_t)(out->len - start - 4);
  uint8_t *p = (uint8_t *)out->data + start;
  p[0] = (uint8_t)(body >> 24), p[1] = (uint8_t)(body >> 16);
  p[2] = (uint8_t)(body >> 8), p[3] = (uint8_t)body;
  return 0;
}

static bool key_is(const msgpack_object *k, const char *name) {
  return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(name) &&
         !memcmp(k->via.str.ptr, name, k->via.str.size);
}

static void mp_copy(char *dst, size_t n, const msgpack_object *v) {
  if (v->type == MSGPACK_OBJECT_STR) copy_str(dst, n, v->via.str.ptr, v->via.str.size);
}

int nf_answer_from_msgpack(nf_answer *a, const void *buf, size_t len, nf_error *err) {
  msgpack_unpacked up;
  if (nf__mp_unpack_one(&up, buf, len, 8, err) < 0) return -1;
  const msgpack_object *o = &up.data;
  if (o->type != MSGPACK_OBJECT_MAP) {
    msgpack_unpacked_destroy(&up);
    return nf_fail(err, "", "invalid answer from the daemon");
  }
  nf_answer_clear(a);
  const msgpack_object *topics = NULL, *seq = NULL;
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
    if (key_is(k, "ok")) a->ok = v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
    else if (key_is(k, "duplicate"))
      a->duplicate = v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
    else if (key_is(k, "item") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) a->item = v->via.u64;
    else if (key_is(k, "id")) mp_copy(a->id, sizeof a->id, v);
    else if (key_is(k, "auth")) mp_copy(a->auth, sizeof a->auth, v);
    else if (key_is(k, "field")) mp_copy(a->field, sizeof a->field, v);
    else if (key_is(k, "error")) mp_copy(a->error, sizeof a->error, v);
    else if (key_is(k, "topics") && v->type == MSGPACK_OBJECT_ARRAY) topics = v;
    else if (key_is(k, "seq") && v->type == MSGPACK_OBJECT_MAP) seq = v;
  }
  for (uint32_t i = 0; topics && i < topics->via.array.size; i++) {
    const msgpack_object *t = &topics->via.array.ptr[i];
    if (t->type != MSGPACK_OBJECT_STR) continue;
    char name[NF_TOPIC_MAX + 1];
    copy_str(name, sizeof name, t->via.str.ptr, t->via.str.size);
    uint64_t s = 0;
    for (uint32_t j = 0; seq && j < seq->via.map.size; j++)
      if (key_is(&seq->via.map.ptr[j].key, name) &&
          seq->via.map.ptr[j].val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        s = seq->via.map.ptr[j].val.via.u64;
    nf_answer_add_topic(a, name, s);
  }
  msgpack_unpacked_destroy(&up);
  return 0;
}
