/* util: small pieces every module shares — a size-capped growable byte buffer,
 * error-message formatting into caller-owned buffers, file-system helpers
 * (atomic replace, directory creation, same-file test) and a monotonic clock.
 *
 * Nothing here knows about audio or transcripts; modules above build on it.
 */
#ifndef CESAR_UTIL_H
#define CESAR_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef CESAR_VERSION
#define CESAR_VERSION "0.1.0"
#endif

typedef enum {
    UTIL_OK = 0,
    UTIL_ERR_NOMEM,    /* allocation failed */
    UTIL_ERR_TOO_LARGE,/* a buffer would grow past its cap */
    UTIL_ERR_IO,       /* a system call failed; the message names the path */
} util_err;

const char *util_strerror(int code);

/* ---- error messages --------------------------------------------------- */

/* Formats into err (capacity errlen, may be NULL/0: then nothing is written).
 * Always NUL-terminates when errlen > 0. Returns code, so callers can write
 * `return util_errf(err, errlen, AUDIO_ERR_IO, "...")`. */
int util_errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- growable buffer -------------------------------------------------- */

/* A byte buffer that grows on demand up to `cap` bytes. data is always
 * NUL-terminated (the terminator is not counted in len). Zero-initialise
 * with UTIL_BUF_INIT(cap) or util_buf_init(). */
typedef struct {
    char *data;   /* owned by the buffer; free with util_buf_free */
    size_t len;
    size_t alloc;
    size_t cap;   /* hard limit on len; 0 = SIZE_MAX */
} util_buf;

#define UTIL_BUF_INIT(cap_) {NULL, 0, 0, (cap_)}

