/* store: the persistent job store behind `cesar serve` — the database row is
 * the record of truth for a job. The server creates and lists jobs, workers
 * claim them, report progress and finish them, and startup recovery re-queues
 * jobs a crash interrupted.
 *
 * Backends. The storage sits behind a small vtable (store_backend.h) so a
 * second backend can be added without touching callers. store_params.path
 * picks it: a plain file path, or "sqlite:PATH", is SQLite; any other
 * "scheme://" (postgres:// included, for now) is refused with
 * STORE_ERR_INVALID.
 *
 * Threads. One store handle may be used from several threads at once: each
 * handle owns one database connection and serialises the calls made on it
 * with a mutex, so every call is one consistent step (transactions and error
 * messages cannot interleave). Several handles, in one process or several, may
 * open the same file; SQLite's locking plus the busy timeout arbitrate. For
 * workers that write in parallel, give each its own handle.
 *
 * Durability (SQLite). The database runs in WAL mode with synchronous=NORMAL:
 * a call that returned STORE_OK has committed, and the job survives the
 * process being killed (kill -9) at any later moment, because the WAL frames
 * are in the operating system's page cache before the call returns. A power
 * failure or kernel crash may lose the last transactions (not corrupt the
 * file); that is out of scope, and the reason NORMAL is chosen over FULL
 * (an fsync per job update).
 *
 * Schema. Versioned with PRAGMA user_version (STORE_SCHEMA_VERSION) and
 * upgraded by forward migrations when a database is opened, each in its own
 * transaction. A database written by a newer Cesar is refused.
 *
 * Errors. Every call returns a store_err and writes a message into the
 * caller-owned buffer err (capacity errlen; may be NULL/0). Out-parameters are
 * NULL (or 0) on failure. The library never prints.
 */
#ifndef CESAR_STORE_H
#define CESAR_STORE_H

#include <stdbool.h>
#include <stddef.h>

/* The schema version this code writes and migrates up to. Version 2 added
 * attempts, retry_stage and worker; version 3 added format and
 * original_name; version 4 added no_cache; version 5 diarization_engine. */
#define STORE_SCHEMA_VERSION 5

/* Size limits on text handed to the store, checked before anything is
 * written; a longer value is STORE_ERR_INVALID naming the field. */
#define STORE_MAX_RESULT_TEXT (16u * 1024u * 1024u) /* result_text (the transcript JSON) */
#define STORE_MAX_FIELD 4096u                       /* every other text field */

/* Job list page sizes (store_list_params.limit). */
#define STORE_LIST_DEFAULT_LIMIT 50
#define STORE_LIST_MAX_LIMIT 500

/* Length of a job id ("xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx"), without NUL. */
#define STORE_ID_LEN 36

typedef enum {
    STORE_OK = 0,
    STORE_ERR_NOMEM,     /* allocation failed */
    STORE_ERR_INVALID,   /* bad argument: not a job id, field too long, bad cursor... */
    STORE_ERR_NOT_FOUND, /* no job with that id */
    STORE_ERR_CONFLICT,  /* the job's status does not allow the operation */
    STORE_ERR_OPEN,      /* the database cannot be opened or created; message names it */
    STORE_ERR_VERSION,   /* the database schema is newer than this code */
    STORE_ERR_BUSY,      /* the database stayed locked longer than the busy timeout */
    STORE_ERR_DB,        /* any other database failure; message has the details */
} store_err;

const char *store_strerror(int code);

typedef enum {
    STORE_STATUS_QUEUED = 0,
    STORE_STATUS_DOWNLOADING,
    STORE_STATUS_PROCESSING,
    STORE_STATUS_COMPLETED,
    STORE_STATUS_PARTIAL, /* transcript present, a later stage (diarization) failed */
    STORE_STATUS_ERROR,
    STORE_STATUS_CANCELLED,
    STORE_STATUS_COUNT
} store_status;

/* "queued", "downloading", ...; "unknown" for a value out of range. */
const char *store_status_name(store_status s);
/* Exact lower-case name to status. Returns false (and leaves *out alone)
 * for anything else. */
bool store_status_parse(const char *name, store_status *out);

/* One job. Every char* is owned by the struct (NULL = not set); free the
 * whole job with store_job_free. Conventions for values the database may
 * hold as NULL: integers use 0 for "unset", download/overall progress are
 * never NULL, audio_duration and processing_time are negative when unknown.
 * Timestamps are ISO 8601 UTC with millisecond precision
 * ("2026-11-25T23:16:26.123Z"), so they sort as text. */
