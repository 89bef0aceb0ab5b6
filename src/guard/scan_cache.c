/*
 * scan_cache.c — the scanner's compiled Vectorscan database, kept on disk so
 * that the next process with the same patterns loads it instead of compiling
 * (compiling costs 0.1-0.9 s, 3 s under ASan; loading a few milliseconds).
 *
 * Key: SHA-256 over everything that decides the database, in this order:
 *   "llmux-scan-cache\0", the format version (u32), hs_version() with its
 *   NUL, the platform from hs_populate_platform() (tune, cpu_features,
 *   reserved1, reserved2 as u64), the mode (u32) and the pattern count (u64),
 *   then per pattern in compile order: expression length (u64), expression
 *   bytes, flags (u32), id (u32). Integers are little-endian. Equal keys mean
 *   equal compiler input, hence an equivalent database.
 *
 * File: <folder>/<key as 64 hex digits>.hsdb
 *   offset  size  field
 *   0       8     magic "LXSCANDB"
 *   8       4     format version (u32 LE)
 *   12      4     zero
 *   16      32    key
 *   48      8     payload length (u64 LE)
 *   56      32    SHA-256 of the payload
 *   88      n     payload: the bytes of hs_serialize_database()
 *
 * Folder: $LLMUX_SCAN_CACHE when set ("off" turns the cache off), else
 * $XDG_CACHE_HOME/llmux/scan (an absolute XDG_CACHE_HOME only), else
 * $HOME/.cache/llmux/scan. Missing folders are created 0700.
 *
 * Trust: a file is used only when it is a regular file owned by this user
 * and not writable by group or others, no larger than LX_CACHE_MAX, and its
 * magic, version, key, length and payload checksum all match; only then does
 * Vectorscan see the bytes (which checks its own version and platform again).
 * Anything else is a miss: the caller compiles and stores a fresh file.
 * Storing writes a mkstemp() file (0600) in the folder and renames it over
 * the name, so readers see a whole old file or a whole new one and racing
 * writers are harmless. Every failure is a debug log line, never an error:
 * the cache only ever saves time.
 *
 * Housekeeping: a hit refreshes the file's mtime, so mtime is the last use.
 * Each store (a miss, hence rare) deletes, in the same folder and owned by
 * this user, cache files unused for LX_CACHE_TTL_DAYS and temp files of
 * writers that died more than an hour ago. Only names this file creates
 * ("<64 hex>.hsdb", ".<64 hex>.XXXXXX") are ever deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "engine/sha256.h"
#include "guard/scan_int.h"

#define LX_CACHE_VERSION 1u
#define LX_CACHE_HDR 88
#define LX_CACHE_TTL_DAYS 30

static const char cache_magic[8] = {'L', 'X', 'S', 'C', 'A', 'N', 'D', 'B'};

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void hash_le(lx_sha256 *h, uint64_t v, int bytes)
{
    unsigned char b[8];
    put_le(b, v, bytes);
    lx_sha256_update(h, b, (size_t)bytes);
}

void lx_scan_cache_key(const char *const *exprs, const unsigned *flags, const unsigned *ids,
                       size_t n, unsigned char key[32])
{
    lx_sha256 h;
    lx_sha256_init(&h);
    static const char tag[] = "llmux-scan-cache";
    lx_sha256_update(&h, tag, sizeof tag);
    hash_le(&h, LX_CACHE_VERSION, 4);
    const char *v = hs_version();
    lx_sha256_update(&h, v, strlen(v) + 1);
    hs_platform_info_t pl;
    memset(&pl, 0, sizeof pl);
    if (hs_populate_platform(&pl) != HS_SUCCESS)
        memset(&pl, 0xff, sizeof pl); /* a platform no real one hashes like */
    hash_le(&h, pl.tune, 8);
    hash_le(&h, pl.cpu_features, 8);
    hash_le(&h, pl.reserved1, 8);
    hash_le(&h, pl.reserved2, 8);
    hash_le(&h, HS_MODE_BLOCK, 4);
    hash_le(&h, n, 8);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(exprs[i]);
        hash_le(&h, len, 8);
        lx_sha256_update(&h, exprs[i], len);
        hash_le(&h, flags[i], 4);
        hash_le(&h, ids[i], 4);
    }
    lx_sha256_final(&h, key);
}

/* a + b as a malloc'd string, or NULL. */
static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *r = malloc(na + nb + 1);
    if (r) {
        memcpy(r, a, na);
        memcpy(r + na, b, nb + 1);
    }
    return r;
}

/* The cache folder (malloc'd), or NULL when the cache is off or there is
 * nowhere to put it. */
static char *cache_dir(void)
{
    const char *o = getenv("LLMUX_SCAN_CACHE");
    if (o && *o)
        return strcmp(o, "off") ? join(o, "") : NULL;
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && x[0] == '/')
        return join(x, "/llmux/scan");
    const char *h = getenv("HOME");
    if (h && *h)
        return join(h, "/.cache/llmux/scan");
    return NULL;
}

/* <dir>/<prefix><64 hex><suffix>, malloc'd, or NULL. */
static char *key_path(const char *dir, const char *prefix, const unsigned char key[32],
                      const char *suffix)
{
    size_t n = strlen(dir) + strlen(prefix) + 64 + strlen(suffix) + 2;
    char *r = malloc(n);
    if (!r)
        return NULL;
    int o = snprintf(r, n, "%s/%s", dir, prefix);
    for (int i = 0; i < 32; i++)
        o += snprintf(r + o, n - (size_t)o, "%02x", key[i]);
    snprintf(r + o, n - (size_t)o, "%s", suffix);
    return r;
}

