/* file: loading a TOML config file on top of the current configuration.
 * Every table and key in the file must be known and well-typed; messages
 * read "FILE:LINE: ..." and name the key. A missing file is fine unless the
 * user named it (--config), because the default path need not exist. */
#include "config/internal.h"

#include "util/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_missing(const char *path)
{
    struct stat st;
    return stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

/* Keeps one copy of each path loaded; origins point at it. NULL when out of
 * memory. */
static const char *remember_file(config *c, const char *path)
{
    for (size_t i = 0; i < c->n_files; i++)
        if (strcmp(c->files[i], path) == 0)
            return c->files[i];
    char **files = realloc(c->files, (c->n_files + 1) * sizeof *files);
    if (!files)
        return NULL;
    c->files = files;
    if (!(files[c->n_files] = strdup(path)))
        return NULL;
    return files[c->n_files++];
}

static int check_tables(const toml_doc *doc, const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < doc->n_tables; i++) {
        const toml_table *t = &doc->tables[i];
        if (!config__is_table(t->name))
            return util_errf(err, errlen, CONFIG_ERR_UNKNOWN_KEY, "%s:%d: unknown table [%s]",
                             path, t->line, t->name);
    }
    return CONFIG_OK;
}

static int unknown_key(const toml_entry *e, const char *path, char *err, size_t errlen)
{
    if (config__is_table(e->key))
        return util_errf(err, errlen, CONFIG_ERR_TYPE, "%s:%d: key '%s' must be a table "
                         "([%s]), got %s", path, e->line, e->key, e->key,
                         toml_type_name(e->value.type));
    const char *hint = config__suggest(e->key);
    if (hint)
        return util_errf(err, errlen, CONFIG_ERR_UNKNOWN_KEY, "%s:%d: unknown key '%s' (did "
                         "you mean '%s'?)", path, e->line, e->key, hint);
    return util_errf(err, errlen, CONFIG_ERR_UNKNOWN_KEY, "%s:%d: unknown key '%s'", path,
                     e->line, e->key);
}

/* "..., got string" for a wrong type; the offending value otherwise, except
 * for secrets, which never appear in messages. */
static int bad_value(int id, int rc, const toml_entry *e, const char *expect, const char *path,
                     char *err, size_t errlen)
{
    char got[128] = "";
    if (rc == CONFIG_ERR_TYPE) {
        snprintf(got, sizeof got, ", got %s", toml_type_name(e->value.type));
    } else if (!config__info_at(id)->secret && e->value.type == TOML_INTEGER) {
        snprintf(got, sizeof got, ", got %lld", e->value.u.i);
    } else if (!config__info_at(id)->secret && e->value.type == TOML_STRING) {
        char quoted[96];
        config__quote(e->value.u.s, quoted, sizeof quoted);
        snprintf(got, sizeof got, ", got %s", quoted);
    }
    return util_errf(err, errlen, rc, "%s:%d: key '%s' must be %s%s", path, e->line, e->key,
                     expect, got);
}

static int stage_entries(config__state *st, const toml_doc *doc, const char *path, char *err,
                         size_t errlen)
{
    for (size_t i = 0; i < doc->n; i++) {
        const toml_entry *e = &doc->entries[i];
        int id = config__key_find(e->key);
        if (id < 0)
            return unknown_key(e, path, err, errlen);
        config__value v;
        char expect[128];
        int rc = config__from_toml(id, &e->value, &v, expect, sizeof expect);
        if (rc != CONFIG_OK)
            return bad_value(id, rc, e, expect, path, err, errlen);
        config__apply(st, id, &v, CONFIG_SRC_FILE, path, NULL);
    }
    return CONFIG_OK;
}

int config_load_file(config *c, const char *path, bool explicit_path, char *err, size_t errlen)
{
    char default_path[PATH_MAX];
    toml_doc *doc = NULL;
    if (!c)
        return util_errf(err, errlen, CONFIG_ERR_FILE, "config_load_file: no configuration");
    if (!path) {
        config_default_path(default_path, sizeof default_path);
        path = default_path;
    }
    if (!explicit_path && is_missing(path))
        return CONFIG_OK;
    int rc = toml_parse_file(path, &doc, err, errlen);
    if (rc != TOML_OK)
        return rc == TOML_ERR_NOMEM ? CONFIG_ERR_NOMEM : CONFIG_ERR_FILE;
    const char *kept = remember_file(c, path);
    config__state st = c->st;
    if (!kept) {
        rc = util_errf(err, errlen, CONFIG_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    if ((rc = check_tables(doc, kept, err, errlen)) != CONFIG_OK ||
        (rc = stage_entries(&st, doc, kept, err, errlen)) != CONFIG_OK ||
        (rc = config__check_state(&st, err, errlen)) != CONFIG_OK)
        goto cleanup;
    c->st = st;
    c->file = kept;
cleanup:
    toml_free(doc);
    return rc;
}
