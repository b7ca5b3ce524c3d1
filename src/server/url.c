/* url: POST /transcribe/url — submissions by link. The handler only checks
 * the body and queues the job: the link is classified (fetch_classify), the
 * options resolved exactly as the upload form's (fields.c), the job's
 * directory created and the row written with source_url and the audio_path
 * the worker will download to. Nothing is fetched here: a download may take
 * an hour, and worker threads, not HTTP threads, do long work (worker.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fetch/fetch.h"
#include "server/fields.h"
#include "server/internal.h"

/* The JSON members accepted, for messages. */
#define URL_MEMBERS                                                                                \
    "url, model, engine, language, format, diarize, min_speakers, max_speakers, "               \
    "diarization_engine, no_cache"

/* What the body asked for, once checked. Strings are borrowed from the
 * parsed body, the server or static tables. */
typedef struct {
    const char *url;
    bool no_cache;
    char original_name[256]; /* "" = none */
    server__form form;
    server__job_fields fields;
} url_request;

/* A rejected body: status, code, field and message for the answer. */
typedef struct {
    unsigned status;
    const char *code;
    char field[40];
    char message[1024];
} url_problem;

static int reject(url_problem *p, unsigned status, const char *code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int reject(url_problem *p, unsigned status, const char *code, const char *field,
                  const char *fmt, ...)
{
    p->status = status;
    p->code = code;
    util_strlcpy(p->field, field ? field : "", sizeof p->field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    return 1;
}

/* One option member as the form's text, so fields.c checks it exactly as
 * it checks an upload's form field. null means "the server's default". */
static int add_member(url_request *u, const char *key, json_t *v, url_problem *p)
{
    char text[64];
    const char *data = NULL;
    if (json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        data = json_string_value(v);
    } else if (json_is_boolean(v)) {
        data = json_is_true(v) ? "true" : "false";
    } else if (json_is_integer(v)) {
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        data = text;
    } else {
        return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", key,
                      "'%s' must be a string, an integer or a boolean", key);
    }
    char why[512];
    if (server__form_add(&u->form, key, data, 0, strlen(data), why, sizeof why) != 0)
        return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", key, "%s", why);
    return 0;
}

static int check_url(url_request *u, json_t *v, url_problem *p)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", "url",
                      "the body needs a non-empty string 'url'");
    u->url = json_string_value(v);
    if (json_string_length(v) > STORE_MAX_FIELD || strlen(u->url) != json_string_length(v))
        return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_url", "url",
                      "the url is longer than %u bytes or contains a NUL byte", STORE_MAX_FIELD);
    fetch_link_kind kind = FETCH_LINK_HTTP;
    char video_id[FETCH_VIDEO_ID_MAX] = "";
    char why[512] = "";
    if (fetch_classify(u->url, &kind, video_id, why, sizeof why) != FETCH_OK)
        return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_url", "url", "%s", why);
    /* The transcript's source: the video id or the last path segment. */
    fetch_link_name(u->url, u->original_name, sizeof u->original_name);
    return 0;
}

/* Checks every member of the body; 0 when u is ready for a job. */
static int check_body(server *s, json_t *body, url_request *u, url_problem *p)
{
    if (!json_is_object(body))
        return reject(p, MHD_HTTP_BAD_REQUEST, "malformed_request", NULL,
                      "the body must be a JSON object like {\"url\": \"https://...\"}");
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "url") == 0)
            continue;
        if (strcmp(key, "no_cache") == 0) {
            if (!json_is_boolean(v) && !json_is_null(v))
                return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", "no_cache",
                              "no_cache must be true or false");
            u->no_cache = json_is_true(v);
            continue;
        }
        if (strcmp(key, "file") == 0)
            return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", "file",
                          "unknown member 'file' (accepted: %s); to send a file, POST it "
                          "as multipart/form-data to /transcribe",
                          URL_MEMBERS);
        const char *refused = server__refused_field(key);
        if (refused)
            return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", key, "%s", refused);
        /* The form knows which option names exist; asking it with an empty
         * throwaway form keeps the list in one place (fields.c). */
        char why[64];
        server__form probe_form;
        server__form_init(&probe_form);
        if (server__form_add(&probe_form, key, "", 0, 0, why, sizeof why) != 0)
            return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", key,
                          "unknown member '%s' (accepted: %s)", key, URL_MEMBERS);
        if (add_member(u, key, v, p) != 0)
            return 1;
    }
    if (check_url(u, json_object_get(body, "url"), p) != 0)
        return 1;
    char field[40], why[1024];
    if (server__form_resolve(s, &u->form, &u->fields, field, sizeof field, why, sizeof why))
        return reject(p, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", field, "%s", why);
    return 0;
}

