/*
 * pipeline.c -- what happens to the items of one read, in order:
 *
 *   1. stamp `received`, give an id to items without one;
 *   2. tag: normalise and extract symbols, decide topics (tag/);
 *   3. number and publish, one message per topic or a batch (publish/);
 *   4. answer each item ok with its topics and seqs, or with its error.
 *
 * Items of one read go through together so that publishing can batch per
 * topic and costs are amortised, but each keeps its own answer: a bad item
 * never affects its neighbours.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/nfd.h"

void nfd_job_clear(nfd_job *j) {
  nf_item_clear(&j->item);
  nf_answer_clear(&j->answer);
  nf_buf_free(&j->enc_full);
  nf_buf_free(&j->enc_compact);
  j->valid = false;
  j->n_full = j->n_compact = 0;
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
  if (!it->id || nf_tag_item(d->tagger, it, NULL, &err) < 0) {
    if (!it->id) strcpy(err.field, ""), strcpy(err.msg, "out of memory");
    nf_answer_set_error(&j->answer, j->answer.item, err.field, err.msg);
    j->valid = false;
  }
}

void nfd_pipeline_run(nfd *d, nfd_job *jobs, size_t n) {
  int64_t now = nf_now_ms();
  for (size_t i = 0; i < n; i++)
    if (jobs[i].valid) prepare(d, &jobs[i], now);
  nfd_pub_jobs(d, jobs, n);
  for (size_t i = 0; i < n; i++) {
    nfd_job *j = &jobs[i];
    if (j->valid) {
      j->answer.ok = true;
      snprintf(j->answer.id, sizeof j->answer.id, "%s", j->item.id);
      atomic_fetch_add(&d->m.items_accepted, 1);
      nfd_log(d, NFD_DEBUG, "item %s: %zu topics", j->item.id, j->item.n_topics);
    } else if (!j->control) {
      atomic_fetch_add(&d->m.items_rejected, 1);
    }
  }
}
