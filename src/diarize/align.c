/* align: laying speaker turns onto a transcript — who said each word, where
 * segments split between speakers, and the "Speaker N" numbering. Pure: the
 * input transcript is read, a new one is built. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/diarize.h"
#include "util/util.h"

static int check_turns(const diarize_turn *turns, size_t n, char *err, size_t errlen)
{
    if (n > 0 && !turns)
        return util_errf(err, errlen, DIARIZE_ERR_INVALID, "turns missing");
    for (size_t i = 0; i < n; i++) {
        const diarize_turn *u = &turns[i];
        if (!isfinite(u->start) || !isfinite(u->end) || u->end < u->start || u->speaker < 0)
            return util_errf(err, errlen, DIARIZE_ERR_INVALID,
                             "turn %zu: needs finite start <= end and a speaker >= 0 "
                             "(got %.3f-%.3f, speaker %d)",
                             i, u->start, u->end, u->speaker);
    }
    return DIARIZE_OK;
}

/* The engine label of the turn that best covers [start, end]: longest
 * overlap, else nearest; ties to the earlier turn in the array. */
static int best_speaker(const diarize_turn *turns, size_t n, double start, double end)
{
    int best = TRANSCRIPT_NO_SPEAKER;
    double best_overlap = 0.0, best_gap = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double overlap = fmin(end, turns[i].end) - fmax(start, turns[i].start);
        if (overlap > best_overlap) {
            best_overlap = overlap;
            best = turns[i].speaker;
        }
    }
    if (best != TRANSCRIPT_NO_SPEAKER)
        return best;
    for (size_t i = 0; i < n; i++) {
        double gap = fmax(turns[i].start - end, start - turns[i].end);
        if (gap < 0)
            gap = 0; /* touching, or a zero-length word inside a turn */
        if (gap < best_gap) {
            best_gap = gap;
            best = turns[i].speaker;
        }
    }
    return best;
}

/* Maps engine labels to 0, 1, 2 ... in order of first appearance. */
typedef struct {
    int *labels;
    size_t n, alloc;
} numbering;

static int number_of(numbering *m, int label, int *out)
{
    if (label < 0) {
        *out = TRANSCRIPT_NO_SPEAKER;
        return DIARIZE_OK;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (m->labels[i] == label) {
            *out = (int)i;
            return DIARIZE_OK;
        }
    }
    int *grown = util_array_reserve(m->labels, &m->alloc, m->n + 1, sizeof *m->labels);
    if (!grown)
        return DIARIZE_ERR_NOMEM;
    m->labels = grown;
    m->labels[m->n] = label;
    *out = (int)m->n++;
    return DIARIZE_OK;
}

/* Appends words [from, to) of seg as one segment of speaker `speaker`. A
 * segment that stays whole keeps its own text (an engine's punctuation and
 * spacing); a part of a split one is its words joined by spaces. */
static int add_part(transcript *dst, const transcript_segment *seg, size_t from, size_t to,
                    int speaker)
{
    bool whole = from == 0 && to == seg->n_words;
    util_buf text = UTIL_BUF_INIT(0);
    int rc = util_buf_puts(&text, whole ? seg->text : "");
    for (size_t w = from; rc == UTIL_OK && !whole && w < to; w++) {
        if (w > from)
            rc = util_buf_putc(&text, ' ');
        if (rc == UTIL_OK)
            rc = util_buf_puts(&text, seg->words[w].text);
    }
    double start = seg->words[from].start, end = seg->words[from].end;
    for (size_t w = from; w < to; w++)
        end = fmax(end, seg->words[w].end);
    if (whole) {
        start = seg->start;
        end = seg->end;
    }
    size_t index = 0;
    if (rc == UTIL_OK)
        rc = transcript_add_segment(dst, start, end, text.data, &index) == TRANSCRIPT_OK
                 ? UTIL_OK
                 : UTIL_ERR_NOMEM;
    util_buf_free(&text);
    if (rc != UTIL_OK)
        return DIARIZE_ERR_NOMEM;
    dst->segments[index].speaker = speaker;
    for (size_t w = from; w < to; w++) {
        const transcript_word *wd = &seg->words[w];
        if (transcript_add_word(dst, index, wd->start, wd->end, wd->text, wd->confidence) !=
            TRANSCRIPT_OK)
            return DIARIZE_ERR_NOMEM;
        dst->segments[index].words[dst->segments[index].n_words - 1].speaker = speaker;
    }
    return DIARIZE_OK;
}

static int copy_whole(transcript *dst, const transcript_segment *seg, int speaker)
{
    size_t index = 0;
    if (transcript_add_segment(dst, seg->start, seg->end, seg->text, &index) != TRANSCRIPT_OK)
        return DIARIZE_ERR_NOMEM;
    dst->segments[index].speaker = speaker;
    return DIARIZE_OK;
}

/* One source segment: split by word speakers, or whole without words. */
static int align_segment(transcript *dst, const transcript_segment *seg,
                         const diarize_turn *turns, size_t n, numbering *m)
{
    int rc = DIARIZE_OK, number = TRANSCRIPT_NO_SPEAKER;
    if (seg->n_words == 0) {
        rc = number_of(m, n ? best_speaker(turns, n, seg->start, seg->end) : -1, &number);
        return rc == DIARIZE_OK ? copy_whole(dst, seg, number) : rc;
    }
    size_t from = 0;
    int current = TRANSCRIPT_NO_SPEAKER;
    for (size_t w = 0; rc == DIARIZE_OK && w <= seg->n_words; w++) {
        int label = TRANSCRIPT_NO_SPEAKER;
        if (w < seg->n_words && n)
            label = best_speaker(turns, n, seg->words[w].start, seg->words[w].end);
        if (w > 0 && (w == seg->n_words || label != current)) {
            rc = number_of(m, current, &number);
            if (rc == DIARIZE_OK)
                rc = add_part(dst, seg, from, w, number);
            from = w;
        }
        current = label;
    }
    return rc;
}

int diarize_align(const transcript *t, const diarize_turn *turns, size_t n_turns,
                  transcript **out, int *speaker_count, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (speaker_count)
        *speaker_count = 0;
    if (!t || !out)
        return util_errf(err, errlen, DIARIZE_ERR_INVALID, "transcript and out are required");
    int rc = check_turns(turns, n_turns, err, errlen);
    if (rc != DIARIZE_OK)
        return rc;
    numbering m = {NULL, 0, 0};
    transcript *dst = transcript_new();
    if (!dst) {
        rc = util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    memcpy(dst->language, t->language, sizeof dst->language);
    dst->duration = t->duration;
    dst->start_time = t->start_time;
    for (size_t i = 0; rc == DIARIZE_OK && i < t->n_segments; i++)
        rc = align_segment(dst, &t->segments[i], turns, n_turns, &m);
    if (rc != DIARIZE_OK) {
        util_errf(err, errlen, rc, "out of memory");
        goto cleanup;
    }
    if (speaker_count)
        *speaker_count = (int)m.n;
    *out = dst;
    dst = NULL;

cleanup:
    transcript_free(dst);
    free(m.labels);
    return rc;
}
