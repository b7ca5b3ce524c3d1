/* lstm: PyanNet's monolithic multi-layer bidirectional LSTM (torch.nn.LSTM,
 * batch_first) over a batch of windows. Per layer and direction, the input
 * projections of every frame of a window are one product (frames x in by
 * in x 4H, OpenBLAS); the recurrence then advances all the windows of the
 * batch together, so each step is a (windows x H) by (H x 4H) product
 * (seg_recur.c) instead of one vector product per window.
 *
 * The input projections are computed window by window and chunk by chunk
 * of frames, with shapes that depend only on the window length, so a
 * window's result does not depend on its batch.
 * Scratch (caller-provided, pyannote__lstm_scratch_floats): the gate
 * pre-activations of one chunk of frames (windows x 160 x 4H), one layer
 * buffer (windows x frames x 2H; the other is the output, which also holds
 * the states h) and the cell states c (windows x H).
 */
#include <cblas.h>
#include <string.h>

#include "pyannote/internal.h"

/* Frames whose input projections are computed at once: enough rows that
 * OpenBLAS's packing of W_ih is amortised (64 rows cost 40% more time than
 * one product of all 589; 160 rows 12%), and a bounded gate buffer. */
#define LSTM_CHUNK 160

size_t pyannote__lstm_scratch_floats(const pyannote__seg_weights *w, size_t n_windows, size_t t)
{
    size_t h = (size_t)w->hidden;
    return n_windows * LSTM_CHUNK * 4 * h + n_windows * t * 2 * h + n_windows * h;
}

/* gates[b][i - t0] = x[b][i] W_ih^T for frames t0 .. t0 + len - 1 of every
 * window b (each window its own product, always of the same shape; the
 * bias is added in the step). */
static void project(const pyannote__seg_weights *w, int l, int d, const float *x, size_t nw,
                    size_t t, size_t t0, size_t len, float *gates)
{
    int n4 = 4 * w->hidden, in = w->lstm_in[l];
    for (size_t b = 0; b < nw; b++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)len, n4, in, 1.0f,
                    x + (b * t + t0) * (size_t)in, in, w->lstm_wih[l][d], in, 0.0f,
                    gates + b * LSTM_CHUNK * (size_t)n4, n4);
}

/* One direction of one layer: y[b][i][d * H ..] for every window, in
 * chunks of LSTM_CHUNK steps (counted from the end for the reverse one).
 * Each step reads the previous step's h where it wrote it, in y. */
static void direction(const pyannote__seg_weights *w, int l, int d, const float *x, size_t nw,
                      size_t t, float *gates, float *c, float *y)
{
    size_t hid = (size_t)w->hidden, n4 = 4 * hid, ldy = t * 2 * hid;
    const float *prev = NULL;
    memset(c, 0, nw * hid * sizeof(float));
    for (size_t s0 = 0; s0 < t; s0 += LSTM_CHUNK) {
        size_t len = t - s0 < LSTM_CHUNK ? t - s0 : LSTM_CHUNK;
        size_t t0 = d ? t - s0 - len : s0;
        project(w, l, d, x, nw, t, t0, len, gates);
        for (size_t s = 0; s < len; s++) {
            size_t r = d ? len - 1 - s : s;
            float *h = y + (t0 + r) * 2 * hid + (size_t)d * hid;
            pyannote__lstm_step(w->lstm_whh_p[l][d], w->lstm_b[l][d], w->hidden, (int)nw,
                                gates + r * n4, LSTM_CHUNK * n4, prev, ldy, h, ldy, c);
            prev = h;
        }
    }
}

void pyannote__lstm(const pyannote__seg_weights *w, const float *x, size_t n_windows, size_t t,
                    float *scratch, float *y)
{
    size_t hid = (size_t)w->hidden;
    float *gates = scratch;
    float *buf = gates + n_windows * LSTM_CHUNK * 4 * hid;
    float *c = buf + n_windows * t * 2 * hid;
    const float *in = x;
    for (int l = 0; l < w->layers; l++) {
        /* Alternate between buf and y so that the last layer writes y. */
        float *out = (w->layers - 1 - l) % 2 == 0 ? y : buf;
        for (int d = 0; d < 2; d++)
            direction(w, l, d, in, n_windows, t, gates, c, out);
        in = out;
    }
}
