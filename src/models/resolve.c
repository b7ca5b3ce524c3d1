/* resolve: from what a user types after --model, or after `cesar models`,
 * to a file. A bare name ("base.en") means the standard file name in the
 * models directory; anything that looks like a path is taken literally, so
 * a model kept elsewhere needs no catalog entry. Pure string work: nothing
 * here touches the file system. */
#include "models/models.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

bool models_is_path(const char *name_or_path)
{
    if (!name_or_path)
        return false;
    size_t n = strlen(name_or_path);
    return strchr(name_or_path, '/') != NULL ||
           (n >= 4 && strcmp(name_or_path + n - 4, ".bin") == 0);
}

bool models_valid_name(const char *name)
{
    if (!name || !*name || name[0] == '.' || name[0] == '-' || strlen(name) > MODELS_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return false;
    return true;
}

void models_dir_default(const char *models_dir, const char *data_dir, char *buf, size_t n)
{
    if (models_dir && *models_dir)
        snprintf(buf, n, "%s", models_dir);
    else
        snprintf(buf, n, "%s/models", data_dir && *data_dir ? data_dir : ".");
}

static int check_name(const char *name, char *err, size_t errlen)
{
    if (models_valid_name(name))
        return MODELS_OK;
    return util_errf(err, errlen, MODELS_ERR_NAME, "model name '%.80s' may only contain letters, "
                     "digits, '.', '_' and '-' (at most %d characters, not starting with '.' "
                     "or '-')", name ? name : "", MODELS_NAME_MAX);
}

static int fit(int written, size_t pathlen, const char *what, char *err, size_t errlen)
{
    if (written >= 0 && (size_t)written < pathlen)
        return MODELS_OK;
    return util_errf(err, errlen, MODELS_ERR_IO, "the path of model '%.80s' is longer than %zu "
                     "bytes", what, pathlen ? pathlen - 1 : 0);
}

int models_resolve(const char *models_dir, const char *name_or_path, char *path, size_t pathlen,
                   char *err, size_t errlen)
{
    if (pathlen > 0)
        path[0] = '\0';
    if (!name_or_path || !*name_or_path)
        return util_errf(err, errlen, MODELS_ERR_NAME, "no model name or path given");
    if (models_is_path(name_or_path))
        return fit(snprintf(path, pathlen, "%s", name_or_path), pathlen, name_or_path, err,
                   errlen);
    int rc = check_name(name_or_path, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    rc = fit(snprintf(path, pathlen, "%s/ggml-%s.bin", models_dir, name_or_path), pathlen,
             name_or_path, err, errlen);
    if (rc != MODELS_OK && pathlen > 0)
        path[0] = '\0';
    return rc;
}

int models_part_path(const char *models_dir, const char *name, char *path, size_t pathlen,
                     char *err, size_t errlen)
{
    if (pathlen > 0)
        path[0] = '\0';
    int rc = check_name(name, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    rc = fit(snprintf(path, pathlen, "%s/.ggml-%s.bin.part", models_dir, name), pathlen, name,
             err, errlen);
    if (rc != MODELS_OK && pathlen > 0)
        path[0] = '\0';
    return rc;
}
