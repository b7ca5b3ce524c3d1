/* test_api_jobs_lifecycle: a job's life after POST /transcribe, per
 * docs/api.md — the Server-Sent Events stream (job events with rising
 * progress, phase transcribing, a final done event, the stream closing by
 * itself); live progress seen by polling; DELETE of running, queued,
 * cancelled and finished jobs (200, 204 with purge, 409) and what it leaves
 * on disk; POST /jobs/{id}/retry of an error job (everything reruns) and of
 * a partial one (only diarization reruns; the words are kept); speaker
 * diarization (a two-voice recording comes back with a speaker on every
 * segment); 409 invalid_state and no_result where the status forbids the
 * operation.
 *
 * One server with one worker, so jobs queue behind each other in a known
 * order. An error job is made for real: its audio file is moved away inside
 * DATA/jobs/ID/ while it waits behind a long job. A partial job is made for
 * real too, by a second server started with CESAR_FAULT_DIARIZE naming a
 * file that exists (the diarizer then fails); deleting the file lets its
 * retry succeed. The server's diarize default is on, so tests that assume
 * no speakers say diarize=false.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool str_is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *or_none(const char *s)
{
    return s ? s : "none";
}

/* ---- SSE -------------------------------------------------------------------------- */

static void test_events(th_server *s, const char *audio)
{
    char *id = th_submit(s, audio, "talk.wav", NULL);
    if (!id)
        return;
    th_sse_stream *st = th_sse_collect(s, th_strf("/jobs/%s/events", id), 120);
    TH_CHECK(st->status == 200, "GET /events -> 200 (got %ld)", st->status);
    TH_CHECK(st->content_type && strncmp(st->content_type, "text/event-stream", 17) == 0,
             "events are text/event-stream (got %s)", or_none(st->content_type));
    TH_CHECK(st->ended, "the server closed the stream by itself (curl: %s after %.1f s)",
             curl_easy_strerror(st->code), st->seconds);
    th_note("%zu events in %.1f s", st->count, st->seconds);
    if (!TH_CHECK(st->count >= 2, "at least a first job event and a done event (got %zu)",
                  st->count)) {
        th_sse_free(st);
        free(id);
        return;
    }
    th_sse_event *first = &st->events[0], *last = &st->events[st->count - 1];
    const char *fs = th_jstr(first->json, "status");
    TH_CHECK(str_is(first->event, "job") && (str_is(fs, "queued") || str_is(fs, "processing")),
             "first event: job with status queued or processing (got event %s, status %s)",
             first->event, or_none(fs));
    TH_CHECK(str_is(last->event, "done") && str_is(th_jstr(last->json, "status"), "completed"),
             "last event: done with status completed (got %s, %s)", last->event,
             or_none(th_jstr(last->json, "status")));
    TH_CHECK(th_jnum(last->json, "progress", -1) == 100, "done event has progress 100 (got %g)",
             th_jnum(last->json, "progress", -1));

    bool all_job = true, ids_ok = true, json_ok = true, monotonic = true, no_text = true;
    bool transcribing = false;
    int distinct = 0, same_phase = 0;
    double prev_p = -1;
    long prev_id = -1;
    for (size_t i = 0; i < st->count; i++) {
        th_sse_event *e = &st->events[i];
        if (i + 1 < st->count && !str_is(e->event, "job"))
            all_job = false;
        char *end = NULL;
        long n = e->id ? strtol(e->id, &end, 10) : -1;
        if (!e->id || *end || n <= prev_id)
            ids_ok = false;
        prev_id = n;
        if (!json_is_object(e->json) || !str_is(th_jstr(e->json, "id"), id))
            json_ok = false;
        if (json_object_get(e->json, "result_text"))
            no_text = false;
        double p = th_jnum(e->json, "progress", -1);
        if (p < prev_p)
            monotonic = false;
        if (p > prev_p && p > 0 && p < 100)
            distinct++;
        prev_p = p;
        if (str_is(th_jstr(e->json, "progress_phase"), "transcribing"))
            transcribing = true;
        /* progress-only changes (same status and phase as before) */
        if (i > 0 &&
            str_is(th_jstr(e->json, "status"), th_jstr(st->events[i - 1].json, "status")) &&
            str_is(th_jstr(e->json, "progress_phase"),
                   th_jstr(st->events[i - 1].json, "progress_phase")))
            same_phase++;
    }
    TH_CHECK(all_job, "every event before the last is event: job");
    TH_CHECK(ids_ok, "every event has an id: counter, increasing");
    TH_CHECK(json_ok, "every data: line is this job as JSON on one line");
    TH_CHECK(no_text, "event data omit result_text");
    TH_CHECK(monotonic, "progress never goes down across events");
    TH_CHECK(distinct >= 3, "progress rises through at least 3 values between 0 and 100 (got %d)",
             distinct);
    TH_CHECK(transcribing, "an event shows progress_phase transcribing");
    /* at most one progress event per 0.25 s, counted over the whole stream
     * so that events the network delivers together do not matter */
    int allowed = (int)(st->seconds / 0.25) + 3;
    TH_CHECK(same_phase <= allowed,
             "progress events come at most every 0.25 s "
             "(%d in %.1f s; at most %d)",
             same_phase, st->seconds, allowed);
    th_sse_free(st);
    free(id);
}

