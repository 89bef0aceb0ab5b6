/*
 * llmux pull — download a GGUF model.
 *
 *   llmux pull NAME|URL [--sha256 HEX] [--output DIR] [--retries N] [--force] [--quiet]
 *
 * NAME is one of a few well-known small instruct models (see `--help`),
 * mapped to a Hugging Face `.../resolve/...` URL; any http(s) URL works too
 * (a Hugging Face `/blob/` page URL is turned into its `/resolve/` URL).
 * $HF_ENDPOINT replaces https://huggingface.co, as in huggingface_hub.
 *
 * Download protocol:
 *   1. The file is written to DIR/FILE.part. When that exists (an earlier
 *      run was interrupted) the request carries `Range: bytes=SIZE-`; a 206
 *      answer whose Content-Range starts at SIZE is appended, a 200 answer
 *      (server ignores ranges) restarts the file from zero, a 416 means the
 *      part is already complete.
 *   2. A transfer cut short is retried (resuming) up to --retries times.
 *   3. The finished part is checked: sha256 against --sha256, else the
 *      X-Linked-Etag Hugging Face sends for LFS files (their sha256); a
 *      mismatch deletes the part. Then the GGUF magic.
 *   4. rename(FILE.part, FILE): the final name only ever holds a whole,
 *      verified file. Its path is printed on stdout.
 * DIR is --output, else $LLMUX_CACHE_DIR, else ~/.cache/llmux/models.
 * Progress goes to stderr when it is a terminal (never with --quiet).
 * $HF_TOKEN, when set, is sent to Hugging Face (gated repositories) and to
 * no other host. A lock on FILE.part keeps two pulls of one file apart.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/version.h"
#include "engine/sha256.h"

typedef struct {
    const char *name;
    const char *path;   /* under the Hugging Face endpoint */
    const char *file;   /* saved as */
    const char *sha256; /* NULL: rely on X-Linked-Etag */
} known_model;

static const known_model models[] = {
    {"smollm2-135m-instruct",
     "/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf",
     "smollm2-135m-instruct-q8_0.gguf", NULL},
    {"smollm2-360m-instruct",
     "/ngxson/SmolLM2-360M-Instruct-Q8_0-GGUF/resolve/main/smollm2-360m-instruct-q8_0.gguf",
     "smollm2-360m-instruct-q8_0.gguf", NULL},
    {"qwen2.5-0.5b-instruct",
     "/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q8_0.gguf",
     "qwen2.5-0.5b-instruct-q8_0.gguf", NULL},
    {"llama3.2-1b-instruct",
     "/hugging-quants/Llama-3.2-1B-Instruct-Q4_K_M-GGUF/resolve/main/"
     "llama-3.2-1b-instruct-q4_k_m.gguf",
     "llama3.2-1b-instruct-q4_k_m.gguf", NULL},
};
#define N_MODELS (sizeof models / sizeof models[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: llmux pull NAME|URL [--sha256 HEX] [--output DIR] [--retries N] [--force]\n"
               "                  [--quiet]\n\n"
               "Downloads a GGUF model (resuming an interrupted download), verifies it and\n"
               "prints its path.\n\n"
               "names:\n");
    for (size_t i = 0; i < N_MODELS; i++)
        fprintf(f, "  %-24s %s\n", models[i].name, models[i].file);
    fprintf(f, "\noptions:\n"
               "  --sha256 HEX    expected sha256 of the file; a mismatch deletes the download\n"
               "                  (default: the sha256 Hugging Face announces, when it does)\n"
               "  -o, --output DIR  directory to save into (default $LLMUX_CACHE_DIR, else\n"
               "                  ~/.cache/llmux/models)\n"
               "  --retries N     resume a cut transfer up to N times (default 3)\n"
               "  --force         download again even when the file is already there\n"
               "  -q, --quiet     no progress bar\n"
               "  -h, --help      this help\n");
}

/* ---- one transfer ----------------------------------------------------------- */

