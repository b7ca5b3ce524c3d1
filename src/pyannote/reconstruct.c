/* reconstruct: pyannote 3.1's way back from window-level activity to one
 * global timeline (SpeakerDiarization.reconstruct and the mixin's
 * speaker_count and to_diarization, with Inference.aggregate doing the
 * overlap-add; no Hamming weighting, no warm-up in 3.1).
 *
 * Global frames share the segmentation frames' step and duration and
 * start at 0; chunk c (starting at c * chunk_step) lands at global frame
 * closest_frame(c * chunk_step + duration / 2), which is pyannote.core's
 * rint((t - duration / 2) / step). Per global frame:
 *  - count: the mean, over the chunks covering it, of the number of active
 *    local speakers, in float32 as pyannote, rounded half to even; capped
 *    by max_speakers;
 *  - activation of cluster k: over the chunks covering it, how many have a
 *    local speaker of cluster k active (the max over local speakers of the
 *    same cluster);
 *  - the count clusters with the highest activation speak (ties to the
 *    lowest cluster index). When count exceeds the clusters, pyannote pads
 *    with silent speakers, so a turn's speaker may be >= n_clusters.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

pyannote_timeline_params pyannote_timeline_default_params(void)
{
    pyannote_timeline_params p = {
        .chunk_duration = 10.0,
        .chunk_step = 1.0,
        .min_duration_off = 0.0,
        .max_speakers = 0,
    };
    return p;
}

static long closest_frame(double t)
{
    const double step = (double)PYANNOTE_FRAME_STEP / PYANNOTE_SAMPLE_RATE;
    const double duration = (double)PYANNOTE_FRAME_DURATION / PYANNOTE_SAMPLE_RATE;
    return lrint((t - 0.0 - 0.5 * duration) / step);
}

static size_t chunk_first_frame(const pyannote_timeline_params *p, size_t c)
{
    const double duration = (double)PYANNOTE_FRAME_DURATION / PYANNOTE_SAMPLE_RATE;
    long f = closest_frame(0.0 + (double)c * p->chunk_step + 0.5 * duration);
    return f > 0 ? (size_t)f : 0;
}

static int check_args(const uint8_t *active, size_t n_chunks, size_t n_frames, int n_local,
                      const int *hard, int n_clusters, const pyannote_timeline_params *p,
                      double audio_seconds, pyannote_turn **turns, size_t *n_turns, char *err,
                      size_t errlen)
{
    if (!active || !hard || !p || !turns || !n_turns)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "reconstruction: active, hard_clusters, params, turns and n_turns "
                         "must not be NULL");
    if (n_frames < 1 || n_local < 1 || n_clusters < 0 || n_chunks > (1u << 24) ||
        n_frames > (1u << 20))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "reconstruction: bad shape %zu chunks x %zu frames x %d speakers, "
                         "%d clusters", n_chunks, n_frames, n_local, n_clusters);
    if (!(p->chunk_duration > 0.0) || !(p->chunk_step > 0.0) || !isfinite(p->chunk_duration) ||
        !isfinite(p->chunk_step) || !(p->min_duration_off >= 0.0) || p->max_speakers < 0 ||
        !(audio_seconds >= 0.0) || !isfinite(audio_seconds))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "reconstruction: bad timeline (chunk %g s every %g s, "
                         "min_duration_off %g, max_speakers %d, audio %g s)",
                         p->chunk_duration, p->chunk_step, p->min_duration_off,
                         p->max_speakers, audio_seconds);
    for (size_t i = 0; i < n_chunks * (size_t)n_local; i++)
        if (hard[i] != -2 && (hard[i] < 0 || hard[i] >= n_clusters))
            return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                             "reconstruction: hard_clusters[%zu] = %d, expected -2 or "
                             "0..%d", i, hard[i], n_clusters - 1);
    return PYANNOTE_OK;
}

/* Per global frame: speaker count (rounded, capped) and the activation of
 * each of the k clusters (act: total x k). */
