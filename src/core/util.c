/*
 * util.c -- small shared pieces of libnewsfeed: errors, byte buffers,
 * clocks, UTF-8 validation.
 *
 * UTF-8 is validated by hand because every input path needs the same
 * strict rule (no overlongs, no surrogates, nothing above U+10FFFF) and
 * neither msgpack-c nor libyaml's callers offer one; jansson validates its
 * own input the same way.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "nf_config.h"

size_t nf__utf8_trim(char *s, size_t len) {
  /* Drop a trailing sequence cut short: find the last lead byte and keep
   * it only if all its continuation bytes are there. */
  size_t i = len, cont = 0;
  while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && cont < 3) i--, cont++;
  if (i == 0) return len;
  unsigned char lead = (unsigned char)s[i - 1];
  size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (lead >= 0x80 && need != cont) len = i - 1;
  s[len] = 0;
  return len;
}

/* Length of the valid UTF-8 sequence at S (of at most N bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  size_t k = s[0] < 0x80                      ? 1
             : (s[0] >= 0xC2 && s[0] <= 0xDF) ? 2
             : (s[0] >= 0xE0 && s[0] <= 0xEF) ? 3
             : (s[0] >= 0xF0 && s[0] <= 0xF4) ? 4
                                              : 0;
  if (!k || k > n || !nf__utf8_valid((const char *)s, k)) return 0;
  return k;
}

void nf__utf8_scrub(char *str) {
  unsigned char *s = (unsigned char *)str;
  size_t n = strlen(str);
  for (size_t i = 0; i < n;) {
    size_t k = utf8_seq(s + i, n - i);
    if (k) i += k;
    else s[i++] = '?';
  }
}

void nf__copy_utf8(char *dst, size_t size, const char *src, size_t len) {
  if (len >= size) len = size - 1;
  memcpy(dst, src, len);
  dst[len] = 0;
  nf__utf8_trim(dst, len);
}

int nf_fail(nf_error *err, const char *field, const char *fmt, ...) {
  if (!err) return -1;
  nf__copy_utf8(err->field, sizeof err->field, field ? field : "", field ? strlen(field) : 0);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof err->msg) nf__utf8_trim(err->msg, sizeof err->msg - 1);
  nf__utf8_scrub(err->msg); /* messages may quote broken input */
  nf__utf8_scrub(err->field);
  return -1;
}

int nf_buf_reserve(nf_buf *b, size_t extra) {
  if (b->cap - b->len >= extra) return 0;
  size_t need = b->len + extra;
  if (need < b->len) return -1;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int nf_buf_append(nf_buf *b, const void *p, size_t n) {
  /* the room check inline: most appends fit */
  if (b->cap - b->len < n && nf_buf_reserve(b, n) < 0) return -1;
  if (n) nf__copy_small(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void nf_buf_free(nf_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

const char *nf_version(void) {
  return NF_VERSION;
}

int64_t nf_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool nf__blank(const char *s) {
  /* ASCII white space, NBSP U+00A0, U+2000..U+200B, U+3000, BOM U+FEFF */
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    else if (p[0] == 0xC2 && p[1] == 0xA0) p += 2;
    else if (p[0] == 0xE2 && p[1] == 0x80 && p[2] >= 0x80 && p[2] <= 0x8B) p += 3;
    else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) p += 3;
    else if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) p += 3;
    else return false;
  }
  return true;
}

/* Runs of ASCII -- most English text, and the spaces and digits between
 * CJK characters -- are checked eight bytes at a time.  A multi-byte
 * sequence is checked by its lead byte and the range of its second byte
 * (which is where overlongs, surrogates and code points above U+10FFFF
 * show), without decoding the code point: this runs over every byte of
 * every text field received. */
bool nf__utf8_valid(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str, *end = s + len;
  while (s < end) {
    unsigned c = *s;
    if (c < 0x80) {
      uint64_t w;
      while (end - s >= 8 && (memcpy(&w, s, 8), !(w & UINT64_C(0x8080808080808080)))) s += 8;
      while (s < end && *s < 0x80) s++;
      continue;
    }
    size_t left = (size_t)(end - s);
    if (c < 0xC2) return false; /* a continuation byte, or C0/C1 (overlong) */
    if (c < 0xE0) {             /* U+0080..U+07FF */
      if (left < 2 || (s[1] & 0xC0) != 0x80) return false;
      s += 2;
    } else if (c < 0xF0) { /* U+0800..U+FFFF: E0 80..9F overlong, ED A0..BF surrogates */
      do {                 /* CJK text is runs of these: stay in the loop while they last */
        if (left < 3 || ((s[1] & 0xC0) ^ 0x80) | ((s[2] & 0xC0) ^ 0x80)) return false;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)) return false;
        s += 3, left -= 3;
      } while (left && (c = *s) >= 0xE0 && c < 0xF0);
    } else { /* U+10000..U+10FFFF: F0 80..8F overlong, F4 90.. too large */
      if (c > 0xF4 || left < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
          (s[3] & 0xC0) != 0x80)
        return false;
      if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)) return false;
      s += 4;
    }
  }
  return true;
}

int nf__grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 64;
  while (ncap < need) ncap *= 2;
  if (ncap > SIZE_MAX / size) return -1;
  void *np = realloc(*p, ncap * size);
  if (!np) return -1;
  *p = np;
  *cap = ncap;
  return 0;
}
