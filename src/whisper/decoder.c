/* decoder: Whisper's text decoder for n_seq sequences of n_tokens new tokens
 * each — token + positional embedding, per layer masked self-attention over
 * the sequence's cache, cross-attention over the window's encoder keys and
 * values, MLP — final layer norm and the tied output projection.
 *
 * Rows of every activation are sequence-major (row seq * n_tokens + i), the
 * layout of the caller's tokens and logits. Self- and cross-attention share
 * one routine: query row i of a sequence sees keys 0 .. n_past + i (self) or
 * all of them (cross); scores of a chunk of queries live in the thread's
 * scratch.
 */
#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/compute.h"

typedef struct {
    whisper_state *s;
    const float *q;     /* R x T, row seq * n_tok + i */
    float *out;         /* R x T */
    int n_seq, n_tok, n_past;
    int layer;
    bool cross;
    atomic_int next; /* next (sequence, head) task; claimed dynamically */
} dec_attn_job;

/* Keys/values of one sequence in a layer, rows of T floats. */
static void dec_kv(const dec_attn_job *j, int seq, const float **k, const float **v, int *n_keys)
{
    const whisper_state *s = j->s;
    if (j->cross) {
        size_t per = (size_t)s->m->hp.n_audio_ctx * (size_t)s->m->hp.n_text_state;
        *k = s->cross_k + (size_t)j->layer * per;
        *v = s->cross_v + (size_t)j->layer * per;
        *n_keys = s->m->hp.n_audio_ctx;
    } else {
        *k = whisper__kv_at(s->kv_k, s, j->layer, seq);
        *v = whisper__kv_at(s->kv_v, s, j->layer, seq);
        *n_keys = j->n_past + j->n_tok;
    }
}

/* Cross-attention on f16 keys and transposed f16 values (f16 models): both
 * products are row kernels over f16 rows, up to eight queries at a time. */
static void dec_cross_f16(const dec_attn_job *j, int seq, int h, int i0, int m, float *sc)
{
    const whisper_state *s = j->s;
    int T = s->m->hp.n_text_state, d = T / s->m->hp.n_text_head, A = s->m->hp.n_audio_ctx;
    size_t per = (size_t)A * (size_t)T;
    const uint16_t *kb = s->cross_k16 + (size_t)j->layer * per + (size_t)h * d;
    const uint16_t *vb = s->cross_vt16 + (size_t)j->layer * per + (size_t)h * d * A;
    float scale = 1.0f / sqrtf((float)d);
    float *qt = sc + (size_t)WHISPER__GEMV_MAX_ROWS * A;
    for (int r0 = 0; r0 < m; r0 += WHISPER__GEMV_MAX_ROWS) {
        int mr = m - r0 < WHISPER__GEMV_MAX_ROWS ? m - r0 : WHISPER__GEMV_MAX_ROWS;
        size_t row0 = (size_t)seq * j->n_tok + (size_t)(i0 + r0);
        for (int r = 0; r < mr; r++)
            for (int c = 0; c < d; c++)
                qt[r * d + c] = j->q[(row0 + r) * T + (size_t)h * d + c] * scale;
        s->k->gemv(WHISPER__F16, kb, (size_t)T * 2, d, 0, A, qt, mr, sc, A);
        for (int r = 0; r < mr; r++)
            whisper__softmax(s->k, sc + (size_t)r * A, A);
        s->k->gemv(WHISPER__F16, vb, (size_t)A * 2, A, 0, d, sc, mr,
                   j->out + row0 * T + (size_t)h * d, T);
    }
}

static void dec_attn_chunk(const dec_attn_job *j, int seq, int h, int i0, int m, float *sc)
{
    if (j->cross && j->s->cross_f16) {
        dec_cross_f16(j, seq, h, i0, m, sc);
        return;
    }
    int T = j->s->m->hp.n_text_state, d = T / j->s->m->hp.n_text_head;
    const float *k, *v;
    int n_keys;
    dec_kv(j, seq, &k, &v, &n_keys);
    const float *q = j->q + ((size_t)seq * j->n_tok + i0) * T + h * d;
    float *out = j->out + ((size_t)seq * j->n_tok + i0) * T + h * d;
    float scale = 1.0f / sqrtf((float)d);
    if (m == 1) {
        int nk = j->cross ? n_keys : j->n_past + i0 + 1;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, nk, d, scale, k + h * d, T, q, 1, 0.0f, sc, 1);
        whisper__softmax(j->s->k, sc, nk);
        cblas_sgemv(CblasRowMajor, CblasTrans, nk, d, 1.0f, v + h * d, T, sc, 1, 0.0f, out, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n_keys, d, scale, q, T, k + h * d, T,
                0.0f, sc, n_keys);
    for (int r = 0; r < m; r++) {
        float *row = sc + (size_t)r * n_keys;
        int nk = j->cross ? n_keys : j->n_past + i0 + r + 1;
        whisper__softmax(j->s->k, row, nk);
        memset(row + nk, 0, (size_t)(n_keys - nk) * sizeof *row);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, n_keys, 1.0f, sc, n_keys, v + h * d,
                T, 0.0f, out, T);
}

