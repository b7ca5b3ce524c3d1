/* seg_load: reads pyannote/segmentation-3.0's tensors (PyanNet's module
 * names: sincnet.*, lstm.*, linear.N.*, classifier.*) from a checkpoint into
 * pyannote__seg_weights, rearranged for the C code (sinc filters built and
 * folded, conv taps split, LSTM recurrent weights in panels, biases summed).
 *
 * Sizes come from the tensors themselves (filters from low_hz_, channels
 * from the conv weights, hidden size from lstm.weight_hh_l0, layers from
 * which names exist) and every other tensor is read with the shape those
 * imply, so an inconsistent checkpoint fails on the first tensor that does
 * not fit, and the message names it. The kernel sizes are fixed by the
 * network's frame timing (PYANNOTE_FRAME_STEP/DURATION) and checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "pyannote/internal.h"
#include "util/util.h"

/* Reads tensor name (ndim dimensions, shape entries < 0 free) into a new
 * array (*out, owned by the caller). */
static int read_new(const ckpt_file *f, const char *name, int ndim, const int64_t *shape,
                    float **out, char *err, size_t errlen)
{
    *out = NULL;
    const ckpt_tensor *t = ckpt_find(f, name);
    if (!t)
        return util_errf(err, errlen, PYANNOTE_ERR_MODEL, "no tensor '%s'", name);
    size_t n = t->numel > 0 ? (size_t)t->numel : 1;
    float *buf = malloc(n * sizeof *buf);
    if (!buf)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory reading '%s'", name);
    int rc = ckpt_read_f32(f, name, ndim, shape, buf, (size_t)t->numel, err, errlen);
    if (rc != CKPT_OK) {
        free(buf);
        return rc == CKPT_ERR_NOMEM ? PYANNOTE_ERR_NOMEM : PYANNOTE_ERR_MODEL;
    }
    *out = buf;
    return PYANNOTE_OK;
}

/* A dimension of tensor name, after checking its rank. */
static int dim_of(const ckpt_file *f, const char *name, int ndim, int axis, int *out, char *err,
                  size_t errlen)
{
    const ckpt_tensor *t = ckpt_find(f, name);
    if (!t)
        return util_errf(err, errlen, PYANNOTE_ERR_MODEL, "no tensor '%s'", name);
    if (t->ndim != ndim)
        return util_errf(err, errlen, PYANNOTE_ERR_MODEL,
                         "tensor '%s' has %d dimensions, expected %d", name, t->ndim, ndim);
    if (t->shape[axis] <= 0 || t->shape[axis] > 65536)
        return util_errf(err, errlen, PYANNOTE_ERR_MODEL,
                         "tensor '%s' has extent %lld in dimension %d, expected 1..65536", name,
                         (long long)t->shape[axis], axis);
    *out = (int)t->shape[axis];
    return PYANNOTE_OK;
}

/* A 1-d tensor of n values. */
static int read_vec(const ckpt_file *f, const char *name, int n, float **out, char *err,
                    size_t errlen)
{
    int64_t shape[1] = {n};
    return read_new(f, name, 1, shape, out, err, errlen);
}

static int load_sinc(pyannote__seg_weights *w, const ckpt_file *f, char *err, size_t errlen)
{
    const char *pre = "sincnet.conv1d.0.filterbank.";
    char name[128];
    float *low = NULL, *band = NULL, *win = NULL, *grid = NULL, *one = NULL;
    int half = 0, rc;
    snprintf(name, sizeof name, "%slow_hz_", pre);
    if ((rc = dim_of(f, name, 2, 0, &half, err, errlen)))
        goto cleanup;
    int64_t shape[2] = {half, 1};
    if ((rc = read_new(f, name, 2, shape, &low, err, errlen)))
        goto cleanup;
    snprintf(name, sizeof name, "%sband_hz_", pre);
    if ((rc = read_new(f, name, 2, shape, &band, err, errlen)))
        goto cleanup;
    /* ParamSincFB's buffers: used as stored when present (they are
     * persistent, so published checkpoints hold them). */
    snprintf(name, sizeof name, "%swindow_", pre);
    if (ckpt_find(f, name) && (rc = read_vec(f, name, PYANNOTE__SINC_HALF, &win, err, errlen)))
        goto cleanup;
    snprintf(name, sizeof name, "%sn_", pre);
    int64_t gshape[2] = {1, PYANNOTE__SINC_HALF};
    if (ckpt_find(f, name) && (rc = read_new(f, name, 2, gshape, &grid, err, errlen)))
        goto cleanup;
    if ((rc = read_vec(f, "sincnet.wav_norm1d.weight", 1, &one, err, errlen)))
        goto cleanup;
    w->wav_norm_w = one[0];
    free(one);
    one = NULL;
    if ((rc = read_vec(f, "sincnet.wav_norm1d.bias", 1, &one, err, errlen)))
        goto cleanup;
    w->wav_norm_b = one[0];
    w->n_sinc = 2 * half;
    w->ch[0] = w->n_sinc;
    w->sinc_cos = malloc((size_t)half * (PYANNOTE__SINC_HALF + 1) * sizeof(float));
    w->sinc_sin = malloc((size_t)half * PYANNOTE__SINC_HALF * sizeof(float));
    if (!w->sinc_cos || !w->sinc_sin) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory for the sinc filters");
        goto cleanup;
    }
    pyannote__sinc_filters(low, band, half, win, grid, w->sinc_cos, w->sinc_sin);
