/*
 * handoff.c -- see handoff.h.
 */
#include "util/handoff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void nf_handoff_init(nf_handoff *h, size_t max_bytes) {
  *h = (nf_handoff){.max = max_bytes};
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  pthread_cond_init(&h->taken_cv, NULL);
}

void nf_handoff_shrink(nf_buf *b) {
  if (!b->len && b->cap > NF_HANDOFF_KEEP_BYTES) nf_buf_free(b);
}

bool nf_handoff_give(nf_handoff *h, nf_buf *local, size_t n, bool block) {
  bool ok = true;
  if (!n) return true;
  pthread_mutex_lock(&h->mu);
  while (block && h->queue.len && h->queue.len + local->len > h->max && !h->stop)
    pthread_cond_wait(&h->taken_cv, &h->mu);
  if (h->queue.len + local->len > h->max && h->queue.len) {
    ok = false; /* the worker is behind by a whole bound */
  } else if (!h->queue.len) {
    nf_buf t = h->queue; /* swap, do not copy */
    h->queue = *local;
    *local = t;
    h->n = n;
  } else if (nf_buf_append(&h->queue, local->data, local->len) < 0) {
    ok = false;
  } else {
    h->n += n;
  }
  if (ok && h->waiting) pthread_cond_signal(&h->cv);
  pthread_mutex_unlock(&h->mu);
  local->len = 0;
  nf_handoff_shrink(local);
  return ok;
}

bool nf_handoff_idle(nf_handoff *h) {
  pthread_mutex_lock(&h->mu);
  bool idle = h->waiting && !h->queue.len;
  pthread_mutex_unlock(&h->mu);
  return idle;
}

size_t nf_handoff_take(nf_handoff *h, nf_buf *out) {
  out->len = 0;
  pthread_mutex_lock(&h->mu);
  while (!h->queue.len && !h->stop) {
    h->waiting = true;
    pthread_cond_wait(&h->cv, &h->mu);
    h->waiting = false;
  }
  nf_handoff_shrink(out);
  nf_buf t = *out;
  *out = h->queue;
  h->queue = t;
  size_t n = h->n;
  h->n = 0;
  pthread_cond_signal(&h->taken_cv);
  pthread_mutex_unlock(&h->mu);
  return n;
}

void nf_handoff_stop(nf_handoff *h) {
  pthread_mutex_lock(&h->mu);
  h->stop = true;
  pthread_cond_signal(&h->cv);
  pthread_cond_signal(&h->taken_cv);
  pthread_mutex_unlock(&h->mu);
}

void nf_handoff_free(nf_handoff *h) {
  pthread_mutex_destroy(&h->mu);
  pthread_cond_destroy(&h->cv);
  pthread_cond_destroy(&h->taken_cv);
  nf_buf_free(&h->queue);
}

#define REC_HEADER (sizeof(void *) + sizeof(uint32_t))

size_t nf_handoff_rec_open(nf_buf *b, const void *key) {
  size_t at = b->len;
  uint32_t len = 0;
  if (nf_buf_reserve(b, REC_HEADER) < 0) return (size_t)-1;
  nf_buf_append(b, &key, sizeof key);
  nf_buf_append(b, &len, sizeof len);
  return at;
}

bool nf_handoff_rec_close(nf_buf *b, size_t at, const void **data, size_t *len) {
  size_t n = b->len - at - REC_HEADER;
  if (n > UINT32_MAX) {
    b->len = at;
    return false;
  }
  uint32_t l = (uint32_t)n;
  memcpy(b->data + at + sizeof(void *), &l, sizeof l);
  *data = b->data + at + REC_HEADER;
  *len = n;
  return true;
}

bool nf_handoff_rec_put(nf_buf *b, const void *key, const void *data, size_t len) {
  const void *d;
  size_t n;
  if (len > UINT32_MAX || nf_buf_reserve(b, REC_HEADER + len) < 0) return false;
  size_t at = nf_handoff_rec_open(b, key);
  nf_buf_append(b, data, len);
  return nf_handoff_rec_close(b, at, &d, &n);
}

bool nf_handoff_rec_next(const nf_buf *b, size_t *off, const void **key, const void **data,
                         size_t *len) {
  if (*off + REC_HEADER > b->len) return false;
  uint32_t l;
  memcpy(key, b->data + *off, sizeof *key);
  memcpy(&l, b->data + *off + sizeof(void *), sizeof l);
  *data = b->data + *off + REC_HEADER;
  *len = l;
  *off += REC_HEADER + l;
  return true;
}
