/* test_whisper_ops: the network's CPU kernels against naive loops — every
 * instruction set this CPU runs (scalar, AVX2, AVX-512) and every weight
 * type (f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1): row decoding (checked
 * against the loader's whisper__dequant_row), row products, dot, axpy, exp,
 * softmax, GELU, layer norm, and whisper__matmul on both its paths (few rows:
 * row kernels; many rows: decoded blocks + sgemm) with 1 and 2 threads.
 * Sizes include tails that are not multiples of the vector width.
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

#include "whisper/compute.h"

static const int TYPES[] = {WHISPER__F32, WHISPER__F16, WHISPER__Q8_0, WHISPER__Q5_0,
                            WHISPER__Q5_1, WHISPER__Q4_0, WHISPER__Q4_1};
#define N_TYPES (int)(sizeof TYPES / sizeof TYPES[0])

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static float rng_uniform(uint32_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)rng_next(s) / (float)(1u << 24);
}

static bool quantized(int type)
{
    return type != WHISPER__F32 && type != WHISPER__F16;
}

/* A random weight of out rows x in of type; quantized scales are sane f16.
 * Every type but f32 starts at an odd address: f16 and quantized data may
 * sit anywhere in a file (the format has no padding). Free with
 * free_weight. */
static void *make_weight(int type, int64_t in, int64_t out, uint32_t *seed, size_t *row_bytes)
{
    *row_bytes = whisper__row_size(type, in);
    assert_true(*row_bytes > 0);
    uint8_t *base = malloc(*row_bytes * (size_t)out + 1);
    assert_non_null(base);
    uint8_t *w = base + (type == WHISPER__F32 ? 0 : 1);
    if (type == WHISPER__F32) {
        for (int64_t i = 0; i < in * out; i++) {
            float v = rng_uniform(seed, -1, 1);
            memcpy(w + 4 * i, &v, 4);
        }
    } else if (type == WHISPER__F16) {
        for (int64_t i = 0; i < in * out; i++) {
            uint16_t h = whisper__f32_to_f16(rng_uniform(seed, -1, 1));
            memcpy(w + 2 * i, &h, 2);
        }
    } else {
        size_t bb = whisper__block_bytes(type);
        size_t nblk = *row_bytes * (size_t)out / bb;
        for (size_t b = 0; b < nblk; b++) {
            uint8_t *blk = w + b * bb;
            for (size_t k = 0; k < bb; k++)
                blk[k] = (uint8_t)rng_next(seed);
            uint16_t d = whisper__f32_to_f16(rng_uniform(seed, 0.001f, 0.1f));
            uint16_t m = whisper__f32_to_f16(rng_uniform(seed, -0.5f, 0.5f));
            memcpy(blk, &d, 2);
            if (type == WHISPER__Q4_1 || type == WHISPER__Q5_1)
                memcpy(blk + 2, &m, 2);
        }
    }
    return w;
}

static void free_weight(int type, void *w)
{
    free((uint8_t *)w - (type == WHISPER__F32 ? 0 : 1));
}

static float *decoded(int type, const void *w, size_t row_bytes, int64_t in, int64_t out)
{
    float *f = malloc((size_t)(in * out) * sizeof *f);
    assert_non_null(f);
    for (int64_t o = 0; o < out; o++)
        whisper__dequant_row(type, (const uint8_t *)w + (size_t)o * row_bytes, f + o * in, in);
    return f;
}

static float *random_vec(int64_t n, uint32_t *seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = rng_uniform(seed, -1, 1);
    return x;
}

/* y = x wf^T + b in double, and the error bound scale sum |x||w|. */
static void naive_matmul(const float *wf, const float *x, int rows, int64_t in, int64_t out,
                         const float *bias, double *y, double *scale)
{
    for (int r = 0; r < rows; r++) {
        for (int64_t o = 0; o < out; o++) {
            double s = bias ? bias[o] : 0.0, a = bias ? fabs(bias[o]) : 0.0;
            for (int64_t i = 0; i < in; i++) {
                s += (double)x[r * in + i] * wf[o * in + i];
                a += fabs((double)x[r * in + i] * wf[o * in + i]);
            }
            y[r * out + o] = s;
            scale[r * out + o] = a;
        }
    }
}

