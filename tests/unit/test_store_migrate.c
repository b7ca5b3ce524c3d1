/* Unit tests for the job store's schema versions: databases written by
 * schema versions 1 and 2 (built here by hand with the raw SQLite API,
 * exactly as those versions of Cesar created them) are migrated on open to
 * the current version with their rows intact and the new columns at their
 * defaults (NULL for version 3's format and original_name); a database from
 * a newer Cesar is refused with a message naming the file and both versions,
 * and left untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"

#define OLD_ID "6d1f1a52-3b7e-4c39-9a41-2f0e8b7c5d10"
#define OLD_ID2 "6d1f1a52-3b7e-4c39-9a41-2f0e8b7c5d11"

typedef struct {
    char dir[512];
    char path[PATH_MAX];
    char err[4096];
} fixture;

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/cesar-store-mig-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/jobs.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

/* Schema version 1, written out independently of the code under test. */
#define V1_SCHEMA                                                                            \
    "CREATE TABLE jobs ("                                                                    \
    " id TEXT PRIMARY KEY NOT NULL,"                                                         \
    " status TEXT NOT NULL CHECK (status IN ('queued', 'downloading', 'processing',"         \
    "   'completed', 'partial', 'error', 'cancelled')),"                                     \
    " audio_path TEXT, model_size TEXT, engine TEXT, language TEXT, source_url TEXT,"        \
    " created_at TEXT NOT NULL, started_at TEXT, completed_at TEXT,"                         \
    " updated_at TEXT NOT NULL, result_text TEXT, detected_language TEXT,"                   \
    " error_message TEXT, error_code TEXT, download_progress REAL NOT NULL DEFAULT 0,"        \
    " diarize INTEGER NOT NULL DEFAULT 0, min_speakers INTEGER, max_speakers INTEGER,"       \
    " progress REAL NOT NULL DEFAULT 0, progress_phase TEXT,"                                \
    " progress_phase_pct REAL NOT NULL DEFAULT 0, speaker_count INTEGER,"                    \
    " diarized INTEGER NOT NULL DEFAULT 0, diarization_error TEXT,"                          \
    " diarization_error_code TEXT, audio_duration REAL, processing_time REAL);"              \
    "CREATE INDEX jobs_created ON jobs (created_at, id);"

/* What version 2 added on top of version 1. */
#define V2_CHANGES                                                                           \
    "ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"                       \
    "ALTER TABLE jobs ADD COLUMN retry_stage TEXT;"                                          \
    "ALTER TABLE jobs ADD COLUMN worker TEXT;"                                               \
    "CREATE INDEX jobs_status_created ON jobs (status, created_at, id);"

/* The two rows every old database holds: a finished job and a queued one. */
#define OLD_ROWS                                                                             \
    "INSERT INTO jobs (id, status, audio_path, model_size, created_at, updated_at,"          \
    " completed_at, result_text, diarize, min_speakers, speaker_count, audio_duration)"      \
    " VALUES ('" OLD_ID "', 'completed', '/old/ä.wav', 'base',"                              \
    " '2025-01-02T03:04:05.006Z', '2025-01-02T03:05:00.000Z',"                               \
    " '2025-01-02T03:05:00.000Z', '{\"text\":\"old\"}', 1, 2, 2, 9.5);"                        \
    "INSERT INTO jobs (id, status, created_at, updated_at)"                                  \
    " VALUES ('" OLD_ID2 "', 'queued', '2025-01-02T03:04:06.000Z',"                          \
    " '2025-01-02T03:04:06.000Z');"

static void make_v1_database(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_sql(db, V1_SCHEMA OLD_ROWS "PRAGMA user_version = 1;");
    sqlite3_close(db);
}

/* Version 2, with the finished job's version-2 columns filled in as a
 * version-2 Cesar would have after a partial job was retried once. */
static void make_v2_database(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_sql(db, V1_SCHEMA V2_CHANGES OLD_ROWS
             "UPDATE jobs SET attempts = 2, retry_stage = 'diarize', worker = 'worker-3'"
             " WHERE id = '" OLD_ID "';"
             "PRAGMA user_version = 2;");
    sqlite3_close(db);
}

