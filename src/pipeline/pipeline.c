/* pipeline: input file -> transcript. Opens the audio before the model so a
 * bad input fails in milliseconds instead of after a model load, then lets
 * the engine pull audio straight from the decoder: nothing holds more than
 * one chunk of samples, whatever the file's length.
 *
 * Progress: "loading" while opening, "transcribing" for 0-90% of the whole,
 * or 0-60% when "diarizing" (diarize_stage.c) follows for 60-90% (the
 * caller's formatting step owns the last 10%).
 *
 * Diarization runs only after a transcript exists and can only add to it:
 * when it fails (anything but a cancel) the unlabelled transcript is still
 * the run's result and the failure is recorded beside it. */
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/internal.h"
#include "util/util.h"

const char *pipeline_strerror(int code)
{
    switch (code) {
    case PIPELINE_OK: return "ok";
    case PIPELINE_ERR_AUDIO: return "audio input error";
    case PIPELINE_ERR_ASR: return "speech recognition error";
    case PIPELINE_ERR_CANCELLED: return "cancelled";
    case PIPELINE_ERR_NOMEM: return "out of memory";
    case PIPELINE_ERR_INVALID_ARG: return "invalid argument";
    case PIPELINE_ERR_DIARIZE: return "diarization error";
    default: return "unknown error";
    }
}

const char *pipeline_phase_name(pipeline_phase p)
{
    switch (p) {
    case PIPELINE_PHASE_LOADING: return "loading";
    case PIPELINE_PHASE_TRANSCRIBING: return "transcribing";
    case PIPELINE_PHASE_DIARIZING: return "diarizing";
    case PIPELINE_PHASE_FORMATTING: return "formatting";
    default: return "unknown";
    }
}

pipeline_params pipeline_default_params(void)
{
    pipeline_params p;
    memset(&p, 0, sizeof p);
    p.audio = audio_default_params();
    p.asr = asr_default_params();
    return p;
}

void pipeline_result_clear(pipeline_result *r)
{
    if (!r)
        return;
    transcript_free(r->transcript);
    free(r->turns);
    memset(r, 0, sizeof *r);
}

typedef struct {
    const pipeline_params *params;
    audio_reader *reader;
    int audio_rc; /* last error the reader returned, AUDIO_OK if none */
    double share; /* transcription's part of the overall progress */
} run_state;

void pipeline__report(const pipeline_params *p, pipeline_phase phase, double fraction,
                      double overall)
{
    if (p->progress)
        p->progress(phase, fraction, overall, p->progress_user_data);
}

bool pipeline__cancelled(const pipeline_params *p)
{
    return p->cancel && atomic_load(p->cancel);
}

static void on_asr_progress(double fraction, double seconds_done, void *user_data)
{
    (void)seconds_done;
    run_state *st = user_data;
    pipeline__report(st->params, PIPELINE_PHASE_TRANSCRIBING, fraction, fraction * st->share);
}

static int read_audio(void *user_data, float *buf, size_t max, size_t *n_read,
                      char *err, size_t errlen)
{
    run_state *st = user_data;
    int rc = audio_read(st->reader, buf, max, n_read, err, errlen);
    if (rc != AUDIO_OK)
        st->audio_rc = rc;
    return rc;
}

static int map_asr_error(int code)
{
    if (code == ASR_ERR_CANCELLED)
        return PIPELINE_ERR_CANCELLED;
    if (code == ASR_ERR_NOMEM)
        return PIPELINE_ERR_NOMEM;
    if (code == ASR_ERR_AUDIO)
        return PIPELINE_ERR_AUDIO;
    return PIPELINE_ERR_ASR;
}

static void record_engine(pipeline_result *result, const asr_engine *engine)
{
    util_strlcpy(result->engine, asr_engine_name(engine), sizeof result->engine);
    util_strlcpy(result->model, asr_model_name(engine), sizeof result->model);
    util_strlcpy(result->language, asr_language(engine), sizeof result->language);
}

/* Records a failed diarization beside the transcript it could not label. */
static void record_diarize_failure(pipeline_result *result, const char *message)
{
    result->diarized = false;
    util_strlcpy(result->diarization_error_code, diarize_error_code(result->diarize_code),
                 sizeof result->diarization_error_code);
    util_strlcpy(result->diarization_error,
                 message && message[0] ? message : diarize_strerror(result->diarize_code),
                 sizeof result->diarization_error);
}

/* Refuses diarization constraints no engine accepts before anything runs,
 * rather than after minutes of transcription. */
static int check_diarize_params(const pipeline_params *params, char *err, size_t errlen)
{
    if (!params->diarize)
        return PIPELINE_OK;
    diarize_params dp = params->diarization;
    if (params->diarizer)
        dp.engine = diarize_engine_name(params->diarizer);
    if (diarize_check_params(&dp, err, errlen) != DIARIZE_OK)
        return PIPELINE_ERR_INVALID_ARG;
    return PIPELINE_OK;
}

/* The diarization stage of pipeline_run: labels result->transcript in place
 * on success; on failure keeps it as it is and records why. Only a cancel
 * is returned as an error. */
static int diarize_transcript(const char *input, const pipeline_params *params,
                              pipeline_result *result, char *err, size_t errlen)
{
    char msg[1536] = "";
    transcript *aligned = NULL;
    int audio_code = AUDIO_OK;
    pipeline__stage_span span = {PIPELINE__TRANSCRIBE_SHARE_DIAR, PIPELINE__DIARIZE_SHARE, false};
    int rc = pipeline__diarize_stage(input, params, result->transcript, span, result, &aligned,
                                     &audio_code, msg, sizeof msg);
    if (rc == PIPELINE_ERR_CANCELLED)
        return util_errf(err, errlen, rc, "%s", msg);
    if (rc != PIPELINE_OK) {
        record_diarize_failure(result, msg);
        return PIPELINE_OK;
    }
    transcript_free(result->transcript);
    result->transcript = aligned;
    result->diarized = true;
    return PIPELINE_OK;
}

