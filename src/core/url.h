/*
 * url.h -- the stream endpoints of ingest: tcp://HOST:PORT and ipc:///PATH.
 * HOST is a name or address; an IPv6 address goes in brackets ([::1]).
 */
#ifndef NF_CORE_URL_H
#define NF_CORE_URL_H

#include <newsfeed/newsfeed.h>

typedef struct nf_url {
  enum { NF_URL_TCP, NF_URL_IPC } kind;
  char host[256];
  int port;
  char path[108]; /* sun_path size */
} nf_url;

int nf_url_parse(const char *s, nf_url *u, nf_error *err);

#endif
