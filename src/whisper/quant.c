/* quant: the ggml tensor types a Whisper file may hold — half floats and the
 * version-2 block quantizations (q4_0, q4_1, q5_0, q5_1, q8_0) — their byte
 * sizes and their exact conversion back to float.
 *
 * Every quantized type packs 32 consecutive elements of a row into one block
 * that starts with an f16 scale d (and, for the _1 types, an f16 minimum m).
 * Blocks sit at any byte offset in a file, so multi-byte fields are read with
 * memcpy, never through a cast pointer. */
#include <stdint.h>
#include <string.h>

#include "whisper/internal.h"

/* Block sizes in bytes, from the ggml version-2 layouts. */
#define Q4_0_BYTES (2 + 16)
#define Q4_1_BYTES (2 + 2 + 16)
#define Q5_0_BYTES (2 + 4 + 16)
#define Q5_1_BYTES (2 + 2 + 4 + 16)
#define Q8_0_BYTES (2 + 32)

float whisper__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24 is exact in float */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | (mant << 13); /* inf, or nan keeping its payload */
    else
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Rounds m / 2^shift to the nearest integer, ties to even. */
static uint32_t round_shift(uint32_t m, unsigned shift)
{
    if (shift == 0)
        return m;
    if (shift > 31)
        return 0;
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return q;
}

uint16_t whisper__f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) /* nan: keep the top payload bits, stay quiet */
        return (uint16_t)(sign | 0x7e00 | ((absx >> 13) & 0x3ff));
    if (absx >= 0x477ff000u) /* >= 65520 rounds past the largest half (65504) */
        return (uint16_t)(sign | 0x7c00);
    uint32_t e = absx >> 23;
    if (e < 113) {
        /* below 2^-14: a half subnormal, counted in units of 2^-24 */
        uint32_t m = (absx & 0x7fffffu) | (e ? 0x800000u : 0);
        unsigned shift = e ? 126 - e : 126;
        return (uint16_t)(sign | round_shift(m, shift));
    }
    uint32_t h = ((e - 112) << 10) | ((absx & 0x7fffffu) >> 13);
    uint32_t rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
        h++; /* a carry into the exponent is the correct rounding */
    return (uint16_t)(sign | h);
}

const char *whisper__type_name(int type)
{
    switch (type) {
    case WHISPER__F32: return "f32";
    case WHISPER__F16: return "f16";
    case WHISPER__Q4_0: return "q4_0";
    case WHISPER__Q4_1: return "q4_1";
    case WHISPER__Q5_0: return "q5_0";
    case WHISPER__Q5_1: return "q5_1";
    case WHISPER__Q8_0: return "q8_0";
    default: return NULL;
    }
}

static size_t block_bytes(int type)
{
    switch (type) {
    case WHISPER__Q4_0: return Q4_0_BYTES;
    case WHISPER__Q4_1: return Q4_1_BYTES;
    case WHISPER__Q5_0: return Q5_0_BYTES;
    case WHISPER__Q5_1: return Q5_1_BYTES;
    case WHISPER__Q8_0: return Q8_0_BYTES;
    default: return 0;
    }
}

size_t whisper__row_size(int type, int64_t n)
{
    /* the bound keeps every product below exact int64/size_t range */
    if (n <= 0 || n > ((int64_t)1 << 40))
        return 0;
    if (type == WHISPER__F32)
        return (size_t)n * 4;
    if (type == WHISPER__F16)
        return (size_t)n * 2;
    size_t bb = block_bytes(type);
    if (bb == 0 || n % WHISPER__QK != 0)
        return 0;
    return (size_t)(n / WHISPER__QK) * bb;
}

static float read_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return whisper__f16_to_f32(h);
}

static uint32_t read_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Element j of a q4/q5 block is the low nibble of byte j, element j + 16
 * the high nibble; q5 adds bit j of qh as the nibble's fifth bit. */
static void dequant_q4_q5(const uint8_t *qs, uint32_t qh, bool has_qh, float d, float m,
                          int offset, float *dst)
{
    for (int j = 0; j < 16; j++) {
        int lo = qs[j] & 0x0f;
        int hi = qs[j] >> 4;
        if (has_qh) {
            lo |= (int)((qh >> j) & 1) << 4;
            hi |= (int)((qh >> (j + 16)) & 1) << 4;
        }
        dst[j] = (float)(lo - offset) * d + m;
        dst[j + 16] = (float)(hi - offset) * d + m;
    }
}

static void dequant_block(int type, const uint8_t *b, float *dst)
{
    switch (type) {
    case WHISPER__Q4_0:
        dequant_q4_q5(b + 2, 0, false, read_f16(b), 0.0f, 8, dst);
        break;
    case WHISPER__Q4_1:
        dequant_q4_q5(b + 4, 0, false, read_f16(b), read_f16(b + 2), 0, dst);
        break;
    case WHISPER__Q5_0:
        dequant_q4_q5(b + 6, read_u32(b + 2), true, read_f16(b), 0.0f, 16, dst);
        break;
    case WHISPER__Q5_1:
        dequant_q4_q5(b + 8, read_u32(b + 4), true, read_f16(b), read_f16(b + 2), 0, dst);
        break;
    case WHISPER__Q8_0: {
        float d = read_f16(b);
        for (int j = 0; j < 32; j++)
            dst[j] = (float)(int8_t)b[2 + j] * d;
        break;
    }
    default:
        break;
    }
}

void whisper__dequant_row(int type, const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    if (type == WHISPER__F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    if (type == WHISPER__F16) {
        for (int64_t i = 0; i < n; i++)
            dst[i] = read_f16(p + 2 * i);
        return;
    }
    size_t bb = block_bytes(type);
    if (bb == 0)
        return;
    for (int64_t i = 0; i + WHISPER__QK <= n; i += WHISPER__QK, p += bb)
        dequant_block(type, p, dst + i);
}
