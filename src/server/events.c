/* events: GET /jobs/{id}/events — a job's status and progress as
 * Server-Sent Events, pushed as they happen.
 *
 * How a stream waits without holding a thread: its response is produced by
 * a content-reader callback. When the job has nothing new, the callback
 * suspends the connection (libmicrohttpd then stops polling it) and returns
 * nothing. Worker events and API changes (server__hub_wake) resume the
 * streams of that job; a ticker resumes every stream once a second, which
 * covers heartbeats and changes made by another process. A resumed stream
 * re-reads the job row — the row is the truth, events only say "look".
 *
 * Locking: hub.lock guards the list and each stream's suspended/wake flags;
 * MHD_suspend_connection is only called by the reader, under the lock, and
 * MHD_resume_connection only under the lock with suspended set, so a stream
 * is never resumed twice or freed while suspended (libmicrohttpd does not
 * close a suspended connection).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/internal.h"

#define HEARTBEAT_SECONDS 15.0
#define PROGRESS_MIN_INTERVAL 0.25

struct server__stream {
    server *srv;
    struct MHD_Connection *conn;
    char id[STORE_ID_LEN + 1];
    server__stream *next;
    /* hub.lock */
    bool suspended;
    bool wake;
    /* the reader's own (one reader call at a time per connection) */
    util_buf out;
    size_t out_pos;
    bool done;
    long seq;
    bool sent_any;
    store_status last_status;
    char last_phase[32];
    double last_progress;
    double last_send;
    double last_progress_send;
};

int server__hub_init(server__hub *h)
{
    memset(h, 0, sizeof *h);
    if (pthread_mutex_init(&h->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&h->tick_cond, NULL) != 0) {
        pthread_mutex_destroy(&h->lock);
        return -1;
    }
    return 0;
}

static void resume_locked(server__stream *st)
{
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->conn);
    } else {
        st->wake = true;
    }
}

static void *ticker_main(void *arg)
{
    server *s = arg;
    server__hub *h = &s->hub;
    pthread_mutex_lock(&h->lock);
    while (!h->closing) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&h->tick_cond, &h->lock, &until);
        for (server__stream *st = h->streams; st; st = st->next)
            if (st->suspended)
                resume_locked(st);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int server__hub_start(server *s)
{
    if (pthread_create(&s->hub.ticker, NULL, ticker_main, s) != 0)
        return -1;
    s->hub.ticker_started = true;
    return 0;
}

void server__hub_wake(server *s, const char *id)
{
    server__hub *h = &s->hub;
    pthread_mutex_lock(&h->lock);
    for (server__stream *st = h->streams; st; st = st->next)
        if (!id || strcmp(st->id, id) == 0)
            resume_locked(st);
    pthread_mutex_unlock(&h->lock);
}

void server__hub_close(server *s)
{
    server__hub *h = &s->hub;
    pthread_mutex_lock(&h->lock);
    h->closing = true;
    for (server__stream *st = h->streams; st; st = st->next)
        resume_locked(st);
    pthread_cond_broadcast(&h->tick_cond);
    pthread_mutex_unlock(&h->lock);
    if (h->ticker_started) {
        pthread_join(h->ticker, NULL);
        h->ticker_started = false;
    }
}

void server__hub_destroy(server__hub *h)
{
    pthread_cond_destroy(&h->tick_cond);
    pthread_mutex_destroy(&h->lock);
}

void server_on_worker_event(worker_event event, const char *job_id, void *user_data)
{
    (void)event;
    server__hub_wake(user_data, job_id);
}

/* ---- the stream ---------------------------------------------------------- */

static bool is_final(store_status st)
{
    return st == STORE_STATUS_COMPLETED || st == STORE_STATUS_PARTIAL ||
           st == STORE_STATUS_ERROR || st == STORE_STATUS_CANCELLED;
}

static void put_event(server__stream *st, const char *name, json_t *data)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    util_buf_printf(&st->out, "event: %s\nid: %ld\ndata: %s\n\n", name, ++st->seq,
                    text ? text : "{}");
    free(text);
    st->last_send = util_now_seconds();
}

