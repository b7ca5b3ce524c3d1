/* Unit tests for the audio reader: real files in many containers and codecs,
 * generated at test time with the ffmpeg tool into a mkdtemp directory, are
 * decoded and checked for length (16 kHz x duration), content (a 440 Hz sine
 * must come out as 440 Hz, in phase with where the window says it starts),
 * windows, every kind of bad input, and flat memory use on a long file.
 *
 * Tests skip (not fail) when the ffmpeg tool or one of its encoders is
 * missing; the library itself never runs it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audio/audio.h"

#define RATE AUDIO_SAMPLE_RATE
#define SINE_HZ 440.0
#define SINE_AMP 0.125 /* lavfi's sine source: 1/8 of full scale */
#define SINE_SECONDS 3.0
/* Codec priming and padding that a container may not trim: 0.1 s either way. */
#define LENGTH_TOLERANCE (RATE / 10)
#define WINDOW_TOLERANCE 200

static char g_dir[256];
static bool g_ffmpeg;

/* ---- helpers ---------------------------------------------------------- */

static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static bool sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return false;
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void in_dir(char *buf, const char *name)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", g_dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Caller owns the result; free with free(). */
static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)len);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* Deterministic "random" bytes, so a failure reproduces. */
static void fill_garbage(unsigned char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
}

/* Little-endian writers for the hand-made wav and zip files. */
static size_t put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    return 2;
}

static size_t put32(unsigned char *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
    return 4;
}

/* ffmpeg's own arguments for every generated file: quiet, never prompt. */
#define FF "ffmpeg -nostdin -hide_banner -loglevel error -y"

/* The reference: SINE_SECONDS of 440 Hz at 44.1 kHz, stereo, as wav. */
static bool ensure_sine(char *path)
{
    in_dir(path, "sine.wav");
    if (exists(path))
        return true;
    /* pan, not -ac 2: ffmpeg's upmix would lower each channel by 3 dB. */
    return sh(FF " -f lavfi -i sine=frequency=440:sample_rate=44100:duration=3 "
                 "-af 'pan=stereo|c0=c0|c1=c0' -c:a pcm_s16le '%s'",
              path);
}

/* Makes name from the sine with the given ffmpeg output options; with
 * video, a small test-pattern video track is muxed in as well. */
static bool make_from_sine(const char *name, const char *codec_args, bool video, char *out)
{
    char sine[PATH_MAX];
    if (!ensure_sine(sine))
        return false;
    in_dir(out, name);
    if (exists(out))
        return true;
    if (video)
        return sh(FF " -f lavfi -i testsrc=size=160x120:rate=10:duration=3 -i '%s' %s "
                     "-shortest '%s'",
                  sine, codec_args, out);
    return sh(FF " -i '%s' %s '%s'", sine, codec_args, out);
}

typedef struct {
    float *s;
    size_t n;
    int rc;
    char err[512];
    double start;    /* audio_window_start */
    double src;      /* audio_source_duration */
    double expected; /* audio_expected_duration */
    char desc[160];
} decoded;

/* Decodes path's window [start, end) reading chunk samples at a time; opening
 * and reading errors land in d->rc / d->err. Free d->s with free(). */
static void decode(const char *path, double start, double end, size_t chunk, decoded *d)
{
    memset(d, 0, sizeof *d);
    audio_params p = audio_default_params();
    p.window.start = start;
    p.window.end = end;
    audio_reader *r = (audio_reader *)&d; /* must be overwritten with NULL on failure */
    d->rc = audio_open(&r, path, &p, d->err, sizeof d->err);
    if (d->rc != AUDIO_OK) {
        assert_null(r);
        return;
    }
    assert_non_null(r);
    d->start = audio_window_start(r);
    d->src = audio_source_duration(r);
    d->expected = audio_expected_duration(r);
    snprintf(d->desc, sizeof d->desc, "%s", audio_describe(r));
    size_t cap = 0;
    for (;;) {
        if (d->n + chunk > cap) {
            cap = cap ? cap * 2 : 65536;
            while (cap < d->n + chunk)
                cap *= 2;
            d->s = realloc(d->s, cap * sizeof(float));
            assert_non_null(d->s);
        }
        size_t got = 12345;
        d->rc = audio_read(r, d->s + d->n, chunk, &got, d->err, sizeof d->err);
        if (d->rc != AUDIO_OK) {
            assert_int_equal(got, 0);
            break;
        }
        if (got == 0)
            break;
        assert_true(got <= chunk);
        d->n += got;
    }
    if (d->rc == AUDIO_OK)
        assert_int_equal(audio_samples_read(r), d->n);
    audio_close(r);
}

/* Sign changes per second, with hysteresis so codec noise around zero does
 * not count, over s[from, to). */
static double crossings_per_second(const float *s, size_t from, size_t to)
{
    int state = 0;
    size_t count = 0;
    for (size_t i = from; i < to; i++) {
        if (state <= 0 && s[i] > 0.02f) {
            count += state != 0;
            state = 1;
        } else if (state >= 0 && s[i] < -0.02f) {
            count += state != 0;
            state = -1;
        }
    }
    return (double)count * RATE / (double)(to - from);
}

