/*
 * newsfeed-sub -- print the items of chosen topics, none missed.
 *
 * TOPIC is exact (finance.flash), a subtree (finance.>) or everything (>).
 * The work is nf_sub's (newsfeed/sub.h): per topic, items come out in seq
 * order, each once, from the start on; what the live feed lost is filled
 * from the daemon's history; --last/--since replay history first; --state
 * resumes where the previous run stopped.  Gaps and epoch changes are one
 * line each on stderr.  A batch message prints one line per item.  When a
 * gap cannot be filled (query API down), it is retried and, after
 * SKIP_AFTER failures in a row, reported lost so that delivery goes on.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nf_config.h"
#include "toolutil.h"

#define PROG "newsfeed-sub"
#define SKIP_AFTER 3 /* failed fills of one gap before giving up on it */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeed-sub [-s URL] [-q URL] [--format json|text] [--count N]\n"
             "                    [--last N | --since SEQ] [--state FILE] TOPIC...\n"
             "\n"
             "Print the items published on TOPIC: exact (finance.flash), a subtree\n"
             "(finance.>), or > for everything.  Items lost by the live feed are\n"
             "filled from the daemon's history, in order.\n"
             "\n"
             "  -s, --server URL   publish endpoint (default " NF_DEFAULT_PUBLISH ")\n"
             "  -q, --query URL    query endpoint (default " NF_DEFAULT_QUERY "), or off:\n"
             "                     then gaps are reported, not filled\n"
             "      --format F     json (one object per line) or text (default text)\n"
             "      --count N      exit after N items\n"
             "      --last N       first replay the last N items of each topic\n"
             "      --since SEQ    first replay the items after SEQ of each topic\n"
             "      --state FILE   resume after the items of the previous run; saved\n"
             "                     every second and at exit\n"
             "  -h, --help         show this help\n"
             "      --version      show the version\n");
}

static void print_item(const nf_item *it, bool json, nf_buf *line) {
  if (json) {
    line->len = 0;
    if (nf_item_to_json(it, NF_ENC_MESSAGE | NF_ENC_DAEMON, line) == 0)
      printf("%.*s\n", (int)line->len, line->data);
    return;
  }
  time_t t = (time_t)((it->published ? it->published : it->received) / 1000);
  struct tm tm;
  char when[32];
  localtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  printf("%s %s #%llu %s%s%s%s\n", when, it->topic, (unsigned long long)it->seq,
         it->source ? "[" : "", it->source ? it->source : "", it->source ? "] " : "", it->title);
}

static void print_event(const nf_sub_event *ev) {
  unsigned long long a = ev->first, b = ev->last;
  switch (ev->type) {
  case NF_SUB_GAP_FILLED:
    fprintf(stderr, "%s: %s: gap %llu..%llu filled from history\n", PROG, ev->topic, a, b);
    break;
  case NF_SUB_GAP_LOST:
    fprintf(stderr, "%s: %s: gap %llu..%llu lost (no longer in the daemon's history)\n", PROG,
            ev->topic, a, b);
    break;
  case NF_SUB_EPOCH_CHANGED:
    fprintf(stderr, "%s: %s: epoch changed (%llu -> %llu), numbering restarted\n", PROG, ev->topic,
            (unsigned long long)ev->old_epoch, (unsigned long long)ev->epoch);
    break;
  }
}

static void save_state(nf_sub *s, const char *path, bool *warned) {
  nf_error err;
  fflush(stdout); /* the state must not run ahead of what was printed */
  if (nf_sub_save_state(s, path, &err) < 0) {
    if (!*warned) fprintf(stderr, "%s: cannot save state: %s\n", PROG, err.msg);
    *warned = true;
  } else {
    *warned = false;
  }
}

typedef struct opts {
  const char *server, *query, *state;
  bool json;
  long long count;
} opts;

