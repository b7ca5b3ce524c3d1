/* Unit tests for the job store (SQLite backend): field round trips, ids,
 * listing and cursors, claiming (FIFO, and exactly-once under four threads),
 * progress, finishing, the transition table, retry, crash recovery, deletion,
 * counts, caller-chosen ids, the freshness of the cached read statements,
 * persistence and the errors of opening bad paths.
 *
 * Every test works in its own mkdtemp directory; the database lives in a
 * subdirectory that does not exist yet, so every open also exercises the
 * creation of the parent directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

typedef struct {
    char dir[512];
    char path[PATH_MAX];
    store *s;
    char err[4096];
} fixture;

/* ---- fixture --------------------------------------------------------------- */

static int remove_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    chmod(p, 0700); /* the unwritable-directory test leaves one behind */
    return remove(p);
}

static store *open_store(fixture *f)
{
    store_params p = store_default_params();
    p.path = f->path;
    store *s = NULL;
    int rc = store_open(&s, &p, f->err, sizeof f->err);
    if (rc != STORE_OK)
        fail_msg("store_open: %s", f->err);
    return s;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/cesar-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/data/cesar/jobs.db", f->dir);
    f->s = open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- helpers --------------------------------------------------------------- */

static store_job *create(fixture *f, const char *audio_path)
{
    store_job in = {0};
    in.audio_path = (char *)audio_path;
    store_job *j = NULL;
    int rc = store_create_job(f->s, &in, &j, f->err, sizeof f->err);
    if (rc != STORE_OK)
        fail_msg("store_create_job: %s", f->err);
    return j;
}

static char *create_id(fixture *f)
{
    store_job *j = create(f, "/a.wav");
    char *id = strdup(j->id);
    store_job_free(j);
    return id;
}

static store_job *get(fixture *f, const char *id)
{
    store_job *j = NULL;
    int rc = store_get_job(f->s, id, &j, f->err, sizeof f->err);
    if (rc != STORE_OK)
        fail_msg("store_get_job: %s", f->err);
    return j;
}

static void set_status_ok(fixture *f, const char *id, store_status to)
{
    int rc = store_set_status(f->s, id, to, NULL, f->err, sizeof f->err);
    if (rc != STORE_OK)
        fail_msg("store_set_status: %s", f->err);
}

static void finish_ok(fixture *f, const char *id, store_status outcome)
{
    store_job_result r = store_default_job_result();
    r.status = outcome;
    r.result_text = outcome == STORE_STATUS_ERROR ? NULL : "{\"segments\":[]}";
    r.error_message = outcome == STORE_STATUS_ERROR ? "decoder failed" : NULL;
    r.error_code = outcome == STORE_STATUS_ERROR ? "decode_error" : NULL;
    r.diarization_error = outcome == STORE_STATUS_PARTIAL ? "no speakers" : NULL;
    r.diarization_error_code = outcome == STORE_STATUS_PARTIAL ? "diarize_failed" : NULL;
    r.detected_language = "en";
    r.speaker_count = outcome == STORE_STATUS_COMPLETED ? 2 : 0;
    r.diarized = outcome == STORE_STATUS_COMPLETED;
    r.audio_duration = 12.5;
    r.processing_time = 3.25;
    int rc = store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err);
    if (rc != STORE_OK)
        fail_msg("store_finish_job: %s", f->err);
}

