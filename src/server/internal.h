/* server internals shared by the files of src/server/. Not a public header.
 *
 * Threads. libmicrohttpd calls the access handler on its pool threads. Each
 * request owns its server__request (created on the first call for that
 * request, freed by the completion callback). The server struct is read-only
 * after server_start except: `stopping` (atomic), the event hub (behind its
 * own lock, hub.lock) and the log (behind log_lock). Store handles are
 * shared: each has its own mutex (see store.h), and a thread picks one by
 * its thread-local index, so pool threads rarely wait on each other.
 */
#ifndef CESAR_SERVER_INTERNAL_H
#define CESAR_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/server.h"
#include "store/store.h"
#include "util/util.h"

#define SERVER__MAX_DB 16
#define SERVER__FIELD_MAX 1024 /* longest accepted form field value */

/* One open event stream (GET /jobs/{id}/events). Lives from the handler
 * until libmicrohttpd frees its response. Fields below `lock-protected` are
 * guarded by hub.lock. */
typedef struct server__stream server__stream;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t tick_cond;
    server__stream *streams; /* lock-protected list */
    bool closing;            /* lock-protected: end every stream */
    bool ticker_started;
    pthread_t ticker;        /* resumes streams every second (heartbeats) */
} server__hub;

#define SERVER__CACHE_SLOTS 256
#define SERVER__CACHE_TS_MAX 40 /* room for updated_at ("2026-11-26T01:25:19.123Z") */

typedef struct {
    char id[STORE_ID_LEN + 1];
    char updated_at[SERVER__CACHE_TS_MAX];
    store_status status;
    char *body; /* NULL = empty slot */
    size_t len;
} server__cache_entry;

struct server {
    /* parameters (owned copies) */
    char *host;
    int port;
    char *db_path;
    char *data_dir;
    char *jobs_dir; /* DATA_DIR/jobs */
    char *docs_dir;
    char *api_key;
    long long max_upload_size;
    int http_threads;
    char *engine, *model, *language, *format, *models_dir;
    char *diarization_engine; /* never NULL */
    /* what GET /health reports on the pyannote engine (never contacting the
     * hub): the configured token (may be NULL) and the data directory */
    char *hf_token;
    bool diarize;
    int min_speakers, max_speakers;
    server_log_cb log;
    void *log_user_data;

    store *db[SERVER__MAX_DB];
    int n_db;
    atomic_int next_db;

    struct MHD_Daemon *daemon;
    int bound_port;
    worker_pool *_Atomic pool; /* borrowed; attached after the server starts */
    atomic_bool stopping;
    bool stopped;
    server__hub hub;
    pthread_mutex_t log_lock;
    pthread_mutex_t cache_lock; /* guards cache */
    pthread_mutex_t engines_lock; /* guards engines, engines_at and youtube* */
    json_t *engines;              /* GET /health's engine facts, rebuilt when stale */
    double engines_at;
    char *ytdlp_path;             /* NULL = "yt-dlp" */
    json_t *youtube;              /* GET /health's yt-dlp facts, rebuilt when stale */
    double youtube_at;
    bool youtube_busy;            /* a thread is running yt-dlp --version */
    server__cache_entry cache[SERVER__CACHE_SLOTS];
};

/* What a request is, decided on its first call. */
typedef enum {
    SERVER__REQ_SIMPLE = 0, /* no body expected or body ignored */
    SERVER__REQ_UPLOAD,     /* POST /transcribe */
    SERVER__REQ_JSON,       /* POST /transcribe/url: body collected */
} server__req_kind;

typedef struct server__upload server__upload;

typedef struct {
    server__req_kind kind;
    int route;               /* index in the route table, -1 = none */
    char id[40];             /* the {id} segment, when the route has one */
    char tail[512];          /* the {path} of /docs/{path} */
    server__upload *upload;  /* REQ_UPLOAD */
    char *body;              /* REQ_JSON: collected body */
    size_t body_len;
    bool body_too_large;
} server__request;

