/* test_eval_der: diarization error rate on hand-computed cases, and the
 * assignment solver it maps speakers with (against brute force).
 *
 * RTTM in the cases is written short by the T() macro: T(file, onset,
 * duration, speaker). Each case's comment works the numbers out from the
 * definitions: scored = integral of n_ref, missed = of max(0, n_ref - n_hyp),
 * false alarm = of max(0, n_hyp - n_ref), confusion = of min(n_ref, n_hyp)
 * minus the time mapped pairs are active together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

#define T(file, on, dur, spk) "SPEAKER " file " 1 " #on " " #dur " <NA> <NA> " spk " <NA> <NA>\n"
#define EPS 1e-9

static eval_rttm *rttm(const char *text)
{
    eval_rttm *r = NULL;
    char err[256] = "";
    assert_int_equal(eval_rttm_parse(text, strlen(text), "t", &r, err, sizeof err), EVAL_OK);
    return r;
}

/* Scores ref against hyp; the caller frees the result. */
static eval_der_result score(const char *ref_text, const char *hyp_text, const eval_der_params *p)
{
    eval_rttm *ref = rttm(ref_text), *hyp = rttm(hyp_text);
    eval_der_params defaults = eval_der_default_params();
    eval_der_result res;
    char err[256] = "";
    assert_int_equal(eval_der(ref, hyp, p ? p : &defaults, &res, err, sizeof err), EVAL_OK);
    eval_rttm_free(ref);
    eval_rttm_free(hyp);
    return res;
}

static void assert_times(const eval_der_times *t, double scored, double missed, double fa,
                         double confusion)
{
    assert_float_equal(t->scored, scored, EPS);
    assert_float_equal(t->missed, missed, EPS);
    assert_float_equal(t->false_alarm, fa, EPS);
    assert_float_equal(t->confusion, confusion, EPS);
}

/* Reference speaker i of result file f is mapped to hyp (NULL: none). */
static void assert_mapped(const eval_der_file *f, size_t i, const char *ref, const char *hyp)
{
    assert_true(i < f->n_mapping);
    assert_string_equal(f->mapping[i].ref, ref);
    if (hyp)
        assert_string_equal(f->mapping[i].hyp, hyp);
    else
        assert_null(f->mapping[i].hyp);
}

/* ---- hand-computed DER cases ------------------------------------------ */

/* A[0,5] B[5,10] in both: scored 10, no error, DER 0. */
static void test_perfect_match(void **state)
{
    (void)state;
    const char *text = T("f", 0, 5, "A") T("f", 5, 5, "B");
    eval_der_result r = score(text, text, NULL);
    assert_times(&r.total, 10, 0, 0, 0);
    assert_true(eval_der_rate(&r.total) == 0.0);
    eval_der_result_free(&r);
}

/* The hypothesis calls A "B" and B "A": the mapping A->B, B->A makes every
 * second correct, so DER 0 although no name agrees. */
static void test_swapped_names_are_mapped(void **state)
{
    (void)state;
    eval_der_result r = score(T("f", 0, 5, "A") T("f", 5, 5, "B"),
                              T("f", 0, 5, "B") T("f", 5, 5, "A"), NULL);
    assert_times(&r.total, 10, 0, 0, 0);
    assert_int_equal(r.n_files, 1);
    assert_mapped(&r.files[0], 0, "A", "B");
    assert_mapped(&r.files[0], 1, "B", "A");
    eval_der_result_free(&r);
}

/* ref A[0,10], hyp A[0,6]: [6,10] has n_ref 1, n_hyp 0 -> missed 4 of 10 = 40%. */
static void test_missed_segment(void **state)
{
    (void)state;
    eval_der_result r = score(T("f", 0, 10, "A"), T("f", 0, 6, "A"), NULL);
    assert_times(&r.total, 10, 4, 0, 0);
    assert_float_equal(eval_der_rate(&r.total), 0.4, EPS);
    eval_der_result_free(&r);
}

/* ref A[0,10], hyp A[0,10] and B[12,15]: [12,15] has n_hyp 1, n_ref 0 ->
 * false alarm 3 over scored 10 = 30%. */
