/* emb_conv_amx: the convolutions of the embedding ResNet (all but the
 * one-channel stem) as an implicit GEMM on AMX tiles, with no im2col copy.
 *
 * Roles: the activation is the A operand (tile rows = 16 consecutive
 * output positions, 32 input channels each), the weights the B operand
 * (VNNI: rows = input channel pairs, columns = 16 output channels), the
 * accumulator 16 positions x 16 output channels. In the channel-blocked
 * layout of pyannote__emb_bf16 the A tile of a kernel tap (kh, kw) is 1 KiB
 * of contiguous memory starting on a cache line, whatever the tap: row kh
 * of the zero-bordered plane, 16 columns from one fixed by kw. Stride-2
 * convolutions read the phase-split layout, where the inputs of 16
 * consecutive outputs are again 16 consecutive columns (the even or the odd
 * positions); the 1x1 stride-2 shortcut is the centre tap alone. The K
 * loop runs over (tap, 32-channel blocks) against weight tiles packed in
 * that order here. Each group of four accumulator tiles (32 positions x 32
 * output channels) is stored to a small buffer and goes through the
 * epilogue (bias, residual, ReLU, all in float32 as the F32 path does them)
 * while the next group computes; one epilogue item is one position's 16
 * channels, a contiguous 64 bytes in every layout it reads or writes.
 *
 * BF16X3 sums hi*lo + hi*hi + lo*hi per K step (hi and lo the bfloat16
 * split of activations and weights), as gemm_amx.c does.
 *
 * Work: one unit is a band of output rows (all positions, all output
 * channels); threads take units in turn. Every element's sum runs in the
 * same order whichever thread computes it and however the rows are banded,
 * so results do not depend on the thread count. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/amx_asm.h"
#include "pyannote/internal.h"
#include "util/util.h"

#define CB 32    /* channels per block of the activation layout */
#define TILE 512 /* bf16 values per operand tile */

struct pyannote__emb_amx_conv {
    int cin, cout, taps;
    int kblocks; /* taps x cin / 32 */
    int parts;   /* 2: hi and lo tiles (BF16X3), 1: hi only */
    /* B tiles: output block ob (16 channels), K block kb = tap * (cin / 32)
     * + input block: ((ob * kblocks + kb) * parts + part) * TILE; value
     * (pair r, output n, e) at r * 32 + n * 2 + e. */
    uint16_t *tiles;
    /* The one-channel stem instead: its float32 weights, tap-major
     * (9 x cout), for pyannote__emb_stem_amx; tiles is NULL. */
    float *stem;
};

void pyannote__emb_conv_amx_free(struct pyannote__emb_amx_conv *w)
{
    if (!w)
        return;
    free(w->tiles);
    free(w->stem);
    free(w);
}

#ifdef PYANNOTE__AMX_ASM

/* Weight (o, ci, tap) into its place in the B tiles. */
static void pack_one(struct pyannote__emb_amx_conv *p, int o, int ci, int tap, float v)
{
    int kb = tap * (p->cin / CB) + ci / CB, r = ci % CB / 2, e = ci % 2;
    size_t t = ((size_t)(o / 16) * (size_t)p->kblocks + (size_t)kb) * (size_t)p->parts;
    uint16_t *hi = p->tiles + t * TILE + r * 32 + (o % 16) * 2 + e;
    *hi = amx_f32_to_bf16(v);
    if (p->parts == 2)
        hi[TILE] = amx_f32_to_bf16(v - amx_bf16_to_f32(*hi));
}

/* The stem's weights (cout x 9) kept as float32, tap-major. */
static int prepare_stem(pyannote__emb_conv *c, const float *w, char *err, size_t errlen)
{
    struct pyannote__emb_amx_conv *p = calloc(1, sizeof *p);
    float *wf = malloc((size_t)c->cout * 9 * sizeof *wf);
    if (!p || !wf) {
        free(p);
        free(wf);
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory packing the stem");
    }
    for (int o = 0; o < c->cout; o++)
        for (int t = 0; t < 9; t++)
            wf[(size_t)t * (size_t)c->cout + (size_t)o] = w[(size_t)o * 9 + (size_t)t];
    p->cin = 1;
    p->cout = c->cout;
    p->taps = 9;
    p->stem = wf;
    c->amx = p;
    return PYANNOTE_OK;
}

