/*
 * peer.c -- `newsfeed-bench peer`: the workloads of `newsfeed-bench load`
 * through a plain broker (NATS, Mosquitto) or raw nng PUB/SUB, so newsfeedd
 * can be compared side by side with what it could have been built on.
 *
 * One publisher (the main thread) and K subscriber threads, each with its
 * own connection or socket (peer.h: one small vtable per transport).  A
 * message is --size bytes: a 32-byte header {magic "NFPB", flags (1 =
 * warm-up), run id, sequence number 1..N in the run, CLOCK_REALTIME ns at
 * send} followed by text from the built-in corpus's titles.  At receive,
 * latency = CLOCK_REALTIME now - header time (one machine, one clock) into
 * the histogram shared with `load` (hist.c).  Each subscriber marks the
 * sequence numbers it got; loss = numbers published but not received
 * (duplicates are counted apart).  There is no history to fill gaps from,
 * so "after fill" equals "before".
 *
 * Readiness: a warm-up message is published (again every 20 ms) until every
 * subscriber got one of this run; no fixed sleeps.  A run ends when every
 * subscriber has every number, or none received anything for --idle-ms.
 *
 * Modes as in `load`: --rate N --seconds S (absolute schedule), --burst N
 * (as fast as the library takes them; first send -> last receive at every
 * subscriber), --max (2-second steps from 2000/s, doubling, then bisecting
 * to within 8%).  A --max step passes when nothing is lost, every publish
 * was confirmed (peer.h: flush), the confirmed rate is >= 95% of the target
 * AND every subscriber received at >= 95% of it: unlike newsfeedd's nng
 * queues, a NATS server or libmosquitto can buffer a backlog without
 * losing it, and a rate the subscribers cannot follow is not sustained.
 * `--json` prints the keys of `load --json` plus the transport's own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "peer.h"
#include "toolutil.h"

#define PROG "newsfeed-bench peer"

extern const char nf_bench_corpus[];
extern const size_t nf_bench_corpus_len;

int nf_bench_peer(int argc, char **argv);

/* ---- options ------------------------------------------------------------- */

typedef enum { M_RATE, M_BURST, M_MAX } pmode;

typedef struct popts {
  const char *broker;
  peer_cfg cfg;
  int subscribers, size, idle_ms;
  pmode mode;
  double rate, seconds;
  long long burst;
  bool json, rate_given;
} popts;

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeed-bench peer --broker nng|nats|mqtt [OPTIONS]\n\n"
             "The workloads of `newsfeed-bench load` through a plain broker: one publisher,\n"
             "K subscribers; reports delivery, loss and one-way latency.\n\n"
             "      --broker B      nng (PUB bound here, SUBs dial it), nats, mqtt\n"
             "      --url URL       tcp://127.0.0.1:17871, nats://127.0.0.1:4222 or\n"
             "                      mqtt://127.0.0.1:1883 (the defaults)\n"
             "      --qos 0|1       MQTT QoS of publisher and subscribers (default 0)\n"
             "      --nng-buf N     nng: SENDBUF on PUB, RECVBUF on SUBs (default 8192)\n"
             "      --nats-send-asap  NATS: publisher writes each message at once\n"
             "  -K, --subscribers N subscribers (default 1)\n"
             "  -t, --topic T       subject / topic (default headline)\n"
             "      --rate N        messages/s, for --seconds (default mode, 1000/s)\n"
             "      --seconds S     duration of a --rate run (default 5; --max: 2 per step)\n"
             "      --burst N       N messages as fast as possible\n"
             "      --max           highest rate without loss\n"
             "      --size N        message size in bytes, 32..65536 (default 300)\n"
             "      --idle-ms N     end a run when nothing arrived for N ms (default 2000)\n"
             "      --flash-only    accepted for `load` compatibility (always so)\n"
             "      --json          one JSON object on stdout\n"
             "  -h, --help          show this help\n");
}

/* ---- messages ------------------------------------------------------------- */

typedef struct phdr {
  char magic[4];
  uint32_t flags;
  uint64_t run, seq, t_ns;
} phdr;
#define F_WARM 1u

