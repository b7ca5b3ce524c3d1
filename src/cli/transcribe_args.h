/* transcribe_args: the options of `cesar transcribe`, parsed and resolved
 * against the configuration (flag > CESAR_* environment > file > default).
 * Internal to the CLI.
 */
#ifndef CESAR_CLI_TRANSCRIBE_ARGS_H
#define CESAR_CLI_TRANSCRIBE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "audio/audio.h"
#include "cli/speakers.h"
#include "config/config.h"
#include "format/format.h"

typedef struct {
    const char *input;      /* borrowed from argv */
    const char *output;     /* borrowed from argv; NULL or "-" = stdout */
    const char *config_path;/* --config, borrowed; NULL = default path */
    format_kind format;
    audio_window window;
    bool diarize;           /* label speakers (--diarize, else the 'diarize' key) */
    bool no_cache;          /* --no-cache: a URL input neither reads nor fills the cache */
    cli_speakers speakers;  /* counts for the diarizer, resolved (0 = unset) */
    int verbosity;          /* -1 quiet, 0 normal, 1 verbose */
    bool help;
    config *cfg;            /* owned; free with cli_transcribe_args_clear */
} cli_transcribe_args;

/* Parses argv (argv[0] is "transcribe"). On failure returns CLI_EXIT_USAGE
 * (or CLI_EXIT_FAILURE for an unreadable config file) with a message in err;
 * on success CLI_EXIT_OK. Always call cli_transcribe_args_clear afterwards. */
int cli_transcribe_args_parse(int argc, char **argv, cli_transcribe_args *args,
                              char *err, size_t errlen);
void cli_transcribe_args_clear(cli_transcribe_args *args);

void cli_transcribe_usage(FILE *f);

#endif
