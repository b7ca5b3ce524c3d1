/* pipeline: input file -> transcript. Opens the audio before the model so a
 * bad input fails in milliseconds instead of after a model load, then lets
 * the engine pull audio straight from the decoder: nothing holds more than
 * one chunk of samples, whatever the file's length.
 *
 * Progress: "loading" while opening, "transcribing" for 0-90% of the whole
 * (the caller's formatting step owns the last 10%). */
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

#define PIPELINE_TRANSCRIBE_SHARE 0.9

const char *pipeline_strerror(int code)
{
    switch (code) {
    case PIPELINE_OK: return "ok";
    case PIPELINE_ERR_AUDIO: return "audio input error";
    case PIPELINE_ERR_ASR: return "speech recognition error";
    case PIPELINE_ERR_CANCELLED: return "cancelled";
    case PIPELINE_ERR_NOMEM: return "out of memory";
    case PIPELINE_ERR_INVALID_ARG: return "invalid argument";
    default: return "unknown error";
    }
}

const char *pipeline_phase_name(pipeline_phase p)
{
    switch (p) {
    case PIPELINE_PHASE_LOADING: return "loading";
    case PIPELINE_PHASE_TRANSCRIBING: return "transcribing";
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
    memset(r, 0, sizeof *r);
}

typedef struct {
    const pipeline_params *params;
    audio_reader *reader;
    int audio_rc; /* last error the reader returned, AUDIO_OK if none */
} run_state;

static void report(const pipeline_params *p, pipeline_phase phase, double fraction,
                   double overall)
{
    if (p->progress)
        p->progress(phase, fraction, overall, p->progress_user_data);
}

static void on_asr_progress(double fraction, double seconds_done, void *user_data)
{
    (void)seconds_done;
    run_state *st = user_data;
    report(st->params, PIPELINE_PHASE_TRANSCRIBING, fraction,
           fraction * PIPELINE_TRANSCRIBE_SHARE);
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

static bool cancelled(const pipeline_params *p)
{
    return p->cancel && atomic_load(p->cancel);
}

static void record_engine(pipeline_result *result, const asr_engine *engine)
{
    util_strlcpy(result->engine, asr_engine_name(engine), sizeof result->engine);
    util_strlcpy(result->model, asr_model_name(engine), sizeof result->model);
    util_strlcpy(result->language, asr_language(engine), sizeof result->language);
}

int pipeline_run(const char *input, const pipeline_params *params,
                 pipeline_result *result, char *err, size_t errlen)
{
    audio_reader *reader = NULL;
    asr_engine *engine = NULL;
    transcript *t = NULL;
    run_state st = {params, NULL, AUDIO_OK};
    int rc = PIPELINE_OK;
    double t0 = util_now_seconds();

    memset(result, 0, sizeof *result);
    if (!input || !params)
        return util_errf(err, errlen, PIPELINE_ERR_INVALID_ARG, "no input given");
    report(params, PIPELINE_PHASE_LOADING, 0.0, 0.0);

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
    if (cancelled(params)) {
        rc = util_errf(err, errlen, PIPELINE_ERR_CANCELLED, "cancelled");
        goto cleanup;
    }

    double t1 = util_now_seconds();
    result->load_seconds = t1 - t0;
    report(params, PIPELINE_PHASE_TRANSCRIBING, 0.0, 0.0);

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
    report(params, PIPELINE_PHASE_TRANSCRIBING, 1.0, PIPELINE_TRANSCRIBE_SHARE);

cleanup:
    result->total_seconds = util_now_seconds() - t0;
    transcript_free(t);
    if (engine == params->engine)
        asr_set_callbacks(engine, NULL); /* they point into this run */
    else
        asr_close(engine);
    audio_close(reader);
    return rc;
}
