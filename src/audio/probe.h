/* probe: checks a path before FFmpeg sees it, so that a missing file, a
 * directory, an unreadable or an empty file each get their own error code and
 * a plain message instead of FFmpeg's generic "Invalid data". Internal to the
 * audio module. */
#ifndef CESAR_AUDIO_PROBE_H
#define CESAR_AUDIO_PROBE_H

#include <stddef.h>

/* Returns AUDIO_OK when path names a readable, non-empty regular file;
 * otherwise AUDIO_ERR_NOT_FOUND / _NOT_FILE / _PERMISSION / _EMPTY / _IO with
 * a message naming the path in err. */
int audio__probe_path(const char *path, char *err, size_t errlen);

/* For WAV files: AUDIO_ERR_CORRUPT when the RIFF header declares more audio
 * data than the file holds (a truncated copy), with a message naming the
 * path; AUDIO_OK otherwise, including for files that are not plain RIFF. */
int audio__wav_check(const char *path, char *err, size_t errlen);

#endif
