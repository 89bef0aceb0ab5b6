/*
 * secrets.h — private to src/guard/: the credential matchers (secrets.c)
 * that the trigger table in patterns.c points at.
 */
#ifndef LX_GUARD_SECRETS_H
#define LX_GUARD_SECRETS_H

#include "guard/scan_int.h"

/* Families of prefixed keys (the `arg` of lx_m_key). */
enum { K_SK, K_AWS, K_GH, K_GHPAT, K_SLACK, K_GOOGLE, K_STRIPE, K_HF };

size_t lx_m_key(lx_scan_ctx *cx, int fam, size_t end);
/* arg: 0 generic key label, 1 bearer, 2 AWS secret label */
size_t lx_m_label(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_pem(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_jwt(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_url_password(lx_scan_ctx *cx, int arg, size_t end);
/* "Authorization: Basic base64(user:password)": the token is a PASSWORD */
size_t lx_m_basic_auth(lx_scan_ctx *cx, int arg, size_t end);
size_t lx_m_pw_label(lx_scan_ctx *cx, int arg, size_t end);

#endif
