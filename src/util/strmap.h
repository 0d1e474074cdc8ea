/*
 * strmap.h -- an open-addressing hash map from strings to pointers.
 *
 * Keys are copied and owned by the map; values are the caller's.  Linear
 * probing over a power-of-two table kept at most 3/4 full; deletion
 * shifts the following entries of the probe run back (no tombstones).
 */
#ifndef NF_UTIL_STRMAP_H
#define NF_UTIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct nf_strmap_slot {
  char *key;
  uint64_t hash;
  void *value;
} nf_strmap_slot;

typedef struct nf_strmap {
  nf_strmap_slot *slots;
  size_t cap, n;
} nf_strmap;

uint64_t nf_strhash(const char *s, size_t len);
void *nf_strmap_get(const nf_strmap *m, const char *key, size_t len);
/* Inserts or replaces; returns the slot (its key is the map's copy), or
 * NULL when out of memory. */
nf_strmap_slot *nf_strmap_put(nf_strmap *m, const char *key, size_t len, void *value);
/* Removes KEY; returns its value (NULL if absent). */
void *nf_strmap_del(nf_strmap *m, const char *key, size_t len);
void nf_strmap_free(nf_strmap *m, void (*free_value)(void *));

#endif
