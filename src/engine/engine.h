/*
 * engine.h — the embedded inference engine: models, sessions, generation.
 *
 * An lx_engine names one GGUF model file. The file is mapped and validated
 * lazily, on first use (lx_engine_load, or implicitly by lx_session_new), and
 * then stays mapped until lx_engine_free. The loaded model is read-only and
 * shared by every session.
 *
 * An lx_session is one conversation: its own KV cache and position (each
 * generate call makes its own sampler from its params). Several sessions may exist at once and be
 * used from different threads; one session is used by one thread at a time. The engine owns one
 * thread pool for the matrix products; forward passes of different sessions
 * take turns on it (a mutex is held for the duration of one forward call),
 * so concurrent sessions are correct and never oversubscribe the CPU.
 *
 * Positions: a session holds tokens [0, pos). lx_session_eval appends n
 * tokens at [pos, pos+n) in one batch (prefill: matrix-matrix products) and
 * returns the logits of the last one; n = 1 is a decode step. Going past the
 * session's context size is an error (LX_ERR_TOOBIG naming the limit), never
 * a silent truncation.
 *
 * Generation (lx_session_generate): the prompt ids are evaluated, then tokens
 * are sampled one at a time until EOS/EOT, a stop string, max_tokens, the
 * context limit (error) or the cancel flag (checked before every token).
 * Each generated token is reported through on_token with its id, the text
 * piece it completes (UTF-8-safe streaming detokenizer; may be empty) and,
 * when params.logprobs is set, the log-probability of the chosen token
 * (sampler.h: log softmax(logits / T), T = 1 when greedy; greedy pays one
 * exp pass over the vocabulary for it, hence the flag).
 *
 * Ownership: lx_engine_new copies the path; lx_engine_free frees every
 * session's shared state, so free all sessions first. Pointers returned by
 * lx_session_eval / lx_engine_info stay valid until the next call on the same
 * session / until lx_engine_free.
 */
#ifndef LX_ENGINE_ENGINE_H
#define LX_ENGINE_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/types.h"
#include "engine/sampler.h"

typedef struct lx_engine lx_engine;
typedef struct lx_session lx_session;

typedef struct lx_engine_opts {
    int n_threads; /* matmul threads; <= 0: $LLMUX_THREADS, else the online CPUs */
    int n_ctx;     /* default session context; <= 0: the model's context_length */
} lx_engine_opts;

/* What the loaded model is (valid after a successful load). */
typedef struct lx_engine_info {
    const char *arch; /* "llama", "qwen2" */
    const char *name; /* general.name, or the file name */
    int n_vocab, dim, n_layers, n_heads, n_kv_heads, ff_dim, n_ctx_train;
    int bos_id, eos_id; /* -1 when absent */
    int eot_id;         /* end-of-turn id (e.g. <|im_end|>, <|eot_id|>), -1 when absent */
    uint64_t n_params;  /* total weight elements */
    uint64_t weight_bytes;
    const char *weight_type; /* type of the attn_q matrices, e.g. "q8_0" */
} lx_engine_info;

/* New engine for the GGUF file at path (not opened yet). opts may be NULL. */
lx_status lx_engine_new(const char *path, const lx_engine_opts *opts, lx_engine **out,
                        lx_error *err);
/* Maps and validates the model if not done yet; thread-safe. A failed load
 * is remembered: every later call returns the same error. */
lx_status lx_engine_load(lx_engine *e, lx_error *err);
/* NULL before a successful load. */
const lx_engine_info *lx_engine_get_info(lx_engine *e);
/* "avx2", "scalar", ...: the kernels in use. */
const char *lx_engine_kernels(void);
int lx_engine_threads(const lx_engine *e);
void lx_engine_free(lx_engine *e);

/* New session (loads the model if needed). n_ctx <= 0: the engine default.
 * The KV cache grows on demand up to n_ctx. */
lx_status lx_session_new(lx_engine *e, int n_ctx, lx_session **out, lx_error *err);
void lx_session_free(lx_session *s);
/* Forgets every token (position back to 0). */
void lx_session_reset(lx_session *s);
int lx_session_pos(const lx_session *s);
int lx_session_n_ctx(const lx_session *s);