static void test_false_alarm(void **state)
{
    (void)state;
    eval_der_result r = score(T("f", 0, 10, "A"), T("f", 0, 10, "A") T("f", 12, 3, "B"), NULL);
    assert_times(&r.total, 10, 0, 3, 0);
    assert_float_equal(eval_der_rate(&r.total), 0.3, EPS);
    eval_der_result_free(&r);
}

/* ref A[0,6] B[6,10], hyp x[0,10]: common A-x 6, B-x 4, so x maps to A and
 * B to nobody. min(n_ref, n_hyp) = 1 over 10 s, correct 6 -> confusion 4,
 * DER 40%. */
static void test_two_speakers_merged_is_confusion(void **state)
{
    (void)state;
    eval_der_result r = score(T("f", 0, 6, "A") T("f", 6, 4, "B"), T("f", 0, 10, "x"), NULL);
    assert_times(&r.total, 10, 0, 0, 4);
    assert_float_equal(eval_der_rate(&r.total), 0.4, EPS);
    assert_mapped(&r.files[0], 0, "A", "x");
    assert_mapped(&r.files[0], 1, "B", NULL);
    eval_der_result_free(&r);
}

/* ref A[0,10] B[5,10] (overlap [5,10]), hyp x[0,10]: n_ref is 1 on [0,5]
 * and 2 on [5,10] -> scored 5 + 10 = 15; n_hyp 1 throughout -> missed
 * (2-1)*5 = 5; x maps to A (common 10 = min integral) -> confusion 0.
 * DER 5/15. */
static void test_overlap_with_one_hyp_speaker(void **state)
{
    (void)state;
    eval_der_result r = score(T("f", 0, 10, "A") T("f", 5, 5, "B"), T("f", 0, 10, "x"), NULL);
    assert_times(&r.total, 15, 5, 0, 0);
    assert_float_equal(eval_der_rate(&r.total), 1.0 / 3.0, EPS);
    eval_der_result_free(&r);
}

/* ref A[0,10] B[10,20]; hyp the same shifted 0.2 s: x[0.2,10.2] y[10.2,20].
 * Collar 0: missed [0,0.2] = 0.2, confusion [10,10.2] (B speaking, x
 * active) = 0.2, scored 20 -> DER 2%. Collar 0.25: no-score zones
 * [-0.25,0.25], [9.75,10.25] (A's end and B's start) and [19.75,20.25]
 * cover both errors; scored 20 - 0.25 - 0.5 - 0.25 = 19, DER 0. */
static void test_collar_forgives_boundary_shift(void **state)
{
    (void)state;
    const char *ref = T("f", 0, 10, "A") T("f", 10, 10, "B");
    const char *hyp = T("f", 0.2, 10, "x") T("f", 10.2, 9.8, "y");
    eval_der_result r = score(ref, hyp, NULL);
    assert_times(&r.total, 20, 0.2, 0, 0.2);
    assert_float_equal(eval_der_rate(&r.total), 0.02, EPS);
    eval_der_result_free(&r);

    eval_der_params p = eval_der_default_params();
    p.collar = 0.25;
    r = score(ref, hyp, &p);
    assert_times(&r.total, 19, 0, 0, 0);
    eval_der_result_free(&r);
}

/* Touching and overlapping turns of one reference speaker are one stretch:
 * ref A[0,5] A[5,10] A[8,12], hyp A[0,12], collar 1. Zones only at 0 and 12
 * ([-1,1], [11,13]), none at 5 or 10 -> scored 12 - 1 - 1 = 10, DER 0. */
static void test_collar_uses_merged_speaker_activity(void **state)
{
    (void)state;
    eval_der_params p = eval_der_default_params();
    p.collar = 1;
    eval_der_result r = score(T("f", 0, 5, "A") T("f", 5, 5, "A") T("f", 8, 4, "A"),
                              T("f", 0, 12, "A"), &p);
    assert_times(&r.total, 10, 0, 0, 0);
    eval_der_result_free(&r);
}

/* ref A[0,10] B[5,15], hyp x[0,10] y[10,15].
 * Scoring everything: scored 5 + 2*5 + 5 = 20; on [5,10] n_ref 2, n_hyp 1 ->
 * missed 5; mapping A->x (10), B->y (5), min integral 15 = correct ->
 * confusion 0; DER 25%. With skip_overlap [5,10] is not scored: scored 10,
 * no error. */
