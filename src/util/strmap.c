/*
 * strmap.c -- see strmap.h.  FNV-1a hashing: keys are short topic names
 * and ids from trusted code paths, and the table is resized before it is
 * 3/4 full, so probe chains stay short.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"

uint64_t nf_strhash(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static nf_strmap_slot *find(const nf_strmap *m, const char *key, size_t len, uint64_t h) {
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    nf_strmap_slot *s = &m->slots[i];
    if (!s->key) return s;
    if (s->hash == h && !strncmp(s->key, key, len) && s->key[len] == 0) return s;
  }
}

void *nf_strmap_get(const nf_strmap *m, const char *key, size_t len) {
  if (!m->cap) return NULL;
  nf_strmap_slot *s = find(m, key, len, nf_strhash(key, len));
  return s->key ? s->value : NULL;
}

static int grow(nf_strmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  nf_strmap_slot *old = m->slots, *slots = calloc(cap, sizeof *slots);
  if (!slots) return -1;
  size_t oldcap = m->cap;
  m->slots = slots;
  m->cap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].key) *find(m, old[i].key, strlen(old[i].key), old[i].hash) = old[i];
  free(old);
  return 0;
}

nf_strmap_slot *nf_strmap_put(nf_strmap *m, const char *key, size_t len, void *value) {
  if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0) return NULL;
  uint64_t h = nf_strhash(key, len);
  nf_strmap_slot *s = find(m, key, len, h);
  if (!s->key) {
    if (!(s->key = malloc(len + 1))) return NULL;
    memcpy(s->key, key, len);
    s->key[len] = 0;
    s->hash = h;
    m->n++;
  }
  s->value = value;
  return s;
}

void *nf_strmap_del(nf_strmap *m, const char *key, size_t len) {
  if (!m->cap) return NULL;
  size_t mask = m->cap - 1;
  nf_strmap_slot *s = find(m, key, len, nf_strhash(key, len));
  if (!s->key) return NULL;
  void *value = s->value;
  free(s->key);
  size_t hole = (size_t)(s - m->slots);
  /* Backward shift: move later members of the run into the hole when
   * their home slot does not lie strictly between the hole and them. */
  for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
    size_t home = m->slots[i].hash & mask;
    bool between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (between) continue;
    m->slots[hole] = m->slots[i];
    hole = i;
  }
  m->slots[hole] = (nf_strmap_slot){0};
  m->n--;
  return value;
}

void nf_strmap_free(nf_strmap *m, void (*free_value)(void *)) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) {
      free(m->slots[i].key);
      if (free_value) free_value(m->slots[i].value);
    }
  free(m->slots);
  memset(m, 0, sizeof *m);
}
