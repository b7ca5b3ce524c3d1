/* Unit tests for audio_window_resolve and audio_default_params: every rule for
 * --start-time, --end-time and --max-duration, with the messages the CLI will
 * show. Pure logic, no files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "audio/audio.h"

#define U AUDIO_TIME_UNSET

/* Resolves and checks the result is an AUDIO_ERR_RANGE with exactly msg, and
 * that the window is left in its "whole file" state. */
static void expect_range_error(double start, double end, double max_minutes, const char *msg)
{
    audio_window w = {123.0, 456.0};
    char err[256] = "";
    assert_int_equal(audio_window_resolve(start, end, max_minutes, &w, err, sizeof err),
                     AUDIO_ERR_RANGE);
    assert_string_equal(err, msg);
    assert_true(w.start == 0.0);
    assert_true(w.end == AUDIO_TIME_UNSET);
}

static void expect_window(double start, double end, double max_minutes, double want_start,
                          double want_end)
{
    audio_window w = {123.0, 456.0};
    char err[256] = "";
    assert_int_equal(audio_window_resolve(start, end, max_minutes, &w, err, sizeof err), AUDIO_OK);
    assert_true(fabs(w.start - want_start) < 1e-9);
    assert_true(fabs(w.end - want_end) < 1e-9);
}

static void test_default_params_whole_file(void **state)
{
    (void)state;
    audio_params p = audio_default_params();
    assert_true(p.window.start == 0.0);
    assert_true(p.window.end < 0);
}

static void test_nothing_given_is_whole_file(void **state)
{
    (void)state;
    expect_window(0, U, U, 0, U);
}

static void test_start_only(void **state)
{
    (void)state;
    expect_window(12.5, U, U, 12.5, U);
}

static void test_start_and_end(void **state)
{
    (void)state;
    expect_window(10, 20, U, 10, 20);
    expect_window(0, 0.5, U, 0, 0.5);
}

static void test_max_minutes_from_zero(void **state)
{
    (void)state;
    expect_window(0, U, 2, 0, 120);
}

static void test_max_minutes_honours_start(void **state)
{
    (void)state;
    /* Unlike the tool Cesar replaces, the window starts at --start-time. */
    expect_window(30, U, 1.5, 30, 120);
}

static void test_negative_start(void **state)
{
    (void)state;
    expect_range_error(-1, U, U, "--start-time must be >= 0 (got -1)");
    expect_range_error(-0.5, 10, U, "--start-time must be >= 0 (got -0.5)");
}

static void test_nan_and_infinite_start(void **state)
{
    (void)state;
    expect_range_error(NAN, U, U, "--start-time must be a finite number (got nan)");
    expect_range_error(INFINITY, U, U, "--start-time must be a finite number (got inf)");
}

static void test_end_not_after_start(void **state)
{
    (void)state;
    expect_range_error(10, 5, U, "--end-time (5) must be after --start-time (10)");
    expect_range_error(10, 10, U, "--end-time (10) must be after --start-time (10)");
    expect_range_error(0, 0, U, "--end-time (0) must be after --start-time (0)");
}

static void test_negative_end_other_than_unset(void **state)
{
    (void)state;
    expect_range_error(0, -3, U, "--end-time must be >= 0 (got -3)");
    expect_range_error(0, -1.5, U, "--end-time must be >= 0 (got -1.5)");
    expect_range_error(0, NAN, U, "--end-time must be a finite number (got nan)");
    expect_range_error(0, INFINITY, U, "--end-time must be a finite number (got inf)");
}

static void test_max_minutes_zero(void **state)
{
    (void)state;
    expect_range_error(0, U, 0, "--max-duration must be > 0 (got 0)");
}

static void test_max_minutes_negative_or_nan(void **state)
{
    (void)state;
    expect_range_error(0, U, -3, "--max-duration must be > 0 (got -3)");
    expect_range_error(0, U, NAN, "--max-duration must be a finite number (got nan)");
}

static void test_max_minutes_too_large(void **state)
{
    (void)state;
    expect_range_error(0, U, 1e308, "--max-duration is too large (got 1e+308)");
}

static void test_end_with_max_minutes(void **state)
{
    (void)state;
    expect_range_error(0, 60, 1, "--max-duration cannot be combined with --end-time");
    expect_range_error(5, 60, 1, "--max-duration cannot be combined with --end-time");
}

static void test_start_error_reported_first(void **state)
{
    (void)state;
    /* Several mistakes: the message names the first option in order. */
    expect_range_error(-1, 5, 0, "--start-time must be >= 0 (got -1)");
}

static void test_null_error_buffer(void **state)
{
    (void)state;
    audio_window w;
    assert_int_equal(audio_window_resolve(-1, U, U, &w, NULL, 0), AUDIO_ERR_RANGE);
    assert_int_equal(audio_window_resolve(1, 2, U, &w, NULL, 0), AUDIO_OK);
    assert_int_equal(audio_window_resolve(1, 2, U, NULL, NULL, 0), AUDIO_OK);
}

static void test_small_error_buffer_truncates(void **state)
{
    (void)state;
    audio_window w;
    char err[8];
    memset(err, 'x', sizeof err);
    assert_int_equal(audio_window_resolve(-1, U, U, &w, err, sizeof err), AUDIO_ERR_RANGE);
    assert_string_equal(err, "--start");
}

static void test_strerror_names_every_code(void **state)
{
    (void)state;
    for (int c = AUDIO_OK; c <= AUDIO_ERR_IO; c++) {
        const char *s = audio_strerror(c);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
    }
    assert_string_equal(audio_strerror(AUDIO_ERR_RANGE), "invalid time window");
    assert_string_equal(audio_strerror(9999), "unknown error");
    assert_string_equal(audio_strerror(-1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_params_whole_file),
        cmocka_unit_test(test_nothing_given_is_whole_file),
        cmocka_unit_test(test_start_only),
        cmocka_unit_test(test_start_and_end),
        cmocka_unit_test(test_max_minutes_from_zero),
        cmocka_unit_test(test_max_minutes_honours_start),
        cmocka_unit_test(test_negative_start),
        cmocka_unit_test(test_nan_and_infinite_start),
        cmocka_unit_test(test_end_not_after_start),
        cmocka_unit_test(test_negative_end_other_than_unset),
        cmocka_unit_test(test_max_minutes_zero),
        cmocka_unit_test(test_max_minutes_negative_or_nan),
        cmocka_unit_test(test_max_minutes_too_large),
        cmocka_unit_test(test_end_with_max_minutes),
        cmocka_unit_test(test_start_error_reported_first),
        cmocka_unit_test(test_null_error_buffer),
        cmocka_unit_test(test_small_error_buffer_truncates),
        cmocka_unit_test(test_strerror_names_every_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
