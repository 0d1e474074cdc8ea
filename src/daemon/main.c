/*
 * main.c -- newsfeedd: flags, start-up, signals, shutdown.
 *
 * Start-up order follows the data path backwards, so that nothing is
 * accepted before it can be handled: rules, journal, publishing, query,
 * ingest, and metrics last (tests take its answer as "ready"); readiness
 * is reported to systemd after all of them.
 *
 * Shutdown (SIGTERM, SIGINT): stop accepting; let every connection finish
 * writing the answers to what it has already read (items are processed
 * synchronously as they are read, so nothing received is left half-done);
 * then close publishing.  A second signal skips the wait.  SIGHUP reloads
 * the rules: a new rule set is compiled to the side and swapped in only
 * if it is valid, so a broken file leaves the old rules in force.
 */
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/nfd.h"
#include "ingest/ingest.h"
#include "nf_config.h"
#if NF_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static void notify(const char *state) {
#if NF_HAVE_SYSTEMD
  sd_notify(0, state);
#else
  (void)state;
#endif
}

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeedd [-c FILE] [--check] [--ingest URL]... [--publish URL]...\n"
             "                 [--query URL] [--metrics URL|off] [--data-dir DIR]\n"
             "                 [--log-level error|warn|info|debug]\n"
             "\n"
             "Real-time news-feed publish/subscribe daemon.\n"
             "\n"
             "  -c, --config FILE   configuration file (default: built-in defaults)\n"
             "      --check         validate the configuration and rules, then exit\n"
             "      --ingest URL    producer endpoint, tcp://HOST:PORT or ipc:///PATH\n"
             "                      (repeatable; default " NF_DEFAULT_INGEST ")\n"
             "      --publish URL   nng PUB endpoint: tcp, ipc, ws, wss, tls+tcp\n"
             "                      (repeatable; default " NF_DEFAULT_PUBLISH ")\n"
             "      --query URL     query API endpoint (default " NF_DEFAULT_QUERY ")\n"
             "      --metrics URL   Prometheus endpoint, or off\n"
             "                      (default http://127.0.0.1:7453/metrics)\n"
             "      --data-dir DIR  journal directory (default /var/lib/newsfeed;\n"
             "                      \"\" keeps nothing on disk)\n"
             "      --log-level L   error, warn, info or debug (default info)\n"
             "  -h, --help          show this help\n"
             "      --version       show the version\n"
             "\n"
             "Docs: docs/configuration.md, docs/protocol.md; man newsfeedd.\n");
}

typedef struct flags {
  const char *config, *query, *metrics, *data_dir, *log_level;
  bool check;
  const char **ingest, **publish;
  size_t n_ingest, n_publish;
} flags;

static int parse_flags(int argc, char **argv, flags *f) {
  enum { O_CHECK = 256, O_INGEST, O_PUBLISH, O_QUERY, O_METRICS, O_DATA, O_LOG, O_VERSION };
  static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                       {"check", no_argument, 0, O_CHECK},
                                       {"ingest", required_argument, 0, O_INGEST},
                                       {"publish", required_argument, 0, O_PUBLISH},
                                       {"query", required_argument, 0, O_QUERY},
                                       {"metrics", required_argument, 0, O_METRICS},
                                       {"data-dir", required_argument, 0, O_DATA},
                                       {"log-level", required_argument, 0, O_LOG},
                                       {"help", no_argument, 0, 'h'},
                                       {"version", no_argument, 0, O_VERSION},
                                       {0, 0, 0, 0}};
  f->ingest = calloc((size_t)argc, sizeof *f->ingest);
  f->publish = calloc((size_t)argc, sizeof *f->publish);
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      f->config = optarg;
      break;
    case O_CHECK:
      f->check = true;
      break;
    case O_INGEST:
      f->ingest[f->n_ingest++] = optarg;
      break;
    case O_PUBLISH:
      f->publish[f->n_publish++] = optarg;
      break;
    case O_QUERY:
      f->query = optarg;
      break;
    case O_METRICS:
      f->metrics = optarg;
      break;
    case O_DATA:
      f->data_dir = optarg;
      break;
    case O_LOG:
      f->log_level = optarg;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case O_VERSION:
      printf("newsfeedd %s\n", NF_VERSION);
      exit(0);
    case ':':
      fprintf(stderr, "newsfeedd: %s needs a value\n", argv[optind - 1]);
      return -1;
    default:
      fprintf(stderr, "newsfeedd: unknown option '%s' (see --help)\n", argv[optind - 1]);
      return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "newsfeedd: unexpected argument '%s' (see --help)\n", argv[optind]);
    return -1;
  }
  return 0;
}