/* ---- live progress ---------------------------------------------------------------------- */

static const char *const NO_DIARIZE[] = {"diarize", "false", NULL};
static const char *const DIARIZE[] = {"diarize", "true", NULL};

static void test_polling(th_server *s, const char *audio)
{
    char *id = th_submit(s, audio, "talk-x2.wav", NO_DIARIZE);
    if (!id)
        return;
    json_t *j = th_wait_running(s, id, 0, 60);
    json_decref(j);
    double prev = -1, last_change = th_now(), max_gap = 0;
    char prev_updated[64] = "";
    int polls = 0, increases = 0;
    bool monotonic = true, in_range = true;
    const char *final = NULL;
    double t0 = th_now();
    while (th_now() - t0 < 120) {
        j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        if (!str_is(st, "processing")) {
            final = st ? th_strf("%s", st) : NULL;
            json_decref(j);
            break;
        }
        polls++;
        double p = th_jnum(j, "progress", -1);
        const char *phase = th_jstr(j, "progress_phase");
        if (str_is(phase, "transcribing") && p > 90)
            in_range = false;
        if (prev >= 0 && p < prev)
            monotonic = false;
        if (prev >= 0 && p > prev)
            increases++;
        prev = p;
        const char *up = th_jstr(j, "updated_at");
        if (up && strcmp(up, prev_updated) != 0) {
            double now = th_now();
            if (prev_updated[0] && now - last_change > max_gap)
                max_gap = now - last_change;
            last_change = now;
            snprintf(prev_updated, sizeof prev_updated, "%s", up);
        }
        json_decref(j);
        th_sleep(0.3);
    }
    th_note("polled %d times while processing; %d increases; longest wait for a change %.2f s",
            polls, increases, max_gap);
    TH_CHECK(polls >= 5, "the job was seen processing over several polls (%d)", polls);
    TH_CHECK(monotonic, "polled progress never goes down");
    TH_CHECK(increases >= 3, "polled progress increased between polls at least 3 times (%d)",
             increases);
    TH_CHECK(in_range, "while transcribing without diarization, progress stays within 0-90");
    TH_CHECK(max_gap <= 2.5,
             "the running job's row changes at least about once a second "
             "(longest gap seen %.2f s)",
             max_gap);
    TH_CHECK(str_is(final, "completed"), "the polled job completed (got %s)", or_none(final));
    free(id);
}

/* ---- DELETE ------------------------------------------------------------------------------- */

static int busy_workers(th_server *s)
{
    th_response *r = th_getf(s, "/health");
    int busy = (int)th_jnum(r->json, "worker.busy", -1);
    th_response_free(r);
    return busy;
}

/* Waits up to `within` seconds for the job to read cancelled and its
 * directory to be gone; returns the seconds it took, or -1. */
static double wait_cancelled_and_gone(th_server *s, const char *id, double within)
{
    char *dir = th_strf("%s/%s", s->jobs_dir, id);
    double t0 = th_now();
    do {
        json_t *j = th_get_job(s, id);
        bool cancelled = str_is(th_jstr(j, "status"), "cancelled");
        json_decref(j);
        if (cancelled && !th_path_exists(dir))
            return th_now() - t0;
        th_sleep(0.05);
    } while (th_now() - t0 < within);
    return -1;
}

