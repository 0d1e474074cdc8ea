/*
 * journal.c -- the append-only journal: what the daemon acknowledged
 * survives a crash (SPEC section 7, issue "delivery guarantees").
 *
 * Layout: DATA_DIR/journal/<start>.nfj segment files, <start> being the
 * journal position (bytes since the journal began) of the segment's first
 * byte, zero-padded to 20 digits so names sort by position.  A segment is
 * a 16-byte header ("NFJ1", version, start) and records:
 *
 *     u32 length | u32 CRC32C(payload) | payload (one msgpack map)
 *
 *     {k:"e", t:TOPIC, e:EPOCH}                     a topic's numbering
 *     {k:"i", id, r:RECEIVED, n:N, c:BIN, b:BIN?,   an accepted item: its
 *      t:[TOPIC...], s:[SEQ...]}                    packed fields (c: all
 *                                                   but body, N pairs; b:
 *                                                   the body pair) and seqs
 *
 * Write path (loop thread): the records of one pipeline run go out in one
 * write(); a failed or short write is cut back with ftruncate, so a disk
 * that is full produces error answers and a journal without half records,
 * and the next write tries again.  Durability runs beside it: fdatasync
 * happens on libuv's thread pool, and answers wait (ingest/conn.c) until
 * the position they need is durable.
 *   fsync: always  sync as soon as a write lands; writes that arrive during
 *                  a sync share the next one (group commit);
 *          batch   the same, but wait journal.batch_ms first, so that many
 *                  runs share one sync;
 *          never   answers go at once; the OS writes back when it likes.
 *
 * Recovery (start): segments are read in order, every record's CRC is
 * checked, and each record is replayed into the topics (seq, epoch), the
 * history and the dedup window.  A bad record at the tail of the last
 * segment is a torn write: the file is cut there with a warning.  Records
 * after a cut may have been published before the crash, so every topic
 * then gets a new epoch, which tells subscribers their numbering restarted.
 *
 * Retention: a segment is closed at journal.segment_bytes; closed segments
 * are deleted, oldest first, while the journal is larger than
 * journal.max_bytes or the segment is older than journal.retention_hours.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "daemon/nfd.h"

#define HDR 16
#define REC_MAX (64u << 20)

typedef struct segment {
  uint64_t start;
  char path[4096];
} segment;

struct nfd_journal {
  nfd *d;
  char dir[4096];
  int fd, dirfd;
  uint64_t seg_start, seg_size; /* active segment */
  uint64_t written, durable;    /* journal positions */
  uint64_t sync_target;         /* position the running sync covers */
  bool syncing, timer_armed, failed_sync, rotate_after_sync;
  int sync_result;
  uv_work_t work;
  uv_timer_t timer;
  nf_buf rec;
  nfd_topic **marked; /* topics whose epoch record is in REC */
  size_t n_marked, cap_marked;
  uint32_t crc_table[256];
  enum { FS_ALWAYS, FS_BATCH, FS_NEVER } policy;
};

/* ---- CRC32C (Castagnoli): no Debian library offers it, and it is a few
 * lines -- the SSE4.2 instruction where the CPU has it (8 bytes a step),
 * a table otherwise. ------------------------------------------------------- */

static void crc_init(uint32_t *t) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, b += 8) {
    uint64_t v;
    memcpy(&v, b, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  uint32_t c32 = (uint32_t)c;
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *b++);
  return c32 ^ 0xFFFFFFFFu;
}
#endif

