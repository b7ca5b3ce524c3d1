/* messages: the one way the CLI talks to the user about problems, so every
 * error line looks the same ("cesar: error: ...") and goes to stderr. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>

static void message(const char *kind, const char *fmt, va_list ap)
{
    if (kind)
        fprintf(stderr, "cesar: %s: ", kind);
    else
        fputs("cesar: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("error", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("warning", fmt, ap);
    va_end(ap);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message(NULL, fmt, ap);
    va_end(ap);
}