static void test_skip_overlap(void **state)
{
    (void)state;
    const char *ref = T("f", 0, 10, "A") T("f", 5, 10, "B");
    const char *hyp = T("f", 0, 10, "x") T("f", 10, 5, "y");
    eval_der_result r = score(ref, hyp, NULL);
    assert_times(&r.total, 20, 5, 0, 0);
    assert_float_equal(eval_der_rate(&r.total), 0.25, EPS);
    eval_der_result_free(&r);

    eval_der_params p = eval_der_default_params();
    p.skip_overlap = true;
    r = score(ref, hyp, &p);
    assert_times(&r.total, 10, 0, 0, 0);
    eval_der_result_free(&r);
}

/* ref A[0,10], hyp A[0,10] B[20,30], UEM f [5,25] (and a segment for a file
 * nobody mentions). Scored: A on [5,10] = 5; false alarm B on [20,25] = 5;
 * DER 100%. Without the UEM: scored 10, FA 10. */
static void test_uem_limits_scored_region(void **state)
{
    (void)state;
    const char *ref = T("f", 0, 10, "A");
    const char *hyp = T("f", 0, 10, "A") T("f", 20, 10, "B");
    const char *uem_text = "f 1 5 25\nother 1 0 100\n";
    eval_uem *uem = NULL;
    char err[256];
    assert_int_equal(eval_uem_parse(uem_text, strlen(uem_text), "u", &uem, err, sizeof err),
                     EVAL_OK);
    eval_der_params p = eval_der_default_params();
    p.uem = uem;
    eval_der_result r = score(ref, hyp, &p);
    assert_times(&r.total, 5, 0, 5, 0);
    assert_float_equal(eval_der_rate(&r.total), 1.0, EPS);
    eval_der_result_free(&r);

    r = score(ref, hyp, NULL);
    assert_times(&r.total, 10, 0, 10, 0);
    eval_der_result_free(&r);
    eval_uem_free(uem);
}

/* A UEM that does not list a file leaves it unscored: ref f A[0,10] with a
 * UEM for g only -> nothing scored, no error. */
static void test_uem_without_the_file_scores_nothing(void **state)
{
    (void)state;
    const char *uem_text = "g 1 0 10\n";
    eval_uem *uem = NULL;
    char err[256];
    assert_int_equal(eval_uem_parse(uem_text, strlen(uem_text), "u", &uem, err, sizeof err),
                     EVAL_OK);
    eval_der_params p = eval_der_default_params();
    p.uem = uem;
    eval_der_result r = score(T("f", 0, 10, "A"), T("f", 0, 3, "B"), &p);
    assert_times(&r.total, 0, 0, 0, 0);
    assert_true(eval_der_rate(&r.total) == 0.0);
    eval_der_result_free(&r);
    eval_uem_free(uem);
}

/* ref A[0,10]; hyp x[0,8] y[8,10] z[10,11]: more hypothesis speakers than
 * reference ones. A->x (8); y and z stay unmapped. confusion = min integral
 * (10) - 8 = 2 ([8,10], y speaking for A); FA 1 ([10,11]); DER 3/10. */
static void test_extra_hyp_speakers(void **state)
{
    (void)state;
    eval_der_result r = score(T("f", 0, 10, "A"),
                              T("f", 0, 8, "x") T("f", 8, 2, "y") T("f", 10, 1, "z"), NULL);
    assert_times(&r.total, 10, 0, 1, 2);
    assert_float_equal(eval_der_rate(&r.total), 0.3, EPS);
    assert_int_equal(r.files[0].n_mapping, 1);
    assert_mapped(&r.files[0], 0, "A", "x");
    eval_der_result_free(&r);
}

/* Four files: f1 perfect (scored 10); f2 ref B[0,10], hyp B[0,5] -> missed
 * 5; f3 only in the hypothesis, C[0,2] -> FA 2; f4 only in the reference,
 * D[0,3] -> missed 3. Totals: scored 23, missed 8, FA 2: DER 10/23. Files
 * come back reference order first (f1 f2 f4), then hypothesis-only (f3). */
