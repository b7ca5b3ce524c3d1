/* model_tensors: the tensor directory of a ggml Whisper file. Each tensor
 * record (n_dims, name length, type, sizes fastest-first, name, raw data)
 * is checked on its own — bounded name, known type, positive sizes, byte
 * size consistent with the type, data inside the file — and then against
 * the slot its name selects: expected shape, allowed type, not seen before.
 * After the last record every slot must be filled.
 *
 * Slots: 11 model-wide tensors, then 24 per layer (encoder layers first);
 * encoder layers have no cross-attention, so those 9 of their 24 slots are
 * never expected. The index of a slot follows from its name, so lookups do
 * not depend on the number of tensors an attacker puts in a file. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "whisper/loader.h"

#define N_GLOBAL 11
#define N_LAYER_SLOTS 24

/* Expected shapes, in terms of the hyper-parameters. */
enum {
    SH_ENC_POS, /* [S, n_audio_ctx] */
    SH_CONV1,   /* [3, n_mels, S] */
    SH_CONV2,   /* [3, S, S] */
    SH_CONV_B,  /* [1, S] */
    SH_VEC_S,   /* [S] */
    SH_DEC_POS, /* [T, n_text_ctx] */
    SH_TOK,     /* [T, n_vocab] */
    SH_VEC_T,   /* [T] */
    SH_VEC,     /* [D] (D = the layer's state size) */
    SH_MAT,     /* [D, D] */
    SH_UP,      /* [D, 4D] */
    SH_DOWN,    /* [4D, D] */
    SH_VEC4,    /* [4D] */
};

typedef struct {
    const char *name;
    size_t field;  /* offset in whisper_model or whisper__layer */
    int shape;
    bool f32_only; /* biases, norms, positional embeddings */
    bool cross;    /* decoder only */
} slot_def;

static const slot_def global_slots[N_GLOBAL] = {
    {"encoder.positional_embedding", offsetof(whisper_model, enc_pos), SH_ENC_POS, true, false},
    {"encoder.conv1.weight", offsetof(whisper_model, conv1_w), SH_CONV1, false, false},
    {"encoder.conv1.bias", offsetof(whisper_model, conv1_b), SH_CONV_B, true, false},
    {"encoder.conv2.weight", offsetof(whisper_model, conv2_w), SH_CONV2, false, false},
    {"encoder.conv2.bias", offsetof(whisper_model, conv2_b), SH_CONV_B, true, false},
    {"encoder.ln_post.weight", offsetof(whisper_model, enc_ln_w), SH_VEC_S, true, false},
    {"encoder.ln_post.bias", offsetof(whisper_model, enc_ln_b), SH_VEC_S, true, false},
    {"decoder.positional_embedding", offsetof(whisper_model, dec_pos), SH_DEC_POS, true, false},
    {"decoder.token_embedding.weight", offsetof(whisper_model, tok_emb), SH_TOK, false, false},
    {"decoder.ln.weight", offsetof(whisper_model, dec_ln_w), SH_VEC_T, true, false},
    {"decoder.ln.bias", offsetof(whisper_model, dec_ln_b), SH_VEC_T, true, false},
};

#define L(f) offsetof(whisper__layer, f)
static const slot_def layer_slots[N_LAYER_SLOTS] = {
    {"attn_ln.weight", L(attn_ln_w), SH_VEC, true, false},
    {"attn_ln.bias", L(attn_ln_b), SH_VEC, true, false},
    {"attn.query.weight", L(attn_q_w), SH_MAT, false, false},
    {"attn.query.bias", L(attn_q_b), SH_VEC, true, false},
    {"attn.key.weight", L(attn_k_w), SH_MAT, false, false},
    {"attn.value.weight", L(attn_v_w), SH_MAT, false, false},
    {"attn.value.bias", L(attn_v_b), SH_VEC, true, false},
    {"attn.out.weight", L(attn_out_w), SH_MAT, false, false},
    {"attn.out.bias", L(attn_out_b), SH_VEC, true, false},
    {"cross_attn_ln.weight", L(cross_ln_w), SH_VEC, true, true},
    {"cross_attn_ln.bias", L(cross_ln_b), SH_VEC, true, true},
    {"cross_attn.query.weight", L(cross_q_w), SH_MAT, false, true},
    {"cross_attn.query.bias", L(cross_q_b), SH_VEC, true, true},
    {"cross_attn.key.weight", L(cross_k_w), SH_MAT, false, true},
    {"cross_attn.value.weight", L(cross_v_w), SH_MAT, false, true},
    {"cross_attn.value.bias", L(cross_v_b), SH_VEC, true, true},
    {"cross_attn.out.weight", L(cross_out_w), SH_MAT, false, true},
    {"cross_attn.out.bias", L(cross_out_b), SH_VEC, true, true},
    {"mlp_ln.weight", L(mlp_ln_w), SH_VEC, true, false},
    {"mlp_ln.bias", L(mlp_ln_b), SH_VEC, true, false},
    {"mlp.0.weight", L(mlp_0_w), SH_UP, false, false},
    {"mlp.0.bias", L(mlp_0_b), SH_VEC4, true, false},
    {"mlp.2.weight", L(mlp_2_w), SH_DOWN, false, false},
    {"mlp.2.bias", L(mlp_2_b), SH_VEC, true, false},
};
#undef L

