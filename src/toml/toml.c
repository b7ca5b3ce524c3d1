/* toml: the document grammar — lines of comments, [table] headers and
 * key = value pairs — building the flat, file-ordered list of dotted keys
 * that toml.h promises. Values are parsed by value.c and definitions are
 * checked by names.c. The whole input is checked for UTF-8 first, and
 * parsing stops at the first error, whose message names its line. */
#include "toml/internal.h"

#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    toml__cursor cur;
    toml_doc *doc;
    size_t entries_alloc;
    size_t tables_alloc;
    toml__names names;
    char table[TOML_MAX_KEY + 1]; /* the current [table]; "" at the top */
} parser;

static bool is_bare_key_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

/* Appends one key part (with a '.' before it unless key is empty). */
static int append_part(toml__cursor *c, char *key, size_t *len, const char *part, size_t n)
{
    size_t need = *len + (*len > 0) + n;
    if (need > TOML_MAX_KEY) {
        char start[41]; /* enough of the key to recognise it */
        snprintf(start, sizeof start, "%s%s%.*s", key, *len > 0 ? "." : "", (int)n, part);
        return toml__fail(c, TOML_ERR_TOO_LARGE, "key '%s...' is longer than %d bytes", start,
                          TOML_MAX_KEY);
    }
    if (*len > 0)
        key[(*len)++] = '.';
    memcpy(key + *len, part, n);
    *len += n;
    key[*len] = '\0';
    return TOML_OK;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if (toml__is_control((unsigned char)*s) || *s == '\t')
            return true;
    return false;
}

/* A quoted part may not be empty or contain '.': either would make the flat
 * dotted name ambiguous ("a.b" = 1 vs a.b = 1). Control characters (legal
 * through escapes) are refused too, so a key is always safe to print in a
 * message. */
static int parse_quoted_part(toml__cursor *c, char *key, size_t *len)
{
    char *part = NULL;
    int rc = toml__parse_quoted(c, &part);
    if (rc != TOML_OK)
        return rc;
    if (part[0] == '\0')
        rc = toml__fail(c, TOML_ERR_SYNTAX, "empty quoted keys are not supported");
    else if (has_control(part))
        rc = toml__fail(c, TOML_ERR_SYNTAX, "control characters in keys are not supported");
    else if (strchr(part, '.'))
        rc = toml__fail(c, TOML_ERR_SYNTAX, "quoted key \"%s\" contains '.', which is not "
                        "supported", part);
    else
        rc = append_part(c, key, len, part, strlen(part));
    free(part);
    return rc;
}

/* Parses a possibly dotted key at the cursor, appending it to key (which
 * holds *len bytes already). what names the thing expected, for messages. */
static int parse_key(toml__cursor *c, char *key, size_t *len, const char *what)
{
    for (;;) {
        int rc;
        const char *start = c->p;
        while (c->p < c->end && is_bare_key_char((unsigned char)*c->p))
            c->p++;
        if (c->p > start) {
            rc = append_part(c, key, len, start, (size_t)(c->p - start));
        } else if (c->p < c->end && (*c->p == '"' || *c->p == '\'')) {
            rc = parse_quoted_part(c, key, len);
        } else {
            char found[48];
            toml__describe(c, found, sizeof found);
            rc = toml__fail(c, TOML_ERR_SYNTAX, "expected %s, found %s", what, found);
        }
        if (rc != TOML_OK)
            return rc;
        toml__skip_ws(c);
        if (c->p >= c->end || *c->p != '.')
            return TOML_OK;
        c->p++;
        toml__skip_ws(c);
    }
}

/* After a header or a value only whitespace and a comment may follow. */
static int expect_end_of_line(toml__cursor *c, const char *after)
{
    toml__skip_ws(c);
    if (c->p < c->end && *c->p == '#') {
        int rc = toml__skip_comment(c);
        if (rc != TOML_OK)
            return rc;
    }
    if (c->p >= c->end)
        return TOML_OK;
    if (toml__at_newline(c)) {
        toml__skip_newline(c);
        return TOML_OK;
    }
    char found[48];
    toml__describe(c, found, sizeof found);
    return toml__fail(c, TOML_ERR_SYNTAX, "unexpected %s after %s", found, after);
}

static int add_table(parser *ps, const char *name)
{
    toml_doc *d = ps->doc;
    toml_table *t = util_array_reserve(d->tables, &ps->tables_alloc, d->n_tables, sizeof *t);
    if (!t)
        return toml__fail(&ps->cur, TOML_ERR_NOMEM, "out of memory");
    d->tables = t;
    char *copy = strdup(name);
    if (!copy)
        return toml__fail(&ps->cur, TOML_ERR_NOMEM, "out of memory");
    d->tables[d->n_tables].name = copy;
    d->tables[d->n_tables].line = ps->cur.line;
    d->n_tables++;
    return TOML_OK;
}

