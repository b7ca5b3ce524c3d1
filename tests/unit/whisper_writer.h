/* whisper_writer: builds ggml Whisper model files in memory for the loader's
 * tests and the fuzzer's seeds — the real header-only file's mel filters and
 * vocabulary, our own hyper-parameters, then a tensor list that a test may
 * edit first (wrong shape, wrong type, duplicate, missing) and random data.
 * Header-only and all static so each test program gets its own copy. */
#ifndef CESAR_TESTS_WHISPER_WRITER_H
#define CESAR_TESTS_WHISPER_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/internal.h"

typedef struct {
    char name[64];
    int n_dims;
    int64_t ne[3];
    int type;
} wt_tensor;

typedef struct {
    wt_tensor *t;
    size_t n, cap;
} wt_list;

/* A file being built: data/len, plus where each tensor record starts. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
    size_t *record_off; /* per tensor of the list */
    size_t *data_off;
} wt_file;

/* hp[] in file order: n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
 * n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer,
 * n_mels, ftype. */
enum { WT_VOCAB, WT_ACTX, WT_S, WT_SH, WT_SL, WT_TCTX, WT_T, WT_TH, WT_TL, WT_MELS, WT_FTYPE };

static inline void wt_add(wt_list *l, const char *name, int n_dims, int64_t a, int64_t b, int64_t c,
                   int type)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->t = realloc(l->t, l->cap * sizeof *l->t);
        if (!l->t)
            abort();
    }
    wt_tensor *t = &l->t[l->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->ne[0] = a;
    t->ne[1] = b;
    t->ne[2] = c;
    t->type = type;
}

/* Weight type for a 2-D weight: quantized types only where rows allow. */
static inline int wt_wtype(int wtype, int64_t ne0)
{
    if (wtype != WHISPER__F32 && wtype != WHISPER__F16 && ne0 % 32 != 0)
        return WHISPER__F16;
    return wtype;
}

static inline void wt_add_layer(wt_list *l, const char *prefix, int i, int64_t D, bool cross,
                         int wtype)
{
    char n[64];
    static const char *const attn[2] = {"attn", "cross_attn"};
    for (int a = 0; a < (cross ? 2 : 1); a++) {
        snprintf(n, sizeof n, "%s.blocks.%d.%s_ln.weight", prefix, i, attn[a]);
        wt_add(l, n, 1, D, 1, 1, WHISPER__F32);
        snprintf(n, sizeof n, "%s.blocks.%d.%s_ln.bias", prefix, i, attn[a]);
        wt_add(l, n, 1, D, 1, 1, WHISPER__F32);
        static const char *const proj[4] = {"query", "key", "value", "out"};
        for (int p = 0; p < 4; p++) {
            snprintf(n, sizeof n, "%s.blocks.%d.%s.%s.weight", prefix, i, attn[a], proj[p]);
            wt_add(l, n, 2, D, D, 1, wt_wtype(wtype, D));
            if (p == 1)
                continue;
            snprintf(n, sizeof n, "%s.blocks.%d.%s.%s.bias", prefix, i, attn[a], proj[p]);
            wt_add(l, n, 1, D, 1, 1, WHISPER__F32);
        }
    }
    snprintf(n, sizeof n, "%s.blocks.%d.mlp_ln.weight", prefix, i);
    wt_add(l, n, 1, D, 1, 1, WHISPER__F32);
    snprintf(n, sizeof n, "%s.blocks.%d.mlp_ln.bias", prefix, i);
    wt_add(l, n, 1, D, 1, 1, WHISPER__F32);
    snprintf(n, sizeof n, "%s.blocks.%d.mlp.0.weight", prefix, i);
    wt_add(l, n, 2, D, 4 * D, 1, wt_wtype(wtype, D));
    snprintf(n, sizeof n, "%s.blocks.%d.mlp.0.bias", prefix, i);
    wt_add(l, n, 1, 4 * D, 1, 1, WHISPER__F32);
    snprintf(n, sizeof n, "%s.blocks.%d.mlp.2.weight", prefix, i);
    wt_add(l, n, 2, 4 * D, D, 1, wt_wtype(wtype, 4 * D));
    snprintf(n, sizeof n, "%s.blocks.%d.mlp.2.bias", prefix, i);
    wt_add(l, n, 1, D, 1, 1, WHISPER__F32);
}

