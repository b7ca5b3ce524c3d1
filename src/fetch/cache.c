/* cache: the download cache, so a link transcribed twice is fetched once.
 *
 * DESIGN. Entries are content-addressed by their key (a normalised link,
 * see fetch_cache_key): HEX = SHA-256 of the key in hex, and the entry is
 *     DIR/ab/HEX.audio   the downloaded bytes, exactly as they were put
 *     DIR/ab/HEX.meta    a small sidecar: format line, the audio's size, the key
 * where ab are HEX's first two characters (so no directory grows huge). The
 * sidecar lets get tell a real entry from a hash collision, a foreign file
 * or a mismatched pair: unless it holds exactly the requested key and the
 * audio's current size, the lookup is a miss.
 *
 * Commit point. put copies into DIR/ab/.tmp-XXXXXX (fsync'd), writes the
 * sidecar atomically, and only then renames the audio into place, so the
 * appearance of HEX.audio is what makes an entry exist. A crash earlier
 * leaves temporary files or a sidecar without audio, which get treats as a
 * miss and later puts sweep once they are an hour old. Two processes
 * putting the same key race harmlessly: the last rename wins, and a reader
 * never sees half a file. The worst a race can do is cost a miss (a sidecar
 * from one writer next to the audio of the other, with a different size).
 *
 * Freshness is the audio file's mtime, set when put wrote it; entries older
 * than max_age_seconds are stale. Size is bounded by max_bytes: after every
 * put the cache is walked and the oldest entries deleted until the audio
 * files add up to at most max_bytes. A file larger than max_bytes on its
 * own is not stored at all (put still succeeds: the cache is an
 * optimisation, never a reason for a job to fail). max_bytes <= 0 means no
 * limit. max_age_seconds <= 0 turns lookups off: every get misses and
 * removes nothing, while put still stores (another handle on the same
 * directory may use a longer age).
 *
 * Entries are created 0600 (mkstemp's mode), because downloads of private
 * links should not become readable by other users through the cache.
 */
#include "fetch/fetch.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* First line of every sidecar; bump the number when the layout changes, and
 * old entries then simply stop matching (misses, aged out by eviction). */
#define CACHE_FORMAT "cesar-fetch-cache 1"
/* Temporary files and sidecars without audio younger than this may belong
 * to a put still running in another process, so the sweep leaves them. */
#define ORPHAN_GRACE_SECONDS 3600.0
#define COPY_CHUNK (64 * 1024)

struct fetch_cache {
    char *dir;
    double max_age_seconds;
    long long max_bytes;
};

/* Where one key's files live. */
typedef struct {
    char sub[PATH_MAX];   /* DIR/ab */
    char audio[PATH_MAX]; /* DIR/ab/HEX.audio */
    char meta[PATH_MAX];  /* DIR/ab/HEX.meta */
} entry_paths;

/* An entry seen by the eviction walk. */
typedef struct {
    char *audio; /* owned */
    double mtime;
    long long size;
} walk_item;

typedef struct {
    walk_item *items;
    size_t used, alloc;
} walk_list;

fetch_cache_params fetch_cache_default_params(void)
{
    fetch_cache_params p = {
        .dir = NULL,
        .max_age_seconds = 86400.0,
        .max_bytes = 10LL * 1024 * 1024 * 1024,
    };
    return p;
}

/* ---- small helpers ------------------------------------------------------ */

