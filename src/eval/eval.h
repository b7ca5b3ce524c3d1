/* eval: measures of transcript quality. Word error rate here; diarization
 * error rate joins it later. Pure functions over normalised word sequences.
 */
#ifndef CESAR_EVAL_H
#define CESAR_EVAL_H

#include <stddef.h>

typedef enum {
    EVAL_OK = 0,
    EVAL_ERR_NOMEM,
    EVAL_ERR_INVALID,
} eval_err;

const char *eval_strerror(int code);

/* Edit-distance counts between a reference and a hypothesis word sequence. */
typedef struct {
    size_t substitutions;
    size_t deletions;
    size_t insertions;
    size_t reference_words;
} eval_wer_counts;

/* WER as a fraction: (S + D + I) / N; 0 when both are empty, 1 per inserted
 * word when the reference is empty (returned as insertions, N = 0 → the
 * caller decides; eval_wer_rate returns INFINITY then). */
double eval_wer_rate(const eval_wer_counts *c);

/* Adds the counts of one utterance pair to *acc (so several utterances
 * aggregate by summing). Texts are normalised first: lower-cased (ASCII),
 * punctuation other than apostrophes inside words removed, sentence markers
 * <s> </s> and a trailing "(utterance-id)" dropped, split on white space.
 * Hyphens, slashes and underscores separate words ("cold-hearted" is two
 * words) and the silence marker <sil> is dropped too. NULL texts or acc:
 * EVAL_ERR_INVALID, and *acc is unchanged on any error. */
int eval_wer_add(const char *reference, const char *hypothesis, eval_wer_counts *acc);

/* Splits normalised text into words. Caller owns *words (free each and the
 * array with eval_words_free). */
int eval_normalize_words(const char *text, char ***words, size_t *n);
void eval_words_free(char **words, size_t n);

#endif
