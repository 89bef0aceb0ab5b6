/*
 * bench/route.c — cost of the complexity score (router/complexity.c), and a
 * way to see why a prompt scored as it did.
 *
 *   make BUILD=build-cx build-cx/bench/route && build-cx/bench/route
 *       scores a fixed ~2 KB prompt (mixed prose, a requirement list and a
 *       code snippet) 200 times per run, 101 runs; prints the median and the
 *       best run in microseconds per prompt, and the same for a 64 KB prompt.
 *   build-cx/bench/route "some prompt"
 *       prints the score, the task and every feature that fired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router/complexity.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char chunk[] =
    "We run a small web service that stores orders in Postgres and must answer "
    "within 200 ms. Requirements:\n- it should keep working when the cache is down\n"
    "- it must never lose an order\n1. explain the current design\n2. propose changes\n"
    "```\nfor (int i = 0; i < n; i++) {\n    total += price[i] * qty[i];\n}\n```\n"
    "Why does the nightly job sometimes time out? Summarize the logs in one sentence.\n";

static void bench(size_t size, const char *label)
{
    char *p = malloc(size);
    if (!p)
        return;
    for (size_t i = 0; i < size; i++)
        p[i] = chunk[i % (sizeof chunk - 1)];
    enum { RUNS = 101, ITERS = 200 };
    double t[RUNS];
    volatile double sink = 0;
    for (int r = 0; r < RUNS; r++) {
        lx_complexity c;
        double t0 = now();
        for (int i = 0; i < ITERS; i++) {
            lx_complexity_score(p, size, &c);
            sink += c.score;
        }
        t[r] = (now() - t0) / ITERS * 1e6;
    }
    qsort(t, RUNS, sizeof t[0], cmp);
    printf("complexity %s (%zu bytes): median %.2f us, best %.2f us per prompt\n", label, size,
           t[RUNS / 2], t[0]);
    free(p);
    (void)sink;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        lx_complexity c;
        lx_complexity_score(argv[1], strlen(argv[1]), &c);
        printf("score %.3f (%s) task %s\n", c.score,
               c.score >= LX_COMPLEXITY_THRESHOLD ? "cloud" : "local", c.task);
        for (int i = 0; i < c.n_features; i++)
            printf("  %-22s %+.3f\n", c.features[i].name, c.features[i].weight);
        return 0;
    }
    bench(2048, "2 KB");
    bench(64 * 1024, "64 KB");
    return 0;
}
