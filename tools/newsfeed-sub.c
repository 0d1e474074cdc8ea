/*
 * newsfeed-sub -- print the items of chosen topics as they are published.
 *
 * TOPIC is exact (finance.flash), a subtree (finance.>) or everything (>);
 * each becomes an nng SUB prefix (SPEC section 6).  Messages holding a
 * batch (a msgpack array) print one line per item.
 *
 * Per topic the last seq and epoch are remembered: a jump in seq is a gap
 * (messages dropped by nng for a slow subscriber) and a new epoch means the
 * daemon's numbering restarted; both are reported on stderr.
 */
#include <getopt.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nf_config.h"
#include "toolutil.h"

#define PROG "newsfeed-sub"

typedef struct seen {
  char topic[NF_TOPIC_MAX + 1];
  uint64_t seq, epoch;
} seen;

typedef struct sub {
  bool json;
  long long count, printed;
  seen *seen;
  size_t n_seen;
  nf_buf line;
} sub;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: newsfeed-sub [-s URL] [-q URL] [--format json|text] [--count N]\n"
          "                    [--last N] [--since SEQ] TOPIC...\n"
          "\n"
          "Print the items published on TOPIC: exact (finance.flash), a subtree\n"
          "(finance.>), or > for everything.\n"
          "\n"
          "  -s, --server URL   publish endpoint (default " NF_DEFAULT_PUBLISH ")\n"
          "  -q, --query URL    query endpoint (default " NF_DEFAULT_QUERY ")\n"
          "      --format F     json (one object per line) or text (default text)\n"
          "      --count N      exit after N items\n"
          "      --last N       first replay the last N items of each topic\n"
          "      --since SEQ    first replay items after SEQ\n"
          "  -h, --help         show this help\n"
          "      --version      show the version\n");
}

static void check_seq(sub *s, const nf_item *it) {
  seen *e = NULL;
  for (size_t i = 0; i < s->n_seen; i++)
    if (!strcmp(s->seen[i].topic, it->topic)) e = &s->seen[i];
  if (!e) {
    seen *v = realloc(s->seen, (s->n_seen + 1) * sizeof *v);
    if (!v) return;
    s->seen = v;
    e = &v[s->n_seen++];
    snprintf(e->topic, sizeof e->topic, "%s", it->topic);
  } else if (e->epoch != it->epoch) {
    fprintf(stderr, "%s: %s: numbering restarted (epoch %llu -> %llu)\n", PROG, it->topic,
            (unsigned long long)e->epoch, (unsigned long long)it->epoch);
  } else if (it->seq > e->seq + 1) {
    fprintf(stderr, "%s: %s: gap, seq %llu..%llu missed\n", PROG, it->topic,
            (unsigned long long)e->seq + 1, (unsigned long long)it->seq - 1);
  }
  e->seq = it->seq;
  e->epoch = it->epoch;
}

static int on_item(void *ctx, nf_item *it) {
  sub *s = ctx;
  check_seq(s, it);
  if (s->json) {
    s->line.len = 0;
    if (nf_item_to_json(it, NF_ENC_MESSAGE | NF_ENC_DAEMON, &s->line) == 0)
      printf("%.*s\n", (int)s->line.len, s->line.data);
  } else {
    time_t t = (time_t)((it->published ? it->published : it->received) / 1000);
    struct tm tm;
    char when[32];
    localtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    printf("%s %s #%llu %s%s%s%s\n", when, it->topic, (unsigned long long)it->seq,
           it->source ? "[" : "", it->source ? it->source : "", it->source ? "] " : "",
           it->title);
  }
  s->printed++;
  return s->count && s->printed >= s->count;
}

int main(int argc, char **argv) {
  enum { O_FORMAT = 256, O_COUNT, O_LAST, O_SINCE, O_VERSION };
  static const struct option opts[] = {
      {"server", required_argument, 0, 's'}, {"query", required_argument, 0, 'q'},
      {"format", required_argument, 0, O_FORMAT}, {"count", required_argument, 0, O_COUNT},
      {"last", required_argument, 0, O_LAST}, {"since", required_argument, 0, O_SINCE},
      {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
  const char *server = NF_DEFAULT_PUBLISH;
  sub s = {0};
  bool replay = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":s:q:h", opts, NULL)) != -1) {
    switch (c) {
    case 's': server = optarg; break;
    case 'q': break;
    case O_FORMAT:
      if (!strcmp(optarg, "json")) s.json = true;
      else if (strcmp(optarg, "text")) nf_die(PROG, 2, "--format: expected json or text");
      break;
    case O_COUNT: s.count = nf_parse_count(PROG, "--count", optarg); break;
    case O_LAST:
    case O_SINCE:
      nf_parse_count(PROG, c == O_LAST ? "--last" : "--since", optarg);
      replay = true;
      break;
    case 'h': usage(stdout); return 0;
    case O_VERSION: printf("newsfeed-sub %s\n", nf_version()); return 0;
    case ':': nf_die(PROG, 2, "%s needs a value", argv[optind - 1]);
    default: nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind == argc) nf_die(PROG, 2, "name at least one TOPIC (or > for everything)");
  if (replay)
    nf_die(PROG, 2, "--last/--since need the daemon's query API, which this version "
                    "does not have yet");
  nng_socket sock;
  int rv = nng_sub0_open(&sock);
  if (rv) nf_die(PROG, 2, "nng: %s", nng_strerror(rv));
  nng_socket_set_int(sock, NNG_OPT_RECVBUF, 8192);
  nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 200);
  for (int i = optind; i < argc; i++) {
    char prefix[NF_TOPIC_MAX + 2];
    int n = nf_sub_prefix(argv[i], prefix, sizeof prefix);
    if (n < 0)
      nf_die(PROG, 2, "'%s': not a topic (use a.b, a.> or >)", argv[i]);
    nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, prefix, (size_t)n);
  }
  /* Non-blocking dial: keeps retrying in the background until the daemon
   * is up, so a subscriber may start first. */
  if ((rv = nng_dial(sock, server, NULL, NNG_FLAG_NONBLOCK)))
    nf_die(PROG, 2, "%s: %s", server, nng_strerror(rv));
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  nf_limits lim = nf_limits_default();
  lim.max_item_bytes = SIZE_MAX;
  int done = 0;
  while (!stop_flag && !done) {
    nng_msg *msg;
    rv = nng_recvmsg(sock, &msg, 0);
    if (rv == NNG_ETIMEDOUT) continue;
    if (rv) nf_die(PROG, 2, "receive: %s", nng_strerror(rv));
    nf_error err;
    int r = nf_message_decode(nng_msg_body(msg), nng_msg_len(msg), &lim, on_item, &s, &err);
    if (r < 0) fprintf(stderr, "%s: bad message skipped: %s%s%s\n", PROG, err.field,
                       err.field[0] ? ": " : "", err.msg);
    done = s.count && s.printed >= s.count;
    nng_msg_free(msg);
  }
  fflush(stdout);
  /* No nng_close(): it can hang in nng 1.5.2 (NOTES-nng.md); exiting closes
   * the connection just the same. */
  nf_buf_free(&s.line);
  free(s.seen);
  return 0;
}
