/* cluster_linkage: centroid linkage (scipy's method="centroid" on Euclidean
 * distances) without a distance matrix.
 *
 * Why no matrix: pyannote clusters up to ~10^4 embeddings for an hour of
 * audio (3,600 chunks x 3 local speakers), and a condensed matrix of that
 * many distances is 400 MB in double (200 MB in float). Centroid linkage
 * only needs each cluster's centroid and size (the distance between two
 * clusters is the distance between their centroids, the centroid of a
 * merge is the size-weighted mean), so we keep n centroids (n x dim
 * doubles: 20 MB for 10^4 x 256) and recompute distances when needed.
 *
 * The search is Müllner's "generic" algorithm (the one scipy and
 * fastcluster use for centroid linkage): every slot x keeps a candidate
 * nearest neighbour among the slots above it and a lower bound of that
 * distance. A candidate is either exact (its distance is the true minimum
 * and its slot the lowest at that minimum) or stale (a lower bound only,
 * recomputed when it comes up). After merging x into y, the new centroid's
 * distance to every slot below y is computed once (it may lower their
 * bounds), and slot y's own neighbour is searched afresh; slots whose
 * neighbour was x or y become stale. That is O(n^2) distances of dim
 * values (about 3 n^2 / 2 measured on speaker-like data, plus the stale
 * recomputations): too slow for 10^4 points without pruning.
 *
 * Pruning: every centroid also keeps its projection on PROJ orthonormal
 * directions along which the points spread most (cluster_subspace.c).
 * Projecting never lengthens a vector, so the projected distance is a lower
 * bound, and a pair whose bound already exceeds the distance it must beat
 * (with a margin far above rounding) is skipped without reading its dim
 * values. Speakers differ along few directions while the within-speaker
 * noise spreads over all of them, so most cross-speaker pairs are skipped.
 * Pairs that survive that test are measured first on a float copy of the
 * centroids (half the memory traffic, which bounds the speed once the
 * centroids outgrow the caches) and skipped when even that rough distance,
 * less a bound of its rounding, is too far. Skipping only drops pairs that
 * provably lose, so the result is bit for bit that of the exhaustive
 * search. Memory is O(n (1.5 dim + PROJ)) doubles.
 *
 * Limits: pairs of the same speaker are rarely pruned by the projection,
 * so the work still grows like n^2 / (number of speakers): measured on one
 * thread, 10,800 points of dim 256 take ~5 s with 8 speakers and ~7.5 s
 * with 4; 6,400 points (a realistic hour) 1.4-2 s.
 *
 * Tie rule (shared with tests/pyannote/ref_cluster.py): the pair with the
 * smallest squared distance merges first; among equal distances the lowest
 * slot x, then the lowest slot y; the merge lives on in slot y. scipy's
 * heap may order exact ties differently; only exactly equal distances are
 * affected.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

#define PROJ 32
/* slack on pruning bounds (squared distances; the absolute part in units
 * of the largest squared norm), far above the rounding of the projections
 * and of the basis' orthogonality */
#define PRUNE_REL 1e-6
#define PRUNE_ABS 1e-15
/* slack on the float distance: relative to the distance, and absolute in
 * units of the largest squared norm (a centroid is never longer than the
 * longest point). Rounding the inputs and summing dim squares in float is
 * below 1e-6 of either for dim up to thousands. */
#define F32_REL 1e-4
#define F32_ABS 1e-6

typedef struct {
    size_t n;
    int dim;
    int r;           /* projected dimensions: min(PROJ, dim) */
    double *q;       /* r x dim orthonormal basis */
    double *pr;      /* n x r projections of the slots' centroids */
    double *cent;    /* n x dim centroids, slot-indexed */
    float *c32;      /* the same, rounded to float */
    double scale;    /* largest squared norm of a point */
    int *size;       /* 0 once a slot is merged away */
    int *id;         /* cluster id held by the slot */
    size_t *nb;      /* candidate nearest slot above (n = none) */
    double *bound;   /* squared distance to nb (exact) or a lower bound (stale) */
    uint8_t *stale;
} linkage_state;

