/*
 * test_symbols.c -- unit tests for src/tag/symbols.c.
 *
 * Texts are width-folded with nf_fold (as the tagger does) into an
 * exactly-sized heap buffer before extraction, so AddressSanitizer and
 * valgrind catch any read past the end.  Build with fold.c linked in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fold.h"
#include "symbols.h"

#define MAXSYM 16

/* Extracts from TEXT (LEN bytes, folded first) into OUT; returns count. */
static size_t extract_n(const char *text, size_t len, nf_symbol *out, size_t max) {
  char *buf = malloc(len ? len : 1);
  assert_non_null(buf);
  memcpy(buf, text, len);
  size_t flen = nf_fold(buf, len, buf, NF_FOLD_WIDTH);
  char *exact = malloc(flen ? flen : 1);
  assert_non_null(exact);
  memcpy(exact, buf, flen);
  free(buf);
  size_t n = 0;
  size_t added = nf_symbols_extract(exact, flen, out, &n, max);
  assert_int_equal(added, n);
  free(exact);
  return n;
}

/* Checks that TEXT yields exactly the NULL-terminated list WANT. */
static void expect(const char *text, const char *const *want) {
  nf_symbol out[MAXSYM];
  size_t n = extract_n(text, strlen(text), out, MAXSYM);
  size_t w = 0;
  while (want[w]) w++;
  if (n != w) {
    for (size_t k = 0; k < n; k++) print_error("got %s\n", out[k].s);
    fail_msg("\"%s\": got %zu symbols, want %zu", text, n, w);
  }
  for (size_t k = 0; k < n; k++) {
    if (strcmp(out[k].s, want[k]) != 0)
      fail_msg("\"%s\": symbol %zu is %s, want %s", text, k, out[k].s, want[k]);
  }
}

#define EXPECT(text, ...) expect(text, (const char *const[]){__VA_ARGS__, NULL})
#define NONE(text) expect(text, (const char *const[]){NULL})

static void test_ashare_suffix_all_ranges(void **state) {
  (void)state;
  EXPECT("贵州茅台600519.SH涨", "600519.SH");
  EXPECT("688981.SH", "688981.SH");
  EXPECT("900901.SH", "900901.SH");
  EXPECT("600519.SS", "600519.SH");
  EXPECT("600519.sh", "600519.SH");
  EXPECT("000001.SZ", "000001.SZ");
  EXPECT("300750.SZ", "300750.SZ");
  EXPECT("200002.SZ", "200002.SZ");
  EXPECT("430047.BJ", "430047.BJ");
  EXPECT("830799.BJ", "830799.BJ");
  EXPECT("870204.BJ", "870204.BJ");
  EXPECT("920001.bj", "920001.BJ");
  EXPECT("(600519.SH)", "600519.SH");
  EXPECT("股票 600519.SH, 000001.SZ", "600519.SH", "000001.SZ");
}

static void test_ashare_prefix(void **state) {
  (void)state;
  EXPECT("SH600519", "600519.SH");
  EXPECT("sz000001", "000001.SZ");
  EXPECT("BJ430047", "430047.BJ");
  EXPECT("SH:600519", "600519.SH");
  EXPECT("SZ.000001", "000001.SZ");
  EXPECT("Sh688981 和 sz300750", "688981.SH", "300750.SZ");
  EXPECT("(SH600519)", "600519.SH");
  EXPECT("SH600519.SH", "600519.SH");
  EXPECT("买入SH600519。", "600519.SH");
}

static void test_ashare_paren_and_code_word(void **state) {
  (void)state;
  EXPECT("美新科技(301588)今日上市", "301588.SZ");
  EXPECT("(600519)", "600519.SH");
  EXPECT("美新科技（301588）", "301588.SZ"); /* full-width parens */
  EXPECT("股票代码：600519", "600519.SH");   /* full-width colon */
  EXPECT("代码600519", "600519.SH");
  EXPECT("代码 000001 今日", "000001.SZ");
  EXPECT("股票代码:430047", "430047.BJ");
  EXPECT("代码：600519.SH", "600519.SH");
}