static uint32_t crc32c(const uint32_t *t, const void *p, size_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return crc32c_hw(p, n);
#endif
  const uint8_t *b = p;
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = t[(c ^ *b++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- segments ----------------------------------------------------------- */

static int cmp_seg(const void *a, const void *b) {
  const segment *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Lists the segments in order; *N gets the count.  Caller frees. */
static segment *list_segments(const char *dir, size_t *n) {
  DIR *dp = opendir(dir);
  segment *v = NULL;
  size_t cap = 0;
  *n = 0;
  if (!dp) return NULL;
  struct dirent *e;
  while ((e = readdir(dp))) {
    size_t len = strlen(e->d_name);
    char *end;
    if (len != 24 || strcmp(e->d_name + 20, ".nfj")) continue;
    unsigned long long start = strtoull(e->d_name, &end, 10);
    if (end != e->d_name + 20) continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      segment *nv = realloc(v, cap * sizeof *nv);
      if (!nv) break;
      v = nv;
    }
    v[*n].start = start;
    snprintf(v[*n].path, sizeof v[*n].path, "%s/%s", dir, e->d_name);
    (*n)++;
  }
  closedir(dp);
  if (v) qsort(v, *n, sizeof *v, cmp_seg);
  return v;
}

static int open_segment(struct nfd_journal *j, uint64_t start, char *err, size_t errsz) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%020llu.nfj", j->dir, (unsigned long long)start);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return snprintf(err, errsz, "journal: %s: %s", path, strerror(errno)), -1;
  uint8_t h[HDR] = {'N', 'F', 'J', '1', 0, 0, 0, 1};
  put32(h + 8, (uint32_t)(start >> 32));
  put32(h + 12, (uint32_t)start);
  if (write(fd, h, HDR) != HDR || fdatasync(fd) < 0 || fsync(j->dirfd) < 0) {
    snprintf(err, errsz, "journal: %s: %s", path, strerror(errno));
    close(fd);
    unlink(path);
    return -1;
  }
  j->fd = fd;
  j->seg_start = start;
  j->seg_size = HDR;
  return 0;
}

static void retention(struct nfd_journal *j) {
  nfd *d = j->d;
  size_t n;
  segment *v = list_segments(j->dir, &n);
  uint64_t total = j->written - (n ? v[0].start : j->written);
  time_t now = time(NULL);
  for (size_t i = 0; i + 1 < n; i++) { /* never the active (last) one */
    struct stat st;
    bool old = stat(v[i].path, &st) == 0 &&
               now - st.st_mtime > (time_t)d->cfg.journal_retention_hours * 3600;
    if (total <= (uint64_t)d->cfg.journal_max_bytes && !old) break;
    total -= v[i + 1].start - v[i].start;
    if (unlink(v[i].path) == 0) nfd_log(d, NFD_INFO, "journal: removed %s (retention)", v[i].path);
  }
  free(v);
}

static void rotate(struct nfd_journal *j) {
  char err[512];
  if (fdatasync(j->fd) < 0) {
    nfd_log(j->d, NFD_ERROR, "journal: fdatasync: %s", strerror(errno));
    return; /* keep writing to this segment; try again next time */
  }
  int old = j->fd;
  if (j->written > j->durable) { /* the old segment is synced: say so */
    j->durable = j->written;
    nfd_ingest_durable(j->d, j->durable, false);
  }
  if (open_segment(j, j->written, err, sizeof err) < 0) {
    nfd_log(j->d, NFD_ERROR, "%s", err);
    j->fd = old;
    return;
  }
  close(old);
  j->written = j->seg_start + j->seg_size;
  retention(j);
}

/* ---- durability --------------------------------------------------------- */

static void start_sync(struct nfd_journal *j);

static void sync_work(uv_work_t *w) {
  struct nfd_journal *j = w->data;
  j->sync_result = fdatasync(j->fd) < 0 ? errno : 0;
}

static void sync_done(uv_work_t *w, int status) {
  struct nfd_journal *j = w->data;
  nfd *d = j->d;
  j->syncing = false;
  atomic_fetch_add(&d->m.fsyncs, 1);
  if (status == 0 && j->sync_result == 0) {
    j->durable = j->sync_target;
    nfd_ingest_durable(d, j->durable, false);
  } else {
    atomic_fetch_add(&d->m.journal_errors, 1);
    nfd_log(d, NFD_ERROR, "journal: fdatasync failed: %s; answers waiting for it are dropped",
            strerror(status ? ECANCELED : j->sync_result));
    nfd_ingest_durable(d, j->sync_target, true);
  }
  if (j->rotate_after_sync) {
    j->rotate_after_sync = false;
    rotate(j);
  }
  if (j->written > j->durable) start_sync(j);
}

static void on_timer(uv_timer_t *t) {
  struct nfd_journal *j = t->data;
  j->timer_armed = false;
  if (!j->syncing && j->written > j->durable) {
    j->syncing = true;
    j->sync_target = j->written;
    uv_queue_work(&j->d->loop, &j->work, sync_work, sync_done);
  }
}

/* Arranges for everything written so far to become durable. */
static void start_sync(struct nfd_journal *j) {
  if (j->policy == FS_NEVER) {
    j->durable = j->written;
    return;
  }
  if (j->syncing || j->timer_armed) return; /* the next sync will cover it */
  if (j->policy == FS_BATCH && !j->d->stopping) {
    j->timer_armed = true;
    uv_timer_start(&j->timer, on_timer, (uint64_t)j->d->cfg.journal_batch_ms, 0);
    return;
  }
  on_timer(&j->timer);
}

void nfd_journal_flush_now(nfd *d) {
  struct nfd_journal *j = d->journal;
  if (!j) return;
  if (j->timer_armed) {
    uv_timer_stop(&j->timer);
    on_timer(&j->timer);
  } else if (j->written > j->durable) {
    start_sync(j);
  }
}

uint64_t nfd_journal_durable(const nfd *d) {
  return d->journal ? d->journal->durable : UINT64_MAX;
}

/* ---- appending ---------------------------------------------------------- */

static int rec_begin(nf_buf *b, size_t *at) {
  *at = b->len;
  return nf_buf_append(b, "\0\0\0\0\0\0\0\0", 8);
}

static void rec_end(struct nfd_journal *j, nf_buf *b, size_t at) {
  uint8_t *p = (uint8_t *)b->data + at;
  size_t len = b->len - at - 8;
  put32(p, (uint32_t)len);
  put32(p + 4, crc32c(j->crc_table, p + 8, len));
}

static int epoch_record(struct nfd_journal *j, const nfd_topic *t) {
  nf_buf *b = &j->rec;
  size_t at;
  int rc = rec_begin(b, &at) || nf__mp_map(b, 3);
  rc |= nf__mp_cstr(b, "k") || nf__mp_cstr(b, "e");
  rc |= nf__mp_cstr(b, "t") || nf__mp_cstr(b, t->name);
  rc |= nf__mp_cstr(b, "e") || nf__mp_uint(b, t->epoch);
  if (!rc) rec_end(j, b, at);
  return rc;
}

static int bin(nf_buf *b, const void *p, size_t n) {
  uint8_t h[5] = {0xc6}; /* bin32 */
  put32(h + 1, (uint32_t)n);
  return nf_buf_append(b, h, 5) || nf_buf_append(b, p, n);
}

static int item_record(struct nfd_journal *j, const nfd_job *job) {
  nf_buf *b = &j->rec;
  const nf_item *it = &job->item;
  size_t at;
  bool body = job->enc_body.len > 0;
  int rc = rec_begin(b, &at) || nf__mp_map(b, 7 + body);
  rc |= nf__mp_cstr(b, "k") || nf__mp_cstr(b, "i");
  rc |= nf__mp_cstr(b, "id") || nf__mp_cstr(b, it->id);
  rc |= nf__mp_cstr(b, "r") || nf__mp_int(b, it->received);
  rc |= nf__mp_cstr(b, "n") || nf__mp_uint(b, job->n_enc);
  rc |= nf__mp_cstr(b, "c") || bin(b, job->enc.data, job->enc.len);
  if (body) rc |= nf__mp_cstr(b, "b") || bin(b, job->enc_body.data, job->enc_body.len);
  rc |= nf__mp_cstr(b, "t") || nf__mp_array(b, (uint32_t)it->n_topics);
  for (size_t i = 0; i < it->n_topics; i++) rc |= nf__mp_cstr(b, job->tps[i]->name);
  rc |= nf__mp_cstr(b, "s") || nf__mp_array(b, (uint32_t)it->n_topics);
  for (size_t i = 0; i < it->n_topics; i++) rc |= nf__mp_uint(b, job->seqs[i]);
  if (!rc) rec_end(j, b, at);
  return rc;
}

/* Writes all of B, or cuts the file back to where it was. */
static int write_all(struct nfd_journal *j, const nf_buf *b, nf_error *err) {
  size_t off = 0;
  while (off < b->len) {
    ssize_t w = write(j->fd, b->data + off, b->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : ENOSPC;
      if (ftruncate(j->fd, (off_t)j->seg_size) < 0 ||
          lseek(j->fd, (off_t)j->seg_size, SEEK_SET) < 0)
        nfd_log(j->d, NFD_ERROR, "journal: cannot cut back a failed write: %s", strerror(errno));
      return nf_fail(err, "", "journal write failed: %s; item not accepted", strerror(e));
    }
    off += (size_t)w;
  }
  return 0;
}

static int mark(struct nfd_journal *j, nfd_topic *t) {
  if (j->n_marked == j->cap_marked) {
    size_t cap = j->cap_marked ? j->cap_marked * 2 : 16;
    nfd_topic **v = realloc(j->marked, cap * sizeof *v);
    if (!v) return -1;
    j->marked = v;
    j->cap_marked = cap;
  }
  j->marked[j->n_marked++] = t;
  return 0;
}

uint64_t nfd_journal_append(nfd *d, nfd_job *jobs, size_t n, nf_error *err) {
  struct nfd_journal *j = d->journal;
  j->rec.len = 0;
  j->n_marked = 0;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if (!jobs[i].valid) continue;
    for (size_t k = 0; k < jobs[i].item.n_topics && !rc; k++) {
      nfd_topic *t = jobs[i].tps[k];
      if (!t->epoch_journaled) {
        rc = epoch_record(j, t) || mark(j, t);
        t->epoch_journaled = true; /* undone below if the write fails */
      }
    }
    if (!rc) rc = item_record(j, &jobs[i]);
  }
  if (!rc && j->rec.len == 0) return j->written; /* nothing to write */
  if (rc || write_all(j, &j->rec, err) < 0) {
    if (rc) nf_fail(err, "", "out of memory");
    for (size_t i = 0; i < j->n_marked; i++) /* not on disk after all */
      j->marked[i]->epoch_journaled = false;
    atomic_fetch_add(&d->m.journal_errors, 1);
    return 0;
  }
  j->seg_size += j->rec.len;
  j->written += j->rec.len;
  atomic_fetch_add(&d->m.journal_bytes, j->rec.len);
  if (j->seg_size >= (uint64_t)d->cfg.journal_segment_bytes) {
    if (j->syncing) j->rotate_after_sync = true;
    else rotate(j);
  }
  start_sync(j);
  return j->written;
}

/* ---- recovery ----------------------------------------------------------- */

static const msgpack_object *field(const msgpack_object *m, const char *k) {
  for (uint32_t i = 0; i < m->via.map.size; i++) {
    const msgpack_object *key = &m->via.map.ptr[i].key;
    if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
        !memcmp(key->via.str.ptr, k, key->via.str.size))
      return &m->via.map.ptr[i].val;
  }
  return NULL;
}

