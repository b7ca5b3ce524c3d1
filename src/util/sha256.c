/* sha256: the SHA-256 hash of FIPS 180-4, written out so the project needs
 * no crypto library for the one thing it hashes — download-cache keys (and,
 * through the incremental interface, files when that is wanted).
 *
 * Invariant: ctx->fill < 64 between calls; ctx->block[0..fill) holds the
 * bytes not yet compressed and ctx->total counts every byte ever added.
 * Message words and the length are big-endian, as the standard specifies;
 * nothing here depends on the host's byte order.
 */
#include "util/md_block.h"

#include <string.h>

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube
 * roots of the first 64 primes. */
static const uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the square
 * roots of the first 8 primes. */
static const uint32_t initial_state[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* One application of the compression function (§6.2.2) to a 64-byte block. */
static void compress(uint32_t state[8], const unsigned char block[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = util__load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }

    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t choose = (e & f) ^ (~e & g);
        uint32_t t1 = h + big_s1 + choose + round_constants[t] + w[t];
        uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big_s0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void util_sha256_init(util_sha256_ctx *ctx)
{
    memcpy(ctx->state, initial_state, sizeof ctx->state);
    ctx->frame.total = 0;
    ctx->frame.fill = 0;
}

void util_sha256_update(util_sha256_ctx *ctx, const void *data, size_t len)
{
    util__md_update(&ctx->frame, ctx->state, compress, data, len);
}

void util_sha256_final(util_sha256_ctx *ctx, unsigned char digest[UTIL_SHA256_LEN])
{
    util__md_final(&ctx->frame, ctx->state, compress, digest, 8);
}

void util_sha256(const void *data, size_t len, unsigned char digest[UTIL_SHA256_LEN])
{
    util_sha256_ctx ctx;
    util_sha256_init(&ctx);
    util_sha256_update(&ctx, data, len);
    util_sha256_final(&ctx, digest);
}

void util_sha256_to_hex(const unsigned char digest[UTIL_SHA256_LEN],
                        char hex[UTIL_SHA256_HEX_LEN + 1])
{
    util__to_hex(digest, UTIL_SHA256_LEN, hex);
}

void util_sha256_hex(const void *data, size_t len, char hex[UTIL_SHA256_HEX_LEN + 1])
{
    unsigned char digest[UTIL_SHA256_LEN];
    util_sha256(data, len, digest);
    util_sha256_to_hex(digest, hex);
}
