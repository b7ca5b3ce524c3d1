/* builtin: the diarization engine that needs no model file. It reads the
 * audio once into compact features (about 100 bytes per 10 ms, never the
 * samples), finds speech, clusters 1.5 s pieces of speech into speakers
 * with the Bayesian information criterion on cepstra and pitch, refines
 * the boundaries frame by frame with per-speaker Gaussian mixtures, and
 * smooths away turns too short to be real (builtin_internal.h lists the
 * stages). Everything is deterministic.
 *
 * How many speakers: the clustering joins the closest pair of groups (by
 * delta BIC) as long as one voice explains them nearly as well as two —
 * a log-likelihood gain per frame below MAX_GAIN_PER_FRAME, after an
 * allowance for the noise of estimating a Gaussian from little speech. A
 * per-frame gain does not grow with the amount of speech the way the BIC
 * itself does, so the same rule holds for a one-minute clip and an hour.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"
#include "diarize/engine_impl.h"
#include "util/util.h"

#define READ_CHUNK 16000
#define DEFAULT_MAX_SPEAKERS 8
/* Speech is cut into pieces of this many frames for clustering; a region's
 * tail shorter than half a piece joins the piece before it. */
#define PIECE_FRAMES 150
/* The pair table of the clustering grows with the square of the pieces;
 * past this many, pieces get longer instead. */
#define MAX_PIECES 3000
/* Components of the recording's background model. */
#define UBM_COMPONENTS 32
/* BIC penalty weight (1.0 is the textbook value): orders the merges. */
#define LAMBDA_PIECES 1.0
/* Largest log-likelihood gain per frame (nats) of two voices over one at
 * which two groups still count as one speaker, and the allowance, in
 * parameters of the model, for the gain that estimation noise alone gives
 * (about one nat per parameter for small groups). Tuned on synthetic
 * conversations of 2-8 voices: within one voice the gain mostly stays
 * below 1.0 and between two voices mostly starts above 1.5; the rare cases
 * in between (a short turn said on a higher pitch, two voices a few per
 * cent apart) are where this engine miscounts. */
#define MAX_GAIN_PER_FRAME 1.4
#define NOISE_ALLOWANCE 4.0
#define PIECE_PARAMS (0.5 * (DIARIZE__DIM + DIARIZE__TRI + 2))
#define RESEG_ITERATIONS 2
/* A speaker with less than this share of the speech, and less than this
 * many frames, is a sliver (dissolve_slivers). */
#define SLIVER_SHARE 0.04
#define SLIVER_MAX_FRAMES 1000
/* Turns shorter than this inside continuous speech are smoothed away. */
#define MIN_TURN_FRAMES 25
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
    diarize__silero *vad; /* NULL: energy VAD */
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

/* Speech frames, the piece each belongs to, and their UBM components. */
typedef struct {
    size_t *idx;       /* speech frame -> frame index */
    int *piece;        /* speech frame -> piece */
    diarize__top *top; /* speech frame -> best UBM components */
    size_t n;          /* speech frames */
    size_t n_pieces;
} pieces;

static void pieces_free(pieces *pc)
{
    free(pc->idx);
    free(pc->piece);
    free(pc->top);
    memset(pc, 0, sizeof *pc);
}

