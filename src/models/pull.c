/* pull: installing one model — check what is already there, download the
 * rest into the partial file, verify, and rename into place.
 *
 * Invariant: ggml-NAME.bin only ever appears through rename() of a partial
 * file that was fsync()ed and whose size and (unless verification is off)
 * SHA-1 matched the catalog. The partial file is kept when the transfer
 * failed or was cancelled (the next pull resumes it) and removed when its
 * contents are known bad (too long, wrong digest) or it is still empty. An
 * exclusive flock() on the partial file keeps two pulls of the same model
 * from writing it at once.
 */
#include "models/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define PULL_URL_MAX 4096

typedef struct {
    const models_pull_params *p;
    const models_entry *entry;
    char final[4096], part[4096], url[PULL_URL_MAX];
    int fd;
} pull_job;

models_pull_params models_pull_default_params(void)
{
    models_pull_params p;
    memset(&p, 0, sizeof p);
    p.base_url = "https://huggingface.co/ggerganov/whisper.cpp";
    p.connect_timeout_ms = 10000;
    p.total_timeout_ms = 0;
    p.stall_timeout_s = 120;
    p.max_redirects = 5;
    return p;
}

static int build_url(pull_job *job, char *err, size_t errlen)
{
    const char *base = job->p->base_url;
    if (!base || !*base)
        base = models_pull_default_params().base_url;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    int w = snprintf(job->url, sizeof job->url, "%.*s/resolve/main/ggml-%s.bin", (int)n, base,
                     job->entry->name);
    if (w < 0 || (size_t)w >= sizeof job->url)
        return util_errf(err, errlen, MODELS_ERR_NAME, "models base URL is longer than %d bytes",
                         PULL_URL_MAX - 100);
    return MODELS_OK;
}

static int prepare(pull_job *job, const models_catalog *c, char *err, size_t errlen)
{
    const models_pull_params *p = job->p;
    if (!p->name || !*p->name)
        return util_errf(err, errlen, MODELS_ERR_NAME, "no model name given");
    if (models_is_path(p->name))
        return util_errf(err, errlen, MODELS_ERR_NAME, "'%s' is a path, not a model name",
                         p->name);
    if (!models_valid_name(p->name)) /* for its message */
        return models_resolve("", p->name, job->final, sizeof job->final, err, errlen);
    job->entry = models_find(c, p->name);
    if (!job->entry)
        return util_errf(err, errlen, MODELS_ERR_NAME, "unknown model '%s'", p->name);
    if (!job->entry->sha1[0] && !p->no_verify)
        return util_errf(err, errlen, MODELS_ERR_UNVERIFIABLE, "no SHA-1 is known for model "
                         "'%s': add one to the models_catalog file, or pull with --no-verify",
                         p->name);
    if (!p->models_dir || !*p->models_dir)
        return util_errf(err, errlen, MODELS_ERR_IO, "no models directory given");
    int rc = models_resolve(p->models_dir, p->name, job->final, sizeof job->final, err, errlen);
    if (rc == MODELS_OK)
        rc = models_part_path(p->models_dir, p->name, job->part, sizeof job->part, err, errlen);
    if (rc == MODELS_OK)
        rc = build_url(job, err, errlen);
    if (rc == MODELS_OK && util_mkdir_p(p->models_dir, err, errlen) != UTIL_OK)
        rc = MODELS_ERR_IO;
    return rc;
}

/* Size and SHA-1 of path against the entry. The digest is `digest` when
 * the caller already has it (hashed while downloading), else read from the
 * file. MODELS_OK when they match (the digest, when there is one, goes to
 * hex), MODELS_ERR_VERIFY with the reason in err when not, or the error
 * that stopped the check. */
static int check_file(const pull_job *job, const char *path, long long size, const char *digest,
                      char hex[41], char *err, size_t errlen)
{
    const models_pull_params *p = job->p;
    const models_entry *e = job->entry;
    hex[0] = '\0';
    if (e->size > 0 && size != e->size)
        return util_errf(err, errlen, MODELS_ERR_VERIFY, "%s has %lld bytes, expected %lld", path,
                         size, e->size);
    if (p->no_verify || !e->sha1[0])
        return MODELS_OK;
    int rc = MODELS_OK;
    if (digest)
        util_strlcpy(hex, digest, 41);
    else
        rc = models_file_sha1(path, hex, p->progress, p->progress_user_data, p->cancel, err,
                              errlen);
    if (rc != MODELS_OK)
        return rc;
    if (strcmp(hex, e->sha1) != 0)
        return util_errf(err, errlen, MODELS_ERR_VERIFY, "SHA-1 mismatch for ggml-%s.bin: "
                         "expected %s, got %s", e->name, e->sha1, hex);
    return MODELS_OK;
}

