/* Unit tests for /status, /status/{check}, /readyz and the report
 * (daemon/render.c, render_set.c, report.c) on hand-built views. */
#include <stdlib.h>

#include "harness.h"
#include "pf_hint.h"
#include "view_fixture.h"
#include "verdict.h"

static const char *const names3[] = { "chat-db", "redis", "chat-roundtrip" };
static const char *const worker_members[] = { "chat-db", "redis" };

static cJSON *status_json(const struct fx *f, int group)
{
	char *text = pf_render_status(&f->v, group);
	cJSON *j = cJSON_Parse(text);

	PF_EXPECT(text != NULL && j != NULL);
	free(text);
	return j;
}

static cJSON *check_of(cJSON *status, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(status, "checks"), name);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool is_null(const cJSON *o, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void test_status_shape_unknown(void)
{
	struct fx f;
	cJSON *j, *c;

	fx_init(&f, names3, 3);
	j = status_json(&f, -1);
	PF_EXPECT_STR(str_of(j, "status"), "fail");	/* unknown counts */
	PF_EXPECT_STR(str_of(j, "service"), "preflightd");
	PF_EXPECT_STR(str_of(j, "version"), PF_VERSION);
	PF_EXPECT_STR(str_of(j, "instance"), "test-instance");
	PF_EXPECT_STR(str_of(j, "started_at"), "2023-11-14T22:13:20.000Z");
	PF_EXPECT_STR(str_of(j, "generated_at"), "2023-11-14T22:15:00.000Z");
	PF_EXPECT(cJSON_IsObject(cJSON_GetObjectItem(j, "groups")));
	c = check_of(j, "redis");
	PF_EXPECT_STR(str_of(c, "kind"), "fake");
	PF_EXPECT_STR(str_of(c, "status"), "unknown");
	PF_EXPECT(cJSON_IsTrue(cJSON_GetObjectItem(c, "critical")));
	PF_EXPECT_STR(str_of(c, "target"), "fake://app:***@127.0.0.1:5432/db");
	PF_EXPECT(is_null(c, "reason") && is_null(c, "error") &&
		  is_null(c, "hint") && is_null(c, "caused_by"));
	PF_EXPECT(is_null(c, "last_run") && is_null(c, "last_success"));
	PF_EXPECT(is_null(c, "duration_ms"));
	PF_EXPECT(cJSON_GetObjectItem(c, "consecutive_failures")->valueint == 0);
	PF_EXPECT(cJSON_IsObject(cJSON_GetObjectItem(c, "details")));
	cJSON_Delete(j);
	fx_free(&f);
}

static void test_status_passing_nulls(void)
{
	struct fx f;
	cJSON *j, *c;

	fx_init(&f, names3, 3);
	for (size_t i = 0; i < 3; i++)
		fx_result(&f, i, PF_REASON_NONE, NULL, NAN, 99000);
	j = status_json(&f, -1);
	PF_EXPECT_STR(str_of(j, "status"), "pass");
	c = check_of(j, "chat-db");
	PF_EXPECT_STR(str_of(c, "status"), "pass");
	PF_EXPECT(is_null(c, "reason") && is_null(c, "error") &&
		  is_null(c, "hint") && is_null(c, "caused_by"));
	PF_EXPECT_STR(str_of(c, "last_run"), "2023-11-14T22:14:59.000Z");
	PF_EXPECT_STR(str_of(c, "last_success"), "2023-11-14T22:14:59.000Z");
	PF_EXPECT(cJSON_GetObjectItem(c, "duration_ms")->valuedouble == 12.5);
	PF_EXPECT(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "details"),
				      "latency_ms")->valuedouble == 1.5);
	cJSON_Delete(j);
	fx_free(&f);
}

