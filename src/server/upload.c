/* upload: POST /transcribe — a multipart form streamed to the job's directory
 * as it arrives (never held in memory), then checked and committed.
 *
 * Order of a successful request: the body is parsed by libmicrohttpd's post
 * processor and the `file` part written to DATA/jobs/ID/upload.part; at the
 * end of the body the form is validated, the file is fsynced and renamed to
 * DATA/jobs/ID/audio, the directory fsynced, the audio probed by decoding its
 * start, and only then is the job row committed and 202 sent. Whatever fails,
 * the directory is removed when the request ends (server__upload_free), so a
 * rejected or abandoned upload leaves nothing behind.
 *
 * Errors found while the body is still arriving (file too large, a broken
 * form) cannot be answered at once: libmicrohttpd only lets a response be
 * queued between chunks of body, once it is all read. So the first error is
 * kept, the rest of the body is read and dropped, and the error is sent at
 * the end. Only a body that keeps coming for gigabytes after an error is
 * cut off by closing the connection. A client that sends "Expect:
 * 100-continue" with a Content-Length over the limit is refused before it
 * sends anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "server/fields.h"
#include "server/internal.h"

/* How much of a body is still read after an error before the connection is
 * dropped instead. Reading costs only bandwidth (nothing is kept), and a
 * client cut off mid-send sees a reset instead of the error, so this is
 * generous; it exists for chunked bodies that never end. */
#define DISCARD_LIMIT (4LL * 1024 * 1024 * 1024)
/* Multipart framing and the small fields around the file. */
#define FORM_OVERHEAD (1024LL * 1024)

struct server__upload {
    server *srv;
    char id[STORE_ID_LEN + 1];
    bool dir_created;
    bool committed;
    int fd;
    char dir[3800]; /* DATA/jobs/ID */
    char part_path[4096];
    char audio_path[4096];
    long long bytes;
    bool file_seen;
    char *filename;
    struct MHD_PostProcessor *pp;
    server__form form;
    /* the first error; status 0 = none */
    unsigned status;
    char code[40];
    char field[40];
    char message[1024];
    long long discarded;
};

static void fail(server__upload *u, unsigned status, const char *code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(server__upload *u, unsigned status, const char *code, const char *field,
                 const char *fmt, ...)
{
    if (u->status)
        return; /* the first error is the one the client hears about */
    u->status = status;
    snprintf(u->code, sizeof u->code, "%s", code);
    snprintf(u->field, sizeof u->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->message, sizeof u->message, fmt, ap);
    va_end(ap);
    if (u->fd >= 0) {
        close(u->fd);
        u->fd = -1;
        unlink(u->part_path);
    }
}

static bool write_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        data += w;
        n -= (size_t)w;
    }
    return true;
}

static void file_chunk(server__upload *u, const char *filename, const char *data, uint64_t off,
                       size_t size)
{
    /* Offset 0 again means a second part named file (an empty first part
     * may be announced with no data, so only data makes it a second one). */
    if (off == 0 && u->file_seen && (size > 0 || u->bytes > 0)) {
        fail(u, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", "file",
             "field 'file' was given more than once; send one file per job");
        return;
    }
    if (!u->file_seen) {
        u->file_seen = true;
        if (filename && *filename && !u->filename)
            u->filename = util_strdup(filename);
        u->fd = open(u->part_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (u->fd < 0) {
            server__log(u->srv, SERVER_LOG_ERROR, "cannot create %s: %s", u->part_path,
                        strerror(errno));
            fail(u, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                 NULL, "the server cannot store the upload (%s)", strerror(errno));
            return;
        }
    }
    if (u->status || size == 0)
        return;
    if (u->bytes + (long long)size > u->srv->max_upload_size) {
        fail(u, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large", "file",
             "the file is larger than the server's limit of %lld bytes (max_upload_size)",
             u->srv->max_upload_size);
        return;
    }
    if (!write_all(u->fd, data, size)) {
        int e = errno;
        server__log(u->srv, SERVER_LOG_ERROR, "writing %s: %s", u->part_path, strerror(e));
        fail(u, e == ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE : MHD_HTTP_INTERNAL_SERVER_ERROR,
             e == ENOSPC ? "insufficient_storage" : "internal", NULL,
             "the server cannot store the upload (%s)", strerror(e));
        return;
    }
    u->bytes += (long long)size;
}

static enum MHD_Result iterate(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    server__upload *u = cls;
    if (u->status)
        return MHD_YES; /* keep parsing to the end, storing nothing */
    if (!key) {
        fail(u, MHD_HTTP_BAD_REQUEST, "malformed_request", NULL, "a form part has no name");
        return MHD_YES;
    }
    if (strcmp(key, "file") == 0) {
        file_chunk(u, filename, data, off, size);
        return MHD_YES;
    }
    char why[512];
    if (server__form_add(&u->form, key, data, off, size, why, sizeof why) != 0)
        fail(u, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", key, "%s", why);
    return MHD_YES;
}

static bool is_multipart(struct MHD_Connection *c)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct && strncasecmp(ct, "multipart/form-data", 19) == 0;
}

static bool expects_continue(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return v && strcasecmp(v, "100-continue") == 0;
}

static long long content_length(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!v)
        return -1;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return errno == 0 && end != v && *end == '\0' && n >= 0 ? n : -1;
}

