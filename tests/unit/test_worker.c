/* Tests for the worker pool: real threads, a real SQLite job store in a
 * mkdtemp directory and the real pipeline on LibriVox clips from Debian's
 * pocketsphinx-testdata. A ~200 s recording made with sox (8 rounds of the
 * five clips) stands in for a long job; every test that uses it cancels or
 * stops it within a few seconds, so the file runs in ~20 s on 2 cores.
 * The stage tests trace the phases a job goes through by reading its row on
 * every progress event (on the worker thread, before it moves on), and cover
 * diarization: a diarize job completes with speakers; made to fail (the
 * CESAR_FAULT_DIARIZE file) it ends partial with its transcript, and its
 * retry runs diarization alone — no transcribing phase, the same words.
 *
 * Each test gets its own database file, so no test sees another's jobs. */
/* cmocka needs these before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asr/asr.h"
#include "fetch/fetch.h"
#include "format/format.h"
#include "store/store.h"
#include "util/util.h"
#include "worker/worker.h"

#define CLIP_DIR "/usr/share/pocketsphinx/test/data/librivox/"
#define CLIP_0870 CLIP_DIR "sense_and_sensibility_01_austen_64kb-0870.wav" /* 7.10 s */
#define CLIP_0880 CLIP_DIR "sense_and_sensibility_01_austen_64kb-0880.wav" /* 2.99 s */
#define CLIP_0930 CLIP_DIR "sense_and_sensibility_01_austen_64kb-0930.wav" /* 3.29 s */
#define CLIP_0870_SECONDS 7.1

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
    char dir[256];
    char long_wav[320]; /* "" when sox failed: long tests skip */
    char fault[300];    /* CESAR_FAULT_DIARIZE points here; exists only when a test makes it */
    int db_counter;
} group_state;

/* What the rows of one traced job showed, read after each progress event. */
#define TRACE_MAX_PHASES 16
typedef struct {
    char job_id[STORE_ID_LEN + 1];     /* "" = tracing off */
    char phases[TRACE_MAX_PHASES][16]; /* distinct phases, in order of appearance */
    int n_phases;
    int transcribing_writes, diarizing_writes;
    double max_transcribing; /* highest overall progress while transcribing */
    double min_diarizing, max_diarizing;
    int read_failures;
} phase_trace;

typedef struct {
    group_state *g;
    char db_path[320];
    store *s; /* the test's own handle, as the server would have */
    worker_pool *pool;
    atomic_int claimed, progressed, finished, cancelled, requeued;
    atomic_int errors_logged;
    atomic_int refetch_warnings; /* "diarize-only retry without a stored transcript" */
    atomic_int models_loaded;    /* "loaded model" lines from the engine */
    pthread_mutex_t trace_lock;  /* guards trace: workers write, the test reads */
    phase_trace trace;
    char err[1024];
} fixture;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void make_long_wav(group_state *g)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "sox");
    for (int round = 0; round < 8; round++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s*.wav", CLIP_DIR);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s/long.wav' 2>/dev/null", g->dir);
    if (system(cmd) == 0)
        snprintf(g->long_wav, sizeof g->long_wav, "%s/long.wav", g->dir);
}

static int group_setup(void **state)
{
    if (access(CLIP_0870, R_OK) != 0) {
        fprintf(stderr, "skipping: %s missing (install pocketsphinx-testdata)\n", CLIP_0870);
        return -1;
    }
    group_state *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(g->dir, sizeof g->dir, "%s/cesar-worker-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g->dir)) {
        free(g);
        return -1;
    }
    make_long_wav(g);
    snprintf(g->fault, sizeof g->fault, "%s/fault", g->dir);
    /* Once, before any worker thread exists: see fault_on. */
    setenv("CESAR_FAULT_DIARIZE", g->fault, 1);
    *state = g;
    return 0;
}

