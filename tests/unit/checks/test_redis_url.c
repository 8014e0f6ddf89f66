/* Unit tests for the redis check's pure helpers: checks/redis_url.c (every
 * URL form SPEC §3 allows, and the malformed ones refused at load time
 * without echoing the password) and checks/redis_reply.c (error replies to
 * reasons, peer text scrubbing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_reply.h"
#include "redis_url.h"
#include "harness.h"

static struct pf_redis_url u;
static char err[256];

static bool parse_ok(const char *url)
{
	err[0] = '\0';
	pf_redis_url_free(&u);
	if (pf_redis_url_parse(url, &u, err, sizeof(err)) == 0)
		return true;
	fprintf(stderr, "    unexpected error for %s: %s\n", url, err);
	return false;
}

static bool parse_fails(const char *url, const char *want_in_err)
{
	pf_redis_url_free(&u);
	err[0] = '\0';
	if (pf_redis_url_parse(url, &u, err, sizeof(err)) == 0)
		return false;
	/* A failed parse leaves nothing allocated. */
	if (u.host || u.user || u.password)
		return false;
	return strstr(err, want_in_err) != NULL;
}

static void test_plain(void)
{
	PF_EXPECT(parse_ok("redis://10.0.0.3"));
	PF_EXPECT_STR(u.host, "10.0.0.3");
	PF_EXPECT(u.port == 6379);
	PF_EXPECT(u.db == 0);
	PF_EXPECT(!u.tls && !u.user && !u.password);

	PF_EXPECT(parse_ok("redis://cache.internal:6380/2"));
	PF_EXPECT_STR(u.host, "cache.internal");
	PF_EXPECT(u.port == 6380);
	PF_EXPECT(u.db == 2);

	PF_EXPECT(parse_ok("REDIS://h/"));
	PF_EXPECT(u.db == 0);
	PF_EXPECT(parse_ok("redis://h:65535/15"));
	PF_EXPECT(u.port == 65535 && u.db == 15);
}

static void test_userinfo(void)
{
	PF_EXPECT(parse_ok("redis://:s3cret@h"));
	PF_EXPECT(u.user == NULL);
	PF_EXPECT_STR(u.password, "s3cret");

	PF_EXPECT(parse_ok("redis://app:pw@h:7000/1"));
	PF_EXPECT_STR(u.user, "app");
	PF_EXPECT_STR(u.password, "pw");
	PF_EXPECT(u.port == 7000 && u.db == 1);

	/* Percent-decoding, and a raw '@' in the password (last '@' wins). */
	PF_EXPECT(parse_ok("redis://us%65r:p%40ss%3Aw%2Fd@h"));
	PF_EXPECT_STR(u.user, "user");
	PF_EXPECT_STR(u.password, "p@ss:w/d");
	PF_EXPECT(parse_ok("redis://:a@b@h"));
	PF_EXPECT_STR(u.password, "a@b");
	PF_EXPECT_STR(u.host, "h");

	/* An empty userinfo means no AUTH at all. */
	PF_EXPECT(parse_ok("redis://:@h"));
	PF_EXPECT(!u.user && !u.password);
}

static void test_ipv6(void)
{
	PF_EXPECT(parse_ok("redis://[::1]:6390/3"));
	PF_EXPECT_STR(u.host, "::1");
	PF_EXPECT(u.port == 6390 && u.db == 3);
	PF_EXPECT(parse_ok("redis://:pw@[fd00::5]"));
	PF_EXPECT_STR(u.host, "fd00::5");
	PF_EXPECT(u.port == 6379);
	PF_EXPECT(parse_fails("redis://::1:6379", "brackets"));
	PF_EXPECT(parse_fails("redis://[::1", "IPv6"));
	PF_EXPECT(parse_fails("redis://[::1]x", "IPv6"));
	PF_EXPECT(parse_fails("redis://[]:1", "no host"));
}

static void test_tls_scheme(void)
{
	PF_EXPECT(parse_ok("rediss://:pw@h:6380"));
	PF_EXPECT(u.tls);
	PF_EXPECT(u.port == 6380);
}

