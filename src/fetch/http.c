/* http: direct http(s) downloads with libcurl's easy interface.
 *
 * Everything about the transfer comes from outside, so every dimension has
 * a limit: redirects (max_redirects), time (connect and total timeouts),
 * size (the announced Content-Length through CURLOPT_MAXFILESIZE_LARGE and
 * the bytes actually received, counted in the write callback, because a
 * server need not announce anything), protocols (http and https only, for
 * redirects too) and addresses (every socket libcurl opens passes through
 * on_open_socket, which applies fetch__address_blocked to the address
 * about to be connected; checking the hostname or the first DNS answer
 * instead would miss redirects and DNS rebinding).
 *
 * Invariant: the body only ever goes to a temporary file in dest_path's
 * directory (never to memory); dest_path appears by rename() only when the
 * whole body has arrived and been fsync()ed, and on any failure the
 * temporary file is unlinked, so a failed call leaves nothing behind. */
#include "fetch/internal.h"
#include "util/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HTTP_USER_AGENT "cesar/" CESAR_VERSION
#define HTTP_PROTOCOLS "http,https"
#define HTTP_TEMP_NAME ".cesar-download-XXXXXX"
#define HTTP_PROGRESS_INTERVAL 0.1 /* seconds between progress reports */
#define HTTP_MIB (1024LL * 1024LL)

/* ---- global initialisation --------------------------------------------- */

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_init_rc = CURLE_FAILED_INIT;

static void http_init_once(void)
{
    http_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int fetch_global_init(char *err, size_t errlen)
{
    /* curl_global_init is not thread-safe and must run once; pthread_once
     * gives both, and makes later calls (one per download) nearly free. */
    pthread_once(&http_once, http_init_once);
    if (http_init_rc != CURLE_OK)
        return util_errf(err, errlen, FETCH_ERR_NETWORK, "cannot initialise libcurl: %s",
                         curl_easy_strerror(http_init_rc));
    return FETCH_OK;
}

/* ---- one download ------------------------------------------------------- */

typedef struct {
    const fetch_params *p;
    int fd;                /* the temporary file */
    long long written;     /* body bytes written to fd */
    bool too_large;        /* the write callback hit max_bytes */
    int write_errno;       /* non-zero: writing fd failed with this */
    bool cancelled;        /* p->cancel was seen set */
    bool exempt_next;      /* test hook: the next socket skips the check */
    bool last_refused;     /* the most recent socket was refused */
    char refused_why[128]; /* fetch__address_blocked's reason for it */
    double last_report;    /* when progress was last called; < 0 = never */
    double fraction;       /* the last fraction reported; -1 = none yet */
} http_job;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    http_job *j = user;
    size_t n = size * nmemb; /* size is 1 by libcurl's contract */
    long long max = j->p->max_bytes;
    if (max > 0 && (long long)n > max - j->written) {
        j->too_large = true;
        return 0; /* anything but n makes libcurl stop with CURLE_WRITE_ERROR */
    }
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(j->fd, data + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            j->write_errno = errno;
            return 0;
        }
        done += (size_t)w;
    }
    j->written += (long long)n;
    return n;
}

static void report_progress(http_job *j, curl_off_t total, curl_off_t now_bytes)
{
    double f = j->fraction;
    /* Only a known total gives a fraction. Once one was reported, an
     * unknown total (the next hop of a redirect, before its headers) keeps
     * the last value rather than going back to -1. */
    if (total > 0) {
        double g = (double)now_bytes / (double)total;
        if (g > 1.0)
            g = 1.0;
        if (g > f)
            f = g;
    }
    j->fraction = f;
    j->p->progress(f, j->written, j->p->progress_user_data);
}

/* libcurl calls this often while it works, and about once a second when
 * nothing moves, which makes it the place to poll for cancellation too. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    http_job *j = user;
    (void)ultotal;
    (void)ulnow;
    if (j->p->cancel && atomic_load(j->p->cancel)) {
        j->cancelled = true;
        return 1; /* non-zero aborts with CURLE_ABORTED_BY_CALLBACK */
    }
    if (!j->p->progress)
        return 0;
    double now = util_now_seconds();
    if (j->last_report >= 0 && now - j->last_report < HTTP_PROGRESS_INTERVAL)
        return 0;
    j->last_report = now;
    report_progress(j, dltotal, dlnow);
    return 0;
}

