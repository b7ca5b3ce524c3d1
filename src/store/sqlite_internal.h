/* sqlite_internal: what the files of the SQLite backend share — the
 * connection state, error mapping, statement and transaction helpers, the
 * row <-> store_job mapping and the operations the vtable points at. Names
 * carry the store__sqlite_ prefix.
 *
 * Every function here runs under the handle's mutex (store.c), so the state
 * and the connection's last error message belong to the current call.
 */
#ifndef CESAR_STORE_SQLITE_INTERNAL_H
#define CESAR_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>

#include "store/store_backend.h"

/* Statements kept prepared for the life of the connection, for the calls a
 * server makes thousands of times a second (GET /jobs/{id}, /health).
 * Preparing one costs more than running it, so each is prepared on first
 * use, reset and unbound after every use (store__sqlite_release: a
 * statement left mid-step would pin a WAL read snapshot), and finalised by
 * close. SQLite re-prepares them by itself if the schema changes. */
typedef struct {
    sqlite3 *db;
    char *path;    /* the database file, for messages */
    char *columns; /* "id, status, ..." in the order store__sqlite_read_row expects */
    sqlite3_stmt *get_job;         /* SELECT <columns> FROM jobs WHERE id = ?1 */
    sqlite3_stmt *count_by_status; /* SELECT status, COUNT(*) ... GROUP BY status */
} store__sqlite;

/* ---- sqlite_backend.c ---------------------------------------------------- */

/* Maps a SQLite result code to a store_err and writes "PATH: WHAT: detail". */
int store__sqlite_fail(store__sqlite *q, int sqlite_rc, const char *what, char *err,
                       size_t errlen);
/* Prepares the statement printf(fmt, ...) builds. */
int store__sqlite_prepare(store__sqlite *q, sqlite3_stmt **st, char *err, size_t errlen,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Like store__sqlite_prepare for a statement cached in *slot (a field of
 * q): prepares it only when *slot is NULL, as a long-lived statement. The
 * statement stays owned by q; hand it back with store__sqlite_release. */
int store__sqlite_prepare_cached(store__sqlite *q, sqlite3_stmt **slot, char *err,
                                 size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Resets a cached statement and clears its bindings, ready for the next
 * call (no bound pointer outlives the call that bound it). NULL-safe. */
void store__sqlite_release(sqlite3_stmt *st);
/* Runs SQL without results (BEGIN IMMEDIATE, COMMIT, ...). */
int store__sqlite_exec(store__sqlite *q, const char *sql, char *err, size_t errlen);
/* ROLLBACK, ignoring errors: only used on a path that already failed. */
void store__sqlite_rollback(store__sqlite *q);
/* Steps st expecting at most one row: fills *out (caller owns it) or leaves
 * it NULL when there is none, then runs the statement to completion. */
int store__sqlite_step_one(store__sqlite *q, sqlite3_stmt *st, store_job **out,
                           const char *what, char *err, size_t errlen);

/* ---- sqlite_schema.c ----------------------------------------------------- */

/* Brings the database up to STORE_SCHEMA_VERSION, one transaction per step. */
int store__sqlite_migrate(store__sqlite *q, char *err, size_t errlen);

/* ---- sqlite_rows.c ------------------------------------------------------- */

/* The column list to SELECT or RETURN. Caller owns it; free with free(). */
char *store__sqlite_column_list(void);
/* Reads the current row (columns as in the list) into j, which must be
 * zeroed; on failure j may hold some strings, which the caller frees. */
int store__sqlite_read_row(sqlite3_stmt *st, store_job *j);
/* Binds s, or NULL when s is NULL. */
int store__sqlite_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Binds v, or NULL when v <= 0 (the C side's "unset"). */
int store__sqlite_bind_int_or_null(sqlite3_stmt *st, int idx, int v);
/* Binds v, or NULL when v < 0 (the C side's "unknown"). */
int store__sqlite_bind_real_or_null(sqlite3_stmt *st, int idx, double v);

/* ---- sqlite_jobs.c and sqlite_lifecycle.c: the vtable's operations ------- */

int store__sqlite_create_job(void *state, const store_job *fields, store_job **out, char *err,
                             size_t errlen);
int store__sqlite_get_job(void *state, const char *id, store_job **out, char *err,
                          size_t errlen);
int store__sqlite_list_jobs(void *state, const store_status *status, int limit,
                            const char *after_ts, const char *after_id, store_job_list **out,
                            char *err, size_t errlen);
int store__sqlite_count_by_status(void *state, long long counts[STORE_STATUS_COUNT], char *err,
                                  size_t errlen);
int store__sqlite_delete_job(void *state, const char *id, char *err, size_t errlen);
int store__sqlite_claim_next(void *state, const char *worker, store_job **out, char *err,
                             size_t errlen);
int store__sqlite_update_progress(void *state, const char *id, double progress,
                                  const char *phase, double phase_pct, char *err,
                                  size_t errlen);
int store__sqlite_finish_job(void *state, const char *id, const store_job_result *r,
                             store_job **out, char *err, size_t errlen);
int store__sqlite_set_status(void *state, const char *id, store_status to, store_job **out,
                             char *err, size_t errlen);
int store__sqlite_requeue_interrupted(void *state, int *count, char *err, size_t errlen);

#endif
