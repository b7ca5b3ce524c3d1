/* transcribe_args: command-line parsing for `cesar transcribe`. Every value
 * that also exists as a configuration key goes through config_set with
 * CONFIG_SRC_FLAG, so validation and precedence live in one place (config)
 * and `-v` can say where each value came from. The speaker counts are the
 * exception (see speakers.c): their messages name the flag, and a flag may
 * move a configured bound it conflicts with. */
#include "cli/transcribe_args.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/asr.h"
#include "cli/cli.h"
#include "util/util.h"

enum {
    OPT_START = 1000,
    OPT_END,
    OPT_MAX_DURATION,
    OPT_CONFIG,
    OPT_DIARIZE,
    OPT_NO_DIARIZE,
    OPT_NO_CACHE,
    OPT_TASK,
    OPT_BEAM_SIZE,
    OPT_INITIAL_PROMPT,
    OPT_CONDITION,
    OPT_NO_CONDITION,
    OPT_FALLBACK,
    OPT_NO_FALLBACK,
    OPT_VAD_FILTER,
    OPT_NO_VAD_FILTER,
    OPT_VAD_MODEL,
};

static const struct option transcribe_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"engine", required_argument, NULL, 'e'},
    {"model", required_argument, NULL, 'm'},
    {"language", required_argument, NULL, 'l'},
    {"threads", required_argument, NULL, 't'},
    {"start-time", required_argument, NULL, OPT_START},
    {"end-time", required_argument, NULL, OPT_END},
    {"max-duration", required_argument, NULL, OPT_MAX_DURATION},
    {"diarize", no_argument, NULL, OPT_DIARIZE},
    {"no-diarize", no_argument, NULL, OPT_NO_DIARIZE},
    {"min-speakers", required_argument, NULL, CLI_OPT_MIN_SPEAKERS},
    {"max-speakers", required_argument, NULL, CLI_OPT_MAX_SPEAKERS},
    {"num-speakers", required_argument, NULL, CLI_OPT_NUM_SPEAKERS},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"task", required_argument, NULL, OPT_TASK},
    {"beam-size", required_argument, NULL, OPT_BEAM_SIZE},
    {"initial-prompt", required_argument, NULL, OPT_INITIAL_PROMPT},
    {"condition-on-previous-text", no_argument, NULL, OPT_CONDITION},
    {"no-condition-on-previous-text", no_argument, NULL, OPT_NO_CONDITION},
    {"temperature-fallback", no_argument, NULL, OPT_FALLBACK},
    {"no-temperature-fallback", no_argument, NULL, OPT_NO_FALLBACK},
    {"vad-filter", no_argument, NULL, OPT_VAD_FILTER},
    {"no-vad-filter", no_argument, NULL, OPT_NO_VAD_FILTER},
    {"vad-model", required_argument, NULL, OPT_VAD_MODEL},
    {"diarization-engine", required_argument, NULL, CLI_OPT_DIARIZATION_ENGINE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void cli_transcribe_usage(FILE *f)
{
    fprintf(f,
        "Usage: cesar transcribe INPUT [-o OUTPUT] [options]\n"
        "\n"
        "Transcribe an audio or video file (wav, mp3, m4a, ogg, opus, flac, wma, webm,\n"
        "mp4, mkv, ...). The transcript is written to OUTPUT, or to standard output\n"
        "when -o is absent or '-'.\n"
        "\n"
        "INPUT may also be an http:// or https:// URL: a direct link to a media file,\n"
        "or a YouTube video (downloaded with yt-dlp). It is downloaded first (reusing\n"
        "a copy in CACHE_DIR/downloads younger than cache_max_age), into a temporary\n"
        "directory that is removed afterwards. Links to loopback or private addresses\n"
        "are refused unless allow_private_urls is true.\n"
        "\n"
        "Options:\n"
        "  -o, --output PATH       where to write the transcript; missing directories\n"
        "                          are created; written atomically\n"
        "  -f, --format FMT        txt, md, srt, vtt or json (default: from the -o\n"
        "                          extension, else the 'format' config key)\n"
        "  -e, --engine NAME       speech recognition engine: auto (the default: Whisper\n"
        "                          when its model is installed, else PocketSphinx),\n"
        "                          whisper or pocketsphinx\n"
        "  -m, --model NAME|PATH   engine model: for Whisper a name from `cesar models\n"
        "                          list` (default: base) or a ggml file's path\n"
        "  -l, --language CODE     language code such as en, or auto (Whisper detects it)\n"
        "      --task TASK         Whisper: transcribe (default) or translate to English\n"
        "      --beam-size N       Whisper: beams at temperature 0, 1-16 (default: 5;\n"
        "                          1 = greedy)\n"
        "      --initial-prompt T  Whisper: text the first window is conditioned on\n"
        "      --no-condition-on-previous-text\n"
        "                          Whisper: decode each window without the text before\n"
        "                          it (the cure for repeated lines)\n"
        "      --no-temperature-fallback\n"
        "                          Whisper: decode once at temperature 0, never again\n"
        "                          at 0.2 ... 1.0 when the text looks wrong (faster)\n"
        "      --vad-filter        Whisper: skip silences longer than 1 s (found with\n"
        "                          the Silero VAD) before decoding; times still refer\n"
        "                          to the input (default: the 'vad_filter' key, false)\n"
        "      --no-vad-filter     Whisper: decode all the audio\n"
        "      --vad-model PATH    Silero VAD v6.2 ggml file for --vad-filter and speaker\n"
        "                          labels (default: the 'vad_model' key, else the\n"
        "                          build's)\n"
        "  -t, --threads N         worker threads (0 = all cores)\n"
        "      --start-time T      start transcribing at T (seconds, or MM:SS, H:MM:SS)\n"
        "      --end-time T        stop at T\n"
        "      --max-duration MIN  transcribe at most MIN minutes from the start time\n"
        "      --diarize           label who speaks when (default: the 'diarize' config\n"
        "                          key, true)\n"
        "      --no-diarize        no speaker labels\n"
        "      --min-speakers N    fewest speakers to look for, 1-32 (default:\n"
        "                          min_speakers, 1)\n"
        "      --max-speakers N    most speakers to look for, 1-32 (default:\n"
        "                          max_speakers, 8)\n"
        "      --num-speakers N    exactly N speakers, 1-32 (default: let the audio\n"
        "                          decide)\n"
        "      --diarization-engine E\n"
        "                          builtin (default: no download) or pyannote (pyannote\n"
        "                          3.1's models, fetched once with a Hugging Face token:\n"
        "                          hf_token, HF_TOKEN or ~/.cache/huggingface/token)\n"
        "      --no-cache          for a URL: download again, and keep no copy\n"
        "      --config PATH       configuration file (default:\n"
        "                          $XDG_CONFIG_HOME/cesar/config.toml)\n"
        "  -q, --quiet             print nothing on success\n"
        "  -v, --verbose           also print engine, model, threads and system details\n"
        "  -h, --help              show this help\n"
        "\n"
        "Exit codes: 0 success, 1 failure (including a URL that cannot be downloaded),\n"
        "2 usage error,\n"
        "3 transcript written but speaker diarization failed (no speaker labels; for\n"
        "pyannote also a missing or refused Hugging Face token),\n"
        "130 interrupted.\n");
}

static int load_config(cli_transcribe_args *a, int argc, char **argv, char *err,
                       size_t errlen)
{
    a->config_path = cli_find_config_flag(argc, argv);
    return cli_load_config(a->config_path, &a->cfg, err, errlen);
}

static int set_flag(cli_transcribe_args *a, const char *key, const char *value, char *err,
                    size_t errlen)
{
    char msg[512];
    if (config_set(a->cfg, key, value, CONFIG_SRC_FLAG, msg, sizeof msg) != CONFIG_OK)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "%s", msg);
    return CLI_EXIT_OK;
}

