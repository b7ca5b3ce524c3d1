/* vad: which 10 ms frames hold speech — from the Silero network's
 * probabilities when its model is available (silero.c), else from the
 * frames' log energy alone. The energy
 * threshold adapts to the recording: it sits a fixed share of the way from
 * the noise floor (a low percentile) to the speech level (a high one), with
 * the floor never taken as more than 60 dB below the speech level, so
 * digital silence between synthetic turns does not drag it down. Then
 * short gaps are bridged (pauses inside a sentence stay speech) and short
 * bursts (clicks) are dropped.
 */
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "diarize/builtin_internal.h"

#define FLOOR_PERCENTILE 0.10
#define PEAK_PERCENTILE 0.95
#define MAX_DYNAMIC_RANGE_DB 60.0
#define THRESHOLD_SHARE 0.30
#define MIN_MARGIN_DB 6.0
#define BRIDGE_FRAMES 25   /* gaps up to 0.25 s stay speech */
#define MIN_SPEECH_FRAMES 10 /* bursts under 0.1 s are not speech */
/* Silero probabilities: speech starts at SILERO_ON and lasts while the
 * probability stays above SILERO_OFF (hysteresis keeps a word's weak
 * syllables inside it). Lower than Silero's usual 0.5: on meeting audio
 * (bench/diarize.sh, AMI) quiet speakers scored 0.3-0.5, and missing them
 * cost more than the little noise this admits (DER 35% -> 30%). */
#define SILERO_ON 0.3f
#define SILERO_OFF 0.15f

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Percentiles from a sorted copy (or a coarse sample of long inputs, which
 * is plenty for a threshold and bounds the sort). */
static void energy_levels(const float *energy, size_t n, double *floor_db, double *peak_db)
{
    size_t step = n > 200000 ? n / 200000 + 1 : 1;
    size_t m = (n + step - 1) / step;
    float *copy = malloc(m * sizeof *copy);
    if (!copy) { /* a threshold from the extremes is still usable */
        float lo = energy[0], hi = energy[0];
        for (size_t i = 1; i < n; i++) {
            lo = energy[i] < lo ? energy[i] : lo;
            hi = energy[i] > hi ? energy[i] : hi;
        }
        *floor_db = lo;
        *peak_db = hi;
        return;
    }
    for (size_t i = 0, j = 0; i < n; i += step)
        copy[j++] = energy[i];
    qsort(copy, m, sizeof *copy, cmp_float);
    *floor_db = copy[(size_t)(FLOOR_PERCENTILE * (double)(m - 1))];
    *peak_db = copy[(size_t)(PEAK_PERCENTILE * (double)(m - 1))];
    free(copy);
}

/* Sets runs of value v shorter than min_len (not touching the ends when
 * interior_only) to !v. */
static void drop_short_runs(unsigned char *s, size_t n, unsigned char v, size_t min_len,
                            bool interior_only)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] != v) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && s[j] == v)
            j++;
        bool at_edge = i == 0 || j == n;
        if (j - i < min_len && !(interior_only && at_edge))
            memset(s + i, !v, j - i);
        i = j;
    }
}

static void smooth_mask(unsigned char *speech, size_t n)
{
    drop_short_runs(speech, n, 0, BRIDGE_FRAMES, true);
    drop_short_runs(speech, n, 1, MIN_SPEECH_FRAMES, false);
}

void diarize__vad_from_probs(const float *probs, size_t n_chunks, size_t chunk_samples,
                             size_t n, unsigned char *speech)
{
    bool on = false;
    for (size_t i = 0; i < n; i++) {
        size_t c = ((size_t)i * DIARIZE__HOP + DIARIZE__WIN / 2) / chunk_samples;
        float p = c < n_chunks ? probs[c] : 0.0f;
        on = on ? p >= SILERO_OFF : p >= SILERO_ON;
        speech[i] = on;
    }
    smooth_mask(speech, n);
}

void diarize__vad(const float *energy, size_t n, unsigned char *speech)
{
    if (n == 0)
        return;
    double floor_db, peak_db;
    energy_levels(energy, n, &floor_db, &peak_db);
    if (floor_db < peak_db - MAX_DYNAMIC_RANGE_DB)
        floor_db = peak_db - MAX_DYNAMIC_RANGE_DB;
    double margin = THRESHOLD_SHARE * (peak_db - floor_db);
    if (margin < MIN_MARGIN_DB)
        margin = MIN_MARGIN_DB;
    double threshold = floor_db + margin;
    /* Absolute floor: below about -70 dBFS nothing is speech, whatever the
     * recording's levels (this also makes pure silence zero speakers). */
    if (threshold < -70.0)
        threshold = -70.0;
    for (size_t i = 0; i < n; i++)
        speech[i] = energy[i] > threshold;
    smooth_mask(speech, n);
}
