/* whisper internals shared by the module's files: the loaded model's layout,
 * tensor types and the kernels that read them. Not part of whisper.h; every
 * symbol carries the whisper__ prefix.
 */
#ifndef CESAR_WHISPER_INTERNAL_H
#define CESAR_WHISPER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "whisper/whisper.h"

/* ggml tensor type codes as stored in the file. */
enum {
    WHISPER__F32 = 0,
    WHISPER__F16 = 1,
    WHISPER__Q4_0 = 2,
    WHISPER__Q4_1 = 3,
    WHISPER__Q5_0 = 6,
    WHISPER__Q5_1 = 7,
    WHISPER__Q8_0 = 8,
};

/* Elements per quantization block (all quantized types here). */
#define WHISPER__QK 32

/* A tensor as stored: ne[0] is the fastest-varying dimension, so a 2-D
 * weight [in, out] is `out` rows of `in` elements each (row-major out x in,
 * like a PyTorch Linear weight). Unused ne[] are 1. data points into the
 * mapping or the model's own buffer; f32 tensors are 4-byte aligned, f16
 * and quantized data may be at any address (read them with memcpy or
 * unaligned vector loads). */
typedef struct {
    const char *name; /* borrowed from the model */
    int type;
    int n_dims;
    int64_t ne[3];
    const void *data;
    size_t nbytes;
} whisper__tensor;

/* One attention block's weights. Encoder layers leave the cross_* members
 * zeroed (data NULL). The key projections have no bias. */
typedef struct {
    whisper__tensor attn_ln_w, attn_ln_b;
    whisper__tensor attn_q_w, attn_q_b, attn_k_w, attn_v_w, attn_v_b, attn_out_w, attn_out_b;
    whisper__tensor cross_ln_w, cross_ln_b;
    whisper__tensor cross_q_w, cross_q_b, cross_k_w, cross_v_w, cross_v_b, cross_out_w, cross_out_b;
    whisper__tensor mlp_ln_w, mlp_ln_b;
    whisper__tensor mlp_0_w, mlp_0_b, mlp_2_w, mlp_2_b;
} whisper__layer;

typedef struct {
    char *bytes; /* raw bytes of the token (byte-level mapping undone), NUL-terminated */
    uint32_t len;
} whisper__token;

struct whisper_model {
    whisper_hparams hp;
    char *path;
    int weight_type;          /* type of the 2-D weights (WHISPER__*) */
    int qnt_version;          /* 0 unquantized */
    /* mel filter bank: n_mels rows of n_fft (201) floats */
    int n_fft;
    float *mel_filters;
    /* text vocabulary as stored (n_text_tokens <= n_vocab) */
    int n_text_tokens;
    whisper__token *tokens;
    whisper_special_tokens special;
    /* encoder */
    whisper__tensor enc_pos;          /* [S, n_audio_ctx] f32 */
    whisper__tensor conv1_w, conv1_b; /* [3, n_mels, S], [1, S] */
    whisper__tensor conv2_w, conv2_b; /* [3, S, S], [1, S] */
    whisper__tensor enc_ln_w, enc_ln_b;
    whisper__layer *enc_layers;       /* n_audio_layer */
    /* decoder */
    whisper__tensor dec_pos;          /* [T, n_text_ctx] f32 */
    whisper__tensor tok_emb;          /* [T, n_vocab]: embedding and output projection */
    whisper__tensor dec_ln_w, dec_ln_b;
    whisper__layer *dec_layers;       /* n_text_layer */
    /* storage */
    void *map;                /* mmap of the whole file, or NULL */
    size_t map_size;
    void *owned;              /* tensor data copied out of the file (no mmap / misaligned), or NULL */
    char **tensor_names;      /* every tensor's name (owned) */
    size_t n_tensors;
    struct whisper__vocab_index *vocab_index; /* token lookup for whisper_tokenize (tokenize.c) */
};

/* ---- loading (model.c) ---- */

/* Like whisper_model_load on a file already in memory: validates data[0,
 * size) the same way and copies what the model keeps (data may be freed
 * afterwards). name_for_messages prefixes error messages. */
int whisper__model_load_memory(whisper_model **out, const void *data, size_t size,
                               const char *name_for_messages, char *err, size_t errlen);

/* ---- types (quant.c) ---- */

/* Bytes one row of n elements of type occupies; 0 when the type is unknown
 * or n is not a multiple of its block size. */
size_t whisper__row_size(int type, int64_t n);
/* "f32", "f16", "q4_0" …; NULL for an unknown code. */
const char *whisper__type_name(int type);
/* Converts one row of n elements to float (n a multiple of the block size
 * for quantized types). */
void whisper__dequant_row(int type, const void *src, float *dst, int64_t n);
float whisper__f16_to_f32(uint16_t h);
uint16_t whisper__f32_to_f16(float f);

/* ---- matrix products (matmul.c) ---- */

/* y[r][o] = sum_i x[r][i] * w[o][i] + (bias ? bias[o] : 0) for r < rows,
 * where w is a 2-D weight tensor [in, out] of any supported type, x is rows
 * x in and y rows x out, both row-major. Runs on up to n_threads threads. */
void whisper__matmul(const whisper__tensor *w, const float *x, int rows, const float *bias,
                     float *y, int n_threads);

#endif
