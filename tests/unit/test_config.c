/* Unit tests for the config module: defaults and XDG paths, loading files
 * (with exact "FILE:LINE: ..." messages for unknown keys, wrong types and
 * out-of-range values), the environment and its fallbacks, flags,
 * precedence, the min/max speakers rule, and `config show`.
 *
 * Every test starts from a scrubbed environment: all CESAR_* variables the
 * key table names, HF_TOKEN and the XDG variables unset, and HOME pointing at
 * a fresh temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "toml/toml.h"
#include "util/util.h"

typedef struct {
    char dir[512];        /* the test's temporary directory */
    char home[600];       /* $HOME, inside dir */
    char path[PATH_MAX];  /* the last file written by write_file */
    char err[8192];
} fixture;

/* ---- fixture ---------------------------------------------------------------- */

static void scrub_environment(void)
{
    for (const config_key_info *k = config_keys(); k->key; k++)
        unsetenv(k->env);
    const char *others[] = {"HF_TOKEN", "CESAR_API_KEY", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                            "XDG_CACHE_HOME"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        unsetenv(others[i]);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/cesar-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->home, sizeof f->home, "%s/home", f->dir);
    if (mkdir(f->home, 0700) != 0)
        return -1;
    scrub_environment();
    setenv("HOME", f->home, 1);
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    scrub_environment();
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Writes text to DIR/name (creating directories on the way) and leaves the
 * path in f->path. */
static const char *write_file(fixture *f, const char *name, const char *text)
{
    char parent[PATH_MAX];
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    util_path_dirname(f->path, parent, sizeof parent);
    assert_int_equal(util_mkdir_p(parent, NULL, 0), UTIL_OK);
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
    return f->path;
}

static config *new_config(void)
{
    config *c = config_new();
    assert_non_null(c);
    return c;
}

/* Loads text as an explicit file, expecting code and exactly the message
 * "PATH<suffix>" where suffix follows the path (":3: unknown key 'x'"). */
static void load_fails(fixture *f, const char *text, int code, const char *suffix)
{
    config *c = new_config();
    const char *path = write_file(f, "bad.toml", text);
    int rc = config_load_file(c, path, true, f->err, sizeof f->err);
    if (rc != code)
        fail_msg("<<%s>>: expected %d, got %d (%s)", text, code, rc, f->err);
    char want[PATH_MAX + 512];
    snprintf(want, sizeof want, "%s%s", path, suffix);
    assert_string_equal(f->err, want);
    assert_null(config_file_path(c));
    config_free(c);
}

static void assert_origin(const config *c, const char *key, config_source want_src,
                          const char *want_file)
{
    config_source src = (config_source)-1;
    const char *file = "unset";
    assert_int_equal(config_origin(c, key, &src, &file), CONFIG_OK);
    if (src != want_src)
        fail_msg("%s: source %s, expected %s", key, config_source_name(src),
                 config_source_name(want_src));
    if (want_file)
        assert_string_equal(file, want_file);
    else
        assert_null(file);
}

/* ---- defaults and paths ---------------------------------------------------------- */

static void test_defaults(void **state)
{
    fixture *f = *state;
    config *c = new_config();
    const config_values *v = config_get(c);
    char want[PATH_MAX + 64];
    assert_string_equal(v->engine, "auto");
    assert_string_equal(v->model, "");
    assert_string_equal(v->language, "en");
    assert_int_equal(v->threads, 0);
    assert_string_equal(v->task, "transcribe");
    assert_int_equal(v->beam_size, 5);
    assert_string_equal(v->initial_prompt, "");
    assert_true(v->condition_on_previous_text);
    assert_true(v->temperature_fallback);
    assert_false(v->vad_filter);
    assert_string_equal(v->models_dir, "");
    assert_string_equal(v->format, "txt");
    assert_true(v->diarize);
    assert_int_equal(v->min_speakers, 1);
    assert_int_equal(v->max_speakers, 8);
    assert_string_equal(v->hf_token, "");
    assert_string_equal(v->diarization_engine, "builtin");
    assert_int_equal(v->diarization_step_ms, 1000);
    assert_string_equal(v->diarization_precision, "exact");
    assert_string_equal(v->hub_url, "https://huggingface.co");
    assert_false(v->hub_allow_insecure);
    snprintf(want, sizeof want, "%s/.local/share/cesar", f->home);
    assert_string_equal(v->data_dir, want);
    snprintf(want, sizeof want, "%s/.cache/cesar", f->home);
    assert_string_equal(v->cache_dir, want);
    assert_string_equal(v->server_host, "127.0.0.1");
    assert_int_equal(v->server_port, 8000);
    assert_int_equal(v->server_workers, 1);
    assert_true(v->server_max_upload_size == 2147483648LL);
    assert_string_equal(v->server_api_key, "");
    for (const config_key_info *k = config_keys(); k->key; k++)
        assert_origin(c, k->key, CONFIG_SRC_DEFAULT, NULL);
    assert_null(config_file_path(c));
    assert_int_equal(config_validate(c, f->err, sizeof f->err), CONFIG_OK);
    config_free(c);
}

static void test_xdg_data_and_cache_dirs(void **state)
{
    (void)state;
    setenv("XDG_DATA_HOME", "/xdg/data", 1);
    setenv("XDG_CACHE_HOME", "/xdg/cache", 1);
    config *c = new_config();
    assert_string_equal(config_get(c)->data_dir, "/xdg/data/cesar");
    assert_string_equal(config_get(c)->cache_dir, "/xdg/cache/cesar");
    config_free(c);

    /* Relative values are ignored, as the XDG spec says; so are empty ones. */
    setenv("XDG_DATA_HOME", "relative/data", 1);
    setenv("XDG_CACHE_HOME", "", 1);
    setenv("HOME", "/home/someone", 1);
    c = new_config();
    assert_string_equal(config_get(c)->data_dir, "/home/someone/.local/share/cesar");
    assert_string_equal(config_get(c)->cache_dir, "/home/someone/.cache/cesar");
    config_free(c);
}

static void test_default_path(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX], want[PATH_MAX + 64];
    config_default_path(path, sizeof path);
    snprintf(want, sizeof want, "%s/.config/cesar/config.toml", f->home);
    assert_string_equal(path, want);

    setenv("XDG_CONFIG_HOME", "/etc/xdg-test", 1);
    config_default_path(path, sizeof path);
    assert_string_equal(path, "/etc/xdg-test/cesar/config.toml");

    setenv("XDG_CONFIG_HOME", "", 1);
    config_default_path(path, sizeof path);
    assert_string_equal(path, want);

    setenv("XDG_CONFIG_HOME", "not/absolute", 1);
    config_default_path(path, sizeof path);
    assert_string_equal(path, want);

    char tiny[10];
    config_default_path(tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), sizeof tiny - 1); /* truncated, terminated */
    config_default_path(NULL, 0);                    /* harmless */
}

