/* get: the one call the CLI and the server's workers make for a link —
 * classify it, reuse a fresh cached copy, or download it (direct or through
 * yt-dlp) and keep a copy in the cache. The cache is an optimisation: when
 * it fails the download still happens, and when a download fails the cache
 * is left as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch/fetch.h"
#include "util/util.h"

fetch_get_params fetch_get_default_params(void)
{
    fetch_get_params p;
    memset(&p, 0, sizeof p);
    p.net = fetch_default_params();
    fetch_cache_params cp = fetch_cache_default_params();
    p.cache_max_age_seconds = cp.max_age_seconds;
    p.cache_max_bytes = cp.max_bytes;
    return p;
}

/* A new, empty, uniquely named file in dir for a download to land on
 * (fetch_http renames over it). *path is malloc'd. */
static int reserve_name(const char *dir, char **path, char *err, size_t errlen)
{
    size_t n = strlen(dir) + sizeof "/link-XXXXXX";
    char *p = malloc(n);
    if (!p)
        return util_errf(err, errlen, FETCH_ERR_NOMEM, "out of memory");
    snprintf(p, n, "%s/link-XXXXXX", dir);
    int fd = mkstemp(p);
    if (fd < 0) {
        int e = errno;
        free(p);
        return util_errf(err, errlen, FETCH_ERR_IO, "cannot create a file in '%s': %s", dir,
                         strerror(e));
    }
    close(fd);
    *path = p;
    return FETCH_OK;
}

static fetch_cache *open_cache(const fetch_get_params *p)
{
    if (p->no_cache || !p->cache_dir || !p->cache_dir[0])
        return NULL;
    fetch_cache_params cp = fetch_cache_default_params();
    cp.dir = p->cache_dir;
    cp.max_age_seconds = p->cache_max_age_seconds;
    cp.max_bytes = p->cache_max_bytes;
    fetch_cache *c = NULL;
    if (fetch_cache_open(&c, &cp, NULL, 0) != FETCH_OK)
        return NULL; /* no cache this time; the download goes on */
    return c;
}

/* A fresh cached copy of key into a new file in dir, or NULL on a miss. */
static char *from_cache_copy(fetch_cache *c, const char *key, const char *dir)
{
    char *path = NULL;
    bool hit = false;
    if (!c || reserve_name(dir, &path, NULL, 0) != FETCH_OK)
        return NULL;
    unlink(path); /* the cache creates dest itself (a hard link or a copy) */
    if (fetch_cache_get(c, key, path, &hit, NULL, 0) == FETCH_OK && hit)
        return path;
    unlink(path);
    free(path);
    return NULL;
}

/* The link's cache key, kept apart for downloads made while private
 * addresses were allowed: a copy fetched from inside the network must not
 * be handed out once the setting is off, when the link itself would be
 * refused. */
static int cache_key(const char *url, bool allow_private, char **key)
{
    char *base = NULL;
    int rc = fetch_cache_key(url, &base, NULL, 0);
    if (rc != FETCH_OK || !allow_private) {
        *key = base;
        return rc;
    }
    size_t n = strlen(base) + sizeof "private|";
    *key = malloc(n);
    if (*key)
        snprintf(*key, n, "private|%s", base);
    free(base);
    return *key ? FETCH_OK : FETCH_ERR_NOMEM;
}

static int download(const char *url, fetch_link_kind kind, const char *dir,
                    const fetch_get_params *p, char **out_path, char *err, size_t errlen)
{
    if (kind == FETCH_LINK_YOUTUBE)
        return fetch_ytdlp(url, dir, &p->net, out_path, err, errlen);
    char *path = NULL;
    int rc = reserve_name(dir, &path, err, errlen);
    if (rc != FETCH_OK)
        return rc;
    rc = fetch_http(url, path, &p->net, err, errlen);
    if (rc != FETCH_OK) {
        unlink(path); /* the placeholder, when the download never replaced it */
        free(path);
        return rc;
    }
    *out_path = path;
    return FETCH_OK;
}

int fetch_get(const char *url, const char *dir, const fetch_get_params *p, char **out_path,
              bool *from_cache, char *err, size_t errlen)
{
    fetch_link_kind kind;
    char video_id[FETCH_VIDEO_ID_MAX];
    char *key = NULL;
    fetch_cache *cache = NULL;
    int rc;
    *out_path = NULL;
    if (from_cache)
        *from_cache = false;
    if ((rc = fetch_classify(url, &kind, video_id, err, errlen)) != FETCH_OK)
        return rc;
    if ((rc = fetch_global_init(err, errlen)) != FETCH_OK)
        return rc;
    cache = open_cache(p);
    if (cache && cache_key(url, p->net.allow_private, &key) != FETCH_OK)
        key = NULL;
    if (key && (*out_path = from_cache_copy(cache, key, dir)) != NULL) {
        if (from_cache)
            *from_cache = true;
        if (p->net.progress)
            p->net.progress(1.0, -1, p->net.progress_user_data);
        goto cleanup;
    }
    rc = download(url, kind, dir, p, out_path, err, errlen);
    if (rc == FETCH_OK && key)
        fetch_cache_put(cache, key, *out_path, NULL, 0); /* best effort */

cleanup:
    free(key);
    fetch_cache_close(cache);
    return rc;
}