/* Flags override the file. */
static int apply_flags(nfd *d, const flags *f) {
  nfd_config *c = &d->cfg;
  bool rep = false;
  for (size_t i = 0; i < f->n_ingest; i++)
    if (nfd_strlist_flag(&c->ingest_listen, &rep, f->ingest[i]) < 0) return -1;
  rep = false;
  for (size_t i = 0; i < f->n_publish; i++)
    if (nfd_strlist_flag(&c->publish_listen, &rep, f->publish[i]) < 0) return -1;
  if (f->metrics) {
    free(c->metrics_listen);
    c->metrics_listen = strdup(f->metrics);
  }
  if (f->query) {
    free(c->query_listen);
    c->query_listen = strdup(f->query);
  }
  if (f->data_dir) {
    free(c->data_dir.value);
    c->data_dir.value = strdup(f->data_dir);
    c->data_dir.builtin = false;
  }
  if (f->log_level && nfd_level_parse(f->log_level, &c->log_level) < 0) {
    fprintf(stderr, "newsfeedd: --log-level: expected error, warn, info or debug\n");
    return -1;
  }
  return 0;
}

static int load_tagger(nfd *d, nf_tagger **out, char *err, size_t errsz) {
  nf_rules *r;
  int rc = d->cfg.rules.builtin ? nf_rules_load_builtin(&r, err, errsz)
                                : nf_rules_load_file(d->cfg.rules.value, &r, err, errsz);
  if (rc < 0) return -1;
  if (!(*out = nf_tagger_new(r))) {
    nf_rules_free(r);
    return snprintf(err, errsz, "out of memory"), -1;
  }
  return 0;
}

static int load_tokens(nfd *d, nfd_tokens *out, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  if (!d->cfg.tokens_file.value[0]) return 0;
  return nfd_tokens_load(d->cfg.tokens_file.value, out, err, errsz);
}

/* The new rules are compiled completely before the swap, and the swap
 * happens between two pipeline runs on the loop thread, so no item is ever
 * tagged by a half-loaded rule set. */
/* Compiling rules (and replaying the journal) frees much more than it
 * keeps, and glibc holds freed heap until told: about 1 MiB at idle. */
