/* Unit tests for fetch's direct downloads (http.c), the address policy
 * behind its SSRF protection (address.c) and the error names (errors.c).
 *
 * The downloads run against tests/fetch/server.py, started once for the
 * group on an ephemeral loopback port with a generated WAV file in its
 * root. Because that server is on loopback, the download tests set
 * allow_private; the SSRF tests either leave it off (and expect the very
 * first connection to be refused) or use the internal hook that exempts
 * only the first connection, to show that every later one is checked.
 * After every failure the destination directory must be empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "fetch/internal.h"
#include "util/util.h"

#define WAV_NAME "tone.wav"
#define WAV_RATE 16000
#define READY_TIMEOUT_S 10.0
#define MIB (1024LL * 1024LL)

typedef struct {
    pid_t server;
    int port;
    char top[256];  /* the temporary tree everything lives in */
    char root[300]; /* the server's files */
    char dest[300]; /* where downloads go; emptied before every test */
    char wav[400];  /* the source WAV */
} fixture;

static fixture fx;

/* ---- helpers ------------------------------------------------------------- */

static void put_le(unsigned char *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* One second of a 440 Hz tone, 16-bit mono PCM, as a WAV file. */
static int write_wav(const char *path)
{
    const uint32_t n = WAV_RATE, data_len = n * 2;
    unsigned char *b = calloc(1, 44 + data_len);
    if (!b)
        return -1;
    memcpy(b, "RIFF", 4);
    put_le(b + 4, 36 + data_len, 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le(b + 16, 16, 4);
    put_le(b + 20, 1, 2); /* PCM */
    put_le(b + 22, 1, 2); /* mono */
    put_le(b + 24, WAV_RATE, 4);
    put_le(b + 28, WAV_RATE * 2, 4);
    put_le(b + 32, 2, 2);
    put_le(b + 34, 16, 2);
    memcpy(b + 36, "data", 4);
    put_le(b + 40, data_len, 4);
    for (uint32_t i = 0; i < n; i++) {
        double s = 0.5 * sin(2.0 * M_PI * 440.0 * i / WAV_RATE);
        put_le(b + 44 + 2 * i, (uint32_t)(uint16_t)(int16_t)lrint(s * 32767.0), 2);
    }
    char err[256];
    int rc = util_write_file_atomic(path, b, 44 + data_len, err, sizeof err);
    free(b);
    return rc == UTIL_OK ? 0 : -1;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    util_buf b = UTIL_BUF_INIT(0);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        util_buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return util_buf_take(&b);
}

/* Entries of dir other than . and ..; the first one's name into first. */
static int count_entries(const char *dir, char *first, size_t firstlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == 0 && first)
            util_strlcpy(first, e->d_name, firstlen);
        n++;
    }
    closedir(d);
    return n;
}

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static void assert_dest_empty(void)
{
    char first[256] = "";
    int n = count_entries(fx.dest, first, sizeof first);
    if (n != 0)
        fail_msg("destination directory holds %d entries (first: %s)", n, first);
}

static const char *url_of(const char *path)
{
    static char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fx.port, path);
    return url;
}

static const char *dest_file(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/out.bin", fx.dest);
    return path;
}

/* Downloads from the test server with allow_private (it is on loopback). */
static fetch_params local_params(void)
{
    fetch_params p = fetch_default_params();
    p.allow_private = true;
    p.connect_timeout_ms = 5000;
    p.total_timeout_ms = 20000;
    return p;
}

typedef struct {
    int calls;
    double first_fraction;
    double last_fraction;
    long long last_bytes;
    bool decreased;         /* a fraction went down */
    long long cancel_after; /* set *cancel once this many bytes arrived; < 0 = never */
    atomic_int *cancel;
    double last_time;  /* when the last call came */
    double min_gap;    /* the shortest time between two calls before the last */
    double prev_gap;   /* the gap before the latest call */
    bool out_of_range; /* a fraction outside [0, 1] other than -1 */
} progress_log;

