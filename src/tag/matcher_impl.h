/*
 * matcher_impl.h -- private to the matcher: the compiled form shared by
 * compile (matcher.c) and scan (matcher_scan.c).  See the top comment of
 * matcher.c for the design.
 */
#ifndef NF_TAG_MATCHER_IMPL_H
#define NF_TAG_MATCHER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "matcher.h"

#define TERM_MAX 255

/* Dense entries: a row offset and two flags. */
#define D_ATTN 0x80000000u
#define D_ESC 0x40000000u
#define D_OFF 0x3FFFFFFFu

/* Sparse lane values. */
#define SPARSE_BIT 0x40000000u
#define ID_MASK 0x3FFFFFFFu

/* Side columns after the nclass transitions of each dense row; X_FLAGS
 * holds OF_* | depth << 8. */
enum { X_FLAGS, X_ID, X_FR_LO, X_FR_HI, X_COLS };
#define DEPTH_SHIFT 8

/* Per-state reporting flags. */
#define OF_NOW 1u   /* reports when entered */
#define OF_LATER 2u /* reports if the next byte is not alphanumeric */

enum { START_ALNUM = 1, END_ALNUM = 2 };

/* A term waiting for compile: LEN bytes at arena[off]. */
typedef struct pending {
  uint32_t off;
  uint32_t len;
  uint32_t value;
} pending;

/* A sparse state (see the top comment). */
typedef struct srec {
  uint32_t fail; /* lane value of the failure target */
  uint32_t end;  /* id just past this state's subtree */
  uint8_t label; /* byte on the edge into this state */
  uint8_t of;    /* OF_NOW / OF_LATER */
  uint8_t depth; /* length of the path from the root */
} srec;

/* A term as reported. */
typedef struct output {
  uint32_t value;
  uint8_t len;
  uint8_t flags;
} output;

struct nf_matcher {
  /* Before compile. */
  char *arena;
  size_t arena_len, arena_cap;
  pending *terms;
  size_t nterms, terms_cap;
  size_t dense_limit;
  int compiled;

  /* After compile. */
  uint8_t cls[256];
  uint32_t nclass;  /* transitions per row */
  uint32_t width;   /* row width: nclass + X_COLS */
  uint32_t ndense;  /* K */
  uint32_t nstates; /* N */
  uint32_t maxlen;  /* longest term: how far back a state depends */
  /* The scan-time arrays share one block, so that a big automaton sits
   * in as few (huge) pages as possible. */
  void *blob;
  uint32_t *dense; /* K rows of width entries */
  srec *sp;        /* [id - K] */
  /* Sparse children of dense states ("frontier"), in BFS order; those of
   * a dense row are [row[X_FR_LO], row[X_FR_HI]). */
  uint8_t *fr_label;
  uint32_t *fr_val;
  uint32_t *out_start; /* N + 1 */
  uint32_t *out_link;  /* N */
  output *outs;        /* nterms */
  size_t bytes;        /* memory held once compiled */
};

static inline int is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

#endif
