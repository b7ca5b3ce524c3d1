/* test_segment: asr_segment_words, the pure grouping of timed words into
 * segments — pause splits, length caps, their boundaries, odd input (empty,
 * zero-length, overlapping, out of order) and the validation that keeps a
 * bad word from touching the transcript.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asr/asr.h"

static transcript *segment(const asr_word *w, size_t n, double pause, double max_len)
{
    transcript *t = transcript_new();
    assert_non_null(t);
    assert_int_equal(asr_segment_words(t, w, n, pause, max_len), ASR_OK);
    return t;
}

static void assert_segment(const transcript *t, size_t i, double start, double end,
                           const char *text, size_t n_words)
{
    assert_true(i < t->n_segments);
    const transcript_segment *s = &t->segments[i];
    assert_float_equal(s->start, start, 1e-9);
    assert_float_equal(s->end, end, 1e-9);
    assert_string_equal(s->text, text);
    assert_int_equal(s->n_words, n_words);
    assert_int_equal(s->speaker, TRANSCRIPT_NO_SPEAKER);
}

static void test_empty_input(void **state)
{
    (void)state;
    transcript *t = segment(NULL, 0, 0.5, 15);
    assert_int_equal(t->n_segments, 0);
    transcript_free(t);
}

static void test_one_word(void **state)
{
    (void)state;
    asr_word w[] = {{1.0, 1.5, "hello", 0.75f}};
    transcript *t = segment(w, 1, 0.5, 15);
    assert_int_equal(t->n_segments, 1);
    assert_segment(t, 0, 1.0, 1.5, "hello", 1);
    const transcript_word *tw = &t->segments[0].words[0];
    assert_string_equal(tw->text, "hello");
    assert_float_equal(tw->start, 1.0, 1e-12);
    assert_float_equal(tw->end, 1.5, 1e-12);
    assert_float_equal(tw->confidence, 0.75f, 1e-6);
    assert_int_equal(tw->speaker, TRANSCRIPT_NO_SPEAKER);
    transcript_free(t);
}

static void test_words_are_copied(void **state)
{
    (void)state;
    char text[] = "mutable";
    asr_word w[] = {{0, 1, text, -1}};
    transcript *t = segment(w, 1, 0.5, 15);
    text[0] = 'X';
    assert_string_equal(t->segments[0].text, "mutable");
    assert_string_equal(t->segments[0].words[0].text, "mutable");
    assert_float_equal(t->segments[0].words[0].confidence, -1.0f, 1e-6);
    transcript_free(t);
}

static void test_pause_splits(void **state)
{
    (void)state;
    asr_word w[] = {
        {0.0, 0.4, "one", 1},   {0.5, 0.9, "two", 1},  /* 0.1 s gap */
        {1.6, 2.0, "three", 1},                        /* 0.7 s gap: split */
        {2.3, 2.6, "four", 1},  {3.6, 4.0, "five", 1}, /* 1.0 s gap: split */
    };
    transcript *t = segment(w, 5, 0.5, 15);
    assert_int_equal(t->n_segments, 3);
    assert_segment(t, 0, 0.0, 0.9, "one two", 2);
    assert_segment(t, 1, 1.6, 2.6, "three four", 2);
    assert_segment(t, 2, 3.6, 4.0, "five", 1);
    assert_string_equal(t->segments[1].words[1].text, "four");
    transcript_free(t);
}

static void test_pause_boundary(void **state)
{
    (void)state;
    /* Frame arithmetic: 1.23 - 0.73 is a hair under 0.5 in binary, yet it
     * is a pause of exactly split_pause_seconds, which splits. */
    asr_word w[] = {{0.50, 0.73, "a", 1}, {1.23, 1.40, "b", 1}, {1.89, 2.0, "c", 1}};
    transcript *t = segment(w, 3, 0.5, 15);
    assert_int_equal(t->n_segments, 2); /* 0.49 s before c does not split */
    assert_segment(t, 0, 0.50, 0.73, "a", 1);
    assert_segment(t, 1, 1.23, 2.0, "b c", 2);
    transcript_free(t);
}

