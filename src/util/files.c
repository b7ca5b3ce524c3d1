/* files: file-system helpers. util_write_file_atomic is how every output is
 * written: the data goes to a hidden temporary file next to the target, is
 * fsync'd, and only then renamed over the target, so a crash or Ctrl-C leaves
 * either the previous file or the complete new one — never a truncated one. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int util_mkdir_p(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (strlen(dir) >= sizeof path)
        return util_errf(err, errlen, UTIL_ERR_IO, "%s: path too long", dir);
    util_strlcpy(path, dir, sizeof path);
    for (char *p = path + 1; ; p++) {
        char saved = *p;
        if (saved != '/' && saved != '\0')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return util_errf(err, errlen, UTIL_ERR_IO, "cannot create directory '%s': %s",
                             path, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return util_errf(err, errlen, UTIL_ERR_IO, "'%s' exists and is not a directory", dir);
    return UTIL_OK;
}

void util_path_dirname(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        util_strlcpy(dir, ".", n);
        return;
    }
    size_t len = (size_t)(slash - path);
    if (len == 0)
        len = 1; /* "/file" -> "/" */
    if (len >= n)
        len = n - 1;
    memcpy(dir, path, len);
    dir[len] = '\0';
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int util_write_file_atomic(const char *path, const void *data, size_t len,
                           char *err, size_t errlen)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    util_path_dirname(path, dir, sizeof dir);
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", dir, base);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return util_errf(err, errlen, UTIL_ERR_IO, "%s: path too long", path);

    int fd = mkstemp(tmp);
    if (fd < 0)
        return util_errf(err, errlen, UTIL_ERR_IO, "cannot write '%s': %s", path,
                         strerror(errno));
    int rc = UTIL_OK;
    if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = util_errf(err, errlen, UTIL_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        goto cleanup;
    }
    /* mkstemp creates 0600; transcripts are ordinary files. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    if (close(fd) != 0) {
        fd = -1;
        rc = util_errf(err, errlen, UTIL_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = util_errf(err, errlen, UTIL_ERR_IO, "cannot replace '%s': %s", path, strerror(errno));
        goto cleanup;
    }
    util_fsync_dir(dir); /* best effort: the file itself is already synced */
    return UTIL_OK;

cleanup:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int util_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

bool util_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