static void dec_attn_task(void *ctx, int i, int nt)
{
    dec_attn_job *j = ctx;
    (void)nt;
    const whisper_hparams *hp = &j->s->m->hp;
    float *sc = whisper__attn_scratch(j->s, i);
    int H = hp->n_text_head;
    for (;;) {
        int task = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (task >= j->n_seq * H)
            break;
        int seq = task / H, h = task % H;
        for (int i0 = 0; i0 < j->n_tok; i0 += WHISPER__ATTN_TILE) {
            int m = j->n_tok - i0 < WHISPER__ATTN_TILE ? j->n_tok - i0 : WHISPER__ATTN_TILE;
            dec_attn_chunk(j, seq, h, i0, m, sc);
        }
    }
}

/* Attention reading fewer bytes of keys and values than this runs on the
 * calling thread: like the small products in matmul.c it is bound by memory
 * bandwidth, and a fork-join costs more than it saves on shared cores. */
#define DEC_ATTN_SOLO_BYTES (4 << 20)

static void dec_attn_run(whisper_state *s, dec_attn_job *j)
{
    const whisper_hparams *hp = &s->m->hp;
    size_t T = (size_t)hp->n_text_state, bytes;
    if (j->cross)
        bytes = (size_t)hp->n_audio_ctx * T * 2 * (s->cross_f16 ? 2 : 4);
    else
        bytes = (size_t)(j->n_past + j->n_tok) * T * 2 * sizeof(float);
    bytes *= (size_t)j->n_seq;
    atomic_store(&j->next, 0);
    if (j->n_seq * j->n_tok <= WHISPER__GEMV_MAX_ROWS && bytes < DEC_ATTN_SOLO_BYTES)
        dec_attn_task(j, 0, 1);
    else
        whisper__pool_run(s->pool, dec_attn_task, j);
}

/* Activations of one call, carved from the state's buffer (grown when a
 * call has more rows than any before, so decoding steps allocate nothing). */
typedef struct {
    float *x, *xn, *q, *k, *v, *att, *mlp;
} dec_bufs;

static float *dec_bufs_new(whisper_state *s, dec_bufs *b, size_t R, size_t T)
{
    size_t need = R * T * 10;
    if (need > s->dec_cap) {
        free(s->dec_mem);
        s->dec_cap = 0;
        s->dec_mem = malloc(need * sizeof *s->dec_mem);
        if (!s->dec_mem)
            return NULL;
        s->dec_cap = need;
    }
    float *p = s->dec_mem;
    b->x = p;
    b->xn = p + R * T;
    b->q = p + 2 * R * T;
    b->k = p + 3 * R * T;
    b->v = p + 4 * R * T;
    b->att = p + 5 * R * T;
    b->mlp = p + 6 * R * T;
    return p;
}

static const float *f32(const whisper__tensor *t)
{
    return t->data;
}

static void dec_block(whisper_state *s, const dec_bufs *b, int l, int n_seq, int n_tok, int n_past)
{
    const whisper__layer *L = &s->m->dec_layers[l];
    int T = s->m->hp.n_text_state, R = n_seq * n_tok;
    size_t RT = (size_t)R * T;
    whisper__layer_norm(b->x, R, T, f32(&L->attn_ln_w), f32(&L->attn_ln_b), b->xn, s->pool);
    whisper__linear(s, &L->attn_q_w, &L->attn_q_b, b->xn, R, b->q);
    whisper__linear(s, &L->attn_k_w, NULL, b->xn, R, b->k);
    whisper__linear(s, &L->attn_v_w, &L->attn_v_b, b->xn, R, b->v);
    size_t bytes = (size_t)n_tok * T * sizeof(float);
    for (int seq = 0; seq < n_seq; seq++) {
        memcpy(whisper__kv_at(s->kv_k, s, l, seq) + (size_t)n_past * T, b->k + (size_t)seq * n_tok * T,
               bytes);
        memcpy(whisper__kv_at(s->kv_v, s, l, seq) + (size_t)n_past * T, b->v + (size_t)seq * n_tok * T,
               bytes);
    }
    dec_attn_job j = {s, b->q, b->att, n_seq, n_tok, n_past, l, false, 0};
    atomic_init(&j.next, 0);
    dec_attn_run(s, &j);
    whisper__linear(s, &L->attn_out_w, &L->attn_out_b, b->att, R, b->k);
    whisper__add(b->x, b->k, (int64_t)RT);
    whisper__layer_norm(b->x, R, T, f32(&L->cross_ln_w), f32(&L->cross_ln_b), b->xn, s->pool);
    whisper__linear(s, &L->cross_q_w, &L->cross_q_b, b->xn, R, b->q);
    j.cross = true;
    dec_attn_run(s, &j);
    whisper__linear(s, &L->cross_out_w, &L->cross_out_b, b->att, R, b->k);
    whisper__add(b->x, b->k, (int64_t)RT);
    whisper__layer_norm(b->x, R, T, f32(&L->mlp_ln_w), f32(&L->mlp_ln_b), b->xn, s->pool);
    whisper__linear(s, &L->mlp_0_w, &L->mlp_0_b, b->xn, R, b->mlp);
    whisper__gelu(b->mlp, (int64_t)RT * 4, s->pool);
    whisper__linear(s, &L->mlp_2_w, &L->mlp_2_b, b->mlp, R, b->k);
    whisper__add(b->x, b->k, (int64_t)RT);
}