static void test_delete(th_server *s, const char *long_audio)
{
    char *id = th_submit(s, long_audio, "long.wav", NULL);
    if (!id)
        return;
    TH_CHECK(th_path_exists(th_strf("%s/%s", s->jobs_dir, id)),
             "a submitted job has its directory DATA/jobs/ID");
    json_t *j = th_wait_running(s, id, 0, 60);
    bool running = str_is(th_jstr(j, "status"), "processing");
    json_decref(j);
    if (!TH_CHECK(running, "the long job is processing with progress > 0")) {
        free(id);
        return;
    }
    th_response *r = th_request(s, "DELETE", th_strf("/jobs/%s", id), NULL, NULL, 0);
    TH_CHECK(r->status == 200 && str_is(th_jstr(r->json, "status"), "cancelled"),
             "DELETE a running job -> 200 with status cancelled (%s)", th_describe(r));
    TH_CHECK(str_is(th_jstr(r->json, "id"), id), "the DELETE body is the job");
    th_response_free(r);
    double took = wait_cancelled_and_gone(s, id, 2.0);
    TH_CHECK(took >= 0, "within 2 s the job reads cancelled and DATA/jobs/ID is gone (%s)",
             took >= 0 ? th_strf("%.2f s", took) : "not in time");
    double t0 = th_now();
    int busy = -1;
    while (th_now() - t0 < 2.0 && (busy = busy_workers(s)) != 0)
        th_sleep(0.05);
    TH_CHECK(busy == 0, "the engine stops: /health worker.busy is 0 within 2 s (got %d)", busy);
    th_note("the worker was free %.2f s after the DELETE was answered", took + th_now() - t0);

    /* the worker is free: a short job goes through at once */
    char *next = th_submit(s, th_clip("0880"), "next.wav", NULL);
    t0 = th_now();
    j = next ? th_wait_job(s, next, "completed,partial,error,cancelled", 30) : NULL;
    TH_CHECK(str_is(th_jstr(j, "status"), "completed"),
             "a job submitted after the cancel completes (%.1f s, status %s)", th_now() - t0,
             or_none(th_jstr(j, "status")));
    json_decref(j);

    r = th_request(s, "DELETE", th_strf("/jobs/%s", id), NULL, NULL, 0);
    TH_CHECK(r->status == 200 && str_is(th_jstr(r->json, "status"), "cancelled"),
             "DELETE of a cancelled job again -> 200 cancelled (%s)", th_describe(r));
    th_response_free(r);
    r = th_getf(s, "/jobs/%s/result", id);
    th_expect_error(r, 409, "no_result", NULL, "GET /result of a cancelled job");
    th_response_free(r);
    r = th_request(s, "POST", th_strf("/jobs/%s/retry", id), NULL, NULL, 0);
    th_expect_error(r, 409, "invalid_state", NULL, "POST /retry of a cancelled job");
    th_response_free(r);

    if (next) {
        r = th_request(s, "DELETE", th_strf("/jobs/%s", next), NULL, NULL, 0);
        th_expect_error(r, 409, "invalid_state", NULL, "DELETE of a completed job");
        th_response_free(r);
        j = th_get_job(s, next);
        TH_CHECK(str_is(th_jstr(j, "status"), "completed"), "the refused DELETE left it completed");
        json_decref(j);
        r = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", next), NULL, NULL, 0);
        TH_CHECK(r->status == 204 && r->body_len == 0,
                 "DELETE ?purge=true of a completed job -> 204 with no body (%s)", th_describe(r));
        th_response_free(r);
        r = th_getf(s, "/jobs/%s", next);
        th_expect_error(r, 404, "not_found", NULL, "GET of a purged job");
        th_response_free(r);
        TH_CHECK(!th_path_exists(th_strf("%s/%s", s->jobs_dir, next)),
                 "a purged job's directory is gone");
    }
    r = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", id), NULL, NULL, 0);
    TH_CHECK(r->status == 204, "DELETE ?purge=true of a cancelled job -> 204 (%s)", th_describe(r));
    th_response_free(r);
    r = th_getf(s, "/jobs/%s", id);
    TH_CHECK(r->status == 404, "the purged cancelled job is gone (%s)", th_describe(r));
    th_response_free(r);

    /* purge of a queued job and of a running one */
    char *runner = th_submit(s, long_audio, "long2.wav", NULL);
    char *waiter = th_submit(s, th_clip("0930"), "waiter.wav", NULL);
    if (runner && waiter) {
        j = th_get_job(s, waiter);
        TH_CHECK(str_is(th_jstr(j, "status"), "queued"), "a job behind a long one is queued (%s)",
                 or_none(th_jstr(j, "status")));
        json_decref(j);
        r = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", waiter), NULL, NULL, 0);
        TH_CHECK(r->status == 204, "DELETE ?purge=true of a queued job -> 204 (%s)",
                 th_describe(r));
        th_response_free(r);
        r = th_getf(s, "/jobs/%s", waiter);
        TH_CHECK(r->status == 404, "the purged queued job is gone (%s)", th_describe(r));
        th_response_free(r);
        TH_CHECK(!th_path_exists(th_strf("%s/%s", s->jobs_dir, waiter)),
                 "the purged queued job's directory is gone");
        j = th_wait_running(s, runner, 0, 60);
        json_decref(j);
        r = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", runner), NULL, NULL, 0);
        TH_CHECK(r->status == 204, "DELETE ?purge=true of a running job -> 204 (%s)",
                 th_describe(r));
        th_response_free(r);
        t0 = th_now();
        while (th_now() - t0 < 2.0 && (busy = busy_workers(s)) != 0)
            th_sleep(0.05);
        TH_CHECK(busy == 0, "purging a running job stops its engine within 2 s (busy %d)", busy);
        TH_CHECK(!th_path_exists(th_strf("%s/%s", s->jobs_dir, runner)),
                 "the purged running job's directory is gone");
    }
    free(runner);
    free(waiter);
    free(next);
    free(id);
}