static void test_bad_port_and_db(void)
{
	PF_EXPECT(parse_fails("redis://h:0", "1..65535"));
	PF_EXPECT(parse_fails("redis://h:65536", "1..65535"));
	PF_EXPECT(parse_fails("redis://h:", "1..65535"));
	PF_EXPECT(parse_fails("redis://h:12x", "1..65535"));
	PF_EXPECT(parse_fails("redis://h:-1", "1..65535"));
	PF_EXPECT(parse_fails("redis://h:99999999999999999999", "1..65535"));
	PF_EXPECT(parse_fails("redis://h/x", "database"));
	PF_EXPECT(parse_fails("redis://h/-1", "database"));
	PF_EXPECT(parse_fails("redis://h/1/2", "database"));
	PF_EXPECT(parse_fails("redis://h/1000001", "database"));
	PF_EXPECT(parse_fails("redis://h/99999999999999999999999", "database"));
	PF_EXPECT(parse_ok("redis://h/1000000"));
}

/* redis-py's URL options (REDIS_URL=...?health_check_interval=30) load;
 * db/username/password are used, the rest noted as ignored. */
static void test_query_options(void)
{
	PF_EXPECT(parse_ok("redis://10.0.0.3:6379/0?health_check_interval=30"));
	PF_EXPECT(u.db == 0 && strcmp(u.ignored, "health_check_interval") == 0);
	PF_EXPECT(parse_ok("redis://h/2?socket_timeout=5&socket_connect_timeout=5"
			   "&retry_on_timeout=true"));
	PF_EXPECT(u.db == 2 && strcmp(u.ignored, "socket_timeout, "
		  "socket_connect_timeout, retry_on_timeout") == 0);
	PF_EXPECT(parse_ok("redis://h/2?db=5"));	/* db= wins, as in redis-py */
	PF_EXPECT(u.db == 5 && u.ignored[0] == '\0');
	PF_EXPECT(parse_ok("redis://h?password=p%40ss&username=app"));
	PF_EXPECT(strcmp(u.password, "p@ss") == 0 && strcmp(u.user, "app") == 0);
	PF_EXPECT(parse_ok("redis://:url@h?password=query"));	/* userinfo wins */
	PF_EXPECT(strcmp(u.password, "url") == 0);
	PF_EXPECT(parse_ok("redis://h?"));
}

static void test_bad_forms(void)
{
	PF_EXPECT(parse_fails("", "empty"));
	PF_EXPECT(parse_fails(NULL, "empty"));
	PF_EXPECT(parse_fails("http://h", "redis://"));
	PF_EXPECT(parse_fails("h:6379", "redis://"));
	PF_EXPECT(parse_fails("redis://", "no host"));
	PF_EXPECT(parse_fails("redis://:pw@", "no host"));
	PF_EXPECT(parse_fails("redis://:pw@:6379", "no host"));
	PF_EXPECT(parse_fails("redis://h#x", "fragment"));
	PF_EXPECT(parse_fails("redis://h?nonsense=1", "unknown URL option"));
	PF_EXPECT(parse_fails("redis://h?db=x", "db="));
	PF_EXPECT(parse_fails("redis://h?username=u", "no password"));
	PF_EXPECT(parse_fails("redis://h ost", "space"));
	PF_EXPECT(parse_fails("redis://h\n", "control"));
	PF_EXPECT(parse_fails("redis://ho$t", "contains"));
}

/* Errors never contain the secret, even when it is the malformed part. */
static void test_errors_hide_secrets(void)
{
	PF_EXPECT(parse_fails("redis://hunter2@h", "no password"));
	PF_EXPECT(strstr(err, "hunter2") == NULL);
	PF_EXPECT(parse_fails("redis://u:hun%zzter2@h", "%XX"));
	PF_EXPECT(strstr(err, "hun") == NULL);
	PF_EXPECT(parse_fails("redis://u:hunter2%4@h", "%XX"));
	PF_EXPECT(parse_fails("redis://u:hunter2%@h", "%XX"));
	PF_EXPECT(parse_fails("redis://u:hunter%002@h", "NUL"));
	PF_EXPECT(strstr(err, "hunter") == NULL);
	PF_EXPECT(parse_fails("redis://:hunter2@h:bad", "1..65535"));
	PF_EXPECT(strstr(err, "hunter2") == NULL);
	/* an unencoded '/' or '?' cuts the password short: the rest would
	 * otherwise be quoted as a port, a database or an option name */
	PF_EXPECT(parse_fails("redis://u:hun/ter2pass@h", "percent-encoded"));
	PF_EXPECT(strstr(err, "ter2pass") == NULL && strstr(err, "hun") == NULL);
	PF_EXPECT(parse_fails("redis://u:hun?ter2pass@h", "percent-encoded"));
	PF_EXPECT(strstr(err, "ter2pass") == NULL);
	PF_EXPECT(parse_fails("redis://u:hun/te=r2pass@h", "percent-encoded"));
	PF_EXPECT(parse_fails("redis://h/0?Hunter2=x", "not an option name"));
	PF_EXPECT(strstr(err, "Hunter2") == NULL);
	PF_EXPECT(parse_ok("redis://h/0?username=a@b&password=x"));
}

