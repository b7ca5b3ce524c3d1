/* seg_head: the end of the segmentation network for one window: PyanNet's
 * linear layers (each followed by a leaky ReLU, slope 0.01), the powerset
 * classifier and the log-softmax over its 7 classes (normaliser summed in
 * double). Products through OpenBLAS, one window per call, so the result
 * does not depend on the batch.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "pyannote/internal.h"

void pyannote__seg_head(const pyannote__seg_weights *w, const float *x, size_t frames, float *tmp,
                        size_t tmp_stride, float *out)
{
    const float *in = x;
    int in_dim = 2 * w->hidden;
    for (int i = 0; i < w->n_linear; i++) {
        float *y = tmp + (size_t)(i % 2) * tmp_stride;
        int o = w->lin_out[i];
        for (size_t t = 0; t < frames; t++)
            memcpy(y + t * (size_t)o, w->lin_b[i], (size_t)o * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)frames, o, in_dim, 1.0f, in,
                    in_dim, w->lin_w[i], in_dim, 1.0f, y, o);
        for (size_t j = 0; j < frames * (size_t)o; j++)
            y[j] = y[j] >= 0.0f ? y[j] : 0.01f * y[j];
        in = y;
        in_dim = o;
    }
    const int nk = PYANNOTE_POWERSET_CLASSES;
    for (size_t t = 0; t < frames; t++)
        memcpy(out + t * nk, w->cls_b, nk * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)frames, nk, in_dim, 1.0f, in, in_dim,
                w->cls_w, in_dim, 1.0f, out, nk);
    for (size_t t = 0; t < frames; t++) {
        float *p = out + t * nk;
        float m = p[0];
        for (int k = 1; k < nk; k++)
            m = p[k] > m ? p[k] : m;
        double sum = 0.0;
        for (int k = 0; k < nk; k++)
            sum += exp((double)p[k] - m);
        float lse = (float)(m + log(sum));
        for (int k = 0; k < nk; k++)
            p[k] -= lse;
    }
}
