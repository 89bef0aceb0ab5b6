/* libFuzzer target: the scanner's database cache file (guard/scan_cache.c).
 *
 * The input is taken as a whole cache file and decoded against a fixed key:
 * every header check must refuse it cleanly (the fuzzer can learn the magic
 * and key from the comparisons; the payload checksum it cannot forge). With
 * the first byte odd, the rest is wrapped in a header of ours that passes
 * (right key, length and checksum), so the bytes reach Vectorscan's own
 * checks as a cache file written by a buggy or older llmux would. */
#include <hs/hs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sha256.h"
#include "guard/scan_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char key[32];
    static int ready;
    if (!ready) {
        const char *ex[] = {"bluebird", "JIRA-[0-9]{2,8}"};
        unsigned fl[] = {HS_FLAG_CASELESS, HS_FLAG_SOM_LEFTMOST}, id[] = {0, 1};
        lx_scan_cache_key(ex, fl, id, 2, key);
        ready = 1;
    }
    if (size == 0)
        return 0;
    struct hs_database *db;
    if (!(data[0] & 1)) {
        db = lx_scan_cache_decode(data, size, key, "fuzz");
    } else {
        size_t len = size - 1, n = 88 + len;
        unsigned char *f = calloc(1, n);
        if (!f)
            return 0;
        memcpy(f, "LXSCANDB", 8);
        f[8] = 1; /* format version */
        memcpy(f + 16, key, 32);
        for (int i = 0; i < 8; i++)
            f[48 + i] = (unsigned char)((uint64_t)len >> (8 * i));
        memcpy(f + 88, data + 1, len);
        lx_sha256 h;
        lx_sha256_init(&h);
        lx_sha256_update(&h, f + 88, len);
        lx_sha256_final(&h, f + 56);
        db = lx_scan_cache_decode(f, n, key, "fuzz");
        free(f);
    }
    hs_free_database(db);
    return 0;
}
