/* Tests for the pipeline: input file -> transcript through the real audio
 * decoder and PocketSphinx engine, its progress reporting, cancellation and
 * error mapping, and the diarization stage (pipeline_run with diarize,
 * pipeline_diarize alone), including its failure through the
 * CESAR_FAULT_DIARIZE fault injection. Uses a LibriVox clip from Debian's
 * pocketsphinx-testdata and a two-voice recording made with espeak-ng and
 * sox in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/pipeline.h"

#define CLIP "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav"
#define CLIP_SECONDS 7.1

#define N_PHASES 4
#define FAULT_ENV "CESAR_FAULT_DIARIZE"

typedef struct {
    int calls;
    pipeline_phase last_phase;
    double last_overall;
    bool monotonic;
    bool saw_loading, saw_transcribing;
    atomic_int *cancel_at_half; /* raise this flag once overall passes 0.45 */
    /* per phase: calls and the overall range it covered */
    int phase_calls[N_PHASES];
    double phase_min[N_PHASES], phase_max[N_PHASES];
    pipeline_phase cancel_in; /* with cancel_at_phase: raise it on entering this phase */
    atomic_int *cancel_at_phase;
} progress_log;

static void log_init(progress_log *log)
{
    memset(log, 0, sizeof *log);
    log->monotonic = true;
    for (int i = 0; i < N_PHASES; i++) {
        log->phase_min[i] = 2.0;
        log->phase_max[i] = -1.0;
    }
}

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
    if ((int)phase >= 0 && (int)phase < N_PHASES) {
        log->phase_calls[phase]++;
        log->phase_min[phase] = fmin(log->phase_min[phase], overall);
        log->phase_max[phase] = fmax(log->phase_max[phase], overall);
    }
    if (log->cancel_at_half && overall > 0.45)
        atomic_store(log->cancel_at_half, 1);
    if (log->cancel_at_phase && phase == log->cancel_in)
        atomic_store(log->cancel_at_phase, 1);
}

/* Files the diarization tests share, made once by the group setup. */
static struct {
    char dir[64];
    char two_voices[128]; /* "" when espeak-ng or sox failed: that test skips */
    char silence[128];    /* 5 s of digital silence; "" when sox failed */
    char fault[128];      /* created on demand to make diarization fail */
} g;

static const char *const VOICE_TEXT[2] = {
    "Good morning. I would like to talk about the weather today and about the plans "
    "for the garden.",
    "Thank you. The garden needs water, and the roses should be cut back before the "
    "rain comes.",
};

/* Two espeak-ng voices (a low male and a high female one) taking turns,
 * A B A, resampled to 16 kHz by sox. */
static void make_two_voices(void)
{
    static const char *const voice[2] = {"en-us -p 30 -s 150", "en-gb+f3 -p 80 -s 140"};
    char cmd[1024];
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd, "espeak-ng -v %s -w '%s/v%d.wav' '%s' 2>/dev/null", voice[i],
                 g.dir, i, VOICE_TEXT[i]);
        if (system(cmd) != 0)
            return;
    }
    snprintf(cmd, sizeof cmd,
             "sox '%s/v0.wav' '%s/v1.wav' '%s/v0.wav' -r 16000 -c 1 '%s/two.wav' 2>/dev/null",
             g.dir, g.dir, g.dir, g.dir);
    if (system(cmd) == 0)
        snprintf(g.two_voices, sizeof g.two_voices, "%s/two.wav", g.dir);
}