typedef struct {
    FILE *out;
    const char *part;
    long long offset;      /* bytes present before this request */
    long long received;    /* body bytes written by this request */
    long status;           /* status of the response whose body we get */
    bool started;          /* first body byte seen */
    bool refused;          /* we stopped the transfer on purpose */
    char why[256];         /* reason when refused */
    long long range_start; /* from Content-Range, -1 when absent */
    long long total;       /* full size when known, else -1 */
    char etag_sha[65];     /* X-Linked-Etag when it is a sha256 */
    bool progress;
    double last_draw;
    double t0;
} xfer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool is_hex64(const char *s, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) { /* a new response (redirects) */
        char buf[64];
        snprintf(buf, sizeof buf, "%.*s", (int)(len < 63 ? len : 63), p);
        if (sscanf(buf, "HTTP/%*s %ld", &x->status) != 1)
            x->status = 0;
        x->range_start = -1;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    size_t kl = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v);
    if (kl == 13 && !strncasecmp(p, "x-linked-etag", 13)) {
        if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
            v++;
            vl -= 2;
        }
        if (is_hex64(v, vl)) {
            for (size_t i = 0; i < 64; i++)
                x->etag_sha[i] = (char)((v[i] >= 'A' && v[i] <= 'F') ? v[i] + 32 : v[i]);
            x->etag_sha[64] = 0;
        }
    } else if (kl == 13 && !strncasecmp(p, "content-range", 13)) {
        /* bytes START-END/TOTAL */
        long long s, e, t;
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s", (int)(vl < 127 ? vl : 127), v);
        if (sscanf(buf, "bytes %lld-%lld/%lld", &s, &e, &t) == 3) {
            x->range_start = s;
            x->total = t;
        } else if (sscanf(buf, "bytes */%lld", &t) == 1) {
            x->total = t;
        }
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (!x->started) {
        x->started = true;
        if (x->status >= 400) {
            x->refused = true;
            return 0;
        }
        if (x->offset > 0 && x->status == 206 && x->range_start != x->offset) {
            snprintf(x->why, sizeof x->why, "server sent a range starting at %lld, asked for %lld",
                     x->range_start, x->offset);
            x->refused = true;
            return 0;
        }
        if (x->offset > 0 && x->status == 200) {
            /* The server ignored the Range: start over. */
            if (fflush(x->out) != 0 || ftruncate(fileno(x->out), 0) != 0 ||
                fseek(x->out, 0, SEEK_SET) != 0) {
                snprintf(x->why, sizeof x->why, "cannot truncate %s: %s", x->part, strerror(errno));
                x->refused = true;
                return 0;
            }
            x->offset = 0;
        }
    }
    if (fwrite(p, 1, len, x->out) != len) {
        snprintf(x->why, sizeof x->why, "writing %s: %s", x->part, strerror(errno));
        x->refused = true;
        return 0;
    }
    x->received += (long long)len;
    return len;
}

