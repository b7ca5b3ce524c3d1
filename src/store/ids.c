/* ids: job ids and timestamps. Ids are random UUIDs v4 from getrandom(2), so
 * they cannot be guessed and need no coordination between processes (nor
 * with the server, which may draw one with store_new_job_id before the row
 * exists).
 * Timestamps are ISO 8601 UTC with milliseconds in one fixed-width form, so
 * that comparing them as text orders them in time; the parser accepts only
 * that exact form, which is what keeps cursors and ordering honest. */
#include "store/store_backend.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int fill_random(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

int store_new_job_id(char out[STORE_ID_LEN + 1], char *err, size_t errlen)
{
    unsigned char b[16];
    out[0] = '\0';
    if (fill_random(b, sizeof b) != 0)
        return util_errf(err, errlen, STORE_ERR_DB, "cannot read random bytes for a job id: %s",
                         strerror(errno));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
    return STORE_OK;
}

bool store_is_job_id(const char *s)
{
    if (!s || strlen(s) != STORE_ID_LEN)
        return false;
    for (size_t i = 0; i < STORE_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

long long store__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void store__format_ts(long long ms, char out[STORE__TS_LEN + 1])
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    /* The compiler cannot see that the fields fit: format wide, then copy. */
    char wide[64];
    snprintf(wide, sizeof wide, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, (int)(ms % 1000));
    util_strlcpy(out, wide, STORE__TS_LEN + 1);
}

/* Reads n decimal digits at s; false if any is not a digit. */
static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

bool store__parse_ts(const char *s, long long *ms)
{
    if (!s || strlen(s) != STORE__TS_LEN)
        return false;
    static const char layout[] = "0000-00-00T00:00:00.000Z";
    for (size_t i = 0; i < STORE__TS_LEN; i++)
        if (layout[i] != '0' && s[i] != layout[i])
            return false;
    int y, mo, d, h, mi, se, mil;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) ||
        !digits(s + 20, 3, &mil))
        return false;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d) /* timegm normalised an impossible date */
        return false;
    *ms = (long long)t * 1000 + mil;
    return true;
}
