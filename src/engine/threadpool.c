/*
 * threadpool.c — persistent worker pool with low-latency dispatch.
 *
 * Workers are created once (lx_pool_new) and wait for jobs on a generation
 * counter. lx_pool_run publishes a job (fn, ctx, n tasks), bumps the
 * generation and works on the tasks itself; tasks are handed out through an
 * atomic counter, so with n == threads each thread usually gets one task.
 * A waiting worker first spins on the generation (decode issues a job every
 * few tens of microseconds, and waking a sleeping thread costs more than
 * that), then sleeps on a futex; lx_pool_run only makes the wake-up system
 * call when some worker sleeps. The caller returns once every worker has
 * checked out of the job, so ctx may live on the caller's stack.
 *
 * One pool serves one caller at a time (lx_pool_run is not reentrant).
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/kernels.h"
#include "engine/kernels_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Waiting: SPIN_ROUNDS checks of the flag with a pause between checks;
 * after the first PURE_SPIN checks (some 25 µs, about the gap
 * between two matmuls of a decode step) a sched_yield every YIELD_EVERY
 * checks, so that a thread that lost its CPU (other work on a shared
 * machine, more threads than cores) gets it back; then a futex sleep.
 * About a millisecond of polling in all. */
#define SPIN_ROUNDS 20000
#define PURE_SPIN 500
#define YIELD_EVERY 128

static inline void spin_wait_step(int spins)
{
    if (spins > PURE_SPIN && spins % YIELD_EVERY == 0)
        sched_yield();
    else
        cpu_relax();
}

struct lx_pool {
    int n_threads; /* including the caller */
    pthread_t *th;
    int n_started;

    _Atomic uint32_t gen; /* job generation; futex word */
    _Atomic int sleepers;
    _Atomic int next;    /* next task index of the current job */
    _Atomic int pending; /* workers that have not finished the current job */
    _Atomic int stop;
    _Atomic int caller_sleeps; /* lx_pool_run sleeps on `pending` */

    void (*fn)(void *ctx, int i, int n);
    void *ctx;
    int n_tasks;

    void *scratch;
    size_t scratch_cap;
};

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static void run_tasks(lx_pool *p)
{
    int n = p->n_tasks;
    for (;;) {
        int i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= n)
            break;
        p->fn(p->ctx, i, n);
    }
}

static void *worker(void *arg)
{
    lx_pool *p = arg;
    uint32_t seen = 0; /* gen at creation: no job can be missed */
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) {
                spin_wait_step(spins);
                continue;
            }
            atomic_fetch_add(&p->sleepers, 1);
            futex_wait(&p->gen, seen);
            atomic_fetch_sub(&p->sleepers, 1);
            spins = 0;
        }
        seen = g;
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            break;
        run_tasks(p);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_sleeps))
            futex_wake_all((_Atomic uint32_t *)&p->pending);
    }
    return NULL;
}

lx_pool *lx_pool_new(int n_threads)
{
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads > 512)
        n_threads = 512;
    lx_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n_threads = n_threads;
    if (n_threads > 1) {
        p->th = calloc((size_t)n_threads - 1, sizeof *p->th);
        if (!p->th)
            goto fail;
        for (int i = 0; i < n_threads - 1; i++) {
            if (pthread_create(&p->th[i], NULL, worker, p) != 0)
                goto fail;
            p->n_started++;
        }
    }
    return p;
fail:
    lx_pool_free(p);
    return NULL;
}

void lx_pool_free(lx_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->gen, 1);
    futex_wake_all(&p->gen);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->th[i], NULL);
    free(p->th);
    free(p->scratch);
    free(p);
}

int lx_pool_threads(const lx_pool *p)
{
    return p ? p->n_threads : 1;
}

void lx_pool_run(lx_pool *p, void (*fn)(void *ctx, int i, int n), void *ctx, int n)
{
    if (n <= 0)
        return;
    if (!p || p->n_started == 0 || n == 1) {
        for (int i = 0; i < n; i++)
            fn(ctx, i, n);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->n_started, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: publishes the job above */
    if (atomic_load(&p->sleepers) > 0)
        futex_wake_all(&p->gen);
    run_tasks(p);
    /* spin briefly; a worker that lost its CPU to another process can take
     * long, then sleep until the last worker wakes us */
    for (int spins = 0;; spins++) {
        int left = atomic_load_explicit(&p->pending, memory_order_acquire);
        if (left == 0)
            break;
        if (spins < SPIN_ROUNDS) {
            spin_wait_step(spins);
            continue;
        }
        atomic_store(&p->caller_sleeps, 1);
        if (atomic_load(&p->pending) != 0)
            futex_wait((_Atomic uint32_t *)&p->pending, (uint32_t)left);
        atomic_store(&p->caller_sleeps, 0);
    }
}

void *lx_pool_scratch(lx_pool *p, size_t n)
{
    if (!p)
        return NULL;
    if (n > p->scratch_cap) {
        size_t cap = (n + n / 2 + 4095) & ~(size_t)4095;
        void *m = aligned_alloc(64, cap);
        if (!m)
            return NULL;
        free(p->scratch);
        p->scratch = m;
        p->scratch_cap = cap;
    }
    return p->scratch;
}