static int group_teardown(void **state)
{
    group_state *g = *state;
    nftw(g->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(g);
    return 0;
}

static int setup(void **state)
{
    group_state *g = *state;
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->g = g;
    snprintf(f->db_path, sizeof f->db_path, "%s/jobs-%d.db", g->dir, ++g->db_counter);
    pthread_mutex_init(&f->trace_lock, NULL);
    store_params sp = store_default_params();
    sp.path = f->db_path;
    if (store_open(&f->s, &sp, f->err, sizeof f->err) != STORE_OK) {
        fprintf(stderr, "store_open: %s\n", f->err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    group_state *g = f->g;
    worker_pool_free(f->pool);
    store_close(f->s);
    pthread_mutex_destroy(&f->trace_lock);
    free(f);
    *state = g; /* cmocka hands the group state to the next test's setup */
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static void on_log(worker_log_level level, const char *message, void *user_data)
{
    fixture *f = user_data;
    if (level == WORKER_LOG_ERROR)
        atomic_fetch_add(&f->errors_logged, 1);
    if (level == WORKER_LOG_WARN && strstr(message, "without a stored transcript"))
        atomic_fetch_add(&f->refetch_warnings, 1);
    if (strstr(message, "loaded model"))
        atomic_fetch_add(&f->models_loaded, 1);
}

/* On the worker thread, right after it wrote progress: the row holds what
 * it just wrote, since the worker waits for this callback. No cmocka
 * asserts here (wrong thread): anything odd is counted instead. */
static void trace_row(fixture *f, const char *job_id)
{
    pthread_mutex_lock(&f->trace_lock);
    phase_trace *t = &f->trace;
    if (!t->job_id[0] || strcmp(t->job_id, job_id) != 0) {
        pthread_mutex_unlock(&f->trace_lock);
        return;
    }
    store_job *row = NULL;
    char err[512];
    if (store_get_job(f->s, job_id, &row, err, sizeof err) != STORE_OK || !row->progress_phase) {
        t->read_failures++;
    } else {
        const char *ph = row->progress_phase;
        if ((t->n_phases == 0 || strcmp(t->phases[t->n_phases - 1], ph) != 0) &&
            t->n_phases < TRACE_MAX_PHASES)
            util_strlcpy(t->phases[t->n_phases++], ph, sizeof t->phases[0]);
        if (strcmp(ph, "transcribing") == 0) {
            t->transcribing_writes++;
            if (row->progress > t->max_transcribing)
                t->max_transcribing = row->progress;
        } else if (strcmp(ph, "diarizing") == 0) {
            if (t->diarizing_writes++ == 0 || row->progress < t->min_diarizing)
                t->min_diarizing = row->progress;
            if (row->progress > t->max_diarizing)
                t->max_diarizing = row->progress;
        }
    }
    store_job_free(row);
    pthread_mutex_unlock(&f->trace_lock);
}

static void on_event(worker_event ev, const char *job_id, void *user_data)
{
    fixture *f = user_data;
    atomic_int *counters[] = {&f->claimed, &f->progressed, &f->finished, &f->cancelled,
                              &f->requeued};
    atomic_fetch_add(counters[ev], 1);
    if (ev == WORKER_EVENT_PROGRESS)
        trace_row(f, job_id);
}

/* Starts tracing job id afresh. */
static void trace_start(fixture *f, const char *id)
{
    pthread_mutex_lock(&f->trace_lock);
    memset(&f->trace, 0, sizeof f->trace);
    util_strlcpy(f->trace.job_id, id, sizeof f->trace.job_id);
    pthread_mutex_unlock(&f->trace_lock);
}

/* A copy of the trace so far, for asserting on the test's thread. */
static phase_trace trace_get(fixture *f)
{
    pthread_mutex_lock(&f->trace_lock);
    phase_trace t = f->trace;
    pthread_mutex_unlock(&f->trace_lock);
    return t;
}

/* Index of phase in the trace, or -1. */
static int trace_index(const phase_trace *t, const char *phase)
{
    for (int i = 0; i < t->n_phases; i++)
        if (strcmp(t->phases[i], phase) == 0)
            return i;
    return -1;
}

/* The pool's Whisper and cache defaults are asr's and fetch's own, so a
 * server left at its defaults decodes and caches like the CLI. */
static void test_default_params_follow_asr_and_fetch(void **state)
{
    (void)state;
    worker_params p = worker_default_params();
    asr_params ap = asr_default_params();
    fetch_cache_params cp = fetch_cache_default_params();
    assert_int_equal(p.beam_size, ap.beam_size);
    assert_int_equal(p.condition_on_previous_text, ap.condition_on_previous_text);
    assert_int_equal(p.temperature_fallback, ap.temperature_fallback);
    assert_int_equal(p.vad_filter, ap.vad_filter);
    assert_float_equal(p.cache_max_age_seconds, cp.max_age_seconds, 0.0);
    assert_true(p.cache_max_bytes == cp.max_bytes);
    assert_true(p.download_timeout_ms < 0); /* fetch's own default */
}

static worker_params params_for(fixture *f, int n_workers)
{
    worker_params p = worker_default_params();
    p.db_path = f->db_path;
    p.n_workers = n_workers;
    p.threads = 1; /* two workers on two cores */
    p.log = on_log;
    p.log_user_data = f;
    p.event = on_event;
    p.event_user_data = f;
    return p;
}

static void start_pool(fixture *f, const worker_params *p)
{
    int rc = worker_pool_start(&f->pool, p, f->err, sizeof f->err);
    if (rc != WORKER_OK)
        fail_msg("worker_pool_start: %s", f->err);
}

/* Queues a job for audio with the given diarize flag and original name
 * (may be NULL) and returns its id in id (STORE_ID_LEN + 1 bytes). */
static void add_job_with(fixture *f, const char *audio, bool diarize, const char *original_name,
                         char *id)
{
    store_job fields;
    memset(&fields, 0, sizeof fields);
    fields.audio_path = (char *)audio;
    fields.diarize = diarize;
    fields.original_name = (char *)original_name;
    store_job *job = NULL;
    if (store_create_job(f->s, &fields, &job, f->err, sizeof f->err) != STORE_OK)
        fail_msg("store_create_job: %s", f->err);
    util_strlcpy(id, job->id, STORE_ID_LEN + 1);
    store_job_free(job);
}

static void add_job(fixture *f, const char *audio, char *id)
{
    add_job_with(f, audio, false, NULL, id);
}

static store_job *get_job(fixture *f, const char *id)
{
    store_job *job = NULL;
    if (store_get_job(f->s, id, &job, f->err, sizeof f->err) != STORE_OK)
        fail_msg("store_get_job: %s", f->err);
    return job;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Polls until the job reaches status or timeout passes; returns the seconds
 * it took, or -1 on timeout. */
static double wait_status(fixture *f, const char *id, store_status status, double timeout)
{
    double t0 = util_now_seconds();
    for (;;) {
        store_job *job = get_job(f, id);
        bool done = job->status == status;
        store_job_free(job);
        double took = util_now_seconds() - t0;
        if (done)
            return took;
        if (took > timeout)
            return -1;
        sleep_seconds(0.02);
    }
}

/* Waits until the job is processing with some transcription progress, so a
 * cancel hits the pipeline rather than the model load. */
static void wait_running(fixture *f, const char *id, double timeout)
{
    double t0 = util_now_seconds();
    for (;;) {
        store_job *job = get_job(f, id);
        bool running = job->status == STORE_STATUS_PROCESSING && job->progress > 0;
        store_job_free(job);
        if (running)
            return;
        if (util_now_seconds() - t0 > timeout)
            fail_msg("job %s did not start running within %.0f s", id, timeout);
        sleep_seconds(0.05);
    }
}

/* Seconds until no worker is busy, or -1 after timeout. */
static double wait_idle(worker_pool *pool, double timeout)
{
    double t0 = util_now_seconds();
    for (;;) {
        int busy = -1;
        worker_pool_stats(pool, NULL, &busy);
        double took = util_now_seconds() - t0;
        if (busy == 0)
            return took;
        if (took > timeout)
            return -1;
        sleep_seconds(0.02);
    }
}

/* Feeds text to Python's JSON parser; true when it parses. */
static bool valid_json(const char *text)
{
    FILE *py = popen("python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null", "w");
    if (!py)
        return false;
    fputs(text, py);
    return pclose(py) == 0;
}

static bool need_long_wav(const fixture *f)
{
    if (f->g->long_wav[0])
        return true;
    print_message("skipping: sox could not build the long recording\n");
    return false;
}

/* Queues the long recording on a one-worker pool and wakes it; the job id
 * goes to id. Skips the test when the recording could not be built. */
static void start_long_job(fixture *f, char id[STORE_ID_LEN + 1])
{
    if (!need_long_wav(f))
        skip();
    add_job(f, f->g->long_wav, id);
    worker_params p = params_for(f, 1);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
}

/* ---- parameters and errors -------------------------------------------------- */

static void test_rejects_bad_params(void **state)
{
    fixture *f = *state;
    worker_pool *pool = (worker_pool *)&pool; /* must be reset to NULL */
    worker_params p = params_for(f, 0);
    assert_int_equal(worker_pool_start(&pool, &p, f->err, sizeof f->err), WORKER_ERR_INVALID);
    assert_null(pool);
    assert_non_null(strstr(f->err, "0 workers"));
    p.n_workers = WORKER_MAX_WORKERS + 1;
    assert_int_equal(worker_pool_start(&pool, &p, f->err, sizeof f->err), WORKER_ERR_INVALID);
    p = params_for(f, 1);
    p.progress_interval_seconds = 1.5; /* the row must move at least once a second */
    assert_int_equal(worker_pool_start(&pool, &p, f->err, sizeof f->err), WORKER_ERR_INVALID);
    p = params_for(f, 1);
    p.min_speakers = 4;
    p.max_speakers = 2;
    assert_int_equal(worker_pool_start(&pool, &p, f->err, sizeof f->err), WORKER_ERR_INVALID);
    assert_non_null(strstr(f->err, "min_speakers"));
    p.min_speakers = 0;
    p.max_speakers = 33;
    assert_int_equal(worker_pool_start(&pool, &p, f->err, sizeof f->err), WORKER_ERR_INVALID);
    assert_non_null(strstr(f->err, "max_speakers"));
    p = params_for(f, 1);
    p.db_path = NULL;
    assert_int_equal(worker_pool_start(&pool, &p, NULL, 0), WORKER_ERR_INVALID);
    p.db_path = f->g->dir; /* a directory is not a database */
    assert_int_equal(worker_pool_start(&pool, &p, f->err, sizeof f->err), WORKER_ERR_STORE);
    assert_null(pool);
    assert_int_equal(worker_pool_start(&pool, NULL, NULL, 0), WORKER_ERR_INVALID);

    assert_string_equal(worker_strerror(WORKER_ERR_NOT_RUNNING), "no worker is running that job");
    assert_string_equal(worker_strerror(12345), "unknown error");
    worker_pool_free(NULL);
    worker_pool_notify(NULL);
    int running = -1, busy = -1;
    worker_pool_stats(NULL, &running, &busy);
    assert_int_equal(running, 0);
    assert_int_equal(busy, 0);
    assert_int_equal(worker_pool_cancel(NULL, "x"), WORKER_ERR_INVALID);
}

static void test_cancel_unknown_job(void **state)
{
    fixture *f = *state;
    worker_params p = params_for(f, 2);
    start_pool(f, &p);
    int running = -1, busy = -1;
    worker_pool_stats(f->pool, &running, &busy);
    assert_int_equal(running, 2);
    assert_int_equal(busy, 0);
    assert_int_equal(worker_pool_cancel(f->pool, "not-an-id"), WORKER_ERR_INVALID);
    assert_int_equal(worker_pool_cancel(f->pool, "0b6f5c3e-8a5d-4f1e-9c2b-7d3a1e2f4b5c"),
                     WORKER_ERR_NOT_RUNNING);
    assert_int_equal(worker_pool_stop(f->pool, 0, f->err, sizeof f->err), WORKER_OK);
    assert_int_equal(worker_pool_stop(f->pool, 0, f->err, sizeof f->err), WORKER_OK);
    worker_pool_stats(f->pool, &running, &busy);
    assert_int_equal(running, 0);
}

/* ---- 1. jobs complete with a JSON transcript ---------------------------------- */

static void check_completed(fixture *f, const char *id, const char *words, double seconds)
{
    store_job *job = get_job(f, id);
    if (job->status != STORE_STATUS_COMPLETED)
        fail_msg("job %s is %s: %s", id, store_status_name(job->status),
                 job->error_message ? job->error_message : "");
    assert_non_null(job->result_text);
    assert_true(valid_json(job->result_text));
    if (words)
        assert_non_null(strstr(job->result_text, words));
    assert_non_null(strstr(job->result_text, "\"pocketsphinx\""));
    assert_float_equal(job->progress, 100.0, 1e-9);
    assert_true(job->processing_time > 0);
    if (seconds > 0)
        assert_true(fabs(job->audio_duration - seconds) < 0.1);
    assert_int_equal(job->attempts, 1);
    assert_string_equal(job->detected_language, "en");
    assert_null(job->error_code);
    store_job_free(job);
}

static void test_two_jobs_complete(void **state)
{
    fixture *f = *state;
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
    add_job(f, CLIP_0870, a);
    add_job(f, CLIP_0880, b);
    worker_params p = params_for(f, 2);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, a, STORE_STATUS_COMPLETED, 30) >= 0);
    assert_true(wait_status(f, b, STORE_STATUS_COMPLETED, 30) >= 0);
    check_completed(f, a, "consider how much", CLIP_0870_SECONDS);
    check_completed(f, b, NULL, 2.99);
    /* the source shown is the file name, not the directory layout */
    store_job *job = get_job(f, a);
    assert_non_null(strstr(job->result_text, "sense_and_sensibility_01_austen_64kb-0870.wav"));
    assert_null(strstr(job->result_text, CLIP_DIR));
    assert_true(job->worker && strncmp(job->worker, "worker-", 7) == 0);
    store_job_free(job);

    assert_true(wait_idle(f->pool, 5) >= 0);
    assert_int_equal(atomic_load(&f->claimed), 2);
    assert_int_equal(atomic_load(&f->finished), 2);
    assert_true(atomic_load(&f->progressed) >= 2);
    assert_int_equal(atomic_load(&f->errors_logged), 0);
}

/* A worker keeps its engine loaded between jobs: the second job loads no
 * model, and a reused engine transcribes exactly as a fresh one does. */
static void test_engine_reused_between_jobs(void **state)
{
    fixture *f = *state;
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
    add_job(f, CLIP_0870, a);
    worker_params p = params_for(f, 1);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, a, STORE_STATUS_COMPLETED, 30) >= 0);
    add_job(f, CLIP_0870, b);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, b, STORE_STATUS_COMPLETED, 30) >= 0);
    assert_int_equal(atomic_load(&f->models_loaded), 1);

    store_job *ja = get_job(f, a), *jb = get_job(f, b);
    transcript *ta = NULL, *tb = NULL;
    assert_int_equal(format_parse_json(ja->result_text, strlen(ja->result_text), &ta, NULL,
                                       f->err, sizeof f->err),
                     FORMAT_OK);
    assert_int_equal(format_parse_json(jb->result_text, strlen(jb->result_text), &tb, NULL,
                                       f->err, sizeof f->err),
                     FORMAT_OK);
    assert_true(ta->n_segments > 0);
    assert_int_equal(ta->n_segments, tb->n_segments);
    for (size_t i = 0; i < ta->n_segments; i++) {
        assert_string_equal(ta->segments[i].text, tb->segments[i].text);
        assert_true(ta->segments[i].start == tb->segments[i].start);
        assert_true(ta->segments[i].end == tb->segments[i].end);
    }
    transcript_free(ta);
    transcript_free(tb);
    store_job_free(ja);
    store_job_free(jb);
}

