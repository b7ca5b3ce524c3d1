/* harness.c: the process side of harness.h — assertions and bookkeeping,
 * child-process control of the real `cesar serve` (start, wait for its
 * listening line, stop, restart), RSS sampling from /proc, files, and test
 * audio made with sox from Debian's pocketsphinx-testdata. The HTTP side is
 * in harness_http.c.
 *
 * Invariant: every server the harness starts is registered, and both
 * th_finish and an atexit handler kill any still running, so a test that
 * crashes or fails early never leaves a server behind (the child also gets
 * PR_SET_PDEATHSIG as a last resort).
 */
#include "harness.h"
#include "harness_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define TH_MAX_SERVERS 16
#define TH_START_TIMEOUT 20.0
#define TH_LISTEN_PREFIX "cesar serve: listening on http://"

static struct {
    const char *name;
    const char *bin;
    char *workdir;
    int passed, failed;
    th_server *servers[TH_MAX_SERVERS];
    int n_servers;
    char **owned; /* strings from th_strf */
    size_t n_owned, cap_owned;
} g;

/* ---- bookkeeping ------------------------------------------------------------- */

bool th_check_at(const char *file, int line, bool ok, const char *expr, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ok) {
        /* a passing check prints one short line: no response bodies */
        g.passed++;
        size_t cut = strcspn(msg, "\n");
        if (cut > 150)
            cut = 150;
        printf("ok - %.*s%s\n", (int)cut, msg, msg[cut] ? " ..." : "");
    } else {
        g.failed++;
        const char *base = strrchr(file, '/');
        printf("FAIL - %s:%d: %s\n    (check: %s)\n", base ? base + 1 : file, line, msg, expr);
    }
    fflush(stdout);
    return ok;
}

void th_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

int th_failed_count(void)
{
    return g.failed;
}

void *th__xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "harness: out of memory\n");
        exit(2);
    }
    return p;
}

char *th__xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = th__xmalloc(n);
    memcpy(d, s, n);
    return d;
}

static char *own(char *s)
{
    if (g.n_owned == g.cap_owned) {
        g.cap_owned = g.cap_owned ? g.cap_owned * 2 : 64;
        char **n = realloc(g.owned, g.cap_owned * sizeof *n);
        if (!n) {
            fprintf(stderr, "harness: out of memory\n");
            exit(2);
        }
        g.owned = n;
    }
    g.owned[g.n_owned++] = s;
    return s;
}

char *th__vstrf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *s = th__xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *th_strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = th__vstrf(fmt, ap);
    va_end(ap);
    return own(s);
}