static void human(double b, char *out, size_t cap)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void draw(xfer *x, bool final)
{
    double t = now_s();
    if (!final && (t - x->last_draw < 0.1 || (x->received == 0 && x->total <= 0)))
        return;
    x->last_draw = t;
    long long have = x->offset + x->received;
    char h[32], tot[32], rate[32];
    human((double)have, h, sizeof h);
    double el = t - x->t0;
    human(el > 0 ? x->received / el : 0, rate, sizeof rate);
    if (x->total > 0) {
        double f = (double)have / (double)x->total;
        if (f > 1)
            f = 1;
        int w = 30, k = (int)(f * w);
        char bar[31];
        for (int i = 0; i < w; i++)
            bar[i] = i < k ? '#' : '.';
        bar[w] = 0;
        human((double)x->total, tot, sizeof tot);
        fprintf(stderr, "\r[%s] %5.1f%%  %s / %s  %s/s   ", bar, f * 100, h, tot, rate);
    } else {
        fprintf(stderr, "\r%s  %s/s   ", h, rate);
    }
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult,
                       curl_off_t uln)
{
    xfer *x = ud;
    (void)dlnow;
    (void)ult;
    (void)uln;
    if (x->total < 0 && dltotal > 0 && x->status / 100 == 2)
        x->total = (x->status == 206 ? x->offset : 0) + (long long)dltotal;
    draw(x, false);
    return 0;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

typedef enum { XF_OK, XF_RETRY, XF_FAIL } xf_result;

/* One request; appends to part. On XF_FAIL a message was printed. */
/* True for URLs on Hugging Face (or $HF_ENDPOINT). */
static bool is_hf_url(const char *url)
{
    const char *ep = getenv("HF_ENDPOINT");
    if (ep && *ep && !strncmp(url, ep, strlen(ep)))
        return true;
    return !strncmp(url, "https://huggingface.co/", 23);
}

static xf_result transfer(const char *url, const char *part, bool progress, char *etag_sha,
                          long long *total)
{
    xf_result res = XF_FAIL;
    long long have = file_size(part);
    FILE *out = fopen(part, have > 0 ? "ab" : "wb");
    if (!out) {
        fprintf(stderr, "llmux pull: cannot write %s: %s\n", part, strerror(errno));
        return XF_FAIL;
    }
    if (have < 0)
        have = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "llmux pull: cannot start libcurl\n");
        fclose(out);
        return XF_FAIL;
    }
    xfer x = {.out = out,
              .part = part,
              .offset = have,
              .range_start = -1,
              .total = -1,
              .progress = progress,
              .t0 = now_s()};
    char errbuf[CURL_ERROR_SIZE] = "";
    char range[64];
    snprintf(range, sizeof range, "%lld-", have);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "llmux/" LX_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L); /* stalled for 60 s: give up */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (have > 0)
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    /* Gated Hugging Face repositories need the user's token; libcurl does
     * not forward a custom Authorization header to another host on a
     * redirect (the CDN), so it only reaches the endpoint. */
    struct curl_slist *hdrs = NULL;
    const char *token = getenv("HF_TOKEN");
    char *auth = NULL;
    if (token && *token && is_hf_url(url) && asprintf(&auth, "Authorization: Bearer %s", token) > 0)
        hdrs = curl_slist_append(hdrs, auth);
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (progress) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    }
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (progress && x.received > 0)
        draw(&x, true);
    if (fclose(out) != 0 && rc == CURLE_OK) {
        fprintf(stderr, "llmux pull: writing %s: %s\n", part, strerror(errno));
        goto done;
    }
    if (x.etag_sha[0])
        memcpy(etag_sha, x.etag_sha, 65);
    if (x.total > 0)
        *total = x.total;
    if (code == 416 && have > 0) {
        res = XF_OK; /* nothing left to fetch: verification decides */
        goto done;
    }
    if (code >= 400) {
        fprintf(stderr, "llmux pull: HTTP %ld from %s%s\n", code, url,
                code == 404 ? " (no such file: check the name or URL)" : "");
        goto done;
    }
    if (x.refused && x.why[0]) {
        fprintf(stderr, "llmux pull: %s\n", x.why);
        goto done;
    }
    if (rc == CURLE_OK) {
        if (code != 200 && code != 206) {
            fprintf(stderr, "llmux pull: unexpected HTTP %ld from %s\n", code, url);
            goto done;
        }
        res = XF_OK;
        goto done;
    }
    /* Transport failure: resumable unless nothing could be reached at all. */
    if (have + x.received > 0)
        fprintf(stderr, "llmux pull: transfer interrupted after %lld bytes: %s\n",
                have + x.received, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else
        fprintf(stderr, "llmux pull: cannot download %s: %s\n", url,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_UNSUPPORTED_PROTOCOL ||
        rc == CURLE_URL_MALFORMAT || rc == CURLE_TOO_MANY_REDIRECTS)
        res = XF_FAIL;
    else
        res = XF_RETRY;
done:
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(auth);
    return res;
}

/* ---- verification and the command ------------------------------------------- */

/* sha256 of a file into hex; false with a message on a read error. */
static bool hash_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "llmux pull: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    lx_sha256 h;
    lx_sha256_init(&h);
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        lx_sha256_update(&h, buf, n);
    bool ok = !ferror(f);
    fclose(f);
    if (!ok) {
        fprintf(stderr, "llmux pull: reading %s failed\n", path);
        return false;
    }
    lx_sha256_final_hex(&h, hex);
    return true;
}

static bool has_gguf_magic(const char *path)
{
    char m[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(m, "GGUF", 4);
}

/* mkdir -p; false with a message on failure. */
static bool make_dirs(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return false;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                fprintf(stderr, "llmux pull: cannot create %s: %s\n", p, strerror(errno));
                free(p);
                return false;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "llmux pull: %s is not a directory\n", dir);
        return false;
    }
    return true;
}

/* File name from a URL's last path segment (query and fragment dropped). */
static char *url_file_name(const char *url)
{
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    const char *path = strchr(s, '/');
    if (!path)
        return NULL;
    size_t n = strcspn(path, "?#");
    const char *last = path;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/')
            last = path + i + 1;
    size_t ln = (size_t)(path + n - last);
    if (ln == 0 || last[0] == '.' || ln > 255)
        return NULL;
    for (size_t i = 0; i < ln; i++)
        if (last[i] == '\\' || (unsigned char)last[i] < 0x20)
            return NULL;
    return strndup(last, ln);
}