/* A new job in status st, reached the way the server and workers would. */
static char *job_in_state(fixture *f, store_status st)
{
    char *id = create_id(f);
    switch (st) {
    case STORE_STATUS_QUEUED: break;
    case STORE_STATUS_DOWNLOADING: set_status_ok(f, id, st); break;
    case STORE_STATUS_CANCELLED: set_status_ok(f, id, st); break;
    case STORE_STATUS_PROCESSING: set_status_ok(f, id, st); break;
    default:
        set_status_ok(f, id, STORE_STATUS_PROCESSING);
        finish_ok(f, id, st);
        break;
    }
    return id;
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

static store_status status_of(fixture *f, const char *id)
{
    store_job *j = get(f, id);
    store_status st = j->status;
    store_job_free(j);
    return st;
}

/* ---- names and ids ------------------------------------------------------------ */

static void test_status_names(void **state)
{
    (void)state;
    for (int i = 0; i < STORE_STATUS_COUNT; i++) {
        store_status st = STORE_STATUS_COUNT;
        assert_true(store_status_parse(store_status_name((store_status)i), &st));
        assert_int_equal(st, i);
    }
    assert_string_equal(store_status_name(STORE_STATUS_PARTIAL), "partial");
    store_status st = STORE_STATUS_QUEUED;
    assert_false(store_status_parse("Queued", &st));
    assert_false(store_status_parse("", &st));
    assert_false(store_status_parse(NULL, &st));
    assert_string_equal(store_status_name(STORE_STATUS_COUNT), "unknown");
    assert_string_equal(store_strerror(STORE_ERR_CONFLICT), "not allowed in the job's status");
    assert_string_equal(store_strerror(12345), "unknown error");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_ids_are_distinct_uuid_v4(void **state)
{
    fixture *f = *state;
    enum { N = 100 };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = create_id(f);
        assert_true(store_is_job_id(ids[i]));
        assert_int_equal(strlen(ids[i]), STORE_ID_LEN);
        assert_int_equal(ids[i][14], '4');
        assert_non_null(strchr("89ab", ids[i][19]));
    }
    qsort(ids, N, sizeof ids[0], cmp_str);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    assert_true(store_is_job_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
    assert_false(store_is_job_id("0F8FAD5B-D9CB-469F-A165-70867728950E")); /* upper case */
    assert_false(store_is_job_id("0f8fad5b-d9cb-169f-a165-70867728950e")); /* version 1 */
    assert_false(store_is_job_id("0f8fad5b-d9cb-469f-c165-70867728950e")); /* variant */
    assert_false(store_is_job_id("0f8fad5bd9cb469fa16570867728950e"));
    assert_false(store_is_job_id("0f8fad5b-d9cb-469f-a165-70867728950e0"));
    assert_false(store_is_job_id("../../etc/passwd"));
    assert_false(store_is_job_id(""));
    assert_false(store_is_job_id(NULL));
}

/* ---- create and get ----------------------------------------------------------- */

static void test_create_get_roundtrip(void **state)
{
    fixture *f = *state;
    store_job in = {0};
    in.audio_path = "/data/jobs/Zürich — interview 😀.wav";
    in.model_size = "base";
    in.engine = "pocketsphinx";
    in.language = "日本語";
    in.source_url = "https://example.com/watch?v=x&t=1";
    in.diarize = true;
    in.min_speakers = 2;
    in.max_speakers = 5;
    in.status = STORE_STATUS_COMPLETED; /* ignored: a new job is queued */
    store_job *j = NULL;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(j->status, STORE_STATUS_QUEUED);
    assert_true(store_is_job_id(j->id));
    assert_int_equal(strlen(j->created_at), 24);
    assert_int_equal(j->created_at[23], 'Z');
    assert_string_equal(j->created_at, j->updated_at);

    store_job *g = get(f, j->id);
    assert_string_equal(g->id, j->id);
    assert_string_equal(g->audio_path, in.audio_path);
    assert_string_equal(g->model_size, "base");
    assert_string_equal(g->engine, "pocketsphinx");
    assert_string_equal(g->language, "日本語");
    assert_string_equal(g->source_url, in.source_url);
    assert_true(g->diarize);
    assert_int_equal(g->min_speakers, 2);
    assert_int_equal(g->max_speakers, 5);
    assert_string_equal(g->created_at, j->created_at);
    assert_null(g->started_at);
    assert_null(g->completed_at);
    assert_null(g->result_text);
    assert_null(g->retry_stage);
    assert_null(g->worker);
    assert_int_equal(g->attempts, 0);
    assert_true(g->audio_duration < 0);
    assert_true(g->processing_time < 0);
    assert_int_equal(g->speaker_count, 0);
    store_job_free(g);

    /* Through a whole life, every result field comes back as written. */
    store_job *c = NULL;
    assert_int_equal(store_claim_next(f->s, "worker-ü", &c, f->err, sizeof f->err), STORE_OK);
    assert_non_null(c);
    assert_int_equal(store_update_progress(f->s, j->id, 42.5, "diarizing", 12.25, f->err,
                                           sizeof f->err), STORE_OK);
    store_job_result r = store_default_job_result();
    r.status = STORE_STATUS_PARTIAL;
    r.result_text = "{\"text\":\"grüße — «ok» 日本\"}";
    r.detected_language = "de";
    r.speaker_count = 3;
    r.diarized = false;
    r.diarization_error = "pyannote: ünknown";
    r.diarization_error_code = "diarize_failed";
    r.audio_duration = 61.75;
    r.processing_time = 0.5;
    store_job *fin = NULL;
    assert_int_equal(store_finish_job(f->s, j->id, &r, &fin, f->err, sizeof f->err), STORE_OK);
    g = get(f, j->id);
    assert_int_equal(g->status, STORE_STATUS_PARTIAL);
    assert_string_equal(g->result_text, r.result_text);
    assert_string_equal(g->detected_language, "de");
    assert_int_equal(g->speaker_count, 3);
    assert_false(g->diarized);
    assert_string_equal(g->diarization_error, r.diarization_error);
    assert_string_equal(g->diarization_error_code, "diarize_failed");
    assert_true(g->audio_duration == 61.75);
    assert_true(g->processing_time == 0.5);
    assert_true(g->progress == 100.0);
    assert_string_equal(g->progress_phase, "diarizing");
    assert_true(g->progress_phase_pct == 12.25);
    assert_string_equal(g->worker, "worker-ü");
    assert_string_equal(g->started_at, c->started_at);
    assert_non_null(g->completed_at);
    assert_true(strcmp(g->completed_at, g->created_at) >= 0);
    assert_string_equal(g->updated_at, g->completed_at);
    assert_null(g->error_message);
    assert_string_equal(fin->result_text, g->result_text);
    store_job_free(g);
    store_job_free(fin);
    store_job_free(c);
    store_job_free(j);
}

static void test_create_with_nulls(void **state)
{
    fixture *f = *state;
    store_job in = {0};
    store_job *j = NULL;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_OK);
    store_job *g = get(f, j->id);
    assert_null(g->audio_path);
    assert_null(g->model_size);
    assert_null(g->engine);
    assert_null(g->language);
    assert_null(g->source_url);
    assert_false(g->diarize);
    assert_int_equal(g->min_speakers, 0);
    assert_int_equal(g->max_speakers, 0);
    assert_true(g->progress == 0.0);
    assert_true(g->download_progress == 0.0);
    assert_null(g->progress_phase);
    assert_null(g->format);
    assert_null(g->original_name);
    store_job_free(g);
    store_job_free(j);
}

/* The server's way of creating a job: draw an id, make the job's
 * directory, then create the row under that id with the upload's name and
 * the requested result format. */
static void test_create_with_given_id(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1], other[STORE_ID_LEN + 1];
    assert_int_equal(store_new_job_id(id, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(store_new_job_id(other, f->err, sizeof f->err), STORE_OK);
    assert_true(store_is_job_id(id));
    assert_true(store_is_job_id(other));
    assert_string_not_equal(id, other);

    store_job in = {0}, *j = NULL;
    in.id = id;
    in.audio_path = "/data/jobs/x/audio";
    in.format = "vtt";
    in.original_name = "Réunion du 3 mars — part 2.m4a";
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_OK);
    assert_string_equal(j->id, id);
    assert_string_equal(j->format, "vtt");
    assert_string_equal(j->original_name, in.original_name);
    store_job_free(j);
    store_job *g = get(f, id);
    assert_string_equal(g->format, "vtt");
    assert_string_equal(g->original_name, in.original_name);
    assert_int_equal(g->status, STORE_STATUS_QUEUED);
    store_job_free(g);

    /* The same id again is a conflict, and nothing is written. */
    in.audio_path = "/elsewhere";
    j = (store_job *)&j;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_ERR_CONFLICT);
    assert_null(j);
    assert_non_null(strstr(f->err, id));
    g = get(f, id);
    assert_string_equal(g->audio_path, "/data/jobs/x/audio");
    store_job_free(g);

    /* Anything but a lower-case UUID v4 is refused before the database. */
    const char *bad[] = {"abc", "../../etc", "0F8FAD5B-D9CB-469F-A165-70867728950E",
                         "0f8fad5b-d9cb-169f-a165-70867728950e", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in.id = (char *)bad[i];
        j = (store_job *)&j;
        assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err),
                         STORE_ERR_INVALID);
        assert_null(j);
        assert_non_null(strstr(f->err, "not a job id"));
    }
    long long counts[STORE_STATUS_COUNT];
    assert_int_equal(store_count_by_status(f->s, counts, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(counts[STORE_STATUS_QUEUED], 1);

    /* format is stored as given: validating it is the server's business. */
    in.id = other;
    in.format = "Markdown?";
    in.original_name = NULL;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_OK);
    assert_string_equal(j->format, "Markdown?");
    assert_null(j->original_name);
    store_job_free(j);
}