/* ---- retry of an error job ------------------------------------------------------------------ */

/* The single file in DATA/jobs/ID (the stored upload). Harness-owned path. */
static const char *stored_audio(th_server *s, const char *id)
{
    char *dir = th_strf("%s/%s", s->jobs_dir, id);
    char first[256];
    int n = th_dir_count(dir, first, sizeof first);
    if (!TH_CHECK(n >= 1, "DATA/jobs/%s holds the upload (%d entries)", id, n))
        return NULL;
    json_t *j = th_get_job(s, id);
    const char *ap = th_jstr(j, "audio_path");
    const char *path = NULL;
    if (ap && th_path_exists(ap) && strstr(ap, id))
        path = th_strf("%s", ap);
    else if (n == 1)
        path = th_strf("%s/%s", dir, first);
    json_decref(j);
    TH_CHECK(path != NULL, "found the stored audio of %s (%s)", id, or_none(path));
    return path;
}

static void test_retry_error(th_server *s, const char *long_audio)
{
    char *blocker = th_submit(s, long_audio, "blocker.wav", NULL);
    if (!blocker)
        return;
    json_t *j = th_wait_running(s, blocker, 0, 60);
    json_decref(j);
    char *id = th_submit(s, th_clip("0920"), "victim.wav", NULL);
    if (!id) {
        free(blocker);
        return;
    }
    th_response *r = th_request(s, "POST", th_strf("/jobs/%s/retry", id), NULL, NULL, 0);
    th_expect_error(r, 409, "invalid_state", NULL, "POST /retry of a queued job");
    th_response_free(r);

    const char *audio = stored_audio(s, id);
    const char *away = audio ? th_strf("%s.away", audio) : NULL;
    bool moved = audio && TH_CHECK(rename(audio, away) == 0, "moved the queued job's audio away");
    r = th_request(s, "DELETE", th_strf("/jobs/%s", blocker), NULL, NULL, 0);
    th_response_free(r);
    if (!moved) {
        free(id);
        free(blocker);
        return;
    }
    j = th_wait_job(s, id, "completed,partial,error,cancelled", 60);
    TH_CHECK(str_is(th_jstr(j, "status"), "error"), "without its audio the job ends error (%s)",
             or_none(th_jstr(j, "status")));
    const char *em = th_jstr(j, "error_message");
    TH_CHECK(em && *em, "the error job has an error_message (%s)", or_none(em));
    TH_CHECK(th_jstr(j, "error_code") != NULL, "the error job has an error_code (%s)",
             or_none(th_jstr(j, "error_code")));
    TH_CHECK(th_jnum(j, "attempts", -1) == 1, "the error job has attempts 1 (got %g)",
             th_jnum(j, "attempts", -1));
    json_decref(j);
    r = th_getf(s, "/jobs/%s/result", id);
    th_expect_error(r, 409, "no_result", NULL, "GET /result of an error job");
    th_response_free(r);
    r = th_request(s, "DELETE", th_strf("/jobs/%s", id), NULL, NULL, 0);
    th_expect_error(r, 409, "invalid_state", NULL, "DELETE of an error job without purge");
    th_response_free(r);

    bool restored = rename(away, audio) == 0;
    if (!restored) {
        /* the server removed the directory of the failed job: put the clip back */
        th_note("DATA/jobs/%s/ was removed when the job failed; restoring the clip there", id);
        char *dir = th_strf("%s/%s", s->jobs_dir, id);
        const char *mk[] = {"mkdir", "-p", dir, NULL};
        const char *cp[] = {"cp", th_clip("0920"), audio, NULL};
        restored = th_run(mk) && th_run(cp);
    }
    TH_CHECK(restored, "restored the audio file");
    r = th_request(s, "POST", th_strf("/jobs/%s/retry", id), NULL, NULL, 0);
    TH_CHECK(r->status == 202 && str_is(th_jstr(r->json, "status"), "queued"),
             "POST /retry of an error job -> 202 with status queued (%s)", th_describe(r));
    TH_CHECK(th_jnull(r->json, "error_message") && th_jnull(r->json, "error_code"),
             "the re-queued job's error is cleared");
    th_response_free(r);
    j = th_wait_job(s, id, "completed,partial,error,cancelled", 60);
    TH_CHECK(str_is(th_jstr(j, "status"), "completed"), "the retried job completes (%s: %s)",
             or_none(th_jstr(j, "status")), or_none(th_jstr(j, "error_message")));
    TH_CHECK(th_jnum(j, "attempts", -1) == 2, "the retried job has attempts 2 (got %g)",
             th_jnum(j, "attempts", -1));
    char missing[256];
    double share = th_words_found(th_jstr(j, "result_text"), "0920", missing, sizeof missing);
    TH_CHECK(share >= 0.5, "the retried job's transcript has the clip's words (%.0f%%; missing %s)",
             share * 100, missing);
    json_decref(j);
    r = th_request(s, "POST", th_strf("/jobs/%s/retry", id), NULL, NULL, 0);
    th_expect_error(r, 409, "invalid_state", NULL, "POST /retry of a completed job");
    th_response_free(r);
    free(id);
    free(blocker);
}

