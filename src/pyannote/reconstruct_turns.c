/* reconstruct_turns: the discrete diarization (speakers per global frame)
 * as time-stamped turns, the way pyannote's to_annotation does it
 * (pyannote.audio's Binarize with onset = offset = 0.5, then
 * Annotation.support(collar=min_duration_off) when that is positive).
 *
 * A turn runs from the middle of its first active frame to the middle of
 * the first inactive frame after it (or of the last frame); frame i's
 * middle is computed as pyannote.core's SlidingWindow does, so the times
 * match to the last bit. Segments of 1e-6 s or less are empty in
 * pyannote.core and are dropped.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "pyannote/internal.h"
#include "util/util.h"

#define SEGMENT_PRECISION 1e-6

static double frame_middle(size_t i)
{
    const double step = (double)PYANNOTE_FRAME_STEP / PYANNOTE_SAMPLE_RATE;
    const double duration = (double)PYANNOTE_FRAME_DURATION / PYANNOTE_SAMPLE_RATE;
    double start = 0.0 + (double)i * step;
    return 0.5 * (start + (start + duration));
}

typedef struct {
    pyannote_turn *v;
    size_t n, cap;
} turn_list;

static int push(turn_list *l, double start, double end, int speaker)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        pyannote_turn *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (pyannote_turn){start, end, speaker};
    return 0;
}

/* Adds one speaker's segment, merging it into the previous one of the same
 * speaker when the gap is empty or shorter than the collar. */
static int add_segment(turn_list *l, size_t first, double start, double end, int speaker,
                       double collar)
{
    if (!(end - start > SEGMENT_PRECISION))
        return 0;
    if (collar > 0.0 && l->n > first) {
        pyannote_turn *last = &l->v[l->n - 1];
        double gap = start - last->end;
        if (gap <= SEGMENT_PRECISION || gap < collar) {
            last->start = start < last->start ? start : last->start;
            last->end = end > last->end ? end : last->end;
            return 0;
        }
    }
    return push(l, start, end, speaker);
}

static int speaker_turns(turn_list *l, const uint8_t *sel, size_t total, int cols, int k,
                         double collar)
{
    size_t first = l->n;
    double start = frame_middle(0), t = start;
    int on = sel[k] != 0;
    for (size_t i = 1; i < total; i++) {
        int v = sel[i * (size_t)cols + (size_t)k] != 0;
        t = frame_middle(i);
        if (on && !v) {
            if (add_segment(l, first, start, t, k, collar) < 0)
                return -1;
            start = t;
            on = 0;
        } else if (!on && v) {
            start = t;
            on = 1;
        }
    }
    if (on && add_segment(l, first, start, t, k, collar) < 0)
        return -1;
    return 0;
}

static int turn_cmp(const void *pa, const void *pb)
{
    const pyannote_turn *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return (a->speaker > b->speaker) - (a->speaker < b->speaker);
}

/* Clips to the audio and drops what becomes empty. */
static void clip(turn_list *l, double audio_seconds)
{
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        pyannote_turn t = l->v[i];
        if (t.end > audio_seconds)
            t.end = audio_seconds;
        if (t.end - t.start > SEGMENT_PRECISION)
            l->v[w++] = t;
    }
    l->n = w;
}

int pyannote__frames_to_turns(const uint8_t *sel, size_t total, int cols,
                              double min_duration_off, double audio_seconds,
                              pyannote_turn **turns, size_t *n_turns, char *err, size_t errlen)
{
    turn_list l = {0};
    *turns = NULL;
    *n_turns = 0;
    for (int k = 0; k < cols && total > 0; k++) {
        if (speaker_turns(&l, sel, total, cols, k, min_duration_off) < 0) {
            free(l.v);
            return util_errf(err, errlen, PYANNOTE_ERR_NOMEM,
                             "reconstruction: out of memory for %zu turns", l.n);
        }
    }
    clip(&l, audio_seconds);
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, turn_cmp);
    *turns = l.v;
    *n_turns = l.n;
    return PYANNOTE_OK;
}
