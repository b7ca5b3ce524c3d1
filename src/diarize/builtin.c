/* builtin: the diarization engine that needs no model file. It reads the
 * audio once into compact features (about 100 bytes per 10 ms, never the
 * samples), finds speech, clusters 1.5 s pieces of speech into speakers
 * with the Bayesian information criterion on cepstra and pitch, refines
 * the boundaries frame by frame with per-speaker Gaussian mixtures, and
 * smooths away turns too short to be real (builtin_internal.h lists the
 * stages). Everything is deterministic. The number of speakers comes from
 * the clustering's stopping rule (cluster.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"
#include "diarize/engine_impl.h"
#include "util/util.h"

#define READ_CHUNK 16000
#define DEFAULT_MAX_SPEAKERS 8
/* Components of the recording's background model. */
#define UBM_COMPONENTS 32
#define RESEG_ITERATIONS 2
/* Progress shares: reading and features, clustering, resegmentation. */
#define SHARE_READ 0.6
#define SHARE_CLUSTER 0.2

typedef struct {
    const diarize_params *p;
    double done; /* last fraction reported */
} progress_state;

static void report(progress_state *ps, double fraction)
{
    if (ps->p->progress && fraction > ps->done) {
        ps->done = fraction;
        ps->p->progress(fraction, ps->p->progress_user_data);
    }
}

static bool cancelled(const diarize_params *p)
{
    return p->cancel && atomic_load(p->cancel);
}

/* The engine's state: the VAD model, loaded once per engine. */
typedef struct {
    vad_silero *vad; /* NULL: energy VAD */
} builtin_state;

