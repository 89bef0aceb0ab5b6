/*
 * Unit tests of the privacy scanner (src/guard/).
 *
 * The corpora in tests/data/scan/ carry most cases: each line is a text with
 * its expected findings marked {{TYPE|text}} (see the README there); a line
 * must produce exactly its marked findings. The tests below cover what does
 * not fit one line: exact offsets, PEM blocks, user terms and regexes, bad
 * regexes, disabled types, whole requests, threads and random input, and
 * the on-disk cache of compiled databases (hits, spoiled files, key, folder).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/sha256.h"
#include "guard/scan_int.h"
#include "guard/scanner.h"

static lx_scanner *S;
static lx_scan_scratch *SC;

static void setup(void)
{
    lx_error err = {0};
    cr_assert_eq(lx_scanner_new(NULL, &S, &err), LX_OK, "%s", err.message);
    cr_assert_eq(lx_scan_scratch_new(S, &SC, &err), LX_OK, "%s", err.message);
}

static void teardown(void)
{
    lx_scan_scratch_free(SC);
    lx_scanner_free(S);
}

/* Findings of text as "TYPE=text|TYPE=text" (malloc'd). */
static char *describe(const lx_scanner *s, lx_scan_scratch *sc, const char *text, size_t len)
{
    lx_findings f = {0};
    lx_error err = {0};
    cr_assert_eq(lx_scan(s, sc, text, len, &f, &err), LX_OK, "%s", err.message);
    size_t cap = 64 + len * 2 + f.n * 32, n = 0;
    char *out = malloc(cap);
    out[0] = 0;
    for (size_t i = 0; i < f.n; i++) {
        cr_assert(f.items[i].start < f.items[i].end && f.items[i].end <= len);
        if (i)
            cr_assert(f.items[i - 1].end <= f.items[i].start, "overlap or unsorted");
        n += (size_t)snprintf(out + n, cap - n, "%s%s=%.*s", i ? "|" : "", f.items[i].type,
                              (int)(f.items[i].end - f.items[i].start), text + f.items[i].start);
    }
    lx_findings_free(&f);
    return out;
}

static char *scan_desc(const char *text)
{
    return describe(S, SC, text, strlen(text));
}

/* ---- corpora ------------------------------------------------------------ */

static const char *data_dir(void)
{
    const char *d = getenv("LX_SCAN_DATA");
    return d ? d : "tests/data/scan";
}

/* Runs every case of a corpus file; returns the number of cases. */
static int run_corpus(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", data_dir(), name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
    char line[4096];
    int cases = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = 0;
        if (!l || line[0] == '#')
            continue;
        char text[4096], want[8192];
        size_t tn = 0, wn = 0;
        want[0] = 0;
        for (size_t i = 0; i < l;) {
            if (!strncmp(line + i, "{{", 2)) {
                const char *bar = strchr(line + i, '|'), *close = strstr(line + i, "}}");
                cr_assert(bar && close && bar < close, "%s:%d: bad marker", name, lineno);
                size_t sp = tn;
                memcpy(text + tn, bar + 1, (size_t)(close - bar - 1));
                tn += (size_t)(close - bar - 1);
                wn += (size_t)snprintf(want + wn, sizeof want - wn, "%s%.*s=%.*s", wn ? "|" : "",
                                       (int)(bar - line - i - 2), line + i + 2, (int)(tn - sp),
                                       text + sp);
                i = (size_t)(close - line) + 2;
            } else if (!strncmp(line + i, "\\n", 2)) {
                text[tn++] = '\n';
                i += 2;
            } else {
                text[tn++] = line[i++];
            }
        }
        text[tn] = 0;
        char *got = describe(S, SC, text, tn);
        cr_expect_str_eq(got, want, "%s:%d: %s\n  got:  %s\n  want: %s", name, lineno, text, got,
                         want);
        free(got);
        cases++;
    }
    fclose(f);
    return cases;
}

TestSuite(guard, .init = setup, .fini = teardown);

Test(guard, corpus_positives)
{
    cr_assert_geq(run_corpus("positives.txt"), 80);
}

Test(guard, corpus_negatives)
{
    cr_assert_geq(run_corpus("negatives.txt"), 50);
}

Test(guard, corpus_overlaps)
{
    cr_assert_geq(run_corpus("overlaps.txt"), 6);
}

/* ---- exact offsets ------------------------------------------------------ */

Test(guard, offsets_are_exact_bytes)
{
    const char *t = "Mail: bob@acme.io, card 4111-1111-1111-1111.";
    lx_findings f = {0};
    cr_assert_eq(lx_scan(S, SC, t, strlen(t), &f, NULL), LX_OK);
    cr_assert_eq(f.n, 2);
    cr_expect_str_eq(f.items[0].type, "EMAIL");
    cr_expect_eq(f.items[0].builtin, LX_FIND_EMAIL);
    cr_expect_eq(f.items[0].start, 6);
    cr_expect_eq(f.items[0].end, 17);
    cr_expect_str_eq(f.items[1].type, "CREDIT_CARD");
    cr_expect_eq(f.items[1].start, 24);
    cr_expect_eq(f.items[1].end, 43);
    cr_expect_eq(f.items[1].field, LX_SCAN_FIELD_NONE);
    lx_findings_free(&f);
}

Test(guard, offsets_at_text_edges_and_in_utf8)
{
    char *d = scan_desc("jane@acme.io");
    cr_expect_str_eq(d, "EMAIL=jane@acme.io");
    free(d);
    d = scan_desc("Grüße → 10.1.2.3 ✓");
    cr_expect_str_eq(d, "IP_ADDRESS=10.1.2.3");
    free(d);
    const char *t = "Grüße → 10.1.2.3 ✓";
    lx_findings f = {0};
    lx_scan(S, SC, t, strlen(t), &f, NULL);
    cr_assert_eq(f.n, 1);
    cr_expect_eq(f.items[0].start, 12); /* ü, ß and → are 2, 2 and 3 bytes */
    cr_expect_eq(f.items[0].end, 20);
    lx_findings_free(&f);
}

