/* test_diarize_align: laying speaker turns onto a transcript — word speakers
 * by longest overlap or nearest turn, segments split at speaker changes,
 * segments without words, numbering by first appearance, and refusal of
 * malformed turns. Every expected value is worked out by hand in the test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "diarize/diarize.h"

/* A segment of words "w0 w1 ..." one second each from start. */
static size_t add_words(transcript *t, double start, const char *const *words, size_t n)
{
    char text[256] = "";
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(text, " ");
        strcat(text, words[i]);
    }
    size_t seg = 0;
    assert_int_equal(transcript_add_segment(t, start, start + (double)n, text, &seg),
                     TRANSCRIPT_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(transcript_add_word(t, seg, start + (double)i, start + (double)i + 1,
                                             words[i], 0.9f),
                         TRANSCRIPT_OK);
    return seg;
}

static transcript *align(const transcript *t, const diarize_turn *turns, size_t n, int *count)
{
    transcript *out = NULL;
    char err[256];
    assert_int_equal(diarize_align(t, turns, n, &out, count, err, sizeof err), DIARIZE_OK);
    assert_non_null(out);
    return out;
}

static void no_turns_leave_the_transcript_as_it_was(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    static const char *const w[] = {"hello,", "world."};
    add_words(t, 3.0, w, 2);
    t->segments[0].text[0] = 'H'; /* segment text differs from joined words */
    int count = -1;
    transcript *out = align(t, NULL, 0, &count);
    assert_int_equal(count, 0);
    assert_int_equal(out->n_segments, 1);
    assert_string_equal(out->segments[0].text, "Hello, world.");
    assert_int_equal(out->segments[0].speaker, TRANSCRIPT_NO_SPEAKER);
    assert_int_equal(out->segments[0].words[1].speaker, TRANSCRIPT_NO_SPEAKER);
    assert_true(out->segments[0].start == 3.0 && out->segments[0].end == 5.0);
    transcript_free(out);
    transcript_free(t);
}

/* Words a..d at 0-1, 1-2, 2-3, 3-4. Label 7 speaks 0-2.2, label 3 2.2-4:
 * a, b -> 7 (b: 1.0 s of 7); c: 0.2 s of 7, 0.8 s of 3 -> 3; d -> 3. */
static void a_segment_splits_where_the_speaker_changes(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    static const char *const w[] = {"a", "b", "c", "d"};
    add_words(t, 0.0, w, 4);
    diarize_turn turns[] = {{0.0, 2.2, 7}, {2.2, 4.0, 3}};
    int count = 0;
    transcript *out = align(t, turns, 2, &count);
    assert_int_equal(count, 2);
    assert_int_equal(out->n_segments, 2);
    assert_string_equal(out->segments[0].text, "a b");
    assert_string_equal(out->segments[1].text, "c d");
    assert_int_equal(out->segments[0].speaker, 0); /* label 7 spoke first */
    assert_int_equal(out->segments[1].speaker, 1);
    assert_true(out->segments[0].start == 0.0 && out->segments[0].end == 2.0);
    assert_true(out->segments[1].start == 2.0 && out->segments[1].end == 4.0);
    assert_int_equal(out->segments[1].n_words, 2);
    assert_int_equal(out->segments[1].words[0].speaker, 1);
    assert_true(fabsf(out->segments[1].words[0].confidence - 0.9f) < 1e-6f);
    transcript_free(out);
    transcript_free(t);
}

/* Words "p" 0-1 and "x" 1-2. Label 1 covers 0-1.4 (all of p, 0.4 s of x),
 * label 3 covers 1.0-1.5 (0.5 s of x): x goes to label 3 although label 1's
 * turn comes first and also overlaps it, so the segment splits. */
static void a_word_goes_to_the_longest_overlap(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    static const char *const w[] = {"p", "x"};
    add_words(t, 0.0, w, 2);
    diarize_turn turns[] = {{0.0, 1.4, 1}, {1.0, 1.5, 3}};
    int count = 0;
    transcript *out = align(t, turns, 2, &count);
    assert_int_equal(count, 2);
    assert_int_equal(out->n_segments, 2);
    assert_string_equal(out->segments[1].text, "x");
    assert_int_equal(out->segments[1].speaker, 1);
    transcript_free(out);
    /* label 1's turn grown to 0-1.6 (0.6 s of x) wins x back: one segment */
    diarize_turn longer[] = {{0.0, 1.6, 1}, {1.0, 1.5, 3}};
    out = align(t, longer, 2, &count);
    assert_int_equal(count, 1);
    assert_int_equal(out->n_segments, 1);
    assert_string_equal(out->segments[0].text, "p x");
    transcript_free(out);
    transcript_free(t);
}

/* Words at 0-1 and 5-6; turns of label 4 at 1.5-2 (0.5 s after the first
 * word) and label 6 at 6.5-8 (0.5 s after the second, 4.5 s after the
 * first). Neither word is overlapped: each takes the nearest turn. */
