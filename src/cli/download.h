/* download: URL input for `cesar transcribe` and `cesar diarize`. An input
 * that is an http(s) link is fetched (fetch_get: cache, libcurl or yt-dlp)
 * into a private temporary directory before the pipeline sees it, with a
 * "Downloading" bar on a terminal. The directory is removed whatever
 * happens next, so a run leaves nothing in $TMPDIR. Internal to the CLI.
 */
#ifndef CESAR_CLI_DOWNLOAD_H
#define CESAR_CLI_DOWNLOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/job.h"
#include "config/config.h"

typedef struct {
    char dir[PATH_MAX];  /* the private temporary directory; "" when none */
    char *path;          /* the downloaded file inside dir; owned */
    char source[256];    /* name for the transcript: last path segment or video id */
    bool from_cache;     /* the file came from the download cache */
} cli_download;

/* True when input starts with http:// or https://, in any case. Pure. */
bool cli_download_is_url(const char *input);

/* Downloads url into a new temporary directory (under $TMPDIR, else /tmp),
 * applying the configuration's download keys; no_cache skips the cache.
 * show_bar draws a progress bar on stderr. Ctrl-C (cli_job's handler)
 * stops the download. Returns CLI_EXIT_OK with d filled, or
 * CLI_EXIT_INTERRUPTED / CLI_EXIT_FAILURE with a one-line message in err.
 * Whatever it returns, call cli_download_clear afterwards. */
int cli_download_run(const char *url, const config_values *v, bool no_cache, bool show_bar,
                     cli_download *d, char *err, size_t errlen);

/* The command's side of a link input: when input is a link, downloads it
 * (cli_download_run) and points job at the file; prints any failure, with
 * "; no <what> written" after an interruption. Returns the exit code:
 * CLI_EXIT_OK when there is nothing to download or it worked. */
int cli_download_input(cli_job *job, const char *input, const config_values *v, bool no_cache,
                       bool show_bar, const char *what, cli_download *d);

/* The rest of the run both commands share, after cli_download_input:
 * runs job (cli_job_run) and, when it gave nothing to write, clears the bar
 * and prints why: "interrupted; no <what> written", or the pipeline's
 * message (naming the URL, not the temporary file, when input is a link).
 * Returns CLI_EXIT_OK when the pipeline succeeded (the bar is left up for
 * the caller's formatting phase), CLI_EXIT_INTERRUPTED after Ctrl-C, else
 * CLI_EXIT_FAILURE (job->rc says which pipeline error, if any). */
int cli_download_run_job(cli_job *job, const char *input, const cli_download *d,
                         const char *what);

/* Removes the downloaded file and the temporary directory; NULL-safe and
 * safe to call twice. */
void cli_download_clear(cli_download *d);

/* Rewrites a pipeline message about d->path so that it names the URL
 * instead of the temporary file the user never saw. */
void cli_download_explain(const cli_download *d, const char *url, const char *msg, char *out,
                          size_t n);

#endif
