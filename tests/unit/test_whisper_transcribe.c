/* test_whisper_transcribe: whisper_transcribe end to end on random-weight
 * models (dims "test"): 45 s of synthetic audio pulled in small chunks;
 * segments in order, inside the audio and with valid UTF-8 text; words
 * inside their segments and monotone; the reader never asked for more than
 * one window of look-ahead; progress reaching the end; identical output on
 * a second run; language detection, cancellation, and the errors for bad
 * parameters and a failing reader.
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
#include <sys/wait.h>

#include "whisper/whisper.h"

#define DIR CESAR_BINARY_DIR "/test-whisper-transcribe"
#define HEADERS CESAR_SOURCE_DIR "/../shared/models/whisper/"
#define SECONDS 45

typedef struct {
    int64_t pos, total;
    size_t max_request;
    int fail_at; /* fail once pos passes this sample (< 0: never) */
} reader;

static int read_audio(void *ud, float *buf, size_t max, size_t *n_read, char *err, size_t errlen)
{
    reader *r = ud;
    if (max > r->max_request)
        r->max_request = max;
    if (r->fail_at >= 0 && r->pos >= r->fail_at) {
        snprintf(err, errlen, "disk on fire");
        return 1;
    }
    size_t n = max < 4000 ? max : 4000; /* small chunks, like a decoder's */
    if ((int64_t)n > r->total - r->pos)
        n = (size_t)(r->total - r->pos);
    for (size_t i = 0; i < n; i++) {
        double t = (double)(r->pos + (int64_t)i) / 16000.0;
        /* bursts of tone separated by near-silence */
        double env = fmod(t, 7.0) < 4.0 ? 0.4 : 0.001;
        buf[i] = (float)(env * sin(2 * M_PI * (180 + 40 * sin(t)) * t));
    }
    r->pos += (int64_t)n;
    *n_read = n;
    return 0;
}

typedef struct {
    int n;
    double last_end;
    char all[65536];
    double times[4096];
    int n_times;
    int stop_after; /* < 0: never */
    double duration;
} collected;

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int k = *p < 0x80             ? 0
                : (*p & 0xe0) == 0xc0 ? 1
                : (*p & 0xf0) == 0xe0 ? 2
                : (*p & 0xf8) == 0xf0 ? 3
                                      : -1;
        if (k < 0)
            return false;
        p++;
        for (int i = 0; i < k; i++, p++)
            if ((*p & 0xc0) != 0x80)
                return false;
    }
    return true;
}

static int on_segment(const whisper_segment *seg, void *ud)
{
    collected *c = ud;
    assert_true(seg->start >= c->last_end - 1e-9 || c->n == 0);
    assert_true(seg->end > seg->start);
    assert_true(seg->end <= c->duration + 1e-9);
    assert_non_null(seg->text);
    assert_true(valid_utf8(seg->text));
    assert_true(seg->text[0] != ' ');
    assert_true(seg->no_speech_prob >= 0 && seg->no_speech_prob <= 1);
    double prev = seg->start;
    for (size_t i = 0; i < seg->n_words; i++) {
        const whisper_word *w = &seg->words[i];
        assert_true(w->start >= prev - 1e-9);
        assert_true(w->end >= w->start);
        assert_true(w->end <= seg->end + 1e-9);
        assert_true(w->probability >= 0 && w->probability <= 1.0001f);
        assert_true(valid_utf8(w->text));
        assert_true(w->text[0] != '\0' && w->text[0] != ' ');
        prev = w->end;
    }
    c->last_end = seg->end;
    if (c->n_times < 4094) {
        c->times[c->n_times++] = seg->start;
        c->times[c->n_times++] = seg->end;
    }
    size_t len = strlen(c->all);
    snprintf(c->all + len, sizeof c->all - len, "[%.2f-%.2f]%s\n", seg->start, seg->end, seg->text);
    c->n++;
    return c->stop_after >= 0 && c->n >= c->stop_after;
}

static void progress(double seconds, void *ud)
{
    double *last = ud;
    assert_true(seconds >= *last);
    *last = seconds;
}

static whisper_model *make_model(const char *header, int seed)
{
    char path[512], cmd[2048], err[512] = "";
    snprintf(path, sizeof path, DIR "/%s-%d.bin", header, seed);
    snprintf(cmd, sizeof cmd,
             "mkdir -p " DIR " && /usr/bin/python3 " CESAR_SOURCE_DIR
             "/tests/whisper/make_model.py --header " HEADERS
             "for-tests-ggml-%s.bin --out %s --dims test --ftype f32 --seed %d",
             header, path, seed);
    int rc = system(cmd);
    assert_true(rc != -1 && WEXITSTATUS(rc) == 0);
    whisper_model *m = NULL;
    whisper_load_params lp = whisper_load_default_params();
    if (whisper_model_load(&m, path, &lp, err, sizeof err) != WHISPER_OK)
        fail_msg("load %s: %s", path, err);
    return m;
}

