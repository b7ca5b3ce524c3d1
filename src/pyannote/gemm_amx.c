/* gemm_amx: W x on Intel AMX tiles in bfloat16 with float32 accumulation.
 *
 * W (m x k) is packed once into A-tiles (16 rows x 32 bf16); each call
 * converts blocks of x (k x n, float32) into B-tiles in the VNNI layout the
 * TDPBF16PS instruction wants (tile row r holds, for 16 columns, the pairs
 * x[2r][j], x[2r+1][j]) and accumulates 16 x 16 float32 output tiles.
 * BF16X3 splits every value v into hi = bf16(v) and lo = bf16(v - hi) and
 * sums hi*hi + hi*lo + lo*hi, which leaves out only lo*lo (~2^-16 of each
 * product) and recovers nearly float32 accuracy.
 *
 * Blocking: x is converted in blocks of up to NC_COLS columns by a span of
 * up to KC_BLOCKS 32-deep K blocks (two such buffers per call, at most
 * 2 x 272 KiB); over one block, two 16-row blocks of W meet two 16-column
 * blocks of x at a time (four accumulator tiles, two A and two B operand
 * tiles: all eight tiles of palette 1). The next block of x is converted a
 * few tile rows at a time between the tile instructions of the current one,
 * where out-of-order execution can overlap the two. Between K spans the
 * accumulators go through y, exactly (they are float32 either way). Every
 * output element depends only on its own column of x and on W, computed in
 * the same order whatever n and the thread, so results are reproducible.
 *
 * The tile instructions are the inline assembly of amx_asm.h (it says why
 * not GCC's intrinsics). */
#include "pyannote/gemm_amx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/amx_asm.h"
#include "pyannote/pyannote.h"
#include "util/util.h"

#ifdef PYANNOTE__AMX_ASM

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TILE_ELEMS AMX_TILE_ELEMS
/* B-tiles sit one cache line further apart than their size: converting x
 * writes one row into each of many tiles in turn, and at a 1 KiB multiple
 * those rows would all fall into the same L1 set. */
#define B_SLOT (TILE_ELEMS + 32)
#define KC_BLOCKS 8          /* at most this many 32-deep K blocks per span */
#define NC_COLS 256          /* columns of x converted per block */
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

struct pyannote__amx_weights {
    int m, k;
    int mblocks, kblocks; /* 16-row blocks, 32-deep K blocks */
    int parts;            /* 2 = hi and lo tiles (BF16X3), 1 = hi only */
    uint16_t *tiles;      /* ((mb * kblocks + kb) * parts + part) * TILE_ELEMS */
};

/* ---- detection ------------------------------------------------------------- */

static pthread_once_t amx_once = PTHREAD_ONCE_INIT;
static bool amx_ok; /* written once, under amx_once */

static uint64_t amx_xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static bool amx_cpu_has_features(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    bool avx512 = (b & (1u << 16)) && (b & (1u << 30));      /* F, BW */
    bool amx = (d & (1u << 22)) && (d & (1u << 24));         /* AMX-BF16, AMX-TILE */
    if (!avx512 || !amx || a < 1)
        return false;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5))) /* AVX512_BF16 */
        return false;
    /* the OS saves SSE, AVX, opmask, ZMM and both tile states */
    const uint64_t need = 0x6ull | 0xE0ull | (3ull << 17);
    return (amx_xgetbv0() & need) == need;
}

