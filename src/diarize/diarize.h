/* diarize: who spoke when. This header holds the diarization engine
 * interface (shaped like asr.h: an opaque handle, parameters with defaults,
 * a pull source of 16 kHz mono audio, progress and cancel), what every
 * engine produces — speaker turns — and how turns are laid onto a
 * transcript (alignment) or written as RTTM.
 *
 * Engines: "builtin" (needs no download: energy VAD, MFCC, BIC clustering,
 * GMM resegmentation) and "pyannote" (pyannote speaker-diarization-3.1's
 * networks and clustering in our own C, on the gated weights of
 * pyannote/segmentation-3.0 and pyannote/wespeaker-voxceleb-resnet34-LM,
 * fetched once from the Hugging Face hub with the user's token). An engine
 * handle is used by one thread at a time.
 *
 * Speaker indices in turns are the engine's own labels (0, 1, 2 ...; any
 * non-negative int). Alignment renumbers them in order of first appearance
 * in the transcript, so "Speaker 1" is whoever speaks first.
 *
 * Errors. Functions return a diarize_err and write a message into the
 * caller-owned buffer err (capacity errlen; may be NULL/0).
 */
#ifndef CESAR_DIARIZE_H
#define CESAR_DIARIZE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "transcript/transcript.h"
#include "util/util.h"

typedef enum {
    DIARIZE_OK = 0,
    DIARIZE_ERR_INVALID, /* bad argument: a turn with end < start, a negative speaker... */
    DIARIZE_ERR_NOMEM,
    DIARIZE_ERR_UNKNOWN_ENGINE, /* engine name not compiled in */
    DIARIZE_ERR_AUDIO,          /* the audio source reported an error */
    DIARIZE_ERR_FAILED,         /* the engine failed (message says why) */
    DIARIZE_ERR_CANCELLED,      /* the cancel flag was raised */
    /* pyannote: its weights are not installed and no Hugging Face token was
     * found to fetch them (API code hf_token_required) */
    DIARIZE_ERR_TOKEN_REQUIRED,
    /* pyannote: the hub refused the token (401: missing or invalid
     * credentials; 403: the models' conditions not accepted; API code
     * hf_token_invalid) */
    DIARIZE_ERR_TOKEN_INVALID,
} diarize_err;

/* The stable API code of a failed diarization: "hf_token_required",
 * "hf_token_invalid" or "diarization_failed" (static storage). */
const char *diarize_error_code(int code);

const char *diarize_strerror(int code);

/* One stretch of one speaker. Turns may overlap (two people at once). */
typedef struct {
    double start, end; /* seconds, source time (as transcript times) */
    int speaker;       /* >= 0, the engine's label */
} diarize_turn;

/* ---- engines ------------------------------------------------------------ */

/* Most speakers any count parameter may name. */
#define DIARIZE_MAX_SPEAKERS 32

/* fraction 0..1 of the whole diarization run (reading audio counts for the
 * first part, clustering for the rest). Called on the running thread. */
typedef void (*diarize_progress_cb)(double fraction, void *user_data);

typedef struct {
    const char *engine;  /* "builtin" (default); NULL/"" = default */
    /* Speaker count constraints. 0 = unset. num_speakers, when set, fixes
     * the count exactly and overrides min/max. Otherwise the engine chooses
     * a count in [min_speakers or 1, max_speakers or 8]. Each set value must
     * be 1..DIARIZE_MAX_SPEAKERS and min <= max. The builtin engine finds
     * at most one speaker per 1.5 s piece of speech, so a count above that
     * yields fewer speakers (never an error). */
    int min_speakers;
    int max_speakers;
    int num_speakers;
    int n_threads;       /* <= 0: engine default */
    /* builtin: the Silero VAD model file (ggml container) used to find
     * speech (the vad_model config key sets this); NULL/"" = the file named
     * at build time (CMake option CESAR_VAD_MODEL), if any; with none, or
     * with "none", speech is found by energy alone. A model that is named
     * but cannot be loaded is an error of diarize_open. Read by
     * diarize_open only (borrowed for the call). */
    const char *vad_model;
    /* pyannote: where its weights are (MODELS_DIR/pyannote/...; NULL/"" =
     * the default models directory under data_dir), the hub they are fetched
     * from when missing (NULL/"" = https://huggingface.co), whether an
     * http:// hub on loopback is allowed (tests), the configured token (the
     * config file's hf_token; NULL/"" = unset: HF_TOKEN, then
     * $HF_HOME/token are tried, when the run needs a token) and the step
     * between the starts of consecutive 10 s windows (<= 0: 1 s). All
     * borrowed; the engine reads them when it runs. */
    const char *models_dir;
    const char *data_dir;
    const char *hub_url;
    bool hub_allow_insecure;
    const char *hf_token;
    double step_seconds;
    /* pyannote: fast embeddings (one bfloat16 product per multiply on CPUs
     * with AMX: about twice as fast, about 1e-2 relative from float32)
     * instead of float32 accuracy (the default). */
    bool fast;
    diarize_progress_cb progress;
    void *progress_user_data;
    /* Polled often; when non-zero the run returns DIARIZE_ERR_CANCELLED
     * within about a second. Borrowed; may be NULL. */
    const atomic_int *cancel;
} diarize_params;

diarize_params diarize_default_params(void);

