/* encoder: Whisper's audio encoder on one 30 s window of log-mel frames —
 * two convolutions (as im2col + matrix product) with GELU, positional
 * embedding, pre-norm attention blocks, final layer norm — then the
 * cross-attention keys and values of every decoder layer.
 *
 * Attention runs per (head, tile of query rows): the tile's scores (tile x
 * n_audio_ctx) stay in the thread's scratch, so the full n_ctx x n_ctx
 * matrix never exists and the head's keys and values stay in cache.
 */
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "whisper/compute.h"

static const float *enc_f32(const whisper__tensor *t)
{
    return t->data;
}

/* The weight of a convolution (out, in, 3) seen as out rows of 3 * in. */
static whisper__tensor enc_conv_matrix(const whisper__tensor *w)
{
    whisper__tensor v = *w;
    v.n_dims = 2;
    v.ne[0] = w->ne[0] * w->ne[1];
    v.ne[1] = w->ne[2];
    v.ne[2] = 1;
    return v;
}

/* Rows of activations the MLP and conv2 process at a time: bounds their
 * scratch (enc_big) to ENC_CHUNK x 4S instead of n_audio_ctx x 4S. */
#define ENC_CHUNK 512

/* col[t - t0][c * 3 + k] = in(c, t * stride + k - 1) for t in [t0, t0 + n_out),
 * zero outside [0, n_in). The input is channel-major (mel) or frame-major
 * (conv1 output). */
static void enc_im2col(const float *in, bool frame_major, int64_t n_ch, int64_t n_in,
                       int stride, int64_t t0, int64_t n_out, float *col)
{
    for (int64_t t = t0; t < t0 + n_out; t++) {
        float *row = col + (t - t0) * n_ch * 3;
        for (int k = 0; k < 3; k++) {
            int64_t src = t * stride + k - 1;
            bool inside = src >= 0 && src < n_in;
            for (int64_t c = 0; c < n_ch; c++) {
                float v = 0.0f;
                if (inside)
                    v = frame_major ? in[src * n_ch + c] : in[c * n_in + src];
                row[c * 3 + k] = v;
            }
        }
    }
}

typedef struct {
    whisper_state *s;
    const float *q, *k, *v;
    float *out;
    int n_ctx, n_state, n_head;
    atomic_int next; /* next (head, tile) task; claimed dynamically */
} attn_job;

static void enc_attn_task(void *ctx, int i, int nt)
{
    attn_job *j = ctx;
    (void)nt;
    int d = j->n_state / j->n_head;
    int tiles = (j->n_ctx + WHISPER__ATTN_TILE - 1) / WHISPER__ATTN_TILE;
    float *sc = whisper__attn_scratch(j->s, i);
    float scale = 1.0f / sqrtf((float)d);
    for (;;) {
        int task = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (task >= tiles * j->n_head)
            break;
        int h = task / tiles, r0 = task % tiles * WHISPER__ATTN_TILE;
        int m = j->n_ctx - r0 < WHISPER__ATTN_TILE ? j->n_ctx - r0 : WHISPER__ATTN_TILE;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, j->n_ctx, d, scale,
                    j->q + (size_t)r0 * j->n_state + h * d, j->n_state, j->k + h * d, j->n_state,
                    0.0f, sc, j->n_ctx);
        for (int r = 0; r < m; r++)
            whisper__softmax(j->s->k, sc + (size_t)r * j->n_ctx, j->n_ctx);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, j->n_ctx, 1.0f, sc, j->n_ctx,
                    j->v + h * d, j->n_state, 0.0f, j->out + (size_t)r0 * j->n_state + h * d,
                    j->n_state);
    }
}

static void enc_block(whisper_state *s, const whisper__layer *l)
{
    const whisper_hparams *hp = &s->m->hp;
    int A = hp->n_audio_ctx, S = hp->n_audio_state;
    size_t AS = (size_t)A * S;
    float *q = s->enc_qkv, *k = q + AS, *v = k + AS;
    whisper__layer_norm(s->enc_x, A, S, enc_f32(&l->attn_ln_w), enc_f32(&l->attn_ln_b), s->enc_xn,
                        s->pool);
    whisper__linear(s, &l->attn_q_w, &l->attn_q_b, s->enc_xn, A, q);
    whisper__linear(s, &l->attn_k_w, NULL, s->enc_xn, A, k);
    whisper__linear(s, &l->attn_v_w, &l->attn_v_b, s->enc_xn, A, v);
    attn_job j = {s, q, k, v, s->enc_xn, A, S, hp->n_audio_head, 0};
    atomic_init(&j.next, 0);
    whisper__pool_run(s->pool, enc_attn_task, &j);
    whisper__linear(s, &l->attn_out_w, &l->attn_out_b, s->enc_xn, A, s->enc_big);
    whisper__add(s->enc_x, s->enc_big, (int64_t)AS);
    whisper__layer_norm(s->enc_x, A, S, enc_f32(&l->mlp_ln_w), enc_f32(&l->mlp_ln_b), s->enc_xn,
                        s->pool);
    for (int r0 = 0; r0 < A; r0 += ENC_CHUNK) {
        int n = A - r0 < ENC_CHUNK ? A - r0 : ENC_CHUNK;
        whisper__linear(s, &l->mlp_0_w, &l->mlp_0_b, s->enc_xn + (size_t)r0 * S, n, s->enc_big);
        whisper__gelu(s->enc_big, (int64_t)n * 4 * S, s->pool);
        whisper__linear(s, &l->mlp_2_w, &l->mlp_2_b, s->enc_big, n, q + (size_t)r0 * S);
    }
    whisper__add(s->enc_x, q, (int64_t)AS);
}