/* The shift (in samples, |lag| <= max_lag) at which s best matches the
 * reference sine sampled from source time t0; *corr gets the normalised
 * correlation there. 0 means the samples are exactly where the reader says. */
static int best_lag(const float *s, size_t n, double t0, int max_lag, double *corr)
{
    int best = 0;
    double best_c = -2.0;
    size_t from = RATE / 20, to = n > (size_t)RATE / 20 ? n - RATE / 20 : 0;
    for (int lag = -max_lag; lag <= max_lag; lag++) {
        double sxy = 0, sxx = 0, syy = 0;
        for (size_t k = from; k < to; k++) {
            double t = t0 + ((double)k + lag) / RATE;
            double ref = sin(2.0 * M_PI * SINE_HZ * t);
            sxy += s[k] * ref;
            sxx += (double)s[k] * s[k];
            syy += ref * ref;
        }
        double c = sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
        if (c > best_c) {
            best_c = c;
            best = lag;
        }
    }
    *corr = best_c;
    return best;
}

static void assert_in_unit_range(const float *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(s[i] >= -1.0f && s[i] <= 1.0f);
}

static float peak(const float *s, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabsf(s[i]) > m ? fabsf(s[i]) : m;
    return m;
}

/* Opens path expecting failure with code, and a message that names the path
 * and contains want (when given). */
static void expect_open_error(const char *path, int code, const char *want)
{
    audio_reader *r = (audio_reader *)&r;
    char err[512] = "";
    audio_params p = audio_default_params();
    int rc = audio_open(&r, path, &p, err, sizeof err);
    if (rc != code)
        print_error("'%s': got %d (%s), want %d\n", path, rc, err, code);
    assert_int_equal(rc, code);
    assert_null(r);
    assert_non_null(strstr(err, path));
    if (want && !strstr(err, want))
        print_error("message '%s' lacks '%s'\n", err, want);
    if (want)
        assert_non_null(strstr(err, want));
}

#define NEED_FFMPEG()                                                                              \
    do {                                                                                           \
        if (!g_ffmpeg)                                                                             \
            skip();                                                                                \
    } while (0)

/* ---- one test per container / codec ---------------------------------- */

/* asf, mkv and webm store timestamps in whole milliseconds, so a window in
 * them can only be placed to within 1 ms (16 samples); the others are exact. */
#define MS_LAG 16
/* Lags are searched within half a period of the 440 Hz test tone. */
#define LAG_SEARCH 17

typedef struct {
    const char *file;
    const char *args;  /* ffmpeg output options */
    bool video;        /* also mux a video track */
    const char *codec; /* expected at the start of audio_describe */
    int max_lag;       /* timing tolerance in samples (see MS_LAG) */
} format_case;

static const format_case F_WAV = {"sine_wav.wav", "-c:a pcm_s16le", false, "pcm_s16le", 1};
static const format_case F_MP3 = {"sine.mp3", "-c:a libmp3lame -b:a 128k", false, "mp3", 1};
static const format_case F_M4A = {"sine.m4a", "-c:a aac -b:a 128k", false, "aac", 1};
static const format_case F_OGG = {"sine_vorbis.ogg", "-c:a libvorbis", false, "vorbis", 1};
static const format_case F_OPUS = {"sine.opus", "-c:a libopus", false, "opus", 1};
static const format_case F_OGG_OPUS = {"sine_opus.ogg", "-c:a libopus", false, "opus", 1};
static const format_case F_FLAC = {"sine.flac", "-c:a flac", false, "flac", 1};
static const format_case F_WMA = {"sine.wma", "-c:a wmav2 -b:a 128k", false, "wmav2", MS_LAG};
static const format_case F_WEBM = {"sine.webm", "-c:a libopus", false, "opus", MS_LAG};
static const format_case F_MP4 = {"video.mp4", "-c:v mpeg4 -c:a aac", true, "aac", 1};
/* Vorbis in matroska: millisecond timestamps that also lag the vorbis block
 * overlap, good to about 1.5 ms, beyond what a 440 Hz phase can resolve;
 * count and window start are still checked. */
static const format_case F_MKV = {"video.mkv", "-c:v mpeg4 -c:a libvorbis", true, "vorbis",
                                  LAG_SEARCH};
static const format_case F_WEBM_VIDEO = {
    "video.webm", "-c:v libvpx -deadline realtime -c:a libopus", true, "opus", MS_LAG};

