/*
 * test_framing.c -- unit tests for the ingest framer (src/ingest/framing.c,
 * contract in framing.h).
 *
 * A recorder callback copies every event; a stream fed in one piece, one
 * byte at a time, and in pseudo-random pieces (fixed seed) must give the
 * same events.  Every feed goes through an exactly-sized heap copy, so
 * valgrind flags a read past the bytes fed, and the recorder notes whether
 * a frame pointed into the caller's buffer (delivered in place).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/framing.h"

/* ---- recorder ------------------------------------------------------------ */

typedef struct event {
  nf_fevent ev;
  size_t n;
  char *data;    /* copy of the frame, NULL for TOO_LONG */
  bool in_place; /* P pointed into the buffer being fed */
} event;

typedef struct rec {
  event ev[64];
  size_t n;
  const char *feed_p; /* the buffer of the feed in progress */
  size_t feed_n;
  int stop_after; /* return 1 once this many events were seen (0: never) */
} rec;

static int on_frame(void *ctx, nf_fevent ev, const char *p, size_t n) {
  rec *r = ctx;
  assert_true(r->n < sizeof r->ev / sizeof r->ev[0]);
  event *e = &r->ev[r->n++];
  e->ev = ev;
  e->n = n;
  e->data = NULL;
  e->in_place = p && p >= r->feed_p && p + n <= r->feed_p + r->feed_n;
  if (ev == NF_FRAME_OK) {
    assert_true(p != NULL || n == 0);
    e->data = malloc(n + 1);
    assert_non_null(e->data);
    if (n) memcpy(e->data, p, n);
    e->data[n] = 0;
  } else {
    assert_null(p);
  }
  return r->stop_after && (int)r->n >= r->stop_after;
}

static void rec_free(rec *r) {
  for (size_t i = 0; i < r->n; i++) free(r->ev[i].data);
  memset(r, 0, sizeof *r);
}

/* Feeds N bytes of P through a heap copy; returns the feed's result. */
static int feed(nf_framer *f, rec *r, const char *p, size_t n) {
  char *copy = malloc(n ? n : 1);
  assert_non_null(copy);
  if (n) memcpy(copy, p, n);
  r->feed_p = copy;
  r->feed_n = n;
  int rc = nf_framer_feed(f, copy, n, on_frame, r);
  r->feed_p = NULL;
  free(copy);
  return rc;
}

static uint32_t rng_state;
static uint32_t rng(void) { /* xorshift32, fixed seed per test */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

/* Feeds the stream in pieces: STEP 0 = random sizes 1..MAXSTEP, else
 * fixed STEP.  Checks buffered bytes stay within LIMIT after each feed. */
static void feed_split(nf_framer *f, rec *r, const char *p, size_t n, size_t step, size_t maxstep,
                       size_t limit) {
  size_t off = 0;
  while (off < n) {
    size_t k = step ? step : 1 + rng() % maxstep;
    if (k > n - off) k = n - off;
    assert_int_equal(feed(f, r, p + off, k), 0);
    if (nf_framer_buffered(f) > limit)
      fail_msg("buffered %zu > %zu at offset %zu", nf_framer_buffered(f), limit, off);
    off += k;
  }
}

static void assert_same_events(const rec *a, const rec *b) {
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_int_equal(a->ev[i].ev, b->ev[i].ev);
    assert_int_equal(a->ev[i].n, b->ev[i].n);
    if (a->ev[i].data) assert_memory_equal(a->ev[i].data, b->ev[i].data, a->ev[i].n);
  }
}

static void assert_ok_frame(const rec *r, size_t i, const char *want) {
  assert_true(i < r->n);
  assert_int_equal(r->ev[i].ev, NF_FRAME_OK);
  assert_int_equal(r->ev[i].n, strlen(want));
  assert_memory_equal(r->ev[i].data, want, strlen(want));
}

