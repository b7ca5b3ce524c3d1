/* test_diarize_engine: the public diarization API (diarize.h) with the
 * built-in engine — parameter checks, runs on audio held in memory and
 * pulled through a diarize_source in chunks of varying size (silence, a
 * short tone, nothing at all), and a two-voice conversation synthesised at
 * test time with espeak-ng and sox, whose who-spoke-when is known by
 * construction. On it: the speaker count, turn order and numbering, the
 * count constraint, determinism, the time offset, progress, cancellation,
 * audio errors, fault injection and diarize_set_params.
 *
 * The conversation tests skip when espeak-ng or sox is missing.
 */
/* cmocka needs these before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diarize/diarize.h"
#include "util/util.h"

#define RATE 16000
#define PI 3.14159265358979323846
#define GAP_SECONDS 0.5
#define FAULT_ENV "CESAR_FAULT_DIARIZE"

/* ---- deterministic randomness (chunk sizes) --------------------------------------- */

static uint64_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* ---- an in-memory source ---------------------------------------------------------- */

typedef struct {
    const float *x;
    size_t n, pos;
    uint64_t seed;  /* chunk sizes vary from 1 to max */
    size_t fail_at; /* report an error once pos reaches this (SIZE_MAX = never) */
    size_t reads;   /* calls */
    bool ended;     /* returned the end once */
    bool read_after_end;
} mem_audio;

static void mem_audio_init(mem_audio *m, const float *x, size_t n, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->x = x;
    m->n = n;
    m->seed = seed;
    m->fail_at = SIZE_MAX;
}

static int mem_read(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                    size_t errlen)
{
    mem_audio *m = user_data;
    m->reads++;
    if (m->ended)
        m->read_after_end = true;
    if (m->pos >= m->fail_at) {
        snprintf(err, errlen, "disk on fire at sample %zu", m->pos);
        *n_read = 0;
        return -1;
    }
    size_t want = max == 0 ? 0 : 1 + (size_t)(lcg_next(&m->seed) % max);
    if (want > m->n - m->pos)
        want = m->n - m->pos;
    memcpy(buf, m->x + m->pos, want * sizeof *buf);
    m->pos += want;
    *n_read = want;
    if (want == 0)
        m->ended = true;
    return 0;
}

static diarize_source mem_source(mem_audio *m)
{
    diarize_source src = {mem_read, m, (double)m->n / RATE, 0.0};
    return src;
}

/* ---- progress --------------------------------------------------------------------- */

#define MAX_PROGRESS 4096

typedef struct {
    double f[MAX_PROGRESS];
    size_t n;
    atomic_int *raise; /* raised on the first call when set */
} progress_log;

static void on_progress(double fraction, void *user_data)
{
    progress_log *p = user_data;
    if (p->n < MAX_PROGRESS)
        p->f[p->n] = fraction;
    p->n++;
    if (p->raise)
        atomic_store(p->raise, 1);
}

/* ---- helpers ---------------------------------------------------------------------- */

static void expect_empty(const diarize_result *r)
{
    assert_null(r->turns);
    assert_int_equal(r->n_turns, 0);
    assert_int_equal(r->n_speakers, 0);
}

/* A failed run leaves the result as diarize_result_clear does: all zero. */
static void expect_failed(const diarize_result *r)
{
    expect_empty(r);
    assert_null(r->vad);
    assert_true(r->audio_seconds == 0.0);
    assert_true(r->speech_seconds == 0.0);
}

/* How the engine finds speech here: with the Silero model when one is
 * configured (CESAR_VAD_MODEL in the environment, else the build's
 * default), else by energy. */
static const char *expected_vad(void)
{
    const char *env = getenv("CESAR_VAD_MODEL");
    if (env && env[0])
        return "silero";
#ifdef CESAR_VAD_MODEL_DEFAULT
    if (CESAR_VAD_MODEL_DEFAULT[0])
        return "silero";
#endif
    return "energy";
}

