/* pyannote: the networks and the clustering of pyannote's
 * speaker-diarization-3.1 pipeline, in our own C, reading the published
 * weights (pyannote/segmentation-3.0 and
 * pyannote/wespeaker-voxceleb-resnet34-LM, PyTorch checkpoints read by the
 * ckpt module). The diarize module's "pyannote" engine strings these pieces
 * together over a whole recording; this module knows nothing of files on
 * disk beyond the checkpoints, of audio sources or of jobs.
 *
 *  - Segmentation (PyanNet): 10 s windows of 16 kHz audio -> SincNet ->
 *    4-layer bidirectional LSTM -> two linear layers -> log-probabilities of
 *    the 7 powerset classes over 3 local speakers, one frame every 270
 *    samples (589 frames per window).
 *  - Embedding (WeSpeaker ResNet34): Kaldi-style 80-bin fbank -> ResNet34 ->
 *    statistics pooling weighted by a speaker's frame mask -> 256 values.
 *  - Clustering: agglomerative (centroid linkage on normalised embeddings),
 *    small clusters merged into large ones, speaker count constraints.
 *  - Reconstruction: window-level activity of the clustered local speakers
 *    laid back onto the global timeline, binarised into turns.
 *
 * Handles are used by one thread at a time; functions taking n_threads run
 * that many threads internally (<= 0 means 1) and give bit-identical
 * results whatever the count.
 *
 * Errors: functions return a pyannote_err and write a message naming the
 * file, tensor or value at fault into the caller-owned buffer err
 * (capacity errlen; may be NULL/0).
 */
#ifndef CESAR_PYANNOTE_H
#define CESAR_PYANNOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    PYANNOTE_OK = 0,
    PYANNOTE_ERR_INVALID, /* bad argument */
    PYANNOTE_ERR_MODEL,   /* the checkpoint cannot be read, or lacks a tensor or has a
                           * wrong shape (the message names it) */
    PYANNOTE_ERR_NOMEM,
} pyannote_err;

const char *pyannote_strerror(int code);

#define PYANNOTE_SAMPLE_RATE 16000
#define PYANNOTE_LOCAL_SPEAKERS 3  /* speakers per segmentation window */
#define PYANNOTE_POWERSET_CLASSES 7 /* {}, {0}, {1}, {2}, {0,1}, {0,2}, {1,2} */
#define PYANNOTE_EMBEDDING_DIM 256

/* ---- segmentation ---------------------------------------------------------- */

typedef struct pyannote_segmenter pyannote_segmenter;

/* Loads pyannote/segmentation-3.0's pytorch_model.bin (any checkpoint with
 * the same tensor names; sizes are taken from the tensors and checked for
 * consistency). On success the caller owns *out. */
int pyannote_segmenter_open(pyannote_segmenter **out, const char *checkpoint_path, char *err,
                            size_t errlen);
void pyannote_segmenter_close(pyannote_segmenter *s); /* NULL-safe */

/* Output frames for a window of n_samples samples (589 for 160000). */
size_t pyannote_segmenter_frames(const pyannote_segmenter *s, size_t n_samples);

/* Frame t of a window starting at time 0 covers
 * [t * PYANNOTE_FRAME_STEP, t * PYANNOTE_FRAME_STEP + PYANNOTE_FRAME_DURATION)
 * samples: the network's receptive field (SincNet's stride and kernels). */
#define PYANNOTE_FRAME_STEP 270
#define PYANNOTE_FRAME_DURATION 991

/* Runs the network on n_windows windows of n_samples samples each, stored
 * one after another in samples (window w at samples + w * n_samples).
 * Writes the log-probabilities of the 7 powerset classes:
 * out[(w * frames + t) * 7 + k], frames = pyannote_segmenter_frames(). */
int pyannote_segment(pyannote_segmenter *s, const float *samples, size_t n_windows,
                     size_t n_samples, int n_threads, float *out, char *err, size_t errlen);

/* The powerset decision pyannote makes (argmax, then the class's speakers):
 * log_probs is frames x 7, active is frames x 3 (1 = speaking). */
void pyannote_powerset_to_multilabel(const float *log_probs, size_t frames, uint8_t *active);

/* ---- embedding -------------------------------------------------------------- */

typedef struct pyannote_embedder pyannote_embedder;

/* Loads pyannote/wespeaker-voxceleb-resnet34-LM's pytorch_model.bin. */
int pyannote_embedder_open(pyannote_embedder **out, const char *checkpoint_path, char *err,
                           size_t errlen);

/* How the embedding network multiplies. EXACT keeps float32 accuracy: AMX
 * tiles with each float split into two bfloat16 parts (within 1e-4 of
 * float32 on the tests' embeddings) where the CPU has AMX, else float32
 * (OpenBLAS). FAST uses one bfloat16 product per multiply on AMX: about
 * twice as fast, embeddings about 1e-2 relative from float32; without AMX
 * it is EXACT. (The environment variable CESAR_PYANNOTE_GEMM=f32|bf16x3|bf16
 * overrides both, for tests and benchmarks.) */
typedef enum {
    PYANNOTE_PRECISION_EXACT = 0,
    PYANNOTE_PRECISION_FAST,
} pyannote_precision;

