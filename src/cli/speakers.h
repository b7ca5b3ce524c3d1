/* speakers: the speaker-count options that `cesar transcribe` and `cesar
 * diarize` share (--min-speakers, --max-speakers, --num-speakers), resolved
 * against the configuration, and the small sums their summaries print.
 * Internal to the CLI; everything here is pure, so it is unit-tested.
 */
#ifndef CESAR_CLI_SPEAKERS_H
#define CESAR_CLI_SPEAKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "diarize/diarize.h"

/* The options as typed; NULL = not given. Strings are borrowed from argv. */
typedef struct {
    const char *min;
    const char *max;
    const char *num;
} cli_speaker_flags;

/* Resolved counts, ready for diarize_params (0 = unset). */
typedef struct {
    int min;
    int max;
    int num;
} cli_speakers;

/* Option values for getopt_long tables; distinct from every other command's. */
enum {
    CLI_OPT_MIN_SPEAKERS = 2000,
    CLI_OPT_MAX_SPEAKERS,
    CLI_OPT_NUM_SPEAKERS,
    CLI_OPT_DIARIZATION_ENGINE,
};

/* ---- the diarization settings both commands share (diarization.c) ---- */

/* The configured engine (diarization_engine key or --diarization-engine) is
 * compiled in; else CLI_EXIT_USAGE with a message listing the engines. */
int cli_check_diarization_engine(const char *engine, char *err, size_t errlen);

/* dp's engine and the pyannote engine's settings from the configuration:
 * models and data directories, hub, configured token, window step. The
 * strings stay borrowed from v. */
void cli_diarization_settings(const char *engine, const char *models_dir, const char *data_dir,
                              const char *hub_url, bool hub_allow_insecure, const char *hf_token,
                              int step_ms, const char *precision, diarize_params *dp);

/* Records a speaker option in flags when c is one of CLI_OPT_*_SPEAKERS
 * (the last one given wins) and returns true; returns false for any other c. */
bool cli_speaker_option(cli_speaker_flags *flags, int c, const char *arg);

/* Checks the flags and combines them with the configured bounds
 * (config_min <= config_max, both 1..DIARIZE_MAX_SPEAKERS).
 *
 * Rules: every value given must be a whole number from 1 to
 * DIARIZE_MAX_SPEAKERS; --min-speakers must not exceed --max-speakers when
 * both are given, nor --num-speakers leave the bounds given on the command
 * line. A bound given on the command line beats a configured one: when it
 * conflicts, the configured bound moves to meet it (--min-speakers 10 with
 * max_speakers = 8 looks for exactly 10). With --num-speakers the count is
 * fixed, so min and max are set to it too.
 *
 * On failure returns CLI_EXIT_USAGE with a one-line message naming the
 * option, the value and what was expected; *out is then zeroed. */
int cli_speakers_resolve(const cli_speaker_flags *flags, int config_min, int config_max,
                         cli_speakers *out, char *err, size_t errlen);

/* Copies the counts into p's speaker fields. */
void cli_speakers_apply(const cli_speakers *s, diarize_params *p);

/* Seconds covered by at least one turn: overlapping turns (two people at
 * once) count once. turns must be sorted by start, as diarization results
 * are; n may be 0. */
double cli_speech_seconds(const diarize_turn *turns, size_t n);

/* "0 speakers", "1 speaker", "3 speakers" into buf. */
void cli_speaker_count_text(int n, char *buf, size_t len);

#endif
