/*
 * fuzz_gguf.c — libFuzzer target: GGUF reader and model loader on arbitrary
 * bytes. A file that opens is walked through every accessor, then handed to
 * the model loader; a model that loads (small ones only) runs one token.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/gguf.h"
#include "engine/model.h"

static void walk(const lx_gguf *g)
{
    volatile size_t sink = 0;
    for (size_t i = 0; i < lx_gguf_kv_count(g); i++) {
        lx_gguf_str k = lx_gguf_kv_key(g, i);
        char key[256];
        if (k.n >= sizeof key)
            continue;
        memcpy(key, k.p, k.n);
        key[k.n] = 0;
        uint64_t u;
        int64_t s;
        float f;
        bool b;
        lx_gguf_str str;
        lx_gguf_type et;
        size_t n;
        sink += lx_gguf_get_u64(g, key, &u) + lx_gguf_get_i64(g, key, &s) +
                lx_gguf_get_f32(g, key, &f) + lx_gguf_get_bool(g, key, &b);
        if (lx_gguf_get_str(g, key, &str) && str.n)
            sink += (unsigned char)str.p[str.n - 1];
        if (lx_gguf_get_arr(g, key, &et, &n)) {
            if (n && lx_gguf_arr_str(g, key, n - 1, &str) && str.n)
                sink += (unsigned char)str.p[0];
            const unsigned char *d = lx_gguf_arr_data(g, key);
            if (d && n)
                sink += d[0];
        }
    }
    for (size_t i = 0; i < lx_gguf_tensor_count(g); i++) {
        const lx_gguf_tensor *t = lx_gguf_tensor_at(g, i);
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)t->name.n, t->name.p);
        if (strlen(name) == t->name.n && lx_gguf_tensor_find(g, name) == NULL)
            abort(); /* every listed tensor must be found by name */
        if (t->nbytes)
            sink += ((const unsigned char *)t->data)[t->nbytes - 1];
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_gguf *g;
    lx_error err;
    if (lx_gguf_open_memory(data, size, &g, &err) != LX_OK) {
        if (!err.message[0])
            abort(); /* every failure must say why */
        return 0;
    }
    walk(g);
    lx_model *m;
    if (lx_model_from_gguf(g, &m, &err) != LX_OK)
        return 0;
    const lx_hparams *hp = &m->hp;
    if ((uint64_t)hp->dim * (uint64_t)(hp->ff_dim + hp->n_vocab) < (1u << 20)) {
        lx_model_state *s;
        if (lx_model_state_new(m, 2, 1, &s, &err) == LX_OK) {
            int32_t tok = 0;
            float *logits = malloc((size_t)hp->n_vocab * sizeof(float));
            if (logits)
                lx_model_forward(m, s, NULL, &tok, 1, 0, logits, false, &err);
            free(logits);
            lx_model_state_free(s);
        }
    }
    lx_model_free(m);
    return 0;
}