/* True (with result filled) when the installed file is already right. */
static bool installed_ok(pull_job *job, models_pull_result *r, int *rc, char *err, size_t errlen)
{
    struct stat st;
    char hex[41], why[512];
    *rc = MODELS_OK;
    if (stat(job->final, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    int check = check_file(job, job->final, (long long)st.st_size, NULL, hex, why, sizeof why);
    if (check == MODELS_ERR_VERIFY)
        return false; /* damaged: download again, replace only when the new one passes */
    if (check != MODELS_OK) {
        *rc = util_errf(err, errlen, check, "%s", why);
        return false;
    }
    r->already_installed = true;
    r->bytes = (long long)st.st_size;
    util_strlcpy(r->sha1, hex, sizeof r->sha1);
    return true;
}

static int open_part(pull_job *job, long long *offset, char *err, size_t errlen)
{
    char what[MODELS_NAME_MAX + 16];
    snprintf(what, sizeof what, "model '%s'", job->entry->name);
    int rc = models__part_open(job->part, what, &job->fd, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    struct stat st;
    if (fstat(job->fd, &st) != 0)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot stat '%s': %s", job->part,
                         strerror(errno));
    *offset = (long long)st.st_size;
    if (job->entry->size > 0 && *offset > job->entry->size) {
        /* longer than the model can be: nothing in it is worth keeping */
        if (ftruncate(job->fd, 0) != 0)
            return util_errf(err, errlen, MODELS_ERR_IO, "cannot truncate '%s': %s", job->part,
                             strerror(errno));
        *offset = 0;
    }
    return MODELS_OK;
}

/* Verifies the finished partial file (with the digest in hash when it was
 * computed on the way in, else by reading the file) and renames it into
 * place. */
static int install(pull_job *job, long long size, util_sha1_ctx *hash, models_pull_result *r,
                   char *err, size_t errlen)
{
    char hex[41], digest[41];
    if (hash) {
        unsigned char raw[UTIL_SHA1_LEN];
        util_sha1_final(hash, raw);
        util_sha1_to_hex(raw, digest);
    }
    if (fsync(job->fd) != 0)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot fsync '%s': %s", job->part,
                         strerror(errno));
    if (job->entry->size > 0 && size < job->entry->size)
        return util_errf(err, errlen, MODELS_ERR_NETWORK, "GET %s: the server ended the file "
                         "after %lld of %lld bytes; the next pull resumes from there", job->url,
                         size, job->entry->size);
    int rc = check_file(job, job->part, size, hash ? digest : NULL, hex, err, errlen);
    if (rc == MODELS_ERR_VERIFY) {
        models__part_settle(job->fd, job->part, rc);
        models__part_note_removed(err, errlen, job->url, job->part);
    }
    if (rc == MODELS_OK)
        rc = models__part_rename(job->part, job->final, job->p->models_dir, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    r->bytes = size;
    util_strlcpy(r->sha1, hex, sizeof r->sha1);
    return MODELS_OK;
}

static int download(pull_job *job, models_pull_result *r, char *err, size_t errlen)
{
    const models_pull_params *p = job->p;
    long long offset = 0;
    bool hashing = !p->no_verify && job->entry->sha1[0];
    util_sha1_ctx hash;
    util_sha1_init(&hash);
    int rc = open_part(job, &offset, err, errlen);
    if (rc == MODELS_OK && hashing && offset > 0)
        rc = models__hash_fd(job->fd, offset, models__sha1_update, &hash, job->part,
                             p->progress, p->progress_user_data, p->cancel, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    models__transfer t = {p, job->url, job->fd, offset, job->entry->size,
                          hashing ? &hash : NULL, 0, false};
    models__transfer_result tr;
    rc = models__transfer_run(&t, &tr, err, errlen);
    r->downloaded = tr.received;
    r->resumed = offset > 0 && !tr.restarted;
    if (rc != MODELS_OK) {
        /* drop a partial file that holds nothing or is known to be wrong;
         * keep one a next pull can resume */
        models__part_settle(job->fd, job->part, rc);
        return rc;
    }
    if (job->p->progress)
        job->p->progress(tr.size, job->entry->size > 0 ? job->entry->size : tr.size, false,
                         job->p->progress_user_data);
    return install(job, tr.size, hashing ? &hash : NULL, r, err, errlen);
}

int models_pull(const models_pull_params *p, models_pull_result *result, char *err,
                size_t errlen)
{
    models_pull_result local;
    models_pull_result *r = result ? result : &local;
    pull_job job;
    memset(r, 0, sizeof *r);
    memset(&job, 0, sizeof job);
    job.p = p;
    job.fd = -1;
    int rc = prepare(&job, p->catalog ? p->catalog : models__builtin(), err, errlen);
    if (rc != MODELS_OK)
        goto cleanup;
    util_strlcpy(r->path, job.final, sizeof r->path);
    if (installed_ok(&job, r, &rc, err, errlen) || rc != MODELS_OK)
        goto cleanup;
    rc = download(&job, r, err, errlen);

cleanup:
    if (job.fd >= 0)
        close(job.fd);
    return rc;
}
