/* timearg: reading times typed on the command line ("90", "1:30",
 * "1:02:03.5") and the time-window options every command that reads audio
 * shares. */
#include "cli/cli.h"

#include "util/util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One number of a clock: digits with an optional fraction, no sign. */
static bool parse_component(const char *s, const char *end, double *out)
{
    if (s == end)
        return false;
    char tmp[64];
    size_t len = (size_t)(end - s);
    if (len >= sizeof tmp)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)tmp[i]) && tmp[i] != '.')
            return false;
    char *stop = NULL;
    *out = strtod(tmp, &stop);
    return stop && *stop == '\0';
}

static bool parse_clock(const char *text, double *seconds)
{
    double parts[3];
    int n = 0;
    const char *s = text;
    for (;;) {
        const char *colon = strchr(s, ':');
        const char *end = colon ? colon : s + strlen(s);
        if (n == 3 || !parse_component(s, end, &parts[n]))
            return false;
        n++;
        if (!colon)
            break;
        s = colon + 1;
    }
    /* only the last part may have a fraction, and minutes/seconds stay < 60 */
    for (int i = 0; i < n - 1; i++)
        if (parts[i] != floor(parts[i]))
            return false;
    for (int i = 1; i < n; i++)
        if (parts[i] >= 60)
            return false;
    double total = 0;
    for (int i = 0; i < n; i++)
        total = total * 60 + parts[i];
    *seconds = total;
    return true;
}

bool cli_parse_time(const char *text, double *seconds)
{
    if (!text || !*text)
        return false;
    bool negative = text[0] == '-';
    const char *body = negative ? text + 1 : text;
    double value;
    if (strchr(body, ':')) {
        if (!parse_clock(body, &value))
            return false;
    } else if (!parse_component(body, body + strlen(body), &value)) {
        return false;
    }
    if (!isfinite(value))
        return false;
    *seconds = negative ? -value : value;
    return true;
}

int cli_parse_time_option(const char *name, const char *text, double *out, char *err,
                          size_t errlen)
{
    if (!cli_parse_time(text, out))
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "%s: '%s' is not a time (expected seconds such as 90 or 12.5, "
                         "or MM:SS / H:MM:SS)", name, text);
    if (*out < 0)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "%s must be >= 0 (got %s)", name, text);
    return CLI_EXIT_OK;
}

/* A plain number of minutes ("90", "2.5"), not a clock: "1:30" minutes
 * would be ambiguous. */
int cli_parse_minutes_option(const char *name, const char *text, double *out, char *err,
                             size_t errlen)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (!*text || !end || *end != '\0' || !isfinite(v))
        return util_errf(err, errlen, CLI_EXIT_USAGE, "%s: '%s' is not a number of minutes",
                         name, text);
    if (v <= 0)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "%s must be > 0 minutes (got %s)", name,
                         text);
    *out = v;
    return CLI_EXIT_OK;
}
