/* test_diarize_internals: the pieces of the built-in diarization engine
 * (builtin_internal.h) against expectations derived outside the code under
 * test — the real FFT against a naive double-precision DFT, the pitch
 * tracker against synthetic harmonic tones of known fundamental, the voice
 * activity detector against energy tracks built by hand, the delta BIC
 * against Gaussian samples of known means and covariances, and the
 * agglomerative clustering against 1-D points whose grouping is obvious.
 *
 * All randomness comes from a fixed-seed LCG, so every run sees the same
 * numbers.
 */
/* cmocka needs these before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"

#define PI 3.14159265358979323846

/* ---- deterministic randomness ----------------------------------------------------- */

typedef struct {
    uint64_t s;
} lcg;

/* Uniform in [0, 1). */
static double lcg_uniform(lcg *r)
{
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(r->s >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal by Box-Muller (one of the pair; the other is dropped). */
static double lcg_normal(lcg *r)
{
    double u1 = 1.0 - lcg_uniform(r); /* (0, 1]: log is finite */
    double u2 = lcg_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

/* ---- rfft ------------------------------------------------------------------------- */

static void check_rfft_size(size_t n, uint64_t seed)
{
    lcg r = {seed};
    float *x = malloc(n * sizeof *x);
    float *re = malloc((n / 2 + 1) * sizeof *re);
    float *im = malloc((n / 2 + 1) * sizeof *im);
    double *ref_re = malloc((n / 2 + 1) * sizeof *ref_re);
    double *ref_im = malloc((n / 2 + 1) * sizeof *ref_im);
    assert_non_null(x);
    assert_non_null(re);
    assert_non_null(im);
    assert_non_null(ref_re);
    assert_non_null(ref_im);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(2.0 * lcg_uniform(&r) - 1.0);

    diarize__fft_plan *plan = NULL;
    assert_int_equal(diarize__fft_plan_new(&plan, n), 0);
    assert_non_null(plan);
    /* poison the output so an unwritten bin cannot pass by accident */
    for (size_t k = 0; k <= n / 2; k++)
        re[k] = im[k] = NAN;
    diarize__rfft(plan, x, re, im);

    /* X[k] = sum_j x[j] e^{-2 pi i j k / n}, in double; the angle is taken
     * from (j k) mod n so it stays exact for large products. */
    double max_mag = 0.0;
    for (size_t k = 0; k <= n / 2; k++) {
        double sr = 0.0, si = 0.0;
        for (size_t j = 0; j < n; j++) {
            double ang = -2.0 * PI * (double)((j * k) % n) / (double)n;
            sr += x[j] * cos(ang);
            si += x[j] * sin(ang);
        }
        ref_re[k] = sr;
        ref_im[k] = si;
        double mag = hypot(sr, si);
        if (mag > max_mag)
            max_mag = mag;
    }
    assert_true(max_mag > 0.0);
    double worst = 0.0;
    for (size_t k = 0; k <= n / 2; k++) {
        assert_true(isfinite(re[k]) && isfinite(im[k]));
        double e = hypot(re[k] - ref_re[k], im[k] - ref_im[k]) / max_mag;
        if (e > worst)
            worst = e;
        if (e >= 1e-4)
            fail_msg("n=%zu bin %zu: got %g%+gi, DFT %g%+gi", n, k, (double)re[k], (double)im[k],
                     ref_re[k], ref_im[k]);
    }
    /* a real signal has real DC and Nyquist bins */
    assert_true(fabs(im[0]) < 1e-4 * max_mag);
    assert_true(fabs(im[n / 2]) < 1e-4 * max_mag);

    /* Parseval for a real input: sum x^2 = (|X0|^2 + |X_{n/2}|^2 +
     * 2 sum_{0<k<n/2} |Xk|^2) / n. */
    double time_energy = 0.0, freq_energy = 0.0;
    for (size_t j = 0; j < n; j++)
        time_energy += (double)x[j] * x[j];
    for (size_t k = 0; k <= n / 2; k++) {
        double p = (double)re[k] * re[k] + (double)im[k] * im[k];
        freq_energy += (k == 0 || k == n / 2) ? p : 2.0 * p;
    }
    freq_energy /= (double)n;
    assert_true(fabs(freq_energy - time_energy) < 1e-4 * time_energy);

    /* the plan is reusable: a second transform of another signal is right too */
    size_t bin = n >= 8 ? 3 : 1; /* below Nyquist: all in that bin, height n/2 */
    for (size_t i = 0; i < n; i++)
        x[i] = (float)cos(2.0 * PI * (double)((bin * i) % n) / (double)n);
    diarize__rfft(plan, x, re, im);
    for (size_t k = 0; k <= n / 2; k++) {
        double want = k == bin ? (double)n / 2.0 : 0.0;
        assert_true(fabs(re[k] - want) < 1e-4 * (double)n);
        assert_true(fabs(im[k]) < 1e-4 * (double)n);
    }

    diarize__fft_plan_free(plan);
    free(x);
    free(re);
    free(im);
    free(ref_re);
    free(ref_im);
}

static void test_rfft_matches_naive_dft(void **state)
{
    (void)state;
    check_rfft_size(4, 11);
    check_rfft_size(8, 12);
    check_rfft_size(64, 13);
    check_rfft_size(512, 14);
    check_rfft_size(1024, 15);
}

static void test_rfft_plan_rejects_bad_sizes(void **state)
{
    (void)state;
    const size_t bad[] = {0, 1, 2, 3, 6, 12, 1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        static char dummy;
        diarize__fft_plan *plan = (diarize__fft_plan *)(void *)&dummy; /* must become NULL */
        assert_int_equal(diarize__fft_plan_new(&plan, bad[i]), -1);
        assert_null(plan);
    }
    diarize__fft_plan_free(NULL); /* NULL-safe */
}

/* ---- frontend --------------------------------------------------------------------- */

#define RATE 16000

/* Frames a single push of n samples yields: one per complete 25 ms window,
 * windows starting every 10 ms. */
static size_t expected_frames(size_t n)
{
    return n < DIARIZE__WIN ? 0 : 1 + (n - DIARIZE__WIN) / DIARIZE__HOP;
}

/* f0 and four overtones with amplitudes amp / h. */
static float *harmonic_tone(double f0, size_t n, double amp)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE, v = 0.0;
        for (int h = 1; h <= 5; h++)
            v += amp / h * sin(2.0 * PI * f0 * h * t + 0.3 * h);
        x[i] = (float)v;
    }
    return x;
}

static float *white_noise(size_t n, double amp, uint64_t seed)
{
    lcg r = {seed};
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * (2.0 * lcg_uniform(&r) - 1.0));
    return x;
}

