/* test_eval_wer: word error rate and text normalisation on hand-computed
 * cases. Every alignment below has a unique cheapest edit script (the
 * comment next to it shows the script) except test_tie_prefers_substitution,
 * which pins down the documented tie rule.
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

static eval_wer_counts wer(const char *ref, const char *hyp)
{
    eval_wer_counts c = {0};
    assert_int_equal(eval_wer_add(ref, hyp, &c), EVAL_OK);
    return c;
}

static void assert_counts(eval_wer_counts c, size_t s, size_t d, size_t i, size_t n)
{
    assert_int_equal(c.substitutions, s);
    assert_int_equal(c.deletions, d);
    assert_int_equal(c.insertions, i);
    assert_int_equal(c.reference_words, n);
}

/* Normalises text and compares the words with the space-joined expected. */
static void assert_words(const char *text, const char *expected)
{
    char **w = NULL;
    size_t n = 99;
    assert_int_equal(eval_normalize_words(text, &w, &n), EVAL_OK);
    char joined[1024] = "";
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(joined, " ");
        strcat(joined, w[i]);
    }
    assert_string_equal(joined, expected);
    eval_words_free(w, n);
}

static void test_identical(void **state)
{
    (void)state;
    eval_wer_counts c = wer("the cat sat on the mat", "the cat sat on the mat");
    assert_counts(c, 0, 0, 0, 6);
    assert_true(eval_wer_rate(&c) == 0.0);
}

static void test_all_deleted(void **state)
{
    (void)state;
    eval_wer_counts c = wer("a b c", "");
    assert_counts(c, 0, 3, 0, 3);
    assert_float_equal(eval_wer_rate(&c), 1.0, 1e-12);
}

static void test_all_inserted(void **state)
{
    (void)state;
    eval_wer_counts c = wer("", "a b");
    assert_counts(c, 0, 0, 2, 0);
    assert_true(isinf(eval_wer_rate(&c)));
}

static void test_both_empty(void **state)
{
    (void)state;
    eval_wer_counts c = wer("", "   \t\n ");
    assert_counts(c, 0, 0, 0, 0);
    assert_true(eval_wer_rate(&c) == 0.0);
}

static void test_one_substitution(void **state)
{
    (void)state;
    eval_wer_counts c =
        wer("he was not an ill disposed young man", "he was not an illness disposed young man");
    assert_counts(c, 1, 0, 0, 8);
    assert_float_equal(eval_wer_rate(&c), 0.125, 1e-12);
}

static void test_deletion_and_insertions(void **state)
{
    (void)state;
    /* a=a, b deleted, c=c, d=d, e e inserted: 3 edits; with no deletion
     * b, c, d would have to be three substitutions plus an insertion. */
    assert_counts(wer("a b c d", "a c d e e"), 0, 1, 2, 4);
}

static void test_mixed(void **state)
{
    (void)state;
    /* one=one, two->too (S), three=three, four (D), five, six, seven (I). */
    eval_wer_counts c = wer("one two three four five six", "one too three five six seven");
    assert_counts(c, 1, 1, 1, 6);
    assert_float_equal(eval_wer_rate(&c), 0.5, 1e-12);
}

static void test_tie_prefers_substitution(void **state)
{
    (void)state;
    /* "a b" vs "b a": two substitutions or one deletion plus one insertion
     * cost the same; the rule prefers the diagonal. */
    assert_counts(wer("a b", "b a"), 2, 0, 0, 2);
}

static void test_accumulates(void **state)
{
    (void)state;
    eval_wer_counts c = {0};
    assert_int_equal(eval_wer_add("a b c d", "a x c d", &c), EVAL_OK);
    assert_int_equal(eval_wer_add("e f", "e f g", &c), EVAL_OK);
    assert_int_equal(eval_wer_add("h i j", "", &c), EVAL_OK);
    assert_counts(c, 1, 3, 1, 9);
    assert_float_equal(eval_wer_rate(&c), 5.0 / 9.0, 1e-12);
}

static void test_case_and_punctuation(void **state)
{
    (void)state;
    assert_counts(wer("Hello, World! It's cold-hearted.", "hello world it's cold hearted"), 0, 0, 0,
                  5);
    assert_words("Hello, World!  \"Quoted\" (x) [y] {z} a;b:c? 3.5",
                 "hello world quoted x y z abc 35");
}

