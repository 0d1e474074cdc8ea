/*
 * sub.h -- a subscriber that never misses (SPEC 4 newsfeed-sub, 6, 8).
 *
 * nf_sub receives the items of chosen topics from newsfeedd's publish
 * endpoint and hands them out one at a time, in seq order per topic, each
 * once: every item published after the start (or after the replay point
 * asked for), a topic that appears later from its first item.  What the
 * live feed lost (nng drops the oldest messages of a slow subscriber) is
 * fetched from the daemon's query API and delivered in its place; what
 * history no longer holds, and a topic whose numbering restarted, are
 * reported as events between the items.  The design is described at the
 * top of src/core/sub.c.
 *
 *   nf_sub *s;
 *   nf_sub_open(&s, NF_DEFAULT_PUBLISH, NF_DEFAULT_QUERY, &err);
 *   nf_sub_add(s, "finance.>", &err);
 *   nf_sub_replay_last(s, 20);              (optional: history first)
 *   nf_sub_load_state(s, "sub.state", &err);  (optional: resume)
 *   nf_sub_start(s, &err);
 *   for (;;) {
 *     nf_item it;  nf_sub_event ev;
 *     nf_item_init(&it);
 *     int rc = nf_sub_next(s, &it, &ev, 1000, &err);
 *     if (rc == NF_SUB_ITEM) { use(&it); nf_item_clear(&it); }
 *     else if (rc == NF_SUB_EVENT) report(&ev);
 *     else if (rc == -1) complain(&err);    (then simply call again)
 *   }
 *   nf_sub_save_state(s, "sub.state", &err);
 *   nf_sub_close(s);
 *
 * Not thread-safe: one thread drives one nf_sub.
 */
#ifndef NEWSFEED_SUB_H
#define NEWSFEED_SUB_H

#include <stdint.h>

#include <newsfeed/client.h>
#include <newsfeed/item.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nf_sub nf_sub;
struct nf_error;

typedef enum nf_sub_event_type {
  /* Seq FIRST..LAST were lost by the live feed; they come next, from
   * the daemon's history, before the item that revealed the gap. */
  NF_SUB_GAP_FILLED = 1,
  /* Seq FIRST..LAST are no longer in the daemon's history (or the
   * caller gave up on them with nf_sub_skip_gap): never delivered. */
  NF_SUB_GAP_LOST,
  /* The topic's numbering restarted (OLD_EPOCH -> EPOCH): delivery goes
   * on from seq 1 of the new epoch, filled from history if needed. */
  NF_SUB_EPOCH_CHANGED
} nf_sub_event_type;

typedef struct nf_sub_event {
  nf_sub_event_type type;
  char topic[NF_TOPIC_MAX + 1];
  uint64_t first, last; /* the seq range of a gap */
  uint64_t old_epoch, epoch;
} nf_sub_event;

/* nf_sub_next's results besides -1 (error) and NF_ETIMEDOUT. */
enum { NF_SUB_ITEM = 1, NF_SUB_EVENT = 2 };

/* Opens the subscriber (no connection yet).  QUERY_URL may be NULL:
 * then nothing can be replayed or filled, and every gap is reported lost. */
int nf_sub_open(nf_sub **out, const char *pub_url, const char *query_url, struct nf_error *err);

/* Adds a topic pattern: exact "a.b", subtree "a.>", or ">" for all. */
int nf_sub_add(nf_sub *s, const char *pattern, struct nf_error *err);

/* Before nf_sub_start: replay history first, then go live with no gap
 * and no duplicate.  LAST: the last N items of each matching topic;
 * SINCE: every item after SEQ.  A matching topic that appears later is
 * delivered from its first item (LAST) or after SEQ (SINCE). */
void nf_sub_replay_last(nf_sub *s, uint64_t n);
void nf_sub_replay_since(nf_sub *s, uint64_t seq);

/* Query timeout in ms (default 5000). */
void nf_sub_set_timeout(nf_sub *s, int ms);

/* The end-of-topic check: a lost item is normally revealed by the next
 * item of its topic, but nothing reveals the loss of a topic's last
 * items.  So, when caught up, nf_sub asks the daemon for every topic's
 * last seq once per MS (default 1000; 0: never); an item listed by the
 * previous answer that has still not arrived is filled from history
 * (an NF_SUB_GAP_FILLED event).  Items in flight are never taken for
 * lost, as they had a whole period to arrive. */
void nf_sub_set_sweep(nf_sub *s, int ms);

/* State: JSON {"patterns":[...],"topics":{NAME:{"seq":N,"epoch":E},...}},
 * the patterns and the last item handed out per topic.  Load before
 * nf_sub_start: every matching topic in it resumes after its seq (that
 * takes precedence over the replay options), and a topic that matches
 * one of the saved patterns but is not in the file appeared while the
 * previous run was away, so it is delivered from its first item.  A
 * missing file is a fresh start, not an error.  Save writes a temporary
 * file, syncs it and renames it over PATH, so PATH is always whole. */
int nf_sub_load_state(nf_sub *s, const char *path, struct nf_error *err);
int nf_sub_save_state(nf_sub *s, const char *path, struct nf_error *err);

/* Dials both endpoints, asks the daemon where each topic stands and
 * replays what was asked for.  Live messages are received from before
 * that on, so none falls in between.  Fails when a replay or a state
 * cannot be served.  Without either, the daemon need not be up yet: the
 * dials keep retrying in the background, and when the query API has not
 * answered within the timeout, each topic starts at its first item seen
 * (gaps after it are still filled). */
int nf_sub_start(nf_sub *s, struct nf_error *err);

/* Waits up to TIMEOUT_MS (0: do not wait, -1: forever) for the next item
 * or event.  NF_SUB_ITEM: the item is moved into *OUT (which must hold
 * none: init'd or cleared); the caller clears it.  NF_SUB_EVENT: *EV is
 * filled.  NF_ETIMEDOUT: nothing yet.  -1: ERR says why (a bad message,
 * or the query API failed while filling a gap); the subscriber stays
 * usable and the next call retries the fill.  A gap fill or a sweep may
 * keep it past TIMEOUT_MS, waiting on the query API (nf_sub_set_timeout). */
int nf_sub_next(nf_sub *s, nf_item *out, nf_sub_event *ev, int timeout_ms, struct nf_error *err);

/* After nf_sub_next failed to fill a gap: give up on it (the next call
 * reports it as NF_SUB_GAP_LOST) and go on.  A no-op otherwise. */
void nf_sub_skip_gap(nf_sub *s);

/* Frees the subscriber.  nng_close() can hang in nng 1.5.2, so the
 * sockets are closed on a helper thread that is waited for 1 s at most;
 * a close still stuck then is left to finish (or to process exit). */
void nf_sub_close(nf_sub *s);

#ifdef __cplusplus
}
#endif
#endif