static void test_ashare_bad_range(void **state) {
  (void)state;
  NONE("123456.SH");
  NONE("100000.SZ");
  NONE("SH123456");
  NONE("(123456)");
  NONE("代码123456");
  NONE("(500001)");
  NONE("710001.SH");
}

static void test_ashare_contradictory_suffix(void **state) {
  (void)state;
  NONE("600519.SZ");
  NONE("000001.SH");
  NONE("430047.SH");
  NONE("300750.BJ");
  NONE("SH000001");
  NONE("SZ600519");
  NONE("BJ600519");
  NONE("(600519.SZ)");
  NONE("代码：600519.SZ");
  NONE("SH600519.SZ");
}

static void test_hk(void **state) {
  (void)state;
  EXPECT("09968.HK", "09968.HK");
  EXPECT("9968.HK", "09968.HK");
  EXPECT("700.HK", "00700.HK");
  EXPECT("腾讯控股(0700.HK)", "00700.HK");
  EXPECT("5.hk", "00005.HK");
  EXPECT("HK:0700", "00700.HK");
  EXPECT("HK.0700", "00700.HK");
  EXPECT("hk:9988", "09988.HK");
  EXPECT("阿里巴巴(09988)", "09988.HK");
  EXPECT("（０９９６８．ＨＫ）", "09968.HK");
  EXPECT("（０９９８８）", "09988.HK");
  NONE("HK0700");
  NONE("(0700)");
  NONE("(2025)");
  NONE("0.HK");
  NONE("00000.HK");
  NONE("123456.HK");
  NONE("600519.HK");
  NONE("HK:123456");
  NONE("HK:");
  NONE("(099888)");
}

static void test_us(void **state) {
  (void)state;
  EXPECT("$AAPL", "AAPL.US");
  EXPECT("买入$aapl!", "AAPL.US");
  EXPECT("$BRK.B", "BRK.B.US");
  EXPECT("$BRK-B", "BRK.B.US");
  EXPECT("$AAPL's results", "AAPL.US");
  EXPECT("NASDAQ: AAPL", "AAPL.US");
  EXPECT("NASDAQ:AAPL", "AAPL.US");
  EXPECT("Nasdaq: AAPL", "AAPL.US");
  EXPECT("nasdaq:aapl", "AAPL.US");
  EXPECT("NYSE: BA", "BA.US");
  EXPECT("NYSE: BA.", "BA.US");
  EXPECT("NYSE American: XYZ", "XYZ.US");
  EXPECT("AMEX: XYZ", "XYZ.US");
  EXPECT("Nvidia (NASDAQ:NVDA) rose", "NVDA.US");
  EXPECT("（ＮＡＳＤＡＱ：ＮＶＤＡ）", "NVDA.US");
  EXPECT("AAPL.US", "AAPL.US");
  EXPECT("苹果(AAPL.US)", "AAPL.US");
  EXPECT("BRK.B.US", "BRK.B.US");
  EXPECT("BRK-B.US", "BRK.B.US");
  EXPECT("brk.b.us", "BRK.B.US");
  EXPECT("NYSE: BRK.B", "BRK.B.US");
}

static void test_us_non_forms(void **state) {
  (void)state;
  NONE("$5");
  NONE("$18.48");
  NONE("$5 billion");
  NONE("a$AAPL");
  NONE("1$AAPL");
  NONE("$AAPL5");
  NONE("$ABCDEF");
  NONE("$Apple");
  NONE("Nasdaq: Apple");
  NONE("NYSE: the");
  NONE("NASDAQ: aapl");
  NONE("NASDAQ AAPL");
  NONE("Aapl.US");
  NONE("aapl.US");
  NONE("AAPL.USA");
  NONE("the U.S. economy");
  NONE("XAAPL.US1");
  NONE("ABCDEF.US");
  NONE("Brk.B.US");
}

static void test_never_symbols(void **state) {
  (void)state;
  NONE("2025年7月4日");
  NONE("(2025)");
  NONE("18.48元");
  NONE("$18.48");
  NONE("7月4日");
  NONE("2025-07-04");
  NONE("14:30");
  NONE("13800138000");
  NONE("010-12345678");
  NONE("123456手");
  NONE("上涨12.5%");
  NONE("成交123456元");
  NONE("600519");
  NONE("成交600519股");
  NONE("1600519.SH"); /* embedded in a longer run */
  NONE("6005190.SH");
  NONE("(6005190)");
  NONE("SH6005191");
  NONE("x600519.SH");  /* glued to a letter */
  NONE("3.600519.SH"); /* tail of a decimal */
  NONE("600519.SHA");
  NONE("代码为6005199");
  NONE("");
}