cleanup:
    free(low);
    free(band);
    free(win);
    free(grid);
    free(one);
    return rc;
}

/* Conv stage s (1 or 2): torch's [out][in][k] regrouped as one out x in
 * matrix per tap. */
static int load_conv(pyannote__seg_weights *w, const ckpt_file *f, int s, char *err, size_t errlen)
{
    char name[64];
    float *raw = NULL;
    int out = 0, in = w->ch[s - 1], rc;
    snprintf(name, sizeof name, "sincnet.conv1d.%d.weight", s);
    if ((rc = dim_of(f, name, 3, 0, &out, err, errlen)))
        return rc;
    int64_t shape[3] = {out, in, PYANNOTE__CONV_KERNEL};
    if ((rc = read_new(f, name, 3, shape, &raw, err, errlen)))
        return rc;
    w->ch[s] = out;
    w->conv_w[s - 1] = malloc((size_t)out * (size_t)in * PYANNOTE__CONV_KERNEL * sizeof(float));
    if (!w->conv_w[s - 1]) {
        free(raw);
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory for '%s'", name);
    }
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            for (int k = 0; k < PYANNOTE__CONV_KERNEL; k++)
                w->conv_w[s - 1][((size_t)k * out + o) * in + i] =
                    raw[((size_t)o * in + i) * PYANNOTE__CONV_KERNEL + k];
    free(raw);
    snprintf(name, sizeof name, "sincnet.conv1d.%d.bias", s);
    return read_vec(f, name, out, &w->conv_b[s - 1], err, errlen);
}

static int load_norms(pyannote__seg_weights *w, const ckpt_file *f, char *err, size_t errlen)
{
    char name[64];
    int rc;
    for (int s = 0; s < 3; s++) {
        snprintf(name, sizeof name, "sincnet.norm1d.%d.weight", s);
        if ((rc = read_vec(f, name, w->ch[s], &w->norm_w[s], err, errlen)))
            return rc;
        snprintf(name, sizeof name, "sincnet.norm1d.%d.bias", s);
        if ((rc = read_vec(f, name, w->ch[s], &w->norm_b[s], err, errlen)))
            return rc;
    }
    return PYANNOTE_OK;
}

/* One direction of one LSTM layer. */
static int load_lstm_dir(pyannote__seg_weights *w, const ckpt_file *f, int l, int d, char *err,
                         size_t errlen)
{
    const char *sfx = d ? "_reverse" : "";
    int h = w->hidden, rc;
    char name[64];
    float *whh = NULL, *bih = NULL, *bhh = NULL;
    int64_t ih[2] = {4 * h, w->lstm_in[l]}, hh[2] = {4 * h, h};
    snprintf(name, sizeof name, "lstm.weight_ih_l%d%s", l, sfx);
    if ((rc = read_new(f, name, 2, ih, &w->lstm_wih[l][d], err, errlen)))
        goto cleanup;
    snprintf(name, sizeof name, "lstm.weight_hh_l%d%s", l, sfx);
    if ((rc = read_new(f, name, 2, hh, &whh, err, errlen)))
        goto cleanup;
    snprintf(name, sizeof name, "lstm.bias_ih_l%d%s", l, sfx);
    if ((rc = read_vec(f, name, 4 * h, &bih, err, errlen)))
        goto cleanup;
    snprintf(name, sizeof name, "lstm.bias_hh_l%d%s", l, sfx);
    if ((rc = read_vec(f, name, 4 * h, &bhh, err, errlen)))
        goto cleanup;
    size_t panels = ((size_t)4 * h + PYANNOTE__LSTM_PANEL - 1) / PYANNOTE__LSTM_PANEL;
    float *p = calloc(panels * (size_t)h * PYANNOTE__LSTM_PANEL, sizeof(float));
    if (!p) {
        rc = util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory for '%s'", name);
        goto cleanup;
    }
    w->lstm_whh_p[l][d] = p;
    for (int g = 0; g < 4 * h; g++) {
        size_t panel = (size_t)g / PYANNOTE__LSTM_PANEL, lane = (size_t)g % PYANNOTE__LSTM_PANEL;
        for (int k = 0; k < h; k++)
            p[(panel * h + k) * PYANNOTE__LSTM_PANEL + lane] = whh[(size_t)g * h + k];
        bih[g] += bhh[g];
    }
    w->lstm_b[l][d] = bih;
    bih = NULL;
cleanup:
    free(whh);
    free(bih);
    free(bhh);
    return rc;
}

