/* sincnet: PyanNet's front end on one window. The waveform is
 * instance-normalised, filtered by the parametric sinc filterbank (stride
 * 10, 251 taps), rectified (abs), max-pooled by 3, normalised and passed
 * through a leaky ReLU; then twice a 5-tap convolution, pooling, norm and
 * leaky ReLU.
 *
 * The filterbank (asteroid's ParamSincFB as pyannote configures it) has
 * n/2 learned bands (low_hz_, band_hz_) and gives n outputs: the n/2 even
 * ("cos") band-pass filters then the n/2 odd ("sin") ones. Even filters are
 * symmetric about the centre tap and odd ones antisymmetric, so each output
 * frame folds its 251 samples into 126 sums and 125 differences and the
 * filterbank becomes two half-size matrix products: half the
 * multiply-adds of a plain im2col. The filters are built in double: the
 * sines of arguments up to ~400 rad lose ~1e-5 in float32, and the instance
 * norms magnify that tenfold.
 *
 * The 5-tap convolutions need no im2col: with channel-major rows, tap k's
 * input is the previous stage shifted by k columns, so the output is five
 * accumulated products of a (out x in) tap matrix by a strided view.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

#define SINC_RATE 16000.0
#define SINC_MIN_LOW_HZ 50.0
#define SINC_MIN_BAND_HZ 50.0
#define SINC_FOLD_COS (PYANNOTE__SINC_HALF + 1)
#define SINC_FOLD_SIN PYANNOTE__SINC_HALF
/* Pooled outputs per block of the sinc stage (3x as many filter frames):
 * the block's folded frames and outputs stay in L2. */
#define SINC_BLOCK_POOLED 192
#define SINC_BLOCK_FRAMES (PYANNOTE__POOL * SINC_BLOCK_POOLED)

void pyannote__sinc_filters(const float *low_hz, const float *band_hz, int n_half,
                            const float *window, const float *n_grid, float *sinc_cos,
                            float *sinc_sin)
{
    for (int f = 0; f < n_half; f++) {
        double low = SINC_MIN_LOW_HZ + fabs((double)low_hz[f]);
        double high = low + SINC_MIN_BAND_HZ + fabs((double)band_hz[f]);
        high = high < SINC_MIN_LOW_HZ ? SINC_MIN_LOW_HZ : high;
        high = high > SINC_RATE / 2 ? SINC_RATE / 2 : high;
        double band = high - low;
        float *fc = sinc_cos + (size_t)f * SINC_FOLD_COS;
        float *fs = sinc_sin + (size_t)f * SINC_FOLD_SIN;
        fc[0] = 1.0f; /* the centre tap, 2 band / (2 band) */
        /* Tap j (left of the centre) sits at distance HALF - j. */
        for (int j = 0; j < PYANNOTE__SINC_HALF; j++) {
            double n = n_grid ? (double)n_grid[j]
                              : 2.0 * M_PI * (double)(j - PYANNOTE__SINC_HALF) / SINC_RATE;
            double win = window ? (double)window[j]
                                : 0.54 - 0.46 * cos(2.0 * M_PI * j / (PYANNOTE__SINC_KERNEL - 1));
            double norm = win / (n / 2.0) / (2.0 * band);
            int k = PYANNOTE__SINC_HALF - j;
            fc[k] = (float)((sin(high * n) - sin(low * n)) * norm);
            fs[k - 1] = (float)((cos(low * n) - cos(high * n)) * norm);
        }
    }
}

int pyannote__sinc_scratch_init(pyannote__sinc_scratch *s, const pyannote__seg_weights *w,
                                size_t n_samples)
{
    memset(s, 0, sizeof *s);
    s->n_samples = n_samples;
    size_t t1 = (n_samples - PYANNOTE__SINC_KERNEL) / PYANNOTE__SINC_STRIDE + 1;
    size_t p1 = t1 / PYANNOTE__POOL, t2 = p1 - (PYANNOTE__CONV_KERNEL - 1);
    size_t p2 = t2 / PYANNOTE__POOL, t3 = p2 - (PYANNOTE__CONV_KERNEL - 1);
    size_t p3 = t3 / PYANNOTE__POOL;
    size_t ny = (size_t)w->ch[1] * p2 * PYANNOTE__POOL;
    size_t ny3 = (size_t)w->ch[2] * p3 * PYANNOTE__POOL;
    s->x = malloc(n_samples * sizeof(float));
    s->xr = malloc(n_samples * sizeof(float));
    s->fold = malloc((size_t)SINC_BLOCK_FRAMES * (SINC_FOLD_COS + SINC_FOLD_SIN) * sizeof(float));
    s->y1 = malloc((size_t)w->n_sinc * SINC_BLOCK_FRAMES * sizeof(float));
    s->a[0] = malloc((size_t)w->ch[0] * p1 * sizeof(float));
    s->a[1] = malloc((size_t)w->ch[1] * p2 * sizeof(float));
    s->a[2] = malloc((size_t)w->ch[2] * p3 * sizeof(float));
    s->y = malloc((ny > ny3 ? ny : ny3) * sizeof(float));
    if (!s->x || !s->xr || !s->fold || !s->y1 || !s->a[0] || !s->a[1] || !s->a[2] || !s->y) {
        pyannote__sinc_scratch_free(s);
        return PYANNOTE_ERR_NOMEM;
    }
    return PYANNOTE_OK;
}