int pyannote__emb_conv_amx_prepare(pyannote__emb_conv *c, const float *w, char *err, size_t errlen)
{
    c->amx = NULL;
    pyannote__gemm_mode mode = pyannote__matrix_mode(c->w);
    if (mode != PYANNOTE__GEMM_F32 && c->cin == 1 && c->k == 3 && c->stride == 1 &&
        c->cout % CB == 0)
        return prepare_stem(c, w, err, errlen);
    bool shape_ok =
        (c->k == 3 && (c->stride == 1 || c->stride == 2)) || (c->k == 1 && c->stride == 2);
    if (mode == PYANNOTE__GEMM_F32 || !shape_ok || c->cin % CB != 0 || c->cout % CB != 0)
        return PYANNOTE_OK;
    struct pyannote__emb_amx_conv *p = calloc(1, sizeof *p);
    if (!p)
        goto nomem;
    p->cin = c->cin;
    p->cout = c->cout;
    p->taps = c->k * c->k;
    p->kblocks = p->taps * (c->cin / CB);
    p->parts = mode == PYANNOTE__GEMM_BF16X3 ? 2 : 1;
    size_t count = (size_t)(c->cout / 16) * (size_t)p->kblocks * (size_t)p->parts * TILE;
    p->tiles = aligned_alloc(64, count * sizeof *p->tiles);
    if (!p->tiles)
        goto nomem;
    for (int o = 0; o < c->cout; o++)
        for (int ci = 0; ci < c->cin; ci++)
            for (int t = 0; t < p->taps; t++)
                pack_one(p, o, ci, t, w[((size_t)o * (size_t)c->cin + (size_t)ci) * p->taps + t]);
    c->amx = p;
    return PYANNOTE_OK;
nomem:
    pyannote__emb_conv_amx_free(p);
    return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                     "out of memory packing a %d x %d x %d x %d convolution for AMX", c->cout,
                     c->cin, c->k, c->k);
}

typedef struct {
    const pyannote__emb_conv *c;
    const pyannote__emb_bf16 *x;
    const float *res;
    float *y;
    const pyannote__emb_bf16 *out;
    bool relu;
    int ho, wo; /* output rows and positions */
    int band;   /* output rows per unit of work */
    /* Per tap, where its inputs for output (0, 0) start, in values from the
     * plane's origin: padded row kh, the column of input position kw - 1. */
    ptrdiff_t tap_off[9];
    atomic_int next; /* next unit to take */
} conv_job;

/* The epilogue of the previous group of accumulator tiles, run a few
 * items at a time between the tile instructions of the current group
 * (where the vector units are idle, and well after the tile stores, whose
 * results reach loads slowly). Item i: tile i / 16, its row i % 16. */
typedef struct {
    const conv_job *j;
    const float *tmp; /* the group's stored tiles: (P0,O0) (P0,O1) (P1,O0) (P1,O1) */
    int ob, pb, oh;   /* first output block (16 channels), first position block */
    int done, total, quota;
} conv_epi;

static void epi_feed(conv_epi *e, int count);

/* ---- the kernel ---------------------------------------------------------------- */

/* Accumulators tmm0..3 = (P0,O0) (P0,O1) (P1,O0) (P1,O1): position blocks
 * P0, P1 (16 each) by output channel blocks O0, O1 (16 each); activation
 * operands in tmm4/5, weights in tmm6/7. xa: the hi activation at the
 * group's first position of output row oh, channel block 0 (tap offsets to
 * add; P1 is 16 columns on, lo lo_off values on, the next channel block
 * x->blk on); wt: O0's hi tile of K block 0 (O1 o1off values on, the next K
 * block astep on, lo TILE on). The flags are constants at each call, so
 * each variant compiles branch-free. */
