/* test_whisper_exact: the C network (mel, encoder, decoder) against the
 * float64 PyTorch reference (tests/whisper/reference.py) on random-weight
 * models of the `test` dimensions in every weight type, plus the decoder's
 * cache invariants (tokens fed at once or one by one, several sequences,
 * whisper_kv_copy).
 *
 * Everything is generated at test time into a temporary directory: the
 * models (make_model.py), an 8 s synthetic signal (tones, a chirp, noise)
 * and the reference outputs. All Python work runs in one interpreter (a
 * batch script calling the tools' main functions) to keep the test fast.
 * Metric: max |c - ref| / max |ref| over a whole tensor; bounds 1e-4 for f32
 * and for quantized files (the reference dequantizes the same blocks), 1e-2
 * for f16.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ref_compare.h"
#include "whisper/whisper.h"

#define PY REF_PYTHON
#define HEADER CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-tiny.en.bin"
#define HEADER_ML CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-base.bin"
#define N_AUDIO (8 * WHISPER_SAMPLE_RATE)
#define N_TOK 9

static const char *const TYPES[] = {"f32", "f16", "q8_0", "q5_0", "q5_1", "q4_0", "q4_1"};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

typedef struct {
    char dir[256];
    int tokens[N_TOK];
    int tokens_ml[N_TOK]; /* for the multilingual vocabulary */
} fixture;

static void path_of(char *out, size_t cap, const fixture *fx, const char *name)
{
    snprintf(out, cap, "%s/%s", fx->dir, name);
}

/* Deterministic test signal: two tones, a rising chirp and LCG noise under a
 * slow envelope, with a silent second at the end. */
static void make_audio(float *x, int n)
{
    uint32_t seed = 12345;
    for (int i = 0; i < n; i++) {
        double t = (double)i / WHISPER_SAMPLE_RATE;
        seed = seed * 1664525u + 1013904223u;
        double noise = ((double)(seed >> 8) / (double)(1u << 24) - 0.5) * 0.05;
        double env = 0.5 + 0.5 * sin(2 * M_PI * 0.7 * t);
        double chirp = sin(2 * M_PI * (200.0 * t + 250.0 * t * t));
        double v = env * (0.3 * sin(2 * M_PI * 440 * t) + 0.2 * sin(2 * M_PI * 1234.5 * t)) +
                   0.2 * chirp + noise;
        x[i] = t > 7.0 ? 0.0f : (float)v;
    }
}

static void write_batch(const fixture *fx)
{
    char path[512];
    path_of(path, sizeof path, fx, "batch.py");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "import shlex, sys\nsys.path.insert(0, %s)\n"
               "import make_model, reference\n"
               "for line in open(sys.argv[1]):\n"
               "    argv = shlex.split(line)\n"
               "    mod = make_model if argv[0] == 'make' else reference\n"
               "    if mod.main(argv[1:]) != 0:\n"
               "        sys.exit('failed: ' + line)\n",
            "'" CESAR_SOURCE_DIR "/tests/whisper'");
    fclose(f);
    path_of(path, sizeof path, fx, "jobs.txt");
    f = fopen(path, "w");
    assert_non_null(f);
    char tok[256] = "", tok_ml[256] = "";
    for (int i = 0; i < N_TOK; i++) {
        snprintf(tok + strlen(tok), sizeof tok - strlen(tok), "%s%d", i ? "," : "", fx->tokens[i]);
        snprintf(tok_ml + strlen(tok_ml), sizeof tok_ml - strlen(tok_ml), "%s%d", i ? "," : "",
                 fx->tokens_ml[i]);
    }
    for (size_t t = 0; t < N_TYPES; t++) {
        fprintf(f, "make --header %s --out %s/%s.bin --dims test --ftype %s --seed 7\n", HEADER,
                fx->dir, TYPES[t], TYPES[t]);
    }
    fprintf(f, "ref mel --model %s/f32.bin --audio %s/audio.f32 --out %s/mel.f32\n", fx->dir,
            fx->dir, fx->dir);
    for (size_t t = 0; t < N_TYPES; t++) {
        fprintf(f, "ref encode --model %s/%s.bin --mel %s/mel.f32 --out %s/%s.enc\n", fx->dir,
                TYPES[t], fx->dir, fx->dir, TYPES[t]);
        fprintf(f, "ref logits --model %s/%s.bin --mel %s/mel.f32 --tokens %s --out %s/%s.logits\n",
                fx->dir, TYPES[t], fx->dir, tok, fx->dir, TYPES[t]);
    }
    /* the multilingual header (n_vocab 51865), f32 */
    fprintf(f, "make --header %s --out %s/ml.bin --dims test --ftype f32 --seed 3\n", HEADER_ML,
            fx->dir);
    fprintf(f, "ref encode --model %s/ml.bin --mel %s/mel.f32 --out %s/ml.enc\n", fx->dir, fx->dir,
            fx->dir);
    fprintf(f, "ref logits --model %s/ml.bin --mel %s/mel.f32 --tokens %s --out %s/ml.logits\n",
            fx->dir, fx->dir, tok_ml, fx->dir);
    fclose(f);
}

