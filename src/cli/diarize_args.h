/* diarize_args: the options of `cesar diarize`, parsed and resolved against
 * the configuration (flag > CESAR_* environment > file > default). Internal
 * to the CLI.
 */
#ifndef CESAR_CLI_DIARIZE_ARGS_H
#define CESAR_CLI_DIARIZE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "audio/audio.h"
#include "cli/speakers.h"
#include "config/config.h"

typedef struct {
    const char *input;       /* borrowed from argv */
    const char *output;      /* borrowed from argv; NULL or "-" = stdout */
    const char *config_path; /* --config, borrowed; NULL = default path */
    audio_window window;
    bool no_cache;           /* --no-cache: a URL input neither reads nor fills the cache */
    cli_speakers speakers;
    int verbosity;           /* -1 quiet, 0 normal, 1 verbose */
    bool help;
    config *cfg;             /* owned; free with cli_diarize_args_clear */
} cli_diarize_args;

/* Parses argv (argv[0] is "diarize"). On failure returns CLI_EXIT_USAGE with
 * a one-line message in err naming the option or argument; on success
 * CLI_EXIT_OK. Always call cli_diarize_args_clear afterwards. */
int cli_diarize_args_parse(int argc, char **argv, cli_diarize_args *args, char *err,
                           size_t errlen);
void cli_diarize_args_clear(cli_diarize_args *args); /* NULL-safe */

void cli_diarize_usage(FILE *f);

/* The RTTM file id for input: its base name without the last extension
 * ("talks/day 1.wav" -> "day 1"; a name that is only an extension, such as
 * ".wav", is kept whole). Written into buf (capacity n). Pure. */
void cli_rttm_file_id(const char *input, char *buf, size_t n);

#endif
