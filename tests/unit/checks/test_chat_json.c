/*
 * Unit tests of the HTTP kinds' pure helpers (checks/chat_json.c, checks/http_status.c, lib/url.c, lib/text.c)
 * and of the curl multi on a real loop (curlm.c) against loopback sockets
 * opened here: completion delivery, cancel, and free with work pending.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "chat.h"
#include "pf_util.h"
#include "pf_xfer.h"
#include "harness.h"
#include "pf_curl.h"
#include "http_status.h"
#include "pf_text.h"

static void test_post_body(void)
{
	char *b = pf_chat_post_body("say \"hi\"\n", NULL, NULL);

	PF_EXPECT_STR(b, "{\"message\":\"say \\\"hi\\\"\\n\"}");
	free(b);
	b = pf_chat_post_body("m", "t-1", NULL);
	PF_EXPECT_STR(b, "{\"message\":\"m\",\"thread_id\":\"t-1\"}");
	free(b);
}

static void test_parse_id(void)
{
	char id[64], err[256];

	PF_EXPECT(pf_chat_parse_id("{\"correlation_id\":\"abc\"}", "correlation_id",
				   id, sizeof(id), err, sizeof(err)) == 0);
	PF_EXPECT_STR(id, "abc");
	PF_EXPECT(pf_chat_parse_id("{\"job\":42}", "job", id, sizeof(id),
				   err, sizeof(err)) == 0);
	PF_EXPECT_STR(id, "42");
	PF_EXPECT(pf_chat_parse_id("<html>", "correlation_id", id, sizeof(id),
				   err, sizeof(err)) < 0);
	PF_EXPECT(strstr(err, "not a JSON object") != NULL);
	PF_EXPECT(pf_chat_parse_id("{\"thread_id\":\"x\"}", "correlation_id", id,
				   sizeof(id), err, sizeof(err)) < 0);
	PF_EXPECT(strstr(err, "\"correlation_id\"") != NULL);
	PF_EXPECT(pf_chat_parse_id("{\"correlation_id\":\"\"}", "correlation_id",
				   id, sizeof(id), err, sizeof(err)) < 0);
	PF_EXPECT(pf_chat_parse_id("{\"correlation_id\":1.5}", "correlation_id",
				   id, sizeof(id), err, sizeof(err)) < 0);
	PF_EXPECT(pf_chat_parse_id("{\"correlation_id\":1e300}", "correlation_id",
				   id, sizeof(id), err, sizeof(err)) < 0);
	PF_EXPECT(pf_chat_parse_id(NULL, "correlation_id", id, sizeof(id),
				   err, sizeof(err)) < 0);
	PF_EXPECT(pf_chat_parse_id("{\"correlation_id\":\"0123456789\"}",
				   "correlation_id", id, 8, err, sizeof(err)) < 0);
}

/* Found by fuzz_chat_json: a numeric id longer than the buffer was cut
 * (to "" with a 1-byte buffer) and reported as a usable id. */
static void test_parse_id_number_too_long(void)
{
	char id[4], err[256];

	PF_EXPECT(pf_chat_parse_id("{\"id\": 12345}", "id", id, sizeof(id), err,
				   sizeof(err)) < 0);
	PF_EXPECT(pf_chat_parse_id("{\"id\": 9}", "id", id, 1, err,
				   sizeof(err)) < 0);
	PF_EXPECT(pf_chat_parse_id("{\"id\": 123}", "id", id, sizeof(id), err,
				   sizeof(err)) == 0 && strcmp(id, "123") == 0);
}

