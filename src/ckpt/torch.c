/* ckpt torch: what the few globals a state dict uses mean. torch.save
 * pickles a tensor as a call of torch._utils._rebuild_tensor_v2 on (storage,
 * offset, size, stride, requires_grad, hooks[, metadata]), a Parameter as
 * _rebuild_parameter around it, a dict as collections.OrderedDict() filled
 * by SETITEMS, and each storage as a persistent id ('storage', class, key,
 * location, numel) whose bytes are the member data/KEY. These calls are
 * evaluated here on inert values; any other global produces an opaque
 * object. A tensor is checked on creation: dimensions, extents and strides
 * in range, and its highest addressed element inside its storage.
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/internal.h"
#include "util/util.h"

typedef struct {
    const char *name;
    ckpt_dtype dtype;
} storage_class;

static const storage_class STORAGES[] = {
    {"FloatStorage", CKPT_FLOAT32}, {"DoubleStorage", CKPT_FLOAT64},
    {"HalfStorage", CKPT_FLOAT16},  {"BFloat16Storage", CKPT_BFLOAT16},
    {"LongStorage", CKPT_INT64},    {"IntStorage", CKPT_INT32},
    {"ShortStorage", CKPT_INT16},   {"CharStorage", CKPT_INT8},
    {"ByteStorage", CKPT_UINT8},    {"BoolStorage", CKPT_BOOL},
};

size_t ckpt__dtype_size(ckpt_dtype t)
{
    switch (t) {
    case CKPT_FLOAT64:
    case CKPT_INT64: return 8;
    case CKPT_FLOAT32:
    case CKPT_INT32: return 4;
    case CKPT_FLOAT16:
    case CKPT_BFLOAT16:
    case CKPT_INT16: return 2;
    default: return 1;
    }
}

void ckpt__global_classify(ckpt__value *g)
{
    static const struct {
        const char *module, *name;
        ckpt__global_id id;
    } known[] = {
        {"collections", "OrderedDict", CKPT__G_ORDERED_DICT},
        {"torch._utils", "_rebuild_tensor_v2", CKPT__G_REBUILD_TENSOR_V2},
        {"torch._utils", "_rebuild_parameter", CKPT__G_REBUILD_PARAMETER},
        {"torch._utils", "_rebuild_parameter_with_state", CKPT__G_REBUILD_PARAMETER_STATE},
        {"torch._tensor", "_rebuild_from_type_v2", CKPT__G_REBUILD_FROM_TYPE_V2},
    };
    g->i = CKPT__G_OTHER;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (strcmp(g->s, known[k].module) == 0 && strcmp(g->s2, known[k].name) == 0)
            g->i = known[k].id;
    if (strcmp(g->s, "torch") != 0)
        return;
    for (size_t k = 0; k < sizeof STORAGES / sizeof STORAGES[0]; k++)
        if (strcmp(g->s2, STORAGES[k].name) == 0) {
            g->i = CKPT__G_STORAGE;
            g->dtype = STORAGES[k].dtype;
        }
}

static int int_tuple(const ckpt__value *t, int64_t *out, size_t max, size_t *n)
{
    if (t->kind != CKPT__V_TUPLE || t->n > max)
        return 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->kind != CKPT__V_INT || t->items[i]->i < 0)
            return 0;
        out[i] = t->items[i]->i;
    }
    *n = t->n;
    return 1;
}

/* Highest element index the tensor addresses, or -1 when it has none;
 * returns 0 on overflow. */
static int highest_index(const ckpt__tensor_info *t, int64_t *hi)
{
    int64_t h = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 0) {
            *hi = -1;
            return 1;
        }
        int64_t step;
        if (__builtin_mul_overflow(t->shape[d] - 1, t->stride[d], &step) ||
            __builtin_add_overflow(h, step, &h))
            return 0;
    }
    *hi = h;
    return 1;
}

static int rebuild_tensor(ckpt__heap *h, ckpt__value *args, ckpt__value **out, const char *where,
                          char *err, size_t errlen)
{
    if (args->n < 6 || args->n > 7 || args->items[0]->kind != CKPT__V_STORAGE ||
        args->items[1]->kind != CKPT__V_INT || args->items[1]->i < 0)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: _rebuild_tensor_v2 without (storage, offset, size, stride, ...)",
                         where);
    ckpt__tensor_info ti;
    memset(&ti, 0, sizeof ti);
    ti.storage = args->items[0];
    ti.offset = args->items[1]->i;
    size_t nd = 0, ns = 0;
    if (!int_tuple(args->items[2], ti.shape, CKPT_MAX_DIMS, &nd) ||
        !int_tuple(args->items[3], ti.stride, CKPT_MAX_DIMS, &ns) || nd != ns)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: a tensor whose size and stride are not two tuples of up to %d "
                         "non-negative integers of one length", where, CKPT_MAX_DIMS);
    ti.ndim = (int)nd;
    int64_t hi = 0, numel = 1;
    for (int d = 0; d < ti.ndim; d++)
        if (__builtin_mul_overflow(numel, ti.shape[d], &numel))
            hi = INT64_MAX;
    if (hi == INT64_MAX || !highest_index(&ti, &hi) || hi >= ti.storage->i)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: a tensor addresses elements beyond its storage '%s' of %lld",
                         where, ti.storage->s, (long long)ti.storage->i);
    int limit = 0;
    ckpt__value *v = ckpt__value_new(h, CKPT__V_TENSOR, &limit);
    if (v)
        v->t = malloc(sizeof *v->t);
    if (!v || !v->t)
        return util_errf(err, errlen, limit ? CKPT_ERR_FORMAT : CKPT_ERR_NOMEM,
                         "%s: %s", where, limit ? "too many pickle objects" : "out of memory");
    *v->t = ti;
    *out = v;
    return CKPT_OK;
}

