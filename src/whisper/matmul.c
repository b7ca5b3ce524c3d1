/* matmul: y = x w^T + b for a weight of any stored type, on the pool's
 * threads. Work is cut into chunks the threads claim from an atomic
 * counter, so on a shared machine a preempted thread does not stall the
 * join.
 *
 * Few input rows (decoder steps): the CPU kernels read the stored rows
 * directly (f16 and, with AVX-512, quantized blocks converted in registers;
 * otherwise quantized rows decoded a chunk at a time into L1).
 * Many input rows (encoder, prompts): chunks are (up to 512 input rows) x
 * (128..256 weight rows); f32 weights go straight to cblas_sgemm, other types
 * are decoded chunk by chunk into a per-thread scratch (at most 256 rows,
 * about 512 KB for Whisper's widths) that sgemm consumes, so no f32 copy of a
 * weight ever exists. OpenBLAS runs single-threaded inside each of our
 * threads (whisper_state_new sets it): one set of threads, ours, measured as
 * fast as OpenBLAS's own for the encoder, and without OpenBLAS's spinning
 * threads competing with ours during decoding.
 */
#include <cblas.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/compute.h"

/* Weights smaller than this are multiplied by few rows on the calling
 * thread alone: such products are bound by memory bandwidth, which one core
 * already saturates on the machines measured, and a fork-join per product
 * costs more than it saves when other processes share the cores. */
#ifndef MM_GEMV_SOLO_BYTES
#define MM_GEMV_SOLO_BYTES (4 << 20)
#endif

/* Floats of decoded weight per block in the many-rows path (the block is
 * clamped to 128..256 rows). */
#define MM_SCRATCH_FLOATS (1 << 17)

typedef struct {
    const whisper__tensor *w;
    const whisper__kernels *k;
    const float *x;
    const float *bias;
    float *y;
    int rows;
    int64_t in, out;
    size_t row_bytes;
    int64_t block;      /* output columns per claimed chunk */
    int row_chunk;      /* input rows per claimed chunk (many-rows path) */
    atomic_int next;    /* next chunk to claim */
} mm_job;

/* Chunks are claimed dynamically so a thread the OS preempts does not hold
 * the others up at the join. Returns false when none is left. */
static bool mm_claim(mm_job *j, int64_t *o0, int64_t *o1)
{
    int64_t c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    *o0 = c * j->block;
    if (*o0 >= j->out)
        return false;
    *o1 = *o0 + j->block < j->out ? *o0 + j->block : j->out;
    return true;
}

static void mm_sgemm_cols(const mm_job *j, int r0, int nr, const float *wf, int64_t o0,
                          int64_t nb)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, (int)nb, (int)j->in, 1.0f,
                j->x + (int64_t)r0 * j->in, (int)j->in, wf, (int)j->in, 1.0f,
                j->y + (int64_t)r0 * j->out + o0, (int)j->out);
}

/* The row kernels, eight input rows at a time: the few-rows path, and the
 * many-rows path when no scratch can be had. */
static void mm_gemv_rows(const mm_job *j, int64_t o0, int64_t o1)
{
    for (int r = 0; r < j->rows; r += WHISPER__GEMV_MAX_ROWS) {
        int nr = j->rows - r < WHISPER__GEMV_MAX_ROWS ? j->rows - r : WHISPER__GEMV_MAX_ROWS;
        j->k->gemv(j->w->type, j->w->data, j->row_bytes, j->in, (int)o0, (int)o1,
                   j->x + (int64_t)r * j->in, nr, j->y + (int64_t)r * j->out, j->out);
    }
    if (j->bias)
        for (int r = 0; r < j->rows; r++)
            for (int64_t o = o0; o < o1; o++)
                j->y[(int64_t)r * j->out + o] += j->bias[o];
}

static void mm_gemv_task(void *ctx, int i, int n)
{
    mm_job *j = ctx;
    (void)i;
    (void)n;
    int64_t o0, o1;
    while (mm_claim(j, &o0, &o1))
        mm_gemv_rows(j, o0, o1);
}

/* Many rows: chunks are (row range, column block) pairs; each decodes its
 * block of weight rows (cheap next to the product) into the thread's
 * scratch. */