/* ---- diarization ----------------------------------------------------------------------------- */

/* The JSON rendering of a job's result (caller owns), NULL unless 200. */
static json_t *result_json(th_server *s, const char *id)
{
    th_response *r = th_getf(s, "/jobs/%s/result?format=json", id);
    json_t *j = NULL;
    if (TH_CHECK(r->status == 200 && json_is_object(r->json),
                 "GET /result?format=json -> 200 JSON (%s)", th_describe(r)))
        j = json_incref(r->json);
    th_response_free(r);
    return j;
}

/* Segments with a "Speaker N" label, and all segments. */
static size_t labelled_segments(const json_t *result, size_t *total)
{
    json_t *segs = th_jget(result, "segments");
    size_t n = 0, i;
    json_t *seg;
    *total = json_array_size(segs);
    json_array_foreach(segs, i, seg)
    {
        const char *sp = th_jstr(seg, "speaker");
        if (sp && strncmp(sp, "Speaker ", 8) == 0)
            n++;
    }
    return n;
}

static void test_diarized(th_server *s, const char *two_voices)
{
    char *id = th_submit(s, two_voices, "two voices.wav", DIARIZE);
    if (!id)
        return;
    th_sse_stream *st = th_sse_collect(s, th_strf("/jobs/%s/events", id), 60);
    /* the phases in order, each within its share of the whole */
    int last_rank = -1;
    bool ordered = true, ranges = true;
    for (size_t i = 0; i < st->count; i++) {
        const char *ph = th_jstr(st->events[i].json, "progress_phase");
        double p = th_jnum(st->events[i].json, "progress", -1);
        int rank = str_is(ph, "transcribing") ? 0
                   : str_is(ph, "diarizing")  ? 1
                   : str_is(ph, "formatting") ? 2
                                              : -1;
        if (rank < 0)
            continue;
        if (rank < last_rank)
            ordered = false;
        last_rank = rank;
        if ((rank == 0 && p > 60) || (rank == 1 && (p < 60 || p > 90)) || (rank == 2 && p < 90))
            ranges = false;
    }
    TH_CHECK(st->ended, "the diarize job's event stream ends (%zu events)", st->count);
    TH_CHECK(ordered, "phases go transcribing, diarizing, formatting, never back");
    TH_CHECK(ranges, "transcribing stays in 0-60, diarizing in 60-90, formatting 90-100");
    th_sse_free(st);

    json_t *j = th_wait_job(s, id, "completed,partial,error,cancelled", 60);
    TH_CHECK(str_is(th_jstr(j, "status"), "completed"), "diarize=true completes (%s: %s)",
             or_none(th_jstr(j, "status")), or_none(th_jstr(j, "diarization_error")));
    TH_CHECK(json_is_true(th_jget(j, "diarize")) && json_is_true(th_jget(j, "diarized")),
             "diarize true, diarized true");
    double speakers = th_jnum(j, "speaker_count", -1);
    TH_CHECK(speakers >= 1 && speakers <= 8, "speaker_count %g is 1..8 (the default range)",
             speakers);
    TH_CHECK(th_jnull(j, "diarization_error") && th_jnull(j, "diarization_error_code"),
             "a diarized job has no diarization error");
    json_decref(j);

    json_t *res = result_json(s, id);
    size_t total = 0, labelled = res ? labelled_segments(res, &total) : 0;
    TH_CHECK(total >= 1 && labelled == total,
             "every segment of the JSON result has a speaker (%zu of %zu)", labelled, total);
    size_t i;
    json_t *seg;
    bool in_range = true;
    json_array_foreach(th_jget(res, "segments"), i, seg)
    {
        const char *sp = th_jstr(seg, "speaker");
        int n = sp ? atoi(sp + 8) : 0;
        if (n < 1 || n > speakers)
            in_range = false;
    }
    TH_CHECK(in_range, "speaker labels run from Speaker 1 to Speaker %g", speakers);
    json_decref(res);

    /* without diarization: no speakers, speaker_count not set */
    char *plain = th_submit(s, two_voices, "two voices.wav", NO_DIARIZE);
    j = plain ? th_wait_job(s, plain, "completed,partial,error,cancelled", 60) : NULL;
    TH_CHECK(str_is(th_jstr(j, "status"), "completed") && json_is_false(th_jget(j, "diarize")) &&
                 json_is_false(th_jget(j, "diarized")) && th_jnull(j, "speaker_count"),
             "diarize=false completes without speakers (%s, speaker_count %g)",
             or_none(th_jstr(j, "status")), th_jnum(j, "speaker_count", -1));
    json_decref(j);
    res = plain ? result_json(s, plain) : NULL;
    labelled = res ? labelled_segments(res, &total) : 1;
    TH_CHECK(labelled == 0, "no segment has a speaker without diarization (%zu)", labelled);
    json_decref(res);
    free(plain);
    free(id);

    /* a recording without speech: diarized, no speakers, speaker_count 0 */
    const char *quiet = th_audio_silent_wav("silence.wav", 44 + 5 * 32000);
    char *sid = quiet ? th_submit(s, quiet, "silence.wav", DIARIZE) : NULL;
    j = sid ? th_wait_job(s, sid, "completed,partial,error,cancelled", 60) : NULL;
    TH_CHECK(str_is(th_jstr(j, "status"), "completed") && json_is_true(th_jget(j, "diarized")),
             "silence with diarize=true completes diarized (%s: %s)", or_none(th_jstr(j, "status")),
             or_none(th_jstr(j, "diarization_error")));
    json_t *count = th_jget(j, "speaker_count");
    TH_CHECK(json_is_integer(count) && json_integer_value(count) == 0,
             "speaker_count is 0 for silence (got %g)", th_jnum(j, "speaker_count", -1));
    json_decref(j);
    free(sid);
}

