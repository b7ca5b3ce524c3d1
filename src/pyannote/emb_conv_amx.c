/* emb_conv_amx: the convolutions of the embedding ResNet (all but the
 * one-channel stem) as an implicit GEMM on AMX tiles, with no im2col copy.
 *
 * The input is in the bfloat16 VNNI layout of pyannote__emb_vnni, so for a
 * kernel tap (kh, kw), 32 input channels and 16 consecutive output
 * positions of one frequency row, the B operand is a plain strided block of
 * the activation: row r = channel pair r, 16 positions from a column fixed
 * by the tap, one row of the zero-bordered plane fixed by kh. Stride-2
 * convolutions read the phase-split layout, where the inputs of 16
 * consecutive outputs are again 16 consecutive columns (the even or the odd
 * positions); the 1x1 stride-2 shortcut is the centre tap alone. The K loop
 * runs over (tap, 32-channel blocks) against weights packed in that same K
 * order (pyannote__emb_conv_amx_prepare). Each group of four accumulator
 * tiles (32 output channels x 32 positions) is stored to a small buffer and
 * goes through the epilogue (bias, residual, ReLU, all in float32 as the
 * F32 path does them) while the next group computes; it writes float32
 * planes and / or the next layer's VNNI layout directly.
 *
 * BF16X3 sums hi*lo + hi*hi + lo*hi per K step (hi and lo the bfloat16
 * split of weights and activations), as gemm_amx.c does.
 *
 * Work: one unit is a band of output rows (all positions, all output
 * channels); threads take units in turn. Every element's sum runs in the
 * same order whichever thread computes it and however the rows are banded,
 * so results do not depend on the thread count. Per row the input rows it
 * reads (cin x 3 x wp x 4 bytes, <= 450 KiB for the ResNet34 shapes at
 * 10 s) stay in L2 while every block of output channels passes over them,
 * and the next row of the band finds most of them there. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pyannote/amx_asm.h"
#include "pyannote/gemm_amx.h"
#include "pyannote/internal.h"
#include "util/util.h"

int pyannote__emb_conv_amx_prepare(pyannote__emb_conv *c, const float *w, char *err,
                                   size_t errlen)
{
    c->amx = NULL;
    pyannote__gemm_mode mode = pyannote__matrix_mode(c->w);
    bool shape_ok = (c->k == 3 && (c->stride == 1 || c->stride == 2)) ||
                    (c->k == 1 && c->stride == 2);
    if (mode == PYANNOTE__GEMM_F32 || !shape_ok || c->cin % 32 != 0 || c->cout % 32 != 0)
        return PYANNOTE_OK;
    int taps = c->k * c->k;
    size_t kk = (size_t)c->cin * (size_t)taps;
    float *wr = malloc((size_t)c->cout * kk * sizeof *wr);
    if (!wr)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                         "out of memory reordering a %d x %d x %d x %d convolution", c->cout,
                         c->cin, c->k, c->k);
    /* (ci, kh, kw) -> (kh, kw, ci) */
    for (int o = 0; o < c->cout; o++)
        for (int ci = 0; ci < c->cin; ci++)
            for (int t = 0; t < taps; t++)
                wr[(size_t)o * kk + (size_t)t * (size_t)c->cin + (size_t)ci] =
                    w[(size_t)o * kk + (size_t)ci * (size_t)taps + (size_t)t];
    int rc = pyannote__amx_pack(&c->amx, wr, c->cout, (int)kk, mode == PYANNOTE__GEMM_BF16X3,
                                err, errlen);
    free(wr);
    return rc;
}

#ifdef PYANNOTE__AMX_ASM

#define MAX_THREADS 64

typedef struct {
    const pyannote__emb_conv *c;
    const pyannote__emb_vnni *x;
    const float *res;
    float *y;
    const pyannote__emb_vnni *out;
    bool relu;
    int ho, wo;      /* output rows and positions */
    int band;        /* output rows per unit of work */
    int taps;        /* kernel taps: 9, or 1 for the 1x1 shortcut */
    /* Per tap, where its inputs for output (0, 0) start, in values from the
     * padded plane's origin: row stride * 0 + kh, column of position kw - 1
     * (for stride 2, in the segment of its phase). */
    ptrdiff_t tap_off[9];
    atomic_int next; /* next unit to take */
} conv_job;

/* The epilogue of the previous group of accumulator tiles, run a few
 * items at a time between the tile instructions of the current group
 * (where the vector units are idle, and well after the tile stores, whose
 * results reach loads slowly). Item i: tile i / 8, channel pair i % 8. */
