/* Unit tests for lib/sockets.c: a spare socket connects again from a new
 * port after its connection ended, the peer sees the reset, and only
 * established sockets are kept (up to PF_SOCKETS_SPARE).  Loopback only,
 * a listener of its own on a port below 32768. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "pf_net.h"
#include "pf_sockets.h"

/* A listener on sa's loopback address and a port below 32768 (written
 * into sa; sin_port and sin6_port share their offset), or -1. */
static int listen_on(struct sockaddr *sa, socklen_t len)
{
	int l = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	for (int i = 0; l >= 0 && i < 200; i++) {
		((struct sockaddr_in *)(void *)sa)->sin_port =
			htons((unsigned short)(20000 + rand() % 12000));
		if (bind(l, sa, len) == 0 && listen(l, 64) == 0)
			return l;
	}
	if (l >= 0)
		close(l);
	return -1;
}

static int listener(struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return listen_on((struct sockaddr *)sa, sizeof(*sa));
}

/* A ::1 listener, or -1 without IPv6. */
static int listener6(struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_addr = in6addr_loopback;
	return listen_on((struct sockaddr *)sa, sizeof(*sa));
}

/* The kinds' connect (pf_connect_now): true when the handshake completed. */
static bool connect_now(int fd, const struct sockaddr_in *sa)
{
	return pf_connect_now(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 1;
}

static bool connect6_now(int fd, const struct sockaddr_in6 *sa)
{
	return pf_connect_now(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 1;
}

static unsigned local_port(int fd)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(me);

	return getsockname(fd, (struct sockaddr *)&me, &len) == 0 ? ntohs(me.sin_port) : 0;
}

static void test_reuse_is_a_new_connection(void)
{
	struct pf_sockets *s = pf_sockets_new();
	struct sockaddr_in sa;
	int l = listener(&sa), fd, again, c;
	unsigned port;
	char b[4];

	PF_EXPECT(s && s->reuse[0]);	/* Linux passes the self-test */
	PF_EXPECT(l >= 0);
	fd = pf_sockets_take(s, (struct sockaddr *)&sa);
	PF_EXPECT(fd >= 0 && connect_now(fd, &sa));
	port = local_port(fd);
	c = accept(l, NULL, NULL);
	pf_sockets_give(s, fd, AF_INET, true);
	PF_EXPECT(s->n[0] == 1);
	/* the peer saw the end as a reset, not a FIN */
	PF_EXPECT(c >= 0 && recv(c, b, sizeof(b), 0) < 0 && errno == ECONNRESET);
	close(c);
	again = pf_sockets_take(s, (struct sockaddr *)&sa);
	PF_EXPECT(again == fd && s->n[0] == 0);
	PF_EXPECT(connect_now(again, &sa));
	PF_EXPECT(local_port(again) != 0 && local_port(again) != port);
	PF_EXPECT(send(again, "hi", 2, MSG_NOSIGNAL) == 2);
	c = accept(l, NULL, NULL);
	PF_EXPECT(c >= 0 && recv(c, b, sizeof(b), 0) == 2);
	close(c);
	pf_sockets_give(s, again, AF_INET, true);
	close(l);
	pf_sockets_free(s);
}

static void test_only_established_and_bounded(void)
{
	struct pf_sockets *s = pf_sockets_new();
	struct sockaddr_in sa;
	int l = listener(&sa), fds[PF_SOCKETS_SPARE + 1], fd;

	PF_EXPECT(s && l >= 0);
	/* never connected: closed, not kept */
	pf_sockets_give(s, pf_sockets_take(s, (struct sockaddr *)&sa), AF_INET, false);
	PF_EXPECT(s->n[0] == 0);
	/* refused (the listener is gone): closed, not kept */
	close(l);
	fd = pf_sockets_take(s, (struct sockaddr *)&sa);
	PF_EXPECT(!connect_now(fd, &sa));
	pf_sockets_give(s, fd, AF_INET, false);
	PF_EXPECT(s->n[0] == 0);
	l = listener(&sa);
	for (int i = 0; i <= PF_SOCKETS_SPARE; i++) {
		fds[i] = pf_sockets_take(s, (struct sockaddr *)&sa);
		PF_EXPECT(connect_now(fds[i], &sa));
	}
	for (int i = 0; i <= PF_SOCKETS_SPARE; i++)
		pf_sockets_give(s, fds[i], AF_INET, true);
	PF_EXPECT(s->n[0] == PF_SOCKETS_SPARE);	/* the one over was closed */
	/* other families are never kept; a NULL pool always opens and closes */
	pf_sockets_give(s, socket(AF_UNIX, SOCK_STREAM, 0), AF_UNIX, true);
	fd = pf_sockets_take(NULL, (struct sockaddr *)&sa);
	PF_EXPECT(fd >= 0);
	pf_sockets_give(NULL, fd, AF_INET, false);
	pf_sockets_give(s, -1, AF_INET, true);
	close(l);
	pf_sockets_free(s);
	pf_sockets_free(NULL);
}

/* A v4-mapped connect leaves an AF_INET6 socket on the IPv4 path even
 * after its disconnect (a native IPv6 connect on it would then hang):
 * such an address neither spends a spare nor leaves one. */
static void test_v4_mapped_is_never_kept(void)
{
	struct pf_sockets *s = pf_sockets_new();
	struct sockaddr_in sa;
	struct sockaddr_in6 mapped = { .sin6_family = AF_INET6 }, v6;
	int l = listener(&sa), l6 = listener6(&v6), fd;

	PF_EXPECT(s && l >= 0);
	mapped.sin6_port = sa.sin_port;
	PF_EXPECT(inet_pton(AF_INET6, "::ffff:127.0.0.1", &mapped.sin6_addr) == 1);
	PF_EXPECT(pf_sockets_family((struct sockaddr *)&mapped) == AF_UNSPEC);
	PF_EXPECT(pf_sockets_family((struct sockaddr *)&v6) == AF_INET6);
	PF_EXPECT(pf_sockets_family((struct sockaddr *)&sa) == AF_INET);
	if (l6 < 0) {
		fprintf(stderr, "    (no IPv6 loopback here: only the family rule is tested)\n");
		goto out;
	}
	PF_EXPECT(s->reuse[1]);
	/* a native spare first */
	fd = pf_sockets_take(s, (struct sockaddr *)&v6);
	PF_EXPECT(connect6_now(fd, &v6));
	pf_sockets_give(s, fd, AF_INET6, true);
	PF_EXPECT(s->n[1] == 1);
	/* the mapped connect neither takes it nor leaves its own */
	fd = pf_sockets_take(s, (struct sockaddr *)&mapped);
	PF_EXPECT(fd >= 0 && s->n[1] == 1);
	PF_EXPECT(connect6_now(fd, &mapped));
	pf_sockets_give(s, fd, pf_sockets_family((struct sockaddr *)&mapped), true);
	PF_EXPECT(s->n[1] == 1);
	/* and the spare still reaches a native peer */
	fd = pf_sockets_take(s, (struct sockaddr *)&v6);
	PF_EXPECT(s->n[1] == 0 && connect6_now(fd, &v6));
	pf_sockets_give(s, fd, AF_INET6, true);
	close(l6);
out:
	close(l);
	pf_sockets_free(s);
}

int main(void)
{
	pf_test("a spare socket connects anew from a new port", test_reuse_is_a_new_connection);
	pf_test("only established sockets are kept, up to the cap", test_only_established_and_bounded);
	pf_test("a v4-mapped IPv6 socket is never kept", test_v4_mapped_is_never_kept);
	return pf_test_summary();
}
