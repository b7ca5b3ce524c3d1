/* test_ckpt: the PyTorch checkpoint reader (src/ckpt) on files torch.save
 * wrote at test time (tests/pyannote/make_ckpt_cases.py): plain and
 * Lightning state dicts, every floating dtype, strided views, shared
 * storages, scalars, int64 buffers, deflated / renamed / zip64 archives,
 * then damaged and hostile files (each refused with its error code and a
 * message naming the fault), truncations at every length and flipped bytes
 * (never a crash: ASan/UBSan in CI), and files that are no checkpoint.
 * Values must equal torch's own float32 conversion bit for bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ref_compare.h"

#define MAKE_CASES CESAR_SOURCE_DIR "/tests/pyannote/make_ckpt_cases.py"

static char g_dir[256];

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static unsigned char *slurp(const char *name, size_t *size)
{
    char path[512];
    path_of(path, sizeof path, name);
    return ref_read_all(path, size);
}

static ckpt_file *open_ok(const char *name)
{
    char path[512], err[512] = "";
    path_of(path, sizeof path, name);
    ckpt_file *f = NULL;
    int rc = ckpt_open(&f, path, err, sizeof err);
    if (rc != CKPT_OK)
        fail_msg("%s: %s", name, err);
    assert_non_null(f);
    return f;
}

/* The tensor equals the float32 values torch wrote to RAWNAME, bit for bit. */
static void check_values(const ckpt_file *f, const char *tname, const char *rawname)
{
    const ckpt_tensor *t = ckpt_find(f, tname);
    assert_non_null(t);
    size_t n = 0;
    unsigned char *want = slurp(rawname, &n);
    assert_int_equal(n, (size_t)t->numel * sizeof(float));
    float *got = malloc(n + sizeof(float));
    assert_non_null(got);
    char err[512] = "";
    int rc = ckpt_read_f32(f, tname, t->ndim, t->shape, got, (size_t)t->numel, err, sizeof err);
    if (rc != CKPT_OK)
        fail_msg("%s: %s", tname, err);
    if (memcmp(got, want, n) != 0)
        fail_msg("tensor '%s' differs from torch's values", tname);
    free(got);
    free(want);
}