/* Runs STREAM whole, byte by byte and in 20 random splittings, all with
 * MAX; checks they agree and returns the whole-feed events in OUT. */
static void check_splits(const char *stream, size_t n, size_t max, rec *out) {
  nf_framer f;
  nf_framer_init(&f, max);
  assert_int_equal(feed(&f, out, stream, n), 0);
  nf_framer_free(&f);
  rec r = {0};
  nf_framer_init(&f, max);
  feed_split(&f, &r, stream, n, 1, 1, max + 1);
  nf_framer_free(&f);
  assert_same_events(out, &r);
  rec_free(&r);
  rng_state = 12345;
  for (int round = 0; round < 20; round++) {
    nf_framer_init(&f, max);
    feed_split(&f, &r, stream, n, 0, 1 + round * 3, max + 1 + round * 3);
    nf_framer_free(&f);
    assert_same_events(out, &r);
    rec_free(&r);
  }
}

/* ---- mode selection ------------------------------------------------------ */

static nf_fmode mode_after(const char *p, size_t n, int *rc) {
  nf_framer f;
  nf_framer_init(&f, 1024);
  rec r = {0};
  *rc = feed(&f, &r, p, n);
  nf_fmode m = f.mode;
  rec_free(&r);
  nf_framer_free(&f);
  return m;
}

static void test_mode_json_by_brace(void **state) {
  (void)state;
  int rc;
  assert_int_equal(mode_after("{\"title\":\"x\"}\n", 14, &rc), NF_FM_JSON);
  assert_int_equal(rc, 0);
  assert_int_equal(mode_after("{", 1, &rc), NF_FM_JSON);
  assert_int_equal(rc, 0);
}

static void test_mode_json_by_leading_whitespace(void **state) {
  (void)state;
  const char *ws[] = {" ", "\t", "\r\n", "\n", "  {\"a\":1}\n"};
  for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
    int rc;
    assert_int_equal(mode_after(ws[i], strlen(ws[i]), &rc), NF_FM_JSON);
    assert_int_equal(rc, 0);
  }
}

static void test_mode_msgpack_by_zero_byte(void **state) {
  (void)state;
  int rc;
  assert_int_equal(mode_after("\0\0\0\1\xc0", 5, &rc), NF_FM_MSGPACK);
  assert_int_equal(rc, 0);
  assert_int_equal(mode_after("\0", 1, &rc), NF_FM_MSGPACK);
  assert_int_equal(rc, 0);
}

static void test_mode_other_first_bytes_refused(void **state) {
  (void)state;
  const char bad[] = {'x', '[', '"', 'G', '\x80', '\xff', '\x7f', '}', '1'};
  for (size_t i = 0; i < sizeof bad; i++) {
    nf_framer f;
    nf_framer_init(&f, 1024);
    rec r = {0};
    assert_int_equal(feed(&f, &r, &bad[i], 1), -1);
    assert_int_equal(feed(&f, &r, "{\"a\":1}\n", 8), -1); /* for good */
    assert_int_equal(r.n, 0);
    nf_framer_free(&f);
  }
}

static void test_mode_undecided_after_empty_feed(void **state) {
  (void)state;
  nf_framer f;
  nf_framer_init(&f, 1024);
  rec r = {0};
  assert_int_equal(feed(&f, &r, "", 0), 0);
  assert_int_equal(f.mode, NF_FM_UNKNOWN);
  assert_int_equal(feed(&f, &r, "{\"a\":1}\n", 8), 0);
  assert_int_equal(f.mode, NF_FM_JSON);
  assert_int_equal(r.n, 1);
  rec_free(&r);
  nf_framer_free(&f);
}

/* ---- JSON lines ---------------------------------------------------------- */

