/* test_whisper_filters: Whisper's logit filters (suppress blank, suppress
 * tokens, each timestamp rule, the timestamp-mass rule) on a tiny synthetic
 * vocabulary; the non-speech list against the PyTorch reference's on the
 * real multilingual vocabulary; compression ratio and the fallback and
 * skip decisions; splitting a window's tokens into segments and the seek;
 * token times and word grouping.
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
#include <sys/wait.h>

#include "whisper/decoding.h"
#include "whisper/whisper.h"

/* Tiny vocabulary: text 0..9, eot 10, sot 11, translate 12, transcribe 13,
 * solm 14, prev 15, no_speech 16, no_timestamps 17, timestamps 18..29. */
#define NV 30
#define TB 18

static int blank_ids[] = {3, 10};
static int suppress_ids[] = {5, 12, 13, 11, 15, 14, 16};

static whisper__filters tiny_filters(bool timestamps)
{
    whisper__filters f = {0};
    f.n_vocab = NV;
    f.sp = (whisper_special_tokens){.eot = 10,
                                    .sot = 11,
                                    .translate = 12,
                                    .transcribe = 13,
                                    .solm = 14,
                                    .prev = 15,
                                    .no_speech = 16,
                                    .no_timestamps = 17,
                                    .timestamp_begin = TB,
                                    .lang_first = 11,
                                    .n_languages = 0};
    f.timestamps = timestamps;
    f.suppress_blank = true;
    f.max_initial_ts = 3;
    f.blank = blank_ids;
    f.n_blank = 2;
    f.suppress = suppress_ids;
    f.n_suppress = 7;
    return f;
}

static void flat(float *l)
{
    for (int i = 0; i < NV; i++)
        l[i] = 0.0f;
}

static void assert_inf_range(const float *l, int from, int to)
{
    for (int i = from; i < to; i++)
        if (!isinf(l[i]) || l[i] > 0)
            fail_msg("logit %d is %g, expected -inf", i, l[i]);
}

static void assert_finite_range(const float *l, int from, int to)
{
    for (int i = from; i < to; i++)
        if (!isfinite(l[i]))
            fail_msg("logit %d is %g, expected finite", i, l[i]);
}

static void test_suppress_blank_first_only(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(false);
    float l[NV];
    flat(l);
    whisper__suppress_blank(&f, 0, l);
    assert_inf_range(l, 3, 4);
    assert_inf_range(l, 10, 11);
    assert_finite_range(l, 0, 3);
    assert_finite_range(l, 4, 10);
    flat(l);
    whisper__suppress_blank(&f, 1, l);
    assert_finite_range(l, 0, NV);
    f.suppress_blank = false;
    whisper__suppress_blank(&f, 0, l);
    assert_finite_range(l, 0, NV);
}

static void test_suppress_tokens(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(false);
    float l[NV];
    flat(l);
    whisper__apply_filters(&f, NULL, 3, l);
    for (int i = 0; i < NV; i++) {
        bool sup = i == 5 || (i >= 11 && i <= 16);
        assert_int_equal(isinf(l[i]) != 0, sup);
    }
    /* no timestamp rules without timestamps: timestamps stay possible */
    assert_finite_range(l, TB, NV);
}

static void test_ts_first_position(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(true);
    float l[NV];
    flat(l);
    whisper__timestamp_rules(&f, NULL, 0, l);
    assert_inf_range(l, 0, TB);         /* text, eot, specials */
    assert_finite_range(l, TB, TB + 4); /* 0.00 .. 0.06 (max_initial 3) */
    assert_inf_range(l, TB + 4, NV);
    f.max_initial_ts = -1;
    flat(l);
    whisper__timestamp_rules(&f, NULL, 0, l);
    assert_finite_range(l, TB, NV);
}

static void test_ts_after_first_timestamp(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(true);
    float l[NV];
    flat(l);
    int seq[] = {TB + 2};
    whisper__timestamp_rules(&f, seq, 1, l);
    /* a lone timestamp counts as a closed pair: text must follow */
    assert_inf_range(l, TB, NV);
    assert_finite_range(l, 0, 10);
    assert_inf_range(l, 17, 18);
}

static void test_ts_after_text(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(true);
    float l[NV];
    flat(l);
    int seq[] = {TB + 2, 1};
    whisper__timestamp_rules(&f, seq, 2, l);
    /* timestamps must move past the last one */
    assert_inf_range(l, TB, TB + 3);
    assert_finite_range(l, TB + 3, NV);
}

