/*
 * listener.c -- the ingest endpoints: TCP and Unix sockets on the loop.
 *
 * A Unix socket path left behind by a crashed daemon is reclaimed: if
 * binding fails because the path exists and nothing accepts connections
 * on it, it is unlinked and bound again.  A live socket is never stolen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/url.h"
#include "ingest/ingest.h"

static void on_connection(uv_stream_t *server, int status) {
  nfd_listener *l = server->data;
  struct nfd_ingest *ing = l->ing;
  nfd *d = ing->d;
  if (status < 0) {
    nfd_log(d, NFD_WARN, "ingest: accept on %s: %s", l->url, uv_strerror(status));
    return;
  }
  /* Lingering connections are on their way out (2 s at most): not counted. */
  if (ing->stopping || ing->n_conns - ing->n_lingering >= (size_t)d->cfg.max_connections) {
    atomic_fetch_add(&d->m.connections_refused, 1);
    nfd_log(d, NFD_WARN, "ingest: refusing a connection on %s: %s", l->url,
            ing->stopping ? "shutting down" : "ingest.max_connections reached");
    nfd_conn_refuse(server, l->is_pipe);
    return;
  }
  nfd_conn_start(ing, server, l->is_pipe);
}

static bool stale_socket(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
  bool stale = connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 && errno == ECONNREFUSED;
  close(fd);
  return stale;
}

static int bind_pipe(nfd *d, nfd_listener *l, const nf_url *u) {
  int rc = uv_pipe_init(&d->loop, &l->h.pipe, 0);
  if (rc < 0) return rc;
  rc = uv_pipe_bind(&l->h.pipe, u->path);
  if (rc == UV_EADDRINUSE && stale_socket(u->path)) {
    nfd_log(d, NFD_WARN, "ingest: removing stale socket %s", u->path);
    unlink(u->path);
    rc = uv_pipe_bind(&l->h.pipe, u->path);
  }
  if (rc == 0) {
    snprintf(l->path, sizeof l->path, "%s", u->path);
    if (chmod(u->path, (mode_t)d->cfg.ipc_mode) < 0) rc = uv_translate_sys_error(errno);
  }
  return rc;
}

static int bind_tcp(nfd *d, nfd_listener *l, const nf_url *u) {
  struct sockaddr_storage ss;
  int rc = uv_ip4_addr(u->host, u->port, (struct sockaddr_in *)&ss);
  if (rc < 0) rc = uv_ip6_addr(u->host, u->port, (struct sockaddr_in6 *)&ss);
  if (rc < 0) return UV_EINVAL; /* names are not resolved: say an address */
  if ((rc = uv_tcp_init(&d->loop, &l->h.tcp)) < 0) return rc;
  return uv_tcp_bind(&l->h.tcp, (struct sockaddr *)&ss, 0);
}

static void on_sweep(uv_timer_t *t) {
  nfd_ingest_sweep_idle(t->data);
}

static void on_linger(uv_timer_t *t) {
  struct nfd_ingest *ing = t->data;
  nfd_ingest_linger_expire(ing);
  if (ing->n_lingering == 0) uv_timer_stop(t);
}

void nfd_ingest_linger_start(struct nfd_ingest *ing) {
  if (!uv_is_active((uv_handle_t *)&ing->linger)) uv_timer_start(&ing->linger, on_linger, 250, 250);
}

int nfd_ingest_start(nfd *d, char *err, size_t errsz) {
  struct nfd_ingest *ing = calloc(1, sizeof *ing);
  if (!ing) return snprintf(err, errsz, "out of memory"), -1;
  d->ingest = ing;
  ing->d = d;
  ing->ls = calloc(d->cfg.ingest_listen.n, sizeof *ing->ls);
  if (!ing->ls) return snprintf(err, errsz, "out of memory"), -1;
  uv_timer_init(&d->loop, &ing->deadline);
  uv_timer_init(&d->loop, &ing->sweep);
  ing->sweep.data = ing;
  uv_timer_init(&d->loop, &ing->linger);
  ing->linger.data = ing;
  if (d->cfg.idle_timeout_seconds > 0) {
    uint64_t every = (uint64_t)d->cfg.idle_timeout_seconds * 1000 / 4;
    uv_timer_start(&ing->sweep, on_sweep, every ? every : 250, every ? every : 250);
  }
  for (size_t i = 0; i < d->cfg.ingest_listen.n; i++) {
    const char *url = d->cfg.ingest_listen.v[i];
    nfd_listener *l = &ing->ls[i];
    nf_url u;
    nf_error e;
    if (nf_url_parse(url, &u, &e) < 0) return snprintf(err, errsz, "ingest.listen: %s", e.msg), -1;
    l->ing = ing;
    l->is_pipe = u.kind == NF_URL_IPC;
    snprintf(l->url, sizeof l->url, "%s", url);
    int rc = l->is_pipe ? bind_pipe(d, l, &u) : bind_tcp(d, l, &u);
    ing->n_ls++; /* initialised handles must be closed, even if bind failed */
    l->h.tcp.data = l;
    if (rc == 0) rc = uv_listen((uv_stream_t *)&l->h, 511, on_connection);
    if (rc < 0)
      return snprintf(err, errsz, "ingest.listen: %s: %s%s", url, uv_strerror(rc),
                      rc == UV_EINVAL && !l->is_pipe ? " (HOST must be an IP address)" : ""),
             -1;
    nfd_log(d, NFD_INFO, "ingest listening on %s", url);
  }
  return 0;
}

static void finish(struct nfd_ingest *ing) {
  void (*done)(nfd *) = ing->on_stopped;
  ing->on_stopped = NULL;
  uv_timer_stop(&ing->deadline);
  if (done) done(ing->d);
}

void nfd_ingest_conn_gone(struct nfd_ingest *ing) {
  if (ing->stopping && ing->n_conns == 0) finish(ing);
}

static void on_deadline(uv_timer_t *t) {
  struct nfd_ingest *ing = t->data;
  nfd_log(ing->d, NFD_WARN,
          "ingest: %zu connections still writing at the shutdown deadline; closing them",
          ing->n_conns);
  nfd_ingest_abort_all(ing);
}

void nfd_ingest_stop(nfd *d, void (*done)(nfd *d)) {
  struct nfd_ingest *ing = d->ingest;
  if (!ing) {
    done(d);
    return;
  }
  ing->stopping = true;
  ing->on_stopped = done;
  uv_timer_stop(&ing->sweep);
  for (size_t i = 0; i < ing->n_ls; i++) {
    nfd_listener *l = &ing->ls[i];
    if (!uv_is_closing((uv_handle_t *)&l->h)) uv_close((uv_handle_t *)&l->h, NULL);
    if (l->path[0]) unlink(l->path);
  }
  nfd_ingest_drain_all(ing);
  if (ing->n_conns == 0) {
    finish(ing);
    return;
  }
  ing->deadline.data = ing;
  uv_timer_start(&ing->deadline, on_deadline, 5000, 0);
}

void nfd_ingest_free(nfd *d) {
  struct nfd_ingest *ing = d->ingest;
  if (!ing) return;
  free(ing->ls);
  free(ing);
  d->ingest = NULL;
}
