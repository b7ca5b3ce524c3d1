/* test_format: renderings compared byte for byte with golden files in
 * tests/golden/, plus the rendering rules a golden would only show by
 * accident (cue clamping, escaping, buffer rollback) and a check with
 * Python's json module that the JSON really is JSON.
 *
 * Transcripts are built in code with a fixed creation time, so output is
 * deterministic. Run with CESAR_UPDATE_GOLDEN=1 to rewrite the goldens
 * instead of comparing — then read every changed golden before committing
 * it: a golden is only as right as the review it got.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "format/format.h"

#define GOLDEN_DIR CESAR_SOURCE_DIR "/tests/golden"
#define CREATED 1764112586 /* 2025-11-25 23:16:26 UTC */

/* ---- transcripts ------------------------------------------------------- */

static size_t add_segment(transcript *t, double start, double end, const char *text)
{
    size_t i = 0;
    assert_int_equal(transcript_add_segment(t, start, end, text, &i), TRANSCRIPT_OK);
    return i;
}

static void add_word(transcript *t, size_t seg, double start, double end, const char *text,
                     float confidence)
{
    assert_int_equal(transcript_add_word(t, seg, start, end, text, confidence), TRANSCRIPT_OK);
}

static format_meta fixed_meta(const char *source)
{
    format_meta m = format_default_meta();
    m.source = source;
    m.processing_seconds = 1.234;
    m.created = CREATED;
    return m;
}

/* A few segments covering the ordinary rules: trimming, a line break inside
 * text, a blank segment (skipped), a zero-length segment (SRT/VTT give it
 * 1 ms), words with and without confidence. */
static transcript *make_short(void)
{
    transcript *t = transcript_new();
    assert_non_null(t);
    strcpy(t->language, "en");
    t->duration = 12.345;
    size_t s = add_segment(t, 0.12, 5.2, "Hello and welcome to the show.");
    add_word(t, s, 0.12, 0.5, "hello", 0.93f);
    add_word(t, s, 0.5, 0.7, "and", 0.8125f);
    add_word(t, s, 0.7, 1.3, "welcome", 0.5f);
    add_word(t, s, 1.3, 1.4, "to", 1.0f);
    add_word(t, s, 1.4, 1.6, "the", 0.0f);
    add_word(t, s, 1.6, 5.2, "show", -1.0f);
    s = add_segment(t, 5.2, 9.94, "  Today we talk\nabout   formats.  ");
    add_word(t, s, 5.2, 5.9, "today", -1.0f);
    add_segment(t, 9.94, 10.0, " \t\n ");
    add_segment(t, 10.0, 10.0, "Zero length.");
    add_segment(t, 10.5, 12.345, "Goodbye.");
    return t;
}

/* Longer than an hour: 400 segments 10 s apart, ending at one of a few
 * offsets so both carries and plain roundings show up. Segment 6 ends at
 * 59.96 s and segment 360 at 3599.96 s (they must print "01:00.0" and
 * "1:00:00.0"); segment 361 starts at exactly 3600 s. No offset lands on a
 * half tenth, so the goldens can be checked by hand. */
static transcript *make_long(void)
{
    static const double offsets[] = {9.96, 9.94, 9.949, 5.06};
    transcript *t = transcript_new();
    assert_non_null(t);
    strcpy(t->language, "en");
    t->duration = 4000.0;
    t->start_time = 0.0;
    for (int i = 0; i < 400; i++) {
        char text[64];
        snprintf(text, sizeof text, "Segment number %d.", i + 1);
        double start = 10.0 * i;
        double end = start + offsets[i % 4];
        if (i == 5)
            end = 59.96;
        else if (i == 359)
            end = 3599.96;
        size_t s = add_segment(t, start, end, text);
        if (i == 5 || i == 359 || i == 360) {
            add_word(t, s, start, start + 5.0, "segment", 0.9f);
            add_word(t, s, start + 5.0, end, "number", 0.75f);
        }
    }
    return t;
}

/* UTF-8 of several scripts and everything some format must escape: JSON
 * quotes and backslashes, WebVTT's & < > and "-->", and a CRLF. No language
 * and no model, to show how absent facts are written. */
