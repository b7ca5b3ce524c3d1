/* silero: Silero VAD v6.2 (16 kHz) inference, loading the model from its
 * ggml container and running one 512-sample chunk at a time. It serves both
 * the diarization engine's speech detection and the Whisper engine's
 * optional silence gating (API in vad/vad.h).
 *
 * The network, per chunk: the last 64 samples of the previous chunk are put
 * in front (576 samples), 64 samples are reflected onto the right end (640),
 * an STFT made of 258 stored filters of length 256 at stride 128 gives 4
 * frames of 129 magnitudes, four ReLU convolutions (kernel 3, padding 1,
 * strides 1 2 2 1) reduce them to one 128-vector, an LSTM cell carries state
 * across chunks, and ReLU, a 128->1 projection and a sigmoid give the speech
 * probability.
 *
 * Speed: an hour of audio is 112,500 chunks and the whole diarization
 * budget is small, so every layer is one matrix-vector product (gemv) over
 * weights laid out at load so that a row holds everything one input value
 * feeds, run with explicit 4-float vectors and accumulators held in
 * registers; rows whose input is zero (half of every ReLU output) are
 * skipped, which changes no result. Nothing is allocated per chunk.
 *
 * The STFT filters are stored rounded to f16. A real FFT would be fastest
 * but computes the unrounded filters, and the rounding alone moves the
 * probability by up to about 1e-3 (1.3e-3 measured on synthetic speech),
 * ten times what the reference tests allow. Instead the product uses the
 * symmetries the stored filters have exactly (checked value by value at
 * load, with the full product as the fallback), which cuts it to a quarter
 * with the very same coefficients.
 */
#include "vad/vad.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

#define MAGIC 0x67676d6cu
#define MODEL_NAME "silero-16k"
#define MAX_FILE_BYTES (16 * 1024 * 1024) /* the real file is under 1 MiB */
#define MAX_NAME_BYTES 256

#define CHUNK VAD_SILERO_CHUNK
#define CONTEXT 64
#define N_IN (CONTEXT + CHUNK) /* 576 */
#define REFLECT 64
#define N_PADDED (N_IN + REFLECT) /* 640 */
#define N_FFT 256
#define HOP 128
#define N_FRAMES 4                /* (640 - 256) / 128 + 1 */
#define N_BINS (N_FFT / 2 + 1)    /* 129 */
#define N_BASIS (2 * N_BINS)      /* 258: real parts, then imaginary parts */
#define BASIS_PAD 264             /* 258 rounded up to a multiple of 8 */
#define HALF_BINS (N_FFT / 4 + 1) /* 65: bins 0..64; 65..128 mirror them */
#define HALF_PAD 72
#define N_LAYERS 4
#define HIDDEN 128
#define GATES (4 * HIDDEN)

/* Encoder layers: channels in and out, stride, and input length (frames). */
static const struct {
    int in, out, stride, len_in;
} enc_shape[N_LAYERS] = {{129, 128, 1, 4}, {128, 64, 2, 4}, {64, 64, 2, 2}, {64, 128, 1, 1}};

#define ENC_W_TOTAL (129 * 3 * 128 + 128 * 3 * 64 + 64 * 3 * 64 + 64 * 3 * 128)
#define ENC_B_TOTAL (128 + 64 + 64 + 128)

/* Output length of a kernel-3, padding-1 convolution. */
#define CONV_LEN(len, stride) (((len) + 2 - 3) / (stride) + 1)

/* clang-format off */
enum {
    T_ENC0_W, T_ENC0_B, T_ENC1_W, T_ENC1_B, T_ENC2_W, T_ENC2_B, T_ENC3_W, T_ENC3_B,
    T_W_IH, T_W_HH, T_B_IH, T_B_HH, T_OUT_W, T_OUT_B, T_BASIS, N_TENSORS
};
/* clang-format on */

/* The tensors the file must hold, with sizes fastest-varying first as ggml
 * writes them (a conv weight [3,129,128] is PyTorch's [out][in][kernel]). */