static enum MHD_Result send_problem(struct MHD_Connection *c, const url_problem *p)
{
    if (p->status == MHD_HTTP_UNPROCESSABLE_CONTENT && p->field[0])
        return server__send_field_error_code(c, p->code, p->field, "%s", p->message);
    return server__send_error(c, p->status, p->code, "%s", p->message);
}

/* Creates the job's directory and row; on failure removes the directory
 * and queues the error answer. */
static enum MHD_Result queue_job(server *s, struct MHD_Connection *c, const url_request *u)
{
    char id[STORE_ID_LEN + 1], dir[3800], audio_path[4096], err[1024];
    bool dir_created = false;
    store_job *job = NULL;
    enum MHD_Result res = MHD_NO;
    int rc = STORE_OK;

    if (store_new_job_id(id, err, sizeof err) != STORE_OK ||
        server__job_dir_create(s, id, err, sizeof err) != SERVER_OK) {
        server__log(s, SERVER_LOG_ERROR, "url job: %s", err);
        res = server__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                 "the server cannot create the job: %s", err);
        goto cleanup;
    }
    dir_created = true;
    server__job_dir(s, id, dir, sizeof dir);
    /* The same name an upload gets, so every later stage and a retry read
     * the audio the same way whichever route brought it. */
    snprintf(audio_path, sizeof audio_path, "%s/audio", dir);
    store_job f;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.audio_path = audio_path;
    f.source_url = (char *)u->url;
    f.original_name = u->original_name[0] ? (char *)u->original_name : NULL;
    f.engine = (char *)u->fields.engine;
    f.diarization_engine = (char *)u->fields.diarization_engine;
    f.model_size = (char *)u->fields.model;
    f.language = (char *)u->fields.language;
    f.format = (char *)u->fields.format;
    f.diarize = u->fields.diarize;
    f.min_speakers = u->fields.min_speakers;
    f.max_speakers = u->fields.max_speakers;
    f.no_cache = u->no_cache;
    rc = store_create_job(server__db(s), &f, &job, err, sizeof err);
    if (rc != STORE_OK) {
        server__log(s, SERVER_LOG_ERROR, "creating job %s: %s", id, err);
        res = server__send_store_error(c, rc == STORE_ERR_INVALID ? STORE_ERR_DB : rc, err);
        goto cleanup;
    }
    dir_created = false; /* the row owns it now */
    server__log(s, SERVER_LOG_INFO, "job %s queued: %s", id, u->url);
    worker_pool_notify(atomic_load(&s->pool));
    res = server__send_accepted(c, job);

cleanup:
    if (dir_created && server__job_dir_remove(s, id, err, sizeof err) != SERVER_OK)
        server__log(s, SERVER_LOG_WARN, "%s", err);
    store_job_free(job);
    return res;
}

enum MHD_Result server__handle_url(server *s, struct MHD_Connection *c, server__request *r)
{
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
    url_request u;
    url_problem p;
    memset(&u, 0, sizeof u);
    memset(&p, 0, sizeof p);
    server__form_init(&u.form);
    enum MHD_Result res =
        check_body(s, body, &u, &p) == 0 ? queue_job(s, c, &u) : send_problem(c, &p);
    json_decref(body); /* u borrows from it until here */
    return res;
}