static void test_apostrophes(void **state)
{
    (void)state;
    /* Kept only between two word characters. */
    assert_words("don't 'tis dogs' rock'n'roll ''", "don't tis dogs rock'n'roll");
    /* The typographic apostrophe (U+2019) counts as one. */
    assert_words("don\xe2\x80\x99t", "don't");
    assert_counts(wer("DON'T stop", "don\xe2\x80\x99t stop"), 0, 0, 0, 2);
}

static void test_separators(void **state)
{
    (void)state;
    assert_words("cold-hearted and/or snake_case back\\slash -- -",
                 "cold hearted and or snake case back slash");
}

static void test_sentence_markers_and_uttid(void **state)
{
    (void)state;
    assert_words("<s> he was not </s> (sense_and_sensibility_01_austen_64kb-0880)", "he was not");
    assert_words("<S> Hello <sil> there </S>", "hello there");
    /* Trailing white space after the id is fine. */
    assert_words("a b (utt-1)  \n", "a b");
    /* Only a whole trailing token in parentheses is an id. */
    assert_words("word(2)", "word2");
    assert_words("a (b c)", "a b c");
    assert_words("(only-id)", "");
    assert_words("(x) middle (y)", "x middle");
    /* The id is dropped from the reference only as one token at the end. */
    assert_counts(wer("<s> he was not an ill disposed young man </s> (utt)",
                      "he was not an ill disposed young man"),
                  0, 0, 0, 8);
}

static void test_utf8_passes_through(void **state)
{
    (void)state;
    assert_words("Caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9 na\xc3\xafve");
}

static void test_only_punctuation(void **state)
{
    (void)state;
    assert_words("... !!! -- ' \"", "");
    assert_counts(wer("...", "?!"), 0, 0, 0, 0);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    eval_wer_counts c = {1, 2, 3, 4};
    assert_int_equal(eval_wer_add(NULL, "a", &c), EVAL_ERR_INVALID);
    assert_int_equal(eval_wer_add("a", NULL, &c), EVAL_ERR_INVALID);
    assert_int_equal(eval_wer_add("a", "b", NULL), EVAL_ERR_INVALID);
    assert_counts(c, 1, 2, 3, 4); /* untouched */

    char **w = (char **)&c;
    size_t n = 7;
    assert_int_equal(eval_normalize_words(NULL, &w, &n), EVAL_ERR_INVALID);
    assert_null(w);
    assert_int_equal(n, 0);
    assert_int_equal(eval_normalize_words("a", NULL, &n), EVAL_ERR_INVALID);
    assert_int_equal(eval_normalize_words("a", &w, NULL), EVAL_ERR_INVALID);
    eval_words_free(NULL, 3); /* NULL-safe */

    assert_true(isnan(eval_wer_rate(NULL)));
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(eval_strerror(EVAL_OK), "ok");
    assert_string_equal(eval_strerror(EVAL_ERR_NOMEM), "out of memory");
    assert_string_equal(eval_strerror(EVAL_ERR_INVALID), "invalid argument");
    assert_string_equal(eval_strerror(12345), "unknown error");
}

/* Long inputs: the two-row table keeps this cheap in memory; one word
 * changed in the middle of 3000 is one substitution. */
static void test_long_texts(void **state)
{
    (void)state;
    size_t n = 3000;
    char *ref = malloc(n * 8 + 1), *hyp = malloc(n * 8 + 1);
    assert_non_null(ref);
    assert_non_null(hyp);
    size_t rl = 0, hl = 0;
    for (size_t i = 0; i < n; i++) {
        rl += (size_t)sprintf(ref + rl, "w%zu ", i % 977);
        if (i == n / 2)
            hl += (size_t)sprintf(hyp + hl, "zzz ");
        else
            hl += (size_t)sprintf(hyp + hl, "w%zu ", i % 977);
    }
    assert_counts(wer(ref, hyp), 1, 0, 0, n);
    free(ref);
    free(hyp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical),
        cmocka_unit_test(test_all_deleted),
        cmocka_unit_test(test_all_inserted),
        cmocka_unit_test(test_both_empty),
        cmocka_unit_test(test_one_substitution),
        cmocka_unit_test(test_deletion_and_insertions),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_tie_prefers_substitution),
        cmocka_unit_test(test_accumulates),
        cmocka_unit_test(test_case_and_punctuation),
        cmocka_unit_test(test_apostrophes),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_sentence_markers_and_uttid),
        cmocka_unit_test(test_utf8_passes_through),
        cmocka_unit_test(test_only_punctuation),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_long_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
