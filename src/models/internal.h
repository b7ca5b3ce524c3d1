/* models internals: the catalog's representation and the pieces of a pull
 * shared between the module's files (and its unit tests). Names carry the
 * models__ prefix; nothing here is part of the public API. */
#ifndef CESAR_MODELS_INTERNAL_H
#define CESAR_MODELS_INTERNAL_H

#include "models/models.h"
#include "util/util.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* Largest user catalog file read, and largest model file accepted when the
 * catalog does not say its size (large-v3 is about 3 GiB). */
#define MODELS__CATALOG_MAX_BYTES (1024 * 1024)
#define MODELS__MAX_FILE_BYTES (16LL * 1024 * 1024 * 1024)
/* Longest response header value kept by a transfer. */
#define MODELS__HEADER_MAX 512

struct models_catalog {
    models_entry *entries; /* count in use, alloc allocated */
    size_t count, alloc;
    char **strings;        /* owned copies the user entries point into */
    size_t n_strings, strings_alloc;
};

/* A fresh catalog holding the built-in entries. */
int models__catalog_new(models_catalog **out);
/* The built-in catalog as a static, read-only object (never freed). */
const models_catalog *models__builtin(void);
/* Reads the user catalog at path into c (catalog_file.c). */
int models__catalog_read_file(models_catalog *c, const char *path, char *err, size_t errlen);
/* Parses catalog text (len bytes; need not be NUL-terminated) into c;
 * source names it in messages ("FILE:LINE: ..."). On error c may hold the
 * entries of the lines before the bad one. */
int models__catalog_parse(models_catalog *c, const char *text, size_t len, const char *source,
                          char *err, size_t errlen);

/* ---- one HTTP transfer (transfer.c) --------------------------------------- */

typedef struct {
    const models_pull_params *p;
    const char *url;
    int fd;              /* the partial file, opened read-write */
    long long offset;    /* bytes already in it; a Range request asks for the rest */
    long long expect;    /* exact size when known, else 0 */
    util_sha1_ctx *hash; /* holds the digest of the file's first offset bytes and
                          * gets every byte written after them (restarted on a
                          * 200); NULL = no hashing */
    long long max_bytes; /* the file may not grow past this when expect is 0;
                          * 0 = MODELS__MAX_FILE_BYTES */
    bool https_only;     /* redirects may only lead to https:// URLs */
} models__transfer;

typedef struct {
    long status;         /* the final HTTP status; 0 when none arrived */
    long long size;      /* bytes in the file afterwards */
    long long received;  /* body bytes written by this transfer */
    bool restarted;      /* the server ignored the Range and sent everything */
    bool range_refused;  /* 416: the partial file holds at least the whole file */
    long long total;     /* the whole file's size as the final response gave it
                          * (Content-Length of a 200, Content-Range of a 206);
                          * 0 = unknown */
    /* What the hub announces on its first response, before the redirect to
     * its CDN: X-Linked-Etag (else that response's ETag), quotes and "W/"
     * removed, and X-Linked-Size (0 = none). Kept whatever the status. */
    char etag[MODELS__HEADER_MAX];
    long long linked_size;
    char error_message[MODELS__HEADER_MAX]; /* the final X-Error-Message; "" = none */
} models__transfer_result;

/* Adds len bytes to a running digest; ctx is the digest's own context. */
typedef void (*models__digest_update_fn)(void *ctx, const void *data, size_t len);
/* update for a util_sha1_ctx and for a util_sha256_ctx (verify.c). */
void models__sha1_update(void *ctx, const void *data, size_t len);
void models__sha256_update(void *ctx, const void *data, size_t len);

/* Feeds the first len bytes of the open file fd (named path in messages)
 * into ctx through update, reporting progress with verifying = true and
 * stopping with MODELS_ERR_CANCELLED when *cancel is set (verify.c). */
int models__hash_fd(int fd, long long len, models__digest_update_fn update, void *ctx,
                    const char *path, models_progress_fn progress, void *user_data,
                    const atomic_int *cancel, char *err, size_t errlen);

/* GETs t->url into t->fd: with a Range header when t->offset > 0; a 206
 * appends at t->offset (its Content-Range must start there), a 200 replaces
 * the file's contents, a 416 is reported in result->range_refused without
 * touching the file. Follows redirects. Other statuses are errors with the
 * URL, the status and the hub's X-Error-Message when present:
 * MODELS_ERR_AUTH for 401, MODELS_ERR_FORBIDDEN for 403, MODELS_ERR_HTTP
 * for the rest; result->status tells them apart too. */
int models__transfer_run(const models__transfer *t, models__transfer_result *result, char *err,
                         size_t errlen);

/* ---- the partial file of a download (part.c) ------------------------------- */

/* Opens (creating) the partial file part read-write into *fd and takes an
 * exclusive, non-blocking flock() on it. MODELS_ERR_BUSY, with what ("model
 * 'tiny'") named as the downloader's target, when another process holds
 * it; on any error *fd is -1 (nothing is left open). */
int models__part_open(const char *part, const char *what, int *fd, char *err, size_t errlen);
/* After a pull that ended with rc: nothing when rc is MODELS_OK, else
 * removes part when the locked fd is empty or rc is MODELS_ERR_VERIFY (its
 * bytes are wrong), and keeps it for a resume otherwise. */
void models__part_settle(int fd, const char *part, int rc);
/* Appends to the MODELS_ERR_VERIFY message in err where the bad bytes came
 * from and that the partial file was removed. */
void models__part_note_removed(char *err, size_t errlen, const char *url, const char *part);
/* Renames the checked, fsync()ed part onto final and syncs dir (the
 * directory holding both). */
int models__part_rename(const char *part, const char *final, const char *dir, char *err,
                        size_t errlen);
/* Unlinks path; *gone says whether it existed. Errors other than "it was
 * not there" are reported (remove.c). */
int models__remove_file(const char *path, bool *gone, char *err, size_t errlen);

/* ---- hub files (hub_fetch.c, pyannote.c) ------------------------------------ */

/* Largest file accepted from the hub for a model of the pyannote set. */
#define MODELS__HUB_MAX_FILE_BYTES (1024LL * 1024 * 1024)

/* One file of a hub repository to install. */
typedef struct {
    const char *repo;  /* "pyannote/segmentation-3.0" */
    const char *file;  /* "pytorch_model.bin" */
    const char *final; /* where it is installed */
    const char *part;  /* its partial file, in the same directory */
} models__hub_file;

/* Downloads f from HUB/<repo>/resolve/main/<file> with p's token and
 * settings (the URL policy and the token are the caller's to check first),
 * verifies size and SHA-256 against what the hub announced, and renames it
 * into place; see models_pyannote_pull for the errors. r->repo, r->path and
 * the counts are filled in. */
int models__hub_fetch(const models_pyannote_params *p, const models__hub_file *f,
                      models_hub_file_result *r, char *err, size_t errlen);

/* Replaces every occurrence of secret (when at least 4 characters) in msg
 * with "[token]", in place: a server could echo the token back in a header
 * a message quotes. */
void models__redact(char *msg, size_t cap, const char *secret);

#endif
