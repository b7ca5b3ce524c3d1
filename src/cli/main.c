/* main: `cesar` entry point — global flags and dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/util.h"

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: cesar COMMAND [options]\n"
        "\n"
        "Offline audio transcription.\n"
        "\n"
        "Commands:\n"
        "  transcribe INPUT [-o OUTPUT]  transcribe an audio or video file (with speaker\n"
        "                                labels unless --no-diarize)\n"
        "  diarize INPUT [-o OUT.rttm]   find who speaks when; write RTTM speaker turns\n"
        "  serve [options]               run the HTTP API with a job queue and workers\n"
        "  config show|path              show the effective configuration or its file path\n"
        "  models list|pull|rm|path      manage Whisper model files (download, verify,\n"
        "                                remove, locate)\n"
        "  wer REFERENCE HYPOTHESIS      word error rate of a transcript against a reference\n"
        "  der REFERENCE HYPOTHESIS      diarization error rate of RTTM speaker turns\n"
        "\n"
        "Options:\n"
        "  -h, --help      show this help (COMMAND --help for a command's options)\n"
        "  -V, --version   print the version\n"
        "\n"
        "Exit codes: 0 success, 1 failure, 2 usage error, 3 transcript written but\n"
        "speaker labels missing (diarization failed), 130 interrupted.\n");
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"transcribe", cli_cmd_transcribe},
    {"diarize", cli_cmd_diarize},
    {"config", cli_cmd_config},
    {"wer", cli_cmd_wer},
    {"der", cli_cmd_der},
    {"serve", cli_cmd_serve},
    {"models", cli_cmd_models},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 ||
        strcmp(name, "version") == 0) {
        printf("cesar %s\n", CESAR_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cli_error("unknown command '%s' (expected transcribe, diarize, serve, config, models, wer "
              "or der; see 'cesar --help')",
              name);
    return CLI_EXIT_USAGE;
}
