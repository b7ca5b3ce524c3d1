/* pyannote_internal: what the pyannote engine's files share inside the
 * diarize module — its loaded networks and how they are found or fetched.
 * Names carry the diarize__ prefix; nothing here is public. */
#ifndef CESAR_DIARIZE_PYANNOTE_INTERNAL_H
#define CESAR_DIARIZE_PYANNOTE_INTERNAL_H

#include <stddef.h>

#include "diarize/diarize.h"
#include "pyannote/pyannote.h"

typedef struct {
    pyannote_segmenter *segmenter; /* owned */
    pyannote_embedder *embedder;   /* owned */
    char dir[4096];                /* the models directory they came from */
    bool fast;                     /* the embedder's precision (diarize_params.fast) */
} diarize__pyannote_models;

/* Loads the two networks from the models directory p names, fetching them
 * from the hub first when they are missing (with the token p->hf_token,
 * else HF_TOKEN, else $HF_HOME/token). Kept loaded across runs while the
 * directory stays the same. Errors: DIARIZE_ERR_TOKEN_REQUIRED (missing
 * weights, no token: the message says how to get one),
 * DIARIZE_ERR_TOKEN_INVALID (the hub answered 401 or 403: the message says
 * which), DIARIZE_ERR_CANCELLED, DIARIZE_ERR_FAILED (network, a corrupt
 * file: the message names it). */
int diarize__pyannote_models_ensure(diarize__pyannote_models *m, const diarize_params *p,
                                    char *err, size_t errlen);

void diarize__pyannote_models_clear(diarize__pyannote_models *m); /* leaves m zeroed */

/* diarize_engine_status_get for the pyannote engine. */
void diarize__pyannote_status(const diarize_params *p, diarize_engine_status *out);

#endif
