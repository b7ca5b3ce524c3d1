/* worker job runner: what one worker thread does with one claimed job —
 * transcribe, diarize (when asked), format, then finish the row — and how it
 * reports progress and notices cancellation on the way.
 *
 * Invariants. Everything here runs on the worker thread that claimed the job
 * and uses only that worker's store handle, so progress callbacks from the
 * pipeline write the row directly. The row is written by exactly one of:
 * store_finish_job (completed / partial / error), store_set_status
 * (cancelled or re-queued), or nothing (the row left `processing` behind
 * our back — another process cancelled or re-queued it — and is no longer
 * ours to touch).
 *
 * Stages are explicit and each owns a span of the overall 0-100 progress:
 *   without diarization  transcribing 0-90, formatting 90-100
 *   with diarization     transcribing 0-60, diarizing 60-90, formatting 90-100
 * Transcription and diarization are one pipeline_run (which reads the
 * audio twice, once per stage); formatting to JSON is this file's.
 * A transcript, once made, is never thrown away because diarization failed:
 * the job then ends `partial` with the transcript as its result, and a retry
 * of that partial job (retry_stage "diarize") reads the words back from the
 * stored JSON and runs only diarization, alignment and formatting — no
 * speech recognition, no "transcribing" phase — and keeps result_text byte
 * for byte unless diarization now succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fetch/fetch.h"

#include "format/format.h"
#include "pipeline/pipeline.h"
#include "util/util.h"
#include "worker/internal.h"

/* The share of overall progress each stage owns, and its phase name in the
 * job row. write_progress tells phases apart by pointer, hence one array
 * per name shared by both transcribe spans. */
typedef struct {
    const char *phase;
    double start, end;
} stage_span;

static const char PHASE_TRANSCRIBING[] = "transcribing";

static const stage_span SPAN_TRANSCRIBE = {PHASE_TRANSCRIBING, 0.0, 90.0};
static const stage_span SPAN_TRANSCRIBE_BEFORE_DIARIZE = {PHASE_TRANSCRIBING, 0.0, 60.0};
static const stage_span SPAN_DIARIZE = {"diarizing", 60.0, 90.0};
static const stage_span SPAN_FORMAT = {"formatting", 90.0, 100.0};
/* Downloading comes before the job's own work and its length is unknown
 * until it ends, so it owns no share of overall progress: the row's
 * download_progress (phase_pct of this phase) is its measure. */
static const stage_span SPAN_DOWNLOAD = {"downloading", 0.0, 0.0};

/* retry_stage value of a partial job re-queued for diarization only. */
#define RETRY_DIARIZE "diarize"

/* Error codes written to error_code / diarization_error_code; stable,
 * clients match on them. */
#define CODE_AUDIO "audio_invalid"
#define CODE_ENGINE "engine_failed"
#define CODE_INTERNAL "internal"
#define CODE_DIARIZATION_FAILED "diarization_failed"

typedef enum { OUTCOME_OK = 0, OUTCOME_FAILED, OUTCOME_CANCELLED } outcome;

/* The state of one job run, owned by the worker thread's stack. */
typedef struct {
    worker_slot *slot;
    worker_pool *pool;
    const store_job *job;
    const stage_span *transcribe_span; /* 0-90, or 0-60 when diarizing follows */
    double started;                    /* util_now_seconds() at the start */
    const char *last_phase;            /* phase last written; NULL before the first write */
    double last_write;                 /* when progress was last written */
    double last_check;                 /* when the row's status was last confirmed */
    store_status row_status;           /* what the row should say: processing, or
                                          downloading while a link is fetched */
    const char *error_code;            /* set with OUTCOME_FAILED */
    char message[1024];                /* error message for the row / log */
    /* A failed diarize stage: not a job failure, the job ends partial.
     * diarization_code is "" while nothing failed. */
    char diarization_code[32];
    char diarization_message[1536];
    int speaker_count; /* from a diarize stage that succeeded */
} job_run;

static bool cancel_raised(const job_run *r)
{
    return atomic_load(&r->slot->cancel) != WORKER__CANCEL_NONE;
}

/* The row is no longer processing (cancelled or re-queued elsewhere, or
 * purged): stop the pipeline and leave the row as it is. */
