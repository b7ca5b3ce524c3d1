/* errors: the text of each pyannote_err code (the detailed message of a
 * failure is in the caller's err buffer; this names the category). */
#include "pyannote/pyannote.h"

const char *pyannote_strerror(int code)
{
    switch (code) {
    case PYANNOTE_OK:
        return "success";
    case PYANNOTE_ERR_INVALID:
        return "invalid argument";
    case PYANNOTE_ERR_MODEL:
        return "unusable pyannote model checkpoint";
    case PYANNOTE_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown pyannote error";
}
