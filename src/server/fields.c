/* fields: collecting and checking the job options of a submission. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "asr/asr.h"
#include "diarize/diarize.h"
#include "format/format.h"
#include "models/models.h"
#include "server/fields.h"
#include "server/internal.h"

static const char *const names[SERVER__F_COUNT] = {
    [SERVER__F_MODEL] = "model",
    [SERVER__F_ENGINE] = "engine",
    [SERVER__F_LANGUAGE] = "language",
    [SERVER__F_FORMAT] = "format",
    [SERVER__F_DIARIZE] = "diarize",
    [SERVER__F_MIN_SPEAKERS] = "min_speakers",
    [SERVER__F_MAX_SPEAKERS] = "max_speakers",
    [SERVER__F_DIARIZATION_ENGINE] = "diarization_engine",
};

#define MAX_SPEAKERS_ALLOWED 32

const char *server__form_names(void)
{
    return "file, model, engine, language, format, diarize, min_speakers, max_speakers, "
           "diarization_engine";
}

const char *server__refused_field(const char *key)
{
    if (strcmp(key, "hf_token") == 0)
        return "hf_token is never accepted in a request: the server fetches the pyannote "
               "models with its own token (its hf_token setting, HF_TOKEN or $HF_HOME/token)";
    return NULL;
}

bool server__diarization_available(void)
{
    /* The built-in engine needs no download, so every build can diarize. */
    return diarize_engine_names()[0] != NULL;
}

void server__form_init(server__form *f)
{
    memset(f, 0, sizeof *f);
}

static int field_index(const char *key)
{
    for (int i = 0; i < SERVER__F_COUNT; i++)
        if (strcmp(names[i], key) == 0)
            return i;
    return -1;
}

int server__form_add(server__form *f, const char *key, const char *data, uint64_t off,
                     size_t size, char *why, size_t n)
{
    int i = field_index(key);
    const char *refused = server__refused_field(key);
    if (refused)
        return util_errf(why, n, 1, "%s", refused);
    if (i < 0)
        return util_errf(why, n, 1, "unknown field '%s' (accepted: %s)", key,
                         server__form_names());
    if (off == 0 && f->seen[i])
        return util_errf(why, n, 1, "field '%s' was given more than once", key);
    f->seen[i] = true;
    if (f->len[i] + size > sizeof f->value[i] - 1)
        return util_errf(why, n, 1, "field '%s' is longer than %zu bytes", key,
                         sizeof f->value[i] - 1);
    memcpy(f->value[i] + f->len[i], data, size);
    f->len[i] += size;
    f->value[i][f->len[i]] = '\0';
    return 0;
}

/* "a, b or c" from a NULL-terminated list, plus an optional extra. */
static void join_names(const char *const *list, const char *extra, char *buf, size_t n)
{
    size_t count = 0;
    while (list && list[count])
        count++;
    size_t total = count + (extra ? 1 : 0);
    buf[0] = '\0';
    for (size_t i = 0; i < total; i++) {
        const char *name = i < count ? list[i] : extra;
        size_t used = strlen(buf);
        const char *sep = i == 0 ? "" : i + 1 == total ? " or " : ", ";
        snprintf(buf + used, n - used, "%s%s", sep, name);
    }
}

static bool in_list(const char *const *list, const char *v)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

static const char *given(const server__form *f, int i)
{
    return f->seen[i] ? f->value[i] : NULL;
}