static transcript *make_nonascii(void)
{
    transcript *t = transcript_new();
    assert_non_null(t);
    t->duration = 21.5;
    t->start_time = 60.0;
    size_t s = add_segment(
        t, 60.0, 64.5,
        "Ça va? Grüße — 日本語のテキスト, emoji 🎙️, \"quotes\" & <tags>");
    add_word(t, s, 60.0, 60.4, "Ça", 0.5f);
    add_word(t, s, 60.4, 60.9, "Grüße", 0.25f);
    add_word(t, s, 61.0, 62.0, "日本語", -1.0f);
    add_word(t, s, 62.0, 62.5, "\"quotes\"", 0.125f);
    add_segment(t, 64.5, 70.0, "Back\\slash, arrow --> and </v> inside text");
    add_segment(t, 70.0, 81.5, "Line one\r\nline two\ttabbed");
    return t;
}

/* Speakers as a diarizer would set them, including a segment it could not
 * attribute and one empty segment whose speaker must not count. */
static transcript *make_speakers(void)
{
    transcript *t = transcript_new();
    assert_non_null(t);
    strcpy(t->language, "en");
    t->duration = 35.0;
    static const struct {
        double start, end;
        const char *text;
        int speaker;
    } rows[] = {
        {0.0, 4.0, "Good morning, everyone.", 0},
        {4.0, 7.5, "Let us begin with the budget.", 0},
        {7.5, 12.0, "Thanks. The numbers are in.", 1},
        {12.0, 14.0, "(inaudible)", -1},
        {14.0, 18.25, "As I was saying, they are in.", 1},
        {18.25, 19.0, "", 3},
        {19.0, 25.0, "Can I add something?", 2},
        {25.0, 35.0, "Please do, and then we wrap up.", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t s = add_segment(t, rows[i].start, rows[i].end, rows[i].text);
        t->segments[s].speaker = rows[i].speaker;
    }
    add_word(t, 0, 0.0, 1.0, "good", 0.99f);
    add_word(t, 0, 1.0, 2.0, "morning", 0.98f);
    t->segments[0].words[0].speaker = 0;
    t->segments[0].words[1].speaker = 0;
    return t;
}

/* ---- golden comparison -------------------------------------------------- */

static bool update_mode(void)
{
    const char *v = getenv("CESAR_UPDATE_GOLDEN");
    return v && strcmp(v, "1") == 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    util_buf b = UTIL_BUF_INIT(0);
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        assert_int_equal(util_buf_append(&b, chunk, got), UTIL_OK);
    fclose(fp);
    *len = b.len;
    return util_buf_take(&b);
}

/* Prints the first difference by line, which is what a reviewer needs. */
static void report_mismatch(const char *path, const char *want, size_t want_len, const char *got,
                            size_t got_len)
{
    size_t i = 0, line = 1, line_start = 0;
    while (i < want_len && i < got_len && want[i] == got[i]) {
        if (want[i] == '\n') {
            line++;
            line_start = i + 1;
        }
        i++;
    }
    const char *we = memchr(want + line_start, '\n', want_len - line_start);
    const char *ge = memchr(got + line_start, '\n', got_len - line_start);
    int wl = (int)(we ? (size_t)(we - want) - line_start : want_len - line_start);
    int gl = (int)(ge ? (size_t)(ge - got) - line_start : got_len - line_start);
    print_error("%s differs at line %zu (byte %zu; golden %zu bytes, rendered %zu):\n"
                "  golden:   %.*s\n  rendered: %.*s\n(CESAR_UPDATE_GOLDEN=1 rewrites goldens)\n",
                path, line, i, want_len, got_len, wl, want + line_start, gl, got + line_start);
}

static void check_golden(const char *name, const transcript *t, const format_meta *meta)
{
    for (int k = 0; k < FORMAT_COUNT; k++) {
        util_buf out = UTIL_BUF_INIT(0);
        char err[256] = "";
        assert_int_equal(format_render((format_kind)k, t, meta, &out, err, sizeof err), FORMAT_OK);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.%s", GOLDEN_DIR, name, format_name((format_kind)k));
        if (update_mode()) {
            assert_int_equal(
                util_write_file_atomic(path, out.data ? out.data : "", out.len, err, sizeof err),
                UTIL_OK);
            fprintf(stderr, "note: rewrote golden %s (%zu bytes); review it by eye\n", path,
                    out.len);
        } else {
            size_t len = 0;
            char *want = read_file(path, &len);
            const char *got = out.data ? out.data : "";
            bool same = want && len == out.len && memcmp(want, got, len) == 0;
            if (!want)
                print_error("missing golden %s (CESAR_UPDATE_GOLDEN=1 creates it)\n", path);
            else if (!same)
                report_mismatch(path, want, len, got, out.len);
            free(want);
            if (!same) {
                util_buf_free(&out);
                fail();
            }
        }
        util_buf_free(&out);
    }
}

static void test_golden_short(void **state)
{
    (void)state;
    transcript *t = make_short();
    format_meta m = fixed_meta("input.wav");
    check_golden("short", t, &m);
    transcript_free(t);
}

static void test_golden_long(void **state)
{
    (void)state;
    transcript *t = make_long();
    format_meta m = fixed_meta("long-meeting.mp3");
    m.processing_seconds = 612.5;
    check_golden("long", t, &m);
    transcript_free(t);
}

static void test_golden_nonascii(void **state)
{
    (void)state;
    transcript *t = make_nonascii();
    format_meta m = fixed_meta("entrevista — Grüße.wav");
    m.model = NULL;
    check_golden("nonascii", t, &m);
    transcript_free(t);
}

static void test_golden_speakers(void **state)
{
    (void)state;
    transcript *t = make_speakers();
    format_meta m = fixed_meta(NULL);
    check_golden("speakers", t, &m);
    transcript_free(t);
}

static void test_golden_empty(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    assert_non_null(t);
    format_meta m = fixed_meta(NULL);
    m.processing_seconds = 0.0;
    check_golden("empty", t, &m);
    transcript_free(t);
}

/* ---- rendering rules ---------------------------------------------------- */

/* Renders kind into a fresh string; caller frees. */
static char *render(format_kind kind, const transcript *t, const format_meta *m)
{
    util_buf out = UTIL_BUF_INIT(0);
    char err[256] = "";
    int rc = format_render(kind, t, m, &out, err, sizeof err);
    if (rc != FORMAT_OK)
        fail_msg("format_render(%s): %s", format_name(kind), err);
    return util_buf_take(&out);
}

/* Minute and second fields are two digits after a colon; none may be 60 or
 * more. (Hours are unbounded but come before the first colon.) */
static void assert_no_sixty(const char *text, const char *what)
{
    for (const char *p = text; (p = strchr(p, ':')) != NULL; p++) {
        if (p[1] >= '6' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9')
            fail_msg("%s: field >= 60 near: %.20s", what, p > text + 10 ? p - 10 : text);
    }
}

static void test_no_sixty_anywhere(void **state)
{
    (void)state;
    transcript *t = make_long();
    format_meta m = fixed_meta(NULL);
    char *vtt = render(FORMAT_VTT, t, &m);
    assert_no_sixty(vtt, "vtt");
    free(vtt);
    char *md = render(FORMAT_MD, t, &m);
    assert_no_sixty(md, "md");
    assert_non_null(strstr(md, "\n[00:50.0 - 01:00.0]\n"));
    assert_non_null(strstr(md, "\n[59:50.0 - 1:00:00.0]\n"));
    assert_non_null(strstr(md, "\n[1:00:00.0 - 1:00:10.0]\n"));
    assert_non_null(strstr(md, "**Duration:** 1:06:40\n"));
    free(md);
    char *srt = render(FORMAT_SRT, t, &m);
    assert_no_sixty(srt, "srt");
    assert_non_null(strstr(srt, "\n360\n00:59:50,000 --> 00:59:59,960\n"));
    assert_non_null(strstr(srt, "\n361\n01:00:00,000 --> 01:00:09,960\n"));
    free(srt);
    transcript_free(t);
}

static void test_srt_numbering_and_clamp(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    add_segment(t, 0.0, 1.0, "");
    add_segment(t, 1.0004, 1.0004, "instant");
    /* Distinct in seconds, equal once rounded to milliseconds. */
    add_segment(t, 2.0001, 2.0004, "rounded together");
    add_segment(t, 3.0, 4.0, "   ");
    add_segment(t, 4.0, 5.0, "last");
    char *srt = render(FORMAT_SRT, t, NULL);
    assert_string_equal(srt, "1\n00:00:01,000 --> 00:00:01,001\ninstant\n\n"
                             "2\n00:00:02,000 --> 00:00:02,001\nrounded together\n\n"
                             "3\n00:00:04,000 --> 00:00:05,000\nlast\n\n");
    free(srt);
    char *vtt = render(FORMAT_VTT, t, NULL);
    assert_string_equal(vtt, "WEBVTT\n\n"
                             "00:00:01.000 --> 00:00:01.001\ninstant\n\n"
                             "00:00:02.000 --> 00:00:02.001\nrounded together\n\n"
                             "00:00:04.000 --> 00:00:05.000\nlast\n\n");
    free(vtt);
    transcript_free(t);
}

static void test_vtt_escapes_and_speakers(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    size_t s = add_segment(t, 0.0, 1.0, "a<b && c>d --> e");
    t->segments[s].speaker = 1;
    char *vtt = render(FORMAT_VTT, t, NULL);
    assert_string_equal(vtt, "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n"
                             "<v Speaker 2>a&lt;b &amp;&amp; c&gt;d --&gt; e\n\n");
    free(vtt);
    char *srt = render(FORMAT_SRT, t, NULL);
    assert_string_equal(srt, "1\n00:00:00,000 --> 00:00:01,000\n[Speaker 2] a<b && c>d --> e\n\n");
    free(srt);
    char *txt = render(FORMAT_TXT, t, NULL);
    assert_string_equal(txt, "Speaker 2: a<b && c>d --> e\n");
    free(txt);
    transcript_free(t);
}

static void test_md_collapses_line_breaks(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    add_segment(t, 0.0, 2.0, "\n\nfirst\r\n\r\nsecond\n");
    format_meta m = fixed_meta(NULL);
    m.engine = NULL;
    char *md = render(FORMAT_MD, t, &m);
    assert_string_equal(md, "# Transcript\n\n"
                            "**Duration:** 00:00\n"
                            "**Created:** 2025-11-25 23:16:26 UTC\n\n"
                            "---\n\n"
                            "[00:00.0 - 00:02.0]\nfirst second\n");
    free(md);
    transcript_free(t);
}

static void test_json_edge_values(void **state)
{
    (void)state;
    transcript *t = transcript_new();
    size_t s = add_segment(t, 0.0, 1.0, "ctl\x01\x1f and \"q\" \\ /");
    add_word(t, s, 0.0, 0.5, "nan", NAN);
    add_word(t, s, 0.5, 1.0, "tiny", 0.00004f);
    t->duration = NAN;
    t->start_time = -0.0001; /* would print "-0.000" */
    format_meta m = fixed_meta(NULL);
    m.engine = NULL;
    char *json = render(FORMAT_JSON, t, &m);
    assert_non_null(strstr(json, "\"text\": \"ctl\\u0001\\u001f and \\\"q\\\" \\\\ /\",\n"));
    assert_non_null(strstr(json, "\"duration\": null,\n"));
    assert_non_null(strstr(json, "\"start_time\": 0.000,\n"));
    assert_non_null(strstr(json, "\"engine\": null,\n"));
    assert_non_null(strstr(json, "\"language\": null,\n"));
    assert_non_null(strstr(json, "\"text\": \"nan\", \"confidence\": null,"));
    assert_non_null(strstr(json, "\"text\": \"tiny\", \"confidence\": 0.0000,"));
    free(json);
    transcript_free(t);
}

static void test_render_appends_and_rolls_back(void **state)
{
    (void)state;
    transcript *t = make_short();
    format_meta m = fixed_meta(NULL);
    util_buf out = UTIL_BUF_INIT(0);
    char err[256] = "";
    assert_int_equal(util_buf_puts(&out, "prefix|"), UTIL_OK);
    assert_int_equal(format_render(FORMAT_TXT, t, &m, &out, err, sizeof err), FORMAT_OK);
    assert_string_equal(out.data, "prefix|Hello and welcome to the show.\n"
                                  "Today we talk about formats.\nZero length.\nGoodbye.\n");
    util_buf_free(&out);

    /* Too small a cap: the error says so and the buffer is as before. */
    util_buf small = UTIL_BUF_INIT(64);
    assert_int_equal(util_buf_puts(&small, "keep"), UTIL_OK);
    for (int k = 0; k < FORMAT_COUNT; k++) {
        err[0] = '\0';
        assert_int_equal(format_render((format_kind)k, t, &m, &small, err, sizeof err),
                         FORMAT_ERR_TOO_LARGE);
        assert_true(err[0] != '\0');
        assert_int_equal(small.len, 4);
        assert_string_equal(small.data, "keep");
    }
    util_buf_free(&small);
    transcript_free(t);
}

static void test_render_bad_arguments(void **state)
{
    (void)state;
    transcript *t = make_short();
    util_buf out = UTIL_BUF_INIT(0);
    char err[256] = "";
    assert_int_equal(format_render(FORMAT_COUNT, t, NULL, &out, err, sizeof err),
                     FORMAT_ERR_UNKNOWN);
    assert_true(err[0] != '\0');
    assert_int_equal(format_render((format_kind)-1, t, NULL, &out, NULL, 0), FORMAT_ERR_UNKNOWN);
    assert_int_equal(format_render(FORMAT_TXT, NULL, NULL, &out, err, sizeof err),
                     FORMAT_ERR_INVALID);
    assert_int_equal(format_render(FORMAT_TXT, t, NULL, NULL, err, sizeof err), FORMAT_ERR_INVALID);
    assert_int_equal(out.len, 0);
    util_buf_free(&out);
    transcript_free(t);
}

static void test_default_meta(void **state)
{
    (void)state;
    time_t before = time(NULL);
    format_meta m = format_default_meta();
    time_t after = time(NULL);
    assert_string_equal(m.engine, "pocketsphinx");
    assert_string_equal(m.model, "en-us");
    assert_null(m.source);
    assert_true(m.processing_seconds == 0.0);
    assert_true(m.created >= before && m.created <= after);
    /* NULL meta means these defaults. */
    transcript *t = make_short();
    char *json = render(FORMAT_JSON, t, NULL);
    assert_non_null(strstr(json, "\"pocketsphinx\""));
    assert_non_null(strstr(json, "\"en-us\""));
    free(json);
    transcript_free(t);
}

/* ---- JSON validity ------------------------------------------------------ */

static bool have_python(void)
{
    return system("python3 -c pass >/dev/null 2>&1") == 0;
}

/* Feeds json to Python, which parses it strictly (no NaN/Infinity), checks
 * the key order and the segment count, and exits non-zero otherwise. */
static void check_json_with_python(const char *json, size_t n_segments)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c '"
             "import json, sys\n"
             "def bad(c): raise ValueError(c)\n"
             "d = json.load(sys.stdin, parse_constant=bad)\n"
             "keys = [\"text\", \"language\", \"duration\", \"start_time\", \"engine\", "
             "\"model\", \"source\", \"processing_time\", \"created\", \"segments\"]\n"
             "assert list(d) == keys, list(d)\n"
             "assert len(d[\"segments\"]) == %zu\n"
             "for i, s in enumerate(d[\"segments\"]):\n"
             "    assert list(s) == [\"id\", \"start\", \"end\", \"text\", \"speaker\", "
             "\"words\"], list(s)\n"
             "    assert s[\"id\"] == i\n"
             "    for w in s[\"words\"]:\n"
             "        assert list(w) == [\"start\", \"end\", \"text\", \"confidence\", "
             "\"speaker\"]\n"
             "'",
             n_segments);
    FILE *p = popen(cmd, "w");
    assert_non_null(p);
    fwrite(json, 1, strlen(json), p);
    int status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("python3 rejected the JSON (status %d):\n%.2000s", status, json);
}

