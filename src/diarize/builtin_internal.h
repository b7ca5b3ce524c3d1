/* builtin_internal: the pieces of the built-in diarization engine, shared
 * between its files and the unit tests. Not part of the module's public
 * interface (diarize.h); every symbol carries the diarize__ prefix.
 *
 * The engine, in order (see builtin.c):
 *   frontend  16 kHz samples -> per 10 ms frame: log energy and MFCCs
 *   vad       energy with an adaptive threshold and hangover -> speech frames
 *   segments  speech cut into short pieces, adjacent similar pieces joined
 *   hac       agglomerative clustering of pieces with the Bayesian information
 *             criterion (full-covariance Gaussians) -> speaker count
 *   reseg     per-speaker GMMs and a Viterbi pass with a switch penalty,
 *             repeated, to refine boundaries frame by frame
 */
#ifndef CESAR_DIARIZE_BUILTIN_INTERNAL_H
#define CESAR_DIARIZE_BUILTIN_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "diarize/diarize.h"
#include "vad/vad.h"

/* Frames: 25 ms windows every 10 ms at 16 kHz. */
#define DIARIZE__RATE 16000
#define DIARIZE__HOP 160
#define DIARIZE__WIN 400
#define DIARIZE__FRAMES_PER_SECOND 100.0
/* Cepstral coefficients kept per frame (c1..c19; c0 is the energy, which
 * says more about distance to the microphone than about the speaker). */
#define DIARIZE__DIM 19
/* Entries of the upper triangle of a DIM x DIM matrix. */
#define DIARIZE__TRI (DIARIZE__DIM * (DIARIZE__DIM + 1) / 2)

/* ---- features ------------------------------------------------------------ */

/* Growing per-frame arrays; memory is n * (DIM + 1) floats. */
typedef struct {
    float *mfcc;   /* n x DIM */
    float *energy; /* n, log energy in dB */
    float *pitch;  /* n, log F0 (Hz) of voiced frames, 0 when unvoiced */
    size_t n, cap;
} diarize__features;

void diarize__features_free(diarize__features *f); /* leaves f zeroed */

typedef struct diarize__frontend diarize__frontend;

int diarize__frontend_new(diarize__frontend **out);
void diarize__frontend_free(diarize__frontend *fe);
/* Feeds n samples; appends every frame they complete to feats. Returns 0 or
 * -1 when out of memory. */
int diarize__frontend_push(diarize__frontend *fe, const float *x, size_t n,
                           diarize__features *feats);

/* Real-input FFT of a fixed size n (a power of two, >= 4). */
typedef struct diarize__fft_plan diarize__fft_plan;
int diarize__fft_plan_new(diarize__fft_plan **out, size_t n); /* 0 or -1 */
void diarize__fft_plan_free(diarize__fft_plan *p);             /* NULL-safe */
/* x: n samples; re, im: n/2 + 1 bins. Uses the plan's work space, so one
 * plan serves one thread. */
void diarize__rfft(diarize__fft_plan *p, const float *x, float *re, float *im);

/* ---- voice activity -------------------------------------------------------- */

/* Marks speech frames (1) from log energies. Pure. */
void diarize__vad(const float *energy, size_t n, unsigned char *speech);
/* Marks speech frames from per-chunk speech probabilities (chunks of
 * chunk_samples samples from the start; frame i belongs to the chunk
 * holding its centre). Pure. */
void diarize__vad_from_probs(const float *probs, size_t n_chunks, size_t chunk_samples,
                             size_t n, unsigned char *speech);

/* Silero speech probabilities for a recording, streamed. */
typedef struct {
    vad_silero *model; /* borrowed */
    float pending[VAD_SILERO_CHUNK];
    size_t n_pending;
    float *probs; /* one per chunk; owned */
    size_t n, cap;
} diarize__vad_stream;

void diarize__vad_stream_start(diarize__vad_stream *s, vad_silero *model); /* resets model */
int diarize__vad_stream_push(diarize__vad_stream *s, const float *x, size_t n); /* 0 / -1 nomem */
int diarize__vad_stream_finish(diarize__vad_stream *s); /* the last, zero-padded chunk */
void diarize__vad_stream_free(diarize__vad_stream *s);

