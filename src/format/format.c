/* format: the module's front door — names, file extensions and HTTP content
 * types of the output kinds, choosing a renderer, and writing the result to
 * disk. The renderers themselves live one per file (text.c, markdown.c,
 * subtitles.c, json.c) and only append bytes; turning their util errors into
 * format errors with a message happens here, in one place.
 *
 * Invariant: a failed format_render leaves the caller's buffer as it found
 * it, and a failed format_write_file leaves the target file as it was.
 */
#include "format/render.h"

#include <strings.h>

typedef int (*renderer)(const transcript *t, const format_meta *meta, util_buf *out);

/* Indexed by format_kind. */
static const struct {
    const char *name;
    const char *content_type;
    renderer render;
} kinds[FORMAT_COUNT] = {
    [FORMAT_TXT] = {"txt", "text/plain; charset=utf-8", format__render_txt},
    [FORMAT_MD] = {"md", "text/markdown; charset=utf-8", format__render_md},
    [FORMAT_SRT] = {"srt", "application/x-subrip; charset=utf-8", format__render_srt},
    [FORMAT_VTT] = {"vtt", "text/vtt; charset=utf-8", format__render_vtt},
    [FORMAT_JSON] = {"json", "application/json", format__render_json},
};

/* Extensions format_from_path accepts; "markdown" is the one alias. */
static const struct {
    const char *ext;
    format_kind kind;
} extensions[] = {
    {"txt", FORMAT_TXT}, {"md", FORMAT_MD},   {"markdown", FORMAT_MD},
    {"srt", FORMAT_SRT}, {"vtt", FORMAT_VTT}, {"json", FORMAT_JSON},
};
#define EXTENSIONS_LIST ".txt, .md, .markdown, .srt, .vtt, .json"

const char *format_strerror(int code)
{
    switch (code) {
    case FORMAT_OK:
        return "ok";
    case FORMAT_ERR_UNKNOWN:
        return "unknown output format";
    case FORMAT_ERR_NOMEM:
        return "out of memory";
    case FORMAT_ERR_IO:
        return "cannot write output";
    case FORMAT_ERR_INVALID:
        return "invalid argument";
    case FORMAT_ERR_PARSE:
        return "malformed JSON transcript";
    case FORMAT_ERR_TOO_LARGE:
        return "output too large";
    default:
        return "unknown error";
    }
}

static bool kind_valid(format_kind kind)
{
    return (int)kind >= 0 && kind < FORMAT_COUNT;
}

const char *format_name(format_kind kind)
{
    return kind_valid(kind) ? kinds[kind].name : "unknown";
}

const char *format_content_type(format_kind kind)
{
    return kind_valid(kind) ? kinds[kind].content_type : "application/octet-stream";
}

const char *format_names_list(void)
{
    return "txt, md, srt, vtt, json";
}

int format_from_name_err(const char *name, format_kind *out, char *err, size_t errlen)
{
    format_kind found = FORMAT_COUNT;
    for (int k = 0; name && k < FORMAT_COUNT; k++)
        if (strcasecmp(name, kinds[k].name) == 0)
            found = (format_kind)k;
    if (out)
        *out = found;
    if (found != FORMAT_COUNT)
        return FORMAT_OK;
    if (!name)
        return util_errf(err, errlen, FORMAT_ERR_UNKNOWN, "no output format given (use one of: %s)",
                         format_names_list());
    return util_errf(err, errlen, FORMAT_ERR_UNKNOWN, "unknown output format '%s' (use one of: %s)",
                     name, format_names_list());
}

int format_from_path_err(const char *path, format_kind *out, char *err, size_t errlen)
{
    if (out)
        *out = FORMAT_COUNT;
    if (!path)
        return util_errf(err, errlen, FORMAT_ERR_UNKNOWN, "no output path given");
    const char *ext = util_path_ext(path);
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
        if (strcasecmp(ext, extensions[i].ext) == 0) {
            if (out)
                *out = extensions[i].kind;
            return FORMAT_OK;
        }
    }
    if (*ext == '\0')
        return util_errf(err, errlen, FORMAT_ERR_UNKNOWN,
                         "'%s' has no file extension to tell the output format by "
                         "(known: " EXTENSIONS_LIST ")",
                         path);
    return util_errf(err, errlen, FORMAT_ERR_UNKNOWN,
                     "unknown output extension '.%s' in '%s' (known: " EXTENSIONS_LIST ")", ext,
                     path);
}

int format_from_name(const char *name, format_kind *out)
{
    return format_from_name_err(name, out, NULL, 0);
}

int format_from_path(const char *path, format_kind *out)
{
    return format_from_path_err(path, out, NULL, 0);
}

format_meta format_default_meta(void)
{
    format_meta m = {
        .engine = "pocketsphinx",
        .model = "en-us",
        .source = NULL,
        .processing_seconds = 0.0,
        .created = time(NULL),
    };
    return m;
}

int format_render(format_kind kind, const transcript *t, const format_meta *meta, util_buf *out,
                  char *err, size_t errlen)
{
    if (!t || !out)
        return util_errf(err, errlen, FORMAT_ERR_INVALID,
                         "format_render: NULL transcript or output buffer");
    if (!kind_valid(kind))
        return util_errf(err, errlen, FORMAT_ERR_UNKNOWN,
                         "unknown output format %d (use one of: %s)", (int)kind,
                         format_names_list());
    format_meta defaults;
    if (!meta) {
        defaults = format_default_meta();
        meta = &defaults;
    }
    size_t start_len = out->len;
    int rc = kinds[kind].render(t, meta, out);
    if (rc == UTIL_OK)
        return FORMAT_OK;
    /* Cut back whatever was appended, so the caller never sees half a file. */
    if (out->data) {
        out->len = start_len;
        out->data[start_len] = '\0';
    }
    if (rc == UTIL_ERR_TOO_LARGE)
        return util_errf(err, errlen, FORMAT_ERR_TOO_LARGE,
                         "the %s rendering does not fit in %zu bytes", kinds[kind].name, out->cap);
    return util_errf(err, errlen, FORMAT_ERR_NOMEM, "out of memory rendering %s", kinds[kind].name);
}

int format_write_file(format_kind kind, const transcript *t, const format_meta *meta,
                      const char *path, char *err, size_t errlen)
{
    if (!path)
        return util_errf(err, errlen, FORMAT_ERR_INVALID, "format_write_file: NULL path");
    /* No cap: the transcript is our own data, already bounded by the audio. */
    util_buf buf = UTIL_BUF_INIT(0);
    char why[256];
    int rc = format_render(kind, t, meta, &buf, why, sizeof why);
    if (rc != FORMAT_OK) {
        util_errf(err, errlen, rc, "cannot write '%s': %s", path, why);
        goto cleanup;
    }
    /* util's message already names the path ("cannot write 'x': ..."). */
    if (util_write_file_atomic(path, buf.data ? buf.data : "", buf.len, err, errlen) != UTIL_OK)
        rc = FORMAT_ERR_IO;
cleanup:
    util_buf_free(&buf);
    return rc;
}
