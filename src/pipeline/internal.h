/* pipeline internals shared by pipeline.c (the transcription run) and
 * diarize_stage.c (reading the audio a second time for the diarizer and
 * aligning its turns). Not part of the public API. */
#ifndef CESAR_PIPELINE_INTERNAL_H
#define CESAR_PIPELINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline/pipeline.h"

/* The stable API code for every diarization failure the pipeline records. */

/* Overall progress shares. Formatting (the caller's) always owns 0.9-1. */
#define PIPELINE__TRANSCRIBE_SHARE 0.9      /* transcription alone */
#define PIPELINE__TRANSCRIBE_SHARE_DIAR 0.6 /* transcription when diarizing */
#define PIPELINE__DIARIZE_SHARE 0.3

void pipeline__report(const pipeline_params *p, pipeline_phase phase, double fraction,
                      double overall);
bool pipeline__cancelled(const pipeline_params *p);

/* Where the diarization stage sits in the overall progress (phase fraction
 * f is reported as overall base + f * share), and whether it stands alone
 * (pipeline_diarize): then it also describes the input, calls
 * params->opened and records audio_seconds, which pipeline_run has already
 * done on its first pass. */
typedef struct {
    double base;
    double share;
    bool standalone;
} pipeline__stage_span;

/* Opens input again with params->audio, runs the diarizer over it (the
 * engine pulls one chunk at a time) and, when t is not NULL, aligns t into
 * *aligned (caller owns it; free with transcript_free; NULL on failure or
 * when t is NULL; t is not changed). Fills result's turns, n_turns,
 * speaker_count, diarize_code, diarize_seconds and align_seconds; on audio
 * trouble also *audio_code (AUDIO_*). Does not set diarized or the error
 * fields: what a failure means differs between the two callers.
 * Returns PIPELINE_OK, _AUDIO, _DIARIZE, _CANCELLED, _NOMEM or
 * _INVALID_ARG, with the message in err. */
int pipeline__diarize_stage(const char *input, const pipeline_params *params, const transcript *t,
                            pipeline__stage_span span, pipeline_result *result,
                            transcript **aligned, int *audio_code, char *err, size_t errlen);

#endif
