/* ytdlp: YouTube audio through the yt-dlp program. fetch_ytdlp runs yt-dlp
 * as a child process — an argument vector through posix_spawnp, never a
 * shell, in a process group of its own so that it and anything it starts
 * can be stopped together — reads its progress from a machine-readable
 * --progress-template line on stdout, keeps the tail of its stderr to
 * explain a failure, and polls the caller's cancel flag at least every
 * 100 ms while it waits.
 *
 * Invariant: yt-dlp writes only into a private temporary directory inside
 * the caller's dir. On success the finished file is renamed out of it under
 * a unique name; on every failure, timeout or cancel the process group is
 * killed and reaped and the whole temporary directory removed, so nothing
 * of this call stays in dir and no child outlives the call. yt-dlp's .part
 * files therefore never need to be found and cleaned one by one.
 *
 * fetch_ytdlp_classify turns yt-dlp's English error messages into error
 * classes. The phrases are facts about yt-dlp (2023.03.04, Debian 12's
 * version, and later releases) and the YouTube texts it passes through;
 * each list below says where its phrases come from. */
#include "fetch/internal_yt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

extern char **environ;

/* How much of stderr is kept: enough for any error and the warnings before
 * it, bounded however much a misbehaving child prints. */
#define ERR_TAIL_MAX (64 * 1024)
/* A stdout line longer than this is not one we parse; it is skipped. */
#define LINE_MAX_BYTES 4096
/* The longest wait in poll(): the cancel flag is checked at least this
 * often (ms). */
#define POLL_MS 100
/* After SIGTERM, how long yt-dlp gets to exit before SIGKILL (s). */
#define TERM_GRACE_S 2.0
/* fetch_ytdlp_available gives `yt-dlp --version` this long (s): a Python
 * program starting cold on a slow disk takes a second or two, not ten. */
#define VERSION_TIMEOUT_S 10.0
/* Marks the machine-readable progress lines fetch_ytdlp asks for. */
#define PROGRESS_TAG "cesar-progress"

/* ---- a child process with captured output ------------------------------- */

typedef void (*line_fn)(const char *line, void *ctx);

typedef struct {
    pid_t pid;         /* 0 when not running */
    bool exited;       /* it has exited (not yet reaped when pid != 0) */
    int status;        /* waitpid status once reaped */
    int fd[2];         /* stdout and stderr read ends; -1 once closed */
    util_buf line;     /* stdout: the line being assembled */
    bool line_skip;    /* the current stdout line overflowed; drop to '\n' */
    util_buf err_tail; /* stderr: its last ERR_TAIL_MAX bytes (about) */
    line_fn on_line;   /* called for each complete stdout line */
    void *ctx;
} child;

