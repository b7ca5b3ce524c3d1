/* transfer: one HTTP GET of a model file into its partial file, with libcurl.
 *
 * The partial file is the only place bytes go. A resumed request carries
 * "Range: bytes=N-" (N = the bytes already there); what comes back decides
 * where the body lands, and that is settled on the first body byte, when
 * the final status (after the hub's redirect to its CDN) is known:
 *   206  appended at N, but only when Content-Range says it starts at N;
 *   200  the server ignored the range: the file is truncated and rewritten;
 *   416  nothing is written: the file already holds the whole object (or
 *        more), and the caller verifies it;
 *   else an error page, kept (bounded) only to quote in the message.
 * A body larger than the expected size (or MODELS__MAX_FILE_BYTES when the
 * size is unknown) is cut off: a server cannot fill the disk.
 */
#include "models/internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "util/util.h"

#define TRANSFER_USER_AGENT "cesar/" CESAR_VERSION
#define TRANSFER_PROTOCOLS "http,https"
#define TRANSFER_PROGRESS_INTERVAL 0.1 /* seconds between progress reports */
#define TRANSFER_HEADER_MAX MODELS__HEADER_MAX /* longest header value kept */
#define TRANSFER_ERROR_BODY_MAX 512    /* bytes of an error page kept for the message */

typedef enum { MODE_UNDECIDED, MODE_FILE, MODE_DISCARD } write_mode;

typedef struct {
    const models__transfer *t;
    CURL *curl;
    write_mode mode;
    long long pos;           /* where the next body byte goes */
    long long base;          /* file bytes before this response's body */
    long long limit;         /* the file may not grow past this */
    long long received;
    long long total;         /* the whole file's size when a response said it */
    bool restarted;
    bool cancelled, too_large, bad_range;
    int write_errno;
    double last_report;
    char content_range[TRANSFER_HEADER_MAX];
    char error_message[TRANSFER_HEADER_MAX]; /* the hub's X-Error-Message */
    int responses;           /* status lines seen (one per redirect hop) */
    char linked_etag[TRANSFER_HEADER_MAX];   /* first X-Linked-Etag of the chain */
    char first_etag[TRANSFER_HEADER_MAX];    /* ETag of the first response */
    char linked_size[TRANSFER_HEADER_MAX];   /* first X-Linked-Size of the chain */
    char error_body[TRANSFER_ERROR_BODY_MAX + 1];
    size_t error_body_len;
} job;

static void copy_value(char *dst, const char *src, size_t n)
{
    while (n > 0 && (*src == ' ' || *src == '\t')) {
        src++;
        n--;
    }
    while (n > 0 && (src[n - 1] == '\r' || src[n - 1] == '\n' || src[n - 1] == ' '))
        n--;
    if (n >= TRANSFER_HEADER_MAX)
        n = TRANSFER_HEADER_MAX - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Keeps the headers the decisions need; a status line starts a new response
 * (each redirect hop has one), so what a 302 said is forgotten — except
 * what the hub announces about the file (X-Linked-*), which only its first
 * response carries. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    job *j = user;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        j->content_range[0] = '\0';
        j->error_message[0] = '\0';
        j->responses++;
    } else if (n > 14 && strncasecmp(data, "X-Linked-Etag:", 14) == 0) {
        if (!j->linked_etag[0])
            copy_value(j->linked_etag, data + 14, n - 14);
    } else if (n > 14 && strncasecmp(data, "X-Linked-Size:", 14) == 0) {
        if (!j->linked_size[0])
            copy_value(j->linked_size, data + 14, n - 14);
    } else if (n > 5 && strncasecmp(data, "ETag:", 5) == 0) {
        if (j->responses == 1)
            copy_value(j->first_etag, data + 5, n - 5);
    } else if (n > 14 && strncasecmp(data, "Content-Range:", 14) == 0) {
        copy_value(j->content_range, data + 14, n - 14);
    } else if (n > 16 && strncasecmp(data, "X-Error-Message:", 16) == 0) {
        copy_value(j->error_message, data + 16, n - 16);
    }
    return n;
}

/* "bytes START-END/TOTAL" (TOTAL may be "*"). */
static bool parse_content_range(const char *s, long long *start, long long *total)
{
    long long a, b;
    char tail[32];
    if (sscanf(s, "bytes %lld-%lld/%31s", &a, &b, tail) != 3 || a < 0 || b < a)
        return false;
    *start = a;
    *total = strcmp(tail, "*") == 0 ? 0 : strtoll(tail, NULL, 10);
    return true;
}

