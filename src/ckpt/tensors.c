/* ckpt tensors: turns the unpickled checkpoint into the handle's tensor
 * table. The state dict is the root dict, or its "state_dict" entry
 * (Lightning); its tensor entries become ckpt_tensors in dict order (other
 * entries are skipped), each tied to the bytes of its storage member
 * data/KEY, whose size must be exactly the storage's element count times
 * the element size. Names must be unique: a sorted index serves ckpt_find.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/internal.h"
#include "util/util.h"

static int storage_bytes(ckpt_file *f, const ckpt__value *st, const uint8_t **out, char *err,
                         size_t errlen)
{
    char rel[64 + CKPT__MAX_NAME];
    if (strlen(st->s) > CKPT__MAX_NAME)
        return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: a storage key of %zu bytes", f->name,
                         strlen(st->s));
    snprintf(rel, sizeof rel, "data/%s", st->s);
    ckpt__member *m = ckpt__zip_find(&f->zip, rel);
    if (!m)
        return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: storage member '%s%s' is missing",
                         f->name, f->zip.top, rel);
    size_t es = ckpt__dtype_size(st->dtype);
    if ((uint64_t)st->i > UINT64_MAX / es || m->size != (uint64_t)st->i * es)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: storage '%s' holds %llu bytes, expected %lld %s elements of %zu",
                         f->name, m->name, (unsigned long long)m->size, (long long)st->i,
                         ckpt_dtype_name(st->dtype), es);
    int rc = ckpt__zip_load(&f->zip, m, err, errlen);
    if (rc == CKPT_OK)
        *out = m->bytes;
    return rc;
}

static int add_tensor(ckpt_file *f, const char *name, const ckpt__tensor_info *ti, char *err,
                      size_t errlen)
{
    const uint8_t *bytes = NULL;
    int rc = storage_bytes(f, ti->storage, &bytes, err, errlen);
    if (rc != CKPT_OK)
        return rc;
    size_t i = f->count;
    ckpt_tensor *t = &f->tensors[i];
    ckpt__tensor_data *d = &f->tdata[i];
    memset(t, 0, sizeof *t);
    t->name = util_strdup(name);
    if (!t->name)
        return util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory", f->name);
    f->count++;
    t->dtype = ti->storage->dtype;
    t->ndim = ti->ndim;
    t->numel = 1;
    for (int k = 0; k < ti->ndim; k++) {
        t->shape[k] = ti->shape[k];
        t->numel *= ti->shape[k]; /* cannot overflow: checked when rebuilt */
        d->stride[k] = ti->stride[k];
    }
    d->data = bytes;
    d->offset = ti->offset;
    return CKPT_OK;
}

static int cmp_names(const void *a, const void *b, void *ctx)
{
    const ckpt_file *f = ctx;
    return strcmp(f->tensors[*(const size_t *)a].name, f->tensors[*(const size_t *)b].name);
}

static int index_names(ckpt_file *f, char *err, size_t errlen)
{
    f->by_name = malloc((f->count ? f->count : 1) * sizeof *f->by_name);
    if (!f->by_name)
        return util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory", f->name);
    for (size_t i = 0; i < f->count; i++)
        f->by_name[i] = i;
    qsort_r(f->by_name, f->count, sizeof *f->by_name, cmp_names, f);
    for (size_t i = 1; i < f->count; i++) {
        const char *n = f->tensors[f->by_name[i]].name;
        if (strcmp(f->tensors[f->by_name[i - 1]].name, n) == 0)
            return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: tensor '%s' appears twice",
                             f->name, n);
    }
    return CKPT_OK;
}

int ckpt__tensors_build(ckpt_file *f, const ckpt__value *root, char *err, size_t errlen)
{
    if (root->kind != CKPT__V_DICT)
        return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED,
                         "%s: the checkpoint holds a %s, not a dict of tensors", f->name,
                         ckpt__kind_name(root->kind));
    const ckpt__value *sd = ckpt__dict_get(root, "state_dict");
    if (sd && sd->kind == CKPT__V_DICT)
        root = sd;
    size_t n = root->n / 2;
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    f->tdata = calloc(n ? n : 1, sizeof *f->tdata);
    if (!f->tensors || !f->tdata)
        return util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory", f->name);
    for (size_t i = 0; i < n; i++) {
        const ckpt__value *k = root->items[2 * i], *v = root->items[2 * i + 1];
        if (v->kind != CKPT__V_TENSOR)
            continue;
        if (k->kind != CKPT__V_STR || strlen(k->s) != k->len)
            return util_errf(err, errlen, CKPT_ERR_FORMAT,
                             "%s: a tensor whose state-dict key is a %s, not a name", f->name,
                             ckpt__kind_name(k->kind));
        int rc = add_tensor(f, k->s, v->t, err, errlen);
        if (rc != CKPT_OK)
            return rc;
    }
    return index_names(f, err, errlen);
}
