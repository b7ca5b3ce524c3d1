/* asr: the speech-recognition engine interface. An engine pulls 16 kHz mono
 * float audio from a caller-supplied source and produces a transcript of
 * timed segments with word timings.
 *
 * Engines live behind a small vtable (asr_engine_impl.h); this header is all
 * the pipeline, CLI and server see. Thread use: an engine handle is used by
 * one thread at a time; open one per worker.
 */
#ifndef CESAR_ASR_H
#define CESAR_ASR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "transcript/transcript.h"

typedef enum {
    ASR_OK = 0,
    ASR_ERR_INVALID_ARG,     /* bad parameter; message names it */
    ASR_ERR_UNKNOWN_ENGINE,  /* engine name not compiled in */
    ASR_ERR_MODEL,           /* model missing or unreadable */
    ASR_ERR_LANGUAGE,        /* the model cannot do the requested language */
    ASR_ERR_AUDIO,           /* the audio source reported an error */
    ASR_ERR_DECODE,          /* the engine failed while decoding */
    ASR_ERR_NOMEM,
    ASR_ERR_CANCELLED,       /* the cancel flag was raised */
} asr_err;

const char *asr_strerror(int code);

/* Log levels for asr_params.log. */
typedef enum { ASR_LOG_DEBUG, ASR_LOG_INFO, ASR_LOG_WARN, ASR_LOG_ERROR } asr_log_level;

/* Called on the thread running asr_transcribe. */
typedef void (*asr_log_cb)(asr_log_level level, const char *message, void *user_data);

/* fraction: 0..1 of the audio processed (only meaningful when the source
 * knows its total duration; otherwise seconds_done still advances).
 * Called on the thread running asr_transcribe, at most every ~0.1 s of audio. */
typedef void (*asr_progress_cb)(double fraction, double seconds_done, void *user_data);

typedef struct {
    const char *engine;   /* "auto" (default): "whisper" when its model file is
                           * present (see asr_engine_resolve), otherwise
                           * "pocketsphinx"; or "whisper" / "pocketsphinx" */
    const char *model;    /* engine-specific name or path; NULL/"" = default.
                           * pocketsphinx: a name ("en-us", the default) next
                           * to CESAR_PS_MODELDIR, or a directory path (with a
                           * '/') D holding D/B/, D/B.lm.bin and
                           * cmudict-B.dict (or B.dict), B = D's base name */
                          /* whisper: a catalog name ("base", the default;
                           * models_dir/ggml-NAME.bin) or a path to a ggml file */
    const char *models_dir; /* where named Whisper models live; NULL = none */
    const char *language; /* ISO 639-1 or "auto"; NULL/"" = engine default */
    /* Whisper only (other engines ignore them). */
    const char *task;     /* "transcribe" (default) or "translate" (to English) */
    int beam_size;        /* 5; 1 = greedy */
    const char *initial_prompt;      /* text that conditions the first window; NULL = none */
    bool condition_on_previous_text; /* true: each window sees the text before it */
    bool temperature_fallback;       /* true: a failed window is decoded again at
                                      * temperatures 0.2 … 1.0; false: 0 only */
    int n_threads;        /* <= 0: engine default */
    /* Segmentation of word streams: a pause at least this long (seconds)
     * between words starts a new segment, and no segment grows longer than
     * max_segment_seconds. */
    double split_pause_seconds;
    double max_segment_seconds;
    asr_progress_cb progress;
    void *progress_user_data;
    asr_log_cb log;
    void *log_user_data;
    /* Polled between chunks; when it becomes non-zero asr_transcribe returns
     * ASR_ERR_CANCELLED within about a second. Borrowed; may be NULL. */
    const atomic_int *cancel;
    /* Whisper only: skip long silences, found by the Silero VAD, before
     * decoding (times still refer to the original audio). false (default)
     * = decode everything. */
    bool vad_filter;
    /* The Silero VAD v6.2 ggml file for vad_filter; NULL/"" = the build's
     * default (CESAR_VAD_MODEL_DEFAULT). A missing or broken file is
     * ASR_ERR_MODEL at asr_open when vad_filter is on. */
    const char *vad_model;
} asr_params;

asr_params asr_default_params(void);

/* The audio the engine pulls. read returns 0 (an AUDIO_* code is fine) and sets
 * *n_read = 0 at the end; a non-zero return is an error described in err. */
typedef int (*asr_read_fn)(void *user_data, float *buf, size_t max, size_t *n_read,
                           char *err, size_t errlen);

