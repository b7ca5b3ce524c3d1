/* turns: from per-frame speaker labels to the turns a run returns —
 * renumbering, dissolving "speakers" too small to be people, smoothing
 * away flickers at speaker changes, and cutting runs into turns.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "diarize/builtin_internal.h"

/* A speaker with less than this share of the speech, and less than this
 * many frames, is a sliver (dissolve_slivers). */
#define SLIVER_SHARE 0.04
#define SLIVER_MAX_FRAMES 1000
/* Turns shorter than this inside continuous speech are smoothed away. */
#define MIN_TURN_FRAMES 25

/* Speakers that lost every frame are dropped; the rest numbered densely. */
int diarize__labels_compact(int *labels, size_t n, int k)
{
    int *map = malloc((size_t)k * sizeof *map);
    if (!map)
        return -1;
    for (int s = 0; s < k; s++)
        map[s] = -1;
    int live = 0;
    for (size_t t = 0; t < n; t++) {
        if (map[labels[t]] < 0)
            map[labels[t]] = live++;
        labels[t] = map[labels[t]];
    }
    free(map);
    return live;
}

/* A "speaker" holding only a sliver of the speech is nearly always a
 * leftover of the clustering (frames at turn changes, a cough), not a
 * person: its frames go to the speaker before them (after them at the
 * start), and resegmentation then settles where they really belong.
 * Never leaves fewer than min_k speakers. Returns the new k or -1. */
int diarize__labels_dissolve_slivers(int *labels, size_t n, int k, int min_k)
{
    size_t *count = calloc((size_t)k, sizeof *count);
    unsigned char *sliver = calloc((size_t)k, 1);
    int result = -1;
    if (!count || !sliver)
        goto cleanup;
    for (size_t t = 0; t < n; t++)
        count[labels[t]]++;
    int live = k;
    double limit = SLIVER_SHARE * (double)n;
    if (limit > SLIVER_MAX_FRAMES)
        limit = SLIVER_MAX_FRAMES;
    for (int pass = 0; pass < k && live > min_k; pass++) {
        int smallest = -1;
        for (int s = 0; s < k; s++)
            if (!sliver[s] && (double)count[s] < limit &&
                (smallest < 0 || count[s] < count[smallest]))
                smallest = s;
        if (smallest < 0)
            break;
        sliver[smallest] = 1;
        live--;
    }
    if (live == k) {
        result = k;
        goto cleanup;
    }
    int prev = -1;
    for (size_t t = 0; t < n; t++) {
        if (!sliver[labels[t]])
            prev = labels[t];
        else if (prev >= 0)
            labels[t] = prev;
    }
    int next = -1;
    for (size_t t = n; t-- > 0;) {
        if (!sliver[labels[t]])
            next = labels[t];
        else if (next >= 0)
            labels[t] = next;
    }
    result = diarize__labels_compact(labels, n, k);

cleanup:
    free(count);
    free(sliver);
    return result;
}

/* Length of the run of labels[t]'s speaker through frame t, counting only
 * consecutive speech frames, and where it starts. */
static size_t run_at(const diarize__speech *pc, const int *labels, size_t t, size_t *start)
{
    size_t a = t, b = t;
    while (a > 0 && labels[a - 1] == labels[t] && pc->idx[a - 1] + 1 == pc->idx[a])
        a--;
    while (b + 1 < pc->n && labels[b + 1] == labels[t] && pc->idx[b + 1] == pc->idx[b] + 1)
        b++;
    *start = a;
    return b - a + 1;
}

/* A turn shorter than MIN_TURN_FRAMES inside continuous speech is a
 * flicker at a speaker change, not a turn: it goes to the longer of the
 * runs around it. */
void diarize__labels_smooth(const diarize__speech *pc, int *labels)
{
    size_t t = 0;
    while (t < pc->n) {
        size_t start, len = run_at(pc, labels, t, &start);
        size_t end = start + len; /* one past the run */
        bool joined_before = start > 0 && pc->idx[start - 1] + 1 == pc->idx[start];
        bool joined_after = end < pc->n && pc->idx[end - 1] + 1 == pc->idx[end];
        if (len < MIN_TURN_FRAMES && (joined_before || joined_after)) {
            size_t s0, before = joined_before ? run_at(pc, labels, start - 1, &s0) : 0;
            size_t after = joined_after ? run_at(pc, labels, end, &s0) : 0;
            int to = before >= after ? labels[start - 1] : labels[end];
            for (size_t i = start; i < end; i++)
                labels[i] = to;
        }
        t = end;
    }
}

/* Runs of one speaker over consecutive speech frames become turns. */
int diarize__turns_emit(const diarize__speech *pc, const int *labels, double offset,
                        diarize_result *out)
{
    size_t cap = 0;
    for (size_t t = 0; t < pc->n; t++) {
        size_t start = t;
        while (t + 1 < pc->n && labels[t + 1] == labels[start] && pc->idx[t + 1] == pc->idx[t] + 1)
            t++;
        if (out->n_turns == cap) {
            cap = cap ? cap * 2 : 64;
            diarize_turn *grown = realloc(out->turns, cap * sizeof *grown);
            if (!grown)
                return -1;
            out->turns = grown;
        }
        /* frame i is centred at 10 i + 12.5 ms; a run covers its frames'
         * central 10 ms */
        diarize_turn *u = &out->turns[out->n_turns++];
        u->start = offset + (double)pc->idx[start] / DIARIZE__FRAMES_PER_SECOND + 0.0075;
        u->end = offset + (double)pc->idx[t] / DIARIZE__FRAMES_PER_SECOND + 0.0175;
        u->speaker = labels[start];
    }
    return 0;
}
