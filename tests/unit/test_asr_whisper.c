/* test_asr_whisper: the Whisper engine as the rest of Cesar sees it through
 * asr.h — how engine "auto" is settled (asr_engine_resolve), which models
 * count as installed, the errors asr_open gives for missing, corrupt or
 * unsuitable models and bad settings, and a transcription with a random-weight
 * model generated at test time (tests/whisper/make_model.py). Random weights
 * say nothing sensible, so only what must hold for any weights is checked:
 * ordering and bounds of the timings, the language, determinism, and that a
 * model opened by name and by path is the same model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wav_reader.h"
#include "asr/asr.h"

#define PYTHON "/usr/bin/python3"
#define HEADER_TINY_EN CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-tiny.en.bin"
#define CLIP "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"
#define RATE 16000
#define MODEL_NAME "test-model"

typedef struct {
    char root[64];        /* temporary directory, removed at teardown */
    char models[128];     /* root/models: holds ggml-test-model.bin */
    char model_path[192]; /* the generated model */
    char empty[128];      /* root/empty: a models directory with nothing in it */
    char corrupt[192];    /* root/corrupt.bin: not a ggml file */
    float *audio;
    size_t n_audio;
} fixture;

/* ---- test data ---------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->root, sizeof fx->root, "/tmp/cesar_test_asr_whisper_XXXXXX");
    assert_non_null(mkdtemp(fx->root));
    snprintf(fx->models, sizeof fx->models, "%s/models", fx->root);
    snprintf(fx->empty, sizeof fx->empty, "%s/empty", fx->root);
    snprintf(fx->model_path, sizeof fx->model_path, "%s/ggml-" MODEL_NAME ".bin", fx->models);
    snprintf(fx->corrupt, sizeof fx->corrupt, "%s/corrupt.bin", fx->root);
    assert_int_equal(mkdir(fx->models, 0755), 0);
    assert_int_equal(mkdir(fx->empty, 0755), 0);
    /* A file whose magic is wrong, big enough to look like something. */
    write_text(fx->corrupt, "this is not a ggml whisper model, only text pretending to be one\n");

    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             PYTHON " " CESAR_SOURCE_DIR "/tests/whisper/make_model.py --header " HEADER_TINY_EN
                    " --out %s --dims test --ftype f16 --seed 1",
             fx->model_path);
    if (system(cmd) != 0)
        fail_msg("could not generate the test model: %s", cmd);
    fx->audio = read_wav(CLIP, &fx->n_audio);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    unlink(fx->model_path);
    unlink(fx->corrupt);
    rmdir(fx->models);
    rmdir(fx->empty);
    rmdir(fx->root);
    free(fx->audio);
    free(fx);
    return 0;
}

/* ---- engine "auto" and availability ------------------------------------- */

static void test_resolve_auto(void **state)
{
    fixture *fx = *state;
    char note[1024] = "stale";
    /* The named model is installed: Whisper, and nothing to say. */
    assert_string_equal(asr_engine_resolve("auto", fx->models, MODEL_NAME, note, sizeof note),
                        "whisper");
    assert_string_equal(note, "");
    assert_string_equal(asr_engine_resolve(NULL, fx->models, MODEL_NAME, note, sizeof note),
                        "whisper");
    assert_string_equal(asr_engine_resolve("", NULL, fx->model_path, note, sizeof note),
                        "whisper");

    /* The default model ("base") is not installed: PocketSphinx, and the note
     * says which model is missing and how to get it. */
    strcpy(note, "stale");
    assert_string_equal(asr_engine_resolve("auto", fx->empty, NULL, note, sizeof note),
                        "pocketsphinx");
    if (!strstr(note, "'base'") || !strstr(note, "cesar models pull base") ||
        !strstr(note, "PocketSphinx"))
        fail_msg("note '%s' does not name the model, the pull command and the fallback", note);
    assert_string_equal(asr_engine_resolve("auto", fx->models, "small", note, sizeof note),
                        "pocketsphinx");
    if (!strstr(note, "'small'") || !strstr(note, "cesar models pull small"))
        fail_msg("note '%s' does not name 'small' and its pull command", note);
    /* no models directory at all, and a note buffer that may be absent */
    assert_string_equal(asr_engine_resolve("auto", NULL, MODEL_NAME, note, sizeof note),
                        "pocketsphinx");
    assert_non_null(strstr(note, "'" MODEL_NAME "'"));
    assert_string_equal(asr_engine_resolve("auto", fx->empty, NULL, NULL, 0), "pocketsphinx");
    /* a corrupt file still "exists": resolving does not load models */
    assert_string_equal(asr_engine_resolve("auto", NULL, fx->corrupt, note, sizeof note),
                        "whisper");
}

