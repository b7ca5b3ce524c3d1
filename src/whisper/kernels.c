/* kernels: the portable (scalar) versions of the CPU kernels, the decoding
 * of one quantized block, and the run-time choice between the scalar, AVX2
 * and AVX-512 sets (__builtin_cpu_supports; the tables are constant).
 *
 * The scalar set is the reference the vector sets are tested against, and
 * the fallback on CPUs without AVX2/FMA/F16C. Quantized rows are decoded a
 * chunk at a time into a small stack buffer and then dotted with every
 * input row, so a weight row is read once whatever the number of rows.
 */
#include <math.h>
#include <string.h>

#include "whisper/compute.h"

float whisper__f16_to_f32_scalar(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * 0x1p-24f;
        memcpy(&bits, &v, 4);
        bits |= sign;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

size_t whisper__block_bytes(int type)
{
    switch (type) {
    case WHISPER__Q4_0: return 18;
    case WHISPER__Q4_1: return 20;
    case WHISPER__Q5_0: return 22;
    case WHISPER__Q5_1: return 24;
    case WHISPER__Q8_0: return 34;
    default: return 0;
    }
}

static float rd_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return whisper__f16_to_f32_scalar(h);
}

/* One block of 32 quantized values: the _0 types are d * (q - offset), the
 * _1 types d * q + m; q5 keeps the fifth bits of all 32 values in one
 * little-endian uint32 (bit j for value j). Values j and j + 16 share a byte
 * of qs (low and high nibble). */
void whisper__block_to_f32(int type, const uint8_t *blk, float *dst)
{
    float d = rd_f16(blk);
    switch (type) {
    case WHISPER__Q8_0:
        for (int j = 0; j < 32; j++)
            dst[j] = d * (float)(int8_t)blk[2 + j];
        break;
    case WHISPER__Q4_0:
    case WHISPER__Q4_1: {
        float m = type == WHISPER__Q4_1 ? rd_f16(blk + 2) : 0.0f;
        const uint8_t *qs = blk + (type == WHISPER__Q4_1 ? 4 : 2);
        int off = type == WHISPER__Q4_0 ? 8 : 0;
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)((qs[j] & 0x0f) - off) + m;
            dst[j + 16] = d * (float)((qs[j] >> 4) - off) + m;
        }
        break;
    }
    case WHISPER__Q5_0:
    case WHISPER__Q5_1: {
        bool one = type == WHISPER__Q5_1;
        float m = one ? rd_f16(blk + 2) : 0.0f;
        uint32_t qh;
        memcpy(&qh, blk + (one ? 4 : 2), 4);
        const uint8_t *qs = blk + (one ? 8 : 6);
        int off = one ? 0 : 16;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0x0f) | (int)(((qh >> j) & 1u) << 4);
            int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1u) << 4);
            dst[j] = d * (float)(lo - off) + m;
            dst[j + 16] = d * (float)(hi - off) + m;
        }
        break;
    }
    default:
        memset(dst, 0, 32 * sizeof *dst);
        break;
    }
}

static void scalar_to_f32(int type, const void *src, float *dst, int64_t n)
{
    if (type == WHISPER__F32) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
    } else if (type == WHISPER__F16) {
        const uint8_t *s = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = rd_f16(s + 2 * i);
    } else {
        size_t bb = whisper__block_bytes(type);
        const uint8_t *s = src;
        for (int64_t i = 0; i + 32 <= n; i += 32, s += bb)
            whisper__block_to_f32(type, s, dst + i);
    }
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
    size_t elem_bytes_num = type == WHISPER__F32 ? 4 : type == WHISPER__F16 ? 2 : whisper__block_bytes(type);
    int64_t elem_per = type == WHISPER__F32 || type == WHISPER__F16 ? 1 : 32;
    for (int o = o0; o < o1; o++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)o * row_bytes;
        float acc[WHISPER__GEMV_MAX_ROWS] = {0};
        for (int64_t i0 = 0; i0 < in; i0 += GEMV_CHUNK) {
            int64_t len = in - i0 < GEMV_CHUNK ? in - i0 : GEMV_CHUNK;
            const float *wf;
            if (type == WHISPER__F32) {
                wf = (const float *)(const void *)wr + i0;
            } else {
                k->to_f32(type, wr + (size_t)(i0 / elem_per) * elem_bytes_num, buf, len);
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
    .to_f32 = scalar_to_f32,
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
