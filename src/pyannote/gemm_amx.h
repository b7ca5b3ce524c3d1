/* gemm_amx: the AMX bfloat16 half of the pyannote matrix products, private
 * to gemm.c (which owns the pyannote__matrix handle and picks the path).
 * Builds everywhere: on a compiler or CPU without AMX the functions exist
 * and pyannote__amx_usable() says false, so nothing else is ever called. */
#ifndef CESAR_PYANNOTE_GEMM_AMX_H
#define CESAR_PYANNOTE_GEMM_AMX_H

#include <stdbool.h>
#include <stddef.h>

/* True when this CPU has AMX-TILE, AMX-BF16, AVX-512F/BW/BF16 and the kernel
 * granted this process the tile data state. Probed once per process
 * (thread-safe); later calls return the cached answer. */
bool pyannote__amx_usable(void);

/* W (m x k, row-major) as AMX A-tiles: 16-row blocks, K padded with zeros to
 * a multiple of 32, each tile 16 rows x 32 bfloat16 (1 KiB). With split,
 * each tile has a second "lo" tile holding bf16(w - hi) after the "hi" one
 * (the BF16X3 mode); without, hi only (BF16). */
typedef struct pyannote__amx_weights pyannote__amx_weights;

/* Packs w (borrowed, copied). On success the caller owns *out; free with
 * pyannote__amx_free. Only call when pyannote__amx_usable(). */
int pyannote__amx_pack(pyannote__amx_weights **out, const float *w, int m, int k, bool split,
                       char *err, size_t errlen);
void pyannote__amx_free(pyannote__amx_weights *w); /* NULL-safe */

/* y (m x n, row stride ldy) = W x (k x n, row stride ldx) [+ y]; see
 * pyannote__matrix_mul. Configures the tiles on entry and releases them on
 * exit, so concurrent calls on one W from several threads are fine. Each
 * output depends only on its own column of x, so the result does not depend
 * on how callers split n. */
int pyannote__amx_mul(const pyannote__amx_weights *w, const float *x, int ldx, int n, float *y,
                      int ldy, bool accumulate, char *err, size_t errlen);

#endif