typedef struct {
    const conv_job *j;
    const float *tmp; /* the group's stored tiles: (A0,B0) (A0,B1) (A1,B0) (A1,B1) */
    int mb, nb, oh;
    bool two_n;
    int done, total, quota;
} conv_epi;

static void epi_feed(conv_epi *e, int count);

/* Software prefetches, also spread over the K steps: the lines of the
 * residual and of y the current group's epilogue will touch (during the
 * next group), and the input lines the next group of positions will load
 * that the rows above did not bring into cache. There are dozens of
 * interleaved streams (one per channel and plane), too many for the
 * hardware prefetchers to follow. (Prefetching the VNNI output lines as
 * well measured slower.) Items, in order: 3 lines of each of n_res channel
 * rows of res, n_y of y, n_in VNNI rows of the input. */
typedef struct {
    const conv_job *j;
    int co0, oh, ow0;        /* the current group */
    int n_res, n_y;          /* channel rows of res and y (0 when y is res) */
    const uint16_t *in_base; /* the next group's first input line (hi, row kh_first) */
    int kh_first, n_in;      /* input rows from kh_first, times pairs, times planes */
    int done, total, quota;
} conv_pf;

static void pf_feed(conv_pf *f, int count);

/* ---- the kernel ---------------------------------------------------------------- */

/* Accumulators tmm0..3 = (A0,B0) (A0,B1) (A1,B0) (A1,B1): output channel
 * blocks A0, A1 (16 each) by position blocks B0, B1 (16 each); A operands
 * in tmm4/5, B in tmm6/7. a: the A0 hi tile of K block 0 (A1 is a1off
 * values on, the next K block astep on, lo 512 on); b: channel pair 0's hi
 * plane at output row oh, position ow0 (tap offsets to add; lo is lo_off
 * values on). The flags are constants at each call, so each variant
 * compiles branch-free. */
static inline __attribute__((always_inline)) void
conv_kernel(const conv_job *j, const uint16_t *a, size_t astep, size_t a1off, const uint16_t *b,
            ptrdiff_t lo_off, conv_epi *epi, conv_pf *pf, bool two_n, bool split)
{
    const pyannote__emb_vnni *x = j->x;
    long bstride = (long)(x->pair * 2);
    int ncb = x->c / 32;
    size_t cbstep = 16 * x->pair;
    AMX_ZERO(0);
    AMX_ZERO(1);
    AMX_ZERO(2);
    AMX_ZERO(3);
    for (int tap = 0; tap < j->taps; tap++) {
        const uint16_t *pb = b + j->tap_off[tap];
        const uint16_t *pa = a + (size_t)(tap * ncb) * astep;
        for (int cb = 0; cb < ncb; cb++, pb += cbstep, pa += astep) {
            const uint16_t *pa1 = pa + a1off;
            AMX_LOAD(4, pa, 64);
            AMX_LOAD(5, pa1, 64);
            if (split) {
                AMX_LOAD(6, pb + lo_off, bstride);
                if (two_n)
                    AMX_LOAD(7, pb + lo_off + 32, bstride);
                AMX_DP(0, 4, 6); /* hi * lo */
                if (two_n)
                    AMX_DP(1, 4, 7);
                AMX_DP(2, 5, 6);
                if (two_n)
                    AMX_DP(3, 5, 7);
            }
            AMX_LOAD(6, pb, bstride);
            if (two_n)
                AMX_LOAD(7, pb + 32, bstride);
            AMX_DP(0, 4, 6); /* hi * hi */
            if (two_n)
                AMX_DP(1, 4, 7);
            AMX_DP(2, 5, 6);
            if (two_n)
                AMX_DP(3, 5, 7);
            if (split) {
                AMX_LOAD(4, pa + AMX_TILE_ELEMS, 64);
                AMX_LOAD(5, pa1 + AMX_TILE_ELEMS, 64);
                AMX_DP(0, 4, 6); /* lo * hi */
                if (two_n)
                    AMX_DP(1, 4, 7);
                AMX_DP(2, 5, 6);
                if (two_n)
                    AMX_DP(3, 5, 7);
            }
            if (epi->done < epi->total)
                epi_feed(epi, epi->quota);
            if (pf->done < pf->total)
                pf_feed(pf, pf->quota);
        }
    }
}

