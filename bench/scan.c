/*
 * bench/scan.c — throughput of the privacy scanner on one core.
 *
 * Generates ~64 MiB of mixed text (English prose, C/Python-like code, log
 * lines with timestamps, durations, UUIDs, hashes and version numbers) from a
 * fixed seed, in two flavours: "clean" (look-alikes only, no findings
 * expected) and "dirty" (the same plus a sensitive item — email, phone,
 * card, IBAN, key, JWT, password, address, ... — about every 1.5 KiB). Each
 * flavour is scanned in 64 KiB chunks (about a long chat request) with every
 * built-in type and validator on; the figure is the median of 5 runs, in
 * thread CPU time (MB = 10^6 bytes).
 *
 *   make BUILD=build-grd build-grd/bench/scan && build-grd/bench/scan [MiB]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard/scanner.h"

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *const words[] = {
    "the",      "model",     "request",  "router",  "local",  "cloud",   "token",   "cost",
    "latency",  "answer",    "question", "privacy", "data",   "network", "server",  "client",
    "stream",   "message",   "engine",   "with",    "from",   "into",    "over",    "under",
    "about",    "system",    "quickly",  "never",   "always", "because", "which",   "should",
    "would",    "could",     "Monday",   "London",  "Berlin", "Paris",   "report",  "budget",
    "team",     "project",   "version",  "release", "number", "order",   "invoice", "meeting",
    "tomorrow", "yesterday", "review",   "design"};
#define NW (sizeof words / sizeof words[0])

static const char *const code[] = {
    "for (size_t i = 0; i < n; i++) sum += a[i] * 0x5bd1e995;\n",
    "std::vector<int> v = std::move(other); // TODO: reserve\n",
    "if (err != NULL && err->code == LX_ERR_TIMEOUT) goto fail;\n",
    "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text]\n",
    "#define MAX_TOKENS 4096\nstatic const double eps = 1e-6;\n",
    "const version = \"1.2.3\"; // version 10.4.2.1 of the protocol\n",
    "git checkout 9fceb02d0ae598e95dc970b74767f19372d61af8\n",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
    "x = compute(alpha=0.25, beta=1.5, steps=1200, seed=42)\n",
    "api_key = os.environ[\"OPENAI_API_KEY\"]  # never hard-code\n",
};
#define NC (sizeof code / sizeof code[0])

static const char *const dirty[] = {
    "contact maria.schmidt@mailbox.org for details",
    "call me on +44 20 7946 0958 today",
    "card 4539 1488 0343 6467 exp 04/27",
    "IBAN GB82 WEST 1234 5698 7654 32 please",
    "ssn 536-22-1234 on file",
    "host 81.2.69.160 refused",
    "OPENAI_API_KEY=sk-proj-a8Fk29DkQm3LzP0x7Tn4RbVw1YcE5uJhQ2",
    "aws AKIA2E0A8F3B244C9986 used",
    "postgres://app:Tr0ub4dor3@db.internal/app",
    "password: Xk9#mQ2!vL",
    "Dr. Jane Goodall will attend",
    "ship to 221 Baker Street, London",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.aGVsbG8td29ybGQtc2lnbmF0dXJl",
    "token: ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"};
#define ND (sizeof dirty / sizeof dirty[0])

static size_t gen(char *buf, size_t cap, bool with_findings)
{
    size_t n = 0, next_dirty = 1500;
    while (n + 512 < cap) {
        unsigned kind = rnd(10);
        char line[512];
        int l = 0;
        if (kind < 5) { /* prose */
            int nw = 8 + (int)rnd(20);
            for (int k = 0; k < nw; k++)
                l += snprintf(line + l, sizeof line - (size_t)l, "%s%s", k ? " " : "",
                              words[rnd(NW)]);
            l += snprintf(line + l, sizeof line - (size_t)l,
                          ". On %u.%u.20%02u we paid %u.%02u EUR.\n", 1 + rnd(28), 1 + rnd(12),
                          rnd(30), rnd(9999), rnd(100));
        } else if (kind < 8) { /* code */
            l = snprintf(line, sizeof line, "%s", code[rnd(NC)]);
        } else { /* log */
            l = snprintf(line, sizeof line,
                         "2025-%02u-%02uT%02u:%02u:%02u.%03uZ INFO req=%08x-%04x-4%03x-a%03x-%012x "
                         "took %ums status=%u bytes=%u v%u.%u.%u\n",
                         1 + rnd(12), 1 + rnd(28), rnd(24), rnd(60), rnd(60), rnd(1000),
                         rnd(0xffffffff), rnd(0xffff), rnd(0xfff), rnd(0xfff), rnd(0x7fffffff),
                         rnd(5000), 200 + rnd(300), rnd(1000000), rnd(5), rnd(20), rnd(100));
        }
        memcpy(buf + n, line, (size_t)l);
        n += (size_t)l;
        if (with_findings && n >= next_dirty) {
            n += (size_t)snprintf(buf + n, cap - n, "%s\n", dirty[rnd(ND)]);
            next_dirty = n + 1000 + rnd(1000);
        }
    }
    return n;
}

