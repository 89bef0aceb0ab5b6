/*
 * scanner.h — the privacy guard's scanner: finds sensitive data in text.
 *
 * A scanner is built once from a configuration (which built-in finding types
 * are on, plus user-defined terms and regexes, each with a type name) and is
 * then immutable: any number of threads may call lx_scan() on it at the same
 * time, each with its own lx_scan_scratch.
 *
 * How a scan works
 *   1. Every pattern — built-in triggers, user terms, user regexes — lives in
 *      ONE Vectorscan block-mode database, and the text is scanned in ONE
 *      pass.
 *   2. Built-in patterns are *triggers*, not full descriptions: a literal
 *      with a little shape after it ("@" + a domain character, "sk-",
 *      "AKIA" + 16, "eyJ", "-----BEGIN", a key or password label, a street
 *      word, a first name), or, for numbers, one run of 7+ digits with single
 *      separators (cards, SSNs and national phone shapes share it) plus a
 *      dotted quad and an IPv6 shape. They are compiled WITHOUT
 *      HS_FLAG_SOM_LEFTMOST: start-of-match tracking makes Vectorscan slower
 *      and refuses some bounded repeats, and the exact boundaries need C
 *      anyway (trailing punctuation after an email, card separators that must
 *      be consistent, a PEM block that ends kilobytes later). Literal-led
 *      triggers also keep Vectorscan fast: each pattern that starts with a
 *      character class costs it 5-20 % (bench/README.md). Each trigger hands
 *      its end offset to a small exact matcher in C, which walks back to the
 *      start, parses the candidate and runs the validators: Luhn, IBAN mod-97
 *      with the per-country length table, SSN area / group / serial rules, IP
 *      ranges (no loopback, unspecified or documentation ranges), Shannon
 *      entropy and character classes, JWT header decode, placeholder lists
 *      (example.com, sk-xxxx, YOUR_API_KEY, AKIAIOSFODNN7EXAMPLE, ...), and
 *      context words in a window before the candidate ("version" before
 *      1.2.3.4, "phone" before a national number, "order" / "invoice"
 *      against a phone). A matcher returns how far it has parsed, so later
 *      end offsets of the same trigger inside that span cost nothing; every
 *      matcher is linear in what it reads and bounded, so hostile input
 *      cannot make a scan quadratic.
 *   3. User terms are literals matched case-insensitively (ASCII) as whole
 *      words (the neighbours must not be letters, digits, '_' or non-ASCII
 *      bytes); user regexes are compiled with HS_FLAG_SOM_LEFTMOST because
 *      their spans are arbitrary, byte-wise (no HS_FLAG_UTF8). A user type
 *      may reuse a built-in name (a list of staff names as PERSON). A regex
 *      Vectorscan refuses makes lx_scanner_new() fail with a message naming
 *      the regex, its type and the compiler's reason.
 *   4. Overlaps are resolved: spans of the same type that overlap are
 *      united; spans of different types that overlap keep the one of higher
 *      precedence (the other is dropped). Precedence, highest first:
 *          PRIVATE_KEY > user types > JWT > AWS_SECRET > API_KEY > PASSWORD >
 *          CREDIT_CARD > IBAN > US_SSN > EMAIL > IP_ADDRESS > PHONE >
 *          ADDRESS > PERSON
 *      so a PEM block swallows everything inside it, a key after a password
 *      label is an API_KEY, and a card number never also counts as a phone.
 *
 * Decisions worth knowing (tests pin them):
 *   - 4111 1111 1111 1111 and other Luhn-valid test cards ARE findings: they
 *     have the shape of a card, and the guard cannot tell a test card pasted
 *     by a developer from a real one typed by a customer.
 *   - Documented fake SSNs (123-45-6789, 078-05-1120, 219-09-9999) and the
 *     AWS documentation keys (...EXAMPLE) are not findings.
 *   - PASSWORD covers only the secret: "postgres://bob:[hunter2]@db", never
 *     the user name or the label.
 *   - Documentation IP ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
 *     2001:db8::/32) are placeholders, like example.com.
 *   - A generic token needs a label before it; bare hex hashes, git SHAs
 *     and UUIDs are never findings (a UUID is refused even after a label).
 *   - A dotted quad is an IP unless a version word stands before it or a
 *     version suffix follows ("1.2.5.1-2", "+dfsg", "~rc1"); a product name
 *     with a four-part version ("Pandoc 2.14.0.3") still reads as an IP.
 *   - PHONE rules: patterns.c; national numbers need a shape or a phone word.
 *   - PERSON and ADDRESS are best effort; see pii.c for the exact rules
 *     (honorifics and labels before capitalised words, an embedded list of
 *     common first names followed by a capitalised surname; a house number
 *     with English / German / French street words and an optional postcode
 *     and city).
 *
 * Compiled-database cache: compiling the database costs 0.1-0.9 s, so
 * lx_scanner_new() first looks for it on disk, keyed by SHA-256 of
 * everything the compiler is given (our format version, hs_version(), the
 * host platform, and every expression / flags / id in order), and stores it
 * there after a compile. Folder: $LLMUX_SCAN_CACHE (a folder; "off" turns
 * the cache off), else $XDG_CACHE_HOME/llmux/scan, else
 * ~/.cache/llmux/scan; one file <key hex>.hsdb per pattern set. A file is
 * used only if it is the user's own, private, and its header, key and
 * payload checksum match; any other file is ignored and overwritten. Cache
 * trouble (read-only or missing home, corrupt file) never fails
 * lx_scanner_new() and never changes findings: it only costs the compile.
 * Format and trust rules: scan_cache.c.
 *
 * Offsets are byte offsets into the scanned text: start inclusive, end
 * exclusive. Text is treated as bytes (UTF-8 is fine, invalid UTF-8 too).
 */
