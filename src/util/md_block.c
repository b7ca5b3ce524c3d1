/* md_block: the 64-byte block framing and padding SHA-1 and SHA-256 share
 * (FIPS 180-4 §5.1.1), so each of them is only its compression function. */
#include "util/md_block.h"

#include <string.h>

uint32_t util__load_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void util__store_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

void util__md_update(util_md_frame *f, uint32_t *state, util__md_compress_fn compress,
                     const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len == 0)
        return; /* data may be NULL then, and memcpy must not see it */
    f->total += len;
    /* Top up a partly filled block first; whole blocks are then compressed
     * straight from the caller's memory, and only a tail is copied. */
    if (f->fill > 0) {
        size_t take = 64 - f->fill;
        if (take > len)
            take = len;
        memcpy(f->block + f->fill, p, take);
        f->fill += take;
        p += take;
        len -= take;
        if (f->fill < 64)
            return;
        compress(state, f->block);
        f->fill = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        compress(state, p);
    if (len > 0)
        memcpy(f->block, p, len);
    f->fill = len;
}

void util__md_final(util_md_frame *f, uint32_t *state, util__md_compress_fn compress,
                    unsigned char *digest, int n_words)
{
    /* When fewer than 8 bytes are left after the 1 bit, the length goes
     * into an extra block. */
    uint64_t bits = f->total * 8;
    f->block[f->fill++] = 0x80;
    if (f->fill > 56) {
        memset(f->block + f->fill, 0, 64 - f->fill);
        compress(state, f->block);
        f->fill = 0;
    }
    memset(f->block + f->fill, 0, 56 - f->fill);
    util__store_be32(f->block + 56, (uint32_t)(bits >> 32));
    util__store_be32(f->block + 60, (uint32_t)bits);
    compress(state, f->block);
    for (int i = 0; i < n_words; i++)
        util__store_be32(digest + 4 * i, state[i]);
}

void util__to_hex(const unsigned char *bytes, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    hex[2 * n] = '\0';
}
