/* compute: the network side of the whisper module (mel, encoder, decoder)
 * shares a thread pool, the CPU-specific kernels chosen once at run time,
 * element-wise operations and the decoding state's layout. Internal to the
 * module; every symbol carries the whisper__ prefix.
 */
#ifndef CESAR_WHISPER_COMPUTE_H
#define CESAR_WHISPER_COMPUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "whisper/internal.h"

/* ---- thread pool (pool.c) ---- */

/* fn(ctx, i, n) runs once for every i in 0..n-1, i = 0 on the caller. */
typedef void (*whisper__task_fn)(void *ctx, int i, int n);
typedef struct whisper__pool whisper__pool;

int whisper__pool_new(whisper__pool **out, int n_threads);
void whisper__pool_free(whisper__pool *p); /* NULL-safe */
int whisper__pool_size(const whisper__pool *p);
/* Runs fn on every thread of p (or only the caller when p is NULL) and
 * returns when all have finished. */
void whisper__pool_run(whisper__pool *p, whisper__task_fn fn, void *ctx);

/* ---- CPU kernels (kernels.c, kernels_avx2.c, kernels_avx512.c) ---- */

typedef enum { WHISPER__ISA_SCALAR, WHISPER__ISA_AVX2, WHISPER__ISA_AVX512 } whisper__isa;

/* Element-wise and row kernels of one instruction set. */
typedef struct {
    whisper__isa isa;
    /* y[r * ldy + o] (+)= sum_i x[r * in + i] * w_o[i] for o in [o0, o1), r <
     * rows (rows <= WHISPER__GEMV_MAX_ROWS), where w_o is row o of a weight of
     * the given type whose rows are row_bytes apart; overwrites y. */
    void (*gemv)(int type, const void *w, size_t row_bytes, int64_t in, int o0, int o1,
                 const float *x, int rows, float *y, int64_t ldy);
    /* dst[i] = float of src row of n elements of type (n a multiple of 32 for
     * quantized types). */
    void (*to_f32)(int type, const void *src, float *dst, int64_t n);
    /* dst[i] = f16 of src[i], rounded to nearest even */
    void (*to_f16)(const float *src, uint16_t *dst, int64_t n);
    float (*dot)(const float *a, const float *b, int64_t n);
    /* y[i] += a * x[i] */
    void (*axpy)(float a, const float *x, float *y, int64_t n);
    /* x[i] = exp(x[i] - max) in place; returns the sum. */
    float (*exp_sum)(float *x, int64_t n, float max);
    /* x = softmax(x) in place (n >= 1) */
    void (*softmax)(float *x, int64_t n);
    /* x[i] = 0.5 x (1 + erf(x / sqrt 2)) */
    void (*gelu)(float *x, int64_t n);
} whisper__kernels;

#define WHISPER__GEMV_MAX_ROWS 8

/* The best kernels this CPU runs (or those of isa when forced, for tests:
 * NULL when the CPU lacks it). Static storage. */
const whisper__kernels *whisper__kernels_best(void);
const whisper__kernels *whisper__kernels_for(whisper__isa isa);
/* The vector sets (kernels_avx2.c, kernels_avx512.c); call only when the CPU
 * has the instructions (whisper__kernels_for checks). */
const whisper__kernels *whisper__kernels_avx2(void);
const whisper__kernels *whisper__kernels_avx512(void);
/* A gemv for any type through k->to_f32 and k->dot (kernels.c). */
void whisper__gemv_generic(const whisper__kernels *k, int type, const void *w, size_t row_bytes,
                           int64_t in, int o0, int o1, const float *x, int rows, float *y,
                           int64_t ldy);

/* The scalar f16 conversion (quant.c's), also used by the vector sets for
 * tails. */
static inline float whisper__f16_to_f32_scalar(uint16_t h)
{
    return whisper__f16_to_f32(h);
}
/* Bytes of one block of a quantized type; 0 for f32, f16 and unknown types. */
size_t whisper__block_bytes(int type);

/* ---- matrix products (matmul.c) ---- */

/* whisper__matmul on a pool's threads (p may be NULL). */
void whisper__matmul_pool(const whisper__tensor *w, const float *x, int rows, const float *bias,
                          float *y, whisper__pool *p);

/* ---- element-wise operations (ops.c) ---- */

/* Row-wise layer norm (eps 1e-5) of rows x n: out = (x - mean) / sd * g + b. */
void whisper__layer_norm(const float *x, int64_t rows, int64_t n, const float *g, const float *b,
                         float *out, whisper__pool *p);
void whisper__gelu(float *x, int64_t n, whisper__pool *p);
/* Softmax of one row in place. */
void whisper__softmax(const whisper__kernels *k, float *x, int64_t n);
/* x[i] += y[i] */
void whisper__add(float *x, const float *y, int64_t n);

/* ---- state (state.c) ---- */

struct whisper_state {
    const whisper_model *m;
    const whisper__kernels *k;
    whisper__pool *pool;
    int n_threads, max_seq;
    /* encoder scratch and result */
    float *enc_x;      /* n_audio_ctx x S: the encoder output once encoded */
    float *enc_xn;     /* n_audio_ctx x S */
    float *enc_qkv;    /* 3 x n_audio_ctx x S (conv1 output first) */
    float *enc_big;    /* max(512 x 4S, n_audio_ctx x S, 2 n_audio_ctx x 3 n_mels) */
    float *attn_tmp;   /* n_threads x WHISPER__ATTN_TILE x max(n_audio_ctx, n_text_ctx) */
    bool encoded;
    /* cross-attention keys/values per decoder layer: n_audio_ctx x T each,
     * f32 — or, for f16 models (cross_f16), keys n_audio_ctx x T and values
     * transposed (T x n_audio_ctx) in f16: half the memory and half the
     * bytes every decoder step reads, within the f16 model's own precision */
    float *cross_k, *cross_v;
    bool cross_f16;
    uint16_t *cross_k16, *cross_vt16;
    /* self-attention cache: [layer][seq][n_text_ctx][T] */
    float *kv_k, *kv_v;
    /* decoder activations (decoder.c), dec_cap floats, grown on demand */
    float *dec_mem;
    size_t dec_cap;
};

#define WHISPER__ATTN_TILE 256

/* Thread i's attention scratch in s->attn_tmp (WHISPER__ATTN_TILE rows of
 * max(n_audio_ctx, n_text_ctx) floats). */
float *whisper__attn_scratch(const whisper_state *s, int i);

/* y = x w^T + b on the state's pool; b may be absent (NULL or no data). */
static inline void whisper__linear(whisper_state *s, const whisper__tensor *w,
                                   const whisper__tensor *b, const float *x, int rows, float *y)
{
    whisper__matmul_pool(w, x, rows, b && b->data ? (const float *)b->data : NULL, y, s->pool);
}

/* Cache rows of a sequence in a layer. */
float *whisper__kv_at(float *base, const whisper_state *s, int layer, int seq);

#endif