double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void th_sleep(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *th_workdir(void)
{
    return g.workdir;
}

static void kill_all_servers(void)
{
    for (int i = 0; i < g.n_servers; i++) {
        th_server *s = g.servers[i];
        if (s && s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
    }
}

void th_init(const char *test_name)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    g.name = test_name;
    g.bin = getenv("CESAR_BIN");
    if (!g.bin || !*g.bin || access(g.bin, X_OK) != 0) {
        fprintf(stderr, "%s: CESAR_BIN must name the cesar binary (got '%s')\n", test_name,
                g.bin ? g.bin : "");
        exit(2);
    }
    const char *tmp = getenv("TMPDIR");
    char *templ = th__xmalloc(PATH_MAX);
    snprintf(templ, PATH_MAX, "%s/cesar-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", test_name);
    if (!mkdtemp(templ)) {
        fprintf(stderr, "%s: mkdtemp %s: %s\n", test_name, templ, strerror(errno));
        exit(2);
    }
    g.workdir = templ;
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init failed\n", test_name);
        exit(2);
    }
    atexit(kill_all_servers);
    th_note("%s: work directory %s, server binary %s", test_name, g.workdir, g.bin);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void server_free(th_server *s)
{
    if (!s)
        return;
    free(s->name);
    free((char *)s->opts.api_key);
    for (int i = 0; i < TH_MAX_EXTRA; i++) {
        free((char *)s->opts.extra_args[i]);
        free((char *)s->opts.extra_env[i]);
    }
    free(s->root);
    free(s->data_dir);
    free(s->jobs_dir);
    free(s->log_path);
    free(s->client_key);
    free(s);
}

int th_finish(void)
{
    for (int i = 0; i < g.n_servers; i++) {
        th_server *s = g.servers[i];
        if (s->pid > 0)
            th_server_stop(s, SIGKILL, 10);
    }
    if (g.failed > 0) {
        for (int i = 0; i < g.n_servers; i++)
            th_server_print_log(g.servers[i], 300);
    }
    for (int i = 0; i < g.n_servers; i++)
        server_free(g.servers[i]);
    g.n_servers = 0;
    if (getenv("CESAR_TEST_KEEP"))
        th_note("kept work directory %s", g.workdir);
    else if (g.workdir)
        nftw(g.workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < g.n_owned; i++)
        free(g.owned[i]);
    free(g.owned);
    g.owned = NULL;
    g.n_owned = g.cap_owned = 0;
    free(g.workdir);
    g.workdir = NULL;
    curl_global_cleanup();
    printf("%s: %d passed, %d failed\n", g.name, g.passed, g.failed);
    return g.failed == 0 ? 0 : 1;
}

/* ---- files ---------------------------------------------------------------------- */

bool th_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int th_dir_count(const char *path, char *first, size_t first_len)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    if (first && first_len)
        first[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == 0 && first && first_len)
            snprintf(first, first_len, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static struct {
    const char *ignore;
    int count;
    char *first;
    size_t first_len;
} count_ctx;

static int count_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    if (flag != FTW_F)
        return 0;
    const char *base = path + ftw->base;
    if (count_ctx.ignore && strncmp(base, count_ctx.ignore, strlen(count_ctx.ignore)) == 0)
        return 0;
    if (count_ctx.count++ == 0 && count_ctx.first && count_ctx.first_len)
        snprintf(count_ctx.first, count_ctx.first_len, "%s", path);
    return 0;
}

int th_count_files(const char *dir, const char *ignore_prefix, char *first, size_t first_len)
{
    count_ctx.ignore = ignore_prefix;
    count_ctx.count = 0;
    count_ctx.first = first;
    count_ctx.first_len = first_len;
    if (first && first_len)
        first[0] = '\0';
    if (!th_path_exists(dir))
        return 0;
    nftw(dir, count_entry, 16, FTW_PHYS);
    return count_ctx.count;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = th__xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

const char *th_write_file(const char *name, const void *data, size_t len)
{
    char *path = th_strf("%s/%s", g.workdir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    bool ok = fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    return ok ? path : NULL;
}

bool th_run(const char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- audio ---------------------------------------------------------------------- */

const char *const th_clip_ids[5] = {"0870", "0880", "0890", "0920", "0930"};

const char *th_clip(const char *clip_id)
{
    return th_strf("%s/sense_and_sensibility_01_austen_64kb-%s.wav", TH_LIBRIVOX_DIR, clip_id);
}

const char *th_audio_join(const char *name, const char *const *clip_ids)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = "sox";
    argv[n++] = "-q";
    for (size_t i = 0; clip_ids[i] && n < 12; i++)
        argv[n++] = th_clip(clip_ids[i]);
    char *out = th_strf("%s/%s", g.workdir, name);
    argv[n++] = out;
    argv[n] = NULL;
    if (!TH_CHECK(th_run(argv), "sox made %s", name))
        return NULL;
    return out;
}

const char *th_audio_two_voices(const char *name)
{
    static const char *const voice[2][3] = {
        {"en-us", "30", "150"}, /* voice, pitch, words per minute */
        {"en-gb+f3", "80", "140"},
    };
    static const char *const line[2] = {
        "Good morning. I would like to talk about the weather today, and about the plans "
        "for the garden this spring.",
        "Thank you. The garden needs water, and the roses should be cut back before the "
        "rain comes next week.",
    };
    char *part[2];
    for (int i = 0; i < 2; i++) {
        part[i] = th_strf("%s/%s.voice%d.wav", g.workdir, name, i);
        const char *argv[] = {"espeak-ng", "-v", voice[i][0], "-p",    voice[i][1], "-s",
                              voice[i][2], "-w", part[i],     line[i], NULL};
        if (!TH_CHECK(th_run(argv), "espeak-ng made voice %d of %s", i, name))
            return NULL;
    }
    char *out = th_strf("%s/%s", g.workdir, name);
    const char *argv[] = {"sox",   "-q", part[0], part[1], part[0], "-r",
                          "16000", "-c", "1",     out,     NULL};
    if (!TH_CHECK(th_run(argv), "sox made %s", name))
        return NULL;
    return out;
}

const char *th_audio_rounds(const char *name, int rounds)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = "sox";
    argv[n++] = "-q";
    for (int i = 0; i < 5; i++)
        argv[n++] = th_clip(th_clip_ids[i]);
    char *out = th_strf("%s/%s", g.workdir, name);
    argv[n++] = out;
    if (rounds > 1) {
        argv[n++] = "repeat";
        argv[n++] = th_strf("%d", rounds - 1);
    }
    argv[n] = NULL;
    if (!TH_CHECK(th_run(argv), "sox made %s (%d rounds of the five clips)", name, rounds))
        return NULL;
    return out;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

static void put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

const char *th_audio_silent_wav(const char *name, long long bytes)
{
    unsigned char h[44];
    long long data = bytes - 44;
    if (data < 0 || bytes > 0xffffffffLL)
        return NULL;
    memcpy(h, "RIFF", 4);
    put_le32(h + 4, (uint32_t)(bytes - 8));
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);        /* fmt chunk size */
    put_le16(h + 20, 1);         /* PCM */
    put_le16(h + 22, 1);         /* mono */
    put_le32(h + 24, 16000);     /* sample rate */
    put_le32(h + 28, 16000 * 2); /* byte rate */
    put_le16(h + 32, 2);         /* block align */
    put_le16(h + 34, 16);        /* bits per sample */
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, (uint32_t)data);
    char *path = th_strf("%s/%s", g.workdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return NULL;
    bool ok = write(fd, h, sizeof h) == (ssize_t)sizeof h && ftruncate(fd, (off_t)bytes) == 0;
    ok = (close(fd) == 0) && ok;
    return ok ? path : NULL;
}

char **th_reference_words(const char *clip_id, size_t *count)
{
    *count = 0;
    char *text = read_file(TH_LIBRIVOX_DIR "/transcription", NULL);
    if (!text)
        return NULL;
    char key[64];
    snprintf(key, sizeof key, "-%s)", clip_id);
    char **words = NULL;
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, key))
            continue;
        char *paren = strrchr(line, '(');
        if (paren)
            *paren = '\0';
        words = th__xmalloc(64 * sizeof *words);
        char *save = NULL;
        for (char *w = strtok_r(line, " \t", &save); w && n < 64;
             w = strtok_r(NULL, " \t", &save)) {
            if (strcmp(w, "<s>") == 0 || strcmp(w, "</s>") == 0)
                continue;
            words[n++] = th__xstrdup(w);
        }
        break;
    }
    free(text);
    *count = n;
    return words;
}

