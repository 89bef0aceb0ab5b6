/*
 * fuzz_tokenizer — libFuzzer target for the tokenizers' outside inputs.
 *
 * The first input byte picks what to do with the rest:
 *   0-3  encode the bytes with the SmolLM2 vocabulary (byte-level BPE,
 *        smollm pre-tokenizer); bit 0 = parse specials, bit 1 = add BOS;
 *   4-5  encode with a byte-level BPE built in memory, llama3 / qwen2
 *        pre-tokenizers (exercises their matchers on any bytes);
 *   6-9  encode with the Llama 2 vocabulary (SentencePiece, byte fallback);
 *   10-253 decode the bytes as an array of int32 ids (any values, also out
 *        of range) in one call and through the streaming detokenizer, with
 *        each vocabulary; the output must be valid UTF-8;
 *   254  the bytes are a chat template: detect it, render a conversation;
 *   255  the bytes are a GGUF file: build its tokenizer (any error is fine),
 *        encode and decode a sentence with it.
 * Every BPE encoding must decode back to the input bytes exactly.
 *
 * Models come from $LLMUX_MODEL_DIR (else ../shared/models); a vocabulary
 * that is absent is replaced by a tiny in-memory one, so the target always
 * runs. Build with `make fuzz`; run e.g.
 *   build-fuzz/fuzz/fuzz_tokenizer -max_len=4096 -runs=200000
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/types.h"
#include "engine/gguf.h"
#include "engine/template.h"
#include "engine/tokenizer.h"
#include "engine/unicode.h"

static lx_tokenizer *smol, *llama, *mini_l3, *mini_q2;
static uint32_t byte_cp(unsigned b);

static lx_tokenizer *from_file(const char *rel)
{
    const char *dir = getenv("LLMUX_MODEL_DIR");
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir && *dir ? dir : "../shared/models", rel);
    lx_gguf *g = NULL;
    lx_tokenizer *t = NULL;
    if (lx_gguf_open(p, &g, NULL) != LX_OK) {
        fprintf(stderr, "fuzz_tokenizer: %s absent, using a tiny vocabulary\n", p);
        return NULL;
    }
    if (lx_tokenizer_new(g, &t, NULL) != LX_OK)
        t = NULL;
    lx_gguf_close(g);
    return t;
}

/* A byte-level BPE over all 256 byte code points plus a few merges and a
 * special token. */
static lx_tokenizer *mini_bpe(const char *pre)
{
    static char texts[260][8];
    const char *toks[260];
    size_t lens[260];
    int32_t types[260];
    size_t n = 0;
    for (unsigned b = 0; b < 256; b++) {
        lens[n] = lx_utf8_encode(byte_cp(b), texts[n]);
        toks[n] = texts[n];
        types[n++] = LX_TOKTYPE_NORMAL;
    }
    const char *extra[] = {"th", "the", "\xC4\xA0the", "<|eot|>"};
    for (size_t i = 0; i < 4; i++) {
        toks[n] = extra[i];
        lens[n] = strlen(extra[i]);
        types[n++] = i == 3 ? LX_TOKTYPE_CONTROL : LX_TOKTYPE_NORMAL;
    }
    const char *merges[] = {"t h", "th e", "\xC4\xA0 the"};
    size_t mlens[] = {3, 4, 6};
    lx_tokenizer_spec sp = {.kind = LX_TOKENIZER_BPE,
                            .pre = pre,
                            .n_vocab = n,
                            .tokens = toks,
                            .token_lens = lens,
                            .types = types,
                            .n_merges = 3,
                            .merges = merges,
                            .merge_lens = mlens,
                            .bos = 259,
                            .eos = 259,
                            .eot = -1,
                            .eom = -1,
                            .unk = -1,
                            .pad = -1,
                            .add_bos = true};
    lx_tokenizer *t = NULL;
    if (lx_tokenizer_new_from_spec(&sp, &t, NULL) != LX_OK)
        abort();
    return t;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    smol = from_file("smollm2-tokenizer/smollm2-tokenizer-tiny-random.gguf");
    llama = from_file("llama-2-tiny-random/llama-2-tiny-random.gguf");
    mini_l3 = mini_bpe("llama-bpe");
    mini_q2 = mini_bpe("qwen2");
    if (!smol)
        smol = mini_bpe("smollm");
    return 0;
}

