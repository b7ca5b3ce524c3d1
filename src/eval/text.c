/* text: line and field scanning shared by the RTTM and UEM readers (see
 * eval_text.h). Works on (pointer, length) spans so the readers never modify
 * or copy the input; only names that are kept get copied.
 */
#include "eval/eval_text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "util/util.h"

/* Longest field quoted in an error message, so a garbage megabyte-long
 * "number" does not flood the terminal. */
#define QUOTE_MAX 40

int eval__read_file(const char *path, size_t cap, char **data, size_t *len, char *err,
                    size_t errlen)
{
    *data = NULL;
    *len = 0;
    util_buf b = UTIL_BUF_INIT(cap);
    char chunk[65536];
    size_t n;
    int rc = EVAL_OK;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = util_errf(err, errlen, EVAL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        goto cleanup;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (util_buf_append(&b, chunk, n) != UTIL_OK) {
            rc = util_errf(err, errlen, EVAL_ERR_IO, "'%s' is larger than %zu MiB", path,
                           cap >> 20);
            goto cleanup;
        }
    }
    if (ferror(f)) {
        rc = util_errf(err, errlen, EVAL_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        goto cleanup;
    }
    *len = b.len;
    *data = util_buf_take(&b); /* "" for an empty file */
    if (!*data)
        rc = util_errf(err, errlen, EVAL_ERR_NOMEM, "out of memory reading '%s'", path);

cleanup:
    if (f)
        fclose(f);
    util_buf_free(&b);
    return rc;
}

bool eval__next_line(const char *text, size_t len, size_t *pos, const char **line,
                     size_t *line_len)
{
    if (*pos >= len)
        return false;
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += nl ? n + 1 : n;
    if (n > 0 && start[n - 1] == '\r')
        n--;
    *line = start;
    *line_len = n;
    return true;
}

/* NUL counts as white space so a stray byte cannot glue two fields into
 * one name that later C-string handling would cut short. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\0';
}

size_t eval__split(const char *line, size_t len, eval__field *fields, size_t max)
{
    size_t count = 0, i = 0;
    while (i < len) {
        while (i < len && is_space(line[i]))
            i++;
        if (i == len)
            break;
        size_t start = i;
        while (i < len && !is_space(line[i]))
            i++;
        if (count < max)
            fields[count] = (eval__field){line + start, i - start};
        count++;
    }
    return count;
}

bool eval__is_comment(const eval__field *fields, size_t n_fields)
{
    if (n_fields == 0)
        return true;
    const eval__field *f = &fields[0];
    return f->p[0] == '#' || (f->n >= 2 && f->p[0] == ';' && f->p[1] == ';');
}

bool eval__field_is(eval__field f, const char *s)
{
    return strlen(s) == f.n && memcmp(f.p, s, f.n) == 0;
}

char *eval__field_dup(eval__field f)
{
    char *s = malloc(f.n + 1);
    if (s) {
        memcpy(s, f.p, f.n);
        s[f.n] = '\0';
    }
    return s;
}

int eval__parse_seconds(eval__field f, const char *name, size_t line_no, const char *what,
                        double *out, char *err, size_t errlen)
{
    /* Numbers longer than this are not times anyone writes; refusing them
     * lets the conversion use a small stack copy. */
    char buf[64];
    int shown = f.n > QUOTE_MAX ? QUOTE_MAX : (int)f.n;
    const char *more = f.n > QUOTE_MAX ? "..." : "";
    if (f.n >= sizeof buf)
        return util_errf(err, errlen, EVAL_ERR_PARSE, "%s:%zu: %s '%.*s%s' is not a number",
                         name, line_no, what, shown, f.p, more);
    memcpy(buf, f.p, f.n);
    buf[f.n] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0')
        return util_errf(err, errlen, EVAL_ERR_PARSE, "%s:%zu: %s '%s' is not a number", name,
                         line_no, what, buf);
    if (!isfinite(v))
        return util_errf(err, errlen, EVAL_ERR_PARSE, "%s:%zu: %s '%s' is not finite", name,
                         line_no, what, buf);
    if (v < 0)
        return util_errf(err, errlen, EVAL_ERR_PARSE, "%s:%zu: %s '%s' is negative", name,
                         line_no, what, buf);
    *out = v;
    return EVAL_OK;
}
