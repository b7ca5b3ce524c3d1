/* output_check: validates the -o path up front. Missing directories are
 * fine (they are created when the transcript is written); what must already
 * hold is that the nearest existing ancestor is a writable directory, which
 * is tested by actually creating (and removing) a temporary file there —
 * the only test that is right for root, read-only mounts and ACLs alike. */
#include "cli/output_check.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/util.h"

static int probe_writable(const char *dir, const char *output, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s/.cesar-probe-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return util_errf(err, errlen, CLI_EXIT_FAILURE, "output path '%s' is too long", output);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return util_errf(err, errlen, CLI_EXIT_FAILURE,
                         "cannot write output '%s': directory '%s' is not writable (%s)",
                         output, dir, strerror(errno));
    close(fd);
    unlink(tmp);
    return 0;
}

/* Walks up from dir to the first component that exists. */
static int nearest_existing_dir(const char *output, char *dir, size_t n, char *err,
                                size_t errlen)
{
    struct stat st;
    util_path_dirname(output, dir, n);
    while (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return util_errf(err, errlen, CLI_EXIT_FAILURE, "cannot write output '%s': %s: %s",
                             output, dir, strerror(errno));
        char parent[PATH_MAX];
        util_path_dirname(dir, parent, sizeof parent);
        if (strcmp(parent, dir) == 0)
            break;
        util_strlcpy(dir, parent, n);
    }
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return util_errf(err, errlen, CLI_EXIT_FAILURE,
                         "cannot write output '%s': '%s' is not a directory", output, dir);
    return 0;
}

int cli_output_check(const char *input, const char *output, char *err, size_t errlen)
{
    struct stat st;
    char dir[PATH_MAX];
    if (strcmp(input, output) == 0 || util_same_file(input, output))
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "output '%s' is the input file; choose another -o path", output);
    if (stat(output, &st) == 0 && S_ISDIR(st.st_mode))
        return util_errf(err, errlen, CLI_EXIT_USAGE,
                         "output '%s' is a directory; give a file name such as %s/transcript.txt",
                         output, output);
    int rc = nearest_existing_dir(output, dir, sizeof dir, err, errlen);
    if (rc != 0)
        return rc;
    return probe_writable(dir, output, err, errlen);
}
