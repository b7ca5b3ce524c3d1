/* errors: the audio module's error strings. The detailed, path-naming
 * message goes into the caller's buffer; these are the short fixed names. */
#include "audio/audio.h"

const char *audio_strerror(int code)
{
    switch (code) {
    case AUDIO_OK: return "ok";
    case AUDIO_ERR_NOT_FOUND: return "no such file";
    case AUDIO_ERR_NOT_FILE: return "not a regular file";
    case AUDIO_ERR_PERMISSION: return "permission denied";
    case AUDIO_ERR_EMPTY: return "empty file";
    case AUDIO_ERR_FORMAT: return "unrecognised audio format";
    case AUDIO_ERR_NO_AUDIO: return "no audio stream";
    case AUDIO_ERR_CORRUPT: return "audio stream could not be decoded";
    case AUDIO_ERR_NO_SAMPLES: return "no audio samples";
    case AUDIO_ERR_RANGE: return "invalid time window";
    case AUDIO_ERR_NOMEM: return "out of memory";
    case AUDIO_ERR_IO: return "input/output error";
    default: return "unknown error";
    }
}
