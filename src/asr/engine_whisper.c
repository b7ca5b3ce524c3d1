/* engine_whisper: the Whisper engine behind the ASR interface. It resolves a
 * model name to a ggml file in the models directory (or takes a path), loads
 * it with the whisper module, and turns whisper_transcribe's segments into a
 * transcript. All the speech recognition itself lives in src/whisper/.
 * With vad_filter on, the audio passes through a Silero gate (vad_gate.c)
 * that drops long silences, and the times coming back are mapped onto the
 * original timeline.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr/asr_engine_impl.h"
#include "asr/vad_gate.h"
#include "models/models.h"
#include "util/util.h"
#include "whisper/whisper.h"

#define WH_DEFAULT_MODEL "base"

typedef struct {
    const asr_params *p; /* owned by the asr_engine, outlives the state */
    whisper_model *model;
    whisper_state *state;
    asr__vad_gate *gate; /* NULL unless vad_filter */
    char model_name[1024];
    char language[16]; /* "auto" until a run detects one */
    whisper_task task;
} wh_state;

static int map_whisper_error(int code)
{
    switch (code) {
    case WHISPER_OK:
        return ASR_OK;
    case WHISPER_ERR_INVALID_ARG:
        return ASR_ERR_INVALID_ARG;
    case WHISPER_ERR_IO:
    case WHISPER_ERR_FORMAT:
        return ASR_ERR_MODEL;
    case WHISPER_ERR_NOMEM:
        return ASR_ERR_NOMEM;
    case WHISPER_ERR_AUDIO:
        return ASR_ERR_AUDIO;
    case WHISPER_ERR_CANCELLED:
        return ASR_ERR_CANCELLED;
    default:
        return ASR_ERR_DECODE;
    }
}

static const char *model_or_default(const char *model)
{
    return (model && model[0]) ? model : WH_DEFAULT_MODEL;
}

/* The file a model name or path stands for, and whether it is there. */
static bool locate_model(const char *models_dir, const char *model, char *path, size_t pathlen,
                         char *err, size_t errlen)
{
    const char *name = model_or_default(model);
    if (!models_is_path(name) && !(models_dir && models_dir[0])) {
        util_errf(err, errlen, ASR_ERR_MODEL,
                  "Whisper model '%s' cannot be found: no models directory is configured", name);
        return false;
    }
    char why[512];
    if (models_resolve(models_dir, name, path, pathlen, why, sizeof why) != 0) {
        util_errf(err, errlen, ASR_ERR_MODEL, "Whisper model '%s': %s", name, why);
        return false;
    }
    struct stat st;
    /* errno only means something when stat itself failed (a directory is no error to it). */
    int stat_errno = stat(path, &st) == 0 ? 0 : errno;
    if (stat_errno == 0 && S_ISREG(st.st_mode))
        return true;
    if (models_is_path(name))
        util_errf(err, errlen, ASR_ERR_MODEL, "Whisper model file %s: %s", path,
                  stat_errno ? strerror(stat_errno) : "not a regular file");
    else
        util_errf(err, errlen, ASR_ERR_MODEL,
                  "Whisper model '%s' is not installed (%s is missing; run `cesar models pull %s`)",
                  name, path, name);
    return false;
}

static bool wh_available(const char *models_dir, const char *model, char *err, size_t errlen)
{
    char path[4096];
    return locate_model(models_dir, model, path, sizeof path, err, errlen);
}

static void wh_close(void *state)
{
    wh_state *s = state;
    if (!s)
        return;
    whisper_state_free(s->state);
    whisper_model_free(s->model);
    asr__vad_gate_close(s->gate);
    free(s);
}

/* Checks the requested language and task against what the model can do. */
static int choose_language(wh_state *s, char *err, size_t errlen)
{
    const char *lang = s->p->language;
    bool multi = whisper_model_multilingual(s->model);
    if (!lang || !lang[0] || strcmp(lang, "auto") == 0) {
        util_strlcpy(s->language, multi ? "auto" : "en", sizeof s->language);
    } else if (whisper_language_index(lang) < 0) {
        return util_errf(err, errlen, ASR_ERR_LANGUAGE,
                         "language '%s' is not one Whisper knows (expected an ISO 639-1 code "
                         "such as en, de, fr, or auto)", lang);
    } else if (!multi && strcmp(lang, "en") != 0) {
        return util_errf(err, errlen, ASR_ERR_LANGUAGE,
                         "Whisper model %s is English-only and cannot transcribe language '%s' "
                         "(use a multilingual model such as base)", s->model_name, lang);
    } else {
        util_strlcpy(s->language, lang, sizeof s->language);
    }
    const char *task = s->p->task;
    if (!task || !task[0] || strcmp(task, "transcribe") == 0) {
        s->task = WHISPER_TASK_TRANSCRIBE;
    } else if (strcmp(task, "translate") == 0) {
        if (!multi)
            return util_errf(err, errlen, ASR_ERR_INVALID_ARG,
                             "task 'translate' needs a multilingual Whisper model; %s is "
                             "English-only", s->model_name);
        s->task = WHISPER_TASK_TRANSLATE;
    } else {
        return util_errf(err, errlen, ASR_ERR_INVALID_ARG,
                         "task '%s' is not known (expected transcribe or translate)", task);
    }
    return ASR_OK;
}

