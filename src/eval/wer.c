/* wer: word error rate between a reference and a hypothesis transcript.
 *
 * Both texts are first normalised into word lists (see eval_normalize_words)
 * so that case, punctuation and the sentence/utterance markers of the
 * Sphinx-style reference files do not count as errors. The alignment is a
 * plain Levenshtein distance over words. Only two rows of the table are kept,
 * each cell carrying the S/D/I counts of its best path, so memory stays
 * O(hypothesis length) even for hour-long transcripts.
 *
 * Tie rule (any consistent one gives the same total; this one fixes how the
 * total splits into S/D/I): among equally cheap moves prefer the diagonal
 * (match or substitution), then a deletion, then an insertion.
 */
#include "eval/eval.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

const char *eval_strerror(int code)
{
    switch (code) {
    case EVAL_OK:
        return "ok";
    case EVAL_ERR_NOMEM:
        return "out of memory";
    case EVAL_ERR_INVALID:
        return "invalid argument";
    case EVAL_ERR_IO:
        return "cannot read file";
    case EVAL_ERR_PARSE:
        return "malformed input";
    default:
        return "unknown error";
    }
}

double eval_wer_rate(const eval_wer_counts *c)
{
    if (!c)
        return NAN;
    size_t errors = c->substitutions + c->deletions + c->insertions;
    if (c->reference_words == 0)
        return errors == 0 ? 0.0 : INFINITY;
    return (double)errors / (double)c->reference_words;
}

/* ---- normalisation ---------------------------------------------------- */

/* Characters that join words rather than end them: "cold-hearted" is two
 * words in the LibriSpeech-style references, so these become spaces instead
 * of vanishing. */
static bool is_separator_punct(unsigned char c)
{
    return c == '-' || c == '/' || c == '_' || c == '\\';
}

/* Bytes kept inside a word: ASCII letters and digits, and every non-ASCII
 * byte, so UTF-8 letters pass through untouched. */
static bool is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

/* Length of text after dropping trailing white space and a trailing
 * "(utterance-id)" group, which must be a single token in parentheses. */
static size_t strip_uttid(const char *text)
{
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        n--;
    if (n == 0 || text[n - 1] != ')')
        return n;
    size_t open = n - 1;
    while (open > 0 && text[open - 1] != '(') {
        unsigned char c = (unsigned char)text[open - 1];
        if (isspace(c) || c == ')')
            return n; /* not one token: leave the text alone */
        open--;
    }
    if (open == 0)
        return n; /* no opening parenthesis */
    open--;       /* index of '(' */
    if (open > 0 && !isspace((unsigned char)text[open - 1]))
        return n; /* glued to a word: "word(2)" is not an utterance id */
    return open;
}

/* Cleans one piece of a token (lower-cased, no separators) in place:
 * drops punctuation, keeping an apostrophe only between two word bytes.
 * Also folds the UTF-8 right single quote (U+2019) into an apostrophe. */
static void clean_token(char *tok)
{
    size_t r = 0, w = 0, n = strlen(tok);
    while (r < n) {
        unsigned char c = (unsigned char)tok[r];
        if (c == 0xE2 && r + 2 < n && (unsigned char)tok[r + 1] == 0x80 &&
            (unsigned char)tok[r + 2] == 0x99) {
            c = '\'';
            r += 2;
        }
        if (is_word_byte(c)) {
            tok[w++] = (char)c;
        } else if (c == '\'' && w > 0 && is_word_byte((unsigned char)tok[w - 1]) && r + 1 < n &&
                   is_word_byte((unsigned char)tok[r + 1])) {
            tok[w++] = '\'';
        }
        r++;
    }
    tok[w] = '\0';
}

static int push_word(char ***words, size_t *n, size_t *alloc, const char *w)
{
    char **grown = util_array_reserve(*words, alloc, *n, sizeof *grown);
    if (!grown)
        return EVAL_ERR_NOMEM;
    *words = grown;
    char *copy = strdup(w);
    if (!copy)
        return EVAL_ERR_NOMEM;
    (*words)[(*n)++] = copy;
    return EVAL_OK;
}

/* Splits one white-space token at separator punctuation and pushes each
 * cleaned, non-empty piece. Modifies tok. */
