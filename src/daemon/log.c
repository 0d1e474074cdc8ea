/*
 * log.c -- see log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/log.h"

static const char *names[] = {"error", "warn", "info", "debug"};

void nfd_log_init(nfd_log *l, nfd_level level) {
  l->level = level;
  l->journal = getenv("JOURNAL_STREAM") != NULL;
}

int nfd_level_parse(const char *s, nfd_level *out) {
  for (int i = 0; i < 4; i++)
    if (!strcmp(s, names[i])) return *out = (nfd_level)i, 0;
  return -1;
}

void nfd_logf(const nfd_log *l, nfd_level lv, const char *fmt, ...) {
  if (lv > l->level) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (l->journal) {
    static const int prio[] = {3, 4, 6, 7};
    fprintf(stderr, "<%d>%s\n", prio[lv], msg);
    return;
  }
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
          names[lv], msg);
}
