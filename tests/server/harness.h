/* harness: shared helpers for the integration tests of `cesar serve` in
 * tests/server/. Every test binary starts the real server (the binary named
 * by the environment variable CESAR_BIN) as a child process on an ephemeral
 * port, drives it over HTTP with libcurl and reads its JSON with jansson.
 * Nothing is mocked.
 *
 * Isolation. Each test binary works in its own mkdtemp directory; each
 * server gets a data directory, a log file and XDG_CONFIG_HOME /
 * XDG_DATA_HOME / XDG_CACHE_HOME / HOME of its own inside it, and every
 * CESAR_* and XDG_* variable of the caller is dropped from its environment,
 * so no user configuration can leak in.
 *
 * Assertions. TH_CHECK records a pass or a failure (printing the file, line,
 * expression and message) and returns whether it passed, so a test can stop
 * early when later steps depend on it. th_finish prints the server logs when
 * anything failed, then "N passed, N failed", and returns the exit status.
 *
 * Ownership. Strings returned by th_strf and the th_audio_* makers belong to
 * the harness (freed by th_finish). th_response, th_sse_stream, json_t and
 * char* results of other functions belong to the caller, as each comment
 * says. Everything runs on the test's main thread except the RSS sampler.
 */
#ifndef CESAR_TESTS_SERVER_HARNESS_H
#define CESAR_TESTS_SERVER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

/* ---- assertions and bookkeeping ------------------------------------------ */