static void amx_probe(void)
{
    /* Linux keeps the 8 KiB tile state disabled until the process asks. */
    amx_ok = amx_cpu_has_features() &&
             syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

bool pyannote__amx_usable(void)
{
    pthread_once(&amx_once, amx_probe);
    return amx_ok;
}

/* ---- packing W --------------------------------------------------------------- */


static void amx_pack_row(pyannote__amx_weights *p, const float *row, int i)
{
    int mb = i / 16, r = i % 16;
    for (int kk = 0; kk < p->k; kk++) {
        size_t t = ((size_t)mb * (size_t)p->kblocks + (size_t)(kk / 32)) * (size_t)p->parts;
        uint16_t *hi = p->tiles + t * TILE_ELEMS + r * 32 + kk % 32;
        *hi = amx_f32_to_bf16(row[kk]);
        if (p->parts == 2)
            hi[TILE_ELEMS] = amx_f32_to_bf16(row[kk] - amx_bf16_to_f32(*hi));
    }
}

int pyannote__amx_pack(pyannote__amx_weights **out, const float *w, int m, int k, bool split,
                       char *err, size_t errlen)
{
    *out = NULL;
    pyannote__amx_weights *p = calloc(1, sizeof *p);
    if (!p)
        goto nomem;
    p->m = m;
    p->k = k;
    p->mblocks = (m + 15) / 16;
    p->kblocks = (k + 31) / 32;
    p->parts = split ? 2 : 1;
    size_t bytes = (size_t)p->mblocks * (size_t)p->kblocks * (size_t)p->parts * TILE_ELEMS * 2;
    p->tiles = aligned_alloc(64, bytes);
    if (!p->tiles)
        goto nomem;
    memset(p->tiles, 0, bytes); /* the padding rows and K tail multiply as zeros */
    for (int i = 0; i < m; i++)
        amx_pack_row(p, w + (size_t)i * (size_t)k, i);
    *out = p;
    return PYANNOTE_OK;
nomem:
    pyannote__amx_free(p);
    return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                     "out of memory packing a %d x %d matrix into AMX tiles", m, k);
}

void pyannote__amx_free(pyannote__amx_weights *w)
{
    if (!w)
        return;
    free(w->tiles);
    free(w);
}

/* ---- converting x ------------------------------------------------------------ */

/* One block of x as B-tiles: rows [kb0 * 32, (kb0 + nkb) * 32) and columns
 * [j0, j0 + nc) of x (k rows in all; rows past k and columns past nc are
 * zero), tiles at ((nb * nkb + kbl) * parts + part) * B_SLOT, so the
 * tiles one 16-column block meets in turn are contiguous. The conversion is
 * counted in items, one item being one tile row of one 16-column block
 * (item i: kbl = i / (16 nnb), r = i / nnb % 16, nb = i % nnb), so that it
 * can be done a few items at a time between tile instructions. */
typedef struct {
    uint16_t *tiles; /* scratch owned by pyannote__amx_mul */
    int nkb, nnb, parts;
    const float *x;
    int ldx, k, kb0, j0, nc;
    int done, total; /* items */
    int quota;       /* items to convert after each K step of the kernel */
} amx_bblock;

static uint16_t *amx_btile(const amx_bblock *b, int nb, int kbl)
{
    return b->tiles + ((size_t)(nb * b->nkb + kbl) * (size_t)b->parts) * B_SLOT;
}

#define AMX_AVX512 __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* One VNNI tile row (and its lo twin B_SLOT values on, with split) from
 * 16 values of two consecutive rows of x. */
static inline __attribute__((always_inline)) AMX_AVX512 void
amx_pair(uint16_t *dst, __m512 a, __m512 b, bool split)
{
    __m512i hi, lo;
    amx_vnni_pair(a, b, split, &hi, &lo);
    _mm512_store_si512(dst, hi);
    if (split)
        _mm512_store_si512(dst + B_SLOT, lo);
}

/* Row r of consecutive tiles tstride values apart: rows x0 and x1 of x (x1
 * NULL when past the end of x, x0 too), nc columns. Whole 16-column blocks
 * take the unmasked path. */
static inline __attribute__((always_inline)) AMX_AVX512 void
amx_convert_rows(uint16_t *dst, size_t tstride, const float *x0, const float *x1, int nc,
                 bool split)
{
    int nb = 0;
    if (x1)
        for (; nb < nc / 16; nb++, dst += tstride)
            amx_pair(dst, _mm512_loadu_ps(x0 + 16 * nb), _mm512_loadu_ps(x1 + 16 * nb), split);
    for (; nb * 16 < nc; nb++, dst += tstride) {
        int cnt = nc - nb * 16 < 16 ? nc - nb * 16 : 16;
        __mmask16 mask = (__mmask16)((1u << cnt) - 1u);
        __m512 a = x0 ? _mm512_maskz_loadu_ps(mask, x0 + 16 * nb) : _mm512_setzero_ps();
        __m512 b = x1 ? _mm512_maskz_loadu_ps(mask, x1 + 16 * nb) : _mm512_setzero_ps();
        amx_pair(dst, a, b, split);
    }
}