static void conv_kernel_any(const conv_job *j, const uint16_t *a, size_t astep, size_t a1off,
                            const uint16_t *b, ptrdiff_t lo_off, conv_epi *epi, conv_pf *pf,
                            bool two_n, bool split)
{
    if (split && two_n)
        conv_kernel(j, a, astep, a1off, b, lo_off, epi, pf, true, true);
    else if (split)
        conv_kernel(j, a, astep, a1off, b, lo_off, epi, pf, false, true);
    else if (two_n)
        conv_kernel(j, a, astep, a1off, b, lo_off, epi, pf, true, false);
    else
        conv_kernel(j, a, astep, a1off, b, lo_off, epi, pf, false, false);
}

static void store_acc(float *tmp, bool two_n)
{
    AMX_STORE(0, tmp, 64);
    AMX_STORE(2, tmp + 512, 64);
    if (two_n) {
        AMX_STORE(1, tmp + 256, 64);
        AMX_STORE(3, tmp + 768, 64);
    }
}

/* ---- the epilogue -------------------------------------------------------------- */

/* v = act(acc + bias + res) for 16 positions of channel co, in the F32
 * path's order ((acc + bias) + res, then ReLU as v > 0 ? v : 0). */
AMX_AVX512 static __m512 epi_values(const conv_job *j, const float *acc, int co, size_t at,
                                    __mmask16 m)
{
    __m512 v = _mm512_add_ps(_mm512_load_ps(acc), _mm512_set1_ps(j->c->bias[co]));
    if (j->res)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, j->res + at));
    if (j->relu)
        v = _mm512_max_ps(v, _mm512_setzero_ps()); /* NaN -> 0, -0 -> +0, as v > 0 ? v : 0 */
    return v;
}

/* 16 VNNI pairs (positions ow0 .. ow0 + cnt - 1 of row oh of pair plane
 * p) into out's layout; in the phase-split one the even positions go to
 * the even segment and the odd ones to the odd segment, 8 each. */
static inline __attribute__((always_inline)) AMX_AVX512 void store_vnni(const pyannote__emb_vnni *o, uint16_t *base, __m512i v, int p,
                                  int oh, int ow0, int cnt)
{
    uint16_t *row = base + (size_t)p * o->pair + (size_t)(oh + 1) * (size_t)o->wp * 2;
    if (!o->phase) {
        __mmask32 m32 = (__mmask32)(cnt == 16 ? 0xffffffffu : (1u << (2 * cnt)) - 1u);
        _mm512_mask_storeu_epi16(row + ((size_t)ow0 + 1) * 2, m32, v);
        return;
    }
    /* one 32-bit lane per position: compress the even and the odd lanes */
    __m512i even = _mm512_maskz_compress_epi32((__mmask16)0x5555, v);
    __m512i odd = _mm512_maskz_compress_epi32((__mmask16)0xaaaa, v);
    __mmask16 me = (__mmask16)((1u << ((cnt + 1) / 2)) - 1u);
    __mmask16 mo = (__mmask16)((1u << (cnt / 2)) - 1u);
    _mm512_mask_storeu_epi32(row + ((size_t)o->seg + (size_t)ow0 / 2) * 2, me, even);
    _mm512_mask_storeu_epi32(row + (1 + (size_t)ow0 / 2) * 2, mo, odd);
}

/* Channels co, co + 1 (rows acc, acc + 16 of a stored tile), positions
 * ow0.. of row oh, through the epilogue into y and / or out. */
AMX_AVX512 static void epilogue_pair(const conv_job *j, const float *acc, int co, int oh,
                                     int ow0)
{
    int w = j->wo;
    int cnt = w - ow0 < 16 ? w - ow0 : 16;
    __mmask16 m16 = (__mmask16)((1u << cnt) - 1u);
    size_t plane = (size_t)j->ho * (size_t)w;
    size_t at = (size_t)co * plane + (size_t)oh * (size_t)w + (size_t)ow0;
    __m512 v0 = epi_values(j, acc, co, at, m16);
    __m512 v1 = epi_values(j, acc + 16, co + 1, at + plane, m16);
    if (j->y) {
        _mm512_mask_storeu_ps(j->y + at, m16, v0);
        _mm512_mask_storeu_ps(j->y + at + plane, m16, v1);
    }
    const pyannote__emb_vnni *o = j->out;
    if (o) {
        __m512i hi, lo;
        amx_vnni_pair(v0, v1, o->lo != NULL, &hi, &lo);
        store_vnni(o, o->hi, hi, co / 2, oh, ow0, cnt);
        if (o->lo)
            store_vnni(o, o->lo, lo, co / 2, oh, ow0, cnt);
    }
}

