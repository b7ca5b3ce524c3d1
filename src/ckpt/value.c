/* ckpt values: the inert objects the pickle machine builds. Every value is
 * recorded in its heap when created and freed only with the heap, so the
 * graph may share and even cycle (a list appended to itself) without a
 * traversal ever being needed; the object and slot counts are capped so a
 * hostile pickle cannot exhaust memory.
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/internal.h"
#include "util/util.h"

void ckpt__heap_free(ckpt__heap *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->count; i++) {
        ckpt__value *v = h->all[i];
        free(v->s);
        free(v->s2);
        free(v->items);
        free(v->t);
        free(v);
    }
    free(h->all);
    memset(h, 0, sizeof *h);
}

ckpt__value *ckpt__value_new(ckpt__heap *h, ckpt__kind kind, int *limit)
{
    *limit = 0;
    if (h->count >= CKPT__MAX_OBJECTS) {
        *limit = 1;
        return NULL;
    }
    if (h->count == h->alloc) {
        ckpt__value **p = util_array_reserve(h->all, &h->alloc, h->count, sizeof *h->all);
        if (!p)
            return NULL;
        h->all = p;
    }
    ckpt__value *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->kind = kind;
    h->all[h->count++] = v;
    return v;
}

int ckpt__value_push(ckpt__heap *h, ckpt__value *c, ckpt__value *item)
{
    if (h->items >= CKPT__MAX_ITEMS)
        return CKPT_ERR_FORMAT;
    if (c->n == c->alloc) {
        ckpt__value **p = util_array_reserve(c->items, &c->alloc, c->n, sizeof *c->items);
        if (!p)
            return CKPT_ERR_NOMEM;
        c->items = p;
    }
    c->items[c->n++] = item;
    h->items++;
    return CKPT_OK;
}

ckpt__value *ckpt__dict_get(const ckpt__value *d, const char *key)
{
    if (!d || d->kind != CKPT__V_DICT)
        return NULL;
    for (size_t i = d->n / 2; i-- > 0;) {
        const ckpt__value *k = d->items[2 * i];
        if (k->kind == CKPT__V_STR && k->len == strlen(key) && strcmp(k->s, key) == 0)
            return d->items[2 * i + 1];
    }
    return NULL;
}

const char *ckpt__kind_name(ckpt__kind k)
{
    static const char *const names[] = {"None", "bool", "int", "float", "str", "bytes", "list",
                                        "tuple", "dict", "set", "global", "object", "storage",
                                        "tensor"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}