void th_words_free(char **words, size_t count)
{
    if (!words)
        return;
    for (size_t i = 0; i < count; i++)
        free(words[i]);
    free(words);
}

/* Is word (lower-case) a whole word of text, ignoring case? */
static bool has_word(const char *text, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = text; *p; p++) {
        if (p != text && isalpha((unsigned char)p[-1]))
            continue;
        if (strncasecmp(p, word, wl) == 0 && !isalpha((unsigned char)p[wl]))
            return true;
    }
    return false;
}

double th_words_found(const char *text, const char *clip_id, char *missing, size_t missing_len)
{
    size_t n;
    char **words = th_reference_words(clip_id, &n);
    size_t considered = 0, found = 0;
    if (missing && missing_len)
        missing[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (strlen(words[i]) < 4)
            continue;
        considered++;
        if (text && has_word(text, words[i])) {
            found++;
        } else if (missing && missing_len) {
            size_t used = strlen(missing);
            snprintf(missing + used, missing_len - used, "%s%s", used ? " " : "", words[i]);
        }
    }
    th_words_free(words, n);
    return considered ? (double)found / (double)considered : 0.0;
}

/* ---- the server process ------------------------------------------------------------ */

/* The caller's environment minus everything that could configure Cesar or
 * point it at the user's files; spawn adds the server's own values. Room is
 * left for those. */
