/*
 * newsfeed-ctl -- the operator's tool: daemon stats and topics, rule
 * reload, and a dry run of tagging that explains every topic.
 *
 * `tag` works without a daemon (on --rules FILE, or the built-in rules)
 * or, with --daemon, asks the running daemon through the query API so the
 * rules actually in force are the ones explained.  Both paths produce the
 * same msgpack explanation (nf_explain_pack) and print it the same way.
 */
#include <getopt.h>
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "nf_config.h"
#include "tag/tagger.h"
#include "toolutil.h"
#include "util/yaml_tree.h"

#define PROG "newsfeed-ctl"

typedef struct ctl {
  const char *query_url, *rules_path;
  uint64_t since, limit;
  bool json, daemon;
  nng_socket req;
  bool connected;
  nf_tagger *tagger;
  int failed;
  unsigned item_no;
} ctl;

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeed-ctl [-q URL] [--json] COMMAND [ARGS]\n"
             "\n"
             "Commands:\n"
             "  stats              the daemon's counters\n"
             "  topics             every topic's last seq and epoch\n"
             "  reload             recompile the daemon's rules (as SIGHUP does)\n"
             "  tag [FILE...]      tag items (JSON Lines, or YAML if .yaml/.yml; stdin\n"
             "                     without FILE) and explain each topic, publishing nothing:\n"
             "                     with --rules FILE or the built-in rules, or with\n"
             "                     --daemon by the running daemon's rules\n"
             "  history TOPIC      the items the daemon holds for TOPIC (--since SEQ,\n"
             "                     --limit N)\n"
             "  eval CORPUS        precision and recall per topic on a labelled corpus\n"
             "                     (tests/corpus/labelled.jsonl), dev and holdout apart\n"
             "\n"
             "Options:\n"
             "  -q, --query URL    query API of the daemon (default " NF_DEFAULT_QUERY ")\n"
             "      --rules FILE   rules for a local `tag` (default: built-in)\n"
             "      --daemon       `tag` through the running daemon\n"
             "      --json         print answers as JSON\n"
             "  -h, --help         show this help\n"
             "      --version      show the version\n");
}

/* ---- talking to the daemon ---------------------------------------------- */

static void connect_daemon(ctl *c) {
  if (c->connected) return;
  int rv = nng_req0_open(&c->req);
  if (!rv) rv = nng_socket_set_ms(c->req, NNG_OPT_RECVTIMEO, 10000);
  if (!rv) rv = nng_dial(c->req, c->query_url, NULL, 0);
  if (rv) nf_die(PROG, 2, "cannot reach the daemon at %s: %s", c->query_url, nng_strerror(rv));
  c->connected = true;
}

/* Sends REQ, returns the reply (caller frees with nng_free). */
static void call(ctl *c, const nf_buf *req, char **rep, size_t *n) {
  connect_daemon(c);
  int rv = nng_send(c->req, req->data, req->len, 0);
  if (!rv) rv = nng_recv(c->req, rep, n, NNG_FLAG_ALLOC);
  if (rv) nf_die(PROG, 2, "%s: %s", c->query_url, nng_strerror(rv));
}

/* ---- printing answers --------------------------------------------------- */

static json_t *decode_reply(const void *p, size_t n) {
  msgpack_unpacked up;
  nf_error err;
  if (nf__mp_unpack_one(&up, p, n, 64, &err) < 0) nf_die(PROG, 2, "bad answer: %s", err.msg);
  json_t *j = nf__mp_to_json(&up.data);
  msgpack_unpacked_destroy(&up);
  return j;
}

static void print_json(const json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  printf("%s\n", s);
  free(s);
}

/* An error answer: print it and count it. */
static bool failed_answer(ctl *c, const json_t *j, const char *what) {
  if (json_is_true(json_object_get(j, "ok"))) return false;
  const char *e = json_string_value(json_object_get(j, "error"));
  fprintf(stderr, "%s: %s: %s\n", PROG, what, e ? e : "failed");
  c->failed++;
  return true;
}

