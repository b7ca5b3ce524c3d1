/* store: the public face of the job store. It picks a backend from the
 * path, checks every argument before the backend sees it, and serialises the
 * calls made on one handle with a mutex. Invariant: a backend is only ever
 * called with valid ids, bounded text and in-range numbers, one call at a
 * time per handle; every out-parameter is NULL (or 0) when a call fails. */
#include "store/store_backend.h"
#include "util/util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct store {
    const store__backend *backend;
    void *state;
    pthread_mutex_t lock; /* one call at a time on state (see store.h, Threads) */
};

const char *store_strerror(int code)
{
    switch (code) {
    case STORE_OK: return "ok";
    case STORE_ERR_NOMEM: return "out of memory";
    case STORE_ERR_INVALID: return "invalid argument";
    case STORE_ERR_NOT_FOUND: return "no such job";
    case STORE_ERR_CONFLICT: return "not allowed in the job's status";
    case STORE_ERR_OPEN: return "cannot open the job database";
    case STORE_ERR_VERSION: return "job database is newer than this program";
    case STORE_ERR_BUSY: return "job database is busy";
    case STORE_ERR_DB: return "job database error";
    default: return "unknown error";
    }
}

store_params store_default_params(void)
{
    return (store_params){.path = NULL, .busy_timeout_ms = 5000};
}

store_list_params store_default_list_params(void)
{
    return (store_list_params){.has_status = false, .limit = 0, .cursor = NULL};
}

store_job_result store_default_job_result(void)
{
    return (store_job_result){.status = STORE_STATUS_ERROR, .audio_duration = -1,
                              .processing_time = -1};
}

/* ---- opening ------------------------------------------------------------- */

/* Chooses the backend for path and points *location past any scheme. */
static int pick_backend(const char *path, const store__backend **b, const char **location,
                        char *err, size_t errlen)
{
    *b = &store__sqlite_backend;
    *location = path;
    if (strncmp(path, "sqlite:", 7) == 0) {
        *location = path + 7;
        if (strncmp(*location, "//", 2) == 0)
            *location += 2;
        return STORE_OK;
    }
    const char *sep = strstr(path, "://");
    const char *slash = strchr(path, '/');
    if (sep && (!slash || sep < slash)) /* "scheme://..." before any path part */
        return util_errf(err, errlen, STORE_ERR_INVALID,
                         "job store '%s': unsupported backend '%.*s' (only SQLite paths are "
                         "supported)", path, (int)(sep - path), path);
    return STORE_OK;
}

int store_open(store **out, const store_params *p, char *err, size_t errlen)
{
    *out = NULL;
    if (!p || !p->path || !*p->path)
        return util_errf(err, errlen, STORE_ERR_INVALID, "job store: no database path given");
    if (p->busy_timeout_ms < 0)
        return util_errf(err, errlen, STORE_ERR_INVALID, "job store: negative busy timeout");
    const store__backend *b;
    const char *location;
    int rc = pick_backend(p->path, &b, &location, err, errlen);
    if (rc != STORE_OK)
        return rc;
    store *s = calloc(1, sizeof *s);
    if (!s)
        return util_errf(err, errlen, STORE_ERR_NOMEM, "out of memory");
    s->backend = b;
    rc = b->open(&s->state, location, p, err, errlen);
    if (rc != STORE_OK)
        goto cleanup;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        b->close(s->state);
        rc = util_errf(err, errlen, STORE_ERR_NOMEM, "cannot create a mutex");
        goto cleanup;
    }
    *out = s;
    return STORE_OK;
cleanup:
    free(s);
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    s->backend->close(s->state);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *store_backend_name(const store *s)
{
    return s->backend->name;
}

/* ---- argument checks ----------------------------------------------------- */

static int check_id(const char *id, char *err, size_t errlen)
{
    if (!store_is_job_id(id))
        return util_errf(err, errlen, STORE_ERR_INVALID, "'%.64s' is not a job id",
                         id ? id : "(null)");
    return STORE_OK;
}

static int check_text(const char *field, const char *v, size_t limit, char *err, size_t errlen)
{
    if (v && strnlen(v, (size_t)limit + 1) > limit)
        return util_errf(err, errlen, STORE_ERR_INVALID, "%s is longer than %zu bytes", field,
                         (size_t)limit);
    return STORE_OK;
}

static bool is_pct(double v)
{
    return !isnan(v) && v >= 0 && v <= 100;
}

