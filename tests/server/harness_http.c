/* harness_http.c: the HTTP side of harness.h — libcurl requests (plain,
 * multipart streamed from disk, transfers for the multi interface), the
 * documented error-body check, a Server-Sent Events reader, and JSON and job
 * helpers built on them (submit, wait for a status, walk GET /jobs pages).
 *
 * Invariant: everything a server sends is read into buffers with a hard cap
 * (TH__MAX_BODY); a larger body fails the transfer instead of growing
 * without bound.
 */
#include "harness.h"
#include "harness_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TH_REQUEST_TIMEOUT 300L

/* ---- HTTP ---------------------------------------------------------------------------- */

struct th_transfer {
    CURL *easy;
    struct curl_slist *headers;
    curl_mime *mime;
    char *body_copy;
    th_response *resp;
    size_t cap;
    double t0;
};

void th_response_free(th_response *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->content_type);
    free(r->location);
    free(r->allow);
    free(r->www_authenticate);
    json_decref(r->json);
    free(r);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    th_transfer *t = ud;
    th_response *r = t->resp;
    size_t n = size * nmemb;
    if (r->body_len + n + 1 > TH__MAX_BODY)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    if (r->body_len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        t->cap = cap;
    }
    memcpy(r->body + r->body_len, ptr, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Header value without the line end, or NULL when line is not "name: ...". */
static char *header_value(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return NULL;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char *out = th__xmalloc((size_t)(end - v) + 1);
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
    return out;
}

static void set_header(char **slot, char *value)
{
    if (!value)
        return;
    free(*slot);
    *slot = value;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    th_response *r = ((th_transfer *)ud)->resp;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, say): forget earlier headers */
        free(r->content_type);
        free(r->location);
        free(r->allow);
        free(r->www_authenticate);
        r->content_type = r->location = r->allow = r->www_authenticate = NULL;
        return n;
    }
    set_header(&r->content_type, header_value(buf, n, "Content-Type"));
    set_header(&r->location, header_value(buf, n, "Location"));
    set_header(&r->allow, header_value(buf, n, "Allow"));
    set_header(&r->www_authenticate, header_value(buf, n, "WWW-Authenticate"));
    return n;
}

static bool has_auth_header(const char *const *headers)
{
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], "Authorization:", 14) == 0)
            return true;
    return false;
}

static th_transfer *transfer_base(th_server *s, const char *path, const char *const *headers)
{
    th_transfer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->resp = calloc(1, sizeof *t->resp);
    t->easy = curl_easy_init();
    if (!t->resp || !t->easy) {
        free(t->resp);
        curl_easy_cleanup(t->easy);
        free(t);
        return NULL;
    }
    t->resp->body = th__xmalloc(1);
    t->resp->body[0] = '\0';
    t->cap = 1;
    char *url = th__strf("%s%s", s->base_url, path);
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url); /* libcurl copies strings it is given */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, TH_REQUEST_TIMEOUT);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->resp->error);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    for (size_t i = 0; headers && headers[i]; i++)
        t->headers = curl_slist_append(t->headers, headers[i]);
    if (s->client_key && !has_auth_header(headers)) {
        char *h = th__strf("Authorization: Bearer %s", s->client_key);
        t->headers = curl_slist_append(t->headers, h);
        free(h);
    }
    if (t->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    t->t0 = th_now();
    return t;
}

th_transfer *th_transfer_new(th_server *s, const char *method, const char *path,
                             const char *const *headers, const char *body, size_t body_len)
{
    th_transfer *t = transfer_base(s, path, headers);
    if (!t)
        return NULL;
    CURL *e = t->easy;
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        if (body || strcmp(method, "POST") == 0) {
            t->body_copy = th__xmalloc(body_len + 1);
            if (body_len)
                memcpy(t->body_copy, body, body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body_copy);
        }
    }
    return t;
}

