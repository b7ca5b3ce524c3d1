/* hub_fetch: installing one file of a Hugging Face repository (as the
 * pyannote models are published) with an access token.
 *
 * The protocol is the hub's: GET HUB/<repo>/resolve/main/<file> with
 * "Authorization: Bearer TOKEN"; for large (LFS) files the hub's answer is a
 * redirect to its CDN carrying X-Linked-Etag (the file's SHA-256, quoted)
 * and X-Linked-Size. Bytes go to the partial file beside the final one,
 * resumed with Range like the Whisper pull (transfer.c does the HTTP), and
 * the file is installed only by rename() after fsync() and a size and
 * SHA-256 check. A connection that drops after delivering some bytes is
 * resumed at once, up to max_attempts transfers.
 *
 * Invariants: the token leaves only as a Bearer credential, which libcurl
 * keeps from a redirect to another host; a redirect from an https hub may
 * only lead to https; no message carries the token (models__redact scrubs
 * anything a server echoed back).
 */
#include "models/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define FETCH_URL_MAX 4096
#define FETCH_NOTE_MAX 1024

typedef struct {
    const models_pyannote_params *p;
    const models__hub_file *f;
    models_pull_params tp; /* what transfer.c reads: token, callbacks, timeouts */
    char url[FETCH_URL_MAX];
    int fd; /* the locked partial file once open, else -1 */
} fetch_job;

/* Forwards transfer progress with the repository's name. */
static void on_progress(long long done, long long total, bool verifying, void *user_data)
{
    const fetch_job *job = user_data;
    job->p->progress(job->f->repo, done, total, verifying, job->p->progress_user_data);
}

static int prepare(fetch_job *job, char *err, size_t errlen)
{
    const models_pyannote_params *p = job->p;
    const char *hub = p->hub_url && *p->hub_url ? p->hub_url : MODELS_HUB_DEFAULT_URL;
    size_t n = strlen(hub);
    while (n > 0 && hub[n - 1] == '/')
        n--;
    int w = snprintf(job->url, sizeof job->url, "%.*s/%s/resolve/main/%s", (int)n, hub,
                     job->f->repo, job->f->file);
    if (w < 0 || (size_t)w >= sizeof job->url)
        return util_errf(err, errlen, MODELS_ERR_INSECURE, "hub URL is longer than %d bytes",
                         FETCH_URL_MAX - 200);
    job->tp = models_pull_default_params();
    job->tp.token = p->token;
    job->tp.progress = p->progress ? on_progress : NULL;
    job->tp.progress_user_data = job;
    job->tp.cancel = p->cancel;
    job->tp.connect_timeout_ms = p->connect_timeout_ms;
    job->tp.total_timeout_ms = p->total_timeout_ms;
    job->tp.stall_timeout_s = p->stall_timeout_s;
    job->tp.max_redirects = p->max_redirects;
    char dir[4096];
    util_path_dirname(job->f->final, dir, sizeof dir);
    return util_mkdir_p(dir, err, errlen) == UTIL_OK ? MODELS_OK : MODELS_ERR_IO;
}

static bool regular_file(const char *path, long long *size)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return false;
    *size = (long long)st.st_size;
    return true;
}

/* Opens and locks the partial file. *done is set when, once the lock was
 * held, the final file turned out to be there: a concurrent pull finished. */
