/*
 * scanner.c — builds the one Vectorscan database, runs the one pass, and
 * resolves overlaps (design and precedence: scanner.h).
 *
 * Pattern ids: 0 .. lx_n_triggers-1 are the built-in triggers (a disabled
 * type's triggers are left out of the database); user terms and regexes
 * follow in config order. Every type (built-in or user) has a rank; the
 * overlap pass keeps, level by level from the highest rank down, the spans
 * that do not overlap anything already kept.
 *
 * The database comes from the on-disk cache when one was stored for the very
 * same compiler input (scan_cache.c); a miss compiles and stores it. With
 * lx_scanner_isolate_compile(true) (the server) the compile runs in a forked
 * child that sends the serialized database back through a pipe: the
 * compiler's heap and the code pages of Vectorscan's compiler and of
 * libstdc++ (about 7 MB of heap and 4-5 MB of library pages) then never
 * become part of the long-lived process. Any failure of the child (fork,
 * crash, short or bad output) falls back to compiling in-process, so the
 * result is the same database either way.
 */
#include <errno.h>
#include <hs/hs.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard/scan_int.h"

static const char *const builtin_names[LX_FIND_BUILTIN_COUNT] = {
    [LX_FIND_EMAIL] = "EMAIL",
    [LX_FIND_PHONE] = "PHONE",
    [LX_FIND_CREDIT_CARD] = "CREDIT_CARD",
    [LX_FIND_IBAN] = "IBAN",
    [LX_FIND_US_SSN] = "US_SSN",
    [LX_FIND_IP_ADDRESS] = "IP_ADDRESS",
    [LX_FIND_API_KEY] = "API_KEY",
    [LX_FIND_AWS_SECRET] = "AWS_SECRET",
    [LX_FIND_PRIVATE_KEY] = "PRIVATE_KEY",
    [LX_FIND_JWT] = "JWT",
    [LX_FIND_PASSWORD] = "PASSWORD",
    [LX_FIND_PERSON] = "PERSON",
    [LX_FIND_ADDRESS] = "ADDRESS",
};

/* Built-in precedence, highest first; user types slot in after the first. */
static const lx_find_type builtin_order[LX_FIND_BUILTIN_COUNT] = {
    LX_FIND_PRIVATE_KEY, LX_FIND_JWT,     LX_FIND_AWS_SECRET, LX_FIND_API_KEY, LX_FIND_PASSWORD,
    LX_FIND_CREDIT_CARD, LX_FIND_IBAN,    LX_FIND_US_SSN,     LX_FIND_EMAIL,   LX_FIND_IP_ADDRESS,
    LX_FIND_PHONE,       LX_FIND_ADDRESS, LX_FIND_PERSON,
};

typedef struct user_pat {
    uint32_t type; /* type index */
    size_t len;    /* term length; 0 for a regex */
} user_pat;

struct lx_scanner {
    hs_database_t *db; /* NULL when there is nothing to look for */
    uint32_t disabled;
    char **user_types; /* names of type indexes LX_FIND_BUILTIN_COUNT.. */
    size_t n_user_types;
    user_pat *upat; /* pattern id lx_n_triggers + k */
    size_t n_upat;
    uint32_t *rank;  /* per type index: 0 = highest precedence */
    bool from_cache; /* db was loaded from the on-disk cache */
    bool in_child;   /* db was compiled by a forked child */
};

struct lx_scan_scratch {
    const lx_scanner *s;
    hs_scratch_t *hs;
    size_t *done; /* per built-in trigger: parsed up to */
    lx_cand *c, *tmp, *acc;
    size_t cap, cap_tmp, cap_acc;
};

const char *lx_scan_type_name(lx_find_type t)
{
    return (unsigned)t < LX_FIND_BUILTIN_COUNT ? builtin_names[t] : NULL;
}

