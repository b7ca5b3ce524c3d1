/* pyannote internals shared between the module's files (and its unit
 * tests). Names carry the pyannote__ prefix; nothing here is public.
 * Sections: matrix products (gemm*.c), segmentation, embedding, clustering.
 * Each section is owned by the file group it names; add to yours only. */
#ifndef CESAR_PYANNOTE_INTERNAL_H
#define CESAR_PYANNOTE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "pyannote/pyannote.h"

/* ---- matrix products (gemm.c, gemm_amx.c) ------------------------------------ */

/* How a packed weight matrix multiplies:
 *  F32    - cblas_sgemm, float32 throughout (exact reference path);
 *  BF16X3 - AMX tiles, each float split into two bfloat16 parts (hi + lo),
 *           three products (hi*hi + hi*lo + lo*hi) accumulated in float32:
 *           about float32 accuracy at a fraction of the time;
 *  BF16   - AMX tiles, one bfloat16 product (fastest, ~3 significant digits).
 * AUTO picks BF16X3 when the CPU and kernel allow AMX, else F32; the
 * environment variable CESAR_PYANNOTE_GEMM=f32|bf16x3|bf16 overrides it
 * (benchmarks, tests). */
typedef enum {
    PYANNOTE__GEMM_AUTO = 0,
    PYANNOTE__GEMM_F32,
    PYANNOTE__GEMM_BF16X3,
    PYANNOTE__GEMM_BF16,
} pyannote__gemm_mode;

/* The mode AUTO resolves to on this machine (never AUTO); a requested AMX
 * mode falls back to F32 when AMX is unavailable. */
pyannote__gemm_mode pyannote__gemm_resolve(pyannote__gemm_mode requested);
const char *pyannote__gemm_mode_name(pyannote__gemm_mode m); /* "f32", ... */

/* A weight matrix W (m x k, row-major) packed once for repeated products. */
typedef struct pyannote__matrix pyannote__matrix;

/* Packs w (copied; the caller keeps w). mode AUTO is resolved here. */
int pyannote__matrix_new(pyannote__matrix **out, const float *w, int m, int k,
                         pyannote__gemm_mode mode, char *err, size_t errlen);
void pyannote__matrix_free(pyannote__matrix *w); /* NULL-safe */
pyannote__gemm_mode pyannote__matrix_mode(const pyannote__matrix *w);

/* y (m x n, row stride ldy) = W * x (k x n, row stride ldx), plus y's old
 * values when accumulate. Single-threaded (callers split n across threads);
 * safe to call from several threads on the same W. Temporary buffers are
 * allocated per call or on the stack; PYANNOTE_ERR_NOMEM on failure. */
int pyannote__matrix_mul(const pyannote__matrix *w, const float *x, int ldx, int n, float *y,
                         int ldy, bool accumulate, char *err, size_t errlen);

/* ---- segmentation ------------------------------------------------------------ */
/* (segmenter*.c, seg_*.c, sincnet.c, lstm.c, powerset.c) */

#define PYANNOTE__SINC_KERNEL 251 /* taps of the sinc filters */
#define PYANNOTE__SINC_HALF 125   /* taps left of the centre */
#define PYANNOTE__SINC_STRIDE 10
#define PYANNOTE__CONV_KERNEL 5   /* the two plain convolutions */
#define PYANNOTE__POOL 3          /* max-pool size and stride after each conv */
#define PYANNOTE__SEG_MAX_LAYERS 8 /* LSTM layers accepted */
#define PYANNOTE__SEG_MAX_LINEAR 4 /* linear layers accepted */
#define PYANNOTE__LSTM_PANEL 32    /* gates per panel of the recurrent weights */

/* PyanNet's weights as the C code uses them (all owned by the struct;
 * released by pyannote__seg_weights_free). Matrices are row-major. */
