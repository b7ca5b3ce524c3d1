/* speakers: --min-speakers / --max-speakers / --num-speakers. The flags are
 * checked here rather than through config_set, because the messages must
 * name the flag the user typed (not the config key), and because a flag may
 * move a configured bound that it conflicts with, which the configuration's
 * own rule (min_speakers <= max_speakers, an error) does not allow. */
#include "cli/speakers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/util.h"

bool cli_speaker_option(cli_speaker_flags *flags, int c, const char *arg)
{
    switch (c) {
    case CLI_OPT_MIN_SPEAKERS: flags->min = arg; return true;
    case CLI_OPT_MAX_SPEAKERS: flags->max = arg; return true;
    case CLI_OPT_NUM_SPEAKERS: flags->num = arg; return true;
    default: return false;
    }
}

/* One count: an optional '-' (so "-1" is reported as out of range, not as
 * garbage) and digits, nothing else — strtol alone would take " 3" and "3x". */
static int parse_count(const char *flag, const char *text, int *out, char *err, size_t errlen)
{
    const char *digits = text[0] == '-' ? text + 1 : text;
    bool ok = digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits);
    if (!ok)
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "%s: '%s' is not a whole number (expected 1 to %d)", flag, text,
                         DIARIZE_MAX_SPEAKERS);
    /* Too many digits saturate at LONG_MAX, which is out of range too. */
    long v = strtol(text, NULL, 10);
    if (v < 1 || v > DIARIZE_MAX_SPEAKERS)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "%s must be from 1 to %d, got %s", flag,
                         DIARIZE_MAX_SPEAKERS, text);
    *out = (int)v;
    return CLI_EXIT_OK;
}

/* --num-speakers against the bounds given on the command line; configured
 * bounds do not count, since an exact count overrides them. */
static int check_num(const cli_speaker_flags *f, int min, int max, int num, char *err,
                     size_t errlen)
{
    if (f->min && f->max && (num < min || num > max))
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "--num-speakers %d is outside --min-speakers %d to --max-speakers %d "
                         "(expected a count within them)", num, min, max);
    if (f->min && num < min)
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "--num-speakers %d is less than --min-speakers %d (expected at least %d)",
                         num, min, min);
    if (f->max && num > max)
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "--num-speakers %d is greater than --max-speakers %d (expected at most "
                         "%d)", num, max, max);
    return CLI_EXIT_OK;
}

int cli_speakers_resolve(const cli_speaker_flags *flags, int config_min, int config_max,
                         cli_speakers *out, char *err, size_t errlen)
{
    int min = config_min, max = config_max, num = 0;
    int rc = CLI_EXIT_OK;
    memset(out, 0, sizeof *out);
    if ((flags->min && (rc = parse_count("--min-speakers", flags->min, &min, err, errlen))) ||
        (flags->max && (rc = parse_count("--max-speakers", flags->max, &max, err, errlen))) ||
        (flags->num && (rc = parse_count("--num-speakers", flags->num, &num, err, errlen))))
        goto cleanup;
    if (flags->min && flags->max && min > max) {
        rc = util_errf(err, errlen, CLI_EXIT_USAGE,
                       "--min-speakers %d is greater than --max-speakers %d (expected min <= "
                       "max)", min, max);
        goto cleanup;
    }
    if (flags->num && (rc = check_num(flags, min, max, num, err, errlen)) != CLI_EXIT_OK)
        goto cleanup;
    /* Only one bound was typed: the configured other one gives way. */
    if (min > max) {
        if (flags->min)
            max = min;
        else
            min = max;
    }
    if (num)
        min = max = num;
    out->min = min;
    out->max = max;
    out->num = num;

cleanup:
    return rc;
}

void cli_speakers_apply(const cli_speakers *s, diarize_params *p)
{
    p->min_speakers = s->min;
    p->max_speakers = s->max;
    p->num_speakers = s->num;
}

double cli_speech_seconds(const diarize_turn *turns, size_t n)
{
    double total = 0, run_start = 0, run_end = 0;
    bool in_run = false;
    for (size_t i = 0; i < n; i++) {
        const diarize_turn *t = &turns[i];
        if (!(t->end > t->start))
            continue;
        if (in_run && t->start <= run_end) {
            if (t->end > run_end)
                run_end = t->end;
            continue;
        }
        if (in_run)
            total += run_end - run_start;
        run_start = t->start;
        run_end = t->end;
        in_run = true;
    }
    if (in_run)
        total += run_end - run_start;
    return total;
}

void cli_speaker_count_text(int n, char *buf, size_t len)
{
    snprintf(buf, len, "%d speaker%s", n, n == 1 ? "" : "s");
}
