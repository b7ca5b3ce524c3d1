/* vad_stream: feeds the Silero network (silero.c) with audio as the
 * decoder yields it, in the network's fixed 32 ms chunks, and keeps one
 * speech probability per chunk — 4 bytes per 32 ms, so an hour costs
 * under half a megabyte however long the samples would have been.
 */
#include <stdlib.h>
#include <string.h>

#include "diarize/builtin_internal.h"

static int keep(diarize__vad_stream *s, float p)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        float *grown = realloc(s->probs, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->probs = grown;
        s->cap = cap;
    }
    s->probs[s->n++] = p;
    return 0;
}

void diarize__vad_stream_start(diarize__vad_stream *s, vad_silero *model)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    vad_silero_reset(model);
}

int diarize__vad_stream_push(diarize__vad_stream *s, const float *x, size_t n)
{
    while (n > 0) {
        size_t take = VAD_SILERO_CHUNK - s->n_pending;
        if (take > n)
            take = n;
        memcpy(s->pending + s->n_pending, x, take * sizeof *x);
        s->n_pending += take;
        x += take;
        n -= take;
        if (s->n_pending == VAD_SILERO_CHUNK) {
            if (keep(s, vad_silero_chunk(s->model, s->pending)) != 0)
                return -1;
            s->n_pending = 0;
        }
    }
    return 0;
}

int diarize__vad_stream_finish(diarize__vad_stream *s)
{
    if (s->n_pending == 0)
        return 0;
    memset(s->pending + s->n_pending, 0, (VAD_SILERO_CHUNK - s->n_pending) * sizeof(float));
    s->n_pending = 0;
    return keep(s, vad_silero_chunk(s->model, s->pending));
}

void diarize__vad_stream_free(diarize__vad_stream *s)
{
    free(s->probs);
    memset(s, 0, sizeof *s);
}
