/*
 * test_breaker.c — circuit breakers with a fake clock: opening after N
 * failures within the window (and not when they are spread out), open ->
 * half-open after open_ms, limited probes, a probe's success closing and
 * its failure re-opening, late reports while open ignored, per-model
 * isolation, unreachable marks for offline detection, the router's
 * lx_health view, and many threads at once.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "router/breaker.h"

static int64_t fake_now;
static int64_t fake_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

static lx_breakers *mk(int failures, int64_t window, int64_t open_ms, int probes)
{
    lx_breaker_cfg c = {
        .failures = failures, .window_ms = window, .open_ms = open_ms, .half_open_probes = probes};
    lx_breakers *b = NULL;
    lx_error err;
    cr_assert_eq(lx_breakers_new(&c, &b, &err), LX_OK);
    fake_now = 1000;
    lx_breakers_set_clock(b, fake_clock, NULL);
    return b;
}

static void fail_n(lx_breakers *b, const char *p, const char *m, int n)
{
    for (int i = 0; i < n; i++)
        lx_breakers_report(b, p, m, true, false, fake_now);
}

Test(breaker, opens_after_n_failures_in_window)
{
    lx_breakers *b = mk(3, 1000, 500, 1);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_CLOSED);
    fail_n(b, "p", "m", 2);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_CLOSED);
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now));
    fail_n(b, "p", "m", 1);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_OPEN);
    cr_assert_not(lx_breakers_allow(b, "p", "m", fake_now));
    lx_breakers_free(b);
}

Test(breaker, spread_out_failures_do_not_open)
{
    lx_breakers *b = mk(3, 1000, 500, 1);
    for (int i = 0; i < 10; i++) {
        fail_n(b, "p", "m", 1);
        fake_now += 600; /* never 3 within 1000 ms */
    }
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_CLOSED);
    lx_breakers_free(b);
}

Test(breaker, successes_do_not_count_as_failures)
{
    lx_breakers *b = mk(2, 1000, 500, 1);
    fail_n(b, "p", "m", 1);
    for (int i = 0; i < 5; i++)
        lx_breakers_report(b, "p", "m", false, false, fake_now);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_CLOSED);
    fail_n(b, "p", "m", 1);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_OPEN);
    lx_breakers_free(b);
}

Test(breaker, half_open_after_open_ms_and_probe_success_closes)
{
    lx_breakers *b = mk(1, 1000, 500, 1);
    fail_n(b, "p", "m", 1);
    fake_now += 499;
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_OPEN);
    fake_now += 1;
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_HALF_OPEN);
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now), "the first probe goes");
    cr_assert_not(lx_breakers_allow(b, "p", "m", fake_now), "one probe at a time");
    lx_breakers_report(b, "p", "m", false, false, fake_now);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_CLOSED);
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now));
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now));
    lx_breakers_free(b);
}

Test(breaker, probe_failure_reopens_for_another_open_ms)
{
    lx_breakers *b = mk(1, 1000, 500, 2);
    fail_n(b, "p", "m", 1);
    fake_now += 500;
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now));
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now), "two probes allowed");
    cr_assert_not(lx_breakers_allow(b, "p", "m", fake_now));
    lx_breakers_report(b, "p", "m", true, false, fake_now);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_OPEN);
    /* the other probe's late failure does not extend the outage */
    fake_now += 300;
    lx_breakers_report(b, "p", "m", true, false, fake_now);
    fake_now += 200;
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_HALF_OPEN);
    lx_breakers_free(b);
}

Test(breaker, release_gives_the_probe_back)
{
    lx_breakers *b = mk(1, 1000, 500, 1);
    fail_n(b, "p", "m", 1);
    fake_now += 500;
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now));
    cr_assert_not(lx_breakers_allow(b, "p", "m", fake_now));
    lx_breakers_release(b, "p", "m", fake_now);
    cr_assert_eq(lx_breakers_state(b, "p", "m", fake_now), LX_BREAKER_HALF_OPEN);
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now));
    lx_breakers_free(b);
}

Test(breaker, models_are_independent)
{
    lx_breakers *b = mk(2, 1000, 500, 1);
    fail_n(b, "p", "a", 2);
    cr_assert_eq(lx_breakers_state(b, "p", "a", fake_now), LX_BREAKER_OPEN);
    cr_assert_eq(lx_breakers_state(b, "p", "b", fake_now), LX_BREAKER_CLOSED);
    cr_assert_eq(lx_breakers_state(b, "q", "a", fake_now), LX_BREAKER_CLOSED);
    /* "p/a" + "" vs "p" + "/a": keys cannot collide */
    cr_assert_eq(lx_breakers_state(b, "p/a", "", fake_now), LX_BREAKER_CLOSED);
    lx_breakers_free(b);
}

