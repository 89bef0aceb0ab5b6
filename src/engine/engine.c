/*
 * engine.c — lazy model loading, sessions and the generation loop (see
 * engine.h).
 *
 * Concurrency: the model, tokenizer and info are written once under
 * load_mu and read-only afterwards. The pool is not reentrant, so every
 * forward pass holds run_mu; sessions therefore interleave at the
 * granularity of one eval call.
 *
 * Stop strings: generated text goes through a small holdback buffer. Text
 * that cannot be the start of a stop string is released at once; a suffix
 * that could still grow into one is held until it either matches (the
 * text before it is released, the stop string is not) or diverges.
 */
#include "engine/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "engine/gguf.h"
#include "engine/kernels.h"
#include "engine/model.h"
#include "engine/tokenizer.h"

struct lx_engine {
    char *path;
    lx_engine_opts opts;
    pthread_mutex_t load_mu;
    bool tried;
    lx_status load_st;
    lx_error load_err;
    lx_model *model;
    lx_tokenizer *tok;
    lx_pool *pool;
    pthread_mutex_t run_mu;
    lx_engine_info info;
    char name[256];
    char wtype[16];
};

struct lx_session {
    lx_engine *e;
    lx_model_state *st;
    int pos, n_ctx;
    float *logits;
    int32_t pending; /* sampled but not evaluated yet, -1 none */
    int32_t *toks;   /* the tokens in the cache, [0, pos) */
    int toks_cap;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

lx_status lx_engine_new(const char *path, const lx_engine_opts *opts, lx_engine **out,
                        lx_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return lx_fail(err, LX_ERR_INVALID, "engine: no model path");
    lx_engine *e = calloc(1, sizeof *e);
    if (!e || !(e->path = strdup(path))) {
        free(e);
        return lx_fail(err, LX_ERR_NOMEM, "engine: out of memory");
    }
    if (opts)
        e->opts = *opts;
    const char *th = getenv("LLMUX_THREADS");
    if (e->opts.n_threads <= 0 && th && atoi(th) > 0)
        e->opts.n_threads = atoi(th) > 512 ? 512 : atoi(th);
    pthread_mutex_init(&e->load_mu, NULL);
    pthread_mutex_init(&e->run_mu, NULL);
    *out = e;
    return LX_OK;
}

static int32_t meta_id(const lx_gguf *g, const char *key)
{
    uint64_t v;
    return lx_gguf_get_u64(g, key, &v) && v < INT32_MAX ? (int32_t)v : -1;
}

static lx_status do_load(lx_engine *e, lx_error *err)
{
    lx_status st = lx_model_load(e->path, &e->model, err);
    if (st != LX_OK)
        return st;
    const lx_gguf *g = e->model->gguf;
    lx_error terr;
    if (lx_tokenizer_new(g, &e->tok, &terr) != LX_OK) {
        LX_WARN("engine: %s: no tokenizer (%s); token ids only", e->path, terr.message);
        e->tok = NULL;
    }
    e->pool = lx_pool_new(e->opts.n_threads);
    if (!e->pool)
        return lx_fail(err, LX_ERR_NOMEM, "engine: cannot start the thread pool");
    const lx_hparams *hp = &e->model->hp;
    lx_engine_info *in = &e->info;
    in->arch = hp->arch_name;
    lx_gguf_str nm;
    if (lx_gguf_get_str(g, "general.name", &nm) && nm.n)
        snprintf(e->name, sizeof e->name, "%.*s", (int)(nm.n > 200 ? 200 : nm.n), nm.p);
    else {
        const char *b = strrchr(e->path, '/');
        snprintf(e->name, sizeof e->name, "%s", b ? b + 1 : e->path);
    }
    in->name = e->name;
    in->n_vocab = hp->n_vocab;
    in->dim = hp->dim;
    in->n_layers = hp->n_layers;
    in->n_heads = hp->n_heads;
    in->n_kv_heads = hp->n_kv_heads;
    in->ff_dim = hp->ff_dim;
    in->n_ctx_train = hp->n_ctx_train;
    in->bos_id = e->tok ? lx_tokenizer_bos(e->tok) : meta_id(g, "tokenizer.ggml.bos_token_id");
    in->eos_id = e->tok ? lx_tokenizer_eos(e->tok) : meta_id(g, "tokenizer.ggml.eos_token_id");
    in->eot_id = e->tok ? lx_tokenizer_eot(e->tok) : meta_id(g, "tokenizer.ggml.eot_token_id");
    in->n_params = e->model->n_params;
    in->weight_bytes = e->model->weight_bytes;
    snprintf(e->wtype, sizeof e->wtype, "%s", lx_type_name(e->model->layers[0].wq.type));
    in->weight_type = e->wtype;
    return LX_OK;
}

lx_status lx_engine_load(lx_engine *e, lx_error *err)
{
    pthread_mutex_lock(&e->load_mu);
    if (!e->tried) {
        e->tried = true;
        e->load_st = do_load(e, &e->load_err);
        if (e->load_st != LX_OK) {
            if (e->tok)
                lx_tokenizer_free(e->tok);
            e->tok = NULL;
            lx_model_free(e->model);
            e->model = NULL;
            lx_pool_free(e->pool);
            e->pool = NULL;
        }
    }
    lx_status st = e->load_st;
    if (st != LX_OK && err)
        *err = e->load_err;
    pthread_mutex_unlock(&e->load_mu);
    return st;
}

const lx_engine_info *lx_engine_get_info(lx_engine *e)
{
    pthread_mutex_lock(&e->load_mu);
    const lx_engine_info *in = e->tried && e->load_st == LX_OK ? &e->info : NULL;
    pthread_mutex_unlock(&e->load_mu);
    return in;
}

const char *lx_engine_kernels(void)
{
    lx_kernels_init();
    return lx_kernels_name();
}

int lx_engine_threads(const lx_engine *e)
{
    return e->pool ? lx_pool_threads(e->pool) : e->opts.n_threads;
}

const struct lx_tokenizer *lx_engine_tokenizer(lx_engine *e)
{
    return lx_engine_load(e, NULL) == LX_OK ? e->tok : NULL;
}

const struct lx_gguf *lx_engine_gguf(lx_engine *e)
{
    return lx_engine_load(e, NULL) == LX_OK ? e->model->gguf : NULL;
}

void lx_engine_free(lx_engine *e)
{
    if (!e)
        return;
    if (e->tok)
        lx_tokenizer_free(e->tok);
    lx_model_free(e->model);
    lx_pool_free(e->pool);
    pthread_mutex_destroy(&e->load_mu);
    pthread_mutex_destroy(&e->run_mu);
    free(e->path);
    free(e);
}

lx_status lx_engine_tokenize(lx_engine *e, const char *text, size_t len, bool add_special,
                             bool parse_special, int32_t **ids, size_t *n_ids, lx_error *err)
{
    *ids = NULL;
    *n_ids = 0;
    lx_status st = lx_engine_load(e, err);
    if (st != LX_OK)
        return st;
    if (!e->tok)
        return lx_fail(err, LX_ERR_UNSUPPORTED, "engine: %s: no usable tokenizer in this build",
                       e->path);
    return lx_tokenizer_encode(e->tok, text, len, add_special, parse_special, ids, n_ids, err);
}

/* ---- sessions ----------------------------------------------------------- */

lx_status lx_session_new(lx_engine *e, int n_ctx, lx_session **out, lx_error *err)
{
    *out = NULL;
    lx_status st = lx_engine_load(e, err);
    if (st != LX_OK)
        return st;
    lx_session *s = calloc(1, sizeof *s);
    if (!s)
        return lx_fail(err, LX_ERR_NOMEM, "engine: out of memory");
    s->e = e;
    s->pending = -1;
    s->n_ctx = n_ctx > 0 ? n_ctx : e->opts.n_ctx > 0 ? e->opts.n_ctx : e->info.n_ctx_train;
    s->logits = malloc((size_t)e->info.n_vocab * sizeof(float));
    if (!s->logits) {
        free(s);
        return lx_fail(err, LX_ERR_NOMEM, "engine: out of memory");
    }
    st = lx_model_state_new(e->model, s->n_ctx, lx_pool_threads(e->pool), &s->st, err);
    if (st != LX_OK) {
        free(s->logits);
        free(s);
        return st;
    }
    *out = s;
    return LX_OK;
}

void lx_session_free(lx_session *s)
{
    if (!s)
        return;
    lx_model_state_free(s->st);
    free(s->logits);
    free(s->toks);
    free(s);
}

void lx_session_reset(lx_session *s)
{
    s->pos = 0;
    s->pending = -1;
}

const int32_t *lx_session_tokens(const lx_session *s, int *n)
{
    *n = s->pos;
    return s->toks;
}

void lx_session_truncate(lx_session *s, int n)
{
    if (n < 0)
        n = 0;
    if (n < s->pos)
        s->pos = n;
    s->pending = -1;
}

int lx_session_pos(const lx_session *s)
{
    return s->pos;
}

int lx_session_n_ctx(const lx_session *s)
{
    return s->n_ctx;
}

lx_status lx_session_eval(lx_session *s, const int32_t *ids, int n, const float **logits,
                          lx_error *err)
{
    if (n <= 0)
        return lx_fail(err, LX_ERR_INVALID, "engine: nothing to evaluate");
    if (n > s->n_ctx - s->pos)
        return lx_fail(err, LX_ERR_TOOBIG,
                       "context length exceeded: %d more tokens after %d do not fit in the context "
                       "of %d tokens",
                       n, s->pos, s->n_ctx);
    if (s->pos + n > s->toks_cap) {
        int cap = s->toks_cap ? s->toks_cap : 256;
        while (cap < s->pos + n)
            cap = cap > s->n_ctx / 2 ? s->n_ctx : cap * 2;
        int32_t *t = realloc(s->toks, (size_t)cap * sizeof *t);
        if (!t)
            return lx_fail(err, LX_ERR_NOMEM, "engine: out of memory");
        s->toks = t;
        s->toks_cap = cap;
    }
    pthread_mutex_lock(&s->e->run_mu);
    lx_status st =
        lx_model_forward(s->e->model, s->st, s->e->pool, ids, n, s->pos, s->logits, false, err);
    pthread_mutex_unlock(&s->e->run_mu);
    if (st != LX_OK)
        return st;
    memcpy(s->toks + s->pos, ids, (size_t)n * sizeof *ids);
    s->pos += n;
    if (logits)
        *logits = s->logits;
    return LX_OK;
}

/* ---- generation --------------------------------------------------------- */

lx_gen_params lx_gen_defaults(void)
{
    lx_gen_params p;
    memset(&p, 0, sizeof p);
    p.sample.temperature = 0.8f;
    p.sample.top_p = 0.95f;
    p.sample.top_k = 40;
    p.sample.min_p = 0.05f;
    p.sample.repeat_penalty = 1.0f;
    p.stop_at_eos = true;
    return p;
}

/* Length of the longest suffix of t[0..n) that is a proper prefix of a
 * stop string. */
static size_t holdback(const char *t, size_t n, const char *const *stop, size_t n_stop)
{
    size_t best = 0;
    for (size_t i = 0; i < n_stop; i++) {
        size_t sl = strlen(stop[i]);
        for (size_t k = sl - (sl > 0); k > best; k--)
            if (k <= n && !memcmp(t + n - k, stop[i], k)) {
                best = k;
                break;
            }
    }
    return best;
}

typedef struct gen_text {
    lx_buf piece; /* scratch for the detokenizer */
    lx_buf held;  /* text not released yet */
    lx_detok dt;
    bool have_dt;
} gen_text;

static lx_status emit(const lx_gen_params *p, int32_t id, const char *t, size_t n, float lp)
{
    if (!p->on_token)
        return LX_OK;
    lx_gen_token tok = {.id = id, .text = t ? t : "", .len = n, .logprob = lp};
    return p->on_token(p->ud, &tok);
}

lx_status lx_session_generate(lx_session *s, const int32_t *prompt, size_t n_prompt,
                              const lx_gen_params *p, lx_gen_result *res, lx_error *err)
{
    lx_gen_result r0 = {.finish = LX_FINISH_NONE, .stop_index = -1};
    lx_gen_result dummy;
    if (!res)
        res = &dummy;
    *res = r0;
    lx_engine *e = s->e;
    lx_sampler *smp = NULL;
    int32_t *ids = NULL;
    gen_text gt;
    memset(&gt, 0, sizeof gt);
    lx_buf_init(&gt.piece, 1 << 16);
    lx_buf_init(&gt.held, 1 << 20);
    lx_status st = LX_OK;

    size_t n_in = n_prompt + (s->pending >= 0);
    if (n_in == 0 && s->pos == 0) {
        st = lx_fail(err, LX_ERR_INVALID, "engine: empty prompt (start from BOS)");
        goto out;
    }
    if (n_in > (size_t)(s->n_ctx - s->pos)) {
        st = lx_fail(err, LX_ERR_TOOBIG,
                     "context length exceeded: the prompt of %zu tokens does not fit in the "
                     "context of %d tokens (%d already used)",
                     n_in, s->n_ctx, s->pos);
        goto out;
    }
    ids = malloc((n_in ? n_in : 1) * sizeof *ids);
    if (!ids) {
        st = lx_fail(err, LX_ERR_NOMEM, "engine: out of memory");
        goto out;
    }
    if (s->pending >= 0)
        ids[0] = s->pending;
    if (n_prompt)
        memcpy(ids + (s->pending >= 0), prompt, n_prompt * sizeof *ids);
    if (p->n_stop && !e->tok) {
        st = lx_fail(err, LX_ERR_UNSUPPORTED,
                     "engine: stop strings need the model's tokenizer, which is unavailable");
        goto out;
    }
    if ((st = lx_sampler_new(e->info.n_vocab, &p->sample, &smp, err)) != LX_OK)
        goto out;
    for (size_t i = 0; i < n_in; i++)
        lx_sampler_accept(smp, ids[i]);
    if (p->cancel && atomic_load(p->cancel)) {
        st = lx_fail(err, LX_ERR_CANCELLED, "engine: cancelled");
        goto out;
    }
    double t0 = now_ms();
    /* prefill in slices so that a cancel is seen during a long prompt */
    for (size_t done = 0; done < n_in;) {
        size_t k = n_in - done < 256 ? n_in - done : 256;
        if (done && p->cancel && atomic_load(p->cancel)) {
            st = lx_fail(err, LX_ERR_CANCELLED, "engine: cancelled during the prompt");
            goto out;
        }
        if ((st = lx_session_eval(s, ids + done, (int)k, NULL, err)) != LX_OK)
            goto out;
        s->pending = -1;
        done += k;
    }
    res->n_prompt = (int)n_prompt;
    double t1 = now_ms();
    res->prefill_ms = t1 - t0;
    if (e->tok) {
        lx_detok_init(&gt.dt, e->tok, p->detok_flags);
        gt.have_dt = true;
    }
    for (;;) {
        if (p->cancel && atomic_load(p->cancel)) {
            st = lx_fail(err, LX_ERR_CANCELLED, "engine: cancelled after %d tokens",
                         res->n_generated);
            goto out;
        }
        if (p->max_tokens > 0 && res->n_generated >= p->max_tokens) {
            res->finish = LX_FINISH_LENGTH;
            break;
        }
        float lp = 0;
        int32_t id = lx_sampler_sample(smp, s->logits, p->logprobs ? &lp : NULL);
        lx_sampler_accept(smp, id);
        res->n_generated++;
        s->pending = id;
        bool eog = e->tok ? lx_tokenizer_is_eog(e->tok, id)
                          : (id == e->info.eos_id || id == e->info.eot_id);
        if (p->stop_at_eos && eog) {
            res->finish = LX_FINISH_STOP;
            break;
        }
        /* text of this token, through the stop-string holdback */
        const char *txt = NULL;
        size_t tn = 0;
        if (gt.have_dt) {
            lx_buf_reset(&gt.piece);
            if ((st = lx_detok_push(&gt.dt, id, &gt.piece, err)) != LX_OK)
                goto out;
            if (p->n_stop) {
                if (gt.piece.len && lx_buf_append(&gt.held, gt.piece.data, gt.piece.len) != LX_OK) {
                    st = lx_fail(err, LX_ERR_TOOBIG, "engine: stop-string holdback overflow");
                    goto out;
                }
                size_t cut = (size_t)-1;
                for (size_t i = 0; i < p->n_stop; i++) {
                    if (!p->stop[i] || !*p->stop[i] || !gt.held.data)
                        continue;
                    const char *hit = strstr(gt.held.data, p->stop[i]);
                    if (hit && (size_t)(hit - gt.held.data) < cut) {
                        cut = (size_t)(hit - gt.held.data);
                        res->stop_index = (int)i;
                    }
                }
                if (cut != (size_t)-1) {
                    if ((st = emit(p, id, gt.held.data, cut, lp)) != LX_OK) {
                        res->finish = LX_FINISH_OTHER;
                        st = LX_OK;
                        goto out;
                    }
                    res->finish = LX_FINISH_STOP;
                    break;
                }
                size_t keep =
                    holdback(gt.held.data ? gt.held.data : "", gt.held.len, p->stop, p->n_stop);
                txt = gt.held.data;
                tn = gt.held.len - keep;
            } else {
                txt = gt.piece.data;
                tn = gt.piece.len;
            }
        }
        lx_status cb = emit(p, id, txt, tn, lp);
        if (p->n_stop && tn)
            lx_buf_consume(&gt.held, tn);
        if (cb != LX_OK) {
            res->finish = LX_FINISH_OTHER;
            break;
        }
        if (p->max_tokens > 0 && res->n_generated >= p->max_tokens) {
            res->finish = LX_FINISH_LENGTH;
            break;
        }
        if (s->pos >= s->n_ctx) {
            st = lx_fail(err, LX_ERR_TOOBIG,
                         "context length exceeded: the context of %d tokens is full after %d "
                         "generated tokens",
                         s->n_ctx, res->n_generated);
            goto out;
        }
        if ((st = lx_session_eval(s, &id, 1, NULL, err)) != LX_OK)
            goto out;
        s->pending = -1;
    }
    /* release held text that did not become a stop string, and bytes the
     * detokenizer still holds */
    if (gt.have_dt && res->finish != LX_FINISH_OTHER && res->stop_index < 0) {
        lx_buf_reset(&gt.piece);
        if (gt.held.len)
            lx_buf_append(&gt.piece, gt.held.data, gt.held.len);
        if (lx_detok_flush(&gt.dt, &gt.piece, NULL) == LX_OK && gt.piece.len && p->on_token) {
            lx_gen_token tok = {.id = -1, .text = gt.piece.data, .len = gt.piece.len};
            p->on_token(p->ud, &tok);
        }
    }
    res->decode_ms = now_ms() - t1;
out:
    lx_sampler_free(smp);
    free(ids);
    lx_buf_free(&gt.piece);
    lx_buf_free(&gt.held);
    return st;
}