static void epi_feed(conv_epi *e, int count)
{
    int end = e->total - e->done < count ? e->total : e->done + count;
    for (; e->done < end; e->done++) {
        int t = e->done / 8, p = e->done % 8;
        /* with one position block, the tiles are (A0,B0) and (A1,B0) */
        int mi = e->two_n ? t / 2 : t, ni = e->two_n ? t % 2 : 0;
        const float *acc = e->tmp + 256 * (2 * mi + ni) + 32 * p;
        epilogue_pair(e->j, acc, 16 * (e->mb + mi) + 2 * p, e->oh, 16 * (e->nb + ni));
    }
}

/* ---- work ---------------------------------------------------------------------- */

static void pf_feed(conv_pf *f, int count)
{
    const conv_job *j = f->j;
    const pyannote__emb_vnni *x = j->x;
    size_t plane = (size_t)j->ho * (size_t)j->wo;
    int end = f->total - f->done < count ? f->total : f->done + count;
    for (; f->done < end; f->done++) {
        int i = f->done, line = i % 3, r = i / 3;
        if (r < f->n_res) {
            const float *p = j->res + (size_t)(f->co0 + r) * plane +
                             (size_t)f->oh * (size_t)j->wo + (size_t)f->ow0;
            __builtin_prefetch(p + (line == 2 ? 31 : 16 * line), 0, 3);
            continue;
        }
        r -= f->n_res;
        if (r < f->n_y) {
            float *p = j->y + (size_t)(f->co0 + r) * plane + (size_t)f->oh * (size_t)j->wo +
                       (size_t)f->ow0;
            __builtin_prefetch(p + (line == 2 ? 31 : 16 * line), 1, 3);
            continue;
        }
        r -= f->n_y;
        /* r: (row, pair, plane) of the next group's input */
        int plane_i = r % 2, pair = r / 2 % (x->c / 2), kh = f->kh_first + r / x->c;
        const uint16_t *p = f->in_base + (plane_i ? x->lo - x->hi : 0) +
                            (size_t)pair * x->pair + (size_t)kh * (size_t)x->wp * 2;
        __builtin_prefetch(p + (line == 2 ? 67 : 32 * line), 0, 3); /* 34 positions */
    }
}

/* The prefetches made while group (mb, nb) of row oh computes. */
static conv_pf pf_setup(const conv_job *j, int mb, int nb, int oh, bool first_row, int ksteps)
{
    const pyannote__emb_vnni *x = j->x;
    int nblocks = (j->wo + 15) / 16, planes = x->lo ? 2 : 1;
    conv_pf f = {.j = j, .co0 = 16 * mb, .oh = oh, .ow0 = 16 * nb};
    f.n_res = j->res ? 32 : 0;
    f.n_y = j->y && j->y != j->res ? 32 : 0;
    if (mb == 0 && nb + 2 < nblocks && planes == 2 && j->c->stride == 1) {
        /* later channel blocks find the row's input in L2 */
        f.kh_first = first_row ? 0 : 2;
        f.in_base = x->hi + ((size_t)oh * (size_t)x->wp + (size_t)(16 * (nb + 2))) * 2;
        f.n_in = (3 - f.kh_first) * x->c;
    }
    f.total = 3 * (f.n_res + f.n_y + f.n_in);
    f.quota = (f.total + ksteps - 1) / ksteps;
    return f;
}

/* Output row oh: every block pair of channels by every block pair of
 * positions. tmp holds two groups of stored tiles: one being computed, the
 * previous one going through the epilogue meanwhile. */
