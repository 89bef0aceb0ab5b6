/*
 * model.c — loading and running Llama-family / Qwen2 models (see model.h).
 *
 * Loading reads the hyper-parameters from `{arch}.*` metadata, then binds and
 * validates every tensor (name, shape, type). Forward passes work on a batch
 * of up to LX_MODEL_BATCH tokens: every weight matrix is applied to the whole
 * batch with one lx_matmul call (matrix-matrix for prefill, matrix-vector for
 * a decode step); attention is causal inside the batch and runs one task per
 * (token, head) pair spread over the pool.
 */
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LX_MODEL_BATCH 128
#define KV_MIN_CAP 256

static const char *const arch_names[] = {"llama", "qwen2"};

const char *lx_model_archs_supported(void)
{
    return "llama, qwen2";
}

/* ---- metadata ----------------------------------------------------------- */

static lx_status get_int(const lx_gguf *g, const char *arch, const char *suffix, bool required,
                         int64_t def, int64_t min, int64_t max, int *out, lx_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t v;
    if (!lx_gguf_get_i64(g, key, &v)) {
        if (lx_gguf_find(g, key) >= 0)
            return lx_fail(err, LX_ERR_INVALID, "model: metadata '%s' is not an integer", key);
        if (required)
            return lx_fail(err, LX_ERR_INVALID, "model: metadata '%s' is missing", key);
        v = def;
    }
    if (v < min || v > max)
        return lx_fail(err, LX_ERR_INVALID,
                       "model: metadata '%s' = %lld is out of range %lld..%lld", key, (long long)v,
                       (long long)min, (long long)max);
    *out = (int)v;
    return LX_OK;
}

static lx_status get_float(const lx_gguf *g, const char *arch, const char *suffix, float def,
                           float min, float max, float *out, lx_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    float v = def;
    if (!lx_gguf_get_f32(g, key, &v) && lx_gguf_find(g, key) >= 0)
        return lx_fail(err, LX_ERR_INVALID, "model: metadata '%s' is not a float", key);
    if (!(v >= min && v <= max))
        return lx_fail(err, LX_ERR_INVALID, "model: metadata '%s' = %g is out of range %g..%g", key,
                       (double)v, (double)min, (double)max);
    *out = v;
    return LX_OK;
}

/* ---- tensors ------------------------------------------------------------ */

static lx_status check_type(const lx_gguf_tensor *t, const char *name, lx_error *err)
{
    if (!lx_type_supported(t->type))
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "model: tensor '%s' has type %s (%u), which this build cannot compute "
                       "with (supported: %s)",
                       name, lx_type_name(t->type), t->type, lx_types_supported_list());
    return LX_OK;
}

static lx_status bind_matrix(lx_model *m, const char *name, int cols, int rows, bool optional,
                             lx_weight *w, lx_error *err)
{
    const lx_gguf_tensor *t = lx_gguf_tensor_find(m->gguf, name);
    memset(w, 0, sizeof *w);
    if (!t) {
        if (optional)
            return LX_OK;
        return lx_fail(err, LX_ERR_INVALID, "model: tensor '%s' is missing", name);
    }
    if (t->ne[0] != (uint64_t)cols || t->ne[1] != (uint64_t)rows || t->ne[2] != 1 || t->ne[3] != 1)
        return lx_fail(err, LX_ERR_INVALID,
                       "model: tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%d, %d]",
                       name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                       (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], cols, rows);
    lx_status st = check_type(t, name, err);
    if (st != LX_OK)
        return st;
    if (lx_type_row_size((lx_ttype)t->type, (size_t)cols) == 0)
        return lx_fail(err, LX_ERR_INVALID,
                       "model: tensor '%s': row length %d is not a multiple of the %s block", name,
                       cols, lx_type_name(t->type));
    w->data = t->data;
    w->type = (lx_ttype)t->type;
    w->rows = rows;
    w->cols = cols;
    m->n_params += t->ne[0] * t->ne[1];
    m->weight_bytes += t->nbytes;
    return LX_OK;
}

