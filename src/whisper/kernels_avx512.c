/* kernels_avx512: the kernel set for CPUs with AVX-512F/VL (16 floats per
 * register): f16 weight rows converted in registers (vcvtph2ps) and fused
 * into the dot products, a polynomial exp accurate to about one ulp, and
 * GELU through the Abramowitz-Stegun erf (absolute error below 1.5e-7);
 * quantized blocks decoded in registers (nibbles widened, q5's fifth bits
 * set through a mask) and fused into the row products.
 * Compiled for that target only; whisper__kernels_for checks the CPU.
 */
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx2,fma,f16c")

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "whisper/compute.h"

static float hsum(__m512 v)
{
    return _mm512_reduce_add_ps(v);
}

static __m512 load_f16(const uint8_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

static float a512_dot(const float *a, const float *b, int64_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return hsum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static void a512_axpy(float a, const float *x, float *y, int64_t n)
{
    __m512 av = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += a * x[i];
}

/* One f16 value through the F16C instruction (the scalar function is a
 * call into another file, too slow per block); also the tails of f16 rows. */
static inline float f16_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/* Decodes one quantized block into values 0..15 (*lo) and 16..31 (*hi):
 * the low nibbles (or bytes) of qs are the first half, the high nibbles the
 * second; q5 adds bit j of qh as the fifth bit of value j. */
static inline __attribute__((always_inline)) void q_block(int type, const uint8_t *blk,
                                                          __m512 *lo, __m512 *hi)
{
    __m512 d = _mm512_set1_ps(f16_at(blk));
    if (type == WHISPER__Q8_0) {
        *lo = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                   _mm_loadu_si128((const __m128i *)(const void *)(blk + 2)))));
        *hi = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                   _mm_loadu_si128((const __m128i *)(const void *)(blk + 18)))));
        return;
    }
    bool one = type == WHISPER__Q4_1 || type == WHISPER__Q5_1;
    bool five = type == WHISPER__Q5_0 || type == WHISPER__Q5_1;
    const uint8_t *qs = blk + 2 + (one ? 2 : 0) + (five ? 4 : 0);
    __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)qs);
    __m128i nib = _mm_set1_epi8(0x0f);
    __m512i a = _mm512_cvtepu8_epi32(_mm_and_si128(bytes, nib));
    __m512i b = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(bytes, 4), nib));
    int off = 0;
    if (five) {
        uint32_t qh;
        memcpy(&qh, blk + 2 + (one ? 2 : 0), 4);
        __m512i sixteen = _mm512_set1_epi32(16);
        a = _mm512_mask_or_epi32(a, (__mmask16)(qh & 0xffff), a, sixteen);
        b = _mm512_mask_or_epi32(b, (__mmask16)(qh >> 16), b, sixteen);
        off = one ? 0 : 16;
    } else {
        off = one ? 0 : 8;
    }
    __m512i offv = _mm512_set1_epi32(off);
    __m512 fa = _mm512_cvtepi32_ps(_mm512_sub_epi32(a, offv));
    __m512 fb = _mm512_cvtepi32_ps(_mm512_sub_epi32(b, offv));
    if (one) {
        __m512 m = _mm512_set1_ps(f16_at(blk + 2));
        *lo = _mm512_fmadd_ps(fa, d, m);
        *hi = _mm512_fmadd_ps(fb, d, m);
    } else {
        *lo = _mm512_mul_ps(fa, d);
        *hi = _mm512_mul_ps(fb, d);
    }
}

/* Quantized rows against up to eight input rows, each block decoded once in
 * registers. */