static struct {
  popts o;
  const peer_transport *t;
  void *pub;
  struct psub *subs;
  atomic_int stop;
  char *text; /* corpus titles, the messages' filler */
  size_t text_len;
  uint8_t *msg;
  uint64_t confirmed; /* the transport's cumulative count at the last flush */
} G;

static uint64_t rt_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void build_text(void) {
  size_t cap = 1 << 18, n = 0;
  char *t = bench_xmalloc(cap);
  const char *buf = nf_bench_corpus;
  size_t len = nf_bench_corpus_len;
  for (size_t pos = 0; pos < len && n < cap - 1024;) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - buf) : len, start = pos;
    pos = end + 1;
    json_t *root = json_loadb(buf + start, end - start, 0, NULL);
    json_t *it = root ? json_object_get(root, "item") : NULL;
    const char *s = json_string_value(json_object_get(it ? it : root, "title"));
    size_t sl = s ? strlen(s) : 0;
    if (sl && sl < 1000) memcpy(t + n, s, sl), n += sl, t[n++] = ' ';
    json_decref(root);
  }
  if (n < 256) nf_die(PROG, 1, "built-in corpus has no titles");
  G.text = t, G.text_len = n;
}

/* Fills G.msg with the header and SIZE - 32 bytes of text. */
static void make_msg(uint64_t run, uint64_t seq, uint32_t flags) {
  size_t fill = (size_t)G.o.size - sizeof(phdr);
  size_t span = G.text_len > fill ? G.text_len - fill : 1;
  memcpy(G.msg + sizeof(phdr), G.text + (seq * 2654435761u) % span,
         fill < G.text_len ? fill : G.text_len);
  phdr h = {.magic = {'N', 'F', 'P', 'B'}, .flags = flags, .run = run, .seq = seq};
  h.t_ns = rt_ns();
  memcpy(G.msg, &h, sizeof h);
}

/* ---- subscribers ------------------------------------------------------------ */

typedef struct psub {
  pthread_t th;
  int idx;
  void *h;
  pthread_mutex_t mu;
  /* per run, under mu */
  uint64_t run, count;
  uint8_t *got; /* [1..count] */
  bool warm, dead;
  bench_hist hist;
  uint64_t items, msgs, dups, other;
  double last_recv; /* monotonic */
} psub;

static void on_msg(void *ctx, const void *buf, size_t len) {
  psub *s = ctx;
  uint64_t now_rt = rt_ns();
  double now = bench_now();
  phdr h;
  bool ours = len >= sizeof h;
  if (ours) memcpy(&h, buf, sizeof h);
  pthread_mutex_lock(&s->mu);
  if (!ours || memcmp(h.magic, "NFPB", 4) || h.run != s->run) s->other++;
  else if (h.flags & F_WARM) s->warm = true;
  else if (h.seq >= 1 && h.seq <= s->count) {
    s->msgs++;
    s->last_recv = now;
    if (s->got[h.seq]) s->dups++;
    else {
      s->got[h.seq] = 1;
      s->items++;
      bench_hist_add(&s->hist, now_rt > h.t_ns ? (now_rt - h.t_ns + 500) / 1000 : 0);
    }
  } else s->other++;
  pthread_mutex_unlock(&s->mu);
}

static void *sub_main(void *arg) {
  psub *s = arg;
  while (!atomic_load(&G.stop))
    if (G.t->sub_poll(s->h, 100, on_msg, s) < 0) break;
  pthread_mutex_lock(&s->mu);
  s->dead = !atomic_load(&G.stop);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static void subs_start(void) {
  int K = G.o.subscribers;
  G.subs = bench_xcalloc((size_t)K, sizeof *G.subs);
  for (int k = 0; k < K; k++) {
    psub *s = &G.subs[k];
    char err[512];
    s->idx = k;
    pthread_mutex_init(&s->mu, NULL);
    bench_hist_init(&s->hist);
    s->h = G.t->sub_open(&G.o.cfg, k, err, sizeof err);
    if (!s->h) nf_die(PROG, 1, "%s", err);
    pthread_create(&s->th, NULL, sub_main, s);
  }
}

static void sub_reset(psub *s, uint64_t run, uint64_t count) {
  pthread_mutex_lock(&s->mu);
  s->run = run, s->count = count;
  free(s->got);
  s->got = bench_xcalloc(count + 1, 1);
  s->warm = false;
  bench_hist_reset(&s->hist);
  s->items = s->msgs = s->dups = s->other = 0;
  s->last_recv = 0;
  pthread_mutex_unlock(&s->mu);
}

/* ---- one run ----------------------------------------------------------------- */

static void pause_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
  nanosleep(&ts, NULL); /* polling interval */
}