static void mm_gemm_task(void *ctx, int i, int n)
{
    mm_job *j = ctx;
    (void)i;
    (void)n;
    float *scratch = NULL;
    if (j->w->type != WHISPER__F32)
        scratch = malloc((size_t)(j->block * j->in) * sizeof *scratch);
    int n_cols = (int)((j->out + j->block - 1) / j->block);
    int n_rows = (j->rows + j->row_chunk - 1) / j->row_chunk;
    for (;;) {
        int c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (c >= n_cols * n_rows)
            break;
        int r0 = c / n_cols * j->row_chunk;
        int nr = j->rows - r0 < j->row_chunk ? j->rows - r0 : j->row_chunk;
        int64_t o0 = (int64_t)(c % n_cols) * j->block;
        int64_t o1 = o0 + j->block < j->out ? o0 + j->block : j->out;
        if (j->w->type != WHISPER__F32 && !scratch) {
            mm_job part = *j;
            part.x = j->x + (int64_t)r0 * j->in;
            part.y = j->y + (int64_t)r0 * j->out;
            part.rows = nr;
            mm_gemv_rows(&part, o0, o1);
            continue;
        }
        for (int r = r0; r < r0 + nr; r++) {
            float *yr = j->y + (int64_t)r * j->out;
            if (j->bias)
                memcpy(yr + o0, j->bias + o0, (size_t)(o1 - o0) * sizeof *yr);
            else
                memset(yr + o0, 0, (size_t)(o1 - o0) * sizeof *yr);
        }
        const float *wf = (const float *)j->w->data + o0 * j->in;
        if (scratch) {
            const uint8_t *src = (const uint8_t *)j->w->data + (size_t)o0 * j->row_bytes;
            for (int64_t r = 0; r < o1 - o0; r++)
                j->k->to_f32(j->w->type, src + (size_t)r * j->row_bytes, scratch + r * j->in,
                             j->in);
            wf = scratch;
        }
        mm_sgemm_cols(j, r0, nr, wf, o0, o1 - o0);
    }
    free(scratch);
}

/* Columns per chunk: for decoded weights as many rows as fit the scratch,
 * and at least four chunks per thread when the matrix allows. */
static int64_t mm_block(const mm_job *j, int n_threads)
{
    int64_t b;
    if (j->rows <= WHISPER__GEMV_MAX_ROWS) {
        int64_t per = (j->out + 4 * n_threads - 1) / (4 * n_threads);
        b = per < 256 ? per : 256;
    } else {
        /* narrower blocks would make OpenBLAS repack the inputs too often */
        b = MM_SCRATCH_FLOATS / j->in;
        b = b < 128 ? 128 : b > 256 ? 256 : b;
        int64_t n_blocks = (j->out + b - 1) / b;
        b = (j->out + n_blocks - 1) / n_blocks;
    }
    b = (b + 15) / 16 * 16;
    return b < 16 ? 16 : b;
}

/* Input rows per chunk of the many-rows path: up to 512. */
static int mm_row_chunk(int rows)
{
    int n = (rows + 511) / 512;
    return (rows + n - 1) / n;
}

void whisper__matmul_pool(const whisper__tensor *w, const float *x, int rows, const float *bias,
                          float *y, whisper__pool *p)
{
    if (rows <= 0)
        return;
    mm_job j = {
        .w = w, .k = whisper__kernels_best(), .x = x, .bias = bias, .y = y, .rows = rows,
        .in = w->ne[0], .out = w->ne[1], .row_bytes = whisper__row_size(w->type, w->ne[0]),
    };
    atomic_init(&j.next, 0);
    j.block = mm_block(&j, whisper__pool_size(p));
    j.row_chunk = mm_row_chunk(rows);
    if (rows <= WHISPER__GEMV_MAX_ROWS && w->nbytes < (size_t)MM_GEMV_SOLO_BYTES)
        mm_gemv_task(&j, 0, 1);
    else if (rows <= WHISPER__GEMV_MAX_ROWS)
        whisper__pool_run(p, mm_gemv_task, &j);
    else
        whisper__pool_run(p, mm_gemm_task, &j);
}

void whisper__matmul(const whisper__tensor *w, const float *x, int rows, const float *bias,
                     float *y, int n_threads)
{
    whisper__pool *p = NULL;
    if (n_threads > 1 && whisper__pool_new(&p, n_threads) == WHISPER_OK)
        openblas_set_num_threads(1);
    whisper__matmul_pool(w, x, rows, bias, y, p);
    whisper__pool_free(p);
}
