/* test_asr_pocketsphinx: the PocketSphinx engine end to end with Debian's
 * en-us model and the LibriVox clips of pocketsphinx-testdata — accuracy
 * (aggregate WER <= 35%), word timing, time offsets, progress, cancellation,
 * audio errors, segmentation at silences, repeatability, and silence on
 * stderr. Slower than the other unit tests (about 25 s of audio decoded
 * several times over) but still one process with no external tools.
 *
 * One engine is opened for the whole group, as a worker would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wav_reader.h"
#include "asr/asr.h"
#include "eval/eval.h"

#define LIBRIVOX_DIR "/usr/share/pocketsphinx/test/data/librivox"
#define CLIP_PREFIX "sense_and_sensibility_01_austen_64kb-"
#define N_CLIPS 5
#define RATE 16000

static const char *const clip_ids[N_CLIPS] = {"0870", "0880", "0890", "0920", "0930"};

typedef struct {
    float *samples;
    size_t n;
    char reference[1024];
} clip;

typedef struct {
    asr_engine *engine;
    clip clips[N_CLIPS];
} fixture;

/* ---- test audio --------------------------------------------------------- */

/* The reference line of clip id from the `transcription` file. */
static void read_reference(const char *id, char *out, size_t n)
{
    FILE *f = fopen(LIBRIVOX_DIR "/transcription", "r");
    assert_non_null(f);
    char line[1024], key[64];
    snprintf(key, sizeof key, "(" CLIP_PREFIX "%s)", id);
    out[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (strstr(line, key))
            snprintf(out, n, "%s", line);
    fclose(f);
    assert_true(out[0] != '\0');
}

/* ---- sources ------------------------------------------------------------ */

typedef struct {
    const float *samples;
    size_t n, pos;
    size_t fail_at;   /* report an error once pos reaches this (0 = never) */
    size_t max_chunk; /* hand out at most this many per read (0 = no limit) */
} mem_source;

static int mem_read(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                    size_t errlen)
{
    mem_source *m = user_data;
    if (m->fail_at && m->pos >= m->fail_at) {
        *n_read = 0;
        snprintf(err, errlen, "corrupt packet at sample %zu", m->pos);
        return 7;
    }
    size_t k = m->n - m->pos;
    if (k > max)
        k = max;
    if (m->max_chunk && k > m->max_chunk)
        k = m->max_chunk;
    memcpy(buf, m->samples + m->pos, k * sizeof *buf);
    m->pos += k;
    *n_read = k;
    return 0;
}

static asr_source make_source(mem_source *m, const float *s, size_t n, double offset)
{
    *m = (mem_source){s, n, 0, 0, 0};
    return (asr_source){mem_read, m, (double)n / RATE, offset};
}

static transcript *transcribe(asr_engine *e, const float *s, size_t n, double offset)
{
    mem_source m;
    asr_source src = make_source(&m, s, n, offset);
    transcript *t = (transcript *)&m;
    char err[256] = "";
    int rc = asr_transcribe(e, &src, &t, err, sizeof err);
    if (rc != ASR_OK)
        fail_msg("asr_transcribe: %s (%s)", err, asr_strerror(rc));
    assert_non_null(t);
    return t;
}

/* All segment texts joined by spaces; caller frees. */
static char *joined_text(const transcript *t)
{
    size_t len = 1;
    for (size_t i = 0; i < t->n_segments; i++)
        len += strlen(t->segments[i].text) + 1;
    char *s = calloc(1, len);
    assert_non_null(s);
    for (size_t i = 0; i < t->n_segments; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, t->segments[i].text);
    }
    return s;
}

/* ---- group setup ---------------------------------------------------------- */

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    for (int i = 0; i < N_CLIPS; i++) {
        char path[512];
        snprintf(path, sizeof path, LIBRIVOX_DIR "/" CLIP_PREFIX "%s.wav", clip_ids[i]);
        fx->clips[i].samples = read_wav(path, &fx->clips[i].n);
        read_reference(clip_ids[i], fx->clips[i].reference, sizeof fx->clips[i].reference);
    }
    asr_params p = asr_default_params();
    char err[512] = "";
    int rc = asr_open(&fx->engine, &p, err, sizeof err);
    if (rc != ASR_OK) {
        fprintf(stderr, "asr_open: %s\n", err);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    asr_close(fx->engine);
    for (int i = 0; i < N_CLIPS; i++)
        free(fx->clips[i].samples);
    free(fx);
    return 0;
}

/* ---- checks --------------------------------------------------------------- */

/* Words and segments are well-formed, in order, and inside
 * [offset, offset + duration]; segments span exactly their words. */