/* A 1-D tensor of n elements, copied out as f32 into *store (advanced). */
static lx_status bind_vector(lx_model *m, const char *name, int n, bool optional, const float **out,
                             float **store, lx_error *err)
{
    const lx_gguf_tensor *t = lx_gguf_tensor_find(m->gguf, name);
    *out = NULL;
    if (!t) {
        if (optional)
            return LX_OK;
        return lx_fail(err, LX_ERR_INVALID, "model: tensor '%s' is missing", name);
    }
    if (t->ne[0] != (uint64_t)n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1)
        return lx_fail(err, LX_ERR_INVALID,
                       "model: tensor '%s' has shape [%llu, %llu, %llu, %llu], expected [%d]", name,
                       (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                       (unsigned long long)t->ne[2], (unsigned long long)t->ne[3], n);
    lx_status st = check_type(t, name, err);
    if (st != LX_OK)
        return st;
    if (lx_type_row_size((lx_ttype)t->type, (size_t)n) == 0)
        return lx_fail(err, LX_ERR_INVALID,
                       "model: tensor '%s': length %d is not a multiple of "
                       "the %s block",
                       name, n, lx_type_name(t->type));
    lx_dequant_row((lx_ttype)t->type, t->data, *store, (size_t)n);
    *out = *store;
    *store += n;
    m->n_params += (uint64_t)n;
    m->weight_bytes += t->nbytes;
    return LX_OK;
}

/* RoPE inverse frequencies, with linear or llama3-style scaling folded in. */
static lx_status rope_setup(lx_model *m, const char *arch, lx_error *err)
{
    lx_hparams *hp = &m->hp;
    int half = hp->rope_dim / 2;
    m->rope_freq = malloc((size_t)(half ? half : 1) * sizeof(float));
    if (!m->rope_freq)
        return lx_fail(err, LX_ERR_NOMEM, "model: out of memory");
    for (int i = 0; i < half; i++)
        m->rope_freq[i] = 1.0f / powf(hp->rope_base, (float)(2 * i) / (float)hp->rope_dim);

    char key[128];
    lx_gguf_str type = {"", 0};
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    lx_gguf_get_str(m->gguf, key, &type);
    float factor = 1.0f;
    lx_status st = get_float(m->gguf, arch, "rope.scaling.factor", 1.0f, 1e-6f, 1e6f, &factor, err);
    if (st != LX_OK)
        return st;
    float scale_linear = 0;
    snprintf(key, sizeof key, "%s.rope.scale_linear", arch); /* older files */
    if (lx_gguf_get_f32(m->gguf, key, &scale_linear) && scale_linear > 0) {
        hp->rope_linear = scale_linear;
    } else if (type.n == 6 && !memcmp(type.p, "linear", 6)) {
        hp->rope_linear = factor;
    } else if (type.n == 6 && !memcmp(type.p, "llama3", 6)) {
        /* Metadata form of llama3 scaling; most llama3 files carry the
         * factors as the rope_freqs.weight tensor instead (below). */
        float low = 1.0f, high = 4.0f;
        int orig = 8192;
        if ((st = get_float(m->gguf, arch, "rope.scaling.low_freq_factor", 1.0f, 1e-6f, 1e6f, &low,
                            err)) != LX_OK ||
            (st = get_float(m->gguf, arch, "rope.scaling.high_freq_factor", 4.0f, 1e-6f, 1e6f,
                            &high, err)) != LX_OK ||
            (st = get_int(m->gguf, arch, "rope.scaling.original_context_length", false, 8192, 1,
                          1 << 30, &orig, err)) != LX_OK)
            return st;
        float lo_wl = (float)orig / low, hi_wl = (float)orig / high;
        for (int i = 0; i < half; i++) {
            float f = m->rope_freq[i], wl = 2.0f * (float)M_PI / f;
            if (wl < hi_wl)
                continue;
            if (wl > lo_wl || high == low) {
                m->rope_freq[i] = f / factor;
            } else {
                float smooth = ((float)orig / wl - low) / (high - low);
                m->rope_freq[i] = (1 - smooth) * f / factor + smooth * f;
            }
        }
    } else if (type.n && !(type.n == 4 && !memcmp(type.p, "none", 4))) {
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "model: metadata '%s.rope.scaling.type' = '%.*s' is not supported "
                       "(supported: none, linear, llama3)",
                       arch, (int)(type.n > 32 ? 32 : type.n), type.p);
    }
    const lx_gguf_tensor *rf = lx_gguf_tensor_find(m->gguf, "rope_freqs.weight");
    if (rf) {
        if (rf->ne[0] != (uint64_t)half || rf->ne[1] != 1 || rf->type != LX_T_F32)
            return lx_fail(err, LX_ERR_INVALID,
                           "model: tensor 'rope_freqs.weight' must be f32 [%d] (has %s [%llu])",
                           half, lx_type_name(rf->type), (unsigned long long)rf->ne[0]);
        for (int i = 0; i < half; i++) {
            float d;
            memcpy(&d, (const char *)rf->data + 4 * (size_t)i, 4);
            if (!(d > 0))
                return lx_fail(err, LX_ERR_INVALID,
                               "model: tensor 'rope_freqs.weight' element %d is not positive", i);
            m->rope_freq[i] /= d;
        }
    }
    return LX_OK;
}

