/*
 * nfd.h -- the daemon's one context struct and the interfaces of its
 * subsystems, in the order an item travels through them:
 *
 *   ingest/     listeners and connections on the libuv loop; framing
 *   core/       (libnewsfeed) decoding and validating items
 *   tag/        topics and symbols from the rules
 *   publish/    per-topic numbering and nng PUB messages
 *   journal/    the append-only journal on disk: what was acknowledged
 *   history/    recent items per topic in memory; the deduplication index
 *   query/      the query API
 *   daemon/     the pipeline tying them together, config, metrics, main
 *
 * Everything runs on the libuv loop thread except: the metrics handler and
 * nng's pipe notifications, which only touch the atomic counters in
 * nfd_metrics; and two threads that the loop hands records to through a
 * queue under a mutex (util/handoff.h) -- the publishing thread
 * (publish/sender.c) and the NATS bridge (publish/nats.c).  Besides their
 * queue they read only what never changes after start (the configuration,
 * topic names, the log settings) and update counters.  There is no other
 * shared mutable state.
 */
#ifndef NFD_NFD_H
#define NFD_NFD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include <newsfeed/newsfeed.h>

#include "daemon/config.h"
#include "daemon/log.h"
#include "ingest/auth.h"
#include "tag/tagger.h"
#include "util/strmap.h"

typedef struct nfd_metrics {
  atomic_uint_fast64_t items_received, items_accepted, items_rejected;
  atomic_uint_fast64_t messages_published, bytes_published, publish_errors;
  atomic_uint_fast64_t connections_accepted, connections_refused, connections_idle_closed;
  atomic_int_fast64_t connections_open, subscribers;
  atomic_uint_fast64_t reloads, reload_failures;
  atomic_uint_fast64_t duplicates, journal_errors, journal_bytes, fsyncs;
  atomic_uint_fast64_t history_items, history_bytes;
  atomic_uint_fast64_t nats_published, nats_dropped, nats_reconnects;
  atomic_int_fast64_t nats_connected;
} nfd_metrics;

/* Items per authenticated producer, for metrics.  Entries are appended by
 * the loop and never change afterwards: the metrics thread reads the first
 * N (acquire) and can never see a half-written name. */
#define NFD_MAX_PRODUCERS 256
typedef struct nfd_producer_stat {
  char name[65];
  atomic_uint_fast64_t accepted, rejected;
} nfd_producer_stat;

/* A topic: its numbering (SPEC 6) and its history.  Owned by the topics
 * table (daemon/topics.c); never freed before shutdown. */
struct nfd_ring;
typedef struct nfd_topic {
  const char *name;      /* the table's copy */
  uint64_t seq;          /* last seq given */
  uint64_t epoch;        /* names the numbering; new when it restarts */
  bool compact;          /* published without body (from the rules) */
  bool epoch_journaled;  /* the journal holds this epoch */
  struct nfd_ring *ring; /* history (history/history.c) */
  /* publish/publish.c: this topic's staged entries, a chain of indexes
   * + 1 in seq order (0: none staged). */
  uint32_t pub_first, pub_last, pub_n;
  uint32_t index; /* in nfd.topic_list: a 4-byte reference (dedup.c) */
} nfd_topic;

/* One item in flight through the pipeline, with its answer. */
typedef struct nfd_job {
  nf_item item;
  nf_answer answer;
  bool valid;      /* decoded and not yet rejected */
  bool control;    /* not an item (an auth frame): answered, not counted */
  bool duplicate;  /* a repeat of a recent id: answered, not published */
  uint32_t dup_of; /* 1 + index of its original in the same run, or 0 */
  /* The item's fields packed once: every field but body (N_ENC pairs),
   * and the body's key/value pair apart, so compact topics can leave it
   * out (pipeline.c). */
  nf_buf enc, enc_body;
  uint32_t n_enc;
  /* Numbering: the topic and seq of each of item.topics (item arena). */
  nfd_topic **tps;
  uint64_t *seqs;
} nfd_job;