/* CPU time of this thread: the machine is shared, and the figure wanted is
 * the throughput of one core, not of whatever share of it we got. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    /* bench/scan [MiB] [DIR]: DIR receives the corpora (clean.txt, dirty.txt) */
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64, cap = mib << 20, chunk = 64 << 10;
    const char *dump = argc > 2 ? argv[2] : NULL;
    if (mib == 0 || mib > 4096) {
        fprintf(stderr, "usage: bench/scan [MiB (1..4096)] [DIR]\n");
        return 2;
    }
    char *buf = malloc(cap);
    lx_scanner *s = NULL;
    lx_scan_scratch *sc = NULL;
    lx_error err;
    if (!buf || lx_scanner_new(NULL, &s, &err) != LX_OK ||
        lx_scan_scratch_new(s, &sc, &err) != LX_OK) {
        fprintf(stderr, "bench scan: setup failed\n");
        return 1;
    }
    printf("scan: %zu MiB per run, %zu KiB chunks, all types on, median of 5\n", mib, chunk >> 10);
    for (int flavour = 0; flavour < 2; flavour++) {
        rng = 0x9E3779B97F4A7C15ull;
        size_t n = gen(buf, cap, flavour == 1);
        if (dump) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.txt", dump, flavour ? "dirty" : "clean");
            FILE *out = fopen(path, "wb");
            if (!out || fwrite(buf, 1, n, out) != n || fclose(out) != 0) {
                perror(path);
                return 1;
            }
        }
        lx_findings f = {0};
        double t[5], w[5];
        size_t found = 0;
        for (int r = 0; r < 5; r++) {
            found = 0;
            double t0 = now(), w0 = wall();
            for (size_t off = 0; off < n; off += chunk) {
                size_t len = n - off < chunk ? n - off : chunk;
                lx_findings_reset(&f);
                if (lx_scan(s, sc, buf + off, len, &f, &err) != LX_OK) {
                    fprintf(stderr, "bench scan: %s\n", err.message);
                    return 1;
                }
                found += f.n;
            }
            t[r] = now() - t0;
            w[r] = wall() - w0;
        }
        qsort(t, 5, sizeof t[0], cmp_d);
        qsort(w, 5, sizeof w[0], cmp_d);
        printf("%-6s %7.1f MB/s  (median %.3f s cpu for %.1f MB; min %.3f max %.3f; "
               "wall median %.1f MB/s; %zu findings)\n",
               flavour ? "dirty" : "clean", (double)n / 1e6 / t[2], t[2], (double)n / 1e6, t[0],
               t[4], (double)n / 1e6 / w[2], found);
        lx_findings_free(&f);
    }
    lx_scan_scratch_free(sc);
    lx_scanner_free(s);
    free(buf);
    return 0;
}