int lx_scan_type_from_name(const char *name)
{
    for (int i = 0; i < LX_FIND_BUILTIN_COUNT; i++)
        if (name && !strcmp(name, builtin_names[i]))
            return i;
    return -1;
}

static const char *type_name(const lx_scanner *s, uint32_t type)
{
    return type < LX_FIND_BUILTIN_COUNT ? builtin_names[type]
                                        : s->user_types[type - LX_FIND_BUILTIN_COUNT];
}

void lx_findings_reset(lx_findings *f)
{
    if (f)
        f->n = 0;
}

void lx_findings_free(lx_findings *f)
{
    if (!f)
        return;
    free(f->items);
    memset(f, 0, sizeof *f);
}

static bool grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) {
        if (n > SIZE_MAX / 2 / sz)
            return false;
        n *= 2;
    }
    void *q = realloc(*p, n * sz);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

void lx_emit(lx_scan_ctx *cx, uint32_t type, size_t start, size_t end)
{
    if (end <= start || end > cx->len ||
        (type < LX_FIND_BUILTIN_COUNT && (cx->disabled & (1u << type))))
        return;
    if (!grow((void **)&cx->c, &cx->cap, cx->n + 1, sizeof *cx->c)) {
        cx->nomem = true;
        return;
    }
    cx->c[cx->n++] = (lx_cand){type, start, end};
}

/* ---- building ----------------------------------------------------------- */

static bool valid_type_name(const char *n)
{
    if (!n || !*n || strlen(n) > 63)
        return false;
    for (const char *p = n; *p; p++)
        if (!(lx_is_upper(*p) || lx_is_digit(*p) || *p == '_'))
            return false;
    return true;
}

/* The type index of a user type name, adding it if new. */
static lx_status user_type(lx_scanner *s, const char *name, uint32_t *out, lx_error *err)
{
    if (!valid_type_name(name))
        return lx_fail(err, LX_ERR_CONFIG,
                       "scan: type name '%s' must be upper-case letters, digits and '_'",
                       name ? name : "(null)");
    int b = lx_scan_type_from_name(name);
    if (b >= 0) {
        *out = (uint32_t)b;
        return LX_OK;
    }
    for (size_t i = 0; i < s->n_user_types; i++)
        if (!strcmp(s->user_types[i], name)) {
            *out = (uint32_t)(LX_FIND_BUILTIN_COUNT + i);
            return LX_OK;
        }
    char *copy = strdup(name);
    if (!copy)
        return lx_fail(err, LX_ERR_NOMEM, "scan: out of memory");
    s->user_types[s->n_user_types] = copy;
    *out = (uint32_t)(LX_FIND_BUILTIN_COUNT + s->n_user_types++);
    return LX_OK;
}

/* A literal as a Vectorscan expression: every non-alphanumeric byte as
 * \xHH. Returns a malloc'd string or NULL. */
static char *escape_literal(const char *w)
{
    size_t n = strlen(w);
    char *r = malloc(n * 4 + 1), *o = r;
    if (!r)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)w; *p; p++)
        o += lx_is_alnum(*p) ? sprintf(o, "%c", *p) : sprintf(o, "\\x%02x", *p);
    *o = 0;
    return r;
}

/* ---- compiling in a child process ------------------------------------------ */

static _Atomic bool isolate;

void lx_scanner_isolate_compile(bool on)
{
    atomic_store(&isolate, on);
}

/* The child: compile, send [u64 length][serialized bytes], exit without
 * running atexit handlers or flushing the parent's stdio buffers. A compile
 * error sends length 0: the parent compiles again in-process to get the
 * error message with its pattern index. */
static void child_compile(int fd, const char *const *exprs, const unsigned *flags,
                          const unsigned *ids, size_t n)
{
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    char *bytes = NULL;
    size_t len = 0;
    if (hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &db, &ce) !=
            HS_SUCCESS ||
        hs_serialize_database(db, &bytes, &len) != HS_SUCCESS)
        len = 0;
    uint64_t l = len;
    bool ok = lx_scan_write_all(fd, &l, sizeof l) && (!len || lx_scan_write_all(fd, bytes, len));
    _exit(ok ? 0 : 1);
}

