/* pipeline: the one place that turns an input file into a transcript —
 * open the audio, run the ASR engine over it, then (when asked) diarize the
 * same audio and align the speaker turns onto the transcript, recording
 * per-stage times. The CLI and the server's workers both call this.
 *
 * Progress is reported through one callback with a phase name and both the
 * phase's and the overall fraction, so a progress bar and a job row show the
 * same thing. Overall shares: without diarization transcribing 0-0.9; with
 * it transcribing 0-0.6 and diarizing 0.6-0.9. The caller's formatting step
 * owns the last 0.1.
 *
 * A transcript, once made, is never lost to a diarization failure:
 * pipeline_run then still returns PIPELINE_OK with the unlabelled
 * transcript, diarized false and the diarization error recorded.
 */
#ifndef CESAR_PIPELINE_H
#define CESAR_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>

#include "asr/asr.h"
#include "audio/audio.h"
#include "diarize/diarize.h"
#include "transcript/transcript.h"

typedef enum {
    PIPELINE_OK = 0,
    PIPELINE_ERR_AUDIO,    /* input could not be opened/decoded; see audio_code */
    PIPELINE_ERR_ASR,      /* engine failed to load or decode; see asr_code */
    PIPELINE_ERR_CANCELLED,
    PIPELINE_ERR_NOMEM,
    PIPELINE_ERR_INVALID_ARG,
    PIPELINE_ERR_DIARIZE,  /* pipeline_diarize only: the diarizer failed */
} pipeline_err;

const char *pipeline_strerror(int code);

typedef enum {
    PIPELINE_PHASE_LOADING = 0,  /* opening input and model */
    PIPELINE_PHASE_TRANSCRIBING,
    PIPELINE_PHASE_DIARIZING,
    PIPELINE_PHASE_FORMATTING,
} pipeline_phase;

const char *pipeline_phase_name(pipeline_phase p); /* "loading", "transcribing", ... */

/* Called once the input is open, before the model loads: a description of
 * the source ("mp3, 44100 Hz, stereo, 00:03:12") and the seconds that will
 * be transcribed (< 0 when the container does not say). Strings are
 * borrowed for the call. Called on the thread running pipeline_run. */
typedef void (*pipeline_opened_cb)(const char *description, double seconds, void *user_data);

/* overall and phase_fraction are 0..1. Called on the thread running
 * pipeline_run. */
typedef void (*pipeline_progress_cb)(pipeline_phase phase, double phase_fraction,
                                     double overall, void *user_data);

typedef struct {
    audio_params audio;
    asr_params asr;          /* its progress/cancel fields are set by the pipeline */
    pipeline_progress_cb progress;
    void *progress_user_data;
    const atomic_int *cancel; /* borrowed; may be NULL */
    pipeline_opened_cb opened; /* may be NULL; shares progress_user_data */
    /* An engine already opened for params->asr's engine, model and language
     * (borrowed; NULL = open one for this run and close it after). The run
     * sets its callbacks and clears them at the end; the caller keeps it
     * open across runs, which saves loading the model each time. */
    asr_engine *engine;
    /* Diarization: off unless diarize is true. diarization's progress and
     * cancel fields are set by the pipeline. diarizer, like engine, is an
     * already-open engine to reuse (borrowed; NULL = open one per run); its
     * parameters are replaced by diarization's for the run. */
    bool diarize;
    diarize_params diarization;
    diarize_engine *diarizer;
} pipeline_params;

pipeline_params pipeline_default_params(void);

/* What happened, for summaries and job rows. */
typedef struct {
    transcript *transcript;   /* owned by the result; NULL on failure */
    double audio_seconds;     /* audio actually transcribed */
    double load_seconds;      /* opening the input and the model */
    double transcribe_seconds;
    double total_seconds;
    char engine[64];
    char model[256];
    char language[16];
    char input_description[128]; /* from audio_describe */
    int audio_code;          /* AUDIO_* when the audio failed, else AUDIO_OK */
    int asr_code;            /* ASR_* when the engine failed, else ASR_OK */
    /* Diarization (when params->diarize). diarized: turns were found and
     * aligned (also true with 0 speakers for silence). On failure diarized is
     * false, diarize_code is the DIARIZE_* code, diarization_error_code the
     * stable API code ("diarization_failed") and diarization_error the
     * message; the transcript stays, without speakers. */
    bool diarized;
    int speaker_count;
    int diarize_code;
    char diarization_error_code[32];
    char diarization_error[1536];
    diarize_turn *turns;     /* owned by the result; the engine's turns */
    size_t n_turns;
    double diarize_seconds;  /* reading the audio again + the engine */
    double align_seconds;
} pipeline_result;

/* Runs input through the stages. Always fills *result (zeroed first); on
 * success result->transcript is set. The caller frees with
 * pipeline_result_clear. */
int pipeline_run(const char *input, const pipeline_params *params,
                 pipeline_result *result, char *err, size_t errlen);

/* Diarization alone (`cesar diarize`, a server retry of diarization only):
 * opens input, runs the diarizer (phase "diarizing", overall 0..1 of this
 * call), and when t is not NULL aligns t's words to the turns into
 * result->transcript (t is not changed). Fills *result like pipeline_run
 * (zeroed first; turns, speaker_count, times). Unlike pipeline_run a failed
 * diarization is this call's failure: PIPELINE_ERR_DIARIZE (or
 * _AUDIO/_CANCELLED/_NOMEM/_INVALID_ARG), with the diarization fields
 * filled as well. */
int pipeline_diarize(const char *input, const pipeline_params *params, const transcript *t,
                     pipeline_result *result, char *err, size_t errlen);

void pipeline_result_clear(pipeline_result *r); /* NULL-safe */

#endif
