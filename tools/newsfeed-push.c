/*
 * newsfeed-push -- push news items into newsfeedd.
 *
 * Items come from JSON Lines files, YAML files (one item per document),
 * stdin, or one item built from flags.  Each item is checked locally with
 * the same decoder the daemon uses, sent as a msgpack frame, and answered
 * by the daemon; up to WINDOW items are in flight at once, so a large file
 * goes at the speed of the daemon rather than of the round trip.
 *
 * Output, one line per item, in input order:
 *   ok ID TOPIC,TOPIC,...          (then " duplicate" for a repeated id,
 *                                   answered but not published again)
 *   error ITEM_NO: reason
 * Exit status: 0 if every item was accepted, 1 if any was not, 2 on usage
 * or connection errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <unistd.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "nf_config.h"
#include "toolutil.h"
#include "util/yaml_tree.h"

#define PROG "newsfeed-push"
#define WINDOW 1024

typedef struct push {
  nf_conn *conn;
  nf_limits lim;
  uint64_t next_no;   /* number of the next item read */
  uint64_t *inflight; /* item numbers awaiting answers, FIFO */
  size_t head, count;
  unsigned failed, accepted;
  int timeout_ms;
} push;

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeed-push [-s URL] [--token T] [FILE...]\n"
             "       newsfeed-push [-s URL] [--token T] --title T [--kind article|flash]\n"
             "                     [--body B] [--source S] [--url U] [--symbol SYM]...\n"
             "                     [--id ID] [--lang L] [--priority N] [--summary S]\n"
             "\n"
             "Push news items to newsfeedd.  FILE holds JSON Lines (one item per line)\n"
             "or, if named .yaml/.yml, YAML documents (one item per document); without\n"
             "FILE or with '-', items are read from stdin as JSON Lines.\n"
             "\n"
             "  -s, --server URL   ingest endpoint (default " NF_DEFAULT_INGEST ";\n"
             "                     also ipc:///PATH)\n"
             "      --token T      producer token (default: $NEWSFEED_TOKEN)\n"
             "      --timeout S    seconds to wait for an answer (default 10)\n"
             "  -h, --help         show this help\n"
             "      --version      show the version\n"
             "\n"
             "Prints 'ok ID TOPIC,...' or 'error ITEM_NO: reason' per item; exits 0 only\n"
             "if every item was accepted.\n");
}

static void print_answer(push *p, uint64_t no, const nf_answer *a) {
  if (a->ok) {
    printf("ok %s ", a->id);
    for (size_t i = 0; i < a->n_topics; i++) printf("%s%s", i ? "," : "", a->topics[i].name);
    printf("%s\n", a->duplicate ? " duplicate" : "");
    p->accepted++;
  } else {
    printf("error %llu: %s%s%s\n", (unsigned long long)no, a->field, a->field[0] ? ": " : "",
           a->error);
    p->failed++;
  }
}

/* Takes one answer, waiting up to TIMEOUT_MS; false if none came. */
static bool take_answer(push *p, int timeout_ms) {
  nf_answer a = {0};
  nf_error err;
  int rc = nf_conn_recv_answer(p->conn, &a, timeout_ms, &err);
  if (rc == NF_ETIMEDOUT && timeout_ms == 0) return false;
  if (rc < 0) nf_die(PROG, 2, "%s", err.msg);
  uint64_t no = p->inflight[p->head];
  p->head = (p->head + 1) % WINDOW;
  p->count--;
  print_answer(p, no, &a);
  nf_answer_clear(&a);
  return true;
}

static void wait_one(push *p) {
  take_answer(p, p->timeout_ms);
}

static void local_error(push *p, uint64_t no, const nf_error *err) {
  printf("error %llu: %s%s%s\n", (unsigned long long)no, err->field, err->field[0] ? ": " : "",
         err->msg);
  p->failed++;
}

/* Sends one decoded item, keeping at most WINDOW unanswered. */
static void send_item(push *p, const nf_item *it, uint64_t no) {
  nf_error err;
  /* Answers arrive in order: drain before queueing if the window is full,
   * and drain everything before printing a local error (ordering). */
  while (p->count == WINDOW) wait_one(p);
  if (nf_conn_send_item(p->conn, it, &err) < 0) {
    /* The daemon answers what it read before closing: print those (this
     * ends with the daemon's EOF, reported by take_answer). */
    while (p->count) wait_one(p);
    nf_die(PROG, 2, "%s", err.msg);
  }
  p->inflight[(p->head + p->count++) % WINDOW] = no;
}