size_t whisper__tensor_slot_count(const whisper_model *m)
{
    return N_GLOBAL + N_LAYER_SLOTS * ((size_t)m->hp.n_audio_layer + (size_t)m->hp.n_text_layer);
}

/* Decomposes a slot index: *def, the layer (-1 for model-wide slots) and
 * whether it is a decoder layer. */
static const slot_def *slot_info(const whisper_model *m, size_t i, int *layer, bool *dec)
{
    *layer = -1;
    *dec = false;
    if (i < N_GLOBAL)
        return &global_slots[i];
    i -= N_GLOBAL;
    size_t li = i / N_LAYER_SLOTS;
    const slot_def *d = &layer_slots[i % N_LAYER_SLOTS];
    *dec = li >= (size_t)m->hp.n_audio_layer;
    *layer = (int)(*dec ? li - (size_t)m->hp.n_audio_layer : li);
    if (d->cross && !*dec)
        return NULL;
    return d;
}

whisper__tensor *whisper__tensor_slot(whisper_model *m, size_t i)
{
    int layer;
    bool dec;
    const slot_def *d = slot_info(m, i, &layer, &dec);
    if (!d)
        return NULL;
    if (layer < 0)
        return (whisper__tensor *)((char *)m + d->field);
    whisper__layer *ly = dec ? &m->dec_layers[layer] : &m->enc_layers[layer];
    return (whisper__tensor *)((char *)ly + d->field);
}

static void slot_name(const whisper_model *m, size_t i, char *buf, size_t cap)
{
    int layer;
    bool dec;
    const slot_def *d = slot_info(m, i, &layer, &dec);
    if (!d)
        snprintf(buf, cap, "?");
    else if (layer < 0)
        snprintf(buf, cap, "%s", d->name);
    else
        snprintf(buf, cap, "%s.blocks.%d.%s", dec ? "decoder" : "encoder", layer, d->name);
}

static int expected_shape(const whisper_model *m, const slot_def *d, bool dec, int64_t ne[3])
{
    const whisper_hparams *hp = &m->hp;
    int64_t S = hp->n_audio_state, T = hp->n_text_state, D = dec ? T : S;
    int64_t v[13][3] = {
        [SH_ENC_POS] = {S, hp->n_audio_ctx, 1}, [SH_CONV1] = {3, hp->n_mels, S},
        [SH_CONV2] = {3, S, S},                 [SH_CONV_B] = {1, S, 1},
        [SH_VEC_S] = {S, 1, 1},                 [SH_DEC_POS] = {T, hp->n_text_ctx, 1},
        [SH_TOK] = {T, hp->n_vocab, 1},         [SH_VEC_T] = {T, 1, 1},
        [SH_VEC] = {D, 1, 1},                   [SH_MAT] = {D, D, 1},
        [SH_UP] = {D, 4 * D, 1},                [SH_DOWN] = {4 * D, D, 1},
        [SH_VEC4] = {4 * D, 1, 1},
    };
    memcpy(ne, v[d->shape], sizeof v[0]);
    return ne[2] != 1 ? 3 : ne[1] != 1 ? 2 : 1;
}

static void shape_text(const int64_t ne[3], int n_dims, char *buf, size_t cap)
{
    if (n_dims <= 1)
        snprintf(buf, cap, "[%lld]", (long long)ne[0]);
    else if (n_dims == 2)
        snprintf(buf, cap, "[%lld, %lld]", (long long)ne[0], (long long)ne[1]);
    else
        snprintf(buf, cap, "[%lld, %lld, %lld]", (long long)ne[0], (long long)ne[1],
                 (long long)ne[2]);
}

/* Parses a decimal layer number with no sign or leading zero; -1 if none. */
static int parse_layer(const char *s, const char **end)
{
    if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return -1;
    int v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > 100000)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *end = s;
    return v;
}