typedef struct {
    float wav_norm_w, wav_norm_b; /* instance norm of the raw waveform */
    int n_sinc;                   /* sinc filters: n_sinc / 2 cos then as many sin */
    /* The filters folded on their symmetry (cos even, sin odd about the
     * centre tap): sinc_cos is n_sinc/2 x (HALF + 1) (centre tap first, then
     * the taps at distance 1..HALF), sinc_sin is n_sinc/2 x HALF. */
    float *sinc_cos, *sinc_sin;
    int ch[3];                    /* channels after each conv stage (80, 60, 60) */
    float *norm_w[3], *norm_b[3]; /* instance norms after each pooling */
    float *conv_w[2];             /* stages 2 and 3: [k][ch_out][ch_in], one matrix per tap */
    float *conv_b[2];
    int hidden, layers;           /* LSTM: units per direction, layers */
    int lstm_in[PYANNOTE__SEG_MAX_LAYERS];        /* input features of layer l */
    float *lstm_wih[PYANNOTE__SEG_MAX_LAYERS][2]; /* 4H x in, per direction */
    /* W_hh^T in panels of 32 gates: panel p holds, for k = 0..H-1, gates
     * 32p .. 32p+31 of W_hh[.][k] (zero-padded past 4H), so a step streams
     * each panel contiguously. */
    float *lstm_whh_p[PYANNOTE__SEG_MAX_LAYERS][2];
    float *lstm_b[PYANNOTE__SEG_MAX_LAYERS][2];   /* 4H: bias_ih + bias_hh */
    int n_linear;
    int lin_in[PYANNOTE__SEG_MAX_LINEAR], lin_out[PYANNOTE__SEG_MAX_LINEAR];
    float *lin_w[PYANNOTE__SEG_MAX_LINEAR], *lin_b[PYANNOTE__SEG_MAX_LINEAR];
    int cls_in;
    float *cls_w, *cls_b;         /* PYANNOTE_POWERSET_CLASSES x cls_in */
} pyannote__seg_weights;

/* Reads and checks every tensor of a segmentation checkpoint (seg_load.c).
 * On failure *w is left zeroed and the message names the tensor. */
int pyannote__seg_weights_load(pyannote__seg_weights *w, const char *path, char *err,
                               size_t errlen);
void pyannote__seg_weights_free(pyannote__seg_weights *w);

/* The sinc filters from the learned low_hz_ / band_hz_ (n_sinc / 2 each),
 * the Hamming half-window and the time grid n_ (HALF values each; NULL:
 * recomputed), computed in double and folded as in pyannote__seg_weights
 * (sincnet.c). */
void pyannote__sinc_filters(const float *low_hz, const float *band_hz, int n_half,
                            const float *window, const float *n_grid, float *sinc_cos,
                            float *sinc_sin);

/* Frames after the conv/pool stack for n_samples (0 when too short). */
size_t pyannote__seg_frames(size_t n_samples);

/* Per-thread scratch of the SincNet front end for windows of n_samples. */
typedef struct {
    size_t n_samples;
    float *x, *xr;      /* normalised waveform and its reverse */
    float *fold;        /* one block of folded frames */
    float *y1;          /* one block of sinc outputs */
    float *a[3];        /* each stage's pooled, normalised output (channel-major) */
    float *y;           /* conv output before pooling (stages 2, 3) */
} pyannote__sinc_scratch;

int pyannote__sinc_scratch_init(pyannote__sinc_scratch *s, const pyannote__seg_weights *w,
                                size_t n_samples);
void pyannote__sinc_scratch_free(pyannote__sinc_scratch *s);

/* SincNet on one window: writes frames x ch[2] features, time-major, to out. */
void pyannote__sincnet(const pyannote__seg_weights *w, pyannote__sinc_scratch *s,
                       const float *samples, float *out);

/* Mean of x (n values) and w / sqrt(biased variance + 1e-5), in double. */
void pyannote__seg_stats(const float *x, size_t n, double w, double *mean, double *scale);

/* Instance norm over time of each of ch channels (rows of length n),
 * biased variance, eps 1e-5, affine, then leaky ReLU (slope 0.01); in place. */
void pyannote__seg_norm_lrelu(float *x, int ch, size_t n, const float *w, const float *b);

/* Linear layers, classifier and log-softmax of one window (seg_head.c):
 * x is frames x 2H, out frames x 7; tmp holds 2 x tmp_stride floats,
 * tmp_stride >= frames x the widest linear layer. */
void pyannote__seg_head(const pyannote__seg_weights *w, const float *x, size_t frames, float *tmp,
                        size_t tmp_stride, float *out);

