/*
 * test_fold.c -- unit tests for src/tag/fold.c.
 *
 * Inputs are copied into exactly-sized heap buffers so that AddressSanitizer
 * or valgrind flag any read past the end.  A byte-at-a-time reference
 * folder cross-checks the word-at-a-time fast path at every alignment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fold.h"

/* Folds IN (LEN bytes) out of place and checks the result is WANT. */
static void check(const char *in, size_t len, unsigned flags, const char *want, size_t want_len) {
  char *src = malloc(len ? len : 1);
  char *dst = malloc(len ? len : 1);
  assert_non_null(src);
  assert_non_null(dst);
  memcpy(src, in, len);
  size_t n = nf_fold(src, len, dst, flags);
  assert_int_equal(n, want_len);
  assert_memory_equal(dst, want, want_len);
  /* In place must give the same bytes. */
  n = nf_fold(src, len, src, flags);
  assert_int_equal(n, want_len);
  assert_memory_equal(src, want, want_len);
  free(src);
  free(dst);
}

#define CHECK(in, flags, want) check(in, sizeof(in) - 1, flags, want, sizeof(want) - 1)

static void test_empty(void **state) {
  (void)state;
  char buf[1] = {'x'};
  assert_int_equal(nf_fold(buf, 0, buf, NF_FOLD_WIDTH | NF_FOLD_CASE), 0);
  assert_int_equal(buf[0], 'x');
}

static void test_ascii(void **state) {
  (void)state;
  CHECK("Hello, World 123 [AZ@`az{]", 0, "Hello, World 123 [AZ@`az{]");
  CHECK("Hello, World 123 [AZ@`az{]", NF_FOLD_WIDTH, "Hello, World 123 [AZ@`az{]");
  CHECK("Hello, World 123 [AZ@`az{]", NF_FOLD_CASE, "hello, world 123 [az@`az{]");
  CHECK("ABCDEFGHIJKLMNOPQRSTUVWXYZ", NF_FOLD_CASE, "abcdefghijklmnopqrstuvwxyz");
  CHECK("@[`{", NF_FOLD_CASE, "@[`{"); /* neighbours of A-Z, a-z */
  CHECK("@[`{@[`{@[`{", NF_FOLD_CASE, "@[`{@[`{@[`{");
}

static void test_width(void **state) {
  (void)state;
  CHECK("\xEF\xBC\x81", NF_FOLD_WIDTH, "!");            /* U+FF01 first */
  CHECK("\xEF\xBD\x9E", NF_FOLD_WIDTH, "~");            /* U+FF5E last */
  CHECK("\xEF\xBC\xBF", NF_FOLD_WIDTH, "_");            /* U+FF3F */
  CHECK("\xEF\xBD\x80", NF_FOLD_WIDTH, "`");            /* U+FF40 */
  CHECK("\xE3\x80\x80", NF_FOLD_WIDTH, " ");            /* U+3000 */
  CHECK("\xEF\xBC\x80", NF_FOLD_WIDTH, "\xEF\xBC\x80"); /* U+FF00 kept */
  CHECK("\xEF\xBD\x9F", NF_FOLD_WIDTH, "\xEF\xBD\x9F"); /* U+FF5F kept */
  CHECK("\xE3\x80\x81", NF_FOLD_WIDTH, "\xE3\x80\x81"); /* 、 kept */
  CHECK("（０９９６８．ＨＫ）", NF_FOLD_WIDTH, "(09968.HK)");
  CHECK("ＡＢＣ　ｘｙｚ：１２３", NF_FOLD_WIDTH, "ABC xyz:123");
  CHECK("中文，ＡＩ芯片！", NF_FOLD_WIDTH, "中文,AI芯片!");
}

