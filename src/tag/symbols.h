/*
 * symbols.h -- stock symbol extraction and normalisation (SPEC section 5).
 *
 * Every symbol is normalised to CODE.EXCHANGE:
 *   A-shares, six digits, exchange by code range:
 *     60xxxx 68xxxx 90xxxx -> .SH; 00xxxx 30xxxx 20xxxx -> .SZ;
 *     43xxxx 83xxxx 87xxxx 92xxxx -> .BJ
 *   Hong Kong: up to five digits, zero-padded to five, -> .HK (0700 -> 00700.HK)
 *   US: 1-5 letters, optional class suffix (.A/.B or -A/-B, kept as ".B"),
 *       -> .US (BRK.B -> BRK.B.US)
 *
 * Extraction works on width-folded text (NF_FOLD_WIDTH, case preserved) and
 * only accepts explicit forms, never a bare number, so that years, prices,
 * dates and phone numbers (2025年, 18.48元, 7月4日, 13800138000) never
 * become symbols.
 */
#ifndef NF_TAG_SYMBOLS_H
#define NF_TAG_SYMBOLS_H

#include <stddef.h>

#define NF_SYMBOL_MAX 24 /* longest normalised symbol + NUL */

typedef struct nf_symbol {
  char s[NF_SYMBOL_MAX];
} nf_symbol;

/* Scans TEXT for symbols; appends each one not already among OUT[0..*N)
 * while *N < MAX.  Returns the number added. */
size_t nf_symbols_extract(const char *text, size_t len, nf_symbol *out, size_t *n, size_t max);

/* Normalises one producer-supplied symbol such as "600519", "sh600519",
 * "600519.SH", "0700.HK", "HK:0700", "AAPL", "$AAPL", "NASDAQ:AAPL",
 * "AAPL.US".  Writes the normalised form to OUT; returns 0, or -1 when IN
 * is not a recognisable symbol. */
int nf_symbol_normalize(const char *in, size_t len, char out[NF_SYMBOL_MAX]);

#endif