/* Converts the next `count` items of b (fewer at its end). */
AMX_AVX512 static void amx_feed(amx_bblock *b, int count)
{
    size_t tstride = (size_t)(b->nkb * b->parts) * B_SLOT;
    int end = b->total - b->done < count ? b->total : b->done + count;
    while (b->done < end) {
        int row = b->done / b->nnb, nb0 = b->done % b->nnb;
        int nb1 = b->nnb - nb0 < end - b->done ? b->nnb : nb0 + (end - b->done);
        int kbl = row / 16, r = row % 16;
        int k0 = (b->kb0 + kbl) * 32 + 2 * r;
        int col = b->j0 + 16 * nb0;
        const float *x0 = k0 < b->k ? b->x + (size_t)k0 * (size_t)b->ldx + col : NULL;
        const float *x1 = k0 + 1 < b->k ? x0 + b->ldx : NULL;
        int nc = b->nc - 16 * nb0 < 16 * (nb1 - nb0) ? b->nc - 16 * nb0 : 16 * (nb1 - nb0);
        uint16_t *dst = amx_btile(b, nb0, kbl) + r * 32;
        if (b->parts == 2)
            amx_convert_rows(dst, tstride, x0, x1, nc, true);
        else
            amx_convert_rows(dst, tstride, x0, x1, nc, false);
        b->done += nb1 - nb0;
    }
}

/* ---- tiles ------------------------------------------------------------------- */


static void amx_load_c(int t, const float *p, long stride)
{
    switch (t) {
    case 0: AMX_LOAD(0, p, stride); break;
    case 1: AMX_LOAD(1, p, stride); break;
    case 2: AMX_LOAD(2, p, stride); break;
    default: AMX_LOAD(3, p, stride); break;
    }
}

static void amx_store_c(int t, float *p, long stride)
{
    switch (t) {
    case 0: AMX_STORE(0, p, stride); break;
    case 1: AMX_STORE(1, p, stride); break;
    case 2: AMX_STORE(2, p, stride); break;
    default: AMX_STORE(3, p, stride); break;
    }
}

static void amx_zero_c(int t)
{
    switch (t) {
    case 0: AMX_ZERO(0); break;
    case 1: AMX_ZERO(1); break;
    case 2: AMX_ZERO(2); break;
    default: AMX_ZERO(3); break;
    }
}

/* A 16 x 16 piece of y: rows x cols of it are real (the rest is padding). */
typedef struct {
    float *y;
    int ldy, rows, cols;
} amx_cblock;

/* The rows of y a group will read and write, fetched while the group
 * before it multiplies: a tile load from y waits on 16 separate cache
 * misses with the tile unit idle. */
static void amx_prefetch_c(const amx_cblock *c)
{
    for (int i = 0; i < c->rows; i++)
        __builtin_prefetch(c->y + (size_t)i * (size_t)c->ldy, 1, 3);
}

/* Accumulator tile t starts from zero or from y. Whole 16 x 16 pieces move
 * between y and the tile directly; edge pieces go through a zero-padded
 * copy so that no access reaches past y's real rows and columns. */
static void amx_begin_c(int t, const amx_cblock *c, bool from_y, float *tmp)
{
    if (!from_y) {
        amx_zero_c(t);
    } else if (c->rows == 16 && c->cols == 16) {
        amx_load_c(t, c->y, (long)c->ldy * 4);
    } else {
        memset(tmp, 0, 256 * sizeof *tmp);
        for (int i = 0; i < c->rows; i++)
            memcpy(tmp + 16 * i, c->y + (size_t)i * (size_t)c->ldy, (size_t)c->cols * 4);
        amx_load_c(t, tmp, 64);
    }
}

