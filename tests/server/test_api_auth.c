/* test_api_auth: API-key authentication of `cesar serve` (docs/api.md,
 * Conventions). With a key configured (CESAR_API_KEY, or
 * CESAR_SERVER_API_KEY) every route but GET /health answers 401
 * unauthorized with WWW-Authenticate: Bearer and the error JSON when the
 * Authorization header is missing, holds another key, a prefix or an
 * extension of the key, or the key in another scheme; with the right key
 * each route gives its normal status. Refused uploads create no job.
 * Without a key, no header is needed.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY "secret"

static bool job_status_is(const json_t *j, const char *status)
{
    const char *st = th_jstr(j, "status");
    return st && strcmp(st, status) == 0;
}

typedef struct {
    const char *method;
    const char *path; /* %s = a job id */
    int kind;         /* 0 plain, 1 multipart upload, 2 JSON body */
} route;

static const route routes[] = {
    {"GET", "/jobs", 0},
    {"GET", "/jobs?status=completed&limit=5", 0},
    {"GET", "/jobs/%s", 0},
    {"GET", "/jobs/%s/result", 0},
    {"GET", "/jobs/%s/result?format=srt", 0},
    {"GET", "/jobs/%s/events", 0},
    {"POST", "/jobs/%s/retry", 0},
    {"DELETE", "/jobs/%s", 0},
    {"DELETE", "/jobs/%s?purge=true", 0},
    {"POST", "/transcribe", 1},
    {"POST", "/transcribe/url", 2},
    {"GET", "/openapi.json", 0},
    {"GET", "/docs", 0},
};

static th_response *call(th_server *s, const route *rt, const char *id, const char *auth)
{
    const char *path = th_strf(rt->path, id);
    const char *hdr[3] = {auth, NULL, NULL};
    if (rt->kind == 1)
        return th_upload(s, th_clip("0880"), "clip.wav", NULL, hdr);
    if (rt->kind == 2) {
        hdr[1] = "Content-Type: application/json";
        const char *body = "{\"url\": \"https://example.com/a.mp3\"}";
        return th_request(s, rt->method, path, hdr, body, strlen(body));
    }
    return th_request(s, rt->method, path, hdr, NULL, 0);
}

static void expect_unauthorized(th_server *s, const char *id, const char *auth, const char *label)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const char *what = th_strf("%s %s, %s", routes[i].method, routes[i].path, label);
        th_response *r = call(s, &routes[i], id, auth);
        th_expect_error(r, 401, "unauthorized", NULL, what);
        TH_CHECK(r->www_authenticate && strncasecmp(r->www_authenticate, "Bearer", 6) == 0,
                 "%s: WWW-Authenticate: Bearer (got %s)", what,
                 r->www_authenticate ? r->www_authenticate : "none");
        th_response_free(r);
    }
}

static json_t *health(th_server *s, const char *auth, long *status)
{
    th_response *r = th_request(s, "GET", "/health", (const char *const[]){auth, NULL}, NULL, 0);
    *status = r->status;
    json_t *j = json_incref(r->json);
    th_response_free(r);
    return j;
}