static void features_of(const float *x, size_t n, diarize__features *f)
{
    diarize__frontend *fe = NULL;
    memset(f, 0, sizeof *f);
    assert_int_equal(diarize__frontend_new(&fe), 0);
    assert_non_null(fe);
    assert_int_equal(diarize__frontend_push(fe, x, n, f), 0);
    diarize__frontend_free(fe);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_frontend_pitch_of_harmonic_tones(void **state)
{
    (void)state;
    const double f0s[] = {110.0, 150.0, 220.0, 300.0};
    for (size_t t = 0; t < sizeof f0s / sizeof f0s[0]; t++) {
        const size_t n = RATE; /* 1 s */
        float *x = harmonic_tone(f0s[t], n, 0.2);
        diarize__features f;
        features_of(x, n, &f);
        assert_int_equal(f.n, expected_frames(n));
        assert_int_equal(f.n, 98);

        double *hz = malloc(f.n * sizeof *hz);
        assert_non_null(hz);
        size_t voiced = 0;
        for (size_t i = 0; i < f.n; i++) {
            assert_true(f.pitch[i] >= 0.0f);
            if (f.pitch[i] > 0.0f)
                hz[voiced++] = exp(f.pitch[i]);
        }
        if (voiced * 10 < f.n * 9)
            fail_msg("f0 %.0f Hz: only %zu of %zu frames voiced", f0s[t], voiced, f.n);
        qsort(hz, voiced, sizeof *hz, cmp_double);
        double median = voiced % 2 ? hz[voiced / 2] : 0.5 * (hz[voiced / 2 - 1] + hz[voiced / 2]);
        if (fabs(median - f0s[t]) > 0.02 * f0s[t])
            fail_msg("f0 %.0f Hz: median pitch %.2f Hz", f0s[t], median);

        /* Energy: mean power of the harmonics is sum (amp/h)^2 / 2; a 25 ms
         * window holds a few periods, so allow half a decibel. */
        double power = 0.0;
        for (int h = 1; h <= 5; h++)
            power += 0.5 * (0.2 / h) * (0.2 / h);
        double want_db = 10.0 * log10(power);
        for (size_t i = 0; i < f.n; i++)
            if (fabs(f.energy[i] - want_db) > 0.5)
                fail_msg("f0 %.0f Hz frame %zu: energy %.2f dB, expected %.2f dB", f0s[t], i,
                         (double)f.energy[i], want_db);
        free(hz);
        diarize__features_free(&f);
        assert_int_equal(f.n, 0);
        assert_null(f.mfcc);
        free(x);
    }
}

static void test_frontend_noise_is_unvoiced(void **state)
{
    (void)state;
    const size_t n = RATE;
    float *x = white_noise(n, 0.3, 2024);
    diarize__features f;
    features_of(x, n, &f);
    assert_int_equal(f.n, expected_frames(n));
    size_t unvoiced = 0;
    for (size_t i = 0; i < f.n; i++)
        unvoiced += f.pitch[i] == 0.0f;
    if (unvoiced * 10 < f.n * 8)
        fail_msg("white noise: only %zu of %zu frames unvoiced", unvoiced, f.n);
    /* uniform noise in [-a, a] has power a^2 / 3 */
    double want_db = 10.0 * log10(0.3 * 0.3 / 3.0);
    for (size_t i = 0; i < f.n; i++)
        assert_true(fabs(f.energy[i] - want_db) < 1.0);
    diarize__features_free(&f);
    free(x);
}

static void test_frontend_frame_count(void **state)
{
    (void)state;
    const size_t lengths[] = {0, 1, 399, 400, 559, 560, 12345, 16000};
    float *x = harmonic_tone(150.0, 16000, 0.2);
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        diarize__features f;
        features_of(x, lengths[i], &f);
        assert_int_equal(f.n, expected_frames(lengths[i]));
        diarize__features_free(&f);
    }
    /* by hand: 400 -> 1, 559 -> 1, 560 -> 2, 12345 -> 1 + 11945 / 160 = 75 */
    assert_int_equal(expected_frames(400), 1);
    assert_int_equal(expected_frames(559), 1);
    assert_int_equal(expected_frames(560), 2);
    assert_int_equal(expected_frames(12345), 75);
    free(x);
}