static int open_part(fetch_job *job, bool *done, char *err, size_t errlen)
{
    *done = false;
    int rc = models__part_open(job->f->part, job->f->repo, &job->fd, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    long long size;
    struct stat st;
    if (regular_file(job->f->final, &size) && fstat(job->fd, &st) == 0 && st.st_size == 0) {
        unlink(job->f->part);
        *done = true;
    }
    return MODELS_OK;
}

/* Rewrites a 401/403/other HTTP error of the transfer into what the user
 * has to do about it. */
static int http_failure(const fetch_job *job, int rc, const models__transfer_result *tr,
                        char *err, size_t errlen)
{
    const models_pyannote_params *p = job->p;
    const char *where = p->token_where ? p->token_where : "the configuration";
    char said[MODELS__HEADER_MAX + 8] = "";
    if (tr->error_message[0])
        snprintf(said, sizeof said, " (%s)", tr->error_message);
    bool sent = p->token && *p->token;
    if (rc == MODELS_ERR_AUTH && !sent) {
        char help[FETCH_NOTE_MAX];
        models_hf_token_help(help, sizeof help);
        return util_errf(err, errlen, rc, "GET %s: HTTP 401%s: no Hugging Face token was sent; "
                         "%s", job->url, said, help);
    }
    if (rc == MODELS_ERR_AUTH)
        return util_errf(err, errlen, rc, "GET %s: HTTP 401%s: the Hugging Face token (from %s) "
                         "was rejected as invalid: check that it was copied whole and is still "
                         "listed at https://huggingface.co/settings/tokens, or create a new one",
                         job->url, said, where);
    if (rc == MODELS_ERR_FORBIDDEN)
        return util_errf(err, errlen, rc, "GET %s: HTTP 403%s: the Hugging Face token (from %s) "
                         "is valid but may not download %s: accept the conditions at "
                         "https://huggingface.co/%s with the account that owns the token",
                         job->url, said, where, job->f->repo, job->f->repo);
    return util_errf(err, errlen, rc, "GET %s: HTTP %ld%s; check hub_url", job->url, tr->status,
                     said);
}

/* Lower-cases a 64-hex-digit etag into hex; false when it is not one (a
 * git blob id, or the stand-in's size). */
static bool sha256_etag(const char *etag, char hex[65])
{
    if (strlen(etag) != 64)
        return false;
    for (int i = 0; i < 64; i++) {
        char c = etag[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        hex[i] = c;
    }
    hex[64] = '\0';
    return true;
}

/* Size and digest of the finished partial file against the announcement.
 * MODELS_ERR_VERIFY when the bytes are wrong (the caller removes them),
 * MODELS_ERR_NETWORK when some are still missing. */
static int check_part(fetch_job *job, const models__transfer_result *tr, models_hub_file_result *r,
                      char *err, size_t errlen)
{
    long long size = tr->size;
    long long expect = tr->linked_size > 0 ? tr->linked_size : tr->total;
    if (expect > 0 && size < expect)
        return util_errf(err, errlen, MODELS_ERR_NETWORK, "GET %s: the server ended the file "
                         "after %lld of %lld bytes; the next pull resumes from there", job->url,
                         size, expect);
    if (expect > 0 && size > expect)
        return util_errf(err, errlen, MODELS_ERR_VERIFY, "%s has %lld bytes, the hub announced "
                         "%lld", job->f->part, size, expect);
    if (size == 0)
        return util_errf(err, errlen, MODELS_ERR_VERIFY, "GET %s: the hub sent an empty file",
                         job->url);
    char want[65], got[65];
    if (!sha256_etag(tr->etag, want))
        return MODELS_OK; /* nothing announced to check against */
    /* one pass over the finished file: the pyannote files are tens of
     * megabytes, and it keeps the transfer digest-agnostic */
    util_sha256_ctx ctx;
    util_sha256_init(&ctx);
    int rc = models__hash_fd(job->fd, size, models__sha256_update, &ctx, job->f->part,
                             job->p->progress ? on_progress : NULL, job, job->p->cancel, err,
                             errlen);
    if (rc != MODELS_OK)
        return rc;
    unsigned char digest[UTIL_SHA256_LEN];
    util_sha256_final(&ctx, digest);
    util_sha256_to_hex(digest, got);
    if (strcmp(want, got) != 0)
        return util_errf(err, errlen, MODELS_ERR_VERIFY, "SHA-256 mismatch for %s/%s: the hub "
                         "announced %s, the download has %s", job->f->repo, job->f->file, want,
                         got);
    util_strlcpy(r->sha256, got, sizeof r->sha256);
    return MODELS_OK;
}

static int install(fetch_job *job, const models__transfer_result *tr, models_hub_file_result *r,
                   char *err, size_t errlen)
{
    if (fsync(job->fd) != 0)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot fsync '%s': %s", job->f->part,
                         strerror(errno));
    int rc = check_part(job, tr, r, err, errlen);
    if (rc == MODELS_ERR_VERIFY) /* the caller's settle removes it */
        models__part_note_removed(err, errlen, job->url, job->f->part);
    char dir[4096];
    util_path_dirname(job->f->final, dir, sizeof dir);
    if (rc == MODELS_OK)
        rc = models__part_rename(job->f->part, job->f->final, dir, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    r->bytes = tr->size;
    return MODELS_OK;
}

/* One or more transfers into the locked partial file, resuming after a
 * dropped connection that made progress. */
static int transfer(fetch_job *job, models__transfer_result *tr, models_hub_file_result *r,
                    char *err, size_t errlen)
{
    int attempts = job->p->max_attempts > 0 ? job->p->max_attempts : 1;
    int rc = MODELS_OK;
    for (int i = 0; i < attempts; i++) {
        struct stat st;
        if (fstat(job->fd, &st) != 0)
            return util_errf(err, errlen, MODELS_ERR_IO, "cannot stat '%s': %s", job->f->part,
                             strerror(errno));
        long long offset = (long long)st.st_size;
        if (offset > MODELS__HUB_MAX_FILE_BYTES) {
            if (ftruncate(job->fd, 0) != 0)
                return util_errf(err, errlen, MODELS_ERR_IO, "cannot truncate '%s': %s",
                                 job->f->part, strerror(errno));
            offset = 0;
        }
        models__transfer t = {&job->tp, job->url, job->fd, offset, 0, NULL,
                              MODELS__HUB_MAX_FILE_BYTES,
                              strncasecmp(job->url, "https://", 8) == 0};
        rc = models__transfer_run(&t, tr, err, errlen);
        r->downloaded += tr->received;
        r->resumed = r->resumed || (offset > 0 && !tr->restarted && tr->received > 0);
        if (!(rc == MODELS_ERR_NETWORK && tr->received > 0))
            break;
    }
    return rc;
}

int models__hub_fetch(const models_pyannote_params *p, const models__hub_file *f,
                      models_hub_file_result *r, char *err, size_t errlen)
{
    fetch_job job;
    memset(&job, 0, sizeof job);
    job.p = p;
    job.f = f;
    job.fd = -1;
    r->repo = f->repo;
    util_strlcpy(r->path, f->final, sizeof r->path);
    models__transfer_result tr;
    memset(&tr, 0, sizeof tr);
    bool done = false;
    int rc = prepare(&job, err, errlen);
    if (rc == MODELS_OK)
        rc = open_part(&job, &done, err, errlen);
    if (rc != MODELS_OK || done) {
        r->already_installed = done;
        goto cleanup;
    }
    rc = transfer(&job, &tr, r, err, errlen);
    if (rc == MODELS_ERR_AUTH || rc == MODELS_ERR_FORBIDDEN ||
        (rc == MODELS_ERR_HTTP && tr.status >= 400))
        rc = http_failure(&job, rc, &tr, err, errlen);
    if (rc == MODELS_OK)
        rc = install(&job, &tr, r, err, errlen);

cleanup:
    if (job.fd >= 0) {
        models__part_settle(job.fd, f->part, rc);
        close(job.fd);
    }
    if (rc != MODELS_OK)
        models__redact(err, errlen, p->token);
    return rc;
}
