/*
 * breaker.c — circuit breakers per provider/model, in memory.
 *
 * One hash table (chained, 256 buckets) of entries keyed "provider/model";
 * the per-provider "unreachable" mark lives in an entry keyed
 * "provider/" (empty model). Every entry keeps the times of its last
 * `failures` failures in a ring, so "N failures within window_ms" is one
 * comparison: the oldest of the last N is younger than the window.
 *
 * Transitions happen lazily when an entry is looked at (no timers):
 *   closed    --N failures within window-->         open (opened_at = now)
 *   open      --now >= opened_at + open_ms-->       half-open (no probe out)
 *   half-open --a probe succeeds-->                 closed (ring cleared)
 *   half-open --a probe fails-->                    open (opened_at = now)
 * Reports that arrive while open (calls that started before it opened) are
 * ignored, so a burst of late failures does not keep extending the outage.
 *
 * Health for the router: open, or half-open with every probe slot taken,
 * is DOWN; half-open with a free slot is OK so that the primary keeps its
 * place in the plan and the next request probes it.
 *
 * The table is bounded: past MAX_ENTRIES, closed entries with no recent
 * failure are dropped before a new one is added (clients that send a new
 * model name on every request to an "any model" provider cannot grow it).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router/breaker.h"

#define N_BUCKETS 256
#define MAX_ENTRIES 4096
#define MAX_RING 64

typedef struct entry {
    struct entry *next;
    char *key;
    lx_breaker_state state;
    int64_t ring[MAX_RING]; /* failure times, ring of min(cfg.failures, MAX_RING) */
    int ring_n, ring_pos;
    int64_t opened_at;
    int probes;             /* half-open probes in flight */
    int64_t unreachable_at; /* provider entries: last connection-level failure; 0 = none */
    int64_t last_failure;
} entry;

struct lx_breakers {
    pthread_mutex_t mu;
    lx_breaker_cfg cfg;
    int64_t offline_ms;
    int64_t (*clock)(void *ud);
    void *clock_ud;
    entry *buckets[N_BUCKETS];
    size_t n_entries;
};

static int64_t mono_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

lx_status lx_breakers_new(const lx_breaker_cfg *cfg, lx_breakers **out, lx_error *err)
{
    *out = NULL;
    lx_breakers *b = calloc(1, sizeof *b);
    if (!b)
        return lx_fail(err, LX_ERR_NOMEM, "out of memory");
    b->cfg = cfg ? *cfg
                 : (lx_breaker_cfg){
                       .failures = 5, .window_ms = 30000, .open_ms = 15000, .half_open_probes = 1};
    if (b->cfg.failures < 1)
        b->cfg.failures = 1;
    if (b->cfg.failures > MAX_RING)
        b->cfg.failures = MAX_RING;
    if (b->cfg.half_open_probes < 1)
        b->cfg.half_open_probes = 1;
    b->offline_ms = 5000;
    b->clock = mono_ms;
    pthread_mutex_init(&b->mu, NULL);
    *out = b;
    return LX_OK;
}

void lx_breakers_free(lx_breakers *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        entry *e = b->buckets[i];
        while (e) {
            entry *n = e->next;
            free(e->key);
            free(e);
            e = n;
        }
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

int64_t lx_breakers_now(lx_breakers *b)
{
    return b ? b->clock(b->clock_ud) : mono_ms(NULL);
}

void lx_breakers_set_clock(lx_breakers *b, int64_t (*now)(void *ud), void *ud)
{
    pthread_mutex_lock(&b->mu);
    b->clock = now ? now : mono_ms;
    b->clock_ud = now ? ud : NULL;
    pthread_mutex_unlock(&b->mu);
}

void lx_breakers_set_offline_ms(lx_breakers *b, int64_t ms)
{
    pthread_mutex_lock(&b->mu);
    b->offline_ms = ms > 0 ? ms : 5000;
    pthread_mutex_unlock(&b->mu);
}

static uint64_t hash2(const char *a, const char *c)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = a; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *s = c; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool key_eq(const char *key, const char *p, const char *m)
{
    size_t lp = strlen(p);
    return strncmp(key, p, lp) == 0 && key[lp] == '/' && strcmp(key + lp + 1, m) == 0;
}

/* Drops closed entries without a failure in the window (mutex held). */
static void prune(lx_breakers *b, int64_t now)
{
    for (size_t i = 0; i < N_BUCKETS; i++) {
        entry **pe = &b->buckets[i];
        while (*pe) {
            entry *e = *pe;
            bool idle = e->state == LX_BREAKER_CLOSED && now - e->last_failure > b->cfg.window_ms &&
                        (e->unreachable_at == 0 || now - e->unreachable_at > b->offline_ms);
            if (idle) {
                *pe = e->next;
                free(e->key);
                free(e);
                b->n_entries--;
            } else {
                pe = &e->next;
            }
        }
    }
}

/* The entry of provider/model, created when `create` (mutex held); NULL
 * when absent (or out of memory). */
static entry *find(lx_breakers *b, const char *p, const char *m, bool create, int64_t now)
{
    if (!p)
        p = "";
    if (!m)
        m = "";
    uint64_t h = hash2(p, m) % N_BUCKETS;
    for (entry *e = b->buckets[h]; e; e = e->next)
        if (key_eq(e->key, p, m))
            return e;
    if (!create)
        return NULL;
    if (b->n_entries >= MAX_ENTRIES)
        prune(b, now);
    if (b->n_entries >= MAX_ENTRIES)
        return NULL;
    entry *e = calloc(1, sizeof *e);
    size_t lp = strlen(p), lm = strlen(m);
    char *key = e ? malloc(lp + lm + 2) : NULL;
    if (!key) {
        free(e);
        return NULL;
    }
    memcpy(key, p, lp);
    key[lp] = '/';
    memcpy(key + lp + 1, m, lm + 1);
    e->key = key;
    e->last_failure = INT64_MIN / 2;
    e->next = b->buckets[h];
    b->buckets[h] = e;
    b->n_entries++;
    return e;
}

/* Applies the open -> half-open timeout (mutex held). */
static lx_breaker_state settle(lx_breakers *b, entry *e, int64_t now)
{
    if (e->state == LX_BREAKER_OPEN && now - e->opened_at >= b->cfg.open_ms) {
        e->state = LX_BREAKER_HALF_OPEN;
        e->probes = 0;
    }
    return e->state;
}

lx_breaker_state lx_breakers_state(lx_breakers *b, const char *provider, const char *model,
                                   int64_t now_ms)
{
    if (!b)
        return LX_BREAKER_CLOSED;
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, provider, model, false, now_ms);
    lx_breaker_state s = e ? settle(b, e, now_ms) : LX_BREAKER_CLOSED;
    pthread_mutex_unlock(&b->mu);
    return s;
}

