/* pyannote_bench: speed of the two pyannote networks as the diarization
 * engine calls them, on checkpoints of the real sizes (random weights from
 * tests/pyannote/make_models.py): pyannote_segment on 16 windows of 10 s
 * (seconds per window) and pyannote_embed on one 10 s chunk with 3 speaker
 * masks (seconds per chunk), in whatever matrix mode CESAR_PYANNOTE_GEMM
 * selects. Prints the median of RUNS timed calls after one warm-up call, the
 * peak RSS, and the real-time factor those figures imply for one hour at
 * the 1 s step of speaker-diarization-3.1 (3600 windows and 3600 chunks:
 * RTF = seg per window + emb per chunk). Driven by bench/pyannote_bench.sh;
 * not a test.
 *
 * usage: pyannote_bench SEG_CKPT EMB_CKPT [THREADS=2] [RUNS=5]
 *        (SEG_CKPT "-": the embedding alone, e.g. under a profiler)
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "pyannote/pyannote.h"

#define WINDOW 160000 /* 10 s at 16 kHz */
#define SEG_WINDOWS 16
#define EMB_MASKS 3
#define MAX_RUNS 64

/* Speech-like test audio: a few drifting tones over noise, deterministic. */
static void fill_audio(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        double t = (double)i / 16000.0;
        double tone = 0.2 * sin(2 * M_PI * (180 + 40 * sin(t)) * t) +
                      0.1 * sin(2 * M_PI * 1200 * t) * (sin(3 * t) > 0 ? 1 : 0);
        x[i] = (float)(tone + 0.05 * ((double)(seed >> 8) / (1u << 24) - 0.5));
    }
}

/* Three speakers taking turns with some overlap (589 frames per chunk). */
static void fill_masks(float *m, size_t frames)
{
    for (size_t s = 0; s < EMB_MASKS; s++)
        for (size_t t = 0; t < frames; t++)
            m[s * frames + t] = ((t / 150 + s) % 3 == 0 || (t % 97) < 10 * s) ? 1.0f : 0.0f;
}

static int bench_segment(const char *path, int threads, int runs, double *per_window)
{
    char err[256] = "";
    pyannote_segmenter *s = NULL;
    float *audio = malloc((size_t)SEG_WINDOWS * WINDOW * sizeof *audio);
    float *out = NULL;
    int rc = pyannote_segmenter_open(&s, path, err, sizeof err);
    if (rc != PYANNOTE_OK || !audio)
        goto cleanup;
    size_t frames = pyannote_segmenter_frames(s, WINDOW);
    out = malloc((size_t)SEG_WINDOWS * frames * PYANNOTE_POWERSET_CLASSES * sizeof *out);
    if (!out) {
        rc = PYANNOTE_ERR_NOMEM;
        goto cleanup;
    }
    fill_audio(audio, (size_t)SEG_WINDOWS * WINDOW, 7);
    double t[MAX_RUNS];
    for (int r = -1; r < runs && rc == PYANNOTE_OK; r++) {
        double t0 = bench_now();
        rc = pyannote_segment(s, audio, SEG_WINDOWS, WINDOW, threads, out, err, sizeof err);
        if (r >= 0)
            t[r] = (bench_now() - t0) / SEG_WINDOWS;
    }
    if (rc == PYANNOTE_OK)
        *per_window = bench_median(t, runs);
cleanup:
    if (rc != PYANNOTE_OK)
        fprintf(stderr, "pyannote_bench: segmentation: %s\n", err);
    pyannote_segmenter_close(s);
    free(audio);
    free(out);
    return rc;
}

static int bench_embed(const char *path, int threads, int runs, double *per_chunk,
                       double *cpu_per_chunk)
{
    char err[256] = "";
    pyannote_embedder *e = NULL;
    const size_t mask_frames = 589;
    float *audio = malloc(WINDOW * sizeof *audio);
    float *masks = malloc(EMB_MASKS * mask_frames * sizeof *masks);
    float out[EMB_MASKS * PYANNOTE_EMBEDDING_DIM];
    int rc = pyannote_embedder_open(&e, path, err, sizeof err);
    if (rc != PYANNOTE_OK || !audio || !masks)
        goto cleanup;
    fill_audio(audio, WINDOW, 11);
    fill_masks(masks, mask_frames);
    double t[MAX_RUNS], cpu[MAX_RUNS];
    for (int r = -1; r < runs && rc == PYANNOTE_OK; r++) {
        double t0 = bench_now(), c0 = bench_cpu_now();
        rc = pyannote_embed(e, audio, WINDOW, masks, EMB_MASKS, mask_frames, threads, out, err,
                            sizeof err);
        if (r >= 0) {
            t[r] = bench_now() - t0;
            cpu[r] = bench_cpu_now() - c0;
        }
    }
    if (rc == PYANNOTE_OK) {
        *per_chunk = bench_median(t, runs);
        *cpu_per_chunk = bench_median(cpu, runs);
    }
cleanup:
    if (rc != PYANNOTE_OK)
        fprintf(stderr, "pyannote_bench: embedding: %s\n", err);
    pyannote_embedder_close(e);
    free(audio);
    free(masks);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pyannote_bench SEG_CKPT EMB_CKPT [THREADS=2] [RUNS=5]\n");
        return 2;
    }
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    int runs = argc > 4 ? atoi(argv[4]) : 5;
    threads = threads < 1 ? 1 : threads;
    runs = runs < 1 ? 1 : (runs > MAX_RUNS ? MAX_RUNS : runs);
    const char *mode = getenv("CESAR_PYANNOTE_GEMM");
    double seg = 0, emb = 0, emb_cpu = 0;
    bool seg_too = strcmp(argv[1], "-") != 0;
    if ((seg_too && bench_segment(argv[1], threads, runs, &seg) != PYANNOTE_OK) ||
        bench_embed(argv[2], threads, runs, &emb, &emb_cpu) != PYANNOTE_OK)
        return 1;
    printf("gemm %-7s threads %d runs %d: segmentation %.4f s/window, embedding %.4f s/chunk"
           " (CPU %.4f s), peak RSS %.0f MB, RTF (1 h, 1 s step) %.3f\n",
           mode ? mode : "auto", threads, runs, seg, emb, emb_cpu, bench_peak_mb(),
           seg + emb);
    return 0;
}
