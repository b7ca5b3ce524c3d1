/* test_api_bad_input: every way POST /transcribe and POST /transcribe/url can
 * refuse a request in docs/api.md — 400 missing_file / empty_file /
 * malformed_request (not multipart, broken or truncated multipart), 415 for
 * files that are not audio, 422 invalid_field naming the field (and listing
 * the allowed values) for bad model, engine, language, format, speakers,
 * diarize and unknown fields, 400 and 422 (invalid_url, invalid_field) on
 * /transcribe/url, 413 past
 * max_upload_size — and then that a rejected request left nothing behind:
 * no job listed and no file under the data directory but the database.
 *
 * The 422 cases send a real clip, so the server has already streamed a file
 * to disk when it refuses the request: that is where leftovers would come
 * from.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    json_t *models; /* pocketsphinx's models and languages from /health */
    json_t *languages;
} engine_info;

static engine_info read_engine_info(th_server *s)
{
    engine_info info = {NULL, NULL};
    th_response *r = th_getf(s, "/health");
    size_t i;
    json_t *e;
    json_array_foreach(th_jget(r->json, "engines.asr"), i, e)
    {
        const char *name = th_jstr(e, "name");
        if (name && strcmp(name, "pocketsphinx") == 0) {
            info.models = json_incref(th_jget(e, "models"));
            info.languages = json_incref(th_jget(e, "languages"));
        }
    }
    TH_CHECK(json_is_array(info.models) && json_is_array(info.languages),
             "/health lists pocketsphinx's models and languages (%s)", th_describe(r));
    th_response_free(r);
    return info;
}

/* A request that should have been refused made a job: remove it, so that
 * the "nothing stored" checks at the end judge only real leftovers. */
static void purge_if_accepted(th_server *s, const th_response *r)
{
    const char *id = r->status == 202 ? th_jstr(r->json, "id") : NULL;
    if (!id)
        return;
    th_response *d = th_request(s, "DELETE", th_strf("/jobs/%s?purge=true", id), NULL, NULL, 0);
    th_note("purged job %s, accepted by mistake (DELETE -> %ld)", id, d->status);
    th_response_free(d);
}

/* An upload of a good clip with one or two bad fields must be a 422 naming
 * field whose message lists every value in allowed (NULL-terminated; may be
 * NULL) and every string of allowed_json (may be NULL). */
static void expect_invalid(th_server *s, const char *const *fields, const char *field,
                           const char *const *allowed, const json_t *allowed_json, const char *what)
{
    th_response *r = th_upload(s, th_clip("0880"), "clip.wav", fields, NULL);
    th_expect_error(r, 422, "invalid_field", field, what);
    purge_if_accepted(s, r);
    const char *msg = th_jstr(r->json, "error.message");
    for (size_t i = 0; allowed && allowed[i]; i++)
        TH_CHECK(msg && strstr(msg, allowed[i]), "%s: message lists \"%s\" (message: %s)", what,
                 allowed[i], msg ? msg : "none");
    size_t i;
    json_t *v;
    json_array_foreach(allowed_json, i, v)
    {
        const char *a = json_string_value(v);
        TH_CHECK(msg && a && strstr(msg, a), "%s: message lists \"%s\" (message: %s)", what,
                 a ? a : "?", msg ? msg : "none");
    }
    if (field && strcmp(field, "diarize") != 0 && msg) {
        /* the message names the field, so a person can tell what was wrong */
        TH_CHECK(strstr(msg, field) != NULL, "%s: message names the field %s (message: %s)", what,
                 field, msg);
    }
    th_response_free(r);
}