/* OrderedDict([(k, v), ...]), as older pickles spell it. */
static int ordered_dict(ckpt__heap *h, ckpt__value *args, ckpt__value **out, const char *where,
                        char *err, size_t errlen)
{
    int limit = 0;
    ckpt__value *d = ckpt__value_new(h, CKPT__V_DICT, &limit);
    if (!d)
        return util_errf(err, errlen, limit ? CKPT_ERR_FORMAT : CKPT_ERR_NOMEM, "%s: %s", where,
                         limit ? "too many pickle objects" : "out of memory");
    const ckpt__value *pairs = args->n == 1 ? args->items[0] : NULL;
    if (args->n > 1 || (pairs && pairs->kind != CKPT__V_LIST && pairs->kind != CKPT__V_TUPLE))
        d->kind = CKPT__V_OBJECT;
    for (size_t i = 0; d->kind == CKPT__V_DICT && pairs && i < pairs->n; i++) {
        const ckpt__value *p = pairs->items[i];
        if ((p->kind != CKPT__V_TUPLE && p->kind != CKPT__V_LIST) || p->n != 2) {
            d->kind = CKPT__V_OBJECT;
            break;
        }
        int rc = ckpt__value_push(h, d, p->items[0]);
        if (rc == CKPT_OK)
            rc = ckpt__value_push(h, d, p->items[1]);
        if (rc != CKPT_OK)
            return util_errf(err, errlen, rc, "%s: %s", where,
                             rc == CKPT_ERR_NOMEM ? "out of memory" : "too many items");
    }
    *out = d;
    return CKPT_OK;
}

static int opaque(ckpt__heap *h, ckpt__value **out, const char *where, char *err, size_t errlen)
{
    int limit = 0;
    *out = ckpt__value_new(h, CKPT__V_OBJECT, &limit);
    if (!*out)
        return util_errf(err, errlen, limit ? CKPT_ERR_FORMAT : CKPT_ERR_NOMEM, "%s: %s", where,
                         limit ? "too many pickle objects" : "out of memory");
    return CKPT_OK;
}

static int call_known(ckpt__heap *h, int64_t id, ckpt__value *args, ckpt__value **out,
                      const char *where, char *err, size_t errlen)
{
    switch (id) {
    case CKPT__G_REBUILD_TENSOR_V2:
        return rebuild_tensor(h, args, out, where, err, errlen);
    case CKPT__G_REBUILD_PARAMETER:
    case CKPT__G_REBUILD_PARAMETER_STATE:
        if (args->n < 1 || args->items[0]->kind != CKPT__V_TENSOR)
            return util_errf(err, errlen, CKPT_ERR_FORMAT,
                             "%s: _rebuild_parameter without a tensor", where);
        *out = args->items[0];
        return CKPT_OK;
    default:
        return opaque(h, out, where, err, errlen);
    }
}

int ckpt__call(ckpt__heap *h, ckpt__value *callable, ckpt__value *args, ckpt__value **out,
               const char *where, char *err, size_t errlen)
{
    *out = NULL;
    if (callable->kind != CKPT__V_GLOBAL)
        return opaque(h, out, where, err, errlen);
    if (callable->i == CKPT__G_ORDERED_DICT)
        return ordered_dict(h, args, out, where, err, errlen);
    if (callable->i == CKPT__G_REBUILD_FROM_TYPE_V2) {
        /* (func, type, func_args, state): a tensor subclass wrapper; only a
         * plain rebuild function is followed (no recursion) */
        const ckpt__value *fn = args->n == 4 ? args->items[0] : NULL;
        if (fn && fn->kind == CKPT__V_GLOBAL && fn->i != CKPT__G_REBUILD_FROM_TYPE_V2 &&
            args->items[2]->kind == CKPT__V_TUPLE)
            return call_known(h, fn->i, args->items[2], out, where, err, errlen);
        return opaque(h, out, where, err, errlen);
    }
    return call_known(h, callable->i, args, out, where, err, errlen);
}

int ckpt__persistent_load(ckpt__heap *h, ckpt__value *pid, ckpt__value **out, const char *where,
                          char *err, size_t errlen)
{
    *out = NULL;
    if (pid->kind != CKPT__V_TUPLE || pid->n != 5 || pid->items[0]->kind != CKPT__V_STR ||
        strcmp(pid->items[0]->s, "storage") != 0)
        return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED,
                         "%s: a persistent id that is not ('storage', type, key, location, "
                         "numel)", where);
    const ckpt__value *cls = pid->items[1], *key = pid->items[2], *numel = pid->items[4];
    if (cls->kind != CKPT__V_GLOBAL || cls->i != CKPT__G_STORAGE)
        return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED,
                         "%s: storage of type %s.%s (a torch.*Storage class expected)", where,
                         cls->kind == CKPT__V_GLOBAL ? cls->s : "?",
                         cls->kind == CKPT__V_GLOBAL ? cls->s2 : ckpt__kind_name(cls->kind));
    if (key->kind != CKPT__V_STR || strlen(key->s) != key->len || key->len == 0 ||
        numel->kind != CKPT__V_INT || numel->i < 0)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: a storage without a key or element count", where);
    int limit = 0;
    ckpt__value *s = ckpt__value_new(h, CKPT__V_STORAGE, &limit);
    if (s)
        s->s = util_strdup(key->s);
    if (!s || !s->s)
        return util_errf(err, errlen, limit ? CKPT_ERR_FORMAT : CKPT_ERR_NOMEM, "%s: %s", where,
                         limit ? "too many pickle objects" : "out of memory");
    s->dtype = cls->dtype;
    s->i = numel->i;
    *out = s;
    return CKPT_OK;
}
