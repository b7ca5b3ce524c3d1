/* test_pyannote_conv_amx: the AMX convolutions of the embedding trunk
 * (emb_conv_amx.c, emb_bf16.c) one layer at a time against a float64
 * direct convolution, on random weights and inputs: stride-1 3x3, stride-2
 * 3x3 (phase-split input) and 1x1 stride-2 shortcuts, and the float32
 * stem, over widths and heights that hit every edge of the tiling (1, odd,
 * 16, 17, 33, ...), with residual and ReLU, in BF16X3 (bound 1e-4 relative,
 * metric max |c - ref| / max |ref|). Also: the bfloat16 output reconstructs
 * the float32 one (hi + lo), every value of its planes outside the
 * positions is zero (the next layer's padding), and 1 and 3 threads give
 * bit-identical results. The input layout is built here from the
 * documentation in internal.h, so the test also pins that layout down.
 * Skipped where AMX is unavailable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"

#define CB 32
#define BOUND 1e-4

typedef struct {
    int cin, cout, k, stride, h, w;
    bool res;
} conv_case;

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static float *random_floats(size_t n, uint32_t *seed, float scale)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * ((float)rng_next(seed) / (float)(1u << 23) - 1.0f);
    return v;
}

/* bfloat16 round to nearest even (finite values only here). */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Column of position i in a row of v's layout. */
static int column(const pyannote__emb_bf16 *v, int i)
{
    if (!v->phase)
        return i + 1;
    return i % 2 ? (i + 1) / 2 : v->seg + i / 2;
}

static size_t value_at(const pyannote__emb_bf16 *v, int c, int r, int i)
{
    return (size_t)(c / CB) * v->blk + ((size_t)(r + 1) * (size_t)v->wp + column(v, i)) * CB +
           (size_t)(c % CB);
}

static size_t blocked_at(int c, int r, int i, int h, int w)
{
    return (((size_t)(c / CB) * (size_t)h + (size_t)r) * (size_t)w + (size_t)i) * CB +
           (size_t)(c % CB);
}

/* x (c x h x w planes) into v's layout, hi and lo, zeros elsewhere. */
static void fill_bf16(const float *x, const pyannote__emb_bf16 *v, size_t values)
{
    memset(v->hi, 0, values * sizeof *v->hi);
    memset(v->lo, 0, values * sizeof *v->lo);
    for (int c = 0; c < v->c; c++)
        for (int r = 0; r < v->h; r++)
            for (int i = 0; i < v->w; i++) {
                float f = x[((size_t)c * v->h + r) * v->w + i];
                size_t at = value_at(v, c, r, i);
                v->hi[at] = to_bf16(f);
                v->lo[at] = to_bf16(f - from_bf16(v->hi[at]));
            }
}

/* The reference: relu(conv(x) + bias + res) in float64, planes. */
static double *reference(const conv_case *t, const float *w, const float *bias, const float *x,
                         const float *res_planes, int ho, int wo)
{
    double *ref = malloc((size_t)t->cout * ho * wo * sizeof *ref);
    assert_non_null(ref);
    int pad = t->k / 2;
    for (int o = 0; o < t->cout; o++)
        for (int r = 0; r < ho; r++)
            for (int i = 0; i < wo; i++) {
                double acc = bias[o];
                for (int c = 0; c < t->cin; c++)
                    for (int kh = 0; kh < t->k; kh++)
                        for (int kw = 0; kw < t->k; kw++) {
                            int y = r * t->stride + kh - pad, xx = i * t->stride + kw - pad;
                            if (y < 0 || y >= t->h || xx < 0 || xx >= t->w)
                                continue;
                            acc += (double)w[(((size_t)o * t->cin + c) * t->k + kh) * t->k + kw] *
                                   x[((size_t)c * t->h + y) * t->w + xx];
                        }
                size_t at = ((size_t)o * ho + r) * wo + i;
                if (res_planes)
                    acc += res_planes[at];
                ref[at] = acc > 0 ? acc : 0;
            }
    return ref;
}

typedef struct {
    float *y;      /* blocked float32 output */
    uint16_t *out; /* the output layout, hi then lo */
    size_t out_values;
} conv_result;

/* Runs case t with n_threads (of pool, NULL: threads per call); compares
 * with the reference and checks the output layout. Returns the relative
 * error; the caller frees r. */