static void test_max_length_splits(void **state)
{
    (void)state;
    /* Ten 1-second words with no pauses, capped at 3 s: 3 + 3 + 3 + 1. */
    static const char *names[] = {"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"};
    asr_word w[10];
    for (int i = 0; i < 10; i++)
        w[i] = (asr_word){i, i + 1, names[i], 0.5f};
    transcript *t = segment(w, 10, 0.5, 3.0);
    assert_int_equal(t->n_segments, 4);
    assert_segment(t, 0, 0, 3, "w0 w1 w2", 3);
    assert_segment(t, 1, 3, 6, "w3 w4 w5", 3);
    assert_segment(t, 2, 6, 9, "w6 w7 w8", 3);
    assert_segment(t, 3, 9, 10, "w9", 1);
    for (size_t i = 0; i < t->n_segments; i++)
        assert_true(t->segments[i].end - t->segments[i].start <= 3.0 + 1e-9);
    assert_int_equal(transcript_word_count(t), 10);
    transcript_free(t);
}

static void test_long_word_gets_own_segment(void **state)
{
    (void)state;
    /* A word longer than the cap cannot be split; it stands alone. */
    asr_word w[] = {{0, 1, "a", 1}, {1, 6, "long", 1}, {6, 7, "b", 1}};
    transcript *t = segment(w, 3, 0.5, 2.0);
    assert_int_equal(t->n_segments, 3);
    assert_segment(t, 0, 0, 1, "a", 1);
    assert_segment(t, 1, 1, 6, "long", 1);
    assert_segment(t, 2, 6, 7, "b", 1);
    transcript_free(t);
}

static void test_limits_disabled(void **state)
{
    (void)state;
    asr_word w[] = {{0, 1, "a", 1}, {50, 51, "b", 1}, {100, 130, "c", 1}};
    transcript *t = segment(w, 3, 0, 0);
    assert_int_equal(t->n_segments, 1);
    assert_segment(t, 0, 0, 130, "a b c", 3);
    transcript_free(t);
    t = segment(w, 3, -1, -1);
    assert_int_equal(t->n_segments, 1);
    transcript_free(t);
}

static void test_zero_length_words(void **state)
{
    (void)state;
    asr_word w[] = {{2, 2, "x", 1}, {2, 2, "y", 1}, {3, 3, "z", 1}};
    transcript *t = segment(w, 3, 0.5, 15);
    assert_int_equal(t->n_segments, 2);
    assert_segment(t, 0, 2, 2, "x y", 2);
    assert_segment(t, 1, 3, 3, "z", 1);
    transcript_free(t);
}

static void test_overlap_and_out_of_order(void **state)
{
    (void)state;
    /* Input is taken in the order given: b starts before a ends (no pause),
     * c starts before a even began (no pause either), and the segment ends
     * at the latest end, not at c's. */
    asr_word w[] = {{1.0, 3.0, "a", 1}, {2.0, 2.5, "b", 1}, {0.5, 0.8, "c", 1}, {4.0, 4.5, "d", 1}};
    transcript *t = segment(w, 4, 0.5, 15);
    assert_int_equal(t->n_segments, 2);
    assert_segment(t, 0, 1.0, 3.0, "a b c", 3);
    assert_string_equal(t->segments[0].words[2].text, "c");
    /* d's pause is measured from the segment's latest end (3.0). */
    assert_segment(t, 1, 4.0, 4.5, "d", 1);
    transcript_free(t);
}

static void test_empty_text_words(void **state)
{
    (void)state;
    asr_word w[] = {{0, 1, "", 1}, {1, 2, "a", 1}, {2, 3, "", 1}, {3, 4, "b", 1}};
    transcript *t = segment(w, 4, 0.5, 15);
    assert_int_equal(t->n_segments, 1);
    assert_segment(t, 0, 0, 4, "a b", 4);
    transcript_free(t);
    asr_word only[] = {{0, 1, "", 1}};
    t = segment(only, 1, 0.5, 15);
    assert_segment(t, 0, 0, 1, "", 1);
    transcript_free(t);
}