static void test_get_unknown_and_bad_ids(void **state)
{
    fixture *f = *state;
    store_job *j = (store_job *)&j; /* must come back NULL */
    assert_int_equal(store_get_job(f->s, "0f8fad5b-d9cb-469f-a165-70867728950e", &j, f->err,
                                   sizeof f->err), STORE_ERR_NOT_FOUND);
    assert_null(j);
    assert_non_null(strstr(f->err, "0f8fad5b-d9cb-469f-a165-70867728950e"));
    const char *bad[] = {"abc", "../jobs.db", "0F8FAD5B-D9CB-469F-A165-70867728950E", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = (store_job *)&j;
        assert_int_equal(store_get_job(f->s, bad[i], &j, f->err, sizeof f->err),
                         STORE_ERR_INVALID);
        assert_null(j);
        assert_non_null(strstr(f->err, "not a job id"));
    }
    assert_int_equal(store_get_job(f->s, NULL, &j, f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_int_equal(store_delete_job(f->s, "x", f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_int_equal(store_update_progress(f->s, "x", 1, NULL, 1, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    assert_int_equal(store_set_status(f->s, "x", STORE_STATUS_CANCELLED, NULL, f->err,
                                      sizeof f->err), STORE_ERR_INVALID);
    store_job_result r = store_default_job_result();
    r.error_message = "x";
    assert_int_equal(store_finish_job(f->s, "x", &r, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_text_limits(void **state)
{
    fixture *f = *state;
    char *at_limit = repeat('a', STORE_MAX_FIELD), *over = repeat('a', STORE_MAX_FIELD + 1);
    store_job in = {0}, *j = NULL;
    in.audio_path = at_limit;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_OK);
    store_job_free(j);
    in.audio_path = over;
    j = (store_job *)&j;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_null(j);
    assert_non_null(strstr(f->err, "audio_path"));
    in.audio_path = NULL;
    in.source_url = over;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "source_url"));
    in.source_url = NULL;
    in.format = over;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "format"));
    in.format = NULL;
    in.original_name = over;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "original_name"));
    in.original_name = at_limit;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(strlen(j->original_name), STORE_MAX_FIELD);
    store_job_free(j);
    in.original_name = NULL;
    in.min_speakers = 4;
    in.max_speakers = 2;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "min_speakers"));
    in.min_speakers = -1;
    in.max_speakers = 0;
    assert_int_equal(store_create_job(f->s, &in, &j, f->err, sizeof f->err), STORE_ERR_INVALID);

    char *id = job_in_state(f, STORE_STATUS_PROCESSING);
    char *huge = repeat('x', STORE_MAX_RESULT_TEXT + 1);
    store_job_result r = store_default_job_result();
    r.status = STORE_STATUS_COMPLETED;
    r.result_text = huge;
    assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "result_text"));
    r.result_text = "{}";
    r.detected_language = over;
    assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "detected_language"));
    assert_int_equal(store_update_progress(f->s, id, 1, over, 1, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "progress_phase"));
    assert_int_equal(status_of(f, id), STORE_STATUS_PROCESSING); /* nothing was written */
    /* A result of exactly the limit is accepted. */
    huge[STORE_MAX_RESULT_TEXT] = '\0';
    r.result_text = huge;
    r.detected_language = NULL;
    assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err), STORE_OK);
    store_job *g = get(f, id);
    assert_int_equal(strlen(g->result_text), STORE_MAX_RESULT_TEXT);
    store_job_free(g);
    free(huge);
    free(id);
    free(at_limit);
    free(over);
}

/* ---- listing ------------------------------------------------------------------ */

static void test_list_order_filter_and_limits(void **state)
{
    fixture *f = *state;
    char *ids[6];
    for (int i = 0; i < 6; i++)
        ids[i] = create_id(f);
    store_job *c = NULL;
    assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
    store_job_free(c);
    assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
    store_job_free(c);

    store_job_list *l = NULL;
    assert_int_equal(store_list_jobs(f->s, NULL, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, 6);
    assert_null(l->next_cursor);
    for (int i = 0; i < 6; i++)
        assert_string_equal(l->items[i].id, ids[5 - i]); /* newest first */
    for (int i = 1; i < 6; i++)
        assert_true(strcmp(l->items[i - 1].created_at, l->items[i].created_at) > 0);
    store_job_list_free(l);

    store_list_params p = store_default_list_params();
    p.has_status = true;
    p.status = STORE_STATUS_PROCESSING;
    assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->items[0].id, ids[1]);
    assert_string_equal(l->items[1].id, ids[0]);
    store_job_list_free(l);
    p.status = STORE_STATUS_CANCELLED;
    assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, 0);
    assert_null(l->next_cursor);
    store_job_list_free(l);

    p = store_default_list_params();
    int bad_limits[] = {-1, STORE_LIST_MAX_LIMIT + 1};
    for (int i = 0; i < 2; i++) {
        p.limit = bad_limits[i];
        l = (store_job_list *)&l;
        assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err),
                         STORE_ERR_INVALID);
        assert_null(l);
        assert_non_null(strstr(f->err, "limit"));
    }
    p.limit = STORE_LIST_MAX_LIMIT;
    assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err), STORE_OK);
    store_job_list_free(l);
    for (int i = 0; i < 6; i++)
        free(ids[i]);
}