static void test_fields(th_server *s)
{
    engine_info info = read_engine_info(s);
    const char *fmts[] = {"txt", "md", "srt", "vtt", "json", NULL};
    const char *engines[] = {"pocketsphinx", "whisper", "auto", NULL};

    expect_invalid(s, (const char *const[]){"model", "large-v9", NULL}, "model", NULL, info.models,
                   "model=large-v9");
    expect_invalid(s, (const char *const[]){"engine", "wav2vec", NULL}, "engine", engines, NULL,
                   "engine=wav2vec");
    /* No Whisper model is installed on this server: not its default either. */
    expect_invalid(s, (const char *const[]){"engine", "whisper", NULL}, "model",
                   (const char *const[]){"'base'", "not installed", NULL}, NULL,
                   "engine=whisper without an installed model");
    expect_invalid(s, (const char *const[]){"engine", "whisper", "model", "tiny", NULL}, "model",
                   (const char *const[]){"'tiny'", "cesar models pull tiny", NULL}, NULL,
                   "engine=whisper model=tiny (not installed)");
    expect_invalid(s, (const char *const[]){"language", "xx", NULL}, "language", NULL,
                   info.languages, "language=xx");
    expect_invalid(s, (const char *const[]){"format", "docx", NULL}, "format", fmts, NULL,
                   "format=docx");
    /* upper case: refused, or accepted as the documented lower-case name */
    th_response *r = th_upload(s, th_clip("0880"), "clip.wav",
                               (const char *const[]){"format", "TXT", NULL}, NULL);
    if (r->status == 202) {
        const char *f = th_jstr(r->json, "format");
        TH_CHECK(f && strcmp(f, "txt") == 0,
                 "format=TXT accepted: the job's format is one of txt, md, srt, vtt, json "
                 "(got \"%s\")",
                 f ? f : "none");
    } else {
        th_expect_error(r, 422, "invalid_field", "format", "format=TXT");
    }
    purge_if_accepted(s, r);
    th_response_free(r);
    /* speaker counts: 0, negative, above 32 and not an integer, each field */
    const char *const bad_counts[] = {"0", "-1", "-32", "33", "1000", "two", "2.5", "", NULL};
    const char *const count_fields[] = {"min_speakers", "max_speakers", NULL};
    for (size_t f = 0; count_fields[f]; f++)
        for (size_t i = 0; bad_counts[i]; i++)
            expect_invalid(s, (const char *const[]){count_fields[f], bad_counts[i], NULL},
                           count_fields[f], NULL, NULL,
                           th_strf("%s=%s", count_fields[f], bad_counts[i]));

    /* min > max: both given names min_speakers; one given against the
     * server's default (min 1, max 8) names the one given */
    r = th_upload(s, th_clip("0880"), "clip.wav",
                  (const char *const[]){"min_speakers", "5", "max_speakers", "3", NULL}, NULL);
    th_expect_error(r, 422, "invalid_field", "min_speakers", "min_speakers=5 max_speakers=3");
    const char *msg = th_jstr(r->json, "error.message");
    TH_CHECK(msg && strstr(msg, "min_speakers") && strstr(msg, "max_speakers"),
             "min > max: the message names both fields (%s)", msg ? msg : "none");
    purge_if_accepted(s, r);
    th_response_free(r);
    expect_invalid(s, (const char *const[]){"min_speakers", "9", NULL}, "min_speakers", NULL, NULL,
                   "min_speakers=9 above the server's default max_speakers 8");
    expect_invalid(s, (const char *const[]){"max_speakers", "2", "min_speakers", "3", NULL},
                   "min_speakers", NULL, NULL, "max_speakers=2 then min_speakers=3");

    expect_invalid(s, (const char *const[]){"foo", "1", NULL}, "foo", NULL, NULL,
                   "unknown field foo");
    expect_invalid(s, (const char *const[]){"model", "en-us", "colour", "blue", NULL}, "colour",
                   NULL, NULL, "unknown field after a good one");
    expect_invalid(s, (const char *const[]){"diarize", "maybe", NULL}, "diarize", NULL, NULL,
                   "diarize=maybe");
    json_decref(info.models);
    json_decref(info.languages);
}

/* A body as-is with the given Content-Type. */
static th_response *post_raw(th_server *s, const char *path, const char *content_type,
                             const char *body, size_t len)
{
    char *h = th_strf("Content-Type: %s", content_type);
    return th_request(s, "POST", path, (const char *const[]){h, NULL}, body, len);
}

