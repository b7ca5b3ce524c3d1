/* test_api_pyannote: the pyannote diarization engine through `cesar serve`,
 * against a loopback stand-in for the Hugging Face hub (tests/models/hub.py)
 * that serves random-weight checkpoints of the real models
 * (tests/pyannote/make_models.py) as gated repositories.
 *
 * One job walks through every way the token can fail, and is retried after
 * each fix, like a user would:
 *   no token anywhere        -> partial, hf_token_required, no request to the hub
 *   a wrong token (file)     -> partial, hf_token_invalid (401)
 *   a token without access   -> partial, hf_token_invalid (403, the conditions)
 *   the right token, but the hub serves a corrupt file
 *                            -> partial, diarization_failed (digest mismatch)
 *   the right token, a good hub
 *                            -> completed, diarized, models installed
 * Every partial keeps the transcript byte for byte; no retry transcribes
 * again (no "transcribing" phase, the words are the first run's). The token
 * lives in $HF_HOME/token, read at each job, so no restart is needed.
 * Also: GET /health reports the engine without contacting the hub; a request
 * carrying hf_token is refused (422) without echoing it; no token appears in
 * any job, response or server log.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TH_SOURCE_DIR
#error "TH_SOURCE_DIR must name the source tree"
#endif

#define SEG_REPO "pyannote/segmentation-3.0"
#define EMB_REPO "pyannote/wespeaker-voxceleb-resnet34-LM"
#define GOOD "hf_goodTokenForTests1234"
#define WRONG "hf_wrongTokenForTests999"
#define NOACCESS "hf_noAccessTokenForTests7"

static const char *const PYANNOTE[] = {"diarize", "true", "diarization_engine", "pyannote",
                                       NULL};

static bool str_is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *or_none(const char *s)
{
    return s ? s : "none";
}

/* ---- the hub stand-in ------------------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int port;
    const char *root, *log;
} hub;

/* Starts hub.py on port (0 = any), serving root; corrupt: a path part whose
 * files are served damaged under the right digest (NULL = none). */
