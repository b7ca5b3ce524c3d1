/* transcript: storage for timed segments and words. Arrays grow by doubling;
 * every string is copied in, so callers keep ownership of what they pass. */
#include "transcript/transcript.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

const char *transcript_strerror(int code)
{
    switch (code) {
    case TRANSCRIPT_OK: return "ok";
    case TRANSCRIPT_ERR_NOMEM: return "out of memory";
    case TRANSCRIPT_ERR_INVALID: return "invalid segment or word";
    default: return "unknown error";
    }
}

transcript *transcript_new(void)
{
    return calloc(1, sizeof(transcript));
}

void transcript_free(transcript *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_segments; i++) {
        transcript_segment *s = &t->segments[i];
        for (size_t w = 0; w < s->n_words; w++)
            free(s->words[w].text);
        free(s->words);
        free(s->text);
    }
    free(t->segments);
    free(t);
}

int transcript_add_segment(transcript *t, double start, double end,
                           const char *text, size_t *index)
{
    if (!t || !text || end < start)
        return TRANSCRIPT_ERR_INVALID;
    transcript_segment *grown =
        util_array_reserve(t->segments, &t->segments_alloc, t->n_segments, sizeof *grown);
    if (!grown)
        return TRANSCRIPT_ERR_NOMEM;
    t->segments = grown;
    char *copy = strdup(text);
    if (!copy)
        return TRANSCRIPT_ERR_NOMEM;
    transcript_segment *s = &t->segments[t->n_segments];
    memset(s, 0, sizeof *s);
    s->start = start;
    s->end = end;
    s->text = copy;
    s->speaker = TRANSCRIPT_NO_SPEAKER;
    if (index)
        *index = t->n_segments;
    t->n_segments++;
    return TRANSCRIPT_OK;
}

int transcript_add_word(transcript *t, size_t seg, double start, double end,
                        const char *text, float confidence)
{
    if (!t || seg >= t->n_segments || !text || end < start)
        return TRANSCRIPT_ERR_INVALID;
    transcript_segment *s = &t->segments[seg];
    transcript_word *grown = util_array_reserve(s->words, &s->words_alloc, s->n_words,
                                                sizeof *grown);
    if (!grown)
        return TRANSCRIPT_ERR_NOMEM;
    s->words = grown;
    char *copy = strdup(text);
    if (!copy)
        return TRANSCRIPT_ERR_NOMEM;
    transcript_word *w = &s->words[s->n_words++];
    w->start = start;
    w->end = end;
    w->text = copy;
    w->confidence = confidence;
    w->speaker = TRANSCRIPT_NO_SPEAKER;
    return TRANSCRIPT_OK;
}

size_t transcript_word_count(const transcript *t)
{
    size_t n = 0;
    for (size_t i = 0; t && i < t->n_segments; i++)
        n += t->segments[i].n_words;
    return n;
}