static char **child_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = th__xmalloc((n + 16 + TH_MAX_EXTRA) * sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (strncmp(e, "CESAR_", 6) == 0 || strncmp(e, "XDG_", 4) == 0 ||
            strncmp(e, "HOME=", 5) == 0 || strncmp(e, "HF_TOKEN=", 9) == 0)
            continue;
        env[k++] = th__xstrdup(e);
    }
    env[k] = NULL;
    return env;
}

char *th__strf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = th__vstrf(fmt, ap);
    va_end(ap);
    return s;
}

static void free_strv(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Reads the log from offset `from` and looks for the listening line. */
static int find_port(const char *log_path, off_t from)
{
    size_t len;
    char *text = read_file(log_path, &len);
    if (!text)
        return 0;
    int port = 0;
    if ((size_t)from <= len) {
        char *p = strstr(text + from, TH_LISTEN_PREFIX);
        if (p) {
            char *nl = strchr(p, '\n');
            char *colon = nl ? memrchr(p, ':', (size_t)(nl - p)) : NULL;
            if (colon && colon > p + strlen(TH_LISTEN_PREFIX) - 1) {
                char *end;
                long v = strtol(colon + 1, &end, 10);
                if (end == nl && v > 0 && v < 65536)
                    port = (int)v;
            }
        }
    }
    free(text);
    return port;
}

static bool spawn(th_server *s)
{
    int fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return TH_CHECK(false, "%s: open log %s: %s", s->name, s->log_path, strerror(errno));
    s->starts++;
    dprintf(fd, "=== harness: start #%d of server %s ===\n", s->starts, s->name);

    char *argv[32];
    int n = 0;
    argv[n++] = th__xstrdup(g.bin);
    argv[n++] = th__xstrdup("serve");
    argv[n++] = th__xstrdup("--port");
    argv[n++] = th__xstrdup("0");
    argv[n++] = th__xstrdup("--data-dir");
    argv[n++] = th__xstrdup(s->data_dir);
    argv[n++] = th__xstrdup("--workers");
    argv[n++] = th__strf("%d", s->opts.workers > 0 ? s->opts.workers : 1);
    for (int i = 0; i < TH_MAX_EXTRA && s->opts.extra_args[i]; i++)
        argv[n++] = th__xstrdup(s->opts.extra_args[i]);
    argv[n] = NULL;

    char **env = child_env();
    size_t k = 0;
    while (env[k])
        k++;
    env[k++] = th__strf("HOME=%s/home", s->root);
    env[k++] = th__strf("XDG_CONFIG_HOME=%s/config", s->root);
    env[k++] = th__strf("XDG_DATA_HOME=%s/share", s->root);
    env[k++] = th__strf("XDG_CACHE_HOME=%s/cache", s->root);
    if (s->opts.api_key)
        env[k++] = th__strf("CESAR_API_KEY=%s", s->opts.api_key);
    for (int i = 0; i < TH_MAX_EXTRA && s->opts.extra_env[i]; i++)
        env[k++] = th__xstrdup(s->opts.extra_env[i]);
    env[k] = NULL;

    FILE *lf = fdopen(dup(fd), "a");
    if (lf) {
        fprintf(lf, "=== harness: exec");
        for (int i = 0; argv[i]; i++)
            fprintf(lf, " %s", argv[i]);
        fprintf(lf, "\n");
        fclose(lf);
    }
    /* only this start's output counts when looking for the listening line */
    off_t from = file_size(s->log_path);

    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        signal(SIGPIPE, SIG_DFL);
        execve(argv[0], argv, env);
        dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    for (int i = 0; i < n; i++)
        free(argv[i]);
    free_strv(env);
    if (pid < 0)
        return TH_CHECK(false, "%s: fork: %s", s->name, strerror(errno));
    s->pid = pid;

    double t0 = th_now();
    int port = 0;
    while (th_now() - t0 < TH_START_TIMEOUT) {
        port = find_port(s->log_path, from);
        if (port)
            break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            TH_CHECK(false, "%s: server exited during start-up (status %d)", s->name,
                     WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            th_server_print_log(s, 60);
            return false;
        }
        th_sleep(0.05);
    }
    if (!port) {
        TH_CHECK(false, "%s: no '%sHOST:PORT' line within %.0f s", s->name, TH_LISTEN_PREFIX,
                 TH_START_TIMEOUT);
        th_server_print_log(s, 60);
        th_server_stop(s, SIGKILL, 5);
        return false;
    }
    s->port = port;
    snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%d", port);
    th_note("%s: started (pid %d) at %s in %.2f s", s->name, (int)pid, s->base_url, th_now() - t0);
    return true;
}

th_server *th_server_start(const char *name, const th_server_opts *opts)
{
    if (g.n_servers == TH_MAX_SERVERS) {
        TH_CHECK(false, "harness: too many servers");
        return NULL;
    }
    th_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->name = th__xstrdup(name);
    if (opts) {
        s->opts.workers = opts->workers;
        s->opts.api_key = th__xstrdup(opts->api_key);
        for (int i = 0; i < TH_MAX_EXTRA; i++) {
            s->opts.extra_args[i] = th__xstrdup(opts->extra_args[i]);
            s->opts.extra_env[i] = th__xstrdup(opts->extra_env[i]);
        }
    }
    s->client_key = th__xstrdup(s->opts.api_key);
    s->root = th__strf("%s/%s", g.workdir, name);
    s->data_dir = th__strf("%s/data", s->root);
    s->jobs_dir = th__strf("%s/jobs", s->data_dir);
    s->log_path = th__strf("%s/server.log", s->root);
    g.servers[g.n_servers++] = s;
    const char *sub[] = {"", "/home", "/config", "/share", "/cache"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char *d = th__strf("%s%s", s->root, sub[i]);
        mkdir(d, 0755);
        free(d);
    }
    return spawn(s) ? s : NULL;
}

bool th_server_restart(th_server *s)
{
    if (s->pid > 0)
        th_server_stop(s, SIGKILL, 10);
    return spawn(s);
}

int th_server_stop(th_server *s, int sig, double timeout)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, sig);
    double t0 = th_now();
    int st = 0;
    for (;;) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid)
            break;
        if (th_now() - t0 > timeout) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &st, 0);
            s->pid = 0;
            return -1;
        }
        th_sleep(0.02);
    }
    s->pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