th_transfer *th_transfer_new_upload(th_server *s, const char *file_path, const char *filename,
                                    const char *const *fields, const char *const *headers)
{
    char *path = th__strf("/transcribe");
    th_transfer *t = transfer_base(s, path, headers);
    free(path);
    if (!t)
        return NULL;
    t->mime = curl_mime_init(t->easy);
    for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
        curl_mimepart *p = curl_mime_addpart(t->mime);
        curl_mime_name(p, fields[i]);
        curl_mime_data(p, fields[i + 1], CURL_ZERO_TERMINATED);
    }
    if (file_path) {
        curl_mimepart *p = curl_mime_addpart(t->mime);
        curl_mime_name(p, "file");
        curl_mime_filedata(p, file_path); /* streamed from disk while sending */
        if (filename)
            curl_mime_filename(p, filename);
    }
    curl_easy_setopt(t->easy, CURLOPT_MIMEPOST, t->mime);
    return t;
}

CURL *th_transfer_easy(th_transfer *t)
{
    return t->easy;
}

th_response *th_transfer_done(th_transfer *t, CURLcode result)
{
    th_response *r = t->resp;
    r->code = result;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_off_t up = 0;
    curl_easy_getinfo(t->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    r->uploaded = up;
    r->seconds = th_now() - t->t0;
    if (result != CURLE_OK && !r->error[0])
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(result));
    if (r->body_len > 0) {
        json_error_t je;
        r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &je);
    }
    curl_easy_cleanup(t->easy);
    curl_mime_free(t->mime);
    curl_slist_free_all(t->headers);
    free(t->body_copy);
    free(t);
    return r;
}

static th_response *failed_response(const char *why)
{
    th_response *r = calloc(1, sizeof *r);
    if (!r)
        exit(2);
    r->body = th__xstrdup("");
    r->code = CURLE_FAILED_INIT;
    snprintf(r->error, sizeof r->error, "%s", why);
    return r;
}

static th_response *perform(th_transfer *t)
{
    if (!t)
        return failed_response("could not set up the transfer");
    CURLcode c = curl_easy_perform(t->easy);
    return th_transfer_done(t, c);
}

th_response *th_request(th_server *s, const char *method, const char *path,
                        const char *const *headers, const char *body, size_t body_len)
{
    return perform(th_transfer_new(s, method, path, headers, body, body_len));
}

th_response *th_getf(th_server *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *path = th__vstrf(fmt, ap);
    va_end(ap);
    th_response *r = th_request(s, "GET", path, NULL, NULL, 0);
    free(path);
    return r;
}

th_response *th_upload(th_server *s, const char *file_path, const char *filename,
                       const char *const *fields, const char *const *headers)
{
    return perform(th_transfer_new_upload(s, file_path, filename, fields, headers));
}

const char *th_describe(const th_response *r)
{
    if (!r)
        return "(no response)";
    if (r->status == 0)
        return th_strf("no HTTP response (curl: %s)", r->error);
    size_t n = r->body_len > 400 ? 400 : r->body_len;
    return th_strf("status %ld, Content-Type %s, body %.*s%s", r->status,
                   r->content_type ? r->content_type : "(none)", (int)n, r->body,
                   r->body_len > n ? "..." : "");
}

static bool is_json_type(const char *ct)
{
    return ct && strncmp(ct, "application/json", 16) == 0 && (ct[16] == '\0' || ct[16] == ';');
}

bool th_expect_error(const th_response *r, long status, const char *code, const char *field,
                     const char *what)
{
    bool ok =
        TH_CHECK(r->status == status, "%s: status %ld (got %s)", what, status, th_describe(r));
    ok = TH_CHECK(is_json_type(r->content_type), "%s: error body is application/json (got %s)",
                  what, r->content_type ? r->content_type : "none") &&
         ok;
    const char *c = th_jstr(r->json, "error.code");
    ok = TH_CHECK(c && strcmp(c, code) == 0, "%s: error.code \"%s\" (got %s)", what, code,
                  c ? c : "none") &&
         ok;
    const char *m = th_jstr(r->json, "error.message");
    ok = TH_CHECK(m && *m, "%s: error.message is a non-empty string", what) && ok;
    if (status == 422) {
        const char *f = th_jstr(r->json, "error.field");
        if (field)
            ok = TH_CHECK(f && strcmp(f, field) == 0, "%s: error.field \"%s\" (got %s)", what,
                          field, f ? f : "none") &&
                 ok;
        else
            ok = TH_CHECK(f && *f, "%s: error.field present", what) && ok;
    }
    return ok;
}

