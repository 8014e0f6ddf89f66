/*
 * Spare TCP sockets (pf_sockets.h): the self-test, take and give.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pf_net.h"
#include "pf_sockets.h"

static int family_slot(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

static int new_socket(int family)
{
	return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* Connects fd to sa at once (loopback completes the handshake inside
 * the call): the two-connect test of the tcp kind. */
static bool connects_now(int fd, const struct sockaddr_in *sa)
{
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return true;
	if (errno != EINPROGRESS)
		return false;
	return connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ||
	       errno == EISCONN;
}

/* Does a disconnected socket connect again?  Tried once on loopback with
 * a listener of our own on a port the kernel picks; no waiting: where
 * the handshake does not complete inside connect(), no reuse. */
static bool self_test(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	socklen_t len = sizeof(sa);
	int l = new_socket(AF_INET), fd = new_socket(AF_INET);
	bool ok = false;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l >= 0 && fd >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    listen(l, 4) == 0 && getsockname(l, (struct sockaddr *)&sa, &len) == 0)
		ok = connects_now(fd, &sa) && connect(fd, &unspec, sizeof(unspec)) == 0 &&
		     connects_now(fd, &sa);
	if (fd >= 0)
		close(fd);
	if (l >= 0)
		close(l);
	return ok;
}

struct pf_sockets *pf_sockets_new(void)
{
	struct pf_sockets *s = calloc(1, sizeof(*s));

	if (s)
		s->reuse = self_test();
	return s;
}

void pf_sockets_free(struct pf_sockets *s)
{
	if (!s)
		return;
	for (int f = 0; f < 2; f++)
		for (unsigned i = 0; i < s->n[f]; i++)
			close(s->spare[f][i]);
	free(s);
}

int pf_sockets_take(struct pf_sockets *s, int family)
{
	int f = family_slot(family);

	if (s && f >= 0 && s->n[f] > 0)
		return s->spare[f][--s->n[f]];
	return new_socket(family);
}

void pf_sockets_give(struct pf_sockets *s, int fd, int family, bool established)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	int f = family_slot(family);

	if (fd < 0)
		return;
	/* Only a socket that connected: one whose connect failed or is
	 * still under way carries state (an error, a SYN) we do not want
	 * to reason about. */
	if (!established || !s || !s->reuse || f < 0 || s->n[f] >= PF_SOCKETS_SPARE) {
		pf_close_probe_socket(fd, established);
		return;
	}
	/* From ESTABLISHED the disconnect sends the reset itself. */
	if (connect(fd, &unspec, sizeof(unspec)) != 0) {
		pf_close_probe_socket(fd, established);
		return;
	}
	s->spare[f][s->n[f]++] = fd;
}