static void on_progress(double fraction, long long bytes, void *user)
{
    progress_log *log = user;
    double now = util_now_seconds();
    if (log->calls == 0) {
        log->first_fraction = fraction;
    } else {
        if (fraction < log->last_fraction)
            log->decreased = true;
        /* the gap before this call is only known not to be the final,
         * unthrottled 1.0 once another call follows it */
        if (log->calls >= 2 && log->prev_gap < log->min_gap)
            log->min_gap = log->prev_gap;
        log->prev_gap = now - log->last_time;
    }
    if (fraction != -1.0 && (fraction < 0.0 || fraction > 1.0))
        log->out_of_range = true;
    log->last_time = now;
    log->calls++;
    log->last_fraction = fraction;
    log->last_bytes = bytes;
    if (log->cancel && log->cancel_after >= 0 && bytes >= log->cancel_after)
        atomic_store(log->cancel, 1);
}

static void with_progress(fetch_params *p, progress_log *log)
{
    memset(log, 0, sizeof *log);
    log->cancel_after = -1;
    log->min_gap = 1e9;
    p->progress = on_progress;
    p->progress_user_data = log;
}

/* The download must have produced exactly dest_file(), identical to src. */
static void assert_only_dest_equals(const char *src)
{
    char first[256] = "";
    assert_int_equal(count_entries(fx.dest, first, sizeof first), 1);
    assert_string_equal(first, "out.bin");
    size_t a_len = 0, b_len = 0;
    char *a = read_all(src, &a_len);
    char *b = read_all(dest_file(), &b_len);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
}

/* ---- fixture ------------------------------------------------------------- */

