/*
 * fuzz_common.h -- checks shared by the libFuzzer targets (tests/fuzz).
 *
 * Beyond "no crash, no leak" (ASan, UBSan and LeakSanitizer watch every
 * run), the targets check what must hold for any input:
 *   - an error is valid UTF-8 and survives the trip to the producer: the
 *     daemon puts err.field and err.msg into an answer (ingest/conn.c ->
 *     nf_answer_set_error -> nf_answer_to_json / _to_msgpack), and the
 *     client must read back the same field and message;
 *   - an item that decodes survives its own encoders: msgpack and JSON
 *     encodings decode again to the same fields, and encoding that copy
 *     gives the same bytes (a fixed point after one trip).
 * A broken check prints what broke and aborts, which libFuzzer reports as a
 * crash with the input saved.
 *
 * Known bugs: a check that a reported, not yet fixed bug breaks is named,
 * and NF_FUZZ_KNOWN=NAME[,NAME...] in the environment skips it, so that a
 * long run can look past it (docs/fuzzing.md lists the names).  Without the
 * variable every check is strict.  Known UBSan reports are listed in
 * known-ubsan.supp, for UBSAN_OPTIONS=suppressions=tests/fuzz/known-ubsan.supp
 * (scripts/fuzz.sh passes it when NF_FUZZ_KNOWN is set).
 */
#ifndef NF_FUZZ_COMMON_H
#define NF_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <newsfeed/newsfeed.h>

#include "core/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* UBSan is built recoverable (so that UBSAN_OPTIONS=suppressions=... can
 * look past a known report, see tests/fuzz/known-ubsan.supp) but must stop
 * a fuzzer at the first report it does not suppress: these are the
 * defaults, which UBSAN_OPTIONS overrides. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) {
  return "halt_on_error=1:print_stacktrace=1:print_summary=1";
}

#define FZ_CHECK(cond, ...)                                                                        \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "fuzz check failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);            \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static inline bool fz_known(const char *name) {
  const char *v = getenv("NF_FUZZ_KNOWN");
  size_t n = strlen(name);
  while (v && *v) {
    const char *end = strchr(v, ',');
    size_t len = end ? (size_t)(end - v) : strlen(v);
    if (len == n && !memcmp(v, name, n)) return true;
    v = end ? end + 1 : NULL;
  }
  return false;
}

