/* server lifecycle and request dispatch: parameters, the libmicrohttpd
 * daemon, the access handler that authenticates, routes and hands requests to
 * their handlers, and the completion callback that frees per-request state. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "server/internal.h"
#include "util/util.h"

const char *server_strerror(int code)
{
    switch (code) {
    case SERVER_OK: return "success";
    case SERVER_ERR_INVALID: return "invalid parameter";
    case SERVER_ERR_NOMEM: return "out of memory";
    case SERVER_ERR_STORE: return "job store error";
    case SERVER_ERR_IO: return "input/output error";
    case SERVER_ERR_LISTEN: return "cannot listen";
    default: return "unknown error";
    }
}

server_params server_default_params(void)
{
    server_params p;
    memset(&p, 0, sizeof p);
    p.host = "127.0.0.1";
    p.port = 8000;
    p.max_upload_size = 2LL * 1024 * 1024 * 1024;
    p.format = "txt";
    return p;
}

void server__log(server *s, server_log_level level, const char *fmt, ...)
{
    if (!s->log)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->log_lock);
    s->log(level, msg, s->log_user_data);
    pthread_mutex_unlock(&s->log_lock);
}

store *server__db(server *s)
{
    static _Thread_local int index = -1;
    if (index < 0)
        index = atomic_fetch_add(&s->next_db, 1);
    return s->db[index % s->n_db];
}

static char *dup_or_null(const char *v)
{
    return v && *v ? util_strdup(v) : NULL;
}

/* Whether dup_or_null(v) ran out of memory, copy being what it returned. */
static bool dup_failed(const char *v, const char *copy)
{
    return v && *v && !copy;
}

static int default_http_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cores > 0 ? (int)cores * 2 : 4;
    if (n < 4)
        n = 4;
    return n > SERVER__MAX_DB ? SERVER__MAX_DB : n;
}

static int copy_params(server *s, const server_params *p, char *err, size_t errlen)
{
    if (!p->db_path || !*p->db_path)
        return util_errf(err, errlen, SERVER_ERR_INVALID, "server: no job database path");
    if (!p->data_dir || !*p->data_dir)
        return util_errf(err, errlen, SERVER_ERR_INVALID, "server: no data directory");
    if (p->port < 0 || p->port > 65535)
        return util_errf(err, errlen, SERVER_ERR_INVALID,
                         "server: port must be between 0 and 65535, got %d", p->port);
    if (p->max_upload_size <= 0)
        return util_errf(err, errlen, SERVER_ERR_INVALID,
                         "server: max_upload_size must be positive");
    s->host = util_strdup(p->host && *p->host ? p->host : "127.0.0.1");
    s->port = p->port;
    s->db_path = util_strdup(p->db_path);
    s->data_dir = util_strdup(p->data_dir);
    size_t n = strlen(p->data_dir) + sizeof "/jobs";
    s->jobs_dir = malloc(n);
    if (s->jobs_dir)
        snprintf(s->jobs_dir, n, "%s/jobs", p->data_dir);
    s->docs_dir = dup_or_null(p->docs_dir);
    s->api_key = dup_or_null(p->api_key);
    s->max_upload_size = p->max_upload_size;
    s->http_threads = p->http_threads > 0 ? p->http_threads : default_http_threads();
    if (s->http_threads > SERVER__MAX_DB)
        s->http_threads = SERVER__MAX_DB;
    s->engine = dup_or_null(p->engine);
    s->model = dup_or_null(p->model);
    s->language = dup_or_null(p->language);
    s->models_dir = dup_or_null(p->models_dir);
    s->format = util_strdup(p->format && *p->format ? p->format : "txt");
    s->diarize = p->diarize;
    s->min_speakers = p->min_speakers;
    s->max_speakers = p->max_speakers;
    s->diarization_engine =
        util_strdup(p->diarization_engine && *p->diarization_engine ? p->diarization_engine
                                                                   : "builtin");
    s->hf_token = dup_or_null(p->hf_token);
    s->log = p->log;
    s->log_user_data = p->log_user_data;
    s->ytdlp_path = dup_or_null(p->ytdlp_path);
    if (!s->host || !s->db_path || !s->data_dir || !s->jobs_dir || !s->format ||
        !s->diarization_engine || dup_failed(p->hf_token, s->hf_token) ||
        dup_failed(p->docs_dir, s->docs_dir) || dup_failed(p->api_key, s->api_key) ||
        dup_failed(p->engine, s->engine) || dup_failed(p->model, s->model) ||
        dup_failed(p->language, s->language) || dup_failed(p->models_dir, s->models_dir) ||
        dup_failed(p->ytdlp_path, s->ytdlp_path))
        return util_errf(err, errlen, SERVER_ERR_NOMEM, "out of memory");
    return SERVER_OK;
}

