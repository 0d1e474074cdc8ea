/*
 * internal.h -- what the codecs of libnewsfeed share, not part of the API.
 *
 * Both decoders (JSON, msgpack) walk their input and hand each top-level
 * key to the same field table and setters below, so that every rule about
 * a field (its type, who may set it, its size, valid UTF-8) lives in one
 * place (fields.c) whatever the wire format.
 */
#ifndef NF_CORE_INTERNAL_H
#define NF_CORE_INTERNAL_H

#include <msgpack.h>
#include <stdint.h>
#include <string.h>
#include <newsfeed/newsfeed.h>

typedef enum nf_field_id {
  NF_F_ID,
  NF_F_KIND,
  NF_F_TITLE,
  NF_F_BODY,
  NF_F_SUMMARY,
  NF_F_SOURCE,
  NF_F_AUTHOR,
  NF_F_URL,
  NF_F_LANG,
  NF_F_SYMBOLS,
  NF_F_TOPICS,
  NF_F_PRIORITY,
  NF_F_PUBLISHED,
  NF_F_RECEIVED,
  NF_F_META,
  NF_F_V,
  NF_F_TOPIC,
  NF_F_SEQ,
  NF_F_EPOCH,
  NF_F_PRODUCER
} nf_field_id;

typedef enum nf_ftype { NF_T_STR, NF_T_STRS, NF_T_INT, NF_T_META } nf_ftype;

typedef struct nf_field {
  const char *name;
  nf_field_id id;
  nf_ftype type;
  bool producer; /* a producer may set it */
} nf_field;

/* Looks up a key; NULL when unknown.  Fails with a clear error when the
 * key exists but ORIGIN may not set it. */
const nf_field *nf__field_find(const char *key, size_t len, nf_origin origin, nf_error *err);
int nf__set_str(nf_item *it, const nf_field *f, const char *s, size_t len, const nf_limits *lim,
                nf_error *err);
/* Arrays of strings: reserve N slots, then set each. */
int nf__set_strs_begin(nf_item *it, const nf_field *f, size_t n, const nf_limits *lim,
                       nf_error *err);
int nf__set_strs_at(nf_item *it, const nf_field *f, size_t i, const char *s, size_t len,
                    const nf_limits *lim, nf_error *err);
int nf__set_int(nf_item *it, const nf_field *f, int64_t v, nf_error *err);
int nf__set_meta(nf_item *it, const uint8_t *mp, size_t len);

bool nf__utf8_valid(const char *s, size_t len);
/* Cuts S (LEN bytes) back to a whole UTF-8 character, NUL-terminates it,
 * returns the new length. */
size_t nf__utf8_trim(char *s, size_t len);
/* Replaces every byte that is not part of valid UTF-8 with '?'. */
void nf__utf8_scrub(char *s);
/* Copies at most SIZE-1 bytes of SRC, never splitting a character. */
void nf__copy_utf8(char *dst, size_t size, const char *src, size_t len);
/* Is S (NUL-terminated) only white space, Unicode spaces included? */
bool nf__blank(const char *s);
/* 1..MAX bytes of [A-Za-z0-9_-] tokens joined by single dots: topics
 * (nf_topic_valid, MAX 128) and NATS subject prefixes. */
bool nf__dotted_name_valid(const char *s, size_t len, size_t max);

/* Grows the array *P of SIZE-byte elements, capacity *CAP, to hold at
 * least NEED (doubling, from 64).  Returns 0, or -1 when out of memory or
 * the size would overflow; *P and *CAP are unchanged then. */
int nf__grow(void **p, size_t *cap, size_t need, size_t size);

/* msgpack structure check: walks one object, checking that every declared
 * length fits in the bytes that remain and that nesting stays within
 * MAX_DEPTH, so that msgpack-c never allocates for a lying header.  Returns
 * bytes consumed, or 0 when malformed/truncated/too deep. */
size_t nf__mp_check(const uint8_t *p, size_t len, unsigned max_depth);

/* Packs the item's fields (no map header) into OUT; *NFIELDS gets how many
 * key/value pairs were written.  The daemon uses it to encode an item once
 * and then prefix per-topic fields. */
int nf__pack_fields(const nf_item *it, unsigned flags, nf_buf *out, uint32_t *nfields);

/* Unpacks exactly one object spanning all of BUF, after the structure
 * check; on success the caller destroys *UP. */
/* The value of string key KEY in MAP (a map object), or NULL. */
const msgpack_object *nf__mp_get(const msgpack_object *map, const char *key);
int nf__mp_unpack_one(msgpack_unpacked *up, const void *buf, size_t len, unsigned max_depth,
                      nf_error *err);
/* Fills IT from a decoded msgpack map and validates it. */
int nf__item_from_object(nf_item *it, const msgpack_object *o, const nf_limits *lim,
                         nf_origin origin, nf_error *err);

/* Copies N bytes, usually a handful (msgpack headers, keys, short
 * values): for under 16 bytes two overlapping fixed-size moves cost less
 * than the call into libc's memcpy, which is made for longer runs. */
static inline void nf__copy_small(void *dst, const void *src, size_t n) {
  char *d = dst;
  const char *s = src;
  if (n >= 16) {
    memcpy(d, s, n);
  } else if (n >= 8) {
    uint64_t a, z;
    memcpy(&a, s, 8), memcpy(&z, s + n - 8, 8);
    memcpy(d, &a, 8), memcpy(d + n - 8, &z, 8);
  } else if (n >= 4) {
    uint32_t a, z;
    memcpy(&a, s, 4), memcpy(&z, s + n - 4, 4);
    memcpy(d, &a, 4), memcpy(d + n - 4, &z, 4);
  } else if (n >= 2) {
    uint16_t a, z;
    memcpy(&a, s, 2), memcpy(&z, s + n - 2, 2);
    memcpy(d, &a, 2), memcpy(d + n - 2, &z, 2);
  } else if (n) {
    *d = *s;
  }
}

/* Byte-level msgpack writers onto an nf_buf. */
int nf__mp_map(nf_buf *b, uint32_t n);
int nf__mp_array(nf_buf *b, uint32_t n);
int nf__mp_str(nf_buf *b, const char *s, size_t n);
/* Inline so that the length of a literal key is known when compiling. */
static inline int nf__mp_cstr(nf_buf *b, const char *s) {
  return nf__mp_str(b, s, strlen(s));
}
int nf__mp_uint(nf_buf *b, uint64_t v);
int nf__mp_int(nf_buf *b, int64_t v);
int nf__mp_bool(nf_buf *b, bool v);
int nf__mp_double(nf_buf *b, double v);

/* meta (msgpack map) -> JSON text appended to OUT, and JSON object ->
 * msgpack. */
struct json_t;
struct json_t *nf__meta_to_json(const uint8_t *mp, size_t len);
/* Any msgpack object as JSON (non-string map keys are dropped). */
struct json_t *nf__mp_to_json(const msgpack_object *o);
int nf__json_to_mp(const struct json_t *j, nf_buf *out, unsigned depth, const nf_limits *lim,
                   size_t *count, nf_error *err);

#endif
