/* sqlite_jobs: creating, reading, listing, counting and deleting job rows.
 * Invariant: created_at is strictly increasing over the jobs of a database —
 * a new job gets max(now, newest created_at + 1 ms), chosen inside the same
 * write transaction as its insert — so (created_at) alone orders jobs
 * totally: claims are FIFO even for jobs created in the same millisecond,
 * and list cursors never straddle a tie. The price is that a burst of more
 * than 1,000 jobs a second runs the timestamps slightly ahead of the clock.
 * A job's id is the store's own random one or, when the caller brings one
 * (store_new_job_id, to name a directory first), that id provided no job
 * has it yet.
 */
#include "store/sqlite_internal.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* The newest created_at plus 1 ms, or now if that is later. */
static int next_created_at(store__sqlite *q, char ts[STORE__TS_LEN + 1], char *err,
                           size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(q, &st, err, errlen, "SELECT MAX(created_at) FROM jobs");
    if (rc != STORE_OK)
        return rc;
    long long now = store__now_ms(), last;
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        if (store__parse_ts((const char *)sqlite3_column_text(st, 0), &last) && last >= now)
            now = last + 1;
        src = SQLITE_DONE;
    }
    rc = src == SQLITE_DONE ? STORE_OK : store__sqlite_fail(q, src, "reading jobs", err, errlen);
    sqlite3_finalize(st);
    store__format_ts(now, ts);
    return rc;
}