static const char json_stream[] = "  {\"title\":\"first\"}\n"
                                  "{\"title\":\"格隆汇7月4日丨汇景控股(09968.HK)公告\"}\r\n"
                                  "\n"
                                  "\r\n"
                                  "   \t \r\n"
                                  "{\"title\":\"trailing spaces\"}   \n"
                                  "{\"title\":\"ＡＩ芯片 🚀\"}\n"
                                  "{\"title\":\"no newline yet\"}";

static void test_json_lines_split_anywhere(void **state) {
  (void)state;
  rec r = {0};
  check_splits(json_stream, sizeof json_stream - 1, 256, &r);
  assert_int_equal(r.n, 4);
  assert_ok_frame(&r, 0, "{\"title\":\"first\"}");
  assert_ok_frame(&r, 1, "{\"title\":\"格隆汇7月4日丨汇景控股(09968.HK)公告\"}");
  assert_ok_frame(&r, 2, "{\"title\":\"trailing spaces\"}");
  assert_ok_frame(&r, 3, "{\"title\":\"ＡＩ芯片 🚀\"}");
  rec_free(&r);
}

static void test_json_last_line_delivered_when_newline_arrives(void **state) {
  (void)state;
  nf_framer f;
  nf_framer_init(&f, 256);
  rec r = {0};
  assert_int_equal(feed(&f, &r, json_stream, sizeof json_stream - 1), 0);
  assert_int_equal(r.n, 4);
  assert_int_equal(nf_framer_buffered(&f), strlen("{\"title\":\"no newline yet\"}"));
  assert_int_equal(feed(&f, &r, "\r\n", 2), 0);
  assert_int_equal(r.n, 5);
  assert_ok_frame(&r, 4, "{\"title\":\"no newline yet\"}");
  assert_int_equal(nf_framer_buffered(&f), 0);
  rec_free(&r);
  nf_framer_free(&f);
}

static void test_json_whole_line_delivered_in_place(void **state) {
  (void)state;
  nf_framer f;
  nf_framer_init(&f, 256);
  rec r = {0};
  assert_int_equal(feed(&f, &r, "{\"a\":1}\n{\"b\":2}\n{\"c\"", 20), 0);
  assert_int_equal(r.n, 2);
  assert_true(r.ev[0].in_place);
  assert_true(r.ev[1].in_place);
  assert_int_equal(feed(&f, &r, ":3}\n", 4), 0); /* joined from two feeds */
  assert_int_equal(r.n, 3);
  assert_ok_frame(&r, 2, "{\"c\":3}");
  assert_false(r.ev[2].in_place);
  rec_free(&r);
  nf_framer_free(&f);
}

/* "{"short":1}\n" + a line of LONG bytes + "\n{"next":2}\n" */
static char *long_line_stream(size_t longlen, size_t *n) {
  const char *a = "{\"short\":1}\n", *b = "\n{\"next\":2}\n";
  *n = strlen(a) + longlen + strlen(b);
  char *s = malloc(*n + 1);
  assert_non_null(s);
  strcpy(s, a);
  memset(s + strlen(a), 'x', longlen);
  s[strlen(a)] = '{';
  strcpy(s + strlen(a) + longlen, b);
  return s;
}

static void assert_long_line_events(const rec *r, size_t longlen) {
  assert_int_equal(r->n, 3);
  assert_ok_frame(r, 0, "{\"short\":1}");
  assert_int_equal(r->ev[1].ev, NF_FRAME_TOO_LONG);
  assert_int_equal(r->ev[1].n, longlen);
  assert_ok_frame(r, 2, "{\"next\":2}");
}

static void test_json_over_long_line_one_too_long(void **state) {
  (void)state;
  size_t n;
  char *s = long_line_stream(1000, &n);
  rec r = {0};
  check_splits(s, n, 64, &r); /* also checks buffered <= 64 + chunk */
  assert_long_line_events(&r, 1000);
  rec_free(&r);
  free(s);
}

