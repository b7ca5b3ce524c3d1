/* ref_compare: what the numeric tests against a Python reference share
 * (test_pyannote_segment, test_pyannote_embed, test_pyannote_cluster,
 * test_pyannote_engine, test_whisper_exact, test_ckpt): running the
 * reference script into a fresh temporary directory, reading and writing
 * the headerless arrays exchanged with it, and the one error metric they
 * all state, max |c - ref| / max |ref| over a whole tensor. Include after
 * <cmocka.h>: a missing or short file fails the calling test. */
#ifndef CESAR_TEST_REF_COMPARE_H
#define CESAR_TEST_REF_COMPARE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* The interpreter the references are written for (with torch and numpy). */
#define REF_PYTHON "/usr/bin/python3"

/* Exit status of a shell command; -1 when it could not be started. */
static inline int ref_run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* Creates dir from its template (ending in XXXXXX, rewritten in place) and
 * runs `REF_PYTHON script dir` to fill it. 0 on success; -1 after a message
 * on stderr, for a group setup to return. */
static inline int ref_generate(char *dir, const char *script)
{
    if (!mkdtemp(dir)) {
        fprintf(stderr, "cannot create %s\n", dir);
        return -1;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, REF_PYTHON " %s %s", script, dir);
    if (ref_run(cmd) != 0) {
        fprintf(stderr, "reference script failed: %s\n", cmd);
        return -1;
    }
    return 0;
}

/* rm -rf of a directory ref_generate made; a failure is only reported, as
 * it leaves nothing wrong but a stray directory in /tmp. */
static inline void ref_remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (ref_run(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Exactly n items of size bytes from path; the caller frees the result. */
static inline void *ref_read(const char *path, size_t n, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    void *buf = malloc(n ? n * size : 1); /* malloc(0) may return NULL */
    assert_non_null(buf);
    size_t got = fread(buf, size, n, f);
    fclose(f);
    if (got != n)
        fail_msg("%s: %zu items of %zu bytes, expected %zu", path, got, size, n);
    return buf;
}

/* The whole file, however long, with a NUL after its *bytes bytes (so a
 * text file reads as a string); the caller frees the result. */
static inline void *ref_read_all(const char *path, size_t *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(len >= 0);
    unsigned char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    buf[len] = '\0';
    *bytes = (size_t)len;
    return buf;
}

static inline float *ref_read_f32(const char *path, size_t n)
{
    return ref_read(path, n, sizeof(float));
}

static inline void ref_write_f32(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(x, sizeof *x, n, f), n);
    fclose(f);
}

/* max |c - ref| / max |ref| (the absolute error when ref is all zero).
 * Elements that are equal, infinities included, or NaN on both sides agree;
 * any other non-finite element makes the error infinite, so a comparison
 * with a bound fails. */
static inline double ref_rel_err(const float *c, const float *ref, size_t n)
{
    double maxref = 0.0, maxd = 0.0;
    for (size_t i = 0; i < n; i++) {
        if ((isnan(c[i]) && isnan(ref[i])) || (isinf(c[i]) && c[i] == ref[i]))
            continue;
        if (!isfinite(c[i]) || !isfinite(ref[i]))
            return INFINITY;
        double d = fabs((double)c[i] - ref[i]);
        maxd = d > maxd ? d : maxd;
        maxref = fabs(ref[i]) > maxref ? fabs(ref[i]) : maxref;
    }
    return maxref > 0 ? maxd / maxref : maxd;
}

/* Prints the error of c against ref and fails the test above bound. */
static inline void ref_check_close(const char *what, const float *c, const float *ref, size_t n,
                                   double bound)
{
    double e = ref_rel_err(c, ref, n);
    print_message("  %-36s max|c-ref|/max|ref| = %.3g (bound %.0e)\n", what, e, bound);
    if (!(e <= bound))
        fail_msg("%s: relative error %.3g exceeds %.0e", what, e, bound);
}

#endif
