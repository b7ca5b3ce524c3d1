/* verify: digests over model files, read in large blocks so a 3 GB model
 * costs seconds, with progress and cancellation between blocks. The block
 * loop is digest-agnostic: the Whisper pull feeds SHA-1 (the catalog's
 * digest), the hub fetch SHA-256 (the hub's etag). Besides whole files, the
 * first bytes of an open file can be fed into a running digest: a resumed
 * download hashes what it already has, and the transfer then adds the rest
 * as it arrives, so a finished download needs no second pass. */
#include "models/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define VERIFY_BLOCK (1024 * 1024)

void models__sha1_update(void *ctx, const void *data, size_t len)
{
    util_sha1_update(ctx, data, len);
}

void models__sha256_update(void *ctx, const void *data, size_t len)
{
    util_sha256_update(ctx, data, len);
}

int models__hash_fd(int fd, long long len, models__digest_update_fn update, void *ctx,
                    const char *path, models_progress_fn progress, void *user_data,
                    const atomic_int *cancel, char *err, size_t errlen)
{
    int rc = MODELS_OK;
    unsigned char *block = malloc(VERIFY_BLOCK);
    if (!block)
        return util_errf(err, errlen, MODELS_ERR_NOMEM, "out of memory");
    long long done = 0;
    while (done < len) {
        if (cancel && atomic_load(cancel)) {
            rc = util_errf(err, errlen, MODELS_ERR_CANCELLED, "cancelled while verifying '%s'",
                           path);
            goto cleanup;
        }
        size_t want = len - done < VERIFY_BLOCK ? (size_t)(len - done) : VERIFY_BLOCK;
        ssize_t n = pread(fd, block, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = util_errf(err, errlen, MODELS_ERR_IO, "cannot read '%s': %s", path,
                           strerror(errno));
            goto cleanup;
        }
        if (n == 0) {
            rc = util_errf(err, errlen, MODELS_ERR_IO, "'%s' ended after %lld of %lld bytes "
                           "while being read", path, done, len);
            goto cleanup;
        }
        update(ctx, block, (size_t)n);
        done += n;
        if (progress)
            progress(done, len, true, user_data);
    }

cleanup:
    free(block);
    return rc;
}

int models_file_sha1(const char *path, char hex[41], models_progress_fn progress,
                     void *user_data, const atomic_int *cancel, char *err, size_t errlen)
{
    hex[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot open '%s': %s", path,
                         strerror(errno));
    struct stat st;
    int rc = MODELS_OK;
    if (fstat(fd, &st) != 0) {
        rc = util_errf(err, errlen, MODELS_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto cleanup;
    }
    util_sha1_ctx ctx;
    util_sha1_init(&ctx);
    rc = models__hash_fd(fd, (long long)st.st_size, models__sha1_update, &ctx, path, progress,
                         user_data, cancel, err, errlen);
    if (rc != MODELS_OK)
        goto cleanup;
    unsigned char digest[UTIL_SHA1_LEN];
    util_sha1_final(&ctx, digest);
    util_sha1_to_hex(digest, hex);

cleanup:
    close(fd);
    return rc;
}
