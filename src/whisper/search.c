/* search.c: choosing the tokens of one window — greedy (temperature 0,
 * one sequence), sampling (best_of independent sequences drawn from
 * softmax(logits / T) with a seeded generator) and beam search (the
 * reference decoder's scheme: each live beam proposes its beam_size + 1
 * best continuations, the best non-final ones become the next beams, those
 * ending in eot are set aside until enough are finished).
 *
 * The network is reached only through a whisper__decoder, so all of this
 * runs on synthetic logits in tests. Invariant: sequence g of the decoder's
 * cache always holds the prompt followed by hypothesis g's tokens.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decoding.h"

uint64_t whisper__rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double whisper__rng_uniform(uint64_t *state)
{
    return (double)(whisper__rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* A hypothesis: its token ids (for the filters) and per-token details. */
typedef struct {
    int *ids;
    whisper__token_info *info;
    int n;
    double sum;
    bool done; /* ended with eot */
} hyp;

/* Everything one search allocates, released together. */
typedef struct {
    hyp *cur, *next, *fin;
    int n_cur, n_fin;
    float *logits; /* n_seq x n_vocab */
    int *feed;     /* n_seq */
} work;

static int hyps_alloc(hyp **out, int n, int cap)
{
    *out = calloc((size_t)n, sizeof **out);
    if (!*out)
        return -1;
    for (int i = 0; i < n; i++) {
        (*out)[i].ids = malloc((size_t)cap * sizeof(int));
        (*out)[i].info = malloc((size_t)cap * sizeof(whisper__token_info));
        if (!(*out)[i].ids || !(*out)[i].info)
            return -1;
    }
    return 0;
}

static void hyps_free(hyp *h, int n)
{
    if (!h)
        return;
    for (int i = 0; i < n; i++) {
        free(h[i].ids);
        free(h[i].info);
    }
    free(h);
}

static void hyp_copy(hyp *dst, const hyp *src)
{
    memcpy(dst->ids, src->ids, (size_t)src->n * sizeof(int));
    memcpy(dst->info, src->info, (size_t)src->n * sizeof(whisper__token_info));
    dst->n = src->n;
    dst->sum = src->sum;
    dst->done = src->done;
}