static void child_init(child *c, line_fn on_line, void *ctx)
{
    memset(c, 0, sizeof *c);
    c->fd[0] = c->fd[1] = -1;
    util_buf_init(&c->line, LINE_MAX_BYTES);
    util_buf_init(&c->err_tail, 0);
    c->on_line = on_line;
    c->ctx = ctx;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Starts argv[0] (looked up in PATH when it has no '/') with stdin from
 * /dev/null and stdout/stderr into pipes, as the leader of a new process
 * group, with default signal handling whatever the caller's is. */
static int child_spawn(child *c, char *const argv[], char *err, size_t errlen)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = false, attr_ok = false;
    int rc = FETCH_OK, e;
    /* O_CLOEXEC: a process another thread spawns at the same moment must
     * not inherit our write ends, or our pipes would never see EOF. */
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "cannot create a pipe: %s", strerror(errno));
        goto cleanup;
    }
    if ((e = posix_spawn_file_actions_init(&fa)) != 0)
        goto spawn_setup_failed;
    fa_ok = true;
    if ((e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
        (e = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
        (e = posix_spawn_file_actions_adddup2(&fa, errp[1], 2)) != 0)
        goto spawn_setup_failed;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Descriptors the server opened without O_CLOEXEC (sockets, the
     * database) are no business of yt-dlp's. */
    if ((e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
        goto spawn_setup_failed;
#endif
    if ((e = posix_spawnattr_init(&attr)) != 0)
        goto spawn_setup_failed;
    attr_ok = true;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    /* A server ignores SIGPIPE and may block signals in worker threads;
     * yt-dlp must die on the SIGTERM we send and on a closed pipe. */
    int reset[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        sigaddset(&defaults, reset[i]);
    if ((e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF)) != 0 ||
        (e = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
        (e = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
        (e = posix_spawnattr_setsigdefault(&attr, &defaults)) != 0)
        goto spawn_setup_failed;
    e = posix_spawnp(&c->pid, argv[0], &fa, &attr, argv, environ);
    if (e != 0) {
        c->pid = 0;
        if (e == ENOENT || e == EACCES || e == ENOEXEC || e == ENOTDIR)
            rc = util_errf(err, errlen, FETCH_ERR_YTDLP_MISSING,
                           "yt-dlp is not installed (Debian: apt install yt-dlp) or not in "
                           "PATH ('%s': %s)",
                           argv[0], strerror(e));
        else
            rc =
                util_errf(err, errlen, FETCH_ERR_IO, "cannot start '%s': %s", argv[0], strerror(e));
        goto cleanup;
    }
    c->fd[0] = out[0];
    c->fd[1] = errp[0];
    out[0] = errp[0] = -1;
    /* non-blocking, so draining after the child exits never hangs on a
     * pipe a grandchild still holds open */
    for (int i = 0; i < 2; i++)
        fcntl(c->fd[i], F_SETFL, fcntl(c->fd[i], F_GETFL) | O_NONBLOCK);
    goto cleanup;
spawn_setup_failed:
    rc = util_errf(err, errlen, e == ENOMEM ? FETCH_ERR_NOMEM : FETCH_ERR_IO,
                   "cannot prepare to start '%s': %s", argv[0], strerror(e));
cleanup:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    close_fd(&out[0]);
    close_fd(&out[1]);
    close_fd(&errp[0]);
    close_fd(&errp[1]);
    return rc;
}

static void stdout_bytes(child *c, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (!c->line_skip && c->on_line) {
                /* yt-dlp starts some screen lines with '\r' to overwrite a
                 * progress bar; that is not part of the text */
                const char *s = c->line.data ? c->line.data : "";
                while (*s == '\r')
                    s++;
                c->on_line(s, c->ctx);
            }
            util_buf_reset(&c->line);
            c->line_skip = false;
        } else if (!c->line_skip && util_buf_putc(&c->line, ch) != UTIL_OK) {
            c->line_skip = true;
        }
    }
}

static void stderr_bytes(child *c, const char *data, size_t n)
{
    util_buf *b = &c->err_tail;
    if (util_buf_append(b, data, n) != UTIL_OK)
        return; /* out of memory: the tail just misses a piece */
    if (b->len <= ERR_TAIL_MAX)
        return;
    /* Keep the last three quarters, from a line start, so the buffer does
     * not move on every read once it is full. */
    size_t drop = b->len - ERR_TAIL_MAX * 3 / 4;
    const char *nl = memchr(b->data + drop, '\n', b->len - drop);
    if (nl)
        drop = (size_t)(nl - b->data) + 1;
    memmove(b->data, b->data + drop, b->len - drop);
    b->len -= drop;
    b->data[b->len] = '\0';
}

/* Reads what is available on pipe i (0 stdout, 1 stderr) without blocking,
 * at most max_reads reads; closes it at EOF. */
static void child_read(child *c, int i, int max_reads)
{
    char buf[8192];
    for (int k = 0; k < max_reads && c->fd[i] >= 0; k++) {
        ssize_t r = read(c->fd[i], buf, sizeof buf);
        if (r > 0) {
            if (i == 0)
                stdout_bytes(c, buf, (size_t)r);
            else
                stderr_bytes(c, buf, (size_t)r);
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            close_fd(&c->fd[i]);
        } else if (errno != EINTR) {
            break; /* EAGAIN: nothing more for now */
        }
    }
}

/* Whether the child has exited, without reaping it: the zombie keeps its
 * pid — and so its process group id — reserved until child_stop has sent
 * the group its last signal. */
static bool child_has_exited(child *c)
{
    if (c->exited)
        return true;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT);
    if ((r == 0 && si.si_pid == c->pid) || (r < 0 && errno == ECHILD))
        c->exited = true; /* ECHILD: reaped elsewhere; nothing left to wait for */
    return c->exited;
}

/* Waits up to POLL_MS for output, reads it and checks for exit. Returns
 * true once the child has exited (its remaining output read). */
static bool child_pump(child *c)
{
    struct pollfd pfd[2];
    int n = 0;
    for (int i = 0; i < 2; i++) {
        if (c->fd[i] >= 0) {
            pfd[n].fd = c->fd[i];
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            n++;
        }
    }
    /* with both pipes closed this is a plain 100 ms sleep; an error (only
     * EINTR is possible here) just ends the wait early */
    poll(n ? pfd : NULL, (nfds_t)n, POLL_MS);
    for (int i = 0; i < 2; i++)
        child_read(c, i, 16);
    if (!child_has_exited(c))
        return false;
    /* drain what it wrote just before exiting, boundedly */
    for (int i = 0; i < 2; i++)
        child_read(c, i, 256);
    return true;
}

/* Ends the child: when it is still running, SIGTERM to its group, up to
 * TERM_GRACE_S to exit, then SIGKILL. Then SIGKILL to whatever is left of
 * the group, reap, close the pipes. Safe to call twice. */
static void child_stop(child *c)
{
    if (c->pid > 0) {
        if (!child_has_exited(c)) {
            kill(-c->pid, SIGTERM);
            double until = util_now_seconds() + TERM_GRACE_S;
            while (!child_has_exited(c) && util_now_seconds() < until) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        kill(-c->pid, SIGKILL); /* ESRCH when the group is already empty */
        while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR) {
        }
        c->pid = 0;
        c->exited = true;
    }
    close_fd(&c->fd[0]);
    close_fd(&c->fd[1]);
}

static void child_free(child *c)
{
    child_stop(c);
    util_buf_free(&c->line);
    util_buf_free(&c->err_tail);
}

/* ---- output parsers ------------------------------------------------------ */

/* Parses "3.20MiB" (yt-dlp's format_bytes: B, KiB, MiB, GiB, TiB) at s. */
static bool parse_size(const char *s, long long *bytes)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return false;
    static const struct {
        const char *unit;
        double mul;
    } units[] = {{"TiB", 1099511627776.0},
                 {"GiB", 1073741824.0},
                 {"MiB", 1048576.0},
                 {"KiB", 1024.0},
                 {"B", 1.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0) {
            *bytes = (long long)(v * units[i].mul);
            return true;
        }
    }
    return false;
}

/* A number or "NA" from our progress template; -1 for NA. */
static bool template_number(const char **s, long long *v)
{
    while (**s == ' ')
        (*s)++;
    if (strncmp(*s, "NA", 2) == 0) {
        *v = -1;
        *s += 2;
        return true;
    }
    char *end;
    double d = strtod(*s, &end); /* estimates are fractional */
    if (end == *s || d < 0)
        return false;
    *v = (long long)d;
    *s = end;
    return true;
}

bool fetch__ytdlp_progress_line(const char *line, long long *done, long long *total)
{
    *done = -1;
    *total = -1;
    size_t tag = strlen(PROGRESS_TAG);
    if (strncmp(line, PROGRESS_TAG, tag) == 0 && line[tag] == ' ') {
        /* PROGRESS_TAG downloaded total estimate status */
        const char *s = line + tag;
        long long d, t, est;
        if (!template_number(&s, &d) || !template_number(&s, &t) || !template_number(&s, &est))
            return false;
        if (d < 0)
            return false;
        *done = d;
        *total = t > 0 ? t : (est > 0 ? est : -1);
        return true;
    }
    /* yt-dlp's own line: "[download]  42.5% of ~  3.20MiB at ..." */
    if (strncmp(line, "[download]", 10) != 0)
        return false;
    const char *s = line + 10;
    char *end;
    double pct = strtod(s, &end);
    if (end == s || *end != '%' || pct < 0 || pct > 100)
        return false;
    s = strstr(end, " of ");
    if (!s)
        return false;
    s += 4;
    while (*s == ' ' || *s == '~')
        s++;
    long long t;
    if (!parse_size(s, &t) || t <= 0)
        return false;
    *total = t;
    *done = (long long)((double)t * pct / 100.0);
    return true;
}

/* Whether line begins a new message rather than continuing the previous
 * one: yt-dlp's prefixes, and tracebacks. */
static bool starts_message(const char *line, size_t n)
{
    return n == 0 || line[0] == '[' || line[0] == ' ' || line[0] == '\t' ||
           (n >= 8 && strncmp(line, "WARNING:", 8) == 0) ||
           (n >= 6 && strncmp(line, "ERROR:", 6) == 0) ||
           (n >= 9 && strncmp(line, "Traceback", 9) == 0);
}

/* Cuts what yt-dlp appends for bug reports from msg, in place. */
static void trim_advice(char *msg)
{
    /* utils.bug_reports_message: "; please report this issue on  https://
     * github.com/yt-dlp/yt-dlp/issues?q= , filling out ..." (capitalised
     * after a full stop), and ExtractorError's " (caused by <cause>)". */
    static const char *const cuts[] = {"please report this issue", " (caused by "};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char *p = strcasestr(msg, cuts[i]);
        if (p)
            *p = '\0';
    }
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == ';' || msg[n - 1] == ','))
        msg[--n] = '\0';
}

