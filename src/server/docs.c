/* docs: GET /openapi.json (the document compiled into the binary) and
 * GET /docs (a page rendering it, built at build time from Swagger UI as
 * installed from the npm registry, and served from disk: no CDN). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/internal.h"

enum MHD_Result server__handle_openapi(server *s, struct MHD_Connection *c, server__request *r)
{
    (void)s;
    (void)r;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        server__openapi_json_len, (void *)server__openapi_json, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result res = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return res;
}

/* Only plain relative names: letters, digits, '.', '-', '_' and '/', no
 * ".." segment, no leading '/'. Anything else is not one of our files. */
static bool safe_relative_path(const char *p)
{
    if (!*p || *p == '/' || strstr(p, ".."))
        return false;
    for (; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == '/';
        if (!ok)
            return false;
    }
    return true;
}

static const char *type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".png", "image/png"},
        {".svg", "image/svg+xml"},             {".map", "application/json"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static enum MHD_Result send_file(struct MHD_Connection *c, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return server__send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such page");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type_of(path));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "max-age=3600");
    enum MHD_Result res = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return res;
}

enum MHD_Result server__handle_docs(server *s, struct MHD_Connection *c, server__request *r)
{
    char index[4096];
    if (!s->docs_dir ||
        (snprintf(index, sizeof index, "%s/index.html", s->docs_dir), access(index, R_OK) != 0))
        return server__send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "docs_unavailable",
                                  "the documentation page was not built with this binary; the "
                                  "API document is at /openapi.json");
    if (!r->tail[0])
        return send_file(c, index);
    if (!safe_relative_path(r->tail))
        return server__send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such page");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s->docs_dir, r->tail);
    return send_file(c, path);
}
