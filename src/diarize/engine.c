/* engine: the public face of diarization engines — parameter defaults and
 * checks, the registry of compiled-in engines, dispatch, and the common
 * post-processing every engine's turns get (sorted by start, speakers
 * renumbered in order of first appearance, empty turns dropped).
 */
#include "diarize/diarize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diarize/engine_impl.h"
#include "util/util.h"

#define DIARIZE_DEFAULT_ENGINE "builtin"
#define DIARIZE_DEFAULT_MAX 8
#define FAULT_ENV "CESAR_FAULT_DIARIZE"

struct diarize_engine {
    const diarize_engine_impl *impl;
    void *state;
    diarize_params params; /* engine points at the registry's static name */
};

static const diarize_engine_impl *const engines[] = {
    &diarize__engine_builtin,
    &diarize__engine_pyannote,
};
#define N_ENGINES (sizeof engines / sizeof engines[0])

static const char *const engine_names[N_ENGINES + 1] = {
    "builtin",
    "pyannote",
    NULL,
};

const char *diarize_strerror(int code)
{
    switch (code) {
    case DIARIZE_OK: return "ok";
    case DIARIZE_ERR_INVALID: return "invalid argument";
    case DIARIZE_ERR_NOMEM: return "out of memory";
    case DIARIZE_ERR_UNKNOWN_ENGINE: return "unknown diarization engine";
    case DIARIZE_ERR_AUDIO: return "audio source error";
    case DIARIZE_ERR_FAILED: return "diarization failed";
    case DIARIZE_ERR_CANCELLED: return "cancelled";
    case DIARIZE_ERR_TOKEN_REQUIRED: return "a Hugging Face token is required";
    case DIARIZE_ERR_TOKEN_INVALID: return "the Hugging Face token was refused";
    default: return "unknown error";
    }
}

const char *diarize_error_code(int code)
{
    switch (code) {
    case DIARIZE_ERR_TOKEN_REQUIRED: return "hf_token_required";
    case DIARIZE_ERR_TOKEN_INVALID: return "hf_token_invalid";
    default: return "diarization_failed";
    }
}

diarize_params diarize_default_params(void)
{
    diarize_params p;
    memset(&p, 0, sizeof p);
    p.engine = DIARIZE_DEFAULT_ENGINE;
    return p;
}

const char *const *diarize_engine_names(void)
{
    return engine_names;
}

static const diarize_engine_impl *find_engine(const char *name)
{
    if (!name || !name[0])
        name = DIARIZE_DEFAULT_ENGINE;
    for (size_t i = 0; i < N_ENGINES; i++)
        if (strcmp(engines[i]->name, name) == 0)
            return engines[i];
    return NULL;
}

void diarize_engine_list(char *buf, size_t n)
{
    size_t used = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < N_ENGINES && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", engine_names[i]);
}

bool diarize_engine_known(const char *name)
{
    return name && name[0] && find_engine(name) != NULL;
}

static int check_count(const char *what, int v, char *err, size_t errlen)
{
    if (v < 0 || v > DIARIZE_MAX_SPEAKERS)
        return util_errf(err, errlen, DIARIZE_ERR_INVALID,
                         "%s must be from 1 to %d (0 = not set), got %d", what,
                         DIARIZE_MAX_SPEAKERS, v);
    return DIARIZE_OK;
}

int diarize_check_params(const diarize_params *p, char *err, size_t errlen)
{
    if (!p)
        return util_errf(err, errlen, DIARIZE_ERR_INVALID, "no diarization parameters");
    if (!find_engine(p->engine)) {
        char names[128];
        diarize_engine_list(names, sizeof names);
        return util_errf(err, errlen, DIARIZE_ERR_UNKNOWN_ENGINE,
                         "unknown diarization engine '%s' (available: %s)", p->engine, names);
    }
    int rc;
    if ((rc = check_count("min_speakers", p->min_speakers, err, errlen)) ||
        (rc = check_count("max_speakers", p->max_speakers, err, errlen)) ||
        (rc = check_count("num_speakers", p->num_speakers, err, errlen)))
        return rc;
    if (p->min_speakers && p->max_speakers && p->min_speakers > p->max_speakers)
        return util_errf(err, errlen, DIARIZE_ERR_INVALID,
                         "min_speakers (%d) must not be greater than max_speakers (%d)",
                         p->min_speakers, p->max_speakers);
    return DIARIZE_OK;
}

