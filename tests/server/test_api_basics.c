/* test_api_basics: the everyday routes of `cesar serve` against docs/api.md —
 * /health's shape; POST /transcribe's happy path (202, Location, every job
 * field, ISO 8601 timestamps); a job run to completion with a transcript that
 * contains words of the clip's reference transcript; GET /result in all five
 * formats and the default format; GET /jobs pagination, filtering and its
 * 422s; 404 for unknown routes and ids, 405 with Allow for wrong methods,
 * 409 job_not_finished; /openapi.json and /docs; the diarize default (on
 * unless the server's configuration turns it off, as a second server with
 * CESAR_DIARIZE=false shows). The happy-path job says diarize=false, since
 * its results are checked without speaker labels.
 *
 * One server (one worker) serves the whole file; jobs are LibriVox clips, so
 * the file runs in well under a minute on two cores.
 */
#include "harness.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- job shape ---------------------------------------------------------------- */

/* Allowed JSON kinds per field: s string, t timestamp string, n null,
 * d number, i integer, b boolean, o object. */
typedef struct {
    const char *name;
    const char *kinds;
} field_spec;

static const field_spec job_fields[] = {
    {"id", "s"},
    {"status", "s"},
    {"filename", "s"},
    {"audio_path", "sn"},
    {"model_size", "s"},
    {"engine", "s"},
    {"language", "s"},
    {"format", "s"},
    {"created_at", "t"},
    {"started_at", "tn"},
    {"completed_at", "tn"},
    {"updated_at", "t"},
    {"detected_language", "sn"},
    {"error_message", "sn"},
    {"error_code", "sn"},
    {"download_progress", "d"},
    {"diarize", "b"},
    {"min_speakers", "in"},
    {"max_speakers", "in"},
    {"progress", "d"},
    {"progress_phase", "sn"},
    {"progress_phase_pct", "d"},
    {"speaker_count", "in"},
    {"diarized", "b"},
    {"diarization_error", "sn"},
    {"diarization_error_code", "sn"},
    {"audio_duration", "dn"},
    {"processing_time", "dn"},
    {"attempts", "i"},
    {"source_url", "sn"},
    {"links", "o"},
};

static bool kind_ok(const json_t *v, const char *kinds)
{
    for (const char *k = kinds; *k; k++) {
        switch (*k) {
        case 's':
            if (json_is_string(v))
                return true;
            break;
        case 't':
            if (th_is_timestamp(json_string_value(v)))
                return true;
            break;
        case 'n':
            if (json_is_null(v))
                return true;
            break;
        case 'd':
            if (json_is_number(v))
                return true;
            break;
        case 'i':
            if (json_is_integer(v))
                return true;
            break;
        case 'b':
            if (json_is_boolean(v))
                return true;
            break;
        case 'o':
            if (json_is_object(v))
                return true;
            break;
        }
    }
    return false;
}

static void add_problem(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_problem(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* result_text: 'y' must be present, 'n' must be absent, '?' either. */
static bool check_job_shape(const json_t *job, const char *what, char result_text)
{
    char problems[2048] = "";
#define PROBLEM(...) add_problem(problems, sizeof problems, __VA_ARGS__)
    if (!json_is_object(job)) {
        return TH_CHECK(false, "%s: is a JSON object", what);
    }
    for (size_t i = 0; i < sizeof job_fields / sizeof job_fields[0]; i++) {
        json_t *v = json_object_get(job, job_fields[i].name);
        if (!v)
            PROBLEM(" %s missing;", job_fields[i].name);
        else if (!kind_ok(v, job_fields[i].kinds))
            PROBLEM(" %s has the wrong type or form;", job_fields[i].name);
    }
    json_t *rt = json_object_get(job, "result_text");
    if (result_text == 'y' && !(json_is_string(rt) || json_is_null(rt)))
        PROBLEM(" result_text missing;");
    if (result_text == 'n' && rt)
        PROBLEM(" result_text present;");
    const char *id = th_jstr(job, "id");
    if (!th_is_uuid_v4(id))
        PROBLEM(" id is not a lower-case UUID v4;");
    if (id) {
        const char *names[] = {"self", "result", "events"};
        const char *suffix[] = {"", "/result", "/events"};
        for (int i = 0; i < 3; i++) {
            char want[128], key[32];
            snprintf(want, sizeof want, "/jobs/%s%s", id, suffix[i]);
            snprintf(key, sizeof key, "links.%s", names[i]);
            const char *got = th_jstr(job, key);
            if (!got || strcmp(got, want) != 0)
                PROBLEM(" %s is %s, not %s;", key, got ? got : "missing", want);
        }
    }
    const char *st = th_jstr(job, "status");
    const char *valid[] = {"queued",  "downloading", "processing", "completed",
                           "partial", "error",       "cancelled"};
    bool known = false;
    for (int i = 0; st && i < 7; i++)
        known = known || strcmp(st, valid[i]) == 0;
    if (!known)
        PROBLEM(" status %s is not a documented status;", st ? st : "missing");
    double p = th_jnum(job, "progress", -1), pp = th_jnum(job, "progress_phase_pct", -1);
    if (p < 0 || p > 100 || pp < 0 || pp > 100)
        PROBLEM(" progress %g / progress_phase_pct %g outside 0-100;", p, pp);
#undef PROBLEM
    return TH_CHECK(problems[0] == '\0', "%s: every documented job field, well-formed%s", what,
                    problems);
}

static bool json_content_type(const th_response *r)
{
    return r->content_type && strncmp(r->content_type, "application/json", 16) == 0;
}

/* ---- helpers ---------------------------------------------------------------- */

static char *random_uuid(void)
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, sizeof b, f) != sizeof b)
        exit(2);
    fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char *s = th_strf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                      b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                      b[13], b[14], b[15]);
    return s;
}