static void test_list_default_limit(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < STORE_LIST_DEFAULT_LIMIT + 1; i++)
        free(create_id(f));
    store_job_list *l = NULL;
    assert_int_equal(store_list_jobs(f->s, NULL, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, STORE_LIST_DEFAULT_LIMIT);
    assert_non_null(l->next_cursor);
    store_job_list_free(l);
}

/* Walks every page while new jobs keep arriving: each job that existed
 * before the walk is seen exactly once, in order, and nothing else is. */
static void test_list_pagination_stable(void **state)
{
    fixture *f = *state;
    enum { N = 23, PAGE = 5 };
    char *ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = create_id(f);
    store_list_params p = store_default_list_params();
    p.limit = PAGE;
    char *cursor = NULL;
    int seen = 0, pages = 0;
    for (;;) {
        p.cursor = cursor;
        store_job_list *l = NULL;
        assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err), STORE_OK);
        pages++;
        for (size_t i = 0; i < l->count; i++, seen++) {
            assert_true(seen < N);
            assert_string_equal(l->items[i].id, ids[N - 1 - seen]);
        }
        free(cursor);
        cursor = l->next_cursor ? strdup(l->next_cursor) : NULL;
        store_job_list_free(l);
        free(create_id(f)); /* a newer job arrives between pages */
        free(create_id(f));
        if (!cursor)
            break;
    }
    assert_int_equal(seen, N);
    assert_int_equal(pages, (N + PAGE - 1) / PAGE);
    for (int i = 0; i < N; i++)
        free(ids[i]);
}

static void test_list_exact_page_boundary(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 4; i++)
        free(create_id(f));
    store_list_params p = store_default_list_params();
    p.limit = 2;
    store_job_list *l = NULL, *l2 = NULL;
    assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err), STORE_OK);
    assert_non_null(l->next_cursor);
    p.cursor = l->next_cursor;
    assert_int_equal(store_list_jobs(f->s, &p, &l2, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l2->count, 2);
    assert_null(l2->next_cursor); /* no empty last page */
    store_job_list_free(l2);
    store_job_list_free(l);
}

static void test_list_bad_cursor(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 3; i++)
        free(create_id(f));
    store_list_params p = store_default_list_params();
    p.limit = 1;
    store_job_list *l = NULL;
    assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err), STORE_OK);
    char good[128];
    snprintf(good, sizeof good, "%s", l->next_cursor);
    store_job_list_free(l);

    char truncated[128], bad_ts[128], bad_id[128], sql[128];
    snprintf(truncated, sizeof truncated, "%.*s", (int)strlen(good) - 1, good);
    snprintf(bad_ts, sizeof bad_ts, "%s", good);
    bad_ts[5] = '1', bad_ts[6] = '3'; /* month 13 */
    snprintf(bad_id, sizeof bad_id, "%s", good);
    bad_id[strlen(bad_id) - 1] = 'G';
    snprintf(sql, sizeof sql, "2026-01-01T00:00:00.000Z~' OR 1=1 --aaaaaaaaaaaaaaaaaaaaaa");
    const char *bad[] = {"", "garbage", truncated, bad_ts, bad_id, sql};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.cursor = bad[i];
        l = (store_job_list *)&l;
        assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err),
                         STORE_ERR_INVALID);
        assert_null(l);
        assert_non_null(strstr(f->err, "invalid cursor"));
    }
    p.cursor = good;
    assert_int_equal(store_list_jobs(f->s, &p, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, 1);
    store_job_list_free(l);
}

/* ---- claiming ------------------------------------------------------------------ */

static void test_claim_fifo_and_empty(void **state)
{
    fixture *f = *state;
    store_job *c = (store_job *)&c;
    assert_int_equal(store_claim_next(f->s, "w1", &c, f->err, sizeof f->err), STORE_OK);
    assert_null(c);
    char *ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = create_id(f);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(store_claim_next(f->s, "w1", &c, f->err, sizeof f->err), STORE_OK);
        assert_non_null(c);
        assert_string_equal(c->id, ids[i]);
        assert_int_equal(c->status, STORE_STATUS_PROCESSING);
        assert_int_equal(c->attempts, 1);
        assert_string_equal(c->worker, "w1");
        assert_non_null(c->started_at);
        store_job_free(c);
    }
    assert_int_equal(store_claim_next(f->s, NULL, &c, f->err, sizeof f->err), STORE_OK);
    assert_null(c);
    for (int i = 0; i < 5; i++)
        free(ids[i]);
}

static void test_claim_counts_attempts(void **state)
{
    fixture *f = *state;
    char *id = create_id(f);
    for (int attempt = 1; attempt <= 3; attempt++) {
        store_job *c = NULL;
        assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
        assert_non_null(c);
        assert_string_equal(c->id, id);
        assert_int_equal(c->attempts, attempt);
        store_job_free(c);
        set_status_ok(f, id, STORE_STATUS_QUEUED); /* handed back, e.g. at shutdown */
    }
    free(id);
}

enum { CLAIM_JOBS = 200, CLAIM_THREADS = 4 };

typedef struct {
    store *s;
    char (*ids)[STORE_ID_LEN + 1];
    int n;
    int failures;
    char err[512];
} claimer;

static void *claim_loop(void *arg)
{
    claimer *c = arg;
    for (;;) {
        store_job *j = NULL;
        if (store_claim_next(c->s, "t", &j, c->err, sizeof c->err) != STORE_OK) {
            c->failures++;
            break;
        }
        if (!j)
            break;
        if (c->n < CLAIM_JOBS)
            memcpy(c->ids[c->n], j->id, STORE_ID_LEN + 1);
        c->n++;
        store_job_free(j);
    }
    return NULL;
}

/* Four threads race for 200 jobs; each handle is its own connection when
 * shared is false, or all use the fixture's when true. */
