/* emb_trunk_amx: the ResNet34 trunk (see emb_trunk.c) when the matrix mode
 * is an AMX one. The stride-1 3x3 convolutions (all but the stem, the
 * first convolution of layers 2-4 and their 1x1 shortcuts: ~95% of the
 * work) run on emb_conv_amx.c's implicit GEMM over bfloat16 activations
 * kept in the VNNI layout; the others take emb_conv.c's im2col path on
 * float32 activations, converted to the VNNI layout afterwards.
 *
 * Which form each activation needs: a block's inner activation (conv1's
 * output) only feeds conv2, so it is VNNI only; a block's output is the
 * next block's input (VNNI when its conv1 is stride 1), its identity
 * residual and, at the end, the pooled features (float32), so conv2 writes
 * both. Residuals are added in float32 before the ReLU, as in the F32 path.
 *
 * Buffers: work->act[0..3] as in emb_trunk.c, and two VNNI buffers (v[0],
 * v[1], each hi then lo) alternating between a block's input and its inner
 * activation: conv2 overwrites the block's VNNI input, which only conv1
 * read. */
#include <stdlib.h>
#include <stdio.h>
#include <time.h>
static double T_[8][3];
static double nowd(void){struct timespec ts;clock_gettime(CLOCK_MONOTONIC,&ts);return ts.tv_sec+ts.tv_nsec*1e-9;}

#include "pyannote/internal.h"
#include "util/util.h"

typedef struct {
    pyannote__emb_work *work;
    uint16_t *v[2];
    bool split;
    int cur;  /* act[] index of the block input (float32) */
    int vcur; /* v[] index of the block input (VNNI), when it exists */
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

static void vnni_at(const trunk_state *s, int index, int c, int h, int w, pyannote__emb_vnni *v)
{
    size_t n = pyannote__emb_vnni_values(c, h, w);
    pyannote__emb_vnni_init(v, s->v[index], s->split ? s->v[index] + n : NULL, c, h, w);
}

/* Grows work->vnni to hold the largest layer, hi and lo, twice. */
static int reserve_vnni(pyannote__emb_work *work, int frames, bool split, char *err,
                        size_t errlen)
{
    size_t need = 0;
    int c = PYANNOTE__EMB_CHANNELS, h = PYANNOTE__EMB_MELS, w = frames;
    for (int layer = 0; layer < 4; layer++) {
        size_t n = pyannote__emb_vnni_values(c, h, w) * (split ? 2 : 1);
        need = n > need ? n : need;
        c *= 2;
        h = pyannote__emb_conv_out(h, 3, 2);
        w = pyannote__emb_conv_out(w, 3, 2);
    }
    need = (need + 31) / 32 * 32; /* each buffer 64-byte aligned */
    if (need <= work->vnni_cap)
        return PYANNOTE_OK;
    free(work->vnni);
    work->vnni = aligned_alloc(64, 2 * need * sizeof *work->vnni);
    work->vnni_cap = work->vnni ? need : 0;
    if (!work->vnni)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                         "pyannote_embed: out of memory for the AMX activations (%d frames)",
                         frames);
    return PYANNOTE_OK;
}

/* conv1 of a block into v[1 - vcur]: on the AMX path from the VNNI input,
 * else (stride 2) through float32 act[inner] and a conversion. */
static int block_conv1(trunk_state *s, const pyannote__emb_block *blk, int ho, int wo, char *err,
                       size_t errlen)
{
    pyannote__emb_work *work = s->work;
    pyannote__emb_vnni in, mid;
    vnni_at(s, 1 - s->vcur, blk->conv1.cout, ho, wo, &mid);
    if (blk->conv1.amx) {
        vnni_at(s, s->vcur, blk->conv1.cin, s->h, s->w, &in);
        return pyannote__emb_conv_amx_run(&blk->conv1, &in, NULL, true, NULL, &mid,
                                          work->n_threads, err, errlen);
    }
    int inner = free_buffer(s->cur, -1, -1);
    int rc = pyannote__emb_conv_run(&blk->conv1, work->act[s->cur], s->h, s->w, NULL, true,
                                    work->act[inner], work, err, errlen);
    if (rc == PYANNOTE_OK)
        pyannote__emb_vnni_from_f32(work->act[inner], &mid);
    return rc;
}

