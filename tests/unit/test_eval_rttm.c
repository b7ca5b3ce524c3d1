/* test_eval_rttm: the RTTM and UEM readers — what they keep, what they skip,
 * and that every malformed line is reported as "name:line: what was wrong".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

static eval_rttm *parse_ok(const char *text)
{
    eval_rttm *r = NULL;
    char err[256] = "";
    assert_int_equal(eval_rttm_parse(text, strlen(text), "t.rttm", &r, err, sizeof err),
                     EVAL_OK);
    assert_non_null(r);
    return r;
}

/* Parses text expecting EVAL_ERR_PARSE and exactly the message given. */
static void assert_rttm_error(const char *text, const char *message)
{
    eval_rttm *r = (eval_rttm *)1;
    char err[256] = "";
    assert_int_equal(eval_rttm_parse(text, strlen(text), "ref.rttm", &r, err, sizeof err),
                     EVAL_ERR_PARSE);
    assert_null(r);
    assert_string_equal(err, message);
}

static void assert_uem_error(const char *text, const char *message)
{
    eval_uem *u = (eval_uem *)1;
    char err[256] = "";
    assert_int_equal(eval_uem_parse(text, strlen(text), "a.uem", &u, err, sizeof err),
                     EVAL_ERR_PARSE);
    assert_null(u);
    assert_string_equal(err, message);
}

static void test_groups_turns_by_file_and_speaker(void **state)
{
    (void)state;
    eval_rttm *r = parse_ok("SPEAKER f1 1 0.00 1.50 <NA> <NA> alice <NA> <NA>\n"
                            "SPEAKER f2 1 3 2 <NA> <NA> carol <NA> <NA>\n"
                            "SPEAKER f1 1 1.5 2.5 <NA> <NA> bob <NA> <NA>\n"
                            "SPEAKER f1 1 4 1 <NA> <NA> alice <NA> <NA>\n");
    assert_int_equal(r->n_files, 2);
    const eval_rttm_file *f1 = &r->files[0];
    assert_string_equal(f1->id, "f1");
    assert_int_equal(f1->n_speakers, 2);
    assert_string_equal(f1->speakers[0], "alice");
    assert_string_equal(f1->speakers[1], "bob");
    assert_int_equal(f1->n_turns, 3);
    assert_true(f1->turns[1].onset == 1.5 && f1->turns[1].offset == 4.0);
    assert_int_equal(f1->turns[1].speaker, 1);
    assert_int_equal(f1->turns[2].speaker, 0);
    assert_string_equal(r->files[1].id, "f2");
    assert_int_equal(r->files[1].n_turns, 1);
    assert_true(r->files[1].turns[0].offset == 5.0);
    eval_rttm_free(r);
}

/* Other record types, comments, blank lines, CRLF, a last line without a
 * newline, any token in the <NA> fields and only 8 fields all parse; the
 * zero-length turn is dropped without registering its speaker. */
static void test_skips_what_is_not_a_turn(void **state)
{
    (void)state;
    eval_rttm *r = parse_ok(";; a comment\r\n"
                            "# another\n"
                            "\n"
                            "   \t\n"
                            "SPKR-INFO f1 1 <NA> <NA> <NA> unknown alice <NA> <NA>\n"
                            "LEXEME f1 1 0.5 0.2 hello lex alice <NA> <NA>\n"
                            "SPEAKER f1 1 0 2 x y alice 0.9 z\r\n"
                            "SPEAKER f1 1 3 0 <NA> <NA> ghost <NA> <NA>\n"
                            "SPEAKER f1 1 5 1e0 <NA> <NA> alice");
    assert_int_equal(r->n_files, 1);
    assert_int_equal(r->files[0].n_speakers, 1);
    assert_int_equal(r->files[0].n_turns, 2);
    assert_true(r->files[0].turns[1].onset == 5.0 && r->files[0].turns[1].offset == 6.0);
    eval_rttm_free(r);
}