/* ---- Server-Sent Events ------------------------------------------------------------------ */

typedef struct {
    th_sse_stream *st;
    char *line; /* the partial line being read */
    size_t line_len, line_cap;
    char *event, *id, *data; /* the event being assembled */
    size_t data_len;
    double t0;
    size_t cap;
} sse_parser;

static void sse_dispatch(sse_parser *p)
{
    if (!p->data && !p->event && !p->id)
        return;
    th_sse_stream *st = p->st;
    if (st->count == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 32;
        th_sse_event *n = realloc(st->events, p->cap * sizeof *n);
        if (!n)
            exit(2);
        st->events = n;
    }
    th_sse_event *e = &st->events[st->count++];
    e->event = p->event ? p->event : th__xstrdup("message");
    e->id = p->id;
    e->data = p->data ? p->data : th__xstrdup("");
    json_error_t je;
    e->json = json_loads(e->data, JSON_DECODE_ANY, &je);
    e->t = th_now() - p->t0;
    p->event = p->id = p->data = NULL;
    p->data_len = 0;
}

static void sse_line(sse_parser *p, char *line)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r')
        line[--len] = '\0';
    if (len == 0) {
        sse_dispatch(p);
        return;
    }
    if (line[0] == ':') {
        p->st->comments++;
        return;
    }
    char *colon = strchr(line, ':');
    const char *value = "";
    if (colon) {
        *colon = '\0';
        value = colon + 1;
        if (*value == ' ')
            value++;
    }
    if (strcmp(line, "event") == 0) {
        free(p->event);
        p->event = th__xstrdup(value);
    } else if (strcmp(line, "id") == 0) {
        free(p->id);
        p->id = th__xstrdup(value);
    } else if (strcmp(line, "data") == 0) {
        size_t vl = strlen(value);
        char *d = realloc(p->data, p->data_len + vl + 2);
        if (!d)
            exit(2);
        if (p->data_len)
            d[p->data_len++] = '\n';
        memcpy(d + p->data_len, value, vl + 1);
        p->data_len += vl;
        p->data = d;
    }
}

static size_t on_sse(char *ptr, size_t size, size_t nmemb, void *ud)
{
    sse_parser *p = ud;
    size_t n = size * nmemb;
    for (size_t i = 0; i < n; i++) {
        if (p->line_len + 2 > p->line_cap) {
            p->line_cap = p->line_cap ? p->line_cap * 2 : 1024;
            if (p->line_cap > TH__MAX_BODY)
                return 0;
            char *l = realloc(p->line, p->line_cap);
            if (!l)
                return 0;
            p->line = l;
        }
        if (ptr[i] == '\n') {
            p->line[p->line_len] = '\0';
            sse_line(p, p->line);
            p->line_len = 0;
        } else {
            p->line[p->line_len++] = ptr[i];
        }
    }
    return n;
}

th_sse_stream *th_sse_collect(th_server *s, const char *path, double timeout)
{
    th_sse_stream *st = calloc(1, sizeof *st);
    th_transfer *t =
        transfer_base(s, path, (const char *const[]){"Accept: text/event-stream", NULL});
    if (!st || !t)
        exit(2);
    sse_parser p = {.st = st, .t0 = th_now()};
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &p);
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    CURLcode c = curl_easy_perform(t->easy);
    if (p.line_len) {
        p.line[p.line_len] = '\0';
        sse_line(&p, p.line);
    }
    sse_dispatch(&p); /* an event the server did not end with a blank line */
    free(p.line);
    th_response *r = th_transfer_done(t, c);
    st->status = r->status;
    st->content_type = r->content_type;
    r->content_type = NULL;
    st->code = c;
    st->ended = c == CURLE_OK;
    st->seconds = r->seconds;
    th_response_free(r);
    return st;
}

void th_sse_free(th_sse_stream *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->count; i++) {
        free(st->events[i].event);
        free(st->events[i].id);
        free(st->events[i].data);
        json_decref(st->events[i].json);
    }
    free(st->events);
    free(st->content_type);
    free(st);
}