static void push_json(push *p, const char *text, size_t len) {
  uint64_t no = ++p->next_no;
  nf_item it;
  nf_error err;
  nf_item_init(&it);
  if (nf_item_from_json(&it, text, len, &p->lim, NF_FROM_PRODUCER, &err) < 0) {
    while (p->count) wait_one(p);
    local_error(p, no, &err);
  } else {
    send_item(p, &it, no);
  }
  nf_item_clear(&it);
}

/* Processes the complete lines in B; returns the bytes consumed. */
static size_t push_lines(push *p, const char *s, size_t len) {
  const char *start = s, *end = s + len;
  for (;;) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl) break;
    const char *t = s;
    while (t < nl && (*t == ' ' || *t == '\t' || *t == '\r')) t++;
    if (t < nl) push_json(p, s, (size_t)(nl - s));
    s = nl + 1;
  }
  return (size_t)(s - start);
}

/* JSON Lines are streamed: items go out as lines arrive, and answers are
 * printed while waiting for more input, so `producer | newsfeed-push`
 * works for a producer that never ends. */
static void push_stream(push *p, const char *path) {
  int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
  if (fd < 0) nf_die(PROG, 2, "%s: %s", path, strerror(errno));
  nf_buf b = {0};
  size_t off = 0;
  for (;;) {
    if (p->count) {
      struct pollfd pf[2] = {{.fd = fd, .events = POLLIN},
                             {.fd = nf_conn_fd(p->conn), .events = POLLIN}};
      if (poll(pf, 2, -1) < 0 && errno != EINTR) nf_die(PROG, 2, "poll: %s", strerror(errno));
      while (p->count && take_answer(p, 0)) {
      }
      if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    }
    if (nf_buf_reserve(&b, 65536) < 0) nf_die(PROG, 2, "out of memory");
    ssize_t n = read(fd, b.data + b.len, b.cap - b.len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) nf_die(PROG, 2, "%s: %s", path, strerror(errno));
    if (n == 0) break;
    b.len += (size_t)n;
    off += push_lines(p, b.data + off, b.len - off);
    memmove(b.data, b.data + off, b.len - off); /* keep the partial line */
    b.len -= off;
    off = 0;
  }
  if (b.len) { /* last line without a newline */
    nf_buf_append(&b, "\n", 1);
    push_lines(p, b.data, b.len);
  }
  nf_buf_free(&b);
  if (fd) close(fd);
}

static void push_yaml(push *p, const char *path, const nf_buf *b) {
  nf_ydocs docs;
  char err[512];
  if (nf_yaml_parse(b->data ? b->data : "", b->len, path, &docs, err, sizeof err) < 0)
    nf_die(PROG, 2, "%s", err);
  for (size_t i = 0; i < docs.n; i++) {
    if (nf_yis_null(docs.docs[i])) continue;
    json_t *j = nf_yaml_to_json(docs.docs[i]);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s) nf_die(PROG, 2, "out of memory");
    push_json(p, s, strlen(s));
    free(s);
  }
  nf_yaml_free(&docs);
}

static void push_file(push *p, const char *path) {
  if (!nf_has_suffix(path, ".yaml") && !nf_has_suffix(path, ".yml")) {
    push_stream(p, path);
    return;
  }
  nf_buf b = {0};
  if (nf_read_all(path, &b) < 0) nf_die(PROG, 2, "%s: %s", path, strerror(errno));
  push_yaml(p, path, &b);
  nf_buf_free(&b);
}

typedef struct one {
  json_t *obj, *symbols;
} one;