Test(breaker, health_for_the_router)
{
    lx_breakers *b = mk(1, 1000, 500, 1);
    lx_breakers_set_offline_ms(b, 300);
    lx_provider_cfg p = {.name = "p"}, q = {.name = "q"};
    cr_assert_eq(lx_breakers_health(b, &p, "m"), LX_HEALTH_OK);
    fail_n(b, "p", "m", 1);
    cr_assert_eq(lx_breakers_health(b, &p, "m"), LX_HEALTH_DOWN);
    cr_assert_eq(lx_breakers_health(b, &p, "other"), LX_HEALTH_OK);
    fake_now += 500;
    cr_assert_eq(lx_breakers_health(b, &p, "m"), LX_HEALTH_OK, "half-open, a probe slot free");
    cr_assert(lx_breakers_allow(b, "p", "m", fake_now));
    cr_assert_eq(lx_breakers_health(b, &p, "m"), LX_HEALTH_DOWN, "no probe slot left");

    /* unreachable: the whole provider, for offline_ms, cleared by a success */
    lx_breakers_report(b, "q", "x", true, true, fake_now);
    cr_assert_eq(lx_breakers_health(b, &q, "x"), LX_HEALTH_UNREACHABLE);
    cr_assert_eq(lx_breakers_health(b, &q, "y"), LX_HEALTH_UNREACHABLE);
    fake_now += 299;
    cr_assert_eq(lx_breakers_health(b, &q, "y"), LX_HEALTH_UNREACHABLE);
    fake_now += 1;
    cr_assert_eq(lx_breakers_health(b, &q, "y"), LX_HEALTH_OK);
    lx_breakers_report(b, "q", "x", true, true, fake_now);
    lx_breakers_report(b, "q", "y", false, false, fake_now);
    cr_assert_eq(lx_breakers_health(b, &q, "y"), LX_HEALTH_OK, "a success clears unreachable");
    cr_assert_eq(lx_breakers_health(b, &q, "x"), LX_HEALTH_DOWN, "x's own breaker is open");
    lx_breakers_free(b);
}

Test(breaker, null_breakers_allow_everything)
{
    cr_assert(lx_breakers_allow(NULL, "p", "m", 0));
    cr_assert_eq(lx_breakers_state(NULL, "p", "m", 0), LX_BREAKER_CLOSED);
    lx_provider_cfg p = {.name = "p"};
    cr_assert_eq(lx_breakers_health(NULL, &p, "m"), LX_HEALTH_OK);
    lx_breakers_report(NULL, "p", "m", true, true, 0);
    lx_breakers_free(NULL);
}

Test(breaker, many_models_stay_bounded)
{
    lx_breakers *b = mk(2, 100, 500, 1);
    char m[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(m, sizeof m, "m%d", i);
        lx_breakers_report(b, "p", m, true, false, fake_now);
        fake_now += 1;
    }
    /* recent ones are still tracked */
    lx_breakers_report(b, "p", "m19999", true, false, fake_now);
    cr_assert_eq(lx_breakers_state(b, "p", "m19999", fake_now), LX_BREAKER_OPEN);
    lx_breakers_free(b);
}

typedef struct {
    lx_breakers *b;
    int id;
} thr_arg;

static void *hammer(void *arg)
{
    thr_arg *t = arg;
    char m[16];
    snprintf(m, sizeof m, "m%d", t->id % 4);
    for (int i = 0; i < 20000; i++) {
        int64_t now = lx_breakers_now(t->b);
        if (lx_breakers_allow(t->b, "p", m, now))
            lx_breakers_report(t->b, "p", m, (i % 3) == 0, (i % 7) == 0, now);
        lx_provider_cfg p = {.name = "p"};
        (void)lx_breakers_health(t->b, &p, m);
    }
    return NULL;
}

Test(breaker, threads)
{
    lx_breaker_cfg c = {.failures = 3, .window_ms = 5, .open_ms = 1, .half_open_probes = 2};
    lx_breakers *b = NULL;
    cr_assert_eq(lx_breakers_new(&c, &b, NULL), LX_OK);
    pthread_t th[8];
    thr_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (thr_arg){b, i};
        pthread_create(&th[i], NULL, hammer, &args[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    lx_breakers_free(b);
}
