/* sqlite_lifecycle: the status changes of a job — claim, progress, finish,
 * the transitions of store_set_status, and crash recovery. Invariant: the
 * check of a job's current status and the write that depends on it are one
 * atomic step (a single UPDATE ... WHERE status ..., or an IMMEDIATE
 * transaction), so two handles or processes can never both act on the same
 * state — above all, two workers never claim the same job.
 */
#include "store/sqlite_internal.h"
#include "util/util.h"

#include <string.h>

/* What re-queuing a job that was running resets: it starts over, but
 * attempts keeps counting. */
#define REQUEUE_SET                                                                          \
    "status = 'queued', started_at = NULL, worker = NULL, progress = 0,"                    \
    " progress_phase = NULL, progress_phase_pct = 0"

/* Explains why an UPDATE guarded by a status matched nothing: the job is
 * missing (NOT_FOUND) or in another status (CONFLICT, naming it). */
static int explain_miss(store__sqlite *q, const char *id, const char *wanted, char *err,
                        size_t errlen)
{
    store_job *j = NULL;
    int rc = store__sqlite_get_job(q, id, &j, err, errlen);
    if (rc != STORE_OK)
        return rc;
    rc = util_errf(err, errlen, STORE_ERR_CONFLICT, "job %s is %s, not %s", id,
                   store_status_name(j->status), wanted);
    store_job_free(j);
    return rc;
}