static bool hub_start(hub *h, int port, const char *corrupt)
{
    const char *ready = th_strf("%s/hub.port", th_workdir());
    unlink(ready);
    const char *argv[32];
    int n = 0;
    argv[n++] = "/usr/bin/python3";
    argv[n++] = th_strf("%s/tests/models/hub.py", TH_SOURCE_DIR);
    argv[n++] = "--port";
    argv[n++] = th_strf("%d", port);
    argv[n++] = "--root";
    argv[n++] = h->root;
    argv[n++] = "--ready";
    argv[n++] = ready;
    argv[n++] = "--log";
    argv[n++] = h->log;
    argv[n++] = "--repo-dirs";
    argv[n++] = "--lfs";
    argv[n++] = "--gated";
    argv[n++] = SEG_REPO "=" GOOD;
    argv[n++] = "--gated";
    argv[n++] = EMB_REPO "=" GOOD;
    argv[n++] = "--valid-token";
    argv[n++] = NOACCESS;
    if (corrupt) {
        argv[n++] = "--corrupt";
        argv[n++] = corrupt;
    }
    argv[n] = NULL;
    h->pid = fork();
    if (h->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (!TH_CHECK(h->pid > 0, "fork for the hub: %s", strerror(errno)))
        return false;
    double t0 = th_now();
    while (th_now() - t0 < 15) {
        FILE *f = fopen(ready, "r");
        if (f) {
            int ok = fscanf(f, "%d", &h->port);
            fclose(f);
            if (ok == 1 && h->port > 0)
                return true;
        }
        th_sleep(0.05);
    }
    return TH_CHECK(false, "the hub stand-in wrote its port within 15 s");
}

static void hub_stop(hub *h)
{
    if (h->pid <= 0)
        return;
    kill(h->pid, SIGTERM);
    waitpid(h->pid, NULL, 0);
    h->pid = 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
    s[got] = '\0';
    fclose(f);
    return s;
}

/* Requests the hub logged so far. */
static int hub_requests(const hub *h)
{
    char *log = slurp(h->log);
    int n = 0;
    for (char *p = log; (p = strchr(p, '\n')); p++)
        n++;
    free(log);
    return n;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ---- jobs -------------------------------------------------------------------------------- */

/* Retries a partial job and waits for its end; *transcribed says whether a
 * transcribing phase showed. Caller owns the job. */
static json_t *retry(th_server *s, const char *id, bool *transcribed)
{
    *transcribed = false;
    th_response *r = th_request(s, "POST", th_strf("/jobs/%s/retry", id), NULL, NULL, 0);
    TH_CHECK(r->status == 202, "POST /retry -> 202 (%s)", th_describe(r));
    th_response_free(r);
    json_t *j = NULL;
    double t0 = th_now();
    while (th_now() - t0 < 300) {
        json_decref(j);
        j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        if (str_is(th_jstr(j, "progress_phase"), "transcribing") && str_is(st, "processing"))
            *transcribed = true;
        if (str_is(st, "completed") || str_is(st, "partial") || str_is(st, "error"))
            break;
        th_sleep(0.05);
    }
    return j;
}

static bool no_token_in(const char *text)
{
    return text && !strstr(text, GOOD) && !strstr(text, WRONG) && !strstr(text, NOACCESS);
}

/* A partial job with the expected code, its transcript unchanged and no
 * token in its JSON. */
static void expect_partial(json_t *j, const char *code, const char *hint, const char *text,
                           const char *when)
{
    TH_CHECK(str_is(th_jstr(j, "status"), "partial"), "%s: the job ends partial (%s: %s)",
             when, or_none(th_jstr(j, "status")), or_none(th_jstr(j, "error_message")));
    TH_CHECK(str_is(th_jstr(j, "diarization_error_code"), code),
             "%s: diarization_error_code %s (got %s)", when, code,
             or_none(th_jstr(j, "diarization_error_code")));
    const char *msg = th_jstr(j, "diarization_error");
    TH_CHECK(msg && strstr(msg, hint), "%s: the message mentions '%s' (%s)", when, hint,
             or_none(msg));
    TH_CHECK(text && str_is(th_jstr(j, "result_text"), text),
             "%s: the transcript is kept byte for byte", when);
    TH_CHECK(json_is_false(th_jget(j, "diarized")), "%s: diarized false", when);
    char *dump = json_dumps(j, 0);
    TH_CHECK(no_token_in(dump), "%s: no token in the job's JSON", when);
    free(dump);
}

/* The words (text, start, end) of a job's JSON result, as one array (caller
 * owns); NULL unless the result is there. */
static json_t *result_words(th_server *s, const char *id)
{
    th_response *r = th_getf(s, "/jobs/%s/result?format=json", id);
    json_t *out = NULL;
    if (r->status == 200 && json_is_object(r->json)) {
        out = json_array();
        size_t i, k;
        json_t *seg, *w;
        json_array_foreach(th_jget(r->json, "segments"), i, seg)
            json_array_foreach(json_object_get(seg, "words"), k, w)
                json_array_append_new(out, json_pack("[O, O, O]", json_object_get(w, "text"),
                                                     json_object_get(w, "start"),
                                                     json_object_get(w, "end")));
    }
    th_response_free(r);
    return out;
}

static json_t *engine_health(th_server *s, const char *name)
{
    th_response *r = th_getf(s, "/health");
    json_t *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(th_jget(r->json, "engines.diarization"), i, e)
        if (str_is(th_jstr(e, "name"), name))
            found = json_incref(e);
    TH_CHECK(found != NULL, "/health lists diarization engine %s (%s)", name, th_describe(r));
    th_response_free(r);
    return found;
}

/* The engine's /health entry once member is true: the server keeps its
 * engine report for up to 5 s (it reads the disk), so a change shows within
 * that. Caller owns the result. */
static json_t *engine_health_once(th_server *s, const char *name, const char *member)
{
    json_t *e = NULL;
    double t0 = th_now();
    while (th_now() - t0 < 10) {
        json_decref(e);
        e = engine_health(s, name);
        if (json_is_true(th_jget(e, member)))
            break;
        th_sleep(0.25);
    }
    return e;
}

static void test_refused_token_field(th_server *s, const char *audio)
{
    const char *fields[] = {"diarization_engine", "pyannote", "hf_token", GOOD, NULL};
    th_response *r = th_upload(s, audio, "a.wav", fields, NULL);
    th_expect_error(r, 422, "invalid_field", "hf_token", "an upload carrying hf_token");
    TH_CHECK(no_token_in(r->body), "the 422 does not echo the token (%s)", r->body);
    th_response_free(r);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    const char *body = "{\"url\": \"https://example.com/a.wav\", \"hf_token\": \"" GOOD "\"}";
    r = th_request(s, "POST", "/transcribe/url", hdr, body, strlen(body));
    th_expect_error(r, 422, "invalid_field", "hf_token", "a link job carrying hf_token");
    TH_CHECK(no_token_in(r->body), "the 422 does not echo the token (%s)", r->body);
    th_response_free(r);
    const char *bad[] = {"diarization_engine", "nemo", NULL};
    r = th_upload(s, audio, "a.wav", bad, NULL);
    th_expect_error(r, 422, "invalid_field", "diarization_engine", "an unknown engine");
    TH_CHECK(r->body && strstr(r->body, "pyannote") && strstr(r->body, "builtin"),
             "the 422 lists the engines (%s)", r->body);
    th_response_free(r);
}

static void test_walkthrough(th_server *s, hub *h, const char *audio, const char *hf_home,
                             const char *models)
{
    const char *token_file = th_strf("%s/token", hf_home);
    json_t *e = engine_health(s, "pyannote");
    TH_CHECK(e && json_is_false(th_jget(e, "available")) &&
                 json_is_false(th_jget(e, "weights_installed")) &&
                 json_is_false(th_jget(e, "token")),
             "before: pyannote unavailable, no weights, no token");
    json_decref(e);
    e = engine_health(s, "builtin");
    TH_CHECK(e && json_is_true(th_jget(e, "available")) && json_is_true(th_jget(e, "default")),
             "builtin available and the default");
    json_decref(e);

    char *id = th_submit(s, audio, "talk.wav", PYANNOTE);
    if (!id)
        return;
    json_t *j = th_wait_job(s, id, "completed,partial,error,cancelled", 300);
    TH_CHECK(str_is(th_jstr(j, "diarization_engine"), "pyannote"),
             "the job records diarization_engine pyannote (%s)",
             or_none(th_jstr(j, "diarization_engine")));
    const char *t0 = th_jstr(j, "result_text");
    char *text = t0 ? strdup(t0) : NULL;
    TH_CHECK(text && th_words_found(text, "0920", NULL, 0) >= 0.5,
             "the first run transcribed the audio");
    expect_partial(j, "hf_token_required", "huggingface.co/settings/tokens", text, "no token");
    const char *msg = th_jstr(j, "diarization_error");
    TH_CHECK(msg && strstr(msg, "segmentation-3.0") && strstr(msg, "HF_TOKEN"),
             "the message names the model to accept and where to put the token (%s)",
             or_none(msg));
    json_decref(j);
    TH_CHECK(hub_requests(h) == 0, "no token: the hub got no request (%d)", hub_requests(h));
    json_t *words_before = result_words(s, id);

    bool transcribed;
    TH_CHECK(write_text(token_file, WRONG "\n"), "wrote %s", token_file);
    j = retry(s, id, &transcribed);
    TH_CHECK(!transcribed, "401 retry: no transcription");
    expect_partial(j, "hf_token_invalid", "rejected", text, "wrong token");
    json_decref(j);

    TH_CHECK(write_text(token_file, NOACCESS), "wrote %s", token_file);
    j = retry(s, id, &transcribed);
    TH_CHECK(!transcribed, "403 retry: no transcription");
    expect_partial(j, "hf_token_invalid", "conditions", text, "no access");
    json_decref(j);

    e = engine_health_once(s, "pyannote", "token");
    TH_CHECK(e && json_is_true(th_jget(e, "token")) && json_is_true(th_jget(e, "available")) &&
                 str_is(th_jstr(e, "token_source"), token_file),
             "with a token file: token true, available, token_source the file (%s)",
             or_none(th_jstr(e, "token_source")));
    json_decref(e);
    int before = hub_requests(h);
    th_response *r = th_getf(s, "/health");
    th_response_free(r);
    TH_CHECK(hub_requests(h) == before, "GET /health does not contact the hub");

    /* a damaged download: the digest check refuses it */
    int port = h->port;
    hub_stop(h);
    if (!hub_start(h, port, "segmentation"))
        goto done;
    TH_CHECK(write_text(token_file, GOOD), "wrote %s", token_file);
    j = retry(s, id, &transcribed);
    TH_CHECK(!transcribed, "corrupt retry: no transcription");
    expect_partial(j, "diarization_failed", "SHA-256", text, "corrupt file");
    json_decref(j);

    hub_stop(h);
    if (!hub_start(h, port, NULL))
        goto done;
    j = retry(s, id, &transcribed);
    TH_CHECK(!transcribed, "the successful retry does not transcribe");
    TH_CHECK(str_is(th_jstr(j, "status"), "completed"), "the fixed token completes the job (%s: %s)",
             or_none(th_jstr(j, "status")), or_none(th_jstr(j, "diarization_error")));
    TH_CHECK(json_is_true(th_jget(j, "diarized")) && th_jnull(j, "diarization_error_code"),
             "diarized, no error code");
    TH_CHECK(th_jnum(j, "attempts", -1) == 5, "five attempts in all (%g)",
             th_jnum(j, "attempts", -1));
    json_decref(j);
    json_t *words_after = result_words(s, id);
    TH_CHECK(words_before && json_array_size(words_before) > 0 &&
                 json_equal(words_before, words_after),
             "the diarized result has the partial result's words and times (%zu and %zu words)",
             json_array_size(words_before), json_array_size(words_after));
    json_decref(words_after);
    struct stat st;
    TH_CHECK(stat(th_strf("%s/pyannote/segmentation-3.0/pytorch_model.bin", models), &st) == 0 &&
                 stat(th_strf("%s/pyannote/wespeaker-voxceleb-resnet34-LM/pytorch_model.bin",
                              models),
                      &st) == 0,
             "both models are installed in %s", models);
    e = engine_health_once(s, "pyannote", "weights_installed");
    TH_CHECK(e && json_is_true(th_jget(e, "weights_installed")), "health: weights installed");
    json_decref(e);

    /* a second job needs no download and no token */
    TH_CHECK(unlink(token_file) == 0, "removed the token file");
    before = hub_requests(h);
    char *id2 = th_submit(s, audio, "again.wav", PYANNOTE);
    j = id2 ? th_wait_job(s, id2, "completed,partial,error,cancelled", 300) : NULL;
    TH_CHECK(str_is(th_jstr(j, "status"), "completed"),
             "with the models installed a job completes without any token (%s)",
             or_none(th_jstr(j, "diarization_error")));
    TH_CHECK(hub_requests(h) == before, "and without contacting the hub");
    json_decref(j);
    free(id2);

done:
    json_decref(words_before);
    free(text);
    free(id);
}

int main(void)
{
    th_init("test_api_pyannote");
    const char *work = th_workdir();
    hub h = {0, 0, th_strf("%s/hub", work), th_strf("%s/hub.log", work)};
    const char *models = th_strf("%s/models", work);
    const char *hf_home = th_strf("%s/hf", work);
    const char *audio = th_audio_rounds("talk.wav", 1);
    const char *gen = th_strf("/usr/bin/python3 %s/tests/pyannote/make_models.py --hub-dir %s "
                              ">/dev/null",
                              TH_SOURCE_DIR, h.root);
    if (TH_CHECK(system(gen) == 0, "generating the models: %s", gen) &&
        TH_CHECK(mkdir(hf_home, 0700) == 0, "mkdir %s", hf_home) && audio &&
        hub_start(&h, 0, NULL)) {
        th_server_opts o = {.workers = 1};
        o.extra_env[0] = th_strf("CESAR_HUB_URL=http://127.0.0.1:%d", h.port);
        o.extra_env[1] = "CESAR_HUB_ALLOW_INSECURE=true";
        o.extra_env[2] = th_strf("CESAR_MODELS_DIR=%s", models);
        o.extra_env[3] = th_strf("HF_HOME=%s", hf_home);
        o.extra_env[4] = "CESAR_ENGINE=pocketsphinx";
        th_server *s = th_server_start("pyannote", &o);
        if (s) {
            test_refused_token_field(s, audio);
            test_walkthrough(s, &h, audio, hf_home, models);
            th_server_stop(s, SIGTERM, 30);
            char *log = slurp(s->log_path);
            TH_CHECK(no_token_in(log), "the server log holds no token");
            free(log);
        }
    }
    hub_stop(&h);
    return th_finish();
}