/* Cuts every speech region into pieces of about piece_len frames. */
static size_t assign_pieces(const unsigned char *speech, size_t n_frames, size_t piece_len,
                            pieces *pc)
{
    size_t count = 0, k = 0, i = 0;
    while (i < n_frames) {
        if (!speech[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n_frames && speech[j])
            j++;
        size_t len = j - i;
        size_t n_here = (len + piece_len / 2) / piece_len;
        if (n_here == 0)
            n_here = 1;
        for (size_t f = 0; f < len; f++) {
            pc->idx[k] = i + f;
            pc->piece[k] = (int)(count + f * n_here / len);
            k++;
        }
        count += n_here;
        i = j;
    }
    pc->n = k;
    return count;
}

static int make_pieces(const diarize__features *feats, const unsigned char *speech, pieces *pc)
{
    size_t n_speech = 0;
    for (size_t i = 0; i < feats->n; i++)
        n_speech += speech[i];
    pc->idx = malloc((n_speech + 1) * sizeof *pc->idx);
    pc->piece = malloc((n_speech + 1) * sizeof *pc->piece);
    pc->top = malloc((n_speech + 1) * sizeof *pc->top);
    if (!pc->idx || !pc->piece || !pc->top)
        return -1;
    size_t piece_len = PIECE_FRAMES;
    while ((pc->n_pieces = assign_pieces(speech, feats->n, piece_len, pc)) > MAX_PIECES)
        piece_len += piece_len / 2;
    return 0;
}

/* Pieces as full-covariance Gaussians, for the first clustering. */
typedef struct {
    diarize__stats *stats;
    double *logdet;
    double lambda;
    double max_gain;
} piece_ctx;

static double piece_distance(void *ctx, size_t a, size_t b)
{
    piece_ctx *c = ctx;
    return diarize__delta_bic(&c->stats[a], c->logdet[a], &c->stats[b], c->logdet[b], c->lambda);
}

static void piece_merge(void *ctx, size_t into, size_t from)
{
    piece_ctx *c = ctx;
    diarize__stats_merge(&c->stats[into], &c->stats[from]);
    c->logdet[into] = diarize__stats_logdet(&c->stats[into]);
}

static bool piece_may_join(void *ctx, size_t a, size_t b)
{
    piece_ctx *c = ctx;
    double g = diarize__delta_bic(&c->stats[a], c->logdet[a], &c->stats[b], c->logdet[b], 0.0);
    g -= NOISE_ALLOWANCE * PIECE_PARAMS;
    return g / (c->stats[a].n + c->stats[b].n) < c->max_gain;
}

/* Groups of speech frames (group_of[t] for speech frame t, n of them) into
 * speakers (labels per speech frame), with the BIC ordering the merges and
 * piece_may_join deciding when to stop. Returns k or -1. */
static int cluster_groups(const diarize_params *p, const diarize__features *feats,
                          const pieces *pc, const int *group_of, size_t n, int min_k,
                          int max_k, int *labels)
{
    piece_ctx ctx = {calloc(n + 1, sizeof *ctx.stats), malloc((n + 1) * sizeof *ctx.logdet),
                     LAMBDA_PIECES, MAX_GAIN_PER_FRAME};
    int *group_label = malloc((n + 1) * sizeof *group_label);
    int k = -1;
    if (!ctx.stats || !ctx.logdet || !group_label)
        goto cleanup;
    for (size_t t = 0; t < pc->n; t++)
        diarize__stats_add(&ctx.stats[group_of[t]], &feats->mfcc[pc->idx[t] * DIARIZE__DIM],
                           feats->pitch[pc->idx[t]]);
    for (size_t i = 0; i < n; i++)
        ctx.logdet[i] = diarize__stats_logdet(&ctx.stats[i]);
    diarize__hac_ops ops = {piece_distance, piece_merge, piece_may_join, &ctx};
    bool stop = false;
    k = diarize__hac(&ops, n, min_k, max_k, p->num_speakers, group_label, p->cancel, &stop);
    if (k >= 0)
        for (size_t t = 0; t < pc->n; t++)
            labels[t] = group_label[group_of[t]];

cleanup:
    free(ctx.stats);
    free(ctx.logdet);
    free(group_label);
    return k;
}

/* Speakers that lost every frame are dropped; the rest numbered densely. */
static int compact_labels(int *labels, size_t n, int k)
{
    int *map = malloc((size_t)k * sizeof *map);
    if (!map)
        return -1;
    for (int s = 0; s < k; s++)
        map[s] = -1;
    int live = 0;
    for (size_t t = 0; t < n; t++) {
        if (map[labels[t]] < 0)
            map[labels[t]] = live++;
        labels[t] = map[labels[t]];
    }
    free(map);
    return live;
}

/* A "speaker" holding only a sliver of the speech is nearly always a
 * leftover of the clustering (frames at turn changes, a cough), not a
 * person: its frames go to the speaker before them (after them at the
 * start), and resegmentation then settles where they really belong.
 * Never leaves fewer than min_k speakers. Returns the new k or -1. */
static int dissolve_slivers(int *labels, size_t n, int k, int min_k)
{
    size_t *count = calloc((size_t)k, sizeof *count);
    unsigned char *sliver = calloc((size_t)k, 1);
    int result = -1;
    if (!count || !sliver)
        goto cleanup;
    for (size_t t = 0; t < n; t++)
        count[labels[t]]++;
    int live = k;
    double limit = SLIVER_SHARE * (double)n;
    if (limit > SLIVER_MAX_FRAMES)
        limit = SLIVER_MAX_FRAMES;
    for (int pass = 0; pass < k && live > min_k; pass++) {
        int smallest = -1;
        for (int s = 0; s < k; s++)
            if (!sliver[s] && (double)count[s] < limit &&
                (smallest < 0 || count[s] < count[smallest]))
                smallest = s;
        if (smallest < 0)
            break;
        sliver[smallest] = 1;
        live--;
    }
    if (live == k) {
        result = k;
        goto cleanup;
    }
    int prev = -1;
    for (size_t t = 0; t < n; t++) {
        if (!sliver[labels[t]])
            prev = labels[t];
        else if (prev >= 0)
            labels[t] = prev;
    }
    int next = -1;
    for (size_t t = n; t-- > 0;) {
        if (!sliver[labels[t]])
            next = labels[t];
        else if (next >= 0)
            labels[t] = next;
    }
    result = compact_labels(labels, n, k);

cleanup:
    free(count);
    free(sliver);
    return result;
}

/* Length of the run of labels[t]'s speaker through frame t, counting only
 * consecutive speech frames, and where it starts. */
static size_t run_at(const pieces *pc, const int *labels, size_t t, size_t *start)
{
    size_t a = t, b = t;
    while (a > 0 && labels[a - 1] == labels[t] && pc->idx[a - 1] + 1 == pc->idx[a])
        a--;
    while (b + 1 < pc->n && labels[b + 1] == labels[t] && pc->idx[b + 1] == pc->idx[b] + 1)
        b++;
    *start = a;
    return b - a + 1;
}

/* A turn shorter than MIN_TURN_FRAMES inside continuous speech is a
 * flicker at a speaker change, not a turn: it goes to the longer of the
 * runs around it. */
static void smooth_turns(const pieces *pc, int *labels)
{
    size_t t = 0;
    while (t < pc->n) {
        size_t start, len = run_at(pc, labels, t, &start);
        size_t end = start + len; /* one past the run */
        bool joined_before = start > 0 && pc->idx[start - 1] + 1 == pc->idx[start];
        bool joined_after = end < pc->n && pc->idx[end - 1] + 1 == pc->idx[end];
        if (len < MIN_TURN_FRAMES && (joined_before || joined_after)) {
            size_t s0, before = joined_before ? run_at(pc, labels, start - 1, &s0) : 0;
            size_t after = joined_after ? run_at(pc, labels, end, &s0) : 0;
            int to = before >= after ? labels[start - 1] : labels[end];
            for (size_t i = start; i < end; i++)
                labels[i] = to;
        }
        t = end;
    }
}

/* Runs of one speaker over consecutive speech frames become turns. */
static int emit_turns(const pieces *pc, const int *labels, double offset, diarize_result *out)
{
    size_t cap = 0;
    for (size_t t = 0; t < pc->n; t++) {
        size_t start = t;
        while (t + 1 < pc->n && labels[t + 1] == labels[start] && pc->idx[t + 1] == pc->idx[t] + 1)
            t++;
        if (out->n_turns == cap) {
            cap = cap ? cap * 2 : 64;
            diarize_turn *grown = realloc(out->turns, cap * sizeof *grown);
            if (!grown)
                return -1;
            out->turns = grown;
        }
        /* frame i is centred at 10 i + 12.5 ms; a run covers its frames'
         * central 10 ms */
        diarize_turn *u = &out->turns[out->n_turns++];
        u->start = offset + (double)pc->idx[start] / DIARIZE__FRAMES_PER_SECOND + 0.0075;
        u->end = offset + (double)pc->idx[t] / DIARIZE__FRAMES_PER_SECOND + 0.0175;
        u->speaker = labels[start];
    }
    return 0;
}

static int builtin_run(void *state, const diarize_params *p, const diarize_source *src,
                       diarize_result *out, char *err, size_t errlen)
{
    builtin_state *st = state;
    diarize__features feats = {0};
    diarize__vad_stream vs;
    pieces pc = {0};
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
        diarize__vad_from_probs(vs.probs, vs.n, DIARIZE__SILERO_CHUNK, feats.n, speech);
    else
        diarize__vad(feats.energy, feats.n, speech);
    out->vad = st->vad ? "silero" : "energy";
    if (make_pieces(&feats, speech, &pc) != 0)
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

    int k = cluster_groups(p, &feats, &pc, pc.piece, pc.n_pieces, min_k, max_k, labels);
    if (k < 0)
        goto failed_or_cancelled;
    report(&ps, SHARE_READ + SHARE_CLUSTER);
    if (diarize__resegment(feats.mfcc, pc.idx, pc.top, pc.n, ubm, k, labels, RESEG_ITERATIONS,
                           p->cancel) != 0)
        goto failed_or_cancelled;
    if ((k = compact_labels(labels, pc.n, k)) < 0)
        goto nomem;
    /* Resegmentation moves frames between speakers, so two speakers the
     * piece-level clustering kept apart may now be one voice: ask again. */
    int before_settle = k;
    memcpy(groups, labels, pc.n * sizeof *labels);
    if ((k = cluster_groups(p, &feats, &pc, groups, (size_t)k, min_k, max_k, labels)) < 0)
        goto failed_or_cancelled;
    if (k < before_settle && diarize__resegment(feats.mfcc, pc.idx, pc.top, pc.n, ubm, k, labels,
                                                RESEG_ITERATIONS, p->cancel) != 0)
        goto failed_or_cancelled;
    if ((k = compact_labels(labels, pc.n, k)) < 0)
        goto nomem;
    int before = k;
    if ((k = dissolve_slivers(labels, pc.n, k, min_k)) < 0)
        goto nomem;
    if (k < before && diarize__resegment(feats.mfcc, pc.idx, pc.top, pc.n, ubm, k, labels,
                                         RESEG_ITERATIONS, p->cancel) != 0)
        goto failed_or_cancelled;
    smooth_turns(&pc, labels);
    if ((k = compact_labels(labels, pc.n, k)) < 0)
        goto nomem;
    if (emit_turns(&pc, labels, src->time_offset, out) != 0)
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
    pieces_free(&pc);
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
    if (path && diarize__silero_open(&st->vad, path, why, sizeof why) != 0) {
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
    diarize__silero_close(st->vad);
    free(st);
}

const diarize_engine_impl diarize__engine_builtin = {"builtin", builtin_open, builtin_run,
                                                    builtin_close};
