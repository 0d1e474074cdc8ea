/*
 * url.c -- parsing of ingest endpoint URLs (see url.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/url.h"

int nf_url_parse(const char *s, nf_url *u, nf_error *err) {
  memset(u, 0, sizeof *u);
  if (!strncmp(s, "ipc://", 6)) {
    const char *p = s + 6;
    if (!*p) return nf_fail(err, "url", "'%s': ipc:// needs a path", s);
    if (strlen(p) >= sizeof u->path)
      return nf_fail(err, "url", "'%s': socket path longer than %zu bytes", s, sizeof u->path - 1);
    u->kind = NF_URL_IPC;
    strcpy(u->path, p);
    return 0;
  }
  if (strncmp(s, "tcp://", 6))
    return nf_fail(err, "url", "'%s': expected tcp://HOST:PORT or ipc:///PATH", s);
  const char *h = s + 6, *colon;
  size_t hlen;
  if (*h == '[') {
    const char *close = strchr(h, ']');
    if (!close || close[1] != ':')
      return nf_fail(err, "url", "'%s': expected tcp://[ADDR]:PORT", s);
    h++;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(h, ':');
    if (!colon) return nf_fail(err, "url", "'%s': missing :PORT", s);
    hlen = (size_t)(colon - h);
  }
  if (hlen == 0 || hlen >= sizeof u->host)
    return nf_fail(err, "url", "'%s': missing or over-long host", s);
  memcpy(u->host, h, hlen);
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || end == colon + 1 || port < 0 || port > 65535)
    return nf_fail(err, "url", "'%s': port must be 0..65535", s);
  u->kind = NF_URL_TCP;
  u->port = (int)port;
  return 0;
}
