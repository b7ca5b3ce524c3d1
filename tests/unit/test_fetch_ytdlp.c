/* Unit tests for fetch's yt-dlp runner. The pure parts — classifying
 * yt-dlp's error messages, picking the line to show, reading progress
 * lines — on realistic yt-dlp output; then the real yt-dlp (Debian's
 * package, which scripts/install-deps.sh installs) against local servers:
 * python3's http.server for whole files and 404s, and
 * tests/fetch/slow_server.py, which trickles a file so that cancellation
 * and the timeout can be tested on a download that is certainly running.
 * yt-dlp's generic extractor takes a URL serving audio/x-wav as a direct
 * audio file, so no YouTube access is needed. A machine without yt-dlp
 * fails these tests: it is a dependency, not an option. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "fetch/internal_yt.h"
#include "util/util.h"

extern char **environ;

/* ---- fetch_ytdlp_classify ------------------------------------------------ */

typedef struct {
    fetch_err code;
    const char *text;
} classify_case;

/* Messages as yt-dlp prints them (see ytdlp.c for where each comes from). */
static const classify_case classify_cases[] = {
    /* age */
    {FETCH_ERR_AGE_RESTRICTED,
     "[youtube] Extracting URL: https://www.youtube.com/watch?v=M3GgCZFVBIo\n"
     "[youtube] M3GgCZFVBIo: Downloading webpage\n"
     "ERROR: [youtube] M3GgCZFVBIo: Sign in to confirm your age. This video may be "
     "inappropriate for some users.\n"},
    {FETCH_ERR_AGE_RESTRICTED,
     "WARNING: unable to download video info webpage: HTTP Error 410: Gone\n"
     "ERROR: Sign in to confirm your age\nThis video may be inappropriate for some users.\n"},
    {FETCH_ERR_AGE_RESTRICTED,
     "ERROR: [youtube] fVs0suPHAX8: This video is age-restricted and only available on "
     "YouTube. Use --cookies-from-browser or --cookies for the authentication.\n"},
    {FETCH_ERR_AGE_RESTRICTED,
     "ERROR: [youtube] abcdefghijk: Sign in to confirm your age. The video you have "
     "requested has been rated TV-14 and may contain content intended for mature "
     "audiences.\n"},
    /* private */
    {FETCH_ERR_VIDEO_PRIVATE,
     "[youtube] M7mKMWjAxG8: Downloading android player API JSON\n"
     "ERROR: [youtube] M7mKMWjAxG8: Private video. Sign in if you've been granted access to "
     "this video\n"},
    {FETCH_ERR_VIDEO_PRIVATE,
     "ERROR: [youtube] lwUI5-fWv4U: Video unavailable. This video is private\n"},
    {FETCH_ERR_VIDEO_PRIVATE,
     "ERROR: [youtube] Xyz_123-abc: Join this channel to get access to members-only content "
     "like this video, and other exclusive perks.\n"},
    /* geo */
    {FETCH_ERR_GEO_RESTRICTED,
     "ERROR: [youtube] ltcd1B8WyTM: Video unavailable. The uploader has not made this video "
     "available in your country\n"},
    {FETCH_ERR_GEO_RESTRICTED,
     "ERROR: [youtube] hHUbLv4ThOo: The uploader has not made this video available in your "
     "country.\nYou might want to use a VPN or a proxy server (with --proxy) to workaround.\n"},
    {FETCH_ERR_GEO_RESTRICTED,
     "ERROR: [youtube] abcdefghijk: This video is not available from your location due to "
     "geo restriction\n"},
    {FETCH_ERR_GEO_RESTRICTED,
     "ERROR: [youtube] abcdefghijk: Sorry, this content is not available in your country.\n"},
    /* unavailable */
    {FETCH_ERR_VIDEO_UNAVAILABLE, "ERROR: [youtube] XyHm0BmtLHg: Video unavailable\n"},
    {FETCH_ERR_VIDEO_UNAVAILABLE,
     "ERROR: [youtube] abcdefghijk: Video unavailable. This video has been removed by the "
     "uploader\n"},
    {FETCH_ERR_VIDEO_UNAVAILABLE,
     "ERROR: [youtube] abcdefghijk: Video unavailable. This video is no longer available "
     "because the YouTube account associated with this video has been terminated.\n"},
    {FETCH_ERR_VIDEO_UNAVAILABLE,
     "ERROR: [youtube] Saix8wDp2iA: This video has been removed for violating YouTube's "
     "Terms of Service\n"},
    {FETCH_ERR_VIDEO_UNAVAILABLE,
     "ERROR: [youtube:truncated_id] dQw4w9WgX: Incomplete YouTube ID dQw4w9WgX. URL "
     "https://www.youtube.com/watch?v=dQw4w9WgX looks truncated.\n"},
    /* rate limited */
    {FETCH_ERR_RATE_LIMITED,
     "ERROR: [youtube] abcdefghijk: Unable to download webpage: HTTP Error 429: Too Many "
     "Requests (caused by <HTTPError 429: 'Too Many Requests'>); please report this issue on "
     " https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue "
     "template. Confirm you are on the latest version using  yt-dlp -U\n"},
    {FETCH_ERR_RATE_LIMITED,
     "ERROR: unable to download video data: HTTP Error 429: Too Many Requests\n"},
    {FETCH_ERR_RATE_LIMITED,
     "ERROR: [youtube] tpUr8xVxj-w: Sign in to confirm you\xe2\x80\x99re not a bot. Use "
     "--cookies-from-browser or --cookies for the authentication.\n"},
    {FETCH_ERR_RATE_LIMITED,
     "ERROR: [youtube] abcdefghijk: The current session has been rate-limited by YouTube "
     "for up to an hour. It is recommended to use `-t sleep` to add a delay between video "
     "requests\n"},
    /* network */
    {FETCH_ERR_NETWORK,
     "ERROR: [youtube] BaW_jenozKc: Unable to download webpage: <urlopen error [Errno -3] "
     "Temporary failure in name resolution> (caused by URLError(gaierror(-3, 'Temporary "
     "failure in name resolution')))\n"},
    {FETCH_ERR_NETWORK,
     "ERROR: [generic] None: Unable to download webpage: <urlopen error [Errno 111] "
     "Connection refused> (caused by URLError(ConnectionRefusedError(111, 'Connection "
     "refused')))\n"},
    {FETCH_ERR_NETWORK,
     "ERROR: [youtube] abcdefghijk: Unable to download webpage: The read operation timed "
     "out (caused by TimeoutError('The read operation timed out'))\n"},
    {FETCH_ERR_NETWORK,
     "ERROR: [youtube] abcdefghijk: Unable to download webpage: <urlopen error [Errno -2] "
     "Name or service not known>\n"},
    {FETCH_ERR_NETWORK,
     "ERROR: [youtube] abcdefghijk: Unable to download webpage: <urlopen error [Errno 101] "
     "Network is unreachable>\n"},
    /* ffmpeg */
    {FETCH_ERR_FFMPEG_MISSING,
     "ERROR: Postprocessing: ffprobe and ffmpeg not found. Please install or provide the "
     "path using --ffmpeg-location\n"},
    {FETCH_ERR_FFMPEG_MISSING, "ERROR: ffmpeg not found. Please install or provide the path using "
                               "--ffmpeg-location\n"},
    {FETCH_ERR_FFMPEG_MISSING,
     "ERROR: You have requested merging of multiple formats but ffmpeg is not installed. "
     "Aborting due to --abort-on-error\n"},
    /* anything else */
    {FETCH_ERR_DOWNLOAD_FAILED,
     "ERROR: [generic] None: Unable to download webpage: HTTP Error 404: File not found "
     "(caused by <HTTPError 404: 'File not found'>)\n"},
    {FETCH_ERR_DOWNLOAD_FAILED,
     "ERROR: unable to download video data: HTTP Error 403: Forbidden\n"},
    {FETCH_ERR_DOWNLOAD_FAILED,
     "ERROR: [youtube] 9rdJJMAd-PA: Requested format is not available. Use --list-formats "
     "for a list of available formats\n"},
    {FETCH_ERR_DOWNLOAD_FAILED, "ERROR: Unsupported URL: https://example.com/page\n"},
    {FETCH_ERR_DOWNLOAD_FAILED, ""},
};

