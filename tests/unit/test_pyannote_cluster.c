/* test_pyannote_cluster: pyannote 3.1's clustering and reconstruction in C
 * (src/pyannote/cluster*.c, reconstruct*.c) against the float64 NumPy
 * reference tests/pyannote/ref_cluster.py, plus hand-checked cases.
 *
 * The reference writes its cases (random embeddings around K centres with
 * failed and inactive rows, few embeddings, speaker count constraints,
 * exact ties, structured binary segmentations) into a temporary directory;
 * for each, the C dendrogram of the training embeddings must equal the
 * reference's (same merges in the same order, heights equal to the bit:
 * both sides sum in the same order), the
 * C hard clusters must equal the reference's (same label numbering:
 * scipy's fcluster order, ranks of the large clusters), and the
 * C turns computed from the reference's clusters must equal the
 * reference's turns (same speakers, times within 1e-9 s).
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

#include "pyannote/internal.h"
#include "pyannote/pyannote.h"
#include "ref_compare.h"

#define REF CESAR_SOURCE_DIR "/tests/pyannote/ref_cluster.py"
#define FRAME_S ((double)PYANNOTE_FRAME_STEP / PYANNOTE_SAMPLE_RATE)
#define FRAME_D ((double)PYANNOTE_FRAME_DURATION / PYANNOTE_SAMPLE_RATE)

static void *read_all(const char *dir, const char *name, const char *ext, size_t elem,
                      size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    void *buf = ref_read_all(path, n);
    *n /= elem;
    return buf;
}

typedef struct {
    char name[64];
    size_t chunks, frames;
    int local, dim, n_clusters;
    size_t n_turns;
    pyannote_cluster_params p;
    pyannote_timeline_params tp;
    double audio;
} ref_case;

/* The training set as pyannote builds it (active pairs with finite,
 * non-zero embeddings, in chunk-major order), normalised, through the C
 * linkage. */
static void check_linkage(const char *dir, const ref_case *rc, const float *emb,
                          const uint8_t *active)
{
    size_t n_z, pairs = rc->chunks * (size_t)rc->local, n = 0;
    double *zr = read_all(dir, rc->name, "linkage.f64", sizeof(double), &n_z);
    double *x = malloc((pairs ? pairs : 1) * (size_t)rc->dim * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < pairs; i++) {
        const float *e = emb + i * (size_t)rc->dim;
        int ok = active[i], nonzero = 0;
        for (int d = 0; d < rc->dim; d++) {
            ok = ok && isfinite(e[d]);
            nonzero |= e[d] != 0.0f;
        }
        ok = ok && nonzero;
        if (!ok)
            continue;
        double s = 0.0;
        for (int d = 0; d < rc->dim; d++)
            s += (double)e[d] * e[d];
        for (int d = 0; d < rc->dim; d++)
            x[n * (size_t)rc->dim + (size_t)d] = e[d] / sqrt(s);
        n++;
    }
    assert_int_equal(n_z, n >= 2 ? 4 * (n - 1) : 0);
    if (n >= 2) {
        pyannote__merge *z = malloc((n - 1) * sizeof *z);
        char err[128];
        assert_non_null(z);
        assert_int_equal(pyannote__centroid_linkage(x, n, rc->dim, z, err, sizeof err),
                         PYANNOTE_OK);
        for (size_t k = 0; k + 1 < n; k++) {
            const double *r = zr + 4 * k;
            if (z[k].a != (int)r[0] || z[k].b != (int)r[1] || z[k].size != (int)r[3] ||
                z[k].height != r[2])
                fail_msg("%s: merge %zu is (%d, %d, %.17g, %d), reference (%g, %g, %.17g, %g)",
                         rc->name, k, z[k].a, z[k].b, z[k].height, z[k].size, r[0], r[1], r[2],
                         r[3]);
        }
        free(z);
    }
    free(x);
    free(zr);
}

