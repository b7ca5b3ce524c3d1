/* test_whisper_loader: the ggml Whisper model loader and tensor types.
 * Valid files of a tiny custom size (widths 32, 2 + 2 layers, the real
 * vocabulary and mel filters) are built in memory by whisper_writer.h in
 * every tensor type; then damaged variants — truncated at many offsets, bad
 * hyper-parameters, wrong shape, type, name, duplicates, missing tensors,
 * trailing bytes, foreign files, overflowing sizes — must each fail with a
 * message naming the field or tensor. Also: exact f16 conversion and the
 * quantized block layouts. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "whisper_writer.h"
#include "whisper/loader.h"

#define HEADER_TINY_EN CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-tiny.en.bin"
#define HEADER_BASE CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-base.bin"

static uint8_t *g_header;
static size_t g_header_len;

static int setup(void **state)
{
    (void)state;
    g_header = wt_read_file(HEADER_TINY_EN, &g_header_len);
    return g_header ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(g_header);
    return 0;
}

static void tiny_hp(int32_t hp[11], int type)
{
    int32_t v[11] = {51864, 1500, 32, 2, 2, 448, 32, 2, 2, 80, type < 2 ? type : 2000 + type};
    memcpy(hp, v, sizeof v);
}

/* Loads f from memory; returns the code, message in err. */
static int load_mem(const uint8_t *d, size_t n, char *err, size_t errlen)
{
    whisper_model *m = NULL;
    int rc = whisper__model_load_memory(&m, d, n, "t.bin", err, errlen);
    if (rc != WHISPER_OK)
        assert_null(m);
    else
        assert_non_null(m);
    whisper_model_free(m);
    return rc;
}