static void hyp_push(hyp *h, const whisper__token_info *t)
{
    h->ids[h->n] = t->id;
    h->info[h->n++] = *t;
    h->sum += t->logprob;
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Where the raw logits put the current time: argmax over the timestamp
 * tokens and its probability among them (for word timing). */
static void timestamp_peak(const whisper__filters *f, const float *raw, whisper__token_info *t)
{
    int tb = f->sp.timestamp_begin, n = f->n_vocab - tb;
    t->ts_index = 0;
    t->ts_prob = 0;
    if (n <= 0)
        return;
    float lse = whisper__logsumexp(raw + tb, n);
    int best = argmax(raw + tb, n);
    t->ts_index = best;
    t->ts_prob = lse == -INFINITY ? 0 : (float)exp(raw[tb + best] - lse);
}

/* Draws from softmax(logits / T); the argmax when nothing has mass. */
static int sample(const float *logits, int n, float temperature, uint64_t *rng)
{
    int best = argmax(logits, n);
    if (logits[best] == -INFINITY)
        return best;
    double total = 0;
    for (int i = 0; i < n; i++)
        total += expf((logits[i] - logits[best]) / temperature);
    double u = whisper__rng_uniform(rng) * total, acc = 0;
    for (int i = 0; i < n; i++) {
        if (logits[i] == -INFINITY)
            continue;
        acc += expf((logits[i] - logits[best]) / temperature);
        if (u < acc)
            return i;
    }
    return best;
}

static bool cancelled(const whisper__search_params *p)
{
    return p->cancel && atomic_load(p->cancel) != 0;
}

/* Feeds the prompt to sequence 0 in two parts so the logits at sot (for
 * the no-speech probability) come without asking for every position's. */
static int feed_prompt(const whisper__decoder *d, const int *prompt, int n_prompt, int sot_index,
                       float *logits, float *no_speech_prob, int no_speech, char *err,
                       size_t errlen)
{
    int first = sot_index + 1;
    int rc = d->decode(d->ud, 1, first, prompt, 0, logits, err, errlen);
    if (rc != 0)
        return rc;
    float lse = whisper__logsumexp(logits, d->n_vocab);
    *no_speech_prob =
        (no_speech >= 0 && no_speech < d->n_vocab) ? (float)exp(logits[no_speech] - lse) : 0.0f;
    if (n_prompt > first)
        rc = d->decode(d->ud, 1, n_prompt - first, prompt + first, first, logits, err, errlen);
    return rc;
}

/* Sequence 0 holds the prompt; give every other sequence the same start. */
static void replicate(const whisper__decoder *d, float *logits, int n_seq, int n_past)
{
    for (int g = 1; g < n_seq; g++) {
        memcpy(logits + (size_t)g * d->n_vocab, logits, (size_t)d->n_vocab * sizeof *logits);
        d->kv_copy(d->ud, g, 0, n_past);
    }
}

static double rank_score(const hyp *h, float length_penalty)
{
    double len = h->n > 0 ? h->n : 1;
    double pen = length_penalty < 0 ? len : pow((5.0 + len) / 6.0, length_penalty);
    return h->sum / pen;
}

static int finish_result(const hyp *h, float no_speech_prob, float temperature,
                         whisper__search_result *out, char *err, size_t errlen)
{
    out->tokens = malloc((size_t)(h->n > 0 ? h->n : 1) * sizeof *out->tokens);
    if (!out->tokens) {
        snprintf(err, errlen, "whisper: out of memory for %d decoded tokens", h->n);
        return WHISPER_ERR_NOMEM;
    }
    memcpy(out->tokens, h->info, (size_t)h->n * sizeof *out->tokens);
    out->n_tokens = h->n;
    out->sum_logprob = h->sum;
    out->avg_logprob = (float)(h->sum / (h->n + 1));
    out->no_speech_prob = no_speech_prob;
    out->temperature = temperature;
    return WHISPER_OK;
}

/* One token for hypothesis h from its raw logits (filtered in place); its
 * logprob is logit - logsumexp, the log-softmax of the filtered logits. */
static void choose(const whisper__search_params *p, hyp *h, float *logits, uint64_t *rng)
{
    const whisper__filters *f = p->filters;
    whisper__token_info t;
    timestamp_peak(f, logits, &t);
    whisper__apply_filters(f, h->ids, h->n, logits);
    float lse = whisper__logsumexp(logits, f->n_vocab);
    t.id = p->temperature > 0 ? sample(logits, f->n_vocab, p->temperature, rng)
                              : argmax(logits, f->n_vocab);
    t.logprob = logits[t.id] - lse;
    if (t.id == f->sp.eot) {
        h->sum += t.logprob;
        h->done = true;
    } else {
        hyp_push(h, &t);
    }
}

static int search_sampling(const whisper__decoder *d, const whisper__search_params *p, work *w,
                           int n_seq, int n_past, float no_speech_prob, whisper__search_result *out,
                           char *err, size_t errlen)
{
    uint64_t rng = p->seed ^ 0x5eed5eed5eedULL;
    int eot = p->filters->sp.eot;
    for (int step = 0;; step++) {
        if (cancelled(p)) {
            snprintf(err, errlen, "whisper: decoding cancelled");
            return WHISPER_ERR_CANCELLED;
        }
        bool all_done = true;
        for (int g = 0; g < n_seq; g++) {
            hyp *h = &w->cur[g];
            if (!h->done)
                choose(p, h, w->logits + (size_t)g * d->n_vocab, &rng);
            all_done = all_done && h->done;
            w->feed[g] = h->done ? eot : h->ids[h->n - 1];
        }
        if (all_done || step + 1 >= p->sample_len || n_past + 1 > d->n_ctx)
            break;
        int rc = d->decode(d->ud, n_seq, 1, w->feed, n_past, w->logits, err, errlen);
        if (rc != 0)
            return rc;
        n_past++;
    }
    int best = 0;
    for (int g = 1; g < n_seq; g++)
        if (rank_score(&w->cur[g], p->length_penalty) >
            rank_score(&w->cur[best], p->length_penalty))
            best = g;
    return finish_result(&w->cur[best], no_speech_prob, p->temperature, out, err, errlen);
}

/* A beam-search candidate: source beam plus one token. */
typedef struct {
    int src;
    whisper__token_info t;
    double score;
    int order; /* insertion order: ties keep it, as a stable sort would */
} cand;

static bool same_sequence(const hyp *beams, const cand *a, const cand *b)
{
    if (a->t.id != b->t.id)
        return false;
    const hyp *x = &beams[a->src], *y = &beams[b->src];
    return x->n == y->n && memcmp(x->ids, y->ids, (size_t)x->n * sizeof(int)) == 0;
}

/* Top k of lp by value, lowest id first on ties, into idx (descending). */
static void top_k(const float *lp, int n, int k, int *idx)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m == k && !(lp[i] > lp[idx[m - 1]]))
            continue;
        int j = m < k ? m++ : k - 1;
        while (j > 0 && lp[i] > lp[idx[j - 1]]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
}

/* Copies cache sequences so that dst g gets the old contents of src[g],
 * never overwriting a sequence another copy still reads (spare breaks
 * cycles). */