static void print_tag(const json_t *j, const char *title) {
  printf("item %s\n", title);
  json_t *topics = json_object_get(j, "topics"), *reasons = json_object_get(j, "reasons"), *t;
  size_t i, k;
  printf("  topics: ");
  json_array_foreach(topics, i, t) printf("%s%s", i ? ", " : "", json_string_value(t));
  printf("%s\n", json_array_size(topics) ? "" : "(none)");
  json_array_foreach(topics, i, t) {
    const char *name = json_string_value(t);
    json_t *r;
    int score = 0;
    printf("  %-16s", name);
    const char *sep = " ";
    json_array_foreach(reasons, k, r) {
      if (strcmp(json_string_value(json_object_get(r, "topic")), name)) continue;
      const char *why = json_string_value(json_object_get(r, "why"));
      const char *detail = json_string_value(json_object_get(r, "detail"));
      const char *field = json_string_value(json_object_get(r, "field"));
      int s = (int)json_integer_value(json_object_get(r, "score"));
      if (!strcmp(why, "term")) {
        printf("%s\"%s\" in %s +%d", sep, detail, field, s);
        score += s;
      } else if (!strcmp(why, "exclude")) {
        continue;
      } else {
        printf("%s%s%s%s", sep, why, *detail ? " " : "", detail);
      }
      sep = ", ";
    }
    if (score) printf(" (score %d)", score);
    printf("\n");
  }
  json_t *r;
  json_array_foreach(reasons, k, r) {
    if (strcmp(json_string_value(json_object_get(r, "why")), "exclude")) continue;
    printf("  vetoed %s: exclude \"%s\" in %s\n", json_string_value(json_object_get(r, "topic")),
           json_string_value(json_object_get(r, "detail")),
           json_string_value(json_object_get(r, "field")));
  }
}

/* ---- commands ----------------------------------------------------------- */

static void simple_op(ctl *c, const char *op) {
  nf_buf req = {0};
  nf__mp_map(&req, 1);
  nf__mp_cstr(&req, "op");
  nf__mp_cstr(&req, op);
  char *rep;
  size_t n;
  call(c, &req, &rep, &n);
  nf_buf_free(&req);
  json_t *j = decode_reply(rep, n);
  nng_free(rep, n);
  if (!failed_answer(c, j, op)) {
    if (c->json) {
      print_json(j);
    } else {
      const char *key;
      json_t *v;
      json_t *body = json_object_get(j, !strcmp(op, "topics") ? "topics" : "stats");
      if (!strcmp(op, "reload")) body = j;
      json_object_foreach(body, key, v) {
        if (!strcmp(key, "ok")) continue;
        if (json_is_object(v))
          printf("%-24s seq %lld  epoch %lld\n", key,
                 (long long)json_integer_value(json_object_get(v, "seq")),
                 (long long)json_integer_value(json_object_get(v, "epoch")));
        else printf("%-24s %lld\n", key, (long long)json_integer_value(v));
      }
    }
  }
  json_decref(j);
}

/* history TOPIC: pages through the topic's history from --since. */
static void cmd_history(ctl *c, int argc, char **argv, uint64_t since, uint64_t limit) {
  if (argc != 1 || !nf_topic_valid(argv[0], strlen(argv[0])))
    nf_die(PROG, 2, "history takes one topic name");
  uint64_t shown = 0;
  for (;;) {
    nf_buf req = {0};
    nf__mp_map(&req, 4);
    nf__mp_cstr(&req, "op");
    nf__mp_cstr(&req, "history");
    nf__mp_cstr(&req, "topic");
    nf__mp_cstr(&req, argv[0]);
    nf__mp_cstr(&req, "since");
    nf__mp_uint(&req, since);
    nf__mp_cstr(&req, "limit");
    nf__mp_uint(&req, limit - shown < 1000 ? limit - shown : 1000);
    char *rep;
    size_t n;
    call(c, &req, &rep, &n);
    nf_buf_free(&req);
    json_t *j = decode_reply(rep, n);
    nng_free(rep, n);
    if (failed_answer(c, j, "history")) {
      json_decref(j);
      return;
    }
    json_t *items = json_object_get(j, "items"), *it;
    size_t i;
    if (shown == 0 && !c->json)
      fprintf(stderr, "%s: epoch %lld, held seq %lld..%lld\n", argv[0],
              (long long)json_integer_value(json_object_get(j, "epoch")),
              (long long)json_integer_value(json_object_get(j, "first_seq")),
              (long long)json_integer_value(json_object_get(j, "last_seq")));
    json_array_foreach(items, i, it) {
      if (c->json) print_json(it);
      else
        printf("#%lld %s %s\n", (long long)json_integer_value(json_object_get(it, "seq")),
               json_string_value(json_object_get(it, "id")),
               json_string_value(json_object_get(it, "title")));
      since = (uint64_t)json_integer_value(json_object_get(it, "seq"));
      shown++;
    }
    bool more = json_array_size(items) > 0 && shown < limit;
    json_decref(j);
    if (!more) return;
  }
}