static double wall_now(void)
{
    /* Real time, not monotonic: it is compared with file mtimes. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mtime_of(const struct stat *st)
{
    return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

/* An entry dated more than max_age in the future is stale as well: the
 * clock was set back, and such an entry would otherwise stay fresh (and
 * survive eviction) for as long as the clock error. */
static bool is_fresh(const fetch_cache *c, double mtime, double now)
{
    double age = now - mtime;
    return c->max_age_seconds > 0 && age <= c->max_age_seconds && age >= -c->max_age_seconds;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && memcmp(s + n - m, suffix, m) == 0;
}

static int key_paths(const fetch_cache *c, const char *key, entry_paths *ep)
{
    char hex[UTIL_SHA256_HEX_LEN + 1];
    util_sha256_hex(key, strlen(key), hex);
    int a = snprintf(ep->sub, sizeof ep->sub, "%s/%.2s", c->dir, hex);
    int b = snprintf(ep->audio, sizeof ep->audio, "%s/%s.audio", ep->sub, hex);
    int m = snprintf(ep->meta, sizeof ep->meta, "%s/%s.meta", ep->sub, hex);
    if (a < 0 || b < 0 || m < 0 || (size_t)b >= sizeof ep->audio || (size_t)m >= sizeof ep->meta)
        return -1;
    return 0;
}

/* Deletes an entry: the audio first, since its absence alone makes the
 * entry a miss, then the sidecar next to it. Missing files are fine: another
 * process may be evicting the same entry. */
static void remove_entry(const char *audio_path)
{
    unlink(audio_path);
    char meta[PATH_MAX];
    size_t n = strlen(audio_path) - strlen(".audio");
    if (n + strlen(".meta") < sizeof meta) {
        memcpy(meta, audio_path, n);
        memcpy(meta + n, ".meta", sizeof ".meta");
        unlink(meta);
    }
}

/* The sidecar's exact bytes for key and size. get rebuilds them and
 * compares, so there is no parser to get wrong. */
static int format_meta(util_buf *b, const char *key, long long size)
{
    return util_buf_printf(b, "%s\nsize %lld\nkey %s\n", CACHE_FORMAT, size, key);
}

/* Whether the file at path holds exactly want->len bytes equal to want.
 * Reads at most one byte more than that, so a huge foreign file costs
 * nothing. False for a missing or unreadable file. */
static bool file_equals(const char *path, const util_buf *want)
{
    bool same = false;
    size_t cap = want->len + 1, got = 0;
    char *data = malloc(cap);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (!data || fd < 0)
        goto cleanup;
    while (got < cap) {
        ssize_t r = read(fd, data + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto cleanup;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    same = got == want->len && memcmp(data, want->data, got) == 0;

cleanup:
    if (fd >= 0)
        close(fd);
    free(data);
    return same;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Copies in to out until end of input. Returns 0, -1 with errno set, or 1
 * when more than limit bytes arrive (limit <= 0: none); *copied counts the
 * bytes written. The limit is checked while copying because the source may
 * be a pipe whose size nobody knows in advance. */
static int copy_fd(int in, int out, long long limit, long long *copied)
{
    char buf[COPY_CHUNK];
    *copied = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        if (limit > 0 && *copied + r > limit)
            return 1;
        if (write_all(out, buf, (size_t)r) != 0)
            return -1;
        *copied += r;
    }
}

/* ---- open / close ------------------------------------------------------- */

int fetch_cache_open(fetch_cache **out, const fetch_cache_params *p, char *err, size_t errlen)
{
    int rc = FETCH_OK;
    fetch_cache *c = NULL;
    if (out)
        *out = NULL;
    if (!out || !p || !p->dir || !p->dir[0]) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: no directory given");
        goto cleanup;
    }
    char why[PATH_MAX + 128];
    if (util_mkdir_p(p->dir, why, sizeof why) != UTIL_OK) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: %s", why);
        goto cleanup;
    }
    /* Checked now so a misconfigured directory is reported at start-up,
     * naming it, rather than as a failed put in the middle of a job. */
    if (access(p->dir, W_OK | X_OK) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO,
                       "download cache: directory '%s' is not writable: %s", p->dir,
                       strerror(errno));
        goto cleanup;
    }
    c = calloc(1, sizeof *c);
    if (!c || !(c->dir = util_strdup(p->dir))) {
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "download cache: out of memory");
        goto cleanup;
    }
    c->max_age_seconds = p->max_age_seconds;
    c->max_bytes = p->max_bytes;
    *out = c;
    c = NULL;

cleanup:
    fetch_cache_close(c);
    return rc;
}

void fetch_cache_close(fetch_cache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c);
}

/* ---- get ---------------------------------------------------------------- */

/* Copies src to dest through a temporary file in dest's directory renamed
 * over dest, so dest is never seen half-written. Not fsync'd: dest is a
 * working copy the caller will process and delete, and the cache still
 * holds the durable original. Returns 0 or -1 with errno set. */
static int copy_to(const char *src, const char *dest)
{
    int rc = -1, saved = 0, in = -1, out = -1;
    char dir[PATH_MAX], tmp[PATH_MAX];
    const char *slash = strrchr(dest, '/');
    util_path_dirname(dest, dir, sizeof dir);
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.tmp-XXXXXX", dir, slash ? slash + 1 : dest);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        saved = ENAMETOOLONG;
        goto cleanup;
    }
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0 || (out = mkstemp(tmp)) < 0) {
        saved = errno;
        goto cleanup;
    }
    long long copied;
    if (copy_fd(in, out, 0, &copied) != 0) {
        saved = errno;
        goto cleanup;
    }
    int closed = close(out);
    out = -1;
    if (closed != 0 || rename(tmp, dest) != 0) {
        saved = errno;
        unlink(tmp);
        goto cleanup;
    }
    rc = 0;

cleanup:
    if (in >= 0)
        close(in);
    if (out >= 0) {
        close(out);
        unlink(tmp);
    }
    errno = saved;
    return rc;
}

