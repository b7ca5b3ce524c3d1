/* audio: turns any file FFmpeg can demux into a stream of 16 kHz mono float
 * samples, optionally limited to a time window.
 *
 * Decoding is streamed: audio_read returns the next chunk and the reader holds
 * only FFmpeg's codec state and one resampler buffer, so memory does not grow
 * with file length. Thread use: one reader per thread; different readers may
 * be used concurrently.
 */
#ifndef CESAR_AUDIO_H
#define CESAR_AUDIO_H

#include <stdbool.h>
#include <stddef.h>

#define AUDIO_SAMPLE_RATE 16000

typedef enum {
    AUDIO_OK = 0,
    AUDIO_ERR_NOT_FOUND,    /* no such file */
    AUDIO_ERR_NOT_FILE,     /* a directory or other non-regular file */
    AUDIO_ERR_PERMISSION,   /* exists but cannot be read */
    AUDIO_ERR_EMPTY,        /* zero bytes */
    AUDIO_ERR_FORMAT,       /* not a container/codec FFmpeg recognises */
    AUDIO_ERR_NO_AUDIO,     /* a container without an audio stream */
    AUDIO_ERR_CORRUPT,      /* the stream could not be decoded */
    AUDIO_ERR_NO_SAMPLES,   /* decoded, but nothing inside the window */
    AUDIO_ERR_RANGE,        /* an invalid time window */
    AUDIO_ERR_NOMEM,
    AUDIO_ERR_IO,
} audio_err;

const char *audio_strerror(int code);

/* The value the CLI passes for a time option the user did not give. */
#define AUDIO_TIME_UNSET (-1.0)

/* A time window in seconds of the source. end < 0 means "to the end". */
typedef struct {
    double start;
    double end;
} audio_window;

/* Resolves the command-line time options into a window.
 *   start_time  >= 0 (0 = from the beginning)
 *   end_time    > start_time, or AUDIO_TIME_UNSET when not given
 *   max_minutes > 0, or AUDIO_TIME_UNSET when not given;
 *               end = start + max_minutes * 60
 *               (start is honoured, unlike the tool Cesar replaces)
 * Only the exact value AUDIO_TIME_UNSET means "not given": any other negative
 * value (a user typing --end-time -3) is rejected, as are NaN and infinity.
 * Errors (AUDIO_ERR_RANGE, message names the option): negative values,
 * start >= end, max_minutes == 0, and end_time given together with
 * max_minutes. *out is always assigned ({0, AUDIO_TIME_UNSET} on failure).
 * Pure function. */
int audio_window_resolve(double start_time, double end_time, double max_minutes,
                         audio_window *out, char *err, size_t errlen);

typedef struct {
    audio_window window;   /* default {0, -1}: the whole file */
} audio_params;

audio_params audio_default_params(void);

typedef struct audio_reader audio_reader;

/* Opens path and prepares decoding of its best audio stream. Checks the file
 * first, so each bad input gets its own code and a message naming the path.
 * It then decodes up to the first sample of the window, so a file FFmpeg
 * opens but cannot decode (AUDIO_ERR_CORRUPT), or one with nothing in the
 * window (AUDIO_ERR_NO_SAMPLES), already fails here rather than at the first
 * audio_read. AUDIO_ERR_RANGE if params->window is invalid.
 * On success *out is a reader the caller owns (close with audio_close); on
 * failure *out is NULL. */
int audio_open(audio_reader **out, const char *path, const audio_params *params,
               char *err, size_t errlen);

/* Duration of the audio that will be returned, in seconds: the container's
 * duration clipped to the window. Negative when the container does not know. */
double audio_expected_duration(const audio_reader *r);

/* Duration of the whole source as the container reports it; < 0 if unknown. */
double audio_source_duration(const audio_reader *r);

/* Short description of the source, e.g. "mp3, 44100 Hz, stereo, 00:03:12"
 * (the duration is left out when unknown); borrowed, valid until
 * audio_close. */
const char *audio_describe(const audio_reader *r);

/* Reads up to max samples (16 kHz mono float in [-1, 1]) into buf.
 * *n_read is 0 only at the end of the window (or when max is 0). Returns
 * AUDIO_ERR_CORRUPT if the stream breaks in a way FFmpeg cannot skip, and
 * AUDIO_ERR_NO_SAMPLES at the end when no sample at all was produced.
 * Samples decoded before an error are returned first; the error then
 * repeats on every later call. */
int audio_read(audio_reader *r, float *buf, size_t max, size_t *n_read,
               char *err, size_t errlen);

/* Source time (seconds) of the first sample audio_read returned / will return.
 * Equals window.start unless the audio itself begins later (then the time of
 * its first sample); sample k is at audio_window_start + k / 16000. */
double audio_window_start(const audio_reader *r);

/* Samples returned so far. */
size_t audio_samples_read(const audio_reader *r);

void audio_close(audio_reader *r); /* NULL-safe */

#endif
