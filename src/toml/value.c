/* value: parsing one TOML value — basic and literal strings, integers,
 * floats, booleans and arrays. Numbers follow TOML 1.0 exactly (underscores
 * only between digits, no leading zeros, no overflow), because a config
 * value silently read as something else is worse than an error. Multi-line
 * strings, inline tables and dates are recognised only to be refused with a
 * message saying they are unsupported. */
#include "toml/internal.h"

#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int from_util(const toml__cursor *c, int rc)
{
    if (rc == UTIL_OK)
        return TOML_OK;
    if (rc == UTIL_ERR_NOMEM)
        return toml__fail(c, TOML_ERR_NOMEM, "out of memory");
    return toml__fail(c, TOML_ERR_TOO_LARGE, "string too long");
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* \uXXXX or \UXXXXXXXX: the cursor is just past the 'u' or 'U'. */
static int parse_unicode(toml__cursor *c, util_buf *b, int digits, char letter)
{
    unsigned long cp = 0;
    for (int i = 0; i < digits; i++) {
        int h = c->p + i < c->end ? hex_value(c->p[i]) : -1;
        if (h < 0)
            return toml__fail(c, TOML_ERR_SYNTAX, "invalid escape '\\%c': expected %d hex digits",
                              letter, digits);
        cp = cp * 16 + (unsigned long)h;
    }
    if (cp == 0)
        return toml__fail(c, TOML_ERR_SYNTAX, "escape '\\%c%.*s' would put a NUL character in "
                          "the string", letter, digits, c->p);
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return toml__fail(c, TOML_ERR_SYNTAX, "escape '\\%c%.*s' is not a Unicode scalar value",
                          letter, digits, c->p);
    c->p += digits;
    char utf8[4];
    size_t n = toml__utf8_encode(cp, utf8);
    return from_util(c, util_buf_append(b, utf8, n));
}

/* One escape sequence; the cursor is at the backslash. */
static int parse_escape(toml__cursor *c, util_buf *b)
{
    c->p++;
    if (c->p >= c->end || toml__at_newline(c))
        return toml__fail(c, TOML_ERR_SYNTAX, "backslash at end of line (line continuations "
                          "need multi-line strings, which are not supported)");
    char e = *c->p++;
    const char *simple = "b\bt\tn\nf\fr\r\"\"\\\\";
    for (const char *s = simple; *s; s += 2) {
        if (*s == e)
            return from_util(c, util_buf_putc(b, s[1]));
    }
    if (e == 'u' || e == 'U')
        return parse_unicode(c, b, e == 'u' ? 4 : 8, e);
    if (e > ' ' && e < 0x7F)
        return toml__fail(c, TOML_ERR_SYNTAX, "invalid escape '\\%c' in string", e);
    c->p--;
    char what[48];
    toml__describe(c, what, sizeof what);
    return toml__fail(c, TOML_ERR_SYNTAX, "invalid escape: backslash followed by %s", what);
}

static int parse_basic(toml__cursor *c, char **out)
{
    util_buf b = UTIL_BUF_INIT(TOML_MAX_INPUT);
    int rc = TOML_OK;
    c->p++; /* opening quote */
    for (;;) {
        if (c->p >= c->end || toml__at_newline(c)) {
            rc = toml__fail(c, TOML_ERR_SYNTAX, "unterminated string (missing closing '\"')");
            goto cleanup;
        }
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"')
            break;
        if (ch == '\\') {
            rc = parse_escape(c, &b);
        } else if (toml__is_control(ch)) {
            rc = toml__fail(c, TOML_ERR_SYNTAX, "control character U+%04X in string must be "
                            "written as an escape", ch);
        } else {
            rc = from_util(c, util_buf_putc(&b, (char)ch));
            c->p++;
        }
        if (rc != TOML_OK)
            goto cleanup;
    }
    c->p++; /* closing quote */
    *out = util_buf_take(&b);
    if (!*out)
        rc = toml__fail(c, TOML_ERR_NOMEM, "out of memory");
cleanup:
    util_buf_free(&b);
    return rc;
}

static int parse_literal(toml__cursor *c, char **out)
{
    const char *start = ++c->p;
    while (c->p < c->end && *c->p != '\'') {
        if (toml__at_newline(c))
            break;
        unsigned char ch = (unsigned char)*c->p;
        if (toml__is_control(ch))
            return toml__fail(c, TOML_ERR_SYNTAX, "control character U+%04X in literal string",
                              ch);
        c->p++;
    }
    if (c->p >= c->end || *c->p != '\'')
        return toml__fail(c, TOML_ERR_SYNTAX, "unterminated literal string (missing closing "
                          "\"'\")");
    *out = strndup(start, (size_t)(c->p - start));
    c->p++;
    if (!*out)
        return toml__fail(c, TOML_ERR_NOMEM, "out of memory");
    return TOML_OK;
}

int toml__parse_quoted(toml__cursor *c, char **out)
{
    char q = *c->p;
    *out = NULL;
    if (c->end - c->p >= 3 && c->p[1] == q && c->p[2] == q)
        return toml__fail(c, TOML_ERR_SYNTAX, "multi-line strings (%c%c%c) are not supported",
                          q, q, q);
    return q == '"' ? parse_basic(c, out) : parse_literal(c, out);
}

/* ---- numbers ------------------------------------------------------------ */

static int digit_value(char ch, int base)
{
    int v = hex_value(ch);
    return v >= 0 && v < base ? v : -1;
}

/* Length of a run of base-`base` digits with single underscores between
 * digits, starting at s; 0 when s does not start with a digit or an
 * underscore is misplaced. */
static size_t digit_run(const char *s, int base)
{
    size_t i = 0;
    if (digit_value(s[0], base) < 0)
        return 0;
    while (s[i]) {
        if (digit_value(s[i], base) >= 0)
            i++;
        else if (s[i] == '_' && digit_value(s[i + 1], base) >= 0)
            i++;
        else if (s[i] == '_')
            return 0;
        else
            break;
    }
    return i;
}

/* Accumulates the digits of a validated run; false on overflow past limit. */
static bool run_value(const char *s, size_t n, int base, unsigned long long limit,
                      unsigned long long *out)
{
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_')
            continue;
        unsigned d = (unsigned)digit_value(s[i], base);
        if (v > (limit - d) / (unsigned)base)
            return false;
        v = v * (unsigned)base + d;
    }
    *out = v;
    return true;
}