/* Is method one of the comma-separated tokens of an Allow header? */
static bool allow_has(const char *allow, const char *method)
{
    if (!allow)
        return false;
    size_t n = strlen(method);
    for (const char *p = allow; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && strncmp(p, method, n) == 0)
            return true;
        p = e;
    }
    return false;
}

/* ---- /health ------------------------------------------------------------------ */

static void test_health(th_server *s)
{
    th_response *r = th_getf(s, "/health");
    TH_CHECK(r->status == 200, "GET /health -> 200 (%s)", th_describe(r));
    TH_CHECK(json_content_type(r), "/health is application/json (%s)",
             r->content_type ? r->content_type : "none");
    json_t *h = r->json;
    const char *status = th_jstr(h, "status");
    TH_CHECK(status && strcmp(status, "ok") == 0, "/health status \"ok\"");
    const char *version = th_jstr(h, "version");
    TH_CHECK(version && *version, "/health version is a non-empty string (%s)",
             version ? version : "missing");
    json_t *running = th_jget(h, "worker.running");
    TH_CHECK(json_is_true(running) ||
                 (json_is_integer(running) && json_integer_value(running) >= 1),
             "/health worker.running says the worker runs");
    TH_CHECK(json_is_integer(th_jget(h, "worker.busy")) && th_jnum(h, "worker.busy", -1) == 0,
             "/health worker.busy is 0 on an idle server");
    TH_CHECK(json_is_integer(th_jget(h, "worker.queued")) && th_jnum(h, "worker.queued", -1) == 0,
             "/health worker.queued is 0 on an empty server");
    json_t *asr = th_jget(h, "engines.asr");
    json_t *ps = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(asr, i, e)
    {
        const char *name = th_jstr(e, "name");
        if (name && strcmp(name, "pocketsphinx") == 0)
            ps = e;
    }
    if (TH_CHECK(ps != NULL, "/health engines.asr lists pocketsphinx")) {
        TH_CHECK(json_is_true(th_jget(ps, "available")), "pocketsphinx available: true");
        const char *dm = th_jstr(ps, "default_model");
        json_t *models = th_jget(ps, "models"), *langs = th_jget(ps, "languages");
        TH_CHECK(dm && json_is_array(models) && th_jarray_has_string(models, dm),
                 "pocketsphinx default_model (%s) is one of its models", dm ? dm : "missing");
        TH_CHECK(th_jarray_has_string(models, "en-us"), "pocketsphinx models include en-us");
        TH_CHECK(json_is_array(langs) && th_jarray_has_string(langs, "en"),
                 "pocketsphinx languages is an array including en");
    }
    json_t *diar = th_jget(h, "engines.diarization");
    bool builtin = false;
    int defaults = 0;
    bool shaped = json_is_array(diar) && json_array_size(diar) >= 1;
    json_array_foreach(diar, i, e)
    {
        const char *name = th_jstr(e, "name");
        if (!name || !json_is_boolean(th_jget(e, "available")) ||
            !json_is_boolean(th_jget(e, "default")))
            shaped = false;
        defaults += json_is_true(th_jget(e, "default"));
        if (name && strcmp(name, "builtin") == 0)
            builtin = json_is_true(th_jget(e, "available")) && json_is_true(th_jget(e, "default"));
    }
    TH_CHECK(shaped, "/health engines.diarization lists {name, available, default} objects");
    TH_CHECK(builtin, "/health engines.diarization has builtin, available and the default");
    TH_CHECK(defaults == 1, "exactly one diarization engine is the default (%d)", defaults);
    TH_CHECK(json_is_boolean(th_jget(h, "youtube.available")), "/health youtube.available");
    TH_CHECK(th_jstr(h, "youtube.message") != NULL, "/health youtube.message is a string");
    TH_CHECK(json_is_boolean(th_jget(h, "youtube.ffmpeg")), "/health youtube.ffmpeg");
    TH_CHECK(th_jstr(h, "youtube.ytdlp_version") || th_jnull(h, "youtube.ytdlp_version"),
             "/health youtube.ytdlp_version is a string or null");
    const char *store = th_jstr(h, "store");
    TH_CHECK(store && strcmp(store, "sqlite") == 0, "/health store \"sqlite\"");
    th_response_free(r);

    r = th_request(s, "GET", "/health",
                   (const char *const[]){"Authorization: Bearer nonsense", NULL}, NULL, 0);
    TH_CHECK(r->status == 200, "/health ignores a stray Authorization header (%s)", th_describe(r));
    th_response_free(r);
}

