/* powerset: from the 7 powerset classes of segmentation-3.0 ({}, {0}, {1},
 * {2}, {0,1}, {0,2}, {1,2}: sets of at most 2 of 3 local speakers, by size
 * then lexicographically, as pyannote's Powerset orders them) to per-speaker
 * decisions. The hard decision is the argmax class, the first one on ties
 * (torch.argmax), so equal scores always give equal decisions.
 */
#include "pyannote/pyannote.h"

static const uint8_t POWERSET_SPEAKERS[PYANNOTE_POWERSET_CLASSES][PYANNOTE_LOCAL_SPEAKERS] = {
    {0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, 0, 1}, {0, 1, 1},
};

void pyannote_powerset_to_multilabel(const float *log_probs, size_t frames, uint8_t *active)
{
    for (size_t t = 0; t < frames; t++) {
        const float *p = log_probs + t * PYANNOTE_POWERSET_CLASSES;
        int best = 0;
        for (int k = 1; k < PYANNOTE_POWERSET_CLASSES; k++)
            if (p[k] > p[best])
                best = k;
        for (int s = 0; s < PYANNOTE_LOCAL_SPEAKERS; s++)
            active[t * PYANNOTE_LOCAL_SPEAKERS + s] = POWERSET_SPEAKERS[best][s];
    }
}
