/* sha1: the SHA-1 hash of FIPS 180-4 (§6.1), written out for the one place
 * the project needs it — checking downloaded Whisper model files against the
 * SHA-1 digests whisper.cpp publishes for them. SHA-1 is broken for
 * collision resistance; here it only detects corruption and truncation of a
 * file whose expected digest came from a trusted table, which it still does.
 *
 * Invariant (as in sha256.c): ctx->fill < 64 between calls; ctx->block[0..fill)
 * holds the bytes not yet compressed and ctx->total counts every byte ever
 * added. Words and the length are big-endian, independent of the host.
 */
#include "util/md_block.h"

#include <string.h>

/* FIPS 180-4 §5.3.1. */
static const uint32_t initial_state[5] = {
    0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0,
};

static uint32_t rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

/* One round (§6.1.2 step 3): f is the round's function of b, c, d (§4.1.1),
 * k its constant (§4.2.1). The four 20-round stretches are written out so
 * the function is not chosen anew every round. */
#define SHA1_ROUND(f, k)                                                                         \
    do {                                                                                         \
        if (t >= 16)                                                                             \
            w[t & 15] = rotl(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15], 1); \
        uint32_t temp = rotl(a, 5) + (f) + e + (k) + w[t & 15];                                  \
        e = d;                                                                                   \
        d = c;                                                                                   \
        c = rotl(b, 30);                                                                         \
        b = a;                                                                                   \
        a = temp;                                                                                \
    } while (0)

/* One application of the compression function (§6.1.2) to a 64-byte block.
 * The message schedule is kept as a 16-word ring, which is all any round
 * needs. */
static void compress(uint32_t state[5], const unsigned char block[64])
{
    uint32_t w[16];
    for (int t = 0; t < 16; t++)
        w[t] = util__load_be32(block + 4 * t);

    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
    int t = 0;
    for (; t < 20; t++)
        SHA1_ROUND((b & c) | (~b & d), 0x5a827999u);
    for (; t < 40; t++)
        SHA1_ROUND(b ^ c ^ d, 0x6ed9eba1u);
    for (; t < 60; t++)
        SHA1_ROUND((b & c) | (b & d) | (c & d), 0x8f1bbcdcu);
    for (; t < 80; t++)
        SHA1_ROUND(b ^ c ^ d, 0xca62c1d6u);
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
}

void util_sha1_init(util_sha1_ctx *ctx)
{
    memcpy(ctx->state, initial_state, sizeof ctx->state);
    ctx->frame.total = 0;
    ctx->frame.fill = 0;
}

void util_sha1_update(util_sha1_ctx *ctx, const void *data, size_t len)
{
    util__md_update(&ctx->frame, ctx->state, compress, data, len);
}

void util_sha1_final(util_sha1_ctx *ctx, unsigned char digest[UTIL_SHA1_LEN])
{
    util__md_final(&ctx->frame, ctx->state, compress, digest, 5);
}

void util_sha1(const void *data, size_t len, unsigned char digest[UTIL_SHA1_LEN])
{
    util_sha1_ctx ctx;
    util_sha1_init(&ctx);
    util_sha1_update(&ctx, data, len);
    util_sha1_final(&ctx, digest);
}

void util_sha1_to_hex(const unsigned char digest[UTIL_SHA1_LEN], char hex[UTIL_SHA1_HEX_LEN + 1])
{
    util__to_hex(digest, UTIL_SHA1_LEN, hex);
}

void util_sha1_hex(const void *data, size_t len, char hex[UTIL_SHA1_HEX_LEN + 1])
{
    unsigned char digest[UTIL_SHA1_LEN];
    util_sha1(data, len, digest);
    util_sha1_to_hex(digest, hex);
}
