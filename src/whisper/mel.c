/* mel: Whisper's log-mel spectrogram (periodic Hann window of 400, hop 160,
 * power of DFT bins 0..200, the file's mel filter bank, log10 clamped to
 * max - 8, (x + 4) / 4).
 *
 * The 400-point real DFT is done as matrix products on OpenBLAS, quartered
 * by symmetry. A real signal gives, with a[n] = x[n] + x[400 - n] and
 * b[n] = x[n] - x[400 - n], Re X[k] = sum a[n] cos(2 pi k n / 400) over
 * n = 0..200 and Im X[k] = -sum b[n] sin(2 pi k n / 400) over n = 1..199.
 * And since cos(2 pi (200 - k) n / 400) = (-1)^n cos(2 pi k n / 400) (sin
 * likewise up to sign), splitting each sum into even and odd n gives bins
 * k and 200 - k from the same two partial sums (E + O and E - O): four
 * products of about 100 x 101 cover bins 0..200.
 * Frames go in chunks of MEL_CHUNK through per-thread buffers; the twiddles
 * come from one table of 400 cosines indexed by k n mod 400, so they are
 * exact to float rounding.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/compute.h"

#define MEL_CHUNK 128
#define MEL_BINS (WHISPER_N_FFT / 2 + 1) /* 201 */
#define MEL_HALF (WHISPER_N_FFT / 2)     /* 200 */
#define MEL_Q 101                        /* bins 0..100 computed directly */
/* Per-thread work floats: 4 inputs and 4 partial sums of MEL_CHUNK x MEL_Q,
 * the power spectra MEL_CHUNK x MEL_BINS. */
#define MEL_WORK (8 * MEL_CHUNK * MEL_Q + MEL_CHUNK * MEL_BINS)
/* The four twiddle matrices (even/odd n, cos/sin), MEL_Q rows x MEL_Q each. */
#define MEL_TWIDDLES (4 * MEL_Q * MEL_Q)

typedef struct {
    const whisper_model *m;
    const float *samples;
    int64_t n_samples;
    bool at_start;
    int n_frames;
    const float *window;  /* 400 */
    const float *tw;      /* cos even n, cos odd n, sin even n, sin odd n */
    float *work;          /* per thread: MEL_WORK */
    float *thread_max;    /* per thread */
    float *out;
} mel_job;

static float mel_sample(const mel_job *j, int64_t idx)
{
    if (idx < 0) {
        if (!j->at_start)
            return j->samples[idx];
        idx = -idx; /* numpy 'reflect': the edge sample is not repeated */
    }
    return idx < j->n_samples ? j->samples[idx] : 0.0f;
}

/* The four split inputs of one windowed frame x: even/odd n of a (cos) and
 * of b (sin), each row MEL_Q wide. */
static void mel_split(const float *x, float *ae, float *ao, float *be, float *bo)
{
    ae[0] = x[0];
    ae[MEL_HALF / 2] = x[MEL_HALF];
    for (int n = 1; n < MEL_HALF; n++) {
        float a = x[n] + x[WHISPER_N_FFT - n], b = x[n] - x[WHISPER_N_FFT - n];
        if (n % 2) {
            ao[n / 2] = a;
            bo[n / 2] = b;
        } else {
            ae[n / 2] = a;
            be[n / 2 - 1] = b;
        }
    }
}

static void mel_gemm(int n, int k, const float *a, const float *tw, float *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, MEL_Q, k, 1.0f, a, MEL_Q, tw, MEL_Q,
                0.0f, c, MEL_Q);
}

/* Power spectra of frames [f0, f0 + n) into pw (n x MEL_BINS). */
static void mel_power(const mel_job *j, int f0, int n, float *w, float *pw)
{
    size_t blk = (size_t)MEL_CHUNK * MEL_Q;
    float *ae = w, *ao = w + blk, *be = w + 2 * blk, *bo = w + 3 * blk;
    float *ec = w + 4 * blk, *oc = w + 5 * blk, *es = w + 6 * blk, *os = w + 7 * blk;
    float x[WHISPER_N_FFT];
    for (int f = 0; f < n; f++) {
        int64_t start = (int64_t)(f0 + f) * WHISPER_HOP - MEL_HALF;
        if (start >= 0 && start + WHISPER_N_FFT <= j->n_samples) {
            const float *src = j->samples + start; /* interior frame: no padding */
            for (int i = 0; i < WHISPER_N_FFT; i++)
                x[i] = j->window[i] * src[i];
        } else {
            for (int i = 0; i < WHISPER_N_FFT; i++)
                x[i] = j->window[i] * mel_sample(j, start + i);
        }
        size_t r = (size_t)f * MEL_Q;
        mel_split(x, ae + r, ao + r, be + r, bo + r);
    }
    const size_t tq = (size_t)MEL_Q * MEL_Q;
    mel_gemm(n, MEL_Q, ae, j->tw, ec);
    mel_gemm(n, MEL_HALF / 2, ao, j->tw + tq, oc);
    mel_gemm(n, MEL_HALF / 2 - 1, be, j->tw + 2 * tq, es);
    mel_gemm(n, MEL_HALF / 2, bo, j->tw + 3 * tq, os);
    for (int f = 0; f < n; f++) {
        size_t r = (size_t)f * MEL_Q;
        float *p = pw + (size_t)f * MEL_BINS;
        for (int k = 0; k < MEL_Q; k++) {
            float re = ec[r + k] + oc[r + k], im = es[r + k] + os[r + k];
            p[k] = re * re + im * im;
        }
        for (int k = 0; k < MEL_Q - 1; k++) {
            float re = ec[r + k] - oc[r + k], im = os[r + k] - es[r + k];
            p[MEL_HALF - k] = re * re + im * im;
        }
    }
}