static lx_status load(lx_model *m, lx_error *err)
{
    lx_gguf *g = m->gguf;
    lx_hparams *hp = &m->hp;
    lx_gguf_str a;
    if (!lx_gguf_get_str(g, "general.architecture", &a))
        return lx_fail(err, LX_ERR_INVALID,
                       "model: metadata 'general.architecture' is missing or not a string");
    int arch = -1;
    for (int i = 0; i < (int)(sizeof arch_names / sizeof arch_names[0]); i++)
        if (a.n == strlen(arch_names[i]) && !memcmp(a.p, arch_names[i], a.n))
            arch = i;
    if (arch < 0)
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "model: architecture '%.*s' is not supported (supported: %s)",
                       (int)(a.n > 64 ? 64 : a.n), a.p, lx_model_archs_supported());
    hp->arch = (lx_arch)arch;
    hp->arch_name = arch_names[arch];
    hp->rope_neox = hp->arch == LX_ARCH_QWEN2;
    const char *an = hp->arch_name;
    lx_status st;
    const int64_t BIG = 1 << 20;
    if ((st = get_int(g, an, "embedding_length", true, 0, 1, BIG, &hp->dim, err)) != LX_OK ||
        (st = get_int(g, an, "block_count", true, 0, 1, 4096, &hp->n_layers, err)) != LX_OK ||
        (st = get_int(g, an, "attention.head_count", true, 0, 1, 4096, &hp->n_heads, err)) !=
            LX_OK ||
        (st = get_int(g, an, "attention.head_count_kv", false, hp->n_heads, 1, hp->n_heads,
                      &hp->n_kv_heads, err)) != LX_OK ||
        (st = get_int(g, an, "feed_forward_length", true, 0, 1, BIG, &hp->ff_dim, err)) != LX_OK ||
        (st = get_int(g, an, "context_length", false, 2048, 1, 1 << 30, &hp->n_ctx_train, err)) !=
            LX_OK)
        return st;
    if ((uint64_t)hp->n_layers * 9 > lx_gguf_tensor_count(g))
        return lx_fail(err, LX_ERR_INVALID,
                       "model: metadata '%s.block_count' = %d, but the file has only %zu tensors",
                       an, hp->n_layers, lx_gguf_tensor_count(g));
    if (hp->n_heads % hp->n_kv_heads)
        return lx_fail(err, LX_ERR_INVALID,
                       "model: metadata '%s.attention.head_count' = %d is not a multiple of "
                       "'%s.attention.head_count_kv' = %d",
                       an, hp->n_heads, an, hp->n_kv_heads);
    int hd_def = hp->dim / hp->n_heads, vlen;
    if ((st = get_int(g, an, "attention.key_length", false, hd_def, 1, 65536, &hp->head_dim,
                      err)) != LX_OK ||
        (st = get_int(g, an, "attention.value_length", false, hp->head_dim, 1, 65536, &vlen,
                      err)) != LX_OK)
        return st;
    if (vlen != hp->head_dim)
        return lx_fail(err, LX_ERR_UNSUPPORTED,
                       "model: metadata '%s.attention.value_length' (%d) differs from key_length "
                       "(%d)",
                       an, vlen, hp->head_dim);
    if (hp->head_dim % 2)
        return lx_fail(err, LX_ERR_INVALID, "model: head dimension %d is odd", hp->head_dim);
    if ((st = get_int(g, an, "rope.dimension_count", false, hp->head_dim, 2, hp->head_dim,
                      &hp->rope_dim, err)) != LX_OK)
        return st;
    if (hp->rope_dim % 2)
        return lx_fail(err, LX_ERR_INVALID, "model: metadata '%s.rope.dimension_count' is odd", an);
    if ((st = get_float(g, an, "attention.layer_norm_rms_epsilon", 1e-5f, 0.0f, 1.0f, &hp->eps,
                        err)) != LX_OK ||
        (st = get_float(g, an, "rope.freq_base", 10000.0f, 1.0f, 1e12f, &hp->rope_base, err)) !=
            LX_OK)
        return st;
    hp->rope_linear = 1.0f;
    if ((st = rope_setup(m, an, err)) != LX_OK)
        return st;

    const lx_gguf_tensor *te = lx_gguf_tensor_find(g, "token_embd.weight");
    if (!te)
        return lx_fail(err, LX_ERR_INVALID, "model: tensor 'token_embd.weight' is missing");
    if (te->ne[1] < 1 || te->ne[1] > (1u << 24))
        return lx_fail(err, LX_ERR_INVALID, "model: tensor 'token_embd.weight' has %llu rows",
                       (unsigned long long)te->ne[1]);
    hp->n_vocab = (int)te->ne[1];
    int q_dim = hp->n_heads * hp->head_dim, kv_dim = hp->n_kv_heads * hp->head_dim;
    if ((st = bind_matrix(m, "token_embd.weight", hp->dim, hp->n_vocab, false, &m->tok_embd,
                          err)) != LX_OK ||
        (st = bind_matrix(m, "output.weight", hp->dim, hp->n_vocab, true, &m->output, err)) !=
            LX_OK)
        return st;
    if (!m->output.data) {
        hp->tied_output = true;
        m->output = m->tok_embd;
    }
    bool bias = hp->arch == LX_ARCH_QWEN2;
    size_t n_store = (size_t)hp->dim * (2 * (size_t)hp->n_layers + 1);
    if (bias)
        n_store += (size_t)hp->n_layers * (size_t)(q_dim + 2 * kv_dim);
    m->f32_store = malloc(n_store * sizeof(float));
    m->layers = calloc((size_t)hp->n_layers, sizeof *m->layers);
    if (!m->f32_store || !m->layers)
        return lx_fail(err, LX_ERR_NOMEM, "model: out of memory");
    float *store = m->f32_store;
    if ((st = bind_vector(m, "output_norm.weight", hp->dim, false, &m->out_norm, &store, err)) !=
        LX_OK)
        return st;
    for (int l = 0; l < hp->n_layers; l++) {
        lx_layer *L = &m->layers[l];
        char n[10][64];
        static const char *const parts[10] = {"attn_norm",   "attn_q",   "attn_k",   "attn_v",
                                              "attn_output", "ffn_norm", "ffn_gate", "ffn_up",
                                              "ffn_down",    ""};
        for (int i = 0; i < 9; i++)
            snprintf(n[i], sizeof n[i], "blk.%d.%s.weight", l, parts[i]);
        if ((st = bind_vector(m, n[0], hp->dim, false, &L->attn_norm, &store, err)) != LX_OK ||
            (st = bind_matrix(m, n[1], hp->dim, q_dim, false, &L->wq, err)) != LX_OK ||
            (st = bind_matrix(m, n[2], hp->dim, kv_dim, false, &L->wk, err)) != LX_OK ||
            (st = bind_matrix(m, n[3], hp->dim, kv_dim, false, &L->wv, err)) != LX_OK ||
            (st = bind_matrix(m, n[4], q_dim, hp->dim, false, &L->wo, err)) != LX_OK ||
            (st = bind_vector(m, n[5], hp->dim, false, &L->ffn_norm, &store, err)) != LX_OK ||
            (st = bind_matrix(m, n[6], hp->dim, hp->ff_dim, false, &L->gate, err)) != LX_OK ||
            (st = bind_matrix(m, n[7], hp->dim, hp->ff_dim, false, &L->up, err)) != LX_OK ||
            (st = bind_matrix(m, n[8], hp->ff_dim, hp->dim, false, &L->down, err)) != LX_OK)
            return st;
        if (bias) {
            char b[3][64];
            snprintf(b[0], sizeof b[0], "blk.%d.attn_q.bias", l);
            snprintf(b[1], sizeof b[1], "blk.%d.attn_k.bias", l);
            snprintf(b[2], sizeof b[2], "blk.%d.attn_v.bias", l);
            if ((st = bind_vector(m, b[0], q_dim, false, &L->bq, &store, err)) != LX_OK ||
                (st = bind_vector(m, b[1], kv_dim, false, &L->bk, &store, err)) != LX_OK ||
                (st = bind_vector(m, b[2], kv_dim, false, &L->bv, &store, err)) != LX_OK)
                return st;
        }
    }
    return LX_OK;
}

