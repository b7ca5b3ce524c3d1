/* fft: the real-input discrete Fourier transform the engine's features
 * need (spectra for cepstra and autocorrelations for pitch), as a radix-2
 * complex FFT of half the length plus the usual split step. Twiddle
 * factors and the bit-reversal order are computed once per size (a plan):
 * the transform runs ~200 times per second of audio, so per-call
 * trigonometry would dominate the engine's time.
 */
#include <math.h>
#include <stdlib.h>

#include "diarize/builtin_internal.h"

struct diarize__fft_plan {
    size_t n, m;        /* real length, complex length m = n / 2 */
    size_t *bitrev;     /* m */
    float *wr, *wi;     /* m / 2: exp(-2 pi i k / m) */
    float *sr, *si;     /* m: exp(-2 pi i k / n), for the split step */
    float *zr, *zi;     /* m: work space */
};

int diarize__fft_plan_new(diarize__fft_plan **out, size_t n)
{
    diarize__fft_plan *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p || n < 4 || (n & (n - 1)) != 0) {
        free(p);
        return -1;
    }
    p->n = n;
    p->m = n / 2;
    p->bitrev = malloc(p->m * sizeof *p->bitrev);
    p->wr = malloc(p->m / 2 * sizeof *p->wr);
    p->wi = malloc(p->m / 2 * sizeof *p->wi);
    p->sr = malloc(p->m * sizeof *p->sr);
    p->si = malloc(p->m * sizeof *p->si);
    p->zr = malloc(p->m * sizeof *p->zr);
    p->zi = malloc(p->m * sizeof *p->zi);
    if (!p->bitrev || !p->wr || !p->wi || !p->sr || !p->si || !p->zr || !p->zi) {
        diarize__fft_plan_free(p);
        return -1;
    }
    int bits = 0;
    while (((size_t)1 << bits) < p->m)
        bits++;
    for (size_t i = 0; i < p->m; i++) {
        size_t r = 0;
        for (int b = 0; b < bits; b++)
            if (i & ((size_t)1 << b))
                r |= (size_t)1 << (bits - 1 - b);
        p->bitrev[i] = r;
    }
    for (size_t k = 0; k < p->m / 2; k++) {
        p->wr[k] = (float)cos(-2.0 * M_PI * (double)k / (double)p->m);
        p->wi[k] = (float)sin(-2.0 * M_PI * (double)k / (double)p->m);
    }
    for (size_t k = 0; k < p->m; k++) {
        p->sr[k] = (float)cos(-2.0 * M_PI * (double)k / (double)n);
        p->si[k] = (float)sin(-2.0 * M_PI * (double)k / (double)n);
    }
    *out = p;
    return 0;
}

void diarize__fft_plan_free(diarize__fft_plan *p)
{
    if (!p)
        return;
    free(p->bitrev);
    free(p->wr);
    free(p->wi);
    free(p->sr);
    free(p->si);
    free(p->zr);
    free(p->zi);
    free(p);
}

/* In-place complex FFT of the plan's work arrays (already bit-reversed). */
static void complex_fft(const diarize__fft_plan *p, float *re, float *im)
{
    size_t m = p->m;
    for (size_t len = 2; len <= m; len <<= 1) {
        size_t half = len / 2, step = m / len;
        for (size_t i = 0; i < m; i += len) {
            for (size_t k = 0; k < half; k++) {
                float cr = p->wr[k * step], ci = p->wi[k * step];
                size_t a = i + k, b = a + half;
                float tr = re[b] * cr - im[b] * ci;
                float ti = re[b] * ci + im[b] * cr;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
    }
}

void diarize__rfft(diarize__fft_plan *p, const float *x, float *re, float *im)
{
    size_t m = p->m;
    float *zr = p->zr, *zi = p->zi;
    for (size_t j = 0; j < m; j++) {
        size_t r = p->bitrev[j];
        zr[r] = x[2 * j];
        zi[r] = x[2 * j + 1];
    }
    complex_fft(p, zr, zi);
    /* X[k] = (Z[k] + conj Z[m-k]) / 2 - i/2 e^{-2 pi i k / n} (Z[k] - conj Z[m-k]) */
    for (size_t k = 0; k <= m; k++) {
        size_t a = k % m, b = (m - k) % m;
        float er = 0.5f * (zr[a] + zr[b]), ei = 0.5f * (zi[a] - zi[b]);
        float orr = 0.5f * (zi[a] + zi[b]), oi = -0.5f * (zr[a] - zr[b]);
        float wr = k < m ? p->sr[k] : -1.0f, wi = k < m ? p->si[k] : 0.0f;
        re[k] = er + wr * orr - wi * oi;
        im[k] = ei + wr * oi + wi * orr;
    }
}
