/*
 * bench/redact — cost of redact mode (guard/redact.c), one core.
 *
 *   build/bench/redact
 *
 * A 1 MiB request text of prose with a finding every ~300 bytes (emails,
 * cards, IPs, 1000 distinct values, each seen about three times), and a 1
 * MiB answer that echoes its placeholders. Prints one JSON line each:
 *   redact   lx_redact_request of the request, given its findings (MB/s of
 *            input), and scan + redact together
 *   restore  lx_restore_response of the answer (MB/s)
 *   stream   the answer through lx_restore_event in 16-byte and 1-byte
 *            TEXT events (MB/s), and a placeholder-free answer in 16-byte
 *            events (the common case: text passes through)
 * Median of 5 runs, process CPU time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "guard/redact.h"
#include "guard/scanner.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: stable on a busy machine */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static lx_status drop(void *ud, const lx_event *ev)
{
    *(size_t *)ud += ev->len;
    return LX_OK;
}

static double stream(const lx_redaction *m, const char *t, size_t n, size_t chunk)
{
    size_t got = 0;
    lx_restore *f;
    if (lx_restore_new(m, drop, &got, &f) != LX_OK)
        exit(1);
    double t0 = now_s();
    for (size_t i = 0; i < n; i += chunk) {
        lx_event ev = {.kind = LX_EV_TEXT, .text = t + i, .len = n - i < chunk ? n - i : chunk};
        lx_restore_event(f, &ev);
    }
    lx_event fin = {.kind = LX_EV_FINISH};
    lx_restore_event(f, &fin);
    double dt = now_s() - t0;
    lx_restore_free(f);
    return (double)n / dt / 1e6;
}

int main(void)
{
    lx_buf in;
    lx_buf_init(&in, 0);
    const char *prose = "The quarterly report was shared with the team on Monday and the "
                        "follow-up items were assigned to the owners listed below. ";
    srand(3);
    while (in.len < (1u << 20)) {
        lx_buf_puts(&in, prose);
        lx_buf_puts(&in, prose);
        int k = rand() % 1000;
        switch (k % 3) {
        case 0:
            lx_buf_printf(&in, "Contact user%d@corp-mail.io today. ", k);
            break;
        case 1:
            lx_buf_printf(&in, "Server 10.%d.%d.7 is down. ", k / 100 + 1, k % 100);
            break;
        default:
            lx_buf_printf(&in, "Paid with 4111 1111 1111 1111 ref %d. ", k);
            break;
        }
    }
    lx_scanner *s;
    lx_scan_scratch *sc;
    if (lx_scanner_new(NULL, &s, NULL) != LX_OK || lx_scan_scratch_new(s, &sc, NULL) != LX_OK)
        return 1;
    double red[5], scanred[5], res[5], st16[5], st1[5], plain[5];
    size_t n_values = 0, out_len = 0;
    for (int r = 0; r < 5; r++) {
        lx_request *req = lx_request_new(), *out;
        lx_request_add_text(req, LX_ROLE_USER, in.data);
        lx_findings f = {0};
        lx_redaction *m;
        double t0 = now_s();
        if (lx_scan_request(s, sc, req, &f, NULL) != LX_OK)
            return 1;
        double t1 = now_s();
        if (lx_redact_request(req, &f, &out, &m, NULL) != LX_OK)
            return 1;
        double t2 = now_s();
        red[r] = (double)in.len / (t2 - t1) / 1e6;
        scanred[r] = (double)in.len / (t2 - t0) / 1e6;
        n_values = lx_redaction_count(m);
        const char *answer = out->messages[0].parts[0].text;
        out_len = strlen(answer);
        lx_response *resp = lx_response_new();
        lx_response_add_part(resp, LX_PART_TEXT)->text = lx_arena_strdup(resp->arena, answer);
        t0 = now_s();
        lx_restore_response(m, resp);
        res[r] = (double)out_len / (now_s() - t0) / 1e6;
        st16[r] = stream(m, answer, out_len, 16);
        st1[r] = stream(m, answer, out_len, 1);
        plain[r] = stream(m, in.data, in.len / 4, 16); /* prose, values, no placeholders */
        lx_response_free(resp);
        lx_findings_free(&f);
        lx_redaction_free(m);
        lx_request_free(out);
        lx_request_free(req);
    }
    qsort(red, 5, sizeof *red, cmp_double);
    qsort(scanred, 5, sizeof *scanred, cmp_double);
    qsort(res, 5, sizeof *res, cmp_double);
    qsort(st16, 5, sizeof *st16, cmp_double);
    qsort(st1, 5, sizeof *st1, cmp_double);
    qsort(plain, 5, sizeof *plain, cmp_double);
    printf("{\"bench\":\"redact\",\"bytes\":%zu,\"values\":%zu,\"redact_mb_s\":%.1f,"
           "\"scan_and_redact_mb_s\":%.1f}\n",
           in.len, n_values, red[2], scanred[2]);
    printf("{\"bench\":\"restore\",\"bytes\":%zu,\"restore_response_mb_s\":%.1f}\n", out_len,
           res[2]);
    printf("{\"bench\":\"stream\",\"chunk16_mb_s\":%.1f,\"chunk1_mb_s\":%.1f,"
           "\"no_placeholders_chunk16_mb_s\":%.1f}\n",
           st16[2], st1[2], plain[2]);
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
    lx_buf_free(&in);
    return 0;
}
