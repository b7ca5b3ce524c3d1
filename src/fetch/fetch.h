/* fetch: getting audio from a link. Direct http(s) downloads through
 * libcurl (streamed to disk, redirects, timeouts, a size cap, and SSRF
 * protection on the address actually connected to), YouTube videos through
 * the yt-dlp program run as a child process, and a content-addressed
 * download cache. Nothing here decodes audio: callers probe what was
 * downloaded with the audio module.
 *
 * Errors. Functions return a fetch_err and write a message into the
 * caller-owned buffer err (capacity errlen; may be NULL/0). Every error has
 * a stable code for job rows and API clients (fetch_error_code).
 *
 * Threads: no global state except libcurl's, which fetch_global_init sets
 * up once (call it before any thread runs a download; it is idempotent).
 */
#ifndef CESAR_FETCH_H
#define CESAR_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    FETCH_OK = 0,
    FETCH_ERR_INVALID_URL,      /* "invalid_url": not http(s), malformed, playlist-only */
    FETCH_ERR_BLOCKED,          /* "url_blocked": private/loopback/link-local/multicast target */
    FETCH_ERR_TOO_LARGE,        /* "file_too_large": over max_bytes */
    FETCH_ERR_HTTP,             /* "download_failed": HTTP status >= 400 (message has it) */
    FETCH_ERR_REDIRECTS,        /* "download_failed": more than max_redirects */
    FETCH_ERR_TIMEOUT,          /* "network_error": connect or total timeout */
    FETCH_ERR_NETWORK,          /* "network_error": DNS, refused, reset, short body */
    FETCH_ERR_AGE_RESTRICTED,   /* "age_restricted" */
    FETCH_ERR_VIDEO_PRIVATE,    /* "video_private" */
    FETCH_ERR_GEO_RESTRICTED,   /* "geo_restricted" */
    FETCH_ERR_VIDEO_UNAVAILABLE,/* "video_unavailable" */
    FETCH_ERR_RATE_LIMITED,     /* "rate_limited" */
    FETCH_ERR_YTDLP_MISSING,    /* "ytdlp_missing" */
    FETCH_ERR_FFMPEG_MISSING,   /* "ffmpeg_missing" */
    FETCH_ERR_DOWNLOAD_FAILED,  /* "download_failed": anything else yt-dlp reports */
    FETCH_ERR_IO,               /* "internal": a local file could not be written */
    FETCH_ERR_CANCELLED,        /* "cancelled" */
    FETCH_ERR_NOMEM,            /* "internal" */
} fetch_err;

const char *fetch_strerror(int code);
/* The stable API code of an error ("url_blocked", "age_restricted" ...);
 * "internal" for codes without a better one. */
const char *fetch_error_code(int code);

int fetch_global_init(char *err, size_t errlen);

/* ---- links ------------------------------------------------------------- */

typedef enum {
    FETCH_LINK_HTTP = 0, /* a direct http(s) URL */
    FETCH_LINK_YOUTUBE,  /* a YouTube video */
} fetch_link_kind;

#define FETCH_VIDEO_ID_MAX 64

/* Decides what url is. YouTube video links in every usual form
 * (youtube.com/watch?v=ID, youtu.be/ID, /shorts/ID, /embed/ID, /v/ID, on
 * www., m. and music. hosts, with or without extra query parameters) give
 * FETCH_LINK_YOUTUBE and the video id (case preserved) in video_id;
 * a playlist-only link (youtube.com/playlist?list=...) is
 * FETCH_ERR_INVALID_URL with a message saying so; other http(s) URLs are
 * FETCH_LINK_HTTP; anything else (no scheme, ftp:, file:, spaces, no host)
 * is FETCH_ERR_INVALID_URL naming the problem. Pure. */
int fetch_classify(const char *url, fetch_link_kind *kind, char video_id[FETCH_VIDEO_ID_MAX],
                   char *err, size_t errlen);

/* The name a link's media goes by, for a transcript's source: a YouTube
 * video's id, else the last segment of the URL's path (without query or
 * fragment), truncated to n - 1 bytes; "" when that segment is empty (no
 * path, or one ending in '/'). Pure. */
void fetch_link_name(const char *url, char *out, size_t n);

/* ---- downloads ---------------------------------------------------------- */

/* fraction 0..1 when the total is known, -1 when not; bytes so far. Called
 * on the downloading thread, at most every ~0.1 s; fractions never
 * decrease within one download. */
typedef void (*fetch_progress_cb)(double fraction, long long bytes, void *user_data);

typedef struct {
    long connect_timeout_ms; /* default 10 000 */
    long total_timeout_ms;   /* default 3 600 000 (an hour); 0 = none */
    long long max_bytes;     /* default 2 GiB, as uploads; 0 = no cap */
    int max_redirects;       /* default 5 */
    bool allow_private;      /* default false: refuse private/loopback targets */
    const char *ytdlp_path;  /* default "yt-dlp" (looked up in PATH) */
    fetch_progress_cb progress;
    void *progress_user_data;
    /* Polled often; when non-zero the download stops within about a
     * second, a yt-dlp child is killed and partial files are removed.
     * Borrowed; may be NULL. */
    const atomic_int *cancel;
} fetch_params;