static int group_setup(void **state)
{
    (void)state;
    if (access(CLIP, R_OK) != 0) {
        print_message("skipping: %s missing (install pocketsphinx-testdata)\n", CLIP);
        return -1;
    }
    unsetenv(FAULT_ENV); /* an inherited one would fail every diarization */
    snprintf(g.dir, sizeof g.dir, "/tmp/cesar-test-pipeline-XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    snprintf(g.fault, sizeof g.fault, "%s/fault", g.dir);
    make_two_voices();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sox -n -r 16000 -c 1 '%s/silence.wav' trim 0 5 2>/dev/null", g.dir);
    if (system(cmd) == 0)
        snprintf(g.silence, sizeof g.silence, "%s/silence.wav", g.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Makes every diarization fail until fault_off. */
static void fault_on(void)
{
    FILE *f = fopen(g.fault, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(setenv(FAULT_ENV, g.fault, 1), 0);
}

static void fault_off(void)
{
    unlink(g.fault);
    unsetenv(FAULT_ENV);
}

static void assert_every_segment_has_speaker(const transcript *t)
{
    for (size_t i = 0; i < t->n_segments; i++) {
        assert_true(t->segments[i].speaker >= 0);
        for (size_t w = 0; w < t->segments[i].n_words; w++)
            assert_true(t->segments[i].words[w].speaker >= 0);
    }
}

/* The same words at the same times, whatever the speakers and however the
 * segments were split between them. */
static void assert_same_words(const transcript *a, const transcript *b)
{
    assert_int_equal(transcript_word_count(a), transcript_word_count(b));
    size_t ia = 0, wa = 0, ib = 0, wb = 0;
    for (;;) {
        while (ia < a->n_segments && wa >= a->segments[ia].n_words) {
            ia++;
            wa = 0;
        }
        while (ib < b->n_segments && wb >= b->segments[ib].n_words) {
            ib++;
            wb = 0;
        }
        if (ia == a->n_segments || ib == b->n_segments)
            break;
        const transcript_word *x = &a->segments[ia].words[wa++];
        const transcript_word *y = &b->segments[ib].words[wb++];
        assert_string_equal(x->text, y->text);
        assert_float_equal(x->start, y->start, 1e-9);
        assert_float_equal(x->end, y->end, 1e-9);
    }
    assert_int_equal(ia, a->n_segments);
    assert_int_equal(ib, b->n_segments);
}

static void test_transcribes_with_progress(void **state)
{
    (void)state;
    progress_log log;
    log_init(&log);
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
    assert_float_equal(log.phase_max[PIPELINE_PHASE_TRANSCRIBING], 0.9, 1e-9);
    /* no diarization unless asked for */
    assert_int_equal(log.phase_calls[PIPELINE_PHASE_DIARIZING], 0);
    assert_false(r.diarized);
    assert_null(r.turns);
    assert_string_equal(r.diarization_error_code, "");
    for (size_t i = 0; i < r.transcript->n_segments; i++)
        assert_int_equal(r.transcript->segments[i].speaker, TRANSCRIPT_NO_SPEAKER);
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

    /* the diarizer hears the same window, in source time */
    p.diarize = true;
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_OK);
    assert_true(r.diarized);
    for (size_t i = 0; i < r.n_turns; i++)
        assert_true(r.turns[i].start >= 2.0 - 1e-6 && r.turns[i].end <= 5.0 + 0.05);
    pipeline_result_clear(&r);
    assert_int_equal(pipeline_diarize(CLIP, &p, NULL, &r, err, sizeof err), PIPELINE_OK);
    assert_true(fabs(r.audio_seconds - 3.0) < 0.01);
    for (size_t i = 0; i < r.n_turns; i++)
        assert_true(r.turns[i].start >= 2.0 - 1e-6 && r.turns[i].end <= 5.0 + 0.05);
    pipeline_result_clear(&r);
}

static void test_cancel_midway(void **state)
{
    (void)state;
    atomic_int cancel = 0;
    progress_log log;
    log_init(&log);
    log.cancel_at_half = &cancel;
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

static void test_diarize_phases_and_speakers(void **state)
{
    (void)state;
    progress_log log;
    log_init(&log);
    pipeline_params p = pipeline_default_params();
    p.progress = on_progress;
    p.progress_user_data = &log;
    p.diarize = true;
    pipeline_result r;
    char err[512] = "";
    int rc = pipeline_run(CLIP, &p, &r, err, sizeof err);
    if (rc != PIPELINE_OK)
        fail_msg("pipeline failed: %s", err);
    /* loading, transcribing 0-0.6, diarizing 0.6-0.9, in that order */
    assert_true(log.monotonic);
    assert_true(log.phase_calls[PIPELINE_PHASE_LOADING] >= 1);
    assert_true(log.phase_calls[PIPELINE_PHASE_TRANSCRIBING] >= 5);
    assert_true(log.phase_calls[PIPELINE_PHASE_DIARIZING] >= 2);
    assert_int_equal(log.phase_calls[PIPELINE_PHASE_FORMATTING], 0);
    assert_float_equal(log.phase_min[PIPELINE_PHASE_TRANSCRIBING], 0.0, 1e-9);
    assert_float_equal(log.phase_max[PIPELINE_PHASE_TRANSCRIBING], 0.6, 1e-9);
    assert_float_equal(log.phase_min[PIPELINE_PHASE_DIARIZING], 0.6, 1e-9);
    assert_float_equal(log.phase_max[PIPELINE_PHASE_DIARIZING], 0.9, 1e-9);
    assert_int_equal(log.last_phase, PIPELINE_PHASE_DIARIZING);
    assert_float_equal(log.last_overall, 0.9, 1e-9);
    /* the result: labelled, with the engine's turns and the stage times */
    assert_true(r.diarized);
    assert_int_equal(r.diarize_code, DIARIZE_OK);
    assert_string_equal(r.diarization_error_code, "");
    assert_string_equal(r.diarization_error, "");
    assert_true(r.speaker_count >= 1);
    assert_non_null(r.turns);
    assert_true(r.n_turns >= 1);
    for (size_t i = 0; i < r.n_turns; i++) {
        assert_true(r.turns[i].start >= -1e-6 && r.turns[i].end <= CLIP_SECONDS + 0.05);
        assert_true(r.turns[i].start <= r.turns[i].end);
    }
    assert_true(r.diarize_seconds > 0);
    assert_true(r.align_seconds >= 0);
    assert_true(r.total_seconds >= r.transcribe_seconds + r.diarize_seconds - 1e-6);
    assert_non_null(r.transcript);
    assert_every_segment_has_speaker(r.transcript);
    /* the words survive, however the segments were split between speakers */
    bool found = false;
    for (size_t i = 0; i < r.transcript->n_segments; i++)
        found |= strstr(r.transcript->segments[i].text, "consider") != NULL;
    assert_true(found);
    assert_true(fabs(r.transcript->duration - CLIP_SECONDS) < 0.05);
    pipeline_result_clear(&r);
    assert_null(r.turns);
    assert_null(r.transcript);
}

static void test_diarize_two_voices(void **state)
{
    (void)state;
    if (!g.two_voices[0])
        skip();
    pipeline_params p = pipeline_default_params();
    p.diarize = true;
    p.diarization.max_speakers = 4;
    pipeline_result r;
    char err[512] = "";
    int rc = pipeline_run(g.two_voices, &p, &r, err, sizeof err);
    if (rc != PIPELINE_OK)
        fail_msg("pipeline failed: %s", err);
    assert_true(r.diarized);
    assert_true(r.speaker_count >= 1 && r.speaker_count <= 4);
    assert_true(r.transcript->n_segments >= 1);
    assert_every_segment_has_speaker(r.transcript);
    for (size_t i = 0; i < r.transcript->n_segments; i++)
        assert_true(r.transcript->segments[i].speaker < r.speaker_count);
    /* the turns cover the recording's time and no more */
    for (size_t i = 0; i < r.n_turns; i++)
        assert_true(r.turns[i].end <= r.audio_seconds + 0.05);
    pipeline_result_clear(&r);
}

/* No speech is a result, not a failure: diarized, with no speaker. */
static void test_diarize_silence(void **state)
{
    (void)state;
    if (!g.silence[0])
        skip();
    pipeline_params p = pipeline_default_params();
    p.diarize = true;
    pipeline_result r;
    char err[512] = "";
    int rc = pipeline_run(g.silence, &p, &r, err, sizeof err);
    if (rc != PIPELINE_OK)
        fail_msg("pipeline failed: %s", err);
    assert_true(r.diarized);
    assert_int_equal(r.speaker_count, 0);
    assert_int_equal(r.n_turns, 0);
    assert_string_equal(r.diarization_error_code, "");
    assert_non_null(r.transcript);
    for (size_t i = 0; i < r.transcript->n_segments; i++)
        assert_int_equal(r.transcript->segments[i].speaker, TRANSCRIPT_NO_SPEAKER);
    pipeline_result_clear(&r);
    assert_int_equal(pipeline_diarize(g.silence, &p, NULL, &r, err, sizeof err), PIPELINE_OK);
    assert_true(r.diarized);
    assert_int_equal(r.speaker_count, 0);
    pipeline_result_clear(&r);
}

static void test_diarize_failure_keeps_transcript(void **state)
{
    (void)state;
    pipeline_params p = pipeline_default_params();
    pipeline_result plain, r;
    char err[512] = "";
    assert_int_equal(pipeline_run(CLIP, &p, &plain, err, sizeof err), PIPELINE_OK);

    progress_log log;
    log_init(&log);
    p.progress = on_progress;
    p.progress_user_data = &log;
    p.diarize = true;
    fault_on();
    int rc = pipeline_run(CLIP, &p, &r, err, sizeof err);
    fault_off();
    /* the transcript survives, without speakers; the failure is beside it */
    assert_int_equal(rc, PIPELINE_OK);
    assert_non_null(r.transcript);
    assert_false(r.diarized);
    assert_int_equal(r.diarize_code, DIARIZE_ERR_FAILED);
    assert_string_equal(r.diarization_error_code, "diarization_failed");
    assert_non_null(strstr(r.diarization_error, FAULT_ENV));
    assert_null(r.turns);
    assert_int_equal(r.n_turns, 0);
    assert_int_equal(r.speaker_count, 0);
    assert_int_equal(r.audio_code, AUDIO_OK);
    assert_int_equal(r.asr_code, ASR_OK);
    assert_int_equal(r.transcript->n_segments, plain.transcript->n_segments);
    for (size_t i = 0; i < r.transcript->n_segments; i++) {
        assert_int_equal(r.transcript->segments[i].speaker, TRANSCRIPT_NO_SPEAKER);
        assert_string_equal(r.transcript->segments[i].text, plain.transcript->segments[i].text);
    }
    assert_same_words(r.transcript, plain.transcript);
    /* the diarizing phase began; progress stays where it was */
    assert_true(log.monotonic);
    assert_true(log.phase_calls[PIPELINE_PHASE_DIARIZING] >= 1);
    assert_float_equal(log.phase_max[PIPELINE_PHASE_TRANSCRIBING], 0.6, 1e-9);
    pipeline_result_clear(&r);

    /* a fault file that does not exist injects nothing */
    assert_int_equal(setenv(FAULT_ENV, g.fault, 1), 0);
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_OK);
    unsetenv(FAULT_ENV);
    assert_true(r.diarized);
    pipeline_result_clear(&r);
    pipeline_result_clear(&plain);
}

static void test_diarize_alone(void **state)
{
    (void)state;
    progress_log log;
    log_init(&log);
    pipeline_params p = pipeline_default_params();
    p.progress = on_progress;
    p.progress_user_data = &log;
    pipeline_result r;
    char err[512] = "";

    /* without a transcript: turns only, progress 0..1 all "diarizing" */
    int rc = pipeline_diarize(CLIP, &p, NULL, &r, err, sizeof err);
    if (rc != PIPELINE_OK)
        fail_msg("pipeline_diarize failed: %s", err);
    assert_true(r.diarized);
    assert_null(r.transcript);
    assert_non_null(r.turns);
    assert_true(r.n_turns >= 1);
    assert_true(r.speaker_count >= 1);
    assert_true(fabs(r.audio_seconds - CLIP_SECONDS) < 0.05);
    assert_non_null(strstr(r.input_description, "16000 Hz"));
    assert_true(r.diarize_seconds > 0);
    assert_true(log.monotonic);
    assert_int_equal(log.phase_calls[PIPELINE_PHASE_LOADING], 0);
    assert_int_equal(log.phase_calls[PIPELINE_PHASE_TRANSCRIBING], 0);
    assert_true(log.phase_calls[PIPELINE_PHASE_DIARIZING] >= 2);
    assert_float_equal(log.phase_min[PIPELINE_PHASE_DIARIZING], 0.0, 1e-9);
    assert_float_equal(log.last_overall, 1.0, 1e-9);
    pipeline_result_clear(&r);

    /* with a transcript: the same words, now with speakers; t untouched */
    pipeline_result plain;
    p.progress = NULL;
    assert_int_equal(pipeline_run(CLIP, &p, &plain, err, sizeof err), PIPELINE_OK);
    rc = pipeline_diarize(CLIP, &p, plain.transcript, &r, err, sizeof err);
    if (rc != PIPELINE_OK)
        fail_msg("pipeline_diarize failed: %s", err);
    assert_true(r.diarized);
    assert_non_null(r.transcript);
    assert_true(r.transcript != plain.transcript);
    assert_every_segment_has_speaker(r.transcript);
    assert_same_words(r.transcript, plain.transcript);
    assert_string_equal(r.transcript->language, plain.transcript->language);
    assert_float_equal(r.transcript->duration, plain.transcript->duration, 1e-9);
    for (size_t i = 0; i < plain.transcript->n_segments; i++)
        assert_int_equal(plain.transcript->segments[i].speaker, TRANSCRIPT_NO_SPEAKER);
    assert_true(r.speaker_count >= 1);
    pipeline_result_clear(&r);

    /* its failure is the call's failure, with the fields filled */
    fault_on();
    rc = pipeline_diarize(CLIP, &p, plain.transcript, &r, err, sizeof err);
    fault_off();
    assert_int_equal(rc, PIPELINE_ERR_DIARIZE);
    assert_non_null(strstr(err, FAULT_ENV));
    assert_false(r.diarized);
    assert_null(r.transcript);
    assert_null(r.turns);
    assert_int_equal(r.diarize_code, DIARIZE_ERR_FAILED);
    assert_string_equal(r.diarization_error_code, "diarization_failed");
    assert_string_equal(r.diarization_error, err);
    pipeline_result_clear(&r);

    /* a missing input is an audio error, named as such */
    rc = pipeline_diarize("/nonexistent/in.wav", &p, plain.transcript, &r, err, sizeof err);
    assert_int_equal(rc, PIPELINE_ERR_AUDIO);
    assert_int_equal(r.audio_code, AUDIO_ERR_NOT_FOUND);
    assert_int_equal(r.diarize_code, DIARIZE_ERR_AUDIO);
    assert_non_null(strstr(err, "/nonexistent/in.wav"));
    pipeline_result_clear(&r);
    pipeline_result_clear(&plain);
}

static void test_diarize_cancel(void **state)
{
    (void)state;
    atomic_int cancel = 0;
    progress_log log;
    log_init(&log);
    log.cancel_in = PIPELINE_PHASE_DIARIZING;
    log.cancel_at_phase = &cancel;
    pipeline_params p = pipeline_default_params();
    p.progress = on_progress;
    p.progress_user_data = &log;
    p.cancel = &cancel;
    p.diarize = true;
    pipeline_result r;
    char err[512] = "";

    /* cancelled while diarizing: no half result, not a diarization failure */
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_ERR_CANCELLED);
    assert_null(r.transcript);
    assert_null(r.turns);
    assert_false(r.diarized);
    assert_string_equal(r.diarization_error_code, "");
    assert_true(log.last_overall < 0.9);
    pipeline_result_clear(&r);

    /* the same for diarization alone */
    atomic_store(&cancel, 0);
    assert_int_equal(pipeline_diarize(CLIP, &p, NULL, &r, err, sizeof err), PIPELINE_ERR_CANCELLED);
    assert_null(r.turns);
    assert_false(r.diarized);
    assert_string_equal(r.diarization_error_code, "");
    pipeline_result_clear(&r);
}

static void test_diarize_reused_engine_and_bad_counts(void **state)
{
    (void)state;
    diarize_engine *engine = NULL;
    diarize_params dp = diarize_default_params();
    char err[512] = "";
    assert_int_equal(diarize_open(&engine, &dp, err, sizeof err), DIARIZE_OK);
    pipeline_params p = pipeline_default_params();
    p.diarizer = engine;
    p.diarization.max_speakers = 3;
    pipeline_result r;
    /* one engine, two runs */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pipeline_diarize(CLIP, &p, NULL, &r, err, sizeof err), PIPELINE_OK);
        assert_true(r.speaker_count >= 1 && r.speaker_count <= 3);
        pipeline_result_clear(&r);
    }

    /* impossible counts are refused before anything is read or loaded */
    progress_log log;
    log_init(&log);
    p.progress = on_progress;
    p.progress_user_data = &log;
    p.diarize = true;
    p.diarization.min_speakers = 5;
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "min_speakers"));
    assert_null(r.transcript);
    pipeline_result_clear(&r);
    p.diarization.min_speakers = 0;
    p.diarization.max_speakers = DIARIZE_MAX_SPEAKERS + 1;
    assert_int_equal(pipeline_diarize(CLIP, &p, NULL, &r, err, sizeof err),
                     PIPELINE_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "max_speakers"));
    pipeline_result_clear(&r);
    assert_int_equal(log.calls, 0);
    /* without diarize the counts are not looked at */
    p.diarize = false;
    p.progress = NULL;
    assert_int_equal(pipeline_run(CLIP, &p, &r, err, sizeof err), PIPELINE_OK);
    pipeline_result_clear(&r);
    diarize_close(engine);

    assert_string_equal(pipeline_phase_name(PIPELINE_PHASE_DIARIZING), "diarizing");
    assert_string_equal(pipeline_strerror(PIPELINE_ERR_DIARIZE), "diarization error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transcribes_with_progress),
        cmocka_unit_test(test_window_offsets_times),
        cmocka_unit_test(test_cancel_midway),
        cmocka_unit_test(test_errors_keep_their_source),
        cmocka_unit_test(test_diarize_phases_and_speakers),
        cmocka_unit_test(test_diarize_two_voices),
        cmocka_unit_test(test_diarize_silence),
        cmocka_unit_test(test_diarize_failure_keeps_transcript),
        cmocka_unit_test(test_diarize_alone),
        cmocka_unit_test(test_diarize_cancel),
        cmocka_unit_test(test_diarize_reused_engine_and_bad_counts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
