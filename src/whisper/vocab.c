/* vocab: token ids back to text. The ggml files store each text token as the
 * raw bytes it stands for (the converter already undid GPT-2's byte-to-
 * character mapping), so a token may hold part of a UTF-8 character and
 * decoding is plain concatenation: the pieces of a split character join
 * exactly. Ids from <|endoftext|> up (specials, languages, timestamps) have
 * no text. */
#include <string.h>

#include "whisper/loader.h"

const char *whisper_token_bytes(const whisper_model *m, int id, size_t *len)
{
    if (!m || id < 0 || id >= m->n_text_tokens || id >= m->special.eot)
        return NULL;
    if (len)
        *len = m->tokens[id].len;
    return m->tokens[id].bytes;
}

int whisper_tokens_to_text(const whisper_model *m, const int *ids, size_t n, char *out,
                           size_t cap, size_t *needed)
{
    if (!m || (n > 0 && !ids))
        return WHISPER_ERR_INVALID_ARG;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= m->hp.n_vocab)
            return WHISPER_ERR_INVALID_ARG;
        size_t len;
        const char *b = whisper_token_bytes(m, ids[i], &len);
        if (!b)
            continue;
        if (out && total + len < cap)
            memcpy(out + total, b, len);
        total += len;
    }
    if (needed)
        *needed = total;
    if (!out || total >= cap) {
        if (out && cap > 0)
            out[cap - 1] = '\0';
        return WHISPER_ERR_INVALID_ARG;
    }
    out[total] = '\0';
    return WHISPER_OK;
}
