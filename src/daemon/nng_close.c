/*
 * nng_close.c -- closing an nng socket without trusting it to return.
 *
 * nng_close() can hang in nng 1.5.2 (see NOTES-nng.md), so it runs on a
 * thread of its own and the daemon waits for it only so long.  The closer
 * is shared by both threads; whichever lets go last frees it.
 */
#include <nng/nng.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "daemon/nfd.h"

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
  while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0) {}
  bool done = c->done;
  pthread_mutex_unlock(&c->mu);
  if (!done)
    nfd_log(d, NFD_WARN, "%s: nng_close did not return in %d s; going on", what, seconds);
  closer_release(c);
}