static void test_multiple_files_aggregate(void **state)
{
    (void)state;
    eval_der_result r = score(T("f1", 0, 10, "A") T("f2", 0, 10, "B") T("f4", 0, 3, "D"),
                              T("f1", 0, 10, "A") T("f2", 0, 5, "B") T("f3", 0, 2, "C"), NULL);
    assert_times(&r.total, 23, 8, 2, 0);
    assert_float_equal(eval_der_rate(&r.total), 10.0 / 23.0, EPS);
    assert_int_equal(r.n_files, 4);
    assert_string_equal(r.files[0].id, "f1");
    assert_string_equal(r.files[1].id, "f2");
    assert_times(&r.files[1].times, 10, 5, 0, 0);
    assert_string_equal(r.files[2].id, "f4");
    assert_times(&r.files[2].times, 3, 3, 0, 0);
    assert_string_equal(r.files[3].id, "f3");
    assert_times(&r.files[3].times, 0, 0, 2, 0);
    assert_int_equal(r.files[3].n_mapping, 0);
    eval_der_result_free(&r);
}

/* Mapping is per file: hyp speaker s is A in f1 and B in f2. One mapping
 * across files would make half of it confusion; per file it is all
 * correct. */
static void test_speakers_are_mapped_per_file(void **state)
{
    (void)state;
    eval_der_result r = score(T("f1", 0, 10, "A") T("f2", 0, 10, "B"),
                              T("f1", 0, 10, "s") T("f2", 0, 10, "s"), NULL);
    assert_times(&r.total, 20, 0, 0, 0);
    assert_mapped(&r.files[0], 0, "A", "s");
    assert_mapped(&r.files[1], 0, "B", "s");
    eval_der_result_free(&r);
}

/* Empty hypothesis: ref A[0,4] B[4,10] is all missed: 10 of 10 = 100%. */
static void test_empty_hypothesis(void **state)
{
    (void)state;
    eval_der_result r = score(T("f", 0, 4, "A") T("f", 4, 6, "B"), "", NULL);
    assert_times(&r.total, 10, 10, 0, 0);
    assert_float_equal(eval_der_rate(&r.total), 1.0, EPS);
    assert_mapped(&r.files[0], 0, "A", NULL);
    eval_der_result_free(&r);
}

/* Empty reference, hyp A[0,3]: no scored speaker time, FA 3. The rate is
 * then infinite (as eval_wer_rate with no reference words) and the seconds
 * carry the information; with nothing on either side it is 0. */
static void test_empty_reference(void **state)
{
    (void)state;
    eval_der_result r = score("", T("f", 0, 3, "A"), NULL);
    assert_times(&r.total, 0, 0, 3, 0);
    assert_true(isinf(eval_der_rate(&r.total)));
    eval_der_result_free(&r);

    r = score("", "", NULL);
    assert_int_equal(r.n_files, 0);
    assert_true(eval_der_rate(&r.total) == 0.0);
    eval_der_result_free(&r);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    eval_rttm *ref = rttm(T("f", 0, 1, "A"));
    eval_der_params p = eval_der_default_params();
    eval_der_result res;
    char err[256] = "";
    p.collar = -1;
    assert_int_equal(eval_der(ref, ref, &p, &res, err, sizeof err), EVAL_ERR_INVALID);
    assert_null(res.files);
    p.collar = NAN;
    assert_int_equal(eval_der(ref, ref, &p, &res, err, sizeof err), EVAL_ERR_INVALID);
    assert_int_equal(eval_der(NULL, ref, &p, &res, err, sizeof err), EVAL_ERR_INVALID);
    eval_rttm_free(ref);
    eval_der_result_free(NULL);
}

/* ---- assignment ------------------------------------------------------- */

static double assigned_total(const double *w, int rows, int cols, const int *map)
{
    double sum = 0;
    for (int r = 0; r < rows; r++)
        if (map[r] >= 0)
            sum += w[r * cols + map[r]];
    return sum;
}

/* Checks map is one-to-one and pairs min(rows, cols) rows. */
static void assert_valid_assignment(int rows, int cols, const int *map)
{
    int used[8] = {0}, paired = 0;
    for (int r = 0; r < rows; r++) {
        if (map[r] < 0)
            continue;
        assert_true(map[r] < cols);
        assert_int_equal(used[map[r]], 0);
        used[map[r]] = 1;
        paired++;
    }
    assert_int_equal(paired, rows < cols ? rows : cols);
}

/* Best total over all injective maps of the smaller side, by recursion
 * over rows (a row may also stay unpaired, which with weights >= 0 never
 * beats pairing it, so the optimum is the same). */
