/* Unit tests for util_sha256: the FIPS 180-2 / NIST example messages, every
 * length from 0 to 130 bytes (so each padding case — length fitting in the
 * last block or needing another one — is met) checked against coreutils'
 * sha256sum run now, and the incremental interface split at every point.
 * The expected digests come from the standard's examples and from another
 * implementation, never from this one's own output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

#define PATTERN_MAX 130

static void assert_hex_of(const char *msg, const char *expected)
{
    char hex[UTIL_SHA256_HEX_LEN + 1];
    util_sha256_hex(msg, strlen(msg), hex);
    assert_string_equal(hex, expected);
}

static void test_nist_short_messages(void **state)
{
    (void)state;
    assert_hex_of("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_hex_of("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 448 bits: the length no longer fits after the 1 bit, so an extra
     * padding block is needed. */
    assert_hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* 896 bits: two full blocks of message. */
    assert_hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* NULL data with length 0 is allowed. */
    char hex[UTIL_SHA256_HEX_LEN + 1];
    util_sha256_hex(NULL, 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_million_a(void **state)
{
    (void)state;
    const char *expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    char hex[UTIL_SHA256_HEX_LEN + 1];

    /* In uneven pieces, so partial blocks are topped up across calls. */
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    util_sha256_ctx ctx;
    util_sha256_init(&ctx);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        util_sha256_update(&ctx, chunk, n);
        left -= n;
    }
    unsigned char digest[UTIL_SHA256_LEN];
    util_sha256_final(&ctx, digest);
    util_sha256_to_hex(digest, hex);
    assert_string_equal(hex, expected);

    /* And as one buffer. */
    char *big = malloc(1000000);
    assert_non_null(big);
    memset(big, 'a', 1000000);
    util_sha256_hex(big, 1000000, hex);
    free(big);
    assert_string_equal(hex, expected);
}

static void fill_pattern(unsigned char *buf, size_t n)
{
    /* Walks through every byte value, including 0x00 and 0x80. */
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
}

/* sha256sum's digest of the first len bytes of the pattern, via a file in
 * dir. Returns false when sha256sum could not be run. */
static bool reference_hex(const char *dir, size_t len, char out[UTIL_SHA256_HEX_LEN + 1])
{
    unsigned char buf[PATTERN_MAX];
    fill_pattern(buf, len);
    char path[512];
    snprintf(path, sizeof path, "%s/pattern-%zu", dir, len);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "sha256sum '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    bool ok = false;
    if (p) {
        char line[256];
        if (fgets(line, sizeof line, p) && strlen(line) > UTIL_SHA256_HEX_LEN &&
            line[UTIL_SHA256_HEX_LEN] == ' ') {
            memcpy(out, line, UTIL_SHA256_HEX_LEN);
            out[UTIL_SHA256_HEX_LEN] = '\0';
            ok = true;
        }
        if (pclose(p) != 0)
            ok = false;
    }
    unlink(path);
    return ok;
}

static void test_lengths_against_sha256sum(void **state)
{
    (void)state;
    char dir[] = "/tmp/cesar-sha256-XXXXXX";
    assert_non_null(mkdtemp(dir));
    unsigned char buf[PATTERN_MAX];
    fill_pattern(buf, sizeof buf);
    bool ran = true;
    for (size_t len = 0; len <= PATTERN_MAX && ran; len++) {
        char want[UTIL_SHA256_HEX_LEN + 1], got[UTIL_SHA256_HEX_LEN + 1];
        ran = reference_hex(dir, len, want);
        if (!ran)
            break;
        util_sha256_hex(buf, len, got);
        if (strcmp(want, got) != 0)
            fail_msg("length %zu: sha256sum says %s, util_sha256_hex %s", len, want, got);
    }
    rmdir(dir);
    if (!ran)
        skip(); /* no coreutils sha256sum here */
}

static void test_incremental_every_split(void **state)
{
    (void)state;
    unsigned char buf[PATTERN_MAX];
    fill_pattern(buf, sizeof buf);
    unsigned char whole[UTIL_SHA256_LEN];
    util_sha256(buf, sizeof buf, whole);
    for (size_t a = 0; a <= sizeof buf; a++) {
        /* Three pieces: [0,a), [a,b), [b,end), with b walking too. */
        size_t b = a + (sizeof buf - a) / 2;
        util_sha256_ctx ctx;
        util_sha256_init(&ctx);
        util_sha256_update(&ctx, buf, a);
        util_sha256_update(&ctx, buf + a, b - a);
        util_sha256_update(&ctx, NULL, 0);
        util_sha256_update(&ctx, buf + b, sizeof buf - b);
        unsigned char parts[UTIL_SHA256_LEN];
        util_sha256_final(&ctx, parts);
        assert_memory_equal(parts, whole, UTIL_SHA256_LEN);
    }
}

static void test_hex_form(void **state)
{
    (void)state;
    unsigned char digest[UTIL_SHA256_LEN];
    for (int i = 0; i < UTIL_SHA256_LEN; i++)
        digest[i] = (unsigned char)(i * 8 + 7);
    char hex[UTIL_SHA256_HEX_LEN + 2];
    hex[UTIL_SHA256_HEX_LEN + 1] = 'X'; /* must stay untouched */
    util_sha256_to_hex(digest, hex);
    assert_int_equal(strlen(hex), UTIL_SHA256_HEX_LEN);
    assert_int_equal(hex[UTIL_SHA256_HEX_LEN + 1], 'X');
    assert_true(strncmp(hex, "070f171f272f373f", 16) == 0);
    assert_true(strcmp(hex + 48, "c7cfd7dfe7eff7ff") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nist_short_messages),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_lengths_against_sha256sum),
        cmocka_unit_test(test_incremental_every_split),
        cmocka_unit_test(test_hex_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