static double run_case(const conv_case *t, int n_threads, pyannote__emb_pool *pool,
                       conv_result *r)
{
    uint32_t seed = 1234u + (uint32_t)(t->cin * 7 + t->w * 13 + t->h * 31 + t->stride);
    int kk = t->cin * t->k * t->k;
    float *w = random_floats((size_t)t->cout * kk, &seed, 1.0f / sqrtf((float)kk));
    float *bias = random_floats((size_t)t->cout, &seed, 0.5f);
    float *x = random_floats((size_t)t->cin * t->h * t->w, &seed, 1.0f);
    int ho = pyannote__emb_conv_out(t->h, t->k, t->stride);
    int wo = pyannote__emb_conv_out(t->w, t->k, t->stride);
    size_t n_out = (size_t)t->cout * ho * wo;
    float *res_planes = t->res ? random_floats(n_out, &seed, 1.0f) : NULL;
    float *res = NULL;
    r->y = calloc(n_out, sizeof *r->y);
    assert_non_null(r->y);
    if (t->res) {
        res = malloc(n_out * sizeof *res);
        assert_non_null(res);
        for (int o = 0; o < t->cout; o++)
            for (int y = 0; y < ho; y++)
                for (int i = 0; i < wo; i++)
                    res[blocked_at(o, y, i, ho, wo)] = res_planes[((size_t)o * ho + y) * wo + i];
    }

    char err[256] = "";
    pyannote__emb_conv c = {
        .cin = t->cin, .cout = t->cout, .k = t->k, .stride = t->stride, .bias = bias};
    assert_int_equal(
        pyannote__matrix_new(&c.w, w, t->cout, kk, PYANNOTE__GEMM_BF16X3, err, sizeof err),
        PYANNOTE_OK);
    assert_int_equal(pyannote__emb_conv_amx_prepare(&c, w, err, sizeof err), PYANNOTE_OK);
    assert_non_null(c.amx);

    /* the next layer reads the output phase-split every other case (the
     * stem's output always feeds a stride-1 layer) */
    bool out_phase = t->cin > 1 && (t->w + t->h) % 2 == 1;
    r->out_values = pyannote__emb_bf16_values(t->cout, ho, wo);
    r->out = malloc(2 * r->out_values * sizeof *r->out);
    assert_non_null(r->out);
    for (size_t i = 0; i < 2 * r->out_values; i++)
        r->out[i] = 0x7fc0; /* NaN: whatever the layout does not write stays visible */
    pyannote__emb_bf16 out;
    pyannote__emb_bf16_init(&out, r->out, r->out + r->out_values, t->cout, ho, wo, out_phase);

    int rc;
    if (t->cin == 1) {
        rc = pyannote__emb_stem_amx(&c, x, t->h, t->w, &out, r->y, pool, n_threads, err,
                                    sizeof err);
    } else {
        size_t in_values = pyannote__emb_bf16_values(t->cin, t->h, t->w);
        uint16_t *in_mem = malloc(2 * in_values * sizeof *in_mem);
        assert_non_null(in_mem);
        pyannote__emb_bf16 in;
        pyannote__emb_bf16_init(&in, in_mem, in_mem + in_values, t->cin, t->h, t->w,
                                t->stride == 2);
        fill_bf16(x, &in, in_values);
        if (res)
            memcpy(r->y, res, n_out * sizeof *res); /* y over res, as the trunk runs it */
        rc = pyannote__emb_conv_amx_run(&c, &in, res ? r->y : NULL, true, r->y, &out, pool,
                                        n_threads, err, sizeof err);
        free(in_mem);
    }
    if (rc != PYANNOTE_OK)
        fail_msg("conv %d -> %d k %d s %d on %d x %d: %s", t->cin, t->cout, t->k, t->stride, t->h,
                 t->w, err);

    double *ref = reference(t, w, bias, x, res_planes, ho, wo);
    double maxref = 0, maxd = 0, maxsplit = 0;
    /* a copy whose positions get cleared, so that only the border remains */
    uint16_t *border = malloc(2 * r->out_values * sizeof *border);
    assert_non_null(border);
    memcpy(border, r->out, 2 * r->out_values * sizeof *border);
    for (int o = 0; o < t->cout; o++)
        for (int y = 0; y < ho; y++)
            for (int i = 0; i < wo; i++) {
                double want = ref[((size_t)o * ho + y) * wo + i];
                float got = r->y[blocked_at(o, y, i, ho, wo)];
                maxref = fmax(maxref, fabs(want));
                maxd = fmax(maxd, fabs(got - want));
                size_t at = value_at(&out, o, y, i);
                double back = (double)from_bf16(out.hi[at]) + from_bf16(out.lo[at]);
                maxsplit = fmax(maxsplit, fabs(back - got) / (fabs(got) + 1e-30));
                border[at] = border[r->out_values + at] = 0;
            }
    /* hi + lo keeps about 16 significant bits */
    assert_true(maxsplit < 1.0 / 32768);
    size_t used = (size_t)(t->cout / CB) * out.blk; /* each of hi and lo */
    for (size_t i = 0; i < used; i++)
        if (border[i] != 0 || border[r->out_values + i] != 0)
            fail_msg("output value %zu outside the positions is %#x / %#x, not zero", i, border[i],
                     border[r->out_values + i]);
    free(border);
    pyannote__matrix_free(c.w);
    pyannote__emb_conv_amx_free(c.amx);
    free(w);
    free(bias);
    free(x);
    free(res_planes);
    free(res);
    free(ref);
    return maxref > 0 ? maxd / maxref : maxd;
}

