/* test_api_whisper: the Whisper engine behind `cesar serve` — GET /health
 * lists the models installed in the server's models directory under the
 * whisper engine (and says the default model is missing); a job for a
 * Whisper model that is not installed is a 422 naming the model; a job for
 * an installed one runs to completion on Whisper; engine "auto" is settled
 * at submission from what is installed.
 *
 * The model is random-weight (tests/whisper/make_model.py, generated at test
 * time), so its words are nonsense and only the engine's part is checked.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MODEL_NAME "test-model"

/* Writes MODELS/ggml-test-model.bin; false (with a failed check) if it fails. */
static bool make_model(const char *models)
{
    if (!TH_CHECK(mkdir(models, 0755) == 0, "mkdir %s", models))
        return false;
    const char *cmd = th_strf("/usr/bin/python3 %s/tests/whisper/make_model.py --header "
                              "%s/../shared/models/whisper/for-tests-ggml-tiny.en.bin --out "
                              "%s/ggml-" MODEL_NAME ".bin --dims test --ftype f16 --seed 1",
                              TH_SOURCE_DIR, TH_SOURCE_DIR, models);
    return TH_CHECK(system(cmd) == 0, "generating the model: %s", cmd);
}

static void test_health(th_server *s)
{
    th_response *r = th_getf(s, "/health");
    TH_CHECK(r->status == 200, "GET /health -> 200 (%s)", th_describe(r));
    json_t *whisper = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(th_jget(r->json, "engines.asr"), i, e)
    {
        const char *name = th_jstr(e, "name");
        if (name && strcmp(name, "whisper") == 0)
            whisper = e;
    }
    if (TH_CHECK(whisper != NULL, "/health engines.asr lists whisper (%s)", th_describe(r))) {
        json_t *models = th_jget(whisper, "models");
        TH_CHECK(json_is_array(models) && json_array_size(models) == 1 &&
                     th_jarray_has_string(models, MODEL_NAME),
                 "whisper models are the installed one, [\"" MODEL_NAME "\"] (%s)",
                 th_describe(r));
        const char *dm = th_jstr(whisper, "default_model");
        TH_CHECK(dm && strcmp(dm, "base") == 0, "whisper default_model base (got %s)",
                 dm ? dm : "none");
        /* only test-model is installed, so the default model is not */
        TH_CHECK(json_is_false(th_jget(whisper, "available")), "whisper available: false");
        const char *msg = th_jstr(whisper, "message");
        TH_CHECK(msg && strstr(msg, "'base'") && strstr(msg, "cesar models pull base"),
                 "whisper message names base and the pull command (got %s)", msg ? msg : "none");
    }
    th_response_free(r);
}

static void test_not_installed(th_server *s)
{
    const char *fields[] = {"engine", "whisper", "model", "not-installed", NULL};
    th_response *r = th_upload(s, th_clip("0870"), "clip.wav", fields, NULL);
    th_expect_error(r, 422, "invalid_field", "model", "engine=whisper model=not-installed");
    const char *msg = th_jstr(r->json, "error.message");
    TH_CHECK(msg && strstr(msg, "'not-installed'") && strstr(msg, "not installed"),
             "422 message names the model (got %s)", msg ? msg : "none");
    th_response_free(r);

    const char *path_fields[] = {"engine", "whisper", "model",
                                 th_strf("%s/models/ggml-" MODEL_NAME ".bin", th_workdir()),
                                 NULL};
    r = th_upload(s, th_clip("0870"), "clip.wav", path_fields, NULL);
    th_expect_error(r, 422, "invalid_field", "model", "engine=whisper model=PATH");
    msg = th_jstr(r->json, "error.message");
    TH_CHECK(msg && strstr(msg, "not a model name"),
             "422 message says a path is not a model name (got %s)", msg ? msg : "none");
    th_response_free(r);
}

/* Submits fields and returns the engine the 202's job names (harness-owned
 * string) and the id in *id (caller frees), or NULL. */