static bool str_of(const msgpack_object *o, char *out, size_t cap) {
  if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap) return false;
  memcpy(out, o->via.str.ptr, o->via.str.size);
  out[o->via.str.size] = 0;
  return true;
}

static int replay_item(nfd *d, const msgpack_object *m, int64_t now) {
  const msgpack_object *c = field(m, "c"), *b = field(m, "b"), *t = field(m, "t"),
                       *s = field(m, "s"), *n = field(m, "n"), *r = field(m, "r");
  char id[NF_ID_MAX + 1];
  if (!c || c->type != MSGPACK_OBJECT_BIN || !t || t->type != MSGPACK_OBJECT_ARRAY || !s ||
      s->type != MSGPACK_OBJECT_ARRAY || s->via.array.size != t->via.array.size || !n ||
      n->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !str_of(field(m, "id"), id, sizeof id) || !r ||
      (b && b->type != MSGPACK_OBJECT_BIN) || t->via.array.size > 512)
    return -1;
  nfd_topic *tps[512];
  uint64_t seqs[512];
  size_t k = t->via.array.size;
  for (size_t i = 0; i < k; i++) {
    char name[NF_TOPIC_MAX + 1];
    const msgpack_object *sq = &s->via.array.ptr[i];
    if (!str_of(&t->via.array.ptr[i], name, sizeof name) ||
        sq->type != MSGPACK_OBJECT_POSITIVE_INTEGER || !(tps[i] = nfd_topic_get(d, name)))
      return -1;
    seqs[i] = sq->via.u64;
    if (seqs[i] > tps[i]->seq) tps[i]->seq = seqs[i];
  }
  nfd_history_add(d, c->via.bin.ptr, c->via.bin.size, (uint32_t)n->via.u64,
                  b ? b->via.bin.ptr : NULL, b ? b->via.bin.size : 0, tps, seqs, k);
  int64_t received = r->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)r->via.u64 : 0;
  if (received > now - d->cfg.dedup_window_seconds * 1000)
    nfd_dedup_add(d, id, received, tps, seqs, k);
  return 0;
}

