/*
 * handoff.h -- hands byte records from the event loop to one worker
 * thread, a buffer at a time.
 *
 * The loop appends records to a buffer of its own, with no lock, and gives
 * that buffer over once per loop iteration (nf_handoff_give): one mutex,
 * and a wake-up only when the worker sleeps.  When the worker's queue is
 * empty the two buffers are swapped rather than copied.  The worker takes
 * the whole queue at once (nf_handoff_take), so while it is busy, what the
 * loop gives piles up and is taken together: the busier the worker, the
 * larger what it takes (what lets the publisher make larger batches only
 * out of what is already waiting).
 *
 * Bounded, two ways: a give that would make the queue larger than MAX
 * bytes is either refused (its records are then counted as dropped by the
 * caller) or, with BLOCK, waits until the worker has taken the queue --
 * back-pressure: the loop then waits for the worker as it would have
 * waited doing the work itself.
 *
 * Buffers that a burst grew past NF_HANDOFF_KEEP_BYTES are given back
 * once emptied, so a burst does not pin its peak memory.
 */
#ifndef NF_UTIL_HANDOFF_H
#define NF_UTIL_HANDOFF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <newsfeed/newsfeed.h>

#define NF_HANDOFF_KEEP_BYTES ((size_t)4 << 20)

typedef struct nf_handoff {
  pthread_mutex_t mu;
  pthread_cond_t cv, taken_cv; /* records given; the queue taken */
  nf_buf queue;                /* under mu */
  size_t n;                    /* records in queue */
  size_t max;                  /* bytes */
  bool stop, waiting;
} nf_handoff;

void nf_handoff_init(nf_handoff *h, size_t max_bytes);
/* Loop: moves LOCAL's N records to the queue, leaving LOCAL empty.  If
 * the queue would pass its bound: with BLOCK, waits for the worker to
 * take it; without, returns false, dropping them (so too out of memory). */
bool nf_handoff_give(nf_handoff *h, nf_buf *local, size_t n, bool block);
/* Frees B's memory if it is empty and larger than NF_HANDOFF_KEEP_BYTES. */
void nf_handoff_shrink(nf_buf *b);
/* Loop: true when the worker waits with nothing queued -- it has sent
 * everything given so far, so the caller may do the work itself now
 * without overtaking anything. */
bool nf_handoff_idle(nf_handoff *h);
/* Worker: waits for records and swaps them into OUT (emptied first);
 * returns their count, or 0 once stopped and drained. */
size_t nf_handoff_take(nf_handoff *h, nf_buf *out);
/* Loop: the worker takes what is queued, then its take returns 0. */
void nf_handoff_stop(nf_handoff *h);
void nf_handoff_free(nf_handoff *h);

/* The records both workers take (the publishing thread, the NATS bridge):
 * a key pointer (the topic; it must outlive the worker), a 32-bit length
 * in host order, the bytes -- memory-only, never on a wire or disk.
 *
 * Writing in place: rec_open appends a header for KEY to B and returns
 * its offset (or (size_t)-1 when out of memory); the caller appends the
 * bytes; rec_close fills in their length and returns them through DATA
 * and LEN (false, with the record removed, if LEN would not fit). */
size_t nf_handoff_rec_open(nf_buf *b, const void *key);
bool nf_handoff_rec_close(nf_buf *b, size_t at, const void **data, size_t *len);
/* A whole record at once; returns false when out of memory or too long. */
bool nf_handoff_rec_put(nf_buf *b, const void *key, const void *data, size_t len);
/* Reads the record at *OFF of B and moves *OFF past it; false at the end. */
bool nf_handoff_rec_next(const nf_buf *b, size_t *off, const void **key, const void **data,
                         size_t *len);

#endif
