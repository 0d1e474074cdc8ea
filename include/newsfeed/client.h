/*
 * client.h -- talking to newsfeedd from C.
 *
 * Producer side: nf_conn is one ingest connection (tcp://HOST:PORT or
 * ipc:///PATH) in either framing.  Sends are buffered and pipelined: queue
 * many items with nf_conn_send_item, then collect one answer per item with
 * nf_conn_recv_answer, which also keeps writing what is still queued, so a
 * long pipeline never deadlocks on full socket buffers.
 *
 * Subscriber side: nf_sub_prefix turns a topic pattern into the nng SUB
 * prefix of SPEC 6, and nf_message_decode splits one published message
 * (TOPIC, 0x00, a msgpack map or array of maps) into items.
 */
#ifndef NEWSFEED_CLIENT_H
#define NEWSFEED_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <newsfeed/answer.h>
#include <newsfeed/item.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NF_DEFAULT_INGEST "tcp://127.0.0.1:7450"
#define NF_DEFAULT_PUBLISH "tcp://127.0.0.1:7451"
#define NF_DEFAULT_QUERY "tcp://127.0.0.1:7452"

typedef enum nf_framing { NF_FRAMING_JSON, NF_FRAMING_MSGPACK } nf_framing;

typedef struct nf_conn nf_conn;
struct nf_error;

int nf_conn_open(nf_conn **out, const char *url, nf_framing framing, int timeout_ms,
                 struct nf_error *err);
void nf_conn_close(nf_conn *c);
/* Authenticates with TOKEN ({"auth": TOKEN}); waits for the answer. */
int nf_conn_auth(nf_conn *c, const char *token, int timeout_ms, struct nf_error *err);
/* Queues one item (encoded in the connection's framing). */
int nf_conn_send_item(nf_conn *c, const nf_item *it, struct nf_error *err);
/* Queues bytes as they are (raw framing, for tests and tools). */
int nf_conn_send_raw(nf_conn *c, const void *p, size_t n, struct nf_error *err);
/* Waits up to TIMEOUT_MS (0: do not wait, -1: forever) for the next
 * answer.  Returns 0, NF_ETIMEDOUT when none came in time, or -1. */
#define NF_ETIMEDOUT (-2)
int nf_conn_recv_answer(nf_conn *c, nf_answer *a, int timeout_ms, struct nf_error *err);
/* Bytes queued but not yet written. */
size_t nf_conn_pending(const nf_conn *c);
/* The socket, for callers that poll it together with other input. */
int nf_conn_fd(const nf_conn *c);

/* "finance.flash" -> "finance.flash\0" (exact), "finance.>" -> "finance."
 * (subtree), ">" -> "" (everything).  Returns the prefix length, or -1 for
 * an invalid pattern. */
int nf_sub_prefix(const char *pattern, char *out, size_t outsz);

typedef int (*nf_item_cb)(void *ctx, nf_item *it);
/* Decodes one published message and calls CB for each item in it (the
 * item is cleared after CB returns; CB returns non-zero to stop). */
int nf_message_decode(const void *msg, size_t len, const nf_limits *lim, nf_item_cb cb, void *ctx,
                      struct nf_error *err);

#ifdef __cplusplus
}
#endif
#endif
