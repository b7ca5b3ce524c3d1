/* cursor: the opaque page cursor of store_list_jobs. It names the last job of
 * a page by its position in the list order, (created_at, id), so the next
 * page starts strictly after it however many jobs were inserted meanwhile.
 * Invariant: decode accepts exactly what encode writes — a timestamp in the
 * store's fixed form, '~', and a job id — so a cursor can never smuggle
 * anything else into a query. */
#include "store/store_backend.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define CURSOR_LEN (STORE__TS_LEN + 1 + STORE_ID_LEN)

char *store__cursor_encode(const char *created_at, const char *id)
{
    char *c = malloc(CURSOR_LEN + 1);
    if (!c)
        return NULL;
    memcpy(c, created_at, STORE__TS_LEN);
    c[STORE__TS_LEN] = '~';
    memcpy(c + STORE__TS_LEN + 1, id, STORE_ID_LEN);
    c[CURSOR_LEN] = '\0';
    return c;
}

bool store__cursor_decode(const char *cursor, char *ts, char *id)
{
    if (!cursor || strlen(cursor) != CURSOR_LEN || cursor[STORE__TS_LEN] != '~')
        return false;
    memcpy(ts, cursor, STORE__TS_LEN);
    ts[STORE__TS_LEN] = '\0';
    memcpy(id, cursor + STORE__TS_LEN + 1, STORE_ID_LEN);
    id[STORE_ID_LEN] = '\0';
    long long ms;
    return store__parse_ts(ts, &ms) && store_is_job_id(id);
}