static int transcribe(whisper_model *m, whisper_transcribe_params *p, reader *rd, collected *c,
                      const char **lang, char *err, size_t errlen)
{
    whisper_state *s = NULL;
    int need = whisper_transcribe_max_seq(p);
    if (whisper_state_new(&s, m, 1, need, err, errlen) != WHISPER_OK)
        fail_msg("state: %s", err);
    int rc = whisper_transcribe(s, p, read_audio, rd, on_segment, c, lang, err, errlen);
    whisper_state_free(s);
    return rc;
}

static void test_long_form_english(void **state)
{
    (void)state;
    whisper_model *m = make_model("tiny.en", 7);
    whisper_transcribe_params p = whisper_transcribe_default_params();
    p.beam_size = 2; /* keep the test quick; beams are covered elsewhere */
    p.best_of = 2;
    p.n_temperatures = 2; /* random weights always fall back: 0, then 1.0 */
    p.temperatures[1] = 1.0f;
    double last = 0;
    p.progress = progress;
    p.progress_user_data = &last;
    reader rd = {0, SECONDS * 16000, 0, -1};
    static collected c1, c2;
    memset(&c1, 0, sizeof c1);
    c1.stop_after = -1;
    c1.duration = SECONDS;
    char err[512] = "";
    const char *lang = NULL;
    int rc = transcribe(m, &p, &rd, &c1, &lang, err, sizeof err);
    if (rc != WHISPER_OK)
        fail_msg("transcribe: %s", err);
    print_message("%d segments, reader asked for at most %zu samples, progress %.2f\n%.600s", c1.n,
                  rd.max_request, last, c1.all);
    assert_string_equal(lang, "en");
    assert_int_equal(rd.pos, rd.total);
    assert_true(rd.max_request <= 480000 + 400);
    assert_float_equal(last, SECONDS, 0.011);
    /* deterministic: the same again */
    memset(&c2, 0, sizeof c2);
    c2.stop_after = -1;
    c2.duration = SECONDS;
    rd = (reader){0, SECONDS * 16000, 0, -1};
    last = 0;
    assert_int_equal(transcribe(m, &p, &rd, &c2, &lang, err, sizeof err), WHISPER_OK);
    assert_string_equal(c1.all, c2.all);
    whisper_model_free(m);
}

static void test_multilingual_detects_language(void **state)
{
    (void)state;
    whisper_model *m = make_model("base", 3);
    whisper_transcribe_params p = whisper_transcribe_default_params();
    p.beam_size = 1;
    p.n_temperatures = 1; /* temperature 0 only */
    p.word_timestamps = false;
    reader rd = {0, 12 * 16000, 0, -1};
    static collected c;
    memset(&c, 0, sizeof c);
    c.stop_after = -1;
    c.duration = 12;
    char err[512] = "";
    const char *lang = NULL;
    int rc = transcribe(m, &p, &rd, &c, &lang, err, sizeof err);
    if (rc != WHISPER_OK)
        fail_msg("transcribe: %s", err);
    assert_non_null(lang);
    assert_true(whisper_language_index(lang) >= 0);
    print_message("detected %s, %d segments\n", lang, c.n);
    /* a forced language is reported as is */
    p.language = "de";
    p.task = WHISPER_TASK_TRANSLATE;
    rd = (reader){0, 5 * 16000, 0, -1};
    memset(&c, 0, sizeof c);
    c.stop_after = -1;
    c.duration = 5;
    assert_int_equal(transcribe(m, &p, &rd, &c, &lang, err, sizeof err), WHISPER_OK);
    assert_string_equal(lang, "de");
    whisper_model_free(m);
}