Test(guard, findings_append_and_sorted)
{
    lx_findings f = {0};
    const char *a = "x 8.8.8.8 y";
    const char *b = "+44 20 7946 0958 and sk_live_vm14TUOizwd1iaeOV4qBkdfQ then 9.9.9.9";
    cr_assert_eq(lx_scan(S, SC, a, strlen(a), &f, NULL), LX_OK);
    cr_assert_eq(lx_scan(S, SC, b, strlen(b), &f, NULL), LX_OK);
    cr_assert_eq(f.n, 4);
    cr_expect_str_eq(f.items[0].type, "IP_ADDRESS");
    cr_expect_str_eq(f.items[1].type, "PHONE");
    cr_expect_str_eq(f.items[2].type, "API_KEY");
    cr_expect_str_eq(f.items[3].type, "IP_ADDRESS");
    cr_expect(f.items[1].start < f.items[2].start && f.items[2].start < f.items[3].start);
    lx_findings_reset(&f);
    cr_expect_eq(f.n, 0);
    lx_findings_free(&f);
}

Test(guard, empty_and_tiny_inputs)
{
    lx_findings f = {0};
    cr_assert_eq(lx_scan(S, SC, "", 0, &f, NULL), LX_OK);
    cr_assert_eq(lx_scan(S, SC, NULL, 0, &f, NULL), LX_OK);
    cr_assert_eq(f.n, 0);
    /* every prefix of a text full of triggers: no crash, no finding past len */
    const char *t = "sk-proj-u8jzPde0Igx +49 30 1234 eyJhbGc -----BEGIN RSA PRIVATE KEY 4111 "
                    "1111 1111 1111 DE89 3704 fe80:: a@b.co";
    for (size_t n = 0; n <= strlen(t); n++) {
        lx_findings_reset(&f);
        cr_assert_eq(lx_scan(S, SC, t, n, &f, NULL), LX_OK);
        for (size_t i = 0; i < f.n; i++)
            cr_assert(f.items[i].end <= n);
    }
    lx_findings_free(&f);
}

/* Texts that end right after a trigger, in buffers of exactly their size
 * (ASan catches a read past the end; found by the fuzzer). */
Test(guard, text_ends_after_a_trigger)
{
    static const char *const ends[] = {"\"password\": ",
                                       "password=",
                                       "pwd:\"",
                                       "api_key=",
                                       "Bearer ",
                                       "token: \"",
                                       "aws_secret_access_key=",
                                       "-----BEGIN RSA PRIVATE KEY",
                                       "eyJhbGci",
                                       "eyJhbGci.",
                                       "sk-a",
                                       "AKIANYJQWX6HH7566TFJ",
                                       "xoxb-1",
                                       "bob@a",
                                       "bob@acme.",
                                       "+4",
                                       "(212) 55",
                                       "phone: ",
                                       "ssn 123",
                                       "DE89 3704",
                                       "10.0.0.",
                                       "fe80::",
                                       "Dr. J",
                                       "name: J",
                                       "John Sm",
                                       "12 Baker Street",
                                       "Hauptstra\xc3\x9f"
                                       "e 5",
                                       "12 rue ",
                                       "Via Roma ",
                                       "4111 1111 1111 1",
                                       "://u:p@",
                                       NULL};
    lx_findings f = {0};
    for (const char *const *e = ends; *e; e++) {
        size_t n = strlen(*e);
        char *buf = malloc(n);
        memcpy(buf, *e, n);
        lx_findings_reset(&f);
        cr_assert_eq(lx_scan(S, SC, buf, n, &f, NULL), LX_OK, "%s", *e);
        free(buf);
    }
    lx_findings_free(&f);
}

/* ---- PEM blocks --------------------------------------------------------- */

Test(guard, private_key_whole_block_swallows_inner_findings)
{
    const char *t = "key:\n-----BEGIN RSA PRIVATE KEY-----\n"
                    "MIIEowIBAAKCAQEA7Vq9sk-proj-u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8dKLz\n"
                    "4111111111111111+bob@acme.io/ZZ==\n"
                    "-----END RSA PRIVATE KEY-----\nafter 8.8.8.8";
    lx_findings f = {0};
    cr_assert_eq(lx_scan(S, SC, t, strlen(t), &f, NULL), LX_OK);
    cr_assert_eq(f.n, 2);
    cr_expect_str_eq(f.items[0].type, "PRIVATE_KEY");
    cr_expect_eq(f.items[0].start, 5);
    const char *end = strstr(t, "KEY-----\nafter") + 8;
    cr_expect_eq(f.items[0].end, (size_t)(end - t));
    cr_expect_str_eq(f.items[1].type, "IP_ADDRESS");
    lx_findings_free(&f);
}

Test(guard, private_key_variants)
{
    char *d = scan_desc("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
                        "-----END OPENSSH PRIVATE KEY-----");
    cr_expect(!strncmp(d, "PRIVATE_KEY=-----BEGIN OPENSSH", 30), "%s", d);
    cr_expect(strstr(d, "END OPENSSH PRIVATE KEY-----") && !strchr(d, '|'), "%s", d);
    free(d);
    /* truncated: the base64 lines that follow still count */
    d = scan_desc("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nABCD==\n\nbye");
    cr_expect_str_eq(d, "PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
                        "\nABCD==");
    free(d);
    /* a public key is not a finding */
    d = scan_desc("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n"
                  "-----END PUBLIC KEY-----");
    cr_expect_str_eq(d, "");
    free(d);
}

Test(guard, truncated_key_before_a_whole_one)
{
    const char *t = "-----BEGIN PRIVATE KEY-----\nAAAA\n\ntext\n"
                    "-----BEGIN EC PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----";
    char *d = scan_desc(t);
    cr_expect_str_eq(d, "PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\nAAAA|PRIVATE_KEY=-----BEGIN EC "
                        "PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----");
    free(d);
}