/* pyannote_embedder_open with a precision (pyannote_embedder_open is EXACT). */
int pyannote_embedder_open_precision(pyannote_embedder **out, const char *checkpoint_path,
                                     pyannote_precision precision, char *err, size_t errlen);
void pyannote_embedder_close(pyannote_embedder *e); /* NULL-safe */

/* Fewest samples an embedding can be computed from (pyannote's
 * min_num_samples: shorter input has no fbank frame or collapses in the
 * network's strides). */
size_t pyannote_embedder_min_samples(const pyannote_embedder *e);

/* Embeddings of n_masks speakers of one chunk of n_samples samples: the
 * fbank and the ResNet trunk are computed once, then each mask (n_mask_frames
 * weights, mask m at masks + m * n_mask_frames, resized to the trunk's
 * frames by nearest neighbour as pyannote does) weights the statistics
 * pooling, and the last linear layer gives 256 values: out[m * 256 + i]. A
 * mask whose resized weights sum to 0 pools to zeros (pyannote 3.1 adds
 * 1e-8 to both denominators), so its embedding is seg_1's bias, finite, as
 * in pyannote; callers filter inactive speakers themselves. */
int pyannote_embed(pyannote_embedder *e, const float *samples, size_t n_samples,
                   const float *masks, size_t n_masks, size_t n_mask_frames, int n_threads,
                   float *out, char *err, size_t errlen);

/* ---- clustering ------------------------------------------------------------- */

typedef struct {
    double threshold;     /* 0.7045654963945799 (speaker-diarization-3.1) */
    int min_cluster_size; /* 12; lowered for files with fewer embeddings */
    /* Speaker count constraints, 0 = unset; num_clusters overrides both. */
    int min_clusters;
    int max_clusters;
    int num_clusters;
} pyannote_cluster_params;

pyannote_cluster_params pyannote_cluster_default_params(void);

/* Clusters the embeddings of every (chunk, local speaker): embeddings is
 * n_chunks x n_local x dim; active[c * n_local + s] is non-zero when speaker s
 * speaks in chunk c (pyannote's filter: any active frame) — only active,
 * finite embeddings train the clustering, then every active pair is assigned
 * to a cluster. Writes hard_clusters[c * n_local + s] (0 .. *n_clusters - 1,
 * or -2 for an inactive pair, as pyannote) and *n_clusters (the largest
 * label + 1; 0 when no pair is active).
 * Labels are numbered as pyannote numbers them (scipy's fcluster order,
 * then ranks of the large clusters), so they match label for label. An
 * active pair without a finite embedding gets cluster 0, as numpy's argmax
 * of NaN scores gives in pyannote. min/max/num_clusters are clamped to the
 * number of training embeddings first; min > max after that is
 * PYANNOTE_ERR_INVALID. All-zero embeddings are left out of training like
 * NaN ones. Time O(n^2 dim) at worst for n training embeddings, pruned
 * (measured, one thread: 10,800 x 256 in 5-7.5 s CPU, 6,400 x 256 in
 * 1.4-2 s), memory O(n dim) (about 60 MB for 10,800 x 256). */
int pyannote_cluster(const float *embeddings, const uint8_t *active, size_t n_chunks, int n_local,
                     int dim, const pyannote_cluster_params *p, int *hard_clusters,
                     int *n_clusters, char *err, size_t errlen);

/* ---- reconstruction --------------------------------------------------------- */

typedef struct {
    double start, end; /* seconds from the start of the audio */
    int speaker;       /* cluster index */
} pyannote_turn;

typedef struct {
    double chunk_duration; /* 10 s */
    double chunk_step;     /* 1 s: chunk c starts at c * chunk_step */
    double min_duration_off; /* gaps shorter than this inside a speaker's
                              * activity are filled; 0 in 3.1 */
    int max_speakers;      /* > 0: at most this many speakers at once */
} pyannote_timeline_params;

pyannote_timeline_params pyannote_timeline_default_params(void);

/* From the chunks' binary activity (n_chunks x n_frames x n_local, frame
 * timing PYANNOTE_FRAME_STEP/DURATION) and their hard clusters, the global
 * diarization: per global frame, the number of speakers is the rounded mean
 * count of active local speakers over the chunks covering it, and that many
 * clusters with the highest aggregated activity speak. Turns come out
 * sorted by (start, end, speaker); *turns is owned by the caller (free();
 * NULL when there are none). audio_seconds bounds the timeline: turns are
 * clipped to it (the last chunk may run past the end).
 * hard_clusters holds -2 or 0 .. n_clusters - 1. A turn's speaker may be
 * >= n_clusters: where more speakers are counted than there are clusters,
 * pyannote pads with silent speakers and they get turns too.
 * max_speakers is pyannote's cap on the count: pass num_speakers when the
 * user gave one, else max_speakers, else 0. */
int pyannote_reconstruct(const uint8_t *active, size_t n_chunks, size_t n_frames, int n_local,
                         const int *hard_clusters, int n_clusters,
                         const pyannote_timeline_params *p, double audio_seconds,
                         pyannote_turn **turns, size_t *n_turns, char *err, size_t errlen);

#endif
