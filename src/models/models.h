/* models: the Whisper model files Cesar knows about, where they live, and
 * fetching them — what `cesar models list | pull | rm | path` and `--model`
 * are built on.
 *
 * A model is named after its file: the name "base.en" is the file
 * "ggml-base.en.bin" in the models directory, as published in the Hugging
 * Face repository ggerganov/whisper.cpp (BASE_URL/resolve/main/ggml-NAME.bin).
 * A catalog lists the known names with their SHA-1 (as published by
 * whisper.cpp) and size; a user file can add entries or override them, for
 * fine-tuned or mirrored models.
 *
 * Pulling never leaves a partial or unverified file under the final name:
 * bytes go to ".ggml-NAME.bin.part" in the same directory, which a later
 * pull resumes with an HTTP Range request, and only a file whose size and
 * SHA-1 match is fsync()ed and renamed into place.
 *
 * The pyannote diarization models are a second kind: two files from gated
 * Hugging Face repositories, fetched with the user's access token (found by
 * models_hf_token_resolve) into MODELS_DIR/pyannote/, verified by the
 * SHA-256 the hub announces (see "the pyannote models" below).
 *
 * Library code: nothing here prints; errors are a models_err code plus a
 * message in a caller-owned buffer naming the file, URL or value at fault.
 */
#ifndef CESAR_MODELS_H
#define CESAR_MODELS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    MODELS_OK = 0,
    MODELS_ERR_NAME,          /* not a valid model name, or not in the catalog */
    MODELS_ERR_NOT_INSTALLED, /* no ggml-NAME.bin in the models directory */
    MODELS_ERR_CATALOG,       /* the user catalog file is unreadable or malformed */
    MODELS_ERR_IO,            /* a file-system call failed; the message names the path */
    MODELS_ERR_NETWORK,       /* connection, timeout or transfer failure */
    MODELS_ERR_HTTP,          /* the server answered with an error status */
    MODELS_ERR_VERIFY,        /* size or SHA-1 of the download does not match */
    MODELS_ERR_UNVERIFIABLE,  /* no SHA-1 known for the name and verification is on */
    MODELS_ERR_CANCELLED,     /* the cancel flag was set; the partial file is kept */
    MODELS_ERR_BUSY,          /* another pull of the same model holds its partial file */
    MODELS_ERR_NOMEM,
    /* appended for the Hugging Face hub (hub files, tokens); values above
     * keep their numbers */
    MODELS_ERR_AUTH,          /* HTTP 401: no or invalid credentials, or an
                               * unusable token (never sent) */
    MODELS_ERR_FORBIDDEN,     /* HTTP 403: the token is valid but its account
                               * has not accepted the model's conditions */
    MODELS_ERR_INSECURE,      /* the hub URL is not https (and not an allowed
                               * loopback http URL): refused before connecting */
    MODELS_ERR_TOKEN_REQUIRED,/* a gated download and no token to send */
} models_err;

const char *models_strerror(int code);

/* Longest model name accepted (letters, digits, '.', '_', '-'). */
#define MODELS_NAME_MAX 64

/* ---- catalog ------------------------------------------------------------ */

typedef struct {
    const char *name;  /* "base.en" */
    /* Exact size in bytes, or 0 when not published (the built-in entries:
     * whisper.cpp publishes sizes only rounded, see approx_bytes). */
    long long size;
    /* The published rounded size ("142 MiB" = 142 * 2^20), for listings
     * before a download; equals size when that is known. */
    long long approx_bytes;
    /* 40 lower-case hex characters, or "" when no digest is known: such an
     * entry can only be pulled with verification off. */
    const char *sha1;
    bool user;         /* from the user catalog file rather than built in */
} models_entry;

typedef struct models_catalog models_catalog;

/* The built-in catalog (every model whisper.cpp's Hugging Face repository
 * publishes with a SHA-1), plus, when user_file is non-NULL and non-empty,
 * the entries of that file. The file has one entry per line, "NAME SIZE
 * SHA1": SIZE an exact byte count or "-" for unknown, SHA1 40 hex digits or
 * "-" for none; blank lines and "#" comments are ignored. An entry with a
 * built-in name replaces it, others are appended in file order. Errors
 * (MODELS_ERR_CATALOG) name the file and line: "FILE:3: SHA-1 'xyz' is not
 * 40 hex digits". On success the caller owns *out (free with
 * models_catalog_free); on failure *out is NULL. */