static void test_dedup_order_and_max(void **state) {
  (void)state;
  EXPECT("贵州茅台(600519)，600519.SH，SH600519；平安银行000001.SZ；$AAPL", "600519.SH",
         "000001.SZ", "AAPL.US");
  EXPECT("$AAPL 600519.SH AAPL.US sh600519", "AAPL.US", "600519.SH");

  nf_symbol out[8];
  const char *text = "600519.SH 000001.SZ 430047.BJ 00700.HK $AAPL";
  size_t n = extract_n(text, strlen(text), out, 3);
  assert_int_equal(n, 3);
  assert_string_equal(out[2].s, "430047.BJ");

  /* Symbols already in OUT are not added again; MAX bounds the total. */
  size_t have = 2;
  strcpy(out[0].s, "00700.HK");
  strcpy(out[1].s, "AAPL.US");
  size_t added = nf_symbols_extract(text, strlen(text), out, &have, 4);
  assert_int_equal(added, 2);
  assert_int_equal(have, 4);
  assert_string_equal(out[2].s, "600519.SH");
  assert_string_equal(out[3].s, "000001.SZ");

  have = 4;
  assert_int_equal(nf_symbols_extract(text, strlen(text), out, &have, 4), 0);
  assert_int_equal(nf_symbols_extract(text, strlen(text), out, &have, 0), 0);
}

/* Every prefix of a symbol-rich text, in an exact-size buffer: no symbol
 * from a cut-off form, and no read past the end (checked by ASan). */
static void test_truncations(void **state) {
  (void)state;
  const char *text = "代码：600519 (301588) 09968.HK HK:0700 SZ.000001 $BRK.B "
                     "NYSE American: XYZ BRK.B.US 600519.SS \xE4\xBB\xA3\xE7\xA0";
  size_t len = strlen(text);
  for (size_t cut = 0; cut <= len; cut++) {
    char *buf = malloc(cut ? cut : 1);
    assert_non_null(buf);
    memcpy(buf, text, cut);
    nf_symbol out[MAXSYM];
    size_t n = 0;
    nf_symbols_extract(buf, cut, out, &n, MAXSYM);
    for (size_t k = 0; k < n; k++) {
      char norm[NF_SYMBOL_MAX];
      assert_int_equal(nf_symbol_normalize(out[k].s, strlen(out[k].s), norm), 0);
      assert_string_equal(norm, out[k].s);
    }
    free(buf);
  }
  EXPECT("\xE4\xBB"
         "600519",
         NULL); /* truncated 代码 */
  EXPECT("\xFF(600519)\xE4", "600519.SH");
  NONE("600519.");
  NONE("600519.S");
  NONE("$");
  NONE("NYSE");
  NONE("NYSE ");
  NONE("NASDAQ:");
  NONE("代码");
  NONE("(");
  NONE("(60051");
}

/* Random byte soup built from symbol fragments: must not crash, and every
 * symbol found must be in normal form. */
static void test_random_soup(void **state) {
  (void)state;
  static const char *pieces[] = {"6",    "0",    "5",      "1",    "9",    "(",      ")",    ".",
                                 ":",    "$",    "-",      " ",    "SH",   "sz",     "HK",   "BJ",
                                 "US",   "us",   "A",      "b",    "NYSE", "NASDAQ", "代码", "\xE4",
                                 "\xBB", "\xFF", "600519", "0700", "\0"};
  const size_t np = sizeof(pieces) / sizeof(pieces[0]);
  unsigned seed = 42;
  for (int round = 0; round < 5000; round++) {
    char text[200];
    size_t len = 0;
    seed = seed * 1103515245u + 12345u;
    size_t want = (seed >> 16) % 150;
    while (len < want) {
      seed = seed * 1103515245u + 12345u;
      const char *p = pieces[(seed >> 16) % np];
      size_t pl = p[0] ? strlen(p) : 1;
      memcpy(text + len, p, pl);
      len += pl;
    }
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, text, len);
    nf_symbol out[4];
    size_t n = 0;
    nf_symbols_extract(buf, len, out, &n, 4);
    assert_true(n <= 4);
    for (size_t k = 0; k < n; k++) {
      char norm[NF_SYMBOL_MAX];
      assert_int_equal(nf_symbol_normalize(out[k].s, strlen(out[k].s), norm), 0);
      assert_string_equal(norm, out[k].s);
      for (size_t j = 0; j < k; j++) assert_string_not_equal(out[j].s, out[k].s);
    }
    free(buf);
  }
}

