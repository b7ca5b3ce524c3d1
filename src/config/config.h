/* config: Cesar's effective configuration and where each value came from.
 *
 * Precedence, lowest to highest: built-in default < config file
 * ($XDG_CONFIG_HOME/cesar/config.toml, ~/.config/cesar/config.toml, or an
 * explicit path) < CESAR_* environment variables < command-line flags.
 * Every key is described once in a table (keys.c): its name, type, default,
 * environment variable and whether it is a secret; loading, validation and
 * `cesar config show` all read that table.
 */
#ifndef CESAR_CONFIG_H
#define CESAR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_STRING 1024

typedef enum {
    CONFIG_OK = 0,
    CONFIG_ERR_FILE,      /* config file unreadable or not TOML; message names it */
    CONFIG_ERR_UNKNOWN_KEY, /* message: "FILE:LINE: unknown key 'x'" */
    CONFIG_ERR_TYPE,      /* message: "FILE:LINE: key 'x' must be an integer" */
    CONFIG_ERR_VALUE,     /* well-typed but out of range / not allowed */
    CONFIG_ERR_NOMEM,
} config_err;

const char *config_strerror(int code);

typedef enum {
    CONFIG_SRC_DEFAULT = 0,
    CONFIG_SRC_FILE,
    CONFIG_SRC_ENV,
    CONFIG_SRC_FLAG,
} config_source;

const char *config_source_name(config_source s); /* "default", "file", "env", "flag" */

typedef struct {
    /* general */
    char engine[64];                 /* "auto", "whisper" or "pocketsphinx" */
    char model[CONFIG_MAX_STRING];   /* "" = engine default */
    char language[16];               /* "en", or "auto" */
    int threads;                     /* 0 = number of cores */
    char task[16];                   /* Whisper: "transcribe" or "translate" */
    int beam_size;                   /* Whisper: 5; 1 = greedy */
    char initial_prompt[CONFIG_MAX_STRING]; /* Whisper: text conditioning the first window */
    bool condition_on_previous_text; /* Whisper: true */
    bool temperature_fallback;       /* Whisper: true */
    bool vad_filter;                 /* Whisper: skip long silences (Silero, vad_model); false */
    char format[16];                 /* default output format when -o has no known extension */
    bool diarize;                    /* default for --diarize / --no-diarize (true) */
    int min_speakers;                /* 1 */
    int max_speakers;                /* 8 */
    char vad_model[CONFIG_MAX_STRING]; /* Silero VAD file; "" = the build's default */
    char diarization_engine[64];     /* "builtin" (default) or "pyannote" */
    int diarization_step_ms;         /* pyannote: step between 10 s windows, 1000 */
    char diarization_precision[16];  /* pyannote embeddings: "exact" (default) or "fast" */
    char hf_token[CONFIG_MAX_STRING];/* secret; see models_hf_token_resolve */
    char hub_url[CONFIG_MAX_STRING]; /* "https://huggingface.co" */
    bool hub_allow_insecure;         /* http:// hub on loopback only (tests) */
    char data_dir[CONFIG_MAX_STRING];  /* $XDG_DATA_HOME/cesar */
    char cache_dir[CONFIG_MAX_STRING]; /* $XDG_CACHE_HOME/cesar */
    char models_dir[CONFIG_MAX_STRING];  /* Whisper models; "" = DATA_DIR/models */
    char models_url[CONFIG_MAX_STRING];  /* "https://huggingface.co/ggerganov/whisper.cpp" */
    char models_catalog[CONFIG_MAX_STRING]; /* user catalog file; "" = none */
    /* links (URL and YouTube input) */
    bool allow_private_urls;         /* false: refuse loopback/private targets */
    char ytdlp_path[CONFIG_MAX_STRING]; /* "yt-dlp" */
    int download_connect_timeout;    /* seconds, 10 */
    int download_timeout;            /* seconds, 3600; 0 = none */
    int cache_max_age;               /* seconds a download is reused, 86400; 0 = never */
    long long cache_max_size;        /* bytes, 10 GiB */
    /* [server] */
    char server_host[256];           /* "127.0.0.1" */
    int server_port;                 /* 8000; 0 = any free port */
    int server_workers;              /* 1 */
    long long server_max_upload_size;/* bytes, 2 GiB */
    char server_api_key[CONFIG_MAX_STRING]; /* secret */
    char server_db[CONFIG_MAX_STRING];      /* "" = DATA_DIR/jobs.db */
    int server_shutdown_timeout;            /* seconds running jobs get on SIGTERM */
} config_values;

