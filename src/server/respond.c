/* respond: every answer the server sends goes through here, so JSON bodies,
 * the error shape {"error": {"code", "message"}} and headers are the same on
 * every route. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *content_type,
                             const void *data, size_t len, enum MHD_ResponseMemoryMode mode,
                             const char *header, const char *value)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free((void *)data);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (header && value)
        MHD_add_response_header(resp, header, value);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result res = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return res;
}

enum MHD_Result server__send_bytes(struct MHD_Connection *c, unsigned status,
                                   const char *content_type, const void *data, size_t len)
{
    return queue(c, status, content_type, data, len, MHD_RESPMEM_MUST_COPY, NULL, NULL);
}

enum MHD_Result server__send_owned(struct MHD_Connection *c, unsigned status,
                                   const char *content_type, char *data, size_t len)
{
    return queue(c, status, content_type, data, len, MHD_RESPMEM_MUST_FREE, NULL, NULL);
}

enum MHD_Result server__send_empty(struct MHD_Connection *c, unsigned status)
{
    return queue(c, status, NULL, "", 0, MHD_RESPMEM_PERSISTENT, NULL, NULL);
}

static enum MHD_Result send_json_header(struct MHD_Connection *c, unsigned status, json_t *body,
                                        const char *header, const char *value)
{
    static const char no_memory[] =
        "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (!text)
        return queue(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", no_memory,
                     sizeof no_memory - 1, MHD_RESPMEM_PERSISTENT, NULL, NULL);
    return queue(c, status, "application/json", text, strlen(text), MHD_RESPMEM_MUST_FREE, header,
                 value);
}

enum MHD_Result server__send_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
    return send_json_header(c, status, body, NULL, NULL);
}

enum MHD_Result server__send_json_steal(struct MHD_Connection *c, unsigned status, json_t *body)
{
    enum MHD_Result res = send_json_header(c, status, body, NULL, NULL);
    json_decref(body);
    return res;
}

static enum MHD_Result send_error_v(struct MHD_Connection *c, unsigned status, const char *code,
                                    const char *field, const char *header, const char *value,
                                    const char *fmt, va_list ap)
{
    char message[2048];
    vsnprintf(message, sizeof message, fmt, ap);
    json_t *err = json_object();
    json_object_set_new(err, "code", json_string(code));
    /* Messages quote client input, which may not be UTF-8: jansson refuses
     * such strings, so fall back to a lossless-enough ASCII rendering. */
    json_t *msg = json_string(message);
    if (!msg) {
        for (char *p = message; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        msg = json_string(message);
    }
    json_object_set_new(err, "message", msg);
    if (field)
        json_object_set_new(err, "field", json_string(field));
    json_t *body = json_pack("{s:o}", "error", err);
    enum MHD_Result res = send_json_header(c, status, body, header, value);
    json_decref(body);
    return res;
}

enum MHD_Result server__send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result res = send_error_v(c, status, code, NULL, NULL, NULL, fmt, ap);
    va_end(ap);
    return res;
}

enum MHD_Result server__send_error_header(struct MHD_Connection *c, unsigned status,
                                          const char *header, const char *value,
                                          const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result res = send_error_v(c, status, code, NULL, header, value, fmt, ap);
    va_end(ap);
    return res;
}

enum MHD_Result server__send_field_error(struct MHD_Connection *c, const char *field,
                                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result res = send_error_v(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", field,
                                       NULL, NULL, fmt, ap);
    va_end(ap);
    return res;
}

enum MHD_Result server__send_field_error_code(struct MHD_Connection *c, const char *code,
                                              const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result res = send_error_v(c, MHD_HTTP_UNPROCESSABLE_CONTENT, code, field, NULL,
                                       NULL, fmt, ap);
    va_end(ap);
    return res;
}

enum MHD_Result server__send_store_error(struct MHD_Connection *c, int rc, const char *msg)
{
    switch (rc) {
    case STORE_ERR_NOT_FOUND:
        return server__send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "%s", msg);
    case STORE_ERR_INVALID:
        return server__send_error(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", "%s", msg);
    case STORE_ERR_CONFLICT:
        return server__send_error(c, MHD_HTTP_CONFLICT, "invalid_state", "%s", msg);
    case STORE_ERR_BUSY:
        return server__send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                                  "the job database is busy; try again: %s", msg);
    default:
        return server__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "%s", msg);
    }
}