static void expect_close(const float *c, const double *ref, const double *scale, size_t n,
                         double tol, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double lim = tol * (scale[i] + 1e-30) + 1e-30;
        if (!(fabs(c[i] - ref[i]) <= lim))
            fail_msg("%s: [%zu] = %.9g, expected %.9g (tolerance %.3g)", what, i, (double)c[i],
                     ref[i], lim);
    }
}

static int n_isas(const whisper__kernels *out[3])
{
    int n = 0;
    for (int isa = WHISPER__ISA_SCALAR; isa <= WHISPER__ISA_AVX512; isa++) {
        const whisper__kernels *k = whisper__kernels_for((whisper__isa)isa);
        if (k)
            out[n++] = k;
    }
    return n;
}

static void test_f16_all_values(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        float a = whisper__f16_to_f32_scalar((uint16_t)h), b = whisper__f16_to_f32((uint16_t)h);
        if (isnan(a) || isnan(b))
            assert_true(isnan(a) && isnan(b));
        else
            assert_memory_equal(&a, &b, sizeof a);
    }
    /* every set's f16 rows (F16C in registers and its tails) convert
     * every value as the loader does */
    const whisper__kernels *ks[3];
    int nk = n_isas(ks);
    uint16_t *h = malloc(65536 * sizeof *h);
    float *got = malloc(65536 * sizeof *got);
    assert_non_null(h);
    assert_non_null(got);
    for (uint32_t i = 0; i < 65536; i++)
        h[i] = (uint16_t)i;
    for (int k = 0; k < nk; k++) {
        /* an odd length leaves a tail for the one-at-a-time path */
        ks[k]->to_f32(WHISPER__F16, h, got, 65535);
        ks[k]->to_f32(WHISPER__F16, h + 65535, got + 65535, 1);
        for (uint32_t i = 0; i < 65536; i++) {
            float e = whisper__f16_to_f32((uint16_t)i);
            if (isnan(e) ? !isnan(got[i]) : memcmp(&e, &got[i], sizeof e) != 0)
                fail_msg("to_f32 f16 isa %d: 0x%04x -> %.9g, expected %.9g", (int)ks[k]->isa,
                         (unsigned)i, (double)got[i], (double)e);
        }
    }
    free(h);
    free(got);
}

static void test_to_f32(void **state)
{
    (void)state;
    const whisper__kernels *ks[3];
    int nk = n_isas(ks);
    uint32_t seed = 1;
    for (int t = 0; t < N_TYPES; t++) {
        int64_t in = quantized(TYPES[t]) ? 160 : 77;
        size_t rb;
        void *w = make_weight(TYPES[t], in, 3, &seed, &rb);
        float *ref = decoded(TYPES[t], w, rb, in, 3);
        float got[160];
        for (int k = 0; k < nk; k++) {
            for (int o = 0; o < 3; o++) {
                ks[k]->to_f32(TYPES[t], (const uint8_t *)w + o * rb, got, in);
                if (memcmp(got, ref + o * in, (size_t)in * sizeof *got) != 0)
                    fail_msg("to_f32 %s isa %d row %d differs from whisper__dequant_row",
                             whisper__type_name(TYPES[t]), (int)ks[k]->isa, o);
            }
        }
        free(ref);
        free_weight(TYPES[t], w);
    }
}