/* The bidirectional LSTM stack on n_windows sequences of t frames each
 * (x: n_windows x t x lstm_in[0]), batched across windows at each step
 * (lstm.c). Writes n_windows x t x 2H to y. scratch holds
 * pyannote__lstm_scratch_floats() floats. */
size_t pyannote__lstm_scratch_floats(const pyannote__seg_weights *w, size_t n_windows, size_t t);
void pyannote__lstm(const pyannote__seg_weights *w, const float *x, size_t n_windows, size_t t,
                    float *scratch, float *y);

/* One LSTM step for nb sequences (seg_recur.c): the pre-activations
 * (gates + bias) + h_in W_hh^T, each sum taken in the same order whatever
 * nb, then the cell update (gates i, f, g, o as torch) of c (nb x H) and
 * h_out. gates: nb rows of 4H (row stride ldg) holding the input
 * projections, overwritten; h_in, h_out: nb rows of H (strides ldh_in,
 * ldh_out), distinct; h_in NULL means zeros (the first step). whh_p is
 * in panels (pyannote__seg_weights.lstm_whh_p). */
void pyannote__lstm_step(const float *whh_p, const float *bias, int hidden, int nb, float *gates,
                         size_t ldg, const float *h_in, size_t ldh_in, float *h_out,
                         size_t ldh_out, float *c);

/* ---- embedding --------------------------------------------------------------- */

/* Kaldi fbank as WeSpeaker configures it (emb_fbank.c): 25 ms frames every
 * 10 ms (snip_edges), 512-point FFT, 80 mel bins from 20 Hz to Nyquist. */
#define PYANNOTE__EMB_MELS 80
#define PYANNOTE__EMB_FRAME 400
#define PYANNOTE__EMB_SHIFT 160
#define PYANNOTE__EMB_FFT 512

/* Tables the fbank needs, built once by pyannote__emb_fbank_init: the
 * window, the FFT's twiddles and bit-reversal permutation, and each mel
 * filter as a run of FFT bins (mel_w[m][j] weighs bin mel_first[m] + j,
 * j < mel_len[m]). */
typedef struct {
    double window[PYANNOTE__EMB_FRAME];
    double tw_re[PYANNOTE__EMB_FFT / 2], tw_im[PYANNOTE__EMB_FFT / 2];
    uint16_t bitrev[PYANNOTE__EMB_FFT];
    int mel_first[PYANNOTE__EMB_MELS], mel_len[PYANNOTE__EMB_MELS];
    double mel_w[PYANNOTE__EMB_MELS][PYANNOTE__EMB_FFT / 2];
} pyannote__emb_fbank_tables;

void pyannote__emb_fbank_init(pyannote__emb_fbank_tables *t);

/* Fbank frames of n_samples samples (0 when shorter than one frame). */
size_t pyannote__emb_fbank_frames(size_t n_samples);

/* The ResNet's input: out (80 x frames, bin-major, frames =
 * pyannote__emb_fbank_frames(n_samples) >= 1) receives the log mel energies
 * of samples (in [-1, 1], scaled by 32768 as pyannote does) minus each
 * bin's mean over time. */
/* Worker threads of one embedder (emb_pool.c): helpers started on first
 * need and kept until pyannote__emb_pool_free. One caller at a time. */
#define PYANNOTE__EMB_MAX_THREADS 64
typedef struct pyannote__emb_pool pyannote__emb_pool;

/* NULL when out of memory; the caller owns the pool (free with
 * pyannote__emb_pool_free, NULL-safe, which joins the helpers). */
pyannote__emb_pool *pyannote__emb_pool_new(void);
void pyannote__emb_pool_free(pyannote__emb_pool *pool);

/* Runs fn(arg) on n_threads threads at once (the caller's included, at
 * most PYANNOTE__EMB_MAX_THREADS) and returns when all have returned;
 * true when any returned non-NULL. pool NULL: threads created for this
 * call. Fewer threads may run it when the system refuses more, so fn must
 * take its units of work from a shared counter. */
bool pyannote__emb_parallel(pyannote__emb_pool *pool, void *(*fn)(void *), void *arg,
                            int n_threads);

/* As above, frames spread over n_threads threads of pool (NULL: threads of
 * its own); every value is computed the same way whatever the count. */
