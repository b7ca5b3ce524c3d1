/* fuzz_ckpt: a libFuzzer driver for the PyTorch checkpoint reader.
 * Checkpoints come from users and downloads, so ckpt_open_memory must refuse
 * any damaged or hostile file (zip structure, pickle, tensor geometry) with
 * a message naming it — never crash, leak, loop or read outside the input.
 * On success it checks what the reader promises: every tensor is found by
 * its name, reports a consistent numel, and (when small enough) reads into
 * a buffer as float32, or is refused as an integer tensor; a wrong shape is
 * refused with CKPT_ERR_SHAPE.
 *
 * Not built by CMake as a fuzzer (every build replays the seeds in
 * tests/fuzz/seeds/ckpt). bench/fuzz_ckpt.sh builds it with clang,
 * libFuzzer, ASan and UBSan and runs it for N seconds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"

#define MAX_READ 4096 /* floats read per tensor: a hostile table may hold many */

static void check(int ok)
{
    if (!ok)
        abort();
}

static int is_float(ckpt_dtype t)
{
    return t == CKPT_FLOAT32 || t == CKPT_FLOAT64 || t == CKPT_FLOAT16 || t == CKPT_BFLOAT16;
}

static void check_tensor(const ckpt_file *f, const ckpt_tensor *t, float *buf)
{
    char err[512];
    check(t->name != NULL && ckpt_find(f, t->name) == t);
    check(t->ndim >= 0 && t->ndim <= CKPT_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) {
        check(t->shape[d] >= 0);
        n *= t->shape[d];
    }
    check(n == t->numel);
    if (t->numel > MAX_READ)
        return;
    int rc = ckpt_read_f32(f, t->name, t->ndim, t->shape, buf, (size_t)t->numel, err, sizeof err);
    check(rc == (is_float(t->dtype) ? CKPT_OK : CKPT_ERR_UNSUPPORTED));
    rc = ckpt_read_f32(f, t->name, t->ndim + 1, NULL, buf, (size_t)t->numel, err, sizeof err);
    check(rc == CKPT_ERR_SHAPE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    ckpt_file *f = NULL;
    int rc = ckpt_open_memory(&f, data, size, "fuzz.pt", err, sizeof err);
    if (rc != CKPT_OK) {
        check(f == NULL);
        check(strncmp(err, "fuzz.pt: ", 9) == 0);
        return 0;
    }
    check(f != NULL);
    float *buf = malloc(MAX_READ * sizeof *buf);
    check(buf != NULL);
    for (size_t i = 0; i < ckpt_count(f); i++)
        check_tensor(f, ckpt_tensor_at(f, i), buf);
    check(ckpt_tensor_at(f, ckpt_count(f)) == NULL);
    check(ckpt_read_f32(f, "no such tensor \x01", -1, NULL, buf, 1, err, sizeof err) ==
          CKPT_ERR_NOT_FOUND);
    free(buf);
    ckpt_close(f);
    return 0;
}
