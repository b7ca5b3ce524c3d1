/* link: what a pasted link is. A small URL splitter (fetch__url_parse)
 * checks the things the rest of the module relies on — http or https, a
 * host, no whitespace, a bounded length — and fetch_classify recognises the
 * YouTube video links people actually paste (watch?v=, youtu.be, shorts,
 * embed, /v/, /live/ on the www., m. and music. hosts) so they go to yt-dlp
 * while every other link is downloaded directly. fetch_cache_key turns a
 * link into the key of the download cache.
 *
 * Invariant: a YouTube result always carries an id of exactly 11 characters
 * from [A-Za-z0-9_-], case preserved, so the id is safe to put on a command
 * line or in a file name. Links on YouTube hosts that are not one video
 * (playlists, channels, search) are refused here rather than downloaded as
 * an HTML page that would fail much later as "not audio". */
#include "fetch/internal_yt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define YT_ID_LEN 11

typedef enum {
    YT_HOST_NONE = 0,
    YT_HOST_MAIN,     /* youtube.com and its www., m., music. hosts */
    YT_HOST_SHORT,    /* youtu.be */
    YT_HOST_NOCOOKIE, /* youtube-nocookie.com: embeds only */
} yt_host;

static const char *const playlist_msg =
    "the link is a playlist, not a video; paste the link of one video";

/* ---- the URL splitter --------------------------------------------------- */

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Case-insensitive (ASCII) comparison of a span with a NUL-terminated word. */
static bool span_ieq(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != lower((unsigned char)word[i]))
            return false;
    return true;
}

static bool span_eq(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* Length of the scheme at the start of url ([A-Za-z][A-Za-z0-9+.-]*) when a
 * ':' follows it, else 0. */
static size_t scheme_len(const char *url)
{
    size_t i = 0;
    if (!is_alpha((unsigned char)url[0]))
        return 0;
    while (is_alpha((unsigned char)url[i]) || is_digit((unsigned char)url[i]) || url[i] == '+' ||
           url[i] == '-' || url[i] == '.')
        i++;
    return url[i] == ':' ? i : 0;
}

/* Checks the scheme and returns the offset just past "://", or 0 with err
 * set. */
static size_t parse_scheme(const char *url, fetch__url *u, char *err, size_t errlen)
{
    size_t n = scheme_len(url);
    /* "youtube.com:443/x" or "localhost:8080" are a host and port without
     * a scheme, not a scheme called "youtube.com": say what is missing. */
    bool looks_like_host =
        n == 0 || memchr(url, '.', n) != NULL || is_digit((unsigned char)url[n + 1]);
    if (looks_like_host) {
        util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                  "the link has no scheme; it must start with http:// or https://");
        return 0;
    }
    if (!span_ieq(url, n, "http") && !span_ieq(url, n, "https")) {
        util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                  "'%.*s:' links are not supported; use an http:// or https:// link",
                  (int)(n > 16 ? 16 : n), url);
        return 0;
    }
    if (strncmp(url + n, "://", 3) != 0) {
        util_errf(err, errlen, FETCH_ERR_INVALID_URL, "'%.*s:' must be followed by '//' and a host",
                  (int)n, url);
        return 0;
    }
    u->https = n == 5;
    return n + 3;
}

static bool host_char_ok(unsigned char c)
{
    /* Letters, digits and the unreserved marks of RFC 3986; '%' for
     * percent-encoded names; bytes >= 0x80 for internationalised names,
     * which libcurl converts. Sub-delimiters ("!$&'()*+,;=") are legal in
     * theory but only ever appear in attacks on URL parsers. */
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%' ||
           c >= 0x80;
}