static void test_frontend_streaming_is_identical(void **state)
{
    (void)state;
    /* a tone, then noise, so the frames differ from each other */
    const size_t n = 2 * RATE + 37;
    float *tone = harmonic_tone(180.0, RATE, 0.25);
    float *noise = white_noise(n - RATE, 0.1, 77);
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    memcpy(x, tone, RATE * sizeof *x);
    memcpy(x + RATE, noise, (n - RATE) * sizeof *x);

    diarize__features whole;
    features_of(x, n, &whole);
    assert_int_equal(whole.n, expected_frames(n));

    for (uint64_t seed = 1; seed <= 3; seed++) {
        lcg r = {seed * 1000003};
        diarize__frontend *fe = NULL;
        diarize__features parts = {0};
        assert_int_equal(diarize__frontend_new(&fe), 0);
        size_t at = 0, pushes = 0;
        while (at < n) {
            /* 0 to 999 samples: empty pushes, pieces shorter than a hop and
             * longer than a window all occur */
            size_t len = (size_t)(lcg_uniform(&r) * 1000.0);
            if (len > n - at)
                len = n - at;
            assert_int_equal(diarize__frontend_push(fe, x + at, len, &parts), 0);
            at += len;
            pushes++;
        }
        assert_true(pushes > 20);
        diarize__frontend_free(fe);
        assert_int_equal(parts.n, whole.n);
        assert_memory_equal(parts.energy, whole.energy, whole.n * sizeof *whole.energy);
        assert_memory_equal(parts.pitch, whole.pitch, whole.n * sizeof *whole.pitch);
        assert_memory_equal(parts.mfcc, whole.mfcc, whole.n * DIARIZE__DIM * sizeof *whole.mfcc);
        diarize__features_free(&parts);
    }
    diarize__features_free(&whole);
    free(x);
    free(tone);
    free(noise);
}

/* ---- vad -------------------------------------------------------------------------- */

/* An energy track from (frames, dB) stretches; returns its length. */
static size_t energy_track(float *e, size_t cap, const int (*parts)[2], size_t n_parts)
{
    size_t n = 0;
    for (size_t p = 0; p < n_parts; p++)
        for (int i = 0; i < parts[p][0]; i++) {
            assert_true(n < cap);
            e[n++] = (float)parts[p][1];
        }
    return n;
}

/* speech[lo, hi) all equal to v. */
static void expect_range(const unsigned char *speech, size_t lo, size_t hi, int v)
{
    for (size_t i = lo; i < hi; i++)
        if (speech[i] != v)
            fail_msg("frame %zu: speech %d, expected %d (range %zu..%zu)", i, speech[i], v, lo, hi);
}

#define EDGE 2 /* frames of slack at every boundary */

static void test_vad_bridges_short_gap(void **state)
{
    (void)state;
    /* 2 s silence, 3 s speech, 0.1 s gap, 2 s speech, 2 s silence */
    static const int parts[][2] = {{200, -90}, {300, -20}, {10, -90}, {200, -25}, {200, -90}};
    float e[2000];
    unsigned char speech[2000];
    size_t n = energy_track(e, 2000, parts, 5);
    assert_int_equal(n, 910);
    memset(speech, 7, sizeof speech);
    diarize__vad(e, n, speech);
    for (size_t i = 0; i < n; i++)
        assert_true(speech[i] == 0 || speech[i] == 1);
    expect_range(speech, 0, 200 - EDGE, 0);
    expect_range(speech, 200 + EDGE, 710 - EDGE, 1); /* the 0.1 s gap is inside */
    expect_range(speech, 710 + EDGE, n, 0);
    assert_int_equal(speech[n], 7); /* nothing written past the end */
}

static void test_vad_keeps_long_gap(void **state)
{
    (void)state;
    /* the same, but the gap lasts 0.4 s: two stretches of speech */
    static const int parts[][2] = {{200, -90}, {300, -20}, {40, -90}, {200, -25}, {200, -90}};
    float e[2000];
    unsigned char speech[2000];
    size_t n = energy_track(e, 2000, parts, 5);
    diarize__vad(e, n, speech);
    expect_range(speech, 0, 200 - EDGE, 0);
    expect_range(speech, 200 + EDGE, 500 - EDGE, 1);
    expect_range(speech, 500 + EDGE, 540 - EDGE, 0);
    expect_range(speech, 540 + EDGE, 740 - EDGE, 1);
    expect_range(speech, 740 + EDGE, n, 0);
}

