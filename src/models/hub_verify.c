/* hub_verify: the scrubbing of a secret (the hub token) out of messages, so
 * that nothing a server echoes back can carry it to a log or a terminal.
 * (The SHA-256 check of a hub download is hub_fetch.c's, over verify.c's
 * block loop.)
 */
#include "models/internal.h"

#include <string.h>

#include "util/util.h"

#define REDACTED "[token]"
#define REDACT_MIN_LEN 4 /* shorter "secrets" would blank out ordinary words */

void models__redact(char *msg, size_t cap, const char *secret)
{
    if (!msg || !secret || cap == 0)
        return;
    size_t slen = strlen(secret), rlen = strlen(REDACTED);
    if (slen < REDACT_MIN_LEN)
        return;
    char *hit;
    char *from = msg;
    while ((hit = strstr(from, secret)) != NULL) {
        size_t tail = strlen(hit + slen);
        size_t room = cap - (size_t)(hit - msg) - 1; /* bytes usable from hit on */
        if (rlen > room)
            rlen = room;
        size_t keep = tail < room - rlen ? tail : room - rlen;
        memmove(hit + rlen, hit + slen, keep);
        memcpy(hit, REDACTED, rlen);
        hit[rlen + keep] = '\0';
        from = hit + rlen;
    }
}
