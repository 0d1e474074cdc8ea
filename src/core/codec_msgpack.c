/*
 * codec_msgpack.c -- items and answers to and from msgpack (msgpack-c).
 *
 * Decoding is two passes.  nf__mp_check first walks the raw bytes without
 * allocating, proving that every declared length fits inside the input and
 * that nesting is bounded; only then does msgpack-c unpack it.  msgpack-c
 * allocates a declared array's slots up front, so without the check a
 * five-byte frame claiming 2^32 elements would make it allocate gigabytes.
 *
 * Encoding writes the msgpack bytes straight into an nf_buf (msgpack-c's
 * packer only for meta, see "writers" below).  The fields are written by nf__pack_fields without a
 * map header so that the daemon can encode an item once and prepend per-message fields (topic, seq,
 * epoch) for each topic it is published on.
 */
#include <msgpack.h>
#include <string.h>

#include "core/internal.h"

/* ---- structure check ---------------------------------------------------- */

static uint64_t be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* Header of the object at P: its header size, payload bytes to skip, and
 * child objects that follow.  Returns false on a reserved or truncated
 * header. */
static bool mp_header(const uint8_t *p, size_t len, size_t *hdr, uint64_t *skip,
                      uint64_t *children) {
  uint8_t c = p[0];
  *hdr = 1, *skip = 0, *children = 0;
  if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) return true;
  if (c >= 0x80 && c <= 0x8f) return *children = 2u * (c & 0x0f), true;
  if (c >= 0x90 && c <= 0x9f) return *children = c & 0x0f, true;
  if (c >= 0xa0 && c <= 0xbf) return *skip = c & 0x1f, true;
  static const uint8_t fixed[] = {[0xca - 0xc4] = 4, [0xcb - 0xc4] = 8, [0xcc - 0xc4] = 1,
                                  [0xcd - 0xc4] = 2, [0xce - 0xc4] = 4, [0xcf - 0xc4] = 8,
                                  [0xd0 - 0xc4] = 1, [0xd1 - 0xc4] = 2, [0xd2 - 0xc4] = 4,
                                  [0xd3 - 0xc4] = 8, [0xd4 - 0xc4] = 2, [0xd5 - 0xc4] = 3,
                                  [0xd6 - 0xc4] = 5, [0xd7 - 0xc4] = 9, [0xd8 - 0xc4] = 17};
  if (c >= 0xca && c <= 0xd8) return *skip = fixed[c - 0xc4], true;
  size_t lenbytes;
  switch (c) {
  case 0xc4:
  case 0xd9:
    lenbytes = 1;
    break;
  case 0xc5:
  case 0xda:
  case 0xdc:
  case 0xde:
    lenbytes = 2;
    break;
  case 0xc6:
  case 0xdb:
  case 0xdd:
  case 0xdf:
    lenbytes = 4;
    break;
  case 0xc7:
    lenbytes = 1;
    break;
  case 0xc8:
    lenbytes = 2;
    break;
  case 0xc9:
    lenbytes = 4;
    break;
  default:
    return false; /* 0xc1 is never used */
  }
  if (len < 1 + lenbytes) return false;
  uint64_t n = be(p + 1, lenbytes);
  *hdr = 1 + lenbytes;
  if (c >= 0xc7 && c <= 0xc9) *hdr += 1, *skip = n; /* ext: type byte */
  else if (c == 0xdc || c == 0xdd) *children = n;
  else if (c == 0xde || c == 0xdf) *children = 2 * n;
  else *skip = n;
  return true;
}

size_t nf__mp_check(const uint8_t *p, size_t len, unsigned max_depth) {
  uint64_t todo[65]; /* objects still to read at each open level */
  if (max_depth > 64) max_depth = 64;
  unsigned depth = 0;
  size_t off = 0;
  todo[0] = 1;
  for (;;) {
    while (todo[depth] == 0) {
      if (depth == 0) return off;
      depth--;
    }
    if (off >= len) return 0;
    size_t hdr;
    uint64_t skip, children;
    if (!mp_header(p + off, len - off, &hdr, &skip, &children)) return 0;
    if (hdr > len - off || skip > len - off - hdr) return 0;
    off += hdr + (size_t)skip;
    todo[depth]--;
    if (children) {
      /* every child takes at least one byte */
      if (children > len - off || depth + 1 > max_depth) return 0;
      todo[++depth] = children;
    }
  }
}

