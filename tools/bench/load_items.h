/*
 * load_items.h -- what `newsfeed-bench load` sends (load_items.c): a pool
 * of realistic items built from the built-in labelled corpus, and the meta
 * map each item carries so a subscriber can time it.  Private to load.c.
 */
#ifndef NF_TOOLS_BENCH_LOAD_ITEMS_H
#define NF_TOOLS_BENCH_LOAD_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct load_item {
  char *title, *body;
  const char *source, *lang;
  bool flash;
} load_item;

typedef struct load_pool {
  load_item *it;
  size_t n;
  size_t bytes; /* title and body bytes over the pool */
} load_pool;

/* ITEMS items, deterministic for SEED: 90% flashes of 150-400 bytes (or all
 * flashes, of SIZE bytes when SIZE > 0, with FLASH_ONLY), 10% articles of
 * 2-20 KB, about 60% Chinese. */
void load_pool_build(load_pool *pl, bool flash_only, int size, uint64_t seed, int items);

/* meta {"run": RUN, "t": T, "w": WARM} as msgpack into OUT (>= 64 bytes);
 * returns its length.  The decoder reads only that shape. */
size_t load_meta_encode(uint8_t *out, uint64_t run, uint64_t t, bool warm);
bool load_meta_decode(const uint8_t *m, size_t len, uint64_t *run, uint64_t *t, bool *warm);

#endif
