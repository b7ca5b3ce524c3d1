/* reseg: frame-level refinement of speaker labels. Each speaker's model is
 * the UBM with its means moved towards that speaker's frames (MAP
 * adaptation); a Viterbi pass over the speech frames then picks, for every
 * frame, the speaker that explains the sequence best with a fixed cost per
 * change of speaker — which is what keeps turns from flickering. Repeating
 * the two steps moves boundaries that the coarse piece-level clustering
 * could only place at piece edges.
 *
 * A frame is scored on its DIARIZE__TOP best UBM components only: the
 * others contribute next to nothing, and this makes a pass cost
 * frames x speakers x TOP x DIM.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"

#define D DIARIZE__DIM
/* Cost (log-likelihood units) of changing speaker between two frames:
 * about what half a second of a clearly better model earns. */
#define SWITCH_PENALTY 40.0

/* Viterbi over n frames with scores ll[t*k + s]; back pointers are bytes. */
static int viterbi(const float *ll, size_t n, int k, int *labels)
{
    double *score = malloc((size_t)k * sizeof *score);
    double *next = malloc((size_t)k * sizeof *next);
    unsigned char *back = malloc(n * (size_t)k);
    int rc = -1;
    if (!score || !next || !back)
        goto cleanup;
    for (int s = 0; s < k; s++)
        score[s] = ll[s];
    for (size_t t = 1; t < n; t++) {
        int best = 0;
        for (int s = 1; s < k; s++)
            if (score[s] > score[best])
                best = s;
        for (int s = 0; s < k; s++) {
            double stay = score[s], jump = score[best] - SWITCH_PENALTY;
            bool from_best = jump > stay;
            next[s] = (from_best ? jump : stay) + ll[t * (size_t)k + (size_t)s];
            back[t * (size_t)k + (size_t)s] = (unsigned char)(from_best ? best : s);
        }
        double *tmp = score;
        score = next;
        next = tmp;
    }
    int s = 0;
    for (int j = 1; j < k; j++)
        if (score[j] > score[s])
            s = j;
    for (size_t t = n; t-- > 0;) {
        labels[t] = s;
        s = back[t * (size_t)k + (size_t)s];
    }
    rc = 0;

cleanup:
    free(score);
    free(next);
    free(back);
    return rc;
}

int diarize__resegment(const float *mfcc, const size_t *idx, const diarize__top *top, size_t n,
                       const diarize__gmm *ubm, int k, int *labels, int iterations,
                       const atomic_int *cancel)
{
    if (k <= 1 || n == 0)
        return 0;
    if (k > 255)
        return -1; /* back pointers are bytes; the engine stays far below */
    diarize__ustats st = {0};
    diarize__speaker_model *models = malloc((size_t)k * sizeof *models);
    float *ll = malloc(n * (size_t)k * sizeof *ll);
    int rc = -1;
    if (!models || !ll || diarize__ustats_new(&st, (size_t)k, ubm->m) != 0)
        goto cleanup;
    for (int it = 0; it < iterations; it++) {
        if (cancel && atomic_load(cancel))
            goto cleanup;
        diarize__ustats_clear(&st);
        for (size_t t = 0; t < n; t++)
            diarize__ustats_add(&st, (size_t)labels[t], &top[t], &mfcc[idx[t] * D]);
        for (int s = 0; s < k; s++)
            diarize__speaker_model_build(&st, (size_t)s, ubm, &models[s]);
        for (size_t t = 0; t < n; t++) {
            const float *x = &mfcc[idx[t] * D];
            for (int s = 0; s < k; s++)
                ll[t * (size_t)k + (size_t)s] =
                    st.frames[s] > 0
                        ? (float)diarize__speaker_score(ubm, &models[s], &top[t], x)
                        : -1e30f;
        }
        if (viterbi(ll, n, k, labels) != 0)
            goto cleanup;
    }
    rc = 0;

cleanup:
    diarize__ustats_free(&st);
    free(models);
    free(ll);
    return rc;
}
