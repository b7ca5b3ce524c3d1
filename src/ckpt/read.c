/* ckpt read: copies one tensor out as float32 in C order. The storage bytes
 * are little-endian and may be unaligned (a deflated or re-packed archive
 * does not keep torch's 64-byte alignment), so elements are assembled byte
 * by byte; half and bfloat16 widen exactly, float64 rounds to nearest.
 * Strides and the storage offset were checked against the storage when the
 * file was opened, so every element read here lies inside it.
 */
#include <stdio.h>
#include <string.h>

#include "ckpt/internal.h"
#include "util/util.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE half to single: every half value, subnormals included, is exact. */
static float half_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
    if (exp == 0x1F)
        return bits_f32(sign | 0x7F800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return bits_f32(sign);
        exp = 127 - 15 + 1;
        while (!(man & 0x400u)) {
            man <<= 1;
            exp--;
        }
        return bits_f32(sign | (exp << 23) | ((man & 0x3FFu) << 13));
    }
    return bits_f32(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

static float element(const uint8_t *p, ckpt_dtype t)
{
    switch (t) {
    case CKPT_FLOAT32: return bits_f32(le32(p));
    case CKPT_FLOAT16: return half_to_f32((uint16_t)(p[0] | (p[1] << 8)));
    case CKPT_BFLOAT16: return bits_f32((uint32_t)(p[0] | (p[1] << 8)) << 16);
    default: {
        uint64_t u = (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
        double d;
        memcpy(&d, &u, sizeof d);
        return (float)d;
    }
    }
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++) {
        if (shape && shape[i] < 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s?", i ? ", " : "");
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
                                  shape ? (long long)shape[i] : 0LL);
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

static int check_shape(const ckpt_file *f, const ckpt_tensor *t, int ndim, const int64_t *shape,
                       char *err, size_t errlen)
{
    int ok = ndim < 0 || ndim == t->ndim;
    for (int i = 0; ok && ndim >= 0 && shape && i < ndim; i++)
        ok = shape[i] < 0 || shape[i] == t->shape[i];
    if (ok)
        return CKPT_OK;
    char have[256], want[256];
    format_shape(have, sizeof have, t->ndim, t->shape);
    if (shape)
        format_shape(want, sizeof want, ndim, shape);
    else
        snprintf(want, sizeof want, "%d dimensions", ndim);
    return util_errf(err, errlen, CKPT_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s",
                     f->name, t->name, have, want);
}

static int contiguous(const ckpt_tensor *t, const ckpt__tensor_data *d)
{
    int64_t expect = 1;
    for (int k = t->ndim; k-- > 0;) {
        if (t->shape[k] != 1 && d->stride[k] != expect)
            return 0;
        expect *= t->shape[k];
    }
    return 1;
}

static void copy_strided(const ckpt_tensor *t, const ckpt__tensor_data *d, float *out)
{
    size_t es = ckpt__dtype_size(t->dtype);
    if (t->dtype == CKPT_FLOAT32 && contiguous(t, d)) {
        const uint8_t *p = d->data + (size_t)d->offset * es;
        for (int64_t i = 0; i < t->numel; i++)
            out[i] = bits_f32(le32(p + (size_t)i * 4));
        return;
    }
    int64_t idx[CKPT_MAX_DIMS] = {0};
    uint64_t pos = (uint64_t)d->offset; /* wraps harmlessly past a dimension's end */
    for (int64_t i = 0; i < t->numel; i++) {
        out[i] = element(d->data + (size_t)pos * es, t->dtype);
        /* odometer over the dimensions, last fastest */
        for (int k = t->ndim; k-- > 0;) {
            pos += (uint64_t)d->stride[k];
            if (++idx[k] < t->shape[k])
                break;
            pos -= (uint64_t)d->stride[k] * (uint64_t)idx[k];
            idx[k] = 0;
        }
    }
}

int ckpt_read_f32(const ckpt_file *f, const char *name, int ndim, const int64_t *shape,
                  float *out, size_t out_count, char *err, size_t errlen)
{
    const ckpt_tensor *t = ckpt_find(f, name);
    if (!t)
        return util_errf(err, errlen, CKPT_ERR_NOT_FOUND, "%s: no tensor '%s'", f->name, name);
    int rc = check_shape(f, t, ndim, shape, err, errlen);
    if (rc != CKPT_OK)
        return rc;
    if (t->dtype != CKPT_FLOAT32 && t->dtype != CKPT_FLOAT64 && t->dtype != CKPT_FLOAT16 &&
        t->dtype != CKPT_BFLOAT16)
        return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED,
                         "%s: tensor '%s' is %s, not a floating-point tensor", f->name, name,
                         ckpt_dtype_name(t->dtype));
    if ((uint64_t)t->numel != (uint64_t)out_count)
        return util_errf(err, errlen, CKPT_ERR_SHAPE,
                         "%s: tensor '%s' has %lld elements, the buffer %zu", f->name, name,
                         (long long)t->numel, out_count);
    copy_strided(t, &f->tdata[t - f->tensors], out);
    return CKPT_OK;
}