static void give_back_memory(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

int nfd_reload_rules(nfd *d, char *err, size_t errsz) {
  nf_tagger *t;
  int rc = 0;
  notify("RELOADING=1");
  if (load_tagger(d, &t, err, errsz) < 0) {
    atomic_fetch_add(&d->m.reload_failures, 1);
    nfd_log(d, NFD_ERROR, "reload rejected, old rules stay in force: %s", err);
    rc = -1;
  } else {
    nf_tagger_free(d->tagger);
    d->tagger = t;
    give_back_memory(); /* the old rules' automaton */
    nfd_pub_rules_changed(d);
    atomic_fetch_add(&d->m.reloads, 1);
    nfd_log(d, NFD_INFO, "rules reloaded from %s: %zu topics, %zu terms",
            d->cfg.rules.builtin ? "the built-in rules" : d->cfg.rules.value,
            nf_rules_topics(nf_tagger_rules(t)), nf_rules_terms(nf_tagger_rules(t)));
  }
  nfd_tokens tokens;
  char terr[1024];
  if (load_tokens(d, &tokens, terr, sizeof terr) < 0) {
    nfd_log(d, NFD_ERROR, "tokens reload rejected, old tokens stay in force: %s", terr);
    if (rc == 0) snprintf(err, errsz, "%s", terr);
    rc = -1;
  } else {
    nfd_tokens_free(&d->tokens);
    d->tokens = tokens; /* new connections and unauthenticated ones use these */
  }
  notify("READY=1");
  return rc;
}

static void close_handle(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void on_ingest_stopped(nfd *d) {
  nfd_log(d, NFD_INFO, "all producer connections closed");
  uv_walk(&d->loop, close_handle, NULL); /* signals, timers: the loop ends */
}

static void on_signal(uv_signal_t *s, int signum) {
  nfd *d = s->data;
  if (signum == SIGHUP) {
    char err[1024];
    nfd_reload_rules(d, err, sizeof err);
    return;
  }
  if (d->stopping) {
    nfd_log(d, NFD_WARN, "second signal: closing connections now");
    if (d->ingest) nfd_ingest_abort_all(d->ingest);
    return;
  }
  d->stopping = true;
  notify("STOPPING=1");
  nfd_log(d, NFD_INFO, "%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  nfd_journal_flush_now(d); /* answers waiting for a sync go out now */
  nfd_ingest_stop(d, on_ingest_stopped);
}

static int start(nfd *d, char *err, size_t errsz) {
  if (load_tagger(d, &d->tagger, err, errsz) < 0 || load_tokens(d, &d->tokens, err, errsz) < 0)
    return -1;
  nfd_log(d, NFD_INFO, "newsfeedd %s: rules %s: %zu topics, %zu terms", NF_VERSION,
          d->cfg.rules.builtin ? "built-in" : d->cfg.rules.value,
          nf_rules_topics(nf_tagger_rules(d->tagger)), nf_rules_terms(nf_tagger_rules(d->tagger)));
  if (d->tokens.n)
    nfd_log(d, NFD_INFO, "producers must authenticate: %zu tokens from %s", d->tokens.n,
            d->cfg.tokens_file.value);
  if (nfd_history_init(d) < 0 || nfd_dedup_init(d) < 0)
    return snprintf(err, errsz, "out of memory"), -1;
  if (d->cfg.data_dir.value[0]) {
    if (nfd_journal_open(d, err, errsz) < 0) return -1;
  } else {
    nfd_log(d, NFD_WARN,
            "no data_dir: nothing is journaled; history, numbering and "
            "deduplication start afresh at every start");
  }
  /* metrics last: once it answers, every other endpoint is up */
  if (nfd_nats_start(d, err, errsz) < 0 || nfd_pub_start(d, err, errsz) < 0 ||
      (strcmp(d->cfg.query_listen, "off") &&
       nfd_query_start(d, d->cfg.query_listen, err, errsz) < 0) ||
      nfd_ingest_start(d, err, errsz) < 0 || nfd_nng_ingest_start(d, err, errsz) < 0 ||
      nfd_metrics_start(d, err, errsz) < 0)
    return -1;
  uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
  int nums[] = {SIGTERM, SIGINT, SIGHUP};
  for (int i = 0; i < 3; i++) {
    uv_signal_init(&d->loop, sigs[i]);
    sigs[i]->data = d;
    uv_signal_start(sigs[i], on_signal, nums[i]);
  }
  return 0;
}

static void shutdown_all(nfd *d) {
  uv_walk(&d->loop, close_handle, NULL);
  uv_run(&d->loop, UV_RUN_DEFAULT); /* let close callbacks run */
  nfd_metrics_stop(d);
  nfd_nng_ingest_stop(d);
  nfd_query_stop(d);
  nfd_pub_stop(d);
  nfd_nats_stop(d); /* after the last publish */
  nfd_ingest_free(d);
  nfd_journal_close(d);
  uv_loop_close(&d->loop);
  nfd_dedup_free(d);
  nfd_history_free(d);
  nfd_topics_free(d);
  free(d->run_ids);
  nf_tagger_free(d->tagger);
  nfd_tokens_free(&d->tokens);
  nfd_config_free(&d->cfg);
}

int nfd_main(int argc, char **argv) {
  flags f = {0};
  nfd *d = calloc(1, sizeof *d);
  int rc = 1;
  char err[1024] = "";
  if (!d || parse_flags(argc, argv, &f) < 0) goto out;
  /* A peer that goes away must not kill us (SIGPIPE), and a file-size
   * limit must show up as a failed journal write (SIGXFSZ), not a crash. */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
  if (nfd_config_load(&d->cfg, f.config, err, sizeof err) < 0 || apply_flags(d, &f) < 0 ||
      nfd_config_check(&d->cfg, err, sizeof err) < 0) {
    if (err[0]) fprintf(stderr, "%s\n", err);
    nfd_config_free(&d->cfg);
    goto out;
  }
  nfd_log_init(&d->log, d->cfg.log_level);
  d->limits = nf_limits_default();
  d->limits.max_item_bytes = (size_t)d->cfg.max_item_bytes;
  d->start_ms = nf_now_ms();
  if (f.check) {
    nf_tagger *t;
    nfd_tokens tokens;
    rc = load_tokens(d, &tokens, err, sizeof err) < 0;
    nfd_tokens_free(&tokens);
    if (!rc) rc = load_tagger(d, &t, err, sizeof err) < 0;
    if (rc) fprintf(stderr, "%s\n", err);
    else {
      printf("%s: configuration and rules are valid (%zu topics, %zu terms)\n",
             f.config ? f.config : "built-in defaults", nf_rules_topics(nf_tagger_rules(t)),
             nf_rules_terms(nf_tagger_rules(t)));
      nf_tagger_free(t);
    }
    nfd_config_free(&d->cfg);
    goto out;
  }
  uv_loop_init(&d->loop);
  if (start(d, err, sizeof err) < 0) {
    fprintf(stderr, "newsfeedd: %s\n", err); /* one line; the log said the rest */
    shutdown_all(d);
    goto out;
  }
  give_back_memory();
  notify("READY=1");
  nfd_log(d, NFD_INFO, "ready");
  uv_run(&d->loop, UV_RUN_DEFAULT);
  shutdown_all(d);
  nfd_log(d, NFD_INFO, "stopped");
  rc = 0;
out:
  free(f.ingest);
  free(f.publish);
  free(d);
  return rc;
}