static int user_version(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static bool has_index(const char *path, const char *name)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'index'"
                                            " AND name = ?1", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

static bool has_column(const char *path, const char *name)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('jobs')"
                                            " WHERE name = ?1", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

static store *open_ok(fixture *f)
{
    store_params p = store_default_params();
    p.path = f->path;
    store *s = NULL;
    if (store_open(&s, &p, f->err, sizeof f->err) != STORE_OK)
        fail_msg("store_open: %s", f->err);
    return s;
}

/* The finished old job, read back through the store after migration. */
static void check_old_job(fixture *f, store *s, int attempts, const char *retry_stage,
                          const char *worker)
{
    store_job *j = NULL;
    assert_int_equal(store_get_job(s, OLD_ID, &j, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(j->status, STORE_STATUS_COMPLETED);
    assert_string_equal(j->audio_path, "/old/ä.wav");
    assert_string_equal(j->model_size, "base");
    assert_string_equal(j->created_at, "2025-01-02T03:04:05.006Z");
    assert_string_equal(j->completed_at, "2025-01-02T03:05:00.000Z");
    assert_string_equal(j->result_text, "{\"text\":\"old\"}");
    assert_true(j->diarize);
    assert_int_equal(j->min_speakers, 2);
    assert_int_equal(j->max_speakers, 0);
    assert_int_equal(j->speaker_count, 2);
    assert_true(j->audio_duration == 9.5);
    assert_true(j->processing_time < 0);
    assert_int_equal(j->attempts, attempts);
    if (retry_stage)
        assert_string_equal(j->retry_stage, retry_stage);
    else
        assert_null(j->retry_stage);
    if (worker)
        assert_string_equal(j->worker, worker);
    else
        assert_null(j->worker);
    assert_null(j->format); /* version 3's columns start out unset */
    assert_null(j->original_name);
    store_job_free(j);
}

/* The migrated database works: the old queued job is claimed first, a new
 * job sorts after both old ones and keeps version 3's fields. */
static void check_still_works(fixture *f, store *s)
{
    store_job *c = NULL;
    assert_int_equal(store_claim_next(s, "w", &c, f->err, sizeof f->err), STORE_OK);
    assert_non_null(c);
    assert_string_equal(c->id, OLD_ID2);
    assert_int_equal(c->attempts, 1);
    assert_null(c->format);
    assert_null(c->original_name);
    store_job_free(c);
    store_job in = {0}, *n = NULL;
    in.format = "srt";
    in.original_name = "interview.mp3";
    assert_int_equal(store_create_job(s, &in, &n, f->err, sizeof f->err), STORE_OK);
    assert_string_equal(n->format, "srt");
    assert_string_equal(n->original_name, "interview.mp3");
    store_job_list *l = NULL;
    assert_int_equal(store_list_jobs(s, NULL, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, 3);
    assert_string_equal(l->items[0].id, n->id);
    assert_string_equal(l->items[0].original_name, "interview.mp3");
    assert_string_equal(l->items[2].id, OLD_ID);
    store_job_list_free(l);
    store_job_free(n);
}

static void test_migrates_v1_database(void **state)
{
    fixture *f = *state;
    make_v1_database(f->path);
    assert_int_equal(user_version(f->path), 1);
    assert_false(has_index(f->path, "jobs_status_created"));
    assert_false(has_column(f->path, "format"));
    store *s = open_ok(f);
    assert_int_equal(STORE_SCHEMA_VERSION, 5);
    assert_int_equal(user_version(f->path), 5);
    assert_true(has_column(f->path, "no_cache"));
    assert_true(has_column(f->path, "diarization_engine"));
    assert_true(has_index(f->path, "jobs_status_created"));
    assert_true(has_column(f->path, "format"));
    assert_true(has_column(f->path, "original_name"));

    check_old_job(f, s, 0, NULL, NULL); /* version 2's columns at their defaults */
    check_still_works(f, s);
    store_close(s);

    /* Opening again is a no-op for the schema. */
    s = open_ok(f);
    assert_int_equal(user_version(f->path), 5);
    check_old_job(f, s, 0, NULL, NULL);
    store_close(s);
}

static void test_migrates_v2_database(void **state)
{
    fixture *f = *state;
    make_v2_database(f->path);
    assert_int_equal(user_version(f->path), 2);
    assert_false(has_column(f->path, "format"));
    assert_false(has_column(f->path, "original_name"));
    store *s = open_ok(f);
    assert_int_equal(user_version(f->path), 5);
    assert_true(has_column(f->path, "no_cache"));
    assert_true(has_column(f->path, "format"));
    assert_true(has_column(f->path, "original_name"));

    check_old_job(f, s, 2, "diarize", "worker-3"); /* version 2's values survive */
    store_job *q = NULL;
    assert_int_equal(store_get_job(s, OLD_ID2, &q, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(q->status, STORE_STATUS_QUEUED);
    assert_int_equal(q->attempts, 0);
    assert_null(q->format);
    assert_false(q->no_cache); /* version 4's column at its default */
    assert_null(q->diarization_engine); /* version 5's */
    store_job_free(q);
    check_still_works(f, s);
    store_close(s);
}

static void test_fresh_database_is_current(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f);
    store_close(s);
    assert_int_equal(user_version(f->path), STORE_SCHEMA_VERSION);
    assert_true(has_index(f->path, "jobs_created"));
    assert_true(has_index(f->path, "jobs_status_created"));
    assert_true(has_column(f->path, "format"));
    assert_true(has_column(f->path, "original_name"));
    assert_true(has_column(f->path, "no_cache"));
    assert_true(has_column(f->path, "diarization_engine"));
}

static void test_refuses_newer_schema(void **state)
{
    fixture *f = *state;
    store *s = open_ok(f);
    store_close(s);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_sql(db, "PRAGMA user_version = 99");
    sqlite3_close(db);

    store_params p = store_default_params();
    p.path = f->path;
    s = (store *)&s;
    assert_int_equal(store_open(&s, &p, f->err, sizeof f->err), STORE_ERR_VERSION);
    assert_null(s);
    assert_non_null(strstr(f->err, f->path));
    assert_non_null(strstr(f->err, "99"));
    char want[64];
    snprintf(want, sizeof want, "version %d", STORE_SCHEMA_VERSION);
    assert_non_null(strstr(f->err, want));
    assert_int_equal(user_version(f->path), 99); /* left as it was */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_migrates_v1_database),
        T(test_migrates_v2_database),
        T(test_fresh_database_is_current),
        T(test_refuses_newer_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
