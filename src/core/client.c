/*
 * client.c -- the producer side of ingest, and decoding of published
 * messages for subscribers (see newsfeed/client.h).
 *
 * nf_conn is a plain non-blocking socket driven by poll(): the tools are
 * single-threaded and talk to one daemon, so an event loop library would
 * add nothing.  Writes are queued in OUT and pushed out whenever the
 * caller waits for an answer; that is what lets a producer pipeline
 * thousands of items without both sides blocking on full buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/url.h"

#define MAX_ANSWER (16u << 20)

struct nf_conn {
  int fd;
  nf_framing framing;
  nf_buf out;
  size_t out_off; /* bytes of OUT already written */
  nf_buf in;
  size_t in_off; /* bytes of IN already consumed */
  bool wclosed;  /* the daemon stopped reading: answers may still come */
};

static int wait_fd(int fd, short ev, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = ev};
  int rc;
  do rc = poll(&p, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  return rc;
}

static int connect_fd(const nf_url *u, int timeout_ms, nf_error *err) {
  struct sockaddr_storage ss;
  socklen_t sslen;
  int fd;
  if (u->kind == NF_URL_IPC) {
    struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    strcpy(sun->sun_path, u->path);
    sslen = sizeof *sun;
  } else {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    char port[8];
    snprintf(port, sizeof port, "%d", u->port);
    int gai = getaddrinfo(u->host, port, &hints, &ai);
    if (gai) return nf_fail(err, "", "cannot resolve %s: %s", u->host, gai_strerror(gai));
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    sslen = ai->ai_addrlen;
    freeaddrinfo(ai);
  }
  fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nf_fail(err, "", "socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
    if (errno != EINPROGRESS) goto fail;
    if (wait_fd(fd, POLLOUT, timeout_ms) <= 0) {
      errno = ETIMEDOUT;
      goto fail;
    }
    int soerr = 0;
    socklen_t l = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
    if (soerr) {
      errno = soerr;
      goto fail;
    }
  }
  if (u->kind == NF_URL_TCP) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
fail:
  nf_fail(err, "", "cannot connect: %s", strerror(errno));
  close(fd);
  return -1;
}

int nf_conn_open(nf_conn **out, const char *url, nf_framing framing, int timeout_ms,
                 nf_error *err) {
  nf_url u;
  if (nf_url_parse(url, &u, err) < 0) return -1;
  int fd = connect_fd(&u, timeout_ms, err);
  if (fd < 0) {
    if (err) {
      char m[sizeof err->msg];
      memcpy(m, err->msg, sizeof m);
      nf_fail(err, "", "%.100s: %.150s", url, m);
    }
    return -1;
  }
  nf_conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return nf_fail(err, "", "out of memory");
  }
  c->fd = fd;
  c->framing = framing;
  *out = c;
  return 0;
}

void nf_conn_close(nf_conn *c) {
  if (!c) return;
  close(c->fd);
  nf_buf_free(&c->out);
  nf_buf_free(&c->in);
  free(c);
}

int nf_conn_fd(const nf_conn *c) {
  return c->fd;
}

size_t nf_conn_pending(const nf_conn *c) {
  return c->out.len - c->out_off;
}

/* Writes what it can without blocking.  Once the daemon has closed its
 * side, output is dropped (and the caller told) but answers can still be
 * read: the daemon answers every item it read before closing. */
static int flush_some(nf_conn *c, nf_error *err) {
  if (c->wclosed) c->out_off = c->out.len;
  while (c->out_off < c->out.len) {
    ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EPIPE || errno == ECONNRESET) {
        c->wclosed = true;
        c->out.len = c->out_off = 0;
        return nf_fail(err, "", "connection closed by the daemon (%s)", strerror(errno));
      }
      return nf_fail(err, "", "write: %s", strerror(errno));
    }
    c->out_off += (size_t)n;
  }
  c->out.len = c->out_off = 0;
  return 0;
}