static int replay(nfd *d, const uint8_t *p, size_t len, int64_t now) {
  msgpack_unpacked up;
  if (nf__mp_unpack_one(&up, p, len, 16, NULL) < 0) return -1;
  const msgpack_object *m = &up.data;
  char kind[4], topic[NF_TOPIC_MAX + 1];
  int rc = -1;
  if (m->type == MSGPACK_OBJECT_MAP && str_of(field(m, "k"), kind, sizeof kind)) {
    if (!strcmp(kind, "i")) {
      rc = replay_item(d, m, now);
    } else if (!strcmp(kind, "e") && str_of(field(m, "t"), topic, sizeof topic)) {
      const msgpack_object *e = field(m, "e");
      nfd_topic *t = nfd_topic_get(d, topic);
      if (t && e && e->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        t->epoch = e->via.u64;
        t->epoch_journaled = true;
        rc = 0;
      }
    }
  }
  msgpack_unpacked_destroy(&up);
  return rc;
}

/* Reads one segment; returns the offset after its last good record and
 * sets *BAD when it stopped at a bad one. */
static uint64_t scan_segment(struct nfd_journal *j, const segment *sg, uint64_t *records, bool *bad,
                             char *err, size_t errsz) {
  int fd = open(sg->path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  *bad = false;
  if (fd < 0 || fstat(fd, &st) < 0) {
    snprintf(err, errsz, "journal: %s: %s", sg->path, strerror(errno));
    if (fd >= 0) close(fd);
    return 0;
  }
  size_t size = (size_t)st.st_size;
  uint8_t *buf = size ? malloc(size) : NULL;
  size_t got = 0;
  while (buf && got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  uint64_t off = HDR;
  int64_t now = nf_now_ms();
  if (!buf || got < HDR || memcmp(buf, "NFJ1", 4)) {
    *bad = true;
    free(buf);
    return got < HDR ? 0 : HDR;
  }
  while (off + 8 <= got) {
    uint32_t len = get32(buf + off), crc = get32(buf + off + 4);
    if (len > REC_MAX || len > got - off - 8 || crc32c(j->crc_table, buf + off + 8, len) != crc ||
        replay(j->d, buf + off + 8, len, now) < 0)
      break;
    off += 8 + len;
    (*records)++;
  }
  *bad = off != got;
  free(buf);
  return off;
}

/* A cut journal may have lost records that were published: start a new
 * numbering epoch on every topic (journaled with the next write). */
static void new_epochs(nfd *d) {
  uint64_t now = (uint64_t)nf_now_ms();
  for (size_t i = 0; i < d->topics.cap; i++) {
    if (!d->topics.slots[i].key) continue;
    nfd_topic *t = d->topics.slots[i].value;
    t->epoch = now > t->epoch ? now : t->epoch + 1;
    t->epoch_journaled = false;
  }
}

static int recover(struct nfd_journal *j, char *err, size_t errsz) {
  nfd *d = j->d;
  size_t n;
  segment *v = list_segments(j->dir, &n);
  uint64_t records = 0;
  int64_t t0 = nf_now_ms();
  err[0] = 0;
  for (size_t i = 0; i < n; i++) {
    bool bad;
    uint64_t end = scan_segment(j, &v[i], &records, &bad, err, errsz);
    if (err[0]) break;
    if (!bad) continue;
    if (i + 1 < n) {
      nfd_log(d, NFD_ERROR, "journal: %s is damaged at offset %llu; the rest of it is skipped",
              v[i].path, (unsigned long long)end);
    } else {
      nfd_log(d, NFD_WARN, "journal: torn record at the end of %s (offset %llu): truncated",
              v[i].path, (unsigned long long)end);
      if (truncate(v[i].path, (off_t)end) < 0)
        snprintf(err, errsz, "journal: cannot truncate %s: %s", v[i].path, strerror(errno));
    }
    new_epochs(d);
  }
  if (!err[0]) {
    uint64_t next = n ? v[n - 1].start : 0;
    if (n) {
      struct stat st;
      if (stat(v[n - 1].path, &st) == 0) next += (uint64_t)st.st_size;
    }
    /* always write to a fresh segment: the old ones stay as they are */
    if (open_segment(j, next, err, errsz) == 0) {
      j->written = j->durable = j->seg_start + j->seg_size;
      nfd_log(d, NFD_INFO, "journal: %llu records in %zu segments recovered in %lld ms",
              (unsigned long long)records, n, (long long)(nf_now_ms() - t0));
    }
  }
  free(v);
  return err[0] ? -1 : 0;
}

/* ---- open and close ----------------------------------------------------- */

static int make_dirs(const char *path, char *err, size_t errsz) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0750) < 0 && errno != EEXIST) break;
    *p = '/';
  }
  if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
    return snprintf(err, errsz, "data_dir: cannot create %s: %s (set --data-dir)", path,
                    strerror(errno)),
           -1;
  return 0;
}