static void norm_ok(const char *in, const char *want) {
  char out[NF_SYMBOL_MAX];
  size_t len = strlen(in);
  char *buf = malloc(len ? len : 1);
  assert_non_null(buf);
  memcpy(buf, in, len);
  int rc = nf_symbol_normalize(buf, len, out);
  free(buf);
  if (rc != 0) fail_msg("normalize(\"%s\") failed, want %s", in, want);
  assert_string_equal(out, want);
}

static void norm_bad(const char *in) {
  char out[NF_SYMBOL_MAX] = "untouched";
  size_t len = strlen(in);
  char *buf = malloc(len ? len : 1);
  assert_non_null(buf);
  memcpy(buf, in, len);
  int rc = nf_symbol_normalize(buf, len, out);
  free(buf);
  if (rc != -1) fail_msg("normalize(\"%s\") gave %s", in, out);
  assert_string_equal(out, "untouched");
}

static void test_normalize_accepts(void **state) {
  (void)state;
  norm_ok("600519", "600519.SH");
  norm_ok("688981", "688981.SH");
  norm_ok("900901", "900901.SH");
  norm_ok("000001", "000001.SZ");
  norm_ok("300750", "300750.SZ");
  norm_ok("200002", "200002.SZ");
  norm_ok("430047", "430047.BJ");
  norm_ok("830799", "830799.BJ");
  norm_ok("870204", "870204.BJ");
  norm_ok("920001", "920001.BJ");
  norm_ok("sh600519", "600519.SH");
  norm_ok("SZ000001", "000001.SZ");
  norm_ok("bj430047", "430047.BJ");
  norm_ok("SH:600519", "600519.SH");
  norm_ok("sz.000001", "000001.SZ");
  norm_ok("600519.SH", "600519.SH");
  norm_ok("600519.SS", "600519.SH");
  norm_ok("600519.ss", "600519.SH");
  norm_ok("000001.SZ", "000001.SZ");
  norm_ok("430047.BJ", "430047.BJ");
  norm_ok("0700.HK", "00700.HK");
  norm_ok("700.hk", "00700.HK");
  norm_ok("09968.HK", "09968.HK");
  norm_ok("5.HK", "00005.HK");
  norm_ok("HK:0700", "00700.HK");
  norm_ok("hk0700", "00700.HK");
  norm_ok("HK.9988", "09988.HK");
  norm_ok("AAPL", "AAPL.US");
  norm_ok("aapl", "AAPL.US");
  norm_ok("A", "A.US");
  norm_ok("GOOGL", "GOOGL.US");
  norm_ok("$AAPL", "AAPL.US");
  norm_ok("$brk.b", "BRK.B.US");
  norm_ok("NASDAQ:AAPL", "AAPL.US");
  norm_ok("NASDAQ: AAPL", "AAPL.US");
  norm_ok("nyse:ba", "BA.US");
  norm_ok("NYSE American:XYZ", "XYZ.US");
  norm_ok("AMEX:XYZ", "XYZ.US");
  norm_ok("AAPL.US", "AAPL.US");
  norm_ok("aapl.us", "AAPL.US");
  norm_ok("BRK.B", "BRK.B.US");
  norm_ok("BRK-B", "BRK.B.US");
  norm_ok("BRK.B.US", "BRK.B.US");
  norm_ok("brk-b.us", "BRK.B.US");
}

/* The scanner skips bytes with the high bit set eight at a time: a form
 * right after such a run, at every offset and run length, and a run
 * ending exactly at the end of the text. */
