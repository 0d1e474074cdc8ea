/*
 * codec_json.c -- items to and from JSON, with jansson.
 *
 * jansson parses and validates (UTF-8, duplicate keys, no NUL); this file
 * maps its values onto the shared field setters, and converts "meta"
 * between JSON and the msgpack bytes an item keeps it in.  Integers that
 * arrive as JSON reals (1.72e12 from a JavaScript producer) are accepted
 * when they are whole numbers.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "core/internal.h"

static bool json_int_of(const json_t *v, int64_t *out) {
  if (json_is_integer(v)) return *out = json_integer_value(v), true;
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d != floor(d) || d < -9.2e18 || d > 9.2e18) return false;
    *out = (int64_t)d;
    return true;
  }
  return false;
}

int nf__json_to_mp(const json_t *j, nf_buf *out, unsigned depth, const nf_limits *lim,
                   size_t *count, nf_error *err) {
  if (depth > lim->max_meta_depth)
    return nf_fail(err, "meta", "nested deeper than %u", lim->max_meta_depth);
  int64_t iv;
  switch (json_typeof(j)) {
  case JSON_NULL:
    return nf_buf_append(out, "\xc0", 1);
  case JSON_TRUE:
    return nf__mp_bool(out, true);
  case JSON_FALSE:
    return nf__mp_bool(out, false);
  case JSON_STRING:
    return nf__mp_str(out, json_string_value(j), json_string_length(j));
  case JSON_INTEGER:
    json_int_of(j, &iv);
    return nf__mp_int(out, iv);
  case JSON_REAL:
    return nf__mp_double(out, json_real_value(j));
  case JSON_ARRAY: {
    size_t n = json_array_size(j);
    if ((*count += n) > lim->max_meta_items)
      return nf_fail(err, "meta", "more than %zu values", lim->max_meta_items);
    if (nf__mp_array(out, (uint32_t)n) < 0) return -1;
    for (size_t i = 0; i < n; i++)
      if (nf__json_to_mp(json_array_get(j, i), out, depth + 1, lim, count, err) < 0) return -1;
    return 0;
  }
  case JSON_OBJECT: {
    if ((*count += json_object_size(j)) > lim->max_meta_items)
      return nf_fail(err, "meta", "more than %zu values", lim->max_meta_items);
    if (nf__mp_map(out, (uint32_t)json_object_size(j)) < 0) return -1;
    const char *k;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach((json_t *)j, k, klen, v) {
      if (nf__mp_str(out, k, klen) < 0 || nf__json_to_mp(v, out, depth + 1, lim, count, err) < 0)
        return -1;
    }
    return 0;
  }
  }
  return -1;
}

static int set_value(nf_item *it, const nf_field *f, const json_t *v, const nf_limits *lim,
                     nf_error *err) {
  int64_t iv;
  switch (f->type) {
  case NF_T_STR:
    if (!json_is_string(v)) return nf_fail(err, f->name, "must be a string");
    return nf__set_str(it, f, json_string_value(v), json_string_length(v), lim, err);
  case NF_T_INT:
    if (!json_int_of(v, &iv)) return nf_fail(err, f->name, "must be an integer");
    return nf__set_int(it, f, iv, err);
  case NF_T_STRS:
    if (!json_is_array(v)) return nf_fail(err, f->name, "must be an array of strings");
    if (nf__set_strs_begin(it, f, json_array_size(v), lim, err) < 0) return -1;
    for (size_t i = 0; i < json_array_size(v); i++) {
      const json_t *e = json_array_get(v, i);
      if (!json_is_string(e)) return nf_fail(err, f->name, "must be an array of strings");
      if (nf__set_strs_at(it, f, i, json_string_value(e), json_string_length(e), lim, err) < 0)
        return -1;
    }
    return 0;
  case NF_T_META: {
    if (!json_is_object(v)) return nf_fail(err, "meta", "must be an object");
    nf_buf b = {0};
    size_t count = 0;
    int rc = nf__json_to_mp(v, &b, 1, lim, &count, err);
    if (!rc && nf__set_meta(it, (const uint8_t *)b.data, b.len) < 0)
      rc = nf_fail(err, "meta", "out of memory");
    nf_buf_free(&b);
    return rc;
  }
  }
  return -1;
}

int nf_item_from_json(nf_item *it, const char *buf, size_t len, const nf_limits *lim,
                      nf_origin origin, nf_error *err) {
  if (len > lim->max_item_bytes)
    return nf_fail(err, "", "item too large: %zu bytes, at most %zu", len, lim->max_item_bytes);
  json_error_t je;
  json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  if (!root) return nf_fail(err, "", "invalid JSON at column %d: %s", je.column, je.text);
  int rc = 0;
  if (!json_is_object(root)) {
    rc = nf_fail(err, "", "item must be a JSON object");
  } else {
    const char *k;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(root, k, klen, v) {
      const nf_field *f = nf__field_find(k, klen, origin, err);
      if (!f || set_value(it, f, v, lim, err) < 0) {
        rc = -1;
        break;
      }
    }
    if (!rc) rc = nf_item_validate(it, lim, err);
  }
  json_decref(root);
  return rc;
}

/* ---- encoder ------------------------------------------------------------ */

