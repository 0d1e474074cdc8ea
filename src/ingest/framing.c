/*
 * framing.c -- see framing.h for the contract.
 */
#include <string.h>

#include "ingest/framing.h"

void nf_framer_init(nf_framer *f, size_t max) {
  memset(f, 0, sizeof *f);
  f->max = max;
}

void nf_framer_free(nf_framer *f) {
  nf_buf_free(&f->acc);
}

size_t nf_framer_buffered(const nf_framer *f) {
  return f->acc.len + f->hdr_len;
}

static bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int emit_line(nf_framer *f, const char *p, size_t n, nf_frame_cb cb, void *ctx) {
  while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  size_t i = 0;
  while (i < n && is_ws(p[i])) i++;
  if (i == n) return 0; /* blank lines are keep-alives, not items */
  (void)f;
  return cb(ctx, NF_FRAME_OK, p + i, n - i);
}

static int feed_json(nf_framer *f, const char *p, size_t n, nf_frame_cb cb, void *ctx) {
  while (n) {
    const char *nl = memchr(p, '\n', n);
    size_t chunk = nl ? (size_t)(nl - p) : n;
    int rc = 0;
    if (f->discarding) {
      f->skipped += chunk;
      if (nl) {
        f->discarding = false;
        rc = cb(ctx, NF_FRAME_TOO_LONG, NULL, (size_t)f->skipped);
      }
    } else if (f->acc.len + chunk > f->max) {
      f->skipped = f->acc.len + chunk;
      f->acc.len = 0;
      if (nl) rc = cb(ctx, NF_FRAME_TOO_LONG, NULL, (size_t)f->skipped);
      else f->discarding = true;
    } else if (nl && f->acc.len == 0) {
      rc = emit_line(f, p, chunk, cb, ctx); /* whole line in place */
    } else {
      if (nf_buf_append(&f->acc, p, chunk) < 0) return -1;
      if (nl) {
        rc = emit_line(f, f->acc.data, f->acc.len, cb, ctx);
        f->acc.len = 0;
      }
    }
    if (rc) return 1;
    if (!nl) break;
    p += chunk + 1;
    n -= chunk + 1;
  }
  return 0;
}

static int feed_msgpack(nf_framer *f, const char *p, size_t n, nf_frame_cb cb, void *ctx) {
  while (n) {
    if (!f->in_body) {
      while (n && f->hdr_len < 4) f->hdr[f->hdr_len++] = (uint8_t)*p++, n--;
      if (f->hdr_len < 4) break;
      f->need = (uint32_t)f->hdr[0] << 24 | (uint32_t)f->hdr[1] << 16 | (uint32_t)f->hdr[2] << 8 |
                f->hdr[3];
      f->hdr_len = 0;
      f->in_body = true;
      f->discarding = f->need > f->max;
      f->skipped = 0;
      if (f->need == 0) { /* an empty frame is an (invalid) empty item */
        f->in_body = false;
        if (cb(ctx, NF_FRAME_OK, p, 0)) return 1;
        continue;
      }
    }
    size_t have = f->discarding ? (size_t)f->skipped : f->acc.len;
    size_t take = f->need - have < n ? f->need - have : n;
    int rc = 0;
    if (f->discarding) {
      f->skipped += take;
      if (f->skipped == f->need) {
        f->in_body = f->discarding = false;
        rc = cb(ctx, NF_FRAME_TOO_LONG, NULL, f->need);
      }
    } else if (have == 0 && take == f->need) {
      f->in_body = false;
      rc = cb(ctx, NF_FRAME_OK, p, take); /* whole frame in place */
    } else {
      if (nf_buf_append(&f->acc, p, take) < 0) return -1;
      if (f->acc.len == f->need) {
        f->in_body = false;
        rc = cb(ctx, NF_FRAME_OK, f->acc.data, f->acc.len);
        f->acc.len = 0;
      }
    }
    p += take;
    n -= take;
    if (rc) return 1;
  }
  return 0;
}

int nf_framer_feed(nf_framer *f, const char *p, size_t n, nf_frame_cb cb, void *ctx) {
  if (f->mode == NF_FM_UNKNOWN && n) {
    unsigned char c = (unsigned char)p[0];
    if (c == '{' || is_ws((char)c)) f->mode = NF_FM_JSON;
    else if (c < 0x20) f->mode = NF_FM_MSGPACK;
    else f->mode = NF_FM_BAD;
  }
  switch (f->mode) {
  case NF_FM_JSON:
    return feed_json(f, p, n, cb, ctx);
  case NF_FM_MSGPACK:
    return feed_msgpack(f, p, n, cb, ctx);
  case NF_FM_BAD:
    return -1;
  case NF_FM_UNKNOWN:
    return 0;
  }
  return -1;
}
