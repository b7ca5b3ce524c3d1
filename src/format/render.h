/* render: what the format module's files share among themselves and nobody
 * else uses — one renderer per output kind, the display-text cleaner, and the
 * integer-millisecond clock the subtitle renderers need.
 *
 * Renderers return util_err codes (UTIL_OK, UTIL_ERR_NOMEM,
 * UTIL_ERR_TOO_LARGE); format_render turns them into format_err and a
 * message. They only append to the buffer and never see a NULL argument.
 */
#ifndef CESAR_FORMAT_RENDER_H
#define CESAR_FORMAT_RENDER_H

#include "format/format.h"

#include <stdbool.h>

int format__render_txt(const transcript *t, const format_meta *meta, util_buf *out);
int format__render_md(const transcript *t, const format_meta *meta, util_buf *out);
int format__render_srt(const transcript *t, const format_meta *meta, util_buf *out);
int format__render_vtt(const transcript *t, const format_meta *meta, util_buf *out);
int format__render_json(const transcript *t, const format_meta *meta, util_buf *out);

/* ---- display text (cleantext.c) -------------------------------------- */

/* How format__put_text escapes what it writes. */
typedef enum {
    FORMAT__ESC_NONE = 0,
    FORMAT__ESC_VTT, /* & < > as character references, as WebVTT requires */
} format__escape;

/* True when s has nothing but whitespace: such segments are not shown. */
bool format__text_blank(const char *s);

/* Appends s trimmed, with every run of whitespace (line breaks included)
 * turned into one space, so one segment stays on one line. */
int format__put_text(util_buf *b, const char *s, format__escape esc);

/* The number users see for a speaker index: "Speaker 1" is index 0. */
long long format__speaker_number(int speaker);

/* ---- clocks (clock.c) ------------------------------------------------ */

/* seconds rounded to whole milliseconds; negative and NaN give 0. */
long long format__to_millis(double seconds);

/* ms as "HH:MM:SS<sep>mmm"; ms < 0 prints as 0. */
void format__millis_text(long long ms, char sep, char *buf, size_t n);

/* t as "%Y-%m-%d %H:%M:%S UTC" (iso false) or "%Y-%m-%dT%H:%M:%SZ" (iso
 * true). Returns false (and writes "") when t is out of gmtime's range. */
bool format__utc_text(time_t t, bool iso, char *buf, size_t n);

#endif
