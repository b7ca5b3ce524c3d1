/* rules: what a job is — its statuses and their names, which status changes
 * store_set_status allows, and freeing a job. Backend-independent, so every
 * backend enforces the same lifecycle. Invariant: the transition table here
 * is the only place that says which moves are legal; store.h documents it. */
#include "store/store_backend.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_names[STORE_STATUS_COUNT] = {
    [STORE_STATUS_QUEUED] = "queued",       [STORE_STATUS_DOWNLOADING] = "downloading",
    [STORE_STATUS_PROCESSING] = "processing", [STORE_STATUS_COMPLETED] = "completed",
    [STORE_STATUS_PARTIAL] = "partial",     [STORE_STATUS_ERROR] = "error",
    [STORE_STATUS_CANCELLED] = "cancelled",
};

const char *store_status_name(store_status s)
{
    if ((int)s < 0 || s >= STORE_STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

bool store_status_parse(const char *name, store_status *out)
{
    if (!name)
        return false;
    for (int i = 0; i < STORE_STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (store_status)i;
            return true;
        }
    }
    return false;
}

#define BIT(s) (1u << (s))

/* allowed[from] is the set of statuses store_set_status may move to. The
 * finishing statuses are absent on purpose: they carry results, which only
 * store_finish_job records. */
static const unsigned allowed[STORE_STATUS_COUNT] = {
    [STORE_STATUS_QUEUED] =
        BIT(STORE_STATUS_DOWNLOADING) | BIT(STORE_STATUS_PROCESSING) | BIT(STORE_STATUS_CANCELLED),
    [STORE_STATUS_DOWNLOADING] =
        BIT(STORE_STATUS_QUEUED) | BIT(STORE_STATUS_PROCESSING) | BIT(STORE_STATUS_CANCELLED),
    /* processing -> downloading: a worker claims a job submitted by link
     * (the claim makes it processing) and then fetches its audio. */
    [STORE_STATUS_PROCESSING] =
        BIT(STORE_STATUS_QUEUED) | BIT(STORE_STATUS_DOWNLOADING) | BIT(STORE_STATUS_CANCELLED),
    [STORE_STATUS_COMPLETED] = 0,
    [STORE_STATUS_PARTIAL] = BIT(STORE_STATUS_QUEUED),
    [STORE_STATUS_ERROR] = BIT(STORE_STATUS_QUEUED),
    [STORE_STATUS_CANCELLED] = 0,
};

bool store__transition_allowed(store_status from, store_status to)
{
    if ((int)from < 0 || from >= STORE_STATUS_COUNT || (int)to < 0 || to >= STORE_STATUS_COUNT)
        return false;
    return (allowed[from] & BIT(to)) != 0;
}

/* Frees the strings a job owns, not the struct: list items live in an array. */
static void free_job_strings(store_job *j)
{
    char *strings[] = {j->id, j->audio_path, j->model_size, j->engine, j->language,
                       j->source_url, j->created_at, j->started_at, j->completed_at,
                       j->updated_at, j->result_text, j->detected_language, j->error_message,
                       j->error_code, j->progress_phase, j->diarization_error,
                       j->diarization_error_code, j->retry_stage, j->worker, j->format,
                       j->original_name, j->diarization_engine};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        free(strings[i]);
}

void store_job_free(store_job *j)
{
    if (!j)
        return;
    free_job_strings(j);
    free(j);
}

void store_job_list_free(store_job_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        free_job_strings(&l->items[i]);
    free(l->items);
    free(l->next_cursor);
    free(l);
}
