/* emb_net: loads pyannote/wespeaker-voxceleb-resnet34-LM's weights. The
 * tensor names follow the modules of pyannote's WeSpeakerResNet34 (the
 * network lives in its `resnet` attribute): resnet.conv1 / resnet.bn1, then
 * resnet.layerL.B.{conv1,bn1,conv2,bn2} for the basic blocks, the first
 * block of layers 2-4 also resnet.layerL.0.shortcut.{0,1} (1x1 conv, its
 * BatchNorm), and resnet.seg_1 (5120 -> 256). BatchNorm's
 * num_batches_tracked is not needed.
 *
 * Each BatchNorm (inference: running statistics, eps 1e-5) is folded into
 * its convolution here, once: weights scaled per output channel, the shift
 * becoming the convolution's bias. Every shape is checked against the
 * architecture, so a wrong checkpoint is refused naming the tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ckpt/ckpt.h"
#include "pyannote/internal.h"
#include "util/util.h"

#define BN_EPS 1e-5

static const int LAYER_BLOCKS[4] = {3, 4, 6, 3};

static int from_ckpt(int rc)
{
    if (rc == CKPT_OK)
        return PYANNOTE_OK;
    return rc == CKPT_ERR_NOMEM ? PYANNOTE_ERR_NOMEM : PYANNOTE_ERR_MODEL;
}

static int read_vec(const ckpt_file *f, const char *name, int n, float *out, char *err,
                    size_t errlen)
{
    int64_t shape[1] = {n};
    return from_ckpt(ckpt_read_f32(f, name, 1, shape, out, (size_t)n, err, errlen));
}

/* conv (cout x cin x k x k, no bias) + bn -> c. */
static int load_conv(pyannote__emb_conv *c, const ckpt_file *f, const char *conv_name,
                     const char *bn_name, int cin, int cout, int k, int stride,
                     pyannote__gemm_mode mode, char *err, size_t errlen)
{
    size_t kk = (size_t)cin * k * k;
    float *w = malloc((size_t)cout * kk * sizeof *w);
    float *bn = malloc(4 * (size_t)cout * sizeof *bn);
    c->bias = malloc((size_t)cout * sizeof *c->bias);
    c->cin = cin, c->cout = cout, c->k = k, c->stride = stride;
    char name[128];
    int rc = PYANNOTE_OK;
    if (!w || !bn || !c->bias) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory loading '%s'", conv_name);
        goto cleanup;
    }
    snprintf(name, sizeof name, "%s.weight", conv_name);
    int64_t shape[4] = {cout, cin, k, k};
    rc = from_ckpt(ckpt_read_f32(f, name, 4, shape, w, (size_t)cout * kk, err, errlen));
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int p = 0; p < 4 && rc == PYANNOTE_OK; p++) {
        snprintf(name, sizeof name, "%s.%s", bn_name, parts[p]);
        rc = read_vec(f, name, cout, bn + (size_t)p * cout, err, errlen);
    }
    if (rc != PYANNOTE_OK)
        goto cleanup;
    for (int o = 0; o < cout; o++) {
        double var = bn[3 * cout + o];
        if (!(var >= 0.0)) {
            snprintf(name, sizeof name, "%s.running_var", bn_name);
            rc = util_errf(err, errlen, PYANNOTE_ERR_MODEL, "tensor '%s': variance %g < 0", name,
                           var);
            goto cleanup;
        }
        double s = bn[o] / sqrt(var + BN_EPS);
        for (size_t i = 0; i < kk; i++)
            w[o * kk + i] = (float)(w[o * kk + i] * s);
        c->bias[o] = (float)(bn[cout + o] - bn[2 * cout + o] * s);
    }
    rc = pyannote__matrix_new(&c->w, w, cout, (int)kk, mode, err, errlen);
    if (rc == PYANNOTE_OK)
        rc = pyannote__emb_conv_amx_prepare(c, w, err, errlen);
cleanup:
    free(w);
    free(bn);
    return rc;
}

