/* Unit tests for the download cache (src/fetch/cache.c): round trips,
 * misses, expiry, eviction by age under a byte budget, oversized files,
 * a put killed mid-copy, the sweep of leftovers, forged sidecars and a bad
 * directory. Each test works in its own mkdtemp directory. The tests know
 * the on-disk layout (DIR/ab/HEX.audio + HEX.meta) to age and inspect
 * entries; the layout is described at the top of cache.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "util/util.h"

#include "tmpdir.h"

#define ENTRY_SIZE 10000

typedef struct {
    char root[TMPDIR_ROOT_MAX]; /* mkdtemp directory, removed afterwards */
    char cache[PATH_MAX];       /* root/cache */
    char work[PATH_MAX];        /* root/work: sources and destinations */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (!tmpdir_make(f->root, "cache"))
        return -1;
    snprintf(f->cache, sizeof f->cache, "%s/cache", f->root);
    snprintf(f->work, sizeof f->work, "%s/work", f->root);
    if (mkdir(f->work, 0755) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tmpdir_remove(f->root);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* snprintf for paths: a truncated path would make a test pass or fail for
 * the wrong reason, so it fails the test outright. */
static void path_printf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void path_printf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    assert_true(len > 0 && (size_t)len < n);
}

static fetch_cache *open_cache(const fixture *f, double max_age, long long max_bytes)
{
    fetch_cache_params p = fetch_cache_default_params();
    p.dir = f->cache;
    p.max_age_seconds = max_age;
    p.max_bytes = max_bytes;
    fetch_cache *c = NULL;
    char err[512] = "";
    int rc = fetch_cache_open(&c, &p, err, sizeof err);
    if (rc != FETCH_OK)
        fail_msg("fetch_cache_open: %s", err);
    return c;
}

static void work_path(const fixture *f, const char *name, char *out, size_t n)
{
    path_printf(out, n, "%s/%s", f->work, name);
}

/* A file of size bytes whose content depends on seed. */
static void make_file(const char *path, size_t size, unsigned seed)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < size; i++)
        fputc((int)((i * 131 + seed * 7919 + i / 251) & 0xff), fp);
    assert_int_equal(fclose(fp), 0);
}