lx_status lx_model_from_gguf(lx_gguf *g, lx_model **out, lx_error *err)
{
    *out = NULL;
    lx_kernels_init();
    lx_model *m = calloc(1, sizeof *m);
    if (!m) {
        lx_gguf_close(g);
        return lx_fail(err, LX_ERR_NOMEM, "model: out of memory");
    }
    m->gguf = g;
    lx_status st = load(m, err);
    if (st != LX_OK) {
        lx_model_free(m);
        return st;
    }
    *out = m;
    return LX_OK;
}

lx_status lx_model_load(const char *path, lx_model **out, lx_error *err)
{
    lx_gguf *g;
    *out = NULL;
    lx_status st = lx_gguf_open(path, &g, err);
    if (st != LX_OK)
        return st;
    st = lx_model_from_gguf(g, out, err);
    if (st != LX_OK && err) {
        char msg[sizeof err->message];
        lx_strlcpy(msg, err->message, sizeof msg);
        int k = snprintf(err->message, sizeof err->message, "%s: ", path);
        if (k > 0 && (size_t)k < sizeof err->message)
            lx_strlcpy(err->message + k, msg, sizeof err->message - (size_t)k);
    }
    return st;
}

void lx_model_free(lx_model *m)
{
    if (!m)
        return;
    lx_gguf_close(m->gguf);
    free(m->layers);
    free(m->f32_store);
    free(m->rope_freq);
    free(m);
}

