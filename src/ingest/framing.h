/*
 * framing.h -- splits an ingest byte stream into items (SPEC section 7).
 *
 * The first byte of a connection picks its framing for good: '{' (or
 * leading whitespace) means JSON Lines, a byte below 0x20 other than
 * whitespace means msgpack frames (a 4-byte big-endian length first; any
 * frame under 16 MiB starts with 0x00).  Anything else is refused.
 *
 * The framer is a pure state machine -- bytes in, frames out -- with no
 * I/O, so it can be fuzzed with arbitrary splits.  It never allocates more
 * than MAX + a read's worth: an over-long line is discarded as it streams
 * in, and a frame whose declared length is over MAX is skipped byte by
 * byte as those bytes arrive, never allocated.  A frame that arrives whole
 * in one read is handed out in place, without copying.
 */
#ifndef NF_INGEST_FRAMING_H
#define NF_INGEST_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <newsfeed/newsfeed.h>

typedef enum nf_fmode { NF_FM_UNKNOWN, NF_FM_JSON, NF_FM_MSGPACK, NF_FM_BAD } nf_fmode;

typedef enum nf_fevent {
  NF_FRAME_OK,       /* P, N: one complete line (without "\n") or frame body */
  NF_FRAME_TOO_LONG, /* an item over MAX was discarded; N = its size so far */
} nf_fevent;

typedef struct nf_framer {
  nf_fmode mode;
  size_t max;
  nf_buf acc;     /* partial line or frame */
  uint8_t hdr[4]; /* partial msgpack length */
  unsigned hdr_len;
  uint32_t need; /* msgpack: body bytes of the current frame */
  bool in_body;
  bool discarding; /* skipping an over-long line or frame */
  uint64_t skipped;
} nf_framer;

/* Returns non-zero to stop feeding (e.g. the connection is closing). */
typedef int (*nf_frame_cb)(void *ctx, nf_fevent ev, const char *p, size_t n);

void nf_framer_init(nf_framer *f, size_t max);
void nf_framer_free(nf_framer *f);
/* Feeds N bytes.  Returns 0; -1 if the framing is unknown (first byte) or
 * out of memory; 1 if CB asked to stop. */
int nf_framer_feed(nf_framer *f, const char *p, size_t n, nf_frame_cb cb, void *ctx);
/* Bytes buffered in a partial item. */
size_t nf_framer_buffered(const nf_framer *f);

#endif
