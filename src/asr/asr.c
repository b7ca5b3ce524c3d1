/* asr: the public face of the ASR module — parameter defaults, the registry
 * of compiled-in engines, and dispatch through their vtables.
 *
 * Invariant: an asr_engine owns deep copies of every string in its params,
 * so callers may free theirs right after asr_open, and the engine's own state
 * may keep borrowed pointers into them for its whole life.
 */
#include "asr/asr.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/asr_engine_impl.h"
#include "util/util.h"

#define ASR_DEFAULT_ENGINE "auto"

struct asr_engine {
    const asr_engine_impl *impl;
    void *state;
    asr_params params; /* string fields point at the copies below */
    char *engine_copy, *model_copy, *language_copy;
    char *models_dir_copy, *task_copy, *prompt_copy, *vad_model_copy;
};

static const asr_engine_impl *const engines[] = {
    &asr__engine_pocketsphinx,
    &asr__engine_whisper,
};
#define N_ENGINES (sizeof engines / sizeof engines[0])

/* Must list engines[] in the same order; C cannot initialise it from their
 * name fields, so test_asr checks that the two agree. */
static const char *const engine_names[N_ENGINES + 1] = {
    "pocketsphinx",
    "whisper",
    NULL,
};

const char *asr_strerror(int code)
{
    switch (code) {
    case ASR_OK:
        return "ok";
    case ASR_ERR_INVALID_ARG:
        return "invalid argument";
    case ASR_ERR_UNKNOWN_ENGINE:
        return "unknown ASR engine";
    case ASR_ERR_MODEL:
        return "ASR model missing or unreadable";
    case ASR_ERR_LANGUAGE:
        return "language not supported by the ASR model";
    case ASR_ERR_AUDIO:
        return "audio source error";
    case ASR_ERR_DECODE:
        return "ASR engine failed while decoding";
    case ASR_ERR_NOMEM:
        return "out of memory";
    case ASR_ERR_CANCELLED:
        return "cancelled";
    default:
        return "unknown error";
    }
}

asr_params asr_default_params(void)
{
    asr_params p;
    memset(&p, 0, sizeof p);
    p.engine = ASR_DEFAULT_ENGINE;
    p.model = NULL;
    p.language = NULL;
    p.n_threads = 0;
    p.task = "transcribe";
    p.beam_size = 5;
    /* Whisper's own default. Loops of repeated text are its most common
     * failure, and the off switch is the cure users reach for. */
    p.condition_on_previous_text = true;
    p.temperature_fallback = true;
    /* Utterances already end at 0.5 s of non-speech; inside one, pauses
     * between sentences measure about 0.4 s and those at commas 0.1-0.2 s
     * on the LibriVox test clips, so 0.35 s splits sentences only. */
    p.split_pause_seconds = 0.35;
    /* Long enough for a full spoken sentence, short enough for subtitles. */
    p.max_segment_seconds = 15.0;
    return p;
}

const char *const *asr_engine_names(void)
{
    return engine_names;
}

static const asr_engine_impl *find_engine(const char *name)
{
    for (size_t i = 0; i < N_ENGINES; i++)
        if (strcmp(engines[i]->name, name) == 0)
            return engines[i];
    return NULL;
}

bool asr_engine_known(const char *name)
{
    return name && find_engine(name) != NULL;
}

const char *asr_engine_default_model(const char *engine)
{
    const asr_engine_impl *impl = engine ? find_engine(engine) : NULL;
    return impl ? impl->default_model : NULL;
}

const char *const *asr_engine_models(const char *engine)
{
    const asr_engine_impl *impl = engine ? find_engine(engine) : NULL;
    return impl ? impl->models : NULL;
}

const char *const *asr_engine_languages(const char *engine)
{
    const asr_engine_impl *impl = engine ? find_engine(engine) : NULL;
    return impl ? impl->languages : NULL;
}

static bool is_unset(const char *s)
{
    return !s || !s[0];
}

const char *asr_engine_resolve(const char *engine, const char *models_dir, const char *model,
                               char *note, size_t notelen)
{
    if (note && notelen)
        note[0] = '\0';
    if (!is_unset(engine) && strcmp(engine, "auto") != 0)
        return engine;
    char why[512];
    if (asr__engine_whisper.available(models_dir, model, why, sizeof why))
        return "whisper";
    if (note && notelen)
        snprintf(note, notelen, "%s; using PocketSphinx instead", why);
    return "pocketsphinx";
}

void asr__log(const asr_params *p, asr_log_level level, const char *fmt, ...)
{
    if (!p || !p->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->log(level, msg, p->log_user_data);
}

/* "pocketsphinx, whisper" into buf, for error messages. */
static void list_engines(char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < N_ENGINES; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", i ? ", " : "", engines[i]->name);
    }
}

bool asr_engine_available(const char *engine, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    const asr_engine_impl *impl = engine ? find_engine(engine) : NULL;
    if (!impl) {
        char names[256];
        list_engines(names, sizeof names);
        util_errf(err, errlen, ASR_ERR_UNKNOWN_ENGINE, "unknown ASR engine '%s' (available: %s)",
                  engine ? engine : "(null)", names);
        return false;
    }
    return impl->available(NULL, NULL, err, errlen);
}

bool asr_engine_model_available(const char *engine, const char *models_dir, const char *model,
                                char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    const asr_engine_impl *impl = engine ? find_engine(engine) : NULL;
    if (!impl) {
        util_errf(err, errlen, ASR_ERR_UNKNOWN_ENGINE, "unknown ASR engine '%s'",
                  engine ? engine : "(null)");
        return false;
    }
    return impl->available(models_dir, is_unset(model) ? NULL : model, err, errlen);
}