static void test_appends_to_existing(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    assert_non_null(t);
    assert_int_equal(transcript_add_segment(t, 0, 1, "earlier", NULL), TRANSCRIPT_OK);
    asr_word w[] = {{5, 6, "later", 1}};
    assert_int_equal(asr_segment_words(t, w, 1, 0.5, 15), ASR_OK);
    assert_int_equal(t->n_segments, 2);
    assert_string_equal(t->segments[0].text, "earlier");
    assert_segment(t, 1, 5, 6, "later", 1);
    transcript_free(t);
}

static void test_invalid_input_leaves_transcript_untouched(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    assert_non_null(t);
    asr_word ok = {0, 1, "ok", 1};
    asr_word bad_text[] = {ok, {1, 2, NULL, 1}};
    asr_word backwards[] = {ok, {3, 2, "b", 1}};
    asr_word nan_time[] = {ok, {NAN, 2, "b", 1}};
    asr_word inf_time[] = {ok, {2, INFINITY, "b", 1}};
    assert_int_equal(asr_segment_words(t, bad_text, 2, 0.5, 15), ASR_ERR_INVALID_ARG);
    assert_int_equal(asr_segment_words(t, backwards, 2, 0.5, 15), ASR_ERR_INVALID_ARG);
    assert_int_equal(asr_segment_words(t, nan_time, 2, 0.5, 15), ASR_ERR_INVALID_ARG);
    assert_int_equal(asr_segment_words(t, inf_time, 2, 0.5, 15), ASR_ERR_INVALID_ARG);
    assert_int_equal(asr_segment_words(t, NULL, 1, 0.5, 15), ASR_ERR_INVALID_ARG);
    assert_int_equal(asr_segment_words(t, &ok, 1, NAN, 15), ASR_ERR_INVALID_ARG);
    assert_int_equal(asr_segment_words(t, &ok, 1, 0.5, NAN), ASR_ERR_INVALID_ARG);
    assert_int_equal(t->n_segments, 0);
    assert_int_equal(asr_segment_words(NULL, &ok, 1, 0.5, 15), ASR_ERR_INVALID_ARG);
    transcript_free(t);
}

static void test_many_words(void **state)
{
    (void)state;
    /* An hour of speech: a 0.3 s word every 0.4 s, a 1 s pause every 20
     * words. Each pause starts a segment; nothing else does. */
    size_t n = 9000;
    asr_word *w = malloc(n * sizeof *w);
    assert_non_null(w);
    double t0 = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i % 20 == 0)
            t0 += 1.0;
        w[i] = (asr_word){t0, t0 + 0.3, "word", 0.9f};
        t0 += 0.4;
    }
    transcript *t = segment(w, n, 0.5, 15);
    assert_int_equal(t->n_segments, n / 20);
    assert_int_equal(transcript_word_count(t), n);
    for (size_t i = 0; i < t->n_segments; i++)
        assert_int_equal(t->segments[i].n_words, 20);
    transcript_free(t);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_one_word),
        cmocka_unit_test(test_words_are_copied),
        cmocka_unit_test(test_pause_splits),
        cmocka_unit_test(test_pause_boundary),
        cmocka_unit_test(test_max_length_splits),
        cmocka_unit_test(test_long_word_gets_own_segment),
        cmocka_unit_test(test_limits_disabled),
        cmocka_unit_test(test_zero_length_words),
        cmocka_unit_test(test_overlap_and_out_of_order),
        cmocka_unit_test(test_empty_text_words),
        cmocka_unit_test(test_appends_to_existing),
        cmocka_unit_test(test_invalid_input_leaves_transcript_untouched),
        cmocka_unit_test(test_many_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