static diarize_engine *open_engine(const diarize_params *p)
{
    diarize_engine *e = NULL;
    char err[256] = "";
    int rc = diarize_open(&e, p, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("diarize_open: %s", err);
    assert_non_null(e);
    assert_string_equal(diarize_engine_name(e), "builtin");
    return e;
}

static int run_on(diarize_engine *e, const float *x, size_t n, uint64_t seed, double offset,
                  diarize_result *r, char *err, size_t errlen)
{
    mem_audio m;
    mem_audio_init(&m, x, n, seed);
    diarize_source src = mem_source(&m);
    src.time_offset = offset;
    int rc = diarize_run(e, &src, r, err, errlen);
    if (rc == DIARIZE_OK) {
        assert_int_equal(m.pos, n); /* read to the end */
        assert_false(m.read_after_end);
    }
    return rc;
}

/* Sorted by start, non-empty, non-overlapping, within [offset, offset +
 * audio], speakers 0..n-1 by first appearance. */
static void expect_well_formed(const diarize_result *r, double offset)
{
    int next = 0;
    for (size_t i = 0; i < r->n_turns; i++) {
        const diarize_turn *u = &r->turns[i];
        assert_true(u->end > u->start);
        assert_true(u->start >= offset - 1e-9);
        assert_true(u->end <= offset + r->audio_seconds + 1e-9);
        if (i > 0) {
            assert_true(u->start >= r->turns[i - 1].start);
            if (u->start < r->turns[i - 1].end - 1e-9)
                fail_msg("turn %zu (%.3f-%.3f) overlaps turn %zu (%.3f-%.3f)", i, u->start, u->end,
                         i - 1, r->turns[i - 1].start, r->turns[i - 1].end);
        }
        assert_true(u->speaker >= 0 && u->speaker <= next);
        if (u->speaker == next)
            next++;
    }
    assert_int_equal(next, r->n_speakers);
    if (r->n_turns > 0)
        assert_int_equal(r->turns[0].speaker, 0);
}

/* ---- parameters ------------------------------------------------------------------- */

static void expect_invalid(diarize_params p, const char *name1, const char *name2)
{
    char err[256] = "";
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_ERR_INVALID);
    if (!strstr(err, name1))
        fail_msg("message \"%s\" does not name %s", err, name1);
    if (name2 && !strstr(err, name2))
        fail_msg("message \"%s\" does not name %s", err, name2);
    /* diarize_open refuses the same parameters and leaves *out NULL */
    diarize_engine *e = (diarize_engine *)(void *)err;
    assert_int_equal(diarize_open(&e, &p, NULL, 0), DIARIZE_ERR_INVALID);
    assert_null(e);
}

static void test_check_params(void **state)
{
    (void)state;
    char err[256];
    diarize_params p = diarize_default_params();
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_OK);
    assert_int_equal(p.min_speakers, 0);
    assert_int_equal(p.max_speakers, 0);
    assert_int_equal(p.num_speakers, 0);
    assert_null(p.progress);
    assert_null(p.cancel);

    /* the extremes of the allowed range */
    p.min_speakers = 1;
    p.max_speakers = DIARIZE_MAX_SPEAKERS;
    p.num_speakers = DIARIZE_MAX_SPEAKERS;
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_OK);
    p = diarize_default_params();
    p.min_speakers = 3;
    p.max_speakers = 3;
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_OK);
    p = diarize_default_params();
    p.min_speakers = 4; /* max unset: no order to check */
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_OK);

    const char *names[] = {"min_speakers", "max_speakers", "num_speakers"};
    const int bad[] = {-1, DIARIZE_MAX_SPEAKERS + 1};
    for (int which = 0; which < 3; which++)
        for (int b = 0; b < 2; b++) {
            p = diarize_default_params();
            int *field = which == 0   ? &p.min_speakers
                         : which == 1 ? &p.max_speakers
                                      : &p.num_speakers;
            *field = bad[b];
            expect_invalid(p, names[which], NULL);
        }

    p = diarize_default_params();
    p.min_speakers = 5;
    p.max_speakers = 3;
    expect_invalid(p, "min_speakers", "max_speakers");

    /* NULL and "" mean the default engine */
    p = diarize_default_params();
    p.engine = NULL;
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_OK);
    p.engine = "";
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_OK);

    p.engine = "pyannote-of-the-future";
    err[0] = '\0';
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_ERR_UNKNOWN_ENGINE);
    assert_non_null(strstr(err, "pyannote-of-the-future"));
    diarize_engine *e = NULL;
    assert_int_equal(diarize_open(&e, &p, err, sizeof err), DIARIZE_ERR_UNKNOWN_ENGINE);
    assert_null(e);

    /* NULL parameters are refused, a NULL/0 error buffer is fine */
    assert_int_equal(diarize_check_params(NULL, NULL, 0), DIARIZE_ERR_INVALID);

    /* the registry */
    const char *const *list = diarize_engine_names();
    assert_non_null(list);
    bool has_builtin = false;
    size_t count = 0;
    for (; list[count]; count++) {
        assert_true(diarize_engine_known(list[count]));
        if (strcmp(list[count], "builtin") == 0)
            has_builtin = true;
    }
    assert_true(has_builtin);
    assert_true(count >= 1);
    assert_true(diarize_engine_known("builtin"));
    assert_false(diarize_engine_known("pyannote-of-the-future"));
    assert_false(diarize_engine_known("Builtin"));
    assert_false(diarize_engine_known(NULL));

    /* every error code has a message, distinct from "ok" */
    for (int code = DIARIZE_ERR_INVALID; code <= DIARIZE_ERR_CANCELLED; code++) {
        assert_non_null(diarize_strerror(code));
        assert_string_not_equal(diarize_strerror(code), diarize_strerror(DIARIZE_OK));
    }
    diarize_close(NULL); /* NULL-safe */
    diarize_result_clear(NULL);
}

