/* catalog_file: the user's catalog file — "NAME SIZE SHA1" lines that add
 * models to the built-in catalog or override its entries (a fine-tuned model
 * on a mirror, a newer upload). Read whole into a bounded buffer
 * (MODELS__CATALOG_MAX_BYTES) and parsed line by line; every error names the
 * file and line and says what was expected there. */
#include "models/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define FIELDS_MAX 4 /* one more than a line may have, to detect extra fields */
#define LINE_MAX_CHARS 1024

static char *keep_string(models_catalog *c, const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    char **grown = util_array_reserve(c->strings, &c->strings_alloc, c->n_strings,
                                      sizeof *c->strings);
    if (!grown) {
        free(copy);
        return NULL;
    }
    c->strings = grown;
    c->strings[c->n_strings++] = copy;
    return copy;
}

/* Replaces the entry with e's name, or appends e. */
static int put_entry(models_catalog *c, const models_entry *e)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->entries[i].name, e->name) == 0) {
            c->entries[i] = *e;
            return MODELS_OK;
        }
    }
    models_entry *grown = util_array_reserve(c->entries, &c->alloc, c->count, sizeof *c->entries);
    if (!grown)
        return MODELS_ERR_NOMEM;
    c->entries = grown;
    c->entries[c->count++] = *e;
    return MODELS_OK;
}

static bool parse_size(const char *s, long long *out)
{
    if (strcmp(s, "-") == 0) {
        *out = 0;
        return true;
    }
    if (!*s || strlen(s) > 15)
        return false;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0 || v > MODELS__MAX_FILE_BYTES)
        return false;
    *out = v;
    return true;
}

static bool parse_sha1(char *s)
{
    if (strcmp(s, "-") == 0) {
        s[0] = '\0';
        return true;
    }
    if (strlen(s) != 40)
        return false;
    for (char *p = s; *p; p++) {
        if (!isxdigit((unsigned char)*p))
            return false;
        *p = (char)tolower((unsigned char)*p);
    }
    return true;
}

/* Splits line (modified in place) at blanks, stopping at a '#'. */
static int split_fields(char *line, char *fields[FIELDS_MAX])
{
    int n = 0;
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    for (char *save = NULL, *tok = strtok_r(line, " \t\r\v\f", &save); tok;
         tok = strtok_r(NULL, " \t\r\v\f", &save)) {
        if (n == FIELDS_MAX)
            return FIELDS_MAX;
        fields[n++] = tok;
    }
    return n;
}

static int parse_line(models_catalog *c, char *line, const char *source, int lineno, char *err,
                      size_t errlen)
{
    char *f[FIELDS_MAX];
    int n = split_fields(line, f);
    if (n == 0)
        return MODELS_OK;
    if (n != 3)
        return util_errf(err, errlen, MODELS_ERR_CATALOG, "%s:%d: expected 3 fields "
                         "\"NAME SIZE SHA1\", got %d", source, lineno, n);
    if (!models_valid_name(f[0]))
        return util_errf(err, errlen, MODELS_ERR_CATALOG, "%s:%d: model name '%.80s' may only "
                         "contain letters, digits, '.', '_' and '-' (at most %d, not starting "
                         "with '.' or '-')", source, lineno, f[0], MODELS_NAME_MAX);
    models_entry e = {0};
    if (!parse_size(f[1], &e.size))
        return util_errf(err, errlen, MODELS_ERR_CATALOG, "%s:%d: size '%.80s' of '%s' is not a "
                         "byte count between 1 and %lld, nor '-'", source, lineno, f[1], f[0],
                         MODELS__MAX_FILE_BYTES);
    if (!parse_sha1(f[2]))
        return util_errf(err, errlen, MODELS_ERR_CATALOG, "%s:%d: SHA-1 '%.80s' of '%s' is not "
                         "40 hex digits, nor '-'", source, lineno, f[2], f[0]);
    e.approx_bytes = e.size;
    e.user = true;
    e.name = keep_string(c, f[0], strlen(f[0]));
    e.sha1 = keep_string(c, f[2], strlen(f[2]));
    if (!e.name || !e.sha1 || put_entry(c, &e) != MODELS_OK)
        return util_errf(err, errlen, MODELS_ERR_NOMEM, "out of memory");
    return MODELS_OK;
}

int models__catalog_parse(models_catalog *c, const char *text, size_t len, const char *source,
                          char *err, size_t errlen)
{
    char line[LINE_MAX_CHARS + 1];
    int lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        lineno++;
        if (n > LINE_MAX_CHARS)
            return util_errf(err, errlen, MODELS_ERR_CATALOG, "%s:%d: line longer than %d "
                             "characters", source, lineno, LINE_MAX_CHARS);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        if (memchr(line, '\0', n))
            return util_errf(err, errlen, MODELS_ERR_CATALOG, "%s:%d: NUL byte in a text file",
                             source, lineno);
        int rc = parse_line(c, line, source, lineno, err, errlen);
        if (rc != MODELS_OK)
            return rc;
        pos = end + 1;
    }
    return MODELS_OK;
}

int models__catalog_read_file(models_catalog *c, const char *path, char *err, size_t errlen)
{
    util_buf text = UTIL_BUF_INIT(MODELS__CATALOG_MAX_BYTES);
    char chunk[8192];
    int rc = MODELS_OK;
    FILE *f = fopen(path, "rb");
    if (!f)
        return util_errf(err, errlen, MODELS_ERR_CATALOG, "model catalog '%s': %s", path,
                         strerror(errno));
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (util_buf_append(&text, chunk, n) != UTIL_OK) {
            rc = util_errf(err, errlen, MODELS_ERR_CATALOG, "model catalog '%s' is larger than "
                           "%d bytes", path, MODELS__CATALOG_MAX_BYTES);
            goto cleanup;
        }
    }
    if (ferror(f)) {
        rc = util_errf(err, errlen, MODELS_ERR_CATALOG, "model catalog '%s': read error", path);
        goto cleanup;
    }
    rc = models__catalog_parse(c, text.data ? text.data : "", text.len, path, err, errlen);

cleanup:
    fclose(f);
    util_buf_free(&text);
    return rc;
}
