/*
 * test_model.c — the transformer and the engine against reference outputs.
 *
 * Real models come from $LLMUX_MODEL_DIR, else ../shared/models; tests that
 * need them skip with a message when they are absent. Synthetic models built
 * here in memory cover the loader's error messages, qwen2 (biases, NeoX
 * RoPE) and batched prefill == step-by-step decode.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/gguf.h"
#include "engine/kernels.h"
#include "engine/model.h"
#include "engine/tokenizer.h"

/* ---- helpers ------------------------------------------------------------ */

/* A hung test (e.g. a thread pool that never wakes) is killed by SIGALRM
 * and reported as crashed. Criterion's own .timeout is not used: with
 * --jobs 2 its runner leaks a small block that LeakSanitizer reports. */
static void watchdog(void)
{
    alarm(300);
}
TestSuite(model, .init = watchdog);
TestSuite(local_provider, .init = watchdog);

static const char *model_dir(void)
{
    const char *d = getenv("LLMUX_MODEL_DIR");
    return d && *d ? d : "../shared/models";
}

static char *model_path(const char *rel)
{
    static char buf[8][1024];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 1024, "%s/%s", model_dir(), rel);
    return p;
}

#define NEED(rel)                                                                                  \
    do {                                                                                           \
        if (access(model_path(rel), R_OK) != 0)                                                    \
            cr_skip_test("test model %s not found (set LLMUX_MODEL_DIR)", model_path(rel));        \
    } while (0)

static size_t read_ids(const char *rel, int32_t *out, size_t cap)
{
    FILE *f = fopen(model_path(rel), "r");
    cr_assert_not_null(f, "cannot open %s", rel);
    size_t n = 0;
    long v;
    while (n < cap && fscanf(f, "%ld", &v) == 1)
        out[n++] = (int32_t)v;
    fclose(f);
    return n;
}

typedef struct collect {
    int32_t ids[4096];
    size_t n;
    int stop_after; /* cancel after this many tokens (0 = never) */
    atomic_bool *cancel;
} collect;

static lx_status on_tok(void *ud, const lx_gen_token *t)
{
    collect *c = ud;
    if (t->id < 0)
        return LX_OK;
    cr_assert(isfinite(t->logprob) && t->logprob <= 0.0f, "logprob %f", (double)t->logprob);
    if (c->n < 4096)
        c->ids[c->n++] = t->id;
    if (c->stop_after && (int)c->n == c->stop_after && c->cancel)
        atomic_store(c->cancel, true);
    return LX_OK;
}

/* Generates from BOS with the given sampling; returns the ids in c. */
static lx_status run(const char *rel, int threads, float temp, float top_p, uint64_t seed, int n,
                     collect *c, lx_error *err)
{
    lx_engine_opts eo = {.n_threads = threads};
    lx_engine *e;
    cr_assert_eq(lx_engine_new(model_path(rel), &eo, &e, err), LX_OK);
    lx_session *s = NULL;
    lx_status st = lx_session_new(e, 0, &s, err);
    if (st == LX_OK) {
        lx_gen_params p = lx_gen_defaults();
        p.sample.temperature = temp;
        p.sample.top_p = top_p;
        p.sample.top_k = 0;
        p.sample.min_p = 0;
        p.sample.seed = seed;
        p.max_tokens = n;
        p.on_token = on_tok;
        p.ud = c;
        int32_t bos = lx_engine_get_info(e)->bos_id;
        lx_gen_result r;
        st = lx_session_generate(s, &bos, 1, &p, &r, err);
        if (st == LX_OK)
            cr_assert_eq(r.n_generated, n);
    }
    lx_session_free(s);
    lx_engine_free(e);
    return st;
}