int models_catalog_load(models_catalog **out, const char *user_file, char *err, size_t errlen);
void models_catalog_free(models_catalog *c); /* NULL-safe */

/* Number of entries, and entry i (0 <= i < count) in catalog order (built-in
 * order, then the user's additions). Borrowed, valid until
 * models_catalog_free. */
size_t models_catalog_count(const models_catalog *c);
const models_entry *models_catalog_at(const models_catalog *c, size_t i);

/* The entry called name, or NULL. Borrowed, valid until models_catalog_free. */
const models_entry *models_find(const models_catalog *c, const char *name);

/* The catalog name closest to name (a small edit distance, or a name that
 * starts with it), for "did you mean" messages; NULL when nothing is close.
 * Borrowed, valid until models_catalog_free. */
const char *models_suggest(const models_catalog *c, const char *name);

/* ---- names and paths ------------------------------------------------------ */

/* True when name_or_path is meant as a path: it contains '/' or ends in
 * ".bin". Otherwise it is a model name. */
bool models_is_path(const char *name_or_path);

/* True when name is usable as a model name: 1 to MODELS_NAME_MAX letters,
 * digits, '.', '_' or '-', not starting with '.' or '-'. */
bool models_valid_name(const char *name);

/* The models directory: models_dir when non-empty (the `models_dir` key),
 * else DATA_DIR/models. Writes into buf (capacity n). */
void models_dir_default(const char *models_dir, const char *data_dir, char *buf, size_t n);

/* A name (see models_is_path) becomes models_dir/ggml-NAME.bin; anything
 * else is a path, copied as is. Does not look at the file system. Errors:
 * MODELS_ERR_NAME for an invalid name ("model name 'a b' may only contain
 * ..."), MODELS_ERR_IO when the result does not fit in pathlen. */
int models_resolve(const char *models_dir, const char *name_or_path, char *path, size_t pathlen,
                   char *err, size_t errlen);

/* models_resolve, then a check that the result is a regular file; for
 * --model. MODELS_ERR_NOT_INSTALLED when it is not, with a message saying
 * how to get it ("model 'base.en' is not installed (no PATH); 'cesar models
 * pull base.en' installs it", or "model file 'PATH': No such file or
 * directory" for a path). path holds the resolved file either way. */
int models_locate(const char *models_dir, const char *name_or_path, char *path, size_t pathlen,
                  char *err, size_t errlen);

/* The partial-download file of name: models_dir/.ggml-NAME.bin.part. */
int models_part_path(const char *models_dir, const char *name, char *path, size_t pathlen,
                     char *err, size_t errlen);

/* ---- listing -------------------------------------------------------------- */

typedef struct {
    char name[MODELS_NAME_MAX + 1];
    const models_entry *entry; /* the catalog's entry; NULL for a file not in it */
    bool installed;            /* ggml-NAME.bin exists as a regular file */
    long long size;            /* its size when installed, else the catalog's
                                * (exact, or approx_bytes); 0 when unknown */
    long long partial_bytes;   /* bytes in .ggml-NAME.bin.part; 0 when none */
    char path[4096];           /* models_dir/ggml-NAME.bin, installed or not */
} models_item;

/* Every catalog entry, in catalog order, followed by the other ggml-*.bin
 * files in models_dir (sorted by name). A missing models_dir lists the
 * catalog as not installed. On success the caller owns *items (free with
 * free()) holding *count entries; on failure *items is NULL, *count 0. */
int models_list(const models_catalog *c, const char *models_dir, models_item **items,
                size_t *count, char *err, size_t errlen);

/* ---- pulling -------------------------------------------------------------- */

/* Called from inside the transfer (on the thread that called models_pull),
 * at most about ten times a second, and once per phase change. done and
 * total are bytes of the whole file (total 0 = unknown); verifying is true
 * while the SHA-1 of the finished download is computed. */
