/* cluster_cut: from a dendrogram to pyannote 3.1's training clusters
 * (AgglomerativeClustering.cluster): the cut at the threshold, the split
 * into large and small clusters by min_cluster_size, the search for another
 * cut when the count of large clusters breaks the min/max/num constraints,
 * and the re-assignment of each small cluster to the large cluster whose
 * centroid is closest in cosine distance.
 *
 * Cluster numbers follow pyannote exactly: scipy's fcluster numbers flat
 * clusters in its depth-first walk from the root (internal children, left
 * then right, before leaf children), and the final labels are the ranks of
 * the surviving large clusters in that numbering.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

double pyannote__cosine_distance(const double *u, const double *v, int dim)
{
    double dot = 0.0, uu = 0.0, vv = 0.0;
    for (int i = 0; i < dim; i++) {
        dot += u[i] * v[i];
        uu += u[i] * u[i];
        vv += v[i] * v[i];
    }
    return 1.0 - dot / (sqrt(uu) * sqrt(vv));
}

int pyannote__fcluster(const pyannote__merge *z, size_t n, const double *crit, double cutoff,
                       int *labels)
{
    /* explicit stack: node (row index), whether inside a flat cluster, and
     * phase (0: entering, 1: children done, label the leaf children) */
    size_t *node = malloc(2 * n * sizeof *node);
    uint8_t *flags = malloc(2 * n);
    if (!node || !flags) {
        free(node);
        free(flags);
        return -1;
    }
    int count = 0;
    size_t top = 0;
    node[top] = n - 2;
    flags[top++] = 0;
    while (top > 0) {
        top--;
        size_t r = node[top];
        int inside = flags[top] & 1, phase = flags[top] >> 1;
        size_t left = (size_t)z[r].a, right = (size_t)z[r].b;
        if (phase == 0) {
            if (!inside && crit[r] <= cutoff) {
                count++;
                inside = 1;
            }
            node[top] = r;
            flags[top++] = (uint8_t)(inside | 2);
            if (right >= n) {
                node[top] = right - n;
                flags[top++] = (uint8_t)inside;
            }
            if (left >= n) {
                node[top] = left - n;
                flags[top++] = (uint8_t)inside;
            }
            continue;
        }
        if (left < n) {
            count += !inside;
            labels[left] = count - 1;
        }
        if (right < n) {
            count += !inside;
            labels[right] = count - 1;
        }
    }
    free(node);
    free(flags);
    return count;
}

/* A cut and its cluster sizes. */
typedef struct {
    int *labels;  /* n */
    int *counts;  /* per flat cluster */
    int n_flat;
    int n_large;
} cut;

static int apply_cut(const pyannote__merge *z, size_t n, const double *crit, double cutoff,
                     int mcs, cut *c)
{
    int k = pyannote__fcluster(z, n, crit, cutoff, c->labels);
    if (k < 0)
        return -1;
    memset(c->counts, 0, n * sizeof *c->counts);
    for (size_t i = 0; i < n; i++)
        c->counts[c->labels[i]]++;
    c->n_flat = k;
    c->n_large = 0;
    for (int j = 0; j < k; j++)
        c->n_large += c->counts[j] >= mcs;
    return 0;
}

typedef struct {
    double key;
    int index;
} keyed;

