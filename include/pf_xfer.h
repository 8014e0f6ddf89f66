/*
 * HTTP requests on the shared curl multi, as the http and chat kinds make
 * them: one capped transfer with its failure classification (xfer.c),
 * their URLs (url.c) and the config keys they share: headers, max_body,
 * ca_file (xfer_cfg.c).
 */
#ifndef PF_XFER_H
#define PF_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "pf_check.h"
#include "pf_curl.h"
#include "pf_keys.h"

struct cJSON;

#define PF_XFER_MAX_BODY_DEFAULT (1024 * 1024)

/* ---- one transfer (xfer.c) ---- */

struct pf_xfer;
typedef void (*pf_xfer_done_fn)(void *arg, struct pf_xfer *x, CURLcode rc);

struct pf_xfer_req {
	const char *url;		/* http:// or https:// */
	const char *method;		/* "GET", "HEAD" or "POST" */
	const char *body;		/* POST body (copied), or NULL */
	const char *content_type;	/* for body, or NULL */
	const char *bearer;		/* token for Authorization, or NULL */
	const struct pf_xfer_opts *opts; /* borrowed: headers, max_body, ca_file */
	uint64_t timeout_ms;		/* what is left of the probe's deadline */
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
	/* the address curl last opened a socket for ("" before), and its
	 * class (enum pf_addr_class; 0 unknown): curl reports no address
	 * for a connect that timed out, the hint policy needs it */
	char ip[64];
	int aclass;
	struct pf_curlm *m;		/* borrowed; NULL once finished */
	struct pf_curlm *pool;		/* borrowed: where easy goes back on free */
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
/* The peer's address and its class into res (hint var "address",
 * res->aclass), once curl opened a socket; x may be NULL. */
void pf_xfer_note_peer(const struct pf_xfer *x, struct pf_result *res);
/* Maps a failed transfer to a reason and a message for the user. */
enum pf_reason pf_xfer_classify(const struct pf_xfer *x, CURLcode rc,
				char *err, size_t errlen);

/* ---- URLs (url.c) ---- */

/* Validates an http(s) URL for config: scheme, a host, no spaces or
 * control characters.  -1 with a reason in err. */
int pf_url_check(const char *url, char *err, size_t errlen);
/* base (trailing '/' dropped) + path + percent-escaped id (may be NULL).
 * -1 when it does not fit. */
int pf_url_join(const char *base, const char *path, const char *id,
		char *out, size_t len);
/* ---- shared config keys (xfer_cfg.c) ---- */

/* What every HTTP request of a check is configured with; embedded in the
 * kind's config and filled by pf_xfer_keys (inlined into its table). */
struct pf_xfer_opts {
	struct cJSON *headers;		/* owned: extra headers, or NULL */
	long max_body;			/* response cap in bytes */
	char *ca_file;			/* owned: PEM bundle trusted instead of
					 * the system store, or NULL */
};
extern const struct pf_keys pf_xfer_keys;

/* ---- TLS (xfer.c) ---- */

/* The cause of a `tls` failure (pf_hint.h) from curl's message err:
 * "tls:untrusted" (or "tls:untrusted_ca_file" when ca_file is set),
 * "tls:name", "tls:expired", "tls:plain"; NULL for a message it does
 * not know. */
const char *pf_xfer_tls_cause(const char *err, bool has_ca_file);

#endif