static const char *submit_engine(th_server *s, const char *const *fields, char **id)
{
    th_response *r = th_upload(s, th_clip("0870"), "clip.wav", fields, NULL);
    *id = NULL;
    if (!TH_CHECK(r->status == 202, "POST /transcribe -> 202 (%s)", th_describe(r))) {
        th_response_free(r);
        return NULL;
    }
    const char *engine = th_jstr(r->json, "engine");
    const char *job_id = th_jstr(r->json, "id");
    const char *out = engine ? th_strf("%s", engine) : NULL;
    *id = job_id ? strdup(job_id) : NULL;
    th_response_free(r);
    return out;
}

static void test_whisper_job(th_server *s)
{
    const char *fields[] = {"engine", "whisper", "model", MODEL_NAME, "diarize", "false", NULL};
    char *id = NULL;
    const char *engine = submit_engine(s, fields, &id);
    TH_CHECK(engine && strcmp(engine, "whisper") == 0, "202 job engine whisper (got %s)",
             engine ? engine : "none");
    if (!id)
        return;
    json_t *job = th_wait_job(s, id, "completed,failed", 300);
    if (TH_CHECK(job != NULL, "whisper job %s finished", id)) {
        const char *st = th_jstr(job, "status");
        TH_CHECK(st && strcmp(st, "completed") == 0, "whisper job completed (got %s: %s)",
                 st ? st : "none", th_jstr(job, "error_message") ? th_jstr(job, "error_message")
                                                                : "");
        const char *e = th_jstr(job, "engine");
        TH_CHECK(e && strcmp(e, "whisper") == 0, "finished job engine whisper (got %s)",
                 e ? e : "none");
        const char *m = th_jstr(job, "model_size");
        TH_CHECK(m && strcmp(m, MODEL_NAME) == 0, "job model_size " MODEL_NAME " (got %s)",
                 m ? m : "none");
        json_decref(job);
        th_response *r = th_getf(s, "/jobs/%s/result?format=json", id);
        TH_CHECK(r->status == 200, "GET result -> 200 (%s)", th_describe(r));
        const char *re = th_jstr(r->json, "engine");
        TH_CHECK(re && strcmp(re, "whisper") == 0, "result json engine whisper (got %s)",
                 re ? re : "none");
        th_response_free(r);
    }
    free(id);
}

/* "auto" (or no engine) becomes whisper exactly when the model is installed. */
static void test_auto(th_server *s)
{
    const char *named[] = {"engine", "auto", "model", MODEL_NAME, "diarize", "false", NULL};
    char *id = NULL;
    const char *engine = submit_engine(s, named, &id);
    TH_CHECK(engine && strcmp(engine, "whisper") == 0,
             "engine=auto model=" MODEL_NAME " -> whisper (got %s)", engine ? engine : "none");
    free(id);
    const char *none[] = {"diarize", "false", NULL};
    engine = submit_engine(s, none, &id);
    TH_CHECK(engine && strcmp(engine, "pocketsphinx") == 0,
             "no engine, base not installed -> pocketsphinx (got %s)", engine ? engine : "none");
    free(id);
}

int main(void)
{
    th_init("test_api_whisper");
    const char *models = th_strf("%s/models", th_workdir());
    if (make_model(models)) {
        th_server_opts opts = {.workers = 1};
        opts.extra_env[0] = th_strf("CESAR_MODELS_DIR=%s", models);
        opts.extra_env[1] = "CESAR_BEAM_SIZE=1"; /* greedy: the run stays short */
        /* random weights never satisfy the fallback's checks: one decode per window */
        opts.extra_env[2] = "CESAR_TEMPERATURE_FALLBACK=false";
        th_server *s = th_server_start("whisper", &opts);
        if (s) {
            test_health(s);
            test_not_installed(s);
            test_whisper_job(s);
            test_auto(s);
        }
    }
    return th_finish();
}