/* The whole file: length, pitch, phase, scale and metadata. */
static void check_whole(const char *path, const format_case *c)
{
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    if (d.rc != AUDIO_OK)
        print_error("%s: %s\n", path, d.err);
    assert_int_equal(d.rc, AUDIO_OK);
    size_t want = (size_t)(SINE_SECONDS * RATE);
    assert_in_range(d.n, want - LENGTH_TOLERANCE, want + LENGTH_TOLERANCE);
    double zcr = crossings_per_second(d.s, RATE / 10, d.n - RATE / 10);
    assert_true(fabs(zcr - 2 * SINE_HZ) < 0.05 * 2 * SINE_HZ);
    double corr;
    int lag = best_lag(d.s, d.n, d.start, LAG_SEARCH, &corr);
    if (abs(lag) > c->max_lag || corr < 0.95)
        print_error("%s: lag %d samples, correlation %.3f, start %.4f\n", path, lag, corr, d.start);
    assert_true(abs(lag) <= c->max_lag);
    assert_true(corr > 0.95);
    /* Stereo is averaged, not summed: the sine keeps its amplitude. */
    float pk = peak(d.s, d.n);
    assert_true(pk > 0.8 * SINE_AMP && pk < 1.3 * SINE_AMP);
    assert_in_unit_range(d.s, d.n);
    assert_true(d.start >= 0 && d.start < 0.1);
    assert_true(d.src > 2.9 && d.src < 3.1);
    assert_true(d.expected > 2.8 && d.expected < 3.1);
    assert_true(strncmp(d.desc, c->codec, strlen(c->codec)) == 0);
    assert_non_null(strstr(d.desc, "44100 Hz") ? d.desc : strstr(d.desc, "48000 Hz"));
    assert_non_null(strstr(d.desc, "stereo, 00:00:03"));
    free(d.s);
}

/* A window: exact length, starts where asked, in phase with the source. */
static void check_window(const char *path, const format_case *c, double start, double end)
{
    decoded d;
    decode(path, start, end, 1000, &d);
    if (d.rc != AUDIO_OK)
        print_error("%s [%g, %g]: %s\n", path, start, end, d.err);
    assert_int_equal(d.rc, AUDIO_OK);
    size_t want = (size_t)((end - start) * RATE);
    assert_in_range(d.n, want - WINDOW_TOLERANCE, want + WINDOW_TOLERANCE);
    assert_true(fabs(d.start - start) < 0.001);
    assert_true(fabs(d.expected - (end - start)) < 0.01);
    double corr;
    int lag = best_lag(d.s, d.n, d.start, LAG_SEARCH, &corr);
    if (abs(lag) > c->max_lag || corr < 0.95)
        print_error("%s [%g, %g]: lag %d samples, correlation %.3f\n", path, start, end, lag, corr);
    assert_true(abs(lag) <= c->max_lag);
    assert_true(corr > 0.95);
    free(d.s);
}

static void test_format(void **state)
{
    const format_case *c = *state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    if (!make_from_sine(c->file, c->args, c->video, path))
        skip(); /* this ffmpeg lacks the encoder */
    check_whole(path, c);
    /* Inside the pre-roll: decoded from the beginning and dropped. */
    check_window(path, c, 1.0, 2.0);
    /* Far enough in to seek. */
    check_window(path, c, 2.0, 2.5);

    /* A window running past the end stops at the end. */
    decoded d;
    decode(path, 2.0, 10.0, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_in_range(d.n, RATE - LENGTH_TOLERANCE, RATE + LENGTH_TOLERANCE);
    assert_true(fabs(d.expected - (d.src - 2.0)) < 0.01);
    free(d.s);

    /* A window starting after the end has nothing in it. */
    decode(path, 10.0, AUDIO_TIME_UNSET, 4096, &d);
    assert_int_equal(d.rc, AUDIO_ERR_NO_SAMPLES);
    assert_non_null(strstr(d.err, path));
    assert_non_null(strstr(d.err, "no audio in the requested window (starts at 10s, file is "));
    free(d.s);
}

/* ---- other sources ---------------------------------------------------- */

static void test_wav_exact_length(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(ensure_sine(path));
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    /* Lossless and resampler flushed at the end: not a sample lost. */
    assert_in_range(d.n, 48000 - 2, 48000 + 2);
    free(d.s);
}

static void test_chunk_sizes_agree(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(make_from_sine(F_MP3.file, F_MP3.args, false, path));
    decoded a, b, c;
    decode(path, 0.3, 2.7, 4096, &a);
    decode(path, 0.3, 2.7, 1, &b);
    decode(path, 0.3, 2.7, 7919, &c);
    assert_int_equal(a.rc, AUDIO_OK);
    assert_int_equal(b.rc, AUDIO_OK);
    assert_int_equal(c.rc, AUDIO_OK);
    assert_int_equal(a.n, 38400); /* 2.4 s */
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.n, c.n);
    assert_memory_equal(a.s, b.s, a.n * sizeof(float));
    assert_memory_equal(a.s, c.s, a.n * sizeof(float));
    free(a.s);
    free(b.s);
    free(c.s);
}

static void test_read_after_end_and_zero_max(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(ensure_sine(path));
    audio_params p = audio_default_params();
    p.window.start = 1.0;
    p.window.end = 1.5;
    audio_reader *r;
    char err[256];
    assert_int_equal(audio_open(&r, path, &p, err, sizeof err), AUDIO_OK);
    float buf[1024];
    size_t n = 99;
    assert_int_equal(audio_read(r, buf, 0, &n, err, sizeof err), AUDIO_OK);
    assert_int_equal(n, 0);
    size_t total = 0;
    do {
        assert_int_equal(audio_read(r, buf, 1024, &n, err, sizeof err), AUDIO_OK);
        total += n;
    } while (n > 0);
    assert_int_equal(total, 8000);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(audio_read(r, buf, 1024, &n, err, sizeof err), AUDIO_OK);
        assert_int_equal(n, 0);
    }
    assert_int_equal(audio_samples_read(r), 8000);
    audio_close(r);
}