static curl_socket_t on_open_socket(void *user, curlsocktype purpose, struct curl_sockaddr *address)
{
    http_job *j = user;
    (void)purpose; /* only IPCXN for http(s); every purpose gets the check */
    bool exempt = j->exempt_next;
    j->exempt_next = false;
    if (!j->p->allow_private && !exempt) {
        /* address->addr is declared as a plain sockaddr, but libcurl
         * stores the whole address behind it; addrlen says how much. */
        bool short_v6 =
            address->family == AF_INET6 && address->addrlen < (unsigned)sizeof(struct sockaddr_in6);
        if (short_v6) {
            util_strlcpy(j->refused_why, "a truncated IPv6 address", sizeof j->refused_why);
            j->last_refused = true;
            return CURL_SOCKET_BAD;
        }
        if (fetch__address_blocked(&address->addr, j->refused_why, sizeof j->refused_why)) {
            j->last_refused = true;
            return CURL_SOCKET_BAD;
        }
    }
    j->last_refused = false;
    /* close-on-exec: a yt-dlp child started by another thread must not
     * inherit the connection */
    int s = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    return s < 0 ? CURL_SOCKET_BAD : s;
}

static bool has_http_scheme(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static void describe_bytes(long long bytes, char *out, size_t n)
{
    if (bytes >= HTTP_MIB && bytes % HTTP_MIB == 0)
        snprintf(out, n, "%lld MB", bytes / HTTP_MIB);
    else if (bytes >= HTTP_MIB)
        snprintf(out, n, "%.1f MB", (double)bytes / (double)HTTP_MIB);
    else
        snprintf(out, n, "%lld bytes", bytes);
}

#define HTTP_SET(opt, val)                                                                         \
    do {                                                                                           \
        if (c == CURLE_OK)                                                                         \
            c = curl_easy_setopt(curl, opt, val);                                                  \
    } while (0)

static CURLcode setup(CURL *curl, http_job *j, const char *url, char *curl_err)
{
    const fetch_params *p = j->p;
    CURLcode c = CURLE_OK;
    HTTP_SET(CURLOPT_URL, url);
    HTTP_SET(CURLOPT_ERRORBUFFER, curl_err);
    /* signals (for DNS timeouts) are process-wide: wrong in a thread pool */
    HTTP_SET(CURLOPT_NOSIGNAL, 1L);
    HTTP_SET(CURLOPT_USERAGENT, HTTP_USER_AGENT);
    /* A proxy would make the address check see the proxy instead of the
     * target, and the proxy would connect anywhere for us; so never use
     * one, even when http_proxy is set in the environment. */
    HTTP_SET(CURLOPT_PROXY, "");
    HTTP_SET(CURLOPT_PROTOCOLS_STR, HTTP_PROTOCOLS);
    HTTP_SET(CURLOPT_REDIR_PROTOCOLS_STR, HTTP_PROTOCOLS);
    HTTP_SET(CURLOPT_FOLLOWLOCATION, 1L);
    HTTP_SET(CURLOPT_MAXREDIRS, (long)(p->max_redirects > 0 ? p->max_redirects : 0));
    /* an error page is not the file: stop at the status, before its body */
    HTTP_SET(CURLOPT_FAILONERROR, 1L);
    if (p->connect_timeout_ms > 0)
        HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    if (p->total_timeout_ms > 0)
        HTTP_SET(CURLOPT_TIMEOUT_MS, p->total_timeout_ms);
    if (p->max_bytes > 0)
        HTTP_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->max_bytes);
    HTTP_SET(CURLOPT_WRITEFUNCTION, on_body);
    HTTP_SET(CURLOPT_WRITEDATA, j);
    HTTP_SET(CURLOPT_NOPROGRESS, 0L);
    HTTP_SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    HTTP_SET(CURLOPT_XFERINFODATA, j);
    HTTP_SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    HTTP_SET(CURLOPT_OPENSOCKETDATA, j);
    return c;
}

