/* model_header: reads what precedes the tensors in a ggml Whisper file —
 * magic, the eleven hyper-parameters, the mel filter bank and the text
 * vocabulary — and rejects anything outside the ranges a Whisper model can
 * have. Every count comes from the file, so each is bounded before it sizes
 * an allocation and checked against the bytes actually left. */
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "whisper/loader.h"

#define WHISPER_MAGIC 0x67676d6cu
#define WHISPER_N_FFT_BINS 201

int whisper__rd_bytes(whisper__reader *r, size_t n, const uint8_t **p, const char *what, char *err,
                      size_t errlen)
{
    if (r->off > r->size || n > r->size - r->off)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: truncated: %s needs %zu bytes at offset %zu, the file has %zu",
                         r->name, what, n, r->off, r->size);
    *p = r->data + r->off;
    r->off += n;
    return WHISPER_OK;
}

int whisper__rd_i32(whisper__reader *r, int32_t *v, const char *what, char *err, size_t errlen)
{
    const uint8_t *p = NULL;
    int rc = whisper__rd_bytes(r, 4, &p, what, err, errlen);
    if (rc == WHISPER_OK)
        memcpy(v, p, 4);
    return rc;
}

void whisper__special_tokens(whisper_special_tokens *s, int n_vocab)
{
    int multilingual = n_vocab >= 51865;
    s->n_languages = n_vocab - 51765 - multilingual;
    s->eot = 50256 + multilingual;
    s->sot = s->eot + 1;
    s->lang_first = s->sot + 1;
    s->translate = s->sot + 1 + s->n_languages;
    s->transcribe = s->translate + 1;
    s->solm = s->translate + 2;
    s->prev = s->translate + 3;
    s->no_speech = s->translate + 4;
    s->no_timestamps = s->translate + 5;
    s->timestamp_begin = s->translate + 6;
}

static int check_magic(whisper__reader *r, char *err, size_t errlen)
{
    int32_t magic = 0;
    int rc = whisper__rd_i32(r, &magic, "the magic number", err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    if ((uint32_t)magic == WHISPER_MAGIC)
        return WHISPER_OK;
    const char *hint = "";
    if (memcmp(r->data, "GGUF", 4) == 0)
        hint = "; this is a GGUF file, not the ggml Whisper format";
    else if (memcmp(r->data, "RIFF", 4) == 0)
        hint = "; this looks like a WAV (RIFF) file";
    return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                     "%s: not a ggml Whisper model file (magic 0x%08x, expected 0x%08x \"ggml\"%s)",
                     r->name, (unsigned)magic, WHISPER_MAGIC, hint);
}

static int check_range(const whisper__reader *r, const char *field, int32_t v, int32_t lo, int32_t hi,
                       char *err, size_t errlen)
{
    if (v >= lo && v <= hi)
        return WHISPER_OK;
    return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                     "%s: hyper-parameter %s = %d: expected %d..%d", r->name, field, (int)v,
                     (int)lo, (int)hi);
}

static int check_heads(const whisper__reader *r, const char *state_name, int32_t state,
                       const char *head_name, int32_t heads, char *err, size_t errlen)
{
    if (state % heads == 0)
        return WHISPER_OK;
    return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                     "%s: hyper-parameter %s = %d is not divisible by %s = %d", r->name,
                     state_name, (int)state, head_name, (int)heads);
}

/* ftype: 0 f32, 1 f16, or 1000 * quantization version + the file's main
 * quantized type. whisper.cpp writes ggml's ftype codes there (q4_0 2, q4_1
 * 3, q4_1 with some f16 4, q8_0 7, q5_0 8, q5_1 9); other writers put the
 * tensor type code (q5_0 6, q5_1 7, q8_0 8). Both are accepted: the tensors'
 * own type fields are what the loader relies on. */