static void test_multichannel_downmix(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    in_dir(path, "six.flac");
    assert_true(sh(FF " -f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 "
                      "-af 'pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0' '%s'",
                   path));
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_in_range(d.n, 2 * RATE - 2, 2 * RATE + 2);
    assert_in_unit_range(d.s, d.n);
    double zcr = crossings_per_second(d.s, RATE / 10, d.n - RATE / 10);
    assert_true(fabs(zcr - 2 * SINE_HZ) < 0.05 * 2 * SINE_HZ);
    assert_non_null(strstr(d.desc, "5.1"));
    free(d.s);
}

static void test_full_scale_stays_in_range(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    /* A full-scale square wave in stereo, through a lossy codec that
     * overshoots: every sample must still be in [-1, 1]. */
    in_dir(path, "loud.mp3");
    assert_true(sh(FF " -f lavfi -i 'aevalsrc=if(lt(mod(t*440\\,1)\\,0.5)\\,1\\,-1):s=44100:d=1' "
                      "-af 'pan=stereo|c0=c0|c1=c0' -c:a libmp3lame '%s'",
                   path));
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_in_unit_range(d.s, d.n);
    assert_true(peak(d.s, d.n) > 0.9f);
    free(d.s);
}

static void test_speech(void **state)
{
    (void)state;
    char wav[PATH_MAX], mp3[PATH_MAX];
    NEED_FFMPEG();
    in_dir(wav, "speech.wav");
    in_dir(mp3, "speech.mp3");
    if (!sh("espeak-ng -w '%s' 'The quick brown fox jumps over the lazy dog.' 2>/dev/null", wav))
        skip();
    assert_true(sh(FF " -i '%s' -c:a libmp3lame '%s'", wav, mp3));
    decoded a, b;
    decode(wav, 0, AUDIO_TIME_UNSET, 4096, &a);
    decode(mp3, 0, AUDIO_TIME_UNSET, 4096, &b);
    assert_int_equal(a.rc, AUDIO_OK);
    assert_int_equal(b.rc, AUDIO_OK);
    assert_non_null(strstr(a.desc, "22050 Hz, mono"));
    /* espeak-ng's wav is exact: its length must survive resampling. */
    assert_true(fabs((double)a.n - a.src * RATE) <= 2);
    assert_true(a.n > RATE);
    assert_in_range(b.n, a.n - LENGTH_TOLERANCE, a.n + LENGTH_TOLERANCE);
    double e = 0;
    for (size_t i = 0; i < b.n; i++)
        e += (double)b.s[i] * b.s[i];
    assert_true(sqrt(e / (double)b.n) > 0.01);
    free(a.s);
    free(b.s);
}

static void test_path_with_colon(void **state)
{
    (void)state;
    char sine[PATH_MAX], odd[PATH_MAX];
    NEED_FFMPEG();
    assert_true(ensure_sine(sine));
    /* FFmpeg would read "http:..." or "a:b" as a protocol; a path is a path. */
    in_dir(odd, "http:odd name.wav");
    assert_true(sh("cp '%s' '%s'", sine, odd));
    decoded d;
    decode(odd, 0, AUDIO_TIME_UNSET, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_in_range(d.n, 48000 - 2, 48000 + 2);
    free(d.s);
}

/* ---- bad input -------------------------------------------------------- */

static void test_missing_file(void **state)
{
    (void)state;
    char path[PATH_MAX], want[PATH_MAX + 64];
    in_dir(path, "no-such-file.wav");
    snprintf(want, sizeof want, "'%s': no such file", path);
    expect_open_error(path, AUDIO_ERR_NOT_FOUND, want);
    in_dir(path, "no-such-dir/x.wav");
    expect_open_error(path, AUDIO_ERR_NOT_FOUND, "no such file");
}

static void test_directory(void **state)
{
    (void)state;
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "'%s' is a directory, not an audio file", g_dir);
    expect_open_error(g_dir, AUDIO_ERR_NOT_FILE, want);
}

static void test_fifo(void **state)
{
    (void)state;
    char path[PATH_MAX];
    in_dir(path, "a-fifo");
    if (mkfifo(path, 0600) != 0)
        skip();
    expect_open_error(path, AUDIO_ERR_NOT_FILE, "is not a regular file");
}

static void test_permission(void **state)
{
    (void)state;
    char path[PATH_MAX], want[PATH_MAX + 64];
    /* root reads any file whatever its mode; the CLI tests cover that case. */
    if (geteuid() == 0)
        skip();
    in_dir(path, "secret.wav");
    write_bytes(path, "RIFF", 4);
    assert_int_equal(chmod(path, 0), 0);
    snprintf(want, sizeof want, "'%s': permission denied", path);
    expect_open_error(path, AUDIO_ERR_PERMISSION, want);
}

