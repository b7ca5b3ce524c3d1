/* ops: the element-wise parts of the network (layer norm, GELU, softmax,
 * residual add), split over the pool's threads by rows or chunks. Layer norm
 * takes two passes (mean, then variance of the centred values) so large
 * activations lose no precision.
 */
#include <math.h>

#include "whisper/compute.h"

typedef struct {
    const float *x;
    int64_t rows, n;
    const float *g, *b;
    float *out;
} ln_job;

static void ln_task(void *ctx, int i, int nt)
{
    const ln_job *j = ctx;
    int64_t r0 = j->rows * i / nt, r1 = j->rows * (i + 1) / nt;
    for (int64_t r = r0; r < r1; r++) {
        const float *x = j->x + r * j->n;
        float *o = j->out + r * j->n;
        float mean = 0.0f;
        for (int64_t c = 0; c < j->n; c++)
            mean += x[c];
        mean /= (float)j->n;
        float var = 0.0f;
        for (int64_t c = 0; c < j->n; c++)
            var += (x[c] - mean) * (x[c] - mean);
        var /= (float)j->n;
        float inv = 1.0f / sqrtf(var + 1e-5f);
        for (int64_t c = 0; c < j->n; c++)
            o[c] = (x[c] - mean) * inv * j->g[c] + j->b[c];
    }
}

void whisper__layer_norm(const float *x, int64_t rows, int64_t n, const float *g, const float *b,
                         float *out, whisper__pool *p)
{
    ln_job j = {x, rows, n, g, b, out};
    if (rows < 16)
        ln_task(&j, 0, 1);
    else
        whisper__pool_run(p, ln_task, &j);
}

typedef struct {
    float *x;
    int64_t n;
    const whisper__kernels *k;
} gelu_job;

static void gelu_task(void *ctx, int i, int nt)
{
    const gelu_job *j = ctx;
    int64_t a = j->n * i / nt / 16 * 16, b = i + 1 == nt ? j->n : j->n * (i + 1) / nt / 16 * 16;
    j->k->gelu(j->x + a, b - a);
}

void whisper__gelu(float *x, int64_t n, whisper__pool *p)
{
    gelu_job j = {x, n, whisper__kernels_best()};
    if (n < 4096)
        gelu_task(&j, 0, 1);
    else
        whisper__pool_run(p, gelu_task, &j);
}

void whisper__softmax(const whisper__kernels *k, float *x, int64_t n)
{
    k->softmax(x, n);
}

void whisper__add(float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] += y[i];
}