/* ---- logging ---- */
void server__log(server *s, server_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The store handle for the calling thread. */
store *server__db(server *s);

/* ---- responses (respond.c): each queues a response and returns the
 * libmicrohttpd result for the access handler ---- */
enum MHD_Result server__send_json(struct MHD_Connection *c, unsigned status, json_t *body);
enum MHD_Result server__send_json_steal(struct MHD_Connection *c, unsigned status,
                                        json_t *body); /* takes the reference */
enum MHD_Result server__send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same with one extra header (Allow, WWW-Authenticate). */
enum MHD_Result server__send_error_header(struct MHD_Connection *c, unsigned status,
                                          const char *header, const char *value,
                                          const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
enum MHD_Result server__send_field_error(struct MHD_Connection *c, const char *field,
                                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result server__send_bytes(struct MHD_Connection *c, unsigned status,
                                   const char *content_type, const void *data, size_t len);
/* Takes data (malloc'ed), freeing it whatever happens. */
enum MHD_Result server__send_owned(struct MHD_Connection *c, unsigned status,
                                   const char *content_type, char *data, size_t len);
enum MHD_Result server__send_empty(struct MHD_Connection *c, unsigned status);
/* A 422 naming field with a more precise code than invalid_field
 * ("invalid_url"). */
enum MHD_Result server__send_field_error_code(struct MHD_Connection *c, const char *code,
                                              const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a store error to a status and error response. */
enum MHD_Result server__send_store_error(struct MHD_Connection *c, int rc, const char *msg);

/* ---- routes (routes.c) ---- */
typedef enum MHD_Result (*server__handler)(server *s, struct MHD_Connection *c,
                                           server__request *r);
typedef struct {
    server_route route;
    server__handler handler;
    server__req_kind kind;
} server__route_entry;

/* Finds the route for method + path. Returns its index, or -1 with
 * *path_known telling whether another method would have matched (405) and
 * allow (capacity n) listing those methods. Fills r->id / r->tail. */
int server__route_match(const char *method, const char *path, server__request *r,
                        bool *path_known, char *allow, size_t n);
const server__route_entry *server__route_at(int index);

/* ---- auth (auth.c) ---- */
bool server__authorized(const server *s, struct MHD_Connection *c);

/* ---- jobs as JSON (job_json.c) ---- */
/* with_result: include result_text (the transcript as plain text). */
json_t *server__job_json(const store_job *j, bool with_result);

/* ---- jobs (jobs.c) ---- */
/* Reads the job named in the path ({id}). On failure (not an id, no such
 * job, store error) the error answer is queued, *res holds its result and
 * NULL is returned. Caller owns the job. */
store_job *server__load_job(server *s, struct MHD_Connection *c, const server__request *r,
                            enum MHD_Result *res);

/* ---- transcripts (result.c) ---- */
/* Renders the job's stored transcript (result_text, JSON) as kind into out.
 * FORMAT_* error with a message when it cannot be read back. */
int server__render_transcript(const store_job *j, int kind, util_buf *out, char *err,
                              size_t errlen);

/* ---- finished jobs' bodies (cache.c) ---- */
/* A copy of the cached body of j (caller frees), or NULL. */
char *server__cache_get(server *s, const store_job *j, size_t *len);
void server__cache_put(server *s, const store_job *j, const char *body, size_t len);
void server__cache_clear(server *s);

/* ---- job directories (jobdir.c) ---- */
/* DATA_DIR/jobs/ID into buf. */
void server__job_dir(const server *s, const char *id, char *buf, size_t n);
/* Creates it (and jobs/), fsyncing the parent so the entry survives a crash. */
int server__job_dir_create(const server *s, const char *id, char *err, size_t errlen);
/* Removes the job's directory and everything in it; missing is fine. */
int server__job_dir_remove(const server *s, const char *id, char *err, size_t errlen);
/* Removes directories under jobs/ whose job has no row (a crash between an
 * upload and its commit). Returns how many were removed. */
int server__job_dirs_sweep(server *s);

/* ---- health (health.c) ---- */
/* Runs yt-dlp --version now, so the first /health has the answer ready. */
void server__youtube_refresh(server *s);

/* ---- handlers ---- */
enum MHD_Result server__handle_health(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_upload(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_url(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_list(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_get(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_result(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_events(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_retry(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_delete(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_openapi(server *s, struct MHD_Connection *c, server__request *r);
enum MHD_Result server__handle_docs(server *s, struct MHD_Connection *c, server__request *r);

/* ---- uploads (upload.c): POST /transcribe in three steps ---- */
/* On the request's headers: checks them and prepares r->upload, or queues
 * the error answer. */
enum MHD_Result server__upload_begin(server *s, struct MHD_Connection *c, server__request *r);
/* Each chunk of body. MHD_YES to continue, MHD_NO to drop the connection. */
enum MHD_Result server__upload_feed(server__upload *u, const char *data, size_t *size);
/* The end of the body is the route's handler, server__handle_upload. */
void server__upload_free(server *s, server__upload *u); /* removes uncommitted files */
/* The answer to a submission that queued job: 202, the job, Location. */
enum MHD_Result server__send_accepted(struct MHD_Connection *c, const store_job *job);

/* ---- event hub (events.c) ---- */
int server__hub_init(server__hub *h);
int server__hub_start(server *s);
/* Wakes the streams of job id (NULL = all). */
void server__hub_wake(server *s, const char *id);
/* Ends every stream and stops the ticker. */
void server__hub_close(server *s);
void server__hub_destroy(server__hub *h);

/* ---- the embedded OpenAPI document (generated at build time) ---- */
extern const unsigned char server__openapi_json[];
extern const size_t server__openapi_json_len;

#endif
