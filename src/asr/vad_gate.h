/* vad_gate: optional silence gating in front of the Whisper engine. Internal
 * to the asr module (symbols asr__vad_*).
 *
 * A gate is a reader that sits between an audio source and
 * whisper_transcribe: it pulls 16 kHz mono audio from the source, runs the
 * Silero VAD on 512-sample chunks, and passes on only the audio worth
 * transcribing, so that long silences cost no decoding time. It records a
 * time map of pieces (kept-audio start, original start, length) so that
 * times Whisper reports on the kept audio can be put back on the original
 * timeline.
 *
 * Rules (Silero's own defaults): a chunk turns speech on at probability
 * >= 0.5 and off below 0.35; a silence (a run of non-speech chunks, also
 * at the start or end of the audio) longer than 1.0 s is dropped except
 * 0.2 s next to each speech region it touches; shorter silences are kept
 * whole. Memory is bounded: a delay buffer of about a second of audio plus
 * the map, which grows with the number of pieces only. The kept audio and
 * the map do not depend on how the source splits its reads.
 *
 * A gate is used by one thread at a time.
 */
#ifndef CESAR_ASR_VAD_GATE_H
#define CESAR_ASR_VAD_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asr/asr.h"

#define ASR__VAD_SAMPLE_RATE 16000
#define ASR__VAD_ON 0.5f           /* probability that turns speech on */
#define ASR__VAD_OFF 0.35f         /* speech stays on down to this */
#define ASR__VAD_PAD_SECONDS 0.2   /* kept around each speech region */
#define ASR__VAD_MAX_SILENCE 1.0   /* longer silences are dropped */

/* One stretch of kept audio, in samples. Pieces are in order; each starts
 * in the kept audio where the previous one ends. */
typedef struct {
    int64_t kept_start;
    int64_t orig_start;
    int64_t length;
} asr__vad_piece;

/* Maps t (seconds in the kept audio) to seconds in the original audio. A
 * time inside a piece maps linearly; a time on the boundary of two pieces
 * maps to the start of the later one, or, with is_end, to the end of the
 * earlier one (so a segment ending there ends where its audio did). Times
 * before the first piece clamp to its start, after the last to its end.
 * With no pieces, t is returned unchanged. Pure. */
double asr__vad_map_time(const asr__vad_piece *pieces, size_t n, double t, bool is_end);

typedef struct asr__vad_gate asr__vad_gate;

/* Loads the Silero model at model_path (must be non-empty). Returns ASR_OK
 * and *out (free with asr__vad_gate_close), or ASR_ERR_MODEL /
 * ASR_ERR_NOMEM with *out NULL and a message naming the file in err. */
int asr__vad_gate_open(asr__vad_gate **out, const char *model_path, char *err, size_t errlen);

void asr__vad_gate_close(asr__vad_gate *g); /* NULL-safe */

/* Starts a new recording read from src (borrowed until the last read):
 * forgets the previous audio, its map and the model state. */
void asr__vad_gate_start(asr__vad_gate *g, asr_read_fn read, void *user_data);

/* An asr_read_fn / whisper_read_fn over the kept audio: user_data is the
 * gate. Errors of the source come back unchanged; ASR_ERR_NOMEM when the map
 * cannot grow. */
int asr__vad_gate_read(void *user_data, float *buf, size_t max, size_t *n_read, char *err,
                       size_t errlen);

/* The map so far (borrowed until the next start/read/close) and the audio
 * read from the source and kept so far, in samples. */
const asr__vad_piece *asr__vad_gate_pieces(const asr__vad_gate *g, size_t *n);
int64_t asr__vad_gate_input_samples(const asr__vad_gate *g);
int64_t asr__vad_gate_kept_samples(const asr__vad_gate *g);

/* asr__vad_map_time over the gate's map. */
double asr__vad_gate_map(const asr__vad_gate *g, double t, bool is_end);

#endif