/* The tokens whose keys and values the cache holds, [0, pos); *n gets pos.
 * The pointer is owned by the session and valid until its next call. */
const int32_t *lx_session_tokens(const lx_session *s, int *n);
/* Keeps the first n tokens (0 <= n <= pos) and forgets the rest, including
 * a pending token: the way to reuse a cached prefix for a new prompt. */
void lx_session_truncate(lx_session *s, int n);

/* Evaluates ids[0..n) at positions [pos, pos+n) and advances pos. On success
 * *logits (if not NULL) points at the last token's n_vocab logits, owned by
 * the session. LX_ERR_TOOBIG when pos+n exceeds the context; LX_ERR_INVALID
 * for an id outside the vocabulary. */
lx_status lx_session_eval(lx_session *s, const int32_t *ids, int n, const float **logits,
                          lx_error *err);

/* ---- tokens <-> text (the model's tokenizer) ---------------------------- */

/* Tokenizes text (add_bos: prepend BOS when the model wants it). *ids is a
 * malloc'd array the caller frees. LX_ERR_UNSUPPORTED if this build has no
 * tokenizer. */
lx_status lx_engine_tokenize(lx_engine *e, const char *text, size_t len, bool add_special,
                             bool parse_special, int32_t **ids, size_t *n_ids, lx_error *err);

/* The model's tokenizer (tokenizer.h), NULL when the load failed or the
 * model's tokenizer is not supported; the GGUF metadata (for the chat
 * template), NULL before a successful load. Both live until lx_engine_free. */
struct lx_tokenizer;
struct lx_gguf;
const struct lx_tokenizer *lx_engine_tokenizer(lx_engine *e);
const struct lx_gguf *lx_engine_gguf(lx_engine *e);

/* ---- sampling and generation -------------------------------------------- */

typedef struct lx_gen_token {
    int32_t id;
    const char *text; /* the piece this token completes; not NUL-terminated */
    size_t len;
    float logprob; /* log p(id) after temperature; 0 unless params.logprobs */
} lx_gen_token;

/* Return LX_OK to continue; anything else stops generation (finish OTHER).
 * At the end, text that was held back (a partial stop string that never
 * completed, an unfinished UTF-8 sequence) comes in one last call with
 * id = -1. */
typedef lx_status (*lx_gen_token_fn)(void *ud, const lx_gen_token *tok);

typedef struct lx_gen_params {
    lx_sample_params sample;
    int max_tokens;          /* <= 0: up to the context limit */
    const char *const *stop; /* stop strings (text), may be NULL */
    size_t n_stop;
    bool stop_at_eos;     /* stop on EOS/EOT (default true from lx_gen_defaults) */
    bool logprobs;        /* report each token's log-probability (default false) */
    unsigned detok_flags; /* tokenizer.h LX_DECODE_* for the text pieces */
    atomic_bool *cancel;  /* set from another thread to stop; may be NULL */
    lx_gen_token_fn on_token;
    void *ud;
} lx_gen_params;

typedef struct lx_gen_result {
    int n_prompt;     /* prompt tokens evaluated */
    int n_generated;  /* tokens sampled */
    lx_finish finish; /* STOP (EOS or stop string), LENGTH (max_tokens) or OTHER */
    int stop_index;   /* which stop string matched, -1 otherwise */
    double prefill_ms, decode_ms;
} lx_gen_result;

/* Defaults: temperature 0.8, top_p 0.95, top_k 40, min_p 0.05, repeat
 * penalty off, seed 0 (clock), stop_at_eos true, max_tokens 0. */
lx_gen_params lx_gen_defaults(void);

/* Appends the prompt ids to the session and generates. The last sampled
 * token is not evaluated yet when generation ends; the session keeps it and
 * evaluates it first on the next generate call (so a conversation can go on). Errors: LX_ERR_TOOBIG
 * (context, with the limit), LX_ERR_CANCELLED (cancel flag), LX_ERR_INVALID.
 * Stop strings are withheld from on_token while they may still match and
 * never reported. */
lx_status lx_session_generate(lx_session *s, const int32_t *prompt, size_t n_prompt,
                              const lx_gen_params *p, lx_gen_result *res, lx_error *err);

#endif