void pyannote__emb_fbank(const pyannote__emb_fbank_tables *t, const float *samples,
                         size_t n_samples, float *out, pyannote__emb_pool *pool, int n_threads);

/* One convolution with its BatchNorm folded in (emb_net.c): weights
 * cout x (cin * k * k) in PyTorch's (cin, kh, kw) order, padding k / 2. */
struct pyannote__emb_amx_conv;

typedef struct {
    pyannote__matrix *w;
    float *bias; /* cout; owned */
    int cin, cout, k, stride;
    /* In AMX modes, for the one-channel stem and for convolutions with
     * channels in multiples of 32 (all the others): the weights again in
     * the forms of the AMX trunk (emb_conv_amx.c). NULL otherwise; owned,
     * built by pyannote__emb_conv_amx_prepare, freed by
     * pyannote__emb_conv_amx_free. */
    struct pyannote__emb_amx_conv *amx;
} pyannote__emb_conv;

typedef struct {
    pyannote__emb_conv conv1, conv2;
    pyannote__emb_conv shortcut; /* shortcut.w NULL: identity */
} pyannote__emb_block;

#define PYANNOTE__EMB_BLOCKS 16 /* ResNet34: 3 + 4 + 6 + 3 */
#define PYANNOTE__EMB_CHANNELS 32
#define PYANNOTE__EMB_OUT_CHANNELS 256
#define PYANNOTE__EMB_OUT_BINS 10 /* 80 mel bins after three strides of 2 */
#define PYANNOTE__EMB_STATS (2 * PYANNOTE__EMB_OUT_CHANNELS * PYANNOTE__EMB_OUT_BINS)

/* The whole network, read-only once loaded. */
typedef struct {
    pyannote__emb_conv stem;
    pyannote__emb_block block[PYANNOTE__EMB_BLOCKS];
    pyannote__matrix *seg1; /* 256 x 5120 */
    float *seg1_bias;       /* 256; owned */
} pyannote__emb_net;

/* Reads the checkpoint at path into net (zeroed by the caller), folding
 * every BatchNorm (running statistics, eps 1e-5) into its convolution and
 * packing the weights with mode. PYANNOTE_ERR_MODEL names a missing tensor
 * or a wrong shape. On failure net is left for pyannote__emb_net_free. */
int pyannote__emb_net_load(pyannote__emb_net *net, const char *path, pyannote__gemm_mode mode,
                           char *err, size_t errlen);
void pyannote__emb_net_free(pyannote__emb_net *net); /* NULL-safe; keeps net itself */

/* Output extent of a convolution of kernel k (padding k / 2) along an axis. */
int pyannote__emb_conv_out(int in, int k, int stride);

/* Scratch of one pyannote_embed call (emb_conv.c, emb_trunk.c): n_threads
 * column tiles for the im2col products, and the activation buffers. */
typedef struct {
    int n_threads;
    pyannote__emb_pool *pool; /* borrowed (NULL: threads per step) */
    float *cols;      /* n_threads x PYANNOTE__EMB_TILE_FLOATS */
    float *act[4];    /* each act_cap floats */
    size_t act_cap;
    /* The AMX trunk's two bfloat16 activation buffers (emb_trunk_amx.c
     * grows them; owned by the work's owner, free()). */
    uint16_t *bf16;
    size_t bf16_cap;  /* uint16_t values of each of the two */
} pyannote__emb_work;

/* Floats of one thread's im2col tile: bounds the scratch whatever the
 * input length (512 KiB per thread; the tile size barely matters between
 * 64 and 512 Ki floats, this keeps the columns within L2). */
#define PYANNOTE__EMB_TILE_FLOATS (128 * 1024)

/* y (cout x ho x wo) = conv(x (cin x h x w)) + bias, plus res (same shape
 * as y) when not NULL, then ReLU when relu. The output columns are cut
 * into fixed tiles spread over work->n_threads threads; each element is
 * computed the same way whatever the thread count. */
int pyannote__emb_conv_run(const pyannote__emb_conv *c, const float *x, int h, int w,
                           const float *res, bool relu, float *y, pyannote__emb_work *work,
                           char *err, size_t errlen);

/* Floats one activation buffer needs for frames fbank frames. */
size_t pyannote__emb_act_floats(int frames);

