/*
 * nfd.h -- the daemon's one context struct and the interfaces of its
 * subsystems, in the order an item travels through them:
 *
 *   ingest/     listeners and connections on the libuv loop; framing
 *   core/       (libnewsfeed) decoding and validating items
 *   tag/        topics and symbols from the rules
 *   publish/    per-topic numbering and nng PUB messages
 *   daemon/     the pipeline tying them together, config, metrics, main
 *
 * Everything runs on the libuv loop thread except the metrics handler and
 * nng's pipe notifications, which only touch the atomic counters in
 * nfd_metrics.  There is no other shared mutable state.
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
  atomic_uint_fast64_t connections_accepted, connections_refused;
  atomic_int_fast64_t connections_open, subscribers;
  atomic_uint_fast64_t reloads, reload_failures;
} nfd_metrics;

/* One item in flight through the pipeline, with its answer. */
typedef struct nfd_job {
  nf_item item;
  nf_answer answer;
  bool valid;   /* decoded and not yet rejected */
  bool control; /* not an item (an auth frame): answered, not counted */
  /* The item's fields packed once (publish/): with and without body. */
  nf_buf enc_full, enc_compact;
  uint32_t n_full, n_compact;
} nfd_job;

void nfd_job_clear(nfd_job *j);

struct nfd_ingest;
struct nfd_pub;
struct nfd_metrics_srv;
struct nfd_query;

typedef struct nfd {
  uv_loop_t loop;
  nfd_config cfg;
  nfd_log log;
  nf_limits limits;
  nf_tagger *tagger;
  nfd_tokens tokens; /* empty: producers need not authenticate */
  nf_idgen idgen;
  int64_t start_ms;
  struct nfd_ingest *ingest;
  struct nfd_pub *pub;
  struct nfd_metrics_srv *metrics_srv;
  struct nfd_query *query;
  nfd_metrics m;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t stop_timer;
  bool stopping;
} nfd;

#define nfd_log(d, lv, ...) nfd_logf(&(d)->log, lv, __VA_ARGS__)

/* daemon/pipeline.c: validate, tag, number, publish, answer. */
void nfd_pipeline_run(nfd *d, nfd_job *jobs, size_t n);

/* ingest/listener.c + conn.c */
int nfd_ingest_start(nfd *d, char *err, size_t errsz);
/* Stops accepting and reading; calls DONE once every connection has
 * written its answers and closed (or the deadline passed). */
void nfd_ingest_stop(nfd *d, void (*done)(nfd *d));
void nfd_ingest_free(nfd *d); /* after the loop has ended */

/* publish/publish.c */
int nfd_pub_start(nfd *d, char *err, size_t errsz);
/* Numbers and publishes the valid jobs; fills their answers' topics. */
void nfd_pub_jobs(nfd *d, nfd_job *jobs, size_t n);
void nfd_pub_stop(nfd *d);
/* The tagger was swapped: refresh what publishing caches from the rules. */
void nfd_pub_rules_changed(nfd *d);
size_t nfd_pub_topic_count(const nfd *d);
/* {ok: true, topics: {NAME: {seq, epoch}, ...}} for the query API. */
void nfd_pub_pack_topics(const nfd *d, nf_buf *b);

/* query/query.c: the query API (nng REP). */
int nfd_query_start(nfd *d, const char *url, char *err, size_t errsz);
void nfd_query_stop(nfd *d);

/* daemon/main.c: recompile the rules and swap them in; on failure the old
 * rules stay and ERR says why (FILE:LINE:COL). */
int nfd_reload_rules(nfd *d, char *err, size_t errsz);

/* daemon/metrics.c */
int nfd_metrics_start(nfd *d, char *err, size_t errsz);
void nfd_metrics_stop(nfd *d);

/* daemon/nng_close.c: nng_close() on a helper thread, waiting at most 2 s
 * (it can hang in nng 1.5.2); WHAT names the socket in the log. */
#include <nng/nng.h>
void nfd_nng_close(nfd *d, nng_socket sock, const char *what);

/* daemon/main.c: the whole program, for newsfeedd.c and tests. */
int nfd_main(int argc, char **argv);

#endif
