/*
 * test_mpwrite.c -- unit tests for libnewsfeed's byte-level msgpack writers
 * (nf__mp_* and nf__pack_fields in src/core/codec_msgpack.c) and the byte
 * buffer they write to (nf_buf_append, nf__copy_small).
 *
 * The writers replaced msgpack-c's packer for speed and must write the same
 * bytes, so every test packs the same tokens with msgpack-c into a
 * msgpack_sbuffer and compares: the length boundaries of every form, then
 * long runs of random tokens, appended to buffers whose room runs out at
 * every possible point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include <newsfeed/newsfeed.h>
#include "core/internal.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* xorshift64*: reproducible, so that a failure can be replayed */
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}

/* The two encoders side by side. */
typedef struct pair {
  nf_buf nf;
  msgpack_sbuffer ref;
  msgpack_packer pk;
} pair;

static void pair_init(pair *p) {
  memset(&p->nf, 0, sizeof p->nf);
  msgpack_sbuffer_init(&p->ref);
  msgpack_packer_init(&p->pk, &p->ref, msgpack_sbuffer_write);
}

static void pair_check(pair *p) {
  assert_int_equal(p->nf.len, p->ref.size);
  assert_true(p->nf.len <= p->nf.cap);
  if (p->ref.size) assert_memory_equal(p->nf.data, p->ref.data, p->ref.size);
}

static void pair_free(pair *p) {
  nf_buf_free(&p->nf);
  msgpack_sbuffer_destroy(&p->ref);
}

static void put_uint(pair *p, uint64_t v) {
  assert_int_equal(nf__mp_uint(&p->nf, v), 0);
  assert_int_equal(msgpack_pack_uint64(&p->pk, v), 0);
}

static void put_int(pair *p, int64_t v) {
  assert_int_equal(nf__mp_int(&p->nf, v), 0);
  assert_int_equal(msgpack_pack_int64(&p->pk, v), 0);
}

static void put_str(pair *p, const char *s, size_t n) {
  assert_int_equal(nf__mp_str(&p->nf, s, n), 0);
  assert_int_equal(msgpack_pack_str(&p->pk, n), 0);
  assert_int_equal(msgpack_pack_str_body(&p->pk, s, n), 0);
}

static void put_map(pair *p, uint32_t n) {
  assert_int_equal(nf__mp_map(&p->nf, n), 0);
  assert_int_equal(msgpack_pack_map(&p->pk, n), 0);
}

static void put_array(pair *p, uint32_t n) {
  assert_int_equal(nf__mp_array(&p->nf, n), 0);
  assert_int_equal(msgpack_pack_array(&p->pk, n), 0);
}

static void put_double(pair *p, double v) {
  assert_int_equal(nf__mp_double(&p->nf, v), 0);
  assert_int_equal(msgpack_pack_double(&p->pk, v), 0);
}

static void put_bool(pair *p, bool v) {
  assert_int_equal(nf__mp_bool(&p->nf, v), 0);
  assert_int_equal(v ? msgpack_pack_true(&p->pk) : msgpack_pack_false(&p->pk), 0);
}

/* Every edge between two encodings, and its neighbours. */
static const uint64_t uedges[] = {
    0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, 1ull << 32, INT64_MAX, UINT64_MAX,
};
static const int64_t iedges[] = {
    -1,        -31,           -32,    -33,    -127,      -128,
    -129,      -32767,        -32768, -32769, INT32_MIN, INT32_MIN - 1LL,
    INT64_MIN, INT64_MIN + 1,
};

static void test_numbers_match_msgpack_c(void **state) {
  (void)state;
  pair p;
  pair_init(&p);
  for (size_t i = 0; i < sizeof uedges / sizeof *uedges; i++) {
    put_uint(&p, uedges[i]);
    put_int(&p, (int64_t)(uedges[i] & INT64_MAX));
    if (uedges[i]) put_uint(&p, uedges[i] - 1), put_uint(&p, uedges[i] + 1);
  }
  for (size_t i = 0; i < sizeof iedges / sizeof *iedges; i++) put_int(&p, iedges[i]);
  put_double(&p, 0.0), put_double(&p, -0.0), put_double(&p, 1.5), put_double(&p, -1e300);
  put_bool(&p, true), put_bool(&p, false);
  pair_check(&p);
  pair_free(&p);
}

static void test_lengths_match_msgpack_c(void **state) {
  (void)state;
  static const size_t lens[] = {0, 1, 15, 16, 31, 32, 33, 255, 256, 257, 65535, 65536, 70000};
  size_t max = 70001;
  char *s = malloc(max);
  assert_non_null(s);
  for (size_t i = 0; i < max; i++) s[i] = (char)('a' + i % 26);
  pair p;
  pair_init(&p);
  for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
    put_str(&p, s, lens[i]);
    put_map(&p, (uint32_t)lens[i]);
    put_array(&p, (uint32_t)lens[i]);
  }
  put_map(&p, UINT32_MAX), put_array(&p, UINT32_MAX);
  pair_check(&p);
  pair_free(&p);
  free(s);
}