int nf_conn_send_raw(nf_conn *c, const void *p, size_t n, nf_error *err) {
  if (nf_buf_append(&c->out, p, n) < 0) return nf_fail(err, "", "out of memory");
  return flush_some(c, err);
}

int nf_conn_send_item(nf_conn *c, const nf_item *it, nf_error *err) {
  nf_buf *b = &c->out;
  if (c->framing == NF_FRAMING_JSON) {
    if (nf_item_to_json(it, 0, b) < 0 || nf_buf_append(b, "\n", 1) < 0)
      return nf_fail(err, "", "out of memory");
  } else {
    size_t start = b->len;
    if (nf_buf_append(b, "\0\0\0\0", 4) < 0 || nf_item_to_msgpack(it, 0, b) < 0)
      return nf_fail(err, "", "out of memory");
    uint32_t n = (uint32_t)(b->len - start - 4);
    uint8_t *p = (uint8_t *)b->data + start;
    p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
  }
  return flush_some(c, err);
}

/* Parses one answer from IN if a whole one is there: 1 parsed, 0 not yet. */
static int take_answer(nf_conn *c, nf_answer *a, nf_error *err) {
  const char *p = c->in.data + c->in_off;
  size_t avail = c->in.len - c->in_off;
  if (c->framing == NF_FRAMING_JSON) {
    const char *nl = memchr(p, '\n', avail);
    if (!nl) return 0;
    c->in_off += (size_t)(nl - p) + 1;
    return nf_answer_from_json(a, p, (size_t)(nl - p), err) < 0 ? -1 : 1;
  }
  if (avail < 4) return 0;
  const uint8_t *u = (const uint8_t *)p;
  uint32_t n = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
  if (n > MAX_ANSWER) return nf_fail(err, "", "answer frame too large");
  if (avail - 4 < n) return 0;
  c->in_off += 4 + n;
  return nf_answer_from_msgpack(a, p + 4, n, err) < 0 ? -1 : 1;
}

int nf_conn_recv_answer(nf_conn *c, nf_answer *a, int timeout_ms, nf_error *err) {
  int64_t deadline = timeout_ms < 0 ? -1 : nf_now_ms() + timeout_ms;
  for (;;) {
    int got = take_answer(c, a, err);
    if (got) return got < 0 ? -1 : 0;
    if (c->in_off == c->in.len) c->in.len = c->in_off = 0;
    short ev = POLLIN | (nf_conn_pending(c) ? POLLOUT : 0);
    int left = deadline < 0 ? -1 : (int)(deadline - nf_now_ms());
    if (deadline >= 0 && left < 0) left = 0;
    struct pollfd pfd = {.fd = c->fd, .events = ev};
    int rc = poll(&pfd, 1, left);
    if (rc < 0 && errno != EINTR) return nf_fail(err, "", "poll: %s", strerror(errno));
    if (rc == 0 && deadline >= 0 && nf_now_ms() >= deadline) {
      nf_fail(err, "", "timed out waiting for an answer");
      return NF_ETIMEDOUT;
    }
    if (rc <= 0) continue;
    /* Read first: answers already sent must not be lost to a write error. */
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      if (nf_buf_reserve(&c->in, 65536) < 0) return nf_fail(err, "", "out of memory");
      ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
      if (n == 0) return nf_fail(err, "", "connection closed by the daemon");
      if (n < 0 && errno == ECONNRESET)
        return nf_fail(err, "", "connection closed by the daemon (%s)", strerror(errno));
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        return nf_fail(err, "", "read: %s", strerror(errno));
      if (n > 0) {
        c->in.len += (size_t)n;
        continue;
      }
    }
    if ((pfd.revents & POLLOUT) && flush_some(c, err) < 0 && !c->wclosed) return -1;
  }
}