static char *read_head(const char *path, size_t n, size_t *got)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(n);
    *got = f && buf ? fread(buf, 1, n, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

static void test_bodies(th_server *s)
{
    th_response *r = th_upload(s, NULL, NULL, (const char *const[]){"model", "en-us", NULL}, NULL);
    th_expect_error(r, 400, "missing_file", NULL, "multipart without a file part");
    th_response_free(r);

    const char *empty = th_write_file("empty.wav", "", 0);
    r = th_upload(s, empty, "empty.wav", NULL, NULL);
    th_expect_error(r, 400, "empty_file", NULL, "a 0-byte file");
    th_response_free(r);

    r = post_raw(s, "/transcribe", "application/json", "{\"file\": \"a.wav\"}", 17);
    th_expect_error(r, 400, "malformed_request", NULL, "a JSON body");
    th_response_free(r);
    r = post_raw(s, "/transcribe", "application/x-www-form-urlencoded", "file=abc&model=en-us", 20);
    th_expect_error(r, 400, "malformed_request", NULL, "a urlencoded form");
    th_response_free(r);
    r = th_request(s, "POST", "/transcribe", (const char *const[]){"Content-Type:", NULL}, "", 0);
    th_expect_error(r, 400, "malformed_request", NULL, "an empty body without Content-Type");
    th_response_free(r);

    const char *part = "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nen-us\r\n"
                       "--XyZ--\r\n";
    r = post_raw(s, "/transcribe", "multipart/form-data", part, strlen(part));
    th_expect_error(r, 400, "malformed_request", NULL, "multipart/form-data without a boundary");
    th_response_free(r);

    const char *junk = "--XyZ\r\nthis line is no header\r\n\r\nnonsense\r\n--XyZ--\r\n";
    r = post_raw(s, "/transcribe", "multipart/form-data; boundary=XyZ", junk, strlen(junk));
    th_expect_error(r, 400, "malformed_request", NULL, "a part without Content-Disposition");
    th_response_free(r);

    const char *wrong_boundary = "--AbC\r\nContent-Disposition: form-data; name=\"file\"; "
                                 "filename=\"a.wav\"\r\n\r\nRIFF....\r\n--AbC--\r\n";
    r = post_raw(s, "/transcribe", "multipart/form-data; boundary=XyZ", wrong_boundary,
                 strlen(wrong_boundary));
    TH_CHECK(r->status == 400, "a body whose boundary differs from the header's -> 400 (%s)",
             th_describe(r));
    th_response_free(r);

    /* two parts named file, or a field given twice: 422 naming the field */
    const char *two_files = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                            "filename=\"a.wav\"\r\n\r\nRIFFaaaa\r\n"
                            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                            "filename=\"b.wav\"\r\n\r\nRIFFbbbb\r\n--XyZ--\r\n";
    r = post_raw(s, "/transcribe", "multipart/form-data; boundary=XyZ", two_files,
                 strlen(two_files));
    th_expect_error(r, 422, "invalid_field", "file", "two parts named file");
    th_response_free(r);
    const char *model_twice = "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n"
                              "en-us\r\n--XyZ\r\nContent-Disposition: form-data; "
                              "name=\"model\"\r\n\r\nen-us\r\n--XyZ--\r\n";
    r = post_raw(s, "/transcribe", "multipart/form-data; boundary=XyZ", model_twice,
                 strlen(model_twice));
    th_expect_error(r, 422, "invalid_field", "model", "model given twice");
    th_response_free(r);

    /* a file part cut off: real audio, but the closing boundary never comes */
    size_t got;
    char *audio = read_head(th_clip("0870"), 32768, &got);
    const char *head = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                       "filename=\"cut.wav\"\r\nContent-Type: audio/wav\r\n\r\n";
    size_t hl = strlen(head);
    char *body = malloc(hl + got);
    memcpy(body, head, hl);
    memcpy(body + hl, audio, got);
    r = post_raw(s, "/transcribe", "multipart/form-data; boundary=XyZ", body, hl + got);
    th_expect_error(r, 400, "malformed_request", NULL, "a multipart body cut off in the file");
    th_response_free(r);
    /* the same, cut off inside the part headers */
    r = post_raw(s, "/transcribe", "multipart/form-data; boundary=XyZ", body, 40);
    th_expect_error(r, 400, "malformed_request", NULL, "a multipart body cut off in a header");
    th_response_free(r);
    free(body);
    free(audio);

    /* not audio */
    char text[4096] = "";
    for (int i = 0; i < 60; i++)
        strcat(text, "This is a text file, not a recording.\n");
    const char *txt = th_write_file("notes.wav", text, strlen(text));
    r = th_upload(s, txt, "notes.wav", NULL, NULL);
    th_expect_error(r, 415, "unsupported_media_type", NULL, "a text file named .wav");
    th_response_free(r);

    unsigned char noise[65536];
    unsigned int x = 12345u;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (unsigned char)(x >> 16);
    }
    const char *rnd = th_write_file("noise.mp3", noise, sizeof noise);
    r = th_upload(s, rnd, "noise.mp3", NULL, NULL);
    th_expect_error(r, 415, "unsupported_media_type", NULL, "64 KiB of random bytes");
    th_response_free(r);

    /* a WAV header promising audio, with no sample after it */
    const char *hollow = th_audio_silent_wav("hollow.wav", 44);
    r = th_upload(s, hollow, "hollow.wav", NULL, NULL);
    TH_CHECK(r->status == 415 || r->status == 400,
             "a WAV header without samples is refused (400 or 415) (%s)", th_describe(r));
    th_response_free(r);
}