/* ---- state -------------------------------------------------------------- */

struct lx_model_state {
    const lx_model *m;
    int n_ctx;
    int cap;          /* positions allocated in the caches */
    float **kc, **vc; /* per layer: cap x kv_dim */
    int n_tasks;
    float *att; /* n_tasks x cap scores */
    int nb;     /* batch capacity of the scratch buffers */
    float *x, *xb, *q, *k, *v, *ao, *hb, *hb2;
    float *rope_cs; /* nb x rope_dim: cos, sin interleaved */
};

lx_status lx_model_state_new(const lx_model *m, int n_ctx, int n_tasks, lx_model_state **out,
                             lx_error *err)
{
    *out = NULL;
    lx_model_state *s = calloc(1, sizeof *s);
    if (!s)
        return lx_fail(err, LX_ERR_NOMEM, "model: out of memory");
    s->m = m;
    s->n_ctx = n_ctx > 0 ? n_ctx : m->hp.n_ctx_train;
    s->n_tasks = n_tasks > 0 ? n_tasks : 1;
    s->kc = calloc((size_t)m->hp.n_layers, sizeof *s->kc);
    s->vc = calloc((size_t)m->hp.n_layers, sizeof *s->vc);
    if (!s->kc || !s->vc) {
        lx_model_state_free(s);
        return lx_fail(err, LX_ERR_NOMEM, "model: out of memory");
    }
    *out = s;
    return LX_OK;
}

