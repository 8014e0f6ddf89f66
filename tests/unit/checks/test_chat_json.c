/*
 * Unit tests of the chat and http kinds' pure helpers: the Chat API's
 * answers (checks/chat_json.c) and expect_status (checks/http_status.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chat.h"
#include "pf_util.h"
#include "pf_xfer.h"
#include "harness.h"
#include "http_status.h"

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

int main(void)
{
	pf_test("post_body", test_post_body);
	pf_test("parse_id", test_parse_id);
	pf_test("parse_id: a number too long for the buffer", test_parse_id_number_too_long);
	pf_test("parse_status", test_parse_status);
	pf_test("verdict", test_verdict);
	pf_test("the real service's answers", test_real_shapes);
	pf_test("status_set", test_status_set);
	return pf_test_summary();
}