static void test_url(th_server *s)
{
    th_response *r = post_raw(s, "/transcribe/url", "application/json", "{\"url\": ", 8);
    th_expect_error(r, 400, "malformed_request", NULL, "POST /transcribe/url with broken JSON");
    th_response_free(r);
    r = post_raw(s, "/transcribe/url", "application/json", "[1, 2", 5);
    th_expect_error(r, 400, "malformed_request", NULL, "POST /transcribe/url with cut JSON");
    th_response_free(r);
    /* Refused links and options: nothing may be stored for them either. */
    const char *ftp = "{\"url\": \"ftp://example.com/talk.mp3\"}";
    r = post_raw(s, "/transcribe/url", "application/json", ftp, strlen(ftp));
    th_expect_error(r, 422, "invalid_url", NULL, "POST /transcribe/url with an ftp: link");
    purge_if_accepted(s, r);
    th_response_free(r);
    const char *nourl = "{\"model\": \"en-us\"}";
    r = post_raw(s, "/transcribe/url", "application/json", nourl, strlen(nourl));
    th_expect_error(r, 422, "invalid_field", "url", "POST /transcribe/url without url");
    purge_if_accepted(s, r);
    th_response_free(r);
    const char *lang = "{\"url\": \"https://example.com/talk.mp3\", \"language\": \"xx\"}";
    r = post_raw(s, "/transcribe/url", "application/json", lang, strlen(lang));
    th_expect_error(r, 422, "invalid_field", "language", "POST /transcribe/url, bad language");
    purge_if_accepted(s, r);
    th_response_free(r);
}

/* Nothing stored: no job listed, no directory under jobs/, no file anywhere
 * in the data directory but the database's own files. */
static void expect_nothing_stored(th_server *s, const char *what)
{
    json_t *all = th_list_all(s, NULL, 500, NULL);
    TH_CHECK(all && json_array_size(all) == 0, "%s: GET /jobs lists no job (got %zu)", what,
             all ? json_array_size(all) : 0);
    json_decref(all);
    char first[512];
    int n = th_dir_count(s->jobs_dir, first, sizeof first);
    TH_CHECK(n <= 0, "%s: DATA/jobs/ is empty (%d entries, e.g. %s)", what, n, n > 0 ? first : "-");
    n = th_count_files(s->data_dir, "jobs.db", first, sizeof first);
    TH_CHECK(n == 0, "%s: no file in the data directory but jobs.db* (%d, e.g. %s)", what, n,
             n > 0 ? first : "-");
}

static void test_upload_limit(void)
{
    th_server *s = th_server_start(
        "small-limit",
        &(th_server_opts){.workers = 1, .extra_env = {"CESAR_SERVER_MAX_UPLOAD_SIZE=1M", NULL}});
    if (!s)
        return;
    const char *big = th_audio_rounds("three-rounds.wav", 3); /* ~2.4 MB */
    th_response *r = th_upload(s, big, "three-rounds.wav", NULL, NULL);
    th_expect_error(r, 413, "payload_too_large", NULL, "a 2.4 MB upload with a 1 MiB limit");
    th_response_free(r);
    expect_nothing_stored(s, "after the 413");

    /* under the limit is fine; and the probe looks at content, not the name */
    const char *argv[] = {"cp", th_clip("0870"), th_strf("%s/clip-as.txt", th_workdir()), NULL};
    TH_CHECK(th_run(argv), "copy a clip to clip-as.txt");
    r = th_upload(s, argv[2], "clip-as.txt", NULL, NULL);
    TH_CHECK(r->status == 202, "a 227 KB WAV named .txt under the 1 MiB limit -> 202 (%s)",
             th_describe(r));
    th_response_free(r);
}

int main(void)
{
    th_init("test_api_bad_input");
    th_server *s = th_server_start("bad-input", &(th_server_opts){.workers = 1});
    if (s) {
        test_bodies(s);
        test_fields(s);
        test_url(s);
        expect_nothing_stored(s, "after every rejected request");
        th_response *r = th_getf(s, "/health");
        TH_CHECK(r->status == 200, "the server is still healthy (%s)", th_describe(r));
        th_response_free(r);
    }
    test_upload_limit();
    return th_finish();
}
