/* gemm: packed weight matrices and their products for the pyannote
 * networks. The float32 path is OpenBLAS's sgemm on a private copy of the
 * weights; the AMX paths (gemm_amx.c) keep their own packed bfloat16 form.
 * Convolutions and linear layers all reduce to W (m x k) times a block of
 * columns x (k x n), so this one shape serves both networks. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "pyannote/gemm_amx.h"
#include "pyannote/internal.h"
#include "util/util.h"

struct pyannote__matrix {
    int m, k;
    pyannote__gemm_mode mode;
    float *w;                   /* m x k, row-major (F32 only) */
    pyannote__amx_weights *amx; /* BF16X3 / BF16 only */
};

const char *pyannote__gemm_mode_name(pyannote__gemm_mode m)
{
    switch (m) {
    case PYANNOTE__GEMM_AUTO: return "auto";
    case PYANNOTE__GEMM_F32: return "f32";
    case PYANNOTE__GEMM_BF16X3: return "bf16x3";
    case PYANNOTE__GEMM_BF16: return "bf16";
    }
    return "unknown";
}

/* The mode CESAR_PYANNOTE_GEMM names, or AUTO when it is unset or unknown. */
static pyannote__gemm_mode gemm_env_mode(void)
{
    const char *v = getenv("CESAR_PYANNOTE_GEMM");
    if (!v)
        return PYANNOTE__GEMM_AUTO;
    if (strcmp(v, "f32") == 0)
        return PYANNOTE__GEMM_F32;
    if (strcmp(v, "bf16x3") == 0)
        return PYANNOTE__GEMM_BF16X3;
    if (strcmp(v, "bf16") == 0)
        return PYANNOTE__GEMM_BF16;
    return PYANNOTE__GEMM_AUTO;
}

pyannote__gemm_mode pyannote__gemm_resolve(pyannote__gemm_mode requested)
{
    pyannote__gemm_mode env = gemm_env_mode();
    pyannote__gemm_mode mode = env != PYANNOTE__GEMM_AUTO ? env : requested;
    if (mode == PYANNOTE__GEMM_F32)
        return mode;
    if (!pyannote__amx_usable())
        return PYANNOTE__GEMM_F32;
    if (mode == PYANNOTE__GEMM_BF16)
        return mode;
    return PYANNOTE__GEMM_BF16X3; /* AUTO, BF16X3, and any out-of-range value */
}

static int matrix_pack_f32(pyannote__matrix *mat, const float *w, char *err, size_t errlen)
{
    size_t count = (size_t)mat->m * (size_t)mat->k;
    mat->w = malloc(count * sizeof *mat->w);
    if (!mat->w)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                         "out of memory packing a %d x %d matrix", mat->m, mat->k);
    memcpy(mat->w, w, count * sizeof *mat->w);
    return PYANNOTE_OK;
}

int pyannote__matrix_new(pyannote__matrix **out, const float *w, int m, int k,
                         pyannote__gemm_mode mode, char *err, size_t errlen)
{
    *out = NULL;
    if (m <= 0 || k <= 0)
        return util_errf(err, errlen, PYANNOTE_ERR_INVALID, "matrix of %d x %d", m, k);
    pyannote__matrix *mat = calloc(1, sizeof *mat);
    if (!mat)
        return util_errf(err, errlen, PYANNOTE_ERR_NOMEM, "out of memory packing a %d x %d matrix",
                         m, k);
    mat->m = m;
    mat->k = k;
    mat->mode = pyannote__gemm_resolve(mode);
    int rc = mat->mode == PYANNOTE__GEMM_F32
                 ? matrix_pack_f32(mat, w, err, errlen)
                 : pyannote__amx_pack(&mat->amx, w, m, k, mat->mode == PYANNOTE__GEMM_BF16X3, err,
                                      errlen);
    if (rc != PYANNOTE_OK) {
        pyannote__matrix_free(mat);
        return rc;
    }
    *out = mat;
    return PYANNOTE_OK;
}

void pyannote__matrix_free(pyannote__matrix *w)
{
    if (!w)
        return;
    free(w->w);
    pyannote__amx_free(w->amx);
    free(w);
}

pyannote__gemm_mode pyannote__matrix_mode(const pyannote__matrix *w)
{
    return w->mode;
}

int pyannote__matrix_mul(const pyannote__matrix *w, const float *x, int ldx, int n, float *y,
                         int ldy, bool accumulate, char *err, size_t errlen)
{
    if (n <= 0)
        return PYANNOTE_OK;
    if (w->amx)
        return pyannote__amx_mul(w->amx, x, ldx, n, y, ldy, accumulate, err, errlen);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, w->m, n, w->k, 1.0f, w->w, w->k, x,
                ldx, accumulate ? 1.0f : 0.0f, y, ldy);
    return PYANNOTE_OK;
}