static void test_vad_drops_short_burst(void **state)
{
    (void)state;
    /* a 5-frame click far from the 3 s of speech */
    static const int parts[][2] = {{200, -90}, {5, -20}, {200, -90}, {300, -20}, {200, -90}};
    float e[2000];
    unsigned char speech[2000];
    size_t n = energy_track(e, 2000, parts, 5);
    diarize__vad(e, n, speech);
    expect_range(speech, 0, 405 - EDGE, 0); /* the click is gone */
    expect_range(speech, 405 + EDGE, 705 - EDGE, 1);
    expect_range(speech, 705 + EDGE, n, 0);

    /* a lone click in silence is not speech either */
    static const int lone[][2] = {{300, -90}, {5, -20}, {300, -90}};
    n = energy_track(e, 2000, lone, 3);
    diarize__vad(e, n, speech);
    expect_range(speech, 0, n, 0);

    /* while a burst of 0.3 s is */
    static const int longer[][2] = {{300, -90}, {30, -20}, {300, -90}};
    n = energy_track(e, 2000, longer, 3);
    diarize__vad(e, n, speech);
    expect_range(speech, 0, 300 - EDGE, 0);
    expect_range(speech, 300 + EDGE, 330 - EDGE, 1);
    expect_range(speech, 330 + EDGE, n, 0);
}

static void test_vad_silence(void **state)
{
    (void)state;
    float e[1000];
    unsigned char speech[1000];
    for (size_t i = 0; i < 1000; i++)
        e[i] = -100.0f;
    memset(speech, 1, sizeof speech);
    diarize__vad(e, 1000, speech);
    expect_range(speech, 0, 1000, 0);

    /* faint noise that wobbles by a few dB around -85 dB: still nothing */
    lcg r = {5};
    for (size_t i = 0; i < 1000; i++)
        e[i] = (float)(-85.0 + 6.0 * lcg_uniform(&r));
    diarize__vad(e, 1000, speech);
    expect_range(speech, 0, 1000, 0);

    diarize__vad(e, 0, speech); /* n = 0: nothing to do, no crash */
}

/* Speech probabilities per 512-sample chunk -> frames: frame i belongs to
 * the chunk holding its centre, sample 160 i + 200. */
#define CHUNK 512

static void fill_probs(float *probs, size_t lo, size_t hi, float p)
{
    for (size_t c = lo; c < hi; c++)
        probs[c] = p;
}

/* First frame whose centre lies in chunk c or later. */
static size_t first_frame_of_chunk(size_t c)
{
    size_t s = c * CHUNK; /* frame i is in chunk >= c when 160 i + 200 >= s */
    return s <= DIARIZE__WIN / 2 ? 0 : (s - DIARIZE__WIN / 2 + DIARIZE__HOP - 1) / DIARIZE__HOP;
}

static void test_vad_from_probs(void **state)
{
    (void)state;
    enum { n_chunks = 200 };
    float probs[n_chunks];
    const size_t n = expected_frames(n_chunks * CHUNK);
    unsigned char speech[1000];
    assert_int_equal(n, 638);
    /* by hand: chunk 50 starts at sample 25600, frame 159's centre is
     * 25640 and frame 158's 25480 */
    assert_int_equal(first_frame_of_chunk(50), 159);
    assert_int_equal(first_frame_of_chunk(110), 351);

    /* off, on, a stretch between the two thresholds (hysteresis keeps it
     * on), off, the same middle value after silence (never switches on) */
    fill_probs(probs, 0, 50, 0.05f);
    fill_probs(probs, 50, 100, 0.9f);
    fill_probs(probs, 100, 110, 0.2f);
    fill_probs(probs, 110, 150, 0.05f);
    fill_probs(probs, 150, 160, 0.2f);
    fill_probs(probs, 160, 200, 0.05f);
    memset(speech, 7, sizeof speech);
    diarize__vad_from_probs(probs, n_chunks, CHUNK, n, speech);
    expect_range(speech, 0, first_frame_of_chunk(50), 0);
    expect_range(speech, first_frame_of_chunk(50), first_frame_of_chunk(110), 1);
    expect_range(speech, first_frame_of_chunk(110), n, 0);
    assert_int_equal(speech[n], 7);

    /* the middle stretch below the lower threshold: speech ends at chunk 100 */
    fill_probs(probs, 100, 110, 0.1f);
    diarize__vad_from_probs(probs, n_chunks, CHUNK, n, speech);
    expect_range(speech, 0, first_frame_of_chunk(50), 0);
    expect_range(speech, first_frame_of_chunk(50), first_frame_of_chunk(100), 1);
    expect_range(speech, first_frame_of_chunk(100), n, 0);

    /* a 5-chunk (160 ms) dip inside speech is bridged; a lone confident
     * chunk (32 ms) is a click */
    fill_probs(probs, 0, n_chunks, 0.0f);
    fill_probs(probs, 20, 60, 0.9f);
    fill_probs(probs, 40, 45, 0.0f);
    probs[120] = 0.99f;
    diarize__vad_from_probs(probs, n_chunks, CHUNK, n, speech);
    expect_range(speech, 0, first_frame_of_chunk(20), 0);
    expect_range(speech, first_frame_of_chunk(20), first_frame_of_chunk(60), 1);
    expect_range(speech, first_frame_of_chunk(60), n, 0);

    /* frames past the last chunk are not speech */
    fill_probs(probs, 0, n_chunks, 0.9f);
    diarize__vad_from_probs(probs, 100, CHUNK, n, speech);
    expect_range(speech, 0, first_frame_of_chunk(100), 1);
    expect_range(speech, first_frame_of_chunk(100), n, 0);
}

