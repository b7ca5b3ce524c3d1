/* test_pyannote_embed: the C speaker-embedding network (fbank, ResNet34,
 * weighted statistics pooling, seg_1) against the float64 PyTorch reference
 * tests/pyannote/ref_embedding.py, on random weights of the real sizes.
 *
 * The reference writes, into a temporary directory, a checkpoint, three
 * chunks (10 s, 3 s and one just above the minimum length) with six masks
 * each (binary runs, fractional weights, all zero, all one, a lone frame,
 * soft weights) and the expected features and embeddings. Metric:
 * max |c - ref| / max |ref| over a whole tensor, bound 1e-4. Also: thread
 * counts give bit-identical results, too-short input and broken
 * checkpoints are refused with messages naming the value or tensor.
 * embed_rel_err() runs the comparison for any CESAR_PYANNOTE_GEMM mode, for
 * the tests of the other matrix paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/internal.h"
#include "pyannote/pyannote.h"
#include "ref_compare.h"
#include "util/util.h"

#define REF CESAR_SOURCE_DIR "/tests/pyannote/ref_embedding.py"
#define MAX_CHUNKS 4
#define BOUND 1e-4

typedef struct {
    char name[32];
    size_t n_samples, n_masks, n_mask_frames;
} chunk_info;

typedef struct {
    char dir[256];
    chunk_info chunk[MAX_CHUNKS];
    int n_chunks;
} fixture;

static void path_of(char *out, size_t cap, const fixture *fx, const char *name,
                    const char *suffix)
{
    snprintf(out, cap, "%s/%s%s", fx->dir, name, suffix);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/cesar_embed_XXXXXX");
    if (ref_generate(fx->dir, REF) != 0)
        fail_msg("reference generation failed in %s", fx->dir);
    char path[512];
    path_of(path, sizeof path, fx, "chunks", ".txt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    chunk_info *c = fx->chunk;
    while (fx->n_chunks < MAX_CHUNKS &&
           fscanf(f, "%31s %zu %zu %zu", c->name, &c->n_samples, &c->n_masks,
                  &c->n_mask_frames) == 4) {
        fx->n_chunks++;
        c++;
    }
    fclose(f);
    assert_int_equal(fx->n_chunks, 3);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    ref_remove_dir(fx->dir);
    free(fx);
    return 0;
}

/* Embeddings of chunk c by e: the caller frees the result. */
static float *embed_chunk(const fixture *fx, const chunk_info *c, pyannote_embedder *e,
                          int n_threads)
{
    char path[512];
    path_of(path, sizeof path, fx, c->name, ".f32");
    float *wav = ref_read_f32(path, c->n_samples);
    path_of(path, sizeof path, fx, c->name, "_masks.f32");
    float *masks = ref_read_f32(path, c->n_masks * c->n_mask_frames);
    float *out = malloc(c->n_masks * PYANNOTE_EMBEDDING_DIM * sizeof *out);
    assert_non_null(out);
    char err[256] = "";
    int rc = pyannote_embed(e, wav, c->n_samples, masks, c->n_masks, c->n_mask_frames,
                            n_threads, out, err, sizeof err);
    if (rc != PYANNOTE_OK)
        fail_msg("pyannote_embed(%s): %d %s", c->name, rc, err);
    free(wav);
    free(masks);
    return out;
}

/* The reference's checkpoint opened with the matrix products in mode (a
 * CESAR_PYANNOTE_GEMM value: "f32", "bf16x3", "bf16"; NULL: the default),
 * which the handle reads once, at open; the test fails if it does not open. */
static pyannote_embedder *open_embedder(const fixture *fx, const char *mode)
{
    char path[512], err[256] = "";
    path_of(path, sizeof path, fx, "emb", ".ckpt");
    if (mode)
        setenv("CESAR_PYANNOTE_GEMM", mode, 1);
    pyannote_embedder *e = NULL;
    int rc = pyannote_embedder_open(&e, path, err, sizeof err);
    if (mode)
        unsetenv("CESAR_PYANNOTE_GEMM");
    if (rc != PYANNOTE_OK)
        fail_msg("open %s: %d %s", path, rc, err);
    return e;
}

/* The largest relative error over the chunks with the matrix products in
 * mode. */