/* ---- 2. bad audio fails the job, not the pool ----------------------------------- */

static void test_bad_audio_is_job_error(void **state)
{
    fixture *f = *state;
    char text_file[400];
    snprintf(text_file, sizeof text_file, "%s/not-audio-%d.wav", f->g->dir, f->g->db_counter);
    FILE *fp = fopen(text_file, "w");
    assert_non_null(fp);
    fputs("this is a text file, not a recording\n", fp);
    fclose(fp);
    char id[STORE_ID_LEN + 1];
    add_job(f, text_file, id);
    worker_params p = params_for(f, 1);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_ERROR, 15) >= 0);
    store_job *job = get_job(f, id);
    assert_string_equal(job->error_code, "audio_invalid");
    assert_non_null(job->error_message);
    assert_non_null(strstr(job->error_message, text_file));
    assert_null(job->result_text);
    assert_int_equal(job->attempts, 1);
    store_job_free(job);

    /* the pool carries on: a good job after the bad one completes */
    char good[STORE_ID_LEN + 1];
    add_job(f, CLIP_0880, good);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, good, STORE_STATUS_COMPLETED, 20) >= 0);
}

/* ---- 3. every job runs exactly once ------------------------------------------------- */

static void test_exactly_once(void **state)
{
    fixture *f = *state;
    enum { N = 12 };
    char ids[N][STORE_ID_LEN + 1];
    for (int i = 0; i < N; i++)
        add_job(f, i % 2 ? CLIP_0880 : CLIP_0930, ids[i]);
    worker_params p = params_for(f, 2);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    for (int i = 0; i < N; i++)
        assert_true(wait_status(f, ids[i], STORE_STATUS_COMPLETED, 60) >= 0);
    for (int i = 0; i < N; i++) {
        store_job *job = get_job(f, ids[i]);
        assert_int_equal(job->attempts, 1);
        assert_non_null(job->result_text);
        store_job_free(job);
    }
    assert_true(wait_idle(f->pool, 5) >= 0);
    assert_int_equal(atomic_load(&f->claimed), N);
    assert_int_equal(atomic_load(&f->finished), N);
    long long counts[STORE_STATUS_COUNT];
    assert_int_equal(store_count_by_status(f->s, counts, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(counts[STORE_STATUS_COMPLETED], N);
    assert_int_equal(counts[STORE_STATUS_QUEUED] + counts[STORE_STATUS_PROCESSING], 0);
}

/* ---- 4. live progress, then cancel through the pool ----------------------------------- */

static void test_progress_then_cancel(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1];
    start_long_job(f, id);

    double last = -1;
    int increases = 0;
    double t0 = util_now_seconds();
    while (increases < 3 && util_now_seconds() - t0 < 10) {
        store_job *job = get_job(f, id);
        if (job->status == STORE_STATUS_PROCESSING && job->progress_phase &&
            strcmp(job->progress_phase, "transcribing") == 0) {
            assert_true(job->progress >= last); /* never backwards */
            assert_true(job->progress < 90.0 + 1e-9);
            assert_true(job->progress_phase_pct >= 0 && job->progress_phase_pct <= 100);
            if (last >= 0 && job->progress > last)
                increases++;
            last = job->progress;
        }
        store_job_free(job);
        sleep_seconds(0.3);
    }
    if (increases < 2)
        fail_msg("progress rose only %d time(s) in 10 s (last %.2f)", increases, last);

    assert_int_equal(
        store_set_status(f->s, id, STORE_STATUS_CANCELLED, NULL, f->err, sizeof f->err), STORE_OK);
    assert_int_equal(worker_pool_cancel(f->pool, id), WORKER_OK);
    double took = wait_idle(f->pool, 1.5);
    if (took < 0)
        fail_msg("the worker was still busy 1.5 s after the cancel");
    store_job *job = get_job(f, id);
    assert_int_equal(job->status, STORE_STATUS_CANCELLED);
    assert_null(job->error_code);
    assert_null(job->result_text);
    store_job_free(job);
    assert_int_equal(atomic_load(&f->cancelled), 1);
    assert_int_equal(atomic_load(&f->finished), 0);
    assert_int_equal(worker_pool_cancel(f->pool, id), WORKER_ERR_NOT_RUNNING);
}

/* ---- 5. a cancellation made only in the store is noticed ------------------------------ */

static void test_cancel_by_row_alone(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1];
    start_long_job(f, id);
    wait_running(f, id, 15);

    /* as another process's DELETE would: the row only */
    assert_int_equal(
        store_set_status(f->s, id, STORE_STATUS_CANCELLED, NULL, f->err, sizeof f->err), STORE_OK);
    double took = wait_idle(f->pool, 1.5);
    if (took < 0)
        fail_msg("the worker did not notice the cancelled row within 1.5 s");
    store_job *job = get_job(f, id);
    assert_int_equal(job->status, STORE_STATUS_CANCELLED);
    assert_null(job->error_code);
    store_job_free(job);
    assert_int_equal(atomic_load(&f->cancelled), 1);
}