int lx_cmd_pull(int argc, char **argv)
{
    const char *what = NULL, *want_sha = NULL, *outdir = NULL;
    bool force = false, quiet = false;
    long retries = 3;
    int rc = LX_EXIT_USAGE;
    char *url = NULL, *file = NULL, *dir = NULL, *final = NULL, *part = NULL;
    char want[65] = "";
    int lock_fd = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return LX_EXIT_OK;
        } else if (!strcmp(a, "--sha256") || !strcmp(a, "--output") || !strcmp(a, "-o") ||
                   !strcmp(a, "--retries")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "llmux pull: %s needs a value (see --help)\n", a);
                return LX_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--sha256")) {
                want_sha = v;
            } else if (!strcmp(a, "--retries")) {
                char *e;
                retries = strtol(v, &e, 10);
                if (*e || retries < 0 || retries > 100) {
                    fprintf(stderr, "llmux pull: --retries wants 0..100, got '%s'\n", v);
                    return LX_EXIT_USAGE;
                }
            } else {
                outdir = v;
            }
        } else if (!strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "llmux pull: unknown option '%s' (see --help)\n", a);
            return LX_EXIT_USAGE;
        } else if (what) {
            fprintf(stderr, "llmux pull: one model at a time ('%s' and '%s')\n", what, a);
            return LX_EXIT_USAGE;
        } else {
            what = a;
        }
    }
    if (!what) {
        fprintf(stderr, "llmux pull: which model? give a NAME or a URL (see --help)\n");
        return LX_EXIT_USAGE;
    }
    if (want_sha) {
        if (!is_hex64(want_sha, strlen(want_sha))) {
            fprintf(stderr, "llmux pull: --sha256 wants 64 hex digits, got '%s'\n", want_sha);
            return LX_EXIT_USAGE;
        }
        for (int i = 0; i < 65; i++)
            want[i] =
                (char)((want_sha[i] >= 'A' && want_sha[i] <= 'F') ? want_sha[i] + 32 : want_sha[i]);
    }

    /* Resolve NAME|URL. */
    if (strstr(what, "://")) {
        if (strncmp(what, "http://", 7) && strncmp(what, "https://", 8)) {
            fprintf(stderr, "llmux pull: only http:// and https:// URLs are supported\n");
            goto out;
        }
        url = strdup(what);
        char *blob = url ? strstr(url, "/blob/") : NULL;
        if (blob && strstr(url, "huggingface.co/")) /* page URL -> file URL */
            memcpy(blob, "/resolve", 8), memmove(blob + 8, blob + 5, strlen(blob + 5) + 1);
        if (!url || !(file = url_file_name(url))) {
            fprintf(stderr, "llmux pull: cannot tell a file name from URL '%s'\n", what);
            goto out;
        }
    } else {
        const known_model *m = NULL;
        for (size_t i = 0; i < N_MODELS; i++)
            if (!strcasecmp(what, models[i].name))
                m = &models[i];
        if (!m) {
            fprintf(stderr, "llmux pull: unknown model '%s'; known names:", what);
            for (size_t i = 0; i < N_MODELS; i++)
                fprintf(stderr, "%s %s", i ? "," : "", models[i].name);
            fprintf(stderr, " (or give an http(s) URL)\n");
            goto out;
        }
        const char *ep = getenv("HF_ENDPOINT");
        if (!ep || !*ep)
            ep = "https://huggingface.co";
        size_t el = strlen(ep);
        while (el && ep[el - 1] == '/')
            el--;
        if (asprintf(&url, "%.*s%s", (int)el, ep, m->path) < 0)
            url = NULL;
        file = strdup(m->file);
        if (!want[0] && m->sha256)
            memcpy(want, m->sha256, 65);
    }
    rc = LX_EXIT_RUNTIME;
    if (!url || !file)
        goto nomem;

    /* Where. */
    if (outdir) {
        dir = strdup(outdir);
    } else if (getenv("LLMUX_CACHE_DIR") && *getenv("LLMUX_CACHE_DIR")) {
        dir = strdup(getenv("LLMUX_CACHE_DIR"));
    } else {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            fprintf(stderr, "llmux pull: $HOME is not set; use --output DIR\n");
            goto out;
        }
        if (asprintf(&dir, "%s/.cache/llmux/models", home) < 0)
            dir = NULL;
    }
    if (!dir)
        goto nomem;
    if (!make_dirs(dir))
        goto out;
    if (asprintf(&final, "%s/%s", dir, file) < 0 || asprintf(&part, "%s.part", final) < 0) {
        final = part = NULL;
        goto nomem;
    }

    if (!force && file_size(final) >= 0) {
        char got[65];
        if (!want[0]) {
            fprintf(stderr, "llmux pull: %s is already there (--force downloads it again)\n",
                    final);
            printf("%s\n", final);
            rc = LX_EXIT_OK;
            goto out;
        }
        if (!hash_file(final, got))
            goto out;
        if (!strcmp(got, want)) {
            fprintf(stderr, "llmux pull: %s is already there and its sha256 matches\n", final);
            printf("%s\n", final);
            rc = LX_EXIT_OK;
            goto out;
        }
        fprintf(stderr, "llmux pull: %s is there but its sha256 differs; downloading again\n",
                final);
    }
    if (force)
        unlink(part);
    /* One download per file at a time: hold a lock on the part file. */
    lock_fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) {
        fprintf(stderr, "llmux pull: cannot write %s: %s\n", part, strerror(errno));
        goto out;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "llmux pull: another llmux pull is downloading %s\n", final);
        close(lock_fd);
        lock_fd = -1;
        goto out;
    }

    bool progress = !quiet && isatty(STDERR_FILENO);
    char etag[65] = "";
    long long total = -1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "llmux pull: cannot initialise libcurl\n");
        goto out;
    }
    if (!quiet)
        fprintf(stderr, "llmux pull: %s -> %s\n", url, final);
    xf_result r = XF_RETRY;
    for (long attempt = 0; r == XF_RETRY && attempt <= retries; attempt++) {
        if (attempt) {
            unsigned delay = attempt < 4 ? 1u << (attempt - 1) : 8u;
            long long at = file_size(part);
            if (at > 0)
                fprintf(stderr, "llmux pull: resuming from byte %lld (attempt %ld of %ld)\n", at,
                        attempt + 1, retries + 1);
            else
                fprintf(stderr, "llmux pull: retrying (attempt %ld of %ld)\n", attempt + 1,
                        retries + 1);
            sleep(delay);
        }
        r = transfer(url, part, progress, etag, &total);
    }
    curl_global_cleanup();
    if (r != XF_OK) {
        long long have = file_size(part);
        if (have == 0)
            unlink(part);
        else if (have > 0 && r == XF_RETRY)
            fprintf(stderr,
                    "llmux pull: %lld bytes kept in %s; run the same command to "
                    "resume\n",
                    have, part);
        goto out;
    }

    /* Verify. */
    long long size = file_size(part);
    if (total > 0 && size != total) {
        fprintf(stderr, "llmux pull: %s has %lld bytes, the server announced %lld\n", part, size,
                total);
        if (size > total) {
            unlink(part);
            fprintf(stderr, "llmux pull: deleted %s; run the command again\n", part);
        }
        goto out;
    }
    const char *expect = want[0] ? want : etag[0] ? etag : NULL;
    if (expect) {
        char got[65];
        if (!hash_file(part, got))
            goto out;
        if (strcmp(got, expect)) {
            unlink(part);
            fprintf(stderr,
                    "llmux pull: sha256 mismatch for %s: expected %s (%s), got %s; "
                    "deleted the download\n",
                    file, expect, want[0] ? "--sha256" : "announced by the server", got);
            goto out;
        }
    }
    if (!has_gguf_magic(part)) {
        unlink(part);
        fprintf(stderr,
                "llmux pull: %s is not a GGUF file (no GGUF magic); deleted the "
                "download\n",
                url);
        goto out;
    }
    if (rename(part, final) != 0) {
        fprintf(stderr, "llmux pull: cannot rename %s to %s: %s\n", part, final, strerror(errno));
        goto out;
    }
    if (!quiet)
        fprintf(stderr, "llmux pull: saved %s (%lld bytes%s)\n", final, size,
                expect ? ", sha256 verified" : ", no sha256 to check against");
    printf("%s\n", final);
    rc = fflush(stdout) == 0 ? LX_EXIT_OK : LX_EXIT_RUNTIME;
    goto out;
nomem:
    fprintf(stderr, "llmux pull: out of memory\n");
out:
    if (lock_fd >= 0)
        close(lock_fd);
    free(url);
    free(file);
    free(dir);
    free(final);
    free(part);
    return rc;
}