typedef void (*models_progress_fn)(long long done, long long total, bool verifying,
                                   void *user_data);

typedef struct {
    const char *base_url;   /* "https://huggingface.co/ggerganov/whisper.cpp" */
    const char *models_dir; /* created (mode 0755, with parents) when missing */
    const char *name;       /* a catalog name */
    const models_catalog *catalog; /* borrowed; NULL = the built-in catalog */
    bool no_verify;         /* skip the SHA-1 check (the size is still checked) */
    const char *token;      /* Hugging Face access token sent as a Bearer
                             * credential (never to a redirect's other host);
                             * NULL/"" = none */
    models_progress_fn progress; /* NULL = none */
    void *progress_user_data;
    const atomic_int *cancel; /* non-zero = stop soon; polled during the
                               * transfer and the hashing; NULL = never */
    long connect_timeout_ms;  /* 0 = libcurl's default */
    long total_timeout_ms;    /* 0 = no limit */
    long stall_timeout_s;     /* abort when under 1 byte/s for this long; 0 = never */
    int max_redirects;        /* the hub redirects once, to its CDN */
} models_pull_params;

models_pull_params models_pull_default_params(void);

/* What a successful pull did. */
typedef struct {
    bool already_installed; /* the file was there and verified: no download */
    bool resumed;           /* the download continued a partial file */
    long long bytes;        /* size of the installed file */
    long long downloaded;   /* bytes received by this call */
    char path[4096];        /* the installed file */
    char sha1[41];          /* its SHA-1; "" when verification was off */
} models_pull_result;

/* Downloads ggml-NAME.bin from BASE_URL/resolve/main/ggml-NAME.bin into the
 * models directory, resuming a partial file, verifying size and SHA-1 and
 * renaming into place. result may be NULL. Errors: MODELS_ERR_NAME (not in
 * the catalog), MODELS_ERR_UNVERIFIABLE (no SHA-1 known and no_verify off),
 * MODELS_ERR_HTTP ("GET URL: HTTP 404 (Entry not found)"; 401 and 403 are
 * MODELS_ERR_AUTH and MODELS_ERR_FORBIDDEN), MODELS_ERR_NETWORK
 * and MODELS_ERR_CANCELLED (the partial file is kept for the next pull),
 * MODELS_ERR_VERIFY (the partial file is removed; the message names the file
 * and both SHA-1s), MODELS_ERR_BUSY, MODELS_ERR_IO. An installed file that
 * fails verification is replaced only by a download that passes it. */
int models_pull(const models_pull_params *p, models_pull_result *result, char *err,
                size_t errlen);

/* ---- removing ------------------------------------------------------------- */

/* Removes models_dir/ggml-NAME.bin and any partial download of it.
 * MODELS_ERR_NOT_INSTALLED when neither exists ("model 'x' is not installed
 * in DIR"). removed_partial (may be NULL) says whether a partial file went. */
int models_remove(const char *models_dir, const char *name, bool *removed_partial, char *err,
                  size_t errlen);

/* ---- verification --------------------------------------------------------- */

/* The SHA-1 of the file at path, as 40 hex characters, reading it in large
 * blocks; progress (may be NULL) is called with verifying = true. Returns
 * MODELS_ERR_CANCELLED when cancel is set during the read. */
int models_file_sha1(const char *path, char hex[41], models_progress_fn progress,
                     void *user_data, const atomic_int *cancel, char *err, size_t errlen);

/* ---- Hugging Face token (token.c) ------------------------------------------
 *
 * The token is a secret: no function of this module ever writes it into a
 * message, and callers must not either. Messages name where it came from. */

/* Longest token accepted (the hub's are about 40 characters). */
#define MODELS_HF_TOKEN_MAX 1023
/* Largest token file read. */
#define MODELS_HF_TOKEN_FILE_MAX 4096

typedef enum {
    MODELS_TOKEN_NONE = 0, /* found nowhere */
    MODELS_TOKEN_CONFIG,   /* the caller's configured value (hf_token) */
    MODELS_TOKEN_ENV,      /* the HF_TOKEN environment variable */
    MODELS_TOKEN_FILE,     /* the file $HF_HOME/token */
} models_token_source;