lx_health lx_breakers_health(void *ud, const lx_provider_cfg *p, const char *model)
{
    lx_breakers *b = ud;
    if (!b || !p)
        return LX_HEALTH_OK;
    int64_t now = lx_breakers_now(b);
    lx_health h = LX_HEALTH_OK;
    pthread_mutex_lock(&b->mu);
    entry *pe = find(b, p->name, "", false, now);
    if (pe && pe->unreachable_at && now - pe->unreachable_at < b->offline_ms) {
        h = LX_HEALTH_UNREACHABLE;
    } else {
        entry *e = find(b, p->name, model, false, now);
        if (e) {
            switch (settle(b, e, now)) {
            case LX_BREAKER_OPEN:
                h = LX_HEALTH_DOWN;
                break;
            case LX_BREAKER_HALF_OPEN:
                /* A free probe slot is reported OK, not PROBING: the router
                 * puts PROBING targets after healthy peers, and then no
                 * request would ever probe a primary that has a healthy
                 * fallback. The request that takes the slot
                 * (lx_breakers_allow) is the probe; the others find it DOWN. */
                h = e->probes < b->cfg.half_open_probes ? LX_HEALTH_OK : LX_HEALTH_DOWN;
                break;
            default:
                break;
            }
        }
    }
    pthread_mutex_unlock(&b->mu);
    return h;
}

bool lx_breakers_allow(lx_breakers *b, const char *provider, const char *model, int64_t now_ms)
{
    if (!b)
        return true;
    bool ok = true;
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, provider, model, false, now_ms);
    if (e) {
        switch (settle(b, e, now_ms)) {
        case LX_BREAKER_OPEN:
            ok = false;
            break;
        case LX_BREAKER_HALF_OPEN:
            ok = e->probes < b->cfg.half_open_probes;
            if (ok)
                e->probes++;
            break;
        default:
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

static void clear_ring(entry *e)
{
    e->ring_n = e->ring_pos = 0;
}

void lx_breakers_report(lx_breakers *b, const char *provider, const char *model, bool failure,
                        bool unreachable, int64_t now_ms)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    /* provider-wide reachability */
    if (unreachable) {
        entry *pe = find(b, provider, "", true, now_ms);
        if (pe)
            pe->unreachable_at = now_ms ? now_ms : 1;
    } else if (!failure) {
        entry *pe = find(b, provider, "", false, now_ms);
        if (pe)
            pe->unreachable_at = 0;
    }
    entry *e = find(b, provider, model, failure, now_ms);
    if (!e)
        goto out;
    switch (settle(b, e, now_ms)) {
    case LX_BREAKER_HALF_OPEN:
        if (e->probes > 0)
            e->probes--;
        if (failure) {
            e->state = LX_BREAKER_OPEN;
            e->opened_at = now_ms;
            e->last_failure = now_ms;
        } else {
            e->state = LX_BREAKER_CLOSED;
        }
        clear_ring(e);
        break;
    case LX_BREAKER_CLOSED:
        if (!failure)
            break;
        e->last_failure = now_ms;
        e->ring[e->ring_pos] = now_ms;
        e->ring_pos = (e->ring_pos + 1) % b->cfg.failures;
        if (e->ring_n < b->cfg.failures)
            e->ring_n++;
        /* full ring: ring_pos now points at the oldest of the last N */
        if (e->ring_n == b->cfg.failures && now_ms - e->ring[e->ring_pos] < b->cfg.window_ms) {
            e->state = LX_BREAKER_OPEN;
            e->opened_at = now_ms;
            clear_ring(e);
        }
        break;
    case LX_BREAKER_OPEN:
        break; /* a call that started before it opened */
    }
out:
    pthread_mutex_unlock(&b->mu);
}

void lx_breakers_release(lx_breakers *b, const char *provider, const char *model, int64_t now_ms)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    entry *e = find(b, provider, model, false, now_ms);
    if (e && settle(b, e, now_ms) == LX_BREAKER_HALF_OPEN && e->probes > 0)
        e->probes--;
    pthread_mutex_unlock(&b->mu);
}
