/* test_pyannote_gemm: the pyannote matrix products (pyannote__matrix_*)
 * against a float64 naive product, in each mode this machine runs — F32
 * (sgemm) everywhere, BF16X3 and BF16 where AMX works — over shapes that hit
 * every edge of the tiling (m, n not multiples of 16, k not a multiple of
 * 32, k past one K block, n past one column block), with and without
 * accumulation and with row strides wider than the rows. Also: how modes
 * resolve with and without CESAR_PYANNOTE_GEMM, that nothing outside the
 * m x n output is written, and that results are bit-identical across
 * threads and across splits of the columns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/gemm_amx.h"
#include "pyannote/internal.h"

#define SENTINEL -12345.0f

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static float rng_uniform(uint32_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)rng_next(s) / (float)(1u << 24);
}

static float *random_floats(size_t count, uint32_t *seed)
{
    float *v = malloc((count ? count : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < count; i++)
        v[i] = rng_uniform(seed, -1, 1);
    return v;
}

typedef struct {
    int m, k, n, ldx, ldy;
    bool accumulate;
} shape;

/* Runs one product in mode and returns max|c - ref| / max|ref|; also checks
 * that y's padding columns (ldy > n) kept their sentinel. A tensor of one
 * or two dot products can cancel down to almost nothing, which would make
 * that ratio meaningless, so max|ref| is floored at the typical size of one
 * product, sqrt(k / 9) (the deviation of a sum of k products of
 * uniform(-1, 1) values). */
static double product_error(pyannote__gemm_mode mode, shape s, uint32_t seed)
{
    float *w = random_floats((size_t)s.m * (size_t)s.k, &seed);
    float *x = random_floats((size_t)s.k * (size_t)s.ldx, &seed);
    float *y = malloc((size_t)s.m * (size_t)s.ldy * sizeof *y);
    double *ref = malloc((size_t)s.m * (size_t)s.n * sizeof *ref);
    assert_non_null(y);
    assert_non_null(ref);
    for (int i = 0; i < s.m; i++)
        for (int j = 0; j < s.ldy; j++)
            y[(size_t)i * s.ldy + j] = j < s.n ? rng_uniform(&seed, -1, 1) : SENTINEL;
    double ref_max = sqrt(s.k / 9.0);
    for (int i = 0; i < s.m; i++) {
        for (int j = 0; j < s.n; j++) {
            double acc = s.accumulate ? (double)y[(size_t)i * s.ldy + j] : 0.0;
            for (int kk = 0; kk < s.k; kk++)
                acc += (double)w[(size_t)i * s.k + kk] * (double)x[(size_t)kk * s.ldx + j];
            ref[(size_t)i * s.n + j] = acc;
            ref_max = fmax(ref_max, fabs(acc));
        }
    }

    char err[256] = "";
    pyannote__matrix *mat = NULL;
    assert_int_equal(pyannote__matrix_new(&mat, w, s.m, s.k, mode, err, sizeof err), PYANNOTE_OK);
    assert_int_equal(pyannote__matrix_mode(mat), mode);
    assert_int_equal(
        pyannote__matrix_mul(mat, x, s.ldx, s.n, y, s.ldy, s.accumulate, err, sizeof err),
        PYANNOTE_OK);
    double diff = 0;
    for (int i = 0; i < s.m; i++) {
        for (int j = 0; j < s.ldy; j++) {
            float c = y[(size_t)i * s.ldy + j];
            if (j >= s.n)
                assert_true(c == SENTINEL);
            else
                diff = fmax(diff, fabs((double)c - ref[(size_t)i * s.n + j]));
        }
    }
    pyannote__matrix_free(mat);
    free(w);
    free(x);
    free(y);
    free(ref);
    return diff / ref_max;
}

static const shape BIG_SHAPES[] = {
    {256, 2304, 48, 48, 48, false}, /* deepest trunk conv, several K blocks */
    {32, 288, 700, 701, 703, true}, /* first conv layer, several column blocks */
    {512, 256, 40, 40, 40, true},   /* LSTM gates */
    {64, 576, 300, 300, 310, false},
    {7, 128, 589, 589, 589, false}, /* classifier over a window's frames */
};

