/* pieces: the speech of a recording as the clustering sees it — the list
 * of speech frames, each frame's piece (speech regions cut into pieces of
 * about 1.5 s, the smallest unit given one speaker before resegmentation)
 * and room for each frame's best UBM components.
 */
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"

/* Speech is cut into pieces of this many frames for clustering; a region's
 * tail shorter than half a piece joins the piece before it. */
#define PIECE_FRAMES 150
/* The pair table of the clustering grows with the square of the pieces;
 * past this many, pieces get longer instead. */
#define MAX_PIECES 3000

void diarize__speech_free(diarize__speech *pc)
{
    free(pc->idx);
    free(pc->piece);
    free(pc->top);
    memset(pc, 0, sizeof *pc);
}

/* Cuts every speech region into pieces of about piece_len frames. */
static size_t assign_pieces(const unsigned char *speech, size_t n_frames, size_t piece_len,
                            diarize__speech *pc)
{
    size_t count = 0, k = 0, i = 0;
    while (i < n_frames) {
        if (!speech[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n_frames && speech[j])
            j++;
        size_t len = j - i;
        size_t n_here = (len + piece_len / 2) / piece_len;
        if (n_here == 0)
            n_here = 1;
        for (size_t f = 0; f < len; f++) {
            pc->idx[k] = i + f;
            pc->piece[k] = (int)(count + f * n_here / len);
            k++;
        }
        count += n_here;
        i = j;
    }
    pc->n = k;
    return count;
}

int diarize__speech_cut(const diarize__features *feats, const unsigned char *speech,
                        diarize__speech *pc)
{
    size_t n_speech = 0;
    for (size_t i = 0; i < feats->n; i++)
        n_speech += speech[i];
    pc->idx = malloc((n_speech + 1) * sizeof *pc->idx);
    pc->piece = malloc((n_speech + 1) * sizeof *pc->piece);
    pc->top = malloc((n_speech + 1) * sizeof *pc->top);
    if (!pc->idx || !pc->piece || !pc->top)
        return -1;
    size_t piece_len = PIECE_FRAMES;
    while ((pc->n_pieces = assign_pieces(speech, feats->n, piece_len, pc)) > MAX_PIECES)
        piece_len += piece_len / 2;
    return 0;
}
