/* cmd_serve: `cesar serve` — runs the HTTP API and the worker pool in one
 * process until SIGTERM or SIGINT, then shuts down gracefully: stop
 * accepting, give running jobs the shutdown timeout to finish, put the rest
 * back in the queue, exit 0.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait, so no handler runs in the middle of library code. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "models/models.h"
#include "server/server.h"
#include "store/store.h"
#include "util/util.h"
#include "worker/worker.h"

typedef struct {
    const char *config_path;
    int verbosity; /* -1 quiet, 0 normal, 1 verbose */
} serve_opts;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* One line per message: time, level, text. Both the server and the workers
 * log through here from their own threads. */
static void log_line(int level, const char *message, int verbosity)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    int min_level = verbosity < 0 ? 2 : verbosity > 0 ? 0 : 1;
    if (level < min_level)
        return;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s %s: %s\n", stamp, names[level < 0 || level > 3 ? 1 : level], message);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

static void server_log(server_log_level level, const char *message, void *user_data)
{
    log_line((int)level, message, *(const int *)user_data);
}

static void worker_log(worker_log_level level, const char *message, void *user_data)
{
    log_line((int)level, message, *(const int *)user_data);
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: cesar serve [options]\n"
            "\n"
            "Runs the HTTP API (see docs/api.md, or /docs once running) with a persistent job\n"
            "queue and background transcription workers.\n"
            "\n"
            "Options (defaults from the [server] config table and CESAR_SERVER_* variables):\n"
            "  --host ADDR              address to listen on (default 127.0.0.1)\n"
            "  --port N                 TCP port; 0 = any free port (default 8000)\n"
            "  --workers N              transcriptions run at once, 1-64 (default 1)\n"
            "  --db PATH                job database (default DATA_DIR/jobs.db)\n"
            "  --data-dir DIR           where job files and the database live\n"
            "  --shutdown-timeout SECS  time running jobs get on SIGTERM (default 30)\n"
            "  --max-upload-size SIZE   largest upload, bytes or 512M, 2G (default 2G)\n"
            "  --config PATH            configuration file to read instead of the default\n"
            "  -q, --quiet              log only warnings and errors\n"
            "  -v, --verbose            log debug messages too\n"
            "  -h, --help               show this help\n"
            "\n"
            "The API key is read from the config file (server.api_key) or the environment\n"
            "(CESAR_SERVER_API_KEY, CESAR_API_KEY), never from the command line.\n");
}

static const char *option_name(const struct option *longs, int val)
{
    for (; longs->name; longs++)
        if (longs->val == val)
            return longs->name;
    return "?";
}

/* Parses the options, applying value options to c as flags. Returns
 * CLI_EXIT_OK, or an exit code (help: -1 meaning "exit 0 now"). */
static int parse_options(int argc, char **argv, config *c, serve_opts *o)
{
    static const struct option longs[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"workers", required_argument, NULL, 'w'},
        {"db", required_argument, NULL, 'd'},
        {"data-dir", required_argument, NULL, 'D'},
        {"shutdown-timeout", required_argument, NULL, 's'},
        {"max-upload-size", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        int opt;
        const char *key;
    } keys[] = {
        {'H', "server.host"}, {'p', "server.port"}, {'w', "server.workers"},
        {'d', "server.db"},   {'D', "data_dir"},    {'s', "server.shutdown_timeout"},
        {'m', "server.max_upload_size"},
    };
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":qvh", longs, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            return -1;
        }
        if (ch == 'q' || ch == 'v') {
            o->verbosity = ch == 'q' ? -1 : 1;
            continue;
        }
        if (ch == 'c')
            continue; /* read before the file was loaded */
        if (ch == '?' || ch == ':') {
            cli_error("serve: %s option '%s' (see 'cesar serve --help')",
                      ch == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            if (keys[i].opt != ch)
                continue;
            char err[1024];
            if (config_set(c, keys[i].key, optarg, CONFIG_SRC_FLAG, err, sizeof err) !=
                CONFIG_OK) {
                cli_error("serve: --%s: %s", option_name(longs, ch), err);
                return CLI_EXIT_USAGE;
            }
        }
    }
    if (optind < argc) {
        cli_error("serve: unexpected argument '%s' (see 'cesar serve --help')", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* --config must be known before the file is read, and the file before the
 * other flags are applied (flags win), so it is looked up first. */
static const char *find_config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

static bool is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
           strncmp(host, "127.", 4) == 0;
}

static int requeue_interrupted(const char *db_path, int verbosity)
{
    store *db = NULL;
    char err[1024];
    store_params sp = store_default_params();
    sp.path = db_path;
    int count = 0;
    if (store_open(&db, &sp, err, sizeof err) != STORE_OK ||
        store_requeue_interrupted(db, &count, err, sizeof err) != STORE_OK) {
        store_close(db);
        cli_error("serve: %s", err);
        return CLI_EXIT_FAILURE;
    }
    store_close(db);
    if (count > 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "re-queued %d job%s interrupted by the last shutdown", count,
                 count == 1 ? "" : "s");
        log_line(SERVER_LOG_INFO, msg, verbosity);
    }
    return CLI_EXIT_OK;
}