/* Many BEGIN lines without an END: each must not search 64 KiB again. */
Test(guard, many_begin_lines_stay_linear, .timeout = 20)
{
    const char *unit = "-----BEGIN PRIVATE KEY-----\n!\n";
    size_t u = strlen(unit), reps = 100000, n = u * reps;
    char *t = malloc(n);
    for (size_t i = 0; i < reps; i++)
        memcpy(t + i * u, unit, u);
    lx_findings f = {0};
    cr_assert_eq(lx_scan(S, SC, t, n, &f, NULL), LX_OK);
    cr_expect_eq(f.n, reps);
    lx_findings_free(&f);
    free(t);
}

/* ---- validators --------------------------------------------------------- */

Test(guard, validators)
{
    cr_expect(lx_luhn_ok("79927398713", 11));
    cr_expect(!lx_luhn_ok("79927398710", 11));
    cr_expect_eq(lx_iban_length("DE"), 22);
    cr_expect_eq(lx_iban_length("NO"), 15);
    cr_expect_eq(lx_iban_length("RU"), 33);
    cr_expect_eq(lx_iban_length("US"), 0);
    cr_expect(lx_iban_ok("GB82WEST12345698765432", 22));
    cr_expect(!lx_iban_ok("GB82WEST12345698765433", 22));
    cr_expect(lx_ssn_ok(536, 22, 1234));
    cr_expect(!lx_ssn_ok(666, 22, 1234));
    cr_expect(!lx_ssn_ok(901, 22, 1234));
    cr_expect(!lx_ssn_ok(536, 0, 1234));
    cr_expect(!lx_ssn_ok(536, 22, 0));
    cr_expect(lx_entropy((const unsigned char *)"aaaa", 4) == 0.0);
    cr_expect(lx_entropy((const unsigned char *)"abcd", 4) == 2.0);
    cr_expect(lx_is_placeholder((const unsigned char *)"YOUR_API_KEY", 12));
    cr_expect(lx_is_placeholder((const unsigned char *)"1234567890", 10));
    cr_expect(!lx_is_placeholder((const unsigned char *)"Zx8Qp2Lm9Rt4", 12));
    unsigned char out[32];
    cr_expect_eq(lx_b64url_decode((const unsigned char *)"eyJhbGciOiJub25lIn0", 19, out, 32), 14);
    cr_expect(!memcmp(out, "{\"alg\":\"none\"}", 14));
    cr_expect_eq(lx_b64url_decode((const unsigned char *)"ab!c", 4, out, 32), -1);
}

/* ---- configuration ------------------------------------------------------ */

Test(guard, user_terms_whole_word_case_insensitive)
{
    lx_scan_term terms[] = {{"PROJECT_CODENAME", "Bluebird"}, {"CLIENT", "Acme Corp"}};
    lx_scan_config cfg = {.terms = terms, .n_terms = 2};
    lx_scanner *s;
    lx_scan_scratch *sc;
    lx_error err = {0};
    cr_assert_eq(lx_scanner_new(&cfg, &s, &err), LX_OK, "%s", err.message);
    cr_assert_eq(lx_scan_scratch_new(s, &sc, &err), LX_OK);
    const char *t = "BLUEBIRD ships; bluebirds fly; Bluebird_v2; acme corp. and ACME  CORP";
    char *d = describe(s, sc, t, strlen(t));
    cr_expect_str_eq(d, "PROJECT_CODENAME=BLUEBIRD|CLIENT=acme corp");
    free(d);
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
}

Test(guard, user_regexes_and_builtin_type_names)
{
    lx_scan_regex re[] = {{"TICKET", "JIRA-[0-9]{3,6}", 0}, {"HOST", "db[0-9]+\\.corp", 1}};
    lx_scan_term terms[] = {{"PERSON", "Zaphod"}}; /* a user term of a built-in type */
    lx_scan_config cfg = {.regexes = re, .n_regexes = 2, .terms = terms, .n_terms = 1};
    lx_scanner *s;
    lx_scan_scratch *sc;
    lx_error err = {0};
    cr_assert_eq(lx_scanner_new(&cfg, &s, &err), LX_OK, "%s", err.message);
    cr_assert_eq(lx_scan_scratch_new(s, &sc, &err), LX_OK);
    const char *t = "see JIRA-12345 on DB7.CORP with zaphod";
    lx_findings f = {0};
    cr_assert_eq(lx_scan(s, sc, t, strlen(t), &f, NULL), LX_OK);
    cr_assert_eq(f.n, 3);
    cr_expect_str_eq(f.items[0].type, "TICKET");
    cr_expect_eq(f.items[0].start, 4);
    cr_expect_eq(f.items[0].end, 14); /* the leftmost-longest span, united */
    cr_expect_eq(f.items[0].builtin, -1);
    cr_expect_str_eq(f.items[1].type, "HOST");
    cr_expect_str_eq(f.items[2].type, "PERSON");
    cr_expect_eq(f.items[2].builtin, LX_FIND_PERSON);
    lx_findings_free(&f);
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
}

Test(guard, user_type_outranks_builtins_but_not_private_key)
{
    lx_scan_term terms[] = {{"CODENAME", "acme"}};
    lx_scan_config cfg = {.terms = terms, .n_terms = 1};
    lx_scanner *s;
    lx_scan_scratch *sc;
    cr_assert_eq(lx_scanner_new(&cfg, &s, NULL), LX_OK);
    cr_assert_eq(lx_scan_scratch_new(s, &sc, NULL), LX_OK);
    char *d = describe(s, sc, "mail bob@acme.io", 16);
    cr_expect_str_eq(d, "CODENAME=acme");
    free(d);
    const char *pem = "-----BEGIN EC PRIVATE KEY-----\nacme\n-----END EC PRIVATE KEY-----";
    d = describe(s, sc, pem, strlen(pem));
    cr_expect(!strncmp(d, "PRIVATE_KEY=", 12) && !strchr(d, '|'), "%s", d);
    free(d);
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
}

