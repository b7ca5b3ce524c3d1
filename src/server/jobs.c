/* jobs: the routes on existing jobs — list, get, retry and delete (cancel or
 * purge). The store decides which transitions are legal; these handlers map
 * its answers to statuses and keep files and running work in step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

store_job *server__load_job(server *s, struct MHD_Connection *c, const server__request *r,
                            enum MHD_Result *res)
{
    if (!store_is_job_id(r->id)) {
        *res = server__send_error(c, MHD_HTTP_NOT_FOUND, "not_found",
                                  "no job '%s' (job ids are lower-case UUIDs)", r->id);
        return NULL;
    }
    store_job *j = NULL;
    char err[1024];
    int rc = store_get_job(server__db(s), r->id, &j, err, sizeof err);
    if (rc == STORE_ERR_NOT_FOUND) {
        *res = server__send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no job %s", r->id);
        return NULL;
    }
    if (rc != STORE_OK) {
        *res = server__send_store_error(c, rc, err);
        return NULL;
    }
    return j;
}

enum MHD_Result server__handle_get(server *s, struct MHD_Connection *c, server__request *r)
{
    enum MHD_Result res = MHD_NO;
    store_job *j = server__load_job(s, c, r, &res);
    if (!j)
        return res;
    size_t len = 0;
    char *text = server__cache_get(s, j, &len);
    if (!text) {
        json_t *body = server__job_json(j, true);
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (text) {
            len = strlen(text);
            server__cache_put(s, j, text, len);
        }
    }
    store_job_free(j);
    if (!text)
        return server__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                  "out of memory");
    return server__send_owned(c, MHD_HTTP_OK, "application/json", text, len);
}

static const char *query(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static bool parse_limit(const char *v, int *out)
{
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < 1 || x > STORE_LIST_MAX_LIMIT)
        return false;
    *out = (int)x;
    return true;
}

enum MHD_Result server__handle_list(server *s, struct MHD_Connection *c, server__request *r)
{
    (void)r;
    store_list_params lp = store_default_list_params();
    const char *status = query(c, "status");
    const char *limit = query(c, "limit");
    const char *cursor = query(c, "cursor");
    if (status) {
        if (!store_status_parse(status, &lp.status))
            return server__send_field_error(c, "status",
                                            "status '%s' is not a job status; allowed: queued, "
                                            "downloading, processing, completed, partial, error, "
                                            "cancelled",
                                            status);
        lp.has_status = true;
    }
    if (limit && !parse_limit(limit, &lp.limit))
        return server__send_field_error(c, "limit",
                                        "limit must be an integer from 1 to %d, got '%s'",
                                        STORE_LIST_MAX_LIMIT, limit);
    if (cursor && *cursor)
        lp.cursor = cursor;
    store_job_list *list = NULL;
    char err[1024];
    int rc = store_list_jobs(server__db(s), &lp, &list, err, sizeof err);
    if (rc == STORE_ERR_INVALID)
        return server__send_field_error(c, "cursor",
                                        "cursor is not one this server returned: %s", err);
    if (rc != STORE_OK)
        return server__send_store_error(c, rc, err);
    json_t *jobs = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(jobs, server__job_json(&list->items[i], false));
    json_t *body = json_pack("{s:o, s:o}", "jobs", jobs, "next_cursor",
                             list->next_cursor ? json_string(list->next_cursor) : json_null());
    store_job_list_free(list);
    return server__send_json_steal(c, MHD_HTTP_OK, body);
}

enum MHD_Result server__handle_retry(server *s, struct MHD_Connection *c, server__request *r)
{
    enum MHD_Result res = MHD_NO;
    store_job *j = server__load_job(s, c, r, &res);
    if (!j)
        return res;
    if (j->status != STORE_STATUS_ERROR && j->status != STORE_STATUS_PARTIAL) {
        res = server__send_error(c, MHD_HTTP_CONFLICT, "invalid_state",
                                 "job %s is %s; only jobs in status error or partial can be "
                                 "retried",
                                 j->id, store_status_name(j->status));
        store_job_free(j);
        return res;
    }
    store_job_free(j);
    store_job *after = NULL;
    char err[1024];
    int rc = store_set_status(server__db(s), r->id, STORE_STATUS_QUEUED, &after, err, sizeof err);
    if (rc != STORE_OK)
        return server__send_store_error(c, rc, err);
    server__log(s, SERVER_LOG_INFO, "job %s re-queued%s", r->id,
                after->retry_stage ? " (diarization only)" : "");
    worker_pool_notify(atomic_load(&s->pool));
    server__hub_wake(s, r->id);
    json_t *body = server__job_json(after, false);
    store_job_free(after);
    return server__send_json_steal(c, MHD_HTTP_ACCEPTED, body);
}

static bool purge_requested(struct MHD_Connection *c, bool *valid)
{
    const char *v = query(c, "purge");
    *valid = true;
    if (!v)
        return false;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return true;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return false;
    *valid = false;
    return false;
}

static bool is_active(store_status st)
{
    return st == STORE_STATUS_QUEUED || st == STORE_STATUS_DOWNLOADING ||
           st == STORE_STATUS_PROCESSING;
}

/* Cancels an active job: the row first (so its worker, and any other
 * process, sees it), then the running engine. */