static void sleep_until(double t) { /* monotonic seconds */
  struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) continue;
}

static bool all_subs(bool warm, uint64_t count, uint64_t *total) {
  bool all = true;
  *total = 0;
  for (int k = 0; k < G.o.subscribers; k++) {
    psub *s = &G.subs[k];
    pthread_mutex_lock(&s->mu);
    all &= warm ? s->warm : (s->items >= count || s->dead);
    *total += s->msgs;
    pthread_mutex_unlock(&s->mu);
  }
  return all;
}

static void warm_up(uint64_t run) {
  double deadline = bench_now() + 20, next = 0;
  uint64_t n = 0, total;
  char err[512];
  while (!all_subs(true, 0, &total)) {
    double now = bench_now();
    if (now > deadline) nf_die(PROG, 1, "warm-up: subscribers got nothing for 20 s");
    if (now >= next) {
      make_msg(run, ++n, F_WARM);
      if (G.t->publish(G.pub, G.msg, (size_t)G.o.size, err, sizeof err) < 0)
        nf_die(PROG, 1, "warm-up: %s", err);
      G.t->flush(G.pub, 1000);
      next = now + 0.02;
    }
    pause_s(0.001);
  }
  G.confirmed = G.t->flush(G.pub, 5000);
}

/* Publishes COUNT messages (RATE > 0: on an absolute schedule); fills the
 * publisher's figures of R. */
static void publish_run(uint64_t run, uint64_t count, double rate, bench_result *R,
                        double *first_send) {
  double t0 = bench_now() + 0.002;
  *first_send = 0;
  for (uint64_t i = 0; i < count; i++) {
    if (rate > 0) sleep_until(t0 + (double)i / rate);
    make_msg(run, i + 1, 0);
    if (i == 0) *first_send = bench_now();
    if (G.t->publish(G.pub, G.msg, (size_t)G.o.size, R->err, sizeof R->err) < 0) break;
    R->sent++;
  }
  uint64_t c = G.t->flush(G.pub, 10000);
  double end = bench_now();
  R->acked = c - G.confirmed;
  G.confirmed = c;
  if (R->acked < R->sent && !R->err[0])
    snprintf(R->err, sizeof R->err, "%llu publishes not confirmed after 10 s",
             (unsigned long long)(R->sent - R->acked));
  R->ingest_s = end - *first_send;
  R->ingest_rate = R->ingest_s > 0 ? (double)R->acked / R->ingest_s : 0;
}

static void wait_delivery(uint64_t count) {
  uint64_t last_total = UINT64_MAX, total;
  double last_change = bench_now();
  while (!all_subs(false, count, &total)) {
    double now = bench_now();
    if (total != last_total) last_total = total, last_change = now;
    else if ((now - last_change) * 1000 >= G.o.idle_ms) break;
    pause_s(0.002);
  }
}

