/* hungarian: maximum-weight one-to-one assignment (Kuhn-Munkres), used to
 * map hypothesis speakers onto reference speakers for the diarization error
 * rate.
 *
 * The classic shortest-augmenting-path form with row and column potentials:
 * rows are added one at a time, each by a Dijkstra-like search over reduced
 * costs (cost - u[row] - v[col] >= 0 throughout), so the whole run is
 * O(n^2 m) for n rows <= m columns. It minimises cost; maximising weight is
 * minimising -weight. A matrix with more rows than columns is solved
 * transposed, because the search needs a free column for every row.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "eval/eval.h"

/* Scratch arrays, all 1-based with slot 0 the virtual "unassigned" column. */
typedef struct {
    double *u, *v, *minv;
    int *p, *way;
    bool *used;
} scratch;

static void scratch_free(scratch *s)
{
    free(s->u);
    free(s->v);
    free(s->minv);
    free(s->p);
    free(s->way);
    free(s->used);
}

static bool scratch_alloc(scratch *s, int n, int m)
{
    s->u = calloc((size_t)n + 1, sizeof *s->u);
    s->v = calloc((size_t)m + 1, sizeof *s->v);
    s->minv = calloc((size_t)m + 1, sizeof *s->minv);
    s->p = calloc((size_t)m + 1, sizeof *s->p);
    s->way = calloc((size_t)m + 1, sizeof *s->way);
    s->used = calloc((size_t)m + 1, sizeof *s->used);
    return s->u && s->v && s->minv && s->p && s->way && s->used;
}

/* Cost of (row i, column j), 1-based, in an n x m problem that may be the
 * transpose of the caller's matrix. */
static double cost(const double *w, int cols, bool transposed, int i, int j)
{
    return transposed ? -w[(size_t)(j - 1) * (size_t)cols + (size_t)(i - 1)]
                      : -w[(size_t)(i - 1) * (size_t)cols + (size_t)(j - 1)];
}

/* Adds row i to the matching along a shortest augmenting path. */
static void add_row(scratch *s, const double *w, int cols, bool tr, int m, int i)
{
    s->p[0] = i;
    int j0 = 0;
    for (int j = 0; j <= m; j++) {
        s->minv[j] = INFINITY;
        s->used[j] = false;
    }
    do {
        s->used[j0] = true;
        int i0 = s->p[j0], j1 = 0;
        double delta = INFINITY;
        for (int j = 1; j <= m; j++) {
            if (s->used[j])
                continue;
            double cur = cost(w, cols, tr, i0, j) - s->u[i0] - s->v[j];
            if (cur < s->minv[j]) {
                s->minv[j] = cur;
                s->way[j] = j0;
            }
            if (s->minv[j] < delta) {
                delta = s->minv[j];
                j1 = j;
            }
        }
        /* Shift potentials so the tree's edges stay tight and the new
         * column's reduced cost becomes zero. */
        for (int j = 0; j <= m; j++) {
            if (s->used[j]) {
                s->u[s->p[j]] += delta;
                s->v[j] -= delta;
            } else {
                s->minv[j] -= delta;
            }
        }
        j0 = j1;
    } while (s->p[j0] != 0);
    /* Flip the path back to the root. */
    do {
        int j1 = s->way[j0];
        s->p[j0] = s->p[j1];
        j0 = j1;
    } while (j0 != 0);
}

static bool weights_valid(const double *w, int rows, int cols)
{
    for (size_t k = 0; k < (size_t)rows * (size_t)cols; k++)
        if (!isfinite(w[k]) || w[k] < 0)
            return false;
    return true;
}

int eval_assign_max(const double *weights, int rows, int cols, int *row_to_col)
{
    if (rows < 0 || cols < 0 || (rows > 0 && !row_to_col) ||
        (rows > 0 && cols > 0 && !weights))
        return EVAL_ERR_INVALID;
    for (int r = 0; r < rows; r++)
        row_to_col[r] = -1;
    if (rows == 0 || cols == 0)
        return EVAL_OK;
    if (!weights_valid(weights, rows, cols))
        return EVAL_ERR_INVALID;

    bool tr = rows > cols;
    int n = tr ? cols : rows, m = tr ? rows : cols;
    scratch s = {0};
    int rc = EVAL_OK;
    if (!scratch_alloc(&s, n, m)) {
        rc = EVAL_ERR_NOMEM;
        goto cleanup;
    }
    for (int i = 1; i <= n; i++)
        add_row(&s, weights, cols, tr, m, i);
    /* p[j] is the (problem) row matched to column j, 0 when none. */
    for (int j = 1; j <= m; j++) {
        if (s.p[j] == 0)
            continue;
        if (tr)
            row_to_col[j - 1] = s.p[j] - 1;
        else
            row_to_col[s.p[j] - 1] = j - 1;
    }

cleanup:
    scratch_free(&s);
    return rc;
}
