/* cache: rendered bodies of finished jobs for GET /jobs/{id}. A finished
 * job's body includes its transcript as plain text, which costs a JSON parse
 * and a rendering; clients poll a job until they see it finished and then
 * read it again, so the same body is asked for repeatedly. Only final
 * statuses are cached, keyed by id and updated_at: a final row changes only
 * through a retry or a purge, and both change the key (status, updated_at)
 * or remove the row, so a stale body cannot be served. */
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

#define MAX_CACHED_BODY (256 * 1024)

static size_t slot_of(const char *id)
{
    size_t h = 5381;
    for (const char *p = id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % SERVER__CACHE_SLOTS;
}

static bool cacheable(const store_job *j)
{
    return j->id && j->updated_at && strlen(j->updated_at) < SERVER__CACHE_TS_MAX &&
           (j->status == STORE_STATUS_COMPLETED || j->status == STORE_STATUS_PARTIAL ||
            j->status == STORE_STATUS_ERROR || j->status == STORE_STATUS_CANCELLED);
}

char *server__cache_get(server *s, const store_job *j, size_t *len)
{
    if (!cacheable(j))
        return NULL;
    char *copy = NULL;
    server__cache_entry *e = &s->cache[slot_of(j->id)];
    pthread_mutex_lock(&s->cache_lock);
    if (e->body && strcmp(e->id, j->id) == 0 && strcmp(e->updated_at, j->updated_at) == 0 &&
        e->status == j->status) {
        copy = malloc(e->len + 1);
        if (copy) {
            memcpy(copy, e->body, e->len + 1);
            *len = e->len;
        }
    }
    pthread_mutex_unlock(&s->cache_lock);
    return copy;
}

void server__cache_put(server *s, const store_job *j, const char *body, size_t len)
{
    if (!cacheable(j) || len > MAX_CACHED_BODY)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, body, len);
    copy[len] = '\0';
    server__cache_entry *e = &s->cache[slot_of(j->id)];
    pthread_mutex_lock(&s->cache_lock);
    free(e->body);
    e->body = copy;
    e->len = len;
    e->status = j->status;
    memcpy(e->id, j->id, STORE_ID_LEN);
    e->id[STORE_ID_LEN] = '\0';
    strcpy(e->updated_at, j->updated_at);
    pthread_mutex_unlock(&s->cache_lock);
}

void server__cache_clear(server *s)
{
    for (size_t i = 0; i < SERVER__CACHE_SLOTS; i++) {
        free(s->cache[i].body);
        s->cache[i].body = NULL;
    }
}
