/* cluster: pyannote 3.1's clustering step (BaseClustering.__call__ with
 * AgglomerativeClustering, as the speaker-diarization-3.1 pipeline runs
 * it): keep the active pairs with finite embeddings, resolve the speaker
 * count constraints, cluster them (cluster_cut.c), then assign every
 * active (chunk, speaker) pair to the centroid (mean of the raw training
 * embeddings of a cluster) with the highest 2 - cosine distance; inactive
 * pairs get -2 as the pipeline marks them.
 *
 * Everything is computed in double from the float embeddings (pyannote
 * normalises and averages in float32; the difference only matters for
 * near-exact ties).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

pyannote_cluster_params pyannote_cluster_default_params(void)
{
    pyannote_cluster_params p = {
        .threshold = 0.7045654963945799,
        .min_cluster_size = 12,
        .min_clusters = 0,
        .max_clusters = 0,
        .num_clusters = 0,
    };
    return p;
}

/* Whether an embedding can train the clustering: finite (pyannote drops
 * NaN rows) and not all zeros (pyannote would divide by a zero norm and
 * scipy would refuse the NaNs; we leave such a row out instead). */
static bool row_usable(const float *e, int dim)
{
    bool nonzero = false;
    for (int i = 0; i < dim; i++) {
        if (!isfinite(e[i]))
            return false;
        nonzero = nonzero || e[i] != 0.0f;
    }
    return nonzero;
}

/* ClusteringMixin.set_num_clusters: 0 means unset, as Python's `or`. */
static int resolve_counts(size_t n, const pyannote_cluster_params *p, int *num, int *min_c,
                          int *max_c, char *err, size_t errlen)
{
    long ln = (long)n;
    long lo = p->num_clusters ? p->num_clusters : p->min_clusters ? p->min_clusters : 1;
    long hi = p->num_clusters ? p->num_clusters : p->max_clusters ? p->max_clusters : ln;
    lo = lo < ln ? lo : ln;
    lo = lo > 1 ? lo : 1;
    hi = hi < ln ? hi : ln;
    hi = hi > 1 ? hi : 1;
    if (lo > hi)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "clustering: min_clusters %d exceeds max_clusters %d", p->min_clusters,
                         p->max_clusters);
    *num = lo == hi ? (int)lo : p->num_clusters;
    *min_c = (int)lo;
    *max_c = (int)hi;
    return PYANNOTE_OK;
}

static int check_args(const float *embeddings, const uint8_t *active, size_t n_chunks,
                      int n_local, int dim, const pyannote_cluster_params *p,
                      const int *hard_clusters, const int *n_clusters, char *err, size_t errlen)
{
    if (!embeddings || !active || !p || !hard_clusters || !n_clusters)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "clustering: embeddings, active, params, hard_clusters and "
                         "n_clusters must not be NULL");
    if (n_local < 1 || dim < 1 || n_chunks > SIZE_MAX / (size_t)n_local / (size_t)dim / 8)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "clustering: bad shape %zu chunks x %d speakers x %d values", n_chunks,
                         n_local, dim);
    if (!(p->threshold >= 0.0) || !isfinite(p->threshold) || p->min_cluster_size < 1 ||
        p->min_clusters < 0 || p->max_clusters < 0 || p->num_clusters < 0)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "clustering: bad parameters (threshold %g, min_cluster_size %d, "
                         "min/max/num clusters %d/%d/%d; expected threshold >= 0, sizes >= 1, "
                         "counts >= 0)",
                         p->threshold, p->min_cluster_size, p->min_clusters, p->max_clusters,
                         p->num_clusters);
    return PYANNOTE_OK;
}

/* Centroids of the raw training embeddings (pairs idx[0 .. n-1] of
 * embeddings, in double; k x dim). */
