/* libFuzzer target: the privacy scanner (guard/scanner.c, patterns.c, pii.c).
 *
 * The input is scanned as it is (libFuzzer hands over a buffer of exactly
 * that size, so ASan sees any read past the end) by two scanners: every
 * built-in type, and a second one with user terms and regexes and some
 * types switched off. Checked on every input: findings lie inside the text,
 * are sorted and never overlap, and a second scan gives the same result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/scanner.h"

static lx_scanner *scanners[2];
static lx_scan_scratch *scratches[2];

static void init(void)
{
    static const lx_scan_term terms[] = {
        {"CODENAME", "bluebird"}, {"PERSON", "Zaphod"}, {"ODD", "a.b"}};
    static const lx_scan_regex regexes[] = {{"TICKET", "JIRA-[0-9]{2,8}", 0},
                                            {"HOST", "db[0-9]+\\.(corp|lan)", 1}};
    lx_scan_config cfg = {.terms = terms,
                          .n_terms = 3,
                          .regexes = regexes,
                          .n_regexes = 2,
                          .disabled = (1u << LX_FIND_PERSON) | (1u << LX_FIND_PHONE)};
    if (lx_scanner_new(NULL, &scanners[0], NULL) != LX_OK ||
        lx_scanner_new(&cfg, &scanners[1], NULL) != LX_OK)
        abort();
    for (int i = 0; i < 2; i++)
        if (lx_scan_scratch_new(scanners[i], &scratches[i], NULL) != LX_OK)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!scanners[0])
        init();
    const char *text = (const char *)data;
    for (int k = 0; k < 2; k++) {
        lx_findings a = {0}, b = {0};
        if (lx_scan(scanners[k], scratches[k], text, size, &a, NULL) != LX_OK ||
            lx_scan(scanners[k], scratches[k], text, size, &b, NULL) != LX_OK)
            abort();
        if (a.n != b.n)
            abort();
        for (size_t i = 0; i < a.n; i++) /* field by field: structs have padding */
            if (a.items[i].type != b.items[i].type || a.items[i].start != b.items[i].start ||
                a.items[i].end != b.items[i].end)
                abort();
        for (size_t i = 0; i < a.n; i++) {
            const lx_finding *f = &a.items[i];
            if (!f->type || f->start >= f->end || f->end > size)
                abort();
            if (i > 0 && a.items[i - 1].end > f->start)
                abort();
        }
        lx_findings_free(&a);
        lx_findings_free(&b);
    }
    return 0;
}