static const struct {
    const char *name;
    int n_dims;
    int dims[3];
} expected[N_TENSORS] = {
    {"_model.encoder.0.reparam_conv.weight", 3, {3, 129, 128}},
    {"_model.encoder.0.reparam_conv.bias", 1, {128}},
    {"_model.encoder.1.reparam_conv.weight", 3, {3, 128, 64}},
    {"_model.encoder.1.reparam_conv.bias", 1, {64}},
    {"_model.encoder.2.reparam_conv.weight", 3, {3, 64, 64}},
    {"_model.encoder.2.reparam_conv.bias", 1, {64}},
    {"_model.encoder.3.reparam_conv.weight", 3, {3, 64, 128}},
    {"_model.encoder.3.reparam_conv.bias", 1, {128}},
    {"_model.decoder.rnn.weight_ih", 2, {HIDDEN, GATES}},
    {"_model.decoder.rnn.weight_hh", 2, {HIDDEN, GATES}},
    {"_model.decoder.rnn.bias_ih", 1, {GATES}},
    {"_model.decoder.rnn.bias_hh", 1, {GATES}},
    {"_model.decoder.decoder.2.weight", 1, {HIDDEN}},
    {"_model.decoder.decoder.2.bias", 0, {0}},
    {"_model.stft.forward_basis_buffer", 3, {N_FFT, 1, N_BASIS}},
};

/* Rows of the folded STFT tables: even n = 2r (r 0..64), odd n = 2r+1 (r 0..63). */
#define EVEN_ROWS (N_FFT / 4 + 1)
#define ODD_ROWS (N_FFT / 4)
/* Most rows one matrix-vector product takes (encoder layer 0: 129 x 3). */
#define MAX_ROWS (129 * 3)

struct vad_silero {
    /* Encoder weights per layer as [in][kernel][out]: row i*3+k holds what
     * input channel i at kernel tap k adds to each output channel. */
    float enc_w_store[ENC_W_TOTAL];
    float enc_b_store[ENC_B_TOTAL];
    float *enc_w[N_LAYERS];
    float *enc_b[N_LAYERS];
    /* LSTM: rows 0..127 from weight_ih, 128..255 from weight_hh, each row
     * the 512 gate inputs (i, f, g, o) one input value feeds. */
    float lstm_w[2 * HIDDEN * GATES];
    float lstm_b[GATES]; /* bias_ih + bias_hh */
    float out_w[HIDDEN];
    float out_b;

    /* STFT. Folded: fold[part][r][k] is the basis value of bin k (0..64)
     * at sample n, for part 0 real/even n, 1 real/odd n, 2 imaginary/even
     * n, 3 imaginary/odd n (n = 2r or 2r+1). Full fallback: basis_t[n][c]
     * for all 258 channels. */
    int folded;
    float fold[4][EVEN_ROWS][HALF_PAD];
    float basis_t[N_FFT][BASIS_PAD];

    /* State carried from chunk to chunk. */
    float context[CONTEXT];
    float h[HIDDEN], c[HIDDEN];

    /* Scratch, kept here so a chunk never allocates. Activations are laid
     * out [frame][channel]. */
    float padded[N_PADDED];
    float fold_in[4][EVEN_ROWS]; /* sums / differences, by part as in fold */
    float fold_out[4][HALF_PAD]; /* the four partial spectra, by part */
    float spectrum[BASIS_PAD];   /* full product: 129 real parts, 129 imaginary */
    float mag[N_FRAMES][N_BINS];
    float act1[4][128], act2[2][64], act3[1][64], act4[1][128];
    float taps[4 * 129 * 3];   /* convolution inputs, [output frame][row] */
    float lstm_in[2 * HIDDEN]; /* encoder output, then previous h */
    float gates[GATES];
};

/* ---- small arithmetic ------------------------------------------------------ */

/* Four floats as one value: GCC and Clang map arithmetic on it to one
 * vector register (SSE on x86-64, NEON on arm64), the width every target
 * has. Loads and stores go through memcpy, which needs no alignment and
 * compiles to one unaligned move. */
typedef float v4 __attribute__((vector_size(16)));
#define LOAD4(v, p) memcpy(&(v), (p), sizeof(v4))
#define STORE4(p, v) memcpy((p), &(v), sizeof(v4))

/* y[0..n_out) = sum over r of a[r] * w[r][0..n_out), rows of w n_out floats
 * apart, n_out a multiple of 8, n_rows at most MAX_ROWS. Rows whose input
 * is zero are left out up front: after a ReLU that is half of them, and
 * adding a zero product changes no sum. Each output element is summed in
 * row order; blocks of 32 outputs (8 registers) stay in registers while
 * the rows stream past, so every weight is loaded once per call. */
