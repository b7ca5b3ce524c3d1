/* emb_pool: the worker threads of one embedder, started the first time a
 * call asks for them and kept until the embedder is closed, so that the
 * trunk's 30-odd parallel steps per chunk (fbank, stem, every convolution)
 * do not each pay for creating and joining threads.
 *
 * A job is fn(arg) run by the caller and by the first n - 1 helpers at
 * once; the callers' jobs take their units of work from a counter of
 * their own, so a helper that could not be started (or runs late) changes
 * who computes a unit, never what it computes. Jobs are announced by
 * bumping a generation number under the mutex; the caller returns once
 * every helper it enlisted has finished. */
#include <pthread.h>
#include <stdlib.h>

#include "pyannote/internal.h"

struct pyannote__emb_pool {
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    pthread_t tid[PYANNOTE__EMB_MAX_THREADS];
    int helpers;       /* threads started */
    unsigned long gen; /* bumped when a job (or the shutdown) is posted */
    int enlisted;      /* helpers 0 .. enlisted-1 take part in the job */
    int running;       /* enlisted helpers not finished yet */
    bool failed, quit;
    void *(*fn)(void *);
    void *arg;
};

typedef struct {
    pyannote__emb_pool *pool;
    int index;
    unsigned long seen; /* the generation when it was started: any later one is news */
} helper_arg;

static void *helper_main(void *p)
{
    helper_arg a = *(helper_arg *)p;
    free(p);
    pyannote__emb_pool *pool = a.pool;
    unsigned long seen = a.seen;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (pool->gen == seen)
            pthread_cond_wait(&pool->start, &pool->mu);
        seen = pool->gen;
        if (pool->quit)
            break;
        if (a.index >= pool->enlisted)
            continue;
        void *(*fn)(void *) = pool->fn;
        void *arg = pool->arg;
        pthread_mutex_unlock(&pool->mu);
        void *r = fn(arg);
        pthread_mutex_lock(&pool->mu);
        pool->failed = pool->failed || r != NULL;
        if (--pool->running == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

pyannote__emb_pool *pyannote__emb_pool_new(void)
{
    pyannote__emb_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    bool mu = pthread_mutex_init(&pool->mu, NULL) == 0;
    bool st = pthread_cond_init(&pool->start, NULL) == 0;
    bool dn = pthread_cond_init(&pool->done, NULL) == 0;
    if (mu && st && dn)
        return pool;
    if (mu)
        pthread_mutex_destroy(&pool->mu);
    if (st)
        pthread_cond_destroy(&pool->start);
    if (dn)
        pthread_cond_destroy(&pool->done);
    free(pool);
    return NULL;
}

void pyannote__emb_pool_free(pyannote__emb_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = true;
    pool->gen++;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->helpers; i++)
        pthread_join(pool->tid[i], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->start);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

/* Starts helpers until there are want of them (fewer when the system
 * refuses: the jobs still complete on the threads there are). Called with
 * no job running, so a new helper only ever sees later generations. */
static void grow(pyannote__emb_pool *pool, int want)
{
    while (pool->helpers < want) {
        helper_arg *a = malloc(sizeof *a);
        if (!a)
            return;
        pthread_mutex_lock(&pool->mu);
        *a = (helper_arg){.pool = pool, .index = pool->helpers, .seen = pool->gen};
        int rc = pthread_create(&pool->tid[pool->helpers], NULL, helper_main, a);
        if (rc == 0)
            pool->helpers++;
        pthread_mutex_unlock(&pool->mu);
        if (rc != 0) {
            free(a);
            return;
        }
    }
}

/* Without a pool: threads created for this job alone. */
static bool run_unpooled(void *(*fn)(void *), void *arg, int n)
{
    pthread_t tid[PYANNOTE__EMB_MAX_THREADS];
    int started = 1;
    for (int t = 1; t < n; t++, started++)
        if (pthread_create(&tid[t], NULL, fn, arg) != 0)
            break;
    bool failed = fn(arg) != NULL;
    for (int t = 1; t < started; t++) {
        void *r = NULL;
        pthread_join(tid[t], &r);
        failed = failed || r != NULL;
    }
    return failed;
}

bool pyannote__emb_parallel(pyannote__emb_pool *pool, void *(*fn)(void *), void *arg, int n_threads)
{
    int n = n_threads < 1
                ? 1
                : (n_threads > PYANNOTE__EMB_MAX_THREADS ? PYANNOTE__EMB_MAX_THREADS : n_threads);
    if (!pool)
        return run_unpooled(fn, arg, n);
    if (n == 1)
        return fn(arg) != NULL;
    grow(pool, n - 1);
    pthread_mutex_lock(&pool->mu);
    int enlisted = pool->helpers < n - 1 ? pool->helpers : n - 1;
    pool->fn = fn;
    pool->arg = arg;
    pool->enlisted = enlisted;
    pool->running = enlisted;
    pool->failed = false;
    pool->gen++;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->mu);
    bool failed = fn(arg) != NULL;
    pthread_mutex_lock(&pool->mu);
    while (pool->running > 0)
        pthread_cond_wait(&pool->done, &pool->mu);
    failed = failed || pool->failed;
    pthread_mutex_unlock(&pool->mu);
    return failed;
}