int server_new(server **out, const server_params *p, char *err, size_t errlen)
{
    *out = NULL;
    server *s = calloc(1, sizeof *s);
    if (!s)
        return util_errf(err, errlen, SERVER_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->log_lock, NULL);
    pthread_mutex_init(&s->cache_lock, NULL);
    pthread_mutex_init(&s->engines_lock, NULL);
    int rc = server__hub_init(&s->hub);
    if (rc != 0) {
        pthread_mutex_destroy(&s->log_lock);
        pthread_mutex_destroy(&s->cache_lock);
        pthread_mutex_destroy(&s->engines_lock);
        free(s);
        return util_errf(err, errlen, SERVER_ERR_NOMEM, "out of memory");
    }
    rc = copy_params(s, p, err, errlen);
    if (rc != SERVER_OK)
        goto cleanup;
    if (util_mkdir_p(s->jobs_dir, err, errlen) != UTIL_OK) {
        rc = SERVER_ERR_IO;
        goto cleanup;
    }
    store_params sp = store_default_params();
    sp.path = s->db_path;
    for (s->n_db = 0; s->n_db < s->http_threads; s->n_db++) {
        if (store_open(&s->db[s->n_db], &sp, err, errlen) != STORE_OK) {
            rc = SERVER_ERR_STORE;
            goto cleanup;
        }
    }
    *out = s;
    return SERVER_OK;

cleanup:
    server_free(s);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------ */

static enum MHD_Result start_request(server *s, struct MHD_Connection *c, const char *url,
                                     const char *method, server__request *r)
{
    if (strcmp(url, "/health") != 0 && !server__authorized(s, c))
        return server__send_error_header(c, MHD_HTTP_UNAUTHORIZED, "WWW-Authenticate",
                                         "Bearer realm=\"cesar\"", "unauthorized",
                                         "missing or wrong API key: send 'Authorization: "
                                         "Bearer <key>'");
    bool known = false;
    char allow[64] = "";
    r->route = server__route_match(method, url, r, &known, allow, sizeof allow);
    if (r->route < 0 && known)
        return server__send_error_header(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Allow", allow,
                                         "method_not_allowed",
                                         "%s is not allowed on %s (allowed: %s)", method, url,
                                         allow);
    if (r->route < 0)
        return server__send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no route %s %s", method,
                                  url);
    r->kind = server__route_at(r->route)->kind;
    /* Draining: connections opened before the signal still get answers, but
     * only "go elsewhere" (and the connection closes), so no new work starts
     * and clients move on to the next server. /health says "stopping". */
    if (atomic_load(&s->stopping) && strcmp(url, "/health") != 0)
        return server__send_error_header(c, MHD_HTTP_SERVICE_UNAVAILABLE, "Connection", "close",
                                         "shutting_down",
                                         "the server is shutting down; try again shortly");
    return MHD_YES;
}