static int load_seg1(pyannote__emb_net *net, const ckpt_file *f, pyannote__gemm_mode mode,
                     char *err, size_t errlen)
{
    size_t n = (size_t)PYANNOTE_EMBEDDING_DIM * PYANNOTE__EMB_STATS;
    float *w = malloc(n * sizeof *w);
    net->seg1_bias = malloc(PYANNOTE_EMBEDDING_DIM * sizeof *net->seg1_bias);
    int rc = PYANNOTE_OK;
    if (!w || !net->seg1_bias) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory loading 'resnet.seg_1'");
        goto cleanup;
    }
    int64_t shape[2] = {PYANNOTE_EMBEDDING_DIM, PYANNOTE__EMB_STATS};
    rc = from_ckpt(ckpt_read_f32(f, "resnet.seg_1.weight", 2, shape, w, n, err, errlen));
    if (rc == PYANNOTE_OK)
        rc = read_vec(f, "resnet.seg_1.bias", PYANNOTE_EMBEDDING_DIM, net->seg1_bias, err,
                      errlen);
    if (rc == PYANNOTE_OK)
        rc = pyannote__matrix_new(&net->seg1, w, PYANNOTE_EMBEDDING_DIM, PYANNOTE__EMB_STATS,
                                  mode, err, errlen);
cleanup:
    free(w);
    return rc;
}

static int load_block(pyannote__emb_block *b, const ckpt_file *f, int layer, int index, int cin,
                      int cout, int stride, pyannote__gemm_mode mode, char *err, size_t errlen)
{
    char conv[64], bn[64];
    snprintf(conv, sizeof conv, "resnet.layer%d.%d.conv1", layer + 1, index);
    snprintf(bn, sizeof bn, "resnet.layer%d.%d.bn1", layer + 1, index);
    int rc = load_conv(&b->conv1, f, conv, bn, cin, cout, 3, stride, mode, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc;
    snprintf(conv, sizeof conv, "resnet.layer%d.%d.conv2", layer + 1, index);
    snprintf(bn, sizeof bn, "resnet.layer%d.%d.bn2", layer + 1, index);
    rc = load_conv(&b->conv2, f, conv, bn, cout, cout, 3, 1, mode, err, errlen);
    if (rc != PYANNOTE_OK || (stride == 1 && cin == cout))
        return rc;
    snprintf(conv, sizeof conv, "resnet.layer%d.%d.shortcut.0", layer + 1, index);
    snprintf(bn, sizeof bn, "resnet.layer%d.%d.shortcut.1", layer + 1, index);
    return load_conv(&b->shortcut, f, conv, bn, cin, cout, 1, stride, mode, err, errlen);
}

int pyannote__emb_net_load(pyannote__emb_net *net, const char *path, pyannote__gemm_mode mode,
                           char *err, size_t errlen)
{
    ckpt_file *f = NULL;
    int rc = from_ckpt(ckpt_open(&f, path, err, errlen));
    if (rc != PYANNOTE_OK)
        goto cleanup;
    rc = load_conv(&net->stem, f, "resnet.conv1", "resnet.bn1", 1, PYANNOTE__EMB_CHANNELS, 3, 1,
                   mode, err, errlen);
    int cin = PYANNOTE__EMB_CHANNELS, n = 0;
    for (int layer = 0; layer < 4 && rc == PYANNOTE_OK; layer++) {
        int cout = PYANNOTE__EMB_CHANNELS << layer;
        for (int b = 0; b < LAYER_BLOCKS[layer] && rc == PYANNOTE_OK; b++, n++) {
            int stride = (b == 0 && layer > 0) ? 2 : 1;
            rc = load_block(&net->block[n], f, layer, b, b == 0 ? cin : cout, cout, stride,
                            mode, err, errlen);
        }
        cin = cout;
    }
    if (rc == PYANNOTE_OK)
        rc = load_seg1(net, f, mode, err, errlen);
cleanup:
    ckpt_close(f);
    return rc;
}

static void free_conv(pyannote__emb_conv *c)
{
    pyannote__matrix_free(c->w);
    pyannote__emb_conv_amx_free(c->amx);
    free(c->bias);
    c->w = NULL;
    c->amx = NULL;
    c->bias = NULL;
}

void pyannote__emb_net_free(pyannote__emb_net *net)
{
    if (!net)
        return;
    free_conv(&net->stem);
    for (int i = 0; i < PYANNOTE__EMB_BLOCKS; i++) {
        free_conv(&net->block[i].conv1);
        free_conv(&net->block[i].conv2);
        free_conv(&net->block[i].shortcut);
    }
    pyannote__matrix_free(net->seg1);
    free(net->seg1_bias);
    net->seg1 = NULL;
    net->seg1_bias = NULL;
}
