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
/* Loop: the buffer to append topic T's next map to (maps in seq order), or
 * NULL when out of memory; then nfd_sender_map_end, with OK false if the
 * map could not be written.  The map is sent after the next commit, and
 * returned through MAP and LEN (valid until the next begin or commit);
 * false, counted as a publish error, when it was dropped. */
nf_buf *nfd_sender_map_begin(struct nfd_sender *s, const nfd_topic *t);
bool nfd_sender_map_end(struct nfd_sender *s, bool ok, const void **map, size_t *len);
/* Loop: hands this iteration's maps to the thread. */
void nfd_sender_commit(struct nfd_sender *s);
/* Loop: sends everything handed over, then ends the thread and frees S. */
void nfd_sender_stop(struct nfd_sender *s);

#endif