/* ---- one job from upload to results ---------------------------------------------- */

static void check_words(const char *text, const char *clip, const char *what)
{
    char missing[512];
    double share = th_words_found(text, clip, missing, sizeof missing);
    TH_CHECK(share >= 0.5, "%s: %.0f%% of the reference words of clip %s (missing: %s)", what,
             share * 100, clip, missing);
}

static char *test_happy_path(th_server *s)
{
    const char *clip = "0920";
    /* diarize=false: the results below are compared without speaker labels
     * (the server's default is to diarize) */
    const char *fields[] = {"model",  "en-us", "engine",  "pocketsphinx", "language", "en",
                            "format", "vtt",   "diarize", "false",        NULL};
    th_response *r = th_upload(s, th_clip(clip), "clip 0920.wav", fields, NULL);
    if (!TH_CHECK(r->status == 202, "POST /transcribe -> 202 (%s)", th_describe(r))) {
        th_response_free(r);
        return NULL;
    }
    json_t *job = r->json;
    const char *id = th_jstr(job, "id");
    char *want_loc = th_strf("/jobs/%s", id ? id : "?");
    TH_CHECK(r->location && strcmp(r->location, want_loc) == 0, "202 has Location: %s (got %s)",
             want_loc, r->location ? r->location : "none");
    TH_CHECK(json_content_type(r), "202 body is application/json");
    check_job_shape(job, "202 job", '?');
    const char *st = th_jstr(job, "status");
    TH_CHECK(st && strcmp(st, "queued") == 0, "new job status queued (got %s)", st ? st : "none");
    const char *fn = th_jstr(job, "filename");
    TH_CHECK(fn && strcmp(fn, "clip 0920.wav") == 0, "filename is the client's (got %s)",
             fn ? fn : "none");
    const char *expect[][2] = {
        {"model_size", "en-us"}, {"engine", "pocketsphinx"}, {"language", "en"}, {"format", "vtt"}};
    for (int i = 0; i < 4; i++) {
        const char *v = th_jstr(job, expect[i][0]);
        TH_CHECK(v && strcmp(v, expect[i][1]) == 0, "new job %s = %s (got %s)", expect[i][0],
                 expect[i][1], v ? v : "none");
    }
    TH_CHECK(json_is_false(th_jget(job, "diarize")), "new job diarize false, as sent");
    TH_CHECK(th_jnum(job, "attempts", -1) == 0, "new job attempts 0");
    TH_CHECK(th_jnum(job, "progress", -1) == 0, "new job progress 0");
    TH_CHECK(th_jnull(job, "started_at") && th_jnull(job, "completed_at"),
             "new job started_at and completed_at are null");
    const char *ap = th_jstr(job, "audio_path");
    bool under =
        ap && strstr(ap, th_strf("/jobs/%s/", id ? id : "?")) != NULL && th_path_exists(ap);
    TH_CHECK(under, "audio_path (%s) exists under DATA_DIR/jobs/ID/", ap ? ap : "null");
    char *out = id ? strdup(id) : NULL;
    th_response_free(r);
    if (!out)
        return NULL;

    json_t *done = th_wait_job(s, out, "completed,partial,error,cancelled", 120);
    if (!TH_CHECK(done != NULL, "job %s finished within 120 s", out))
        return out;
    check_job_shape(done, "GET /jobs/{id} of a completed job", 'y');
    st = th_jstr(done, "status");
    TH_CHECK(st && strcmp(st, "completed") == 0, "job ends completed (got %s, error %s)",
             st ? st : "none",
             th_jstr(done, "error_message") ? th_jstr(done, "error_message") : "-");
    const char *text = th_jstr(done, "result_text");
    TH_CHECK(text != NULL, "completed job has result_text");
    check_words(text, clip, "result_text");
    json_error_t je;
    json_t *as_json = text ? json_loads(text, 0, &je) : NULL;
    TH_CHECK(!json_is_object(as_json), "result_text is the plain-text transcript, not JSON");
    json_decref(as_json);
    const char *ca = th_jstr(done, "created_at"), *sa = th_jstr(done, "started_at");
    const char *fa = th_jstr(done, "completed_at"), *ua = th_jstr(done, "updated_at");
    TH_CHECK(th_is_timestamp(sa) && th_is_timestamp(fa), "started_at and completed_at are set");
    TH_CHECK(ca && sa && fa && ua && strcmp(ca, sa) <= 0 && strcmp(sa, fa) <= 0 &&
                 strcmp(fa, ua) <= 0,
             "created_at <= started_at <= completed_at <= updated_at (%s %s %s %s)", ca ? ca : "-",
             sa ? sa : "-", fa ? fa : "-", ua ? ua : "-");
    TH_CHECK(th_jnum(done, "progress", -1) == 100, "completed job progress 100 (got %g)",
             th_jnum(done, "progress", -1));
    TH_CHECK(th_jnum(done, "attempts", -1) == 1, "completed job attempts 1 (got %g)",
             th_jnum(done, "attempts", -1));
    double dur = th_jnum(done, "audio_duration", -1);
    TH_CHECK(dur > 5.75 && dur < 6.35, "audio_duration %.2f s is the clip's 6.05 s", dur);
    TH_CHECK(th_jnum(done, "processing_time", -1) > 0, "processing_time > 0 (got %g)",
             th_jnum(done, "processing_time", -1));
    TH_CHECK(th_jnull(done, "error_message") && th_jnull(done, "error_code"),
             "completed job has no error");
    TH_CHECK(json_is_false(th_jget(done, "diarized")), "diarized false without diarize");
    TH_CHECK(th_jnull(done, "speaker_count"), "speaker_count null without diarize (got %g)",
             th_jnum(done, "speaker_count", -1));
    json_decref(done);
    return out;
}