/* ---- files ------------------------------------------------------------------- */

static void test_load_full_file(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "full.toml",
                                  "# every key\n"
                                  "engine = \"pocketsphinx\"\n"
                                  "model = \"/models/en-us\"\n"
                                  "language = \"de\"\n"
                                  "threads = 4\n"
                                  "task = \"translate\"\n"
                                  "beam_size = 16\n"
                                  "initial_prompt = \"Elinor, Marianne.\"\n"
                                  "condition_on_previous_text = false\n"
                                  "temperature_fallback = false\n"
                                  "vad_filter = true\n"
                                  "format = \"srt\"\n"
                                  "diarize = false\n"
                                  "min_speakers = 2\n"
                                  "max_speakers = 3\n"
                                  "vad_model = \"/models/vad.bin\"\n"
                                  "diarization_engine = \"pyannote\"\n"
                                  "diarization_step_ms = 500\n"
                                  "diarization_precision = \"fast\"\n"
                                  "hf_token = \"hf_abc\"\n"
                                  "hub_url = \"https://hub.example\"\n"
                                  "hub_allow_insecure = true\n"
                                  "data_dir = \"/srv/cesar/data\"\n"
                                  "cache_dir = '/srv/cesar/cache'\n"
                                  "models_dir = \"/srv/cesar/models\"\n"
                                  "models_url = \"http://mirror.example/whisper\"\n"
                                  "models_catalog = \"/etc/cesar/models.txt\"\n"
                                  "allow_private_urls = true\n"
                                  "ytdlp_path = \"/opt/yt-dlp\"\n"
                                  "download_connect_timeout = 5\n"
                                  "download_timeout = 60\n"
                                  "cache_max_age = 120\n"
                                  "cache_max_size = 1_000_000\n"
                                  "\n"
                                  "[server]\n"
                                  "host = \"0.0.0.0\"\n"
                                  "port = 9000\n"
                                  "workers = 4\n"
                                  "max_upload_size = 1_048_576\n"
                                  "api_key = \"k3y\"\n"
                                  "db = \"/srv/cesar/jobs.db\"\n"
                                  "shutdown_timeout = 5\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    const config_values *v = config_get(c);
    assert_string_equal(v->model, "/models/en-us");
    assert_string_equal(v->language, "de");
    assert_int_equal(v->threads, 4);
    assert_string_equal(v->task, "translate");
    assert_int_equal(v->beam_size, 16);
    assert_string_equal(v->initial_prompt, "Elinor, Marianne.");
    assert_false(v->condition_on_previous_text);
    assert_false(v->temperature_fallback);
    assert_true(v->vad_filter);
    assert_string_equal(v->format, "srt");
    assert_false(v->diarize);
    assert_int_equal(v->min_speakers, 2);
    assert_int_equal(v->max_speakers, 3);
    assert_string_equal(v->vad_model, "/models/vad.bin");
    assert_string_equal(v->diarization_engine, "pyannote");
    assert_int_equal(v->diarization_step_ms, 500);
    assert_string_equal(v->diarization_precision, "fast");
    assert_string_equal(v->hf_token, "hf_abc");
    assert_string_equal(v->hub_url, "https://hub.example");
    assert_true(v->hub_allow_insecure);
    assert_string_equal(v->data_dir, "/srv/cesar/data");
    assert_string_equal(v->cache_dir, "/srv/cesar/cache");
    assert_string_equal(v->models_dir, "/srv/cesar/models");
    assert_string_equal(v->models_url, "http://mirror.example/whisper");
    assert_string_equal(v->models_catalog, "/etc/cesar/models.txt");
    assert_true(v->allow_private_urls);
    assert_string_equal(v->ytdlp_path, "/opt/yt-dlp");
    assert_int_equal(v->download_connect_timeout, 5);
    assert_int_equal(v->download_timeout, 60);
    assert_int_equal(v->cache_max_age, 120);
    assert_true(v->cache_max_size == 1000000);
    assert_string_equal(v->server_host, "0.0.0.0");
    assert_int_equal(v->server_port, 9000);
    assert_int_equal(v->server_workers, 4);
    assert_true(v->server_max_upload_size == 1048576);
    assert_string_equal(v->server_api_key, "k3y");
    assert_string_equal(v->server_db, "/srv/cesar/jobs.db");
    assert_int_equal(v->server_shutdown_timeout, 5);
    assert_string_equal(config_file_path(c), path);
    for (const config_key_info *k = config_keys(); k->key; k++)
        assert_origin(c, k->key, CONFIG_SRC_FILE, path);
    config_free(c);
}

static void test_dotted_server_keys(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "dotted.toml", "server.port = 1234\nserver . workers = 2\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->server_port, 1234);
    assert_int_equal(config_get(c)->server_workers, 2);
    assert_origin(c, "server.port", CONFIG_SRC_FILE, path);
    assert_origin(c, "server.host", CONFIG_SRC_DEFAULT, NULL);
    config_free(c);
}

static void test_empty_file(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "empty.toml", "");
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_string_equal(config_file_path(c), path);
    assert_origin(c, "engine", CONFIG_SRC_DEFAULT, NULL);
    config_free(c);
}

static void test_unknown_keys(void **state)
{
    fixture *f = *state;
    load_fails(f, "engine = \"pocketsphinx\"\n\nfoo = 1\n", CONFIG_ERR_UNKNOWN_KEY,
               ":3: unknown key 'foo'");
    load_fails(f, "[server]\nport = 80\nbogus = true\n", CONFIG_ERR_UNKNOWN_KEY,
               ":3: unknown key 'server.bogus'");
    load_fails(f, "port = 8000\n", CONFIG_ERR_UNKNOWN_KEY,
               ":1: unknown key 'port' (did you mean 'server.port'?)");
    load_fails(f, "[server]\nthreads = 2\n", CONFIG_ERR_UNKNOWN_KEY,
               ":2: unknown key 'server.threads' (did you mean 'threads'?)");
    load_fails(f, "engine.name = \"x\"\n", CONFIG_ERR_UNKNOWN_KEY,
               ":1: unknown key 'engine.name'");
    load_fails(f, "a = 1\n[client]\n", CONFIG_ERR_UNKNOWN_KEY, ":2: unknown table [client]");
    load_fails(f, "[server.tls]\ncert = 'x'\n", CONFIG_ERR_UNKNOWN_KEY,
               ":1: unknown table [server.tls]");
    load_fails(f, "[engine]\n", CONFIG_ERR_UNKNOWN_KEY, ":1: unknown table [engine]");
    load_fails(f, "\nserver = 8000\n", CONFIG_ERR_TYPE,
               ":2: key 'server' must be a table ([server]), got integer");
}