/* ---- 6. stop with grace 0 re-queues the running job ------------------------------------ */

static void test_stop_requeues(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1];
    start_long_job(f, id);
    wait_running(f, id, 15);

    double t0 = util_now_seconds();
    assert_int_equal(worker_pool_stop(f->pool, 0, f->err, sizeof f->err), WORKER_OK);
    assert_true(util_now_seconds() - t0 < 2.0);
    store_job *job = get_job(f, id);
    assert_int_equal(job->status, STORE_STATUS_QUEUED);
    assert_int_equal(job->attempts, 1);
    store_job_free(job);
    assert_int_equal(atomic_load(&f->requeued), 1);
    worker_pool_free(f->pool);
    f->pool = NULL;

    /* a restarted pool claims it again: its second attempt */
    worker_params p = params_for(f, 1);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_PROCESSING, 5) >= 0);
    job = get_job(f, id);
    assert_int_equal(job->attempts, 2);
    store_job_free(job);
    assert_int_equal(
        store_set_status(f->s, id, STORE_STATUS_CANCELLED, NULL, f->err, sizeof f->err), STORE_OK);
    worker_pool_cancel(f->pool, id); /* may already have stopped */
    assert_true(wait_idle(f->pool, 5) >= 0);
}

/* ---- stop with a grace period lets a short job finish ------------------------------------- */