void pyannote__sinc_scratch_free(pyannote__sinc_scratch *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->xr);
    free(s->fold);
    free(s->y1);
    for (int i = 0; i < 3; i++)
        free(s->a[i]);
    free(s->y);
    memset(s, 0, sizeof *s);
}

/* wav_norm1d: one channel, statistics in double. */
static void wav_norm(const pyannote__seg_weights *w, const float *in, size_t n, float *x, float *xr)
{
    double mean, scale;
    pyannote__seg_stats(in, n, w->wav_norm_w, &mean, &scale);
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)((in[i] - mean) * scale + w->wav_norm_b);
        xr[n - 1 - i] = x[i];
    }
}

/* Frames t0 .. t0 + nf - 1 folded: row r of cs holds x[c] then
 * x[c - k] + x[c + k] (k = 1..HALF), row r of sn x[c - k] - x[c + k], c the
 * frame's centre sample. x[c - k] is read forwards from the reversed copy. */
static void fold_generic(const float *x, const float *xr, size_t n, size_t t0, size_t nf, float *cs,
                         float *sn)
{
    for (size_t r = 0; r < nf; r++) {
        size_t c = (t0 + r) * PYANNOTE__SINC_STRIDE + PYANNOTE__SINC_HALF;
        const float *right = x + c + 1, *left = xr + (n - c);
        float *a = cs + r * SINC_FOLD_COS, *d = sn + r * SINC_FOLD_SIN;
        a[0] = x[c];
        for (int k = 0; k < PYANNOTE__SINC_HALF; k++) {
            a[k + 1] = left[k] + right[k];
            d[k] = left[k] - right[k];
        }
    }
}

#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
#pragma GCC push_options
#pragma GCC target("avx512f")
#include <immintrin.h>

/* The same sums and differences, 16 at a time (GCC -O2 leaves the loop
 * above scalar: its 125 iterations need a tail). */
static void fold_avx512(const float *x, const float *xr, size_t n, size_t t0, size_t nf, float *cs,
                        float *sn)
{
    const __mmask16 tail = (__mmask16)((1u << (PYANNOTE__SINC_HALF % 16)) - 1);
    for (size_t r = 0; r < nf; r++) {
        size_t c = (t0 + r) * PYANNOTE__SINC_STRIDE + PYANNOTE__SINC_HALF;
        const float *right = x + c + 1, *left = xr + (n - c);
        float *a = cs + r * SINC_FOLD_COS, *d = sn + r * SINC_FOLD_SIN;
        a[0] = x[c];
        int k = 0;
        for (; k + 16 <= PYANNOTE__SINC_HALF; k += 16) {
            __m512 l = _mm512_loadu_ps(left + k), rv = _mm512_loadu_ps(right + k);
            _mm512_storeu_ps(a + k + 1, _mm512_add_ps(l, rv));
            _mm512_storeu_ps(d + k, _mm512_sub_ps(l, rv));
        }
        __m512 l = _mm512_maskz_loadu_ps(tail, left + k),
               rv = _mm512_maskz_loadu_ps(tail, right + k);
        _mm512_mask_storeu_ps(a + k + 1, tail, _mm512_add_ps(l, rv));
        _mm512_mask_storeu_ps(d + k, tail, _mm512_sub_ps(l, rv));
    }
}
#pragma GCC pop_options
#endif

static void fold_frames(const float *x, const float *xr, size_t n, size_t t0, size_t nf, float *cs,
                        float *sn)
{
#if defined(__x86_64__) && !defined(CESAR_PYANNOTE_PORTABLE)
    if (__builtin_cpu_supports("avx512f")) {
        fold_avx512(x, xr, n, t0, nf, cs, sn);
        return;
    }
#endif
    fold_generic(x, xr, n, t0, nf, cs, sn);
}

