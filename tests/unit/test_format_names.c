/* test_format_names: format names, file extensions, content types and error
 * strings — the parts of the module users meet through command-line flags
 * and output paths, so the error messages are checked as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "format/format.h"

static void expect_name(const char *name, format_kind want)
{
    format_kind k = FORMAT_COUNT;
    char err[256] = "";
    int rc = format_from_name_err(name, &k, err, sizeof err);
    if (rc != FORMAT_OK || k != want)
        fail_msg("format_from_name(\"%s\") = %d/%d (%s), want %d", name, rc, (int)k, err,
                 (int)want);
    assert_int_equal(format_from_name(name, &k), FORMAT_OK);
    assert_int_equal(k, want);
}

static void expect_path(const char *path, format_kind want)
{
    format_kind k = FORMAT_COUNT;
    char err[256] = "";
    int rc = format_from_path_err(path, &k, err, sizeof err);
    if (rc != FORMAT_OK || k != want)
        fail_msg("format_from_path(\"%s\") = %d/%d (%s), want %d", path, rc, (int)k, err,
                 (int)want);
    assert_int_equal(format_from_path(path, &k), FORMAT_OK);
    assert_int_equal(k, want);
}

static void test_from_name(void **state)
{
    (void)state;
    expect_name("txt", FORMAT_TXT);
    expect_name("TXT", FORMAT_TXT);
    expect_name("md", FORMAT_MD);
    expect_name("Md", FORMAT_MD);
    expect_name("srt", FORMAT_SRT);
    expect_name("vtt", FORMAT_VTT);
    expect_name("JSON", FORMAT_JSON);
}

static void test_from_name_errors(void **state)
{
    (void)state;
    const char *bad[] = {"xml", "", "markdown", "txt ", ".txt", "jso"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        format_kind k = FORMAT_TXT;
        char err[256] = "";
        assert_int_equal(format_from_name_err(bad[i], &k, err, sizeof err), FORMAT_ERR_UNKNOWN);
        assert_int_equal(k, FORMAT_COUNT);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        if (!strstr(err, quoted) || !strstr(err, "txt, md, srt, vtt, json"))
            fail_msg("message for \"%s\" lacks the value or the list: %s", bad[i], err);
        k = FORMAT_TXT;
        assert_int_equal(format_from_name(bad[i], &k), FORMAT_ERR_UNKNOWN);
        assert_int_equal(k, FORMAT_COUNT);
    }
    char err[256] = "";
    format_kind k = FORMAT_TXT;
    assert_int_equal(format_from_name_err(NULL, &k, err, sizeof err), FORMAT_ERR_UNKNOWN);
    assert_int_equal(k, FORMAT_COUNT);
    assert_non_null(strstr(err, "txt, md, srt, vtt, json"));
    /* NULL out and NULL err are tolerated. */
    assert_int_equal(format_from_name_err("nope", NULL, NULL, 0), FORMAT_ERR_UNKNOWN);
    assert_int_equal(format_from_name_err("srt", NULL, NULL, 0), FORMAT_OK);
}

static void test_from_path(void **state)
{
    (void)state;
    expect_path("out.txt", FORMAT_TXT);
    expect_path("OUT.TXT", FORMAT_TXT);
    expect_path("notes.md", FORMAT_MD);
    expect_path("notes.Markdown", FORMAT_MD);
    expect_path("/tmp/x.y/talk.srt", FORMAT_SRT);
    expect_path("talk.en.vtt", FORMAT_VTT);
    expect_path("result.JSON", FORMAT_JSON);
    expect_path("./rel/dir/a b.json", FORMAT_JSON);
}

static void expect_path_error(const char *path, const char *must_contain)
{
    format_kind k = FORMAT_TXT;
    char err[512] = "";
    assert_int_equal(format_from_path_err(path, &k, err, sizeof err), FORMAT_ERR_UNKNOWN);
    assert_int_equal(k, FORMAT_COUNT);
    if (!strstr(err, must_contain) || !strstr(err, ".txt, .md, .markdown, .srt, .vtt, .json"))
        fail_msg("message for \"%s\" lacks \"%s\" or the list: %s", path, must_contain, err);
}

static void test_from_path_errors(void **state)
{
    (void)state;
    expect_path_error("out.xml", "'.xml'");
    expect_path_error("archive.tar.gz", "'.gz'");
    expect_path_error("out.txt.bak", "'.bak'");
    expect_path_error("noext", "'noext'");
    /* The dot in a directory name is not an extension. */
    expect_path_error("dir.md/noext", "'dir.md/noext'");
    /* A dot-file has no extension either. */
    expect_path_error("/tmp/.json", "'/tmp/.json'");
    expect_path_error("trailingdot.", "'trailingdot.'");
    char err[128] = "";
    format_kind k = FORMAT_TXT;
    assert_int_equal(format_from_path_err(NULL, &k, err, sizeof err), FORMAT_ERR_UNKNOWN);
    assert_int_equal(k, FORMAT_COUNT);
    assert_true(err[0] != '\0');
    assert_int_equal(format_from_path("x.doc", NULL), FORMAT_ERR_UNKNOWN);
}

static void test_names_and_content_types(void **state)
{
    (void)state;
    assert_string_equal(format_name(FORMAT_TXT), "txt");
    assert_string_equal(format_name(FORMAT_MD), "md");
    assert_string_equal(format_name(FORMAT_SRT), "srt");
    assert_string_equal(format_name(FORMAT_VTT), "vtt");
    assert_string_equal(format_name(FORMAT_JSON), "json");
    assert_string_equal(format_name(FORMAT_COUNT), "unknown");
    assert_string_equal(format_name((format_kind)-1), "unknown");
    assert_string_equal(format_content_type(FORMAT_TXT), "text/plain; charset=utf-8");
    assert_string_equal(format_content_type(FORMAT_MD), "text/markdown; charset=utf-8");
    assert_string_equal(format_content_type(FORMAT_SRT), "application/x-subrip; charset=utf-8");
    assert_string_equal(format_content_type(FORMAT_VTT), "text/vtt; charset=utf-8");
    assert_string_equal(format_content_type(FORMAT_JSON), "application/json");
    assert_string_equal(format_content_type(FORMAT_COUNT), "application/octet-stream");
    assert_string_equal(format_names_list(), "txt, md, srt, vtt, json");
    /* Every kind's name parses back to itself. */
    for (int k = 0; k < FORMAT_COUNT; k++) {
        format_kind back = FORMAT_COUNT;
        assert_int_equal(format_from_name(format_name((format_kind)k), &back), FORMAT_OK);
        assert_int_equal(back, k);
    }
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(format_strerror(FORMAT_OK), "ok");
    const int codes[] = {FORMAT_ERR_UNKNOWN, FORMAT_ERR_NOMEM, FORMAT_ERR_IO, FORMAT_ERR_INVALID,
                         FORMAT_ERR_TOO_LARGE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = format_strerror(codes[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, format_strerror(codes[j]));
    }
    assert_string_equal(format_strerror(999), "unknown error");
    assert_string_equal(format_strerror(-1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_name),
        cmocka_unit_test(test_from_name_errors),
        cmocka_unit_test(test_from_path),
        cmocka_unit_test(test_from_path_errors),
        cmocka_unit_test(test_names_and_content_types),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
