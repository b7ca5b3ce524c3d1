/* test_api_url: POST /transcribe/url end to end against loopback. A local
 * HTTP server (tests/fetch/server.py) serves a speech clip, an HTML page, a
 * 404 and a body that trickles in one byte a second; `cesar serve` runs with
 * allow_private_urls so its workers may reach it.
 *
 * Checked: a link is queued at once (202, Location, source_url) and then
 * downloaded (status/phase downloading seen, or download_progress 100) and
 * transcribed; a 404 ends the job download_failed and an HTML page
 * audio_invalid; malformed, non-http and playlist links are 422
 * invalid_url; a server without allow_private_urls ends the job
 * url_blocked; the same link twice is downloaded once (the local server
 * counts requests) unless no_cache; a DELETE during a download answers
 * cancelled and removes the job's directory; a server killed during a
 * download downloads again after its restart; /health reports yt-dlp; and in
 * the end no file is left in the data or temporary directories but the
 * audio of finished jobs.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TH_FETCH_SERVER
#error "TH_FETCH_SERVER must name tests/fetch/server.py"
#endif

/* The local web server the workers download from. */
typedef struct {
    pid_t pid;
    int port;
} web_server;

static bool web_start(web_server *w, const char *root)
{
    const char *ready = th_strf("%s/web.port", th_workdir());
    w->pid = fork();
    if (w->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        execlp("python3", "python3", TH_FETCH_SERVER, "--port", "0", "--root", root, "--ready",
               ready, (char *)NULL);
        _exit(127);
    }
    if (!TH_CHECK(w->pid > 0, "fork for the web server: %s", strerror(errno)))
        return false;
    double t0 = th_now();
    while (th_now() - t0 < 15) {
        FILE *f = fopen(ready, "r");
        if (f) {
            int ok = fscanf(f, "%d", &w->port);
            fclose(f);
            if (ok == 1 && w->port > 0)
                return true;
        }
        th_sleep(0.05);
    }
    return TH_CHECK(false, "the web server (%s) wrote its port within 15 s", TH_FETCH_SERVER);
}

static void web_stop(web_server *w)
{
    if (w->pid <= 0)
        return;
    kill(w->pid, SIGTERM);
    waitpid(w->pid, NULL, 0);
    w->pid = 0;
}

static const char *web_url(const web_server *w, const char *path)
{
    return th_strf("http://127.0.0.1:%d%s", w->port, path);
}

/* How many times the web server served target, from its /count page. */
static int web_count(const web_server *w, const char *target)
{
    th_server fake;
    memset(&fake, 0, sizeof fake);
    snprintf(fake.base_url, sizeof fake.base_url, "http://127.0.0.1:%d", w->port);
    th_response *r = th_request(&fake, "GET", "/count", NULL, NULL, 0);
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(r->body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[512];
        int c = 0;
        if (sscanf(line, "%511s %d", name, &c) == 2 && strcmp(name, target) == 0)
            n = c;
    }
    th_response_free(r);
    return n;
}

static th_response *post_url(th_server *s, const char *json)
{
    const char *hdr[] = {"Content-Type: application/json", NULL};
    return th_request(s, "POST", "/transcribe/url", hdr, json, strlen(json));
}

/* Submits url (extra: more JSON members, e.g. ", \"no_cache\": true") and
 * expects 202 with a queued job; returns its id (caller frees) or NULL. */
static char *submit_url(th_server *s, const char *url, const char *extra)
{
    th_response *r = post_url(s, th_strf("{\"url\": \"%s\"%s}", url, extra ? extra : ""));
    const char *id = th_jstr(r->json, "id");
    char *out = NULL;
    if (TH_CHECK(r->status == 202 && id, "POST /transcribe/url %s -> 202 (%s)", url,
                 th_describe(r))) {
        TH_CHECK(r->location && strcmp(r->location, th_strf("/jobs/%s", id)) == 0,
                 "Location is /jobs/%s (%s)", id, r->location ? r->location : "none");
        const char *src = th_jstr(r->json, "source_url");
        TH_CHECK(src && strcmp(src, url) == 0, "the job's source_url is the link (%s)",
                 src ? src : "null");
        out = strdup(id);
    }
    th_response_free(r);
    return out;
}