void nfd_job_clear(nfd_job *j);

struct nfd_ingest;
struct nfd_pub;
struct nfd_journal;
struct nfd_history;
struct nfd_dedup;
struct nfd_metrics_srv;
struct nfd_query;
struct nfd_ningest;
struct nfd_nats;

typedef struct nfd {
  uv_loop_t loop;
  nfd_config cfg;
  nfd_log log;
  nf_limits limits;
  nf_tagger *tagger;
  nfd_tokens tokens; /* empty: producers need not authenticate */
  nf_idgen idgen;
  /* pipeline.c: ids of the current run, open addressing (index + 1). */
  uint32_t *run_ids;
  size_t run_ids_cap;
  int64_t start_ms;
  struct nfd_ingest *ingest;
  struct nfd_pub *pub;
  nf_strmap topics;       /* name -> nfd_topic */
  nfd_topic **topic_list; /* by nfd_topic.index (topics.c) */
  size_t n_topic_list, cap_topic_list;
  struct nfd_journal *journal; /* NULL: no data_dir, nothing on disk */
  struct nfd_history *history;
  struct nfd_dedup *dedup;
  struct nfd_metrics_srv *metrics_srv;
  struct nfd_query *query;
  struct nfd_ningest *ningest; /* ingest over nng REQ/REP, or NULL */
  struct nfd_nats *nats;       /* the NATS bridge (outputs.nats), or NULL */
  nfd_metrics m;
  nfd_producer_stat producers[NFD_MAX_PRODUCERS];
  atomic_size_t n_producers;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t stop_timer;
  bool stopping;
} nfd;

#define nfd_log(d, lv, ...) nfd_logf(&(d)->log, lv, __VA_ARGS__)

/* daemon/pipeline.c: validate, tag, deduplicate, number, journal,
 * publish, answer.  Returns the journal position the answers must wait
 * for (nfd_journal_durable), or 0 when they may go at once. */
uint64_t nfd_pipeline_run(nfd *d, nfd_job *jobs, size_t n);

/* daemon/topics.c */
nfd_topic *nfd_topic_get(nfd *d, const char *name); /* creates; NULL on OOM */
nfd_topic *nfd_topic_find(const nfd *d, const char *name);
void nfd_topics_free(nfd *d);
/* {ok: true, topics: {NAME: {seq, epoch}, ...}} for the query API. */
void nfd_topics_pack(const nfd *d, nf_buf *b);

/* journal/journal.c -- see the file's header comment. */
int nfd_journal_open(nfd *d, char *err, size_t errsz); /* recovers, too */
/* Appends the records of the valid jobs (and epochs of new topics).
 * Returns the position to wait for, or 0 on failure (nothing written). */
uint64_t nfd_journal_append(nfd *d, nfd_job *jobs, size_t n, nf_error *err);
uint64_t nfd_journal_durable(const nfd *d); /* everything up to here is safe */
void nfd_journal_flush_now(nfd *d);         /* shutdown: sync without delay */
void nfd_journal_close(nfd *d);

/* history/history.c */
int nfd_history_init(nfd *d);
/* Keeps an accepted item under each of its topics. */
void nfd_history_add(nfd *d, const void *compact, size_t compact_len, uint32_t n_compact,
                     const void *body_kv, size_t body_len, nfd_topic **tps, const uint64_t *seqs,
                     size_t n_topics);
/* {ok, epoch, first_seq, last_seq, items: [...]} for op "history". */
void nfd_history_pack(nfd *d, const char *topic, uint64_t since, uint64_t limit, nf_buf *b);
void nfd_history_free(nfd *d);

/* history/dedup.c: recent ids and what they were answered. */
int nfd_dedup_init(nfd *d);
/* The answer of an earlier item with ID, or false. */
bool nfd_dedup_lookup(nfd *d, const char *id, nf_answer *a);
void nfd_dedup_add(nfd *d, const char *id, int64_t received, nfd_topic **tps, const uint64_t *seqs,
                   size_t n);