static bool same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        if (x != y)
            same = false;
        if (x == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The entry files of key, as cache.c lays them out. */
static void entry_file(const fixture *f, const char *key, const char *ext, char *out, size_t n)
{
    char hex[UTIL_SHA256_HEX_LEN + 1];
    util_sha256_hex(key, strlen(key), hex);
    path_printf(out, n, "%s/%.2s/%s.%s", f->cache, hex, hex, ext);
}

static void entry_subdir(const fixture *f, const char *key, char *out, size_t n)
{
    char hex[UTIL_SHA256_HEX_LEN + 1];
    util_sha256_hex(key, strlen(key), hex);
    path_printf(out, n, "%s/%.2s", f->cache, hex);
}

/* Files under the cache's two-character subdirectories whose names end in
 * suffix (or, when prefix is true, begin with it). */
static int count_files(const fixture *f, const char *affix, bool prefix)
{
    int count = 0;
    DIR *top = opendir(f->cache);
    assert_non_null(top);
    struct dirent *de;
    while ((de = readdir(top)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        path_printf(sub, sizeof sub, "%s/%s", f->cache, de->d_name);
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t n = strlen(e->d_name), m = strlen(affix);
            if (prefix ? strncmp(e->d_name, affix, m) == 0
                       : n > m && strcmp(e->d_name + n - m, affix) == 0)
                count++;
        }
        closedir(d);
    }
    closedir(top);
    return count;
}

static void set_mtime(const char *path, time_t when)
{
    struct timespec times[2] = {{when, 0}, {when, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
}

static void put_ok(fetch_cache *c, const char *key, const char *src)
{
    char err[512] = "";
    int rc = fetch_cache_put(c, key, src, err, sizeof err);
    if (rc != FETCH_OK)
        fail_msg("fetch_cache_put(%s): %s", key, err);
}

static bool get_hit(fetch_cache *c, const char *key, const char *dest)
{
    char err[512] = "";
    bool hit = true;
    int rc = fetch_cache_get(c, key, dest, &hit, err, sizeof err);
    if (rc != FETCH_OK)
        fail_msg("fetch_cache_get(%s): %s", key, err);
    return hit;
}

/* ---- tests -------------------------------------------------------------- */

static void test_put_then_get(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 0);
    char src[PATH_MAX], dest[PATH_MAX], entry[PATH_MAX], meta[PATH_MAX];
    work_path(f, "src.bin", src, sizeof src);
    work_path(f, "dest.bin", dest, sizeof dest);
    make_file(src, 123457, 1);
    const char *key = "url:https://example.com/a.mp3";

    put_ok(c, key, src);
    entry_file(f, key, "audio", entry, sizeof entry);
    entry_file(f, key, "meta", meta, sizeof meta);
    assert_true(exists(entry));
    assert_true(exists(meta));
    assert_int_equal(count_files(f, ".", true), 0); /* no temporary files left */

    assert_true(get_hit(c, key, dest));
    assert_true(same_bytes(src, dest));
    /* Same file system here, so the entry was hard-linked, not copied. */
    assert_true(util_same_file(dest, entry));

    /* dest now exists: link() refuses, and the copy path replaces it. */
    unlink(dest);
    make_file(dest, 10, 9);
    assert_true(get_hit(c, key, dest));
    assert_true(same_bytes(src, dest));
    assert_false(util_same_file(dest, entry));

    /* Putting the same key again replaces the entry with the new bytes. */
    make_file(src, 5000, 2);
    put_ok(c, key, src);
    unlink(dest);
    assert_true(get_hit(c, key, dest));
    assert_true(same_bytes(src, dest));

    /* An empty file is a valid entry too. */
    make_file(src, 0, 0);
    put_ok(c, "yt:empty", src);
    unlink(dest);
    assert_true(get_hit(c, "yt:empty", dest));
    assert_true(same_bytes(src, dest));
    fetch_cache_close(c);
    fetch_cache_close(NULL);
}

static void test_unknown_key_misses(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 0);
    char dest[PATH_MAX];
    work_path(f, "dest.bin", dest, sizeof dest);
    assert_false(get_hit(c, "yt:nothing-here", dest));
    assert_false(exists(dest));
    fetch_cache_close(c);
}

static void test_stale_entry_removed(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 0);
    char src[PATH_MAX], dest[PATH_MAX], entry[PATH_MAX], meta[PATH_MAX];
    work_path(f, "src.bin", src, sizeof src);
    work_path(f, "dest.bin", dest, sizeof dest);
    make_file(src, ENTRY_SIZE, 3);
    const char *key = "yt:dQw4w9WgXcQ";
    put_ok(c, key, src);
    entry_file(f, key, "audio", entry, sizeof entry);
    entry_file(f, key, "meta", meta, sizeof meta);

    set_mtime(entry, time(NULL) - 25 * 3600);
    assert_false(get_hit(c, key, dest));
    assert_false(exists(dest));
    assert_false(exists(entry));
    assert_false(exists(meta));
    fetch_cache_close(c);
}

static void test_max_age_zero_always_misses(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 0, 0);
    char src[PATH_MAX], dest[PATH_MAX], entry[PATH_MAX];
    work_path(f, "src.bin", src, sizeof src);
    work_path(f, "dest.bin", dest, sizeof dest);
    make_file(src, ENTRY_SIZE, 4);
    put_ok(c, "yt:a", src);
    assert_false(get_hit(c, "yt:a", dest));
    assert_false(get_hit(c, "yt:a", dest));
    assert_false(exists(dest));
    /* Lookups are off, but what was put stays for handles that use it. */
    entry_file(f, "yt:a", "audio", entry, sizeof entry);
    assert_true(exists(entry));
    fetch_cache *other = open_cache(f, 3600, 0);
    assert_true(get_hit(other, "yt:a", dest));
    fetch_cache_close(other);
    fetch_cache_close(c);
}

