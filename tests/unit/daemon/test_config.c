/*
 * Unit tests of the configuration loader (daemon/config*.c, interp.c):
 * every error it reports, comments, ${...} expansion, defaults and
 * fingerprints.  Common fields are tested with test-only kinds passed
 * through pf_config_load_string_ops, so no real probe code is involved.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "harness.h"
#include "interp.h"
#include "pf_keys.h"

/* ---- test-only kinds ------------------------------------------------ */

struct addr_cfg {
	char *address;
	char *secret;
};

/* A kind's describe hook cannot override the common fields. */
static void addr_describe(const void *cfg, cJSON *out)
{
	(void)cfg;
	cJSON_AddStringToObject(out, "name", "must not override");
}

static const struct pf_key addr_key_list[] = {
	{ .name = "address", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct addr_cfg, address) },
	{ .name = "secret", .type = PF_KEY_STRING, .secret = true,
	  .offset = offsetof(struct addr_cfg, secret) },
	{ 0 }
};

static const struct pf_keys addr_keys = {
	.name = "addr", .keys = addr_key_list, .size = sizeof(struct addr_cfg),
	.describe = addr_describe,
};

static const struct check_ops t_tcp = { .kind = "tcp", .config = &addr_keys };

/* A kind with its own defaults whose timeout may exceed the interval. */
static const struct check_ops t_slow = {
	.kind = "slow", .config = &addr_keys,
	.default_interval_ms = 60000, .default_timeout_ms = 120000,
	.timeout_may_exceed_interval = true,
};

static const struct check_ops *const t_kinds[] = { &t_tcp, &t_slow, NULL };

/* ---- helpers -------------------------------------------------------- */

static const char *addr_of(const struct pf_config *cfg, size_t i)
{
	return ((const struct addr_cfg *)cfg->checks[i].kind_cfg)->address;
}

static struct pf_config *load_ok(const char *text)
{
	struct pf_config *cfg = NULL;
	char err[1024] = "";

	if (pf_config_load_string_ops(text, "t.json", t_kinds, &cfg, err,
				      sizeof err) < 0) {
		fprintf(stderr, "    unexpected error: %s\n", err);
		PF_EXPECT(!"load failed");
		return NULL;
	}
	return cfg;
}

/* Loading fails with exactly `want`. */
static void expect_err(const char *text, const char *want)
{
	struct pf_config *cfg = NULL;
	char err[1024] = "";

	PF_EXPECT(pf_config_load_string_ops(text, "t.json", t_kinds, &cfg, err,
					    sizeof err) == -1);
	PF_EXPECT(cfg == NULL);
	PF_EXPECT_STR(err, want);
}

/* Loading fails with a message starting with `prefix`. */
static void expect_err_prefix(const char *text, const char *prefix)
{
	struct pf_config *cfg = NULL;
	char err[1024] = "";

	PF_EXPECT(pf_config_load_string_ops(text, "t.json", t_kinds, &cfg, err,
					    sizeof err) == -1);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		PF_EXPECT_STR(err, prefix);
}

/* Writes text to a fresh temporary file; returns its path (static buffer
 * per call site is not needed: callers copy into their own buffer). */