void lx_model_state_free(lx_model_state *s)
{
    if (!s)
        return;
    for (int l = 0; s->kc && l < s->m->hp.n_layers; l++)
        free(s->kc[l]);
    for (int l = 0; s->vc && l < s->m->hp.n_layers; l++)
        free(s->vc[l]);
    free(s->kc);
    free(s->vc);
    free(s->att);
    free(s->x);
    free(s->xb);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->ao);
    free(s->hb);
    free(s->hb2);
    free(s->rope_cs);
    free(s);
}

int lx_model_state_n_ctx(const lx_model_state *s)
{
    return s->n_ctx;
}

static bool grow(float **p, size_t n)
{
    float *q = realloc(*p, n * sizeof(float));
    if (!q)
        return false;
    *p = q;
    return true;
}

/* Makes room for positions [0, need) in the caches. */
static lx_status reserve_cache(lx_model_state *s, int need, lx_error *err)
{
    if (need <= s->cap)
        return LX_OK;
    const lx_hparams *hp = &s->m->hp;
    int cap = s->cap ? s->cap : KV_MIN_CAP;
    while (cap < need)
        cap = cap > s->n_ctx / 2 ? s->n_ctx : cap * 2;
    if (cap > s->n_ctx)
        cap = s->n_ctx;
    size_t kv_dim = (size_t)hp->n_kv_heads * (size_t)hp->head_dim;
    for (int l = 0; l < hp->n_layers; l++)
        if (!grow(&s->kc[l], (size_t)cap * kv_dim) || !grow(&s->vc[l], (size_t)cap * kv_dim))
            return lx_fail(err, LX_ERR_NOMEM, "model: out of memory for a KV cache of %d positions",
                           cap);
    if (!grow(&s->att, (size_t)s->n_tasks * (size_t)cap))
        return lx_fail(err, LX_ERR_NOMEM, "model: out of memory");
    s->cap = cap;
    return LX_OK;
}

static lx_status reserve_batch(lx_model_state *s, int nb, lx_error *err)
{
    if (nb <= s->nb)
        return LX_OK;
    const lx_hparams *hp = &s->m->hp;
    size_t n = (size_t)nb, q_dim = (size_t)hp->n_heads * (size_t)hp->head_dim,
           kv_dim = (size_t)hp->n_kv_heads * (size_t)hp->head_dim;
    size_t wide = (size_t)hp->dim > q_dim ? (size_t)hp->dim : q_dim;
    if (!grow(&s->x, n * (size_t)hp->dim) || !grow(&s->xb, n * wide) || !grow(&s->q, n * q_dim) ||
        !grow(&s->k, n * kv_dim) || !grow(&s->v, n * kv_dim) || !grow(&s->ao, n * q_dim) ||
        !grow(&s->hb, n * (size_t)hp->ff_dim) || !grow(&s->hb2, n * (size_t)hp->ff_dim) ||
        !grow(&s->rope_cs, n * (size_t)hp->rope_dim))
        return lx_fail(err, LX_ERR_NOMEM, "model: out of memory for a batch of %d tokens", nb);
    s->nb = nb;
    return LX_OK;
}

/* ---- forward ------------------------------------------------------------ */

static void rope_apply(float *v, int n_heads, int head_dim, int rope_dim, bool neox,
                       const float *cs)
{
    int half = rope_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *x = v + (size_t)h * (size_t)head_dim;
        for (int i = 0; i < half; i++) {
            float c = cs[2 * i], s = cs[2 * i + 1];
            int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            float x0 = x[a], x1 = x[b];
            x[a] = x0 * c - x1 * s;
            x[b] = x0 * s + x1 * c;
        }
    }
}

typedef struct attn_job {
    const lx_model *m;
    lx_model_state *s;
    int layer, n, pos;
} attn_job;

