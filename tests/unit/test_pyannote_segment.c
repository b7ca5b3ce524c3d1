/* test_pyannote_segment: the C segmentation network (PyanNet,
 * pyannote/segmentation-3.0 sizes) against the float64 PyTorch reference
 * tests/pyannote/ref_segmentation.py on random weights.
 *
 * The reference script writes everything into a temporary directory at test
 * time: checkpoints (good, without the filterbank buffers, and broken ones),
 * five speech-like 10 s windows (one silent), two short windows, the
 * reference log-probabilities and decisions, and frame counts for several
 * lengths. Metric: max |c - ref| / max |ref| over the whole output, bound
 * 1e-4. Thread counts must not change a single bit. The reference's own
 * self-check (against torch's float32 modules) runs too.
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
#include <unistd.h>

#include "pyannote/pyannote.h"
#include "ref_compare.h"

#define SCRIPT CESAR_SOURCE_DIR "/tests/pyannote/ref_segmentation.py"
#define WIN 160000
#define N_WIN 5
#define FRAMES 589
#define SHORT 48017
#define N_SHORT 2
#define K PYANNOTE_POWERSET_CLASSES
#define BOUND 1e-4

typedef struct {
    char dir[256];
    float *windows, *ref;
    pyannote_segmenter *seg;
} fixture;

static void path_of(char *out, size_t cap, const fixture *fx, const char *name)
{
    snprintf(out, cap, "%s/%s", fx->dir, name);
}

static void *read_file(const fixture *fx, const char *name, size_t bytes)
{
    char path[512];
    path_of(path, sizeof path, fx, name);
    return ref_read(path, bytes, 1);
}

static void check_close(const char *what, const float *c, const float *ref, size_t n)
{
    ref_check_close(what, c, ref, n, BOUND);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/cesar_pyseg_XXXXXX");
    if (ref_generate(fx->dir, SCRIPT) != 0)
        return -1;
    fx->windows = read_file(fx, "windows.f32", (size_t)N_WIN * WIN * sizeof(float));
    fx->ref = read_file(fx, "ref_logp.f32", (size_t)N_WIN * FRAMES * K * sizeof(float));
    char path[512], err[512] = "";
    path_of(path, sizeof path, fx, "seg.ckpt");
    if (pyannote_segmenter_open(&fx->seg, path, err, sizeof err) != PYANNOTE_OK) {
        fprintf(stderr, "open %s: %s\n", path, err);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    pyannote_segmenter_close(fx->seg);
    free(fx->windows);
    free(fx->ref);
    ref_remove_dir(fx->dir);
    free(fx);
    return 0;
}

static float *segment(pyannote_segmenter *seg, const float *x, size_t nw, size_t ns, int threads)
{
    size_t frames = pyannote_segmenter_frames(seg, ns);
    float *out = malloc(nw * frames * K * sizeof *out);
    assert_non_null(out);
    char err[256] = "";
    int rc = pyannote_segment(seg, x, nw, ns, threads, out, err, sizeof err);
    if (rc != PYANNOTE_OK)
        fail_msg("pyannote_segment: %s (%s)", err, pyannote_strerror(rc));
    return out;
}

/* The reference itself against torch's float32 modules (nn.LSTM,
 * nn.InstanceNorm1d, nn.Conv1d...): proves the float64 forward right. */
static void test_reference_selfcheck(void **state)
{
    (void)state;
    assert_int_equal(ref_run(REF_PYTHON " " SCRIPT " --selfcheck > /dev/null"), 0);
}