static void test_resolve_explicit(void **state)
{
    fixture *fx = *state;
    char note[256] = "stale";
    assert_string_equal(asr_engine_resolve("pocketsphinx", fx->models, MODEL_NAME, note,
                                           sizeof note),
                        "pocketsphinx");
    assert_string_equal(note, "");
    strcpy(note, "stale");
    assert_string_equal(asr_engine_resolve("whisper", fx->empty, NULL, note, sizeof note),
                        "whisper");
    assert_string_equal(note, "");
    /* unknown names pass through for asr_open to reject */
    assert_string_equal(asr_engine_resolve("nope", fx->models, NULL, note, sizeof note), "nope");
}

static void test_model_available(void **state)
{
    fixture *fx = *state;
    char err[1024] = "";
    assert_true(asr_engine_model_available("whisper", fx->models, MODEL_NAME, err, sizeof err));
    assert_true(asr_engine_model_available("whisper", NULL, fx->model_path, err, sizeof err));
    assert_true(asr_engine_model_available("whisper", fx->empty, fx->model_path, NULL, 0));

    assert_false(asr_engine_model_available("whisper", fx->empty, MODEL_NAME, err, sizeof err));
    if (!strstr(err, "'" MODEL_NAME "'") || !strstr(err, fx->empty) ||
        !strstr(err, "cesar models pull " MODEL_NAME))
        fail_msg("'%s' does not name the model, where it looked and the pull command", err);
    assert_false(asr_engine_model_available("whisper", fx->models, NULL, err, sizeof err));
    assert_non_null(strstr(err, "'base'")); /* the default */
    assert_false(asr_engine_model_available("whisper", fx->models, "bad name", err, sizeof err));
    assert_non_null(strstr(err, "bad name"));

    char missing[256];
    snprintf(missing, sizeof missing, "%s/nothing-here.bin", fx->root);
    assert_false(asr_engine_model_available("whisper", fx->models, missing, err, sizeof err));
    assert_non_null(strstr(err, missing));
    /* a directory is not a model file */
    errno = ENOTTY; /* a stale errno must not become the reason */
    assert_false(asr_engine_model_available("whisper", NULL, fx->models, err, sizeof err));
    assert_non_null(strstr(err, fx->models));
    if (!strstr(err, "not a regular file"))
        fail_msg("'%s' does not say a directory is not a model file", err);

    assert_false(asr_engine_model_available("nope", fx->models, MODEL_NAME, err, sizeof err));
    assert_non_null(strstr(err, "unknown ASR engine 'nope'"));
}

/* ---- asr_open errors ---------------------------------------------------- */

static asr_params whisper_params(const fixture *fx, const char *model)
{
    asr_params p = asr_default_params();
    p.engine = "whisper";
    p.models_dir = fx->models;
    p.model = model;
    p.beam_size = 1;
    p.n_threads = 2;
    /* Random weights never pass the fallback's checks, so each window would
     * be decoded six times; once shows everything these tests look at. */
    p.temperature_fallback = false;
    return p;
}