static void test_stop_with_grace_finishes(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1];
    add_job(f, CLIP_0880, id);
    worker_params p = params_for(f, 1);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_PROCESSING, 5) >= 0);
    assert_int_equal(worker_pool_stop(f->pool, 30, f->err, sizeof f->err), WORKER_OK);
    store_job *job = get_job(f, id);
    assert_int_equal(job->status, STORE_STATUS_COMPLETED);
    store_job_free(job);
    assert_int_equal(atomic_load(&f->requeued), 0);
}

/* ---- 7. notify wakes an idle worker at once ------------------------------------------------ */

static void test_notify_wakes_idle_worker(void **state)
{
    fixture *f = *state;
    worker_params p = params_for(f, 1);
    p.idle_poll_seconds = 30;
    start_pool(f, &p);
    sleep_seconds(0.3); /* the worker has found nothing and gone to sleep */
    char id[STORE_ID_LEN + 1];
    add_job(f, CLIP_0880, id);
    double t0 = util_now_seconds();
    worker_pool_notify(f->pool);
    double took = -1;
    while (util_now_seconds() - t0 < 1.0) {
        store_job *job = get_job(f, id);
        bool claimed = job->status != STORE_STATUS_QUEUED;
        store_job_free(job);
        if (claimed) {
            took = util_now_seconds() - t0;
            break;
        }
        sleep_seconds(0.01);
    }
    if (took < 0)
        fail_msg("the job was not claimed within 1 s of the notify");
    /* without a notify the job would wait for the 30 s poll: check the
     * claim came from the wake, not from a poll that happened to be due */
    assert_true(took < 1.0);
    t0 = util_now_seconds();
    assert_int_equal(worker_pool_stop(f->pool, 0, f->err, sizeof f->err), WORKER_OK);
    assert_true(util_now_seconds() - t0 < 2.0); /* stop does not wait for the poll */
}