void nfd_dedup_free(nfd *d);

/* ingest/conn.c: the journal made everything up to LSN durable (or, with
 * FAILED, could not): release or drop the answers waiting for it. */
void nfd_ingest_durable(nfd *d, uint64_t lsn, bool failed);

/* ingest/nng_ingest.c: ingest over nng REQ/REP (ingest.nng_listen). */
int nfd_nng_ingest_start(nfd *d, char *err, size_t errsz);
void nfd_nng_ingest_durable(nfd *d, uint64_t lsn, bool failed);
void nfd_nng_ingest_stop(nfd *d);

/* ingest/listener.c + conn.c */
int nfd_ingest_start(nfd *d, char *err, size_t errsz);
/* Stops accepting and reading; calls DONE once every connection has
 * written its answers and closed (or the deadline passed). */
void nfd_ingest_stop(nfd *d, void (*done)(nfd *d));
void nfd_ingest_free(nfd *d); /* after the loop has ended */

/* publish/publish.c */
int nfd_pub_start(nfd *d, char *err, size_t errsz);
/* Takes the packed fields of the valid, numbered jobs to publish them (one
 * message per topic, or batches) at the end of this loop iteration. */
void nfd_pub_jobs(nfd *d, nfd_job *jobs, size_t n);
/* Publishes what is staged now. */
void nfd_pub_flush(nfd *d);
/* Appends one item's map for TOPIC/SEQ (a published message map). */
int nfd_pub_put_map(nf_buf *b, const nfd_topic *t, uint64_t seq, const uint8_t *fields,
                    size_t compact_len, size_t len, uint32_t n_compact, bool has_body);
void nfd_pub_stop(nfd *d);
/* The tagger was swapped: refresh what topics cache from the rules. */
void nfd_pub_rules_changed(nfd *d);

/* publish/nats.c: the NATS bridge (SPEC 10), on a thread of its own.
 * put copies one published map for topic T (loop only); commit hands this
 * iteration's maps to the bridge (dropping and counting them when its
 * buffer is full); stop publishes what is queued, flushes for at most
 * outputs.nats.flush_ms and closes. */
int nfd_nats_start(nfd *d, char *err, size_t errsz); /* 0 and no bridge when off */
void nfd_nats_put(nfd *d, const nfd_topic *t, const void *map, size_t len);
void nfd_nats_commit(nfd *d);
void nfd_nats_stop(nfd *d);

/* query/query.c: the query API (nng REP). */
int nfd_query_start(nfd *d, const char *url, char *err, size_t errsz);
void nfd_query_stop(nfd *d);
/* Answers one request (REQ bytes) into B: always one msgpack map with a
 * boolean "ok".  Runs on the loop thread; public for tests/fuzz. */
void nfd_query_handle(nfd *d, const void *req, size_t len, nf_buf *b);

/* daemon/main.c: recompile the rules and swap them in; on failure the old
 * rules stay and ERR says why (FILE:LINE:COL). */
int nfd_reload_rules(nfd *d, char *err, size_t errsz);

/* daemon/metrics.c */
int nfd_metrics_start(nfd *d, char *err, size_t errsz);
void nfd_metrics_stop(nfd *d);

/* daemon/nng_util.c: listen on URL (tls+tcp:// and wss:// with tls.cert
 * and tls.key; WHAT names the setting in errors), and nng_close() on a
 * helper thread, waiting at most 2 s (it can hang in nng 1.5.2). */
#include <nng/nng.h>
int nfd_nng_listen(nfd *d, nng_socket sock, const char *url, const char *what, char *err,
                   size_t errsz);
void nfd_nng_close(nfd *d, nng_socket sock, const char *what);

/* daemon/main.c: the whole program, for newsfeedd.c and tests. */
int nfd_main(int argc, char **argv);

#endif