static void test_errors(void **state)
{
    (void)state;
    whisper_model *m = make_model("tiny.en", 7);
    whisper_transcribe_params p = whisper_transcribe_default_params();
    p.beam_size = 1;
    p.n_temperatures = 1;
    static collected c;
    memset(&c, 0, sizeof c);
    c.stop_after = -1;
    c.duration = 50;
    char err[512] = "";
    reader rd = {0, 5 * 16000, 0, -1};
    p.language = "de";
    assert_int_equal(transcribe(m, &p, &rd, &c, NULL, err, sizeof err), WHISPER_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "English-only"));
    p.language = "en";
    p.task = WHISPER_TASK_TRANSLATE;
    assert_int_equal(transcribe(m, &p, &rd, &c, NULL, err, sizeof err), WHISPER_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "translate"));
    p.task = WHISPER_TASK_TRANSCRIBE;
    p.language = "xx";
    assert_int_equal(transcribe(m, &p, &rd, &c, NULL, err, sizeof err), WHISPER_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "\"xx\""));
    p.language = NULL;
    /* a state too small for the beams */
    whisper_state *s = NULL;
    assert_int_equal(whisper_state_new(&s, m, 1, 1, err, sizeof err), WHISPER_OK);
    p.beam_size = 5;
    assert_int_equal(
        whisper_transcribe(s, &p, read_audio, &rd, on_segment, &c, NULL, err, sizeof err),
        WHISPER_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "need 6"));
    whisper_state_free(s);
    p.beam_size = 1;
    /* the reader fails in the second window */
    rd = (reader){0, 50 * 16000, 0, 35 * 16000};
    assert_int_equal(transcribe(m, &p, &rd, &c, NULL, err, sizeof err), WHISPER_ERR_AUDIO);
    assert_non_null(strstr(err, "disk on fire"));
    /* cancelled before anything */
    atomic_int stop = 1;
    p.cancel = &stop;
    rd = (reader){0, 5 * 16000, 0, -1};
    assert_int_equal(transcribe(m, &p, &rd, &c, NULL, err, sizeof err), WHISPER_ERR_CANCELLED);
    whisper_model_free(m);
}

/* The prompt reaches the decoder: an initial prompt changes what a
 * random model says about the same audio, and the previous window's text
 * changes the second window unless conditioning is off. */
static void test_prompts_matter(void **state)
{
    (void)state;
    whisper_model *m = make_model("tiny.en", 7);
    whisper_transcribe_params p = whisper_transcribe_default_params();
    p.beam_size = 1;
    p.n_temperatures = 1;
    p.word_timestamps = false;
    p.no_speech_threshold = 2.0f; /* never skip a window */
    static collected a, b, b_spaced;
    char err[512] = "";
    /* the reference strips the prompt as str.strip() does */
    const char *prompts[] = {NULL, "Hello there, general.", "\r\n\v Hello there, general.\f\r "};
    collected *out[] = {&a, &b, &b_spaced};
    for (int i = 0; i < 3; i++) {
        memset(out[i], 0, sizeof **out);
        out[i]->stop_after = -1;
        out[i]->duration = 10;
        p.initial_prompt = prompts[i];
        reader rd = {0, 10 * 16000, 0, -1};
        if (transcribe(m, &p, &rd, out[i], NULL, err, sizeof err) != WHISPER_OK)
            fail_msg("transcribe: %s", err);
    }
    assert_true(a.n > 0 && b.n > 0);
    assert_string_not_equal(a.all, b.all);
    assert_string_equal(b.all, b_spaced.all);
    whisper_model_free(m);
}

/* Without timestamps each window is one segment and the seek moves by a
 * whole window; the last, short one ends with the audio. */
static void test_without_timestamps(void **state)
{
    (void)state;
    whisper_model *m = make_model("tiny.en", 7);
    whisper_transcribe_params p = whisper_transcribe_default_params();
    p.beam_size = 1;
    p.n_temperatures = 1;
    p.timestamps = false;
    p.no_speech_threshold = 2.0f; /* never skip a window */
    static collected c;
    memset(&c, 0, sizeof c);
    c.stop_after = -1;
    c.duration = SECONDS;
    char err[512] = "";
    reader rd = {0, SECONDS * 16000, 0, -1};
    if (transcribe(m, &p, &rd, &c, NULL, err, sizeof err) != WHISPER_OK)
        fail_msg("transcribe: %s", err);
    print_message("%s", c.all);
    assert_int_equal(c.n, 2);
    assert_float_equal(c.times[0], 0.0, 1e-9);
    assert_float_equal(c.times[1], 30.0, 1e-9);
    assert_float_equal(c.times[2], 30.0, 1e-9);
    assert_float_equal(c.times[3], SECONDS, 1e-9);
    whisper_model_free(m);
}

static void test_empty_audio(void **state)
{
    (void)state;
    whisper_model *m = make_model("tiny.en", 7);
    whisper_transcribe_params p = whisper_transcribe_default_params();
    static collected c;
    memset(&c, 0, sizeof c);
    c.stop_after = -1;
    char err[512] = "";
    reader rd = {0, 0, 0, -1};
    assert_int_equal(transcribe(m, &p, &rd, &c, NULL, err, sizeof err), WHISPER_OK);
    assert_int_equal(c.n, 0);
    whisper_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_form_english),
        cmocka_unit_test(test_multilingual_detects_language),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_prompts_matter),
        cmocka_unit_test(test_without_timestamps),
        cmocka_unit_test(test_empty_audio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