Test(guard, bad_regex_names_it)
{
    lx_scan_regex re[] = {{"OK", "fine[0-9]+", 0}, {"BROKEN", "abc(def", 0}};
    lx_scan_config cfg = {.regexes = re, .n_regexes = 2};
    lx_scanner *s = (lx_scanner *)1;
    lx_error err = {0};
    cr_assert_eq(lx_scanner_new(&cfg, &s, &err), LX_ERR_CONFIG);
    cr_expect_null(s);
    cr_expect(strstr(err.message, "abc(def") && strstr(err.message, "BROKEN"), "%s", err.message);
    /* Vectorscan refuses patterns that match the empty string */
    lx_scan_regex empty[] = {{"EMPTY", "x*", 0}};
    cfg = (lx_scan_config){.regexes = empty, .n_regexes = 1};
    cr_assert_eq(lx_scanner_new(&cfg, &s, &err), LX_ERR_CONFIG);
    cr_expect(strstr(err.message, "EMPTY"), "%s", err.message);
}

Test(guard, bad_type_names_and_terms)
{
    lx_error err = {0};
    lx_scanner *s;
    lx_scan_term lower[] = {{"codename", "x"}};
    lx_scan_config cfg = {.terms = lower, .n_terms = 1};
    cr_expect_eq(lx_scanner_new(&cfg, &s, &err), LX_ERR_CONFIG);
    cr_expect(strstr(err.message, "codename"), "%s", err.message);
    lx_scan_term empty[] = {{"CODENAME", ""}};
    cfg = (lx_scan_config){.terms = empty, .n_terms = 1};
    cr_expect_eq(lx_scanner_new(&cfg, &s, &err), LX_ERR_CONFIG);
    /* special characters in terms are literal */
    lx_scan_term special[] = {{"ODD", "a.b(c)*"}};
    cfg = (lx_scan_config){.terms = special, .n_terms = 1, .disabled = ~0u};
    lx_scan_scratch *sc;
    cr_assert_eq(lx_scanner_new(&cfg, &s, &err), LX_OK, "%s", err.message);
    cr_assert_eq(lx_scan_scratch_new(s, &sc, NULL), LX_OK);
    char *d = describe(s, sc, "axb(c)* a.b(c)* !", 17);
    cr_expect_str_eq(d, "ODD=a.b(c)*");
    free(d);
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
}

Test(guard, disabled_types)
{
    lx_scan_config cfg = {.disabled = (1u << LX_FIND_EMAIL) | (1u << LX_FIND_PERSON)};
    lx_scanner *s;
    lx_scan_scratch *sc;
    cr_assert_eq(lx_scanner_new(&cfg, &s, NULL), LX_OK);
    cr_assert_eq(lx_scan_scratch_new(s, &sc, NULL), LX_OK);
    const char *t = "Dr. Jane Goodall <jane@gombe.org> at 8.8.8.8";
    char *d = describe(s, sc, t, strlen(t));
    cr_expect_str_eq(d, "IP_ADDRESS=8.8.8.8");
    free(d);
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
    /* everything off and no user patterns: scans find nothing */
    cfg.disabled = ~0u;
    cr_assert_eq(lx_scanner_new(&cfg, &s, NULL), LX_OK);
    cr_assert_eq(lx_scan_scratch_new(s, &sc, NULL), LX_OK);
    d = describe(s, sc, t, strlen(t));
    cr_expect_str_eq(d, "");
    free(d);
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
}

Test(guard, type_names)
{
    cr_expect_str_eq(lx_scan_type_name(LX_FIND_AWS_SECRET), "AWS_SECRET");
    cr_expect_null(lx_scan_type_name(LX_FIND_BUILTIN_COUNT));
    cr_expect_eq(lx_scan_type_from_name("US_SSN"), LX_FIND_US_SSN);
    cr_expect_eq(lx_scan_type_from_name("us_ssn"), -1);
    for (int i = 0; i < LX_FIND_BUILTIN_COUNT; i++)
        cr_expect_eq(lx_scan_type_from_name(lx_scan_type_name((lx_find_type)i)), i);
}

Test(guard, scratch_must_belong_to_scanner)
{
    lx_scanner *other;
    cr_assert_eq(lx_scanner_new(NULL, &other, NULL), LX_OK);
    lx_findings f = {0};
    lx_error err = {0};
    cr_expect_eq(lx_scan(other, SC, "x", 1, &f, &err), LX_ERR_INVALID);
    lx_scanner_free(other);
}

/* ---- requests ----------------------------------------------------------- */

Test(guard, request_every_text)
{
    lx_request *r = lx_request_new();
    cr_assert_not_null(r);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_SYSTEM, "You are helpful."), LX_OK);
    cr_assert_eq(lx_request_add_text(r, LX_ROLE_USER, "mail bob@acme.io"), LX_OK);
    lx_message *m = lx_request_add_message(r, LX_ROLE_ASSISTANT);
    lx_part *p = lx_message_add_part(r, m, LX_PART_TEXT);
    p->text = lx_arena_strdup(r->arena, "calling");
    p = lx_message_add_part(r, m, LX_PART_TOOL_CALL);
    p->name = lx_arena_strdup(r->arena, "db");
    p->arguments = lx_arena_strdup(r->arena, "{\"dsn\":\"postgres://u:Zq8pLm2x@h.io/db\"}");
    m = lx_request_add_message(r, LX_ROLE_TOOL);
    p = lx_message_add_part(r, m, LX_PART_TOOL_RESULT);
    p->text = lx_arena_strdup(r->arena, "row: 4111 1111 1111 1111");
    m = lx_request_add_message(r, LX_ROLE_USER);
    p = lx_message_add_part(r, m, LX_PART_IMAGE);
    p->url = lx_arena_strdup(r->arena, "https://u:Secr3tPw@img.host.io/a.png");
    p = lx_message_add_part(r, m, LX_PART_IMAGE);
    p->url = lx_arena_strdup(r->arena, "data:image/png;base64,bob@acme.io");

    lx_findings f = {0};
    lx_error err = {0};
    cr_assert_eq(lx_scan_request(S, SC, r, &f, &err), LX_OK, "%s", err.message);
    cr_assert_eq(f.n, 4);
    cr_expect_str_eq(f.items[0].type, "EMAIL");
    cr_expect_eq(f.items[0].message, 1);
    cr_expect_eq(f.items[0].part, 0);
    cr_expect_eq(f.items[0].field, LX_SCAN_FIELD_TEXT);
    cr_expect_eq(f.items[0].start, 5);
    cr_expect_str_eq(f.items[1].type, "PASSWORD");
    cr_expect_eq(f.items[1].message, 2);
    cr_expect_eq(f.items[1].part, 1);
    cr_expect_eq(f.items[1].field, LX_SCAN_FIELD_ARGUMENTS);
    cr_expect_str_eq(f.items[2].type, "CREDIT_CARD");
    cr_expect_eq(f.items[2].message, 3);
    cr_expect_str_eq(f.items[3].type, "PASSWORD");
    cr_expect_eq(f.items[3].message, 4);
    cr_expect_eq(f.items[3].field, LX_SCAN_FIELD_URL);
    lx_findings_free(&f);
    lx_request_free(r);
}

