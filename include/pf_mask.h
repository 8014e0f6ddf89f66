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
 *   key=value DSN password=...    -> password=***
 *   ?password=... / &password=... in a URL query -> password=***
 * Never fails: output is truncated to len. */
const char *pf_mask_url(const char *in, char *out, size_t len);

/* Calls fn with each secret a connection string holds: the userinfo
 * password (as written and percent-decoded), `password=` of a DSN or a
 * URL query. */
void pf_mask_url_secrets(const char *in, void (*fn)(void *arg, const char *secret),
			 void *arg);

/* True for header names whose values are secrets: Authorization, Cookie,
 * Proxy-Authorization and names containing token/key/secret/password/auth. */
bool pf_mask_name_is_secret(const char *name);

#endif
