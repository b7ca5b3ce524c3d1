/* test_asr: the engine-independent part of the asr module — defaults, the
 * registry, the engine facts the API reports (default model, model and
 * language lists, availability), argument checks and the errors asr_open
 * gives before any model is loaded (unknown engine, unsupported language,
 * missing model files). Fast: nothing here loads a model or decodes audio.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asr/asr.h"

static void test_default_params(void **state)
{
    (void)state;
    asr_params p = asr_default_params();
    /* "auto": Whisper when its model is installed, else PocketSphinx
     * (test_asr_whisper covers the choice). */
    assert_string_equal(p.engine, "auto");
    assert_null(p.model);
    assert_null(p.models_dir);
    assert_string_equal(p.task, "transcribe");
    assert_int_equal(p.beam_size, 5);
    assert_null(p.initial_prompt);
    assert_true(p.condition_on_previous_text);
    assert_true(p.temperature_fallback);
    assert_false(p.vad_filter);
    assert_null(p.vad_model);
    assert_null(p.language);
    assert_int_equal(p.n_threads, 0);
    assert_true(p.split_pause_seconds > 0 && p.split_pause_seconds <= 1.0);
    assert_float_equal(p.max_segment_seconds, 15.0, 1e-12);
    assert_null(p.progress);
    assert_null(p.log);
    assert_null(p.cancel);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int code = ASR_OK; code <= ASR_ERR_CANCELLED; code++) {
        const char *s = asr_strerror(code);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
    }
    assert_string_equal(asr_strerror(ASR_ERR_CANCELLED), "cancelled");
    assert_string_equal(asr_strerror(-5), "unknown error");
    assert_string_equal(asr_strerror(999), "unknown error");
}

static void test_registry(void **state)
{
    (void)state;
    const char *const *names = asr_engine_names();
    assert_non_null(names);
    size_t n = 0;
    for (; names[n]; n++)
        assert_true(asr_engine_known(names[n]));
    assert_true(n >= 1);
    assert_string_equal(names[0], "pocketsphinx");
    assert_string_equal(names[1], "whisper");
    assert_null(names[2]);
    assert_true(asr_engine_known("pocketsphinx"));
    assert_true(asr_engine_known("whisper"));
    /* "auto" is resolved to one of them, never an engine itself. */
    assert_false(asr_engine_known("auto"));
    assert_false(asr_engine_known("Whisper"));
    assert_false(asr_engine_known(""));
    assert_false(asr_engine_known(NULL));
    assert_false(asr_engine_known("PocketSphinx"));
}

static bool listed(const char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static void test_engine_facts_pocketsphinx(void **state)
{
    (void)state;
    assert_string_equal(asr_engine_default_model("pocketsphinx"), "en-us");
    const char *const *models = asr_engine_models("pocketsphinx");
    assert_non_null(models);
    assert_string_equal(models[0], "en-us");
    assert_null(models[1]);
    const char *const *langs = asr_engine_languages("pocketsphinx");
    assert_non_null(langs);
    assert_string_equal(langs[0], "en");
    assert_null(langs[1]);
    /* Debian's model is what every other ASR test decodes with. */
    char err[512] = "stale";
    assert_true(asr_engine_available("pocketsphinx", err, sizeof err));
    assert_string_equal(err, "");
    assert_true(asr_engine_available("pocketsphinx", NULL, 0));
}

/* What every engine must declare, so /health can list them all. */
static void test_engine_facts_every_engine(void **state)
{
    (void)state;
    for (const char *const *n = asr_engine_names(); *n; n++) {
        const char *def = asr_engine_default_model(*n);
        assert_non_null(def);
        if (!listed(asr_engine_models(*n), def))
            fail_msg("engine %s: default model %s is not among its models", *n, def);
        const char *const *langs = asr_engine_languages(*n);
        assert_non_null(langs);
        assert_non_null(langs[0]);
        for (; *langs; langs++) {
            /* ISO 639-1: two lower-case letters; "auto" is the callers' */
            assert_int_equal(strlen(*langs), 2);
            assert_true((*langs)[0] >= 'a' && (*langs)[0] <= 'z');
            assert_true((*langs)[1] >= 'a' && (*langs)[1] <= 'z');
        }
    }
}

static void test_engine_facts_unknown(void **state)
{
    (void)state;
    const char *bad[] = {"no-such-engine", "", "PocketSphinx", "auto", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(asr_engine_default_model(bad[i]));
        assert_null(asr_engine_models(bad[i]));
        assert_null(asr_engine_languages(bad[i]));
        char err[256] = "";
        assert_false(asr_engine_available(bad[i], err, sizeof err));
        assert_non_null(strstr(err, "unknown ASR engine"));
        assert_non_null(strstr(err, "pocketsphinx")); /* lists what there is */
        assert_false(asr_engine_available(bad[i], NULL, 0));
    }
}

static void test_unknown_engine(void **state)
{
    (void)state;
    asr_params p = asr_default_params();
    p.engine = "no-such-engine";
    asr_engine *e = (asr_engine *)&p;
    char err[256] = "";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_UNKNOWN_ENGINE);
    assert_null(e);
    assert_string_equal(err,
                        "unknown ASR engine 'no-such-engine' (available: auto, pocketsphinx, whisper)");
}