static int check_ftype(whisper_model *m, const whisper__reader *r, char *err, size_t errlen)
{
    int32_t ftype = m->hp.ftype;
    if (ftype == 0 || ftype == 1) {
        m->qnt_version = 0;
        return WHISPER_OK;
    }
    if (ftype < 0)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: hyper-parameter ftype = %d: expected 0 (f32), 1 (f16) or "
                         "2000 + quantized type", r->name, (int)ftype);
    int version = ftype / 1000, kind = ftype % 1000;
    if (version == 0 || version == 1)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: hyper-parameter ftype = %d: quantization version %d (older "
                         "whisper.cpp) is not supported; re-quantize", r->name, (int)ftype,
                         version);
    if (version != 2)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: hyper-parameter ftype = %d: unknown quantization version %d "
                         "(expected 2)", r->name, (int)ftype, version);
    if (kind < 2 || kind > 9 || kind == 5)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: hyper-parameter ftype = %d: unknown quantized type %d", r->name,
                         (int)ftype, kind);
    m->qnt_version = 2;
    return WHISPER_OK;
}

static int read_hparams(whisper_model *m, whisper__reader *r, char *err, size_t errlen)
{
    static const char *const names[11] = {
        "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
        "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype"};
    int32_t v[11] = {0};
    int rc;
    for (int i = 0; i < 11; i++)
        if ((rc = whisper__rd_i32(r, &v[i], names[i], err, errlen)) != WHISPER_OK)
            return rc;
    whisper_hparams *hp = &m->hp;
    *hp = (whisper_hparams){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]};
    if ((rc = check_range(r, names[0], hp->n_vocab, 51864, 51866, err, errlen)) ||
        (rc = check_range(r, names[1], hp->n_audio_ctx, 1, 1500, err, errlen)) ||
        (rc = check_range(r, names[2], hp->n_audio_state, 1, 8192, err, errlen)) ||
        (rc = check_range(r, names[3], hp->n_audio_head, 1, 256, err, errlen)) ||
        (rc = check_range(r, names[4], hp->n_audio_layer, 1, 128, err, errlen)) ||
        (rc = check_range(r, names[5], hp->n_text_ctx, 1, 448, err, errlen)) ||
        (rc = check_range(r, names[6], hp->n_text_state, 1, 8192, err, errlen)) ||
        (rc = check_range(r, names[7], hp->n_text_head, 1, 256, err, errlen)) ||
        (rc = check_range(r, names[8], hp->n_text_layer, 1, 128, err, errlen)) ||
        (rc = check_heads(r, names[2], hp->n_audio_state, names[3], hp->n_audio_head, err, errlen)) ||
        (rc = check_heads(r, names[6], hp->n_text_state, names[7], hp->n_text_head, err, errlen)))
        return rc;
    if (hp->n_mels != 80 && hp->n_mels != 128)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: hyper-parameter n_mels = %d: expected 80 or 128", r->name,
                         (int)hp->n_mels);
    return check_ftype(m, r, err, errlen);
}

static int read_mel_filters(whisper_model *m, whisper__reader *r, char *err, size_t errlen)
{
    int32_t n_mel = 0, n_fft = 0;
    int rc;
    if ((rc = whisper__rd_i32(r, &n_mel, "mel filter count", err, errlen)) ||
        (rc = whisper__rd_i32(r, &n_fft, "mel filter size", err, errlen)))
        return rc;
    if (n_mel != m->hp.n_mels)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: mel filter count %d does not match n_mels = %d", r->name,
                         (int)n_mel, (int)m->hp.n_mels);
    if (n_fft != WHISPER_N_FFT_BINS)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: mel filter size n_fft = %d: expected %d", r->name, (int)n_fft,
                         WHISPER_N_FFT_BINS);
    size_t n = (size_t)n_mel * (size_t)n_fft;
    const uint8_t *p = NULL;
    if ((rc = whisper__rd_bytes(r, n * sizeof(float), &p, "the mel filter bank", err, errlen)))
        return rc;
    m->mel_filters = malloc(n * sizeof(float));
    if (!m->mel_filters)
        return util_errf(err, errlen, WHISPER_ERR_NOMEM, "%s: out of memory for mel filters",
                         r->name);
    memcpy(m->mel_filters, p, n * sizeof(float));
    m->n_fft = n_fft;
    return WHISPER_OK;
}

/* First pass over the vocabulary: every length in range and inside the
 * file; *total gets the sum, so one allocation holds every token. */
