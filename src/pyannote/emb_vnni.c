/* emb_vnni: the bfloat16 activation layouts of the AMX trunk (described at
 * pyannote__emb_vnni in internal.h): their geometry, border clearing, and
 * the conversion of a float32 activation (the stem's output) into the plain
 * layout.
 *
 * Invariant: every value of a plane outside the positions of the h x w
 * interior (the border rows, and every column holding no position) is zero
 * once a layer has been written, whatever the buffer held before; the
 * kernels read those as the convolution's zero padding. */
#include <string.h>

#include "pyannote/amx_asm.h"
#include "pyannote/internal.h"

/* Row lengths are multiples of 16 columns (64 bytes), so rows start on
 * cache lines and the tiles of some taps load whole lines. */
static int plain_width(int w)
{
    return (w + 15) / 16 * 16 + 16;
}

static int phase_segment(int w)
{
    return ((w + 1) / 2 + 15) / 16 * 16 + 16;
}

size_t pyannote__emb_vnni_values(int c, int h, int w)
{
    int wp = plain_width(w) > 2 * phase_segment(w) ? plain_width(w) : 2 * phase_segment(w);
    return (size_t)((c + 1) / 2) * (size_t)(h + 2) * (size_t)wp * 2;
}

void pyannote__emb_vnni_init(pyannote__emb_vnni *v, uint16_t *hi, uint16_t *lo, int c, int h,
                             int w, bool phase)
{
    v->hi = hi;
    v->lo = lo;
    v->c = c;
    v->h = h;
    v->w = w;
    v->phase = phase;
    v->seg = phase ? phase_segment(w) : 0;
    v->wp = phase ? 2 * v->seg : plain_width(w);
    v->pair = (size_t)(h + 2) * (size_t)v->wp * 2;
}

/* Zeroes columns [from, to) of one row (2 values per column). */
static void zero_columns(uint16_t *row, int from, int to)
{
    if (to > from)
        memset(row + 2 * (size_t)from, 0, 2 * (size_t)(to - from) * sizeof *row);
}

/* The border of one plane: the top and bottom rows, and in each interior
 * row every column that holds no position. */
static void zero_border(const pyannote__emb_vnni *v, uint16_t *plane)
{
    size_t row = (size_t)v->wp * 2;
    memset(plane, 0, row * sizeof *plane);
    memset(plane + (size_t)(v->h + 1) * row, 0, row * sizeof *plane);
    for (int r = 1; r <= v->h; r++) {
        uint16_t *p = plane + (size_t)r * row;
        if (v->phase) { /* odd positions at 1 .. w / 2, even from seg on */
            zero_columns(p, 0, 1);
            zero_columns(p, 1 + v->w / 2, v->seg);
            zero_columns(p, v->seg + (v->w + 1) / 2, v->wp);
        } else {
            zero_columns(p, 0, 1);
            zero_columns(p, v->w + 1, v->wp);
        }
    }
}

void pyannote__emb_vnni_clear_border(const pyannote__emb_vnni *v)
{
    for (int p = 0; p < v->c / 2; p++) {
        zero_border(v, v->hi + (size_t)p * v->pair);
        if (v->lo)
            zero_border(v, v->lo + (size_t)p * v->pair);
    }
}

#ifdef PYANNOTE__AMX_ASM

/* Row `row` (0 .. h - 1) of pair p from the two channel rows a, b. */
AMX_AVX512 static void convert_row(const pyannote__emb_vnni *v, int p, int row, const float *a,
                                   const float *b)
{
    size_t at = (size_t)p * v->pair + ((size_t)(row + 1) * (size_t)v->wp + 1) * 2;
    bool split = v->lo != NULL;
    for (int j = 0; j < v->w; j += 16) {
        int cnt = v->w - j < 16 ? v->w - j : 16;
        __mmask16 m16 = (__mmask16)((1u << cnt) - 1u);
        __mmask32 m32 = (__mmask32)(cnt == 16 ? 0xffffffffu : (1u << (2 * cnt)) - 1u);
        __m512i hi, lo;
        amx_vnni_pair(_mm512_maskz_loadu_ps(m16, a + j), _mm512_maskz_loadu_ps(m16, b + j), split,
                      &hi, &lo);
        _mm512_mask_storeu_epi16(v->hi + at + 2 * (size_t)j, m32, hi);
        if (split)
            _mm512_mask_storeu_epi16(v->lo + at + 2 * (size_t)j, m32, lo);
    }
}

void pyannote__emb_vnni_from_f32(const float *x, const pyannote__emb_vnni *v)
{
    size_t plane = (size_t)v->h * (size_t)v->w;
    pyannote__emb_vnni_clear_border(v);
    for (int p = 0; p < v->c / 2; p++) {
        const float *a = x + 2 * (size_t)p * plane, *b = a + plane;
        for (int r = 0; r < v->h; r++)
            convert_row(v, p, r, a + (size_t)r * v->w, b + (size_t)r * v->w);
    }
}

#else /* no AMX: the layout is never used */

void pyannote__emb_vnni_from_f32(const float *x, const pyannote__emb_vnni *v)
{
    (void)x;
    (void)v;
}

#endif