int nfd_journal_open(nfd *d, char *err, size_t errsz) {
  struct nfd_journal *j = calloc(1, sizeof *j);
  if (!j) return snprintf(err, errsz, "out of memory"), -1;
  j->d = d;
  j->fd = j->dirfd = -1;
  crc_init(j->crc_table);
  const char *p = d->cfg.journal_fsync;
  j->policy = !strcmp(p, "always") ? FS_ALWAYS : !strcmp(p, "never") ? FS_NEVER : FS_BATCH;
  snprintf(j->dir, sizeof j->dir, "%s/journal", d->cfg.data_dir.value);
  j->work.data = j;
  uv_timer_init(&d->loop, &j->timer);
  j->timer.data = j;
  d->journal = j;
  if (make_dirs(j->dir, err, errsz) < 0) return -1;
  if ((j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return snprintf(err, errsz, "journal: %s: %s", j->dir, strerror(errno)), -1;
  if (recover(j, err, errsz) < 0) return -1;
  nfd_log(d, NFD_INFO, "journal in %s, fsync %s", j->dir, p);
  return 0;
}

void nfd_journal_close(nfd *d) {
  struct nfd_journal *j = d->journal;
  if (!j) return;
  if (j->fd >= 0) {
    if (j->written > j->durable && fdatasync(j->fd) < 0)
      nfd_log(d, NFD_ERROR, "journal: final fdatasync: %s", strerror(errno));
    close(j->fd);
  }
  if (j->dirfd >= 0) close(j->dirfd);
  nf_buf_free(&j->rec);
  free(j->marked);
  free(j);
  d->journal = NULL;
}