static void test_empty_file(void **state)
{
    (void)state;
    char path[PATH_MAX], want[PATH_MAX + 64];
    in_dir(path, "empty.mp3");
    write_bytes(path, "", 0);
    snprintf(want, sizeof want, "'%s' is empty (0 bytes)", path);
    expect_open_error(path, AUDIO_ERR_EMPTY, want);
}

static void test_text_renamed_mp3(void **state)
{
    (void)state;
    char path[PATH_MAX];
    in_dir(path, "notes.mp3");
    const char *text = "Shopping list\n- eggs\n- milk\n- bread\nCall the dentist on Monday.\n";
    write_bytes(path, text, strlen(text));
    expect_open_error(path, AUDIO_ERR_FORMAT, "is not a recognised audio or video file");
}

static void test_repetitive_text_renamed_mp3(void **state)
{
    (void)state;
    char path[PATH_MAX];
    /* Long text that the mp3 demuxer does accept: nothing in it decodes, and
     * that must be an error naming the file, not an empty success. */
    in_dir(path, "hello.mp3");
    size_t n = 100000;
    char *text = malloc(n);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        text[i] = "hello world\n"[i % 12];
    write_bytes(path, text, n);
    free(text);
    audio_reader *r = (audio_reader *)&r;
    char err[512];
    int rc = audio_open(&r, path, NULL, err, sizeof err);
    assert_null(r);
    assert_true(rc == AUDIO_ERR_FORMAT || rc == AUDIO_ERR_CORRUPT);
    assert_non_null(strstr(err, path));
    assert_true(strstr(err, "is not decodable audio") ||
                strstr(err, "is not a recognised audio or video file"));
}

static void test_garbage_wav(void **state)
{
    (void)state;
    char path[PATH_MAX];
    unsigned char junk[20000];
    fill_garbage(junk, sizeof junk, 42);
    in_dir(path, "garbage.wav");
    write_bytes(path, junk, sizeof junk);
    expect_open_error(path, AUDIO_ERR_FORMAT, "is not a recognised audio or video file");
}

static void test_corrupt_header(void **state)
{
    (void)state;
    char sine[PATH_MAX], path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(ensure_sine(sine));
    size_t n;
    unsigned char *b = read_bytes(sine, &n);
    fill_garbage(b, 64, 7); /* the RIFF/fmt header is gone */
    in_dir(path, "bad_header.wav");
    write_bytes(path, b, n);
    free(b);
    expect_open_error(path, AUDIO_ERR_FORMAT, "is not a recognised audio or video file");
}

/* The first part of a file: what is there decodes, as with any player. */
/* Encodes the test sine as c, then writes its first `fraction` of bytes to
 * name in the test directory; the new file's path goes to path. */
static void make_truncated(const format_case *c, const char *name, double fraction,
                           char path[PATH_MAX])
{
    char full[PATH_MAX];
    assert_true(make_from_sine(c->file, c->args, false, full));
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    in_dir(path, name);
    write_bytes(path, b, (size_t)(n * fraction));
    free(b);
}

static void check_truncated(const format_case *c, const char *name, double fraction)
{
    char path[PATH_MAX];
    make_truncated(c, name, fraction, path);
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    /* Not exactly 0.9 s: flac and mp4 spend their first kilobytes on
     * headers and padding. */
    if (d.rc != AUDIO_OK || d.n < 0.2 * RATE || d.n > 1.3 * RATE)
        print_error("%s: %s, %zu samples\n", path, d.err, d.n);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_true(d.n > 0.2 * RATE && d.n < 1.3 * RATE);
    double zcr = crossings_per_second(d.s, RATE / 10, d.n - RATE / 10);
    assert_true(fabs(zcr - 2 * SINE_HZ) < 0.05 * 2 * SINE_HZ);
    free(d.s);
}

/* A file cut short whose header declares its length: an error naming the
 * file, whether found at open (wav's RIFF size) or when the data runs out
 * (flac, mp3 with a Xing frame count, faststart mp4). */
static void check_truncated_rejected(const format_case *c, const char *name, double fraction)
{
    char path[PATH_MAX];
    make_truncated(c, name, fraction, path);
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    if (d.rc != AUDIO_ERR_CORRUPT || !strstr(d.err, "truncated") || !strstr(d.err, path))
        print_error("%s: rc %d: %s\n", path, d.rc, d.err);
    assert_int_equal(d.rc, AUDIO_ERR_CORRUPT);
    assert_non_null(strstr(d.err, "truncated"));
    assert_non_null(strstr(d.err, path));
    free(d.s);
}

static void test_truncated_files_rejected(void **state)
{
    (void)state;
    NEED_FFMPEG();
    check_truncated_rejected(&F_WAV, "trunc.wav", 0.3);
    check_truncated_rejected(&F_MP3, "trunc.mp3", 0.3);
    check_truncated_rejected(&F_FLAC, "trunc.flac", 0.3);
    static const format_case faststart = {"faststart.m4a", "-c:a aac -movflags +faststart", false,
                                          "aac", 1};
    check_truncated_rejected(&faststart, "trunc_faststart.m4a", 0.3);
}