/* Squared Euclidean distance, summed in a fixed order the reference
 * (tests/pyannote/ref_cluster.py) reproduces: sixteen interleaved partial
 * sums (element i goes to sum i % 16) over whole blocks of 16, folded as
 * (p[j] + p[j+4]) + (p[j+8] + p[j+12]) then ((j0 + j1) + (j2 + j3)), plus
 * the remaining dim % 16 values summed in order. Four independent vector
 * accumulators hide the adds' latency; the AVX2 clone does in one register
 * what the baseline does in two, with the same roundings (no FMA). */
typedef double pyannote__v4d __attribute__((vector_size(32)));
/* the same, readable at any double's address (GCC's unaligned-load idiom) */
typedef double pyannote__v4du __attribute__((vector_size(32), aligned(8), may_alias));

__attribute__((target_clones("avx2", "default")))
static double dist2(const double *a, const double *b, int dim)
{
    pyannote__v4d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int i = 0;
    for (; i + 16 <= dim; i += 16) {
        const pyannote__v4du *va = (const pyannote__v4du *)(a + i);
        const pyannote__v4du *vb = (const pyannote__v4du *)(b + i);
        pyannote__v4d d0 = va[0] - vb[0], d1 = va[1] - vb[1];
        pyannote__v4d d2 = va[2] - vb[2], d3 = va[3] - vb[3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    double tail = 0.0;
    for (; i < dim; i++) {
        double d = a[i] - b[i];
        tail += d * d;
    }
    pyannote__v4d t = (s0 + s1) + (s2 + s3);
    return ((t[0] + t[1]) + (t[2] + t[3])) + tail;
}

typedef float pyannote__v8f __attribute__((vector_size(32)));
typedef float pyannote__v8fu __attribute__((vector_size(32), aligned(4), may_alias));

/* Squared distance in float, for pruning only. */
__attribute__((target_clones("avx2", "default")))
static float dist2_f32(const float *a, const float *b, int dim)
{
    pyannote__v8f s0 = {0}, s1 = {0};
    int i = 0;
    for (; i + 16 <= dim; i += 16) {
        const pyannote__v8fu *va = (const pyannote__v8fu *)(a + i);
        const pyannote__v8fu *vb = (const pyannote__v8fu *)(b + i);
        pyannote__v8f d0 = va[0] - vb[0], d1 = va[1] - vb[1];
        s0 += d0 * d0;
        s1 += d1 * d1;
    }
    float tail = 0.0f;
    for (; i < dim; i++) {
        float d = a[i] - b[i];
        tail += d * d;
    }
    pyannote__v8f t = s0 + s1;
    return (((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))) + tail;
}

static const double *centroid(const linkage_state *s, size_t slot)
{
    return s->cent + slot * (size_t)s->dim;
}

/* Whether the pair (a, b) surely lies farther than squared distance d2:
 * its projected squared distance (a lower bound) exceeds d2 with margin.
 * The basis comes in order of decreasing spread, and the partial sums only
 * grow, so most far pairs are settled by the first few directions. */
static bool surely_farther(const linkage_state *s, size_t a, size_t b, double d2)
{
    if (!(d2 < INFINITY))
        return false;
    const double *pa = s->pr + a * (size_t)s->r, *pb = s->pr + b * (size_t)s->r;
    double limit = d2 * (1.0 + PRUNE_REL) + PRUNE_ABS * s->scale, sum = 0.0;
    for (int j = 0; j < s->r; j++) {
        double v = pa[j] - pb[j];
        sum += v * v;
        if ((j & 7) == 7 && sum > limit)
            return true;
    }
    if (sum > limit)
        return true;
    double rough = dist2_f32(s->c32 + a * (size_t)s->dim, s->c32 + b * (size_t)s->dim, s->dim);
    return rough > d2 * (1.0 + F32_REL) + F32_ABS * s->scale;
}

static void round_centroid(linkage_state *s, size_t slot)
{
    const double *c = centroid(s, slot);
    float *f = s->c32 + slot * (size_t)s->dim;
    for (int k = 0; k < s->dim; k++)
        f[k] = (float)c[k];
}

static void project(linkage_state *s, size_t slot)
{
    for (int j = 0; j < s->r; j++) {
        const double *u = s->q + (size_t)j * (size_t)s->dim, *c = centroid(s, slot);
        double sum = 0.0;
        for (int k = 0; k < s->dim; k++)
            sum += u[k] * c[k];
        s->pr[slot * (size_t)s->r + (size_t)j] = sum;
    }
}

/* Exact nearest live slot above x: the first (lowest) at the minimum. The
 * old candidate, when alive, is measured first to make pruning effective;
 * the lowest index still wins ties. */
static void find_nearest(linkage_state *s, size_t x)
{
    double best = INFINITY;
    size_t arg = s->n, hint = s->nb[x];
    if (hint < s->n && hint > x && s->size[hint] != 0) {
        best = dist2(centroid(s, x), centroid(s, hint), s->dim);
        arg = hint;
    }
    for (size_t y = x + 1; y < s->n; y++) {
        if (s->size[y] == 0 || y == hint || surely_farther(s, x, y, best))
            continue;
        double d = dist2(centroid(s, x), centroid(s, y), s->dim);
        if (d < best || (d == best && y < arg)) {
            best = d;
            arg = y;
        }
    }
    s->nb[x] = arg;
    s->bound[x] = best;
    s->stale[x] = 0;
}

/* find_nearest for every slot at once, in tiles of TILE x TILE centroids
 * so that each centroid read from memory serves TILE distances (the first
 * pass is most of the work and would otherwise stream all centroids once
 * per slot). Each slot still meets its candidates in increasing order, so
 * the strict comparison keeps the lowest slot among ties. */
#define TILE 64

static void init_nearest(linkage_state *s)
{
    for (size_t x = 0; x < s->n; x++) {
        s->nb[x] = s->n;
        s->bound[x] = INFINITY;
        s->stale[x] = 0;
    }
    for (size_t x0 = 0; x0 < s->n; x0 += TILE) {
        size_t x1 = x0 + TILE < s->n ? x0 + TILE : s->n;
        for (size_t y0 = x0; y0 < s->n; y0 += TILE) {
            size_t y1 = y0 + TILE < s->n ? y0 + TILE : s->n;
            for (size_t x = x0; x < x1; x++) {
                for (size_t y = y0 > x + 1 ? y0 : x + 1; y < y1; y++) {
                    if (surely_farther(s, x, y, s->bound[x]))
                        continue;
                    double d = dist2(centroid(s, x), centroid(s, y), s->dim);
                    if (d < s->bound[x]) {
                        s->bound[x] = d;
                        s->nb[x] = y;
                    }
                }
            }
        }
    }
}

/* The live slot with the smallest (bound, slot), refreshed until exact. */
static size_t next_pair(linkage_state *s)
{
    for (;;) {
        size_t x = s->n;
        for (size_t i = 0; i < s->n; i++) {
            if (s->size[i] == 0 || s->nb[i] == s->n)
                continue;
            if (x == s->n || s->bound[i] < s->bound[x])
                x = i;
        }
        if (x == s->n || !s->stale[x])
            return x; /* s->n: no pair left (only with non-finite input) */
        find_nearest(s, x);
    }
}

/* Merges slot x into slot y and restores the candidates' invariants. */
static void merge(linkage_state *s, size_t x, size_t y)
{
    int dim = s->dim;
    double nx = s->size[x], ny = s->size[y];
    double *cy = s->cent + y * (size_t)dim;
    const double *cx = centroid(s, x);
    for (int i = 0; i < dim; i++)
        cy[i] = (nx * cx[i] + ny * cy[i]) / (nx + ny);
    s->size[y] += s->size[x];
    s->size[x] = 0;
    project(s, y);
    round_centroid(s, y);
    for (size_t z = 0; z < y; z++) {
        if (s->size[z] == 0)
            continue;
        if (surely_farther(s, z, y, s->bound[z])) {
            /* cannot lower z's bound nor tie with it; a lost neighbour
             * leaves z stale, with the merge as its first guess (a live
             * guess speeds up the recomputation's pruning) */
            if (s->nb[z] == x || s->nb[z] == y) {
                s->stale[z] = 1;
                s->nb[z] = y;
            }
            continue;
        }
        double d = dist2(centroid(s, z), cy, dim);
        if (d < s->bound[z]) {
            /* below a bound every other slot respects: the unique minimum */
            s->bound[z] = d;
            s->nb[z] = y;
            s->stale[z] = 0;
        } else if (s->nb[z] == x || s->nb[z] == y) {
            s->stale[z] = 1;
            s->nb[z] = y;
        } else if (d == s->bound[z] && !s->stale[z] && y < s->nb[z]) {
            s->nb[z] = y;
        }
    }
    find_nearest(s, y);
}

static void state_free(linkage_state *s)
{
    free(s->cent);
    free(s->c32);
    free(s->size);
    free(s->id);
    free(s->nb);
    free(s->bound);
    free(s->stale);
    free(s->q);
    free(s->pr);
}

int pyannote__centroid_linkage(const double *x, size_t n, int dim, pyannote__merge *z,
                               char *err, size_t errlen)
{
    int rc = PYANNOTE_OK;
    linkage_state s = {.n = n, .dim = dim, .r = dim < PROJ ? dim : PROJ};
    if (n < 2 || dim < 1 || n > (size_t)INT32_MAX / 2)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "centroid linkage: %zu points of dimension %d (need >= 2 points, "
                         "dimension >= 1)", n, dim);
    s.cent = malloc(n * (size_t)dim * sizeof *s.cent);
    s.c32 = malloc(n * (size_t)dim * sizeof *s.c32);
    s.size = malloc(n * sizeof *s.size);
    s.id = malloc(n * sizeof *s.id);
    s.nb = malloc(n * sizeof *s.nb);
    s.bound = malloc(n * sizeof *s.bound);
    s.stale = malloc(n);
    s.q = malloc((size_t)s.r * (size_t)dim * sizeof *s.q);
    s.pr = malloc(n * (size_t)s.r * sizeof *s.pr);
    if (!s.cent || !s.c32 || !s.size || !s.id || !s.nb || !s.bound || !s.stale || !s.q || !s.pr) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                       "centroid linkage: out of memory for %zu centroids of dimension %d", n,
                       dim);
        goto cleanup;
    }
    memcpy(s.cent, x, n * (size_t)dim * sizeof *s.cent);
    for (size_t i = 0; i < n; i++) {
        s.size[i] = 1;
        s.id[i] = (int)i;
        s.nb[i] = n;
    }
    rc = pyannote__subspace(x, n, dim, s.r, s.q, err, errlen);
    if (rc != PYANNOTE_OK)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        double sq = 0.0;
        for (int k = 0; k < dim; k++)
            sq += x[i * (size_t)dim + (size_t)k] * x[i * (size_t)dim + (size_t)k];
        s.scale = sq > s.scale ? sq : s.scale;
        project(&s, i);
        round_centroid(&s, i);
    }
    init_nearest(&s);
    for (size_t k = 0; k + 1 < n; k++) {
        size_t a = next_pair(&s);
        if (a == n || s.nb[a] == n) {
            rc = util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                           "centroid linkage: no finite distance left after %zu merges of %zu "
                           "points (non-finite input?)", k, n);
            goto cleanup;
        }
        size_t b = s.nb[a];
        int ia = s.id[a], ib = s.id[b];
        z[k].a = ia < ib ? ia : ib;
        z[k].b = ia < ib ? ib : ia;
        z[k].height = sqrt(s.bound[a]);
        z[k].size = s.size[a] + s.size[b];
        merge(&s, a, b);
        s.id[b] = (int)(n + k);
    }
cleanup:
    state_free(&s);
    return rc;
}
