/*
 * budget.c — budgets and rate limits as store counters.
 *
 * Counters (store.h), per scope S = "*" (global) or "k.<key id>":
 *   usd.day.S    USD in the current UTC day    (window: day number)
 *   usd.month.S  USD in the current UTC month  (window: year*12 + month)
 *   req.min.S    requests in the current minute (window: unix minute)
 *   tok.min.S    tokens in the current minute
 * Only counters with a configured limit are kept. A reservation applies
 * every relevant op in one atomic counter_apply: each op is admitted while
 * its counter is still below the limit (reservations in flight included),
 * so the last request admitted can carry the total over the limit by at
 * most its own reservation: "exceeded by at most one request's maximum
 * cost". A $0 reservation adds no dollar op at all, so it can never fail on
 * a dollar budget; rate limits still apply to it.
 *
 * Settle replaces the reserved amounts with the real ones (the request
 * counter stays: a request happened). A reservation from a window that has
 * since closed settles nothing (the new window starts at 0).
 *
 * At open the dollar counters are seeded from the ledger (spend since the
 * start of the day and of the month), so a restart does not reset spend.
 * Rate windows are fixed minutes (a burst at a minute boundary can reach
 * twice the rate for an instant).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "account/account_int.h"
#include "core/log.h"

enum {
    OP_G_DAY = 1 << 0,
    OP_G_MONTH = 1 << 1,
    OP_K_DAY = 1 << 2,
    OP_K_MONTH = 1 << 3,
    OP_G_RPM = 1 << 4,
    OP_G_TPM = 1 << 5,
    OP_K_RPM = 1 << 6,
    OP_K_TPM = 1 << 7,
};

typedef struct opdesc {
    lx_counter_op op;
    unsigned bit;
    char name[96];
} opdesc;

static const lx_key_cfg *find_key(const lx_config *cfg, const char *id)
{
    if (!id || !id[0])
        return NULL;
    for (size_t i = 0; i < cfg->n_keys; i++)
        if (cfg->keys[i].id && strcmp(cfg->keys[i].id, id) == 0)
            return &cfg->keys[i];
    return NULL;
}

static void add_op(opdesc *d, size_t *n, unsigned bit, const char *kind, const char *key_id,
                   int64_t window, double delta, double limit, lx_ctr_mode mode)
{
    opdesc *o = &d[(*n)++];
    o->bit = bit;
    if (key_id)
        snprintf(o->name, sizeof o->name, "%s.k.%.63s", kind, key_id); /* as in lx_reservation */
    else
        snprintf(o->name, sizeof o->name, "%s.*", kind);
    o->op = (lx_counter_op){
        .name = o->name, .window = window, .delta = delta, .limit = limit, .mode = mode};
}

static void iso_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* When the window of op bit resets, in unix ms. */
static int64_t reset_ms(unsigned bit, const lx_reservation *r)
{
    if (bit & (OP_G_DAY | OP_K_DAY))
        return (r->day + 1) * 86400000LL;
    if (bit & (OP_G_MONTH | OP_K_MONTH))
        return lx_month_start_ms(r->month + 1);
    return (r->minute + 1) * 60000LL;
}

/* "$5.00", or more digits for amounts under a dollar that cents hide
 * ("$0.000075"). */
static void usd_str(double v, char *out, size_t cap)
{
    if (v >= 1 || v <= 0 || fabs(v * 100 - round(v * 100)) < 1e-9)
        snprintf(out, cap, "$%.2f", v);
    else
        snprintf(out, cap, "$%.2g", v);
    if (strchr(out, 'e')) { /* tiny amounts: plain decimals, no trailing zeros */
        snprintf(out, cap, "$%.8f", v);
        size_t n = strlen(out);
        while (n > 3 && out[n - 1] == '0')
            out[--n] = 0;
    }
}

static lx_status limit_error(const opdesc *o, const lx_reservation *r, int64_t now,
                             int64_t *retry_after_s, lx_error *err)
{
    char who[96], when[32];
    const char *key = r->key_id[0] ? r->key_id : NULL;
    unsigned b = o->bit;
    bool global = b & (OP_G_DAY | OP_G_MONTH | OP_G_RPM | OP_G_TPM);
    if (global)
        snprintf(who, sizeof who, "global");
    else
        snprintf(who, sizeof who, "key %s", key ? key : "?");
    int64_t reset = reset_ms(b, r);
    iso_time(reset, when, sizeof when);
    int64_t wait_s = (reset - now + 999) / 1000;
    if (wait_s < 1)
        wait_s = 1;
    if (retry_after_s)
        *retry_after_s = wait_s;
    lx_status st;
    char lim[32], spent[32];
    usd_str(o->op.limit, lim, sizeof lim);
    usd_str(o->op.value, spent, sizeof spent);
    if (b & (OP_G_DAY | OP_K_DAY | OP_G_MONTH | OP_K_MONTH))
        st = lx_fail(err, LX_ERR_LIMIT, "%s %s budget %s reached (%s spent); resets at %s", who,
                     (b & (OP_G_DAY | OP_K_DAY)) ? "day" : "month", lim, spent, when);
    else if (b & (OP_G_RPM | OP_K_RPM))
        st = lx_fail(err, LX_ERR_LIMIT, "%s rate limit %.0f requests/minute reached; resets at %s",
                     who, o->op.limit, when);
    else
        st = lx_fail(err, LX_ERR_LIMIT,
                     "%s rate limit %.0f tokens/minute reached (%.0f used); resets at %s", who,
                     o->op.limit, o->op.value, when);
    if (err)
        err->retry_after_ms = wait_s * 1000;
    return st;
}