/* ---- writers ------------------------------------------------------------ */

/* msgpack-c's packer hands every token to a write callback in pieces (the
 * type byte, the length, the payload), so a short key cost three buffer
 * appends and three libc memcpy calls.  The writers below build the header
 * here, check the buffer's room once per token and copy short runs with
 * nf__copy_small.  They write the same bytes as msgpack-c's packer
 * (tests/unit/test_mpwrite.c compares the two); msgpack-c still packs meta. */

static int buf_write(void *data, const char *p, size_t n) {
  return nf_buf_append(data, p, n);
}

/* Room for N more bytes at the end of B: where to write them, or NULL. */
static inline uint8_t *room(nf_buf *b, size_t n) {
  if (b->cap - b->len < n && nf_buf_reserve(b, n) < 0) return NULL;
  return (uint8_t *)b->data + b->len;
}

/* Writes TAG and the low BYTES bytes of V big-endian at D; returns the
 * number of bytes written. */
static inline size_t hdr(uint8_t *d, uint8_t tag, uint64_t v, unsigned bytes) {
  d[0] = tag;
  for (unsigned i = 0; i < bytes; i++) d[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  return 1 + bytes;
}

/* Container header: a fixmap/fixarray of up to 15 elements, else the 16-
 * or 32-bit form (FIX, then T16 and T32 = T16 + 1). */
static int container(nf_buf *b, uint8_t fix, uint8_t t16, uint32_t n) {
  uint8_t *d = room(b, 5);
  if (!d) return -1;
  b->len += n < 16      ? hdr(d, (uint8_t)(fix | n), 0, 0)
            : n < 65536 ? hdr(d, t16, n, 2)
                        : hdr(d, (uint8_t)(t16 + 1), n, 4);
  return 0;
}

int nf__mp_map(nf_buf *b, uint32_t n) {
  return container(b, 0x80, 0xde, n);
}
int nf__mp_array(nf_buf *b, uint32_t n) {
  return container(b, 0x90, 0xdc, n);
}
int nf__mp_str(nf_buf *b, const char *s, size_t n) {
  if (n > UINT32_MAX) return -1; /* msgpack cannot say it */
  uint8_t *d = room(b, 5 + n);
  if (!d) return -1;
  size_t hn = n < 32      ? hdr(d, (uint8_t)(0xa0 | n), 0, 0)
              : n < 256   ? hdr(d, 0xd9, n, 1)
              : n < 65536 ? hdr(d, 0xda, n, 2)
                          : hdr(d, 0xdb, n, 4);
  nf__copy_small(d + hn, s, n);
  b->len += hn + n;
  return 0;
}
int nf__mp_uint(nf_buf *b, uint64_t v) {
  uint8_t *d = room(b, 9);
  if (!d) return -1;
  b->len += v < 128           ? hdr(d, (uint8_t)v, 0, 0)
            : v < 256         ? hdr(d, 0xcc, v, 1)
            : v < 65536       ? hdr(d, 0xcd, v, 2)
            : v <= UINT32_MAX ? hdr(d, 0xce, v, 4)
                              : hdr(d, 0xcf, v, 8);
  return 0;
}
int nf__mp_int(nf_buf *b, int64_t v) {
  if (v >= 0) return nf__mp_uint(b, (uint64_t)v);
  uint8_t *d = room(b, 9);
  if (!d) return -1;
  uint64_t u = (uint64_t)v; /* two's complement: the low bytes are the value */
  b->len += v >= -32         ? hdr(d, (uint8_t)u, 0, 0)
            : v >= -128      ? hdr(d, 0xd0, u, 1)
            : v >= -32768    ? hdr(d, 0xd1, u, 2)
            : v >= INT32_MIN ? hdr(d, 0xd2, u, 4)
                             : hdr(d, 0xd3, u, 8);
  return 0;
}
int nf__mp_double(nf_buf *b, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  uint8_t *d = room(b, 9);
  if (!d) return -1;
  b->len += hdr(d, 0xcb, bits, 8);
  return 0;
}
int nf__mp_bool(nf_buf *b, bool v) {
  uint8_t *d = room(b, 1);
  if (!d) return -1;
  d[0] = v ? 0xc3 : 0xc2;
  b->len++;
  return 0;
}

static int kv_str(nf_buf *b, uint32_t *n, const char *k, const char *v) {
  if (!v) return 0;
  ++*n;
  return nf__mp_cstr(b, k) || nf__mp_cstr(b, v);
}

static int kv_strs(nf_buf *b, uint32_t *n, const char *k, const char **v, size_t count) {
  ++*n;
  int rc = nf__mp_cstr(b, k) || nf__mp_array(b, (uint32_t)count);
  for (size_t i = 0; i < count; i++) rc |= nf__mp_cstr(b, v[i]);
  return rc;
}

/* The string fields that come first, in wire order, and their keys. */
#define KEY(s)                                                                                     \
  { s, sizeof s - 1 }
static const struct {
  const char *s;
  size_t len;
} plain_keys[] = {KEY("id"),     KEY("kind"),   KEY("title"), KEY("body"), KEY("summary"),
                  KEY("source"), KEY("author"), KEY("url"),   KEY("lang")};
#undef KEY
enum { N_PLAIN = sizeof plain_keys / sizeof plain_keys[0] };

/* Everything after the plain strings: arrays, numbers, meta. */
static int pack_rest(const nf_item *it, unsigned flags, nf_buf *b, uint32_t *n) {
  int rc = 0;
  if (flags & NF_ENC_DAEMON) rc |= kv_strs(b, n, "topics", it->topics, it->n_topics);
  if (it->n_symbols || (flags & NF_ENC_DAEMON))
    rc |= kv_strs(b, n, "symbols", it->symbols, it->n_symbols);
  if (it->has_priority || (flags & NF_ENC_DAEMON)) {
    ++*n;
    rc |= nf__mp_cstr(b, "priority") || nf__mp_int(b, it->priority);
  }
  if (it->published) {
    ++*n;
    rc |= nf__mp_cstr(b, "published") || nf__mp_int(b, it->published);
  }
  if (flags & NF_ENC_DAEMON) {
    ++*n;
    rc |= nf__mp_cstr(b, "received") || nf__mp_int(b, it->received);
    if (it->producer) rc |= kv_str(b, n, "producer", it->producer);
  }
  if (it->meta) {
    ++*n;
    rc |= nf__mp_cstr(b, "meta") || nf_buf_append(b, it->meta, it->meta_len);
  }
  return rc;
}

/* The plain strings are measured first so that the buffer is reserved
 * once (topics and symbols estimated), instead of growing by doubling,
 * with a realloc and copy or two per item, as the fields arrive. */
int nf__pack_fields(const nf_item *it, unsigned flags, nf_buf *b, uint32_t *nfields) {
  const char *v[N_PLAIN] = {it->id,      nf_kind_name(it->kind),
                            it->title,   (flags & NF_ENC_NO_BODY) ? NULL : it->body,
                            it->summary, it->source,
                            it->author,  it->url,
                            it->lang};
  size_t len[N_PLAIN], need = 64 + it->meta_len + 32 * (it->n_topics + it->n_symbols);
  for (size_t i = 0; i < N_PLAIN; i++) {
    len[i] = v[i] ? strlen(v[i]) : 0;
    need += len[i] + 16;
  }
  if (nf_buf_reserve(b, need) < 0) return -1;
  uint32_t n = 0;
  int rc = 0;
  for (size_t i = 0; i < N_PLAIN; i++) {
    if (!v[i]) continue;
    n++;
    rc |= nf__mp_str(b, plain_keys[i].s, plain_keys[i].len) || nf__mp_str(b, v[i], len[i]);
  }
  rc |= pack_rest(it, flags, b, &n);
  *nfields = n;
  return rc ? -1 : 0;
}

int nf_item_to_msgpack(const nf_item *it, unsigned flags, nf_buf *out) {
  nf_buf fields = {0};
  uint32_t n = 0;
  int rc = nf__pack_fields(it, flags, &fields, &n);
  uint32_t extra = (flags & NF_ENC_MESSAGE) ? 4 : 0;
  if (!rc) rc = nf__mp_map(out, n + extra);
  if (!rc && extra) {
    rc |= nf__mp_cstr(out, "v") || nf__mp_uint(out, NF_SCHEMA_VERSION);
    rc |= nf__mp_cstr(out, "topic") || nf__mp_cstr(out, it->topic ? it->topic : "");
    rc |= nf__mp_cstr(out, "seq") || nf__mp_uint(out, it->seq);
    rc |= nf__mp_cstr(out, "epoch") || nf__mp_uint(out, it->epoch);
  }
  if (!rc) rc = nf_buf_append(out, fields.data, fields.len);
  nf_buf_free(&fields);
  return rc ? -1 : 0;
}

/* ---- decoder ------------------------------------------------------------ */

static bool int_of(const msgpack_object *o, int64_t *v) {
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o->via.u64 > INT64_MAX) return false;
    *v = (int64_t)o->via.u64;
    return true;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return *v = o->via.i64, true;
  if (o->type == MSGPACK_OBJECT_FLOAT64 || o->type == MSGPACK_OBJECT_FLOAT32) {
    /* JavaScript encoders send whole numbers such as Date.now() as floats;
     * range first: casting an out-of-range double is undefined */
    double d = o->via.f64;
    if (!(d >= -9.2e18 && d <= 9.2e18) || d != (double)(int64_t)d) return false;
    *v = (int64_t)d;
    return true;
  }
  return false;
}

