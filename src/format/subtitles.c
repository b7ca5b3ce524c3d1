/* subtitles: SRT and WebVTT. Both are a list of cues — a time range and a
 * line of text — and differ only in the header, the cue number, the
 * millisecond separator and how a speaker and special characters are
 * written, so one cue loop serves both and a small style struct says how.
 *
 * Invariants: a cue always lasts at least 1 ms (players drop or misplace
 * zero-length cues), which is decided on whole milliseconds so rounding
 * cannot bring start and end back together; segments with no text make no
 * cue, and SRT numbering stays consecutive over the cues actually written.
 */
#include "format/render.h"

typedef struct {
    const char *header; /* written once before the first cue */
    bool numbered;      /* SRT cues carry a 1-based counter line */
    char millis_sep;    /* ',' for SRT, '.' for VTT */
    format__escape esc;
    const char *speaker_before; /* around the speaker number, before the text */
    const char *speaker_after;
} subtitle_style;

static const subtitle_style srt_style = {
    .header = "",
    .numbered = true,
    .millis_sep = ',',
    .esc = FORMAT__ESC_NONE,
    .speaker_before = "[Speaker ",
    .speaker_after = "] ",
};

static const subtitle_style vtt_style = {
    .header = "WEBVTT\n\n",
    .numbered = false,
    .millis_sep = '.',
    .esc = FORMAT__ESC_VTT,
    /* A WebVTT voice span; its closing </v> may be left out at the end of
     * the cue. */
    .speaker_before = "<v Speaker ",
    .speaker_after = ">",
};

static int put_cue(util_buf *out, const subtitle_style *st, size_t number,
                   const transcript_segment *seg)
{
    long long start = format__to_millis(seg->start);
    long long end = format__to_millis(seg->end);
    if (end <= start)
        end = start + 1;
    char a[48], b[48];
    format__millis_text(start, st->millis_sep, a, sizeof a);
    format__millis_text(end, st->millis_sep, b, sizeof b);

    int rc = UTIL_OK;
    if (st->numbered)
        rc = util_buf_printf(out, "%zu\n", number);
    if (rc == UTIL_OK)
        rc = util_buf_printf(out, "%s --> %s\n", a, b);
    if (rc == UTIL_OK && seg->speaker >= 0)
        rc = util_buf_printf(out, "%s%lld%s", st->speaker_before,
                             format__speaker_number(seg->speaker), st->speaker_after);
    if (rc == UTIL_OK)
        rc = format__put_text(out, seg->text, st->esc);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, "\n\n");
    return rc;
}

static int render_cues(const transcript *t, const subtitle_style *st, util_buf *out)
{
    int rc = util_buf_puts(out, st->header);
    size_t number = 0;
    for (size_t i = 0; rc == UTIL_OK && i < t->n_segments; i++) {
        const transcript_segment *seg = &t->segments[i];
        if (format__text_blank(seg->text))
            continue;
        rc = put_cue(out, st, ++number, seg);
    }
    return rc;
}

int format__render_srt(const transcript *t, const format_meta *meta, util_buf *out)
{
    (void)meta;
    return render_cues(t, &srt_style, out);
}

int format__render_vtt(const transcript *t, const format_meta *meta, util_buf *out)
{
    (void)meta;
    return render_cues(t, &vtt_style, out);
}