/* Waits for a final status and checks it is error with code. */
static void expect_job_error(th_server *s, const char *id, const char *code, const char *what)
{
    json_t *j = id ? th_wait_job(s, id, "completed,partial,error,cancelled", 30) : NULL;
    const char *st = th_jstr(j, "status");
    const char *got = th_jstr(j, "error_code");
    TH_CHECK(st && strcmp(st, "error") == 0 && got && strcmp(got, code) == 0,
             "%s: the job ends error with error_code %s (status %s, code %s, message %s)", what,
             code, st ? st : "?", got ? got : "null",
             th_jstr(j, "error_message") ? th_jstr(j, "error_message") : "null");
    const char *msg = th_jstr(j, "error_message");
    TH_CHECK(msg && *msg, "%s: the job has an error_message", what);
    json_decref(j);
}

/* The clip served by link is downloaded, then transcribed. */
static void test_success(th_server *s, const web_server *w)
{
    const char *url = web_url(w, "/file/speech.wav");
    char *id = submit_url(s, url, NULL);
    if (!id)
        return;
    bool saw_downloading = false;
    double t0 = th_now();
    json_t *j = NULL;
    while (th_now() - t0 < 60) {
        j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        const char *ph = th_jstr(j, "progress_phase");
        if ((st && strcmp(st, "downloading") == 0) || (ph && strcmp(ph, "downloading") == 0))
            saw_downloading = true;
        if (st && strstr("completed,partial,error,cancelled", st))
            break;
        json_decref(j);
        j = NULL;
        th_sleep(0.02);
    }
    const char *st = th_jstr(j, "status");
    TH_CHECK(st && strcmp(st, "completed") == 0, "the linked clip is transcribed (%s, %s)",
             st ? st : "timeout", th_jstr(j, "error_message") ? th_jstr(j, "error_message") : "");
    double dl = th_jnum(j, "download_progress", -1);
    TH_CHECK(saw_downloading || dl == 100,
             "the download showed: status/phase downloading seen or download_progress 100 "
             "(seen %d, download_progress %g)",
             saw_downloading, dl);
    TH_CHECK(dl == 100, "download_progress ends at 100 (%g)", dl);
    const char *name = th_jstr(j, "original_name");
    TH_CHECK(!name || strcmp(name, "speech.wav") == 0,
             "original_name is the URL's last segment (%s)", name ? name : "null");
    json_decref(j);
    th_response *r = th_getf(s, "/jobs/%s/result?format=txt", id);
    TH_CHECK(r->status == 200 && r->body_len > 10, "the result text is not empty (%s)",
             th_describe(r));
    th_response_free(r);
    free(id);
}

static void test_failures(th_server *s, const web_server *w)
{
    char *id = submit_url(s, web_url(w, "/404"), NULL);
    expect_job_error(s, id, "download_failed", "a 404 link");
    free(id);
    id = submit_url(s, web_url(w, "/page.html"), NULL);
    expect_job_error(s, id, "audio_invalid", "an HTML page");
    free(id);
}

static void test_refused(th_server *s)
{
    static const char *const bad[] = {
        "{\"url\": \"ftp://x\"}",
        "{\"url\": \"https://www.youtube.com/playlist?list=PL0123456789abcdef\"}",
        "{\"url\": \"not a link\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        th_response *r = post_url(s, bad[i]);
        th_expect_error(r, 422, "invalid_url", NULL, th_strf("POST /transcribe/url %s", bad[i]));
        const char *msg = th_jstr(r->json, "error.message");
        if (i == 1)
            TH_CHECK(msg && strstr(msg, "playlist"), "the message names the playlist (%s)",
                     msg ? msg : "none");
        th_response_free(r);
    }
    th_response *r = post_url(s, "{\"url\": \"https://example.com/a.wav\", \"model\": \"nope\"}");
    th_expect_error(r, 422, "invalid_field", "model", "a link with an unknown model");
    th_response_free(r);
    r = post_url(s, "{\"url\": \"https://example.com/a.wav\", \"colour\": \"red\"}");
    th_expect_error(r, 422, "invalid_field", "colour", "a link with an unknown member");
    th_response_free(r);
    r = post_url(s, "{\"url\": \"https://example.com/a.wav\", \"no_cache\": \"yes\"}");
    th_expect_error(r, 422, "invalid_field", "no_cache", "no_cache that is not a boolean");
    th_response_free(r);
}

