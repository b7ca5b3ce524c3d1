/* diarize: who spoke when. This header holds what every diarization engine
 * produces — speaker turns — and how turns are laid onto a transcript
 * (alignment). The engines themselves (a built-in one, a pyannote-compatible
 * one) come behind an interface shaped like asr.h.
 *
 * Speaker indices in turns are the engine's own labels (0, 1, 2 ...; any
 * non-negative int). Alignment renumbers them in order of first appearance
 * in the transcript, so "Speaker 1" is whoever speaks first.
 *
 * Errors. Functions return a diarize_err and write a message into the
 * caller-owned buffer err (capacity errlen; may be NULL/0).
 */
#ifndef CESAR_DIARIZE_H
#define CESAR_DIARIZE_H

#include <stddef.h>

#include "transcript/transcript.h"
#include "util/util.h"

typedef enum {
    DIARIZE_OK = 0,
    DIARIZE_ERR_INVALID, /* bad argument: a turn with end < start, a negative speaker... */
    DIARIZE_ERR_NOMEM,
} diarize_err;

const char *diarize_strerror(int code);

/* One stretch of one speaker. Turns may overlap (two people at once). */
typedef struct {
    double start, end; /* seconds, source time (as transcript times) */
    int speaker;       /* >= 0, the engine's label */
} diarize_turn;

/* Lays turns onto t and returns the result as a new transcript (*out, owned
 * by the caller; free with transcript_free). t is not changed.
 *
 * Rules:
 *  - each word takes the speaker whose turns overlap it the longest; a word
 *    no turn overlaps takes the speaker of the nearest turn;
 *  - a segment is split where the speaker changes between its words (the
 *    parts' text is their words joined by single spaces);
 *  - a segment without word timings takes the speaker overlapping it the
 *    longest (nearest turn if none);
 *  - speakers are renumbered 0, 1, 2 ... in order of first appearance;
 *  - with no turns at all every speaker stays TRANSCRIPT_NO_SPEAKER.
 * *speaker_count (may be NULL) receives the number of distinct speakers in
 * the result; an unknown speaker is never counted. Ties (equal overlap or
 * equal distance) go to the earlier turn. */
int diarize_align(const transcript *t, const diarize_turn *turns, size_t n_turns,
                  transcript **out, int *speaker_count, char *err, size_t errlen);

/* Appends turns to out as RTTM "SPEAKER" lines, sorted by start, with
 * speakers named speaker1, speaker2 ... in order of first appearance and
 * file_id (whitespace replaced by '_'; NULL/"" = "audio") as the file.
 * Times have millisecond precision. On failure out is left as it was. */
int diarize_rttm_render(const diarize_turn *turns, size_t n, const char *file_id,
                        util_buf *out, char *err, size_t errlen);

#endif