static void test_width_and_case(void **state) {
  (void)state;
  CHECK("ＡＩ Chip", NF_FOLD_WIDTH | NF_FOLD_CASE, "ai chip");
  CHECK("ＡＩ Chip", NF_FOLD_CASE, "ＡＩ chip"); /* width not asked */
  CHECK("港Ａ股", NF_FOLD_WIDTH | NF_FOLD_CASE, "港a股");
  /* Non-ASCII letters keep their case, also inside whole 8-byte words
   * whose lead bytes (C3, CE) look like 'C' and 'N' without the high bit. */
  CHECK("ÄÖÜ Σ", NF_FOLD_WIDTH | NF_FOLD_CASE, "ÄÖÜ Σ");
  CHECK("ÄÖÜÀÉÎ ΣΑΒΓ STRASSE 中文ABC", NF_FOLD_WIDTH | NF_FOLD_CASE, "ÄÖÜÀÉÎ ΣΑΒΓ strasse 中文abc");
  CHECK("ÄÖÜÀÉÎ ΣΑΒΓ STRASSE 中文ABC", NF_FOLD_CASE, "ÄÖÜÀÉÎ ΣΑΒΓ strasse 中文abc");
  CHECK("\xC1\xDA\xC1\xDA\xC1\xDA\xC1\xDA", NF_FOLD_CASE, "\xC1\xDA\xC1\xDA\xC1\xDA\xC1\xDA");
}

static void test_invalid_and_truncated(void **state) {
  (void)state;
  unsigned f = NF_FOLD_WIDTH | NF_FOLD_CASE;
  CHECK("\xEF", f, "\xEF");
  CHECK("\xEF\xBC", f, "\xEF\xBC");
  CHECK("\xE3\x80", f, "\xE3\x80");
  CHECK("A\xEF\xBC", f, "a\xEF\xBC");
  CHECK("\xBC\x81\xEF\xBC", f, "\xBC\x81\xEF\xBC");
  CHECK("\xFF\xFE\x80X", f, "\xFF\xFE\x80x");
  CHECK("\xEF\xEF\xBC\x81", f, "\xEF!");
  CHECK("\xE3\xE3\x80\x80", f, "\xE3 ");
  /* NUL bytes are ordinary bytes. */
  check("A\0B\0\xEF\xBC\xA1", 7, f, "a\0b\0a", 5);
}

