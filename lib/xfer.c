/*
 * One HTTP request on the shared curl multi, as the http and chat kinds
 * make them: capped body, bounded by the probe's deadline, TLS verified,
 * no redirects, a fresh connection each time; and the mapping of curl's
 * failures onto SPEC reasons.  Owns the easy handle and its buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "pf_hint.h"
#include "pf_net.h"
#include "pf_util.h"
#include "pf_xfer.h"

/* Slack after the probe's own deadline: the probe's timer fires first and
 * says which phase hung; curl's timeout is only a backstop. */
#define XFER_SLACK_MS 500

/* curl (inside socket_action): a piece of the body arrived.  Returning a
 * short count makes curl abort with CURLE_WRITE_ERROR. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pf_xfer *x = arg;
	size_t n = size * nmemb;
	size_t want;
	char *nb;

	if (n > x->max_body - x->len) {
		x->over_cap = true;
		return 0;
	}
	if (x->len + n + 1 > x->cap) {
		want = x->cap ? x->cap : 4096;
		while (want < x->len + n + 1)
			want *= 2;
		if (want > x->max_body + 1)
			want = x->max_body + 1;
		nb = realloc(x->body, want);
		if (!nb)
			return 0;
		x->body = nb;
		x->cap = want;
	}
	memcpy(x->body + x->len, data, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

static int add_header(struct pf_xfer *x, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 3;
	char *line = malloc(len);
	struct curl_slist *l;

	if (!line)
		return -1;
	snprintf(line, len, "%s: %s", name, value);
	l = curl_slist_append(x->hdrs, line);
	free(line);
	if (!l)
		return -1;
	x->hdrs = l;
	return 0;
}

static int build_headers(struct pf_xfer *x, const struct pf_xfer_req *req)
{
	const cJSON *h;

	/* An empty "Expect:" stops curl waiting for 100-continue on POST. */
	if (add_header(x, "Expect", "") < 0 ||
	    (req->content_type &&
	     add_header(x, "Content-Type", req->content_type) < 0))
		return -1;
	if (req->bearer && *req->bearer) {
		size_t len = strlen(req->bearer) + 8;
		char *v = malloc(len);
		int rc;

		if (!v)
			return -1;
		snprintf(v, len, "Bearer %s", req->bearer);
		rc = add_header(x, "Authorization", v);
		free(v);
		if (rc < 0)
			return -1;
	}
	cJSON_ArrayForEach(h, req->opts->headers) {
		if (cJSON_IsString(h) && add_header(x, h->string, h->valuestring) < 0)
			return -1;
	}
	return 0;
}

static void set_method(struct pf_xfer *x, const struct pf_xfer_req *req)
{
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS,
				 x->req_body ? x->req_body : "");
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE,
				 (long)(x->req_body ? strlen(x->req_body) : 0));
	} else {
		curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
	}
}

/* curl (inside socket_action): open the socket for a connection to a;
 * notes the address first, which curl does not report for a connect that
 * timed out. */
static curl_socket_t on_open(void *arg, curlsocktype purpose,
			     struct curl_sockaddr *a)
{
	struct pf_xfer *x = arg;

	if (purpose == CURLSOCKTYPE_IPCXN) {
		pf_addr_str(&a->addr, x->ip, sizeof x->ip);
		x->aclass = (int)pf_addr_class(&a->addr);
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Options every request gets.  Why: NOSIGNAL because we are one thread
 * with a loop; FORBID_REUSE and FRESH_CONNECT so every probe proves the
 * peer is reachable now and no idle sockets are kept between probes;
 * no redirects (a 3xx is reported as it is, never followed to another
 * host); only http/https; TLS verification is curl's default and stays. */
static void set_common(struct pf_xfer *x, const struct pf_xfer_req *req)
{
	long budget = (long)req->timeout_ms + XFER_SLACK_MS;

	curl_easy_setopt(x->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, budget);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, budget);
	curl_easy_setopt(x->easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L);
	/* and a full TLS handshake each time: a resumed session would skip
	 * the certificate the probe exists to verify (handles are reused) */
	curl_easy_setopt(x->easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* http_proxy and friends in the environment are not followed: a
	 * probe proves the direct path from here to the service */
	curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->opts->ca_file) {
		/* Instead of the system store, not in addition: a private
		 * service's certificate must chain to its own CA.  CAPATH is
		 * cleared too, or Debian's /etc/ssl/certs would still count. */
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, req->opts->ca_file);
		curl_easy_setopt(x->easy, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "preflightd/" PF_VERSION);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, on_open);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
}

