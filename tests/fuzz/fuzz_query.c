/*
 * fuzz-query: the query API's request decoder (src/query/query.c).
 *
 * handle() in query.c is static and driven by nng, so this target MIRRORS
 * IT: the request is unpacked with nf__mp_unpack_one at depth 32, must be a
 * map with a string "op"; op "tag" takes "item" (a map) through
 * nf__item_from_object (NF_FROM_PRODUCER) and tags it with the built-in
 * rules, explanations on, as op_tag() does; op "history" checks "topic",
 * "since" and "limit" as op_history() does.  The ops that only read daemon
 * state (stats, topics, reload, and history's lookup) answer with a
 * stand-in {ok: true}.  Keep this in step with handle(), op_tag() and
 * op_history(); if query.c grows a pure request-decoding function, call it
 * here instead.
 *
 * Every reply must be one msgpack map with a boolean "ok", "error" a string
 * when ok is false, and every string in it valid UTF-8 (clients decode
 * replies with strict msgpack libraries).
 */
#include "fuzz_common.h"
#include "tag/tagger.h"

static nf_tagger *tagger;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  nf_rules *r;
  char err[1024];
  if (nf_rules_load_builtin(&r, err, sizeof err) < 0 || !(tagger = nf_tagger_new(r))) {
    fprintf(stderr, "built-in rules: %s\n", err);
    abort();
  }
  return 0;
}

/* ---- copied from query.c (handle and the op_* it calls) ------------------ */

static void reply_error(nf_buf *b, const char *msg) {
  nf__mp_map(b, 2);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, false);
  nf__mp_cstr(b, "error");
  nf__mp_cstr(b, msg);
}

static void reply_stand_in(nf_buf *b) {
  nf__mp_map(b, 1);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
}

static const msgpack_object *get(const msgpack_object *map, const char *key) {
  for (uint32_t i = 0; i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
        !memcmp(k->via.str.ptr, key, k->via.str.size))
      return &map->via.map.ptr[i].val;
  }
  return NULL;
}

static bool op_is(const msgpack_object *op, const char *name) {
  return op->via.str.size == strlen(name) && !memcmp(op->via.str.ptr, name, op->via.str.size);
}

static bool uint_arg(const msgpack_object *o, const char *key, uint64_t dflt, uint64_t *out) {
  const msgpack_object *v = get(o, key);
  if (!v) return *out = dflt, true;
  if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) return false;
  *out = v->via.u64;
  return true;
}

static void op_tag(const msgpack_object *item, nf_buf *b) {
  if (!item) {
    reply_error(b, "tag needs an item map");
    return;
  }
  nf_limits lim = nf_limits_default();
  nf_item it;
  nf_error err;
  nf_explain ex = {0};
  nf_item_init(&it);
  if (nf__item_from_object(&it, item, &lim, NF_FROM_PRODUCER, &err) < 0 ||
      nf_tag_item(tagger, &it, &ex, &err) < 0) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s%s%s", err.field, err.field[0] ? ": " : "", err.msg);
    reply_error(b, msg);
  } else {
    nf_explain_pack(&it, &ex, b);
  }
  nf_explain_free(&ex);
  nf_item_clear(&it);
}

static void op_history(const msgpack_object *o, nf_buf *b) {
  const msgpack_object *t = get(o, "topic");
  uint64_t since, limit;
  char topic[NF_TOPIC_MAX + 1];
  if (!t || t->type != MSGPACK_OBJECT_STR || !nf_topic_valid(t->via.str.ptr, t->via.str.size)) {
    reply_error(b, "history needs topic (a topic name)");
    return;
  }
  if (!uint_arg(o, "since", 0, &since) || !uint_arg(o, "limit", 100, &limit)) {
    reply_error(b, "since and limit must be non-negative integers");
    return;
  }
  memcpy(topic, t->via.str.ptr, t->via.str.size);
  topic[t->via.str.size] = 0;
  FZ_CHECK(strlen(topic) == t->via.str.size, "topic with a NUL passed nf_topic_valid");
  (void)since, (void)limit; /* nfd_history_pack(d, topic, since, min(limit, 1000), b) */
  reply_stand_in(b);
}

static void handle(const void *req, size_t len, nf_buf *b) {
  msgpack_unpacked up;
  nf_error err;
  if (nf__mp_unpack_one(&up, req, len, 32, &err) < 0) {
    reply_error(b, "request must be one msgpack map");
    return;
  }
  const msgpack_object *o = &up.data, *op = NULL;
  if (o->type == MSGPACK_OBJECT_MAP) op = get(o, "op");
  if (!op || op->type != MSGPACK_OBJECT_STR) reply_error(b, "request needs op (a string)");
  else if (op_is(op, "stats")) reply_stand_in(b);
  else if (op_is(op, "topics")) reply_stand_in(b);
  else if (op_is(op, "tag")) {
    const msgpack_object *item = get(o, "item");
    op_tag(item && item->type == MSGPACK_OBJECT_MAP ? item : NULL, b);
  } else if (op_is(op, "reload")) reply_stand_in(b);
  else if (op_is(op, "history")) op_history(o, b);
  else reply_error(b, "unknown op (expected stats, topics, tag, reload, history)");
  msgpack_unpacked_destroy(&up);
}

/* ---- checks on the reply ------------------------------------------------- */

static void check_strings(const msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_STR:
    FZ_CHECK(nf__utf8_valid(o->via.str.ptr, o->via.str.size),
             "reply string not valid UTF-8: '%.*s'", (int)o->via.str.size, o->via.str.ptr);
    break;
  case MSGPACK_OBJECT_ARRAY:
    for (uint32_t i = 0; i < o->via.array.size; i++) check_strings(&o->via.array.ptr[i]);
    break;
  case MSGPACK_OBJECT_MAP:
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      check_strings(&o->via.map.ptr[i].key);
      check_strings(&o->via.map.ptr[i].val);
    }
    break;
  default:
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nf_buf b = {0};
  handle(data, size, &b);
  msgpack_unpacked up;
  nf_error err;
  FZ_CHECK(nf__mp_unpack_one(&up, b.data, b.len, 32, &err) == 0,
           "reply is not one msgpack "
           "object: %s",
           err.msg);
  const msgpack_object *o = &up.data;
  FZ_CHECK(o->type == MSGPACK_OBJECT_MAP, "reply is not a map");
  const msgpack_object *ok = get(o, "ok");
  FZ_CHECK(ok && ok->type == MSGPACK_OBJECT_BOOLEAN, "reply without a boolean ok");
  if (!ok->via.boolean) {
    const msgpack_object *e = get(o, "error");
    FZ_CHECK(e && e->type == MSGPACK_OBJECT_STR && e->via.str.size > 0,
             "error reply without an error string");
  }
  check_strings(o);
  msgpack_unpacked_destroy(&up);
  nf_buf_free(&b);
  return 0;
}