int diarize_open(diarize_engine **out, const diarize_params *params, char *err, size_t errlen)
{
    diarize_engine *e = NULL;
    int rc;
    *out = NULL;
    if ((rc = diarize_check_params(params, err, errlen)) != DIARIZE_OK)
        return rc;
    e = calloc(1, sizeof *e);
    if (!e)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    e->impl = find_engine(params->engine);
    e->params = *params;
    e->params.engine = e->impl->name;
    rc = e->impl->open(&e->state, &e->params, err, errlen);
    if (rc != DIARIZE_OK) {
        free(e);
        return rc;
    }
    *out = e;
    return DIARIZE_OK;
}

void diarize_close(diarize_engine *e)
{
    if (!e)
        return;
    e->impl->close(e->state);
    free(e);
}

int diarize_set_params(diarize_engine *e, const diarize_params *p, char *err, size_t errlen)
{
    diarize_params q = p ? *p : diarize_default_params();
    q.engine = e->impl->name; /* the engine itself does not change */
    int rc = diarize_check_params(&q, err, errlen);
    if (rc == DIARIZE_OK)
        e->params = q;
    return rc;
}

int diarize_engine_status_get(const char *name, const diarize_params *p,
                              diarize_engine_status *out)
{
    memset(out, 0, sizeof *out);
    const diarize_engine_impl *impl = find_engine(name);
    if (!impl)
        return DIARIZE_ERR_UNKNOWN_ENGINE;
    diarize_params defaults = diarize_default_params();
    if (impl->status) {
        impl->status(p ? p : &defaults, out);
        return DIARIZE_OK;
    }
    out->available = true;
    out->weights_installed = true;
    util_strlcpy(out->message, "needs no download", sizeof out->message);
    return DIARIZE_OK;
}

const char *diarize_engine_name(const diarize_engine *e)
{
    return e->impl->name;
}

void diarize_result_clear(diarize_result *r)
{
    if (!r)
        return;
    free(r->turns);
    memset(r, 0, sizeof *r);
}

static int by_start(const void *a, const void *b)
{
    const diarize_turn *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->speaker - y->speaker;
}

/* Drops empty turns, sorts by start, renumbers speakers by first appearance. */
static int normalise_turns(diarize_result *r, char *err, size_t errlen)
{
    size_t n = 0;
    int max_label = -1;
    for (size_t i = 0; i < r->n_turns; i++) {
        if (r->turns[i].end > r->turns[i].start && r->turns[i].speaker >= 0) {
            r->turns[n++] = r->turns[i];
            if (r->turns[i].speaker > max_label)
                max_label = r->turns[i].speaker;
        }
    }
    r->n_turns = n;
    r->n_speakers = 0;
    if (n == 0)
        return DIARIZE_OK;
    qsort(r->turns, n, sizeof *r->turns, by_start);
    int *map = malloc(((size_t)max_label + 1) * sizeof *map);
    if (!map)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    for (int i = 0; i <= max_label; i++)
        map[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int *m = &map[r->turns[i].speaker];
        if (*m < 0)
            *m = r->n_speakers++;
        r->turns[i].speaker = *m;
    }
    free(map);
    return DIARIZE_OK;
}

static bool fault_injected(void)
{
    const char *path = getenv(FAULT_ENV);
    struct stat st;
    return path && path[0] && stat(path, &st) == 0;
}

int diarize_run(diarize_engine *e, const diarize_source *src, diarize_result *out, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!e || !src || !src->read)
        return util_errf(err, errlen, DIARIZE_ERR_INVALID, "no engine or audio source");
    if (e->params.cancel && atomic_load(e->params.cancel))
        return util_errf(err, errlen, DIARIZE_ERR_CANCELLED, "cancelled");
    if (fault_injected())
        return util_errf(err, errlen, DIARIZE_ERR_FAILED,
                         "diarization failed: fault injected by %s (%s exists)", FAULT_ENV,
                         getenv(FAULT_ENV));
    int rc = e->impl->run(e->state, &e->params, src, out, err, errlen);
    if (rc == DIARIZE_OK)
        rc = normalise_turns(out, err, errlen);
    if (rc != DIARIZE_OK) {
        diarize_result_clear(out);
        return rc;
    }
    if (e->params.progress)
        e->params.progress(1.0, e->params.progress_user_data);
    return DIARIZE_OK;
}
