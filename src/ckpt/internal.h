/* ckpt internal: what the files of the checkpoint reader share — the zip
 * directory (zip.c), the inert values the pickle machine builds (value.c,
 * pickle.c, torch.c) and the checked tensor table the handle keeps
 * (tensors.c, read.c, ckpt.c).
 *
 * Ownership: a ckpt__zip owns its member table and any inflated member
 * bytes; a ckpt__heap owns every value it ever allocated (values are freed
 * all at once with the heap, so cycles and shared references cannot leak or
 * be freed twice).
 */
#ifndef CESAR_CKPT_INTERNAL_H
#define CESAR_CKPT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/ckpt.h"

/* ---- limits against hostile input ------------------------------------- */

#define CKPT__MAX_MEMBERS 65536         /* zip entries */
#define CKPT__MAX_NAME 4096             /* a zip member name */
#define CKPT__MAX_OBJECTS (1u << 20)    /* values one pickle may create */
#define CKPT__MAX_ITEMS (1u << 22)      /* container slots over all values */
#define CKPT__MAX_STACK (1u << 20)      /* pickle stack depth */
#define CKPT__MAX_MARKS 4096            /* nested MARKs */
#define CKPT__MAX_MEMO (1u << 20)       /* memo slots (highest index + 1) */
#define CKPT__MAX_STRING (64u << 20)    /* one string or bytes value */
#define CKPT__MAX_INFLATE_RATIO 1100u   /* deflate cannot exceed ~1032:1 */

/* ---- zip -------------------------------------------------------------- */

typedef struct {
    char *name;            /* owned, NUL-terminated full member name */
    uint64_t local_offset; /* of the local file header */
    uint64_t comp_size;
    uint64_t size;         /* uncompressed */
    uint32_t crc;
    uint16_t method;       /* 0 stored, 8 deflated */
    const uint8_t *bytes;  /* NULL until ckpt__zip_load; then size bytes */
    uint8_t *owned;        /* the inflated copy, when deflated */
} ckpt__member;

typedef struct {
    const char *file;      /* borrowed, for messages */
    const uint8_t *data;   /* borrowed, the whole archive */
    size_t size;
    ckpt__member *members; /* owned, sorted by name */
    size_t count;
    char *top;             /* owned: the top directory with its '/' */
} ckpt__zip;

/* Reads the central directory of the archive data[0..size) and checks the
 * one-top-directory layout; members are not read yet. On failure the zip
 * is left empty (ckpt__zip_close is still safe). */
int ckpt__zip_open(ckpt__zip *z, const uint8_t *data, size_t size, const char *file, char *err,
                   size_t errlen);
void ckpt__zip_close(ckpt__zip *z); /* NULL-safe, idempotent */
/* The member TOP/rel, or NULL. */
ckpt__member *ckpt__zip_find(const ckpt__zip *z, const char *rel);
/* Makes m->bytes valid: checks the local header, inflates a deflated
 * member, verifies the CRC. */
int ckpt__zip_load(ckpt__zip *z, ckpt__member *m, char *err, size_t errlen);

/* ---- values ----------------------------------------------------------- */

typedef enum {
    CKPT__V_NONE,
    CKPT__V_BOOL,
    CKPT__V_INT,
    CKPT__V_FLOAT,
    CKPT__V_STR,
    CKPT__V_BYTES,
    CKPT__V_LIST,
    CKPT__V_TUPLE,
    CKPT__V_DICT,   /* items hold key, value, key, value ... */
    CKPT__V_SET,
    CKPT__V_GLOBAL, /* s = module, s2 = name, i = ckpt__global_id */
    CKPT__V_OBJECT, /* opaque: anything built from an unknown global */
    CKPT__V_STORAGE,/* s = key, dtype, i = element count */
    CKPT__V_TENSOR,
} ckpt__kind;

/* The globals given a meaning; everything else is CKPT__G_OTHER. */
typedef enum {
    CKPT__G_OTHER = 0,
    CKPT__G_ORDERED_DICT,
    CKPT__G_REBUILD_TENSOR_V2,
    CKPT__G_REBUILD_PARAMETER,
    CKPT__G_REBUILD_PARAMETER_STATE,
    CKPT__G_REBUILD_FROM_TYPE_V2,
    CKPT__G_STORAGE, /* a torch.*Storage class; dtype in the value */
} ckpt__global_id;

