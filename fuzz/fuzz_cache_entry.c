/* libFuzzer target: the response cache's stored form (account/cache.c) and
 * `llmux usage --since` (account/usage.c).
 *
 * A cache body comes back from a database file that anything could have
 * written, so lx_response_from_json must reject garbage cleanly; whatever
 * it accepts must serialise again and read back to the same text. The
 * same bytes are also tried as a --since value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "account/account_int.h"
#include "account/usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_response *r = NULL;
    if (lx_response_from_json((const char *)data, size, &r) == LX_OK) {
        char *s = NULL;
        size_t n = 0;
        if (lx_response_to_json(r, &s, &n) == LX_OK) {
            lx_response *back = NULL;
            if (lx_response_from_json(s, n, &back) != LX_OK)
                abort();
            if (strcmp(lx_response_text(r), lx_response_text(back)) != 0 ||
                r->n_parts != back->n_parts)
                abort();
            lx_response_free(back);
            free(s);
        }
        lx_response_free(r);
    }
    if (size < 64) {
        char buf[64];
        memcpy(buf, data, size);
        buf[size] = 0;
        int64_t t;
        lx_usage_parse_since(buf, 1700000000000LL, &t, NULL);
    }
    return 0;
}