static double *raw_centroids(const float *embeddings, const size_t *idx, size_t n, int dim,
                             const int *labels, int k)
{
    double *cent = calloc((size_t)k * (size_t)dim, sizeof *cent);
    int *count = calloc((size_t)k, sizeof *count);
    if (!cent || !count) {
        free(cent);
        free(count);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        double *c = cent + (size_t)labels[i] * (size_t)dim;
        const float *e = embeddings + idx[i] * (size_t)dim;
        for (int d = 0; d < dim; d++)
            c[d] += (double)e[d];
        count[labels[i]]++;
    }
    for (int j = 0; j < k; j++)
        for (int d = 0; d < dim; d++)
            cent[(size_t)j * (size_t)dim + (size_t)d] /= count[j];
    free(count);
    return cent;
}

/* argmax of 2 - cosine distance over the centroids, numpy style (the first
 * NaN wins, else the first maximum). */
static int nearest_centroid(const double *e, const double *cent, int k, int dim)
{
    int arg = 0;
    double best = -INFINITY;
    for (int j = 0; j < k; j++) {
        double soft = 2.0 - pyannote__cosine_distance(e, cent + (size_t)j * (size_t)dim, dim);
        if (isnan(soft))
            return j;
        if (soft > best) {
            best = soft;
            arg = j;
        }
    }
    return arg;
}

int pyannote_cluster(const float *embeddings, const uint8_t *active, size_t n_chunks, int n_local,
                     int dim, const pyannote_cluster_params *p, int *hard_clusters,
                     int *n_clusters, char *err, size_t errlen)
{
    int rc = check_args(embeddings, active, n_chunks, n_local, dim, p, hard_clusters, n_clusters,
                        err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    size_t pairs = n_chunks * (size_t)n_local, n = 0;
    double *work = NULL, *cent = NULL, *row = NULL;
    size_t *idx = NULL;
    int *labels = NULL;
    int num = 0, min_c = 1, max_c = 1, k = 1;
    *n_clusters = 0;
    for (size_t i = 0; i < pairs; i++)
        n += active[i] && row_usable(embeddings + i * (size_t)dim, dim);
    rc = resolve_counts(n, p, &num, &min_c, &max_c, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    idx = malloc((n ? n : 1) * sizeof *idx);
    work = malloc((n ? n : 1) * (size_t)dim * sizeof *work);
    labels = calloc(n ? n : 1, sizeof *labels);
    row = malloc((size_t)dim * sizeof *row);
    if (!idx || !work || !labels || !row)
        goto nomem;
    for (size_t i = 0, j = 0; i < pairs; i++) {
        const float *e = embeddings + i * (size_t)dim;
        if (!active[i] || !row_usable(e, dim))
            continue;
        for (int d = 0; d < dim; d++)
            work[j * (size_t)dim + (size_t)d] = e[d];
        idx[j++] = i;
    }
    if (max_c >= 2) {
        rc = pyannote__agglomerate(work, n, dim, p, min_c, max_c, num, labels, err, errlen);
        if (rc != PYANNOTE_OK)
            goto cleanup;
        for (size_t i = 0; i < n; i++)
            k = labels[i] + 1 > k ? labels[i] + 1 : k;
        cent = raw_centroids(embeddings, idx, n, dim, labels, k);
        if (!cent)
            goto nomem;
    }
    for (size_t i = 0; i < pairs; i++) {
        const float *e = embeddings + i * (size_t)dim;
        if (!active[i]) {
            hard_clusters[i] = -2;
            continue;
        }
        hard_clusters[i] = 0; /* no clustering, or no usable embedding (NaN scores) */
        if (cent && row_usable(e, dim)) {
            for (int d = 0; d < dim; d++)
                row[d] = e[d];
            hard_clusters[i] = nearest_centroid(row, cent, k, dim);
        }
        *n_clusters = hard_clusters[i] + 1 > *n_clusters ? hard_clusters[i] + 1 : *n_clusters;
    }
    goto cleanup;
nomem:
    rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                   "clustering: out of memory for %zu embeddings of dimension %d", n, dim);
cleanup:
    free(idx);
    free(work);
    free(cent);
    free(row);
    free(labels);
    return rc;
}