int fetch_cache_get(fetch_cache *c, const char *key, const char *dest_path, bool *hit, char *err,
                    size_t errlen)
{
    int rc = FETCH_OK;
    util_buf want = UTIL_BUF_INIT(0);
    entry_paths ep;
    struct stat st;
    if (hit)
        *hit = false;
    if (!c || !key || !key[0] || !dest_path || !hit) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: get needs a key and a path");
        goto cleanup;
    }
    if (key_paths(c, key, &ep) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: '%s': path too long", c->dir);
        goto cleanup;
    }
    if (c->max_age_seconds <= 0)
        goto cleanup; /* lookups are off; see the top of the file */
    if (lstat(ep.audio, &st) != 0) {
        if (errno != ENOENT)
            rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: cannot read '%s': %s",
                           ep.audio, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode))
        goto cleanup;

    /* Someone else's entry (collision, forged or foreign files, a pair torn
     * by a racing put) is a miss and is left alone: only eviction, by age,
     * deletes what this lookup cannot vouch for. */
    if (format_meta(&want, key, (long long)st.st_size) != UTIL_OK) {
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "download cache: out of memory");
        goto cleanup;
    }
    if (!file_equals(ep.meta, &want))
        goto cleanup;

    if (!is_fresh(c, mtime_of(&st), wall_now())) {
        remove_entry(ep.audio);
        goto cleanup;
    }

    /* A hard link costs nothing and is safe because entries are never
     * modified in place, only replaced by rename. It fails across file
     * systems (EXDEV), where links are unsupported, or when dest_path
     * exists; a copy serves all of those. */
    if (link(ep.audio, dest_path) == 0) {
        *hit = true;
        goto cleanup;
    }
    if (copy_to(ep.audio, dest_path) != 0) {
        int why = errno;
        if (why != ENOENT || access(ep.audio, F_OK) == 0)
            rc =
                util_errf(err, errlen, FETCH_ERR_IO, "download cache: cannot copy '%s' to '%s': %s",
                          ep.audio, dest_path, strerror(why));
        /* else: evicted by another process since the lstat — a miss */
        goto cleanup;
    }
    *hit = true;

cleanup:
    util_buf_free(&want);
    return rc;
}

/* ---- eviction ----------------------------------------------------------- */

static bool is_hex2(const char *name)
{
    /* strlen first: strchr would also find the terminating NUL */
    return strlen(name) == 2 && strchr("0123456789abcdef", name[0]) &&
           strchr("0123456789abcdef", name[1]);
}

/* Whether a sidecar's audio sibling exists (name ends in ".meta"). */
static bool meta_has_audio(int dfd, const char *meta_name)
{
    char audio[NAME_MAX + 8];
    size_t n = strlen(meta_name) - strlen(".meta");
    if (n + sizeof ".audio" > sizeof audio)
        return false;
    memcpy(audio, meta_name, n);
    memcpy(audio + n, ".audio", sizeof ".audio");
    struct stat st;
    return fstatat(dfd, audio, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Records the entries of one DIR/ab directory in list, deleting on the way
 * what is of no further use: stale entries, and temporary files and
 * audio-less sidecars past the grace period. Returns -1 only when out of
 * memory. */
static int walk_subdir(const fetch_cache *c, const char *sub, double now, walk_list *list)
{
    int rc = 0;
    DIR *d = opendir(sub);
    if (!d)
        return 0; /* vanished or unreadable: nothing to account for */
    int dfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        struct stat st;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        double mtime = mtime_of(&st);
        /* ".tmp-XXXXXX" from put and ".HEX.meta.tmp-XXXXXX" from the atomic
         * sidecar write. */
        if (name[0] == '.' && strstr(name, ".tmp-")) {
            if (now - mtime > ORPHAN_GRACE_SECONDS)
                unlinkat(dfd, name, 0);
        } else if (has_suffix(name, ".meta")) {
            if (now - mtime > ORPHAN_GRACE_SECONDS && !meta_has_audio(dfd, name))
                unlinkat(dfd, name, 0);
        } else if (has_suffix(name, ".audio")) {
            char path[PATH_MAX];
            int n = snprintf(path, sizeof path, "%s/%s", sub, name);
            if (n < 0 || (size_t)n >= sizeof path)
                continue;
            if (c->max_age_seconds > 0 && !is_fresh(c, mtime, now)) {
                remove_entry(path);
                continue;
            }
            walk_item *grown =
                util_array_reserve(list->items, &list->alloc, list->used, sizeof *list->items);
            char *copy = grown ? util_strdup(path) : NULL;
            if (!copy) {
                if (grown)
                    list->items = grown;
                rc = -1;
                break;
            }
            list->items = grown;
            list->items[list->used++] = (walk_item){copy, mtime, (long long)st.st_size};
        }
        /* anything else is not ours: left alone and not counted */
    }
    closedir(d);
    return rc;
}

static int by_age(const void *a, const void *b)
{
    const walk_item *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->audio, y->audio); /* a stable order for equal times */
}

