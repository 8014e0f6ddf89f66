/*
 * What the two HTTP kinds (chat.c, http.c) share: one capped transfer on
 * the shared curl multi with its failure classification (xfer.c), the pure
 * helpers for URLs, excerpts and expect_status (web_util.c), and the pure
 * parsing of Chat API answers (chat_json.c), and the ca_file key
 * (web_tls.c).  Internal to checks/.
 */
#ifndef PF_CHECKS_WEB_H
#define PF_CHECKS_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "pf_check.h"
#include "pf_curl.h"

struct cJSON;

#define PF_WEB_MAX_BODY_DEFAULT (1024 * 1024)
#define PF_WEB_EXCERPT 160

/* ---- one transfer (xfer.c) ---- */

struct pf_xfer;
typedef void (*pf_xfer_done_fn)(void *arg, struct pf_xfer *x, CURLcode rc);

struct pf_xfer_req {
	const char *url;		/* http:// or https:// */
	const char *method;		/* "GET", "HEAD" or "POST" */
	const char *body;		/* POST body (copied), or NULL */
	const char *content_type;	/* for body, or NULL */
	const char *bearer;		/* token for Authorization, or NULL */
	const struct cJSON *headers;	/* borrowed: name -> string, or NULL */
	size_t max_body;		/* response cap in bytes */
	uint64_t timeout_ms;		/* what is left of the probe's deadline */
	const char *ca_file;		/* PEM bundle trusted instead of the
					 * system store, or NULL */
};

/* One request in flight.  Owns its easy handle, header list, request and
 * response bodies; body is NUL-terminated and at most max_body bytes. */
struct pf_xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	char *req_body;
	char *body;
	size_t len, cap, max_body;
	bool over_cap;			/* the peer sent more than max_body */
	char errbuf[CURL_ERROR_SIZE];
	struct pf_curlm *m;		/* borrowed; NULL once finished */
	pf_xfer_done_fn done;
	void *arg;
};

/* Starts the request; done runs once from the loop (never inside this
 * call) unless pf_xfer_free comes first.  NULL with err filled on error. */
struct pf_xfer *pf_xfer_start(struct pf_curlm *m, const struct pf_xfer_req *req,
			      pf_xfer_done_fn done, void *arg,
			      char *err, size_t errlen);
/* Cancels a running request (no callback) and releases everything. */
void pf_xfer_free(struct pf_xfer *x);
/* HTTP status of the answer, 0 when none arrived. */
long pf_xfer_status(const struct pf_xfer *x);
/* The answer's Retry-After in seconds (curl parses both forms), or -1. */
double pf_xfer_retry_after(const struct pf_xfer *x);
/* True once the TCP (and TLS) connection was established. */
bool pf_xfer_connected(const struct pf_xfer *x);
/* Maps a failed transfer to a reason and a message for the user. */
enum pf_reason pf_xfer_classify(const struct pf_xfer *x, CURLcode rc,
				char *err, size_t errlen);

/* ---- pure helpers (web_util.c) ---- */

/* Validates an http(s) URL for config: scheme, a host, no spaces or
 * control characters.  -1 with a reason in err. */
int pf_web_check_url(const char *url, char *err, size_t errlen);
/* base (trailing '/' dropped) + path + percent-escaped id (may be NULL).
 * -1 when it does not fit. */
int pf_web_join(const char *base, const char *path, const char *id,
		char *out, size_t len);
/* A printable one-line excerpt of a body, at most PF_WEB_EXCERPT bytes
 * (then "..."), control bytes folded, invalid UTF-8 replaced by U+FFFD,
 * secret (if any) replaced by "***". */
const char *pf_web_excerpt(const char *body, size_t len, const char *secret,
			   char *out, size_t outlen);
/* Replaces every occurrence of secret in s by "***" (or by as many '*'
 * when the secret is shorter, so the text never grows).  secret NULL or
 * "": nothing. */
void pf_web_mask_secret(char *s, const char *secret);
/* True for headers whose values are secrets: Authorization, Cookie,
 * Proxy-Authorization and names containing token/key/secret/password/auth. */
bool pf_web_header_secret(const char *name);
/* Config key "headers": validated (token names, one-line values) and
 * duplicated into *out (caller owns; NULL when absent). */
int pf_web_headers(const struct cJSON *obj, const char *path,
		   struct cJSON **out, char *err, size_t errlen);
/* Copy of headers with secret values replaced by "***". */
struct cJSON *pf_web_headers_describe(const struct cJSON *headers);
/* Config key "max_body" in bytes (default 1 MiB, at most 256 MiB). */
int pf_web_max_body(const struct cJSON *obj, const char *path, size_t *out,
		    char *err, size_t errlen);

/* ---- TLS trust (web_tls.c) ---- */

/* Config key "ca_file" (optional): a PEM CA bundle trusted instead of the
 * system store; verification stays on.  At load it must be a readable
 * regular file holding a PEM certificate, else -1 with err naming
 * path.ca_file.  *out is malloc'd (caller owns), untouched when absent. */
int pf_web_ca_file(const struct cJSON *obj, const char *path, char **out,
		   char *err, size_t errlen);
/* The hint for a `tls` failure, chosen from curl's message err (untrusted
 * chain, name mismatch, expiry, plain HTTP on the port); has_ca_file says
 * whether ca_file was configured.  h is "" for a message it does not know
 * (the built-in hint then applies). */
void pf_web_tls_hint(const char *err, bool has_ca_file, char *h, size_t n);

/* expect_status: up to 16 inclusive ranges.  Accepts 204, "204", "2xx",
 * "200-299", or an array of those. */
#define PF_WEB_MAX_RANGES 16
struct pf_web_status_set {
	unsigned n;
	unsigned lo[PF_WEB_MAX_RANGES], hi[PF_WEB_MAX_RANGES];
};
int pf_web_status_parse(const struct cJSON *v, struct pf_web_status_set *out,
			char *err, size_t errlen);
bool pf_web_status_match(const struct pf_web_status_set *s, long code);
/* "200-299", "204, 301" ... for messages and describe(). */
const char *pf_web_status_format(const struct pf_web_status_set *s,
				 char *out, size_t len);

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