static double embed_rel_err(const fixture *fx, const char *mode, int n_threads)
{
    pyannote_embedder *e = open_embedder(fx, mode);
    char path[512];
    double worst = 0.0;
    for (int i = 0; i < fx->n_chunks; i++) {
        const chunk_info *c = &fx->chunk[i];
        float *out = embed_chunk(fx, c, e, n_threads);
        path_of(path, sizeof path, fx, c->name, "_emb.f32");
        float *ref = ref_read_f32(path, c->n_masks * PYANNOTE_EMBEDDING_DIM);
        double r = ref_rel_err(out, ref, c->n_masks * PYANNOTE_EMBEDDING_DIM);
        printf("embeddings %s [%s, %d threads]: rel err %.3g\n", c->name, mode, n_threads, r);
        worst = r > worst ? r : worst;
        free(out);
        free(ref);
    }
    pyannote_embedder_close(e);
    return worst;
}

static void test_fbank(void **state)
{
    const fixture *fx = *state;
    pyannote__emb_fbank_tables *t = malloc(sizeof *t);
    assert_non_null(t);
    pyannote__emb_fbank_init(t);
    for (int i = 0; i < fx->n_chunks; i++) {
        const chunk_info *c = &fx->chunk[i];
        size_t frames = pyannote__emb_fbank_frames(c->n_samples);
        assert_int_equal(frames, 1 + (c->n_samples - 400) / 160);
        char path[512];
        path_of(path, sizeof path, fx, c->name, ".f32");
        float *wav = ref_read_f32(path, c->n_samples);
        path_of(path, sizeof path, fx, c->name, "_fbank.f32");
        float *ref = ref_read_f32(path, 80 * frames);
        float *out = malloc(80 * frames * sizeof *out);
        assert_non_null(out);
        pyannote__emb_fbank(t, wav, c->n_samples, out, NULL, 1);
        double r = ref_rel_err(out, ref, 80 * frames);
        printf("fbank %s (%zu frames): rel err %.3g\n", c->name, frames, r);
        assert_true(r < BOUND);
        /* frames and bins spread over threads: the same bits */
        float *out3 = malloc(80 * frames * sizeof *out3);
        assert_non_null(out3);
        pyannote__emb_fbank(t, wav, c->n_samples, out3, NULL, 3);
        assert_memory_equal(out, out3, 80 * frames * sizeof *out);
        free(out3);
        free(wav);
        free(ref);
        free(out);
    }
    assert_int_equal(pyannote__emb_fbank_frames(399), 0);
    assert_int_equal(pyannote__emb_fbank_frames(400), 1);
    assert_int_equal(pyannote__emb_fbank_frames(160000), 998);
    assert_int_equal(pyannote__emb_trunk_frames(998), 125);
    assert_int_equal(pyannote__emb_trunk_frames(1), 1);
    free(t);
}

static void test_embed_f32(void **state)
{
    double r = embed_rel_err(*state, "f32", 2);
    assert_true(r < BOUND);
}

/* The AMX paths where the machine has them: bf16x3 keeps about float32
 * accuracy; plain bf16 is only reported. */
static void test_embed_amx(void **state)
{
    if (pyannote__gemm_resolve(PYANNOTE__GEMM_BF16X3) != PYANNOTE__GEMM_BF16X3) {
        printf("no AMX here: skipped\n");
        return;
    }
    double r = embed_rel_err(*state, "bf16x3", 2);
    assert_true(r < BOUND);
    printf("bf16: rel err %.3g\n", embed_rel_err(*state, "bf16", 2));
}

/* Each output element is computed the same way whatever the thread count. */
static void test_threads_identical(void **state)
{
    const fixture *fx = *state;
    pyannote_embedder *e = open_embedder(fx, NULL);
    const chunk_info *c = &fx->chunk[0];
    float *one = embed_chunk(fx, c, e, 1);
    float *two = embed_chunk(fx, c, e, 2);
    float *three = embed_chunk(fx, c, e, 3);
    /* the handle's pool now has two helpers, of which this call enlists one */
    float *again = embed_chunk(fx, c, e, 2);
    size_t bytes = c->n_masks * PYANNOTE_EMBEDDING_DIM * sizeof *one;
    assert_memory_equal(one, two, bytes);
    assert_memory_equal(one, three, bytes);
    assert_memory_equal(one, again, bytes);
    free(one);
    free(two);
    free(three);
    free(again);
    pyannote_embedder_close(e);
}

/* pyannote 3.1 guards both denominators with 1e-8: a mask that is zero
 * everywhere (or whose lone active frame the resizing skips) pools to
 * zeros, so its embedding is exactly seg_1's bias, the same for both. When
 * every mask is zero the network is skipped: the result must be bit for
 * bit the one computed with the network (mask 2 of the chunk is zero). */
