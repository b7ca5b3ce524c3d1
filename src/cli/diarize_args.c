/* diarize_args: command-line parsing for `cesar diarize`. It shares the
 * time-window options with `cesar transcribe` (same names, same messages)
 * and the speaker-count options (speakers.c); values that are configuration
 * keys (threads) go through config_set so precedence lives in config. */
#include "cli/diarize_args.h"

#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "util/util.h"

enum {
    OPT_START = 1000,
    OPT_END,
    OPT_MAX_DURATION,
    OPT_CONFIG,
    OPT_NO_CACHE,
};

static const struct option diarize_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"threads", required_argument, NULL, 't'},
    {"min-speakers", required_argument, NULL, CLI_OPT_MIN_SPEAKERS},
    {"max-speakers", required_argument, NULL, CLI_OPT_MAX_SPEAKERS},
    {"num-speakers", required_argument, NULL, CLI_OPT_NUM_SPEAKERS},
    {"start-time", required_argument, NULL, OPT_START},
    {"end-time", required_argument, NULL, OPT_END},
    {"max-duration", required_argument, NULL, OPT_MAX_DURATION},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"diarization-engine", required_argument, NULL, CLI_OPT_DIARIZATION_ENGINE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void cli_diarize_usage(FILE *f)
{
    fprintf(f,
        "Usage: cesar diarize INPUT [-o OUTPUT.rttm] [options]\n"
        "\n"
        "Find who speaks when in an audio or video file, without transcribing it, and\n"
        "write the speaker turns as RTTM (one SPEAKER line per turn; speakers named\n"
        "speaker1, speaker2 ... in order of first appearance; the file id is INPUT's\n"
        "name without its extension). Output goes to OUTPUT, or to standard output\n"
        "when -o is absent or '-'. Audio with no speech gives an empty file.\n"
        "\n"
        "INPUT may also be an http:// or https:// URL (a direct media link or a\n"
        "YouTube video), downloaded first as by 'cesar transcribe'; the file id is\n"
        "then the URL's last path segment or the video id.\n"
        "\n"
        "Options:\n"
        "  -o, --output PATH       where to write the RTTM; missing directories are\n"
        "                          created; written atomically\n"
        "      --min-speakers N    fewest speakers to look for, 1-32 (default:\n"
        "                          min_speakers, 1)\n"
        "      --max-speakers N    most speakers to look for, 1-32 (default:\n"
        "                          max_speakers, 8)\n"
        "      --num-speakers N    exactly N speakers, 1-32 (default: let the audio\n"
        "                          decide)\n"
        "      --start-time T      start at T (seconds, or MM:SS, H:MM:SS); RTTM times\n"
        "                          stay times in the file\n"
        "      --end-time T        stop at T\n"
        "      --max-duration MIN  at most MIN minutes from the start time\n"
        "      --diarization-engine E\n"
        "                          builtin (default: no download) or pyannote (pyannote\n"
        "                          3.1's models, fetched once with a Hugging Face token:\n"
        "                          hf_token, HF_TOKEN or ~/.cache/huggingface/token)\n"
        "  -t, --threads N         worker threads (0 = all cores)\n"
        "      --no-cache          for a URL: download again, and keep no copy\n"
        "      --config PATH       configuration file (default:\n"
        "                          $XDG_CONFIG_HOME/cesar/config.toml)\n"
        "  -q, --quiet             print nothing on success\n"
        "  -v, --verbose           also print the input's details\n"
        "  -h, --help              show this help\n"
        "\n"
        "Exit codes: 0 success (also for audio without speech), 1 failure (the input\n"
        "cannot be read, diarization failed, the output cannot be written; nothing is\n"
        "written), 2 usage error, 130 interrupted.\n");
}

/* Before the command line is resolved against the configuration. */
typedef struct {
    double start, end, max_minutes;
    cli_speaker_flags speakers;
} pending;

