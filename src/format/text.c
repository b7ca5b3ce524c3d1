/* text: the plain-text rendering — one line per segment, just the words, so
 * the file can be read, grepped or pasted as it is. Segments with no text are
 * left out rather than shown as empty lines. Once diarization sets speakers,
 * each line says who is talking ("Speaker 2: ...").
 */
#include "format/render.h"

int format__render_txt(const transcript *t, const format_meta *meta, util_buf *out)
{
    (void)meta; /* plain text carries no run facts */
    int rc = UTIL_OK;
    for (size_t i = 0; rc == UTIL_OK && i < t->n_segments; i++) {
        const transcript_segment *seg = &t->segments[i];
        if (format__text_blank(seg->text))
            continue;
        if (seg->speaker >= 0)
            rc = util_buf_printf(out, "Speaker %lld: ", format__speaker_number(seg->speaker));
        if (rc == UTIL_OK)
            rc = format__put_text(out, seg->text, FORMAT__ESC_NONE);
        if (rc == UTIL_OK)
            rc = util_buf_putc(out, '\n');
    }
    return rc;
}
