/* rttm: speaker turns written as RTTM, the NIST Rich Transcription Time
 * Marked format that diarization tools and scorers (our `cesar der`
 * included) exchange: one "SPEAKER" line per turn, in time order. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "diarize/diarize.h"
#include "util/util.h"

static int by_start(const void *a, const void *b)
{
    const diarize_turn *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->speaker - y->speaker;
}

/* RTTM fields are separated by whitespace, so a file id cannot hold any. */
static void put_file_id(util_buf *out, const char *id, int *rc)
{
    if (!id || !*id)
        id = "audio";
    for (const char *p = id; *rc == UTIL_OK && *p; p++)
        *rc = util_buf_putc(out, isspace((unsigned char)*p) ? '_' : *p);
}

int diarize_rttm_render(const diarize_turn *turns, size_t n, const char *file_id,
                        util_buf *out, char *err, size_t errlen)
{
    if (!out || (n > 0 && !turns))
        return util_errf(err, errlen, DIARIZE_ERR_INVALID, "turns and out are required");
    diarize_turn *sorted = n ? malloc(n * sizeof *sorted) : NULL;
    int *labels = n ? malloc(n * sizeof *labels) : NULL;
    size_t n_labels = 0, start_len = out->len;
    int rc = UTIL_OK;
    if (n && (!sorted || !labels)) {
        rc = UTIL_ERR_NOMEM;
        goto cleanup;
    }
    if (n) { /* memcpy and qsort take no NULL, even for zero items */
        memcpy(sorted, turns, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, by_start);
    }
    for (size_t i = 0; rc == UTIL_OK && i < n; i++) {
        /* speakers numbered by first appearance, as in transcripts */
        size_t k = 0;
        while (k < n_labels && labels[k] != sorted[i].speaker)
            k++;
        if (k == n_labels)
            labels[n_labels++] = sorted[i].speaker;
        rc = util_buf_puts(out, "SPEAKER ");
        put_file_id(out, file_id, &rc);
        if (rc == UTIL_OK)
            rc = util_buf_printf(out, " 1 %.3f %.3f <NA> <NA> speaker%zu <NA> <NA>\n",
                                 sorted[i].start, sorted[i].end - sorted[i].start, k + 1);
    }

cleanup:
    free(sorted);
    free(labels);
    if (rc != UTIL_OK) {
        out->len = start_len;
        if (out->data)
            out->data[start_len] = '\0';
        return util_errf(err, errlen, rc == UTIL_ERR_NOMEM ? DIARIZE_ERR_NOMEM : DIARIZE_ERR_INVALID,
                         "cannot render RTTM: %s", util_strerror(rc));
    }
    return DIARIZE_OK;
}
