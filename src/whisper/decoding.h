/* decoding.h: the pieces of Whisper's decoding that whisper_transcribe
 * assembles — logit filters (filters.c), the token search (search.c:
 * greedy, sampling, beam search), the temperature-fallback test
 * (fallback.c), language detection (language.c), the split of a window's
 * tokens into segments and token/word times (words.c). Internal to the
 * whisper module; every symbol carries the whisper__ prefix.
 *
 * The search works on an abstract decoder (a logits callback and a cache
 * copy) so the pure logic is testable on synthetic logits without a model.
 */
#ifndef CESAR_WHISPER_DECODING_H
#define CESAR_WHISPER_DECODING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "whisper/whisper.h"

/* Seconds per timestamp token (30 s over 1500 encoder positions). */
#define WHISPER__TIME_PRECISION 0.02
/* Mel frames per timestamp step. */
#define WHISPER__INPUT_STRIDE 2

/* ---- numerics (filters.c) ---- */

/* out[i] = x[i] - logsumexp(x); out may alias x. -inf stays -inf. */
void whisper__log_softmax(const float *x, int n, float *out);
/* log(sum(exp(x))), -inf when every x is -inf or n == 0. */
float whisper__logsumexp(const float *x, int n);

/* ---- logit filters (filters.c) ---- */

/* What the filters need to know; built once per model and parameter set
 * by whisper__filters_init, or filled by hand in tests (the arrays are
 * then borrowed: do not call whisper__filters_free). */
typedef struct {
    int n_vocab;
    whisper_special_tokens sp;
    bool timestamps; /* apply the timestamp rules */
    bool suppress_blank;
    int max_initial_ts; /* index of the last allowed first timestamp; < 0: no limit */
    int *blank;         /* tokens of " " plus eot */
    int n_blank;
    int *suppress; /* non-speech list and task/special tokens */
    int n_suppress;
} whisper__filters;

int whisper__filters_init(whisper__filters *f, const whisper_model *m,
                          const whisper_transcribe_params *p, char *err, size_t errlen);
void whisper__filters_free(whisper__filters *f); /* NULL-safe; leaves f zeroed */

/* Whisper's non-speech symbol tokens for m (its "-1" suppress list), sorted
 * and without duplicates. Writes at most cap ids; returns the count, or -1
 * when tokenizing fails. */
int whisper__non_speech_tokens(const whisper_model *m, int *out, int cap);

/* The three filters in Whisper's order; sampled holds the n_sampled tokens
 * chosen so far after the prompt. logits has n_vocab entries. */
void whisper__suppress_blank(const whisper__filters *f, int n_sampled, float *logits);
void whisper__suppress_tokens(const whisper__filters *f, float *logits);
void whisper__timestamp_rules(const whisper__filters *f, const int *sampled, int n_sampled,
                              float *logits);
void whisper__apply_filters(const whisper__filters *f, const int *sampled, int n_sampled,
                            float *logits);

/* ---- search (search.c) ---- */

/* The network seen by the search: feed n_tokens tokens to each of the
 * sequences 0..n_seq-1 (tokens[seq * n_tokens + i]) at positions n_past…,
 * writing the last position's logits (n_seq x n_vocab); and copy the first
 * n_past cache positions of one sequence to another. */
typedef struct {
    int (*decode)(void *ud, int n_seq, int n_tokens, const int *tokens, int n_past, float *logits,
                  char *err, size_t errlen);
    void (*kv_copy)(void *ud, int dst, int src, int n_past);
    void *ud;
    int n_vocab;
    int n_ctx;   /* positions the decoder has (n_text_ctx) */
    int max_seq; /* sequences the cache holds */
} whisper__decoder;

typedef struct {
    float temperature;    /* 0: greedy or beam search; > 0: sampling */
    int beam_size;        /* used at temperature 0; <= 1: greedy */
    int best_of;          /* samples at temperature > 0 */
    float patience;       /* beam search: finished candidates = round(beam_size * patience) */
    float length_penalty; /* < 0: rank by sum logprob / length */
    int sample_len;       /* most tokens sampled */
    uint64_t seed;
    const atomic_int *cancel;
    const whisper__filters *filters;
} whisper__search_params;

/* One sampled token and what word timing needs from its step. */
typedef struct {
    int id;
    float logprob; /* from log_softmax of the filtered logits */
    int ts_index;  /* argmax of the raw logits restricted to timestamp tokens */
    float ts_prob; /* its probability within that restriction */
} whisper__token_info;

typedef struct {
    whisper__token_info *tokens; /* sampled tokens, eot excluded; owned */
    int n_tokens;
    double sum_logprob;   /* includes the eot's logprob when one was sampled */
    float avg_logprob;    /* sum_logprob / (n_tokens + 1) */
    float no_speech_prob; /* softmax of the logits at sot, at no_speech */
    float temperature;
} whisper__search_result;