static void check_case(const char *dir, const ref_case *rc)
{
    size_t n_emb, n_bin, n_hard, n_tv;
    float *emb = read_all(dir, rc->name, "emb.f32", sizeof(float), &n_emb);
    int32_t *bin = read_all(dir, rc->name, "binary.i32", sizeof(int32_t), &n_bin);
    int32_t *hard_ref = read_all(dir, rc->name, "hard.i32", sizeof(int32_t), &n_hard);
    double *tv = read_all(dir, rc->name, "turns.f64", sizeof(double), &n_tv);
    size_t pairs = rc->chunks * (size_t)rc->local;
    assert_int_equal(n_emb, pairs * (size_t)rc->dim);
    assert_int_equal(n_bin, pairs * rc->frames);
    assert_int_equal(n_hard, pairs);
    assert_int_equal(n_tv, 3 * rc->n_turns);

    uint8_t *binary = malloc(n_bin), *active = calloc(pairs, 1);
    int *hard = malloc(pairs * sizeof *hard);
    assert_true(binary && active && hard);
    for (size_t c = 0; c < rc->chunks; c++)
        for (size_t f = 0; f < rc->frames; f++)
            for (int s = 0; s < rc->local; s++) {
                size_t i = (c * rc->frames + f) * (size_t)rc->local + (size_t)s;
                binary[i] = (uint8_t)bin[i];
                active[c * (size_t)rc->local + (size_t)s] |= binary[i];
            }
    check_linkage(dir, rc, emb, active);
    char err[256] = "";
    int k = -1;
    int rc_ = pyannote_cluster(emb, active, rc->chunks, rc->local, rc->dim, &rc->p, hard, &k,
                               err, sizeof err);
    if (rc_ != PYANNOTE_OK)
        fail_msg("%s: pyannote_cluster: %s", rc->name, err);
    size_t diff = 0;
    for (size_t i = 0; i < pairs; i++)
        diff += hard[i] != hard_ref[i];
    print_message("  %-8s %4zu pairs, %d clusters (ref %d), %zu labels differ, ", rc->name,
                  pairs, k, rc->n_clusters, diff);
    if (diff)
        fail_msg("%s: %zu hard clusters differ from the reference", rc->name, diff);
    assert_int_equal(k, rc->n_clusters);

    for (size_t i = 0; i < pairs; i++)
        hard[i] = hard_ref[i];
    pyannote_turn *turns = NULL;
    size_t n_turns = 0;
    rc_ = pyannote_reconstruct(binary, rc->chunks, rc->frames, rc->local, hard, rc->n_clusters,
                               &rc->tp, rc->audio, &turns, &n_turns, err, sizeof err);
    if (rc_ != PYANNOTE_OK)
        fail_msg("%s: pyannote_reconstruct: %s", rc->name, err);
    print_message("%zu turns (ref %zu)\n", n_turns, rc->n_turns);
    assert_int_equal(n_turns, rc->n_turns);
    for (size_t i = 0; i < n_turns; i++) {
        if (fabs(turns[i].start - tv[3 * i]) > 1e-9 || fabs(turns[i].end - tv[3 * i + 1]) > 1e-9 ||
            turns[i].speaker != (int)tv[3 * i + 2])
            fail_msg("%s: turn %zu is [%.9f, %.9f] speaker %d, reference [%.9f, %.9f] %d",
                     rc->name, i, turns[i].start, turns[i].end, turns[i].speaker, tv[3 * i],
                     tv[3 * i + 1], (int)tv[3 * i + 2]);
    }
    free(turns);
    free(emb);
    free(bin);
    free(hard_ref);
    free(tv);
    free(binary);
    free(active);
    free(hard);
}

