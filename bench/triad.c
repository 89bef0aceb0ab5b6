/*
 * triad — STREAM-style triad bandwidth: a[i] = b[i] + s * c[i] over three
 * arrays of doubles, split over N threads (each thread its own contiguous
 * slice, first touched by that thread).
 *
 *   triad [--threads N] [--mb 256] [--reps 10]
 *
 * Bytes counted per repetition: 3 arrays x 8 bytes x n (the STREAM rule:
 * two reads and one write; write-allocate traffic is not counted). Prints
 * one JSON line with the best and the median GB/s over the repetitions.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    double *a, *b, *c;
    size_t lo, hi;
    pthread_barrier_t *bar;
    int reps;
    double *times; /* filled by thread 0 */
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *run(void *arg)
{
    job *j = arg;
    for (size_t i = j->lo; i < j->hi; i++) {
        j->a[i] = 0;
        j->b[i] = 1.0;
        j->c[i] = 2.0;
    }
    for (int r = 0; r <= j->reps; r++) {
        pthread_barrier_wait(j->bar);
        double t0 = now_s();
        const double s = 3.0;
        double *restrict a = j->a;
        const double *restrict b = j->b, *restrict c = j->c;
        for (size_t i = j->lo; i < j->hi; i++)
            a[i] = b[i] + s * c[i];
        pthread_barrier_wait(j->bar);
        if (j->times && r > 0) /* r == 0 is a warm-up */
            j->times[r - 1] = now_s() - t0;
    }
    return NULL;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 10;
    size_t mb = 256;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: triad [--threads N] [--mb MB per array] [--reps R]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || reps < 1 || mb < 1)
        return 2;
    size_t n = mb * 1024 * 1024 / sizeof(double);
    double *a = aligned_alloc(64, n * 8), *b = aligned_alloc(64, n * 8),
           *c = aligned_alloc(64, n * 8);
    double *times = calloc((size_t)reps, sizeof(double));
    job *jobs = calloc((size_t)threads, sizeof(job));
    pthread_t *th = calloc((size_t)threads, sizeof(pthread_t));
    if (!a || !b || !c || !times || !jobs || !th) {
        fprintf(stderr, "triad: out of memory\n");
        return 1;
    }
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){a,
                        b,
                        c,
                        n * (size_t)t / (size_t)threads,
                        n * (size_t)(t + 1) / (size_t)threads,
                        &bar,
                        reps,
                        t == 0 ? times : NULL};
        if (t > 0)
            pthread_create(&th[t], NULL, run, &jobs[t]);
    }
    run(&jobs[0]);
    for (int t = 1; t < threads; t++)
        pthread_join(th[t], NULL);
    qsort(times, (size_t)reps, sizeof(double), cmp);
    double bytes = 3.0 * 8.0 * (double)n;
    printf("{\"bench\":\"triad\",\"threads\":%d,\"mb_per_array\":%zu,\"best_gb_s\":%.2f,"
           "\"median_gb_s\":%.2f}\n",
           threads, mb, bytes / times[0] / 1e9, bytes / times[reps / 2] / 1e9);
    free(a);
    free(b);
    free(c);
    free(times);
    free(jobs);
    free(th);
    return 0;
}
