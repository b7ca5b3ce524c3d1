/* pool: a fixed set of worker threads that run one function on every thread
 * at once (fork-join), for the network's matrix and attention work.
 *
 * A decoder step makes about fifty fork-joins of tens of microseconds each,
 * so waking a sleeping thread through the kernel every time would cost as
 * much as the work: workers spin on a generation counter for a while after
 * each job and only then sleep on the condition variable. The caller is
 * thread 0 and takes its share of every job.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "whisper/compute.h"

/* Pause iterations before a waiting thread gives up its CPU (some tens of
 * microseconds: longer spins only burn time slices other processes need on
 * a shared machine). */
#define POOL_SPIN 4000

struct whisper__pool {
    int n;
    pthread_t *threads;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sleepers;
    atomic_uint gen;
    atomic_int pending;
    atomic_bool quit;
    whisper__task_fn fn;
    void *ctx;
};

typedef struct {
    whisper__pool *p;
    int index;
} pool_arg;

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until the generation moves past seen (or quit); returns the new one. */
static unsigned pool_wait_job(whisper__pool *p, unsigned seen)
{
    for (int i = 0; i < POOL_SPIN; i++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen || atomic_load(&p->quit))
            return g;
        pool_relax();
    }
    pthread_mutex_lock(&p->mu);
    p->sleepers++;
    while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
        pthread_cond_wait(&p->cv, &p->mu);
    p->sleepers--;
    pthread_mutex_unlock(&p->mu);
    return atomic_load_explicit(&p->gen, memory_order_acquire);
}

static void *pool_main(void *arg)
{
    pool_arg *a = arg;
    whisper__pool *p = a->p;
    int index = a->index;
    free(a);
    unsigned seen = 0;
    for (;;) {
        seen = pool_wait_job(p, seen);
        if (atomic_load(&p->quit))
            break;
        p->fn(p->ctx, index, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

int whisper__pool_new(whisper__pool **out, int n_threads)
{
    *out = NULL;
    whisper__pool *p = calloc(1, sizeof *p);
    if (!p)
        return WHISPER_ERR_NOMEM;
    p->n = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, false);
    int rc = WHISPER_OK;
    if (p->n > 1) {
        p->threads = calloc((size_t)p->n - 1, sizeof *p->threads);
        if (!p->threads) {
            rc = WHISPER_ERR_NOMEM;
            goto cleanup;
        }
    }
    for (int i = 1; i < p->n; i++) {
        pool_arg *a = malloc(sizeof *a);
        if (!a) {
            rc = WHISPER_ERR_NOMEM;
            goto cleanup;
        }
        a->p = p;
        a->index = i;
        if (pthread_create(&p->threads[i - 1], NULL, pool_main, a) != 0) {
            free(a);
            rc = WHISPER_ERR_NOMEM;
            goto cleanup;
        }
        p->started++;
    }
cleanup:
    if (rc != WHISPER_OK) {
        whisper__pool_free(p);
        return rc;
    }
    *out = p;
    return WHISPER_OK;
}

void whisper__pool_free(whisper__pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int whisper__pool_size(const whisper__pool *p)
{
    return p ? p->n : 1;
}

void whisper__pool_run(whisper__pool *p, whisper__task_fn fn, void *ctx)
{
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    pthread_mutex_lock(&p->mu);
    if (p->sleepers > 0)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    for (long spins = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spins++) {
        if (spins < POOL_SPIN)
            pool_relax();
        else
            sched_yield();
    }
}