static void test_status_failure_and_secrets(void)
{
	struct fx f;
	cJSON *j, *c;
	char *text;

	fx_init(&f, names3, 3);
	fx_result(&f, 0, PF_REASON_NONE, NULL, NAN, 1000);
	fx_result(&f, 0, PF_REASON_MISSING_TABLE,
		  "relation \"chat_threads\" does not exist\n\xff", NAN, 2000);
	j = status_json(&f, -1);
	c = check_of(j, "chat-db");
	PF_EXPECT_STR(str_of(c, "status"), "fail");
	PF_EXPECT_STR(str_of(c, "reason"), "missing_table");
	PF_EXPECT_STR(str_of(c, "error"),
		      "relation \"chat_threads\" does not exist\n\xef\xbf\xbd");
	PF_EXPECT_STR(str_of(c, "hint"), pf_hint_builtin(PF_REASON_MISSING_TABLE));
	PF_EXPECT_STR(str_of(c, "last_success"), "2023-11-14T22:13:21.000Z");
	PF_EXPECT(cJSON_GetObjectItem(c, "consecutive_failures")->valueint == 1);
	cJSON_Delete(j);
	text = pf_render_status(&f.v, -1);
	PF_EXPECT(text && !strstr(text, "hunter2"));
	free(text);
	fx_free(&f);
}

static void test_groups_and_filter(void)
{
	struct fx f;
	cJSON *j, *g;

	fx_init(&f, names3, 3);
	fx_group(&f, "chat-worker", worker_members, 2);
	fx_group(&f, "e2e", names3 + 2, 1);
	fx_result(&f, 0, PF_REASON_NONE, NULL, NAN, 99000);
	fx_result(&f, 1, PF_REASON_NONE, NULL, NAN, 99000);
	fx_result(&f, 2, PF_REASON_JOB_TIMEOUT, "no reply", NAN, 99000);
	j = status_json(&f, -1);
	PF_EXPECT_STR(str_of(j, "status"), "fail");
	g = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "groups"), "chat-worker");
	PF_EXPECT_STR(str_of(g, "status"), "pass");
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(g, "checks")) == 2);
	PF_EXPECT_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(g, "checks"), 1)->valuestring,
		      "redis");
	g = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "groups"), "e2e");
	PF_EXPECT_STR(str_of(g, "status"), "fail");
	cJSON_Delete(j);
	/* filtered: only the group's checks and the group itself */
	j = status_json(&f, 0);
	PF_EXPECT_STR(str_of(j, "status"), "pass");
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "checks")) == 2);
	PF_EXPECT(check_of(j, "chat-roundtrip") == NULL);
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "groups")) == 1);
	cJSON_Delete(j);
	PF_EXPECT(pf_render_overall(&f.v, 1) == PF_STATUS_FAIL);
	PF_EXPECT(pf_render_overall(&f.v, 0) == PF_STATUS_PASS);
	fx_free(&f);
}

static void test_caused_by(void)
{
	struct fx f;
	cJSON *c;
	char *text;

	fx_init(&f, names3, 3);
	fx_depends(&f, 2, "chat-db");
	fx_depends(&f, 2, "redis");
	fx_result(&f, 0, PF_REASON_NONE, NULL, NAN, 99000);
	fx_result(&f, 1, PF_REASON_CONNECT_TIMEOUT, "timed out", NAN, 99000);
	fx_result(&f, 2, PF_REASON_JOB_TIMEOUT, "no reply", NAN, 99000);
	c = pf_render_check_json(&f.v, 2);
	PF_EXPECT_STR(str_of(c, "caused_by"), "redis");
	cJSON_Delete(c);
	/* the first failing dependency wins */
	fx_result(&f, 0, PF_REASON_AUTH, "password authentication failed", NAN, 99500);
	text = pf_render_check(&f.v, 2);
	c = cJSON_Parse(text);
	PF_EXPECT_STR(str_of(c, "caused_by"), "chat-db");
	cJSON_Delete(c);
	free(text);
	/* dependency failing but this check passing: no cause */
	fx_result(&f, 2, PF_REASON_NONE, NULL, NAN, 99600);
	c = pf_render_check_json(&f.v, 2);
	PF_EXPECT(is_null(c, "caused_by"));
	cJSON_Delete(c);
	/* a failing check whose dependencies pass has no cause */
	fx_result(&f, 1, PF_REASON_NONE, NULL, NAN, 99700);
	c = pf_render_check_json(&f.v, 1);
	PF_EXPECT(is_null(c, "caused_by"));
	cJSON_Delete(c);
	PF_EXPECT(pf_render_check_json(&f.v, 3) == NULL);
	fx_free(&f);
}