static double brute(const double *w, int rows, int cols, int r, unsigned used)
{
    if (r == rows)
        return 0;
    double best = brute(w, rows, cols, r + 1, used);
    for (int c = 0; c < cols; c++) {
        if (used & (1u << c))
            continue;
        double v = w[r * cols + c] + brute(w, rows, cols, r + 1, used | (1u << c));
        if (v > best)
            best = v;
    }
    return best;
}

/* 3x3 with a greedy trap: taking the largest entry (9 at 0,0) first gives
 * 9 + 1 + 1 = 11, the optimum is 8 + 8 + 7 = 23 (0->1, 1->0, 2->2). */
static void test_assign_known_square(void **state)
{
    (void)state;
    const double w[9] = {9, 8, 0, 8, 1, 0, 0, 0, 7};
    int map[3];
    assert_int_equal(eval_assign_max(w, 3, 3, map), EVAL_OK);
    assert_int_equal(map[0], 1);
    assert_int_equal(map[1], 0);
    assert_int_equal(map[2], 2);
}

/* 3 rows, 2 columns: one row stays unpaired (-1). Best: row 2 -> 0 (5),
 * row 0 -> 1 (4) = 9. */
static void test_assign_more_rows_than_cols(void **state)
{
    (void)state;
    const double w[6] = {3, 4, 2, 1, 5, 3};
    int map[3];
    assert_int_equal(eval_assign_max(w, 3, 2, map), EVAL_OK);
    assert_int_equal(map[0], 1);
    assert_int_equal(map[1], -1);
    assert_int_equal(map[2], 0);
}

static void test_assign_edge_cases(void **state)
{
    (void)state;
    int map[2] = {7, 7};
    assert_int_equal(eval_assign_max(NULL, 2, 0, map), EVAL_OK);
    assert_int_equal(map[0], -1);
    assert_int_equal(map[1], -1);
    assert_int_equal(eval_assign_max(NULL, 0, 3, NULL), EVAL_OK);
    const double neg[2] = {1, -1}, bad[2] = {1, NAN};
    assert_int_equal(eval_assign_max(neg, 1, 2, map), EVAL_ERR_INVALID);
    assert_int_equal(eval_assign_max(bad, 2, 1, map), EVAL_ERR_INVALID);
    assert_int_equal(eval_assign_max(neg, -1, 2, map), EVAL_ERR_INVALID);
}

/* Random matrices up to 6x6 (integer weights, so ties are common and sums
 * exact) against exhaustive search. */
static void test_assign_matches_brute_force(void **state)
{
    (void)state;
    srand(12345);
    for (int trial = 0; trial < 3000; trial++) {
        int rows = 1 + rand() % 6, cols = 1 + rand() % 6;
        double w[36];
        int map[6];
        for (int k = 0; k < rows * cols; k++)
            w[k] = (double)(rand() % (trial % 2 ? 4 : 100));
        assert_int_equal(eval_assign_max(w, rows, cols, map), EVAL_OK);
        assert_valid_assignment(rows, cols, map);
        assert_float_equal(assigned_total(w, rows, cols, map), brute(w, rows, cols, 0, 0), 1e-9);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perfect_match),
        cmocka_unit_test(test_swapped_names_are_mapped),
        cmocka_unit_test(test_missed_segment),
        cmocka_unit_test(test_false_alarm),
        cmocka_unit_test(test_two_speakers_merged_is_confusion),
        cmocka_unit_test(test_overlap_with_one_hyp_speaker),
        cmocka_unit_test(test_collar_forgives_boundary_shift),
        cmocka_unit_test(test_collar_uses_merged_speaker_activity),
        cmocka_unit_test(test_skip_overlap),
        cmocka_unit_test(test_uem_limits_scored_region),
        cmocka_unit_test(test_uem_without_the_file_scores_nothing),
        cmocka_unit_test(test_extra_hyp_speakers),
        cmocka_unit_test(test_multiple_files_aggregate),
        cmocka_unit_test(test_speakers_are_mapped_per_file),
        cmocka_unit_test(test_empty_hypothesis),
        cmocka_unit_test(test_empty_reference),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_assign_known_square),
        cmocka_unit_test(test_assign_more_rows_than_cols),
        cmocka_unit_test(test_assign_edge_cases),
        cmocka_unit_test(test_assign_matches_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