static int group_setup(void **state)
{
    (void)state;
    if (ref_run(REF_PYTHON " -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_ckpt: %s cannot import torch; the test cases need it\n",
                REF_PYTHON);
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/cesar_ckpt_XXXXXX");
    return ref_generate(g_dir, MAKE_CASES);
}

static int group_teardown(void **state)
{
    (void)state;
    ref_remove_dir(g_dir);
    return 0;
}

/* ---- good files -------------------------------------------------------- */

static void check_plain(const char *file)
{
    ckpt_file *f = open_ok(file);
    assert_int_equal(ckpt_count(f), 2);
    assert_string_equal(ckpt_tensor_at(f, 0)->name, "conv.weight");
    assert_string_equal(ckpt_tensor_at(f, 1)->name, "conv.bias");
    assert_null(ckpt_tensor_at(f, 2));
    const int64_t shape[3] = {4, 3, 5};
    float w[60];
    char err[256];
    assert_int_equal(ckpt_read_f32(f, "conv.weight", 3, shape, w, 60, err, sizeof err), CKPT_OK);
    check_values(f, "conv.weight", "plain.conv.weight.f32");
    check_values(f, "conv.bias", "plain.conv.bias.f32");
    ckpt_close(f);
}

static void test_plain(void **state)
{
    (void)state;
    check_plain("plain.pt");
    check_plain("proto4.pt");
}

/* The table follows manifest.txt (order, dtype, shape) and every float
 * tensor holds torch's values. */
static void check_lightning(const char *file)
{
    ckpt_file *f = open_ok(file);
    char path[512], line[512];
    path_of(path, sizeof path, "manifest.txt");
    FILE *m = fopen(path, "r");
    assert_non_null(m);
    size_t i = 0;
    while (fgets(line, sizeof line, m)) {
        char name[256], dtype[32];
        int ndim = 0, used = 0;
        assert_int_equal(sscanf(line, "%255s %31s %d%n", name, dtype, &ndim, &used), 3);
        const ckpt_tensor *t = ckpt_tensor_at(f, i++);
        assert_non_null(t);
        assert_string_equal(t->name, name);
        assert_string_equal(ckpt_dtype_name(t->dtype), dtype);
        assert_int_equal(t->ndim, ndim);
        int64_t numel = 1;
        for (int d = 0; d < ndim; d++) {
            long long e = 0;
            int k = 0;
            assert_int_equal(sscanf(line + used, "%lld%n", &e, &k), 1);
            used += k;
            assert_int_equal(t->shape[d], e);
            numel *= e;
        }
        assert_int_equal(t->numel, numel);
        if (t->dtype != CKPT_INT64 && t->dtype != CKPT_BOOL) {
            char raw[300];
            snprintf(raw, sizeof raw, "%s.f32", name);
            check_values(f, name, raw);
        }
    }
    fclose(m);
    assert_int_equal(ckpt_count(f), i);
    ckpt_close(f);
}

static void test_lightning(void **state)
{
    (void)state;
    check_lightning("lightning.ckpt");
}

static void test_repacked(void **state)
{
    (void)state;
    check_lightning("deflate.ckpt");
    check_lightning("renamed.ckpt");
    check_lightning("zip64.ckpt");
}

static void test_memory(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *bytes = slurp("lightning.ckpt", &n);
    ckpt_file *f = NULL;
    char err[512] = "";
    assert_int_equal(ckpt_open_memory(&f, bytes, n, "mem.ckpt", err, sizeof err), CKPT_OK);
    float x[4];
    assert_int_equal(ckpt_read_f32(f, "nope", -1, NULL, x, 1, err, sizeof err),
                     CKPT_ERR_NOT_FOUND);
    assert_string_equal(err, "mem.ckpt: no tensor 'nope'");
    assert_int_equal(ckpt_read_f32(f, "param", 2, NULL, x, 4, err, sizeof err), CKPT_OK);
    ckpt_close(f);
    free(bytes);
}

/* ---- reading errors ---------------------------------------------------- */

static void test_int64_refused(void **state)
{
    (void)state;
    ckpt_file *f = open_ok("lightning.ckpt");
    const ckpt_tensor *t = ckpt_find(f, "bn.num_batches_tracked");
    assert_non_null(t);
    assert_int_equal(t->dtype, CKPT_INT64);
    assert_int_equal(t->ndim, 0);
    assert_int_equal(t->numel, 1);
    float x;
    char err[512] = "";
    assert_int_equal(ckpt_read_f32(f, t->name, -1, NULL, &x, 1, err, sizeof err),
                     CKPT_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "'bn.num_batches_tracked' is int64"));
    float m3[3];
    assert_int_equal(ckpt_find(f, "mask")->dtype, CKPT_BOOL);
    assert_int_equal(ckpt_read_f32(f, "mask", 1, NULL, m3, 3, err, sizeof err),
                     CKPT_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "'mask' is bool"));
    ckpt_close(f);
}