int pipeline_run(const char *input, const pipeline_params *params,
                 pipeline_result *result, char *err, size_t errlen)
{
    audio_reader *reader = NULL;
    asr_engine *engine = NULL;
    transcript *t = NULL;
    run_state st = {params, NULL, AUDIO_OK, PIPELINE__TRANSCRIBE_SHARE};
    int rc = PIPELINE_OK;
    double t0 = util_now_seconds();

    memset(result, 0, sizeof *result);
    if (!input || !params)
        return util_errf(err, errlen, PIPELINE_ERR_INVALID_ARG, "no input given");
    if ((rc = check_diarize_params(params, err, errlen)) != PIPELINE_OK)
        return rc;
    if (params->diarize)
        st.share = PIPELINE__TRANSCRIBE_SHARE_DIAR;
    pipeline__report(params, PIPELINE_PHASE_LOADING, 0.0, 0.0);

    result->audio_code = audio_open(&reader, input, &params->audio, err, errlen);
    if (result->audio_code != AUDIO_OK) {
        rc = result->audio_code == AUDIO_ERR_NOMEM ? PIPELINE_ERR_NOMEM : PIPELINE_ERR_AUDIO;
        goto cleanup;
    }
    util_strlcpy(result->input_description, audio_describe(reader),
                 sizeof result->input_description);
    if (params->opened)
        params->opened(result->input_description, audio_expected_duration(reader),
                       params->progress_user_data);

    st.reader = reader;
    asr_params ap = params->asr;
    ap.progress = on_asr_progress;
    ap.progress_user_data = &st;
    ap.cancel = params->cancel;
    if (params->engine) {
        engine = params->engine;
        asr_set_callbacks(engine, &ap);
        result->asr_code = ASR_OK;
    } else {
        result->asr_code = asr_open(&engine, &ap, err, errlen);
    }
    if (result->asr_code != ASR_OK) {
        rc = map_asr_error(result->asr_code);
        goto cleanup;
    }
    record_engine(result, engine);
    if (pipeline__cancelled(params)) {
        rc = util_errf(err, errlen, PIPELINE_ERR_CANCELLED, "cancelled");
        goto cleanup;
    }

    double t1 = util_now_seconds();
    result->load_seconds = t1 - t0;
    pipeline__report(params, PIPELINE_PHASE_TRANSCRIBING, 0.0, 0.0);

    asr_source src = {read_audio, &st, audio_expected_duration(reader),
                      audio_window_start(reader)};
    result->asr_code = asr_transcribe(engine, &src, &t, err, errlen);
    if (result->asr_code != ASR_OK) {
        rc = map_asr_error(result->asr_code);
        if (rc == PIPELINE_ERR_AUDIO)
            result->audio_code = st.audio_rc != AUDIO_OK ? st.audio_rc : AUDIO_ERR_CORRUPT;
        goto cleanup;
    }
    result->transcribe_seconds = util_now_seconds() - t1;
    result->audio_seconds = (double)audio_samples_read(reader) / AUDIO_SAMPLE_RATE;
    t->duration = result->audio_seconds;
    t->start_time = audio_window_start(reader);
    if (!t->language[0])
        util_strlcpy(t->language, result->language, sizeof t->language);
    result->transcript = t;
    t = NULL;
    pipeline__report(params, PIPELINE_PHASE_TRANSCRIBING, 1.0, st.share);

    if (params->diarize) {
        /* The first pass's decoder and a per-run model are done with: free
         * them before the diarizer starts rather than hold both at once. */
        audio_close(reader);
        reader = NULL;
        if (engine != params->engine) {
            asr_close(engine);
            engine = NULL;
        }
        rc = diarize_transcript(input, params, result, err, errlen);
        if (rc != PIPELINE_OK) { /* cancelled: a run's result is all or nothing */
            transcript_free(result->transcript);
            result->transcript = NULL;
        }
    }

cleanup:
    result->total_seconds = util_now_seconds() - t0;
    transcript_free(t);
    if (engine && engine == params->engine)
        asr_set_callbacks(engine, NULL); /* they point into this run */
    else
        asr_close(engine);
    audio_close(reader);
    return rc;
}

int pipeline_diarize(const char *input, const pipeline_params *params, const transcript *t,
                     pipeline_result *result, char *err, size_t errlen)
{
    int rc;
    double t0 = util_now_seconds();

    memset(result, 0, sizeof *result);
    if (!input || !params)
        return util_errf(err, errlen, PIPELINE_ERR_INVALID_ARG, "no input given");
    pipeline_params p = *params;
    p.diarize = true;
    if ((rc = check_diarize_params(&p, err, errlen)) != PIPELINE_OK)
        return rc;

    pipeline__stage_span span = {0.0, 1.0, true};
    rc = pipeline__diarize_stage(input, &p, t, span, result, &result->transcript,
                                 &result->audio_code, err, errlen);
    if (rc == PIPELINE_OK)
        result->diarized = true;
    else if (rc != PIPELINE_ERR_CANCELLED)
        record_diarize_failure(result, err);
    if (t && result->transcript)
        util_strlcpy(result->language, t->language, sizeof result->language);
    result->total_seconds = util_now_seconds() - t0;
    return rc;
}
