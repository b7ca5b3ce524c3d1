/* asr_engine_impl: the vtable every ASR engine implements. Internal to the asr
 * module: asr.c owns the registry and the public handle, engines only see
 * their own state.
 *
 * Division of work: asr.c validates and copies the params, creates the
 * transcript (language, start_time filled in), frees it when the engine
 * fails, and reports the final progress(1.0). The engine loads its model,
 * pulls audio, fills segments and sets t->duration.
 */
#ifndef CESAR_ASR_ENGINE_IMPL_H
#define CESAR_ASR_ENGINE_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "asr/asr.h"

typedef struct asr_engine_impl {
    const char *name;
    /* Facts the API reports without loading anything (GET /health, input
     * checks). Static storage; lists are NULL-terminated. default_model is
     * what an empty asr_params.model selects and appears in models, the
     * names a client may request; languages are the ISO 639-1 codes the
     * engine transcribes ("auto" is left to callers). */
    const char *default_model;
    const char *const *models;
    const char *const *languages;
    /* Whether model's files (NULL: the default model's) are on disk,
     * cheaply (no loading), named models looked up in models_dir (may be
     * NULL); when not, err says which file or directory is missing. */
    bool (*available)(const char *models_dir, const char *model, char *err, size_t errlen);
    /* Loads the model named by p->model for p->language. On success *state
     * is the engine's own object (freed by close). p and its strings are
     * owned by the asr_engine and outlive the state. */
    int (*open)(void **state, const asr_params *p, char *err, size_t errlen);
    /* Decodes everything src yields into t (which is empty). */
    int (*transcribe)(void *state, const asr_source *src, transcript *t, char *err, size_t errlen);
    void (*close)(void *state); /* NULL-safe */
    /* Resolved names, borrowed from the state. */
    const char *(*model_name)(const void *state);
    const char *(*language)(const void *state);
} asr_engine_impl;

/* The engines compiled in (engine_*.c). */
extern const asr_engine_impl asr__engine_pocketsphinx;
extern const asr_engine_impl asr__engine_whisper;

/* Sends a formatted message to p->log when one is set. */
void asr__log(const asr_params *p, asr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
