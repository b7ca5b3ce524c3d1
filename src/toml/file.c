/* file: reading a TOML file into memory for the parser. The read is bounded
 * by TOML_MAX_INPUT whatever the file claims to be (a FIFO or /proc file
 * has no useful size), and the three ways a path can fail to be a config —
 * missing, a directory, too large — get distinct messages. */
#include "toml/internal.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_all(int fd, const char *path, util_buf *b, char *err, size_t errlen)
{
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return util_errf(err, errlen, TOML_ERR_IO, "%s: %s", path, strerror(errno));
        if (n == 0)
            return TOML_OK;
        int rc = util_buf_append(b, chunk, (size_t)n);
        if (rc == UTIL_ERR_TOO_LARGE)
            return util_errf(err, errlen, TOML_ERR_TOO_LARGE, "%s: larger than %d bytes", path,
                             TOML_MAX_INPUT);
        if (rc != UTIL_OK)
            return util_errf(err, errlen, TOML_ERR_NOMEM, "%s: out of memory", path);
    }
}

static int read_file(const char *path, util_buf *b, char *err, size_t errlen)
{
    struct stat st;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return util_errf(err, errlen, TOML_ERR_IO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = util_errf(err, errlen, TOML_ERR_IO, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = util_errf(err, errlen, TOML_ERR_IO, "%s: is a directory", path);
        goto cleanup;
    }
    if (S_ISREG(st.st_mode) && st.st_size > TOML_MAX_INPUT) {
        rc = util_errf(err, errlen, TOML_ERR_TOO_LARGE, "%s: larger than %d bytes", path,
                       TOML_MAX_INPUT);
        goto cleanup;
    }
    rc = read_all(fd, path, b, err, errlen);
cleanup:
    close(fd);
    return rc;
}

int toml_parse_file(const char *path, toml_doc **out, char *err, size_t errlen)
{
    util_buf b = UTIL_BUF_INIT(TOML_MAX_INPUT);
    *out = NULL;
    if (!path)
        return util_errf(err, errlen, TOML_ERR_IO, "no file name given");
    int rc = read_file(path, &b, err, errlen);
    if (rc == TOML_OK)
        rc = toml__parse_named(b.data, b.len, path, out, err, errlen);
    util_buf_free(&b);
    return rc;
}