static server_params make_server_params(const config_values *v, const char *db_path,
                                        const char *models_dir,
                                        int *verbosity)
{
    server_params sp = server_default_params();
    sp.host = v->server_host;
    sp.port = v->server_port;
    sp.db_path = db_path;
    sp.data_dir = v->data_dir;
#ifdef CESAR_DOCS_DIR
    sp.docs_dir = getenv("CESAR_DOCS_DIR") ? getenv("CESAR_DOCS_DIR") : CESAR_DOCS_DIR;
#else
    sp.docs_dir = getenv("CESAR_DOCS_DIR");
#endif
    sp.api_key = v->server_api_key;
    sp.max_upload_size = v->server_max_upload_size;
    sp.engine = v->engine;
    sp.model = v->model;
    sp.language = v->language;
    sp.models_dir = models_dir;
    sp.format = v->format;
    sp.diarize = v->diarize;
    sp.min_speakers = v->min_speakers;
    sp.max_speakers = v->max_speakers;
    sp.diarization_engine = v->diarization_engine;
    sp.hf_token = v->hf_token;
    sp.log = server_log;
    sp.log_user_data = verbosity;
    sp.ytdlp_path = v->ytdlp_path;
    return sp;
}

/* cache_dir (capacity n) receives the download cache's directory, which
 * must outlive worker_pool_start (the pool copies it). The same place the
 * CLI uses, so `cesar transcribe URL` and the server share downloads. */
static worker_params make_worker_params(const config_values *v, const char *db_path,
                                        const char *models_dir,
                                        int *verbosity, server *srv, char *cache_dir, size_t n)
{
    worker_params wp = worker_default_params();
    wp.db_path = db_path;
    wp.n_workers = v->server_workers;
    wp.engine = v->engine;
    wp.model = v->model;
    wp.language = v->language;
    wp.threads = v->threads;
    wp.models_dir = models_dir;
    wp.task = v->task;
    wp.beam_size = v->beam_size;
    wp.initial_prompt = v->initial_prompt;
    wp.condition_on_previous_text = v->condition_on_previous_text;
    wp.temperature_fallback = v->temperature_fallback;
    wp.min_speakers = v->min_speakers;
    wp.max_speakers = v->max_speakers;
    wp.vad_model = v->vad_model;
    wp.diarization_engine = v->diarization_engine;
    wp.data_dir = v->data_dir;
    wp.hub_url = v->hub_url;
    wp.hub_allow_insecure = v->hub_allow_insecure;
    wp.hf_token = v->hf_token;
    wp.diarization_step_ms = v->diarization_step_ms;
    wp.diarization_fast = strcmp(v->diarization_precision, "fast") == 0;
    wp.vad_filter = v->vad_filter;
    wp.log = worker_log;
    wp.log_user_data = verbosity;
    wp.event = server_on_worker_event;
    wp.event_user_data = srv;
    wp.allow_private_urls = v->allow_private_urls;
    wp.ytdlp_path = v->ytdlp_path;
    wp.download_connect_timeout_ms = (long)v->download_connect_timeout * 1000L;
    wp.download_timeout_ms = (long)v->download_timeout * 1000L;
    /* Links obey the upload limit: a job is a job whichever way it came. */
    wp.download_max_bytes = v->server_max_upload_size;
    snprintf(cache_dir, n, "%s/downloads", v->cache_dir);
    wp.cache_dir = cache_dir;
    wp.cache_max_age_seconds = (double)v->cache_max_age;
    wp.cache_max_bytes = v->cache_max_size;
    return wp;
}