/* ---- partial ----------------------------------------------------------------------------------
 */

/* Words of a JSON result (text, start, end), flattened; caller decrefs. */
static json_t *result_words(const json_t *result)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *seg, *w;
    json_array_foreach(th_jget(result, "segments"), i, seg)
    {
        json_array_foreach(json_object_get(seg, "words"), k, w)
        {
            json_array_append_new(out, json_pack("[O, O, O]", json_object_get(w, "text"),
                                                 json_object_get(w, "start"),
                                                 json_object_get(w, "end")));
        }
    }
    return out;
}

/* Waits for a retried job to end; also polls its phase meanwhile, so a
 * transcription rerun would show even if the event stream missed it. */
static json_t *wait_retry(th_server *s, const char *id, bool *saw_transcribing, double *took)
{
    double t0 = th_now();
    json_t *j = NULL;
    while (th_now() - t0 < 60) {
        json_decref(j);
        j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        if (str_is(th_jstr(j, "progress_phase"), "transcribing") && str_is(st, "processing"))
            *saw_transcribing = true;
        if (str_is(st, "completed") || str_is(st, "partial") || str_is(st, "error") ||
            str_is(st, "cancelled"))
            break;
        th_sleep(0.02);
    }
    *took = th_now() - t0;
    return j;
}