static const conv_case CASES[] = {
    {32, 32, 3, 1, 5, 1, true},   /* one position */
    {32, 32, 3, 1, 4, 16, true},  /* exactly one position block */
    {32, 64, 3, 1, 3, 17, false}, /* a lone second block */
    {64, 32, 3, 1, 6, 33, true},  /* two channel blocks in, odd blocks out */
    {32, 64, 3, 2, 7, 35, false}, /* stride 2, odd sizes */
    {64, 64, 3, 2, 8, 64, false}, /* stride 2, even sizes */
    {32, 64, 1, 2, 7, 35, false}, /* 1x1 stride-2 shortcut */
    {64, 128, 1, 2, 4, 2, false}, {1, 32, 3, 1, 6, 37, false}, /* the stem */
    {1, 64, 3, 1, 1, 1, false},
};

static bool amx_here(void)
{
    if (pyannote__gemm_resolve(PYANNOTE__GEMM_BF16X3) == PYANNOTE__GEMM_BF16X3)
        return true;
    printf("no AMX here: skipped\n");
    return false;
}

static void test_layers_match_reference(void **state)
{
    (void)state;
    if (!amx_here())
        return;
    double worst = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        conv_result r = {0};
        double e = run_case(&CASES[i], 2, NULL, &r);
        printf("conv %3d -> %3d k %d s %d on %d x %2d: rel err %.3g\n", CASES[i].cin, CASES[i].cout,
               CASES[i].k, CASES[i].stride, CASES[i].h, CASES[i].w, e);
        worst = fmax(worst, e);
        free(r.y);
        free(r.out);
    }
    assert_true(worst < BOUND);
}

static void test_threads_identical(void **state)
{
    (void)state;
    if (!amx_here())
        return;
    static const conv_case cases[] = {
        {64, 64, 3, 1, 9, 40, true}, {32, 64, 3, 2, 9, 41, false}, {1, 32, 3, 1, 9, 40, false}};
    /* three threads of one pool, reused from case to case as the trunk
     * reuses it from convolution to convolution */
    pyannote__emb_pool *pool = pyannote__emb_pool_new();
    assert_non_null(pool);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *t = &cases[i];
        conv_result one = {0}, three = {0};
        run_case(t, 1, NULL, &one);
        run_case(t, 3, pool, &three);
        int ho = pyannote__emb_conv_out(t->h, t->k, t->stride);
        int wo = pyannote__emb_conv_out(t->w, t->k, t->stride);
        assert_memory_equal(one.y, three.y, (size_t)t->cout * ho * wo * sizeof *one.y);
        assert_memory_equal(one.out, three.out, 2 * one.out_values * sizeof *one.out);
        free(one.y);
        free(one.out);
        free(three.y);
        free(three.out);
    }
    pyannote__emb_pool_free(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layers_match_reference),
        cmocka_unit_test(test_threads_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
