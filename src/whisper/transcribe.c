/* transcribe.c: Whisper's long-form transcription — the audio is pulled
 * window by window (never the whole file: only from 200 samples before the
 * seek point to 30 s + 200 samples after it), each 30 s window is turned
 * into a mel spectrogram, encoded and decoded with temperature fallback;
 * the tokens are split into segments at timestamp pairs and the seek moves
 * to the last timestamp (or past the window), as the reference does.
 *
 * Conditioning: the tokens of emitted segments (timestamps included, as the
 * reference keeps them) become the next window's prompt, reset after a
 * decode that needed a temperature above 0.5 or always when
 * condition_on_previous_text is off.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/compute.h"
#include "whisper/decoding.h"

#define WINDOW_SAMPLES ((int64_t)WHISPER_CHUNK_FRAMES * WHISPER_HOP)
#define MEL_CONTEXT 200   /* samples before a frame's centre that its FFT reads */
#define HISTORY_KEEP 1024 /* prompt tokens kept (only the last n_text_ctx/2 - 1 are used) */

whisper_transcribe_params whisper_transcribe_default_params(void)
{
    whisper_transcribe_params p = {0};
    p.task = WHISPER_TASK_TRANSCRIBE;
    p.language = NULL;
    p.beam_size = 5;
    p.best_of = 5;
    static const float temps[] = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
    p.n_temperatures = 6;
    memcpy(p.temperatures, temps, sizeof temps);
    p.compression_ratio_threshold = 2.4f;
    p.logprob_threshold = -1.0f;
    p.no_speech_threshold = 0.6f;
    p.condition_on_previous_text = true;
    p.timestamps = true;
    p.word_timestamps = true;
    p.suppress_blank = true;
    p.suppress_non_speech = true;
    p.max_initial_timestamp = 1.0f;
    p.length_penalty = -1.0f;
    return p;
}

int whisper_transcribe_max_seq(const whisper_transcribe_params *p)
{
    int need = p->beam_size > 1 ? p->beam_size + 1 : 1;
    for (int i = 0; i < p->n_temperatures && i < WHISPER_MAX_TEMPERATURES; i++)
        if (p->temperatures[i] > 0 && p->best_of > need)
            need = p->best_of;
    return need;
}

/* One transcription run. */
typedef struct {
    whisper_state *s;
    const whisper_model *m;
    const whisper_transcribe_params *p;
    const whisper_special_tokens *sp;
    int n_vocab, n_text_ctx, n_mels;
    whisper__filters filters;
    whisper__decoder dec;
    whisper__emit emit;
    /* audio: samples [start, start + n) at audio[0..n); audio[-200..-1] is
     * room for the reflection at the start of the file */
    whisper_read_fn read;
    void *read_ud;
    float *base, *audio;
    size_t n;
    int64_t start;
    bool eof;
    float *mel;
    /* prompt history: tokens of emitted segments, the prompt uses [reset, n) */
    int *hist;
    int n_hist, reset;
    int lang;
    int *prompt;
} run;

static int dec_decode(void *ud, int n_seq, int n_tokens, const int *tokens, int n_past,
                      float *logits, char *err, size_t errlen)
{
    return whisper_decode(ud, n_seq, n_tokens, tokens, n_past, logits, false, err, errlen);
}

static void dec_copy(void *ud, int dst, int src, int n_past)
{
    whisper_kv_copy(ud, dst, src, n_past);
}

/* Keeps [seek - 200, seek + 30 s + 200) of the audio in memory. */
static int fill_audio(run *r, int64_t seek, char *err, size_t errlen)
{
    int64_t keep = seek - MEL_CONTEXT > 0 ? seek - MEL_CONTEXT : 0;
    if (keep > r->start) {
        size_t drop = (size_t)(keep - r->start) < r->n ? (size_t)(keep - r->start) : r->n;
        memmove(r->audio, r->audio + drop, (r->n - drop) * sizeof *r->audio);
        r->n -= drop;
        r->start += (int64_t)drop;
    }
    int64_t want = seek + WINDOW_SAMPLES + MEL_CONTEXT;
    while (!r->eof && r->start + (int64_t)r->n < want) {
        size_t room = (size_t)(want - (r->start + (int64_t)r->n)), got = 0;
        char msg[256] = "";
        if (r->read(r->read_ud, r->audio + r->n, room, &got, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "whisper: reading audio at sample %lld: %s",
                     (long long)(r->start + (int64_t)r->n), msg[0] ? msg : "read failed");
            return WHISPER_ERR_AUDIO;
        }
        if (got == 0)
            r->eof = true;
        r->n += got < room ? got : room;
    }
    return WHISPER_OK;
}

