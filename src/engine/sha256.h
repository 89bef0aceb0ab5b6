/*
 * sha256.h — SHA-256 (FIPS 180-4), streaming.
 *
 * Used to verify downloaded model files. A plain value type: no allocation,
 * no global state.
 *
 *     lx_sha256 h;
 *     lx_sha256_init(&h);
 *     lx_sha256_update(&h, p, n);   // any number of times
 *     char hex[65];
 *     lx_sha256_final_hex(&h, hex);
 */
#ifndef LX_ENGINE_SHA256_H
#define LX_ENGINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct lx_sha256 {
    uint32_t state[8];
    uint64_t total; /* bytes hashed so far */
    unsigned char block[64];
    size_t fill; /* bytes waiting in block */
} lx_sha256;

void lx_sha256_init(lx_sha256 *h);
void lx_sha256_update(lx_sha256 *h, const void *p, size_t n);
/* Writes the 32-byte digest; h must be re-initialised before reuse. */
void lx_sha256_final(lx_sha256 *h, unsigned char out[32]);
/* The digest as 64 lowercase hex digits and a NUL. */
void lx_sha256_final_hex(lx_sha256 *h, char out[65]);

#endif