typedef struct store_job {
    char *id;                   /* UUID v4, lower-case */
    store_status status;
    char *audio_path;
    char *model_size;
    char *engine;
    char *language;
    char *source_url;           /* for jobs submitted by URL */
    char *created_at;           /* strictly increasing across jobs of one database */
    char *started_at;           /* set by each claim */
    char *completed_at;         /* set when finished or cancelled */
    char *updated_at;           /* every change */
    char *result_text;          /* the transcript as JSON text */
    char *detected_language;
    char *error_message;
    char *error_code;
    double download_progress;   /* 0-100 */
    bool diarize;
    int min_speakers;           /* 0 = unset */
    int max_speakers;           /* 0 = unset */
    double progress;            /* 0-100, the whole job */
    char *progress_phase;       /* "downloading", "transcribing", "diarizing", "formatting" */
    double progress_phase_pct;  /* 0-100, the current phase */
    int speaker_count;          /* 0 = unknown */
    bool diarized;
    char *diarization_error;
    char *diarization_error_code;
    double audio_duration;      /* seconds; negative = unknown */
    double processing_time;     /* seconds; negative = unknown */
    int attempts;               /* how many times a worker claimed the job */
    char *retry_stage;          /* NULL = run everything; "diarize" = only diarization */
    char *worker;               /* name given by the worker holding (or last holding) it */
    /* Schema version 3. */
    char *format;               /* default result format ("txt", "md", "srt", "vtt",
                                   "json"), stored as given; NULL = unset */
    char *original_name;        /* the client's upload file name, for display only */
    /* Schema version 4. */
    bool no_cache;              /* a job by link: download even if the cache has it */
    /* Schema version 5. */
    char *diarization_engine;   /* "builtin" or "pyannote"; NULL = the worker's default */
} store_job;

void store_job_free(store_job *j); /* NULL-safe; frees the strings and j */

typedef struct {
    store_job *items;  /* count jobs, newest first */
    size_t count;
    char *next_cursor; /* pass to the next store_list_jobs; NULL on the last page */
} store_job_list;

void store_job_list_free(store_job_list *l); /* NULL-safe */

/* True when s has the form of a job id (lower-case UUID v4). */
bool store_is_job_id(const char *s);

/* Writes a fresh random job id (UUID v4 from getrandom(2), the generator
 * store_create_job uses) into out, NUL-terminated. Lets a caller create the
 * job's directory before the row, then pass the id in store_job.id. Fails
 * (STORE_ERR_DB, out = "") only when the kernel gives no random bytes. */
int store_new_job_id(char out[STORE_ID_LEN + 1], char *err, size_t errlen);

/* ---- opening ---------------------------------------------------------- */

typedef struct {
    const char *path;    /* database location (see Backends above); required */
    int busy_timeout_ms; /* how long to wait for another writer; default 5000 */
} store_params;

store_params store_default_params(void);

typedef struct store store;

/* Opens (creating it, and its parent directory, if missing) and migrates the
 * database. Caller owns the result; free with store_close. Errors:
 * STORE_ERR_OPEN (message names the file: missing permissions, a directory,
 * not a database), STORE_ERR_VERSION (message names the file and both
 * versions), STORE_ERR_INVALID (no path, unknown scheme). */
int store_open(store **out, const store_params *p, char *err, size_t errlen);
void store_close(store *s); /* NULL-safe */

/* "sqlite". Borrowed, static. */
const char *store_backend_name(const store *s);

/* ---- jobs ------------------------------------------------------------- */

/* Inserts a new job. Reads only these fields of `fields`: id, audio_path,
 * model_size, engine, language, source_url, diarize, min_speakers,
 * max_speakers (min <= max when both are set; negative is invalid), format
 * and original_name (text, stored as given), no_cache, diarization_engine. id NULL: the store generates
 * one; otherwise it must be a job id (store_is_job_id; else
 * STORE_ERR_INVALID, typically from store_new_job_id) that no job has yet
 * (else STORE_ERR_CONFLICT). The store assigns status queued and
 * created_at/updated_at. Caller owns *out; free with store_job_free. */
int store_create_job(store *s, const store_job *fields, store_job **out, char *err,
                     size_t errlen);

/* Caller owns *out; free with store_job_free. STORE_ERR_INVALID when id is
 * not a job id, STORE_ERR_NOT_FOUND when there is no such job. This is the
 * server's hot path (GET /jobs/{id}): the query is prepared once per handle
 * and reused, so a call costs one indexed lookup plus copying the row. */
int store_get_job(store *s, const char *id, store_job **out, char *err, size_t errlen);