typedef struct {
    char token[MODELS_HF_TOKEN_MAX + 1]; /* "" when source is MODELS_TOKEN_NONE */
    models_token_source source;
    /* For messages: "config file" (or the caller's configured_name),
     * "HF_TOKEN", or the token file's path. With MODELS_TOKEN_NONE, the
     * token file that was looked for ("" when HOME is unset too). */
    char where[4096];
} models_hf_token;

/* Finds the Hugging Face token, first match wins: (1) configured (the config
 * file's hf_token as the caller has it; NULL or "" = unset), named
 * configured_name in messages (NULL = "config file"); (2) the HF_TOKEN
 * environment variable; (3) the file $HF_HOME/token, HF_HOME defaulting to
 * $HOME/.cache/huggingface, with surrounding whitespace trimmed. Empty
 * values count as unset. Finding none is not an error: MODELS_OK with
 * out->source == MODELS_TOKEN_NONE. Errors: MODELS_ERR_IO for a token file
 * that exists but cannot be read (permission denied, a directory, larger
 * than MODELS_HF_TOKEN_FILE_MAX), naming the file; MODELS_ERR_AUTH for a
 * token longer than MODELS_HF_TOKEN_MAX or holding spaces or control
 * characters, naming its source. On error out->token is "" and out->source
 * MODELS_TOKEN_NONE. Reads the environment; not thread-safe against setenv. */
int models_hf_token_resolve(const char *configured, const char *configured_name,
                            models_hf_token *out, char *err, size_t errlen);

/* MODELS_OK when token is usable in an Authorization header (1 to
 * MODELS_HF_TOKEN_MAX printable ASCII characters, no spaces), else
 * MODELS_ERR_AUTH (MODELS_ERR_TOKEN_REQUIRED for NULL or "") with a message
 * naming `where` (never the token). */
int models_hf_token_check(const char *token, const char *where, char *err, size_t errlen);

/* The text for "no token was found" — how to create a token, which model
 * conditions to accept and where to put it — for the CLI and for job error
 * messages. Writes into buf (capacity n, truncated to fit). */
void models_hf_token_help(char *buf, size_t n);

/* ---- the Hugging Face hub (hub_url.c, hub_fetch.c) ------------------------- */

#define MODELS_HUB_DEFAULT_URL "https://huggingface.co"

/* Whether a token may be sent to hub_url: an https:// URL always; an
 * http:// one only when allow_insecure (the hub_allow_insecure setting) is
 * true and its host is a loopback address (127.0.0.0/8, ::1, localhost).
 * MODELS_ERR_INSECURE otherwise, with a message naming the URL and
 * hub_allow_insecure. Looks at the text only: no name lookup, no connection. */
int models_hub_url_check(const char *hub_url, bool allow_insecure, char *err, size_t errlen);

/* ---- the pyannote models (pyannote.c) --------------------------------------
 *
 * The two files the pyannote diarization engine needs, as the hub publishes
 * them, each installed at MODELS_DIR/pyannote/<repo name>/pytorch_model.bin
 * (partial download: .pytorch_model.bin.part beside it). Only the SHA-256
 * the hub announces (X-Linked-Etag) and the size are checked here; the
 * engine parses the files itself. */

#define MODELS_PYANNOTE_SEGMENTATION "pyannote/segmentation-3.0"
#define MODELS_PYANNOTE_EMBEDDING "pyannote/wespeaker-voxceleb-resnet34-LM"
#define MODELS_PYANNOTE_FILE "pytorch_model.bin"
#define MODELS_PYANNOTE_COUNT 2 /* files, in the order segmentation, embedding */

/* Progress of a hub download; repo names the file's repository ("pyannote/
 * segmentation-3.0"), the rest as models_progress_fn (verifying: while the
 * SHA-256 is computed). Called on the thread that called the pull. */
typedef void (*models_hub_progress_fn)(const char *repo, long long done, long long total,
                                       bool verifying, void *user_data);

