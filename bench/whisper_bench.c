/* whisper_bench: times the Whisper network on one model file (random weights
 * are fine): mel of a 30 s window, the encoder (median of several runs), the
 * decoder per token (a prompt of 3, then greedy argmax steps on one
 * sequence), the total for one window, and the peak resident memory.
 * Driven by bench/whisper.sh; not a test.
 *
 * usage: whisper_bench MODEL [THREADS=2] [ENCODER_RUNS=3] [TOKENS=100]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "whisper/whisper.h"

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static void make_audio(float *x, int n)
{
    uint32_t seed = 1;
    for (int i = 0; i < n; i++) {
        double t = (double)i / WHISPER_SAMPLE_RATE;
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(0.3 * sin(2 * M_PI * 440 * t) + 0.2 * sin(2 * M_PI * (100 * t + 40 * t * t)) +
                       ((double)(seed >> 8) / (double)(1u << 24) - 0.5) * 0.05);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [THREADS=2] [ENCODER_RUNS=3] [TOKENS=100]\n", argv[0]);
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 2, runs = argc > 3 ? atoi(argv[3]) : 3;
    int n_tok = argc > 4 ? atoi(argv[4]) : 100;
    runs = runs < 1 ? 1 : runs > 32 ? 32 : runs;
    char err[512] = "";
    whisper_model *m = NULL;
    whisper_state *s = NULL;
    float *audio = NULL, *mel = NULL, *logits = NULL;
    int rc = 1;
    whisper_load_params lp = whisper_load_default_params();
    double rss_start = bench_peak_mb();
    if (whisper_model_load(&m, argv[1], &lp, err, sizeof err) != WHISPER_OK) {
        fprintf(stderr, "whisper_bench: %s\n", err);
        goto cleanup;
    }
    double rss_load = bench_peak_mb();
    if (whisper_state_new(&s, m, threads, 1, err, sizeof err) != WHISPER_OK) {
        fprintf(stderr, "whisper_bench: %s\n", err);
        goto cleanup;
    }
    const whisper_hparams *hp = whisper_model_hparams(m);
    const whisper_special_tokens *sp = whisper_model_special(m);
    int n_samples = 30 * WHISPER_SAMPLE_RATE;
    audio = malloc((size_t)n_samples * sizeof *audio);
    mel = malloc((size_t)hp->n_mels * WHISPER_CHUNK_FRAMES * sizeof *mel);
    logits = malloc((size_t)hp->n_vocab * sizeof *logits);
    if (!audio || !mel || !logits) {
        fprintf(stderr, "whisper_bench: out of memory for the audio, mel and logits buffers\n");
        goto cleanup;
    }
    make_audio(audio, n_samples);
    double mels[3], t0;
    for (int r = 0; r < 3; r++) {
        t0 = bench_now();
        if (whisper_mel(m, audio, n_samples, true, WHISPER_CHUNK_FRAMES, threads, mel, err,
                        sizeof err) != WHISPER_OK)
            goto fail;
        mels[r] = bench_now() - t0;
    }
    double t_mel = bench_median(mels, 3), rss_mel = bench_peak_mb();
    double enc[32], cpu0 = bench_cpu_now();
    for (int r = 0; r < runs; r++) {
        t0 = bench_now();
        if (whisper_encode(s, mel, err, sizeof err) != WHISPER_OK)
            goto fail;
        enc[r] = bench_now() - t0;
    }
    double enc_cpu = (bench_cpu_now() - cpu0) / runs, rss_enc = bench_peak_mb();
    double t_enc = bench_median(enc, runs); /* enc is sorted now */
    int prompt[3] = {sp->sot, whisper_model_multilingual(m) ? sp->lang_first : sp->transcribe,
                     sp->transcribe};
    t0 = bench_now();
    if (whisper_decode(s, 1, 3, prompt, 0, logits, false, err, sizeof err) != WHISPER_OK)
        goto fail;
    double t_prompt = bench_now() - t0;
    t0 = bench_now();
    cpu0 = bench_cpu_now();
    for (int i = 0; i < n_tok; i++) {
        int tok = argmax(logits, hp->n_vocab);
        if (whisper_decode(s, 1, 1, &tok, 3 + i, logits, false, err, sizeof err) != WHISPER_OK)
            goto fail;
    }
    double t_dec = bench_now() - t0, dec_cpu = bench_cpu_now() - cpu0;
    printf("model %s (%s, %s), %d threads\n", argv[1], whisper_model_size_name(m),
           whisper_model_type_name(m), threads);
    printf("mel_ms %.2f (median of 3)\n", t_mel * 1e3);
    printf("encoder_s %.4f (median of %d; min %.4f max %.4f)\n", t_enc, runs, enc[0],
           enc[runs - 1]);
    printf("encoder_cpu_s %.4f (CPU time of all threads per run, spinning included)\n", enc_cpu);
    printf("prompt_ms %.2f\n", t_prompt * 1e3);
    printf("decoder_ms_per_token %.3f\n", t_dec * 1e3 / n_tok);
    printf("decoder_cpu_ms_per_token %.3f\n", dec_cpu * 1e3 / n_tok);
    printf("window_total_s %.4f\n", t_mel + t_enc + t_prompt + t_dec);
    printf("peak_rss_mb %.1f (at start %.1f, after load %.1f, +state+mel %.1f, after encoder "
           "%.1f)\n", bench_peak_mb(), rss_start, rss_load, rss_mel, rss_enc);
    if (getenv("WHISPER_BENCH_SMAPS")) {
        /* where the resident memory is: file-backed (the model) or anonymous */
        FILE *f = fopen(getenv("WHISPER_BENCH_SMAPS"), "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            fputs(line, stdout);
        if (f)
            fclose(f);
    }
    rc = 0;
    goto cleanup;
fail:
    fprintf(stderr, "whisper_bench: %s\n", err);
cleanup:
    free(audio);
    free(mel);
    free(logits);
    whisper_state_free(s);
    whisper_model_free(m);
    return rc;
}
