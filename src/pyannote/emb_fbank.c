/* emb_fbank: the Kaldi filterbank features WeSpeaker's ResNet takes, as
 * pyannote computes them (torchaudio.compliance.kaldi.fbank with 80 bins,
 * 25 ms Hamming frames every 10 ms, no dither, no energy, snip_edges, then
 * the mean over time removed from each bin).
 *
 * Per frame: the samples scaled to 16-bit range, the frame's mean removed,
 * pre-emphasis 0.97 (the first sample pre-emphasised against itself), the
 * symmetric Hamming window, zero padding to 512, power spectrum, triangular
 * mel filters, log floored at FLT_EPSILON. Computed in double: the cost is a
 * few milliseconds of CPU per 10 s chunk, spread over the embedder's
 * threads since the network itself takes only a few tens. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "pyannote/internal.h"

#define PREEMPH 0.97
#define LOW_HZ 20.0
#define HALF (PYANNOTE__EMB_FFT / 2)

static double mel_of(double hz)
{
    return 1127.0 * log1p(hz / 700.0);
}

static void mel_filters(pyannote__emb_fbank_tables *t)
{
    double lo = mel_of(LOW_HZ), hi = mel_of(PYANNOTE_SAMPLE_RATE / 2.0);
    double step = (hi - lo) / (PYANNOTE__EMB_MELS + 1);
    for (int m = 0; m < PYANNOTE__EMB_MELS; m++) {
        double left = lo + m * step, centre = left + step, right = centre + step;
        t->mel_first[m] = -1;
        t->mel_len[m] = 0;
        /* The Nyquist bin gets no weight: Kaldi's banks span bins 0..255. */
        for (int k = 0; k < HALF; k++) {
            double f = mel_of((double)k * PYANNOTE_SAMPLE_RATE / PYANNOTE__EMB_FFT);
            double up = (f - left) / (centre - left), down = (right - f) / (right - centre);
            double wgt = up < down ? up : down;
            if (wgt <= 0.0)
                continue;
            if (t->mel_first[m] < 0)
                t->mel_first[m] = k;
            t->mel_w[m][k - t->mel_first[m]] = wgt;
            t->mel_len[m] = k - t->mel_first[m] + 1;
        }
        if (t->mel_first[m] < 0)
            t->mel_first[m] = 0;
    }
}

static unsigned bit_reverse9(unsigned i)
{
    unsigned r = 0;
    for (int b = 0; b < 9; b++)
        r |= ((i >> b) & 1u) << (8 - b);
    return r;
}

void pyannote__emb_fbank_init(pyannote__emb_fbank_tables *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < PYANNOTE__EMB_FRAME; i++)
        t->window[i] = 0.54 - 0.46 * cos(2.0 * M_PI * i / (PYANNOTE__EMB_FRAME - 1));
    for (int k = 0; k < HALF; k++) {
        t->tw_re[k] = cos(-2.0 * M_PI * k / PYANNOTE__EMB_FFT);
        t->tw_im[k] = sin(-2.0 * M_PI * k / PYANNOTE__EMB_FFT);
    }
    /* per frame, computing the permutation took a third of the fbank */
    for (unsigned i = 0; i < PYANNOTE__EMB_FFT; i++)
        t->bitrev[i] = (uint16_t)bit_reverse9(i);
    mel_filters(t);
}

size_t pyannote__emb_fbank_frames(size_t n_samples)
{
    if (n_samples < PYANNOTE__EMB_FRAME)
        return 0;
    return 1 + (n_samples - PYANNOTE__EMB_FRAME) / PYANNOTE__EMB_SHIFT;
}

/* In-place radix-2 decimation-in-time FFT of 512 points (re, im). */
static void fft512(const pyannote__emb_fbank_tables *t, double *re, double *im)
{
    for (unsigned i = 0; i < PYANNOTE__EMB_FFT; i++) {
        unsigned j = t->bitrev[i];
        if (j > i) {
            double a = re[i], b = im[i];
            re[i] = re[j], im[i] = im[j];
            re[j] = a, im[j] = b;
        }
    }
    for (int len = 2; len <= PYANNOTE__EMB_FFT; len *= 2) {
        int half = len / 2, stride = PYANNOTE__EMB_FFT / len;
        for (int s = 0; s < PYANNOTE__EMB_FFT; s += len) {
            for (int j = 0; j < half; j++) {
                double wr = t->tw_re[j * stride], wi = t->tw_im[j * stride];
                double *ar = &re[s + j], *ai = &im[s + j];
                double *br = &re[s + j + half], *bi = &im[s + j + half];
                double xr = *br * wr - *bi * wi, xi = *br * wi + *bi * wr;
                *br = *ar - xr, *bi = *ai - xi;
                *ar += xr, *ai += xi;
            }
        }
    }
}

