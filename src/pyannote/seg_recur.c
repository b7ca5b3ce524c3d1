/* seg_recur: one time step of the LSTM for a batch of sequences (the
 * windows of a segmentation call), the segmentation network's hot loop:
 * 589 steps x 2 directions x 4 layers per window, each a (batch x 128) by
 * (128 x 512) product followed by the gate nonlinearities.
 *
 * Invariant: every output value is summed in the same order (acc = 0, then
 * k = 0 .. H-1; then projection + bias + acc) whatever the batch size
 * and the sequence's place in it, so results do not depend on how windows
 * are grouped or on the thread count. A product through OpenBLAS would not
 * promise that (its small-size and gemv paths sum differently).
 *
 * With AVX-512 (checked at run time) the product runs in registers, eight
 * sequences x 32 gates at a time, and sigmoid/tanh use a vector exp
 * (Cody-Waite reduction, degree-7 polynomial, ~1 ulp); otherwise plain C
 * with libm. Defining CESAR_PYANNOTE_PORTABLE at build time keeps only the
 * plain C paths of the segmentation network (to test them on any CPU).
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "pyannote/internal.h"

#define RECUR_ROWS 8 /* sequences per register block (16 accumulators) */

static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static void cell_generic(int hidden, const float *g, float *h, float *c)
{
    for (int u = 0; u < hidden; u++) {
        float i = sigmoidf(g[u]), f = sigmoidf(g[hidden + u]);
        float gg = tanhf(g[2 * hidden + u]), o = sigmoidf(g[3 * hidden + u]);
        c[u] = f * c[u] + i * gg;
        h[u] = o * tanhf(c[u]);
    }
}

static void step_generic(const float *whh_p, const float *bias, int hidden, int nb, float *gates,
                         size_t ldg, const float *h_in, size_t ldh_in, float *h_out, size_t ldh_out,
                         float *c)
{
    int n4 = 4 * hidden;
    for (int b = 0; b < nb; b++) {
        float *g = gates + (size_t)b * ldg;
        for (int j = 0; j < n4; j++) {
            float acc = 0.0f;
            const float *panel =
                whh_p + (size_t)(j / PYANNOTE__LSTM_PANEL) * hidden * PYANNOTE__LSTM_PANEL +
                j % PYANNOTE__LSTM_PANEL;
            for (int k = 0; h_in && k < hidden; k++)
                acc += h_in[(size_t)b * ldh_in + k] * panel[(size_t)k * PYANNOTE__LSTM_PANEL];
            g[j] = (g[j] + bias[j]) + acc;
        }
    }
    for (int b = 0; b < nb; b++)
        cell_generic(hidden, gates + (size_t)b * ldg, h_out + (size_t)b * ldh_out,
                     c + (size_t)b * hidden);
}

#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#include <immintrin.h>

