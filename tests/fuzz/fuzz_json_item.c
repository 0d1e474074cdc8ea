/*
 * fuzz-json-item: the JSON item decoder (nf_item_from_json), as the daemon
 * runs it on every JSON Lines item a producer sends (NF_FROM_PRODUCER).
 * A decoded item must survive msgpack and JSON re-encoding; a rejected one
 * must yield an error that reaches the producer intact (fuzz_common.h).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nf_limits lim = nf_limits_default();
  nf_item it;
  nf_error err;
  nf_item_init(&it);
  if (nf_item_from_json(&it, (const char *)data, size, &lim, NF_FROM_PRODUCER, &err) == 0)
    fz_roundtrip(&it, NF_FROM_PRODUCER);
  else fz_check_error(&err);
  nf_item_clear(&it);
  return 0;
}