void fetch__ytdlp_error_line(const char *text, char *out, size_t n)
{
    if (n == 0)
        return;
    out[0] = '\0';
    if (!text)
        return;
    const char *best = NULL, *last_nonempty = NULL;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        while (len > 0 && *l == '\r') {
            l++;
            len--;
        }
        if (len >= 6 && strncmp(l, "ERROR:", 6) == 0)
            best = l;
        if (len > 0)
            last_nonempty = l;
        l += len;
        if (*l == '\n')
            l++;
    }
    const char *start = best ? best + 6 : last_nonempty;
    if (!start)
        return;
    util_buf b = UTIL_BUF_INIT(n > 1 ? n - 1 : 1);
    /* the message, then the lines continuing it: YouTube's reasons come as
     * "Video unavailable" + "\n" + "This video has been removed ..." */
    for (const char *l = start; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        while (len > 0 && (l[len - 1] == '\r' || l[len - 1] == ' '))
            len--;
        if (l != start && starts_message(l, len))
            break;
        while (l == start && len > 0 && *l == ' ') {
            l++;
            len--;
        }
        if (b.len > 0 && len > 0)
            util_buf_putc(&b, ' ');
        /* a long message is cut at the cap (util_buf refuses, not cuts) */
        size_t room = b.cap > b.len ? b.cap - b.len : 0;
        util_buf_append(&b, l, len < room ? len : room);
        if (!nl)
            break;
        l = nl + 1;
    }
    if (b.data) {
        trim_advice(b.data);
        util_strlcpy(out, b.data, n);
    }
    util_buf_free(&b);
}