/* Parses "host[:port]" or "[v6]:port" in a (length n). */
static int parse_authority(const char *a, size_t n, fetch__url *u, char *err, size_t errlen)
{
    if (memchr(a, '@', n))
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                         "the link contains a user name or password (before '@'); "
                         "remove them");
    size_t i = 0;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                             "the IPv6 address in the link has no closing ']'");
        u->host = a + 1;
        u->host_len = (size_t)(close - a) - 1;
        u->host_ipv6 = true;
        for (size_t k = 0; k < u->host_len; k++) {
            unsigned char c = (unsigned char)u->host[k];
            if (!is_hex(c) && c != ':' && c != '.')
                return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                                 "the IPv6 address in the link contains '%c'", c);
        }
        i = (size_t)(close - a) + 1;
        if (i < n && a[i] != ':')
            return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                             "unexpected '%c' after the IPv6 address in the link", a[i]);
    } else {
        while (i < n && a[i] != ':')
            i++;
        u->host = a;
        u->host_len = i;
        for (size_t k = 0; k < u->host_len; k++) {
            unsigned char c = (unsigned char)u->host[k];
            if (!host_char_ok(c))
                return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                                 "the host name in the link contains '%c'", c);
        }
    }
    if (u->host_len == 0)
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "the link has no host name");
    if (u->host_len > 253)
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                         "the host name in the link is longer than 253 characters");
    if (i < n) { /* a[i] == ':' */
        const char *p = a + i + 1;
        size_t plen = n - i - 1;
        long port = 0;
        for (size_t k = 0; k < plen; k++) {
            if (!is_digit((unsigned char)p[k]) || port > 65535)
                return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                                 "the port '%.*s' in the link is not a number from 1 to 65535",
                                 (int)(plen > 16 ? 16 : plen), p);
            port = port * 10 + (p[k] - '0');
        }
        if (plen > 0 && (port < 1 || port > 65535))
            return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                             "the port '%.*s' in the link is not a number from 1 to 65535",
                             (int)(plen > 16 ? 16 : plen), p);
        /* "host:" with an empty port means the default one (RFC 3986) */
        u->port = plen > 0 ? (int)port : -1;
    }
    return FETCH_OK;
}

int fetch__url_parse(const char *url, fetch__url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->port = -1;
    u->path = "";
    if (!url || !url[0])
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "the link is empty");
    size_t len = strnlen(url, FETCH__URL_MAX + 1);
    if (len > FETCH__URL_MAX)
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "the link is longer than %d bytes",
                         FETCH__URL_MAX);
    /* Whitespace first: a link pasted with a space in it is the most common
     * mistake, and naming the position helps more than a vaguer message
     * about whichever part it landed in. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f)
            return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                             "the link contains %s at position %zu",
                             c == ' '                                ? "a space"
                             : (c == '\t' || c == '\n' || c == '\r') ? "a tab or line break"
                                                                     : "a control character",
                             i + 1);
    }
    size_t at = parse_scheme(url, u, err, errlen);
    if (at == 0)
        return FETCH_ERR_INVALID_URL;
    size_t auth_len = strcspn(url + at, "/?#");
    int rc = parse_authority(url + at, auth_len, u, err, errlen);
    if (rc != FETCH_OK)
        return rc;
    const char *rest = url + at + auth_len;
    u->path = rest;
    u->path_len = strcspn(rest, "?#");
    rest += u->path_len;
    if (*rest == '?') {
        u->query = rest + 1;
        u->query_len = strcspn(u->query, "#");
    }
    return FETCH_OK;
}

/* ---- YouTube ------------------------------------------------------------ */

static yt_host youtube_host(const fetch__url *u)
{
    if (u->host_ipv6)
        return YT_HOST_NONE;
    size_t n = u->host_len;
    if (n > 0 && u->host[n - 1] == '.') /* "youtube.com." is the same name */
        n--;
    static const char *const main_hosts[] = {"youtube.com", "www.youtube.com", "m.youtube.com",
                                             "music.youtube.com"};
    for (size_t i = 0; i < sizeof main_hosts / sizeof main_hosts[0]; i++)
        if (span_ieq(u->host, n, main_hosts[i]))
            return YT_HOST_MAIN;
    if (span_ieq(u->host, n, "youtu.be"))
        return YT_HOST_SHORT;
    if (span_ieq(u->host, n, "youtube-nocookie.com") ||
        span_ieq(u->host, n, "www.youtube-nocookie.com"))
        return YT_HOST_NOCOOKIE;
    return YT_HOST_NONE;
}