static void test_zero_mask(void **state)
{
    const fixture *fx = *state;
    pyannote_embedder *e = open_embedder(fx, NULL);
    char path[512], err[256] = "";
    const chunk_info *c = &fx->chunk[1];
    path_of(path, sizeof path, fx, c->name, ".f32");
    float *wav = ref_read_f32(path, c->n_samples);
    float *masks = calloc(2 * c->n_mask_frames, sizeof *masks);
    float out[2 * PYANNOTE_EMBEDDING_DIM];
    assert_non_null(masks);
    masks[c->n_mask_frames + 1] = 1.0f; /* frame 1 of 177 maps to no trunk frame */
    assert_int_equal(pyannote_embed(e, wav, c->n_samples, masks, 2, c->n_mask_frames, 1, out,
                                    err, sizeof err),
                     PYANNOTE_OK);
    for (int i = 0; i < PYANNOTE_EMBEDDING_DIM; i++)
        assert_true(isfinite(out[i]));
    assert_memory_equal(out, out + PYANNOTE_EMBEDDING_DIM, sizeof out / 2);
    float *full = embed_chunk(fx, c, e, 2);
    assert_memory_equal(out, full + 2 * PYANNOTE_EMBEDDING_DIM, sizeof out / 2);
    free(full);
    free(wav);
    free(masks);
    pyannote_embedder_close(e);
}

static void test_resize_mask(void **state)
{
    (void)state;
    float in[589], out[125];
    for (int i = 0; i < 589; i++)
        in[i] = (float)i;
    pyannote__emb_resize_mask(in, 589, out, 125);
    /* floor(i * 4.712f): 0, 4, 9, ..., 584 for i = 124 */
    assert_true(out[0] == 0.0f && out[1] == 4.0f && out[2] == 9.0f && out[124] == 584.0f);
    float two[3] = {1, 2, 3}, six[6];
    pyannote__emb_resize_mask(two, 3, six, 6);
    assert_true(six[0] == 1 && six[1] == 1 && six[4] == 3 && six[5] == 3);
}

static void test_short_and_args(void **state)
{
    pyannote_embedder *e = open_embedder(*state, NULL);
    char err[256] = "";
    size_t min = pyannote_embedder_min_samples(e);
    assert_int_equal(min, 400);
    float *wav = calloc(min, sizeof *wav);
    assert_non_null(wav);
    for (size_t i = 0; i < min; i++)
        wav[i] = 0.3f * sinf(0.05f * (float)i);
    float mask[3] = {1.0f, 0.5f, 1.0f}, out[PYANNOTE_EMBEDDING_DIM];
    assert_int_equal(pyannote_embed(e, wav, min - 1, mask, 1, 3, 1, out, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "399 samples"));
    assert_int_equal(pyannote_embed(e, wav, min, mask, 1, 0, 1, out, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_int_equal(pyannote_embed(e, wav, min, mask, 1, 3, 1, out, err, sizeof err),
                     PYANNOTE_OK);
    for (int i = 0; i < PYANNOTE_EMBEDDING_DIM; i++)
        assert_true(isfinite(out[i]));
    free(wav);
    pyannote_embedder_close(e);
}

static void expect_model_error(const fixture *fx, const char *file, const char *needle)
{
    char path[512], err[512] = "";
    path_of(path, sizeof path, fx, file, "");
    pyannote_embedder *e = (pyannote_embedder *)1;
    int rc = pyannote_embedder_open(&e, path, err, sizeof err);
    printf("%s: %s\n", file, err);
    assert_int_equal(rc, PYANNOTE_ERR_MODEL);
    assert_null(e);
    assert_non_null(strstr(err, needle));
}

static void test_bad_checkpoints(void **state)
{
    const fixture *fx = *state;
    expect_model_error(fx, "bad_missing.ckpt", "resnet.layer3.2.bn1.running_var");
    expect_model_error(fx, "bad_shape.ckpt", "resnet.layer2.0.shortcut.0.weight");
    expect_model_error(fx, "no_such.ckpt", "no_such.ckpt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fbank),
        cmocka_unit_test(test_embed_f32),
        cmocka_unit_test(test_embed_amx),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_zero_mask),
        cmocka_unit_test(test_resize_mask),
        cmocka_unit_test(test_short_and_args),
        cmocka_unit_test(test_bad_checkpoints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
