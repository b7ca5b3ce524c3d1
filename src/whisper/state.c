/* state: what one decoding thread owns — the pool, encoder scratch and
 * output, the cross-attention keys/values of every decoder layer, and the
 * per-sequence self-attention caches ([layer][seq][position][T], so copying
 * a beam is one memcpy per layer).
 *
 * Buffers come from calloc: pages of a cache are touched only when a
 * sequence reaches them, so sizing for n_text_ctx costs no resident memory.
 * OpenBLAS is switched to one thread here: the pool splits every product
 * itself, and OpenBLAS's own spinning threads would compete with ours.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/compute.h"

static float *st_alloc(size_t n, int *rc)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        *rc = WHISPER_ERR_NOMEM;
    return p;
}

/* Keys an attention row may have: the longer of the two contexts. */
static size_t st_keys(const whisper_model *m)
{
    int a = m->hp.n_audio_ctx, c = m->hp.n_text_ctx;
    return (size_t)(a > c ? a : c);
}

static int st_check(const whisper_model *m, int max_seq, char *err, size_t errlen)
{
    const whisper_hparams *hp = &m->hp;
    if (max_seq < 1) {
        snprintf(err, errlen, "whisper_state_new: max_seq %d: expected at least 1", max_seq);
        return WHISPER_ERR_INVALID_ARG;
    }
    if (hp->n_audio_head <= 0 || hp->n_audio_state % hp->n_audio_head != 0 ||
        hp->n_text_head <= 0 || hp->n_text_state % hp->n_text_head != 0 ||
        hp->n_audio_state != hp->n_text_state) {
        snprintf(err, errlen,
                 "whisper_state_new: %s: state sizes %d/%d with %d/%d heads: expected equal "
                 "audio and text states divisible by their head counts",
                 m->path ? m->path : "model", hp->n_audio_state, hp->n_text_state,
                 hp->n_audio_head, hp->n_text_head);
        return WHISPER_ERR_FORMAT;
    }
    return WHISPER_OK;
}

int whisper_state_new(whisper_state **out, const whisper_model *m, int n_threads, int max_seq,
                      char *err, size_t errlen)
{
    *out = NULL;
    if (!m) {
        snprintf(err, errlen, "whisper_state_new: model is NULL");
        return WHISPER_ERR_INVALID_ARG;
    }
    int rc = st_check(m, max_seq, err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    whisper_state *s = calloc(1, sizeof *s);
    if (!s) {
        rc = WHISPER_ERR_NOMEM;
        goto cleanup;
    }
    const whisper_hparams *hp = &m->hp;
    size_t A = (size_t)hp->n_audio_ctx, S = (size_t)hp->n_audio_state, T = (size_t)hp->n_text_state;
    size_t C = (size_t)hp->n_text_ctx, L = (size_t)hp->n_text_layer, M = (size_t)hp->n_mels;
    s->m = m;
    s->k = whisper__kernels_best();
    s->n_threads = n_threads < 1 ? 1 : n_threads;
    s->max_seq = max_seq;
    rc = whisper__pool_new(&s->pool, s->n_threads);
    if (rc != WHISPER_OK)
        goto cleanup;
    openblas_set_num_threads(1);
    size_t big = 512 * 4 * S; /* encoder.c: ENC_CHUNK rows of the MLP */
    if (A * S > big)
        big = A * S;
    if (2 * A * 3 * M > big)
        big = 2 * A * 3 * M;
    s->enc_x = st_alloc(A * S, &rc);
    s->enc_xn = st_alloc(A * S, &rc);
    s->enc_qkv = st_alloc(3 * A * S, &rc);
    s->enc_big = st_alloc(big, &rc);
    s->attn_tmp = st_alloc((size_t)s->n_threads * WHISPER__ATTN_TILE * st_keys(m), &rc);
    s->cross_f16 = m->weight_type == WHISPER__F16;
    if (s->cross_f16) {
        s->cross_k16 = calloc(L * A * T, sizeof *s->cross_k16);
        s->cross_vt16 = calloc(L * A * T, sizeof *s->cross_vt16);
        if (!s->cross_k16 || !s->cross_vt16)
            rc = WHISPER_ERR_NOMEM;
    } else {
        s->cross_k = st_alloc(L * A * T, &rc);
        s->cross_v = st_alloc(L * A * T, &rc);
    }
    s->kv_k = st_alloc(L * (size_t)max_seq * C * T, &rc);
    s->kv_v = st_alloc(L * (size_t)max_seq * C * T, &rc);
cleanup:
    if (rc != WHISPER_OK) {
        if (rc == WHISPER_ERR_NOMEM)
            snprintf(err, errlen, "whisper_state_new: out of memory (max_seq %d)", max_seq);
        whisper_state_free(s);
        return rc;
    }
    *out = s;
    return WHISPER_OK;
}

void whisper_state_free(whisper_state *s)
{
    if (!s)
        return;
    whisper__pool_free(s->pool);
    free(s->enc_x);
    free(s->enc_xn);
    free(s->enc_qkv);
    free(s->enc_big);
    free(s->attn_tmp);
    free(s->cross_k);
    free(s->cross_v);
    free(s->cross_k16);
    free(s->cross_vt16);
    free(s->kv_k);
    free(s->kv_v);
    free(s->dec_mem);
    free(s);
}

const float *whisper_encoder_output(const whisper_state *s)
{
    return s && s->encoded ? s->enc_x : NULL;
}

float *whisper__attn_scratch(const whisper_state *s, int i)
{
    return s->attn_tmp + (size_t)i * WHISPER__ATTN_TILE * st_keys(s->m);
}

float *whisper__kv_at(float *base, const whisper_state *s, int layer, int seq)
{
    size_t C = (size_t)s->m->hp.n_text_ctx, T = (size_t)s->m->hp.n_text_state;
    return base + (((size_t)layer * (size_t)s->max_seq + (size_t)seq) * C) * T;
}

void whisper_kv_copy(whisper_state *s, int dst, int src, int n_past)
{
    if (!s || dst == src || dst < 0 || src < 0 || dst >= s->max_seq || src >= s->max_seq ||
        n_past <= 0)
        return;
    if (n_past > s->m->hp.n_text_ctx)
        n_past = s->m->hp.n_text_ctx;
    size_t bytes = (size_t)n_past * (size_t)s->m->hp.n_text_state * sizeof(float);
    for (int l = 0; l < s->m->hp.n_text_layer; l++) {
        memcpy(whisper__kv_at(s->kv_k, s, l, dst), whisper__kv_at(s->kv_k, s, l, src), bytes);
        memcpy(whisper__kv_at(s->kv_v, s, l, dst), whisper__kv_at(s->kv_v, s, l, src), bytes);
    }
}
