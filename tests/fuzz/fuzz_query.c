/*
 * fuzz-query: the query API's request handling (nfd_query_handle in
 * src/query/query.c), the daemon's own code, on a daemon context built as
 * newsfeedd builds it: the built-in configuration and rules, history with a
 * few items on "headline", no sockets.  Every op is reachable: stats,
 * topics, tag (decode + tag + explain), history (argument checks and
 * paging), reload (recompiles the built-in rules and swaps them in).
 *
 * Every reply must be one msgpack map with a boolean "ok", "error" a string
 * when ok is false, and every string in it valid UTF-8 (clients decode
 * replies with strict msgpack libraries).
 */
#include "fuzz_common.h"
#include "daemon/config.h"
#include "daemon/nfd.h"
#include "tag/tagger.h"

static nfd d; /* the daemon's one context, as newsfeedd's main builds it */

static void seed_history(void) {
  for (uint64_t i = 1; i <= 3; i++) {
    nfd_topic *t = nfd_topic_get(&d, "headline");
    uint64_t seq = ++t->seq;
    nf_buf enc = {0};
    uint32_t n = 0;
    nf_item it;
    nf_item_init(&it);
    it.title = "Fuzz seed";
    it.id = "fuzz-seed";
    if (!t || nf__pack_fields(&it, NF_ENC_DAEMON, &enc, &n) < 0) abort();
    nfd_history_add(&d, enc.data, enc.len, n, NULL, 0, &t, &seq, 1);
    it.title = it.id = NULL;
    nf_item_clear(&it);
    nf_buf_free(&enc);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  char err[1024];
  nf_rules *r;
  if (nfd_config_load(&d.cfg, NULL, err, sizeof err) < 0 ||
      nf_rules_load_builtin(&r, err, sizeof err) < 0 || !(d.tagger = nf_tagger_new(r)) ||
      nfd_history_init(&d) < 0) {
    fprintf(stderr, "fuzz-query setup: %s\n", err);
    abort();
  }
  nfd_log_init(&d.log, NFD_ERROR); /* a rejected reload is expected, and quiet */
  d.limits = nf_limits_default();
  d.limits.max_item_bytes = (size_t)d.cfg.max_item_bytes;
  d.start_ms = nf_now_ms();
  seed_history();
  return 0;
}

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
  nfd_query_handle(&d, data, size, &b);
  msgpack_unpacked up;
  nf_error err;
  FZ_CHECK(nf__mp_unpack_one(&up, b.data, b.len, 32, &err) == 0,
           "reply is not one msgpack "
           "object: %s",
           err.msg);
  const msgpack_object *o = &up.data;
  FZ_CHECK(o->type == MSGPACK_OBJECT_MAP, "reply is not a map");
  const msgpack_object *ok = nf__mp_get(o, "ok");
  FZ_CHECK(ok && ok->type == MSGPACK_OBJECT_BOOLEAN, "reply without a boolean ok");
  if (!ok->via.boolean) {
    const msgpack_object *e = nf__mp_get(o, "error");
    FZ_CHECK(e && e->type == MSGPACK_OBJECT_STR && e->via.str.size > 0,
             "error reply without an error string");
  }
  check_strings(o);
  msgpack_unpacked_destroy(&up);
  nf_buf_free(&b);
  return 0;
}