static void test_eviction_oldest_first(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, ENTRY_SIZE * 5 / 2);
    const char *keys[4] = {"yt:k0", "yt:k1", "yt:k2", "yt:k3"};
    char src[PATH_MAX], dest[PATH_MAX], entry[PATH_MAX];
    work_path(f, "src.bin", src, sizeof src);
    work_path(f, "dest.bin", dest, sizeof dest);
    time_t now = time(NULL);
    for (int i = 0; i < 4; i++) {
        make_file(src, ENTRY_SIZE, 10 + (unsigned)i);
        put_ok(c, keys[i], src);
        /* Minutes apart and all in the past, so the order does not depend
         * on the file system's timestamp granularity; each new put is
         * newer than all of them. */
        entry_file(f, keys[i], "audio", entry, sizeof entry);
        if (exists(entry))
            set_mtime(entry, now - (4 - i) * 600);
    }
    for (int i = 0; i < 4; i++) {
        entry_file(f, keys[i], "audio", entry, sizeof entry);
        assert_int_equal(exists(entry), i >= 2);
        entry_file(f, keys[i], "meta", entry, sizeof entry);
        assert_int_equal(exists(entry), i >= 2);
    }
    assert_int_equal(count_files(f, ".audio", false), 2);
    assert_int_equal(count_files(f, ".meta", false), 2);
    assert_false(get_hit(c, keys[0], dest));
    assert_false(get_hit(c, keys[1], dest));
    assert_true(get_hit(c, keys[3], dest));
    make_file(src, ENTRY_SIZE, 13);
    assert_true(same_bytes(src, dest));
    fetch_cache_close(c);
}

static void test_oversized_not_stored(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 1000);
    char src[PATH_MAX], dest[PATH_MAX];
    work_path(f, "src.bin", src, sizeof src);
    work_path(f, "dest.bin", dest, sizeof dest);
    make_file(src, 1001, 5);
    put_ok(c, "yt:big", src);
    assert_false(get_hit(c, "yt:big", dest));
    assert_int_equal(count_files(f, ".audio", false), 0);
    assert_int_equal(count_files(f, ".meta", false), 0);
    assert_int_equal(count_files(f, ".", true), 0);

    /* A stream of unknown size is cut off while copying: /dev/zero never
     * ends, so this only returns because of the limit. */
    put_ok(c, "yt:endless", "/dev/zero");
    assert_int_equal(count_files(f, ".audio", false), 0);
    assert_int_equal(count_files(f, ".", true), 0);

    /* Exactly max_bytes fits. */
    make_file(src, 1000, 6);
    put_ok(c, "yt:fits", src);
    assert_true(get_hit(c, "yt:fits", dest));
    assert_true(same_bytes(src, dest));
    fetch_cache_close(c);
}

/* Writes n bytes to fd (a FIFO), in pieces. */
static void feed(int fd, size_t n)
{
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        ssize_t w = write(fd, buf, k);
        assert_true(w > 0);
        n -= (size_t)w;
    }
}

/* Size of the largest ".tmp-*" file in dir, -1 when there is none. */
static long long largest_tmp(const char *dir)
{
    long long best = -1;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".tmp-", 5) != 0)
            continue;
        char path[PATH_MAX];
        struct stat st;
        path_printf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && st.st_size > best)
            best = st.st_size;
    }
    closedir(d);
    return best;
}