/* What the options say before it is resolved against the configuration. */
typedef struct {
    double start, end, max_minutes;
    const char *format_flag;
    cli_speaker_flags speakers;
} time_and_format;

static int apply_option(cli_transcribe_args *a, int c, const char *arg, time_and_format *tf,
                        char *err, size_t errlen)
{
    switch (c) {
    case 'o': a->output = arg; return CLI_EXIT_OK;
    case 'f': tf->format_flag = arg; return CLI_EXIT_OK;
    case 'e': return set_flag(a, "engine", arg, err, errlen);
    case 'm': return set_flag(a, "model", arg, err, errlen);
    case 'l': return set_flag(a, "language", arg, err, errlen);
    case 't': return set_flag(a, "threads", arg, err, errlen);
    case OPT_START: return cli_parse_time_option("--start-time", arg, &tf->start, err, errlen);
    case OPT_END: return cli_parse_time_option("--end-time", arg, &tf->end, err, errlen);
    case OPT_MAX_DURATION:
        return cli_parse_minutes_option("--max-duration", arg, &tf->max_minutes, err, errlen);
    case OPT_DIARIZE: return set_flag(a, "diarize", "true", err, errlen);
    case OPT_NO_DIARIZE: return set_flag(a, "diarize", "false", err, errlen);
    case OPT_TASK: return set_flag(a, "task", arg, err, errlen);
    case OPT_BEAM_SIZE: return set_flag(a, "beam_size", arg, err, errlen);
    case OPT_INITIAL_PROMPT: return set_flag(a, "initial_prompt", arg, err, errlen);
    case OPT_CONDITION: return set_flag(a, "condition_on_previous_text", "true", err, errlen);
    case OPT_NO_CONDITION:
        return set_flag(a, "condition_on_previous_text", "false", err, errlen);
    case OPT_FALLBACK: return set_flag(a, "temperature_fallback", "true", err, errlen);
    case OPT_NO_FALLBACK: return set_flag(a, "temperature_fallback", "false", err, errlen);
    case OPT_VAD_FILTER: return set_flag(a, "vad_filter", "true", err, errlen);
    case OPT_NO_VAD_FILTER: return set_flag(a, "vad_filter", "false", err, errlen);
    case OPT_VAD_MODEL: return set_flag(a, "vad_model", arg, err, errlen);
    case CLI_OPT_DIARIZATION_ENGINE: return set_flag(a, "diarization_engine", arg, err, errlen);
    case CLI_OPT_MIN_SPEAKERS:
    case CLI_OPT_MAX_SPEAKERS:
    case CLI_OPT_NUM_SPEAKERS: cli_speaker_option(&tf->speakers, c, arg); return CLI_EXIT_OK;
    case OPT_NO_CACHE: a->no_cache = true; return CLI_EXIT_OK;
    case OPT_CONFIG: return CLI_EXIT_OK; /* handled by load_config */
    case 'q': a->verbosity = -1; return CLI_EXIT_OK;
    case 'v': a->verbosity = 1; return CLI_EXIT_OK;
    case 'h': a->help = true; return CLI_EXIT_OK;
    default:
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "unknown or incomplete option (see 'cesar transcribe --help')");
    }
}

