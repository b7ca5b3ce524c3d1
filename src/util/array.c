/* array: the one growth policy for Cesar's growable arrays (segments, words,
 * TOML entries ...), with the size arithmetic checked for overflow once. */
#include "util/util.h"

#include <stdint.h>
#include <stdlib.h>

#define UTIL_ARRAY_INITIAL 16

void *util_array_reserve(void *items, size_t *alloc, size_t used, size_t item_size)
{
    if (used < *alloc)
        return items;
    size_t n = *alloc ? *alloc * 2 : UTIL_ARRAY_INITIAL;
    if (n < *alloc || item_size == 0 || n > SIZE_MAX / item_size)
        return NULL;
    void *p = realloc(items, n * item_size);
    if (p)
        *alloc = n;
    return p;
}