static void test_reference(void **state)
{
    (void)state;
    char dir[] = "/tmp/cesar_pyannote_cluster_XXXXXX";
    if (ref_generate(dir, REF) != 0)
        fail_msg("reference failed in %s", dir);
    char path[600];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *m = fopen(path, "r");
    assert_non_null(m);
    ref_case rc;
    int n_cases = 0;
    while (fscanf(m, "%63s %zu %zu %d %d %lf %d %d %d %d %lf %lf %lf %d %lf %d %zu", rc.name,
                  &rc.chunks, &rc.frames, &rc.local, &rc.dim, &rc.p.threshold,
                  &rc.p.min_cluster_size, &rc.p.min_clusters, &rc.p.max_clusters,
                  &rc.p.num_clusters, &rc.tp.chunk_duration, &rc.tp.chunk_step,
                  &rc.tp.min_duration_off, &rc.tp.max_speakers, &rc.audio, &rc.n_clusters,
                  &rc.n_turns) == 17) {
        check_case(dir, &rc);
        n_cases++;
    }
    fclose(m);
    assert_true(n_cases >= 10);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(ref_run(cmd), 0);
}

/* ---- hand-checked cases ------------------------------------------------------ */

static int cluster_points(const float *emb, size_t n, int dim, const pyannote_cluster_params *p,
                          int *hard)
{
    uint8_t *active = malloc(n);
    assert_non_null(active);
    memset(active, 1, n);
    int k = -1;
    char err[256];
    int rc = pyannote_cluster(emb, active, n, 1, dim, p, hard, &k, err, sizeof err);
    free(active);
    if (rc != PYANNOTE_OK)
        fail_msg("pyannote_cluster: %s", err);
    return k;
}

/* Two tight pairs far apart: merged within pairs (distance ~0.1), not
 * across (~1.3 > 0.7); the pair holding point 0 is cluster 0. */