/* Checks p's speaker counts (and engine name) without opening anything;
 * the message names the parameter and the allowed range. */
int diarize_check_params(const diarize_params *p, char *err, size_t errlen);

/* The audio the engine pulls: 16 kHz mono float, same contract as
 * asr_read_fn (return 0 and *n_read = 0 at the end; non-zero = error
 * described in err). */
typedef int (*diarize_read_fn)(void *user_data, float *buf, size_t max, size_t *n_read,
                               char *err, size_t errlen);

typedef struct {
    diarize_read_fn read;
    void *user_data;
    double total_seconds; /* expected length, <= 0 when unknown (progress) */
    double time_offset;   /* added to every turn time (window start) */
} diarize_source;

/* What a run found. turns sorted by start; speakers are 0..n_speakers-1
 * in order of first appearance. Zero speakers (silence) is a valid result. */
typedef struct {
    diarize_turn *turns; /* owned; free with diarize_result_clear */
    size_t n_turns;
    int n_speakers;
    double audio_seconds;  /* audio read */
    double speech_seconds; /* audio judged to be speech */
    const char *vad;       /* how speech was found: "silero" or "energy" (static) */
} diarize_result;

void diarize_result_clear(diarize_result *r); /* NULL-safe; leaves r zeroed */

typedef struct diarize_engine diarize_engine;

/* On success *out is owned by the caller (close with diarize_close); params
 * is copied. Fails on bad params (DIARIZE_ERR_INVALID) or an unknown engine
 * (DIARIZE_ERR_UNKNOWN_ENGINE). */
int diarize_open(diarize_engine **out, const diarize_params *params, char *err,
                 size_t errlen);
void diarize_close(diarize_engine *e); /* NULL-safe */

/* Replaces the callbacks (progress, cancel and user data) and the speaker
 * constraints of an open engine with p's, so one engine serves many runs.
 * Checks p like diarize_check_params; on error e is unchanged. */
int diarize_set_params(diarize_engine *e, const diarize_params *p, char *err, size_t errlen);

/* Diarizes everything src yields into *out (zeroed first; on failure left
 * empty). Memory stays bounded by the audio's length in feature frames
 * (about 100 bytes per 10 ms), never by samples.
 *
 * Fault injection (for tests of the "transcript kept, speakers missing"
 * paths, as SQLite tests its error paths): when the environment variable
 * CESAR_FAULT_DIARIZE names a file that exists, the run fails with
 * DIARIZE_ERR_FAILED and a message saying so. */
int diarize_run(diarize_engine *e, const diarize_source *src, diarize_result *out, char *err,
                size_t errlen);

const char *diarize_engine_name(const diarize_engine *e);

/* Whether an engine can run, judged from files and settings only — the
 * network is never contacted (GET /health). */
typedef struct {
    bool available;         /* builtin: always; pyannote: weights installed, or a
                             * token found to fetch them at the first run */
    bool weights_installed; /* pyannote: both model files present; builtin: true */
    bool token;             /* pyannote: a Hugging Face token was found */
    char token_source[256]; /* "hf_token", "HF_TOKEN" or the token file; "" = none */
    char message[640];      /* what a run would do, or why it cannot */
} diarize_engine_status;

/* Fills *out for engine name with p's models_dir, data_dir and hf_token
 * (p may be NULL: defaults). DIARIZE_ERR_UNKNOWN_ENGINE for a name not
 * compiled in. Reads HF_TOKEN and the token file, never the token into any
 * field. */
int diarize_engine_status_get(const char *name, const diarize_params *p,
                              diarize_engine_status *out);

/* The engines compiled in, NULL-terminated; borrowed static storage. */
const char *const *diarize_engine_names(void);
bool diarize_engine_known(const char *name);
/* The engines' names joined with ", " into buf (capacity n), for messages. */
void diarize_engine_list(char *buf, size_t n);

/* ---- alignment and output ------------------------------------------------- */

/* Lays turns onto t and returns the result as a new transcript (*out, owned
 * by the caller; free with transcript_free). t is not changed.
 *
 * Rules:
 *  - each word takes the speaker whose turns overlap it the longest; a word
 *    no turn overlaps takes the speaker of the nearest turn;
 *  - a segment is split where the speaker changes between its words (the
 *    parts' text is their words joined by single spaces);
 *  - a segment without word timings takes the speaker overlapping it the
 *    longest (nearest turn if none);
 *  - speakers are renumbered 0, 1, 2 ... in order of first appearance;
 *  - with no turns at all every speaker stays TRANSCRIPT_NO_SPEAKER.
 * *speaker_count (may be NULL) receives the number of distinct speakers in
 * the result; an unknown speaker is never counted. Ties (equal overlap or
 * equal distance) go to the earlier turn. */
int diarize_align(const transcript *t, const diarize_turn *turns, size_t n_turns,
                  transcript **out, int *speaker_count, char *err, size_t errlen);

/* Appends turns to out as RTTM "SPEAKER" lines, sorted by start, with
 * speakers named speaker1, speaker2 ... in order of first appearance and
 * file_id (whitespace replaced by '_'; NULL/"" = "audio") as the file.
 * Times have millisecond precision. On failure out is left as it was. */
int diarize_rttm_render(const diarize_turn *turns, size_t n, const char *file_id,
                        util_buf *out, char *err, size_t errlen);

#endif
