/* Unit tests for daemon/net.c: address classification (loopback, private,
 * public) at the edges of every IPv4 and IPv6 range it knows, so the
 * private-address hint is tested without sending traffic there. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "harness.h"
#include "pf_net.h"

/* Classifies a numeric IPv4 or IPv6 address; -1 if it does not parse. */
static int klass(const char *ip)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, ip, &in.sin_addr) == 1)
		return (int)pf_addr_class((const struct sockaddr *)&in);
	if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1)
		return (int)pf_addr_class((const struct sockaddr *)&in6);
	fprintf(stderr, "    bad test address %s\n", ip);
	return -1;
}

static bool all_are(const char *const *ips, enum pf_addr_class want)
{
	bool ok = true;

	for (size_t i = 0; ips[i]; i++) {
		if (klass(ips[i]) != (int)want) {
			fprintf(stderr, "    %s: got %d, want %s\n", ips[i],
				klass(ips[i]), pf_addr_class_name(want));
			ok = false;
		}
	}
	return ok;
}

static void test_v4_loopback(void)
{
	static const char *const ips[] = { "127.0.0.1", "127.0.0.0",
		"127.255.255.255", "127.1.2.3", NULL };

	PF_EXPECT(all_are(ips, PF_ADDR_LOOPBACK));
}

static void test_v4_private(void)
{
	static const char *const ips[] = {
		"10.0.0.0", "10.0.0.5", "10.255.255.255",	/* 10/8 */
		"172.16.0.0", "172.20.1.1", "172.31.255.255",	/* 172.16/12 */
		"192.168.0.0", "192.168.255.255",		/* 192.168/16 */
		"100.64.0.0", "100.100.1.1", "100.127.255.255",	/* 100.64/10 */
		"169.254.0.0", "169.254.169.254", "169.254.255.255",
		NULL };

	PF_EXPECT(all_are(ips, PF_ADDR_PRIVATE));
}

static void test_v4_public_edges(void)
{
	static const char *const ips[] = {
		"9.255.255.255", "11.0.0.0",
		"172.15.255.255", "172.32.0.0",
		"192.167.255.255", "192.169.0.0",
		"100.63.255.255", "100.128.0.0",
		"169.253.255.255", "169.255.0.0",
		"126.255.255.255", "128.0.0.0",
		"8.8.8.8", "35.199.192.5", "255.255.255.255", NULL };

	PF_EXPECT(all_are(ips, PF_ADDR_PUBLIC));
}

static void test_v6(void)
{
	static const char *const loop[] = { "::1", "::ffff:127.0.0.1", NULL };
	static const char *const priv[] = {
		"fc00::", "fd00::5", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fe80::", "fe80::1", "febf:ffff::1",
		"::ffff:10.0.0.5", "::ffff:192.168.1.1", "::ffff:100.64.0.1", NULL };
	static const char *const pub[] = {
		"fbff:ffff::1", "fec0::1", "ff02::1", "2001:4860:4860::8888",
		"2600::", "::2", "::ffff:8.8.8.8", "::ffff:172.32.0.1", NULL };

	PF_EXPECT(all_are(loop, PF_ADDR_LOOPBACK));
	PF_EXPECT(all_are(priv, PF_ADDR_PRIVATE));
	PF_EXPECT(all_are(pub, PF_ADDR_PUBLIC));
}

static void test_other_families(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	PF_EXPECT(pf_addr_class((const struct sockaddr *)&un) == PF_ADDR_LOOPBACK);
}

static void test_names(void)
{
	PF_EXPECT_STR(pf_addr_class_name(PF_ADDR_LOOPBACK), "loopback");
	PF_EXPECT_STR(pf_addr_class_name(PF_ADDR_PRIVATE), "private");
	PF_EXPECT_STR(pf_addr_class_name(PF_ADDR_PUBLIC), "public");
}

static void test_addr_str_and_port(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(6379) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char buf[64];

	inet_pton(AF_INET, "10.0.0.5", &in.sin_addr);
	inet_pton(AF_INET6, "fd00::5", &in6.sin6_addr);
	PF_EXPECT_STR(pf_addr_str((struct sockaddr *)&in, buf, sizeof(buf)), "10.0.0.5");
	PF_EXPECT(pf_addr_port((struct sockaddr *)&in) == 6379);
	PF_EXPECT_STR(pf_addr_str((struct sockaddr *)&in6, buf, sizeof(buf)), "fd00::5");
	PF_EXPECT(pf_addr_port((struct sockaddr *)&in6) == 1);
	PF_EXPECT_STR(pf_addr_str((struct sockaddr *)&un, buf, sizeof(buf)), "?");
	PF_EXPECT(pf_addr_port((struct sockaddr *)&un) == 0);
	/* Too small a buffer: a marker, never an overflow. */
	PF_EXPECT_STR(pf_addr_str((struct sockaddr *)&in6, buf, 4), "?");
}

static void test_split_hostport(void)
{
	char host[64];
	unsigned port = 0;

	PF_EXPECT(pf_split_hostport("db:5432", host, sizeof(host), &port, 0) == 0);
	PF_EXPECT_STR(host, "db");
	PF_EXPECT(port == 5432);
	PF_EXPECT(pf_split_hostport("[::1]:6379", host, sizeof(host), &port, 0) == 0);
	PF_EXPECT_STR(host, "::1");
	PF_EXPECT(port == 6379);
	PF_EXPECT(pf_split_hostport("h", host, sizeof(host), &port, 80) == 0);
	PF_EXPECT(port == 80);
	PF_EXPECT(pf_split_hostport("h", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("h:0", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("h:65536", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("[::1", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("", host, sizeof(host), &port, 0) < 0);
	PF_EXPECT(pf_split_hostport("averylonghostname:1", host, 8, &port, 0) < 0);
}

int main(void)
{
	pf_test("IPv4 loopback 127/8", test_v4_loopback);
	pf_test("IPv4 private ranges", test_v4_private);
	pf_test("IPv4 public just outside each range", test_v4_public_edges);
	pf_test("IPv6 loopback, ULA, link-local, v4-mapped", test_v6);
	pf_test("AF_UNIX is local", test_other_families);
	pf_test("class names", test_names);
	pf_test("pf_addr_str and pf_addr_port", test_addr_str_and_port);
	pf_test("pf_split_hostport", test_split_hostport);
	return pf_test_summary();
}