#ifndef LX_GUARD_SCANNER_H
#define LX_GUARD_SCANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/types.h"

/* Built-in finding types; lx_scan_type_name() gives their names. */
typedef enum {
    LX_FIND_EMAIL,
    LX_FIND_PHONE,
    LX_FIND_CREDIT_CARD,
    LX_FIND_IBAN,
    LX_FIND_US_SSN,
    LX_FIND_IP_ADDRESS,
    LX_FIND_API_KEY,
    LX_FIND_AWS_SECRET,
    LX_FIND_PRIVATE_KEY,
    LX_FIND_JWT,
    LX_FIND_PASSWORD,
    LX_FIND_PERSON,
    LX_FIND_ADDRESS,
    LX_FIND_BUILTIN_COUNT
} lx_find_type;

/* "EMAIL", "CREDIT_CARD", ...; NULL for a value out of range. */
const char *lx_scan_type_name(lx_find_type t);
/* The built-in type of a name (exact, upper case); -1 if none. */
int lx_scan_type_from_name(const char *name);

/* A user-defined literal: matched case-insensitively as a whole word. */
typedef struct lx_scan_term {
    const char *type; /* e.g. "PROJECT_CODENAME": [A-Z0-9_]+, not a built-in */
    const char *word; /* non-empty */
} lx_scan_term;

/* A user-defined regex (Vectorscan / PCRE syntax). */
typedef struct lx_scan_regex {
    const char *type;
    const char *pattern;
    int caseless; /* nonzero: match case-insensitively */
} lx_scan_regex;

/* A zeroed config (or NULL) means: every built-in type, no user patterns.
 * The scanner copies everything it needs; cfg may be freed afterwards. */
typedef struct lx_scan_config {
    uint32_t disabled; /* bit (1u << lx_find_type) turns a built-in type off */
    const lx_scan_term *terms;
    size_t n_terms;
    const lx_scan_regex *regexes;
    size_t n_regexes;
} lx_scan_config;

typedef struct lx_scanner lx_scanner;
typedef struct lx_scan_scratch lx_scan_scratch;

/* Where in a request a finding is (lx_scan_request only). */
typedef enum {
    LX_SCAN_FIELD_NONE = 0,  /* a plain lx_scan() */
    LX_SCAN_FIELD_TEXT,      /* part->text (text, thinking, tool result) */
    LX_SCAN_FIELD_ARGUMENTS, /* part->arguments (tool call) */
    LX_SCAN_FIELD_URL,       /* part->url (image by URL) */
} lx_scan_field;

typedef struct lx_finding {
    const char *type; /* owned by the scanner: valid while it lives */
    int builtin;      /* lx_find_type, or -1 for a user type */
    size_t start, end;
    size_t message, part; /* request position (lx_scan_request), else 0 */
    lx_scan_field field;
} lx_finding;

/* A growable list of findings, sorted by (message, part, field, start).
 * Zero-initialised is a valid empty list; the caller frees it. */
typedef struct lx_findings {
    lx_finding *items;
    size_t n, cap;
} lx_findings;

void lx_findings_reset(lx_findings *f); /* n = 0, keeps storage */
void lx_findings_free(lx_findings *f);

/* Builds a scanner; *out is owned by the caller (lx_scanner_free). Fails
 * with LX_ERR_CONFIG naming the bad term / regex / type name, or
 * LX_ERR_NOMEM. */
lx_status lx_scanner_new(const lx_scan_config *cfg, lx_scanner **out, lx_error *err);
void lx_scanner_free(lx_scanner *s);
/* Process-wide: when on, a database that is not in the on-disk cache is
 * compiled in a forked child (scanner.c says why); off by default (the CLI's
 * one-shot commands). The server turns it on before building its config. */
void lx_scanner_isolate_compile(bool on);
/* True when s's database was loaded from the on-disk cache rather than
 * compiled (tests and diagnostics; results are the same either way). */
bool lx_scanner_from_cache(const lx_scanner *s);
/* True when a forked child compiled s's database (tests, diagnostics). */
bool lx_scanner_compiled_in_child(const lx_scanner *s);

/* Per-thread scratch for one scanner; owned by the caller. */
lx_status lx_scan_scratch_new(const lx_scanner *s, lx_scan_scratch **out, lx_error *err);
void lx_scan_scratch_free(lx_scan_scratch *sc);

/* Scans text[0..len) and APPENDS its findings to out (sorted by start among
 * themselves). Thread-safe for distinct scratches. Fails with LX_ERR_NOMEM
 * or LX_ERR_INTERNAL (Vectorscan error); out then holds what it held before. */
lx_status lx_scan(const lx_scanner *s, lx_scan_scratch *sc, const char *text, size_t len,
                  lx_findings *out, lx_error *err);

/* Scans every text of a request — each part's text, tool-call arguments and
 * image URLs (not data: URLs) of every message — appending findings with
 * their message / part indexes and field. */
lx_status lx_scan_request(const lx_scanner *s, lx_scan_scratch *sc, const lx_request *req,
                          lx_findings *out, lx_error *err);

#endif