enum MHD_Result server__upload_begin(server *s, struct MHD_Connection *c, server__request *r)
{
    if (!is_multipart(c))
        return server__send_error(c, MHD_HTTP_BAD_REQUEST, "malformed_request",
                                  "POST /transcribe takes a multipart/form-data body with the "
                                  "audio in a field named 'file'");
    long long length = content_length(c);
    bool too_large = length > s->max_upload_size + FORM_OVERHEAD;
    /* A client that asked "Expect: 100-continue" waits for this answer
     * before sending the body, so refusing now costs it nothing. */
    if (too_large && expects_continue(c))
        return server__send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                                  "the request body (%lld bytes) is larger than the server's "
                                  "limit of %lld bytes (max_upload_size)",
                                  length, s->max_upload_size);
    server__upload *u = calloc(1, sizeof *u);
    if (!u)
        return MHD_NO;
    u->srv = s;
    u->fd = -1;
    r->upload = u;
    server__form_init(&u->form);
    if (too_large) {
        /* Any other client is already sending: answering now would close
         * the connection under it and it would see a reset, not the 413.
         * So the body is read and dropped, and the 413 sent at its end. */
        fail(u, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large", "file",
             "the request body (%lld bytes) is larger than the server's limit of %lld bytes "
             "(max_upload_size)",
             length, s->max_upload_size);
        return MHD_YES;
    }
    char err[1024];
    if (store_new_job_id(u->id, err, sizeof err) != STORE_OK ||
        server__job_dir_create(s, u->id, err, sizeof err) != SERVER_OK) {
        server__log(s, SERVER_LOG_ERROR, "upload: %s", err);
        return server__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                  "the server cannot store uploads: %s", err);
    }
    u->dir_created = true;
    server__job_dir(s, u->id, u->dir, sizeof u->dir);
    snprintf(u->part_path, sizeof u->part_path, "%s/upload.part", u->dir);
    snprintf(u->audio_path, sizeof u->audio_path, "%s/audio", u->dir);
    u->pp = MHD_create_post_processor(c, 64 * 1024, iterate, u);
    if (!u->pp)
        return server__send_error(c, MHD_HTTP_BAD_REQUEST, "malformed_request",
                                  "the multipart/form-data body has no boundary");
    return MHD_YES;
}

enum MHD_Result server__upload_feed(server__upload *u, const char *data, size_t *size)
{
    if (u->status) {
        u->discarded += (long long)*size;
        *size = 0;
        return u->discarded > DISCARD_LIMIT ? MHD_NO : MHD_YES;
    }
    if (MHD_post_process(u->pp, data, *size) != MHD_YES)
        fail(u, MHD_HTTP_BAD_REQUEST, "malformed_request", NULL,
             "the multipart/form-data body is malformed");
    *size = 0;
    return MHD_YES;
}