static void test_crash_mid_put(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 0);
    const char *key = "url:https://example.com/long.wav";
    char fifo[PATH_MAX], src[PATH_MAX], dest[PATH_MAX], sub[PATH_MAX];
    work_path(f, "feed.fifo", fifo, sizeof fifo);
    work_path(f, "src.bin", src, sizeof src);
    work_path(f, "dest.bin", dest, sizeof dest);
    entry_subdir(f, key, sub, sizeof sub);
    assert_int_equal(mkfifo(fifo, 0600), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child blocks reading the FIFO inside put, as a slow download
         * would; it never gets to finish. */
        char err[256];
        int rc = fetch_cache_put(c, key, fifo, err, sizeof err);
        _exit(rc == FETCH_OK ? 0 : 1);
    }
    int fd = open(fifo, O_WRONLY);
    assert_true(fd >= 0);
    feed(fd, 300 * 1024);
    /* Wait until the child has copied some of it into its temporary file,
     * then kill it mid-copy, as a crash or power cut would. */
    long long seen = -1;
    for (int i = 0; i < 500 && seen < 64 * 1024; i++) {
        seen = largest_tmp(sub);
        if (seen < 64 * 1024)
            usleep(10000);
    }
    assert_true(seen >= 64 * 1024);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(fd);

    /* Only the temporary file is left, and it is not an entry. */
    assert_true(count_files(f, ".tmp-", true) >= 1);
    assert_int_equal(count_files(f, ".audio", false), 0);
    assert_false(get_hit(c, key, dest));
    assert_false(exists(dest));

    /* The cache still works for that key. */
    make_file(src, ENTRY_SIZE, 7);
    put_ok(c, key, src);
    assert_true(get_hit(c, key, dest));
    assert_true(same_bytes(src, dest));
    fetch_cache_close(c);
}

static void test_leftovers_swept(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 0);
    char src[PATH_MAX], path[PATH_MAX];
    work_path(f, "src.bin", src, sizeof src);
    make_file(src, ENTRY_SIZE, 8);
    put_ok(c, "yt:first", src); /* creates some subdirectory */
    char sub[PATH_MAX];
    entry_subdir(f, "yt:first", sub, sizeof sub);
    time_t two_hours_ago = time(NULL) - 2 * 3600;

    char old_tmp[PATH_MAX], young_tmp[PATH_MAX], old_meta_tmp[PATH_MAX];
    char orphan_meta[PATH_MAX], foreign[PATH_MAX];
    path_printf(old_tmp, sizeof old_tmp, "%s/.tmp-OLD123", sub);
    path_printf(young_tmp, sizeof young_tmp, "%s/.tmp-NEW123", sub);
    path_printf(old_meta_tmp, sizeof old_meta_tmp, "%s/.abc.meta.tmp-OLD456", sub);
    path_printf(orphan_meta, sizeof orphan_meta, "%s/%s.meta", sub, "0000orphan");
    path_printf(foreign, sizeof foreign, "%s/notes.txt", sub);
    make_file(old_tmp, 100, 1);
    make_file(young_tmp, 100, 1);
    make_file(old_meta_tmp, 10, 1);
    make_file(orphan_meta, 10, 1);
    make_file(foreign, 10, 1);
    set_mtime(old_tmp, two_hours_ago);
    set_mtime(old_meta_tmp, two_hours_ago);
    set_mtime(orphan_meta, two_hours_ago);
    set_mtime(foreign, two_hours_ago);

    put_ok(c, "yt:second", src);
    assert_false(exists(old_tmp));
    assert_false(exists(old_meta_tmp));
    assert_false(exists(orphan_meta));
    assert_true(exists(young_tmp)); /* may be a put still running elsewhere */
    assert_true(exists(foreign));   /* not ours */
    entry_file(f, "yt:first", "audio", path, sizeof path);
    assert_true(exists(path));
    fetch_cache_close(c);
}

