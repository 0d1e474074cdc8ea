/*
 * fuzz-framing: the ingest framer (src/ingest/framing.h), a pure state
 * machine fed by the daemon with whatever each read returned.
 *
 * Input layout: bytes 0-1 choose MAX (1..4096), bytes 2-5 a cycle of four
 * piece sizes (0..255; a 0 feeds an empty piece); the rest is the stream.
 * The stream is fed in those pieces, each from an exactly-sized heap copy
 * (so ASan catches a read past what was fed), and checked:
 *   - every OK frame is at most MAX bytes and lies inside the piece being
 *     fed or inside the framer's own buffer; TOO_LONG events carry no
 *     pointer and a size over MAX;
 *   - nf_framer_buffered() stays within MAX + 3 (a partial 4-byte msgpack
 *     header) and the buffer's capacity within what MAX requires;
 *   - the events are the same as when the whole stream is fed at once:
 *     framing must not depend on how TCP split the bytes.
 * Each OK frame then goes where ingest/conn.c sends it: the auth check
 * (nfd_auth_frame, then nfd_tokens_check on a token it finds) and the
 * decoder of its framing, a rejected item through the error answer check.
 */
#include <unistd.h>

#include "fuzz_common.h"
#include "ingest/auth.h"
#include "ingest/framing.h"

typedef struct event {
  nf_fevent ev;
  size_t n;
  size_t off; /* into rec.bytes (OK frames) */
} event;

typedef struct rec {
  nf_framer *f;
  const char *piece;
  size_t piece_n;
  bool decode;
  event *ev;
  size_t n, cap;
  nf_buf bytes;
} rec;

/* The daemon's token table, loaded from a file as ingest.tokens_file is. */
#define SECRET "s3cret-token-0123456789"
static nfd_tokens tokens;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  char path[] = "/tmp/nf-fuzz-tokens.XXXXXX", err[512];
  int fd = mkstemp(path); /* mode 0600, as nfd_tokens_load requires */
  static const char text[] = "# producers\nfuzz:" SECRET "\nother:another-token-abcdefgh\n";
  if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1)) abort();
  close(fd);
  int rc = nfd_tokens_load(path, &tokens, err, sizeof err);
  unlink(path);
  if (rc < 0 || tokens.n != 2) {
    fprintf(stderr, "nfd_tokens_load: %s\n", err);
    abort();
  }
  return 0;
}

static void decode_frame(const nf_framer *f, const char *p, size_t n) {
  char token[300];
  if (nfd_auth_frame(f->mode == NF_FM_JSON, p, n, token, sizeof token)) {
    size_t len = strnlen(token, sizeof token);
    FZ_CHECK(len < sizeof token, "auth token not NUL-terminated");
    const char *name = nfd_tokens_check(&tokens, token, len);
    bool match = len == strlen(SECRET) && !memcmp(token, SECRET, len);
    FZ_CHECK(!name == !match && (!name || !strcmp(name, "fuzz")),
             "nfd_tokens_check answered %s for token '%s'", name ? name : "(none)", token);
    return;
  }
  nf_limits lim = nf_limits_default();
  lim.max_item_bytes = f->max;
  nf_item it;
  nf_error err;
  nf_item_init(&it);
  int rc = f->mode == NF_FM_JSON ? nf_item_from_json(&it, p, n, &lim, NF_FROM_PRODUCER, &err)
                                 : nf_item_from_msgpack(&it, p, n, &lim, NF_FROM_PRODUCER, &err);
  if (rc < 0) fz_check_error(&err);
  nf_item_clear(&it);
}

