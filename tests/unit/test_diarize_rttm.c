/* test_diarize_rttm: speaker turns written as RTTM — time order, speakers
 * named by first appearance, file ids without whitespace, millisecond
 * times, and an untouched buffer on bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "diarize/diarize.h"

static void turns_are_sorted_and_named_by_first_appearance(void **state)
{
    (void)state;
    /* label 7 speaks first (0.5 s), then 3, then 7 again, with an overlap */
    diarize_turn turns[] = {{4.0, 6.25, 7}, {0.5, 2.0, 7}, {1.75, 4.5, 3}};
    util_buf out = UTIL_BUF_INIT(0);
    char err[128];
    assert_int_equal(diarize_rttm_render(turns, 3, "my meeting\t2", &out, err, sizeof err),
                     DIARIZE_OK);
    assert_string_equal(out.data,
                        "SPEAKER my_meeting_2 1 0.500 1.500 <NA> <NA> speaker1 <NA> <NA>\n"
                        "SPEAKER my_meeting_2 1 1.750 2.750 <NA> <NA> speaker2 <NA> <NA>\n"
                        "SPEAKER my_meeting_2 1 4.000 2.250 <NA> <NA> speaker1 <NA> <NA>\n");
    util_buf_free(&out);
}

static void no_turns_write_nothing_and_bad_arguments_keep_the_buffer(void **state)
{
    (void)state;
    util_buf out = UTIL_BUF_INIT(0);
    assert_int_equal(util_buf_puts(&out, "kept"), UTIL_OK);
    assert_int_equal(diarize_rttm_render(NULL, 0, NULL, &out, NULL, 0), DIARIZE_OK);
    assert_string_equal(out.data, "kept");
    char err[128] = "";
    assert_int_equal(diarize_rttm_render(NULL, 2, "x", &out, err, sizeof err),
                     DIARIZE_ERR_INVALID);
    assert_string_equal(out.data, "kept");
    assert_true(err[0] != '\0');
    util_buf_free(&out);
}

static void a_full_buffer_leaves_no_partial_line(void **state)
{
    (void)state;
    diarize_turn turns[] = {{0.0, 1.0, 0}, {1.0, 2.0, 1}};
    util_buf out = UTIL_BUF_INIT(70); /* room for one line, not two */
    char err[128];
    assert_int_equal(util_buf_puts(&out, ""), UTIL_OK);
    assert_int_equal(diarize_rttm_render(turns, 2, "f", &out, err, sizeof err),
                     DIARIZE_ERR_INVALID);
    assert_int_equal(out.len, 0);
    util_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(turns_are_sorted_and_named_by_first_appearance),
        cmocka_unit_test(no_turns_write_nothing_and_bad_arguments_keep_the_buffer),
        cmocka_unit_test(a_full_buffer_leaves_no_partial_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