static int keyed_cmp(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* pyannote's search for a cut with num large clusters: merge iterations in
 * order of |height - threshold| (stable), skipping merges that make a
 * cluster smaller than mcs; the first exact count wins, else the closest. */
static int search_cut(const pyannote__merge *z, size_t n, double threshold, int mcs, int num,
                      cut *c)
{
    int rc = -1;
    keyed *order = malloc((n - 1) * sizeof *order);
    double *iter = malloc((n - 1) * sizeof *iter);
    if (!order || !iter)
        goto cleanup;
    for (size_t k = 0; k + 1 < n; k++) {
        order[k].key = fabs(z[k].height - threshold);
        order[k].index = (int)k;
        iter[k] = (double)k;
    }
    qsort(order, n - 1, sizeof *order, keyed_cmp);
    size_t best_it = n - 1;
    int best_large = 1, found = 0;
    for (size_t k = 0; k + 1 < n; k++) {
        int it = order[k].index;
        if (z[it].size < mcs)
            continue;
        if (apply_cut(z, n, iter, it, mcs, c) < 0)
            goto cleanup;
        if (abs(c->n_large - num) < abs(best_large - num)) {
            best_it = (size_t)it;
            best_large = c->n_large;
        }
        if (c->n_large == num) {
            found = 1;
            break;
        }
    }
    if (!found && best_large != num && apply_cut(z, n, iter, (double)best_it, mcs, c) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(order);
    free(iter);
    return rc;
}

/* Small clusters join the large cluster with the nearest centroid (cosine,
 * first on ties); labels become ranks among the large clusters. */
static int absorb_small(const double *x, size_t n, int dim, int mcs, cut *c, int *labels)
{
    int k = c->n_flat;
    double *mean = calloc((size_t)k * (size_t)dim, sizeof *mean);
    int *rank = malloc((size_t)k * sizeof *rank);
    if (!mean || !rank) {
        free(mean);
        free(rank);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        double *m = mean + (size_t)c->labels[i] * (size_t)dim;
        for (int d = 0; d < dim; d++)
            m[d] += x[i * (size_t)dim + (size_t)d];
    }
    int n_large = 0;
    for (int j = 0; j < k; j++) {
        for (int d = 0; d < dim; d++)
            mean[(size_t)j * (size_t)dim + (size_t)d] /= c->counts[j];
        rank[j] = c->counts[j] >= mcs ? n_large++ : -1;
    }
    for (int j = 0; j < k; j++) {
        if (rank[j] >= 0)
            continue;
        double best = INFINITY;
        for (int l = 0; l < k; l++) {
            if (c->counts[l] < mcs)
                continue;
            double d = pyannote__cosine_distance(mean + (size_t)l * (size_t)dim,
                                                 mean + (size_t)j * (size_t)dim, dim);
            if (d < best || (isnan(d) && !isnan(best))) {
                best = d;
                rank[j] = rank[l];
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        labels[i] = rank[c->labels[i]];
    free(mean);
    free(rank);
    return 0;
}

static void normalise_rows(double *x, size_t n, int dim)
{
    for (size_t i = 0; i < n; i++) {
        double *r = x + i * (size_t)dim, s = 0.0;
        for (int d = 0; d < dim; d++)
            s += r[d] * r[d];
        s = sqrt(s);
        for (int d = 0; d < dim; d++)
            r[d] /= s;
    }
}

static double *subtree_max(const pyannote__merge *z, size_t n)
{
    double *md = malloc((n - 1) * sizeof *md);
    if (!md)
        return NULL;
    for (size_t k = 0; k + 1 < n; k++) {
        double m = z[k].height;
        if ((size_t)z[k].a >= n && md[(size_t)z[k].a - n] > m)
            m = md[(size_t)z[k].a - n];
        if ((size_t)z[k].b >= n && md[(size_t)z[k].b - n] > m)
            m = md[(size_t)z[k].b - n];
        md[k] = m;
    }
    return md;
}

int pyannote__agglomerate(double *x, size_t n, int dim, const pyannote_cluster_params *p,
                          int min_clusters, int max_clusters, int num_clusters, int *labels,
                          char *err, size_t errlen)
{
    int rc = PYANNOTE_OK;
    pyannote__merge *z = NULL;
    double *md = NULL;
    cut c = {0};
    long reduced = lrint(0.1 * (double)n); /* Python's round: half to even */
    int mcs = p->min_cluster_size < (reduced > 1 ? reduced : 1)
                  ? p->min_cluster_size
                  : (int)(reduced > 1 ? reduced : 1);
    if (n == 1) {
        labels[0] = 0;
        return PYANNOTE_OK;
    }
    normalise_rows(x, n, dim);
    z = malloc((n - 1) * sizeof *z);
    c.labels = malloc(n * sizeof *c.labels);
    c.counts = malloc(n * sizeof *c.counts);
    if (!z || !c.labels || !c.counts)
        goto nomem;
    rc = pyannote__centroid_linkage(x, n, dim, z, err, errlen);
    if (rc != PYANNOTE_OK)
        goto cleanup;
    md = subtree_max(z, n);
    if (!md || apply_cut(z, n, md, p->threshold, mcs, &c) < 0)
        goto nomem;
    if (c.n_large < min_clusters)
        num_clusters = min_clusters;
    else if (c.n_large > max_clusters)
        num_clusters = max_clusters;
    if (num_clusters > 0 && c.n_large != num_clusters &&
        search_cut(z, n, p->threshold, mcs, num_clusters, &c) < 0)
        goto nomem;
    if (c.n_large == 0) {
        memset(labels, 0, n * sizeof *labels);
    } else if (absorb_small(x, n, dim, mcs, &c, labels) < 0) {
        goto nomem;
    }
    goto cleanup;
nomem:
    rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                   "clustering: out of memory for %zu embeddings of dimension %d", n, dim);
cleanup:
    free(z);
    free(md);
    free(c.labels);
    free(c.counts);
    return rc;
}