static int parse_integer(const toml__cursor *c, const char *tok, toml_value *out)
{
    const char *s = tok;
    int base = 10;
    bool neg = false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        s += 2;
    } else if (*s == '+' || *s == '-') {
        neg = *s++ == '-';
    }
    size_t n = digit_run(s, base);
    if (n == 0 || s[n] != '\0')
        return toml__fail(c, TOML_ERR_SYNTAX, "invalid number '%s'", tok);
    if (base == 10 && s[0] == '0' && n > 1)
        return toml__fail(c, TOML_ERR_SYNTAX, "leading zeros are not allowed in '%s'", tok);
    unsigned long long limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX, v;
    if (!run_value(s, n, base, limit, &v))
        return toml__fail(c, TOML_ERR_SYNTAX, "integer '%s' is out of range (64-bit signed)",
                          tok);
    out->type = TOML_INTEGER;
    if (neg)
        out->u.i = v == limit ? LLONG_MIN : -(long long)v;
    else
        out->u.i = (long long)v;
    return TOML_OK;
}

/* True when tok has TOML's float shape: an integer part (no leading zeros),
 * then a fraction, an exponent, or both. */
static bool float_shape(const char *tok)
{
    const char *s = tok + (*tok == '+' || *tok == '-');
    size_t n = digit_run(s, 10);
    if (n == 0 || (s[0] == '0' && n > 1))
        return false;
    s += n;
    bool frac = *s == '.', exp = false;
    if (frac) {
        n = digit_run(++s, 10);
        if (n == 0)
            return false;
        s += n;
    }
    if (*s == 'e' || *s == 'E') {
        exp = true;
        s += 1 + (s[1] == '+' || s[1] == '-');
        n = digit_run(s, 10);
        if (n == 0)
            return false;
        s += n;
    }
    return *s == '\0' && (frac || exp);
}

/* strtod honours LC_NUMERIC, and the CLI may have set a locale whose decimal
 * point is ','; TOML's is always '.', so convert in the "C" locale. */
static int parse_float(const toml__cursor *c, const char *tok, toml_value *out)
{
    const char *s = tok + (*tok == '+' || *tok == '-');
    double v;
    if (strcmp(s, "inf") == 0 || strcmp(s, "nan") == 0) {
        v = s[0] == 'i' ? INFINITY : NAN;
        if (*tok == '-')
            v = -v;
    } else {
        if (!float_shape(tok))
            return toml__fail(c, TOML_ERR_SYNTAX, "invalid number '%s'", tok);
        char plain[TOML__MAX_TOKEN + 1];
        size_t n = 0;
        for (const char *p = tok; *p; p++)
            if (*p != '_')
                plain[n++] = *p;
        plain[n] = '\0';
        locale_t cl = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (!cl)
            return toml__fail(c, TOML_ERR_NOMEM, "out of memory");
        v = strtod_l(plain, NULL, cl);
        freelocale(cl);
        if (isinf(v))
            return toml__fail(c, TOML_ERR_SYNTAX, "float '%s' is out of range", tok);
    }
    out->type = TOML_FLOAT;
    out->u.f = v;
    return TOML_OK;
}