static int push_pieces(char ***words, size_t *n, size_t *alloc, char *tok)
{
    char *piece = tok;
    for (char *c = tok;; c++) {
        bool at_end = *c == '\0';
        if (!at_end && !is_separator_punct((unsigned char)*c))
            continue;
        *c = '\0';
        clean_token(piece);
        if (piece[0] != '\0') {
            int rc = push_word(words, n, alloc, piece);
            if (rc != EVAL_OK)
                return rc;
        }
        if (at_end)
            return EVAL_OK;
        piece = c + 1;
    }
}

int eval_normalize_words(const char *text, char ***words, size_t *n)
{
    if (words)
        *words = NULL;
    if (n)
        *n = 0;
    if (!text || !words || !n)
        return EVAL_ERR_INVALID;

    size_t len = strip_uttid(text);
    char *copy = malloc(len + 1);
    if (!copy)
        return EVAL_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        copy[i] = (char)tolower(c);
    }
    copy[len] = '\0';

    char **out = NULL;
    size_t count = 0, alloc = 0;
    int rc = EVAL_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t\r\n\f\v", &save); tok;
         tok = strtok_r(NULL, " \t\r\n\f\v", &save)) {
        /* Sentence markers are checked before cleaning, which would turn
         * "<s>" into the word "s". */
        if (strcmp(tok, "<s>") == 0 || strcmp(tok, "</s>") == 0 || strcmp(tok, "<sil>") == 0)
            continue;
        rc = push_pieces(&out, &count, &alloc, tok);
        if (rc != EVAL_OK)
            goto cleanup;
    }

cleanup:
    free(copy);
    if (rc != EVAL_OK) {
        eval_words_free(out, count);
        return rc;
    }
    *words = out;
    *n = count;
    return EVAL_OK;
}

void eval_words_free(char **words, size_t n)
{
    if (!words)
        return;
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

/* ---- alignment -------------------------------------------------------- */

typedef struct {
    size_t cost, s, d, i;
} cell;

/* Aligns ref (n words) with hyp (m words) and adds the counts to *acc. */
static int align(char **ref, size_t n, char **hyp, size_t m, eval_wer_counts *acc)
{
    if (m + 1 > SIZE_MAX / (2 * sizeof(cell)))
        return EVAL_ERR_NOMEM;
    cell *prev = malloc((m + 1) * sizeof *prev);
    cell *cur = malloc((m + 1) * sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return EVAL_ERR_NOMEM;
    }
    /* Row 0: reaching hyp[0..j) from an empty reference takes j insertions. */
    for (size_t j = 0; j <= m; j++)
        prev[j] = (cell){j, 0, 0, j};
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (cell){i, 0, i, 0};
        for (size_t j = 1; j <= m; j++) {
            bool same = strcmp(ref[i - 1], hyp[j - 1]) == 0;
            cell best = prev[j - 1];
            if (!same) {
                best.cost++;
                best.s++;
            }
            cell del = prev[j];
            del.cost++;
            del.d++;
            if (del.cost < best.cost)
                best = del;
            cell ins = cur[j - 1];
            ins.cost++;
            ins.i++;
            if (ins.cost < best.cost)
                best = ins;
            cur[j] = best;
        }
        cell *t = prev;
        prev = cur;
        cur = t;
    }
    acc->substitutions += prev[m].s;
    acc->deletions += prev[m].d;
    acc->insertions += prev[m].i;
    acc->reference_words += n;
    free(prev);
    free(cur);
    return EVAL_OK;
}

int eval_wer_add(const char *reference, const char *hypothesis, eval_wer_counts *acc)
{
    if (!reference || !hypothesis || !acc)
        return EVAL_ERR_INVALID;
    char **ref = NULL, **hyp = NULL;
    size_t n = 0, m = 0;
    int rc = eval_normalize_words(reference, &ref, &n);
    if (rc != EVAL_OK)
        goto cleanup;
    rc = eval_normalize_words(hypothesis, &hyp, &m);
    if (rc != EVAL_OK)
        goto cleanup;
    rc = align(ref, n, hyp, m, acc);
cleanup:
    eval_words_free(ref, n);
    eval_words_free(hyp, m);
    return rc;
}