static void amx_end_c(int t, const amx_cblock *c, float *tmp)
{
    if (c->rows == 16 && c->cols == 16) {
        amx_store_c(t, c->y, (long)c->ldy * 4);
        return;
    }
    amx_store_c(t, tmp, 64);
    for (int i = 0; i < c->rows; i++)
        memcpy(c->y + (size_t)i * (size_t)c->ldy, tmp + 16 * i, (size_t)c->cols * 4);
}

/* ---- the micro-kernel ---------------------------------------------------------- */

/* Accumulators tmm0..3 = (A0,B0) (A0,B1) (A1,B0) (A1,B1); A blocks in tmm4/5,
 * B blocks in tmm6/7. a0/a1/b0/b1 point at the first K block's hi tile (a1
 * and b1 are only read with two_m / two_n); one K block further is `step`
 * (astep, bstep) values on, lo is TILE_ELEMS (A) or B_SLOT (B) past hi. With split, the order hi*lo, hi*hi,
 * lo*hi loads each operand tile once. After each K step, a few items of the
 * next block of x are converted: the vector units are idle while the tile
 * unit works, and out-of-order execution overlaps the two. The flags are
 * constants at every call, so each variant compiles branch-free. */
static inline __attribute__((always_inline)) void
amx_kernel(const uint16_t *a0, const uint16_t *a1, const uint16_t *b0, const uint16_t *b1,
           size_t astep, size_t bstep, int nkb, amx_bblock *feed, bool two_m, bool two_n,
           bool split)
{
    for (int kb = 0; kb < nkb; kb++) {
        const uint16_t *pa0 = a0 + (size_t)kb * astep, *pa1 = a1 + (size_t)kb * astep;
        const uint16_t *pb0 = b0 + (size_t)kb * bstep, *pb1 = b1 + (size_t)kb * bstep;
        int first_b = split ? B_SLOT : 0;
        AMX_LOAD(4, pa0, 64);
        if (two_m)
            AMX_LOAD(5, pa1, 64);
        AMX_LOAD(6, pb0 + first_b, 64);
        if (two_n)
            AMX_LOAD(7, pb1 + first_b, 64);
        for (int pass = 0; pass < (split ? 3 : 1); pass++) {
            if (pass == 1) { /* hi * hi */
                AMX_LOAD(6, pb0, 64);
                if (two_n)
                    AMX_LOAD(7, pb1, 64);
            } else if (pass == 2) { /* lo * hi */
                AMX_LOAD(4, pa0 + TILE_ELEMS, 64);
                if (two_m)
                    AMX_LOAD(5, pa1 + TILE_ELEMS, 64);
            }
            AMX_DP(0, 4, 6);
            if (two_n)
                AMX_DP(1, 4, 7);
            if (two_m)
                AMX_DP(2, 5, 6);
            if (two_m && two_n)
                AMX_DP(3, 5, 7);
        }
        if (feed)
            amx_feed(feed, feed->quota);
    }
}

static void amx_kernel_any(const uint16_t *a0, const uint16_t *a1, const uint16_t *b0,
                           const uint16_t *b1, size_t astep, size_t bstep, int nkb,
                           amx_bblock *feed, bool tm, bool tn, bool split)
{
#define AMX_KERNEL_CASE(m2, n2)                                                                \
    do {                                                                                       \
        if (split)                                                                             \
            amx_kernel(a0, a1, b0, b1, astep, bstep, nkb, feed, m2, n2, true);                 \
        else                                                                                   \
            amx_kernel(a0, a1, b0, b1, astep, bstep, nkb, feed, m2, n2, false);                \
    } while (0)
    if (tm && tn)
        AMX_KERNEL_CASE(true, true);
    else if (tm)
        AMX_KERNEL_CASE(true, false);
    else if (tn)
        AMX_KERNEL_CASE(false, true);
    else
        AMX_KERNEL_CASE(false, false);
#undef AMX_KERNEL_CASE
}

/* ---- the product ------------------------------------------------------------- */

/* W times one converted block of x, into the block's columns of y. */
typedef struct {
    const pyannote__amx_weights *w;
    const amx_bblock *b;
    amx_bblock *feed; /* the next block, converted meanwhile; or NULL */
    float *y;         /* y's column b->j0 */
    int ldy;
    bool from_y;      /* add to y (accumulating, or a later K block) */
    float *tmp;       /* 16 x 16 floats, 64-byte aligned */
} amx_pass;

