/*
 * newsfeed.h -- public C API of libnewsfeed.
 *
 * libnewsfeed is what the daemon and every tool share: the item model and
 * its codecs (JSON, msgpack), the answers the daemon gives producers, and a
 * small client for producers and subscribers.  Other C programs can link it
 * to speak to newsfeedd without re-implementing the wire contract.
 *
 * Headers, one per client-facing concern:
 *   newsfeed/item.h    the item model, validation, JSON and msgpack codecs
 *   newsfeed/answer.h  the daemon's per-item answers to producers
 *   newsfeed/client.h  endpoints, the producer connection, published messages
 *   newsfeed/sub.h     a subscriber that fills gaps from history, replays, resumes
 *
 * Conventions: every public name starts with nf_ (NF_ for macros).  Functions
 * that can fail return 0 on success and -1 on failure, filling an nf_error
 * when the caller passes one.  No function keeps global state.
 */
#ifndef NEWSFEED_NEWSFEED_H
#define NEWSFEED_NEWSFEED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NF_SCHEMA_VERSION 1

/* An error: what went wrong and, where known, the item field at fault. */
typedef struct nf_error {
  char field[64]; /* "" when no single field is at fault */
  char msg[256];
} nf_error;

/* Fills ERR (if not NULL) and returns -1, so callers can `return nf_fail(..)`. */
int nf_fail(nf_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A growable byte buffer.  Zero-initialise; release with nf_buf_free. */
typedef struct nf_buf {
  char *data;
  size_t len;
  size_t cap;
} nf_buf;

int nf_buf_reserve(nf_buf *b, size_t extra);
int nf_buf_append(nf_buf *b, const void *p, size_t n);
void nf_buf_free(nf_buf *b);

const char *nf_version(void);

#ifdef __cplusplus
}
#endif

#include <newsfeed/item.h>
#include <newsfeed/answer.h>
#include <newsfeed/client.h>
#include <newsfeed/sub.h>

#endif
