/* test_pyannote_engine: the "pyannote" diarization engine end to end
 * against the PyTorch/NumPy reference of the whole 3.1 pipeline
 * (tests/pyannote/ref_pipeline.py): random-weight checkpoints of the real
 * models, 15.5 s of a real AMI meeting clip, windows every 2 s (so the last
 * window is zero-padded). The engine must give exactly the reference's
 * turns — same count, same speakers (numbered by first appearance), times
 * within 1 µs — with the default clustering and with exactly two speakers,
 * in float32 and in the default (AMX bf16x3 where available) precision.
 *
 * The fast precision must find the same speakers talking about as long.
 * Also: weights missing and no token anywhere -> DIARIZE_ERR_TOKEN_REQUIRED
 * with the help text; a damaged checkpoint -> DIARIZE_ERR_FAILED naming it;
 * the cancel flag; progress that never goes back and ends at 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diarize/diarize.h"
#include "ref_compare.h"
#include "util/util.h"

#define AMI CESAR_SOURCE_DIR "/../shared/data/diarization/ami-debug/trn01.wav"
#define SECONDS "15.5"
#define STEP 2.0

typedef struct {
    char dir[256];
    float *audio;
    size_t n;
} fixture;

typedef struct {
    const float *audio;
    size_t n, pos;
} mem_source;

static int mem_read(void *user, float *buf, size_t max, size_t *n_read, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    mem_source *m = user;
    size_t k = m->n - m->pos < max ? m->n - m->pos : max;
    if (k > 4000)
        k = 4000; /* small reads, as a decoder gives */
    memcpy(buf, m->audio + m->pos, k * sizeof *buf);
    m->pos += k;
    *n_read = k;
    return 0;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/cesar_pyannote_engine.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 %s/tests/pyannote/ref_pipeline.py %s %s %s %g", CESAR_SOURCE_DIR,
             fx->dir, AMI, SECONDS, STEP);
    if (system(cmd) != 0)
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/audio.f32", fx->dir);
    fx->audio = ref_read_all(path, &fx->n);
    fx->n /= sizeof *fx->audio;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (!getenv("CESAR_TEST_KEEP"))
        util_remove_tree(fx->dir, false, NULL, 0);
    free(fx->audio);
    free(fx);
    return 0;
}

typedef struct {
    double last;
    int calls, backwards;
    atomic_int *cancel_after_start; /* raised at the first progress past 0; may be NULL */
} progress_log;

static void on_progress(double f, void *user)
{
    progress_log *p = user;
    if (f < p->last)
        p->backwards++;
    p->last = f;
    p->calls++;
    if (p->cancel_after_start && f > 0)
        atomic_store(p->cancel_after_start, 1);
}

static int run_engine_fast(const fixture *fx, const char *models, int num_speakers, bool fast,
                           diarize_result *out, progress_log *pl, const atomic_int *cancel,
                           char *err, size_t errlen)
{
    diarize_params p = diarize_default_params();
    p.fast = fast;
    p.engine = "pyannote";
    p.models_dir = models;
    p.step_seconds = STEP;
    p.num_speakers = num_speakers;
    p.n_threads = 2;
    p.progress = pl ? on_progress : NULL;
    p.progress_user_data = pl;
    p.cancel = cancel;
    diarize_engine *e = NULL;
    int rc = diarize_open(&e, &p, err, errlen);
    if (rc != DIARIZE_OK)
        return rc;
    mem_source m = {fx->audio, fx->n, 0};
    diarize_source src = {mem_read, &m, (double)fx->n / 16000.0, 0.0};
    rc = diarize_run(e, &src, out, err, errlen);
    diarize_close(e);
    return rc;
}

static int run_engine(const fixture *fx, const char *models, int num_speakers,
                      diarize_result *out, progress_log *pl, const atomic_int *cancel, char *err,
                      size_t errlen)
{
    return run_engine_fast(fx, models, num_speakers, false, out, pl, cancel, err, errlen);
}

