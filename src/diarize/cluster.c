/* cluster: groups of speech frames into speakers. The Bayesian
 * information criterion on full-covariance Gaussians of cepstra and pitch
 * (bic.c) orders the merges; the number of speakers comes from when to
 * stop: two groups join as long as one voice explains them nearly as well
 * as two — a log-likelihood gain per frame below MAX_GAIN_PER_FRAME, after
 * an allowance for the noise of estimating a Gaussian from little speech.
 * A per-frame gain does not grow with the amount of speech the way the BIC
 * itself does, so the same rule holds for a one-minute clip and an hour.
 */
#include <stdlib.h>

#include "diarize/builtin_internal.h"

/* BIC penalty weight (1.0 is the textbook value): orders the merges. */
#define LAMBDA_PIECES 1.0
/* Largest log-likelihood gain per frame (nats) of two voices over one at
 * which two groups still count as one speaker, and the allowance, in
 * parameters of the model, for the gain that estimation noise alone gives
 * (about one nat per parameter for small groups). Tuned on synthetic
 * conversations of 2-8 voices: within one voice the gain mostly stays
 * below 1.0 and between two voices mostly starts above 1.5; the rare cases
 * in between (a short turn said on a higher pitch, two voices a few per
 * cent apart) are where this engine miscounts. */
#define MAX_GAIN_PER_FRAME 1.4
#define NOISE_ALLOWANCE 4.0
#define PIECE_PARAMS (0.5 * (DIARIZE__DIM + DIARIZE__TRI + 2))

/* Pieces as full-covariance Gaussians, for the first clustering. */
typedef struct {
    diarize__stats *stats;
    double *logdet;
    double lambda;
    double max_gain;
} piece_ctx;

static double piece_distance(void *ctx, size_t a, size_t b)
{
    piece_ctx *c = ctx;
    return diarize__delta_bic(&c->stats[a], c->logdet[a], &c->stats[b], c->logdet[b], c->lambda);
}

static void piece_merge(void *ctx, size_t into, size_t from)
{
    piece_ctx *c = ctx;
    diarize__stats_merge(&c->stats[into], &c->stats[from]);
    c->logdet[into] = diarize__stats_logdet(&c->stats[into]);
}

static bool piece_may_join(void *ctx, size_t a, size_t b)
{
    piece_ctx *c = ctx;
    double g = diarize__delta_bic(&c->stats[a], c->logdet[a], &c->stats[b], c->logdet[b], 0.0);
    g -= NOISE_ALLOWANCE * PIECE_PARAMS;
    return g / (c->stats[a].n + c->stats[b].n) < c->max_gain;
}

/* Groups of speech frames (group_of[t] for speech frame t, n of them) into
 * speakers (labels per speech frame), with the BIC ordering the merges and
 * piece_may_join deciding when to stop. Returns k or -1. */
int diarize__cluster(const diarize_params *p, const diarize__features *feats,
                     const diarize__speech *pc, const int *group_of, size_t n, int min_k,
                     int max_k, int *labels)
{
    piece_ctx ctx = {calloc(n + 1, sizeof *ctx.stats), malloc((n + 1) * sizeof *ctx.logdet),
                     LAMBDA_PIECES, MAX_GAIN_PER_FRAME};
    int *group_label = malloc((n + 1) * sizeof *group_label);
    int k = -1;
    if (!ctx.stats || !ctx.logdet || !group_label)
        goto cleanup;
    for (size_t t = 0; t < pc->n; t++)
        diarize__stats_add(&ctx.stats[group_of[t]], &feats->mfcc[pc->idx[t] * DIARIZE__DIM],
                           feats->pitch[pc->idx[t]]);
    for (size_t i = 0; i < n; i++)
        ctx.logdet[i] = diarize__stats_logdet(&ctx.stats[i]);
    diarize__hac_ops ops = {piece_distance, piece_merge, piece_may_join, &ctx};
    bool stop = false;
    k = diarize__hac(&ops, n, min_k, max_k, p->num_speakers, group_label, p->cancel, &stop);
    if (k >= 0)
        for (size_t t = 0; t < pc->n; t++)
            labels[t] = group_label[group_of[t]];

cleanup:
    free(ctx.stats);
    free(ctx.logdet);
    free(group_label);
    return k;
}
