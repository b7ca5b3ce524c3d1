/* pipeline: the one place that turns an input file into a transcript —
 * open the audio, run the ASR engine over it, record timings. The CLI and
 * (later) the server's workers both call this; diarization and alignment
 * will join as further stages here.
 *
 * Progress is reported through one callback with a phase name and both the
 * phase's and the overall fraction, so a progress bar and a job row show the
 * same thing.
 */
#ifndef CESAR_PIPELINE_H
#define CESAR_PIPELINE_H

#include <stdatomic.h>
#include <stddef.h>

#include "asr/asr.h"
#include "audio/audio.h"
#include "transcript/transcript.h"

typedef enum {
    PIPELINE_OK = 0,
    PIPELINE_ERR_AUDIO,    /* input could not be opened/decoded; see audio_code */
    PIPELINE_ERR_ASR,      /* engine failed to load or decode; see asr_code */
    PIPELINE_ERR_CANCELLED,
    PIPELINE_ERR_NOMEM,
    PIPELINE_ERR_INVALID_ARG,
} pipeline_err;

const char *pipeline_strerror(int code);

typedef enum {
    PIPELINE_PHASE_LOADING = 0,  /* opening input and model */
    PIPELINE_PHASE_TRANSCRIBING,
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
} pipeline_result;

/* Runs input through the stages. Always fills *result (zeroed first); on
 * success result->transcript is set. The caller frees with
 * pipeline_result_clear. */
int pipeline_run(const char *input, const pipeline_params *params,
                 pipeline_result *result, char *err, size_t errlen);

void pipeline_result_clear(pipeline_result *r); /* NULL-safe */

#endif