static void collect(bench_result *R, double first_send) {
  double last_recv = 0;
  for (int k = 0; k < R->n_sub; k++) {
    psub *s = &G.subs[k];
    pthread_mutex_lock(&s->mu);
    s->run = 0; /* stop recording */
    bench_sub_result *r = &R->sub[k];
    r->items = s->items, r->msgs = s->msgs;
    r->lost = R->sent > s->items ? R->sent - s->items : 0;
    double span = s->last_recv - first_send;
    r->items_s = span > 0 ? (double)s->items / span : 0;
    r->msgs_s = span > 0 ? (double)s->msgs / span : 0;
    if (s->last_recv > last_recv) last_recv = s->last_recv;
    bench_hist_merge(&R->h, &s->hist);
    if (s->dead && !R->err[0]) snprintf(R->err, sizeof R->err, "subscriber %d failed", k);
    pthread_mutex_unlock(&s->mu);
    R->lost_total += r->lost;
  }
  R->burst_s = last_recv > 0 ? last_recv - first_send : NAN;
  R->filled_s = R->burst_s;
  R->lost_after_fill_total = R->lost_total;
  R->all_delivered = R->lost_total == 0 && R->acked == R->items && R->sent == R->items;
}

/* Per subscriber: duplicates, library drops, disconnects, foreign messages. */
static void extra_json(FILE *f, const bench_result *R, int k, void *ctx) {
  (void)R, (void)ctx;
  if (k < 0) return;
  psub *s = &G.subs[k];
  uint64_t dropped = 0, disc = 0;
  if (G.t->sub_stats) G.t->sub_stats(s->h, &dropped, &disc);
  pthread_mutex_lock(&s->mu);
  fprintf(f, ",\"duplicates\":%llu,\"library_dropped\":%llu,\"disconnects\":%llu,\"other\":%llu",
          (unsigned long long)s->dups, (unsigned long long)dropped, (unsigned long long)disc,
          (unsigned long long)s->other);
  pthread_mutex_unlock(&s->mu);
}

static uint64_t new_run_id(void) {
  static uint64_t ctr;
  return (rt_ns() ^ ((uint64_t)getpid() << 40)) + ++ctr;
}

static void run_once(double rate, uint64_t count, double seconds, bench_result *R) {
  bench_result_init(R, G.o.subscribers);
  R->extra = extra_json;
  R->target_rate = rate;
  if (rate > 0) count = (uint64_t)llround(rate * seconds);
  if (count < 1) count = 1;
  R->items = count;
  uint64_t run = new_run_id();
  for (int k = 0; k < G.o.subscribers; k++) sub_reset(&G.subs[k], run, count);
  warm_up(run);
  double first_send;
  publish_run(run, count, rate, R, &first_send);
  wait_delivery(R->sent);
  collect(R, first_send);
}

static bool max_step(void *ctx, double rate, bench_result *R) {
  (void)ctx;
  run_once(rate, 0, G.o.seconds, R);
  bool ok = R->lost_total == 0 && R->acked == R->items && R->sent == R->items && !R->err[0] &&
            R->ingest_rate >= 0.95 * rate;
  for (int k = 0; k < R->n_sub; k++) ok &= R->sub[k].items_s >= 0.95 * rate;
  return ok;
}

/* ---- main ---------------------------------------------------------------------- */

static const peer_transport *pick_transport(const char *b) {
  if (!strcmp(b, "nng")) return &peer_nng_transport;
  if (!strcmp(b, "nats")) {
#if NF_HAVE_NATS
    return &peer_nats_transport;
#else
    nf_die(PROG, 1, "built without libnats");
#endif
  }
  if (!strcmp(b, "mqtt")) {
#if NF_HAVE_MOSQUITTO
    return &peer_mqtt_transport;
#else
    nf_die(PROG, 1, "built without libmosquitto");
#endif
  }
  nf_die(PROG, 2, "--broker must be nng, nats or mqtt, not '%s'", b);
}

static const char *default_url(const char *b) {
  if (!strcmp(b, "nats")) return "nats://127.0.0.1:4222";
  if (!strcmp(b, "mqtt")) return "mqtt://127.0.0.1:1883";
  return "tcp://127.0.0.1:17871";
}

int peer_parse_hostport(const char *url, char *host, size_t hostlen, int *port) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *colon = strrchr(p, ':');
  if (!colon || (size_t)(colon - p) >= hostlen) return -1;
  char *end;
  long v = strtol(colon + 1, &end, 10);
  if (end == colon + 1 || (*end && *end != '/') || v <= 0 || v > 65535) return -1;
  snprintf(host, hostlen, "%.*s", (int)(colon - p), p);
  if (!host[0]) snprintf(host, hostlen, "127.0.0.1");
  *port = (int)v;
  return 0;
}

