/* pyannote_engine: the "pyannote" diarization engine — speaker-diarization-3.1
 * over a whole recording, pulled from the source one batch of windows at a
 * time.
 *
 * The recording is cut into 10 s windows every step (1 s by default), as
 * pyannote's sliding inference does: full windows while they fit, then one
 * last zero-padded window when the audio does not end on a step (or is
 * shorter than a window). Each batch of windows goes through the
 * segmentation network; each window's active local speakers then get an
 * embedding (overlapped frames excluded when enough clean frames remain).
 * Only the binary activity (589 x 3 bytes) and the embeddings (3 x 256
 * floats) of a window are kept, so a one-hour file holds about 17 MB of
 * them and never its samples. Clustering and reconstruction run at the end.
 *
 * The weights are loaded at the first run, not at open: a missing model or
 * token then fails the diarization stage (the transcript is kept, the job
 * ends partial) instead of the job, and a retry after the user fixes the
 * token finds them. See pyannote_weights.c for fetching them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diarize/engine_impl.h"
#include "diarize/pyannote_internal.h"
#include "pyannote/pyannote.h"
#include "util/util.h"

#define WINDOW_SAMPLES (10 * PYANNOTE_SAMPLE_RATE)
#define BATCH_WINDOWS 16
#define L PYANNOTE_LOCAL_SPEAKERS

typedef struct {
    diarize__pyannote_models models; /* loaded at the first run */
} engine_state;

/* What the windows of one run leave behind for clustering. */
typedef struct {
    size_t n_chunks, cap;
    size_t frames;       /* per window */
    uint8_t *active;     /* n_chunks x frames x L */
    float *embeddings;   /* n_chunks x L x 256, NaN where none */
} chunk_store;

/* The run's audio: samples from absolute index base on, n of them. */
typedef struct {
    const diarize_source *src;
    float *buf;
    size_t cap, n;
    size_t base;
    size_t total; /* samples read so far */
    bool eof;
} audio_window;

typedef struct {
    const diarize_params *p;
    engine_state *st;
    size_t step;       /* samples between window starts */
    int threads;
    bool embed;        /* false when at most one speaker is allowed */
    size_t min_frames; /* clean frames needed to exclude overlap */
    size_t expected_chunks;
    float *windows;    /* BATCH_WINDOWS x WINDOW_SAMPLES */
    float *logp;       /* BATCH_WINDOWS x frames x 7 */
    float *masks;      /* L x frames */
    chunk_store cs;
    audio_window aw;
} run_ctx;

static int engine_open(void **state, const diarize_params *p, char *err, size_t errlen)
{
    (void)p;
    engine_state *st = calloc(1, sizeof *st);
    if (!st)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    *state = st;
    return DIARIZE_OK;
}

static void engine_close(void *state)
{
    engine_state *st = state;
    if (!st)
        return;
    diarize__pyannote_models_clear(&st->models);
    free(st);
}