/* Turns the transfer's outcome into a fetch_err and a message. The
 * callbacks' own flags come first: they know why libcurl was stopped,
 * where libcurl only says "write error" or "could not connect". */
static int classify(CURL *curl, CURLcode cc, const http_job *j, double seconds,
                    const char *curl_err, char *err, size_t errlen)
{
    const fetch_params *p = j->p;
    const char *detail = curl_err[0] ? curl_err : curl_easy_strerror(cc);
    char limit[32];
    describe_bytes(p->max_bytes, limit, sizeof limit);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OK) {
        /* without FOLLOWLOCATION's help (a 3xx without Location) or a
         * 1xx, what arrived is not the file either */
        if (status < 200 || status >= 300)
            return util_errf(err, errlen, FETCH_ERR_HTTP,
                             "the server answered with HTTP status %ld", status);
        return FETCH_OK;
    }
    if (j->cancelled)
        return util_errf(err, errlen, FETCH_ERR_CANCELLED, "download cancelled");
    if (j->too_large)
        return util_errf(err, errlen, FETCH_ERR_TOO_LARGE, "the file is larger than the %s limit",
                         limit);
    if (j->write_errno)
        return util_errf(err, errlen, FETCH_ERR_IO, "cannot write the download: %s",
                         strerror(j->write_errno));
    if (j->last_refused)
        return util_errf(err, errlen, FETCH_ERR_BLOCKED,
                         "refused to connect to %s: set allow_private_urls = true to allow "
                         "private addresses",
                         j->refused_why);
    curl_off_t announced = -1;
    long redirects = 0;
    switch (cc) {
    case CURLE_FILESIZE_EXCEEDED:
        /* libcurl 7.88 stops on the Content-Length header before it
         * records it, so the announced size is not available to quote */
        return util_errf(err, errlen, FETCH_ERR_TOO_LARGE,
                         "the file is larger than the %s limit (by its announced size)", limit);
    case CURLE_TOO_MANY_REDIRECTS:
        return util_errf(err, errlen, FETCH_ERR_REDIRECTS,
                         "too many redirects: more than the limit of %d",
                         p->max_redirects > 0 ? p->max_redirects : 0);
    case CURLE_HTTP_RETURNED_ERROR:
        return util_errf(err, errlen, FETCH_ERR_HTTP, "the server answered with HTTP status %ld",
                         status);
    case CURLE_OPERATION_TIMEDOUT:
        /* libcurl has one code for both limits; the clock tells them apart */
        if (p->total_timeout_ms > 0 && seconds * 1000.0 >= (double)p->total_timeout_ms * 0.95)
            return util_errf(err, errlen, FETCH_ERR_TIMEOUT,
                             "the download did not finish within %ld ms (%s)", p->total_timeout_ms,
                             detail);
        return util_errf(err, errlen, FETCH_ERR_TIMEOUT, "timed out after %.1f s (%s)", seconds,
                         detail);
    case CURLE_PARTIAL_FILE:
        curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
        return util_errf(err, errlen, FETCH_ERR_NETWORK, "the server sent %lld of %lld bytes",
                         j->written, (long long)announced);
    case CURLE_UNSUPPORTED_PROTOCOL:
        curl_easy_getinfo(curl, CURLINFO_REDIRECT_COUNT, &redirects);
        if (redirects > 0)
            return util_errf(err, errlen, FETCH_ERR_BLOCKED,
                             "refused a redirect to a link that is not http or https (%s)", detail);
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                         "only http and https links can be downloaded (%s)", detail);
    case CURLE_URL_MALFORMAT:
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "malformed URL (%s)", detail);
    case CURLE_OUT_OF_MEMORY:
        return util_errf(err, errlen, FETCH_ERR_NOMEM, "out of memory");
    default:
        return util_errf(err, errlen, FETCH_ERR_NETWORK, "%s", detail);
    }
}

