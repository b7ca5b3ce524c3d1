/* emb_conv: one 2-D convolution of the embedding ResNet as packed-weight
 * products. The output positions (ho x wo, flattened) are cut into tiles
 * of a width fixed by the layer's shape alone; for each tile the input
 * patches are gathered (im2col) into the thread's column buffer, multiplied
 * by the folded weights straight into the output, and the epilogue (bias,
 * residual, ReLU) runs on the tile while it is still in cache.
 *
 * Invariant: a tile is computed identically whichever thread takes it, so
 * results do not depend on the thread count; the column buffer never
 * exceeds PYANNOTE__EMB_TILE_FLOATS floats, whatever the input length. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

#define MAX_THREADS 64

typedef struct {
    const pyannote__emb_conv *c;
    const float *x;
    const float *res;
    float *y;
    int h, w, ho, wo;
    int tile;    /* output columns per tile */
    int n_tiles;
    bool relu;
    float *cols; /* n_threads x PYANNOTE__EMB_TILE_FLOATS */
    atomic_int next;
    int rc[MAX_THREADS]; /* per thread */
    char err[256];
    atomic_flag err_taken;
} conv_job;

int pyannote__emb_conv_out(int in, int k, int stride)
{
    return (in + 2 * (k / 2) - k) / stride + 1;
}

/* Tile width: as many columns as fit the buffer, a multiple of 16 so the
 * product's column blocks stay whole. */
static int tile_width(int rows, int positions)
{
    int t = PYANNOTE__EMB_TILE_FLOATS / rows;
    t -= t % 16;
    if (t < 16)
        t = 16;
    return t < positions ? t : positions;
}

/* Row (ci, kh, kw) of the column buffer for output positions [p0, p1). */
static void gather_row(const conv_job *j, int ci, int kh, int kw, int p0, int p1, float *dst)
{
    const pyannote__emb_conv *c = j->c;
    int pad = c->k / 2, s = c->stride;
    const float *plane = j->x + (size_t)ci * j->h * j->w;
    int p = p0;
    while (p < p1) {
        int oh = p / j->wo, ow = p % j->wo;
        int run = j->wo - ow;
        if (run > p1 - p)
            run = p1 - p;
        int ih = oh * s + kh - pad;
        if (ih < 0 || ih >= j->h) {
            memset(dst, 0, (size_t)run * sizeof *dst);
        } else {
            const float *src = plane + (size_t)ih * j->w;
            if (s == 1) {
                /* Inside the row the patch is a plain copy; only the
                 * padding columns at either end are zero. */
                int off = ow + kw - pad, lo = off < 0 ? -off : 0;
                int hi = j->w - off < run ? j->w - off : run;
                hi = hi < lo ? lo : hi;
                memset(dst, 0, (size_t)lo * sizeof *dst);
                memcpy(dst + lo, src + off + lo, (size_t)(hi - lo) * sizeof *dst);
                memset(dst + hi, 0, (size_t)(run - hi) * sizeof *dst);
            } else {
                /* Strided: the columns whose source lies inside the row
                 * are [lo, hi); zero outside. */
                int off = ow * s + kw - pad;
                int lo = off < 0 ? (-off + s - 1) / s : 0;
                int hi = off < j->w ? (j->w - off + s - 1) / s : 0;
                lo = lo > run ? run : lo;
                hi = hi > run ? run : (hi < lo ? lo : hi);
                for (int i = 0; i < lo; i++)
                    dst[i] = 0.0f;
                const float *from = src + off;
                for (int i = lo; i < hi; i++)
                    dst[i] = from[i * s];
                for (int i = hi; i < run; i++)
                    dst[i] = 0.0f;
            }
        }
        dst += run;
        p += run;
    }
}

static void im2col(const conv_job *j, int p0, int p1, float *cols)
{
    const pyannote__emb_conv *c = j->c;
    int n = p1 - p0, r = 0;
    for (int ci = 0; ci < c->cin; ci++)
        for (int kh = 0; kh < c->k; kh++)
            for (int kw = 0; kw < c->k; kw++, r++)
                gather_row(j, ci, kh, kw, p0, p1, cols + (size_t)r * n);
}

/* y[i] = act(y[i] + b + res[i]) over n values. The body works on blocks
 * of a fixed 16 values so the compiler vectorizes it at -O2; the same
 * operations in the same order run on the tail, so every element gets the
 * same result wherever the tile boundaries fall. */
#define EPI_BLOCK 16

static inline float epi_one(float y, float b, float r, bool relu)
{
    float v = y + b + r;
    return relu ? (v > 0.0f ? v : 0.0f) : v;
}

