/* frontend: the built-in engine's features — for every 10 ms of 16 kHz
 * audio a log energy (for voice activity), 19 mel-frequency cepstral
 * coefficients and the pitch (for telling voices apart: cepstra from a
 * mel filterbank blur the harmonics, and voices that share a vocal tract
 * shape often differ most in pitch). Streaming: samples go in as the
 * decoder yields them; only the last window's worth is kept.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"

#define FFT_SIZE 512
#define N_BINS (FFT_SIZE / 2 + 1)
#define N_MELS 30
#define MEL_LOW_HZ 40.0
#define MEL_HIGH_HZ 7600.0
#define PREEMPHASIS 0.97f
/* Pitch by autocorrelation (Boersma 1993: the frame's autocorrelation over
 * the window's), between 70 and 400 Hz. */
#define PITCH_FFT 1024
#define PITCH_MIN_LAG 40  /* 400 Hz */
#define PITCH_MAX_LAG 228 /* 70 Hz */
#define VOICING_THRESHOLD 0.5f

struct diarize__frontend {
    float pending[DIARIZE__WIN]; /* samples not yet consumed by a full frame */
    size_t n_pending;
    float window[DIARIZE__WIN];  /* Hamming */
    /* Triangular mel filters as [first bin, last bin) with weights. */
    int mel_lo[N_MELS], mel_hi[N_MELS];
    float mel_w[N_MELS][N_BINS];
    float dct[DIARIZE__DIM][N_MELS];
    float hann[DIARIZE__WIN];
    float hann_acf[PITCH_MAX_LAG + 2]; /* the window's own autocorrelation */
    diarize__fft_plan *spectrum;  /* FFT_SIZE */
    diarize__fft_plan *pitch;     /* PITCH_FFT */
};

static double hz_to_mel(double hz)
{
    return 2595.0 * log10(1.0 + hz / 700.0);
}

static double mel_to_hz(double mel)
{
    return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

static void build_mel_filters(diarize__frontend *fe)
{
    double lo = hz_to_mel(MEL_LOW_HZ), hi = hz_to_mel(MEL_HIGH_HZ);
    double edges[N_MELS + 2];
    for (int i = 0; i < N_MELS + 2; i++)
        edges[i] = mel_to_hz(lo + (hi - lo) * i / (N_MELS + 1)) * FFT_SIZE / DIARIZE__RATE;
    for (int m = 0; m < N_MELS; m++) {
        double left = edges[m], centre = edges[m + 1], right = edges[m + 2];
        fe->mel_lo[m] = (int)ceil(left);
        fe->mel_hi[m] = (int)floor(right) + 1;
        if (fe->mel_hi[m] > N_BINS)
            fe->mel_hi[m] = N_BINS;
        for (int b = fe->mel_lo[m]; b < fe->mel_hi[m]; b++) {
            double w = b <= centre ? (b - left) / (centre - left) : (right - b) / (right - centre);
            fe->mel_w[m][b] = w > 0 ? (float)w : 0.0f;
        }
    }
}

int diarize__frontend_new(diarize__frontend **out)
{
    diarize__frontend *fe = calloc(1, sizeof *fe);
    *out = NULL;
    if (!fe)
        return -1;
    if (diarize__fft_plan_new(&fe->spectrum, FFT_SIZE) != 0 ||
        diarize__fft_plan_new(&fe->pitch, PITCH_FFT) != 0) {
        diarize__frontend_free(fe);
        return -1;
    }
    for (int i = 0; i < DIARIZE__WIN; i++)
        fe->window[i] = (float)(0.54 - 0.46 * cos(2.0 * M_PI * i / (DIARIZE__WIN - 1)));
    build_mel_filters(fe);
    for (int i = 0; i < DIARIZE__WIN; i++)
        fe->hann[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (i + 0.5) / DIARIZE__WIN));
    for (int lag = 0; lag <= PITCH_MAX_LAG + 1; lag++) {
        double acc = 0.0;
        for (int i = 0; i + lag < DIARIZE__WIN; i++)
            acc += (double)fe->hann[i] * fe->hann[i + lag];
        fe->hann_acf[lag] = (float)acc;
    }
    for (int k = 0; k < DIARIZE__DIM; k++)
        for (int m = 0; m < N_MELS; m++)
            fe->dct[k][m] = (float)(sqrt(2.0 / N_MELS) * cos(M_PI * (k + 1) * (m + 0.5) / N_MELS));
    *out = fe;
    return 0;
}

void diarize__frontend_free(diarize__frontend *fe)
{
    if (!fe)
        return;
    diarize__fft_plan_free(fe->spectrum);
    diarize__fft_plan_free(fe->pitch);
    free(fe);
}

void diarize__features_free(diarize__features *f)
{
    free(f->mfcc);
    free(f->energy);
    free(f->pitch);
    memset(f, 0, sizeof *f);
}

static int features_reserve(diarize__features *f)
{
    if (f->n < f->cap)
        return 0;
    size_t cap = f->cap ? f->cap * 2 : 4096;
    float *m = realloc(f->mfcc, cap * DIARIZE__DIM * sizeof *m);
    if (!m)
        return -1;
    f->mfcc = m;
    float *e = realloc(f->energy, cap * sizeof *e);
    if (!e)
        return -1;
    f->energy = e;
    float *p = realloc(f->pitch, cap * sizeof *p);
    if (!p)
        return -1;
    f->pitch = p;
    f->cap = cap;
    return 0;
}

