/* toml: a small, strict parser for the subset of TOML 1.0 Cesar's
 * configuration uses: [tables] (dotted names allowed), bare and quoted keys,
 * basic "strings" with escapes, 'literal strings', integers (decimal, with _
 * separators; also 0x/0o/0b), floats (inf and nan too), booleans, and arrays
 * of those (which may span lines and nest up to 32 deep). Anything outside
 * the subset — and anything invalid — is an error naming the line. Quoted
 * keys may not be empty or contain '.' or control characters, which the
 * flat dotted names below could not represent unambiguously.
 *
 * The parser reads a bounded input (TOML_MAX_INPUT) and produces a flat list
 * of dotted keys ("server.port") in file order, which config validates.
 */
#ifndef CESAR_TOML_H
#define CESAR_TOML_H

#include <stdbool.h>
#include <stddef.h>

#define TOML_MAX_INPUT (1024 * 1024) /* bytes */
#define TOML_MAX_KEY 256             /* bytes in a dotted key */

typedef enum {
    TOML_OK = 0,
    TOML_ERR_SYNTAX,  /* message: "line N: ..." */
    TOML_ERR_DUPLICATE, /* a key or table defined twice */
    TOML_ERR_TOO_LARGE, /* input over TOML_MAX_INPUT, key over TOML_MAX_KEY,
                           arrays nested too deeply, an over-long number */
    TOML_ERR_NOMEM,
    TOML_ERR_IO,
} toml_err;

const char *toml_strerror(int code);

typedef enum {
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOL,
    TOML_ARRAY,
} toml_type;

typedef struct toml_value toml_value;
struct toml_value {
    toml_type type;
    union {
        char *s;        /* TOML_STRING: UTF-8, NUL-terminated (no embedded NUL) */
        long long i;    /* TOML_INTEGER */
        double f;       /* TOML_FLOAT */
        bool b;         /* TOML_BOOL */
        struct {
            toml_value *items;
            size_t n;
        } a;            /* TOML_ARRAY */
    } u;
};

typedef struct {
    char *key;     /* full dotted key, e.g. "server.port"; quoted parts unquoted */
    int line;      /* 1-based line of the definition */
    toml_value value;
} toml_entry;

typedef struct {
    char *name; /* dotted table name of a [header], quoted parts unquoted */
    int line;   /* 1-based line of the header */
} toml_table;

typedef struct {
    toml_entry *entries; /* in file order */
    size_t n;
    toml_table *tables;  /* every [header], in file order (empty ones too) */
    size_t n_tables;
} toml_doc;

/* Parses text (len bytes, need not be NUL-terminated). On success *out is
 * owned by the caller (free with toml_free); on failure *out is NULL and err
 * holds "line N: what was wrong". */
int toml_parse(const char *text, size_t len, toml_doc **out, char *err, size_t errlen);

/* Reads and parses a file. Messages read "PATH:N: what was wrong" for errors
 * in the text, and "PATH: reason" when the file cannot be read
 * (TOML_ERR_IO: missing, unreadable, a directory) or is larger than
 * TOML_MAX_INPUT (TOML_ERR_TOO_LARGE). */
int toml_parse_file(const char *path, toml_doc **out, char *err, size_t errlen);

void toml_free(toml_doc *doc); /* NULL-safe */

/* Looks up a dotted key; NULL if absent. Borrowed, valid until toml_free. */
const toml_entry *toml_find(const toml_doc *doc, const char *key);

const char *toml_type_name(toml_type t); /* "string", "integer", ... */

/* True when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF) — the rule TOML text must follow. Lets config
 * hold values from the environment and flags to the same standard. */
bool toml_utf8_valid(const char *s, size_t len);

#endif
