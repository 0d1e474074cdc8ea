/*
 * sender.h -- the thread that sends published maps to nng (sender.c).
 */
#ifndef NFD_PUBLISH_SENDER_H
#define NFD_PUBLISH_SENDER_H

#include <nng/nng.h>

#include "daemon/nfd.h"

struct nfd_sender;
/* Starts the thread sending on SOCK; NULL with ERR on failure. */
struct nfd_sender *nfd_sender_start(nfd *d, nng_socket sock, char *err, size_t errsz);
/* Loop: one map for topic T, in seq order; sent after the next commit. */
void nfd_sender_put(struct nfd_sender *s, const nfd_topic *t, const void *map, size_t len);
/* Loop: hands this iteration's maps to the thread. */
void nfd_sender_commit(struct nfd_sender *s);
/* Loop: sends everything handed over, then ends the thread and frees S. */
void nfd_sender_stop(struct nfd_sender *s);

#endif