typedef struct {
    const char *hub_url;    /* "https://huggingface.co"; NULL/"" = that */
    const char *models_dir; /* created (mode 0755, with parents) when missing */
    const char *token;      /* resolved by the caller (models_hf_token_resolve);
                             * sent only as "Authorization: Bearer", only to
                             * the hub's host; NULL/"" = none */
    const char *token_where; /* where the token came from, for messages
                              * ("HF_TOKEN"); NULL = "the configuration" */
    bool allow_insecure;    /* hub_allow_insecure: http:// on loopback only */
    models_hub_progress_fn progress; /* NULL = none */
    void *progress_user_data;
    const atomic_int *cancel; /* non-zero = stop soon; NULL = never */
    long connect_timeout_ms;  /* 0 = libcurl's default */
    long total_timeout_ms;    /* per file; 0 = no limit */
    long stall_timeout_s;     /* abort when under 1 byte/s for this long; 0 = never */
    int max_redirects;        /* the hub redirects once, to its CDN */
    int max_attempts;         /* transfers per file: a connection that dropped
                               * after some bytes is resumed at once, up to
                               * this many times in all; < 1 = 1 */
} models_pyannote_params;

models_pyannote_params models_pyannote_default_params(void);

typedef struct {
    const char *repo;       /* static: MODELS_PYANNOTE_SEGMENTATION / _EMBEDDING */
    char path[4096];        /* the installed file (or where it would go) */
    bool installed;         /* a non-empty regular file at path */
    long long size;         /* its size; 0 when not installed */
    long long partial_bytes;/* bytes in its .part file; 0 when none */
} models_hub_file_status;

typedef struct {
    models_hub_file_status files[MODELS_PYANNOTE_COUNT];
    bool installed;         /* both files */
} models_pyannote_status;

/* What is in models_dir, without touching the network. MODELS_ERR_IO only
 * when a path does not fit. */
int models_pyannote_status_get(const char *models_dir, models_pyannote_status *st, char *err,
                               size_t errlen);

/* True when both files are installed in models_dir (no network). */
bool models_pyannote_installed(const char *models_dir);

/* The two installed files' paths (segmentation, embedding), whether or not
 * they exist. MODELS_ERR_IO when one does not fit its buffer. */
int models_pyannote_paths(const char *models_dir, char *seg_path, size_t seg_len,
                          char *emb_path, size_t emb_len, char *err, size_t errlen);

typedef struct {
    const char *repo;       /* static */
    bool already_installed; /* present before: no request was made for it */
    bool resumed;           /* the download continued a partial file */
    long long bytes;        /* size of the installed file */
    long long downloaded;   /* bytes received by this call */
    char path[4096];
    char sha256[65];        /* verified digest; "" when installed before or
                             * the hub announced none */
} models_hub_file_result;

typedef struct {
    models_hub_file_result files[MODELS_PYANNOTE_COUNT];
} models_pyannote_result;

/* Installs both files, skipping one already installed (no request is made
 * for it). The hub URL is checked first (models_hub_url_check), before
 * anything else. A file to download needs a token: without one,
 * MODELS_ERR_TOKEN_REQUIRED (message: models_hf_token_help) and no
 * connection. Each file is fetched from HUB/<repo>/resolve/main/
 * pytorch_model.bin into its partial file (resumed with Range), checked
 * against the size (X-Linked-Size, else the response's) and the SHA-256 the
 * hub announces (X-Linked-Etag, else ETag, when 64 hex digits), fsync()ed
 * and renamed into place. Errors: MODELS_ERR_INSECURE, _TOKEN_REQUIRED,
 * _AUTH (401: no token sent, or the token rejected), _FORBIDDEN (403: accept
 * the conditions at https://huggingface.co/<repo>), _HTTP (other statuses),
 * _NETWORK and _CANCELLED (partial file kept), _VERIFY (partial removed;
 * names both digests), _BUSY, _IO, _NOMEM. Messages never contain the
 * token. result may be NULL. */
int models_pyannote_pull(const models_pyannote_params *p, models_pyannote_result *result,
                         char *err, size_t errlen);

/* Removes both files, their partial downloads and the directories left
 * empty. MODELS_ERR_NOT_INSTALLED when none of them existed. */
int models_pyannote_remove(const char *models_dir, bool *removed_partial, char *err,
                           size_t errlen);

#endif