/* The value of query parameter name (first occurrence), or NULL. */
static const char *query_param(const fetch__url *u, const char *name, size_t *vlen)
{
    const char *q = u->query, *end = u->query ? u->query + u->query_len : NULL;
    size_t nlen = strlen(name);
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *part_end = amp ? amp : end;
        if ((size_t)(part_end - q) > nlen && memcmp(q, name, nlen) == 0 && q[nlen] == '=') {
            *vlen = (size_t)(part_end - q) - nlen - 1;
            return q + nlen + 1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* Checks a candidate id and copies it into id. */
static int take_id(const char *s, size_t n, char id[FETCH_VIDEO_ID_MAX], char *err, size_t errlen)
{
    if (n == 0)
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "the YouTube link has no video id");
    bool ok = n == YT_ID_LEN;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ok = is_alpha(c) || is_digit(c) || c == '-' || c == '_';
    }
    if (!ok)
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                         "'%.*s%s' is not a YouTube video id (those are 11 letters, digits, "
                         "'-' or '_'); check that the link is complete",
                         (int)(n > 40 ? 40 : n), s, n > 40 ? "..." : "");
    memcpy(id, s, n);
    id[n] = '\0';
    return FETCH_OK;
}

/* The path segment after prefix ("/shorts/") when path starts with it:
 * up to the next '/', or the end. */
static bool path_segment(const fetch__url *u, const char *prefix, const char **seg, size_t *n)
{
    size_t plen = strlen(prefix);
    if (u->path_len < plen || memcmp(u->path, prefix, plen) != 0)
        return false;
    *seg = u->path + plen;
    const char *slash = memchr(*seg, '/', u->path_len - plen);
    *n = slash ? (size_t)(slash - *seg) : u->path_len - plen;
    return true;
}

static int youtube_main(const fetch__url *u, char id[FETCH_VIDEO_ID_MAX], char *err, size_t errlen)
{
    const char *seg;
    size_t n;
    if (span_eq(u->path, u->path_len, "/watch") || span_eq(u->path, u->path_len, "/watch/")) {
        /* v wins over list: a video opened from a playlist is that video
         * (yt-dlp runs with --no-playlist) */
        const char *v = query_param(u, "v", &n);
        if (v)
            return take_id(v, n, id, err, errlen);
        if (query_param(u, "list", &n))
            return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "%s", playlist_msg);
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                         "the YouTube link has no video id (no v= parameter)");
    }
    if (span_eq(u->path, u->path_len, "/playlist") || span_eq(u->path, u->path_len, "/playlist/"))
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "%s", playlist_msg);
    static const char *const prefixes[] = {"/shorts/", "/embed/", "/v/", "/live/"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (!path_segment(u, prefixes[i], &seg, &n))
            continue;
        /* /embed/videoseries?list=... is the embedded player of a playlist */
        if (span_eq(seg, n, "videoseries"))
            return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "%s", playlist_msg);
        return take_id(seg, n, id, err, errlen);
    }
    return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                     "the link is a YouTube page, not a video; paste the link of one video");
}

static int youtube_id(const fetch__url *u, yt_host host, char id[FETCH_VIDEO_ID_MAX], char *err,
                      size_t errlen)
{
    const char *seg = "";
    size_t n = 0;
    switch (host) {
    case YT_HOST_MAIN:
        return youtube_main(u, id, err, errlen);
    case YT_HOST_SHORT:
        /* an empty path leaves seg "" and n 0: "has no video id" */
        path_segment(u, "/", &seg, &n);
        return take_id(seg, n, id, err, errlen);
    case YT_HOST_NOCOOKIE:
        if (path_segment(u, "/embed/", &seg, &n)) {
            if (span_eq(seg, n, "videoseries"))
                return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "%s", playlist_msg);
            return take_id(seg, n, id, err, errlen);
        }
        return util_errf(err, errlen, FETCH_ERR_INVALID_URL,
                         "the youtube-nocookie.com link is not a video embed (/embed/ID)");
    case YT_HOST_NONE:
        break;
    }
    return util_errf(err, errlen, FETCH_ERR_INVALID_URL, "not a YouTube link");
}

/* fetch_classify on an already split URL. */
static int classify_parsed(const fetch__url *u, fetch_link_kind *kind, char id[FETCH_VIDEO_ID_MAX],
                           char *err, size_t errlen)
{
    yt_host host = youtube_host(u);
    if (host == YT_HOST_NONE) {
        *kind = FETCH_LINK_HTTP;
        return FETCH_OK;
    }
    int rc = youtube_id(u, host, id, err, errlen);
    if (rc == FETCH_OK)
        *kind = FETCH_LINK_YOUTUBE;
    return rc;
}

