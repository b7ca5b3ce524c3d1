/* buf: a growable byte buffer with a hard size cap. Anything built from
 * outside data (a rendered transcript, an HTTP body) goes through one of
 * these, so a runaway input fails with UTIL_ERR_TOO_LARGE instead of eating
 * memory. Invariant: when data != NULL, data[len] == '\0'. */
#include "util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void util_buf_init(util_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void util_buf_free(util_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void util_buf_reset(util_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_reserve(util_buf *b, size_t extra)
{
    size_t cap = b->cap ? b->cap : SIZE_MAX - 1;
    if (extra > cap - b->len)
        return UTIL_ERR_TOO_LARGE;
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return UTIL_OK;
    size_t grow = b->alloc ? b->alloc : 256;
    while (grow < need)
        grow = grow > SIZE_MAX / 2 ? need : grow * 2;
    char *p = realloc(b->data, grow);
    if (!p)
        return UTIL_ERR_NOMEM;
    b->data = p;
    b->alloc = grow;
    return UTIL_OK;
}

int util_buf_append(util_buf *b, const void *data, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc != UTIL_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return UTIL_OK;
}

int util_buf_puts(util_buf *b, const char *s)
{
    return util_buf_append(b, s, strlen(s));
}

int util_buf_putc(util_buf *b, char c)
{
    return util_buf_append(b, &c, 1);
}

int util_buf_vprintf(util_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return UTIL_ERR_IO;
    int rc = buf_reserve(b, (size_t)n);
    if (rc != UTIL_OK)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return UTIL_OK;
}

int util_buf_printf(util_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = util_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *util_buf_take(util_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}
