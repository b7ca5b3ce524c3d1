/* test_asr_vad_gate: the Silero silence gate in front of Whisper. The time
 * map is tested as a pure function (inside pieces, on boundaries as starts
 * and as ends, before the first and after the last piece); the gate runs
 * the real Silero model on two LibriVox clips, decoded with sox at test
 * time, separated and surrounded by long digital silence, and must keep
 * the speech, drop most of the silence, map the second clip back to where
 * it really starts, give every kept sample back at the place the map
 * names, and produce the same kept audio and map whatever sizes the source
 * reads in.
 *
 * Needs the model (the build's CESAR_VAD_MODEL_DEFAULT, normally
 * ../shared/models/vad/silero-v6.2.0-ggml.bin) and sox; the audio tests fail
 * without them rather than silently pass.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "asr/asr.h"
#include "asr/vad_gate.h"

#define RATE 16000
#define MODEL CESAR_SOURCE_DIR "/../shared/models/vad/silero-v6.2.0-ggml.bin"
#define CLIP_DIR "/usr/share/pocketsphinx/test/data/librivox/"
#define CLIP_A CLIP_DIR "sense_and_sensibility_01_austen_64kb-0880.wav"
#define CLIP_B CLIP_DIR "sense_and_sensibility_01_austen_64kb-0930.wav"
#define LEAD_SECONDS 4   /* silence before the first clip */
#define GAP_SECONDS 20   /* silence between the clips */
#define TAIL_SECONDS 4   /* silence after the second clip */

/* The synthetic recording, built once. */
static struct {
    float *audio;
    size_t n;
    size_t b_pos;            /* where clip B was placed */
    size_t a_end;            /* where clip A ends */
    double speech_seconds;   /* loud span of A plus loud span of B */
    double b_onset;          /* first loud moment of B, seconds */
} g;

/* ---- the time map ------------------------------------------------------- */

static const asr__vad_piece PIECES[] = {
    {0, 1600, 8000},     /* kept 0.0-0.5 s  <- 0.1-0.6 s */
    {8000, 32000, 16000}, /* kept 0.5-1.5 s  <- 2.0-3.0 s */
    {24000, 80000, 4000}, /* kept 1.5-1.75 s <- 5.0-5.25 s */
};
#define N_PIECES (sizeof PIECES / sizeof PIECES[0])

static void test_map_inside_pieces(void **state)
{
    (void)state;
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 0.25, false), 0.35, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 0.25, true), 0.35, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 1.0, false), 2.5, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 1.6, true), 5.1, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 0.0, false), 0.1, 1e-9);
}

static void test_map_boundaries(void **state)
{
    (void)state;
    /* 0.5 s is where piece 0 ends and piece 1 begins. */
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 0.5, false), 2.0, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 0.5, true), 0.6, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 1.5, false), 5.0, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 1.5, true), 3.0, 1e-9);
    /* Whisper's times are rounded decimals: 1.5 computed, not typed. */
    double near = 0.1 * 15.0;
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, near, true), 3.0, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, near, false), 5.0, 1e-9);
}

static void test_map_outside(void **state)
{
    (void)state;
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 1.75, true), 5.25, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 3.0, false), 5.25, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, 30.0, true), 5.25, 1e-9);
    assert_float_equal(asr__vad_map_time(PIECES, N_PIECES, -1.0, false), 0.1, 1e-9);
    assert_float_equal(asr__vad_map_time(NULL, 0, 7.5, false), 7.5, 1e-12);
    assert_float_equal(asr__vad_map_time(PIECES, 1, 0.75, true), 0.6, 1e-9);
}

/* ---- audio -------------------------------------------------------------- */

