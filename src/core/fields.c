/*
 * fields.c -- the one place that knows every item field (SPEC section 6):
 * its name, its type, who may set it, and what makes its value valid.
 *
 * Decoders look a key up with nf__field_find and store values through the
 * nf__set_* functions; nf_item_validate then checks what only the whole
 * item can tell (a title is present).  Unknown keys are an error rather
 * than silently dropped, so a producer's typo ("titel") is caught at once;
 * extra data belongs under "meta".
 */
#include <stdint.h>
#include <string.h>

#include "core/internal.h"

static const nf_field fields[] = {
    {"id", NF_F_ID, NF_T_STR, true},
    {"kind", NF_F_KIND, NF_T_STR, true},
    {"title", NF_F_TITLE, NF_T_STR, true},
    {"body", NF_F_BODY, NF_T_STR, true},
    {"summary", NF_F_SUMMARY, NF_T_STR, true},
    {"source", NF_F_SOURCE, NF_T_STR, true},
    {"author", NF_F_AUTHOR, NF_T_STR, true},
    {"url", NF_F_URL, NF_T_STR, true},
    {"lang", NF_F_LANG, NF_T_STR, true},
    {"symbols", NF_F_SYMBOLS, NF_T_STRS, true},
    {"priority", NF_F_PRIORITY, NF_T_INT, true},
    {"published", NF_F_PUBLISHED, NF_T_INT, true},
    {"meta", NF_F_META, NF_T_META, true},
    {"topics", NF_F_TOPICS, NF_T_STRS, false},
    {"received", NF_F_RECEIVED, NF_T_INT, false},
    {"v", NF_F_V, NF_T_INT, false},
    {"topic", NF_F_TOPIC, NF_T_STR, false},
    {"seq", NF_F_SEQ, NF_T_INT, false},
    {"epoch", NF_F_EPOCH, NF_T_INT, false},
    {"producer", NF_F_PRODUCER, NF_T_STR, false},
};

const nf_field *nf__field_find(const char *key, size_t len, nf_origin origin, nf_error *err) {
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    const nf_field *f = &fields[i];
    /* first byte first: every key is looked up, most rows differ there */
    if (len && f->name[0] == key[0] && strlen(f->name) == len && !memcmp(f->name, key, len)) {
      if (origin == NF_FROM_PRODUCER && !f->producer) {
        nf_fail(err, f->name, "field '%s' is set by the daemon, not by producers", f->name);
        return NULL;
      }
      return f;
    }
  }
  char shown[49];
  nf__copy_utf8(shown, sizeof shown, key, len);
  size_t n = strlen(shown);
  if (!nf__utf8_valid(shown, n) || memchr(key, 0, len)) strcpy(shown, "?");
  nf_fail(err, shown, "unknown field '%s%s' (extra data goes under \"meta\")", shown,
          len > n ? "..." : "");
  return NULL;
}

static bool is_ascii_printable(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return false;
  return true;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Whether word W may hold a control byte (< 0x20 or 0x7f): the classic
 * "has a byte less than n" and "has a zero byte" tests, exact for the
 * bytes below 0x80 that can matter here. */
static bool word_has_control(uint64_t w) {
  uint64_t below_space = (w - ONES * 0x20) & ~w & HIGHS;
  uint64_t x = w ^ (ONES * 0x7f), del = (x - ONES) & ~x & HIGHS;
  return (below_space | del) != 0;
}

static bool has_control(const char *s, size_t len, bool allow_newlines) {
  size_t i = 0;
  for (uint64_t w; i + 8 <= len && (memcpy(&w, s + i, 8), !word_has_control(w));) i += 8;
  for (; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0x7f) return true;
    if (c >= 0x20) continue;
    if (allow_newlines && (c == '\n' || c == '\r' || c == '\t')) continue;
    return true;
  }
  return false;
}

/* Checks one string value of field F; NAME is used in messages. */
static int check_str(const nf_field *f, const char *s, size_t len, const nf_limits *lim,
                     nf_error *err) {
  if (memchr(s, 0, len)) return nf_fail(err, f->name, "contains a NUL byte");
  if (!nf__utf8_valid(s, len)) return nf_fail(err, f->name, "invalid UTF-8");
  size_t max = lim->max_field_bytes;
  bool newlines = false;
  switch (f->id) {
  case NF_F_TITLE:
    max = lim->max_title_bytes;
    break;
  case NF_F_URL:
    max = lim->max_url_bytes;
    break;
  case NF_F_BODY:
  case NF_F_SUMMARY:
  case NF_F_META:
    max = lim->max_item_bytes, newlines = true;
    break;
  case NF_F_ID:
    max = NF_ID_MAX;
    break;
  case NF_F_TOPIC:
  case NF_F_TOPICS:
    max = NF_TOPIC_MAX;
    break;
  case NF_F_SYMBOLS:
    max = 32;
    break;
  default:
    break;
  }
  if (len > max) return nf_fail(err, f->name, "too long: %zu bytes, at most %zu", len, max);
  if (has_control(s, len, newlines)) return nf_fail(err, f->name, "contains a control character");
  if (f->id == NF_F_ID && (len == 0 || !is_ascii_printable(s, len)))
    return nf_fail(err, f->name, "must be 1-%d printable ASCII characters without spaces",
                   NF_ID_MAX);
  if ((f->id == NF_F_TOPIC || f->id == NF_F_TOPICS) && !nf_topic_valid(s, len))
    return nf_fail(err, f->name, "invalid topic name");
  if (f->id == NF_F_SYMBOLS && (len == 0 || !is_ascii_printable(s, len)))
    return nf_fail(err, f->name, "invalid symbol");
  return 0;
}

