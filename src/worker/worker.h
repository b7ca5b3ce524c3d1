/* worker: the background worker pool `cesar serve` runs. Each worker thread
 * claims the oldest queued job from the job store, runs the pipeline on its
 * audio, writes progress into the job row while it runs, and finishes the row
 * with the transcript (as JSON) or an error. The database row is the record
 * of truth: workers never talk to HTTP clients, and everything a client sees
 * about a job comes from the row.
 *
 * Stages and progress (progress_phase, overall progress):
 *   diarize false: "transcribing" 0-90, "formatting" 90-100 -> completed
 *   diarize true:  "transcribing" 0-60, "diarizing" 60-90, "formatting"
 *                  90-100 -> completed with speaker labels, diarized true
 *                  and speaker_count; or partial when diarization fails:
 *                  the transcript (without speakers) is the result,
 *                  diarized false, and diarization_error(_code) say why
 *                  (code "diarization_failed").
 * Speaker counts: the job's min_speakers/max_speakers, each falling back to
 * the pool's when the job leaves it unset (0); both unset = the engine's
 * own range.
 * Retry of a partial job (store_set_status partial -> queued, which sets
 * retry_stage "diarize" and keeps result_text): no transcription — the
 * words come from result_text, read back as JSON — only "diarizing"
 * (60-90, reading the audio file again for the diarizer) and, when that
 * succeeds, "formatting" (90-100): the labelled transcript replaces
 * result_text and the job is completed, diarized. When it fails again the
 * job stays partial with the same result_text, byte for byte. Either way
 * the row keeps the earlier audio_duration, and processing_time sums both
 * attempts. Without a stored result_text it runs everything.
 *
 * Jobs submitted by link: when the job has a source_url and its audio_path
 * does not exist yet, the worker moves the row processing -> downloading,
 * fetches the link (fetch_get; the cache unless the pool has none) into the
 * job's directory (the directory of audio_path), renames the file to
 * audio_path and moves the row back to processing before transcribing.
 * Phase "downloading" keeps overall progress at 0 and writes
 * download_progress. A failed download ends the job `error` with
 * fetch_error_code's code; a file that is not audio fails like an upload
 * would (audio_invalid). A job re-queued by crash recovery downloads again.
 *
 * The transcript JSON's "source" is the job's original_name when set, else
 * the base name of audio_path (never the server's directory layout).
 *
 * Threads. worker_pool_start starts n_workers threads. notify, cancel and
 * stats may be called from any thread, callbacks included (the pool never
 * holds its lock while calling out); stop and free from one thread at a
 * time, never from a callback (they join the worker threads). Each worker
 * thread owns its own store handle on the same database (store.h recommends
 * one per parallel writer).
 *
 * Waking. Idle workers sleep until worker_pool_notify or until the idle poll
 * interval passes, then try to claim. Jobs created by another process are
 * therefore picked up within that interval even without a notify.
 *
 * Cancellation. A job is stopped by worker_pool_cancel (its worker's cancel
 * flag) or by its row becoming `cancelled` in the store (each worker re-reads
 * the row at least every cancel_check_seconds while the pipeline reports
 * progress), so a DELETE handled by another process works too. A cancelled
 * job stays `cancelled`; it is never finished as an error.
 *
 * Shutdown. worker_pool_stop stops claiming, lets running jobs finish within
 * a grace period, then cancels them and puts their rows back to `queued`, so
 * the next start runs them again.
 *
 * Errors. Functions return a worker_err and write a message into the
 * caller-owned buffer err (capacity errlen; may be NULL/0). The library never
 * prints: messages go to the log callback.
 */
#ifndef CESAR_WORKER_H
#define CESAR_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

#define WORKER_MAX_WORKERS 64

typedef enum {
    WORKER_OK = 0,
    WORKER_ERR_INVALID,     /* bad argument or parameter; message names it */
    WORKER_ERR_NOMEM,       /* allocation failed */
    WORKER_ERR_STORE,       /* the job store failed (open, re-queue); message has details */
    WORKER_ERR_THREAD,      /* a thread could not be started */
    WORKER_ERR_NOT_RUNNING, /* no worker of this pool is running that job */
} worker_err;

const char *worker_strerror(int code);

typedef enum {
    WORKER_LOG_DEBUG = 0,
    WORKER_LOG_INFO,
    WORKER_LOG_WARN,
    WORKER_LOG_ERROR,
} worker_log_level;

/* Called on a worker thread, or on the thread inside worker_pool_start /
 * worker_pool_stop. message is borrowed for the call. Calls from different
 * workers may overlap: the callback must be thread-safe. */
typedef void (*worker_log_cb)(worker_log_level level, const char *message, void *user_data);

/* What just happened to a job row, so a server can wake its event streams
 * (SSE) instead of polling the store. The row has already been written when
 * this is called; re-read it from the store for the details. */
typedef enum {
    WORKER_EVENT_CLAIMED = 0, /* the row became processing */
    WORKER_EVENT_PROGRESS,    /* progress fields written */
    WORKER_EVENT_FINISHED,    /* completed, partial or error written */
    WORKER_EVENT_CANCELLED,   /* the worker stopped because the job was cancelled */
    WORKER_EVENT_REQUEUED,    /* shutdown put the row back to queued */
} worker_event;

/* Called on the worker thread running the job; job_id is borrowed for the
 * call. Must be quick and thread-safe (calls from workers may overlap). */
typedef void (*worker_event_cb)(worker_event event, const char *job_id, void *user_data);

