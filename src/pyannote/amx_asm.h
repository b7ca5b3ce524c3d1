/* amx_asm: the AMX tile instructions and bfloat16 helpers shared by the
 * pyannote files that run tiles (gemm_amx.c, emb_conv_amx.c). Private to
 * those files; everything here is static or a macro.
 *
 * The tile instructions are inline assembly rather than GCC 12's
 * <immintrin.h> intrinsics: its tileloadd has no memory operand or clobber
 * and its ldtilecfg names only 8 of the 64 configuration bytes, so the
 * compiler could move or drop the stores that fill a tile's source. Every
 * macro here is volatile with a "memory" clobber where it touches memory.
 *
 * Only defined where PYANNOTE__AMX_ASM is (x86-64 with GCC-style inline
 * assembly); callers keep a portable fallback for the rest. */
#ifndef CESAR_PYANNOTE_AMX_ASM_H
#define CESAR_PYANNOTE_AMX_ASM_H

#if defined(__x86_64__) && defined(__GNUC__)
#define PYANNOTE__AMX_ASM 1

#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define AMX_TILE_ELEMS 512 /* bf16 values in one 16 x 64-byte operand tile */

/* Functions using the AVX-512 bfloat16 conversions carry this attribute,
 * so the rest of the file needs no -mavx512 flags and runs anywhere. */
#define AMX_AVX512 __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* The 64-byte operand of ldtilecfg, palette 1 (8 tiles). */
typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved0[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tilecfg;

#define AMX_LOAD(t, base, stride)                                                                  \
    __asm__ volatile("{tileloadd (%0,%1,1), %%tmm" #t "|tileloadd %%tmm" #t ", [%0+%1*1]}"         \
                     :                                                                             \
                     : "r"(base), "r"((long)(stride))                                              \
                     : "memory")
#define AMX_STORE(t, base, stride)                                                                 \
    __asm__ volatile("{tilestored %%tmm" #t ", (%0,%1,1)|tilestored [%0+%1*1], %%tmm" #t "}"       \
                     :                                                                             \
                     : "r"(base), "r"((long)(stride))                                              \
                     : "memory")
#define AMX_ZERO(t) __asm__ volatile("tilezero %%tmm" #t ::)
/* tmm c += tmm a (16 x 32 bf16) * tmm b (16 pair-rows x 16 columns) */
#define AMX_DP(c, a, b)                                                                            \
    __asm__ volatile("{tdpbf16ps %%tmm" #b ", %%tmm" #a ", %%tmm" #c "|tdpbf16ps %%tmm" #c         \
                     ", %%tmm" #a ", %%tmm" #b "}" ::)

/* All eight tiles as 16 rows of 64 bytes. */
static inline void amx_configure(void)
{
    amx_tilecfg cfg __attribute__((aligned(64)));
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

static inline void amx_release(void)
{
    __asm__ volatile("tilerelease" ::);
}

static inline float amx_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round to nearest even, as VCVTNE2PS2BF16 does (NaNs stay quiet NaNs). */
static inline uint16_t amx_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Two rows of 16 floats (a: even channel, b: odd) as 16 VNNI pairs
 * (a[j], b[j]) in bfloat16: *hi = the rounded values, *lo (when split) the
 * rounded remainders v - hi, both to nearest even. */
static inline __attribute__((always_inline)) AMX_AVX512 void
amx_vnni_pair(__m512 a, __m512 b, bool split, __m512i *hi, __m512i *lo)
{
    static const uint16_t order[32] = {0,  16, 1,  17, 2,  18, 3,  19, 4,  20, 5,
                                       21, 6,  22, 7,  23, 8,  24, 9,  25, 10, 26,
                                       11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i interleave = _mm512_loadu_si512(order);
    /* cvtne2ps puts b's 16 values above a's; the permutation pairs them up */
    *hi = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(b, a));
    if (!split) {
        *lo = _mm512_setzero_si512();
        return;
    }
    /* each 32-bit lane is now (hi of a) | (hi of b) << 16: both back as floats */
    __m512 ha = _mm512_castsi512_ps(_mm512_slli_epi32(*hi, 16));
    __m512 hb = _mm512_castsi512_ps(_mm512_and_si512(*hi, _mm512_set1_epi32((int)0xffff0000u)));
    __m512bh l = _mm512_cvtne2ps_pbh(_mm512_sub_ps(b, hb), _mm512_sub_ps(a, ha));
    *lo = _mm512_permutexvar_epi16(interleave, (__m512i)l);
}

/* 16 floats as 16 bfloat16 (*hi, rounded to nearest even) and, when
 * split, the rounded remainders v - hi (*lo). */
static inline __attribute__((always_inline)) AMX_AVX512 void
amx_bf16_split16(__m512 v, bool split, __m256i *hi, __m256i *lo)
{
    *hi = (__m256i)_mm512_cvtneps_pbh(v);
    if (!split) {
        *lo = _mm256_setzero_si256();
        return;
    }
    __m512 h = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(*hi), 16));
    *lo = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(v, h));
}

#endif
#endif