/* The same link twice: one download; with no_cache: another. */
static void test_cache(th_server *s, const web_server *w)
{
    const char *url = web_url(w, "/file/cached.wav");
    for (int round = 0; round < 3; round++) {
        char *id = submit_url(s, url, round == 2 ? ", \"no_cache\": true" : NULL);
        json_t *j = id ? th_wait_job(s, id, "completed,partial,error,cancelled", 60) : NULL;
        const char *st = th_jstr(j, "status");
        TH_CHECK(st && strcmp(st, "completed") == 0, "cache round %d: completed (%s)", round,
                 st ? st : "timeout");
        json_decref(j);
        free(id);
    }
    int n = web_count(w, "/file/cached.wav");
    TH_CHECK(n == 2, "two submissions and one with no_cache made 2 requests (got %d)", n);
}

/* DELETE while the body trickles in: cancelled, the directory gone. */
static void test_cancel(th_server *s, const web_server *w)
{
    char *id = submit_url(s, web_url(w, "/slow"), NULL);
    if (!id)
        return;
    double t0 = th_now();
    bool downloading = false;
    while (!downloading && th_now() - t0 < 20) {
        json_t *j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        downloading =
            st && strcmp(st, "downloading") == 0 && th_jnum(j, "download_progress", 0) > 0;
        json_decref(j);
        if (!downloading)
            th_sleep(0.1);
    }
    TH_CHECK(downloading, "the /slow job is downloading with progress > 0");
    th_response *r = th_request(s, "DELETE", th_strf("/jobs/%s", id), NULL, NULL, 0);
    const char *st = th_jstr(r->json, "status");
    TH_CHECK(r->status == 200 && st && strcmp(st, "cancelled") == 0,
             "DELETE during the download -> 200 cancelled (%s)", th_describe(r));
    th_response_free(r);
    th_sleep(2.0); /* the worker notices within about a second */
    const char *dir = th_strf("%s/%s", s->jobs_dir, id);
    TH_CHECK(!th_path_exists(dir), "the cancelled job's directory %s is gone", dir);
    json_t *j = th_get_job(s, id);
    st = th_jstr(j, "status");
    TH_CHECK(st && strcmp(st, "cancelled") == 0, "the job stays cancelled (%s)", st ? st : "?");
    json_decref(j);
    free(id);
}

/* Waits until job id is downloading with some bytes in; false on timeout. */
static bool wait_downloading(th_server *s, const char *id, int min_attempts)
{
    double t0 = th_now();
    while (th_now() - t0 < 20) {
        json_t *j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        bool ok = st && strcmp(st, "downloading") == 0 && th_jnum(j, "download_progress", 0) > 0 &&
                  th_jnum(j, "attempts", 0) >= min_attempts;
        json_decref(j);
        if (ok)
            return true;
        th_sleep(0.1);
    }
    return false;
}

/* kill -9 during a download: at the next start the job is re-queued and
 * its worker downloads again (a second attempt), which a DELETE ends. */
static void test_recovery(th_server *s, const web_server *w)
{
    char *id = submit_url(s, web_url(w, "/slow"), NULL);
    if (!id)
        return;
    TH_CHECK(wait_downloading(s, id, 1), "the /slow job is downloading before the crash");
    th_server_stop(s, SIGKILL, 10);
    if (th_server_restart(s)) {
        TH_CHECK(wait_downloading(s, id, 2),
                 "after the restart the job downloads again (attempt 2, progress > 0)");
        th_response *r = th_request(s, "DELETE", th_strf("/jobs/%s", id), NULL, NULL, 0);
        TH_CHECK(r->status == 200, "DELETE of the re-run download -> 200 (%s)", th_describe(r));
        th_response_free(r);
        th_sleep(1.5);
        const char *dir = th_strf("%s/%s", s->jobs_dir, id);
        TH_CHECK(!th_path_exists(dir), "its directory %s is gone, partial files included", dir);
    }
    free(id);
}