typedef struct {
    const char *format;
    const char *content_type;
} format_spec;

static const format_spec formats[] = {
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"srt", "application/x-subrip; charset=utf-8"},
    {"vtt", "text/vtt; charset=utf-8"},
    {"json", "application/json"},
};

static bool type_is(const th_response *r, const char *want)
{
    return r->content_type && strcasecmp(r->content_type, want) == 0;
}

static void test_results(th_server *s, const char *id, const char *clip)
{
    char *vtt_body = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const char *f = formats[i].format;
        th_response *r = th_getf(s, "/jobs/%s/result?format=%s", id, f);
        TH_CHECK(r->status == 200, "GET /result?format=%s -> 200 (%s)", f, th_describe(r));
        TH_CHECK(type_is(r, formats[i].content_type), "format %s: Content-Type %s (got %s)", f,
                 formats[i].content_type, r->content_type ? r->content_type : "none");
        if (strcmp(f, "txt") == 0 || strcmp(f, "md") == 0) {
            check_words(r->body, clip, th_strf("result as %s", f));
        } else if (strcmp(f, "srt") == 0) {
            TH_CHECK(strstr(r->body, " --> ") != NULL && strncmp(r->body, "1", 1) == 0 &&
                         strstr(r->body, ",") != NULL,
                     "srt starts with cue 1 and has 'HH:MM:SS,mmm --> ' timings");
            check_words(r->body, clip, "result as srt");
        } else if (strcmp(f, "vtt") == 0) {
            TH_CHECK(strncmp(r->body, "WEBVTT", 6) == 0 && strstr(r->body, " --> ") != NULL,
                     "vtt starts with WEBVTT and has cue timings");
            check_words(r->body, clip, "result as vtt");
            vtt_body = strdup(r->body);
        } else {
            json_t *segs = th_jget(r->json, "segments");
            TH_CHECK(json_is_object(r->json), "json result parses as an object");
            bool segs_ok = json_is_array(segs) && json_array_size(segs) > 0;
            size_t k;
            json_t *seg;
            json_array_foreach(segs, k, seg)
            {
                double a = th_jnum(seg, "start", -1), b = th_jnum(seg, "end", -1);
                segs_ok = segs_ok && a >= 0 && b >= a && th_jstr(seg, "text");
            }
            TH_CHECK(segs_ok, "json result has segments with start <= end and text");
            check_words(th_jstr(r->json, "text"), clip, "json result text");
        }
        th_response_free(r);
    }
    th_response *r = th_getf(s, "/jobs/%s/result", id);
    TH_CHECK(r->status == 200 && type_is(r, "text/vtt; charset=utf-8"),
             "GET /result without format serves the job's format vtt (%s)", th_describe(r));
    TH_CHECK(vtt_body && strcmp(r->body, vtt_body) == 0, "the default result equals ?format=vtt");
    th_response_free(r);
    free(vtt_body);

    r = th_getf(s, "/jobs/%s/result?format=docx", id);
    th_expect_error(r, 422, "invalid_field", "format", "GET /result?format=docx");
    th_response_free(r);
}

