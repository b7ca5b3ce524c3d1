/* vad: the Silero VAD v6.2 network (16 kHz), run in plain C. It serves two
 * users: the built-in diarization engine's speech detection (src/diarize/)
 * and the optional silence gating in front of the Whisper engine
 * (src/asr/vad_gate.c). Every symbol carries the vad_ prefix.
 *
 * The model is read from the ggml container whisper.cpp's converter writes
 * (silero-v6.2.0-ggml.bin, MIT licence). Audio goes in as 16 kHz mono float
 * samples in [-1, 1], 512 at a time (32 ms); each chunk yields the
 * probability that it holds speech. The network is recurrent and sees the
 * last 64 samples of the previous chunk, so chunks of one recording must be
 * fed in order, and vad_silero_reset() starts a new one.
 *
 * A model object holds its own state and scratch memory: use one per thread.
 */
#ifndef CESAR_VAD_VAD_H
#define CESAR_VAD_VAD_H

#include <stddef.h>

/* Samples per call of vad_silero_chunk. */
#define VAD_SILERO_CHUNK 512

typedef struct vad_silero vad_silero;

/* Loads the model at path. Returns 0 and *out (free with
 * vad_silero_close), or -1 with *out NULL and a message in err
 * (capacity errlen) that names the file and what is wrong with it: missing
 * or unreadable, not a Silero ggml file, another version or shape, truncated.
 * Any file, however damaged, gives one of the two answers. */
int vad_silero_open(vad_silero **out, const char *path, char *err, size_t errlen);

void vad_silero_close(vad_silero *m); /* NULL-safe */

/* Forgets the recurrent state and the carried-over samples: call before the
 * first chunk of a new recording (a freshly opened model is already reset). */
void vad_silero_reset(vad_silero *m);

/* Runs one chunk of VAD_SILERO_CHUNK samples (finite, in [-1, 1]) and
 * returns its speech probability in [0, 1]. Does not allocate. */
float vad_silero_chunk(vad_silero *m, const float *samples512);

/* 1 when the STFT runs on the folded form of the basis (the stored basis has
 * the exact symmetries of a windowed DFT, checked at load), 0 when it falls
 * back to the full product. Both give the same numbers; for tests. */
int vad_silero_folded_stft(const vad_silero *m);

#endif
