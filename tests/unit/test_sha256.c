/*
 * SHA-256 against the FIPS 180-4 / NIST example vectors, fed whole and in
 * uneven pieces (block-boundary handling).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/sha256.h"

static void hex_of(const void *p, size_t n, size_t chunk, char out[65])
{
    lx_sha256 h;
    lx_sha256_init(&h);
    const char *s = p;
    while (n) {
        size_t k = chunk && chunk < n ? chunk : n;
        lx_sha256_update(&h, s, k);
        s += k;
        n -= k;
    }
    lx_sha256_final_hex(&h, out);
}

static const struct {
    const char *msg, *hex;
} vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmn"
     "opqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

Test(sha256, nist_vectors_whole_and_in_pieces)
{
    const size_t chunks[] = {0, 1, 3, 63, 64, 65};
    for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++)
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            char hex[65];
            hex_of(vectors[v].msg, strlen(vectors[v].msg), chunks[c], hex);
            cr_assert_str_eq(hex, vectors[v].hex, "vector %zu, chunk %zu", v, chunks[c]);
        }
}

Test(sha256, one_million_a)
{
    static char a[1000000];
    memset(a, 'a', sizeof a);
    char hex[65];
    hex_of(a, sizeof a, 4097, hex);
    cr_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, padding_edges)
{
    /* 55, 56 and 64 bytes: the length fits, just misses, or fills a block. */
    static const struct {
        size_t n;
        const char *hex;
    } e[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    for (size_t i = 0; i < 3; i++) {
        char buf[64], hex[65];
        memset(buf, 'a', e[i].n);
        hex_of(buf, e[i].n, 0, hex);
        cr_assert_str_eq(hex, e[i].hex, "%zu bytes", e[i].n);
    }
}