/* ---- full-covariance Gaussians and the BIC --------------------------------- */

typedef struct {
    double n;
    double sum[DIARIZE__DIM];
    double sq[DIARIZE__TRI]; /* upper triangle of sum x x^T, row-major */
    double pn, psum, psq;    /* voiced frames: count, sum and sum of squares of log F0 */
} diarize__stats;

/* Adds a frame: cepstra x and log F0 pitch (0 = unvoiced). */
void diarize__stats_add(diarize__stats *s, const float *x, float pitch);
void diarize__stats_merge(diarize__stats *into, const diarize__stats *other);
/* log det of the (slightly regularised) covariance. */
double diarize__stats_logdet(const diarize__stats *s);
/* Delta BIC of one Gaussian for a and b instead of two; negative means
 * "same speaker". logdet_a / logdet_b as diarize__stats_logdet gives. */
double diarize__delta_bic(const diarize__stats *a, double logdet_a, const diarize__stats *b,
                          double logdet_b, double lambda);

/* ---- mixtures ----------------------------------------------------------- */

#define DIARIZE__MAX_COMPONENTS 64
/* Components kept per frame when scoring against speaker models: a frame's
 * likelihood is almost all in its few best components. */
#define DIARIZE__TOP 4

typedef struct {
    int m;
    double w[DIARIZE__MAX_COMPONENTS];
    float mean[DIARIZE__MAX_COMPONENTS][DIARIZE__DIM];
    double var[DIARIZE__MAX_COMPONENTS][DIARIZE__DIM];
    float ivar[DIARIZE__MAX_COMPONENTS][DIARIZE__DIM];
    double gconst[DIARIZE__MAX_COMPONENTS]; /* log w - 1/2 (D log 2pi + sum log var) */
} diarize__gmm;

/* A frame's best components under the UBM and their posteriors. */
typedef struct {
    unsigned char c[DIARIZE__TOP];
    float p[DIARIZE__TOP];
} diarize__top;

/* Trains g on the frames listed in idx (rows of mfcc), up to `components`
 * components. Returns 0, or -1 when out of memory or cancelled. */
int diarize__gmm_train(diarize__gmm *g, const float *mfcc, const size_t *idx, size_t n,
                       int components, const atomic_int *cancel);
/* Recomputes ivar and gconst after w/var changed. */
void diarize__gmm_prepare(diarize__gmm *g);
/* log p(x); post (may be NULL) receives the component posteriors. */
double diarize__gmm_loglik(const diarize__gmm *g, const float *x, double *post);
/* log (w_c N(x; mean, var_c)) for component c with the given mean. */
double diarize__gmm_component_ll(const diarize__gmm *g, int c, const float *mean, const float *x);
void diarize__gmm_top(const diarize__gmm *g, const float *x, diarize__top *top);

/* ---- speaker statistics against the UBM ---------------------------------------- */

/* Per group (a piece of speech, a cluster, a speaker): soft counts and
 * first-order sums for each UBM component. Additive, so merging groups is
 * adding rows. */
typedef struct {
    int m;
    size_t n_groups;
    double *count; /* n_groups x m */
    double *first; /* n_groups x m x DIM */
    double *frames; /* n_groups */
} diarize__ustats;

int diarize__ustats_new(diarize__ustats *s, size_t n_groups, int m);
void diarize__ustats_free(diarize__ustats *s);
void diarize__ustats_clear(diarize__ustats *s);
void diarize__ustats_add(diarize__ustats *s, size_t group, const diarize__top *top,
                         const float *x);
void diarize__ustats_merge(diarize__ustats *s, size_t into, size_t from);
/* MAP-adapted means of group g (relevance factor r) into mean[m][DIM]. */
void diarize__ustats_map_means(const diarize__ustats *s, const diarize__gmm *ubm, size_t g,
                               double r, float (*mean)[DIARIZE__DIM]);

/* ---- speaker models --------------------------------------------------------- */

/* The UBM MAP-adapted to one group's statistics (means and weights). */
typedef struct {
    float mean[DIARIZE__MAX_COMPONENTS][DIARIZE__DIM];
    double shift[DIARIZE__MAX_COMPONENTS]; /* log w_s,c - log w_c */
} diarize__speaker_model;