static void row_changed(job_run *r)
{
    int expected = WORKER__CANCEL_NONE;
    atomic_compare_exchange_strong(&r->slot->cancel, &expected, WORKER__CANCEL_ROW);
}

static const char *empty_to_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* ---- progress and the cancellation safety net --------------------------- */

/* Re-reads the row at most every cancel_check_seconds, so a cancellation
 * made directly in the store (another process's DELETE) stops this job. */
static void maybe_check_row(job_run *r, double now)
{
    if (now - r->last_check < r->pool->params.cancel_check_seconds)
        return;
    r->last_check = now;
    store_job *row = NULL;
    char err[512] = "";
    int rc = store_get_job(r->slot->db, r->job->id, &row, err, sizeof err);
    if (rc == STORE_ERR_NOT_FOUND || (rc == STORE_OK && row->status != r->row_status))
        row_changed(r);
    else if (rc != STORE_OK)
        worker__log(r->pool, WORKER_LOG_WARN, "%s: job %s: cannot re-read the job: %s",
                    r->slot->name, r->job->id, err);
    store_job_free(row);
}

/* Writes progress for fraction (0..1) of span s, throttled to the progress
 * interval; a phase change is always written. A write that the store refuses
 * as a conflict means the row left `processing`: that doubles as the status
 * check, so a cancelled row is noticed at the next write. */
static void write_progress(job_run *r, const stage_span *s, double fraction)
{
    double now = util_now_seconds();
    if (cancel_raised(r))
        return;
    if (r->last_phase == s->phase &&
        now - r->last_write < r->pool->params.progress_interval_seconds) {
        maybe_check_row(r, now);
        return;
    }
    fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    char err[512] = "";
    int rc =
        store_update_progress(r->slot->db, r->job->id, s->start + (s->end - s->start) * fraction,
                              s->phase, fraction * 100.0, err, sizeof err);
    r->last_write = r->last_check = now;
    r->last_phase = s->phase;
    if (rc == STORE_OK)
        worker__event(r->pool, WORKER_EVENT_PROGRESS, r->job->id);
    else if (rc == STORE_ERR_CONFLICT || rc == STORE_ERR_NOT_FOUND)
        row_changed(r);
    else /* a busy database is no reason to abandon the transcription */
        worker__log(r->pool, WORKER_LOG_WARN, "%s: job %s: cannot write progress: %s",
                    r->slot->name, r->job->id, err);
}

/* Pipeline callback, on this worker's thread. Loading counts as the start
 * of transcribing: the row has no loading phase. */
static void on_pipeline_progress(pipeline_phase phase, double phase_fraction, double overall,
                                 void *user_data)
{
    (void)overall; /* recomputed from the stage spans, the same for a retry */
    job_run *r = user_data;
    if (phase == PIPELINE_PHASE_LOADING)
        write_progress(r, r->transcribe_span, 0.0);
    else if (phase == PIPELINE_PHASE_TRANSCRIBING)
        write_progress(r, r->transcribe_span, phase_fraction);
    else if (phase == PIPELINE_PHASE_DIARIZING)
        write_progress(r, &SPAN_DIARIZE, phase_fraction);
}

/* fetch callback, on this worker's thread. An unknown total (-1) keeps the
 * bar at 0 rather than guessing. */
static void on_fetch_progress(double fraction, long long bytes, void *user_data)
{
    (void)bytes;
    write_progress(user_data, &SPAN_DOWNLOAD, fraction < 0 ? 0.0 : fraction);
}

static void on_asr_log(asr_log_level level, const char *message, void *user_data)
{
    job_run *r = user_data;
    worker_log_level l = level == ASR_LOG_ERROR  ? WORKER_LOG_ERROR
                         : level == ASR_LOG_WARN ? WORKER_LOG_WARN
                         : level == ASR_LOG_INFO ? WORKER_LOG_INFO
                                                 : WORKER_LOG_DEBUG;
    worker__log(r->pool, l, "%s: job %s: %s", r->slot->name, r->job->id, message);
}

/* ---- stages ---------------------------------------------------------------- */

static outcome fail(job_run *r, const char *code, const char *message)
{
    r->error_code = code;
    util_strlcpy(r->message, message, sizeof r->message);
    return OUTCOME_FAILED;
}