/* Tags one item given as JSON text; prints the explanation. */
static void tag_one(ctl *c, const char *text, size_t len) {
  unsigned no = ++c->item_no;
  nf_item it;
  nf_error err;
  nf_limits lim = nf_limits_default();
  nf_item_init(&it);
  if (nf_item_from_json(&it, text, len, &lim, NF_FROM_PRODUCER, &err) < 0) {
    printf("error %u: %s%s%s\n", no, err.field, err.field[0] ? ": " : "", err.msg);
    c->failed++;
    nf_item_clear(&it);
    return;
  }
  nf_buf rep = {0};
  json_t *j = NULL;
  if (c->daemon) {
    nf_buf req = {0};
    nf__mp_map(&req, 2);
    nf__mp_cstr(&req, "op");
    nf__mp_cstr(&req, "tag");
    nf__mp_cstr(&req, "item");
    nf_item_to_msgpack(&it, 0, &req);
    char *p;
    size_t n;
    call(c, &req, &p, &n);
    nf_buf_free(&req);
    j = decode_reply(p, n);
    nng_free(p, n);
  } else {
    nf_explain ex = {0};
    if (nf_tag_item(c->tagger, &it, &ex, &err) < 0) {
      nf__mp_map(&rep, 2);
      nf__mp_cstr(&rep, "ok");
      nf__mp_bool(&rep, false);
      nf__mp_cstr(&rep, "error");
      nf__mp_cstr(&rep, err.msg);
    } else {
      nf_explain_pack(&it, &ex, &rep);
    }
    nf_explain_free(&ex);
    j = decode_reply(rep.data, rep.len);
  }
  char label[64];
  snprintf(label, sizeof label, "item %u", no);
  if (!failed_answer(c, j, label)) {
    if (c->json) print_json(j);
    else {
      char head[600];
      snprintf(head, sizeof head, "%u: %s", no, it.title);
      print_tag(j, head);
    }
  }
  json_decref(j);
  nf_buf_free(&rep);
  nf_item_clear(&it);
}

static void tag_file(ctl *c, const char *path) {
  nf_buf b = {0};
  if (nf_read_all(path, &b) < 0) nf_die(PROG, 2, "%s: cannot read", path);
  if (nf_has_suffix(path, ".yaml") || nf_has_suffix(path, ".yml")) {
    nf_ydocs docs;
    char err[512];
    if (nf_yaml_parse(b.data ? b.data : "", b.len, path, &docs, err, sizeof err) < 0)
      nf_die(PROG, 2, "%s", err);
    for (size_t i = 0; i < docs.n; i++) {
      json_t *j = nf_yaml_to_json(docs.docs[i]);
      char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
      tag_one(c, s, strlen(s));
      free(s);
      json_decref(j);
    }
    nf_yaml_free(&docs);
  } else {
    const char *s = b.data, *end = b.data + b.len;
    while (s && s < end) {
      const char *nl = memchr(s, '\n', (size_t)(end - s));
      const char *e = nl ? nl : end, *t = s;
      while (t < e && (*t == ' ' || *t == '\t' || *t == '\r')) t++;
      if (t < e) tag_one(c, s, (size_t)(e - s));
      s = nl ? nl + 1 : end;
    }
  }
  nf_buf_free(&b);
}

static void cmd_tag(ctl *c, int argc, char **argv) {
  if (!c->daemon) {
    nf_rules *r;
    char err[1024];
    int rc = c->rules_path ? nf_rules_load_file(c->rules_path, &r, err, sizeof err)
                           : nf_rules_load_builtin(&r, err, sizeof err);
    if (rc < 0) nf_die(PROG, 1, "%s", err);
    if (!(c->tagger = nf_tagger_new(r))) nf_die(PROG, 2, "out of memory");
  }
  if (argc == 0) tag_file(c, "-");
  for (int i = 0; i < argc; i++) tag_file(c, argv[i]);
  nf_tagger_free(c->tagger);
}

/* ---- eval: precision and recall on a labelled corpus ----------------------
 * Corpus lines: {"item": {...}, "topics": [...], "symbols": [...],
 * "split": "dev"|"holdout"}.  headline and sym.* are not labelled (every
 * item gets headline; symbols are scored on their own, as "symbols"). */

#define MAX_EVAL_TOPICS 64
typedef struct counts {
  char name[NF_TOPIC_MAX + 1];
  unsigned tp[2], fp[2], fn[2]; /* [0] dev, [1] holdout */
} counts;