/* Decodes path to 16 kHz mono f32 with sox; NULL when that fails. */
static float *decode(const char *path, size_t *n)
{
    char raw[] = "/tmp/test_asr_vad_gate_XXXXXX";
    int fd = mkstemp(raw);
    if (fd < 0)
        return NULL;
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *e = freopen("/dev/null", "w", stderr);
        (void)e;
        execlp("sox", "sox", path, "-t", "raw", "-e", "floating-point", "-b", "32", "-r",
               "16000", "-c", "1", raw, (char *)NULL);
        _exit(127);
    }
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        unlink(raw);
        return NULL;
    }
    FILE *f = fopen(raw, "rb");
    float *x = NULL;
    if (f) {
        fseek(f, 0, SEEK_END);
        long bytes = ftell(f);
        fseek(f, 0, SEEK_SET);
        *n = bytes > 0 ? (size_t)bytes / sizeof(float) : 0;
        x = malloc(*n * sizeof *x + 1);
        if (x && fread(x, sizeof *x, *n, f) != *n) {
            free(x);
            x = NULL;
        }
        fclose(f);
    }
    unlink(raw);
    return x;
}

/* First and last 10 ms frame of x whose RMS passes 0.02 (sample indices). */
static void loud_span(const float *x, size_t n, size_t *first, size_t *last)
{
    const size_t frame = RATE / 100;
    *first = SIZE_MAX;
    *last = 0;
    for (size_t i = 0; i + frame <= n; i += frame) {
        double e = 0;
        for (size_t j = 0; j < frame; j++)
            e += (double)x[i + j] * x[i + j];
        if (sqrt(e / frame) > 0.02) {
            if (*first == SIZE_MAX)
                *first = i;
            *last = i + frame;
        }
    }
}

static int setup_audio(void **state)
{
    (void)state;
    size_t na = 0, nb = 0;
    float *a = decode(CLIP_A, &na), *b = decode(CLIP_B, &nb);
    if (!a || !b) {
        fprintf(stderr, "cannot decode the LibriVox clips with sox\n");
        free(a);
        free(b);
        return -1;
    }
    size_t lead = LEAD_SECONDS * RATE, gap = GAP_SECONDS * RATE, tail = TAIL_SECONDS * RATE;
    g.n = lead + na + gap + nb + tail;
    g.audio = calloc(g.n, sizeof *g.audio);
    if (!g.audio)
        return -1;
    memcpy(g.audio + lead, a, na * sizeof *a);
    g.a_end = lead + na;
    g.b_pos = g.a_end + gap;
    memcpy(g.audio + g.b_pos, b, nb * sizeof *b);
    size_t f, l;
    loud_span(a, na, &f, &l);
    g.speech_seconds = (double)(l - f) / RATE;
    loud_span(b, nb, &f, &l);
    g.speech_seconds += (double)(l - f) / RATE;
    g.b_onset = (double)(g.b_pos + f) / RATE;
    free(a);
    free(b);
    return 0;
}

static int teardown_audio(void **state)
{
    (void)state;
    free(g.audio);
    return 0;
}

/* A source over a buffer that answers in a fixed rotation of read sizes. */
typedef struct {
    const float *x;
    size_t n, pos;
    const size_t *sizes;
    size_t n_sizes, turn;
    int fail_at; /* >= 0: the read with this number fails */
} source;

static int source_read(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                       size_t errlen)
{
    source *s = user_data;
    *n_read = 0;
    if (s->fail_at >= 0 && s->turn == (size_t)s->fail_at) {
        snprintf(err, errlen, "source broke");
        return 42;
    }
    size_t want = s->sizes[s->turn++ % s->n_sizes];
    if (want > max)
        want = max;
    if (want > s->n - s->pos)
        want = s->n - s->pos;
    memcpy(buf, s->x + s->pos, want * sizeof *buf);
    s->pos += want;
    *n_read = want;
    return 0;
}

typedef struct {
    float *kept;
    size_t n_kept;
    asr__vad_piece *pieces;
    size_t n_pieces;
    int64_t input;
} gated;

/* Runs the whole of x through a gate, the source reading in the given
 * sizes and the consumer in out_size pieces. */