static enum MHD_Result collect_json_body(server__request *r, const char *data, size_t *size)
{
    const size_t limit = 64 * 1024;
    if (r->body_len + *size > limit) {
        r->body_too_large = true;
    } else {
        char *grown = realloc(r->body, r->body_len + *size + 1);
        if (!grown)
            return MHD_NO;
        memcpy(grown + r->body_len, data, *size);
        r->body = grown;
        r->body_len += *size;
        r->body[r->body_len] = '\0';
    }
    *size = 0;
    return MHD_YES;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *c, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    (void)version;
    server *s = cls;
    server__request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->route = -1;
        *con_cls = r;
        enum MHD_Result res = start_request(s, c, url, method, r);
        if (r->route < 0 || res != MHD_YES)
            return res;
        if (r->kind == SERVER__REQ_UPLOAD)
            return server__upload_begin(s, c, r);
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (r->kind == SERVER__REQ_UPLOAD)
            return server__upload_feed(r->upload, upload_data, upload_data_size);
        if (r->kind == SERVER__REQ_JSON)
            return collect_json_body(r, upload_data, upload_data_size);
        *upload_data_size = 0; /* a body on a route that takes none is ignored */
        return MHD_YES;
    }
    return server__route_at(r->route)->handler(s, c, r);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    server *s = cls;
    server__request *r = *con_cls;
    if (!r)
        return;
    if (r->upload)
        server__upload_free(s, r->upload);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* ---- start / stop -------------------------------------------------------- */

static int resolve_bind_address(const server *s, struct sockaddr_storage *addr,
                                socklen_t *len, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    int g = getaddrinfo(s->host, port, &hints, &res);
    if (g != 0 || !res)
        return util_errf(err, errlen, SERVER_ERR_LISTEN, "cannot resolve host '%s': %s", s->host,
                         gai_strerror(g));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return SERVER_OK;
}

int server_start(server *s, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = 0;
    int rc = resolve_bind_address(s, &addr, &addrlen, err, errlen);
    if (rc != SERVER_OK)
        return rc;
    server__job_dirs_sweep(s);
    server__youtube_refresh(s);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_TURBO;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)4000, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, s, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)1024, MHD_OPTION_END);
    if (!s->daemon)
        return util_errf(err, errlen, SERVER_ERR_LISTEN,
                         "cannot listen on %s port %d (address in use, or not an address of "
                         "this machine?)",
                         s->host, s->port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->bound_port = info ? info->port : s->port;
    if (server__hub_start(s) != 0) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        return util_errf(err, errlen, SERVER_ERR_NOMEM, "cannot start the event-stream thread");
    }
    return SERVER_OK;
}

void server_attach_pool(server *s, worker_pool *pool)
{
    atomic_store(&s->pool, pool);
}

int server_port(const server *s)
{
    return s ? s->bound_port : 0;
}

void server_quiesce(server *s)
{
    if (!s || !s->daemon)
        return;
    atomic_store(&s->stopping, true);
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void server_stop(server *s)
{
    if (!s || s->stopped)
        return;
    s->stopped = true;
    atomic_store(&s->stopping, true);
    server__hub_close(s);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}

void server_free(server *s)
{
    if (!s)
        return;
    server_stop(s);
    server__hub_destroy(&s->hub);
    for (int i = 0; i < s->n_db; i++)
        store_close(s->db[i]);
    free(s->host);
    free(s->db_path);
    free(s->data_dir);
    free(s->jobs_dir);
    free(s->docs_dir);
    free(s->api_key);
    free(s->engine);
    free(s->model);
    free(s->language);
    free(s->models_dir);
    free(s->format);
    free(s->diarization_engine);
    free(s->hf_token);
    server__cache_clear(s);
    json_decref(s->engines);
    json_decref(s->youtube);
    free(s->ytdlp_path);
    pthread_mutex_destroy(&s->engines_lock);
    pthread_mutex_destroy(&s->cache_lock);
    pthread_mutex_destroy(&s->log_lock);
    free(s);
}
