/* Unit tests for the redis check's queue signals (checks/redis_queue.c):
 * consumers from CLIENT LIST and INFO, the oldest item's age, and the
 * backlog/stall verdict. */
#include <stdio.h>
#include <string.h>

#include "redis_queue.h"
#include "harness.h"

static void test_consumers(void)
{
	/* CLIENT LIST as Redis 7 prints it: one idle worker blocked in BRPOP,
	 * us (cmd=client), a BLPOP elsewhere, one that ran BRPOP but is not
	 * blocked now */
	const char *list =
		"id=3 addr=127.0.0.1:5 laddr=127.0.0.1:6379 fd=8 name= age=9 "
		"idle=0 flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 cmd=brpop user=default\n"
		"id=4 addr=127.0.0.1:6 fd=9 name= age=0 idle=0 flags=N db=0 cmd=client|list\n"
		"id=5 addr=127.0.0.1:7 fd=10 name=w age=1 idle=0 flags=b db=1 cmd=blpop\n"
		"id=6 addr=127.0.0.1:8 fd=11 name= age=1 idle=3 flags=N db=0 cmd=brpop\n"
		"id=7 addr=127.0.0.1:9 fd=12 name= age=1 idle=0 flags=b db=0 cmd=xread\n";

	PF_EXPECT(pf_redis_consumers(list, strlen(list)) == 2);
	PF_EXPECT(pf_redis_consumers("", 0) == 0);
	const char *nl = "id=1 flags=b cmd=blmove";
	PF_EXPECT(pf_redis_consumers(nl, strlen(nl)) == 1);
	const char *info = "# Clients\r\nconnected_clients:3\r\nblocked_clients:2\r\n";
	PF_EXPECT(pf_redis_info_blocked(info, strlen(info)) == 2);
	PF_EXPECT(pf_redis_info_blocked("# Clients\r\n", 11) == -1);
	PF_EXPECT(pf_redis_info_blocked("blocked_clients:x\r\n", 19) == -1);
}

static void test_oldest_age(void)
{
	struct pf_redis_memory m = { 0 };

	PF_EXPECT(pf_redis_oldest_age(&m, "{\"id\":1}", 8, 1000) == 0);
	PF_EXPECT(pf_redis_oldest_age(&m, "{\"id\":1}", 8, 4000) == 3000);
	/* the worker took it: a new oldest item starts from 0 */
	PF_EXPECT(pf_redis_oldest_age(&m, "{\"id\":2}", 8, 5000) == 0);
	PF_EXPECT(pf_redis_oldest_age(&m, "{\"id\":2}", 8, 6500) == 1500);
	PF_EXPECT(pf_redis_oldest_age(&m, NULL, 0, 7000) == 0 && !m.seen);
	PF_EXPECT(pf_redis_oldest_age(&m, "{\"id\":2}", 8, 8000) == 0);
}

static void test_verdict(void)
{
	char err[256];

	PF_EXPECT(pf_redis_queue_verdict("q", 3, 50, 700000, 600000, 0, err,
					 sizeof err) ==
		  PF_REASON_QUEUE_STALLED);
	PF_EXPECT(strstr(err, "queue q holds 3 items") && strstr(err, "0 consumers"));
	/* an empty queue never stalls, whatever the consumers */
	PF_EXPECT(pf_redis_queue_verdict("q", 0, 50, 700000, 600000, 0, err,
					 sizeof err) == PF_REASON_NONE);
	PF_EXPECT(pf_redis_queue_verdict("q", 3, 50, 599000, 600000, -1, err,
					 sizeof err) == PF_REASON_NONE);
	PF_EXPECT(pf_redis_queue_verdict("q", 51, 50, 0, 600000, 4, err,
					 sizeof err) == PF_REASON_QUEUE_BACKLOG);
	PF_EXPECT(strstr(err, "4 consumers") != NULL);
	/* stalled and deep: the stall is the root */
	PF_EXPECT(pf_redis_queue_verdict("q", 51, 50, 700000, 600000, 0, err,
					 sizeof err) == PF_REASON_QUEUE_STALLED);
	/* no stall rule, no limit */
	PF_EXPECT(pf_redis_queue_verdict("q", 9999, -1, 1e9, 0, 0, err, sizeof err) == PF_REASON_NONE);
}

int main(void)
{
	pf_test("consumers from CLIENT LIST and INFO", test_consumers);
	pf_test("oldest item age", test_oldest_age);
	pf_test("backlog and stall verdict", test_verdict);
	return pf_test_summary();
}