/* ---- JSON and jobs --------------------------------------------------------------------- */

json_t *th_jget(const json_t *o, const char *path)
{
    if (!o)
        return NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = (json_t *)o;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_get(cur, k);
        if (!cur)
            return NULL;
    }
    return cur;
}

const char *th_jstr(const json_t *o, const char *path)
{
    json_t *v = th_jget(o, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

double th_jnum(const json_t *o, const char *path, double def)
{
    json_t *v = th_jget(o, path);
    return json_is_number(v) ? json_number_value(v) : def;
}

bool th_jnull(const json_t *o, const char *path)
{
    return json_is_null(th_jget(o, path));
}

bool th_jarray_has_string(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

bool th_is_uuid_v4(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

bool th_is_timestamp(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (!s || strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return false;
    }
    return true;
}

char *th_submit(th_server *s, const char *file_path, const char *filename,
                const char *const *fields)
{
    th_response *r = th_upload(s, file_path, filename, fields, NULL);
    const char *id = th_jstr(r->json, "id");
    char *out = NULL;
    if (TH_CHECK(r->status == 202 && id, "upload %s -> 202 with a job id (got %s)", filename,
                 th_describe(r)))
        out = th__xstrdup(id);
    th_response_free(r);
    return out;
}

json_t *th_get_job(th_server *s, const char *id)
{
    th_response *r = th_getf(s, "/jobs/%s", id);
    json_t *j = NULL;
    if (r->status == 200 && json_is_object(r->json))
        j = json_incref(r->json);
    th_response_free(r);
    return j;
}

static bool status_in(const char *status, const char *list)
{
    if (!status)
        return false;
    size_t n = strlen(status);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, status, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

json_t *th_wait_job(th_server *s, const char *id, const char *statuses, double timeout)
{
    double t0 = th_now();
    char last[64] = "(no answer)";
    while (th_now() - t0 < timeout) {
        json_t *j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        if (st)
            snprintf(last, sizeof last, "%s", st);
        if (status_in(st, statuses))
            return j;
        json_decref(j);
        th_sleep(0.1);
    }
    th_note("job %s: still %s after %.0f s (waited for %s)", id, last, timeout, statuses);
    return NULL;
}

json_t *th_wait_running(th_server *s, const char *id, double min_progress, double timeout)
{
    double t0 = th_now();
    while (th_now() - t0 < timeout) {
        json_t *j = th_get_job(s, id);
        const char *st = th_jstr(j, "status");
        if (st && strcmp(st, "processing") == 0 && th_jnum(j, "progress", 0) > min_progress)
            return j;
        if (status_in(st, "completed,partial,error,cancelled"))
            return j;
        json_decref(j);
        th_sleep(0.05);
    }
    th_note("job %s: not processing with progress > %g after %.0f s", id, min_progress, timeout);
    return NULL;
}

json_t *th_list_all(th_server *s, const char *query, int limit, int *pages)
{
    json_t *all = json_array();
    char *cursor = NULL;
    int n = 0;
    for (;;) {
        char *path;
        if (cursor) {
            char *esc = curl_easy_escape(NULL, cursor, 0);
            path = th__strf("/jobs?limit=%d&cursor=%s%s%s", limit, esc, query ? "&" : "",
                            query ? query : "");
            curl_free(esc);
        } else {
            path = th__strf("/jobs?limit=%d%s%s", limit, query ? "&" : "", query ? query : "");
        }
        th_response *r = th_request(s, "GET", path, NULL, NULL, 0);
        free(path);
        free(cursor);
        cursor = NULL;
        json_t *jobs = th_jget(r->json, "jobs");
        if (r->status != 200 || !json_is_array(jobs) || n > 10000) {
            th_note("GET /jobs page %d failed: %s", n + 1, th_describe(r));
            th_response_free(r);
            json_decref(all);
            return NULL;
        }
        n++;
        json_array_extend(all, jobs);
        const char *next = th_jstr(r->json, "next_cursor");
        if (next)
            cursor = th__xstrdup(next);
        th_response_free(r);
        if (!cursor)
            break;
    }
    if (pages)
        *pages = n;
    return all;
}