static int parse_header(parser *ps)
{
    toml__cursor *c = &ps->cur;
    char name[TOML_MAX_KEY + 1] = "", after[TOML_MAX_KEY + 32];
    size_t len = 0;
    c->p++; /* '[' */
    if (c->p < c->end && *c->p == '[')
        return toml__fail(c, TOML_ERR_SYNTAX, "arrays of tables ([[name]]) are not supported");
    toml__skip_ws(c);
    int rc = parse_key(c, name, &len, "a table name");
    if (rc != TOML_OK)
        return rc;
    if (c->p >= c->end || *c->p != ']') {
        char found[48];
        toml__describe(c, found, sizeof found);
        return toml__fail(c, TOML_ERR_SYNTAX, "expected ']' after table name '%s', found %s",
                          name, found);
    }
    c->p++;
    if ((rc = toml__define_table(&ps->names, c, name)) != TOML_OK ||
        (rc = add_table(ps, name)) != TOML_OK)
        return rc;
    util_strlcpy(ps->table, name, sizeof ps->table);
    snprintf(after, sizeof after, "table header [%s]", name);
    return expect_end_of_line(c, after);
}

/* Takes ownership of *value (cleared on failure too). */
static int add_entry(parser *ps, const char *key, int line, toml_value *value)
{
    toml_doc *d = ps->doc;
    char *copy = NULL;
    toml_entry *e = util_array_reserve(d->entries, &ps->entries_alloc, d->n, sizeof *e);
    if (!e)
        goto nomem;
    d->entries = e;
    if (!(copy = strdup(key)))
        goto nomem;
    d->entries[d->n].key = copy;
    d->entries[d->n].line = line;
    d->entries[d->n].value = *value;
    d->n++;
    return TOML_OK;
nomem:
    toml__value_clear(value);
    return toml__fail(&ps->cur, TOML_ERR_NOMEM, "out of memory");
}

static int parse_keyval(parser *ps)
{
    toml__cursor *c = &ps->cur;
    char key[TOML_MAX_KEY + 1], after[TOML_MAX_KEY + 32];
    size_t len = strlen(ps->table), table_len = len;
    int line = c->line;
    memcpy(key, ps->table, len + 1);
    int rc = parse_key(c, key, &len, "a key");
    if (rc != TOML_OK)
        return rc;
    const char *rel = key + table_len + (table_len > 0); /* the key as written */
    if (c->p >= c->end || *c->p != '=') {
        char found[48];
        toml__describe(c, found, sizeof found);
        return toml__fail(c, TOML_ERR_SYNTAX, "expected '=' after key '%s', found %s", rel,
                          found);
    }
    c->p++;
    toml__skip_ws(c);
    if (c->p >= c->end || toml__at_newline(c) || *c->p == '#')
        return toml__fail(c, TOML_ERR_SYNTAX, "missing value for key '%s'", rel);
    if ((rc = toml__define_key(&ps->names, c, key, table_len)) != TOML_OK)
        return rc;
    toml_value value;
    if ((rc = toml__parse_value(c, &value, 0)) != TOML_OK ||
        (rc = add_entry(ps, key, line, &value)) != TOML_OK)
        return rc;
    snprintf(after, sizeof after, "the value of key '%s'", rel);
    return expect_end_of_line(c, after);
}

static int parse_lines(parser *ps)
{
    toml__cursor *c = &ps->cur;
    for (;;) {
        int rc = TOML_OK;
        toml__skip_ws(c);
        if (c->p >= c->end)
            return TOML_OK;
        if (*c->p == '#')
            rc = toml__skip_comment(c);
        else if (toml__at_newline(c))
            toml__skip_newline(c);
        else if (*c->p == '[')
            rc = parse_header(ps);
        else
            rc = parse_keyval(ps);
        if (rc != TOML_OK)
            return rc;
    }
}

static int check_encoding(const toml__cursor *start)
{
    toml__cursor c = *start;
    while (c.p < c.end) {
        size_t n = toml__utf8_seq(c.p, c.end);
        if (n == 0)
            return toml__fail(&c, TOML_ERR_SYNTAX, "invalid UTF-8 (byte 0x%02X)",
                              (unsigned char)*c.p);
        if (*c.p == '\n')
            c.line++;
        c.p += n;
    }
    return TOML_OK;
}

int toml__parse_named(const char *text, size_t len, const char *name, toml_doc **out,
                      char *err, size_t errlen)
{
    parser ps = {{"", NULL, 1, name, err, errlen}, NULL, 0, 0, {NULL, 0, 0}, ""};
    int rc;
    *out = NULL;
    if (text) /* NULL with len 0 is an empty document; NULL + 0 would be undefined */
        ps.cur.p = text;
    else
        len = 0;
    ps.cur.end = ps.cur.p + len;
    if (len > TOML_MAX_INPUT)
        return name ? util_errf(err, errlen, TOML_ERR_TOO_LARGE, "%s: larger than %d bytes",
                                name, TOML_MAX_INPUT)
                    : util_errf(err, errlen, TOML_ERR_TOO_LARGE, "input is larger than %d bytes",
                                TOML_MAX_INPUT);
    if (!(ps.doc = calloc(1, sizeof *ps.doc))) {
        rc = toml__fail(&ps.cur, TOML_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = check_encoding(&ps.cur)) != TOML_OK)
        goto cleanup;
    if (ps.cur.end - ps.cur.p >= 3 && memcmp(ps.cur.p, "\xEF\xBB\xBF", 3) == 0)
        ps.cur.p += 3; /* a byte-order mark some editors add */
    rc = parse_lines(&ps);
cleanup:
    toml__names_free(&ps.names);
    if (rc != TOML_OK)
        toml_free(ps.doc);
    else
        *out = ps.doc;
    return rc;
}

int toml_parse(const char *text, size_t len, toml_doc **out, char *err, size_t errlen)
{
    return toml__parse_named(text, len, NULL, out, err, errlen);
}
