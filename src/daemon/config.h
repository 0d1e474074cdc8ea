/*
 * config.h -- newsfeedd's configuration: built-in defaults (the embedded
 * conf/newsfeedd.yaml), then the -c file, then flags.
 */
#ifndef NFD_CONFIG_H
#define NFD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/log.h"

typedef struct nfd_strlist {
  char **v;
  size_t n;
} nfd_strlist;

/* A path and where it came from: relative paths are resolved against the
 * directory of the file that set them; BUILTIN means the value is the
 * built-in default (for tagging.rules: use the embedded rules). */
typedef struct nfd_path {
  char *value;
  bool builtin;
} nfd_path;

typedef struct nfd_config {
  char *file; /* -c FILE, or NULL */
  nfd_strlist ingest_listen;
  nfd_strlist ingest_nng_listen; /* nng REQ/REP ingest, e.g. tls+tcp:// */
  long long max_item_bytes, max_pending_bytes, max_connections, ipc_mode;
  long long max_connections_per_peer, idle_timeout_seconds, max_items_per_second, burst_items;
  nfd_path tokens_file; /* "" = no authentication */
  nfd_strlist publish_listen;
  bool publish_batch;
  long long send_buffer;
  char *metrics_listen; /* "off" disables */
  char *query_listen;   /* "off" disables */
  nfd_path tls_cert, tls_key;
  nfd_path rules;
  nfd_level log_level;
  nfd_path data_dir;   /* "" = no journal: nothing survives a restart */
  char *journal_fsync; /* always | batch | never */
  long long journal_batch_ms, journal_segment_bytes, journal_max_bytes, journal_retention_hours;
  long long history_max_items, history_max_bytes;
  long long dedup_window_seconds, dedup_max_ids;
  char *nats_url;            /* outputs.nats: "" = no NATS bridge */
  char *nats_subject_prefix; /* subjects are PREFIX.TOPIC */
  long long nats_buffer_bytes, nats_reconnect_ms, nats_flush_ms;
} nfd_config;

/* Loads defaults, then FILE (may be NULL).  Errors: "FILE:LINE:COL: msg". */
int nfd_config_load(nfd_config *c, const char *file, char *err, size_t errsz);
/* Replaces a list with one value on first use by a flag, appends after. */
int nfd_strlist_flag(nfd_strlist *l, bool *replaced, const char *v);
/* Checks cross-field rules after flags (URL syntax, tls files). */
int nfd_config_check(const nfd_config *c, char *err, size_t errsz);
void nfd_config_free(nfd_config *c);

#endif