static int on_frame(void *ctx, nf_fevent ev, const char *p, size_t n) {
  rec *r = ctx;
  const nf_framer *f = r->f;
  if (ev == NF_FRAME_OK) {
    FZ_CHECK(n <= f->max, "frame of %zu bytes over max %zu", n, f->max);
    bool in_piece = p >= r->piece && p + n <= r->piece + r->piece_n;
    bool in_buf = f->acc.data && p >= f->acc.data && p + n <= f->acc.data + f->acc.len;
    FZ_CHECK(in_piece || in_buf || (n == 0 && p == r->piece + r->piece_n),
             "frame of %zu bytes points neither into the piece fed nor into the buffer", n);
    FZ_CHECK(f->mode == NF_FM_JSON || f->mode == NF_FM_MSGPACK, "frame in mode %d", f->mode);
    if (f->mode == NF_FM_JSON && n) {
      FZ_CHECK(!memchr(p, '\n', n), "JSON line with a newline inside");
      FZ_CHECK(p[0] != ' ' && p[0] != '\t' && p[0] != '\r' && p[n - 1] != ' ' && p[n - 1] != '\t' &&
                   p[n - 1] != '\r',
               "JSON line not trimmed");
    }
    FZ_CHECK(f->mode != NF_FM_JSON || n > 0, "empty JSON line handed out");
  } else {
    FZ_CHECK(ev == NF_FRAME_TOO_LONG, "unknown event %d", ev);
    FZ_CHECK(p == NULL, "TOO_LONG with a pointer");
    FZ_CHECK(n > f->max, "TOO_LONG of %zu bytes, max is %zu", n, f->max);
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 64;
    event *e = realloc(r->ev, cap * sizeof *e);
    FZ_CHECK(e != NULL, "out of memory");
    r->ev = e;
    r->cap = cap;
  }
  r->ev[r->n++] = (event){.ev = ev, .n = n, .off = r->bytes.len};
  if (ev == NF_FRAME_OK) nf_buf_append(&r->bytes, p, n);
  if (r->decode && ev == NF_FRAME_OK) decode_frame(f, p, n);
  return 0;
}

static void check_state(const nf_framer *f) {
  FZ_CHECK(nf_framer_buffered(f) <= f->max + 3, "%zu bytes buffered, max %zu",
           nf_framer_buffered(f), f->max);
  size_t cap_max = f->max < 128 ? 256 : 2 * f->max;
  FZ_CHECK(f->acc.cap <= cap_max, "buffer capacity %zu for max %zu", f->acc.cap, f->max);
}

/* Feeds P[0..N) in pieces of sizes SIZES[0..3], cyclically; returns the
 * last feed's result. */
static int feed(rec *r, const uint8_t *p, size_t n, const uint8_t sizes[4]) {
  int rc = 0;
  size_t i = 0, k = 0;
  while (i < n || k == 0) {
    size_t want = sizes ? sizes[k % 4] : n;
    k++;
    if (want > n - i) want = n - i;
    char *piece = malloc(want ? want : 1);
    FZ_CHECK(piece != NULL, "out of memory");
    if (want) memcpy(piece, p + i, want);
    r->piece = piece;
    r->piece_n = want;
    rc = nf_framer_feed(r->f, piece, want, on_frame, r);
    free(piece);
    r->piece = NULL;
    FZ_CHECK(rc == 0 || rc == -1, "nf_framer_feed returned %d", rc);
    check_state(r->f);
    i += want;
    if (rc < 0) break; /* the connection is refused or out of memory */
    if (k > 4 * (n + 1)) break;
  }
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 6) return 0;
  size_t max = 1 + (((size_t)data[0] << 8 | data[1]) % 4096);
  uint8_t sizes[4];
  memcpy(sizes, data + 2, 4);
  if (!(sizes[0] | sizes[1] | sizes[2] | sizes[3])) sizes[0] = 1;
  const uint8_t *s = data + 6;
  size_t n = size - 6;

  nf_framer f1, f2;
  nf_framer_init(&f1, max);
  nf_framer_init(&f2, max);
  rec r1 = {.f = &f1, .decode = true}, r2 = {.f = &f2};
  int rc1 = feed(&r1, s, n, sizes);
  int rc2 = feed(&r2, s, n, NULL);

  FZ_CHECK(f1.mode == f2.mode, "mode %d split vs %d whole", f1.mode, f2.mode);
  FZ_CHECK((rc1 < 0) == (rc2 < 0), "feed result %d split vs %d whole", rc1, rc2);
  FZ_CHECK(nf_framer_buffered(&f1) == nf_framer_buffered(&f2),
           "%zu bytes left buffered split vs %zu whole", nf_framer_buffered(&f1),
           nf_framer_buffered(&f2));
  FZ_CHECK(r1.n == r2.n, "%zu events split vs %zu whole", r1.n, r2.n);
  for (size_t i = 0; i < r1.n; i++) {
    const event *a = &r1.ev[i], *b = &r2.ev[i];
    FZ_CHECK(a->ev == b->ev && a->n == b->n, "event %zu: %d/%zu split vs %d/%zu whole", i, a->ev,
             a->n, b->ev, b->n);
    FZ_CHECK(a->ev != NF_FRAME_OK || !a->n ||
                 !memcmp(r1.bytes.data + a->off, r2.bytes.data + b->off, a->n),
             "event %zu: frame bytes differ split vs whole", i);
  }
  free(r1.ev);
  free(r2.ev);
  nf_buf_free(&r1.bytes);
  nf_buf_free(&r2.bytes);
  nf_framer_free(&f1);
  nf_framer_free(&f2);
  return 0;
}
