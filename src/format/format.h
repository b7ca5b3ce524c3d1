/* format: renders a transcript as txt, md, srt, vtt or json, and writes it
 * to disk atomically (temporary file in the same directory, then rename), so
 * an interrupted run never leaves a truncated transcript behind.
 *
 * Rendering is pure: a transcript and metadata in, bytes out. The same code
 * serves the CLI and (later) the HTTP API's result route.
 */
#ifndef CESAR_FORMAT_H
#define CESAR_FORMAT_H

#include <stddef.h>
#include <time.h>

#include "transcript/transcript.h"
#include "util/util.h"

typedef enum {
    FORMAT_TXT = 0,
    FORMAT_MD,
    FORMAT_SRT,
    FORMAT_VTT,
    FORMAT_JSON,
    FORMAT_COUNT
} format_kind;

typedef enum {
    FORMAT_OK = 0,
    FORMAT_ERR_UNKNOWN,  /* unknown format name or extension */
    FORMAT_ERR_NOMEM,
    FORMAT_ERR_IO,       /* writing the output failed; message names the path */
    FORMAT_ERR_INVALID,  /* NULL transcript, buffer or path */
    FORMAT_ERR_TOO_LARGE,/* the rendering outgrew the output buffer's cap */
    FORMAT_ERR_PARSE,    /* JSON to read back is malformed; message names where */
} format_err;

const char *format_strerror(int code);

/* "txt", "md", "srt", "vtt", "json" (case-insensitive). On failure
 * returns FORMAT_ERR_UNKNOWN and sets *out to FORMAT_COUNT. */
int format_from_name(const char *name, format_kind *out);
/* By the extension of path (.txt .md .markdown .srt .vtt .json),
 * case-insensitive. On failure as format_from_name. */
int format_from_path(const char *path, format_kind *out);
/* The same, with a message for the user in err: it names the rejected value
 * and lists the accepted ones. */
int format_from_name_err(const char *name, format_kind *out, char *err, size_t errlen);
int format_from_path_err(const char *path, format_kind *out, char *err, size_t errlen);
const char *format_name(format_kind kind);           /* "txt" ... */
const char *format_content_type(format_kind kind);   /* for HTTP */
/* Comma-separated list of the names, for messages: "txt, md, srt, vtt, json". */
const char *format_names_list(void);

/* Facts about the run, shown by md and json. Strings are borrowed. */
typedef struct {
    const char *engine;      /* "pocketsphinx" */
    const char *model;       /* "en-us" */
    const char *source;      /* input name as the user gave it; may be NULL */
    double processing_seconds;
    time_t created;          /* when the transcript was made (UTC shown) */
} format_meta;

/* engine "pocketsphinx", model "en-us", no source, 0 s processing, and
 * created = now, so a caller that forgets it still shows a real date. */
format_meta format_default_meta(void);

/* Appends the rendering of t to out. meta may be NULL (defaults). On failure
 * out is cut back to its length on entry, so no partial rendering remains. */
int format_render(format_kind kind, const transcript *t, const format_meta *meta,
                  util_buf *out, char *err, size_t errlen);

/* Renders and writes atomically to path. On failure path is untouched and
 * no temporary file remains. */
int format_write_file(format_kind kind, const transcript *t, const format_meta *meta,
                      const char *path, char *err, size_t errlen);

/* ---- reading a JSON rendering back (parse_json.c) --------------------- */

/* What the JSON rendering records about the run besides the transcript.
 * Strings are owned by the struct (NULL where the JSON has null); free them
 * with format_json_meta_clear. A null "created" (a date gmtime cannot show)
 * reads as the largest time_t, which with a 64-bit time_t renders as null
 * again. */
typedef struct {
    char *engine;
    char *model;
    char *source;
    double processing_seconds; /* NaN where the JSON has null */
    time_t created;
} format_json_meta;

/* Frees the strings and zeroes *m. NULL-safe. */
void format_json_meta_clear(format_json_meta *m);

/* m as a format_meta for format_render; the strings are borrowed, valid
 * until m is cleared. NULL gives all NULL and zero. */
format_meta format_json_meta_view(const format_json_meta *m);

/* Reads text (len bytes; no terminator needed) written by
 * format_render(FORMAT_JSON) back into a transcript. On success the caller
 * owns *out (free with transcript_free) and, when meta is not NULL, the
 * strings in *meta (free with format_json_meta_clear); *meta is overwritten,
 * not cleared first. Numbers that are null read as NaN, a null confidence
 * as -1 and a null speaker as TRANSCRIPT_NO_SPEAKER; "Speaker N" is index
 * N - 1. Unknown keys are ignored; the top-level "text" and segment "id"
 * are derived and not read.
 *
 * On failure *out is NULL, *meta zeroed, and err says what is wrong where:
 * FORMAT_ERR_PARSE with the JSON path ("segments[3].words[1].start: expected
 * a number or null, found a string"), or the line and column for text that
 * is not JSON; FORMAT_ERR_NOMEM; FORMAT_ERR_INVALID for NULL text or out.
 *
 * Round trip: rendering the result as json with format_json_meta_view(meta)
 * gives back the text json.c wrote, byte for byte. The other formats match
 * the original transcript's renderings when its times were whole
 * milliseconds (json keeps three decimals). */
int format_parse_json(const char *text, size_t len, transcript **out, format_json_meta *meta,
                      char *err, size_t errlen);

/* ---- timestamps (public for tests and other renderers) --------------- */

/* "MM:SS.d" below one hour, "H:MM:SS.d" from one hour on. Rounds to the
 * tenth first, so 59.96 s prints "01:00.0", never "00:60.0". Negative
 * and NaN input are treated as 0. buf needs at least 24 bytes. */
void format_clock_tenths(double seconds, char *buf, size_t n);

/* "MM:SS" below one hour, "H:MM:SS" from one hour on (rounded to the second
 * first, so 59.5 s prints "01:00"). Negative and NaN input print as 0. */
void format_duration(double seconds, char *buf, size_t n);

/* "HH:MM:SS,mmm" (sep ',') for SRT or "HH:MM:SS.mmm" (sep '.') for VTT;
 * rounds to the millisecond first; hours grow past 99 if needed. Negative
 * and NaN input print as 0. */
void format_clock_millis(double seconds, char sep, char *buf, size_t n);

#endif
