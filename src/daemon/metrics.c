/*
 * metrics.c -- Prometheus text exposition over HTTP (metrics.listen).
 *
 * Served by nng's HTTP server, on nng's threads: the handler only reads
 * the atomic counters of nfd_metrics, never loop state, so it needs no
 * locking and cannot stall ingest.
 */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/nfd.h"
#include "nf_config.h"

struct nfd_metrics_srv {
  nng_http_server *srv;
  nng_url *url;
};

typedef struct metric {
  const char *name, *type, *help;
  size_t off;
  bool is_signed;
} metric;

#define M(f) offsetof(nfd_metrics, f)
static const metric metrics[] = {
    {"newsfeed_items_received_total", "counter", "Items received from producers.",
     M(items_received), false},
    {"newsfeed_items_accepted_total", "counter", "Items accepted, tagged and published.",
     M(items_accepted), false},
    {"newsfeed_items_rejected_total", "counter", "Items answered with an error.", M(items_rejected),
     false},
    {"newsfeed_messages_published_total", "counter",
     "nng messages published (one per topic or batch).", M(messages_published), false},
    {"newsfeed_published_bytes_total", "counter", "Bytes of published messages.",
     M(bytes_published), false},
    {"newsfeed_publish_errors_total", "counter", "Messages nng refused to queue.",
     M(publish_errors), false},
    {"newsfeed_connections_accepted_total", "counter", "Producer connections accepted.",
     M(connections_accepted), false},
    {"newsfeed_connections_refused_total", "counter",
     "Producer connections refused (limit or shutdown).", M(connections_refused), false},
    {"newsfeed_connections_open", "gauge", "Producer connections open.", M(connections_open), true},
    {"newsfeed_connections_idle_closed_total", "counter",
     "Producer connections closed for idleness.", M(connections_idle_closed), false},
    {"newsfeed_subscribers", "gauge", "Subscriber pipes connected to the publish socket.",
     M(subscribers), true},
    {"newsfeed_rule_reloads_total", "counter", "Successful rule reloads.", M(reloads), false},
    {"newsfeed_rule_reload_failures_total", "counter", "Rejected rule reloads.", M(reload_failures),
     false},
    {"newsfeed_duplicates_total", "counter", "Repeated ids answered as duplicates, not published.",
     M(duplicates), false},
    {"newsfeed_journal_errors_total", "counter", "Failed journal writes or syncs.",
     M(journal_errors), false},
    {"newsfeed_journal_bytes_total", "counter", "Bytes appended to the journal.", M(journal_bytes),
     false},
    {"newsfeed_journal_fsyncs_total", "counter", "Journal syncs (one per group of writes).",
     M(fsyncs), false},
    {"newsfeed_history_items", "gauge", "Items held in memory for the query API.", M(history_items),
     false},
    {"newsfeed_history_bytes", "gauge", "Bytes held by the history.", M(history_bytes), false},
    {"newsfeed_nats_published_total", "counter",
     "Messages the NATS bridge handed to NATS (outputs.nats).", M(nats_published), false},
    {"newsfeed_nats_dropped_total", "counter",
     "Messages the NATS bridge dropped: NATS away or slow past outputs.nats.buffer_bytes.",
     M(nats_dropped), false},
    {"newsfeed_nats_reconnects_total", "counter", "Reconnections of the NATS bridge.",
     M(nats_reconnects), false},
    {"newsfeed_nats_connected", "gauge", "1 while the NATS bridge is connected.", M(nats_connected),
     true},
};

static void render(nfd *d, nf_buf *b) {
  char line[512];
  for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
    const metric *m = &metrics[i];
    const void *p = (const char *)&d->m + m->off;
    long long v = m->is_signed ? (long long)atomic_load((atomic_int_fast64_t *)p)
                               : (long long)atomic_load((atomic_uint_fast64_t *)p);
    int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", m->name, m->help,
                     m->name, m->type, m->name, v);
    nf_buf_append(b, line, (size_t)n);
  }
  size_t np = atomic_load_explicit(&d->n_producers, memory_order_acquire);
  if (np) {
    static const char head[] =
        "# HELP newsfeed_producer_items_total Items from authenticated producers, by result.\n"
        "# TYPE newsfeed_producer_items_total counter\n";
    nf_buf_append(b, head, sizeof head - 1);
  }
  for (size_t i = 0; i < np; i++) {
    const nfd_producer_stat *p = &d->producers[i];
    int k = snprintf(line, sizeof line,
                     "newsfeed_producer_items_total{producer=\"%s\",result=\"accepted\"} %llu\n"
                     "newsfeed_producer_items_total{producer=\"%s\",result=\"rejected\"} %llu\n",
                     p->name, (unsigned long long)atomic_load(&p->accepted), p->name,
                     (unsigned long long)atomic_load(&p->rejected));
    nf_buf_append(b, line, (size_t)k);
  }
  int n = snprintf(line, sizeof line,
                   "# HELP newsfeed_start_time_seconds Start time of the daemon.\n"
                   "# TYPE newsfeed_start_time_seconds gauge\n"
                   "newsfeed_start_time_seconds %lld\n"
                   "# HELP newsfeed_info Build information.\n# TYPE newsfeed_info gauge\n"
                   "newsfeed_info{version=\"%s\"} 1\n",
                   (long long)(d->start_ms / 1000), NF_VERSION);
  nf_buf_append(b, line, (size_t)n);
}

static void handle(nng_aio *aio) {
  nng_http_handler *h = nng_aio_get_input(aio, 1);
  nfd *d = nng_http_handler_get_data(h);
  nng_http_res *res;
  nf_buf b = {0};
  render(d, &b);
  if (nng_http_res_alloc(&res) != 0) {
    nf_buf_free(&b);
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  nng_http_res_set_header(res, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  nng_http_res_copy_data(res, b.data, b.len);
  nf_buf_free(&b);
  nng_aio_set_output(aio, 0, res);
  nng_aio_finish(aio, 0);
}

int nfd_metrics_start(nfd *d, char *err, size_t errsz) {
  if (!strcmp(d->cfg.metrics_listen, "off")) return 0;
  struct nfd_metrics_srv *s = calloc(1, sizeof *s);
  if (!s) return snprintf(err, errsz, "out of memory"), -1;
  d->metrics_srv = s;
  nng_http_handler *h = NULL;
  int rv = nng_url_parse(&s->url, d->cfg.metrics_listen);
  if (!rv) rv = nng_http_server_hold(&s->srv, s->url);
  const char *path = s->url && s->url->u_path[0] ? s->url->u_path : "/metrics";
  if (!rv) rv = nng_http_handler_alloc(&h, path, handle);
  if (!rv) rv = nng_http_handler_set_method(h, "GET");
  if (!rv) rv = nng_http_handler_set_data(h, d, NULL);
  if (!rv && (rv = nng_http_server_add_handler(s->srv, h)) != 0) nng_http_handler_free(h);
  else if (rv && h) nng_http_handler_free(h);
  if (!rv) rv = nng_http_server_start(s->srv);
  if (rv)
    return snprintf(err, errsz, "metrics.listen: %s: %s", d->cfg.metrics_listen, nng_strerror(rv)),
           -1;
  nfd_log(d, NFD_INFO, "metrics on %s", d->cfg.metrics_listen);
  return 0;
}

void nfd_metrics_stop(nfd *d) {
  struct nfd_metrics_srv *s = d->metrics_srv;
  if (!s) return;
  if (s->srv) {
    nng_http_server_stop(s->srv);
    nng_http_server_release(s->srv);
  }
  if (s->url) nng_url_free(s->url);
  free(s);
  d->metrics_srv = NULL;
}