static int start_server(void)
{
    char ready[400], script[512];
    snprintf(ready, sizeof ready, "%s/ready", fx.top);
    snprintf(script, sizeof script, "%s/tests/fetch/server.py", CESAR_SOURCE_DIR);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* die with the test, even when it crashes before teardown */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl("/usr/bin/python3", "python3", script, "--port", "0", "--root", fx.root, "--ready",
              ready, (char *)NULL);
        _exit(127);
    }
    fx.server = pid;
    double deadline = util_now_seconds() + READY_TIMEOUT_S;
    while (util_now_seconds() < deadline) {
        FILE *f = fopen(ready, "r");
        if (f) {
            int ok = fscanf(f, "%d", &fx.port) == 1;
            fclose(f);
            if (ok && fx.port > 0)
                return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fx.server = 0;
            return -1;
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    char err[256];
    snprintf(fx.top, sizeof fx.top, "/tmp/cesar-fetch-http-XXXXXX");
    if (!mkdtemp(fx.top))
        return -1;
    snprintf(fx.root, sizeof fx.root, "%s/root", fx.top);
    snprintf(fx.dest, sizeof fx.dest, "%s/dest", fx.top);
    snprintf(fx.wav, sizeof fx.wav, "%s/%s", fx.root, WAV_NAME);
    if (mkdir(fx.root, 0755) != 0 || mkdir(fx.dest, 0755) != 0 || write_wav(fx.wav) != 0)
        return -1;
    if (fetch_global_init(err, sizeof err) != FETCH_OK)
        return -1;
    return start_server();
}

static int group_teardown(void **state)
{
    (void)state;
    if (fx.server > 0) {
        kill(fx.server, SIGTERM);
        waitpid(fx.server, NULL, 0);
    }
    char path[512];
    empty_dir(fx.dest);
    empty_dir(fx.root);
    rmdir(fx.dest);
    rmdir(fx.root);
    snprintf(path, sizeof path, "%s/ready", fx.top);
    unlink(path);
    rmdir(fx.top);
    return 0;
}

static int each_setup(void **state)
{
    (void)state;
    empty_dir(fx.dest);
    return 0;
}

/* ---- the address policy -------------------------------------------------- */

typedef struct {
    const char *addr;
    const char *kind; /* substring of why; NULL = allowed */
} addr_case;

static const addr_case addr_cases[] = {
    /* IPv4, blocked */
    {"0.0.0.0", "unspecified"},
    {"0.1.2.3", "unspecified"},
    {"10.0.0.1", "private"},
    {"10.255.255.255", "private"},
    {"100.64.0.1", "shared (CGNAT)"},
    {"100.127.255.254", "shared (CGNAT)"},
    {"127.0.0.1", "loopback"},
    {"127.255.255.254", "loopback"},
    {"169.254.169.254", "link-local"},
    {"172.16.0.1", "private"},
    {"172.31.255.255", "private"},
    {"192.0.0.8", "reserved"},
    {"192.0.2.5", "documentation"},
    {"192.168.0.1", "private"},
    {"192.168.255.255", "private"},
    {"198.18.0.1", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"198.51.100.7", "documentation"},
    {"203.0.113.9", "documentation"},
    {"224.0.0.1", "multicast"},
    {"239.255.255.250", "multicast"},
    {"240.0.0.1", "reserved"},
    {"255.255.255.254", "reserved"},
    {"255.255.255.255", "broadcast"},
    /* IPv4, allowed: public addresses and the neighbours of every range */
    {"1.1.1.1", NULL},
    {"8.8.8.8", NULL},
    {"93.184.216.34", NULL},
    {"9.255.255.255", NULL},
    {"11.0.0.0", NULL},
    {"100.63.255.255", NULL},
    {"100.128.0.0", NULL},
    {"126.255.255.255", NULL},
    {"128.0.0.0", NULL},
    {"169.253.255.255", NULL},
    {"169.255.0.0", NULL},
    {"172.15.255.255", NULL},
    {"172.32.0.0", NULL},
    {"192.0.1.1", NULL},
    {"192.0.3.1", NULL},
    {"192.167.255.255", NULL},
    {"192.169.0.0", NULL},
    {"198.17.255.255", NULL},
    {"198.20.0.0", NULL},
    {"223.255.255.255", NULL},
    /* IPv6, blocked */
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"::2", "reserved"},
    {"::127.0.0.1", "reserved"}, /* IPv4-compatible, deprecated */
    {"::ffff:127.0.0.1", "IPv4-mapped loopback"},
    {"::ffff:10.1.2.3", "IPv4-mapped private"},
    {"::ffff:172.20.0.1", "IPv4-mapped private"},
    {"::ffff:192.168.1.1", "IPv4-mapped private"},
    {"::ffff:169.254.169.254", "IPv4-mapped link-local"},
    {"::ffff:0.0.0.0", "IPv4-mapped unspecified"},
    {"::ffff:100.64.0.1", "IPv4-mapped shared (CGNAT)"},
    {"::ffff:224.0.0.1", "IPv4-mapped multicast"},
    {"::ffff:255.255.255.255", "IPv4-mapped broadcast"},
    {"64:ff9b::7f00:1", "NAT64 loopback"},
    {"64:ff9b::a00:1", "NAT64 private"},
    {"64:ff9b:1::1", "local-use NAT64"},
    {"100::1", "discard-only"},
    {"2001:db8::1", "documentation"},
    {"2002:7f00:1::1", "6to4 loopback"},
    {"2002:c0a8:101::1", "6to4 private"},
    {"fc00::1", "private (unique local)"},
    {"fd12:3456:789a::1", "private (unique local)"},
    {"fe80::1", "link-local"},
    {"febf:ffff::1", "link-local"},
    {"fec0::1", "site-local"},
    {"ff02::1", "multicast"},
    {"ff0e::101", "multicast"},
    /* IPv6, allowed */
    {"2001:4860:4860::8888", NULL},
    {"2606:4700:4700::1111", NULL},
    {"2a00:1450:4001::1", NULL},
    {"::ffff:8.8.8.8", NULL},
    {"64:ff9b::808:808", NULL},
    {"2002:808:808::1", NULL},
    {"fbff:ffff::1", NULL},
    {"2001:db9::1", NULL},
};

static void make_sockaddr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(80);
    } else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(443);
    } else {
        fail_msg("bad test address %s", text);
    }
}

static void test_address_policy(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof addr_cases / sizeof addr_cases[0]; i++) {
        const addr_case *c = &addr_cases[i];
        struct sockaddr_storage ss;
        make_sockaddr(c->addr, &ss);
        char why[128] = "";
        bool blocked = fetch__address_blocked((struct sockaddr *)&ss, why, sizeof why);
        if (blocked != (c->kind != NULL))
            fail_msg("%s: expected %s, got %s (%s)", c->addr, c->kind ? "blocked" : "allowed",
                     blocked ? "blocked" : "allowed", why);
        if (c->kind && (!strstr(why, c->kind) || strncmp(why, c->addr, strlen(c->addr)) != 0))
            fail_msg("%s: reason '%s' should start with the address and say '%s'", c->addr, why,
                     c->kind);
    }
}

