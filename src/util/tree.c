/* tree: removing a directory and everything below it. Job directories,
 * download temp directories and yt-dlp's private output directory all
 * need it, and each may hold a subdirectory left by a process killed
 * half-way, so a flat "unlink every file" leaves them behind. Symbolic
 * links are removed, never followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

/* Removes every entry of the directory open as dfd (which it closes).
 * Returns 0, or the errno of the first entry that could not be removed. */
static int empty_dir(int dfd)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return e;
    }
    int first = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0 || errno == ENOENT)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            first = first ? first : errno;
            continue;
        }
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int rc = sub < 0 ? errno : empty_dir(sub);
        if (rc == 0 && unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT)
            rc = errno;
        first = first ? first : rc;
    }
    closedir(d);
    return first;
}

int util_remove_tree(const char *path, bool keep_top, char *err, size_t errlen)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return UTIL_OK;
        if (errno == ENOTDIR && !keep_top && unlink(path) == 0)
            return UTIL_OK;
        return util_errf(err, errlen, UTIL_ERR_IO, "cannot remove %s: %s", path,
                         strerror(errno));
    }
    int rc = empty_dir(dfd);
    if (rc == 0 && !keep_top && rmdir(path) != 0 && errno != ENOENT)
        rc = errno;
    if (rc != 0)
        return util_errf(err, errlen, UTIL_ERR_IO, "cannot remove everything in %s: %s", path,
                         strerror(rc));
    return UTIL_OK;
}