static void test_wrong_types(void **state)
{
    fixture *f = *state;
    load_fails(f, "[server]\nhost = 'h'\n\nport = \"8000\"\n", CONFIG_ERR_TYPE,
               ":4: key 'server.port' must be an integer between 0 and 65535, got string");
    load_fails(f, "threads = 1.5\n", CONFIG_ERR_TYPE,
               ":1: key 'threads' must be an integer between 0 and 256, got float");
    load_fails(f, "diarize = \"yes\"\n", CONFIG_ERR_TYPE,
               ":1: key 'diarize' must be a boolean (true or false), got string");
    load_fails(f, "diarize = 1\n", CONFIG_ERR_TYPE,
               ":1: key 'diarize' must be a boolean (true or false), got integer");
    load_fails(f, "model = 5\n", CONFIG_ERR_TYPE, ":1: key 'model' must be a string, got integer");
    load_fails(f, "format = [\"txt\"]\n", CONFIG_ERR_TYPE,
               ":1: key 'format' must be one of txt, md, srt, vtt, json, got array");
    load_fails(f, "server.max_upload_size = \"2G\"\n", CONFIG_ERR_TYPE,
               ":1: key 'server.max_upload_size' must be an integer of at least 1, got string");
    load_fails(f, "hf_token = true\n", CONFIG_ERR_TYPE,
               ":1: key 'hf_token' must be a string, got boolean");
}

static void test_out_of_range(void **state)
{
    fixture *f = *state;
    load_fails(f, "[server]\nport = 70000\n", CONFIG_ERR_VALUE,
               ":2: key 'server.port' must be an integer between 0 and 65535, got 70000");
    load_fails(f, "[server]\nport = -1\n", CONFIG_ERR_VALUE,
               ":2: key 'server.port' must be an integer between 0 and 65535, got -1");
    load_fails(f, "threads = -1\n", CONFIG_ERR_VALUE,
               ":1: key 'threads' must be an integer between 0 and 256, got -1");
    load_fails(f, "threads = 257\n", CONFIG_ERR_VALUE,
               ":1: key 'threads' must be an integer between 0 and 256, got 257");
    load_fails(f, "min_speakers = 0\n", CONFIG_ERR_VALUE,
               ":1: key 'min_speakers' must be an integer between 1 and 32, got 0");
    load_fails(f, "max_speakers = 33\n", CONFIG_ERR_VALUE,
               ":1: key 'max_speakers' must be an integer between 1 and 32, got 33");
    load_fails(f, "[server]\nworkers = 65\n", CONFIG_ERR_VALUE,
               ":2: key 'server.workers' must be an integer between 1 and 64, got 65");
    load_fails(f, "[server]\nmax_upload_size = 0\n", CONFIG_ERR_VALUE,
               ":2: key 'server.max_upload_size' must be an integer of at least 1, got 0");
    load_fails(f, "format = \"doc\"\n", CONFIG_ERR_VALUE,
               ":1: key 'format' must be one of txt, md, srt, vtt, json, got 'doc'");
    load_fails(f, "language = \"EN\"\n", CONFIG_ERR_VALUE,
               ":1: key 'language' must be an ISO 639-1 code (2-3 lowercase letters) or "
               "\"auto\", got 'EN'");
    load_fails(f, "engine = \"\"\n", CONFIG_ERR_VALUE,
               ":1: key 'engine' must be an engine name (lowercase letters, digits, '-' or "
               "'_'), got ''");
    load_fails(f, "[server]\nhost = \"\"\n", CONFIG_ERR_VALUE,
               ":2: key 'server.host' must be a host name or address (non-empty, no spaces), "
               "got ''");
    load_fails(f, "data_dir = \"\"\n", CONFIG_ERR_VALUE,
               ":1: key 'data_dir' must be a non-empty directory path, got ''");
    load_fails(f, "task = \"transcript\"\n", CONFIG_ERR_VALUE,
               ":1: key 'task' must be transcribe or translate, got 'transcript'");
    load_fails(f, "beam_size = 0\n", CONFIG_ERR_VALUE,
               ":1: key 'beam_size' must be an integer between 1 and 16, got 0");
    load_fails(f, "beam_size = 17\n", CONFIG_ERR_VALUE,
               ":1: key 'beam_size' must be an integer between 1 and 16, got 17");
    load_fails(f, "models_url = \"ftp://example.org/m\"\n", CONFIG_ERR_VALUE,
               ":1: key 'models_url' must be an http:// or https:// URL, got "
               "'ftp://example.org/m'");
    load_fails(f, "model = \"a\\nb\"\n", CONFIG_ERR_VALUE,
               ":1: key 'model' must be a string without control characters, got 'a\\x0ab'");
}

static void test_secret_values_not_echoed(void **state)
{
    fixture *f = *state;
    char text[2200];
    int n = snprintf(text, sizeof text, "hf_token = \"");
    memset(text + n, 's', 1500);
    snprintf(text + n + 1500, sizeof text - (size_t)n - 1500, "\"\n");
    load_fails(f, text, CONFIG_ERR_VALUE,
               ":1: key 'hf_token' must be a string of at most 1023 bytes");
    load_fails(f, "[server]\napi_key = \"bad\\u0007key\"\n", CONFIG_ERR_VALUE,
               ":2: key 'server.api_key' must be a string without control characters");
}

static void test_string_length_limits(void **state)
{
    fixture *f = *state;
    char text[200];
    char name[70];
    memset(name, 'e', 63);
    name[63] = '\0';
    snprintf(text, sizeof text, "engine = \"%s\"\n", name); /* 63 bytes fit in engine[64] */
    config *c = new_config();
    const char *path = write_file(f, "long.toml", text);
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_string_equal(config_get(c)->engine, name);
    config_free(c);
    snprintf(text, sizeof text, "engine = \"%se\"\n", name);
    char want[256];
    snprintf(want, sizeof want,
             ":1: key 'engine' must be a string of at most 63 bytes, got '%se'", name);
    load_fails(f, text, CONFIG_ERR_VALUE, want);
}

