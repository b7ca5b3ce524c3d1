/* eval_text: internals shared by the RTTM and UEM readers — reading a file
 * into memory with a size cap, walking lines, splitting white-space fields
 * and reading a time in seconds with a "name:line: ..." message. Not part of
 * the public API (the eval__ prefix says so).
 */
#ifndef CESAR_EVAL_TEXT_H
#define CESAR_EVAL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A field: a borrowed span of the input text, not NUL-terminated. */
typedef struct {
    const char *p;
    size_t n;
} eval__field;

/* Reads path whole into *data (NUL-terminated; caller owns it, free with
 * free()) and its length into *len. Fails with EVAL_ERR_IO, naming the path,
 * when it cannot be read or is larger than cap bytes. */
int eval__read_file(const char *path, size_t cap, char **data, size_t *len, char *err,
                    size_t errlen);

/* Next line of text[0..len) starting at *pos: sets *line and *line_len (without
 * the newline or a trailing '\r'), advances *pos. False at the end. */
bool eval__next_line(const char *text, size_t len, size_t *pos, const char **line,
                     size_t *line_len);

/* Splits a line at white space into at most max fields; returns how many
 * fields the line has in all (which may exceed max). */
size_t eval__split(const char *line, size_t len, eval__field *fields, size_t max);

/* True for the lines both formats skip: blank, ";;" or "#" comments. */
bool eval__is_comment(const eval__field *fields, size_t n_fields);

/* True when f equals the NUL-terminated word s. */
bool eval__field_is(eval__field f, const char *s);

/* Reads f as seconds: a finite, non-negative number. On failure returns
 * EVAL_ERR_PARSE with "name:line: what 'text' is not a number" (or "is
 * negative", "is not finite") in err. */
int eval__parse_seconds(eval__field f, const char *name, size_t line_no, const char *what,
                        double *out, char *err, size_t errlen);

/* A NUL-terminated copy of f, or NULL when out of memory. */
char *eval__field_dup(eval__field f);

#endif
