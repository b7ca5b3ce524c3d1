/* kernels: the portable (scalar) versions of the CPU kernels and the
 * run-time choice between the scalar, AVX2 and AVX-512 sets
 * (__builtin_cpu_supports; the tables are constant).
 *
 * The scalar set is the reference the vector sets are tested against, and
 * the fallback on CPUs without AVX2/FMA/F16C; its row decoding is the
 * loader's whisper__dequant_row (quant.c). Quantized rows are decoded a
 * chunk at a time into a small stack buffer and then dotted with every
 * input row, so a weight row is read once whatever the number of rows.
 */
#include <math.h>
#include <string.h>

#include "whisper/compute.h"

size_t whisper__block_bytes(int type)
{
    return type == WHISPER__F32 || type == WHISPER__F16 ? 0 : whisper__row_size(type, WHISPER__QK);
}

static void scalar_to_f16(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = whisper__f32_to_f16(src[i]);
}

static float scalar_dot(const float *a, const float *b, int64_t n)
{
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void scalar_axpy(float a, const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static float scalar_exp_sum(float *x, int64_t n, float max)
{
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        s += x[i];
    }
    return s;
}

static void scalar_softmax(float *x, int64_t n)
{
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        max = x[i] > max ? x[i] : max;
    float inv = 1.0f / scalar_exp_sum(x, n, max);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

static void scalar_gelu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

/* Elements of a weight row decoded per step of whisper__gemv_generic. */
#define GEMV_CHUNK 1024

/* Shared by every set for the types it has no fused kernel for. */
void whisper__gemv_generic(const whisper__kernels *k, int type, const void *w, size_t row_bytes,
                           int64_t in, int o0, int o1, const float *x, int rows, float *y,
                           int64_t ldy)
{
    float buf[GEMV_CHUNK];
    for (int o = o0; o < o1; o++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)o * row_bytes;
        float acc[WHISPER__GEMV_MAX_ROWS] = {0};
        for (int64_t i0 = 0; i0 < in; i0 += GEMV_CHUNK) {
            int64_t len = in - i0 < GEMV_CHUNK ? in - i0 : GEMV_CHUNK;
            const float *wf;
            if (type == WHISPER__F32) {
                wf = (const float *)(const void *)wr + i0;
            } else {
                /* i0 is a multiple of the block size: its offset is a row's size */
                k->to_f32(type, wr + whisper__row_size(type, i0), buf, len);
                wf = buf;
            }
            for (int r = 0; r < rows; r++)
                acc[r] += k->dot(wf, x + (int64_t)r * in + i0, len);
        }
        for (int r = 0; r < rows; r++)
            y[(int64_t)r * ldy + o] = acc[r];
    }
}

static void scalar_gemv(int type, const void *w, size_t row_bytes, int64_t in, int o0, int o1,
                        const float *x, int rows, float *y, int64_t ldy)
{
    whisper__gemv_generic(whisper__kernels_for(WHISPER__ISA_SCALAR), type, w, row_bytes, in, o0,
                          o1, x, rows, y, ldy);
}

static const whisper__kernels scalar_kernels = {
    .isa = WHISPER__ISA_SCALAR,
    .gemv = scalar_gemv,
    .to_f32 = whisper__dequant_row,
    .to_f16 = scalar_to_f16,
    .dot = scalar_dot,
    .axpy = scalar_axpy,
    .exp_sum = scalar_exp_sum,
    .softmax = scalar_softmax,
    .gelu = scalar_gelu,
};

const whisper__kernels *whisper__kernels_for(whisper__isa isa)
{
    switch (isa) {
    case WHISPER__ISA_AVX512:
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
            return whisper__kernels_avx512();
        return NULL;
    case WHISPER__ISA_AVX2:
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("f16c"))
            return whisper__kernels_avx2();
        return NULL;
    default:
        return &scalar_kernels;
    }
}

const whisper__kernels *whisper__kernels_best(void)
{
    const whisper__kernels *k = whisper__kernels_for(WHISPER__ISA_AVX512);
    if (!k)
        k = whisper__kernels_for(WHISPER__ISA_AVX2);
    return k ? k : &scalar_kernels;
}
