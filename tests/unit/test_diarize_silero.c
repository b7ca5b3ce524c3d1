/* test_diarize_silero: the C Silero VAD against an independent NumPy
 * reference (tests/diarize/silero_ref.py) on speech synthesised at test time
 * — every chunk probability within 1e-4, on both STFT paths — plus its
 * behaviour on speech and silence, its refusal of missing, truncated,
 * foreign and reshaped model files, and a loop of random truncations and
 * header corruptions that must never crash (the suite runs under ASan).
 *
 * Needs the model (CESAR_SILERO_MODEL, default the one the build names),
 * espeak-ng and sox for the audio (the audio tests skip without them) and
 * /usr/bin/python3 with NumPy (the comparison fails without it: the check
 * must not silently disappear from a machine that lost a dependency).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vad/vad.h"
#include "util/util.h"

/* The model the build was configured with (CMake option CESAR_VAD_MODEL,
 * by default the project's shared data next to the checkout). */
#define DEFAULT_MODEL CESAR_VAD_MODEL_DEFAULT
#define PYTHON "/usr/bin/python3"
#define REF_SCRIPT CESAR_SOURCE_DIR "/tests/diarize/silero_ref.py"
#define RATE 16000
#define PAD_SECONDS 2 /* silence before and after the speech */
#define TOLERANCE 1e-4
#define CHUNK VAD_SILERO_CHUNK

static const char SPEECH_TEXT[] =
    "Offline transcription keeps every recording on your own computer. "
    "Nothing is uploaded, and the results are ready in minutes.";

static struct {
    const char *model;         /* path of the real model */
    unsigned char *model_data; /* its bytes, NULL when unreadable */
    size_t model_size;
    char dir[PATH_MAX]; /* temporary directory of this run */
    char wav[PATH_MAX];
    float *audio; /* n_chunks * CHUNK samples, zero-padded */
    size_t n_samples, n_chunks;
    const char *no_audio_why; /* why the audio is missing, or NULL */
} g;

/* ---- helpers ---------------------------------------------------------------- */