static int gate_all(asr__vad_gate *gate, const float *x, size_t n, const size_t *sizes,
                    size_t n_sizes, size_t out_size, gated *r, char *err, size_t errlen)
{
    source src = {.x = x, .n = n, .sizes = sizes, .n_sizes = n_sizes, .fail_at = -1};
    asr__vad_gate_start(gate, source_read, &src);
    memset(r, 0, sizeof *r);
    r->kept = malloc((n + 1) * sizeof *r->kept);
    assert_non_null(r->kept);
    for (;;) {
        size_t got = 0;
        int rc = asr__vad_gate_read(gate, r->kept + r->n_kept, out_size, &got, err, errlen);
        if (rc != 0)
            return rc;
        assert_true(got <= out_size);
        if (got == 0)
            break;
        r->n_kept += got;
        assert_true(r->n_kept <= n);
    }
    size_t np;
    const asr__vad_piece *p = asr__vad_gate_pieces(gate, &np);
    r->pieces = malloc((np + 1) * sizeof *p);
    assert_non_null(r->pieces);
    if (np)
        memcpy(r->pieces, p, np * sizeof *p);
    r->n_pieces = np;
    r->input = asr__vad_gate_input_samples(gate);
    assert_int_equal(asr__vad_gate_kept_samples(gate), (int64_t)r->n_kept);
    return 0;
}

static void gated_free(gated *r)
{
    free(r->kept);
    free(r->pieces);
}

static asr__vad_gate *open_gate(void)
{
    char err[1024] = "";
    asr__vad_gate *gate = NULL;
    int rc = asr__vad_gate_open(&gate, MODEL, err, sizeof err);
    if (rc != ASR_OK)
        fail_msg("cannot open %s: %s", MODEL, err);
    return gate;
}

static void test_gate_speech(void **state)
{
    (void)state;
    asr__vad_gate *gate = open_gate();
    static const size_t one[] = {4096};
    gated r;
    char err[256];
    assert_int_equal(gate_all(gate, g.audio, g.n, one, 1, 8000, &r, err, sizeof err), 0);
    assert_int_equal(r.input, (int64_t)g.n);

    double kept = (double)r.n_kept / RATE, total = (double)g.n / RATE;
    printf("kept %.2f s of %.2f s in %zu pieces (speech %.2f s)\n", kept, total, r.n_pieces,
           g.speech_seconds);
    assert_true(kept < 0.5 * total);
    assert_true(kept >= g.speech_seconds);
    assert_true(r.n_pieces >= 2);

    /* The pieces tile the kept audio in order. */
    int64_t at = 0;
    for (size_t i = 0; i < r.n_pieces; i++) {
        assert_int_equal(r.pieces[i].kept_start, at);
        assert_true(r.pieces[i].length > 0);
        if (i > 0)
            assert_true(r.pieces[i].orig_start >
                        r.pieces[i - 1].orig_start + r.pieces[i - 1].length);
        at += r.pieces[i].length;
    }
    assert_int_equal(at, (int64_t)r.n_kept);

    /* Clip B: the first piece past clip A, its speech 0.2 s into it. */
    size_t i = 0;
    while (i < r.n_pieces && r.pieces[i].orig_start < (int64_t)g.a_end)
        i++;
    assert_true(i < r.n_pieces);
    double kept_t = (double)r.pieces[i].kept_start / RATE + ASR__VAD_PAD_SECONDS;
    double b_start = asr__vad_map_time(r.pieces, r.n_pieces, kept_t, false);
    printf("clip B speech from %.3f s, mapped %.3f s\n", g.b_onset, b_start);
    assert_true(fabs(b_start - g.b_onset) <= 0.3);

    /* Every kept sample is the original one the map names. */
    for (size_t k = 0; k < r.n_kept; k += 997) {
        double t = asr__vad_map_time(r.pieces, r.n_pieces, (double)k / RATE, false);
        size_t o = (size_t)llround(t * RATE);
        assert_true(o < g.n);
        assert_true(r.kept[k] == g.audio[o]);
    }
    gated_free(&r);
    asr__vad_gate_close(gate);
}