/* Largest relative error of mode over the shape sweep and the big shapes. */
static double sweep_error(pyannote__gemm_mode mode)
{
    static const int MS[] = {1, 2, 15, 16, 17, 31, 32, 33, 48, 63, 64, 100};
    static const int KS[] = {1, 2, 9, 31, 32, 33, 63, 64, 65, 255, 256, 257, 300, 513};
    static const int NS[] = {1, 3, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 300};
    const int nm = sizeof MS / sizeof MS[0], nk = sizeof KS / sizeof KS[0];
    const int nn = sizeof NS / sizeof NS[0];
    double worst = 0;
    for (int i = 0; i < 160; i++) {
        shape s = {MS[i % nm], KS[(i * 5) % nk], NS[(i * 7) % nn], 0, 0, i % 2 == 1};
        s.ldx = s.n + (i % 3) * 5;
        s.ldy = s.n + (i % 4) * 3;
        worst = fmax(worst, product_error(mode, s, 1000u + (uint32_t)i));
    }
    for (size_t i = 0; i < sizeof BIG_SHAPES / sizeof BIG_SHAPES[0]; i++)
        worst = fmax(worst, product_error(mode, BIG_SHAPES[i], 77u + (uint32_t)i));
    return worst;
}

static void test_f32_matches_reference(void **state)
{
    (void)state;
    unsetenv("CESAR_PYANNOTE_GEMM");
    double e = sweep_error(PYANNOTE__GEMM_F32);
    printf("f32: max relative error %.3g\n", e);
    assert_true(e <= 1e-6);
}

static void test_bf16x3_matches_reference(void **state)
{
    (void)state;
    if (!pyannote__amx_usable())
        skip();
    unsetenv("CESAR_PYANNOTE_GEMM");
    double e = sweep_error(PYANNOTE__GEMM_BF16X3);
    printf("bf16x3: max relative error %.3g\n", e);
    assert_true(e <= 1e-4);
}

static void test_bf16_matches_reference(void **state)
{
    (void)state;
    if (!pyannote__amx_usable())
        skip();
    unsetenv("CESAR_PYANNOTE_GEMM");
    double e = sweep_error(PYANNOTE__GEMM_BF16);
    printf("bf16: max relative error %.3g\n", e);
    assert_true(e <= 2e-2);
    /* and it really is the one-product mode: worse than bf16x3 */
    assert_true(e > 1e-4);
}

static void test_resolve(void **state)
{
    (void)state;
    bool amx = pyannote__amx_usable();
    pyannote__gemm_mode x3 = amx ? PYANNOTE__GEMM_BF16X3 : PYANNOTE__GEMM_F32;
    pyannote__gemm_mode b1 = amx ? PYANNOTE__GEMM_BF16 : PYANNOTE__GEMM_F32;

    unsetenv("CESAR_PYANNOTE_GEMM");
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_AUTO), x3);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_F32), PYANNOTE__GEMM_F32);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_BF16X3), x3);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_BF16), b1);

    setenv("CESAR_PYANNOTE_GEMM", "f32", 1);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_AUTO), PYANNOTE__GEMM_F32);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_BF16X3), PYANNOTE__GEMM_F32);
    setenv("CESAR_PYANNOTE_GEMM", "bf16", 1);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_F32), b1);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_AUTO), b1);
    setenv("CESAR_PYANNOTE_GEMM", "bf16x3", 1);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_F32), x3);
    setenv("CESAR_PYANNOTE_GEMM", "fast-please", 1); /* unknown: ignored */
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_F32), PYANNOTE__GEMM_F32);
    assert_int_equal(pyannote__gemm_resolve(PYANNOTE__GEMM_AUTO), x3);

    /* matrix_new resolves AUTO (and the override) too */
    const float w[6] = {1, 2, 3, 4, 5, 6};
    char err[128];
    pyannote__matrix *mat = NULL;
    setenv("CESAR_PYANNOTE_GEMM", "f32", 1);
    assert_int_equal(pyannote__matrix_new(&mat, w, 2, 3, PYANNOTE__GEMM_AUTO, err, sizeof err), 0);
    assert_int_equal(pyannote__matrix_mode(mat), PYANNOTE__GEMM_F32);
    pyannote__matrix_free(mat);
    unsetenv("CESAR_PYANNOTE_GEMM");
    assert_int_equal(pyannote__matrix_new(&mat, w, 2, 3, PYANNOTE__GEMM_AUTO, err, sizeof err), 0);
    assert_int_equal(pyannote__matrix_mode(mat), x3);
    pyannote__matrix_free(mat);

    assert_string_equal(pyannote__gemm_mode_name(PYANNOTE__GEMM_BF16X3), "bf16x3");
    assert_string_equal(pyannote__gemm_mode_name(PYANNOTE__GEMM_F32), "f32");
    assert_string_equal(pyannote__gemm_mode_name(PYANNOTE__GEMM_BF16), "bf16");
}