static int load_lstm(pyannote__seg_weights *w, const ckpt_file *f, char *err, size_t errlen)
{
    int rc;
    if ((rc = dim_of(f, "lstm.weight_hh_l0", 2, 1, &w->hidden, err, errlen)))
        return rc;
    char name[64];
    w->layers = 0;
    for (int l = 0; l < PYANNOTE__SEG_MAX_LAYERS; l++) {
        snprintf(name, sizeof name, "lstm.weight_ih_l%d", l);
        if (!ckpt_find(f, name))
            break;
        w->layers = l + 1;
    }
    snprintf(name, sizeof name, "lstm.weight_ih_l%d", PYANNOTE__SEG_MAX_LAYERS);
    if (ckpt_find(f, name))
        return util_errf(err, errlen, PYANNOTE_ERR_MODEL, "more than %d LSTM layers ('%s')",
                         PYANNOTE__SEG_MAX_LAYERS, name);
    if (w->layers == 0)
        return util_errf(err, errlen, PYANNOTE_ERR_MODEL, "no tensor 'lstm.weight_ih_l0'");
    for (int l = 0; l < w->layers; l++) {
        w->lstm_in[l] = l == 0 ? w->ch[2] : 2 * w->hidden;
        for (int d = 0; d < 2; d++)
            if ((rc = load_lstm_dir(w, f, l, d, err, errlen)))
                return rc;
    }
    return PYANNOTE_OK;
}

static int load_linear(pyannote__seg_weights *w, const ckpt_file *f, char *err, size_t errlen)
{
    char name[64];
    int rc, in = 2 * w->hidden;
    w->n_linear = 0;
    for (int i = 0; i <= PYANNOTE__SEG_MAX_LINEAR; i++) {
        snprintf(name, sizeof name, "linear.%d.weight", i);
        if (!ckpt_find(f, name))
            break;
        if (i == PYANNOTE__SEG_MAX_LINEAR)
            return util_errf(err, errlen, PYANNOTE_ERR_MODEL, "more than %d linear layers ('%s')",
                             PYANNOTE__SEG_MAX_LINEAR, name);
        int out = 0;
        if ((rc = dim_of(f, name, 2, 0, &out, err, errlen)))
            return rc;
        int64_t shape[2] = {out, in};
        if ((rc = read_new(f, name, 2, shape, &w->lin_w[i], err, errlen)))
            return rc;
        snprintf(name, sizeof name, "linear.%d.bias", i);
        if ((rc = read_vec(f, name, out, &w->lin_b[i], err, errlen)))
            return rc;
        w->lin_in[i] = in;
        w->lin_out[i] = out;
        w->n_linear = i + 1;
        in = out;
    }
    w->cls_in = in;
    int64_t shape[2] = {PYANNOTE_POWERSET_CLASSES, in};
    if ((rc = read_new(f, "classifier.weight", 2, shape, &w->cls_w, err, errlen)))
        return rc;
    return read_vec(f, "classifier.bias", PYANNOTE_POWERSET_CLASSES, &w->cls_b, err, errlen);
}

int pyannote__seg_weights_load(pyannote__seg_weights *w, const char *path, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    ckpt_file *f = NULL;
    int rc = ckpt_open(&f, path, err, errlen);
    if (rc != CKPT_OK) {
        rc = rc == CKPT_ERR_NOMEM ? PYANNOTE_ERR_NOMEM : PYANNOTE_ERR_MODEL;
        goto cleanup;
    }
    if ((rc = load_sinc(w, f, err, errlen)) || (rc = load_conv(w, f, 1, err, errlen)) ||
        (rc = load_conv(w, f, 2, err, errlen)) || (rc = load_norms(w, f, err, errlen)) ||
        (rc = load_lstm(w, f, err, errlen)) || (rc = load_linear(w, f, err, errlen)))
        goto cleanup;
cleanup:
    ckpt_close(f);
    if (rc != PYANNOTE_OK) {
        pyannote__seg_weights_free(w);
        /* ckpt's messages name the file, this module's own do not yet. */
        if (err && errlen > 0 && !strstr(err, path)) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", err);
            util_errf(err, errlen, rc, "%s: %s", path, msg);
        }
    }
    return rc;
}

void pyannote__seg_weights_free(pyannote__seg_weights *w)
{
    if (!w)
        return;
    free(w->sinc_cos);
    free(w->sinc_sin);
    for (int s = 0; s < 3; s++) {
        free(w->norm_w[s]);
        free(w->norm_b[s]);
    }
    for (int s = 0; s < 2; s++) {
        free(w->conv_w[s]);
        free(w->conv_b[s]);
    }
    for (int l = 0; l < PYANNOTE__SEG_MAX_LAYERS; l++)
        for (int d = 0; d < 2; d++) {
            free(w->lstm_wih[l][d]);
            free(w->lstm_whh_p[l][d]);
            free(w->lstm_b[l][d]);
        }
    for (int i = 0; i < PYANNOTE__SEG_MAX_LINEAR; i++) {
        free(w->lin_w[i]);
        free(w->lin_b[i]);
    }
    free(w->cls_w);
    free(w->cls_b);
    memset(w, 0, sizeof *w);
}
