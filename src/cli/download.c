/* download: fetching a URL input before the pipeline runs. The download
 * runs on the main thread: fetch_get reports progress from inside its
 * transfer loop, which is where the bar is drawn, and polls the same
 * interrupt flag the pipeline's job watches, so Ctrl-C stops a download
 * within about a second. Everything lands in one mkdtemp directory that
 * this module owns and removes, so no outcome (success, failure,
 * interruption) leaves a file in $TMPDIR.
 */
#include "cli/download.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/job.h"
#include "fetch/fetch.h"
#include "util/util.h"

#define DOWNLOAD_LABEL "Downloading " /* as wide as "Transcribing", so bars line up */

typedef struct {
    bool show;
    bool drawn;
    double started;
} download_bar;

bool cli_download_is_url(const char *input)
{
    return input && (strncasecmp(input, "http://", 7) == 0 ||
                     strncasecmp(input, "https://", 8) == 0);
}

static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        return ws.ws_col;
    return 80;
}

static void format_bytes(long long bytes, char *buf, size_t n)
{
    if (bytes >= 1024LL * 1024 * 1024)
        snprintf(buf, n, "%.2f GB", (double)bytes / (1024.0 * 1024 * 1024));
    else if (bytes >= 1024LL * 1024)
        snprintf(buf, n, "%.1f MB", (double)bytes / (1024.0 * 1024));
    else if (bytes >= 1024)
        snprintf(buf, n, "%.0f KB", (double)bytes / 1024.0);
    else
        snprintf(buf, n, "%lld B", bytes);
}

/* fetch calls this at most every ~0.1 s, so it can draw without a timer. */
static void on_progress(double fraction, long long bytes, void *user_data)
{
    download_bar *bar = user_data;
    if (!bar->show)
        return;
    char size[32], line[512];
    format_bytes(bytes, size, sizeof size);
    /* the byte count goes after the bar, so the bar gives up its room */
    int width = terminal_width() - 1 - (int)strlen(size) - 2;
    cli_progress_render(line, sizeof line, width, DOWNLOAD_LABEL, fraction,
                        util_now_seconds() - bar->started);
    fprintf(stderr, "\r%s  %s\033[K", line, size);
    fflush(stderr);
    bar->drawn = true;
}

/* The transcript's source: a YouTube video's id, else the URL's last path
 * segment (without query or fragment), else its host. */
static void source_name(const char *url, char *out, size_t n)
{
    fetch_link_name(url, out, n);
    if (out[0] || n == 0)
        return;
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    size_t len = strcspn(host, "/?#");
    if (len >= n)
        len = n - 1;
    memcpy(out, host, len);
    out[len] = '\0';
}

static int make_temp_dir(char *dir, size_t n, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int len = snprintf(dir, n, "%s/cesar-url-XXXXXX", tmp);
    if (len < 0 || (size_t)len >= n) {
        dir[0] = '\0';
        return util_errf(err, errlen, CLI_EXIT_FAILURE, "TMPDIR '%s' is too long", tmp);
    }
    if (!mkdtemp(dir)) {
        int e = errno;
        dir[0] = '\0';
        return util_errf(err, errlen, CLI_EXIT_FAILURE,
                         "cannot create a temporary directory in '%s': %s", tmp, strerror(e));
    }
    return CLI_EXIT_OK;
}

/* The configuration's download keys; the size cap is the upload one, so a
 * link cannot bring in what an upload could not. */
static fetch_get_params get_params(const config_values *v, bool no_cache, char *cache_dir,
                                   size_t n)
{
    fetch_get_params p = fetch_get_default_params();
    p.net.connect_timeout_ms = (long)v->download_connect_timeout * 1000;
    p.net.total_timeout_ms = (long)v->download_timeout * 1000;
    p.net.max_bytes = v->server_max_upload_size;
    p.net.allow_private = v->allow_private_urls;
    p.net.ytdlp_path = v->ytdlp_path;
    p.net.cancel = cli_job_interrupt_flag();
    snprintf(cache_dir, n, "%s/downloads", v->cache_dir);
    p.cache_dir = cache_dir;
    p.cache_max_age_seconds = v->cache_max_age;
    p.cache_max_bytes = v->cache_max_size;
    p.no_cache = no_cache;
    return p;
}