static void test_forged_meta_misses(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 0);
    char src[PATH_MAX], dest[PATH_MAX], entry[PATH_MAX], meta[PATH_MAX];
    work_path(f, "src.bin", src, sizeof src);
    work_path(f, "dest.bin", dest, sizeof dest);
    make_file(src, ENTRY_SIZE, 9);
    const char *key = "yt:real";
    put_ok(c, key, src);
    entry_file(f, key, "audio", entry, sizeof entry);
    entry_file(f, key, "meta", meta, sizeof meta);

    /* The sidecar of another key, as a hash collision would look. */
    char text[256];
    int n = snprintf(text, sizeof text, "cesar-fetch-cache 1\nsize %d\nkey yt:other\n", ENTRY_SIZE);
    assert_int_equal(util_write_file_atomic(meta, text, (size_t)n, NULL, 0), UTIL_OK);
    assert_false(get_hit(c, key, dest));
    assert_false(exists(dest));
    assert_true(exists(entry)); /* not ours to judge: left for eviction */

    /* The right key but the wrong size: the audio is not what was put. */
    n = snprintf(text, sizeof text, "cesar-fetch-cache 1\nsize %d\nkey yt:real\n", ENTRY_SIZE + 1);
    assert_int_equal(util_write_file_atomic(meta, text, (size_t)n, NULL, 0), UTIL_OK);
    assert_false(get_hit(c, key, dest));

    /* No sidecar at all: a foreign file where an entry would be. */
    unlink(meta);
    assert_false(get_hit(c, key, dest));
    assert_false(exists(dest));

    /* The genuine sidecar back: a hit again. */
    n = snprintf(text, sizeof text, "cesar-fetch-cache 1\nsize %d\nkey yt:real\n", ENTRY_SIZE);
    assert_int_equal(util_write_file_atomic(meta, text, (size_t)n, NULL, 0), UTIL_OK);
    assert_true(get_hit(c, key, dest));
    assert_true(same_bytes(src, dest));
    fetch_cache_close(c);
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    char file[PATH_MAX], err[1024] = "";
    work_path(f, "plain-file", file, sizeof file);
    make_file(file, 5, 1);
    fetch_cache_params p = fetch_cache_default_params();
    p.dir = file;
    fetch_cache *c = (fetch_cache *)&p; /* must be reset to NULL */
    assert_int_equal(fetch_cache_open(&c, &p, err, sizeof err), FETCH_ERR_IO);
    assert_null(c);
    assert_non_null(strstr(err, file));

    /* Below a file: cannot be created. */
    char below[PATH_MAX + 8];
    path_printf(below, sizeof below, "%s/sub", file);
    p.dir = below;
    err[0] = '\0';
    assert_int_equal(fetch_cache_open(&c, &p, err, sizeof err), FETCH_ERR_IO);
    assert_null(c);
    assert_non_null(strstr(err, file));

    /* No directory configured. */
    p.dir = NULL;
    assert_int_equal(fetch_cache_open(&c, &p, err, sizeof err), FETCH_ERR_IO);
    assert_null(c);
    assert_int_equal(fetch_cache_open(&c, &p, NULL, 0), FETCH_ERR_IO);

    /* Missing parents are created. */
    char nested[PATH_MAX];
    path_printf(nested, sizeof nested, "%s/a/b/c", f->root);
    p.dir = nested;
    assert_int_equal(fetch_cache_open(&c, &p, err, sizeof err), FETCH_OK);
    assert_non_null(c);
    struct stat st;
    assert_int_equal(stat(nested, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    fetch_cache_close(c);
}

static void test_put_errors(void **state)
{
    fixture *f = *state;
    fetch_cache *c = open_cache(f, 86400, 0);
    char missing[PATH_MAX], err[1024] = "";
    work_path(f, "no-such-file", missing, sizeof missing);
    assert_int_equal(fetch_cache_put(c, "yt:x", missing, err, sizeof err), FETCH_ERR_IO);
    assert_non_null(strstr(err, missing));
    assert_int_equal(fetch_cache_put(c, "", missing, err, sizeof err), FETCH_ERR_IO);
    bool hit = true;
    assert_int_equal(fetch_cache_get(c, NULL, missing, &hit, err, sizeof err), FETCH_ERR_IO);
    assert_false(hit);
    fetch_cache_close(c);
}

static void test_default_params(void **state)
{
    (void)state;
    fetch_cache_params p = fetch_cache_default_params();
    assert_null(p.dir);
    assert_true(p.max_age_seconds == 86400.0);
    assert_true(p.max_bytes == 10LL * 1024 * 1024 * 1024);
}

int main(void)
{
    /* The crash test's writer must not die if the reader goes first. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_then_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_misses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_entry_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_age_zero_always_misses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eviction_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_not_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_mid_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftovers_swept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_meta_misses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_errors, setup, teardown),
        cmocka_unit_test(test_default_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