static void test_gate_chunking_invariant(void **state)
{
    (void)state;
    asr__vad_gate *gate = open_gate();
    static const size_t big[] = {1 << 20};
    static const size_t odd[] = {1, 7, 511, 513, 1000, 3, 16001};
    static const size_t chunk[] = {512};
    char err[256];
    gated ref, r;
    assert_int_equal(gate_all(gate, g.audio, g.n, big, 1, 1 << 20, &ref, err, sizeof err), 0);
    const size_t *const sizes[] = {odd, chunk};
    const size_t counts[] = {sizeof odd / sizeof odd[0], 1};
    const size_t out_sizes[] = {333, 512};
    for (size_t c = 0; c < 2; c++) {
        assert_int_equal(
            gate_all(gate, g.audio, g.n, sizes[c], counts[c], out_sizes[c], &r, err, sizeof err),
            0);
        assert_int_equal(r.n_kept, ref.n_kept);
        assert_memory_equal(r.kept, ref.kept, ref.n_kept * sizeof *ref.kept);
        assert_int_equal(r.n_pieces, ref.n_pieces);
        assert_memory_equal(r.pieces, ref.pieces, ref.n_pieces * sizeof *ref.pieces);
        gated_free(&r);
    }
    gated_free(&ref);
    asr__vad_gate_close(gate);
}

static void test_gate_silence(void **state)
{
    (void)state;
    asr__vad_gate *gate = open_gate();
    static const size_t sizes[] = {1000};
    char err[256];
    gated r;
    float *zeros = calloc(5 * RATE, sizeof *zeros);
    assert_non_null(zeros);
    /* Five seconds of nothing: nothing to transcribe. */
    assert_int_equal(gate_all(gate, zeros, 5 * RATE, sizes, 1, 4096, &r, err, sizeof err), 0);
    assert_int_equal(r.n_kept, 0);
    assert_int_equal(r.input, 5 * RATE);
    gated_free(&r);
    /* Half a second is within the limit and kept whole. */
    assert_int_equal(gate_all(gate, zeros, RATE / 2, sizes, 1, 4096, &r, err, sizeof err), 0);
    assert_int_equal(r.n_kept, RATE / 2);
    assert_int_equal(r.n_pieces, 1);
    gated_free(&r);
    free(zeros);
    asr__vad_gate_close(gate);
}

static void test_gate_source_error(void **state)
{
    (void)state;
    asr__vad_gate *gate = open_gate();
    static const size_t sizes[] = {100};
    source src = {.x = g.audio, .n = g.n, .sizes = sizes, .n_sizes = 1, .fail_at = 30};
    asr__vad_gate_start(gate, source_read, &src);
    char err[256] = "";
    float buf[256];
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++) {
        size_t got = 0;
        rc = asr__vad_gate_read(gate, buf, 256, &got, err, sizeof err);
        if (rc == 0 && got == 0)
            break;
    }
    assert_int_equal(rc, 42);
    assert_string_equal(err, "source broke");
    asr__vad_gate_close(gate);
}

static void test_gate_bad_model(void **state)
{
    (void)state;
    char err[512] = "";
    asr__vad_gate *gate = (asr__vad_gate *)&err; /* open must set it to NULL */
    assert_int_equal(asr__vad_gate_open(&gate, "/nonexistent/silero.bin", err, sizeof err),
                     ASR_ERR_MODEL);
    assert_null(gate);
    assert_non_null(strstr(err, "/nonexistent/silero.bin"));
    gate = (asr__vad_gate *)&err;
    assert_int_equal(asr__vad_gate_open(&gate, "", err, sizeof err), ASR_ERR_MODEL);
    assert_null(gate);
    assert_non_null(strstr(err, "vad_model"));
    asr__vad_gate_close(NULL);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_map_inside_pieces),
        cmocka_unit_test(test_map_boundaries),
        cmocka_unit_test(test_map_outside),
        cmocka_unit_test(test_gate_bad_model),
    };
    const struct CMUnitTest audio[] = {
        cmocka_unit_test(test_gate_speech),
        cmocka_unit_test(test_gate_chunking_invariant),
        cmocka_unit_test(test_gate_silence),
        cmocka_unit_test(test_gate_source_error),
    };
    int failed = cmocka_run_group_tests_name("map", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("gate", audio, setup_audio, teardown_audio);
    return failed;
}