/* ---- bare values --------------------------------------------------------- */

static bool is_token_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '+' || ch == '-' || ch == '.' || ch == ':';
}

static bool is_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* 1979-05-27..., 07:32:00... */
static bool looks_like_datetime(const char *tok)
{
    size_t n = strlen(tok);
    return (n >= 5 && is_digits(tok, 4) && tok[4] == '-') ||
           (n >= 3 && is_digits(tok, 2) && tok[2] == ':');
}

static int parse_bare(toml__cursor *c, toml_value *out)
{
    const char *start = c->p;
    while (c->p < c->end && is_token_char((unsigned char)*c->p))
        c->p++;
    size_t n = (size_t)(c->p - start);
    if (n == 0) {
        char what[48];
        toml__describe(c, what, sizeof what);
        return toml__fail(c, TOML_ERR_SYNTAX, "expected a value, found %s", what);
    }
    if (n > TOML__MAX_TOKEN)
        return toml__fail(c, TOML_ERR_TOO_LARGE, "value '%.20s...' is longer than %d bytes",
                          start, TOML__MAX_TOKEN);
    char tok[TOML__MAX_TOKEN + 1];
    memcpy(tok, start, n);
    tok[n] = '\0';
    if (strcmp(tok, "true") == 0 || strcmp(tok, "false") == 0) {
        out->type = TOML_BOOL;
        out->u.b = tok[0] == 't';
        return TOML_OK;
    }
    if (looks_like_datetime(tok))
        return toml__fail(c, TOML_ERR_SYNTAX, "dates and times are not supported (found '%s')",
                          tok);
    const char *s = tok + (*tok == '+' || *tok == '-');
    bool prefixed = tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'o' || tok[1] == 'b');
    if (strcmp(s, "inf") == 0 || strcmp(s, "nan") == 0)
        return parse_float(c, tok, out);
    if (*s < '0' || *s > '9')
        return toml__fail(c, TOML_ERR_SYNTAX, "invalid value '%s' (strings must be quoted)",
                          tok);
    if (!prefixed && strpbrk(tok, ".eE"))
        return parse_float(c, tok, out);
    return parse_integer(c, tok, out);
}

/* ---- arrays --------------------------------------------------------------- */

static int parse_array(toml__cursor *c, toml_value *out, int depth)
{
    toml_value *items = NULL;
    size_t n = 0, alloc = 0;
    int rc = TOML_OK;
    char what[48];
    if (depth >= TOML__MAX_DEPTH)
        return toml__fail(c, TOML_ERR_TOO_LARGE, "arrays nested more than %d deep",
                          TOML__MAX_DEPTH);
    c->p++; /* '[' */
    for (;;) {
        if ((rc = toml__skip_blank(c)) != TOML_OK)
            goto cleanup;
        if (c->p < c->end && *c->p == ']')
            break;
        toml_value *grown = util_array_reserve(items, &alloc, n, sizeof *items);
        if (!grown) {
            rc = toml__fail(c, TOML_ERR_NOMEM, "out of memory");
            goto cleanup;
        }
        items = grown;
        if ((rc = toml__parse_value(c, &items[n], depth + 1)) != TOML_OK)
            goto cleanup;
        n++;
        if ((rc = toml__skip_blank(c)) != TOML_OK)
            goto cleanup;
        if (c->p < c->end && *c->p == ']')
            break;
        if (c->p >= c->end || *c->p != ',') {
            toml__describe(c, what, sizeof what);
            rc = toml__fail(c, TOML_ERR_SYNTAX, "expected ',' or ']' in array, found %s", what);
            goto cleanup;
        }
        c->p++;
    }
    c->p++; /* ']' */
    out->type = TOML_ARRAY;
    out->u.a.items = items;
    out->u.a.n = n;
    return TOML_OK;
cleanup:
    for (size_t i = 0; i < n; i++)
        toml__value_clear(&items[i]);
    free(items);
    return rc;
}

int toml__parse_value(toml__cursor *c, toml_value *out, int depth)
{
    memset(out, 0, sizeof *out);
    out->type = TOML_BOOL; /* owns nothing until filled in */
    if (c->p >= c->end)
        return toml__fail(c, TOML_ERR_SYNTAX, "expected a value, found end of file");
    switch (*c->p) {
    case '"':
    case '\'': {
        char *s = NULL;
        int rc = toml__parse_quoted(c, &s);
        if (rc == TOML_OK) {
            out->type = TOML_STRING;
            out->u.s = s;
        }
        return rc;
    }
    case '[':
        return parse_array(c, out, depth);
    case '{':
        return toml__fail(c, TOML_ERR_SYNTAX, "inline tables ({...}) are not supported; use a "
                          "[table] section");
    default:
        return parse_bare(c, out);
    }
}
