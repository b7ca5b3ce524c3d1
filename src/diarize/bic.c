/* bic: stretches of speech as full-covariance Gaussians, and the Bayesian
 * information criterion that decides whether two stretches are better
 * explained by one voice or two (Chen & Gopalakrishnan, 1998):
 *
 *   dBIC = N/2 log|S| - Na/2 log|Sa| - Nb/2 log|Sb| - lambda P
 *   P    = 1/2 (d + d(d+1)/2) log N
 *
 * On stretches of a second or two this is the better judge of "same voice"
 * than the mixture statistics (ustats.c), which on so little speech mostly
 * see that the words differ. Statistics are sums, so joining two stretches
 * costs one addition and one Cholesky factorisation.
 */
#include <math.h>
#include <string.h>

#include "diarize/builtin_internal.h"

#define D DIARIZE__DIM
/* Added to the covariance diagonal: a stretch of a hundred frames in 19
 * dimensions can be nearly singular, and an unbounded log det would make
 * the shortest stretches look the most distinct. */
#define DIAGONAL_LOADING 0.05
#define PITCH_VAR_FLOOR 1e-3
/* Pitch is one number per frame against 19 cepstra, yet between voices
 * with similar vocal tracts (two men, two women) it is the clearest
 * difference, while the cepstra vary as much with the words as with the
 * voice. Counting each voiced frame's pitch as this many observations
 * gives it that weight; tuned on synthetic conversations of 2 to 6 voices
 * (bench/diarize.sh, tests/integration/test_diarize_quality.sh). */
#define PITCH_WEIGHT 10.0

void diarize__stats_add(diarize__stats *s, const float *x, float pitch)
{
    if (pitch > 0.0f) {
        s->pn += 1.0;
        s->psum += pitch;
        s->psq += (double)pitch * pitch;
    }
    s->n += 1.0;
    double *q = s->sq;
    for (int i = 0; i < D; i++) {
        double xi = x[i];
        s->sum[i] += xi;
        for (int j = i; j < D; j++)
            *q++ += xi * x[j];
    }
}

void diarize__stats_merge(diarize__stats *into, const diarize__stats *other)
{
    into->n += other->n;
    for (int i = 0; i < D; i++)
        into->sum[i] += other->sum[i];
    for (int i = 0; i < DIARIZE__TRI; i++)
        into->sq[i] += other->sq[i];
    into->pn += other->pn;
    into->psum += other->psum;
    into->psq += other->psq;
}

static double cholesky_logdet(double a[D][D])
{
    double logdet = 0.0;
    for (int j = 0; j < D; j++) {
        double d = a[j][j];
        for (int k = 0; k < j; k++)
            d -= a[j][k] * a[j][k];
        if (d <= 1e-12)
            d = 1e-12;
        double l = sqrt(d);
        a[j][j] = l;
        logdet += 2.0 * log(l);
        for (int i = j + 1; i < D; i++) {
            double v = a[i][j];
            for (int k = 0; k < j; k++)
                v -= a[i][k] * a[j][k];
            a[i][j] = v / l;
        }
    }
    return logdet;
}

double diarize__stats_logdet(const diarize__stats *s)
{
    double a[D][D];
    double n = s->n > 1.0 ? s->n : 1.0;
    double mean[D];
    for (int i = 0; i < D; i++)
        mean[i] = s->sum[i] / n;
    const double *q = s->sq;
    for (int i = 0; i < D; i++)
        for (int j = i; j < D; j++) {
            double c = *q++ / n - mean[i] * mean[j];
            a[i][j] = a[j][i] = c;
        }
    for (int i = 0; i < D; i++)
        a[i][i] += DIAGONAL_LOADING;
    return cholesky_logdet(a);
}

/* n log variance of the voiced frames' log F0 (floored: a synthetic voice
 * can be nearly monotone). */
static double pitch_term(const diarize__stats *s)
{
    if (s->pn < 2.0)
        return 0.0;
    double m = s->psum / s->pn;
    double v = s->psq / s->pn - m * m;
    return s->pn * log(v > PITCH_VAR_FLOOR ? v : PITCH_VAR_FLOOR);
}

double diarize__delta_bic(const diarize__stats *a, double logdet_a, const diarize__stats *b,
                          double logdet_b, double lambda)
{
    diarize__stats ab = *a;
    diarize__stats_merge(&ab, b);
    double n = ab.n;
    double p = 0.5 * (D + D * (D + 1) / 2.0) * log(n);
    double pitch = PITCH_WEIGHT * 0.5 * (pitch_term(&ab) - pitch_term(a) - pitch_term(b));
    double pp = ab.pn > 1.0 ? log(ab.pn) : 0.0; /* mean and variance */
    return 0.5 * (n * diarize__stats_logdet(&ab) - a->n * logdet_a - b->n * logdet_b) + pitch -
           lambda * (p + pp);
}