static inline __attribute__((always_inline)) void conv_kernel(const conv_job *j, const uint16_t *xa,
                                                              ptrdiff_t lo_off, const uint16_t *wt,
                                                              size_t astep, size_t o1off,
                                                              conv_epi *epi, bool two_p, bool split)
{
    const pyannote__emb_bf16 *x = j->x;
    int ncb = x->c / CB, taps = j->c->amx->taps;
    AMX_ZERO(0);
    AMX_ZERO(1);
    AMX_ZERO(2);
    AMX_ZERO(3);
    const uint16_t *pb = wt;
    for (int tap = 0; tap < taps; tap++) {
        const uint16_t *pa = xa + j->tap_off[tap];
        for (int cb = 0; cb < ncb; cb++, pa += x->blk, pb += astep) {
            const uint16_t *pa1 = pa + 16 * CB, *pb1 = pb + o1off;
            AMX_LOAD(4, pa, 64);
            if (two_p)
                AMX_LOAD(5, pa1, 64);
            if (split) {
                AMX_LOAD(6, pb + TILE, 64);
                AMX_LOAD(7, pb1 + TILE, 64);
                AMX_DP(0, 4, 6); /* hi * lo */
                AMX_DP(1, 4, 7);
                if (two_p) {
                    AMX_DP(2, 5, 6);
                    AMX_DP(3, 5, 7);
                }
            }
            AMX_LOAD(6, pb, 64);
            AMX_LOAD(7, pb1, 64);
            AMX_DP(0, 4, 6); /* hi * hi */
            AMX_DP(1, 4, 7);
            if (two_p) {
                AMX_DP(2, 5, 6);
                AMX_DP(3, 5, 7);
            }
            if (split) {
                AMX_LOAD(4, pa + lo_off, 64);
                if (two_p)
                    AMX_LOAD(5, pa1 + lo_off, 64);
                AMX_DP(0, 4, 6); /* lo * hi */
                AMX_DP(1, 4, 7);
                if (two_p) {
                    AMX_DP(2, 5, 6);
                    AMX_DP(3, 5, 7);
                }
            }
            if (epi->done < epi->total)
                epi_feed(epi, epi->quota);
        }
    }
}

static void conv_kernel_any(const conv_job *j, const uint16_t *xa, ptrdiff_t lo_off,
                            const uint16_t *wt, size_t astep, size_t o1off, conv_epi *epi,
                            bool two_p, bool split)
{
    if (split && two_p)
        conv_kernel(j, xa, lo_off, wt, astep, o1off, epi, true, true);
    else if (split)
        conv_kernel(j, xa, lo_off, wt, astep, o1off, epi, false, true);
    else if (two_p)
        conv_kernel(j, xa, lo_off, wt, astep, o1off, epi, true, false);
    else
        conv_kernel(j, xa, lo_off, wt, astep, o1off, epi, false, false);
}

static void store_acc(float *tmp, bool two_p)
{
    AMX_STORE(0, tmp, 64);
    AMX_STORE(1, tmp + 256, 64);
    if (two_p) {
        AMX_STORE(2, tmp + 512, 64);
        AMX_STORE(3, tmp + 768, 64);
    }
}

/* ---- the epilogue -------------------------------------------------------------- */

/* Column of position p in a layout's row. */
static inline int out_column(const pyannote__emb_bf16 *o, int p)
{
    if (!o->phase)
        return p + 1;
    return p % 2 ? (p + 1) / 2 : o->seg + p / 2;
}

/* Output channels co0 .. co0 + 15 (a stored accumulator row acc) of
 * position p of row oh: v = act(acc + bias + res), in the F32 path's order
 * ((acc + bias) + res, then ReLU as v > 0 ? v : 0), into y and / or out. */