/* --format wins; then a known -o extension; then the configured default. */
static int resolve_format(cli_transcribe_args *a, const char *format_flag, char *err,
                          size_t errlen)
{
    if (format_flag) {
        if (format_from_name(format_flag, &a->format) != FORMAT_OK)
            return util_errf(err, errlen, CLI_EXIT_USAGE, "--format: '%s' is not a format "
                             "(expected one of %s)", format_flag, format_names_list());
        return CLI_EXIT_OK;
    }
    if (a->output && strcmp(a->output, "-") != 0 &&
        format_from_path(a->output, &a->format) == FORMAT_OK)
        return CLI_EXIT_OK;
    const char *configured = config_get(a->cfg)->format;
    if (format_from_name(configured, &a->format) != FORMAT_OK)
        return util_errf(err, errlen, CLI_EXIT_USAGE, "configured format '%s' is not one of %s",
                         configured, format_names_list());
    return CLI_EXIT_OK;
}

static int check_engine(cli_transcribe_args *a, char *err, size_t errlen)
{
    const char *engine = config_get(a->cfg)->engine;
    if (strcmp(engine, "auto") == 0 || asr_engine_known(engine))
        return CLI_EXIT_OK;
    char list[256] = "auto";
    for (const char *const *n = asr_engine_names(); *n; n++) {
        if (list[0])
            strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, *n, sizeof list - strlen(list) - 1);
    }
    return util_errf(err, errlen, CLI_EXIT_USAGE, "engine '%s' is not available (expected one "
                     "of: %s)", engine, list);
}

static int parse_options(int argc, char **argv, cli_transcribe_args *a, time_and_format *tf,
                         char *err, size_t errlen)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:f:e:m:l:t:qvh", transcribe_options, NULL)) != -1) {
        if (c == ':')
            return util_errf(err, errlen, CLI_EXIT_USAGE, "option '%s' needs a value",
                             argv[optind - 1]);
        if (c == '?') {
            if (optopt)
                return util_errf(err, errlen, CLI_EXIT_USAGE, "unknown option '-%c'", optopt);
            return util_errf(err, errlen, CLI_EXIT_USAGE, "unknown option '%s'",
                             argv[optind - 1]);
        }
        int rc = apply_option(a, c, optarg, tf, err, errlen);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    return CLI_EXIT_OK;
}

int cli_transcribe_args_parse(int argc, char **argv, cli_transcribe_args *a, char *err,
                              size_t errlen)
{
    memset(a, 0, sizeof *a);
    time_and_format tf = {0, AUDIO_TIME_UNSET, AUDIO_TIME_UNSET, NULL, {NULL, NULL, NULL}};

    int rc = load_config(a, argc, argv, err, errlen);
    if (rc != CLI_EXIT_OK)
        return rc;
    rc = parse_options(argc, argv, a, &tf, err, errlen);
    if (rc != CLI_EXIT_OK || a->help)
        return rc;
    if (optind >= argc)
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "no input file given (usage: cesar transcribe INPUT [-o OUTPUT])");
    if (optind + 1 < argc)
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "expected one input file, got '%s' and '%s' (use -o for the output)",
                         argv[optind], argv[optind + 1]);
    a->input = argv[optind];

    if ((rc = check_engine(a, err, errlen)) != CLI_EXIT_OK)
        return rc;
    if ((rc = resolve_format(a, tf.format_flag, err, errlen)) != CLI_EXIT_OK)
        return rc;
    if (audio_window_resolve(tf.start, tf.end, tf.max_minutes, &a->window, err, errlen) !=
        AUDIO_OK)
        return CLI_EXIT_USAGE;
    /* Speaker counts are checked even with --no-diarize: a bad value is a
     * mistake worth hearing about whichever way the run goes. */
    const config_values *v = config_get(a->cfg);
    a->diarize = v->diarize;
    if ((rc = cli_check_diarization_engine(v->diarization_engine, err, errlen)) != CLI_EXIT_OK)
        return rc;
    return cli_speakers_resolve(&tf.speakers, v->min_speakers, v->max_speakers, &a->speakers,
                                err, errlen);
}

void cli_transcribe_args_clear(cli_transcribe_args *a)
{
    if (!a)
        return;
    config_free(a->cfg);
    a->cfg = NULL;
}
