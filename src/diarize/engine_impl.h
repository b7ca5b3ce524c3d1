/* engine_impl: the vtable every diarization engine implements. Internal to
 * the diarize module: engine.c owns the public handle, checks parameters,
 * handles fault injection and cancellation before and after a run; engines
 * pull audio and produce turns.
 */
#ifndef CESAR_DIARIZE_ENGINE_IMPL_H
#define CESAR_DIARIZE_ENGINE_IMPL_H

#include <stddef.h>

#include "diarize/diarize.h"

typedef struct diarize_engine_impl {
    const char *name;
    int (*open)(void **state, const diarize_params *p, char *err, size_t errlen);
    /* Runs on src with p's constraints (already checked) and callbacks.
     * out is zeroed; the engine fills turns (any order, any labels >= 0);
     * engine.c sorts and renumbers them afterwards. */
    int (*run)(void *state, const diarize_params *p, const diarize_source *src,
               diarize_result *out, char *err, size_t errlen);
    void (*close)(void *state); /* NULL-safe */
    /* diarize_engine_status_get for this engine (out zeroed); NULL = needs
     * nothing, always available. */
    void (*status)(const diarize_params *p, diarize_engine_status *out);
} diarize_engine_impl;

extern const diarize_engine_impl diarize__engine_builtin;
extern const diarize_engine_impl diarize__engine_pyannote;

#endif