/* True with *db set when a forked child compiled the patterns; false (and
 * nothing allocated) on any failure, the caller then compiles in-process. */
static bool compile_in_child(const char *const *exprs, const unsigned *flags,
                             const unsigned *ids, size_t n, hs_database_t **db)
{
    int p[2];
    if (pipe(p) != 0)
        return false;
    fflush(NULL); /* nothing buffered twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return false;
    }
    if (pid == 0) {
        close(p[0]);
        child_compile(p[1], exprs, flags, ids, n);
    }
    close(p[1]);
    /* [u64 length][length bytes]; closing our end early makes a child that
     * is still writing fail (EPIPE or SIGPIPE), so the wait below returns */
    uint64_t len = 0;
    char *buf = NULL;
    bool ok = lx_scan_read_all(p[0], &len, sizeof len) && len > 0 && len <= LX_CACHE_MAX &&
              (buf = malloc((size_t)len)) && lx_scan_read_all(p[0], buf, (size_t)len);
    close(p[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    ok = ok && WIFEXITED(ws) && WEXITSTATUS(ws) == 0 &&
         hs_deserialize_database(buf, (size_t)len, db) == HS_SUCCESS;
    free(buf);
    if (!ok)
        *db = NULL;
    return ok;
}

lx_status lx_scanner_new(const lx_scan_config *cfg, lx_scanner **out, lx_error *err)
{
    static const lx_scan_config none = {0};
    if (!cfg)
        cfg = &none;
    *out = NULL;
    lx_status st = LX_ERR_NOMEM;
    size_t n_user = cfg->n_terms + cfg->n_regexes, n_all = lx_n_triggers + n_user, n = 0;
    const char **exprs = calloc(n_all, sizeof *exprs);
    unsigned *flags = calloc(n_all, sizeof *flags), *ids = calloc(n_all, sizeof *ids);
    char **owned = calloc(n_user + 1, sizeof *owned);
    lx_scanner *s = calloc(1, sizeof *s);
    if (!exprs || !flags || !ids || !owned || !s)
        goto fail;
    s->disabled = cfg->disabled;
    s->user_types = calloc(n_user + 1, sizeof *s->user_types);
    s->upat = calloc(n_user + 1, sizeof *s->upat);
    s->rank = calloc(LX_FIND_BUILTIN_COUNT + n_user, sizeof *s->rank);
    if (!s->user_types || !s->upat || !s->rank)
        goto fail;

    for (size_t i = 0; i < lx_n_triggers; i++) {
        if (lx_triggers[i].type >= 0 && (cfg->disabled & (1u << lx_triggers[i].type)))
            continue;
        exprs[n] = lx_triggers[i].re;
        flags[n] = lx_triggers[i].flags;
        ids[n++] = (unsigned)i;
    }
    for (size_t k = 0; k < n_user; k++) {
        bool term = k < cfg->n_terms;
        const char *tname = term ? cfg->terms[k].type : cfg->regexes[k - cfg->n_terms].type;
        if ((st = user_type(s, tname, &s->upat[k].type, err)) != LX_OK)
            goto fail;
        if (term) {
            const char *w = cfg->terms[k].word;
            if (!w || !*w || strlen(w) > 256) {
                st = lx_fail(err, LX_ERR_CONFIG, "scan: term %zu of type %s is empty or too long",
                             k, tname);
                goto fail;
            }
            s->upat[k].len = strlen(w);
            if (!(owned[k] = escape_literal(w))) {
                st = lx_fail(err, LX_ERR_NOMEM, "scan: out of memory");
                goto fail;
            }
            exprs[n] = owned[k];
            flags[n] = HS_FLAG_CASELESS;
        } else {
            const lx_scan_regex *r = &cfg->regexes[k - cfg->n_terms];
            if (!r->pattern || !*r->pattern) {
                st = lx_fail(err, LX_ERR_CONFIG, "scan: regex of type %s is empty", tname);
                goto fail;
            }
            exprs[n] = r->pattern;
            flags[n] = HS_FLAG_SOM_LEFTMOST | (r->caseless ? HS_FLAG_CASELESS : 0);
        }
        ids[n++] = (unsigned)(lx_n_triggers + k);
    }
    s->n_upat = n_user;

    /* Precedence: PRIVATE_KEY, user types in order, then the other built-ins. */
    uint32_t r = 0;
    s->rank[LX_FIND_PRIVATE_KEY] = r++;
    for (size_t i = 0; i < s->n_user_types; i++)
        s->rank[LX_FIND_BUILTIN_COUNT + i] = r++;
    for (int i = 1; i < LX_FIND_BUILTIN_COUNT; i++)
        s->rank[builtin_order[i]] = r++;

    unsigned char key[32];
    if (n > 0) {
        lx_scan_cache_key(exprs, flags, ids, n, key);
        s->db = lx_scan_cache_load(key);
        s->from_cache = s->db != NULL;
    }
    if (n > 0 && !s->db && atomic_load(&isolate) && compile_in_child(exprs, flags, ids, n, &s->db)) {
        s->in_child = true;
        lx_scan_cache_store(key, s->db);
    }
    if (n > 0 && !s->db) {
        hs_compile_error_t *ce = NULL;
        if (hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &s->db, &ce) !=
            HS_SUCCESS) {
            int e = ce ? ce->expression : -1;
            if (e >= 0 && ids[e] >= lx_n_triggers && ids[e] - lx_n_triggers >= cfg->n_terms) {
                const lx_scan_regex *bad = &cfg->regexes[ids[e] - lx_n_triggers - cfg->n_terms];
                st = lx_fail(err, LX_ERR_CONFIG, "scan: regex /%s/ of type %s: %s", bad->pattern,
                             bad->type, ce ? ce->message : "compile error");
            } else if (e >= 0 && ids[e] >= lx_n_triggers) {
                const lx_scan_term *bad = &cfg->terms[ids[e] - lx_n_triggers];
                st = lx_fail(err, LX_ERR_CONFIG, "scan: term '%s' of type %s: %s", bad->word,
                             bad->type, ce ? ce->message : "compile error");
            } else {
                st = lx_fail(err, LX_ERR_INTERNAL, "scan: built-in pattern %d: %s", e,
                             ce ? ce->message : "compile error");
            }
            hs_free_compile_error(ce);
            goto fail;
        }
        lx_scan_cache_store(key, s->db);
    }
    *out = s;
    s = NULL;
    st = LX_OK;
fail:
    if (st == LX_ERR_NOMEM)
        lx_fail(err, LX_ERR_NOMEM, "scan: out of memory");
    for (size_t k = 0; owned && k < n_user; k++)
        free(owned[k]);
    free(owned);
    free(exprs);
    free(flags);
    free(ids);
    lx_scanner_free(s);
    return st;
}

bool lx_scanner_from_cache(const lx_scanner *s)
{
    return s && s->from_cache;
}

bool lx_scanner_compiled_in_child(const lx_scanner *s)
{
    return s && s->in_child;
}

void lx_scanner_free(lx_scanner *s)
{
    if (!s)
        return;
    hs_free_database(s->db);
    for (size_t i = 0; i < s->n_user_types; i++)
        free(s->user_types[i]);
    free(s->user_types);
    free(s->upat);
    free(s->rank);
    free(s);
}

lx_status lx_scan_scratch_new(const lx_scanner *s, lx_scan_scratch **out, lx_error *err)
{
    *out = NULL;
    lx_scan_scratch *sc = calloc(1, sizeof *sc);
    if (!sc || !(sc->done = calloc(lx_n_triggers, sizeof *sc->done))) {
        free(sc);
        return lx_fail(err, LX_ERR_NOMEM, "scan: out of memory");
    }
    sc->s = s;
    if (s->db && hs_alloc_scratch(s->db, &sc->hs) != HS_SUCCESS) {
        lx_scan_scratch_free(sc);
        return lx_fail(err, LX_ERR_NOMEM, "scan: cannot allocate Vectorscan scratch");
    }
    *out = sc;
    return LX_OK;
}

void lx_scan_scratch_free(lx_scan_scratch *sc)
{
    if (!sc)
        return;
    hs_free_scratch(sc->hs);
    free(sc->done);
    free(sc->c);
    free(sc->tmp);
    free(sc->acc);
    free(sc);
}

/* ---- scanning ----------------------------------------------------------- */

typedef struct {
    lx_scan_ctx cx;
    const lx_scanner *s;
    size_t *done;
} run;

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ud)
{
    run *r = ud;
    size_t end = (size_t)to;
    if (id < lx_n_triggers) {
        if (end <= r->done[id] && r->done[id] != 0)
            return 0;
        size_t upto = lx_triggers[id].fn(&r->cx, lx_triggers[id].arg, end);
        if (upto > r->done[id])
            r->done[id] = upto;
    } else {
        const user_pat *u = &r->s->upat[id - lx_n_triggers];
        if (u->len) { /* term: whole word */
            size_t start = end - u->len;
            if ((start == 0 || !lx_is_word(r->cx.t[start - 1])) &&
                (end >= r->cx.len || !lx_is_word(r->cx.t[end])))
                lx_emit(&r->cx, u->type, start, end);
        } else {
            lx_emit(&r->cx, u->type, (size_t)from, end);
        }
    }
    return r->cx.nomem ? 1 : 0;
}