long th_pid_rss_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

long th_server_rss_kb(const th_server *s)
{
    return s->pid > 0 ? th_pid_rss_kb(s->pid) : -1;
}

void th_server_print_log(const th_server *s, int max_lines)
{
    size_t len;
    char *text = read_file(s->log_path, &len);
    printf("---- log of server %s (%s), last %d lines ----\n", s->name, s->log_path, max_lines);
    if (text) {
        const char *start = text + len;
        int lines = 0;
        while (start > text) {
            if (start[-1] == '\n' && start != text + len && ++lines > max_lines)
                break;
            start--;
        }
        fwrite(start, 1, strlen(start), stdout);
        if (len && text[len - 1] != '\n')
            printf("\n");
        free(text);
    }
    printf("---- end of log of %s ----\n", s->name);
    fflush(stdout);
}

struct th_rss_sampler {
    pthread_t thread;
    pid_t pid;
    int interval_ms;
    atomic_bool stop;
    long peak;
    int samples;
};

static void *sampler_main(void *arg)
{
    th_rss_sampler *r = arg;
    do { /* at least one sample, however soon stop comes */
        long kb = th_pid_rss_kb(r->pid);
        if (kb > r->peak)
            r->peak = kb;
        r->samples++;
        th_sleep(r->interval_ms / 1000.0);
    } while (!atomic_load(&r->stop));
    return NULL;
}

th_rss_sampler *th_rss_sampler_start(pid_t pid, int interval_ms)
{
    th_rss_sampler *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->pid = pid;
    r->interval_ms = interval_ms;
    r->peak = -1;
    atomic_init(&r->stop, false);
    if (pthread_create(&r->thread, NULL, sampler_main, r) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

long th_rss_sampler_stop(th_rss_sampler *r, int *samples)
{
    if (!r)
        return -1;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    long peak = r->peak;
    if (samples)
        *samples = r->samples;
    free(r);
    return peak;
}