static void test_json_buffer_bounded_while_long_line_streams(void **state) {
  (void)state;
  size_t n;
  char *s = long_line_stream(100000, &n);
  nf_framer f;
  nf_framer_init(&f, 64);
  rec r = {0};
  for (size_t off = 0; off < n; off += 50) {
    size_t k = n - off < 50 ? n - off : 50;
    assert_int_equal(feed(&f, &r, s + off, k), 0);
    assert_true(nf_framer_buffered(&f) <= 64);
    assert_true(f.acc.cap <= 64 + 50 + 256); /* never grew with the line */
  }
  assert_long_line_events(&r, 100000);
  rec_free(&r);
  nf_framer_free(&f);
  free(s);
}

static void test_json_line_of_exactly_max(void **state) {
  (void)state;
  char line[66];
  memset(line, ' ', 64);
  line[0] = '{';
  line[63] = '}';
  line[64] = '\n';
  rec r = {0};
  check_splits(line, 65, 64, &r);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].ev, NF_FRAME_OK);
  rec_free(&r);
  line[64] = ' ';
  line[65] = '\n';
  check_splits(line, 66, 64, &r);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].ev, NF_FRAME_TOO_LONG);
  assert_int_equal(r.ev[0].n, 65);
  rec_free(&r);
}

static void test_json_callback_stop(void **state) {
  (void)state;
  nf_framer f;
  nf_framer_init(&f, 256);
  rec r = {.stop_after = 1};
  assert_int_equal(feed(&f, &r, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 24), 1);
  assert_int_equal(r.n, 1);
  rec_free(&r);
  nf_framer_free(&f);
  /* a stop from a line completed out of the buffer */
  nf_framer_init(&f, 256);
  r.stop_after = 1;
  assert_int_equal(feed(&f, &r, "{\"a\"", 4), 0);
  assert_int_equal(feed(&f, &r, ":1}\n{\"b\":2}\n", 12), 1);
  assert_int_equal(r.n, 1);
  rec_free(&r);
  nf_framer_free(&f);
}

/* ---- msgpack frames ------------------------------------------------------ */

static void put_frame(char *out, size_t *off, const char *body, uint32_t n) {
  out[(*off)++] = (char)(n >> 24);
  out[(*off)++] = (char)(n >> 16);
  out[(*off)++] = (char)(n >> 8);
  out[(*off)++] = (char)n;
  if (n) memcpy(out + *off, body, n);
  *off += n;
}

static void test_msgpack_frames_split_anywhere(void **state) {
  (void)state;
  char s[512], body[200];
  for (size_t i = 0; i < sizeof body; i++) body[i] = (char)(i * 7);
  size_t n = 0;
  put_frame(s, &n, "\x81\xa1t\xa1x", 5);
  put_frame(s, &n, "", 0);
  put_frame(s, &n, body, sizeof body);
  put_frame(s, &n, "\n\r{", 3); /* framing ignores the body's bytes */
  put_frame(s, &n, body, 1);
  rec r = {0};
  check_splits(s, n, 256, &r);
  assert_int_equal(r.n, 5);
  assert_int_equal(r.ev[1].ev, NF_FRAME_OK);
  assert_int_equal(r.ev[1].n, 0);
  assert_int_equal(r.ev[2].n, sizeof body);
  assert_memory_equal(r.ev[2].data, body, sizeof body);
  assert_ok_frame(&r, 3, "\n\r{");
  rec_free(&r);
}

static void test_msgpack_zero_length_frame(void **state) {
  (void)state;
  nf_framer f;
  nf_framer_init(&f, 1024);
  rec r = {0};
  assert_int_equal(feed(&f, &r, "\0\0\0\0\0\0\0\0", 8), 0);
  assert_int_equal(r.n, 2);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(r.ev[i].ev, NF_FRAME_OK);
    assert_int_equal(r.ev[i].n, 0);
  }
  assert_int_equal(nf_framer_buffered(&f), 0);
  rec_free(&r);
  nf_framer_free(&f);
}