/* The loop: items to stdout, events to stderr, until a signal or COUNT. */
static void run(nf_sub *s, const opts *o) {
  nf_buf line = {0};
  long long printed = 0;
  int failures = 0;
  bool warned = false;
  int64_t next_save = nf_now_ms() + 1000;
  while (!stop_flag && !(o->count && printed >= o->count)) {
    nf_item it;
    nf_sub_event ev;
    nf_error err;
    nf_item_init(&it);
    int rc = nf_sub_next(s, &it, &ev, 200, &err);
    if (rc == NF_SUB_ITEM) {
      print_item(&it, o->json, &line);
      nf_item_clear(&it);
      printed++;
      failures = 0;
    } else if (rc == NF_SUB_EVENT) {
      print_event(&ev);
    } else if (rc == -1) {
      fprintf(stderr, "%s: %s%s%s\n", PROG, err.field, err.field[0] ? ": " : "", err.msg);
      if (++failures >= SKIP_AFTER) {
        nf_sub_skip_gap(s);
        failures = 0;
      }
    }
    if (o->state && nf_now_ms() >= next_save) {
      save_state(s, o->state, &warned);
      next_save = nf_now_ms() + 1000;
    }
  }
  if (o->state) save_state(s, o->state, &warned);
  nf_buf_free(&line);
}

int main(int argc, char **argv) {
  enum { O_FORMAT = 256, O_COUNT, O_LAST, O_SINCE, O_STATE, O_VERSION };
  static const struct option longopts[] = {
      {"server", required_argument, 0, 's'},      {"query", required_argument, 0, 'q'},
      {"format", required_argument, 0, O_FORMAT}, {"count", required_argument, 0, O_COUNT},
      {"last", required_argument, 0, O_LAST},     {"since", required_argument, 0, O_SINCE},
      {"state", required_argument, 0, O_STATE},   {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, O_VERSION},     {0, 0, 0, 0}};
  opts o = {.server = NF_DEFAULT_PUBLISH, .query = NF_DEFAULT_QUERY};
  long long last = -1, since = -1;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":s:q:h", longopts, NULL)) != -1) {
    switch (c) {
    case 's':
      o.server = optarg;
      break;
    case 'q':
      o.query = optarg;
      break;
    case O_FORMAT:
      if (!strcmp(optarg, "json")) o.json = true;
      else if (strcmp(optarg, "text")) nf_die(PROG, 2, "--format: expected json or text");
      break;
    case O_COUNT:
      o.count = nf_parse_count(PROG, "--count", optarg);
      break;
    case O_LAST:
      last = nf_parse_count(PROG, "--last", optarg);
      break;
    case O_SINCE:
      since = nf_parse_count(PROG, "--since", optarg);
      break;
    case O_STATE:
      o.state = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case O_VERSION:
      printf("newsfeed-sub %s\n", nf_version());
      return 0;
    case ':':
      nf_die(PROG, 2, "%s needs a value", argv[optind - 1]);
    default:
      nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind == argc) nf_die(PROG, 2, "name at least one TOPIC (or > for everything)");
  if (last >= 0 && since >= 0) nf_die(PROG, 2, "--last and --since exclude each other");
  if (!strcmp(o.query, "off")) o.query = NULL;
  if (!o.query && (last >= 0 || since >= 0 || o.state))
    nf_die(PROG, 2, "--last, --since and --state need the query endpoint (-q)");
  nf_sub *s;
  nf_error err;
  if (nf_sub_open(&s, o.server, o.query, &err) < 0) nf_die(PROG, 2, "%s", err.msg);
  for (int i = optind; i < argc; i++)
    if (nf_sub_add(s, argv[i], &err) < 0) nf_die(PROG, 2, "%s", err.msg);
  if (last >= 0) nf_sub_replay_last(s, (uint64_t)last);
  if (since >= 0) nf_sub_replay_since(s, (uint64_t)since);
  if (o.state && nf_sub_load_state(s, o.state, &err) < 0) nf_die(PROG, 1, "%s", err.msg);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (nf_sub_start(s, &err) < 0) { /* without replay only a bad URL fails */
    bool replay = last >= 0 || since >= 0 || o.state;
    nf_die(PROG, replay ? 1 : 2, "%s%s", replay ? "cannot replay: " : "", err.msg);
  }
  run(s, &o);
  fflush(stdout);
  nf_sub_close(s);
  return 0;
}
