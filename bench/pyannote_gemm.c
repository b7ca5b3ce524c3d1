/* pyannote_gemm: speed of the pyannote matrix products on one thread, in
 * GFLOP/s (2 m n k per product), for each mode this machine runs: F32
 * (OpenBLAS sgemm, held to one thread), BF16X3 and BF16 (AMX), on the
 * shapes of the embedding ResNet34's convolutions (k = 9 x input channels)
 * and of the segmentation LSTM. Driven by bench/pyannote_gemm.sh; not a
 * test. Each figure is from the fastest of the calls made in the time given.
 *
 * usage: pyannote_gemm [SECONDS_PER_FIGURE=0.3]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pyannote/internal.h"

typedef struct {
    int m, k, n;
    int ldy; /* 0: n */
    const char *what;
} bench_shape;

/* The first rows have x of 2.4 MB, more than L2 holds; the "tile" rows are
 * the calls emb_conv.c makes (im2col tiles of 128 Ki floats, y rows as long
 * as the output plane of a 10 s chunk), x staying in L2. */
static const bench_shape SHAPES[] = {
    {32, 288, 2048, 0, "resnet layer1 3x3 conv (32 ch)"},
    {64, 576, 1024, 0, "resnet layer2 3x3 conv (64 ch)"},
    {128, 1152, 512, 0, "resnet layer3 3x3 conv (128 ch)"},
    {256, 2304, 256, 0, "resnet layer4 3x3 conv (256 ch)"},
    {32, 288, 455, 80000, "layer1 conv, one im2col tile"},
    {64, 576, 227, 20000, "layer2 conv, one im2col tile"},
    {128, 1152, 113, 5000, "layer3 conv, one im2col tile"},
    {256, 2304, 56, 1250, "layer4 conv, one im2col tile"},
    {64, 32, 1024, 0, "resnet 1x1 shortcut (32 -> 64)"},
    {512, 256, 64, 0, "segmentation LSTM gates"},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float *random_floats(size_t count, unsigned *seed)
{
    float *v = malloc(count * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        v[i] = (float)(*seed >> 8) / (float)(1u << 23) - 1.0f;
    }
    return v;
}

/* GFLOP/s of mode on shape s, or a negative value on failure. */
static double bench_one(const bench_shape *s, pyannote__gemm_mode mode, double seconds)
{
    unsigned seed = 1;
    float *w = random_floats((size_t)s->m * (size_t)s->k, &seed);
    float *x = random_floats((size_t)s->k * (size_t)s->n, &seed);
    int ldy = s->ldy > 0 ? s->ldy : s->n;
    float *y = calloc((size_t)s->m * (size_t)ldy, sizeof *y);
    pyannote__matrix *mat = NULL;
    char err[256] = "";
    double best = -1;
    if (!w || !x || !y ||
        pyannote__matrix_new(&mat, w, s->m, s->k, mode, err, sizeof err) != PYANNOTE_OK) {
        fprintf(stderr, "pyannote_gemm: setup failed: %s\n", err);
        goto cleanup;
    }
    pyannote__matrix_mul(mat, x, s->n, s->n, y, ldy, false, err, sizeof err); /* warm up */
    /* the fastest single call: on a shared machine the mean mostly measures
     * the other processes */
    double fastest = 1e30, end = now() + seconds;
    while (now() < end) {
        double t0 = now();
        pyannote__matrix_mul(mat, x, s->n, s->n, y, ldy, false, err, sizeof err);
        double t = now() - t0;
        if (t < fastest)
            fastest = t;
    }
    best = 2.0 * s->m * s->n * (double)s->k / fastest * 1e-9;
cleanup:
    pyannote__matrix_free(mat);
    free(w);
    free(x);
    free(y);
    return best;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.3;
    if (seconds <= 0)
        seconds = 0.3;
    openblas_set_num_threads(1);
    unsetenv("CESAR_PYANNOTE_GEMM");
    bool amx = pyannote__gemm_resolve(PYANNOTE__GEMM_BF16X3) == PYANNOTE__GEMM_BF16X3;
    printf("AMX: %s; one thread; GFLOP/s of the fastest call in %.2f s\n", amx ? "yes" : "no",
           seconds);
    printf("%-5s %-5s %-5s %9s %9s %9s %8s %8s  %s\n", "m", "k", "n", "f32", "bf16x3", "bf16",
           "x3/f32", "bf16/f32", "layer");
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        const bench_shape *s = &SHAPES[i];
        double f32 = bench_one(s, PYANNOTE__GEMM_F32, seconds);
        double x3 = amx ? bench_one(s, PYANNOTE__GEMM_BF16X3, seconds) : 0;
        double b16 = amx ? bench_one(s, PYANNOTE__GEMM_BF16, seconds) : 0;
        printf("%-5d %-5d %-5d %9.1f %9.1f %9.1f %8.2f %8.2f  %s\n", s->m, s->k, s->n, f32, x3,
               b16, x3 / f32, b16 / f32, s->what);
    }
    return 0;
}