/* ---- classification ------------------------------------------------------ */

typedef struct {
    fetch_err code;
    const char *const *phrases; /* NULL-terminated; matched case-insensitively */
} error_class;

/* Postprocessing: yt_dlp/postprocessor/ffmpeg.py raises "ffmpeg not found.
 * Please install or provide the path using --ffmpeg-location" and "ffprobe
 * and ffmpeg not found. ..." (also "ffprobe not found"); YoutubeDL.py says
 * "... but ffmpeg is not installed" when formats need merging. */
static const char *const ffmpeg_phrases[] = {"ffmpeg not found", "ffprobe and ffmpeg not found",
                                             "ffprobe not found", "ffmpeg is not installed", NULL};
/* "Unable to download webpage: HTTP Error 429: Too Many Requests" (urllib's
 * HTTPError text inside yt-dlp's "Unable to download ..."); "The current
 * session has been rate-limited by YouTube" in later yt-dlp; YouTube's "Sign
 * in to confirm you're not a bot" (an apostrophe that is often U+2019),
 * which it shows to addresses it thinks make too many requests. */
static const char *const rate_phrases[] = {"HTTP Error 429", "Too Many Requests", "rate-limit",
                                           "rate limit",     "not a bot",         NULL};
/* YouTube's playability reasons as yt-dlp prints them: "Sign in to confirm
 * your age. This video may be inappropriate for some users."; extractor/
 * youtube.py's own age-gate test looks for "confirm your age",
 * "age-restricted" and "inappropriate". */
static const char *const age_phrases[] = {"confirm your age", "age-restricted", "age restricted",
                                          "inappropriate for some users", NULL};
/* "Private video. Sign in if you've been granted access to this video",
 * "Video unavailable. This video is private"; members-only videos say
 * "Join this channel to get access to members-only content like this
 * video" — also a video this server may not see. */
static const char *const private_phrases[] = {"Private video", "This video is private",
                                              "members-only content", NULL};
