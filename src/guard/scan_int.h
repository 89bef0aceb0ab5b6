/*
 * scan_int.h — private to src/guard/: what scanner.c (database, scan loop,
 * overlap resolution), patterns.c (trigger table and exact matchers) and
 * validators.c (checksums, shapes, placeholder lists) share, and the
 * on-disk cache of compiled databases (scan_cache.c).
 *
 * Type indexes: 0 .. LX_FIND_BUILTIN_COUNT-1 are the built-in types; user
 * types follow, one index per distinct user type name.
 */
#ifndef LX_GUARD_SCAN_INT_H
#define LX_GUARD_SCAN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard/scanner.h"

typedef struct lx_cand {
    uint32_t type; /* type index */
    size_t start, end;
} lx_cand;

/* The state of one lx_scan() call, handed to every matcher. */
typedef struct lx_scan_ctx {
    const unsigned char *t;
    size_t len;
    uint32_t disabled; /* built-in types switched off */
    lx_cand *c;        /* candidates (scratch-owned storage) */
    size_t n, cap;
    bool nomem;
    /* PRIVATE_KEY: no "-----END" starts in [pem_from, pem_to); pem_end is
     * pem_to when one starts there, else SIZE_MAX. Zero-initialised = empty. */
    size_t pem_from, pem_to, pem_end;
} lx_scan_ctx;

/* An exact matcher: the trigger matched and ended at `end`. It parses the
 * candidate around it, validates, calls lx_emit() for findings, and returns
 * the offset up to which it has looked: later matches of the same trigger
 * ending at or before that offset are skipped. */
typedef size_t (*lx_confirm_fn)(lx_scan_ctx *cx, int arg, size_t end);

typedef struct lx_trigger {
    const char *re; /* Vectorscan expression */
    unsigned flags; /* HS_FLAG_* (never SOM) */
    int type;       /* lx_find_type it serves (for the `disabled` mask); -1: several */
    lx_confirm_fn fn;
    int arg;
} lx_trigger;

extern const lx_trigger lx_triggers[];
extern const size_t lx_n_triggers;

/* Appends a candidate; sets cx->nomem on failure. */
void lx_emit(lx_scan_ctx *cx, uint32_t type, size_t start, size_t end);

/* ---- validators.c ------------------------------------------------------- */

static inline bool lx_is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static inline bool lx_is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}
static inline bool lx_is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}
static inline bool lx_is_alpha(int c)
{
    return lx_is_upper(c) || lx_is_lower(c);
}
static inline bool lx_is_alnum(int c)
{
    return lx_is_alpha(c) || lx_is_digit(c);
}
/* Letters, digits, '_' and any non-ASCII byte (part of a UTF-8 letter). */
static inline bool lx_is_word(int c)
{
    return lx_is_alnum(c) || c == '_' || c >= 0x80;
}
static inline int lx_lower(int c)
{
    return lx_is_upper(c) ? c + 32 : c;
}

/* Luhn checksum over n ASCII digits. */
bool lx_luhn_ok(const char *digits, size_t n);
/* Expected IBAN length for a country code (two upper-case letters); 0 if
 * the country does not use IBANs. */
int lx_iban_length(const char *cc);
/* mod-97 check of an IBAN given without spaces (upper case). */
bool lx_iban_ok(const char *iban, size_t n);
/* US SSN area / group / serial rules and the documented fakes. */
bool lx_ssn_ok(int area, int group, int serial);
/* Shannon entropy in bits per byte. */
double lx_entropy(const unsigned char *s, size_t n);
/* Documentation placeholders: "example", "your", "xxxx", "<...>", "${...}",
 * all one character, ascending / descending runs, ... (case-insensitive). */
bool lx_is_placeholder(const unsigned char *s, size_t n);
/* Decodes base64url (no padding needed) into out (cap bytes); returns the
 * decoded length or -1 on a bad character or overflow. */
long lx_b64url_decode(const unsigned char *s, size_t n, unsigned char *out, size_t cap);
/* Case-insensitive: does one of the NULL-terminated words occur in
 * t[from..to)? A word starting with a letter must start a word of t. */
bool lx_window_has(const unsigned char *t, size_t from, size_t to, const char *const *words);
/* Case-insensitive prefix compare of t[i..] with a literal. */
bool lx_ci_at(const unsigned char *t, size_t len, size_t i, const char *lit);

/* ---- scan_cache.c (format, folder and trust rules: its opening comment) -- */

struct hs_database;

#define LX_CACHE_MAX ((size_t)256 << 20) /* a database above 256 MiB is not ours */

/* Whole reads and writes on a blocking fd, retried on EINTR; false on an
 * error or an early end of file. */
bool lx_scan_read_all(int fd, void *buf, size_t n);
bool lx_scan_write_all(int fd, const void *buf, size_t n);

/* The cache key of the database hs_compile_multi() would build from these
 * n patterns in HS_MODE_BLOCK on this host with this Vectorscan. */
void lx_scan_cache_key(const char *const *exprs, const unsigned *flags, const unsigned *ids,
                       size_t n, unsigned char key[32]);
/* The cached database of key (the caller frees it with hs_free_database), or
 * NULL on a miss: cache off, no file, or a file that fails any check. */
struct hs_database *lx_scan_cache_load(const unsigned char key[32]);
/* The database in a cache file's bytes buf[0..n) if every check of ours
 * passes (header, key, length, payload checksum) and Vectorscan accepts the
 * payload; else NULL, with a debug line naming `what` (a path). */
struct hs_database *lx_scan_cache_decode(const unsigned char *buf, size_t n,
                                         const unsigned char key[32], const char *what);
/* Writes db under key, atomically; failures are only logged (debug). */
void lx_scan_cache_store(const unsigned char key[32], const struct hs_database *db);

#endif
