/* emb_trunk_amx: the ResNet34 trunk (see emb_trunk.c) when the matrix mode
 * is an AMX one. Every convolution but the stem runs on emb_conv_amx.c's
 * implicit GEMM over channel-blocked bfloat16 activations; the stem (one
 * input channel, nine multiply-adds per output) is computed directly in
 * float32 into that layout, and the last block's output is turned back
 * into the float32 planes the pooling reads.
 *
 * Which form each activation needs: a block's inner activation (conv1's
 * output) only feeds conv2, so it is bfloat16 only; a block's output feeds
 * the next block's conv1 (and shortcut) as bfloat16, phase-split when they
 * have stride 2, and is needed as (channel-blocked) float32 only as the
 * next block's identity residual or for the pooling at the end. Residuals
 * are added in float32 before the ReLU, as in the F32 path; conv2 writes
 * its float32 output over the residual it reads.
 *
 * Buffers: work->act[] (float32: the block input / residual, the
 * shortcut's output, the final planes), and two bfloat16
 * buffers: v[0] holds each block's input and then its output (conv2
 * overwrites it once conv1 and the shortcut have read it), v[1] the inner
 * activation. */
#include <stdlib.h>

#include "pyannote/internal.h"
#include "util/util.h"

typedef struct {
    pyannote__emb_work *work;
    uint16_t *v[2];
    bool split;
    int cur; /* act[] index of the block input (float32) */
    int h, w;
} trunk_state;

/* The first act buffer none of a, b, c (-1 = unused) is. */
static int free_buffer(int a, int b, int c)
{
    for (int i = 0; i < 4; i++)
        if (i != a && i != b && i != c)
            return i;
    return -1; /* unreachable: three are taken at most */
}

static void bf16_at(const trunk_state *s, int index, int c, int h, int w, bool phase,
                    pyannote__emb_bf16 *v)
{
    size_t n = pyannote__emb_bf16_values(c, h, w);
    pyannote__emb_bf16_init(v, s->v[index], s->split ? s->v[index] + n : NULL, c, h, w, phase);
}

/* Grows work->bf16 to hold the largest layer, hi and lo, twice. */
static int reserve_bf16(pyannote__emb_work *work, int frames, bool split, char *err, size_t errlen)
{
    size_t need = 0;
    int c = PYANNOTE__EMB_CHANNELS, h = PYANNOTE__EMB_MELS, w = frames;
    for (int layer = 0; layer < 4; layer++) {
        size_t n = pyannote__emb_bf16_values(c, h, w) * (split ? 2 : 1);
        need = n > need ? n : need;
        c *= 2;
        h = pyannote__emb_conv_out(h, 3, 2);
        w = pyannote__emb_conv_out(w, 3, 2);
    }
    need = (need + 31) / 32 * 32; /* each buffer 64-byte aligned */
    if (need <= work->bf16_cap)
        return PYANNOTE_OK;
    free(work->bf16);
    work->bf16 = aligned_alloc(64, 2 * need * sizeof *work->bf16);
    work->bf16_cap = work->bf16 ? need : 0;
    if (!work->bf16)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                         "pyannote_embed: out of memory for the AMX activations (%d frames)",
                         frames);
    return PYANNOTE_OK;
}

/* One basic block. Its input is in act[cur] (float32; only read as the
 * identity residual) and v[0] (phase-split when conv1 has stride 2); the
 * output goes to act[] as float32 when want_f32 (the next block's identity
 * residual, or the pooling) and to v[0] when next_phase >= 0 (phase-split
 * when 1). */
static int run_block(trunk_state *s, const pyannote__emb_block *blk, bool want_f32, int next_phase,
                     char *err, size_t errlen)
{
    pyannote__emb_work *work = s->work;
    int stride = blk->conv1.stride, n = work->n_threads;
    int ho = pyannote__emb_conv_out(s->h, 3, stride);
    int wo = pyannote__emb_conv_out(s->w, 3, stride);
    pyannote__emb_bf16 in, mid, next;
    bf16_at(s, 0, blk->conv1.cin, s->h, s->w, stride == 2, &in);
    bf16_at(s, 1, blk->conv1.cout, ho, wo, false, &mid);
    int rc = pyannote__emb_conv_amx_run(&blk->conv1, &in, NULL, true, NULL, &mid, work->pool, n,
                                        err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    int res = s->cur;
    if (blk->shortcut.w) {
        res = free_buffer(s->cur, -1, -1);
        rc = pyannote__emb_conv_amx_run(&blk->shortcut, &in, NULL, false, work->act[res], NULL,
                                        work->pool, n, err, errlen);
        if (rc != PYANNOTE_OK)
            return rc;
    }
    /* conv2 overwrites the residual, its last reader, and the block's bfloat16
     * input, which only conv1 and the shortcut read */
    bf16_at(s, 0, blk->conv2.cout, ho, wo, next_phase == 1, &next);
    rc = pyannote__emb_conv_amx_run(&blk->conv2, &mid, work->act[res], true,
                                    want_f32 ? work->act[res] : NULL,
                                    next_phase >= 0 ? &next : NULL, work->pool, n, err,
                                    errlen);
    s->cur = res;
    s->h = ho;
    s->w = wo;
    return rc;
}

int pyannote__emb_trunk_amx(const pyannote__emb_net *net, const float *feats, int frames,
                            pyannote__emb_work *work, const float **out, int *out_frames, char *err,
                            size_t errlen)
{
    *out = NULL;
    *out_frames = 0;
    const pyannote__emb_block *b0 = &net->block[0];
    trunk_state s = {.work = work,
                     .split = pyannote__matrix_mode(b0->conv2.w) == PYANNOTE__GEMM_BF16X3,
                     .h = PYANNOTE__EMB_MELS,
                     .w = frames};
    int rc = reserve_bf16(work, frames, s.split, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    s.v[0] = work->bf16;
    s.v[1] = work->bf16 + work->bf16_cap;
    pyannote__emb_bf16 v;
    bf16_at(&s, 0, net->stem.cout, s.h, s.w, false, &v);
    rc = pyannote__emb_stem_amx(&net->stem, feats, s.h, s.w, &v, work->act[0], work->pool,
                                work->n_threads, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    for (int b = 0; b < PYANNOTE__EMB_BLOCKS && rc == PYANNOTE_OK; b++) {
        const pyannote__emb_block *next = b + 1 < PYANNOTE__EMB_BLOCKS ? &net->block[b + 1] : NULL;
        bool want_f32 = !next || !next->shortcut.w;
        int next_phase = next ? next->conv1.stride == 2 : -1;
        rc = run_block(&s, &net->block[b], want_f32, next_phase, err, errlen);
    }
    if (rc != PYANNOTE_OK)
        return rc;
    int planes = free_buffer(s.cur, -1, -1);
    pyannote__emb_blocked_to_planes(work->act[s.cur], PYANNOTE__EMB_OUT_CHANNELS, s.h, s.w,
                                    work->act[planes]);
    *out = work->act[planes];
    *out_frames = s.w;
    return PYANNOTE_OK;
}