static int insert_job(store__sqlite *q, const store_job *f, const char *id, const char *ts,
                      store_job **out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(
        q, &st, err, errlen,
        "INSERT INTO jobs (id, status, created_at, updated_at, audio_path, model_size, engine,"
        " language, source_url, diarize, min_speakers, max_speakers, format, original_name,"
        " no_cache, diarization_engine)"
        " VALUES (?1, 'queued', ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        " RETURNING %s",
        q->columns);
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ts, -1, SQLITE_STATIC);
    store__sqlite_bind_text(st, 3, f->audio_path);
    store__sqlite_bind_text(st, 4, f->model_size);
    store__sqlite_bind_text(st, 5, f->engine);
    store__sqlite_bind_text(st, 6, f->language);
    store__sqlite_bind_text(st, 7, f->source_url);
    sqlite3_bind_int(st, 8, f->diarize ? 1 : 0);
    store__sqlite_bind_int_or_null(st, 9, f->min_speakers);
    store__sqlite_bind_int_or_null(st, 10, f->max_speakers);
    store__sqlite_bind_text(st, 11, f->format);
    store__sqlite_bind_text(st, 12, f->original_name);
    sqlite3_bind_int(st, 13, f->no_cache ? 1 : 0);
    store__sqlite_bind_text(st, 14, f->diarization_engine);
    rc = store__sqlite_step_one(q, st, out, "inserting a job", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

/* A caller-chosen id must be new. Checked inside the IMMEDIATE transaction
 * of the insert, so no other writer can take the id in between; the
 * primary key would refuse a duplicate anyway, but only with a vague
 * constraint message. */
static int check_id_unused(store__sqlite *q, const char *id, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(q, &st, err, errlen, "SELECT 1 FROM jobs WHERE id = ?1");
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = util_errf(err, errlen, STORE_ERR_CONFLICT, "job %s already exists", id);
    else if (src != SQLITE_DONE)
        rc = store__sqlite_fail(q, src, "checking a job id", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int store__sqlite_create_job(void *state, const store_job *fields, store_job **out, char *err,
                             size_t errlen)
{
    store__sqlite *q = state;
    char id[STORE_ID_LEN + 1], ts[STORE__TS_LEN + 1];
    int rc = STORE_OK;
    if (fields->id) /* store.c checked its form */
        util_strlcpy(id, fields->id, sizeof id);
    else
        rc = store_new_job_id(id, err, errlen);
    if (rc == STORE_OK)
        rc = store__sqlite_exec(q, "BEGIN IMMEDIATE", err, errlen);
    if (rc != STORE_OK)
        return rc;
    if (fields->id)
        rc = check_id_unused(q, id, err, errlen);
    if (rc == STORE_OK)
        rc = next_created_at(q, ts, err, errlen);
    if (rc == STORE_OK)
        rc = insert_job(q, fields, id, ts, out, err, errlen);
    if (rc == STORE_OK)
        rc = store__sqlite_exec(q, "COMMIT", err, errlen);
    if (rc != STORE_OK) {
        store__sqlite_rollback(q);
        store_job_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The hot path: the cached statement saves the prepare (most of the cost of
 * a primary-key lookup). It is also what explain_miss and set_status use,
 * always after any previous use was released. */
int store__sqlite_get_job(void *state, const char *id, store_job **out, char *err,
                          size_t errlen)
{
    store__sqlite *q = state;
    *out = NULL;
    int rc = store__sqlite_prepare_cached(q, &q->get_job, err, errlen,
                                          "SELECT %s FROM jobs WHERE id = ?1", q->columns);
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(q->get_job, 1, id, -1, SQLITE_STATIC);
    rc = store__sqlite_step_one(q, q->get_job, out, "reading a job", err, errlen);
    store__sqlite_release(q->get_job);
    if (rc == STORE_OK && !*out)
        rc = util_errf(err, errlen, STORE_ERR_NOT_FOUND, "no job %s", id);
    return rc;
}

/* Appends the current row of st to l. */
static int append_row(store_job_list *l, size_t *alloc, sqlite3_stmt *st)
{
    store_job *items = util_array_reserve(l->items, alloc, l->count, sizeof *items);
    if (!items)
        return STORE_ERR_NOMEM;
    l->items = items;
    memset(&items[l->count], 0, sizeof items[0]);
    l->count++; /* counted before reading, so list_free frees a half-read row */
    return store__sqlite_read_row(st, &items[l->count - 1]);
}

/* Reads up to limit + 1 rows: the extra one only says another page exists. */
static int collect_page(store__sqlite *q, sqlite3_stmt *st, int limit, store_job_list *l,
                        char *err, size_t errlen)
{
    size_t alloc = 0;
    bool more = false;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (l->count == (size_t)limit) {
            more = true;
            break;
        }
        int rc = append_row(l, &alloc, st);
        if (rc != STORE_OK)
            return util_errf(err, errlen, rc, "%s: listing jobs: %s", q->path,
                             rc == STORE_ERR_NOMEM ? "out of memory" : "malformed job row");
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return store__sqlite_fail(q, src, "listing jobs", err, errlen);
    if (more) {
        const store_job *last = &l->items[l->count - 1];
        l->next_cursor = store__cursor_encode(last->created_at, last->id);
        if (!l->next_cursor)
            return util_errf(err, errlen, STORE_ERR_NOMEM, "out of memory");
    }
    return STORE_OK;
}

int store__sqlite_list_jobs(void *state, const store_status *status, int limit,
                            const char *after_ts, const char *after_id, store_job_list **out,
                            char *err, size_t errlen)
{
    store__sqlite *q = state;
    *out = NULL;
    sqlite3_stmt *st = NULL;
    /* Conditions are left out rather than switched off with "?1 IS NULL OR",
     * which would keep SQLite from walking the (status,) created_at indexes. */
    int rc = store__sqlite_prepare(
        q, &st, err, errlen,
        "SELECT %s FROM jobs WHERE 1%s%s ORDER BY created_at DESC, id DESC LIMIT ?4",
        q->columns, status ? " AND status = ?1" : "",
        after_ts ? " AND (created_at, id) < (?2, ?3)" : "");
    if (rc != STORE_OK)
        return rc;
    store__sqlite_bind_text(st, 1, status ? store_status_name(*status) : NULL);
    store__sqlite_bind_text(st, 2, after_ts);
    store__sqlite_bind_text(st, 3, after_id);
    sqlite3_bind_int(st, 4, limit + 1);
    store_job_list *l = calloc(1, sizeof *l);
    rc = l ? collect_page(q, st, limit, l, err, errlen)
           : util_errf(err, errlen, STORE_ERR_NOMEM, "out of memory");
    sqlite3_finalize(st);
    if (rc != STORE_OK) {
        store_job_list_free(l);
        return rc;
    }
    *out = l;
    return STORE_OK;
}

int store__sqlite_count_by_status(void *state, long long counts[STORE_STATUS_COUNT], char *err,
                                  size_t errlen)
{
    store__sqlite *q = state;
    int rc = store__sqlite_prepare_cached(q, &q->count_by_status, err, errlen,
                                          "SELECT status, COUNT(*) FROM jobs GROUP BY status");
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = q->count_by_status;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        store_status s;
        if (store_status_parse((const char *)sqlite3_column_text(st, 0), &s))
            counts[s] = sqlite3_column_int64(st, 1);
    }
    rc = src == SQLITE_DONE ? STORE_OK : store__sqlite_fail(q, src, "counting jobs", err, errlen);
    store__sqlite_release(st);
    return rc;
}

int store__sqlite_delete_job(void *state, const char *id, char *err, size_t errlen)
{
    store__sqlite *q = state;
    sqlite3_stmt *st = NULL;
    int rc = store__sqlite_prepare(q, &st, err, errlen, "DELETE FROM jobs WHERE id = ?1");
    if (rc != STORE_OK)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = store__sqlite_fail(q, src, "deleting a job", err, errlen);
    else if (sqlite3_changes(q->db) == 0)
        rc = util_errf(err, errlen, STORE_ERR_NOT_FOUND, "no job %s", id);
    sqlite3_finalize(st);
    return rc;
}
