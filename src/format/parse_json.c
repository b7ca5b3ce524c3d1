/* parse_json: the inverse of json.c — reads the text format_render(FORMAT_JSON)
 * wrote back into a transcript and the run's facts, so the job server can
 * store one rendering per job and still serve every format from it.
 *
 * Invariant: for text json.c wrote, rendering the parse as json gives the
 * same text byte for byte. Times and confidences come back as the decimals
 * json.c printed (three and four places), so the other formats match the
 * original transcript's renderings whenever its times were whole
 * milliseconds; finer times come back rounded to the millisecond.
 *
 * The parser is strict about what json.c always writes — every key present,
 * each with its type, speakers only in the exact "Speaker N" form — and names
 * the JSON path of the first problem, because a stored result that does not
 * read back is corruption someone has to find. Keys it does not know are
 * ignored, so a later renderer may add facts without breaking old servers.
 * The top-level "text" and each segment's "id" are not read at all: they are
 * derived, and rendering recomputes them.
 */
#include "format/render.h"

#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for the longest path a message names,
 * "segments[N].words[N].confidence", with 20-digit indices. */
#define JSON_PATH_LEN 96

/* Longest string value echoed in a message; longer ones are only described,
 * so a message never carries a huge or cut-in-half value. */
#define ECHO_MAX 32

/* "-MM-DDTHH:MM:SSZ": what follows the year in a "created" date. */
#define DATE_TAIL "-NN-NNTNN:NN:NNZ"
#define DATE_TAIL_LEN (sizeof DATE_TAIL - 1)
/* Digits a year may have: more than an int's tm_year can hold, and few
 * enough that strtoll cannot overflow. */
#define YEAR_DIGITS_MAX 11

/* json.c writes null for a date gmtime cannot represent. The largest time_t
 * is such a date wherever time_t has 64 bits (its year overflows an int), so
 * it stands in for null and renders back as null. time_t is a signed
 * integer type on every POSIX system. */
#define CREATED_UNKNOWN ((time_t)(((uintmax_t)1 << (sizeof(time_t) * CHAR_BIT - 1)) - 1))

static int parse_error(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Every malformed-input message is "path: what is wrong". */
static int parse_error(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return util_errf(err, errlen, FORMAT_ERR_PARSE, "%s: %s", path, what);
}

static int nomem(char *err, size_t errlen)
{
    return util_errf(err, errlen, FORMAT_ERR_NOMEM, "out of memory reading a JSON transcript");
}

/* For "expected X, found Y" messages. */
static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown value";
}

/* s quoted when it is short printable ASCII, else a description: the
 * message may end up in an HTTP response, and a value cut at ECHO_MAX
 * bytes could split a UTF-8 sequence. */
static void echo_string(const char *s, char *buf, size_t n)
{
    size_t len = strlen(s);
    bool plain = len <= ECHO_MAX;
    for (size_t i = 0; plain && i < len; i++)
        plain = s[i] >= 0x20 && s[i] < 0x7f;
    if (plain)
        snprintf(buf, n, "\"%s\"", s);
    else
        snprintf(buf, n, "a string of %zu bytes", len);
}

/* A time for a message: three decimals like json.c when that shows the
 * value exactly, else every digit, so "1.0001 is before 1.0002" never reads
 * as "1.000 is before 1.000". */
static void show_number(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%.3f", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, n, "%.17g", v);
}

/* obj[key], with its path (parent.key, or key at the top) in path. */
static int lookup(const json_t *obj, const char *parent, const char *key, char *path,
                  json_t **value, char *err, size_t errlen)
{
    if (parent[0])
        snprintf(path, JSON_PATH_LEN, "%s.%s", parent, key);
    else
        snprintf(path, JSON_PATH_LEN, "%s", key);
    *value = json_object_get(obj, key);
    if (!*value)
        return parse_error(err, errlen, path, "missing");
    return FORMAT_OK;
}

/* A number; null reads as NaN, because json.c writes null for whatever is
 * not finite and NaN renders as null again. */
static int read_number(const json_t *obj, const char *parent, const char *key, double *out,
                       char *err, size_t errlen)
{
    char path[JSON_PATH_LEN];
    json_t *v;
    int rc = lookup(obj, parent, key, path, &v, err, errlen);
    if (rc != FORMAT_OK)
        return rc;
    if (json_is_null(v)) {
        *out = NAN;
        return FORMAT_OK;
    }
    if (!json_is_number(v))
        return parse_error(err, errlen, path, "expected a number or null, found %s", kind_of(v));
    *out = json_number_value(v);
    return FORMAT_OK;
}

/* A string, borrowed from the parsed document; null reads as NULL when
 * nullable. jansson has already refused invalid UTF-8 and \u0000, so the
 * result is a whole C string. */
