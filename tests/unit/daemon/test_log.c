/* Unit tests for structured logging (daemon/log.c): JSON lines parse
 * back, escaping, UTF-8 repair, levels, the text format and CLI parsers. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log.h"

/* Logs through fn into a memory stream; returns the text (caller frees). */
static char *capture(enum pf_log_format fmt, enum pf_severity level,
		     void (*fn)(const struct pf_log *))
{
	struct pf_log lg;
	char *buf = NULL;
	size_t len = 0;

	pf_log_init(&lg);
	lg.format = fmt;
	lg.level = level;
	lg.out = open_memstream(&buf, &len);
	if (!lg.out)
		return NULL;
	fn(&lg);
	fclose(lg.out);
	return buf;
}

static void log_state_change(const struct pf_log *lg)
{
	pf_log(lg, PF_LOG_WARNING, "chat-db", "missing_table", 12.5,
	       "check %s is now %s: %s", "chat-db", "fail",
	       "relation \"chat_threads\" does not exist\n\ttab\x01\\");
}

static bool time_ok(const char *t)
{
	/* 2026-11-29T03:55:11.123Z */
	return t && strlen(t) == 24 && t[4] == '-' && t[10] == 'T' &&
	       t[19] == '.' && t[23] == 'Z';
}

static void test_json_line(void)
{
	char *out = capture(PF_LOG_JSON, PF_LOG_INFO, log_state_change);
	cJSON *j;

	PF_EXPECT(out != NULL);
	if (!out)
		return;
	PF_EXPECT(strchr(out, '\n') == out + strlen(out) - 1);	/* one line */
	j = cJSON_Parse(out);
	PF_EXPECT(j != NULL);
	PF_EXPECT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "severity")), "WARNING");
	PF_EXPECT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")),
		      "check chat-db is now fail: relation \"chat_threads\" does not exist\n\ttab\x01\\");
	PF_EXPECT(time_ok(cJSON_GetStringValue(cJSON_GetObjectItem(j, "time"))));
	PF_EXPECT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "check")), "chat-db");
	PF_EXPECT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "reason")), "missing_table");
	PF_EXPECT(cJSON_GetObjectItem(j, "duration_ms")->valuedouble == 12.5);
	PF_EXPECT(strstr(out, "\\u0001") != NULL);
	cJSON_Delete(j);
	free(out);
}

static void log_plain(const struct pf_log *lg)
{
	pf_log(lg, PF_LOG_INFO, NULL, NULL, -1, "listening on %s", "0.0.0.0:8089");
	pf_log(lg, PF_LOG_INFO, NULL, NULL, INFINITY, "infinite duration");
}

static void test_optional_fields_absent(void)
{
	char *out = capture(PF_LOG_JSON, PF_LOG_DEBUG, log_plain);
	cJSON *j = cJSON_Parse(out);

	PF_EXPECT(j != NULL);
	PF_EXPECT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "severity")), "INFO");
	PF_EXPECT(cJSON_GetObjectItem(j, "check") == NULL);
	PF_EXPECT(cJSON_GetObjectItem(j, "reason") == NULL);
	PF_EXPECT(cJSON_GetObjectItem(j, "duration_ms") == NULL);
	cJSON_Delete(j);
	j = cJSON_Parse(strchr(out, '\n') + 1);
	PF_EXPECT(j && cJSON_GetObjectItem(j, "duration_ms") == NULL);
	cJSON_Delete(j);
	free(out);
}