static void test_msgpack_whole_frame_in_place(void **state) {
  (void)state;
  char s[64];
  size_t n = 0;
  put_frame(s, &n, "\x81\xa1t\xa1x", 5);
  put_frame(s, &n, "\x81\xa1t\xa1y", 5);
  nf_framer f;
  nf_framer_init(&f, 1024);
  rec r = {0};
  assert_int_equal(feed(&f, &r, s, n), 0);
  assert_int_equal(r.n, 2);
  assert_true(r.ev[0].in_place);
  assert_true(r.ev[1].in_place);
  /* a body split over feeds is assembled, correctly, out of place */
  assert_int_equal(feed(&f, &r, s, 7), 0);
  assert_int_equal(feed(&f, &r, s + 7, 2), 0);
  assert_int_equal(r.n, 3);
  assert_false(r.ev[2].in_place);
  assert_memory_equal(r.ev[2].data, "\x81\xa1t\xa1x", 5);
  rec_free(&r);
  nf_framer_free(&f);
}

static void test_msgpack_huge_declared_length_never_buffered(void **state) {
  (void)state;
  nf_framer f;
  rec r = {0};
  /* A frame under 16 MiB starts with 0x00; declare 0x00FFFFF0 bytes. */
  nf_framer_init(&f, 1024);
  static const char hdr[4] = {0x00, (char)0xff, (char)0xff, (char)0xf0};
  assert_int_equal(feed(&f, &r, hdr, 4), 0);
  char chunk[1000];
  memset(chunk, 'z', sizeof chunk);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(feed(&f, &r, chunk, sizeof chunk), 0);
    assert_true(nf_framer_buffered(&f) <= 1024);
    assert_true(f.acc.cap <= 1024);
  }
  assert_int_equal(r.n, 0);
  rec_free(&r);
  nf_framer_free(&f);
}

static void test_msgpack_header_fffffff0_after_first_frame(void **state) {
  (void)state;
  /* the 0xFFFFFFF0 header of the brief, after a valid first frame */
  nf_framer f;
  nf_framer_init(&f, 1024);
  rec r = {0};
  char s[32];
  size_t n = 0;
  put_frame(s, &n, "\xc0", 1);
  memcpy(s + n, "\xff\xff\xff\xf0", 4);
  n += 4;
  assert_int_equal(feed(&f, &r, s, n), 0);
  char chunk[1024];
  memset(chunk, 0, sizeof chunk);
  for (int i = 0; i < 10; i++) {
    assert_int_equal(feed(&f, &r, chunk, sizeof chunk), 0);
    assert_true(nf_framer_buffered(&f) <= 1024);
  }
  assert_int_equal(r.n, 1);
  rec_free(&r);
  nf_framer_free(&f);
}

static void test_msgpack_oversized_frame_skipped_then_next(void **state) {
  (void)state;
  const size_t big = 5000;
  size_t cap = 4 + big + 4 + 5 + 4 + 1024 + 4 + 1025;
  char *s = malloc(cap);
  assert_non_null(s);
  char *body = malloc(big);
  assert_non_null(body);
  for (size_t i = 0; i < big; i++) body[i] = (char)(i * 13 + 1);
  size_t n = 0;
  put_frame(s, &n, body, (uint32_t)big);
  put_frame(s, &n, "\x81\xa1t\xa1x", 5);
  put_frame(s, &n, body, 1024); /* exactly max: delivered */
  put_frame(s, &n, body, 1025); /* max + 1: skipped */
  assert_int_equal(n, cap);
  rec r = {0};
  check_splits(s, n, 1024, &r); /* buffered stays <= max + chunk */
  assert_int_equal(r.n, 4);
  assert_int_equal(r.ev[0].ev, NF_FRAME_TOO_LONG);
  assert_int_equal(r.ev[0].n, big);
  assert_ok_frame(&r, 1, "\x81\xa1t\xa1x");
  assert_int_equal(r.ev[2].ev, NF_FRAME_OK);
  assert_int_equal(r.ev[2].n, 1024);
  assert_memory_equal(r.ev[2].data, body, 1024);
  assert_int_equal(r.ev[3].ev, NF_FRAME_TOO_LONG);
  assert_int_equal(r.ev[3].n, 1025);
  rec_free(&r);
  free(body);
  free(s);
}

