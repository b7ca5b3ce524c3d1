/* toml internals: the cursor that every part of the parser moves through the
 * text, and the functions the files of the toml module share with each other.
 * Nothing here is public API; every name carries the toml__ prefix.
 *
 * Invariant: by the time a cursor is handed to the value or key parsers, the
 * whole input has been checked to be well-formed UTF-8, so they may copy
 * multi-byte sequences without looking inside them.
 */
#ifndef CESAR_TOML_INTERNAL_H
#define CESAR_TOML_INTERNAL_H

#include "toml/toml.h"

#include <stdbool.h>
#include <stddef.h>

/* Arrays may nest this deep; bounds the recursion on hostile input. */
#define TOML__MAX_DEPTH 32
/* Longest unquoted value (number, boolean) in bytes. */
#define TOML__MAX_TOKEN 256

typedef struct {
    const char *p;    /* next unread byte */
    const char *end;  /* one past the last byte */
    int line;         /* 1-based line of *p */
    const char *name; /* file name for messages ("NAME:N: ..."), or NULL ("line N: ...") */
    char *err;        /* caller-owned message buffer; may be NULL */
    size_t errlen;
} toml__cursor;

/* ---- cursor.c: messages and lexical helpers ---------------------------- */

/* Writes "line N: <message>" (or "NAME:N: <message>") and returns code. */
int toml__fail(const toml__cursor *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Describes what is at the cursor for "found X" messages: "'x'",
 * "end of line", "end of file", "control character U+0001". */
void toml__describe(const toml__cursor *c, char *buf, size_t n);
bool toml__is_control(unsigned char ch); /* TOML's forbidden raw controls (tab is allowed) */
void toml__skip_ws(toml__cursor *c);     /* spaces and tabs */
bool toml__at_newline(const toml__cursor *c); /* "\n" or "\r\n" at the cursor */
void toml__skip_newline(toml__cursor *c);     /* consumes one newline; counts the line */
int toml__skip_comment(toml__cursor *c);      /* from '#' up to (not including) the newline */
/* Skips whitespace, comments and newlines: the filler allowed inside arrays. */
int toml__skip_blank(toml__cursor *c);

/* ---- value.c: values and quoted strings -------------------------------- */

/* Parses one value at the cursor. On failure *out is left empty (safe to
 * clear). depth counts enclosing arrays. */
int toml__parse_value(toml__cursor *c, toml_value *out, int depth);
/* Parses a "basic" or 'literal' string at the cursor (used for quoted keys
 * too). Caller owns *out; free with free(). */
int toml__parse_quoted(toml__cursor *c, char **out);

/* ---- doc.c: ownership --------------------------------------------------- */

void toml__value_clear(toml_value *v); /* frees what v owns; leaves it empty */

/* ---- names.c: which keys and tables are defined ------------------------- */

typedef struct {
    char *name;  /* owned; NULL marks an empty slot */
    size_t len;
    int kind;    /* how the name was defined; see names.c */
    int line;    /* where */
} toml__name;

typedef struct {
    toml__name *slots; /* open-addressing hash table; capacity is a power of two */
    size_t cap;
    size_t n;
} toml__names;

/* Records a [header] table name, enforcing that no table is defined twice
 * and no table replaces a value. Messages name the line of the first
 * definition. */
int toml__define_table(toml__names *s, const toml__cursor *c, const char *name);
/* Records a key (full dotted name; its first table_len bytes are the current
 * table). Intermediate names become tables defined by dotted keys. */
int toml__define_key(toml__names *s, const toml__cursor *c, const char *key, size_t table_len);
void toml__names_free(toml__names *s);

/* ---- utf8.c ------------------------------------------------------------- */

/* Length (1-4) of the well-formed UTF-8 sequence at p, or 0 if there is none
 * (bad lead byte, truncated, overlong, surrogate, or above U+10FFFF). */
size_t toml__utf8_seq(const char *p, const char *end);
/* Encodes a Unicode scalar value; returns the number of bytes (1-4) written. */
size_t toml__utf8_encode(unsigned long cp, char out[4]);

/* ---- toml.c ------------------------------------------------------------- */

/* toml_parse with messages prefixed by name ("NAME:N:") instead of "line N:". */
int toml__parse_named(const char *text, size_t len, const char *name, toml_doc **out,
                      char *err, size_t errlen);

#endif