static void attn_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    attn_job *j = ctx;
    const lx_hparams *hp = &j->m->hp;
    lx_model_state *s = j->s;
    int hd = hp->head_dim, group = hp->n_heads / hp->n_kv_heads;
    size_t q_dim = (size_t)hp->n_heads * (size_t)hd, kv_dim = (size_t)hp->n_kv_heads * (size_t)hd;
    float scale = 1.0f / sqrtf((float)hd);
    float *att = s->att + (size_t)task * (size_t)s->cap;
    const float *kc = s->kc[j->layer], *vc = s->vc[j->layer];
    int total = j->n * hp->n_heads;
    for (int p = task; p < total; p += s->n_tasks) {
        int t = p / hp->n_heads, h = p % hp->n_heads, kh = h / group;
        int len = j->pos + t + 1;
        const float *q = s->q + (size_t)t * q_dim + (size_t)h * (size_t)hd;
        for (int i = 0; i < len; i++)
            att[i] = lx_dot_f32(q, kc + (size_t)i * kv_dim + (size_t)kh * (size_t)hd, hd) * scale;
        lx_softmax(att, len);
        float *o = s->ao + (size_t)t * q_dim + (size_t)h * (size_t)hd;
        memset(o, 0, (size_t)hd * sizeof(float));
        for (int i = 0; i < len; i++)
            lx_axpy_f32(o, att[i], vc + (size_t)i * kv_dim + (size_t)kh * (size_t)hd, hd);
    }
}

static void add_bias(float *y, const float *b, int n_tok, int dim)
{
    if (!b)
        return;
    for (int t = 0; t < n_tok; t++)
        for (int i = 0; i < dim; i++)
            y[(size_t)t * (size_t)dim + (size_t)i] += b[i];
}

static void run_pool(lx_pool *pool, void (*fn)(void *, int, int), void *ctx, int n)
{
    if (pool)
        lx_pool_run(pool, fn, ctx, n);
    else
        for (int i = 0; i < n; i++)
            fn(ctx, i, n);
}

