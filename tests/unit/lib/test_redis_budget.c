/* Unit tests for lib/redis_budget.c's reply budget, on a bare hiredis
 * reader (no socket): bulk headers, lines without CRLF, huge arrays and
 * many small elements, and replies that fit.  The connection side is covered
 * by tests/integration/test_redis.py against streaming peers. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "pf_redis_budget.h"
#include "harness.h"

struct rig {
	redisReader *r;
	struct pf_redis_meter m;
	struct pf_redis_budget b;
};

static void rig_open(struct rig *g, size_t cap)
{
	memset(g, 0, sizeof(*g));
	g->b.cap = cap;
	g->r = redisReaderCreate();
	pf_redis_meter_install(g->r, &g->m, &g->b);
}

/* Frees the reader, with any partial reply, through hiredis' own table. */
static void rig_close(struct rig *g)
{
	pf_redis_meter_remove(g->r, &g->m);
	redisReaderFree(g->r);
}

/* Feeds s n times; returns the last redisReaderGetReply status and frees
 * any complete reply. */
static int feed(struct rig *g, const char *s, size_t n)
{
	int rc = REDIS_OK;
	void *reply;

	for (size_t i = 0; i < n && rc == REDIS_OK; i++) {
		redisReaderFeed(g->r, s, strlen(s));
		while ((rc = redisReaderGetReply(g->r, &reply)) == REDIS_OK && reply)
			freeReplyObject(reply);
	}
	return rc;
}

static void test_bulk_len(void)
{
	long long v = 0;

	PF_EXPECT(pf_redis_bulk_len("2000000000\r\nxx", 14, &v) == 1 && v == 2000000000LL);
	PF_EXPECT(pf_redis_bulk_len("-1\r\n", 4, &v) == 1 && v == -1);
	PF_EXPECT(pf_redis_bulk_len("12", 2, &v) == 0);
	PF_EXPECT(pf_redis_bulk_len("", 0, &v) == 0);
	PF_EXPECT(pf_redis_bulk_len("\r\n", 2, &v) == -1);
	PF_EXPECT(pf_redis_bulk_len("12x\r\n", 5, &v) == -1);
	PF_EXPECT(pf_redis_bulk_len("99999999999999999999999\r\n", 25, &v) == -1);
}

static void test_small_replies_fit(void)
{
	struct rig g;

	rig_open(&g, 1024 * 1024);
	PF_EXPECT(feed(&g, "+PONG\r\n:42\r\n-ERR no\r\n$3\r\nabc\r\n$-1\r\n", 1) == REDIS_OK);
	PF_EXPECT(!pf_redis_over_budget(g.r, &g.b));
	PF_EXPECT(!g.b.exceeded && g.b.announced == 0);
	rig_close(&g);
}

static void test_announced_bulk(void)
{
	struct rig g;

	rig_open(&g, 1024 * 1024);
	PF_EXPECT(feed(&g, "$2000000000\r\nxxxx", 1) == REDIS_OK);
	PF_EXPECT(pf_redis_over_budget(g.r, &g.b));
	PF_EXPECT(g.b.announced == 2000000000LL);
	rig_close(&g);
	/* A bulk just under the cap is left to complete. */
	rig_open(&g, 1000);
	PF_EXPECT(feed(&g, "$900\r\nxx", 1) == REDIS_OK);
	PF_EXPECT(!pf_redis_over_budget(g.r, &g.b));
	rig_close(&g);
}

static void test_endless_line(void)
{
	struct rig g;

	rig_open(&g, 1000);
	PF_EXPECT(feed(&g, "+AAAAAAAAAA", 1) == REDIS_OK);
	PF_EXPECT(!pf_redis_over_budget(g.r, &g.b));
	PF_EXPECT(feed(&g, "AAAAAAAAAA", 100) == REDIS_OK);
	PF_EXPECT(pf_redis_over_budget(g.r, &g.b));
	PF_EXPECT(g.b.announced == 0 && g.b.announced_elements == 0);
	rig_close(&g);
}

static void test_array_header_refused(void)
{
	struct rig g;

	rig_open(&g, 1024 * 1024);
	/* hiredis would calloc 16 GB for the element vector. */
	PF_EXPECT(feed(&g, "*2000000000\r\n", 1) == REDIS_ERR);
	PF_EXPECT(g.b.exceeded && g.b.announced_elements == 2000000000u);
	rig_close(&g);
}

static void test_many_elements_refused(void)
{
	struct rig g;

	rig_open(&g, 64 * 1024);
	PF_EXPECT(feed(&g, "*5000\r\n", 1) == REDIS_OK);
	/* 40 kB of pointers fit; each element adds a reply object. */
	PF_EXPECT(!g.b.exceeded && g.b.objects > 5000 * sizeof(void *));
	PF_EXPECT(feed(&g, ":1\r\n", 5000) == REDIS_ERR);
	PF_EXPECT(g.b.exceeded && g.b.objects <= g.b.cap);
	PF_EXPECT(g.b.announced_elements == 0);
	rig_close(&g);	/* frees the partial array (leak checkers watch) */
}

static void test_count_restarts_per_reply(void)
{
	struct rig g;

	rig_open(&g, 8 * 1024);
	/* Each reply takes ~5.6 kB; two in a row must not add up. */
	PF_EXPECT(feed(&g, "*100\r\n", 1) == REDIS_OK);
	PF_EXPECT(feed(&g, ":7\r\n", 100) == REDIS_OK);
	PF_EXPECT(feed(&g, "*100\r\n", 1) == REDIS_OK);
	PF_EXPECT(feed(&g, ":7\r\n", 100) == REDIS_OK);
	PF_EXPECT(!g.b.exceeded);
	PF_EXPECT(!pf_redis_over_budget(g.r, &g.b));
	rig_close(&g);
}

int main(void)
{
	pf_test("bulk_len", test_bulk_len);
	pf_test("small_replies_fit", test_small_replies_fit);
	pf_test("announced_bulk", test_announced_bulk);
	pf_test("endless_line", test_endless_line);
	pf_test("array_header_refused", test_array_header_refused);
	pf_test("many_elements_refused", test_many_elements_refused);
	pf_test("count_restarts_per_reply", test_count_restarts_per_reply);
	return pf_test_summary();
}