/* Ogg declares no length up front (it is read from the last page), so a
 * cut file is indistinguishable from a short one: decode what is there. */
static void test_truncated_ogg_decodes_what_is_there(void **state)
{
    (void)state;
    NEED_FFMPEG();
    /* vorbis headers (codebooks) fill the first third of this small file */
    check_truncated(&F_OGG, "trunc.ogg", 0.6);
}

static void test_truncated_m4a_without_index(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    /* ffmpeg writes the mp4 index (moov) last: without it nothing can be
     * located, so this is an unreadable file, not a short one. */
    make_truncated(&F_M4A, "trunc.m4a", 0.3, path);
    expect_open_error(path, AUDIO_ERR_FORMAT, "is not a recognised audio or video file");
}

static void test_truncated_inside_header(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    make_truncated(&F_OGG, "header_only.ogg", 0.1, path);
    expect_open_error(path, AUDIO_ERR_FORMAT, "(the file ends inside its header)");
}

static void test_corrupt_middle_skipped(void **state)
{
    (void)state;
    char full[PATH_MAX], path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(make_from_sine(F_MP3.file, F_MP3.args, false, full));
    size_t n;
    unsigned char *b = read_bytes(full, &n);
    fill_garbage(b + n * 4 / 10, n / 10, 99);
    in_dir(path, "middle.mp3");
    write_bytes(path, b, n);
    free(b);
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_true(d.n > 2.0 * RATE && d.n < 3.2 * RATE);
    assert_in_unit_range(d.s, d.n);
    free(d.s);
}

/* A canonical 44-byte wav header announcing `bytes` of 16-bit mono data in
 * the given format (1 = PCM). */
static void wav_header(unsigned char *h, uint16_t format, uint32_t rate, uint32_t bytes)
{
    memcpy(h, "RIFF", 4);
    put32(h + 4, 36 + bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, 16);
    put16(h + 20, format);
    put16(h + 22, 1); /* mono */
    put32(h + 24, rate);
    put32(h + 28, rate * 2);
    put16(h + 32, 2);
    put16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put32(h + 40, bytes);
}

static void test_wav_without_samples(void **state)
{
    (void)state;
    char path[PATH_MAX], want[PATH_MAX + 64];
    unsigned char h[44];
    wav_header(h, 1, 16000, 0);
    in_dir(path, "zero.wav");
    write_bytes(path, h, sizeof h);
    snprintf(want, sizeof want, "'%s' contains no audio samples", path);
    expect_open_error(path, AUDIO_ERR_NO_SAMPLES, want);
}