static void test_ts_open_needs_close(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(true);
    float l[NV];
    flat(l);
    for (int i = TB; i < NV; i++)
        l[i] = -3.0f; /* too unlikely together for the mass rule to drop eot */
    int seq[] = {TB + 2, 1, TB + 5};
    whisper__timestamp_rules(&f, seq, 3, l);
    assert_inf_range(l, 0, 10);         /* no text before the closing stamp */
    assert_finite_range(l, 10, 11);     /* eot allowed */
    assert_inf_range(l, TB, TB + 5);    /* not before the last */
    assert_finite_range(l, TB + 5, NV); /* the same one allowed */
}

static void test_ts_after_pair(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(true);
    float l[NV];
    flat(l);
    l[1] = 5.0f; /* text clearly likelier, so the mass rule stays out */
    int seq[] = {TB + 2, 1, TB + 5, TB + 5};
    whisper__timestamp_rules(&f, seq, 4, l);
    assert_inf_range(l, TB, NV);
    assert_finite_range(l, 0, 10);
}

static void test_ts_mass_rule(void **state)
{
    (void)state;
    whisper__filters f = tiny_filters(true);
    float l[NV];
    int seq[] = {TB, 1};
    /* each timestamp a bit less likely than the best text token, but
     * together they outweigh it */
    flat(l);
    l[2] = 1.0f;
    for (int i = TB; i < NV; i++)
        l[i] = 0.5f;
    whisper__timestamp_rules(&f, seq, 2, l);
    assert_inf_range(l, 0, TB);
    /* one strong text token beats them */
    flat(l);
    l[2] = 6.0f;
    for (int i = TB; i < NV; i++)
        l[i] = 0.5f;
    whisper__timestamp_rules(&f, seq, 2, l);
    assert_finite_range(l, 2, 3);
}

static void test_logsumexp(void **state)
{
    (void)state;
    float x[] = {0.0f, logf(3.0f), -INFINITY};
    assert_float_equal(whisper__logsumexp(x, 3), logf(4.0f), 1e-6);
    float y[] = {-INFINITY, -INFINITY};
    assert_true(isinf(whisper__logsumexp(y, 2)));
    float out[3];
    whisper__log_softmax(x, 3, out);
    assert_float_equal(out[0], -logf(4.0f), 1e-6);
    assert_true(isinf(out[2]));
}

/* The vectorised exp against libm over a vocabulary-sized row, every tail
 * length, -inf entries and values spanning the float range. */
static void test_logsumexp_accuracy(void **state)
{
    (void)state;
    int n_max = 51867;
    float *x = malloc((size_t)n_max * sizeof *x);
    assert_non_null(x);
    uint32_t r = 1;
    for (int i = 0; i < n_max; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)((double)(r >> 8) / 16777216.0 * 60.0 - 40.0);
        if (i % 7 == 3)
            x[i] = -INFINITY;
    }
    for (int n = n_max - 4; n <= n_max; n++) {
        double mx = -INFINITY, sum = 0;
        for (int i = 0; i < n; i++)
            mx = x[i] > mx ? x[i] : mx;
        for (int i = 0; i < n; i++)
            sum += exp((double)x[i] - mx);
        assert_float_equal(whisper__logsumexp(x, n), mx + log(sum), 2e-5);
    }
    for (int n = 1; n <= 9; n++) { /* shorter than one vector, and tails */
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += exp((double)x[i]);
        assert_float_equal(whisper__logsumexp(x, n), log(sum), 2e-5);
    }
    float deep[] = {0.0f, -86.9f, -87.1f, -200.0f, -1e30f};
    assert_float_equal(whisper__logsumexp(deep, 5), log1p(exp(-86.9)), 1e-7);
    free(x);
}

static void test_compression_ratio(void **state)
{
    (void)state;
    char rep[1200] = "";
    for (int i = 0; i < 40; i++)
        strcat(rep, " I am going to the store.");
    float r_rep = whisper__compression_ratio(rep, strlen(rep));
    const char *normal = " The quick brown fox jumps over the lazy dog near the riverbank.";
    float r_norm = whisper__compression_ratio(normal, strlen(normal));
    assert_true(r_rep > 2.4f);
    assert_true(r_norm < 2.4f);
    assert_true(r_norm > 0.5f);
    assert_float_equal(whisper__compression_ratio("", 0), 0.0f, 0);
}