Test(guard, request_null_and_empty)
{
    lx_findings f = {0};
    lx_error err = {0};
    cr_expect_eq(lx_scan_request(S, SC, NULL, &f, &err), LX_ERR_INVALID);
    lx_request *r = lx_request_new();
    cr_assert_eq(lx_scan_request(S, SC, r, &f, &err), LX_OK);
    cr_expect_eq(f.n, 0);
    lx_request_free(r);
    lx_findings_free(&f);
    lx_findings_free(NULL);
    lx_findings_reset(NULL);
    lx_scanner_free(NULL);
    lx_scan_scratch_free(NULL);
}

/* ---- threads ------------------------------------------------------------ */

typedef struct {
    const lx_scanner *s;
    int found;
    lx_status st;
} worker;

static void *work(void *ud)
{
    worker *w = ud;
    lx_scan_scratch *sc;
    w->st = lx_scan_scratch_new(w->s, &sc, NULL);
    if (w->st != LX_OK)
        return NULL;
    const char *t = "a@b.io 8.8.8.8 4111 1111 1111 1111 AKIANYJQWX6HH7566TFJ";
    lx_findings f = {0};
    for (int i = 0; i < 500 && w->st == LX_OK; i++) {
        lx_findings_reset(&f);
        w->st = lx_scan(w->s, sc, t, strlen(t), &f, NULL);
        w->found += (int)f.n;
    }
    lx_findings_free(&f);
    lx_scan_scratch_free(sc);
    return NULL;
}

Test(guard, one_scanner_many_threads)
{
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){S, 0, LX_OK};
        cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(w[i].st, LX_OK);
        cr_expect_eq(w[i].found, 4 * 500);
    }
}

/* ---- random input ------------------------------------------------------- */

Test(guard, random_bytes_keep_invariants)
{
    static const char alphabet[] = "0123456789 -.:@/+=_aAbBeEfFkKsSxXyYzZ()\n'\"-----BEGIN";
    unsigned long long x = 88172645463325252ull;
    char buf[4096];
    lx_findings f = {0};
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(x % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (round & 1) ? (char)(x & 0xff) : alphabet[x % (sizeof alphabet - 1)];
        }
        lx_findings_reset(&f);
        cr_assert_eq(lx_scan(S, SC, buf, n, &f, NULL), LX_OK);
        for (size_t i = 0; i < f.n; i++) {
            cr_assert(f.items[i].start < f.items[i].end && f.items[i].end <= n);
            cr_assert(i == 0 || f.items[i - 1].end <= f.items[i].start);
        }
    }
    lx_findings_free(&f);
}

/* ---- compiled-database cache (scan_cache.c) ----------------------------- */

/* Each Criterion test runs in its own process, so setenv() stays local. */

/* A fresh empty folder (path in out) used as LLMUX_SCAN_CACHE. */
static void cache_in_tmp(char out[64])
{
    snprintf(out, 64, "/tmp/lx_scache_XXXXXX");
    cr_assert_not_null(mkdtemp(out));
    cr_assert_eq(setenv("LLMUX_SCAN_CACHE", out, 1), 0);
}

/* Removes a folder and everything under it (a test's own temp folder). */
static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Counts the cache files (*.hsdb) and other entries in dir; the path of
 * the last *.hsdb goes to hsdb (if not NULL). */
static int count_files(const char *dir, int *others, char *hsdb, size_t cap)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (others)
        *others = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        size_t l = strlen(e->d_name);
        if (l == 64 + 5 && !strcmp(e->d_name + 64, ".hsdb")) {
            n++;
            if (hsdb)
                snprintf(hsdb, cap, "%s/%s", dir, e->d_name);
        } else if (others) {
            (*others)++;
        }
    }
    closedir(d);
    return n;
}

/* A scanner of cfg; *cached tells whether it came from the cache. */
static lx_scanner *build(const lx_scan_config *cfg, bool *cached)
{
    lx_scanner *s = NULL;
    lx_error err = {0};
    cr_assert_eq(lx_scanner_new(cfg, &s, &err), LX_OK, "%s", err.message);
    if (cached)
        *cached = lx_scanner_from_cache(s);
    return s;
}

static char *describe_new(const lx_scanner *s, const char *text)
{
    lx_scan_scratch *sc;
    cr_assert_eq(lx_scan_scratch_new(s, &sc, NULL), LX_OK);
    char *d = describe(s, sc, text, strlen(text));
    lx_scan_scratch_free(sc);
    return d;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)l + 1);
    cr_assert_eq(fread(p, 1, (size_t)l, f), (size_t)l);
    fclose(f);
    *n = (size_t)l;
    return p;
}