/* ---- 8. stages: diarization, partial jobs and their retry ---------------------------- */

/* Progress written for every pipeline callback (almost), so the trace sees
 * the end of each span and not only its start. */
static worker_params traced_params(fixture *f)
{
    worker_params p = params_for(f, 1);
    p.progress_interval_seconds = 0.01;
    return p;
}

/* Copies src to the group directory under a fresh name, so a test may move
 * it away; the name goes to dst. */
static void copy_clip(fixture *f, const char *src, char *dst, size_t n)
{
    snprintf(dst, n, "%s/clip-%d.wav", f->g->dir, f->g->db_counter);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, k, out), k);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* Diarization fails while the file CESAR_FAULT_DIARIZE names exists. The
 * variable is set once, before any worker thread starts (setenv is not
 * safe against threads reading the environment); tests create and delete
 * the file instead. */
static void fault_on(fixture *f)
{
    FILE *out = fopen(f->g->fault, "w");
    assert_non_null(out);
    assert_int_equal(fclose(out), 0);
}

static void fault_off(fixture *f)
{
    assert_int_equal(unlink(f->g->fault), 0);
}

/* The row of a job whose diarization failed: the transcript is its result;
 * why names a part of the diarization message. */
static void check_partial(fixture *f, const char *id, int attempts, const char *why)
{
    store_job *job = get_job(f, id);
    if (job->status != STORE_STATUS_PARTIAL)
        fail_msg("job %s is %s (%s: %s)", id, store_status_name(job->status),
                 job->error_code ? job->error_code : "",
                 job->error_message ? job->error_message : "");
    assert_non_null(job->result_text);
    assert_true(valid_json(job->result_text));
    assert_non_null(strstr(job->result_text, "consider how much")); /* the words are there */
    assert_null(strstr(job->result_text, "Speaker 1"));             /* no labels */
    assert_string_equal(job->diarization_error_code, "diarization_failed");
    assert_non_null(job->diarization_error);
    if (!strstr(job->diarization_error, why))
        fail_msg("diarization_error '%s' does not mention '%s'", job->diarization_error, why);
    assert_false(job->diarized);
    assert_int_equal(job->speaker_count, 0);
    assert_float_equal(job->progress, 100.0, 1e-9);
    assert_true(fabs(job->audio_duration - CLIP_0870_SECONDS) < 0.1);
    assert_true(job->processing_time > 0);
    assert_null(job->error_code);
    assert_null(job->error_message);
    assert_null(job->retry_stage);
    assert_string_equal(job->detected_language, "en");
    assert_int_equal(job->attempts, attempts);
    assert_non_null(job->completed_at);
    store_job_free(job);
}

/* The row of a diarize job that succeeded: every segment has a speaker. */
static void check_diarized(fixture *f, const char *id, int attempts)
{
    store_job *job = get_job(f, id);
    if (job->status != STORE_STATUS_COMPLETED)
        fail_msg("job %s is %s (%s / %s)", id, store_status_name(job->status),
                 job->error_message ? job->error_message : "",
                 job->diarization_error ? job->diarization_error : "");
    assert_true(job->diarized);
    assert_true(job->speaker_count >= 1);
    assert_null(job->diarization_error);
    assert_null(job->diarization_error_code);
    assert_null(job->retry_stage);
    assert_int_equal(job->attempts, attempts);
    assert_float_equal(job->progress, 100.0, 1e-9);
    assert_true(valid_json(job->result_text));
    transcript *t = NULL;
    assert_int_equal(format_parse_json(job->result_text, strlen(job->result_text), &t, NULL, f->err,
                                       sizeof f->err),
                     FORMAT_OK);
    assert_true(t->n_segments >= 1);
    for (size_t i = 0; i < t->n_segments; i++) {
        assert_true(t->segments[i].speaker >= 0);
        assert_true(t->segments[i].speaker < job->speaker_count);
    }
    transcript_free(t);
    store_job_free(job);
}

/* The same words at the same times in two JSON results, whatever their
 * speakers and however the segments were split between them. */
static void assert_same_words(fixture *f, const char *json_a, const char *json_b)
{
    transcript *a = NULL, *b = NULL;
    assert_int_equal(format_parse_json(json_a, strlen(json_a), &a, NULL, f->err, sizeof f->err),
                     FORMAT_OK);
    assert_int_equal(format_parse_json(json_b, strlen(json_b), &b, NULL, f->err, sizeof f->err),
                     FORMAT_OK);
    size_t n = transcript_word_count(a);
    assert_true(n > 0);
    assert_int_equal(transcript_word_count(b), n);
    size_t sa = 0, wa = 0, sb = 0, wb = 0;
    for (size_t k = 0; k < n; k++) {
        while (wa >= a->segments[sa].n_words) {
            sa++;
            wa = 0;
        }
        while (wb >= b->segments[sb].n_words) {
            sb++;
            wb = 0;
        }
        const transcript_word *x = &a->segments[sa].words[wa++];
        const transcript_word *y = &b->segments[sb].words[wb++];
        assert_string_equal(x->text, y->text);
        assert_float_equal(x->start, y->start, 1e-9);
        assert_float_equal(x->end, y->end, 1e-9);
    }
    assert_string_equal(a->language, b->language);
    assert_float_equal(a->duration, b->duration, 1e-9);
    transcript_free(a);
    transcript_free(b);
}

