/* digest_check: the checks test_util_sha1 and test_util_sha256 share — a
 * message fed in chunks of many sizes, every split of a buffer into three
 * updates, and every length up to a bound against coreutils' own tool —
 * written once over a small table of the algorithm's functions. Include
 * after <cmocka.h>. */
#ifndef CESAR_TEST_DIGEST_CHECK_H
#define CESAR_TEST_DIGEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIGEST_CHECK_MAX_LEN 64     /* bytes in the longest digest checked */
#define DIGEST_CHECK_MAX_HEX 128    /* its hex form */
#define DIGEST_CHECK_CTX_BYTES 512  /* room for any algorithm's context */

typedef struct {
    const char *tool;   /* coreutils' program for it: "sha1sum" */
    size_t len;         /* bytes in a digest */
    size_t hex_len;     /* characters in its hex form, without the NUL */
    size_t ctx_size;    /* sizeof its context */
    void (*init)(void *ctx);
    void (*update)(void *ctx, const void *data, size_t n);
    void (*final)(void *ctx, unsigned char *digest);
    void (*to_hex)(const unsigned char *digest, char *hex);
    void (*hex)(const void *data, size_t n, char *hex); /* one call, hex out */
} digest_algo;

typedef union {
    max_align_t align;
    unsigned char bytes[DIGEST_CHECK_CTX_BYTES];
} digest_ctx;

static inline void digest_check_sizes(const digest_algo *a)
{
    assert_true(a->ctx_size <= sizeof(digest_ctx));
    assert_true(a->len <= DIGEST_CHECK_MAX_LEN && a->hex_len <= DIGEST_CHECK_MAX_HEX);
}

/* One million 'a's fed in pieces of each of sizes[0..n) in turn (so partial
 * blocks are topped up across calls in every alignment), then as one
 * buffer: each must give expected. */
static inline void digest_check_million_a(const digest_algo *a, const size_t *sizes, size_t n,
                                          const char *expected)
{
    digest_check_sizes(a);
    size_t biggest = 0;
    for (size_t c = 0; c < n; c++)
        biggest = sizes[c] > biggest ? sizes[c] : biggest;
    char *chunk = malloc(biggest ? biggest : 1);
    assert_non_null(chunk);
    memset(chunk, 'a', biggest);
    char hex[DIGEST_CHECK_MAX_HEX + 1];
    for (size_t c = 0; c < n; c++) {
        digest_ctx ctx;
        a->init(&ctx);
        size_t left = 1000000;
        while (left > 0) {
            size_t k = left < sizes[c] ? left : sizes[c];
            a->update(&ctx, chunk, k);
            left -= k;
        }
        unsigned char digest[DIGEST_CHECK_MAX_LEN];
        a->final(&ctx, digest);
        a->to_hex(digest, hex);
        if (strcmp(hex, expected) != 0)
            fail_msg("chunks of %zu bytes: got %s, expected %s", sizes[c], hex, expected);
    }
    free(chunk);

    char *big = malloc(1000000);
    assert_non_null(big);
    memset(big, 'a', 1000000);
    a->hex(big, 1000000, hex);
    free(big);
    assert_string_equal(hex, expected);
}

/* buf (n bytes) split at every a, with b walking too ([0,a), [a,b), [b,n),
 * b = a + (n - a) / divisor) and empty NULL updates between the pieces: each
 * must give the one-call digest. */
static inline void digest_check_every_split(const digest_algo *a, const unsigned char *buf,
                                            size_t n, size_t divisor)
{
    digest_check_sizes(a);
    unsigned char whole[DIGEST_CHECK_MAX_LEN];
    digest_ctx ctx;
    a->init(&ctx);
    a->update(&ctx, buf, n);
    a->final(&ctx, whole);
    for (size_t i = 0; i <= n; i++) {
        size_t b = i + (n - i) / divisor;
        a->init(&ctx);
        a->update(&ctx, buf, i);
        a->update(&ctx, NULL, 0);
        a->update(&ctx, buf + i, b - i);
        a->update(&ctx, NULL, 0);
        a->update(&ctx, buf + b, n - b);
        unsigned char parts[DIGEST_CHECK_MAX_LEN];
        a->final(&ctx, parts);
        assert_memory_equal(parts, whole, a->len);
    }
}

/* a->tool's digest of data (len bytes), through a file in dir. False when
 * the tool could not be run. */
static inline bool digest_check_reference(const digest_algo *a, const char *dir,
                                          const unsigned char *data, size_t len, char *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pattern-%zu", dir, len);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s '%s' 2>/dev/null", a->tool, path);
    FILE *p = popen(cmd, "r");
    bool ok = false;
    if (p) {
        char line[256];
        if (fgets(line, sizeof line, p) && strlen(line) > a->hex_len && line[a->hex_len] == ' ') {
            memcpy(out, line, a->hex_len);
            out[a->hex_len] = '\0';
            ok = true;
        }
        if (pclose(p) != 0)
            ok = false;
    }
    unlink(path);
    return ok;
}

/* Every prefix of pattern (lengths 0..n) against a->tool run now; skips the
 * test when the tool cannot be run. */
static inline void digest_check_lengths(const digest_algo *a, const unsigned char *pattern,
                                        size_t n)
{
    digest_check_sizes(a);
    char dir[] = "/tmp/cesar-digest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    bool ran = true;
    for (size_t len = 0; len <= n && ran; len++) {
        char want[DIGEST_CHECK_MAX_HEX + 1], got[DIGEST_CHECK_MAX_HEX + 1];
        ran = digest_check_reference(a, dir, pattern, len, want);
        if (!ran)
            break;
        a->hex(pattern, len, got);
        if (strcmp(want, got) != 0)
            fail_msg("length %zu: %s says %s, this implementation %s", len, a->tool, want, got);
    }
    rmdir(dir);
    if (!ran)
        skip(); /* no coreutils tool here */
}

#endif
