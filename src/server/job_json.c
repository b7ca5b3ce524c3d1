/* job_json: a job row as the API shows it. Field names follow the tool Cesar
 * replaces, so its clients keep working; unknown values are null rather than
 * the store's in-band conventions (0 speakers, negative durations). */
#include <stdio.h>
#include <string.h>

#include "format/format.h"
#include "server/internal.h"

static json_t *string_or_null(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    return v ? v : json_null(); /* not UTF-8: never expected from the store */
}

static json_t *positive_int_or_null(int v)
{
    return v > 0 ? json_integer(v) : json_null();
}

static json_t *known_real_or_null(double v)
{
    return v >= 0 ? json_real(v) : json_null();
}

static void set(json_t *o, const char *key, json_t *v)
{
    json_object_set_new_nocheck(o, key, v);
}

static const char *basename_of(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path;
}

static json_t *links(const char *id)
{
    char self[64], result[80], events[80];
    snprintf(self, sizeof self, "/jobs/%s", id);
    snprintf(result, sizeof result, "/jobs/%s/result", id);
    snprintf(events, sizeof events, "/jobs/%s/events", id);
    return json_pack("{s:s, s:s, s:s}", "self", self, "result", result, "events", events);
}

static json_t *result_text(const store_job *j)
{
    if (!j->result_text)
        return json_null();
    util_buf out = UTIL_BUF_INIT(STORE_MAX_RESULT_TEXT);
    char err[256];
    json_t *v = json_null();
    if (server__render_transcript(j, FORMAT_TXT, &out, err, sizeof err) == FORMAT_OK) {
        json_t *text = json_stringn(out.data ? out.data : "", out.len);
        if (text) {
            json_decref(v);
            v = text;
        }
    }
    util_buf_free(&out);
    return v;
}

json_t *server__job_json(const store_job *j, bool with_result)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "id", string_or_null(j->id));
    set(o, "status", json_string(store_status_name(j->status)));
    set(o, "filename", string_or_null(j->original_name ? j->original_name
                                                       : basename_of(j->audio_path)));
    set(o, "audio_path", string_or_null(j->audio_path));
    set(o, "source_url", string_or_null(j->source_url));
    set(o, "model_size", string_or_null(j->model_size));
    set(o, "engine", string_or_null(j->engine));
    set(o, "language", string_or_null(j->language));
    set(o, "format", string_or_null(j->format));
    set(o, "created_at", string_or_null(j->created_at));
    set(o, "started_at", string_or_null(j->started_at));
    set(o, "completed_at", string_or_null(j->completed_at));
    set(o, "updated_at", string_or_null(j->updated_at));
    if (with_result)
        set(o, "result_text", result_text(j));
    set(o, "detected_language", string_or_null(j->detected_language));
    set(o, "error_message", string_or_null(j->error_message));
    set(o, "error_code", string_or_null(j->error_code));
    set(o, "download_progress", json_real(j->download_progress));
    set(o, "diarize", json_boolean(j->diarize));
    set(o, "min_speakers", positive_int_or_null(j->min_speakers));
    set(o, "max_speakers", positive_int_or_null(j->max_speakers));
    set(o, "progress", json_real(j->progress));
    set(o, "progress_phase", string_or_null(j->progress_phase));
    set(o, "progress_phase_pct", json_real(j->progress_phase_pct));
    /* 0 is a real count once diarized (a recording without speech), and
     * means "not known" otherwise */
    set(o, "speaker_count", j->diarized ? json_integer(j->speaker_count) : json_null());
    set(o, "diarized", json_boolean(j->diarized));
    set(o, "diarization_error", string_or_null(j->diarization_error));
    set(o, "diarization_error_code", string_or_null(j->diarization_error_code));
    set(o, "diarization_engine", string_or_null(j->diarization_engine));
    set(o, "audio_duration", known_real_or_null(j->audio_duration));
    set(o, "processing_time", known_real_or_null(j->processing_time));
    set(o, "attempts", json_integer(j->attempts));
    set(o, "links", links(j->id ? j->id : ""));
    return o;
}
