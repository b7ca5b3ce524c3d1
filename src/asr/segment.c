/* segment: groups a stream of timed words into transcript segments, for
 * engines that produce words rather than sentences.
 *
 * Input is taken as sorted by start time and is never reordered: a word that
 * starts before the previous one ended just counts as "no pause". A segment
 * runs from its first word's start to the latest end among its words (the
 * last word's end for sorted input), which keeps start <= end even for odd
 * input. Every word is validated before anything is appended, so bad input
 * leaves t untouched.
 */
#include <math.h>

#include "asr/asr.h"
#include "util/util.h"

/* Frame-based times such as 1.23 - 0.73 land a hair below 0.5; without this
 * slack a pause of exactly split_pause_seconds would sometimes not split. */
#define TIME_EPSILON 1e-9

static int check_words(const asr_word *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const asr_word *w = &words[i];
        if (!w->text || !isfinite(w->start) || !isfinite(w->end) || w->end < w->start)
            return ASR_ERR_INVALID_ARG;
    }
    return ASR_OK;
}

/* Index one past the last word of the segment that starts at word first,
 * and that segment's end time in *end. */
static size_t segment_extent(const asr_word *words, size_t n, size_t first, double split_pause,
                             double max_len, double *end)
{
    double seg_start = words[first].start;
    double seg_end = words[first].end;
    size_t j = first + 1;
    for (; j < n; j++) {
        const asr_word *w = &words[j];
        if (split_pause > 0 && w->start - seg_end + TIME_EPSILON >= split_pause)
            break;
        double new_end = w->end > seg_end ? w->end : seg_end;
        if (max_len > 0 && new_end - seg_start > max_len + TIME_EPSILON)
            break;
        seg_end = new_end;
    }
    *end = seg_end;
    return j;
}

static int to_asr_err(int transcript_rc)
{
    return transcript_rc == TRANSCRIPT_ERR_NOMEM ? ASR_ERR_NOMEM : ASR_ERR_INVALID_ARG;
}

/* Appends one segment holding words[first, last). */
static int emit_segment(transcript *t, const asr_word *words, size_t first, size_t last, double end,
                        util_buf *text)
{
    util_buf_reset(text);
    for (size_t i = first; i < last; i++) {
        if (!words[i].text[0])
            continue; /* an empty word would leave a double space */
        if (text->len > 0 && util_buf_putc(text, ' ') != UTIL_OK)
            return ASR_ERR_NOMEM;
        if (util_buf_puts(text, words[i].text) != UTIL_OK)
            return ASR_ERR_NOMEM;
    }
    size_t seg;
    int rc = transcript_add_segment(t, words[first].start, end, text->data ? text->data : "", &seg);
    if (rc != TRANSCRIPT_OK)
        return to_asr_err(rc);
    for (size_t i = first; i < last; i++) {
        const asr_word *w = &words[i];
        rc = transcript_add_word(t, seg, w->start, w->end, w->text, w->confidence);
        if (rc != TRANSCRIPT_OK)
            return to_asr_err(rc);
    }
    return ASR_OK;
}

int asr_segment_words(transcript *t, const asr_word *words, size_t n_words,
                      double split_pause_seconds, double max_segment_seconds)
{
    if (!t || (n_words > 0 && !words) || isnan(split_pause_seconds) || isnan(max_segment_seconds))
        return ASR_ERR_INVALID_ARG;
    int rc = check_words(words, n_words);
    if (rc != ASR_OK)
        return rc;

    util_buf text = UTIL_BUF_INIT(0);
    size_t first = 0;
    while (first < n_words) {
        double end;
        size_t last =
            segment_extent(words, n_words, first, split_pause_seconds, max_segment_seconds, &end);
        rc = emit_segment(t, words, first, last, end, &text);
        if (rc != ASR_OK)
            goto cleanup;
        first = last;
    }
cleanup:
    util_buf_free(&text);
    return rc;
}
