/* test_whisper_search: greedy, beam search and sampling on a fake network
 * whose logits are a hash of each sequence's whole history, so any mistake
 * in feeding or reordering the per-sequence caches changes the result. The
 * fake also checks that every sequence's cache length is what the search
 * claims (n_past). Beam search is compared with a direct implementation of
 * the reference scheme that recomputes every sequence from scratch.
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

#include "whisper/decoding.h"

/* vocabulary: text 0..29, eot 30, sot 31, no_speech 32, 33 unused,
 * timestamps 34..39 */
#define NV 40
#define EOT 30
#define SOT 31
#define NOSP 32
#define MAXLEN 96
#define NSEQ 8

typedef struct {
    int hist[NSEQ][MAXLEN];
    int len[NSEQ];
    uint64_t salt;
    int n_ctx;
    int decodes;
} fake;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* Logits after seq[0..n): pseudo-random per history, eot likelier as the
 * sequence grows; at sot, a known no_speech logit. */
static void fake_logits(const fake *f, const int *seq, int n, float *out)
{
    uint64_t h = f->salt;
    for (int i = 0; i < n; i++)
        h = mix(h ^ (uint64_t)(seq[i] + 1) * 0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < NV; i++)
        out[i] = (float)((double)(mix(h + (uint64_t)i) >> 11) / 9007199254740992.0 * 6.0 - 3.0);
    out[EOT] += 0.5f * (float)n - 3.0f;
    if (n > 0 && seq[n - 1] == SOT)
        out[NOSP] = 10.0f;
}

static int fake_decode(void *ud, int n_seq, int n_tokens, const int *tokens, int n_past,
                       float *logits, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    fake *f = ud;
    f->decodes++;
    assert_true(n_seq >= 1 && n_seq <= NSEQ);
    assert_true(n_past + n_tokens <= f->n_ctx);
    for (int s = 0; s < n_seq; s++) {
        assert_int_equal(f->len[s], n_past); /* the cache is as long as claimed */
        for (int i = 0; i < n_tokens; i++)
            f->hist[s][f->len[s]++] = tokens[s * n_tokens + i];
        fake_logits(f, f->hist[s], f->len[s], logits + (size_t)s * NV);
    }
    return 0;
}

static void fake_copy(void *ud, int dst, int src, int n_past)
{
    fake *f = ud;
    assert_true(f->len[src] >= n_past);
    memmove(f->hist[dst], f->hist[src], (size_t)n_past * sizeof(int));
    f->len[dst] = n_past;
}

static whisper__filters plain_filters(void)
{
    whisper__filters fl = {0};
    fl.n_vocab = NV;
    fl.sp = (whisper_special_tokens){.eot = EOT,
                                     .sot = SOT,
                                     .translate = 33,
                                     .transcribe = 33,
                                     .solm = 33,
                                     .prev = 33,
                                     .no_speech = NOSP,
                                     .no_timestamps = 33,
                                     .timestamp_begin = 34,
                                     .lang_first = 33,
                                     .n_languages = 0};
    fl.max_initial_ts = -1;
    return fl;
}

static whisper__decoder fake_decoder(fake *f, int max_seq)
{
    return (whisper__decoder){fake_decode, fake_copy, f, NV, f->n_ctx, max_seq};
}

static const int prompt[] = {7, SOT, 12};

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

/* ---- a direct reference beam search (no caches) ---- */

typedef struct {
    int seq[MAXLEN];
    int n;
    double sum;
} rhyp;

static void ref_top(const float *lp, int k, int *idx)
{
    bool used[NV] = {false};
    for (int j = 0; j < k; j++) {
        int b = -1;
        for (int i = 0; i < NV; i++)
            if (!used[i] && (b < 0 || lp[i] > lp[b]))
                b = i;
        used[b] = true;
        idx[j] = b;
    }
}

