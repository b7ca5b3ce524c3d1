/* Tests for the pipeline: input file -> transcript through the real audio
 * decoder and PocketSphinx engine, its progress reporting, cancellation and
 * error mapping. Uses a LibriVox clip from Debian's pocketsphinx-testdata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/pipeline.h"

#define CLIP "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"
#define CLIP_SECONDS 7.1

typedef struct {
    int calls;
    pipeline_phase last_phase;
    double last_overall;
    bool monotonic;
    bool saw_loading, saw_transcribing;
    atomic_int *cancel_at_half; /* raise this flag once overall passes 0.45 */
} progress_log;

static void on_progress(pipeline_phase phase, double phase_fraction, double overall, void *ud)
{
    progress_log *log = ud;
    if (log->calls > 0 && (phase < log->last_phase || overall + 1e-9 < log->last_overall))
        log->monotonic = false;
    if (phase_fraction < 0 || phase_fraction > 1 || overall < 0 || overall > 1)
        log->monotonic = false;
    log->saw_loading |= phase == PIPELINE_PHASE_LOADING;
    log->saw_transcribing |= phase == PIPELINE_PHASE_TRANSCRIBING;
    log->calls++;
    log->last_phase = phase;
    log->last_overall = overall;
    if (log->cancel_at_half && overall > 0.45)
        atomic_store(log->cancel_at_half, 1);
}

static int need_clip(void **state)
{
    (void)state;
    if (access(CLIP, R_OK) != 0) {
        print_message("skipping: %s missing (install pocketsphinx-testdata)\n", CLIP);
        return -1;
    }
    return 0;
}

static void test_transcribes_with_progress(void **state)
{
    (void)state;
    progress_log log = {0, 0, 0, true, false, false, NULL};
    pipeline_params p = pipeline_default_params();
    p.progress = on_progress;
    p.progress_user_data = &log;
    pipeline_result r;
    char err[512] = "";
    int rc = pipeline_run(CLIP, &p, &r, err, sizeof err);
    if (rc != PIPELINE_OK)
        fail_msg("pipeline failed: %s", err);
    assert_non_null(r.transcript);
    assert_true(r.transcript->n_segments > 0);
    assert_true(fabs(r.audio_seconds - CLIP_SECONDS) < 0.05);
    assert_true(fabs(r.transcript->duration - r.audio_seconds) < 1e-9);
    assert_string_equal(r.engine, "pocketsphinx");
    assert_string_equal(r.model, "en-us");
    assert_string_equal(r.language, "en");
    assert_string_equal(r.transcript->language, "en");
    assert_non_null(strstr(r.input_description, "16000 Hz"));
    assert_true(r.load_seconds > 0 && r.transcribe_seconds > 0);
    assert_true(r.total_seconds >= r.load_seconds + r.transcribe_seconds - 1e-6);
    /* loading, then transcribing, never backwards, ending at the 90% mark
     * (the last 10% belong to the caller's formatting) */
    assert_true(log.monotonic);
    assert_true(log.saw_loading && log.saw_transcribing);
    assert_true(log.calls >= 10);
    assert_float_equal(log.last_overall, 0.9, 1e-9);
    /* the clip's words are in there: "to consider how much there might be" */
    const char *text = r.transcript->segments[0].text;
    assert_non_null(strstr(text, "consider how much"));
    pipeline_result_clear(&r);
    assert_null(r.transcript);
}

static void test_window_offsets_times(void **state)
{
    (void)state;
    pipeline_params p = pipeline_default_params();
    p.audio.window.start = 2.0;
    p.audio.window.end = 5.0;
    pipeline_result r;
    char err[512] = "";
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_OK);
    assert_true(fabs(r.audio_seconds - 3.0) < 0.01);
    assert_true(fabs(r.transcript->start_time - 2.0) < 0.01);
    for (size_t i = 0; i < r.transcript->n_segments; i++) {
        const transcript_segment *s = &r.transcript->segments[i];
        assert_true(s->start >= 2.0 - 1e-6 && s->end <= 5.0 + 1e-6);
    }
    pipeline_result_clear(&r);
}

static void test_cancel_midway(void **state)
{
    (void)state;
    atomic_int cancel = 0;
    progress_log log = {0, 0, 0, true, false, false, &cancel};
    pipeline_params p = pipeline_default_params();
    p.progress = on_progress;
    p.progress_user_data = &log;
    p.cancel = &cancel;
    pipeline_result r;
    char err[512] = "";
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_ERR_CANCELLED);
    assert_null(r.transcript);
    assert_true(log.last_overall < 0.9); /* it stopped before the end */
    pipeline_result_clear(&r);
}

static void test_errors_keep_their_source(void **state)
{
    (void)state;
    pipeline_params p = pipeline_default_params();
    pipeline_result r;
    char err[512] = "";
    assert_int_equal(pipeline_run("/nonexistent/in.wav", &p, &r, err, sizeof err),
                     PIPELINE_ERR_AUDIO);
    assert_int_equal(r.audio_code, AUDIO_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "/nonexistent/in.wav"));
    assert_null(r.transcript);
    pipeline_result_clear(&r);

    p.asr.language = "fr";
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_ERR_ASR);
    assert_int_equal(r.asr_code, ASR_ERR_LANGUAGE);
    assert_int_equal(r.audio_code, AUDIO_OK);
    assert_non_null(strstr(err, "'fr'"));
    pipeline_result_clear(&r);

    assert_int_equal(pipeline_run(NULL, &p, &r, err, sizeof err), PIPELINE_ERR_INVALID_ARG);
    pipeline_result_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcribes_with_progress),
        cmocka_unit_test(test_window_offsets_times),
        cmocka_unit_test(test_cancel_midway),
        cmocka_unit_test(test_errors_keep_their_source),
    };
    return cmocka_run_group_tests(tests, need_clip, NULL);
}