static int read_string(const json_t *obj, const char *parent, const char *key, bool nullable,
                       const char **out, char *err, size_t errlen)
{
    char path[JSON_PATH_LEN];
    json_t *v;
    int rc = lookup(obj, parent, key, path, &v, err, errlen);
    if (rc != FORMAT_OK)
        return rc;
    if (nullable && json_is_null(v)) {
        *out = NULL;
        return FORMAT_OK;
    }
    if (!json_is_string(v))
        return parse_error(err, errlen, path, "expected a string%s, found %s",
                           nullable ? " or null" : "", kind_of(v));
    *out = json_string_value(v);
    return FORMAT_OK;
}

/* "Speaker N" back to the index N - 1, undoing format__speaker_number. Only
 * the form json.c writes is accepted (N >= 1, no sign, no leading zero), so
 * every accepted string renders back as itself. */
static bool speaker_index(const char *s, int *index)
{
    static const char prefix[] = "Speaker ";
    if (strncmp(s, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *d = s + sizeof prefix - 1;
    if (*d < '1' || *d > '9')
        return false;
    long long n = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return false;
        n = n * 10 + (*d - '0');
        /* Checked at every digit, so n never gets near overflowing. */
        if (n > (long long)INT_MAX + 1)
            return false;
    }
    *index = (int)(n - 1);
    return true;
}

/* A speaker: "Speaker N", or null for TRANSCRIPT_NO_SPEAKER. */
static int read_speaker(const json_t *obj, const char *parent, int *out, char *err, size_t errlen)
{
    char path[JSON_PATH_LEN];
    json_t *v;
    int rc = lookup(obj, parent, "speaker", path, &v, err, errlen);
    if (rc != FORMAT_OK)
        return rc;
    if (json_is_null(v)) {
        *out = TRANSCRIPT_NO_SPEAKER;
        return FORMAT_OK;
    }
    if (json_is_string(v) && speaker_index(json_string_value(v), out))
        return FORMAT_OK;
    char found[ECHO_MAX + 32];
    if (json_is_string(v))
        echo_string(json_string_value(v), found, sizeof found);
    else
        snprintf(found, sizeof found, "%s", kind_of(v));
    return parse_error(err, errlen, path,
                       "expected \"Speaker N\" (N from 1 to %lld) or null, found %s",
                       format__speaker_number(INT_MAX), found);
}

/* A confidence: null is "none given" (-1), which is how json.c writes a
 * negative or NaN one. A number must fit a float: converting one that does
 * not is undefined behaviour. */
static int read_confidence(const json_t *obj, const char *parent, float *out, char *err,
                           size_t errlen)
{
    char path[JSON_PATH_LEN];
    json_t *v;
    int rc = lookup(obj, parent, "confidence", path, &v, err, errlen);
    if (rc != FORMAT_OK)
        return rc;
    if (json_is_null(v)) {
        *out = -1.0f;
        return FORMAT_OK;
    }
    if (!json_is_number(v))
        return parse_error(err, errlen, path, "expected a number or null, found %s", kind_of(v));
    double c = json_number_value(v);
    if (!(c >= 0 && c <= FLT_MAX))
        return parse_error(err, errlen, path, "%g is out of range (0 to %g, or null for none)", c,
                           (double)FLT_MAX);
    *out = (float)c;
    return FORMAT_OK;
}

/* Parses "[-]YYYY-MM-DDTHH:MM:SSZ" (the year as strftime's %Y writes it) as
 * UTC. Accepted only when formatting the result again gives the same text,
 * which rejects "2025-02-30" (timegm would quietly make it March 2) and any
 * spelling json.c would not have written. */
static bool parse_utc(const char *s, time_t *out)
{
    size_t len = strlen(s);
    if (len <= DATE_TAIL_LEN)
        return false;
    size_t year_len = len - DATE_TAIL_LEN;
    const char *tail = s + year_len;
    size_t digits_from = s[0] == '-' ? 1 : 0;
    if (year_len <= digits_from || year_len - digits_from > YEAR_DIGITS_MAX)
        return false;
    for (size_t i = digits_from; i < year_len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    for (size_t i = 0; i < DATE_TAIL_LEN; i++) {
        bool digit = tail[i] >= '0' && tail[i] <= '9';
        if (DATE_TAIL[i] == 'N' ? !digit : tail[i] != DATE_TAIL[i])
            return false;
    }
    long long year = strtoll(s, NULL, 10);
    if (year - 1900 < INT_MIN || year - 1900 > INT_MAX)
        return false;
#define TWO_DIGITS(at) ((tail[at] - '0') * 10 + (tail[(at) + 1] - '0'))
    struct tm tm = {
        .tm_year = (int)(year - 1900),
        .tm_mon = TWO_DIGITS(1) - 1,
        .tm_mday = TWO_DIGITS(4),
        .tm_hour = TWO_DIGITS(7),
        .tm_min = TWO_DIGITS(10),
        .tm_sec = TWO_DIGITS(13),
    };
#undef TWO_DIGITS
    /* timegm's -1 is also a real second (1969-12-31T23:59:59Z); the
     * comparison below tells a failure from that date. */
    time_t t = timegm(&tm);
    char again[64];
    if (!format__utc_text(t, true, again, sizeof again) || strcmp(again, s) != 0)
        return false;
    *out = t;
    return true;
}

static int read_created(const json_t *root, time_t *out, char *err, size_t errlen)
{
    const char *text = NULL;
    int rc = read_string(root, "", "created", true, &text, err, errlen);
    if (rc != FORMAT_OK)
        return rc;
    if (!text) {
        *out = CREATED_UNKNOWN;
        return FORMAT_OK;
    }
    if (parse_utc(text, out))
        return FORMAT_OK;
    char found[ECHO_MAX + 32];
    echo_string(text, found, sizeof found);
    return parse_error(err, errlen, "created",
                       "expected a UTC time like \"2025-11-25T23:16:26Z\" or null, found %s",
                       found);
}

/* Copies a borrowed string (NULL stays NULL) into *dst. */
static int keep_string(const char *src, char **dst, char *err, size_t errlen)
{
    *dst = util_strdup(src);
    return src && !*dst ? nomem(err, errlen) : FORMAT_OK;
}

/* The facts before "segments": language, duration and start time go into
 * the transcript, the rest into m. */
static int read_facts(const json_t *root, transcript *t, format_json_meta *m, char *err,
                      size_t errlen)
{
    const char *language = NULL, *engine = NULL, *model = NULL, *source = NULL;
    int rc = read_string(root, "", "language", true, &language, err, errlen);
    /* transcript.language is a fixed array that the rest of Cesar reads as a
     * C string, so it must keep its terminator. */
    if (rc == FORMAT_OK && language && strlen(language) >= sizeof t->language)
        rc = parse_error(err, errlen, "language", "longer than %zu bytes", sizeof t->language - 1);
    if (rc == FORMAT_OK && language)
        util_strlcpy(t->language, language, sizeof t->language);
    if (rc == FORMAT_OK)
        rc = read_number(root, "", "duration", &t->duration, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_number(root, "", "start_time", &t->start_time, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_string(root, "", "engine", true, &engine, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_string(root, "", "model", true, &model, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_string(root, "", "source", true, &source, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_number(root, "", "processing_time", &m->processing_seconds, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_created(root, &m->created, err, errlen);
    if (rc == FORMAT_OK)
        rc = keep_string(engine, &m->engine, err, errlen);
    if (rc == FORMAT_OK)
        rc = keep_string(model, &m->model, err, errlen);
    if (rc == FORMAT_OK)
        rc = keep_string(source, &m->source, err, errlen);
    return rc;
}

/* Turns a refusal from transcript_add_segment/_word into a message at
 * path.end: with the text known to be non-NULL, end before start is the only
 * thing they refuse. */
static int added(int trc, const char *path, double start, double end, char *err, size_t errlen)
{
    if (trc == TRANSCRIPT_OK)
        return FORMAT_OK;
    if (trc == TRANSCRIPT_ERR_NOMEM)
        return nomem(err, errlen);
    char end_path[JSON_PATH_LEN + 8], a[40], b[40];
    snprintf(end_path, sizeof end_path, "%s.end", path);
    show_number(end, a, sizeof a);
    show_number(start, b, sizeof b);
    return parse_error(err, errlen, end_path, "%s is before start %s", a, b);
}

static int read_word(const json_t *w, const char *path, transcript *t, size_t seg, char *err,
                     size_t errlen)
{
    if (!json_is_object(w))
        return parse_error(err, errlen, path, "expected an object, found %s", kind_of(w));
    double start = 0, end = 0;
    const char *text = NULL;
    float confidence = -1.0f;
    int speaker = TRANSCRIPT_NO_SPEAKER;
    int rc = read_number(w, path, "start", &start, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_number(w, path, "end", &end, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_string(w, path, "text", false, &text, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_confidence(w, path, &confidence, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_speaker(w, path, &speaker, err, errlen);
    if (rc == FORMAT_OK)
        rc = added(transcript_add_word(t, seg, start, end, text, confidence), path, start, end, err,
                   errlen);
    /* transcript_add_word starts every word without a speaker. */
    if (rc == FORMAT_OK)
        t->segments[seg].words[t->segments[seg].n_words - 1].speaker = speaker;
    return rc;
}

static int read_segment(const json_t *s, const char *path, transcript *t, char *err, size_t errlen)
{
    if (!json_is_object(s))
        return parse_error(err, errlen, path, "expected an object, found %s", kind_of(s));
    double start = 0, end = 0;
    const char *text = NULL;
    int speaker = TRANSCRIPT_NO_SPEAKER;
    json_t *words = NULL;
    char words_path[JSON_PATH_LEN];
    int rc = read_number(s, path, "start", &start, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_number(s, path, "end", &end, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_string(s, path, "text", false, &text, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_speaker(s, path, &speaker, err, errlen);
    if (rc == FORMAT_OK)
        rc = lookup(s, path, "words", words_path, &words, err, errlen);
    if (rc == FORMAT_OK && !json_is_array(words))
        rc = parse_error(err, errlen, words_path, "expected an array, found %s", kind_of(words));
    size_t seg = 0;
    if (rc == FORMAT_OK)
        rc =
            added(transcript_add_segment(t, start, end, text, &seg), path, start, end, err, errlen);
    if (rc != FORMAT_OK)
        return rc;
    t->segments[seg].speaker = speaker;
    for (size_t i = 0; rc == FORMAT_OK && i < json_array_size(words); i++) {
        char word_path[JSON_PATH_LEN + 24]; /* words_path and "[N]" */
        snprintf(word_path, sizeof word_path, "%s[%zu]", words_path, i);
        rc = read_word(json_array_get(words, i), word_path, t, seg, err, errlen);
    }
    return rc;
}

static int read_segments(const json_t *root, transcript *t, char *err, size_t errlen)
{
    char path[JSON_PATH_LEN];
    json_t *list = NULL;
    int rc = lookup(root, "", "segments", path, &list, err, errlen);
    if (rc != FORMAT_OK)
        return rc;
    if (!json_is_array(list))
        return parse_error(err, errlen, path, "expected an array, found %s", kind_of(list));
    for (size_t i = 0; rc == FORMAT_OK && i < json_array_size(list); i++) {
        snprintf(path, sizeof path, "segments[%zu]", i);
        rc = read_segment(json_array_get(list, i), path, t, err, errlen);
    }
    return rc;
}

/* jansson's own message, with where it stopped: text that is not JSON at
 * all has no path to name. */
static int load_error(const json_error_t *e, char *err, size_t errlen)
{
    if (json_error_code(e) == json_error_out_of_memory)
        return nomem(err, errlen);
    return util_errf(err, errlen, FORMAT_ERR_PARSE, "not valid JSON at line %d, column %d: %s",
                     e->line, e->column, e->text);
}

void format_json_meta_clear(format_json_meta *m)
{
    if (!m)
        return;
    free(m->engine);
    free(m->model);
    free(m->source);
    memset(m, 0, sizeof *m);
}

format_meta format_json_meta_view(const format_json_meta *m)
{
    format_meta v;
    memset(&v, 0, sizeof v);
    if (m) {
        v.engine = m->engine;
        v.model = m->model;
        v.source = m->source;
        v.processing_seconds = m->processing_seconds;
        v.created = m->created;
    }
    return v;
}

int format_parse_json(const char *text, size_t len, transcript **out, format_json_meta *meta,
                      char *err, size_t errlen)
{
    json_t *root = NULL;
    transcript *t = NULL;
    format_json_meta m;
    memset(&m, 0, sizeof m);
    int rc = FORMAT_OK;
    if (out)
        *out = NULL;
    if (meta)
        memset(meta, 0, sizeof *meta);
    if (!text || !out) {
        rc = util_errf(err, errlen, FORMAT_ERR_INVALID, "format_parse_json: NULL text or output");
        goto cleanup;
    }
    /* A repeated key would make the document mean whichever copy jansson
     * kept; json.c never writes one, so it is corruption. */
    json_error_t jerr;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = load_error(&jerr, err, errlen);
        goto cleanup;
    }
    if (!json_is_object(root)) {
        rc = parse_error(err, errlen, "top level", "expected an object, found %s", kind_of(root));
        goto cleanup;
    }
    t = transcript_new();
    if (!t) {
        rc = nomem(err, errlen);
        goto cleanup;
    }
    /* The facts are read (and checked) even when the caller wants no meta,
     * so the same text is accepted or refused whatever the caller asks. */
    rc = read_facts(root, t, &m, err, errlen);
    if (rc == FORMAT_OK)
        rc = read_segments(root, t, err, errlen);
    if (rc != FORMAT_OK)
        goto cleanup;
    *out = t;
    t = NULL;
    if (meta) {
        *meta = m;
        memset(&m, 0, sizeof m);
    }
cleanup:
    format_json_meta_clear(&m);
    transcript_free(t);
    json_decref(root);
    return rc;
}
