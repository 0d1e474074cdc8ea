/*
 * symbols.c -- stock symbol extraction and normalisation.
 *
 * Output form
 * -----------
 * Every symbol leaves this file as CODE.EXCHANGE in upper case:
 *   600519.SH  000001.SZ  430047.BJ   (A-shares, exchange from code range)
 *   00700.HK                          (Hong Kong, zero-padded to five)
 *   AAPL.US  BRK.B.US                 (US, 1-5 letters + optional class)
 *
 * Extraction
 * ----------
 * News text is full of numbers, and almost none of them are symbols, so the
 * extractor never accepts a bare number: every symbol needs an explicit
 * marker next to it.  The scanner walks the (width-folded, case-preserving)
 * text once, left to right, and only looks closely at three kinds of
 * position:
 *
 *   - the start of a maximal run of ASCII digits, not preceded by a letter,
 *     a digit or '.'.  The run is a symbol when it is followed by an
 *     exchange suffix ("600519.SH", "0700.HK"), when it is exactly wrapped
 *     in parentheses ("(301588)" six digits, "(09988)" five digits = HK),
 *     or when it follows the word 代码 ("股票代码：600519").
 *   - the start of a maximal run of ASCII letters, not preceded by a letter
 *     or digit: an exchange prefix ("SH600519", "SZ.000001", "HK:0700"),
 *     an exchange name ("NASDAQ: AAPL", "NYSE American: XYZ") or a US
 *     suffix form ("AAPL.US", "BRK.B.US").
 *   - a '$' not preceded by a letter or digit: a cashtag ("$AAPL").
 *
 * Because runs are maximal, a code can never be carved out of a longer digit
 * run (phone numbers, amounts), and the scanner skips a whole run after
 * looking at its start, so the pass is linear in the text length: every
 * recogniser reads a bounded number of bytes beyond the run it starts at.
 *
 * Rules that keep false positives out:
 *   - A six-digit code must fall in a known range (60/68/90 SH, 00/30/20
 *     SZ, 43/83/87/92 BJ).  An explicit exchange that disagrees with the
 *     range rejects the candidate outright ("000001.SH" is not a symbol).
 *   - Hong Kong codes need ".HK", a "HK:"/"HK." prefix, or exactly five
 *     digits in parentheses; four-digit parenthesised numbers are years.
 *   - Tickers have to be written in one case ("AAPL" or "aapl", never
 *     "Apple"), and a lower-case ticker is accepted only when its marker is
 *     lower case too ("nasdaq:aapl", "aapl.us"), or after '$'.  This keeps
 *     prose such as "NYSE: the" or "Nasdaq: Apple" out.
 *
 * Every read is guarded by the remaining length; invalid UTF-8 is just a
 * run of bytes that are neither ASCII letters nor digits.
 *
 * Normalisation
 * -------------
 * nf_symbol_normalize accepts one producer-supplied token and requires the
 * whole token to be one recognised form (no surrounding spaces).  It is more
 * lenient than extraction where the producer has already said "this is a
 * symbol": a bare six-digit code is enough, and ticker case is free.
 */
#include "symbols.h"

#include <stdint.h>
#include <string.h>

typedef unsigned char u8;

enum { EX_NONE, EX_SH, EX_SZ, EX_BJ, EX_HK };

/* Longest producer token nf_symbol_normalize will look at. */
#define NORMALIZE_MAX_IN 40

/* "代码" (code) in UTF-8: E4 BB A3 E7 A0 81. */
static const u8 CODE_WORD[6] = {0xE4, 0xBB, 0xA3, 0xE7, 0xA0, 0x81};

/* One unsigned comparison each: these run for every byte of every text. */
static int is_digit(u8 c) {
  return (unsigned)(c - '0') < 10u;
}
static int is_upper(u8 c) {
  return (unsigned)(c - 'A') < 26u;
}
static int is_lower(u8 c) {
  return (unsigned)(c - 'a') < 26u;
}
static int is_alpha(u8 c) {
  return (unsigned)((c | 0x20) - 'a') < 26u;
}
static int is_alnum(u8 c) {
  return is_digit(c) || is_alpha(c);
}
static u8 to_upper(u8 c) {
  return is_lower(c) ? (u8)(c - 32) : c;
}

/* Bytes that can start a form (digits, letters, '$'), for the scanner's
 * skip loop: one lookup instead of three range tests per byte. */