/* The full tensor list for hp, 2-D weights of type wtype (conv weights f16
 * unless wtype is f32, as the converters write them). */
static inline wt_list wt_tensors(const int32_t hp[11], int wtype)
{
    wt_list l = {0};
    int64_t S = hp[WT_S], T = hp[WT_T];
    int conv = wtype == WHISPER__F32 ? WHISPER__F32 : WHISPER__F16;
    wt_add(&l, "encoder.positional_embedding", 2, S, hp[WT_ACTX], 1, WHISPER__F32);
    wt_add(&l, "encoder.conv1.weight", 3, 3, hp[WT_MELS], S, conv);
    wt_add(&l, "encoder.conv1.bias", 2, 1, S, 1, WHISPER__F32);
    wt_add(&l, "encoder.conv2.weight", 3, 3, S, S, conv);
    wt_add(&l, "encoder.conv2.bias", 2, 1, S, 1, WHISPER__F32);
    for (int i = 0; i < hp[WT_SL]; i++)
        wt_add_layer(&l, "encoder", i, S, false, wtype);
    wt_add(&l, "encoder.ln_post.weight", 1, S, 1, 1, WHISPER__F32);
    wt_add(&l, "encoder.ln_post.bias", 1, S, 1, 1, WHISPER__F32);
    wt_add(&l, "decoder.positional_embedding", 2, T, hp[WT_TCTX], 1, WHISPER__F32);
    wt_add(&l, "decoder.token_embedding.weight", 2, T, hp[WT_VOCAB], 1, wt_wtype(wtype, T));
    for (int i = 0; i < hp[WT_TL]; i++)
        wt_add_layer(&l, "decoder", i, T, true, wtype);
    wt_add(&l, "decoder.ln.weight", 1, T, 1, 1, WHISPER__F32);
    wt_add(&l, "decoder.ln.bias", 1, T, 1, 1, WHISPER__F32);
    return l;
}

static inline int wt_find(const wt_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->t[i].name, name) == 0)
            return (int)i;
    return -1;
}

static inline void wt_put(wt_file *f, const void *p, size_t n)
{
    if (f->len + n > f->cap) {
        f->cap = (f->len + n) * 2;
        f->data = realloc(f->data, f->cap);
        if (!f->data)
            abort();
    }
    memcpy(f->data + f->len, p, n);
    f->len += n;
}

static inline void wt_put_i32(wt_file *f, int32_t v)
{
    wt_put(f, &v, 4);
}

/* Reads the whole of path (the header-only test model); NULL if missing. */
static inline uint8_t *wt_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    *len = 0;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *d = malloc((size_t)n + 1);
    if (d && fread(d, 1, (size_t)n, fp) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return d;
}

static inline uint64_t wt_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random tensor data: f32/f16 values in [-1, 1); quantized blocks with a
 * small finite scale and random quants. */
static inline void wt_put_data(wt_file *f, const wt_tensor *t, uint64_t *seed)
{
    size_t nbytes;
    /* impossible sizes (tests of the loader's overflow checks) get no data */
    if (__builtin_mul_overflow(whisper__row_size(t->type, t->ne[0]),
                               (size_t)t->ne[1] * (size_t)t->ne[2], &nbytes) ||
        nbytes > ((size_t)1 << 30))
        return;
    if (f->len + nbytes > f->cap) {
        f->cap = (f->len + nbytes) * 2;
        f->data = realloc(f->data, f->cap);
        if (!f->data)
            abort();
    }
    uint8_t *p = f->data + f->len;
    f->len += nbytes;
    for (size_t i = 0; i < nbytes; i++)
        p[i] = (uint8_t)wt_rand(seed);
    if (t->type == WHISPER__F32) {
        for (size_t i = 0; i < nbytes / 4; i++) {
            float v = (float)((int)(wt_rand(seed) % 2001) - 1000) / 1000.0f;
            memcpy(p + 4 * i, &v, 4);
        }
    } else if (t->type == WHISPER__F16) {
        for (size_t i = 0; i < nbytes / 2; i++) {
            uint16_t h = whisper__f32_to_f16((float)((int)(wt_rand(seed) % 2001) - 1000) / 1000.0f);
            memcpy(p + 2 * i, &h, 2);
        }
    } else {
        size_t bb = whisper__row_size(t->type, 32);
        uint16_t d = whisper__f32_to_f16(0.01f);
        for (size_t i = 0; i + bb <= nbytes; i += bb) {
            memcpy(p + i, &d, 2);
            if (t->type == WHISPER__Q4_1 || t->type == WHISPER__Q5_1)
                memcpy(p + i + 2, &d, 2);
        }
    }
}