/* Reference: obviously correct, one byte at a time. */
static size_t ref_fold(const unsigned char *s, size_t len, unsigned char *o, unsigned flags) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    unsigned c = s[i];
    size_t step = 1;
    if ((flags & NF_FOLD_WIDTH) && i + 3 <= len) {
      unsigned cp = 0;
      if ((s[i] & 0xF0) == 0xE0 && (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80)
        cp = ((s[i] & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
      if (cp >= 0xFF01 && cp <= 0xFF5E) {
        c = cp - 0xFF01 + 0x21;
        step = 3;
      } else if (cp == 0x3000) {
        c = ' ';
        step = 3;
      }
    }
    if ((flags & NF_FOLD_CASE) && c >= 'A' && c <= 'Z') c += 32;
    o[n++] = (unsigned char)c;
    i += step;
  }
  return n;
}

static void test_random_vs_reference(void **state) {
  (void)state;
  static const char *pieces[] = {"a",
                                 "Z",
                                 "M",
                                 " ",
                                 "0",
                                 "@",
                                 "[",
                                 "`",
                                 "{",
                                 "\xEF\xBC\x81",
                                 "\xEF\xBD\x9E",
                                 "\xEF\xBC\xA1",
                                 "\xEF\xBD\x81",
                                 "\xE3\x80\x80",
                                 "\xE4\xB8\xAD",
                                 "\xEF",
                                 "\xEF\xBC",
                                 "\xE3\x80",
                                 "\x80",
                                 "\xFF",
                                 "\0",
                                 "Hello World ",
                                 "ABCDEFGHIJ",
                                 "\xEF\xBC\x80",
                                 "\xEF\xBD\x9F"};
  const size_t np = sizeof(pieces) / sizeof(pieces[0]);
  unsigned seed = 12345;
  for (int round = 0; round < 3000; round++) {
    unsigned char text[256];
    size_t len = 0;
    seed = seed * 1103515245u + 12345u;
    size_t want = (seed >> 16) % 120;
    while (len < want) {
      seed = seed * 1103515245u + 12345u;
      const char *p = pieces[(seed >> 16) % np];
      size_t pl = p[0] ? strlen(p) : 1;
      memcpy(text + len, p, pl);
      len += pl;
    }
    for (unsigned flags = 0; flags < 4; flags++) {
      unsigned char ref[256];
      size_t rn = ref_fold(text, len, ref, flags);
      check((const char *)text, len, flags, (const char *)ref, rn);
    }
  }
}

/* Chinese-like text: CJK characters with full-width punctuation and
 * ideographic spaces every few characters, so that most words hold EF or
 * E3 somewhere (the path that copies up to the first of them, folds one
 * character, then returns to whole words), at every length up to 600. */
static void test_cjk_punctuation_vs_reference(void **state) {
  (void)state;
  static const char *pieces[] = {"\xE4\xB8\xAD",
                                 "\xE8\x82\xA1",
                                 "\xEF\xBC\x8C",
                                 "\xE3\x80\x82",
                                 "\xE3\x80\x80",
                                 "\xEF\xBC\xA1",
                                 "\xEF\xBD\x8D",
                                 "\xEF\xBC\x90",
                                 "(600519)",
                                 "A",
                                 "7",
                                 "\xEF",
                                 "\xE3\x80",
                                 "\xEF\xBD\xBF"};
  const size_t np = sizeof(pieces) / sizeof(pieces[0]);
  uint64_t seed = 42;
  for (int round = 0; round < 4000; round++) {
    unsigned char text[640];
    size_t len = 0;
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    size_t want = (size_t)(seed >> 33) % 600;
    while (len < want) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      const char *p = pieces[(seed >> 33) % np];
      memcpy(text + len, p, strlen(p));
      len += strlen(p);
    }
    for (unsigned flags = 0; flags < 4; flags++) {
      unsigned char ref[640];
      size_t rn = ref_fold(text, len, ref, flags);
      check((const char *)text, len, flags, (const char *)ref, rn);
    }
  }
}

/* The tagger width-folds a field once (for symbol extraction) and
 * case-folds that copy in place for matching: the two steps must give
 * exactly what folding with both flags gives. */
static void test_width_then_case_is_both(void **state) {
  (void)state;
  static const char *pieces[] = {
      "\xEF\xBC\xA1", "\xEF\xBD\x81", "\xEF\xBC\x8C", "\xE3\x80\x80", "\xE4\xB8\xAD",
      "\xEF",         "\xE3\x80",     "Ab",           "Z@[`{",        " ",
      "\xFF"};
  const size_t np = sizeof(pieces) / sizeof(pieces[0]);
  uint64_t seed = 7;
  for (int round = 0; round < 3000; round++) {
    char text[400], both[400], two[400];
    size_t len = 0;
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    size_t want = (size_t)(seed >> 33) % 380;
    while (len < want) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      const char *p = pieces[(seed >> 33) % np];
      memcpy(text + len, p, strlen(p));
      len += strlen(p);
    }
    size_t nb = nf_fold(text, len, both, NF_FOLD_WIDTH | NF_FOLD_CASE);
    size_t nt = nf_fold(text, len, two, NF_FOLD_WIDTH);
    nt = nf_fold(two, nt, two, NF_FOLD_CASE);
    assert_int_equal(nb, nt);
    assert_memory_equal(both, two, nb);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_ascii),
      cmocka_unit_test(test_width),
      cmocka_unit_test(test_width_and_case),
      cmocka_unit_test(test_invalid_and_truncated),
      cmocka_unit_test(test_random_vs_reference),
      cmocka_unit_test(test_cjk_punctuation_vs_reference),
      cmocka_unit_test(test_width_then_case_is_both),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
