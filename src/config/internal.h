/* config internals: the key descriptors behind config.h's public table, the
 * state a config holds (values plus where each came from), and the helpers
 * the files of the config module share. Names carry the config__ prefix.
 *
 * Loading works on a copy of the state and commits it only when every value
 * in the source was valid, so a failed load leaves the config unchanged.
 */
#ifndef CESAR_CONFIG_INTERNAL_H
#define CESAR_CONFIG_INTERNAL_H

#include "config/config.h"
#include "toml/toml.h"

#include <stdbool.h>
#include <stddef.h>

/* One id per key, in table (and `config show`) order. */
typedef enum {
    CONFIG__K_ENGINE,
    CONFIG__K_MODEL,
    CONFIG__K_LANGUAGE,
    CONFIG__K_THREADS,
    CONFIG__K_TASK,
    CONFIG__K_BEAM_SIZE,
    CONFIG__K_INITIAL_PROMPT,
    CONFIG__K_CONDITION_ON_PREVIOUS_TEXT,
    CONFIG__K_TEMPERATURE_FALLBACK,
    CONFIG__K_VAD_FILTER,
    CONFIG__K_FORMAT,
    CONFIG__K_DIARIZE,
    CONFIG__K_MIN_SPEAKERS,
    CONFIG__K_MAX_SPEAKERS,
    CONFIG__K_VAD_MODEL,
    CONFIG__K_DIARIZATION_ENGINE,
    CONFIG__K_DIARIZATION_STEP_MS,
    CONFIG__K_DIARIZATION_PRECISION,
    CONFIG__K_HF_TOKEN,
    CONFIG__K_HUB_URL,
    CONFIG__K_HUB_ALLOW_INSECURE,
    CONFIG__K_DATA_DIR,
    CONFIG__K_CACHE_DIR,
    CONFIG__K_MODELS_DIR,
    CONFIG__K_MODELS_URL,
    CONFIG__K_MODELS_CATALOG,
    CONFIG__K_ALLOW_PRIVATE_URLS,
    CONFIG__K_YTDLP_PATH,
    CONFIG__K_DOWNLOAD_CONNECT_TIMEOUT,
    CONFIG__K_DOWNLOAD_TIMEOUT,
    CONFIG__K_CACHE_MAX_AGE,
    CONFIG__K_CACHE_MAX_SIZE,
    CONFIG__K_SERVER_HOST,
    CONFIG__K_SERVER_PORT,
    CONFIG__K_SERVER_WORKERS,
    CONFIG__K_SERVER_MAX_UPLOAD_SIZE,
    CONFIG__K_SERVER_API_KEY,
    CONFIG__K_SERVER_DB,
    CONFIG__K_SERVER_SHUTDOWN_TIMEOUT,
    CONFIG__K_COUNT
} config__key_id;

typedef enum { CONFIG__STRING, CONFIG__INTEGER, CONFIG__BOOLEAN } config__kind;

/* How a key is stored, checked and defaulted; the public half (name, type,
 * environment variable, description, secret) is config_key_info. */
typedef struct {
    config__kind kind;
    size_t offset;          /* of the field in config_values */
    size_t size;            /* of the field: string capacity, or sizeof(int / long long) */
    long long min, max;     /* integers: allowed range */
    bool size_suffix;       /* integers: text may end in K, M, G or T (powers of 1024) */
    const char *def_string; /* strings: the default ... */
    const char *def_xdg;    /* ... or "$<def_xdg>/cesar" when that variable is absolute ... */
    const char *def_home;   /* ... else "$HOME/<def_home>/cesar" */
    long long def_number;   /* integers and booleans */
    const char *env_alias;  /* a lower-priority environment variable, or NULL */
    bool (*check)(const char *s); /* strings: extra rule, or NULL */
    const char *expect;     /* strings with a check: what is expected, for messages */
} config__key;

const config__key *config__key_at(int id);
const config_key_info *config__info_at(int id);
int config__key_find(const char *name); /* id, or -1 for an unknown key */
/* True when name is a table that holds keys ("server"). */
bool config__is_table(const char *name);
/* A known key with the same last part as name ("port" -> "server.port"), or NULL. */
const char *config__suggest(const char *name);

/* ---- values (value.c) ----------------------------------------------------- */

/* A validated value on its way into config_values. */
typedef struct {
    const char *s; /* strings; borrowed from the source */
    long long i;   /* integers; booleans as 0 or 1 */
} config__value;

/* Converts and validates text from the environment or the command line.
 * Returns CONFIG_OK, CONFIG_ERR_TYPE (not an integer / boolean) or
 * CONFIG_ERR_VALUE (out of range, not allowed); on error `expect` says what
 * was expected, e.g. "an integer between 0 and 256". */
int config__from_text(int id, const char *text, config__value *out, char *expect, size_t n);
/* The same for a value from a TOML file. */
int config__from_toml(int id, const toml_value *v, config__value *out, char *expect, size_t n);
/* Writes s as a quoted, printable, bounded excerpt for messages: 'abc'. */
void config__quote(const char *s, char *buf, size_t n);

/* ---- state (config.c) ----------------------------------------------------- */

typedef struct {
    config_source src;
    const char *file; /* CONFIG_SRC_FILE: borrowed from config.files, or NULL */
    const char *env;  /* CONFIG_SRC_ENV: the variable's name (static string) */
} config__origin;

typedef struct {
    config_values values;
    config__origin origin[CONFIG__K_COUNT];
} config__state;

struct config {
    config__state st;
    char **files;     /* every file path loaded; owned, origins point into it */
    size_t n_files;
    const char *file; /* the last file loaded, or NULL */
};

/* Stores v as key id's value unless the current value came from a source of
 * higher precedence (so the order of loading never lets a file beat a flag). */
void config__apply(config__state *st, int id, const config__value *v, config_source src,
                   const char *file, const char *env);
/* Rules between keys: min_speakers <= max_speakers. */
int config__check_state(const config__state *st, char *err, size_t errlen);
/* "default", "file PATH", "env CESAR_X" or "flag". */
void config__describe_origin(const config__origin *o, char *buf, size_t n);

/* ---- paths (paths.c) ------------------------------------------------------ */

/* "$<xdg_var>/cesar<tail>" when xdg_var holds an absolute path, else
 * "$HOME/<home_rel>/cesar<tail>". */
void config__xdg_path(const char *xdg_var, const char *home_rel, const char *tail, char *buf,
                      size_t n);

#endif
