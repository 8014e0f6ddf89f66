/*
 * Unit tests of HTTP transfers (lib/xfer.c, lib/xfer_cfg.c, lib/url.c,
 * lib/curlm.c): the ca_file key's load-time validation against real files
 * in a temporary directory, the cause of a TLS failure from curl's words,
 * URLs, and the curl multi on a real loop against loopback sockets opened
 * here (completion delivery, cancel, free with work pending).
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "pf_curl.h"
#include "pf_keys.h"
#include "pf_xfer.h"

/* Writes text to dir/name; returns the malloc'd path. */
static char *write_file(const char *dir, const char *name, const char *text)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *path = malloc(len);
	FILE *f;

	if (!path)
		return NULL;
	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

/* Parses {"ca_file": value} with the request key table; returns its
 * status, the parsed path in *out (caller frees) and the message in err. */
static int parse_ca(cJSON *value, char **out, char *err, size_t errlen)
{
	cJSON *obj = cJSON_CreateObject();
	struct pf_xfer_opts o = { 0 };
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (value)
		cJSON_AddItemToObject(obj, "ca_file", value);
	rc = pf_keys_parse(&pf_xfer_keys, NULL, obj, NULL, "checks[3]", &o, err,
			   errlen);
	if (rc == 0 && o.ca_file)
		*out = strdup(o.ca_file);
	pf_keys_free(&pf_xfer_keys, &o);
	cJSON_Delete(obj);
	return rc;
}

static void expect_error(cJSON *value, const char *words)
{
	char err[512], *out;

	PF_EXPECT(parse_ca(value, &out, err, sizeof(err)) == -1);
	PF_EXPECT(strstr(err, "checks[3].ca_file") != NULL);
	PF_EXPECT(strstr(err, words) != NULL);
	free(out);
}

static void test_ca_file(void)
{
	char dir[] = "/tmp/pf-web-tls-XXXXXX";
	char err[512], *out, *good, *key, *absent;

	PF_EXPECT(mkdtemp(dir) != NULL);
	/* Only the PEM marker is sniffed: curl parses the bundle itself. */
	good = write_file(dir, "ca.pem", "# bundle\n-----BEGIN CERTIFICATE-----\n"
			  "MIIB\n-----END CERTIFICATE-----\n");
	key = write_file(dir, "key.pem", "-----BEGIN PRIVATE KEY-----\nMIG\n");
	absent = write_file(dir, "absent.pem", "");
	unlink(absent);

	PF_EXPECT(parse_ca(NULL, &out, err, sizeof(err)) == 0 && out == NULL);
	PF_EXPECT(parse_ca(cJSON_CreateString(good), &out, err, sizeof(err)) == 0);
	PF_EXPECT(out && strcmp(out, good) == 0);
	free(out);
	expect_error(cJSON_CreateString(absent), "cannot be read");
	expect_error(cJSON_CreateString(dir), "not a regular file");
	expect_error(cJSON_CreateString(key), "holds no PEM certificate");
	expect_error(cJSON_CreateString(""), "must not be empty");
	expect_error(cJSON_CreateNumber(3), "must be a string");
	if (geteuid() != 0) {	/* root reads a 0000 file anyway */
		chmod(good, 0);
		expect_error(cJSON_CreateString(good), "Permission denied");
	}
	unlink(good);
	unlink(key);
	rmdir(dir);
	free(good);
	free(key);
	free(absent);
}

static void test_tls_cause(void)
{
	const char *issuer = "SSL certificate problem: unable to get local"
			     " issuer certificate";

	PF_EXPECT_STR(pf_xfer_tls_cause(issuer, false), "tls:untrusted");
	PF_EXPECT_STR(pf_xfer_tls_cause(issuer, true), "tls:untrusted_ca_file");
	PF_EXPECT_STR(pf_xfer_tls_cause("SSL certificate problem: self-signed"
					" certificate", false), "tls:untrusted");
	PF_EXPECT_STR(pf_xfer_tls_cause("SSL: no alternative certificate subject"
					" name matches target host name 'x'", true),
		      "tls:name");
	PF_EXPECT_STR(pf_xfer_tls_cause("SSL certificate problem: certificate has"
					" expired", true), "tls:expired");
	PF_EXPECT_STR(pf_xfer_tls_cause("error:0A00010B:SSL routines::wrong"
					" version number", false), "tls:plain");
	PF_EXPECT(pf_xfer_tls_cause("something else entirely", false) == NULL);
	PF_EXPECT(pf_xfer_tls_cause(NULL, false) == NULL);
}