/* mkdir -p with mode 0700 for the folders it creates. */
static bool make_dirs(const char *dir)
{
    char *p = join(dir, "");
    if (!p)
        return false;
    bool ok = true;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0)
            continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            ok = false;
            break;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    struct stat st;
    return ok && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

bool lx_scan_read_all(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

bool lx_scan_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

struct hs_database *lx_scan_cache_decode(const unsigned char *buf, size_t n,
                                         const unsigned char key[32], const char *what)
{
    if (n <= LX_CACHE_HDR || n - LX_CACHE_HDR > LX_CACHE_MAX) {
        LX_DEBUG("scan cache: %s has a bad size (%zu bytes); ignored", what, n);
        return NULL;
    }
    size_t len = n - LX_CACHE_HDR;
    unsigned char sum[32];
    lx_sha256 h;
    lx_sha256_init(&h);
    lx_sha256_update(&h, buf + LX_CACHE_HDR, len);
    lx_sha256_final(&h, sum);
    if (memcmp(buf, cache_magic, 8) != 0 || get_le(buf + 8, 4) != LX_CACHE_VERSION ||
        get_le(buf + 12, 4) != 0 || memcmp(buf + 16, key, 32) != 0 || get_le(buf + 48, 8) != len ||
        memcmp(buf + 56, sum, 32) != 0) {
        LX_DEBUG("scan cache: %s: bad header or checksum; ignored", what);
        return NULL;
    }
    hs_database_t *db = NULL;
    hs_error_t he = hs_deserialize_database((const char *)buf + LX_CACHE_HDR, len, &db);
    if (he != HS_SUCCESS) {
        LX_DEBUG("scan cache: %s: Vectorscan refused it (%d); ignored", what, he);
        return NULL;
    }
    return db;
}

struct hs_database *lx_scan_cache_load(const unsigned char key[32])
{
    hs_database_t *db = NULL;
    unsigned char *buf = NULL;
    int fd = -1;
    char *dir = cache_dir(), *path = dir ? key_path(dir, "", key, ".hsdb") : NULL;
    if (!path)
        goto out;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno != ENOENT)
            LX_DEBUG("scan cache: cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022)) {
        LX_DEBUG("scan cache: %s is not a private regular file; ignored", path);
        goto out;
    }
    if (st.st_size <= LX_CACHE_HDR || (uint64_t)st.st_size > LX_CACHE_HDR + LX_CACHE_MAX) {
        LX_DEBUG("scan cache: %s has a bad size (%lld bytes); ignored", path,
                 (long long)st.st_size);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    if (!(buf = malloc(size)) || !lx_scan_read_all(fd, buf, size)) {
        LX_DEBUG("scan cache: cannot read %s; ignored", path);
        goto out;
    }
    if (!(db = lx_scan_cache_decode(buf, size, key, path)))
        goto out;
    futimens(fd, NULL); /* last use, for pruning; failure is harmless */
    LX_DEBUG("scan cache: loaded %s", path);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(path);
    free(dir);
    return db;
}

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Deletes stale files of ours in dir (see the opening comment). */
static void prune(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    for (struct dirent *e; (e = readdir(d));) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        time_t max_age;
        if (l == 64 + 5 && all_hex(n, 64) && !strcmp(n + 64, ".hsdb"))
            max_age = (time_t)LX_CACHE_TTL_DAYS * 86400;
        else if (l == 1 + 64 + 7 && n[0] == '.' && all_hex(n + 1, 64) && n[65] == '.')
            max_age = 3600;
        else
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid() || now - st.st_mtime <= max_age)
            continue;
        if (unlinkat(dirfd(d), n, 0) == 0)
            LX_DEBUG("scan cache: removed stale %s/%s", dir, n);
    }
    closedir(d);
}

void lx_scan_cache_store(const unsigned char key[32], const struct hs_database *db)
{
    char *bytes = NULL, *tmp = NULL, *path = NULL, *dir = cache_dir();
    size_t len = 0;
    int fd = -1;
    if (!dir || !db)
        goto out;
    if (!make_dirs(dir)) {
        LX_DEBUG("scan cache: cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    if (!(path = key_path(dir, "", key, ".hsdb")) || !(tmp = key_path(dir, ".", key, ".XXXXXX")))
        goto out;
    if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS || len > LX_CACHE_MAX) {
        LX_DEBUG("scan cache: cannot serialize the database");
        goto out;
    }
    unsigned char hdr[LX_CACHE_HDR] = {0};
    memcpy(hdr, cache_magic, 8);
    put_le(hdr + 8, LX_CACHE_VERSION, 4);
    memcpy(hdr + 16, key, 32);
    put_le(hdr + 48, len, 8);
    lx_sha256 h;
    lx_sha256_init(&h);
    lx_sha256_update(&h, bytes, len);
    lx_sha256_final(&h, hdr + 56);
    if ((fd = mkstemp(tmp)) < 0) {
        LX_DEBUG("scan cache: cannot create a file in %s: %s", dir, strerror(errno));
        goto out;
    }
    bool ok = fchmod(fd, 0600) == 0 && lx_scan_write_all(fd, hdr, sizeof hdr) &&
              lx_scan_write_all(fd, bytes, len);
    ok = close(fd) == 0 && ok;
    fd = -1;
    if (!ok || rename(tmp, path) != 0) {
        LX_DEBUG("scan cache: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    LX_DEBUG("scan cache: stored %s (%zu bytes)", path, len + LX_CACHE_HDR);
    prune(dir);
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(bytes); /* hs_serialize_database() allocates with the misc allocator: malloc */
    free(tmp);
    free(path);
    free(dir);
}