void diarize__speaker_model_build(const diarize__ustats *st, size_t g, const diarize__gmm *ubm,
                                  diarize__speaker_model *out);
/* log p(x | model), over the frame's best UBM components. */
double diarize__speaker_score(const diarize__gmm *ubm, const diarize__speaker_model *model,
                              const diarize__top *top, const float *x);

/* ---- the engine's stages over a recording's speech --------------------------- */

/* Speech frames, the piece each belongs to, and their UBM components. */
typedef struct {
    size_t *idx;       /* speech frame -> frame index */
    int *piece;        /* speech frame -> piece */
    diarize__top *top; /* speech frame -> best UBM components (filled by the caller) */
    size_t n;          /* speech frames */
    size_t n_pieces;
} diarize__speech;

/* Lists the frames speech[] marks and cuts each speech region into pieces
 * of about 1.5 s (longer when there would be too many for the clustering's
 * pair table). Returns 0 or -1 (out of memory; free pc anyway). */
int diarize__speech_cut(const diarize__features *feats, const unsigned char *speech,
                        diarize__speech *pc);
void diarize__speech_free(diarize__speech *pc); /* leaves pc zeroed */

/* Clusters groups of speech frames (group_of[t] for frame t, n groups)
 * into speakers within min_k..max_k (p->num_speakers, when set, exactly);
 * labels[t] receives frame t's speaker. Returns k, or -1 (out of memory
 * or cancelled). */
int diarize__cluster(const diarize_params *p, const diarize__features *feats,
                     const diarize__speech *pc, const int *group_of, size_t n, int min_k,
                     int max_k, int *labels);

/* Renumbers labels densely (speakers with no frame dropped); returns the
 * new k or -1. */
int diarize__labels_compact(int *labels, size_t n, int k);
/* Gives the frames of speakers holding a sliver of the speech to their
 * neighbours, never going below min_k speakers; returns the new k or -1. */
int diarize__labels_dissolve_slivers(int *labels, size_t n, int k, int min_k);
/* Turns shorter than 0.25 s inside continuous speech join a neighbour. */
void diarize__labels_smooth(const diarize__speech *pc, int *labels);
/* Appends one turn per run of a speaker over consecutive speech frames,
 * times shifted by offset. Returns 0 or -1 (out of memory). */
int diarize__turns_emit(const diarize__speech *pc, const int *labels, double offset,
                        diarize_result *out);

/* ---- agglomerative clustering ------------------------------------------------- */

typedef struct {
    /* Cost of joining groups a and b; negative = they belong together. */
    double (*distance)(void *ctx, size_t a, size_t b);
    /* Group `from` joins `into` (into < from). */
    void (*merge)(void *ctx, size_t into, size_t from);
    /* Whether a and b, the closest pair, may still join when the count
     * constraints allow stopping; NULL = when their distance is negative. */
    bool (*may_join)(void *ctx, size_t a, size_t b);
    void *ctx;
} diarize__hac_ops;

/* Joins the closest pair of n groups while their cost is negative or the
 * count exceeds max_k; never below min_k; exact_k > 0 forces that count
 * (bounded by n). labels[i] receives group i's cluster, 0..k-1 in order of
 * the clusters' lowest group. Returns k, or -1 (out of memory, or
 * cancelled: *cancelled says which). */
int diarize__hac(const diarize__hac_ops *ops, size_t n, int min_k, int max_k, int exact_k,
                 int *labels, const atomic_int *cancel, bool *cancelled);

/* ---- resegmentation ---------------------------------------------------------- */

/* Refines labels (one per speech frame, values 0..k-1; frame t is row
 * idx[t] of mfcc, with its UBM components in top[t]) with speaker models
 * MAP-adapted from the UBM and a Viterbi pass with a cost per change of
 * speaker; `iterations` rounds. Returns 0, or -1 (memory, cancel). */
int diarize__resegment(const float *mfcc, const size_t *idx, const diarize__top *top, size_t n,
                       const diarize__gmm *ubm, int k, int *labels, int iterations,
                       const atomic_int *cancel);

#endif
