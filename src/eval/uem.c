/* uem: reader for NIST UEM files, which list per recording the time
 * ranges that are to be scored ("file-id channel start end"). Used by the
 * diarization error rate to leave out parts of a recording the reference
 * does not annotate.
 *
 * Invariant of the result: every segment has 0 <= start <= end, finite.
 */
#include <stdlib.h>

#include "eval/eval.h"
#include "eval/eval_text.h"
#include "util/util.h"

#define UEM_FIELDS 4

void eval_uem_free(eval_uem *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n_segments; i++)
        free(u->segments[i].file_id);
    free(u->segments);
    free(u);
}

/* Checks one line (fields already split) and appends its segment. */
static int parse_segment(eval_uem *u, size_t *alloc, const eval__field *fl, size_t n,
                         const char *name, size_t line_no, char *err, size_t errlen)
{
    if (n < UEM_FIELDS)
        return util_errf(err, errlen, EVAL_ERR_PARSE,
                         "%s:%zu: UEM line has %zu fields, expected %d (file channel start end)",
                         name, line_no, n, UEM_FIELDS);
    double start = 0, end = 0;
    int rc = eval__parse_seconds(fl[2], name, line_no, "start", &start, err, errlen);
    if (rc == EVAL_OK)
        rc = eval__parse_seconds(fl[3], name, line_no, "end", &end, err, errlen);
    if (rc != EVAL_OK)
        return rc;
    if (end < start)
        return util_errf(err, errlen, EVAL_ERR_PARSE, "%s:%zu: end %g is before start %g", name,
                         line_no, end, start);
    eval_uem_segment *grown = util_array_reserve(u->segments, alloc, u->n_segments,
                                                 sizeof *grown);
    if (!grown)
        return util_errf(err, errlen, EVAL_ERR_NOMEM, "%s:%zu: out of memory", name, line_no);
    u->segments = grown;
    char *id = eval__field_dup(fl[0]);
    if (!id)
        return util_errf(err, errlen, EVAL_ERR_NOMEM, "%s:%zu: out of memory", name, line_no);
    u->segments[u->n_segments++] = (eval_uem_segment){id, start, end};
    return EVAL_OK;
}

int eval_uem_parse(const char *text, size_t len, const char *name_for_messages,
                   eval_uem **out, char *err, size_t errlen)
{
    const char *name = name_for_messages ? name_for_messages : "uem";
    eval_uem *u = NULL;
    size_t alloc = 0;
    int rc = EVAL_OK;
    if (out)
        *out = NULL;
    if (!out || (!text && len > 0)) {
        rc = util_errf(err, errlen, EVAL_ERR_INVALID, "eval_uem_parse: invalid argument");
        goto cleanup;
    }
    if (!(u = calloc(1, sizeof *u))) {
        rc = util_errf(err, errlen, EVAL_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    size_t pos = 0, line_no = 0, line_len = 0;
    const char *line = NULL;
    while (eval__next_line(text, len, &pos, &line, &line_len)) {
        line_no++;
        eval__field fl[UEM_FIELDS];
        size_t n = eval__split(line, line_len, fl, UEM_FIELDS);
        if (eval__is_comment(fl, n))
            continue;
        rc = parse_segment(u, &alloc, fl, n, name, line_no, err, errlen);
        if (rc != EVAL_OK)
            goto cleanup;
    }
    *out = u;
    u = NULL;

cleanup:
    eval_uem_free(u);
    return rc;
}

int eval_uem_read(const char *path, eval_uem **out, char *err, size_t errlen)
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
    rc = eval_uem_parse(data, len, path, out, err, errlen);
cleanup:
    free(data);
    return rc;
}