/* Meta must be a map whose keys, at every level, are strings (so that it
 * can be shown as JSON), bounded in depth and size. */
static int check_meta(const msgpack_object *o, unsigned depth, const nf_limits *lim, size_t *count,
                      nf_error *err) {
  if (depth > lim->max_meta_depth)
    return nf_fail(err, "meta", "nested deeper than %u", lim->max_meta_depth);
  if (o->type == MSGPACK_OBJECT_STR && !nf__utf8_valid(o->via.str.ptr, o->via.str.size))
    return nf_fail(err, "meta", "invalid UTF-8");
  if (o->type == MSGPACK_OBJECT_STR && memchr(o->via.str.ptr, 0, o->via.str.size))
    return nf_fail(err, "meta", "contains a NUL byte"); /* as JSON refuses \u0000 */
  if (o->type == MSGPACK_OBJECT_BIN || o->type == MSGPACK_OBJECT_EXT)
    return nf_fail(err, "meta", "binary and ext values are not allowed");
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    *count += o->via.array.size;
    if (*count > lim->max_meta_items)
      return nf_fail(err, "meta", "more than %zu values", lim->max_meta_items);
    for (uint32_t i = 0; i < o->via.array.size; i++)
      if (check_meta(&o->via.array.ptr[i], depth + 1, lim, count, err) < 0) return -1;
  }
  if (o->type == MSGPACK_OBJECT_MAP) {
    *count += o->via.map.size;
    if (*count > lim->max_meta_items)
      return nf_fail(err, "meta", "more than %zu values", lim->max_meta_items);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      const msgpack_object_kv *kv = &o->via.map.ptr[i];
      if (kv->key.type != MSGPACK_OBJECT_STR)
        return nf_fail(err, "meta", "map keys must be strings");
      if (check_meta(&kv->key, depth + 1, lim, count, err) < 0 ||
          check_meta(&kv->val, depth + 1, lim, count, err) < 0)
        return -1;
    }
  }
  return 0;
}

