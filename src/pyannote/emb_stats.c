/* emb_stats: pyannote's weighted statistics pooling (StatsPool with
 * weights, 3.1) on the trunk's output, one speaker mask at a time.
 *
 * The mask, given at the segmentation's frame rate, is first resized to the
 * trunk's frames by nearest neighbour exactly as F.interpolate(mode =
 * "nearest") picks its sources (float arithmetic). Then, with
 * v1 = sum(w) + 1e-8 and v2 = sum(w^2): mean = sum(w x) / v1 and
 * var = sum(w (x - mean)^2) / (v1 - v2 / v1 + 1e-8), the "reliability
 * weights" unbiased estimate. Sums are in double. */
#include <math.h>

#include "pyannote/internal.h"

#define POOL_EPS 1e-8

void pyannote__emb_resize_mask(const float *mask, size_t n_in, float *out, size_t n_out)
{
    if (n_in == n_out) {
        for (size_t i = 0; i < n_out; i++)
            out[i] = mask[i];
        return;
    }
    /* PyTorch's legacy rule: twice the size maps i to i / 2, otherwise
     * floor(i * scale) with scale = n_in / n_out computed in float. */
    float scale = (float)n_in / (float)n_out;
    for (size_t i = 0; i < n_out; i++) {
        size_t src = n_out == 2 * n_in ? i >> 1 : (size_t)floorf((float)i * scale);
        out[i] = mask[src < n_in ? src : n_in - 1];
    }
}

void pyannote__emb_stats(const float *rows, int n_rows, int frames, const float *weights,
                         float *out)
{
    double v1 = 0.0, v2 = 0.0;
    for (int t = 0; t < frames; t++) {
        v1 += weights[t];
        v2 += (double)weights[t] * weights[t];
    }
    v1 += POOL_EPS;
    double denom = v1 - v2 / v1 + POOL_EPS;
    for (int r = 0; r < n_rows; r++) {
        const float *x = rows + (size_t)r * frames;
        double s = 0.0;
        for (int t = 0; t < frames; t++)
            s += (double)weights[t] * x[t];
        double mean = s / v1, d2 = 0.0;
        for (int t = 0; t < frames; t++) {
            double d = x[t] - mean;
            d2 += weights[t] * d * d;
        }
        out[r] = (float)mean;
        out[n_rows + r] = (float)sqrt(d2 / denom);
    }
}
