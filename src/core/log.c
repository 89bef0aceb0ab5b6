#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_level = -1; /* immutable after first read */
static int g_json;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_level(void)
{
    const char *s = getenv("LLMUX_LOG");
    g_level = LX_LOG_WARN;
    if (s) {
        if (!strcmp(s, "error")) g_level = LX_LOG_ERROR;
        else if (!strcmp(s, "warn")) g_level = LX_LOG_WARN;
        else if (!strcmp(s, "info")) g_level = LX_LOG_INFO;
        else if (!strcmp(s, "debug")) g_level = LX_LOG_DEBUG;
    }
    const char *j = getenv("LLMUX_LOG_JSON");
    g_json = j && *j == '1';
}

int lx_log_enabled(lx_log_level lvl)
{
    pthread_once(&g_once, init_level);
    return (int)lvl <= g_level;
}

void lx_log(lx_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (!lx_log_enabled(lvl))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char line[1400];
    int n;
    if (g_json) {
        char esc[1100];
        size_t o = 0;
        for (const char *p = msg; *p && o + 7 < sizeof esc; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\') { esc[o++] = '\\'; esc[o++] = (char)c; }
            else if (c < 0x20) o += (size_t)snprintf(esc + o, sizeof esc - o, "\\u%04x", c);
            else esc[o++] = (char)c;
        }
        esc[o] = '\0';
        n = snprintf(line, sizeof line, "{\"ts\":%lld,\"level\":\"%s\",\"msg\":\"%s\"}\n",
                     (long long)time(NULL), names[lvl], esc);
    } else {
        n = snprintf(line, sizeof line, "llmux: %s: %s\n", names[lvl], msg);
    }
    if (n > 0) {
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        ssize_t w = write(2, line, len);
        (void)w;
    }
}