int cli_download_run(const char *url, const config_values *v, bool no_cache, bool show_bar,
                     cli_download *d, char *err, size_t errlen)
{
    char cache_dir[CONFIG_MAX_STRING + 16], why[1024] = "";
    download_bar bar = {show_bar, false, util_now_seconds()};
    memset(d, 0, sizeof *d);
    source_name(url, d->source, sizeof d->source);
    int rc = make_temp_dir(d->dir, sizeof d->dir, err, errlen);
    if (rc != CLI_EXIT_OK)
        goto cleanup;

    fetch_get_params p = get_params(v, no_cache, cache_dir, sizeof cache_dir);
    p.net.progress = on_progress;
    p.net.progress_user_data = &bar;
    int frc = fetch_get(url, d->dir, &p, &d->path, &d->from_cache, why, sizeof why);
    if (frc == FETCH_OK) {
        rc = CLI_EXIT_OK;
    } else if (frc == FETCH_ERR_CANCELLED || cli_job_interrupted()) {
        rc = util_errf(err, errlen, CLI_EXIT_INTERRUPTED, "interrupted during the download");
    } else {
        rc = util_errf(err, errlen, CLI_EXIT_FAILURE, "cannot download URL: %s (%s)",
                       why[0] ? why : fetch_strerror(frc), fetch_error_code(frc));
    }

cleanup:
    if (bar.drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    return rc;
}

void cli_download_clear(cli_download *d)
{
    if (!d)
        return;
    if (d->path) {
        unlink(d->path);
        free(d->path);
        d->path = NULL;
    }
    if (!d->dir[0])
        return;
    /* fetch promises to leave nothing else, but the directory is ours and a
     * stray file or directory (yt-dlp's, after a kill) must not keep it alive */
    util_remove_tree(d->dir, false, NULL, 0);
    d->dir[0] = '\0';
}

void cli_download_explain(const cli_download *d, const char *url, const char *msg, char *out,
                          size_t n)
{
    const char *at = d->path ? strstr(msg, d->path) : NULL;
    if (!at) {
        snprintf(out, n, "%s (downloaded from %s)", msg, url);
        return;
    }
    /* "'PATH' is not audio" reads "the file downloaded from 'URL' is not
     * audio": the quotes belong to the URL, not to the whole phrase */
    const char *after = at + strlen(d->path);
    bool quoted = at > msg && at[-1] == '\'' && *after == '\'';
    if (quoted) {
        at--;
        after++;
    }
    snprintf(out, n, "%.*sthe file downloaded from '%s'%s", (int)(at - msg), msg, url, after);
}

int cli_download_input(cli_job *job, const char *input, const config_values *v, bool no_cache,
                       bool show_bar, const char *what, cli_download *d)
{
    char err[4096];
    if (!cli_download_is_url(input))
        return CLI_EXIT_OK;
    int exit_code = cli_download_run(input, v, no_cache, show_bar, d, err, sizeof err);
    if (exit_code == CLI_EXIT_INTERRUPTED)
        cli_error("%s; no %s written", err, what);
    else if (exit_code != CLI_EXIT_OK)
        cli_error("%s", err);
    else
        job->input = d->path;
    return exit_code;
}

int cli_download_run_job(cli_job *job, const char *input, const cli_download *d,
                         const char *what)
{
    if (!cli_job_run(job))
        return CLI_EXIT_FAILURE;
    if (cli_job_interrupted() || job->rc == PIPELINE_ERR_CANCELLED) {
        cli_job_bar_clear(job);
        cli_error("interrupted; no %s written", what);
        return CLI_EXIT_INTERRUPTED;
    }
    if (job->rc == PIPELINE_OK)
        return CLI_EXIT_OK;
    const char *why = job->err[0] ? job->err : pipeline_strerror(job->rc);
    char explained[4096];
    cli_job_bar_clear(job);
    if (cli_download_is_url(input)) {
        cli_download_explain(d, input, why, explained, sizeof explained);
        why = explained;
    }
    cli_error("%s", why);
    return CLI_EXIT_FAILURE;
}