static void test_fallback_decisions(void **state)
{
    (void)state;
    whisper_transcribe_params p = whisper_transcribe_default_params();
    assert_false(whisper__needs_fallback(1.5f, -0.5f, 0.1f, &p));
    assert_true(whisper__needs_fallback(2.5f, -0.5f, 0.1f, &p));  /* loop */
    assert_true(whisper__needs_fallback(1.5f, -1.2f, 0.1f, &p));  /* improbable */
    assert_false(whisper__needs_fallback(2.5f, -1.2f, 0.7f, &p)); /* silence */
    assert_false(whisper__needs_fallback(2.4f, -1.0f, 0.1f, &p)); /* thresholds are strict */
    /* skip: silent and improbable */
    assert_true(whisper__should_skip(-1.5f, 0.7f, &p));
    assert_false(whisper__should_skip(-0.5f, 0.7f, &p)); /* confident text despite no_speech */
    assert_false(whisper__should_skip(-1.5f, 0.5f, &p));
}

static void test_split_pairs(void **state)
{
    (void)state;
    /* <0.00> a b <1.00><1.00> c <2.00><2.00> d <3.00> */
    int t[] = {TB + 0, 1, 2, TB + 50, TB + 50, 3, TB + 100, TB + 100, 4, TB + 150};
    int tb = TB; /* ids above are in a vocabulary big enough for the test */
    whisper__span s[12];
    int adv = -1;
    int n = whisper__split_segments(t, 10, tb, 10.0, 3000, true, s, 12, &adv);
    assert_int_equal(n, 3);
    assert_int_equal(s[0].begin, 0);
    assert_int_equal(s[0].end, 4);
    assert_float_equal(s[0].start, 10.0, 1e-9);
    assert_float_equal(s[0].stop, 11.0, 1e-9);
    assert_int_equal(s[1].begin, 4);
    assert_int_equal(s[1].end, 7);
    assert_float_equal(s[1].start, 11.0, 1e-9);
    assert_float_equal(s[1].stop, 12.0, 1e-9);
    assert_int_equal(s[2].begin, 7);
    assert_int_equal(s[2].end, 10);
    assert_float_equal(s[2].stop, 13.0, 1e-9);
    assert_int_equal(adv, 3000); /* single timestamp ending: whole window */
}

static void test_split_seek_to_last_pair(void **state)
{
    (void)state;
    /* <0.00> a <1.00><1.00> b (cut off: no closing stamp) */
    int t[] = {TB, 1, TB + 50, TB + 50, 2};
    whisper__span s[6];
    int adv = -1;
    int n = whisper__split_segments(t, 5, TB, 0.0, 3000, true, s, 6, &adv);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].end, 3);
    assert_int_equal(adv, 100); /* 50 steps of 0.02 s = 100 frames */
}

static void test_split_no_pairs(void **state)
{
    (void)state;
    whisper__span s[4];
    int adv = -1;
    /* no timestamps: one segment, the window's real length */
    int t[] = {1, 2, 3};
    int n = whisper__split_segments(t, 3, TB, 30.0, 1234, false, s, 4, &adv);
    assert_int_equal(n, 1);
    assert_float_equal(s[0].start, 30.0, 1e-9);
    assert_float_equal(s[0].stop, 30.0 + 12.34, 1e-9);
    assert_int_equal(adv, 1234);
    /* timestamps on but only a lone opening stamp and a last one */
    int u[] = {TB, 1, 2, TB + 40};
    n = whisper__split_segments(u, 4, TB, 0.0, 3000, true, s, 4, &adv);
    assert_int_equal(n, 1);
    assert_float_equal(s[0].stop, 0.8, 1e-9);
    assert_int_equal(adv, 3000);
}

static void test_token_times_monotone(void **state)
{
    (void)state;
    size_t bytes[] = {4, 2, 6, 4};
    double ts[] = {0, 1.5, 0.5 /* goes backwards: ignored */, 2.5};
    float pr[] = {0.9f, 0.9f, 0.9f, 0.1f /* unsure: ignored */};
    double st[4], en[4];
    whisper__token_times(bytes, ts, pr, 4, 1.0, 3.0, st, en);
    assert_float_equal(st[0], 1.0, 1e-9);
    assert_float_equal(st[1], 1.5, 1e-9); /* anchored */
    /* tokens 1..3 share [1.5, 3.0] by bytes 2, 6, 4 */
    assert_float_equal(st[2], 1.5 + 1.5 * 2 / 12, 1e-9);
    assert_float_equal(st[3], 1.5 + 1.5 * 8 / 12, 1e-9);
    assert_float_equal(en[3], 3.0, 1e-9);
    for (int i = 0; i < 4; i++) {
        assert_true(en[i] >= st[i]);
        if (i > 0)
            assert_float_equal(st[i], en[i - 1], 1e-12);
    }
}