static void test_with_key(void)
{
    th_server *s = th_server_start("auth", &(th_server_opts){.workers = 1, .api_key = KEY});
    if (!s)
        return;
    long st;
    json_t *h = health(s, "Authorization:", &st);
    TH_CHECK(st == 200 && json_is_object(h), "GET /health without a header -> 200 (%ld)", st);
    json_decref(h);
    h = health(s, "Authorization: Bearer wrong", &st);
    TH_CHECK(st == 200, "GET /health with a wrong key -> 200 (%ld)", st);
    json_decref(h);

    /* a real job, made with the right key, for the job routes */
    char *id = th_submit(s, th_clip("0920"), "clip.wav", NULL);
    if (!id)
        return;
    json_t *j = th_wait_job(s, id, "completed,partial,error,cancelled", 60);
    TH_CHECK(job_status_is(j, "completed"), "the job completes");
    json_decref(j);

    const char *bad[][2] = {
        {"Authorization:", "no Authorization header"},
        {"Authorization: Bearer wrong", "a wrong key"},
        {"Authorization: Bearer sec", "a prefix of the key"},
        {"Authorization: Bearer secre", "the key minus its last character"},
        {"Authorization: Bearer secretsecret", "the key with more after it"},
        {"Authorization: Bearer SECRET", "the key in upper case"},
        {"Authorization: Bearer ", "an empty Bearer"},
        {"Authorization: Basic c2VjcmV0", "Basic base64(key)"},
        {"Authorization: Basic secret", "the key in the Basic scheme"},
        {"Authorization: secret", "the key without a scheme"},
        {"Authorization: Token secret", "the key in a Token scheme"},
        {"X-Api-Key: secret", "the key in another header"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (strncmp(bad[i][0], "X-Api-Key", 9) == 0) {
            /* no Authorization at all, and the key elsewhere */
            for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++) {
                const char *path = th_strf(routes[k].path, id);
                if (routes[k].kind != 0)
                    continue;
                th_response *r =
                    th_request(s, routes[k].method, path,
                               (const char *const[]){"Authorization:", bad[i][0], NULL}, NULL, 0);
                th_expect_error(r, 401, "unauthorized", NULL,
                                th_strf("%s %s, %s", routes[k].method, routes[k].path, bad[i][1]));
                th_response_free(r);
            }
            continue;
        }
        expect_unauthorized(s, id, bad[i][0], bad[i][1]);
    }
    j = th_get_job(s, id);
    TH_CHECK(job_status_is(j, "completed"), "the refused DELETEs left the job alone");
    json_decref(j);

    /* the right key: every route works */
    const char *good = "Authorization: Bearer " KEY;
    struct {
        size_t route;
        long status;
    } expect[] = {
        {0, 200}, {1, 200},  {2, 200},  {3, 200},
        {4, 200}, {5, 200},  {6, 409}, /* retry of a completed job: auth passed, state refused */
        {7, 409},                      /* DELETE of a completed job without purge */
        {9, 202}, {10, 202}, {11, 200}, /* 10: a link is queued (it fails later, offline) */
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        const route *rt = &routes[expect[i].route];
        th_response *r = call(s, rt, id, good);
        TH_CHECK(r->status == expect[i].status, "%s %s with the key -> %ld (%s)", rt->method,
                 rt->path, expect[i].status, th_describe(r));
        th_response_free(r);
    }
    th_response *r = call(s, &routes[12], id, good);
    TH_CHECK(r->status == 200 || r->status == 503, "GET /docs with the key -> 200 or 503 (%s)",
             th_describe(r));
    th_response_free(r);
    r = th_request(s, "GET", "/jobs", (const char *const[]){"Authorization: bearer " KEY, NULL},
                   NULL, 0);
    th_note("scheme in lower case ('bearer KEY') -> %ld (RFC 7235 makes schemes "
            "case-insensitive; not asserted)",
            r->status);
    th_response_free(r);

    /* exactly three jobs exist: the refused submissions stored nothing */
    json_t *all = th_list_all(s, NULL, 500, NULL);
    TH_CHECK(all && json_array_size(all) == 3,
             "only the two authorised uploads and the authorised link made jobs (got %zu)",
             all ? json_array_size(all) : 0);
    json_decref(all);

    r = call(s, &routes[8], id, good);
    TH_CHECK(r->status == 204, "DELETE ?purge=true with the key -> 204 (%s)", th_describe(r));
    th_response_free(r);
    free(id);
    th_server_stop(s, SIGTERM, 30);
}

static void test_server_api_key_variable(void)
{
    th_server *s = th_server_start(
        "auth-server-var",
        &(th_server_opts){.workers = 1, .extra_env = {"CESAR_SERVER_API_KEY=other", NULL}});
    if (!s)
        return;
    th_response *r =
        th_request(s, "GET", "/jobs", (const char *const[]){"Authorization:", NULL}, NULL, 0);
    th_expect_error(r, 401, "unauthorized", NULL, "CESAR_SERVER_API_KEY set, no header");
    th_response_free(r);
    r = th_request(s, "GET", "/jobs", (const char *const[]){"Authorization: Bearer other", NULL},
                   NULL, 0);
    TH_CHECK(r->status == 200, "CESAR_SERVER_API_KEY's key is accepted (%s)", th_describe(r));
    th_response_free(r);
    th_server_stop(s, SIGTERM, 30);
}

static void test_without_key(void)
{
    th_server *s = th_server_start("no-auth", &(th_server_opts){.workers = 1});
    if (!s)
        return;
    th_response *r = th_getf(s, "/jobs");
    TH_CHECK(r->status == 200, "no key configured: GET /jobs without a header -> 200 (%s)",
             th_describe(r));
    TH_CHECK(r->www_authenticate == NULL, "no WWW-Authenticate header without a key");
    th_response_free(r);
    char *id = th_submit(s, th_clip("0880"), "clip.wav", NULL);
    if (id) {
        r = th_getf(s, "/jobs/%s", id);
        TH_CHECK(r->status == 200, "no key configured: GET /jobs/{id} -> 200 (%s)", th_describe(r));
        th_response_free(r);
        r = th_request(s, "GET", th_strf("/jobs/%s", id),
                       (const char *const[]){"Authorization: Bearer anything", NULL}, NULL, 0);
        TH_CHECK(r->status == 200, "no key configured: any Authorization header is ignored (%s)",
                 th_describe(r));
        th_response_free(r);
        r = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", id), NULL, NULL, 0);
        TH_CHECK(r->status == 204, "no key configured: DELETE ?purge=true -> 204 (%s)",
                 th_describe(r));
        th_response_free(r);
        free(id);
    }
}

int main(void)
{
    th_init("test_api_auth");
    test_with_key();
    test_server_api_key_variable();
    test_without_key();
    return th_finish();
}
