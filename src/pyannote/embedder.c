/* embedder: the public face of the speaker-embedding network
 * (pyannote/wespeaker-voxceleb-resnet34-LM): fbank -> ResNet34 trunk, once
 * per chunk -> weighted statistics pooling per speaker mask -> seg_1.
 *
 * The trunk runs once per call whatever the number of masks: pyannote
 * applies the weights only in the pooling, so this is exact.
 *
 * Scratch: kept on the handle (one thread at a time uses it) and grown to
 * the longest chunk seen: four activation buffers of 32 x 80 x frames
 * floats (10.2 MB each for a 10 s chunk, 998 frames), the features
 * (80 x frames), and 512 KiB of im2col columns per thread; about 42 MB for
 * 10 s at 2 threads, linear in the chunk length. In the AMX modes, also
 * the two bfloat16 activation buffers of emb_trunk_amx.c (11 MB each at
 * 10 s in BF16X3). Per call, the pooled
 * statistics (5120 floats per mask) and the resized masks. The handle also
 * keeps its worker threads (emb_pool.c) from the first multi-threaded call
 * to the close. */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "util/util.h"

struct pyannote_embedder {
    pyannote__emb_net net;
    pyannote__emb_fbank_tables fbank;
    pyannote__emb_work work;
    float *act_mem; /* the four activation buffers, one allocation */
    float *feats;
    int cols_threads; /* threads work.cols has room for */
};

int pyannote_embedder_open(pyannote_embedder **out, const char *checkpoint_path, char *err,
                           size_t errlen)
{
    return pyannote_embedder_open_precision(out, checkpoint_path, PYANNOTE_PRECISION_EXACT, err,
                                            errlen);
}

int pyannote_embedder_open_precision(pyannote_embedder **out, const char *checkpoint_path,
                                     pyannote_precision precision, char *err, size_t errlen)
{
    int rc = PYANNOTE_OK;
    pyannote_embedder *e = NULL;
    if (!out || !checkpoint_path) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                       "pyannote_embedder_open: NULL argument");
        goto cleanup;
    }
    *out = NULL;
    e = calloc(1, sizeof *e);
    if (!e) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory opening %s",
                       checkpoint_path);
        goto cleanup;
    }
    pyannote__emb_fbank_init(&e->fbank);
    /* its helpers start on the first call that wants more than one thread */
    e->work.pool = pyannote__emb_pool_new();
    if (!e->work.pool) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory opening %s",
                       checkpoint_path);
        goto cleanup;
    }
    rc = pyannote__emb_net_load(&e->net, checkpoint_path,
                                precision == PYANNOTE_PRECISION_FAST ? PYANNOTE__GEMM_BF16
                                                                     : PYANNOTE__GEMM_AUTO,
                                err, errlen);
    if (rc != PYANNOTE_OK)
        goto cleanup;
    *out = e;
    e = NULL;
cleanup:
    pyannote_embedder_close(e);
    return rc;
}

void pyannote_embedder_close(pyannote_embedder *e)
{
    if (!e)
        return;
    pyannote__emb_pool_free(e->work.pool);
    pyannote__emb_net_free(&e->net);
    free(e->act_mem);
    free(e->feats);
    free(e->work.cols);
    free(e->work.bf16);
    free(e);
}

size_t pyannote_embedder_min_samples(const pyannote_embedder *e)
{
    (void)e;
    /* One fbank frame is enough: every stride of the ResNet keeps at least
     * one column, so pyannote's search (the shortest input that does not
     * raise) ends at the frame length. */
    return PYANNOTE__EMB_FRAME;
}

/* Grows the handle's scratch for frames fbank frames and n_threads. */
static int reserve(pyannote_embedder *e, int frames, int n_threads, char *err, size_t errlen)
{
    size_t need = pyannote__emb_act_floats(frames);
    if (need > e->work.act_cap) {
        free(e->act_mem);
        free(e->feats);
        e->act_mem = malloc(4 * need * sizeof *e->act_mem);
        e->feats = malloc((size_t)PYANNOTE__EMB_MELS * (size_t)frames * sizeof *e->feats);
        e->work.act_cap = e->act_mem && e->feats ? need : 0;
        if (!e->work.act_cap)
            return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                             "pyannote_embed: out of memory for %d frames", frames);
        for (int i = 0; i < 4; i++)
            e->work.act[i] = e->act_mem + (size_t)i * need;
    }
    if (n_threads > e->cols_threads) {
        free(e->work.cols);
        e->work.cols = malloc((size_t)n_threads * PYANNOTE__EMB_TILE_FLOATS * sizeof(float));
        e->cols_threads = e->work.cols ? n_threads : 0;
        if (!e->work.cols)
            return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                             "pyannote_embed: out of memory for %d threads", n_threads);
    }
    e->work.n_threads = n_threads;
    return PYANNOTE_OK;
}