/* ---- GET /jobs ------------------------------------------------------------------ */

static bool same_ids(json_t *jobs, char **ids, size_t n, const char *what)
{
    bool ok = TH_CHECK(json_array_size(jobs) == n, "%s: %zu jobs (got %zu)", what, n,
                       json_array_size(jobs));
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        size_t k;
        json_t *j;
        json_array_foreach(jobs, k, j)
        {
            const char *id = th_jstr(j, "id");
            if (id && strcmp(id, ids[i]) == 0)
                seen++;
        }
        ok = TH_CHECK(seen == 1, "%s: job %s seen exactly once (seen %d times)", what, ids[i],
                      seen) &&
             ok;
    }
    return ok;
}

static void test_listing(th_server *s, char *first_id)
{
    /* ids in creation order: first_id, four short jobs, one long cancelled */
    char *ids[6];
    size_t n = 0;
    ids[n++] = first_id;
    const char *clips[] = {"0880", "0930", "0880", "0930"};
    for (int i = 0; i < 4; i++) {
        char *id = th_submit(s, th_clip(clips[i]), th_strf("list-%d.wav", i), NULL);
        if (!id)
            return;
        ids[n++] = id;
    }
    /* the default result format is the job's format: txt when none was given */
    json_t *one = th_get_job(s, ids[1]);
    const char *f = th_jstr(one, "format");
    TH_CHECK(f && strcmp(f, "txt") == 0, "format defaults to txt (got %s)", f ? f : "none");
    json_decref(one);

    /* a long job queued behind them: its result is not there yet */
    const char *long_wav = th_audio_rounds("long.wav", 4);
    char *lid = long_wav ? th_submit(s, long_wav, "long.wav", NULL) : NULL;
    if (!lid)
        return;
    ids[n++] = lid;
    th_response *r = th_getf(s, "/jobs/%s/result", lid);
    th_expect_error(r, 409, "job_not_finished", NULL, "GET /result of a queued job");
    th_response_free(r);
    r = th_request(s, "DELETE", th_strf("/jobs/%s", lid), NULL, NULL, 0);
    TH_CHECK(r->status == 200, "DELETE the queued long job -> 200 (%s)", th_describe(r));
    th_response_free(r);
    r = th_getf(s, "/jobs/%s/result", lid);
    th_expect_error(r, 409, "no_result", NULL, "GET /result of a cancelled job");
    th_response_free(r);

    for (size_t i = 1; i < 5; i++) {
        json_t *j = th_wait_job(s, ids[i], "completed,partial,error,cancelled", 120);
        const char *st = th_jstr(j, "status");
        TH_CHECK(st && strcmp(st, "completed") == 0, "job %zu completed (got %s)", i,
                 st ? st : "none");
        json_decref(j);
    }
    one = th_get_job(s, ids[1]);
    r = th_getf(s, "/jobs/%s/result", ids[1]);
    TH_CHECK(r->status == 200 && type_is(r, "text/plain; charset=utf-8"),
             "default result of a txt job is text/plain (%s)", th_describe(r));
    th_response_free(r);
    json_decref(one);

    /* limit=2 pages with the cursor */
    int pages = 0;
    json_t *all = th_list_all(s, NULL, 2, &pages);
    if (TH_CHECK(all != NULL, "walking GET /jobs?limit=2 pages works")) {
        same_ids(all, ids, n, "limit=2 walk");
        TH_CHECK(pages == 3, "6 jobs in pages of 2 make 3 pages (got %d)", pages);
        bool order = json_array_size(all) == n;
        for (size_t i = 0; order && i < n; i++) {
            const char *id = th_jstr(json_array_get(all, i), "id");
            order = id && strcmp(id, ids[n - 1 - i]) == 0;
        }
        TH_CHECK(order, "the walk lists jobs newest first");
        bool no_text = true;
        size_t k;
        json_t *j;
        json_array_foreach(all, k, j)
        {
            no_text = no_text && json_object_get(j, "result_text") == NULL;
            check_job_shape(j, th_strf("listed job %zu", k), 'n');
        }
        TH_CHECK(no_text, "listed jobs omit result_text");
    }
    json_decref(all);

    r = th_getf(s, "/jobs?limit=2");
    TH_CHECK(r->status == 200 && json_array_size(th_jget(r->json, "jobs")) == 2 &&
                 th_jstr(r->json, "next_cursor") != NULL,
             "GET /jobs?limit=2 -> 2 jobs and a next_cursor (%s)", th_describe(r));
    th_response_free(r);
    r = th_getf(s, "/jobs");
    TH_CHECK(r->status == 200 && json_array_size(th_jget(r->json, "jobs")) == n &&
                 th_jnull(r->json, "next_cursor"),
             "GET /jobs -> all %zu jobs and next_cursor null (%s)", n, th_describe(r));
    TH_CHECK(json_content_type(r), "GET /jobs is application/json");
    th_response_free(r);

    /* status filter */
    all = th_list_all(s, "status=completed", 2, NULL);
    if (TH_CHECK(all != NULL, "GET /jobs?status=completed works"))
        same_ids(all, ids, 5, "status=completed");
    json_decref(all);
    all = th_list_all(s, "status=cancelled", 2, NULL);
    if (TH_CHECK(all != NULL, "GET /jobs?status=cancelled works"))
        same_ids(all, &ids[5], 1, "status=cancelled");
    json_decref(all);
    all = th_list_all(s, "status=queued", 50, NULL);
    TH_CHECK(all && json_array_size(all) == 0, "status=queued lists nothing now");
    json_decref(all);

    /* bad parameters */
    const char *bad[][2] = {{"limit=0", "limit"},           {"limit=501", "limit"},
                            {"limit=x", "limit"},           {"limit=-1", "limit"},
                            {"limit=2x", "limit"},          {"status=done", "status"},
                            {"status=COMPLETED", "status"}, {"cursor=garbage", "cursor"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = th_getf(s, "/jobs?%s", bad[i][0]);
        th_expect_error(r, 422, "invalid_field", bad[i][1], th_strf("GET /jobs?%s", bad[i][0]));
        th_response_free(r);
    }
    r = th_getf(s, "/jobs?limit=500");
    TH_CHECK(r->status == 200, "limit=500 is accepted (%s)", th_describe(r));
    th_response_free(r);
    for (size_t i = 1; i < n; i++)
        free(ids[i]);
}

/* ---- accepted spellings ------------------------------------------------------------ */

/* Uploads with fields, expects 202, runs check on the job, purges it. */
static void accept_and_purge(th_server *s, const char *const *fields, const char *what,
                             const char *key, json_t *want)
{
    th_response *r = th_upload(s, th_clip("0880"), "clip.wav", fields, NULL);
    TH_CHECK(r->status == 202, "%s -> 202 (%s)", what, th_describe(r));
    if (key) {
        json_t *got = th_jget(r->json, key);
        char *g = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
        TH_CHECK(got && json_equal(got, want), "%s: job %s is %s (got %s)", what, key,
                 json_is_true(want)    ? "true"
                 : json_is_false(want) ? "false"
                                       : "as sent",
                 g ? g : "none");
        free(g);
    }
    const char *id = th_jstr(r->json, "id");
    if (id) {
        th_response *d = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", id), NULL, NULL, 0);
        TH_CHECK(d->status == 204, "%s: purge -> 204 (%s)", what, th_describe(d));
        th_response_free(d);
    }
    th_response_free(r);
    json_decref(want);
}

static void test_accepted_fields(th_server *s)
{
    /* diarize left out: the server's setting, on by default */
    accept_and_purge(s, NULL, "no diarize field", "diarize", json_true());
    const char *spell[][2] = {{"true", "t"}, {"false", "f"}, {"1", "t"},  {"0", "f"},
                              {"yes", "t"},  {"no", "f"},    {"on", "t"}, {"off", "f"}};
    for (size_t i = 0; i < sizeof spell / sizeof spell[0]; i++) {
        const char *fields[] = {"diarize", spell[i][0], NULL};
        accept_and_purge(s, fields, th_strf("diarize=%s", spell[i][0]), "diarize",
                         spell[i][1][0] == 't' ? json_true() : json_false());
    }
    accept_and_purge(s, (const char *const[]){"min_speakers", "1", "max_speakers", "32", NULL},
                     "min_speakers=1 max_speakers=32", "min_speakers", json_integer(1));
    accept_and_purge(s, (const char *const[]){"min_speakers", "3", "max_speakers", "3", NULL},
                     "min_speakers=3 max_speakers=3", "max_speakers", json_integer(3));
    accept_and_purge(s, (const char *const[]){"engine", "auto", NULL}, "engine=auto", NULL, NULL);
    accept_and_purge(s, (const char *const[]){"language", "auto", NULL}, "language=auto", NULL,
                     NULL);
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const char *fields[] = {"format", formats[i].format, NULL};
        accept_and_purge(s, fields, th_strf("format=%s", formats[i].format), "format",
                         json_string(formats[i].format));
    }
}