static void temp_file(char *path, size_t len, const char *text)
{
	snprintf(path, len, "/tmp/pf_test_config_XXXXXX");
	int fd = mkstemp(path);
	PF_EXPECT(fd >= 0);
	if (fd < 0)
		return;
	PF_EXPECT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* ---- syntax and comments ------------------------------------------- */

static void test_syntax_positions(void)
{
	expect_err("{\n  \"checks\": [\n    {\"name\": \"a\" \"kind\": \"tcp\"}\n  ]\n}",
		   "t.json:3:18: missing ',' before this value");
	expect_err("{\"checks\": [],}", "t.json:1:15: trailing comma before this bracket");
	expect_err("{\"checks\": [\n", "t.json:2:1: unexpected end of input (missing '}' or ']'?)");
	expect_err("", "t.json:1:1: unexpected end of input (missing '}' or ']'?)");
	expect_err("{'listen': 1}", "t.json:1:2: strings must use double quotes");
	expect_err("{\"listen\": \"a:1\"} x", "t.json:1:19: syntax error at 'x'");
	expect_err("{\"a\": tru}", "t.json:1:7: syntax error at 't'");
	expect_err("{\"a\":tru}", "t.json:1:6: syntax error at 't'");
	expect_err("{x}", "t.json:1:2: syntax error at 'x'");
	expect_err("[1, ]", "t.json:1:5: trailing comma before this bracket");
	expect_err("{\"a\": \"b", "t.json:1:7: unterminated string (missing '\"' before the end of the line)");
	expect_err("{\"a\": \"b\\\"}\n}", "t.json:1:7: unterminated string (missing '\"' before the end of the line)");
	/* columns count characters, not bytes */
	expect_err("{\"listen\": \"\xc3\xa9:1\" ]", "t.json:1:18: syntax error at ']'");
}

static void test_comments(void)
{
	struct pf_config *cfg = load_ok(
		"// leading comment with \"quote\n"
		"{ /* block\n spanning */ \"checks\": [ // trailing\n"
		"  {\"name\": \"a\", \"kind\": \"tcp\",\n"
		"   \"address\": \"http://h//x /* not a comment */ \\\" // still string\"}\n"
		"] }\n");
	if (!cfg)
		return;
	PF_EXPECT(cfg->n_checks == 1);
	PF_EXPECT_STR(addr_of(cfg, 0),
		      "http://h//x /* not a comment */ \" // still string");
	pf_config_free(cfg);
	/* a comment before an error does not move its position */
	expect_err("/* one\n two */ {\n // x\n  \"listen\": 1,,\n}",
		   "t.json:4:15: syntax error at ','");
	expect_err("{\"checks\": []} /* never closed\n",
		   "t.json:1:16: unterminated /* comment");
}

static void test_limits(void)
{
	char deep[200] = "{\"checks\": ";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	expect_err_prefix(deep, "t.json:1:43: nesting is too deep");

	struct pf_config *cfg = NULL;
	char err[256];
	PF_EXPECT(pf_config_load_file("/nonexistent/pf.json", &cfg, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "/nonexistent/pf.json: cannot open config file: No such file or directory");
	PF_EXPECT(pf_config_load_file("/tmp", &cfg, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "/tmp: config file is a directory, not a regular file");
	char nul[] = "{\"listen\": \"a:1\"}";
	(void)nul;
}

/* ---- keys, names and kinds ----------------------------------------- */

static void test_unknown_keys(void)
{
	expect_err("{\"tiemout\": 1}", "t.json: tiemout: unknown key");
	expect_err("{\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\"},"
		   "{\"name\": \"b\", \"kind\": \"tcp\", \"address\": \"x\", \"tiemout\": \"1s\"}]}",
		   "t.json: checks[1].tiemout: unknown key (did you mean \"timeout\"?)");
	expect_err("{\"defaults\": {\"address\": \"x\"}}", "t.json: defaults.address: unknown key");
	expect_err("{\"defaults\": {\"name\": \"x\"}}", "t.json: defaults.name: unknown key");
	expect_err("{\"listen\": \"a:1\", \"listen\": \"b:2\"}", "t.json: listen: duplicate key");
	expect_err("{\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\", \"address\": \"y\"}]}",
		   "t.json: checks[0].address: duplicate key");
	expect_err("[1]", "t.json: the configuration must be a JSON object");
	expect_err("{\"checks\": {}}", "t.json: checks: must be an array of objects");
	expect_err("{\"checks\": [1]}", "t.json: checks[0]: must be an object");
	expect_err("{\"defaults\": []}", "t.json: defaults: must be an object");
}

static void test_names_and_kinds(void)
{
	expect_err("{\"checks\": [{\"kind\": \"tcp\", \"address\": \"x\"}]}",
		   "t.json: checks[0].name: is required");
	expect_err("{\"checks\": [{\"name\": \"a\", \"address\": \"x\"}]}",
		   "t.json: checks[0].kind: is required");
	expect_err("{\"checks\": [{\"name\": \"Chat DB\", \"kind\": \"tcp\", \"address\": \"x\"}]}",
		   "t.json: checks[0].name: \"Chat DB\" must be 1-128 characters of a-z, 0-9, '_', '.', '-'");
	expect_err("{\"checks\": [{\"name\": \"\", \"kind\": \"tcp\", \"address\": \"x\"}]}",
		   "t.json: checks[0].name: \"\" must be 1-128 characters of a-z, 0-9, '_', '.', '-'");
	expect_err("{\"checks\": [{\"name\": \"a\", \"kind\": \"mysql\", \"address\": \"x\"}]}",
		   "t.json: checks[0].kind: unknown kind \"mysql\" (known: tcp, slow)");
	expect_err("{\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\"},"
		   "{\"name\": \"b\", \"kind\": \"tcp\", \"address\": \"x\"},"
		   "{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\"}]}",
		   "t.json: checks[2].name: \"a\" is already used by checks[0]");
	/* the kind's own parse error, prefixed with the source */
	expect_err("{\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\"}]}",
		   "t.json: checks[0].address: is required");

	/* the real registry knows the SPEC kinds */
	struct pf_config *cfg = NULL;
	char err[512];
	PF_EXPECT(pf_config_load_string("{\"checks\": [{\"name\": \"a\", \"kind\": \"nope\"}]}",
					 "r.json", &cfg, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "r.json: checks[0].kind: unknown kind \"nope\" (known: tcp, postgres, redis, chat, http)");
}

/* ---- common fields -------------------------------------------------- */

/* One tcp check "a" with extra keys; CHECK_BODY lacks the opening brace so
 * a test can put "defaults" in front. */
#define CHECK_BODY(extra) \
	"\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\"" extra "}]}"
#define CHECK(extra) "{" CHECK_BODY(extra)

static void test_durations_and_thresholds(void)
{
	expect_err(CHECK(", \"timeout\": \"5x\""),
		   "t.json: checks[0].timeout: \"5x\" is not a duration (e.g. \"250ms\", \"5s\", \"2m\")");
	expect_err_prefix(CHECK(", \"interval\": -1"), "t.json: checks[0].interval: -1 is not a duration");
	/* strtod alone would read hex, exponents and infinities */
	expect_err_prefix(CHECK(", \"timeout\": \"0x10s\""),
			  "t.json: checks[0].timeout: \"0x10s\" is not a duration");
	expect_err_prefix(CHECK(", \"interval\": \"1e3s\""),
			  "t.json: checks[0].interval: \"1e3s\" is not a duration");
	expect_err_prefix(CHECK(", \"timeout\": \"infs\""),
			  "t.json: checks[0].timeout: \"infs\" is not a duration");
	expect_err_prefix(CHECK(", \"interval\": true"), "t.json: checks[0].interval: must be a duration");
	expect_err(CHECK(", \"interval\": \"0s\""), "t.json: checks[0].interval: must be longer than 0 (or \"off\" for an on-demand check)");
	expect_err(CHECK(", \"interval\": \"5s\""),
		   "t.json: checks[0].timeout: 5s must be shorter than the interval (5s)");
	expect_err(CHECK(", \"interval\": \"2s\", \"timeout\": 3"),
		   "t.json: checks[0].timeout: 3s must be shorter than the interval (2s)");
	expect_err(CHECK(", \"failure_threshold\": 0"),
		   "t.json: checks[0].failure_threshold: 0 is out of range 1..1000");
	expect_err(CHECK(", \"success_threshold\": 1.5"),
		   "t.json: checks[0].success_threshold: must be a whole number");
	expect_err(CHECK(", \"critical\": \"yes\""), "t.json: checks[0].critical: must be true or false");

	struct pf_config *cfg = load_ok(CHECK(", \"interval\": \"250ms\", \"timeout\": 0.1,"
					      "\"failure_threshold\": 3, \"critical\": false"));
	if (cfg) {
		const struct pf_check_cfg *c = &cfg->checks[0];
		PF_EXPECT(c->interval_ms == 250 && c->timeout_ms == 100);
		PF_EXPECT(c->failure_threshold == 3 && c->success_threshold == 1);
		PF_EXPECT(!c->critical && c->hints == NULL && c->n_depends_on == 0);
		PF_EXPECT_STR(cfg->listen, "0.0.0.0:8089");
		PF_EXPECT_STR(cfg->source, "t.json");
		pf_config_free(cfg);
	}
	/* a kind's own defaults, and its timeout may exceed the interval */
	cfg = load_ok("{\"checks\": [{\"name\": \"s\", \"kind\": \"slow\", \"address\": \"x\"}]}");
	if (cfg) {
		PF_EXPECT(cfg->checks[0].interval_ms == 60000);
		PF_EXPECT(cfg->checks[0].timeout_ms == 120000);
		pf_config_free(cfg);
	}
}

static void test_hints(void)
{
	expect_err(CHECK(", \"hints\": {\"dsn\": \"x\"}"),
		   "t.json: checks[0].hints.dsn: not a failure reason (e.g. dns, connect_timeout, missing_table)");
	expect_err(CHECK(", \"hints\": {\"dns\": 1}"),
		   "t.json: checks[0].hints.dns: must be a string");
	expect_err(CHECK(", \"hints\": {\"dns\": \"a\", \"dns\": \"b\"}"),
		   "t.json: checks[0].hints.dns: duplicate key");
	struct pf_config *cfg = load_ok(CHECK(", \"hints\": {\"connect_timeout\": \"open the VPC\"}"));
	if (cfg) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(cfg->checks[0].hints,
								  "connect_timeout");
		PF_EXPECT(cJSON_IsString(h) && strcmp(h->valuestring, "open the VPC") == 0);
		pf_config_free(cfg);
	}
}

static void test_defaults(void)
{
	struct pf_config *cfg = load_ok(
		"{\"defaults\": {\"interval\": \"30s\", \"timeout\": \"2s\", \"critical\": false,"
		"  \"hints\": {\"dns\": \"default dns\", \"timeout\": \"default timeout\"}},"
		" \"checks\": ["
		"  {\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\"},"
		"  {\"name\": \"b\", \"kind\": \"tcp\", \"address\": \"x\", \"interval\": \"1m\","
		"   \"critical\": true, \"hints\": {\"dns\": \"own dns\"}},"
		"  {\"name\": \"s\", \"kind\": \"slow\", \"address\": \"x\"}]}");
	if (!cfg)
		return;
	const struct pf_check_cfg *a = &cfg->checks[0], *b = &cfg->checks[1];
	PF_EXPECT(a->interval_ms == 30000 && a->timeout_ms == 2000 && !a->critical);
	PF_EXPECT(b->interval_ms == 60000 && b->timeout_ms == 2000 && b->critical);
	const cJSON *dns = cJSON_GetObjectItemCaseSensitive(b->hints, "dns");
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(b->hints, "timeout");
	PF_EXPECT(cJSON_IsString(dns) && strcmp(dns->valuestring, "own dns") == 0);
	PF_EXPECT(cJSON_IsString(to) && strcmp(to->valuestring, "default timeout") == 0);
	/* "defaults" beat the kind's own defaults */
	PF_EXPECT(cfg->checks[2].interval_ms == 30000 && cfg->checks[2].timeout_ms == 2000);
	pf_config_free(cfg);

	/* bad values in defaults are reported at their own path */
	expect_err("{\"defaults\": {\"timeout\": \"5x\"}}",
		   "t.json: defaults.timeout: \"5x\" is not a duration (e.g. \"250ms\", \"5s\", \"2m\")");
	expect_err("{\"defaults\": {\"hints\": {\"nope\": \"x\"}}}",
		   "t.json: defaults.hints.nope: not a failure reason (e.g. dns, connect_timeout, missing_table)");
	/* a default timeout that clashes with a check's interval names the check */
	expect_err("{\"defaults\": {\"timeout\": \"10s\"}, \"checks\": [{\"name\": \"a\","
		   " \"kind\": \"tcp\", \"address\": \"x\"}]}",
		   "t.json: checks[0].timeout: 10s must be shorter than the interval (10s)");
}

/* ---- depends_on and groups ----------------------------------------- */

#define TWO(a_extra, b_extra) \
	"{\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\"" a_extra "}," \
	"{\"name\": \"b\", \"kind\": \"tcp\", \"address\": \"x\"" b_extra "}]"

static void test_depends_on(void)
{
	expect_err(TWO(", \"depends_on\": [\"c\"]", "") "}",
		   "t.json: checks[0].depends_on[0]: no check is named \"c\"");
	expect_err(TWO("", ", \"depends_on\": [\"a\", \"b\"]") "}",
		   "t.json: checks[1].depends_on[1]: a check cannot depend on itself: \"b\"");
	expect_err(TWO("", ", \"depends_on\": [\"a\", \"a\"]") "}",
		   "t.json: checks[1].depends_on[1]: listed twice: \"a\"");
	expect_err(TWO(", \"depends_on\": [\"b\"]", ", \"depends_on\": [\"a\"]") "}",
		   "t.json: checks[0].depends_on: dependency cycle: a -> b -> a");
	expect_err(TWO("", ", \"depends_on\": [\"a\", \"a\", \"a\"]") "}",
		   "t.json: checks[1].depends_on: lists more checks than there are");
	expect_err(TWO("", ", \"depends_on\": \"a\"") "}",
		   "t.json: checks[1].depends_on: must be an array of strings");
	/* longer cycle not through the first check */
	expect_err("{\"checks\": ["
		   "{\"name\": \"r\", \"kind\": \"tcp\", \"address\": \"x\", \"depends_on\": [\"x\"]},"
		   "{\"name\": \"x\", \"kind\": \"tcp\", \"address\": \"x\", \"depends_on\": [\"y\"]},"
		   "{\"name\": \"y\", \"kind\": \"tcp\", \"address\": \"x\", \"depends_on\": [\"z\"]},"
		   "{\"name\": \"z\", \"kind\": \"tcp\", \"address\": \"x\", \"depends_on\": [\"x\"]}]}",
		   "t.json: checks[1].depends_on: dependency cycle: x -> y -> z -> x");
	struct pf_config *cfg = load_ok(TWO(", \"depends_on\": [\"b\"]", "") "}");
	if (cfg) {
		PF_EXPECT(cfg->checks[0].n_depends_on == 1);
		PF_EXPECT_STR(cfg->checks[0].depends_on[0], "b");
		PF_EXPECT(cfg->checks[0].depends_on[1] == NULL);
		pf_config_free(cfg);
	}
}

static void test_groups(void)
{
	expect_err(TWO("", "") ", \"groups\": {\"w\": [\"a\", \"c\"]}}",
		   "t.json: groups.w[1]: no check is named \"c\"");
	expect_err(TWO("", "") ", \"groups\": {\"w\": [\"a\", \"b\", \"a\"]}}",
		   "t.json: groups.w: lists more checks than there are");
	expect_err(TWO("", "") ", \"groups\": {\"w\": [\"a\", \"a\"]}}",
		   "t.json: groups.w[1]: \"a\" is listed twice");
	expect_err(TWO("", "") ", \"groups\": {\"w\": []}}",
		   "t.json: groups.w: must be a non-empty array of check names");
	expect_err(TWO("", "") ", \"groups\": {\"W x\": [\"a\"]}}",
		   "t.json: groups.W x: a group name must be 1-128 characters of a-z, 0-9, '_', '.', '-'");
	expect_err(TWO("", "") ", \"groups\": {\"w\": [1]}}", "t.json: groups.w: [0] must be a string");
	expect_err(TWO("", "") ", \"groups\": [\"a\"]}",
		   "t.json: groups: must be an object (group -> array of check names)");
	struct pf_config *cfg = load_ok(TWO("", "") ", \"groups\": {\"w1\": [\"b\", \"a\"], \"w2\": [\"a\"]}}");
	if (cfg) {
		PF_EXPECT(cfg->n_groups == 2);
		PF_EXPECT(pf_config_find_group(cfg, "w2") == 1);
		PF_EXPECT(pf_config_find_group(cfg, "w3") == -1);
		PF_EXPECT(pf_config_find_check(cfg, "b") == 1);
		PF_EXPECT(pf_config_find_check(cfg, "c") == -1);
		PF_EXPECT(cfg->groups[0].n_checks == 2);
		PF_EXPECT_STR(cfg->groups[0].checks[0], "b");
		PF_EXPECT(cfg->groups[0].checks[2] == NULL);
		pf_config_free(cfg);
	}
}

static void test_listen(void)
{
	struct pf_config *cfg = load_ok("{\"listen\": \"127.0.0.1:9000\"}");
	if (cfg) {
		PF_EXPECT_STR(cfg->listen, "127.0.0.1:9000");
		PF_EXPECT(cfg->n_checks == 0 && cfg->n_groups == 0);
		pf_config_free(cfg);
	}
	cfg = load_ok("{\"listen\": \"[::1]:9000\"}");
	pf_config_free(cfg);
	expect_err("{\"listen\": \"localhost\"}",
		   "t.json: listen: \"localhost\" must be host:port (e.g. \"0.0.0.0:8089\")");
	expect_err("{\"listen\": \"h:99999\"}",
		   "t.json: listen: \"h:99999\" must be host:port (e.g. \"0.0.0.0:8089\")");
	expect_err("{\"listen\": 8089}",
		   "t.json: listen: must be a string");
}

/* ---- ${...} expansion ----------------------------------------------- */

static void test_interp_in_config(void)
{
	setenv("PF_T_ADDR", "127.0.0.1:6379", 1);
	unsetenv("PF_T_UNSET");
	struct pf_config *cfg = load_ok(
		"{\"listen\": \"${PF_T_UNSET:-127.0.0.1:9999}\","
		" \"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"${PF_T_ADDR}\"}]}");
	if (cfg) {
		PF_EXPECT_STR(cfg->listen, "127.0.0.1:9999");
		PF_EXPECT_STR(addr_of(cfg, 0), "127.0.0.1:6379");
		pf_config_free(cfg);
	}
	expect_err("{\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"x\"},"
		   "{\"name\": \"b\", \"kind\": \"tcp\", \"address\": \"${PF_T_UNSET}\"}]}",
		   "t.json: checks[1].address: environment variable PF_T_UNSET is not set (use ${PF_T_UNSET:-default} for a default)");
	expect_err("{\"groups\": {\"g\": [\"${PF_T_UNSET}\"]}}",
		   "t.json: groups.g[0]: environment variable PF_T_UNSET is not set (use ${PF_T_UNSET:-default} for a default)");
}

static void test_interp_file(void)
{
	char path[64], text[256], err[512];
	char *s = NULL;

	temp_file(path, sizeof path, "s3cr3t-token\n\n");
	snprintf(text, sizeof text, "Bearer ${file:%s}!", path);
	PF_EXPECT(pf_interp_string(text, "p", &s, err, sizeof err) == 0);
	PF_EXPECT_STR(s, "Bearer s3cr3t-token!");
	free(s);
	snprintf(text, sizeof text, CHECK(", \"secret\": \"${file:%s}\""), path);
	struct pf_config *cfg = load_ok(text);
	if (cfg) {
		/* the secret is part of the fingerprint (another secret,
		 * another fingerprint) but never of describe() */
		char path2[64], text2[256];

		temp_file(path2, sizeof path2, "other-token\n");
		snprintf(text2, sizeof text2, CHECK(", \"secret\": \"${file:%s}\""), path2);
		struct pf_config *cfg2 = load_ok(text2);
		PF_EXPECT(cfg2 && memcmp(cfg->checks[0].fingerprint, cfg2->checks[0].fingerprint,
					 PF_FINGERPRINT_LEN) != 0);
		pf_config_free(cfg2);
		cJSON *d = pf_config_describe(cfg);
		char *out = cJSON_PrintUnformatted(d);
		PF_EXPECT(out && strstr(out, "s3cr3t") == NULL);
		free(out);
		cJSON_Delete(d);
		pf_config_free(cfg);
	}
	unlink(path);
	PF_EXPECT(pf_interp_string(text, "checks[0].secret", &s, err, sizeof err) == -1);
	snprintf(text, sizeof text, "checks[0].secret: %s: cannot open ${file:} secret: No such file or directory", path);
	PF_EXPECT_STR(err, text);
	PF_EXPECT(pf_interp_string("${file:}", "p", &s, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "p: ${file:...} needs a file path");
}

/* Found while fuzzing the loader: a getter's message quotes the value it
 * refuses, so ${file:} contents in the wrong key reached the error. */
static void test_file_secret_not_in_errors(void)
{
	char path[64], text[512], err[512];
	struct pf_config *cfg = NULL;
	static const char long_secret[] =
		"s3cr3t-token-that-is-longer-than-sixty-four-bytes-0123456789abcdefghij";

	temp_file(path, sizeof path, "s3cr3t-token\n");
	snprintf(text, sizeof text, CHECK(", \"timeout\": \"${file:%s}\""), path);
	PF_EXPECT(pf_config_load_string_ops(text, "t.json", t_kinds, &cfg, err,
					    sizeof err) == -1);
	PF_EXPECT(strstr(err, "s3cr3t") == NULL && strstr(err, "checks[0].timeout") != NULL);
	snprintf(text, sizeof text, "{\"listen\": \"${file:%s}\"}", path);
	PF_EXPECT(pf_config_load_string_ops(text, "t.json", t_kinds, &cfg, err,
					    sizeof err) == -1);
	PF_EXPECT(strstr(err, "s3cr3t") == NULL && strstr(err, "listen") != NULL);
	unlink(path);
	temp_file(path, sizeof path, long_secret);
	snprintf(text, sizeof text, CHECK(", \"interval\": \"${file:%s}\""), path);
	PF_EXPECT(pf_config_load_string_ops(text, "t.json", t_kinds, &cfg, err,
					    sizeof err) == -1);
	PF_EXPECT(strstr(err, "s3cr3t") == NULL && strstr(err, "longer") == NULL);
	unlink(path);
}

/* ---- fingerprint and describe -------------------------------------- */

/* The first check's fingerprint in hex; "" when the config fails. */
static char *fingerprint_of(const char *text)
{
	struct pf_config *cfg = load_ok(text);
	char *fp = calloc(1, 2 * PF_FINGERPRINT_LEN + 1);

	if (cfg && fp)
		for (size_t i = 0; i < PF_FINGERPRINT_LEN; i++)
			snprintf(fp + 2 * i, 3, "%02x", cfg->checks[0].fingerprint[i]);
	pf_config_free(cfg);
	return fp;
}

static void test_fingerprint(void)
{
	char *base = fingerprint_of(CHECK(""));
	char *same1 = fingerprint_of("{\"checks\": [{\"address\": \"x\", \"interval\": 10,"
				     " \"kind\": \"tcp\", \"name\": \"a\", \"timeout\": \"5000ms\"}]}");
	char *same2 = fingerprint_of("{\"defaults\": {\"critical\": true}, " CHECK_BODY(""));
	char *diff1 = fingerprint_of(CHECK(", \"failure_threshold\": 2"));
	char *diff2 = fingerprint_of("{\"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"y\"}]}");
	char *diff3 = fingerprint_of("{\"defaults\": {\"hints\": {\"dns\": \"h\"}}, " CHECK_BODY(""));

	PF_EXPECT(*base != '\0');
	PF_EXPECT_STR(same1, base);
	PF_EXPECT_STR(same2, base);
	PF_EXPECT(strcmp(diff1, base) != 0);
	PF_EXPECT(strcmp(diff2, base) != 0);
	PF_EXPECT(strcmp(diff3, base) != 0);
	free(base);
	free(same1);
	free(same2);
	free(diff1);
	free(diff2);
	free(diff3);
}

static void test_describe(void)
{
	struct pf_config *cfg = load_ok(TWO(", \"interval\": 90, \"timeout\": \"1.5s\","
					    " \"depends_on\": [\"b\"], \"hints\": {\"dns\": \"h\"},"
					    " \"secret\": \"hunter2\"", "")
					", \"groups\": {\"g\": [\"a\"]}}");
	if (!cfg)
		return;
	cJSON *d = pf_config_describe(cfg);
	char *out = cJSON_PrintUnformatted(d);
	PF_EXPECT_STR(out,
		      "{\"source\":\"t.json\",\"listen\":\"0.0.0.0:8089\",\"checks\":["
		      "{\"name\":\"a\",\"kind\":\"tcp\",\"interval\":\"1m30s\",\"timeout\":\"1500ms\","
		      "\"failure_threshold\":1,\"success_threshold\":1,\"critical\":true,"
		      "\"hints\":{\"dns\":\"h\"},\"depends_on\":[\"b\"],\"address\":\"x\",\"secret\":\"***\"},"
		      "{\"name\":\"b\",\"kind\":\"tcp\",\"interval\":\"10s\",\"timeout\":\"5s\","
		      "\"failure_threshold\":1,\"success_threshold\":1,\"critical\":true,"
		      "\"address\":\"x\"}],\"groups\":{\"g\":[\"a\"]}}");
	PF_EXPECT(strstr(out, "hunter2") == NULL);
	free(out);
	cJSON_Delete(d);
	pf_config_free(cfg);
}

static void test_load_file(void)
{
	char path[64], err[512];
	struct pf_config *cfg = NULL;

	temp_file(path, sizeof path, "// file\n{\"listen\": \"127.0.0.1:1\",\n \"checks\": 3}\n");
	PF_EXPECT(pf_config_load_file(path, &cfg, err, sizeof err) == -1);
	char want[256];
	snprintf(want, sizeof want, "%s: checks: must be an array of objects", path);
	PF_EXPECT_STR(err, want);
	unlink(path);
	temp_file(path, sizeof path, "{\"listen\": \"127.0.0.1:1\"}\n");
	PF_EXPECT(pf_config_load_file(path, &cfg, err, sizeof err) == 0);
	if (cfg) {
		PF_EXPECT_STR(cfg->source, path);
		pf_config_free(cfg);
	}
	unlink(path);
}

/* Every prefix and many one-byte corruptions of a valid file either load
 * or fail with a message; none crashes or leaks (run under ASan). */
static void test_garbage(void)
{
	static const char good[] =
		"// c\n{\"defaults\": {\"interval\": \"20s\", \"hints\": {\"dns\": \"h\"}},\n"
		" \"checks\": [{\"name\": \"a\", \"kind\": \"tcp\", \"address\": \"${PF_G:-x}\"},\n"
		"  {\"name\": \"b\", \"kind\": \"slow\", \"address\": \"y\", \"depends_on\": [\"a\"]}],\n"
		" /* g */ \"groups\": {\"g\": [\"a\", \"b\"]}}\n";
	static const char junk[] = "{}[]\",:$/*\\x0 ";
	char buf[sizeof good];
	struct pf_config *cfg;
	char err[512];
	unsigned loaded = 0;

	for (size_t n = 0; n < sizeof good - 1; n++) {
		memcpy(buf, good, n);
		buf[n] = '\0';
		cfg = NULL;
		err[0] = '\0';
		if (pf_config_load_string_ops(buf, "t.json", t_kinds, &cfg, err, sizeof err) == 0)
			pf_config_free(cfg);
		else
			PF_EXPECT(strncmp(err, "t.json", 6) == 0);
	}
	for (size_t i = 0; i < sizeof good - 1; i++) {
		for (size_t j = 0; j < sizeof junk - 1; j++) {
			memcpy(buf, good, sizeof good);
			buf[i] = junk[j];
			cfg = NULL;
			if (pf_config_load_string_ops(buf, "t.json", t_kinds, &cfg, err,
						      sizeof err) == 0) {
				loaded++;
				pf_config_free(cfg);
			}
		}
	}
	PF_EXPECT(loaded > 0);	/* some corruptions (inside comments) are harmless */
}

int main(void)
{
	pf_test("syntax errors at line:column", test_syntax_positions);
	pf_test("comments are blanked, strings kept", test_comments);
	pf_test("nesting, missing file, directory", test_limits);
	pf_test("unknown and duplicate keys", test_unknown_keys);
	pf_test("names and kinds", test_names_and_kinds);
	pf_test("durations and thresholds", test_durations_and_thresholds);
	pf_test("hints", test_hints);
	pf_test("defaults applied and overridden", test_defaults);
	pf_test("depends_on", test_depends_on);
	pf_test("groups", test_groups);
	pf_test("listen", test_listen);
	pf_test("interpolation in a config", test_interp_in_config);
	pf_test("${file:} secrets", test_interp_file);
	pf_test("${file:} contents never in errors", test_file_secret_not_in_errors);
	pf_test("fingerprint", test_fingerprint);
	pf_test("describe", test_describe);
	pf_test("load from a file", test_load_file);
	pf_test("truncated and corrupted input", test_garbage);
	return pf_test_summary();
}