static void conv_row(const conv_job *j, int oh, bool first_row, float *tmp)
{
    const pyannote__emb_vnni *x = j->x;
    const pyannote__amx_weights *wt = j->c->amx;
    bool split = pyannote__amx_parts(wt) == 2;
    size_t astep = (size_t)pyannote__amx_parts(wt) * AMX_TILE_ELEMS;
    const uint16_t *a_base = pyannote__amx_tile(wt, 0, 0);
    size_t a1off = (size_t)(pyannote__amx_tile(wt, 1, 0) - a_base);
    ptrdiff_t lo_off = split ? x->lo - x->hi : 0;
    int nblocks = (j->wo + 15) / 16, ksteps = j->taps * (x->c / 32), slot = 0;
    const uint16_t *row = x->hi + (size_t)(j->c->stride * oh) * (size_t)x->wp * 2;
    conv_epi epi = {.j = j};
    for (int mb = 0; mb < j->c->cout / 16; mb += 2) {
        const uint16_t *a = pyannote__amx_tile(wt, mb, 0);
        for (int nb = 0; nb < nblocks; nb += 2) {
            bool two_n = nb + 1 < nblocks;
            epi.quota = (epi.total - epi.done + ksteps - 1) / ksteps;
            conv_pf pf = pf_setup(j, mb, nb, oh, first_row, ksteps);
            conv_kernel_any(j, a, astep, a1off, row + (size_t)nb * 32, lo_off, &epi, &pf, two_n,
                            split);
            epi_feed(&epi, epi.total);
            float *acc = tmp + 1024 * slot;
            store_acc(acc, two_n);
            epi = (conv_epi){.j = j, .tmp = acc, .mb = mb, .nb = nb, .oh = oh, .two_n = two_n,
                             .total = two_n ? 32 : 16};
            slot = 1 - slot;
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
        int end = oh + j->band < j->ho ? oh + j->band : j->ho;
        for (int first = oh; oh < end; oh++)
            conv_row(j, oh, oh == first, tmp);
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
    const pyannote__emb_vnni *x = j->x;
    int col[3] = {0, 1, 2};
    if (x->phase) {
        col[1] = x->seg;
        col[2] = 1;
    }
    if (j->taps == 1) {
        j->tap_off[0] = ((ptrdiff_t)x->wp + col[1]) * 2;
        return;
    }
    for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++)
            j->tap_off[kh * 3 + kw] = ((ptrdiff_t)kh * x->wp + col[kw]) * 2;
}

int pyannote__emb_conv_amx_run(const pyannote__emb_conv *c, const pyannote__emb_vnni *x,
                               const float *res, bool relu, float *y,
                               const pyannote__emb_vnni *out, int n_threads, char *err,
                               size_t errlen)
{
    int ho = pyannote__emb_conv_out(x->h, c->k, c->stride);
    int wo = pyannote__emb_conv_out(x->w, c->k, c->stride);
    if (!c->amx || x->c != c->cin || x->phase != (c->stride == 2) ||
        (out && (out->c != c->cout || out->h != ho || out->w != wo)))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "AMX convolution %d -> %d (%dx%d, stride %d) on a %d-channel %d x %d"
                         " input: unsupported",
                         c->cin, c->cout, c->k, c->k, c->stride, x->c, x->h, x->w);
    if ((x->lo != NULL) != (pyannote__amx_parts(c->amx) == 2))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "AMX convolution: input and weights disagree on the bf16 split");
    conv_job j = {.c = c, .x = x, .res = res, .y = y, .out = out, .relu = relu, .ho = ho,
                  .wo = wo, .taps = c->k * c->k};
    set_taps(&j);
    atomic_init(&j.next, 0);
    if (out)
        pyannote__emb_vnni_clear_border(out);
    int nt = n_threads < 1 ? 1 : (n_threads > MAX_THREADS ? MAX_THREADS : n_threads);
    nt = nt > ho ? ho : nt;
    /* Consecutive rows share input rows: bands of them read most of their
     * input from L2; about four bands per thread keep the threads evenly
     * loaded on a busy machine. */
    j.band = ho / (4 * nt) > 1 ? ho / (4 * nt) : 1;
    pthread_t tid[MAX_THREADS];
    int started = 1;
    for (int t = 1; t < nt; t++, started++)
        if (pthread_create(&tid[t], NULL, conv_worker, &j) != 0)
            break; /* the threads that did start, and this one, share the rows */
    bool failed = conv_worker(&j) != NULL;
    for (int t = 1; t < started; t++) {
        void *r = NULL;
        pthread_join(tid[t], &r);
        failed = failed || r != NULL;
    }
    if (failed)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                         "out of memory for the AMX convolution's accumulator buffer");
    return PYANNOTE_OK;
}

#else /* no AMX on this target: prepare never builds c->amx */

int pyannote__emb_conv_amx_run(const pyannote__emb_conv *c, const pyannote__emb_vnni *x,
                               const float *res, bool relu, float *y,
                               const pyannote__emb_vnni *out, int n_threads, char *err,
                               size_t errlen)
{
    (void)c;
    (void)x;
    (void)res;
    (void)relu;
    (void)y;
    (void)out;
    (void)n_threads;
    return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "AMX convolution on a build without AMX");
}

#endif
