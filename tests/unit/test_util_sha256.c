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

#include "digest_check.h"

#define PATTERN_MAX 130

static void ctx_init(void *ctx)
{
    util_sha256_init(ctx);
}

static void ctx_update(void *ctx, const void *data, size_t n)
{
    util_sha256_update(ctx, data, n);
}

static void ctx_final(void *ctx, unsigned char *digest)
{
    util_sha256_final(ctx, digest);
}

static const digest_algo ALGO = {
    "sha256sum", UTIL_SHA256_LEN, UTIL_SHA256_HEX_LEN, sizeof(util_sha256_ctx), ctx_init, ctx_update,
    ctx_final, util_sha256_to_hex, util_sha256_hex,
};

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
    /* In uneven pieces (997 among them), so partial blocks are topped up
     * across calls in every alignment; then as one buffer. */
    static const size_t chunk_sizes[] = {1, 3, 7, 13, 55, 56, 63, 64, 65, 127, 997, 4099};
    digest_check_million_a(&ALGO, chunk_sizes, sizeof chunk_sizes / sizeof chunk_sizes[0],
                           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void fill_pattern(unsigned char *buf, size_t n)
{
    /* Walks through every byte value, including 0x00 and 0x80. */
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
}

static void test_lengths_against_sha256sum(void **state)
{
    (void)state;
    unsigned char buf[PATTERN_MAX];
    fill_pattern(buf, sizeof buf);
    digest_check_lengths(&ALGO, buf, sizeof buf);
}

static void test_incremental_every_split(void **state)
{
    (void)state;
    unsigned char buf[PATTERN_MAX];
    fill_pattern(buf, sizeof buf);
    digest_check_every_split(&ALGO, buf, sizeof buf, 2);
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