static void check_timings(const transcript *t, double offset, double duration)
{
    const double eps = 1e-9;
    double last_start = offset;
    for (size_t i = 0; i < t->n_segments; i++) {
        const transcript_segment *s = &t->segments[i];
        assert_true(s->n_words > 0);
        assert_true(s->start <= s->end);
        assert_true(s->start >= offset - eps);
        assert_true(s->end <= offset + duration + eps);
        assert_float_equal(s->start, s->words[0].start, eps);
        double max_end = s->words[0].end;
        for (size_t w = 0; w < s->n_words; w++) {
            const transcript_word *tw = &s->words[w];
            assert_true(tw->start <= tw->end);
            assert_true(tw->start >= last_start - eps); /* monotonic */
            assert_true(tw->start >= offset - eps);
            assert_true(tw->end <= offset + duration + eps);
            assert_true(tw->confidence == -1.0f ||
                        (tw->confidence >= 0.0f && tw->confidence <= 1.0f));
            assert_true(tw->text[0] != '\0');
            /* Fillers and alternate-pronunciation markers are gone. */
            assert_null(strpbrk(tw->text, "<>[]()+ "));
            last_start = tw->start;
            if (tw->end > max_end)
                max_end = tw->end;
        }
        assert_float_equal(s->end, max_end, eps);
    }
}

/* ---- tests ----------------------------------------------------------------- */

static void test_names(void **state)
{
    fixture *fx = *state;
    assert_string_equal(asr_engine_name(fx->engine), "pocketsphinx");
    assert_string_equal(asr_model_name(fx->engine), "en-us");
    assert_string_equal(asr_language(fx->engine), "en");
    /* The facts the API reports match what opening with defaults gives. */
    assert_string_equal(asr_engine_default_model("pocketsphinx"), asr_model_name(fx->engine));
    const char *const *langs = asr_engine_languages("pocketsphinx");
    assert_non_null(langs);
    assert_string_equal(langs[0], asr_language(fx->engine));
}

static void test_wer_librivox(void **state)
{
    fixture *fx = *state;
    eval_wer_counts counts = {0};
    for (int i = 0; i < N_CLIPS; i++) {
        clip *c = &fx->clips[i];
        transcript *t = transcribe(fx->engine, c->samples, c->n, 0.0);
        assert_string_equal(t->language, "en");
        assert_float_equal(t->duration, (double)c->n / RATE, 1e-9);
        assert_float_equal(t->start_time, 0.0, 1e-12);
        assert_true(t->n_segments > 0);
        check_timings(t, 0.0, t->duration);
        char *hyp = joined_text(t);
        assert_int_equal(eval_wer_add(c->reference, hyp, &counts), EVAL_OK);
        printf("    %s: %s\n", clip_ids[i], hyp);
        free(hyp);
        transcript_free(t);
    }
    double rate = eval_wer_rate(&counts);
    printf("    aggregate WER %.2f%% (S %zu, D %zu, I %zu, N %zu)\n", 100 * rate,
           counts.substitutions, counts.deletions, counts.insertions, counts.reference_words);
    assert_true(counts.reference_words >= 60);
    assert_true(rate <= 0.35);
}

static void test_time_offset_shifts_everything(void **state)
{
    fixture *fx = *state;
    clip *c = &fx->clips[1];
    transcript *a = transcribe(fx->engine, c->samples, c->n, 0.0);
    transcript *b = transcribe(fx->engine, c->samples, c->n, 42.5);
    assert_float_equal(b->start_time, 42.5, 1e-12);
    assert_float_equal(b->duration, a->duration, 1e-12);
    check_timings(b, 42.5, b->duration);
    assert_int_equal(a->n_segments, b->n_segments);
    for (size_t i = 0; i < a->n_segments; i++) {
        const transcript_segment *sa = &a->segments[i], *sb = &b->segments[i];
        assert_string_equal(sa->text, sb->text);
        assert_float_equal(sb->start - sa->start, 42.5, 1e-9);
        assert_float_equal(sb->end - sa->end, 42.5, 1e-9);
        assert_int_equal(sa->n_words, sb->n_words);
        for (size_t w = 0; w < sa->n_words; w++) {
            assert_float_equal(sb->words[w].start - sa->words[w].start, 42.5, 1e-9);
            assert_float_equal(sb->words[w].end - sa->words[w].end, 42.5, 1e-9);
        }
    }
    transcript_free(a);
    transcript_free(b);
}

/* Decoding the same audio again, after other audio, gives the same result:
 * nothing (frame counter, CMN, VAD state) leaks from one call to the next. */
