/*
 * auth.h -- producer tokens (ingest.tokens_file, SPEC section 7).
 */
#ifndef NF_INGEST_AUTH_H
#define NF_INGEST_AUTH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nfd_token {
  char name[65];
  char *secret;
  size_t len;
} nfd_token;

typedef struct nfd_tokens {
  nfd_token *v;
  size_t n;
} nfd_tokens;

/* Loads NAME:TOKEN lines.  Refuses a file that others may read, and
 * reports bad lines as FILE:LINE:COL: message. */
int nfd_tokens_load(const char *path, nfd_tokens *out, char *err, size_t errsz);
void nfd_tokens_free(nfd_tokens *t);
/* The name whose token equals TOKEN, or NULL.  Takes the same time whatever
 * the token and whichever entry (if any) it matches. */
const char *nfd_tokens_check(const nfd_tokens *t, const char *token, size_t len);
/* Is this frame {"auth": TOKEN} (JSON when JSON is true, else msgpack)?
 * Copies the token into TOK (NUL-terminated) and returns true. */
bool nfd_auth_frame(bool json, const char *p, size_t n, char *tok, size_t cap);

#endif