/* Makes the finished temporary file durable and moves it to dest_path.
 * On success *tmp is emptied: the file has a new name and must survive. */
static int commit(http_job *j, char *tmp, const char *dest_path, const char *dir, char *err,
                  size_t errlen)
{
    if (fsync(j->fd) != 0)
        return util_errf(err, errlen, FETCH_ERR_IO, "%s: cannot sync: %s", tmp, strerror(errno));
    int fd = j->fd;
    j->fd = -1;
    if (close(fd) != 0)
        return util_errf(err, errlen, FETCH_ERR_IO, "%s: cannot close: %s", tmp, strerror(errno));
    if (rename(tmp, dest_path) != 0)
        return util_errf(err, errlen, FETCH_ERR_IO, "cannot rename %s to %s: %s", tmp, dest_path,
                         strerror(errno));
    tmp[0] = '\0';
    /* Best effort: the file is complete and in place either way; a failed
     * directory sync only weakens what survives a power cut. */
    util_fsync_dir(dir);
    return FETCH_OK;
}

int fetch__http_ex(const char *url, const char *dest_path, const fetch_params *p,
                   const fetch__http_hooks *hooks, char *err, size_t errlen)
{
    int rc = FETCH_OK;
    CURL *curl = NULL;
    char dir[PATH_MAX];
    char tmp[PATH_MAX] = "";
    char curl_err[CURL_ERROR_SIZE] = "";
    CURLcode c = CURLE_OK;
    double start = 0.0;
    http_job j = {.p = p, .fd = -1, .last_report = -1.0, .fraction = -1.0};

    if (!url || !dest_path || !p) {
        rc = util_errf(err, errlen, FETCH_ERR_INVALID_URL, "no URL or destination given");
        goto cleanup;
    }
    /* libcurl would guess http for "example.com/a.wav"; the caller should
     * have said what it meant */
    if (!has_http_scheme(url)) {
        rc = util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                       "only http and https links can be downloaded");
        goto cleanup;
    }
    rc = fetch_global_init(err, errlen);
    if (rc != FETCH_OK)
        goto cleanup;
    j.exempt_next = hooks && hooks->exempt_first_connection;

    util_path_dirname(dest_path, dir, sizeof dir);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/%s", dir, HTTP_TEMP_NAME) >= sizeof tmp) {
        tmp[0] = '\0';
        rc = util_errf(err, errlen, FETCH_ERR_IO, "%s: path too long", dest_path);
        goto cleanup;
    }
    /* mkostemp's 0600 stays: the download is the server's working file,
     * not something to share with other users of the machine */
    j.fd = mkostemp(tmp, O_CLOEXEC);
    if (j.fd < 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "%s: cannot create a temporary file: %s", dir,
                       strerror(errno));
        tmp[0] = '\0';
        goto cleanup;
    }

    curl = curl_easy_init();
    if (!curl) {
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    c = setup(curl, &j, url, curl_err);
    if (c != CURLE_OK) {
        rc = util_errf(err, errlen, c == CURLE_OUT_OF_MEMORY ? FETCH_ERR_NOMEM : FETCH_ERR_NETWORK,
                       "cannot set up the download: %s", curl_easy_strerror(c));
        goto cleanup;
    }
    start = util_now_seconds();
    c = curl_easy_perform(curl);
    rc = classify(curl, c, &j, util_now_seconds() - start, curl_err, err, errlen);
    if (rc != FETCH_OK)
        goto cleanup;
    rc = commit(&j, tmp, dest_path, dir, err, errlen);
    if (rc == FETCH_OK && p->progress)
        p->progress(1.0, j.written, p->progress_user_data);

cleanup:
    if (curl)
        curl_easy_cleanup(curl);
    if (j.fd >= 0)
        close(j.fd);
    if (rc != FETCH_OK && tmp[0])
        unlink(tmp);
    return rc;
}

int fetch_http(const char *url, const char *dest_path, const fetch_params *p, char *err,
               size_t errlen)
{
    return fetch__http_ex(url, dest_path, p, NULL, err, errlen);
}
