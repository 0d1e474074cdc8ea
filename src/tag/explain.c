/*
 * explain.c -- the explanation of a tagging decision as a msgpack map, the
 * one form shared by the daemon's query API (op "tag") and newsfeed-ctl's
 * local dry run, so that both print the same thing:
 *
 *   {ok: true, topics: [...], symbols: [...],
 *    reasons: [{topic, why, detail, field, score}, ...]}
 *
 * Only reasons for topics the item got are listed, plus exclusions (a
 * vetoed topic is the other thing an editor tuning rules wants to see).
 */
#include <string.h>

#include "core/internal.h"
#include "tag/tagger.h"

static bool has_topic(const nf_item *it, const char *t) {
  for (size_t i = 0; i < it->n_topics; i++)
    if (!strcmp(it->topics[i], t)) return true;
  return false;
}

static bool listed(const nf_item *it, const nf_reason *r) {
  return !strcmp(r->what, "exclude") || has_topic(it, r->topic);
}

int nf_explain_pack(const nf_item *it, const nf_explain *ex, nf_buf *b) {
  uint32_t n = 0;
  for (size_t i = 0; i < ex->n; i++) n += listed(it, &ex->r[i]);
  int rc = nf__mp_map(b, 4);
  rc |= nf__mp_cstr(b, "ok") || nf__mp_bool(b, true);
  rc |= nf__mp_cstr(b, "topics") || nf__mp_array(b, (uint32_t)it->n_topics);
  for (size_t i = 0; i < it->n_topics; i++) rc |= nf__mp_cstr(b, it->topics[i]);
  rc |= nf__mp_cstr(b, "symbols") || nf__mp_array(b, (uint32_t)it->n_symbols);
  for (size_t i = 0; i < it->n_symbols; i++) rc |= nf__mp_cstr(b, it->symbols[i]);
  rc |= nf__mp_cstr(b, "reasons") || nf__mp_array(b, n);
  for (size_t i = 0; i < ex->n; i++) {
    const nf_reason *r = &ex->r[i];
    if (!listed(it, r)) continue;
    rc |= nf__mp_map(b, 5);
    rc |= nf__mp_cstr(b, "topic") || nf__mp_cstr(b, r->topic);
    rc |= nf__mp_cstr(b, "why") || nf__mp_cstr(b, r->what);
    rc |= nf__mp_cstr(b, "detail") || nf__mp_cstr(b, r->detail ? r->detail : "");
    rc |= nf__mp_cstr(b, "field") || nf__mp_cstr(b, r->field ? r->field : "");
    rc |= nf__mp_cstr(b, "score") || nf__mp_int(b, r->score);
  }
  return rc ? -1 : 0;
}