static void test_toml_errors_name_file_and_line(void **state)
{
    fixture *f = *state;
    load_fails(f, "threads = 2\nlanguage \"en\"\n", CONFIG_ERR_FILE,
               ":2: expected '=' after key 'language', found '\"'");
    load_fails(f, "threads = 2\nthreads = 3\n", CONFIG_ERR_FILE,
               ":2: key 'threads' is defined twice (first on line 1)");
    load_fails(f, "[[server]]\n", CONFIG_ERR_FILE,
               ":1: arrays of tables ([[name]]) are not supported");
    load_fails(f, "\n\nmodel = \"\xC3(\"\n", CONFIG_ERR_FILE, ":3: invalid UTF-8 (byte 0xC3)");
}

static void test_crlf_file_with_comments(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "crlf.toml",
                                  "# Windows line endings\r\n"
                                  "threads = 3 # three\r\n"
                                  "\r\n"
                                  "[server] # the server\r\n"
                                  "port = 8080\r\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 3);
    assert_int_equal(config_get(c)->server_port, 8080);
    config_free(c);
}

static void test_failed_load_changes_nothing(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "half.toml", "threads = 7\nmodel = 'm'\nport = 1\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err),
                     CONFIG_ERR_UNKNOWN_KEY);
    assert_int_equal(config_get(c)->threads, 0);
    assert_string_equal(config_get(c)->model, "");
    assert_origin(c, "threads", CONFIG_SRC_DEFAULT, NULL);
    assert_null(config_file_path(c));
    config_free(c);
}

static void test_missing_files(void **state)
{
    fixture *f = *state;
    char path[PATH_MAX + 32], want[PATH_MAX + 128];
    config *c = new_config();

    /* The default path need not exist... */
    snprintf(path, sizeof path, "%s/nowhere/config.toml", f->dir);
    assert_int_equal(config_load_file(c, path, false, f->err, sizeof f->err), CONFIG_OK);
    assert_null(config_file_path(c));
    assert_int_equal(config_load_file(c, NULL, false, f->err, sizeof f->err), CONFIG_OK);
    assert_null(config_file_path(c));

    /* ...but a file named with --config must. */
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_ERR_FILE);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    assert_string_equal(f->err, want);

    /* A directory where the file should be is an error either way. */
    assert_int_equal(config_load_file(c, f->dir, false, f->err, sizeof f->err), CONFIG_ERR_FILE);
    snprintf(want, sizeof want, "%s: is a directory", f->dir);
    assert_string_equal(f->err, want);
    assert_null(config_file_path(c));
    config_free(c);
}