static void test_repeatable(void **state)
{
    fixture *fx = *state;
    clip *c = &fx->clips[4];
    transcript *a = transcribe(fx->engine, c->samples, c->n, 0.0);
    transcript *other = transcribe(fx->engine, fx->clips[2].samples, fx->clips[2].n, 0.0);
    transcript *b = transcribe(fx->engine, c->samples, c->n, 0.0);
    assert_int_equal(a->n_segments, b->n_segments);
    assert_int_equal(transcript_word_count(a), transcript_word_count(b));
    for (size_t i = 0; i < a->n_segments; i++) {
        assert_string_equal(a->segments[i].text, b->segments[i].text);
        for (size_t w = 0; w < a->segments[i].n_words; w++) {
            assert_float_equal(a->segments[i].words[w].start, b->segments[i].words[w].start, 1e-12);
            assert_float_equal(a->segments[i].words[w].confidence,
                               b->segments[i].words[w].confidence, 1e-6);
        }
    }
    transcript_free(a);
    transcript_free(other);
    transcript_free(b);
}

/* The source may hand out fewer samples than asked for; the engine fills
 * whole blocks anyway, so results do not depend on it. */
static void test_short_reads(void **state)
{
    fixture *fx = *state;
    clip *c = &fx->clips[1];
    transcript *a = transcribe(fx->engine, c->samples, c->n, 0.0);
    mem_source m;
    asr_source src = make_source(&m, c->samples, c->n, 0.0);
    m.max_chunk = 333;
    transcript *b = NULL;
    char err[256];
    assert_int_equal(asr_transcribe(fx->engine, &src, &b, err, sizeof err), ASR_OK);
    char *ta = joined_text(a), *tb = joined_text(b);
    assert_true(strlen(tb) > 0);
    assert_string_equal(ta, tb);
    assert_int_equal(transcript_word_count(a), transcript_word_count(b));
    free(ta);
    free(tb);
    transcript_free(a);
    transcript_free(b);
}

typedef struct {
    double fractions[4096];
    double seconds[4096];
    size_t n;
    atomic_int *cancel;
    double cancel_after; /* seconds_done at which to raise cancel; <0 never */
} progress_log;

static void on_progress(double fraction, double seconds_done, void *user_data)
{
    progress_log *pl = user_data;
    if (pl->n < 4096) {
        pl->fractions[pl->n] = fraction;
        pl->seconds[pl->n] = seconds_done;
        pl->n++;
    }
    if (pl->cancel && pl->cancel_after >= 0 && seconds_done >= pl->cancel_after)
        atomic_store(pl->cancel, 1);
}

static asr_engine *open_with(asr_params *p)
{
    asr_engine *e = NULL;
    char err[512] = "";
    int rc = asr_open(&e, p, err, sizeof err);
    if (rc != ASR_OK)
        fail_msg("asr_open: %s", err);
    return e;
}

static void test_progress(void **state)
{
    fixture *fx = *state;
    clip *c = &fx->clips[0];
    progress_log *pl = calloc(1, sizeof *pl);
    assert_non_null(pl);
    pl->cancel_after = -1;
    asr_params p = asr_default_params();
    p.progress = on_progress;
    p.progress_user_data = pl;
    asr_engine *e = open_with(&p);

    transcript *t = transcribe(e, c->samples, c->n, 0.0);
    double total = (double)c->n / RATE;
    assert_true(pl->n >= (size_t)(total / 0.25));
    double prev_f = 0, prev_s = 0;
    for (size_t i = 0; i < pl->n; i++) {
        assert_true(pl->fractions[i] >= prev_f);
        assert_true(pl->fractions[i] >= 0 && pl->fractions[i] <= 1);
        assert_true(pl->seconds[i] >= prev_s);
        assert_true(pl->seconds[i] - prev_s <= 0.25 + 1e-9); /* frequent enough */
        prev_f = pl->fractions[i];
        prev_s = pl->seconds[i];
    }
    assert_float_equal(pl->fractions[pl->n - 1], 1.0, 1e-12);
    assert_float_equal(pl->seconds[pl->n - 1], total, 1e-9);
    transcript_free(t);

    /* Unknown total: fraction stays 0 until the final 1.0. */
    pl->n = 0;
    mem_source m;
    asr_source src = make_source(&m, c->samples, c->n, 0.0);
    src.total_seconds = 0;
    char err[256];
    assert_int_equal(asr_transcribe(e, &src, &t, err, sizeof err), ASR_OK);
    assert_true(pl->n > 2);
    for (size_t i = 0; i + 1 < pl->n; i++)
        assert_true(pl->fractions[i] == 0.0);
    assert_float_equal(pl->fractions[pl->n - 1], 1.0, 1e-12);
    assert_true(pl->seconds[pl->n - 2] > 0);
    transcript_free(t);
    asr_close(e);
    free(pl);
}

