/* health: GET /health — whether the server, its workers and its engines are
 * usable. Never needs the API key, so load balancers and monitors can ask. */
#include <stdlib.h>
#include <string.h>

#include "asr/asr.h"
#include "diarize/diarize.h"
#include "fetch/fetch.h"
#include "models/models.h"
#include "server/internal.h"

static json_t *string_list(const char *const *list)
{
    json_t *a = json_array();
    for (size_t i = 0; list && list[i]; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

/* The Whisper models installed in models_dir, by name (catalog order, then
 * other ggml-*.bin files). Empty when the directory is missing. */
static json_t *installed_models(const char *models_dir)
{
    json_t *a = json_array();
    models_catalog *catalog = NULL;
    models_item *items = NULL;
    size_t count = 0;
    if (!models_dir || models_catalog_load(&catalog, NULL, NULL, 0) != MODELS_OK)
        goto cleanup;
    if (models_list(catalog, models_dir, &items, &count, NULL, 0) != MODELS_OK)
        goto cleanup;
    for (size_t i = 0; i < count; i++)
        if (items[i].installed)
            json_array_append_new(a, json_string(items[i].name));
cleanup:
    free(items);
    models_catalog_free(catalog);
    return a;
}

static json_t *asr_engines(const server *s)
{
    json_t *a = json_array();
    for (const char *const *name = asr_engine_names(); *name; name++) {
        char why[512] = "";
        bool ok = asr_engine_model_available(*name, s->models_dir, NULL, why, sizeof why);
        const char *def = asr_engine_default_model(*name);
        bool whisper = strcmp(*name, "whisper") == 0;
        json_t *models = whisper ? installed_models(s->models_dir)
                                 : string_list(asr_engine_models(*name));
        json_t *e = json_pack("{s:s, s:b, s:s?, s:o, s:o}", "name", *name, "available", ok,
                              "default_model", def, "models", models, "languages",
                              string_list(asr_engine_languages(*name)));
        if (!ok)
            json_object_set_new(e, "message", json_string(why));
        json_array_append_new(a, e);
    }
    return a;
}

/* The diarization engines compiled in, each judged from files and settings
 * alone (the hub is never contacted): builtin needs nothing; pyannote needs
 * its weights installed, or a token to fetch them at the first job. */
static json_t *diarize_engines(const server *s)
{
    json_t *a = json_array();
    diarize_params dp = diarize_default_params();
    dp.models_dir = s->models_dir;
    dp.data_dir = s->data_dir;
    dp.hf_token = s->hf_token;
    for (const char *const *name = diarize_engine_names(); *name; name++) {
        diarize_engine_status st;
        if (diarize_engine_status_get(*name, &dp, &st) != DIARIZE_OK)
            continue;
        json_array_append_new(
            a, json_pack("{s:s, s:b, s:b, s:b, s:b, s:o, s:s}", "name", *name, "available",
                         st.available, "default", strcmp(s->diarization_engine, *name) == 0,
                         "weights_installed", st.weights_installed, "token", st.token,
                         "token_source",
                         st.token_source[0] ? json_string(st.token_source) : json_null(),
                         "message", st.message));
    }
    return a;
}

/* Whether an engine's model files are present changes only when someone
 * installs or removes them, so the answer is kept for a few seconds rather
 * than checked on disk for every probe of a busy load balancer. Returns a
 * copy the caller owns. */
#define ENGINES_FRESH_SECONDS 5.0

static json_t *engines_snapshot(server *s)
{
    double now = util_now_seconds();
    pthread_mutex_lock(&s->engines_lock);
    if (!s->engines || now - s->engines_at > ENGINES_FRESH_SECONDS) {
        json_t *fresh =
            json_pack("{s:o, s:o}", "asr", asr_engines(s), "diarization", diarize_engines(s));
        if (fresh) {
            json_decref(s->engines);
            s->engines = fresh;
            s->engines_at = now;
        }
    }
    json_t *copy = s->engines ? json_deep_copy(s->engines) : NULL;
    pthread_mutex_unlock(&s->engines_lock);
    return copy ? copy : json_object();
}

/* Running yt-dlp --version costs a process start (a Python interpreter, a
 * good part of a second), far too much for every probe, and yt-dlp is
 * installed or removed rarely: the answer is kept for a minute. */
#define YOUTUBE_FRESH_SECONDS 60.0

static json_t *youtube_facts(const char *ytdlp_path)
{
    char version[128] = "", why[512] = "";
    bool ffmpeg = false;
    bool ok = fetch_ytdlp_available(ytdlp_path ? ytdlp_path : "yt-dlp", version, sizeof version,
                                    &ffmpeg, why, sizeof why);
    const char *message = ok && ffmpeg ? "yt-dlp and ffmpeg are installed"
                          : ok         ? "yt-dlp is installed but ffmpeg is not on PATH; "
                                         "some videos cannot be converted to audio"
                          : why[0]     ? why
                                       : "yt-dlp cannot be run";
    return json_pack("{s:b, s:s, s:s?, s:b}", "available", ok, "message", message,
                     "ytdlp_version", ok && version[0] ? version : NULL, "ffmpeg", ffmpeg);
}

void server__youtube_refresh(server *s)
{
    /* One thread runs yt-dlp at a time, and without the lock, so other
     * /health requests meanwhile answer with the previous facts. */
    pthread_mutex_lock(&s->engines_lock);
    bool run = !s->youtube_busy;
    s->youtube_busy = true;
    pthread_mutex_unlock(&s->engines_lock);
    if (!run)
        return;
    json_t *fresh = youtube_facts(s->ytdlp_path);
    pthread_mutex_lock(&s->engines_lock);
    if (fresh) {
        json_decref(s->youtube);
        s->youtube = fresh;
        s->youtube_at = util_now_seconds();
    }
    s->youtube_busy = false;
    pthread_mutex_unlock(&s->engines_lock);
}

/* A copy the caller owns. */
static json_t *youtube_snapshot(server *s)
{
    pthread_mutex_lock(&s->engines_lock);
    bool stale = !s->youtube || util_now_seconds() - s->youtube_at > YOUTUBE_FRESH_SECONDS;
    pthread_mutex_unlock(&s->engines_lock);
    if (stale)
        server__youtube_refresh(s);
    pthread_mutex_lock(&s->engines_lock);
    json_t *copy = s->youtube ? json_deep_copy(s->youtube) : NULL;
    pthread_mutex_unlock(&s->engines_lock);
    return copy ? copy
                : json_pack("{s:b, s:s, s:n, s:b}", "available", 0, "message",
                            "yt-dlp is being checked; ask again in a moment", "ytdlp_version",
                            "ffmpeg", 0);
}

enum MHD_Result server__handle_health(server *s, struct MHD_Connection *c, server__request *r)
{
    (void)r;
    int running = 0, busy = 0;
    worker_pool_stats(atomic_load(&s->pool), &running, &busy);
    long long counts[STORE_STATUS_COUNT];
    char err[512];
    int rc = store_count_by_status(server__db(s), counts, err, sizeof err);
    bool store_ok = rc == STORE_OK;
    bool stopping = atomic_load(&s->stopping);
    const char *status = !store_ok ? "degraded" : stopping ? "stopping" : "ok";
    json_t *worker = json_pack("{s:i, s:i, s:I, s:I}", "running", running, "busy", busy, "queued",
                               (json_int_t)(store_ok ? counts[STORE_STATUS_QUEUED] : 0),
                               "processing",
                               (json_int_t)(store_ok ? counts[STORE_STATUS_PROCESSING] : 0));
    json_t *engines = engines_snapshot(s);
    json_t *youtube = youtube_snapshot(s);
    json_t *body = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "status", status, "version",
                             CESAR_VERSION, "worker", worker, "engines", engines, "youtube",
                             youtube, "store", "sqlite");
    if (!store_ok)
        json_object_set_new(body, "message", json_string(err));
    return server__send_json_steal(c, store_ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                                   body);
}