static void test_empty_text_has_no_files(void **state)
{
    (void)state;
    eval_rttm *r = parse_ok("");
    assert_int_equal(r->n_files, 0);
    eval_rttm_free(r);
    eval_rttm_free(NULL);
}

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    assert_rttm_error("SPEAKER f1 1 0 1 <NA> <NA> a\n"
                      ";; fine\n"
                      "SPEAKER f1 1 abc 1 <NA> <NA> a\n",
                      "ref.rttm:3: onset 'abc' is not a number");
    assert_rttm_error("\nSPEAKER f1 1 2 -1 <NA> <NA> a\n", "ref.rttm:2: duration '-1' is negative");
    assert_rttm_error("SPEAKER f1 1 -0.5 1 <NA> <NA> a\n", "ref.rttm:1: onset '-0.5' is negative");
    assert_rttm_error("SPEAKER f1 1 inf 1 <NA> <NA> a\n", "ref.rttm:1: onset 'inf' is not finite");
    assert_rttm_error("SPEAKER f1 1 0 nan <NA> <NA> a\n",
                      "ref.rttm:1: duration 'nan' is not finite");
    assert_rttm_error("SPEAKER f1 1 0 1.5s <NA> <NA> a\n",
                      "ref.rttm:1: duration '1.5s' is not a number");
    assert_rttm_error("SPEAKER f1 1 1e308 1e308 <NA> <NA> a\n", "ref.rttm:1: turn end is not finite");
    assert_rttm_error("SPEAKER f1 1 0 1\n",
                      "ref.rttm:1: SPEAKER line has 5 fields, expected at least 8 "
                      "(SPEAKER file channel onset duration <NA> <NA> speaker)");
}

/* A very long garbage number is quoted cut short, not in full. */
static void test_long_field_is_cut_in_message(void **state)
{
    (void)state;
    char text[400];
    char junk[201];
    memset(junk, '9', 200);
    junk[0] = 'x';
    junk[200] = '\0';
    snprintf(text, sizeof text, "SPEAKER f 1 %s 1 <NA> <NA> a\n", junk);
    eval_rttm *r = NULL;
    char err[256] = "";
    assert_int_equal(eval_rttm_parse(text, strlen(text), "ref.rttm", &r, err, sizeof err),
                     EVAL_ERR_PARSE);
    assert_non_null(strstr(err, "ref.rttm:1: onset 'x999"));
    assert_non_null(strstr(err, "...' is not a number"));
    assert_true(strlen(err) < 100);
}

static void test_read_missing_file(void **state)
{
    (void)state;
    eval_rttm *r = (eval_rttm *)1;
    char err[256] = "";
    assert_int_equal(eval_rttm_read("/nonexistent/x.rttm", &r, err, sizeof err), EVAL_ERR_IO);
    assert_null(r);
    assert_non_null(strstr(err, "/nonexistent/x.rttm"));
    eval_uem *u = (eval_uem *)1;
    assert_int_equal(eval_uem_read("/nonexistent/x.uem", &u, err, sizeof err), EVAL_ERR_IO);
    assert_null(u);
}

static void test_read_file_names_path_in_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/cesar-rttm-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("SPEAKER f 1 0 1 <NA> <NA> a\nSPEAKER f 1 0 x <NA> <NA> a\n", f);
    fclose(f);
    eval_rttm *r = NULL;
    char err[256] = "", want[300];
    assert_int_equal(eval_rttm_read(path, &r, err, sizeof err), EVAL_ERR_PARSE);
    snprintf(want, sizeof want, "%s:2: duration 'x' is not a number", path);
    assert_string_equal(err, want);
    remove(path);
}

static void test_uem_parses(void **state)
{
    (void)state;
    const char *text = ";; uem\nf1 1 0 60.5\n\nf2 1 10 20\r\nf1 1 100 100";
    eval_uem *u = NULL;
    char err[256] = "";
    assert_int_equal(eval_uem_parse(text, strlen(text), "a.uem", &u, err, sizeof err), EVAL_OK);
    assert_int_equal(u->n_segments, 3);
    assert_string_equal(u->segments[0].file_id, "f1");
    assert_true(u->segments[0].start == 0 && u->segments[0].end == 60.5);
    assert_string_equal(u->segments[1].file_id, "f2");
    assert_true(u->segments[2].start == 100 && u->segments[2].end == 100);
    eval_uem_free(u);
    eval_uem_free(NULL);
}

static void test_uem_errors(void **state)
{
    (void)state;
    assert_uem_error("f1 1 0 10\nf1 1 x 10\n", "a.uem:2: start 'x' is not a number");
    assert_uem_error("f1 1 5 -3\n", "a.uem:1: end '-3' is negative");
    assert_uem_error("# c\nf1 1 5 3\n", "a.uem:2: end 3 is before start 5");
    assert_uem_error("f1 1 5\n", "a.uem:1: UEM line has 3 fields, expected 4 (file channel start end)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_turns_by_file_and_speaker),
        cmocka_unit_test(test_skips_what_is_not_a_turn),
        cmocka_unit_test(test_empty_text_has_no_files),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_long_field_is_cut_in_message),
        cmocka_unit_test(test_read_missing_file),
        cmocka_unit_test(test_read_file_names_path_in_errors),
        cmocka_unit_test(test_uem_parses),
        cmocka_unit_test(test_uem_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