static void gemv_q(int type, const uint8_t *w, size_t row_bytes, int64_t in, int o0, int o1,
                   const float *x, int rows, float *y, int64_t ldy)
{
    size_t bb = whisper__block_bytes(type);
    int64_t nblk = in / 32;
    for (int o = o0; o < o1; o++) {
        const uint8_t *wr = w + (size_t)o * row_bytes;
        /* separate sums of the two halves: two independent FMA chains */
        __m512 acc[WHISPER__GEMV_MAX_ROWS], acc2[WHISPER__GEMV_MAX_ROWS];
        for (int r = 0; r < rows; r++)
            acc[r] = acc2[r] = _mm512_setzero_ps();
        for (int64_t b = 0; b < nblk; b++) {
            __m512 lo, hi;
            q_block(type, wr + (size_t)b * bb, &lo, &hi);
            for (int r = 0; r < rows; r++) {
                const float *xr = x + (int64_t)r * in + 32 * b;
                acc[r] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(xr), acc[r]);
                acc2[r] = _mm512_fmadd_ps(hi, _mm512_loadu_ps(xr + 16), acc2[r]);
            }
        }
        for (int r = 0; r < rows; r++)
            y[(int64_t)r * ldy + o] = hsum(_mm512_add_ps(acc[r], acc2[r]));
    }
}

static void a512_to_f32(int type, const void *src, float *dst, int64_t n)
{
    if (type == WHISPER__F16) {
        const uint8_t *s = src;
        int64_t i = 0;
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(dst + i, load_f16(s + 2 * i));
        for (; i < n; i++)
            dst[i] = f16_at(s + 2 * i);
        return;
    }
    if (type != WHISPER__F32 && whisper__block_bytes(type) > 0) {
        size_t bb = whisper__block_bytes(type);
        const uint8_t *s = src;
        for (int64_t i = 0; i + 32 <= n; i += 32, s += bb) {
            __m512 lo, hi;
            q_block(type, s, &lo, &hi);
            _mm512_storeu_ps(dst + i, lo);
            _mm512_storeu_ps(dst + i + 16, hi);
        }
        return;
    }
    whisper__kernels_for(WHISPER__ISA_SCALAR)->to_f32(type, src, dst, n);
}

static void a512_to_f16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(void *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        dst[i] = whisper__f32_to_f16(src[i]);
}

/* exp(x) for x in [-87, 88]: 2^n * p(r) with r = x - n ln 2 in
 * [-ln2/2, ln2/2] and p the degree-6 Taylor polynomial (error < 1.2e-7). */
static __m512 exp512(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.3f)), _mm512_set1_ps(-87.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static float a512_exp_sum(float *x, int64_t n, float max)
{
    __m512 mv = _mm512_set1_ps(max), s = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv));
        _mm512_storeu_ps(x + i, e);
        s = _mm512_add_ps(s, e);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mv));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(x + i, m, e);
        s = _mm512_add_ps(s, e);
    }
    return hsum(s);
}

static void a512_softmax(float *x, int64_t n)
{
    __m512 mv = _mm512_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        mv = _mm512_max_ps(mv, _mm512_loadu_ps(x + i));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        mv = _mm512_max_ps(mv, _mm512_mask_loadu_ps(mv, m, x + i));
    }
    float inv = 1.0f / a512_exp_sum(x, n, _mm512_reduce_max_ps(mv));
    __m512 iv = _mm512_set1_ps(inv);
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), iv));
    for (; i < n; i++)
        x[i] *= inv;
}

/* 1 + erf(x / sqrt 2) without cancellation for negative x: with z = |x| /
 * sqrt 2 and pe = P(t) exp(-z^2) (Abramowitz-Stegun 7.1.26), erf(z) = 1 - pe. */
static __m512 gelu512(__m512 x)
{
    __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678118654752f));
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), one));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    __m512 pe = _mm512_mul_ps(p, exp512(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), z), z)));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 onep = _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(2.0f), pe), pe);
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), onep);
}

