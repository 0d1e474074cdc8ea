/*
 * matcher.h -- multi-pattern matcher used by the tagger.
 *
 * The tagger sees only this interface, so the engine behind it can change.
 * Terms and text are both folded (see fold.h) before they reach it.
 *
 * Matching rules:
 *   - A term matches wherever its bytes occur in the text, except that an
 *     end of the term that is an ASCII letter or digit must sit on a word
 *     boundary: the text byte just outside that end must not be an ASCII
 *     letter or digit.  So "ai" does not match inside "said", "a股" matches
 *     in "港a股" only if the byte before 'a' is not alphanumeric, and CJK
 *     terms match as plain substrings.
 *   - Overlapping matches are all reported, in order of their end offset.
 *   - One term may be added several times with different values; every
 *     value is reported for each match.
 *
 * Lifecycle: new -> add ... -> compile -> scan (any number of times, from
 * any number of threads: scan does not modify the matcher) -> free.
 */
#ifndef NF_TAG_MATCHER_H
#define NF_TAG_MATCHER_H

#include <stddef.h>
#include <stdint.h>

typedef struct nf_matcher nf_matcher;

/* Called for each match; END is the offset one past the match.  A non-zero
 * return stops the scan. */
typedef int (*nf_match_cb)(void *ctx, uint32_t value, size_t start, size_t end);

nf_matcher *nf_matcher_new(void);
/* Adds a term (1..255 bytes).  Returns 0, or -1 for an empty or over-long
 * term or after compile. */
int nf_matcher_add(nf_matcher *m, const char *term, size_t len, uint32_t value);
/* Optional tuning, before compile: at most BYTES of full DFA rows (the
 * shallowest states get them; deeper states use a compact goto/failure
 * form).  Default 32 MiB.  Returns 0, or -1 after compile. */
int nf_matcher_set_dense_limit(nf_matcher *m, size_t bytes);
/* Builds the automaton.  Returns 0, or -1 when out of memory. */
int nf_matcher_compile(nf_matcher *m);
void nf_matcher_scan(const nf_matcher *m, const char *text, size_t len, nf_match_cb cb, void *ctx);
/* Bytes held by the compiled matcher. */
size_t nf_matcher_memory(const nf_matcher *m);
size_t nf_matcher_terms(const nf_matcher *m);
void nf_matcher_free(nf_matcher *m);

#endif
