/* cleantext: how segment text looks in the line-oriented formats (txt, md,
 * srt, vtt). An engine may hand us text with stray line breaks or padding; in
 * those formats a line break would split a cue or a paragraph, and a blank
 * line would end an SRT/VTT cue early. So text is trimmed and every run of
 * whitespace becomes a single space. JSON keeps the text as the engine gave
 * it, because it is the lossless form.
 */
#include "format/render.h"

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool format__text_blank(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!is_space(*p))
            return false;
    return true;
}

static int put_char(util_buf *b, char c, format__escape esc)
{
    if (esc == FORMAT__ESC_VTT) {
        /* WebVTT cue text is parsed for tags and entities; an unescaped '<'
         * starts a tag and "-->" would read as a timing line. */
        switch (c) {
        case '&':
            return util_buf_puts(b, "&amp;");
        case '<':
            return util_buf_puts(b, "&lt;");
        case '>':
            return util_buf_puts(b, "&gt;");
        default:
            break;
        }
    }
    return util_buf_putc(b, c);
}

int format__put_text(util_buf *b, const char *s, format__escape esc)
{
    const unsigned char *p = (const unsigned char *)s;
    bool pending_space = false; /* whitespace seen since the last word */
    bool any = false;           /* something written yet: no leading space */
    int rc = UTIL_OK;
    for (; rc == UTIL_OK && *p; p++) {
        if (is_space(*p)) {
            pending_space = any;
            continue;
        }
        if (pending_space)
            rc = util_buf_putc(b, ' ');
        pending_space = false;
        any = true;
        if (rc == UTIL_OK)
            rc = put_char(b, (char)*p, esc);
    }
    return rc;
}

long long format__speaker_number(int speaker)
{
    /* Widened first: INT_MAX + 1 must not overflow. */
    return (long long)speaker + 1;
}
