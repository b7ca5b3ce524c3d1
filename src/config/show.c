/* show: rendering the effective configuration for `cesar config show`. The
 * output is valid TOML that config_load_file reads back (secrets aside),
 * laid out like the file — top-level keys, then one [table] section per
 * group — with a comment after each value naming its source. Secrets print
 * as "********" when set, so the output is safe to paste into a bug report. */
#include "config/internal.h"

#include "util/util.h"

#include <stdio.h>
#include <string.h>

/* Comments may not hold control characters, and the file must be UTF-8:
 * anything else in a path becomes '?'. */
static int put_comment_text(util_buf *b, const char *s)
{
    bool utf8 = toml_utf8_valid(s, strlen(s));
    int rc = UTIL_OK;
    for (const unsigned char *p = (const unsigned char *)s; rc == UTIL_OK && *p; p++) {
        bool bad = *p < 0x20 || *p == 0x7F || (!utf8 && *p >= 0x80);
        rc = util_buf_putc(b, bad ? '?' : (char)*p);
    }
    return rc;
}

/* A TOML basic string. Values hold no control characters (value.c refuses
 * them), but escape any that appear so the output always parses. */
static int put_string(util_buf *b, const char *s)
{
    int rc = util_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; rc == UTIL_OK && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = util_buf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            rc = util_buf_printf(b, "\\u%04X", *p);
        else
            rc = util_buf_putc(b, (char)*p);
    }
    return rc == UTIL_OK ? util_buf_putc(b, '"') : rc;
}

static int put_value(util_buf *b, const config *c, int id)
{
    const config__key *k = config__key_at(id);
    const char *field = (const char *)&c->st.values + k->offset;
    if (k->kind == CONFIG__STRING && config__info_at(id)->secret)
        return util_buf_puts(b, *field ? "\"********\"" : "\"\"");
    if (k->kind == CONFIG__STRING)
        return put_string(b, field);
    if (k->kind == CONFIG__BOOLEAN)
        return util_buf_puts(b, *(const bool *)field ? "true" : "false");
    if (k->size == sizeof(int))
        return util_buf_printf(b, "%d", *(const int *)field);
    return util_buf_printf(b, "%lld", *(const long long *)field);
}

/* "key = value  # source" with key relative to its table. */
static int put_line(util_buf *b, const config *c, int id, size_t table_len)
{
    char source[4200];
    const char *key = config__info_at(id)->key + table_len + (table_len > 0);
    config__describe_origin(&c->st.origin[id], source, sizeof source);
    int rc = util_buf_printf(b, "%s = ", key);
    if (rc == UTIL_OK)
        rc = put_value(b, c, id);
    if (rc == UTIL_OK)
        rc = util_buf_puts(b, "  # ");
    if (rc == UTIL_OK)
        rc = put_comment_text(b, source);
    return rc == UTIL_OK ? util_buf_putc(b, '\n') : rc;
}

static int put_header(util_buf *b, const config *c)
{
    if (!c->file)
        return util_buf_puts(b, "# no config file\n");
    int rc = util_buf_puts(b, "# config file: ");
    if (rc == UTIL_OK)
        rc = put_comment_text(b, c->file);
    return rc == UTIL_OK ? util_buf_putc(b, '\n') : rc;
}

char *config_show(const config *c)
{
    util_buf b = UTIL_BUF_INIT(0);
    size_t table_len = 0; /* of the current [table]'s name; 0 at the top */
    const char *table = "";
    if (!c)
        return NULL;
    int rc = put_header(&b, c);
    for (int id = 0; rc == UTIL_OK && id < CONFIG__K_COUNT; id++) {
        const char *key = config__info_at(id)->key;
        const char *dot = strrchr(key, '.');
        size_t len = dot ? (size_t)(dot - key) : 0;
        if (len != table_len || strncmp(key, table, len) != 0) {
            table = key;
            table_len = len;
            rc = util_buf_printf(&b, "\n[%.*s]\n", (int)len, key);
        }
        if (rc == UTIL_OK)
            rc = put_line(&b, c, id, table_len);
    }
    if (rc != UTIL_OK) {
        util_buf_free(&b);
        return NULL;
    }
    return util_buf_take(&b);
}
