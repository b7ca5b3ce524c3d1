/* whisper: Whisper speech recognition inference in plain C on OpenBLAS,
 * reading the standard ggml Whisper model files (ggml-tiny.bin …
 * ggml-large-v3-turbo.bin, f32/f16/q8_0/q5_0/q5_1/q4_0/q4_1).
 *
 * Three layers, each usable on its own:
 *   1. the model: whisper_model_load reads and validates a file (memory-mapped
 *      where the layout allows); the weights are immutable afterwards, so one
 *      model may serve many threads.
 *   2. the network: a whisper_state holds what one decoding thread needs
 *      (encoder output, cross-attention keys/values, per-sequence key/value
 *      caches, scratch). whisper_mel → whisper_encode → whisper_decode.
 *   3. transcription: whisper_transcribe runs Whisper's long-form decoding
 *      (seeking window by window, temperature fallback, timestamps, beam
 *      search …) over audio it pulls from the caller, and hands back segments.
 *
 * Errors: every function returning int returns WHISPER_OK or a whisper_err
 * and writes a message naming the file, tensor, parameter or value into the
 * caller's err buffer (errlen bytes, may be 0).
 */
#ifndef CESAR_WHISPER_H
#define CESAR_WHISPER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    WHISPER_OK = 0,
    WHISPER_ERR_INVALID_ARG, /* bad parameter; message names it */
    WHISPER_ERR_IO,          /* file missing or unreadable */
    WHISPER_ERR_FORMAT,      /* not a ggml Whisper file, or damaged: message says where */
    WHISPER_ERR_NOMEM,
    WHISPER_ERR_AUDIO,       /* the audio callback failed */
    WHISPER_ERR_CANCELLED,
    WHISPER_ERR_DECODE,      /* numerical failure while decoding */
} whisper_err;

const char *whisper_strerror(int code);

/* ---- model --------------------------------------------------------------- */

/* The eleven hyper-parameters, in file order. */
typedef struct {
    int32_t n_vocab;
    int32_t n_audio_ctx;   /* 1500 */
    int32_t n_audio_state;
    int32_t n_audio_head;
    int32_t n_audio_layer;
    int32_t n_text_ctx;    /* 448 */
    int32_t n_text_state;
    int32_t n_text_head;
    int32_t n_text_layer;
    int32_t n_mels;        /* 80, or 128 for large-v3 */
    int32_t ftype;         /* 0 f32, 1 f16, 1000*qnt_version + ggml type when quantized */
} whisper_hparams;

typedef struct {
    bool use_mmap; /* true (default): map the file, copy nothing that is usable in place */
} whisper_load_params;

whisper_load_params whisper_load_default_params(void);

typedef struct whisper_model whisper_model;

/* Reads and validates the file at path: magic, hyper-parameters, mel
 * filters, vocabulary, and every tensor's name, shape, type and byte size
 * (none missing, none repeated, none unknown, nothing after the last).
 * Never crashes on any input. On success *out is owned by the caller (free
 * with whisper_model_free); on failure *out is NULL. */
int whisper_model_load(whisper_model **out, const char *path, const whisper_load_params *p,
                       char *err, size_t errlen);
void whisper_model_free(whisper_model *m); /* NULL-safe */

/* Borrowed, valid until whisper_model_free. */
const whisper_hparams *whisper_model_hparams(const whisper_model *m);
/* "tiny", "base", "small", "medium", "large", "large-v3", "large-v3-turbo"
 * from the dimensions, or "custom"; static storage. */
const char *whisper_model_size_name(const whisper_model *m);
bool whisper_model_multilingual(const whisper_model *m);
/* The weights' type name: "f32", "f16", "q8_0", "q5_0", "q5_1", "q4_0", "q4_1". */
const char *whisper_model_type_name(const whisper_model *m);

/* ---- vocabulary -------------------------------------------------------- */

/* Special token ids of m (they depend on n_vocab). */
typedef struct {
    int eot, sot, translate, transcribe, solm, prev, no_speech, no_timestamps;
    int timestamp_begin; /* <|0.00|>; timestamp k (k*0.02 s) is timestamp_begin + k */
    int lang_first;      /* <|en|>; language i is lang_first + i */
    int n_languages;     /* language tokens the vocabulary has (99 or 100) */
} whisper_special_tokens;

const whisper_special_tokens *whisper_model_special(const whisper_model *m);

/* The bytes a text token stands for (GPT-2 byte-level strings already mapped
 * back to raw bytes; a token may hold part of a UTF-8 character). NULL for
 * special and out-of-range ids. Borrowed. */
const char *whisper_token_bytes(const whisper_model *m, int id, size_t *len);

/* Concatenates the bytes of ids (special tokens skipped) into out as a
 * NUL-terminated string; *needed (may be NULL) gets the full length. Bytes
 * of a multi-byte character split across tokens join exactly. Returns
 * WHISPER_OK or WHISPER_ERR_INVALID_ARG when out is too small. */
int whisper_tokens_to_text(const whisper_model *m, const int *ids, size_t n, char *out,
                           size_t cap, size_t *needed);

/* Splits text into tokens the way Whisper's tokenizer pre-tokenises (GPT-2
 * pattern), then each piece by longest match in the vocabulary. Writes at
 * most cap ids; returns the count needed (> cap means truncated), or -1. */
int whisper_tokenize(const whisper_model *m, const char *text, int *ids, int cap);

/* Language codes ("en", "zh", …) in token order, and the reverse lookup
 * (-1 when unknown). */
const char *whisper_language_code(int index);
int whisper_language_index(const char *code);

/* ---- network -------------------------------------------------------------- */

