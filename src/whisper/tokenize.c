/* tokenize: text to token ids, for prompts. First the text is cut into
 * pieces the way GPT-2's pre-tokeniser does ('s 't 're 've 'm 'll 'd, an
 * optional space plus a run of letters / digits / other symbols, whitespace
 * runs that leave their last space to the next word), with ASCII character
 * classes exact and every non-ASCII byte counted as a letter (no Unicode
 * tables). Each piece is then split greedily by the longest vocabulary entry
 * that matches at the current byte. This is NOT byte-pair merging — the
 * model file carries no merge ranks — so for unusual words the ids can
 * differ from the reference tokenizer's (the text they decode to is the
 * same). A byte no entry starts with becomes its own id in GPT-2's byte
 * alphabet (ids 0..255): real files store every single byte there, while
 * the header-only test files hold U+FFFD in place of the bytes that are not
 * valid UTF-8 alone, so there the id decodes to U+FFFD. */
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "whisper/loader.h"

struct whisper__vocab_index {
    size_t mask;      /* slots - 1; slots is a power of two */
    int32_t *slots;   /* token id or -1 */
    uint32_t max_len; /* longest token */
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static int lookup(const whisper_model *m, const char *p, size_t n)
{
    const struct whisper__vocab_index *ix = m->vocab_index;
    for (size_t s = hash_bytes(p, n) & ix->mask;; s = (s + 1) & ix->mask) {
        int32_t id = ix->slots[s];
        if (id < 0)
            return -1;
        if (m->tokens[id].len == n && memcmp(m->tokens[id].bytes, p, n) == 0)
            return id;
    }
}

void whisper__vocab_index_free(struct whisper__vocab_index *ix)
{
    if (!ix)
        return;
    free(ix->slots);
    free(ix);
}

int whisper__vocab_index_build(whisper_model *m, char *err, size_t errlen)
{
    size_t n_slots = 16;
    while (n_slots < 2 * (size_t)m->n_text_tokens)
        n_slots *= 2;
    struct whisper__vocab_index *ix = calloc(1, sizeof *ix);
    int32_t *slots = malloc(n_slots * sizeof *slots);
    if (!ix || !slots) {
        free(ix);
        free(slots);
        return util_errf(err, errlen, WHISPER_ERR_NOMEM, "%s: out of memory for the vocabulary",
                         m->path);
    }
    memset(slots, 0xff, n_slots * sizeof *slots);
    *ix = (struct whisper__vocab_index){n_slots - 1, slots, 0};
    m->vocab_index = ix;
    int n = m->n_text_tokens < m->special.eot ? m->n_text_tokens : m->special.eot;
    for (int id = 0; id < n; id++) {
        const whisper__token *t = &m->tokens[id];
        if (t->len == 0 || lookup(m, t->bytes, t->len) >= 0)
            continue; /* the first of duplicate entries wins */
        size_t s = hash_bytes(t->bytes, t->len) & ix->mask;
        while (slots[s] >= 0)
            s = (s + 1) & ix->mask;
        slots[s] = id;
        if (t->len > ix->max_len)
            ix->max_len = t->len;
    }
    return WHISPER_OK;
}

enum { C_SPACE, C_LETTER, C_DIGIT, C_OTHER };

static int char_class(unsigned char c)
{
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return C_SPACE;
    if (c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return C_LETTER;
    if (c >= '0' && c <= '9')
        return C_DIGIT;
    return C_OTHER;
}

static size_t contraction(const char *s, size_t n)
{
    if (n < 2 || s[0] != '\'')
        return 0;
    if (strchr("stmd", s[1]) && s[1] != '\0')
        return 2;
    if (n >= 3 && ((s[1] == 'r' && s[2] == 'e') || (s[1] == 'v' && s[2] == 'e') ||
                   (s[1] == 'l' && s[2] == 'l')))
        return 3;
    return 0;
}

/* Length of the pre-tokeniser piece starting at s (n > 0 bytes left). */
static size_t piece_len(const char *s, size_t n)
{
    size_t k = contraction(s, n);
    if (k)
        return k;
    size_t i = (s[0] == ' ' && n > 1 && char_class((unsigned char)s[1]) != C_SPACE) ? 1 : 0;
    int c = char_class((unsigned char)s[i]);
    if (c != C_SPACE) {
        while (i < n && char_class((unsigned char)s[i]) == c)
            i++;
        return i;
    }
    while (i < n && char_class((unsigned char)s[i]) == C_SPACE)
        i++;
    /* a run before more text leaves its last character to what follows */
    return (i < n && i > 1) ? i - 1 : i;
}

/* GPT-2's byte alphabet: ids 0..187 are the bytes printable in Latin-1
 * (33..126, 161..172, 174..255) in order, ids 188..255 the other 68 bytes
 * in increasing order (0..32, 127..160, 173). */
int whisper__byte_token_id(unsigned char b)
{
    if (b >= 33 && b <= 126)
        return b - 33;
    if (b >= 161 && b <= 172)
        return 94 + (b - 161);
    if (b >= 174)
        return 106 + (b - 174);
    if (b <= 32)
        return 188 + b;
    if (b <= 160)
        return 221 + (b - 127);
    return 255; /* 173, the soft hyphen */
}

/* Splits one piece by longest match, appending ids (up to cap). */
static int split_piece(const whisper_model *m, const char *p, size_t n, int *ids, int cap,
                       int count)
{
    const struct whisper__vocab_index *ix = m->vocab_index;
    size_t i = 0;
    while (i < n) {
        size_t len = n - i < ix->max_len ? n - i : ix->max_len;
        int id = -1;
        while (len > 0 && (id = lookup(m, p + i, len)) < 0)
            len--;
        if (id >= 0) {
            i += len;
        } else {
            id = whisper__byte_token_id((unsigned char)p[i]);
            i++;
        }
        if (ids && count < cap)
            ids[count] = id;
        if (count == INT32_MAX)
            return -1;
        count++;
    }
    return count;
}

int whisper_tokenize(const whisper_model *m, const char *text, int *ids, int cap)
{
    if (!m || !text || !m->vocab_index || cap < 0)
        return -1;
    size_t n = strlen(text);
    int count = 0;
    for (size_t i = 0; i < n;) {
        size_t k = piece_len(text + i, n - i);
        count = split_piece(m, text + i, k, ids, cap, count);
        if (count < 0)
            return -1;
        i += k;
    }
    return count;
}