static void assert_phases_in_order(const phase_trace *t)
{
    int tr = trace_index(t, "transcribing"), di = trace_index(t, "diarizing"),
        fo = trace_index(t, "formatting");
    if (tr < 0 || di < 0 || fo < 0 || !(tr < di && di < fo))
        fail_msg("phases out of order: transcribing %d, diarizing %d, formatting %d (%d seen)", tr,
                 di, fo, t->n_phases);
    assert_int_equal(t->n_phases, 3); /* no phase comes back */
    /* transcribing owns 0-60 when diarization follows: it got far into its
     * span, and never past it; diarizing 60-90 */
    assert_true(t->transcribing_writes >= 3);
    assert_true(t->max_transcribing > 30.0);
    assert_true(t->max_transcribing <= 60.0 + 1e-9);
    assert_true(t->diarizing_writes >= 1);
    assert_float_equal(t->min_diarizing, 60.0, 1e-9);
    assert_true(t->max_diarizing <= 90.0 + 1e-9);
}

static void test_diarize_job_completes_with_speakers(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1];
    add_job_with(f, CLIP_0870, true, NULL, id);
    trace_start(f, id);
    worker_params p = traced_params(f);
    p.max_speakers = 3; /* the job leaves its counts unset: the pool's apply */
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_COMPLETED, 30) >= 0);
    assert_true(wait_idle(f->pool, 5) >= 0);
    check_completed(f, id, "consider how much", CLIP_0870_SECONDS);
    check_diarized(f, id, 1);
    store_job *job = get_job(f, id);
    assert_true(job->speaker_count <= 3);
    assert_non_null(strstr(job->result_text, "\"speaker\": \"Speaker 1\""));
    store_job_free(job);

    phase_trace t = trace_get(f);
    assert_int_equal(t.read_failures, 0);
    assert_phases_in_order(&t);
    assert_true(t.max_diarizing > 60.0); /* it moved through its span */

    assert_int_equal(atomic_load(&f->finished), 1);
    assert_int_equal(atomic_load(&f->cancelled), 0);
    assert_int_equal(atomic_load(&f->errors_logged), 0);
    assert_int_equal(atomic_load(&f->refetch_warnings), 0);
}

/* Runs a diarize job for a copy of CLIP_0870 (file name in clip) while
 * diarization fails, to partial; leaves the fault file in place. */
static void run_to_partial(fixture *f, char *clip, size_t clip_n, char id[STORE_ID_LEN + 1])
{
    copy_clip(f, CLIP_0870, clip, clip_n);
    add_job_with(f, clip, true, "Entretien à Zürich.wav", id);
    fault_on(f);
    trace_start(f, id);
    worker_params p = traced_params(f);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_PARTIAL, 30) >= 0);
    assert_true(wait_idle(f->pool, 5) >= 0);
    check_partial(f, id, 1, "CESAR_FAULT_DIARIZE");
    phase_trace t = trace_get(f);
    assert_int_equal(t.read_failures, 0);
    assert_phases_in_order(&t);
}

/* Puts a partial job back to queued (the retry route) and checks the store
 * kept its transcript for the diarize-only run. */
static void requeue_partial(fixture *f, const char *id, const store_job *before)
{
    store_job *queued = NULL;
    assert_int_equal(
        store_set_status(f->s, id, STORE_STATUS_QUEUED, &queued, f->err, sizeof f->err), STORE_OK);
    assert_string_equal(queued->retry_stage, "diarize");
    assert_string_equal(queued->result_text, before->result_text);
    store_job_free(queued);
}

static void test_diarize_failure_ends_partial(void **state)
{
    fixture *f = *state;
    char clip[400], id[STORE_ID_LEN + 1];
    run_to_partial(f, clip, sizeof clip, id);
    fault_off(f);
    store_job *job = get_job(f, id);
    /* the client's file name is the source, not the server's file */
    assert_non_null(strstr(job->result_text, "Entretien à Zürich.wav"));
    assert_null(strstr(job->result_text, "clip-"));
    store_job_free(job);
    assert_int_equal(atomic_load(&f->finished), 1);
    assert_int_equal(atomic_load(&f->errors_logged), 0);
}

/* A retry whose diarization fails again (here the audio is gone) stays
 * partial with the same result_text, byte for byte, without transcribing. */
static void test_partial_retry_failing_keeps_text(void **state)
{
    fixture *f = *state;
    char clip[400], moved[420], id[STORE_ID_LEN + 1];
    run_to_partial(f, clip, sizeof clip, id);
    fault_off(f);
    store_job *before = get_job(f, id);

    snprintf(moved, sizeof moved, "%s.moved", clip);
    assert_int_equal(rename(clip, moved), 0);
    requeue_partial(f, id, before);
    trace_start(f, id);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_PARTIAL, 20) >= 0);
    assert_true(wait_idle(f->pool, 5) >= 0);
    assert_int_equal(rename(moved, clip), 0);

    check_partial(f, id, 2, "clip-"); /* the message names the missing file */
    store_job *after = get_job(f, id);
    size_t n = strlen(before->result_text);
    assert_int_equal(strlen(after->result_text), n);
    assert_memory_equal(after->result_text, before->result_text, n);
    assert_true(after->audio_duration == before->audio_duration);   /* kept, not re-measured */
    assert_true(after->processing_time >= before->processing_time); /* both attempts */
    assert_string_equal(after->detected_language, before->detected_language);
    assert_true(strcmp(after->completed_at, before->completed_at) >= 0);
    store_job_free(after);
    store_job_free(before);

    phase_trace t = trace_get(f);
    assert_int_equal(t.read_failures, 0);
    assert_int_equal(trace_index(&t, "transcribing"), -1);
    assert_int_equal(t.transcribing_writes, 0);
    assert_int_equal(trace_index(&t, "diarizing"), 0);
    assert_int_equal(trace_index(&t, "formatting"), -1); /* the stored text is not re-rendered */
    assert_float_equal(t.min_diarizing, 60.0, 1e-9);
    assert_true(t.max_diarizing <= 90.0 + 1e-9);
    assert_int_equal(atomic_load(&f->claimed), 2);
    assert_int_equal(atomic_load(&f->finished), 2);
    assert_int_equal(atomic_load(&f->errors_logged), 0);
}

