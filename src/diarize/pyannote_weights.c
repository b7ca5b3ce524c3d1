/* pyannote_weights: finding, fetching and loading the pyannote engine's two
 * networks. They live in the models directory (models_pyannote_paths); when
 * missing they are fetched from the hub once, with the user's token, and
 * the token problems become their own error codes so a job can say
 * "hf_token_required" or "hf_token_invalid" rather than a generic failure.
 * The token itself never reaches a message: only where it came from. */
#include <stdio.h>
#include <string.h>

#include "diarize/pyannote_internal.h"
#include "models/models.h"
#include "util/util.h"

#define TOKEN_CONFIG_NAME "hf_token"
#define CONNECT_TIMEOUT_MS 15000L
#define STALL_TIMEOUT_S 60L

void diarize__pyannote_models_clear(diarize__pyannote_models *m)
{
    pyannote_segmenter_close(m->segmenter);
    pyannote_embedder_close(m->embedder);
    memset(m, 0, sizeof *m);
}

static void models_dir_of(const diarize_params *p, char *dir, size_t n)
{
    models_dir_default(p->models_dir, p->data_dir && p->data_dir[0] ? p->data_dir : ".", dir, n);
}

static int map_pull_error(int rc)
{
    switch (rc) {
    case MODELS_ERR_TOKEN_REQUIRED: return DIARIZE_ERR_TOKEN_REQUIRED;
    case MODELS_ERR_AUTH:
    case MODELS_ERR_FORBIDDEN: return DIARIZE_ERR_TOKEN_INVALID;
    case MODELS_ERR_CANCELLED: return DIARIZE_ERR_CANCELLED;
    case MODELS_ERR_NOMEM: return DIARIZE_ERR_NOMEM;
    default: return DIARIZE_ERR_FAILED;
    }
}

/* Fetches the missing files into dir with the token found for p. */
static int fetch(const diarize_params *p, const char *dir, char *err, size_t errlen)
{
    models_hf_token tok;
    char why[1024] = "";
    int rc = models_hf_token_resolve(p->hf_token, TOKEN_CONFIG_NAME, &tok, why, sizeof why);
    if (rc != MODELS_OK)
        return util_errf(err, errlen,
                         rc == MODELS_ERR_AUTH ? DIARIZE_ERR_TOKEN_INVALID
                                               : DIARIZE_ERR_TOKEN_REQUIRED,
                         "the pyannote models are not installed in %s and the Hugging Face "
                         "token cannot be used: %s",
                         dir, why);
    if (tok.source == MODELS_TOKEN_NONE) {
        char help[1024];
        models_hf_token_help(help, sizeof help);
        memset(&tok, 0, sizeof tok);
        return util_errf(err, errlen, DIARIZE_ERR_TOKEN_REQUIRED,
                         "the pyannote models are not installed in %s; %s", dir, help);
    }
    models_pyannote_params mp = models_pyannote_default_params();
    mp.hub_url = p->hub_url;
    mp.models_dir = dir;
    mp.token = tok.token;
    mp.token_where = tok.where;
    mp.allow_insecure = p->hub_allow_insecure;
    mp.cancel = p->cancel;
    mp.connect_timeout_ms = CONNECT_TIMEOUT_MS;
    mp.stall_timeout_s = STALL_TIMEOUT_S;
    rc = models_pyannote_pull(&mp, NULL, why, sizeof why);
    memset(&tok, 0, sizeof tok); /* the secret does not linger on the stack */
    if (rc != MODELS_OK)
        return util_errf(err, errlen, map_pull_error(rc), "fetching the pyannote models: %s",
                         why);
    return DIARIZE_OK;
}

static int load(diarize__pyannote_models *m, const char *dir, bool fast, char *err,
                size_t errlen)
{
    char seg[4096], emb[4096], why[1024] = "";
    if (models_pyannote_paths(dir, seg, sizeof seg, emb, sizeof emb, why, sizeof why) !=
        MODELS_OK)
        return util_errf(err, errlen, DIARIZE_ERR_FAILED, "%s", why);
    int rc = pyannote_segmenter_open(&m->segmenter, seg, why, sizeof why);
    if (rc == PYANNOTE_OK)
        rc = pyannote_embedder_open_precision(
            &m->embedder, emb, fast ? PYANNOTE_PRECISION_FAST : PYANNOTE_PRECISION_EXACT, why,
            sizeof why);
    if (rc != PYANNOTE_OK) {
        diarize__pyannote_models_clear(m);
        if (rc == PYANNOTE_ERR_NOMEM)
            return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "%s", why);
        return util_errf(err, errlen, DIARIZE_ERR_FAILED,
                         "cannot load the pyannote models: %s (`cesar models rm pyannote` "
                         "then `cesar models pull pyannote` fetches them again)",
                         why);
    }
    util_strlcpy(m->dir, dir, sizeof m->dir);
    m->fast = fast;
    return DIARIZE_OK;
}

int diarize__pyannote_models_ensure(diarize__pyannote_models *m, const diarize_params *p,
                                    char *err, size_t errlen)
{
    char dir[4096];
    models_dir_of(p, dir, sizeof dir);
    if (m->segmenter && m->embedder && strcmp(dir, m->dir) == 0 && m->fast == p->fast)
        return DIARIZE_OK;
    diarize__pyannote_models_clear(m);
    if (!models_pyannote_installed(dir)) {
        int rc = fetch(p, dir, err, errlen);
        if (rc != DIARIZE_OK)
            return rc;
    }
    return load(m, dir, p->fast, err, errlen);
}

void diarize__pyannote_status(const diarize_params *p, diarize_engine_status *out)
{
    char dir[4096], why[512] = "";
    models_dir_of(p, dir, sizeof dir);
    models_hf_token tok;
    int rc = models_hf_token_resolve(p->hf_token, TOKEN_CONFIG_NAME, &tok, why, sizeof why);
    out->weights_installed = models_pyannote_installed(dir);
    out->token = rc == MODELS_OK && tok.source != MODELS_TOKEN_NONE;
    if (out->token)
        util_strlcpy(out->token_source, tok.where, sizeof out->token_source);
    memset(&tok, 0, sizeof tok);
    out->available = out->weights_installed || out->token;
    if (out->weights_installed)
        util_errf(out->message, sizeof out->message, 0, "models installed in %s/pyannote", dir);
    else if (out->token)
        util_errf(out->message, sizeof out->message, 0,
                 "models not installed in %s/pyannote; the first job fetches them with the "
                 "token from %s",
                 dir, out->token_source);
    else if (rc != MODELS_OK)
        util_errf(out->message, sizeof out->message, 0,
                 "models not installed and the Hugging Face token cannot be used: %s", why);
    else
        util_errf(out->message, sizeof out->message, 0,
                 "models not installed in %s/pyannote and no Hugging Face token found "
                 "(hf_token, HF_TOKEN or $HF_HOME/token): jobs end partial with "
                 "hf_token_required",
                 dir);
}