static void gemv(float *restrict y, const float *restrict w, const float *restrict a, size_t n_rows,
                 size_t n_out)
{
    unsigned short idx[MAX_ROWS];
    float val[MAX_ROWS];
    size_t nz = 0;
    for (size_t r = 0; r < n_rows; r++) {
        /* branch-free: ReLU zeros fall in no pattern a predictor could learn */
        idx[nz] = (unsigned short)r;
        val[nz] = a[r];
        nz += a[r] != 0.0f;
    }
    size_t ob = 0;
    for (; ob + 32 <= n_out; ob += 32) {
        /* written out by hand: at -O2 an array of accumulators stays in
         * memory */
        v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0}, s5 = {0}, s6 = {0}, s7 = {0};
        for (size_t q = 0; q < nz; q++) {
            const float *row = w + (size_t)idx[q] * n_out + ob;
            float v = val[q];
            v4 r0, r1, r2, r3, r4, r5, r6, r7;
            LOAD4(r0, row);
            LOAD4(r1, row + 4);
            LOAD4(r2, row + 8);
            LOAD4(r3, row + 12);
            LOAD4(r4, row + 16);
            LOAD4(r5, row + 20);
            LOAD4(r6, row + 24);
            LOAD4(r7, row + 28);
            s0 += r0 * v;
            s1 += r1 * v;
            s2 += r2 * v;
            s3 += r3 * v;
            s4 += r4 * v;
            s5 += r5 * v;
            s6 += r6 * v;
            s7 += r7 * v;
        }
        STORE4(y + ob, s0);
        STORE4(y + ob + 4, s1);
        STORE4(y + ob + 8, s2);
        STORE4(y + ob + 12, s3);
        STORE4(y + ob + 16, s4);
        STORE4(y + ob + 20, s5);
        STORE4(y + ob + 24, s6);
        STORE4(y + ob + 28, s7);
    }
    for (; ob < n_out; ob += 8) {
        v4 s0 = {0}, s1 = {0};
        for (size_t q = 0; q < nz; q++) {
            const float *row = w + (size_t)idx[q] * n_out + ob;
            v4 r0, r1;
            LOAD4(r0, row);
            LOAD4(r1, row + 4);
            s0 += r0 * val[q];
            s1 += r1 * val[q];
        }
        STORE4(y + ob, s0);
        STORE4(y + ob + 4, s1);
    }
}

/* The same product for four input vectors at once, y[t] = w a[t] for t
 * 0..3 (y and a 4 x n_out and 4 x n_rows, row-major). The four share
 * every weight load, which matters for encoder layer 0: its 200 KB of
 * weights would otherwise stream through the cache once per frame. No row
 * is skipped: its four inputs are rarely all zero. Same summation order as
 * gemv. */
static void gemv4(float *restrict y, const float *restrict w, const float *restrict a,
                  size_t n_rows, size_t n_out)
{
    const float *a0 = a, *a1 = a + n_rows, *a2 = a + 2 * n_rows, *a3 = a + 3 * n_rows;
    for (size_t ob = 0; ob < n_out; ob += 8) {
        v4 p0 = {0}, q0 = {0}, p1 = {0}, q1 = {0}, p2 = {0}, q2 = {0}, p3 = {0}, q3 = {0};
        for (size_t r = 0; r < n_rows; r++) {
            const float *row = w + r * n_out + ob;
            v4 lo, hi;
            LOAD4(lo, row);
            LOAD4(hi, row + 4);
            p0 += lo * a0[r];
            q0 += hi * a0[r];
            p1 += lo * a1[r];
            q1 += hi * a1[r];
            p2 += lo * a2[r];
            q2 += hi * a2[r];
            p3 += lo * a3[r];
            q3 += hi * a3[r];
        }
        STORE4(y + ob, p0);
        STORE4(y + ob + 4, q0);
        STORE4(y + n_out + ob, p1);
        STORE4(y + n_out + ob + 4, q1);
        STORE4(y + 2 * n_out + ob, p2);
        STORE4(y + 2 * n_out + ob + 4, q2);
        STORE4(y + 3 * n_out + ob, p3);
        STORE4(y + 3 * n_out + ob + 4, q3);
    }
}

static inline float sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* IEEE half to single, by hand: every half value, subnormals included, is
 * exactly representable as a float. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24 */
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    uint32_t bits;
    if (exp == 31)
        bits = sign | 0x7f800000u | (mant << 13); /* inf or NaN */
    else
        bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- reading the container ------------------------------------------------ */