/* One random token of any kind; small values and short strings most
 * often, as in real items. */
static void put_random(pair *p, const char *pool, size_t pool_len) {
  uint64_t r = rnd(), v = rnd();
  unsigned shift = (unsigned)(rnd() % 64);
  switch (r % 7) {
  case 0:
    put_uint(p, v >> shift);
    break;
  case 1:
    put_int(p, (int64_t)v >> shift);
    break;
  case 2:
  case 3: {
    size_t n = (r >> 8) % 4 ? (size_t)(v % 40) : (size_t)(v % pool_len);
    put_str(p, pool + (r >> 16) % (pool_len - n + 1), n);
    break;
  }
  case 4:
    put_map(p, (uint32_t)(v >> shift));
    break;
  case 5:
    put_array(p, (uint32_t)(v >> shift));
    break;
  default:
    if (v & 1) put_bool(p, v & 2);
    else put_double(p, (double)(int64_t)v / 7.0);
  }
}

static void test_random_tokens_match_msgpack_c(void **state) {
  (void)state;
  size_t pool_len = 1000;
  char *pool = malloc(pool_len);
  assert_non_null(pool);
  for (size_t i = 0; i < pool_len; i++) pool[i] = (char)rnd();
  for (int run = 0; run < 200; run++) {
    pair p;
    pair_init(&p);
    int n = (int)(rnd() % 400);
    for (int i = 0; i < n; i++) put_random(&p, pool, pool_len);
    pair_check(&p);
    pair_free(&p);
  }
  free(pool);
}

/* The room check at every offset: a buffer filled to each length from
 * cap - 20 to cap, then one token of each size that may or may not fit. */
static void test_tokens_at_every_fill_level(void **state) {
  (void)state;
  char s[48];
  for (size_t i = 0; i < sizeof s; i++) s[i] = (char)('A' + i);
  for (size_t fill = 236; fill <= 256; fill++) {
    for (size_t n = 0; n < sizeof s; n++) {
      pair p;
      pair_init(&p);
      assert_int_equal(nf_buf_reserve(&p.nf, 256), 0);
      assert_int_equal(p.nf.cap, 256);
      for (size_t i = 0; i < fill; i++) put_uint(&p, i % 100);
      put_str(&p, s, n);
      put_uint(&p, UINT64_MAX - n);
      put_int(&p, INT64_MIN + (int64_t)n);
      pair_check(&p);
      pair_free(&p);
    }
  }
}

static void test_copy_small_every_size(void **state) {
  (void)state;
  unsigned char src[64], dst[64 + 16];
  for (size_t i = 0; i < sizeof src; i++) src[i] = (unsigned char)(i * 7 + 1);
  for (size_t n = 0; n <= sizeof src; n++) {
    for (size_t at = 0; at < 8; at++) {
      memset(dst, 0xEE, sizeof dst);
      nf__copy_small(dst + at, src + (sizeof src - n), n);
      for (size_t i = 0; i < sizeof dst; i++) {
        bool in = i >= at && i < at + n;
        assert_int_equal(dst[i], in ? src[sizeof src - n + (i - at)] : 0xEE);
      }
    }
  }
}

static void test_append_random_sizes(void **state) {
  (void)state;
  size_t max = 1 << 16;
  unsigned char *ref = malloc(max), *src = malloc(600);
  assert_non_null(ref), assert_non_null(src);
  for (size_t i = 0; i < 600; i++) src[i] = (unsigned char)rnd();
  for (int run = 0; run < 50; run++) {
    nf_buf b = {0};
    size_t len = 0;
    while (len < max - 600) {
      size_t n = rnd() % 4 ? (size_t)(rnd() % 20) : (size_t)(rnd() % 600);
      size_t from = (size_t)(rnd() % (600 - n + 1));
      assert_int_equal(nf_buf_append(&b, src + from, n), 0);
      memcpy(ref + len, src + from, n);
      len += n;
      assert_int_equal(b.len, len);
      assert_true(b.cap >= b.len);
    }
    assert_memory_equal(b.data, ref, len);
    nf_buf_free(&b);
  }
  free(ref), free(src);
}

/* ---- items: nf__pack_fields against the same fields packed with msgpack-c */

