/* store_backend: the vtable a job-store backend implements, and the helpers
 * the files of the store module share (names carry the store__ prefix).
 *
 * Division of work: store.c validates every argument (job ids, text limits,
 * ranges, the cursor's form) and serialises the calls made on one handle, so
 * a backend sees well-formed input and never two calls on the same state at
 * once. A backend owns the storage and makes each operation atomic against
 * other handles and processes: the status checks of a transition happen in
 * the same transaction (or statement) as its write.
 */
#ifndef CESAR_STORE_BACKEND_H
#define CESAR_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

typedef struct store__backend {
    const char *name;
    /* location is the path with any "scheme:" prefix removed. */
    int (*open)(void **state, const char *location, const store_params *p, char *err,
                size_t errlen);
    void (*close)(void *state); /* NULL-safe */
    int (*create_job)(void *state, const store_job *fields, store_job **out, char *err,
                      size_t errlen);
    int (*get_job)(void *state, const char *id, store_job **out, char *err, size_t errlen);
    /* limit is resolved (1..STORE_LIST_MAX_LIMIT); after_ts/after_id are the
     * decoded cursor, both NULL for the first page. */
    int (*list_jobs)(void *state, const store_status *status, int limit, const char *after_ts,
                     const char *after_id, store_job_list **out, char *err, size_t errlen);
    int (*count_by_status)(void *state, long long counts[STORE_STATUS_COUNT], char *err,
                           size_t errlen);
    int (*delete_job)(void *state, const char *id, char *err, size_t errlen);
    int (*claim_next)(void *state, const char *worker, store_job **out, char *err,
                      size_t errlen);
    int (*update_progress)(void *state, const char *id, double progress, const char *phase,
                           double phase_pct, char *err, size_t errlen);
    int (*finish_job)(void *state, const char *id, const store_job_result *r, store_job **out,
                      char *err, size_t errlen);
    int (*set_status)(void *state, const char *id, store_status to, store_job **out, char *err,
                      size_t errlen);
    int (*requeue_interrupted)(void *state, int *count, char *err, size_t errlen);
} store__backend;

extern const store__backend store__sqlite_backend;

/* ---- time (ids.c) ---------------------------------------------------------- */

/* Job ids come from store_new_job_id (store.h), public so the server can
 * draw one before creating the row. */

/* Length of "2026-11-25T23:16:26.123Z". */
#define STORE__TS_LEN 24

/* Milliseconds since the Unix epoch, from the real-time clock. */
long long store__now_ms(void);
/* Formats ms as an ISO 8601 UTC timestamp into out[STORE__TS_LEN + 1]. */
void store__format_ts(long long ms, char out[STORE__TS_LEN + 1]);
/* Parses exactly the form store__format_ts writes. False on anything else. */
bool store__parse_ts(const char *s, long long *ms);

/* ---- cursors (cursor.c) -------------------------------------------------- */

/* The opaque page cursor for "after this job". Caller owns the result; free
 * with free(). NULL when out of memory. */
char *store__cursor_encode(const char *created_at, const char *id);
/* Splits a cursor into ts[STORE__TS_LEN + 1] and id[STORE_ID_LEN + 1]; false
 * when it is not one store__cursor_encode could have written. */
bool store__cursor_decode(const char *cursor, char *ts, char *id);

/* ---- rules (rules.c) ----------------------------------------------------- */

/* Whether store_set_status may move a job from `from` to `to`. */
bool store__transition_allowed(store_status from, store_status to);

#endif