static void test_crafted_wav_decodes(void **state)
{
    (void)state;
    /* The same header with data: proves the zero-sample case above fails for
     * the right reason. 0.5 s of a 440 Hz sine at 16 kHz: no resampling. */
    char path[PATH_MAX];
    enum { N = 8000 };
    unsigned char file[44 + 2 * N];
    wav_header(file, 1, 16000, 2 * N);
    for (int i = 0; i < N; i++) {
        int16_t v = (int16_t)lrint(8000.0 * sin(2 * M_PI * SINE_HZ * i / 16000.0));
        file[44 + 2 * i] = (unsigned char)(v & 0xff);
        file[45 + 2 * i] = (unsigned char)((uint16_t)v >> 8);
    }
    in_dir(path, "crafted.wav");
    write_bytes(path, file, sizeof file);
    decoded d;
    decode(path, 0, AUDIO_TIME_UNSET, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_int_equal(d.n, N);
    for (int i = 0; i < N; i++)
        assert_true(fabs(d.s[i] - 8000.0 / 32768.0 * sin(2 * M_PI * SINE_HZ * i / 16000.0)) < 1e-3);
    assert_true(strstr(d.desc, "pcm_s16le, 16000 Hz, mono, 00:00:01") == d.desc);
    free(d.s);
}

static void test_unknown_codec(void **state)
{
    (void)state;
    char path[PATH_MAX];
    unsigned char file[44 + 3200] = {0};
    wav_header(file, 0x1234, 16000, 3200); /* a format tag nobody assigned */
    in_dir(path, "unknown_codec.wav");
    write_bytes(path, file, sizeof file);
    expect_open_error(path, AUDIO_ERR_FORMAT,
                      "uses an audio codec FFmpeg does not know (codec tag 0x1234)");
}

static void test_png_renamed_mkv(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    in_dir(path, "picture.mkv");
    assert_true(sh(FF " -f lavfi -i testsrc=size=32x32:duration=0.1 -frames:v 1 -c:v png -f image2 "
                      "'%s'",
                   path));
    expect_open_error(path, AUDIO_ERR_FORMAT, "(it is a png image)");
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_zip_file(void **state)
{
    (void)state;
    /* A valid zip archive with one stored file, built by hand. */
    const char *name = "readme.txt";
    const char *body = "This archive contains no audio at all.\n";
    uint32_t nl = (uint32_t)strlen(name), bl = (uint32_t)strlen(body);
    uint32_t crc = crc32_of((const unsigned char *)body, bl);
    unsigned char z[512];
    size_t o = 0;
    o += put32(z + o, 0x04034b50);
    o += put16(z + o, 10);
    o += put16(z + o, 0);
    o += put16(z + o, 0);
    o += put32(z + o, 0);
    o += put32(z + o, crc);
    o += put32(z + o, bl);
    o += put32(z + o, bl);
    o += put16(z + o, nl);
    o += put16(z + o, 0);
    memcpy(z + o, name, nl);
    o += nl;
    memcpy(z + o, body, bl);
    o += bl;
    size_t central = o;
    o += put32(z + o, 0x02014b50);
    o += put16(z + o, 20);
    o += put16(z + o, 10);
    o += put16(z + o, 0);
    o += put16(z + o, 0);
    o += put32(z + o, 0);
    o += put32(z + o, crc);
    o += put32(z + o, bl);
    o += put32(z + o, bl);
    o += put16(z + o, nl);
    o += put16(z + o, 0);
    o += put16(z + o, 0);
    o += put16(z + o, 0);
    o += put16(z + o, 0);
    o += put32(z + o, 0);
    o += put32(z + o, 0);
    memcpy(z + o, name, nl);
    o += nl;
    size_t central_len = o - central;
    o += put32(z + o, 0x06054b50);
    o += put16(z + o, 0);
    o += put16(z + o, 0);
    o += put16(z + o, 1);
    o += put16(z + o, 1);
    o += put32(z + o, (uint32_t)central_len);
    o += put32(z + o, (uint32_t)central);
    o += put16(z + o, 0);
    char path[PATH_MAX];
    in_dir(path, "archive.zip");
    write_bytes(path, z, o);
    expect_open_error(path, AUDIO_ERR_FORMAT, "is not a recognised audio or video file");
}

static void test_video_without_audio(void **state)
{
    (void)state;
    char path[PATH_MAX], want[PATH_MAX + 64];
    NEED_FFMPEG();
    in_dir(path, "silent_film.mp4");
    assert_true(
        sh(FF " -f lavfi -i testsrc=size=160x120:rate=10:duration=1 -c:v mpeg4 '%s'", path));
    snprintf(want, sizeof want, "'%s' has no audio stream", path);
    expect_open_error(path, AUDIO_ERR_NO_AUDIO, want);
}

static void test_invalid_window_params(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(ensure_sine(path));
    const audio_window bad[] = {{-1, -1}, {2, 1}, {2, 2}, {NAN, -1}, {INFINITY, -1}, {0, NAN}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        audio_params p = audio_default_params();
        p.window = bad[i];
        audio_reader *r = (audio_reader *)&r;
        char err[256] = "";
        assert_int_equal(audio_open(&r, path, &p, err, sizeof err), AUDIO_ERR_RANGE);
        assert_null(r);
        assert_non_null(strstr(err, "invalid time window"));
    }
}

static void test_absurd_start(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(ensure_sine(path));
    const double starts[] = {1e6, 1e15, 1e300};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        decoded d;
        decode(path, starts[i], AUDIO_TIME_UNSET, 4096, &d);
        assert_int_equal(d.rc, AUDIO_ERR_NO_SAMPLES);
        assert_non_null(strstr(d.err, "no audio in the requested window"));
        free(d.s);
    }
}

static void test_null_safety(void **state)
{
    (void)state;
    audio_close(NULL);
    assert_true(audio_expected_duration(NULL) < 0);
    assert_true(audio_source_duration(NULL) < 0);
    assert_string_equal(audio_describe(NULL), "");
    assert_true(audio_window_start(NULL) == 0.0);
    assert_int_equal(audio_samples_read(NULL), 0);
    char err[128];
    size_t n = 7;
    float buf[4];
    assert_int_not_equal(audio_read(NULL, buf, 4, &n, err, sizeof err), AUDIO_OK);
    assert_int_equal(n, 0);
    assert_int_not_equal(audio_open(NULL, "x.wav", NULL, err, sizeof err), AUDIO_OK);
    audio_reader *r = (audio_reader *)&r;
    assert_int_equal(audio_open(&r, NULL, NULL, err, sizeof err), AUDIO_ERR_NOT_FOUND);
    assert_null(r);
    /* A NULL error buffer is allowed too. */
    assert_int_equal(audio_open(&r, "/nonexistent/x.wav", NULL, NULL, 0), AUDIO_ERR_NOT_FOUND);
}

/* ---- long files ------------------------------------------------------- */

/* Resident set size in KiB, from /proc; -1 where unavailable. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* 20 minutes of 8 kHz sine: takes about a second to make and decode. */
static bool ensure_long(const char *name, const char *codec_args, char *path)
{
    in_dir(path, name);
    if (exists(path))
        return true;
    return sh(FF " -f lavfi -i sine=frequency=440:sample_rate=8000:duration=1200 %s '%s'",
              codec_args, path);
}

static void test_memory_flat_on_long_file(void **state)
{
    (void)state;
    char path[PATH_MAX];
    NEED_FFMPEG();
    assert_true(ensure_long("long.flac", "-c:a flac", path));
    audio_reader *r;
    char err[256];
    assert_int_equal(audio_open(&r, path, NULL, err, sizeof err), AUDIO_OK);
    assert_true(fabs(audio_expected_duration(r) - 1200) < 0.01);
    long before = rss_kib(), most = before;
    static float buf[4096];
    size_t n, total = 0, chunks = 0;
    do {
        assert_int_equal(audio_read(r, buf, 4096, &n, err, sizeof err), AUDIO_OK);
        total += n;
        if (++chunks % 256 == 0) {
            long now = rss_kib();
            most = now > most ? now : most;
        }
    } while (n > 0);
    audio_close(r);
    assert_int_equal(total, 1200 * RATE);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's quarantine holds freed blocks, so RSS measures ASan, not us. */
    (void)most;
#else
    if (before > 0) {
        if (most - before >= 30 * 1024)
            print_error("RSS grew by %ld KiB decoding 20 minutes\n", most - before);
        assert_true(most - before < 30 * 1024);
    }
#endif
}

/* A window deep inside a long file: found by seeking, exact to the sample. */
static void check_deep_window(const char *name, const char *codec_args)
{
    char path[PATH_MAX];
    assert_true(ensure_long(name, codec_args, path));
    decoded d;
    decode(path, 600.0, 601.0, 4096, &d);
    assert_int_equal(d.rc, AUDIO_OK);
    assert_int_equal(d.n, RATE);
    assert_true(fabs(d.start - 600.0) < 1e-9);
    double corr;
    int lag = best_lag(d.s, d.n, d.start, LAG_SEARCH, &corr);
    if (lag != 0 || corr < 0.95)
        print_error("%s: lag %d, correlation %.3f\n", path, lag, corr);
    assert_int_equal(lag, 0);
    assert_true(corr > 0.95);
    free(d.s);
}

static void test_seek_deep_into_long_file(void **state)
{
    (void)state;
    NEED_FFMPEG();
    check_deep_window("long.flac", "-c:a flac");
    check_deep_window("long.mp3", "-c:a libmp3lame -b:a 32k");
}

/* ---- fixture ---------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/cesar-test-audio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    g_ffmpeg = sh("ffmpeg -version >/dev/null 2>&1");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_dir[0] && !getenv("CESAR_KEEP_TEST_FILES"))
        sh("rm -rf '%s'", g_dir);
    return 0;
}

#define FORMAT_TEST(name, fc)                                                                      \
    {                                                                                              \
        "decode_" name, test_format, NULL, NULL, (void *)&(fc)                                     \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        FORMAT_TEST("wav", F_WAV),
        FORMAT_TEST("mp3", F_MP3),
        FORMAT_TEST("m4a_aac", F_M4A),
        FORMAT_TEST("ogg_vorbis", F_OGG),
        FORMAT_TEST("opus", F_OPUS),
        FORMAT_TEST("ogg_opus", F_OGG_OPUS),
        FORMAT_TEST("flac", F_FLAC),
        FORMAT_TEST("wma", F_WMA),
        FORMAT_TEST("webm_opus", F_WEBM),
        FORMAT_TEST("mp4_video_aac", F_MP4),
        FORMAT_TEST("mkv_video_vorbis", F_MKV),
        FORMAT_TEST("webm_video_opus", F_WEBM_VIDEO),
        cmocka_unit_test(test_wav_exact_length),
        cmocka_unit_test(test_chunk_sizes_agree),
        cmocka_unit_test(test_read_after_end_and_zero_max),
        cmocka_unit_test(test_multichannel_downmix),
        cmocka_unit_test(test_full_scale_stays_in_range),
        cmocka_unit_test(test_speech),
        cmocka_unit_test(test_path_with_colon),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_permission),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_text_renamed_mp3),
        cmocka_unit_test(test_repetitive_text_renamed_mp3),
        cmocka_unit_test(test_garbage_wav),
        cmocka_unit_test(test_corrupt_header),
        cmocka_unit_test(test_truncated_files_rejected),
        cmocka_unit_test(test_truncated_ogg_decodes_what_is_there),
        cmocka_unit_test(test_truncated_m4a_without_index),
        cmocka_unit_test(test_truncated_inside_header),
        cmocka_unit_test(test_corrupt_middle_skipped),
        cmocka_unit_test(test_wav_without_samples),
        cmocka_unit_test(test_crafted_wav_decodes),
        cmocka_unit_test(test_unknown_codec),
        cmocka_unit_test(test_png_renamed_mkv),
        cmocka_unit_test(test_zip_file),
        cmocka_unit_test(test_video_without_audio),
        cmocka_unit_test(test_invalid_window_params),
        cmocka_unit_test(test_absurd_start),
        cmocka_unit_test(test_null_safety),
        cmocka_unit_test(test_memory_flat_on_long_file),
        cmocka_unit_test(test_seek_deep_into_long_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