enum { S = 1 };
static const u8 STARTS[256] = {
    [0x20] = 0, 0, 0, 0, S, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* ' ' .. '/', '$' */
    [0x30] = S, S, S, S, S, S, S, S, S, S, 0, 0, 0, 0, 0, 0, /* '0' .. '?' */
    [0x40] = 0, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* '@' .. 'O' */
    [0x50] = S, S, S, S, S, S, S, S, S, S, S, 0, 0, 0, 0, 0, /* 'P' .. '_' */
    [0x60] = 0, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* '`' .. 'o' */
    [0x70] = S, S, S, S, S, S, S, S, S, S, S, 0, 0, 0, 0, 0, /* 'p' .. DEL */
};

/* Bytes from I on that cannot start a form: where the next one that can
 * is, or LEN.  Past a byte with the high bit set, eight bytes at a time
 * while all have it, which is most of Chinese text (a CJK character is
 * three such bytes). */
static size_t skip_non_starts(const u8 *t, size_t i, size_t len) {
  const uint64_t high = UINT64_C(0x8080808080808080);
  while (i < len) {
    if (STARTS[t[i]]) return i;
    if (t[i++] < 0x80) continue;
    uint64_t w;
    while (len - i >= 8 && (memcpy(&w, t + i, 8), (w & high) == high)) i += 8;
  }
  return len;
}

/* Case-insensitive comparison of N bytes against upper-case WORD. */
static int eq_word(const u8 *p, const char *word, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (to_upper(p[k]) != (u8)word[k]) return 0;
  return 1;
}

static size_t span_digits(const u8 *p, size_t n) {
  size_t k = 0;
  while (k < n && is_digit(p[k])) k++;
  return k;
}

static size_t span_alpha(const u8 *p, size_t n) {
  size_t k = 0;
  while (k < n && is_alpha(p[k])) k++;
  return k;
}

/* ---------------------------------------------------------------------- */
/* Exchanges and formatting                                               */
/* ---------------------------------------------------------------------- */

/* Exchange implied by the first two digits of a six-digit A-share code. */
static int ashare_range(const u8 *d) {
  switch ((d[0] - '0') * 10 + (d[1] - '0')) {
  case 60:
  case 68:
  case 90:
    return EX_SH;
  case 0:
  case 30:
  case 20:
    return EX_SZ;
  case 43:
  case 83:
  case 87:
  case 92:
    return EX_BJ;
  default:
    return EX_NONE;
  }
}

/* Two-letter exchange code at P (N bytes readable), any case.  SS is the
 * Yahoo spelling of Shanghai. */
static int exch_code(const u8 *p, size_t n) {
  if (n < 2) return EX_NONE;
  u8 a = to_upper(p[0]), b = to_upper(p[1]);
  if (a == 'S' && (b == 'H' || b == 'S')) return EX_SH;
  if (a == 'S' && b == 'Z') return EX_SZ;
  if (a == 'B' && b == 'J') return EX_BJ;
  if (a == 'H' && b == 'K') return EX_HK;
  return EX_NONE;
}

static void fmt_ashare(const u8 *d, int ex, char out[NF_SYMBOL_MAX]) {
  static const char names[][3] = {"", "SH", "SZ", "BJ"};
  memcpy(out, d, 6);
  out[6] = '.';
  memcpy(out + 7, names[ex], 2);
  out[9] = '\0';
}

/* Six digits at D become a symbol if their range agrees with WANT (or
 * WANT is EX_NONE, meaning "no explicit exchange").  Returns 0 or -1. */
static int make_ashare(const u8 *d, int want, char out[NF_SYMBOL_MAX]) {
  int ex = ashare_range(d);
  if (ex == EX_NONE || (want != EX_NONE && want != ex)) return -1;
  fmt_ashare(d, ex, out);
  return 0;
}