/* ---- delta BIC -------------------------------------------------------------------- */

#define BIC_FRAMES 2000

/* Stats of BIC_FRAMES frames drawn from N(mean, sd^2 I); pitch as given. */
static void gaussian_stats(diarize__stats *s, lcg *r, double mean, double sd, double pitch,
                           double pitch_sd)
{
    memset(s, 0, sizeof *s);
    for (int t = 0; t < BIC_FRAMES; t++) {
        float x[DIARIZE__DIM];
        for (int d = 0; d < DIARIZE__DIM; d++)
            x[d] = (float)(mean + sd * lcg_normal(r));
        float p = pitch > 0.0 ? (float)(pitch + pitch_sd * lcg_normal(r)) : 0.0f;
        diarize__stats_add(s, x, p);
    }
}

static double dbic(const diarize__stats *a, const diarize__stats *b, double lambda)
{
    return diarize__delta_bic(a, diarize__stats_logdet(a), b, diarize__stats_logdet(b), lambda);
}

static void test_delta_bic_same_and_different(void **state)
{
    (void)state;
    lcg r = {99};
    diarize__stats a, b, c;
    gaussian_stats(&a, &r, 0.0, 1.0, 0.0, 0.0);
    gaussian_stats(&b, &r, 0.0, 1.0, 0.0, 0.0);
    gaussian_stats(&c, &r, 2.0, 1.0, 0.0, 0.0); /* means 2 sd apart */
    assert_true(a.n == BIC_FRAMES && b.n == BIC_FRAMES);
    assert_true(a.pn == 0.0);

    double same = dbic(&a, &b, 1.0);
    double diff = dbic(&a, &c, 1.0);
    if (!(same < 0.0))
        fail_msg("same Gaussian: dBIC %g, expected negative", same);
    if (!(diff > 0.0))
        fail_msg("means 2 sd apart: dBIC %g, expected positive", diff);

    /* Size of the difference: one Gaussian for both has covariance
     * I + u u^T with u = ones (the means differ by 2 along every axis), so
     * log det grows by log(1 + 19) and the likelihood term is about
     * N/2 log 20 = 2000 log 20; the regularisation shrinks it a little. */
    double penalty =
        0.5 * (DIARIZE__DIM + DIARIZE__DIM * (DIARIZE__DIM + 1) / 2.0) * log(2.0 * BIC_FRAMES);
    double gain = diff + penalty;
    assert_true(gain > 0.8 * 2000.0 * log(20.0));
    assert_true(gain < 1.1 * 2000.0 * log(20.0));

    /* symmetric */
    double ab = dbic(&a, &b, 1.0), ba = dbic(&b, &a, 1.0);
    assert_true(fabs(ab - ba) <= 1e-9 * (fabs(ab) + 1.0));
    double ac = dbic(&a, &c, 1.0), ca = dbic(&c, &a, 1.0);
    assert_true(fabs(ac - ca) <= 1e-9 * (fabs(ac) + 1.0));

    /* lambda only scales the penalty 1/2 (d + d(d+1)/2) log N (no voiced
     * frames, so no pitch parameters) */
    double l0 = dbic(&a, &c, 0.0), l2 = dbic(&a, &c, 2.0);
    assert_true(fabs((l0 - diff) - penalty) < 1e-6 * penalty);
    assert_true(fabs((diff - l2) - penalty) < 1e-6 * penalty);

    /* with the penalty off, even one voice gains a little from two models */
    assert_true(dbic(&a, &b, 0.0) > 0.0);
}