static double parse_num(const char *flag, const char *s) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0)) nf_die(PROG, 2, "%s: not a number: '%s'", flag, s);
  return v;
}

enum {
  O_BROKER = 256,
  O_URL,
  O_QOS,
  O_NNGBUF,
  O_ASAP,
  O_RATE,
  O_SECONDS,
  O_BURST,
  O_MAX,
  O_SIZE,
  O_IDLE,
  O_FLASH,
  O_JSON
};

static const struct option longopts[] = {{"broker", required_argument, 0, O_BROKER},
                                         {"url", required_argument, 0, O_URL},
                                         {"qos", required_argument, 0, O_QOS},
                                         {"nng-buf", required_argument, 0, O_NNGBUF},
                                         {"nats-send-asap", no_argument, 0, O_ASAP},
                                         {"subscribers", required_argument, 0, 'K'},
                                         {"topic", required_argument, 0, 't'},
                                         {"rate", required_argument, 0, O_RATE},
                                         {"seconds", required_argument, 0, O_SECONDS},
                                         {"burst", required_argument, 0, O_BURST},
                                         {"max", no_argument, 0, O_MAX},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"idle-ms", required_argument, 0, O_IDLE},
                                         {"flash-only", no_argument, 0, O_FLASH},
                                         {"json", no_argument, 0, O_JSON},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};

/* Returns 0 to go on, or 1 after --help. */
static int parse_opt(popts *o, int ch, char **argv) {
  switch (ch) {
  case O_BROKER:
    o->broker = optarg;
    break;
  case O_URL:
    o->cfg.url = optarg;
    break;
  case O_QOS:
    o->cfg.qos = (int)nf_parse_count(PROG, "--qos", optarg);
    break;
  case O_NNGBUF:
    o->cfg.nng_buf = (int)nf_parse_count(PROG, "--nng-buf", optarg);
    break;
  case O_ASAP:
    o->cfg.send_asap = true;
    break;
  case 'K':
    o->subscribers = (int)nf_parse_count(PROG, "-K", optarg);
    break;
  case 't':
    o->cfg.topic = optarg;
    break;
  case O_RATE:
    o->rate = parse_num("--rate", optarg), o->rate_given = true;
    break;
  case O_SECONDS:
    o->seconds = parse_num("--seconds", optarg);
    break;
  case O_BURST:
    o->mode = M_BURST, o->burst = nf_parse_count(PROG, "--burst", optarg);
    break;
  case O_MAX:
    o->mode = M_MAX;
    break;
  case O_SIZE:
    o->size = (int)nf_parse_count(PROG, "--size", optarg);
    break;
  case O_IDLE:
    o->idle_ms = (int)nf_parse_count(PROG, "--idle-ms", optarg);
    break;
  case O_FLASH:
    break;
  case O_JSON:
    o->json = true;
    break;
  case 'h':
    usage(stdout);
    return 1;
  case ':':
    nf_die(PROG, 2, "option '%s' needs a value", argv[optind - 1]);
  default:
    nf_die(PROG, 2, "unknown option '%s' (see --help)", argv[optind - 1]);
  }
  return 0;
}