typedef struct config config;

/* Built-in defaults only (directories derived from XDG variables / HOME).
 * Caller owns the result; free with config_free. NULL when out of memory. */
config *config_new(void);
void config_free(config *c); /* NULL-safe */

/* Effective values. Borrowed, valid until config_free; changes with set/load. */
const config_values *config_get(const config *c);

/* The file that would be read when none is given: $XDG_CONFIG_HOME/cesar/
 * config.toml or ~/.config/cesar/config.toml. Writes into buf. */
void config_default_path(char *buf, size_t n);

/* Loads a config file on top of the defaults. With explicit == false a
 * missing file is fine (the default path need not exist); with explicit ==
 * true (--config PATH) it is an error. path NULL means config_default_path.
 * Messages read "PATH:LINE: unknown key 'x'", "PATH:LINE: key 'server.port'
 * must be an integer between 1 and 65535, got string", "PATH: No such file or
 * directory". On any error the configuration is left unchanged. */
int config_load_file(config *c, const char *path, bool explicit_path,
                     char *err, size_t errlen);

/* Applies CESAR_* variables from the process environment (CESAR_ENGINE,
 * CESAR_SERVER_PORT, ...; a key's dots become underscores, upper-cased).
 * server.api_key also reads CESAR_API_KEY when the CESAR_ variable is unset.
 * (hf_token does not read HF_TOKEN here: the configured token comes first
 * and HF_TOKEN only after it, see models_hf_token_resolve.) A variable set
 * to "" counts as unset. Bad values
 * are errors naming the variable: "environment variable CESAR_THREADS:
 * expected an integer between 0 and 256, got 'abc'"; the configuration is
 * then left unchanged. */
int config_load_env(config *c, char *err, size_t errlen);

/* Sets key (dotted name, e.g. "server.port") from text, as given on the
 * command line or in the environment, recording src. Validates type and
 * range; the message names the key and what was expected ("key 'threads'
 * must be an integer between 0 and 256, got 'abc'"). Booleans accept
 * true/false, yes/no, on/off, 1/0; server.max_upload_size also takes a K, M,
 * G or T suffix (powers of 1024). A value that came from a source of higher
 * precedence is kept (the new one is still validated), so loading order
 * cannot let a file override a flag. Rules between keys are not checked
 * here, since flags arrive one at a time: call config_validate after the
 * last one. */
int config_set(config *c, const char *key, const char *text, config_source src,
               char *err, size_t errlen);

/* Checks the rules between keys (min_speakers <= max_speakers), naming both
 * values and their sources; CONFIG_ERR_VALUE when broken. config_load_file
 * and config_load_env check this themselves after each source. */
int config_validate(const config *c, char *err, size_t errlen);

/* Where the value of key came from, and for CONFIG_SRC_FILE the file path
 * (borrowed) — NULL for other sources. Returns CONFIG_ERR_UNKNOWN_KEY for a
 * key not in the table. */
int config_origin(const config *c, const char *key, config_source *src,
                  const char **file);

/* The loaded file's path, or NULL when none was read. Borrowed. */
const char *config_file_path(const config *c);

/* Renders the effective configuration as TOML with a comment after each
 * value saying where it came from; secrets print as "********" when set.
 * Caller owns the result; free with free(). NULL when out of memory. */
char *config_show(const config *c);

/* The table of keys, for documentation and tests. */
typedef struct {
    const char *key;          /* "server.port" */
    const char *type;         /* "string", "integer", "boolean" */
    const char *env;          /* "CESAR_SERVER_PORT" */
    const char *description;  /* one line */
    bool secret;
} config_key_info;

/* NULL-terminated (key == NULL) static array. */
const config_key_info *config_keys(void);

#endif