static int check_new_job(const store_job *f, char *err, size_t errlen)
{
    /* A caller-chosen id names a directory on disk too, so only the exact
     * form the store itself generates is accepted. */
    if (f->id && !store_is_job_id(f->id))
        return util_errf(err, errlen, STORE_ERR_INVALID, "'%.64s' is not a job id", f->id);
    const struct { const char *name; const char *v; } texts[] = {
        {"audio_path", f->audio_path}, {"model_size", f->model_size}, {"engine", f->engine},
        {"language", f->language},     {"source_url", f->source_url}, {"format", f->format},
        {"original_name", f->original_name}, {"diarization_engine", f->diarization_engine},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int rc = check_text(texts[i].name, texts[i].v, STORE_MAX_FIELD, err, errlen);
        if (rc != STORE_OK)
            return rc;
    }
    if (f->min_speakers < 0 || f->max_speakers < 0)
        return util_errf(err, errlen, STORE_ERR_INVALID, "min_speakers and max_speakers must "
                         "not be negative");
    if (f->min_speakers && f->max_speakers && f->min_speakers > f->max_speakers)
        return util_errf(err, errlen, STORE_ERR_INVALID,
                         "min_speakers (%d) is greater than max_speakers (%d)", f->min_speakers,
                         f->max_speakers);
    return STORE_OK;
}

/* The fields each outcome needs, and the limits on all of them. */
static int check_result(const store_job_result *r, char *err, size_t errlen)
{
    if (r->status != STORE_STATUS_COMPLETED && r->status != STORE_STATUS_PARTIAL &&
        r->status != STORE_STATUS_ERROR)
        return util_errf(err, errlen, STORE_ERR_INVALID, "a job cannot finish as '%s'",
                         store_status_name(r->status));
    if (r->status != STORE_STATUS_ERROR && !r->result_text)
        return util_errf(err, errlen, STORE_ERR_INVALID, "a %s job needs result_text",
                         store_status_name(r->status));
    if (r->status == STORE_STATUS_ERROR && !r->error_message)
        return util_errf(err, errlen, STORE_ERR_INVALID, "an error job needs error_message");
    if (r->status == STORE_STATUS_PARTIAL && !r->diarization_error)
        return util_errf(err, errlen, STORE_ERR_INVALID, "a partial job needs diarization_error");
    int rc = check_text("result_text", r->result_text, STORE_MAX_RESULT_TEXT, err, errlen);
    const struct { const char *name; const char *v; } texts[] = {
        {"detected_language", r->detected_language}, {"error_message", r->error_message},
        {"error_code", r->error_code}, {"diarization_error", r->diarization_error},
        {"diarization_error_code", r->diarization_error_code},
    };
    for (size_t i = 0; rc == STORE_OK && i < sizeof texts / sizeof texts[0]; i++)
        rc = check_text(texts[i].name, texts[i].v, STORE_MAX_FIELD, err, errlen);
    if (rc == STORE_OK && r->speaker_count < 0)
        rc = util_errf(err, errlen, STORE_ERR_INVALID, "speaker_count must not be negative");
    if (rc == STORE_OK && (isnan(r->audio_duration) || isnan(r->processing_time)))
        rc = util_errf(err, errlen, STORE_ERR_INVALID, "durations must be numbers");
    return rc;
}

/* ---- calls ----------------------------------------------------------------- */

#define LOCKED(s, call)                                                                        \
    do {                                                                                       \
        pthread_mutex_lock(&(s)->lock);                                                        \
        rc = (call);                                                                           \
        pthread_mutex_unlock(&(s)->lock);                                                      \
    } while (0)

/* Keeps the "out-parameter NULL on failure" promise whatever a backend did. */
static int settle(int rc, store_job **out)
{
    if (rc != STORE_OK && out && *out) {
        store_job_free(*out);
        *out = NULL;
    }
    return rc;
}

int store_create_job(store *s, const store_job *fields, store_job **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    if (!fields)
        return util_errf(err, errlen, STORE_ERR_INVALID, "no job fields given");
    int rc = check_new_job(fields, err, errlen);
    if (rc != STORE_OK)
        return rc;
    LOCKED(s, s->backend->create_job(s->state, fields, out, err, errlen));
    return settle(rc, out);
}

int store_get_job(store *s, const char *id, store_job **out, char *err, size_t errlen)
{
    *out = NULL;
    int rc = check_id(id, err, errlen);
    if (rc != STORE_OK)
        return rc;
    LOCKED(s, s->backend->get_job(s->state, id, out, err, errlen));
    return settle(rc, out);
}