static void test_forms_after_cjk_runs_at_every_offset(void **state) {
  (void)state;
  static const char *const forms[] = {"(600519)", "$AAPL", "NASDAQ: MSFT", "0700.HK", "brk-b.us"};
  static const char *const want[] = {"600519.SH", "AAPL.US", "MSFT.US", "00700.HK", "BRK.B.US"};
  for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
    for (size_t lead = 0; lead < 12; lead++) {
      for (size_t cjk = 0; cjk < 12; cjk++) {
        char text[128];
        size_t o = 0;
        for (size_t k = 0; k < lead; k++) text[o++] = ' ';
        for (size_t k = 0; k < cjk; k++) memcpy(text + o, "\xE8\x82\xA1", 3), o += 3; /* 股 */
        o += (size_t)sprintf(text + o, "%s", forms[f]);
        for (size_t k = 0; k < cjk; k++) memcpy(text + o, "\xE8\x82\xA1", 3), o += 3;
        text[o] = 0;
        expect(text, (const char *const[]){want[f], NULL});
      }
    }
  }
  NONE("\xE8\x82\xA1\xE8\x82\xA1\xE8\x82\xA1");
  NONE("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF");
}

/* Only a word followed by '.' or '-' can be a suffixed ticker; the check
 * for that must not lose one at the end of the text or the exchange
 * names (known letter run). */
static void test_suffix_and_exchange_edges(void **state) {
  (void)state;
  EXPECT("aapl.us", "AAPL.US");
  EXPECT("x AAPL.US", "AAPL.US");
  EXPECT("BRK-B.US.", "BRK.B.US");
  EXPECT("NYSE American: XYZ.", "XYZ.US");
  EXPECT("nasdaq:aapl-", "AAPL.US");
  EXPECT("AMEX: SPY and NYSE:IBM", "SPY.US", "IBM.US");
  NONE("AAPL.");
  NONE("AAPL-");
  NONE("AAPL.U");
  NONE("the said. Nasdaq: Apple");
  NONE("NYSEX: AAPL");
  NONE("NASDAQS: AAPL");
}

static void test_normalize_rejects(void **state) {
  (void)state;
  norm_bad("");
  norm_bad(" ");
  norm_bad(" AAPL");
  norm_bad("AAPL ");
  norm_bad("600519 ");
  norm_bad("123456");
  norm_bad("100000");
  norm_bad("6005190");
  norm_bad("60051");
  norm_bad("00700");
  norm_bad("000001.SH");
  norm_bad("600519.SZ");
  norm_bad("600519.HK");
  norm_bad("600519.XX");
  norm_bad("600519.");
  norm_bad("sh000001");
  norm_bad("sh60051");
  norm_bad("sh6005190");
  norm_bad("000000.HK");
  norm_bad("123456.HK");
  norm_bad("HK:");
  norm_bad("HK:123456");
  norm_bad("ABCDEF");
  norm_bad("AAPL5");
  norm_bad("AAPL.UK");
  norm_bad("$");
  norm_bad("$5");
  norm_bad("$18.48");
  norm_bad("NASDAQ:");
  norm_bad("NASDAQ:ABCDEF");
  norm_bad("NASDAQ AAPL");
  norm_bad("BRK.BB");
  norm_bad("代码600519");
  norm_bad("\xEF\xBC\x81");
  norm_bad("AAPL.US.US");
  norm_bad("THIS.IS.A.VERY.LONG.TOKEN.THAT.IS.TOO.LONG");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ashare_suffix_all_ranges),
      cmocka_unit_test(test_ashare_prefix),
      cmocka_unit_test(test_ashare_paren_and_code_word),
      cmocka_unit_test(test_ashare_bad_range),
      cmocka_unit_test(test_ashare_contradictory_suffix),
      cmocka_unit_test(test_hk),
      cmocka_unit_test(test_us),
      cmocka_unit_test(test_us_non_forms),
      cmocka_unit_test(test_never_symbols),
      cmocka_unit_test(test_dedup_order_and_max),
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_random_soup),
      cmocka_unit_test(test_forms_after_cjk_runs_at_every_offset),
      cmocka_unit_test(test_suffix_and_exchange_edges),
      cmocka_unit_test(test_normalize_accepts),
      cmocka_unit_test(test_normalize_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