static void test_address_reason_wording(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    char why[128];
    make_sockaddr("127.0.0.1", &ss);
    assert_true(fetch__address_blocked((struct sockaddr *)&ss, why, sizeof why));
    assert_string_equal(why, "127.0.0.1 (a loopback address)");
    make_sockaddr("::ffff:10.0.0.1", &ss);
    assert_true(fetch__address_blocked((struct sockaddr *)&ss, why, sizeof why));
    assert_string_equal(why, "::ffff:10.0.0.1 (an IPv4-mapped private address)");
    make_sockaddr("0.0.0.0", &ss);
    assert_true(fetch__address_blocked((struct sockaddr *)&ss, why, sizeof why));
    assert_string_equal(why, "0.0.0.0 (an unspecified address)");
    /* a short buffer truncates, and no buffer at all is fine */
    char tiny[6];
    make_sockaddr("169.254.169.254", &ss);
    assert_true(fetch__address_blocked((struct sockaddr *)&ss, tiny, sizeof tiny));
    assert_string_equal(tiny, "169.2");
    assert_true(fetch__address_blocked((struct sockaddr *)&ss, NULL, 0));
    /* an allowed address leaves why alone */
    make_sockaddr("8.8.8.8", &ss);
    util_strlcpy(why, "untouched", sizeof why);
    assert_false(fetch__address_blocked((struct sockaddr *)&ss, why, sizeof why));
    assert_string_equal(why, "untouched");
}

static void test_address_other_families(void **state)
{
    (void)state;
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    char why[128];
    assert_true(fetch__address_blocked((struct sockaddr *)&un, why, sizeof why));
    assert_non_null(strstr(why, "non-IP"));
    assert_true(fetch__address_blocked(NULL, why, sizeof why));
}

/* ---- errors.c ------------------------------------------------------------ */

static void test_error_names(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *api;
    } table[] = {
        {FETCH_OK, "ok"},
        {FETCH_ERR_INVALID_URL, "invalid_url"},
        {FETCH_ERR_BLOCKED, "url_blocked"},
        {FETCH_ERR_TOO_LARGE, "file_too_large"},
        {FETCH_ERR_HTTP, "download_failed"},
        {FETCH_ERR_REDIRECTS, "download_failed"},
        {FETCH_ERR_TIMEOUT, "network_error"},
        {FETCH_ERR_NETWORK, "network_error"},
        {FETCH_ERR_AGE_RESTRICTED, "age_restricted"},
        {FETCH_ERR_VIDEO_PRIVATE, "video_private"},
        {FETCH_ERR_GEO_RESTRICTED, "geo_restricted"},
        {FETCH_ERR_VIDEO_UNAVAILABLE, "video_unavailable"},
        {FETCH_ERR_RATE_LIMITED, "rate_limited"},
        {FETCH_ERR_YTDLP_MISSING, "ytdlp_missing"},
        {FETCH_ERR_FFMPEG_MISSING, "ffmpeg_missing"},
        {FETCH_ERR_DOWNLOAD_FAILED, "download_failed"},
        {FETCH_ERR_IO, "internal"},
        {FETCH_ERR_CANCELLED, "cancelled"},
        {FETCH_ERR_NOMEM, "internal"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_string_equal(fetch_error_code(table[i].code), table[i].api);
        const char *s = fetch_strerror(table[i].code);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
    }
    assert_string_equal(fetch_error_code(-1), "internal");
    assert_string_equal(fetch_error_code(1000), "internal");
    assert_string_equal(fetch_strerror(1000), "unknown error");
}

static void test_default_params(void **state)
{
    (void)state;
    fetch_params p = fetch_default_params();
    assert_int_equal(p.connect_timeout_ms, 10000);
    assert_int_equal(p.total_timeout_ms, 3600000);
    assert_true(p.max_bytes == 2LL * 1024 * MIB);
    assert_int_equal(p.max_redirects, 5);
    assert_false(p.allow_private);
    assert_string_equal(p.ytdlp_path, "yt-dlp");
    assert_null(p.progress);
    assert_null(p.cancel);
    char err[64];
    assert_int_equal(fetch_global_init(err, sizeof err), FETCH_OK); /* idempotent */
}