static void test_parse_status(void)
{
	struct pf_chat_status st;
	char err[256];

	PF_EXPECT(pf_chat_parse_status("{\"status\":\"failed\",\"error\":\"E1\","
				       "\"message\":\"boom\"}", &st, err,
				       sizeof(err)) == 0);
	PF_EXPECT_STR(st.status, "failed");
	PF_EXPECT_STR(st.error, "E1");
	PF_EXPECT_STR(st.message, "boom");
	PF_EXPECT(pf_chat_parse_status("{\"status\":\"error\",\"error\":{\"code\":"
				       "\"X\",\"message\":\"m\"}}", &st, err,
				       sizeof(err)) == 0);
	PF_EXPECT_STR(st.error, "X");
	PF_EXPECT_STR(st.message, "m");
	PF_EXPECT(pf_chat_parse_status("{\"state\":\"done\"}", &st, err,
				       sizeof(err)) < 0);
	PF_EXPECT(strstr(err, "no \"status\"") != NULL);
	PF_EXPECT(pf_chat_parse_status("[1,2]", &st, err, sizeof(err)) < 0);
	PF_EXPECT(pf_chat_parse_status("", &st, err, sizeof(err)) < 0);
}

static void test_verdict(void)
{
	char *done[] = { "completed", NULL };
	char *failed[] = { "failed", "error", NULL };

	PF_EXPECT(pf_chat_verdict("completed", done, failed) == PF_CHAT_DONE);
	PF_EXPECT(pf_chat_verdict("error", done, failed) == PF_CHAT_FAILED);
	PF_EXPECT(pf_chat_verdict("pending", done, failed) == PF_CHAT_PENDING);
	PF_EXPECT(pf_chat_verdict("Completed", done, failed) == PF_CHAT_PENDING);
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
static void test_real_shapes(void)
{
	struct pf_chat_status st;
	char err[128];

	/* worker-level: the code in "error", no envelope */
	PF_EXPECT(pf_chat_parse_status("{\"status\":\"failed\",\"message\":\"The"
		" request took too long\",\"error\":\"turn_deadline_exceeded\","
		"\"was_truncated\":false,\"deadline_s\":300}", &st, err, sizeof(err)) == 0);
	PF_EXPECT_STR(st.error, "turn_deadline_exceeded");
	/* pipeline-level: no "error", the code in error_envelope */
	PF_EXPECT(pf_chat_parse_status("{\"status\":\"failed\",\"error_envelope\":"
		"{\"schema_name\":\"error_envelope\",\"error_code\":\"provider_error\","
		"\"user_facing_message\":\"The model provider failed\"},"
		"\"llm_error\":\"x\"}", &st, err, sizeof(err)) == 0);
	PF_EXPECT_STR(st.error, "provider_error");
	PF_EXPECT_STR(st.message, "The model provider failed");
	PF_EXPECT(pf_chat_retry_after("{\"detail\":\"Rate limit exceeded\","
				      "\"retry_after_seconds\":7}") == 7);
	PF_EXPECT(pf_chat_retry_after("{}") == -1 && pf_chat_retry_after("x") == -1);
	PF_EXPECT(pf_chat_phi_blocked("{\"detail\":{\"phi_blocked\":true,"
				      "\"phi_evidence\":[]}}"));
	PF_EXPECT(!pf_chat_phi_blocked("{\"detail\":[{\"type\":\"missing\"}]}"));
	cJSON *extra = cJSON_Parse("{\"chat_mode\":\"quick\",\"cache_assist\":false}");
	char *b = pf_chat_post_body("m", "00000000-0000-4000-8000-000000000001", extra);
	PF_EXPECT_STR(b, "{\"chat_mode\":\"quick\",\"cache_assist\":false,"
		      "\"message\":\"m\",\"thread_id\":\"00000000-0000-4000-8000-000000000001\"}");
	free(b);
	cJSON_Delete(extra);
}

static void test_excerpt(void)
{
	char out[PF_TEXT_EXCERPT + 8], big[1000];
	const char *body = "  line1\r\n\tline2 \x01\xc3\xa9 tok-123 end  ";

	pf_text_excerpt(body, strlen(body), "tok-123", out, sizeof(out));
	PF_EXPECT_STR(out, "line1 line2 \xc3\xa9 *** end");
	/* invalid UTF-8 (a lone continuation byte, an overlong '/', a
	 * surrogate) becomes U+FFFD: the excerpt is valid JSON text */
	pf_text_excerpt("a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d", 11, NULL, out, sizeof(out));
	PF_EXPECT_STR(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c"
		      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d");
	memset(big, 'a', sizeof(big));
	pf_text_excerpt(big, sizeof(big), NULL, out, sizeof(out));
	PF_EXPECT(strlen(out) == PF_TEXT_EXCERPT + 3);
	PF_EXPECT(strcmp(out + PF_TEXT_EXCERPT, "...") == 0);
	pf_text_excerpt("ab", 2, "b", out, sizeof(out));
	PF_EXPECT_STR(out, "a*");
	pf_text_excerpt("x***y", 5, "***", out, sizeof(out));
	PF_EXPECT_STR(out, "x***y");
	pf_text_excerpt(NULL, 0, NULL, out, sizeof(out));
	PF_EXPECT_STR(out, "");
}

static void test_header_secret(void)
{
	PF_EXPECT(pf_mask_header_is_secret("Authorization"));
	PF_EXPECT(pf_mask_header_is_secret("cookie"));
	PF_EXPECT(pf_mask_header_is_secret("X-Api-Key"));
	PF_EXPECT(pf_mask_header_is_secret("X-Access-Token"));
	PF_EXPECT(!pf_mask_header_is_secret("Accept"));
	PF_EXPECT(!pf_mask_header_is_secret("X-Request-Id"));
}

static int parse_status(const char *json, struct pf_http_status_set *s)
{
	char err[256];
	cJSON *v = cJSON_Parse(json);
	int rc = pf_http_status_parse(v, s, err, sizeof(err));

	cJSON_Delete(v);
	return rc;
}

static void test_status_set(void)
{
	struct pf_http_status_set s;
	char buf[64];

	PF_EXPECT(parse_status("204", &s) == 0 && pf_http_status_match(&s, 204) &&
		  !pf_http_status_match(&s, 200));
	PF_EXPECT(parse_status("\"2xx\"", &s) == 0 && pf_http_status_match(&s, 299) &&
		  !pf_http_status_match(&s, 300));
	PF_EXPECT(parse_status("\"301-302\"", &s) == 0 && pf_http_status_match(&s, 302));
	PF_EXPECT(parse_status("[200, \"3xx\", \"418\"]", &s) == 0 && s.n == 3);
	PF_EXPECT_STR(pf_http_status_format(&s, buf, sizeof(buf)), "200, 300-399, 418");
	PF_EXPECT(parse_status("\"6xx\"", &s) < 0);
	PF_EXPECT(parse_status("99", &s) < 0);
	PF_EXPECT(parse_status("200.5", &s) < 0);
	PF_EXPECT(parse_status("1e300", &s) < 0);
	PF_EXPECT(parse_status("-5", &s) < 0);
	PF_EXPECT(parse_status("\"200-\"", &s) < 0);
	PF_EXPECT(parse_status("\"300-200\"", &s) < 0);
	PF_EXPECT(parse_status("\"200x\"", &s) < 0);
	PF_EXPECT(parse_status("[]", &s) < 0);
	PF_EXPECT(parse_status("true", &s) < 0);
	PF_EXPECT(parse_status("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", &s) < 0);
}

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

/* A listening socket on 127.0.0.1 (never accepted), or a refused port. */
static int loopback_port(bool keep_listening, int *fd_out)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0 ||
	    (keep_listening && listen(fd, 8) < 0))
		return -1;
	if (keep_listening)
		*fd_out = fd;
	else
		close(fd);
	return ntohs(a.sin_port);
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
	pf_test("post_body", test_post_body);
	pf_test("parse_id", test_parse_id);
	pf_test("parse_id: a number too long for the buffer", test_parse_id_number_too_long);
	pf_test("parse_status", test_parse_status);
	pf_test("verdict", test_verdict);
	pf_test("join_and_urls", test_join_and_urls);
	pf_test("excerpt", test_excerpt);
	pf_test("the real service's answers", test_real_shapes);
	pf_test("header_secret", test_header_secret);
	pf_test("status_set", test_status_set);
	pf_test("curlm_refused_and_cancel", test_curlm_refused_and_cancel);
	return pf_test_summary();
}
