/* words.c: from a window's tokens to timed segments and words.
 *
 * Segments follow the reference: the tokens split after every pair of
 * consecutive timestamp tokens; a window ending in a single timestamp was
 * consumed whole, otherwise the next window starts at the last timestamp.
 *
 * Token and word times (whisper.cpp-like token timestamps, not the
 * reference's cross-attention DTW, which needs per-model alignment-head
 * tables we do not have for arbitrary files): at the step each text token
 * was sampled, the raw logits restricted to the timestamp tokens say where
 * the model thinks "now" is. Where that distribution is peaked (probability
 * >= WHISPER__TS_CONFIDENT) and the time moves forward inside the segment,
 * it anchors the token's start; between anchors (and the segment's own start
 * and end) boundaries are spread in proportion to the tokens' byte lengths.
 * A word is a token starting with a space (or the segment's first token)
 * and the tokens up to the next such one; its start is its first token's
 * start, its end its last token's end.
 */
#include <stdbool.h>

#include "whisper/decoding.h"

#define WHISPER__TS_CONFIDENT 0.5f

int whisper__split_segments(const int *tokens, int n_tokens, int timestamp_begin,
                            double time_offset, int segment_frames, bool timestamps,
                            whisper__span *out, int cap, int *advance)
{
    const double prec = WHISPER__TIME_PRECISION;
    int n = 0, tb = timestamp_begin;
    *advance = segment_frames;
    bool single_end = n_tokens >= 2 && tokens[n_tokens - 2] < tb && tokens[n_tokens - 1] >= tb;
    if (n_tokens == 1 && tokens[0] >= tb)
        single_end = false; /* [False, True] needs two tokens */
    int last_slice = 0;
    bool any_pair = false;
    for (int i = 1; timestamps && i < n_tokens; i++) {
        if (!(tokens[i - 1] >= tb && tokens[i] >= tb))
            continue;
        any_pair = true;
        if (n < cap)
            out[n] = (whisper__span){last_slice, i, time_offset + (tokens[last_slice] - tb) * prec,
                                     time_offset + (tokens[i - 1] - tb) * prec};
        n++;
        last_slice = i;
    }
    if (any_pair) {
        if (single_end) {
            if (n < cap)
                out[n] = (whisper__span){last_slice, n_tokens,
                                         time_offset + (tokens[last_slice] - tb) * prec,
                                         time_offset + (tokens[n_tokens - 1] - tb) * prec};
            n++;
        } else {
            *advance = (tokens[last_slice - 1] - tb) * WHISPER__INPUT_STRIDE;
        }
        return n;
    }
    double duration = segment_frames * (double)WHISPER_HOP / WHISPER_SAMPLE_RATE;
    for (int i = n_tokens - 1; timestamps && i >= 0; i--)
        if (tokens[i] >= tb) {
            if (tokens[i] != tb)
                duration = (tokens[i] - tb) * prec;
            break;
        }
    if (n < cap)
        out[n] = (whisper__span){0, n_tokens, time_offset, time_offset + duration};
    return n + 1;
}

void whisper__token_times(const size_t *bytes, const double *ts_time, const float *ts_prob, int n,
                          double seg_start, double seg_end, double *start, double *end)
{
    if (n <= 0)
        return;
    if (seg_end < seg_start)
        seg_end = seg_start;
    /* boundary i is token i's start; boundary n is the segment's end */
    double prev = seg_start;
    int anchor = 0; /* last boundary whose time is known */
    start[0] = seg_start;
    for (int i = 1; i <= n; i++) {
        bool known = i == n;
        double t = seg_end;
        if (!known && ts_prob[i] >= WHISPER__TS_CONFIDENT && ts_time[i] >= prev &&
            ts_time[i] <= seg_end) {
            known = true;
            t = ts_time[i];
        }
        if (!known)
            continue;
        /* spread boundaries anchor+1 .. i-1 by byte length */
        size_t total = 0, acc = 0;
        for (int j = anchor; j < i; j++)
            total += bytes[j] > 0 ? bytes[j] : 1;
        for (int j = anchor + 1; j < i; j++) {
            acc += bytes[j - 1] > 0 ? bytes[j - 1] : 1;
            start[j] = prev + (t - prev) * (double)acc / (double)total;
        }
        if (i < n)
            start[i] = t;
        prev = t;
        anchor = i;
    }
    for (int i = 0; i < n; i++)
        end[i] = i + 1 < n ? start[i + 1] : seg_end;
}

int whisper__word_end(const char *const *bytes, const size_t *lens, int n, int i)
{
    int j = i + 1;
    while (j < n && !(lens[j] > 0 && bytes[j][0] == ' '))
        j++;
    return j;
}

/* Bytes a UTF-8 sequence starting with lead b has; 0 when b cannot lead. */
static int utf8_seq_len(unsigned char b)
{
    if (b < 0x80)
        return 1;
    if ((b & 0xe0) == 0xc0)
        return 2;
    if ((b & 0xf0) == 0xe0)
        return 3;
    if ((b & 0xf8) == 0xf0)
        return 4;
    return 0;
}

size_t whisper__utf8_complete(const char *s, size_t len)
{
    /* find the last lead byte within the last four bytes */
    size_t i = len, stop = len > 4 ? len - 4 : 0;
    while (i > stop) {
        unsigned char b = (unsigned char)s[i - 1];
        if ((b & 0xc0) != 0x80) {
            int need = utf8_seq_len(b);
            if (need == 0)
                return i - 1;
            return (len - (i - 1) >= (size_t)need) ? len : i - 1;
        }
        i--;
    }
    return len; /* only continuation bytes: not ours to judge */
}