/* YouTube's subreason "The uploader has not made this video available in
 * your country" (extractor/youtube.py raises it as a geo restriction), and
 * the default of InfoExtractor.raise_geo_restricted: "This video is not
 * available from your location due to geo restriction". */
static const char *const geo_phrases[] = {"not available in your country",
                                          "made this video available in your country",
                                          "geo restriction",
                                          "geo-restrict",
                                          "not available from your location",
                                          NULL};
/* "Video unavailable", "This video has been removed by the uploader" / "...
 * for violating YouTube's Terms of Service", "This video is no longer
 * available because the YouTube account associated with this video has
 * been terminated", and extractor/youtube.py's "Incomplete YouTube ID <id>.
 * URL <url> looks truncated." */
static const char *const unavailable_phrases[] = {"Video unavailable",
                                                  "This video is unavailable",
                                                  "This video has been removed",
                                                  "This video is no longer available",
                                                  "has been terminated",
                                                  "Incomplete YouTube ID",
                                                  "does not exist",
                                                  NULL};
/* Any other HTTP status yt-dlp got (urllib's "HTTP Error 404: Not Found",
 * "HTTP Error 403: Forbidden"): the server answered, so the network works;
 * the download itself failed. Before the network list, whose "Unable to
 * download webpage" prefixes these too. */
static const char *const http_status_phrases[] = {"HTTP Error ", NULL};
/* The OS and Python texts inside "Unable to download webpage: <urlopen
 * error [Errno -3] Temporary failure in name resolution>" and its
 * relatives: connection refused, timeouts, DNS failures ("Name or service
 * not known", later yt-dlp's "Failed to resolve"), unreachable networks. */
static const char *const network_phrases[] = {"Unable to download webpage",
                                              "Unable to download API page",
                                              "urlopen error",
                                              "Connection refused",
                                              "Connection reset",
                                              "timed out",
                                              "Name or service not known",
                                              "Temporary failure in name resolution",
                                              "Failed to resolve",
                                              "Network is unreachable",
                                              "No route to host",
                                              "Remote end closed connection",
                                              NULL};

/* First match wins, so the order is part of the meaning: "HTTP Error 429"
 * appears inside "Unable to download webpage" (rate limited, not network);
 * "Video unavailable. The uploader has not made this video available in
 * your country" is geo-restricted and "Video unavailable. This video is
 * private" private, not merely unavailable. */
static const error_class classes[] = {
    {FETCH_ERR_FFMPEG_MISSING, ffmpeg_phrases},
    {FETCH_ERR_RATE_LIMITED, rate_phrases},
    {FETCH_ERR_AGE_RESTRICTED, age_phrases},
    {FETCH_ERR_VIDEO_PRIVATE, private_phrases},
    {FETCH_ERR_GEO_RESTRICTED, geo_phrases},
    {FETCH_ERR_VIDEO_UNAVAILABLE, unavailable_phrases},
    {FETCH_ERR_DOWNLOAD_FAILED, http_status_phrases},
    {FETCH_ERR_NETWORK, network_phrases},
};

fetch_err fetch_ytdlp_classify(const char *stderr_text)
{
    if (!stderr_text)
        return FETCH_ERR_DOWNLOAD_FAILED;
    /* Judge the errors, not the warnings before them: yt-dlp warns about
     * fallbacks that did not matter ("WARNING: unable to download video
     * info webpage: HTTP Error 410") before the error that did. Without
     * any ERROR line, all of the text is all there is. */
    const char *text = stderr_text;
    const char *first_error = strstr(stderr_text, "ERROR:");
    if (first_error)
        text = first_error;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        for (const char *const *p = classes[i].phrases; *p; p++)
            if (strcasestr(text, *p))
                return classes[i].code;
    return FETCH_ERR_DOWNLOAD_FAILED;
}

/* ---- fetch_ytdlp ----------------------------------------------------------- */

typedef struct {
    const fetch_params *p;
    double last_fraction; /* highest fraction reported; -1 before any */
    double last_call;     /* util_now_seconds of the last callback */
    long long last_bytes;
    bool over_limit;        /* more than p->max_bytes announced or received */
    bool skipped_too_large; /* yt-dlp refused the file for --max-filesize */
} progress_state;