static void assert_ids(const collect *c, const char *ref_rel, size_t n_expect)
{
    int32_t want[4096];
    size_t n = read_ids(ref_rel, want, 4096);
    cr_assert_eq(n, n_expect, "%s has %zu ids", ref_rel, n);
    cr_assert_geq(c->n, n, "generated %zu ids, reference %zu", c->n, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(c->ids[i], want[i], "%s: token %zu: got %d, want %d", ref_rel, i, c->ids[i],
                     want[i]);
}

#define STORIES "stories260K/stories260K.gguf"

/* ---- references --------------------------------------------------------- */

Test(model, stories_greedy_n200)
{
    NEED(STORIES);
    collect c = {0};
    lx_error err;
    cr_assert_eq(run(STORIES, 1, 0, 0, 0, 200, &c, &err), LX_OK, "%s", err.message);
    cr_assert_eq(c.n, 200);
    assert_ids(&c, "stories260K/expected_t0_n200.ids", 200);
}

Test(model, stories_greedy_n256_threads)
{
    NEED(STORIES);
    collect c = {0};
    lx_error err;
    cr_assert_eq(run(STORIES, 2, 0, 0, 0, 256, &c, &err), LX_OK, "%s", err.message);
    assert_ids(&c, "stories260K/expected_t0_n256.ids", 256);
}

Test(model, stories_seeded_top_p)
{
    NEED(STORIES);
    collect c = {0};
    lx_error err;
    cr_assert_eq(run(STORIES, 1, 1.0f, 0.9f, 133742, 256, &c, &err), LX_OK, "%s", err.message);
    assert_ids(&c, "stories260K/expected_t1.0_p0.9_s133742_n256.ids", 256);
}

Test(model, stories_gguf_v1_same_output)
{
    NEED("stories260K/stories260K-ggufv1.gguf");
    collect c = {0};
    lx_error err;
    cr_assert_eq(run("stories260K/stories260K-ggufv1.gguf", 1, 0, 0, 0, 200, &c, &err), LX_OK, "%s",
                 err.message);
    assert_ids(&c, "stories260K/expected_t0_n200.ids", 200);
}

/* Runs the greedy generation in a child with LLMUX_KERNELS=scalar (kernel
 * choice is made once per process) and in this process with the default
 * kernels; the ids must be equal. */
static void scalar_vs_default(const char *rel, int n)
{
    int fd[2];
    cr_assert_eq(pipe(fd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fd[0]);
        setenv("LLMUX_KERNELS", "scalar", 1);
        collect c = {0};
        lx_error err;
        if (run(rel, 1, 0, 0, 0, n, &c, &err) != LX_OK)
            _exit(3);
        if (strcmp(lx_kernels_name(), "scalar") != 0)
            _exit(4);
        ssize_t w = write(fd[1], c.ids, c.n * sizeof(int32_t));
        _exit(w == (ssize_t)(c.n * sizeof(int32_t)) ? 0 : 5);
    }
    close(fd[1]);
    int32_t child[4096];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd[0], (char *)child + got, sizeof child - got)) > 0)
        got += (size_t)r;
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "scalar child failed (%d)", status);
    unsetenv("LLMUX_KERNELS");
    collect c = {0};
    lx_error err;
    cr_assert_eq(run(rel, 1, 0, 0, 0, n, &c, &err), LX_OK, "%s", err.message);
    cr_assert_eq(got / sizeof(int32_t), c.n);
    for (size_t i = 0; i < c.n; i++)
        cr_assert_eq(child[i], c.ids[i], "%s: token %zu: scalar %d, %s %d", rel, i, child[i],
                     lx_kernels_name(), c.ids[i]);
}

Test(model, scalar_and_default_kernels_agree_f32)
{
    NEED(STORIES);
    scalar_vs_default(STORIES, 256);
}

Test(model, scalar_and_default_kernels_agree_f16)
{
    NEED("llama-2-tiny-random/llama-2-tiny-random.gguf");
    scalar_vs_default("llama-2-tiny-random/llama-2-tiny-random.gguf", 64);
}

Test(model, scalar_and_default_kernels_agree_q8_0)
{
    NEED("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf");
    scalar_vs_default("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf", 64);
}

/* ---- other real models -------------------------------------------------- */

static void loads_and_runs(const char *rel, int dim, int layers, int heads, int kv, int vocab,
                           const char *wtype)
{
    NEED(rel);
    lx_engine *e;
    lx_error err;
    lx_engine_opts eo = {.n_threads = 1};
    cr_assert_eq(lx_engine_new(model_path(rel), &eo, &e, &err), LX_OK);
    cr_assert_null(lx_engine_get_info(e), "loaded before first use");
    lx_session *s;
    cr_assert_eq(lx_session_new(e, 64, &s, &err), LX_OK, "%s", err.message);
    const lx_engine_info *in = lx_engine_get_info(e);
    cr_assert_not_null(in);
    cr_assert_eq(in->dim, dim);
    cr_assert_eq(in->n_layers, layers);
    cr_assert_eq(in->n_heads, heads);
    cr_assert_eq(in->n_kv_heads, kv);
    cr_assert_eq(in->n_vocab, vocab);
    cr_assert_str_eq(in->weight_type, wtype);
    int32_t ids[5] = {1, 100, 200, 300, 400};
    const float *lg;
    cr_assert_eq(lx_session_eval(s, ids, 5, &lg, &err), LX_OK, "%s", err.message);
    for (int i = 0; i < vocab; i++)
        cr_assert(isfinite(lg[i]), "logit %d is %f", i, (double)lg[i]);
    cr_assert_eq(lx_session_pos(s), 5);
    lx_session_free(s);
    lx_engine_free(e);
}

Test(model, llama2_tiny_random_f16_loads_and_runs)
{
    loads_and_runs("llama-2-tiny-random/llama-2-tiny-random.gguf", 8, 1, 2, 2, 32000, "f16");
}

Test(model, smollm2_q8_0_loads_and_runs)
{
    loads_and_runs("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf", 64, 2, 4, 2, 49152,
                   "q8_0");
}

/* ---- sessions ----------------------------------------------------------- */