/* conv1 (mel -> S over 2A frames), GELU, conv2 (stride 2 -> A frames), GELU,
 * plus the positional embedding, into enc_x. */
static void enc_stem(whisper_state *s, const float *mel)
{
    const whisper_model *m = s->m;
    int A = m->hp.n_audio_ctx, S = m->hp.n_audio_state, M = m->hp.n_mels;
    int F = 2 * A;
    whisper__tensor c1 = enc_conv_matrix(&m->conv1_w), c2 = enc_conv_matrix(&m->conv2_w);
    enc_im2col(mel, false, M, F, 1, 0, F, s->enc_big);
    float *h = s->enc_qkv;
    whisper__linear(s, &c1, &m->conv1_b, s->enc_big, F, h);
    whisper__gelu(h, (int64_t)F * S, s->pool);
    for (int r0 = 0; r0 < A; r0 += ENC_CHUNK) {
        int n = A - r0 < ENC_CHUNK ? A - r0 : ENC_CHUNK;
        enc_im2col(h, true, S, F, 2, r0, n, s->enc_big);
        whisper__linear(s, &c2, &m->conv2_b, s->enc_big, n, s->enc_x + (size_t)r0 * S);
    }
    whisper__gelu(s->enc_x, (int64_t)A * S, s->pool);
    whisper__add(s->enc_x, enc_f32(&m->enc_pos), (int64_t)A * S);
}

typedef struct {
    const whisper__kernels *k;
    const float *v; /* n_audio_ctx x T */
    uint16_t *vt;   /* T x n_audio_ctx */
    int A, T;
} vt_job;

/* Transposes V to f16 in tiles of 64 x 64 so both sides stay in cache. */
static void enc_vt_task(void *ctx, int i, int nt)
{
    const vt_job *j = ctx;
    float col[64];
    for (int c0 = 64 * i; c0 < j->T; c0 += 64 * nt) {
        int nc = j->T - c0 < 64 ? j->T - c0 : 64;
        for (int a0 = 0; a0 < j->A; a0 += 64) {
            int na = j->A - a0 < 64 ? j->A - a0 : 64;
            for (int c = c0; c < c0 + nc; c++) {
                for (int a = 0; a < na; a++)
                    col[a] = j->v[(size_t)(a0 + a) * j->T + c];
                j->k->to_f16(col, j->vt + (size_t)c * j->A + a0, na);
            }
        }
    }
}

/* Cross-attention keys (no bias) and values of decoder layer l from the
 * encoder output, in f32 or (f16 models) converted to f16, V transposed. */
static void enc_cross(whisper_state *s, int l)
{
    const whisper_hparams *hp = &s->m->hp;
    const whisper__layer *dl = &s->m->dec_layers[l];
    int A = hp->n_audio_ctx, T = hp->n_text_state;
    size_t per = (size_t)A * (size_t)T;
    if (!s->cross_f16) {
        whisper__linear(s, &dl->cross_k_w, NULL, s->enc_x, A, s->cross_k + l * per);
        whisper__linear(s, &dl->cross_v_w, &dl->cross_v_b, s->enc_x, A, s->cross_v + l * per);
        return;
    }
    float *tmp = s->enc_qkv;
    whisper__linear(s, &dl->cross_k_w, NULL, s->enc_x, A, tmp);
    s->k->to_f16(tmp, s->cross_k16 + l * per, (int64_t)per);
    whisper__linear(s, &dl->cross_v_w, &dl->cross_v_b, s->enc_x, A, tmp);
    vt_job j = {s->k, tmp, s->cross_vt16 + l * per, A, T};
    whisper__pool_run(s->pool, enc_vt_task, &j);
}

int whisper_encode(whisper_state *s, const float *mel, char *err, size_t errlen)
{
    if (!s || !mel) {
        snprintf(err, errlen, "whisper_encode: %s is NULL", s ? "mel" : "state");
        return WHISPER_ERR_INVALID_ARG;
    }
    const whisper_model *m = s->m;
    const whisper_hparams *hp = &m->hp;
    int A = hp->n_audio_ctx, S = hp->n_audio_state;
    s->encoded = false;
    enc_stem(s, mel);
    for (int l = 0; l < hp->n_audio_layer; l++)
        enc_block(s, &m->enc_layers[l]);
    whisper__layer_norm(s->enc_x, A, S, enc_f32(&m->enc_ln_w), enc_f32(&m->enc_ln_b), s->enc_x,
                        s->pool);
    for (int l = 0; l < hp->n_text_layer; l++)
        enc_cross(s, l);
    for (size_t i = 0; i < (size_t)A * S; i++) {
        if (!isfinite(s->enc_x[i])) {
            snprintf(err, errlen, "whisper_encode: encoder output [%zu][%zu] is %g: expected a "
                     "finite value", i / (size_t)S, i % (size_t)S, (double)s->enc_x[i]);
            return WHISPER_ERR_DECODE;
        }
    }
    s->encoded = true;
    return WHISPER_OK;
}