static void spill(const char *path, const unsigned char *p, size_t n, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    cr_assert_geq(fd, 0, "%s", path);
    cr_assert_eq(write(fd, p, n), (ssize_t)n);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

static const lx_scan_term cache_terms[] = {{"PROJECT_CODENAME", "Bluebird"},
                                           {"CLIENT", "Acme Corp"}};
static const lx_scan_regex cache_res[] = {{"TICKET", "JIRA-[0-9]{3,6}", 0},
                                          {"HOST", "db[0-9]+\\.corp", 1}};

Test(guard, cache_second_build_loads_and_finds_the_same)
{
    char dir[64];
    cache_in_tmp(dir);
    lx_scan_config cfg = {.terms = cache_terms, .n_terms = 2, .regexes = cache_res, .n_regexes = 2};
    bool c1, c2, c3;
    lx_scanner *a = build(&cfg, &c1), *b = build(&cfg, &c2);
    cr_expect(!c1, "the first build compiles");
    cr_expect(c2, "the second build loads from the cache");
    int others;
    cr_expect_eq(count_files(dir, &others, NULL, 0), 1);
    cr_expect_eq(others, 0, "no temp file is left behind");
    setenv("LLMUX_SCAN_CACHE", "off", 1);
    lx_scanner *c = build(&cfg, &c3);
    cr_expect(!c3);

    /* every line of every corpus (markers included), plus user patterns */
    static const char *const files[] = {"positives.txt", "negatives.txt", "overlaps.txt"};
    int lines = 0, with_findings = 0;
    for (size_t i = 0; i < 3; i++) {
        char path[512], line[4096];
        snprintf(path, sizeof path, "%s/%s", data_dir(), files[i]);
        FILE *f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        while (fgets(line, sizeof line, f)) {
            char *da = describe_new(a, line), *db = describe_new(b, line),
                 *dc = describe_new(c, line);
            cr_expect_str_eq(db, da, "%s", line);
            cr_expect_str_eq(dc, da, "%s", line);
            lines++;
            with_findings += *da != 0;
            free(da);
            free(db);
            free(dc);
        }
        fclose(f);
    }
    cr_expect_geq(lines, 150);
    cr_expect_geq(with_findings, 80);
    char *d = describe_new(b, "BLUEBIRD: see JIRA-12345 on DB7.CORP for acme corp, bob@acme.io");
    cr_expect_str_eq(d, "PROJECT_CODENAME=BLUEBIRD|TICKET=JIRA-12345|HOST=DB7.CORP|CLIENT=acme "
                        "corp|EMAIL=bob@acme.io");
    free(d);
    lx_scanner_free(a);
    lx_scanner_free(b);
    lx_scanner_free(c);
    rm_tree(dir);
}

/* The server compiles in a forked child (lx_scanner_isolate_compile): the
 * database must find exactly what an in-process compile finds, be stored in
 * the cache, and a bad pattern must still fail with the message naming it. */
Test(guard, isolated_compile_matches_in_process_and_names_bad_patterns)
{
    char dir[64];
    cache_in_tmp(dir);
    lx_scan_config cfg = {.terms = cache_terms, .n_terms = 2, .regexes = cache_res, .n_regexes = 2};
    lx_scanner_isolate_compile(true);
    bool c1, c2;
    lx_scanner *a = build(&cfg, &c1);
    cr_expect(!c1, "compiled (in the child), not loaded");
    cr_expect(lx_scanner_compiled_in_child(a));
    cr_expect_eq(count_files(dir, NULL, NULL, 0), 1, "the child's database was cached");
    setenv("LLMUX_SCAN_CACHE", "off", 1);
    lx_scanner_isolate_compile(false);
    lx_scanner *b = build(&cfg, &c2);
    cr_expect(!c2);
    cr_expect(!lx_scanner_compiled_in_child(b));
    static const char *const texts[] = {
        "BLUEBIRD: see JIRA-12345 on DB7.CORP for acme corp, bob@acme.io",
        "card 4111 1111 1111 1111, call +1 415 555 0100, key AKIAIOSFODNN7EXAMPLE", "nothing"};
    for (size_t i = 0; i < 3; i++) {
        char *da = describe_new(a, texts[i]), *db = describe_new(b, texts[i]);
        cr_expect_str_eq(da, db, "%s", texts[i]);
        free(da);
        free(db);
    }
    lx_scanner_free(a);
    lx_scanner_free(b);

    static const lx_scan_regex bad[] = {{"TICKET", "JIRA-([0-9]", 0}};
    lx_scan_config bcfg = {.regexes = bad, .n_regexes = 1};
    lx_scanner_isolate_compile(true);
    lx_scanner *s = NULL;
    lx_error err = {0};
    cr_expect_eq(lx_scanner_new(&bcfg, &s, &err), LX_ERR_CONFIG);
    cr_expect_null(s);
    cr_expect(strstr(err.message, "JIRA-([0-9]") && strstr(err.message, "TICKET"), "%s",
              err.message);
    lx_scanner_isolate_compile(false);
    rm_tree(dir);
}

Test(guard, cached_builtin_scanner_passes_the_corpora)
{
    char dir[64];
    cache_in_tmp(dir);
    bool cached;
    lx_scanner_free(build(NULL, &cached));
    cr_expect(!cached);
    lx_scan_scratch_free(SC);
    lx_scanner_free(S);
    S = build(NULL, &cached);
    cr_assert(cached);
    cr_assert_eq(lx_scan_scratch_new(S, &SC, NULL), LX_OK);
    cr_expect_geq(run_corpus("positives.txt"), 80);
    cr_expect_geq(run_corpus("negatives.txt"), 50);
    run_corpus("overlaps.txt");
    rm_tree(dir);
}

/* ways to spoil a good cache file */
enum {
    TRUNC_HALF,
    TRUNC_HEADER,
    EMPTY,
    FLIP_PAYLOAD,
    FLIP_KEY,
    BAD_MAGIC,
    BAD_LENGTH,
    HS_REFUSES,
    GROUP_WRITABLE,
    SYMLINK,
    N_SPOIL
};

Test(guard, corrupt_cache_files_are_ignored_and_replaced)
{
    char dir[64], file[600];
    cache_in_tmp(dir);
    /* a tiny database: the cache code does not care about its size */
    lx_scan_config cfg = {.disabled = ~0u, .terms = cache_terms, .n_terms = 2};
    bool cached;
    lx_scanner_free(build(&cfg, &cached));
    cr_assert(!cached);
    cr_assert_eq(count_files(dir, NULL, file, sizeof file), 1);
    size_t n;
    unsigned char *good = slurp(file, &n);
    cr_assert_gt(n, 88 + 16);
    struct stat st;
    cr_assert_eq(stat(file, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);

    for (int k = 0; k < N_SPOIL; k++) {
        unsigned char *bad = malloc(n);
        memcpy(bad, good, n);
        size_t bn = n;
        mode_t mode = 0600;
        switch (k) {
        case TRUNC_HALF:
            bn = n / 2;
            break;
        case TRUNC_HEADER:
            bn = 40;
            break;
        case EMPTY:
            bn = 0;
            break;
        case FLIP_PAYLOAD:
            bad[n - 7] ^= 0x10;
            break;
        case FLIP_KEY:
            bad[20] ^= 1;
            break;
        case BAD_MAGIC:
            bad[0] = 'X';
            break;
        case BAD_LENGTH:
            bad[48] ^= 4;
            break;
        case HS_REFUSES: { /* a valid header of ours over bytes Vectorscan refuses */
            bad[88] ^= 0xff;
            lx_sha256 h;
            lx_sha256_init(&h);
            lx_sha256_update(&h, bad + 88, n - 88);
            lx_sha256_final(&h, bad + 56);
            break;
        }
        case GROUP_WRITABLE:
            mode = 0660;
            break; /* intact, but others could have written it */
        default:
            break;
        }
        if (k == SYMLINK) { /* a link to an intact copy elsewhere */
            char target[700];
            snprintf(target, sizeof target, "%s/elsewhere", dir);
            spill(target, good, n, 0600);
            unlink(file);
            cr_assert_eq(symlink(target, file), 0);
        } else {
            spill(file, bad, bn, mode);
        }
        lx_scanner *s = build(&cfg, &cached);
        cr_expect(!cached, "spoiled file %d was used", k);
        char *d = describe_new(s, "bluebird for ACME CORP");
        cr_expect_str_eq(d, "PROJECT_CODENAME=bluebird|CLIENT=ACME CORP", "spoil %d", k);
        free(d);
        lx_scanner_free(s);
        /* the compile replaced the file with a good one */
        struct stat ls;
        cr_assert_eq(lstat(file, &ls), 0);
        cr_expect(S_ISREG(ls.st_mode) && (ls.st_mode & 0777) == 0600, "spoil %d", k);
        s = build(&cfg, &cached);
        cr_expect(cached, "spoil %d: the file was not replaced", k);
        lx_scanner_free(s);
        free(bad);
    }
    free(good);
    rm_tree(dir);
}

Test(guard, cache_off_never_writes)
{
    char dir[64], sub[128];
    cache_in_tmp(dir);
    snprintf(sub, sizeof sub, "%s/xdg", dir);
    setenv("XDG_CACHE_HOME", sub, 1);
    setenv("HOME", dir, 1);
    setenv("LLMUX_SCAN_CACHE", "off", 1);
    lx_scan_config cfg = {.disabled = ~0u, .terms = cache_terms, .n_terms = 1};
    bool c1, c2;
    lx_scanner_free(build(&cfg, &c1));
    lx_scanner_free(build(&cfg, &c2));
    cr_expect(!c1 && !c2);
    int others;
    cr_expect_eq(count_files(dir, &others, NULL, 0), 0);
    cr_expect_eq(others, 0, "something was written under %s", dir);
    rm_tree(dir);
}

Test(guard, cache_key_follows_every_pattern)
{
    char dir[64];
    cache_in_tmp(dir);
    lx_scan_term t1[] = {{"CODE", "Bluebird"}}, t2[] = {{"CODE", "Redbird"}},
                 t3[] = {{"OTHER", "Bluebird"}};
    lx_scan_config a = {.disabled = ~0u, .terms = t1, .n_terms = 1};
    lx_scan_config b = {.disabled = ~0u, .terms = t2, .n_terms = 1};
    lx_scan_config c = {.disabled = ~(1u << LX_FIND_EMAIL), .terms = t1, .n_terms = 1};
    lx_scan_regex r1[] = {{"CODE", "Bluebird", 0}}, r2[] = {{"CODE", "Bluebird", 1}};
    lx_scan_config d = {.disabled = ~0u, .regexes = r1, .n_regexes = 1};
    lx_scan_config e = {.disabled = ~0u, .regexes = r2, .n_regexes = 1};
    const lx_scan_config *all[] = {&a, &b, &c, &d, &e};
    bool cached;
    for (int i = 0; i < 5; i++) {
        lx_scanner_free(build(all[i], &cached));
        cr_expect(!cached, "config %d hit another's cache entry", i);
        cr_expect_eq(count_files(dir, NULL, NULL, 0), i + 1);
    }
    for (int i = 0; i < 5; i++) {
        lx_scanner_free(build(all[i], &cached));
        cr_expect(cached, "config %d", i);
    }
    /* a type name alone does not reach the compiler: same database, one file */
    lx_scan_config f = {.disabled = ~0u, .terms = t3, .n_terms = 1};
    lx_scanner *s = build(&f, &cached);
    cr_expect(cached);
    char *desc = describe_new(s, "bluebird");
    cr_expect_str_eq(desc, "OTHER=bluebird");
    free(desc);
    lx_scanner_free(s);
    /* a regex Vectorscan refuses is reported and never cached */
    lx_scan_regex bad[] = {{"BROKEN", "abc(def", 0}};
    lx_scan_config g = {.disabled = ~0u, .regexes = bad, .n_regexes = 1};
    lx_error err = {0};
    cr_expect_eq(lx_scanner_new(&g, &s, &err), LX_ERR_CONFIG);
    cr_expect_eq(count_files(dir, NULL, NULL, 0), 5);

    /* the key itself: any change in expression, flags, id or order */
    const char *ex[] = {"ab", "cd"}, *ex2[] = {"abc", "d"}, *ex3[] = {"cd", "ab"};
    unsigned fl[] = {0, 0}, fl2[] = {0, 1}, id[] = {0, 1}, id2[] = {0, 2};
    unsigned char k0[32], k1[32];
    lx_scan_cache_key(ex, fl, id, 2, k0);
    lx_scan_cache_key(ex, fl, id, 2, k1);
    cr_expect(!memcmp(k0, k1, 32));
    lx_scan_cache_key(ex2, fl, id, 2, k1);
    cr_expect(memcmp(k0, k1, 32) != 0, "expression boundaries");
    lx_scan_cache_key(ex3, fl, id, 2, k1);
    cr_expect(memcmp(k0, k1, 32) != 0, "order");
    lx_scan_cache_key(ex, fl2, id, 2, k1);
    cr_expect(memcmp(k0, k1, 32) != 0, "flags");
    lx_scan_cache_key(ex, fl, id2, 2, k1);
    cr_expect(memcmp(k0, k1, 32) != 0, "ids");
    lx_scan_cache_key(ex, fl, id, 1, k1);
    cr_expect(memcmp(k0, k1, 32) != 0, "count");
    rm_tree(dir);
}

Test(guard, cache_folder_from_xdg_then_home)
{
    char dir[64], xdg[128], path[256];
    cache_in_tmp(dir);
    unsetenv("LLMUX_SCAN_CACHE");
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    setenv("XDG_CACHE_HOME", xdg, 1);
    setenv("HOME", dir, 1);
    lx_scan_config cfg = {.disabled = ~0u, .terms = cache_terms, .n_terms = 1};
    bool cached;
    lx_scanner_free(build(&cfg, &cached));
    snprintf(path, sizeof path, "%s/llmux/scan", xdg);
    cr_expect_eq(count_files(path, NULL, NULL, 0), 1, "%s", path);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0700);
    /* a relative XDG_CACHE_HOME is ignored (XDG spec): HOME is used */
    setenv("XDG_CACHE_HOME", "relative/cache", 1);
    lx_scanner_free(build(&cfg, &cached));
    cr_expect(!cached);
    snprintf(path, sizeof path, "%s/.cache/llmux/scan", dir);
    cr_expect_eq(count_files(path, NULL, NULL, 0), 1, "%s", path);
    lx_scanner_free(build(&cfg, &cached));
    cr_expect(cached);
    rm_tree(dir);
}

Test(guard, unusable_cache_folder_is_silent)
{
    char dir[64], notdir[128], below[160];
    cache_in_tmp(dir);
    snprintf(notdir, sizeof notdir, "%s/plainfile", dir);
    spill(notdir, (const unsigned char *)"x", 1, 0600);
    snprintf(below, sizeof below, "%s/scan", notdir);
    lx_scan_config cfg = {.disabled = ~0u, .terms = cache_terms, .n_terms = 2};
    const char *where[] = {below, notdir};
    for (int i = 0; i < 2; i++) {
        setenv("LLMUX_SCAN_CACHE", where[i], 1);
        bool cached;
        lx_scanner *s = build(&cfg, &cached);
        cr_expect(!cached);
        char *d = describe_new(s, "Bluebird");
        cr_expect_str_eq(d, "PROJECT_CODENAME=Bluebird");
        free(d);
        lx_scanner_free(s);
    }
    /* no cache setting, no XDG_CACHE_HOME, no HOME: nowhere to cache */
    unsetenv("LLMUX_SCAN_CACHE");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    bool cached;
    lx_scanner_free(build(&cfg, &cached));
    cr_expect(!cached);
    rm_tree(dir);
}

typedef struct {
    const lx_scan_config *cfg;
    lx_status st;
} racer;

static void *race(void *ud)
{
    racer *r = ud;
    lx_scanner *s = NULL;
    r->st = lx_scanner_new(r->cfg, &s, NULL);
    lx_scanner_free(s);
    return NULL;
}

Test(guard, cache_racing_builders)
{
    char dir[64];
    cache_in_tmp(dir);
    lx_scan_config cfg = {
        .disabled = ~0u, .terms = cache_terms, .n_terms = 2, .regexes = cache_res, .n_regexes = 2};
    pthread_t th[4];
    racer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){&cfg, LX_ERR_INTERNAL};
        cr_assert_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(r[i].st, LX_OK);
    }
    int others;
    cr_expect_eq(count_files(dir, &others, NULL, 0), 1);
    cr_expect_eq(others, 0);
    bool cached;
    lx_scanner_free(build(&cfg, &cached));
    cr_expect(cached);
    rm_tree(dir);
}