/* The vocabulary of the header file as stored (count, then each token),
 * cut to n_tokens tokens (all when n_tokens < 0). With raw_bytes, tokens
 * 0..255 become the single raw bytes of GPT-2's byte alphabet, in its
 * order, as real ggml files store them (the header-only test files have
 * U+FFFD in place of the bytes that are not valid UTF-8 alone). */
static inline wt_file wt_vocab(const uint8_t *header, size_t header_len, int n_tokens,
                               bool raw_bytes)
{
    wt_file v = {0};
    int32_t n_mel, n_fft, count;
    memcpy(&n_mel, header + 48, 4);
    memcpy(&n_fft, header + 52, 4);
    size_t o = 56 + (size_t)n_mel * (size_t)n_fft * 4;
    memcpy(&count, header + o, 4);
    o += 4;
    if (n_tokens < 0 || n_tokens > count)
        n_tokens = count;
    wt_put_i32(&v, n_tokens);
    int order[256], k = 0;
    for (int b = 0; b < 256; b++)
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
            order[k++] = b;
    for (int b = 0; b < 256; b++)
        if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174))
            order[k++] = b;
    for (int i = 0; i < n_tokens && o + 4 <= header_len; i++) {
        int32_t len;
        memcpy(&len, header + o, 4);
        if (raw_bytes && i < 256) {
            uint8_t b = (uint8_t)order[i];
            wt_put_i32(&v, 1);
            wt_put(&v, &b, 1);
        } else {
            wt_put(&v, header + o, 4 + (size_t)len);
        }
        o += 4 + (size_t)len;
    }
    return v;
}

/* The file: magic, hp, the header file's mel filters, the vocabulary blob
 * (see wt_vocab), then the tensors of l. */
static inline wt_file wt_build_vocab(const uint8_t *header, const int32_t hp[11],
                                     const wt_file *vocab, const wt_list *l, uint64_t seed)
{
    wt_file f = {0};
    f.record_off = calloc(l->n + 1, sizeof *f.record_off);
    f.data_off = calloc(l->n + 1, sizeof *f.data_off);
    wt_put_i32(&f, 0x67676d6c);
    for (int i = 0; i < 11; i++)
        wt_put_i32(&f, hp[i]);
    int32_t n_mel, n_fft;
    memcpy(&n_mel, header + 48, 4);
    memcpy(&n_fft, header + 52, 4);
    if (hp[WT_MELS] == n_mel) {
        wt_put(&f, header + 48, 8 + (size_t)n_mel * (size_t)n_fft * 4);
    } else {
        /* another mel count (large-v3's 128): zero filters of that count */
        wt_put_i32(&f, hp[WT_MELS]);
        wt_put_i32(&f, n_fft);
        float zero = 0.0f;
        for (int32_t i = 0; i < hp[WT_MELS] * n_fft; i++)
            wt_put(&f, &zero, 4);
    }
    wt_put(&f, vocab->data, vocab->len);
    for (size_t i = 0; i < l->n; i++) {
        const wt_tensor *t = &l->t[i];
        f.record_off[i] = f.len;
        wt_put_i32(&f, t->n_dims);
        wt_put_i32(&f, (int32_t)strlen(t->name));
        wt_put_i32(&f, t->type);
        for (int d = 0; d < t->n_dims; d++)
            wt_put_i32(&f, (int32_t)t->ne[d]);
        wt_put(&f, t->name, strlen(t->name));
        f.data_off[i] = f.len;
        wt_put_data(&f, t, &seed);
    }
    f.record_off[l->n] = f.len;
    return f;
}

static inline void wt_file_free(wt_file *f);

static inline wt_file wt_build(const uint8_t *header, size_t header_len, const int32_t hp[11],
                               int n_tokens, const wt_list *l, uint64_t seed)
{
    wt_file v = wt_vocab(header, header_len, n_tokens, false);
    wt_file f = wt_build_vocab(header, hp, &v, l, seed);
    wt_file_free(&v);
    return f;
}

static inline void wt_file_free(wt_file *f)
{
    free(f->data);
    free(f->record_off);
    free(f->data_off);
    memset(f, 0, sizeof *f);
}

#endif