static void test_cancel(void **state)
{
    fixture *fx = *state;
    clip *c = &fx->clips[0];
    atomic_int cancel = 0;
    progress_log *pl = calloc(1, sizeof *pl);
    assert_non_null(pl);
    pl->cancel = &cancel;
    pl->cancel_after = 1.0;
    asr_params p = asr_default_params();
    p.progress = on_progress;
    p.progress_user_data = pl;
    p.cancel = &cancel;
    asr_engine *e = open_with(&p);

    mem_source m;
    asr_source src = make_source(&m, c->samples, c->n, 0.0);
    transcript *t = (transcript *)&m;
    char err[256] = "";
    assert_int_equal(asr_transcribe(e, &src, &t, err, sizeof err), ASR_ERR_CANCELLED);
    assert_null(t);
    assert_string_equal(err, "transcription cancelled");
    /* Stopped at the first check after the flag went up. */
    assert_true(pl->seconds[pl->n - 1] < 1.2);
    assert_true(pl->fractions[pl->n - 1] < 1.0);

    /* Raised before the start: nothing is decoded. */
    pl->n = 0;
    src = make_source(&m, c->samples, c->n, 0.0);
    assert_int_equal(asr_transcribe(e, &src, &t, err, sizeof err), ASR_ERR_CANCELLED);
    assert_null(t);
    assert_int_equal(pl->n, 0);

    /* The engine is still usable afterwards. */
    atomic_store(&cancel, 0);
    pl->cancel_after = -1;
    t = transcribe(e, fx->clips[1].samples, fx->clips[1].n, 0.0);
    assert_true(t->n_segments > 0);
    transcript_free(t);
    asr_close(e);
    free(pl);
}

static void test_audio_error(void **state)
{
    fixture *fx = *state;
    clip *c = &fx->clips[0];
    /* Fail during priming (first 20 s) and, on a long source, after it. */
    size_t fail_points[] = {5000, c->n + 30 * RATE};
    size_t n = c->n + 40 * RATE;
    float *longer = calloc(n, sizeof *longer);
    assert_non_null(longer);
    memcpy(longer, c->samples, c->n * sizeof *longer);
    for (int i = 0; i < 2; i++) {
        mem_source m;
        asr_source src = make_source(&m, longer, n, 0.0);
        m.fail_at = fail_points[i];
        transcript *t = (transcript *)&m;
        char err[256] = "";
        assert_int_equal(asr_transcribe(fx->engine, &src, &t, err, sizeof err), ASR_ERR_AUDIO);
        assert_null(t);
        assert_non_null(strstr(err, "corrupt packet at sample"));
    }
    free(longer);
    transcript *t = transcribe(fx->engine, fx->clips[1].samples, fx->clips[1].n, 0.0);
    assert_true(t->n_segments > 0);
    transcript_free(t);
}

static void test_empty_source(void **state)
{
    fixture *fx = *state;
    progress_log *pl = calloc(1, sizeof *pl);
    assert_non_null(pl);
    pl->cancel_after = -1;
    asr_params p = asr_default_params();
    p.progress = on_progress;
    p.progress_user_data = pl;
    asr_engine *e = open_with(&p);
    float none[1] = {0};
    transcript *t = transcribe(e, none, 0, 3.0);
    assert_int_equal(t->n_segments, 0);
    assert_float_equal(t->duration, 0.0, 1e-12);
    assert_float_equal(t->start_time, 3.0, 1e-12);
    assert_int_equal(pl->n, 1);
    assert_float_equal(pl->fractions[0], 1.0, 1e-12);
    transcript_free(t);
    asr_close(e);
    free(pl);
    (void)fx;
}

/* Out-of-range and NaN samples are clipped rather than wrapped. */
static void test_loud_and_broken_samples(void **state)
{
    fixture *fx = *state;
    clip *c = &fx->clips[1];
    float *loud = malloc(c->n * sizeof *loud);
    assert_non_null(loud);
    for (size_t i = 0; i < c->n; i++)
        loud[i] = c->samples[i] * 50.0f;
    for (size_t i = 0; i < c->n; i += 997)
        loud[i] = NAN;
    transcript *t = transcribe(fx->engine, loud, c->n, 0.0);
    check_timings(t, 0.0, t->duration);
    transcript_free(t);
    free(loud);
}