/* The slot index for a tensor name, or -1 when the model has no such tensor. */
static long find_slot(const whisper_model *m, const char *name)
{
    for (int i = 0; i < N_GLOBAL; i++)
        if (strcmp(name, global_slots[i].name) == 0)
            return i;
    bool dec;
    if (strncmp(name, "encoder.blocks.", 15) == 0)
        dec = false;
    else if (strncmp(name, "decoder.blocks.", 15) == 0)
        dec = true;
    else
        return -1;
    const char *rest = name;
    int layer = parse_layer(name + 15, &rest);
    int n_layers = dec ? m->hp.n_text_layer : m->hp.n_audio_layer;
    if (layer < 0 || layer >= n_layers || *rest != '.')
        return -1;
    for (int k = 0; k < N_LAYER_SLOTS; k++) {
        if (layer_slots[k].cross && !dec)
            continue;
        if (strcmp(rest + 1, layer_slots[k].name) == 0)
            return N_GLOBAL + N_LAYER_SLOTS * ((long)layer + (dec ? m->hp.n_audio_layer : 0)) + k;
    }
    return -1;
}

/* One tensor record as read from the file, before it meets its slot. */
typedef struct {
    int32_t n_dims, type;
    int64_t ne[3];
    char name[WHISPER__MAX_NAME_BYTES + 1];
    const uint8_t *data;
    size_t nbytes;
    size_t offset; /* of the record */
} record;

static int read_record_head(whisper__reader *r, record *t, int index, char *err, size_t errlen)
{
    int32_t name_len = 0;
    int rc;
    t->offset = r->off;
    if ((rc = whisper__rd_i32(r, &t->n_dims, "a tensor header", err, errlen)) ||
        (rc = whisper__rd_i32(r, &name_len, "a tensor header", err, errlen)) ||
        (rc = whisper__rd_i32(r, &t->type, "a tensor header", err, errlen)))
        return rc;
    if (t->n_dims < 1 || t->n_dims > 3)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor %d at offset %zu: n_dims = %d: expected 1..3", r->name,
                         index, t->offset, (int)t->n_dims);
    if (name_len < 1 || name_len > WHISPER__MAX_NAME_BYTES)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor %d at offset %zu: name length %d: expected 1..%d", r->name,
                         index, t->offset, (int)name_len, WHISPER__MAX_NAME_BYTES);
    if (!whisper__type_name(t->type))
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor %d at offset %zu: unknown type %d (expected f32 0, f16 1, "
                         "q4_0 2, q4_1 3, q5_0 6, q5_1 7, q8_0 8)", r->name, index, t->offset,
                         (int)t->type);
    t->ne[0] = t->ne[1] = t->ne[2] = 1;
    for (int d = 0; d < t->n_dims; d++) {
        int32_t v = 0;
        if ((rc = whisper__rd_i32(r, &v, "a tensor size", err, errlen)))
            return rc;
        if (v < 1)
            return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                             "%s: tensor %d at offset %zu: ne[%d] = %d: expected a positive "
                             "size", r->name, index, t->offset, d, (int)v);
        t->ne[d] = v;
    }
    const uint8_t *p = NULL;
    if ((rc = whisper__rd_bytes(r, (size_t)name_len, &p, "a tensor name", err, errlen)))
        return rc;
    for (int32_t i = 0; i < name_len; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                             "%s: tensor %d at offset %zu: name has byte 0x%02x at position %d "
                             "(expected printable ASCII)", r->name, index, t->offset, p[i],
                             (int)i);
    memcpy(t->name, p, (size_t)name_len);
    t->name[name_len] = '\0';
    return WHISPER_OK;
}

/* Byte size from the shape and type (overflow-checked), then the data,
 * which must lie inside the file. */
static int read_record_data(whisper__reader *r, record *t, char *err, size_t errlen)
{
    size_t row = whisper__row_size(t->type, t->ne[0]);
    if (row == 0)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor '%s': ne[0] = %lld is not a multiple of %d, required by "
                         "type %s", r->name, t->name, (long long)t->ne[0], WHISPER__QK,
                         whisper__type_name(t->type));
    size_t rows, nbytes;
    if (__builtin_mul_overflow((size_t)t->ne[1], (size_t)t->ne[2], &rows) ||
        __builtin_mul_overflow(rows, row, &nbytes))
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor '%s': byte size of shape [%lld, %lld, %lld] overflows",
                         r->name, t->name, (long long)t->ne[0], (long long)t->ne[1],
                         (long long)t->ne[2]);
    if (nbytes > r->size - r->off)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: truncated: tensor '%s' needs %zu bytes at offset %zu, the file "
                         "has %zu", r->name, t->name, nbytes, r->off, r->size);
    t->data = r->data + r->off;
    t->nbytes = nbytes;
    r->off += nbytes;
    return WHISPER_OK;
}