typedef struct {
    const unsigned char *p;
    size_t len, pos;
} cursor;

static bool take(cursor *c, size_t n, const unsigned char **out)
{
    if (n > c->len - c->pos)
        return false;
    *out = c->p + c->pos;
    c->pos += n;
    return true;
}

static bool take_i32(cursor *c, int32_t *v)
{
    const unsigned char *b;
    if (!take(c, 4, &b))
        return false;
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    memcpy(v, &u, sizeof *v);
    return true;
}

/* Where a tensor's data sits in the file buffer and how it is stored. */
typedef struct {
    const unsigned char *data;
    int type; /* 0 f32, 1 f16 */
} tensor_ref;

static float tensor_at(const tensor_ref *t, size_t i)
{
    if (t->type == 1) {
        const unsigned char *b = t->data + 2 * i;
        return half_to_float((uint16_t)(b[0] | b[1] << 8));
    }
    const unsigned char *b = t->data + 4 * i;
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static size_t expected_count(int slot)
{
    size_t n = 1;
    for (int d = 0; d < expected[slot].n_dims; d++)
        n *= (size_t)expected[slot].dims[d];
    return n;
}

/* A tensor name fit for a message: printable bytes only, bounded. */
static void printable_name(char *dst, size_t cap, const unsigned char *src, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < cap; i++)
        dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[j] = '\0';
}

static void shape_string(char *dst, size_t cap, const int32_t *dims, int n)
{
    size_t used = (size_t)snprintf(dst, cap, "[");
    for (int d = 0; d < n && used < cap; d++)
        used += (size_t)snprintf(dst + used, cap - used, "%s%d", d ? "," : "", (int)dims[d]);
    if (used < cap)
        snprintf(dst + used, cap - used, "]");
}

/* Checks the fixed header: magic, name, version, hyper-parameters. */
static int parse_header(cursor *c, const char *path, char *err, size_t errlen)
{
    int32_t v, name_len;
    const unsigned char *name;
    if (!take_i32(c, &v))
        return util_errf(err, errlen, -1, "%s: truncated (file ends inside the header)", path);
    if ((uint32_t)v != MAGIC)
        return util_errf(err, errlen, -1, "%s: not a Silero VAD ggml file (magic 0x%08x)", path,
                         (unsigned)v);
    if (!take_i32(c, &name_len))
        return util_errf(err, errlen, -1, "%s: truncated (file ends inside the header)", path);
    if (name_len < 0 || name_len > MAX_NAME_BYTES)
        return util_errf(err, errlen, -1, "%s: not a Silero VAD ggml file (model name length %d)",
                         path, (int)name_len);
    if (!take(c, (size_t)name_len, &name))
        return util_errf(err, errlen, -1, "%s: truncated (file ends inside the header)", path);
    if ((size_t)name_len != strlen(MODEL_NAME) || memcmp(name, MODEL_NAME, (size_t)name_len) != 0) {
        char shown[64];
        printable_name(shown, sizeof shown, name, (size_t)name_len);
        return util_errf(err, errlen, -1,
                         "%s: not a Silero VAD 16 kHz model (model name \"%s\", expected \"%s\")",
                         path, shown, MODEL_NAME);
    }

    int32_t ver[3];
    for (int i = 0; i < 3; i++)
        if (!take_i32(c, &ver[i]))
            return util_errf(err, errlen, -1, "%s: truncated (file ends inside the header)", path);
    /* Only v6.2 was checked against its reference; other releases may
     * reshape the network under the same tensor names. */
    if (ver[0] != 6 || ver[1] != 2)
        return util_errf(err, errlen, -1, "%s: Silero VAD version %d.%d.%d, expected 6.2.x", path,
                         (int)ver[0], (int)ver[1], (int)ver[2]);

    /* window, context, layer count, per-layer (in, out, kernel), then LSTM
     * input, LSTM hidden, final conv in and out. */
    static const char *const what[] = {"window", "context", "encoder layer count"};
    static const int32_t want[] = {CHUNK, CONTEXT, N_LAYERS};
    for (int i = 0; i < 3; i++) {
        if (!take_i32(c, &v))
            return util_errf(err, errlen, -1, "%s: truncated (file ends inside the header)", path);
        if (v != want[i])
            return util_errf(err, errlen, -1, "%s: %s is %d, expected %d", path, what[i], (int)v,
                             (int)want[i]);
    }
    for (int l = 0; l < N_LAYERS; l++) {
        int32_t s[3];
        for (int i = 0; i < 3; i++)
            if (!take_i32(c, &s[i]))
                return util_errf(err, errlen, -1, "%s: truncated (file ends inside the header)",
                                 path);
        if (s[0] != enc_shape[l].in || s[1] != enc_shape[l].out || s[2] != 3)
            return util_errf(err, errlen, -1,
                             "%s: encoder layer %d is (in %d, out %d, kernel %d), expected "
                             "(%d, %d, 3)",
                             path, l, (int)s[0], (int)s[1], (int)s[2], enc_shape[l].in,
                             enc_shape[l].out);
    }
    static const char *const what2[] = {"LSTM input size", "LSTM hidden size",
                                        "final conv input size", "final conv output size"};
    static const int32_t want2[] = {HIDDEN, HIDDEN, HIDDEN, 1};
    for (int i = 0; i < 4; i++) {
        if (!take_i32(c, &v))
            return util_errf(err, errlen, -1, "%s: truncated (file ends inside the header)", path);
        if (v != want2[i])
            return util_errf(err, errlen, -1, "%s: %s is %d, expected %d", path, what2[i], (int)v,
                             (int)want2[i]);
    }
    return 0;
}