typedef struct eval {
  counts c[MAX_EVAL_TOPICS];
  size_t n;
  unsigned items[2];
  unsigned by_name[2]; /* symbols only the dictionary gave, not in labels */
} eval;

static counts *counter(eval *e, const char *name) {
  for (size_t i = 0; i < e->n; i++)
    if (!strcmp(e->c[i].name, name)) return &e->c[i];
  if (e->n == MAX_EVAL_TOPICS) return NULL;
  counts *c = &e->c[e->n++];
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  return c;
}

static bool in_json_array(const json_t *a, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) if (!strcmp(json_string_value(v), s)) return true;
  return false;
}

static bool in_item(const char **v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i], s)) return true;
  return false;
}

/* Did the symbol come from a company name (dictionary) only?  Such
 * symbols are not labelled in the corpus, which labels codes. */
static bool by_name(const nf_explain *ex, const char *sym) {
  for (size_t i = 0; i < ex->n; i++)
    if (!strcmp(ex->r[i].what, "dictionary") && !strncmp(ex->r[i].topic, "sym.", 4) &&
        !strcmp(ex->r[i].topic + 4, sym))
      return true;
  return false;
}

/* Counts one labelled item against its tags. */
static void score_item(eval *e, int split, const nf_item *it, const nf_explain *ex,
                       const json_t *labels, const json_t *symbols) {
  size_t i;
  json_t *v;
  for (size_t k = 0; k < it->n_topics; k++) {
    const char *t = it->topics[k];
    if (!strcmp(t, "headline") || !strncmp(t, "sym.", 4)) continue;
    counts *c = counter(e, t);
    if (c) in_json_array(labels, t) ? c->tp[split]++ : c->fp[split]++;
  }
  json_array_foreach(labels, i, v) {
    counts *c = counter(e, json_string_value(v));
    if (c && !in_item(it->topics, it->n_topics, json_string_value(v))) c->fn[split]++;
  }
  counts *s = counter(e, "symbols");
  if (!s) return;
  for (size_t k = 0; k < it->n_symbols; k++) {
    if (in_json_array(symbols, it->symbols[k])) s->tp[split]++;
    else if (by_name(ex, it->symbols[k])) e->by_name[split]++;
    else s->fp[split]++;
  }
  json_array_foreach(symbols, i, v) if (!in_item(it->symbols, it->n_symbols, json_string_value(v)))
      s->fn[split]++;
}

static void print_eval(const eval *e) {
  static const char *names[] = {"dev", "holdout"};
  printf("%-8s %-16s %5s %5s %5s %9s %7s %6s\n", "split", "topic", "tp", "fp", "fn", "precision",
         "recall", "f1");
  for (int s = 0; s < 2; s++) {
    for (size_t i = 0; i < e->n; i++) {
      const counts *c = &e->c[i];
      double p = c->tp[s] + c->fp[s] ? (double)c->tp[s] / (c->tp[s] + c->fp[s]) : 1.0;
      double r = c->tp[s] + c->fn[s] ? (double)c->tp[s] / (c->tp[s] + c->fn[s]) : 1.0;
      double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
      printf("%-8s %-16s %5u %5u %5u %9.3f %7.3f %6.3f\n", names[s], c->name, c->tp[s], c->fp[s],
             c->fn[s], p, r, f);
    }
  }
  printf("items: %u dev, %u holdout\n", e->items[0], e->items[1]);
  printf("symbols from company names only (not labelled, not counted above): %u dev, %u holdout\n",
         e->by_name[0], e->by_name[1]);
}