/* Time frames the trunk leaves of frames fbank frames (three strides of 2). */
int pyannote__emb_trunk_frames(int frames);

/* The ResNet trunk on feats (80 x frames): *out points at rows
 * (256 * 10) x *out_frames in one of work's buffers (row c * 10 + f:
 * channel c, frequency f, as TSTP flattens them). */
int pyannote__emb_trunk(const pyannote__emb_net *net, const float *feats, int frames,
                        pyannote__emb_work *work, const float **out, int *out_frames, char *err,
                        size_t errlen);

/* mask (n_in weights) resized to n_out frames as F.interpolate(mode =
 * "nearest") does: source floor(i * (n_in / n_out)) in float arithmetic. */
void pyannote__emb_resize_mask(const float *mask, size_t n_in, float *out, size_t n_out);

/* Weighted statistics of rows (n_rows x frames) under weights (frames):
 * out[0 .. n_rows) the means, out[n_rows .. 2 n_rows) the unbiased
 * standard deviations, both denominators guarded by 1e-8 as pyannote 3.1
 * does (all-zero weights give zeros). */
void pyannote__emb_stats(const float *rows, int n_rows, int frames, const float *weights,
                         float *out);

/* The AMX implicit-GEMM convolutions (emb_conv_amx.c, emb_trunk_amx.c).
 *
 * Activations between the convolutions stay as bfloat16 in a layout the
 * tiles load directly, channel-blocked: per block of 32 channels a plane of
 * (h + 2) rows of wp columns (one zero row above and below, zero columns
 * around the data), each column holding the block's 32 channels of one
 * position (64 bytes, a cache line). The operand tile of 16 consecutive
 * positions and 32 channels is then 1 KiB of contiguous, aligned memory,
 * for every kernel tap. BF16X3 keeps a second, "lo" set of planes,
 * bf16(v - hi). wp is a multiple of 16.
 *  - plain (input of stride-1 convolutions): position i at column 1 + i,
 *    wp = round_up(w, 16) + 16;
 *  - phase-split (input of stride-2 ones): each row holds the odd
 *    positions, then the even ones, in two segments of seg =
 *    round_up(ceil(w / 2), 16) + 16 columns (odd i at column (i + 1) / 2,
 *    even i at seg + i / 2), so that the inputs of 16 consecutive stride-2
 *    outputs are again 16 consecutive columns.
 * Float32 activations on this path (residuals, the trunk's output) are
 * channel-blocked too, without padding: value (c, y, x) at
 * ((c / 32 * h + y) * w + x) * 32 + c % 32. */
typedef struct {
    uint16_t *hi, *lo; /* lo NULL in BF16 mode; borrowed */
    int c, h, w;       /* channels (multiple of 32), rows (frequency), positions (time) */
    bool phase;        /* phase-split layout */
    int seg;           /* phase-split: columns of one segment */
    int wp;            /* padded row length, columns */
    size_t blk;        /* values from one 32-channel block's plane to the next */
} pyannote__emb_bf16;

/* The geometry of a c x h x w activation on hi (and lo when split), which
 * must hold pyannote__emb_bf16_values(c, h, w) values each (either
 * layout). */
size_t pyannote__emb_bf16_values(int c, int h, int w);
void pyannote__emb_bf16_init(pyannote__emb_bf16 *v, uint16_t *hi, uint16_t *lo, int c, int h,
                             int w, bool phase);

/* Zeroes every value of v's planes outside the positions of the interior. */
void pyannote__emb_bf16_clear_border(const pyannote__emb_bf16 *v);

/* Channel-blocked float32 fb (c x h x w) back to planes. */
void pyannote__emb_blocked_to_planes(const float *fb, int c, int h, int w, float *x);

/* Builds c->amx from the folded weights w (cout x (cin k k), PyTorch order)
 * when the conv qualifies (see pyannote__emb_conv), else leaves it NULL. */
int pyannote__emb_conv_amx_prepare(pyannote__emb_conv *c, const float *w, char *err,
                                   size_t errlen);
void pyannote__emb_conv_amx_free(struct pyannote__emb_amx_conv *w); /* NULL-safe */