/* pf_curlm: the transfer finished (outside curl callbacks). */
static void on_done(void *arg, CURL *easy, CURLcode rc)
{
	struct pf_xfer *x = arg;

	(void)easy;
	x->m = NULL;
	x->done(x->arg, x, rc);
}

struct pf_xfer *pf_xfer_start(struct pf_curlm *m, const struct pf_xfer_req *req,
			      pf_xfer_done_fn done, void *arg,
			      char *err, size_t errlen)
{
	struct pf_xfer *x = calloc(1, sizeof(*x));

	if (x)
		x->pool = m;
	if (!x || !(x->easy = pf_curlm_get_easy(m)) ||
	    (req->body && !(x->req_body = strdup(req->body))) ||
	    build_headers(x, req) < 0) {
		snprintf(err, errlen, "out of memory preparing the request");
		pf_xfer_free(x);
		return NULL;
	}
	x->max_body = (size_t)req->opts->max_body;
	x->done = done;
	x->arg = arg;
	set_common(x, req);
	set_method(x, req);
	if (pf_curlm_add(m, x->easy, on_done, x) < 0) {
		snprintf(err, errlen, "could not start the request (curl multi)");
		pf_xfer_free(x);
		return NULL;
	}
	x->m = m;
	return x;
}

void pf_xfer_free(struct pf_xfer *x)
{
	if (!x)
		return;
	if (x->m)
		pf_curlm_cancel(x->m, x->easy);
	if (x->easy)
		pf_curlm_put_easy(x->pool, x->easy);
	curl_slist_free_all(x->hdrs);
	free(x->req_body);
	free(x->body);
	free(x);
}

long pf_xfer_status(const struct pf_xfer *x)
{
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

double pf_xfer_retry_after(const struct pf_xfer *x)
{
	curl_off_t s = -1;

	if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &s) != CURLE_OK ||
	    s <= 0)
		return -1;
	return (double)s;
}

bool pf_xfer_connected(const struct pf_xfer *x)
{
	curl_off_t us = 0;

	curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &us);
	return us > 0;
}

static bool is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

static enum pf_reason classify_connect(const struct pf_xfer *x)
{
	long oserr = 0;

	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
	if (oserr == ETIMEDOUT)
		return PF_REASON_CONNECT_TIMEOUT;
	return PF_REASON_CONNECT_REFUSED;
}

enum pf_reason pf_xfer_classify(const struct pf_xfer *x, CURLcode rc,
				char *err, size_t errlen)
{
	const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

	if (rc == CURLE_WRITE_ERROR && x->over_cap) {
		snprintf(err, errlen, "body over %zu bytes (max_body)", x->max_body);
		return PF_REASON_BAD_RESPONSE;
	}
	snprintf(err, errlen, "%s", why);
	if (rc == CURLE_COULDNT_RESOLVE_HOST)
		return PF_REASON_DNS;
	if (rc == CURLE_COULDNT_CONNECT)
		return classify_connect(x);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return pf_xfer_connected(x) ? PF_REASON_TIMEOUT
					    : PF_REASON_CONNECT_TIMEOUT;
	if (is_tls_error(rc))
		return PF_REASON_TLS;
	if (rc == CURLE_OUT_OF_MEMORY)
		return PF_REASON_INTERNAL;
	/* Empty replies, resets, malformed HTTP: the peer broke the protocol. */
	return PF_REASON_PROTOCOL;
}

void pf_xfer_note_peer(const struct pf_xfer *x, struct pf_result *res)
{
	if (!x || !x->ip[0])
		return;
	res->aclass = x->aclass;
	pf_result_var(res, "address", "%s", x->ip);
}

const char *pf_xfer_tls_cause(const char *err, bool has_ca_file)
{
	if (!err)
		return NULL;
	/* The words are OpenSSL's, as curl 7.88 passes them on; the hint
	 * rules for these causes are lib/hint.c's. */
	if (strstr(err, "local issuer") || strstr(err, "self-signed") ||
	    strstr(err, "self signed") || strstr(err, "unknown ca"))
		return has_ca_file ? "tls:untrusted_ca_file" : "tls:untrusted";
	if (strstr(err, "subject name") || strstr(err, "does not match"))
		return "tls:name";
	if (strstr(err, "expired") || strstr(err, "not yet valid"))
		return "tls:expired";
	if (strstr(err, "wrong version number") ||
	    strstr(err, "packet length too long"))
		return "tls:plain";
	return NULL;
}