typedef struct {
    bool has_status;     /* filter on status when true */
    store_status status;
    int limit;           /* 0 = STORE_LIST_DEFAULT_LIMIT; 1..STORE_LIST_MAX_LIMIT,
                            anything else is STORE_ERR_INVALID (not clamped) */
    const char *cursor;  /* NULL = first page; else a next_cursor from before (borrowed) */
} store_list_params;

store_list_params store_default_list_params(void);

/* Lists jobs newest first (created_at DESC, id DESC). The cursor is opaque;
 * pages are stable: walking them visits every job that existed when the walk
 * began exactly once, whatever is inserted meanwhile. A malformed cursor is
 * STORE_ERR_INVALID. Caller owns *out; free with store_job_list_free. */
int store_list_jobs(store *s, const store_list_params *p, store_job_list **out, char *err,
                    size_t errlen);

/* Counts jobs per status (counts[STORE_STATUS_QUEUED] ...), for /health.
 * Like store_get_job, its query is prepared once per handle. */
int store_count_by_status(store *s, long long counts[STORE_STATUS_COUNT], char *err,
                          size_t errlen);

/* Deletes the job record whatever its status (the purge of DELETE
 * /jobs/{id}?purge=true; cancelling first is the caller's business).
 * STORE_ERR_NOT_FOUND when there is no such job. */
int store_delete_job(store *s, const char *id, char *err, size_t errlen);

/* ---- the job lifecycle -------------------------------------------------- */

/* Atomically takes the oldest queued job (created_at, then id) in a single
 * statement: status processing, started_at now, attempts + 1, worker =
 * worker_name (may be NULL). Two callers never get the same job, whichever
 * handles or processes they use. *out is NULL, with STORE_OK, when nothing is
 * queued. Caller owns *out; free with store_job_free. */
int store_claim_next(store *s, const char *worker_name, store_job **out, char *err,
                     size_t errlen);

/* Records the progress of a downloading or processing job: progress and
 * phase_pct in 0-100, phase may be NULL. STORE_ERR_CONFLICT for a job in any
 * other status (a cancelled job's worker learns it should stop). */
int store_update_progress(store *s, const char *id, double progress, const char *phase,
                          double phase_pct, char *err, size_t errlen);

/* What a worker reports when a job ends. Strings are borrowed for the call. */
typedef struct {
    store_status status;            /* COMPLETED, PARTIAL or ERROR */
    const char *result_text;        /* required for COMPLETED and PARTIAL */
    const char *detected_language;
    const char *error_message;      /* required for ERROR */
    const char *error_code;
    int speaker_count;              /* 0 = unknown */
    bool diarized;
    const char *diarization_error;  /* required for PARTIAL */
    const char *diarization_error_code;
    double audio_duration;          /* negative = unknown */
    double processing_time;         /* negative = unknown */
} store_job_result;

/* status ERROR, everything else empty, durations unknown. */
store_job_result store_default_job_result(void);

/* Ends a downloading or processing job with r: sets the status and the result
 * fields, completed_at, clears retry_stage, and progress 100 for COMPLETED
 * and PARTIAL. STORE_ERR_CONFLICT when the job is in another status (e.g.
 * cancelled meanwhile). out may be NULL; otherwise caller owns *out (the
 * updated job); free with store_job_free. */
int store_finish_job(store *s, const char *id, const store_job_result *r, store_job **out,
                     char *err, size_t errlen);

/* Moves a job to status `to` if the transition is allowed:
 *   queued      -> downloading, processing, cancelled
 *   downloading -> queued, processing, cancelled
 *   processing  -> queued (shutdown re-queue), downloading (a claimed job
 *                  submitted by link fetches its audio), cancelled
 *   error       -> queued   retry everything: clears result, error and
 *                           diarization fields, progress and timestamps
 *   partial     -> queued   retry diarization only: keeps result_text and
 *                           detected_language, clears the diarization error,
 *                           sets retry_stage "diarize"
 * completed and cancelled are final; COMPLETED, PARTIAL and ERROR are reached
 * through store_finish_job. Anything else is STORE_ERR_CONFLICT naming both
 * states. Cancelling sets completed_at. out may be NULL; otherwise caller
 * owns *out; free with store_job_free. */
int store_set_status(store *s, const char *id, store_status to, store_job **out, char *err,
                     size_t errlen);

/* Startup crash recovery: every processing or downloading job goes back to
 * queued (attempts kept, progress reset). *count (may be NULL) receives how
 * many jobs were re-queued. Call before starting workers. */
int store_requeue_interrupted(store *s, int *count, char *err, size_t errlen);

#endif
