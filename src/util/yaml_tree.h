/*
 * yaml_tree.h -- YAML documents as small trees that remember where each
 * node came from, so that every consumer (config, rules, the push tool)
 * can report errors as FILE:LINE:COL: message.
 *
 * Anchors and aliases are refused: no config needs them, and expanding
 * them is how "billion laughs" documents exhaust memory.
 */
#ifndef NF_UTIL_YAML_TREE_H
#define NF_UTIL_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum nf_ytype { NF_Y_SCALAR, NF_Y_SEQ, NF_Y_MAP } nf_ytype;

typedef struct nf_ynode {
  nf_ytype type;
  int line, col;    /* 1-based */
  const char *file; /* for messages */
  char *str;        /* scalar text, NUL-terminated */
  size_t len;
  bool plain;             /* unquoted scalar: subject to null/bool/int typing */
  struct nf_ynode **kids; /* seq: items; map: key, value, key, value, ... */
  size_t n;               /* number of kids */
} nf_ynode;

typedef struct nf_ydocs {
  nf_ynode **docs;
  size_t n;
} nf_ydocs;

/* Parses every document of BUF.  On failure writes "FILE:LINE:COL: msg"
 * into ERR (size ERRSZ) and returns -1. */
int nf_yaml_parse(const char *buf, size_t len, const char *file, nf_ydocs *out, char *err,
                  size_t errsz);
void nf_yaml_free(nf_ydocs *d);

/* Map lookup: the value node for KEY, or NULL. */
const nf_ynode *nf_ymap_get(const nf_ynode *map, const char *key);
bool nf_yis_null(const nf_ynode *n);
int nf_yint(const nf_ynode *n, long long *out); /* plain decimal integer */
int nf_ybool(const nf_ynode *n, bool *out);     /* true/false/yes/no/on/off */

/* Formats "FILE:LINE:COL: " + message into ERR. Returns -1. */
int nf_yerr(const nf_ynode *at, char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
