/* Unit tests for util: capped buffers, array growth, JSON string escaping,
 * paths, atomic file replacement, the same-file test and tree removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

static void test_buf_grows_and_terminates(void **state)
{
    (void)state;
    util_buf b = UTIL_BUF_INIT(0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(util_buf_printf(&b, "%d,", i), UTIL_OK);
    assert_int_equal(b.len, strlen(b.data));
    assert_true(strncmp(b.data, "0,1,2,", 6) == 0);
    assert_non_null(strstr(b.data, ",999,"));
    util_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    util_buf_free(&b);
    assert_null(b.data);
    util_buf_free(NULL);
}

static void test_buf_cap_is_hard(void **state)
{
    (void)state;
    util_buf b = UTIL_BUF_INIT(10);
    assert_int_equal(util_buf_puts(&b, "0123456789"), UTIL_OK);
    assert_int_equal(util_buf_putc(&b, 'x'), UTIL_ERR_TOO_LARGE);
    assert_int_equal(util_buf_printf(&b, "%s", "y"), UTIL_ERR_TOO_LARGE);
    assert_string_equal(b.data, "0123456789"); /* unchanged by the refused appends */
    util_buf_free(&b);
}

static void test_buf_take(void **state)
{
    (void)state;
    util_buf b = UTIL_BUF_INIT(0);
    char *empty = util_buf_take(&b);
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
    util_buf_puts(&b, "hello");
    char *s = util_buf_take(&b);
    assert_string_equal(s, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
}

static void test_array_reserve(void **state)
{
    (void)state;
    int *a = NULL;
    size_t alloc = 0, n = 0;
    for (int i = 0; i < 1000; i++) {
        int *g = util_array_reserve(a, &alloc, n, sizeof *a);
        assert_non_null(g);
        a = g;
        assert_true(alloc > n);
        a[n++] = i;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(a[i], i);
    /* an impossible size fails and leaves the array as it was */
    size_t before = alloc;
    size_t huge = before;
    assert_null(util_array_reserve(a, &huge, huge, SIZE_MAX / 4));
    assert_int_equal(huge, before);
    free(a);
}

static void test_json_string(void **state)
{
    (void)state;
    util_buf b = UTIL_BUF_INIT(0);
    util_buf_json_string(&b, "a\"b\\c\nd\te\x01 \xc3\xa7 /");
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\te\\u0001 \xc3\xa7 /\"");
    util_buf_free(&b);
}

static void test_strings(void **state)
{
    (void)state;
    char small[4];
    util_strlcpy(small, "abcdef", sizeof small);
    assert_string_equal(small, "abc");
    util_strlcpy(small, NULL, sizeof small);
    assert_string_equal(small, "");
    assert_string_equal(util_path_ext("dir.d/file.MP3"), "MP3");
    assert_string_equal(util_path_ext("dir.d/file"), "");
    assert_string_equal(util_path_ext(".hidden"), "");
    assert_string_equal(util_path_ext("a.tar.gz"), "gz");
    char dir[64];
    util_path_dirname("a/b/c.txt", dir, sizeof dir);
    assert_string_equal(dir, "a/b");
    util_path_dirname("c.txt", dir, sizeof dir);
    assert_string_equal(dir, ".");
    util_path_dirname("/c.txt", dir, sizeof dir);
    assert_string_equal(dir, "/");
    char err[64];
    assert_int_equal(util_errf(err, sizeof err, 7, "x=%d", 3), 7);
    assert_string_equal(err, "x=3");
    assert_int_equal(util_errf(NULL, 0, 5, "ignored"), 5);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/cesar-util-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static size_t count_entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_atomic_write_replaces_whole(void **state)
{
    (void)state;
    char path[128], err[256], buf[64] = "";
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    assert_int_equal(util_write_file_atomic(path, "first version\n", 14, err, sizeof err), UTIL_OK);
    assert_int_equal(util_write_file_atomic(path, "second\n", 7, err, sizeof err), UTIL_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, "second\n");
    assert_int_equal(count_entries(tmpdir), 1); /* no temporary file left */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    /* an ordinary file's permissions, not mkstemp's private 0600 */
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
}

static void test_atomic_write_fails_cleanly(void **state)
{
    (void)state;
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/missing-dir/out.txt", tmpdir);
    size_t before = count_entries(tmpdir);
    assert_int_equal(util_write_file_atomic(path, "x", 1, err, sizeof err), UTIL_ERR_IO);
    assert_non_null(strstr(err, path));
    assert_int_equal(count_entries(tmpdir), before);
}

static void test_mkdir_p_and_same_file(void **state)
{
    (void)state;
    char dir[128], file[160], link[160], err[256];
    snprintf(dir, sizeof dir, "%s/a/b/c", tmpdir);
    assert_int_equal(util_mkdir_p(dir, err, sizeof err), UTIL_OK);
    assert_int_equal(util_mkdir_p(dir, err, sizeof err), UTIL_OK); /* again: fine */
    snprintf(file, sizeof file, "%s/f.txt", dir);
    assert_int_equal(util_write_file_atomic(file, "x", 1, err, sizeof err), UTIL_OK);
    snprintf(link, sizeof link, "%s/l.txt", dir);
    assert_int_equal(symlink(file, link), 0);
    assert_true(util_same_file(file, link));
    assert_false(util_same_file(file, dir));
    assert_false(util_same_file(file, "/nonexistent/x"));
    /* a file in the way of a directory */
    char blocked[200];
    snprintf(blocked, sizeof blocked, "%s/sub", file);
    assert_int_equal(util_mkdir_p(blocked, err, sizeof err), UTIL_ERR_IO);
    assert_non_null(strstr(err, file));
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_remove_tree(void **state)
{
    (void)state;
    char top[128], deep[200], p[300], outside[200], err[256];
    snprintf(top, sizeof top, "%s/tree", tmpdir);
    snprintf(deep, sizeof deep, "%s/.ytdlp-x/nested", top);
    assert_int_equal(util_mkdir_p(deep, err, sizeof err), UTIL_OK);
    snprintf(p, sizeof p, "%s/f", deep);
    assert_int_equal(util_write_file_atomic(p, "x", 1, err, sizeof err), UTIL_OK);
    snprintf(p, sizeof p, "%s/audio", top);
    assert_int_equal(util_write_file_atomic(p, "x", 1, err, sizeof err), UTIL_OK);
    /* a link to something outside: removed, its target kept */
    snprintf(outside, sizeof outside, "%s/keep-me", tmpdir);
    assert_int_equal(util_mkdir_p(outside, err, sizeof err), UTIL_OK);
    snprintf(p, sizeof p, "%s/link", top);
    assert_int_equal(symlink(outside, p), 0);

    assert_int_equal(util_remove_tree(top, true, err, sizeof err), UTIL_OK);
    assert_true(exists(top)); /* keep_top: only the contents go */
    DIR *d = opendir(top);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(entries, 0);
    assert_true(exists(outside));

    assert_int_equal(util_mkdir_p(deep, err, sizeof err), UTIL_OK);
    assert_int_equal(util_remove_tree(top, false, err, sizeof err), UTIL_OK);
    assert_false(exists(top));
    assert_int_equal(util_remove_tree(top, false, err, sizeof err), UTIL_OK); /* missing: fine */
    /* a plain file goes too, unless only contents were asked for */
    snprintf(p, sizeof p, "%s/plain", tmpdir);
    assert_int_equal(util_write_file_atomic(p, "x", 1, err, sizeof err), UTIL_OK);
    assert_int_equal(util_remove_tree(p, true, err, sizeof err), UTIL_ERR_IO);
    assert_non_null(strstr(err, p));
    assert_int_equal(util_remove_tree(p, false, err, sizeof err), UTIL_OK);
    assert_false(exists(p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_terminates),
        cmocka_unit_test(test_buf_cap_is_hard),
        cmocka_unit_test(test_buf_take),
        cmocka_unit_test(test_array_reserve),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_atomic_write_replaces_whole),
        cmocka_unit_test(test_atomic_write_fails_cleanly),
        cmocka_unit_test(test_mkdir_p_and_same_file),
        cmocka_unit_test(test_remove_tree),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