static int set_meta(nf_item *it, const msgpack_object *o, const nf_limits *lim, nf_error *err) {
  if (o->type != MSGPACK_OBJECT_MAP) return nf_fail(err, "meta", "must be a map");
  size_t count = 0;
  if (check_meta(o, 1, lim, &count, err) < 0) return -1;
  nf_buf b = {0};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, buf_write);
  int rc = msgpack_pack_object(&pk, *o);
  if (!rc) rc = nf__set_meta(it, (const uint8_t *)b.data, b.len);
  nf_buf_free(&b);
  return rc ? nf_fail(err, "meta", "out of memory") : 0;
}

static int set_value(nf_item *it, const nf_field *f, const msgpack_object *v, const nf_limits *lim,
                     nf_error *err) {
  int64_t iv;
  switch (f->type) {
  case NF_T_STR:
    if (v->type != MSGPACK_OBJECT_STR) return nf_fail(err, f->name, "must be a string");
    return nf__set_str(it, f, v->via.str.ptr, v->via.str.size, lim, err);
  case NF_T_INT:
    if (!int_of(v, &iv)) return nf_fail(err, f->name, "must be an integer");
    return nf__set_int(it, f, iv, err);
  case NF_T_META:
    return set_meta(it, v, lim, err);
  case NF_T_STRS:
    if (v->type != MSGPACK_OBJECT_ARRAY)
      return nf_fail(err, f->name, "must be an array of strings");
    if (nf__set_strs_begin(it, f, v->via.array.size, lim, err) < 0) return -1;
    for (uint32_t i = 0; i < v->via.array.size; i++) {
      const msgpack_object *e = &v->via.array.ptr[i];
      if (e->type != MSGPACK_OBJECT_STR)
        return nf_fail(err, f->name, "must be an array of strings");
      if (nf__set_strs_at(it, f, i, e->via.str.ptr, e->via.str.size, lim, err) < 0) return -1;
    }
    return 0;
  }
  return -1;
}