static void test_msgpack_oversized_random_chunks_buffer_bounded(void **state) {
  (void)state;
  const size_t big = 5000; /* 0x1388 */
  char *s = malloc(4 + big + 10);
  assert_non_null(s);
  size_t n = 0;
  memset(s, 'q', 4 + big);
  put_frame(s, &n, NULL, 0); /* header only, then the body in place */
  s[2] = (char)(big >> 8), s[3] = (char)big;
  n += big;
  put_frame(s, &n, "\x81\xa1t\xa1x", 5);
  nf_framer f;
  nf_framer_init(&f, 1024);
  rec r = {0};
  rng_state = 777;
  feed_split(&f, &r, s, n, 0, 700, 1024); /* never more than max */
  assert_int_equal(r.n, 2);
  assert_int_equal(r.ev[0].ev, NF_FRAME_TOO_LONG);
  assert_int_equal(r.ev[0].n, big);
  assert_ok_frame(&r, 1, "\x81\xa1t\xa1x");
  rec_free(&r);
  nf_framer_free(&f);
  free(s);
}

static void test_msgpack_callback_stop(void **state) {
  (void)state;
  char s[64];
  size_t n = 0;
  put_frame(s, &n, "\xc0", 1);
  put_frame(s, &n, "\xc2", 1);
  put_frame(s, &n, "\xc3", 1);
  nf_framer f;
  nf_framer_init(&f, 1024);
  rec r = {.stop_after = 2};
  assert_int_equal(feed(&f, &r, s, n), 1);
  assert_int_equal(r.n, 2);
  rec_free(&r);
  nf_framer_free(&f);
  /* a stop on TOO_LONG too */
  nf_framer_init(&f, 4);
  n = 0;
  put_frame(s, &n, "0123456789", 10);
  put_frame(s, &n, "\xc0", 1);
  r.stop_after = 1;
  assert_int_equal(feed(&f, &r, s, n), 1);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.ev[0].ev, NF_FRAME_TOO_LONG);
  rec_free(&r);
  nf_framer_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mode_json_by_brace),
      cmocka_unit_test(test_mode_json_by_leading_whitespace),
      cmocka_unit_test(test_mode_msgpack_by_zero_byte),
      cmocka_unit_test(test_mode_other_first_bytes_refused),
      cmocka_unit_test(test_mode_undecided_after_empty_feed),
      cmocka_unit_test(test_json_lines_split_anywhere),
      cmocka_unit_test(test_json_last_line_delivered_when_newline_arrives),
      cmocka_unit_test(test_json_whole_line_delivered_in_place),
      cmocka_unit_test(test_json_over_long_line_one_too_long),
      cmocka_unit_test(test_json_buffer_bounded_while_long_line_streams),
      cmocka_unit_test(test_json_line_of_exactly_max),
      cmocka_unit_test(test_json_callback_stop),
      cmocka_unit_test(test_msgpack_frames_split_anywhere),
      cmocka_unit_test(test_msgpack_zero_length_frame),
      cmocka_unit_test(test_msgpack_whole_frame_in_place),
      cmocka_unit_test(test_msgpack_huge_declared_length_never_buffered),
      cmocka_unit_test(test_msgpack_header_fffffff0_after_first_frame),
      cmocka_unit_test(test_msgpack_oversized_frame_skipped_then_next),
      cmocka_unit_test(test_msgpack_oversized_random_chunks_buffer_bounded),
      cmocka_unit_test(test_msgpack_callback_stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