lx_status lx_budget_reserve(lx_account *a, const lx_key_cfg *key, double max_usd, int64_t tokens,
                            lx_reservation *r, int64_t *retry_after_s, lx_error *err)
{
    memset(r, 0, sizeof *r);
    if (retry_after_s)
        *retry_after_s = 0;
    if (!a)
        return LX_OK;
    const lx_budget_cfg *g = &a->cfg->budgets;
    if (!(max_usd >= 0) || isinf(max_usd))
        max_usd = 0;
    if (tokens < 0)
        tokens = 0;
    int64_t now = lx_now_ms();
    r->day = lx_day_index(now);
    r->month = lx_month_index(now);
    r->minute = now / 60000;
    if (key && key->id)
        lx_strlcpy(r->key_id, key->id, sizeof r->key_id);
    const char *kid = key && key->id ? key->id : NULL;

    opdesc d[8];
    size_t n = 0;
    if (max_usd > 0) {
        if (g->day_usd > 0)
            add_op(d, &n, OP_G_DAY, "usd.day", NULL, r->day, max_usd, g->day_usd, LX_CTR_LIMIT);
        if (g->month_usd > 0)
            add_op(d, &n, OP_G_MONTH, "usd.month", NULL, r->month, max_usd, g->month_usd,
                   LX_CTR_LIMIT);
        if (kid && key->day_usd > 0)
            add_op(d, &n, OP_K_DAY, "usd.day", kid, r->day, max_usd, key->day_usd, LX_CTR_LIMIT);
        if (kid && key->month_usd > 0)
            add_op(d, &n, OP_K_MONTH, "usd.month", kid, r->month, max_usd, key->month_usd,
                   LX_CTR_LIMIT);
    }
    if (g->rpm > 0)
        add_op(d, &n, OP_G_RPM, "req.min", NULL, r->minute, 1, (double)g->rpm, LX_CTR_LIMIT);
    if (g->tpm > 0 && tokens > 0)
        add_op(d, &n, OP_G_TPM, "tok.min", NULL, r->minute, (double)tokens, (double)g->tpm,
               LX_CTR_LIMIT);
    if (kid && key->rpm > 0)
        add_op(d, &n, OP_K_RPM, "req.min", kid, r->minute, 1, (double)key->rpm, LX_CTR_LIMIT);
    if (kid && key->tpm > 0 && tokens > 0)
        add_op(d, &n, OP_K_TPM, "tok.min", kid, r->minute, (double)tokens, (double)key->tpm,
               LX_CTR_LIMIT);
    if (n == 0) {
        r->active = true;
        return LX_OK;
    }
    lx_counter_op ops[8];
    for (size_t i = 0; i < n; i++)
        ops[i] = d[i].op;
    size_t failed = 0;
    lx_status st = a->store->ops->counter_apply(a->store, ops, n, &failed);
    if (st == LX_ERR_LIMIT) {
        atomic_fetch_add(&a->budget_rejects, 1);
        d[failed].op.value = ops[failed].value;
        return limit_error(&d[failed], r, now, retry_after_s, err);
    }
    if (st != LX_OK)
        return lx_fail(err, st, "budget: out of memory");
    for (size_t i = 0; i < n; i++)
        r->ops |= d[i].bit;
    r->usd = max_usd;
    r->tokens = tokens;
    r->active = true;
    return LX_OK;
}

