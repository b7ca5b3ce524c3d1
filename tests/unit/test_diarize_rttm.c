/* test_diarize_rttm: speaker turns written as RTTM — time order, speakers
 * named by first appearance, file ids without whitespace, millisecond
 * times, and an untouched buffer on bad arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "diarize/diarize.h"
#include "eval/eval.h"

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

/* What we write, our scorer reads back: same turns, and scored against the
 * turns it came from, DER is exactly 0. */
static void the_scorer_reads_it_back(void **state)
{
    (void)state;
    diarize_turn turns[] = {{0.0, 2.5, 4}, {2.5, 3.125, 1}, {3.0, 7.0, 4}, {8.0, 9.0, 2}};
    util_buf out = UTIL_BUF_INIT(0);
    char err[256];
    assert_int_equal(diarize_rttm_render(turns, 4, "rec", &out, err, sizeof err), DIARIZE_OK);
    eval_rttm *r = NULL;
    assert_int_equal(eval_rttm_parse(out.data, out.len, "hyp.rttm", &r, err, sizeof err),
                     EVAL_OK);
    assert_int_equal(r->n_files, 1);
    assert_string_equal(r->files[0].id, "rec");
    assert_int_equal(r->files[0].n_speakers, 3);
    assert_int_equal(r->files[0].n_turns, 4);
    assert_string_equal(r->files[0].speakers[r->files[0].turns[3].speaker], "speaker3");
    assert_true(r->files[0].turns[1].onset == 2.5 && r->files[0].turns[1].offset == 3.125);
    eval_der_result res;
    eval_der_params p = eval_der_default_params();
    assert_int_equal(eval_der(r, r, &p, &res, err, sizeof err), EVAL_OK);
    assert_true(eval_der_rate(&res.total) == 0.0);
    /* speaker time: 2.5 + 0.625 + 4 + 1, the overlap 3.0-3.125 counted twice */
    assert_true(res.total.scored > 8.124 && res.total.scored < 8.126);
    eval_der_result_free(&res);
    eval_rttm_free(r);
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
        cmocka_unit_test(the_scorer_reads_it_back),
        cmocka_unit_test(no_turns_write_nothing_and_bad_arguments_keep_the_buffer),
        cmocka_unit_test(a_full_buffer_leaves_no_partial_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
