/* speaker_model: a speaker as the recording's background model (UBM) with
 * its means and weights moved towards that speaker's frames by MAP
 * adaptation (relevance factor 16): components the speaker used often
 * follow the speaker, the rest stay as the UBM has them. Frames are scored
 * on their few best UBM components (diarize__top).
 */
#include <float.h>
#include <math.h>

#include "diarize/builtin_internal.h"

#define D DIARIZE__DIM
#define RELEVANCE 16.0

void diarize__speaker_model_build(const diarize__ustats *st, size_t g, const diarize__gmm *ubm,
                                  diarize__speaker_model *out)
{
    size_t m = (size_t)st->m;
    diarize__ustats_map_means(st, ubm, g, RELEVANCE, out->mean);
    double total = 0.0, norm = 0.0;
    for (size_t c = 0; c < m; c++)
        total += st->count[g * m + c];
    for (size_t c = 0; c < m; c++) {
        double n = st->count[g * m + c];
        double alpha = n / (n + RELEVANCE);
        double w = alpha * (total > 0 ? n / total : 0.0) + (1.0 - alpha) * ubm->w[c];
        out->shift[c] = w;
        norm += w;
    }
    /* stored as log w_s,c - log w_c, added to the UBM's constant */
    for (size_t c = 0; c < m; c++) {
        double w = out->shift[c] / norm;
        out->shift[c] = log(w > 1e-10 ? w : 1e-10) - log(ubm->w[c] > 1e-10 ? ubm->w[c] : 1e-10);
    }
}

double diarize__speaker_score(const diarize__gmm *ubm, const diarize__speaker_model *model,
                              const diarize__top *top, const float *x)
{
    double lp[DIARIZE__TOP], best = -DBL_MAX;
    for (int k = 0; k < DIARIZE__TOP; k++) {
        int c = top->c[k];
        lp[k] = diarize__gmm_component_ll(ubm, c, model->mean[c], x) + model->shift[c];
        if (lp[k] > best)
            best = lp[k];
    }
    double sum = 0.0;
    for (int k = 0; k < DIARIZE__TOP; k++)
        sum += exp(lp[k] - best);
    return best + log(sum);
}