/* Names field i as the culprit and writes the message; returns 1. */
static int reject(char *field, size_t field_n, int i, char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int reject(char *field, size_t field_n, int i, char *why, size_t n, const char *fmt, ...)
{
    snprintf(field, field_n, "%s", names[i]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return 1;
}

/* "<field> '<v>' is <problem>; allowed: a, b or c[ (engine E)]". */
static int reject_unlisted(char *field, size_t field_n, int i, char *why, size_t n,
                           const char *v, const char *problem, const char *const *list,
                           const char *extra, const char *engine)
{
    char allowed[512];
    join_names(list, extra, allowed, sizeof allowed);
    return reject(field, field_n, i, why, n, "%s '%s' is %s; allowed: %s%s%s%s", names[i], v,
                  problem, allowed, engine ? " (engine " : "", engine ? engine : "",
                  engine ? ")" : "");
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_speakers(const char *v, int *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 1 || x > MAX_SPEAKERS_ALLOWED)
        return false;
    *out = (int)x;
    return true;
}

static int resolve_engine(const server *s, const server__form *f, server__job_fields *out,
                          char *field, size_t fn, char *why, size_t n)
{
    const char *v = given(f, SERVER__F_ENGINE);
    if (!v || strcmp(v, "auto") == 0) {
        /* "auto" is settled now, so the job row names the engine that runs. */
        const char *model = given(f, SERVER__F_MODEL);
        out->engine = asr_engine_resolve(v ? v : s->engine, s->models_dir,
                                         model ? model : s->model, NULL, 0);
        return 0;
    }
    if (!asr_engine_known(v))
        return reject_unlisted(field, fn, SERVER__F_ENGINE, why, n, v, "not available",
                               asr_engine_names(), "auto", NULL);
    out->engine = v;
    return 0;
}

static int resolve_model(const server *s, const server__form *f, server__job_fields *out,
                         char *field, size_t fn, char *why, size_t n)
{
    const char *v = given(f, SERVER__F_MODEL);
    const char *const *models = asr_engine_models(out->engine);
    if (!v) {
        /* The configured model belongs to the engine the configured engine
         * settles on ("auto" included), not to whichever this job runs. */
        const char *own = asr_engine_resolve(s->engine, s->models_dir, s->model, NULL, 0);
        bool own_engine = strcmp(own, out->engine) == 0;
        out->model = own_engine && s->model ? s->model : asr_engine_default_model(out->engine);
        /* Accepting it would queue a job bound to fail when a worker opens the model. */
        if (strcmp(out->engine, "whisper") == 0 &&
            !asr_engine_model_available("whisper", s->models_dir, out->model, NULL, 0))
            return reject(field, fn, SERVER__F_MODEL, why, n,
                          "engine whisper: this server's default model '%s' is not installed; "
                          "name an installed one (GET /health lists them)", out->model);
        return 0;
    }
    if (strcmp(out->engine, "whisper") == 0) {
        /* Clients name installed models; paths are for the server's own configuration. */
        if (!models_valid_name(v))
            return reject(field, fn, SERVER__F_MODEL, why, n,
                          "model '%s' is not a model name (letters, digits, '.', '_', '-')", v);
        if (!asr_engine_model_available("whisper", s->models_dir, v, NULL, 0))
            return reject(field, fn, SERVER__F_MODEL, why, n,
                          "model '%s' is not installed on this server (engine whisper; "
                          "`cesar models pull %s` installs it)", v, v);
        out->model = v;
        return 0;
    }
    if (!in_list(models, v))
        return reject_unlisted(field, fn, SERVER__F_MODEL, why, n, v, "not available", models,
                               NULL, out->engine);
    out->model = v;
    return 0;
}

static int resolve_language(const server *s, const server__form *f, server__job_fields *out,
                            char *field, size_t fn, char *why, size_t n)
{
    const char *v = given(f, SERVER__F_LANGUAGE);
    if (!v) {
        out->language = s->language;
        return 0;
    }
    const char *const *langs = asr_engine_languages(out->engine);
    if (strcmp(v, "auto") != 0 && !in_list(langs, v))
        return reject_unlisted(field, fn, SERVER__F_LANGUAGE, why, n, v, "not supported", langs,
                               "auto", out->engine);
    out->language = v;
    return 0;
}

static int resolve_format(const server *s, const server__form *f, server__job_fields *out,
                          char *field, size_t fn, char *why, size_t n)
{
    static const char *const formats[] = {"txt", "md", "srt", "vtt", "json", NULL};
    const char *v = given(f, SERVER__F_FORMAT);
    if (v && !in_list(formats, v))
        return reject_unlisted(field, fn, SERVER__F_FORMAT, why, n, v, "not known", formats,
                               NULL, NULL);
    out->format = v ? v : s->format;
    return 0;
}

static int resolve_speakers(const server *s, const server__form *f, server__job_fields *out,
                            char *field, size_t fn, char *why, size_t n)
{
    const char *v = given(f, SERVER__F_DIARIZE);
    out->diarize = s->diarize && server__diarization_available();
    if (v && !parse_bool(v, &out->diarize))
        return reject(field, fn, SERVER__F_DIARIZE, why, n,
                      "diarize must be true or false (also 1/0, yes/no, on/off), got '%s'", v);
    const char *lo = given(f, SERVER__F_MIN_SPEAKERS), *hi = given(f, SERVER__F_MAX_SPEAKERS);
    out->min_speakers = 0;
    out->max_speakers = 0;
    if (lo && !parse_speakers(lo, &out->min_speakers))
        return reject(field, fn, SERVER__F_MIN_SPEAKERS, why, n,
                      "min_speakers must be an integer from 1 to %d, got '%s'",
                      MAX_SPEAKERS_ALLOWED, lo);
    if (hi && !parse_speakers(hi, &out->max_speakers))
        return reject(field, fn, SERVER__F_MAX_SPEAKERS, why, n,
                      "max_speakers must be an integer from 1 to %d, got '%s'",
                      MAX_SPEAKERS_ALLOWED, hi);
    int min_eff = out->min_speakers ? out->min_speakers : s->min_speakers;
    int max_eff = out->max_speakers ? out->max_speakers : s->max_speakers;
    if (min_eff > 0 && max_eff > 0 && min_eff > max_eff)
        return reject(field, fn, lo ? SERVER__F_MIN_SPEAKERS : SERVER__F_MAX_SPEAKERS, why, n,
                      "min_speakers (%d%s) must not be greater than max_speakers (%d%s)",
                      min_eff, out->min_speakers ? "" : " (server default)", max_eff,
                      out->max_speakers ? "" : " (server default)");
    return 0;
}

/* The diarization engine named, else the server's; resolved now so the job
 * row says which engine labels its speakers. */
static int resolve_diarization_engine(const server *s, const server__form *f,
                                      server__job_fields *out, char *field, size_t fn, char *why,
                                      size_t n)
{
    const char *v = given(f, SERVER__F_DIARIZATION_ENGINE);
    if (v && !diarize_engine_known(v))
        return reject_unlisted(field, fn, SERVER__F_DIARIZATION_ENGINE, why, n, v, "not known",
                               diarize_engine_names(), NULL, NULL);
    out->diarization_engine = v ? v : s->diarization_engine;
    return 0;
}

int server__form_resolve(const server *s, const server__form *f, server__job_fields *out,
                         char *field, size_t field_n, char *why, size_t n)
{
    memset(out, 0, sizeof *out);
    if (resolve_engine(s, f, out, field, field_n, why, n) ||
        resolve_model(s, f, out, field, field_n, why, n) ||
        resolve_language(s, f, out, field, field_n, why, n) ||
        resolve_format(s, f, out, field, field_n, why, n) ||
        resolve_speakers(s, f, out, field, field_n, why, n) ||
        resolve_diarization_engine(s, f, out, field, field_n, why, n))
        return 1;
    return 0;
}