static int by_type_start(const void *a, const void *b)
{
    const lx_cand *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Unites overlapping spans of one type, then keeps spans rank by rank.
 * Leaves the result, sorted by start, in sc->acc[0..*n_out). */
static bool resolve(const lx_scanner *s, lx_scan_scratch *sc, size_t n, size_t *n_out)
{
    lx_cand *c = sc->c;
    *n_out = 0;
    if (n == 0)
        return true;
    qsort(c, n, sizeof *c, by_type_start);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && c[m - 1].type == c[i].type && c[i].start < c[m - 1].end) {
            if (c[i].end > c[m - 1].end)
                c[m - 1].end = c[i].end;
        } else {
            c[m++] = c[i];
        }
    }
    if (!grow((void **)&sc->tmp, &sc->cap_tmp, m + 1, sizeof *sc->tmp) ||
        !grow((void **)&sc->acc, &sc->cap_acc, m + 1, sizeof *sc->acc))
        return false;
    size_t na = 0, n_types = LX_FIND_BUILTIN_COUNT + s->n_user_types;
    /* c is grouped by type; visit the groups in rank order. */
    for (uint32_t rank = 0; rank < n_types; rank++) {
        uint32_t type = 0;
        while (type < n_types && s->rank[type] != rank)
            type++;
        size_t lo = 0;
        while (lo < m && c[lo].type != type)
            lo++;
        size_t hi = lo;
        while (hi < m && c[hi].type == type)
            hi++;
        if (lo == hi)
            continue;
        /* merge acc[0..na) with the non-overlapping members of c[lo..hi) */
        size_t p = 0, q = lo, k = 0;
        lx_cand *t = sc->tmp;
        while (q < hi) {
            while (p < na && sc->acc[p].end <= c[q].start)
                t[k++] = sc->acc[p++];
            bool clash =
                (p < na && sc->acc[p].start < c[q].end) || (k > 0 && t[k - 1].end > c[q].start);
            if (!clash)
                t[k++] = c[q];
            q++;
        }
        while (p < na)
            t[k++] = sc->acc[p++];
        sc->tmp = sc->acc;
        sc->acc = t;
        size_t swap = sc->cap_tmp;
        sc->cap_tmp = sc->cap_acc;
        sc->cap_acc = swap;
        na = k;
    }
    *n_out = na;
    return true;
}

