/* list: what `cesar models list` shows — every catalog entry, installed or
 * not, then any other ggml-*.bin someone put in the models directory (a
 * model converted by hand still deserves a line). Reads only directory
 * entries and their sizes, never file contents. */
#include "models/models.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

typedef struct {
    models_item *items;
    size_t count, alloc;
} item_list;

static long long file_size(const char *path, bool *regular)
{
    struct stat st;
    *regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    return *regular ? (long long)st.st_size : 0;
}

static int add_item(item_list *l, const char *dir, const char *name, const models_entry *e)
{
    models_item *grown = util_array_reserve(l->items, &l->alloc, l->count, sizeof *l->items);
    if (!grown)
        return MODELS_ERR_NOMEM;
    l->items = grown;
    models_item *it = &l->items[l->count++];
    memset(it, 0, sizeof *it);
    util_strlcpy(it->name, name, sizeof it->name);
    it->entry = e;
    snprintf(it->path, sizeof it->path, "%s/ggml-%s.bin", dir, name);
    it->size = file_size(it->path, &it->installed);
    if (!it->installed && e)
        it->size = e->size > 0 ? e->size : e->approx_bytes;
    char part[4200];
    bool regular;
    snprintf(part, sizeof part, "%s/.ggml-%s.bin.part", dir, name);
    it->partial_bytes = file_size(part, &regular);
    return MODELS_OK;
}

/* The model name in a directory entry "ggml-NAME.bin", into name; false for
 * other entries. */
static bool entry_name(const char *d_name, char name[MODELS_NAME_MAX + 1])
{
    size_t n = strlen(d_name);
    if (n <= 9 || strncmp(d_name, "ggml-", 5) != 0 || strcmp(d_name + n - 4, ".bin") != 0 ||
        n - 9 > MODELS_NAME_MAX)
        return false;
    memcpy(name, d_name + 5, n - 9);
    name[n - 9] = '\0';
    return models_valid_name(name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const models_item *)a)->name, ((const models_item *)b)->name);
}

/* Adds the files of dir that the catalog does not list, sorted by name. */
static int add_strays(item_list *l, const models_catalog *c, const char *dir, char *err,
                      size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return MODELS_OK;
        return util_errf(err, errlen, MODELS_ERR_IO, "cannot list models directory '%s': %s", dir,
                         strerror(errno));
    }
    size_t first = l->count;
    int rc = MODELS_OK;
    struct dirent *de;
    char name[MODELS_NAME_MAX + 1];
    while ((de = readdir(d)) != NULL) {
        if (!entry_name(de->d_name, name) || models_find(c, name))
            continue;
        rc = add_item(l, dir, name, NULL);
        if (rc != MODELS_OK) {
            util_errf(err, errlen, rc, "out of memory");
            break;
        }
        if (!l->items[l->count - 1].installed)
            l->count--; /* a directory or a dangling link named like a model */
    }
    closedir(d);
    if (l->count > first)
        qsort(l->items + first, l->count - first, sizeof *l->items, by_name);
    return rc;
}

int models_list(const models_catalog *c, const char *models_dir, models_item **items,
                size_t *count, char *err, size_t errlen)
{
    item_list l = {NULL, 0, 0};
    int rc = MODELS_OK;
    *items = NULL;
    *count = 0;
    for (size_t i = 0; i < models_catalog_count(c); i++) {
        const models_entry *e = models_catalog_at(c, i);
        rc = add_item(&l, models_dir, e->name, e);
        if (rc != MODELS_OK) {
            util_errf(err, errlen, rc, "out of memory");
            goto cleanup;
        }
    }
    rc = add_strays(&l, c, models_dir, err, errlen);
    if (rc != MODELS_OK)
        goto cleanup;
    *items = l.items;
    *count = l.count;
    l.items = NULL;

cleanup:
    free(l.items);
    return rc;
}
