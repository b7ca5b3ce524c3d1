/* url: POST /transcribe/url — submissions by link. Downloading arrives with
 * its own issue; until then the body is still checked, so a client learns
 * about a malformed request before it learns the feature is missing. */
#include <string.h>

#include "server/internal.h"

enum MHD_Result server__handle_url(server *s, struct MHD_Connection *c, server__request *r)
{
    (void)s;
    if (r->body_too_large)
        return server__send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                                  "the JSON body is larger than 64 KiB");
    json_error_t jerr;
    json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, &jerr) : NULL;
    if (!body) {
        return server__send_error(c, MHD_HTTP_BAD_REQUEST, "malformed_request",
                                  "the body must be a JSON object like {\"url\": \"https://...\"}"
                                  "%s%s",
                                  r->body ? ": " : " (the body is empty)",
                                  r->body ? jerr.text : "");
    }
    json_t *url = json_object_get(body, "url");
    bool ok = json_is_object(body) && json_is_string(url) && json_string_length(url) > 0;
    json_decref(body);
    if (!ok)
        return server__send_field_error(c, "url", "the body needs a non-empty string 'url'");
    return server__send_error(c, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented",
                              "transcribing from a URL is not available in this version of "
                              "Cesar; download the file and POST it to /transcribe");
}
