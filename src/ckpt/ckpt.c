/* ckpt: opening a checkpoint (mapping the file, or borrowing bytes), the
 * order of the checks (not empty, not a legacy pickle, a zip with one top
 * directory, little-endian storages, the pickle, the tensor table) and the
 * handle's accessors. The pickle's values live only while the table is
 * built; the handle keeps the table and the archive bytes it points into.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/internal.h"
#include "util/util.h"

const char *ckpt_strerror(int code)
{
    switch (code) {
    case CKPT_OK: return "success";
    case CKPT_ERR_IO: return "cannot read the checkpoint";
    case CKPT_ERR_FORMAT: return "not a valid PyTorch checkpoint";
    case CKPT_ERR_UNSUPPORTED: return "unsupported checkpoint content";
    case CKPT_ERR_NOT_FOUND: return "no such tensor";
    case CKPT_ERR_SHAPE: return "unexpected tensor shape";
    case CKPT_ERR_NOMEM: return "out of memory";
    default: return "unknown error";
    }
}

const char *ckpt_dtype_name(ckpt_dtype t)
{
    static const char *const names[] = {"float32", "float64", "float16", "bfloat16", "int64",
                                        "int32",   "int16",   "int8",    "uint8",    "bool"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

static int check_byteorder(ckpt_file *f, char *err, size_t errlen)
{
    ckpt__member *m = ckpt__zip_find(&f->zip, "byteorder");
    if (!m)
        return CKPT_OK; /* written only by newer torch; older files are little-endian */
    int rc = ckpt__zip_load(&f->zip, m, err, errlen);
    if (rc != CKPT_OK)
        return rc;
    if (m->size == 6 && memcmp(m->bytes, "little", 6) == 0)
        return CKPT_OK;
    return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED,
                     "%s: member '%s' says the storages are not little-endian", f->name,
                     m->name);
}

static int parse(ckpt_file *f, const uint8_t *data, size_t size, char *err, size_t errlen)
{
    if (size == 0)
        return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: empty file", f->name);
    if (size >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5)
        return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED,
                         "%s: a legacy (non-zip) torch.save checkpoint; re-save it with "
                         "torch >= 1.6 (the default zip format)", f->name);
    int rc = ckpt__zip_open(&f->zip, data, size, f->name, err, errlen);
    if (rc != CKPT_OK)
        return rc;
    rc = check_byteorder(f, err, errlen);
    if (rc != CKPT_OK)
        return rc;
    ckpt__member *pkl = ckpt__zip_find(&f->zip, "data.pkl");
    rc = ckpt__zip_load(&f->zip, pkl, err, errlen);
    if (rc != CKPT_OK)
        return rc;
    ckpt__heap heap;
    memset(&heap, 0, sizeof heap);
    ckpt__value *root = NULL;
    rc = ckpt__unpickle(&heap, pkl->bytes, (size_t)pkl->size, f->name, pkl->name, &root, err,
                        errlen);
    if (rc == CKPT_OK)
        rc = ckpt__tensors_build(f, root, err, errlen);
    ckpt__heap_free(&heap);
    return rc;
}

int ckpt_open_memory(ckpt_file **out, const void *data, size_t size, const char *name,
                     char *err, size_t errlen)
{
    *out = NULL;
    int rc;
    ckpt_file *f = calloc(1, sizeof *f);
    if (!f || !(f->name = util_strdup(name ? name : "checkpoint"))) {
        rc = util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory", name ? name : "?");
        goto cleanup;
    }
    rc = parse(f, data, size, err, errlen);
cleanup:
    if (rc == CKPT_OK)
        *out = f;
    else
        ckpt_close(f);
    return rc;
}

int ckpt_open(ckpt_file **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    ckpt_file *f = NULL;
    void *map = NULL;
    struct stat st;
    int rc = CKPT_OK, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = util_errf(err, errlen, CKPT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = util_errf(err, errlen, CKPT_ERR_IO, "%s: not a regular file", path);
        goto cleanup;
    }
    if (st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            map = NULL;
            rc = util_errf(err, errlen, CKPT_ERR_IO, "%s: cannot map: %s", path,
                           strerror(errno));
            goto cleanup;
        }
    }
    rc = ckpt_open_memory(&f, map ? map : "", map ? (size_t)st.st_size : 0, path, err, errlen);
    if (rc == CKPT_OK) {
        f->map = map;
        f->map_size = (size_t)st.st_size;
        map = NULL;
        *out = f;
    }
cleanup:
    if (map)
        munmap(map, (size_t)st.st_size);
    if (fd >= 0)
        close(fd);
    return rc;
}

void ckpt_close(ckpt_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++)
        free((char *)f->tensors[i].name);
    free(f->tensors);
    free(f->tdata);
    free(f->by_name);
    ckpt__zip_close(&f->zip);
    if (f->map)
        munmap(f->map, f->map_size);
    free(f->name);
    free(f);
}

size_t ckpt_count(const ckpt_file *f)
{
    return f ? f->count : 0;
}

const ckpt_tensor *ckpt_tensor_at(const ckpt_file *f, size_t i)
{
    return f && i < f->count ? &f->tensors[i] : NULL;
}

const ckpt_tensor *ckpt_find(const ckpt_file *f, const char *name)
{
    if (!f || !name || !f->by_name)
        return NULL;
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ckpt_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(t->name, name);
        if (c == 0)
            return t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
