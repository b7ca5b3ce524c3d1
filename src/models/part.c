/* part: the partial file a download writes into, shared by the Whisper
 * pull (pull.c) and the hub fetch (hub_fetch.c) — opening it under an
 * exclusive flock() so two pulls of one file never write it at once,
 * deciding after a failure whether it is worth keeping for a resume, and
 * installing it by rename().
 *
 * Invariant: the final file only appears through rename() of a partial
 * file the caller has fsync()ed and checked; a partial file is removed only
 * when it is empty or its contents are known bad, never one a later pull
 * can resume.
 */
#include "models/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

int models__part_open(const char *part, const char *what, int *fd, char *err, size_t errlen)
{
    *fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot open '%s': %s", part,
                         strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        /* not ours: closing drops nothing the other pull holds */
        close(*fd);
        *fd = -1;
        return util_errf(err, errlen, MODELS_ERR_BUSY, "%s is being downloaded by another "
                         "process (%s is locked)", what, part);
    }
    return MODELS_OK;
}

void models__part_settle(int fd, const char *part, int rc)
{
    if (rc == MODELS_OK)
        return;
    struct stat st;
    bool empty = fstat(fd, &st) == 0 && st.st_size == 0;
    if (empty || rc == MODELS_ERR_VERIFY)
        unlink(part);
}

void models__part_note_removed(char *err, size_t errlen, const char *url, const char *part)
{
    size_t used = err ? strlen(err) : 0;
    if (used + 1 < errlen)
        snprintf(err + used, errlen - used, " (downloaded from %s); the download %s was removed",
                 url, part);
}

int models__part_rename(const char *part, const char *final, const char *dir, char *err,
                        size_t errlen)
{
    if (rename(part, final) != 0)
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot rename '%s' to '%s': %s", part,
                         final, strerror(errno));
    util_fsync_dir(dir); /* best effort: the file is in place either way */
    return MODELS_OK;
}