static void test_shape_errors(void **state)
{
    (void)state;
    ckpt_file *f = open_ok("lightning.ckpt");
    float buf[96];
    char err[512] = "", want[600];
    const int64_t wrong[2] = {8, 13}, any[2] = {-1, 12}, scalar_shape[1] = {1};
    assert_int_equal(ckpt_read_f32(f, "linear.0.weight", 2, wrong, buf, 96, err, sizeof err),
                     CKPT_ERR_SHAPE);
    snprintf(want, sizeof want,
             "%s/lightning.ckpt: tensor 'linear.0.weight' has shape [8, 12], expected [8, 13]",
             g_dir);
    assert_string_equal(err, want);
    assert_int_equal(ckpt_read_f32(f, "linear.0.weight", 3, NULL, buf, 96, err, sizeof err),
                     CKPT_ERR_SHAPE);
    assert_non_null(strstr(err, "has shape [8, 12]"));
    assert_int_equal(ckpt_read_f32(f, "linear.0.weight", 2, any, buf, 96, err, sizeof err),
                     CKPT_OK);
    assert_int_equal(ckpt_read_f32(f, "linear.0.weight", -1, NULL, buf, 95, err, sizeof err),
                     CKPT_ERR_SHAPE);
    assert_int_equal(ckpt_read_f32(f, "scalar", 1, scalar_shape, buf, 1, err, sizeof err),
                     CKPT_ERR_SHAPE);
    assert_int_equal(ckpt_read_f32(f, "scalar", 0, NULL, buf, 1, err, sizeof err), CKPT_OK);
    assert_true(buf[0] == 3.25f);
    assert_int_equal(ckpt_read_f32(f, "empty", 2, NULL, buf, 0, err, sizeof err), CKPT_OK);
    assert_null(ckpt_find(f, "missing"));
    assert_int_equal(ckpt_read_f32(f, "missing", -1, NULL, buf, 1, err, sizeof err),
                     CKPT_ERR_NOT_FOUND);
    snprintf(want, sizeof want, "%s/lightning.ckpt: no tensor 'missing'", g_dir);
    assert_string_equal(err, want);
    ckpt_close(f);
}

/* ---- refused files ----------------------------------------------------- */

static void expect_refused(const char *name, int code, const char *fragment)
{
    char path[512], err[512] = "";
    path_of(path, sizeof path, name);
    ckpt_file *f = (ckpt_file *)&err; /* must be reset to NULL */
    int rc = ckpt_open(&f, path, err, sizeof err);
    if (rc != code || !strstr(err, fragment))
        fail_msg("%s: got %d '%s', expected %d '...%s...'", name, rc, err, code, fragment);
    assert_null(f);
    assert_true(strncmp(err, path, strlen(path)) == 0);
}

static void test_bad_files(void **state)
{
    (void)state;
    char path[512], line[512];
    path_of(path, sizeof path, "bad.txt");
    FILE *m = fopen(path, "r");
    assert_non_null(m);
    int cases = 0;
    while (fgets(line, sizeof line, m)) {
        char name[256];
        int code = 0, used = 0;
        assert_int_equal(sscanf(line, "%255s %d %n", name, &code, &used), 2);
        line[strcspn(line, "\n")] = '\0';
        expect_refused(name, code, line + used);
        cases++;
    }
    fclose(m);
    assert_true(cases >= 15);
}