static void reorder_cache(const whisper__decoder *d, int *src, int n, int spare, int n_past)
{
    bool pending[64];
    for (int g = 0; g < n; g++)
        pending[g] = src[g] != g;
    for (;;) {
        int pick = -1, any = -1;
        for (int g = 0; g < n && pick < 0; g++) {
            if (!pending[g])
                continue;
            any = g;
            bool needed = false;
            for (int h = 0; h < n; h++)
                if (pending[h] && h != g && src[h] == g)
                    needed = true;
            if (!needed)
                pick = g;
        }
        if (any < 0)
            return;
        if (pick < 0) { /* a cycle: park one member in the spare */
            d->kv_copy(d->ud, spare, any, n_past);
            for (int h = 0; h < n; h++)
                if (pending[h] && src[h] == any)
                    src[h] = spare;
            continue;
        }
        d->kv_copy(d->ud, pick, src[pick], n_past);
        pending[pick] = false;
    }
}

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return (x->order > y->order) - (x->order < y->order);
}

/* Gathers the candidates of every beam, best first, duplicates removed. */
static int gather(const whisper__search_params *p, const whisper__decoder *d, work *w, cand *c,
                  int *idx)
{
    int n_c = 0, k = p->beam_size + 1;
    for (int b = 0; b < w->n_cur; b++) {
        hyp *h = &w->cur[b];
        float *logits = w->logits + (size_t)b * d->n_vocab;
        whisper__token_info t;
        timestamp_peak(p->filters, logits, &t);
        whisper__apply_filters(p->filters, h->ids, h->n, logits);
        float lse = whisper__logsumexp(logits, d->n_vocab);
        top_k(logits, d->n_vocab, k, idx); /* same order as the log-probabilities */
        for (int j = 0; j < k; j++) {
            float lp = logits[idx[j]] - lse;
            cand x = {b, t, h->sum + lp, n_c};
            x.t.id = idx[j];
            x.t.logprob = lp;
            bool dup = false;
            for (int i = 0; i < n_c && !dup; i++)
                dup = same_sequence(w->cur, &c[i], &x);
            if (!dup)
                c[n_c++] = x;
        }
    }
    qsort(c, (size_t)n_c, sizeof *c, cmp_cand);
    return n_c;
}

/* One beam step: picks the next beams into w->next (src[] their sources)
 * and moves finished candidates to w->fin. */
static void beam_step(const whisper__search_params *p, work *w, const cand *c, int n_c, int max_fin,
                      int *src)
{
    int n_beam = p->beam_size, saved = 0;
    int eot = p->filters->sp.eot;
    for (int i = 0; i < n_c && saved < n_beam; i++) {
        const hyp *from = &w->cur[c[i].src];
        if (c[i].t.id == eot) {
            if (w->n_fin < max_fin) { /* candidates arrive best first */
                hyp *f = &w->fin[w->n_fin++];
                hyp_copy(f, from);
                f->sum = c[i].score;
                f->done = true;
            }
            continue;
        }
        hyp *nb = &w->next[saved];
        hyp_copy(nb, from);
        hyp_push(nb, &c[i].t);
        nb->sum = c[i].score;
        src[saved++] = c[i].src;
    }
    for (; saved < n_beam; saved++) { /* tiny vocabularies only */
        hyp_copy(&w->next[saved], &w->next[0]);
        src[saved] = src[0];
    }
    hyp *tmp = w->cur;
    w->cur = w->next;
    w->next = tmp;
}

/* Not enough finished: the live beams, best first, end here. */
static void beam_finalize(const whisper__search_params *p, work *w)
{
    while (w->n_fin < p->beam_size) {
        int best = -1;
        for (int b = 0; b < w->n_cur; b++)
            if (!w->cur[b].done && (best < 0 || w->cur[b].sum > w->cur[best].sum))
                best = b;
        if (best < 0)
            return;
        hyp_copy(&w->fin[w->n_fin++], &w->cur[best]);
        w->cur[best].done = true;
    }
}

