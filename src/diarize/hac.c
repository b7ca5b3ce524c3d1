/* hac: agglomerative clustering — the closest pair of groups joins while
 * joining still costs less than keeping them apart (a negative BIC, given
 * by the caller's distance), within the caller's min/max/exact counts.
 *
 * Cost: the pair table is n(n-1)/2 floats (the engine keeps n in the low
 * thousands), and each group remembers its nearest neighbour so a merge
 * rescans only the rows that pointed at the merged pair.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "diarize/builtin_internal.h"

typedef struct {
    const diarize__hac_ops *ops;
    size_t n;
    float *dist;      /* upper triangle, dist[tri(i, j)] for i < j */
    size_t *nearest;  /* nearest active neighbour of each active group */
    unsigned char *active;
    size_t *parent;   /* group i joined parent[i] (SIZE_MAX = none) */
} hac_state;

static size_t tri(size_t n, size_t i, size_t j)
{
    if (i > j) {
        size_t t = i;
        i = j;
        j = t;
    }
    return i * n - i * (i + 1) / 2 + (j - i - 1);
}

static void find_nearest(hac_state *h, size_t i)
{
    float best = INFINITY;
    size_t arg = SIZE_MAX;
    for (size_t j = 0; j < h->n; j++) {
        if (j == i || !h->active[j])
            continue;
        float d = h->dist[tri(h->n, i, j)];
        if (d < best) {
            best = d;
            arg = j;
        }
    }
    h->nearest[i] = arg;
}

static bool is_cancelled(const atomic_int *cancel)
{
    return cancel && atomic_load(cancel);
}

static int fill_table(hac_state *h, const atomic_int *cancel)
{
    for (size_t i = 0; i < h->n; i++) {
        for (size_t j = i + 1; j < h->n; j++)
            h->dist[tri(h->n, i, j)] = (float)h->ops->distance(h->ops->ctx, i, j);
        if ((i & 63) == 0 && is_cancelled(cancel))
            return -1;
    }
    for (size_t i = 0; i < h->n; i++)
        find_nearest(h, i);
    return 0;
}

/* Group b joins a (a < b); distances and neighbours follow. */
static void join(hac_state *h, size_t a, size_t b)
{
    h->ops->merge(h->ops->ctx, a, b);
    h->active[b] = 0;
    h->parent[b] = a;
    for (size_t j = 0; j < h->n; j++)
        if (j != a && h->active[j])
            h->dist[tri(h->n, a, j)] = (float)h->ops->distance(h->ops->ctx, a, j);
    for (size_t j = 0; j < h->n; j++) {
        if (!h->active[j])
            continue;
        if (j == a || h->nearest[j] == a || h->nearest[j] == b)
            find_nearest(h, j);
        else if (h->dist[tri(h->n, a, j)] < h->dist[tri(h->n, j, h->nearest[j])])
            h->nearest[j] = a;
    }
}

static size_t closest_pair(const hac_state *h, float *best_out)
{
    float best = INFINITY;
    size_t arg = SIZE_MAX;
    for (size_t i = 0; i < h->n; i++) {
        if (!h->active[i] || h->nearest[i] == SIZE_MAX)
            continue;
        float d = h->dist[tri(h->n, i, h->nearest[i])];
        if (d < best) {
            best = d;
            arg = i;
        }
    }
    *best_out = best;
    return arg;
}

/* Clusters numbered 0..k-1 in order of their lowest group. */
static int number_clusters(const hac_state *h, int *labels)
{
    int k = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (h->parent[i] == SIZE_MAX) {
            labels[i] = k++;
            continue;
        }
        labels[i] = labels[h->parent[i]]; /* parents have lower indices */
    }
    return k;
}

int diarize__hac(const diarize__hac_ops *ops, size_t n, int min_k, int max_k, int exact_k,
                 int *labels, const atomic_int *cancel, bool *cancelled)
{
    hac_state h = {ops, n, NULL, NULL, NULL, NULL};
    int k = -1;
    *cancelled = false;
    if (n == 0)
        return 0;
    h.dist = malloc((n * (n - 1) / 2 + 1) * sizeof *h.dist);
    h.nearest = malloc(n * sizeof *h.nearest);
    h.active = malloc(n);
    h.parent = malloc(n * sizeof *h.parent);
    if (!h.dist || !h.nearest || !h.active || !h.parent)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        h.active[i] = 1;
        h.parent[i] = SIZE_MAX;
    }
    if (fill_table(&h, cancel) != 0) {
        *cancelled = true;
        goto cleanup;
    }
    size_t count = n;
    size_t floor_k = exact_k > 0 ? (size_t)exact_k : (size_t)(min_k > 0 ? min_k : 1);
    size_t ceil_k = exact_k > 0 ? (size_t)exact_k : (max_k > 0 ? (size_t)max_k : n);
    while (count > 1 && count > floor_k) {
        float best;
        size_t a = closest_pair(&h, &best);
        if (a == SIZE_MAX)
            break;
        size_t b = h.nearest[a];
        bool join_ok = ops->may_join ? ops->may_join(ops->ctx, a, b) : best < 0.0f;
        if (!join_ok && count <= ceil_k) {
            if (!ops->may_join || !isfinite(best))
                break;
            /* This pair may not join as it stands; others still may, and
             * the pair is judged again if either side grows. */
            h.dist[tri(n, a, b)] = INFINITY;
            find_nearest(&h, a);
            find_nearest(&h, b);
            continue;
        }
        join(&h, a < b ? a : b, a < b ? b : a);
        count--;
        if ((count & 15) == 0 && is_cancelled(cancel)) {
            *cancelled = true;
            goto cleanup;
        }
    }
    k = number_clusters(&h, labels);

cleanup:
    free(h.dist);
    free(h.nearest);
    free(h.active);
    free(h.parent);
    return k;
}
