/*
 * item.c -- the item model: its arena, defaults, names and ids.
 *
 * Every byte an item points at lives in the item's arena: a list of blocks
 * bump-allocated and released together.  Decoding an item therefore costs
 * one or two mallocs however many fields it has, and freeing it cannot
 * leak a field.  Blocks grow geometrically; a request larger than a block
 * gets a block of its own.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/internal.h"

struct nf_arena_block {
  struct nf_arena_block *next;
  size_t used, cap;
  max_align_t data[]; /* aligned payload */
};

#define ARENA_FIRST 1024

void *nf_item_alloc(nf_item *it, size_t n) {
  struct nf_arena_block *b = it->arena.head;
  n = (n + 15) & ~(size_t)15;
  if (!b || b->cap - b->used < n) {
    size_t cap = b ? b->cap * 2 : ARENA_FIRST;
    if (cap < n) cap = n;
    struct nf_arena_block *nb = malloc(sizeof *nb + cap);
    if (!nb) return NULL;
    nb->used = 0;
    nb->cap = cap;
    nb->next = b;
    it->arena.head = b = nb;
  }
  void *p = (char *)b->data + b->used;
  b->used += n;
  return p;
}

const char *nf_item_strdup(nf_item *it, const char *s, size_t len) {
  char *p = nf_item_alloc(it, len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = 0;
  return p;
}

void nf_item_init(nf_item *it) {
  memset(it, 0, sizeof *it);
  it->kind = NF_KIND_ARTICLE;
  it->priority = NF_PRIORITY_DEFAULT;
}

void nf_item_clear(nf_item *it) {
  struct nf_arena_block *b = it->arena.head;
  while (b) {
    struct nf_arena_block *next = b->next;
    free(b);
    b = next;
  }
  nf_item_init(it);
}

nf_limits nf_limits_default(void) {
  nf_limits l = {
      .max_item_bytes = 1u << 20,
      .max_title_bytes = 4096,
      .max_field_bytes = 1024,
      .max_url_bytes = 8192,
      .max_symbols = 64,
      .max_meta_depth = 8,
      .max_meta_items = 1024,
  };
  return l;
}

const char *nf_kind_name(nf_kind k) {
  return k == NF_KIND_FLASH ? "flash" : "article";
}

int nf_kind_parse(const char *s, nf_kind *out) {
  if (!strcmp(s, "article")) *out = NF_KIND_ARTICLE;
  else if (!strcmp(s, "flash") || !strcmp(s, "ticker")) *out = NF_KIND_FLASH;
  else return -1;
  return 0;
}

bool nf_topic_valid(const char *s, size_t len) {
  return nf__dotted_name_valid(s, len, NF_TOPIC_MAX);
}

bool nf__dotted_name_valid(const char *s, size_t len, size_t max) {
  if (len < 1 || len > max) return false;
  bool seg_empty = true;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '.') {
      if (seg_empty) return false;
      seg_empty = true;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-') {
      seg_empty = false;
    } else {
      return false;
    }
  }
  return !seg_empty;
}

/* Ids: 48 bits of milliseconds then 80 bits that start random in each new
 * millisecond and increase by one within it, in Crockford base32.  Sorting
 * the strings sorts by time, and ids from one generator never repeat. */
static void fill_random(uint8_t *p, size_t n) {
  if (getrandom(p, n, 0) != (ssize_t)n)
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rand();
}

void nf_id_generate(nf_idgen *st, int64_t now_ms, char out[27]) {
  static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  uint64_t ms = now_ms < 0 ? 0 : (uint64_t)now_ms;
  if (st->started && ms <= st->last_ms) {
    ms = st->last_ms; /* clock went back or same ms: keep increasing */
    int i = 9;
    while (i >= 0 && ++st->rnd[i] == 0) i--;
    if (i < 0) ms = ++st->last_ms; /* 80-bit overflow: borrow next ms */
  } else {
    fill_random(st->rnd, sizeof st->rnd);
    st->rnd[0] &= 0x7F; /* leave headroom so increments rarely overflow */
    st->last_ms = ms;
    st->started = true;
  }
  /* 128 bits: 48 of time + 80 of rnd, as 26 base32 digits (130 bits, the
   * first digit holding the top 3): digit I is bits [125 - 5I, 130 - 5I). */
  uint64_t hi = ms << 16 | (uint64_t)st->rnd[0] << 8 | st->rnd[1], lo = 0;
  for (int i = 2; i < 10; i++) lo = lo << 8 | st->rnd[i];
  for (int i = 0; i < 26; i++) {
    int s = 125 - 5 * i;
    uint64_t d = s >= 64 ? hi >> (s - 64) : s == 0 ? lo : lo >> s | hi << (64 - s);
    out[i] = b32[d & 31];
  }
  out[26] = 0;
}