/* Posts a retry of a partial job and follows its event stream to the end.
 * Returns the final job (caller owns) and whether any sign of
 * transcription showed. */
static json_t *retry_partial(th_server *s, const char *id, bool *transcribed, double *took)
{
    *transcribed = false;
    double t0 = th_now();
    th_response *r = th_request(s, "POST", th_strf("/jobs/%s/retry", id), NULL, NULL, 0);
    TH_CHECK(r->status == 202 && str_is(th_jstr(r->json, "status"), "queued"),
             "POST /retry of a partial job -> 202 queued (%s)", th_describe(r));
    TH_CHECK(th_jnull(r->json, "diarization_error_code"),
             "the re-queued job's diarization error is cleared");
    th_response_free(r);
    th_sse_stream *st = th_sse_collect(s, th_strf("/jobs/%s/events", id), 60);
    for (size_t i = 0; i < st->count; i++)
        if (str_is(th_jstr(st->events[i].json, "progress_phase"), "transcribing"))
            *transcribed = true;
    TH_CHECK(st->ended && st->count >= 1, "the retry's event stream ends (%zu events)", st->count);
    th_sse_free(st);
    json_t *j = wait_retry(s, id, transcribed, took);
    *took = th_now() - t0;
    return j;
}

/* fault names the file whose existence makes the server's diarizer fail.
 * A retry that wrongly transcribed again would show in its event stream, in
 * the polled phase, and in its time against the first run's. */