static void test_classify(void **state)
{
    (void)state;
    int per_class[FETCH_ERR_NOMEM + 1] = {0};
    for (size_t i = 0; i < sizeof classify_cases / sizeof classify_cases[0]; i++) {
        fetch_err got = fetch_ytdlp_classify(classify_cases[i].text);
        if (got != classify_cases[i].code)
            fail_msg("case %zu: %s, expected %s:\n%s", i, fetch_error_code(got),
                     fetch_error_code(classify_cases[i].code), classify_cases[i].text);
        per_class[classify_cases[i].code]++;
    }
    static const fetch_err classes[] = {FETCH_ERR_AGE_RESTRICTED, FETCH_ERR_VIDEO_PRIVATE,
                                        FETCH_ERR_GEO_RESTRICTED, FETCH_ERR_VIDEO_UNAVAILABLE,
                                        FETCH_ERR_RATE_LIMITED,   FETCH_ERR_NETWORK,
                                        FETCH_ERR_FFMPEG_MISSING, FETCH_ERR_DOWNLOAD_FAILED};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        assert_true(per_class[classes[i]] >= 3);
    assert_int_equal(fetch_ytdlp_classify(NULL), FETCH_ERR_DOWNLOAD_FAILED);
}

/* Warnings before the error do not decide the class; the error does. */
static void test_classify_judges_the_error(void **state)
{
    (void)state;
    assert_int_equal(fetch_ytdlp_classify("WARNING: [youtube] Unable to download webpage: "
                                          "HTTP Error 429: Too Many Requests. Retrying\n"
                                          "ERROR: [youtube] abcdefghijk: Private video. Sign "
                                          "in if you've been granted access to this video\n"),
                     FETCH_ERR_VIDEO_PRIVATE);
    /* with no ERROR line at all, the whole text counts */
    assert_int_equal(fetch_ytdlp_classify("WARNING: Unable to download webpage: <urlopen "
                                          "error [Errno 111] Connection refused>\n"),
                     FETCH_ERR_NETWORK);
}

