/* hub_verify: the checks a hub download passes before it is installed — the
 * SHA-256 the hub announces as the file's etag, computed over the finished
 * partial file in large blocks (with progress and cancellation; the pyannote
 * files are tens of megabytes, so one pass after the transfer is cheap and
 * keeps the transfer code digest-agnostic) — and the scrubbing of a secret
 * out of messages.
 */
#include "models/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

#define HUB_VERIFY_BLOCK (1024 * 1024)
#define REDACTED "[token]"
#define REDACT_MIN_LEN 4 /* shorter "secrets" would blank out ordinary words */

int models__sha256_fd(int fd, long long len, char hex[65], const models_pyannote_params *p,
                      const char *repo, const char *path, char *err, size_t errlen)
{
    int rc = MODELS_OK;
    hex[0] = '\0';
    unsigned char *block = malloc(HUB_VERIFY_BLOCK);
    if (!block)
        return util_errf(err, errlen, MODELS_ERR_NOMEM, "out of memory");
    util_sha256_ctx ctx;
    util_sha256_init(&ctx);
    long long done = 0;
    while (done < len) {
        if (p->cancel && atomic_load(p->cancel)) {
            rc = util_errf(err, errlen, MODELS_ERR_CANCELLED, "cancelled while verifying '%s'",
                           path);
            goto cleanup;
        }
        size_t want = len - done < HUB_VERIFY_BLOCK ? (size_t)(len - done) : HUB_VERIFY_BLOCK;
        ssize_t n = pread(fd, block, want, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = util_errf(err, errlen, MODELS_ERR_IO, "cannot read '%s' at byte %lld: %s", path,
                           done, n < 0 ? strerror(errno) : "the file is shorter than expected");
            goto cleanup;
        }
        util_sha256_update(&ctx, block, (size_t)n);
        done += n;
        if (p->progress)
            p->progress(repo, done, len, true, p->progress_user_data);
    }
    unsigned char digest[UTIL_SHA256_LEN];
    util_sha256_final(&ctx, digest);
    util_sha256_to_hex(digest, hex);

cleanup:
    free(block);
    return rc;
}

void models__redact(char *msg, size_t cap, const char *secret)
{
    if (!msg || !secret || cap == 0)
        return;
    size_t slen = strlen(secret), rlen = strlen(REDACTED);
    if (slen < REDACT_MIN_LEN)
        return;
    char *hit;
    char *from = msg;
    while ((hit = strstr(from, secret)) != NULL) {
        size_t tail = strlen(hit + slen);
        size_t room = cap - (size_t)(hit - msg) - 1; /* bytes usable from hit on */
        if (rlen > room)
            rlen = room;
        size_t keep = tail < room - rlen ? tail : room - rlen;
        memmove(hit + rlen, hit + slen, keep);
        memcpy(hit, REDACTED, rlen);
        hit[rlen + keep] = '\0';
        from = hit + rlen;
    }
}