/* Reads the tensor records up to the end of the file into refs (pointers
 * into the buffer), checking names, shapes, types and bounds. */
static int parse_tensors(cursor *c, const char *path, tensor_ref *refs, char *err, size_t errlen)
{
    bool seen[N_TENSORS] = {false};
    while (c->pos < c->len) {
        int32_t n_dims, name_len, type;
        int32_t dims[4];
        const unsigned char *name, *data;
        if (!take_i32(c, &n_dims) || !take_i32(c, &name_len) || !take_i32(c, &type))
            return util_errf(err, errlen, -1, "%s: truncated (file ends inside a tensor header)",
                             path);
        if (n_dims < 0 || n_dims > 4 || name_len <= 0 || name_len > MAX_NAME_BYTES)
            return util_errf(err, errlen, -1,
                             "%s: corrupt tensor header at byte %zu (%d dimensions, name of %d "
                             "bytes)",
                             path, c->pos - 12, (int)n_dims, (int)name_len);
        for (int d = 0; d < n_dims; d++)
            if (!take_i32(c, &dims[d]))
                return util_errf(err, errlen, -1,
                                 "%s: truncated (file ends inside a tensor header)", path);
        if (!take(c, (size_t)name_len, &name))
            return util_errf(err, errlen, -1, "%s: truncated (file ends inside a tensor header)",
                             path);
        char shown[MAX_NAME_BYTES + 1];
        printable_name(shown, sizeof shown, name, (size_t)name_len);

        int slot = -1;
        for (int s = 0; s < N_TENSORS; s++)
            if ((size_t)name_len == strlen(expected[s].name) &&
                memcmp(name, expected[s].name, (size_t)name_len) == 0)
                slot = s;
        if (slot < 0)
            return util_errf(err, errlen, -1, "%s: unexpected tensor \"%s\"", path, shown);
        if (seen[slot])
            return util_errf(err, errlen, -1, "%s: tensor %s appears twice", path, shown);
        if (type != 0 && type != 1)
            return util_errf(err, errlen, -1, "%s: tensor %s has unknown type %d", path, shown,
                             (int)type);
        bool same = n_dims == expected[slot].n_dims;
        for (int d = 0; same && d < n_dims; d++)
            same = dims[d] == expected[slot].dims[d];
        if (!same) {
            char got[64], want[64];
            int32_t want_dims[3];
            for (int d = 0; d < expected[slot].n_dims; d++)
                want_dims[d] = expected[slot].dims[d];
            shape_string(got, sizeof got, dims, (int)n_dims);
            shape_string(want, sizeof want, want_dims, expected[slot].n_dims);
            return util_errf(err, errlen, -1, "%s: tensor %s has shape %s, expected %s", path,
                             shown, got, want);
        }
        /* The shape matched, so the size is small and cannot overflow. */
        size_t bytes = expected_count(slot) * (type == 1 ? 2 : 4);
        if (!take(c, bytes, &data))
            return util_errf(err, errlen, -1, "%s: truncated (file ends inside tensor %s)", path,
                             shown);
        refs[slot].data = data;
        refs[slot].type = (int)type;
        seen[slot] = true;
    }
    for (int s = 0; s < N_TENSORS; s++)
        if (!seen[s])
            return util_errf(err, errlen, -1, "%s: truncated or incomplete (tensor %s missing)",
                             path, expected[s].name);
    for (int s = 0; s < N_TENSORS; s++) {
        size_t n = expected_count(s);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(tensor_at(&refs[s], i)))
                return util_errf(err, errlen, -1, "%s: tensor %s holds a non-finite value", path,
                                 expected[s].name);
    }
    return 0;
}