static int apply_option(cli_diarize_args *a, int c, const char *arg, pending *p, char *err,
                        size_t errlen)
{
    char msg[512];
    if (cli_speaker_option(&p->speakers, c, arg))
        return CLI_EXIT_OK;
    switch (c) {
    case 'o': a->output = arg; return CLI_EXIT_OK;
    case 't':
        if (config_set(a->cfg, "threads", arg, CONFIG_SRC_FLAG, msg, sizeof msg) != CONFIG_OK)
            return util_errf(err, errlen, CLI_EXIT_USAGE, "%s", msg);
        return CLI_EXIT_OK;
    case OPT_START: return cli_parse_time_option("--start-time", arg, &p->start, err, errlen);
    case OPT_END: return cli_parse_time_option("--end-time", arg, &p->end, err, errlen);
    case OPT_MAX_DURATION:
        return cli_parse_minutes_option("--max-duration", arg, &p->max_minutes, err, errlen);
    case OPT_NO_CACHE: a->no_cache = true; return CLI_EXIT_OK;
    case CLI_OPT_DIARIZATION_ENGINE:
        if (config_set(a->cfg, "diarization_engine", arg, CONFIG_SRC_FLAG, msg, sizeof msg) !=
            CONFIG_OK)
            return util_errf(err, errlen, CLI_EXIT_USAGE, "%s", msg);
        return CLI_EXIT_OK;
    case OPT_CONFIG: return CLI_EXIT_OK; /* read before the other options */
    case 'q': a->verbosity = -1; return CLI_EXIT_OK;
    case 'v': a->verbosity = 1; return CLI_EXIT_OK;
    case 'h': a->help = true; return CLI_EXIT_OK;
    default:
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "unknown or incomplete option (see 'cesar diarize --help')");
    }
}

static int parse_options(int argc, char **argv, cli_diarize_args *a, pending *p, char *err,
                         size_t errlen)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:t:qvh", diarize_options, NULL)) != -1) {
        if (c == ':')
            return util_errf(err, errlen, CLI_EXIT_USAGE, "option '%s' needs a value",
                             argv[optind - 1]);
        if (c == '?') {
            if (optopt)
                return util_errf(err, errlen, CLI_EXIT_USAGE, "unknown option '-%c'", optopt);
            return util_errf(err, errlen, CLI_EXIT_USAGE, "unknown option '%s'",
                             argv[optind - 1]);
        }
        int rc = apply_option(a, c, optarg, p, err, errlen);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    return CLI_EXIT_OK;
}

int cli_diarize_args_parse(int argc, char **argv, cli_diarize_args *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    pending p = {0, AUDIO_TIME_UNSET, AUDIO_TIME_UNSET, {NULL, NULL, NULL}};

    a->config_path = cli_find_config_flag(argc, argv);
    int rc = cli_load_config(a->config_path, &a->cfg, err, errlen);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = parse_options(argc, argv, a, &p, err, errlen);
    if (rc != CLI_EXIT_OK || a->help)
        return rc;
    if (optind >= argc)
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "no input file given (usage: cesar diarize INPUT [-o OUTPUT.rttm])");
    if (optind + 1 < argc)
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "expected one input file, got '%s' and '%s' (use -o for the output)",
                         argv[optind], argv[optind + 1]);
    a->input = argv[optind];
    if (audio_window_resolve(p.start, p.end, p.max_minutes, &a->window, err, errlen) !=
        AUDIO_OK)
        return CLI_EXIT_USAGE;
    const config_values *v = config_get(a->cfg);
    if ((rc = cli_check_diarization_engine(v->diarization_engine, err, errlen)) != CLI_EXIT_OK)
        return rc;
    return cli_speakers_resolve(&p.speakers, v->min_speakers, v->max_speakers, &a->speakers,
                                err, errlen);
}

void cli_diarize_args_clear(cli_diarize_args *a)
{
    if (!a)
        return;
    config_free(a->cfg);
    a->cfg = NULL;
}

void cli_rttm_file_id(const char *input, char *buf, size_t n)
{
    const char *slash = strrchr(input, '/');
    const char *base = slash ? slash + 1 : input;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (n == 0)
        return;
    if (len >= n)
        len = n - 1;
    memcpy(buf, base, len);
    buf[len] = '\0';
}
