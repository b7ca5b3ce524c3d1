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
} models__transfer;

typedef struct {
    long status;         /* the final HTTP status; 0 when none arrived */
    long long size;      /* bytes in the file afterwards */
    long long received;  /* body bytes written by this transfer */
    bool restarted;      /* the server ignored the Range and sent everything */
    bool range_refused;  /* 416: the partial file holds at least the whole file */
} models__transfer_result;

/* GETs t->url into t->fd: with a Range header when t->offset > 0; a 206
 * appends at t->offset (its Content-Range must start there), a 200 replaces
 * the file's contents, a 416 is reported in result->range_refused without
 * touching the file. Follows redirects. Other statuses are MODELS_ERR_HTTP
 * with the URL, the status and the hub's X-Error-Message when present. */
/* Feeds the first len bytes of the open file fd (named path in messages)
 * into ctx, reporting progress with verifying = true (verify.c). */
int models__hash_fd(int fd, long long len, util_sha1_ctx *ctx, const char *path,
                    models_progress_fn progress, void *user_data, const atomic_int *cancel,
                    char *err, size_t errlen);

int models__transfer_run(const models__transfer *t, models__transfer_result *result, char *err,
                         size_t errlen);

#endif