/* abs then max-pool by 3 of a rows x (3 np) block into out (row stride ld). */
static void abs_pool(const float *y, int rows, size_t np, float *out, size_t ld)
{
    for (int c = 0; c < rows; c++) {
        const float *row = y + (size_t)c * np * PYANNOTE__POOL;
        for (size_t q = 0; q < np; q++) {
            float a = fabsf(row[3 * q]), b = fabsf(row[3 * q + 1]), d = fabsf(row[3 * q + 2]);
            float m = a > b ? a : b;
            out[(size_t)c * ld + q] = m > d ? m : d;
        }
    }
}

static void sinc_stage(const pyannote__seg_weights *w, pyannote__sinc_scratch *s, size_t p1)
{
    int half = w->n_sinc / 2;
    float *cs = s->fold, *sn = s->fold + (size_t)SINC_BLOCK_FRAMES * SINC_FOLD_COS;
    for (size_t p0 = 0; p0 < p1; p0 += SINC_BLOCK_POOLED) {
        size_t np = p1 - p0 < SINC_BLOCK_POOLED ? p1 - p0 : SINC_BLOCK_POOLED;
        int nf = (int)(np * PYANNOTE__POOL);
        fold_frames(s->x, s->xr, s->n_samples, p0 * PYANNOTE__POOL, (size_t)nf, cs, sn);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, half, nf, SINC_FOLD_COS, 1.0f,
                    w->sinc_cos, SINC_FOLD_COS, cs, SINC_FOLD_COS, 0.0f, s->y1, nf);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, half, nf, SINC_FOLD_SIN, 1.0f,
                    w->sinc_sin, SINC_FOLD_SIN, sn, SINC_FOLD_SIN, 0.0f, s->y1 + (size_t)half * nf,
                    nf);
        abs_pool(s->y1, w->n_sinc, np, s->a[0] + p0, p1);
    }
}

/* Valid 5-tap convolution of in (ch_in x n_in, channel-major) for the
 * first 3 * np outputs, pooled by 3 into out (ch_out x np). */
static void conv_stage(const float *wt, const float *bias, int ch_out, int ch_in, const float *in,
                       size_t n_in, size_t np, float *y, float *out)
{
    int n = (int)(np * PYANNOTE__POOL);
    for (int o = 0; o < ch_out; o++)
        for (int t = 0; t < n; t++)
            y[(size_t)o * n + t] = bias[o];
    for (int k = 0; k < PYANNOTE__CONV_KERNEL; k++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ch_out, n, ch_in, 1.0f,
                    wt + (size_t)k * ch_out * ch_in, ch_in, in + k, (int)n_in, 1.0f, y, n);
    for (int o = 0; o < ch_out; o++) {
        const float *row = y + (size_t)o * n;
        for (size_t q = 0; q < np; q++) {
            float a = row[3 * q], b = row[3 * q + 1], d = row[3 * q + 2];
            float m = a > b ? a : b;
            out[(size_t)o * np + q] = m > d ? m : d;
        }
    }
}

void pyannote__sincnet(const pyannote__seg_weights *w, pyannote__sinc_scratch *s,
                       const float *samples, float *out)
{
    size_t n = s->n_samples;
    size_t t1 = (n - PYANNOTE__SINC_KERNEL) / PYANNOTE__SINC_STRIDE + 1;
    size_t p1 = t1 / PYANNOTE__POOL, p2 = (p1 - (PYANNOTE__CONV_KERNEL - 1)) / PYANNOTE__POOL;
    size_t p3 = (p2 - (PYANNOTE__CONV_KERNEL - 1)) / PYANNOTE__POOL;
    wav_norm(w, samples, n, s->x, s->xr);
    sinc_stage(w, s, p1);
    pyannote__seg_norm_lrelu(s->a[0], w->ch[0], p1, w->norm_w[0], w->norm_b[0]);
    conv_stage(w->conv_w[0], w->conv_b[0], w->ch[1], w->ch[0], s->a[0], p1, p2, s->y, s->a[1]);
    pyannote__seg_norm_lrelu(s->a[1], w->ch[1], p2, w->norm_w[1], w->norm_b[1]);
    conv_stage(w->conv_w[1], w->conv_b[1], w->ch[2], w->ch[1], s->a[1], p2, p3, s->y, s->a[2]);
    pyannote__seg_norm_lrelu(s->a[2], w->ch[2], p3, w->norm_w[2], w->norm_b[2]);
    for (size_t t = 0; t < p3; t++)
        for (int c = 0; c < w->ch[2]; c++)
            out[t * w->ch[2] + (size_t)c] = s->a[2][(size_t)c * p3 + t];
}