/* Brings the cache under max_bytes by deleting the oldest entries, and
 * sweeps leftovers. Best effort: the entry just put is already stored, and
 * whatever this misses the next put retries, so failures are not errors. */
static void evict(const fetch_cache *c)
{
    walk_list list = {NULL, 0, 0};
    double now = wall_now();
    DIR *top = opendir(c->dir);
    if (!top)
        return;
    struct dirent *de;
    bool ok = true;
    while (ok && (de = readdir(top)) != NULL) {
        if (!is_hex2(de->d_name))
            continue;
        char sub[PATH_MAX];
        int n = snprintf(sub, sizeof sub, "%s/%s", c->dir, de->d_name);
        if (n > 0 && (size_t)n < sizeof sub)
            ok = walk_subdir(c, sub, now, &list) == 0;
    }
    closedir(top);

    /* Out of memory means an incomplete picture: deleting by it could
     * remove entries that are not the oldest, so do nothing. */
    if (ok && c->max_bytes > 0 && list.used > 0) {
        qsort(list.items, list.used, sizeof *list.items, by_age);
        long long total = 0;
        for (size_t i = 0; i < list.used; i++)
            total += list.items[i].size;
        for (size_t i = 0; i < list.used && total > c->max_bytes; i++) {
            remove_entry(list.items[i].audio);
            total -= list.items[i].size;
        }
    }
    for (size_t i = 0; i < list.used; i++)
        free(list.items[i].audio);
    free(list.items);
}

/* ---- put ---------------------------------------------------------------- */

int fetch_cache_put(fetch_cache *c, const char *key, const char *src_path, char *err, size_t errlen)
{
    int rc = FETCH_OK, in = -1, out = -1;
    bool have_tmp = false, made_sub = false;
    char tmp[PATH_MAX];
    util_buf meta = UTIL_BUF_INIT(0);
    entry_paths ep;
    struct stat st;
    if (!c || !key || !key[0] || !src_path) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: put needs a key and a file");
        goto cleanup;
    }
    if (key_paths(c, key, &ep) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: '%s': path too long", c->dir);
        goto cleanup;
    }
    in = open(src_path, O_RDONLY | O_CLOEXEC);
    if (in < 0 || fstat(in, &st) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: cannot read '%s': %s", src_path,
                       strerror(errno));
        goto cleanup;
    }
    if (S_ISREG(st.st_mode) && c->max_bytes > 0 && st.st_size > c->max_bytes)
        goto cleanup; /* too big to ever fit: not stored, and not an error */

    if (mkdir(ep.sub, 0755) == 0)
        made_sub = true;
    else if (errno != EEXIST) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: cannot create '%s': %s", ep.sub,
                       strerror(errno));
        goto cleanup;
    }
    int n = snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", ep.sub);
    out = n > 0 && (size_t)n < sizeof tmp ? mkstemp(tmp) : -1;
    if (out < 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO,
                       "download cache: cannot create a file in '%s': %s", ep.sub, strerror(errno));
        goto cleanup;
    }
    have_tmp = true;

    long long copied;
    int copy = copy_fd(in, out, c->max_bytes, &copied);
    if (copy == 1)
        goto cleanup; /* a stream that turned out too big: skipped as above */
    /* fsync before the rename: otherwise a crash could leave a complete
     * looking name over blocks that never reached the disk. */
    if (copy != 0 || fsync(out) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: cannot copy '%s' to '%s': %s",
                       src_path, tmp, strerror(errno));
        goto cleanup;
    }
    int closed = close(out);
    out = -1;
    if (closed != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: cannot write '%s': %s", tmp,
                       strerror(errno));
        goto cleanup;
    }

    /* The sidecar goes first: until the audio is renamed into place it
     * describes nothing, and a crash here leaves only an orphan to sweep. */
    if (format_meta(&meta, key, copied) != UTIL_OK) {
        rc = util_errf(err, errlen, FETCH_ERR_NOMEM, "download cache: out of memory");
        goto cleanup;
    }
    if (util_write_file_atomic(ep.meta, meta.data, meta.len, err, errlen) != UTIL_OK) {
        rc = FETCH_ERR_IO;
        goto cleanup;
    }
    if (rename(tmp, ep.audio) != 0) {
        rc = util_errf(err, errlen, FETCH_ERR_IO, "download cache: cannot rename '%s' to '%s': %s",
                       tmp, ep.audio, strerror(errno));
        goto cleanup;
    }
    have_tmp = false;
    /* Make the rename (and a new DIR/ab) durable. Best effort: the data
     * itself is synced, and losing the name in a crash is only a miss. */
    util_fsync_dir(ep.sub);
    if (made_sub)
        util_fsync_dir(c->dir);

    evict(c);

cleanup:
    if (out >= 0)
        close(out);
    if (have_tmp)
        unlink(tmp);
    if (in >= 0)
        close(in);
    util_buf_free(&meta);
    return rc;
}