static void decide_mode(job *j)
{
    long status = 0;
    curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &status);
    j->mode = MODE_DISCARD;
    if (status == 200) {
        j->restarted = j->t->offset > 0;
        if (ftruncate(j->t->fd, 0) != 0) {
            j->write_errno = errno;
            return;
        }
        if (j->t->hash)
            util_sha1_init(j->t->hash); /* the bytes it held are being replaced */
        j->pos = j->base = 0;
        curl_off_t len = -1;
        curl_easy_getinfo(j->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        j->total = len > 0 ? (long long)len : 0;
        j->mode = MODE_FILE;
    } else if (status == 206) {
        long long start, total;
        if (!parse_content_range(j->content_range, &start, &total) || start != j->t->offset) {
            j->bad_range = true;
            return;
        }
        j->pos = j->base = start;
        j->total = total;
        j->mode = MODE_FILE;
    }
}

static bool write_all(job *j, const char *data, size_t n)
{
    if (j->t->hash)
        util_sha1_update(j->t->hash, data, n); /* a failed write aborts the transfer */
    while (n > 0) {
        ssize_t w = pwrite(j->t->fd, data, n, (off_t)j->pos);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            j->write_errno = errno;
            return false;
        }
        data += w;
        n -= (size_t)w;
        j->pos += w;
    }
    return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    job *j = user;
    size_t n = size * nmemb; /* size is 1 by libcurl's contract */
    if (j->mode == MODE_UNDECIDED)
        decide_mode(j);
    if (j->bad_range || j->write_errno)
        return 0;
    if (j->t->p->cancel && atomic_load(j->t->p->cancel)) {
        j->cancelled = true;
        return 0;
    }
    if (j->mode == MODE_DISCARD) {
        size_t room = TRANSFER_ERROR_BODY_MAX - j->error_body_len;
        size_t take = n < room ? n : room;
        memcpy(j->error_body + j->error_body_len, data, take);
        j->error_body_len += take;
        j->error_body[j->error_body_len] = '\0';
        return n;
    }
    if ((long long)n > j->limit - j->pos) {
        j->too_large = true;
        return 0;
    }
    if (!write_all(j, data, n))
        return 0;
    j->received += (long long)n;
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    job *j = user;
    const models_pull_params *p = j->t->p;
    if (p->cancel && atomic_load(p->cancel)) {
        j->cancelled = true;
        return 1;
    }
    double now = util_now_seconds();
    if (!p->progress || now - j->last_report < TRANSFER_PROGRESS_INTERVAL)
        return 0;
    j->last_report = now;
    long long base = j->mode == MODE_FILE ? j->base : j->t->offset;
    long long total = j->t->expect > 0 ? j->t->expect
                      : j->total > 0   ? j->total
                      : dltotal > 0    ? base + (long long)dltotal
                                       : 0;
    p->progress(base + (long long)dlnow, total, false, p->progress_user_data);
    return 0;
}

#define SET(opt, val)                                                                            \
    do {                                                                                         \
        if (c == CURLE_OK)                                                                       \
            c = curl_easy_setopt(curl, opt, val);                                                \
    } while (0)

static CURLcode setup(CURL *curl, job *j, char *range, size_t range_len, char *curl_err)
{
    const models_pull_params *p = j->t->p;
    CURLcode c = CURLE_OK;
    SET(CURLOPT_URL, j->t->url);
    SET(CURLOPT_ERRORBUFFER, curl_err);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERAGENT, TRANSFER_USER_AGENT);
    SET(CURLOPT_PROTOCOLS_STR, TRANSFER_PROTOCOLS);
    SET(CURLOPT_REDIR_PROTOCOLS_STR, j->t->https_only ? "https" : TRANSFER_PROTOCOLS);
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, (long)(p->max_redirects > 0 ? p->max_redirects : 0));
    if (p->connect_timeout_ms > 0)
        SET(CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    if (p->total_timeout_ms > 0)
        SET(CURLOPT_TIMEOUT_MS, p->total_timeout_ms);
    if (p->stall_timeout_s > 0) {
        SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
        SET(CURLOPT_LOW_SPEED_TIME, p->stall_timeout_s);
    }
    if (p->token && *p->token) {
        /* as an auth credential, which libcurl withholds from a redirect to
         * another host (the CDN needs none, and must not see it) */
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        SET(CURLOPT_XOAUTH2_BEARER, p->token);
    }
    if (j->t->offset > 0) {
        snprintf(range, range_len, "%lld-", j->t->offset);
        SET(CURLOPT_RANGE, range);
    }
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, j);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, j);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, j);
    return c;
}

static int http_error(const job *j, long status, char *err, size_t errlen)
{
    const char *url = j->t->url;
    const char *why = j->error_message[0] ? j->error_message : NULL;
    const char *hint = "";
    if (status == 401 || status == 403)
        hint = "; the repository may need an access token (hf_token / HF_TOKEN), or the base "
               "URL (models_url) may be wrong";
    else if (status == 404)
        hint = "; check the model name and the base URL (models_url)";
    int code = status == 401 ? MODELS_ERR_AUTH : status == 403 ? MODELS_ERR_FORBIDDEN
                                                                : MODELS_ERR_HTTP;
    if (why)
        return util_errf(err, errlen, code, "GET %s: HTTP %ld (%s)%s", url, status, why, hint);
    return util_errf(err, errlen, code, "GET %s: HTTP %ld%s", url, status, hint);
}

