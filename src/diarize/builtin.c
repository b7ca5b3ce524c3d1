/* builtin: placeholder while the real engine is written. */
#include <stdlib.h>
#include <string.h>

#include "diarize/engine_impl.h"
#include "util/util.h"

static int builtin_open(void **state, const diarize_params *p, char *err, size_t errlen)
{
    (void)p; (void)err; (void)errlen;
    *state = NULL;
    return DIARIZE_OK;
}

static int builtin_run(void *state, const diarize_params *p, const diarize_source *src,
                       diarize_result *out, char *err, size_t errlen)
{
    (void)state; (void)p;
    float buf[4096];
    size_t n, total = 0;
    do {
        int rc = src->read(src->user_data, buf, 4096, &n, err, errlen);
        if (rc)
            return DIARIZE_ERR_AUDIO;
        total += n;
    } while (n);
    out->audio_seconds = total / 16000.0;
    out->turns = calloc(1, sizeof *out->turns);
    if (!out->turns)
        return util_errf(err, errlen, DIARIZE_ERR_NOMEM, "out of memory");
    out->turns[0].start = src->time_offset;
    out->turns[0].end = src->time_offset + out->audio_seconds;
    out->n_turns = 1;
    return DIARIZE_OK;
}

static void builtin_close(void *state) { (void)state; }

const diarize_engine_impl diarize__engine_builtin = {"builtin", builtin_open, builtin_run,
                                                    builtin_close};
