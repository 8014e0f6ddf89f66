/*
 * The chat kind's configuration (SPEC §3 chat): parsed in chat_cfg.c,
 * used by the probe in chat.c.  Internal to checks/.
 */
#ifndef PF_CHECKS_CHAT_H
#define PF_CHECKS_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pf_config.h"
#include "pf_keys.h"
#include "pf_xfer.h"

struct cJSON;

/* jwt: the probe mints an HS256 token per request (SPEC §3 chat). */
struct chat_jwt {
	struct pf_secret *secret;	/* owned; re-read when its file changes */
	struct cJSON *claims;		/* owned object: sub, type, ... */
	uint64_t ttl_ms;		/* exp = now + ttl */
};

/* Filled by pf_chat_keys (chat_cfg.c); owns everything under it.  The
 * secrets sit behind pointers: a probe refreshes them in place from the
 * const config (one probe of a check runs at a time). */
struct chat_cfg {
	char *base_url;		/* may hold user:pass, shown masked */
	char *message;
	char *thread_id;	/* or NULL; a UUID */
	struct cJSON *body;	/* fields merged into the POST, or NULL */
	struct pf_secret *token;	/* static bearer, or NULL */
	struct chat_jwt *jwt;	/* or NULL */
	char *id_field;
	struct pf_strv done, failed;	/* terminal statuses */
	uint64_t poll_ms;
	struct pf_xfer_opts xfer;	/* headers, max_body, ca_file */
};

/* The kind's key table (chat_cfg.c). */
extern const struct pf_keys pf_chat_keys;

/* chat_jwt.c: an HS256 JWT of claims plus iat = now and exp = now + ttl
 * (seconds), signed with secret; malloc'd, NULL when out of memory. */
char *pf_chat_jwt_mint(const char *secret, const struct cJSON *claims,
		       uint64_t ttl_ms, time_t now);
/* The bearer for the next request: the token (re-read if its file
 * changed), or a JWT minted now; NULL when neither is configured.  A
 * minted token is written into *owned (the caller frees it). *err gets a
 * message when a secret file could not be re-read (the old value is
 * used).  NULL with *owned NULL and oom set when out of memory. */
const char *pf_chat_bearer(const struct chat_cfg *c, char **owned, bool *oom,
			   char *err, size_t errlen);

/* ---- Chat API answers (chat_json.c) ---- */

/* The POST /chat body: the fields of extra (may be NULL), then message
 * and thread_id (may be NULL), as malloc'd text. */
char *pf_chat_post_body(const char *message, const char *thread_id,
			const struct cJSON *extra);
/* Reads id_field (string or integer) from the POST answer.  -1 with err
 * ("answer is not JSON", "no \"correlation_id\" in the answer"). */
int pf_chat_parse_id(const char *body, const char *id_field, char *id,
		     size_t idlen, char *err, size_t errlen);

/* A GET /chat/response answer.  Worker-level failures carry their code
 * in "error" (turn_deadline_exceeded); pipeline failures in
 * "error_envelope": {"error_code", "user_facing_message", ...}. */
struct pf_chat_status {
	char status[64];	/* the API's status, "" if missing */
	char error[128];	/* the API's error code, "" if none */
	char message[256];	/* the API's message, "" if none */
};
int pf_chat_parse_status(const char *body, struct pf_chat_status *out,
			 char *err, size_t errlen);

/* A 429 body's retry_after_seconds (seconds), or -1. */
double pf_chat_retry_after(const char *body);
/* A 422 body of the PHI gate: {"detail": {"phi_blocked": true, ...}}. */
bool pf_chat_phi_blocked(const char *body);

enum pf_chat_verdict { PF_CHAT_PENDING, PF_CHAT_DONE, PF_CHAT_FAILED };
enum pf_chat_verdict pf_chat_verdict(const char *status, char *const *done,
				     char *const *failed);

#endif