/* Seconds each of the reference's speakers talks, by label. */
static int reference_speech(const fixture *fx, int num, double *seconds, int cap)
{
    char path[512];
    snprintf(path, sizeof path, "%s/turns_num%d.txt", fx->dir, num);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    double s, e;
    int k, n = 0;
    for (int i = 0; i < cap; i++)
        seconds[i] = 0;
    while (fscanf(f, "%lf %lf %d", &s, &e, &k) == 3) {
        assert_true(k >= 0 && k < cap);
        seconds[k] += e - s;
        n = k + 1 > n ? k + 1 : n;
    }
    fclose(f);
    return n;
}

static void compare_turns(const fixture *fx, const diarize_result *r, int num, const char *mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/turns_num%d.txt", fx->dir, num);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    double s, e;
    int k;
    size_t i = 0;
    while (fscanf(f, "%lf %lf %d", &s, &e, &k) == 3) {
        if (i >= r->n_turns)
            fail_msg("%s, num_speakers %d: the engine has %zu turns, the reference more", mode,
                     num, r->n_turns);
        const diarize_turn *t = &r->turns[i];
        if (fabs(t->start - s) > 1e-6 || fabs(t->end - e) > 1e-6 || t->speaker != k)
            fail_msg("%s, num_speakers %d: turn %zu is %.6f-%.6f speaker %d, the reference "
                     "%.6f-%.6f speaker %d",
                     mode, num, i, t->start, t->end, t->speaker, s, e, k);
        i++;
    }
    fclose(f);
    assert_int_equal(i, r->n_turns);
    assert_true(i > 0);
}

static void check_mode(void **state, const char *mode)
{
    fixture *fx = *state;
    char models[300], err[1024] = "";
    snprintf(models, sizeof models, "%s/models", fx->dir);
    if (mode)
        setenv("CESAR_PYANNOTE_GEMM", mode, 1);
    else
        unsetenv("CESAR_PYANNOTE_GEMM");
    for (int num = 0; num <= 2; num += 2) {
        diarize_result r;
        progress_log pl = {0, 0, 0, NULL};
        int rc = run_engine(fx, models, num, &r, &pl, NULL, err, sizeof err);
        if (rc != DIARIZE_OK)
            fail_msg("diarize_run: %s", err);
        compare_turns(fx, &r, num, mode ? mode : "default");
        assert_int_equal(pl.backwards, 0);
        assert_true(pl.calls > 3);
        assert_true(pl.last == 1.0);
        assert_true(fabs(r.audio_seconds - (double)fx->n / 16000.0) < 1e-9);
        if (num == 2)
            assert_int_equal(r.n_speakers, 2);
        diarize_result_clear(&r);
    }
    unsetenv("CESAR_PYANNOTE_GEMM");
}

static void test_matches_reference_f32(void **state)
{
    check_mode(state, "f32");
}

static void test_matches_reference_default(void **state)
{
    check_mode(state, NULL);
}

/* The fast precision (single bfloat16 products where the CPU has AMX) is
 * not bound to the reference's exact turns, but must tell the same
 * speakers apart for about as long: same speaker count, each speaker's
 * talk time within 5 % of the reference's. */
static void test_fast_close_to_reference(void **state)
{
    fixture *fx = *state;
    char models[300], err[1024] = "";
    snprintf(models, sizeof models, "%s/models", fx->dir);
    unsetenv("CESAR_PYANNOTE_GEMM");
    for (int num = 0; num <= 2; num += 2) {
        double ref[DIARIZE_MAX_SPEAKERS + 4], got[DIARIZE_MAX_SPEAKERS + 4] = {0};
        int n_ref = reference_speech(fx, num, ref, DIARIZE_MAX_SPEAKERS + 4);
        diarize_result r;
        if (run_engine_fast(fx, models, num, true, &r, NULL, NULL, err, sizeof err) !=
            DIARIZE_OK)
            fail_msg("fast diarize_run: %s", err);
        assert_int_equal(r.n_speakers, n_ref);
        for (size_t i = 0; i < r.n_turns; i++)
            got[r.turns[i].speaker] += r.turns[i].end - r.turns[i].start;
        for (int k = 0; k < n_ref; k++)
            if (fabs(got[k] - ref[k]) > 0.05 * ref[k] + 0.1)
                fail_msg("fast, num_speakers %d: speaker %d talks %.2f s, the reference %.2f s",
                         num, k, got[k], ref[k]);
        diarize_result_clear(&r);
    }
}

