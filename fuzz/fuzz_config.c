/*
 * fuzz_config.c — lx_config_parse on arbitrary bytes: it must accept or
 * refuse with LX_ERR_CONFIG and a "NAME:LINE:COL: " message, never crash or
 * leak. On success the parsed config is exercised too (dump, warnings,
 * resolve of every listed model, catalogue lookups).
 *
 *   make fuzz && build-fuzz/fuzz/fuzz_config -max_total_time=60 tests/fixtures/config
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lx_config *c = NULL;
    lx_error err;
    lx_error_clear(&err);
    lx_status st = lx_config_parse((const char *)data, size, "fuzz.yaml", &c, &err);
    if (st != LX_OK) {
        if (c)
            abort(); /* nothing is returned on failure */
        if (st == LX_ERR_CONFIG && strncmp(err.message, "fuzz.yaml:", 10) != 0)
            abort(); /* every config error carries its position */
        return 0;
    }
    lx_buf b;
    lx_buf_init(&b, 0);
    if (lx_config_dump(c, &b) != LX_OK)
        abort();
    lx_buf_reset(&b);
    lx_config_warnings(c, &b);
    lx_buf_free(&b);
    const lx_provider_cfg *p;
    const char *m;
    lx_config_resolve(c, NULL, &p, &m, &err);
    for (size_t i = 0; i < c->n_providers; i++) {
        lx_config_resolve(c, c->providers[i].name, &p, &m, &err);
        for (size_t j = 0; j < c->providers[i].n_models; j++) {
            if (lx_config_resolve(c, c->providers[i].models[j], &p, &m, &err) == LX_OK && !m)
                abort();
            lx_catalogue_find(c, c->providers[i].models[j]);
        }
    }
    lx_config_free(c);
    return 0;
}
