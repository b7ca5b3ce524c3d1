/* pyannote: the model set the pyannote diarization engine runs on — the
 * segmentation and the speaker-embedding checkpoints as the Hugging Face hub
 * publishes them — where they live in the models directory, whether they
 * are there, fetching the missing ones, and removing them.
 *
 * Layout: MODELS_DIR/pyannote/<repo name>/pytorch_model.bin, so each repo's
 * file keeps the hub's own name and the Whisper listing (ggml-*.bin at the
 * top level) never sees them. Order of checks in a pull: the hub URL policy
 * (nothing may leave in clear text), what is already installed (no request),
 * the token (no request without one), then the downloads.
 */
#include "models/internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define PYANNOTE_SUBDIR "pyannote"

static const char *const repos[MODELS_PYANNOTE_COUNT] = {MODELS_PYANNOTE_SEGMENTATION,
                                                         MODELS_PYANNOTE_EMBEDDING};

models_pyannote_params models_pyannote_default_params(void)
{
    models_pyannote_params p;
    memset(&p, 0, sizeof p);
    p.hub_url = MODELS_HUB_DEFAULT_URL;
    p.connect_timeout_ms = 10000;
    p.stall_timeout_s = 120;
    p.max_redirects = 5;
    p.max_attempts = 3;
    return p;
}

/* The repo's name without its owner: "segmentation-3.0". */
static const char *repo_name(const char *repo)
{
    const char *slash = strrchr(repo, '/');
    return slash ? slash + 1 : repo;
}

/* models_dir/pyannote/NAME, then "/pytorch_model.bin" (file) or
 * "/.pytorch_model.bin.part" (part). */
static int file_paths(const char *models_dir, const char *repo, char *file, size_t file_len,
                      char *part, size_t part_len, char *err, size_t errlen)
{
    const char *name = repo_name(repo);
    int a = snprintf(file, file_len, "%s/%s/%s/%s", models_dir, PYANNOTE_SUBDIR, name,
                     MODELS_PYANNOTE_FILE);
    int b = part ? snprintf(part, part_len, "%s/%s/%s/.%s.part", models_dir, PYANNOTE_SUBDIR,
                            name, MODELS_PYANNOTE_FILE)
                 : 0;
    if (a < 0 || (size_t)a >= file_len || b < 0 || (part && (size_t)b >= part_len))
        return util_errf(err, errlen, MODELS_ERR_IO, "models directory path '%s' is too long",
                         models_dir);
    return MODELS_OK;
}

int models_pyannote_paths(const char *models_dir, char *seg_path, size_t seg_len,
                          char *emb_path, size_t emb_len, char *err, size_t errlen)
{
    int rc = file_paths(models_dir, repos[0], seg_path, seg_len, NULL, 0, err, errlen);
    if (rc == MODELS_OK)
        rc = file_paths(models_dir, repos[1], emb_path, emb_len, NULL, 0, err, errlen);
    return rc;
}

static long long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return (long long)st.st_size;
}

int models_pyannote_status_get(const char *models_dir, models_pyannote_status *st, char *err,
                               size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->installed = true;
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++) {
        models_hub_file_status *fs = &st->files[i];
        char part[4096];
        fs->repo = repos[i];
        int rc = file_paths(models_dir, repos[i], fs->path, sizeof fs->path, part, sizeof part,
                            err, errlen);
        if (rc != MODELS_OK) {
            st->installed = false;
            return rc;
        }
        fs->size = file_size(fs->path);
        fs->installed = fs->size > 0;
        fs->partial_bytes = file_size(part);
        st->installed = st->installed && fs->installed;
    }
    return MODELS_OK;
}

bool models_pyannote_installed(const char *models_dir)
{
    models_pyannote_status st;
    return models_pyannote_status_get(models_dir, &st, NULL, 0) == MODELS_OK && st.installed;
}

/* The checks before any byte is requested: a usable hub URL, a models
 * directory, and a usable token when something has to be downloaded. */
static int check_pull(const models_pyannote_params *p, const models_pyannote_status *st,
                      char *err, size_t errlen)
{
    const char *hub = p->hub_url && *p->hub_url ? p->hub_url : MODELS_HUB_DEFAULT_URL;
    int rc = models_hub_url_check(hub, p->allow_insecure, err, errlen);
    if (rc != MODELS_OK || st->installed)
        return rc;
    if (!p->token || !*p->token) {
        models_hf_token_help(err, errlen);
        return MODELS_ERR_TOKEN_REQUIRED;
    }
    return models_hf_token_check(p->token, p->token_where, err, errlen);
}

int models_pyannote_pull(const models_pyannote_params *p, models_pyannote_result *result,
                         char *err, size_t errlen)
{
    models_pyannote_result local;
    models_pyannote_result *r = result ? result : &local;
    memset(r, 0, sizeof *r);
    models_pyannote_status st;
    if (!p->models_dir || !*p->models_dir)
        return util_errf(err, errlen, MODELS_ERR_IO, "no models directory given");
    int rc = models_pyannote_status_get(p->models_dir, &st, err, errlen);
    if (rc == MODELS_OK)
        rc = check_pull(p, &st, err, errlen);
    for (int i = 0; rc == MODELS_OK && i < MODELS_PYANNOTE_COUNT; i++) {
        models_hub_file_result *fr = &r->files[i];
        fr->repo = repos[i];
        util_strlcpy(fr->path, st.files[i].path, sizeof fr->path);
        if (st.files[i].installed) {
            fr->already_installed = true;
            fr->bytes = st.files[i].size;
            continue;
        }
        char part[4096];
        rc = file_paths(p->models_dir, repos[i], fr->path, sizeof fr->path, part, sizeof part,
                        err, errlen);
        models__hub_file f = {repos[i], MODELS_PYANNOTE_FILE, fr->path, part};
        if (rc == MODELS_OK)
            rc = models__hub_fetch(p, &f, fr, err, errlen);
    }
    return rc;
}

int models_pyannote_remove(const char *models_dir, bool *removed_partial, char *err,
                           size_t errlen)
{
    bool any_file = false, any_part = false;
    if (removed_partial)
        *removed_partial = false;
    char top[4096];
    snprintf(top, sizeof top, "%s/%s", models_dir, PYANNOTE_SUBDIR);
    for (int i = 0; i < MODELS_PYANNOTE_COUNT; i++) {
        char file[4096], part[4096], dir[4096];
        bool gone_file, gone_part;
        int rc = file_paths(models_dir, repos[i], file, sizeof file, part, sizeof part, err,
                            errlen);
        if (rc == MODELS_OK)
            rc = models__remove_file(file, &gone_file, err, errlen);
        if (rc == MODELS_OK)
            rc = models__remove_file(part, &gone_part, err, errlen);
        if (rc != MODELS_OK)
            return rc;
        any_file = any_file || gone_file;
        any_part = any_part || gone_part;
        util_path_dirname(file, dir, sizeof dir);
        rmdir(dir); /* only when empty: anything the user put there stays */
    }
    rmdir(top);
    if (removed_partial)
        *removed_partial = any_part;
    if (!any_file && !any_part)
        return util_errf(err, errlen, MODELS_ERR_NOT_INSTALLED, "the pyannote models are not "
                         "installed (no %s)", top);
    util_fsync_dir(models_dir);
    return MODELS_OK;
}