typedef struct ckpt__value ckpt__value;

typedef struct {
    ckpt__value *storage;
    int64_t offset;
    int ndim;
    int64_t shape[CKPT_MAX_DIMS];
    int64_t stride[CKPT_MAX_DIMS];
} ckpt__tensor_info;

struct ckpt__value {
    ckpt__kind kind;
    ckpt_dtype dtype;      /* STORAGE, and GLOBAL of a storage class */
    int64_t i;             /* BOOL, INT, STORAGE numel, GLOBAL id */
    double f;
    char *s;               /* owned: STR/BYTES text (NUL-terminated), GLOBAL
                            * module, STORAGE key */
    char *s2;              /* owned: GLOBAL name */
    size_t len;            /* bytes in s for STR/BYTES */
    ckpt__value **items;   /* owned array of borrowed pointers */
    size_t n, alloc;
    ckpt__tensor_info *t;  /* owned, TENSOR only */
};

typedef struct {
    ckpt__value **all;     /* every value allocated, owned */
    size_t count, alloc;
    size_t items;          /* container slots handed out so far */
} ckpt__heap;

void ckpt__heap_free(ckpt__heap *h); /* frees every value; NULL-safe */
/* A new value of that kind, or NULL when out of memory or over the object
 * limit (*limit set to 1 then). */
ckpt__value *ckpt__value_new(ckpt__heap *h, ckpt__kind kind, int *limit);
/* Appends item to a container value (list, tuple, set, dict slot). Returns
 * CKPT_OK, CKPT_ERR_NOMEM or CKPT_ERR_FORMAT when over the item limit. */
int ckpt__value_push(ckpt__heap *h, ckpt__value *c, ckpt__value *item);
/* The value of key (a string) in dict d: the last one when repeated. */
ckpt__value *ckpt__dict_get(const ckpt__value *d, const char *key);
const char *ckpt__kind_name(ckpt__kind k);

/* ---- pickle ----------------------------------------------------------- */

/* Runs the pickle pkl[0..len) and returns the value STOP left on the stack
 * in *out (owned by heap). member names the pickle in messages. */
int ckpt__unpickle(ckpt__heap *h, const uint8_t *pkl, size_t len, const char *file,
                   const char *member, ckpt__value **out, char *err, size_t errlen);

/* torch.c: the meaning of GLOBAL and of calling one. */
void ckpt__global_classify(ckpt__value *g);
/* REDUCE: callable(args). The result (a new value, or args' tensor) in
 * *out. Errors name file and the offending opcode offset. */
int ckpt__call(ckpt__heap *h, ckpt__value *callable, ckpt__value *args, ckpt__value **out,
               const char *where, char *err, size_t errlen);
/* BINPERSID: the storage a ('storage', type, key, location, numel) tuple
 * names. */
int ckpt__persistent_load(ckpt__heap *h, ckpt__value *pid, ckpt__value **out, const char *where,
                          char *err, size_t errlen);
size_t ckpt__dtype_size(ckpt_dtype t);

/* ---- tensor table ----------------------------------------------------- */

typedef struct {
    const uint8_t *data;   /* borrowed from the zip: storage bytes */
    int64_t offset;        /* in elements */
    int64_t stride[CKPT_MAX_DIMS];
} ckpt__tensor_data;

struct ckpt_file {
    char *name;            /* owned copy of the file name */
    void *map;             /* owned mapping when opened from a path */
    size_t map_size;
    ckpt__zip zip;
    ckpt_tensor *tensors;  /* owned, names owned (tensors[i].name) */
    ckpt__tensor_data *tdata;
    size_t count;
    size_t *by_name;       /* owned: indices of tensors sorted by name */
};

/* Builds f->tensors from the unpickled checkpoint root, checking every
 * tensor against its storage member. */
int ckpt__tensors_build(ckpt_file *f, const ckpt__value *root, char *err, size_t errlen);

#endif