/* log F0 of a frame (mean already removed into s), or 0 when unvoiced. */
static float frame_pitch(diarize__frontend *fe, const float *s)
{
    enum { n = PITCH_FFT, bins = PITCH_FFT / 2 + 1 };
    float x[PITCH_FFT], re[bins], im[bins];
    for (int i = 0; i < DIARIZE__WIN; i++)
        x[i] = s[i] * fe->hann[i];
    memset(x + DIARIZE__WIN, 0, (size_t)(n - DIARIZE__WIN) * sizeof *x);
    diarize__rfft(fe->pitch, x, re, im);
    /* The power spectrum is real and even, so its transform — the
     * autocorrelation, times n — is real: one more real FFT gives it. */
    for (int k = 0; k < bins; k++) {
        float pw = re[k] * re[k] + im[k] * im[k];
        x[k] = pw;
        if (k > 0 && k < n / 2)
            x[n - k] = pw;
    }
    diarize__rfft(fe->pitch, x, re, im);
    float r0 = re[0];
    if (r0 <= 1e-12f)
        return 0.0f;
    float acf[PITCH_MAX_LAG + 2];
    float peak = 0.0f;
    for (int lag = PITCH_MIN_LAG - 1; lag <= PITCH_MAX_LAG + 1; lag++) {
        acf[lag] = re[lag] / r0 * fe->hann_acf[0] / fe->hann_acf[lag];
        if (lag >= PITCH_MIN_LAG && lag <= PITCH_MAX_LAG && acf[lag] > peak)
            peak = acf[lag];
    }
    /* The shortest period whose peak nearly matches the best one: a
     * periodic signal also correlates at two and three periods, and taking
     * those would halve the pitch now and then. */
    int best = 0;
    float best_r = 0.0f;
    for (int lag = PITCH_MIN_LAG; lag <= PITCH_MAX_LAG; lag++) {
        if (acf[lag] >= 0.85f * peak && acf[lag] >= acf[lag - 1] && acf[lag] >= acf[lag + 1]) {
            best = lag;
            best_r = acf[lag];
            break;
        }
    }
    if (best == 0 || best_r < VOICING_THRESHOLD)
        return 0.0f;
    /* parabolic interpolation of the peak */
    float a = acf[best - 1], b = acf[best], c = acf[best + 1];
    float den = a - 2.0f * b + c;
    float shift = den < 0.0f ? 0.5f * (a - c) / den : 0.0f;
    if (shift > 0.5f || shift < -0.5f)
        shift = 0.0f;
    return logf((float)DIARIZE__RATE / ((float)best + shift));
}

/* One frame of DIARIZE__WIN samples -> energy, cepstra and pitch. */
static void compute_frame(diarize__frontend *fe, const float *x, float *energy, float *cep,
                          float *pitch)
{
    float frame[FFT_SIZE], re[N_BINS], im[N_BINS], centred[DIARIZE__WIN];
    double e = 0.0, mean = 0.0;
    for (int i = 0; i < DIARIZE__WIN; i++)
        mean += x[i];
    mean /= DIARIZE__WIN;
    float prev = (float)(x[0] - mean);
    for (int i = 0; i < DIARIZE__WIN; i++) {
        float s = (float)(x[i] - mean);
        centred[i] = s;
        e += (double)s * s;
        frame[i] = (s - PREEMPHASIS * prev) * fe->window[i];
        prev = s;
    }
    memset(frame + DIARIZE__WIN, 0, (FFT_SIZE - DIARIZE__WIN) * sizeof *frame);
    *energy = (float)(10.0 * log10(e / DIARIZE__WIN + 1e-10));
    *pitch = frame_pitch(fe, centred);
    diarize__rfft(fe->spectrum, frame, re, im);
    float power[N_BINS];
    for (int b = 0; b < N_BINS; b++)
        power[b] = re[b] * re[b] + im[b] * im[b];
    float logmel[N_MELS];
    for (int m = 0; m < N_MELS; m++) {
        double acc = 0.0;
        for (int b = fe->mel_lo[m]; b < fe->mel_hi[m]; b++)
            acc += fe->mel_w[m][b] * power[b];
        logmel[m] = (float)log(acc + 1e-8);
    }
    for (int k = 0; k < DIARIZE__DIM; k++) {
        float acc = 0.0f;
        for (int m = 0; m < N_MELS; m++)
            acc += fe->dct[k][m] * logmel[m];
        cep[k] = acc;
    }
}

int diarize__frontend_push(diarize__frontend *fe, const float *x, size_t n,
                           diarize__features *feats)
{
    size_t used = 0;
    while (used < n) {
        size_t take = DIARIZE__WIN - fe->n_pending;
        if (take > n - used)
            take = n - used;
        memcpy(fe->pending + fe->n_pending, x + used, take * sizeof *x);
        fe->n_pending += take;
        used += take;
        if (fe->n_pending < DIARIZE__WIN)
            break;
        if (features_reserve(feats) != 0)
            return -1;
        compute_frame(fe, fe->pending, &feats->energy[feats->n],
                      &feats->mfcc[feats->n * DIARIZE__DIM], &feats->pitch[feats->n]);
        feats->n++;
        /* keep the overlap: the next frame starts one hop later */
        memmove(fe->pending, fe->pending + DIARIZE__HOP,
                (DIARIZE__WIN - DIARIZE__HOP) * sizeof *fe->pending);
        fe->n_pending = DIARIZE__WIN - DIARIZE__HOP;
    }
    return 0;
}
