/* diarize_stage: the pipeline's second pass over the input — who spoke when.
 *
 * The audio is decoded a second time rather than kept from the first pass:
 * the diarizer pulls from a fresh reader one chunk at a time, so no stage
 * ever holds more than one chunk of samples whatever the file's length
 * (a one-hour file would be 230 MB of floats). Decoding is cheap next to
 * recognition, so the second pass costs little.
 *
 * This file runs the engine and the alignment and reports what happened;
 * whether a failure is fatal is the caller's decision (pipeline_run keeps
 * the transcript, pipeline_diarize fails). */
#include <stdlib.h>
#include <string.h>

#include "pipeline/internal.h"
#include "util/util.h"

typedef struct {
    const pipeline_params *params;
    pipeline__stage_span span;
    audio_reader *reader;
    int audio_rc;   /* last error the reader returned, AUDIO_OK if none */
    double reached; /* highest phase fraction reported so far */
} stage_state;

static void on_diarize_progress(double fraction, void *user_data)
{
    stage_state *st = user_data;
    /* Engines estimate their own progress (reading, then clustering); a bar
     * or a job row that moves backwards looks broken, so never report less
     * than before, nor more than all. The negated test also catches NaN. */
    if (!(fraction >= st->reached))
        fraction = st->reached;
    if (fraction > 1.0)
        fraction = 1.0;
    st->reached = fraction;
    pipeline__report(st->params, PIPELINE_PHASE_DIARIZING, fraction,
                     st->span.base + fraction * st->span.share);
}

static int read_audio(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                      size_t errlen)
{
    stage_state *st = user_data;
    int rc = audio_read(st->reader, buf, max, n_read, err, errlen);
    if (rc != AUDIO_OK)
        st->audio_rc = rc;
    return rc;
}

static int map_diarize_error(int code)
{
    switch (code) {
    case DIARIZE_ERR_CANCELLED: return PIPELINE_ERR_CANCELLED;
    case DIARIZE_ERR_NOMEM: return PIPELINE_ERR_NOMEM;
    case DIARIZE_ERR_AUDIO: return PIPELINE_ERR_AUDIO;
    case DIARIZE_ERR_INVALID:
    case DIARIZE_ERR_UNKNOWN_ENGINE: return PIPELINE_ERR_INVALID_ARG;
    default: return PIPELINE_ERR_DIARIZE;
    }
}

/* The caller's engine with this run's callbacks, or a new one for the run. */
static int acquire_engine(const pipeline_params *params, stage_state *st, diarize_engine **out,
                          char *err, size_t errlen)
{
    diarize_params dp = params->diarization;
    dp.progress = on_diarize_progress;
    dp.progress_user_data = st;
    dp.cancel = params->cancel;
    if (params->diarizer) {
        *out = params->diarizer;
        return diarize_set_params(params->diarizer, &dp, err, errlen);
    }
    return diarize_open(out, &dp, err, errlen);
}

static void release_engine(const pipeline_params *params, diarize_engine *e)
{
    if (!e)
        return;
    if (e != params->diarizer) {
        diarize_close(e);
        return;
    }
    /* The callbacks point into this run's stack frame: leave the caller's
     * engine without them. The counts were accepted when acquired, so this
     * cannot fail; if they were not, the engine still has its old ones. */
    diarize_params dp = params->diarization;
    dp.progress = NULL;
    dp.progress_user_data = NULL;
    dp.cancel = NULL;
    (void)diarize_set_params(e, &dp, NULL, 0);
}

/* Hands the engine's turns to result and lays them onto t. */
static int keep_turns(diarize_result *dr, const transcript *t, pipeline_result *result,
                      transcript **aligned, char *err, size_t errlen)
{
    result->turns = dr->turns;
    result->n_turns = dr->n_turns;
    result->speaker_count = dr->n_speakers;
    memset(dr, 0, sizeof *dr);
    if (!t)
        return DIARIZE_OK;
    double t0 = util_now_seconds();
    /* With a transcript the count is the speakers it names: what a reader
     * of the output sees (a speaker heard only where no word was recognised
     * is not in it). */
    int rc = diarize_align(t, result->turns, result->n_turns, aligned, &result->speaker_count, err,
                           errlen);
    result->align_seconds = util_now_seconds() - t0;
    return rc;
}

int pipeline__diarize_stage(const char *input, const pipeline_params *params, const transcript *t,
                            pipeline__stage_span span, pipeline_result *result,
                            transcript **aligned, int *audio_code, char *err, size_t errlen)
{
    audio_reader *reader = NULL;
    diarize_engine *engine = NULL;
    diarize_result dr;
    stage_state st = {params, span, NULL, AUDIO_OK, 0.0};
    int rc = PIPELINE_OK;
    double t0 = util_now_seconds();

    memset(&dr, 0, sizeof dr);
    *aligned = NULL;
    pipeline__report(params, PIPELINE_PHASE_DIARIZING, 0.0, span.base);
    *audio_code = audio_open(&reader, input, &params->audio, err, errlen);
    if (*audio_code != AUDIO_OK) {
        result->diarize_code = DIARIZE_ERR_AUDIO;
        rc = *audio_code == AUDIO_ERR_NOMEM ? PIPELINE_ERR_NOMEM : PIPELINE_ERR_AUDIO;
        goto cleanup;
    }
    if (span.standalone) {
        util_strlcpy(result->input_description, audio_describe(reader),
                     sizeof result->input_description);
        if (params->opened)
            params->opened(result->input_description, audio_expected_duration(reader),
                           params->progress_user_data);
    }
    st.reader = reader;
    result->diarize_code = acquire_engine(params, &st, &engine, err, errlen);
    if (result->diarize_code != DIARIZE_OK) {
        rc = map_diarize_error(result->diarize_code);
        goto cleanup;
    }

    diarize_source src = {read_audio, &st, audio_expected_duration(reader),
                          audio_window_start(reader)};
    result->diarize_code = diarize_run(engine, &src, &dr, err, errlen);
    result->diarize_seconds = util_now_seconds() - t0;
    if (span.standalone)
        result->audio_seconds = (double)audio_samples_read(reader) / AUDIO_SAMPLE_RATE;
    if (result->diarize_code != DIARIZE_OK) {
        rc = map_diarize_error(result->diarize_code);
        if (rc == PIPELINE_ERR_AUDIO) /* the engine saw the reader fail */
            *audio_code = st.audio_rc != AUDIO_OK ? st.audio_rc : AUDIO_ERR_CORRUPT;
        if (rc == PIPELINE_ERR_AUDIO && *audio_code == AUDIO_ERR_NOMEM)
            rc = PIPELINE_ERR_NOMEM;
        goto cleanup;
    }
    result->diarize_code = keep_turns(&dr, t, result, aligned, err, errlen);
    if (result->diarize_code != DIARIZE_OK) {
        rc = map_diarize_error(result->diarize_code);
        goto cleanup;
    }
    pipeline__report(params, PIPELINE_PHASE_DIARIZING, 1.0, span.base + span.share);

cleanup:
    if (rc != PIPELINE_OK) {
        /* half a result (turns without the aligned transcript) would read as
         * success to a caller that only looks at the turns */
        free(result->turns);
        result->turns = NULL;
        result->n_turns = 0;
        result->speaker_count = 0;
        transcript_free(*aligned);
        *aligned = NULL;
    }
    release_engine(params, engine);
    audio_close(reader);
    diarize_result_clear(&dr);
    return rc;
}
