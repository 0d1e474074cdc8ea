/*
 * sub_track.h -- the per-topic ordering rules of nf_sub (core/sub.c),
 * kept free of sockets so that tests/unit/test_sub.c can drive them.
 * Not part of the public API.
 */
#ifndef NF_CORE_SUB_TRACK_H
#define NF_CORE_SUB_TRACK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct nf__track {
  uint64_t epoch; /* 0: not known yet; the next item's epoch is taken */
  uint64_t last;  /* last seq queued for delivery, or the replay baseline */
  bool based;     /* LAST counts: without it the first item just goes */
  /* LAST is the topic's seq when we asked, "from now on" (live with a
   * query API).  Our SUB connection was up before we asked, and PUB sends
   * nothing older than the connection, so a first live item at or below
   * LAST was published in between: it is news, and the topic starts at
   * it.  Cleared by the first item taken or judged. */
  bool from_now;
} nf__track;

typedef enum nf__verdict {
  NF__DELIVER, /* the next in order: deliver, then nf__track_take */
  NF__DROP,    /* already delivered (or of another epoch, from history) */
  NF__FILL,    /* live: seq LAST+1 .. SEQ-1 are missing, fetch them first */
  NF__LOST     /* history: seq LAST+1 .. SEQ-1 are gone; deliver this one */
} nf__verdict;

/* A live item.  When its epoch differs from the one tracked, *OLD_EPOCH
 * gets the old one (else 0) and the topic restarts from seq 0. */
nf__verdict nf__track_live(nf__track *t, uint64_t epoch, uint64_t seq, uint64_t *old_epoch);
/* An item from history while filling up to, not including, UPTO (0: no
 * bound): DELIVER, DROP or LOST, never FILL. */
nf__verdict nf__track_history(const nf__track *t, uint64_t epoch, uint64_t seq, uint64_t upto);
/* The item (EPOCH, SEQ) was queued for delivery. */
void nf__track_take(nf__track *t, uint64_t epoch, uint64_t seq);

#endif