static void a512_gelu(float *x, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, gelu512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, gelu512(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* f16 rows against one input row: four weight rows at a time so four
 * independent FMA chains hide the latency. */
static void gemv_f16_1(const uint8_t *w, size_t row_bytes, int64_t in, int o0, int o1,
                       const float *x, float *y)
{
    int64_t n16 = in & ~(int64_t)15;
    int o = o0;
    for (; o + 4 <= o1; o += 4) {
        const uint8_t *w0 = w + (size_t)o * row_bytes, *w1 = w0 + row_bytes;
        const uint8_t *w2 = w1 + row_bytes, *w3 = w2 + row_bytes;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        for (int64_t i = 0; i < n16; i += 16) {
            __m512 xv = _mm512_loadu_ps(x + i);
            a0 = _mm512_fmadd_ps(load_f16(w0 + 2 * i), xv, a0);
            a1 = _mm512_fmadd_ps(load_f16(w1 + 2 * i), xv, a1);
            a2 = _mm512_fmadd_ps(load_f16(w2 + 2 * i), xv, a2);
            a3 = _mm512_fmadd_ps(load_f16(w3 + 2 * i), xv, a3);
        }
        float s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
        const uint8_t *wr[4] = {w0, w1, w2, w3};
        for (int j = 0; j < 4; j++) {
            for (int64_t i = n16; i < in; i++)
                s[j] += f16_at(wr[j] + 2 * i) * x[i];
            y[o + j] = s[j];
        }
    }
    for (; o < o1; o++) {
        const uint8_t *w0 = w + (size_t)o * row_bytes;
        __m512 a0 = _mm512_setzero_ps();
        for (int64_t i = 0; i < n16; i += 16)
            a0 = _mm512_fmadd_ps(load_f16(w0 + 2 * i), _mm512_loadu_ps(x + i), a0);
        float s = hsum(a0);
        for (int64_t i = n16; i < in; i++)
            s += f16_at(w0 + 2 * i) * x[i];
        y[o] = s;
    }
}

/* f16 rows against several input rows: each weight vector is converted once
 * and used for every input row. */
static void gemv_f16_n(const uint8_t *w, size_t row_bytes, int64_t in, int o0, int o1,
                       const float *x, int rows, float *y, int64_t ldy)
{
    int64_t n16 = in & ~(int64_t)15;
    for (int o = o0; o < o1; o++) {
        const uint8_t *wr = w + (size_t)o * row_bytes;
        __m512 acc[WHISPER__GEMV_MAX_ROWS];
        for (int r = 0; r < rows; r++)
            acc[r] = _mm512_setzero_ps();
        for (int64_t i = 0; i < n16; i += 16) {
            __m512 wv = load_f16(wr + 2 * i);
            for (int r = 0; r < rows; r++)
                acc[r] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + (int64_t)r * in + i), acc[r]);
        }
        for (int r = 0; r < rows; r++) {
            float s = hsum(acc[r]);
            for (int64_t i = n16; i < in; i++)
                s += f16_at(wr + 2 * i) * x[(int64_t)r * in + i];
            y[(int64_t)r * ldy + o] = s;
        }
    }
}

static void a512_gemv(int type, const void *w, size_t row_bytes, int64_t in, int o0, int o1,
                      const float *x, int rows, float *y, int64_t ldy)
{
    if (type == WHISPER__F16 && rows == 1)
        gemv_f16_1(w, row_bytes, in, o0, o1, x, y);
    else if (type == WHISPER__F16)
        gemv_f16_n(w, row_bytes, in, o0, o1, x, rows, y, ldy);
    else if (type != WHISPER__F32 && whisper__block_bytes(type) > 0 && in % 32 == 0)
        gemv_q(type, w, row_bytes, in, o0, o1, x, rows, y, ldy);
    else
        whisper__gemv_generic(whisper__kernels_avx512(), type, w, row_bytes, in, o0, o1, x, rows,
                              y, ldy);
}

static const whisper__kernels avx512_kernels = {
    .isa = WHISPER__ISA_AVX512,
    .gemv = a512_gemv,
    .to_f32 = a512_to_f32,
    .to_f16 = a512_to_f16,
    .dot = a512_dot,
    .axpy = a512_axpy,
    .exp_sum = a512_exp_sum,
    .softmax = a512_softmax,
    .gelu = a512_gelu,
};

const whisper__kernels *whisper__kernels_avx512(void)
{
    return &avx512_kernels;
}

#pragma GCC pop_options
