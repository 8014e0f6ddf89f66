/*
 * Spare TCP sockets (pf_sockets.h): the self-test, take and give.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
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

/* Loopback of family, port 0 (the kernel picks one for the listener). */
static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*in);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

/* Does a disconnected socket of family connect again?  Tried once on
 * loopback with a listener of our own; no waiting: where the handshake
 * does not complete inside connect() (or there is no such loopback),
 * no reuse for that family. */
static bool self_test(int family)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	socklen_t len = loopback(family, &ss);
	int l = new_socket(family), fd = new_socket(family);
	bool ok = false;

	if (l >= 0 && fd >= 0 && bind(l, sa, len) == 0 && listen(l, 4) == 0 &&
	    getsockname(l, sa, &len) == 0)
		ok = pf_connect_now(fd, sa, len) == 1 &&
		     connect(fd, &unspec, sizeof(unspec)) == 0 &&
		     pf_connect_now(fd, sa, len) == 1;
	if (fd >= 0)
		close(fd);
	if (l >= 0)
		close(l);
	return ok;
}

struct pf_sockets *pf_sockets_new(void)
{
	struct pf_sockets *s = calloc(1, sizeof(*s));

	if (s) {
		s->reuse[0] = self_test(AF_INET);
		s->reuse[1] = self_test(AF_INET6);
	}
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

unsigned pf_sockets_spare(const struct pf_sockets *s)
{
	return s ? s->n[0] + s->n[1] : 0;
}

int pf_sockets_take(struct pf_sockets *s, const struct sockaddr *sa)
{
	/* a spare would not be kept after this connect: spend a new one */
	int f = family_slot(pf_sockets_family(sa));

	if (s && f >= 0 && s->n[f] > 0)
		return s->spare[f][--s->n[f]];
	return new_socket(sa->sa_family);
}

int pf_sockets_family(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

	/* A scope (link-local) binds the socket to an interface, which the
	 * disconnect does not undo either. */
	if (sa->sa_family == AF_INET6 &&
	    (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) || in6->sin6_scope_id != 0))
		return AF_UNSPEC;
	return sa->sa_family;
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
	if (!established || !s || f < 0 || !s->reuse[f] || s->n[f] >= PF_SOCKETS_SPARE) {
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