static void test_error_line(void **state)
{
    (void)state;
    char line[512];
    fetch__ytdlp_error_line(
        "[generic] Extracting URL: http://127.0.0.1:1/x.wav\n"
        "ERROR: [generic] None: Unable to download webpage: HTTP Error 404: File not found "
        "(caused by <HTTPError 404: 'File not found'>); please report this issue on  "
        "https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue "
        "template. Confirm you are on the latest version using  yt-dlp -U\n",
        line, sizeof line);
    assert_string_equal(
        line, "[generic] None: Unable to download webpage: HTTP Error 404: File not found");
    /* a reason continued on the next line is kept, the traceback is not */
    fetch__ytdlp_error_line("WARNING: something\nERROR: Video unavailable\nThis video has been "
                            "removed by the uploader.\nTraceback (most recent call last):\n"
                            "  File \"x.py\", line 1\n",
                            line, sizeof line);
    assert_string_equal(line, "Video unavailable This video has been removed by the uploader.");
    /* the last ERROR wins */
    fetch__ytdlp_error_line("ERROR: first\nERROR: second\n", line, sizeof line);
    assert_string_equal(line, "second");
    /* no ERROR: the last non-empty line */
    fetch__ytdlp_error_line("one\ntwo\n\n", line, sizeof line);
    assert_string_equal(line, "two");
    fetch__ytdlp_error_line("", line, sizeof line);
    assert_string_equal(line, "");
    fetch__ytdlp_error_line(NULL, line, sizeof line);
    assert_string_equal(line, "");
    /* a small buffer truncates */
    char small[6];
    fetch__ytdlp_error_line("ERROR: Video unavailable\n", small, sizeof small);
    assert_string_equal(small, "Video");
}