/* *copy = a copy of src (NULL for NULL); false when out of memory. */
static bool copy_field(const char *src, char **copy)
{
    *copy = util_strdup(src);
    return !src || *copy;
}

/* Copies the string fields of *src into e, pointing e->params at them. */
static int copy_params(asr_engine *e, const asr_params *src)
{
    e->params = *src;
    bool ok = copy_field(is_unset(src->engine) ? ASR_DEFAULT_ENGINE : src->engine, &e->engine_copy);
    ok = copy_field(src->model, &e->model_copy) && ok;
    ok = copy_field(src->language, &e->language_copy) && ok;
    ok = copy_field(src->models_dir, &e->models_dir_copy) && ok;
    ok = copy_field(src->task, &e->task_copy) && ok;
    ok = copy_field(src->initial_prompt, &e->prompt_copy) && ok;
    ok = copy_field(src->vad_model, &e->vad_model_copy) && ok;
    if (!ok)
        return ASR_ERR_NOMEM;
    e->params.engine = e->engine_copy;
    e->params.model = e->model_copy;
    e->params.language = e->language_copy;
    e->params.models_dir = e->models_dir_copy;
    e->params.task = e->task_copy;
    e->params.initial_prompt = e->prompt_copy;
    e->params.vad_model = e->vad_model_copy;
    return ASR_OK;
}

static int check_params(const asr_params *p, char *err, size_t errlen)
{
    /* NaN would make every comparison in the segmenter false. */
    if (isnan(p->split_pause_seconds))
        return util_errf(err, errlen, ASR_ERR_INVALID_ARG, "split_pause_seconds is not a number");
    if (isnan(p->max_segment_seconds))
        return util_errf(err, errlen, ASR_ERR_INVALID_ARG, "max_segment_seconds is not a number");
    return ASR_OK;
}

int asr_open(asr_engine **out, const asr_params *params, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return util_errf(err, errlen, ASR_ERR_INVALID_ARG, "asr_open: out is NULL");
    *out = NULL;
    asr_params defaults = asr_default_params();
    if (!params)
        params = &defaults;

    int rc = check_params(params, err, errlen);
    if (rc != ASR_OK)
        return rc;
    asr_engine *e = calloc(1, sizeof *e);
    if (!e)
        return util_errf(err, errlen, ASR_ERR_NOMEM, "out of memory");
    rc = copy_params(e, params);
    if (rc != ASR_OK) {
        util_errf(err, errlen, rc, "out of memory");
        goto fail;
    }
    char note[768];
    const char *engine = asr_engine_resolve(e->params.engine, e->params.models_dir,
                                            e->params.model, note, sizeof note);
    if (note[0]) {
        asr__log(&e->params, ASR_LOG_WARN, "%s", note);
        /* A Whisper model name means nothing to PocketSphinx: it takes its own default. */
        if (!is_unset(e->params.model) && !strchr(e->params.model, '/')) {
            free(e->model_copy);
            e->model_copy = NULL;
            e->params.model = NULL;
        }
    }
    e->impl = find_engine(engine);
    if (!e->impl) {
        char names[256];
        list_engines(names, sizeof names);
        rc = util_errf(err, errlen, ASR_ERR_UNKNOWN_ENGINE,
                       "unknown ASR engine '%s' (available: auto, %s)", e->params.engine, names);
        goto fail;
    }
    rc = e->impl->open(&e->state, &e->params, err, errlen);
    if (rc != ASR_OK)
        goto fail;
    *out = e;
    return ASR_OK;

fail:
    asr_close(e);
    return rc;
}

void asr_close(asr_engine *e)
{
    if (!e)
        return;
    if (e->impl && e->state)
        e->impl->close(e->state);
    free(e->engine_copy);
    free(e->model_copy);
    free(e->language_copy);
    free(e->models_dir_copy);
    free(e->task_copy);
    free(e->prompt_copy);
    free(e->vad_model_copy);
    free(e);
}

void asr_set_callbacks(asr_engine *e, const asr_params *p)
{
    if (!e)
        return;
    e->params.progress = p ? p->progress : NULL;
    e->params.progress_user_data = p ? p->progress_user_data : NULL;
    e->params.log = p ? p->log : NULL;
    e->params.log_user_data = p ? p->log_user_data : NULL;
    e->params.cancel = p ? p->cancel : NULL;
}

int asr_transcribe(asr_engine *e, const asr_source *src, transcript **out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (out)
        *out = NULL;
    if (!e || !src || !src->read || !out)
        return util_errf(err, errlen, ASR_ERR_INVALID_ARG,
                         "asr_transcribe: engine, source, read function and out are required");
    if (!isfinite(src->time_offset))
        return util_errf(err, errlen, ASR_ERR_INVALID_ARG,
                         "asr_transcribe: time_offset is not finite");

    transcript *t = transcript_new();
    if (!t)
        return util_errf(err, errlen, ASR_ERR_NOMEM, "out of memory");
    util_strlcpy(t->language, asr_language(e), sizeof t->language);
    t->start_time = src->time_offset;

    int rc = e->impl->transcribe(e->state, src, t, err, errlen);
    if (rc != ASR_OK) {
        transcript_free(t);
        return rc;
    }
    if (e->params.progress)
        e->params.progress(1.0, t->duration, e->params.progress_user_data);
    *out = t;
    return ASR_OK;
}

const char *asr_engine_name(const asr_engine *e)
{
    return e ? e->impl->name : "";
}

const char *asr_model_name(const asr_engine *e)
{
    return e ? e->impl->model_name(e->state) : "";
}

const char *asr_language(const asr_engine *e)
{
    return e ? e->impl->language(e->state) : "";
}