/* Queues what changed since the last event; true when something was queued. */
static bool collect(server__stream *st)
{
    store_job *j = NULL;
    char err[512];
    int rc = store_get_job(server__db(st->srv), st->id, &j, err, sizeof err);
    if (rc != STORE_OK) {
        json_t *e = json_pack("{s:{s:s, s:s}}", "error", "code",
                              rc == STORE_ERR_NOT_FOUND ? "not_found" : "internal", "message",
                              rc == STORE_ERR_NOT_FOUND ? "the job was deleted" : err);
        put_event(st, "error", e);
        json_decref(e);
        st->done = true;
        return true;
    }
    double now = util_now_seconds();
    const char *phase = j->progress_phase ? j->progress_phase : "";
    bool changed = !st->sent_any || j->status != st->last_status ||
                   strcmp(phase, st->last_phase) != 0;
    bool moved = j->progress != st->last_progress &&
                 now - st->last_progress_send >= PROGRESS_MIN_INTERVAL;
    bool queued = false;
    if (changed || moved) {
        json_t *data = server__job_json(j, false);
        put_event(st, "job", data);
        if (is_final(j->status)) {
            put_event(st, "done", data);
            st->done = true;
        }
        json_decref(data);
        st->sent_any = true;
        st->last_status = j->status;
        snprintf(st->last_phase, sizeof st->last_phase, "%s", phase);
        st->last_progress = j->progress;
        st->last_progress_send = now;
        queued = true;
    } else if (now - st->last_send >= HEARTBEAT_SECONDS) {
        util_buf_puts(&st->out, ": keep-alive\n\n");
        st->last_send = now;
        queued = true;
    }
    store_job_free(j);
    return queued;
}

static ssize_t copy_out(server__stream *st, char *buf, size_t max)
{
    size_t left = st->out.len - st->out_pos;
    size_t n = left < max ? left : max;
    memcpy(buf, st->out.data + st->out_pos, n);
    st->out_pos += n;
    if (st->out_pos == st->out.len) {
        util_buf_reset(&st->out);
        st->out_pos = 0;
    }
    return (ssize_t)n;
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    server__stream *st = cls;
    server__hub *h = &st->srv->hub;
    for (;;) {
        if (st->out.len > st->out_pos)
            return copy_out(st, buf, max);
        if (st->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&h->lock);
        bool closing = h->closing;
        pthread_mutex_unlock(&h->lock);
        if (closing)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (collect(st))
            continue;
        pthread_mutex_lock(&h->lock);
        if (st->wake || h->closing) {
            st->wake = false;
            pthread_mutex_unlock(&h->lock);
            continue;
        }
        st->suspended = true;
        MHD_suspend_connection(st->conn);
        pthread_mutex_unlock(&h->lock);
        return 0;
    }
}

static void free_stream(void *cls)
{
    server__stream *st = cls;
    server__hub *h = &st->srv->hub;
    pthread_mutex_lock(&h->lock);
    for (server__stream **p = &h->streams; *p; p = &(*p)->next) {
        if (*p == st) {
            *p = st->next;
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    util_buf_free(&st->out);
    free(st);
}

enum MHD_Result server__handle_events(server *s, struct MHD_Connection *c, server__request *r)
{
    enum MHD_Result res = MHD_NO;
    store_job *j = server__load_job(s, c, r, &res);
    if (!j)
        return res;
    store_job_free(j); /* the stream reads the row itself, from its first event */
    server__stream *st = calloc(1, sizeof *st);
    if (!st)
        return MHD_NO;
    st->srv = s;
    st->conn = c;
    memcpy(st->id, r->id, STORE_ID_LEN);
    util_buf_init(&st->out, 1024 * 1024);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_stream, st, free_stream);
    if (!resp) {
        util_buf_free(&st->out);
        free(st);
        return MHD_NO;
    }
    pthread_mutex_lock(&s->hub.lock);
    st->next = s->hub.streams;
    s->hub.streams = st;
    pthread_mutex_unlock(&s->hub.lock);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    res = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return res;
}
