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
} format_err;

const char *format_strerror(int code);

/* "txt", "md", "srt", "vtt", "json" (case-insensitive). */
int format_from_name(const char *name, format_kind *out);
/* By the extension of path (.txt .md .markdown .srt .vtt .json). */
int format_from_path(const char *path, format_kind *out);
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

format_meta format_default_meta(void);

/* Appends the rendering of t to out. */
int format_render(format_kind kind, const transcript *t, const format_meta *meta,
                  util_buf *out, char *err, size_t errlen);

/* Renders and writes atomically to path. */
int format_write_file(format_kind kind, const transcript *t, const format_meta *meta,
                      const char *path, char *err, size_t errlen);

/* ---- timestamps (public for tests and other renderers) --------------- */

/* "MM:SS.d" below one hour, "H:MM:SS.d" from one hour on. Rounds to the
 * tenth first, so 59.96 s prints "01:00.0", never "00:60.0". Negative
 * input is treated as 0. buf needs at least 24 bytes. */
void format_clock_tenths(double seconds, char *buf, size_t n);

/* "MM:SS" below one hour, "H:MM:SS" from one hour on (rounded to the second). */
void format_duration(double seconds, char *buf, size_t n);

/* "HH:MM:SS,mmm" (sep ',') for SRT or "HH:MM:SS.mmm" (sep '.') for VTT;
 * hours grow past 99 if needed. */
void format_clock_millis(double seconds, char sep, char *buf, size_t n);

#endif
