/* errors: the one place that turns a whisper_err code into words, so the CLI,
 * the server and the tests all describe a failure the same way. */
#include "whisper/whisper.h"

const char *whisper_strerror(int code)
{
    switch (code) {
    case WHISPER_OK:
        return "success";
    case WHISPER_ERR_INVALID_ARG:
        return "invalid argument";
    case WHISPER_ERR_IO:
        return "cannot read the model file";
    case WHISPER_ERR_FORMAT:
        return "not a valid ggml Whisper model file";
    case WHISPER_ERR_NOMEM:
        return "out of memory";
    case WHISPER_ERR_AUDIO:
        return "audio input failed";
    case WHISPER_ERR_CANCELLED:
        return "cancelled";
    case WHISPER_ERR_DECODE:
        return "numerical failure while decoding";
    default:
        return "unknown whisper error";
    }
}