static void test_frames(void **state)
{
    fixture *fx = *state;
    assert_int_equal(pyannote_segmenter_frames(fx->seg, WIN), FRAMES);
    char path[512];
    path_of(path, sizeof path, fx, "frames.txt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n, frames;
    int lines = 0;
    while (fscanf(f, "%zu %zu", &n, &frames) == 2) {
        if (pyannote_segmenter_frames(fx->seg, n) != frames)
            fail_msg("%zu samples: %zu frames, reference %zu", n,
                     pyannote_segmenter_frames(fx->seg, n), frames);
        lines++;
    }
    fclose(f);
    assert_true(lines >= 8);
}

/* 1, 3 and 5 windows; 1, 2 and 3 threads give the same bits, and a window's
 * result does not depend on the batch it came in. */
static void test_log_probs(void **state)
{
    fixture *fx = *state;
    const size_t per = (size_t)FRAMES * K;
    float *all = segment(fx->seg, fx->windows, N_WIN, WIN, 1);
    check_close("5 windows, 1 thread", all, fx->ref, N_WIN * per);
    static const size_t counts[] = {1, 3, 5};
    for (size_t c = 0; c < 3; c++) {
        for (int threads = 1; threads <= 3; threads++) {
            float *out = segment(fx->seg, fx->windows, counts[c], WIN, threads);
            if (memcmp(out, all, counts[c] * per * sizeof *out) != 0)
                fail_msg("%zu windows on %d threads differ from the 1-thread batch of %d",
                         counts[c], threads, N_WIN);
            free(out);
        }
    }
    /* Each window alone, and the last three on two threads. */
    for (size_t w = 0; w < N_WIN; w++) {
        float *out = segment(fx->seg, fx->windows + w * WIN, 1, WIN, 2);
        assert_memory_equal(out, all + w * per, per * sizeof *out);
        free(out);
    }
    float *tail = segment(fx->seg, fx->windows + 2 * (size_t)WIN, 3, WIN, 2);
    assert_memory_equal(tail, all + 2 * per, 3 * per * sizeof *tail);
    free(tail);
    /* The silent window still gives finite, normalised scores. */
    for (size_t t = 0; t < FRAMES; t++) {
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp(all[2 * per + t * K + k]);
        assert_true(fabs(sum - 1.0) < 1e-4);
    }
    free(all);
}

static void test_short_windows(void **state)
{
    fixture *fx = *state;
    size_t frames = pyannote_segmenter_frames(fx->seg, SHORT);
    float *x = read_file(fx, "short.f32", (size_t)N_SHORT * SHORT * sizeof(float));
    float *ref = read_file(fx, "ref_short.f32", N_SHORT * frames * K * sizeof(float));
    float *out = segment(fx->seg, x, N_SHORT, SHORT, 2);
    check_close("2 windows of 48017 samples", out, ref, N_SHORT * frames * K);
    free(out);
    free(ref);
    free(x);
}

/* Without ParamSincFB's window_ / n_ buffers the filters are recomputed. */
static void test_recomputed_filters(void **state)
{
    fixture *fx = *state;
    char path[512], err[512] = "";
    path_of(path, sizeof path, fx, "seg_nobuf.ckpt");
    pyannote_segmenter *seg = NULL;
    assert_int_equal(pyannote_segmenter_open(&seg, path, err, sizeof err), PYANNOTE_OK);
    float *ref = read_file(fx, "ref_nobuf.f32", 3 * (size_t)FRAMES * K * sizeof(float));
    float *out = segment(seg, fx->windows, 3, WIN, 2);
    check_close("recomputed window_ and n_", out, ref, 3 * (size_t)FRAMES * K);
    free(out);
    free(ref);
    pyannote_segmenter_close(seg);
}

/* Sizes come from the checkpoint: a 24-unit LSTM (the portable recurrence). */
static void test_other_hidden_size(void **state)
{
    fixture *fx = *state;
    char path[512], err[512] = "";
    path_of(path, sizeof path, fx, "seg_h24.ckpt");
    pyannote_segmenter *seg = NULL;
    if (pyannote_segmenter_open(&seg, path, err, sizeof err) != PYANNOTE_OK)
        fail_msg("%s", err);
    float *ref = read_file(fx, "ref_h24.f32", 2 * (size_t)FRAMES * K * sizeof(float));
    float *out = segment(seg, fx->windows, 2, WIN, 2);
    check_close("24-unit LSTM", out, ref, 2 * (size_t)FRAMES * K);
    float *one = segment(seg, fx->windows + WIN, 1, WIN, 1);
    assert_memory_equal(one, out + (size_t)FRAMES * K, (size_t)FRAMES * K * sizeof *one);
    free(one);
    free(out);
    free(ref);
    pyannote_segmenter_close(seg);
}

static void test_multilabel(void **state)
{
    fixture *fx = *state;
    const size_t n = (size_t)N_WIN * FRAMES;
    uint8_t *want = read_file(fx, "ref_active_f32.u8", n * 3);
    uint8_t *want64 = read_file(fx, "ref_active.u8", n * 3);
    uint8_t *got = malloc(n * 3);
    assert_non_null(got);
    /* The same scores give the same decisions, exactly. */
    pyannote_powerset_to_multilabel(fx->ref, n, got);
    assert_memory_equal(got, want, n * 3);
    /* The C network's scores: identical decisions except where the
     * reference's two best classes are closer than the tolerance. */
    float *out = segment(fx->seg, fx->windows, N_WIN, WIN, 2);
    pyannote_powerset_to_multilabel(out, n, got);
    size_t differ = 0, speaking = 0;
    for (size_t t = 0; t < n; t++) {
        const float *p = fx->ref + t * K;
        float b1 = -INFINITY, b2 = -INFINITY;
        for (int k = 0; k < K; k++) {
            if (p[k] > b1) {
                b2 = b1;
                b1 = p[k];
            } else if (p[k] > b2) {
                b2 = p[k];
            }
        }
        speaking += want64[t * 3] + want64[t * 3 + 1] + want64[t * 3 + 2];
        if (memcmp(got + t * 3, want64 + t * 3, 3) != 0) {
            differ++;
            if (b1 - b2 > 1e-3)
                fail_msg("frame %zu: decision differs with a gap of %g", t, b1 - b2);
        }
    }
    print_message("  decisions differing on near-ties: %zu of %zu frames\n", differ, n);
    assert_true(differ <= n / 100);
    assert_true(speaking > 0);
    /* Ties go to the first class, as torch.argmax. */
    const float tie[K] = {-1.0f, -0.5f, -2.0f, -0.5f, -3.0f, -0.5f, -4.0f};
    uint8_t one[3];
    pyannote_powerset_to_multilabel(tie, 1, one);
    assert_int_equal(one[0], 1);
    assert_int_equal(one[1] + one[2], 0);
    const float pair[K] = {-9.0f, -9.0f, -9.0f, -9.0f, -9.0f, -9.0f, -0.1f};
    pyannote_powerset_to_multilabel(pair, 1, one);
    assert_true(one[0] == 0 && one[1] == 1 && one[2] == 1);
    free(out);
    free(got);
    free(want);
    free(want64);
}

static void expect_refused(const fixture *fx, const char *file, const char *tensor)
{
    char path[512], err[512] = "";
    path_of(path, sizeof path, fx, file);
    pyannote_segmenter *seg = (pyannote_segmenter *)1;
    int rc = pyannote_segmenter_open(&seg, path, err, sizeof err);
    print_message("  %-20s -> %s\n", file, err);
    assert_int_equal(rc, PYANNOTE_ERR_MODEL);
    assert_null(seg);
    if (!strstr(err, tensor))
        fail_msg("%s: message '%s' does not name '%s'", file, err, tensor);
}

static void test_bad_checkpoints(void **state)
{
    fixture *fx = *state;
    expect_refused(fx, "bad_missing.ckpt", "lstm.weight_hh_l2_reverse");
    expect_refused(fx, "bad_shape.ckpt", "linear.1.weight");
    expect_refused(fx, "bad_lstm.ckpt", "linear.0.weight");
    expect_refused(fx, "bad_lstm_in.ckpt", "lstm.weight_ih_l1");
    expect_refused(fx, "no_such_file.ckpt", "no_such_file.ckpt");
}

static void test_bad_arguments(void **state)
{
    fixture *fx = *state;
    float out[K];
    char err[256] = "";
    assert_int_equal(pyannote_segmenter_frames(fx->seg, PYANNOTE_FRAME_DURATION - 1), 0);
    assert_int_equal(pyannote_segmenter_frames(fx->seg, PYANNOTE_FRAME_DURATION), 1);
    assert_int_equal(pyannote_segment(fx->seg, fx->windows, 1, PYANNOTE_FRAME_DURATION - 1, 1,
                                      out, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "990"));
    assert_int_equal(pyannote_segment(fx->seg, fx->windows, 1, PYANNOTE_FRAME_DURATION, 1, out,
                                      err, sizeof err),
                     PYANNOTE_OK);
    assert_int_equal(pyannote_segment(fx->seg, NULL, 0, WIN, 1, NULL, err, sizeof err),
                     PYANNOTE_OK);
    assert_string_equal(pyannote_strerror(PYANNOTE_ERR_MODEL), "unusable pyannote model checkpoint");
    pyannote_segmenter_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_selfcheck),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_log_probs),
        cmocka_unit_test(test_short_windows),
        cmocka_unit_test(test_recomputed_filters),
        cmocka_unit_test(test_other_hidden_size),
        cmocka_unit_test(test_multilabel),
        cmocka_unit_test(test_bad_checkpoints),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