static void epilogue_row(float *restrict y, const float *restrict res, float b, int n, bool relu)
{
    int i = 0;
    if (res && relu)
        for (; i + EPI_BLOCK <= n; i += EPI_BLOCK)
            for (int k = 0; k < EPI_BLOCK; k++)
                y[i + k] = epi_one(y[i + k], b, res[i + k], true);
    else if (res)
        for (; i + EPI_BLOCK <= n; i += EPI_BLOCK)
            for (int k = 0; k < EPI_BLOCK; k++)
                y[i + k] = epi_one(y[i + k], b, res[i + k], false);
    else if (relu)
        for (; i + EPI_BLOCK <= n; i += EPI_BLOCK)
            for (int k = 0; k < EPI_BLOCK; k++)
                y[i + k] = epi_one(y[i + k], b, 0.0f, true);
    else
        for (; i + EPI_BLOCK <= n; i += EPI_BLOCK)
            for (int k = 0; k < EPI_BLOCK; k++)
                y[i + k] = epi_one(y[i + k], b, 0.0f, false);
    for (; i < n; i++)
        y[i] = epi_one(y[i], b, res ? res[i] : 0.0f, relu);
}

static void epilogue(const conv_job *j, int p0, int p1)
{
    size_t plane = (size_t)j->ho * j->wo;
    for (int co = 0; co < j->c->cout; co++)
        epilogue_row(j->y + co * plane + p0, j->res ? j->res + co * plane + p0 : NULL,
                     j->c->bias[co], p1 - p0, j->relu);
}

static int run_tile(conv_job *j, int tile, float *cols, char *err, size_t errlen)
{
    int positions = j->ho * j->wo;
    int p0 = tile * j->tile, p1 = p0 + j->tile;
    if (p1 > positions)
        p1 = positions;
    const pyannote__emb_conv *c = j->c;
    const float *x = cols;
    int ldx = p1 - p0;
    if (c->k == 1 && c->stride == 1) {
        /* A 1x1 unstrided convolution reads the input planes as they are. */
        x = j->x + p0;
        ldx = positions;
    } else {
        im2col(j, p0, p1, cols);
    }
    int rc = pyannote__matrix_mul(c->w, x, ldx, p1 - p0, j->y + p0, positions, false, err, errlen);
    if (rc == PYANNOTE_OK)
        epilogue(j, p0, p1);
    return rc;
}

typedef struct {
    conv_job *job;
    int index;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    conv_job *j = a->job;
    float *cols = j->cols + (size_t)a->index * PYANNOTE__EMB_TILE_FLOATS;
    char err[256];
    for (;;) {
        int tile = atomic_fetch_add(&j->next, 1);
        if (tile >= j->n_tiles)
            break;
        int rc = run_tile(j, tile, cols, err, sizeof err);
        if (rc != PYANNOTE_OK) {
            j->rc[a->index] = rc;
            if (!atomic_flag_test_and_set(&j->err_taken))
                util_strlcpy(j->err, err, sizeof j->err);
            break;
        }
    }
    return NULL;
}

int pyannote__emb_conv_run(const pyannote__emb_conv *c, const float *x, int h, int w,
                           const float *res, bool relu, float *y, pyannote__emb_work *work,
                           char *err, size_t errlen)
{
    conv_job j = {
        .c = c, .x = x, .res = res, .y = y, .h = h, .w = w, .relu = relu, .cols = work->cols,
        .ho = pyannote__emb_conv_out(h, c->k, c->stride),
        .wo = pyannote__emb_conv_out(w, c->k, c->stride),
        .err_taken = ATOMIC_FLAG_INIT,
    };
    int positions = j.ho * j.wo;
    j.tile = tile_width(c->cin * c->k * c->k, positions);
    j.n_tiles = (positions + j.tile - 1) / j.tile;
    atomic_init(&j.next, 0);
    int nt = work->n_threads < 1 ? 1 : work->n_threads;
    nt = nt > MAX_THREADS ? MAX_THREADS : nt;
    nt = nt > j.n_tiles ? j.n_tiles : nt;
    pthread_t tid[MAX_THREADS];
    worker_arg args[MAX_THREADS];
    int started = 1;
    for (int t = 0; t < nt; t++)
        args[t] = (worker_arg){.job = &j, .index = t};
    for (int t = 1; t < nt; t++, started++)
        if (pthread_create(&tid[t], NULL, worker, &args[t]) != 0)
            break; /* the threads that did start, and this one, share the tiles */
    worker(&args[0]);
    for (int t = 1; t < started; t++)
        pthread_join(tid[t], NULL);
    for (int t = 0; t < nt; t++)
        if (j.rc[t] != PYANNOTE_OK)
            return util_errf(err, errlen, j.rc[t], "%s", j.err);
    return PYANNOTE_OK;
}
