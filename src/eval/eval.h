/* eval: measures of transcript quality. Word error rate over normalised word
 * sequences, and diarization error rate over RTTM speaker turns (NIST md-eval
 * definitions). Library code: nothing here prints; errors come back as codes
 * with a message in a caller-owned buffer.
 */
#ifndef CESAR_EVAL_H
#define CESAR_EVAL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    EVAL_OK = 0,
    EVAL_ERR_NOMEM,
    EVAL_ERR_INVALID,
    EVAL_ERR_IO,    /* a file could not be read; the message names it */
    EVAL_ERR_PARSE, /* malformed RTTM/UEM; the message says "name:line: ..." */
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

/* ---- RTTM speaker turns ---------------------------------------------- */

/* Largest RTTM or UEM file the *_read functions accept. */
#define EVAL_MAX_FILE_BYTES (256u * 1024u * 1024u)

/* One speaker turn, [onset, offset) in seconds; speaker indexes the file's
 * speakers array. */
typedef struct {
    double onset;
    double offset;
    size_t speaker;
} eval_turn;

/* The turns of one recording (RTTM file id). The channel field is read but
 * not kept: turns are grouped by file id alone. */
typedef struct {
    char *id;
    char **speakers; /* distinct speaker names, in order of first appearance */
    size_t n_speakers;
    eval_turn *turns; /* in file order */
    size_t n_turns;
} eval_rttm_file;

typedef struct {
    eval_rttm_file *files; /* in order of first appearance */
    size_t n_files;
} eval_rttm;

/* Parses RTTM text (len bytes, need not be NUL-terminated). Only SPEAKER
 * records are kept ("SPEAKER file chan onset dur <NA> <NA> name ..."; at
 * least 8 fields, fields 6, 7, 9, 10 may hold anything); other record types,
 * blank lines and lines starting with ";;" or "#" are skipped; zero-length
 * turns are accepted and dropped. name_for_messages prefixes error messages
 * ("ref.rttm:3: onset 'abc' is not a number"). On success the caller owns
 * *out (free with eval_rttm_free); on failure *out is NULL. */
int eval_rttm_parse(const char *text, size_t len, const char *name_for_messages,
                    eval_rttm **out, char *err, size_t errlen);
/* eval_rttm_parse on the contents of path (at most EVAL_MAX_FILE_BYTES). */
int eval_rttm_read(const char *path, eval_rttm **out, char *err, size_t errlen);
void eval_rttm_free(eval_rttm *r); /* NULL-safe */

/* ---- UEM scoring regions ---------------------------------------------- */

typedef struct {
    char *file_id;
    double start;
    double end;
} eval_uem_segment;

typedef struct {
    eval_uem_segment *segments; /* in file order; may overlap */
    size_t n_segments;
} eval_uem;

/* Parses UEM text: lines "file-id channel start end" (seconds, finite,
 * non-negative, end >= start); blank, ";;" and "#" lines skipped. Same
 * ownership and message conventions as eval_rttm_parse; free with
 * eval_uem_free. */
int eval_uem_parse(const char *text, size_t len, const char *name_for_messages,
                   eval_uem **out, char *err, size_t errlen);
int eval_uem_read(const char *path, eval_uem **out, char *err, size_t errlen);
void eval_uem_free(eval_uem *u); /* NULL-safe */

/* ---- optimal assignment ----------------------------------------------- */

/* Maximum-weight one-to-one assignment of rows to columns (Hungarian /
 * Kuhn-Munkres algorithm, O(n^3) for n = max(rows, cols)). weights is
 * row-major rows x cols, every entry finite and >= 0 (so matching as many
 * pairs as possible never lowers the total). Fills row_to_col[rows] with the
 * chosen column, or -1 for the rows left over when rows > cols. rows or cols
 * may be 0. Returns EVAL_OK, EVAL_ERR_INVALID (NULL pointers, negative
 * sizes, a negative or non-finite weight) or EVAL_ERR_NOMEM. Pure. */
int eval_assign_max(const double *weights, int rows, int cols, int *row_to_col);

/* ---- diarization error rate ------------------------------------------- */

typedef struct {
    double collar;       /* seconds not scored either side of each reference
                            speaker boundary; >= 0 */
    bool skip_overlap;   /* do not score where the reference has 2+ speakers */
    const eval_uem *uem; /* borrowed; NULL: score everything */
} eval_der_params;

/* collar 0, skip_overlap false, uem NULL. */
eval_der_params eval_der_default_params(void);

/* Speaker times in seconds over the scored regions. */
typedef struct {
    double scored;      /* reference speaker time (integral of n_ref) */
    double missed;      /* integral of max(0, n_ref - n_hyp) */
    double false_alarm; /* integral of max(0, n_hyp - n_ref) */
    double confusion;   /* integral of min(n_ref, n_hyp) - n_correct */
} eval_der_times;

/* One reference speaker and the hypothesis speaker mapped to it; hyp is NULL
 * when none is (more reference speakers, or no scored time in common). */
typedef struct {
    char *ref;
    char *hyp;
} eval_der_pair;

typedef struct {
    char *id;
    eval_der_times times;
    eval_der_pair *mapping; /* one per reference speaker of the file */
    size_t n_mapping;
} eval_der_file;

typedef struct {
    eval_der_times total;  /* sum over files */
    eval_der_file *files;  /* reference files in order, then hypothesis-only ones */
    size_t n_files;
} eval_der_result;

/* Scores hyp against ref. Scored regions per file: the UEM segments of that
 * file (none listed: the file is not scored), or without a UEM all time;
 * minus +-collar around every reference speaker boundary, and with
 * skip_overlap minus where the reference has 2+ speakers. Speakers are
 * mapped one-to-one per file to maximise the scored time both are active.
 * A hypothesis-only file is all false alarm (inside the UEM when there is
 * one); a reference-only file is all missed. On success the caller owns the
 * contents of *out (free with eval_der_result_free); on failure *out is
 * zeroed. */
int eval_der(const eval_rttm *ref, const eval_rttm *hyp, const eval_der_params *p,
             eval_der_result *out, char *err, size_t errlen);
void eval_der_result_free(eval_der_result *r); /* NULL-safe; leaves *r zeroed */

/* (missed + false_alarm + confusion) / scored. With no scored reference
 * speech: 0 when there is no error either, else INFINITY (the convention of
 * eval_wer_rate; the false-alarm seconds still say how much). */
double eval_der_rate(const eval_der_times *t);

#endif
