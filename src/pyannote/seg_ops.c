/* seg_ops: the small per-channel steps of the segmentation network that sit
 * between its matrix products: max-pooling, instance norm + leaky ReLU, and
 * the frame-count formula of the conv/pool stack. Statistics are summed in
 * double so a 10 s window's 5,000-sample rows lose nothing to float32
 * accumulation (the reference is float64).
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "pyannote/internal.h"

#define SEG_EPS 1e-5    /* torch.nn.InstanceNorm1d's default */
#define SEG_SLOPE 0.01f /* F.leaky_relu's default */

/* Output length of a valid (unpadded) convolution or pooling. */
static size_t valid_len(size_t n, size_t kernel, size_t stride)
{
    return n < kernel ? 0 : (n - kernel) / stride + 1;
}

size_t pyannote__seg_frames(size_t n_samples)
{
    size_t t = valid_len(n_samples, PYANNOTE__SINC_KERNEL, PYANNOTE__SINC_STRIDE);
    t = valid_len(t, PYANNOTE__POOL, PYANNOTE__POOL);
    t = valid_len(t, PYANNOTE__CONV_KERNEL, 1);
    t = valid_len(t, PYANNOTE__POOL, PYANNOTE__POOL);
    t = valid_len(t, PYANNOTE__CONV_KERNEL, 1);
    return valid_len(t, PYANNOTE__POOL, PYANNOTE__POOL);
}

/* One channel's mean and the scale w / sqrt(var + eps). */
static void stats_generic(const float *row, size_t n, double w, double *mean, double *scale)
{
    double sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += row[i];
    *mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = row[i] - *mean;
        sq += d * d;
    }
    *scale = w / sqrt(sq / (double)n + SEG_EPS);
}

static void apply_generic(float *row, size_t n, double mean, double scale, double b)
{
    for (size_t i = 0; i < n; i++) {
        float v = (float)((row[i] - mean) * scale + b);
        row[i] = v >= 0.0f ? v : SEG_SLOPE * v;
    }
}

#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#include <immintrin.h>

/* The same in double lanes, eight floats widened at a time. */
static void stats_avx512(const float *row, size_t n, double w, double *mean, double *scale)
{
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm256_loadu_ps(row + i)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_loadu_ps(row + i + 8)));
    }
    double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    for (; i < n; i++)
        sum += row[i];
    double m = sum / (double)n;
    __m512d mv = _mm512_set1_pd(m);
    s0 = s1 = _mm512_setzero_pd();
    for (i = 0; i + 16 <= n; i += 16) {
        __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(row + i)), mv);
        __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(row + i + 8)), mv);
        s0 = _mm512_fmadd_pd(d0, d0, s0);
        s1 = _mm512_fmadd_pd(d1, d1, s1);
    }
    double sq = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    for (; i < n; i++)
        sq += (row[i] - m) * (row[i] - m);
    *mean = m;
    *scale = w / sqrt(sq / (double)n + SEG_EPS);
}

static void apply_avx512(float *row, size_t n, double mean, double scale, double b)
{
    __m512d sv = _mm512_set1_pd(scale), ov = _mm512_set1_pd(b - mean * scale);
    __m256 slope = _mm256_set1_ps(SEG_SLOPE);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v =
            _mm512_cvtpd_ps(_mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(row + i)), sv, ov));
        _mm256_storeu_ps(row + i, _mm256_max_ps(v, _mm256_mul_ps(v, slope)));
    }
    for (; i < n; i++) {
        float v = (float)(row[i] * scale + (b - mean * scale));
        row[i] = v >= 0.0f ? v : SEG_SLOPE * v;
    }
}
#pragma GCC pop_options
#endif

#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
static bool have_avx512(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}
#endif

void pyannote__seg_stats(const float *x, size_t n, double w, double *mean, double *scale)
{
#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
    if (have_avx512()) {
        stats_avx512(x, n, w, mean, scale);
        return;
    }
#endif
    stats_generic(x, n, w, mean, scale);
}

void pyannote__seg_norm_lrelu(float *x, int ch, size_t n, const float *w, const float *b)
{
#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
    bool fast = have_avx512();
#endif
    for (int c = 0; c < ch; c++) {
        float *row = x + (size_t)c * n;
        double mean, scale;
#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
        if (fast) {
            stats_avx512(row, n, w[c], &mean, &scale);
            apply_avx512(row, n, mean, scale, b[c]);
            continue;
        }
#endif
        stats_generic(row, n, w[c], &mean, &scale);
        apply_generic(row, n, mean, scale, b[c]);
    }
}