/* caused_by follows failing dependencies down to the root. */
static void test_caused_by_chain(void)
{
	struct fx f;
	cJSON *c;

	fx_init(&f, names3, 3);
	fx_depends(&f, 2, "redis");	/* chat-roundtrip -> redis -> chat-db */
	fx_depends(&f, 1, "chat-db");
	fx_result(&f, 0, PF_REASON_CONNECT_REFUSED, "refused", NAN, 99000);
	fx_result(&f, 1, PF_REASON_TIMEOUT, "no reply", NAN, 99000);
	fx_result(&f, 2, PF_REASON_JOB_TIMEOUT, "no reply", NAN, 99000);
	c = pf_render_check_json(&f.v, 2);
	PF_EXPECT_STR(str_of(c, "caused_by"), "chat-db");
	cJSON_Delete(c);
	c = pf_render_check_json(&f.v, 1);
	PF_EXPECT_STR(str_of(c, "caused_by"), "chat-db");
	cJSON_Delete(c);
	/* the root recovers: the intermediate failing check is the cause */
	fx_result(&f, 0, PF_REASON_NONE, NULL, NAN, 99100);
	c = pf_render_check_json(&f.v, 2);
	PF_EXPECT_STR(str_of(c, "caused_by"), "redis");
	cJSON_Delete(c);
	fx_free(&f);
}

static cJSON *readyz(const struct fx *f, int group, bool *ready)
{
	char *text = pf_render_readyz(&f->v, group, ready);
	cJSON *j = cJSON_Parse(text);

	PF_EXPECT(j != NULL);
	PF_EXPECT(cJSON_IsTrue(cJSON_GetObjectItem(j, "ready")) == *ready);
	PF_EXPECT_STR(str_of(j, "status"), *ready ? "pass" : "fail");
	free(text);
	return j;
}