int fetch_classify(const char *url, fetch_link_kind *kind, char video_id[FETCH_VIDEO_ID_MAX],
                   char *err, size_t errlen)
{
    fetch_link_kind k = FETCH_LINK_HTTP;
    char id[FETCH_VIDEO_ID_MAX] = "";
    fetch__url u;
    int rc = fetch__url_parse(url, &u, err, errlen);
    if (rc == FETCH_OK)
        rc = classify_parsed(&u, &k, id, err, errlen);
    if (rc != FETCH_OK)
        id[0] = '\0';
    if (kind)
        *kind = k;
    if (video_id)
        memcpy(video_id, id, sizeof id);
    return rc;
}

/* ---- cache keys --------------------------------------------------------- */

/* "url:" + the normalised URL: scheme and host lower-cased (ASCII only; an
 * internationalised name keeps its bytes), the default port and the
 * fragment dropped, an empty path written as "/" (what the request says
 * anyway), path and query byte for byte — they are case-sensitive on most
 * servers, and re-encoding them could merge two different resources. */
static int url_key(const fetch__url *u, util_buf *b)
{
    int rc = util_buf_puts(b, u->https ? "url:https://" : "url:http://");
    if (rc == UTIL_OK && u->host_ipv6)
        rc = util_buf_putc(b, '[');
    for (size_t i = 0; rc == UTIL_OK && i < u->host_len; i++)
        rc = util_buf_putc(b, (char)lower((unsigned char)u->host[i]));
    if (rc == UTIL_OK && u->host_ipv6)
        rc = util_buf_putc(b, ']');
    int default_port = u->https ? 443 : 80;
    if (rc == UTIL_OK && u->port > 0 && u->port != default_port)
        rc = util_buf_printf(b, ":%d", u->port);
    if (rc == UTIL_OK)
        rc = u->path_len ? util_buf_append(b, u->path, u->path_len) : util_buf_putc(b, '/');
    if (rc == UTIL_OK && u->query) {
        rc = util_buf_putc(b, '?');
        if (rc == UTIL_OK)
            rc = util_buf_append(b, u->query, u->query_len);
    }
    return rc;
}

int fetch_cache_key(const char *url, char **key, char *err, size_t errlen)
{
    util_buf b = UTIL_BUF_INIT(0);
    fetch_link_kind kind = FETCH_LINK_HTTP;
    char id[FETCH_VIDEO_ID_MAX] = "";
    fetch__url u;
    *key = NULL;
    int rc = fetch__url_parse(url, &u, err, errlen);
    if (rc != FETCH_OK)
        goto cleanup;
    rc = classify_parsed(&u, &kind, id, err, errlen);
    if (rc != FETCH_OK)
        goto cleanup;
    /* A video is the same whichever of its links was pasted, so YouTube
     * keys are the id alone. */
    if (kind == FETCH_LINK_YOUTUBE)
        rc = util_buf_printf(&b, "yt:%s", id) == UTIL_OK ? FETCH_OK : FETCH_ERR_NOMEM;
    else
        rc = url_key(&u, &b) == UTIL_OK ? FETCH_OK : FETCH_ERR_NOMEM;
    if (rc != FETCH_OK) {
        util_errf(err, errlen, rc, "out of memory building a cache key");
        goto cleanup;
    }
    *key = util_buf_take(&b);
    if (!*key)
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "out of memory building a cache key");
cleanup:
    util_buf_free(&b);
    return rc;
}

void fetch_link_name(const char *url, char *out, size_t n)
{
    fetch_link_kind kind;
    char id[FETCH_VIDEO_ID_MAX];
    if (n == 0)
        return;
    if (fetch_classify(url, &kind, id, NULL, 0) == FETCH_OK && kind == FETCH_LINK_YOUTUBE) {
        util_strlcpy(out, id, n);
        return;
    }
    const char *start = strstr(url, "://");
    start = start ? start + 3 : url;
    size_t end = strcspn(start, "?#");
    const char *seg = start + end; /* empty unless the path has a '/' */
    for (size_t i = 0; i < end; i++)
        if (start[i] == '/')
            seg = start + i + 1;
    size_t len = (size_t)(start + end - seg);
    if (len >= n)
        len = n - 1;
    memcpy(out, seg, len);
    out[len] = '\0';
}
