/* test_server_routes: the OpenAPI document (src/server/openapi.json) and the
 * server's route table describe the same API — every route the server
 * answers is documented with the same method, and every documented
 * operation is a route the server answers. The server's catch-all
 * "/docs/{path}" stands for the documented files under /docs/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "server/server.h"

static json_t *load_document(void)
{
    json_error_t e;
    json_t *doc = json_load_file(CESAR_SOURCE_DIR "/src/server/openapi.json", 0, &e);
    if (!doc)
        fail_msg("openapi.json: %s at line %d", e.text, e.line);
    return doc;
}

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    out[i] = '\0';
}

/* Whether the server answers method on a documented path. */
static bool server_answers(const char *method, const char *path)
{
    size_t n = 0;
    const server_route *routes = server_routes(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(routes[i].method, method) != 0)
            continue;
        if (strcmp(routes[i].pattern, path) == 0)
            return true;
        if (strcmp(routes[i].pattern, "/docs/{path}") == 0 && strncmp(path, "/docs/", 6) == 0)
            return true;
    }
    return false;
}

static void every_route_is_documented(void **state)
{
    (void)state;
    json_t *doc = load_document();
    json_t *paths = json_object_get(doc, "paths");
    assert_non_null(paths);
    size_t n = 0;
    const server_route *routes = server_routes(&n);
    assert_true(n >= 10);
    for (size_t i = 0; i < n; i++) {
        char method[16];
        lower(routes[i].method, method, sizeof method);
        bool found = false;
        if (strcmp(routes[i].pattern, "/docs/{path}") == 0) {
            const char *p;
            json_t *ops;
            json_object_foreach(paths, p, ops)
                if (strncmp(p, "/docs/", 6) == 0 && json_object_get(ops, method))
                    found = true;
        } else {
            json_t *ops = json_object_get(paths, routes[i].pattern);
            found = ops && json_object_get(ops, method);
        }
        if (!found)
            fail_msg("%s %s is answered by the server but not in openapi.json", routes[i].method,
                     routes[i].pattern);
    }
    json_decref(doc);
}

static void every_documented_operation_is_a_route(void **state)
{
    (void)state;
    static const char *const methods[] = {"get", "post", "put", "delete", "patch", "head"};
    json_t *doc = load_document();
    json_t *paths = json_object_get(doc, "paths");
    const char *path;
    json_t *ops;
    size_t operations = 0;
    json_object_foreach(paths, path, ops) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            json_t *op = json_object_get(ops, methods[m]);
            if (!op)
                continue;
            operations++;
            if (!server_answers(methods[m], path))
                fail_msg("openapi.json documents %s %s, which the server does not answer",
                         methods[m], path);
            if (!json_is_string(json_object_get(op, "operationId")))
                fail_msg("%s %s has no operationId", methods[m], path);
            if (!json_object_get(op, "responses"))
                fail_msg("%s %s has no responses", methods[m], path);
        }
    }
    assert_true(operations >= 10);
    json_decref(doc);
}

static void health_alone_needs_no_key(void **state)
{
    (void)state;
    json_t *doc = load_document();
    json_t *paths = json_object_get(doc, "paths");
    const char *path;
    json_t *ops;
    json_object_foreach(paths, path, ops) {
        const char *method;
        json_t *op;
        json_object_foreach(ops, method, op) {
            if (!json_is_object(op) || !json_object_get(op, "responses"))
                continue;
            json_t *sec = json_object_get(op, "security");
            if (!sec)
                sec = json_object_get(doc, "security");
            bool open = !json_is_array(sec) || json_array_size(sec) == 0;
            bool is_health = strcmp(path, "/health") == 0;
            if (open != is_health)
                fail_msg("%s %s: %s", method, path,
                         is_health ? "must be open (security: [])"
                                   : "must require the API key like every route but /health");
        }
    }
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_route_is_documented),
        cmocka_unit_test(every_documented_operation_is_a_route),
        cmocka_unit_test(health_alone_needs_no_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