typedef struct {
    asr_read_fn read;
    void *user_data;
    double total_seconds; /* expected length, <= 0 when unknown (progress) */
    double time_offset;   /* added to every timestamp (window start) */
} asr_source;

typedef struct asr_engine asr_engine;

/* Loads the engine's model. On success *out is owned by the caller (close
 * with asr_close); on failure *out is NULL and err says why. params is
 * copied, strings included. */
int asr_open(asr_engine **out, const asr_params *params, char *err, size_t errlen);
void asr_close(asr_engine *e); /* NULL-safe */

/* Replaces the callbacks of an open engine with p's (progress, log, cancel
 * and their user data; the rest of p is ignored), so that one loaded model
 * serves many runs, each reporting to its own caller. Not while
 * asr_transcribe runs on e. NULL p clears them. */
void asr_set_callbacks(asr_engine *e, const asr_params *p);

/* Transcribes everything src yields. An engine may transcribe many sources
 * one after another; each starts from the model's initial state. On success *out is a transcript the
 * caller owns (free with transcript_free); on failure *out is NULL. */
int asr_transcribe(asr_engine *e, const asr_source *src, transcript **out,
                   char *err, size_t errlen);

/* Names for reports: engine ("pocketsphinx"), resolved model ("en-us" or a
 * path) and language. Borrowed, valid until asr_close. */
const char *asr_engine_name(const asr_engine *e);
const char *asr_model_name(const asr_engine *e);
const char *asr_language(const asr_engine *e);

/* The engines compiled in, NULL-terminated; borrowed static storage. */
const char *const *asr_engine_names(void);
bool asr_engine_known(const char *name);

/* ---- engine facts (for the API: GET /health, checking job options) ----- */
/* Each takes an engine name as asr_engine_names lists it; a NULL, empty or
 * unknown name gives NULL (false). Results are borrowed static storage.
 * Nothing here loads a model. */

/* The engine "auto" (or NULL/"") stands for: "whisper" when model (NULL =
 * Whisper's default) resolves to a ggml file that exists, otherwise
 * "pocketsphinx". Any other name is returned unchanged (unknown ones too).
 * When auto falls back, note (may be NULL/0) says why and how to get the
 * model; otherwise it is emptied. Static storage. */
const char *asr_engine_resolve(const char *engine, const char *models_dir, const char *model,
                               char *note, size_t notelen);

/* The model an empty asr_params.model selects: "en-us" for pocketsphinx. */
const char *asr_engine_default_model(const char *engine);
/* The model names a client may request, NULL-terminated; the default model
 * is among them. pocketsphinx: {"en-us"}. (asr_params.model also takes
 * engine-specific paths; those are for local configuration, not clients.) */
const char *const *asr_engine_models(const char *engine);
/* The ISO 639-1 codes the engine can transcribe, NULL-terminated.
 * pocketsphinx: {"en"}. "auto" is never listed, and callers accept it in
 * addition (asr_params.language "auto" = the model's language). */
const char *const *asr_engine_languages(const char *engine);
/* True when the engine's default model files are present on disk, checked
 * without loading them (pocketsphinx: the model directory and the files
 * asr_open would read). False for an unknown engine. On false, err
 * (may be NULL/0) says what is missing. */
bool asr_engine_available(const char *engine, char *err, size_t errlen);
/* The same for a given model (NULL = the default) with named models looked up
 * in models_dir (may be NULL). */
bool asr_engine_model_available(const char *engine, const char *models_dir, const char *model,
                                char *err, size_t errlen);

/* ---- segmentation (shared by engines that produce word streams) ------- */

typedef struct {
    double start, end;
    const char *text;  /* borrowed */
    float confidence;  /* -1 if unknown */
} asr_word;

/* Groups words into segments of t: a new segment starts after a pause of at
 * least split_pause_seconds or when the current one would exceed
 * max_segment_seconds. Segment text is the words joined by single spaces.
 * Pure apart from appending to t.
 * Words are taken as sorted by start and never reordered; a segment runs
 * from its first word's start to the latest end among its words. A limit
 * <= 0 disables that kind of split. Returns ASR_OK, ASR_ERR_INVALID_ARG (t
 * NULL, words NULL with n_words > 0, a word with NULL text, non-finite
 * times or end < start; t is then untouched) or ASR_ERR_NOMEM (t may hold
 * some of the new segments). */
int asr_segment_words(transcript *t, const asr_word *words, size_t n_words,
                      double split_pause_seconds, double max_segment_seconds);

#endif