static inline bool fz_streq(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

static inline bool fz_cstr_ok(const char *s, size_t size) {
  size_t n = strnlen(s, size);
  return n < size && nf__utf8_valid(s, n);
}

/* What the daemon does with a rejected item: an error answer in both
 * framings, which the producer's client must read back unchanged. */
static inline void fz_check_error(const nf_error *e) {
  if (fz_known("json-error-utf8") && !strncmp(e->msg, "invalid JSON", 12) &&
      !fz_cstr_ok(e->msg, sizeof e->msg))
    return; /* known: jansson's error text can cut a character */
  FZ_CHECK(fz_cstr_ok(e->field, sizeof e->field), "error field not UTF-8: '%.64s'", e->field);
  FZ_CHECK(fz_cstr_ok(e->msg, sizeof e->msg), "error message not UTF-8: '%.256s'", e->msg);
  FZ_CHECK(e->msg[0], "empty error message (field '%s')", e->field);
  nf_answer a = {0}, back = {0};
  nf_answer_set_error(&a, 7, e->field, e->msg);
  nf_buf b = {0};
  nf_error err;
  FZ_CHECK(nf_answer_to_json(&a, &b) == 0, "nf_answer_to_json failed for error '%s'", a.error);
  FZ_CHECK(b.len > 0 && b.data[b.len - 1] == '\n', "JSON answer without newline");
  FZ_CHECK(nf_answer_from_json(&back, b.data, b.len - 1, &err) == 0,
           "JSON answer does not decode: %s", err.msg);
  FZ_CHECK(!back.ok && back.item == 7 && !strcmp(back.field, a.field) &&
               !strcmp(back.error, a.error),
           "JSON answer lost the error: sent field '%s' error '%s', got field '%s' error '%s'"
           " (encoded: %.*s)",
           a.field, a.error, back.field, back.error, (int)b.len, b.data);
  nf_answer_clear(&back);
  b.len = 0;
  FZ_CHECK(nf_answer_to_msgpack(&a, &b) == 0, "nf_answer_to_msgpack failed");
  FZ_CHECK(b.len >= 4, "msgpack answer without length");
  FZ_CHECK(nf_answer_from_msgpack(&back, b.data + 4, b.len - 4, &err) == 0,
           "msgpack answer does not decode: %s", err.msg);
  FZ_CHECK(!back.ok && back.item == 7 && !strcmp(back.field, a.field) &&
               !strcmp(back.error, a.error),
           "msgpack answer lost the error: sent '%s' '%s', got '%s' '%s'", a.field, a.error,
           back.field, back.error);
  nf_answer_clear(&back);
  nf_answer_clear(&a);
  nf_buf_free(&b);
}

/* Same fields?  FLAGS: the encoding B went through: NF_ENC_DAEMON writes
 * priority (and topics, received) even when unset; only NF_ENC_MESSAGE
 * writes seq and epoch. */
static inline void fz_same_item(const nf_item *a, const nf_item *b, unsigned flags,
                                const char *how) {
  bool daemon = flags & NF_ENC_DAEMON;
#define FZ_SAME_STR(f)                                                                             \
  FZ_CHECK(fz_streq(a->f, b->f), "%s changed " #f ": '%s' -> '%s'", how, a->f ? a->f : "(null)",   \
           b->f ? b->f : "(null)")
  FZ_SAME_STR(id);
  FZ_SAME_STR(title);
  FZ_SAME_STR(body);
  FZ_SAME_STR(summary);
  FZ_SAME_STR(source);
  FZ_SAME_STR(author);
  FZ_SAME_STR(url);
  FZ_SAME_STR(lang);
  FZ_SAME_STR(topic);
#undef FZ_SAME_STR
  FZ_CHECK(a->kind == b->kind, "%s changed kind", how);
  FZ_CHECK(a->priority == b->priority, "%s changed priority %d -> %d", how, a->priority,
           b->priority);
  FZ_CHECK(daemon || a->has_priority == b->has_priority, "%s changed has_priority", how);
  FZ_CHECK(a->published == b->published, "%s changed published", how);
  FZ_CHECK(a->received == b->received, "%s changed received", how);
  FZ_CHECK(!(flags & NF_ENC_MESSAGE) || (a->seq == b->seq && a->epoch == b->epoch),
           "%s changed seq/epoch", how);
  FZ_CHECK(a->n_symbols == b->n_symbols, "%s changed the number of symbols", how);
  for (size_t i = 0; i < a->n_symbols; i++)
    FZ_CHECK(fz_streq(a->symbols[i], b->symbols[i]), "%s changed symbol %zu", how, i);
  FZ_CHECK(a->n_topics == b->n_topics, "%s changed the number of topics", how);
  for (size_t i = 0; i < a->n_topics; i++)
    FZ_CHECK(fz_streq(a->topics[i], b->topics[i]), "%s changed topic %zu", how, i);
  FZ_CHECK(!a->meta == !b->meta, "%s lost or added meta", how);
}

/* Encodes IT (decoded from ORIGIN) both ways, decodes each encoding again
 * and checks that the fields survive and that the encodings are a fixed
 * point.  Returns nothing: every failure aborts. */
static inline void fz_roundtrip(const nf_item *it, nf_origin origin) {
  nf_limits lim = nf_limits_default();
  /* A published item is re-encoded the way the daemon publishes it; a
   * producer's item the way a producer sends it. */
  unsigned flags = 0;
  if (origin == NF_FROM_PUBLISHED) flags = NF_ENC_DAEMON | (it->topic ? NF_ENC_MESSAGE : 0);
  nf_error err;

  /* msgpack */
  nf_buf m1 = {0}, m2 = {0};
  FZ_CHECK(nf_item_to_msgpack(it, flags, &m1) == 0, "nf_item_to_msgpack failed");
  nf_item back;
  nf_item_init(&back);
  int rc = nf_item_from_msgpack(&back, m1.data, m1.len, &lim, origin, &err);
  FZ_CHECK(rc == 0, "own msgpack encoding does not decode: %s: %s", err.field, err.msg);
  fz_same_item(it, &back, flags, "msgpack round trip");
  FZ_CHECK(!it->meta ||
               (it->meta_len == back.meta_len && !memcmp(it->meta, back.meta, it->meta_len)),
           "msgpack round trip changed meta");
  FZ_CHECK(nf_item_to_msgpack(&back, flags, &m2) == 0, "nf_item_to_msgpack failed (2)");
  FZ_CHECK(m1.len == m2.len && !memcmp(m1.data, m2.data, m1.len),
           "msgpack encoding is not a fixed point (%zu vs %zu bytes)", m1.len, m2.len);
  nf_item_clear(&back);
  nf_buf_free(&m1);
  nf_buf_free(&m2);

  /* JSON */
  nf_buf j1 = {0}, j2 = {0};
  FZ_CHECK(nf_item_to_json(it, flags, &j1) == 0, "nf_item_to_json failed");
  rc = nf_item_from_json(&back, j1.data, j1.len, &lim, origin, &err);
  FZ_CHECK(rc == 0, "own JSON encoding does not decode: %s: %s\n  JSON: %.*s", err.field, err.msg,
           (int)(j1.len < 2000 ? j1.len : 2000), j1.data);
  fz_same_item(it, &back, flags, "JSON round trip");
  FZ_CHECK(nf_item_to_json(&back, flags, &j2) == 0, "nf_item_to_json failed (2)");
  FZ_CHECK(j1.len == j2.len && !memcmp(j1.data, j2.data, j1.len),
           "JSON encoding is not a fixed point:\n  %.*s\n  %.*s", (int)j1.len, j1.data, (int)j2.len,
           j2.data);
  nf_item_clear(&back);
  nf_buf_free(&j1);
  nf_buf_free(&j2);
}

#endif