/* ---- routing errors --------------------------------------------------------------- */

static void test_routing(th_server *s, const char *id)
{
    const char *unknown[] = {"/nope", "/jobs/%s/nope", "/health/x", "/transcribe/file",
                             "/jobs/%s/result/x"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        char *path = th_strf(unknown[i], id);
        th_response *r = th_request(s, "GET", path, NULL, NULL, 0);
        th_expect_error(r, 404, "not_found", NULL, th_strf("GET %s", path));
        th_response_free(r);
    }

    struct {
        const char *method, *path, *allowed[3];
    } wrong[] = {
        {"DELETE", "/health", {"GET"}},
        {"POST", "/health", {"GET"}},
        {"PUT", "/jobs", {"GET"}},
        {"GET", "/transcribe", {"POST"}},
        {"GET", "/transcribe/url", {"POST"}},
        {"PATCH", "/jobs/%s", {"GET", "DELETE"}},
        {"GET", "/jobs/%s/retry", {"POST"}},
        {"POST", "/jobs/%s/result", {"GET"}},
        {"DELETE", "/jobs/%s/events", {"GET"}},
        {"POST", "/openapi.json", {"GET"}},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        char *path = th_strf(wrong[i].path, id);
        char *what = th_strf("%s %s", wrong[i].method, th_strf(wrong[i].path, "{id}"));
        th_response *r = th_request(s, wrong[i].method, path, NULL, NULL, 0);
        th_expect_error(r, 405, "method_not_allowed", NULL, what);
        bool ok = r->allow != NULL;
        for (int k = 0; k < 3 && wrong[i].allowed[k]; k++)
            ok = ok && allow_has(r->allow, wrong[i].allowed[k]);
        ok = ok && !allow_has(r->allow, wrong[i].method);
        TH_CHECK(ok, "%s: Allow lists %s%s%s and not %s (got %s)", what, wrong[i].allowed[0],
                 wrong[i].allowed[1] ? ", " : "", wrong[i].allowed[1] ? wrong[i].allowed[1] : "",
                 wrong[i].method, r->allow ? r->allow : "none");
        th_response_free(r);
    }

    /* a well-formed id nobody has */
    const char *u = random_uuid();
    struct {
        const char *method, *path;
    } missing[] = {{"GET", "/jobs/%s"},        {"GET", "/jobs/%s/result"},
                   {"GET", "/jobs/%s/events"}, {"POST", "/jobs/%s/retry"},
                   {"DELETE", "/jobs/%s"},     {"DELETE", "/jobs/%s?purge=true"}};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        char *path = th_strf(missing[i].path, u);
        th_response *r = th_request(s, missing[i].method, path, NULL, NULL, 0);
        th_expect_error(r, 404, "not_found", NULL,
                        th_strf("%s %s with an unknown id", missing[i].method,
                                th_strf(missing[i].path, "{id}")));
        th_response_free(r);
    }

    /* ids that are not lower-case UUID v4 */
    char *upper = th_strf("%s", id);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    char *v1 = th_strf("%s", id);
    v1[14] = '1';
    const char *bad_ids[] = {"123", upper,        th_strf("%sx", id), th_strf("%.35s", id),
                             v1,    "not-a-uuid", "..%2f..%2fjobs.db"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        th_response *r = th_getf(s, "/jobs/%s", bad_ids[i]);
        th_expect_error(r, 404, "not_found", NULL, th_strf("GET /jobs/%s", bad_ids[i]));
        th_response_free(r);
        r = th_getf(s, "/jobs/%s/result", bad_ids[i]);
        th_expect_error(r, 404, "not_found", NULL, th_strf("GET /jobs/%s/result", bad_ids[i]));
        th_response_free(r);
        r = th_request(s, "DELETE", th_strf("/jobs/%s", bad_ids[i]), NULL, NULL, 0);
        th_expect_error(r, 404, "not_found", NULL, th_strf("DELETE /jobs/%s", bad_ids[i]));
        th_response_free(r);
    }
}

