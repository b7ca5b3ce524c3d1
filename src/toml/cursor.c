/* cursor: the lexical layer under the TOML parser — whitespace, newlines,
 * comments — and the one function that formats every parse error, so all
 * messages share the "line N: ..." (or "FILE:N: ...") shape. The line count
 * lives in the cursor and only toml__skip_newline advances it. */
#include "toml/internal.h"

#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>

int toml__fail(const toml__cursor *c, int code, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return code;
    int n = c->name ? snprintf(c->err, c->errlen, "%s:%d: ", c->name, c->line)
                    : snprintf(c->err, c->errlen, "line %d: ", c->line);
    if (n < 0 || (size_t)n >= c->errlen)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

bool toml__is_control(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t') || ch == 0x7F;
}

void toml__describe(const toml__cursor *c, char *buf, size_t n)
{
    if (c->p >= c->end) {
        util_strlcpy(buf, "end of file", n);
        return;
    }
    if (toml__at_newline(c)) {
        util_strlcpy(buf, "end of line", n);
        return;
    }
    unsigned char ch = (unsigned char)*c->p;
    if (toml__is_control(ch)) {
        snprintf(buf, n, "control character U+%04X", ch);
    } else if (ch == '\'') {
        util_strlcpy(buf, "\"'\"", n);
    } else {
        size_t len = toml__utf8_seq(c->p, c->end);
        snprintf(buf, n, "'%.*s'", (int)(len ? len : 1), c->p);
    }
}

void toml__skip_ws(toml__cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

bool toml__at_newline(const toml__cursor *c)
{
    if (c->p >= c->end)
        return false;
    if (*c->p == '\n')
        return true;
    return *c->p == '\r' && c->end - c->p >= 2 && c->p[1] == '\n';
}

void toml__skip_newline(toml__cursor *c)
{
    if (*c->p == '\r')
        c->p++;
    c->p++;
    c->line++;
}

int toml__skip_comment(toml__cursor *c)
{
    c->p++; /* '#' */
    while (c->p < c->end && !toml__at_newline(c)) {
        unsigned char ch = (unsigned char)*c->p;
        if (toml__is_control(ch))
            return toml__fail(c, TOML_ERR_SYNTAX, "control character U+%04X in comment", ch);
        c->p++;
    }
    return TOML_OK;
}

int toml__skip_blank(toml__cursor *c)
{
    for (;;) {
        toml__skip_ws(c);
        if (c->p < c->end && *c->p == '#') {
            int rc = toml__skip_comment(c);
            if (rc != TOML_OK)
                return rc;
        } else if (toml__at_newline(c)) {
            toml__skip_newline(c);
        } else {
            return TOML_OK;
        }
    }
}
