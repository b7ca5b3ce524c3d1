/* sqlite_backend: the SQLite job store — opening the database file, the
 * connection settings that carry the durability promise of store.h, and the
 * helpers the other sqlite_*.c files share.
 *
 * Settings, and why: WAL so readers (GET /jobs) never wait for the writer
 * and a commit is one append; synchronous=NORMAL because in WAL mode a commit
 * is then in the OS before the call returns, which survives kill -9 (power
 * loss is out of scope); a busy timeout so several handles or processes
 * queue on the write lock instead of failing; foreign_keys on so any later
 * table referencing jobs is checked. Invariant: an open store__sqlite is in
 * WAL mode and at STORE_SCHEMA_VERSION, and between calls none of its
 * statements is mid-step (cached ones are reset after every use).
 */
#include "store/sqlite_internal.h"
#include "util/util.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int store__sqlite_fail(store__sqlite *q, int sqlite_rc, const char *what, char *err,
                       size_t errlen)
{
    int code;
    switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = STORE_ERR_BUSY; break;
    case SQLITE_NOMEM: code = STORE_ERR_NOMEM; break;
    default: code = STORE_ERR_DB; break;
    }
    return util_errf(err, errlen, code, "%s: %s: %s", q->path, what,
                     q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(sqlite_rc));
}

/* Builds the SQL from fmt and prepares it with SQLite's prepare flags. */
static int prepare_va(store__sqlite *q, sqlite3_stmt **st, unsigned flags, char *err,
                      size_t errlen, const char *fmt, va_list ap)
{
    *st = NULL;
    util_buf sql = UTIL_BUF_INIT(0);
    int rc = util_buf_vprintf(&sql, fmt, ap);
    if (rc != UTIL_OK) {
        util_buf_free(&sql);
        return util_errf(err, errlen, STORE_ERR_NOMEM, "out of memory");
    }
    rc = sqlite3_prepare_v3(q->db, sql.data, (int)sql.len, flags, st, NULL);
    util_buf_free(&sql);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return store__sqlite_fail(q, rc, "preparing a query", err, errlen);
    }
    return STORE_OK;
}

int store__sqlite_prepare(store__sqlite *q, sqlite3_stmt **st, char *err, size_t errlen,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = prepare_va(q, st, 0, err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

int store__sqlite_prepare_cached(store__sqlite *q, sqlite3_stmt **slot, char *err,
                                 size_t errlen, const char *fmt, ...)
{
    if (*slot)
        return STORE_OK;
    /* PERSISTENT: SQLite keeps a long-lived statement out of its lookaside
     * memory, which is meant for short-lived ones. */
    va_list ap;
    va_start(ap, fmt);
    int rc = prepare_va(q, slot, SQLITE_PREPARE_PERSISTENT, err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

void store__sqlite_release(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st); /* its return value repeats the last step's error, already handled */
    sqlite3_clear_bindings(st);
}

int store__sqlite_exec(store__sqlite *q, const char *sql, char *err, size_t errlen)
{
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return store__sqlite_fail(q, rc, sql, err, errlen);
    return STORE_OK;
}

void store__sqlite_rollback(store__sqlite *q)
{
    if (!sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

int store__sqlite_step_one(store__sqlite *q, sqlite3_stmt *st, store_job **out,
                           const char *what, char *err, size_t errlen)
{
    *out = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        store_job *j = calloc(1, sizeof *j);
        int r = j ? store__sqlite_read_row(st, j) : STORE_ERR_NOMEM;
        if (r != STORE_OK) {
            store_job_free(j);
            return util_errf(err, errlen, r, "%s: %s: %s", q->path, what,
                             r == STORE_ERR_NOMEM ? "out of memory" : "malformed job row");
        }
        *out = j;
        rc = sqlite3_step(st); /* RETURNING statements finish their work here */
    }
    if (rc != SQLITE_DONE) {
        store_job_free(*out);
        *out = NULL;
        return store__sqlite_fail(q, rc, what, err, errlen);
    }
    return STORE_OK;
}

/* A directory cannot be a database, and SQLite's own message for one is
 * vague; creating the parent directory lets a fresh data dir just work. */
static int prepare_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return util_errf(err, errlen, STORE_ERR_OPEN, "%s: is a directory, not a job database",
                         path);
    char dir[PATH_MAX];
    util_path_dirname(path, dir, sizeof dir);
    char why[PATH_MAX + 128];
    if (util_mkdir_p(dir, why, sizeof why) != UTIL_OK)
        return util_errf(err, errlen, STORE_ERR_OPEN, "%s: %s", path, why);
    return STORE_OK;
}

/* journal_mode answers with the mode in force, which is not WAL when the
 * file cannot do it; durability depends on it, so check. */
static int set_wal(store__sqlite *q, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int out = STORE_OK;
    if (rc != SQLITE_ROW)
        out = util_errf(err, errlen, STORE_ERR_OPEN, "%s: %s", q->path, sqlite3_errmsg(q->db));
    else if (sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
        out = util_errf(err, errlen, STORE_ERR_OPEN, "%s: cannot switch to WAL mode (got '%s')",
                        q->path, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static int configure(store__sqlite *q, const store_params *p, char *err, size_t errlen)
{
    sqlite3_busy_timeout(q->db, p->busy_timeout_ms);
    int rc = set_wal(q, err, errlen);
    if (rc != STORE_OK)
        return rc;
    const char *pragmas = "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
    if (sqlite3_exec(q->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
        return util_errf(err, errlen, STORE_ERR_OPEN, "%s: %s", q->path, sqlite3_errmsg(q->db));
    return STORE_OK;
}

static void sqlite_close(void *state)
{
    store__sqlite *q = state;
    if (!q)
        return;
    /* The cached statements are the only ones that outlive a call;
     * sqlite3_close refuses to close a connection that still has any. */
    sqlite3_finalize(q->get_job);
    sqlite3_finalize(q->count_by_status);
    sqlite3_close(q->db);
    free(q->path);
    free(q->columns);
    free(q);
}

static int sqlite_open(void **state, const char *location, const store_params *p, char *err,
                       size_t errlen)
{
    *state = NULL;
    int rc = prepare_path(location, err, errlen);
    if (rc != STORE_OK)
        return rc;
    store__sqlite *q = calloc(1, sizeof *q);
    if (!q || !(q->path = util_strdup(location)) || !(q->columns = store__sqlite_column_list())) {
        rc = util_errf(err, errlen, STORE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    /* NOMUTEX: store.c already serialises the calls on a handle. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int src = sqlite3_open_v2(location, &q->db, flags, NULL);
    if (src != SQLITE_OK) {
        rc = util_errf(err, errlen, STORE_ERR_OPEN, "%s: cannot open: %s", location,
                       q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(src));
        goto cleanup;
    }
    rc = configure(q, p, err, errlen);
    if (rc == STORE_OK)
        rc = store__sqlite_migrate(q, err, errlen);
    if (rc != STORE_OK)
        goto cleanup;
    *state = q;
    return STORE_OK;
cleanup:
    sqlite_close(q);
    return rc;
}

const store__backend store__sqlite_backend = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .create_job = store__sqlite_create_job,
    .get_job = store__sqlite_get_job,
    .list_jobs = store__sqlite_list_jobs,
    .count_by_status = store__sqlite_count_by_status,
    .delete_job = store__sqlite_delete_job,
    .claim_next = store__sqlite_claim_next,
    .update_progress = store__sqlite_update_progress,
    .finish_job = store__sqlite_finish_job,
    .set_status = store__sqlite_set_status,
    .requeue_interrupted = store__sqlite_requeue_interrupted,
};
