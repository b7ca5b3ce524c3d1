/* Unit tests for util_sha1: the FIPS 180 / RFC 3174 example messages, the
 * million-'a' message fed in odd chunk sizes (so partial blocks are topped up
 * across calls in every alignment), every length from 0 to 130 bytes (both
 * padding cases) checked against coreutils' sha1sum run now, and the
 * incremental interface split at every point. Expected digests come from the
 * standards and from another implementation, never from this one. */
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
#define MILLION_A_SHA1 "34aa973cd4c4daa4f61eeb2bdbad27316534016f"

static void ctx_init(void *ctx)
{
    util_sha1_init(ctx);
}

static void ctx_update(void *ctx, const void *data, size_t n)
{
    util_sha1_update(ctx, data, n);
}

static void ctx_final(void *ctx, unsigned char *digest)
{
    util_sha1_final(ctx, digest);
}

static const digest_algo ALGO = {
    "sha1sum", UTIL_SHA1_LEN, UTIL_SHA1_HEX_LEN, sizeof(util_sha1_ctx), ctx_init, ctx_update,
    ctx_final, util_sha1_to_hex, util_sha1_hex,
};

static void assert_hex_of(const char *msg, const char *expected)
{
    char hex[UTIL_SHA1_HEX_LEN + 1];
    util_sha1_hex(msg, strlen(msg), hex);
    assert_string_equal(hex, expected);
}

static void test_standard_messages(void **state)
{
    (void)state;
    assert_hex_of("", "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_hex_of("abc", "a9993e364706816aba3e25717850c26c9cd0d89d");
    /* 448 bits: the length needs an extra padding block. */
    assert_hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    assert_hex_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                  "a49b2446a02c645bf419f995b67091253a04a259");
    char hex[UTIL_SHA1_HEX_LEN + 1];
    util_sha1_hex(NULL, 0, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

/* RFC 3174 TEST4: "01234567" eight times, the whole repeated ten times, fed
 * as those ten 64-byte updates. */
static void test_rfc3174_repeated(void **state)
{
    (void)state;
    const char *piece = "0123456701234567012345670123456701234567012345670123456701234567";
    util_sha1_ctx ctx;
    util_sha1_init(&ctx);
    for (int i = 0; i < 10; i++)
        util_sha1_update(&ctx, piece, strlen(piece));
    unsigned char digest[UTIL_SHA1_LEN];
    char hex[UTIL_SHA1_HEX_LEN + 1];
    util_sha1_final(&ctx, digest);
    util_sha1_to_hex(digest, hex);
    assert_string_equal(hex, "dea356a2cddd90c7a7ecedc5ebb563934f460452");
}

static void test_million_a_odd_chunks(void **state)
{
    (void)state;
    static const size_t chunk_sizes[] = {1, 3, 7, 13, 55, 56, 63, 64, 65, 127, 997, 4099};
    digest_check_million_a(&ALGO, chunk_sizes, sizeof chunk_sizes / sizeof chunk_sizes[0],
                           MILLION_A_SHA1);
}

static void fill_pattern(unsigned char *buf, size_t n)
{
    /* Walks through every byte value, including 0x00 and 0x80. */
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 41 + 3);
}

static void test_lengths_against_sha1sum(void **state)
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
    digest_check_every_split(&ALGO, buf, sizeof buf, 3);
}

static void test_hex_form(void **state)
{
    (void)state;
    unsigned char digest[UTIL_SHA1_LEN];
    for (int i = 0; i < UTIL_SHA1_LEN; i++)
        digest[i] = (unsigned char)(i * 13 + 5);
    char hex[UTIL_SHA1_HEX_LEN + 2];
    hex[UTIL_SHA1_HEX_LEN + 1] = 'X'; /* must stay untouched */
    util_sha1_to_hex(digest, hex);
    assert_int_equal(strlen(hex), UTIL_SHA1_HEX_LEN);
    assert_int_equal(hex[UTIL_SHA1_HEX_LEN + 1], 'X');
    assert_true(strncmp(hex, "05121f2c", 8) == 0);
    assert_true(strcmp(hex + 32, "d5e2effc") == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standard_messages),
        cmocka_unit_test(test_rfc3174_repeated),
        cmocka_unit_test(test_million_a_odd_chunks),
        cmocka_unit_test(test_lengths_against_sha1sum),
        cmocka_unit_test(test_incremental_every_split),
        cmocka_unit_test(test_hex_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
