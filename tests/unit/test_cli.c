/* Unit tests for the CLI's pure parts: time parsing and the progress bar
 * line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cli/cli.h"

static void assert_time(const char *text, double expected)
{
    double v = -12345;
    assert_true(cli_parse_time(text, &v));
    assert_float_equal(v, expected, 1e-9);
}

static void test_parse_seconds(void **state)
{
    (void)state;
    assert_time("0", 0);
    assert_time("90", 90);
    assert_time("12.5", 12.5);
    assert_time(".5", 0.5);
    assert_time("-3", -3); /* parsed; the caller rejects it with the option's name */
}

static void test_parse_clock(void **state)
{
    (void)state;
    assert_time("1:30", 90);
    assert_time("01:02:03.5", 3723.5);
    assert_time("0:03.5", 3.5);
    assert_time("10:00:00", 36000);
    assert_time("-1:00", -60);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    double v;
    const char *bad[] = {"", "abc", "1:", ":30", "1:60", "1:2:3:4", "1.5:00", "12s",
                         "1e3", "inf", "nan", " 5", "5 ", "--5", "1:-5", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cli_parse_time(bad[i], &v))
            fail_msg("accepted '%s' as %f", bad[i], v);
    }
    assert_false(cli_parse_time(NULL, &v));
}

static void test_progress_line(void **state)
{
    (void)state;
    char line[256];
    cli_progress_render(line, sizeof line, 80, "Transcribing", 0.5, 10);
    assert_non_null(strstr(line, " 50%"));
    assert_non_null(strstr(line, "00:10 elapsed"));
    assert_non_null(strstr(line, "ETA 00:10"));
    assert_true(strlen(line) <= 80);
    /* half the bar filled */
    const char *open = strchr(line, '['), *close = strchr(line, ']');
    assert_non_null(open);
    assert_non_null(close);
    size_t hashes = 0, width = (size_t)(close - open - 1);
    for (const char *p = open + 1; p < close; p++)
        hashes += *p == '#';
    assert_true(hashes * 2 >= width - 1 && hashes * 2 <= width + 1);
}

static void test_progress_edges(void **state)
{
    (void)state;
    char line[256];
    cli_progress_render(line, sizeof line, 80, "Loading", 0.0, 1);
    assert_non_null(strstr(line, "  0%"));
    assert_null(strstr(line, "ETA"));
    cli_progress_render(line, sizeof line, 80, "Transcribing", 1.7, 30);
    assert_non_null(strstr(line, "100%"));
    assert_non_null(strstr(line, "ETA 00:00"));
    cli_progress_render(line, sizeof line, 80, "Transcribing", -1, 5);
    assert_null(strstr(line, "%"));
    /* a narrow terminal still gets a usable, bounded line */
    cli_progress_render(line, sizeof line, 20, "Transcribing", 0.25, 5);
    assert_non_null(strstr(line, "25%"));
    /* a tiny buffer is truncated, never overrun */
    char tiny[12];
    cli_progress_render(tiny, sizeof tiny, 80, "Transcribing", 0.25, 5);
    assert_true(strlen(tiny) < sizeof tiny);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_seconds),  cmocka_unit_test(test_parse_clock),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_progress_line),  cmocka_unit_test(test_progress_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
