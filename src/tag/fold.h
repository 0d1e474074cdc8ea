/*
 * fold.h -- text folding before matching.
 *
 * Matching is done on a folded copy of the text so that the automaton and
 * the symbol extractor only ever see one spelling of each character:
 *   - NF_FOLD_WIDTH: full-width ASCII (U+FF01..U+FF5E) becomes its
 *     half-width form (U+0021..U+007E), the ideographic space U+3000
 *     becomes ' '.
 *   - NF_FOLD_CASE: ASCII 'A'..'Z' become 'a'..'z'.  Non-ASCII letters are
 *     left alone: CJK has no case, and other scripts are out of scope.
 * Invalid UTF-8 is copied byte for byte (the codecs reject it earlier; the
 * folder must still never read out of bounds on it).
 * Folding never makes text longer, so OUT needs at most LEN bytes.
 */
#ifndef NF_TAG_FOLD_H
#define NF_TAG_FOLD_H

#include <stddef.h>

enum { NF_FOLD_WIDTH = 1u, NF_FOLD_CASE = 2u };

/* Folds LEN bytes of IN into OUT (capacity >= LEN); returns bytes written.
 * IN and OUT may be the same buffer. */
size_t nf_fold(const char *in, size_t len, char *out, unsigned flags);

#endif
