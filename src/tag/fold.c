/*
 * fold.c -- width and case folding of UTF-8 text before matching.
 *
 * Design
 * ------
 * The folder is a single forward pass over the input bytes.  It runs over
 * the text of every item, so the common case has to be cheap.  Only three
 * kinds of byte can change:
 *   - 'A'..'Z' (with NF_FOLD_CASE);
 *   - the lead bytes EF and E3 of the full-width forms (with
 *     NF_FOLD_WIDTH):
 *        EF BC 81..EF BC BF  -> U+FF01..U+FF3F  -> 0x21..0x5F
 *        EF BD 80..EF BD 9E  -> U+FF40..U+FF5E  -> 0x60..0x7E
 *        E3 80 80            -> U+3000          -> ' '
 * So the text is read eight bytes at a time: a word without EF or E3
 * (tested with the classic "has zero byte" trick) is copied whole, its
 * ASCII capitals lowered by a branch-free SWAR step.  That covers plain
 * ASCII and almost all CJK text.  In a word that holds EF or E3 the bytes
 * up to the first of them go one at a time, then the word loop resumes
 * right after the character that byte starts.
 *
 * Invariants
 * ----------
 *   - Output never grows: each rewrite turns 3 bytes into 1, every other
 *     byte is copied 1:1.  Hence the write cursor never passes the read
 *     cursor and IN == OUT (in-place folding) is safe: every byte is read
 *     (the word loop loads its whole word first) before its slot, or any
 *     later slot, can be written.
 *   - A multi-byte sequence is rewritten only when all three bytes are
 *     inside [0, LEN) and match exactly; a truncated or invalid sequence is
 *     copied byte for byte, so no read ever goes past IN + LEN.
 *   - Case folding touches only 'A'..'Z'.  A full-width letter folded to
 *     ASCII is case-folded too when both flags are set, so "Ａ" and "a"
 *     end up identical.
 */
#include "fold.h"

#include <stdint.h>
#include <string.h>

#define HIGH_BITS UINT64_C(0x8080808080808080)
#define ONES UINT64_C(0x0101010101010101)

/* Lower-cases the ASCII capitals among eight arbitrary bytes.  With the
 * high bits masked off, adding up to 0x3f cannot carry into the next byte:
 * the high bit of (b + 0x3f) says b >= 'A', that of (b + 0x25) says
 * b > 'Z'; bytes that had their high bit set are left out. */
static uint64_t lower8(uint64_t w) {
  uint64_t low = w & ~HIGH_BITS;
  uint64_t ge_a = low + ONES * (0x80 - 'A');
  uint64_t gt_z = low + ONES * (0x80 - 'Z' - 1);
  uint64_t upper = ge_a & ~gt_z & ~w & HIGH_BITS;
  return w | (upper >> 2); /* 0x80 >> 2 == 0x20 == 'a' - 'A' */
}

/* Non-zero when some byte of W equals B. */
static uint64_t has_byte(uint64_t w, unsigned char b) {
  uint64_t x = w ^ (ONES * b);
  return (x - ONES) & ~x & HIGH_BITS;
}

static unsigned char lower1(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Returns the ASCII byte that the 3-byte sequence at P stands for, or 0
 * when it is not a full-width form.  The caller guarantees 3 readable
 * bytes. */
static unsigned char width3(const unsigned char *p) {
  if (p[0] == 0xEF) {
    if (p[1] == 0xBC && p[2] >= 0x81 && p[2] <= 0xBF) return (unsigned char)(p[2] - 0x60);
    if (p[1] == 0xBD && p[2] >= 0x80 && p[2] <= 0x9E) return (unsigned char)(p[2] - 0x20);
  } else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
    return ' ';
  }
  return 0;
}

/* Folds one character at IN[*I] into OUT[*O]; advances both cursors.
 * Inline: it runs for every byte of a window that holds EF or E3, which in
 * Chinese text (its punctuation) is most windows. */
static inline void fold_step(const unsigned char *src, size_t len, size_t *i, unsigned char *dst,
                             size_t *o, int width, int fcase) {
  unsigned char c = src[*i];
  if (c >= 0x80 && width && len - *i >= 3) {
    unsigned char a = width3(src + *i);
    if (a) {
      dst[(*o)++] = fcase ? lower1(a) : a;
      *i += 3;
      return;
    }
  }
  dst[(*o)++] = fcase ? lower1(c) : c;
  (*i)++;
}

size_t nf_fold(const char *in, size_t len, char *out, unsigned flags) {
  const unsigned char *src = (const unsigned char *)in;
  unsigned char *dst = (unsigned char *)out;
  const int width = (flags & NF_FOLD_WIDTH) != 0;
  const int fcase = (flags & NF_FOLD_CASE) != 0;
  size_t i = 0, o = 0;

  while (len - i >= 8) {
    /* Fast path: a word with nothing to rewrite but capitals.  memcpy
     * keeps this free of alignment and aliasing assumptions; it compiles
     * to plain 64-bit moves.  Unchanged bytes in place need no store. */
    uint64_t w;
    memcpy(&w, src + i, 8);
    if (!width || !(has_byte(w, 0xEF) | has_byte(w, 0xE3))) {
      if (fcase) w = lower8(w);
      if (fcase || dst + o != src + i) memcpy(dst + o, &w, 8);
      i += 8;
      o += 8;
      continue;
    }
    /* The window holds EF or E3: copy the bytes before the first of
     * them, fold the character it starts (a step may run up to two bytes
     * past the window, never past LEN), then back to whole words. */
    while (src[i] != 0xEF && src[i] != 0xE3) {
      dst[o++] = fcase ? lower1(src[i]) : src[i];
      i++;
    }
    fold_step(src, len, &i, dst, &o, width, fcase);
  }
  while (i < len) fold_step(src, len, &i, dst, &o, width, fcase);
  return o;
}
