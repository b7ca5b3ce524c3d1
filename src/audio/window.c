/* window: turns the command-line time options (--start-time, --end-time,
 * --max-duration) into the audio_window the reader honours. Pure: no I/O,
 * no FFmpeg, so every rule is cheap to test.
 *
 * AUDIO_TIME_UNSET is the only "not given" value; the CLI passes it for an
 * absent option, so a negative number that reaches us was typed by the user
 * and is rejected rather than silently read as "not given". */
#include "audio/audio.h"
#include "util/util.h"

#include <math.h>

audio_params audio_default_params(void)
{
    audio_params p;
    p.window.start = 0.0;
    p.window.end = AUDIO_TIME_UNSET;
    return p;
}

static bool is_unset(double v)
{
    return v == AUDIO_TIME_UNSET;
}

/* Rejects NaN, infinity and negatives; names the option in the message. */
static int check_non_negative(const char *option, double v, char *err, size_t errlen)
{
    if (!isfinite(v))
        return util_errf(err, errlen, AUDIO_ERR_RANGE, "%s must be a finite number (got %g)",
                         option, v);
    if (v < 0)
        return util_errf(err, errlen, AUDIO_ERR_RANGE, "%s must be >= 0 (got %g)", option, v);
    return AUDIO_OK;
}

int audio_window_resolve(double start_time, double end_time, double max_minutes, audio_window *out,
                         char *err, size_t errlen)
{
    audio_window w = {0.0, AUDIO_TIME_UNSET};
    int rc = check_non_negative("--start-time", start_time, err, errlen);
    if (rc != AUDIO_OK)
        goto out;
    bool end_given = !is_unset(end_time);
    bool max_given = !is_unset(max_minutes);
    if (end_given && (rc = check_non_negative("--end-time", end_time, err, errlen)) != AUDIO_OK)
        goto out;
    if (max_given) {
        if (!isfinite(max_minutes)) {
            rc = util_errf(err, errlen, AUDIO_ERR_RANGE,
                           "--max-duration must be a finite number (got %g)", max_minutes);
            goto out;
        }
        if (max_minutes <= 0) {
            rc = util_errf(err, errlen, AUDIO_ERR_RANGE, "--max-duration must be > 0 (got %g)",
                           max_minutes);
            goto out;
        }
    }
    if (end_given && max_given) {
        rc = util_errf(err, errlen, AUDIO_ERR_RANGE,
                       "--max-duration cannot be combined with --end-time");
        goto out;
    }
    if (end_given && end_time <= start_time) {
        rc = util_errf(err, errlen, AUDIO_ERR_RANGE,
                       "--end-time (%g) must be after --start-time (%g)", end_time, start_time);
        goto out;
    }
    w.start = start_time;
    if (end_given)
        w.end = end_time;
    else if (max_given)
        w.end = start_time + max_minutes * 60.0;
    if (!isfinite(w.end)) {
        /* Only reachable through an absurd --max-duration such as 1e308. */
        w.end = AUDIO_TIME_UNSET;
        w.start = 0.0;
        rc = util_errf(err, errlen, AUDIO_ERR_RANGE, "--max-duration is too large (got %g)",
                       max_minutes);
        goto out;
    }
out:
    if (out)
        *out = w;
    return rc;
}
