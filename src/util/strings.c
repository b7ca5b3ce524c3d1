/* strings: small string helpers — NULL-tolerant duplication, bounded copy,
 * file extensions, and JSON string escaping (kept here because every JSON
 * writer in Cesar must escape the same way). */
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *util_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void util_strlcpy(char *dst, const char *src, size_t n)
{
    if (n == 0)
        return;
    size_t len = src ? strnlen(src, n - 1) : 0;
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

const char *util_path_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return "";
    return dot + 1;
}

int util_buf_json_string(util_buf *b, const char *s)
{
    int rc = util_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; rc == UTIL_OK && *p; p++) {
        switch (*p) {
        case '"': rc = util_buf_puts(b, "\\\""); break;
        case '\\': rc = util_buf_puts(b, "\\\\"); break;
        case '\n': rc = util_buf_puts(b, "\\n"); break;
        case '\r': rc = util_buf_puts(b, "\\r"); break;
        case '\t': rc = util_buf_puts(b, "\\t"); break;
        case '\b': rc = util_buf_puts(b, "\\b"); break;
        case '\f': rc = util_buf_puts(b, "\\f"); break;
        default:
            if (*p < 0x20)
                rc = util_buf_printf(b, "\\u%04x", *p);
            else
                rc = util_buf_putc(b, (char)*p);
        }
    }
    if (rc == UTIL_OK)
        rc = util_buf_putc(b, '"');
    return rc;
}