int nf__item_from_object(nf_item *it, const msgpack_object *o, const nf_limits *lim,
                         nf_origin origin, nf_error *err) {
  if (o->type != MSGPACK_OBJECT_MAP) return nf_fail(err, "", "item must be a map");
  uint32_t seen = 0; /* one bit per nf_field_id: refuse duplicate keys */
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object_kv *kv = &o->via.map.ptr[i];
    if (kv->key.type != MSGPACK_OBJECT_STR) return nf_fail(err, "", "map keys must be strings");
    const nf_field *f = nf__field_find(kv->key.via.str.ptr, kv->key.via.str.size, origin, err);
    if (!f) return -1;
    if (seen & (1u << f->id)) return nf_fail(err, f->name, "duplicate key '%s'", f->name);
    seen |= 1u << f->id;
    if (set_value(it, f, &kv->val, lim, err) < 0) return -1;
  }
  return nf_item_validate(it, lim, err);
}

/* msgpack-c leaves the pointer of an empty string or bin NULL; every
 * consumer would then pass NULL to memcpy/memcmp (undefined even for zero
 * bytes).  Point them at "" once, here, instead.  Depth is bounded by the
 * structure check. */
static void empty_ptrs(msgpack_object *o) {
  switch (o->type) {
  case MSGPACK_OBJECT_STR:
    if (!o->via.str.ptr) o->via.str.ptr = "";
    break;
  case MSGPACK_OBJECT_BIN:
    if (!o->via.bin.ptr) o->via.bin.ptr = "";
    break;
  case MSGPACK_OBJECT_ARRAY:
    for (uint32_t i = 0; i < o->via.array.size; i++) empty_ptrs(&o->via.array.ptr[i]);
    break;
  case MSGPACK_OBJECT_MAP:
    for (uint32_t i = 0; i < o->via.map.size; i++) {
      empty_ptrs(&o->via.map.ptr[i].key);
      empty_ptrs(&o->via.map.ptr[i].val);
    }
    break;
  default:
    break;
  }
}

const msgpack_object *nf__mp_get(const msgpack_object *map, const char *key) {
  size_t n = strlen(key);
  for (uint32_t i = 0; map->type == MSGPACK_OBJECT_MAP && i < map->via.map.size; i++) {
    const msgpack_object *k = &map->via.map.ptr[i].key;
    if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && !memcmp(k->via.str.ptr, key, n))
      return &map->via.map.ptr[i].val;
  }
  return NULL;
}

int nf__mp_unpack_one(msgpack_unpacked *up, const void *buf, size_t len, unsigned max_depth,
                      nf_error *err) {
  size_t used = nf__mp_check(buf, len, max_depth);
  if (used == 0) return nf_fail(err, "", "invalid msgpack");
  if (used != len) return nf_fail(err, "", "trailing bytes after msgpack object");
  size_t off = 0;
  msgpack_unpacked_init(up);
  if (msgpack_unpack_next(up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS) {
    msgpack_unpacked_destroy(up);
    return nf_fail(err, "", "invalid msgpack");
  }
  empty_ptrs(&up->data);
  return 0;
}

int nf_item_from_msgpack(nf_item *it, const void *buf, size_t len, const nf_limits *lim,
                         nf_origin origin, nf_error *err) {
  if (len > lim->max_item_bytes)
    return nf_fail(err, "", "item too large: %zu bytes, at most %zu", len, lim->max_item_bytes);
  msgpack_unpacked up;
  /* the structure check only bounds work; meta's own depth limit is
   * checked (and reported against "meta") after unpacking */
  if (nf__mp_unpack_one(&up, buf, len, 64, err) < 0) return -1;
  int rc = nf__item_from_object(it, &up.data, lim, origin, err);
  msgpack_unpacked_destroy(&up);
  return rc;
}