/* About 60 s: silence and clips in turn. Utterances, hence segments, break
 * at every silence; no segment may straddle one, and no word lies in one. */
static void test_segments_break_at_silence(void **state)
{
    fixture *fx = *state;
    const int order[] = {1, 0, 4, 2, 3, 1, 4};
    const size_t n_order = sizeof order / sizeof order[0];
    const size_t gap = 3 * RATE;
    size_t total = gap;
    for (size_t i = 0; i < n_order; i++)
        total += fx->clips[order[i]].n + gap;
    float *audio = calloc(total, sizeof *audio);
    double starts[8], ends[8];
    assert_non_null(audio);
    size_t pos = gap;
    for (size_t i = 0; i < n_order; i++) {
        const clip *c = &fx->clips[order[i]];
        memcpy(audio + pos, c->samples, c->n * sizeof *audio);
        starts[i] = (double)pos / RATE;
        ends[i] = (double)(pos + c->n) / RATE;
        pos += c->n + gap;
    }
    assert_true(total >= 55 * RATE);

    transcript *t = transcribe(fx->engine, audio, total, 0.0);
    check_timings(t, 0.0, (double)total / RATE);
    size_t per_clip[8] = {0};
    for (size_t s = 0; s < t->n_segments; s++) {
        const transcript_segment *seg = &t->segments[s];
        size_t k = 0;
        while (k < n_order && !(seg->start >= starts[k] - 0.3 && seg->end <= ends[k] + 0.3))
            k++;
        if (k == n_order)
            fail_msg("segment %zu [%.2f, %.2f] '%s' straddles a silence", s, seg->start, seg->end,
                     seg->text);
        per_clip[k]++;
    }
    for (size_t k = 0; k < n_order; k++)
        if (per_clip[k] == 0)
            fail_msg("no segment for clip %zu at %.2f s", k, starts[k]);
    printf("    %zu segments over %.1f s\n", t->n_segments, (double)total / RATE);
    transcript_free(t);
    free(audio);
}

typedef struct {
    size_t n;
    size_t errors;
} log_count;

static void on_log(asr_log_level level, const char *message, void *user_data)
{
    log_count *lc = user_data;
    assert_non_null(message);
    lc->n++;
    if (level == ASR_LOG_ERROR)
        lc->errors++;
}

/* The library never writes to stderr: pocketsphinx's chatter goes to the
 * log callback, or nowhere. */
static void test_quiet_stderr(void **state)
{
    fixture *fx = *state;
    char path[] = "/tmp/cesar_test_stderr_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, 2), 2);

    log_count lc = {0};
    asr_params p = asr_default_params();
    p.log = on_log;
    p.log_user_data = &lc;
    p.language = "auto";
    asr_engine *e = NULL;
    char err[256];
    int rc = asr_open(&e, &p, err, sizeof err);
    transcript *t = NULL;
    if (rc == ASR_OK) {
        mem_source m;
        asr_source src = make_source(&m, fx->clips[1].samples, fx->clips[1].n, 0.0);
        rc = asr_transcribe(e, &src, &t, err, sizeof err);
    }
    asr_params quiet = asr_default_params(); /* and without a log callback */
    asr_engine *e2 = NULL;
    int rc2 = asr_open(&e2, &quiet, err, sizeof err);
    asr_close(e2);
    asr_close(e);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    assert_int_equal(rc, ASR_OK);
    assert_int_equal(rc2, ASR_OK);
    assert_int_equal(size, 0);
    assert_true(lc.n > 10); /* the model loading was reported */
    assert_int_equal(lc.errors, 0);
    transcript_free(t);
}

static void test_model_as_directory_and_language_spelling(void **state)
{
    (void)state;
    asr_params p = asr_default_params();
    p.model = CESAR_PS_MODELDIR "/";
    p.language = "EN";
    p.n_threads = 4;
    asr_engine *e = open_with(&p);
    assert_string_equal(asr_model_name(e), CESAR_PS_MODELDIR "/");
    assert_string_equal(asr_language(e), "en");
    asr_close(e);

    p.model = "en-us";
    p.language = "";
    e = open_with(&p);
    assert_string_equal(asr_model_name(e), "en-us");
    assert_string_equal(asr_language(e), "en");
    asr_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_wer_librivox),
        cmocka_unit_test(test_time_offset_shifts_everything),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_short_reads),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_audio_error),
        cmocka_unit_test(test_empty_source),
        cmocka_unit_test(test_loud_and_broken_samples),
        cmocka_unit_test(test_segments_break_at_silence),
        cmocka_unit_test(test_quiet_stderr),
        cmocka_unit_test(test_model_as_directory_and_language_spelling),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
