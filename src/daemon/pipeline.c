/*
 * pipeline.c -- what happens to the items of one read, in order:
 *
 *   1. stamp `received`, give an id to items without one, tag them;
 *   2. answer a repeat of a recent id as a duplicate (not published);
 *   3. pack each item's fields once;
 *   4. number: each topic's next seq;
 *   5. journal the run in one write -- if that fails, the numbering is
 *      rolled back and every item of the run is answered with the error:
 *      nothing unjournaled is ever published or acknowledged;
 *   6. keep in history, remember ids for deduplication, answer ok with
 *      topics and seqs.  The caller sends the answers once the journal
 *      position returned is durable (fsync policy);
 *   7. hand the items to the publisher, which publishes them (one message
 *      per topic, or batches) at the end of this loop iteration -- after
 *      history has them, so a subscriber that sees a gap can fill it.
 *
 * Items of one read go through together so that journal writes, syncs and
 * batches are shared, but each keeps its own answer: a bad item never
 * affects its neighbours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"
#include "util/strmap.h"

void nfd_job_clear(nfd_job *j) {
  nf_item_clear(&j->item);
  nf_answer_clear(&j->answer);
  nf_buf_free(&j->enc);
  nf_buf_free(&j->enc_body);
  j->valid = j->duplicate = j->control = false;
  j->n_enc = j->dup_of = 0;
  j->tps = NULL;
  j->seqs = NULL;
}

static void reject(nfd_job *j, const char *field, const char *msg) {
  nf_answer_set_error(&j->answer, j->answer.item, field, msg);
  j->valid = false;
}

static void prepare(nfd *d, nfd_job *j, int64_t now) {
  nf_item *it = &j->item;
  nf_error err;
  it->received = now;
  if (!it->id) {
    char id[27];
    nf_id_generate(&d->idgen, now, id);
    it->id = nf_item_strdup(it, id, 26);
  }
  if (!it->id) return reject(j, "", "out of memory");
  if (nf_tag_item(d->tagger, it, NULL, &err) < 0) return reject(j, err.field, err.msg);
}

/* The run's ids, for repeats inside one run: a small open-addressing
 * table of job indexes + 1 (0 = empty) with room for every job, so a run
 * of N items costs N lookups, not N^2 / 2 comparisons. */
static bool run_ids_reset(nfd *d, size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  if (cap > d->run_ids_cap) {
    uint32_t *v = realloc(d->run_ids, cap * sizeof *v);
    if (!v) return false;
    d->run_ids = v;
    d->run_ids_cap = cap;
  }
  memset(d->run_ids, 0, cap * sizeof *d->run_ids);
  return true;
}

/* Returns the 1-based index of a valid earlier job of the run with job
 * I's id, or 0 after recording job I as the first with that id. */
static uint32_t run_ids_check(nfd *d, nfd_job *jobs, size_t n, size_t i) {
  size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  const char *id = jobs[i].item.id;
  size_t h = (size_t)nf_strhash(id, strlen(id)) & (cap - 1);
  for (; d->run_ids[h]; h = (h + 1) & (cap - 1)) {
    const nfd_job *o = &jobs[d->run_ids[h] - 1];
    if (o->valid && !strcmp(o->item.id, id)) return d->run_ids[h];
  }
  d->run_ids[h] = (uint32_t)i + 1;
  return 0;
}

/* A repeat of an id seen before -- in an earlier run or earlier in this
 * one -- gets the original's answer.  RUN: the run's id table is usable. */
static void deduplicate(nfd *d, nfd_job *jobs, size_t n, size_t i, bool run) {
  nfd_job *j = &jobs[i];
  bool dup = nfd_dedup_lookup(d, j->item.id, &j->answer);
  if (!dup && run) {
    j->dup_of = run_ids_check(d, jobs, n, i); /* answered once the original is */
    dup = j->dup_of != 0;
  }
  for (size_t k = 0; !dup && !run && k < i; k++) { /* no table (out of memory) */
    if (!jobs[k].valid || strcmp(jobs[k].item.id, j->item.id)) continue;
    dup = true;
    j->dup_of = (uint32_t)k + 1;
  }
  if (dup) {
    j->valid = false;
    j->duplicate = true;
    atomic_fetch_add(&d->m.duplicates, 1);
  }
}

static int pack(nfd_job *j) {
  nf_item *it = &j->item;
  const char *body = it->body;
  it->body = NULL; /* pack everything but the body... */
  int rc = nf__pack_fields(it, NF_ENC_DAEMON, &j->enc, &j->n_enc);
  it->body = body;
  if (!rc && body) /* ...which goes in its own key/value pair */
    rc = nf__mp_cstr(&j->enc_body, "body") || nf__mp_cstr(&j->enc_body, body);
  return rc;
}