/* ---- downloads that succeed ---------------------------------------------- */

static void test_download_success(void **state)
{
    (void)state;
    fetch_params p = local_params();
    progress_log log;
    with_progress(&p, &log);
    char err[256] = "";
    int rc = fetch_http(url_of("/file/" WAV_NAME), dest_file(), &p, err, sizeof err);
    assert_int_equal(rc, FETCH_OK);
    assert_only_dest_equals(fx.wav);
    assert_true(log.calls >= 1);
    assert_false(log.decreased);
    assert_true(log.last_fraction == 1.0);
    assert_int_equal(log.last_bytes, 44 + 2 * WAV_RATE);
}

static void test_download_without_length(void **state)
{
    (void)state;
    fetch_params p = local_params();
    progress_log log;
    with_progress(&p, &log);
    char err[256] = "";
    assert_int_equal(fetch_http(url_of("/nolength/" WAV_NAME), dest_file(), &p, err, sizeof err),
                     FETCH_OK);
    assert_only_dest_equals(fx.wav);
    assert_false(log.decreased);
    assert_false(log.out_of_range);
    assert_true(log.first_fraction == -1.0); /* no total to divide by */
    assert_true(log.last_fraction == 1.0);
}

/* A download long enough for several reports: they come at most every
 * 0.1 s (the final 1.0 excepted), within 0..1 and never going down. */
static void test_progress_is_throttled(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.max_bytes = 0;
    progress_log log;
    with_progress(&p, &log);
    char err[256] = "";
    double t0 = util_now_seconds();
    assert_int_equal(fetch_http(url_of("/big?bytes=268435456"), dest_file(), &p, err, sizeof err),
                     FETCH_OK);
    double took = util_now_seconds() - t0;
    assert_false(log.decreased);
    assert_false(log.out_of_range);
    assert_true(log.last_fraction == 1.0);
    assert_int_equal(log.last_bytes, 268435456LL);
    /* no more calls than 10 a second allow, plus the first and the final */
    assert_true(log.calls <= (int)(took / 0.1) + 2);
    if (log.calls >= 3)
        assert_true(log.min_gap >= 0.099);
}

static void test_download_replaces_existing(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(util_write_file_atomic(dest_file(), "old", 3, err, sizeof err), UTIL_OK);
    fetch_params p = local_params();
    /* a failure leaves the old file alone ... */
    assert_int_equal(fetch_http(url_of("/404"), dest_file(), &p, err, sizeof err), FETCH_ERR_HTTP);
    size_t len = 0;
    char *old = read_all(dest_file(), &len);
    assert_non_null(old);
    assert_int_equal(len, 3);
    assert_int_equal(count_entries(fx.dest, NULL, 0), 1);
    free(old);
    /* ... and a success replaces it */
    assert_int_equal(fetch_http(url_of("/file/" WAV_NAME), dest_file(), &p, err, sizeof err),
                     FETCH_OK);
    assert_only_dest_equals(fx.wav);
}

static void test_redirects_within_limit(void **state)
{
    (void)state;
    fetch_params p = local_params();
    char err[256] = "";
    assert_int_equal(fetch_http(url_of("/redirect/3/" WAV_NAME), dest_file(), &p, err, sizeof err),
                     FETCH_OK);
    assert_only_dest_equals(fx.wav);
    empty_dir(fx.dest);
    /* exactly max_redirects hops is still fine */
    assert_int_equal(fetch_http(url_of("/redirect/5/" WAV_NAME), dest_file(), &p, err, sizeof err),
                     FETCH_OK);
    assert_only_dest_equals(fx.wav);
}

static void test_html_page_is_downloaded(void **state)
{
    (void)state;
    fetch_params p = local_params();
    char err[256] = "";
    assert_int_equal(fetch_http(url_of("/page.html"), dest_file(), &p, err, sizeof err), FETCH_OK);
    size_t len = 0;
    char *page = read_all(dest_file(), &len);
    assert_non_null(page);
    assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(page, "not an audio file"));
    free(page);
}