static void join(char *dst, const char *name)
{
    int n = snprintf(dst, PATH_MAX, "%s/%s", g.dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 1 << 20;
            unsigned char *bigger = realloc(data, cap);
            if (!bigger) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = bigger;
        }
        size_t r = fread(data + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *n = len;
    return data;
}

/* Runs argv[0] (a full path, or a name looked up in PATH) with stdout to
 * out_path (or /dev/null) and stderr to /dev/null; returns its exit status,
 * or -1 when it could not run. No shell: paths need no quoting. */
static int run(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        FILE *o = freopen(out_path ? out_path : "/dev/null", "w", stdout);
        FILE *e = freopen("/dev/null", "w", stderr);
        if (!o || !e)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int have_program(const char *name)
{
    char *const argv[] = {"sh", "-c", "command -v \"$0\"", (char *)name, NULL};
    return run(argv, NULL) == 0;
}

static double thread_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a 16 kHz mono 16-bit WAV into g.audio (scaled like the reference:
 * sample / 32768), padded with zeros to whole chunks. */
static int load_wav(const char *path)
{
    size_t n;
    unsigned char *d = read_file(path, &n);
    int rc = -1;
    int fmt_ok = 0;
    if (!d || n < 12 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WAVE", 4))
        goto cleanup;
    for (size_t pos = 12; pos + 8 <= n;) {
        uint32_t len = le32(d + pos + 4);
        const unsigned char *body = d + pos + 8;
        if (len > n - pos - 8)
            len = (uint32_t)(n - pos - 8);
        if (!memcmp(d + pos, "fmt ", 4) && len >= 16)
            fmt_ok = le16(body) == 1 && le16(body + 2) == 1 && le32(body + 4) == RATE &&
                     le16(body + 14) == 16;
        if (!memcmp(d + pos, "data", 4) && fmt_ok) {
            g.n_samples = len / 2;
            g.n_chunks = (g.n_samples + CHUNK - 1) / CHUNK;
            g.audio = calloc(g.n_chunks * CHUNK + 1, sizeof *g.audio);
            if (!g.audio)
                goto cleanup;
            for (size_t i = 0; i < g.n_samples; i++)
                g.audio[i] = (float)(int16_t)le16(body + 2 * i) / 32768.0f;
            rc = 0;
            goto cleanup;
        }
        pos += 8 + (size_t)len + (len & 1);
    }
cleanup:
    free(d);
    return rc;
}

/* espeak-ng speech, trimmed to its first and last sound, with PAD_SECONDS
 * of silence either side, so the speech spans exactly [2 s, end - 2 s). */
static void make_speech(void)
{
    if (!have_program("espeak-ng") || !have_program("sox")) {
        g.no_audio_why =
            "espeak-ng or sox is not installed (scripts/install-deps.sh installs them)";
        return;
    }
    char raw[PATH_MAX], pad[16];
    join(raw, "raw.wav");
    join(g.wav, "speech.wav");
    snprintf(pad, sizeof pad, "%d", PAD_SECONDS);
    char *const speak[] = {"espeak-ng", "-v", "en", "-w", raw, (char *)SPEECH_TEXT, NULL};
    /* clang-format off */
    char *const conv[] = {"sox", "-R", raw, "-r", "16000", "-c", "1", "-b", "16", g.wav,
                          "silence", "1", "0.01", "0.2%", "reverse",
                          "silence", "1", "0.01", "0.2%", "reverse",
                          "pad", pad, pad, NULL};
    /* clang-format on */
    if (run(speak, NULL) != 0 || run(conv, NULL) != 0)
        g.no_audio_why = "espeak-ng or sox failed to make the test audio";
    else if (load_wav(g.wav) != 0)
        g.no_audio_why = "the synthesised WAV could not be read";
    unlink(raw);
}

static int group_setup(void **state)
{
    (void)state;
    const char *env = getenv("CESAR_SILERO_MODEL");
    g.model = env && *env ? env : DEFAULT_MODEL[0] ? DEFAULT_MODEL : "(none configured)";
    g.model_data = read_file(g.model, &g.model_size);
    const char *tmp = getenv("TMPDIR");
    snprintf(g.dir, sizeof g.dir, "%s/cesar-silero-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g.dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", g.dir, strerror(errno));
        return -1;
    }
    make_speech();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    static const char *const names[] = {"speech.wav", "ref.txt", "changed.bin", "bad.bin",
                                        "missing.bin"};
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        join(p, names[i]);
        unlink(p);
    }
    rmdir(g.dir);
    free(g.audio);
    free(g.model_data);
    return 0;
}

static void need_model(void)
{
    if (!g.model_data)
        fail_msg("cannot read the Silero VAD model %s (set CESAR_SILERO_MODEL to its path)",
                 g.model);
}

static void need_audio(void)
{
    if (g.no_audio_why) {
        print_message("skipping: %s\n", g.no_audio_why);
        skip();
    }
}

static vad_silero *open_ok(const char *path)
{
    vad_silero *m = NULL;
    char err[512] = "";
    if (vad_silero_open(&m, path, err, sizeof err) != 0)
        fail_msg("opening %s: %s", path, err);
    assert_non_null(m);
    return m;
}

/* The model's probability for every chunk of the test audio. */
static float *run_model(vad_silero *m)
{
    float *p = malloc(g.n_chunks * sizeof *p);
    assert_non_null(p);
    vad_silero_reset(m);
    for (size_t i = 0; i < g.n_chunks; i++)
        p[i] = vad_silero_chunk(m, g.audio + i * CHUNK);
    return p;
}

/* The reference's probabilities for the test audio under model_path. */
static double *run_reference(const char *model_path)
{
    char *const probe[] = {PYTHON, "-c", "import numpy", NULL};
    if (access(PYTHON, X_OK) != 0 || run(probe, NULL) != 0)
        fail_msg("%s cannot import numpy (Debian package python3-numpy): run "
                 "scripts/install-deps.sh",
                 PYTHON);
    char out[PATH_MAX];
    join(out, "ref.txt");
    char *const argv[] = {PYTHON, REF_SCRIPT, "--model", (char *)model_path, g.wav, NULL};
    int status = run(argv, out);
    if (status != 0)
        fail_msg("%s %s failed (exit status %d)", PYTHON, REF_SCRIPT, status);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    double *p = calloc(g.n_chunks + 1, sizeof *p);
    assert_non_null(p);
    size_t n = 0;
    double v;
    while (fscanf(f, "%lf", &v) == 1) {
        if (n < g.n_chunks + 1)
            p[n] = v;
        n++;
    }
    fclose(f);
    if (n != g.n_chunks)
        fail_msg("reference gave %zu probabilities for %zu chunks", n, g.n_chunks);
    return p;
}

static double max_difference(const float *c, const double *ref, size_t *worst)
{
    double max = 0.0;
    *worst = 0;
    for (size_t i = 0; i < g.n_chunks; i++) {
        double d = fabs((double)c[i] - ref[i]);
        if (!(d <= max)) { /* NaN counts as the worst */
            max = isnan(d) ? INFINITY : d;
            *worst = i;
        }
    }
    return max;
}

/* ---- tests ------------------------------------------------------------------ */

static void loads_the_real_model(void **state)
{
    (void)state;
    need_model();
    vad_silero *m = open_ok(g.model);
    /* the shipped basis is a windowed DFT rounded to f16, which keeps the
     * symmetries the fast path needs */
    assert_int_equal(vad_silero_folded_stft(m), 1);

    /* Same input after a reset, same output: the state really is reset. */
    float chunk[CHUNK], first[3], again[3];
    for (int i = 0; i < CHUNK; i++)
        chunk[i] = 0.3f * sinf(0.05f * (float)i) * sinf(0.0007f * (float)(i * i));
    for (int r = 0; r < 3; r++) {
        first[r] = vad_silero_chunk(m, chunk);
        assert_true(first[r] >= 0.0f && first[r] <= 1.0f);
    }
    vad_silero_reset(m);
    for (int r = 0; r < 3; r++)
        again[r] = vad_silero_chunk(m, chunk);
    assert_memory_equal(first, again, sizeof first);
    vad_silero_close(m);
    vad_silero_close(NULL);
}

static void matches_the_numpy_reference(void **state)
{
    (void)state;
    need_model();
    need_audio();
    vad_silero *m = open_ok(g.model);
    float *c = run_model(m);
    double *ref = run_reference(g.model);
    size_t worst;
    double max = max_difference(c, ref, &worst);
    print_message("silero: %zu chunks, max |C - NumPy| = %.3g (chunk %zu: C %.7f, NumPy %.7f)\n",
                  g.n_chunks, max, worst, (double)c[worst], ref[worst]);
    assert_true(max <= TOLERANCE);

    /* Speed, for the log only: timings on shared CI machines vary too much
     * to assert on. CPU time of this thread is reported beside wall time,
     * as it does not count the time other processes hold the core. */
    size_t chunks = 0;
    double t0 = util_now_seconds(), cpu0 = thread_cpu_seconds(), elapsed = 0.0;
    volatile float sink = 0.0f;
    while (elapsed < 0.5 || chunks < 4 * g.n_chunks) {
        vad_silero_reset(m);
        for (size_t i = 0; i < g.n_chunks; i++)
            sink += vad_silero_chunk(m, g.audio + i * CHUNK);
        chunks += g.n_chunks;
        elapsed = util_now_seconds() - t0;
    }
    (void)sink; /* only there so the calls cannot be optimised away */
    double cpu = thread_cpu_seconds() - cpu0;
    double per_s = (double)chunks / elapsed, per_cpu_s = (double)chunks / cpu;
    print_message("silero: %.0f chunks/s wall, %.0f chunks/s of CPU time on one core = %.2f s "
                  "of CPU per hour of audio (%.0fx real time)\n",
                  per_s, per_cpu_s, 112500.0 / per_cpu_s, per_cpu_s * CHUNK / RATE);
    free(ref);
    free(c);
    vad_silero_close(m);
}

/* A basis that is no longer exactly symmetric (one f16 value one ulp off)
 * must send the model down the full product, which must match as well. */
static void fallback_stft_matches_the_reference_too(void **state)
{
    (void)state;
    need_model();
    need_audio();
    static const char name[] = "_model.stft.forward_basis_buffer";
    unsigned char *copy = malloc(g.model_size);
    assert_non_null(copy);
    memcpy(copy, g.model_data, g.model_size);
    unsigned char *at = memmem(copy, g.model_size, name, sizeof name - 1);
    assert_non_null(at);
    /* header before the name: n_dims, name_len, type, 3 sizes */
    assert_int_equal(le32(at - 16), 1); /* f16 */
    size_t data = (size_t)(at - copy) + sizeof name - 1;
    size_t elem = 3 * 256 + 10; /* channel 3 (real part of bin 3), sample 10 */
    assert_true(data + 2 * elem + 2 <= g.model_size);
    copy[data + 2 * elem] ^= 1;
    char path[PATH_MAX];
    join(path, "changed.bin");
    assert_int_equal(write_file(path, copy, g.model_size), 0);
    free(copy);

    vad_silero *m = open_ok(path);
    assert_int_equal(vad_silero_folded_stft(m), 0);
    float *c = run_model(m);
    double *ref = run_reference(path);
    size_t worst;
    double max = max_difference(c, ref, &worst);
    print_message("silero (full STFT product): max |C - NumPy| = %.3g (chunk %zu)\n", max, worst);
    assert_true(max <= TOLERANCE);
    free(ref);
    free(c);
    vad_silero_close(m);
    unlink(path);
}

static void speech_scores_high_and_silence_low(void **state)
{
    (void)state;
    need_model();
    need_audio();
    vad_silero *m = open_ok(g.model);
    float *p = run_model(m);
    /* chunks wholly inside the leading silence, and wholly inside the speech */
    size_t pad = (size_t)PAD_SECONDS * RATE;
    double sil = 0.0, speech = 0.0;
    size_t n_sil = 0, n_speech = 0;
    for (size_t i = 0; i < g.n_chunks; i++) {
        size_t a = i * CHUNK, b = a + CHUNK;
        if (b <= pad) {
            sil += p[i];
            n_sil++;
        } else if (a >= pad && b + pad <= g.n_samples) {
            speech += p[i];
            n_speech++;
        }
    }
    assert_true(n_sil > 0 && n_speech > 0);
    sil /= (double)n_sil;
    speech /= (double)n_speech;
    print_message("silero: mean probability %.3f over %zu speech chunks, %.3f over %zu silent "
                  "ones\n",
                  speech, n_speech, sil, n_sil);
    assert_true(speech > 0.5);
    assert_true(sil < 0.2);
    free(p);
    vad_silero_close(m);
}

/* Opens path expecting a refusal whose message names the file and says
 * what is wrong (contains `what`). */
static void expect_refusal(const char *path, const char *what)
{
    vad_silero *m = (vad_silero *)(uintptr_t)1; /* open must set it to NULL */
    char err[512] = "";
    assert_int_equal(vad_silero_open(&m, path, err, sizeof err), -1);
    assert_null(m);
    print_message("refused as expected: %s\n", err);
    if (!strstr(err, path))
        fail_msg("message does not name the file: %s", err);
    if (!strstr(err, what))
        fail_msg("message does not say \"%s\": %s", what, err);
}

static void refuses_bad_files(void **state)
{
    (void)state;
    need_model();
    char path[PATH_MAX];
    join(path, "missing.bin");
    expect_refusal(path, "cannot open");

    join(path, "bad.bin");
    assert_true(g.model_size > 1000);
    assert_int_equal(write_file(path, g.model_data, 1000), 0);
    expect_refusal(path, "truncated");

    unsigned char *copy = malloc(g.model_size);
    assert_non_null(copy);
    memcpy(copy, g.model_data, g.model_size);
    copy[0] ^= 0xff;
    assert_int_equal(write_file(path, copy, g.model_size), 0);
    expect_refusal(path, "not a Silero VAD ggml file");

    memcpy(copy, g.model_data, g.model_size);
    static const char name[] = "_model.decoder.rnn.bias_ih";
    unsigned char *at = memmem(copy, g.model_size, name, sizeof name - 1);
    assert_non_null(at);
    assert_int_equal(le32(at - 4), 512); /* its only size, just before the name */
    at[-4] = 0xff;                       /* 512 (0x200) -> 511 (0x1ff) */
    at[-3] = 0x01;
    assert_int_equal(write_file(path, copy, g.model_size), 0);
    expect_refusal(path, "shape");
    free(copy);
    unlink(path);
}

/* A small generator of our own, so the loop is the same on every libc. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void try_open(const char *path, int *accepted, int *refused)
{
    vad_silero *m = NULL;
    char err[512] = "";
    int rc = vad_silero_open(&m, path, err, sizeof err);
    if (rc == 0) {
        assert_non_null(m);
        float zeros[CHUNK] = {0};
        (void)vad_silero_chunk(m, zeros);
        vad_silero_close(m);
        (*accepted)++;
    } else {
        assert_int_equal(rc, -1);
        assert_null(m);
        assert_non_null(strstr(err, path));
        (*refused)++;
    }
}

static void survives_truncation_and_corruption(void **state)
{
    (void)state;
    need_model();
    char path[PATH_MAX];
    join(path, "bad.bin");
    uint64_t seed = 0x5eed5ca1ab1e5ULL;
    int accepted = 0, refused = 0;
    for (int i = 0; i < 200; i++) {
        size_t len = (size_t)(next_random(&seed) % g.model_size);
        assert_int_equal(write_file(path, g.model_data, len), 0);
        try_open(path, &accepted, &refused);
    }
    assert_int_equal(accepted, 0); /* every truncation loses data */

    /* The header and the first tensor's record end at byte 166; corrupt
     * anywhere in the first 256 bytes. */
    unsigned char *copy = malloc(g.model_size);
    assert_non_null(copy);
    for (int i = 0; i < 200; i++) {
        memcpy(copy, g.model_data, g.model_size);
        size_t at = (size_t)(next_random(&seed) % 256);
        unsigned char v = (unsigned char)(1 + next_random(&seed) % 255);
        copy[at] ^= v; /* never a no-op */
        assert_int_equal(write_file(path, copy, g.model_size), 0);
        try_open(path, &accepted, &refused);
    }
    free(copy);
    unlink(path);
    print_message("silero: 400 damaged files, %d opened, %d refused\n", accepted, refused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_the_real_model),
        cmocka_unit_test(matches_the_numpy_reference),
        cmocka_unit_test(fallback_stft_matches_the_reference_too),
        cmocka_unit_test(speech_scores_high_and_silence_low),
        cmocka_unit_test(refuses_bad_files),
        cmocka_unit_test(survives_truncation_and_corruption),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