static void test_partial(th_server *s, const char *audio, const char *fault)
{
    char *id = th_submit(s, audio, "diarize.wav", DIARIZE);
    if (!id)
        return;
    json_t *j = th_wait_job(s, id, "completed,partial,error,cancelled", 60);
    TH_CHECK(str_is(th_jstr(j, "status"), "partial"),
             "diarize=true ends partial when the diarizer fails (got %s)",
             or_none(th_jstr(j, "status")));
    TH_CHECK(str_is(th_jstr(j, "diarization_error_code"), "diarization_failed"),
             "diarization_error_code diarization_failed (got %s)",
             or_none(th_jstr(j, "diarization_error_code")));
    const char *de = th_jstr(j, "diarization_error");
    TH_CHECK(de && strstr(de, "CESAR_FAULT_DIARIZE"), "diarization_error says why (%s)",
             or_none(de));
    TH_CHECK(json_is_true(th_jget(j, "diarize")) && json_is_false(th_jget(j, "diarized")),
             "diarize true, diarized false");
    TH_CHECK(th_jnull(j, "speaker_count") || th_jnum(j, "speaker_count", -1) == 0,
             "no speaker_count without speakers (%g)", th_jnum(j, "speaker_count", -1));
    double first_time = th_jnum(j, "processing_time", -1);
    double duration = th_jnum(j, "audio_duration", -1);
    const char *text = th_jstr(j, "result_text");
    char *before = text ? strdup(text) : NULL;
    TH_CHECK(before && th_words_found(before, "0920", NULL, 0) >= 0.5,
             "the partial job keeps its transcript");
    json_decref(j);
    json_t *partial = result_json(s, id);
    size_t total = 0;
    TH_CHECK(partial && labelled_segments(partial, &total) == 0 && total > 0,
             "the partial result's %zu segments have no speaker", total);
    th_response *r = th_request(s, "DELETE", th_strf("/jobs/%s", id), NULL, NULL, 0);
    th_expect_error(r, 409, "invalid_state", NULL, "DELETE of a partial job without purge");
    th_response_free(r);

    /* retried while the diarizer still fails: partial again, same result */
    bool transcribed = false;
    double took = 0;
    j = retry_partial(s, id, &transcribed, &took);
    TH_CHECK(!transcribed, "the failing retry never shows progress_phase transcribing");
    TH_CHECK(str_is(th_jstr(j, "status"), "partial"), "the retried job ends partial again (%s)",
             or_none(th_jstr(j, "status")));
    TH_CHECK(before && str_is(th_jstr(j, "result_text"), before),
             "the retried job's result_text is identical");
    TH_CHECK(str_is(th_jstr(j, "diarization_error_code"), "diarization_failed"),
             "the retry fails diarization the same way (%s)",
             or_none(th_jstr(j, "diarization_error_code")));
    TH_CHECK(th_jnum(j, "attempts", -1) == 2, "the retried partial job has attempts 2 (got %g)",
             th_jnum(j, "attempts", -1));
    json_decref(j);

    /* the diarizer works again: the retry completes with speakers */
    TH_CHECK(unlink(fault) == 0, "removed the fault file %s", fault);
    j = retry_partial(s, id, &transcribed, &took);
    TH_CHECK(!transcribed, "the retry never shows progress_phase transcribing");
    TH_CHECK(str_is(th_jstr(j, "status"), "completed"), "the retry completes (%s: %s)",
             or_none(th_jstr(j, "status")), or_none(th_jstr(j, "diarization_error")));
    TH_CHECK(json_is_true(th_jget(j, "diarized")) && th_jnum(j, "speaker_count", -1) >= 1,
             "the retried job is diarized with speaker_count %g", th_jnum(j, "speaker_count", -1));
    TH_CHECK(th_jnull(j, "diarization_error") && th_jnull(j, "diarization_error_code"),
             "the diarization error is gone");
    TH_CHECK(th_jnum(j, "attempts", -1) == 3, "attempts 3 (got %g)", th_jnum(j, "attempts", -1));
    TH_CHECK(th_jnum(j, "audio_duration", -1) == duration, "audio_duration kept (%g, was %g)",
             th_jnum(j, "audio_duration", -1), duration);
    /* transcribing this audio took first_time; the retry must not have */
    th_note("first run %.2f s of processing; the successful retry took %.2f s", first_time, took);
    TH_CHECK(first_time > 0 && took < first_time / 2,
             "the retry (%.2f s) took well under the transcribing run (%.2f s)", took, first_time);
    json_decref(j);
    json_t *done = result_json(s, id);
    total = 0;
    size_t labelled = done ? labelled_segments(done, &total) : 0;
    TH_CHECK(total > 0 && labelled == total, "every segment now has a speaker (%zu of %zu)",
             labelled, total);
    json_t *w0 = result_words(partial), *w1 = result_words(done);
    TH_CHECK(json_array_size(w0) > 0 && json_equal(w0, w1),
             "the words and their times are the partial result's (%zu and %zu words)",
             json_array_size(w0), json_array_size(w1));
    TH_CHECK(str_is(th_jstr(done, "text"), th_jstr(partial, "text")),
             "the whole text is the partial result's");
    TH_CHECK(str_is(th_jstr(done, "source"), "diarize.wav"), "the source name is kept (%s)",
             or_none(th_jstr(done, "source")));
    json_decref(w0);
    json_decref(w1);
    json_decref(done);
    json_decref(partial);
    free(before);
    free(id);
}

int main(void)
{
    th_init("test_api_jobs_lifecycle");
    const char *talk = th_audio_rounds("talk.wav", 1);     /* ~25 s: seconds of work */
    const char *talk2 = th_audio_rounds("talk-x2.wav", 2); /* ~50 s */
    const char *lng = th_audio_rounds("long.wav", 10);     /* ~4 min: ~45 s of work */
    const char *two = th_audio_two_voices("two-voices.wav");
    th_server *s = th_server_start("lifecycle", &(th_server_opts){.workers = 1});
    if (s && talk && talk2 && lng) {
        test_events(s, talk);
        test_polling(s, talk2);
        test_delete(s, lng);
        test_retry_error(s, lng);
        if (two)
            test_diarized(s, two);
        th_response *r = th_getf(s, "/health");
        TH_CHECK(r->status == 200, "the server is still up (%s)", th_describe(r));
        th_response_free(r);
        th_server_stop(s, SIGTERM, 10); /* the CPU for the next server */
    }
    /* a server whose diarizer fails while the fault file exists */
    const char *fault = th_write_file("diarize-fault", "", 0);
    th_server *f =
        fault ? th_server_start("faulty",
                                &(th_server_opts){
                                    .workers = 1,
                                    .extra_env = {th_strf("CESAR_FAULT_DIARIZE=%s", fault)},
                                })
              : NULL;
    if (f)
        test_partial(f, th_clip("0920"), fault); /* ~6 s: a second or two of work */
    return th_finish();
}
