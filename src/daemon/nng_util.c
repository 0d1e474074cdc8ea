/*
 * nng_util.c -- what the daemon's nng sockets share: listening on any
 * transport (TLS ones get tls.cert/tls.key), and closing a socket without
 * trusting nng_close() to return.
 *
 * nng_close() can hang in nng 1.5.2 (see NOTES-nng.md), so it runs on a
 * thread of its own and the daemon waits for it only so long.  The closer
 * is shared by both threads; whichever lets go last frees it.
 */
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/nfd.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  nf_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) nf_buf_append(&b, chunk, n);
  fclose(f);
  nf_buf_append(&b, "", 1);
  return b.data;
}

static int listen_tls(nfd *d, nng_socket sock, const char *url, const char *what, char *err,
                      size_t errsz) {
  nng_listener l;
  nng_tls_config *tls = NULL;
  char *cert = slurp(d->cfg.tls_cert.value), *key = slurp(d->cfg.tls_key.value);
  int rv = NNG_ENOMEM;
  if (!cert || !key) {
    snprintf(err, errsz, "tls: cannot read %s",
             !cert ? d->cfg.tls_cert.value : d->cfg.tls_key.value);
    goto out;
  }
  if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) ||
      (rv = nng_tls_config_own_cert(tls, cert, key, NULL))) {
    snprintf(err, errsz, "tls.cert/tls.key: %s", nng_strerror(rv));
    goto out;
  }
  if ((rv = nng_listener_create(&l, sock, url)) ||
      (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) || (rv = nng_listener_start(l, 0)))
    snprintf(err, errsz, "%s: %s: %s", what, url, nng_strerror(rv));
out:
  if (tls) nng_tls_config_free(tls); /* the listener holds its own reference */
  free(cert);
  free(key);
  return rv ? -1 : 0;
}

int nfd_nng_listen(nfd *d, nng_socket sock, const char *url, const char *what, char *err,
                   size_t errsz) {
  if (!strncmp(url, "tls+tcp://", 10) || !strncmp(url, "wss://", 6))
    return listen_tls(d, sock, url, what, err, errsz);
  int rv = nng_listen(sock, url, NULL, 0);
  if (rv) return snprintf(err, errsz, "%s: %s: %s", what, url, nng_strerror(rv)), -1;
  return 0;
}

typedef struct closer {
  nng_socket sock;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
  int refs;
} closer;

static void closer_release(closer *c) {
  pthread_mutex_lock(&c->mu);
  bool last = --c->refs == 0;
  pthread_mutex_unlock(&c->mu);
  if (!last) return;
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}

static void *close_thread(void *arg) {
  closer *c = arg;
  nng_close(c->sock);
  pthread_mutex_lock(&c->mu);
  c->done = true;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  closer_release(c);
  return NULL;
}

void nfd_nng_close(nfd *d, nng_socket sock, const char *what) {
  const int seconds = 2;
  closer *c = calloc(1, sizeof *c);
  pthread_t th;
  if (!c) return;
  *c = (closer){.sock = sock, .refs = 2};
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  if (pthread_create(&th, NULL, close_thread, c) != 0) {
    nng_close(sock);
    c->refs = 1;
    closer_release(c);
    return;
  }
  pthread_detach(th);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += seconds;
  pthread_mutex_lock(&c->mu);
  while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {
  }
  bool done = c->done;
  pthread_mutex_unlock(&c->mu);
  if (!done) nfd_log(d, NFD_WARN, "%s: nng_close did not return in %d s; going on", what, seconds);
  closer_release(c);
}
