/* test_format_clock: the timestamp functions at their edges. The case that
 * matters most is the carry: a time just under a minute or an hour must
 * round up into the next unit ("01:00.0", "1:00:00.0"), never print "60". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "format/format.h"

static void expect_tenths(double seconds, const char *want)
{
    char buf[32];
    format_clock_tenths(seconds, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("format_clock_tenths(%.17g) = \"%s\", want \"%s\"", seconds, buf, want);
}

static void expect_duration(double seconds, const char *want)
{
    char buf[32];
    format_duration(seconds, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("format_duration(%.17g) = \"%s\", want \"%s\"", seconds, buf, want);
}

static void expect_millis(double seconds, char sep, const char *want)
{
    char buf[32];
    format_clock_millis(seconds, sep, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("format_clock_millis(%.17g, '%c') = \"%s\", want \"%s\"", seconds, sep, buf, want);
}

static void test_tenths_under_a_minute(void **state)
{
    (void)state;
    expect_tenths(0.0, "00:00.0");
    expect_tenths(0.04, "00:00.0");
    expect_tenths(0.05, "00:00.1");
    expect_tenths(1.25, "00:01.3");
    expect_tenths(59.94, "00:59.9");
}

static void test_tenths_minute_carry(void **state)
{
    (void)state;
    expect_tenths(59.95, "01:00.0");
    expect_tenths(59.96, "01:00.0");
    expect_tenths(60.0, "01:00.0");
    expect_tenths(599.99, "10:00.0");
    expect_tenths(3599.94, "59:59.9");
    expect_tenths(3599.949, "59:59.9");
}

static void test_tenths_hour_carry(void **state)
{
    (void)state;
    expect_tenths(3599.96, "1:00:00.0");
    expect_tenths(3600.0, "1:00:00.0");
    expect_tenths(3659.96, "1:01:00.0");
    expect_tenths(7199.96, "2:00:00.0");
    expect_tenths(36000.0, "10:00:00.0");
    expect_tenths(360000.0, "100:00:00.0");
}

static void test_tenths_bad_input(void **state)
{
    (void)state;
    expect_tenths(-0.01, "00:00.0");
    expect_tenths(-3600.0, "00:00.0");
    expect_tenths(NAN, "00:00.0");
    expect_tenths(-INFINITY, "00:00.0");
    /* Absurd times are clamped, not undefined: 1e12 s. */
    expect_tenths(INFINITY, "277777777:46:40.0");
}

static void test_tenths_small_buffer(void **state)
{
    (void)state;
    char buf[4] = "zzz";
    format_clock_tenths(3599.96, buf, sizeof buf);
    assert_string_equal(buf, "1:0"); /* truncated, still terminated */
    char untouched[2] = "z";
    format_clock_tenths(1.0, untouched, 0);
    assert_string_equal(untouched, "z");
    format_clock_tenths(1.0, NULL, 10); /* must not crash */
}

static void test_duration(void **state)
{
    (void)state;
    expect_duration(0.0, "00:00");
    expect_duration(0.49, "00:00");
    expect_duration(0.5, "00:01");
    expect_duration(59.4, "00:59");
    expect_duration(59.5, "01:00");
    expect_duration(62.0, "01:02");
    expect_duration(3599.4, "59:59");
    expect_duration(3599.5, "1:00:00");
    expect_duration(3600.0, "1:00:00");
    expect_duration(4000.0, "1:06:40");
    expect_duration(36000.0, "10:00:00");
    expect_duration(-5.0, "00:00");
    expect_duration(NAN, "00:00");
}

static void test_millis_srt(void **state)
{
    (void)state;
    expect_millis(0.0, ',', "00:00:00,000");
    expect_millis(0.0004, ',', "00:00:00,000");
    expect_millis(0.12, ',', "00:00:00,120");
    expect_millis(59.96, ',', "00:00:59,960");
    expect_millis(59.9996, ',', "00:01:00,000");
    expect_millis(3599.96, ',', "00:59:59,960");
    expect_millis(3599.9996, ',', "01:00:00,000");
    expect_millis(3600.0, ',', "01:00:00,000");
    expect_millis(36000.0, ',', "10:00:00,000");
    /* Hours grow past two digits rather than wrapping. */
    expect_millis(360000.0, ',', "100:00:00,000");
}

static void test_millis_vtt_and_bad_input(void **state)
{
    (void)state;
    expect_millis(3723.456, '.', "01:02:03.456");
    expect_millis(-1.0, '.', "00:00:00.000");
    expect_millis(NAN, ',', "00:00:00,000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tenths_under_a_minute),
        cmocka_unit_test(test_tenths_minute_carry),
        cmocka_unit_test(test_tenths_hour_carry),
        cmocka_unit_test(test_tenths_bad_input),
        cmocka_unit_test(test_tenths_small_buffer),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_millis_srt),
        cmocka_unit_test(test_millis_vtt_and_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
