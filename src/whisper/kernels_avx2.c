/* kernels_avx2: the kernel set for CPUs with AVX2, FMA and F16C (8 floats
 * per register); the same algorithms as kernels_avx512.c (polynomial exp,
 * Abramowitz-Stegun erf for GELU, f16 converted in registers), tails done
 * one element at a time. Compiled for that target only.
 */
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "whisper/compute.h"

static float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static __m256 load_f16(const uint8_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
}

static float f16_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return whisper__f16_to_f32(h);
}

static float a2_dot(const float *a, const float *b, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void a2_axpy(float a, const float *x, float *y, int64_t n)
{
    __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

static void a2_to_f32(int type, const void *src, float *dst, int64_t n)
{
    if (type == WHISPER__F16) {
        const uint8_t *s = src;
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, load_f16(s + 2 * i));
        for (; i < n; i++)
            dst[i] = f16_at(s + 2 * i);
        return;
    }
    whisper__kernels_for(WHISPER__ISA_SCALAR)->to_f32(type, src, dst, n);
}

static void a2_to_f16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(void *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        dst[i] = whisper__f32_to_f16(src[i]);
}

/* exp as in kernels_avx512.c; 2^n built in the exponent bits (n is within
 * [-126, 127] after the clamp). */
static __m256 exp256(__m256 x)
{
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static float a2_exp_sum(float *x, int64_t n, float max)
{
    __m256 mv = _mm256_set1_ps(max), s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        _mm256_storeu_ps(x + i, e);
        s = _mm256_add_ps(s, e);
    }
    float sum = hsum8(s);
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    return sum;
}

static void a2_softmax(float *x, int64_t n)
{
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float max = _mm_cvtss_f32(m4);
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;
    float inv = 1.0f / a2_exp_sum(x, n, max);
    __m256 iv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), iv));
    for (; i < n; i++)
        x[i] *= inv;
}

static __m256 gelu256(__m256 x)
{
    __m256 absx = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 z = _mm256_mul_ps(absx, _mm256_set1_ps(0.70710678118654752f));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(z, _mm256_set1_ps(0.3275911f), one));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 pe = _mm256_mul_ps(p, exp256(_mm256_mul_ps(_mm256_sub_ps(_mm256_setzero_ps(), z), z)));
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 onep = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(2.0f), pe), pe, neg);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), onep);
}

static void a2_gelu(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, gelu256(_mm256_loadu_ps(x + i)));
    for (; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

/* f16 rows, any number of input rows: each weight vector converted once. */
static void gemv_f16(const uint8_t *w, size_t row_bytes, int64_t in, int o0, int o1,
                     const float *x, int rows, float *y, int64_t ldy)
{
    int64_t n8 = in & ~(int64_t)7;
    for (int o = o0; o < o1; o++) {
        const uint8_t *wr = w + (size_t)o * row_bytes;
        __m256 acc[WHISPER__GEMV_MAX_ROWS];
        for (int r = 0; r < rows; r++)
            acc[r] = _mm256_setzero_ps();
        for (int64_t i = 0; i < n8; i += 8) {
            __m256 wv = load_f16(wr + 2 * i);
            for (int r = 0; r < rows; r++)
                acc[r] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (int64_t)r * in + i), acc[r]);
        }
        for (int r = 0; r < rows; r++) {
            float s = hsum8(acc[r]);
            for (int64_t i = n8; i < in; i++)
                s += f16_at(wr + 2 * i) * x[(int64_t)r * in + i];
            y[(int64_t)r * ldy + o] = s;
        }
    }
}

static void a2_gemv(int type, const void *w, size_t row_bytes, int64_t in, int o0, int o1,
                    const float *x, int rows, float *y, int64_t ldy)
{
    if (type == WHISPER__F16)
        gemv_f16(w, row_bytes, in, o0, o1, x, rows, y, ldy);
    else
        whisper__gemv_generic(whisper__kernels_avx2(), type, w, row_bytes, in, o0, o1, x, rows, y,
                              ldy);
}

static const whisper__kernels avx2_kernels = {
    .isa = WHISPER__ISA_AVX2,
    .gemv = a2_gemv,
    .to_f32 = a2_to_f32,
    .to_f16 = a2_to_f16,
    .dot = a2_dot,
    .axpy = a2_axpy,
    .exp_sum = a2_exp_sum,
    .softmax = a2_softmax,
    .gelu = a2_gelu,
};

const whisper__kernels *whisper__kernels_avx2(void)
{
    return &avx2_kernels;
}

#pragma GCC pop_options