Test(guard, cache_prunes_stale_files_of_its_own)
{
    char dir[64], path[256];
    cache_in_tmp(dir);
    static const char *const names[] = {
        /* 0: stale cache file */ "0000000000000000000000000000000000000000000000000000000000000000"
                                  ".hsdb",
        /* 1: stale temp file */
        ".1111111111111111111111111111111111111111111111111111111111111111.a1B2c3",
        /* 2: recent cache file */
        "2222222222222222222222222222222222222222222222222222222222222222.hsdb",
        /* 3: old, but not a name of ours */ "notes.txt",
        /* 4: old, upper-case hex is not ours */
        "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB.hsdb",
    };
    const bool old[] = {true, true, false, true, true}, gone[] = {true, true, false, false, false};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        spill(path, (const unsigned char *)"x", 1, 0600);
        if (old[i]) {
            struct timespec t[2] = {{time(NULL) - 40 * 86400, 0}, {time(NULL) - 40 * 86400, 0}};
            cr_assert_eq(utimensat(AT_FDCWD, path, t, 0), 0);
        }
    }
    lx_scan_config cfg = {.disabled = ~0u, .terms = cache_terms, .n_terms = 1};
    bool cached;
    lx_scanner_free(build(&cfg, &cached)); /* a miss: stores, then prunes */
    cr_expect(!cached);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        cr_expect_eq(access(path, F_OK) != 0, gone[i], "%s", names[i]);
    }
    /* a hit refreshes the mtime, so a file in use never looks stale */
    char file[600];
    for (int i = 2; i < 5; i += 2) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    cr_assert_eq(count_files(dir, NULL, file, sizeof file), 1);
    struct timespec t[2] = {{time(NULL) - 40 * 86400, 0}, {time(NULL) - 40 * 86400, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, file, t, 0), 0);
    lx_scanner_free(build(&cfg, &cached));
    cr_expect(cached);
    struct stat st;
    cr_assert_eq(stat(file, &st), 0);
    cr_expect_gt(st.st_mtime, time(NULL) - 3600);
    rm_tree(dir);
}
