/*
 * log.h — diagnostics to stderr.
 *
 * Level from LLMUX_LOG (error|warn|info|debug; default warn). Lines are
 * plain text "llmux: level: message", or one JSON object per line when
 * LLMUX_LOG_JSON=1. Never pass API keys or prompt text to these functions.
 * The level is read once; logging is thread-safe (one write per line).
 */
#ifndef LX_CORE_LOG_H
#define LX_CORE_LOG_H

typedef enum { LX_LOG_ERROR = 0, LX_LOG_WARN, LX_LOG_INFO, LX_LOG_DEBUG } lx_log_level;

void lx_log(lx_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lx_log_enabled(lx_log_level lvl);

#define LX_ERROR(...) lx_log(LX_LOG_ERROR, __VA_ARGS__)
#define LX_WARN(...) lx_log(LX_LOG_WARN, __VA_ARGS__)
#define LX_INFO(...) lx_log(LX_LOG_INFO, __VA_ARGS__)
#define LX_DEBUG(...) lx_log(LX_LOG_DEBUG, __VA_ARGS__)

#endif