/* Basis value of channel ch (0..257) at sample n (0..255). */
static float basis_at(const tensor_ref *b, int ch, int n)
{
    return tensor_at(b, (size_t)ch * N_FFT + (size_t)n);
}

/* True when the stored basis has, exactly, the symmetries of a windowed DFT
 * with a symmetric window, which the folded product relies on:
 *   re[k][256-n] = re[k][n],  im[k][256-n] = -im[k][n],  im[k][0] = im[k][128] = 0,
 *   re[128-k][n] = (-1)^n re[k][n],  im[128-k][n] = -(-1)^n im[k][n].
 * Rounding to f16 keeps them because it is symmetric in sign. */
static bool basis_is_symmetric(const tensor_ref *b)
{
    for (int k = 0; k < N_BINS; k++) {
        if (basis_at(b, N_BINS + k, 0) != 0.0f || basis_at(b, N_BINS + k, N_FFT / 2) != 0.0f)
            return false;
        for (int n = 1; n < N_FFT / 2; n++)
            if (basis_at(b, k, N_FFT - n) != basis_at(b, k, n) ||
                basis_at(b, N_BINS + k, N_FFT - n) != -basis_at(b, N_BINS + k, n))
                return false;
        for (int n = 0; n < N_FFT; n++) {
            float sign = (n & 1) ? -1.0f : 1.0f;
            if (basis_at(b, N_BINS - 1 - k, n) != sign * basis_at(b, k, n) ||
                basis_at(b, 2 * N_BINS - 1 - k, n) != -sign * basis_at(b, N_BINS + k, n))
                return false;
        }
    }
    return true;
}

/* Puts the weights into the layouts the chunk code walks. */
static void lay_out(vad_silero *m, const tensor_ref *refs)
{
    float *w = m->enc_w_store, *bias = m->enc_b_store;
    for (int l = 0; l < N_LAYERS; l++) {
        int in = enc_shape[l].in, out = enc_shape[l].out;
        const tensor_ref *tw = &refs[T_ENC0_W + 2 * l], *tb = &refs[T_ENC0_B + 2 * l];
        m->enc_w[l] = w;
        m->enc_b[l] = bias;
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++)
                for (int k = 0; k < 3; k++)
                    w[((size_t)i * 3 + (size_t)k) * (size_t)out + (size_t)o] =
                        tensor_at(tw, ((size_t)o * (size_t)in + (size_t)i) * 3 + (size_t)k);
        for (int o = 0; o < out; o++)
            bias[o] = tensor_at(tb, (size_t)o);
        w += (size_t)in * 3 * (size_t)out;
        bias += out;
    }

    for (int g = 0; g < GATES; g++) {
        for (int j = 0; j < HIDDEN; j++) {
            size_t src = (size_t)g * HIDDEN + (size_t)j;
            m->lstm_w[(size_t)j * GATES + (size_t)g] = tensor_at(&refs[T_W_IH], src);
            m->lstm_w[(size_t)(HIDDEN + j) * GATES + (size_t)g] = tensor_at(&refs[T_W_HH], src);
        }
        m->lstm_b[g] = tensor_at(&refs[T_B_IH], (size_t)g) + tensor_at(&refs[T_B_HH], (size_t)g);
    }
    for (int j = 0; j < HIDDEN; j++)
        m->out_w[j] = tensor_at(&refs[T_OUT_W], (size_t)j);
    m->out_b = tensor_at(&refs[T_OUT_B], 0);

    const tensor_ref *b = &refs[T_BASIS];
    m->folded = basis_is_symmetric(b);
    if (m->folded) {
        for (int n = 0; n <= N_FFT / 2; n++)
            for (int k = 0; k < HALF_BINS; k++) {
                m->fold[n & 1][n / 2][k] = basis_at(b, k, n);
                m->fold[2 + (n & 1)][n / 2][k] = basis_at(b, N_BINS + k, n);
            }
    } else {
        for (int n = 0; n < N_FFT; n++)
            for (int ch = 0; ch < N_BASIS; ch++)
                m->basis_t[n][ch] = basis_at(b, ch, n);
    }
}

