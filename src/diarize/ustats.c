/* ustats: speaker statistics measured against the recording's background
 * model (UBM): for each group of frames and each UBM component, the soft
 * count of frames the component explains and their sum. Two groups spoken
 * by one voice put the same sounds in the same components at the same
 * places; MAP-adapting the UBM with a group's statistics
 * (speaker_model.c) turns them into that voice's model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"

#define D DIARIZE__DIM

int diarize__ustats_new(diarize__ustats *s, size_t n_groups, int m)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->n_groups = n_groups;
    size_t rows = n_groups ? n_groups : 1;
    s->count = calloc(rows * (size_t)m, sizeof *s->count);
    s->first = calloc(rows * (size_t)m * D, sizeof *s->first);
    s->frames = calloc(rows, sizeof *s->frames);
    if (!s->count || !s->first || !s->frames) {
        diarize__ustats_free(s);
        return -1;
    }
    return 0;
}

void diarize__ustats_free(diarize__ustats *s)
{
    free(s->count);
    free(s->first);
    free(s->frames);
    memset(s, 0, sizeof *s);
}

void diarize__ustats_clear(diarize__ustats *s)
{
    memset(s->count, 0, s->n_groups * (size_t)s->m * sizeof *s->count);
    memset(s->first, 0, s->n_groups * (size_t)s->m * D * sizeof *s->first);
    memset(s->frames, 0, s->n_groups * sizeof *s->frames);
}

void diarize__ustats_add(diarize__ustats *s, size_t group, const diarize__top *top,
                         const float *x)
{
    s->frames[group] += 1.0;
    for (int k = 0; k < DIARIZE__TOP; k++) {
        double p = top->p[k];
        if (p <= 0.0)
            continue;
        size_t c = top->c[k];
        s->count[group * (size_t)s->m + c] += p;
        double *f = &s->first[(group * (size_t)s->m + c) * D];
        for (int i = 0; i < D; i++)
            f[i] += p * x[i];
    }
}

void diarize__ustats_merge(diarize__ustats *s, size_t into, size_t from)
{
    size_t m = (size_t)s->m;
    s->frames[into] += s->frames[from];
    for (size_t c = 0; c < m; c++)
        s->count[into * m + c] += s->count[from * m + c];
    for (size_t j = 0; j < m * D; j++)
        s->first[into * m * D + j] += s->first[from * m * D + j];
}

void diarize__ustats_map_means(const diarize__ustats *s, const diarize__gmm *ubm, size_t g,
                               double r, float (*mean)[DIARIZE__DIM])
{
    size_t m = (size_t)s->m;
    for (size_t c = 0; c < m; c++) {
        double n = s->count[g * m + c];
        const double *f = &s->first[(g * m + c) * D];
        for (int i = 0; i < D; i++)
            mean[c][i] = (float)((f[i] + r * ubm->mean[c][i]) / (n + r));
    }
}