static void test_bad_language(void **state)
{
    (void)state;
    asr_params p = asr_default_params();
    p.engine = "pocketsphinx";
    p.language = "fr";
    asr_engine *e = NULL;
    char err[256] = "";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_LANGUAGE);
    assert_null(e);
    assert_string_equal(err, "pocketsphinx model en-us only supports English (en); got 'fr'");

    p.language = "de-DE";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_LANGUAGE);
    assert_non_null(strstr(err, "got 'de-DE'"));
}

static void test_missing_model_name(void **state)
{
    (void)state;
    asr_params p = asr_default_params();
    p.engine = "pocketsphinx"; /* auto would take the name for a Whisper model */
    p.model = "no-such-model";
    asr_engine *e = NULL;
    char err[512] = "";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_MODEL);
    assert_null(e);
    assert_non_null(strstr(err, "'no-such-model' not found"));
    assert_non_null(strstr(err, "/no-such-model")); /* the path it looked at */
}

static void test_missing_model_path(void **state)
{
    (void)state;
    asr_params p = asr_default_params();
    p.engine = "pocketsphinx";
    p.model = "/nonexistent/cesar/models/en-us/";
    asr_engine *e = NULL;
    char err[512] = "";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_MODEL);
    assert_null(e);
    assert_non_null(strstr(err, "no directory /nonexistent/cesar/models/en-us "));
}

static void write_file(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
}

/* Joins dir and name into a static buffer (one at a time is enough here). */
static const char *in_dir(const char *dir, const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Expects asr_open on model dir to fail with ASR_ERR_MODEL and a message
 * holding both fragments. */
static void expect_model_error(const char *dir, const char *what, const char *path)
{
    asr_params p = asr_default_params();
    p.engine = "pocketsphinx";
    p.model = dir;
    asr_engine *e = (asr_engine *)&p;
    char err[1024] = "";
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_MODEL);
    assert_null(e);
    if (!strstr(err, what) || !strstr(err, path))
        fail_msg("error '%s' lacks '%s' or '%s'", err, what, path);
}

/* A model directory missing one file at a time: each error names the file,
 * because pocketsphinx itself would exit the process on a missing one. */
static void test_incomplete_model_dir(void **state)
{
    (void)state;
    char root[] = "/tmp/cesar_test_asr_XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[256], hmm[300];
    snprintf(dir, sizeof dir, "%s/toy", root);
    snprintf(hmm, sizeof hmm, "%s/toy", dir);
    assert_int_equal(mkdir(dir, 0755), 0);

    expect_model_error(dir, "acoustic model file", in_dir(hmm, "mdef"));
    assert_int_equal(mkdir(hmm, 0755), 0);
    static const char *const hmm_files[] = {"mdef", "means", "variances", "transition_matrices"};
    for (size_t i = 0; i < 4; i++) {
        expect_model_error(dir, "acoustic model file", in_dir(hmm, hmm_files[i]));
        write_file(in_dir(hmm, hmm_files[i]));
    }
    expect_model_error(dir, "(or sendump)", in_dir(hmm, "mixture_weights"));
    write_file(in_dir(hmm, "sendump"));
    expect_model_error(dir, "language model", in_dir(dir, "toy.lm.bin"));
    write_file(in_dir(dir, "toy.lm.bin"));
    expect_model_error(dir, "dictionary", "cmudict-toy.dict");
    /* With toy.dict present every file exists; what pocketsphinx makes of
     * garbage in them is test_asr_badmodel's subject. */

    for (size_t i = 0; i < 4; i++)
        unlink(in_dir(hmm, hmm_files[i]));
    unlink(in_dir(hmm, "sendump"));
    unlink(in_dir(dir, "toy.lm.bin"));
    rmdir(hmm);
    rmdir(dir);
    rmdir(root);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(asr_open(NULL, NULL, err, sizeof err), ASR_ERR_INVALID_ARG);

    asr_params p = asr_default_params();
    p.split_pause_seconds = NAN;
    asr_engine *e = (asr_engine *)&p;
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_INVALID_ARG);
    assert_null(e);
    assert_non_null(strstr(err, "split_pause_seconds"));
    p = asr_default_params();
    p.max_segment_seconds = NAN;
    assert_int_equal(asr_open(&e, &p, err, sizeof err), ASR_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "max_segment_seconds"));
    /* No error buffer at all is fine. */
    assert_int_equal(asr_open(&e, &p, NULL, 0), ASR_ERR_INVALID_ARG);

    transcript *t = (transcript *)&p;
    assert_int_equal(asr_transcribe(NULL, NULL, &t, err, sizeof err), ASR_ERR_INVALID_ARG);
    assert_null(t);
    asr_close(NULL);
    assert_string_equal(asr_engine_name(NULL), "");
    assert_string_equal(asr_model_name(NULL), "");
    assert_string_equal(asr_language(NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_params),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_unknown_engine),
        cmocka_unit_test(test_bad_language),
        cmocka_unit_test(test_missing_model_name),
        cmocka_unit_test(test_missing_model_path),
        cmocka_unit_test(test_incomplete_model_dir),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_engine_facts_pocketsphinx),
        cmocka_unit_test(test_engine_facts_every_engine),
        cmocka_unit_test(test_engine_facts_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
