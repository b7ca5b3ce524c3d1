/* remove: `cesar models rm NAME` — the installed file and any partial
 * download of it, since a part left behind would be resumed by the next
 * pull without the user having asked for one. */
#include "models/internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

int models__remove_file(const char *path, bool *gone, char *err, size_t errlen)
{
    *gone = false;
    if (unlink(path) == 0) {
        *gone = true;
        return MODELS_OK;
    }
    if (errno == ENOENT)
        return MODELS_OK;
    return util_errf(err, errlen, MODELS_ERR_IO, "cannot remove '%s': %s", path, strerror(errno));
}

int models_remove(const char *models_dir, const char *name, bool *removed_partial, char *err,
                  size_t errlen)
{
    char path[4096], part[4096];
    bool had_file = false, had_part = false;
    if (removed_partial)
        *removed_partial = false;
    int rc = models_resolve(models_dir, name, path, sizeof path, err, errlen);
    if (rc == MODELS_OK && models_is_path(name))
        rc = util_errf(err, errlen, MODELS_ERR_NAME, "'%s' is a path, not a model name; remove "
                       "the file itself", name);
    if (rc == MODELS_OK)
        rc = models_part_path(models_dir, name, part, sizeof part, err, errlen);
    if (rc == MODELS_OK)
        rc = models__remove_file(path, &had_file, err, errlen);
    if (rc == MODELS_OK)
        rc = models__remove_file(part, &had_part, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    if (removed_partial)
        *removed_partial = had_part;
    if (!had_file && !had_part)
        return util_errf(err, errlen, MODELS_ERR_NOT_INSTALLED, "model '%s' is not installed "
                         "(no %s)", name, path);
    if (had_file || had_part)
        util_fsync_dir(models_dir); /* best effort: the removal is done either way */
    return MODELS_OK;
}
