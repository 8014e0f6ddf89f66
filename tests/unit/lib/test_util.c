/* Unit tests for the pure helpers: durations, host:port, reasons. */
#include <string.h>

#include "harness.h"
#include "pf_check.h"
#include "pf_net.h"
#include "pf_util.h"

static void test_duration_parse(void)
{
	uint64_t ms = 0;

	PF_EXPECT(pf_duration_parse("250ms", &ms) == 0 && ms == 250);
	PF_EXPECT(pf_duration_parse("5s", &ms) == 0 && ms == 5000);
	PF_EXPECT(pf_duration_parse("2m", &ms) == 0 && ms == 120000);
	PF_EXPECT(pf_duration_parse("1h", &ms) == 0 && ms == 3600000);
	PF_EXPECT(pf_duration_parse("1m30s", &ms) == 0 && ms == 90000);
	PF_EXPECT(pf_duration_parse("1.5s", &ms) == 0 && ms == 1500);
	PF_EXPECT(pf_duration_parse("5x", &ms) < 0);
	PF_EXPECT(pf_duration_parse("5", &ms) < 0);
	PF_EXPECT(pf_duration_parse("", &ms) < 0);
	PF_EXPECT(pf_duration_parse("-1s", &ms) < 0);
	PF_EXPECT(pf_duration_parse("s", &ms) < 0);
	PF_EXPECT(pf_duration_parse("99999999h", &ms) < 0);
	PF_EXPECT(pf_duration_from_seconds(2.5, &ms) == 0 && ms == 2500);
	PF_EXPECT(pf_duration_from_seconds(-1, &ms) < 0);
}

static void test_duration_format(void)
{
	char buf[32];

	PF_EXPECT_STR(pf_duration_format(250, buf, sizeof(buf)), "250ms");
	PF_EXPECT_STR(pf_duration_format(5000, buf, sizeof(buf)), "5s");
	PF_EXPECT_STR(pf_duration_format(120000, buf, sizeof(buf)), "2m");
	PF_EXPECT_STR(pf_duration_format(5400000, buf, sizeof(buf)), "1h30m");
	PF_EXPECT_STR(pf_duration_format(1500, buf, sizeof(buf)), "1500ms");
	PF_EXPECT_STR(pf_duration_format(0, buf, sizeof(buf)), "0ms");
}

static void test_hostport(void)
{
	char host[64];
	unsigned port = 0;

	PF_EXPECT(pf_split_hostport("db:5432", host, sizeof(host), &port, 0) == 0 &&
		  strcmp(host, "db") == 0 && port == 5432);
	PF_EXPECT(pf_split_hostport("[::1]:80", host, sizeof(host), &port, 0) == 0 &&
		  strcmp(host, "::1") == 0 && port == 80);
	PF_EXPECT(pf_split_hostport("db", host, sizeof(host), &port, 6379) == 0 && port == 6379);
	PF_EXPECT(pf_split_hostport("db", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("db:0", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("db:70000", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("db:x", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport(":80", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("[::1", host, sizeof(host), &port, 0) < 0);
}

static void test_reasons(void)
{
	for (int r = PF_REASON_NONE + 1; r < PF_REASON_COUNT; r++)
		PF_EXPECT(pf_reason_from_name(pf_reason_name((enum pf_reason)r)) == r);
	PF_EXPECT(pf_reason_name(PF_REASON_NONE) == NULL);
	PF_EXPECT(pf_reason_from_name("nope") == -1);
	PF_EXPECT_STR(pf_reason_name(PF_REASON_MISSING_TABLE), "missing_table");
	PF_EXPECT_STR(pf_status_name(PF_STATUS_WARN), "warn");
}

int main(void)
{
	pf_test("duration_parse", test_duration_parse);
	pf_test("duration_format", test_duration_format);
	pf_test("hostport", test_hostport);
	pf_test("reasons", test_reasons);
	return pf_test_summary();
}