static void test_size_at_the_cap(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.max_bytes = MIB;
    char err[256] = "";
    assert_int_equal(fetch_http(url_of("/big?bytes=1048576"), dest_file(), &p, err, sizeof err),
                     FETCH_OK);
    struct stat st;
    assert_int_equal(stat(dest_file(), &st), 0);
    assert_int_equal(st.st_size, MIB);
    empty_dir(fx.dest);
    assert_int_equal(
        fetch_http(url_of("/big?bytes=1048576&length=0"), dest_file(), &p, err, sizeof err),
        FETCH_OK);
    assert_int_equal(stat(dest_file(), &st), 0);
    assert_int_equal(st.st_size, MIB);
}

static void test_user_agent(void **state)
{
    (void)state;
    fetch_params p = local_params();
    char err[256] = "";
    assert_int_equal(fetch_http(url_of("/user-agent"), dest_file(), &p, err, sizeof err), FETCH_OK);
    size_t len = 0;
    char *ua = read_all(dest_file(), &len);
    assert_non_null(ua);
    assert_string_equal(ua, "cesar/" CESAR_VERSION);
    free(ua);
}

/* ---- downloads that fail -------------------------------------------------- */

/* Runs one download expected to fail with want; returns its message. */
static const char *expect_failure(const char *url, const fetch_params *p, int want)
{
    static char err[512];
    err[0] = '\0';
    int rc = fetch_http(url, dest_file(), p, err, sizeof err);
    if (rc != want)
        fail_msg("%s: expected %s, got %s (%s)", url, fetch_strerror(want), fetch_strerror(rc),
                 err);
    assert_true(strlen(err) > 0);
    assert_dest_empty();
    return err;
}

static void test_too_many_redirects(void **state)
{
    (void)state;
    fetch_params p = local_params();
    const char *msg = expect_failure(url_of("/redirect/6/" WAV_NAME), &p, FETCH_ERR_REDIRECTS);
    assert_non_null(strstr(msg, "5"));
    p.max_redirects = 0;
    msg = expect_failure(url_of("/redirect/1/" WAV_NAME), &p, FETCH_ERR_REDIRECTS);
    assert_non_null(strstr(msg, "0"));
}

static void test_redirect_loop(void **state)
{
    (void)state;
    fetch_params p = local_params();
    expect_failure(url_of("/loop"), &p, FETCH_ERR_REDIRECTS);
}

static void test_http_404(void **state)
{
    (void)state;
    fetch_params p = local_params();
    const char *msg = expect_failure(url_of("/404"), &p, FETCH_ERR_HTTP);
    assert_non_null(strstr(msg, "404"));
    msg = expect_failure(url_of("/file/missing.wav"), &p, FETCH_ERR_HTTP);
    assert_non_null(strstr(msg, "404"));
}

static void test_total_timeout(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.total_timeout_ms = 1500;
    double t0 = util_now_seconds();
    expect_failure(url_of("/slow"), &p, FETCH_ERR_TIMEOUT);
    double took = util_now_seconds() - t0;
    assert_true(took >= 1.4);
    assert_true(took < 3.0);
}

static void test_short_body(void **state)
{
    (void)state;
    fetch_params p = local_params();
    const char *msg = expect_failure(url_of("/lie/" WAV_NAME), &p, FETCH_ERR_NETWORK);
    char want[128];
    snprintf(want, sizeof want, "sent %d of %d bytes", 44 + 2 * WAV_RATE, 44 + 2 * WAV_RATE + 1000);
    if (!strstr(msg, want))
        fail_msg("'%s' does not say '%s'", msg, want);
}

static void test_too_large(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.max_bytes = MIB;
    /* announced: refused from the Content-Length, before the body */
    const char *msg = expect_failure(url_of("/big?bytes=2097152"), &p, FETCH_ERR_TOO_LARGE);
    assert_non_null(strstr(msg, "larger than the 1 MB limit"));
    assert_non_null(strstr(msg, "announced"));
    msg = expect_failure(url_of("/big"), &p, FETCH_ERR_TOO_LARGE);
    assert_non_null(strstr(msg, "announced"));
    /* unannounced: counted while it arrives, a byte over is too many */
    msg = expect_failure(url_of("/big?length=0"), &p, FETCH_ERR_TOO_LARGE);
    assert_non_null(strstr(msg, "larger than the 1 MB limit"));
    assert_null(strstr(msg, "announced"));
    expect_failure(url_of("/big?bytes=1048577&length=0"), &p, FETCH_ERR_TOO_LARGE);
}