/* The transfer's outcome as a models_err; the callbacks' flags come first,
 * since they know why libcurl was stopped. */
static int classify(const job *j, CURLcode cc, const char *curl_err, char *err, size_t errlen)
{
    const char *url = j->t->url;
    long status = 0;
    curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &status);
    if (j->cancelled)
        return util_errf(err, errlen, MODELS_ERR_CANCELLED, "download of %s cancelled", url);
    if (j->write_errno)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot write the download of %s: %s", url,
                         strerror(j->write_errno));
    if (j->bad_range)
        return util_errf(err, errlen, MODELS_ERR_NETWORK, "GET %s: asked for bytes from %lld, "
                         "the server answered 206 with Content-Range '%s'", url, j->t->offset,
                         j->content_range);
    if (j->too_large)
        return util_errf(err, errlen, MODELS_ERR_VERIFY, "GET %s: the server sent more than the "
                         "%lld bytes expected", url, j->limit);
    if (cc == CURLE_OK && status >= 400 && status != 416)
        return http_error(j, status, err, errlen);
    if (cc == CURLE_OK && status != 200 && status != 206 && status != 416)
        return util_errf(err, errlen, MODELS_ERR_HTTP, "GET %s: unexpected HTTP status %ld", url,
                         status);
    if (cc == CURLE_OK)
        return MODELS_OK;
    const char *detail = curl_err[0] ? curl_err : curl_easy_strerror(cc);
    if (cc == CURLE_PARTIAL_FILE)
        return util_errf(err, errlen, MODELS_ERR_NETWORK, "GET %s: the connection closed after "
                         "%lld bytes of the file (%s); the next pull resumes from there", url,
                         j->pos, detail);
    if (cc == CURLE_OUT_OF_MEMORY)
        return util_errf(err, errlen, MODELS_ERR_NOMEM, "out of memory");
    return util_errf(err, errlen, MODELS_ERR_NETWORK, "GET %s: %s", url, detail);
}

/* "W/\"abc\"" or "\"abc\"" -> "abc". */
static void unquote_etag(char *dst, const char *src, size_t n)
{
    if (strncmp(src, "W/", 2) == 0)
        src += 2;
    size_t len = strlen(src);
    if (len >= 2 && src[0] == '"' && src[len - 1] == '"') {
        src++;
        len -= 2;
    }
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void report_headers(const job *j, models__transfer_result *result)
{
    unquote_etag(result->etag, j->linked_etag[0] ? j->linked_etag : j->first_etag,
                 sizeof result->etag);
    char *end = NULL;
    long long size = strtoll(j->linked_size, &end, 10);
    result->linked_size = end && end != j->linked_size && *end == '\0' && size > 0 ? size : 0;
    result->total = j->mode == MODE_FILE ? j->total : 0;
    util_strlcpy(result->error_message, j->error_message, sizeof result->error_message);
}

int models__transfer_run(const models__transfer *t, models__transfer_result *result, char *err,
                         size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "", range[32];
    job j;
    memset(&j, 0, sizeof j);
    memset(result, 0, sizeof *result);
    j.t = t;
    j.last_report = -1;
    j.limit = t->expect > 0      ? t->expect
              : t->max_bytes > 0 ? t->max_bytes
                                 : MODELS__MAX_FILE_BYTES;
    int rc = fetch_global_init(err, errlen) == FETCH_OK ? MODELS_OK : MODELS_ERR_NETWORK;
    if (rc != MODELS_OK)
        return rc;
    j.curl = curl_easy_init();
    if (!j.curl)
        return util_errf(err, errlen, MODELS_ERR_NOMEM, "cannot create a libcurl handle");
    CURLcode cc = setup(j.curl, &j, range, sizeof range, curl_err);
    if (cc != CURLE_OK) {
        rc = util_errf(err, errlen, MODELS_ERR_NETWORK, "cannot set up the download of %s: %s",
                       t->url, curl_easy_strerror(cc));
        goto cleanup;
    }
    cc = curl_easy_perform(j.curl);
    curl_easy_getinfo(j.curl, CURLINFO_RESPONSE_CODE, &result->status);
    if (cc == CURLE_OK && j.mode == MODE_UNDECIDED && result->status == 200)
        decide_mode(&j); /* an empty 200 body still replaces the partial file */
    rc = classify(&j, cc, curl_err, err, errlen);
    result->received = j.received;
    result->restarted = j.restarted;
    result->range_refused = rc == MODELS_OK && result->status == 416;
    result->size = j.mode == MODE_FILE ? j.pos : t->offset;
    report_headers(&j, result);

cleanup:
    curl_easy_cleanup(j.curl);
    return rc;
}
