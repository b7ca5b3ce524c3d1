/* clock: every timestamp the renderers print — tenths for markdown, whole
 * seconds for durations, milliseconds for subtitles, and UTC dates.
 *
 * Invariant: a time is rounded to the unit it is printed in *before* it is
 * split into hours, minutes and seconds. Splitting first and rounding the
 * seconds afterwards is how "00:60.0" happens; rounding the total first makes
 * 59.96 s carry over into "01:00.0".
 */
#include "format/render.h"

#include <math.h>
#include <stdio.h>

/* Beyond this (about 31,700 years) a time is nonsense anyway; clamping keeps
 * llround's result in range for every unit we print. */
#define CLOCK_MAX_SECONDS 1e12

/* seconds * per_second, rounded to the nearest integer; 0 for negative or
 * NaN input (the comparison is false for NaN). */
static long long clock_units(double seconds, double per_second)
{
    if (!(seconds > 0))
        return 0;
    if (seconds > CLOCK_MAX_SECONDS)
        seconds = CLOCK_MAX_SECONDS;
    return llround(seconds * per_second);
}

void format_clock_tenths(double seconds, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    long long tenths = clock_units(seconds, 10.0);
    long long h = tenths / 36000;
    long long m = tenths / 600 % 60;
    long long s = tenths / 10 % 60;
    long long d = tenths % 10;
    if (h > 0)
        snprintf(buf, n, "%lld:%02lld:%02lld.%lld", h, m, s, d);
    else
        snprintf(buf, n, "%02lld:%02lld.%lld", m, s, d);
}

void format_duration(double seconds, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    long long total = clock_units(seconds, 1.0);
    long long h = total / 3600;
    long long m = total / 60 % 60;
    long long s = total % 60;
    if (h > 0)
        snprintf(buf, n, "%lld:%02lld:%02lld", h, m, s);
    else
        snprintf(buf, n, "%02lld:%02lld", m, s);
}

long long format__to_millis(double seconds)
{
    return clock_units(seconds, 1000.0);
}

void format__millis_text(long long ms, char sep, char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    if (ms < 0)
        ms = 0;
    snprintf(buf, n, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
             sep, ms % 1000);
}

void format_clock_millis(double seconds, char sep, char *buf, size_t n)
{
    format__millis_text(format__to_millis(seconds), sep, buf, n);
}

bool format__utc_text(time_t t, bool iso, char *buf, size_t n)
{
    if (!buf || n == 0)
        return false;
    buf[0] = '\0';
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    const char *layout = iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S UTC";
    return strftime(buf, n, layout, &tm) > 0;
}
