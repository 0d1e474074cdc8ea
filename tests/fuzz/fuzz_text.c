/*
 * fuzz-text: the text primitives the tagger runs over every item's fields
 * (src/tag/fold.h, src/tag/symbols.h), checked against their contracts:
 *   - nf_fold, for each combination of NF_FOLD_WIDTH and NF_FOLD_CASE, into
 *     a separate buffer and in place, equals a plain byte-by-byte reference
 *     (the SWAR fast path must not change a result) and never grows;
 *   - nf_symbols_extract on the width-folded text (as tagger.c calls it)
 *     yields at most MAX distinct symbols, each NUL-terminated and already
 *     normalised: nf_symbol_normalize(s) == s (rules.c relies on that);
 *   - nf_symbol_normalize on the input's first bytes and on each word of it
 *     gives a NUL-terminated symbol that normalises to itself.
 */
#include "fuzz_common.h"
#include "tag/fold.h"
#include "tag/symbols.h"

static unsigned char width3(const unsigned char *p) {
  if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x81 && p[2] <= 0xBF) return p[2] - 0x60;
  if (p[0] == 0xEF && p[1] == 0xBD && p[2] >= 0x80 && p[2] <= 0x9E) return p[2] - 0x20;
  if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) return ' ';
  return 0;
}

static size_t fold_ref(const unsigned char *in, size_t len, unsigned char *out, unsigned flags) {
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    unsigned char c = in[i], a = 0;
    if ((flags & NF_FOLD_WIDTH) && len - i >= 3) a = width3(in + i);
    if (a) i += 3;
    else a = c, i++;
    if ((flags & NF_FOLD_CASE) && a >= 'A' && a <= 'Z') a += 'a' - 'A';
    out[o++] = a;
  }
  return o;
}

static void check_symbol(const char *s, const char *what) {
  size_t len = strnlen(s, NF_SYMBOL_MAX);
  FZ_CHECK(len > 0 && len < NF_SYMBOL_MAX, "%s: symbol not NUL-terminated or empty", what);
  char again[NF_SYMBOL_MAX];
  FZ_CHECK(nf_symbol_normalize(s, len, again) == 0 && !strcmp(again, s),
           "%s: symbol '%s' does not normalise to itself", what, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char *ref = malloc(size + 1), *out = malloc(size + 1), *inplace = malloc(size + 1);
  FZ_CHECK(ref && out && inplace, "out of memory");
  for (unsigned flags = 0; flags < 4; flags++) {
    size_t rn = fold_ref(data, size, ref, flags);
    size_t n = nf_fold((const char *)data, size, (char *)out, flags);
    FZ_CHECK(n == rn && !memcmp(out, ref, n), "nf_fold(flags %u) differs from the reference",
             flags);
    memcpy(inplace, data, size);
    n = nf_fold((const char *)inplace, size, (char *)inplace, flags);
    FZ_CHECK(n == rn && !memcmp(inplace, ref, n), "in-place nf_fold(flags %u) differs", flags);
  }

  /* symbols in the width-folded text, as the tagger extracts them */
  size_t fl = nf_fold((const char *)data, size, (char *)out, NF_FOLD_WIDTH);
  nf_symbol syms[8];
  size_t ns = 0;
  size_t added = nf_symbols_extract((const char *)out, fl, syms, &ns, 8);
  FZ_CHECK(added == ns && ns <= 8, "nf_symbols_extract: %zu added, %zu held", added, ns);
  for (size_t i = 0; i < ns; i++) {
    check_symbol(syms[i].s, "extracted");
    for (size_t j = 0; j < i; j++)
      FZ_CHECK(strcmp(syms[i].s, syms[j].s) != 0, "symbol %s extracted twice", syms[i].s);
  }

  /* producer-supplied symbols: the first bytes, and every space-separated word */
  char norm[NF_SYMBOL_MAX];
  if (nf_symbol_normalize((const char *)data, size < 64 ? size : 64, norm) == 0)
    check_symbol(norm, "normalised input");
  for (size_t i = 0; i < size;) {
    size_t j = i;
    while (j < size && data[j] != ' ') j++;
    if (j > i && nf_symbol_normalize((const char *)data + i, j - i, norm) == 0)
      check_symbol(norm, "normalised word");
    i = j + 1;
  }
  free(ref);
  free(out);
  free(inplace);
  return 0;
}