static void ref_kv(msgpack_packer *pk, uint32_t *n, const char *k, const char *v) {
  if (!v) return;
  ++*n;
  msgpack_pack_str_with_body(pk, k, strlen(k));
  msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void ref_strs(msgpack_packer *pk, const char *k, const char **v, size_t count) {
  msgpack_pack_str_with_body(pk, k, strlen(k));
  msgpack_pack_array(pk, count);
  for (size_t i = 0; i < count; i++) msgpack_pack_str_with_body(pk, v[i], strlen(v[i]));
}

static void ref_int(msgpack_packer *pk, uint32_t *n, const char *k, int64_t v) {
  ++*n;
  msgpack_pack_str_with_body(pk, k, strlen(k));
  msgpack_pack_int64(pk, v);
}

/* The field order is the wire format's (codec_msgpack.c). */
static uint32_t ref_fields(const nf_item *it, unsigned flags, msgpack_packer *pk) {
  uint32_t n = 0;
  bool daemon = flags & NF_ENC_DAEMON;
  ref_kv(pk, &n, "id", it->id);
  ref_kv(pk, &n, "kind", nf_kind_name(it->kind));
  ref_kv(pk, &n, "title", it->title);
  if (!(flags & NF_ENC_NO_BODY)) ref_kv(pk, &n, "body", it->body);
  ref_kv(pk, &n, "summary", it->summary);
  ref_kv(pk, &n, "source", it->source);
  ref_kv(pk, &n, "author", it->author);
  ref_kv(pk, &n, "url", it->url);
  ref_kv(pk, &n, "lang", it->lang);
  if (daemon) n++, ref_strs(pk, "topics", it->topics, it->n_topics);
  if (it->n_symbols || daemon) n++, ref_strs(pk, "symbols", it->symbols, it->n_symbols);
  if (it->has_priority || daemon) ref_int(pk, &n, "priority", it->priority);
  if (it->published) ref_int(pk, &n, "published", it->published);
  if (daemon) ref_int(pk, &n, "received", it->received);
  if (daemon) ref_kv(pk, &n, "producer", it->producer);
  if (it->meta) {
    n++;
    msgpack_pack_str_with_body(pk, "meta", 4);
    msgpack_sbuffer_write(pk->data, (const char *)it->meta, it->meta_len);
  }
  return n;
}

/* A string of a length around the encodings' edges, or NULL. */
static const char *rnd_str(const char *pool, size_t pool_len) {
  static const size_t lens[] = {0, 1, 5, 31, 32, 255, 256, 300, 1000, 65535, 65536, 70000};
  uint64_t r = rnd();
  if (r % 4 == 0) return NULL;
  size_t n = lens[(r >> 8) % (sizeof lens / sizeof *lens)];
  return pool + pool_len - 1 - n; /* pool ends in NUL */
}

static void test_pack_fields_match_msgpack_c(void **state) {
  (void)state;
  size_t pool_len = 70002;
  char *pool = malloc(pool_len);
  assert_non_null(pool);
  for (size_t i = 0; i + 1 < pool_len; i++) pool[i] = (char)('a' + rnd() % 26);
  pool[pool_len - 1] = 0;
  static const char *topics[] = {"headline", "finance.flash", "sym.600519.SH", "x"};
  static const uint8_t meta[] = {0x81, 0xa1, 'k', 0x01};
  for (int round = 0; round < 300; round++) {
    nf_item it;
    memset(&it, 0, sizeof it);
    it.id = rnd_str(pool, pool_len), it.title = rnd_str(pool, pool_len);
    it.body = rnd_str(pool, pool_len), it.summary = rnd_str(pool, pool_len);
    it.source = rnd_str(pool, pool_len), it.author = rnd_str(pool, pool_len);
    it.url = rnd_str(pool, pool_len), it.lang = rnd_str(pool, pool_len);
    it.producer = rnd_str(pool, pool_len);
    it.kind = rnd() % 2 ? NF_KIND_FLASH : NF_KIND_ARTICLE;
    it.topics = topics, it.n_topics = rnd() % 5;
    it.symbols = topics, it.n_symbols = rnd() % 5;
    it.has_priority = rnd() % 2, it.priority = (int64_t)(rnd() % 200) - 100;
    it.published = rnd() % 2 ? (int64_t)(rnd() >> 20) : 0;
    it.received = (int64_t)(rnd() >> 20);
    if (rnd() % 2) it.meta = meta, it.meta_len = sizeof meta;
    for (unsigned flags = 0; flags < 8; flags++) {
      pair p;
      pair_init(&p);
      uint32_t n = 0;
      assert_int_equal(nf__pack_fields(&it, flags, &p.nf, &n), 0);
      assert_int_equal(n, ref_fields(&it, flags, &p.pk));
      pair_check(&p);
      pair_free(&p);
    }
  }
  free(pool);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numbers_match_msgpack_c),
      cmocka_unit_test(test_lengths_match_msgpack_c),
      cmocka_unit_test(test_random_tokens_match_msgpack_c),
      cmocka_unit_test(test_tokens_at_every_fill_level),
      cmocka_unit_test(test_copy_small_every_size),
      cmocka_unit_test(test_append_random_sizes),
      cmocka_unit_test(test_pack_fields_match_msgpack_c),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
