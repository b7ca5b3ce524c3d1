/* errors: formatting error messages into caller-owned buffers, and the
 * util module's own error strings. */
#include "util/util.h"

#include <stdio.h>

const char *util_strerror(int code)
{
    switch (code) {
    case UTIL_OK: return "ok";
    case UTIL_ERR_NOMEM: return "out of memory";
    case UTIL_ERR_TOO_LARGE: return "data too large";
    case UTIL_ERR_IO: return "input/output error";
    default: return "unknown error";
    }
}

int util_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}