static void test_stats_logdet_and_merge(void **state)
{
    (void)state;
    lcg r = {7};
    diarize__stats s;
    gaussian_stats(&s, &r, 1.0, 2.0, 0.0, 0.0); /* covariance 4 I */
    double want = DIARIZE__DIM * log(4.0);
    double got = diarize__stats_logdet(&s);
    if (fabs(got - want) > 1.0)
        fail_msg("log det %g, expected about %g", got, want);

    /* merging stats equals adding the frames to one */
    lcg r1 = {8}, r2 = {8};
    diarize__stats one, two, whole;
    gaussian_stats(&one, &r1, 0.0, 1.0, 5.0, 0.05);
    gaussian_stats(&two, &r1, 0.5, 1.5, 5.3, 0.05);
    memset(&whole, 0, sizeof whole);
    for (int part = 0; part < 2; part++)
        for (int t = 0; t < BIC_FRAMES; t++) {
            float x[DIARIZE__DIM];
            for (int d = 0; d < DIARIZE__DIM; d++)
                x[d] = part == 0 ? (float)(0.0 + 1.0 * lcg_normal(&r2))
                                 : (float)(0.5 + 1.5 * lcg_normal(&r2));
            float p = part == 0 ? (float)(5.0 + 0.05 * lcg_normal(&r2))
                                : (float)(5.3 + 0.05 * lcg_normal(&r2));
            diarize__stats_add(&whole, x, p);
        }
    diarize__stats_merge(&one, &two);
    assert_true(one.n == whole.n);
    assert_true(one.pn == whole.pn && one.pn == 2.0 * BIC_FRAMES);
    assert_true(fabs(one.psum - whole.psum) < 1e-9 * whole.psum);
    for (int d = 0; d < DIARIZE__DIM; d++)
        assert_true(fabs(one.sum[d] - whole.sum[d]) < 1e-9 * (fabs(whole.sum[d]) + 1.0));
    for (int i = 0; i < DIARIZE__TRI; i++)
        assert_true(fabs(one.sq[i] - whole.sq[i]) < 1e-9 * (fabs(whole.sq[i]) + 1.0));
}

static void test_delta_bic_pitch(void **state)
{
    (void)state;
    /* Identical cepstral distributions; voices at 110 Hz and 220 Hz versus
     * two at 110 Hz. A different pitch must make the pair look less alike. */
    lcg r = {31};
    diarize__stats a, same, other;
    gaussian_stats(&a, &r, 0.0, 1.0, log(110.0), 0.05);
    gaussian_stats(&same, &r, 0.0, 1.0, log(110.0), 0.05);
    gaussian_stats(&other, &r, 0.0, 1.0, log(220.0), 0.05);
    assert_true(a.pn == BIC_FRAMES);
    double d_same = dbic(&a, &same, 1.0), d_other = dbic(&a, &other, 1.0);
    if (!(d_same < 0.0))
        fail_msg("same pitch: dBIC %g, expected negative", d_same);
    if (!(d_other > 0.0))
        fail_msg("an octave apart: dBIC %g, expected positive", d_other);
}

/* ---- hac -------------------------------------------------------------------------- */

#define MAX_POINTS 16

/* Groups of 1-D points: distance |mean_a - mean_b| - 1. */
typedef struct {
    double sum[MAX_POINTS];
    double count[MAX_POINTS];
    int merges;
    /* may_join: refuse the pair {refuse_a, refuse_b} (while both are still
     * single points, when refuse_while_single) */
    size_t refuse_a, refuse_b;
    bool refuse_while_single;
    int refusals;
} points;

static void points_init(points *p, const double *x, size_t n)
{
    memset(p, 0, sizeof *p);
    assert_true(n <= MAX_POINTS);
    for (size_t i = 0; i < n; i++) {
        p->sum[i] = x[i];
        p->count[i] = 1.0;
    }
    p->refuse_a = p->refuse_b = SIZE_MAX;
}

static double pt_distance(void *ctx, size_t a, size_t b)
{
    points *p = ctx;
    assert_true(p->count[a] > 0.0 && p->count[b] > 0.0);
    return fabs(p->sum[a] / p->count[a] - p->sum[b] / p->count[b]) - 1.0;
}

static void pt_merge(void *ctx, size_t into, size_t from)
{
    points *p = ctx;
    assert_true(into < from);
    assert_true(p->count[from] > 0.0);
    p->sum[into] += p->sum[from];
    p->count[into] += p->count[from];
    p->sum[from] = 0.0;
    p->count[from] = 0.0;
    p->merges++;
}

static bool pt_may_join(void *ctx, size_t a, size_t b)
{
    points *p = ctx;
    bool pair = (a == p->refuse_a && b == p->refuse_b) || (a == p->refuse_b && b == p->refuse_a);
    if (pair && (!p->refuse_while_single ||
                 (p->count[p->refuse_a] == 1.0 && p->count[p->refuse_b] == 1.0))) {
        p->refusals++;
        return false;
    }
    return pt_distance(ctx, a, b) < 0.0;
}

static int run_hac(points *p, size_t n, int min_k, int max_k, int exact_k, bool with_may_join,
                   int *labels)
{
    diarize__hac_ops ops = {pt_distance, pt_merge, with_may_join ? pt_may_join : NULL, p};
    bool cancelled = true;
    for (size_t i = 0; i < MAX_POINTS; i++)
        labels[i] = -1;
    int k = diarize__hac(&ops, n, min_k, max_k, exact_k, labels, NULL, &cancelled);
    assert_false(cancelled);
    return k;
}

/* Three groups, interleaved in index order: B (around 5), A (around 0),
 * C (around 20). By lowest index B is cluster 0, A 1 and C 2. */