/* The log-mel of the window at seek (samples), reflecting the file's start
 * for frames whose FFT reaches before sample 0. */
static int window_mel(run *r, int64_t seek, char *err, size_t errlen)
{
    if (seek > 0 && r->start == 0)
        for (int k = 1; k <= MEL_CONTEXT; k++)
            r->audio[-k] = (size_t)k < r->n ? r->audio[k] : 0.0f;
    int64_t off = seek - r->start;
    int64_t avail = r->start + (int64_t)r->n - seek;
    return whisper_mel(r->m, r->audio + off, avail > 0 ? avail : 0, seek == 0, WHISPER_CHUNK_FRAMES,
                       r->s->n_threads, r->mel, err, errlen);
}

static int detect_language(run *r, const char **detected, char *err, size_t errlen)
{
    if (r->lang >= 0)
        goto done;
    float *logits = malloc((size_t)r->n_vocab * sizeof *logits);
    if (!logits) {
        snprintf(err, errlen, "whisper: out of memory for language detection");
        return WHISPER_ERR_NOMEM;
    }
    int rc = whisper_decode(r->s, 1, 1, &r->sp->sot, 0, logits, false, err, errlen);
    if (rc == WHISPER_OK)
        r->lang = whisper__best_language(r->sp, logits, r->n_vocab);
    free(logits);
    if (rc != WHISPER_OK)
        return rc;
done:
    if (detected)
        *detected = whisper_language_code(r->lang);
    return WHISPER_OK;
}