/* The pieces of y group (mb, nb) covers; used[t] says which exist. */
static void amx_group_c(const amx_pass *p, int mb, int nb, amx_cblock c[4], bool used[4])
{
    bool two_m = mb + 1 < p->w->mblocks, two_n = nb + 1 < p->b->nnb;
    used[0] = true;
    used[1] = two_n;
    used[2] = two_m;
    used[3] = two_m && two_n;
    for (int t = 0; t < 4; t++) {
        if (!used[t])
            continue;
        int i0 = (mb + t / 2) * 16, j = (nb + t % 2) * 16;
        c[t].y = p->y + (size_t)i0 * (size_t)p->ldy + j;
        c[t].ldy = p->ldy;
        c[t].rows = p->w->m - i0 < 16 ? p->w->m - i0 : 16;
        c[t].cols = p->b->nc - j < 16 ? p->b->nc - j : 16;
    }
}

static void amx_group_prefetch(const amx_pass *p, int mb, int nb)
{
    amx_cblock c[4] = {{0}};
    bool used[4];
    amx_group_c(p, mb, nb, c, used);
    for (int t = 0; t < 4; t++)
        if (used[t])
            amx_prefetch_c(&c[t]);
}

/* One (two M blocks) x (two N blocks) group of the pass. */
static void amx_group(const amx_pass *p, int mb, int nb)
{
    const pyannote__amx_weights *w = p->w;
    amx_cblock c[4] = {{0}};
    bool used[4];
    amx_group_c(p, mb, nb, c, used);
    for (int t = 0; t < 4; t++)
        if (used[t])
            amx_begin_c(t, &c[t], p->from_y, p->tmp);
    size_t step = (size_t)w->parts * TILE_ELEMS;
    const uint16_t *a0 = w->tiles + ((size_t)mb * (size_t)w->kblocks + (size_t)p->b->kb0) * step;
    const uint16_t *b0 = amx_btile(p->b, nb, 0);
    amx_kernel_any(a0, used[2] ? a0 + (size_t)w->kblocks * step : a0, b0,
                   used[1] ? amx_btile(p->b, nb + 1, 0) : b0, step, (size_t)w->parts * B_SLOT,
                   p->b->nkb, p->feed, used[2], used[1], w->parts == 2);
    for (int t = 0; t < 4; t++)
        if (used[t])
            amx_end_c(t, &c[t], p->tmp);
}

static void amx_pass_run(const amx_pass *p)
{
    int groups = (p->w->mblocks + 1) / 2 * ((p->b->nnb + 1) / 2);
    if (p->feed) /* spread the next block's conversion over every K step */
        p->feed->quota = (p->feed->total + groups * p->b->nkb - 1) / (groups * p->b->nkb);
    amx_group_prefetch(p, 0, 0);
    for (int mb = 0; mb < p->w->mblocks; mb += 2) {
        for (int nb = 0; nb < p->b->nnb; nb += 2) {
            int next_mb = nb + 2 < p->b->nnb ? mb : mb + 2;
            int next_nb = nb + 2 < p->b->nnb ? nb + 2 : 0;
            if (next_mb < p->w->mblocks)
                amx_group_prefetch(p, next_mb, next_nb);
            amx_group(p, mb, nb);
        }
    }
}

/* K is cut into near-equal spans of at most KC_BLOCKS blocks (9 blocks as
 * 4 + 5, not 8 + 1: a span costs a round trip of the accumulators through
 * y whatever its length). */
static int amx_kspans(const pyannote__amx_weights *w)
{
    return (w->kblocks + KC_BLOCKS - 1) / KC_BLOCKS;
}

static int amx_kspan_start(const pyannote__amx_weights *w, int span)
{
    return (int)((long)span * w->kblocks / amx_kspans(w));
}

/* Sets b up for the block of columns from j0 and K span `span` (nothing
 * converted yet). */