/* 1-5 digits at D, zero-padded to five.  All zeros is not a code. */
static int make_hk(const u8 *d, size_t n, char out[NF_SYMBOL_MAX]) {
  if (n < 1 || n > 5) return -1;
  size_t k = 0;
  while (k < n && d[k] == '0') k++;
  if (k == n) return -1;
  memset(out, '0', 5 - n);
  memcpy(out + 5 - n, d, n);
  memcpy(out + 5, ".HK", 4);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* US tickers                                                             */
/* ---------------------------------------------------------------------- */

typedef struct ticker {
  const u8 *p; /* first letter */
  size_t n;    /* letters, 1..5 */
  u8 cls;      /* class letter, or 0 */
  int lower;   /* written in lower case */
  size_t used; /* bytes consumed, class included */
} ticker;

/* Parses 1-5 letters at P (N bytes readable) plus an optional one-letter
 * class ".B" / "-B" that must not run on into more letters or digits.
 * With STRICT, all letters (class included) must share one case.  Letters
 * running on into a digit ("AAPL5") are not a ticker.  Returns 1 or 0. */
static int parse_ticker(const u8 *p, size_t n, int strict, ticker *tk) {
  size_t k = span_alpha(p, n);
  if (k == 0 || k > 5 || (k < n && is_digit(p[k]))) return 0;
  size_t up = 0;
  for (size_t i = 0; i < k; i++) up += is_upper(p[i]) ? 1u : 0u;
  if (strict && up != 0 && up != k) return 0;
  tk->p = p;
  tk->n = k;
  tk->cls = 0;
  tk->lower = up == 0;
  tk->used = k;
  if (k + 1 < n && (p[k] == '.' || p[k] == '-') && is_alpha(p[k + 1]) &&
      (k + 2 == n || !is_alnum(p[k + 2]))) {
    if (!strict || is_lower(p[k + 1]) == tk->lower) {
      tk->cls = p[k + 1];
      tk->used = k + 2;
    }
  }
  return 1;
}

static void fmt_us(const ticker *tk, char out[NF_SYMBOL_MAX]) {
  size_t o = 0;
  for (size_t i = 0; i < tk->n; i++) out[o++] = (char)to_upper(tk->p[i]);
  if (tk->cls) {
    out[o++] = '.';
    out[o++] = (char)to_upper(tk->cls);
  }
  memcpy(out + o, ".US", 4);
}

/* Exchange name at P: NASDAQ, NYSE, NYSE American, AMEX (any case).  K is
 * the length of the letter run at P (the caller knows it).  Returns the
 * bytes it spans, or 0; *LOWER says it had no capitals. */
static size_t exchange_name(const u8 *p, size_t n, size_t k, int *lower) {
  size_t used = 0;
  if ((k == 6 && eq_word(p, "NASDAQ", 6)) || (k == 4 && eq_word(p, "AMEX", 4))) used = k;
  else if (k == 4 && eq_word(p, "NYSE", 4)) {
    used = 4;
    if (n > 5 && p[4] == ' ' && span_alpha(p + 5, n - 5) == 8 && eq_word(p + 5, "AMERICAN", 8))
      used = 13;
  }
  *lower = 1;
  for (size_t i = 0; i < used; i++)
    if (is_upper(p[i])) *lower = 0;
  return used;
}

/* Skips at most MAXN spaces at P[*I]. */
static void skip_spaces(const u8 *p, size_t n, size_t *i, int maxn) {
  while (maxn-- > 0 && *i < n && p[*i] == ' ') (*i)++;
}

/* ---------------------------------------------------------------------- */
/* Extraction                                                             */
/* ---------------------------------------------------------------------- */

typedef struct scan {
  const u8 *t;
  size_t len;
  nf_symbol *out;
  size_t *n;
  size_t max;
  size_t added;
} scan;

static void emit(scan *s, const char *sym) {
  for (size_t k = 0; k < *s->n; k++)
    if (strcmp(s->out[k].s, sym) == 0) return;
  if (*s->n >= s->max) return;
  memcpy(s->out[*s->n].s, sym, strlen(sym) + 1);
  (*s->n)++;
  s->added++;
}

static int is_boundary(const scan *s, size_t i) {
  return i >= s->len || !is_alnum(s->t[i]);
}

/* True when the digits at I follow "代码", with up to three spaces or
 * colons in between ("股票代码：600519", "代码 600519"). */
static int after_code_word(const scan *s, size_t i) {
  size_t k = i;
  while (k > 0 && i - k < 3 && (s->t[k - 1] == ' ' || s->t[k - 1] == ':')) k--;
  return k >= 6 && memcmp(s->t + k - 6, CODE_WORD, 6) == 0;
}

/* Digit run [I, J) that starts a word.  Returns where scanning resumes. */
static size_t digit_form(scan *s, size_t i, size_t j) {
  const u8 *t = s->t;
  size_t n = j - i;
  char sym[NF_SYMBOL_MAX];
  /* An explicit suffix decides on its own, even when it rejects. */
  if (j + 3 <= s->len && t[j] == '.' && is_alpha(t[j + 1]) && is_alpha(t[j + 2]) &&
      is_boundary(s, j + 3)) {
    int ex = exch_code(t + j + 1, 2);
    if (ex != EX_NONE) {
      int ok = ex == EX_HK ? make_hk(t + i, n, sym) : (n == 6 ? make_ashare(t + i, ex, sym) : -1);
      if (ok == 0) emit(s, sym);
      return j + 3;
    }
  }
  if ((n == 5 || n == 6) && i > 0 && t[i - 1] == '(' && j < s->len && t[j] == ')') {
    int ok = n == 6 ? make_ashare(t + i, EX_NONE, sym) : make_hk(t + i, n, sym);
    if (ok == 0) emit(s, sym);
    return j + 1;
  }
  if (n == 6 && after_code_word(s, i) && make_ashare(t + i, EX_NONE, sym) == 0) emit(s, sym);
  return j;
}

/* "SH600519", "sz:000001", "BJ.430047", optionally followed by a suffix
 * that must agree.  P is just past the two letters.  Returns end or 0. */
static size_t prefixed_ashare(scan *s, size_t p, int ex) {
  char sym[NF_SYMBOL_MAX];
  if (p < s->len && (s->t[p] == ':' || s->t[p] == '.')) p++;
  size_t n = span_digits(s->t + p, s->len - p);
  if (n != 6 || !is_boundary(s, p + n)) return 0;
  size_t end = p + n;
  if (end + 3 <= s->len && s->t[end] == '.' && is_boundary(s, end + 3)) {
    int sx = exch_code(s->t + end + 1, 2);
    if (sx != EX_NONE && sx != ex) return 0;
    if (sx != EX_NONE) end += 3;
  }
  if (make_ashare(s->t + p, ex, sym) != 0) return 0;
  emit(s, sym);
  return end;
}

/* "HK:0700" or "HK.0700"; the separator is required. */
static size_t prefixed_hk(scan *s, size_t p) {
  char sym[NF_SYMBOL_MAX];
  if (p >= s->len || (s->t[p] != ':' && s->t[p] != '.')) return 0;
  p++;
  size_t n = span_digits(s->t + p, s->len - p);
  if (!is_boundary(s, p + n) || make_hk(s->t + p, n, sym) != 0) return 0;
  emit(s, sym);
  return p + n;
}

/* "NASDAQ: AAPL" etc.  P is just past the exchange name. */
static size_t listed_ticker(scan *s, size_t p, int name_lower) {
  char sym[NF_SYMBOL_MAX];
  ticker tk;
  skip_spaces(s->t, s->len, &p, 2);
  if (p >= s->len || s->t[p] != ':') return 0;
  p++;
  skip_spaces(s->t, s->len, &p, 2);
  if (!parse_ticker(s->t + p, s->len - p, 1, &tk)) return 0;
  if ((tk.lower && !name_lower) || !is_boundary(s, p + tk.used)) return 0;
  fmt_us(&tk, sym);
  emit(s, sym);
  return p + tk.used;
}

/* "AAPL.US", "BRK.B.US", "brk-b.us": letter run [I, J). */
static size_t us_suffix(scan *s, size_t i, size_t j) {
  char sym[NF_SYMBOL_MAX];
  ticker tk;
  /* Either the class or ".US" follows the letters at once: most words
   * are not followed by '.' or '-', and need no closer look. */
  if (j >= s->len || (s->t[j] != '.' && s->t[j] != '-')) return 0;
  /* "X.B.US" must not be read from the middle of "Brk.B.US". */
  if (i > 0 && (s->t[i - 1] == '.' || s->t[i - 1] == '-')) return 0;
  if (!parse_ticker(s->t + i, s->len - i, 1, &tk)) return 0;
  size_t p = i + tk.used;
  if (p + 3 > s->len || s->t[p] != '.' || !is_boundary(s, p + 3)) return 0;
  if (memcmp(s->t + p + 1, tk.lower ? "us" : "US", 2) != 0) return 0;
  fmt_us(&tk, sym);
  emit(s, sym);
  return p + 3;
}

/* Letter run [I, J) that starts a word.  Returns the end of a recognised
 * form, or 0. */
static size_t word_form(scan *s, size_t i, size_t j) {
  size_t r = 0;
  int lower;
  if (j - i == 2) {
    int ex = exch_code(s->t + i, 2);
    if (ex == EX_HK) r = prefixed_hk(s, j);
    else if (ex != EX_NONE) r = prefixed_ashare(s, j, ex);
    if (r) return r;
  }
  size_t name = exchange_name(s->t + i, s->len - i, j - i, &lower);
  if (name && (r = listed_ticker(s, i + name, lower)) != 0) return r;
  return us_suffix(s, i, j);
}

/* "$AAPL" with '$' at I. */
static size_t cashtag(scan *s, size_t i) {
  char sym[NF_SYMBOL_MAX];
  ticker tk;
  size_t p = i + 1;
  if (!parse_ticker(s->t + p, s->len - p, 1, &tk)) return 0;
  if (!is_boundary(s, p + tk.used)) return 0;
  fmt_us(&tk, sym);
  emit(s, sym);
  return p + tk.used;
}

size_t nf_symbols_extract(const char *text, size_t len, nf_symbol *out, size_t *n, size_t max) {
  scan s = {(const u8 *)text, len, out, n, max, 0};
  size_t i = 0;
  const u8 *t = s.t;
  while (*n < max) {
    /* Only a digit, a letter or '$' can start a form: skip the rest (all of
     * CJK) without looking further. */
    if ((i = skip_non_starts(t, i, len)) >= len) break;
    int word_start = i == 0 || !is_alnum(t[i - 1]);
    if (is_digit(t[i])) {
      size_t j = i + span_digits(t + i, len - i), next = j;
      if (word_start && (i == 0 || t[i - 1] != '.')) next = digit_form(&s, i, j);
      i = next;
    } else if (is_alpha(t[i])) {
      size_t j = i + span_alpha(t + i, len - i), r = 0;
      if (word_start) r = word_form(&s, i, j);
      i = r > j ? r : j;
    } else if (t[i] == '$' && word_start) {
      size_t r = cashtag(&s, i);
      i = r ? r : i + 1;
    } else {
      i++;
    }
  }
  return s.added;
}

/* ---------------------------------------------------------------------- */
/* Normalisation                                                          */
/* ---------------------------------------------------------------------- */

/* The whole of P[0..N) is a ticker, optionally with ".US". */
static int whole_ticker(const u8 *p, size_t n, char out[NF_SYMBOL_MAX]) {
  ticker tk;
  if (!parse_ticker(p, n, 0, &tk)) return -1;
  size_t rest = n - tk.used;
  if (rest != 0 && !(rest == 3 && p[tk.used] == '.' && eq_word(p + tk.used + 1, "US", 2)))
    return -1;
  fmt_us(&tk, out);
  return 0;
}

/* Forms starting with digits: "600519", "600519.SH", "0700.HK". */
static int normalize_digits(const u8 *p, size_t n, char out[NF_SYMBOL_MAX]) {
  size_t k = span_digits(p, n);
  if (k == n) return k == 6 ? make_ashare(p, EX_NONE, out) : -1;
  if (n != k + 3 || p[k] != '.') return -1;
  int ex = exch_code(p + k + 1, 2);
  if (ex == EX_HK) return make_hk(p, k, out);
  if (ex == EX_NONE || k != 6) return -1;
  return make_ashare(p, ex, out);
}

/* Forms starting with letters: prefixes, exchange names, tickers. */
static int normalize_letters(const u8 *p, size_t n, char out[NF_SYMBOL_MAX]) {
  size_t k = span_alpha(p, n);
  int lower;
  if (k == 2 && k < n) {
    int ex = exch_code(p, 2);
    size_t q = (p[2] == ':' || p[2] == '.') ? 3 : 2;
    size_t d = span_digits(p + q, n - q);
    if (ex != EX_NONE && d > 0 && q + d == n) {
      if (ex == EX_HK) return make_hk(p + q, d, out);
      return d == 6 ? make_ashare(p + q, ex, out) : -1;
    }
  }
  size_t name = exchange_name(p, n, k, &lower);
  if (name && name < n && (p[name] == ':' || p[name] == ' ')) {
    size_t q = name;
    skip_spaces(p, n, &q, 2);
    if (q >= n || p[q] != ':') return -1;
    q++;
    skip_spaces(p, n, &q, 2);
    return whole_ticker(p + q, n - q, out);
  }
  return whole_ticker(p, n, out);
}

int nf_symbol_normalize(const char *in, size_t len, char out[NF_SYMBOL_MAX]) {
  const u8 *p = (const u8 *)in;
  char tmp[NF_SYMBOL_MAX];
  int rc;
  if (p == NULL || len == 0 || len > NORMALIZE_MAX_IN) return -1;
  if (p[0] == '$') rc = whole_ticker(p + 1, len - 1, tmp);
  else if (is_digit(p[0])) rc = normalize_digits(p, len, tmp);
  else if (is_alpha(p[0])) rc = normalize_letters(p, len, tmp);
  else rc = -1;
  /* OUT is written only on success. */
  if (rc == 0) memcpy(out, tmp, NF_SYMBOL_MAX);
  return rc;
}