static inline __m512 exp512(__m512 x)
{
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 1 / d for d >= 1: the 14-bit estimate refined by one Newton step (about
 * 1 ulp), several times cheaper than vdivps, which would otherwise cost a
 * quarter of the step. */
static inline __m512 recip512(__m512 d)
{
    __m512 r = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
}

static inline __m512 sigmoid512(__m512 x)
{
    __m512 one = _mm512_set1_ps(1.0f);
    return recip512(_mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

/* tanh x = 1 - 2 / (e^2x + 1): absolute error ~1e-7 near 0, enough here
 * (the values feed products bounded by 1). */
static inline __m512 tanh512(__m512 x)
{
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = exp512(_mm512_add_ps(x, x));
    return _mm512_fnmadd_ps(_mm512_set1_ps(2.0f), recip512(_mm512_add_ps(e, one)), one);
}

static void cell_avx512(int hidden, const float *g, float *h, float *c)
{
    for (int u = 0; u < hidden; u += 16) {
        __m512 i = sigmoid512(_mm512_loadu_ps(g + u));
        __m512 f = sigmoid512(_mm512_loadu_ps(g + hidden + u));
        __m512 gg = tanh512(_mm512_loadu_ps(g + 2 * hidden + u));
        __m512 o = sigmoid512(_mm512_loadu_ps(g + 3 * hidden + u));
        __m512 cv = _mm512_fmadd_ps(f, _mm512_loadu_ps(c + u), _mm512_mul_ps(i, gg));
        _mm512_storeu_ps(c + u, cv);
        _mm512_storeu_ps(h + u, _mm512_mul_ps(o, tanh512(cv)));
    }
}

/* gates[b][j0 .. j0+32) = (gates + bias) + sum_k h[b][k] whh_p[k][j0 ..],
 * for rows sequences (a compile-time count once inlined, so acc stays in
 * registers). */
static inline __attribute__((always_inline)) void
block_avx512(const float *whh_p, const float *bias, int hidden, int j0, int rows, float *gates,
             size_t ldg, const float *h, size_t ldh)
{
    __m512 acc[RECUR_ROWS][2];
    const float *panel =
        whh_p + (size_t)(j0 / PYANNOTE__LSTM_PANEL) * hidden * PYANNOTE__LSTM_PANEL;
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; h && k < hidden; k++) {
        __m512 w0 = _mm512_loadu_ps(panel + (size_t)k * PYANNOTE__LSTM_PANEL);
        __m512 w1 = _mm512_loadu_ps(panel + (size_t)k * PYANNOTE__LSTM_PANEL + 16);
#pragma GCC unroll 8
        for (int r = 0; r < rows; r++) {
            __m512 hv = _mm512_set1_ps(h[(size_t)r * ldh + k]);
            acc[r][0] = _mm512_fmadd_ps(hv, w0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(hv, w1, acc[r][1]);
        }
    }
    __m512 b0 = _mm512_loadu_ps(bias + j0), b1 = _mm512_loadu_ps(bias + j0 + 16);
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++) {
        float *g = gates + (size_t)r * ldg + j0;
        _mm512_storeu_ps(g, _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(g), b0), acc[r][0]));
        _mm512_storeu_ps(g + 16,
                         _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(g + 16), b1), acc[r][1]));
    }
}

static void step_avx512(const float *whh_p, const float *bias, int hidden, int nb, float *gates,
                        size_t ldg, const float *h_in, size_t ldh_in, float *h_out, size_t ldh_out,
                        float *c)
{
    for (int b0 = 0; b0 < nb; b0 += RECUR_ROWS) {
        int rows = nb - b0 < RECUR_ROWS ? nb - b0 : RECUR_ROWS;
        float *g = gates + (size_t)b0 * ldg;
        const float *hb = h_in ? h_in + (size_t)b0 * ldh_in : NULL;
        for (int j0 = 0; j0 < 4 * hidden; j0 += 32) {
            switch (rows) {
            case 8:
                block_avx512(whh_p, bias, hidden, j0, 8, g, ldg, hb, ldh_in);
                break;
            case 7:
                block_avx512(whh_p, bias, hidden, j0, 7, g, ldg, hb, ldh_in);
                break;
            case 6:
                block_avx512(whh_p, bias, hidden, j0, 6, g, ldg, hb, ldh_in);
                break;
            case 5:
                block_avx512(whh_p, bias, hidden, j0, 5, g, ldg, hb, ldh_in);
                break;
            case 4:
                block_avx512(whh_p, bias, hidden, j0, 4, g, ldg, hb, ldh_in);
                break;
            case 3:
                block_avx512(whh_p, bias, hidden, j0, 3, g, ldg, hb, ldh_in);
                break;
            case 2:
                block_avx512(whh_p, bias, hidden, j0, 2, g, ldg, hb, ldh_in);
                break;
            default:
                block_avx512(whh_p, bias, hidden, j0, 1, g, ldg, hb, ldh_in);
                break;
            }
        }
    }
    for (int b = 0; b < nb; b++)
        cell_avx512(hidden, gates + (size_t)b * ldg, h_out + (size_t)b * ldh_out,
                    c + (size_t)b * hidden);
}
#pragma GCC pop_options

static bool have_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}
#endif

void pyannote__lstm_step(const float *whh_p, const float *bias, int hidden, int nb, float *gates,
                         size_t ldg, const float *h_in, size_t ldh_in, float *h_out, size_t ldh_out,
                         float *c)
{
#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
    if (hidden % 16 == 0 && have_avx512()) {
        step_avx512(whh_p, bias, hidden, nb, gates, ldg, h_in, ldh_in, h_out, ldh_out, c);
        return;
    }
#endif
    step_generic(whh_p, bias, hidden, nb, gates, ldg, h_in, ldh_in, h_out, ldh_out, c);
}
