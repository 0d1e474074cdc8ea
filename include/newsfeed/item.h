/*
 * item.h -- the news item and its codecs.
 *
 * An item is what a producer pushes and what a subscriber receives (SPEC
 * section 6).  Producers may set the fields marked (P); the daemon sets the
 * rest.  All strings are valid UTF-8 without NUL bytes; all of an item's
 * memory lives in its own arena, freed at once by nf_item_clear.
 */
#ifndef NEWSFEED_ITEM_H
#define NEWSFEED_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nf_kind { NF_KIND_ARTICLE = 0, NF_KIND_FLASH = 1 } nf_kind;

#define NF_PRIORITY_DEFAULT 5

/* Bump allocator owned by an item (internal layout; do not touch). */
typedef struct nf_arena {
  struct nf_arena_block *head;
} nf_arena;

typedef struct nf_item {
  const char *id;       /* (P) optional from a producer; daemon generates */
  nf_kind kind;         /* (P) "article" (default) or "flash" ("ticker") */
  const char *title;    /* (P) required, non-empty */
  const char *body;     /* (P) optional fields are NULL when absent */
  const char *summary;  /* (P) */
  const char *source;   /* (P) */
  const char *author;   /* (P) */
  const char *url;      /* (P) */
  const char *lang;     /* (P) */
  const char **symbols; /* (P) normalised CODE.EXCHANGE */
  size_t n_symbols;
  const char **topics; /* all topics of the item, set by the daemon */
  size_t n_topics;
  int priority;         /* (P) 1 urgent .. 9 low */
  bool has_priority;    /* the producer set priority explicitly */
  int64_t published;    /* (P) ms since epoch, 0 when absent */
  int64_t received;     /* ms since epoch, stamped by the daemon */
  const char *producer; /* the authenticated producer's name (tokens), or NULL */
  const uint8_t *meta;  /* (P) msgpack-encoded map, passed through */
  size_t meta_len;
  /* Per-message fields, present on items decoded from published messages. */
  const char *topic;
  uint64_t seq;
  uint64_t epoch;
  nf_arena arena;
} nf_item;

/* Limits applied while decoding.  nf_limits_default() gives the defaults. */
typedef struct nf_limits {
  size_t max_item_bytes;   /* encoded item (1 MiB) */
  size_t max_title_bytes;  /* 4 KiB */
  size_t max_field_bytes;  /* short fields: source, author, lang, id (1 KiB) */
  size_t max_url_bytes;    /* 8 KiB */
  size_t max_symbols;      /* 64 */
  unsigned max_meta_depth; /* nesting depth inside meta (8) */
  size_t max_meta_items;   /* total keys+elements inside meta (1024) */
} nf_limits;

nf_limits nf_limits_default(void);

/* Who wrote the bytes being decoded: a producer may only set (P) fields;
 * a published message carries every field. */
typedef enum nf_origin { NF_FROM_PRODUCER, NF_FROM_PUBLISHED } nf_origin;

void nf_item_init(nf_item *it);
void nf_item_clear(nf_item *it); /* frees everything and re-initialises */

/* Copies S (LEN bytes) into the item's arena. */
const char *nf_item_strdup(nf_item *it, const char *s, size_t len);
void *nf_item_alloc(nf_item *it, size_t n);

/* Decoders.  On failure ERR names the field at fault and the item is left
 * in a state fit only for nf_item_clear. */
int nf_item_from_json(nf_item *it, const char *buf, size_t len, const nf_limits *lim,
                      nf_origin origin, struct nf_error *err);
int nf_item_from_msgpack(nf_item *it, const void *buf, size_t len, const nf_limits *lim,
                         nf_origin origin, struct nf_error *err);

/* Checks the fields a producer must get right (title present, priority
 * range, ...).  The decoders call it; exposed for items built by hand. */
int nf_item_validate(const nf_item *it, const nf_limits *lim, struct nf_error *err);

const char *nf_kind_name(nf_kind k);
int nf_kind_parse(const char *s, nf_kind *out); /* accepts "ticker" */

/* Encoders.  FLAGS select what is written. */
enum {
  NF_ENC_NO_BODY = 1u, /* leave out body (the compact headline form) */
  NF_ENC_MESSAGE = 2u, /* add v, topic, seq, epoch (a published message) */
  NF_ENC_DAEMON = 4u,  /* add topics and received */
};
struct nf_buf;
int nf_item_to_msgpack(const nf_item *it, unsigned flags, struct nf_buf *out);
/* One JSON object, no newline. */
int nf_item_to_json(const nf_item *it, unsigned flags, struct nf_buf *out);

/* Is S a valid topic name (1-128 bytes of [A-Za-z0-9._-], dot-separated,
 * no empty segment)? */
bool nf_topic_valid(const char *s, size_t len);

/* Generates a unique id, sortable by time: 26 characters of Crockford
 * base32 (48-bit millisecond time, then 80 bits that increase within a
 * millisecond).  STATE keeps the monotonic part; zero-initialise it. */
typedef struct nf_idgen {
  uint64_t last_ms;
  uint8_t rnd[10];
  bool started;
} nf_idgen;
void nf_id_generate(nf_idgen *st, int64_t now_ms, char out[27]);

int64_t nf_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