#define TH_CHECK(cond, ...)                                                                        \
    th_check_at(__FILE__, __LINE__, (cond) ? true : false, #cond, __VA_ARGS__)

bool th_check_at(const char *file, int line, bool ok, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* An informational line ("# ...") in the test output. */
void th_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Call first: checks CESAR_BIN, makes the work directory, initialises
 * libcurl. Exits with status 2 when the environment is unusable. */
void th_init(const char *test_name);

/* Stops servers still running, prints their logs when a check failed, prints
 * "N passed, N failed", removes the work directory (kept when the variable
 * CESAR_TEST_KEEP is set) and returns the exit status for main. */
int th_finish(void);

int th_failed_count(void);

/* The test's work directory (absolute). */
const char *th_workdir(void);

/* printf into a string the harness owns (freed by th_finish). */
char *th_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double th_now(void); /* monotonic seconds */
void th_sleep(double seconds);

/* ---- the server ------------------------------------------------------------ */

#define TH_MAX_EXTRA 8

typedef struct {
    int workers;                          /* --workers N; 0 means 1 */
    const char *api_key;                  /* CESAR_API_KEY for the server; NULL = none */
    const char *extra_args[TH_MAX_EXTRA]; /* more arguments, NULL-terminated */
    const char *extra_env[TH_MAX_EXTRA];  /* "NAME=value" for its environment, NULL-terminated */
} th_server_opts;

typedef struct th_server {
    char *name;
    th_server_opts opts; /* strings owned by the server */
    char *root;          /* the server's own directory in the work directory */
    char *data_dir;      /* --data-dir */
    char *jobs_dir;      /* data_dir/jobs */
    char *log_path;      /* standard output and error, appended across restarts */
    char *client_key;    /* sent as "Authorization: Bearer KEY" by default; NULL = none */
    pid_t pid;           /* 0 when not running */
    int port;
    char base_url[64]; /* http://127.0.0.1:PORT */
    int starts;
} th_server;

/* Starts `CESAR_BIN serve --port 0 --data-dir DIR --workers N EXTRA...` and
 * waits up to 20 s for its "listening" line. The harness owns the result
 * (freed by th_finish). Returns NULL, having recorded a failed check and
 * printed the log, when the server does not come up. name is used for the
 * directory and in messages. */
th_server *th_server_start(const char *name, const th_server_opts *opts);

/* Starts a stopped server again on the same data directory and database.
 * The port may change. false (with a failed check) when it does not come up. */
bool th_server_restart(th_server *s);

/* Sends sig and waits up to timeout seconds for the process to end. Returns
 * its exit status (0-255), 128 + signal number when a signal ended it, or -1
 * when it did not end in time (it is then killed with SIGKILL). */
int th_server_stop(th_server *s, int sig, double timeout);

/* Resident set size of the server process in KiB (VmRSS), -1 if unknown. */
long th_server_rss_kb(const th_server *s);
long th_pid_rss_kb(pid_t pid);

/* Prints the last max_lines lines of the server log to standard output. */
void th_server_print_log(const th_server *s, int max_lines);

/* Samples VmRSS of pid every interval_ms on a thread of its own. */
typedef struct th_rss_sampler th_rss_sampler;
th_rss_sampler *th_rss_sampler_start(pid_t pid, int interval_ms);
/* Stops the thread, frees the sampler; returns the peak in KiB and stores
 * the number of samples taken in *samples (may be NULL). */
long th_rss_sampler_stop(th_rss_sampler *r, int *samples);

/* ---- HTTP -------------------------------------------------------------------- */

typedef struct {
    long status;   /* HTTP status; 0 when no response arrived */
    CURLcode code; /* libcurl's result */
    char error[CURL_ERROR_SIZE];
    char *body; /* always NUL-terminated (empty when there was none) */
    size_t body_len;
    char *content_type; /* response headers, NULL when absent */
    char *location;
    char *allow;
    char *www_authenticate;
    json_t *json;        /* the body parsed as JSON, NULL when it is not JSON */
    curl_off_t uploaded; /* request body bytes sent */
    double seconds;      /* total time of the transfer */
} th_response;

void th_response_free(th_response *r); /* NULL-safe */

/* One request. headers is a NULL-terminated list of "Name: value" lines
 * (may be NULL). When s->client_key is set and headers has no Authorization
 * line, "Authorization: Bearer KEY" is added; pass "Authorization:" to send
 * none. body may be NULL. Caller owns the result (never NULL). */
th_response *th_request(th_server *s, const char *method, const char *path,
                        const char *const *headers, const char *body, size_t body_len);
/* GET of a path built with printf. Caller owns the result. */
th_response *th_getf(th_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* POST /transcribe as multipart/form-data: the form fields (a NULL-terminated
 * list of name, value pairs; may be NULL), then the part "file" streamed
 * from the file at file_path (curl_mime_filedata) with the given file name.
 * file_path NULL = no file part. Caller owns the result. */
th_response *th_upload(th_server *s, const char *file_path, const char *filename,
                       const char *const *fields, const char *const *headers);

/* The same requests as transfers, for the multi interface: add
 * th_transfer_easy(t) to a CURLM, and when it completes call
 * th_transfer_done(t, result), which frees the transfer and returns the
 * response (caller owns it). */
typedef struct th_transfer th_transfer;
th_transfer *th_transfer_new(th_server *s, const char *method, const char *path,
                             const char *const *headers, const char *body, size_t body_len);
th_transfer *th_transfer_new_upload(th_server *s, const char *file_path, const char *filename,
                                    const char *const *fields, const char *const *headers);
CURL *th_transfer_easy(th_transfer *t);
th_response *th_transfer_done(th_transfer *t, CURLcode result);

/* Checks that r is an error response as docs/api.md describes it: the
 * status, Content-Type application/json, error.code, a non-empty
 * error.message, and for 422 error.field equal to field (field may be NULL
 * to accept any field). what names the case in the messages. Returns whether
 * everything held. */
bool th_expect_error(const th_response *r, long status, const char *code, const char *field,
                     const char *what);

/* Describes a response for a failure message: "status 404, body {...}".
 * Harness-owned string. */
const char *th_describe(const th_response *r);

/* ---- Server-Sent Events ----------------------------------------------------- */

typedef struct {
    char *event;  /* "message" when the event had no event: line */
    char *id;     /* NULL when none */
    char *data;   /* data: lines joined with '\n' */
    json_t *json; /* data parsed as JSON, NULL when it is not */
    double t;     /* arrival time, seconds since the stream started */
} th_sse_event;

typedef struct {
    long status;
    char *content_type;
    CURLcode code;
    bool ended; /* the server closed the stream (not our timeout) */
    double seconds;
    th_sse_event *events;
    size_t count;
    size_t comments; /* lines starting with ':' */
} th_sse_stream;

/* GETs path and collects events until the server ends the stream or timeout
 * seconds pass. Caller owns the result; free with th_sse_free. */
th_sse_stream *th_sse_collect(th_server *s, const char *path, double timeout);
void th_sse_free(th_sse_stream *st); /* NULL-safe */

/* ---- JSON and jobs ----------------------------------------------------------- */

/* Member lookup by a dotted path ("error.code"). Borrowed from o; NULL when
 * any step is missing. */
json_t *th_jget(const json_t *o, const char *path);
const char *th_jstr(const json_t *o, const char *path);        /* NULL unless a string */
double th_jnum(const json_t *o, const char *path, double def); /* integer or real */
bool th_jnull(const json_t *o, const char *path);              /* present and null */
bool th_jarray_has_string(const json_t *a, const char *s);     /* a is an array holding s */

bool th_is_uuid_v4(const char *s);   /* lower-case UUID v4 */
bool th_is_timestamp(const char *s); /* 2026-11-26T01:25:19.123Z */

/* Uploads file_path and expects 202 with a job; returns the job id (caller
 * frees) or NULL after recording a failed check. */
char *th_submit(th_server *s, const char *file_path, const char *filename,
                const char *const *fields);

/* GET /jobs/{id} as JSON (caller owns; json_decref), NULL unless 200. */
json_t *th_get_job(th_server *s, const char *id);

/* Polls GET /jobs/{id} every 0.1 s until its status is one of statuses (a
 * comma-separated list). Returns the job (caller owns) or NULL on timeout,
 * after printing the last status seen. */
json_t *th_wait_job(th_server *s, const char *id, const char *statuses, double timeout);

/* Polls until the job is processing with progress > min_progress (or has
 * reached a final status, which is returned too). Caller owns the result. */
json_t *th_wait_running(th_server *s, const char *id, double min_progress, double timeout);

/* Walks GET /jobs (query, e.g. "status=completed", may be NULL) with limit
 * per page and returns every job as one JSON array (caller owns), NULL when
 * a page fails. *pages (may be NULL) receives the number of pages. */
json_t *th_list_all(th_server *s, const char *query, int limit, int *pages);

/* ---- files and audio ----------------------------------------------------------- */

#define TH_LIBRIVOX_DIR "/usr/share/pocketsphinx/test/data/librivox"

/* Path of the LibriVox clip with the given id ("0870"). Harness-owned. */
const char *th_clip(const char *clip_id);

/* The five clips' ids, in order. */
extern const char *const th_clip_ids[5];

/* The five clips joined (about 24.7 s), repeated `rounds` times, written to
 * WORKDIR/name with sox. Harness-owned path; NULL (and a failed check) on
 * failure. */
const char *th_audio_rounds(const char *name, int rounds);

/* The given clips (NULL-terminated ids) joined into WORKDIR/name. */
const char *th_audio_join(const char *name, const char *const *clip_ids);

/* A conversation of two synthetic voices made with espeak-ng (a low male
 * and a high female one, A B A, about 20 s) and joined by sox into
 * WORKDIR/name, 16 kHz mono. Harness-owned path; NULL (and a failed check)
 * when espeak-ng or sox fails. */
const char *th_audio_two_voices(const char *name);

/* A WAV header for 16 kHz 16-bit mono followed by silence, total bytes
 * long, made sparse with ftruncate. Harness-owned path. */
const char *th_audio_silent_wav(const char *name, long long bytes);

/* Writes len bytes to WORKDIR/name. Harness-owned path, NULL on failure. */
const char *th_write_file(const char *name, const void *data, size_t len);

/* The reference transcript words of a clip, from the testdata's
 * "transcription" file (without <s> </s>). Caller frees with
 * th_words_free. NULL when the clip is not listed. */
char **th_reference_words(const char *clip_id, size_t *count);
void th_words_free(char **words, size_t count);

/* Share of the clip's reference words of at least 4 letters that occur as
 * whole words in text (case-insensitive), 0-1. The missing words go to
 * missing (may be NULL) separated by spaces. */
double th_words_found(const char *text, const char *clip_id, char *missing, size_t missing_len);

/* Runs argv (argv[0] searched in PATH) with output to /dev/null; true when
 * it exits 0. */
bool th_run(const char *const *argv);

/* Entries in a directory other than . and ..; -1 when it cannot be opened.
 * The first entry's name goes to first (may be NULL). */
int th_dir_count(const char *path, char *first, size_t first_len);

bool th_path_exists(const char *path);

/* Regular files anywhere under dir whose names do not start with
 * ignore_prefix (may be NULL); the first one's path goes to first (may be
 * NULL). 0 when dir does not exist. */
int th_count_files(const char *dir, const char *ignore_prefix, char *first, size_t first_len);

#endif