static void report_progress(progress_state *s, double fraction, long long bytes, bool force)
{
    if (!s->p->progress)
        return;
    /* fractions never go back: yt-dlp's estimates for fragmented formats
     * are revised as it goes */
    if (fraction >= 0 && fraction < s->last_fraction)
        fraction = s->last_fraction;
    if (fraction < 0 && s->last_fraction >= 0)
        fraction = s->last_fraction;
    double now = util_now_seconds();
    if (!force && now - s->last_call < 0.1)
        return;
    s->last_call = now;
    if (fraction >= 0)
        s->last_fraction = fraction;
    s->p->progress(fraction, bytes, s->p->progress_user_data);
}

static void on_stdout_line(const char *line, void *ctx)
{
    progress_state *s = ctx;
    long long done, total;
    if (fetch__ytdlp_progress_line(line, &done, &total)) {
        long long cap = s->p->max_bytes;
        if (cap > 0 && (done > cap || total > cap))
            s->over_limit = true;
        s->last_bytes = done;
        double fraction = total > 0 ? (double)done / (double)total : -1;
        if (fraction > 1)
            fraction = 1;
        report_progress(s, fraction, done, false);
    } else if (strstr(line, "File is larger than max-filesize")) {
        /* downloader/http.py prints this on stdout and then yt-dlp exits
         * with status 0 and no file */
        s->skipped_too_large = true;
    }
}

/* The extension of a finished file's name "audio.EXT", if it is short and
 * plain (it goes into our file name), else "". */
static void safe_ext(const char *name, char *ext, size_t n)
{
    ext[0] = '\0';
    const char *dot = strrchr(name, '.');
    if (!dot || strlen(dot + 1) == 0 || strlen(dot + 1) >= n || strlen(dot + 1) > 10)
        return;
    for (const char *s = dot + 1; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return;
    util_strlcpy(ext, dot + 1, n);
}

/* Finds the file yt-dlp finished in tmpdir: "audio.*" that is not one of
 * its in-progress names (.part, .ytdl, .temp). */
static int finished_file(const char *tmpdir, char *name, size_t n)
{
    DIR *d = opendir(tmpdir);
    int found = 0;
    name[0] = '\0';
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        if (strncmp(nm, "audio.", 6) != 0 || len >= n)
            continue;
        if (strstr(nm, ".part") || (len > 5 && strcmp(nm + len - 5, ".ytdl") == 0) ||
            (len > 5 && strcmp(nm + len - 5, ".temp") == 0))
            continue;
        util_strlcpy(name, nm, n);
        found++;
    }
    closedir(d);
    return found;
}

/* Moves tmpdir/name into dir under a new unique name; *out_path gets it. */
static int move_out(const char *tmpdir, const char *name, const char *dir, char **out_path,
                    char *err, size_t errlen)
{
    char ext[16];
    safe_ext(name, ext, sizeof ext);
    util_buf dst = UTIL_BUF_INIT(0), src = UTIL_BUF_INIT(0);
    int rc = FETCH_OK, fd = -1;
    bool reserved = false; /* dst.data names a file of ours */
    if (util_buf_printf(&dst, "%s/ytdlp-XXXXXX%s%s", dir, ext[0] ? "." : "", ext) != UTIL_OK ||
        util_buf_printf(&src, "%s/%s", tmpdir, name) != UTIL_OK) {
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    /* mkstemps reserves a name no other call can take; the rename then
     * replaces that empty placeholder atomically */
    fd = mkstemps(dst.data, ext[0] ? (int)strlen(ext) + 1 : 0);
    if (fd < 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "cannot create a file in '%s': %s", dir,
                       strerror(errno));
        goto cleanup;
    }
    close(fd);
    reserved = true;
    if (rename(src.data, dst.data) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "cannot move '%s' to '%s': %s", src.data,
                       dst.data, strerror(errno));
        goto cleanup;
    }
    *out_path = util_strdup(dst.data);
    if (!*out_path)
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "out of memory");
cleanup:
    if (rc != FETCH_OK && reserved)
        unlink(dst.data);
    util_buf_free(&dst);
    util_buf_free(&src);
    return rc;
}

/* The error of a run that ended with a non-zero status. */
static int failed_run(const child *c, char *err, size_t errlen)
{
    char line[1024];
    const char *tail = c->err_tail.data ? c->err_tail.data : "";
    fetch__ytdlp_error_line(tail, line, sizeof line);
    fetch_err code = fetch_ytdlp_classify(tail);
    if (WIFSIGNALED(c->status))
        return util_errf(err, errlen, code, "yt-dlp was killed by signal %d%s%s",
                         WTERMSIG(c->status), line[0] ? ": " : "", line);
    if (!line[0])
        return util_errf(err, errlen, code, "yt-dlp failed with exit status %d",
                         WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1);
    return util_errf(err, errlen, code, "yt-dlp: %s", line);
}

