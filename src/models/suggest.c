/* suggest: "did you mean" for a mistyped model name. The catalog's names are
 * short and differ in small ways ("base.en" / "base-en" / "bsae.en"), so a
 * plain edit distance with a threshold that grows with the name's length
 * finds the intended one; a name that is the start of exactly one entry
 * ("large-v3-t") is offered too. */
#include "models/models.h"

#include <string.h>

/* Levenshtein distance, a transposition of two neighbours counting as one
 * edit (the commonest typo). Both strings are at most MODELS_NAME_MAX. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[MODELS_NAME_MAX + 1][MODELS_NAME_MAX + 1];
    if (la > MODELS_NAME_MAX || lb > MODELS_NAME_MAX)
        return (size_t)-1;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *models_suggest(const models_catalog *c, const char *name)
{
    if (!c || !name || !*name || strlen(name) > MODELS_NAME_MAX)
        return NULL;
    size_t n = strlen(name);
    size_t limit = n <= 4 ? 1 : n <= 8 ? 2 : 3;
    const char *best = NULL, *prefixed = NULL;
    size_t best_d = limit + 1, n_prefixed = 0;
    for (size_t i = 0; i < models_catalog_count(c); i++) {
        const char *cand = models_catalog_at(c, i)->name;
        size_t dist = distance(name, cand);
        if (dist < best_d) {
            best_d = dist;
            best = cand;
        }
        if (strncmp(cand, name, n) == 0) {
            prefixed = cand;
            n_prefixed++;
        }
    }
    if (best)
        return best;
    return n_prefixed == 1 ? prefixed : NULL;
}
