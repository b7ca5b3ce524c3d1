/* emb_bf16: the channel-blocked bfloat16 activation layouts of the AMX
 * trunk (described at pyannote__emb_bf16 in internal.h): their geometry,
 * border clearing, and the conversion of the last block's channel-blocked
 * float32 output back to planes.
 *
 * Invariant: every value of a plane outside the positions of the h x w
 * interior (the border rows, and every column holding no position) is zero
 * once a layer has been written, whatever the buffer held before; the
 * kernels read those as the convolution's zero padding. */
#include <string.h>

#include "pyannote/internal.h"

#define CB 32 /* channels per block */

/* Row lengths are multiples of 16 columns, so 16-position operand tiles
 * start on 1 KiB boundaries. */
static int plain_width(int w)
{
    return (w + 15) / 16 * 16 + 16;
}

static int phase_segment(int w)
{
    return ((w + 1) / 2 + 15) / 16 * 16 + 16;
}

size_t pyannote__emb_bf16_values(int c, int h, int w)
{
    int wp = plain_width(w) > 2 * phase_segment(w) ? plain_width(w) : 2 * phase_segment(w);
    return (size_t)((c + CB - 1) / CB) * (size_t)(h + 2) * (size_t)wp * CB;
}

void pyannote__emb_bf16_init(pyannote__emb_bf16 *v, uint16_t *hi, uint16_t *lo, int c, int h, int w,
                             bool phase)
{
    v->hi = hi;
    v->lo = lo;
    v->c = c;
    v->h = h;
    v->w = w;
    v->phase = phase;
    v->seg = phase ? phase_segment(w) : 0;
    v->wp = phase ? 2 * v->seg : plain_width(w);
    v->blk = (size_t)(h + 2) * (size_t)v->wp * CB;
}

/* Zeroes columns [from, to) of one row. */
static void zero_columns(uint16_t *row, int from, int to)
{
    if (to > from)
        memset(row + (size_t)from * CB, 0, (size_t)(to - from) * CB * sizeof *row);
}

/* The border of one block's plane: the top and bottom rows, and in each
 * interior row every column that holds no position. */
static void zero_border(const pyannote__emb_bf16 *v, uint16_t *plane)
{
    size_t row = (size_t)v->wp * CB;
    memset(plane, 0, row * sizeof *plane);
    memset(plane + (size_t)(v->h + 1) * row, 0, row * sizeof *plane);
    for (int r = 1; r <= v->h; r++) {
        uint16_t *p = plane + (size_t)r * row;
        zero_columns(p, 0, 1);
        if (v->phase) { /* odd positions at 1 .. w / 2, even from seg on */
            zero_columns(p, 1 + v->w / 2, v->seg);
            zero_columns(p, v->seg + (v->w + 1) / 2, v->wp);
        } else {
            zero_columns(p, v->w + 1, v->wp);
        }
    }
}

void pyannote__emb_bf16_clear_border(const pyannote__emb_bf16 *v)
{
    for (int b = 0; b < v->c / CB; b++) {
        zero_border(v, v->hi + (size_t)b * v->blk);
        if (v->lo)
            zero_border(v, v->lo + (size_t)b * v->blk);
    }
}

void pyannote__emb_blocked_to_planes(const float *fb, int c, int h, int w, float *x)
{
    size_t plane = (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++)
        for (int r = 0; r < h; r++)
            for (int i = 0; i < w; i++)
                x[(size_t)ch * plane + (size_t)r * (size_t)w + (size_t)i] =
                    fb[(((size_t)(ch / CB) * (size_t)h + (size_t)r) * (size_t)w + (size_t)i) * CB +
                       (size_t)(ch % CB)];
}
