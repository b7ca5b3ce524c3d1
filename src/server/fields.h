/* fields: the job options a client may send (form fields of POST /transcribe,
 * JSON members of POST /transcribe/url), collected and then checked against
 * what this server can do. Not a public header: only src/server/ uses it.
 *
 * Pure apart from reading the server's defaults and the engine tables: no
 * client value ever becomes a path (a model is a name from the engine's list;
 * only the operator's configured default may be a path). */
#ifndef CESAR_SERVER_FIELDS_H
#define CESAR_SERVER_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct server server;

enum {
    SERVER__F_MODEL = 0,
    SERVER__F_ENGINE,
    SERVER__F_LANGUAGE,
    SERVER__F_FORMAT,
    SERVER__F_DIARIZE,
    SERVER__F_MIN_SPEAKERS,
    SERVER__F_MAX_SPEAKERS,
    SERVER__F_DIARIZATION_ENGINE,
    SERVER__F_COUNT
};

typedef struct {
    char value[SERVER__F_COUNT][1025];
    size_t len[SERVER__F_COUNT];
    bool seen[SERVER__F_COUNT];
} server__form;

/* Resolved options; strings are borrowed from the form, the server or static
 * tables, valid while both live. */
typedef struct {
    const char *engine;
    const char *model;    /* NULL = engine default */
    const char *language; /* NULL = engine default */
    const char *format;
    bool diarize;
    int min_speakers; /* 0 = unset */
    int max_speakers;
    const char *diarization_engine; /* "builtin" or "pyannote" */
} server__job_fields;

void server__form_init(server__form *f);

/* Adds a piece (data, size at offset off) of field key. Non-zero with a
 * message in why for an unknown field, a field given twice or a value over
 * 1024 bytes. */
int server__form_add(server__form *f, const char *key, const char *data, uint64_t off,
                     size_t size, char *why, size_t n);

/* Checks every given value and fills out with them or the server's defaults.
 * Non-zero with the field's name in field and a message naming the value and
 * the allowed ones in why. */
int server__form_resolve(const server *s, const server__form *f, server__job_fields *out,
                         char *field, size_t field_n, char *why, size_t n);

/* Why a request may never carry key, or NULL when it may: hf_token is the
 * server's own secret (its configuration, HF_TOKEN or $HF_HOME/token), never
 * a client's. The message never repeats the value. */
const char *server__refused_field(const char *key);

/* The names accepted, in order, for messages: "file, model, ...". */
const char *server__form_names(void);

/* Whether a speaker diarization engine exists in this build. */
bool server__diarization_available(void);

#endif