static void test_pct_decode(void)
{
	char *s = pf_redis_pct_decode("a%20b%2fc", 9, err, sizeof(err));

	PF_EXPECT_STR(s, "a b/c");
	free(s);
	s = pf_redis_pct_decode("%41%", 3, err, sizeof(err));	/* length bounds the input */
	PF_EXPECT_STR(s, "A");
	free(s);
	PF_EXPECT(pf_redis_pct_decode("%4", 2, err, sizeof(err)) == NULL);
	PF_EXPECT(pf_redis_pct_decode("%g0", 3, err, sizeof(err)) == NULL);
}

static enum pf_reason reason_of(const char *cmd, const char *text,
				const char *want_cause)
{
	const char *cause = "unset";
	enum pf_reason r = pf_redis_error_reason(cmd, text, &cause);

	if (want_cause)
		PF_EXPECT(cause && strcmp(cause, want_cause) == 0);
	else
		PF_EXPECT(cause == NULL);
	return r;
}

static void test_error_reasons(void)
{
	PF_EXPECT(reason_of("PING", "NOAUTH Authentication required.", "noauth")
		  == PF_REASON_AUTH);
	PF_EXPECT(reason_of("AUTH", "WRONGPASS invalid username-password pair or "
			    "user is disabled.", "wrongpass") == PF_REASON_AUTH);
	PF_EXPECT(reason_of("AUTH", "ERR invalid password", "wrongpass") ==
		  PF_REASON_AUTH);
	PF_EXPECT(reason_of("AUTH", "ERR Client sent AUTH, but no password is set",
			    "no_password_set") == PF_REASON_AUTH);
	PF_EXPECT(reason_of("AUTH", "ERR AUTH <password> called without any "
			    "password configured for the default user. Are you "
			    "sure your configuration is correct?",
			    "no_password_set") == PF_REASON_AUTH);
	PF_EXPECT(reason_of("LLEN", "NOPERM this user has no permissions to run "
			    "the 'llen' command", "noperm") == PF_REASON_AUTH);
	PF_EXPECT(reason_of("PING", "LOADING Redis is loading the dataset in "
			    "memory", "loading") == PF_REASON_PROTOCOL);
	PF_EXPECT(reason_of("SELECT", "ERR DB index is out of range",
			    "select_range") == PF_REASON_WRONG_DATABASE);
	/* Only SELECT's range error names a database. */
	PF_EXPECT(reason_of("LLEN", "ERR value is out of range", NULL) ==
		  PF_REASON_PROTOCOL);
	PF_EXPECT(reason_of("LLEN", "WRONGTYPE Operation against a key holding "
			    "the wrong kind of value", "wrongtype") == PF_REASON_PROTOCOL);
	PF_EXPECT(reason_of("PING", "ERR unknown command", NULL) == PF_REASON_PROTOCOL);
	PF_EXPECT(reason_of("PING", "", NULL) == PF_REASON_PROTOCOL);
}

int main(void)
{
	pf_test("plain host, port, db", test_plain);
	pf_test("userinfo and percent-decoding", test_userinfo);
	pf_test("IPv6 hosts", test_ipv6);
	pf_test("rediss:// is parsed (refused by the check)", test_tls_scheme);
	pf_test("port and db validation", test_bad_port_and_db);
	pf_test("malformed URLs", test_bad_forms);
	pf_test("redis-py query options", test_query_options);
	pf_test("errors never echo the password", test_errors_hide_secrets);
	pf_test("percent-decoding", test_pct_decode);
	pf_test("error replies to reasons", test_error_reasons);
	pf_redis_url_free(&u);
	return pf_test_summary();
}