void whisper__search_result_free(whisper__search_result *r); /* NULL-safe; leaves r zeroed */

/* Decodes after prompt (n_prompt tokens; sot at sot_index) and writes the
 * best hypothesis to *out (zeroed first; caller frees it). Needs
 * max_seq >= beam_size + 1 for beam search, >= best_of for sampling. */
int whisper__search(const whisper__decoder *d, const whisper__search_params *p, const int *prompt,
                    int n_prompt, int sot_index, whisper__search_result *out, char *err,
                    size_t errlen);

/* A small deterministic generator (splitmix64) for sampling. */
uint64_t whisper__rng_next(uint64_t *state);
/* Uniform in [0, 1). */
double whisper__rng_uniform(uint64_t *state);

/* ---- fallback (fallback.c) ---- */

/* len(text) / len(zlib(text)); 0 for empty text. */
float whisper__compression_ratio(const char *text, size_t len);
/* Whisper's decision to retry at the next temperature. */
bool whisper__needs_fallback(float compression_ratio, float avg_logprob, float no_speech_prob,
                             const whisper_transcribe_params *p);
/* Whether a decoded window is silence to be skipped. */
bool whisper__should_skip(float avg_logprob, float no_speech_prob,
                          const whisper_transcribe_params *p);

/* ---- language (language.c) ---- */

/* Index of the most likely language from the logits after [sot]. */
int whisper__best_language(const whisper_special_tokens *sp, const float *logits, int n_vocab);
/* Checks p's task and language against m; *lang_index gets the language
 * to force (-1: detect). */
int whisper__check_language(const whisper_model *m, const whisper_transcribe_params *p,
                            int *lang_index, char *err, size_t errlen);

/* ---- segments and words (words.c) ---- */

typedef struct {
    int begin, end;     /* token range [begin, end) of the window's tokens */
    double start, stop; /* seconds */
} whisper__span;

/* Splits a window's sampled tokens (eot excluded) at consecutive timestamp
 * pairs as Whisper does. time_offset is the window's start in seconds,
 * segment_frames the mel frames of real audio in it. Writes at most cap
 * spans (n_tokens + 1 always suffices) and returns their count; *advance
 * gets how many mel frames the seek moves. */
int whisper__split_segments(const int *tokens, int n_tokens, int timestamp_begin,
                            double time_offset, int segment_frames, bool timestamps,
                            whisper__span *out, int cap, int *advance);

/* Times for the n text tokens of one segment [seg_start, seg_end]: start[i]
 * and end[i], monotone, inside the segment. bytes[i] is the token's byte
 * length; ts_time[i] the time its step's timestamp distribution points to,
 * ts_prob[i] that distribution's peak. */
void whisper__token_times(const size_t *bytes, const double *ts_time, const float *ts_prob, int n,
                          double seg_start, double seg_end, double *start, double *end);

/* Index of the token that ends the word beginning at token i: words start at
 * a token whose bytes begin with a space (or at the first token). */
int whisper__word_end(const char *const *bytes, const size_t *lens, int n, int i);

/* Length of the longest prefix of s[0..len) that does not end inside an
 * incomplete UTF-8 sequence. */
size_t whisper__utf8_complete(const char *s, size_t len);

/* ---- segment output (emit.c) ---- */

/* Reusable buffers for building segments, released by whisper__emit_free. */
typedef struct {
    char *text; /* segment text */
    size_t text_cap;
    char *wtext; /* every word's text, NUL-terminated one after another */
    size_t wtext_cap;
    whisper_word *words;
    whisper__token_info *info; /* a segment's text tokens */
    int *ids;                  /* text token ids */
    float *ts_prob;
    size_t *offs; /* each word's offset in wtext */
    const char **bytes;
    size_t *lens;
    double *ts_time, *start, *end;
    int cap; /* entries of words … end */
} whisper__emit;

void whisper__emit_free(whisper__emit *e);

/* Builds the segment for tokens[0..n) of result (timestamps and text
 * tokens, already split) spanning [start, stop] of a window starting at
 * time_offset, and calls cb unless its text is empty. *emitted tells
 * whether it did (an empty segment's tokens are not kept as a prompt). */
int whisper__emit_segment(whisper__emit *e, const whisper_model *m, const whisper__search_result *r,
                          float compression_ratio, const whisper__token_info *tokens, int n,
                          double start, double stop, double time_offset, bool words,
                          whisper_segment_cb cb, void *ud, bool *emitted, char *err, size_t errlen);

/* The text of the text tokens (< eot) of tokens[0..n) into e->text (grown
 * as needed). *len gets its length. */
int whisper__emit_text(whisper__emit *e, const whisper_model *m, const whisper__token_info *tokens,
                       int n, size_t *len, char *err, size_t errlen);

#endif