static void test_two_clusters(void **state)
{
    (void)state;
    pyannote_cluster_params p = pyannote_cluster_default_params();
    const float a[] = {1, 0, 1, 0.1f, 0, 1, 0.1f, 1};
    int hard[4];
    assert_int_equal(cluster_points(a, 4, 2, &p, hard), 2);
    assert_int_equal(hard[0], 0);
    assert_int_equal(hard[1], 0);
    assert_int_equal(hard[2], 1);
    assert_int_equal(hard[3], 1);
    const float b[] = {0, 1, 1, 0, 0.1f, 1, 1, 0.1f};
    assert_int_equal(cluster_points(b, 4, 2, &p, hard), 2);
    assert_int_equal(hard[0], 0);
    assert_int_equal(hard[1], 1);
    assert_int_equal(hard[2], 0);
    assert_int_equal(hard[3], 1);
    /* a threshold above every distance: one cluster */
    p.threshold = 2.0;
    assert_int_equal(cluster_points(a, 4, 2, &p, hard), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(hard[i], 0);
}

/* n_a points near (1, 0, 0) and n_b near (0, 1, 0): the second group
 * survives as a speaker only if it reaches min(12, round(0.1 n)). */
static int groups(int n_a, int n_b)
{
    int n = n_a + n_b;
    float *e = calloc((size_t)n * 3, sizeof *e);
    int *hard = malloc((size_t)n * sizeof *hard);
    assert_true(e && hard);
    for (int i = 0; i < n; i++) {
        e[3 * i + (i < n_a ? 0 : 1)] = 1.0f;
        e[3 * i + 2] = 0.01f * (float)(i % 5);
    }
    pyannote_cluster_params p = pyannote_cluster_default_params();
    int k = cluster_points(e, (size_t)n, 3, &p, hard);
    free(e);
    free(hard);
    return k;
}

static void test_min_cluster_size(void **state)
{
    (void)state;
    assert_int_equal(groups(14, 1), 1);  /* 15: round(1.5) = 2 */
    assert_int_equal(groups(13, 2), 2);
    assert_int_equal(groups(23, 2), 2);  /* 25: round(2.5) = 2, half to even */
    assert_int_equal(groups(22, 3), 2);
    assert_int_equal(groups(32, 3), 1);  /* 35: round(3.5000000000000004) = 4 */
    assert_int_equal(groups(31, 4), 2);
    assert_int_equal(groups(200, 11), 1); /* capped at 12 */
    assert_int_equal(groups(200, 12), 2);
}

/* Three tight groups of ten: the threshold finds 3; num/max force fewer. */
static void test_num_clusters(void **state)
{
    (void)state;
    float e[30 * 4] = {0};
    int hard[30];
    for (int i = 0; i < 30; i++) {
        e[4 * i + i / 10] = 1.0f;
        e[4 * i + 3] = 0.02f * (float)(i % 7);
    }
    pyannote_cluster_params p = pyannote_cluster_default_params();
    assert_int_equal(cluster_points(e, 30, 4, &p, hard), 3);
    p.num_clusters = 2;
    assert_int_equal(cluster_points(e, 30, 4, &p, hard), 2);
    p.num_clusters = 1;
    assert_int_equal(cluster_points(e, 30, 4, &p, hard), 1);
    p.num_clusters = 0;
    p.max_clusters = 2;
    assert_int_equal(cluster_points(e, 30, 4, &p, hard), 2);
    p.max_clusters = 0;
    p.min_clusters = 3;
    assert_int_equal(cluster_points(e, 30, 4, &p, hard), 3);
}

/* 13 x A, 13 x B and one point exactly between them, too far from both to
 * merge below the threshold: a small cluster at equal cosine distance from
 * both large ones joins the first (pyannote's argmin), which then owns it
 * at assignment (its centroid moved towards it). */
static void test_tie_small_cluster(void **state)
{
    (void)state;
    float e[27 * 3] = {0};
    int hard[27];
    for (int i = 0; i < 26; i++)
        e[3 * i + (i < 13 ? 0 : 1)] = 1.0f;
    e[3 * 26] = e[3 * 26 + 1] = 1.0f;
    pyannote_cluster_params p = pyannote_cluster_default_params();
    assert_int_equal(cluster_points(e, 27, 3, &p, hard), 2);
    assert_int_equal(hard[26], 0);
    assert_int_not_equal(hard[0], hard[13]);
}

static void test_all_inactive(void **state)
{
    (void)state;
    float emb[4 * 3 * 8];
    for (size_t i = 0; i < sizeof emb / sizeof emb[0]; i++)
        emb[i] = NAN;
    uint8_t active[12] = {0};
    int hard[12];
    int k = -1;
    char err[128];
    pyannote_cluster_params p = pyannote_cluster_default_params();
    assert_int_equal(pyannote_cluster(emb, active, 4, 3, 8, &p, hard, &k, err, sizeof err),
                     PYANNOTE_OK);
    assert_int_equal(k, 0);
    for (int i = 0; i < 12; i++)
        assert_int_equal(hard[i], -2);
    uint8_t *bin = calloc(4 * 589 * 3, 1);
    assert_non_null(bin);
    pyannote_timeline_params tp = pyannote_timeline_default_params();
    pyannote_turn *turns = (pyannote_turn *)&k;
    size_t n = 99;
    assert_int_equal(pyannote_reconstruct(bin, 4, 589, 3, hard, 0, &tp, 13.0, &turns, &n, err,
                                          sizeof err),
                     PYANNOTE_OK);
    assert_int_equal(n, 0);
    free(turns);
    free(bin);
}

/* One chunk, one speaker active on frames 10..19: one embedding (no
 * clustering), one turn between the middles of frames 10 and 20. */
static void test_one_chunk(void **state)
{
    (void)state;
    float emb[3 * 4] = {1, 2, 3, 4, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    uint8_t active[3] = {1, 0, 0};
    int hard[3], k = -1;
    char err[128];
    pyannote_cluster_params p = pyannote_cluster_default_params();
    assert_int_equal(pyannote_cluster(emb, active, 1, 3, 4, &p, hard, &k, err, sizeof err),
                     PYANNOTE_OK);
    assert_int_equal(k, 1);
    assert_int_equal(hard[0], 0);
    assert_int_equal(hard[1], -2);
    assert_int_equal(hard[2], -2);
    uint8_t *bin = calloc(589 * 3, 1);
    assert_non_null(bin);
    for (int f = 10; f < 20; f++)
        bin[f * 3] = 1;
    pyannote_timeline_params tp = pyannote_timeline_default_params();
    pyannote_turn *turns = NULL;
    size_t n = 0;
    assert_int_equal(pyannote_reconstruct(bin, 1, 589, 3, hard, k, &tp, 10.0, &turns, &n, err,
                                          sizeof err),
                     PYANNOTE_OK);
    assert_int_equal(n, 1);
    assert_true(fabs(turns[0].start - (10 * FRAME_S + FRAME_D / 2)) < 1e-12);
    assert_true(fabs(turns[0].end - (20 * FRAME_S + FRAME_D / 2)) < 1e-12);
    assert_int_equal(turns[0].speaker, 0);
    free(turns);
    /* clipped by the audio's end */
    turns = NULL;
    assert_int_equal(pyannote_reconstruct(bin, 1, 589, 3, hard, k, &tp, 0.25, &turns, &n, err,
                                          sizeof err),
                     PYANNOTE_OK);
    assert_int_equal(n, 1);
    assert_true(turns[0].end == 0.25);
    free(turns);
    free(bin);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    float emb[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    uint8_t active[4] = {1, 1, 1, 1};
    int hard[4], k;
    char err[256];
    pyannote_cluster_params p = pyannote_cluster_default_params();
    err[0] = 0;
    assert_int_equal(pyannote_cluster(NULL, active, 4, 1, 2, &p, hard, &k, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "NULL"));
    assert_int_equal(pyannote_cluster(emb, active, 4, 0, 2, &p, hard, &k, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "shape"));
    p.min_clusters = 3;
    p.max_clusters = 2;
    err[0] = 0;
    assert_int_equal(pyannote_cluster(emb, active, 4, 1, 2, &p, hard, &k, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "min_clusters 3"));
    p = pyannote_cluster_default_params();
    p.threshold = NAN;
    assert_int_equal(pyannote_cluster(emb, active, 4, 1, 2, &p, hard, &k, err, sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "threshold"));

    uint8_t bin[2 * 4] = {0};
    int hc[2] = {0, 3};
    pyannote_timeline_params tp = pyannote_timeline_default_params();
    pyannote_turn *turns;
    size_t n;
    err[0] = 0;
    assert_int_equal(pyannote_reconstruct(bin, 1, 4, 2, hc, 2, &tp, 10.0, &turns, &n, err,
                                          sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "hard_clusters[1] = 3"));
    hc[1] = -2;
    tp.chunk_step = 0.0;
    assert_int_equal(pyannote_reconstruct(bin, 1, 4, 2, hc, 2, &tp, 10.0, &turns, &n, err,
                                          sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_non_null(strstr(err, "chunk"));
    tp = pyannote_timeline_default_params();
    assert_int_equal(pyannote_reconstruct(bin, 1, 4, 2, hc, 2, &tp, NAN, &turns, &n, err,
                                          sizeof err),
                     PYANNOTE_ERR_INVALID);
    assert_int_equal(pyannote_reconstruct(NULL, 1, 4, 2, hc, 2, &tp, 1.0, &turns, &n, err,
                                          sizeof err),
                     PYANNOTE_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_clusters),     cmocka_unit_test(test_min_cluster_size),
        cmocka_unit_test(test_num_clusters),     cmocka_unit_test(test_tie_small_cluster),
        cmocka_unit_test(test_all_inactive),
        cmocka_unit_test(test_one_chunk),        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