int fetch_ytdlp(const char *url, const char *dir, const fetch_params *p, char **out_path, char *err,
                size_t errlen)
{
    fetch_params defaults = fetch_default_params();
    progress_state ps = {.p = p ? p : &defaults, .last_fraction = -1, .last_call = -1};
    child c;
    child_init(&c, on_stdout_line, &ps);
    util_buf tmpdir = UTIL_BUF_INIT(0);
    bool have_tmpdir = false;
    int rc = FETCH_OK;
    char sock_timeout[32], max_size[32], name[256];
    *out_path = NULL;
    p = ps.p;
    if (!url || !url[0] || !dir || !dir[0]) {
        rc = util_errf(err, errlen, FETCH_ERR_INVALID_URL, "no link or no directory given");
        goto cleanup;
    }
    if (util_buf_printf(&tmpdir, "%s/.ytdlp-XXXXXX", dir) != UTIL_OK) {
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if (!mkdtemp(tmpdir.data)) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "cannot create a directory in '%s': %s", dir,
                       strerror(errno));
        goto cleanup;
    }
    have_tmpdir = true;
    /* yt-dlp's --socket-timeout bounds every wait on the network, connect
     * included; whole seconds, at least one */
    long timeout_s = p->connect_timeout_ms > 0 ? (p->connect_timeout_ms + 999) / 1000 : 20;
    snprintf(sock_timeout, sizeof sock_timeout, "%ld", timeout_s);
    snprintf(max_size, sizeof max_size, "%lld", p->max_bytes);
    const char *ytdlp = p->ytdlp_path && p->ytdlp_path[0] ? p->ytdlp_path : "yt-dlp";
    const char *argv[40];
    int a = 0;
    argv[a++] = ytdlp;
    argv[a++] = "--ignore-config"; /* a user's config (-x, -o ...) must not change this */
    argv[a++] = "--no-playlist";   /* watch?v=ID&list=... is the video */
    argv[a++] = "-f";
    argv[a++] = "bestaudio/best"; /* audio only; any container, no post-processing */
    argv[a++] = "--newline";
    argv[a++] = "--progress";
    argv[a++] = "--progress-template";
    argv[a++] = "download:" PROGRESS_TAG " %(progress.downloaded_bytes)s "
                "%(progress.total_bytes)s %(progress.total_bytes_estimate)s";
    argv[a++] = "--no-colors";
    argv[a++] = "--no-cache-dir";
    argv[a++] = "--no-mtime";
    argv[a++] = "--socket-timeout";
    argv[a++] = sock_timeout;
    if (p->max_bytes > 0) {
        argv[a++] = "--max-filesize";
        argv[a++] = max_size;
    }
    /* -P, not a directory inside -o: -o is a template, and a '%' in dir
     * would be read as a field */
    argv[a++] = "-P";
    argv[a++] = tmpdir.data;
    argv[a++] = "-o";
    argv[a++] = "audio.%(ext)s";
    argv[a++] = "--"; /* a link starting with '-' is not an option */
    argv[a++] = url;
    argv[a] = NULL;
    rc = child_spawn(&c, (char *const *)argv, err, errlen);
    if (rc != FETCH_OK)
        goto cleanup;

    double deadline =
        p->total_timeout_ms > 0 ? util_now_seconds() + (double)p->total_timeout_ms / 1000.0 : 0;
    for (;;) {
        if (p->cancel && atomic_load(p->cancel)) {
            rc = util_errf(err, errlen, FETCH_ERR_CANCELLED, "the download was cancelled");
            goto cleanup;
        }
        if (deadline > 0 && util_now_seconds() > deadline) {
            rc = util_errf(err, errlen, FETCH_ERR_TIMEOUT, "yt-dlp did not finish within %ld s",
                           p->total_timeout_ms / 1000);
            goto cleanup;
        }
        if (ps.over_limit) {
            rc = util_errf(err, errlen, FETCH_ERR_TOO_LARGE,
                           "the audio is larger than the limit of %lld bytes", p->max_bytes);
            goto cleanup;
        }
        if (child_pump(&c))
            break;
    }
    child_stop(&c); /* reaps it; the status is in c.status */
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0) {
        rc = failed_run(&c, err, errlen);
        goto cleanup;
    }
    if (ps.skipped_too_large || ps.over_limit) {
        rc = util_errf(err, errlen, FETCH_ERR_TOO_LARGE,
                       "the audio is larger than the limit of %lld bytes", p->max_bytes);
        goto cleanup;
    }
    int found = finished_file(tmpdir.data, name, sizeof name);
    if (found == 0) {
        rc = util_errf(err, errlen, FETCH_ERR_DOWNLOAD_FAILED,
                       "yt-dlp finished without writing a file");
        goto cleanup;
    }
    if (found > 1) {
        rc = util_errf(err, errlen, FETCH_ERR_DOWNLOAD_FAILED,
                       "yt-dlp wrote %d files where one was expected", found);
        goto cleanup;
    }
    rc = move_out(tmpdir.data, name, dir, out_path, err, errlen);
    if (rc != FETCH_OK)
        goto cleanup;
    struct stat st;
    report_progress(&ps, 1.0, stat(*out_path, &st) == 0 ? (long long)st.st_size : ps.last_bytes,
                    true);