static bool printable_byte(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

/* GPT-2's byte -> code point table. */
static uint32_t byte_cp(unsigned b)
{
    if (printable_byte(b))
        return b;
    uint32_t k = 0;
    for (unsigned x = 0; x < b; x++)
        k += !printable_byte(x);
    return 256 + k;
}

static void check_bpe_round_trip(const lx_tokenizer *t, const char *s, size_t n, bool special)
{
    int32_t *ids;
    size_t k;
    if (lx_tokenizer_encode(t, s, n, false, special, &ids, &k, NULL) != LX_OK)
        abort();
    /* Raw pieces, concatenated, are the input bytes again, minus the bytes
     * the vocabulary has no token for (dropped, as the references do). */
    char *kept = malloc(n + 1);
    if (!kept)
        abort();
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char u[4];
        unsigned b = (unsigned char)s[i];
        size_t ul = lx_utf8_encode(byte_cp(b), u);
        if (lx_tokenizer_find(t, u, ul) >= 0)
            kept[m++] = s[i];
    }
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        size_t pl;
        const char *p = lx_tokenizer_piece(t, ids[i], true, &pl);
        if (!p || off + pl > m || memcmp(kept + off, p, pl))
            abort();
        off += pl;
    }
    if (off != m)
        abort();
    free(kept);
    free(ids);
}

static void decode_all(const lx_tokenizer *t, const int32_t *ids, size_t n, unsigned flags)
{
    lx_buf b;
    lx_buf_init(&b, 0);
    lx_status st = lx_tokenizer_decode(t, ids, n, flags, &b, NULL);
    if (st != LX_OK && st != LX_ERR_INVALID)
        abort();
    if (b.len && !lx_utf8_valid(b.data, b.len))
        abort();
    lx_buf_free(&b);
    lx_detok d;
    lx_detok_init(&d, t, flags);
    for (size_t i = 0; i < n; i++) {
        lx_buf c;
        lx_buf_init(&c, 0);
        st = lx_detok_push(&d, ids[i], &c, NULL);
        if ((st != LX_OK && st != LX_ERR_INVALID) || (c.len && !lx_utf8_valid(c.data, c.len)))
            abort();
        lx_buf_free(&c);
    }
    lx_buf_init(&b, 0);
    if (lx_detok_flush(&d, &b, NULL) != LX_OK || (b.len && !lx_utf8_valid(b.data, b.len)))
        abort();
    lx_buf_free(&b);
}

static void fuzz_template(const char *s, size_t n)
{
    lx_template *t = NULL;
    if (lx_template_detect(s, n, &t, NULL) != LX_OK)
        return;
    lx_request *r = lx_request_new();
    if (r && lx_request_add_text(r, LX_ROLE_USER, "Hi") == LX_OK) {
        lx_buf b;
        lx_buf_init(&b, 0);
        if (lx_template_render(t, r, true, &b, NULL) != LX_OK)
            abort();
        lx_buf_free(&b);
    }
    lx_request_free(r);
    lx_template_free(t);
}

static void fuzz_gguf_tokenizer(const char *s, size_t n)
{
    lx_gguf *g = NULL;
    lx_tokenizer *t = NULL;
    if (lx_gguf_open_memory(s, n, &g, NULL) != LX_OK)
        return;
    if (lx_tokenizer_new(g, &t, NULL) == LX_OK) {
        static const char text[] = "Hello <s> world \xF0\x9F\x98\x80 123!";
        int32_t *ids;
        size_t k;
        if (lx_tokenizer_encode(t, text, sizeof text - 1, true, true, &ids, &k, NULL) != LX_OK)
            abort();
        decode_all(t, ids, k, LX_DECODE_STRIP_SPACE);
        free(ids);
        lx_tokenizer_free(t);
    }
    lx_template *tm = NULL;
    if (lx_template_from_gguf(g, &tm, NULL) == LX_OK)
        lx_template_free(tm);
    lx_gguf_close(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    int32_t *ids = NULL;
    size_t k;
    if (mode < 4) {
        if (lx_tokenizer_encode(smol, s, n, mode & 2, mode & 1, &ids, &k, NULL) != LX_OK)
            abort();
        free(ids);
        check_bpe_round_trip(smol, s, n, mode & 1);
    } else if (mode < 6) {
        check_bpe_round_trip(mode == 4 ? mini_l3 : mini_q2, s, n, true);
    } else if (mode < 10) {
        if (llama) {
            if (lx_tokenizer_encode(llama, s, n, mode & 1, mode & 2, &ids, &k, NULL) != LX_OK)
                abort();
            decode_all(llama, ids, k, LX_DECODE_STRIP_SPACE);
            free(ids);
        }
    } else if (mode == 254) {
        fuzz_template(s, n);
    } else if (mode == 255) {
        fuzz_gguf_tokenizer(s, n);
    } else {
        size_t m = n / 4;
        int32_t *v = malloc(m ? m * sizeof *v : 1);
        if (!v)
            return 0;
        memcpy(v, s, m * sizeof *v);
        unsigned flags = mode & 3;
        decode_all(smol, v, m, flags);
        if (llama)
            decode_all(llama, v, m, flags);
        decode_all(mini_l3, v, m, flags);
        free(v);
    }
    return 0;
}
