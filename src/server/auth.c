/* auth: the API key check. Compared in constant time, so response timing does
 * not reveal how much of a guessed key was right. */
#include <string.h>

#include "server/internal.h"

static bool equal_constant_time(const char *a, size_t na, const char *b, size_t nb)
{
    /* Walk the expected key's length whatever the guess is, and fold the
     * length difference into the result, so only the key's length shows. */
    unsigned char diff = (unsigned char)(na != nb);
    for (size_t i = 0; i < nb; i++) {
        unsigned char x = i < na ? (unsigned char)a[i] : 0;
        diff |= (unsigned char)(x ^ (unsigned char)b[i]);
    }
    return diff == 0;
}

bool server__authorized(const server *s, struct MHD_Connection *c)
{
    if (!s->api_key)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *given = h + 7;
    while (*given == ' ')
        given++;
    return equal_constant_time(given, strlen(given), s->api_key, strlen(s->api_key));
}