static const double GROUPED[] = {5.0, 0.0, 20.0, 5.3, 0.2, 20.4, 0.4, 5.1, 20.2};
static const int GROUP_OF[] = {0, 1, 2, 0, 1, 2, 1, 0, 2};
#define N_GROUPED (sizeof GROUPED / sizeof GROUPED[0])

/* Labels numbered 0..k-1 in order of each cluster's lowest index. */
static void expect_first_appearance_order(const int *labels, size_t n, int k)
{
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(labels[i] >= 0 && labels[i] < k);
        assert_true(labels[i] <= next);
        if (labels[i] == next)
            next++;
    }
    assert_int_equal(next, k);
}

/* No cluster holds points of two groups. */
static void expect_pure(const int *labels, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (labels[i] == labels[j])
                assert_int_equal(GROUP_OF[i], GROUP_OF[j]);
}

static void test_hac_three_groups(void **state)
{
    (void)state;
    points p;
    int labels[MAX_POINTS];
    points_init(&p, GROUPED, N_GROUPED);
    int k = run_hac(&p, N_GROUPED, 0, 0, 0, false, labels);
    assert_int_equal(k, 3);
    for (size_t i = 0; i < N_GROUPED; i++)
        assert_int_equal(labels[i], GROUP_OF[i]);
    assert_int_equal(p.merges, (int)N_GROUPED - 3);
    assert_int_equal(labels[N_GROUPED], -1); /* nothing written past n */

    /* the same with the default may_join written out */
    points_init(&p, GROUPED, N_GROUPED);
    k = run_hac(&p, N_GROUPED, 0, 0, 0, true, labels);
    assert_int_equal(k, 3);
    for (size_t i = 0; i < N_GROUPED; i++)
        assert_int_equal(labels[i], GROUP_OF[i]);
}

