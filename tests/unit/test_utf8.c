/*
 * test_utf8.c -- nf__utf8_valid (src/core/util.c) against a reference that
 * decodes every code point the slow, obvious way.
 *
 * The validator checks a sequence by its lead byte and the range of its
 * second byte instead of decoding it; every 1-, 2- and 3-byte string
 * (alone and after a CJK character), all 4-byte strings that can matter,
 * and random mixtures are compared.  Each input sits at the end of an
 * exactly-sized heap buffer so that a read past it is caught by
 * AddressSanitizer or valgrind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <newsfeed/newsfeed.h>
#include "core/internal.h"

/* Strict UTF-8: shortest form only, no surrogates, at most U+10FFFF. */
static bool ref_valid(const unsigned char *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i], n, cp, min;
    if (c < 0x80) n = 0, cp = c, min = 0;
    else if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07, min = 0x10000;
    else return false;
    if (len - i < n + 1) return false;
    for (unsigned k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

/* One heap buffer; inputs are placed at its end. */
static unsigned char *arena;
enum { ARENA = 64 };

static void check(const unsigned char *s, size_t len) {
  unsigned char *at = arena + ARENA - len;
  memcpy(at, s, len);
  bool want = ref_valid(at, len);
  if (nf__utf8_valid((const char *)at, len) != want) {
    char hex[3 * ARENA + 1] = "";
    for (size_t i = 0; i < len; i++) snprintf(hex + 3 * i, 4, "%02X ", s[i]);
    fail_msg("%s: want %s", hex, want ? "valid" : "invalid");
  }
}

static void test_all_short_strings(void **state) {
  (void)state;
  unsigned char b[3];
  for (unsigned x = 0; x < 256; x++) {
    b[0] = (unsigned char)x;
    check(b, 1);
    for (unsigned y = 0; y < 256; y++) {
      b[1] = (unsigned char)y;
      check(b, 2);
      for (unsigned z = 0; z < 256; z++) {
        b[2] = (unsigned char)z;
        check(b, 3);
      }
    }
  }
}

/* The same after a three-byte character, which the validator follows
 * with a loop of its own while three-byte characters last. */
static void test_all_short_strings_after_cjk(void **state) {
  (void)state;
  unsigned char b[6] = {0xE4, 0xB8, 0xAD};
  for (unsigned x = 0; x < 256; x++) {
    b[3] = (unsigned char)x;
    check(b, 4);
    for (unsigned y = 0; y < 256; y++) {
      b[4] = (unsigned char)y;
      check(b, 5);
      for (unsigned z = 0; z < 256; z++) {
        b[5] = (unsigned char)z;
        check(b, 6);
      }
    }
  }
}

/* Four-byte strings: every lead from EF (not a four-byte lead) to F8 and
 * every second byte, with third and fourth bytes on either side of the
 * continuation range. */
static void test_four_byte_edges(void **state) {
  (void)state;
  static const unsigned char tail[] = {0x00, 0x41, 0x7F, 0x80, 0x9F, 0xBF, 0xC0, 0xFF};
  unsigned char b[5];
  for (unsigned x = 0xEF; x <= 0xF8; x++) {
    for (unsigned y = 0; y < 256; y++) {
      for (size_t i = 0; i < sizeof tail; i++) {
        for (size_t j = 0; j < sizeof tail; j++) {
          b[0] = (unsigned char)x, b[1] = (unsigned char)y, b[2] = tail[i], b[3] = tail[j];
          check(b, 4);
          b[4] = 'a';
          check(b, 5);
        }
      }
    }
  }
}

/* Mixtures of ASCII runs (the eight-byte path) and sequences, valid or
 * broken, at every alignment and length. */
static void test_random_mixtures(void **state) {
  (void)state;
  static const char *pieces[] = {"a",
                                 "hello, w",
                                 "0123456789",
                                 "\xC3\xA9",
                                 "\xE4\xB8\xAD",
                                 "\xEF\xBC\x8C",
                                 "\xF0\x9F\x98\x80",
                                 "\xF4\x8F\xBF\xBF",
                                 "\xED\x9F\xBF",
                                 "\xED\xA0\x80",
                                 "\xE0\x9F\xBF",
                                 "\xC1\xBF",
                                 "\xF4\x90\x80\x80",
                                 "\xF0\x8F\xBF\xBF",
                                 "\x80",
                                 "\xE4\xB8",
                                 "\xF5\x80\x80\x80",
                                 "\xFF",
                                 "\xE0\xA0\x80",
                                 "\xEE\x80\x80",
                                 "\xEF\xBF\xBF",
                                 "\xE1"};
  const size_t np = sizeof pieces / sizeof *pieces;
  uint64_t seed = 99;
  for (int round = 0; round < 200000; round++) {
    unsigned char text[ARENA];
    size_t len = 0;
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    size_t want = (size_t)(seed >> 33) % 40;
    while (len < want) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      const char *p = pieces[(seed >> 33) % np];
      if (len + strlen(p) > sizeof text) break;
      memcpy(text + len, p, strlen(p));
      len += strlen(p);
    }
    check(text, len);
  }
}

static int setup(void **state) {
  (void)state;
  arena = malloc(ARENA);
  return arena ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  free(arena);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_short_strings),
      cmocka_unit_test(test_all_short_strings_after_cjk),
      cmocka_unit_test(test_four_byte_edges),
      cmocka_unit_test(test_random_mixtures),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
