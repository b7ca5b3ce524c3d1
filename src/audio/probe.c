/* probe: the checks audio_open runs on a path before handing it to FFmpeg.
 * Order matters: existence, then type, then permission, then size, so each
 * message describes the first thing that is actually wrong. */
#include "audio/probe.h"

#include "audio/audio.h"
#include "util/util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int audio__probe_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (!path || !*path)
        return util_errf(err, errlen, AUDIO_ERR_NOT_FOUND, "no input file given");
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return util_errf(err, errlen, AUDIO_ERR_NOT_FOUND, "'%s': no such file", path);
        if (e == EACCES)
            return util_errf(err, errlen, AUDIO_ERR_PERMISSION, "'%s': permission denied", path);
        return util_errf(err, errlen, AUDIO_ERR_IO, "'%s': %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return util_errf(err, errlen, AUDIO_ERR_NOT_FILE, "'%s' is a directory, not an audio file",
                         path);
    if (!S_ISREG(st.st_mode))
        return util_errf(err, errlen, AUDIO_ERR_NOT_FILE,
                         "'%s' is not a regular file (pipes and devices cannot be read)", path);
    /* access() rather than a trial open(): it answers the question without
     * touching the file. For root it succeeds whatever the mode bits say,
     * which is also what FFmpeg's open would find. */
    if (access(path, R_OK) != 0) {
        int e = errno;
        if (e == EACCES || e == EPERM)
            return util_errf(err, errlen, AUDIO_ERR_PERMISSION, "'%s': permission denied", path);
        return util_errf(err, errlen, AUDIO_ERR_IO, "'%s': %s", path, strerror(e));
    }
    if (st.st_size == 0)
        return util_errf(err, errlen, AUDIO_ERR_EMPTY, "'%s' is empty (0 bytes)", path);
    return AUDIO_OK;
}
