/* worker internals shared by the pool (worker.c) and the job runner (job.c).
 * Not a public header: only src/worker/ includes it.
 *
 * Invariant: a slot's job_id and busy change only under pool->lock, and only
 * on the slot's own thread; its cancel flag is the one value other threads
 * write without that thread's involvement (atomically). */
#ifndef CESAR_WORKER_INTERNAL_H
#define CESAR_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "asr/asr.h"
#include "diarize/diarize.h"
#include "store/store.h"
#include "worker/worker.h"

/* Why a running job's cancel flag was raised; 0 = not raised. The value is
 * set once per job (compare-and-swap from 0), so the first reason wins. */
enum {
    WORKER__CANCEL_NONE = 0,
    WORKER__CANCEL_USER,     /* worker_pool_cancel: make sure the row is cancelled */
    WORKER__CANCEL_ROW,      /* the row left `processing` behind our back: leave it alone */
    WORKER__CANCEL_SHUTDOWN, /* grace period over: put the row back to queued */
};

typedef struct worker_pool worker_pool;

typedef struct {
    worker_pool *pool;
    int index;
    char name[32]; /* "worker-1" ...: the store's worker column */
    pthread_t thread;
    bool started; /* thread created (joined by worker_pool_stop) */
    store *db;    /* this worker's own handle; only its thread uses it */
    /* under pool->lock */
    bool busy;
    char job_id[STORE_ID_LEN + 1]; /* "" when idle */
    /* written by any thread, read by the pipeline */
    atomic_int cancel;
    /* The speech engine this worker last used, kept loaded between jobs
     * (loading a model costs a third of a second or more); only its thread
     * touches it. engine_key names engine, model and language. */
    asr_engine *engine;
    char engine_key[1200];
    /* The diarization engine, kept open between jobs the same way; each run
     * sets its speaker counts and callbacks (diarize_set_params). Opened at
     * the first diarize job; closed after a run that did not succeed, so
     * the next one starts from a fresh engine. Only its thread touches it. */
    diarize_engine *diarizer;
} worker_slot;

struct worker_pool {
    worker_params params; /* strings point at the copies below */
    char *db_path, *engine, *model, *language, *vad_model, *ytdlp_path, *cache_dir;
    char *diarization_engine, *data_dir, *hub_url, *hf_token;
    char *models_dir, *task, *initial_prompt;
    worker_slot *slots;
    int n_slots;

    pthread_mutex_t lock;
    pthread_cond_t wake;      /* idle workers wait here: notify, stop */
    pthread_cond_t job_ended; /* stop waits here for busy workers to go idle */
    bool stopping;            /* no new claims; idle workers exit */
    int pending_notifies;     /* notifies not yet consumed by an idle worker */
    bool stopped;             /* threads joined */
    int requeue_failures;     /* jobs left processing by a failed re-queue */
};

/* Logs through the pool's callback (no-op without one). */
void worker__log(const worker_pool *pool, worker_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void worker__event(const worker_pool *pool, worker_event ev, const char *job_id);

/* Runs one claimed job to its end on the slot's thread (job.c): pipeline,
 * progress, result or error, cancellation. Takes ownership of job. */
void worker__run_job(worker_slot *slot, store_job *job);

#endif