int nf__set_str(nf_item *it, const nf_field *f, const char *s, size_t len, const nf_limits *lim,
                nf_error *err) {
  if (f->type != NF_T_STR)
    return nf_fail(err, f->name, "must be %s",
                   f->type == NF_T_INT    ? "an integer"
                   : f->type == NF_T_STRS ? "an array of strings"
                                          : "a map");
  if (check_str(f, s, len, lim, err) < 0) return -1;
  if (f->id == NF_F_KIND) {
    char k[16];
    if (len >= sizeof k) return nf_fail(err, "kind", "must be article or flash");
    memcpy(k, s, len);
    k[len] = 0;
    if (nf_kind_parse(k, &it->kind) < 0)
      return nf_fail(err, "kind", "must be article or flash, not '%s'", k);
    return 0;
  }
  const char *copy = nf_item_strdup(it, s, len);
  if (!copy) return nf_fail(err, f->name, "out of memory");
  switch (f->id) {
  case NF_F_ID:
    it->id = copy;
    break;
  case NF_F_TITLE:
    it->title = copy;
    break;
  case NF_F_BODY:
    it->body = copy;
    break;
  case NF_F_SUMMARY:
    it->summary = copy;
    break;
  case NF_F_SOURCE:
    it->source = copy;
    break;
  case NF_F_AUTHOR:
    it->author = copy;
    break;
  case NF_F_URL:
    it->url = copy;
    break;
  case NF_F_LANG:
    it->lang = copy;
    break;
  case NF_F_TOPIC:
    it->topic = copy;
    break;
  case NF_F_PRODUCER:
    it->producer = copy;
    break;
  default:
    return nf_fail(err, f->name, "internal: not a string field");
  }
  return 0;
}

int nf__set_strs_begin(nf_item *it, const nf_field *f, size_t n, const nf_limits *lim,
                       nf_error *err) {
  if (f->type != NF_T_STRS)
    return nf_fail(err, f->name, "must be %s", f->type == NF_T_INT ? "an integer" : "a string");
  size_t max = f->id == NF_F_SYMBOLS ? lim->max_symbols : 256;
  if (n > max) return nf_fail(err, f->name, "too many entries: %zu, at most %zu", n, max);
  const char **arr = nf_item_alloc(it, (n ? n : 1) * sizeof *arr);
  if (!arr) return nf_fail(err, f->name, "out of memory");
  if (f->id == NF_F_SYMBOLS) it->symbols = arr, it->n_symbols = n;
  else it->topics = arr, it->n_topics = n;
  return 0;
}

int nf__set_strs_at(nf_item *it, const nf_field *f, size_t i, const char *s, size_t len,
                    const nf_limits *lim, nf_error *err) {
  if (check_str(f, s, len, lim, err) < 0) return -1;
  const char *copy = nf_item_strdup(it, s, len);
  if (!copy) return nf_fail(err, f->name, "out of memory");
  if (f->id == NF_F_SYMBOLS) it->symbols[i] = copy;
  else it->topics[i] = copy;
  return 0;
}

int nf__set_int(nf_item *it, const nf_field *f, int64_t v, nf_error *err) {
  if (f->type != NF_T_INT)
    return nf_fail(err, f->name, "must be %s",
                   f->type == NF_T_STR    ? "a string"
                   : f->type == NF_T_STRS ? "an array of strings"
                                          : "a map");
  switch (f->id) {
  case NF_F_PRIORITY:
    if (v < 1 || v > 9) return nf_fail(err, "priority", "must be 1..9");
    it->priority = (int)v;
    it->has_priority = true;
    break;
  case NF_F_PUBLISHED:
  case NF_F_RECEIVED:
    /* ms since 1970, up to year 9999: catches seconds-vs-ms mix-ups only
     * at the far end, so only range-check. */
    if (v < 0 || v > 253402300799999LL)
      return nf_fail(err, f->name, "must be milliseconds since the Unix epoch");
    if (f->id == NF_F_PUBLISHED) it->published = v;
    else it->received = v;
    break;
  case NF_F_V:
    if (v != NF_SCHEMA_VERSION)
      return nf_fail(err, "v", "unsupported schema version %lld", (long long)v);
    break;
  case NF_F_SEQ:
  case NF_F_EPOCH:
    if (v < 0) return nf_fail(err, f->name, "must not be negative");
    if (f->id == NF_F_SEQ) it->seq = (uint64_t)v;
    else it->epoch = (uint64_t)v;
    break;
  default:
    return nf_fail(err, f->name, "internal: not an integer field");
  }
  return 0;
}

int nf__set_meta(nf_item *it, const uint8_t *mp, size_t len) {
  uint8_t *p = nf_item_alloc(it, len);
  if (!p) return -1;
  memcpy(p, mp, len);
  it->meta = p;
  it->meta_len = len;
  return 0;
}

int nf_item_validate(const nf_item *it, const nf_limits *lim, nf_error *err) {
  (void)lim;
  if (!it->title) return nf_fail(err, "title", "missing required field");
  if (nf__blank(it->title)) return nf_fail(err, "title", "must not be empty");
  if (it->lang) {
    for (const char *p = it->lang; *p; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-'))
        return nf_fail(err, "lang", "must be a language tag such as zh or en-US");
    if (!*it->lang || strlen(it->lang) > 35)
      return nf_fail(err, "lang", "must be a language tag such as zh or en-US");
  }
  return 0;
}
