/* test_format_file: format_write_file's promise — the target is replaced
 * whole or not at all, a failure names the path, and no temporary file is
 * left behind in either case. Each test works in its own fresh directory
 * under the build tree and removes it afterwards. */
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

#include "format/format.h"

typedef struct {
    char dir[512];
    transcript *t;
    format_meta meta;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/test_format_file.XXXXXX", CESAR_BINARY_DIR);
    f->t = transcript_new();
    if (!mkdtemp(f->dir) || !f->t)
        return -1;
    if (transcript_add_segment(f->t, 0.0, 1.5, "first line", NULL) != TRANSCRIPT_OK ||
        transcript_add_segment(f->t, 1.5, 3.0, "second line", NULL) != TRANSCRIPT_OK)
        return -1;
    f->t->duration = 3.0;
    f->meta = format_default_meta();
    f->meta.created = 1764112586;
    *state = f;
    return 0;
}

/* Removes the directory and what the tests put in it (files, and empty
 * directories standing where a file was expected). */
static int teardown(void **state)
{
    fixture *f = *state;
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            if (unlink(p) != 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    transcript_free(f->t);
    free(f);
    return 0;
}

/* Names in dir other than . and .., joined by '|' in readdir order, plus
 * a count; enough to say "only out.txt is here". */
static size_t list_dir(const char *dir, char *names, size_t n)
{
    size_t count = 0;
    names[0] = '\0';
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (count++)
            strncat(names, "|", n - strlen(names) - 1);
        strncat(names, e->d_name, n - strlen(names) - 1);
    }
    closedir(d);
    return count;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    util_buf b = UTIL_BUF_INIT(0);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        assert_int_equal(util_buf_append(&b, chunk, got), UTIL_OK);
    fclose(fp);
    *len = b.len;
    return util_buf_take(&b);
}

static void write_bytes(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void test_writes_new_file(void **state)
{
    fixture *f = *state;
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/out.txt", f->dir);
    assert_int_equal(format_write_file(FORMAT_TXT, f->t, &f->meta, path, err, sizeof err),
                     FORMAT_OK);
    size_t len;
    char *got = read_all(path, &len);
    assert_string_equal(got, "first line\nsecond line\n");
    assert_int_equal(len, strlen("first line\nsecond line\n"));
    free(got);
    char names[1024];
    assert_int_equal(list_dir(f->dir, names, sizeof names), 1);
    assert_string_equal(names, "out.txt");
}

static void test_missing_directory_fails_cleanly(void **state)
{
    fixture *f = *state;
    char missing[1024], path[2048], err[1024] = "";
    snprintf(missing, sizeof missing, "%s/no-such-dir", f->dir);
    snprintf(path, sizeof path, "%s/out.srt", missing);
    assert_int_equal(format_write_file(FORMAT_SRT, f->t, &f->meta, path, err, sizeof err),
                     FORMAT_ERR_IO);
    if (!strstr(err, path))
        fail_msg("message does not name the path: %s", err);
    struct stat st;
    assert_int_not_equal(stat(missing, &st), 0);
    char names[1024];
    assert_int_equal(list_dir(f->dir, names, sizeof names), 0);
}

static void test_overwrite_replaces_whole_file(void **state)
{
    fixture *f = *state;
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/out.json", f->dir);
    /* Longer than the new content: a non-atomic in-place write that forgot
     * to truncate would leave this tail behind. */
    size_t old_len = 100000;
    char *old = malloc(old_len);
    assert_non_null(old);
    memset(old, 'x', old_len);
    write_bytes(path, old, old_len);
    free(old);

    assert_int_equal(format_write_file(FORMAT_JSON, f->t, &f->meta, path, err, sizeof err),
                     FORMAT_OK);
    util_buf want = UTIL_BUF_INIT(0);
    assert_int_equal(format_render(FORMAT_JSON, f->t, &f->meta, &want, err, sizeof err), FORMAT_OK);
    size_t len;
    char *got = read_all(path, &len);
    assert_int_equal(len, want.len);
    assert_memory_equal(got, want.data, len);
    free(got);
    util_buf_free(&want);

    char names[1024];
    assert_int_equal(list_dir(f->dir, names, sizeof names), 1);
    assert_string_equal(names, "out.json");
}

static void test_render_failure_leaves_target(void **state)
{
    fixture *f = *state;
    char path[1024], err[1024] = "";
    snprintf(path, sizeof path, "%s/keep.md", f->dir);
    write_bytes(path, "previous\n", 9);
    assert_int_equal(format_write_file(FORMAT_COUNT, f->t, &f->meta, path, err, sizeof err),
                     FORMAT_ERR_UNKNOWN);
    if (!strstr(err, path))
        fail_msg("message does not name the path: %s", err);
    assert_int_equal(format_write_file(FORMAT_MD, NULL, &f->meta, path, err, sizeof err),
                     FORMAT_ERR_INVALID);
    size_t len;
    char *got = read_all(path, &len);
    assert_string_equal(got, "previous\n");
    free(got);
    char names[1024];
    assert_int_equal(list_dir(f->dir, names, sizeof names), 1);
}

static void test_target_is_directory(void **state)
{
    fixture *f = *state;
    char path[1024], err[1024] = "";
    snprintf(path, sizeof path, "%s/taken.vtt", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    /* The rename step fails here, after the temporary file was written: the
     * one failure that exercises removing it. */
    assert_int_equal(format_write_file(FORMAT_VTT, f->t, &f->meta, path, err, sizeof err),
                     FORMAT_ERR_IO);
    if (!strstr(err, path))
        fail_msg("message does not name the path: %s", err);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    char names[1024];
    assert_int_equal(list_dir(f->dir, names, sizeof names), 1);
    assert_string_equal(names, "taken.vtt");
}

static void test_null_path(void **state)
{
    fixture *f = *state;
    char err[256] = "";
    assert_int_equal(format_write_file(FORMAT_TXT, f->t, &f->meta, NULL, err, sizeof err),
                     FORMAT_ERR_INVALID);
    assert_true(err[0] != '\0');
    /* A NULL error buffer is allowed. */
    assert_int_equal(format_write_file(FORMAT_TXT, f->t, &f->meta, NULL, NULL, 0),
                     FORMAT_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writes_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_replaces_whole_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_failure_leaves_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_is_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