/* Points pp at the worker's loaded engine, loading it when the job asks for
 * another engine, model or language than the last one. */
static bool cached_engine(job_run *r, pipeline_params *pp, char *err, size_t errlen)
{
    worker_slot *slot = r->slot;
    char key[sizeof slot->engine_key];
    snprintf(key, sizeof key, "%s|%s|%s", pp->asr.engine ? pp->asr.engine : "",
             pp->asr.model ? pp->asr.model : "", pp->asr.language ? pp->asr.language : "");
    if (slot->engine && strcmp(key, slot->engine_key) != 0) {
        asr_close(slot->engine);
        slot->engine = NULL;
    }
    if (!slot->engine) {
        if (asr_open(&slot->engine, &pp->asr, err, errlen) != ASR_OK)
            return false;
        util_strlcpy(slot->engine_key, key, sizeof slot->engine_key);
    }
    pp->engine = slot->engine;
    return true;
}

/* Points pp at the worker's diarization engine, opening it at first use.
 * When it cannot be opened pp gets none: the pipeline then tries to open
 * one itself and, failing the same way, records a diarization failure —
 * which keeps the transcript, where failing here would lose it. */
static void cached_diarizer(job_run *r, pipeline_params *pp)
{
    worker_slot *slot = r->slot;
    if (slot->diarizer && pp->diarization.engine &&
        strcmp(diarize_engine_name(slot->diarizer), pp->diarization.engine) != 0) {
        diarize_close(slot->diarizer);
        slot->diarizer = NULL;
    }
    if (!slot->diarizer) {
        char err[512] = "";
        diarize_params dp = pp->diarization;
        dp.progress = NULL;
        dp.progress_user_data = NULL;
        dp.cancel = NULL;
        if (diarize_open(&slot->diarizer, &dp, err, sizeof err) != DIARIZE_OK)
            worker__log(r->pool, WORKER_LOG_WARN, "%s: cannot open the diarization engine: %s",
                        slot->name, err);
    }
    pp->diarizer = slot->diarizer;
}

/* After a diarization that failed or was stopped the engine's state is
 * unknown: the next job opens a fresh one. */
static void drop_diarizer(worker_slot *slot)
{
    diarize_close(slot->diarizer);
    slot->diarizer = NULL;
}

/* The job's speaker counts, each unset one (0) taken from the pool. A pool
 * default that contradicts a count the job set itself gives way to it (the
 * server refuses such jobs, but its defaults may differ from the pool's). */
static void speaker_counts(const job_run *r, diarize_params *dp)
{
    const worker_params *d = &r->pool->params;
    const store_job *job = r->job;
    dp->min_speakers = job->min_speakers > 0 ? job->min_speakers : d->min_speakers;
    dp->max_speakers = job->max_speakers > 0 ? job->max_speakers : d->max_speakers;
    if (dp->min_speakers > 0 && dp->max_speakers > 0 && dp->min_speakers > dp->max_speakers) {
        if (job->min_speakers <= 0)
            dp->min_speakers = 0;
        else if (job->max_speakers <= 0)
            dp->max_speakers = 0;
    }
}

/* Pipeline parameters for this job: the job's engine/model/language when
 * set, else the pool's; progress into the row; the worker's cancel flag;
 * diarization as the job asks. */