static void test_health(th_server *s)
{
    th_response *r = th_getf(s, "/health");
    TH_CHECK(json_is_true(th_jget(r->json, "youtube.available")),
             "/health youtube.available true (%s)", th_describe(r));
    const char *v = th_jstr(r->json, "youtube.ytdlp_version");
    TH_CHECK(v && *v, "/health youtube.ytdlp_version is not empty (%s)", v ? v : "null");
    TH_CHECK(json_is_boolean(th_jget(r->json, "youtube.ffmpeg")), "/health youtube.ffmpeg");
    TH_CHECK(th_jstr(r->json, "youtube.message") != NULL, "/health youtube.message");
    th_response_free(r);
}

/* A server with the default settings refuses the loopback link. */
static void test_blocked(const web_server *w, const char *tmp)
{
    th_server_opts o = {.workers = 1, .extra_env = {th_strf("TMPDIR=%s", tmp), NULL}};
    th_server *s = th_server_start("strict", &o);
    if (!s)
        return;
    char *id = submit_url(s, web_url(w, "/file/speech.wav"), NULL);
    expect_job_error(s, id, "url_blocked", "a loopback link without allow_private_urls");
    free(id);
    th_server_stop(s, SIGTERM, 20);
}

/* Purges every job, then nothing but the audio of the finished ones may be
 * left under jobs/, and nothing in the temporary directory. */
static void test_no_leftovers(th_server *s, const char *tmp)
{
    char first[1024] = "";
    int n = th_count_files(s->jobs_dir, "audio", first, sizeof first);
    TH_CHECK(n == 0, "under jobs/ only the finished jobs' audio remains (%d other files, e.g. %s)",
             n, first);
    json_t *all = th_list_all(s, NULL, 500, NULL);
    size_t i;
    json_t *job;
    json_array_foreach(all, i, job)
    {
        th_response *r = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", th_jstr(job, "id")),
                                    NULL, NULL, 0);
        TH_CHECK(r->status == 204, "purge %s -> 204 (%s)", th_jstr(job, "id"), th_describe(r));
        th_response_free(r);
    }
    json_decref(all);
    n = th_dir_count(s->jobs_dir, first, sizeof first);
    TH_CHECK(n == 0, "after purging every job jobs/ is empty (%d entries, e.g. %s)", n, first);
    n = th_count_files(tmp, NULL, first, sizeof first);
    TH_CHECK(n == 0, "the server's temporary directory is empty (%d files, e.g. %s)", n, first);
}

int main(void)
{
    th_init("test_api_url");
    web_server w = {0, 0};
    const char *root = th_strf("%s/www", th_workdir());
    const char *tmp = th_strf("%s/tmp", th_workdir());
    mkdir(root, 0700);
    mkdir(tmp, 0700);
    const char *clip[] = {"0880", NULL};
    th_audio_join("www/speech.wav", clip);
    th_audio_join("www/cached.wav", clip);
    if (!web_start(&w, root))
        return th_finish();

    th_server_opts o = {
        .workers = 2,
        .extra_env = {"CESAR_ALLOW_PRIVATE_URLS=true", th_strf("TMPDIR=%s", tmp), NULL}};
    th_server *s = th_server_start("links", &o);
    if (s) {
        test_refused(s);
        test_success(s, &w);
        test_failures(s, &w);
        test_cache(s, &w);
        test_cancel(s, &w);
        test_recovery(s, &w);
        test_health(s);
        test_no_leftovers(s, tmp);
    }
    test_blocked(&w, tmp);
    web_stop(&w);
    return th_finish();
}
