/* json: the machine-readable rendering — one object with the run's facts and
 * every segment with its words, for scripts and (later) the HTTP API.
 *
 * Output is deterministic: fixed key order, two-space indentation, times with
 * three decimals, confidences with four, and one word per line so a diff of
 * two runs stays readable. Segment and word text is kept exactly as the
 * engine produced it (escaped, not cleaned), because this is the lossless
 * form; only the top-level "text" is the cleaned, space-joined reading.
 * Anything that is not a finite number is written as null, since JSON has no
 * NaN or infinity.
 */
#include "format/render.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Times are written as whole milliseconds rounded by format__to_millis, the
 * subtitle clocks' own rounding, not by printf's rounding of the binary
 * value: the server re-renders SRT and VTT from this JSON, and both must
 * land on the same millisecond (0.0045 is 5 ms in both). */
static bool put_millis(char *text, size_t n, double v)
{
    if (fabs(v) >= 1e12)
        return false;
    long long ms = v < 0 ? -format__to_millis(-v) : format__to_millis(v);
    long long whole = ms < 0 ? -ms : ms;
    snprintf(text, n, "%s%lld.%03lld", ms < 0 ? "-" : "", whole / 1000, whole % 1000);
    return true;
}

static int put_number(util_buf *out, double v, int decimals)
{
    if (!isfinite(v))
        return util_buf_puts(out, "null");
    char text[400]; /* %.Nf of DBL_MAX is about 310 digits */
    if (decimals != 3 || !put_millis(text, sizeof text, v))
        snprintf(text, sizeof text, "%.*f", decimals, v);
    /* A tiny negative value rounds to "-0.000"; print it as plain zero. */
    const char *p = text;
    if (p[0] == '-' && p[1 + strspn(p + 1, "0.")] == '\0')
        p++;
    return util_buf_puts(out, p);
}

static int put_string_or_null(util_buf *out, const char *s)
{
    return s ? util_buf_json_string(out, s) : util_buf_puts(out, "null");
}

static int put_speaker(util_buf *out, int speaker)
{
    if (speaker < 0)
        return util_buf_puts(out, "null");
    return util_buf_printf(out, "\"Speaker %lld\"", format__speaker_number(speaker));
}

/* The whole transcript as one line of text: shown segments, cleaned, joined
 * by single spaces. Built aside because util_buf_json_string escapes a
 * finished string. */
static int put_joined_text(const transcript *t, util_buf *out)
{
    util_buf joined = UTIL_BUF_INIT(out->cap);
    int rc = util_buf_puts(&joined, "");
    for (size_t i = 0; rc == UTIL_OK && i < t->n_segments; i++) {
        const char *text = t->segments[i].text;
        if (format__text_blank(text))
            continue;
        if (joined.len > 0)
            rc = util_buf_putc(&joined, ' ');
        if (rc == UTIL_OK)
            rc = format__put_text(&joined, text, FORMAT__ESC_NONE);
    }
    if (rc == UTIL_OK)
        rc = util_buf_json_string(out, joined.data);
    util_buf_free(&joined);
    return rc;
}

static int put_word(util_buf *out, const transcript_word *w, bool last)
{
    int rc = util_buf_puts(out, "        {\"start\": ");
    if (rc == UTIL_OK)
        rc = put_number(out, w->start, 3);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ", \"end\": ");
    if (rc == UTIL_OK)
        rc = put_number(out, w->end, 3);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ", \"text\": ");
    if (rc == UTIL_OK)
        rc = util_buf_json_string(out, w->text);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ", \"confidence\": ");
    /* Negative means the engine gave none; the test is written so NaN
     * also ends up null. */
    if (rc == UTIL_OK)
        rc = w->confidence >= 0 ? put_number(out, w->confidence, 4) : util_buf_puts(out, "null");
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ", \"speaker\": ");
    if (rc == UTIL_OK)
        rc = put_speaker(out, w->speaker);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, last ? "}\n" : "},\n");
    return rc;
}

static int put_segment(util_buf *out, size_t id, const transcript_segment *seg, bool last)
{
    int rc = util_buf_printf(out, "    {\n      \"id\": %zu,\n      \"start\": ", id);
    if (rc == UTIL_OK)
        rc = put_number(out, seg->start, 3);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n      \"end\": ");
    if (rc == UTIL_OK)
        rc = put_number(out, seg->end, 3);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n      \"text\": ");
    if (rc == UTIL_OK)
        rc = util_buf_json_string(out, seg->text);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n      \"speaker\": ");
    if (rc == UTIL_OK)
        rc = put_speaker(out, seg->speaker);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out,
                           seg->n_words ? ",\n      \"words\": [\n" : ",\n      \"words\": []\n");
    for (size_t w = 0; rc == UTIL_OK && w < seg->n_words; w++)
        rc = put_word(out, &seg->words[w], w + 1 == seg->n_words);
    if (rc == UTIL_OK && seg->n_words)
        rc = util_buf_puts(out, "      ]\n");
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, last ? "    }\n" : "    },\n");
    return rc;
}

/* The facts before "segments", one "key": value line each. */
static int put_facts(const transcript *t, const format_meta *meta, util_buf *out)
{
    /* language is a fixed array; never trust it to be terminated. */
    char language[sizeof t->language + 1];
    size_t n = strnlen(t->language, sizeof t->language);
    memcpy(language, t->language, n);
    language[n] = '\0';
    char created[64];
    bool have_created = format__utc_text(meta->created, true, created, sizeof created);

    int rc = util_buf_puts(out, "{\n  \"text\": ");
    if (rc == UTIL_OK)
        rc = put_joined_text(t, out);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"language\": ");
    if (rc == UTIL_OK)
        rc = put_string_or_null(out, n ? language : NULL);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"duration\": ");
    if (rc == UTIL_OK)
        rc = put_number(out, t->duration, 3);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"start_time\": ");
    if (rc == UTIL_OK)
        rc = put_number(out, t->start_time, 3);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"engine\": ");
    if (rc == UTIL_OK)
        rc = put_string_or_null(out, meta->engine);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"model\": ");
    if (rc == UTIL_OK)
        rc = put_string_or_null(out, meta->model);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"source\": ");
    if (rc == UTIL_OK)
        rc = put_string_or_null(out, meta->source);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"processing_time\": ");
    if (rc == UTIL_OK)
        rc = put_number(out, meta->processing_seconds, 3);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, ",\n  \"created\": ");
    if (rc == UTIL_OK)
        rc = put_string_or_null(out, have_created ? created : NULL);
    return rc;
}

int format__render_json(const transcript *t, const format_meta *meta, util_buf *out)
{
    int rc = put_facts(t, meta, out);
    if (rc == UTIL_OK)
        rc = util_buf_puts(out,
                           t->n_segments ? ",\n  \"segments\": [\n" : ",\n  \"segments\": []\n");
    for (size_t i = 0; rc == UTIL_OK && i < t->n_segments; i++)
        rc = put_segment(out, i, &t->segments[i], i + 1 == t->n_segments);
    if (rc == UTIL_OK && t->n_segments)
        rc = util_buf_puts(out, "  ]\n");
    if (rc == UTIL_OK)
        rc = util_buf_puts(out, "}\n");
    return rc;
}
