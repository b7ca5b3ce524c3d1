/* test_format_parse: format_parse_json, the inverse of the json rendering.
 *
 * The property that matters to the job server, which stores the json
 * rendering and serves every format from it: for the golden transcripts,
 * parse(render_json(t)) renders in all five formats exactly as t does, and
 * the stored golden .json files read back into the golden .txt .md .srt
 * .vtt. For times off the millisecond grid only json itself is promised to
 * come back unchanged, which is checked separately. Malformed input must
 * fail with a message naming the JSON path, leaving no output behind.
 *
 * The transcripts are the ones test_format.c builds; they are rebuilt here
 * (those builders are static there) and checked against the golden json, so
 * a drift between the two copies fails this test rather than going unseen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

#define GOLDEN_DIR CESAR_SOURCE_DIR "/tests/golden"
#define CREATED 1764112586 /* 2025-11-25 23:16:26 UTC, as in test_format.c */

/* ---- the golden transcripts ------------------------------------------ */

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

static transcript *new_transcript(void)
{
    transcript *t = transcript_new();
    assert_non_null(t);
    return t;
}

static transcript *make_short(void)
{
    transcript *t = new_transcript();
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

/* 400 segments past the hour, with ends that carry when rounded. */
static transcript *make_long(void)
{
    static const double offsets[] = {9.96, 9.94, 9.949, 5.06};
    transcript *t = new_transcript();
    strcpy(t->language, "en");
    t->duration = 4000.0;
    for (int i = 0; i < 400; i++) {
        char text[64];
        snprintf(text, sizeof text, "Segment number %d.", i + 1);
        double start = 10.0 * i;
        double end = i == 5 ? 59.96 : i == 359 ? 3599.96 : start + offsets[i % 4];
        size_t s = add_segment(t, start, end, text);
        if (i == 5 || i == 359 || i == 360) {
            add_word(t, s, start, start + 5.0, "segment", 0.9f);
            add_word(t, s, start + 5.0, end, "number", 0.75f);
        }
    }
    return t;
}

static transcript *make_nonascii(void)
{
    transcript *t = new_transcript();
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

static transcript *make_speakers(void)
{
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
    transcript *t = new_transcript();
    strcpy(t->language, "en");
    t->duration = 35.0;
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

static transcript *make_empty(void)
{
    return new_transcript();
}

typedef struct {
    const char *name;
    transcript *(*make)(void);
    const char *source;
    bool no_model;
    double processing_seconds;
} golden_case;

/* The metas test_format.c renders the goldens with. */
static const golden_case goldens[] = {
    {"short", make_short, "input.wav", false, 1.234},
    {"long", make_long, "long-meeting.mp3", false, 612.5},
    {"nonascii", make_nonascii, "entrevista — Grüße.wav", true, 1.234},
    {"speakers", make_speakers, NULL, false, 1.234},
    {"empty", make_empty, NULL, false, 0.0},
};

static format_meta golden_meta(const golden_case *g)
{
    format_meta m = format_default_meta();
    m.source = g->source;
    m.processing_seconds = g->processing_seconds;
    m.created = CREATED;
    if (g->no_model)
        m.model = NULL;
    return m;
}

/* ---- helpers ------------------------------------------------------------ */

/* Caller frees. */
static char *render(format_kind kind, const transcript *t, const format_meta *m)
{
    util_buf out = UTIL_BUF_INIT(0);
    char err[256] = "";
    int rc = format_render(kind, t, m, &out, err, sizeof err);
    if (rc != FORMAT_OK)
        fail_msg("format_render(%s): %s", format_name(kind), err);
    char *text = util_buf_take(&out);
    assert_non_null(text);
    return text;
}

/* Caller frees; NULL when the file cannot be read. */
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
    char *text = util_buf_take(&b);
    assert_non_null(text);
    return text;
}

/* Fails showing the first line that differs, which a 400-segment rendering
 * needs more than a dump of both texts. */
static void assert_same_text(const char *what, const char *want, const char *got)
{
    if (strcmp(want, got) == 0)
        return;
    size_t i = 0, line = 1, line_start = 0;
    while (want[i] && want[i] == got[i]) {
        if (want[i] == '\n') {
            line++;
            line_start = i + 1;
        }
        i++;
    }
    int wl = (int)strcspn(want + line_start, "\n");
    int gl = (int)strcspn(got + line_start, "\n");
    fail_msg("%s differs at line %zu:\n  want: %.*s\n  got:  %.*s", what, line, wl,
             want + line_start, gl, got + line_start);
}

static transcript *parse_ok(const char *text, format_json_meta *meta)
{
    transcript *t = NULL;
    char err[256] = "";
    int rc = format_parse_json(text, strlen(text), &t, meta, err, sizeof err);
    if (rc != FORMAT_OK)
        fail_msg("format_parse_json: %d: %s", rc, err);
    assert_non_null(t);
    return t;
}

static bool meta_is_zero(const format_json_meta *m)
{
    return !m->engine && !m->model && !m->source && m->processing_seconds == 0.0 && m->created == 0;
}

/* Parses text expecting failure with code and exactly the message want
 * (or, when prefix is true, a message starting with want). Checks that
 * nothing is left in the out-parameters, whatever they held before. */
static void expect_error_impl(const char *text, int code, const char *want, bool prefix)
{
    transcript *t = (transcript *)&t; /* anything but NULL */
    format_json_meta m = {.engine = "junk", .model = "junk", .created = 5};
    char err[512] = "";
    int rc = format_parse_json(text, strlen(text), &t, &m, err, sizeof err);
    if (rc != code)
        fail_msg("want code %d, got %d (%s) for:\n%.300s", code, rc, err, text);
    assert_null(t);
    assert_true(meta_is_zero(&m));
    bool match = prefix ? strncmp(err, want, strlen(want)) == 0 : strcmp(err, want) == 0;
    if (!match)
        fail_msg("want message %s\"%s\"\n got \"%s\"", prefix ? "starting " : "", want, err);
}

static void expect_error(const char *text, const char *want)
{
    expect_error_impl(text, FORMAT_ERR_PARSE, want, false);
}

static void expect_error_prefix(const char *text, const char *want)
{
    expect_error_impl(text, FORMAT_ERR_PARSE, want, true);
}

/* text with its one occurrence of from replaced by to; caller frees. Fails
 * when from is missing or repeated, so a change to the rendering cannot
 * quietly turn a malformed-input test into a test of nothing. */
static char *replace_once(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        fail_msg("'%s' not found in the rendering", from);
    if (strstr(at + 1, from))
        fail_msg("'%s' occurs more than once in the rendering", from);
    util_buf b = UTIL_BUF_INIT(0);
    assert_int_equal(util_buf_append(&b, text, (size_t)(at - text)), UTIL_OK);
    assert_int_equal(util_buf_puts(&b, to), UTIL_OK);
    assert_int_equal(util_buf_puts(&b, at + strlen(from)), UTIL_OK);
    return util_buf_take(&b);
}

/* The short golden's json, the base the malformed inputs are cut from. */
static char *short_json(void)
{
    transcript *t = make_short();
    format_meta m = golden_meta(&goldens[0]);
    char *json = render(FORMAT_JSON, t, &m);
    transcript_free(t);
    return json;
}

static void expect_mutation_error(const char *from, const char *to, const char *want)
{
    char *base = short_json();
    char *bad = replace_once(base, from, to);
    expect_error(bad, want);
    free(bad);
    free(base);
}

/* A minimal document whose "segments" value is segments. */
static char *doc_with_segments(const char *segments)
{
    util_buf b = UTIL_BUF_INIT(0);
    assert_int_equal(
        util_buf_printf(&b,
                        "{\"text\": \"\", \"language\": null, \"duration\": 1.000, "
                        "\"start_time\": 0.000, \"engine\": null, \"model\": null, "
                        "\"source\": null, \"processing_time\": 0.000, \"created\": null, "
                        "\"segments\": %s}",
                        segments),
        UTIL_OK);
    return util_buf_take(&b);
}

static void expect_segments_error(const char *segments, const char *want)
{
    char *doc = doc_with_segments(segments);
    expect_error(doc, want);
    free(doc);
}

/* ---- round trips -------------------------------------------------------- */

/* parse(render_json(t)) renders like t in every format, and gives back the
 * meta it was rendered with. */
static void test_round_trip_goldens(void **state)
{
    (void)state;
    for (size_t g = 0; g < sizeof goldens / sizeof goldens[0]; g++) {
        transcript *t = goldens[g].make();
        format_meta m = golden_meta(&goldens[g]);
        char *json = render(FORMAT_JSON, t, &m);

        /* Ties these builders to test_format.c's through the golden. */
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.json", GOLDEN_DIR, goldens[g].name);
        size_t len = 0;
        char *golden = read_file(path, &len);
        if (!golden)
            fail_msg("cannot read %s", path);
        assert_same_text(path, golden, json);
        free(golden);

        format_json_meta jm;
        transcript *back = parse_ok(json, &jm);
        assert_int_equal(back->n_segments, t->n_segments);
        assert_int_equal(transcript_word_count(back), transcript_word_count(t));
        assert_string_equal(jm.engine, m.engine);
        if (m.model)
            assert_string_equal(jm.model, m.model);
        else
            assert_null(jm.model);
        if (m.source)
            assert_string_equal(jm.source, m.source);
        else
            assert_null(jm.source);
        assert_true(jm.processing_seconds == m.processing_seconds);
        assert_true(jm.created == m.created);

        format_meta view = format_json_meta_view(&jm);
        for (int k = 0; k < FORMAT_COUNT; k++) {
            char *want = render((format_kind)k, t, &m);
            char *got = render((format_kind)k, back, &view);
            char what[128];
            snprintf(what, sizeof what, "%s.%s", goldens[g].name, format_name((format_kind)k));
            assert_same_text(what, want, got);
            free(want);
            free(got);
        }
        format_json_meta_clear(&jm);
        transcript_free(back);
        free(json);
        transcript_free(t);
    }
}

/* The stored golden .json files, read back, render as the golden .txt, .md,
 * .srt and .vtt: the server's path from a stored result to a download. */
static void test_golden_files_read_back(void **state)
{
    (void)state;
    glob_t found;
    assert_int_equal(glob(GOLDEN_DIR "/*.json", 0, NULL, &found), 0);
    assert_true(found.gl_pathc >= sizeof goldens / sizeof goldens[0]);
    for (size_t f = 0; f < found.gl_pathc; f++) {
        const char *json_path = found.gl_pathv[f];
        size_t len = 0;
        char *json = read_file(json_path, &len);
        assert_non_null(json);
        transcript *t = NULL;
        format_json_meta jm;
        char err[256] = "";
        int rc = format_parse_json(json, len, &t, &jm, err, sizeof err);
        if (rc != FORMAT_OK)
            fail_msg("%s: %s", json_path, err);
        format_meta view = format_json_meta_view(&jm);
        for (int k = 0; k < FORMAT_COUNT; k++) {
            char path[1024];
            snprintf(path, sizeof path, "%.*s.%s", (int)(strlen(json_path) - strlen(".json")),
                     json_path, format_name((format_kind)k));
            size_t want_len = 0;
            char *want = read_file(path, &want_len);
            if (!want)
                fail_msg("missing golden %s", path);
            char *got = render((format_kind)k, t, &view);
            assert_same_text(path, want, got);
            free(got);
            free(want);
        }
        format_json_meta_clear(&jm);
        transcript_free(t);
        free(json);
    }
    globfree(&found);
}

/* The largest time_t: a date gmtime cannot show where time_t has 64 bits. */
static time_t time_max(void)
{
    return (time_t)(((uintmax_t)1 << (sizeof(time_t) * CHAR_BIT - 1)) - 1);
}

/* Values off every grid and at every edge json.c knows: times between
 * milliseconds and on half-millisecond ties, non-finite numbers, negative
 * and huge speakers, confidences that are NaN, dyadic ties or near
 * FLT_MAX, control characters. Only json is promised to come back
 * unchanged for these; it must, or a stored result would drift each time
 * the server rewrote it. */
static void test_json_is_a_fixed_point(void **state)
{
    (void)state;
    transcript *t = new_transcript();
    strcpy(t->language, "abcdefghijklmno"); /* the longest that fits */
    t->duration = NAN;
    t->start_time = -0.0001;
    size_t s = add_segment(t, 1.0004, 2.0005, "ctl\x01\x1f \"q\" \\ /");
    t->segments[s].speaker = INT_MAX;
    add_word(t, s, 1.0004, 1.5, "nan", NAN);
    add_word(t, s, 1.5, 1.75, "tie", 0.03125f);
    add_word(t, s, 1.75, 2.0005, "big", 3.0e38f);
    t->segments[s].words[0].speaker = -7;
    t->segments[s].words[1].speaker = 0;
    t->segments[s].words[2].speaker = INT_MAX - 1;
    s = add_segment(t, INFINITY, INFINITY, "infinite");
    t->segments[s].speaker = -3;
    s = add_segment(t, -5.25, -1.0, "negative");
    add_word(t, s, -5.25, -5.2495, "tiny", 0.99995f);
    add_segment(t, 1e15 + 0.125, 1e15 + 0.25, "far away");

    format_meta m = {
        .engine = "e\"n\\gine",
        .model = NULL,
        .source = "line\nbreak",
        .processing_seconds = NAN,
        .created = time_max(),
    };
    char *json = render(FORMAT_JSON, t, &m);
    /* The edges really are in the input, not rendered away beforehand. */
    assert_non_null(strstr(json, "\"created\": null,"));
    assert_non_null(strstr(json, "\"speaker\": \"Speaker 2147483648\","));
    assert_non_null(strstr(json, "\"start\": 1.000,\n      \"end\": 2.001,"));

    format_json_meta jm;
    transcript *back = parse_ok(json, &jm);
    assert_int_equal(back->segments[0].speaker, INT_MAX);
    assert_int_equal(back->segments[0].words[0].speaker, TRANSCRIPT_NO_SPEAKER);
    assert_true(back->segments[0].words[0].confidence == -1.0f);
    assert_int_equal(back->segments[0].words[1].speaker, 0);
    assert_int_equal(back->segments[0].words[2].speaker, INT_MAX - 1);
    assert_int_equal(back->segments[1].speaker, TRANSCRIPT_NO_SPEAKER);
    assert_true(isnan(back->segments[1].start));
    assert_true(isnan(back->duration));
    assert_true(isnan(jm.processing_seconds));
    assert_string_equal(back->language, "abcdefghijklmno");
    assert_string_equal(back->segments[0].text, "ctl\x01\x1f \"q\" \\ /");

    format_meta view = format_json_meta_view(&jm);
    char *again = render(FORMAT_JSON, back, &view);
    assert_same_text("json after one round trip", json, again);

    free(again);
    format_json_meta_clear(&jm);
    transcript_free(back);
    free(json);
    transcript_free(t);
}

/* What the parse holds, read directly rather than through a rendering. */
static void test_values_read_back(void **state)
{
    (void)state;
    size_t len = 0;
    char *json = read_file(GOLDEN_DIR "/speakers.json", &len);
    assert_non_null(json);
    transcript *t = parse_ok(json, NULL);
    assert_string_equal(t->language, "en");
    assert_true(t->duration == 35.0);
    assert_int_equal(t->n_segments, 8);
    assert_int_equal(t->segments[5].speaker, 3); /* "Speaker 4" */
    assert_string_equal(t->segments[5].text, "");
    assert_int_equal(t->segments[3].speaker, TRANSCRIPT_NO_SPEAKER);
    assert_int_equal(t->segments[0].n_words, 2);
    assert_int_equal(t->segments[0].words[1].speaker, 0);
    assert_true(t->segments[0].words[1].confidence == 0.98f);
    assert_true(t->segments[4].end == 18.25);
    transcript_free(t);
    free(json);

    char *base = short_json();
    format_json_meta jm;
    t = parse_ok(base, &jm);
    assert_string_equal(t->segments[1].text, "  Today we talk\nabout   formats.  ");
    assert_true(t->segments[0].words[1].confidence == 0.8125f);
    assert_true(t->segments[0].words[5].confidence == -1.0f);
    assert_true(t->segments[0].start == 0.12);
    assert_string_equal(jm.source, "input.wav");
    assert_true(jm.created == CREATED);
    format_json_meta_clear(&jm);
    transcript_free(t);
    free(base);
}

/* len bounds the input: no terminator is needed, and what follows is not
 * read (here it would make the JSON invalid). */
static void test_len_bounds_the_input(void **state)
{
    (void)state;
    char *base = short_json();
    size_t n = strlen(base);
    char *padded = malloc(n + 3);
    assert_non_null(padded);
    memcpy(padded, base, n);
    memcpy(padded + n, "}}x", 3);
    transcript *t = NULL;
    char err[256] = "";
    assert_int_equal(format_parse_json(padded, n, &t, NULL, err, sizeof err), FORMAT_OK);
    assert_int_equal(t->n_segments, 5);
    transcript_free(t);
    t = NULL;
    assert_int_equal(format_parse_json(padded, n + 1, &t, NULL, err, sizeof err), FORMAT_ERR_PARSE);
    assert_null(t);
    free(padded);
    free(base);
}

/* ---- malformed input ------------------------------------------------- */

static void test_not_json(void **state)
{
    (void)state;
    expect_error("hello", "not valid JSON at line 1, column 5: '[' or '{' expected near 'hello'");
    expect_error("", "not valid JSON at line 1, column 0: '[' or '{' expected near end of file");
    expect_error("[]", "top level: expected an object, found an array");
    char *base = short_json();
    size_t n = strlen(base);
    char *trailing = malloc(n + 2);
    assert_non_null(trailing);
    memcpy(trailing, base, n);
    memcpy(trailing + n, "x", 2);
    expect_error_prefix(trailing, "not valid JSON at line ");
    free(trailing);
    free(base);
}

/* Every cut of a real rendering short of its closing brace fails cleanly
 * (and, under the sanitizers, without touching a byte past the cut). */
static void test_truncated(void **state)
{
    (void)state;
    char *base = short_json();
    size_t whole = (size_t)(strrchr(base, '}') - base) + 1;
    for (size_t cut = 0; cut < whole; cut++) {
        char *part = malloc(cut ? cut : 1);
        assert_non_null(part);
        memcpy(part, base, cut);
        transcript *t = (transcript *)&t;
        char err[256] = "";
        int rc = format_parse_json(part, cut, &t, NULL, err, sizeof err);
        if (rc != FORMAT_ERR_PARSE || t != NULL)
            fail_msg("cut at %zu: code %d, transcript %p (%s)", cut, rc, (void *)t, err);
        if (strncmp(err, "not valid JSON at line ", 23) != 0)
            fail_msg("cut at %zu: message \"%s\"", cut, err);
        free(part);
    }
    /* One cut checked in full: the message places the end of the input. */
    char *mid = strstr(base, "\"today\"");
    assert_non_null(mid);
    *mid = '\0';
    size_t line = 1;
    for (const char *p = base; *p; p++)
        line += *p == '\n';
    char want[64];
    snprintf(want, sizeof want, "not valid JSON at line %zu, column ", line);
    expect_error_prefix(base, want);
    free(base);
}

static void test_wrong_shapes(void **state)
{
    (void)state;
    expect_segments_error("{}", "segments: expected an array, found an object");
    expect_segments_error("[1]", "segments[0]: expected an object, found a number");
    expect_segments_error(
        "[{\"id\": 0, \"start\": 0.000, \"end\": 1.000, \"text\": \"a\", \"speaker\": null,"
        " \"words\": {}}]",
        "segments[0].words: expected an array, found an object");
    expect_segments_error(
        "[{\"id\": 0, \"start\": 0.000, \"end\": 1.000, \"text\": \"a\", \"speaker\": null,"
        " \"words\": [\"a\"]}]",
        "segments[0].words[0]: expected an object, found a string");
    expect_segments_error("[{\"start\": 0.000, \"end\": 1.000, \"text\": \"a\", \"speaker\": "
                          "null}]",
                          "segments[0].words: missing");
    expect_mutation_error("\"duration\": 12.345,\n", "", "duration: missing");
    expect_mutation_error("\"engine\": \"pocketsphinx\"", "\"engine\": 7",
                          "engine: expected a string or null, found a number");
    expect_mutation_error("\"text\": \"Goodbye.\"", "\"text\": null",
                          "segments[4].text: expected a string, found null");
}

static void test_bad_words(void **state)
{
    (void)state;
    expect_mutation_error("{\"start\": 0.500, \"end\": 0.700", "{\"end\": 0.700",
                          "segments[0].words[1].start: missing");
    expect_mutation_error("{\"start\": 0.500,", "{\"start\": \"0.500\",",
                          "segments[0].words[1].start: expected a number or null, found a string");
    expect_mutation_error("\"end\": 0.700,", "\"end\": true,",
                          "segments[0].words[1].end: expected a number or null, found a boolean");
    expect_mutation_error("\"confidence\": 0.9300", "\"confidence\": -0.5",
                          "segments[0].words[0].confidence: -0.5 is out of range "
                          "(0 to 3.40282e+38, or null for none)");
    expect_mutation_error("\"confidence\": 0.9300", "\"confidence\": 1e39",
                          "segments[0].words[0].confidence: 1e+39 is out of range "
                          "(0 to 3.40282e+38, or null for none)");
    expect_mutation_error("\"confidence\": 0.9300", "\"confidence\": \"high\"",
                          "segments[0].words[0].confidence: expected a number or null, "
                          "found a string");
}

/* transcript_add_segment and _add_word refuse an end before the start; the
 * parser reports it at the end it read. */
static void test_end_before_start(void **state)
{
    (void)state;
    expect_mutation_error("\"start\": 10.000,\n      \"end\": 10.000,",
                          "\"start\": 10.000,\n      \"end\": 9.000,",
                          "segments[3].end: 9.000 is before start 10.000");
    expect_mutation_error("{\"start\": 5.200, \"end\": 5.900", "{\"start\": 5.200, \"end\": 5.100",
                          "segments[1].words[0].end: 5.100 is before start 5.200");
    /* Finer than json.c writes: the message still tells them apart. */
    expect_mutation_error("{\"start\": 5.200, \"end\": 5.900",
                          "{\"start\": 5.2002, \"end\": 5.2001",
                          "segments[1].words[0].end: 5.2000999999999999 is before start "
                          "5.2001999999999997");
}

static void test_bad_speakers(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        const char *found;
    } cases[] = {
        {"\"Bob\"", "\"Bob\""},
        {"\"Speaker 0\"", "\"Speaker 0\""},
        {"\"Speaker 01\"", "\"Speaker 01\""},
        {"\"Speaker -1\"", "\"Speaker -1\""},
        {"\"Speaker 2147483649\"", "\"Speaker 2147483649\""},
        {"\"Speaker 99999999999999999999999\"", "\"Speaker 99999999999999999999999\""},
        {"\"speaker 1\"", "\"speaker 1\""},
        {"\"Speaker 1 \"", "\"Speaker 1 \""},
        {"\"Speaker \"", "\"Speaker \""},
        {"\"Sprecher 1 — Grüße\"", "a string of 22 bytes"},
        {"1", "a number"},
        {"[]", "an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char to[128], want[256];
        snprintf(to, sizeof to, "\"text\": \"Goodbye.\",\n      \"speaker\": %s", cases[i].value);
        snprintf(want, sizeof want,
                 "segments[4].speaker: expected \"Speaker N\" (N from 1 to 2147483648) or null, "
                 "found %s",
                 cases[i].found);
        expect_mutation_error("\"text\": \"Goodbye.\",\n      \"speaker\": null", to, want);
    }
    expect_mutation_error("\"text\": \"today\", \"confidence\": null, \"speaker\": null",
                          "\"text\": \"today\", \"confidence\": null, \"speaker\": \"Bob\"",
                          "segments[1].words[0].speaker: expected \"Speaker N\" (N from 1 to "
                          "2147483648) or null, found \"Bob\"");
}

static void test_bad_facts(void **state)
{
    (void)state;
    static const char *dates[] = {
        "2025-02-30T23:16:26Z",        "2025-11-25 23:16:26 UTC", "2025-11-25T23:16:26",
        "02025-11-25T23:16:26Z",       "+2025-11-25T23:16:26Z",   "2025-11-25T24:00:00Z",
        "99999999999-11-25T23:16:26Z", "-11-25T23:16:26Z",        "",
    };
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        char to[128], want[256];
        snprintf(to, sizeof to, "\"created\": \"%s\"", dates[i]);
        snprintf(want, sizeof want,
                 "created: expected a UTC time like \"2025-11-25T23:16:26Z\" or null, found "
                 "\"%s\"",
                 dates[i]);
        expect_mutation_error("\"created\": \"2025-11-25T23:16:26Z\"", to, want);
    }
    expect_mutation_error("\"language\": \"en\"", "\"language\": \"abcdefghijklmnop\"",
                          "language: longer than 15 bytes");
    expect_mutation_error("\"processing_time\": 1.234", "\"processing_time\": \"1.234\"",
                          "processing_time: expected a number or null, found a string");
}

/* What jansson itself refuses comes back as not valid JSON, with its
 * reason. */
static void test_refused_by_jansson(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *reason;
    } cases[] = {
        {"\"language\": \"en\",", "\"language\": \"en\", \"language\": \"fr\",", "duplicate"},
        {"\"Goodbye.\"", "\"Good\\u0000bye.\"", "\\u0000"},
        {"\"Goodbye.\"", "\"Good\377bye.\"", "unable to decode byte 0xff"},
        {"\"duration\": 12.345", "\"duration\": 1e400", "real number overflow"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *base = short_json();
        char *bad = replace_once(base, cases[i].from, cases[i].to);
        expect_error_prefix(bad, "not valid JSON at line ");
        char err[256] = "";
        transcript *t = NULL;
        format_parse_json(bad, strlen(bad), &t, NULL, err, sizeof err);
        if (!strstr(err, cases[i].reason))
            fail_msg("want \"%s\" in \"%s\"", cases[i].reason, err);
        free(bad);
        free(base);
    }
}

/* ---- arguments and meta ------------------------------------------------ */

static void test_bad_arguments(void **state)
{
    (void)state;
    transcript *t = (transcript *)&t;
    format_json_meta m = {.source = "junk"};
    char err[256] = "";
    assert_int_equal(format_parse_json(NULL, 0, &t, &m, err, sizeof err), FORMAT_ERR_INVALID);
    assert_null(t);
    assert_true(meta_is_zero(&m));
    assert_string_equal(err, "format_parse_json: NULL text or output");
    assert_int_equal(format_parse_json("{}", 2, NULL, NULL, err, sizeof err), FORMAT_ERR_INVALID);
    /* No room for a message is fine too. */
    assert_int_equal(format_parse_json("{", 1, &t, NULL, NULL, 0), FORMAT_ERR_PARSE);
    assert_null(t);
}

static void test_meta_clear_and_view(void **state)
{
    (void)state;
    format_json_meta_clear(NULL);
    format_meta v = format_json_meta_view(NULL);
    assert_null(v.engine);
    assert_null(v.model);
    assert_null(v.source);
    assert_true(v.created == 0);

    format_json_meta m = {
        .engine = strdup("e"),
        .model = strdup("m"),
        .source = NULL,
        .processing_seconds = 2.5,
        .created = 42,
    };
    assert_non_null(m.engine);
    assert_non_null(m.model);
    v = format_json_meta_view(&m);
    assert_ptr_equal(v.engine, m.engine);
    assert_ptr_equal(v.model, m.model);
    assert_null(v.source);
    assert_true(v.processing_seconds == 2.5);
    assert_true(v.created == 42);
    format_json_meta_clear(&m);
    assert_true(meta_is_zero(&m));
    format_json_meta_clear(&m); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_goldens),
        cmocka_unit_test(test_golden_files_read_back),
        cmocka_unit_test(test_json_is_a_fixed_point),
        cmocka_unit_test(test_values_read_back),
        cmocka_unit_test(test_len_bounds_the_input),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_shapes),
        cmocka_unit_test(test_bad_words),
        cmocka_unit_test(test_end_before_start),
        cmocka_unit_test(test_bad_speakers),
        cmocka_unit_test(test_bad_facts),
        cmocka_unit_test(test_refused_by_jansson),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_meta_clear_and_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
