/* errors: the fetch module's short error names, the stable API codes that
 * job rows and API clients see, and the default download parameters. The
 * detailed message (which URL, which address, which status) goes into the
 * caller's buffer; these strings never change with circumstances.
 *
 * The API codes are deliberately coarser than fetch_err: a client needs to
 * know "the network failed", not whether it was a timeout or a reset. */
#include "fetch/fetch.h"

const char *fetch_strerror(int code)
{
    switch (code) {
    case FETCH_OK: return "ok";
    case FETCH_ERR_INVALID_URL: return "invalid URL";
    case FETCH_ERR_BLOCKED: return "URL blocked";
    case FETCH_ERR_TOO_LARGE: return "file too large";
    case FETCH_ERR_HTTP: return "HTTP error";
    case FETCH_ERR_REDIRECTS: return "too many redirects";
    case FETCH_ERR_TIMEOUT: return "timed out";
    case FETCH_ERR_NETWORK: return "network error";
    case FETCH_ERR_AGE_RESTRICTED: return "video is age-restricted";
    case FETCH_ERR_VIDEO_PRIVATE: return "video is private";
    case FETCH_ERR_GEO_RESTRICTED: return "video is not available in this region";
    case FETCH_ERR_VIDEO_UNAVAILABLE: return "video unavailable";
    case FETCH_ERR_RATE_LIMITED: return "rate limited";
    case FETCH_ERR_YTDLP_MISSING: return "yt-dlp not found";
    case FETCH_ERR_FFMPEG_MISSING: return "ffmpeg not found";
    case FETCH_ERR_DOWNLOAD_FAILED: return "download failed";
    case FETCH_ERR_IO: return "input/output error";
    case FETCH_ERR_CANCELLED: return "cancelled";
    case FETCH_ERR_NOMEM: return "out of memory";
    default: return "unknown error";
    }
}

const char *fetch_error_code(int code)
{
    switch (code) {
    case FETCH_OK: return "ok";
    case FETCH_ERR_INVALID_URL: return "invalid_url";
    case FETCH_ERR_BLOCKED: return "url_blocked";
    case FETCH_ERR_TOO_LARGE: return "file_too_large";
    case FETCH_ERR_HTTP:
    case FETCH_ERR_REDIRECTS:
    case FETCH_ERR_DOWNLOAD_FAILED: return "download_failed";
    case FETCH_ERR_TIMEOUT:
    case FETCH_ERR_NETWORK: return "network_error";
    case FETCH_ERR_AGE_RESTRICTED: return "age_restricted";
    case FETCH_ERR_VIDEO_PRIVATE: return "video_private";
    case FETCH_ERR_GEO_RESTRICTED: return "geo_restricted";
    case FETCH_ERR_VIDEO_UNAVAILABLE: return "video_unavailable";
    case FETCH_ERR_RATE_LIMITED: return "rate_limited";
    case FETCH_ERR_YTDLP_MISSING: return "ytdlp_missing";
    case FETCH_ERR_FFMPEG_MISSING: return "ffmpeg_missing";
    case FETCH_ERR_CANCELLED: return "cancelled";
    /* A local disk or memory failure is the server's problem, not the
     * link's: clients see the same code as for any other internal fault. */
    case FETCH_ERR_IO:
    case FETCH_ERR_NOMEM:
    default: return "internal";
    }
}

fetch_params fetch_default_params(void)
{
    fetch_params p = {
        .connect_timeout_ms = 10000,
        .total_timeout_ms = 3600000,
        /* the same cap as uploads, so a link is no way around it */
        .max_bytes = 2LL * 1024 * 1024 * 1024,
        .max_redirects = 5,
        .allow_private = false,
        .ytdlp_path = "yt-dlp",
        .progress = NULL,
        .progress_user_data = NULL,
        .cancel = NULL,
    };
    return p;
}