/* One batch of n <= s->nb tokens. */
static void forward_batch(const lx_model *m, lx_model_state *s, lx_pool *pool,
                          const int32_t *tokens, int n, int pos, float *logits, bool all_logits)
{
    const lx_hparams *hp = &m->hp;
    int dim = hp->dim, hd = hp->head_dim, q_dim = hp->n_heads * hd, kv_dim = hp->n_kv_heads * hd,
        ff = hp->ff_dim;
    size_t row_bytes = lx_type_row_size(m->tok_embd.type, (size_t)dim);
    for (int t = 0; t < n; t++)
        lx_dequant_row(m->tok_embd.type,
                       (const char *)m->tok_embd.data + (size_t)tokens[t] * row_bytes,
                       s->x + (size_t)t * (size_t)dim, (size_t)dim);
    int half = hp->rope_dim / 2;
    for (int t = 0; t < n; t++) {
        float p = (float)(pos + t) / hp->rope_linear;
        float *cs = s->rope_cs + (size_t)t * (size_t)hp->rope_dim;
        for (int i = 0; i < half; i++) {
            float th = p * m->rope_freq[i];
            cs[2 * i] = cosf(th);
            cs[2 * i + 1] = sinf(th);
        }
    }
    for (int l = 0; l < hp->n_layers; l++) {
        const lx_layer *L = &m->layers[l];
        for (int t = 0; t < n; t++)
            lx_rmsnorm(s->xb + (size_t)t * (size_t)dim, s->x + (size_t)t * (size_t)dim,
                       L->attn_norm, dim, hp->eps);
        lx_matmul(pool, s->q, L->wq.data, L->wq.type, s->xb, q_dim, dim, n);
        lx_matmul(pool, s->k, L->wk.data, L->wk.type, s->xb, kv_dim, dim, n);
        lx_matmul(pool, s->v, L->wv.data, L->wv.type, s->xb, kv_dim, dim, n);
        add_bias(s->q, L->bq, n, q_dim);
        add_bias(s->k, L->bk, n, kv_dim);
        add_bias(s->v, L->bv, n, kv_dim);
        for (int t = 0; t < n; t++) {
            const float *cs = s->rope_cs + (size_t)t * (size_t)hp->rope_dim;
            rope_apply(s->q + (size_t)t * (size_t)q_dim, hp->n_heads, hd, hp->rope_dim,
                       hp->rope_neox, cs);
            rope_apply(s->k + (size_t)t * (size_t)kv_dim, hp->n_kv_heads, hd, hp->rope_dim,
                       hp->rope_neox, cs);
        }
        memcpy(s->kc[l] + (size_t)pos * (size_t)kv_dim, s->k, (size_t)n * (size_t)kv_dim * 4);
        memcpy(s->vc[l] + (size_t)pos * (size_t)kv_dim, s->v, (size_t)n * (size_t)kv_dim * 4);
        attn_job job = {.m = m, .s = s, .layer = l, .n = n, .pos = pos};
        int tasks = n * hp->n_heads < s->n_tasks ? n * hp->n_heads : s->n_tasks;
        run_pool(pool, attn_task, &job, tasks);
        lx_matmul(pool, s->xb, L->wo.data, L->wo.type, s->ao, dim, q_dim, n);
        for (size_t i = 0; i < (size_t)n * (size_t)dim; i++)
            s->x[i] += s->xb[i];
        for (int t = 0; t < n; t++)
            lx_rmsnorm(s->xb + (size_t)t * (size_t)dim, s->x + (size_t)t * (size_t)dim, L->ffn_norm,
                       dim, hp->eps);
        lx_matmul(pool, s->hb, L->gate.data, L->gate.type, s->xb, ff, dim, n);
        lx_matmul(pool, s->hb2, L->up.data, L->up.type, s->xb, ff, dim, n);
        lx_swiglu(s->hb, s->hb, s->hb2, n * ff);
        lx_matmul(pool, s->xb, L->down.data, L->down.type, s->hb, dim, ff, n);
        for (size_t i = 0; i < (size_t)n * (size_t)dim; i++)
            s->x[i] += s->xb[i];
    }
    if (!logits)
        return;
    int first = all_logits ? 0 : n - 1, n_out = n - first;
    for (int t = first; t < n; t++)
        lx_rmsnorm(s->xb + (size_t)(t - first) * (size_t)dim, s->x + (size_t)t * (size_t)dim,
                   m->out_norm, dim, hp->eps);
    lx_matmul(pool, logits, m->output.data, m->output.type, s->xb, hp->n_vocab, dim, n_out);
}

lx_status lx_model_forward(const lx_model *m, lx_model_state *s, lx_pool *pool,
                           const int32_t *tokens, int n, int pos, float *logits, bool all_logits,
                           lx_error *err)
{
    if (n <= 0)
        return lx_fail(err, LX_ERR_INVALID, "model: forward of %d tokens", n);
    if (pos < 0 || pos > s->n_ctx || n > s->n_ctx - pos)
        return lx_fail(err, LX_ERR_TOOBIG,
                       "context length exceeded: %d tokens at position %d do not fit in the "
                       "context of %d tokens",
                       n, pos, s->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return lx_fail(err, LX_ERR_INVALID, "model: token id %d out of range (vocabulary %d)",
                           tokens[i], m->hp.n_vocab);
    lx_status st = reserve_cache(s, pos + n, err);
    if (st != LX_OK)
        return st;
    int nb = n < LX_MODEL_BATCH ? n : LX_MODEL_BATCH;
    if ((st = reserve_batch(s, nb, err)) != LX_OK)
        return st;
    for (int done = 0; done < n; done += nb) {
        int k = n - done < nb ? n - done : nb;
        bool last = done + k == n;
        float *lg = NULL;
        if (all_logits)
            lg = logits + (size_t)done * (size_t)m->hp.n_vocab;
        else if (last)
            lg = logits;
        forward_batch(m, s, pool, tokens + done, k, pos + done, lg, all_logits);
    }
    return LX_OK;
}