static void test_json_valid(void **state)
{
    (void)state;
    if (!have_python())
        skip();
    transcript *(*makers[])(void) = {make_short, make_long, make_nonascii, make_speakers};
    for (size_t i = 0; i < sizeof makers / sizeof makers[0]; i++) {
        transcript *t = makers[i]();
        format_meta m = fixed_meta("a \"quoted\"\\name\n.wav");
        char *json = render(FORMAT_JSON, t, &m);
        check_json_with_python(json, t->n_segments);
        free(json);
        transcript_free(t);
    }
    transcript *empty = transcript_new();
    char *json = render(FORMAT_JSON, empty, NULL);
    check_json_with_python(json, 0);
    free(json);
    transcript_free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_short),
        cmocka_unit_test(test_golden_long),
        cmocka_unit_test(test_golden_nonascii),
        cmocka_unit_test(test_golden_speakers),
        cmocka_unit_test(test_golden_empty),
        cmocka_unit_test(test_no_sixty_anywhere),
        cmocka_unit_test(test_srt_numbering_and_clamp),
        cmocka_unit_test(test_vtt_escapes_and_speakers),
        cmocka_unit_test(test_md_collapses_line_breaks),
        cmocka_unit_test(test_json_edge_values),
        cmocka_unit_test(test_render_appends_and_rolls_back),
        cmocka_unit_test(test_render_bad_arguments),
        cmocka_unit_test(test_default_meta),
        cmocka_unit_test(test_json_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