static void test_to_f16(void **state)
{
    (void)state;
    const whisper__kernels *ks[3];
    int nk = n_isas(ks);
    uint32_t seed = 9;
    enum { N = 1000 };
    float x[N];
    uint16_t got[N];
    for (int i = 0; i < N; i++) {
        /* wide magnitudes, exact halfway values and subnormals of f16 */
        float v = rng_uniform(&seed, -1, 1) * powf(2.0f, rng_uniform(&seed, -26, 16));
        if (i % 10 == 0)
            v = whisper__f16_to_f32((uint16_t)rng_next(&seed) & 0x7bff) + 0x1p-25f;
        x[i] = v;
    }
    for (int k = 0; k < nk; k++) {
        ks[k]->to_f16(x, got, N);
        for (int i = 0; i < N; i++)
            if (got[i] != whisper__f32_to_f16(x[i]))
                fail_msg("to_f16 isa %d: %.9g -> 0x%04x, expected 0x%04x", (int)ks[k]->isa,
                         (double)x[i], got[i], whisper__f32_to_f16(x[i]));
    }
}

static void test_gemv(void **state)
{
    (void)state;
    const whisper__kernels *ks[3];
    int nk = n_isas(ks);
    uint32_t seed = 2;
    for (int t = 0; t < N_TYPES; t++) {
        int64_t ins[2] = {quantized(TYPES[t]) ? 96 : 83, quantized(TYPES[t]) ? 1088 : 1100};
        for (int ii = 0; ii < 2; ii++) {
            int64_t in = ins[ii], out = 21;
            size_t rb;
            void *w = make_weight(TYPES[t], in, out, &seed, &rb);
            float *wf = decoded(TYPES[t], w, rb, in, out);
            float *x = random_vec(WHISPER__GEMV_MAX_ROWS * in, &seed);
            double ref[WHISPER__GEMV_MAX_ROWS * 21], sc[WHISPER__GEMV_MAX_ROWS * 21];
            naive_matmul(wf, x, WHISPER__GEMV_MAX_ROWS, in, out, NULL, ref, sc);
            float y[WHISPER__GEMV_MAX_ROWS * 21];
            for (int k = 0; k < nk; k++) {
                for (int rows = 1; rows <= WHISPER__GEMV_MAX_ROWS; rows++) {
                    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++)
                        y[i] = NAN;
                    /* rows 0..2 and 3..20 in two calls, as threads would */
                    ks[k]->gemv(TYPES[t], w, rb, in, 0, 3, x, rows, y, out);
                    ks[k]->gemv(TYPES[t], w, rb, in, 3, (int)out, x, rows, y, out);
                    char what[96];
                    snprintf(what, sizeof what, "gemv %s isa %d in %lld rows %d",
                             whisper__type_name(TYPES[t]), (int)ks[k]->isa, (long long)in, rows);
                    expect_close(y, ref, sc, (size_t)(rows * out), 1e-5, what);
                }
            }
            free(x);
            free(wf);
            free_weight(TYPES[t], w);
        }
    }
}

static void test_vector_ops(void **state)
{
    (void)state;
    const whisper__kernels *ks[3];
    int nk = n_isas(ks);
    uint32_t seed = 3;
    for (int k = 0; k < nk; k++) {
        for (int64_t n = 1; n < 140; n += 7) {
            float *a = random_vec(n, &seed), *b = random_vec(n, &seed);
            double d = 0, sa = 0;
            for (int64_t i = 0; i < n; i++) {
                d += (double)a[i] * b[i];
                sa += fabs((double)a[i] * b[i]);
            }
            assert_true(fabs(ks[k]->dot(a, b, n) - d) <= 1e-6 * sa + 1e-30);
            float *y = malloc((size_t)n * sizeof *y);
            assert_non_null(y);
            memcpy(y, b, (size_t)n * sizeof *y);
            ks[k]->axpy(0.5f, a, y, n);
            for (int64_t i = 0; i < n; i++)
                assert_true(fabs(y[i] - (b[i] + 0.5 * a[i])) <= 1e-6);
            /* exp of values in [-80, 0] relative to 1 ulp-ish; softmax sums to 1 */
            for (int64_t i = 0; i < n; i++)
                y[i] = rng_uniform(&seed, -80, 0);
            memcpy(a, y, (size_t)n * sizeof *a);
            double sum = 0;
            float got = ks[k]->exp_sum(y, n, 0.0f);
            for (int64_t i = 0; i < n; i++) {
                double e = exp((double)a[i]);
                sum += e;
                if (fabs(y[i] - e) > 3e-7 * e)
                    fail_msg("exp isa %d: exp(%.9g) = %.9g, expected %.9g", (int)ks[k]->isa,
                             (double)a[i], (double)y[i], e);
            }
            assert_true(fabs(got - sum) <= 1e-6 * sum);
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i] = rng_uniform(&seed, -20, 20);
            ks[k]->softmax(y, n);
            double mx = -INFINITY, z = 0;
            for (int64_t i = 0; i < n; i++)
                mx = a[i] > mx ? a[i] : mx;
            for (int64_t i = 0; i < n; i++)
                z += exp((double)a[i] - mx);
            for (int64_t i = 0; i < n; i++)
                assert_true(fabs(y[i] - exp((double)a[i] - mx) / z) <= 1e-6);
            /* GELU, erf form, including large magnitudes */
            for (int64_t i = 0; i < n; i++)
                y[i] = a[i] = rng_uniform(&seed, -12, 12);
            ks[k]->gelu(y, n);
            for (int64_t i = 0; i < n; i++) {
                double g = 0.5 * a[i] * (1.0 + erf(a[i] / sqrt(2.0)));
                if (fabs(y[i] - g) > 1e-6 * (1.0 + fabs(g)))
                    fail_msg("gelu isa %d: gelu(%.9g) = %.9g, expected %.9g", (int)ks[k]->isa,
                             (double)a[i], (double)y[i], g);
            }
            free(a);
            free(b);
            free(y);
        }
    }
}