/* ---- the document and the events of a finished job -------------------------------- */

static void test_openapi_docs(th_server *s)
{
    th_response *r = th_getf(s, "/openapi.json");
    TH_CHECK(r->status == 200 && json_content_type(r), "GET /openapi.json -> 200 JSON (%s)",
             th_describe(r));
    const char *v = th_jstr(r->json, "openapi");
    TH_CHECK(v && strncmp(v, "3.1", 3) == 0, "openapi version 3.1.x (got %s)", v ? v : "none");
    const char *paths[] = {
        "/health",    "/transcribe",       "/transcribe/url",   "/jobs",
        "/jobs/{id}", "/jobs/{id}/result", "/jobs/{id}/events", "/jobs/{id}/retry"};
    json_t *p = th_jget(r->json, "paths");
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        TH_CHECK(json_object_get(p, paths[i]) != NULL, "openapi.json documents %s", paths[i]);
    th_response_free(r);

    r = th_getf(s, "/docs");
    if (r->status == 503) {
        th_note("/docs: assets not built, checking the 503");
        th_expect_error(r, 503, "docs_unavailable", NULL, "GET /docs without assets");
    } else {
        TH_CHECK(r->status == 200 && r->content_type &&
                     strncasecmp(r->content_type, "text/html", 9) == 0,
                 "GET /docs -> 200 text/html (%s)", th_describe(r));
        TH_CHECK(strcasestr(r->body, "<html") && strstr(r->body, "openapi.json"),
                 "/docs is an HTML page pointing at openapi.json");
    }
    th_response_free(r);
}

