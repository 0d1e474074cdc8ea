/*
 * fuzz-msgpack-item: the msgpack item decoder (nf_item_from_msgpack) as the
 * daemon runs it on a producer's frame (NF_FROM_PRODUCER) and as a client
 * runs it on a published item (NF_FROM_PUBLISHED), with the round trips of
 * fuzz_common.h; then nf_message_decode on "topic\0" + input, the way
 * subscribers split a published message (a map or an array of maps).
 */
#include "fuzz_common.h"

static int on_item(void *ctx, nf_item *it) {
  size_t *n = ctx;
  FZ_CHECK(it->topic && !strcmp(it->topic, "fuzz.topic"),
           "nf_message_decode passed an item of topic '%s'", it->topic ? it->topic : "(null)");
  fz_roundtrip(it, NF_FROM_PUBLISHED);
  return ++*n >= 16; /* stop after a few: exercises the early stop */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nf_limits lim = nf_limits_default();
  nf_error err;
  static const nf_origin origins[] = {NF_FROM_PRODUCER, NF_FROM_PUBLISHED};
  for (size_t i = 0; i < 2; i++) {
    nf_item it;
    nf_item_init(&it);
    if (nf_item_from_msgpack(&it, data, size, &lim, origins[i], &err) == 0)
      fz_roundtrip(&it, origins[i]);
    else fz_check_error(&err);
    nf_item_clear(&it);
  }

  static const char topic[] = "fuzz.topic";
  size_t tl = sizeof topic; /* with its NUL */
  uint8_t *msg = malloc(tl + size);
  if (!msg) return 0;
  memcpy(msg, topic, tl);
  if (size) memcpy(msg + tl, data, size);
  size_t n = 0;
  if (nf_message_decode(msg, tl + size, &lim, on_item, &n, &err) < 0)
    FZ_CHECK(fz_cstr_ok(err.msg, sizeof err.msg), "message error not UTF-8");
  free(msg);
  return 0;
}