static void test_progress_lines(void **state)
{
    (void)state;
    long long done, total;
    assert_true(fetch__ytdlp_progress_line("cesar-progress 1024 96044 NA", &done, &total));
    assert_int_equal(done, 1024);
    assert_int_equal(total, 96044);
    assert_true(fetch__ytdlp_progress_line("cesar-progress 5000 NA 20000.5", &done, &total));
    assert_int_equal(done, 5000);
    assert_int_equal(total, 20000);
    assert_true(fetch__ytdlp_progress_line("cesar-progress 5000 NA NA", &done, &total));
    assert_int_equal(done, 5000);
    assert_int_equal(total, -1);
    assert_false(fetch__ytdlp_progress_line("cesar-progress NA NA NA", &done, &total));
    assert_false(fetch__ytdlp_progress_line("cesar-progress x", &done, &total));
    /* yt-dlp's default lines */
    assert_true(fetch__ytdlp_progress_line(
        "[download]  50.0% of   93.79KiB at  Unknown B/s ETA Unknown", &done, &total));
    assert_int_equal(total, (long long)(93.79 * 1024));
    assert_int_equal(done, total / 2);
    assert_true(fetch__ytdlp_progress_line(
        "[download]  42.5% of ~  3.20MiB at  1.00MiB/s ETA 00:02 (frag 3/10)", &done, &total));
    assert_int_equal(total, (long long)(3.20 * 1048576));
    assert_true(fetch__ytdlp_progress_line(
        "[download] 100% of   93.79KiB in 00:00:00 at 33.17MiB/s", &done, &total));
    assert_int_equal(done, total);
    assert_false(
        fetch__ytdlp_progress_line("[download] Destination: /tmp/x/audio.wav", &done, &total));
    assert_false(fetch__ytdlp_progress_line("[generic] tone: Downloading webpage", &done, &total));
    assert_false(fetch__ytdlp_progress_line("", &done, &total));
}

/* ---- the real yt-dlp ------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int out_fd;
    int port;
} server;

static char g_base[256];    /* a temporary directory for this run */
static char g_srv_dir[300]; /* what the servers serve */
static server g_http, g_slow;

static void write_wav(const char *path, int seconds, int rate)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t n = (uint32_t)seconds * (uint32_t)rate;
    uint32_t data = n * 2, riff = 36 + data, fmt_len = 16, srate = (uint32_t)rate,
             brate = (uint32_t)rate * 2;
    uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
    fwrite("RIFF", 1, 4, f);
    fwrite(&riff, 4, 1, f);
    fwrite("WAVEfmt ", 1, 8, f);
    fwrite(&fmt_len, 4, 1, f);
    fwrite(&pcm, 2, 1, f);
    fwrite(&ch, 2, 1, f);
    fwrite(&srate, 4, 1, f);
    fwrite(&brate, 4, 1, f);
    fwrite(&align, 2, 1, f);
    fwrite(&bits, 2, 1, f);
    fwrite("data", 1, 4, f);
    fwrite(&data, 4, 1, f);
    for (uint32_t i = 0; i < n; i++) {
        int16_t s = (int16_t)(8000.0 * sin(2.0 * M_PI * 440.0 * i / rate) + (i % 7));
        fwrite(&s, 2, 1, f);
    }
    assert_int_equal(fclose(f), 0);
}

/* Starts argv with stdout into a pipe and reads until a line containing
 * marker followed by the port number. */