int store_list_jobs(store *s, const store_list_params *p, store_job_list **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    store_list_params d = store_default_list_params();
    if (!p)
        p = &d;
    int limit = p->limit == 0 ? STORE_LIST_DEFAULT_LIMIT : p->limit;
    if (limit < 1 || limit > STORE_LIST_MAX_LIMIT)
        return util_errf(err, errlen, STORE_ERR_INVALID, "limit must be between 1 and %d, got %d",
                         STORE_LIST_MAX_LIMIT, p->limit);
    if (p->has_status && ((int)p->status < 0 || p->status >= STORE_STATUS_COUNT))
        return util_errf(err, errlen, STORE_ERR_INVALID, "unknown status filter %d",
                         (int)p->status);
    char ts[STORE__TS_LEN + 1], id[STORE_ID_LEN + 1];
    if (p->cursor && !store__cursor_decode(p->cursor, ts, id))
        return util_errf(err, errlen, STORE_ERR_INVALID, "invalid cursor '%.80s'", p->cursor);
    int rc;
    LOCKED(s, s->backend->list_jobs(s->state, p->has_status ? &p->status : NULL, limit,
                                    p->cursor ? ts : NULL, p->cursor ? id : NULL, out, err,
                                    errlen));
    if (rc != STORE_OK && *out) {
        store_job_list_free(*out);
        *out = NULL;
    }
    return rc;
}

int store_count_by_status(store *s, long long counts[STORE_STATUS_COUNT], char *err,
                          size_t errlen)
{
    memset(counts, 0, sizeof(long long) * STORE_STATUS_COUNT);
    int rc;
    LOCKED(s, s->backend->count_by_status(s->state, counts, err, errlen));
    if (rc != STORE_OK)
        memset(counts, 0, sizeof(long long) * STORE_STATUS_COUNT);
    return rc;
}

int store_delete_job(store *s, const char *id, char *err, size_t errlen)
{
    int rc = check_id(id, err, errlen);
    if (rc != STORE_OK)
        return rc;
    LOCKED(s, s->backend->delete_job(s->state, id, err, errlen));
    return rc;
}

int store_claim_next(store *s, const char *worker_name, store_job **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    int rc = check_text("worker name", worker_name, STORE_MAX_FIELD, err, errlen);
    if (rc != STORE_OK)
        return rc;
    LOCKED(s, s->backend->claim_next(s->state, worker_name, out, err, errlen));
    return settle(rc, out);
}

int store_update_progress(store *s, const char *id, double progress, const char *phase,
                          double phase_pct, char *err, size_t errlen)
{
    int rc = check_id(id, err, errlen);
    if (rc == STORE_OK && (!is_pct(progress) || !is_pct(phase_pct)))
        rc = util_errf(err, errlen, STORE_ERR_INVALID,
                       "progress and phase percentage must be between 0 and 100");
    if (rc == STORE_OK)
        rc = check_text("progress_phase", phase, STORE_MAX_FIELD, err, errlen);
    if (rc != STORE_OK)
        return rc;
    LOCKED(s, s->backend->update_progress(s->state, id, progress, phase, phase_pct, err, errlen));
    return rc;
}

int store_finish_job(store *s, const char *id, const store_job_result *r, store_job **out,
                     char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    int rc = check_id(id, err, errlen);
    if (rc == STORE_OK && !r)
        rc = util_errf(err, errlen, STORE_ERR_INVALID, "no job result given");
    if (rc == STORE_OK)
        rc = check_result(r, err, errlen);
    if (rc != STORE_OK)
        return rc;
    LOCKED(s, s->backend->finish_job(s->state, id, r, out, err, errlen));
    return settle(rc, out);
}

int store_set_status(store *s, const char *id, store_status to, store_job **out, char *err,
                     size_t errlen)
{
    if (out)
        *out = NULL;
    int rc = check_id(id, err, errlen);
    if (rc == STORE_OK && ((int)to < 0 || to >= STORE_STATUS_COUNT))
        rc = util_errf(err, errlen, STORE_ERR_INVALID, "unknown status %d", (int)to);
    if (rc != STORE_OK)
        return rc;
    LOCKED(s, s->backend->set_status(s->state, id, to, out, err, errlen));
    return settle(rc, out);
}

int store_requeue_interrupted(store *s, int *count, char *err, size_t errlen)
{
    int n = 0, rc;
    LOCKED(s, s->backend->requeue_interrupted(s->state, &n, err, errlen));
    if (count)
        *count = rc == STORE_OK ? n : 0;
    return rc;
}