AMX_AVX512 static void epilogue_row(const conv_job *j, const float *acc, int co0, int oh, int p)
{
    size_t at =
        (((size_t)(co0 / CB) * (size_t)j->ho + (size_t)oh) * (size_t)j->wo + (size_t)p) * CB +
        (size_t)(co0 % CB);
    __m512 v = _mm512_add_ps(_mm512_load_ps(acc), _mm512_loadu_ps(j->c->bias + co0));
    if (j->res)
        v = _mm512_add_ps(v, _mm512_loadu_ps(j->res + at));
    if (j->relu)
        v = _mm512_max_ps(v, _mm512_setzero_ps()); /* NaN -> 0, -0 -> +0, as v > 0 ? v : 0 */
    if (j->y)
        _mm512_storeu_ps(j->y + at, v);
    const pyannote__emb_bf16 *o = j->out;
    if (o) {
        __m256i hi, lo;
        amx_bf16_split16(v, o->lo != NULL, &hi, &lo);
        size_t vat = (size_t)(co0 / CB) * o->blk +
                     ((size_t)(oh + 1) * (size_t)o->wp + (size_t)out_column(o, p)) * CB +
                     (size_t)(co0 % CB);
        _mm256_storeu_si256((__m256i *)(o->hi + vat), hi);
        if (o->lo)
            _mm256_storeu_si256((__m256i *)(o->lo + vat), lo);
    }
}

static void epi_feed(conv_epi *e, int count)
{
    int end = e->total - e->done < count ? e->total : e->done + count;
    for (; e->done < end; e->done++) {
        int t = e->done / 16, r = e->done % 16;
        int p = 16 * (e->pb + t / 2) + r;
        if (p < e->j->wo)
            epilogue_row(e->j, e->tmp + 256 * t + 16 * r, 16 * (e->ob + t % 2), e->oh, p);
    }
}

/* ---- work ---------------------------------------------------------------------- */

/* Output rows [r0, r1): every block pair of output channels (outer, so
 * that its slice of the weights is reused from L2 over the band's rows) by
 * every row by every block pair of positions. tmp holds two groups of
 * stored tiles: one being computed, the previous one going through the
 * epilogue meanwhile. */
static void conv_band(const conv_job *j, int r0, int r1, float *tmp)
{
    const pyannote__emb_bf16 *x = j->x;
    const struct pyannote__emb_amx_conv *wt = j->c->amx;
    bool split = wt->parts == 2;
    size_t astep = (size_t)wt->parts * TILE, o1off = (size_t)wt->kblocks * astep;
    ptrdiff_t lo_off = split ? x->lo - x->hi : 0;
    int nblocks = (j->wo + 15) / 16, ksteps = wt->kblocks, slot = 0;
    conv_epi epi = {.j = j};
    for (int ob = 0; ob < wt->cout / 16; ob += 2) {
        const uint16_t *w0 = wt->tiles + (size_t)ob * o1off;
        for (int oh = r0; oh < r1; oh++) {
            const uint16_t *row = x->hi + (size_t)(j->c->stride * oh) * (size_t)x->wp * CB;
            for (int pb = 0; pb < nblocks; pb += 2) {
                bool two_p = pb + 1 < nblocks;
                epi.quota = (epi.total - epi.done + ksteps - 1) / ksteps;
                conv_kernel_any(j, row + (size_t)pb * 16 * CB, lo_off, w0, astep, o1off, &epi,
                                two_p, split);
                epi_feed(&epi, epi.total);
                float *acc = tmp + 1024 * slot;
                store_acc(acc, two_p);
                epi = (conv_epi){
                    .j = j, .tmp = acc, .ob = ob, .pb = pb, .oh = oh, .total = two_p ? 64 : 32};
                slot = 1 - slot;
            }
        }
    }
    epi_feed(&epi, epi.total);
}

static void *conv_worker(void *p)
{
    conv_job *j = p;
    float *tmp = aligned_alloc(64, 2048 * sizeof *tmp);
    if (!tmp)
        return (void *)1;
    amx_configure();
    for (;;) {
        int oh = atomic_fetch_add(&j->next, 1) * j->band;
        if (oh >= j->ho)
            break;
        conv_band(j, oh, oh + j->band < j->ho ? oh + j->band : j->ho, tmp);
    }
    amx_release();
    free(tmp);
    return NULL;
}