/* [prev, last prompt tokens] sot [language task] [no_timestamps]. */
static int build_prompt(run *r, int *sot_index)
{
    int n = 0, max_prev = r->n_text_ctx / 2 - 1;
    int have = r->n_hist - r->reset;
    if (have > 0) {
        int take = have < max_prev ? have : max_prev;
        r->prompt[n++] = r->sp->prev;
        memcpy(r->prompt + n, r->hist + r->n_hist - take, (size_t)take * sizeof(int));
        n += take;
    }
    *sot_index = n;
    r->prompt[n++] = r->sp->sot;
    if (whisper_model_multilingual(r->m)) {
        r->prompt[n++] = r->sp->lang_first + r->lang;
        r->prompt[n++] =
            r->p->task == WHISPER_TASK_TRANSLATE ? r->sp->translate : r->sp->transcribe;
    }
    if (!r->p->timestamps)
        r->prompt[n++] = r->sp->no_timestamps;
    return n;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Python's str.strip(): drops surrounding whitespace from text[0..*len). */
static const char *strip(const char *text, size_t *len)
{
    while (*len > 0 && is_space(*text)) {
        text++;
        (*len)--;
    }
    while (*len > 0 && is_space(text[*len - 1]))
        (*len)--;
    return text;
}

/* The reference measures the decoded text with surrounding whitespace
 * stripped. */
static float stripped_ratio(const char *text, size_t len)
{
    text = strip(text, &len);
    return whisper__compression_ratio(text, len);
}

/* Decodes the encoded window, retrying at higher temperatures while the
 * result looks like a loop or is improbable. */
static int decode_with_fallback(run *r, int64_t seek_frames, whisper__search_result *res,
                                float *ratio, char *err, size_t errlen)
{
    const whisper_transcribe_params *p = r->p;
    int sot_index, n_prompt = build_prompt(r, &sot_index);
    int n_temps = p->n_temperatures > 0 ? p->n_temperatures : 1;
    if (n_temps > WHISPER_MAX_TEMPERATURES)
        n_temps = WHISPER_MAX_TEMPERATURES;
    int rc = WHISPER_OK;
    for (int i = 0; i < n_temps; i++) {
        whisper__search_params sp = {
            .temperature = p->n_temperatures > 0 ? p->temperatures[i] : 0.0f,
            .beam_size = p->beam_size,
            .best_of = p->best_of,
            .patience = 1.0f,
            .length_penalty = p->length_penalty,
            .sample_len = r->n_text_ctx / 2,
            .seed = p->seed ^ ((uint64_t)seek_frames * 0x100000001b3ULL + (uint64_t)i),
            .cancel = p->cancel,
            .filters = &r->filters,
        };
        whisper__search_result_free(res);
        rc = whisper__search(&r->dec, &sp, r->prompt, n_prompt, sot_index, res, err, errlen);
        if (rc != WHISPER_OK)
            return rc;
        size_t len = 0;
        rc = whisper__emit_text(&r->emit, r->m, res->tokens, res->n_tokens, &len, err, errlen);
        if (rc != WHISPER_OK)
            return rc;
        *ratio = stripped_ratio(r->emit.text, len);
        if (!whisper__needs_fallback(*ratio, res->avg_logprob, res->no_speech_prob, p))
            break;
    }
    return WHISPER_OK;
}

static int remember(run *r, const whisper__token_info *t, int n, char *err, size_t errlen)
{
    if (r->n_hist + n > HISTORY_KEEP) { /* only the tail can ever be a prompt */
        int drop = r->n_hist + n - HISTORY_KEEP;
        if (drop > r->n_hist)
            drop = r->n_hist;
        memmove(r->hist, r->hist + drop, (size_t)(r->n_hist - drop) * sizeof *r->hist);
        r->n_hist -= drop;
        r->reset = r->reset > drop ? r->reset - drop : 0;
    }
    if (n > HISTORY_KEEP) {
        snprintf(err, errlen, "whisper: segment of %d tokens exceeds the history", n);
        return WHISPER_ERR_DECODE;
    }
    for (int i = 0; i < n; i++)
        r->hist[r->n_hist++] = t[i].id;
    return WHISPER_OK;
}

/* Splits a decoded window into segments, emits them and returns how far
 * the seek moves (frames). */
static int emit_window(run *r, const whisper__search_result *res, float ratio, int64_t seek,
                       int frames, whisper_segment_cb cb, void *ud, int *advance, char *err,
                       size_t errlen)
{
    int n = res->n_tokens, rc = WHISPER_OK;
    int *ids = malloc((size_t)(n + 1) * sizeof *ids);
    whisper__span *spans = malloc((size_t)(n + 1) * sizeof *spans);
    if (!ids || !spans) {
        snprintf(err, errlen, "whisper: out of memory for %d tokens", n);
        rc = WHISPER_ERR_NOMEM;
        goto cleanup;
    }
    for (int i = 0; i < n; i++)
        ids[i] = res->tokens[i].id;
    double offset = (double)seek * WHISPER_HOP / WHISPER_SAMPLE_RATE;
    int n_spans = whisper__split_segments(ids, n, r->sp->timestamp_begin, offset, frames,
                                          r->p->timestamps, spans, n + 1, advance);
    /* timestamps may point into the zero padding of a last, short window;
     * nothing can be said there */
    double limit = offset + frames * (double)WHISPER_HOP / WHISPER_SAMPLE_RATE;
    for (int i = 0; i < n_spans && rc == WHISPER_OK; i++) {
        whisper__span *sp = &spans[i];
        sp->start = sp->start < limit ? sp->start : limit;
        sp->stop = sp->stop < limit ? sp->stop : limit;
        bool emitted = false;
        rc = whisper__emit_segment(&r->emit, r->m, res, ratio, res->tokens + sp->begin,
                                   sp->end - sp->begin, sp->start, sp->stop, offset,
                                   r->p->word_timestamps, cb, ud, &emitted, err, errlen);
        if (rc == WHISPER_OK && emitted)
            rc = remember(r, res->tokens + sp->begin, sp->end - sp->begin, err, errlen);
    }
    if (*advance <= 0) /* a window ending at <|0.00|><|0.00|> must still move on */
        *advance = frames > 0 ? frames : 1;
cleanup:
    free(ids);
    free(spans);
    return rc;
}

static bool cancelled(const whisper_transcribe_params *p)
{
    return p->cancel && atomic_load(p->cancel) != 0;
}

/* One window at seek (frames); *done when the audio is exhausted. */
static int one_window(run *r, int64_t *seek, bool *done, whisper_segment_cb cb, void *ud,
                      const char **detected, char *err, size_t errlen)
{
    int64_t seek_sample = *seek * WHISPER_HOP;
    int rc = fill_audio(r, seek_sample, err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    int frames = WHISPER_CHUNK_FRAMES;
    if (r->eof) {
        int64_t content = (r->start + (int64_t)r->n) / WHISPER_HOP;
        if (*seek >= content) {
            *done = true;
            return WHISPER_OK;
        }
        if (content - *seek < frames)
            frames = (int)(content - *seek);
    }
    whisper__search_result res = {0};
    float ratio = 0;
    int advance = frames;
    rc = window_mel(r, seek_sample, err, errlen);
    if (rc == WHISPER_OK)
        rc = whisper_encode(r->s, r->mel, err, errlen);
    if (rc == WHISPER_OK)
        rc = detect_language(r, detected, err, errlen);
    if (rc == WHISPER_OK)
        rc = decode_with_fallback(r, *seek, &res, &ratio, err, errlen);
    if (rc != WHISPER_OK)
        goto cleanup;
    if (!whisper__should_skip(res.avg_logprob, res.no_speech_prob, r->p)) {
        rc = emit_window(r, &res, ratio, *seek, frames, cb, ud, &advance, err, errlen);
        if (!r->p->condition_on_previous_text || res.temperature > 0.5f)
            r->reset = r->n_hist;
    }
    *seek += advance;
    if (r->p->progress) {
        int64_t done_frames = *seek;
        if (r->eof && done_frames > (r->start + (int64_t)r->n) / WHISPER_HOP)
            done_frames = (r->start + (int64_t)r->n) / WHISPER_HOP;
        r->p->progress((double)done_frames * WHISPER_HOP / WHISPER_SAMPLE_RATE,
                       r->p->progress_user_data);
    }
cleanup:
    whisper__search_result_free(&res);
    return rc;
}

static int initial_prompt(run *r, char *err, size_t errlen)
{
    const char *text = r->p->initial_prompt;
    if (!text)
        return WHISPER_OK;
    size_t len = strlen(text);
    text = strip(text, &len); /* the reference tokenizes " " + prompt.strip() */
    if (len == 0)
        return WHISPER_OK;
    char *spaced = malloc(len + 2);
    int *ids = malloc(HISTORY_KEEP * sizeof *ids);
    int rc = WHISPER_OK;
    if (!spaced || !ids) {
        snprintf(err, errlen, "whisper: out of memory for the initial prompt");
        rc = WHISPER_ERR_NOMEM;
        goto cleanup;
    }
    spaced[0] = ' ';
    memcpy(spaced + 1, text, len);
    spaced[len + 1] = '\0';
    int n = whisper_tokenize(r->m, spaced, ids, HISTORY_KEEP);
    if (n < 0) {
        snprintf(err, errlen, "whisper: cannot tokenize initial_prompt \"%.40s\"", text);
        rc = WHISPER_ERR_INVALID_ARG;
        goto cleanup;
    }
    if (n > HISTORY_KEEP) { /* only its end fits the prompt anyway: keep the tail */
        int *all = realloc(ids, (size_t)n * sizeof *ids);
        if (!all) {
            rc = WHISPER_ERR_NOMEM;
            snprintf(err, errlen, "whisper: out of memory for the initial prompt");
            goto cleanup;
        }
        ids = all;
        whisper_tokenize(r->m, spaced, ids, n);
        memmove(ids, ids + n - HISTORY_KEEP, HISTORY_KEEP * sizeof *ids);
        n = HISTORY_KEEP;
    }
    memcpy(r->hist, ids, (size_t)n * sizeof *ids);
    r->n_hist = n;
cleanup:
    free(spaced);
    free(ids);
    return rc;
}

static int check_params(const whisper_state *s, const whisper_transcribe_params *p, char *err,
                        size_t errlen)
{
    if (p->n_temperatures < 0 || p->n_temperatures > WHISPER_MAX_TEMPERATURES) {
        snprintf(err, errlen, "whisper: n_temperatures %d out of range (0..%d)", p->n_temperatures,
                 WHISPER_MAX_TEMPERATURES);
        return WHISPER_ERR_INVALID_ARG;
    }
    for (int i = 0; i < p->n_temperatures; i++)
        if (!(p->temperatures[i] >= 0) || p->temperatures[i] > 10) {
            snprintf(err, errlen, "whisper: temperatures[%d] = %g, expected 0..10", i,
                     p->temperatures[i]);
            return WHISPER_ERR_INVALID_ARG;
        }
    if (p->beam_size < 0 || p->beam_size > 16 || p->best_of < 0 || p->best_of > 16) {
        snprintf(err, errlen, "whisper: beam_size %d / best_of %d out of range (0..16)",
                 p->beam_size, p->best_of);
        return WHISPER_ERR_INVALID_ARG;
    }
    int need = whisper_transcribe_max_seq(p);
    if (s->max_seq < need) {
        snprintf(err, errlen,
                 "whisper: the state was made for %d sequences; beam_size %d / best_of %d "
                 "need %d (whisper_transcribe_max_seq)",
                 s->max_seq, p->beam_size, p->best_of, need);
        return WHISPER_ERR_INVALID_ARG;
    }
    return WHISPER_OK;
}

static int run_init(run *r, whisper_state *s, const whisper_transcribe_params *p, char *err,
                    size_t errlen)
{
    const whisper_hparams *hp = whisper_model_hparams(s->m);
    r->s = s;
    r->m = s->m;
    r->p = p;
    r->sp = whisper_model_special(s->m);
    r->n_vocab = hp->n_vocab;
    r->n_text_ctx = hp->n_text_ctx;
    r->n_mels = hp->n_mels;
    r->dec = (whisper__decoder){dec_decode, dec_copy, s, hp->n_vocab, hp->n_text_ctx, s->max_seq};
    int rc = whisper__check_language(r->m, p, &r->lang, err, errlen);
    if (rc == WHISPER_OK)
        rc = whisper__filters_init(&r->filters, r->m, p, err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    r->base = malloc((size_t)(WINDOW_SAMPLES + 3 * MEL_CONTEXT) * sizeof *r->base);
    r->mel = malloc((size_t)r->n_mels * WHISPER_CHUNK_FRAMES * sizeof *r->mel);
    r->hist = malloc(HISTORY_KEEP * sizeof *r->hist);
    r->prompt = malloc((size_t)(r->n_text_ctx + 8) * sizeof *r->prompt);
    if (!r->base || !r->mel || !r->hist || !r->prompt) {
        snprintf(err, errlen, "whisper: out of memory for the transcription buffers");
        return WHISPER_ERR_NOMEM;
    }
    r->audio = r->base + MEL_CONTEXT;
    return initial_prompt(r, err, errlen);
}

static void run_free(run *r)
{
    whisper__filters_free(&r->filters);
    whisper__emit_free(&r->emit);
    free(r->base);
    free(r->mel);
    free(r->hist);
    free(r->prompt);
}

int whisper_transcribe(whisper_state *s, const whisper_transcribe_params *p, whisper_read_fn read,
                       void *read_user_data, whisper_segment_cb on_segment, void *seg_user_data,
                       const char **detected_language, char *err, size_t errlen)
{
    if (detected_language)
        *detected_language = NULL;
    if (!s || !p || !read) {
        snprintf(err, errlen, "whisper_transcribe: state, params and read callback are required");
        return WHISPER_ERR_INVALID_ARG;
    }
    run r = {0};
    r.read = read;
    r.read_ud = read_user_data;
    int rc = check_params(s, p, err, errlen);
    if (rc == WHISPER_OK)
        rc = run_init(&r, s, p, err, errlen);
    if (rc == WHISPER_OK && detected_language && r.lang >= 0)
        *detected_language = whisper_language_code(r.lang);
    int64_t seek = 0;
    bool done = false;
    while (rc == WHISPER_OK && !done) {
        if (cancelled(p)) {
            snprintf(err, errlen, "whisper: transcription cancelled");
            rc = WHISPER_ERR_CANCELLED;
            break;
        }
        rc =
            one_window(&r, &seek, &done, on_segment, seg_user_data, detected_language, err, errlen);
    }
    run_free(&r);
    return rc;
}
