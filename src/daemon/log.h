/*
 * log.h -- levelled logging to stderr.
 *
 * Under systemd (JOURNAL_STREAM set) lines carry a <N> syslog priority
 * prefix that journald turns into the entry's level, and no timestamp
 * (journald adds one); elsewhere each line starts with an ISO-8601 UTC
 * time and the level name.  One fprintf per line keeps lines whole when
 * nng threads log too.
 */
#ifndef NFD_LOG_H
#define NFD_LOG_H

#include <stdbool.h>

typedef enum nfd_level { NFD_ERROR = 0, NFD_WARN = 1, NFD_INFO = 2, NFD_DEBUG = 3 } nfd_level;

typedef struct nfd_log {
  nfd_level level;
  bool journal;
} nfd_log;

void nfd_log_init(nfd_log *l, nfd_level level);
int nfd_level_parse(const char *s, nfd_level *out);
void nfd_logf(const nfd_log *l, nfd_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
