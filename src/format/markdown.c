/* markdown: the layout of the Python tool Cesar replaces, kept line for line
 * so existing readers and scripts see no difference — a title, a block of
 * facts (source, speakers, duration, date, engine), a rule, then one block per
 * segment:
 *
 *     [00:00.0 - 00:05.2]
 *     text of the segment
 *
 * Every block starts with a blank line, so the file ends in exactly one
 * newline. Once diarization sets speakers, the facts say how many were found
 * and consecutive segments of one speaker sit under a "### Speaker N" heading.
 */
#include "format/render.h"

#include <stdlib.h>

/* Distinct speakers among the segments that are shown. Speaker indices come
 * from a diarizer and are small, but nothing promises they are dense, so a
 * list of the ones seen is kept instead of a table indexed by them. */
static int count_speakers(const transcript *t, size_t *count)
{
    int *seen = NULL;
    size_t n = 0, alloc = 0;
    int rc = UTIL_OK;
    for (size_t i = 0; i < t->n_segments; i++) {
        const transcript_segment *seg = &t->segments[i];
        if (seg->speaker < 0 || format__text_blank(seg->text))
            continue;
        size_t k = 0;
        while (k < n && seen[k] != seg->speaker)
            k++;
        if (k < n)
            continue;
        int *grown = util_array_reserve(seen, &alloc, n, sizeof *grown);
        if (!grown) {
            rc = UTIL_ERR_NOMEM;
            goto cleanup;
        }
        seen = grown;
        seen[n++] = seg->speaker;
    }
cleanup:
    free(seen);
    *count = n;
    return rc;
}

static int put_fact(util_buf *out, const char *label, const char *value)
{
    int rc = util_buf_printf(out, "**%s:** ", label);
    if (rc == UTIL_OK)
        rc = format__put_text(out, value, FORMAT__ESC_NONE);
    if (rc == UTIL_OK)
        rc = util_buf_putc(out, '\n');
    return rc;
}

/* The header of the tool Cesar replaces, exactly: its three facts in its
 * order, so readers and scripts that look for them still find them. The
 * source file and engine are in the JSON output. */
static int put_header(const transcript *t, const format_meta *meta, size_t speakers, util_buf *out)
{
    char text[64];
    int rc = util_buf_puts(out, "# Transcript\n\n");
    if (rc == UTIL_OK && speakers > 0)
        rc = util_buf_printf(out, "**Speakers:** %zu detected\n", speakers);
    format_duration(t->duration, text, sizeof text);
    if (rc == UTIL_OK)
        rc = put_fact(out, "Duration", text);
    /* A date gmtime cannot represent is left out rather than made up. */
    if (rc == UTIL_OK && format__utc_text(meta->created, false, text, sizeof text))
        rc = put_fact(out, "Created", text);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, "\n---\n");
    return rc;
}

static int put_speaker_heading(util_buf *out, int speaker)
{
    if (speaker < 0)
        return util_buf_puts(out, "\n### Unknown speaker\n");
    return util_buf_printf(out, "\n### Speaker %lld\n", format__speaker_number(speaker));
}

static int put_segment(util_buf *out, const transcript_segment *seg)
{
    char a[32], b[32];
    format_clock_tenths(seg->start, a, sizeof a);
    format_clock_tenths(seg->end, b, sizeof b);
    int rc = util_buf_printf(out, "\n[%s - %s]\n", a, b);
    if (rc == UTIL_OK)
        rc = format__put_text(out, seg->text, FORMAT__ESC_NONE);
    if (rc == UTIL_OK)
        rc = util_buf_putc(out, '\n');
    return rc;
}

int format__render_md(const transcript *t, const format_meta *meta, util_buf *out)
{
    size_t speakers = 0;
    int rc = count_speakers(t, &speakers);
    if (rc == UTIL_OK)
        rc = put_header(t, meta, speakers, out);
    bool first = true;
    int current = TRANSCRIPT_NO_SPEAKER;
    for (size_t i = 0; rc == UTIL_OK && i < t->n_segments; i++) {
        const transcript_segment *seg = &t->segments[i];
        if (format__text_blank(seg->text))
            continue;
        /* Every negative index means "not known"; they form one group. */
        int who = seg->speaker < 0 ? TRANSCRIPT_NO_SPEAKER : seg->speaker;
        if (speakers > 0 && (first || who != current))
            rc = put_speaker_heading(out, who);
        first = false;
        current = who;
        if (rc == UTIL_OK)
            rc = put_segment(out, seg);
    }
    return rc;
}