/* The one-channel stem c (c->amx set) on x (h x w float32, the fbank
 * features), directly in float32 (nine multiply-adds per output): ReLU(conv
 * + bias) into out (plain layout, h x w) and channel-blocked into fb. Rows
 * are spread over n_threads threads; each value is computed the same way
 * whatever the count. */
int pyannote__emb_stem_amx(const pyannote__emb_conv *c, const float *x, int h, int w,
                           const pyannote__emb_bf16 *out, float *fb, pyannote__emb_pool *pool,
                           int n_threads, char *err, size_t errlen);

/* The convolution c (c->amx set) of x (phase-split when c->stride is 2):
 * v = conv(x) + bias, plus res (channel-blocked float32, cout x ho x wo)
 * when not NULL, ReLU when relu; written channel-blocked to y when not
 * NULL (y may be res: each value is read before it is overwritten) and
 * into out's layout (ho x wo, c = cout, either layout) when not NULL.
 * Output rows are spread over n_threads threads of pool (NULL: threads of
 * its own); every element is computed
 * the same way whatever the count. */
int pyannote__emb_conv_amx_run(const pyannote__emb_conv *c, const pyannote__emb_bf16 *x,
                               const float *res, bool relu, float *y,
                               const pyannote__emb_bf16 *out, pyannote__emb_pool *pool,
                               int n_threads, char *err, size_t errlen);

/* pyannote__emb_trunk for nets whose convolutions have AMX weights. */
int pyannote__emb_trunk_amx(const pyannote__emb_net *net, const float *feats, int frames,
                            pyannote__emb_work *work, const float **out, int *out_frames,
                            char *err, size_t errlen);

/* ---- clustering and reconstruction ------------------------------------------- */

/* One row of a linkage (scipy's layout): clusters a < b (ids: 0..n-1 the
 * points, n + k the cluster made by row k) merged at distance height into a
 * cluster of size points. */
typedef struct {
    int a, b;
    double height;
    int size;
} pyannote__merge;

/* Centroid linkage of n points (x: n x dim, row-major, read only) into
 * z[0 .. n-2], in O(n * dim) memory (cluster_linkage.c describes the
 * algorithm and its tie rule). n >= 2. */
int pyannote__centroid_linkage(const double *x, size_t n, int dim, pyannote__merge *z,
                               char *err, size_t errlen);

/* An orthonormal basis q (r x dim, rows) of the r directions along which
 * the n points x spread most (cluster_subspace.c); r <= dim. Projections
 * on it give lower bounds of distances. */
int pyannote__subspace(const double *x, size_t n, int dim, int r, double *q, char *err,
                       size_t errlen);

/* scipy's fcluster with a monotone criterion: a node whose crit (n - 1
 * values, one per row of z) is <= cutoff forms a flat cluster with all its
 * leaves. labels (n) get 0-based cluster numbers in scipy's depth-first
 * order. Returns the number of clusters, or -1 when out of memory. */
int pyannote__fcluster(const pyannote__merge *z, size_t n, const double *crit, double cutoff,
                       int *labels);

/* AgglomerativeClustering.cluster of pyannote 3.1 on n finite embeddings x
 * (n x dim; normalised in place): linkage, threshold, large/small clusters,
 * min/max/num constraints (already resolved by set_num_clusters; num 0 =
 * none). labels (n) get 0 .. k-1. */
int pyannote__agglomerate(double *x, size_t n, int dim, const pyannote_cluster_params *p,
                          int min_clusters, int max_clusters, int num_clusters, int *labels,
                          char *err, size_t errlen);

/* 1 - cosine similarity, as scipy's cdist(metric="cosine"). */
double pyannote__cosine_distance(const double *u, const double *v, int dim);

/* pyannote's Binarize (onset = offset = 0.5) of a discrete diarization:
 * sel is total x cols (1 = speaker col speaks in global frame t); runs of
 * frames become turns between frame middles, same-speaker gaps shorter
 * than min_duration_off are filled, turns are clipped to audio_seconds and
 * sorted by (start, end, speaker). The caller owns *turns (free()). */
int pyannote__frames_to_turns(const uint8_t *sel, size_t total, int cols,
                              double min_duration_off, double audio_seconds,
                              pyannote_turn **turns, size_t *n_turns, char *err, size_t errlen);

#endif