typedef struct {
    const char *db_path; /* job store location (store_params.path); required */
    int n_workers;       /* 1..WORKER_MAX_WORKERS; default 1 */
    /* Used for jobs whose field is empty; NULL/"" = the engine's default. */
    const char *engine;
    const char *model;
    const char *language;
    int threads; /* engine threads per job; <= 0: engine default */
    /* Whisper settings (asr_params): named models live in models_dir; NULL/""
     * task and initial_prompt = the defaults. Copied. */
    const char *models_dir;
    const char *task;
    int beam_size; /* <= 0: 5 */
    const char *initial_prompt;
    bool condition_on_previous_text;
    bool temperature_fallback;
    /* Progress is written to the row at most this often (phase changes are
     * always written). Default 0.5; must be in (0, 1] because the row has to
     * move at least once a second while a job runs. */
    double progress_interval_seconds;
    /* How often an idle worker looks for work without being notified.
     * Default 1.0; must be > 0. */
    double idle_poll_seconds;
    /* How often a running worker re-reads its row to notice a cancellation
     * made directly in the store. Default 0.5; must be > 0. */
    double cancel_check_seconds;
    int busy_timeout_ms; /* store_params.busy_timeout_ms; <= 0: store default */
    worker_log_cb log;   /* may be NULL */
    void *log_user_data;
    worker_event_cb event; /* may be NULL */
    void *event_user_data;
    /* Speaker counts for diarize jobs that leave theirs unset (0); 0 = the
     * diarization engine's default. 1..DIARIZE_MAX_SPEAKERS, min <= max. */
    int min_speakers;
    int max_speakers;
    /* Silero VAD model for the built-in diarization engine (see
     * diarize_params.vad_model); NULL/"" = the build's default. Copied. */
    const char *vad_model;
    /* Diarization engine for jobs that name none ("builtin" or "pyannote";
     * NULL/"" = builtin) and the pyannote engine's settings (see
     * diarize_params): data_dir (for the default models directory), hub,
     * the configured token (never logged; HF_TOKEN and $HF_HOME/token are
     * tried at each job when it is unset, so a token fixed on disk serves
     * the next retry without a restart), window step. Copied. */
    const char *diarization_engine;
    const char *data_dir;
    const char *hub_url;
    bool hub_allow_insecure;
    const char *hf_token;
    int diarization_step_ms; /* <= 0: 1000 */
    bool diarization_fast;   /* pyannote: fast embeddings (diarize_params.fast) */
    /* Whisper: skip long silences with the Silero VAD (vad_model) before
     * decoding (asr_params.vad_filter); default false. */
    bool vad_filter;
    /* Jobs submitted by link (source_url set, no audio file yet) are
     * downloaded first with fetch_get into the job's directory, status
     * `downloading`, phase "downloading", download_progress 0-100. These
     * are its settings (see fetch.h); strings are copied. */
    bool allow_private_urls;          /* default false: refuse private/loopback targets */
    const char *ytdlp_path;           /* NULL/"" = "yt-dlp" from PATH */
    long download_connect_timeout_ms; /* <= 0: fetch's default (10 s) */
    long download_timeout_ms;         /* 0 = none; < 0: fetch's default (an hour) */
    long long download_max_bytes;     /* size cap, as uploads; <= 0: fetch's default (2 GiB) */
    const char *cache_dir;            /* download cache; NULL/"" = no cache */
    double cache_max_age_seconds;     /* <= 0: every lookup misses */
    long long cache_max_bytes;        /* <= 0: no cap */
} worker_params;

worker_params worker_default_params(void);

typedef struct worker_pool worker_pool;

/* Opens one store handle per worker (on the calling thread, so a bad
 * database fails here) and starts the threads. Strings in p are copied.
 * Caller owns *out; free with worker_pool_free. On failure *out is NULL and
 * nothing keeps running. Does not re-queue interrupted jobs: call
 * store_requeue_interrupted first, at startup. */
int worker_pool_start(worker_pool **out, const worker_params *p, char *err, size_t errlen);

/* Wakes one idle worker to look for a job at once (call after queuing one).
 * Never blocks on a running job; a notify that finds no idle worker is kept
 * so the next worker to become idle looks again before sleeping. NULL-safe. */
void worker_pool_notify(worker_pool *pool);

/* Raises the cancel flag of the worker running job_id; the pipeline stops
 * within about a second and the worker makes sure the row is `cancelled`
 * (the server normally sets it first with store_set_status). Returns at once,
 * before the worker has stopped. WORKER_ERR_NOT_RUNNING when no worker of
 * this pool runs that job; WORKER_ERR_INVALID for a NULL pool or a malformed
 * id. */
int worker_pool_cancel(worker_pool *pool, const char *job_id);

/* For /health: *running = worker threads alive and accepting work (0 once
 * stopping), *busy = workers running a job. Either pointer may be NULL. */
void worker_pool_stats(worker_pool *pool, int *running, int *busy);

/* Stops claiming new jobs, waits up to grace_seconds (>= 0) for running
 * jobs to finish, then cancels the rest and puts them back to `queued`
 * (attempts kept, so a later claim counts one more). Joins every thread.
 * A second call (not a concurrent one) does nothing. WORKER_ERR_STORE when a
 * job could not be re-queued (it is then left `processing`, which
 * store_requeue_interrupted at the next startup repairs). */
int worker_pool_stop(worker_pool *pool, double grace_seconds, char *err, size_t errlen);

/* Stops with grace 0 if still running, closes the store handles and frees
 * the pool. NULL-safe. */
void worker_pool_free(worker_pool *pool);

#endif