void util_buf_init(util_buf *b, size_t cap);
void util_buf_free(util_buf *b); /* NULL-safe; leaves b empty and reusable */
void util_buf_reset(util_buf *b); /* len = 0, keeps memory */
int util_buf_append(util_buf *b, const void *data, size_t n);
int util_buf_puts(util_buf *b, const char *s);
int util_buf_putc(util_buf *b, char c);
int util_buf_printf(util_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int util_buf_vprintf(util_buf *b, const char *fmt, va_list ap);
/* Hands the data to the caller (caller owns it; free with free()) and leaves
 * b empty. Returns an empty string rather than NULL for an empty buffer;
 * NULL only when out of memory. */
char *util_buf_take(util_buf *b);

/* ---- arrays ----------------------------------------------------------- */

/* Makes room for one more element in a growable array of item_size-byte
 * elements, `used` of which are in use and *alloc allocated; capacity
 * doubles, starting at 16. Returns the (possibly moved) array — the caller
 * stores it back — or NULL when out of memory, in which case the old array
 * and *alloc are untouched. */
void *util_array_reserve(void *items, size_t *alloc, size_t used, size_t item_size);

/* ---- strings ---------------------------------------------------------- */

/* strdup that returns NULL for NULL. Caller owns the result; free with free(). */
char *util_strdup(const char *s);
/* Copies src into dst (capacity n), truncating; always NUL-terminates. */
void util_strlcpy(char *dst, const char *src, size_t n);
/* Lower-case extension of path without the dot ("" if none); borrowed
 * pointer into path. */
const char *util_path_ext(const char *path);
/* Appends s to b as a JSON string literal (with quotes), escaping control
 * characters, quotes and backslashes; UTF-8 passes through unchanged. */
int util_buf_json_string(util_buf *b, const char *s);

/* ---- files ------------------------------------------------------------ */

/* Creates dir and its missing parents (mode 0755). Existing dirs are fine. */
int util_mkdir_p(const char *dir, char *err, size_t errlen);

/* Writes data to a temporary file in path's directory, fsyncs it and renames
 * it over path, so readers see either the old file or the whole new one.
 * On failure the temporary file is removed and path is untouched. */
int util_write_file_atomic(const char *path, const void *data, size_t len,
                           char *err, size_t errlen);

/* Removes the directory path and everything below it (only what is below
 * when keep_top), never following symbolic links. A missing path is fine.
 * Goes on past entries it cannot remove and reports the first. */
int util_remove_tree(const char *path, bool keep_top, char *err, size_t errlen);

/* True when both paths exist and name the same file (same device and inode). */
bool util_same_file(const char *a, const char *b);

/* fsync()s the directory dir, so that entries created or renamed in it
 * survive a crash. Returns 0, or -1 with errno set. */
int util_fsync_dir(const char *dir);

/* Directory part of path into dir (capacity n): "." for a bare file name. */
void util_path_dirname(const char *path, char *dir, size_t n);

/* ---- time ------------------------------------------------------------- */

/* Seconds from an arbitrary fixed point; for measuring intervals. */
double util_now_seconds(void);

/* ---- hashing ---------------------------------------------------------- */

/* SHA-256 (FIPS 180-4), used to name download-cache entries after their
 * keys. Not a MAC and not constant-time: do not use it for secrets. */
#define UTIL_SHA256_LEN 32     /* bytes in a digest */
#define UTIL_SHA256_HEX_LEN 64 /* characters in its hex form, without the NUL */

/* Incremental form, for data that arrives in pieces: init, update any
 * number of times, final once (the context must be re-initialised before
 * it is used again). Contexts are plain values; no cleanup is needed. */
/* The message framing both hashes share (md_block.c). */
typedef struct {
    uint64_t total;           /* bytes hashed so far */
    unsigned char block[64];  /* pending bytes of the current block */
    size_t fill;              /* how many of block are in use (< 64) */
} util_md_frame;

typedef struct {
    uint32_t state[8];
    util_md_frame frame;
} util_sha256_ctx;

void util_sha256_init(util_sha256_ctx *ctx);
void util_sha256_update(util_sha256_ctx *ctx, const void *data, size_t len);
void util_sha256_final(util_sha256_ctx *ctx, unsigned char digest[UTIL_SHA256_LEN]);

/* The digest of len bytes at data (data may be NULL when len is 0). */
void util_sha256(const void *data, size_t len, unsigned char digest[UTIL_SHA256_LEN]);
/* A digest as 64 lower-case hex characters plus a NUL. */
void util_sha256_to_hex(const unsigned char digest[UTIL_SHA256_LEN],
                        char hex[UTIL_SHA256_HEX_LEN + 1]);
/* util_sha256 followed by util_sha256_to_hex. */
void util_sha256_hex(const void *data, size_t len, char hex[UTIL_SHA256_HEX_LEN + 1]);

/* SHA-1 (FIPS 180-4), used to check downloaded Whisper model files against
 * the digests whisper.cpp publishes. Broken for collisions: it detects
 * corruption, not tampering by whoever chose the expected digest. The API
 * mirrors the SHA-256 one above. */
#define UTIL_SHA1_LEN 20     /* bytes in a digest */
#define UTIL_SHA1_HEX_LEN 40 /* characters in its hex form, without the NUL */

typedef struct {
    uint32_t state[5];
    util_md_frame frame;
} util_sha1_ctx;

void util_sha1_init(util_sha1_ctx *ctx);
void util_sha1_update(util_sha1_ctx *ctx, const void *data, size_t len);
void util_sha1_final(util_sha1_ctx *ctx, unsigned char digest[UTIL_SHA1_LEN]);

/* The digest of len bytes at data (data may be NULL when len is 0). */
void util_sha1(const void *data, size_t len, unsigned char digest[UTIL_SHA1_LEN]);
/* A digest as 40 lower-case hex characters plus a NUL. */
void util_sha1_to_hex(const unsigned char digest[UTIL_SHA1_LEN], char hex[UTIL_SHA1_HEX_LEN + 1]);
/* util_sha1 followed by util_sha1_to_hex. */
void util_sha1_hex(const void *data, size_t len, char hex[UTIL_SHA1_HEX_LEN + 1]);

#endif