static void test_null_path_reads_default_file(void **state)
{
    fixture *f = *state;
    char xdg[PATH_MAX + 32], want[PATH_MAX + 64];
    snprintf(xdg, sizeof xdg, "%s/xdgconf", f->dir);
    setenv("XDG_CONFIG_HOME", xdg, 1);
    write_file(f, "xdgconf/cesar/config.toml", "threads = 9\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, NULL, false, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 9);
    snprintf(want, sizeof want, "%s/cesar/config.toml", xdg);
    assert_string_equal(config_file_path(c), want);
    assert_origin(c, "threads", CONFIG_SRC_FILE, want);
    config_free(c);

    /* Without XDG_CONFIG_HOME the file under $HOME is the default. */
    unsetenv("XDG_CONFIG_HOME");
    write_file(f, "home/.config/cesar/config.toml", "threads = 11\n");
    c = new_config();
    assert_int_equal(config_load_file(c, NULL, false, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 11);
    config_free(c);
}

static void test_two_files(void **state)
{
    fixture *f = *state;
    char first[PATH_MAX];
    snprintf(first, sizeof first, "%s", write_file(f, "one.toml", "threads = 1\nmodel = 'a'\n"));
    const char *second = write_file(f, "two.toml", "threads = 2\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, first, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_load_file(c, second, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 2);
    assert_origin(c, "threads", CONFIG_SRC_FILE, second);
    assert_origin(c, "model", CONFIG_SRC_FILE, first);
    assert_string_equal(config_file_path(c), second);
    config_free(c);
}

/* ---- environment ----------------------------------------------------------------- */

static void test_env_over_file(void **state)
{
    fixture *f = *state;
    const char *path =
        write_file(f, "c.toml", "threads = 2\nlanguage = 'fr'\n[server]\nport = 81\n");
    setenv("CESAR_THREADS", "6", 1);
    setenv("CESAR_SERVER_PORT", "8443", 1);
    setenv("CESAR_DIARIZE", "off", 1);
    setenv("CESAR_SERVER_MAX_UPLOAD_SIZE", "512M", 1);
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    const config_values *v = config_get(c);
    assert_int_equal(v->threads, 6);
    assert_int_equal(v->server_port, 8443);
    assert_false(v->diarize);
    assert_true(v->server_max_upload_size == 512LL * 1024 * 1024);
    assert_string_equal(v->language, "fr");
    assert_origin(c, "threads", CONFIG_SRC_ENV, NULL);
    assert_origin(c, "server.port", CONFIG_SRC_ENV, NULL);
    assert_origin(c, "language", CONFIG_SRC_FILE, path);
    assert_origin(c, "engine", CONFIG_SRC_DEFAULT, NULL);

    /* Loading the file again does not undo the environment. */
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 6);
    assert_origin(c, "threads", CONFIG_SRC_ENV, NULL);
    config_free(c);
}

static void test_env_errors(void **state)
{
    fixture *f = *state;
    config *c = new_config();
    setenv("CESAR_MODEL", "fine", 1);
    setenv("CESAR_THREADS", "abc", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_TYPE);
    assert_string_equal(f->err, "environment variable CESAR_THREADS: expected an integer "
                                "between 0 and 256, got 'abc'");
    assert_string_equal(config_get(c)->model, ""); /* nothing applied */
    assert_origin(c, "model", CONFIG_SRC_DEFAULT, NULL);

    setenv("CESAR_THREADS", "300", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_string_equal(f->err, "environment variable CESAR_THREADS: expected an integer "
                                "between 0 and 256, got '300'");
    unsetenv("CESAR_THREADS");

    setenv("CESAR_DIARIZE", "maybe", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_TYPE);
    assert_string_equal(f->err, "environment variable CESAR_DIARIZE: expected a boolean "
                                "(true/false, yes/no, on/off or 1/0), got 'maybe'");
    unsetenv("CESAR_DIARIZE");

    setenv("CESAR_SERVER_MAX_UPLOAD_SIZE", "2X", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_TYPE);
    assert_string_equal(f->err, "environment variable CESAR_SERVER_MAX_UPLOAD_SIZE: expected an "
                                "integer of at least 1, optionally with a K, M, G or T suffix, "
                                "got '2X'");
    unsetenv("CESAR_SERVER_MAX_UPLOAD_SIZE");

    setenv("CESAR_FORMAT", "docx", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_string_equal(f->err, "environment variable CESAR_FORMAT: expected one of txt, md, "
                                "srt, vtt, json, got 'docx'");
    unsetenv("CESAR_FORMAT");

    setenv("CESAR_HF_TOKEN", "tab\there", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_string_equal(f->err, "environment variable CESAR_HF_TOKEN: expected a string "
                                "without control characters"); /* the secret is not echoed */
    unsetenv("CESAR_HF_TOKEN");

    setenv("CESAR_MODEL", "bad\xFFutf8", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_string_equal(f->err, "environment variable CESAR_MODEL: expected valid UTF-8 text, "
                                "got 'bad\\xffutf8'");
    config_free(c);
}

static void test_env_empty_means_unset(void **state)
{
    fixture *f = *state;
    setenv("CESAR_THREADS", "", 1);
    setenv("CESAR_ENGINE", "", 1);
    config *c = new_config();
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 0);
    assert_string_equal(config_get(c)->engine, "auto");
    assert_origin(c, "threads", CONFIG_SRC_DEFAULT, NULL);
    config_free(c);
}

/* HF_TOKEN is not a configuration source: the configured token (file,
 * CESAR_HF_TOKEN, flag) comes first and HF_TOKEN only after it, which
 * models_hf_token_resolve decides; config show never prints a token. */
static void test_hf_token_fallback(void **state)
{
    fixture *f = *state;
    setenv("HF_TOKEN", "hf_from_standard", 1);
    config *c = new_config();
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_string_equal(config_get(c)->hf_token, "");
    assert_origin(c, "hf_token", CONFIG_SRC_DEFAULT, NULL);
    char *shown = config_show(c);
    assert_non_null(shown);
    assert_null(strstr(shown, "hf_from_standard"));
    free(shown);
    config_free(c);

    setenv("CESAR_HF_TOKEN", "hf_from_cesar", 1);
    c = new_config();
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_string_equal(config_get(c)->hf_token, "hf_from_cesar");
    shown = config_show(c);
    assert_non_null(strstr(shown, "\nhf_token = \"********\"  # env CESAR_HF_TOKEN\n"));
    free(shown);
    config_free(c);

    /* An empty CESAR_HF_TOKEN counts as unset. */
    setenv("CESAR_HF_TOKEN", "", 1);
    c = new_config();
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_string_equal(config_get(c)->hf_token, "");
    config_free(c);
}

static void test_api_key_alias(void **state)
{
    fixture *f = *state;
    setenv("CESAR_API_KEY", "alias-key", 1);
    config *c = new_config();
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_string_equal(config_get(c)->server_api_key, "alias-key");
    config_free(c);
    setenv("CESAR_SERVER_API_KEY", "main-key", 1);
    c = new_config();
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_string_equal(config_get(c)->server_api_key, "main-key");
    config_free(c);
}

static void test_every_key_has_working_env(void **state)
{
    fixture *f = *state;
    /* A value each key accepts, by table order. */
    for (const config_key_info *k = config_keys(); k->key; k++) {
        const char *text = strcmp(k->key, "diarization_step_ms") == 0 ? "250"
                           : strcmp(k->key, "hub_url") == 0 ? "https://hub.example"
                           : strcmp(k->key, "diarization_precision") == 0 ? "fast"
                           : strcmp(k->type, "integer") == 0   ? "2"
                           : strcmp(k->type, "boolean") == 0 ? "no"
                           : strcmp(k->key, "language") == 0 ? "sv"
                           : strcmp(k->key, "format") == 0   ? "vtt"
                           : strcmp(k->key, "models_url") == 0 ? "https://mirror.example/m"
                           : strcmp(k->key, "task") == 0 ? "translate"
                                                             : "value-7";
        scrub_environment();
        setenv(k->env, text, 1);
        config *c = new_config();
        if (config_load_env(c, f->err, sizeof f->err) != CONFIG_OK)
            fail_msg("%s=%s: %s", k->env, text, f->err);
        assert_origin(c, k->key, CONFIG_SRC_ENV, NULL);
        config_free(c);
    }
}

/* ---- flags and precedence ---------------------------------------------------------- */

static void test_flag_over_env(void **state)
{
    fixture *f = *state;
    setenv("CESAR_THREADS", "6", 1);
    config *c = new_config();
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_set(c, "threads", "12", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 12);
    assert_origin(c, "threads", CONFIG_SRC_FLAG, NULL);

    /* Applying the environment again leaves the flag in place. */
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 12);
    assert_origin(c, "threads", CONFIG_SRC_FLAG, NULL);

    /* So does a file. */
    const char *path = write_file(f, "t.toml", "threads = 1\nmodel = 'from-file'\n");
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 12);
    assert_string_equal(config_get(c)->model, "from-file");

    /* A later flag replaces an earlier one. */
    assert_int_equal(config_set(c, "threads", "13", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_int_equal(config_get(c)->threads, 13);
    config_free(c);
}

static void test_set_values(void **state)
{
    fixture *f = *state;
    config *c = new_config();
    const config_values *v = config_get(c);
    assert_int_equal(config_set(c, "server.port", "443", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_int_equal(v->server_port, 443);
    assert_int_equal(config_set(c, "language", "auto", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_string_equal(v->language, "auto");
    assert_int_equal(config_set(c, "language", "fil", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_int_equal(config_set(c, "model", "", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_int_equal(config_set(c, "model", "caf\xC3\xA9", CONFIG_SRC_FLAG, f->err,
                                sizeof f->err), CONFIG_OK);
    assert_string_equal(v->model, "caf\xC3\xA9");

    const struct {
        const char *text;
        bool want;
    } bools[] = {{"true", true}, {"false", false}, {"1", true}, {"0", false}, {"yes", true},
                 {"no", false}, {"on", true}, {"off", false}, {"TRUE", true}, {"Off", false}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        assert_int_equal(config_set(c, "diarize", bools[i].text, CONFIG_SRC_FLAG, f->err,
                                    sizeof f->err), CONFIG_OK);
        assert_int_equal(v->diarize, bools[i].want);
    }

    const struct {
        const char *text;
        long long want;
    } sizes[] = {{"1", 1},
                 {"+100", 100},
                 {"2k", 2048},
                 {"512M", 512LL << 20},
                 {"2G", 2LL << 30},
                 {"3g", 3LL << 30},
                 {"1T", 1LL << 40},
                 {"9223372036854775807", LLONG_MAX}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_equal(config_set(c, "server.max_upload_size", sizes[i].text, CONFIG_SRC_FLAG,
                                    f->err, sizeof f->err), CONFIG_OK);
        assert_true(v->server_max_upload_size == sizes[i].want);
    }
    config_free(c);
}

static void set_fails(fixture *f, const char *key, const char *text, int code, const char *msg)
{
    config *c = new_config();
    int rc = config_set(c, key, text, CONFIG_SRC_FLAG, f->err, sizeof f->err);
    if (rc != code)
        fail_msg("%s=%s: expected %d, got %d (%s)", key, text, code, rc, f->err);
    assert_string_equal(f->err, msg);
    assert_origin(c, "threads", CONFIG_SRC_DEFAULT, NULL);
    config_free(c);
}

static void test_set_errors(void **state)
{
    fixture *f = *state;
    set_fails(f, "nonsense", "1", CONFIG_ERR_UNKNOWN_KEY, "unknown key 'nonsense'");
    set_fails(f, "port", "1", CONFIG_ERR_UNKNOWN_KEY, "unknown key 'port'");
    set_fails(f, "threads", "abc", CONFIG_ERR_TYPE,
              "key 'threads' must be an integer between 0 and 256, got 'abc'");
    set_fails(f, "threads", "", CONFIG_ERR_TYPE,
              "key 'threads' must be an integer between 0 and 256, got ''");
    set_fails(f, "threads", " 4", CONFIG_ERR_TYPE,
              "key 'threads' must be an integer between 0 and 256, got ' 4'");
    set_fails(f, "threads", "4k", CONFIG_ERR_TYPE, /* suffixes only where documented */
              "key 'threads' must be an integer between 0 and 256, got '4k'");
    set_fails(f, "threads", "1.5", CONFIG_ERR_TYPE,
              "key 'threads' must be an integer between 0 and 256, got '1.5'");
    set_fails(f, "threads", "-3", CONFIG_ERR_VALUE,
              "key 'threads' must be an integer between 0 and 256, got '-3'");
    set_fails(f, "threads", "99999999999999999999999", CONFIG_ERR_VALUE,
              "key 'threads' must be an integer between 0 and 256, got '99999999999999999999999'");
    set_fails(f, "server.port", "65536", CONFIG_ERR_VALUE,
              "key 'server.port' must be an integer between 0 and 65535, got '65536'");
    set_fails(f, "server.max_upload_size", "9999999T", CONFIG_ERR_VALUE,
              "key 'server.max_upload_size' must be an integer of at least 1, optionally with a "
              "K, M, G or T suffix, got '9999999T'");
    /* 16777217 TiB is 2^64 + 2^40: must not wrap around to 1 TiB. */
    set_fails(f, "server.max_upload_size", "16777217T", CONFIG_ERR_VALUE,
              "key 'server.max_upload_size' must be an integer of at least 1, optionally with a "
              "K, M, G or T suffix, got '16777217T'");
    set_fails(f, "server.max_upload_size", "0M", CONFIG_ERR_VALUE,
              "key 'server.max_upload_size' must be an integer of at least 1, optionally with a "
              "K, M, G or T suffix, got '0M'");
    set_fails(f, "server.max_upload_size", "2GB", CONFIG_ERR_TYPE,
              "key 'server.max_upload_size' must be an integer of at least 1, optionally with a "
              "K, M, G or T suffix, got '2GB'");
    set_fails(f, "diarize", "maybe", CONFIG_ERR_TYPE,
              "key 'diarize' must be a boolean (true/false, yes/no, on/off or 1/0), got 'maybe'");
    set_fails(f, "language", "english", CONFIG_ERR_VALUE,
              "key 'language' must be an ISO 639-1 code (2-3 lowercase letters) or \"auto\", "
              "got 'english'");
    set_fails(f, "language", "e1", CONFIG_ERR_VALUE,
              "key 'language' must be an ISO 639-1 code (2-3 lowercase letters) or \"auto\", "
              "got 'e1'");
    set_fails(f, "format", "TXT", CONFIG_ERR_VALUE,
              "key 'format' must be one of txt, md, srt, vtt, json, got 'TXT'");
    set_fails(f, "engine", "Whisper", CONFIG_ERR_VALUE,
              "key 'engine' must be an engine name (lowercase letters, digits, '-' or '_'), got "
              "'Whisper'");
    set_fails(f, "server.host", "local host", CONFIG_ERR_VALUE,
              "key 'server.host' must be a host name or address (non-empty, no spaces), got "
              "'local host'");
    set_fails(f, "model", "line\nbreak", CONFIG_ERR_VALUE,
              "key 'model' must be a string without control characters, got 'line\\x0abreak'");
    set_fails(f, "model", "\xC3\x28", CONFIG_ERR_VALUE,
              "key 'model' must be valid UTF-8 text, got '\\xc3('");
    set_fails(f, "server.api_key", "has\x01control", CONFIG_ERR_VALUE,
              "key 'server.api_key' must be a string without control characters");
}

static void test_set_long_value_message_is_bounded(void **state)
{
    fixture *f = *state;
    char text[3000];
    memset(text, 'm', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    config *c = new_config();
    assert_int_equal(config_set(c, "model", text, CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_ERR_VALUE);
    assert_non_null(strstr(f->err, "key 'model' must be a string of at most 1023 bytes, got 'mmm"));
    assert_non_null(strstr(f->err, "...'"));
    assert_true(strlen(f->err) < 200);
    config_free(c);
}

static void test_set_env_source(void **state)
{
    fixture *f = *state;
    config *c = new_config();
    assert_int_equal(config_set(c, "workers", "2", CONFIG_SRC_ENV, f->err, sizeof f->err),
                     CONFIG_ERR_UNKNOWN_KEY);
    assert_int_equal(config_set(c, "server.workers", "2", CONFIG_SRC_ENV, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_origin(c, "server.workers", CONFIG_SRC_ENV, NULL);
    char *shown = config_show(c);
    assert_non_null(strstr(shown, "\nworkers = 2  # env CESAR_SERVER_WORKERS\n"));
    free(shown);
    config_free(c);
}

/* ---- min_speakers <= max_speakers -------------------------------------------------- */

static void test_speakers_rule_file(void **state)
{
    fixture *f = *state;
    config *c = new_config();
    const char *path = write_file(f, "spk.toml", "min_speakers = 10\n");
    char want[PATH_MAX + 256];
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    snprintf(want, sizeof want,
             "min_speakers = 10 (file %s) is greater than max_speakers = 8 (default)", path);
    assert_string_equal(f->err, want);
    assert_int_equal(config_get(c)->min_speakers, 1); /* rejected as a whole */
    assert_null(config_file_path(c));

    /* Equal is fine, and both in one file are checked together. */
    path = write_file(f, "spk.toml", "min_speakers = 12\nmax_speakers = 12\n");
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_get(c)->min_speakers, 12);
    config_free(c);
}

static void test_speakers_rule_env_and_flags(void **state)
{
    fixture *f = *state;
    config *c = new_config();
    setenv("CESAR_MAX_SPEAKERS", "3", 1);
    setenv("CESAR_MIN_SPEAKERS", "4", 1);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_string_equal(f->err, "min_speakers = 4 (env CESAR_MIN_SPEAKERS) is greater than "
                                "max_speakers = 3 (env CESAR_MAX_SPEAKERS)");
    assert_int_equal(config_get(c)->max_speakers, 8);

    /* Flags arrive one at a time; config_validate checks once they are all in. */
    assert_int_equal(config_set(c, "min_speakers", "20", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_int_equal(config_validate(c, f->err, sizeof f->err), CONFIG_ERR_VALUE);
    assert_string_equal(f->err, "min_speakers = 20 (flag) is greater than max_speakers = 8 "
                                "(default)");
    assert_int_equal(config_set(c, "max_speakers", "24", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    assert_int_equal(config_validate(c, f->err, sizeof f->err), CONFIG_OK);
    config_free(c);
}

/* ---- config show ---------------------------------------------------------------------- */

static void test_show_defaults(void **state)
{
    fixture *f = *state;
    config *c = new_config();
    char *shown = config_show(c);
    assert_non_null(shown);
    char want[4 * PATH_MAX];
    snprintf(want, sizeof want,
             "# no config file\n"
             "engine = \"auto\"  # default\n"
             "model = \"\"  # default\n"
             "language = \"en\"  # default\n"
             "threads = 0  # default\n"
             "task = \"transcribe\"  # default\n"
             "beam_size = 5  # default\n"
             "initial_prompt = \"\"  # default\n"
             "condition_on_previous_text = true  # default\n"
             "temperature_fallback = true  # default\n"
             "vad_filter = false  # default\n"
             "format = \"txt\"  # default\n"
             "diarize = true  # default\n"
             "min_speakers = 1  # default\n"
             "max_speakers = 8  # default\n"
             "vad_model = \"\"  # default\n"
             "diarization_engine = \"builtin\"  # default\n"
             "diarization_step_ms = 1000  # default\n"
             "diarization_precision = \"exact\"  # default\n"
             "hf_token = \"\"  # default\n"
             "hub_url = \"https://huggingface.co\"  # default\n"
             "hub_allow_insecure = false  # default\n"
             "data_dir = \"%s/.local/share/cesar\"  # default\n"
             "cache_dir = \"%s/.cache/cesar\"  # default\n"
             "models_dir = \"\"  # default\n"
             "models_url = \"https://huggingface.co/ggerganov/whisper.cpp\"  # default\n"
             "models_catalog = \"\"  # default\n"
             "allow_private_urls = false  # default\n"
             "ytdlp_path = \"yt-dlp\"  # default\n"
             "download_connect_timeout = 10  # default\n"
             "download_timeout = 3600  # default\n"
             "cache_max_age = 86400  # default\n"
             "cache_max_size = 10737418240  # default\n"
             "\n"
             "[server]\n"
             "host = \"127.0.0.1\"  # default\n"
             "port = 8000  # default\n"
             "workers = 1  # default\n"
             "max_upload_size = 2147483648  # default\n"
             "api_key = \"\"  # default\n"
             "db = \"\"  # default\n"
             "shutdown_timeout = 30  # default\n",
             f->home, f->home);
    assert_string_equal(shown, want);
    free(shown);
    config_free(c);
}

static void test_show_sources_and_secrets(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "show.toml",
                                  "hf_token = \"hf_SECRET_VALUE\"\n"
                                  "model = 'say \"hi\" \\ bye'\n"
                                  "[server]\n"
                                  "port = 9999\n");
    setenv("CESAR_SERVER_API_KEY", "API_SECRET_VALUE", 1);
    setenv("CESAR_LANGUAGE", "nl", 1);
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_load_env(c, f->err, sizeof f->err), CONFIG_OK);
    assert_int_equal(config_set(c, "threads", "3", CONFIG_SRC_FLAG, f->err, sizeof f->err),
                     CONFIG_OK);
    char *shown = config_show(c);
    assert_non_null(shown);
    char line[PATH_MAX + 128];
    snprintf(line, sizeof line, "# config file: %s\n", path);
    assert_memory_equal(shown, line, strlen(line)); /* the first line */
    snprintf(line, sizeof line, "\nhf_token = \"********\"  # file %s\n", path);
    assert_non_null(strstr(shown, line));
    snprintf(line, sizeof line, "\nmodel = \"say \\\"hi\\\" \\\\ bye\"  # file %s\n", path);
    assert_non_null(strstr(shown, line));
    snprintf(line, sizeof line, "\nport = 9999  # file %s\n", path);
    assert_non_null(strstr(shown, line));
    assert_non_null(strstr(shown, "\napi_key = \"********\"  # env CESAR_SERVER_API_KEY\n"));
    assert_non_null(strstr(shown, "\nlanguage = \"nl\"  # env CESAR_LANGUAGE\n"));
    assert_non_null(strstr(shown, "\nthreads = 3  # flag\n"));
    assert_non_null(strstr(shown, "\nengine = \"auto\"  # default\n"));
    assert_null(strstr(shown, "SECRET"));
    free(shown);
    config_free(c);
}

static void test_show_reads_back(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "src.toml",
                                  "model = \"tab-free \\\"quoted\\\" caf\\u00e9\"\n"
                                  "language = \"auto\"\n"
                                  "threads = 16\n"
                                  "format = \"json\"\n"
                                  "diarize = false\n"
                                  "min_speakers = 2\n"
                                  "max_speakers = 5\n"
                                  "data_dir = \"/d\"\n"
                                  "cache_dir = \"/c\"\n"
                                  "[server]\n"
                                  "host = \"::1\"\n"
                                  "port = 1\n"
                                  "workers = 64\n"
                                  "max_upload_size = 9223372036854775807\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    char *shown = config_show(c);
    assert_non_null(shown);

    /* Valid TOML... */
    toml_doc *doc = NULL;
    assert_int_equal(toml_parse(shown, strlen(shown), &doc, f->err, sizeof f->err), TOML_OK);
    assert_int_equal(doc->n, 39);
    toml_free(doc);

    /* ...that loads back to the same values. */
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", write_file(f, "shown.toml", shown));
    config *again = new_config();
    assert_int_equal(config_load_file(again, copy, true, f->err, sizeof f->err), CONFIG_OK);
    assert_memory_equal(config_get(again), config_get(c), sizeof(config_values));
    free(shown);
    config_free(again);
    config_free(c);
}

static void test_show_sanitises_comment_path(void **state)
{
    fixture *f = *state;
    const char *path = write_file(f, "we\x01ird\xFF.toml", "threads = 1\n");
    config *c = new_config();
    assert_int_equal(config_load_file(c, path, true, f->err, sizeof f->err), CONFIG_OK);
    char *shown = config_show(c);
    assert_non_null(shown);
    assert_non_null(strstr(shown, "we?ird?.toml"));
    toml_doc *doc = NULL;
    assert_int_equal(toml_parse(shown, strlen(shown), &doc, f->err, sizeof f->err), TOML_OK);
    toml_free(doc);
    free(shown);
    config_free(c);
}

/* ---- the key table and small API ------------------------------------------------------ */

static void test_key_table(void **state)
{
    (void)state;
    const char *expected[] = {"engine", "model", "language", "threads", "task", "beam_size",
                              "initial_prompt", "condition_on_previous_text", "temperature_fallback", "vad_filter", "format",
                              "diarize",
                              "min_speakers", "max_speakers", "vad_model", "diarization_engine",
                              "diarization_step_ms", "diarization_precision", "hf_token", "hub_url", "hub_allow_insecure",
                              "data_dir",
                              "cache_dir", "models_dir", "models_url", "models_catalog",
                              "allow_private_urls", "ytdlp_path",
                              "download_connect_timeout", "download_timeout", "cache_max_age",
                              "cache_max_size", "server.host", "server.port", "server.workers",
                              "server.max_upload_size", "server.api_key", "server.db",
                              "server.shutdown_timeout"};
    size_t n = 0;
    for (const config_key_info *k = config_keys(); k->key; k++, n++) {
        assert_true(n < sizeof expected / sizeof expected[0]);
        assert_string_equal(k->key, expected[n]);
        /* CESAR_ + upper-cased name with '.' -> '_' */
        char env[64] = "CESAR_";
        for (const char *p = k->key; *p; p++) {
            size_t len = strlen(env);
            env[len] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            env[len + 1] = '\0';
        }
        assert_string_equal(k->env, env);
        assert_true(strcmp(k->type, "string") == 0 || strcmp(k->type, "integer") == 0 ||
                    strcmp(k->type, "boolean") == 0);
        assert_non_null(k->description);
        assert_true(strlen(k->description) > 10);
        assert_null(strchr(k->description, '\n'));
        bool secret = strcmp(k->key, "hf_token") == 0 || strcmp(k->key, "server.api_key") == 0;
        assert_int_equal(k->secret, secret);
    }
    assert_int_equal(n, sizeof expected / sizeof expected[0]);
    assert_non_null(strstr(config_keys()[18].description, "HF_TOKEN"));
}

static void test_key_types_match_behaviour(void **state)
{
    fixture *f = *state;
    /* Each key's declared type is what config_set enforces. */
    for (const config_key_info *k = config_keys(); k->key; k++) {
        config *c = new_config();
        int rc = config_set(c, k->key, "not-a-number", CONFIG_SRC_FLAG, f->err, sizeof f->err);
        if (strcmp(k->type, "string") == 0)
            assert_int_not_equal(rc, CONFIG_ERR_TYPE);
        else
            assert_int_equal(rc, CONFIG_ERR_TYPE);
        config_free(c);
    }
}

static void test_origin_and_small_api(void **state)
{
    (void)state;
    config *c = new_config();
    config_source src = CONFIG_SRC_FLAG;
    const char *file = "x";
    assert_int_equal(config_origin(c, "nope", &src, &file), CONFIG_ERR_UNKNOWN_KEY);
    assert_int_equal(config_origin(c, "server", &src, &file), CONFIG_ERR_UNKNOWN_KEY);
    assert_int_equal(config_origin(c, "engine", NULL, NULL), CONFIG_OK);
    assert_int_equal(config_origin(NULL, "engine", &src, &file), CONFIG_ERR_UNKNOWN_KEY);
    assert_null(file);
    config_free(c);
    config_free(NULL);
    assert_null(config_get(NULL));
    assert_null(config_file_path(NULL));
    assert_null(config_show(NULL));

    assert_string_equal(config_source_name(CONFIG_SRC_DEFAULT), "default");
    assert_string_equal(config_source_name(CONFIG_SRC_FILE), "file");
    assert_string_equal(config_source_name(CONFIG_SRC_ENV), "env");
    assert_string_equal(config_source_name(CONFIG_SRC_FLAG), "flag");
    const int codes[] = {CONFIG_OK, CONFIG_ERR_FILE, CONFIG_ERR_UNKNOWN_KEY, CONFIG_ERR_TYPE,
                         CONFIG_ERR_VALUE, CONFIG_ERR_NOMEM};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(config_strerror(codes[i]), config_strerror(codes[j]));
    assert_string_equal(config_strerror(-5), "unknown error");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_xdg_data_and_cache_dirs),
        T(test_default_path),
        T(test_load_full_file),
        T(test_dotted_server_keys),
        T(test_empty_file),
        T(test_unknown_keys),
        T(test_wrong_types),
        T(test_out_of_range),
        T(test_secret_values_not_echoed),
        T(test_string_length_limits),
        T(test_toml_errors_name_file_and_line),
        T(test_crlf_file_with_comments),
        T(test_failed_load_changes_nothing),
        T(test_missing_files),
        T(test_null_path_reads_default_file),
        T(test_two_files),
        T(test_env_over_file),
        T(test_env_errors),
        T(test_env_empty_means_unset),
        T(test_hf_token_fallback),
        T(test_api_key_alias),
        T(test_every_key_has_working_env),
        T(test_flag_over_env),
        T(test_set_values),
        T(test_set_errors),
        T(test_set_long_value_message_is_bounded),
        T(test_set_env_source),
        T(test_speakers_rule_file),
        T(test_speakers_rule_env_and_flags),
        T(test_show_defaults),
        T(test_show_sources_and_secrets),
        T(test_show_reads_back),
        T(test_show_sanitises_comment_path),
        T(test_key_table),
        T(test_key_types_match_behaviour),
        T(test_origin_and_small_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