static pipeline_params job_params(job_run *r)
{
    const worker_params *d = &r->pool->params;
    pipeline_params pp = pipeline_default_params();
    pp.asr.engine = empty_to_null(r->job->engine) ? r->job->engine : d->engine;
    pp.asr.model = empty_to_null(r->job->model_size) ? r->job->model_size : d->model;
    pp.asr.language = empty_to_null(r->job->language) ? r->job->language : d->language;
    pp.asr.n_threads = d->threads;
    pp.asr.models_dir = d->models_dir;
    if (d->task)
        pp.asr.task = d->task;
    if (d->beam_size > 0)
        pp.asr.beam_size = d->beam_size;
    pp.asr.initial_prompt = d->initial_prompt;
    pp.asr.condition_on_previous_text = d->condition_on_previous_text;
    pp.asr.temperature_fallback = d->temperature_fallback;
    pp.asr.vad_filter = d->vad_filter;
    pp.asr.vad_model = d->vad_model;
    pp.asr.log = on_asr_log;
    pp.asr.log_user_data = r;
    pp.progress = on_pipeline_progress;
    pp.progress_user_data = r;
    pp.cancel = &r->slot->cancel;
    pp.diarize = r->job->diarize;
    pp.diarization = diarize_default_params();
    pp.diarization.n_threads = d->threads;
    pp.diarization.vad_model = d->vad_model;
    pp.diarization.engine = empty_to_null(r->job->diarization_engine) ? r->job->diarization_engine
                            : d->diarization_engine ? d->diarization_engine
                                                    : "builtin";
    pp.diarization.models_dir = d->models_dir;
    pp.diarization.data_dir = d->data_dir;
    pp.diarization.hub_url = d->hub_url;
    pp.diarization.hub_allow_insecure = d->hub_allow_insecure;
    pp.diarization.hf_token = d->hf_token;
    pp.diarization.step_seconds = d->diarization_step_ms > 0 ? d->diarization_step_ms / 1000.0 : 1.0;
    pp.diarization.fast = d->diarization_fast;
    speaker_counts(r, &pp.diarization);
    return pp;
}

/* ---- downloading a job submitted by link -------------------------------- */

