/*
 * fuzz-answer: the decoders of the daemon's per-item answers, which every
 * producer client runs on what comes back (nf_answer_from_json on a JSON
 * line without its "\n", nf_answer_from_msgpack on a frame body).  A
 * decoded answer is re-encoded, decoded again and must be unchanged.
 */
#include "fuzz_common.h"

/* STRINGS: compare strings too (not when A holds invalid UTF-8, which
 * nf__utf8_trim need not leave alone when it cuts it again). */
static void same_answer(const nf_answer *a, const nf_answer *b, bool strings, const char *how) {
  FZ_CHECK(a->ok == b->ok && a->item == b->item, "%s changed ok/item", how);
  FZ_CHECK(a->duplicate == b->duplicate || !(a->ok && a->id[0]), "%s changed duplicate", how);
  if (!strings) return;
  FZ_CHECK(!strcmp(a->auth, b->auth), "%s changed auth '%s' -> '%s'", how, a->auth, b->auth);
  if (a->ok && a->id[0]) {
    FZ_CHECK(!strcmp(a->id, b->id), "%s changed id", how);
    FZ_CHECK(a->duplicate == b->duplicate, "%s changed duplicate", how);
    FZ_CHECK(a->n_topics == b->n_topics, "%s changed the number of topics", how);
    for (size_t i = 0; i < a->n_topics; i++)
      FZ_CHECK(!strcmp(a->topics[i].name, b->topics[i].name), "%s changed topic %zu", how, i);
  }
  if (!a->ok) {
    FZ_CHECK(!strcmp(a->field, b->field), "%s changed field '%s' -> '%s'", how, a->field, b->field);
    FZ_CHECK(!strcmp(a->error, b->error), "%s changed error '%s' -> '%s'", how, a->error, b->error);
  }
}

static bool terminated(const char *s, size_t size) {
  return strnlen(s, size) < size;
}

/* Every string NUL-terminated; valid UTF-8 too when UTF8 (the JSON decoder
 * gets that from jansson; the msgpack decoder copies what the daemon sent,
 * cut at a character boundary but not validated). */
static void check(const nf_answer *a, bool utf8) {
  bool (*ok)(const char *, size_t) = utf8 ? fz_cstr_ok : terminated;
  FZ_CHECK(ok(a->id, sizeof a->id), "id not NUL-terminated (UTF-8: %d)", utf8);
  FZ_CHECK(ok(a->field, sizeof a->field), "field not NUL-terminated (UTF-8: %d)", utf8);
  FZ_CHECK(ok(a->error, sizeof a->error), "error not NUL-terminated (UTF-8: %d)", utf8);
  FZ_CHECK(ok(a->auth, sizeof a->auth), "auth not NUL-terminated (UTF-8: %d)", utf8);
  FZ_CHECK(!a->n_topics || a->topics, "topics count without topics");
  for (size_t i = 0; i < a->n_topics; i++)
    FZ_CHECK(ok(a->topics[i].name, sizeof a->topics[i].name), "topic not NUL-terminated");
  bool all_utf8 = fz_cstr_ok(a->id, sizeof a->id) && fz_cstr_ok(a->field, sizeof a->field) &&
                  fz_cstr_ok(a->error, sizeof a->error) && fz_cstr_ok(a->auth, sizeof a->auth);
  for (size_t i = 0; i < a->n_topics; i++)
    all_utf8 = all_utf8 && fz_cstr_ok(a->topics[i].name, sizeof a->topics[i].name);

  nf_buf b = {0};
  nf_answer back = {0};
  nf_error err;
  FZ_CHECK(nf_answer_to_msgpack(a, &b) == 0, "nf_answer_to_msgpack failed");
  FZ_CHECK(nf_answer_from_msgpack(&back, b.data + 4, b.len - 4, &err) == 0,
           "own msgpack answer does not decode: %s", err.msg);
  same_answer(a, &back, all_utf8, "msgpack answer round trip");
  nf_answer_clear(&back);
  b.len = 0;
  if (!all_utf8) { /* JSON cannot carry it; jansson refuses such strings */
    nf_buf_free(&b);
    return;
  }
  FZ_CHECK(nf_answer_to_json(a, &b) == 0, "nf_answer_to_json failed");
  FZ_CHECK(nf_answer_from_json(&back, b.data, b.len - 1, &err) == 0,
           "own JSON answer does not decode: %s", err.msg);
  same_answer(a, &back, true, "JSON answer round trip");
  nf_answer_clear(&back);
  nf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nf_answer a = {0};
  nf_error err;
  if (nf_answer_from_json(&a, (const char *)data, size, &err) == 0) check(&a, true);
  nf_answer_clear(&a);
  if (nf_answer_from_msgpack(&a, data, size, &err) == 0) check(&a, false);
  nf_answer_clear(&a);
  return 0;
}