static int group_setup(void **state)
{
    if (ref_run(PY " -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_whisper_exact: %s cannot import torch and numpy; the reference "
                        "needs them (apt install python3-torch python3-numpy)\n", PY);
        return -1;
    }
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/cesar_whisper_exact_XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    /* tiny.en specials: sot, transcribe, <|0.00|>, <|0.40|>, then text */
    int toks[N_TOK] = {50257, 50358, 50363, 50383, 464, 2068, 7586, 21831, 13};
    memcpy(fx->tokens, toks, sizeof toks);
    /* base: sot, <|en|>, transcribe, <|0.00|>, then text */
    int toks_ml[N_TOK] = {50258, 50259, 50359, 50364, 2422, 12876, 8062, 8916, 94};
    memcpy(fx->tokens_ml, toks_ml, sizeof toks_ml);
    float *audio = malloc(N_AUDIO * sizeof *audio);
    if (!audio)
        return -1;
    make_audio(audio, N_AUDIO);
    char path[512], cmd[1536];
    path_of(path, sizeof path, fx, "audio.f32");
    ref_write_f32(path, audio, N_AUDIO);
    free(audio);
    write_batch(fx);
    snprintf(cmd, sizeof cmd, PY " %s/batch.py %s/jobs.txt", fx->dir, fx->dir);
    if (ref_run(cmd) != 0) {
        fprintf(stderr, "test_whisper_exact: generating models/references failed: %s\n", cmd);
        ref_remove_dir(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture *fx = *state;
    if (fx) {
        ref_remove_dir(fx->dir);
        free(fx);
    }
    return 0;
}

static whisper_model *load(const fixture *fx, const char *type)
{
    char path[512], name[64], err[512] = "";
    snprintf(name, sizeof name, "%s.bin", type);
    path_of(path, sizeof path, fx, name);
    whisper_model *m = NULL;
    whisper_load_params lp = whisper_load_default_params();
    int rc = whisper_model_load(&m, path, &lp, err, sizeof err);
    if (rc != WHISPER_OK)
        fail_msg("load %s: %s", path, err);
    return m;
}

static float *ref_mel(const fixture *fx, const whisper_model *m)
{
    char path[512];
    path_of(path, sizeof path, fx, "mel.f32");
    return ref_read_f32(path, (size_t)whisper_model_hparams(m)->n_mels * WHISPER_CHUNK_FRAMES);
}

static void test_mel(void **state)
{
    const fixture *fx = *state;
    whisper_model *m = load(fx, "f32");
    size_t n = (size_t)whisper_model_hparams(m)->n_mels * WHISPER_CHUNK_FRAMES;
    float *ref = ref_mel(fx, m);
    char path[512], err[256] = "";
    path_of(path, sizeof path, fx, "audio.f32");
    float *audio = ref_read_f32(path, N_AUDIO);
    float *c1 = malloc(n * sizeof *c1), *c2 = malloc(n * sizeof *c2);
    assert_non_null(c1);
    assert_non_null(c2);
    assert_int_equal(whisper_mel(m, audio, N_AUDIO, true, WHISPER_CHUNK_FRAMES, 2, c2, err,
                                 sizeof err), WHISPER_OK);
    ref_check_close("mel (2 threads)", c2, ref, n, 1e-4);
    assert_int_equal(whisper_mel(m, audio, N_AUDIO, true, WHISPER_CHUNK_FRAMES, 1, c1, err,
                                 sizeof err), WHISPER_OK);
    ref_check_close("mel (1 thread)", c1, ref, n, 1e-4);
    /* not at the start: frame 0 reads the 200 samples before the pointer, so
     * frames 20.. of the whole signal come out again (same clamp, as the
     * maximum lies in the overlap) */
    const int M = whisper_model_hparams(m)->n_mels, skip = 20, nf = 2000;
    size_t argmax = 0;
    for (size_t i = 0; i < n; i++)
        argmax = c2[i] > c2[argmax] ? i : argmax;
    int fmax = (int)(argmax % WHISPER_CHUNK_FRAMES);
    if (fmax < skip || fmax >= skip + nf)
        fail_msg("precondition: the maximum is at frame %d, outside %d..%d", fmax, skip, skip + nf);
    assert_int_equal(whisper_mel(m, audio + skip * WHISPER_HOP, N_AUDIO - skip * WHISPER_HOP,
                                 false, nf, 2, c1, err, sizeof err), WHISPER_OK);
    for (int mel = 0; mel < M; mel++)
        for (int f = 0; f < nf; f++)
            if (fabsf(c1[(size_t)mel * nf + f] - c2[(size_t)mel * WHISPER_CHUNK_FRAMES + skip + f]) > 1e-5f)
                fail_msg("mel not at start: [%d][%d] = %g, whole-signal frame %d = %g", mel, f,
                         (double)c1[(size_t)mel * nf + f], skip + f,
                         (double)c2[(size_t)mel * WHISPER_CHUNK_FRAMES + skip + f]);
    assert_int_equal(whisper_mel(m, audio, 0, true, 0, 1, c1, err, sizeof err),
                     WHISPER_ERR_INVALID_ARG);
    assert_true(strstr(err, "n_frames") != NULL);
    free(audio);
    free(c1);
    free(c2);
    free(ref);
    whisper_model_free(m);
}

static void check_type(const fixture *fx, const char *type, double bound)
{
    const int *tokens = strcmp(type, "ml") == 0 ? fx->tokens_ml : fx->tokens;
    whisper_model *m = load(fx, type);
    const whisper_hparams *hp = whisper_model_hparams(m);
    char err[512] = "", what[64], path[512], name[64];
    whisper_state *s = NULL;
    assert_int_equal(whisper_state_new(&s, m, 2, 1, err, sizeof err), WHISPER_OK);
    float *mel = ref_mel(fx, m);
    int rc = whisper_encode(s, mel, err, sizeof err);
    if (rc != WHISPER_OK)
        fail_msg("encode %s: %s", type, err);
    size_t n_enc = (size_t)hp->n_audio_ctx * hp->n_audio_state;
    snprintf(name, sizeof name, "%s.enc", type);
    path_of(path, sizeof path, fx, name);
    float *ref = ref_read_f32(path, n_enc);
    snprintf(what, sizeof what, "%s encoder output", type);
    ref_check_close(what, whisper_encoder_output(s), ref, n_enc, bound);
    free(ref);
    size_t n_log = (size_t)N_TOK * hp->n_vocab;
    float *logits = malloc(n_log * sizeof *logits);
    assert_non_null(logits);
    rc = whisper_decode(s, 1, N_TOK, tokens, 0, logits, true, err, sizeof err);
    if (rc != WHISPER_OK)
        fail_msg("decode %s: %s", type, err);
    snprintf(name, sizeof name, "%s.logits", type);
    path_of(path, sizeof path, fx, name);
    ref = ref_read_f32(path, n_log);
    snprintf(what, sizeof what, "%s logits", type);
    ref_check_close(what, logits, ref, n_log, bound);
    free(ref);
    free(logits);
    free(mel);
    whisper_state_free(s);
    whisper_model_free(m);
}

static void test_types(void **state)
{
    for (size_t t = 0; t < N_TYPES; t++)
        check_type(*state, TYPES[t], strcmp(TYPES[t], "f16") == 0 ? 1e-2 : 1e-4);
    check_type(*state, "ml", 1e-4);
}

/* Tokens fed one at a time through the cache, as several sequences, and
 * after copying a cache give the logits of the all-at-once call. */
static void test_cache(void **state)
{
    const fixture *fx = *state;
    whisper_model *m = load(fx, "f16");
    int V = whisper_model_hparams(m)->n_vocab;
    char err[512] = "";
    whisper_state *s = NULL;
    assert_int_equal(whisper_state_new(&s, m, 2, 3, err, sizeof err), WHISPER_OK);
    float *mel = ref_mel(fx, m);
    assert_int_equal(whisper_encode(s, mel, err, sizeof err), WHISPER_OK);
    float *all = malloc((size_t)N_TOK * V * sizeof *all);
    float *step = malloc((size_t)3 * N_TOK * V * sizeof *step);
    assert_non_null(all);
    assert_non_null(step);
    assert_int_equal(whisper_decode(s, 1, N_TOK, fx->tokens, 0, all, true, err, sizeof err),
                     WHISPER_OK);
    for (int i = 0; i < N_TOK; i++)
        assert_int_equal(whisper_decode(s, 1, 1, fx->tokens + i, i, step + (size_t)i * V, false,
                                        err, sizeof err), WHISPER_OK);
    ref_check_close("one by one vs all at once", step, all, (size_t)N_TOK * V, 1e-5);
    /* last-position logits only */
    assert_int_equal(whisper_decode(s, 1, N_TOK, fx->tokens, 0, step, false, err, sizeof err),
                     WHISPER_OK);
    ref_check_close("last logits only", step, all + (size_t)(N_TOK - 1) * V, (size_t)V, 1e-5);
    /* three sequences: prompt of 4, then 5 steps; seq 1 and 2 are copies of seq 0 */
    int prompt[3 * 4];
    for (int q = 0; q < 3; q++)
        memcpy(prompt + q * 4, fx->tokens, 4 * sizeof(int));
    assert_int_equal(whisper_decode(s, 3, 4, prompt, 0, step, false, err, sizeof err), WHISPER_OK);
    for (int q = 0; q < 3; q++)
        ref_check_close("3 sequences, prompt", step + (size_t)q * V, all + (size_t)3 * V,
                        (size_t)V, 1e-5);
    /* seq 2 takes another token at position 4, then gets seq 0's cache back */
    int first[3] = {fx->tokens[4], fx->tokens[4], 50259};
    assert_int_equal(whisper_decode(s, 3, 1, first, 4, step, false, err, sizeof err), WHISPER_OK);
    ref_check_close("seq 0 at position 4", step, all + (size_t)4 * V, (size_t)V, 1e-5);
    ref_check_close("seq 1 at position 4", step + V, all + (size_t)4 * V, (size_t)V, 1e-5);
    assert_true(ref_rel_err(step + 2 * (size_t)V, all + (size_t)4 * V, (size_t)V) > 1e-3);
    whisper_kv_copy(s, 2, 0, 5);
    for (int i = 5; i < N_TOK; i++) {
        int three[3] = {fx->tokens[i], fx->tokens[i], fx->tokens[i]};
        assert_int_equal(whisper_decode(s, 3, 1, three, i, step, false, err, sizeof err), WHISPER_OK);
        for (int q = 0; q < 3; q++)
            ref_check_close("3 sequences, step", step + (size_t)q * V, all + (size_t)i * V,
                            (size_t)V, 1e-5);
    }
    /* a different token in seq 1 changes only seq 1 */
    int mixed[3] = {fx->tokens[5], 464, fx->tokens[5]};
    whisper_kv_copy(s, 0, 2, 5);
    whisper_kv_copy(s, 1, 2, 5);
    assert_int_equal(whisper_decode(s, 3, 1, mixed, 5, step, false, err, sizeof err), WHISPER_OK);
    ref_check_close("seq 0 beside another", step, all + (size_t)5 * V, (size_t)V, 1e-5);
    ref_check_close("seq 2 beside another", step + (size_t)2 * V, all + (size_t)5 * V, (size_t)V,
                    1e-5);
    assert_true(ref_rel_err(step + V, all + (size_t)5 * V, (size_t)V) > 1e-3);
    /* errors */
    assert_int_equal(whisper_decode(s, 4, 1, mixed, 0, step, false, err, sizeof err),
                     WHISPER_ERR_INVALID_ARG);
    assert_true(strstr(err, "n_seq 4") != NULL);
    int bad = V;
    assert_int_equal(whisper_decode(s, 1, 1, &bad, 0, step, false, err, sizeof err),
                     WHISPER_ERR_INVALID_ARG);
    assert_true(strstr(err, "tokens[0]") != NULL);
    free(all);
    free(step);
    free(mel);
    whisper_state_free(s);
    whisper_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mel),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