/* Runs until a signal; returns the exit code. */
static int run(const config_values *v, const char *db_path, int *verbosity, sigset_t *signals)
{
    server *srv = NULL;
    worker_pool *pool = NULL;
    char err[1024];
    int code = CLI_EXIT_FAILURE;
    char models_dir[CONFIG_MAX_STRING + 16];
    models_dir_default(v->models_dir, v->data_dir, models_dir, sizeof models_dir);
    server_params sp = make_server_params(v, db_path, models_dir, verbosity);
    if (server_new(&srv, &sp, err, sizeof err) != SERVER_OK) {
        cli_error("serve: %s", err);
        goto cleanup;
    }
    if (server_start(srv, err, sizeof err) != SERVER_OK) {
        cli_error("serve: %s", err);
        goto cleanup;
    }
    char cache_dir[CONFIG_MAX_STRING + 16];
    worker_params wp =
        make_worker_params(v, db_path, models_dir, verbosity, srv, cache_dir, sizeof cache_dir);
    if (worker_pool_start(&pool, &wp, err, sizeof err) != WORKER_OK) {
        cli_error("serve: %s", err);
        goto cleanup;
    }
    server_attach_pool(srv, pool);
    bool v6 = strchr(v->server_host, ':') != NULL;
    fprintf(stderr, "cesar serve: listening on http://%s%s%s:%d\n", v6 ? "[" : "",
            v->server_host, v6 ? "]" : "", server_port(srv));
    fflush(stderr);
    if (!is_loopback(v->server_host) && !v->server_api_key[0])
        log_line(SERVER_LOG_WARN,
                 "listening on a non-loopback address without an API key: anyone who can "
                 "reach this port can submit and read jobs (set server.api_key)",
                 *verbosity);
    int sig = 0;
    sigwait(signals, &sig);
    char msg[160];
    snprintf(msg, sizeof msg,
             "%s: shutting down (running jobs get %d s, then go back to the queue)",
             sig == SIGINT ? "SIGINT" : "SIGTERM", v->server_shutdown_timeout);
    log_line(SERVER_LOG_INFO, msg, *verbosity);
    server_quiesce(srv);
    code = CLI_EXIT_OK;
    if (worker_pool_stop(pool, v->server_shutdown_timeout, err, sizeof err) != WORKER_OK)
        log_line(SERVER_LOG_WARN, err, *verbosity); /* the next start re-queues */
    server_stop(srv);
    log_line(SERVER_LOG_INFO, "stopped", *verbosity);

cleanup:
    if (srv)
        server_stop(srv);
    worker_pool_free(pool);
    server_free(srv);
    return code;
}

int cli_cmd_serve(int argc, char **argv)
{
    config *c = NULL;
    char err[1024];
    serve_opts o = {find_config_path(argc, argv), 0};
    int code = cli_load_config(o.config_path, &c, err, sizeof err);
    if (code != CLI_EXIT_OK) {
        cli_error("%s", err);
        return code;
    }
    code = parse_options(argc, argv, c, &o);
    if (code == CLI_EXIT_OK && config_validate(c, err, sizeof err) != CONFIG_OK) {
        cli_error("%s", err);
        code = CLI_EXIT_USAGE;
    }
    if (code != CLI_EXIT_OK) {
        config_free(c);
        return code < 0 ? CLI_EXIT_OK : code;
    }
    const config_values *v = config_get(c);
    char db_path[CONFIG_MAX_STRING + 16];
    if (v->server_db[0])
        snprintf(db_path, sizeof db_path, "%s", v->server_db);
    else
        snprintf(db_path, sizeof db_path, "%s/jobs.db", v->data_dir);

    /* Block the shutdown signals before any thread exists, so every thread
     * inherits the mask and only sigwait below receives them. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (util_mkdir_p(v->data_dir, err, sizeof err) != UTIL_OK) {
        cli_error("serve: data directory: %s", err);
        code = CLI_EXIT_FAILURE;
    } else {
        code = requeue_interrupted(db_path, o.verbosity);
    }
    if (code == CLI_EXIT_OK)
        code = run(v, db_path, &o.verbosity, &signals);
    config_free(c);
    return code;
}
