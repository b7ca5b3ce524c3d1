/* routes: the table of every route the server answers, and matching a method
 * and path against it. The table is also what the OpenAPI document is
 * checked against, so a route cannot be added without being documented. */
#include <stdio.h>
#include <string.h>

#include "server/internal.h"

static const server__route_entry routes[] = {
    {{"GET", "/health"}, server__handle_health, SERVER__REQ_SIMPLE},
    {{"POST", "/transcribe"}, server__handle_upload, SERVER__REQ_UPLOAD},
    {{"POST", "/transcribe/url"}, server__handle_url, SERVER__REQ_JSON},
    {{"GET", "/jobs"}, server__handle_list, SERVER__REQ_SIMPLE},
    {{"GET", "/jobs/{id}"}, server__handle_get, SERVER__REQ_SIMPLE},
    {{"DELETE", "/jobs/{id}"}, server__handle_delete, SERVER__REQ_SIMPLE},
    {{"GET", "/jobs/{id}/result"}, server__handle_result, SERVER__REQ_SIMPLE},
    {{"GET", "/jobs/{id}/events"}, server__handle_events, SERVER__REQ_SIMPLE},
    {{"POST", "/jobs/{id}/retry"}, server__handle_retry, SERVER__REQ_SIMPLE},
    {{"GET", "/openapi.json"}, server__handle_openapi, SERVER__REQ_SIMPLE},
    {{"GET", "/docs"}, server__handle_docs, SERVER__REQ_SIMPLE},
    {{"GET", "/docs/{path}"}, server__handle_docs, SERVER__REQ_SIMPLE},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

const server_route *server_routes(size_t *count)
{
    static server_route plain[N_ROUTES];
    static int filled; /* the table is constant: filling twice writes the same */
    if (!filled) {
        for (size_t i = 0; i < N_ROUTES; i++)
            plain[i] = routes[i].route;
        filled = 1;
    }
    if (count)
        *count = N_ROUTES;
    return plain;
}

const server__route_entry *server__route_at(int index)
{
    return index >= 0 && (size_t)index < N_ROUTES ? &routes[index] : NULL;
}

/* Matches path against pattern; a "{id}" segment takes one path segment,
 * "{path}" (last) takes the rest, which must be non-empty. */
static bool path_matches(const char *pattern, const char *path, server__request *r)
{
    while (*pattern) {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            if (!close)
                return false;
            bool rest = strncmp(pattern, "{path}", 6) == 0;
            size_t n = rest ? strlen(path) : strcspn(path, "/");
            if (n == 0)
                return false;
            char *dst = rest ? r->tail : r->id;
            size_t cap = rest ? sizeof r->tail : sizeof r->id;
            if (n >= cap)
                return false;
            memcpy(dst, path, n);
            dst[n] = '\0';
            path += n;
            pattern = close + 1;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    return *path == '\0';
}

int server__route_match(const char *method, const char *path, server__request *r,
                        bool *path_known, char *allow, size_t n)
{
    *path_known = false;
    if (n)
        allow[0] = '\0';
    int found = -1;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (!path_matches(routes[i].route.pattern, path, r))
            continue;
        if (strcmp(routes[i].route.method, method) == 0) {
            found = (int)i;
            break;
        }
        if (!strstr(allow, routes[i].route.method)) {
            size_t used = strlen(allow);
            snprintf(allow + used, n - used, "%s%s", used ? ", " : "", routes[i].route.method);
        }
        *path_known = true;
    }
    if (found >= 0)
        path_matches(routes[found].route.pattern, path, r); /* its captures, not the last */
    return found;
}