static void test_token_required(void **state)
{
    fixture *fx = *state;
    char empty[300], hf[300], err[2048] = "";
    snprintf(empty, sizeof empty, "%s/empty-models", fx->dir);
    snprintf(hf, sizeof hf, "%s/hf-home", fx->dir);
    assert_int_equal(mkdir(hf, 0700), 0);
    unsetenv("HF_TOKEN");
    setenv("HF_HOME", hf, 1);
    diarize_result r;
    int rc = run_engine(fx, empty, 0, &r, NULL, NULL, err, sizeof err);
    assert_int_equal(rc, DIARIZE_ERR_TOKEN_REQUIRED);
    assert_string_equal(diarize_error_code(rc), "hf_token_required");
    assert_non_null(strstr(err, "huggingface.co/settings/tokens"));
    assert_non_null(strstr(err, "pyannote/segmentation-3.0"));
    assert_non_null(strstr(err, "HF_TOKEN"));
    assert_int_equal(r.n_turns, 0);
    unsetenv("HF_HOME");
}

static void copy_file(const char *from, const char *to, long keep)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    long done = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && (keep < 0 || done < keep)) {
        if (keep >= 0 && done + (long)n > keep)
            n = (size_t)(keep - done);
        assert_int_equal(fwrite(buf, 1, n, out), n);
        done += (long)n;
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void test_damaged_checkpoint(void **state)
{
    fixture *fx = *state;
    char dir[300], path[512], from[512], err[2048] = "";
    const char *repos[2] = {"segmentation-3.0", "wespeaker-voxceleb-resnet34-LM"};
    snprintf(dir, sizeof dir, "%s/damaged", fx->dir);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/pyannote/%s", dir, repos[i]);
        assert_int_equal(util_mkdir_p(path, err, sizeof err), 0);
        snprintf(from, sizeof from, "%s/models/pyannote/%s/pytorch_model.bin", fx->dir,
                 repos[i]);
        snprintf(path, sizeof path, "%s/pyannote/%s/pytorch_model.bin", dir, repos[i]);
        copy_file(from, path, i == 1 ? 100000 : -1); /* the embedding model cut short */
    }
    diarize_result r;
    int rc = run_engine(fx, dir, 0, &r, NULL, NULL, err, sizeof err);
    assert_int_equal(rc, DIARIZE_ERR_FAILED);
    assert_string_equal(diarize_error_code(rc), "diarization_failed");
    assert_non_null(strstr(err, "wespeaker-voxceleb-resnet34-LM"));
    assert_non_null(strstr(err, "cesar models rm pyannote"));
}

static void test_cancel(void **state)
{
    fixture *fx = *state;
    char models[300], err[512] = "";
    snprintf(models, sizeof models, "%s/models", fx->dir);
    atomic_int cancel = 1;
    diarize_result r;
    assert_int_equal(run_engine(fx, models, 0, &r, NULL, &cancel, err, sizeof err),
                     DIARIZE_ERR_CANCELLED);
    assert_int_equal(r.n_turns, 0);

    /* raised while the engine runs (after its first batch of windows) */
    atomic_int later = 0;
    progress_log pl = {0, 0, 0, &later};
    assert_int_equal(run_engine(fx, models, 0, &r, &pl, &later, err, sizeof err),
                     DIARIZE_ERR_CANCELLED);
    assert_true(pl.last > 0 && pl.last < 0.95); /* stopped before clustering */
    assert_int_equal(r.n_turns, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference_f32),
        cmocka_unit_test(test_matches_reference_default),
        cmocka_unit_test(test_fast_close_to_reference),
        cmocka_unit_test(test_token_required),
        cmocka_unit_test(test_damaged_checkpoint),
        cmocka_unit_test(test_cancel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
