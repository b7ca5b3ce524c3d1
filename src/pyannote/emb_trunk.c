/* emb_trunk: the ResNet34 trunk of the embedding network on one chunk's
 * features: the stem convolution, then 16 basic blocks
 * (relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut x), BatchNorms folded),
 * the first block of layers 2-4 halving frequency and time.
 *
 * Activations live in the work's four buffers, each sized for the largest
 * layer (32 channels x 80 bins x frames): a block needs its input, the
 * inner activation, its output and, when downsampling, the shortcut's
 * output, all distinct. */
#include "pyannote/internal.h"

size_t pyannote__emb_act_floats(int frames)
{
    return (size_t)PYANNOTE__EMB_CHANNELS * PYANNOTE__EMB_MELS * (size_t)(frames > 0 ? frames : 0);
}

int pyannote__emb_trunk_frames(int frames)
{
    for (int i = 0; i < 3; i++)
        frames = pyannote__emb_conv_out(frames, 3, 2);
    return frames;
}

/* The first buffer none of the given ones (-1 = unused) holds. */
static int free_buffer(int a, int b, int c)
{
    for (int i = 0; i < 4; i++)
        if (i != a && i != b && i != c)
            return i;
    return -1; /* unreachable: three are taken at most */
}

static int run_block(const pyannote__emb_block *blk, pyannote__emb_work *work, int *cur, int *h,
                     int *w, char *err, size_t errlen)
{
    int inner = free_buffer(*cur, -1, -1);
    int rc = pyannote__emb_conv_run(&blk->conv1, work->act[*cur], *h, *w, NULL, true,
                                    work->act[inner], work, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    int ho = pyannote__emb_conv_out(*h, 3, blk->conv1.stride);
    int wo = pyannote__emb_conv_out(*w, 3, blk->conv1.stride);
    int res = *cur;
    if (blk->shortcut.w) {
        res = free_buffer(*cur, inner, -1);
        rc = pyannote__emb_conv_run(&blk->shortcut, work->act[*cur], *h, *w, NULL, false,
                                    work->act[res], work, err, errlen);
        if (rc != PYANNOTE_OK)
            return rc;
    }
    int out = free_buffer(*cur, inner, res);
    rc = pyannote__emb_conv_run(&blk->conv2, work->act[inner], ho, wo, work->act[res], true,
                                work->act[out], work, err, errlen);
    *cur = out;
    *h = ho;
    *w = wo;
    return rc;
}

int pyannote__emb_trunk(const pyannote__emb_net *net, const float *feats, int frames,
                        pyannote__emb_work *work, const float **out, int *out_frames, char *err,
                        size_t errlen)
{
    if (net->block[0].conv2.amx) /* an AMX mode: the implicit-GEMM trunk */
        return pyannote__emb_trunk_amx(net, feats, frames, work, out, out_frames, err, errlen);
    int h = PYANNOTE__EMB_MELS, w = frames, cur = 0;
    int rc = pyannote__emb_conv_run(&net->stem, feats, h, w, NULL, true, work->act[cur], work,
                                    err, errlen);
    for (int b = 0; b < PYANNOTE__EMB_BLOCKS && rc == PYANNOTE_OK; b++)
        rc = run_block(&net->block[b], work, &cur, &h, &w, err, errlen);
    *out = rc == PYANNOTE_OK ? work->act[cur] : NULL;
    *out_frames = rc == PYANNOTE_OK ? w : 0;
    return rc;
}