static int number(nfd *d, nfd_job *j) {
  nf_item *it = &j->item;
  j->tps = nf_item_alloc(it, (it->n_topics + 1) * sizeof *j->tps);
  j->seqs = nf_item_alloc(it, (it->n_topics + 1) * sizeof *j->seqs);
  if (!j->tps || !j->seqs) return -1;
  for (size_t k = 0; k < it->n_topics; k++)
    if (!(j->tps[k] = nfd_topic_get(d, it->topics[k]))) return -1;
  for (size_t k = 0; k < it->n_topics; k++) j->seqs[k] = ++j->tps[k]->seq;
  return 0;
}

/* Undoes the numbering of the run: seqs were taken in order, so giving
 * them back in reverse order restores every topic. */
static void unnumber(nfd_job *jobs, size_t n) {
  for (size_t i = n; i-- > 0;)
    for (size_t k = jobs[i].item.n_topics; jobs[i].valid && k-- > 0;) jobs[i].tps[k]->seq--;
}

static void keep(nfd *d, nfd_job *j) {
  nf_item *it = &j->item;
  nfd_history_add(d, j->enc.data, j->enc.len, j->n_enc, j->enc_body.data, j->enc_body.len, j->tps,
                  j->seqs, it->n_topics);
  nfd_dedup_add(d, it->id, it->received, j->tps, j->seqs, it->n_topics);
  j->answer.ok = true;
  snprintf(j->answer.id, sizeof j->answer.id, "%s", it->id);
  for (size_t k = 0; k < it->n_topics; k++)
    nf_answer_add_topic(&j->answer, j->tps[k]->name, j->seqs[k]);
}

/* A repeat inside the run answers like its original, now that the
 * original has its seqs. */
static void answer_repeats(nfd_job *jobs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    nfd_job *j = &jobs[i];
    if (!j->dup_of) continue;
    const nf_answer *o = &jobs[j->dup_of - 1].answer;
    if (!o->ok) { /* the original failed (journal): so does the repeat */
      nf_answer_set_error(&j->answer, j->answer.item, o->field, o->error);
      continue;
    }
    for (size_t t = 0; t < o->n_topics; t++)
      nf_answer_add_topic(&j->answer, o->topics[t].name, o->topics[t].seq);
  }
}

static nfd_producer_stat *producer_stat(nfd *d, const char *name) {
  size_t n = atomic_load_explicit(&d->n_producers, memory_order_relaxed);
  for (size_t i = 0; i < n; i++)
    if (!strcmp(d->producers[i].name, name)) return &d->producers[i];
  if (n == NFD_MAX_PRODUCERS) return NULL;
  snprintf(d->producers[n].name, sizeof d->producers[n].name, "%s", name);
  atomic_store_explicit(&d->n_producers, n + 1, memory_order_release);
  return &d->producers[n];
}

static void count(nfd *d, const nfd_job *j, bool accepted) {
  atomic_fetch_add(accepted ? &d->m.items_accepted : &d->m.items_rejected, 1);
  nfd_producer_stat *p = j->item.producer ? producer_stat(d, j->item.producer) : NULL;
  if (p) atomic_fetch_add(accepted ? &p->accepted : &p->rejected, 1);
}

uint64_t nfd_pipeline_run(nfd *d, nfd_job *jobs, size_t n) {
  int64_t now = nf_now_ms();
  size_t numbered = 0;
  bool run = n > 1 && run_ids_reset(d, n);
  for (size_t i = 0; i < n; i++) {
    nfd_job *j = &jobs[i];
    if (!j->valid) continue;
    prepare(d, j, now);
    if (j->valid) deduplicate(d, jobs, n, i, run);
    if (j->valid && (pack(j) < 0 || number(d, j) < 0)) reject(j, "", "out of memory");
    if (j->valid) numbered = i + 1;
  }
  uint64_t lsn = 0;
  if (d->journal && numbered) {
    nf_error err;
    lsn = nfd_journal_append(d, jobs, numbered, &err);
    if (!lsn) {
      unnumber(jobs, numbered);
      for (size_t i = 0; i < numbered; i++)
        if (jobs[i].valid) reject(&jobs[i], "", err.msg);
      nfd_log(d, NFD_ERROR, "%s", err.msg);
    }
  }
  for (size_t i = 0; i < n; i++) {
    nfd_job *j = &jobs[i];
    if (j->valid) {
      keep(d, j);
      count(d, j, true);
    } else if (j->duplicate) {
      j->answer.ok = j->answer.duplicate = true;
      snprintf(j->answer.id, sizeof j->answer.id, "%s", j->item.id);
    } else if (!j->control) {
      count(d, j, false);
    }
  }
  answer_repeats(jobs, n);
  nfd_pub_jobs(d, jobs, n); /* takes the packed fields: last */
  return lsn;
}
