/* emit.c: turns one split-off piece of a window's tokens into the
 * whisper_segment handed to the caller — its text (leading space trimmed,
 * never ending inside a UTF-8 character), and its words with times from
 * whisper__token_times (method described in words.c).
 *
 * Buffers live in a whisper__emit reused across segments, so a long file
 * costs no allocation per segment once they have grown.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/decoding.h"

void whisper__emit_free(whisper__emit *e)
{
    if (!e)
        return;
    free(e->text);
    free(e->wtext);
    free(e->words);
    free(e->info);
    free(e->ids);
    free(e->ts_prob);
    free(e->offs);
    free(e->bytes);
    free(e->lens);
    free(e->ts_time);
    free(e->start);
    free(e->end);
    memset(e, 0, sizeof *e);
}

static int nomem(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "whisper: out of memory for %s", what);
    return WHISPER_ERR_NOMEM;
}

static int grow_bytes(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    char *nb = realloc(*buf, need);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = need;
    return 0;
}

/* Resizes one array of e to n elements; on failure the old block stays in
 * e (whisper__emit_free releases it). */
#define RESERVE(field)                                                                             \
    do {                                                                                           \
        void *np_ = realloc(e->field, (size_t)n * sizeof *e->field);                               \
        if (!np_)                                                                                  \
            return -1;                                                                             \
        e->field = np_;                                                                            \
    } while (0)

static int reserve(whisper__emit *e, int n)
{
    if (n <= e->cap)
        return 0;
    RESERVE(words);
    RESERVE(info);
    RESERVE(ids);
    RESERVE(ts_prob);
    RESERVE(offs);
    RESERVE(bytes);
    RESERVE(lens);
    RESERVE(ts_time);
    RESERVE(start);
    RESERVE(end);
    e->cap = n;
    return 0;
}

#undef RESERVE

int whisper__emit_text(whisper__emit *e, const whisper_model *m, const whisper__token_info *tokens,
                       int n, size_t *len, char *err, size_t errlen)
{
    if (reserve(e, n > 0 ? n : 1))
        return nomem(err, errlen, "segment tokens");
    int eot = whisper_model_special(m)->eot, k = 0;
    for (int i = 0; i < n; i++)
        if (tokens[i].id >= 0 && tokens[i].id < eot)
            e->ids[k++] = tokens[i].id;
    size_t needed = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (grow_bytes(&e->text, &e->text_cap, needed + 1 > 256 ? needed + 1 : 256))
            return nomem(err, errlen, "segment text");
        if (whisper_tokens_to_text(m, e->ids, (size_t)k, e->text, e->text_cap, &needed) ==
            WHISPER_OK) {
            *len = needed;
            return WHISPER_OK;
        }
    }
    snprintf(err, errlen, "whisper: cannot turn %d tokens into text", k);
    return WHISPER_ERR_DECODE;
}

static bool blank_text(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* Copies bytes[i..j) (leading spaces dropped, incomplete UTF-8 tail cut)
 * to the end of e->wtext at *used. */
static int word_text(whisper__emit *e, int i, int j, size_t *used)
{
    size_t total = 0;
    for (int t = i; t < j; t++)
        total += e->lens[t];
    if (grow_bytes(&e->wtext, &e->wtext_cap, *used + total + 1))
        return -1;
    char *w = e->wtext + *used;
    size_t n = 0;
    for (int t = i; t < j; t++) {
        memcpy(w + n, e->bytes[t], e->lens[t]);
        n += e->lens[t];
    }
    size_t skip = 0;
    while (skip < n && ((unsigned char)w[skip] & 0xc0) == 0x80)
        skip++;
    while (skip < n && w[skip] == ' ')
        skip++;
    memmove(w, w + skip, n - skip);
    n = whisper__utf8_complete(w, n - skip);
    w[n] = '\0';
    *used += n + 1;
    return 0;
}

/* Words of the text tokens e->ids[0..n) with their infos. */
static int build_words(whisper__emit *e, const whisper_model *m, const whisper__token_info *ti,
                       int n, double start, double stop, double offset, size_t *n_words)
{
    float *tsp = e->ts_prob;
    size_t *offs = e->offs;
    for (int i = 0; i < n; i++) {
        e->bytes[i] = whisper_token_bytes(m, ti[i].id, &e->lens[i]);
        if (!e->bytes[i]) {
            e->bytes[i] = "";
            e->lens[i] = 0;
        }
        e->ts_time[i] = offset + ti[i].ts_index * WHISPER__TIME_PRECISION;
        tsp[i] = ti[i].ts_prob;
    }
    whisper__token_times(e->lens, e->ts_time, tsp, n, start, stop, e->start, e->end);
    size_t used = 0, k = 0;
    for (int i = 0; i < n;) {
        int j = whisper__word_end(e->bytes, e->lens, n, i);
        offs[k] = used;
        if (word_text(e, i, j, &used))
            return -1;
        double p = 0;
        for (int t = i; t < j; t++)
            p += exp(ti[t].logprob);
        e->words[k] = (whisper_word){e->start[i], e->end[j - 1], NULL, (float)(p / (j - i))};
        if (e->wtext[offs[k]] != '\0')
            k++;
        else
            used = offs[k]; /* a lone space: no word */
        i = j;
    }
    for (size_t w = 0; w < k; w++)
        e->words[w].text = e->wtext + offs[w];
    *n_words = k;
    return 0;
}

int whisper__emit_segment(whisper__emit *e, const whisper_model *m, const whisper__search_result *r,
                          float compression_ratio, const whisper__token_info *tokens, int n,
                          double start, double stop, double time_offset, bool words,
                          whisper_segment_cb cb, void *ud, bool *emitted, char *err, size_t errlen)
{
    *emitted = false;
    if (reserve(e, n > 0 ? n : 1))
        return nomem(err, errlen, "segment tokens");
    int eot = whisper_model_special(m)->eot, n_text = 0;
    whisper__token_info *ti = e->info; /* reserved for n: emit_text keeps it */
    for (int i = 0; i < n; i++)
        if (tokens[i].id < eot)
            ti[n_text++] = tokens[i];
    size_t len = 0;
    int rc = whisper__emit_text(e, m, ti, n_text, &len, err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    len = whisper__utf8_complete(e->text, len);
    e->text[len] = '\0';
    size_t skip = 0;
    /* continuation bytes first: the start of a character went to the
     * previous segment (never in real output, but callers get valid UTF-8) */
    while (((unsigned char)e->text[skip] & 0xc0) == 0x80)
        skip++;
    while (e->text[skip] == ' ')
        skip++;
    if (start == stop || blank_text(e->text + skip))
        return WHISPER_OK; /* the reference clears such segments */
    size_t n_words = 0;
    if (words && build_words(e, m, ti, n_text, start, stop, time_offset, &n_words))
        return nomem(err, errlen, "word timestamps");
    whisper_segment seg = {
        start,         stop,           e->text + skip,    words ? e->words : NULL,
        n_words,       r->avg_logprob, r->no_speech_prob, compression_ratio,
        r->temperature};
    *emitted = true;
    if (cb && cb(&seg, ud) != 0) {
        snprintf(err, errlen, "whisper: stopped by the segment callback");
        rc = WHISPER_ERR_CANCELLED;
    }
    return rc;
}