/* whisper__matmul of rows x against tw on 1 and 2 threads, every output
 * (first filled with NaN) within 1e-5 of the reference ref (scale sc). */
static void check_matmul(const whisper__tensor *tw, const float *x, int rows, const float *bias,
                         const double *ref, const double *sc, const char *label)
{
    size_t n = (size_t)rows * (size_t)tw->ne[1];
    float *y = malloc(n * sizeof *y);
    assert_non_null(y);
    for (int threads = 1; threads <= 2; threads++) {
        for (size_t i = 0; i < n; i++)
            y[i] = NAN;
        whisper__matmul(tw, x, rows, bias, y, threads);
        char what[128];
        snprintf(what, sizeof what, "%s threads %d", label, threads);
        expect_close(y, ref, sc, n, 1e-5, what);
    }
    free(y);
}

static void test_matmul(void **state)
{
    (void)state;
    uint32_t seed = 4;
    const int rows_list[] = {1, 3, 8, 9, 37, 600};
    for (int t = 0; t < N_TYPES; t++) {
        int64_t in = quantized(TYPES[t]) ? 96 : 100, out = 300;
        size_t rb;
        void *w = make_weight(TYPES[t], in, out, &seed, &rb);
        float *wf = decoded(TYPES[t], w, rb, in, out);
        float *bias = random_vec(out, &seed);
        whisper__tensor tw = {.name = "w", .type = TYPES[t], .n_dims = 2, .ne = {in, out, 1},
                              .data = w, .nbytes = rb * (size_t)out};
        for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++) {
            int rows = rows_list[ri];
            float *x = random_vec(rows * in, &seed);
            double *ref = malloc((size_t)(rows * out) * sizeof *ref);
            double *sc = malloc((size_t)(rows * out) * sizeof *sc);
            assert_non_null(ref);
            assert_non_null(sc);
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                naive_matmul(wf, x, rows, in, out, with_bias ? bias : NULL, ref, sc);
                char what[96];
                snprintf(what, sizeof what, "matmul %s rows %d bias %d",
                         whisper__type_name(TYPES[t]), rows, with_bias);
                check_matmul(&tw, x, rows, with_bias ? bias : NULL, ref, sc, what);
            }
            free(x);
            free(ref);
            free(sc);
        }
        free(bias);
        free(wf);
        free_weight(TYPES[t], w);
    }
}

/* Weights above matmul.c's single-thread threshold (4 MB) take the
 * fork-join row-kernel path. */
