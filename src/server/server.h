/* server: the HTTP API of `cesar serve` (contract: docs/api.md, document:
 * src/server/openapi.json). It accepts uploads into per-job directories,
 * records jobs in the job store, lists and serves them, streams their
 * progress as Server-Sent Events, and asks the worker pool to start or cancel
 * work. It never transcribes: workers do, and the job row in the store is the
 * only thing the two share.
 *
 * Built on libmicrohttpd (an internal thread pool on epoll, with suspended
 * connections for event streams) and jansson.
 *
 * Lifecycle. server_new validates the parameters and opens the store handles
 * (one per HTTP thread, so reads do not queue behind one another);
 * server_start binds and starts answering; server_attach_pool connects the
 * worker pool; server_quiesce stops accepting
 * new connections (shutdown begins: uploads get 503); server_stop ends event
 * streams and closes every connection; server_free releases everything.
 * new/start/quiesce/stop/free are called from one thread, in that order.
 *
 * Errors. Functions return a server_err and write a message into the
 * caller-owned buffer err (capacity errlen; may be NULL/0). The server never
 * prints: messages go to the log callback.
 */
#ifndef CESAR_SERVER_H
#define CESAR_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "worker/worker.h"

typedef enum {
    SERVER_OK = 0,
    SERVER_ERR_INVALID, /* bad parameter; message names it */
    SERVER_ERR_NOMEM,
    SERVER_ERR_STORE,   /* the job store could not be opened */
    SERVER_ERR_IO,      /* the data directory cannot be created or written */
    SERVER_ERR_LISTEN,  /* the address cannot be bound; message names it */
} server_err;

const char *server_strerror(int code);

typedef enum {
    SERVER_LOG_DEBUG = 0,
    SERVER_LOG_INFO,
    SERVER_LOG_WARN,
    SERVER_LOG_ERROR,
} server_log_level;

/* Called from HTTP threads; must be thread-safe. message is borrowed. */
typedef void (*server_log_cb)(server_log_level level, const char *message, void *user_data);

typedef struct {
    const char *host;          /* address to bind; default "127.0.0.1" */
    int port;                  /* 0 = any free port (see server_port) */
    const char *db_path;       /* job store (store_params.path); required */
    const char *data_dir;      /* job files go to DATA_DIR/jobs/ID/; required */
    const char *docs_dir;      /* built /docs site; NULL or missing = 503 on /docs */
    const char *api_key;       /* NULL/"" = no authentication */
    long long max_upload_size; /* bytes; default 2 GiB */
    int http_threads;          /* request threads; <= 0: 2 per core, at least 4 */
    /* Defaults for fields a submission leaves out. NULL/"" = the engine's. */
    const char *engine;
    const char *model;
    const char *language;
    const char *models_dir; /* where named Whisper models live (models_dir_default) */
    const char *format; /* default result format; default "txt" */
    bool diarize;       /* used when diarization is available and not given */
    int min_speakers;   /* 0 = unset */
    int max_speakers;
    const char *diarization_engine; /* NULL/"" = "builtin" */
    /* The configured Hugging Face token (the config file's hf_token;
     * NULL/"" = unset): GET /health says whether a token is available for
     * the pyannote engine, never what it is. */
    const char *hf_token;
    server_log_cb log; /* may be NULL */
    void *log_user_data;
    /* The yt-dlp program GET /health reports on (youtube section);
     * NULL/"" = "yt-dlp" from PATH. Links themselves are downloaded by the
     * workers (worker_params), never by the server. */
    const char *ytdlp_path;
} server_params;

server_params server_default_params(void);

typedef struct server server;

/* Copies p's strings. Caller owns *out; free with server_free. */
int server_new(server **out, const server_params *p, char *err, size_t errlen);

/* Binds and starts answering. Binding before the workers start means a
 * server that cannot listen fails before any job is claimed. */
int server_start(server *s, char *err, size_t errlen);

/* Gives the server the worker pool (borrowed, may be NULL) it wakes when a
 * job is queued and asks to cancel jobs that are deleted; it must outlive
 * server_stop. Until then queued jobs wait for the pool's first claim. To
 * stream worker progress, give the pool server_on_worker_event with this
 * server as user data. Thread-safe. */
void server_attach_pool(server *s, worker_pool *pool);

/* The port actually bound (useful with port 0); 0 before server_start. */
int server_port(const server *s);

/* Forwards a worker event to the event streams watching that job. Matches
 * worker_event_cb; user_data is the server. Thread-safe. */
void server_on_worker_event(worker_event event, const char *job_id, void *user_data);

/* Stops accepting connections; requests on open connections still get
 * answers, but new submissions get 503 shutting_down. */
void server_quiesce(server *s);

/* Ends event streams and closes every connection. Safe to call twice. */
void server_stop(server *s);

void server_free(server *s); /* NULL-safe; stops first if needed */

/* ---- routes, for documentation checks ---------------------------------- */

typedef struct {
    const char *method;  /* "GET", "POST", "DELETE" */
    const char *pattern; /* "/jobs/{id}/result"; "/docs/{path}" matches below /docs/ */
} server_route;

/* Every route the server answers; *count receives their number. Static. */
const server_route *server_routes(size_t *count);

#endif