static void ref_beam(const fake *f, int beam, int sample_len, rhyp *best)
{
    rhyp beams[NSEQ] = {0}, fin[NSEQ * 4] = {0}, cand[NSEQ * (NSEQ + 1)];
    int n_fin = 0;
    for (int step = 0; step < sample_len; step++) {
        int n_c = 0;
        for (int b = 0; b < beam; b++) {
            int full[MAXLEN];
            memcpy(full, prompt, sizeof prompt);
            memcpy(full + 3, beams[b].seq, (size_t)beams[b].n * sizeof(int));
            float lg[NV], lp[NV];
            fake_logits(f, full, 3 + beams[b].n, lg);
            whisper__log_softmax(lg, NV, lp);
            int idx[NSEQ + 1];
            ref_top(lp, beam + 1, idx);
            for (int j = 0; j <= beam; j++) {
                rhyp c = beams[b];
                c.seq[c.n++] = idx[j];
                c.sum += lp[idx[j]];
                bool dup = false;
                for (int i = 0; i < n_c && !dup; i++)
                    dup = cand[i].n == c.n && !memcmp(cand[i].seq, c.seq, c.n * sizeof(int));
                if (!dup)
                    cand[n_c++] = c;
            }
        }
        for (int i = 1; i < n_c; i++) /* stable insertion sort, best first */
            for (int j = i; j > 0 && cand[j].sum > cand[j - 1].sum; j--) {
                rhyp t = cand[j];
                cand[j] = cand[j - 1];
                cand[j - 1] = t;
            }
        int saved = 0;
        rhyp next[NSEQ];
        for (int i = 0; i < n_c && saved < beam; i++) {
            if (cand[i].seq[cand[i].n - 1] == EOT) {
                if (n_fin < beam) {
                    fin[n_fin] = cand[i];
                    fin[n_fin++].n--; /* eot not counted */
                }
            } else {
                next[saved++] = cand[i];
            }
        }
        memcpy(beams, next, sizeof(rhyp) * (size_t)beam);
        if (n_fin >= beam)
            break;
    }
    while (n_fin < beam) {
        int b = 0;
        for (int i = 1; i < beam; i++)
            if (beams[i].sum > beams[b].sum)
                b = i;
        fin[n_fin++] = beams[b];
        beams[b].sum = -INFINITY;
    }
    int b = 0;
    for (int i = 1; i < n_fin; i++)
        if (fin[i].sum / (fin[i].n ? fin[i].n : 1) > fin[b].sum / (fin[b].n ? fin[b].n : 1))
            b = i;
    *best = fin[b];
}

static whisper__search_params params(const whisper__filters *fl, float t, int beam, int best_of)
{
    return (whisper__search_params){.temperature = t,
                                    .beam_size = beam,
                                    .best_of = best_of,
                                    .patience = 1.0f,
                                    .length_penalty = -1.0f,
                                    .sample_len = 40,
                                    .seed = 1,
                                    .filters = fl};
}

static void test_greedy_follows_argmax(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    for (uint64_t salt = 1; salt <= 10; salt++) {
        fake f = {.salt = salt, .n_ctx = MAXLEN};
        whisper__decoder d = fake_decoder(&f, 1);
        whisper__search_params p = params(&fl, 0, 1, 1);
        whisper__search_result r;
        char err[256];
        assert_int_equal(whisper__search(&d, &p, prompt, 3, 1, &r, err, sizeof err), 0);
        int full[MAXLEN];
        memcpy(full, prompt, sizeof prompt);
        int n = 3, ts_want[MAXLEN];
        float ts_prob[MAXLEN];
        double sum = 0;
        for (;;) {
            float lg[NV], lp[NV];
            fake_logits(&f, full, n, lg);
            whisper__log_softmax(lg, NV, lp);
            int t = argmax(lg, NV);
            /* the step's timestamp peak, from the raw logits */
            ts_want[n - 3] = argmax(lg + 34, NV - 34);
            ts_prob[n - 3] = expf(lg[34 + ts_want[n - 3]] - whisper__logsumexp(lg + 34, NV - 34));
            sum += lp[t];
            if (t == EOT || n - 3 + 1 >= p.sample_len) {
                if (t != EOT)
                    full[n++] = t;
                break;
            }
            full[n++] = t;
        }
        assert_int_equal(r.n_tokens, n - 3);
        for (int i = 0; i < r.n_tokens; i++) {
            assert_int_equal(r.tokens[i].id, full[3 + i]);
            assert_int_equal(r.tokens[i].ts_index, ts_want[i]);
            assert_float_equal(r.tokens[i].ts_prob, ts_prob[i], 1e-5);
        }
        assert_float_equal(r.sum_logprob, sum, 1e-4);
        assert_float_equal(r.avg_logprob, sum / (r.n_tokens + 1), 1e-4);
        whisper__search_result_free(&r);
    }
}

static void test_no_speech_prob_at_sot(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    fake f = {.salt = 5, .n_ctx = MAXLEN};
    whisper__decoder d = fake_decoder(&f, 1);
    whisper__search_params p = params(&fl, 0, 1, 1);
    whisper__search_result r;
    char err[256];
    assert_int_equal(whisper__search(&d, &p, prompt, 3, 1, &r, err, sizeof err), 0);
    float lg[NV];
    fake_logits(&f, prompt, 2, lg);
    float lse = whisper__logsumexp(lg, NV);
    assert_float_equal(r.no_speech_prob, expf(lg[NOSP] - lse), 1e-6);
    assert_true(r.no_speech_prob > 0.9f);
    whisper__search_result_free(&r);
}