static void test_cancel_from_progress(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.max_bytes = 0; /* endless body, no cap: only the cancel can stop it */
    atomic_int cancel = 0;
    progress_log log;
    with_progress(&p, &log);
    log.cancel = &cancel;
    log.cancel_after = 1;
    p.cancel = &cancel;
    double t0 = util_now_seconds();
    const char *msg = expect_failure(url_of("/big?length=0"), &p, FETCH_ERR_CANCELLED);
    assert_non_null(strstr(msg, "cancel"));
    assert_true(util_now_seconds() - t0 < 3.0);
    assert_true(log.calls >= 1);
    /* already cancelled before it starts */
    log.cancel_after = -1;
    expect_failure(url_of("/file/" WAV_NAME), &p, FETCH_ERR_CANCELLED);
}

typedef struct {
    atomic_int *flag;
    int delay_ms;
} delayed_cancel;

static void *cancel_later(void *arg)
{
    delayed_cancel *d = arg;
    struct timespec ts = {d->delay_ms / 1000, (long)(d->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(d->flag, 1);
    return NULL;
}

/* While nothing arrives (/slow sends a byte a second) the cancel flag is
 * still seen within about a second. */
static void test_cancel_while_idle(void **state)
{
    (void)state;
    fetch_params p = local_params();
    atomic_int cancel = 0;
    p.cancel = &cancel;
    delayed_cancel d = {&cancel, 300};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, cancel_later, &d), 0);
    double t0 = util_now_seconds();
    expect_failure(url_of("/slow"), &p, FETCH_ERR_CANCELLED);
    double took = util_now_seconds() - t0;
    pthread_join(t, NULL);
    assert_true(took >= 0.25);
    assert_true(took < 2.0);
}

static void test_schemes_refused(void **state)
{
    (void)state;
    fetch_params p = local_params();
    expect_failure("ftp://127.0.0.1/x.wav", &p, FETCH_ERR_INVALID_URL);
    expect_failure("file:///etc/passwd", &p, FETCH_ERR_INVALID_URL);
    expect_failure("127.0.0.1/file/tone.wav", &p, FETCH_ERR_INVALID_URL);
    expect_failure("http://", &p, FETCH_ERR_INVALID_URL);
    /* nor may a redirect lead there */
    expect_failure(url_of("/to?url=file:///etc/passwd"), &p, FETCH_ERR_BLOCKED);
    expect_failure(url_of("/to?url=ftp://127.0.0.1/x"), &p, FETCH_ERR_BLOCKED);
}

