/* fallback.c: Whisper's tests on a decoded window — the compression ratio
 * that exposes repetition loops, the decision to retry at the next
 * temperature, and the decision to skip a window as silence.
 *
 * The ratio uses zlib at its default level, as the reference does, so
 * thresholds tuned on the reference (2.4) carry over.
 */
#include <stdlib.h>

#include <zlib.h>

#include "whisper/decoding.h"

float whisper__compression_ratio(const char *text, size_t len)
{
    if (len == 0)
        return 0.0f;
    uLongf cap = compressBound((uLong)len);
    Bytef *buf = malloc(cap);
    if (!buf)
        return 0.0f; /* no memory: do not force a fallback on a guess */
    float ratio = 0.0f;
    if (compress2(buf, &cap, (const Bytef *)text, (uLong)len, Z_DEFAULT_COMPRESSION) == Z_OK &&
        cap > 0)
        ratio = (float)((double)len / (double)cap);
    free(buf);
    return ratio;
}

bool whisper__needs_fallback(float compression_ratio, float avg_logprob, float no_speech_prob,
                             const whisper_transcribe_params *p)
{
    bool retry =
        compression_ratio > p->compression_ratio_threshold || avg_logprob < p->logprob_threshold;
    /* silence decodes badly by nature; retrying cannot help it */
    if (no_speech_prob > p->no_speech_threshold)
        retry = false;
    return retry;
}

bool whisper__should_skip(float avg_logprob, float no_speech_prob,
                          const whisper_transcribe_params *p)
{
    return no_speech_prob > p->no_speech_threshold && !(avg_logprob > p->logprob_threshold);
}
