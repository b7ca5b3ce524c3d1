/* md_block: what SHA-1 and SHA-256 share (internal to the util module).
 * Both cut the message into 64-byte blocks fed to a compression function,
 * and both pad the last block the same way (a 1 bit, zeros, the length in
 * bits as a 64-bit big-endian number); only the compression function and
 * the size of the state differ. */
#ifndef CESAR_UTIL_MD_BLOCK_H
#define CESAR_UTIL_MD_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

typedef void (*util__md_compress_fn)(uint32_t *state, const unsigned char block[64]);

uint32_t util__load_be32(const unsigned char *p);
void util__store_be32(unsigned char *p, uint32_t v);

/* Feeds len bytes (data may be NULL when len is 0) through f into state. */
void util__md_update(util_md_frame *f, uint32_t *state, util__md_compress_fn compress,
                     const void *data, size_t len);
/* Pads and compresses the last block(s), then writes the first n_words
 * words of state big-endian into digest. */
void util__md_final(util_md_frame *f, uint32_t *state, util__md_compress_fn compress,
                    unsigned char *digest, int n_words);
/* n bytes as 2n lower-case hex characters plus a NUL. */
void util__to_hex(const unsigned char *bytes, size_t n, char *hex);

#endif