static void log_levels(const struct pf_log *lg)
{
	pf_log(lg, PF_LOG_DEBUG, "a", NULL, -1, "debug");
	pf_log(lg, PF_LOG_INFO, "a", NULL, -1, "info");
	pf_log(lg, PF_LOG_WARNING, "a", NULL, -1, "warning");
	pf_log(lg, PF_LOG_ERROR, "a", NULL, -1, "error");
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static void test_levels(void)
{
	struct pf_log lg;
	char *out;

	out = capture(PF_LOG_JSON, PF_LOG_DEBUG, log_levels);
	PF_EXPECT(lines(out) == 4);
	free(out);
	out = capture(PF_LOG_JSON, PF_LOG_WARNING, log_levels);
	PF_EXPECT(lines(out) == 2);
	PF_EXPECT(out && !strstr(out, "\"info\"") && strstr(out, "\"ERROR\""));
	free(out);
	out = capture(PF_LOG_JSON, PF_LOG_ERROR, log_levels);
	PF_EXPECT(lines(out) == 1);
	free(out);
	pf_log_init(&lg);
	PF_EXPECT(!pf_log_enabled(&lg, PF_LOG_DEBUG));
	PF_EXPECT(pf_log_enabled(&lg, PF_LOG_INFO));
	PF_EXPECT(!pf_log_enabled(NULL, PF_LOG_ERROR));
}

static void test_text_format(void)
{
	char *out = capture(PF_LOG_TEXT, PF_LOG_INFO, log_state_change);

	PF_EXPECT(out != NULL);
	if (!out)
		return;
	PF_EXPECT(lines(out) == 1);
	PF_EXPECT(strstr(out, " WARNING [chat-db] check chat-db is now fail: "
			 "relation \"chat_threads\" does not exist\\n?tab?\\"
			 " reason=missing_table duration_ms=12.500\n") != NULL);
	PF_EXPECT(out[4] == '-' && out[23] == 'Z');
	free(out);
}

static void log_long_and_invalid(const struct pf_log *lg)
{
	char big[5000];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pf_log(lg, PF_LOG_ERROR, "c\xff", NULL, -1, "%s", big);
	pf_log(lg, PF_LOG_ERROR, NULL, NULL, -1, "bad \xc3\x28 utf8 \xe2\x82\xac ok");
}

static void test_long_and_invalid_utf8(void)
{
	char *out = capture(PF_LOG_JSON, PF_LOG_INFO, log_long_and_invalid);
	char *second;
	cJSON *j;

	PF_EXPECT(out && lines(out) == 2);
	if (!out)
		return;
	j = cJSON_Parse(out);
	PF_EXPECT(j && strlen(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"))) == 4999);
	PF_EXPECT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "check")), "c\xef\xbf\xbd");
	cJSON_Delete(j);
	second = strchr(out, '\n') + 1;
	j = cJSON_Parse(second);
	PF_EXPECT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")),
		      "bad \xef\xbf\xbd( utf8 \xe2\x82\xac ok");
	cJSON_Delete(j);
	free(out);
}

static void test_parsers(void)
{
	enum pf_log_format f = PF_LOG_JSON;
	enum pf_severity s = PF_LOG_INFO;

	PF_EXPECT(pf_log_parse_format("text", &f) == 0 && f == PF_LOG_TEXT);
	PF_EXPECT(pf_log_parse_format("JSON", &f) == 0 && f == PF_LOG_JSON);
	PF_EXPECT(pf_log_parse_format("yaml", &f) < 0 && f == PF_LOG_JSON);
	PF_EXPECT(pf_log_parse_format(NULL, &f) < 0);
	PF_EXPECT(pf_log_parse_level("debug", &s) == 0 && s == PF_LOG_DEBUG);
	PF_EXPECT(pf_log_parse_level("warning", &s) == 0 && s == PF_LOG_WARNING);
	PF_EXPECT(pf_log_parse_level("warn", &s) == 0 && s == PF_LOG_WARNING);
	PF_EXPECT(pf_log_parse_level("ERROR", &s) == 0 && s == PF_LOG_ERROR);
	PF_EXPECT(pf_log_parse_level("info", &s) == 0 && s == PF_LOG_INFO);
	PF_EXPECT(pf_log_parse_level("verbose", &s) < 0 && s == PF_LOG_INFO);
	PF_EXPECT(pf_log_parse_level("", &s) < 0);
	PF_EXPECT_STR(pf_severity_name(PF_LOG_WARNING), "WARNING");
}

int main(void)
{
	pf_test("json line", test_json_line);
	pf_test("optional fields absent", test_optional_fields_absent);
	pf_test("levels", test_levels);
	pf_test("text format", test_text_format);
	pf_test("long message, invalid utf-8", test_long_and_invalid_utf8);
	pf_test("cli parsers", test_parsers);
	return pf_test_summary();
}
