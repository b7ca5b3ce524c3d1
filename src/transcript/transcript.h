/* transcript: the data every stage passes along — timed segments of text,
 * each with optional word timings and an optional speaker. ASR engines
 * produce it, diarization (later) fills in speakers, formats render it.
 *
 * Times are seconds from the start of the source file (not of the decoded
 * window), so a transcript of `--start-time 60` starts at 60 s.
 * Invariant kept by the append functions: start <= end for every segment and
 * word, and text is always a valid NUL-terminated string (possibly "").
 */
#ifndef CESAR_TRANSCRIPT_H
#define CESAR_TRANSCRIPT_H

#include <stddef.h>

#define TRANSCRIPT_NO_SPEAKER (-1)

typedef enum {
    TRANSCRIPT_OK = 0,
    TRANSCRIPT_ERR_NOMEM,
    TRANSCRIPT_ERR_INVALID, /* end before start, or NULL text */
} transcript_err;

typedef struct {
    double start, end;
    char *text;       /* owned by the transcript */
    float confidence; /* 0..1, or -1 when the engine gives none */
    int speaker;      /* TRANSCRIPT_NO_SPEAKER until diarization */
} transcript_word;

typedef struct {
    double start, end;
    char *text;              /* owned by the transcript */
    transcript_word *words;  /* owned; n_words may be 0 */
    size_t n_words;
    size_t words_alloc;
    int speaker;             /* TRANSCRIPT_NO_SPEAKER until diarization */
} transcript_segment;

typedef struct {
    transcript_segment *segments; /* owned */
    size_t n_segments;
    size_t segments_alloc;
    char language[16]; /* ISO 639-1 code, or "" when unknown */
    double duration;   /* seconds of audio transcribed (the window's length) */
    double start_time; /* source time of the first decoded sample */
} transcript;

/* Caller owns the result; free with transcript_free. NULL when out of memory. */
transcript *transcript_new(void);
void transcript_free(transcript *t); /* NULL-safe */

/* Appends a segment; text is copied. Returns TRANSCRIPT_OK or an error.
 * On success *index (if not NULL) is the new segment's index. */
int transcript_add_segment(transcript *t, double start, double end,
                           const char *text, size_t *index);

/* Appends a word to segment seg; text is copied. */
int transcript_add_word(transcript *t, size_t seg, double start, double end,
                        const char *text, float confidence);

/* Number of words over all segments. */
size_t transcript_word_count(const transcript *t);

const char *transcript_strerror(int code);

#endif