static int cancel_job(server *s, const char *id, store_job **after, char *err, size_t n)
{
    int rc = store_set_status(server__db(s), id, STORE_STATUS_CANCELLED, after, err, n);
    if (rc == STORE_OK)
        worker_pool_cancel(atomic_load(&s->pool), id); /* not running here is fine */
    return rc;
}

enum MHD_Result server__handle_delete(server *s, struct MHD_Connection *c, server__request *r)
{
    bool valid = true;
    bool purge = purge_requested(c, &valid);
    if (!valid)
        return server__send_field_error(c, "purge", "purge must be true or false, got '%s'",
                                        query(c, "purge"));
    enum MHD_Result res = MHD_NO;
    store_job *j = server__load_job(s, c, r, &res);
    if (!j)
        return res;
    store_status st = j->status;
    store_job_free(j);
    if (!purge && !is_active(st) && st != STORE_STATUS_CANCELLED)
        return server__send_error(c, MHD_HTTP_CONFLICT, "invalid_state",
                                  "job %s is %s: there is nothing to cancel; use "
                                  "DELETE /jobs/%s?purge=true to delete it",
                                  r->id, store_status_name(st), r->id);
    store_job *after = NULL;
    char err[1024];
    int rc = STORE_OK;
    if (is_active(st))
        rc = cancel_job(s, r->id, &after, err, sizeof err);
    /* A job that finished between the read and the cancel can still be
     * purged; without purge the conflict is the answer. */
    if (rc != STORE_OK && !(purge && rc == STORE_ERR_CONFLICT))
        return server__send_store_error(c, rc, err);
    char derr[1024];
    if (server__job_dir_remove(s, r->id, derr, sizeof derr) != SERVER_OK)
        server__log(s, SERVER_LOG_WARN, "job %s: %s", r->id, derr);
    server__hub_wake(s, r->id);
    if (purge) {
        store_job_free(after);
        rc = store_delete_job(server__db(s), r->id, err, sizeof err);
        if (rc != STORE_OK && rc != STORE_ERR_NOT_FOUND)
            return server__send_store_error(c, rc, err);
        server__log(s, SERVER_LOG_INFO, "job %s deleted", r->id);
        return server__send_empty(c, MHD_HTTP_NO_CONTENT);
    }
    if (!after && store_get_job(server__db(s), r->id, &after, err, sizeof err) != STORE_OK)
        return server__send_store_error(c, STORE_ERR_DB, err);
    server__log(s, SERVER_LOG_INFO, "job %s cancelled", r->id);
    json_t *body = server__job_json(after, false);
    store_job_free(after);
    return server__send_json_steal(c, MHD_HTTP_OK, body);
}