#define WHISPER_SAMPLE_RATE 16000
#define WHISPER_N_FFT 400
#define WHISPER_HOP 160
#define WHISPER_CHUNK_FRAMES 3000 /* mel frames per 30 s window */

/* Log-mel spectrogram exactly as Whisper defines it, for frames
 * [0, n_frames) of a signal: frame f is centred on sample f*160 of
 * samples[]. Samples before index 0 are reflected when at_start is true
 * (Whisper's centre padding at the start of a file), otherwise they are read
 * from samples[-200 .. -1], which the caller must provide; samples at or
 * past n_samples are zeros (Whisper pads with silence). Output
 * out[mel * n_frames + f], already clamped to (max - 8) over these frames
 * and scaled ((x + 4) / 4). n_threads <= 0: one. */
int whisper_mel(const whisper_model *m, const float *samples, int64_t n_samples, bool at_start,
                int n_frames, int n_threads, float *out, char *err, size_t errlen);

typedef struct whisper_state whisper_state;

/* A decoding state for m (borrowed: m must outlive the state) holding key
 * and value caches for up to max_seq sequences (beams). */
int whisper_state_new(whisper_state **out, const whisper_model *m, int n_threads, int max_seq,
                      char *err, size_t errlen);
void whisper_state_free(whisper_state *s); /* NULL-safe */

/* Runs the encoder on mel (n_mels x 3000, as whisper_mel writes it) and
 * computes every decoder layer's cross-attention keys and values. */
int whisper_encode(whisper_state *s, const float *mel, char *err, size_t errlen);

/* The last encoder output, n_audio_ctx rows of n_audio_state (for tests). */
const float *whisper_encoder_output(const whisper_state *s);

/* Feeds n_tokens tokens to each of the sequences 0..n_seq-1 (tokens[seq *
 * n_tokens + i]) at positions n_past .. n_past + n_tokens - 1, extending
 * their caches. logits gets n_seq x n_vocab floats (the last position of
 * each sequence), or n_seq x n_tokens x n_vocab when all_logits. */
int whisper_decode(whisper_state *s, int n_seq, int n_tokens, const int *tokens, int n_past,
                   float *logits, bool all_logits, char *err, size_t errlen);

/* Copies the first n_past cache positions of sequence src to dst (beam
 * search reordering). */
void whisper_kv_copy(whisper_state *s, int dst, int src, int n_past);

/* ---- transcription ------------------------------------------------------ */

typedef enum { WHISPER_TASK_TRANSCRIBE, WHISPER_TASK_TRANSLATE } whisper_task;

typedef struct {
    double start, end; /* seconds from the start of the audio */
    const char *text;  /* UTF-8, borrowed for the callback */
    float probability;
} whisper_word;

typedef struct {
    double start, end;
    const char *text;  /* UTF-8, leading space trimmed; borrowed for the callback */
    const whisper_word *words;
    size_t n_words;
    float avg_logprob, no_speech_prob, compression_ratio, temperature;
} whisper_segment;

/* Returns 0 to go on, non-zero to stop with WHISPER_ERR_CANCELLED. */
typedef int (*whisper_segment_cb)(const whisper_segment *seg, void *user_data);
/* Pulls up to max samples of 16 kHz mono audio; *n_read = 0 at the end.
 * Non-zero return = error (message in err). */
typedef int (*whisper_read_fn)(void *user_data, float *buf, size_t max, size_t *n_read,
                               char *err, size_t errlen);
typedef void (*whisper_progress_cb)(double seconds_done, void *user_data);

#define WHISPER_MAX_TEMPERATURES 8

typedef struct {
    whisper_task task;
    const char *language;          /* "en", … or "auto"/NULL: detect (multilingual models) */
    int beam_size;                 /* 5; 1 = greedy */
    int best_of;                   /* 5: samples drawn at temperature > 0 */
    float temperatures[WHISPER_MAX_TEMPERATURES];
    int n_temperatures;            /* 0, 0.2, 0.4, 0.6, 0.8, 1.0 */
    float compression_ratio_threshold; /* 2.4 */
    float logprob_threshold;       /* -1.0 */
    float no_speech_threshold;     /* 0.6 */
    bool condition_on_previous_text; /* true */
    const char *initial_prompt;    /* NULL */
    bool timestamps;               /* true; false = <|notimestamps|> */
    bool word_timestamps;          /* true */
    bool suppress_blank;           /* true */
    bool suppress_non_speech;      /* true: Whisper's "-1" symbol list */
    float max_initial_timestamp;   /* 1.0 s */
    float length_penalty;          /* < 0: none (Whisper's default) */
    uint64_t seed;                 /* sampling at temperature > 0 */
    whisper_progress_cb progress;
    void *progress_user_data;
    const atomic_int *cancel;      /* borrowed; polled between windows and tokens */
} whisper_transcribe_params;

whisper_transcribe_params whisper_transcribe_default_params(void);

/* The max_seq a state needs for whisper_transcribe with p: beam_size + 1
 * for beam search (one spare sequence for reordering), best_of when any
 * temperature is above 0. */
int whisper_transcribe_max_seq(const whisper_transcribe_params *p);

/* Transcribes everything read yields, window by window, calling on_segment
 * for each finished segment in order. s must hold at least
 * whisper_transcribe_max_seq(p) sequences. *detected_language (may be NULL) gets
 * the language used (static storage). */
int whisper_transcribe(whisper_state *s, const whisper_transcribe_params *p, whisper_read_fn read,
                       void *read_user_data, whisper_segment_cb on_segment, void *seg_user_data,
                       const char **detected_language, char *err, size_t errlen);

#endif
