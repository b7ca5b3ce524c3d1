/* filters.c: the logit filters Whisper applies before every token choice —
 * suppress blank (first position only), suppress non-speech and task
 * tokens, and the timestamp rules — plus the log-softmax they rely on.
 *
 * Invariant: filters only ever lower logits to -inf; the order is the
 * reference decoder's (blank, tokens, timestamps), which matters because
 * the timestamp rule's log-softmax sees the earlier suppressions.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decoding.h"
#include "whisper/internal.h"

/* e^d for d <= 0 on four lanes, to about 1e-7 relative, 0 below -87
 * (where float underflows anyway). A polynomial on GNU vector types rather
 * than libm's expf: this runs over the whole vocabulary for every token of
 * every beam, and four lanes without branches make it several times
 * cheaper (plain C on targets without vector units). */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f exp_nonpos4(v4f d)
{
    const v4f lim = {-87.0f, -87.0f, -87.0f, -87.0f};
    v4i keep = d >= lim; /* all ones where the result is not 0 */
    v4f c = (v4f)(((v4i)d & keep) | ((v4i)lim & ~keep));
    v4f fn = (c * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(c / ln 2) */
    v4f r = c - fn * 0.693145752f;                          /* ln 2, high part */
    r = r - fn * 1.42860677e-6f;                            /* ln 2, low part */
    v4f p =
        1.0f +
        r * (1.0f +
             r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    v4i scale = (__builtin_convertvector(fn, v4i) + 127) << 23;
    return (v4f)((v4i)(p * (v4f)scale) & keep);
}

static float max_of(const float *x, int n)
{
    v4f m4 = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v4f v;
        memcpy(&v, x + i, sizeof v);
        v4i gt = v > m4;
        m4 = (v4f)(((v4i)v & gt) | ((v4i)m4 & ~gt));
    }
    float mx = -INFINITY;
    for (int j = 0; j < 4; j++)
        mx = m4[j] > mx ? m4[j] : mx;
    for (; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    return mx;
}

float whisper__logsumexp(const float *x, int n)
{
    float mx = max_of(x, n);
    if (mx == -INFINITY)
        return -INFINITY;
    v4f acc = {0, 0, 0, 0};
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        v4f v;
        memcpy(&v, x + i, sizeof v); /* x need not be 16-byte aligned */
        acc += exp_nonpos4(v - mx);
    }
    v4f tail = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    for (int j = 0; i + j < n; j++)
        tail[j] = x[i + j] - mx;
    acc += exp_nonpos4(tail);
    double sum = (double)acc[0] + acc[1] + acc[2] + acc[3];
    return mx + (float)log(sum);
}

void whisper__log_softmax(const float *x, int n, float *out)
{
    float lse = whisper__logsumexp(x, n);
    for (int i = 0; i < n; i++)
        out[i] = x[i] - lse;
}

static void set_range(float *logits, int from, int to)
{
    for (int i = from; i < to; i++)
        logits[i] = -INFINITY;
}

void whisper__suppress_blank(const whisper__filters *f, int n_sampled, float *logits)
{
    if (!f->suppress_blank || n_sampled != 0)
        return;
    for (int i = 0; i < f->n_blank; i++)
        if (f->blank[i] >= 0 && f->blank[i] < f->n_vocab)
            logits[f->blank[i]] = -INFINITY;
}

void whisper__suppress_tokens(const whisper__filters *f, float *logits)
{
    for (int i = 0; i < f->n_suppress; i++)
        if (f->suppress[i] >= 0 && f->suppress[i] < f->n_vocab)
            logits[f->suppress[i]] = -INFINITY;
}

/* Text tokens must not win when the timestamps together are likelier than
 * the best single text token. Both sides of the reference's comparison of
 * log-probabilities carry the same normaliser, so comparing the raw logits'
 * logsumexp with the text maximum decides the same without a softmax over
 * the whole vocabulary. */
static void timestamp_mass_rule(const whisper__filters *f, float *logits)
{
    int tb = f->sp.timestamp_begin;
    float ts_mass = whisper__logsumexp(logits + tb, f->n_vocab - tb);
    float text_max = max_of(logits, tb);
    if (ts_mass > text_max)
        set_range(logits, 0, tb);
}

void whisper__timestamp_rules(const whisper__filters *f, const int *sampled, int n_sampled,
                              float *logits)
{
    int tb = f->sp.timestamp_begin;
    if (f->sp.no_timestamps >= 0 && f->sp.no_timestamps < f->n_vocab)
        logits[f->sp.no_timestamps] = -INFINITY;
    bool last_ts = n_sampled >= 1 && sampled[n_sampled - 1] >= tb;
    bool penult_ts = n_sampled < 2 || sampled[n_sampled - 2] >= tb;
    if (last_ts) {
        if (penult_ts) /* a pair closed a segment: text must follow */
            set_range(logits, tb, f->n_vocab);
        else /* an opening timestamp needs its closing one (or eot) */
            set_range(logits, 0, f->sp.eot);
    }
    int last = -1;
    for (int i = n_sampled - 1; i >= 0; i--)
        if (sampled[i] >= tb) {
            last = sampled[i];
            break;
        }
    if (last >= 0) { /* time never goes backwards */
        int bound = (last_ts && !penult_ts) ? last : last + 1;
        set_range(logits, tb, bound < f->n_vocab ? bound : f->n_vocab);
    }
    if (n_sampled == 0) {
        set_range(logits, 0, tb);
        if (f->max_initial_ts >= 0 && tb + f->max_initial_ts + 1 < f->n_vocab)
            set_range(logits, tb + f->max_initial_ts + 1, f->n_vocab);
    }
    timestamp_mass_rule(f, logits);
}

void whisper__apply_filters(const whisper__filters *f, const int *sampled, int n_sampled,
                            float *logits)
{
    whisper__suppress_blank(f, n_sampled, logits);
    whisper__suppress_tokens(f, logits);
    if (f->timestamps)
        whisper__timestamp_rules(f, sampled, n_sampled, logits);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Sorts and removes duplicates; returns the new count. */
static int sort_unique(int *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_int);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    return k;
}

/* Appends tok to out when there is room; counts it either way. */
static void push(int *out, int cap, int *n, int tok)
{
    if (*n < cap)
        out[*n] = tok;
    (*n)++;
}

int whisper__non_speech_tokens(const whisper_model *m, int *out, int cap)
{
    static const char *const symbols[] = {"\"",
                                          "#",
                                          "(",
                                          ")",
                                          "*",
                                          "+",
                                          "/",
                                          ":",
                                          ";",
                                          "<",
                                          "=",
                                          ">",
                                          "@",
                                          "[",
                                          "\\",
                                          "]",
                                          "^",
                                          "_",
                                          "`",
                                          "{",
                                          "|",
                                          "}",
                                          "~",
                                          "\xe3\x80\x8c",
                                          "\xe3\x80\x8d",
                                          "\xe3\x80\x8e",
                                          "\xe3\x80\x8f",
                                          "<<",
                                          ">>",
                                          "<<<",
                                          ">>>",
                                          "--",
                                          "---",
                                          "-(",
                                          "-[",
                                          "('",
                                          "(\"",
                                          "((",
                                          "))",
                                          "(((",
                                          ")))",
                                          "[[",
                                          "]]",
                                          "{{",
                                          "}}",
                                          "\xe2\x99\xaa\xe2\x99\xaa",
                                          "\xe2\x99\xaa\xe2\x99\xaa\xe2\x99\xaa"};
    /* ♩♪♫♬♭♮♯: possibly several tokens each, their first one is enough */
    static const char *const misc[] = {"\xe2\x99\xa9", "\xe2\x99\xaa", "\xe2\x99\xab",
                                       "\xe2\x99\xac", "\xe2\x99\xad", "\xe2\x99\xae",
                                       "\xe2\x99\xaf"};
    size_t n_sym = sizeof symbols / sizeof *symbols, n_misc = sizeof misc / sizeof *misc;
    int toks[16];
    int n = 0;
    const char *lead[] = {" -", " '"};
    for (int i = 0; i < 2; i++) {
        int k = whisper_tokenize(m, lead[i], toks, 16);
        if (k < 0)
            return -1;
        if (k > 0)
            push(out, cap, &n, toks[0]);
    }
    for (size_t s = 0; s < n_sym + n_misc; s++) {
        bool is_misc = s >= n_sym;
        const char *sym = is_misc ? misc[s - n_sym] : symbols[s];
        for (int spaced = 0; spaced < 2; spaced++) {
            char text[32];
            snprintf(text, sizeof text, "%s%s", spaced ? " " : "", sym);
            int k = whisper_tokenize(m, text, toks, 16);
            if (k < 0)
                return -1;
            if (k == 1 || (is_misc && k > 0))
                push(out, cap, &n, toks[0]);
        }
    }
    if (n > cap)
        return n; /* not all fit: the count needed, nothing written is sorted */
    return sort_unique(out, n);
}

/* The non-speech list (when asked for) plus the task and special tokens the
 * reference never lets the decoder emit. */
static int build_suppress(whisper__filters *f, const whisper_model *m, bool non_speech, char *err,
                          size_t errlen)
{
    int cap = 256;
    f->suppress = malloc((size_t)(cap + 6) * sizeof *f->suppress);
    if (!f->suppress) {
        snprintf(err, errlen, "whisper: out of memory for the suppressed-token list");
        return WHISPER_ERR_NOMEM;
    }
    int n = 0;
    if (non_speech) {
        n = whisper__non_speech_tokens(m, f->suppress, cap);
        if (n < 0 || n > cap) {
            snprintf(err, errlen, "whisper: cannot tokenize the non-speech symbol list (%d tokens)",
                     n);
            return WHISPER_ERR_DECODE;
        }
    }
    const whisper_special_tokens *sp = &f->sp;
    int specials[] = {sp->translate, sp->transcribe, sp->sot, sp->prev, sp->solm, sp->no_speech};
    for (size_t i = 0; i < sizeof specials / sizeof *specials; i++)
        f->suppress[n++] = specials[i];
    f->n_suppress = sort_unique(f->suppress, n);
    return WHISPER_OK;
}

static int build_blank(whisper__filters *f, const whisper_model *m, char *err, size_t errlen)
{
    int toks[8];
    int k = whisper_tokenize(m, " ", toks, 8);
    if (k < 0 || k > 8) {
        snprintf(err, errlen, "whisper: cannot tokenize \" \" for blank suppression (%d tokens)",
                 k);
        return WHISPER_ERR_DECODE;
    }
    f->blank = malloc((size_t)(k + 1) * sizeof *f->blank);
    if (!f->blank) {
        snprintf(err, errlen, "whisper: out of memory for the blank-token list");
        return WHISPER_ERR_NOMEM;
    }
    memcpy(f->blank, toks, (size_t)k * sizeof *toks);
    f->blank[k] = f->sp.eot;
    f->n_blank = k + 1;
    return WHISPER_OK;
}

int whisper__filters_init(whisper__filters *f, const whisper_model *m,
                          const whisper_transcribe_params *p, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->n_vocab = whisper_model_hparams(m)->n_vocab;
    f->sp = *whisper_model_special(m);
    f->timestamps = p->timestamps;
    f->suppress_blank = p->suppress_blank;
    f->max_initial_ts = p->max_initial_timestamp >= 0
                            ? (int)lround(p->max_initial_timestamp / WHISPER__TIME_PRECISION)
                            : -1;
    int rc = build_blank(f, m, err, errlen);
    if (rc == WHISPER_OK)
        rc = build_suppress(f, m, p->suppress_non_speech, err, errlen);
    if (rc != WHISPER_OK)
        whisper__filters_free(f);
    return rc;
}

void whisper__filters_free(whisper__filters *f)
{
    if (!f)
        return;
    free(f->blank);
    free(f->suppress);
    memset(f, 0, sizeof *f);
}