static void test_matmul_big(void **state)
{
    (void)state;
    uint32_t seed = 6;
    const int types[] = {WHISPER__F32, WHISPER__F16, WHISPER__Q8_0};
    for (int t = 0; t < 3; t++) {
        int64_t in = 2048, out = 2100;
        size_t rb;
        void *w = make_weight(types[t], in, out, &seed, &rb);
        float *wf = decoded(types[t], w, rb, in, out);
        float *bias = random_vec(out, &seed);
        whisper__tensor tw = {.name = "w", .type = types[t], .n_dims = 2, .ne = {in, out, 1},
                              .data = w, .nbytes = rb * (size_t)out};
        int rows = 5;
        float *x = random_vec(rows * in, &seed);
        double *ref = malloc((size_t)(rows * out) * sizeof *ref);
        double *sc = malloc((size_t)(rows * out) * sizeof *sc);
        assert_non_null(ref);
        assert_non_null(sc);
        naive_matmul(wf, x, rows, in, out, bias, ref, sc);
        for (int r = 1; r <= rows; r += 4) {
            char what[96];
            snprintf(what, sizeof what, "big matmul %s rows %d", whisper__type_name(types[t]), r);
            check_matmul(&tw, x, r, bias, ref, sc, what);
        }
        free(x);
        free(ref);
        free(sc);
        free(bias);
        free(wf);
        free_weight(types[t], w);
    }
}

static void test_layer_norm(void **state)
{
    (void)state;
    uint32_t seed = 5;
    int64_t rows = 40, n = 70;
    float *x = random_vec(rows * n, &seed), *g = random_vec(n, &seed), *b = random_vec(n, &seed);
    float *y = malloc((size_t)(rows * n) * sizeof *y);
    assert_non_null(y);
    for (int64_t i = 0; i < rows * n; i++)
        x[i] = x[i] * 30.0f + 100.0f; /* large mean: the two-pass variance matters */
    whisper__pool *p = NULL;
    assert_int_equal(whisper__pool_new(&p, 2), WHISPER_OK);
    whisper__layer_norm(x, rows, n, g, b, y, p);
    for (int64_t r = 0; r < rows; r++) {
        double mean = 0, var = 0;
        for (int64_t c = 0; c < n; c++)
            mean += x[r * n + c];
        mean /= (double)n;
        for (int64_t c = 0; c < n; c++)
            var += (x[r * n + c] - mean) * (x[r * n + c] - mean);
        var /= (double)n;
        for (int64_t c = 0; c < n; c++) {
            double e = (x[r * n + c] - mean) / sqrt(var + 1e-5) * g[c] + b[c];
            assert_true(fabs(y[r * n + c] - e) <= 1e-4 * (1 + fabs(e)));
        }
    }
    whisper__pool_free(p);
    free(x);
    free(g);
    free(b);
    free(y);
}

typedef struct {
    atomic_int calls[4];
} pool_probe;

static void probe_task(void *ctx, int i, int n)
{
    pool_probe *pp = ctx;
    assert_true(n == 3);
    atomic_fetch_add(&pp->calls[i], 1);
}

static void test_pool(void **state)
{
    (void)state;
    whisper__pool *p = NULL;
    assert_int_equal(whisper__pool_new(&p, 3), WHISPER_OK);
    assert_int_equal(whisper__pool_size(p), 3);
    pool_probe pp;
    for (int i = 0; i < 4; i++)
        atomic_init(&pp.calls[i], 0);
    for (int r = 0; r < 1000; r++)
        whisper__pool_run(p, probe_task, &pp);
    for (int i = 0; i < 3; i++)
        assert_int_equal(atomic_load(&pp.calls[i]), 1000);
    assert_int_equal(atomic_load(&pp.calls[3]), 0);
    whisper__pool_free(p);
    whisper__pool_free(NULL);
    assert_int_equal(whisper__pool_size(NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_all_values),
        cmocka_unit_test(test_to_f32),
        cmocka_unit_test(test_to_f16),
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_vector_ops),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_matmul_big),
        cmocka_unit_test(test_layer_norm),
        cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