static void test_events_of_finished(th_server *s, const char *id)
{
    th_sse_stream *st = th_sse_collect(s, th_strf("/jobs/%s/events", id), 10);
    TH_CHECK(st->status == 200 && st->content_type &&
                 strncmp(st->content_type, "text/event-stream", 17) == 0,
             "GET /events of a completed job -> 200 text/event-stream (status %ld, %s)", st->status,
             st->content_type ? st->content_type : "none");
    TH_CHECK(st->ended && st->seconds < 5, "the stream of a finished job ends at once (%.1f s)",
             st->seconds);
    th_sse_event *last = st->count ? &st->events[st->count - 1] : NULL;
    const char *status = last ? th_jstr(last->json, "status") : NULL;
    TH_CHECK(last && strcmp(last->event, "done") == 0 && status && strcmp(status, "completed") == 0,
             "its last event is done with status completed (%zu events)", st->count);
    th_sse_free(st);
}

/* A server configured with diarize off defaults jobs to no diarization,
 * while a job may still ask for it. */
static void test_diarize_default_off(void)
{
    th_server *s = th_server_start(
        "no-diarize", &(th_server_opts){.workers = 1, .extra_env = {"CESAR_DIARIZE=false"}});
    if (!s)
        return;
    accept_and_purge(s, NULL, "no diarize field, server diarize=false", "diarize", json_false());
    accept_and_purge(s, (const char *const[]){"diarize", "true", NULL},
                     "diarize=true, server diarize=false", "diarize", json_true());
    th_server_stop(s, SIGTERM, 10);
}

int main(void)
{
    th_init("test_api_basics");
    th_server *s = th_server_start("basics", &(th_server_opts){.workers = 1});
    if (s) {
        test_health(s);
        char *id = test_happy_path(s);
        if (id) {
            test_results(s, id, "0920");
            test_routing(s, id);
            test_events_of_finished(s, id);
            test_listing(s, id); /* frees nothing of id */
            test_accepted_fields(s);
        }
        test_openapi_docs(s);
        free(id);
    }
    test_diarize_default_off();
    return th_finish();
}
