/* gmm: diagonal-covariance Gaussian mixtures over the engine's cepstral
 * frames — training one on a list of frames (grown by splitting components
 * and refined by EM; deterministic) and scoring frames against one.
 *
 * The engine trains a single mixture per recording, the background model
 * (UBM), on all its speech; speakers are then described by how their frames
 * shift the UBM's means (ustats.c, reseg.c). Tying every speaker to the same
 * components is what lets two stretches with different words still be
 * compared sound for sound.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"

#define D DIARIZE__DIM
#define EM_ROUNDS 4   /* EM iterations after each split */
#define VAR_FLOOR 0.01
#define MAX_TRAIN_FRAMES 60000 /* frames beyond this are subsampled */

void diarize__gmm_prepare(diarize__gmm *g)
{
    for (int c = 0; c < g->m; c++) {
        double s = D * log(2.0 * M_PI);
        for (int i = 0; i < D; i++) {
            s += log(g->var[c][i]);
            g->ivar[c][i] = 1.0f / (float)g->var[c][i];
        }
        g->gconst[c] = log(g->w[c] > 1e-10 ? g->w[c] : 1e-10) - 0.5 * s;
    }
}

double diarize__gmm_component_ll(const diarize__gmm *g, int c, const float *mean, const float *x)
{
    float acc = 0.0f;
    for (int i = 0; i < D; i++) {
        float d = x[i] - mean[i];
        acc += d * d * g->ivar[c][i];
    }
    return g->gconst[c] - 0.5 * acc;
}

double diarize__gmm_loglik(const diarize__gmm *g, const float *x, double *post)
{
    double lp[DIARIZE__MAX_COMPONENTS], best = -DBL_MAX;
    for (int c = 0; c < g->m; c++) {
        lp[c] = diarize__gmm_component_ll(g, c, g->mean[c], x);
        if (lp[c] > best)
            best = lp[c];
    }
    double sum = 0.0;
    for (int c = 0; c < g->m; c++)
        sum += exp(lp[c] - best);
    double total = best + log(sum);
    if (post)
        for (int c = 0; c < g->m; c++)
            post[c] = exp(lp[c] - total);
    return total;
}

typedef struct {
    double n[DIARIZE__MAX_COMPONENTS];
    double s1[DIARIZE__MAX_COMPONENTS][D];
    double s2[DIARIZE__MAX_COMPONENTS][D];
} em_acc;

static void em_step(diarize__gmm *g, const float *mfcc, const size_t *idx, size_t n, size_t step,
                    em_acc *acc)
{
    memset(acc, 0, sizeof *acc);
    double post[DIARIZE__MAX_COMPONENTS];
    double total = 0.0;
    for (size_t t = 0; t < n; t += step) {
        const float *x = &mfcc[idx[t] * D];
        diarize__gmm_loglik(g, x, post);
        for (int c = 0; c < g->m; c++) {
            if (post[c] < 1e-5)
                continue;
            acc->n[c] += post[c];
            for (int i = 0; i < D; i++) {
                acc->s1[c][i] += post[c] * x[i];
                acc->s2[c][i] += post[c] * x[i] * x[i];
            }
        }
        total += 1.0;
    }
    for (int c = 0; c < g->m; c++) {
        if (acc->n[c] < 2.0)
            continue; /* a starved component keeps its old shape */
        g->w[c] = acc->n[c] / total;
        for (int i = 0; i < D; i++) {
            double mu = acc->s1[c][i] / acc->n[c];
            double v = acc->s2[c][i] / acc->n[c] - mu * mu;
            g->mean[c][i] = (float)mu;
            g->var[c][i] = v > VAR_FLOOR ? v : VAR_FLOOR;
        }
    }
    diarize__gmm_prepare(g);
}

/* Doubles the components (or adds the missing ones) by nudging each mean
 * a fifth of a standard deviation either way. */
static void split(diarize__gmm *g, int target)
{
    int m = g->m;
    int grow = m * 2 <= target ? m : target - m;
    for (int c = 0; c < grow; c++) {
        int nc = m + c;
        g->w[c] *= 0.5;
        g->w[nc] = g->w[c];
        for (int i = 0; i < D; i++) {
            float sd = (float)sqrt(g->var[c][i]);
            g->mean[nc][i] = g->mean[c][i] + 0.2f * sd;
            g->mean[c][i] -= 0.2f * sd;
            g->var[nc][i] = g->var[c][i];
        }
    }
    g->m = m + grow;
    diarize__gmm_prepare(g);
}

int diarize__gmm_train(diarize__gmm *g, const float *mfcc, const size_t *idx, size_t n,
                       int components, const atomic_int *cancel)
{
    em_acc *acc = malloc(sizeof *acc);
    if (!acc)
        return -1;
    size_t step = n > MAX_TRAIN_FRAMES ? n / MAX_TRAIN_FRAMES + 1 : 1;
    int target = components < 1 ? 1 : components > DIARIZE__MAX_COMPONENTS
                                          ? DIARIZE__MAX_COMPONENTS
                                          : components;
    memset(g, 0, sizeof *g);
    g->m = 1;
    g->w[0] = 1.0;
    for (int i = 0; i < D; i++)
        g->var[0][i] = 1.0;
    diarize__gmm_prepare(g);
    em_step(g, mfcc, idx, n, step, acc); /* one component: mean and variance */
    int rc = 0;
    while (g->m < target) {
        if (cancel && atomic_load(cancel)) {
            rc = -1;
            break;
        }
        split(g, target);
        for (int r = 0; r < EM_ROUNDS; r++)
            em_step(g, mfcc, idx, n, step, acc);
    }
    free(acc);
    return rc;
}

void diarize__gmm_top(const diarize__gmm *g, const float *x, diarize__top *top)
{
    double post[DIARIZE__MAX_COMPONENTS];
    diarize__gmm_loglik(g, x, post);
    for (int k = 0; k < DIARIZE__TOP; k++) {
        int best = -1;
        for (int c = 0; c < g->m; c++) {
            bool taken = false;
            for (int j = 0; j < k; j++)
                taken |= top->c[j] == c;
            if (!taken && (best < 0 || post[c] > post[best]))
                best = c;
        }
        top->c[k] = (unsigned char)(best < 0 ? 0 : best);
        top->p[k] = best < 0 ? 0.0f : (float)post[best];
    }
}