static void an_uncovered_word_takes_the_nearest_turn(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    static const char *const w1[] = {"first"};
    static const char *const w2[] = {"second"};
    add_words(t, 0.0, w1, 1);
    add_words(t, 5.0, w2, 1);
    diarize_turn turns[] = {{6.5, 8.0, 6}, {1.5, 2.0, 4}};
    int count = 0;
    transcript *out = align(t, turns, 2, &count);
    assert_int_equal(count, 2);
    /* label 4 is nearest to the first word, and it appears first -> 0 */
    assert_int_equal(out->segments[0].speaker, 0);
    assert_int_equal(out->segments[1].speaker, 1);
    transcript_free(out);
    transcript_free(t);
}

/* Equal overlap (0.5 s each of a word at 0-1): the earlier turn in the
 * array wins, whatever the labels. */
static void ties_go_to_the_earlier_turn(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    static const char *const w[] = {"tie", "next"};
    add_words(t, 0.0, w, 2);
    /* "next" (1-2) is all label 8's; "tie" is half 5, half 8 -> 5 (first) */
    diarize_turn turns[] = {{0.0, 0.5, 5}, {0.5, 2.0, 8}};
    int count = 0;
    transcript *out = align(t, turns, 2, &count);
    assert_int_equal(count, 2);
    assert_int_equal(out->n_segments, 2);
    assert_string_equal(out->segments[0].text, "tie");
    transcript_free(out);
    /* the same turns listed the other way round: "tie" goes to 8, and both
     * words are then one speaker's, so the segment stays whole */
    diarize_turn swapped[] = {{0.5, 2.0, 8}, {0.0, 0.5, 5}};
    out = align(t, swapped, 2, &count);
    assert_int_equal(count, 1);
    assert_int_equal(out->n_segments, 1);
    assert_string_equal(out->segments[0].text, "tie next");
    transcript_free(out);
    transcript_free(t);
}

/* Segments without word timings: the speaker overlapping the segment the
 * longest. Segment 0-4 overlaps label 1 for 1 s (3-4) and label 2 for 3 s. */
static void a_segment_without_words_takes_the_longest_overlap(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    assert_int_equal(transcript_add_segment(t, 0.0, 4.0, "no words here", NULL), TRANSCRIPT_OK);
    assert_int_equal(transcript_add_segment(t, 10.0, 11.0, "later", NULL), TRANSCRIPT_OK);
    diarize_turn turns[] = {{3.0, 6.0, 1}, {0.0, 3.0, 2}};
    int count = 0;
    transcript *out = align(t, turns, 2, &count);
    assert_int_equal(out->n_segments, 2);
    assert_string_equal(out->segments[0].text, "no words here");
    assert_int_equal(out->segments[0].speaker, 0); /* label 2, first to appear */
    /* "later" (10-11) is nearest to label 1's turn (ends at 6) */
    assert_int_equal(out->segments[1].speaker, 1);
    assert_int_equal(count, 2);
    transcript_free(out);
    transcript_free(t);
}

/* Labels that speak in the turns but own no word are not speakers of the
 * transcript, and numbering follows the transcript's order, not the
 * labels' values or the turns' order. */
static void numbering_follows_first_appearance(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    static const char *const w[] = {"one", "two", "three"};
    add_words(t, 0.0, w, 3);
    diarize_turn turns[] = {{2.0, 3.0, 0}, {20.0, 30.0, 11}, {1.0, 2.0, 9}, {0.0, 1.0, 5}};
    int count = 0;
    transcript *out = align(t, turns, 4, &count);
    assert_int_equal(count, 3); /* label 11 owns no word */
    assert_int_equal(out->n_segments, 3);
    assert_int_equal(out->segments[0].speaker, 0); /* label 5 */
    assert_int_equal(out->segments[1].speaker, 1); /* label 9 */
    assert_int_equal(out->segments[2].speaker, 2); /* label 0 */
    transcript_free(out);
    transcript_free(t);
}

static void malformed_turns_are_refused(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    static const char *const w[] = {"w"};
    add_words(t, 0.0, w, 1);
    const diarize_turn bad[][1] = {{{2.0, 1.0, 0}}, {{0.0, 1.0, -1}}, {{NAN, 1.0, 0}},
                                   {{0.0, INFINITY, 0}}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        transcript *out = (transcript *)1;
        char err[256] = "";
        assert_int_equal(diarize_align(t, bad[i], 1, &out, NULL, err, sizeof err),
                         DIARIZE_ERR_INVALID);
        assert_null(out);
        assert_non_null(strstr(err, "turn 0"));
    }
    transcript *out = NULL;
    assert_int_equal(diarize_align(NULL, NULL, 0, &out, NULL, NULL, 0), DIARIZE_ERR_INVALID);
    transcript_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_turns_leave_the_transcript_as_it_was),
        cmocka_unit_test(a_segment_splits_where_the_speaker_changes),
        cmocka_unit_test(a_word_goes_to_the_longest_overlap),
        cmocka_unit_test(an_uncovered_word_takes_the_nearest_turn),
        cmocka_unit_test(ties_go_to_the_earlier_turn),
        cmocka_unit_test(a_segment_without_words_takes_the_longest_overlap),
        cmocka_unit_test(numbering_follows_first_appearance),
        cmocka_unit_test(malformed_turns_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