/* Tap (kh, kw) of output (0, 0) reads padded row kh (input row kh - 1)
 * and input position kw - 1: column kw of a plain row; in a phase-split
 * row position -1 is the odd segment's column 0, position 0 the even
 * segment's column 0, position 1 the odd segment's column 1. A 1x1 stride-2
 * convolution (no padding) is the 3x3 one's centre tap. */
static void set_taps(conv_job *j)
{
    const pyannote__emb_bf16 *x = j->x;
    int col[3] = {0, 1, 2};
    if (x->phase) {
        col[1] = x->seg;
        col[2] = 1;
    }
    if (j->c->k == 1) {
        j->tap_off[0] = ((ptrdiff_t)x->wp + col[1]) * CB;
        return;
    }
    for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++)
            j->tap_off[kh * 3 + kw] = ((ptrdiff_t)kh * x->wp + col[kw]) * CB;
}

int pyannote__emb_conv_amx_run(const pyannote__emb_conv *c, const pyannote__emb_bf16 *x,
                               const float *res, bool relu, float *y, const pyannote__emb_bf16 *out,
                               pyannote__emb_pool *pool, int n_threads, char *err, size_t errlen)
{
    int ho = pyannote__emb_conv_out(x->h, c->k, c->stride);
    int wo = pyannote__emb_conv_out(x->w, c->k, c->stride);
    if (!c->amx || c->amx->stem || x->c != c->cin || x->phase != (c->stride == 2) ||
        (out && (out->c != c->cout || out->h != ho || out->w != wo)))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "AMX convolution %d -> %d (%dx%d, stride %d) on a %d-channel %d x %d"
                         " input: unsupported",
                         c->cin, c->cout, c->k, c->k, c->stride, x->c, x->h, x->w);
    if ((x->lo != NULL) != (c->amx->parts == 2))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "AMX convolution: input and weights disagree on the bf16 split");
    conv_job j = {.c = c, .x = x, .res = res, .y = y, .out = out, .relu = relu, .ho = ho, .wo = wo};
    set_taps(&j);
    atomic_init(&j.next, 0);
    if (out)
        pyannote__emb_bf16_clear_border(out);
    int nt = n_threads < 1 ? 1 : n_threads;
    nt = nt > ho ? ho : nt;
    /* Consecutive rows share input rows, and every row reads all the
     * weights: bands of rows read most of both from L2. About four bands
     * per thread keep the threads evenly loaded on a busy machine, but when
     * the weights outgrow L2 (layer 4: 2.4 MB in BF16X3) streaming them
     * once per row would cost more than it balances: one band per thread. */
    size_t w_bytes = (size_t)c->cout * (size_t)c->amx->kblocks * CB * (size_t)c->amx->parts * 2;
    int units = w_bytes > (1u << 20) ? nt : 4 * nt;
    j.band = (ho + units - 1) / units;
    if (pyannote__emb_parallel(pool, conv_worker, &j, nt))
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                         "out of memory for the AMX convolution's accumulator buffer");
    return PYANNOTE_OK;
}

/* ---- the stem ------------------------------------------------------------------ */

typedef struct {
    const pyannote__emb_conv *c;
    const float *x; /* h x w */
    int h, w;
    const pyannote__emb_bf16 *out;
    float *fb;
    atomic_int next; /* next row */
} stem_job;

/* x[r][i], zero outside (the convolution's padding). */
static inline float stem_in(const stem_job *j, int r, int i)
{
    return r < 0 || r >= j->h || i < 0 || i >= j->w ? 0.0f : j->x[(size_t)r * (size_t)j->w + i];
}

/* Position p of row r: 16 output channels from co0 at a time, the nine
 * taps summed in order (fused multiply-adds), then bias and ReLU. */