/* ---- runs on synthetic audio ------------------------------------------------------ */

static void test_silence(void **state)
{
    (void)state;
    const size_t n = 10 * RATE;
    float *x = calloc(n, sizeof *x);
    assert_non_null(x);
    diarize_params p = diarize_default_params();
    diarize_engine *e = open_engine(&p);
    diarize_result r;
    memset(&r, 0xff, sizeof r); /* zeroed by the run */
    char err[256] = "";
    int rc = run_on(e, x, n, 3, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("silence: %s", err);
    expect_empty(&r);
    assert_true(r.audio_seconds == 10.0);
    assert_true(r.speech_seconds == 0.0);
    assert_non_null(r.vad);
    assert_string_equal(r.vad, expected_vad());
    diarize_result_clear(&r);
    diarize_close(e);
    free(x);
}

static void test_short_tone(void **state)
{
    (void)state;
    const size_t n = RATE / 2;
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.3 * sin(2.0 * PI * 200.0 * (double)i / RATE));
    diarize_params p = diarize_default_params();
    diarize_engine *e = open_engine(&p);
    diarize_result r;
    char err[256] = "";
    int rc = run_on(e, x, n, 4, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("tone: %s", err);
    assert_true(r.n_speakers <= 1);
    assert_true(r.audio_seconds == 0.5);
    assert_true(r.speech_seconds <= 0.5);
    expect_well_formed(&r, 0.0);
    for (size_t i = 0; i < r.n_turns; i++)
        assert_int_equal(r.turns[i].speaker, 0);
    diarize_result_clear(&r);
    expect_empty(&r);
    diarize_close(e);
    free(x);
}

static void test_empty_source(void **state)
{
    (void)state;
    diarize_params p = diarize_default_params();
    progress_log log = {.n = 0};
    p.progress = on_progress;
    p.progress_user_data = &log;
    diarize_engine *e = open_engine(&p);
    diarize_result r;
    char err[256] = "";
    float dummy = 0.0f;
    int rc = run_on(e, &dummy, 0, 5, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("empty: %s", err);
    expect_empty(&r);
    assert_true(r.audio_seconds == 0.0);
    assert_true(r.speech_seconds == 0.0);
    assert_non_null(r.vad);
    assert_string_equal(r.vad, expected_vad());
    /* even with nothing to do, the run ends at 1 */
    assert_true(log.n >= 1);
    assert_true(log.f[log.n - 1] == 1.0);

    /* no source / no read function */
    memset(&r, 0, sizeof r);
    assert_int_equal(diarize_run(e, NULL, &r, err, sizeof err), DIARIZE_ERR_INVALID);
    diarize_source none = {NULL, NULL, 0.0, 0.0};
    assert_int_equal(diarize_run(e, &none, &r, err, sizeof err), DIARIZE_ERR_INVALID);
    expect_failed(&r);
    diarize_close(e);
}

static void test_fault_injection(void **state)
{
    (void)state;
    char dir[] = "/tmp/cesar-dzt-fault-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char flag[PATH_MAX], missing[PATH_MAX];
    snprintf(flag, sizeof flag, "%s/fail-diarize", dir);
    snprintf(missing, sizeof missing, "%s/not-there", dir);
    FILE *f = fopen(flag, "w");
    assert_non_null(f);
    fclose(f);

    const size_t n = RATE;
    float *x = calloc(n, sizeof *x);
    assert_non_null(x);
    diarize_params p = diarize_default_params();
    diarize_engine *e = open_engine(&p);
    diarize_result r;
    char err[512] = "";

    assert_int_equal(setenv(FAULT_ENV, flag, 1), 0);
    int rc = run_on(e, x, n, 6, 0.0, &r, err, sizeof err);
    assert_int_equal(rc, DIARIZE_ERR_FAILED);
    if (!strstr(err, FAULT_ENV))
        fail_msg("message \"%s\" does not name %s", err, FAULT_ENV);
    expect_failed(&r);

    /* a path that does not exist injects nothing */
    assert_int_equal(setenv(FAULT_ENV, missing, 1), 0);
    rc = run_on(e, x, n, 6, 0.0, &r, err, sizeof err);
    assert_int_equal(rc, DIARIZE_OK);
    diarize_result_clear(&r);

    /* back on, then unset: OK again */
    assert_int_equal(setenv(FAULT_ENV, flag, 1), 0);
    assert_int_equal(run_on(e, x, n, 6, 0.0, &r, err, sizeof err), DIARIZE_ERR_FAILED);
    assert_int_equal(unsetenv(FAULT_ENV), 0);
    rc = run_on(e, x, n, 6, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("after unsetenv: %s", err);
    expect_empty(&r); /* silence */
    assert_true(r.audio_seconds == 1.0);
    diarize_result_clear(&r);

    diarize_close(e);
    free(x);
    assert_int_equal(unlink(flag), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_vad_model_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/cesar-dzt-vad-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char junk[PATH_MAX], missing[PATH_MAX];
    snprintf(junk, sizeof junk, "%s/junk.bin", dir);
    snprintf(missing, sizeof missing, "%s/no-model.bin", dir);
    FILE *f = fopen(junk, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((i * 37) & 0xff, f);
    fclose(f);

    /* a model that is named but cannot be loaded fails diarize_open */
    const char *paths[] = {missing, junk};
    for (int i = 0; i < 2; i++) {
        diarize_params p = diarize_default_params();
        p.vad_model = paths[i];
        diarize_engine *e = (diarize_engine *)(void *)dir;
        char err[1024] = "";
        assert_int_equal(diarize_open(&e, &p, err, sizeof err), DIARIZE_ERR_INVALID);
        assert_null(e);
        if (!strstr(err, paths[i]))
            fail_msg("message \"%s\" does not name %s", err, paths[i]);
    }
    assert_int_equal(unlink(junk), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* ---- the conversation ------------------------------------------------------------- */

typedef struct {
    const char *voice; /* espeak-ng -v */
    const char *pitch; /* espeak-ng -p */
    const char *text;
    int who; /* 0 = first voice, 1 = second */
} utterance;

static const utterance SCRIPT[] = {
    {"en-gb-scotland+m7", "0",
     "The weather was cold and grey when the ship finally left the harbour.", 0},
    {"en-us+f5", "99", "Our train arrives at noon, so please bring the maps and the tickets.", 1},
    {"en-gb-scotland+m7", "0",
     "We counted the barrels twice before anyone was allowed to go below deck.", 0},
    {"en-us+f5", "99", "I think the museum closes early on Sundays, so let us check first.", 1},
    {"en-gb-scotland+m7", "0", "By the evening the wind had turned and the sails were full.", 0},
    {"en-us+f5", "99", "Maybe we could have lunch by the river after the long walk.", 1},
};
#define N_UTTERANCES (sizeof SCRIPT / sizeof SCRIPT[0])

static struct {
    char dir[PATH_MAX];
    bool have_dir;
    float *audio;
    size_t n;
    double start[N_UTTERANCES], end[N_UTTERANCES]; /* seconds, by construction */
    const char *skip_why;
    diarize_result base; /* default parameters, no offset */
} g;

/* Runs argv (looked up in PATH) with its output to /dev/null; returns the
 * exit status, or -1 when it could not run. */
static int run_program(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
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

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* A 16 kHz mono 16-bit PCM WAV, as floats in [-1, 1); NULL on any surprise. */
static float *load_wav(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *d = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            unsigned char *grown = realloc(d, cap);
            if (!grown) {
                free(d);
                fclose(f);
                return NULL;
            }
            d = grown;
        }
        size_t got = fread(d + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    float *out = NULL;
    bool fmt_ok = false;
    if (len < 12 || memcmp(d, "RIFF", 4) != 0 || memcmp(d + 8, "WAVE", 4) != 0)
        goto done;
    for (size_t at = 12; at + 8 <= len;) {
        uint32_t size = get_le32(d + at + 4);
        const unsigned char *body = d + at + 8;
        size_t avail = len - at - 8;
        if (memcmp(d + at, "fmt ", 4) == 0 && size >= 16 && avail >= 16) {
            fmt_ok = get_le16(body) == 1 && get_le16(body + 2) == 1 && get_le32(body + 4) == RATE &&
                     get_le16(body + 14) == 16;
        } else if (memcmp(d + at, "data", 4) == 0 && fmt_ok) {
            size_t bytes = size < avail ? size : avail;
            size_t n = bytes / 2;
            out = malloc((n + 1) * sizeof *out);
            if (out) {
                for (size_t i = 0; i < n; i++)
                    out[i] = (float)(int16_t)get_le16(body + 2 * i) / 32768.0f;
                *n_out = n;
            }
            break;
        }
        at += 8 + (size_t)size + (size & 1);
    }
done:
    free(d);
    return out;
}

static int append(float **buf, size_t *n, size_t *cap, const float *x, size_t count)
{
    if (*n + count > *cap) {
        size_t c = *cap ? *cap : RATE;
        while (c < *n + count)
            c *= 2;
        float *grown = realloc(*buf, c * sizeof *grown);
        if (!grown)
            return -1;
        *buf = grown;
        *cap = c;
    }
    if (x)
        memcpy(*buf + *n, x, count * sizeof *x);
    else
        memset(*buf + *n, 0, count * sizeof **buf);
    *n += count;
    return 0;
}

/* Synthesises every utterance and lays them out as
 * gap, u0, gap, u1, ..., gap. */
static int setup_conversation(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    char *const probe_espeak[] = {"espeak-ng", "--version", NULL};
    char *const probe_sox[] = {"sox", "--version", NULL};
    if (run_program(probe_espeak) != 0) {
        g.skip_why = "espeak-ng is not installed";
        return 0;
    }
    if (run_program(probe_sox) != 0) {
        g.skip_why = "sox is not installed";
        return 0;
    }
    snprintf(g.dir, sizeof g.dir, "/tmp/cesar-dzt-XXXXXX");
    if (!mkdtemp(g.dir))
        return -1;
    g.have_dir = true;
    size_t cap = 0;
    const size_t gap = (size_t)(GAP_SECONDS * RATE);
    for (size_t u = 0; u < N_UTTERANCES; u++) {
        char raw[PATH_MAX + 32], wav[PATH_MAX + 32];
        snprintf(raw, sizeof raw, "%s/u%zu-22k.wav", g.dir, u);
        snprintf(wav, sizeof wav, "%s/u%zu.wav", g.dir, u);
        char *const speak[] = {
            "espeak-ng", "-v", (char *)SCRIPT[u].voice, "-p", (char *)SCRIPT[u].pitch,
            "-w",        raw,  (char *)SCRIPT[u].text,  NULL};
        char *const convert[] = {"sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav, NULL};
        if (run_program(speak) != 0 || run_program(convert) != 0) {
            fprintf(stderr, "could not synthesise utterance %zu\n", u);
            return -1;
        }
        size_t n = 0;
        float *x = load_wav(wav, &n);
        if (!x || n < RATE) {
            fprintf(stderr, "could not read %s\n", wav);
            free(x);
            return -1;
        }
        if (append(&g.audio, &g.n, &cap, NULL, gap) != 0)
            return -1;
        g.start[u] = (double)g.n / RATE;
        int rc = append(&g.audio, &g.n, &cap, x, n);
        free(x);
        if (rc != 0)
            return -1;
        g.end[u] = (double)g.n / RATE;
    }
    if (append(&g.audio, &g.n, &cap, NULL, gap) != 0)
        return -1;

    /* the reference run: default parameters */
    diarize_params p = diarize_default_params();
    diarize_engine *e = NULL;
    char err[256] = "";
    if (diarize_open(&e, &p, err, sizeof err) != DIARIZE_OK)
        return -1;
    mem_audio m;
    mem_audio_init(&m, g.audio, g.n, 42);
    diarize_source src = mem_source(&m);
    int rc = diarize_run(e, &src, &g.base, err, sizeof err);
    diarize_close(e);
    if (rc != DIARIZE_OK) {
        fprintf(stderr, "reference run failed: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown_conversation(void **state)
{
    (void)state;
    diarize_result_clear(&g.base);
    free(g.audio);
    g.audio = NULL;
    if (g.have_dir)
        util_remove_tree(g.dir, false, NULL, 0);
    unsetenv(FAULT_ENV);
    return 0;
}

#define NEED_AUDIO()                                                                               \
    do {                                                                                           \
        if (g.skip_why) {                                                                          \
            print_message("skipped: %s\n", g.skip_why);                                            \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static double overlap(double a0, double a1, double b0, double b1)
{
    double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0.0;
}

/* The speaker overlapping utterance u the longest (-1 if none), and how
 * much of the utterance the turns cover. */
static int speaker_of(const diarize_result *r, size_t u, double offset, double *covered)
{
    double best = 0.0, total = 0.0;
    int who = -1;
    double per[DIARIZE_MAX_SPEAKERS] = {0};
    for (size_t i = 0; i < r->n_turns; i++) {
        double o =
            overlap(r->turns[i].start - offset, r->turns[i].end - offset, g.start[u], g.end[u]);
        assert_true(r->turns[i].speaker < DIARIZE_MAX_SPEAKERS);
        per[r->turns[i].speaker] += o;
        total += o;
    }
    for (int s = 0; s < DIARIZE_MAX_SPEAKERS; s++)
        if (per[s] > best) {
            best = per[s];
            who = s;
        }
    if (covered)
        *covered = total;
    return who;
}

static void test_two_voices(void **state)
{
    (void)state;
    NEED_AUDIO();
    const diarize_result *r = &g.base;
    assert_int_equal(r->n_speakers, 2);
    expect_well_formed(r, 0.0);
    assert_true(r->n_turns >= 2);
    assert_true(r->audio_seconds == (double)g.n / RATE);
    assert_non_null(r->vad);
    assert_string_equal(r->vad, expected_vad());

    /* Who spoke when, by construction: each utterance goes mostly to one
     * speaker, the same one for every utterance of a voice, and the two
     * voices to different speakers. The first voice speaks first, so it is
     * speaker 0. */
    int label[2] = {-1, -1};
    double speech_truth = 0.0;
    for (size_t u = 0; u < N_UTTERANCES; u++) {
        double covered = 0.0, len = g.end[u] - g.start[u];
        int s = speaker_of(r, u, 0.0, &covered);
        speech_truth += len;
        if (s < 0)
            fail_msg("utterance %zu (%.2f-%.2f s) has no turn", u, g.start[u], g.end[u]);
        int who = SCRIPT[u].who;
        if (label[who] < 0)
            label[who] = s;
        else if (label[who] != s)
            fail_msg("utterance %zu went to speaker %d, earlier ones of its voice to %d", u, s,
                     label[who]);
        /* espeak-ng pads its output with some silence: half is plenty */
        if (covered < 0.5 * len)
            fail_msg("utterance %zu: turns cover %.2f of %.2f s", u, covered, len);
    }
    assert_int_equal(label[0], 0);
    assert_int_equal(label[1], 1);

    /* speech: within the utterances; the 0.5 s gaps are digital silence */
    assert_true(r->speech_seconds > 0.5 * speech_truth);
    assert_true(r->speech_seconds <= speech_truth + 0.1);
    double turn_time = 0.0;
    for (size_t i = 0; i < r->n_turns; i++) {
        turn_time += r->turns[i].end - r->turns[i].start;
        /* no turn reaches into the middle of a gap */
        for (size_t u = 0; u + 1 < N_UTTERANCES; u++) {
            double mid = 0.5 * (g.end[u] + g.start[u + 1]);
            assert_false(r->turns[i].start < mid && r->turns[i].end > mid);
        }
    }
    assert_true(fabs(turn_time - r->speech_seconds) <= 0.01 * r->speech_seconds);
}

static void expect_same_turns(const diarize_result *a, const diarize_result *b, double shift)
{
    assert_int_equal(a->n_turns, b->n_turns);
    assert_int_equal(a->n_speakers, b->n_speakers);
    assert_true(a->audio_seconds == b->audio_seconds);
    assert_true(a->speech_seconds == b->speech_seconds);
    for (size_t i = 0; i < a->n_turns; i++) {
        assert_int_equal(a->turns[i].speaker, b->turns[i].speaker);
        if (shift == 0.0) {
            assert_true(a->turns[i].start == b->turns[i].start);
            assert_true(a->turns[i].end == b->turns[i].end);
        } else {
            assert_true(fabs(b->turns[i].start - a->turns[i].start - shift) < 1e-9);
            assert_true(fabs(b->turns[i].end - a->turns[i].end - shift) < 1e-9);
        }
    }
}

static void test_deterministic_and_offset(void **state)
{
    (void)state;
    NEED_AUDIO();
    diarize_params p = diarize_default_params();
    diarize_engine *e = open_engine(&p);
    diarize_result again, shifted;
    char err[256] = "";
    /* other chunk sizes than the reference run: the features stream */
    int rc = run_on(e, g.audio, g.n, 777, 0.0, &again, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("second run: %s", err);
    expect_same_turns(&g.base, &again, 0.0);

    rc = run_on(e, g.audio, g.n, 4242, 100.0, &shifted, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("offset run: %s", err);
    expect_same_turns(&g.base, &shifted, 100.0);
    expect_well_formed(&shifted, 100.0);
    assert_true(shifted.turns[0].start >= 100.0);
    diarize_result_clear(&again);
    diarize_result_clear(&shifted);
    diarize_close(e);
}

static void test_num_speakers_and_set_params(void **state)
{
    (void)state;
    NEED_AUDIO();
    char err[256] = "";
    diarize_result r;

    /* opened with num_speakers = 1 */
    diarize_params p = diarize_default_params();
    p.num_speakers = 1;
    diarize_engine *e = open_engine(&p);
    int rc = run_on(e, g.audio, g.n, 9, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("num_speakers 1: %s", err);
    assert_int_equal(r.n_speakers, 1);
    expect_well_formed(&r, 0.0);
    for (size_t i = 0; i < r.n_turns; i++)
        assert_int_equal(r.turns[i].speaker, 0);
    /* one speaker or two, the same speech */
    assert_true(r.speech_seconds == g.base.speech_seconds);
    diarize_result_clear(&r);

    /* bad parameters leave the engine as it was */
    diarize_params bad = diarize_default_params();
    bad.min_speakers = 5;
    bad.max_speakers = 3;
    err[0] = '\0';
    assert_int_equal(diarize_set_params(e, &bad, err, sizeof err), DIARIZE_ERR_INVALID);
    assert_non_null(strstr(err, "min_speakers"));

    /* num_speakers 0 on the same engine: the count is free again */
    p.num_speakers = 0;
    assert_int_equal(diarize_set_params(e, &p, err, sizeof err), DIARIZE_OK);
    rc = run_on(e, g.audio, g.n, 10, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("num_speakers 0: %s", err);
    expect_same_turns(&g.base, &r, 0.0);
    diarize_result_clear(&r);

    /* and 1 again, through set_params this time, after another refused
     * change */
    p.num_speakers = 1;
    assert_int_equal(diarize_set_params(e, &p, err, sizeof err), DIARIZE_OK);
    bad = diarize_default_params();
    bad.num_speakers = DIARIZE_MAX_SPEAKERS + 1;
    assert_int_equal(diarize_set_params(e, &bad, err, sizeof err), DIARIZE_ERR_INVALID);
    assert_non_null(strstr(err, "num_speakers"));
    bad = diarize_default_params();
    bad.engine = "no-such-engine"; /* the engine itself cannot change */
    assert_int_equal(diarize_set_params(e, &bad, err, sizeof err), DIARIZE_OK);
    assert_string_equal(diarize_engine_name(e), "builtin");
    assert_int_equal(diarize_set_params(e, &p, err, sizeof err), DIARIZE_OK);
    rc = run_on(e, g.audio, g.n, 11, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("num_speakers 1 via set_params: %s", err);
    assert_int_equal(r.n_speakers, 1);
    diarize_result_clear(&r);
    diarize_close(e);
}

static void test_progress(void **state)
{
    (void)state;
    NEED_AUDIO();
    static progress_log log;
    memset(&log, 0, sizeof log);
    diarize_params p = diarize_default_params();
    p.progress = on_progress;
    p.progress_user_data = &log;
    diarize_engine *e = open_engine(&p);
    diarize_result r;
    char err[256] = "";
    int rc = run_on(e, g.audio, g.n, 12, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("progress run: %s", err);
    assert_true(log.n >= 3); /* reading reports as it goes */
    assert_true(log.n <= MAX_PROGRESS);
    for (size_t i = 0; i < log.n; i++) {
        assert_true(log.f[i] >= 0.0 && log.f[i] <= 1.0);
        if (i > 0 && log.f[i] < log.f[i - 1])
            fail_msg("progress went back from %g to %g", log.f[i - 1], log.f[i]);
    }
    assert_true(log.f[log.n - 1] == 1.0);
    assert_true(log.f[0] < 1.0);
    /* callbacks change nothing in the result */
    expect_same_turns(&g.base, &r, 0.0);
    diarize_result_clear(&r);

    /* length unknown: fewer reports, still in order and ending at 1 */
    size_t known_reports = log.n;
    memset(&log, 0, sizeof log);
    mem_audio m;
    mem_audio_init(&m, g.audio, g.n, 18);
    diarize_source src = mem_source(&m);
    src.total_seconds = 0.0;
    rc = diarize_run(e, &src, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("progress run, length unknown: %s", err);
    assert_true(log.n >= 1 && log.n < known_reports);
    for (size_t i = 1; i < log.n; i++)
        assert_true(log.f[i] >= log.f[i - 1]);
    assert_true(log.f[log.n - 1] == 1.0);
    expect_same_turns(&g.base, &r, 0.0);
    diarize_result_clear(&r);
    diarize_close(e);
}

static void test_cancel(void **state)
{
    (void)state;
    NEED_AUDIO();
    char err[256] = "";
    diarize_result r;

    /* raised before the run: nothing is read */
    atomic_int flag = 1;
    diarize_params p = diarize_default_params();
    p.cancel = &flag;
    diarize_engine *e = open_engine(&p);
    mem_audio m;
    mem_audio_init(&m, g.audio, g.n, 13);
    diarize_source src = mem_source(&m);
    assert_int_equal(diarize_run(e, &src, &r, err, sizeof err), DIARIZE_ERR_CANCELLED);
    expect_failed(&r);
    assert_int_equal(m.pos, 0);
    diarize_close(e);

    /* raised from the first progress report, while the audio is read: the
     * run stops well before the end (the source reads at most the engine's
     * chunk per call, so within a few chunks) */
    atomic_store(&flag, 0);
    static progress_log log;
    memset(&log, 0, sizeof log);
    log.raise = &flag;
    p.progress = on_progress;
    p.progress_user_data = &log;
    e = open_engine(&p);
    mem_audio_init(&m, g.audio, g.n, 14);
    src = mem_source(&m);
    memset(&r, 0xff, sizeof r);
    assert_int_equal(diarize_run(e, &src, &r, err, sizeof err), DIARIZE_ERR_CANCELLED);
    expect_failed(&r);
    assert_true(log.n >= 1);
    assert_true(m.pos < g.n / 2);
    assert_int_equal(strcmp(diarize_strerror(DIARIZE_ERR_CANCELLED), "cancelled"), 0);

    /* the flag lowered again: the same engine runs to the end */
    atomic_store(&flag, 0);
    log.raise = NULL;
    int rc = run_on(e, g.audio, g.n, 15, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("after lowering the flag: %s", err);
    assert_int_equal(r.n_speakers, 2);
    diarize_result_clear(&r);
    diarize_close(e);
}

static void test_audio_error(void **state)
{
    (void)state;
    NEED_AUDIO();
    diarize_params p = diarize_default_params();
    diarize_engine *e = open_engine(&p);
    mem_audio m;
    mem_audio_init(&m, g.audio, g.n, 16);
    m.fail_at = 3 * RATE;
    diarize_source src = mem_source(&m);
    diarize_result r;
    memset(&r, 0xff, sizeof r);
    char err[256] = "";
    assert_int_equal(diarize_run(e, &src, &r, err, sizeof err), DIARIZE_ERR_AUDIO);
    if (!strstr(err, "disk on fire"))
        fail_msg("message \"%s\" lost the source's", err);
    expect_failed(&r);
    /* the engine is still usable */
    int rc = run_on(e, g.audio, g.n, 17, 0.0, &r, err, sizeof err);
    if (rc != DIARIZE_OK)
        fail_msg("after the audio error: %s", err);
    expect_same_turns(&g.base, &r, 0.0);
    diarize_result_clear(&r);
    diarize_close(e);
}

int main(void)
{
    const struct CMUnitTest basics[] = {
        cmocka_unit_test(test_check_params),    cmocka_unit_test(test_silence),
        cmocka_unit_test(test_short_tone),      cmocka_unit_test(test_empty_source),
        cmocka_unit_test(test_fault_injection), cmocka_unit_test(test_vad_model_errors),
    };
    const struct CMUnitTest conversation[] = {
        cmocka_unit_test(test_two_voices),
        cmocka_unit_test(test_deterministic_and_offset),
        cmocka_unit_test(test_num_speakers_and_set_params),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_audio_error),
    };
    int failed = cmocka_run_group_tests_name("basics", basics, NULL, NULL);
    failed += cmocka_run_group_tests_name("conversation", conversation, setup_conversation,
                                          teardown_conversation);
    return failed;
}