static void parse_args(popts *o, int argc, char **argv) {
  *o = (popts){.cfg = {.topic = "headline", .nng_buf = 8192},
               .subscribers = 1,
               .size = 300,
               .idle_ms = 2000,
               .mode = M_RATE,
               .rate = 1000,
               .seconds = -1};
  opterr = 0;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, ":K:t:h", longopts, NULL)) != -1)
    if (parse_opt(o, ch, argv)) exit(0);
  if (optind < argc) nf_die(PROG, 2, "unexpected argument '%s'", argv[optind]);
  if (!o->broker) nf_die(PROG, 2, "--broker nng|nats|mqtt is required");
  if (!o->cfg.url) o->cfg.url = default_url(o->broker);
  if (o->subscribers < 1) nf_die(PROG, 2, "-K must be at least 1");
  if (o->size < (int)sizeof(phdr) || o->size > 65536) nf_die(PROG, 2, "--size must be 32..65536");
  if (o->cfg.qos > 1) nf_die(PROG, 2, "--qos must be 0 or 1");
  if (o->cfg.nng_buf > 8192) nf_die(PROG, 2, "--nng-buf must be 0..8192 (nng's maximum)");
  if (o->mode == M_RATE && !(o->rate > 0)) nf_die(PROG, 2, "--rate must be > 0");
  if (o->mode == M_BURST && o->burst < 1) nf_die(PROG, 2, "--burst must be >= 1");
  if (o->seconds < 0) o->seconds = o->mode == M_MAX ? 2 : 5;
}

static void print_head(FILE *out) {
  const popts *o = &G.o;
  bench_machine m;
  bench_machine_get(&m);
  const char *mode = o->mode == M_RATE ? "rate" : o->mode == M_BURST ? "burst" : "max";
  if (!o->json) {
    printf("newsfeed-bench peer: %s at %s, 1 publisher, %d subscribers, %d-byte messages\n",
           o->broker, o->cfg.url, o->subscribers, o->size);
    return;
  }
  fprintf(out, "{\"what\":\"peer\",\"broker\":");
  bench_json_string(out, o->broker);
  fprintf(out, ",\"url\":");
  bench_json_string(out, o->cfg.url);
  fprintf(out,
          ",\"qos\":%d,\"nng_buf\":%d,\"nats_send_asap\":%s,\"mode\":\"%s\",\"topic\":", o->cfg.qos,
          o->cfg.nng_buf, o->cfg.send_asap ? "true" : "false", mode);
  bench_json_string(out, o->cfg.topic);
  fprintf(out, ",\"producers\":1,\"subscribers\":%d,\"flash_only\":true,\"size\":%d,",
          o->subscribers, o->size);
  fprintf(out, "\"machine\":{\"cpu\":");
  bench_json_string(out, m.cpu);
  fprintf(out, ",\"nproc\":%ld,\"ram_gib\":", m.nproc);
  bench_json_number(out, m.ram_gib);
  fprintf(out, "},");
}

static int run_single(FILE *out) {
  bench_result R;
  if (G.o.mode == M_RATE) run_once(G.o.rate, 0, G.o.seconds, &R);
  else run_once(0, (uint64_t)G.o.burst, 0, &R);
  if (G.o.json) {
    fprintf(out, "\"result\":");
    bench_print_result_json(out, &R);
    fprintf(out, "}\n");
  } else {
    bench_print_result_text(out, &R, "published");
  }
  int status = R.err[0] || R.acked == 0;
  bench_result_free(&R);
  return status;
}

int nf_bench_peer(int argc, char **argv) {
  popts *o = &G.o;
  parse_args(o, argc, argv);
  G.t = pick_transport(o->broker);
  build_text();
  G.msg = bench_xmalloc((size_t)o->size);
  char err[512];
  G.pub = G.t->pub_open(&o->cfg, err, sizeof err);
  if (!G.pub) nf_die(PROG, 1, "%s", err);
  subs_start();
  FILE *out = stdout;
  print_head(out);
  int status;
  if (o->mode != M_MAX) {
    status = run_single(out);
  } else {
    bench_max_cfg mc = {.start_rate = o->rate_given ? o->rate : 2000,
                        .step_seconds = o->seconds,
                        .json = o->json,
                        .out = out,
                        .verb = "published",
                        .step = max_step};
    status = !bench_max_search(&mc);
    if (o->json) fprintf(out, "}\n");
  }
  fflush(out);
  atomic_store(&G.stop, 1);
  for (int k = 0; k < o->subscribers; k++) pthread_join(G.subs[k].th, NULL);
  /* sockets and connections are left to process exit: nng_close() can hang
   * in 1.5.2, and the libraries' own threads end with the process */
  return status;
}
