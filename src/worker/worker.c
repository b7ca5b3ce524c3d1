/* worker: the pool of background threads that run transcription jobs out of
 * the job store. This file is the pool: starting, waking, cancelling and
 * stopping threads. What one thread does with one job lives in job.c.
 *
 * DESIGN
 * ------
 * Threads. worker_pool_start opens one store handle per worker on the
 * calling thread (so a bad database is an error there, not a log line later)
 * and starts n_workers threads. Each thread owns its slot's store handle for
 * its whole life and is the only one to use it; the pool frees the handles
 * after joining the threads. The caller's threads (the HTTP server) only
 * touch the pool through notify / cancel / stats / stop, which take the pool
 * lock for a few instructions and never wait on a job.
 *
 * The loop of one worker: try store_claim_next; if it returned a job, run it
 * to the end (job.c) and loop at once, since more may be queued; if not,
 * sleep on `wake` until notified, until the idle poll interval passes, or
 * until stop. The claim is one SQL statement, so however many workers (or
 * processes) race, each job is taken once. The database row is the record
 * of truth: workers report only by writing rows (plus the optional event
 * callback), never to HTTP clients.
 *
 * What wakes whom:
 *   worker_pool_notify  -> one idle worker (cond `wake`); if none is idle the
 *                          notify is counted, so the next worker to go idle
 *                          claims again instead of sleeping (no lost wakeup
 *                          between an empty claim and the sleep).
 *   worker_pool_stop    -> every idle worker (broadcast `wake`), which exit;
 *                          waits on `job_ended` for busy ones.
 *   a worker ending a job -> `job_ended` (broadcast), for stop.
 *   worker_pool_cancel  -> no wakeup: it raises the slot's atomic cancel flag,
 *                          which the pipeline polls between audio chunks.
 *
 * Ownership. The pool owns copies of every parameter string, the slots and
 * the store handles. A claimed store_job is owned by the worker thread that
 * claimed it until the job ends. Slot fields busy/job_id are written only by
 * the slot's own thread under the lock; other threads read them under the
 * lock. The cancel flag is reset by the slot's thread when a job begins and
 * raised by anyone (compare-and-swap from 0, so the first reason sticks).
 *
 * Stop. `stopping` is set under the lock; a worker that claimed a job just
 * before noticing it puts the job straight back to queued. After the grace
 * period the running jobs get WORKER__CANCEL_SHUTDOWN and their workers put
 * them back to queued themselves (processing -> queued is an allowed
 * transition), so only this pool's jobs are touched; then every thread is
 * joined. No global state: everything hangs off the pool.
 */
#include "worker/worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"
#include "fetch/fetch.h"
#include "worker/internal.h"

const char *worker_strerror(int code)
{
    switch (code) {
    case WORKER_OK:
        return "ok";
    case WORKER_ERR_INVALID:
        return "invalid argument";
    case WORKER_ERR_NOMEM:
        return "out of memory";
    case WORKER_ERR_STORE:
        return "job store error";
    case WORKER_ERR_THREAD:
        return "cannot start a thread";
    case WORKER_ERR_NOT_RUNNING:
        return "no worker is running that job";
    default:
        return "unknown error";
    }
}

worker_params worker_default_params(void)
{
    worker_params p;
    memset(&p, 0, sizeof p);
    p.n_workers = 1;
    p.progress_interval_seconds = 0.5;
    p.idle_poll_seconds = 1.0;
    p.cancel_check_seconds = 0.5;
    p.download_timeout_ms = -1;
    /* The cache's and Whisper's own defaults, so the two never drift apart. */
    fetch_cache_params cp = fetch_cache_default_params();
    p.cache_max_age_seconds = cp.max_age_seconds;
    p.cache_max_bytes = cp.max_bytes;
    asr_params ap = asr_default_params();
    p.beam_size = ap.beam_size;
    p.condition_on_previous_text = ap.condition_on_previous_text;
    p.temperature_fallback = ap.temperature_fallback;
    return p;
}

void worker__log(const worker_pool *pool, worker_log_level level, const char *fmt, ...)
{
    if (!pool->params.log)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pool->params.log(level, msg, pool->params.log_user_data);
}

