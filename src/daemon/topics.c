/*
 * topics.c -- the table of topics: name -> nfd_topic.
 *
 * A topic is created the first time an item is tagged with it (or the
 * journal names it at recovery) and lives until shutdown: its seq must
 * never go back, and its history ring hangs off it.  A new topic's epoch
 * is the creation time in milliseconds, so two numberings of one topic
 * (before and after a lost journal) never share an epoch.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "daemon/nfd.h"

nfd_topic *nfd_topic_find(const nfd *d, const char *name) {
  return nf_strmap_get(&d->topics, name, strlen(name));
}

nfd_topic *nfd_topic_get(nfd *d, const char *name) {
  size_t len = strlen(name);
  nfd_topic *t = nf_strmap_get(&d->topics, name, len);
  if (t) return t;
  if (d->n_topic_list == d->cap_topic_list) {
    size_t cap = d->cap_topic_list ? 2 * d->cap_topic_list : 64;
    nfd_topic **v = realloc(d->topic_list, cap * sizeof *v);
    if (!v) return NULL;
    d->topic_list = v;
    d->cap_topic_list = cap;
  }
  if (!(t = calloc(1, sizeof *t))) return NULL;
  t->epoch = (uint64_t)nf_now_ms();
  t->compact = d->tagger && nf_rules_compact(nf_tagger_rules(d->tagger), name);
  nf_strmap_slot *slot = nf_strmap_put(&d->topics, name, len, t);
  if (!slot) {
    free(t);
    return NULL;
  }
  t->name = slot->key;
  t->index = (uint32_t)d->n_topic_list;
  d->topic_list[d->n_topic_list++] = t;
  return t;
}

void nfd_topics_free(nfd *d) {
  nf_strmap_free(&d->topics, free); /* rings are freed by the history */
  free(d->topic_list);
  d->topic_list = NULL;
  d->n_topic_list = d->cap_topic_list = 0;
}

void nfd_topics_pack(const nfd *d, nf_buf *b) {
  const nf_strmap *m = &d->topics;
  size_t n = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key && ((nfd_topic *)m->slots[i].value)->seq) n++;
  nf__mp_map(b, 2);
  nf__mp_cstr(b, "ok");
  nf__mp_bool(b, true);
  nf__mp_cstr(b, "topics");
  nf__mp_map(b, (uint32_t)n);
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].key) continue;
    const nfd_topic *t = m->slots[i].value;
    if (!t->seq) continue; /* created by a batch the journal refused */
    nf__mp_cstr(b, t->name);
    nf__mp_map(b, 2);
    nf__mp_cstr(b, "seq");
    nf__mp_uint(b, t->seq);
    nf__mp_cstr(b, "epoch");
    nf__mp_uint(b, t->epoch);
  }
}