static int read_features(const diarize_params *p, const diarize_source *src,
                         diarize__features *feats, diarize__vad_stream *vs, double *seconds,
                         progress_state *ps, char *err, size_t errlen)
{
    diarize__frontend *fe = NULL;
    float *buf = malloc(READ_CHUNK * sizeof *buf);
    size_t total = 0;
    int rc = DIARIZE_OK;
    if (!buf || diarize__frontend_new(&fe) != 0) {
        rc = util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (;;) {
        size_t n = 0;
        if (src->read(src->user_data, buf, READ_CHUNK, &n, err, errlen) != 0) {
            rc = DIARIZE_ERR_AUDIO;
            goto cleanup;
        }
        if (n == 0)
            break;
        total += n;
        if (diarize__frontend_push(fe, buf, n, feats) != 0 ||
            (vs->model && diarize__vad_stream_push(vs, buf, n) != 0)) {
            rc = util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
            goto cleanup;
        }
        if (cancelled(p)) {
            rc = util_errf(err, errlen, DIARIZE_ERR_CANCELLED, "cancelled");
            goto cleanup;
        }
        if (src->total_seconds > 0) {
            double f = (double)total / DIARIZE__RATE / src->total_seconds;
            report(ps, SHARE_READ * (f < 1.0 ? f : 1.0));
        }
    }
    *seconds = (double)total / DIARIZE__RATE;
    if (vs->model && diarize__vad_stream_finish(vs) != 0)
        rc = util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");

cleanup:
    diarize__frontend_free(fe);
    free(buf);
    return rc;
}

static int builtin_run(void *state, const diarize_params *p, const diarize_source *src,
                       diarize_result *out, char *err, size_t errlen)
{
    builtin_state *st = state;
    diarize__features feats = {0};
    diarize__vad_stream vs;
    diarize__speech pc = {0};
    unsigned char *speech = NULL;
    int *labels = NULL, *groups = NULL;
    diarize__gmm *ubm = NULL;
    progress_state ps = {p, 0.0};
    memset(&vs, 0, sizeof vs);
    if (st->vad)
        diarize__vad_stream_start(&vs, st->vad);
    int rc = read_features(p, src, &feats, &vs, &out->audio_seconds, &ps, err, errlen);
    if (rc != DIARIZE_OK)
        goto cleanup;

    speech = malloc(feats.n + 1);
    if (!speech)
        goto nomem;
    if (st->vad)
        diarize__vad_from_probs(vs.probs, vs.n, VAD_SILERO_CHUNK, feats.n, speech);
    else
        diarize__vad(feats.energy, feats.n, speech);
    out->vad = st->vad ? "silero" : "energy";
    if (diarize__speech_cut(&feats, speech, &pc) != 0)
        goto nomem;
    out->speech_seconds = (double)pc.n / DIARIZE__FRAMES_PER_SECOND;
    if (pc.n == 0)
        goto cleanup; /* silence: no speakers, a valid result */

    int min_k = p->num_speakers ? p->num_speakers : p->min_speakers ? p->min_speakers : 1;
    int max_k = p->num_speakers ? p->num_speakers
                : p->max_speakers ? p->max_speakers
                                  : DEFAULT_MAX_SPEAKERS;
    if (max_k < min_k)
        max_k = min_k;
    ubm = malloc(sizeof *ubm);
    labels = malloc(pc.n * sizeof *labels);
    groups = malloc(pc.n * sizeof *groups);
    if (!ubm || !labels || !groups)
        goto nomem;
    if (diarize__gmm_train(ubm, feats.mfcc, pc.idx, pc.n, UBM_COMPONENTS, p->cancel) != 0)
        goto failed_or_cancelled;
    for (size_t t = 0; t < pc.n; t++)
        diarize__gmm_top(ubm, &feats.mfcc[pc.idx[t] * DIARIZE__DIM], &pc.top[t]);
    report(&ps, SHARE_READ + 0.1);

    int k = diarize__cluster(p, &feats, &pc, pc.piece, pc.n_pieces, min_k, max_k, labels);
    if (k < 0)
        goto failed_or_cancelled;
    report(&ps, SHARE_READ + SHARE_CLUSTER);
    if (diarize__resegment(feats.mfcc, pc.idx, pc.top, pc.n, ubm, k, labels, RESEG_ITERATIONS,
                           p->cancel) != 0)
        goto failed_or_cancelled;
    if ((k = diarize__labels_compact(labels, pc.n, k)) < 0)
        goto nomem;
    /* Resegmentation moves frames between speakers, so two speakers the
     * piece-level clustering kept apart may now be one voice: ask again. */
    int before_settle = k;
    memcpy(groups, labels, pc.n * sizeof *labels);
    if ((k = diarize__cluster(p, &feats, &pc, groups, (size_t)k, min_k, max_k, labels)) < 0)
        goto failed_or_cancelled;
    if (k < before_settle && diarize__resegment(feats.mfcc, pc.idx, pc.top, pc.n, ubm, k, labels,
                                                RESEG_ITERATIONS, p->cancel) != 0)
        goto failed_or_cancelled;
    if ((k = diarize__labels_compact(labels, pc.n, k)) < 0)
        goto nomem;
    int before = k;
    if ((k = diarize__labels_dissolve_slivers(labels, pc.n, k, min_k)) < 0)
        goto nomem;
    if (k < before && diarize__resegment(feats.mfcc, pc.idx, pc.top, pc.n, ubm, k, labels,
                                         RESEG_ITERATIONS, p->cancel) != 0)
        goto failed_or_cancelled;
    diarize__labels_smooth(&pc, labels);
    if ((k = diarize__labels_compact(labels, pc.n, k)) < 0)
        goto nomem;
    if (diarize__turns_emit(&pc, labels, src->time_offset, out) != 0)
        goto nomem;
    out->n_speakers = k;
    goto cleanup;

failed_or_cancelled: /* the stages fail only when cancelled or out of memory */
    if (cancelled(p)) {
        rc = util_errf(err, errlen, DIARIZE_ERR_CANCELLED, "cancelled");
        goto cleanup;
    }
nomem:
    rc = util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
cleanup:
    diarize__vad_stream_free(&vs);
    diarize__features_free(&feats);
    diarize__speech_free(&pc);
    free(speech);
    free(labels);
    free(groups);
    free(ubm);
    return rc;
}

/* The VAD model to load: the caller's or the one named at build time;
 * NULL when none is configured or the caller asks for "none". */
static const char *vad_model_path(const diarize_params *p)
{
    if (p->vad_model && strcmp(p->vad_model, "none") == 0)
        return NULL;
    if (p->vad_model && p->vad_model[0])
        return p->vad_model;
#ifdef CESAR_VAD_MODEL_DEFAULT
    if (CESAR_VAD_MODEL_DEFAULT[0])
        return CESAR_VAD_MODEL_DEFAULT;
#endif
    return NULL;
}

static int builtin_open(void **state, const diarize_params *p, char *err, size_t errlen)
{
    builtin_state *st = calloc(1, sizeof *st);
    *state = NULL;
    if (!st)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    const char *path = vad_model_path(p);
    char why[512] = "";
    if (path && vad_silero_open(&st->vad, path, why, sizeof why) != 0) {
        free(st);
        return util_errf(err, errlen, DIARIZE_ERR_INVALID,
                         "cannot load the voice activity model: %s", why);
    }
    *state = st;
    return DIARIZE_OK;
}

static void builtin_close(void *state)
{
    builtin_state *st = state;
    if (!st)
        return;
    vad_silero_close(st->vad);
    free(st);
}

const diarize_engine_impl diarize__engine_builtin = {
    .name = "builtin",
    .open = builtin_open,
    .run = builtin_run,
    .close = builtin_close,
};