static int default_threads(int n)
{
    if (n > 0)
        return n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

/* ---- audio -------------------------------------------------------------- */

/* Reads until the buffer holds want samples past base, or the end. */
static int fill(audio_window *aw, size_t want, char *err, size_t errlen)
{
    while (!aw->eof && aw->n < want) {
        size_t got = 0;
        int rc = aw->src->read(aw->src->user_data, aw->buf + aw->n, aw->cap - aw->n, &got, err,
                               errlen);
        if (rc != 0)
            return DIARIZE_ERR_AUDIO;
        if (got == 0)
            aw->eof = true;
        aw->n += got;
        aw->total += got;
    }
    return DIARIZE_OK;
}

/* Drops the samples before absolute index keep_from. */
static void discard(audio_window *aw, size_t keep_from)
{
    if (keep_from <= aw->base)
        return;
    size_t drop = keep_from - aw->base;
    if (drop > aw->n)
        drop = aw->n;
    memmove(aw->buf, aw->buf + drop, (aw->n - drop) * sizeof *aw->buf);
    aw->n -= drop;
    aw->base += drop;
}

/* Copies window c (zero past the audio's end) into dst. */
static void copy_window(const audio_window *aw, size_t start, float *dst)
{
    size_t off = start - aw->base;
    size_t have = off < aw->n ? aw->n - off : 0;
    if (have > WINDOW_SAMPLES)
        have = WINDOW_SAMPLES;
    memcpy(dst, aw->buf + off, have * sizeof *dst);
    memset(dst + have, 0, (WINDOW_SAMPLES - have) * sizeof *dst);
}

/* Windows of pyannote's sliding inference over total samples. */
static size_t chunks_for(size_t total, size_t step)
{
    size_t full = total >= WINDOW_SAMPLES ? (total - WINDOW_SAMPLES) / step + 1 : 0;
    bool last = total < WINDOW_SAMPLES || (total - WINDOW_SAMPLES) % step > 0;
    return full + (last ? 1 : 0);
}

/* ---- per-window results --------------------------------------------------- */

static int store_grow(chunk_store *cs, size_t need, char *err, size_t errlen)
{
    if (need <= cs->cap)
        return DIARIZE_OK;
    size_t cap = cs->cap ? cs->cap * 2 : 64;
    while (cap < need)
        cap *= 2;
    uint8_t *a = realloc(cs->active, cap * cs->frames * L);
    if (!a)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    cs->active = a;
    float *e = realloc(cs->embeddings, cap * L * PYANNOTE_EMBEDDING_DIM * sizeof *e);
    if (!e)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    cs->embeddings = e;
    cs->cap = cap;
    return DIARIZE_OK;
}

/* The masks pyannote 3.1 embeds a window's speakers with: each speaker's
 * frames without overlap when more than min_frames of them remain, else all
 * its frames. Returns how many speakers are active; which[] lists them. */
static int build_masks(const run_ctx *x, const uint8_t *act, float *masks, int *which)
{
    size_t F = x->cs.frames;
    int n = 0;
    for (int s = 0; s < L; s++) {
        size_t total = 0, clean = 0;
        for (size_t t = 0; t < F; t++) {
            const uint8_t *row = act + t * L;
            if (!row[s])
                continue;
            total++;
            if (row[0] + row[1] + row[2] < 2)
                clean++;
        }
        if (total == 0)
            continue;
        bool use_clean = clean > x->min_frames;
        float *m = masks + (size_t)n * F;
        for (size_t t = 0; t < F; t++) {
            const uint8_t *row = act + t * L;
            bool overlap = row[0] + row[1] + row[2] >= 2;
            m[t] = row[s] && (!use_clean || !overlap) ? 1.0f : 0.0f;
        }
        which[n++] = s;
    }
    return n;
}

static int embed_window(run_ctx *x, const float *window, size_t chunk, char *err, size_t errlen)
{
    const uint8_t *act = x->cs.active + chunk * x->cs.frames * L;
    float *emb = x->cs.embeddings + chunk * L * PYANNOTE_EMBEDDING_DIM;
    for (size_t i = 0; i < L * PYANNOTE_EMBEDDING_DIM; i++)
        emb[i] = NAN;
    if (!x->embed)
        return DIARIZE_OK;
    int which[L];
    int n = build_masks(x, act, x->masks, which);
    if (n == 0)
        return DIARIZE_OK;
    float out[L * PYANNOTE_EMBEDDING_DIM];
    int rc = pyannote_embed(x->st->models.embedder, window, WINDOW_SAMPLES, x->masks, (size_t)n,
                            x->cs.frames, x->threads, out, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc == PYANNOTE_ERR_NOMEM ? DIARIZE_ERR_NOMEM : DIARIZE_ERR_FAILED;
    for (int i = 0; i < n; i++)
        memcpy(emb + (size_t)which[i] * PYANNOTE_EMBEDDING_DIM,
               out + (size_t)i * PYANNOTE_EMBEDDING_DIM, PYANNOTE_EMBEDDING_DIM * sizeof *out);
    return DIARIZE_OK;
}

static bool cancelled(const run_ctx *x)
{
    return x->p->cancel && atomic_load(x->p->cancel);
}

static void report(const run_ctx *x, double fraction)
{
    if (x->p->progress)
        x->p->progress(fraction, x->p->progress_user_data);
}

/* Segments and embeds windows first .. first + count - 1. */
static int process_batch(run_ctx *x, size_t first, size_t count, char *err, size_t errlen)
{
    int rc = store_grow(&x->cs, first + count, err, errlen);
    if (rc != DIARIZE_OK)
        return rc;
    for (size_t i = 0; i < count; i++)
        copy_window(&x->aw, (first + i) * x->step, x->windows + i * WINDOW_SAMPLES);
    rc = pyannote_segment(x->st->models.segmenter, x->windows, count, WINDOW_SAMPLES, x->threads,
                          x->logp, err, errlen);
    if (rc != PYANNOTE_OK)
        return rc == PYANNOTE_ERR_NOMEM ? DIARIZE_ERR_NOMEM : DIARIZE_ERR_FAILED;
    size_t F = x->cs.frames;
    for (size_t i = 0; i < count; i++) {
        pyannote_powerset_to_multilabel(x->logp + i * F * PYANNOTE_POWERSET_CLASSES, F,
                                        x->cs.active + (first + i) * F * L);
        if (cancelled(x))
            return util_errf(err, errlen, DIARIZE_ERR_CANCELLED, "cancelled");
        rc = embed_window(x, x->windows + i * WINDOW_SAMPLES, first + i, err, errlen);
        if (rc != DIARIZE_OK)
            return rc;
    }
    x->cs.n_chunks = first + count;
    if (x->expected_chunks > 0) {
        double f = 0.9 * (double)x->cs.n_chunks / (double)x->expected_chunks;
        report(x, f < 0.9 ? f : 0.9);
    }
    return DIARIZE_OK;
}

/* Pulls the whole source through the networks, a batch at a time. */
static int slide(run_ctx *x, char *err, size_t errlen)
{
    size_t next = 0; /* first window not yet processed */
    for (;;) {
        if (cancelled(x))
            return util_errf(err, errlen, DIARIZE_ERR_CANCELLED, "cancelled");
        size_t want_end = (next + BATCH_WINDOWS - 1) * x->step + WINDOW_SAMPLES;
        int rc = fill(&x->aw, want_end - x->aw.base, err, errlen);
        if (rc != DIARIZE_OK)
            return rc;
        size_t have_end = x->aw.base + x->aw.n;
        size_t count = 0;
        if (x->aw.eof) {
            size_t all = chunks_for(x->aw.total, x->step);
            count = all > next ? all - next : 0;
            if (count > BATCH_WINDOWS)
                count = BATCH_WINDOWS;
        } else {
            while (count < BATCH_WINDOWS &&
                   (next + count) * x->step + WINDOW_SAMPLES <= have_end)
                count++;
        }
        if (count == 0)
            return DIARIZE_OK;
        rc = process_batch(x, next, count, err, errlen);
        if (rc != DIARIZE_OK)
            return rc;
        next += count;
        discard(&x->aw, next * x->step);
    }
}

/* ---- clustering and turns -------------------------------------------------- */

static int cluster(run_ctx *x, int *hard, int *n_clusters, char *err, size_t errlen)
{
    size_t n = x->cs.n_chunks, F = x->cs.frames;
    uint8_t *any = calloc(n * L, 1);
    if (!any)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < n; c++)
        for (size_t t = 0; t < F; t++)
            for (int s = 0; s < L; s++)
                any[c * L + s] |= x->cs.active[(c * F + t) * L + s];
    /* With one speaker at most (x->embed false: no embeddings were made) the
     * clustering gives every active local speaker cluster 0, as pyannote's
     * shortcut does. */
    pyannote_cluster_params cp = pyannote_cluster_default_params();
    cp.num_clusters = x->p->num_speakers;
    cp.min_clusters = x->p->min_speakers;
    cp.max_clusters = x->p->max_speakers;
    int rc = pyannote_cluster(x->cs.embeddings, any, n, L, PYANNOTE_EMBEDDING_DIM, &cp, hard,
                              n_clusters, err, errlen) == PYANNOTE_OK
                 ? DIARIZE_OK
                 : DIARIZE_ERR_FAILED;
    free(any);
    return rc;
}

static int make_turns(run_ctx *x, diarize_result *out, char *err, size_t errlen)
{
    size_t n = x->cs.n_chunks;
    int *hard = malloc((n ? n : 1) * L * sizeof *hard);
    pyannote_turn *turns = NULL;
    size_t n_turns = 0;
    int n_clusters = 0, rc;
    if (!hard)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    rc = cluster(x, hard, &n_clusters, err, errlen);
    if (rc != DIARIZE_OK)
        goto cleanup;
    report(x, 0.95);
    pyannote_timeline_params tp = pyannote_timeline_default_params();
    tp.chunk_step = (double)x->step / PYANNOTE_SAMPLE_RATE;
    tp.max_speakers = x->p->num_speakers ? x->p->num_speakers : x->p->max_speakers;
    double seconds = (double)x->aw.total / PYANNOTE_SAMPLE_RATE;
    if (pyannote_reconstruct(x->cs.active, n, x->cs.frames, L, hard, n_clusters, &tp, seconds,
                             &turns, &n_turns, err, errlen) != PYANNOTE_OK) {
        rc = DIARIZE_ERR_FAILED;
        goto cleanup;
    }
    out->turns = malloc((n_turns ? n_turns : 1) * sizeof *out->turns);
    if (!out->turns) {
        rc = util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n_turns; i++) {
        out->turns[i].start = turns[i].start + x->aw.src->time_offset;
        out->turns[i].end = turns[i].end + x->aw.src->time_offset;
        out->turns[i].speaker = turns[i].speaker;
    }
    out->n_turns = n_turns;

cleanup:
    free(hard);
    free(turns);
    return rc;
}

/* Seconds covered by at least one turn (turns sorted by start). */
static double speech_seconds(const diarize_result *r)
{
    double total = 0.0, reach = -INFINITY;
    for (size_t i = 0; i < r->n_turns; i++) {
        double s = r->turns[i].start > reach ? r->turns[i].start : reach;
        if (r->turns[i].end > s)
            total += r->turns[i].end - s;
        if (r->turns[i].end > reach)
            reach = r->turns[i].end;
    }
    return total;
}

/* ---- the engine ------------------------------------------------------------- */

static int setup(run_ctx *x, char *err, size_t errlen)
{
    const diarize_params *p = x->p;
    double step_s = p->step_seconds > 0 ? p->step_seconds : 1.0;
    x->step = (size_t)llround(step_s * PYANNOTE_SAMPLE_RATE);
    if (x->step == 0 || x->step > WINDOW_SAMPLES)
        return util_errf(err, errlen, DIARIZE_ERR_INVALID,
                         "pyannote: the window step must be above 0 and at most 10 s, got %g s",
                         step_s);
    x->threads = default_threads(p->n_threads);
    int most = p->num_speakers ? p->num_speakers : p->max_speakers;
    x->embed = most == 0 || most >= 2;
    x->cs.frames = pyannote_segmenter_frames(x->st->models.segmenter, WINDOW_SAMPLES);
    size_t min_samples = pyannote_embedder_min_samples(x->st->models.embedder);
    x->min_frames = (x->cs.frames * min_samples + WINDOW_SAMPLES - 1) / WINDOW_SAMPLES;
    if (x->aw.src->total_seconds > 0)
        x->expected_chunks =
            chunks_for((size_t)(x->aw.src->total_seconds * PYANNOTE_SAMPLE_RATE), x->step);
    x->aw.cap = (BATCH_WINDOWS - 1) * x->step + WINDOW_SAMPLES;
    x->aw.buf = malloc(x->aw.cap * sizeof *x->aw.buf);
    x->windows = malloc((size_t)BATCH_WINDOWS * WINDOW_SAMPLES * sizeof *x->windows);
    x->logp = malloc((size_t)BATCH_WINDOWS * x->cs.frames * PYANNOTE_POWERSET_CLASSES *
                     sizeof *x->logp);
    x->masks = malloc((size_t)L * x->cs.frames * sizeof *x->masks);
    if (!x->aw.buf || !x->windows || !x->logp || !x->masks)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    return DIARIZE_OK;
}

static void teardown(run_ctx *x)
{
    free(x->aw.buf);
    free(x->windows);
    free(x->logp);
    free(x->masks);
    free(x->cs.active);
    free(x->cs.embeddings);
}

static int engine_run(void *state, const diarize_params *p, const diarize_source *src,
                      diarize_result *out, char *err, size_t errlen)
{
    run_ctx x;
    memset(&x, 0, sizeof x);
    x.p = p;
    x.st = state;
    x.aw.src = src;
    report(&x, 0.0);
    int rc = diarize__pyannote_models_ensure(&x.st->models, p, err, errlen);
    if (rc != DIARIZE_OK)
        return rc;
    if ((rc = setup(&x, err, errlen)) != DIARIZE_OK)
        goto cleanup;
    if ((rc = slide(&x, err, errlen)) != DIARIZE_OK)
        goto cleanup;
    if ((rc = make_turns(&x, out, err, errlen)) != DIARIZE_OK)
        goto cleanup;
    out->audio_seconds = (double)x.aw.total / PYANNOTE_SAMPLE_RATE;
    out->speech_seconds = speech_seconds(out);
    out->vad = "pyannote";

cleanup:
    teardown(&x);
    return rc;
}

const diarize_engine_impl diarize__engine_pyannote = {
    .name = "pyannote",
    .open = engine_open,
    .run = engine_run,
    .close = engine_close,
    .status = diarize__pyannote_status,
};