fetch_params fetch_default_params(void);

/* Downloads a direct http(s) URL to dest_path: streamed through
 * dest_path's directory as a temporary file renamed into place, so
 * dest_path exists only complete. Refuses with FETCH_ERR_BLOCKED any
 * connection (the first or after a redirect) to a loopback, private,
 * link-local, multicast, unspecified or otherwise non-public address unless
 * allow_private. A body shorter than its Content-Length is
 * FETCH_ERR_NETWORK; longer than max_bytes (announced or actual) is
 * FETCH_ERR_TOO_LARGE. On any failure nothing is left at dest_path or in
 * its directory from this call. */
int fetch_http(const char *url, const char *dest_path, const fetch_params *p, char *err,
               size_t errlen);

/* Downloads the audio of a YouTube video (id from fetch_classify) with
 * yt-dlp into dir: argument vector, audio only, --no-playlist, progress
 * from yt-dlp's output. On success *out_path (malloc'd, caller frees) is
 * the file yt-dlp wrote. On failure or cancel the child is gone and no
 * file of this call is left in dir; the error is classified from yt-dlp's
 * messages (fetch_ytdlp_classify). url is passed to yt-dlp as given, so
 * tests may point it at a local server (yt-dlp's generic extractor). */
int fetch_ytdlp(const char *url, const char *dir, const fetch_params *p, char **out_path,
                char *err, size_t errlen);

/* Maps yt-dlp's error output (its stderr) to an error class. Pure. */
fetch_err fetch_ytdlp_classify(const char *stderr_text);

/* For /health: whether yt-dlp runs (its --version into version) and
 * whether ffmpeg is on PATH (*ffmpeg). On false, err says why. */
bool fetch_ytdlp_available(const char *ytdlp_path, char *version, size_t version_len,
                           bool *ffmpeg, char *err, size_t errlen);

/* ---- the download cache ------------------------------------------------- */

typedef struct fetch_cache fetch_cache;

typedef struct {
    const char *dir;          /* cache directory (created if missing); no default */
    double max_age_seconds;   /* default 86 400 (24 h); <= 0: every get misses */
    long long max_bytes;      /* default 10 GiB; oldest entries evicted past it; <= 0 = no cap */
} fetch_cache_params;

fetch_cache_params fetch_cache_default_params(void);

/* Creates p->dir if needed and checks it is a writable directory (the
 * error names it). Caller owns *out; close with fetch_cache_close. A handle
 * is not for concurrent use by threads; processes may share the directory. */
int fetch_cache_open(fetch_cache **out, const fetch_cache_params *p, char *err, size_t errlen);
void fetch_cache_close(fetch_cache *c); /* NULL-safe */

/* The cache key of a link: "yt:" + video id for YouTube, else "url:" +
 * the URL normalised (scheme and host lower-cased, default port and
 * fragment dropped, path and query kept byte for byte). *key is malloc'd.
 * Same errors as fetch_classify. */
int fetch_cache_key(const char *url, char **key, char *err, size_t errlen);

/* Looks key up: on a fresh hit copies (or hard-links) the entry to
 * dest_path and returns FETCH_OK with *hit true; a stale entry is removed
 * and *hit is false. On a miss dest_path is not created. dest_path may share
 * its inode with the entry: delete or replace it, never modify it in place. */
int fetch_cache_get(fetch_cache *c, const char *key, const char *dest_path, bool *hit,
                    char *err, size_t errlen);

/* Stores the file at src_path under key (copy via temp + rename, so a
 * crash never leaves a half entry that looks valid), then evicts oldest
 * entries while the cache is over max_bytes. A file larger than max_bytes
 * on its own is not stored, and that is still FETCH_OK. */
int fetch_cache_put(fetch_cache *c, const char *key, const char *src_path, char *err,
                    size_t errlen);

/* ---- one call for callers: link -> file ---------------------------------- */

typedef struct {
    fetch_params net;             /* timeouts, size cap, private targets, yt-dlp, progress, cancel */
    const char *cache_dir;        /* NULL/"" = no cache */
    double cache_max_age_seconds; /* default 86 400 */
    long long cache_max_bytes;    /* default 10 GiB */
    bool no_cache;                /* neither read nor write the cache */
} fetch_get_params;

fetch_get_params fetch_get_default_params(void);

/* Gets the file behind any link fetch_classify accepts into dir: a fresh
 * cached copy when there is one (and !no_cache), else a download (fetch_http
 * or fetch_ytdlp), which is then stored in the cache (unless no_cache). The
 * cache never makes a download fail: its errors count as misses. Entries
 * made with allow_private are seen only by calls with allow_private, so
 * turning it off also stops serving what was fetched from private
 * addresses. On
 * success *out_path (malloc'd; caller frees and eventually removes the
 * file) is a new file in dir and *from_cache (may be NULL) says where it
 * came from; on failure nothing of this call is left in dir. What the file
 * holds is not checked: callers probe it as audio. */
int fetch_get(const char *url, const char *dir, const fetch_get_params *p, char **out_path,
              bool *from_cache, char *err, size_t errlen);

#endif
