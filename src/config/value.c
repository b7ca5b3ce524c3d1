/* value: turning text (environment variables, command-line flags) and TOML
 * values into validated configuration values. Both paths end in the same
 * checks, so a value the file rejects is rejected from a flag too, and every
 * rejection comes with a phrase saying what was expected. */
#include "config/internal.h"

#include "util/util.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* What key k accepts, as a noun phrase for "must be ..." / "expected ...". */
static void expect_phrase(const config__key *k, bool from_text, char *buf, size_t n)
{
    switch (k->kind) {
    case CONFIG__STRING:
        util_strlcpy(buf, k->expect ? k->expect : "a string", n);
        break;
    case CONFIG__INTEGER:
        if (k->max == LLONG_MAX)
            snprintf(buf, n, "an integer of at least %lld%s", k->min,
                     from_text && k->size_suffix ? ", optionally with a K, M, G or T suffix" : "");
        else
            snprintf(buf, n, "an integer between %lld and %lld", k->min, k->max);
        break;
    case CONFIG__BOOLEAN:
        util_strlcpy(buf, from_text ? "a boolean (true/false, yes/no, on/off or 1/0)"
                                    : "a boolean (true or false)", n);
        break;
    }
}

static int check_string(const config__key *k, const char *s, char *expect, size_t n)
{
    size_t len = strlen(s);
    if (len >= k->size) {
        snprintf(expect, n, "a string of at most %zu bytes", k->size - 1);
        return CONFIG_ERR_VALUE;
    }
    if (!toml_utf8_valid(s, len)) {
        util_strlcpy(expect, "valid UTF-8 text", n);
        return CONFIG_ERR_VALUE;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            util_strlcpy(expect, "a string without control characters", n);
            return CONFIG_ERR_VALUE;
        }
    }
    if (k->check && !k->check(s)) {
        expect_phrase(k, false, expect, n);
        return CONFIG_ERR_VALUE;
    }
    return CONFIG_OK;
}

static int check_range(const config__key *k, long long v, bool from_text, char *expect,
                       size_t n)
{
    if (v >= k->min && v <= k->max)
        return CONFIG_OK;
    expect_phrase(k, from_text, expect, n);
    return CONFIG_ERR_VALUE;
}

static unsigned long long suffix_multiplier(char ch)
{
    switch (ch) {
    case 'k': case 'K': return 1ull << 10;
    case 'm': case 'M': return 1ull << 20;
    case 'g': case 'G': return 1ull << 30;
    case 't': case 'T': return 1ull << 40;
    default: return 0;
    }
}

/* Decimal integer text, with an optional size suffix where the key allows. */
static int integer_from_text(const config__key *k, const char *text, long long *out)
{
    const char *p = text;
    bool neg = *p == '-', overflow = false;
    unsigned long long v = 0, mult = 1;
    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return CONFIG_ERR_TYPE;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (*p && k->size_suffix && (mult = suffix_multiplier(*p)) != 0)
        p++;
    if (*p)
        return CONFIG_ERR_TYPE;
    if (overflow || v > (unsigned long long)LLONG_MAX / mult)
        return CONFIG_ERR_VALUE;
    *out = neg ? -(long long)(v * mult) : (long long)(v * mult);
    return CONFIG_OK;
}

static int boolean_from_text(const char *text, long long *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *out = strcasecmp(text, yes[i]) == 0;
            return CONFIG_OK;
        }
    }
    return CONFIG_ERR_TYPE;
}

int config__from_text(int id, const char *text, config__value *out, char *expect, size_t n)
{
    const config__key *k = config__key_at(id);
    int rc = CONFIG_OK;
    out->s = NULL;
    out->i = 0;
    switch (k->kind) {
    case CONFIG__STRING:
        if ((rc = check_string(k, text, expect, n)) == CONFIG_OK)
            out->s = text;
        return rc;
    case CONFIG__INTEGER:
        rc = integer_from_text(k, text, &out->i);
        if (rc == CONFIG_OK)
            return check_range(k, out->i, true, expect, n);
        break;
    case CONFIG__BOOLEAN:
        rc = boolean_from_text(text, &out->i);
        break;
    }
    if (rc != CONFIG_OK)
        expect_phrase(k, true, expect, n);
    return rc;
}

int config__from_toml(int id, const toml_value *v, config__value *out, char *expect, size_t n)
{
    const config__key *k = config__key_at(id);
    static const toml_type wanted[] = {
        [CONFIG__STRING] = TOML_STRING,
        [CONFIG__INTEGER] = TOML_INTEGER,
        [CONFIG__BOOLEAN] = TOML_BOOL,
    };
    out->s = NULL;
    out->i = 0;
    if (v->type != wanted[k->kind]) {
        expect_phrase(k, false, expect, n);
        return CONFIG_ERR_TYPE;
    }
    switch (k->kind) {
    case CONFIG__STRING:
        out->s = v->u.s;
        return check_string(k, v->u.s, expect, n);
    case CONFIG__INTEGER:
        out->i = v->u.i;
        return check_range(k, v->u.i, false, expect, n);
    case CONFIG__BOOLEAN:
        out->i = v->u.b;
        return CONFIG_OK;
    }
    return CONFIG_ERR_TYPE;
}

/* Control characters, and every non-ASCII byte when the text is not UTF-8,
 * are written as \xNN so a message never garbles the terminal. */
void config__quote(const char *s, char *buf, size_t n)
{
    util_buf b = UTIL_BUF_INIT(80);
    bool utf8 = toml_utf8_valid(s, strlen(s));
    int rc = util_buf_putc(&b, '\'');
    for (const unsigned char *p = (const unsigned char *)s; rc == UTIL_OK && *p; p++) {
        if (*p < 0x20 || *p == 0x7F || *p == '\\' || (!utf8 && *p >= 0x80))
            rc = util_buf_printf(&b, "\\x%02x", *p);
        else
            rc = util_buf_putc(&b, (char)*p);
    }
    if (rc == UTIL_OK)
        rc = util_buf_putc(&b, '\'');
    if (rc != UTIL_OK && b.data) {
        /* Too long for a message: keep the start and mark the cut. */
        b.len = b.len > 70 ? 70 : b.len;
        b.data[b.len] = '\0';
        util_buf_puts(&b, "...'");
    }
    util_strlcpy(buf, b.data ? b.data : "''", n);
    util_buf_free(&b);
}