static server start_server(char *const argv[], const char *marker)
{
    server s = {0, -1, 0};
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int e = posix_spawn(&s.pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (e != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(e));
    s.out_fd = fds[0];
    char buf[512];
    size_t len = 0;
    double until = util_now_seconds() + 15;
    while (util_now_seconds() < until && len < sizeof buf - 1) {
        struct pollfd pfd = {s.out_fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t r = read(s.out_fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        const char *m = strstr(buf, marker);
        if (m && strchr(m, '\n')) {
            s.port = atoi(m + strlen(marker));
            break;
        }
    }
    if (s.port <= 0)
        fail_msg("%s did not say its port; it said '%.*s'", argv[0], (int)len, buf);
    return s;
}

static void stop_server(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    if (s->out_fd >= 0)
        close(s->out_fd);
    s->pid = 0;
    s->out_fd = -1;
}

static int setup(void **state)
{
    (void)state;
    char version[64], err[512];
    bool ffmpeg = false;
    if (!fetch_ytdlp_available("yt-dlp", version, sizeof version, &ffmpeg, err, sizeof err)) {
        fprintf(stderr, "yt-dlp is not usable (%s): run scripts/install-deps.sh\n", err);
        return -1;
    }
    snprintf(g_base, sizeof g_base, "/tmp/cesar-test-ytdlp-XXXXXX");
    if (!mkdtemp(g_base))
        return -1;
    snprintf(g_srv_dir, sizeof g_srv_dir, "%s/srv", g_base);
    mkdir(g_srv_dir, 0755);
    char path[400];
    snprintf(path, sizeof path, "%s/tone.wav", g_srv_dir);
    write_wav(path, 3, 16000); /* 96 KB */
    snprintf(path, sizeof path, "%s/big.wav", g_srv_dir);
    write_wav(path, 160, 16000); /* 5.1 MB */
    char *http_argv[] = {"/usr/bin/python3", "-u", "-m",          "http.server", "--bind",
                         "127.0.0.1",        "0",  "--directory", g_srv_dir,     NULL};
    g_http = start_server(http_argv, "Serving HTTP on 127.0.0.1 port ");
    char script[512];
    snprintf(script, sizeof script, "%s/tests/fetch/slow_server.py", CESAR_SOURCE_DIR);
    char *slow_argv[] = {"/usr/bin/python3", script, g_srv_dir, "65536", NULL};
    g_slow = start_server(slow_argv, "PORT ");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_server(&g_http);
    stop_server(&g_slow);
    if (g_base[0])
        util_remove_tree(g_base, false, NULL, 0);
    return 0;
}

/* A fresh, empty output directory for one test. */
static void new_out_dir(char *dir, size_t n)
{
    snprintf(dir, n, "%s/out-XXXXXX", g_base);
    assert_non_null(mkdtemp(dir));
}

/* Names in dir (not "." and ".."); the first one into first. */
static int dir_entries(const char *dir, char *first, size_t n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *de;
    if (first && n)
        first[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (count == 0 && first)
            util_strlcpy(first, de->d_name, n);
        count++;
    }
    closedir(d);
    return count;
}

static bool same_contents(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            same = false;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* A running yt-dlp started by this process, or 0. Its comm is "yt-dlp":
 * the kernel names a script after the file that was executed. */
static pid_t find_ytdlp_child(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *open = strchr(buf, '('), *close = strrchr(buf, ')');
        if (!open || !close)
            continue;
        char state;
        int ppid;
        if (sscanf(close + 1, " %c %d", &state, &ppid) != 2)
            continue;
        *close = '\0';
        if (ppid == (int)getpid() && strcmp(open + 1, "yt-dlp") == 0)
            found = (pid_t)atoi(buf);
    }
    closedir(d);
    return found;
}

typedef struct {
    int calls;
    double first_fraction, last_fraction;
    long long last_bytes;
    bool monotonic;
    atomic_int *cancel_on_first; /* set to 1 at the first call, if not NULL */
    double cancelled_at;
    pid_t child;
} progress_log;

static void on_progress(double fraction, long long bytes, void *user)
{
    progress_log *log = user;
    if (log->calls == 0)
        log->first_fraction = fraction;
    else if (fraction < log->last_fraction)
        log->monotonic = false;
    log->calls++;
    log->last_fraction = fraction;
    log->last_bytes = bytes;
    if (log->cancel_on_first && log->calls == 1) {
        log->child = find_ytdlp_child();
        log->cancelled_at = util_now_seconds();
        atomic_store(log->cancel_on_first, 1);
    }
}

static fetch_params params_for(progress_log *log)
{
    fetch_params p = fetch_default_params();
    p.progress = on_progress;
    p.progress_user_data = log;
    return p;
}

static void download_and_compare(const char *name)
{
    char dir[300], url[128], src[400], err[512] = "", entry[256];
    new_out_dir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", g_http.port, name);
    snprintf(src, sizeof src, "%s/%s", g_srv_dir, name);
    progress_log log = {.monotonic = true, .last_fraction = -2};
    fetch_params p = params_for(&log);
    char *out = NULL;
    int rc = fetch_ytdlp(url, dir, &p, &out, err, sizeof err);
    if (rc != FETCH_OK)
        fail_msg("fetch_ytdlp(%s): %s: %s", url, fetch_error_code(rc), err);
    assert_non_null(out);
    assert_true(same_contents(out, src));
    /* exactly that one file is left in dir, and it ends like the source */
    assert_int_equal(dir_entries(dir, entry, sizeof entry), 1);
    const char *base = strrchr(out, '/');
    assert_non_null(base);
    assert_string_equal(base + 1, entry);
    assert_string_equal(util_path_ext(out), "wav");
    assert_true(log.calls >= 1);
    assert_true(log.monotonic);
    assert_true(log.last_fraction == 1.0);
    struct stat st;
    assert_int_equal(stat(src, &st), 0);
    assert_int_equal(log.last_bytes, (long long)st.st_size);
    free(out);
}

static void test_download_small(void **state)
{
    (void)state;
    download_and_compare("tone.wav");
}

static void test_download_big(void **state)
{
    (void)state;
    download_and_compare("big.wav");
}

static void test_available(void **state)
{
    (void)state;
    char version[64] = "x", err[512] = "";
    bool ffmpeg = false;
    assert_true(fetch_ytdlp_available(NULL, version, sizeof version, &ffmpeg, err, sizeof err));
    /* Debian 12: "2023.03.04"; any yt-dlp: YYYY.MM.DD[.N] */
    int y, m, d;
    if (sscanf(version, "%4d.%2d.%2d", &y, &m, &d) != 3 || y < 2021)
        fail_msg("unexpected yt-dlp version '%s'", version);
    assert_true(ffmpeg); /* install-deps.sh installs ffmpeg */
    assert_false(fetch_ytdlp_available("/nonexistent/yt-dlp", version, sizeof version, &ffmpeg, err,
                                       sizeof err));
    assert_string_equal(version, "");
    assert_non_null(strstr(err, "yt-dlp is not installed"));
    /* a program that exists but is not yt-dlp and fails */
    assert_false(fetch_ytdlp_available("false", version, sizeof version, NULL, err, sizeof err));
    assert_non_null(strstr(err, "failed"));
}

static void test_missing_binary(void **state)
{
    (void)state;
    char dir[300], url[128], err[512] = "";
    new_out_dir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/tone.wav", g_http.port);
    fetch_params p = fetch_default_params();
    p.ytdlp_path = "/nonexistent/yt-dlp";
    char *out = (char *)"sentinel";
    assert_int_equal(fetch_ytdlp(url, dir, &p, &out, err, sizeof err), FETCH_ERR_YTDLP_MISSING);
    assert_null(out);
    assert_non_null(strstr(err, "yt-dlp is not installed (Debian: apt install yt-dlp)"));
    assert_int_equal(dir_entries(dir, NULL, 0), 0);
}

static void test_not_found(void **state)
{
    (void)state;
    char dir[300], url[128], err[512] = "";
    new_out_dir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/missing.wav", g_http.port);
    fetch_params p = fetch_default_params();
    char *out = NULL;
    int rc = fetch_ytdlp(url, dir, &p, &out, err, sizeof err);
    if (rc != FETCH_ERR_DOWNLOAD_FAILED && rc != FETCH_ERR_VIDEO_UNAVAILABLE)
        fail_msg("a 404 gave %s: %s", fetch_error_code(rc), err);
    assert_null(out);
    assert_non_null(strstr(err, "404"));
    assert_null(strstr(err, "please report")); /* yt-dlp's bug-report advice is cut */
    assert_int_equal(dir_entries(dir, NULL, 0), 0);
}

static void test_too_large(void **state)
{
    (void)state;
    char dir[300], url[128], err[512] = "";
    new_out_dir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/tone.wav", g_http.port);
    fetch_params p = fetch_default_params();
    p.max_bytes = 10000;
    char *out = NULL;
    assert_int_equal(fetch_ytdlp(url, dir, &p, &out, err, sizeof err), FETCH_ERR_TOO_LARGE);
    assert_null(out);
    assert_non_null(strstr(err, "10000"));
    assert_int_equal(dir_entries(dir, NULL, 0), 0);
}

static void assert_child_gone(pid_t pid)
{
    assert_true(pid > 0);
    errno = 0;
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    errno = 0;
    assert_int_equal(kill(-pid, 0), -1); /* its whole process group */
    assert_int_equal(errno, ESRCH);
    assert_int_equal(find_ytdlp_child(), 0);
}

static void test_cancel(void **state)
{
    (void)state;
    char dir[300], url[128], err[512] = "";
    new_out_dir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big.wav", g_slow.port);
    atomic_int cancel = 0;
    progress_log log = {.monotonic = true, .last_fraction = -2, .cancel_on_first = &cancel};
    fetch_params p = params_for(&log);
    p.cancel = &cancel;
    char *out = NULL;
    int rc = fetch_ytdlp(url, dir, &p, &out, err, sizeof err);
    double took = util_now_seconds() - log.cancelled_at;
    if (rc != FETCH_ERR_CANCELLED)
        fail_msg("expected a cancel, got %s: %s", fetch_error_code(rc), err);
    assert_true(log.calls >= 1);
    assert_true(took < 3.0);
    assert_null(out);
    assert_child_gone(log.child);
    assert_int_equal(dir_entries(dir, NULL, 0), 0); /* no .part, no temporary directory */
}

static void test_timeout(void **state)
{
    (void)state;
    char dir[300], url[128], err[512] = "";
    new_out_dir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big.wav", g_slow.port);
    progress_log log = {.monotonic = true, .last_fraction = -2};
    fetch_params p = params_for(&log);
    p.total_timeout_ms = 2500;
    char *out = NULL;
    double t0 = util_now_seconds();
    int rc = fetch_ytdlp(url, dir, &p, &out, err, sizeof err);
    double took = util_now_seconds() - t0;
    if (rc != FETCH_ERR_TIMEOUT)
        fail_msg("expected a timeout, got %s: %s", fetch_error_code(rc), err);
    assert_true(took < 2.5 + 3.0);
    assert_null(out);
    assert_int_equal(find_ytdlp_child(), 0);
    assert_int_equal(dir_entries(dir, NULL, 0), 0);
}

int main(void)
{
    /* a proxy from the environment must not stand between yt-dlp and the
     * local servers */
    static const char *const proxies[] = {"http_proxy", "https_proxy", "all_proxy",
                                          "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
        unsetenv(proxies[i]);
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_classify_judges_the_error),
        cmocka_unit_test(test_error_line),
        cmocka_unit_test(test_progress_lines),
    };
    const struct CMUnitTest real[] = {
        cmocka_unit_test(test_available),    cmocka_unit_test(test_download_small),
        cmocka_unit_test(test_download_big), cmocka_unit_test(test_missing_binary),
        cmocka_unit_test(test_not_found),    cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_cancel),       cmocka_unit_test(test_timeout),
    };
    int failed = cmocka_run_group_tests_name("ytdlp_output", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("ytdlp_real", real, setup, teardown);
    return failed;
}