void lx_budget_settle(lx_account *a, lx_reservation *r, double usd, int64_t tokens)
{
    if (!a || !r || !r->active)
        return;
    r->active = false;
    if (!(usd >= 0) || isinf(usd))
        usd = 0;
    if (tokens < 0)
        tokens = 0;
    const lx_budget_cfg *g = &a->cfg->budgets;
    /* Key counters: those reserved, and those the config limits (a $0
     * reservation that cost something after all). */
    const lx_key_cfg *key = find_key(a->cfg, r->key_id);
    const char *kid = r->key_id[0] ? r->key_id : NULL;
    bool k_day = kid && ((r->ops & OP_K_DAY) || (key && key->day_usd > 0));
    bool k_month = kid && ((r->ops & OP_K_MONTH) || (key && key->month_usd > 0));
    bool k_tpm = kid && ((r->ops & OP_K_TPM) || (key && key->tpm > 0));
    opdesc d[8];
    size_t n = 0;
#define DUSD(bit) (usd - ((r->ops & (bit)) ? r->usd : 0))
#define DTOK(bit) ((double)tokens - ((r->ops & (bit)) ? (double)r->tokens : 0))
    if (g->day_usd > 0)
        add_op(d, &n, OP_G_DAY, "usd.day", NULL, r->day, DUSD(OP_G_DAY), 0, LX_CTR_ADD);
    if (g->month_usd > 0)
        add_op(d, &n, OP_G_MONTH, "usd.month", NULL, r->month, DUSD(OP_G_MONTH), 0, LX_CTR_ADD);
    if (k_day)
        add_op(d, &n, OP_K_DAY, "usd.day", kid, r->day, DUSD(OP_K_DAY), 0, LX_CTR_ADD);
    if (k_month)
        add_op(d, &n, OP_K_MONTH, "usd.month", kid, r->month, DUSD(OP_K_MONTH), 0, LX_CTR_ADD);
    if (g->tpm > 0)
        add_op(d, &n, OP_G_TPM, "tok.min", NULL, r->minute, DTOK(OP_G_TPM), 0, LX_CTR_ADD);
    if (k_tpm)
        add_op(d, &n, OP_K_TPM, "tok.min", kid, r->minute, DTOK(OP_K_TPM), 0, LX_CTR_ADD);
#undef DUSD
#undef DTOK
    lx_counter_op ops[8];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i].op.delta != 0)
            ops[m++] = d[i].op;
    if (m)
        a->store->ops->counter_apply(a->store, ops, m, NULL);
}

bool lx_budget_has_room(lx_account *a, const lx_key_cfg *key)
{
    if (!a)
        return true;
    const lx_budget_cfg *g = &a->cfg->budgets;
    int64_t now = lx_now_ms();
    int64_t day = lx_day_index(now), month = lx_month_index(now);
    const char *kid = key && key->id ? key->id : NULL;
    opdesc d[4];
    size_t n = 0;
    if (g->day_usd > 0)
        add_op(d, &n, OP_G_DAY, "usd.day", NULL, day, 0, g->day_usd, LX_CTR_CHECK);
    if (g->month_usd > 0)
        add_op(d, &n, OP_G_MONTH, "usd.month", NULL, month, 0, g->month_usd, LX_CTR_CHECK);
    if (kid && key->day_usd > 0)
        add_op(d, &n, OP_K_DAY, "usd.day", kid, day, 0, key->day_usd, LX_CTR_CHECK);
    if (kid && key->month_usd > 0)
        add_op(d, &n, OP_K_MONTH, "usd.month", kid, month, 0, key->month_usd, LX_CTR_CHECK);
    if (n == 0)
        return true;
    lx_counter_op ops[4];
    for (size_t i = 0; i < n; i++)
        ops[i] = d[i].op;
    return a->store->ops->counter_apply(a->store, ops, n, NULL) == LX_OK;
}

/* Adds the ledger's spend since `since` to one counter. */
static void seed_one(lx_account *a, const char *kind, const char *key_id, int64_t window,
                     int64_t since)
{
    double usd = 0;
    lx_error e;
    if (a->store->ops->spend(a->store, key_id, since, &usd, &e) != LX_OK) {
        LX_WARN("%s (budget counters start at 0)", e.message);
        return;
    }
    opdesc d[1];
    size_t n = 0;
    add_op(d, &n, 0, kind, key_id, window, usd, 0, LX_CTR_ADD);
    a->store->ops->counter_apply(a->store, &d[0].op, 1, NULL);
}

void lx_budget_seed(lx_account *a)
{
    if (!a->store_ok)
        return;
    int64_t now = lx_now_ms();
    int64_t day = lx_day_index(now), month = lx_month_index(now);
    int64_t day_start = day * 86400000LL, month_start = lx_month_start_ms(month);
    const lx_budget_cfg *g = &a->cfg->budgets;
    if (g->day_usd > 0)
        seed_one(a, "usd.day", NULL, day, day_start);
    if (g->month_usd > 0)
        seed_one(a, "usd.month", NULL, month, month_start);
    for (size_t i = 0; i < a->cfg->n_keys; i++) {
        const lx_key_cfg *k = &a->cfg->keys[i];
        if (!k->id)
            continue;
        if (k->day_usd > 0)
            seed_one(a, "usd.day", k->id, day, day_start);
        if (k->month_usd > 0)
            seed_one(a, "usd.month", k->id, month, month_start);
    }
}