/* The file must fail and the message contain each of the given strings. */
static void expect_fail(const uint8_t *d, size_t n, const char *want1, const char *want2)
{
    char err[512] = "";
    int rc = load_mem(d, n, err, sizeof err);
    if (rc == WHISPER_OK || !strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("rc=%d err='%s', expected '%s'%s%s", rc, err, want1, want2 ? " and " : "",
                 want2 ? want2 : "");
    assert_int_equal(strncmp(err, "t.bin: ", 7), 0);
}

static wt_file build(int type, wt_list *l, int32_t hp[11])
{
    tiny_hp(hp, type);
    *l = wt_tensors(hp, type);
    return wt_build(g_header, g_header_len, hp, -1, l, 7);
}

/* ---- types ---- */

static void test_f16_exact(void **state)
{
    (void)state;
    assert_true(whisper__f16_to_f32(0x3c00) == 1.0f);
    assert_true(whisper__f16_to_f32(0xc000) == -2.0f);
    assert_true(whisper__f16_to_f32(0x7bff) == 65504.0f);
    assert_true(whisper__f16_to_f32(0x0001) == 0x1p-24f);
    assert_true(whisper__f16_to_f32(0x03ff) == 1023 * 0x1p-24f);
    assert_true(whisper__f16_to_f32(0x0400) == 0x1p-14f);
    assert_true(isinf(whisper__f16_to_f32(0x7c00)) && whisper__f16_to_f32(0xfc00) < 0);
    assert_true(isnan(whisper__f16_to_f32(0x7e00)));
    assert_true(signbit(whisper__f16_to_f32(0x8000)));
    /* every half survives the round trip (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = whisper__f16_to_f32((uint16_t)h);
        uint16_t back = whisper__f32_to_f16(f);
        if (isnan(f))
            assert_true(isnan(whisper__f16_to_f32(back)));
        else if (back != h)
            fail_msg("half 0x%04x -> %g -> 0x%04x", h, (double)f, back);
    }
    /* round to nearest, ties to even */
    assert_int_equal(whisper__f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    assert_int_equal(whisper__f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    assert_int_equal(whisper__f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    assert_int_equal(whisper__f32_to_f16(65519.0f), 0x7bff);
    assert_int_equal(whisper__f32_to_f16(65520.0f), 0x7c00);
    assert_int_equal(whisper__f32_to_f16(0x1p-25f), 0x0000);
    assert_int_equal(whisper__f32_to_f16(0x1.8p-25f), 0x0001);
    assert_int_equal(whisper__f32_to_f16(3 * 0x1p-25f), 0x0002);
    assert_int_equal(whisper__f32_to_f16(0x1p-30f), 0x0000);
    assert_int_equal(whisper__f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(whisper__f32_to_f16(1e-45f), 0x0000);
    assert_int_equal(whisper__f32_to_f16(INFINITY), 0x7c00);
    assert_true((whisper__f32_to_f16(NAN) & 0x7c00) == 0x7c00 &&
                (whisper__f32_to_f16(NAN) & 0x3ff) != 0);
}

static void test_row_size(void **state)
{
    (void)state;
    assert_int_equal(whisper__row_size(WHISPER__F32, 3), 12);
    assert_int_equal(whisper__row_size(WHISPER__F16, 3), 6);
    assert_int_equal(whisper__row_size(WHISPER__Q4_0, 64), 36);
    assert_int_equal(whisper__row_size(WHISPER__Q4_1, 64), 40);
    assert_int_equal(whisper__row_size(WHISPER__Q5_0, 64), 44);
    assert_int_equal(whisper__row_size(WHISPER__Q5_1, 64), 48);
    assert_int_equal(whisper__row_size(WHISPER__Q8_0, 64), 68);
    assert_int_equal(whisper__row_size(WHISPER__Q8_0, 48), 0);
    assert_int_equal(whisper__row_size(5, 64), 0);
    assert_int_equal(whisper__row_size(WHISPER__F32, 0), 0);
    assert_int_equal(whisper__row_size(WHISPER__F32, -4), 0);
    assert_null(whisper__type_name(4));
    assert_string_equal(whisper__type_name(WHISPER__Q5_1), "q5_1");
}

static void put_f16(uint8_t *p, float v)
{
    uint16_t h = whisper__f32_to_f16(v);
    memcpy(p, &h, 2);
}

/* Builds one block of each layout from chosen quants and checks the values
 * element by element (element j: low nibble of byte j for j < 16, high
 * nibble of byte j - 16 otherwise; fifth bit = bit j of qh). */
static void test_dequant_layouts(void **state)
{
    (void)state;
    int q[32];
    for (int j = 0; j < 32; j++)
        q[j] = (j * 7 + 3) % 32; /* 0..31, all different low/high patterns */
    const float d = 0.5f, m = -3.0f;
    uint8_t b[40];
    float out[32];
    for (int type = 2; type <= 8; type++) {
        if (!whisper__type_name(type))
            continue;
        memset(b, 0, sizeof b);
        bool five = type == WHISPER__Q5_0 || type == WHISPER__Q5_1;
        bool has_m = type == WHISPER__Q4_1 || type == WHISPER__Q5_1;
        put_f16(b, d);
        if (has_m)
            put_f16(b + 2, m);
        size_t qs = 2 + (has_m ? 2 : 0) + (five ? 4 : 0);
        uint32_t qh = 0;
        for (int j = 0; j < 32; j++) {
            int v = type == WHISPER__Q8_0 ? q[j] - 16 : five ? q[j] : q[j] & 15;
            if (type == WHISPER__Q8_0) {
                b[2 + j] = (uint8_t)(int8_t)v;
                continue;
            }
            b[qs + (j % 16)] |= (uint8_t)((v & 15) << (j < 16 ? 0 : 4));
            if (five && (v & 16))
                qh |= 1u << j;
        }
        if (five)
            memcpy(b + qs - 4, &qh, 4);
        whisper__dequant_row(type, b, out, 32);
        for (int j = 0; j < 32; j++) {
            float want;
            switch (type) {
            case WHISPER__Q4_0: want = (float)((q[j] & 15) - 8) * d; break;
            case WHISPER__Q4_1: want = (float)(q[j] & 15) * d + m; break;
            case WHISPER__Q5_0: want = (float)(q[j] - 16) * d; break;
            case WHISPER__Q5_1: want = (float)q[j] * d + m; break;
            default: want = (float)(q[j] - 16) * d; break;
            }
            if (out[j] != want)
                fail_msg("%s element %d: %g, expected %g", whisper__type_name(type), j,
                         (double)out[j], (double)want);
        }
    }
    /* f16 rows */
    uint8_t h[4];
    put_f16(h, 1.5f);
    put_f16(h + 2, -0.25f);
    whisper__dequant_row(WHISPER__F16, h, out, 2);
    assert_true(out[0] == 1.5f && out[1] == -0.25f);
}

/* ---- valid files ---- */

static char *write_temp(const wt_file *f)
{
    char *path = strdup("/tmp/test_whisper_loader_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, f->data, f->len), (ssize_t)f->len);
    close(fd);
    return path;
}

static void check_loaded(const whisper_model *m, const wt_file *f, const wt_list *l, int type)
{
    const whisper_hparams *hp = whisper_model_hparams(m);
    assert_int_equal(hp->n_audio_state, 32);
    assert_int_equal(hp->n_text_layer, 2);
    assert_string_equal(whisper_model_size_name(m), "custom");
    assert_string_equal(whisper_model_type_name(m), whisper__type_name(type));
    assert_false(whisper_model_multilingual(m));
    assert_int_equal(m->n_text_tokens, 50257);
    assert_int_equal(m->n_tensors, l->n);
    /* every tensor holds exactly the file's bytes, aligned for its type */
    whisper__tensor *tensors[] = {&((whisper_model *)m)->enc_pos, &m->enc_layers[1].mlp_2_w,
                                  &m->dec_layers[1].cross_out_b, &m->dec_layers[0].cross_k_w,
                                  &((whisper_model *)m)->tok_emb, &((whisper_model *)m)->conv1_w,
                                  &((whisper_model *)m)->dec_ln_b};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++) {
        const whisper__tensor *t = tensors[i];
        int k = wt_find(l, t->name);
        assert_true(k >= 0);
        assert_int_equal(t->type, l->t[k].type);
        assert_int_equal(t->ne[0], l->t[k].ne[0]);
        assert_int_equal(t->ne[1], l->t[k].ne[1]);
        assert_int_equal(t->nbytes, f->record_off[k + 1] - f->data_off[k]);
        assert_memory_equal(t->data, f->data + f->data_off[k], t->nbytes);
        if (t->type == WHISPER__F32)
            assert_int_equal((uintptr_t)t->data % 4, 0);
    }
    assert_null(m->enc_layers[0].cross_q_w.data);
    assert_int_equal(m->weight_type, type);
}

static void test_load_every_type(void **state)
{
    (void)state;
    const int types[] = {0, 1, 2, 3, 6, 7, 8};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int32_t hp[11];
        wt_list l;
        wt_file f = build(types[i], &l, hp);
        char *path = write_temp(&f);
        for (int mm = 0; mm < 2; mm++) {
            whisper_load_params p = whisper_load_default_params();
            p.use_mmap = mm;
            whisper_model *m = NULL;
            char err[512] = "";
            int rc = whisper_model_load(&m, path, &p, err, sizeof err);
            if (rc != WHISPER_OK)
                fail_msg("%s (mmap %d): %s", whisper__type_name(types[i]), mm, err);
            check_loaded(m, &f, &l, types[i]);
            if (mm) {
                /* the mapping is used in place where alignment allows */
                const char *lo = m->map, *hi = lo + m->map_size;
                const whisper__tensor *q = &m->enc_layers[0].attn_q_w;
                if (q->type != WHISPER__F32 || (uintptr_t)(lo + f.data_off[wt_find(&l, q->name)]) % 4 == 0)
                    assert_true((const char *)q->data >= lo && (const char *)q->data < hi);
            }
            whisper_model_free(m);
        }
        /* memory loads copy everything */
        char err[512] = "";
        whisper_model *m = NULL;
        assert_int_equal(whisper__model_load_memory(&m, f.data, f.len, "mem", err, sizeof err),
                         WHISPER_OK);
        check_loaded(m, &f, &l, types[i]);
        whisper_model_free(m);
        unlink(path);
        free(path);
        wt_file_free(&f);
        free(l.t);
    }
}

static void test_misaligned_f32_copied(void **state)
{
    (void)state;
    int32_t hp[11];
    wt_list l;
    tiny_hp(hp, 1);
    l = wt_tensors(hp, 1);
    /* a name one byte longer shifts every later record by one */
    int k = wt_find(&l, "encoder.conv1.weight");
    wt_file f = wt_build(g_header, g_header_len, hp, -1, &l, 3);
    assert_true(k >= 0);
    /* find an f32 tensor whose data is misaligned in the file */
    int mis = -1;
    for (size_t i = 0; i < l.n; i++)
        if (l.t[i].type == WHISPER__F32 && f.data_off[i] % 4 != 0)
            mis = (int)i;
    if (mis < 0)
        skip();
    char *path = write_temp(&f);
    whisper_model *m = NULL;
    char err[512];
    assert_int_equal(whisper_model_load(&m, path, NULL, err, sizeof err), WHISPER_OK);
    assert_non_null(m->owned);
    bool found = false;
    for (size_t i = 0; i < whisper__tensor_slot_count(m); i++) {
        whisper__tensor *t = whisper__tensor_slot(m, i);
        if (!t || strcmp(t->name, l.t[mis].name) != 0)
            continue;
        found = true;
        assert_int_equal((uintptr_t)t->data % 4, 0);
        assert_true((const char *)t->data < (char *)m->map ||
                    (const char *)t->data >= (char *)m->map + m->map_size);
        assert_memory_equal(t->data, f.data + f.data_off[mis], t->nbytes);
    }
    assert_true(found);
    whisper_model_free(m);
    unlink(path);
    free(path);
    wt_file_free(&f);
    free(l.t);
}

static void test_size_names(void **state)
{
    (void)state;
    static const struct {
        int s, la, lt, mels;
        const char *name;
    } c[] = {{384, 4, 4, 80, "tiny"},        {512, 6, 6, 80, "base"},
             {768, 12, 12, 80, "small"},     {1024, 24, 24, 80, "medium"},
             {1280, 32, 32, 80, "large"},    {1280, 32, 32, 128, "large-v3"},
             {1280, 32, 4, 128, "large-v3-turbo"}, {384, 4, 2, 80, "custom"},
             {64, 2, 2, 80, "custom"}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        whisper_model m;
        memset(&m, 0, sizeof m);
        m.hp = (whisper_hparams){51865, 1500, c[i].s, 8, c[i].la, 448, c[i].s, 8, c[i].lt,
                                 c[i].mels, 1};
        assert_string_equal(whisper_model_size_name(&m), c[i].name);
    }
}

/* large-v3 layout at a tiny width: 128 mel bins, 51866 ids (100
 * languages), more decoder than encoder layers. */
static void test_large_v3_layout(void **state)
{
    (void)state;
    size_t hlen;
    uint8_t *header = wt_read_file(HEADER_BASE, &hlen);
    assert_non_null(header);
    int32_t hp[11] = {51866, 1500, 32, 2, 1, 448, 32, 2, 4, 128, 2008};
    wt_list l = wt_tensors(hp, WHISPER__Q8_0);
    wt_file f = wt_build(header, hlen, hp, -1, &l, 11);
    whisper_model *m = NULL;
    char err[512] = "";
    if (whisper__model_load_memory(&m, f.data, f.len, "v3", err, sizeof err) != WHISPER_OK)
        fail_msg("%s", err);
    assert_int_equal(m->hp.n_mels, 128);
    assert_int_equal(m->hp.n_text_layer, 4);
    assert_string_equal(whisper_model_type_name(m), "q8_0");
    assert_int_equal(whisper_model_special(m)->n_languages, 100);
    assert_int_equal(whisper_model_special(m)->timestamp_begin, 50365);
    assert_non_null(m->dec_layers[3].cross_k_w.data);
    whisper_model_free(m);
    /* the same file claiming 80 mel bins is rejected at the filter bank */
    hp[WT_MELS] = 80;
    memcpy(f.data + 4 + 4 * WT_MELS, &hp[WT_MELS], 4);
    expect_fail(f.data, f.len, "mel filter count 128 does not match n_mels = 80", NULL);
    wt_file_free(&f);
    free(l.t);
    free(header);
}

static void test_pyref_generator(void **state)
{
    (void)state;
    const char *script = CESAR_SOURCE_DIR "/tests/whisper/make_model.py";
    if (access(script, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0)
        skip();
    const char *types[] = {"f16", "q5_0"};
    for (int i = 0; i < 2; i++) {
        char out[] = "/tmp/test_whisper_pyref_XXXXXX";
        int fd = mkstemp(out);
        assert_true(fd >= 0);
        close(fd);
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 %s --header %s --out %s --dims test --ftype %s --seed 1",
                 script, HEADER_BASE, out, types[i]);
        if (system(cmd) != 0) {
            unlink(out);
            skip();
        }
        whisper_model *m = NULL;
        char err[512] = "";
        int rc = whisper_model_load(&m, out, NULL, err, sizeof err);
        unlink(out);
        if (rc != WHISPER_OK)
            fail_msg("make_model.py --ftype %s: %s", types[i], err);
        assert_string_equal(whisper_model_type_name(m), types[i]);
        assert_true(whisper_model_multilingual(m));
        whisper_model_free(m);
    }
}

/* ---- damaged files ---- */

static void test_io_errors(void **state)
{
    (void)state;
    whisper_model *m = (whisper_model *)1;
    char err[512];
    assert_int_equal(whisper_model_load(&m, "/nonexistent/x.bin", NULL, err, sizeof err),
                     WHISPER_ERR_IO);
    assert_null(m);
    assert_non_null(strstr(err, "/nonexistent/x.bin"));
    assert_int_equal(whisper_model_load(&m, "/tmp", NULL, err, sizeof err), WHISPER_ERR_IO);
    assert_non_null(strstr(err, "not a regular file"));
    wt_file empty = {0};
    wt_put(&empty, "gg", 2);
    char *path = write_temp(&empty);
    assert_int_equal(whisper_model_load(&m, path, NULL, err, sizeof err), WHISPER_ERR_FORMAT);
    assert_non_null(strstr(err, "truncated"));
    unlink(path);
    free(path);
    wt_file_free(&empty);
    assert_int_equal(whisper_model_load(NULL, "x", NULL, err, sizeof err),
                     WHISPER_ERR_INVALID_ARG);
    assert_string_equal(whisper_strerror(WHISPER_ERR_FORMAT), "not a valid ggml Whisper model file");
}

static void test_foreign_files(void **state)
{
    (void)state;
    uint8_t wav[64] = "RIFF\x24\x00\x00\x00WAVEfmt ";
    expect_fail(wav, sizeof wav, "not a ggml Whisper model file", "WAV");
    uint8_t gguf[64] = "GGUF\x03\x00\x00\x00";
    expect_fail(gguf, sizeof gguf, "not a ggml Whisper model file", "GGUF");
    expect_fail((const uint8_t *)"", 0, "truncated", "magic");
}

/* Sets hyper-parameter i of a valid file to v; the message must name it. */
static void test_bad_hparams(void **state)
{
    (void)state;
    int32_t hp[11];
    wt_list l;
    wt_file f = build(0, &l, hp);
    static const struct {
        int field;
        int32_t value;
        const char *want;
    } c[] = {
        {WT_VOCAB, 51863, "n_vocab"},     {WT_VOCAB, -1, "n_vocab"},
        {WT_VOCAB, 0x7fffffff, "n_vocab"}, {WT_ACTX, 0, "n_audio_ctx"},
        {WT_ACTX, 1501, "n_audio_ctx"},   {WT_S, -32, "n_audio_state"},
        {WT_S, 0x7fffffff, "n_audio_state"}, {WT_SH, 0, "n_audio_head"},
        {WT_SH, 3, "not divisible"},      {WT_SL, 0, "n_audio_layer"},
        {WT_SL, 100000, "n_audio_layer"}, {WT_TCTX, -448, "n_text_ctx"},
        {WT_T, 0, "n_text_state"},        {WT_TH, 5, "n_text_state = 32 is not divisible"},
        {WT_TL, -2, "n_text_layer"},      {WT_MELS, 81, "n_mels"},
        {WT_MELS, 128, "mel filter count 80"}, {WT_FTYPE, 1008, "quantization version 1"},
        {WT_FTYPE, 2, "quantization version 0"}, {WT_FTYPE, 3008, "quantization version 3"},
        {WT_FTYPE, 2005, "unknown quantized type"}, {WT_FTYPE, -1, "ftype"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint8_t *d = malloc(f.len);
        memcpy(d, f.data, f.len);
        memcpy(d + 4 + 4 * c[i].field, &c[i].value, 4);
        expect_fail(d, f.len, c[i].want, NULL);
        free(d);
    }
    /* mel filter size and vocabulary fields */
    uint8_t *d = malloc(f.len);
    int32_t v = 200;
    memcpy(d, f.data, f.len);
    memcpy(d + 52, &v, 4);
    expect_fail(d, f.len, "n_fft = 200", NULL);
    memcpy(d, f.data, f.len);
    size_t vocab_off = 56 + 80 * 201 * 4;
    v = 50258;
    memcpy(d + vocab_off, &v, 4);
    expect_fail(d, f.len, "vocabulary size 50258", NULL);
    v = -5;
    memcpy(d + vocab_off, &v, 4);
    expect_fail(d, f.len, "vocabulary size -5", NULL);
    memcpy(d, f.data, f.len);
    v = -1;
    memcpy(d + vocab_off + 4, &v, 4);
    expect_fail(d, f.len, "vocabulary token 0", "length -1");
    v = 0x7ffffff0;
    memcpy(d + vocab_off + 4, &v, 4);
    expect_fail(d, f.len, "vocabulary token 0", NULL);
    free(d);
    wt_file_free(&f);
    free(l.t);
}

/* Cuts a valid file at many offsets: every cut fails, and a cut inside a
 * tensor's data names that tensor. */
static void test_truncated(void **state)
{
    (void)state;
    int32_t hp[11];
    wt_list l;
    wt_file f = build(WHISPER__Q5_1, &l, hp);
    char err[512];
    size_t header_end = f.record_off[0];
    for (size_t cut = 0; cut < f.len; cut += (cut < 64 ? 1 : cut < header_end ? 4099 : 997)) {
        err[0] = '\0';
        int rc = load_mem(f.data, cut, err, sizeof err);
        if (rc == WHISPER_OK || err[0] == '\0')
            fail_msg("cut at %zu of %zu: rc=%d '%s'", cut, f.len, rc, err);
        assert_true(strstr(err, "truncated") || strstr(err, "is missing"));
    }
    int k = wt_find(&l, "decoder.blocks.1.mlp.0.weight");
    size_t cut = f.data_off[k] + 10;
    char want[160];
    snprintf(want, sizeof want,
             "truncated: tensor 'decoder.blocks.1.mlp.0.weight' needs %zu bytes at offset %zu, "
             "the file has %zu", f.record_off[k + 1] - f.data_off[k], f.data_off[k], cut);
    expect_fail(f.data, cut, want, NULL);
    /* a cut exactly between records names the first missing tensor */
    expect_fail(f.data, f.record_off[k], "tensor 'decoder.blocks.1.mlp.0.weight' is missing",
                NULL);
    wt_file_free(&f);
    free(l.t);
}

/* Rebuilds the file after edit() changed the tensor list. */
static void expect_list_fail(void (*edit)(wt_list *), const char *want1, const char *want2)
{
    int32_t hp[11];
    wt_list l;
    tiny_hp(hp, WHISPER__Q8_0);
    l = wt_tensors(hp, WHISPER__Q8_0);
    edit(&l);
    wt_file f = wt_build(g_header, g_header_len, hp, 100, &l, 5);
    expect_fail(f.data, f.len, want1, want2);
    wt_file_free(&f);
    free(l.t);
}

static void edit_shape(wt_list *l) { l->t[wt_find(l, "decoder.blocks.1.mlp.0.weight")].ne[1] = 96; }
static void edit_dims(wt_list *l)
{
    wt_tensor *t = &l->t[wt_find(l, "encoder.blocks.0.attn_ln.bias")];
    t->n_dims = 2;
    t->ne[0] = 1;
    t->ne[1] = 32;
}
static void edit_bias_type(wt_list *l) { l->t[wt_find(l, "encoder.blocks.1.attn.query.bias")].type = WHISPER__F16; }
static void edit_pos_type(wt_list *l) { l->t[wt_find(l, "decoder.positional_embedding")].type = WHISPER__Q8_0; }
static void edit_conv_quant(wt_list *l) { l->t[wt_find(l, "encoder.conv2.weight")].type = WHISPER__Q4_0; }
static void edit_missing(wt_list *l)
{
    int k = wt_find(l, "decoder.blocks.0.cross_attn.key.weight");
    memmove(&l->t[k], &l->t[k + 1], (l->n - k - 1) * sizeof l->t[0]);
    l->n--;
}
static void edit_duplicate(wt_list *l)
{
    int k = wt_find(l, "encoder.blocks.1.attn.key.weight");
    l->t[k] = l->t[k - 1]; /* attn.query.bias again instead of key */
}
static void edit_unknown(wt_list *l) { strcpy(l->t[wt_find(l, "encoder.blocks.1.attn.key.weight")].name, "encoder.blocks.1.attn.key.bias"); }
static void edit_layer_range(wt_list *l) { strcpy(l->t[wt_find(l, "decoder.blocks.1.mlp.2.bias")].name, "decoder.blocks.2.mlp.2.bias"); }
static void edit_cross_in_encoder(wt_list *l) { strcpy(l->t[wt_find(l, "encoder.blocks.0.attn.out.bias")].name, "encoder.blocks.0.cross_attn.out.bias"); }
static void edit_leading_zero(wt_list *l) { strcpy(l->t[wt_find(l, "decoder.blocks.1.mlp.2.bias")].name, "decoder.blocks.01.mlp.2.bias"); }
static void edit_trailing(wt_list *l) { wt_add(l, "decoder.ln.bias", 1, 32, 1, 1, WHISPER__F32); }
static void edit_huge(wt_list *l)
{
    wt_tensor *t = &l->t[wt_find(l, "encoder.ln_post.weight")];
    t->n_dims = 3;
    t->ne[0] = t->ne[1] = t->ne[2] = 0x7fffffff;
}
static void edit_huge_2(wt_list *l)
{
    wt_tensor *t = &l->t[wt_find(l, "encoder.ln_post.weight")];
    t->n_dims = 2;
    t->ne[0] = 0x40000000;
    t->ne[1] = 0x7fffffff;
}

static void test_bad_tensors(void **state)
{
    (void)state;
    expect_list_fail(edit_shape, "tensor 'decoder.blocks.1.mlp.0.weight' has shape [32, 96]",
                     "expected [32, 128]");
    expect_list_fail(edit_dims, "tensor 'encoder.blocks.0.attn_ln.bias' has shape [1, 32]",
                     "expected [32]");
    expect_list_fail(edit_bias_type, "tensor 'encoder.blocks.1.attn.query.bias' has type f16",
                     "expected f32");
    expect_list_fail(edit_pos_type, "decoder.positional_embedding", NULL);
    expect_list_fail(edit_conv_quant, "tensor 'encoder.conv2.weight': ne[0] = 3 is not a "
                     "multiple of 32", "q4_0");
    expect_list_fail(edit_missing, "tensor 'decoder.blocks.0.cross_attn.key.weight' is missing",
                     NULL);
    expect_list_fail(edit_duplicate, "tensor 'encoder.blocks.1.attn.query.bias' appears twice",
                     NULL);
    expect_list_fail(edit_unknown, "unknown tensor 'encoder.blocks.1.attn.key.bias'", NULL);
    expect_list_fail(edit_layer_range, "unknown tensor 'decoder.blocks.2.mlp.2.bias'", NULL);
    expect_list_fail(edit_cross_in_encoder, "unknown tensor 'encoder.blocks.0.cross_attn.out.bias'",
                     NULL);
    expect_list_fail(edit_leading_zero, "unknown tensor 'decoder.blocks.01.mlp.2.bias'", NULL);
    expect_list_fail(edit_trailing, "trailing bytes", NULL);
    expect_list_fail(edit_huge, "encoder.ln_post.weight", "overflows");
    expect_list_fail(edit_huge_2, "truncated: tensor 'encoder.ln_post.weight' needs", NULL);
}

/* Damages one field of the first tensor record in place. */
static void test_bad_records(void **state)
{
    (void)state;
    int32_t hp[11];
    wt_list l;
    wt_file f = build(WHISPER__F16, &l, hp);
    size_t r = f.record_off[0];
    static const struct {
        size_t at;
        int32_t value;
        const char *want;
    } c[] = {
        {0, 0, "n_dims = 0"},        {0, 4, "n_dims = 4"},        {0, -7, "n_dims = -7"},
        {4, 0, "name length 0"},     {4, 129, "name length 129"}, {4, -1, "name length -1"},
        {8, 5, "unknown type 5"},    {8, -1, "unknown type -1"},  {8, 99, "unknown type 99"},
        {12, 0, "ne[0] = 0"},        {16, -1500, "ne[1] = -1500"},
    };
    uint8_t *d = malloc(f.len + 8);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        memcpy(d, f.data, f.len);
        memcpy(d + r + c[i].at, &c[i].value, 4);
        expect_fail(d, f.len, c[i].want, NULL);
    }
    memcpy(d, f.data, f.len);
    d[r + 20 + 3] = '\n'; /* inside the name */
    expect_fail(d, f.len, "name has byte 0x0a", NULL);
    memcpy(d, f.data, f.len);
    d[r + 20 + 3] = 'X';
    expect_fail(d, f.len, "unknown tensor 'encXder.positional_embedding'", NULL);
    /* trailing garbage after a complete model */
    memcpy(d, f.data, f.len);
    memset(d + f.len, 0xab, 8);
    expect_fail(d, f.len + 8, "8 trailing bytes", NULL);
    free(d);
    wt_file_free(&f);
    free(l.t);
}

static void flip_and_load(const wt_file *f, uint8_t *d, size_t at, bool must_fail)
{
    char err[512] = "";
    memcpy(d, f->data, f->len);
    d[at] ^= 0x80;
    int rc = load_mem(d, f->len, err, sizeof err);
    if (rc != WHISPER_OK && strncmp(err, "t.bin: ", 7) != 0)
        fail_msg("flip at %zu: rc %d without a message", at, rc);
    if (must_fail && rc == WHISPER_OK)
        fail_msg("flip at %zu accepted", at);
}

/* Flips the top bit of every byte of the header, the vocabulary and the
 * first tensor records (not their data) one at a time: the loader may
 * accept (a token's bytes), but a rejection always carries the file name
 * and a reason, and a flipped magic, hyper-parameter or record field never
 * passes. */
static void test_byte_flips(void **state)
{
    (void)state;
    int32_t hp[11];
    wt_list l;
    tiny_hp(hp, WHISPER__Q4_0);
    l = wt_tensors(hp, WHISPER__Q4_0);
    wt_file f = wt_build(g_header, g_header_len, hp, 8, &l, 9);
    uint8_t *d = malloc(f.len);
    for (size_t at = 0; at < 56; at++)
        flip_and_load(&f, d, at, true);
    for (size_t at = 56 + 80 * 201 * 4; at < f.record_off[0]; at++)
        flip_and_load(&f, d, at, false);
    for (size_t i = 0; i < 12; i++)
        for (size_t at = f.record_off[i]; at < f.data_off[i]; at++)
            flip_and_load(&f, d, at, true);
    free(d);
    wt_file_free(&f);
    free(l.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_exact),
        cmocka_unit_test(test_row_size),
        cmocka_unit_test(test_dequant_layouts),
        cmocka_unit_test(test_size_names),
        cmocka_unit_test(test_load_every_type),
        cmocka_unit_test(test_misaligned_f32_copied),
        cmocka_unit_test(test_large_v3_layout),
        cmocka_unit_test(test_pyref_generator),
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_foreign_files),
        cmocka_unit_test(test_bad_hparams),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_tensors),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_byte_flips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
