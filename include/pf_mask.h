/*
 * Masking (mask.c): the one place that decides what of a secret may show
 * in /status, /metrics, logs, reports and `preflightd config` (SPEC §4).
 */
#ifndef PF_MASK_H
#define PF_MASK_H

#include <stdbool.h>
#include <stddef.h>

/* A run of this many leading bytes of a secret counts as the secret:
 * messages quote values cut short ("%.64s"). */
#define PF_MASK_PREFIX 12

/* Masks, in s (a NUL-terminated text in a buffer of cap bytes; 0 when
 * unknown), every copy of secret, whatever its length, and every run of
 * PF_MASK_PREFIX or more of its leading bytes; when the text filled its
 * buffer, also a shorter run of them at its very end.  A copy becomes
 * "***" (a secret of one or two bytes as many '*'), so the text never
 * grows.  secret NULL or "": nothing. */
void pf_mask_secret(char *s, size_t cap, const char *secret);
/* pf_mask_secret for each of n secrets. */
void pf_mask_secrets(char *s, size_t cap, const char *const *secrets, size_t n);

/* A connection string for display, its secret parts masked:
 *   scheme://user:pass@host/...   -> scheme://user:***@host/...
 *   scheme://:pass@host           -> scheme://:***@host
 *   http://TOKEN@host             -> the user-info TOKEN becomes ***
 *                                    (a user name alone shows for the
 *                                    postgres and redis schemes)
 *   key=value DSN: password=..., sslpassword=... -> password=***
 *   ?token=...&api_key=... in a URL query       -> token=***&api_key=***
 * (keys and parameters by pf_mask_name_is_secret).  Never fails: output
 * is truncated to len. */
const char *pf_mask_url(const char *in, char *out, size_t len);

/* Calls fn with each secret a connection string holds, exactly what
 * pf_mask_url masks (as written and percent-decoded). */
void pf_mask_url_secrets(const char *in, void (*fn)(void *arg, const char *secret),
			 void *arg);

/* True for names (header, query parameter, DSN key) whose values are
 * secrets: Authorization, Cookie, sig, pwd, pass and names containing
 * token, key, secret, password, passwd, auth, signature, credential or
 * session. */
bool pf_mask_name_is_secret(const char *name);
/* The short allow-list of request headers whose values may show (Accept,
 * Content-Type, User-Agent, ...); every other header value is a secret. */
bool pf_mask_header_is_public(const char *name);

#endif