static void test_word_grouping(void **state)
{
    (void)state;
    const char *b[] = {"Hel", "lo", " wor", "ld", ",", " ok"};
    size_t l[] = {3, 2, 4, 2, 1, 3};
    assert_int_equal(whisper__word_end(b, l, 6, 0), 2);
    assert_int_equal(whisper__word_end(b, l, 6, 2), 5);
    assert_int_equal(whisper__word_end(b, l, 6, 5), 6);
}

static void test_utf8_complete(void **state)
{
    (void)state;
    assert_int_equal(whisper__utf8_complete("abc", 3), 3);
    assert_int_equal(whisper__utf8_complete("a\xc3\xa9", 3), 3);
    assert_int_equal(whisper__utf8_complete("a\xc3", 2), 1);
    assert_int_equal(whisper__utf8_complete("a\xe2\x99", 3), 1);
    assert_int_equal(whisper__utf8_complete("\xe2\x99\xaa", 3), 3);
    assert_int_equal(whisper__utf8_complete("", 0), 0);
}

/* ---- the real vocabulary -------------------------------------------------- */

static int run_cmd(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void test_non_speech_matches_reference(void **state)
{
    (void)state;
    char dir[512], model[600], cmd[4096], list[600];
    snprintf(dir, sizeof dir, "%s/test-whisper-filters", CESAR_BINARY_DIR);
    snprintf(model, sizeof model, "%s/base-test.bin", dir);
    snprintf(list, sizeof list, "%s/nonspeech.txt", dir);
    const char *header = CESAR_SOURCE_DIR "/../shared/models/whisper/for-tests-ggml-base.bin";
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && /usr/bin/python3 '%s/tests/whisper/make_model.py' --header '%s' "
             "--out '%s' --dims test --ftype f32 --seed 3 && /usr/bin/python3 -c \"import sys; "
             "sys.path.insert(0, '%s/tests/whisper'); import reference as R; "
             "m = R.Model('%s'); print(' '.join(map(str, R.non_speech_tokens("
             "R.model_tokenizer(m)))))\" > '%s'",
             dir, CESAR_SOURCE_DIR, header, model, CESAR_SOURCE_DIR, header, list);
    assert_int_equal(run_cmd(cmd), 0);
    char err[512] = "";
    whisper_model *m = NULL;
    whisper_load_params lp = whisper_load_default_params();
    int rc = whisper_model_load(&m, model, &lp, err, sizeof err);
    if (rc != WHISPER_OK)
        fail_msg("load %s: %s", model, err);
    int ours[512];
    int n = whisper__non_speech_tokens(m, ours, 512);
    FILE *f = fopen(list, "r");
    assert_non_null(f);
    int ref[512], n_ref = 0;
    while (n_ref < 512 && fscanf(f, "%d", &ref[n_ref]) == 1)
        n_ref++;
    fclose(f);
    assert_true(n_ref > 50);
    assert_int_equal(n, n_ref);
    for (int i = 0; i < n; i++)
        assert_int_equal(ours[i], ref[i]);
    /* the filters built from it: the list plus the task tokens */
    whisper_transcribe_params p = whisper_transcribe_default_params();
    whisper__filters flt;
    assert_int_equal(whisper__filters_init(&flt, m, &p, err, sizeof err), WHISPER_OK);
    assert_int_equal(flt.n_suppress, n + 6);
    assert_int_equal(flt.max_initial_ts, 50);
    assert_int_equal(flt.blank[flt.n_blank - 1], whisper_model_special(m)->eot);
    whisper__filters_free(&flt);
    p.suppress_non_speech = false;
    assert_int_equal(whisper__filters_init(&flt, m, &p, err, sizeof err), WHISPER_OK);
    assert_int_equal(flt.n_suppress, 6);
    whisper__filters_free(&flt);
    whisper_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suppress_blank_first_only),
        cmocka_unit_test(test_suppress_tokens),
        cmocka_unit_test(test_ts_first_position),
        cmocka_unit_test(test_ts_after_first_timestamp),
        cmocka_unit_test(test_ts_after_text),
        cmocka_unit_test(test_ts_open_needs_close),
        cmocka_unit_test(test_ts_after_pair),
        cmocka_unit_test(test_ts_mass_rule),
        cmocka_unit_test(test_logsumexp),
        cmocka_unit_test(test_logsumexp_accuracy),
        cmocka_unit_test(test_compression_ratio),
        cmocka_unit_test(test_fallback_decisions),
        cmocka_unit_test(test_split_pairs),
        cmocka_unit_test(test_split_seek_to_last_pair),
        cmocka_unit_test(test_split_no_pairs),
        cmocka_unit_test(test_token_times_monotone),
        cmocka_unit_test(test_word_grouping),
        cmocka_unit_test(test_utf8_complete),
        cmocka_unit_test(test_non_speech_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