static void write_file(const char *name, const void *data, size_t n)
{
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_not_checkpoints(void **state)
{
    (void)state;
    static const unsigned char wav[44] = "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"
                                         "\x01\x00\x01\x00\x80\x3e\x00\x00";
    static const unsigned char ggml[64] = "lmgg\x00\x00\x00\x01";
    write_file("empty.bin", "", 0);
    write_file("audio.wav", wav, sizeof wav);
    write_file("model.ggml", ggml, sizeof ggml);
    write_file("pk.zip", "PK\x05\x06", 4);
    expect_refused("empty.bin", CKPT_ERR_FORMAT, "empty file");
    expect_refused("audio.wav", CKPT_ERR_FORMAT, "not a zip checkpoint");
    expect_refused("model.ggml", CKPT_ERR_FORMAT, "not a zip checkpoint");
    expect_refused("pk.zip", CKPT_ERR_FORMAT, "not a zip checkpoint");
    char dir[512];
    path_of(dir, sizeof dir, "adir");
    assert_int_equal(mkdir(dir, 0755), 0);
    expect_refused("adir", CKPT_ERR_IO, "not a regular file");
    expect_refused("does-not-exist", CKPT_ERR_IO, "cannot open");
    /* a zip without data.pkl: the seeds' plain file minus nothing is fine;
     * build one from a good archive by renaming its pickle in place */
    size_t n = 0;
    unsigned char *b = slurp("plain.pt", &n);
    for (size_t i = 0; i + 8 <= n; i++)
        if (memcmp(b + i, "data.pkl", 8) == 0)
            memcpy(b + i, "data.pkX", 8);
    write_file("nopickle.pt", b, n);
    free(b);
    expect_refused("nopickle.pt", CKPT_ERR_FORMAT, "without TOP/data.pkl");
}

/* Every prefix of a good file is refused cleanly. */
static void test_truncated(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *b = slurp("lightning.ckpt", &n);
    for (size_t len = 0; len < n; len++) {
        unsigned char *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
        assert_non_null(copy);
        memcpy(copy, b, len);
        ckpt_file *f = NULL;
        char err[512] = "";
        int rc = ckpt_open_memory(&f, copy, len, "cut.ckpt", err, sizeof err);
        if (rc == CKPT_OK)
            fail_msg("a prefix of %zu of %zu bytes was accepted", len, n);
        assert_null(f);
        assert_true(strncmp(err, "cut.ckpt: ", 10) == 0);
        free(copy);
    }
    free(b);
}

/* Flipping any byte never crashes; inside the pickle it is always caught. */
static void test_flipped(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *b = slurp("lightning.ckpt", &n);
    /* the pickle is the first member: local header (30 bytes) + name +
     * extra; torch leaves the local sizes 0 (data descriptor), so its
     * length comes from the central directory entry */
    assert_true(n > 200 && memcmp(b, "PK\x03\x04", 4) == 0);
    size_t pkl_start = 30u + (size_t)(b[26] | (b[27] << 8)) + (size_t)(b[28] | (b[29] << 8));
    size_t pkl_len = 0;
    for (size_t i = 0; i + 46 < n && !pkl_len; i++)
        if (memcmp(b + i, "PK\x01\x02", 4) == 0 && b[i + 42] == 0 && b[i + 43] == 0)
            pkl_len = (size_t)b[i + 20] | ((size_t)b[i + 21] << 8) | ((size_t)b[i + 22] << 16);
    assert_true(pkl_len > 100);
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, b, n);
        copy[i] ^= 0x5a;
        ckpt_file *f = NULL;
        char err[512] = "";
        int rc = ckpt_open_memory(&f, copy, n, "flip.ckpt", err, sizeof err);
        if (rc == CKPT_OK) {
            accepted++;
            if (i >= pkl_start && i < pkl_start + pkl_len)
                fail_msg("a flipped pickle byte at %zu was accepted", i);
            for (size_t k = 0; k < ckpt_count(f); k++) {
                const ckpt_tensor *t = ckpt_tensor_at(f, k);
                float buf[128];
                if (t->numel <= 128)
                    (void)ckpt_read_f32(f, t->name, -1, NULL, buf, (size_t)t->numel, err,
                                        sizeof err);
            }
            ckpt_close(f);
        } else {
            assert_null(f);
            assert_true(strncmp(err, "flip.ckpt: ", 11) == 0);
        }
        free(copy);
    }
    print_message("  %zu bytes flipped one at a time, %d still open (padding, comments)\n", n,
                  accepted);
    free(b);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(ckpt_dtype_name(CKPT_BFLOAT16), "bfloat16");
    assert_string_equal(ckpt_dtype_name(CKPT_BOOL), "bool");
    assert_string_equal(ckpt_strerror(CKPT_ERR_SHAPE), "unexpected tensor shape");
    assert_string_equal(ckpt_strerror(999), "unknown error");
    ckpt_close(NULL);
    assert_int_equal(ckpt_count(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),         cmocka_unit_test(test_lightning),
        cmocka_unit_test(test_repacked),      cmocka_unit_test(test_memory),
        cmocka_unit_test(test_int64_refused), cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_bad_files),     cmocka_unit_test(test_not_checkpoints),
        cmocka_unit_test(test_truncated),     cmocka_unit_test(test_flipped),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