static void test_bad_shape(void **state)
{
    (void)state;
    const float w[1] = {1};
    char err[128] = "";
    pyannote__matrix *mat = (pyannote__matrix *)w; /* must be reset to NULL */
    assert_int_equal(pyannote__matrix_new(&mat, w, 0, 3, PYANNOTE__GEMM_AUTO, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_null(mat);
    assert_non_null(strstr(err, "0 x 3"));
    pyannote__matrix_free(NULL);
}

/* ---- determinism --------------------------------------------------------------- */

typedef struct {
    const pyannote__matrix *mat;
    const float *x;
    float *y;
    int n;
    int rc;
} mul_job;

static void *mul_thread(void *arg)
{
    mul_job *j = arg;
    char err[128];
    j->rc = pyannote__matrix_mul(j->mat, j->x, j->n, j->n, j->y, j->n, false, err, sizeof err);
    return NULL;
}

static void check_deterministic(pyannote__gemm_mode mode)
{
    enum { M = 70, K = 300, N = 290, THREADS = 3 };
    uint32_t seed = 99;
    float *w = random_floats((size_t)M * K, &seed);
    float *x = random_floats((size_t)K * N, &seed);
    float *y0 = calloc((size_t)M * N, sizeof *y0);
    float *ys = calloc((size_t)THREADS * M * N, sizeof *ys);
    float *split = calloc((size_t)M * N, sizeof *split);
    assert_true(y0 && ys && split);
    char err[128];
    pyannote__matrix *mat = NULL;
    assert_int_equal(pyannote__matrix_new(&mat, w, M, K, mode, err, sizeof err), 0);
    assert_int_equal(pyannote__matrix_mul(mat, x, N, N, y0, N, false, err, sizeof err), 0);

    pthread_t th[THREADS];
    mul_job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (mul_job){mat, x, ys + (size_t)t * M * N, N, -1};
        assert_int_equal(pthread_create(&th[t], NULL, mul_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(jobs[t].rc, 0);
        assert_memory_equal(ys + (size_t)t * M * N, y0, (size_t)M * N * sizeof *y0);
    }
    /* AMX columns are independent: splitting n at an odd place changes nothing */
    if (mode != PYANNOTE__GEMM_F32) {
        const int cut = 37;
        assert_int_equal(pyannote__matrix_mul(mat, x, N, cut, split, N, false, err, sizeof err), 0);
        assert_int_equal(pyannote__matrix_mul(mat, x + cut, N, N - cut, split + cut, N, false, err,
                                              sizeof err),
                         0);
        assert_memory_equal(split, y0, (size_t)M * N * sizeof *y0);
    }
    pyannote__matrix_free(mat);
    free(w);
    free(x);
    free(y0);
    free(ys);
    free(split);
}

static void test_deterministic(void **state)
{
    (void)state;
    unsetenv("CESAR_PYANNOTE_GEMM");
    check_deterministic(PYANNOTE__GEMM_F32);
    if (!pyannote__amx_usable())
        return;
    check_deterministic(PYANNOTE__GEMM_BF16X3);
    check_deterministic(PYANNOTE__GEMM_BF16);
}

/* Zero columns of x give exactly zero (or exactly the old y), whatever the
 * padding: catches stale B tiles or garbage in the K tail. */
static void test_zero_input_exact(void **state)
{
    (void)state;
    unsetenv("CESAR_PYANNOTE_GEMM");
    enum { M = 33, K = 45, N = 21 };
    uint32_t seed = 5;
    float *w = random_floats((size_t)M * K, &seed);
    float *x = calloc((size_t)K * N, sizeof *x);
    float *y = malloc((size_t)M * N * sizeof *y);
    assert_true(x && y);
    pyannote__gemm_mode modes[] = {PYANNOTE__GEMM_F32, PYANNOTE__GEMM_BF16X3, PYANNOTE__GEMM_BF16};
    for (int i = 0; i < 3; i++) {
        char err[128];
        pyannote__matrix *mat = NULL;
        assert_int_equal(pyannote__matrix_new(&mat, w, M, K, modes[i], err, sizeof err), 0);
        for (int a = 0; a < 2; a++) {
            for (int j = 0; j < M * N; j++)
                y[j] = (float)j;
            assert_int_equal(pyannote__matrix_mul(mat, x, N, N, y, N, a == 1, err, sizeof err), 0);
            for (int j = 0; j < M * N; j++)
                assert_true(y[j] == (a == 1 ? (float)j : 0.0f));
        }
        pyannote__matrix_free(mat);
    }
    free(w);
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_bad_shape),
        cmocka_unit_test(test_zero_input_exact),
        cmocka_unit_test(test_f32_matches_reference),
        cmocka_unit_test(test_bf16x3_matches_reference),
        cmocka_unit_test(test_bf16_matches_reference),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