int vad_silero_open(vad_silero **out, const char *path, char *err, size_t errlen)
{
    int rc = -1;
    FILE *f = NULL;
    unsigned char *file = NULL;
    vad_silero *m = NULL;
    tensor_ref refs[N_TENSORS];
    struct stat st;
    size_t size = 0;
    cursor c;

    *out = NULL;
    f = fopen(path, "rb");
    if (!f) {
        util_errf(err, errlen, -1, "%s: cannot open Silero VAD model: %s", path, strerror(errno));
        goto cleanup;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        util_errf(err, errlen, -1, "%s: not a regular file", path);
        goto cleanup;
    }
    if (st.st_size > MAX_FILE_BYTES) {
        util_errf(err, errlen, -1, "%s: %lld bytes, too large to be a Silero VAD model", path,
                  (long long)st.st_size);
        goto cleanup;
    }
    size = (size_t)st.st_size;
    file = malloc(size ? size : 1);
    m = calloc(1, sizeof *m);
    if (!file || !m) {
        util_errf(err, errlen, -1, "%s: out of memory loading the Silero VAD model", path);
        goto cleanup;
    }
    if (fread(file, 1, size, f) != size) {
        util_errf(err, errlen, -1, "%s: read error: %s", path,
                  ferror(f) ? strerror(errno) : "file shrank while reading");
        goto cleanup;
    }

    c = (cursor){file, size, 0};
    if (parse_header(&c, path, err, errlen) != 0 || parse_tensors(&c, path, refs, err, errlen) != 0)
        goto cleanup;
    lay_out(m, refs);
    vad_silero_reset(m);
    *out = m;
    m = NULL;
    rc = 0;

cleanup:
    if (f)
        fclose(f);
    free(file);
    free(m);
    return rc;
}

void vad_silero_close(vad_silero *m)
{
    free(m);
}

void vad_silero_reset(vad_silero *m)
{
    memset(m->context, 0, sizeof m->context);
    memset(m->h, 0, sizeof m->h);
    memset(m->c, 0, sizeof m->c);
}

int vad_silero_folded_stft(const vad_silero *m)
{
    return m->folded;
}

/* ---- one chunk ------------------------------------------------------------- */

/* Magnitudes of the 129 bins of the 4 frames of m->padded, folded form.
 * With S[n] = x[n] + x[256-n] and D[n] = x[n] - x[256-n] (D[0] = D[128] =
 * 0, where the imaginary basis is zero anyway), the first symmetry gives
 * re[k] = sum over n 0..128 of R[k][n] S[n] and im[k] = sum of I[k][n] D[n];
 * the second gives bin 128-k from the same sums with the odd-n terms
 * negated, so each sum is computed as an even-n and an odd-n part. */
static void stft_folded(vad_silero *m)
{
    for (int t = 0; t < N_FRAMES; t++) {
        const float *x = m->padded + t * HOP;
        for (int n = 0; n <= N_FFT / 2; n++) {
            bool edge = n == 0 || n == N_FFT / 2;
            m->fold_in[n & 1][n / 2] = edge ? x[n] : x[n] + x[N_FFT - n];
            m->fold_in[2 + (n & 1)][n / 2] = edge ? 0.0f : x[n] - x[N_FFT - n];
        }
        for (int part = 0; part < 4; part++)
            gemv(m->fold_out[part], &m->fold[part][0][0], m->fold_in[part],
                 (part & 1) ? ODD_ROWS : EVEN_ROWS, HALF_PAD);
        for (int k = 0; k < HALF_BINS; k++) {
            float re_e = m->fold_out[0][k], re_o = m->fold_out[1][k];
            float im_e = m->fold_out[2][k], im_o = m->fold_out[3][k];
            float re = re_e + re_o, im = im_e + im_o;
            m->mag[t][k] = sqrtf(re * re + im * im);
            if (k < HALF_BINS - 1) { /* bin 64 is its own mirror */
                re = re_e - re_o;
                im = im_e - im_o; /* its sign is flipped, which the magnitude ignores */
                m->mag[t][N_BINS - 1 - k] = sqrtf(re * re + im * im);
            }
        }
    }
}

