/* rttm: reader for NIST RTTM files, the speaker-turn format diarization
 * references and system outputs are exchanged in. Only SPEAKER records
 * matter for the diarization error rate; the other record types are skipped
 * rather than rejected so annotated references (SPKR-INFO, LEXEME, ...) can
 * be used as they are.
 *
 * Invariant of the result: every kept turn has onset >= 0 and offset >
 * onset, both finite, and its speaker index is valid for its file.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "eval/eval_text.h"
#include "util/util.h"

/* SPEAKER type, file, channel, onset, duration, ortho, stype, name: the
 * fields up to the speaker name are the ones a turn needs. */
#define RTTM_MIN_FIELDS 8
#define RTTM_MAX_FIELDS 10

void eval_rttm_free(eval_rttm *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_files; i++) {
        eval_rttm_file *f = &r->files[i];
        free(f->id);
        for (size_t s = 0; s < f->n_speakers; s++)
            free(f->speakers[s]);
        free(f->speakers);
        free(f->turns);
    }
    free(r->files);
    free(r);
}

/* Index of the file with this id, adding it when new; SIZE_MAX when out of
 * memory. RTTM files are usually sorted by recording, so the last file is
 * checked first. */
static size_t file_index(eval_rttm *r, size_t *alloc, eval__field id)
{
    if (r->n_files > 0 && eval__field_is(id, r->files[r->n_files - 1].id))
        return r->n_files - 1;
    for (size_t i = 0; i < r->n_files; i++)
        if (eval__field_is(id, r->files[i].id))
            return i;
    eval_rttm_file *grown = util_array_reserve(r->files, alloc, r->n_files, sizeof *grown);
    if (!grown)
        return SIZE_MAX;
    r->files = grown;
    char *copy = eval__field_dup(id);
    if (!copy)
        return SIZE_MAX;
    r->files[r->n_files] = (eval_rttm_file){copy, NULL, 0, NULL, 0};
    return r->n_files++;
}

/* Index of the speaker in f, adding it when new; SIZE_MAX when out of
 * memory. A file has few speakers, so a linear search is enough. The
 * array grows by one at a time for the same reason. */
static size_t speaker_index(eval_rttm_file *f, eval__field name)
{
    for (size_t i = 0; i < f->n_speakers; i++)
        if (eval__field_is(name, f->speakers[i]))
            return i;
    char **grown = realloc(f->speakers, (f->n_speakers + 1) * sizeof *grown);
    if (!grown)
        return SIZE_MAX;
    f->speakers = grown;
    if (!(f->speakers[f->n_speakers] = eval__field_dup(name)))
        return SIZE_MAX;
    return f->n_speakers++;
}

/* Per-file turn capacities live beside the result, not in the public struct. */
typedef struct {
    eval_rttm *r;
    size_t files_alloc;
    size_t *turns_alloc; /* one per file, parallel to r->files */
    size_t turns_alloc_len;
} builder;

static int add_turn(builder *b, eval__field file, eval__field speaker, double onset,
                    double offset)
{
    size_t fi = file_index(b->r, &b->files_alloc, file);
    if (fi == SIZE_MAX)
        return EVAL_ERR_NOMEM;
    if (fi >= b->turns_alloc_len) {
        size_t *grown = realloc(b->turns_alloc, b->files_alloc * sizeof *grown);
        if (!grown)
            return EVAL_ERR_NOMEM;
        for (size_t i = b->turns_alloc_len; i < b->files_alloc; i++)
            grown[i] = 0;
        b->turns_alloc = grown;
        b->turns_alloc_len = b->files_alloc;
    }
    eval_rttm_file *f = &b->r->files[fi];
    size_t si = speaker_index(f, speaker);
    if (si == SIZE_MAX)
        return EVAL_ERR_NOMEM;
    eval_turn *turns = util_array_reserve(f->turns, &b->turns_alloc[fi], f->n_turns,
                                          sizeof *turns);
    if (!turns)
        return EVAL_ERR_NOMEM;
    f->turns = turns;
    f->turns[f->n_turns++] = (eval_turn){onset, offset, si};
    return EVAL_OK;
}

/* Checks and adds one SPEAKER record (fields already split). */
static int parse_speaker(builder *b, const eval__field *fl, size_t n, const char *name,
                         size_t line_no, char *err, size_t errlen)
{
    if (n < RTTM_MIN_FIELDS)
        return util_errf(err, errlen, EVAL_ERR_PARSE,
                         "%s:%zu: SPEAKER line has %zu fields, expected at least %d "
                         "(SPEAKER file channel onset duration <NA> <NA> speaker)",
                         name, line_no, n, RTTM_MIN_FIELDS);
    double onset = 0, duration = 0;
    int rc = eval__parse_seconds(fl[3], name, line_no, "onset", &onset, err, errlen);
    if (rc == EVAL_OK)
        rc = eval__parse_seconds(fl[4], name, line_no, "duration", &duration, err, errlen);
    if (rc != EVAL_OK)
        return rc;
    double offset = onset + duration;
    if (!isfinite(offset)) /* two huge finite numbers can sum to infinity */
        return util_errf(err, errlen, EVAL_ERR_PARSE, "%s:%zu: turn end is not finite", name,
                         line_no);
    if (offset <= onset) /* zero-length turns carry no speech */
        return EVAL_OK;
    rc = add_turn(b, fl[1], fl[7], onset, offset);
    if (rc == EVAL_ERR_NOMEM)
        util_errf(err, errlen, rc, "%s:%zu: out of memory", name, line_no);
    return rc;
}

int eval_rttm_parse(const char *text, size_t len, const char *name_for_messages,
                    eval_rttm **out, char *err, size_t errlen)
{
    const char *name = name_for_messages ? name_for_messages : "rttm";
    builder b = {NULL, 0, NULL, 0};
    int rc = EVAL_OK;
    if (out)
        *out = NULL;
    if (!out || (!text && len > 0)) {
        rc = util_errf(err, errlen, EVAL_ERR_INVALID, "eval_rttm_parse: invalid argument");
        goto cleanup;
    }
    if (!(b.r = calloc(1, sizeof *b.r))) {
        rc = util_errf(err, errlen, EVAL_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    size_t pos = 0, line_no = 0, line_len = 0;
    const char *line = NULL;
    while (eval__next_line(text, len, &pos, &line, &line_len)) {
        line_no++;
        eval__field fl[RTTM_MAX_FIELDS];
        size_t n = eval__split(line, line_len, fl, RTTM_MAX_FIELDS);
        if (eval__is_comment(fl, n) || !eval__field_is(fl[0], "SPEAKER"))
            continue;
        rc = parse_speaker(&b, fl, n, name, line_no, err, errlen);
        if (rc != EVAL_OK)
            goto cleanup;
    }
    *out = b.r;
    b.r = NULL;

cleanup:
    eval_rttm_free(b.r);
    free(b.turns_alloc);
    return rc;
}

int eval_rttm_read(const char *path, eval_rttm **out, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    int rc = EVAL_OK;
    if (out)
        *out = NULL;
    if (!path || !out) {
        rc = util_errf(err, errlen, EVAL_ERR_INVALID, "%s: invalid argument", __func__);
        goto cleanup;
    }
    rc = eval__read_file(path, EVAL_MAX_FILE_BYTES, &data, &len, err, errlen);
    if (rc != EVAL_OK)
        goto cleanup;
    rc = eval_rttm_parse(data, len, path, out, err, errlen);
cleanup:
    free(data);
    return rc;
}