/* Makes the received file durable under its final name. */
static bool persist(server__upload *u)
{
    int rc = fsync(u->fd);
    int e = errno;
    if (close(u->fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    u->fd = -1;
    if (rc == 0 && rename(u->part_path, u->audio_path) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && util_fsync_dir(u->dir) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        server__log(u->srv, SERVER_LOG_ERROR, "storing %s: %s", u->audio_path, strerror(e));
        fail(u, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
             "the server cannot store the upload (%s)", strerror(e));
    }
    return rc == 0;
}

static const char *shown_name(const server__upload *u)
{
    return u->filename ? u->filename : "the uploaded file";
}

static bool probe(server__upload *u)
{
    audio_reader *reader = NULL;
    char err[1024];
    audio_params ap = audio_default_params();
    int rc = audio_open(&reader, u->audio_path, &ap, err, sizeof err);
    audio_close(reader);
    if (rc == AUDIO_OK)
        return true;
    if (rc == AUDIO_ERR_NOMEM || rc == AUDIO_ERR_IO || rc == AUDIO_ERR_PERMISSION) {
        server__log(u->srv, SERVER_LOG_ERROR, "probing %s: %s", u->audio_path, err);
        fail(u, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
             "the server could not read back the upload: %s", audio_strerror(rc));
        return false;
    }
    fail(u, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "file",
         "'%s' is not audio or video Cesar can decode (%s); send a file FFmpeg can read, such "
         "as wav, mp3, m4a, ogg, opus, flac, webm, mp4 or mkv",
         shown_name(u), audio_strerror(rc));
    return false;
}

static void check_form(server *s, server__upload *u, server__job_fields *out)
{
    if (u->status)
        return;
    if (!u->file_seen) {
        fail(u, MHD_HTTP_BAD_REQUEST, "missing_file", "file",
             "no file: send the audio in a multipart/form-data field named 'file'");
        return;
    }
    if (u->bytes == 0) {
        fail(u, MHD_HTTP_BAD_REQUEST, "empty_file", "file", "'%s' is empty (0 bytes)",
             shown_name(u));
        return;
    }
    char why[1024], field[40];
    if (server__form_resolve(s, &u->form, out, field, sizeof field, why, sizeof why) != 0)
        fail(u, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid_field", field, "%s", why);
}

static enum MHD_Result send_failure(struct MHD_Connection *c, const server__upload *u)
{
    if (u->status == MHD_HTTP_UNPROCESSABLE_CONTENT && u->field[0])
        return server__send_field_error(c, u->field, "%s", u->message);
    return server__send_error(c, u->status, u->code, "%s", u->message);
}

static enum MHD_Result commit(server *s, struct MHD_Connection *c, server__upload *u,
                              const server__job_fields *f)
{
    store_job fields;
    memset(&fields, 0, sizeof fields);
    fields.id = u->id;
    fields.audio_path = u->audio_path;
    fields.original_name = u->filename;
    fields.engine = (char *)f->engine;
    fields.diarization_engine = (char *)f->diarization_engine;
    fields.model_size = (char *)f->model;
    fields.language = (char *)f->language;
    fields.format = (char *)f->format;
    fields.diarize = f->diarize;
    fields.min_speakers = f->min_speakers;
    fields.max_speakers = f->max_speakers;
    store_job *job = NULL;
    char err[1024];
    int rc = store_create_job(server__db(s), &fields, &job, err, sizeof err);
    if (rc != STORE_OK) {
        server__log(s, SERVER_LOG_ERROR, "creating job %s: %s", u->id, err);
        return server__send_store_error(c, rc == STORE_ERR_INVALID ? STORE_ERR_DB : rc, err);
    }
    u->committed = true;
    server__log(s, SERVER_LOG_INFO, "job %s queued: %s (%lld bytes)", u->id, shown_name(u),
                u->bytes);
    worker_pool_notify(atomic_load(&s->pool));
    enum MHD_Result res = server__send_accepted(c, job);
    store_job_free(job);
    return res;
}

enum MHD_Result server__send_accepted(struct MHD_Connection *c, const store_job *job)
{
    char location[64];
    snprintf(location, sizeof location, "/jobs/%s", job->id);
    json_t *body = server__job_json(job, false);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return server__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                  "out of memory (the job %s was queued)", job->id);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    enum MHD_Result res = MHD_queue_response(c, MHD_HTTP_ACCEPTED, resp);
    MHD_destroy_response(resp);
    return res;
}

enum MHD_Result server__handle_upload(server *s, struct MHD_Connection *c, server__request *r)
{
    server__upload *u = r->upload; /* set by server__upload_begin, or it answered */
    if (u->pp) {
        enum MHD_Result done = MHD_destroy_post_processor(u->pp);
        u->pp = NULL;
        if (done != MHD_YES)
            fail(u, MHD_HTTP_BAD_REQUEST, "malformed_request", NULL,
                 "the multipart/form-data body is incomplete or malformed");
    }
    server__job_fields f;
    check_form(s, u, &f);
    if (!u->status && persist(u) && probe(u))
        return commit(s, c, u, &f);
    return send_failure(c, u);
}

void server__upload_free(server *s, server__upload *u)
{
    if (!u)
        return;
    if (u->pp)
        MHD_destroy_post_processor(u->pp);
    if (u->fd >= 0)
        close(u->fd);
    if (u->dir_created && !u->committed) {
        char err[512];
        if (server__job_dir_remove(s, u->id, err, sizeof err) != SERVER_OK)
            server__log(s, SERVER_LOG_WARN, "%s", err);
    }
    free(u->filename);
    free(u);
}