int main(int argc, char **argv) {
  enum {
    O_TOKEN = 256,
    O_TITLE,
    O_KIND,
    O_BODY,
    O_SOURCE,
    O_URL,
    O_SYMBOL,
    O_ID,
    O_LANG,
    O_PRIORITY,
    O_SUMMARY,
    O_VERSION,
    O_TIMEOUT
  };
  static const struct option opts[] = {{"server", required_argument, 0, 's'},
                                       {"token", required_argument, 0, O_TOKEN},
                                       {"title", required_argument, 0, O_TITLE},
                                       {"kind", required_argument, 0, O_KIND},
                                       {"body", required_argument, 0, O_BODY},
                                       {"source", required_argument, 0, O_SOURCE},
                                       {"url", required_argument, 0, O_URL},
                                       {"symbol", required_argument, 0, O_SYMBOL},
                                       {"id", required_argument, 0, O_ID},
                                       {"lang", required_argument, 0, O_LANG},
                                       {"priority", required_argument, 0, O_PRIORITY},
                                       {"summary", required_argument, 0, O_SUMMARY},
                                       {"timeout", required_argument, 0, O_TIMEOUT},
                                       {"help", no_argument, 0, 'h'},
                                       {"version", no_argument, 0, O_VERSION},
                                       {0, 0, 0, 0}};
  const char *server = NF_DEFAULT_INGEST, *token = getenv("NEWSFEED_TOKEN");
  one item = {json_object(), json_array()};
  bool from_flags = false;
  push p = {.lim = nf_limits_default(), .timeout_ms = 10000};
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
    const char *key = NULL;
    switch (c) {
    case 's':
      server = optarg;
      break;
    case O_TOKEN:
      token = optarg;
      break;
    case O_TIMEOUT:
      p.timeout_ms = (int)nf_parse_count(PROG, "--timeout", optarg) * 1000;
      break;
    case O_TITLE:
      key = "title";
      break;
    case O_KIND:
      key = "kind";
      break;
    case O_BODY:
      key = "body";
      break;
    case O_SOURCE:
      key = "source";
      break;
    case O_URL:
      key = "url";
      break;
    case O_ID:
      key = "id";
      break;
    case O_LANG:
      key = "lang";
      break;
    case O_SUMMARY:
      key = "summary";
      break;
    case O_SYMBOL:
      json_array_append_new(item.symbols, json_string(optarg));
      from_flags = true;
      break;
    case O_PRIORITY:
      json_object_set_new(item.obj, "priority",
                          json_integer(nf_parse_count(PROG, "--priority", optarg)));
      from_flags = true;
      break;
    case 'h':
    case O_VERSION:
      if (c == 'h') usage(stdout);
      else printf("newsfeed-push %s\n", nf_version());
      json_decref(item.obj);
      json_decref(item.symbols);
      return 0;
    case ':':
      nf_die(PROG, 2, "%s needs a value", argv[optind - 1]);
    default:
      nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
    if (key) {
      json_t *s = json_string(optarg);
      if (!s) nf_die(PROG, 2, "--%s: not valid UTF-8", key);
      json_object_set_new(item.obj, key, s);
      from_flags = true;
    }
  }
  if (from_flags && optind < argc) nf_die(PROG, 2, "give either item flags or files, not both");
  if (json_array_size(item.symbols)) json_object_set(item.obj, "symbols", item.symbols);
  setvbuf(stdout, NULL, _IOLBF, 0);
  nf_error err;
  if (nf_conn_open(&p.conn, server, NF_FRAMING_MSGPACK, p.timeout_ms, &err) < 0)
    nf_die(PROG, 2, "%s", err.msg);
  if (token && *token && nf_conn_auth(p.conn, token, p.timeout_ms, &err) < 0)
    nf_die(PROG, 2, "%s: authentication failed: %s", server, err.msg);
  if (!(p.inflight = calloc(WINDOW, sizeof *p.inflight))) nf_die(PROG, 2, "out of memory");
  if (from_flags) {
    char *s = json_dumps(item.obj, JSON_COMPACT);
    push_json(&p, s, strlen(s));
    free(s);
  } else if (optind == argc) {
    push_file(&p, "-");
  } else {
    for (int i = optind; i < argc; i++) push_file(&p, argv[i]);
  }
  while (p.count) wait_one(&p);
  nf_conn_close(p.conn);
  json_decref(item.obj);
  json_decref(item.symbols);
  free(p.inflight);
  return p.failed ? 1 : 0;
}