int nf_conn_auth(nf_conn *c, const char *token, int timeout_ms, nf_error *err) {
  nf_buf b = {0};
  int rc;
  if (c->framing == NF_FRAMING_JSON) {
    json_t *o = json_pack("{s:s}", "auth", token);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    rc = s ? nf_buf_append(&b, s, strlen(s)) || nf_buf_append(&b, "\n", 1) : -1;
    free(s);
    json_decref(o);
  } else {
    rc = nf_buf_append(&b, "\0\0\0\0", 4) || nf__mp_map(&b, 1) || nf__mp_cstr(&b, "auth") ||
         nf__mp_cstr(&b, token);
    uint32_t n = (uint32_t)(b.len - 4);
    if (!rc) {
      uint8_t *p = (uint8_t *)b.data;
      p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16);
      p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
    }
  }
  if (!rc) rc = nf_conn_send_raw(c, b.data, b.len, err);
  nf_buf_free(&b);
  if (rc < 0) return -1;
  nf_answer a = {0};
  rc = nf_conn_recv_answer(c, &a, timeout_ms, err);
  if (!rc && !a.ok) rc = nf_fail(err, "auth", "%s", a.error[0] ? a.error : "refused");
  nf_answer_clear(&a);
  return rc;
}

/* ---- subscribers -------------------------------------------------------- */

int nf_sub_prefix(const char *pattern, char *out, size_t outsz) {
  size_t n = strlen(pattern);
  if (!strcmp(pattern, ">")) {
    if (outsz < 1) return -1;
    out[0] = 0;
    return 0;
  }
  if (n >= 2 && !strcmp(pattern + n - 2, ".>")) {
    if (!nf_topic_valid(pattern, n - 2) || n > outsz) return -1;
    memcpy(out, pattern, n - 1); /* keep the dot */
    return (int)(n - 1);
  }
  if (!nf_topic_valid(pattern, n) || n + 1 > outsz) return -1;
  memcpy(out, pattern, n);
  out[n] = 0; /* the separator byte: matches this topic exactly */
  return (int)(n + 1);
}

static int decode_one(const msgpack_object *o, const char *topic, size_t topic_len,
                      const nf_limits *lim, nf_item_cb cb, void *ctx, nf_error *err) {
  nf_item it;
  nf_item_init(&it);
  int rc = nf__item_from_object(&it, o, lim, NF_FROM_PUBLISHED, err);
  if (!rc && (!it.topic || strlen(it.topic) != topic_len || memcmp(it.topic, topic, topic_len)))
    rc = nf_fail(err, "topic", "message topic does not match its prefix");
  if (!rc) rc = cb(ctx, &it) ? 1 : 0;
  nf_item_clear(&it);
  return rc;
}

int nf_message_decode(const void *msg, size_t len, const nf_limits *lim, nf_item_cb cb, void *ctx,
                      nf_error *err) {
  const char *p = msg;
  const char *sep = memchr(p, 0, len < NF_TOPIC_MAX + 1 ? len : NF_TOPIC_MAX + 1);
  if (!sep || !nf_topic_valid(p, (size_t)(sep - p)))
    return nf_fail(err, "topic", "message does not start with TOPIC and 0x00");
  size_t tlen = (size_t)(sep - p), off = tlen + 1;
  msgpack_unpacked up;
  if (nf__mp_unpack_one(&up, p + off, len - off, lim->max_meta_depth + 3, err) < 0) return -1;
  int rc = 0;
  const msgpack_object *o = &up.data;
  if (o->type == MSGPACK_OBJECT_ARRAY) {
    for (uint32_t i = 0; !rc && i < o->via.array.size; i++)
      rc = decode_one(&o->via.array.ptr[i], p, tlen, lim, cb, ctx, err);
  } else {
    rc = decode_one(o, p, tlen, lim, cb, ctx, err);
  }
  msgpack_unpacked_destroy(&up);
  return rc < 0 ? -1 : 0;
}