AMX_AVX512 static void stem_position(const stem_job *j, int r, int p)
{
    const struct pyannote__emb_amx_conv *wt = j->c->amx;
    float in[9];
    for (int t = 0; t < 9; t++)
        in[t] = stem_in(j, r + t / 3 - 1, p + t % 3 - 1);
    for (int co0 = 0; co0 < wt->cout; co0 += 16) {
        __m512 acc = _mm512_setzero_ps();
        for (int t = 0; t < 9; t++)
            acc = _mm512_fmadd_ps(_mm512_set1_ps(in[t]),
                                  _mm512_loadu_ps(wt->stem + (size_t)t * (size_t)wt->cout + co0),
                                  acc);
        __m512 v = _mm512_add_ps(acc, _mm512_loadu_ps(j->c->bias + co0));
        v = _mm512_max_ps(v, _mm512_setzero_ps());
        size_t at =
            (((size_t)(co0 / CB) * (size_t)j->h + (size_t)r) * (size_t)j->w + (size_t)p) * CB +
            (size_t)(co0 % CB);
        _mm512_storeu_ps(j->fb + at, v);
        const pyannote__emb_bf16 *o = j->out;
        __m256i hi, lo;
        amx_bf16_split16(v, o->lo != NULL, &hi, &lo);
        size_t vat = (size_t)(co0 / CB) * o->blk +
                     ((size_t)(r + 1) * (size_t)o->wp + (size_t)p + 1) * CB + (size_t)(co0 % CB);
        _mm256_storeu_si256((__m256i *)(o->hi + vat), hi);
        if (o->lo)
            _mm256_storeu_si256((__m256i *)(o->lo + vat), lo);
    }
}

static void *stem_worker(void *p)
{
    stem_job *j = p;
    for (;;) {
        int r = atomic_fetch_add(&j->next, 1);
        if (r >= j->h)
            return NULL;
        for (int i = 0; i < j->w; i++)
            stem_position(j, r, i);
    }
}

int pyannote__emb_stem_amx(const pyannote__emb_conv *c, const float *x, int h, int w,
                           const pyannote__emb_bf16 *out, float *fb, pyannote__emb_pool *pool,
                           int n_threads, char *err, size_t errlen)
{
    if (!c->amx || !c->amx->stem || out->c != c->cout || out->h != h || out->w != w || out->phase)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "AMX stem: %d x %d input, %d channels out: unsupported", h, w, c->cout);
    stem_job j = {.c = c, .x = x, .h = h, .w = w, .out = out, .fb = fb};
    atomic_init(&j.next, 0);
    pyannote__emb_bf16_clear_border(out);
    int nt = n_threads < 1 ? 1 : n_threads;
    pyannote__emb_parallel(pool, stem_worker, &j, nt > h ? h : nt);
    return PYANNOTE_OK;
}

#else /* no AMX on this target: prepare never builds c->amx */

int pyannote__emb_stem_amx(const pyannote__emb_conv *c, const float *x, int h, int w,
                           const pyannote__emb_bf16 *out, float *fb, pyannote__emb_pool *pool,
                           int n_threads, char *err, size_t errlen)
{
    (void)c;
    (void)pool;
    (void)x;
    (void)out;
    (void)fb;
    (void)n_threads;
    return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                     "AMX stem on a %d x %d input on a build without AMX", h, w);
}

int pyannote__emb_conv_amx_prepare(pyannote__emb_conv *c, const float *w, char *err, size_t errlen)
{
    (void)w;
    (void)err;
    (void)errlen;
    c->amx = NULL;
    return PYANNOTE_OK;
}

int pyannote__emb_conv_amx_run(const pyannote__emb_conv *c, const pyannote__emb_bf16 *x,
                               const float *res, bool relu, float *y, const pyannote__emb_bf16 *out,
                               pyannote__emb_pool *pool, int n_threads, char *err, size_t errlen)
{
    (void)c;
    (void)pool;
    (void)x;
    (void)res;
    (void)relu;
    (void)y;
    (void)out;
    (void)n_threads;
    return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "AMX convolution on a build without AMX");
}

#endif
