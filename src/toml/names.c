/* names: the set of keys and tables a document has defined, and TOML's rules
 * about defining them: a key or [table] is defined once; a table cannot
 * replace a value or vice versa; a table made by dotted keys cannot be
 * reopened with a [header], and a table made by a [header] cannot be
 * extended with dotted keys from outside it. Names are full dotted paths
 * (quoted key parts never contain '.', toml.c refuses those), kept in an
 * open-addressing hash table so hostile input stays linear. */
#include "toml/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    NAME_VALUE = 1, /* a key with a value */
    NAME_HEADER,    /* a table named by a [header] */
    NAME_IMPLICIT,  /* a table that exists because a [header] below it does */
    NAME_DOTTED,    /* a table created by a dotted key (a.b = 1 creates a) */
};

static size_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (size_t)h;
}

/* The slot holding name, or the empty slot where it would go. cap > 0. */
static toml__name *slot_for(const toml__names *s, const char *name, size_t len)
{
    size_t i = hash(name, len) & (s->cap - 1);
    for (;;) {
        toml__name *e = &s->slots[i];
        if (!e->name || (e->len == len && memcmp(e->name, name, len) == 0))
            return e;
        i = (i + 1) & (s->cap - 1);
    }
}

static int grow(toml__names *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    toml__name *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return TOML_ERR_NOMEM;
    toml__names bigger = {slots, cap, s->n};
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i].name)
            *slot_for(&bigger, s->slots[i].name, s->slots[i].len) = s->slots[i];
    }
    free(s->slots);
    *s = bigger;
    return TOML_OK;
}

static toml__name *find(const toml__names *s, const char *name, size_t len)
{
    if (s->cap == 0)
        return NULL;
    toml__name *e = slot_for(s, name, len);
    return e->name ? e : NULL;
}

static int add(toml__names *s, const toml__cursor *c, const char *name, size_t len, int kind)
{
    if ((s->n + 1) * 2 > s->cap && grow(s) != TOML_OK)
        return toml__fail(c, TOML_ERR_NOMEM, "out of memory");
    toml__name *e = slot_for(s, name, len);
    e->name = strndup(name, len);
    if (!e->name)
        return toml__fail(c, TOML_ERR_NOMEM, "out of memory");
    e->len = len;
    e->kind = kind;
    e->line = c->line;
    s->n++;
    return TOML_OK;
}

/* Every proper prefix of a table name must be (or become) a table. */
static int define_parents(toml__names *s, const toml__cursor *c, const char *name)
{
    for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
        size_t len = (size_t)(dot - name);
        toml__name *e = find(s, name, len);
        if (e && e->kind == NAME_VALUE)
            return toml__fail(c, TOML_ERR_DUPLICATE, "cannot define table [%s]: '%.*s' is "
                              "already a value (line %d)", name, (int)len, name, e->line);
        if (!e) {
            int rc = add(s, c, name, len, NAME_IMPLICIT);
            if (rc != TOML_OK)
                return rc;
        }
    }
    return TOML_OK;
}

int toml__define_table(toml__names *s, const toml__cursor *c, const char *name)
{
    int rc = define_parents(s, c, name);
    if (rc != TOML_OK)
        return rc;
    toml__name *e = find(s, name, strlen(name));
    if (!e)
        return add(s, c, name, strlen(name), NAME_HEADER);
    switch (e->kind) {
    case NAME_IMPLICIT:
        e->kind = NAME_HEADER;
        e->line = c->line;
        return TOML_OK;
    case NAME_HEADER:
        return toml__fail(c, TOML_ERR_DUPLICATE, "table [%s] is defined twice (first on line %d)",
                          name, e->line);
    case NAME_DOTTED:
        return toml__fail(c, TOML_ERR_DUPLICATE, "table [%s] was already defined by dotted "
                          "keys (line %d)", name, e->line);
    default:
        return toml__fail(c, TOML_ERR_DUPLICATE, "table [%s] conflicts with key '%s' (line %d)",
                          name, name, e->line);
    }
}

/* The tables a dotted key passes through below the current table. */
static int define_dotted(toml__names *s, const toml__cursor *c, const char *key,
                         size_t table_len)
{
    for (const char *dot = strchr(key + table_len + (table_len > 0), '.'); dot;
         dot = strchr(dot + 1, '.')) {
        size_t len = (size_t)(dot - key);
        toml__name *e = find(s, key, len);
        if (!e) {
            int rc = add(s, c, key, len, NAME_DOTTED);
            if (rc != TOML_OK)
                return rc;
        } else if (e->kind == NAME_VALUE) {
            return toml__fail(c, TOML_ERR_DUPLICATE, "cannot define key '%s': '%.*s' is "
                              "already a value (line %d)", key, (int)len, key, e->line);
        } else if (e->kind == NAME_HEADER) {
            return toml__fail(c, TOML_ERR_DUPLICATE, "cannot define key '%s': table [%.*s] "
                              "is defined by a header (line %d)", key, (int)len, key, e->line);
        } else if (e->kind == NAME_IMPLICIT) {
            e->kind = NAME_DOTTED; /* now defined; a later [header] for it is an error */
            e->line = c->line;
        }
    }
    return TOML_OK;
}

int toml__define_key(toml__names *s, const toml__cursor *c, const char *key, size_t table_len)
{
    int rc = define_dotted(s, c, key, table_len);
    if (rc != TOML_OK)
        return rc;
    toml__name *e = find(s, key, strlen(key));
    if (!e)
        return add(s, c, key, strlen(key), NAME_VALUE);
    if (e->kind == NAME_VALUE)
        return toml__fail(c, TOML_ERR_DUPLICATE, "key '%s' is defined twice (first on line %d)",
                          key, e->line);
    return toml__fail(c, TOML_ERR_DUPLICATE, "key '%s' is already defined as a table (line %d)",
                      key, e->line);
}

void toml__names_free(toml__names *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i].name);
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
}