static int thread_count(const asr_params *p)
{
    if (p->n_threads > 0)
        return p->n_threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The Silero file vad_filter uses: the configured one or the build's. */
static const char *vad_model_path(const asr_params *p)
{
    if (p->vad_model && p->vad_model[0])
        return p->vad_model;
#ifdef CESAR_VAD_MODEL_DEFAULT
    return CESAR_VAD_MODEL_DEFAULT;
#else
    return "";
#endif
}

static int wh_open(void **state, const asr_params *p, char *err, size_t errlen)
{
    *state = NULL;
    int rc = ASR_OK;
    if (p->beam_size < 1 || p->beam_size > 16)
        return util_errf(err, errlen, ASR_ERR_INVALID_ARG,
                         "beam_size %d is out of range (expected 1 to 16)", p->beam_size);
    wh_state *s = calloc(1, sizeof *s);
    if (!s)
        return util_errf(err, errlen, ASR_ERR_NOMEM, "out of memory");
    s->p = p;
    if (!locate_model(p->models_dir, p->model, s->model_name, sizeof s->model_name, err,
                      errlen)) {
        rc = ASR_ERR_MODEL;
        goto cleanup;
    }
    whisper_load_params lp = whisper_load_default_params();
    rc = map_whisper_error(whisper_model_load(&s->model, s->model_name, &lp, err, errlen));
    if (rc != ASR_OK)
        goto cleanup;
    if ((rc = choose_language(s, err, errlen)) != ASR_OK)
        goto cleanup;
    if (p->vad_filter && p->vad_model && strcmp(p->vad_model, "none") == 0) {
        rc = util_errf(err, errlen, ASR_ERR_MODEL,
                       "VAD filter: needs a Silero VAD model file, but vad_model is \"none\"");
        goto cleanup;
    }
    if (p->vad_filter &&
        (rc = asr__vad_gate_open(&s->gate, vad_model_path(p), err, errlen)) != ASR_OK)
        goto cleanup;
    whisper_transcribe_params wp = whisper_transcribe_default_params();
    wp.beam_size = p->beam_size;
    rc = map_whisper_error(whisper_state_new(&s->state, s->model, thread_count(p),
                                             whisper_transcribe_max_seq(&wp), err, errlen));
    if (rc != ASR_OK)
        goto cleanup;
    asr__log(p, ASR_LOG_INFO, "whisper: %s (%s, %s), %d threads", s->model_name,
             whisper_model_size_name(s->model), whisper_model_type_name(s->model),
             thread_count(p));
    *state = s;
    return ASR_OK;

cleanup:
    wh_close(s);
    return rc;
}

/* ---- transcription ----------------------------------------------------- */

typedef struct {
    wh_state *s;
    const asr_source *src;
    transcript *t;
    size_t samples;
    int add_rc;
    bool cancelled_in_read;
    const asr__vad_gate *gate; /* NULL: Whisper sees the source's audio as is */
} wh_run;

/* A time Whisper reports, on the source's timeline. */
static double source_time(const wh_run *r, double t, bool is_end)
{
    if (r->gate)
        t = asr__vad_gate_map(r->gate, t, is_end);
    return t + r->src->time_offset;
}

/* A span Whisper reports, on the source's timeline. An empty span on a
 * piece boundary would map its end before its start: it stays empty. */
static void source_span(const wh_run *r, double start, double end, double *s, double *e)
{
    *s = source_time(r, start, false);
    *e = source_time(r, end, true);
    if (*e < *s)
        *e = *s;
}

static int wh_read(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                   size_t errlen)
{
    wh_run *r = user_data;
    /* The gate may read minutes of silence before Whisper sees a sample and
     * polls the cancel flag itself, so the flag is checked here too. */
    const atomic_int *cancel = r->s->p->cancel;
    if (r->gate && cancel && atomic_load(cancel)) {
        r->cancelled_in_read = true;
        return util_errf(err, errlen, ASR_ERR_CANCELLED, "cancelled");
    }
    int rc = r->src->read(r->src->user_data, buf, max, n_read, err, errlen);
    if (rc == 0)
        r->samples += *n_read;
    return rc;
}

static void wh_progress(double seconds_done, void *user_data)
{
    wh_run *r = user_data;
    const asr_params *p = r->s->p;
    if (!p->progress)
        return;
    if (r->gate)
        seconds_done = asr__vad_gate_map(r->gate, seconds_done, true);
    double total = r->src->total_seconds;
    double fraction = total > 0 ? seconds_done / total : 0.0;
    if (fraction > 1.0)
        fraction = 1.0;
    p->progress(fraction, seconds_done, p->progress_user_data);
}

static int wh_segment(const whisper_segment *seg, void *user_data)
{
    wh_run *r = user_data;
    size_t index;
    double start, end;
    source_span(r, seg->start, seg->end, &start, &end);
    int rc = transcript_add_segment(r->t, start, end, seg->text, &index);
    for (size_t i = 0; rc == 0 && i < seg->n_words; i++) {
        const whisper_word *w = &seg->words[i];
        source_span(r, w->start, w->end, &start, &end);
        rc = transcript_add_word(r->t, index, start, end, w->text, w->probability);
    }
    r->add_rc = rc;
    return rc;
}

static whisper_transcribe_params run_params(const wh_state *s, wh_run *r)
{
    const asr_params *p = s->p;
    whisper_transcribe_params wp = whisper_transcribe_default_params();
    wp.task = s->task;
    wp.language = strcmp(s->language, "auto") == 0 ? NULL : s->language;
    wp.beam_size = p->beam_size;
    wp.initial_prompt = (p->initial_prompt && p->initial_prompt[0]) ? p->initial_prompt : NULL;
    wp.condition_on_previous_text = p->condition_on_previous_text;
    if (!p->temperature_fallback)
        wp.n_temperatures = 1; /* temperatures[0] is 0: beam search only */
    wp.progress = wh_progress;
    wp.progress_user_data = r;
    wp.cancel = p->cancel;
    return wp;
}

static int wh_transcribe(void *state, const asr_source *src, transcript *t, char *err,
                         size_t errlen)
{
    wh_state *s = state;
    wh_run r = {.s = s, .src = src, .t = t, .gate = s->gate};
    whisper_transcribe_params wp = run_params(s, &r);
    const char *detected = NULL;
    whisper_read_fn read = wh_read;
    void *read_data = &r;
    if (s->gate) {
        asr__vad_gate_start(s->gate, wh_read, &r);
        read = asr__vad_gate_read;
        read_data = s->gate;
    }
    int wrc = whisper_transcribe(s->state, &wp, read, read_data, wh_segment, &r, &detected, err,
                                 errlen);
    t->duration = (double)r.samples / WHISPER_SAMPLE_RATE;
    if (s->gate)
        asr__log(s->p, ASR_LOG_INFO, "VAD filter: kept %.1f s of %.1f s of audio",
                 (double)asr__vad_gate_kept_samples(s->gate) / WHISPER_SAMPLE_RATE,
                 t->duration);
    if (r.cancelled_in_read)
        return ASR_ERR_CANCELLED;
    if (wrc == WHISPER_ERR_CANCELLED && r.add_rc != 0)
        return util_errf(err, errlen, ASR_ERR_NOMEM, "out of memory");
    if (wrc != WHISPER_OK)
        return map_whisper_error(wrc);
    if (detected)
        util_strlcpy(t->language, detected, sizeof t->language);
    return ASR_OK;
}

static const char *wh_model_name(const void *state)
{
    return ((const wh_state *)state)->model_name;
}

static const char *wh_language(const void *state)
{
    return ((const wh_state *)state)->language;
}

static const char *const wh_models[] = {WH_DEFAULT_MODEL, NULL};
static const char *const wh_languages[] = {"en", NULL};

const asr_engine_impl asr__engine_whisper = {
    .name = "whisper",
    .default_model = WH_DEFAULT_MODEL,
    .models = wh_models, /* installed ones are listed by models_list */
    .languages = wh_languages,
    .available = wh_available,
    .open = wh_open,
    .transcribe = wh_transcribe,
    .close = wh_close,
    .model_name = wh_model_name,
    .language = wh_language,
};
