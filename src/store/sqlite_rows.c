/* sqlite_rows: the mapping between a row of the jobs table and a store_job,
 * described once in a table of (column, kind, struct offset). Invariant: the
 * column list every query selects or returns is generated from this table,
 * so reading by position cannot drift from what was asked for. */
#include "store/sqlite_internal.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

typedef enum {
    COL_TEXT,      /* char *, NULL stays NULL */
    COL_STATUS,    /* store_status, stored as its name */
    COL_REAL,      /* double, never NULL */
    COL_REAL_NULL, /* double, NULL reads as -1 */
    COL_INT_NULL,  /* int, NULL reads as 0 */
    COL_BOOL,      /* bool, stored as 0/1 */
} col_kind;

#define COL(name, kind) {#name, kind, offsetof(store_job, name)}

static const struct {
    const char *name;
    col_kind kind;
    size_t off;
} columns[] = {
    COL(id, COL_TEXT),
    COL(status, COL_STATUS),
    COL(audio_path, COL_TEXT),
    COL(model_size, COL_TEXT),
    COL(engine, COL_TEXT),
    COL(language, COL_TEXT),
    COL(source_url, COL_TEXT),
    COL(created_at, COL_TEXT),
    COL(started_at, COL_TEXT),
    COL(completed_at, COL_TEXT),
    COL(updated_at, COL_TEXT),
    COL(result_text, COL_TEXT),
    COL(detected_language, COL_TEXT),
    COL(error_message, COL_TEXT),
    COL(error_code, COL_TEXT),
    COL(download_progress, COL_REAL),
    COL(diarize, COL_BOOL),
    COL(min_speakers, COL_INT_NULL),
    COL(max_speakers, COL_INT_NULL),
    COL(progress, COL_REAL),
    COL(progress_phase, COL_TEXT),
    COL(progress_phase_pct, COL_REAL),
    COL(speaker_count, COL_INT_NULL),
    COL(diarized, COL_BOOL),
    COL(diarization_error, COL_TEXT),
    COL(diarization_error_code, COL_TEXT),
    COL(audio_duration, COL_REAL_NULL),
    COL(processing_time, COL_REAL_NULL),
    COL(attempts, COL_INT_NULL),
    COL(retry_stage, COL_TEXT),
    COL(worker, COL_TEXT),
    COL(format, COL_TEXT),
    COL(original_name, COL_TEXT),
    COL(no_cache, COL_BOOL),
    COL(diarization_engine, COL_TEXT),
};

#define NCOLUMNS (sizeof columns / sizeof columns[0])

char *store__sqlite_column_list(void)
{
    util_buf b = UTIL_BUF_INIT(0);
    for (size_t i = 0; i < NCOLUMNS; i++) {
        if (util_buf_printf(&b, "%s%s", i ? ", " : "", columns[i].name) != UTIL_OK) {
            util_buf_free(&b);
            return NULL;
        }
    }
    return util_buf_take(&b);
}

/* Copies a text column; the blob length keeps embedded bytes exact. */
static int read_text(sqlite3_stmt *st, int i, char **dst)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM ? STORE_ERR_NOMEM
                                                                       : STORE_OK;
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    *dst = malloc(n + 1);
    if (!*dst)
        return STORE_ERR_NOMEM;
    memcpy(*dst, t, n);
    (*dst)[n] = '\0';
    return STORE_OK;
}

static int read_column(sqlite3_stmt *st, int i, void *field, col_kind kind)
{
    bool null = sqlite3_column_type(st, i) == SQLITE_NULL;
    switch (kind) {
    case COL_TEXT:
        return null ? STORE_OK : read_text(st, i, field);
    case COL_STATUS:
        if (!store_status_parse((const char *)sqlite3_column_text(st, i), field))
            return STORE_ERR_DB;
        return STORE_OK;
    case COL_REAL:
        *(double *)field = sqlite3_column_double(st, i);
        return STORE_OK;
    case COL_REAL_NULL:
        *(double *)field = null ? -1.0 : sqlite3_column_double(st, i);
        return STORE_OK;
    case COL_INT_NULL:
        *(int *)field = null ? 0 : sqlite3_column_int(st, i);
        return STORE_OK;
    case COL_BOOL:
        *(bool *)field = sqlite3_column_int(st, i) != 0;
        return STORE_OK;
    }
    return STORE_ERR_DB;
}

int store__sqlite_read_row(sqlite3_stmt *st, store_job *j)
{
    for (size_t i = 0; i < NCOLUMNS; i++) {
        int rc = read_column(st, (int)i, (char *)j + columns[i].off, columns[i].kind);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

int store__sqlite_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (!s)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

int store__sqlite_bind_int_or_null(sqlite3_stmt *st, int idx, int v)
{
    return v <= 0 ? sqlite3_bind_null(st, idx) : sqlite3_bind_int(st, idx, v);
}

int store__sqlite_bind_real_or_null(sqlite3_stmt *st, int idx, double v)
{
    return v < 0 ? sqlite3_bind_null(st, idx) : sqlite3_bind_double(st, idx, v);
}
