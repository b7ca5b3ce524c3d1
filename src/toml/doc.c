/* doc: the parsed document's ownership and lookup — freeing values, entries
 * and tables, finding a key, and the module's names for its error codes and
 * value types. A toml_doc owns every string and array reachable from it. */
#include "toml/internal.h"

#include <stdlib.h>
#include <string.h>

const char *toml_strerror(int code)
{
    switch (code) {
    case TOML_OK: return "ok";
    case TOML_ERR_SYNTAX: return "invalid or unsupported TOML";
    case TOML_ERR_DUPLICATE: return "key or table defined twice";
    case TOML_ERR_TOO_LARGE: return "input exceeds a limit";
    case TOML_ERR_NOMEM: return "out of memory";
    case TOML_ERR_IO: return "cannot read file";
    default: return "unknown error";
    }
}

const char *toml_type_name(toml_type t)
{
    switch (t) {
    case TOML_STRING: return "string";
    case TOML_INTEGER: return "integer";
    case TOML_FLOAT: return "float";
    case TOML_BOOL: return "boolean";
    case TOML_ARRAY: return "array";
    default: return "unknown";
    }
}

void toml__value_clear(toml_value *v)
{
    if (v->type == TOML_STRING) {
        free(v->u.s);
    } else if (v->type == TOML_ARRAY) {
        for (size_t i = 0; i < v->u.a.n; i++)
            toml__value_clear(&v->u.a.items[i]);
        free(v->u.a.items);
    }
    memset(v, 0, sizeof *v);
    v->type = TOML_BOOL;
}

void toml_free(toml_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n; i++) {
        free(doc->entries[i].key);
        toml__value_clear(&doc->entries[i].value);
    }
    free(doc->entries);
    for (size_t i = 0; i < doc->n_tables; i++)
        free(doc->tables[i].name);
    free(doc->tables);
    free(doc);
}

const toml_entry *toml_find(const toml_doc *doc, const char *key)
{
    if (!doc || !key)
        return NULL;
    for (size_t i = 0; i < doc->n; i++) {
        if (strcmp(doc->entries[i].key, key) == 0)
            return &doc->entries[i];
    }
    return NULL;
}
