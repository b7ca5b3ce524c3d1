/* token: finding the Hugging Face access token the way the huggingface_hub
 * tools users already have do — the configured value, then HF_TOKEN, then
 * the file `huggingface-cli login` writes ($HF_HOME/token) — and the help
 * text for when there is none.
 *
 * Invariant: the token is copied only into the caller's models_hf_token;
 * every message names where a token came from, never its characters.
 */
#include "models/models.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define TOKEN_CONFIG_NAME "config file"
#define TOKEN_ENV_NAME "HF_TOKEN"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int models_hf_token_check(const char *token, const char *where, char *err, size_t errlen)
{
    if (!where)
        where = "the configuration";
    if (!token || !*token)
        return util_errf(err, errlen, MODELS_ERR_TOKEN_REQUIRED, "no Hugging Face token given");
    size_t n = strlen(token);
    if (n > MODELS_HF_TOKEN_MAX)
        return util_errf(err, errlen, MODELS_ERR_AUTH, "the Hugging Face token from %s is "
                         "%zu characters long, more than the %d a token can have", where, n,
                         MODELS_HF_TOKEN_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c <= 0x20 || c >= 0x7f)
            return util_errf(err, errlen, MODELS_ERR_AUTH, "the Hugging Face token from %s "
                             "contains a space, a control or a non-ASCII character (at "
                             "position %zu); a token has none", where, i + 1);
    }
    return MODELS_OK;
}

/* Copies value (a candidate from source, named where) into out after the
 * checks; MODELS_OK with out filled, or the check's error. */
static int take(models_hf_token *out, const char *value, size_t len, models_token_source source,
                const char *where, char *err, size_t errlen)
{
    char tmp[MODELS_HF_TOKEN_MAX + 2];
    size_t keep = len < sizeof tmp - 1 ? len : sizeof tmp - 1; /* one over the cap, to refuse it */
    memcpy(tmp, value, keep);
    tmp[keep] = '\0';
    int rc = models_hf_token_check(tmp, where, err, errlen);
    if (rc == MODELS_OK && len > keep)
        rc = util_errf(err, errlen, MODELS_ERR_AUTH, "the Hugging Face token from %s is longer "
                       "than the %d characters a token can have", where, MODELS_HF_TOKEN_MAX);
    if (rc == MODELS_OK) {
        memcpy(out->token, tmp, keep + 1);
        out->source = source;
        util_strlcpy(out->where, where, sizeof out->where);
    }
    memset(tmp, 0, sizeof tmp);
    return rc;
}

/* $HF_HOME/token, or $HOME/.cache/huggingface/token; "" when neither
 * variable is set. */
static void token_file_path(char *path, size_t n)
{
    const char *hf_home = getenv("HF_HOME");
    const char *home = getenv("HOME");
    path[0] = '\0';
    if (hf_home && *hf_home)
        snprintf(path, n, "%s/token", hf_home);
    else if (home && *home)
        snprintf(path, n, "%s/.cache/huggingface/token", home);
}

/* Reads the token file into buf (capacity n, NUL-terminated); *len = 0 when
 * it does not exist. Unreadable, not a regular file or too large: an error
 * naming it. */
static int read_token_file(const char *path, char *buf, size_t n, size_t *len, char *err,
                           size_t errlen)
{
    *len = 0;
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return MODELS_OK;
    if (fd < 0)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot read the Hugging Face token file "
                         "'%s': %s", path, strerror(errno));
    int rc = MODELS_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = util_errf(err, errlen, MODELS_ERR_IO, "the Hugging Face token file '%s' is not a "
                       "regular file", path);
        goto cleanup;
    }
    if (st.st_size >= (off_t)n) {
        rc = util_errf(err, errlen, MODELS_ERR_IO, "the Hugging Face token file '%s' has %lld "
                       "bytes, more than a token file can (%zu)", path, (long long)st.st_size,
                       n - 1);
        goto cleanup;
    }
    ssize_t got;
    while ((got = read(fd, buf + *len, n - 1 - *len)) > 0)
        *len += (size_t)got;
    if (got < 0) {
        rc = util_errf(err, errlen, MODELS_ERR_IO, "cannot read the Hugging Face token file "
                       "'%s': %s", path, strerror(errno));
        *len = 0;
    }
    buf[*len] = '\0';

cleanup:
    close(fd);
    return rc;
}

/* The file step: trims whitespace, an empty file counts as none. */
static int from_file(models_hf_token *out, char *err, size_t errlen)
{
    char buf[MODELS_HF_TOKEN_FILE_MAX + 1];
    size_t len = 0;
    token_file_path(out->where, sizeof out->where);
    if (!out->where[0])
        return MODELS_OK;
    int rc = read_token_file(out->where, buf, sizeof buf, &len, err, errlen);
    size_t start = 0;
    while (start < len && is_space(buf[start]))
        start++;
    while (len > start && is_space(buf[len - 1]))
        len--;
    char where[sizeof out->where];
    util_strlcpy(where, out->where, sizeof where);
    if (rc == MODELS_OK && len > start)
        rc = take(out, buf + start, len - start, MODELS_TOKEN_FILE, where, err, errlen);
    memset(buf, 0, sizeof buf);
    return rc;
}

int models_hf_token_resolve(const char *configured, const char *configured_name,
                            models_hf_token *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc;
    const char *env = getenv(TOKEN_ENV_NAME);
    if (configured && *configured)
        rc = take(out, configured, strlen(configured), MODELS_TOKEN_CONFIG,
                  configured_name ? configured_name : TOKEN_CONFIG_NAME, err, errlen);
    else if (env && *env)
        rc = take(out, env, strlen(env), MODELS_TOKEN_ENV, TOKEN_ENV_NAME, err, errlen);
    else
        rc = from_file(out, err, errlen);
    if (rc != MODELS_OK) {
        memset(out->token, 0, sizeof out->token);
        out->source = MODELS_TOKEN_NONE;
    }
    return rc;
}

void models_hf_token_help(char *buf, size_t n)
{
    if (!buf || n == 0)
        return;
    snprintf(buf, n,
             "no Hugging Face token was found, and the pyannote models are only served to "
             "signed-in users who accepted their conditions: create a token (type \"read\") at "
             "https://huggingface.co/settings/tokens, accept the conditions of both "
             "https://huggingface.co/" MODELS_PYANNOTE_SEGMENTATION " and https://huggingface.co/"
             MODELS_PYANNOTE_EMBEDDING " with the same account, then put the token in the "
             "config file (hf_token = \"hf_...\"), in the HF_TOKEN environment variable, or in "
             "the file ~/.cache/huggingface/token ($HF_HOME/token)");
}