/* Log mel energies of the frame starting at x; out[m * stride]. */
static void fbank_frame(const pyannote__emb_fbank_tables *t, const float *x, float *out,
                        size_t stride)
{
    double re[PYANNOTE__EMB_FFT], im[PYANNOTE__EMB_FFT], power[HALF];
    double mean = 0.0;
    for (int i = 0; i < PYANNOTE__EMB_FRAME; i++) {
        re[i] = (double)x[i] * 32768.0;
        mean += re[i];
    }
    mean /= PYANNOTE__EMB_FRAME;
    for (int i = 0; i < PYANNOTE__EMB_FRAME; i++)
        re[i] -= mean;
    for (int i = PYANNOTE__EMB_FRAME - 1; i > 0; i--)
        re[i] -= PREEMPH * re[i - 1];
    re[0] -= PREEMPH * re[0];
    for (int i = 0; i < PYANNOTE__EMB_FRAME; i++)
        re[i] *= t->window[i];
    memset(re + PYANNOTE__EMB_FRAME, 0, (PYANNOTE__EMB_FFT - PYANNOTE__EMB_FRAME) * sizeof *re);
    memset(im, 0, sizeof im);
    fft512(t, re, im);
    for (int k = 0; k < HALF; k++)
        power[k] = re[k] * re[k] + im[k] * im[k];
    for (int m = 0; m < PYANNOTE__EMB_MELS; m++) {
        const double *p = power + t->mel_first[m];
        double e = 0.0;
        for (int j = 0; j < t->mel_len[m]; j++)
            e += t->mel_w[m][j] * p[j];
        out[(size_t)m * stride] = (float)log(e > FLT_EPSILON ? e : FLT_EPSILON);
    }
}

/* Frames are independent, and so are the bins' means: threads take
 * UNIT-frame runs, then bins, from two counters. Each value is computed
 * the same way (each bin's sum in frame order) whoever computes it. */
#define UNIT 32

typedef struct {
    const pyannote__emb_fbank_tables *t;
    const float *samples;
    float *out;
    size_t frames;
    atomic_size_t next_frame; /* first frame of the next unit */
    atomic_int next_bin;
} fbank_job;

static void *frames_worker(void *p)
{
    fbank_job *j = p;
    for (;;) {
        size_t f0 = atomic_fetch_add(&j->next_frame, UNIT);
        if (f0 >= j->frames)
            return NULL;
        size_t f1 = f0 + UNIT < j->frames ? f0 + UNIT : j->frames;
        for (size_t f = f0; f < f1; f++)
            fbank_frame(j->t, j->samples + f * PYANNOTE__EMB_SHIFT, j->out + f, j->frames);
    }
}

static void *means_worker(void *p)
{
    fbank_job *j = p;
    for (;;) {
        int m = atomic_fetch_add(&j->next_bin, 1);
        if (m >= PYANNOTE__EMB_MELS)
            return NULL;
        float *row = j->out + (size_t)m * j->frames;
        double sum = 0.0;
        for (size_t f = 0; f < j->frames; f++)
            sum += row[f];
        float mean = (float)(sum / (double)j->frames);
        for (size_t f = 0; f < j->frames; f++)
            row[f] -= mean;
    }
}

void pyannote__emb_fbank(const pyannote__emb_fbank_tables *t, const float *samples,
                         size_t n_samples, float *out, pyannote__emb_pool *pool, int n_threads)
{
    fbank_job j = {.t = t, .samples = samples, .out = out};
    j.frames = pyannote__emb_fbank_frames(n_samples);
    atomic_init(&j.next_frame, 0);
    atomic_init(&j.next_bin, 0);
    size_t units = (j.frames + UNIT - 1) / UNIT;
    int nt = n_threads < 1 ? 1 : n_threads;
    pyannote__emb_parallel(pool, frames_worker, &j, (size_t)nt > units ? (int)units : nt);
    pyannote__emb_parallel(pool, means_worker, &j, nt);
}