static void test_join_and_urls(void)
{
	char out[64], err[128];

	PF_EXPECT(pf_url_join("http://h:1//", "/chat/response/", "a b/c", out,
			      sizeof(out)) == 0);
	PF_EXPECT_STR(out, "http://h:1/chat/response/a%20b%2Fc");
	PF_EXPECT(pf_url_join("http://h", "/chat", NULL, out, sizeof(out)) == 0);
	PF_EXPECT_STR(out, "http://h/chat");
	PF_EXPECT(pf_url_join("http://h", "/chat/response/", "xxxxxxxxxxxxxxxxxxxx"
			      "xxxxxxxxxxxxxxxxxxxxxxxxxxx", out, sizeof(out)) < 0);
	PF_EXPECT(pf_url_check("https://api.example/v1", err, sizeof(err)) == 0);
	PF_EXPECT(pf_url_check("HTTP://h", err, sizeof(err)) == 0);
	PF_EXPECT(pf_url_check("file:///etc/passwd", err, sizeof(err)) < 0);
	PF_EXPECT(pf_url_check("http://", err, sizeof(err)) < 0);
	PF_EXPECT(pf_url_check("http://h/a b", err, sizeof(err)) < 0);
}

/* The two failure shapes of the real service, 429 and PHI bodies. */
/* ---- curlm on a real loop ---- */

struct got {
	int calls;
	CURLcode rc;
};

static void on_done(void *arg, CURL *easy, CURLcode rc)
{
	struct got *g = arg;

	(void)easy;
	g->calls++;
	g->rc = rc;
}

/* A listening socket on 127.0.0.1 (never accepted), or a refused port,
 * on a port below 32768 (above, the kernel hands out ephemeral ports). */
static int loopback_port(bool keep_listening, int *fd_out)
{
	static unsigned calls;
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	calls++;
	for (int tries = 0; tries < 200; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int port = 20000 + (int)(((unsigned)getpid() * 7919u + calls * 613u +
					  (unsigned)tries * 104729u) % 12000u);

		if (fd < 0)
			return -1;
		a.sin_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    (keep_listening && listen(fd, 8) < 0)) {
			close(fd);
			continue;
		}
		if (keep_listening)
			*fd_out = fd;
		else
			close(fd);
		return port;
	}
	return -1;
}

static CURL *easy_for(int port)
{
	char url[64];
	CURL *e = curl_easy_init();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	return e;
}

static void test_curlm_refused_and_cancel(void)
{
	struct event_base *base = event_base_new();
	char err[256];
	struct pf_curlm *m = pf_curlm_new(base, err, sizeof(err));
	struct got g1 = { 0 }, g2 = { 0 };
	int lfd = -1, refused = loopback_port(false, NULL);
	int silent = loopback_port(true, &lfd);
	CURL *e1 = easy_for(refused), *e2 = easy_for(silent);

	PF_EXPECT(m != NULL);
	PF_EXPECT(pf_curlm_add(m, e1, on_done, &g1) == 0);
	PF_EXPECT(pf_curlm_add(m, e2, on_done, &g2) == 0);
	PF_EXPECT(g1.calls == 0 && pf_curlm_running(m) == 2);
	for (int i = 0; i < 200 && g1.calls == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	PF_EXPECT(g1.calls == 1 && g1.rc == CURLE_COULDNT_CONNECT);
	PF_EXPECT(pf_curlm_running(m) == 1);
	pf_curlm_cancel(m, e2);
	pf_curlm_cancel(m, e2);		/* twice: ignored */
	pf_curlm_cancel(m, e1);		/* finished: ignored */
	PF_EXPECT(pf_curlm_running(m) == 0 && g2.calls == 0);
	/* Free with a transfer still running: removed, no callback. */
	PF_EXPECT(pf_curlm_add(m, e2, on_done, &g2) == 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	pf_curlm_free(m);
	PF_EXPECT(g2.calls == 0);
	curl_easy_cleanup(e1);
	curl_easy_cleanup(e2);
	close(lfd);
	event_base_free(base);
}

int main(void)
{
	pf_test("ca_file", test_ca_file);
	pf_test("tls causes from curl's words", test_tls_cause);
	pf_test("URLs: join and check", test_join_and_urls);
	pf_test("curlm: refused, cancel, free with work pending", test_curlm_refused_and_cancel);
	return pf_test_summary();
}