void worker__event(const worker_pool *pool, worker_event ev, const char *job_id)
{
    if (pool->params.event)
        pool->params.event(ev, job_id, pool->params.event_user_data);
}

/* ---- time ------------------------------------------------------------- */

/* The conds use CLOCK_MONOTONIC, so a wall-clock jump neither wakes every
 * idle worker nor stretches a grace period. */
static struct timespec deadline_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (seconds < 0)
        seconds = 0;
    if (seconds > 1e6) /* keep tv_sec far from overflow */
        seconds = 1e6;
    long long ns =
        (long long)ts.tv_nsec + (long long)((seconds - (double)(long long)seconds) * 1e9);
    ts.tv_sec += (time_t)seconds + (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

static int init_cond(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

/* ---- the worker thread ------------------------------------------------ */

static bool is_stopping(worker_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    bool s = pool->stopping;
    pthread_mutex_unlock(&pool->lock);
    return s;
}

/* Sleeps until notified, stopped or the idle poll interval passed. */
static void wait_for_work(worker_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    if (!pool->stopping && pool->pending_notifies == 0) {
        struct timespec until = deadline_after(pool->params.idle_poll_seconds);
        pthread_cond_timedwait(&pool->wake, &pool->lock, &until);
    }
    if (pool->pending_notifies > 0)
        pool->pending_notifies--;
    pthread_mutex_unlock(&pool->lock);
}

/* Marks the slot busy with job, unless the pool began stopping after the
 * claim: then the job goes straight back to queued, since nobody will wait
 * for it. Returns true when the job should run. */
static bool begin_job(worker_slot *slot, const store_job *job)
{
    worker_pool *pool = slot->pool;
    pthread_mutex_lock(&pool->lock);
    bool run = !pool->stopping;
    if (run) {
        slot->busy = true;
        util_strlcpy(slot->job_id, job->id, sizeof slot->job_id);
        atomic_store(&slot->cancel, WORKER__CANCEL_NONE);
    }
    pthread_mutex_unlock(&pool->lock);
    if (run) {
        worker__event(pool, WORKER_EVENT_CLAIMED, job->id);
        return true;
    }
    char err[512] = "";
    int rc = store_set_status(slot->db, job->id, STORE_STATUS_QUEUED, NULL, err, sizeof err);
    if (rc == STORE_OK) {
        worker__event(pool, WORKER_EVENT_REQUEUED, job->id);
    } else {
        worker__log(pool, WORKER_LOG_ERROR, "%s: job %s: cannot re-queue at shutdown: %s",
                    slot->name, job->id, err);
        pthread_mutex_lock(&pool->lock);
        pool->requeue_failures++;
        pthread_mutex_unlock(&pool->lock);
    }
    return false;
}

static void end_job(worker_slot *slot)
{
    worker_pool *pool = slot->pool;
    pthread_mutex_lock(&pool->lock);
    slot->busy = false;
    slot->job_id[0] = '\0';
    pthread_cond_broadcast(&pool->job_ended);
    pthread_mutex_unlock(&pool->lock);
}

static void *worker_main(void *arg)
{
    worker_slot *slot = arg;
    worker_pool *pool = slot->pool;
    char err[512];

    worker__log(pool, WORKER_LOG_DEBUG, "%s: started", slot->name);
    while (!is_stopping(pool)) {
        store_job *job = NULL;
        err[0] = '\0';
        int rc = store_claim_next(slot->db, slot->name, &job, err, sizeof err);
        if (rc != STORE_OK) {
            /* A locked or failing database is retried after the poll interval,
             * rather than ending the thread: the store may recover. */
            worker__log(pool, WORKER_LOG_WARN, "%s: cannot claim a job: %s", slot->name, err);
            wait_for_work(pool);
            continue;
        }
        if (!job) {
            wait_for_work(pool);
            continue;
        }
        if (begin_job(slot, job)) {
            worker__run_job(slot, job); /* takes ownership of job */
            end_job(slot);
        } else {
            store_job_free(job);
        }
    }
    asr_close(slot->engine);
    slot->engine = NULL;
    diarize_close(slot->diarizer);
    slot->diarizer = NULL;
    worker__log(pool, WORKER_LOG_DEBUG, "%s: exiting", slot->name);
    return NULL;
}

/* ---- starting ---------------------------------------------------------- */

static int check_params(const worker_params *p, char *err, size_t errlen)
{
    if (!p || !p->db_path || !p->db_path[0])
        return util_errf(err, errlen, WORKER_ERR_INVALID, "worker pool: no database path");
    if (p->n_workers < 1 || p->n_workers > WORKER_MAX_WORKERS)
        return util_errf(err, errlen, WORKER_ERR_INVALID,
                         "worker pool: %d workers requested; allowed 1 to %d", p->n_workers,
                         WORKER_MAX_WORKERS);
    if (!(p->progress_interval_seconds > 0 && p->progress_interval_seconds <= 1.0))
        return util_errf(err, errlen, WORKER_ERR_INVALID,
                         "worker pool: progress interval %g s; must be in (0, 1]",
                         p->progress_interval_seconds);
    if (!(p->idle_poll_seconds > 0) || !(p->cancel_check_seconds > 0))
        return util_errf(err, errlen, WORKER_ERR_INVALID,
                         "worker pool: idle poll and cancel check intervals must be > 0");
    /* The same rules as a job's own counts, so a default never makes a job
     * fail that the server accepted. */
    diarize_params dp = diarize_default_params();
    dp.min_speakers = p->min_speakers;
    dp.max_speakers = p->max_speakers;
    char why[256];
    if (diarize_check_params(&dp, why, sizeof why) != DIARIZE_OK)
        return util_errf(err, errlen, WORKER_ERR_INVALID, "worker pool: %s", why);
    return WORKER_OK;
}

/* *dst = a copy of src, or NULL for NULL/""; false when out of memory. */
static bool copy_optional(const char *src, char **dst)
{
    *dst = src && src[0] ? util_strdup(src) : NULL;
    return !(src && src[0]) || *dst;
}

/* Copies p into pool, strings included; "" becomes NULL (= engine default). */
static int copy_params(worker_pool *pool, const worker_params *p)
{
    pool->params = *p;
    pool->db_path = util_strdup(p->db_path);
    bool ok = pool->db_path != NULL;
    ok = copy_optional(p->engine, &pool->engine) && ok;
    ok = copy_optional(p->model, &pool->model) && ok;
    ok = copy_optional(p->language, &pool->language) && ok;
    ok = copy_optional(p->vad_model, &pool->vad_model) && ok;
    ok = copy_optional(p->diarization_engine, &pool->diarization_engine) && ok;
    ok = copy_optional(p->data_dir, &pool->data_dir) && ok;
    ok = copy_optional(p->hub_url, &pool->hub_url) && ok;
    ok = copy_optional(p->hf_token, &pool->hf_token) && ok;
    ok = copy_optional(p->ytdlp_path, &pool->ytdlp_path) && ok;
    ok = copy_optional(p->cache_dir, &pool->cache_dir) && ok;
    ok = copy_optional(p->models_dir, &pool->models_dir) && ok;
    ok = copy_optional(p->task, &pool->task) && ok;
    ok = copy_optional(p->initial_prompt, &pool->initial_prompt) && ok;
    if (!ok)
        return WORKER_ERR_NOMEM;
    pool->params.db_path = pool->db_path;
    pool->params.engine = pool->engine;
    pool->params.model = pool->model;
    pool->params.language = pool->language;
    pool->params.vad_model = pool->vad_model;
    pool->params.diarization_engine = pool->diarization_engine;
    pool->params.data_dir = pool->data_dir;
    pool->params.hub_url = pool->hub_url;
    pool->params.hf_token = pool->hf_token;
    pool->params.ytdlp_path = pool->ytdlp_path;
    pool->params.cache_dir = pool->cache_dir;
    pool->params.models_dir = pool->models_dir;
    pool->params.task = pool->task;
    pool->params.initial_prompt = pool->initial_prompt;
    return WORKER_OK;
}

/* Frees everything start allocated; the threads must be joined already. */
static void pool_destroy(worker_pool *pool, bool sync_init)
{
    for (int i = 0; pool->slots && i < pool->n_slots; i++)
        store_close(pool->slots[i].db);
    free(pool->slots);
    free(pool->db_path);
    free(pool->engine);
    free(pool->model);
    free(pool->language);
    free(pool->vad_model);
    free(pool->diarization_engine);
    free(pool->data_dir);
    free(pool->hub_url);
    free(pool->hf_token);
    free(pool->ytdlp_path);
    free(pool->cache_dir);
    free(pool->models_dir);
    free(pool->task);
    free(pool->initial_prompt);
    if (sync_init) {
        pthread_cond_destroy(&pool->job_ended);
        pthread_cond_destroy(&pool->wake);
        pthread_mutex_destroy(&pool->lock);
    }
    free(pool);
}

static int init_sync(worker_pool *pool)
{
    if (pthread_mutex_init(&pool->lock, NULL) != 0)
        return -1;
    if (init_cond(&pool->wake) != 0) {
        pthread_mutex_destroy(&pool->lock);
        return -1;
    }
    if (init_cond(&pool->job_ended) != 0) {
        pthread_cond_destroy(&pool->wake);
        pthread_mutex_destroy(&pool->lock);
        return -1;
    }
    return 0;
}

static int open_slots(worker_pool *pool, char *err, size_t errlen)
{
    pool->slots = calloc((size_t)pool->params.n_workers, sizeof *pool->slots);
    if (!pool->slots)
        return util_errf(err, errlen, WORKER_ERR_NOMEM, "worker pool: out of memory");
    pool->n_slots = pool->params.n_workers;
    store_params sp = store_default_params();
    sp.path = pool->db_path;
    if (pool->params.busy_timeout_ms > 0)
        sp.busy_timeout_ms = pool->params.busy_timeout_ms;
    for (int i = 0; i < pool->n_slots; i++) {
        worker_slot *slot = &pool->slots[i];
        slot->pool = pool;
        slot->index = i;
        snprintf(slot->name, sizeof slot->name, "worker-%d", i + 1);
        atomic_init(&slot->cancel, WORKER__CANCEL_NONE);
        char serr[512] = "";
        if (store_open(&slot->db, &sp, serr, sizeof serr) != STORE_OK)
            return util_errf(err, errlen, WORKER_ERR_STORE, "worker pool: %s", serr);
    }
    return WORKER_OK;
}

static int start_threads(worker_pool *pool, char *err, size_t errlen)
{
    for (int i = 0; i < pool->n_slots; i++) {
        worker_slot *slot = &pool->slots[i];
        int rc = pthread_create(&slot->thread, NULL, worker_main, slot);
        if (rc != 0)
            return util_errf(err, errlen, WORKER_ERR_THREAD, "worker pool: cannot start %s: %s",
                             slot->name, strerror(rc));
        slot->started = true;
    }
    return WORKER_OK;
}

int worker_pool_start(worker_pool **out, const worker_params *p, char *err, size_t errlen)
{
    worker_pool *pool = NULL;
    bool sync_init = false;
    int rc;

    if (!out)
        return util_errf(err, errlen, WORKER_ERR_INVALID, "worker pool: no place for the pool");
    *out = NULL;
    rc = check_params(p, err, errlen);
    if (rc != WORKER_OK)
        return rc;
    pool = calloc(1, sizeof *pool);
    if (!pool)
        return util_errf(err, errlen, WORKER_ERR_NOMEM, "worker pool: out of memory");
    if (copy_params(pool, p) != WORKER_OK) {
        rc = util_errf(err, errlen, WORKER_ERR_NOMEM, "worker pool: out of memory");
        goto cleanup;
    }
    /* libcurl's global setup is not thread-safe: it must happen here, on
     * the starting thread, before any worker downloads a link. */
    char ferr[256] = "";
    if (fetch_global_init(ferr, sizeof ferr) != FETCH_OK) {
        rc = util_errf(err, errlen, WORKER_ERR_INVALID, "worker pool: %s", ferr);
        goto cleanup;
    }
    if (init_sync(pool) != 0) {
        rc = util_errf(err, errlen, WORKER_ERR_THREAD, "worker pool: cannot create a lock");
        goto cleanup;
    }
    sync_init = true;
    rc = open_slots(pool, err, errlen);
    if (rc == WORKER_OK)
        rc = start_threads(pool, err, errlen);
    if (rc == WORKER_OK) {
        worker__log(pool, WORKER_LOG_INFO, "worker pool: %d worker(s) on %s", pool->n_slots,
                    pool->db_path);
        *out = pool;
        return WORKER_OK;
    }

cleanup:
    if (sync_init) /* some threads may be running: stop and join them */
        worker_pool_stop(pool, 0, NULL, 0);
    pool_destroy(pool, sync_init);
    return rc;
}

/* ---- calls from other threads ------------------------------------------ */

static int count_busy(const worker_pool *pool)
{
    int n = 0;
    for (int i = 0; i < pool->n_slots; i++)
        n += pool->slots[i].busy;
    return n;
}

void worker_pool_notify(worker_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    /* More pending notifies than workers would only make idle workers spin
     * through empty claims. */
    if (pool->pending_notifies < pool->n_slots)
        pool->pending_notifies++;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

int worker_pool_cancel(worker_pool *pool, const char *job_id)
{
    if (!pool || !job_id || !store_is_job_id(job_id))
        return WORKER_ERR_INVALID;
    int rc = WORKER_ERR_NOT_RUNNING;
    pthread_mutex_lock(&pool->lock);
    for (int i = 0; i < pool->n_slots; i++) {
        worker_slot *slot = &pool->slots[i];
        if (slot->busy && strcmp(slot->job_id, job_id) == 0) {
            int expected = WORKER__CANCEL_NONE;
            atomic_compare_exchange_strong(&slot->cancel, &expected, WORKER__CANCEL_USER);
            rc = WORKER_OK;
            break;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return rc;
}

void worker_pool_stats(worker_pool *pool, int *running, int *busy)
{
    int r = 0, b = 0;
    if (pool) {
        pthread_mutex_lock(&pool->lock);
        r = pool->stopping ? 0 : pool->n_slots;
        b = count_busy(pool);
        pthread_mutex_unlock(&pool->lock);
    }
    if (running)
        *running = r;
    if (busy)
        *busy = b;
}

/* ---- stopping ------------------------------------------------------------ */

/* Under the lock: waits for busy workers until the deadline, then raises the
 * shutdown cancel flag of those still busy. Returns how many were cancelled. */
static int drain_or_cancel(worker_pool *pool, double grace_seconds)
{
    struct timespec until = deadline_after(grace_seconds);
    while (count_busy(pool) > 0) {
        if (pthread_cond_timedwait(&pool->job_ended, &pool->lock, &until) == ETIMEDOUT)
            break;
    }
    int cancelled = 0;
    for (int i = 0; i < pool->n_slots; i++) {
        if (!pool->slots[i].busy)
            continue;
        int expected = WORKER__CANCEL_NONE;
        atomic_compare_exchange_strong(&pool->slots[i].cancel, &expected, WORKER__CANCEL_SHUTDOWN);
        cancelled++;
    }
    return cancelled;
}

int worker_pool_stop(worker_pool *pool, double grace_seconds, char *err, size_t errlen)
{
    if (!pool)
        return util_errf(err, errlen, WORKER_ERR_INVALID, "worker pool: no pool");
    pthread_mutex_lock(&pool->lock);
    if (pool->stopped) {
        pthread_mutex_unlock(&pool->lock);
        return WORKER_OK;
    }
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    int cancelled = drain_or_cancel(pool, grace_seconds);
    pthread_mutex_unlock(&pool->lock);
    if (cancelled > 0)
        worker__log(pool, WORKER_LOG_INFO,
                    "worker pool: grace period over, re-queueing %d running job(s)", cancelled);

    for (int i = 0; i < pool->n_slots; i++) {
        if (pool->slots[i].started) {
            pthread_join(pool->slots[i].thread, NULL);
            pool->slots[i].started = false;
        }
    }
    pthread_mutex_lock(&pool->lock);
    pool->stopped = true;
    int failures = pool->requeue_failures;
    pthread_mutex_unlock(&pool->lock);
    if (failures > 0)
        return util_errf(err, errlen, WORKER_ERR_STORE,
                         "worker pool: %d job(s) could not be re-queued and stay processing "
                         "until the next startup recovery",
                         failures);
    return WORKER_OK;
}

void worker_pool_free(worker_pool *pool)
{
    if (!pool)
        return;
    worker_pool_stop(pool, 0, NULL, 0);
    pool_destroy(pool, true);
}
