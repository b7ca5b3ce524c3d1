/* locate: from a --model value to a file that is really there — what the
 * transcription command and `cesar models path` need, with the one message
 * that tells a user how to get a model that is missing. */
#include "models/models.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

int models_locate(const char *models_dir, const char *name_or_path, char *path, size_t pathlen,
                  char *err, size_t errlen)
{
    int rc = models_resolve(models_dir, name_or_path, path, pathlen, err, errlen);
    if (rc != MODELS_OK)
        return rc;
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && S_ISREG(st.st_mode))
        return MODELS_OK;
    const char *why = exists ? "not a regular file" : strerror(errno);
    if (models_is_path(name_or_path))
        return util_errf(err, errlen, MODELS_ERR_NOT_INSTALLED, "model file '%s': %s", path, why);
    return util_errf(err, errlen, MODELS_ERR_NOT_INSTALLED, "model '%s' is not installed (no "
                     "%s); 'cesar models pull %s' installs it", name_or_path, path, name_or_path);
}
