/* sqlite_schema: the jobs table's history as a list of forward migrations,
 * and the loop that applies them. PRAGMA user_version holds the version a
 * database is at. Invariant: each step runs in its own IMMEDIATE transaction
 * that re-reads the version first and sets the new one before committing, so
 * two processes opening an old database at once migrate it exactly once, and
 * a failed step leaves the database at the previous version. Steps are never
 * edited once released: a change is a new step.
 */
#include "store/sqlite_internal.h"
#include "util/util.h"

#include <stdio.h>

typedef struct {
    const char *what; /* for error messages */
    const char *sql;
} migration;

/* steps[v] takes a database from version v to v + 1. */
static const migration steps[] = {
    {"create the jobs table",
     "CREATE TABLE jobs ("
     " id TEXT PRIMARY KEY NOT NULL,"
     " status TEXT NOT NULL CHECK (status IN ('queued', 'downloading', 'processing',"
     "   'completed', 'partial', 'error', 'cancelled')),"
     " audio_path TEXT, model_size TEXT, engine TEXT, language TEXT, source_url TEXT,"
     " created_at TEXT NOT NULL, started_at TEXT, completed_at TEXT, updated_at TEXT NOT NULL,"
     " result_text TEXT, detected_language TEXT, error_message TEXT, error_code TEXT,"
     " download_progress REAL NOT NULL DEFAULT 0,"
     " diarize INTEGER NOT NULL DEFAULT 0, min_speakers INTEGER, max_speakers INTEGER,"
     " progress REAL NOT NULL DEFAULT 0, progress_phase TEXT,"
     " progress_phase_pct REAL NOT NULL DEFAULT 0,"
     " speaker_count INTEGER, diarized INTEGER NOT NULL DEFAULT 0,"
     " diarization_error TEXT, diarization_error_code TEXT,"
     " audio_duration REAL, processing_time REAL);"
     "CREATE INDEX jobs_created ON jobs (created_at, id);"},
    /* Workers claim the oldest queued job and /jobs?status= filters: both
     * walk (status, created_at) instead of scanning every finished job.
     * Retry and crash recovery need the claim count and the stage to rerun. */
    {"add attempts, retry_stage and worker, index jobs by status",
     "ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE jobs ADD COLUMN retry_stage TEXT;"
     "ALTER TABLE jobs ADD COLUMN worker TEXT;"
     "CREATE INDEX jobs_status_created ON jobs (status, created_at, id);"},
    /* The server's upload form: the result format a client asked for (the
     * default of GET /jobs/{id}/result) and the name of the uploaded file,
     * shown as the transcript's source. Both nullable: older jobs have
     * neither, and NULL means "unset" to every reader. */
    {"add format and original_name",
     "ALTER TABLE jobs ADD COLUMN format TEXT;"
     "ALTER TABLE jobs ADD COLUMN original_name TEXT;"},
    /* Jobs submitted by link: whether the worker may use the download cache.
     * Older jobs were all uploads, for which it means nothing; 0 is "use it". */
    {"add no_cache", "ALTER TABLE jobs ADD COLUMN no_cache INTEGER NOT NULL DEFAULT 0;"},
    {"add diarization_engine", "ALTER TABLE jobs ADD COLUMN diarization_engine TEXT;"},
};

_Static_assert(sizeof steps / sizeof steps[0] == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

static int read_version(store__sqlite *q, int *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Applies steps[v] and records v + 1, inside the caller's transaction. */
static int apply_step(store__sqlite *q, int v, char *err, size_t errlen)
{
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version = %d", v + 1);
    int rc = sqlite3_exec(q->db, steps[v].sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(q->db, set, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return util_errf(err, errlen, STORE_ERR_OPEN,
                         "%s: migrating the schema from version %d to %d (%s): %s", q->path, v,
                         v + 1, steps[v].what, sqlite3_errmsg(q->db));
    return STORE_OK;
}

/* One step, or none when the database is current. *done reports which. */
static int migrate_once(store__sqlite *q, bool *done, char *err, size_t errlen)
{
    int v = 0, rc = sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = read_version(q, &v);
    if (rc != SQLITE_OK) {
        store__sqlite_rollback(q);
        return util_errf(err, errlen, STORE_ERR_OPEN, "%s: %s", q->path, sqlite3_errmsg(q->db));
    }
    int out = STORE_OK;
    *done = v >= STORE_SCHEMA_VERSION;
    if (v > STORE_SCHEMA_VERSION)
        out = util_errf(err, errlen, STORE_ERR_VERSION,
                        "%s: database schema version %d is newer than this Cesar supports "
                        "(version %d); use a newer Cesar or another database file",
                        q->path, v, STORE_SCHEMA_VERSION);
    else if (v < 0)
        out = util_errf(err, errlen, STORE_ERR_OPEN, "%s: invalid schema version %d", q->path, v);
    else if (!*done)
        out = apply_step(q, v, err, errlen);
    if (out != STORE_OK) {
        store__sqlite_rollback(q);
        return out;
    }
    if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        out = util_errf(err, errlen, STORE_ERR_OPEN, "%s: committing the schema: %s", q->path,
                        sqlite3_errmsg(q->db));
        store__sqlite_rollback(q);
    }
    return out;
}

int store__sqlite_migrate(store__sqlite *q, char *err, size_t errlen)
{
    bool done = false;
    while (!done) {
        int rc = migrate_once(q, &done, err, errlen);
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}