static void aggregate(const uint8_t *active, size_t n_chunks, size_t n_frames, int n_local,
                      const int *hard, int k, const pyannote_timeline_params *p, size_t total,
                      float *sum, float *cover, int *count, int *act)
{
    for (size_t c = 0; c < n_chunks; c++) {
        size_t f0 = chunk_first_frame(p, c);
        const int *hc = hard + c * (size_t)n_local;
        for (size_t f = 0; f < n_frames && f0 + f < total; f++) {
            const uint8_t *a = active + (c * n_frames + f) * (size_t)n_local;
            int on = 0;
            for (int s = 0; s < n_local; s++)
                on += a[s] != 0;
            sum[f0 + f] += (float)on;
            cover[f0 + f] += 1.0f;
            int *row = act + (f0 + f) * (size_t)k;
            for (int j = 0; j < k; j++) {
                int hit = 0;
                for (int s = 0; s < n_local; s++)
                    hit |= hc[s] == j && a[s];
                row[j] += hit;
            }
        }
    }
    for (size_t t = 0; t < total; t++) {
        int n = cover[t] > 0.0f ? (int)rintf(sum[t] / cover[t]) : 0;
        if (p->max_speakers > 0 && n > p->max_speakers)
            n = p->max_speakers;
        count[t] = n;
    }
}

/* The count[t] clusters of highest activation (ties: lowest index) of each
 * frame, as sel (total x cols, cols >= every count). */
static void select_top(const int *act, int k, const int *count, size_t total, int cols,
                       uint8_t *sel)
{
    for (size_t t = 0; t < total; t++) {
        uint8_t *row = sel + t * (size_t)cols;
        for (int i = 0; i < count[t]; i++) {
            int arg = -1, best = -1;
            for (int j = 0; j < cols; j++) {
                int v = j < k ? act[t * (size_t)k + (size_t)j] : 0;
                if (!row[j] && v > best) {
                    best = v;
                    arg = j;
                }
            }
            row[arg] = 1;
        }
    }
}

int pyannote_reconstruct(const uint8_t *active, size_t n_chunks, size_t n_frames, int n_local,
                         const int *hard_clusters, int n_clusters,
                         const pyannote_timeline_params *p, double audio_seconds,
                         pyannote_turn **turns, size_t *n_turns, char *err, size_t errlen)
{
    int rc = check_args(active, n_chunks, n_frames, n_local, hard_clusters, n_clusters, p,
                        audio_seconds, turns, n_turns, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    *turns = NULL;
    *n_turns = 0;
    if (n_chunks == 0)
        return PYANNOTE_OK;
    const double duration = (double)PYANNOTE_FRAME_DURATION / PYANNOTE_SAMPLE_RATE;
    long last = closest_frame(0.0 + p->chunk_duration +
                              (double)(n_chunks - 1) * p->chunk_step + 0.5 * duration);
    size_t total = last >= 0 ? (size_t)last + 1 : 0;
    int k = 0, cols, max_count = 0;
    for (size_t i = 0; i < n_chunks * (size_t)n_local; i++)
        k = hard_clusters[i] + 1 > k ? hard_clusters[i] + 1 : k;
    float *sum = calloc(total + 1, sizeof *sum), *cover = calloc(total + 1, sizeof *cover);
    int *count = calloc(total + 1, sizeof *count);
    int *act = calloc((total + 1) * (size_t)(k ? k : 1), sizeof *act);
    uint8_t *sel = NULL;
    if (!sum || !cover || !count || !act)
        goto nomem;
    aggregate(active, n_chunks, n_frames, n_local, hard_clusters, k, p, total, sum, cover, count,
              act);
    for (size_t t = 0; t < total; t++)
        max_count = count[t] > max_count ? count[t] : max_count;
    cols = k > max_count ? k : max_count;
    if (cols > 0) {
        sel = calloc((total + 1) * (size_t)cols, 1);
        if (!sel)
            goto nomem;
        select_top(act, k, count, total, cols, sel);
        rc = pyannote__frames_to_turns(sel, total, cols, p->min_duration_off, audio_seconds,
                                       turns, n_turns, err, errlen);
    }
    goto cleanup;
nomem:
    rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                   "reconstruction: out of memory for %zu frames x %d clusters", total, k);
cleanup:
    free(sum);
    free(cover);
    free(count);
    free(act);
    free(sel);
    return rc;
}