int store__sqlite_claim_next(void *state, const char *worker, store_job **out, char *err,
                             size_t errlen)
{
    store__sqlite *q = state;
    char now[STORE__TS_LEN + 1];
    store__format_ts(store__now_ms(), now);
    sqlite3_stmt *st = NULL;
    /* One statement: choosing and taking the job cannot be separated by
     * another writer, since SQLite runs a write statement under its lock. */
    int rc = store__sqlite_prepare(
        q, &st, err, errlen,
        "UPDATE jobs SET status = 'processing', started_at = ?1, updated_at = ?1,"
        " attempts = attempts + 1, worker = ?2, progress = 0, progress_phase = NULL,"
        " progress_phase_pct = 0"
        " WHERE id = (SELECT id FROM jobs WHERE status = 'queued'"
        "             ORDER BY created_at, id LIMIT 1) AND status = 'queued'"
        " RETURNING %s",
        q->columns);
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    store__sqlite_bind_text(st, 2, worker);
    rc = store__sqlite_step_one(q, st, out, "claiming a job", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int store__sqlite_update_progress(void *state, const char *id, double progress,
                                  const char *phase, double phase_pct, char *err,
                                  size_t errlen)
{
    store__sqlite *q = state;
    char now[STORE__TS_LEN + 1];
    store__format_ts(store__now_ms(), now);
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(
        q, &st, err, errlen,
        "UPDATE jobs SET progress = ?2, progress_phase = ?3, progress_phase_pct = ?4,"
        " download_progress = CASE WHEN ?3 = 'downloading' THEN ?4 ELSE download_progress END,"
        " updated_at = ?5 WHERE id = ?1 AND status IN ('processing', 'downloading')");
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, progress);
    store__sqlite_bind_text(st, 3, phase);
    sqlite3_bind_double(st, 4, phase_pct);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    int changed = sqlite3_changes(q->db);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return store__sqlite_fail(q, src, "updating progress", err, errlen);
    if (changed == 0)
        return explain_miss(q, id, "processing or downloading", err, errlen);
    return STORE_OK;
}

static void bind_result(sqlite3_stmt *st, const store_job_result *r)
{
    store__sqlite_bind_text(st, 2, store_status_name(r->status));
    store__sqlite_bind_text(st, 3, r->result_text);
    store__sqlite_bind_text(st, 4, r->detected_language);
    store__sqlite_bind_text(st, 5, r->error_message);
    store__sqlite_bind_text(st, 6, r->error_code);
    store__sqlite_bind_int_or_null(st, 7, r->speaker_count);
    sqlite3_bind_int(st, 8, r->diarized ? 1 : 0);
    store__sqlite_bind_text(st, 9, r->diarization_error);
    store__sqlite_bind_text(st, 10, r->diarization_error_code);
    store__sqlite_bind_real_or_null(st, 11, r->audio_duration);
    store__sqlite_bind_real_or_null(st, 12, r->processing_time);
}

int store__sqlite_finish_job(void *state, const char *id, const store_job_result *r,
                             store_job **out, char *err, size_t errlen)
{
    store__sqlite *q = state;
    char now[STORE__TS_LEN + 1];
    store__format_ts(store__now_ms(), now);
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(
        q, &st, err, errlen,
        "UPDATE jobs SET status = ?2, result_text = ?3, detected_language = ?4,"
        " error_message = ?5, error_code = ?6, speaker_count = ?7, diarized = ?8,"
        " diarization_error = ?9, diarization_error_code = ?10, audio_duration = ?11,"
        " processing_time = ?12, completed_at = ?13, updated_at = ?13, retry_stage = NULL,"
        " progress = CASE WHEN ?2 = 'error' THEN progress ELSE 100 END"
        " WHERE id = ?1 AND status IN ('processing', 'downloading') RETURNING %s",
        q->columns);
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    bind_result(st, r);
    sqlite3_bind_text(st, 13, now, -1, SQLITE_STATIC);
    store_job *j = NULL;
    rc = store__sqlite_step_one(q, st, &j, "finishing a job", err, errlen);
    sqlite3_finalize(st);
    if (rc == STORE_OK && !j)
        rc = explain_miss(q, id, "processing or downloading", err, errlen);
    if (out)
        *out = j;
    else
        store_job_free(j);
    return rc;
}

/* The SET clause of a permitted move (?2 is now, ?3 the new status name). */
static const char *transition_set(store_status from, store_status to)
{
    if (to == STORE_STATUS_CANCELLED)
        return "status = 'cancelled', completed_at = ?2";
    if (to != STORE_STATUS_QUEUED)
        return "status = ?3, started_at = COALESCE(started_at, ?2)";
    if (from == STORE_STATUS_ERROR) /* retry everything from scratch */
        return REQUEUE_SET ", completed_at = NULL, retry_stage = NULL, result_text = NULL,"
                           " detected_language = NULL, error_message = NULL, error_code = NULL,"
                           " speaker_count = NULL, diarized = 0, diarization_error = NULL,"
                           " diarization_error_code = NULL, audio_duration = NULL,"
                           " processing_time = NULL, download_progress = 0";
    if (from == STORE_STATUS_PARTIAL) /* keep the transcript, rerun diarization */
        return REQUEUE_SET ", completed_at = NULL, retry_stage = 'diarize', speaker_count = NULL,"
                           " diarized = 0, diarization_error = NULL,"
                           " diarization_error_code = NULL";
    return REQUEUE_SET; /* a running job handed back */
}

static int apply_transition(store__sqlite *q, const char *id, store_status from,
                            store_status to, store_job **out, char *err, size_t errlen)
{
    char now[STORE__TS_LEN + 1];
    store__format_ts(store__now_ms(), now);
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(q, &st, err, errlen,
                                   "UPDATE jobs SET %s, updated_at = ?2 WHERE id = ?1"
                                   " RETURNING %s",
                                   transition_set(from, to), q->columns);
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, store_status_name(to), -1, SQLITE_STATIC);
    rc = store__sqlite_step_one(q, st, out, "changing a job's status", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int store__sqlite_set_status(void *state, const char *id, store_status to, store_job **out,
                             char *err, size_t errlen)
{
    store__sqlite *q = state;
    store_job *cur = NULL, *j = NULL;
    /* IMMEDIATE: the status read below must still hold when we write. */
    int rc = store__sqlite_exec(q, "BEGIN IMMEDIATE", err, errlen);
    if (rc != STORE_OK)
        return rc;
    rc = store__sqlite_get_job(q, id, &cur, err, errlen);
    if (rc == STORE_OK && !store__transition_allowed(cur->status, to))
        rc = util_errf(err, errlen, STORE_ERR_CONFLICT, "job %s cannot go from %s to %s", id,
                       store_status_name(cur->status), store_status_name(to));
    if (rc == STORE_OK)
        rc = apply_transition(q, id, cur->status, to, &j, err, errlen);
    if (rc == STORE_OK)
        rc = store__sqlite_exec(q, "COMMIT", err, errlen);
    if (rc != STORE_OK) {
        store__sqlite_rollback(q);
        store_job_free(j);
        j = NULL;
    }
    store_job_free(cur);
    if (out)
        *out = j;
    else
        store_job_free(j);
    return rc;
}

int store__sqlite_requeue_interrupted(void *state, int *count, char *err, size_t errlen)
{
    store__sqlite *q = state;
    char now[STORE__TS_LEN + 1];
    store__format_ts(store__now_ms(), now);
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(q, &st, err, errlen,
                                   "UPDATE jobs SET " REQUEUE_SET ", updated_at = ?1"
                                   " WHERE status IN ('processing', 'downloading')");
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return store__sqlite_fail(q, src, "re-queuing interrupted jobs", err, errlen);
    *count = sqlite3_changes(q->db);
    return STORE_OK;
}