/* asr_open must fail with code and an error holding both needles. */
static void open_fails(const asr_params *p, int code, const char *needle1, const char *needle2)
{
    asr_engine *e = (asr_engine *)p;
    char err[1024] = "";
    int rc = asr_open(&e, p, err, sizeof err);
    if (rc != code)
        fail_msg("asr_open: %d (%s), expected %d", rc, err, code);
    assert_null(e);
    if (!strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
        fail_msg("error '%s' lacks '%s' / '%s'", err, needle1, needle2 ? needle2 : "");
}

static void test_open_missing_model(void **state)
{
    fixture *fx = *state;
    asr_params p = whisper_params(fx, "base");
    char want[256];
    snprintf(want, sizeof want, "%s/ggml-base.bin", fx->models);
    open_fails(&p, ASR_ERR_MODEL, want, "cesar models pull base");
    p.model = NULL; /* the default is base too */
    open_fails(&p, ASR_ERR_MODEL, want, "cesar models pull base");

    char missing[256];
    snprintf(missing, sizeof missing, "%s/nothing-here.bin", fx->root);
    p.model = missing;
    open_fails(&p, ASR_ERR_MODEL, missing, NULL);
}

static void test_open_corrupt_model(void **state)
{
    fixture *fx = *state;
    asr_params p = whisper_params(fx, fx->corrupt);
    open_fails(&p, ASR_ERR_MODEL, fx->corrupt, NULL);
}

static void test_open_language(void **state)
{
    fixture *fx = *state;
    asr_params p = whisper_params(fx, MODEL_NAME);
    p.language = "de";
    open_fails(&p, ASR_ERR_LANGUAGE, "English-only", "'de'");
    p.language = "xx";
    open_fails(&p, ASR_ERR_LANGUAGE, "'xx'", NULL);
}

static void test_open_task(void **state)
{
    fixture *fx = *state;
    asr_params p = whisper_params(fx, MODEL_NAME);
    p.task = "translate";
    open_fails(&p, ASR_ERR_INVALID_ARG, "translate", "English-only");
    p.task = "summarise";
    open_fails(&p, ASR_ERR_INVALID_ARG, "'summarise'", "transcribe or translate");
}

static void test_open_beam_size(void **state)
{
    fixture *fx = *state;
    asr_params p = whisper_params(fx, MODEL_NAME);
    p.beam_size = 0;
    open_fails(&p, ASR_ERR_INVALID_ARG, "beam_size 0", "1 to 16");
    p.beam_size = 17;
    open_fails(&p, ASR_ERR_INVALID_ARG, "beam_size 17", "1 to 16");
}

/* ---- transcription ------------------------------------------------------ */

typedef struct {
    const float *samples;
    size_t n, pos;
} reader;

static int read_samples(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                        size_t errlen)
{
    (void)err;
    (void)errlen;
    reader *r = user_data;
    size_t n = r->n - r->pos < max ? r->n - r->pos : max;
    memcpy(buf, r->samples + r->pos, n * sizeof *buf);
    r->pos += n;
    *n_read = n;
    return 0;
}

/* Opens an engine with p and transcribes the clip; the caller frees it. */
static transcript *transcribe(const fixture *fx, const asr_params *p, char *model_name,
                              size_t model_name_len)
{
    asr_engine *e = NULL;
    char err[1024] = "";
    if (asr_open(&e, p, err, sizeof err) != ASR_OK)
        fail_msg("asr_open: %s", err);
    assert_string_equal(asr_engine_name(e), "whisper");
    snprintf(model_name, model_name_len, "%s", asr_model_name(e));
    reader r = {.samples = fx->audio, .n = fx->n_audio};
    asr_source src = {.read = read_samples, .user_data = &r,
                      .total_seconds = (double)fx->n_audio / RATE};
    transcript *t = NULL;
    if (asr_transcribe(e, &src, &t, err, sizeof err) != ASR_OK)
        fail_msg("asr_transcribe: %s", err);
    asr_close(e);
    assert_non_null(t);
    return t;
}

/* What any weights must give: timings inside the audio, in order, words
 * inside their segment. */
static void check_timings(const transcript *t, double duration)
{
    const double eps = 0.011; /* timestamps are multiples of 20 ms, rounded */
    double prev_start = 0.0;
    for (size_t i = 0; i < t->n_segments; i++) {
        const transcript_segment *s = &t->segments[i];
        if (!(s->start >= 0.0 && s->start <= s->end && s->end <= duration + eps))
            fail_msg("segment %zu [%.3f, %.3f] outside [0, %.3f]", i, s->start, s->end, duration);
        if (s->start < prev_start)
            fail_msg("segment %zu starts at %.3f, before %.3f", i, s->start, prev_start);
        prev_start = s->start;
        assert_non_null(s->text);
        double prev_word = s->start;
        for (size_t w = 0; w < s->n_words; w++) {
            const transcript_word *wd = &s->words[w];
            if (!(wd->start >= s->start - eps && wd->end <= s->end + eps &&
                  wd->start <= wd->end))
                fail_msg("segment %zu word %zu [%.3f, %.3f] outside [%.3f, %.3f]", i, w,
                         wd->start, wd->end, s->start, s->end);
            if (wd->start < prev_word - eps)
                fail_msg("segment %zu word %zu starts at %.3f, before %.3f", i, w, wd->start,
                         prev_word);
            prev_word = wd->start;
            assert_non_null(wd->text);
            assert_true(wd->confidence == -1.0f ||
                        (wd->confidence >= 0.0f && wd->confidence <= 1.0f));
        }
    }
}

static void assert_same_transcript(const transcript *a, const transcript *b)
{
    assert_int_equal(a->n_segments, b->n_segments);
    assert_string_equal(a->language, b->language);
    for (size_t i = 0; i < a->n_segments; i++) {
        const transcript_segment *x = &a->segments[i], *y = &b->segments[i];
        assert_string_equal(x->text, y->text);
        assert_true(x->start == y->start && x->end == y->end);
        assert_int_equal(x->n_words, y->n_words);
        for (size_t w = 0; w < x->n_words; w++) {
            assert_string_equal(x->words[w].text, y->words[w].text);
            assert_true(x->words[w].start == y->words[w].start);
            assert_true(x->words[w].end == y->words[w].end);
        }
    }
}

static void test_transcribe(void **state)
{
    fixture *fx = *state;
    double duration = (double)fx->n_audio / RATE;
    char name[1024];

    asr_params p = whisper_params(fx, fx->model_path);
    transcript *by_path = transcribe(fx, &p, name, sizeof name);
    assert_string_equal(name, fx->model_path);
    assert_string_equal(by_path->language, "en"); /* English-only model, language auto */
    assert_true(by_path->duration > duration - 0.01 && by_path->duration < duration + 0.01);
    /* this model and clip give text (so the checks below check something) */
    assert_true(by_path->n_segments >= 1);
    assert_true(by_path->segments[0].n_words >= 1);
    check_timings(by_path, duration);

    transcript *again = transcribe(fx, &p, name, sizeof name);
    assert_same_transcript(by_path, again);
    transcript_free(again);

    /* By name from the models directory: the same file, so the same text. */
    p = whisper_params(fx, MODEL_NAME);
    p.language = "en";
    transcript *by_name = transcribe(fx, &p, name, sizeof name);
    assert_string_equal(name, fx->model_path);
    assert_same_transcript(by_path, by_name);
    transcript_free(by_name);

    /* Engine auto picks the installed model and gives the same result. */
    p.engine = "auto";
    p.language = NULL;
    transcript *by_auto = transcribe(fx, &p, name, sizeof name);
    assert_same_transcript(by_path, by_auto);
    transcript_free(by_auto);
    transcript_free(by_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_auto),
        cmocka_unit_test(test_resolve_explicit),
        cmocka_unit_test(test_model_available),
        cmocka_unit_test(test_open_missing_model),
        cmocka_unit_test(test_open_corrupt_model),
        cmocka_unit_test(test_open_language),
        cmocka_unit_test(test_open_task),
        cmocka_unit_test(test_open_beam_size),
        cmocka_unit_test(test_transcribe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