static void mel_task(void *ctx, int t, int nt)
{
    const mel_job *j = ctx;
    int M = j->m->hp.n_mels, F = j->n_frames;
    float *w = j->work + (size_t)t * MEL_WORK;
    float *re = w + 8 * MEL_CHUNK * MEL_Q;
    float mx = -INFINITY;
    int chunks = (F + MEL_CHUNK - 1) / MEL_CHUNK;
    for (int c = t; c < chunks; c += nt) {
        int f0 = c * MEL_CHUNK, n = F - f0 < MEL_CHUNK ? F - f0 : MEL_CHUNK;
        mel_power(j, f0, n, w, re);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, n, MEL_BINS, 1.0f,
                    j->m->mel_filters, MEL_BINS, re, MEL_BINS, 0.0f, j->out + f0, F);
        for (int mel = 0; mel < M; mel++) {
            float *row = j->out + (size_t)mel * F + f0;
            for (int f = 0; f < n; f++) {
                float v = log10f(row[f] > 1e-10f ? row[f] : 1e-10f);
                row[f] = v;
                mx = v > mx ? v : mx;
            }
        }
    }
    j->thread_max[t] = mx;
}

/* The periodic Hann window and the twiddles of the split sums: row i of
 * each matrix is the i-th n of its class (cos even n = 2i, cos odd n =
 * 2i + 1, sin even n = 2i + 2, sin odd n = 2i + 1), column k = 0..100. */
static void mel_tables(float *window, float *tw)
{
    double tab[WHISPER_N_FFT];
    for (int i = 0; i < WHISPER_N_FFT; i++)
        tab[i] = cos(2.0 * M_PI * i / WHISPER_N_FFT);
    for (int i = 0; i < WHISPER_N_FFT; i++)
        window[i] = (float)(0.5 - 0.5 * tab[i]);
    const int first[4] = {0, 1, 2, 1}, rows[4] = {MEL_Q, MEL_HALF / 2, MEL_HALF / 2 - 1, MEL_HALF / 2};
    for (int m = 0; m < 4; m++) {
        float *t = tw + (size_t)m * MEL_Q * MEL_Q;
        /* sin(2 pi i / N) = cos(2 pi (i - N/4) / N) */
        int shift = m >= 2 ? 3 * WHISPER_N_FFT / 4 : 0;
        for (int i = 0; i < rows[m]; i++) {
            int n = first[m] + 2 * i;
            for (int k = 0; k < MEL_Q; k++)
                t[i * MEL_Q + k] = (float)tab[((n * k) % WHISPER_N_FFT + shift) % WHISPER_N_FFT];
        }
    }
}

static int mel_check(const whisper_model *m, const float *samples, int64_t n_samples,
                     int n_frames, const float *out, char *err, size_t errlen)
{
    if (!m || !out || (!samples && n_samples > 0) || n_samples < 0 || n_frames < 1) {
        snprintf(err, errlen, "whisper_mel: model, samples or out NULL, or n_samples %lld / "
                 "n_frames %d out of range (expected n_frames >= 1)", (long long)n_samples, n_frames);
        return WHISPER_ERR_INVALID_ARG;
    }
    if (m->n_fft != MEL_BINS || !m->mel_filters || m->hp.n_mels < 1) {
        snprintf(err, errlen, "whisper_mel: %s: mel filters %d x %d: expected n_mels x %d",
                 m->path ? m->path : "model", m->hp.n_mels, m->n_fft, MEL_BINS);
        return WHISPER_ERR_FORMAT;
    }
    return WHISPER_OK;
}

int whisper_mel(const whisper_model *m, const float *samples, int64_t n_samples, bool at_start,
                int n_frames, int n_threads, float *out, char *err, size_t errlen)
{
    int rc = mel_check(m, samples, n_samples, n_frames, out, err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    int nt = n_threads < 1 ? 1 : n_threads;
    int chunks = (n_frames + MEL_CHUNK - 1) / MEL_CHUNK;
    nt = nt > chunks ? chunks : nt;
    whisper__pool *pool = NULL;
    size_t tables = WHISPER_N_FFT + MEL_TWIDDLES;
    float *mem = calloc(tables + (size_t)nt * (MEL_WORK + 1), sizeof *mem);
    if (!mem || (nt > 1 && whisper__pool_new(&pool, nt) != WHISPER_OK)) {
        snprintf(err, errlen, "whisper_mel: out of memory for %d frames", n_frames);
        rc = WHISPER_ERR_NOMEM;
        goto cleanup;
    }
    mel_job j = {
        .m = m, .samples = samples, .n_samples = n_samples, .at_start = at_start,
        .n_frames = n_frames, .window = mem, .tw = mem + WHISPER_N_FFT, .work = mem + tables,
        .thread_max = mem + tables + (size_t)nt * MEL_WORK, .out = out,
    };
    mel_tables(mem, mem + WHISPER_N_FFT);
    if (pool)
        openblas_set_num_threads(1);
    whisper__pool_run(pool, mel_task, &j);
    float mx = -INFINITY;
    for (int t = 0; t < nt; t++)
        mx = j.thread_max[t] > mx ? j.thread_max[t] : mx;
    size_t total = (size_t)m->hp.n_mels * (size_t)n_frames;
    for (size_t i = 0; i < total; i++)
        out[i] = ((out[i] > mx - 8.0f ? out[i] : mx - 8.0f) + 4.0f) / 4.0f;
cleanup:
    whisper__pool_free(pool);
    free(mem);
    return rc;
}