static bool is_file(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Moves the row between processing and downloading. A conflict means the
 * row was cancelled or re-queued behind our back: stop, leave it alone. */
static outcome move_row(job_run *r, store_status to)
{
    char err[512] = "";
    int rc = store_set_status(r->slot->db, r->job->id, to, NULL, err, sizeof err);
    if (rc == STORE_OK) {
        r->row_status = to;
        worker__event(r->pool, WORKER_EVENT_PROGRESS, r->job->id);
        return OUTCOME_OK;
    }
    if (rc == STORE_ERR_CONFLICT || rc == STORE_ERR_NOT_FOUND) {
        row_changed(r);
        return OUTCOME_CANCELLED;
    }
    return fail(r, CODE_INTERNAL, err);
}

/* The pool's download settings for this job; progress into the row, the
 * worker's cancel flag (fetch kills yt-dlp and removes partial files). */
static fetch_get_params download_params(job_run *r)
{
    const worker_params *d = &r->pool->params;
    fetch_get_params gp = fetch_get_default_params();
    gp.net.allow_private = d->allow_private_urls;
    if (d->ytdlp_path)
        gp.net.ytdlp_path = d->ytdlp_path;
    if (d->download_connect_timeout_ms > 0)
        gp.net.connect_timeout_ms = d->download_connect_timeout_ms;
    if (d->download_timeout_ms >= 0)
        gp.net.total_timeout_ms = d->download_timeout_ms;
    if (d->download_max_bytes > 0)
        gp.net.max_bytes = d->download_max_bytes;
    gp.net.progress = on_fetch_progress;
    gp.net.progress_user_data = r;
    gp.net.cancel = &r->slot->cancel;
    gp.cache_dir = d->cache_dir;
    gp.cache_max_age_seconds = d->cache_max_age_seconds;
    gp.cache_max_bytes = d->cache_max_bytes;
    gp.no_cache = r->job->no_cache;
    return gp;
}

/* A job submitted by link whose audio is not there yet (first run, or a
 * re-run after a crash interrupted the download): fetch it into the job's
 * directory and rename it to audio_path, the name every later stage and a
 * retry read. What the file holds is left to the pipeline, which fails a
 * non-audio file as audio_invalid, exactly as it would an upload. */
static outcome stage_download(job_run *r)
{
    const store_job *job = r->job;
    char dir[4096];
    char err[1536] = "";
    char *got = NULL;
    bool from_cache = false;
    outcome o = OUTCOME_OK;

    if (!empty_to_null(job->source_url) || is_file(job->audio_path))
        return OUTCOME_OK;
    util_strlcpy(dir, job->audio_path ? job->audio_path : "", sizeof dir);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return fail(r, CODE_INTERNAL, "the job has a link but no audio path in a job directory");
    *slash = '\0';
    o = move_row(r, STORE_STATUS_DOWNLOADING);
    if (o != OUTCOME_OK)
        return o;
    write_progress(r, &SPAN_DOWNLOAD, 0.0);
    /* The audio is not there yet, so whatever the job's directory holds was
     * left by an attempt killed half-way (a temp file, yt-dlp's directory). */
    util_remove_tree(dir, true, NULL, 0);
    fetch_get_params gp = download_params(r);
    int rc = fetch_get(job->source_url, dir, &gp, &got, &from_cache, err, sizeof err);
    /* Checked first: a download interrupted by the flag may report any error. */
    if (rc == FETCH_ERR_CANCELLED || (rc != FETCH_OK && cancel_raised(r))) {
        o = OUTCOME_CANCELLED;
        goto cleanup;
    }
    if (rc != FETCH_OK) {
        o = fail(r, fetch_error_code(rc), err[0] ? err : fetch_strerror(rc));
        goto cleanup;
    }
    if (rename(got, job->audio_path) != 0) {
        /* A DELETE removing the job's directory meanwhile lands here too. */
        unlink(got);
        if (cancel_raised(r)) {
            o = OUTCOME_CANCELLED;
        } else {
            snprintf(err, sizeof err, "cannot move the download to %s", job->audio_path);
            o = fail(r, CODE_INTERNAL, err);
        }
        goto cleanup;
    }
    worker__log(r->pool, WORKER_LOG_INFO, "%s: job %s: downloaded%s", r->slot->name, job->id,
                from_cache ? " (from the cache)" : "");
    /* The last step is written whatever the throttle says, so a client
     * always sees download_progress reach 100. */
    r->last_write = -1e9;
    write_progress(r, &SPAN_DOWNLOAD, 1.0);
    o = move_row(r, STORE_STATUS_PROCESSING);

cleanup:
    free(got);
    return o;
}

/* Remembers a failed diarization for the row (the job goes on to partial). */
static void diarization_failed(job_run *r, const char *code, const char *message)
{
    util_strlcpy(r->diarization_code, code && code[0] ? code : CODE_DIARIZATION_FAILED,
                 sizeof r->diarization_code);
    util_strlcpy(r->diarization_message,
                 message && message[0] ? message : "speaker diarization failed",
                 sizeof r->diarization_message);
    worker__log(r->pool, WORKER_LOG_WARN, "%s: job %s: diarization failed (%s): %s", r->slot->name,
                r->job->id, r->diarization_code, r->diarization_message);
}

/* Transcribe, and diarize when the job asks: one pipeline run (0-90). A
 * diarization that failed is no failure here: pipeline_run still returns
 * the transcript, and the reason is kept for a partial row. */
static outcome stage_pipeline(job_run *r, pipeline_result *pr)
{
    pipeline_params pp = job_params(r);
    char err[1536] = "";
    if (!cached_engine(r, &pp, err, sizeof err))
        return fail(r, CODE_ENGINE, err);
    if (pp.diarize)
        cached_diarizer(r, &pp);
    int rc = pipeline_run(r->job->audio_path, &pp, pr, err, sizeof err);
    if (rc != PIPELINE_OK) {
        /* A run that failed or was stopped may leave the decoder in any
         * state: the next job loads a fresh one. */
        asr_close(r->slot->engine);
        r->slot->engine = NULL;
    }
    if (pp.diarize && !(rc == PIPELINE_OK && pr->diarized))
        drop_diarizer(r->slot);
    /* Checked first: an engine interrupted by the flag may report any error. */
    if (rc == PIPELINE_ERR_CANCELLED || (rc != PIPELINE_OK && cancel_raised(r)))
        return OUTCOME_CANCELLED;
    if (rc == PIPELINE_OK) {
        if (pp.diarize && !pr->diarized)
            diarization_failed(r, pr->diarization_error_code, pr->diarization_error);
        r->speaker_count = pr->diarized ? pr->speaker_count : 0;
        return OUTCOME_OK;
    }
    if (rc == PIPELINE_ERR_AUDIO)
        return fail(r, CODE_AUDIO, err);
    if (rc == PIPELINE_ERR_ASR)
        return fail(r, CODE_ENGINE, err);
    return fail(r, CODE_INTERNAL, err[0] ? err : pipeline_strerror(rc));
}

/* Diarize again for a retry (60-90): the words are read back from the
 * stored JSON, the audio is read once more for the diarizer alone. On
 * success pr->transcript holds the labelled words and *meta what the JSON
 * said about the first run. OUTCOME_FAILED is a diarization failure (the
 * job stays partial), never a job failure. */
static outcome stage_rediarize(job_run *r, format_json_meta *meta, pipeline_result *pr)
{
    const store_job *job = r->job;
    transcript *words = NULL;
    char err[1536] = "";
    outcome o = OUTCOME_OK;

    write_progress(r, &SPAN_DIARIZE, 0.0);
    if (format_parse_json(job->result_text, strlen(job->result_text), &words, meta, err,
                          sizeof err) != FORMAT_OK) {
        char msg[1600];
        snprintf(msg, sizeof msg, "the stored transcript cannot be read back: %s", err);
        diarization_failed(r, CODE_DIARIZATION_FAILED, msg);
        o = OUTCOME_FAILED;
        goto cleanup;
    }
    pipeline_params pp = job_params(r);
    cached_diarizer(r, &pp);
    int rc = pipeline_diarize(job->audio_path, &pp, words, pr, err, sizeof err);
    if (rc != PIPELINE_OK)
        drop_diarizer(r->slot);
    if (rc == PIPELINE_ERR_CANCELLED || (rc != PIPELINE_OK && cancel_raised(r))) {
        o = OUTCOME_CANCELLED;
    } else if (rc != PIPELINE_OK) {
        diarization_failed(r, pr->diarization_error_code, err);
        o = OUTCOME_FAILED;
    } else {
        r->speaker_count = pr->speaker_count;
    }

cleanup:
    transcript_free(words);
    return o;
}

/* The name shown as the transcript's source: the client's own file name
 * when the server recorded one, else the file name without its directory,
 * since the directory is the server's private layout. */
static const char *source_name(const store_job *job)
{
    if (empty_to_null(job->original_name))
        return job->original_name;
    const char *slash = job->audio_path ? strrchr(job->audio_path, '/') : NULL;
    return slash ? slash + 1 : job->audio_path;
}

/* Format: the transcript as JSON, which is what result_text holds. */
static outcome stage_format(job_run *r, const transcript *t, const format_meta *meta,
                            util_buf *json)
{
    write_progress(r, &SPAN_FORMAT, 0.0);
    char err[512] = "";
    if (format_render(FORMAT_JSON, t, meta, json, err, sizeof err) == FORMAT_OK)
        return OUTCOME_OK;
    char msg[640];
    snprintf(msg, sizeof msg, "cannot render the transcript: %s", err);
    return fail(r, CODE_INTERNAL, msg);
}

/* The metadata of a fresh transcript. */
static format_meta run_meta(const job_run *r, const pipeline_result *pr)
{
    format_meta meta = format_default_meta();
    meta.engine = pr->engine;
    meta.model = pr->model;
    meta.source = source_name(r->job);
    meta.processing_seconds = util_now_seconds() - r->started;
    meta.created = time(NULL);
    return meta;
}

/* Seconds spent on the job over all attempts that went into its result. */
static double total_processing(const job_run *r)
{
    double took = util_now_seconds() - r->started;
    return r->job->processing_time > 0 ? r->job->processing_time + took : took;
}

/* ---- ending the job ---------------------------------------------------------- */

static void finish_row(job_run *r, const store_job_result *res)
{
    char err[512] = "";
    int rc = store_finish_job(r->slot->db, r->job->id, res, NULL, err, sizeof err);
    if (rc == STORE_OK) {
        worker__event(r->pool, WORKER_EVENT_FINISHED, r->job->id);
        worker__log(r->pool, WORKER_LOG_INFO, "%s: job %s: %s in %.1f s", r->slot->name, r->job->id,
                    store_status_name(res->status), res->processing_time);
    } else if (rc == STORE_ERR_CONFLICT || rc == STORE_ERR_NOT_FOUND) {
        /* Cancelled, re-queued or purged while we finished: the row wins. */
        worker__log(r->pool, WORKER_LOG_INFO, "%s: job %s: finished, but the job %s", r->slot->name,
                    r->job->id, "was cancelled meanwhile; result dropped");
    } else {
        worker__log(r->pool, WORKER_LOG_ERROR,
                    "%s: job %s: cannot record the result (%s); it stays processing until "
                    "the next startup recovery",
                    r->slot->name, r->job->id, err);
    }
}

/* The transcript is the result either way: completed when diarization was
 * not asked for or succeeded, partial when it failed. */
static void finish_transcribed(job_run *r, const pipeline_result *pr, const util_buf *json)
{
    bool failed = r->diarization_code[0] != '\0';
    store_job_result res = store_default_job_result();
    res.status = failed ? STORE_STATUS_PARTIAL : STORE_STATUS_COMPLETED;
    res.result_text = json->data;
    res.detected_language =
        pr->transcript->language[0] ? pr->transcript->language : empty_to_null(pr->language);
    res.diarized = r->job->diarize && !failed;
    res.speaker_count = res.diarized ? r->speaker_count : 0;
    res.diarization_error = failed ? r->diarization_message : NULL;
    res.diarization_error_code = failed ? r->diarization_code : NULL;
    res.audio_duration = pr->audio_seconds;
    res.processing_time = util_now_seconds() - r->started;
    finish_row(r, &res);
}

static void finish_failed(job_run *r, const pipeline_result *pr)
{
    store_job_result res = store_default_job_result();
    res.status = STORE_STATUS_ERROR;
    res.error_message = r->message[0] ? r->message : "unknown error";
    res.error_code = r->error_code;
    res.audio_duration = pr->audio_seconds > 0 ? pr->audio_seconds : -1.0;
    res.processing_time = util_now_seconds() - r->started;
    worker__log(r->pool, WORKER_LOG_WARN, "%s: job %s: %s: %s", r->slot->name, r->job->id,
                r->error_code, res.error_message);
    finish_row(r, &res);
}

/* A user cancel makes sure the row says cancelled (the server normally did
 * it already; then the store refuses cancelled -> cancelled, which is fine).
 * A shutdown cancel puts the row back to queued so a restart runs it. */
static void finish_cancelled(job_run *r)
{
    int why = atomic_load(&r->slot->cancel);
    char err[512] = "";
    int rc = STORE_OK;
    if (why == WORKER__CANCEL_SHUTDOWN) {
        rc = store_set_status(r->slot->db, r->job->id, STORE_STATUS_QUEUED, NULL, err, sizeof err);
        if (rc == STORE_OK) {
            worker__event(r->pool, WORKER_EVENT_REQUEUED, r->job->id);
            worker__log(r->pool, WORKER_LOG_INFO, "%s: job %s: re-queued at shutdown",
                        r->slot->name, r->job->id);
            return;
        }
    } else if (why == WORKER__CANCEL_USER) {
        rc = store_set_status(r->slot->db, r->job->id, STORE_STATUS_CANCELLED, NULL, err,
                              sizeof err);
    }
    if (rc != STORE_OK && rc != STORE_ERR_CONFLICT && rc != STORE_ERR_NOT_FOUND) {
        worker__log(r->pool, WORKER_LOG_ERROR, "%s: job %s: cannot update the stopped job: %s",
                    r->slot->name, r->job->id, err);
        if (why == WORKER__CANCEL_SHUTDOWN) {
            pthread_mutex_lock(&r->pool->lock);
            r->pool->requeue_failures++;
            pthread_mutex_unlock(&r->pool->lock);
        }
        return;
    }
    worker__event(r->pool, WORKER_EVENT_CANCELLED, r->job->id);
    worker__log(r->pool, WORKER_LOG_INFO, "%s: job %s: cancelled", r->slot->name, r->job->id);
}

/* ---- the two ways through a job -------------------------------------------- */

/* Everything from the audio: transcribe, diarize when asked, format. */
static void run_full(job_run *r)
{
    pipeline_result pr;
    memset(&pr, 0, sizeof pr);
    util_buf json = UTIL_BUF_INIT(STORE_MAX_RESULT_TEXT);
    r->transcribe_span = r->job->diarize ? &SPAN_TRANSCRIBE_BEFORE_DIARIZE : &SPAN_TRANSCRIBE;

    /* A failed diarization is remembered in r and the job goes on: the
     * transcript still gets formatted and becomes the partial result. */
    outcome o = stage_download(r);
    if (o == OUTCOME_OK)
        o = stage_pipeline(r, &pr);
    /* A cancel raised after the last stage that polls it still formats and
     * finishes: the work is done, and a cancelled row refuses the result. */
    if (o == OUTCOME_OK) {
        format_meta meta = run_meta(r, &pr);
        o = stage_format(r, pr.transcript, &meta, &json);
    }

    if (o == OUTCOME_CANCELLED)
        finish_cancelled(r);
    else if (o == OUTCOME_FAILED)
        finish_failed(r, &pr);
    else
        finish_transcribed(r, &pr, &json);
    util_buf_free(&json);
    pipeline_result_clear(&pr);
}

/* The row of a retried job: completed with text when diarization now
 * succeeded, else partial with the stored result_text untouched. */
static void finish_retried(job_run *r, const char *text)
{
    const store_job *job = r->job;
    bool ok = text != NULL;
    store_job_result res = store_default_job_result();
    res.status = ok ? STORE_STATUS_COMPLETED : STORE_STATUS_PARTIAL;
    res.result_text = ok ? text : job->result_text;
    res.detected_language = job->detected_language;
    res.diarized = ok;
    res.speaker_count = ok ? r->speaker_count : 0;
    res.diarization_error = ok ? NULL : r->diarization_message;
    res.diarization_error_code = ok ? NULL : r->diarization_code;
    res.audio_duration = job->audio_duration;
    res.processing_time = total_processing(r);
    finish_row(r, &res);
}

/* A partial job retried: its transcript is result_text already, so only
 * diarization (60-90) and, when it succeeds, formatting (90-100) run. The
 * words and their times come from the stored JSON, not from recognising
 * the audio again; the row keeps its audio_duration. processing_time adds
 * this attempt to the earlier one, since both went into the result. */
static void run_diarize_only(job_run *r)
{
    format_json_meta stored;
    pipeline_result pr;
    memset(&stored, 0, sizeof stored);
    memset(&pr, 0, sizeof pr);
    util_buf json = UTIL_BUF_INIT(STORE_MAX_RESULT_TEXT);
    r->transcribe_span = &SPAN_TRANSCRIBE_BEFORE_DIARIZE;

    outcome o = stage_rediarize(r, &stored, &pr);
    if (o == OUTCOME_OK) {
        /* The first run's engine, model, source and date stay: the words are
         * still that run's. The time covers both attempts, like the row's. */
        format_meta meta = format_json_meta_view(&stored);
        meta.processing_seconds = total_processing(r);
        if (stage_format(r, pr.transcript, &meta, &json) != OUTCOME_OK) {
            diarization_failed(r, CODE_DIARIZATION_FAILED, r->message);
            o = OUTCOME_FAILED;
        }
    }
    if (o == OUTCOME_CANCELLED)
        finish_cancelled(r);
    else
        finish_retried(r, o == OUTCOME_OK ? json.data : NULL);
    util_buf_free(&json);
    pipeline_result_clear(&pr);
    format_json_meta_clear(&stored);
}

static bool is_diarize_retry(const store_job *job)
{
    return job->retry_stage && strcmp(job->retry_stage, RETRY_DIARIZE) == 0;
}

void worker__run_job(worker_slot *slot, store_job *job)
{
    job_run r;
    memset(&r, 0, sizeof r);
    r.slot = slot;
    r.pool = slot->pool;
    r.job = job;
    r.started = util_now_seconds();
    r.last_check = r.started;
    r.row_status = STORE_STATUS_PROCESSING; /* what store_claim_next made it */

    worker__log(r.pool, WORKER_LOG_INFO, "%s: job %s: started (attempt %d): %s", slot->name,
                job->id, job->attempts, job->audio_path ? job->audio_path : "(no audio path)");
    if (is_diarize_retry(job) && job->result_text) {
        worker__log(r.pool, WORKER_LOG_INFO, "%s: job %s: retrying diarization only", slot->name,
                    job->id);
        run_diarize_only(&r);
    } else {
        if (is_diarize_retry(job)) /* the store keeps result_text; someone cleared it */
            worker__log(r.pool, WORKER_LOG_WARN,
                        "%s: job %s: diarize-only retry without a stored transcript; "
                        "transcribing again",
                        slot->name, job->id);
        run_full(&r);
    }
    store_job_free(job);
}