/* Once diarization works, the retry completes the job with speakers, and
 * its words are the first run's: nothing was transcribed again. */
static void test_partial_retry_diarizes_only(void **state)
{
    fixture *f = *state;
    char clip[400], id[STORE_ID_LEN + 1];
    run_to_partial(f, clip, sizeof clip, id);
    store_job *before = get_job(f, id);
    int models_before = atomic_load(&f->models_loaded);

    fault_off(f);
    requeue_partial(f, id, before);
    trace_start(f, id);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_COMPLETED, 20) >= 0);
    assert_true(wait_idle(f->pool, 5) >= 0);

    check_diarized(f, id, 2);
    store_job *after = get_job(f, id);
    assert_same_words(f, before->result_text, after->result_text);
    assert_non_null(strstr(after->result_text, "Entretien à Zürich.wav")); /* source kept */
    assert_non_null(strstr(after->result_text, "\"pocketsphinx\""));
    assert_true(after->audio_duration == before->audio_duration);
    assert_true(after->processing_time >= before->processing_time);
    assert_string_equal(after->detected_language, before->detected_language);
    store_job_free(after);
    store_job_free(before);

    /* diarizing then formatting; no transcribing, no model loaded */
    phase_trace t = trace_get(f);
    assert_int_equal(t.read_failures, 0);
    assert_int_equal(t.n_phases, 2);
    assert_string_equal(t.phases[0], "diarizing");
    assert_string_equal(t.phases[1], "formatting");
    assert_int_equal(t.transcribing_writes, 0);
    assert_float_equal(t.min_diarizing, 60.0, 1e-9);
    assert_true(t.max_diarizing <= 90.0 + 1e-9);
    assert_int_equal(atomic_load(&f->models_loaded), models_before);
    assert_int_equal(atomic_load(&f->claimed), 2);
    assert_int_equal(atomic_load(&f->finished), 2);
    assert_int_equal(atomic_load(&f->errors_logged), 0);
}

/* A diarize retry whose transcript is gone (only a hand-edited database can
 * get there) runs everything instead of finishing with no result. */
static void test_diarize_retry_without_text_runs_all(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1];
    add_job_with(f, CLIP_0870, true, NULL, id);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET retry_stage = 'diarize', attempts = 1, result_text = NULL"
             " WHERE id = '%s'",
             id);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    trace_start(f, id);
    worker_params p = traced_params(f);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_COMPLETED, 30) >= 0);
    assert_true(wait_idle(f->pool, 5) >= 0);
    check_diarized(f, id, 2);
    phase_trace t = trace_get(f);
    assert_int_equal(trace_index(&t, "transcribing"), 0);
    assert_true(trace_index(&t, "diarizing") > 0);
    assert_int_equal(atomic_load(&f->refetch_warnings), 1);
}

static void test_no_diarize_transcribes_to_90(void **state)
{
    fixture *f = *state;
    char id[STORE_ID_LEN + 1];
    add_job_with(f, CLIP_0870, false, NULL, id);
    trace_start(f, id);
    worker_params p = traced_params(f);
    start_pool(f, &p);
    worker_pool_notify(f->pool);
    assert_true(wait_status(f, id, STORE_STATUS_COMPLETED, 30) >= 0);
    assert_true(wait_idle(f->pool, 5) >= 0);
    check_completed(f, id, "consider how much", CLIP_0870_SECONDS);
    store_job *job = get_job(f, id);
    assert_false(job->diarized);
    assert_null(job->diarization_error);
    assert_null(job->diarization_error_code);
    store_job_free(job);

    phase_trace t = trace_get(f);
    assert_int_equal(t.read_failures, 0);
    assert_int_equal(t.n_phases, 2);
    assert_string_equal(t.phases[0], "transcribing");
    assert_string_equal(t.phases[1], "formatting");
    assert_int_equal(t.diarizing_writes, 0);
    /* transcribing owns 0-90 here: it goes beyond the 60 a diarize job
     * stops at, and no further than 90 */
    if (!(t.max_transcribing > 60.0 && t.max_transcribing <= 90.0 + 1e-9))
        fail_msg("transcribing reached %.2f %%; expected (60, 90]", t.max_transcribing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_params_follow_asr_and_fetch),
        cmocka_unit_test_setup_teardown(test_rejects_bad_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_unknown_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_jobs_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_reused_between_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_audio_is_job_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_then_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_by_row_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_requeues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_grace_finishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_wakes_idle_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diarize_job_completes_with_speakers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diarize_failure_ends_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_retry_failing_keeps_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_retry_diarizes_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diarize_retry_without_text_runs_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_diarize_transcribes_to_90, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