lx_status lx_scan(const lx_scanner *s, lx_scan_scratch *sc, const char *text, size_t len,
                  lx_findings *out, lx_error *err)
{
    if (!s || !sc || sc->s != s || !out || (!text && len))
        return lx_fail(err, LX_ERR_INVALID, "scan: bad arguments");
    if (!s->db || len == 0)
        return LX_OK;
    if (len > UINT32_MAX)
        return lx_fail(err, LX_ERR_TOOBIG, "scan: text of %zu bytes is over 4 GiB", len);
    memset(sc->done, 0, lx_n_triggers * sizeof *sc->done);
    run r = {.cx = {.t = (const unsigned char *)text,
                    .len = len,
                    .disabled = s->disabled,
                    .c = sc->c,
                    .cap = sc->cap,
                    .pem_end = SIZE_MAX},
             .s = s,
             .done = sc->done};
    hs_error_t he = hs_scan(s->db, text, (unsigned)len, 0, sc->hs, on_match, &r);
    sc->c = r.cx.c;
    sc->cap = r.cx.cap;
    if (r.cx.nomem)
        return lx_fail(err, LX_ERR_NOMEM, "scan: out of memory");
    if (he != HS_SUCCESS)
        return lx_fail(err, LX_ERR_INTERNAL, "scan: Vectorscan error %d", he);
    size_t na;
    if (!resolve(s, sc, r.cx.n, &na) ||
        !grow((void **)&out->items, &out->cap, out->n + na, sizeof *out->items))
        return lx_fail(err, LX_ERR_NOMEM, "scan: out of memory");
    for (size_t i = 0; i < na; i++) {
        const lx_cand *c = &sc->acc[i];
        out->items[out->n++] = (lx_finding){
            .type = type_name(s, c->type),
            .builtin = c->type < LX_FIND_BUILTIN_COUNT ? (int)c->type : -1,
            .start = c->start,
            .end = c->end,
        };
    }
    return LX_OK;
}