static void run_concurrent_claims(fixture *f, bool shared)
{
    char *ids[CLAIM_JOBS];
    for (int i = 0; i < CLAIM_JOBS; i++)
        ids[i] = create_id(f);
    claimer c[CLAIM_THREADS];
    pthread_t t[CLAIM_THREADS];
    for (int i = 0; i < CLAIM_THREADS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].s = shared ? f->s : open_store(f);
        c[i].ids = calloc(CLAIM_JOBS, STORE_ID_LEN + 1);
        assert_non_null(c[i].ids);
    }
    for (int i = 0; i < CLAIM_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, claim_loop, &c[i]), 0);
    for (int i = 0; i < CLAIM_THREADS; i++)
        pthread_join(t[i], NULL);
    int total = 0;
    char *all[CLAIM_JOBS];
    for (int i = 0; i < CLAIM_THREADS; i++) {
        if (c[i].failures)
            fail_msg("thread %d: %s", i, c[i].err);
        for (int k = 0; k < c[i].n && total < CLAIM_JOBS; k++)
            all[total++] = c[i].ids[k];
    }
    int claimed = 0;
    for (int i = 0; i < CLAIM_THREADS; i++)
        claimed += c[i].n;
    assert_int_equal(claimed, CLAIM_JOBS); /* nobody claimed a job twice ... */
    qsort(all, CLAIM_JOBS, sizeof all[0], cmp_str);
    qsort(ids, CLAIM_JOBS, sizeof ids[0], cmp_str);
    for (int i = 0; i < CLAIM_JOBS; i++)
        assert_string_equal(all[i], ids[i]); /* ... and every job was claimed */
    for (int i = 0; i < CLAIM_JOBS; i++) {
        store_job *j = get(f, ids[i]);
        assert_int_equal(j->status, STORE_STATUS_PROCESSING);
        assert_int_equal(j->attempts, 1);
        store_job_free(j);
        free(ids[i]);
    }
    for (int i = 0; i < CLAIM_THREADS; i++) {
        if (!shared)
            store_close(c[i].s);
        free(c[i].ids);
    }
}

static void test_concurrent_claims_own_handles(void **state)
{
    run_concurrent_claims(*state, false);
}

static void test_concurrent_claims_shared_handle(void **state)
{
    run_concurrent_claims(*state, true);
}

/* ---- progress and finishing ------------------------------------------------------ */

static void test_progress(void **state)
{
    fixture *f = *state;
    char *id = job_in_state(f, STORE_STATUS_PROCESSING);
    assert_int_equal(store_update_progress(f->s, id, 30, "transcribing", 50, f->err,
                                           sizeof f->err), STORE_OK);
    store_job *g = get(f, id);
    assert_true(g->progress == 30);
    assert_true(g->progress_phase_pct == 50);
    assert_string_equal(g->progress_phase, "transcribing");
    assert_true(g->download_progress == 0);
    store_job_free(g);

    char *dl = job_in_state(f, STORE_STATUS_DOWNLOADING);
    assert_int_equal(store_update_progress(f->s, dl, 5, "downloading", 40, f->err,
                                           sizeof f->err), STORE_OK);
    g = get(f, dl);
    assert_true(g->download_progress == 40); /* the download phase feeds it */
    store_job_free(g);

    double bad[][2] = {{-1, 0}, {101, 0}, {0, -0.5}, {0, 100.5}, {0.0 / 0.0, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(store_update_progress(f->s, id, bad[i][0], NULL, bad[i][1], f->err,
                                               sizeof f->err), STORE_ERR_INVALID);
    char *q = job_in_state(f, STORE_STATUS_QUEUED);
    assert_int_equal(store_update_progress(f->s, q, 10, NULL, 10, f->err, sizeof f->err),
                     STORE_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "queued"));
    char *done = job_in_state(f, STORE_STATUS_COMPLETED);
    assert_int_equal(store_update_progress(f->s, done, 10, NULL, 10, f->err, sizeof f->err),
                     STORE_ERR_CONFLICT);
    assert_non_null(strstr(f->err, "completed"));
    assert_int_equal(store_update_progress(f->s, "0f8fad5b-d9cb-469f-a165-70867728950e", 1, NULL,
                                           1, f->err, sizeof f->err), STORE_ERR_NOT_FOUND);
    free(id);
    free(dl);
    free(q);
    free(done);
}

static void test_finish_outcomes(void **state)
{
    fixture *f = *state;
    store_status outcomes[] = {STORE_STATUS_COMPLETED, STORE_STATUS_PARTIAL, STORE_STATUS_ERROR};
    for (size_t i = 0; i < 3; i++) {
        char *id = job_in_state(f, STORE_STATUS_PROCESSING);
        assert_int_equal(store_update_progress(f->s, id, 40, "transcribing", 66, f->err,
                                               sizeof f->err), STORE_OK);
        finish_ok(f, id, outcomes[i]);
        store_job *g = get(f, id);
        assert_int_equal(g->status, outcomes[i]);
        assert_non_null(g->completed_at);
        assert_true(g->processing_time == 3.25);
        if (outcomes[i] == STORE_STATUS_ERROR) {
            assert_null(g->result_text);
            assert_string_equal(g->error_message, "decoder failed");
            assert_string_equal(g->error_code, "decode_error");
            assert_true(g->progress == 40); /* where it stopped */
        } else {
            assert_string_equal(g->result_text, "{\"segments\":[]}");
            assert_true(g->progress == 100);
        }
        assert_str_or_null(g->diarization_error,
                           outcomes[i] == STORE_STATUS_PARTIAL ? "no speakers" : NULL);
        /* A finished job cannot finish again. */
        store_job_result r = store_default_job_result();
        r.error_message = "late";
        assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err),
                         STORE_ERR_CONFLICT);
        assert_non_null(strstr(f->err, store_status_name(outcomes[i])));
        store_job_free(g);
        free(id);
    }
}