/* The same magnitudes from the full 258 x 256 product. */
static void stft_full(vad_silero *m)
{
    for (int t = 0; t < N_FRAMES; t++) {
        gemv(m->spectrum, &m->basis_t[0][0], m->padded + t * HOP, N_FFT, BASIS_PAD);
        for (int k = 0; k < N_BINS; k++) {
            float re = m->spectrum[k], im = m->spectrum[N_BINS + k];
            m->mag[t][k] = sqrtf(re * re + im * im);
        }
    }
}

/* Kernel-3, padding-1 convolution plus ReLU: x is [len_in][in], y
 * [len_out][out], w [in][3][out]. Each output frame is one product of w
 * with the inputs its taps see, gathered in w's row order (taps on the
 * zero padding get 0); four frames go through gemv4 together. */
static void conv_relu(vad_silero *m, const float *w, const float *b, int in, int out,
                      int stride, const float *x, int len_in, float *y)
{
    int len_out = CONV_LEN(len_in, stride);
    size_t rows = (size_t)in * 3;
    for (int t = 0; t < len_out; t++)
        for (int i = 0; i < in; i++)
            for (int k = 0; k < 3; k++) {
                int p = t * stride + k - 1;
                m->taps[(size_t)t * rows + (size_t)(i * 3 + k)] =
                    (p < 0 || p >= len_in) ? 0.0f : x[p * in + i];
            }
    if (len_out == 4)
        gemv4(y, w, m->taps, rows, (size_t)out);
    else
        for (int t = 0; t < len_out; t++)
            gemv(y + (size_t)t * (size_t)out, w, m->taps + (size_t)t * rows, rows, (size_t)out);
    /* The bias goes in after the sum: added first, it would be the large
     * partial sum every small product is rounded against (on quiet input
     * the products are tiny and the bias dominates). */
    for (int t = 0; t < len_out; t++)
        for (int o = 0; o < out; o++) {
            float v = y[t * out + o] + b[o];
            y[t * out + o] = v > 0.0f ? v : 0.0f;
        }
}

float vad_silero_chunk(vad_silero *m, const float *samples512)
{
    /* [context | chunk | reflection of its end, without repeating the last sample] */
    float *x = m->padded;
    memcpy(x, m->context, sizeof m->context);
    memcpy(x + CONTEXT, samples512, CHUNK * sizeof *x);
    for (int j = 0; j < REFLECT; j++)
        x[N_IN + j] = x[N_IN - 2 - j];
    memcpy(m->context, samples512 + CHUNK - CONTEXT, sizeof m->context);

    if (m->folded)
        stft_folded(m);
    else
        stft_full(m);

    float *layer_in[N_LAYERS] = {&m->mag[0][0], &m->act1[0][0], &m->act2[0][0], &m->act3[0][0]};
    float *layer_out[N_LAYERS] = {&m->act1[0][0], &m->act2[0][0], &m->act3[0][0], &m->act4[0][0]};
    for (int l = 0; l < N_LAYERS; l++)
        conv_relu(m, m->enc_w[l], m->enc_b[l], enc_shape[l].in, enc_shape[l].out,
                  enc_shape[l].stride, layer_in[l], enc_shape[l].len_in, layer_out[l]);

    /* LSTM cell; gate blocks in PyTorch's order i, f, g, o. */
    float *g = m->gates;
    memcpy(m->lstm_in, m->act4[0], HIDDEN * sizeof *g);
    memcpy(m->lstm_in + HIDDEN, m->h, HIDDEN * sizeof *g);
    gemv(g, m->lstm_w, m->lstm_in, 2 * HIDDEN, GATES);
    for (int j = 0; j < GATES; j++) /* biases last, as in conv_relu */
        g[j] += m->lstm_b[j];
    float z = 0.0f;
    for (int j = 0; j < HIDDEN; j++) {
        float in_gate = sigmoid(g[j]);
        float forget = sigmoid(g[HIDDEN + j]);
        float cell = tanhf(g[2 * HIDDEN + j]);
        float out_gate = sigmoid(g[3 * HIDDEN + j]);
        m->c[j] = forget * m->c[j] + in_gate * cell;
        m->h[j] = out_gate * tanhf(m->c[j]);
        /* decoder: ReLU, then the 128 -> 1 projection */
        if (m->h[j] > 0.0f)
            z += m->out_w[j] * m->h[j];
    }
    return sigmoid(z + m->out_b);
}