/* One basic block; next_vnni: the next block reads its input as VNNI. */
static int run_block(trunk_state *s, const pyannote__emb_block *blk, bool next_vnni, char *err,
                     size_t errlen)
{
    pyannote__emb_work *work = s->work;
    int ho = pyannote__emb_conv_out(s->h, 3, blk->conv1.stride);
    int wo = pyannote__emb_conv_out(s->w, 3, blk->conv1.stride);
    int L = blk->conv2.cout==32?0:blk->conv2.cout==64?1:blk->conv2.cout==128?2:3;
    double t0 = nowd();
    int rc = block_conv1(s, blk, ho, wo, err, errlen);
    T_[L][0] += nowd()-t0; t0 = nowd();
    if (rc != PYANNOTE_OK)
        return rc;
    int res = s->cur;
    if (blk->shortcut.w) {
        res = free_buffer(s->cur, -1, -1);
        rc = pyannote__emb_conv_run(&blk->shortcut, work->act[s->cur], s->h, s->w, NULL, false,
                                    work->act[res], work, err, errlen);
        if (rc != PYANNOTE_OK)
            return rc;
    }
    T_[L][1] += nowd()-t0; t0 = nowd();
    /* conv2 writes its output over the residual, the last reader of it */
    int out = getenv("TMP_NOINPLACE") ? free_buffer(s->cur, res, -1) : res;
    pyannote__emb_vnni mid, next;
    vnni_at(s, 1 - s->vcur, blk->conv2.cin, ho, wo, &mid);
    vnni_at(s, s->vcur, blk->conv2.cout, ho, wo, &next);
    rc = pyannote__emb_conv_amx_run(&blk->conv2, &mid, work->act[res], true, work->act[out],
                                    next_vnni ? &next : NULL, work->n_threads, err, errlen);
    T_[L][2] += nowd()-t0;
    s->cur = out;
    s->h = ho;
    s->w = wo;
    return rc;
}

int pyannote__emb_trunk_amx(const pyannote__emb_net *net, const float *feats, int frames,
                            pyannote__emb_work *work, const float **out, int *out_frames,
                            char *err, size_t errlen)
{
    *out = NULL;
    *out_frames = 0;
    const pyannote__emb_block *b0 = &net->block[0];
    trunk_state s = {.work = work, .split = pyannote__matrix_mode(b0->conv2.w) ==
                                            PYANNOTE__GEMM_BF16X3,
                     .h = PYANNOTE__EMB_MELS, .w = frames};
    int rc = reserve_vnni(work, frames, s.split, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    s.v[0] = work->vnni;
    s.v[1] = work->vnni + work->vnni_cap;
    rc = pyannote__emb_conv_run(&net->stem, feats, s.h, s.w, NULL, true, work->act[0], work, err,
                                errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    if (b0->conv1.amx) {
        pyannote__emb_vnni v;
        vnni_at(&s, 0, net->stem.cout, s.h, s.w, &v);
        pyannote__emb_vnni_from_f32(work->act[0], &v);
    }
    for (int b = 0; b < PYANNOTE__EMB_BLOCKS && rc == PYANNOTE_OK; b++) {
        bool next_vnni = b + 1 < PYANNOTE__EMB_BLOCKS && net->block[b + 1].conv1.amx;
        rc = run_block(&s, &net->block[b], next_vnni, err, errlen);
    }
    if (rc != PYANNOTE_OK)
        return rc;
    if (getenv("TMP_PROF")) { for (int l=0;l<4;l++) fprintf(stderr,"L%d conv1 %.4f short %.4f conv2 %.4f\n",l,T_[l][0],T_[l][1],T_[l][2]); }
    *out = work->act[s.cur];
    *out_frames = s.w;
    return PYANNOTE_OK;
}