static void test_connection_refused(void **state)
{
    (void)state;
    /* a port nobody listens on: bind one, note it, close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&in, sizeof in), 0);
    socklen_t len = sizeof in;
    assert_int_equal(getsockname(s, (struct sockaddr *)&in, &len), 0);
    close(s);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x.wav", ntohs(in.sin_port));
    fetch_params p = local_params();
    expect_failure(url, &p, FETCH_ERR_NETWORK);
}

static void test_missing_dest_dir(void **state)
{
    (void)state;
    fetch_params p = local_params();
    char dest[512], err[512] = "";
    snprintf(dest, sizeof dest, "%s/no-such-dir/out.bin", fx.dest);
    assert_int_equal(fetch_http(url_of("/file/" WAV_NAME), dest, &p, err, sizeof err),
                     FETCH_ERR_IO);
    assert_non_null(strstr(err, "no-such-dir"));
    assert_dest_empty();
}

/* ---- SSRF ----------------------------------------------------------------- */

static void test_loopback_blocked(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.allow_private = false;
    const char *msg = expect_failure(url_of("/file/" WAV_NAME), &p, FETCH_ERR_BLOCKED);
    assert_non_null(strstr(msg, "127.0.0.1 (a loopback address)"));
    assert_non_null(strstr(msg, "allow_private_urls"));
    /* a name that resolves to loopback is judged by the address */
    char url[128];
    snprintf(url, sizeof url, "http://localhost:%d/file/%s", fx.port, WAV_NAME);
    msg = expect_failure(url, &p, FETCH_ERR_BLOCKED);
    assert_non_null(strstr(msg, "loopback"));
    /* and allow_private lets it through */
    p.allow_private = true;
    char err[256] = "";
    assert_int_equal(fetch_http(url_of("/file/" WAV_NAME), dest_file(), &p, err, sizeof err),
                     FETCH_OK);
    assert_only_dest_equals(fx.wav);
}

/* With the first connection exempt (the test server), later ones are
 * checked: a redirect to a private host is refused without connecting. */
static void test_redirect_to_private_blocked(void **state)
{
    (void)state;
    fetch_params p = local_params();
    p.allow_private = false;
    fetch__http_hooks hooks = {.exempt_first_connection = true};
    char err[512] = "";

    /* control: the exemption alone lets a plain download through */
    assert_int_equal(fetch__http_ex(url_of("/file/" WAV_NAME), dest_file(), &p, &hooks, err,
                                    sizeof err),
                     FETCH_OK);
    assert_only_dest_equals(fx.wav);
    empty_dir(fx.dest);

    double t0 = util_now_seconds();
    int rc = fetch__http_ex(url_of("/to-private"), dest_file(), &p, &hooks, err, sizeof err);
    assert_int_equal(rc, FETCH_ERR_BLOCKED);
    assert_true(util_now_seconds() - t0 < 2.0); /* refused, not timed out */
    assert_non_null(strstr(err, "10.255.255.1 (a private address)"));
    assert_dest_empty();

    /* the same server again, but on a new connection: checked and refused */
    char target[256], path[512];
    snprintf(target, sizeof target, "http://127.0.0.1:%d/file/%s", fx.port, WAV_NAME);
    snprintf(path, sizeof path, "/to?close=1&url=%s", target);
    rc = fetch__http_ex(url_of(path), dest_file(), &p, &hooks, err, sizeof err);
    assert_int_equal(rc, FETCH_ERR_BLOCKED);
    assert_non_null(strstr(err, "127.0.0.1 (a loopback address)"));
    assert_dest_empty();

    /* a redirect to an IPv6 loopback literal too */
    snprintf(path, sizeof path, "/to?url=http://[::1]:%d/file/%s", fx.port, WAV_NAME);
    rc = fetch__http_ex(url_of(path), dest_file(), &p, &hooks, err, sizeof err);
    assert_int_equal(rc, FETCH_ERR_BLOCKED);
    assert_non_null(strstr(err, "::1 (a loopback address)"));
    assert_dest_empty();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_policy),
        cmocka_unit_test(test_address_reason_wording),
        cmocka_unit_test(test_address_other_families),
        cmocka_unit_test(test_error_names),
        cmocka_unit_test(test_default_params),
        cmocka_unit_test_setup(test_download_success, each_setup),
        cmocka_unit_test_setup(test_download_without_length, each_setup),
        cmocka_unit_test_setup(test_progress_is_throttled, each_setup),
        cmocka_unit_test_setup(test_download_replaces_existing, each_setup),
        cmocka_unit_test_setup(test_redirects_within_limit, each_setup),
        cmocka_unit_test_setup(test_html_page_is_downloaded, each_setup),
        cmocka_unit_test_setup(test_size_at_the_cap, each_setup),
        cmocka_unit_test_setup(test_user_agent, each_setup),
        cmocka_unit_test_setup(test_too_many_redirects, each_setup),
        cmocka_unit_test_setup(test_redirect_loop, each_setup),
        cmocka_unit_test_setup(test_http_404, each_setup),
        cmocka_unit_test_setup(test_total_timeout, each_setup),
        cmocka_unit_test_setup(test_short_body, each_setup),
        cmocka_unit_test_setup(test_too_large, each_setup),
        cmocka_unit_test_setup(test_cancel_from_progress, each_setup),
        cmocka_unit_test_setup(test_cancel_while_idle, each_setup),
        cmocka_unit_test_setup(test_schemes_refused, each_setup),
        cmocka_unit_test_setup(test_connection_refused, each_setup),
        cmocka_unit_test_setup(test_missing_dest_dir, each_setup),
        cmocka_unit_test_setup(test_loopback_blocked, each_setup),
        cmocka_unit_test_setup(test_redirect_to_private_blocked, each_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