static void cmd_eval(ctl *c, int argc, char **argv) {
  if (argc != 1) nf_die(PROG, 2, "eval takes one labelled corpus file");
  nf_rules *r;
  char err[1024];
  int rc = c->rules_path ? nf_rules_load_file(c->rules_path, &r, err, sizeof err)
                         : nf_rules_load_builtin(&r, err, sizeof err);
  if (rc < 0) nf_die(PROG, 1, "%s", err);
  nf_tagger *t = nf_tagger_new(r);
  nf_buf b = {0};
  if (!t || nf_read_all(argv[0], &b) < 0) nf_die(PROG, 2, "%s: cannot read", argv[0]);
  eval *e = calloc(1, sizeof *e);
  nf_limits lim = nf_limits_default();
  unsigned line = 0;
  for (const char *s = b.data, *end = b.data + b.len; s && s < end;) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t len = (size_t)((nl ? nl : end) - s);
    line++;
    json_error_t je;
    json_t *rec = len ? json_loadb(s, len, 0, &je) : NULL;
    s = nl ? nl + 1 : end;
    if (!len) continue;
    json_t *item = json_object_get(rec, "item");
    const char *split = json_string_value(json_object_get(rec, "split"));
    if (!item || !split)
      nf_die(PROG, 2, "%s:%u: expected {item, topics, symbols, split}", argv[0], line);
    char *text = json_dumps(item, JSON_COMPACT);
    nf_item it;
    nf_error ie;
    nf_explain ex = {0};
    nf_item_init(&it);
    if (nf_item_from_json(&it, text, strlen(text), &lim, NF_FROM_PRODUCER, &ie) < 0 ||
        nf_tag_item(t, &it, &ex, &ie) < 0)
      nf_die(PROG, 2, "%s:%u: %s: %s", argv[0], line, ie.field, ie.msg);
    int sp = !strcmp(split, "holdout");
    e->items[sp]++;
    score_item(e, sp, &it, &ex, json_object_get(rec, "topics"), json_object_get(rec, "symbols"));
    nf_explain_free(&ex);
    nf_item_clear(&it);
    free(text);
    json_decref(rec);
  }
  if (c->json) {
    json_t *out = json_array();
    for (size_t i = 0; i < e->n; i++)
      for (int sp = 0; sp < 2; sp++)
        json_array_append_new(out,
                              json_pack("{s:s,s:s,s:i,s:i,s:i}", "split", sp ? "holdout" : "dev",
                                        "topic", e->c[i].name, "tp", e->c[i].tp[sp], "fp",
                                        e->c[i].fp[sp], "fn", e->c[i].fn[sp]));
    print_json(out);
    json_decref(out);
  } else {
    print_eval(e);
  }
  free(e);
  nf_buf_free(&b);
  nf_tagger_free(t);
}

int main(int argc, char **argv) {
  enum { O_RULES = 256, O_DAEMON, O_JSON, O_VERSION, O_SINCE, O_LIMIT };
  static const struct option opts[] = {{"query", required_argument, 0, 'q'},
                                       {"rules", required_argument, 0, O_RULES},
                                       {"daemon", no_argument, 0, O_DAEMON},
                                       {"json", no_argument, 0, O_JSON},
                                       {"since", required_argument, 0, O_SINCE},
                                       {"limit", required_argument, 0, O_LIMIT},
                                       {"help", no_argument, 0, 'h'},
                                       {"version", no_argument, 0, O_VERSION},
                                       {0, 0, 0, 0}};
  ctl c = {.query_url = NF_DEFAULT_QUERY, .limit = UINT64_MAX};
  int o;
  opterr = 0;
  while ((o = getopt_long(argc, argv, ":q:h", opts, NULL)) != -1) {
    switch (o) {
    case 'q':
      c.query_url = optarg;
      break;
    case O_RULES:
      c.rules_path = optarg;
      break;
    case O_DAEMON:
      c.daemon = true;
      break;
    case O_JSON:
      c.json = true;
      break;
    case O_SINCE:
      c.since = (uint64_t)nf_parse_count(PROG, "--since", optarg);
      break;
    case O_LIMIT:
      c.limit = (uint64_t)nf_parse_count(PROG, "--limit", optarg);
      break;
    case 'h':
      usage(stdout);
      return 0;
    case O_VERSION:
      printf("newsfeed-ctl %s\n", nf_version());
      return 0;
    case ':':
      nf_die(PROG, 2, "%s needs a value", argv[optind - 1]);
    default:
      nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
    }
  }
  if (optind == argc) nf_die(PROG, 2, "name a command: stats, topics, reload or tag (see --help)");
  const char *cmd = argv[optind++];
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(cmd, "stats") || !strcmp(cmd, "topics") || !strcmp(cmd, "reload")) {
    if (optind < argc) nf_die(PROG, 2, "%s takes no arguments", cmd);
    simple_op(&c, cmd);
  } else if (!strcmp(cmd, "history")) {
    cmd_history(&c, argc - optind, argv + optind, c.since, c.limit);
  } else if (!strcmp(cmd, "eval")) {
    cmd_eval(&c, argc - optind, argv + optind);
  } else if (!strcmp(cmd, "tag")) {
    if (c.daemon && c.rules_path) nf_die(PROG, 2, "give --rules or --daemon, not both");
    cmd_tag(&c, argc - optind, argv + optind);
  } else {
    nf_die(PROG, 2, "unknown command '%s' (stats, topics, reload, tag, history, eval)", cmd);
  }
  return c.failed ? 1 : 0;
}