static int scan_vocab(whisper__reader r, int32_t count, size_t *total, char *err, size_t errlen)
{
    *total = 0;
    for (int32_t i = 0; i < count; i++) {
        int32_t len = 0;
        if (r.size - r.off < 4)
            return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                             "%s: truncated: the length of vocabulary token %d needs 4 bytes at "
                             "offset %zu, the file has %zu", r.name, (int)i, r.off, r.size);
        memcpy(&len, r.data + r.off, 4);
        r.off += 4;
        if (len < 0 || len > WHISPER__MAX_TOKEN_BYTES)
            return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                             "%s: vocabulary token %d at offset %zu has length %d: expected "
                             "0..%d", r.name, (int)i, r.off - 4, (int)len,
                             WHISPER__MAX_TOKEN_BYTES);
        if ((size_t)len > r.size - r.off)
            return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                             "%s: truncated: vocabulary token %d needs %d bytes at offset %zu, "
                             "the file has %zu", r.name, (int)i, (int)len, r.off, r.size);
        r.off += (size_t)len;
        *total += (size_t)len;
    }
    return WHISPER_OK;
}

/* Some converters decoded every token as UTF-8 with replacement, so a
 * one-byte token that is not valid UTF-8 alone (a lead or continuation byte)
 * was stored as U+FFFD, and text made of such tokens could not be decoded.
 * Ids 0..255 are GPT-2's byte alphabet in a fixed order, so their bytes are
 * known whatever the file says: put them back. */
static void restore_byte_tokens(whisper_model *m)
{
    for (int b = 0; b < 256; b++) {
        int id = whisper__byte_token_id((unsigned char)b);
        if (id >= m->n_text_tokens)
            continue;
        whisper__token *t = &m->tokens[id];
        if (t->len == 3 && memcmp(t->bytes, "\xef\xbf\xbd", 3) == 0) {
            t->bytes[0] = (char)b;
            t->bytes[1] = '\0';
            t->len = 1;
        }
    }
}

static int read_vocab(whisper_model *m, whisper__reader *r, char *err, size_t errlen)
{
    int32_t count = 0;
    int rc = whisper__rd_i32(r, &count, "the vocabulary size", err, errlen);
    if (rc != WHISPER_OK)
        return rc;
    /* text tokens, optionally followed by <|endoftext|> itself */
    if (count < 0 || count > m->special.eot + 1)
        return util_errf(err, errlen, WHISPER_ERR_FORMAT,
                         "%s: vocabulary size %d: expected 0..%d for n_vocab = %d", r->name,
                         (int)count, m->special.eot + 1, (int)m->hp.n_vocab);
    size_t total;
    if ((rc = scan_vocab(*r, count, &total, err, errlen)))
        return rc;
    size_t head = (size_t)count * sizeof(whisper__token);
    m->tokens = malloc(head + total + (size_t)count + 1);
    if (!m->tokens)
        return util_errf(err, errlen, WHISPER_ERR_NOMEM, "%s: out of memory for the vocabulary",
                         r->name);
    char *bytes = (char *)m->tokens + head;
    for (int32_t i = 0; i < count; i++) {
        int32_t len = 0;
        const uint8_t *p = NULL;
        whisper__rd_i32(r, &len, "token length", err, errlen); /* checked by scan_vocab */
        whisper__rd_bytes(r, (size_t)len, &p, "token", err, errlen);
        memcpy(bytes, p, (size_t)len);
        bytes[len] = '\0';
        m->tokens[i] = (whisper__token){bytes, (uint32_t)len};
        bytes += len + 1;
    }
    m->n_text_tokens = count;
    restore_byte_tokens(m);
    return WHISPER_OK;
}

int whisper__parse_header(whisper_model *m, whisper__reader *r, char *err, size_t errlen)
{
    int rc;
    if ((rc = check_magic(r, err, errlen)) || (rc = read_hparams(m, r, err, errlen)))
        return rc;
    whisper__special_tokens(&m->special, m->hp.n_vocab);
    if ((rc = read_mel_filters(m, r, err, errlen)) || (rc = read_vocab(m, r, err, errlen)))
        return rc;
    return WHISPER_OK;
}
