/* fetch internals of links and yt-dlp, shared between link.c, ytdlp.c and
 * their unit tests: the URL splitter behind fetch_classify and
 * fetch_cache_key, and the pure parsers of yt-dlp's output (progress lines,
 * the error line worth showing a user). Not part of the public API. */
#ifndef CESAR_FETCH_INTERNAL_YT_H
#define CESAR_FETCH_INTERNAL_YT_H

#include <stdbool.h>
#include <stddef.h>

#include "fetch/fetch.h"

/* URLs longer than this are refused: no real audio or video link comes
 * close, and a bound keeps job rows and log lines small. */
#define FETCH__URL_MAX 8192

/* The parts of an http(s) URL. Every span points into the string given to
 * fetch__url_parse (borrowed, valid while it is). */
typedef struct {
    bool https;       /* scheme is https (else http) */
    const char *host; /* without brackets for IPv6 literals */
    size_t host_len;  /* > 0 */
    bool host_ipv6;   /* host was a [bracketed] literal */
    int port;         /* -1 when absent or empty */
    const char *path; /* "" or starts with '/' */
    size_t path_len;
    const char *query; /* after '?', NULL when there is no '?' */
    size_t query_len;
    /* the fragment (after '#') is accepted and ignored: it never reaches
     * the server */
} fetch__url;

/* Splits url into its parts and checks what the module relies on: length
 * <= FETCH__URL_MAX, no whitespace or control characters, an http or https
 * scheme (any case), no user:password@, a non-empty host of sane
 * characters, a port in 1..65535. FETCH_OK or FETCH_ERR_INVALID_URL with a
 * message naming the problem. Pure. */
int fetch__url_parse(const char *url, fetch__url *u, char *err, size_t errlen);

/* One line of yt-dlp's stdout (without its newline). True when it reports
 * download progress: *done gets the bytes so far and *total the expected
 * size (-1 when unknown). Understands the machine-readable line fetch_ytdlp
 * asks for with --progress-template and, as a fallback, yt-dlp's default
 * "[download]  42.5% of 3.20MiB ..." lines (where sizes are approximate). */
bool fetch__ytdlp_progress_line(const char *line, long long *done, long long *total);

/* The message to show for a failed run: the last line of stderr_text that
 * starts with "ERROR:", without that prefix and without the bug-report
 * advice and "(caused by ...)" detail yt-dlp appends, into out (capacity n).
 * Falls back to the last non-empty line. Empty when there is nothing. */
void fetch__ytdlp_error_line(const char *stderr_text, char *out, size_t n);

#endif