static int32_t argmax(const float *x, int n)
{
    int32_t b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

/* Greedy continuation by hand: eval prompt, then n argmax steps. */
static void greedy_steps(lx_session *s, const int32_t *prompt, int np, int n, int32_t *out)
{
    lx_error err;
    const float *lg;
    cr_assert_eq(lx_session_eval(s, prompt, np, &lg, &err), LX_OK, "%s", err.message);
    for (int i = 0; i < n; i++) {
        out[i] = argmax(lg, 512);
        cr_assert_eq(lx_session_eval(s, &out[i], 1, &lg, &err), LX_OK, "%s", err.message);
    }
}

Test(model, two_sessions_interleaved_equal_alone)
{
    NEED(STORIES);
    lx_engine *e;
    lx_error err;
    lx_engine_opts eo = {.n_threads = 1};
    cr_assert_eq(lx_engine_new(model_path(STORIES), &eo, &e, &err), LX_OK);
    int32_t pa[3] = {1, 403, 407}, pb[2] = {1, 378};
    int32_t alone_a[60], alone_b[60], ia[60], ib[60];
    lx_session *a, *b;
    cr_assert_eq(lx_session_new(e, 0, &a, &err), LX_OK);
    greedy_steps(a, pa, 3, 60, alone_a);
    lx_session_reset(a);
    greedy_steps(a, pb, 2, 60, alone_b);
    lx_session_reset(a);
    cr_assert_eq(lx_session_new(e, 0, &b, &err), LX_OK);
    const float *la, *lb;
    cr_assert_eq(lx_session_eval(a, pa, 3, &la, &err), LX_OK);
    ia[0] = argmax(la, 512);
    cr_assert_eq(lx_session_eval(b, pb, 2, &lb, &err), LX_OK);
    ib[0] = argmax(lb, 512);
    for (int i = 0; i < 59; i++) {
        cr_assert_eq(lx_session_eval(a, &ia[i], 1, &la, &err), LX_OK);
        cr_assert_eq(lx_session_eval(b, &ib[i], 1, &lb, &err), LX_OK);
        ia[i + 1] = argmax(la, 512);
        ib[i + 1] = argmax(lb, 512);
    }
    for (int i = 0; i < 60; i++) {
        cr_assert_eq(ia[i], alone_a[i], "session a token %d", i);
        cr_assert_eq(ib[i], alone_b[i], "session b token %d", i);
    }
    lx_session_free(a);
    lx_session_free(b);
    lx_engine_free(e);
}

typedef struct thr_arg {
    lx_engine *e;
    collect c;
    lx_status st;
} thr_arg;

static void *gen_thread(void *p)
{
    thr_arg *a = p;
    lx_session *s;
    lx_error err;
    a->st = lx_session_new(a->e, 0, &s, &err);
    if (a->st != LX_OK)
        return NULL;
    lx_gen_params gp = lx_gen_defaults();
    gp.sample.temperature = 0;
    gp.max_tokens = 256;
    gp.on_token = on_tok;
    gp.ud = &a->c;
    int32_t bos = 1;
    a->st = lx_session_generate(s, &bos, 1, &gp, NULL, &err);
    lx_session_free(s);
    return NULL;
}

Test(model, concurrent_sessions_on_threads)
{
    NEED(STORIES);
    lx_engine *e;
    lx_error err;
    lx_engine_opts eo = {.n_threads = 2};
    cr_assert_eq(lx_engine_new(model_path(STORIES), &eo, &e, &err), LX_OK);
    static thr_arg args[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].e = e;
        cr_assert_eq(pthread_create(&th[i], NULL, gen_thread, &args[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(args[i].st, LX_OK);
        assert_ids(&args[i].c, "stories260K/expected_t0_n256.ids", 256);
    }
    lx_engine_free(e);
}

Test(model, context_overflow_is_an_error)
{
    NEED(STORIES);
    lx_engine *e;
    lx_error err;
    lx_engine_opts eo = {.n_threads = 1};
    cr_assert_eq(lx_engine_new(model_path(STORIES), &eo, &e, &err), LX_OK);
    lx_session *s;
    cr_assert_eq(lx_session_new(e, 16, &s, &err), LX_OK);
    cr_assert_eq(lx_session_n_ctx(s), 16);
    lx_gen_params p = lx_gen_defaults();
    p.sample.temperature = 0;
    p.max_tokens = 100;
    collect c = {0};
    p.on_token = on_tok;
    p.ud = &c;
    int32_t bos = 1;
    cr_assert_eq(lx_session_generate(s, &bos, 1, &p, NULL, &err), LX_ERR_TOOBIG);
    cr_assert(strstr(err.message, "16") && strstr(err.message, "context"), "%s", err.message);
    cr_assert_leq(c.n, 16);
    /* a prompt longer than the context is refused up front */
    lx_session_reset(s);
    int32_t many[20];
    for (int i = 0; i < 20; i++)
        many[i] = 1 + i;
    cr_assert_eq(lx_session_generate(s, many, 20, &p, NULL, &err), LX_ERR_TOOBIG);
    cr_assert(strstr(err.message, "20") && strstr(err.message, "16"), "%s", err.message);
    cr_assert_eq(lx_session_eval(s, many, 17, NULL, &err), LX_ERR_TOOBIG);
    /* a bad token id */
    int32_t bad = 512;
    cr_assert_eq(lx_session_eval(s, &bad, 1, NULL, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "512"), "%s", err.message);
    lx_session_free(s);
    lx_engine_free(e);
}

Test(model, cancel_flag_stops_generation)
{
    NEED(STORIES);
    lx_engine *e;
    lx_error err;
    lx_engine_opts eo = {.n_threads = 1};
    cr_assert_eq(lx_engine_new(model_path(STORIES), &eo, &e, &err), LX_OK);
    lx_session *s;
    cr_assert_eq(lx_session_new(e, 0, &s, &err), LX_OK);
    atomic_bool cancel = false;
    collect c = {.stop_after = 5, .cancel = &cancel};
    lx_gen_params p = lx_gen_defaults();
    p.sample.temperature = 0;
    p.max_tokens = 100;
    p.cancel = &cancel;
    p.on_token = on_tok;
    p.ud = &c;
    int32_t bos = 1;
    lx_gen_result r;
    cr_assert_eq(lx_session_generate(s, &bos, 1, &p, &r, &err), LX_ERR_CANCELLED);
    cr_assert_eq(c.n, 5);
    lx_session_free(s);
    lx_engine_free(e);
}

Test(model, continue_generation_keeps_pending_token)
{
    NEED(STORIES);
    lx_engine *e;
    lx_error err;
    lx_engine_opts eo = {.n_threads = 1};
    cr_assert_eq(lx_engine_new(model_path(STORIES), &eo, &e, &err), LX_OK);
    lx_session *s;
    cr_assert_eq(lx_session_new(e, 0, &s, &err), LX_OK);
    lx_gen_params p = lx_gen_defaults();
    p.sample.temperature = 0;
    p.max_tokens = 100;
    collect c = {0};
    p.on_token = on_tok;
    p.ud = &c;
    int32_t bos = 1;
    cr_assert_eq(lx_session_generate(s, &bos, 1, &p, NULL, &err), LX_OK);
    p.max_tokens = 156;
    cr_assert_eq(lx_session_generate(s, NULL, 0, &p, NULL, &err), LX_OK, "%s", err.message);
    assert_ids(&c, "stories260K/expected_t0_n256.ids", 256);
    lx_session_free(s);
    lx_engine_free(e);
}

Test(model, bad_file_error_names_the_problem)
{
    lx_engine *e;
    lx_error err;
    cr_assert_eq(lx_engine_new("/nonexistent/x.gguf", NULL, &e, &err), LX_OK);
    lx_session *s;
    cr_assert_eq(lx_session_new(e, 0, &s, &err), LX_ERR_NOTFOUND);
    cr_assert(strstr(err.message, "/nonexistent/x.gguf"), "%s", err.message);
    /* remembered */
    cr_assert_eq(lx_engine_load(e, &err), LX_ERR_NOTFOUND);
    lx_engine_free(e);
}

/* ---- synthetic models --------------------------------------------------- */

typedef struct wb {
    uint8_t *p;
    size_t n, cap;
} wb;

static void put(wb *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void u32(wb *b, uint32_t v)
{
    put(b, &v, 4);
}
static void u64(wb *b, uint64_t v)
{
    put(b, &v, 8);
}
static void str(wb *b, const char *s)
{
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void kv_str(wb *b, const char *k, const char *v)
{
    str(b, k);
    u32(b, LX_GGUF_STRING);
    str(b, v);
}
static void kv_u32(wb *b, const char *k, uint32_t v)
{
    str(b, k);
    u32(b, LX_GGUF_U32);
    u32(b, v);
}
static void kv_f32(wb *b, const char *k, float v)
{
    str(b, k);
    u32(b, LX_GGUF_F32);
    put(b, &v, 4);
}

typedef struct syn_tensor {
    char name[64];
    int nd;
    uint64_t ne[2];
    uint32_t type;
} syn_tensor;

/* Extra metadata appended by the next synth() call (tests of optional keys). */
static wb extra;
static int n_extra;

/* A tiny random model: dim 32, 1 layer, 2 heads (1 KV head for llama), ff
 * 32, vocab 8. bad_type: give attn_q this ggml type; arch: "llama" /
 * "qwen2" / other. */
static uint8_t *synth(const char *arch, uint32_t bad_type, bool drop_ffn_up, size_t *len)
{
    const int dim = 32, ff = 32, vocab = 8, heads = 2, kvh = strcmp(arch, "llama") ? 2 : 1;
    const int hd = dim / heads;
    syn_tensor t[32];
    int nt = 0;
#define T1(nm, a)                                                                                  \
    (snprintf(t[nt].name, 64, "%s", nm), t[nt].nd = 1, t[nt].ne[0] = (a), t[nt].ne[1] = 1,         \
     t[nt].type = 0, nt++)
#define T2(nm, a, b2)                                                                              \
    (snprintf(t[nt].name, 64, "%s", nm), t[nt].nd = 2, t[nt].ne[0] = (a), t[nt].ne[1] = (b2),      \
     t[nt].type = 0, nt++)
    T2("token_embd.weight", dim, vocab);
    T1("output_norm.weight", dim);
    T1("blk.0.attn_norm.weight", dim);
    T2("blk.0.attn_q.weight", dim, heads * hd);
    if (bad_type)
        t[nt - 1].type = bad_type;
    T2("blk.0.attn_k.weight", dim, kvh * hd);
    T2("blk.0.attn_v.weight", dim, kvh * hd);
    T2("blk.0.attn_output.weight", heads * hd, dim);
    T1("blk.0.ffn_norm.weight", dim);
    T2("blk.0.ffn_gate.weight", dim, ff);
    if (!drop_ffn_up)
        T2("blk.0.ffn_up.weight", dim, ff);
    T2("blk.0.ffn_down.weight", ff, dim);
    if (!strcmp(arch, "qwen2")) {
        T1("blk.0.attn_q.bias", heads * hd);
        T1("blk.0.attn_k.bias", kvh * hd);
        T1("blk.0.attn_v.bias", kvh * hd);
    }
    wb b = {0};
    put(&b, "GGUF", 4);
    u32(&b, 3);
    u64(&b, (uint64_t)nt);
    u64(&b, 9 + (uint64_t)n_extra);
    kv_str(&b, "general.architecture", arch);
    char k[64];
#define K(s) (snprintf(k, sizeof k, "%s.%s", arch, s), k)
    kv_u32(&b, K("embedding_length"), dim);
    kv_u32(&b, K("block_count"), 1);
    kv_u32(&b, K("attention.head_count"), heads);
    kv_u32(&b, K("attention.head_count_kv"), kvh);
    kv_u32(&b, K("feed_forward_length"), ff);
    kv_u32(&b, K("context_length"), 64);
    kv_f32(&b, K("attention.layer_norm_rms_epsilon"), 1e-5f);
    kv_f32(&b, K("rope.freq_base"), 10000.0f);
    if (extra.n)
        put(&b, extra.p, extra.n);
    uint64_t off = 0, offs[32];
    for (int i = 0; i < nt; i++) {
        str(&b, t[i].name);
        u32(&b, (uint32_t)t[i].nd);
        for (int d = 0; d < t[i].nd; d++)
            u64(&b, t[i].ne[d]);
        u32(&b, t[i].type);
        u64(&b, off);
        offs[i] = off;
        uint64_t ne = t[i].ne[0] * t[i].ne[1];
        uint64_t bytes = t[i].type == 0 ? ne * 4 : ne / 32 * 22; /* q5_0: 22 bytes / 32 */
        off += (bytes + 31) / 32 * 32;
    }
    while (b.n % 32)
        put(&b, "", 1);
    size_t data = b.n;
    uint8_t zero[64] = {0};
    for (uint64_t i = 0; i < off; i += 64)
        put(&b, zero, off - i < 64 ? off - i : 64);
    srand(7);
    for (int i = 0; i < nt; i++) {
        if (t[i].type != 0)
            continue;
        float *f = (float *)(b.p + data + offs[i]);
        for (uint64_t j = 0; j < t[i].ne[0] * t[i].ne[1]; j++)
            f[j] = strstr(t[i].name, "norm") ? 1.0f : ((float)rand() / RAND_MAX - 0.5f) * 0.5f;
    }
    *len = b.n;
    return b.p;
#undef T1
#undef T2
#undef K
}

static lx_status load_synth(const char *arch, uint32_t bad_type, bool drop, uint8_t **buf,
                            lx_model **m, lx_error *err)
{
    size_t len;
    *buf = synth(arch, bad_type, drop, &len);
    lx_gguf *g;
    lx_status st = lx_gguf_open_memory(*buf, len, &g, err);
    cr_assert_eq(st, LX_OK, "%s", err->message);
    return lx_model_from_gguf(g, m, err);
}

Test(model, unknown_architecture_lists_supported)
{
    uint8_t *buf;
    lx_model *m;
    lx_error err;
    cr_assert_eq(load_synth("gemma", 0, false, &buf, &m, &err), LX_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "'gemma'") && strstr(err.message, "llama, qwen2"), "%s",
              err.message);
    free(buf);
}

Test(model, unsupported_tensor_type_names_tensor_and_types)
{
    uint8_t *buf;
    lx_model *m;
    lx_error err;
    cr_assert_eq(load_synth("llama", 6 /* q5_0 */, false, &buf, &m, &err), LX_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "blk.0.attn_q.weight"), "%s", err.message);
    cr_assert(strstr(err.message, lx_types_supported_list()), "%s", err.message);
    free(buf);
}

Test(model, missing_tensor_is_named)
{
    uint8_t *buf;
    lx_model *m;
    lx_error err;
    cr_assert_eq(load_synth("llama", 0, true, &buf, &m, &err), LX_ERR_INVALID);
    cr_assert(strstr(err.message, "blk.0.ffn_up.weight") && strstr(err.message, "missing"), "%s",
              err.message);
    free(buf);
}

/* Batched prefill must give the same logits as one token at a time. */
static void prefill_equals_decode(const char *arch)
{
    uint8_t *buf;
    lx_model *m;
    lx_error err;
    cr_assert_eq(load_synth(arch, 0, false, &buf, &m, &err), LX_OK, "%s", err.message);
    cr_assert(m->hp.tied_output);
    cr_assert_eq(m->hp.rope_neox, !strcmp(arch, "qwen2"));
    lx_model_state *a, *b;
    cr_assert_eq(lx_model_state_new(m, 0, 2, &a, &err), LX_OK);
    cr_assert_eq(lx_model_state_new(m, 0, 1, &b, &err), LX_OK);
    int32_t toks[20];
    for (int i = 0; i < 20; i++)
        toks[i] = (i * 5 + 3) % 8;
    float all[20 * 8], one[8];
    cr_assert_eq(lx_model_forward(m, a, NULL, toks, 20, 0, all, true, &err), LX_OK);
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(lx_model_forward(m, b, NULL, &toks[i], 1, i, one, false, &err), LX_OK);
        for (int v = 0; v < 8; v++)
            cr_assert_float_eq(all[i * 8 + v], one[v], 1e-4, "%s: token %d logit %d", arch, i, v);
    }
    cr_assert_eq(lx_model_forward(m, b, NULL, toks, 50, 20, one, false, &err), LX_ERR_TOOBIG);
    lx_model_state_free(a);
    lx_model_state_free(b);
    lx_model_free(m);
    free(buf);
}

Test(model, prefill_equals_decode_llama)
{
    prefill_equals_decode("llama");
}

Test(model, prefill_equals_decode_qwen2)
{
    prefill_equals_decode("qwen2");
}

/* ---- the local provider ------------------------------------------------- */

#include <uv.h>

#include "provider/provider.h"

typedef struct ev_log {
    int n_start, n_text, n_usage, n_finish, n_error;
    char text[8192];
    size_t len;
    lx_usage usage;
    lx_finish finish;
    char err[1024];
    int refuse_after_text; /* sink returns an error at this TEXT event (1-based) */
    char order[64];
    int n_order;
} ev_log;

static lx_status sink(void *ud, const lx_event *ev)
{
    ev_log *l = ud;
    if (l->n_order < 63)
        l->order[l->n_order++] = "STxtTAUFE"[ev->kind];
    switch (ev->kind) {
    case LX_EV_START:
        l->n_start++;
        break;
    case LX_EV_TEXT:
        l->n_text++;
        if (l->len + ev->len < sizeof l->text) {
            memcpy(l->text + l->len, ev->text, ev->len);
            l->len += ev->len;
        }
        if (l->refuse_after_text && l->n_text == l->refuse_after_text)
            return LX_ERR_CANCELLED;
        break;
    case LX_EV_USAGE:
        l->n_usage++;
        l->usage = ev->usage;
        break;
    case LX_EV_FINISH:
        l->n_finish++;
        l->finish = ev->finish;
        break;
    case LX_EV_ERROR:
        l->n_error++;
        snprintf(l->err, sizeof l->err, "[%s] %s", ev->error->provider, ev->error->message);
        break;
    default:
        break;
    }
    return LX_OK;
}

static void provider_run(const char *rel, const char *prompt, int64_t max_tokens, bool cancel_now,
                         ev_log *l)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    lx_provider_cfg cfg = {.name = "local", .type = LX_PROV_LOCAL, .model_path = model_path(rel)};
    lx_provider *p;
    lx_error err;
    cr_assert_eq(lx_local_provider_new(NULL, &cfg, &loop, &p, &err), LX_OK, "%s", err.message);
    lx_request *req = lx_request_new();
    cr_assert_eq(lx_request_add_text(req, LX_ROLE_USER, prompt), LX_OK);
    req->sampling.has_temperature = true;
    req->sampling.temperature = 0;
    req->sampling.max_tokens = max_tokens;
    lx_call_opts o = {.model = "stories"};
    lx_call *call;
    cr_assert_eq(lx_provider_start(p, req, &o, sink, l, &call, &err), LX_OK, "%s", err.message);
    lx_request_free(req);
    if (cancel_now)
        lx_call_cancel(call);
    uv_run(&loop, UV_RUN_DEFAULT);
    lx_provider_free(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
}

Test(local_provider, streams_start_text_usage_finish)
{
    NEED(STORIES);
    ev_log l = {0};
    provider_run(STORIES, "Once upon a time", 40, false, &l);
    cr_assert_eq(l.n_error, 0, "%s", l.err);
    cr_assert_eq(l.n_start, 1);
    cr_assert_gt(l.n_text, 0);
    cr_assert_eq(l.n_usage, 1);
    cr_assert_eq(l.n_finish, 1);
    cr_assert_eq(l.order[0], 'S');
    cr_assert_eq(l.order[l.n_order - 1], 'F');
    cr_assert_eq(l.finish, LX_FINISH_LENGTH);
    cr_assert_eq(l.usage.output, 40);
    cr_assert_gt(l.usage.input, 2);
    cr_assert_gt(l.len, 20, "text: %.*s", (int)l.len, l.text);
}

Test(local_provider, cancel_and_refusing_sink_stop_cleanly)
{
    NEED(STORIES);
    ev_log a = {0};
    provider_run(STORIES, "Once upon a time", 200, true, &a);
    cr_assert_eq(a.n_finish + a.n_error, 0, "no terminal event after cancel");
    ev_log b = {.refuse_after_text = 1};
    provider_run(STORIES, "Once upon a time", 200, false, &b);
    cr_assert_eq(b.n_text, 1);
    cr_assert_eq(b.n_finish + b.n_error, 0);
}

Test(local_provider, errors_name_provider_and_limit)
{
    NEED(STORIES);
    ev_log l = {0};
    provider_run(STORIES, "Once upon a time", 100000, false, &l);
    cr_assert_eq(l.n_error, 1);
    cr_assert(strstr(l.err, "[local]") && strstr(l.err, "512"), "%s", l.err);
    ev_log m = {0};
    provider_run("stories260K/does-not-exist.gguf", "hi", 10, false, &m);
    cr_assert_eq(m.n_error, 1);
    cr_assert(strstr(m.err, "does-not-exist.gguf"), "%s", m.err);
}

/* ---- stop strings and text ---------------------------------------------- */

typedef struct text_log {
    char buf[8192];
    size_t len;
    int n_tok;
} text_log;

static lx_status on_text(void *ud, const lx_gen_token *t)
{
    text_log *l = ud;
    if (t->id >= 0)
        l->n_tok++;
    cr_assert_lt(l->len + t->len, sizeof l->buf);
    memcpy(l->buf + l->len, t->text, t->len);
    l->len += t->len;
    l->buf[l->len] = 0;
    return LX_OK;
}

Test(model, text_and_stop_strings)
{
    NEED(STORIES);
    lx_engine *e;
    lx_error err;
    lx_engine_opts eo = {.n_threads = 1};
    cr_assert_eq(lx_engine_new(model_path(STORIES), &eo, &e, &err), LX_OK);
    lx_session *s;
    cr_assert_eq(lx_session_new(e, 0, &s, &err), LX_OK);
    if (!lx_engine_tokenizer(e))
        cr_skip_test("no tokenizer in this build");
    /* full text equals the reference */
    lx_gen_params p = lx_gen_defaults();
    p.sample.temperature = 0;
    p.max_tokens = 200;
    p.detok_flags = LX_DECODE_STRIP_SPACE;
    text_log full = {0};
    p.on_token = on_text;
    p.ud = &full;
    int32_t bos = 1;
    cr_assert_eq(lx_session_generate(s, &bos, 1, &p, NULL, &err), LX_OK, "%s", err.message);
    FILE *f = fopen(model_path("stories260K/expected_t0_n200.txt"), "r");
    cr_assert_not_null(f);
    char want[8192];
    size_t wn = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[wn] = 0;
    cr_assert_str_eq(full.buf, want);
    /* stop at the first "Lily": text before it, finish STOP, index 1 */
    lx_session_reset(s);
    const char *stops[2] = {"zzz-never", "Lily"};
    p.stop = stops;
    p.n_stop = 2;
    text_log cut = {0};
    p.ud = &cut;
    lx_gen_result r;
    cr_assert_eq(lx_session_generate(s, &bos, 1, &p, &r, &err), LX_OK, "%s", err.message);
    cr_assert_eq(r.finish, LX_FINISH_STOP);
    cr_assert_eq(r.stop_index, 1);
    const char *hit = strstr(want, "Lily");
    cr_assert_not_null(hit);
    cr_assert_eq(cut.len, (size_t)(hit - want), "got '%s'", cut.buf);
    cr_assert(!strncmp(cut.buf, want, cut.len));
    /* a stop string that never completes is released at the end */
    lx_session_reset(s);
    const char *partial[1] = {"Once upon a time, there was a little girl named Lilyx"};
    p.stop = partial;
    p.n_stop = 1;
    p.max_tokens = 200;
    text_log rel = {0};
    p.ud = &rel;
    cr_assert_eq(lx_session_generate(s, &bos, 1, &p, &r, &err), LX_OK);
    cr_assert_eq(r.finish, LX_FINISH_LENGTH);
    cr_assert_str_eq(rel.buf, want);
    /* tokenize through the engine */
    int32_t *ids;
    size_t n;
    cr_assert_eq(lx_engine_tokenize(e, "Once upon a time", 16, true, false, &ids, &n, &err), LX_OK);
    cr_assert_gt(n, 2);
    cr_assert_eq(ids[0], 1);
    free(ids);
    lx_session_free(s);
    lx_engine_free(e);
}

Test(local_provider, chat_template_model)
{
    NEED("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf");
    ev_log l = {0};
    provider_run("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf", "Hello there", 8, false,
                 &l);
    cr_assert_eq(l.n_error, 0, "%s", l.err);
    cr_assert_eq(l.n_start, 1);
    cr_assert_eq(l.n_finish, 1);
    /* ChatML with SmolLM2's default system prompt: far more than 2 words */
    cr_assert_gt(l.usage.input, 20, "input %lld", (long long)l.usage.input);
    cr_assert_leq(l.usage.output, 8);
}

/* ---- RoPE scaling ------------------------------------------------------- */

static lx_status load_with_rope(const char *type, float factor, lx_model **m, uint8_t **buf,
                                lx_error *err)
{
    memset(&extra, 0, sizeof extra);
    n_extra = 0;
    str(&extra, "llama.rope.scaling.type");
    u32(&extra, LX_GGUF_STRING);
    str(&extra, type);
    kv_f32(&extra, "llama.rope.scaling.factor", factor);
    kv_u32(&extra, "llama.rope.scaling.original_context_length", 8192);
    n_extra = 3;
    lx_status st = load_synth("llama", 0, false, buf, m, err);
    free(extra.p);
    memset(&extra, 0, sizeof extra);
    n_extra = 0;
    return st;
}

Test(model, rope_scaling_linear_llama3_and_unsupported)
{
    uint8_t *buf;
    lx_model *m;
    lx_error err;
    cr_assert_eq(load_with_rope("linear", 4.0f, &m, &buf, &err), LX_OK, "%s", err.message);
    cr_assert_float_eq(m->hp.rope_linear, 4.0f, 0);
    lx_model_free(m);
    free(buf);

    cr_assert_eq(load_with_rope("llama3", 8.0f, &m, &buf, &err), LX_OK, "%s", err.message);
    cr_assert_float_eq(m->hp.rope_linear, 1.0f, 0);
    /* head_dim 16: 8 frequencies base^(-2i/16); llama3 rule with low 1, high 4,
     * original context 8192: wavelength < 2048 kept, > 8192 divided by 8,
     * smooth interpolation between */
    for (int i = 0; i < 8; i++) {
        double f = 1.0 / pow(10000.0, 2.0 * i / 16.0), wl = 2 * M_PI / f, want = f;
        if (wl > 8192)
            want = f / 8;
        else if (wl >= 2048) {
            double sm = (8192 / wl - 1) / (4 - 1);
            want = (1 - sm) * f / 8 + sm * f;
        }
        cr_assert_float_eq(m->rope_freq[i], want, want * 1e-4, "freq %d: %g vs %g", i,
                           (double)m->rope_freq[i], want);
    }
    lx_model_free(m);
    free(buf);

    cr_assert_eq(load_with_rope("yarn", 4.0f, &m, &buf, &err), LX_ERR_UNSUPPORTED);
    cr_assert(strstr(err.message, "llama.rope.scaling.type") && strstr(err.message, "yarn"), "%s",
              err.message);
    free(buf);
}

Test(local_provider, prompt_cache_reuses_the_prefix)
{
    NEED(STORIES);
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    lx_provider_cfg cfg = {
        .name = "local", .type = LX_PROV_LOCAL, .model_path = model_path(STORIES)};
    lx_provider *p;
    lx_error err;
    cr_assert_eq(lx_local_provider_new(NULL, &cfg, &loop, &p, &err), LX_OK, "%s", err.message);
    const char *prompts[3] = {"Once upon a time", "Once upon a time", "Once upon a time, a dog"};
    ev_log l[3];
    for (int i = 0; i < 3; i++) {
        memset(&l[i], 0, sizeof l[i]);
        lx_request *req = lx_request_new();
        cr_assert_eq(lx_request_add_text(req, LX_ROLE_USER, prompts[i]), LX_OK);
        req->sampling.has_temperature = true;
        req->sampling.temperature = 0;
        req->sampling.max_tokens = 30;
        lx_call *call;
        cr_assert_eq(lx_provider_start(p, req, NULL, sink, &l[i], &call, &err), LX_OK);
        lx_request_free(req);
        uv_run(&loop, UV_RUN_DEFAULT);
        cr_assert_eq(l[i].n_finish, 1, "call %d: %s", i, l[i].err);
    }
    /* same prompt: all but the last prompt token come from the cache, and
     * the answer is the same */
    cr_assert_eq(l[0].usage.cache_read, 0);
    int64_t total = l[0].usage.input;
    cr_assert_eq(l[1].usage.cache_read, total - 1);
    cr_assert_eq(l[1].usage.input, 1);
    cr_assert_eq(l[1].len, l[0].len);
    cr_assert(!memcmp(l[1].text, l[0].text, l[0].len));
    /* a longer prompt sharing the start */
    cr_assert_geq(l[2].usage.cache_read, 4);
    cr_assert_gt(l[2].usage.input, 0);
    lx_provider_free(p);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
