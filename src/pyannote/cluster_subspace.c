/* cluster_subspace: an orthonormal basis of the directions along which a
 * set of embeddings spreads most (the top eigenvectors of X^T X, by a few
 * rounds of orthogonal iteration). The centroid linkage projects centroids
 * on it: a projection onto orthonormal directions never lengthens a
 * vector, so projected distances are cheap lower bounds of the true ones.
 * Speakers differ mostly along a few directions while the within-speaker
 * noise spreads over all of them, so the bounds separate speakers well.
 *
 * Only the pruning's efficiency depends on how good the basis is; any
 * orthonormal basis gives valid bounds, so results never depend on it.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

#define ITERATIONS 6

static double dot(const double *a, const double *b, int dim)
{
    double s = 0.0;
    for (int i = 0; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

/* Modified Gram-Schmidt, twice per row for orthogonality to rounding
 * level; a row that vanishes is replaced by a unit axis. */
static void orthonormalise(double *q, int r, int dim)
{
    int axis = 0;
    for (int i = 0; i < r; i++) {
        double *v = q + (size_t)i * (size_t)dim;
        for (int attempt = 0; attempt <= dim; attempt++) {
            for (int pass = 0; pass < 2; pass++)
                for (int j = 0; j < i; j++) {
                    const double *u = q + (size_t)j * (size_t)dim;
                    double c = dot(v, u, dim);
                    for (int k = 0; k < dim; k++)
                        v[k] -= c * u[k];
                }
            double norm = sqrt(dot(v, v, dim));
            if (norm > 1e-6) {
                for (int k = 0; k < dim; k++)
                    v[k] /= norm;
                break;
            }
            memset(v, 0, (size_t)dim * sizeof *v);
            v[axis++ % dim] = 1.0;
        }
    }
}

int pyannote__subspace(const double *x, size_t n, int dim, int r, double *q, char *err,
                       size_t errlen)
{
    double *m = malloc((size_t)dim * (size_t)dim * sizeof *m);
    double *z = malloc((size_t)r * (size_t)dim * sizeof *z);
    if (!m || !z) {
        free(m);
        free(z);
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                         "clustering: out of memory for a %d x %d scatter matrix", dim, dim);
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, (int)n, 1.0, x, dim, 0.0, m, dim);
    for (int i = 0; i < dim; i++)
        for (int j = 0; j < i; j++)
            m[(size_t)i * (size_t)dim + (size_t)j] = m[(size_t)j * (size_t)dim + (size_t)i];
    for (int i = 0; i < r; i++) /* start from points spread over the input */
        memcpy(q + (size_t)i * (size_t)dim, x + ((size_t)i * n / (size_t)r) * (size_t)dim,
               (size_t)dim * sizeof *q);
    orthonormalise(q, r, dim);
    for (int it = 0; it < ITERATIONS; it++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r, dim, dim, 1.0, q, dim, m, dim,
                    0.0, z, dim);
        memcpy(q, z, (size_t)r * (size_t)dim * sizeof *q);
        orthonormalise(q, r, dim);
    }
    free(m);
    free(z);
    return PYANNOTE_OK;
}