static lx_status scan_field(const lx_scanner *s, lx_scan_scratch *sc, const char *text, size_t m,
                            size_t p, lx_scan_field field, lx_findings *out, lx_error *err)
{
    if (!text || !*text)
        return LX_OK;
    size_t before = out->n;
    lx_status st = lx_scan(s, sc, text, strlen(text), out, err);
    for (size_t i = before; i < out->n; i++) {
        out->items[i].message = m;
        out->items[i].part = p;
        out->items[i].field = field;
    }
    return st;
}

lx_status lx_scan_request(const lx_scanner *s, lx_scan_scratch *sc, const lx_request *req,
                          lx_findings *out, lx_error *err)
{
    if (!req)
        return lx_fail(err, LX_ERR_INVALID, "scan: no request");
    for (size_t m = 0; m < req->n_messages; m++) {
        const lx_message *msg = &req->messages[m];
        for (size_t p = 0; p < msg->n_parts; p++) {
            const lx_part *part = &msg->parts[p];
            lx_status st = scan_field(s, sc, part->text, m, p, LX_SCAN_FIELD_TEXT, out, err);
            if (st == LX_OK)
                st = scan_field(s, sc, part->arguments, m, p, LX_SCAN_FIELD_ARGUMENTS, out, err);
            if (st == LX_OK && part->url && strncmp(part->url, "data:", 5) != 0)
                st = scan_field(s, sc, part->url, m, p, LX_SCAN_FIELD_URL, out, err);
            if (st != LX_OK)
                return st;
        }
    }
    return LX_OK;
}