static int search_beam(const whisper__decoder *d, const whisper__search_params *p, work *w,
                       int n_past, float no_speech_prob, whisper__search_result *out, char *err,
                       size_t errlen)
{
    int n_beam = p->beam_size, k = n_beam + 1;
    int max_fin = (int)lround(n_beam * (p->patience > 0 ? p->patience : 1.0f));
    if (max_fin < 1)
        max_fin = 1;
    if (max_fin > 4 * n_beam + 1) /* what whisper__search allocates */
        max_fin = 4 * n_beam + 1;
    cand *c = malloc((size_t)n_beam * (size_t)k * sizeof *c);
    int *idx = malloc((size_t)k * sizeof *idx), src[64];
    int rc = WHISPER_OK;
    if (!c || !idx) {
        snprintf(err, errlen, "whisper: out of memory for beam search");
        rc = WHISPER_ERR_NOMEM;
        goto cleanup;
    }
    for (int step = 0;; step++) {
        if (cancelled(p)) {
            snprintf(err, errlen, "whisper: decoding cancelled");
            rc = WHISPER_ERR_CANCELLED;
            goto cleanup;
        }
        int n_c = gather(p, d, w, c, idx);
        beam_step(p, w, c, n_c, max_fin, src);
        if (w->n_fin >= max_fin || step + 1 >= p->sample_len || n_past + 1 > d->n_ctx)
            break;
        reorder_cache(d, src, n_beam, n_beam, n_past);
        for (int b = 0; b < n_beam; b++)
            w->feed[b] = w->cur[b].ids[w->cur[b].n - 1];
        rc = d->decode(d->ud, n_beam, 1, w->feed, n_past, w->logits, err, errlen);
        if (rc != 0)
            goto cleanup;
        n_past++;
    }
    beam_finalize(p, w);
    int best = 0;
    for (int i = 1; i < w->n_fin; i++)
        if (rank_score(&w->fin[i], p->length_penalty) >
            rank_score(&w->fin[best], p->length_penalty))
            best = i;
    rc = finish_result(&w->fin[best], no_speech_prob, p->temperature, out, err, errlen);
cleanup:
    free(c);
    free(idx);
    return rc;
}

static void work_free(work *w, int n_seq, int n_fin)
{
    hyps_free(w->cur, n_seq);
    hyps_free(w->next, n_seq);
    hyps_free(w->fin, n_fin);
    free(w->logits);
    free(w->feed);
}

static int check_params(const whisper__decoder *d, const whisper__search_params *p, int n_seq,
                        int need_seq, int n_prompt, int sot_index, char *err, size_t errlen)
{
    if (n_seq < 1 || n_seq > 32) {
        snprintf(err, errlen, "whisper: beam_size/best_of %d out of range (1..32)", n_seq);
        return WHISPER_ERR_INVALID_ARG;
    }
    if (need_seq > d->max_seq) {
        snprintf(err, errlen,
                 "whisper: the state holds %d sequences, the search needs %d "
                 "(beam_size + 1 or best_of)",
                 d->max_seq, need_seq);
        return WHISPER_ERR_INVALID_ARG;
    }
    if (n_prompt < 1 || sot_index < 0 || sot_index >= n_prompt || n_prompt >= d->n_ctx ||
        p->sample_len < 1) {
        snprintf(err, errlen, "whisper: bad prompt (%d tokens, sot at %d, sample_len %d)", n_prompt,
                 sot_index, p->sample_len);
        return WHISPER_ERR_INVALID_ARG;
    }
    return WHISPER_OK;
}

int whisper__search(const whisper__decoder *d, const whisper__search_params *p, const int *prompt,
                    int n_prompt, int sot_index, whisper__search_result *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    bool beam = p->temperature <= 0 && p->beam_size > 1;
    int n_seq = p->temperature > 0 ? (p->best_of > 0 ? p->best_of : 1) : beam ? p->beam_size : 1;
    int n_fin = beam ? n_seq * 4 + 1 : 0;
    work w = {0};
    int rc = check_params(d, p, n_seq, beam ? n_seq + 1 : n_seq, n_prompt, sot_index, err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    int cap = p->sample_len + 1;
    w.logits = malloc((size_t)n_seq * (size_t)d->n_vocab * sizeof *w.logits);
    w.feed = malloc((size_t)n_seq * sizeof *w.feed);
    if (!w.logits || !w.feed || hyps_alloc(&w.cur, n_seq, cap) || hyps_alloc(&w.next, n_seq, cap) ||
        (n_fin && hyps_alloc(&w.fin, n_fin, cap))) {
        snprintf(err, errlen, "whisper: out of memory for %d search sequences", n_seq);
        rc = WHISPER_ERR_NOMEM;
        goto cleanup;
    }
    w.n_cur = n_seq;
    float no_speech_prob = 0;
    rc = feed_prompt(d, prompt, n_prompt, sot_index, w.logits, &no_speech_prob,
                     p->filters->sp.no_speech, err, errlen);
    if (rc != 0)
        goto cleanup;
    replicate(d, w.logits, n_seq, n_prompt);
    if (beam)
        rc = search_beam(d, p, &w, n_prompt, no_speech_prob, out, err, errlen);
    else
        rc = search_sampling(d, p, &w, n_seq, n_prompt, no_speech_prob, out, err, errlen);
cleanup:
    work_free(&w, n_seq, n_fin);
    return rc;
}

void whisper__search_result_free(whisper__search_result *r)
{
    if (!r)
        return;
    free(r->tokens);
    memset(r, 0, sizeof *r);
}
