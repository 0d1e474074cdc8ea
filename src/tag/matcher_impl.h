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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* A term during compile, for sorting (matcher.c) and the prefilter. */
typedef struct nf__sort_key {
  const uint8_t *p;
  uint32_t len;
  uint32_t idx;
} nf__sort_key;

/* The prefilter engine (matcher_pre.c): probe lengths, and tab bits. */
#define PROBES 6
#define PRE_ALNUM 0x80u
#define PRE_START 0x40u
#define PUNCT_MAX 4
extern const uint8_t nf__probe_len[PROBES];

/* A distinct term in a prefilter bucket. */
typedef struct nf__pre_term {
  uint64_t head;  /* first min(len, 8) bytes, little-endian, zero-padded */
  uint64_t head2; /* the next up to 8 bytes, the same way */
  uint32_t off;   /* its bytes in pool */
  uint32_t out;   /* its values: vals[out, out + nout), add order */
  uint32_t nout;
  uint8_t len, probe, flags; /* probe: index into nf__probe_len */
} nf__pre_term;

typedef struct nf__pre {
  uint8_t tab[256];     /* per first byte: its probes (bits), PRE_*  */
  uint64_t keymask[32]; /* per probe id: the key bytes of a text word */
  /* For the first pass: probe ids j1 | j2 << 8 | which may pass << 16
   * (bit 2: more probes than two), per word length and per first byte. */
  uint32_t wordinfo[16], byteinfo[256];
  unsigned fshift; /* 64 - fbits */
#if defined(__SSE2__)
  /* Classes of non-alphanumeric first bytes, for block_masks. */
  __m128i sse_lead, sse_cont, sse_punct_all;
  unsigned npunct;
  uint8_t punct[PUNCT_MAX];
#endif
  uint64_t mask1[TERM_MAX + 1], mask2[TERM_MAX + 1]; /* per length: bytes 0-7, 8-15 */
  unsigned fbits;    /* filter of 2^fbits bits: top fbits of the hash */
  unsigned bbits;    /* 2^bbits buckets: top bbits of the hash */
  uint64_t *filter;  /* 2^fbits bits */
  uint32_t *bstart;  /* 2^bbits + 1 */
  nf__pre_term *ent; /* by bucket */
  uint32_t *vals;    /* values of the entries */
  uint8_t *pool;     /* bytes of the entries */
  size_t bytes;
} nf__pre;

/* Which engine scans (nf__matcher_set_engine, for tests and benchmarks). */
enum { NF__ENGINE_AUTO, NF__ENGINE_AC, NF__ENGINE_PRE };

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
  int engine;          /* NF__ENGINE_*; after compile AC or PRE */
  int dense_auto;      /* dense_limit is the default, not set by the caller */
  nf__pre *pre;        /* the prefilter engine, if it scans */
};

static inline int is_alnum(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Forces an engine (before compile); returns 0, or -1 after compile. */
int nf__matcher_set_engine(nf_matcher *m, int engine);
/* The automaton's scan (matcher_scan.c), whatever the engine. */
void nf__ac_scan(const nf_matcher *m, const uint8_t *t, size_t len, nf_match_cb cb, void *ctx);
/* The prefilter engine: build from the sorted terms, free, scan. */
int nf__pre_build(nf_matcher *m, const nf__sort_key *keys, size_t n);
void nf__pre_free(nf__pre *pr);
void nf__pre_scan(const nf_matcher *m, const uint8_t *t, size_t len, nf_match_cb cb, void *ctx);

#endif