static int check_args(const pyannote_embedder *e, const float *samples, size_t n_samples,
                      const float *masks, size_t n_masks, size_t n_mask_frames, const float *out,
                      char *err, size_t errlen)
{
    if (!e || !samples || (n_masks && (!masks || !out)))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "pyannote_embed: NULL argument");
    if (n_samples < PYANNOTE__EMB_FRAME)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "pyannote_embed: %zu samples, at least %d needed (one 25 ms frame)",
                         n_samples, PYANNOTE__EMB_FRAME);
    /* Positions and strides are ints in the products: the largest layer
     * (32 x 80 x frames) must fit. */
    if (pyannote__emb_fbank_frames(n_samples) >
        (size_t)INT32_MAX / (PYANNOTE__EMB_CHANNELS * PYANNOTE__EMB_MELS))
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "pyannote_embed: %zu samples, too many for one chunk", n_samples);
    if (n_masks && n_mask_frames == 0)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID,
                         "pyannote_embed: %zu masks of 0 frames", n_masks);
    return PYANNOTE_OK;
}

/* Each mask resized to the trunk's frames: weights (n_masks x frames).
 * Returns whether any weight is non-zero (NaN counts as non-zero). */
static bool resize_masks(const float *masks, size_t n_masks, size_t n_mask_frames, int frames,
                         float *weights)
{
    bool any = false;
    for (size_t m = 0; m < n_masks; m++) {
        float *w = weights + m * (size_t)frames;
        pyannote__emb_resize_mask(masks + m * n_mask_frames, n_mask_frames, w, (size_t)frames);
        for (int t = 0; t < frames && !any; t++)
            any = w[t] != 0.0f;
    }
    return any;
}

/* Pools rows (NULL: every weight is zero, the statistics are zeros) under
 * each mask's weights into stats (5120 x n_masks, one column per mask),
 * then out = seg_1(stats). */
static int pool_and_project(const pyannote_embedder *e, const float *rows, int frames,
                            const float *weights, size_t n_masks, float *out, char *err,
                            size_t errlen)
{
    int rc = PYANNOTE_OK;
    float *col = calloc(PYANNOTE__EMB_STATS, sizeof *col);
    float *stats = malloc(PYANNOTE__EMB_STATS * n_masks * sizeof *stats);
    float *y = malloc(PYANNOTE_EMBEDDING_DIM * n_masks * sizeof *y);
    if (!col || !stats || !y) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "pyannote_embed: out of memory for %zu"
                       " masks", n_masks);
        goto cleanup;
    }
    for (size_t m = 0; m < n_masks; m++) {
        if (rows)
            pyannote__emb_stats(rows, PYANNOTE__EMB_STATS / 2, frames,
                                weights + m * (size_t)frames, col);
        for (int i = 0; i < PYANNOTE__EMB_STATS; i++)
            stats[(size_t)i * n_masks + m] = col[i];
    }
    rc = pyannote__matrix_mul(e->net.seg1, stats, (int)n_masks, (int)n_masks, y, (int)n_masks,
                              false, err, errlen);
    if (rc != PYANNOTE_OK)
        goto cleanup;
    for (size_t m = 0; m < n_masks; m++)
        for (int i = 0; i < PYANNOTE_EMBEDDING_DIM; i++)
            out[m * PYANNOTE_EMBEDDING_DIM + i] = y[(size_t)i * n_masks + m] + e->net.seg1_bias[i];
cleanup:
    free(col);
    free(stats);
    free(y);
    return rc;
}

int pyannote_embed(pyannote_embedder *e, const float *samples, size_t n_samples,
                   const float *masks, size_t n_masks, size_t n_mask_frames, int n_threads,
                   float *out, char *err, size_t errlen)
{
    int rc = check_args(e, samples, n_samples, masks, n_masks, n_mask_frames, out, err, errlen);
    if (rc != PYANNOTE_OK || n_masks == 0)
        return rc;
    if (n_masks > (size_t)INT32_MAX / PYANNOTE__EMB_STATS)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "pyannote_embed: %zu masks",
                         n_masks);
    int frames = (int)pyannote__emb_fbank_frames(n_samples);
    int out_frames = pyannote__emb_trunk_frames(frames);
    float *weights = malloc(n_masks * (size_t)out_frames * sizeof *weights);
    if (!weights)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "pyannote_embed: out of memory for "
                         "%zu masks", n_masks);
    const float *rows = NULL;
    /* Masks that are zero everywhere pool to zeros whatever the trunk
     * gives (pyannote's 1e-8 guards): a chunk where nobody speaks needs no
     * network at all, and its embeddings are exactly what running it would
     * give. */
    if (resize_masks(masks, n_masks, n_mask_frames, out_frames, weights)) {
        rc = reserve(e, frames, n_threads < 1 ? 1 : n_threads, err, errlen);
        if (rc != PYANNOTE_OK)
            goto cleanup;
        /* Our threads split the columns; OpenBLAS's own would only contend. */
        openblas_set_num_threads(1);
        pyannote__emb_fbank(&e->fbank, samples, n_samples, e->feats, e->work.pool,
                            e->work.n_threads);
        int got = 0;
        rc = pyannote__emb_trunk(&e->net, e->feats, frames, &e->work, &rows, &got, err, errlen);
        if (rc != PYANNOTE_OK)
            goto cleanup;
    }
    rc = pool_and_project(e, rows, out_frames, weights, n_masks, out, err, errlen);
cleanup:
    free(weights);
    return rc;
}