static void test_readyz(void)
{
	struct fx f;
	bool ready = true;
	cJSON *j, *failing;

	fx_init(&f, names3, 3);
	fx_group(&f, "chat-worker", worker_members, 2);
	f.ccfg[2].critical = false;
	j = readyz(&f, -1, &ready);	/* nothing ran: unknown is failing */
	PF_EXPECT(!ready);
	failing = cJSON_GetObjectItem(j, "failing");
	PF_EXPECT(cJSON_GetArraySize(failing) == 2);
	PF_EXPECT_STR(cJSON_GetArrayItem(failing, 0)->valuestring, "chat-db");
	cJSON_Delete(j);

	fx_result(&f, 0, PF_REASON_NONE, NULL, NAN, 90000);
	fx_result(&f, 1, PF_REASON_NONE, NULL, NAN, 90000);
	fx_result(&f, 2, PF_REASON_TIMEOUT, "slow", NAN, 90000);	/* warn */
	j = readyz(&f, -1, &ready);
	PF_EXPECT(ready);
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "failing")) == 0);
	cJSON_Delete(j);

	/* stale: older than 2 x 10s + 5s */
	f.v.now_mono_ms = 90000 + 25000;
	j = readyz(&f, 0, &ready);
	PF_EXPECT(!ready);
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "failing")) == 2);
	cJSON_Delete(j);
	f.v.now_mono_ms = 100000;

	/* group filter: a failure outside the group does not matter */
	f.ccfg[2].critical = true;
	fx_result(&f, 2, PF_REASON_TIMEOUT, "slow", NAN, 99000);
	j = readyz(&f, 0, &ready);
	PF_EXPECT(ready);
	cJSON_Delete(j);
	j = readyz(&f, -1, &ready);
	PF_EXPECT(!ready);
	PF_EXPECT_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "failing"), 0)->valuestring,
		      "chat-roundtrip");
	cJSON_Delete(j);

	/* stopping: never ready */
	f.v.stopping = true;
	j = readyz(&f, 0, &ready);
	PF_EXPECT(!ready);
	cJSON_Delete(j);
	fx_free(&f);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void test_report_text(void)
{
	struct fx f;
	char *text;

	fx_init(&f, names3, 3);
	f.ccfg[2].ops = &fx_plain_ops;
	f.ccfg[1].critical = false;
	fx_depends(&f, 1, "chat-db");
	fx_result(&f, 0, PF_REASON_MISSING_TABLE,
		  "relation \"chat_threads\" does not exist", NAN, 99000);
	fx_result(&f, 1, PF_REASON_QUEUE_BACKLOG, "LLEN 5000 > 1000", 5000, 99000);
	text = pf_render_report_text(&f.v, -1);
	PF_EXPECT(text != NULL);
	if (!text)
		return;
	PF_EXPECT(strstr(text, "\xe2\x9c\x97 chat-db         fake://app:***@127.0.0.1:5432/db\n") != NULL);
	PF_EXPECT(strstr(text, "    missing_table: relation \"chat_threads\" does not exist\n") != NULL);
	PF_EXPECT(strstr(text, "    hint: run the migrations") != NULL);
	PF_EXPECT(strstr(text, "! redis           fake://") != NULL);
	PF_EXPECT(strstr(text, "(non-critical)") != NULL);
	PF_EXPECT(strstr(text, "    caused by: chat-db\n") != NULL);
	PF_EXPECT(count_of(text, "caused by") == 1);
	PF_EXPECT(strstr(text, "? chat-roundtrip\n    no result yet\n") != NULL);
	PF_EXPECT(strstr(text, "3 checks: 0 passed, 1 failed, 1 warning, 1 unknown: NOT READY") != NULL);
	PF_EXPECT(!strstr(text, "hunter2"));
	free(text);

	fx_result(&f, 0, PF_REASON_NONE, NULL, NAN, 99500);
	fx_result(&f, 2, PF_REASON_NONE, NULL, NAN, 99500);
	text = pf_render_report_text(&f.v, -1);
	PF_EXPECT(text && strstr(text, "\xe2\x9c\x93 chat-db         fake://"));
	PF_EXPECT(text && strstr(text, "\xe2\x9c\x93 chat-roundtrip\n"));
	PF_EXPECT(text && strstr(text, ": READY\n"));
	free(text);
	fx_free(&f);
}

static void test_report_json_and_null_target(void)
{
	struct fx f;
	char *text;
	cJSON *j;

	fx_init(&f, names3, 1);
	f.ccfg[0].ops = &fx_plain_ops;
	text = pf_render_report_json(&f.v, -1);
	j = cJSON_Parse(text);
	PF_EXPECT(j && is_null(check_of(j, "chat-db"), "target"));
	PF_EXPECT_STR(str_of(j, "service"), "preflightd");
	cJSON_Delete(j);
	free(text);
	/* an empty config is trivially ready */
	f.v.n_checks = f.cfg.n_checks = 0;
	text = pf_render_status(&f.v, -1);
	PF_EXPECT(text && strstr(text, "\"status\":\"pass\""));
	free(text);
	fx_free(&f);
}

int main(void)
{
	pf_test("status shape while unknown", test_status_shape_unknown);
	pf_test("status nulls while passing", test_status_passing_nulls);
	pf_test("status failure, no secrets", test_status_failure_and_secrets);
	pf_test("groups and group filter", test_groups_and_filter);
	pf_test("caused_by", test_caused_by);
	pf_test("caused_by_chain", test_caused_by_chain);
	pf_test("readyz", test_readyz);
	pf_test("report text", test_report_text);
	pf_test("report json, null target", test_report_json_and_null_target);
	return pf_test_summary();
}