static void test_beam_matches_direct_reference(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    int differs_from_greedy = 0;
    for (int beam = 2; beam <= 5; beam++) {
        for (uint64_t salt = 1; salt <= 25; salt++) {
            fake f = {.salt = salt * 7919, .n_ctx = MAXLEN};
            whisper__decoder d = fake_decoder(&f, beam + 1);
            whisper__search_params p = params(&fl, 0, beam, 1);
            p.sample_len = 12;
            whisper__search_result r, g;
            char err[256];
            assert_int_equal(whisper__search(&d, &p, prompt, 3, 1, &r, err, sizeof err), 0);
            rhyp want;
            ref_beam(&f, beam, p.sample_len, &want);
            if (r.n_tokens != want.n)
                fail_msg("beam %d salt %llu: %d tokens, reference %d", beam,
                         (unsigned long long)salt, r.n_tokens, want.n);
            for (int i = 0; i < want.n; i++)
                assert_int_equal(r.tokens[i].id, want.seq[i]);
            assert_float_equal(r.sum_logprob, want.sum, 1e-4);
            memset(&f, 0, sizeof f);
            f.salt = salt * 7919;
            f.n_ctx = MAXLEN;
            p.beam_size = 1;
            assert_int_equal(whisper__search(&d, &p, prompt, 3, 1, &g, err, sizeof err), 0);
            if (g.n_tokens != r.n_tokens ||
                memcmp(g.tokens, r.tokens, sizeof *g.tokens * (size_t)g.n_tokens) != 0)
                differs_from_greedy++;
            whisper__search_result_free(&r);
            whisper__search_result_free(&g);
        }
    }
    /* the comparison means something only if beams ever beat greedy */
    assert_true(differs_from_greedy > 5);
}

static void test_beam_needs_spare_sequence(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    fake f = {.salt = 3, .n_ctx = MAXLEN};
    whisper__decoder d = fake_decoder(&f, 5);
    whisper__search_params p = params(&fl, 0, 5, 1);
    whisper__search_result r;
    char err[256] = "";
    assert_int_equal(whisper__search(&d, &p, prompt, 3, 1, &r, err, sizeof err),
                     WHISPER_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "needs 6"));
}

/* Runs one search on a fresh fake (salt) and returns its token ids. */
static int run_search(uint64_t salt, int n_ctx, whisper__search_params *p, int max_seq, int *ids,
                      int *rc)
{
    static fake f;
    memset(&f, 0, sizeof f);
    f.salt = salt;
    f.n_ctx = n_ctx;
    whisper__decoder d = fake_decoder(&f, max_seq);
    whisper__search_result r;
    char err[256];
    *rc = whisper__search(&d, p, prompt, 3, 1, &r, err, sizeof err);
    int n = r.n_tokens;
    for (int i = 0; i < n; i++)
        ids[i] = r.tokens[i].id;
    whisper__search_result_free(&r);
    return n;
}

static void test_sampling_deterministic(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    int a[MAXLEN], b[MAXLEN], first[MAXLEN], rc;
    int n_first = -1, distinct = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        whisper__search_params p = params(&fl, 1.0f, 5, 5);
        p.seed = seed;
        int na = run_search(11, MAXLEN, &p, 5, a, &rc);
        assert_int_equal(rc, 0);
        int nb = run_search(11, MAXLEN, &p, 5, b, &rc);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, (size_t)na * sizeof(int));
        if (n_first < 0) {
            n_first = na;
            memcpy(first, a, (size_t)na * sizeof(int));
        } else if (na != n_first || memcmp(a, first, (size_t)na * sizeof(int)) != 0) {
            distinct++;
        }
    }
    assert_true(distinct > 0); /* the seed matters */
}

static void test_cold_sampling_is_greedy(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    int s[MAXLEN], g[MAXLEN], rc;
    whisper__search_params p = params(&fl, 1e-4f, 1, 3);
    int ns = run_search(21, MAXLEN, &p, 3, s, &rc);
    assert_int_equal(rc, 0);
    p = params(&fl, 0, 1, 1);
    int ng = run_search(21, MAXLEN, &p, 1, g, &rc);
    assert_int_equal(ns, ng);
    assert_memory_equal(s, g, (size_t)ns * sizeof(int));
}

static void test_context_limit(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    int ids[MAXLEN], rc;
    for (int beam = 1; beam <= 3; beam += 2) {
        whisper__search_params p = params(&fl, 0, beam, 1);
        p.sample_len = 80;
        /* the fake fails any feed past position 7 */
        int n = run_search(4, 8, &p, beam + 1, ids, &rc);
        assert_int_equal(rc, 0);
        assert_true(n <= 8 - 3 + 1);
    }
}

static void test_cancel(void **state)
{
    (void)state;
    whisper__filters fl = plain_filters();
    atomic_int stop = 1;
    int ids[MAXLEN], rc;
    whisper__search_params p = params(&fl, 0, 1, 1);
    p.cancel = &stop;
    run_search(4, MAXLEN, &p, 1, ids, &rc);
    assert_int_equal(rc, WHISPER_ERR_CANCELLED);
}

static void test_rng_uniform_range(void **state)
{
    (void)state;
    uint64_t st = 42;
    double lo = 1, hi = 0;
    for (int i = 0; i < 10000; i++) {
        double u = whisper__rng_uniform(&st);
        assert_true(u >= 0 && u < 1);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    assert_true(lo < 0.01 && hi > 0.99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_follows_argmax),
        cmocka_unit_test(test_no_speech_prob_at_sot),
        cmocka_unit_test(test_beam_matches_direct_reference),
        cmocka_unit_test(test_beam_needs_spare_sequence),
        cmocka_unit_test(test_sampling_deterministic),
        cmocka_unit_test(test_cold_sampling_is_greedy),
        cmocka_unit_test(test_context_limit),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_rng_uniform_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