static int dec_check(const whisper_state *s, int n_seq, int n_tokens, const int *tokens,
                     int n_past, const float *logits, char *err, size_t errlen)
{
    if (!s || !tokens || !logits) {
        snprintf(err, errlen, "whisper_decode: %s is NULL", !s ? "state" : !tokens ? "tokens" : "logits");
        return WHISPER_ERR_INVALID_ARG;
    }
    const whisper_hparams *hp = &s->m->hp;
    if (n_seq < 1 || n_seq > s->max_seq || n_tokens < 1 || n_past < 0 ||
        n_past + n_tokens > hp->n_text_ctx) {
        snprintf(err, errlen,
                 "whisper_decode: n_seq %d, n_tokens %d, n_past %d: expected 1 <= n_seq <= %d, "
                 "n_tokens >= 1 and n_past + n_tokens <= %d",
                 n_seq, n_tokens, n_past, s->max_seq, hp->n_text_ctx);
        return WHISPER_ERR_INVALID_ARG;
    }
    if (!s->encoded) {
        snprintf(err, errlen, "whisper_decode: no encoder output: call whisper_encode first");
        return WHISPER_ERR_INVALID_ARG;
    }
    for (int i = 0; i < n_seq * n_tokens; i++) {
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab) {
            snprintf(err, errlen, "whisper_decode: tokens[%d] = %d: expected 0 <= id < %d", i,
                     tokens[i], hp->n_vocab);
            return WHISPER_ERR_INVALID_ARG;
        }
    }
    return WHISPER_OK;
}

static void dec_embed(whisper_state *s, const int *tokens, int n_seq, int n_tok, int n_past,
                      float *x)
{
    const whisper_model *m = s->m;
    int T = m->hp.n_text_state;
    size_t row_bytes = m->tok_emb.nbytes / (size_t)m->tok_emb.ne[1];
    const float *pos = f32(&m->dec_pos);
    for (int seq = 0; seq < n_seq; seq++) {
        for (int i = 0; i < n_tok; i++) {
            float *row = x + ((size_t)seq * n_tok + i) * T;
            const uint8_t *src = (const uint8_t *)m->tok_emb.data + (size_t)tokens[seq * n_tok + i] * row_bytes;
            s->k->to_f32(m->tok_emb.type, src, row, T);
            whisper__add(row, pos + (size_t)(n_past + i) * T, T);
        }
    }
}

int whisper_decode(whisper_state *s, int n_seq, int n_tokens, const int *tokens, int n_past,
                   float *logits, bool all_logits, char *err, size_t errlen)
{
    int rc = dec_check(s, n_seq, n_tokens, tokens, n_past, logits, err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    const whisper_model *m = s->m;
    int T = m->hp.n_text_state, R = n_seq * n_tokens;
    dec_bufs b;
    if (!dec_bufs_new(s, &b, (size_t)R, (size_t)T)) {
        snprintf(err, errlen, "whisper_decode: out of memory for %d rows", R);
        return WHISPER_ERR_NOMEM;
    }
    dec_embed(s, tokens, n_seq, n_tokens, n_past, b.x);
    for (int l = 0; l < m->hp.n_text_layer; l++)
        dec_block(s, &b, l, n_seq, n_tokens, n_past);
    whisper__layer_norm(b.x, R, T, f32(&m->dec_ln_w), f32(&m->dec_ln_b), b.xn, s->pool);
    int rows = R;
    if (!all_logits) {
        /* each sequence's last row moves down to row seq (never past a
         * source row still to be read) */
        for (int seq = 0; seq < n_seq && n_tokens > 1; seq++)
            memmove(b.xn + (size_t)seq * T, b.xn + ((size_t)seq * n_tokens + n_tokens - 1) * T,
                    (size_t)T * sizeof(float));
        rows = n_seq;
    }
    whisper__matmul_pool(&m->tok_emb, b.xn, rows, NULL, logits, s->pool);
    int64_t n = (int64_t)rows * m->hp.n_vocab;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(logits[i])) {
            snprintf(err, errlen, "whisper_decode: logit %lld of token row %lld is %g: expected a "
                     "finite value", (long long)(i % m->hp.n_vocab), (long long)(i / m->hp.n_vocab),
                     (double)logits[i]);
            rc = WHISPER_ERR_DECODE;
            break;
        }
    }
    return rc;
}