cleanup:
    child_free(&c); /* kills the group when we leave early */
    if (have_tmpdir)
        util_remove_tree(tmpdir.data, false, NULL, 0);
    util_buf_free(&tmpdir);
    if (rc != FETCH_OK && *out_path) {
        unlink(*out_path);
        free(*out_path);
        *out_path = NULL;
    }
    return rc;
}

/* ---- fetch_ytdlp_available --------------------------------------------- */

typedef struct {
    char first[128]; /* the first stdout line */
    bool have;
} version_state;

static void on_version_line(const char *line, void *ctx)
{
    version_state *v = ctx;
    if (!v->have && line[0]) {
        util_strlcpy(v->first, line, sizeof v->first);
        v->have = true;
    }
}

/* Whether an executable called name is in one of PATH's directories. */
static bool in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !path[0])
        path = "/usr/local/bin:/usr/bin:/bin"; /* what execvp assumes, roughly */
    char full[PATH_MAX];
    for (const char *d = path;;) {
        const char *colon = strchr(d, ':');
        size_t len = colon ? (size_t)(colon - d) : strlen(d);
        /* an empty entry means the current directory */
        int w = len ? snprintf(full, sizeof full, "%.*s/%s", (int)len, d, name)
                    : snprintf(full, sizeof full, "./%s", name);
        struct stat st;
        if (w > 0 && (size_t)w < sizeof full && stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
            access(full, X_OK) == 0)
            return true;
        if (!colon)
            return false;
        d = colon + 1;
    }
}

bool fetch_ytdlp_available(const char *ytdlp_path, char *version, size_t version_len, bool *ffmpeg,
                           char *err, size_t errlen)
{
    version_state vs = {.first = "", .have = false};
    child c;
    child_init(&c, on_version_line, &vs);
    bool ok = false;
    const char *ytdlp = ytdlp_path && ytdlp_path[0] ? ytdlp_path : "yt-dlp";
    const char *argv[] = {ytdlp, "--version", NULL};
    if (version && version_len)
        version[0] = '\0';
    if (ffmpeg)
        *ffmpeg = in_path("ffmpeg");
    if (child_spawn(&c, (char *const *)argv, err, errlen) != FETCH_OK)
        goto cleanup;
    double deadline = util_now_seconds() + VERSION_TIMEOUT_S;
    bool exited = false;
    while (!exited && util_now_seconds() < deadline)
        exited = child_pump(&c);
    if (!exited) {
        util_errf(err, errlen, FETCH_ERR_TIMEOUT, "'%s --version' did not answer within %.0f s",
                  ytdlp, VERSION_TIMEOUT_S);
        goto cleanup;
    }
    child_stop(&c);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0 || !vs.have) {
        char line[256];
        fetch__ytdlp_error_line(c.err_tail.data, line, sizeof line);
        util_errf(err, errlen, FETCH_ERR_YTDLP_MISSING, "'%s --version' failed%s%s", ytdlp,
                  line[0] ? ": " : "", line);
        goto cleanup;
    }
    if (version && version_len)
        util_strlcpy(version, vs.first, version_len);
    ok = true;
cleanup:
    child_free(&c);
    return ok;
}