static int check_against_slot(whisper_model *m, const whisper__reader *r, const record *t,
                              long slot, const bool *seen, char *err, size_t errlen)
{
    if (slot < 0)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: unknown tensor '%s' at offset %zu (not part of a Whisper model "
                         "with %d encoder and %d decoder layers)", r->name, t->name, t->offset,
                         (int)m->hp.n_audio_layer, (int)m->hp.n_text_layer);
    if (seen[slot])
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor '%s' appears twice (again at offset %zu)", r->name, t->name,
                         t->offset);
    int layer;
    bool dec;
    const slot_def *d = slot_info(m, (size_t)slot, &layer, &dec);
    int64_t want[3];
    int want_dims = expected_shape(m, d, dec, want);
    if (memcmp(want, t->ne, sizeof want) != 0) {
        char a[80], b[80];
        shape_text(want, want_dims, a, sizeof a);
        shape_text(t->ne, t->n_dims, b, sizeof b);
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor '%s' has shape %s, expected %s", r->name, t->name, b, a);
    }
    if (d->f32_only && t->type != WHISPER__F32)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: tensor '%s' has type %s, expected f32", r->name, t->name,
                         whisper__type_name(t->type));
    return WHISPER_OK;
}

static int bind(whisper_model *m, const record *t, long slot, const whisper__reader *r, char *err,
                size_t errlen)
{
    char **names = realloc(m->tensor_names, (m->n_tensors + 1) * sizeof *names);
    if (!names)
        return util_errf(err, errlen, WHISPER_ERR_NOMEM, "%s: out of memory", r->name);
    m->tensor_names = names;
    char *name = strdup(t->name);
    if (!name)
        return util_errf(err, errlen, WHISPER_ERR_NOMEM, "%s: out of memory", r->name);
    names[m->n_tensors++] = name;
    whisper__tensor *dst = whisper__tensor_slot(m, (size_t)slot);
    *dst = (whisper__tensor){name, t->type, t->n_dims, {t->ne[0], t->ne[1], t->ne[2]}, t->data,
                             t->nbytes};
    return WHISPER_OK;
}

/* Names the first missing tensor in the order converters write them:
 * encoder stem, encoder layers, ln_post, decoder stem, decoder layers, ln. */
static int check_complete(whisper_model *m, const whisper__reader *r, const bool *seen,
                          size_t n_slots, char *err, size_t errlen)
{
    size_t enc_end = N_GLOBAL + N_LAYER_SLOTS * (size_t)m->hp.n_audio_layer;
    const size_t ranges[5][2] = {{0, 5}, {N_GLOBAL, enc_end}, {5, 9}, {enc_end, n_slots},
                                 {9, N_GLOBAL}};
    for (int k = 0; k < 5; k++) {
        for (size_t i = ranges[k][0]; i < ranges[k][1]; i++) {
            if (seen[i] || !whisper__tensor_slot(m, i))
                continue;
            char name[WHISPER__MAX_NAME_BYTES];
            slot_name(m, i, name, sizeof name);
            return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                             "%s: tensor '%s' is missing (the file ends at offset %zu)",
                             r->name, name, r->size);
        }
    }
    return WHISPER_OK;
}

int whisper__parse_tensors(whisper_model *m, whisper__reader *r, char *err, size_t errlen)
{
    size_t n_slots = whisper__tensor_slot_count(m), n_expected = N_GLOBAL +
        (N_LAYER_SLOTS - 9) * (size_t)m->hp.n_audio_layer + N_LAYER_SLOTS * (size_t)m->hp.n_text_layer;
    int rc = WHISPER_ERR_NOMEM;
    bool *seen = calloc(n_slots, sizeof *seen);
    m->enc_layers = calloc((size_t)m->hp.n_audio_layer, sizeof *m->enc_layers);
    m->dec_layers = calloc((size_t)m->hp.n_text_layer, sizeof *m->dec_layers);
    if (!seen || !m->enc_layers || !m->dec_layers) {
        util_errf(err, errlen, rc, "%s: out of memory for %zu tensor slots", r->name, n_slots);
        goto cleanup;
    }
    record t;
    for (int index = 0; r->off < r->size; index++) {
        if (m->n_tensors == n_expected) {
            rc = util_errf(err, errlen, WHISPER_ERR_FORMAT,
                           "%s: %zu trailing bytes at offset %zu after the last tensor", r->name,
                           r->size - r->off, r->off);
            goto cleanup;
        }
        if ((rc = read_record_head(r, &t, index, err, errlen)) ||
            (rc = read_record_data(r, &t, err, errlen)))
            goto cleanup;
        long slot = find_slot(m, t.name);
        if ((rc = check_against_slot(m, r, &t, slot, seen, err, errlen)) ||
            (rc = bind(m, &t, slot, r, err, errlen)))
            goto cleanup;
        seen[slot] = true;
    }
    rc = check_complete(m, r, seen, n_slots, err, errlen);
    if (rc == WHISPER_OK)
        m->weight_type = m->enc_layers[0].attn_q_w.type;
cleanup:
    free(seen);
    return rc;
}
