/* jobdir: the per-job directories under DATA_DIR/jobs/ that hold a job's
 * audio. A job's files are removed with the job and never by a global wipe;
 * the only other removal is the startup sweep of directories whose job row
 * was never committed (the server died between receiving an upload and
 * answering 202, so no client was told the job exists). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/internal.h"

void server__job_dir(const server *s, const char *id, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", s->jobs_dir, id);
}

int server__job_dir_create(const server *s, const char *id, char *err, size_t errlen)
{
    if (!store_is_job_id(id))
        return util_errf(err, errlen, SERVER_ERR_INVALID, "not a job id: '%s'", id);
    char dir[4096];
    server__job_dir(s, id, dir, sizeof dir);
    if (util_mkdir_p(s->jobs_dir, err, errlen) != UTIL_OK)
        return SERVER_ERR_IO;
    if (mkdir(dir, 0700) != 0)
        return util_errf(err, errlen, SERVER_ERR_IO, "cannot create %s: %s", dir,
                         strerror(errno));
    if (util_fsync_dir(s->jobs_dir) != 0)
        return util_errf(err, errlen, SERVER_ERR_IO, "cannot sync %s: %s", s->jobs_dir,
                         strerror(errno));
    return SERVER_OK;
}

int server__job_dir_remove(const server *s, const char *id, char *err, size_t errlen)
{
    /* The id is checked so that nothing but a job directory can be named. */
    if (!store_is_job_id(id))
        return util_errf(err, errlen, SERVER_ERR_INVALID, "not a job id: '%s'", id);
    char dir[4096];
    server__job_dir(s, id, dir, sizeof dir);
    /* Recursive: a download killed with the server leaves yt-dlp's private
     * output directory inside the job's. */
    if (util_remove_tree(dir, false, err, errlen) != UTIL_OK)
        return SERVER_ERR_IO;
    return SERVER_OK;
}

int server__job_dirs_sweep(server *s)
{
    DIR *d = opendir(s->jobs_dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!store_is_job_id(e->d_name))
            continue; /* not ours: leave it */
        store_job *j = NULL;
        char err[512];
        int rc = store_get_job(server__db(s), e->d_name, &j, err, sizeof err);
        store_job_free(j);
        if (rc != STORE_ERR_NOT_FOUND)
            continue;
        if (server__job_dir_remove(s, e->d_name, err, sizeof err) == SERVER_OK) {
            removed++;
            server__log(s, SERVER_LOG_INFO, "removed %s/%s: an upload whose job was never created",
                        s->jobs_dir, e->d_name);
        } else {
            server__log(s, SERVER_LOG_WARN, "%s", err);
        }
    }
    closedir(d);
    return removed;
}