json_t *nf__mp_to_json(const msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return json_null();
  case MSGPACK_OBJECT_BOOLEAN:
    return json_boolean(o->via.boolean);
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    return json_integer(o->via.u64 > INT64_MAX ? INT64_MAX : (json_int_t)o->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return json_integer(o->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    return json_real(o->via.f64);
  case MSGPACK_OBJECT_STR:
    return json_stringn(o->via.str.ptr, o->via.str.size);
  case MSGPACK_OBJECT_ARRAY: {
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < o->via.array.size; i++)
      json_array_append_new(a, nf__mp_to_json(&o->via.array.ptr[i]));
    return a;
  }
  case MSGPACK_OBJECT_MAP: {
    json_t *m = json_object();
    for (uint32_t i = 0; m && i < o->via.map.size; i++) {
      const msgpack_object_kv *kv = &o->via.map.ptr[i];
      if (kv->key.type == MSGPACK_OBJECT_STR)
        json_object_setn_new(m, kv->key.via.str.ptr, kv->key.via.str.size,
                             nf__mp_to_json(&kv->val));
    }
    return m;
  }
  default:
    return json_null();
  }
}

json_t *nf__meta_to_json(const uint8_t *mp, size_t len) {
  msgpack_unpacked up;
  if (nf__mp_unpack_one(&up, mp, len, 64, NULL) < 0) return json_object();
  json_t *j = nf__mp_to_json(&up.data);
  msgpack_unpacked_destroy(&up);
  return j;
}

static void put(json_t *o, const char *k, const char *v) {
  if (v) json_object_set_new(o, k, json_string(v));
}

static json_t *strs(const char **v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

int nf_item_to_json(const nf_item *it, unsigned flags, nf_buf *out) {
  json_t *o = json_object();
  if (!o) return -1;
  if (flags & NF_ENC_MESSAGE) {
    json_object_set_new(o, "v", json_integer(NF_SCHEMA_VERSION));
    put(o, "topic", it->topic);
    json_object_set_new(o, "seq", json_integer((json_int_t)it->seq));
    json_object_set_new(o, "epoch", json_integer((json_int_t)it->epoch));
  }
  put(o, "id", it->id);
  put(o, "kind", nf_kind_name(it->kind));
  put(o, "title", it->title);
  if (!(flags & NF_ENC_NO_BODY)) put(o, "body", it->body);
  put(o, "summary", it->summary);
  put(o, "source", it->source);
  put(o, "author", it->author);
  put(o, "url", it->url);
  put(o, "lang", it->lang);
  if (flags & NF_ENC_DAEMON) json_object_set_new(o, "topics", strs(it->topics, it->n_topics));
  if (it->n_symbols || (flags & NF_ENC_DAEMON))
    json_object_set_new(o, "symbols", strs(it->symbols, it->n_symbols));
  if (it->has_priority || (flags & NF_ENC_DAEMON))
    json_object_set_new(o, "priority", json_integer(it->priority));
  if (it->published) json_object_set_new(o, "published", json_integer(it->published));
  if (flags & NF_ENC_DAEMON) json_object_set_new(o, "received", json_integer(it->received));
  if (flags & NF_ENC_DAEMON) put(o, "producer", it->producer);
  if (it->meta) json_object_set_new(o, "meta", nf__meta_to_json(it->meta, it->meta_len));
  size_t need = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
  int rc = -1;
  if (need && nf_buf_reserve(out, need) == 0) {
    json_dumpb(o, out->data + out->len, need, JSON_COMPACT | JSON_PRESERVE_ORDER);
    out->len += need;
    rc = 0;
  }
  json_decref(o);
  return rc;
}
