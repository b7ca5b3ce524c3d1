/* ckpt: reads the tensors of a PyTorch checkpoint (the zip files torch.save
 * writes since PyTorch 1.6, as the Hugging Face hub serves them under the
 * name pytorch_model.bin) without Python and without executing anything.
 *
 * The format: a zip archive (stored or deflated members) whose one top
 * directory holds data.pkl (a pickle, protocol 2..5), data/KEY files (the raw
 * bytes of each tensor storage, little-endian) and a few small files
 * (version, byteorder). The pickle is interpreted by a small stack machine
 * that knows only the opcodes state dicts and Lightning checkpoints use. It
 * builds inert values (dicts, lists, tuples, strings, numbers); a GLOBAL is
 * never imported or called: the few globals that mean "tensor" or "ordered
 * dict" (torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
 * collections.OrderedDict, torch.*Storage) are recognised by name, any other
 * becomes an opaque value that can be stored but not used as a tensor.
 * Anything outside that subset (an unknown opcode, a persistent id that is
 * not a storage, a legacy non-zip checkpoint) is refused with a message.
 *
 * Tensors are found in the checkpoint's top-level dict, or in its
 * "state_dict" entry when there is one (Lightning checkpoints, which is
 * what pyannote publishes); their names are the dict keys
 * ("sincnet.conv1d.0.filterbank.low_hz_").
 *
 * Errors: functions return a ckpt_err and write a message naming the file
 * and the member, opcode, tensor or value at fault into the caller-owned
 * buffer err (capacity errlen; may be NULL/0).
 */
#ifndef CESAR_CKPT_H
#define CESAR_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CKPT_OK = 0,
    CKPT_ERR_IO,          /* the file cannot be opened or read */
    CKPT_ERR_FORMAT,      /* not a zip checkpoint, or a damaged one */
    CKPT_ERR_UNSUPPORTED, /* outside the subset: an opcode, a global used as a
                           * tensor, a dtype, a legacy checkpoint */
    CKPT_ERR_NOT_FOUND,   /* no tensor of that name */
    CKPT_ERR_SHAPE,       /* the tensor's shape is not the one expected */
    CKPT_ERR_NOMEM,
} ckpt_err;

const char *ckpt_strerror(int code);

typedef enum {
    CKPT_FLOAT32 = 0,
    CKPT_FLOAT64,
    CKPT_FLOAT16,
    CKPT_BFLOAT16,
    CKPT_INT64,
    CKPT_INT32,
    CKPT_INT16,
    CKPT_INT8,
    CKPT_UINT8,
    CKPT_BOOL,
} ckpt_dtype;

const char *ckpt_dtype_name(ckpt_dtype t); /* "float32", ... */

#define CKPT_MAX_DIMS 8

/* One tensor of the state dict. Borrowed from the ckpt_file, valid until
 * ckpt_close. */
typedef struct {
    const char *name;
    ckpt_dtype dtype;
    int ndim;                       /* 0 for a scalar */
    int64_t shape[CKPT_MAX_DIMS];
    int64_t numel;                  /* product of shape (1 for a scalar) */
} ckpt_tensor;

typedef struct ckpt_file ckpt_file;

/* Opens and parses the checkpoint at path (the whole file is read or mapped;
 * storages are checked to hold every element their tensors address). On
 * success the caller owns *out (close with ckpt_close); on failure *out is
 * NULL. */
int ckpt_open(ckpt_file **out, const char *path, char *err, size_t errlen);

/* The same from bytes in memory (fuzzing, tests). data is borrowed and must
 * outlive the handle; name is used in messages (copied). */
int ckpt_open_memory(ckpt_file **out, const void *data, size_t size, const char *name,
                     char *err, size_t errlen);

void ckpt_close(ckpt_file *f); /* NULL-safe */

/* The tensors, in the order the state dict lists them. */
size_t ckpt_count(const ckpt_file *f);
const ckpt_tensor *ckpt_tensor_at(const ckpt_file *f, size_t i);

/* The tensor called name, or NULL. */
const ckpt_tensor *ckpt_find(const ckpt_file *f, const char *name);

/* Copies tensor name into out (out_count floats) as float32 in C order,
 * converting from any floating dtype and following the tensor's strides and
 * storage offset. When ndim >= 0 the tensor must have exactly ndim
 * dimensions and, for each i with shape[i] >= 0, that extent (shape may be
 * NULL to check only ndim); ndim < 0 accepts any shape. out_count must equal
 * the tensor's numel. Errors: CKPT_ERR_NOT_FOUND ("FILE: no tensor 'NAME'"),
 * CKPT_ERR_SHAPE ("FILE: tensor 'NAME' has shape [80, 1, 251], expected
 * [80, 1, 3]"), CKPT_ERR_UNSUPPORTED (an integer dtype). */
int ckpt_read_f32(const ckpt_file *f, const char *name, int ndim, const int64_t *shape,
                  float *out, size_t out_count, char *err, size_t errlen);

#endif