static void test_finish_bad_results(void **state)
{
    fixture *f = *state;
    char *id = job_in_state(f, STORE_STATUS_PROCESSING);
    store_job_result r = store_default_job_result();
    r.status = STORE_STATUS_COMPLETED; /* no result_text */
    assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "result_text"));
    r.status = STORE_STATUS_ERROR; /* no error_message */
    assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    r.status = STORE_STATUS_PARTIAL;
    r.result_text = "{}"; /* no diarization_error */
    assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    r.status = STORE_STATUS_CANCELLED;
    assert_int_equal(store_finish_job(f->s, id, &r, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    assert_int_equal(store_finish_job(f->s, id, NULL, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    assert_int_equal(status_of(f, id), STORE_STATUS_PROCESSING);
    /* A job cancelled while running: its worker's finish is refused. */
    set_status_ok(f, id, STORE_STATUS_CANCELLED);
    r = store_default_job_result();
    r.status = STORE_STATUS_COMPLETED;
    r.result_text = "{}";
    store_job *out = (store_job *)&out;
    assert_int_equal(store_finish_job(f->s, id, &r, &out, f->err, sizeof f->err),
                     STORE_ERR_CONFLICT);
    assert_null(out);
    assert_non_null(strstr(f->err, "cancelled"));
    assert_int_equal(status_of(f, id), STORE_STATUS_CANCELLED);
    free(id);
}

/* ---- transitions ------------------------------------------------------------------ */

static bool expected_allowed(store_status from, store_status to)
{
    static const store_status moves[][2] = {
        {STORE_STATUS_QUEUED, STORE_STATUS_DOWNLOADING},
        {STORE_STATUS_QUEUED, STORE_STATUS_PROCESSING},
        {STORE_STATUS_QUEUED, STORE_STATUS_CANCELLED},
        {STORE_STATUS_DOWNLOADING, STORE_STATUS_QUEUED},
        {STORE_STATUS_DOWNLOADING, STORE_STATUS_PROCESSING},
        {STORE_STATUS_DOWNLOADING, STORE_STATUS_CANCELLED},
        {STORE_STATUS_PROCESSING, STORE_STATUS_QUEUED},
        {STORE_STATUS_PROCESSING, STORE_STATUS_DOWNLOADING},
        {STORE_STATUS_PROCESSING, STORE_STATUS_CANCELLED},
        {STORE_STATUS_PARTIAL, STORE_STATUS_QUEUED},
        {STORE_STATUS_ERROR, STORE_STATUS_QUEUED},
    };
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
        if (moves[i][0] == from && moves[i][1] == to)
            return true;
    return false;
}

static void test_transition_table(void **state)
{
    fixture *f = *state;
    for (int from = 0; from < STORE_STATUS_COUNT; from++) {
        for (int to = 0; to < STORE_STATUS_COUNT; to++) {
            char *id = job_in_state(f, (store_status)from);
            assert_int_equal(status_of(f, id), from);
            store_job *out = NULL;
            int rc = store_set_status(f->s, id, (store_status)to, &out, f->err, sizeof f->err);
            if (expected_allowed((store_status)from, (store_status)to)) {
                if (rc != STORE_OK)
                    fail_msg("%s -> %s refused: %s", store_status_name((store_status)from),
                             store_status_name((store_status)to), f->err);
                assert_int_equal(out->status, to);
                assert_int_equal(status_of(f, id), to);
            } else {
                if (rc != STORE_ERR_CONFLICT)
                    fail_msg("%s -> %s: expected a conflict, got %d",
                             store_status_name((store_status)from),
                             store_status_name((store_status)to), rc);
                assert_null(out);
                assert_non_null(strstr(f->err, store_status_name((store_status)from)));
                assert_non_null(strstr(f->err, store_status_name((store_status)to)));
                assert_int_equal(status_of(f, id), from);
            }
            store_job_free(out);
            free(id);
        }
    }
    assert_int_equal(store_set_status(f->s, "0f8fad5b-d9cb-469f-a165-70867728950e",
                                      STORE_STATUS_CANCELLED, NULL, f->err, sizeof f->err),
                     STORE_ERR_NOT_FOUND);
    char *id = create_id(f);
    assert_int_equal(store_set_status(f->s, id, STORE_STATUS_COUNT, NULL, f->err, sizeof f->err),
                     STORE_ERR_INVALID);
    free(id);
}

static void test_cancel(void **state)
{
    fixture *f = *state;
    char *id = create_id(f), *next = create_id(f);
    store_job *out = NULL;
    assert_int_equal(store_set_status(f->s, id, STORE_STATUS_CANCELLED, &out, f->err,
                                      sizeof f->err), STORE_OK);
    assert_non_null(out->completed_at);
    store_job_free(out);
    /* A cancelled job is never claimed. */
    store_job *c = NULL;
    assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
    assert_string_equal(c->id, next);
    store_job_free(c);
    assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
    assert_null(c);
    free(id);
    free(next);
}

static void test_retry_error_clears_everything(void **state)
{
    fixture *f = *state;
    char *id = job_in_state(f, STORE_STATUS_ERROR);
    store_job *out = NULL;
    assert_int_equal(store_set_status(f->s, id, STORE_STATUS_QUEUED, &out, f->err,
                                      sizeof f->err), STORE_OK);
    assert_int_equal(out->status, STORE_STATUS_QUEUED);
    assert_null(out->error_message);
    assert_null(out->error_code);
    assert_null(out->result_text);
    assert_null(out->detected_language);
    assert_null(out->completed_at);
    assert_null(out->started_at);
    assert_null(out->retry_stage);
    assert_null(out->progress_phase);
    assert_true(out->progress == 0);
    assert_true(out->audio_duration < 0);
    assert_true(out->processing_time < 0);
    assert_int_equal(out->attempts, 0); /* job_in_state moved it without claiming */
    assert_string_equal(out->audio_path, "/a.wav");
    store_job_free(out);
    free(id);
}

static void test_retry_partial_keeps_transcript(void **state)
{
    fixture *f = *state;
    char *id = create_id(f);
    store_job *c = NULL;
    assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
    store_job_free(c);
    finish_ok(f, id, STORE_STATUS_PARTIAL);
    store_job *out = NULL;
    assert_int_equal(store_set_status(f->s, id, STORE_STATUS_QUEUED, &out, f->err,
                                      sizeof f->err), STORE_OK);
    assert_int_equal(out->status, STORE_STATUS_QUEUED);
    assert_string_equal(out->result_text, "{\"segments\":[]}");
    assert_string_equal(out->detected_language, "en");
    assert_string_equal(out->retry_stage, "diarize");
    assert_null(out->diarization_error);
    assert_null(out->diarization_error_code);
    assert_null(out->completed_at);
    assert_true(out->progress == 0);
    store_job_free(out);
    /* The worker sees the stage to rerun, and finishing clears it. */
    assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
    assert_string_equal(c->id, id);
    assert_string_equal(c->retry_stage, "diarize");
    assert_int_equal(c->attempts, 2);
    store_job_free(c);
    finish_ok(f, id, STORE_STATUS_COMPLETED);
    store_job *g = get(f, id);
    assert_null(g->retry_stage);
    assert_int_equal(g->status, STORE_STATUS_COMPLETED);
    store_job_free(g);
    free(id);
}

/* ---- recovery, deletion, counts, persistence ------------------------------------- */

static void test_requeue_interrupted(void **state)
{
    fixture *f = *state;
    char *q = create_id(f);
    char *p1 = create_id(f), *p2 = create_id(f);
    store_job *c = NULL;
    for (int i = 0; i < 3; i++) { /* claims q, p1, p2 in order */
        assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
        store_job_free(c);
    }
    set_status_ok(f, q, STORE_STATUS_QUEUED); /* q: queued again, attempts 1 */
    assert_int_equal(store_update_progress(f->s, p1, 50, "transcribing", 80, f->err,
                                           sizeof f->err), STORE_OK);
    char *dl = job_in_state(f, STORE_STATUS_DOWNLOADING);
    char *done = job_in_state(f, STORE_STATUS_COMPLETED);
    int n = -1;
    assert_int_equal(store_requeue_interrupted(f->s, &n, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(n, 3);
    const char *requeued[] = {p1, p2, dl};
    for (int i = 0; i < 3; i++) {
        store_job *g = get(f, requeued[i]);
        assert_int_equal(g->status, STORE_STATUS_QUEUED);
        assert_true(g->progress == 0);
        assert_null(g->worker);
        assert_int_equal(g->attempts, i < 2 ? 1 : 0); /* kept */
        store_job_free(g);
    }
    assert_int_equal(status_of(f, done), STORE_STATUS_COMPLETED);
    assert_int_equal(store_requeue_interrupted(f->s, &n, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_requeue_interrupted(f->s, NULL, f->err, sizeof f->err), STORE_OK);
    /* Re-queued jobs keep their place: the oldest is claimed first. */
    assert_int_equal(store_claim_next(f->s, "w", &c, f->err, sizeof f->err), STORE_OK);
    assert_string_equal(c->id, q);
    store_job_free(c);
    free(q);
    free(p1);
    free(p2);
    free(dl);
    free(done);
}

static void test_delete(void **state)
{
    fixture *f = *state;
    char *a = create_id(f), *b = job_in_state(f, STORE_STATUS_PROCESSING);
    assert_int_equal(store_delete_job(f->s, a, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(store_delete_job(f->s, b, f->err, sizeof f->err), STORE_OK);
    store_job *j = NULL;
    assert_int_equal(store_get_job(f->s, a, &j, f->err, sizeof f->err), STORE_ERR_NOT_FOUND);
    assert_int_equal(store_delete_job(f->s, a, f->err, sizeof f->err), STORE_ERR_NOT_FOUND);
    store_job_list *l = NULL;
    assert_int_equal(store_list_jobs(f->s, NULL, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, 0);
    store_job_list_free(l);
    free(a);
    free(b);
}

static void test_count_by_status(void **state)
{
    fixture *f = *state;
    long long counts[STORE_STATUS_COUNT];
    assert_int_equal(store_count_by_status(f->s, counts, f->err, sizeof f->err), STORE_OK);
    for (int i = 0; i < STORE_STATUS_COUNT; i++)
        assert_int_equal(counts[i], 0);
    int want[STORE_STATUS_COUNT] = {3, 1, 2, 1, 0, 2, 1};
    for (int st = 0; st < STORE_STATUS_COUNT; st++)
        for (int k = 0; k < want[st]; k++)
            free(job_in_state(f, (store_status)st));
    assert_int_equal(store_count_by_status(f->s, counts, f->err, sizeof f->err), STORE_OK);
    for (int i = 0; i < STORE_STATUS_COUNT; i++)
        assert_int_equal(counts[i], want[i]);
}

/* Checkpoints the WAL into the database through a connection of its own;
 * returns SQLite's "busy" flag, set when some reader's snapshot kept the
 * checkpoint from finishing. */
static int checkpoint_busy(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int busy = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return busy;
}

/* get_job and count_by_status reuse prepared statements: they must still
 * see every write made through another handle, behave after a miss, and
 * never keep a read snapshot open between calls (which would stop WAL
 * checkpoints and show stale rows). */
static void test_cached_reads_stay_fresh(void **state)
{
    fixture *f = *state;
    store *other = open_store(f);
    char *id = create_id(f);
    long long counts[STORE_STATUS_COUNT];
    for (int round = 0; round < 3; round++) {
        store_job *j = get(f, id);
        assert_int_equal(j->status, STORE_STATUS_QUEUED);
        store_job_free(j);
        assert_int_equal(store_count_by_status(f->s, counts, f->err, sizeof f->err), STORE_OK);
        assert_int_equal(counts[STORE_STATUS_QUEUED], 1);
    }
    assert_int_equal(checkpoint_busy(f->path), 0);

    store_job *c = NULL;
    assert_int_equal(store_claim_next(other, "w", &c, f->err, sizeof f->err), STORE_OK);
    assert_non_null(c);
    store_job_free(c);
    assert_int_equal(status_of(f, id), STORE_STATUS_PROCESSING);
    assert_int_equal(store_count_by_status(f->s, counts, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(counts[STORE_STATUS_QUEUED], 0);
    assert_int_equal(counts[STORE_STATUS_PROCESSING], 1);

    /* a miss, then a hit, on the same statement */
    store_job *j = NULL;
    assert_int_equal(store_get_job(f->s, "0f8fad5b-d9cb-469f-a165-70867728950e", &j, f->err,
                                   sizeof f->err), STORE_ERR_NOT_FOUND);
    assert_int_equal(status_of(f, id), STORE_STATUS_PROCESSING);
    /* set_status reads the row through the same cached statement */
    set_status_ok(f, id, STORE_STATUS_CANCELLED);
    assert_int_equal(status_of(f, id), STORE_STATUS_CANCELLED);
    assert_int_equal(checkpoint_busy(f->path), 0);

    assert_int_equal(store_delete_job(other, id, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(store_get_job(f->s, id, &j, f->err, sizeof f->err), STORE_ERR_NOT_FOUND);
    assert_null(j);
    assert_int_equal(store_count_by_status(f->s, counts, f->err, sizeof f->err), STORE_OK);
    for (int i = 0; i < STORE_STATUS_COUNT; i++)
        assert_int_equal(counts[i], 0);
    store_close(other);
    free(id);
}

static void test_persistence_across_reopen(void **state)
{
    fixture *f = *state;
    char *done = job_in_state(f, STORE_STATUS_COMPLETED);
    char *queued = create_id(f);
    store_job *before = get(f, done);
    store_close(f->s);
    f->s = open_store(f);
    store_job *after = get(f, done);
    assert_string_equal(after->created_at, before->created_at);
    assert_string_equal(after->completed_at, before->completed_at);
    assert_string_equal(after->result_text, before->result_text);
    assert_int_equal(after->status, STORE_STATUS_COMPLETED);
    store_job_free(before);
    store_job_free(after);
    assert_int_equal(status_of(f, queued), STORE_STATUS_QUEUED);
    /* Jobs created after reopening still sort after the old ones. */
    char *newer = create_id(f);
    store_job_list *l = NULL;
    assert_int_equal(store_list_jobs(f->s, NULL, &l, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(l->count, 3);
    assert_string_equal(l->items[0].id, newer);
    store_job_list_free(l);
    free(done);
    free(queued);
    free(newer);
}

static void test_database_settings(void **state)
{
    fixture *f = *state;
    assert_string_equal(store_backend_name(f->s), "sqlite");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- opening errors ------------------------------------------------------------- */

static int try_open(fixture *f, const char *path)
{
    store_params p = store_default_params();
    p.path = path;
    store *s = (store *)&s;
    int rc = store_open(&s, &p, f->err, sizeof f->err);
    if (rc != STORE_OK)
        assert_null(s);
    store_close(s);
    return rc;
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX + 64];

    snprintf(path, sizeof path, "%s/notes.txt", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is a text file, not a database\n", fp);
    fclose(fp);
    assert_int_equal(try_open(f, path), STORE_ERR_OPEN);
    assert_non_null(strstr(f->err, path));

    assert_int_equal(try_open(f, f->dir), STORE_ERR_OPEN); /* a directory */
    assert_non_null(strstr(f->err, f->dir));
    assert_non_null(strstr(f->err, "directory"));

    snprintf(path, sizeof path, "%s/notes.txt/jobs.db", f->dir); /* under a regular file */
    assert_int_equal(try_open(f, path), STORE_ERR_OPEN);
    assert_non_null(strstr(f->err, "notes.txt"));

    if (geteuid() != 0) { /* root writes anywhere */
        snprintf(path, sizeof path, "%s/locked", f->dir);
        assert_int_equal(mkdir(path, 0500), 0);
        snprintf(path, sizeof path, "%s/locked/jobs.db", f->dir);
        assert_int_equal(try_open(f, path), STORE_ERR_OPEN);
        assert_non_null(strstr(f->err, path));
    }

    assert_int_equal(try_open(f, "postgres://db.example/cesar"), STORE_ERR_INVALID);
    assert_non_null(strstr(f->err, "postgres"));
    assert_int_equal(try_open(f, ""), STORE_ERR_INVALID);
    assert_int_equal(try_open(f, NULL), STORE_ERR_INVALID);
    store *s = (store *)&s;
    assert_int_equal(store_open(&s, NULL, f->err, sizeof f->err), STORE_ERR_INVALID);
    assert_null(s);
    store_close(NULL);
    store_job_free(NULL);
    store_job_list_free(NULL);
}

static void test_open_sqlite_prefix(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "sqlite:%s", f->path); /* the fixture's own database */
    store_params p = store_default_params();
    p.path = path;
    store *s = NULL;
    assert_int_equal(store_open(&s, &p, f->err, sizeof f->err), STORE_OK);
    char *id = create_id(f);
    store_job *j = NULL;
    assert_int_equal(store_get_job(s, id, &j, f->err, sizeof f->err), STORE_OK);
    store_job_free(j);
    store_close(s);
    free(id);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_status_names),
        T(test_ids_are_distinct_uuid_v4),
        T(test_create_get_roundtrip),
        T(test_create_with_nulls),
        T(test_create_with_given_id),
        T(test_get_unknown_and_bad_ids),
        T(test_text_limits),
        T(test_list_order_filter_and_limits),
        T(test_list_default_limit),
        T(test_list_pagination_stable),
        T(test_list_exact_page_boundary),
        T(test_list_bad_cursor),
        T(test_claim_fifo_and_empty),
        T(test_claim_counts_attempts),
        T(test_concurrent_claims_own_handles),
        T(test_concurrent_claims_shared_handle),
        T(test_progress),
        T(test_finish_outcomes),
        T(test_finish_bad_results),
        T(test_transition_table),
        T(test_cancel),
        T(test_retry_error_clears_everything),
        T(test_retry_partial_keeps_transcript),
        T(test_requeue_interrupted),
        T(test_delete),
        T(test_count_by_status),
        T(test_cached_reads_stay_fresh),
        T(test_persistence_across_reopen),
        T(test_database_settings),
        T(test_open_errors),
        T(test_open_sqlite_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