static void amx_block_init(amx_bblock *b, const pyannote__amx_weights *w, const float *x,
                           int ldx, int n, int j0, int span)
{
    b->nc = n - j0 < NC_COLS ? n - j0 : NC_COLS;
    b->nnb = (b->nc + 15) / 16;
    b->kb0 = amx_kspan_start(w, span);
    b->nkb = amx_kspan_start(w, span + 1) - b->kb0;
    b->parts = w->parts;
    b->x = x;
    b->ldx = ldx;
    b->k = w->k;
    b->j0 = j0;
    b->done = 0;
    b->total = b->nkb * 16 * b->nnb;
    b->quota = 0;
}

/* Blocks go span by span through one chunk of columns, then the next chunk.
 * False after the last. */
static bool amx_block_next(const pyannote__amx_weights *w, int n, int *j0, int *span)
{
    if (++*span == amx_kspans(w)) {
        *span = 0;
        *j0 += NC_COLS;
    }
    return *j0 < n;
}

/* Runs every block, converting block i + 1 while block i multiplies. */
static void amx_run(const pyannote__amx_weights *w, amx_bblock blk[2], const float *x, int ldx,
                    int n, float *y, int ldy, bool accumulate, float *tmp)
{
    int j0 = 0, span = 0, cur = 0;
    amx_block_init(&blk[0], w, x, ldx, n, j0, span);
    amx_feed(&blk[0], blk[0].total);
    for (;;) {
        int next_j0 = j0, next_span = span;
        bool more = amx_block_next(w, n, &next_j0, &next_span);
        amx_bblock *next = more ? &blk[1 - cur] : NULL;
        if (next)
            amx_block_init(next, w, x, ldx, n, next_j0, next_span);
        amx_pass p = {w, &blk[cur], next, y + j0, ldy, accumulate || span > 0, tmp};
        amx_pass_run(&p);
        if (!next)
            return;
        amx_feed(next, next->total); /* whatever the quota left */
        cur = 1 - cur;
        j0 = next_j0;
        span = next_span;
    }
}

int pyannote__amx_mul(const pyannote__amx_weights *w, const float *x, int ldx, int n, float *y,
                      int ldy, bool accumulate, char *err, size_t errlen)
{
    if (n <= 0)
        return PYANNOTE_OK;
    int ncols = n < NC_COLS ? (n + 15) / 16 * 16 : NC_COLS;
    int nkb = (w->kblocks + amx_kspans(w) - 1) / amx_kspans(w);
    size_t block_elems = (size_t)(ncols / 16) * (size_t)nkb * (size_t)w->parts * B_SLOT;
    amx_bblock blk[2] = {{0}, {0}};
    uint16_t *scratch = aligned_alloc(64, 2 * block_elems * sizeof *scratch);
    float *tmp = aligned_alloc(64, 256 * sizeof *tmp);
    int rc = PYANNOTE_OK;
    if (!scratch || !tmp) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                       "out of memory for AMX scratch (%d x %d matrix, %d columns)", w->m, w->k,
                       n);
        goto cleanup;
    }
    blk[0].tiles = scratch;
    blk[1].tiles = scratch + block_elems;
    amx_configure();
    amx_run(w, blk, x, ldx, n, y, ldy, accumulate, tmp);
    amx_release();
cleanup:
    free(scratch);
    free(tmp);
    return rc;
}

#else /* no AMX on this target: the F32 path is the only one */

struct pyannote__amx_weights {
    int unused;
};

bool pyannote__amx_usable(void)
{
    return false;
}

int pyannote__amx_pack(pyannote__amx_weights **out, const float *w, int m, int k, bool split,
                       char *err, size_t errlen)
{
    (void)w;
    (void)split;
    *out = NULL;
    return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                     "AMX packing of a %d x %d matrix requested on a build without AMX", m, k);
}

void pyannote__amx_free(pyannote__amx_weights *w)
{
    free(w);
}

int pyannote__amx_mul(const pyannote__amx_weights *w, const float *x, int ldx, int n, float *y,
                      int ldy, bool accumulate, char *err, size_t errlen)
{
    (void)w;
    (void)x;
    (void)ldx;
    (void)n;
    (void)y;
    (void)ldy;
    (void)accumulate;
    return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "AMX product on a build without AMX");
}

#endif
