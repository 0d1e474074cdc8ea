/*
 * answer.h -- the daemon's answer to each item a producer sends (SPEC 7).
 *
 * One answer per item, in order, in the connection's framing:
 *   JSON Lines:  {"ok":true,"item":1,"id":"…","topics":["headline",…],
 *                 "seq":{"headline":12,…}}            (then "\n")
 *                {"ok":false,"item":2,"field":"title","error":"…"}
 *   msgpack:     the same map, as one length-prefixed frame.
 * "item" counts the items of the connection from 1.  A repeat of a recent
 * id is answered ok with "duplicate":true and the original's topics.
 */
#ifndef NEWSFEED_ANSWER_H
#define NEWSFEED_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NF_ID_MAX 128
#define NF_TOPIC_MAX 128

typedef struct nf_answer_topic {
  char name[NF_TOPIC_MAX + 1];
  uint64_t seq;
} nf_answer_topic;

typedef struct nf_answer {
  bool ok;
  bool duplicate;
  uint64_t item;           /* item number on the connection, from 1; 0 = none */
  char id[NF_ID_MAX + 1];  /* ok answers */
  nf_answer_topic *topics; /* ok answers; malloc'd, n_topics entries */
  size_t n_topics;
  char field[64];           /* error answers: field at fault, or "" */
  char error[256];          /* error answers: the reason */
  char auth[NF_ID_MAX + 1]; /* answers to {"auth":…}: producer name */
} nf_answer;

struct nf_buf;
struct nf_error;

void nf_answer_clear(nf_answer *a); /* frees topics, zeroes */
int nf_answer_add_topic(nf_answer *a, const char *name, uint64_t seq);
void nf_answer_set_error(nf_answer *a, uint64_t item, const char *field, const char *msg);

/* Encoders append one complete answer: a JSON line ending in "\n", or a
 * msgpack frame with its 4-byte big-endian length. */
int nf_answer_to_json(const nf_answer *a, struct nf_buf *out);
int nf_answer_to_msgpack(const nf_answer *a, struct nf_buf *out);

/* Decoders take one answer without its framing (no "\n", no length). */
int nf_answer_from_json(nf_answer *a, const char *buf, size_t len, struct nf_error *err);
int nf_answer_from_msgpack(nf_answer *a, const void *buf, size_t len, struct nf_error *err);

#ifdef __cplusplus
}
#endif
#endif