static void test_hac_count_constraints(void **state)
{
    (void)state;
    points p;
    int labels[MAX_POINTS];

    /* exact_k = 2: A (mean 0.2) and B (mean 5.13) are the closest groups */
    points_init(&p, GROUPED, N_GROUPED);
    int k = run_hac(&p, N_GROUPED, 0, 0, 2, false, labels);
    assert_int_equal(k, 2);
    for (size_t i = 0; i < N_GROUPED; i++)
        assert_int_equal(labels[i], GROUP_OF[i] == 2 ? 1 : 0);

    /* exact_k overrides min/max */
    points_init(&p, GROUPED, N_GROUPED);
    k = run_hac(&p, N_GROUPED, 4, 8, 2, false, labels);
    assert_int_equal(k, 2);

    /* exact_k = 5 stops early although joins are still cheap */
    points_init(&p, GROUPED, N_GROUPED);
    k = run_hac(&p, N_GROUPED, 0, 0, 5, false, labels);
    assert_int_equal(k, 5);
    expect_first_appearance_order(labels, N_GROUPED, 5);
    expect_pure(labels, N_GROUPED);

    /* min_k = 5: stops at 5, the joins made being the cheapest ones (all
     * inside groups) */
    points_init(&p, GROUPED, N_GROUPED);
    k = run_hac(&p, N_GROUPED, 5, 0, 0, false, labels);
    assert_int_equal(k, 5);
    assert_int_equal(p.merges, (int)N_GROUPED - 5);
    expect_first_appearance_order(labels, N_GROUPED, 5);
    expect_pure(labels, N_GROUPED);

    /* max_k = 2: joins past positive costs down to 2 (A and B) */
    points_init(&p, GROUPED, N_GROUPED);
    k = run_hac(&p, N_GROUPED, 0, 2, 0, false, labels);
    assert_int_equal(k, 2);
    for (size_t i = 0; i < N_GROUPED; i++)
        assert_int_equal(labels[i], GROUP_OF[i] == 2 ? 1 : 0);

    /* max_k = 1: everything in one */
    points_init(&p, GROUPED, N_GROUPED);
    k = run_hac(&p, N_GROUPED, 0, 1, 0, false, labels);
    assert_int_equal(k, 1);
    for (size_t i = 0; i < N_GROUPED; i++)
        assert_int_equal(labels[i], 0);

    /* max_k above the natural count does not force anything */
    points_init(&p, GROUPED, N_GROUPED);
    k = run_hac(&p, N_GROUPED, 1, 6, 0, false, labels);
    assert_int_equal(k, 3);

    /* exact_k above n is bounded by n */
    points_init(&p, GROUPED, 4);
    k = run_hac(&p, 4, 0, 0, 10, false, labels);
    assert_int_equal(k, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(labels[i], i);
}

static void test_hac_tiny_inputs(void **state)
{
    (void)state;
    points p;
    int labels[MAX_POINTS];
    points_init(&p, GROUPED, 0);
    assert_int_equal(run_hac(&p, 0, 0, 0, 0, false, labels), 0);
    assert_int_equal(labels[0], -1);
    assert_int_equal(run_hac(&p, 0, 0, 0, 3, false, labels), 0);

    points_init(&p, GROUPED, 1);
    assert_int_equal(run_hac(&p, 1, 0, 0, 0, false, labels), 1);
    assert_int_equal(labels[0], 0);
    assert_int_equal(labels[1], -1);
    points_init(&p, GROUPED, 1);
    assert_int_equal(run_hac(&p, 1, 2, 0, 0, false, labels), 1); /* min_k > n */
    assert_int_equal(labels[0], 0);

    /* two far points stay apart, two near ones join */
    const double far[] = {0.0, 3.0}, near[] = {0.0, 0.5};
    points_init(&p, far, 2);
    assert_int_equal(run_hac(&p, 2, 0, 0, 0, false, labels), 2);
    assert_int_equal(labels[0], 0);
    assert_int_equal(labels[1], 1);
    points_init(&p, near, 2);
    assert_int_equal(run_hac(&p, 2, 0, 0, 0, false, labels), 1);
    assert_int_equal(labels[0], 0);
    assert_int_equal(labels[1], 0);
}

static void test_hac_refused_pair(void **state)
{
    (void)state;
    points p;
    int labels[MAX_POINTS];

    /* Refused for good: 0 and 1 are the closest pair but may never join;
     * 2 and 3 still do. */
    const double x[] = {0.0, 0.1, 10.0, 10.1};
    points_init(&p, x, 4);
    p.refuse_a = 0;
    p.refuse_b = 1;
    int k = run_hac(&p, 4, 0, 0, 0, true, labels);
    assert_int_equal(k, 3);
    assert_int_equal(labels[0], 0);
    assert_int_equal(labels[1], 1);
    assert_int_equal(labels[2], 2);
    assert_int_equal(labels[3], 2);
    assert_true(p.refusals >= 1);

    /* Refused while both are single points: once 1 has grown (2 joins it),
     * the pair is judged again and joins. Merge order by cost: {0,1} -0.9
     * refused, {3,4} -0.8, {1,2} -0.6, then {0,{1,2}} at |0 - 0.3| - 1. */
    const double y[] = {0.0, 0.1, 0.5, 10.0, 10.2};
    points_init(&p, y, 5);
    p.refuse_a = 0;
    p.refuse_b = 1;
    p.refuse_while_single = true;
    k = run_hac(&p, 5, 0, 0, 0, true, labels);
    assert_int_equal(k, 2);
    const int want_y[] = {0, 0, 0, 1, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(labels[i], want_y[i]);
    assert_int_equal(p.refusals, 1);
    assert_int_equal(p.merges, 3);

    /* A refusal does not hold against the count constraints: with max_k = 2
     * the pair must join anyway. */
    points_init(&p, x, 4);
    p.refuse_a = 0;
    p.refuse_b = 1;
    k = run_hac(&p, 4, 0, 2, 0, true, labels);
    assert_int_equal(k, 2);
    assert_int_equal(labels[0], 0);
    assert_int_equal(labels[1], 0);
    assert_int_equal(labels[2], 1);
    assert_int_equal(labels[3], 1);
}

static atomic_int g_cancel_flag;

static double pt_distance_cancelling(void *ctx, size_t a, size_t b)
{
    atomic_store(&g_cancel_flag, 1);
    return pt_distance(ctx, a, b);
}

static void test_hac_cancel(void **state)
{
    (void)state;
    points p;
    int labels[MAX_POINTS];
    points_init(&p, GROUPED, N_GROUPED);
    atomic_store(&g_cancel_flag, 0);
    diarize__hac_ops ops = {pt_distance_cancelling, pt_merge, NULL, &p};
    bool cancelled = false;
    int k = diarize__hac(&ops, N_GROUPED, 0, 0, 0, labels, &g_cancel_flag, &cancelled);
    assert_int_equal(k, -1);
    assert_true(cancelled);

    /* a flag that stays down changes nothing */
    atomic_int down = 0;
    points_init(&p, GROUPED, N_GROUPED);
    ops.distance = pt_distance;
    k = diarize__hac(&ops, N_GROUPED, 0, 0, 0, labels, &down, &cancelled);
    assert_int_equal(k, 3);
    assert_false(cancelled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfft_matches_naive_dft),
        cmocka_unit_test(test_rfft_plan_rejects_bad_sizes),
        cmocka_unit_test(test_frontend_pitch_of_harmonic_tones),
        cmocka_unit_test(test_frontend_noise_is_unvoiced),
        cmocka_unit_test(test_frontend_frame_count),
        cmocka_unit_test(test_frontend_streaming_is_identical),
        cmocka_unit_test(test_vad_bridges_short_gap),
        cmocka_unit_test(test_vad_keeps_long_gap),
        cmocka_unit_test(test_vad_drops_short_burst),
        cmocka_unit_test(test_vad_silence),
        cmocka_unit_test(test_vad_from_probs),
        cmocka_unit_test(test_delta_bic_same_and_different),
        cmocka_unit_test(test_stats_logdet_and_merge),
        cmocka_unit_test(test_delta_bic_pitch),
        cmocka_unit_test(test_hac_three_groups),
        cmocka_unit_test(test_hac_count_constraints),
        cmocka_unit_test(test_hac_tiny_inputs),
        cmocka_unit_test(test_hac_refused_pair),
        cmocka_unit_test(test_hac_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
