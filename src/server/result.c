/* result: GET /jobs/{id}/result — the stored transcript rendered in the
 * format asked for. The store keeps one lossless form (the JSON rendering);
 * every other format is made from it on request, so they always agree. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format/format.h"
#include "server/internal.h"

int server__render_transcript(const store_job *j, int kind, util_buf *out, char *err,
                              size_t errlen)
{
    transcript *t = NULL;
    format_json_meta meta;
    memset(&meta, 0, sizeof meta);
    int rc = format_parse_json(j->result_text, strlen(j->result_text), &t, &meta, err, errlen);
    if (rc == FORMAT_OK) {
        format_meta view = format_json_meta_view(&meta);
        rc = format_render((format_kind)kind, t, &view, out, err, errlen);
    }
    transcript_free(t);
    format_json_meta_clear(&meta);
    return rc;
}

/* The API takes format names exactly as documented (lower case), like the
 * form field, so one spelling means one thing everywhere. */
static bool parse_format(const char *name, format_kind *kind)
{
    for (const char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            return false;
    return format_from_name(name, kind) == FORMAT_OK;
}

static const char *content_type(format_kind kind)
{
    switch (kind) {
    case FORMAT_TXT: return "text/plain; charset=utf-8";
    case FORMAT_MD: return "text/markdown; charset=utf-8";
    case FORMAT_SRT: return "application/x-subrip; charset=utf-8";
    case FORMAT_VTT: return "text/vtt; charset=utf-8";
    default: return "application/json";
    }
}

static enum MHD_Result not_ready(struct MHD_Connection *c, const store_job *j)
{
    if (j->status == STORE_STATUS_ERROR || j->status == STORE_STATUS_CANCELLED)
        return server__send_error(c, MHD_HTTP_CONFLICT, "no_result",
                                  "job %s is %s and has no transcript%s%s", j->id,
                                  store_status_name(j->status),
                                  j->error_message ? ": " : "",
                                  j->error_message ? j->error_message : "");
    return server__send_error(c, MHD_HTTP_CONFLICT, "job_not_finished",
                              "job %s is %s (%.0f%%); the transcript is available once it is "
                              "completed",
                              j->id, store_status_name(j->status), j->progress);
}

enum MHD_Result server__handle_result(server *s, struct MHD_Connection *c, server__request *r)
{
    const char *fmt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    format_kind kind = FORMAT_TXT;
    if (fmt && !parse_format(fmt, &kind))
        return server__send_field_error(c, "format",
                                        "format '%s' is not known; allowed: txt, md, srt, vtt "
                                        "or json",
                                        fmt);
    enum MHD_Result res = MHD_NO;
    store_job *j = server__load_job(s, c, r, &res);
    if (!j)
        return res;
    if ((j->status != STORE_STATUS_COMPLETED && j->status != STORE_STATUS_PARTIAL) ||
        !j->result_text) {
        res = not_ready(c, j);
        store_job_free(j);
        return res;
    }
    if (!fmt && j->format && !parse_format(j->format, &kind))
        kind = FORMAT_TXT;
    util_buf out = UTIL_BUF_INIT(4 * STORE_MAX_RESULT_TEXT);
    char err[1024];
    int rc = server__render_transcript(j, kind, &out, err, sizeof err);
    if (rc != FORMAT_OK) {
        server__log(s, SERVER_LOG_ERROR, "job %s: stored transcript unreadable: %s", j->id, err);
        res = server__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                 "the stored transcript of job %s cannot be read: %s", j->id,
                                 err);
    } else {
        size_t len = out.len;
        char *text = util_buf_take(&out); /* handed to the response, not copied */
        res = text ? server__send_owned(c, MHD_HTTP_OK, content_type(kind), text, len)
                   : server__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                        "out of memory");
    }
    util_buf_free(&out);
    store_job_free(j);
    return res;
}
