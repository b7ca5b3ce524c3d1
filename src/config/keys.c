/* keys: the table of configuration keys — the one place that says what each
 * key is called, its type, default, range, environment variable, and how it
 * is described. Two arrays indexed by the same config__key_id: the public
 * half (config_key_info, returned by config_keys) and the storage and
 * validation half (config__key). Loading, validation, `config show` and the
 * documentation all read these. */
#include "config/internal.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#define FIELD(f) .offset = offsetof(config_values, f), .size = sizeof(((config_values *)0)->f)

static bool is_lower(char ch)
{
    return ch >= 'a' && ch <= 'z';
}

static bool engine_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_lower(*s) && !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_')
            return false;
    return true;
}

static bool language_ok(const char *s)
{
    size_t n = strlen(s);
    if (strcmp(s, "auto") == 0)
        return true;
    if (n < 2 || n > 3)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower(s[i]))
            return false;
    return true;
}

static bool format_ok(const char *s)
{
    static const char *const names[] = {"txt", "md", "srt", "vtt", "json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

static bool nonempty_ok(const char *s)
{
    return *s != '\0';
}

static bool task_ok(const char *s)
{
    return strcmp(s, "transcribe") == 0 || strcmp(s, "translate") == 0;
}

static bool http_url_ok(const char *s)
{
    return (strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8]);
}

static bool precision_ok(const char *s)
{
    return strcmp(s, "exact") == 0 || strcmp(s, "fast") == 0;
}

static bool host_ok(const char *s)
{
    return *s && !strpbrk(s, " \t");
}

static const config_key_info infos[CONFIG__K_COUNT + 1] = {
    [CONFIG__K_ENGINE] = {"engine", "string", "CESAR_ENGINE",
                          "speech-recognition engine: auto (Whisper when its model "
                          "is installed, else PocketSphinx), whisper or pocketsphinx", false},
    [CONFIG__K_MODEL] = {"model", "string", "CESAR_MODEL",
                         "engine model name or path; empty = the engine's default", false},
    [CONFIG__K_LANGUAGE] = {"language", "string", "CESAR_LANGUAGE",
                            "spoken language: an ISO 639-1 code such as en, or auto", false},
    [CONFIG__K_THREADS] = {"threads", "integer", "CESAR_THREADS",
                           "decoding threads (0-256); 0 = one per CPU core", false},
    [CONFIG__K_TASK] = {"task", "string", "CESAR_TASK",
                        "Whisper: transcribe, or translate (speech in any language to "
                        "English text)", false},
    [CONFIG__K_BEAM_SIZE] = {"beam_size", "integer", "CESAR_BEAM_SIZE",
                             "Whisper: beams searched at temperature 0 (1-16; 1 = greedy)", false},
    [CONFIG__K_INITIAL_PROMPT] = {"initial_prompt", "string", "CESAR_INITIAL_PROMPT",
                                  "Whisper: text the first window is conditioned on (names, "
                                  "spelling, style)", false},
    [CONFIG__K_CONDITION_ON_PREVIOUS_TEXT] = {"condition_on_previous_text", "boolean",
                                              "CESAR_CONDITION_ON_PREVIOUS_TEXT",
                                              "Whisper: each window sees the text before it; "
                                              "turn off when output repeats itself", false},
    [CONFIG__K_TEMPERATURE_FALLBACK] = {"temperature_fallback", "boolean",
                                        "CESAR_TEMPERATURE_FALLBACK",
                                        "Whisper: decode a window again at temperatures 0.2 "
                                        "... 1.0 when its text repeats or is improbable", false},
    [CONFIG__K_VAD_FILTER] = {"vad_filter", "boolean", "CESAR_VAD_FILTER",
                              "Whisper: skip silences longer than 1 s, found with the Silero "
                              "VAD (vad_model), before decoding", false},
    [CONFIG__K_FORMAT] = {"format", "string", "CESAR_FORMAT",
                          "output format when -o has no known extension: txt, md, srt, vtt "
                          "or json", false},
    [CONFIG__K_DIARIZE] = {"diarize", "boolean", "CESAR_DIARIZE",
                           "label speakers in transcripts (--diarize / --no-diarize)", false},
    [CONFIG__K_MIN_SPEAKERS] = {"min_speakers", "integer", "CESAR_MIN_SPEAKERS",
                                "fewest speakers to look for when labelling speakers (1-32)",
                                false},
    [CONFIG__K_MAX_SPEAKERS] = {"max_speakers", "integer", "CESAR_MAX_SPEAKERS",
                                "most speakers to look for (1-32); not below min_speakers",
                                false},
    [CONFIG__K_VAD_MODEL] = {"vad_model", "string", "CESAR_VAD_MODEL",
                             "Silero VAD v6.2 model file (ggml) the built-in diarization "
                             "engine finds speech with (and vad_filter); empty = the one set at build time, "
                             "if any; \"none\" = find speech by energy", false},
    [CONFIG__K_DIARIZATION_ENGINE] = {"diarization_engine", "string",
                                      "CESAR_DIARIZATION_ENGINE",
                                      "speaker diarization engine: builtin (no download) or "
                                      "pyannote (pyannote 3.1 models, fetched with hf_token)",
                                      false},
    [CONFIG__K_DIARIZATION_STEP_MS] = {"diarization_step_ms", "integer",
                                       "CESAR_DIARIZATION_STEP_MS",
                                       "pyannote engine: milliseconds between the starts of its "
                                       "10 s analysis windows (100-10000; 1000 as pyannote 3.1)",
                                       false},
    [CONFIG__K_DIARIZATION_PRECISION] = {"diarization_precision", "string",
                                         "CESAR_DIARIZATION_PRECISION",
                                         "pyannote engine: exact (float32 accuracy) or fast "
                                         "(single bfloat16 products on CPUs with AMX: about "
                                         "twice as fast, embeddings ~1e-2 from float32)",
                                         false},
    [CONFIG__K_HF_TOKEN] = {"hf_token", "string", "CESAR_HF_TOKEN",
                            "Hugging Face access token for the pyannote models; when unset, "
                            "HF_TOKEN, then the file $HF_HOME/token (~/.cache/huggingface/token)",
                            true},
    [CONFIG__K_HUB_URL] = {"hub_url", "string", "CESAR_HUB_URL",
                           "Hugging Face hub the pyannote models are fetched from (https; the "
                           "token is sent only there)", false},
    [CONFIG__K_HUB_ALLOW_INSECURE] = {"hub_allow_insecure", "boolean", "CESAR_HUB_ALLOW_INSECURE",
                                      "allow an http:// hub_url on a loopback address (tests "
                                      "only; the token then travels unencrypted)", false},
    [CONFIG__K_DATA_DIR] = {"data_dir", "string", "CESAR_DATA_DIR",
                            "where models are kept; default $XDG_DATA_HOME/cesar or "
                            "~/.local/share/cesar", false},
    [CONFIG__K_CACHE_DIR] = {"cache_dir", "string", "CESAR_CACHE_DIR",
                             "cache directory; default $XDG_CACHE_HOME/cesar or ~/.cache/cesar",
                             false},
    [CONFIG__K_MODELS_DIR] = {"models_dir", "string", "CESAR_MODELS_DIR",
                              "where Whisper model files (ggml-NAME.bin) are kept; empty = "
                              "DATA_DIR/models", false},
    [CONFIG__K_MODELS_URL] = {"models_url", "string", "CESAR_MODELS_URL",
                              "Hugging Face repository `cesar models pull` downloads "
                              "BASE/resolve/main/ggml-NAME.bin from", false},
    [CONFIG__K_MODELS_CATALOG] = {"models_catalog", "string", "CESAR_MODELS_CATALOG",
                                  "file of extra known models, lines \"NAME SIZE SHA1\" "
                                  "(\"-\" = unknown); empty = the built-in list only", false},
    [CONFIG__K_ALLOW_PRIVATE_URLS] = {"allow_private_urls", "boolean", "CESAR_ALLOW_PRIVATE_URLS",
                                      "download links that lead to loopback, private, "
                                      "link-local or multicast addresses (off: refused)", false},
    [CONFIG__K_YTDLP_PATH] = {"ytdlp_path", "string", "CESAR_YTDLP_PATH",
                              "the yt-dlp program used for YouTube links (a name looked up "
                              "in PATH, or a path)", false},
    [CONFIG__K_DOWNLOAD_CONNECT_TIMEOUT] = {"download_connect_timeout", "integer",
                                            "CESAR_DOWNLOAD_CONNECT_TIMEOUT",
                                            "seconds to wait for a download's server to "
                                            "answer (1-3600)", false},
    [CONFIG__K_DOWNLOAD_TIMEOUT] = {"download_timeout", "integer", "CESAR_DOWNLOAD_TIMEOUT",
                                    "seconds a whole download may take (0-604800; 0 = no "
                                    "limit)", false},
    [CONFIG__K_CACHE_MAX_AGE] = {"cache_max_age", "integer", "CESAR_CACHE_MAX_AGE",
                                 "seconds a downloaded file is reused for the same link "
                                 "(0-31536000; 0 = never)", false},
    [CONFIG__K_CACHE_MAX_SIZE] = {"cache_max_size", "integer", "CESAR_CACHE_MAX_SIZE",
                                  "largest size of the download cache in bytes, oldest "
                                  "entries evicted first; the environment and flags also "
                                  "take K, M, G or T", false},
    [CONFIG__K_SERVER_HOST] = {"server.host", "string", "CESAR_SERVER_HOST",
                               "address the HTTP server listens on", false},
    [CONFIG__K_SERVER_PORT] = {"server.port", "integer", "CESAR_SERVER_PORT",
                               "TCP port of the HTTP server (0-65535; 0 = any free port)", false},
    [CONFIG__K_SERVER_WORKERS] = {"server.workers", "integer", "CESAR_SERVER_WORKERS",
                                  "transcriptions the server runs at once (1-64)", false},
    [CONFIG__K_SERVER_MAX_UPLOAD_SIZE] = {"server.max_upload_size", "integer",
                                          "CESAR_SERVER_MAX_UPLOAD_SIZE",
                                          "largest accepted upload in bytes; the environment "
                                          "and flags also take K, M, G or T (x1024: 512M, 2G)",
                                          false},
    [CONFIG__K_SERVER_API_KEY] = {"server.api_key", "string", "CESAR_SERVER_API_KEY",
                                  "key clients must send; empty = no authentication; read "
                                  "from CESAR_SERVER_API_KEY, else CESAR_API_KEY", true},
    [CONFIG__K_SERVER_DB] = {"server.db", "string", "CESAR_SERVER_DB",
                             "job database file; empty = DATA_DIR/jobs.db", false},
    [CONFIG__K_SERVER_SHUTDOWN_TIMEOUT] = {"server.shutdown_timeout", "integer",
                                           "CESAR_SERVER_SHUTDOWN_TIMEOUT",
                                           "seconds running jobs may take to finish on "
                                           "SIGTERM before they are re-queued (0-86400)", false},
    [CONFIG__K_COUNT] = {NULL, NULL, NULL, NULL, false},
};

static const config__key keys[CONFIG__K_COUNT] = {
    [CONFIG__K_ENGINE] = {CONFIG__STRING, FIELD(engine), .def_string = "auto",
                          .check = engine_ok, .expect = "an engine name (lowercase letters, "
                          "digits, '-' or '_')"},
    [CONFIG__K_MODEL] = {CONFIG__STRING, FIELD(model), .def_string = ""},
    [CONFIG__K_LANGUAGE] = {CONFIG__STRING, FIELD(language), .def_string = "en",
                            .check = language_ok, .expect = "an ISO 639-1 code (2-3 lowercase "
                            "letters) or \"auto\""},
    [CONFIG__K_THREADS] = {CONFIG__INTEGER, FIELD(threads), .min = 0, .max = 256},
    [CONFIG__K_TASK] = {CONFIG__STRING, FIELD(task), .def_string = "transcribe",
                        .check = task_ok, .expect = "transcribe or translate"},
    [CONFIG__K_BEAM_SIZE] = {CONFIG__INTEGER, FIELD(beam_size), .min = 1, .max = 16,
                             .def_number = 5},
    [CONFIG__K_INITIAL_PROMPT] = {CONFIG__STRING, FIELD(initial_prompt), .def_string = ""},
    [CONFIG__K_CONDITION_ON_PREVIOUS_TEXT] = {CONFIG__BOOLEAN, FIELD(condition_on_previous_text),
                                              .def_number = 1},
    [CONFIG__K_TEMPERATURE_FALLBACK] = {CONFIG__BOOLEAN, FIELD(temperature_fallback),
                                        .def_number = 1},
    [CONFIG__K_VAD_FILTER] = {CONFIG__BOOLEAN, FIELD(vad_filter), .def_number = 0},
    [CONFIG__K_FORMAT] = {CONFIG__STRING, FIELD(format), .def_string = "txt",
                          .check = format_ok, .expect = "one of txt, md, srt, vtt, json"},
    [CONFIG__K_DIARIZE] = {CONFIG__BOOLEAN, FIELD(diarize), .def_number = 1},
    [CONFIG__K_MIN_SPEAKERS] = {CONFIG__INTEGER, FIELD(min_speakers), .min = 1, .max = 32,
                                .def_number = 1},
    [CONFIG__K_MAX_SPEAKERS] = {CONFIG__INTEGER, FIELD(max_speakers), .min = 1, .max = 32,
                                .def_number = 8},
    [CONFIG__K_VAD_MODEL] = {CONFIG__STRING, FIELD(vad_model), .def_string = ""},
    [CONFIG__K_DIARIZATION_ENGINE] = {CONFIG__STRING, FIELD(diarization_engine),
                                      .def_string = "builtin", .check = engine_ok,
                                      .expect = "an engine name (lowercase letters, digits, "
                                      "'-' or '_')"},
    [CONFIG__K_DIARIZATION_STEP_MS] = {CONFIG__INTEGER, FIELD(diarization_step_ms), .min = 100,
                                       .max = 10000, .def_number = 1000},
    [CONFIG__K_DIARIZATION_PRECISION] = {CONFIG__STRING, FIELD(diarization_precision),
                                         .def_string = "exact", .check = precision_ok,
                                         .expect = "exact or fast"},
    [CONFIG__K_HF_TOKEN] = {CONFIG__STRING, FIELD(hf_token), .def_string = ""},
    [CONFIG__K_HUB_URL] = {CONFIG__STRING, FIELD(hub_url), .def_string = "https://huggingface.co",
                           .check = http_url_ok, .expect = "an http:// or https:// URL"},
    [CONFIG__K_HUB_ALLOW_INSECURE] = {CONFIG__BOOLEAN, FIELD(hub_allow_insecure),
                                      .def_number = 0},
    [CONFIG__K_DATA_DIR] = {CONFIG__STRING, FIELD(data_dir), .def_xdg = "XDG_DATA_HOME",
                            .def_home = ".local/share", .check = nonempty_ok,
                            .expect = "a non-empty directory path"},
    [CONFIG__K_CACHE_DIR] = {CONFIG__STRING, FIELD(cache_dir), .def_xdg = "XDG_CACHE_HOME",
                             .def_home = ".cache", .check = nonempty_ok,
                             .expect = "a non-empty directory path"},
    [CONFIG__K_MODELS_DIR] = {CONFIG__STRING, FIELD(models_dir), .def_string = ""},
    [CONFIG__K_MODELS_URL] = {CONFIG__STRING, FIELD(models_url),
                              .def_string = "https://huggingface.co/ggerganov/whisper.cpp",
                              .check = http_url_ok, .expect = "an http:// or https:// URL"},
    [CONFIG__K_MODELS_CATALOG] = {CONFIG__STRING, FIELD(models_catalog), .def_string = ""},
    [CONFIG__K_ALLOW_PRIVATE_URLS] = {CONFIG__BOOLEAN, FIELD(allow_private_urls),
                                      .def_number = 0},
    [CONFIG__K_YTDLP_PATH] = {CONFIG__STRING, FIELD(ytdlp_path), .def_string = "yt-dlp",
                              .check = nonempty_ok, .expect = "a program name or path"},
    [CONFIG__K_DOWNLOAD_CONNECT_TIMEOUT] = {CONFIG__INTEGER, FIELD(download_connect_timeout),
                                            .min = 1, .max = 3600, .def_number = 10},
    [CONFIG__K_DOWNLOAD_TIMEOUT] = {CONFIG__INTEGER, FIELD(download_timeout), .min = 0,
                                    .max = 604800, .def_number = 3600},
    [CONFIG__K_CACHE_MAX_AGE] = {CONFIG__INTEGER, FIELD(cache_max_age), .min = 0,
                                 .max = 31536000, .def_number = 86400},
    [CONFIG__K_CACHE_MAX_SIZE] = {CONFIG__INTEGER, FIELD(cache_max_size), .min = 0,
                                  .max = LLONG_MAX, .size_suffix = true,
                                  .def_number = 10737418240LL},
    [CONFIG__K_SERVER_HOST] = {CONFIG__STRING, FIELD(server_host), .def_string = "127.0.0.1",
                               .check = host_ok, .expect = "a host name or address (non-empty, "
                               "no spaces)"},
    [CONFIG__K_SERVER_PORT] = {CONFIG__INTEGER, FIELD(server_port), .min = 0, .max = 65535,
                               .def_number = 8000},
    [CONFIG__K_SERVER_WORKERS] = {CONFIG__INTEGER, FIELD(server_workers), .min = 1, .max = 64,
                                  .def_number = 1},
    [CONFIG__K_SERVER_MAX_UPLOAD_SIZE] = {CONFIG__INTEGER, FIELD(server_max_upload_size),
                                          .min = 1, .max = LLONG_MAX, .size_suffix = true,
                                          .def_number = 2147483648LL},
    [CONFIG__K_SERVER_API_KEY] = {CONFIG__STRING, FIELD(server_api_key), .def_string = "",
                                  .env_alias = "CESAR_API_KEY"},
    [CONFIG__K_SERVER_DB] = {CONFIG__STRING, FIELD(server_db), .def_string = ""},
    [CONFIG__K_SERVER_SHUTDOWN_TIMEOUT] = {CONFIG__INTEGER, FIELD(server_shutdown_timeout),
                                           .min = 0, .max = 86400, .def_number = 30},
};

const config_key_info *config_keys(void)
{
    return infos;
}

const config__key *config__key_at(int id)
{
    return id >= 0 && id < CONFIG__K_COUNT ? &keys[id] : NULL;
}

const config_key_info *config__info_at(int id)
{
    return id >= 0 && id < CONFIG__K_COUNT ? &infos[id] : NULL;
}

int config__key_find(const char *name)
{
    for (int id = 0; name && id < CONFIG__K_COUNT; id++)
        if (strcmp(infos[id].key, name) == 0)
            return id;
    return -1;
}

bool config__is_table(const char *name)
{
    size_t n = strlen(name);
    for (int id = 0; id < CONFIG__K_COUNT; id++)
        if (strncmp(infos[id].key, name, n) == 0 && infos[id].key[n] == '.')
            return true;
    return false;
}

const char *config__suggest(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *last = dot ? dot + 1 : name;
    for (int id = 0; id < CONFIG__K_COUNT; id++) {
        const char *kdot = strrchr(infos[id].key, '.');
        if (strcmp(kdot ? kdot + 1 : infos[id].key, last) == 0)
            return infos[id].key;
    }
    return NULL;
}
